"""The course's models by name, each with its input shape and training recipe (as torchvision's
``get_model``): the ``coursekit train`` command and the tests build models from here.

Examples:
    >>> from coursekit.training.registry import get_model, list_models, model_spec
    >>> list_models()
    ['alexnet', 'digits-cnn', 'mlp', 'net']
    >>> model_spec("digits-cnn").input_shape, model_spec("digits-cnn").recipe["lr"]
    ((1, 8, 8), 0.005)
    >>> mlp = get_model("mlp", input_shape=(1, 8, 8))
    >>> [layer.in_features for layer in mlp if hasattr(layer, "in_features")]
    [64, 256]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from math import prod

from torch import nn

from coursekit.training.models import MLP, AlexNet, DigitsCNN, Net

__all__ = ["ModelSpec", "get_model", "list_models", "model_spec", "register_model"]

Builder = Callable[[tuple[int, ...], int], nn.Module]  # (input shape, classes) -> model


@dataclass(frozen=True)
class ModelSpec:
    """A registered model: how to build it, the input it needs and how to train it.

    Attributes:
        name: the name the CLI and ``get_model`` know it by.
        build: ``build(input_shape, num_classes)`` returns a new model.
        input_shape: the ``(C, H, W)`` it needs, or ``None`` if it takes any shape.
        recipe: the training defaults (``epochs``, ``batch_size``, ``lr``, ``optimizer``,
            ``schedule``), which flags given on the command line override.
        synthetic_sizes: the (train, test) sizes of its synthetic data set.
    """

    name: str
    build: Builder
    input_shape: tuple[int, ...] | None
    recipe: dict = field(default_factory=dict)
    synthetic_sizes: tuple[int, int] = (2048, 512)


_REGISTRY: dict[str, ModelSpec] = {}


def register_model(spec: ModelSpec) -> ModelSpec:
    """Add a model to the registry; a name is registered once."""
    if spec.name in _REGISTRY:
        raise ValueError(f"a model named {spec.name!r} is already registered")
    _REGISTRY[spec.name] = spec
    return spec


def list_models() -> list[str]:
    """The registered names, sorted."""
    return sorted(_REGISTRY)


def model_spec(name: str) -> ModelSpec:
    """The registered model ``name``; a ``ValueError`` lists the names there are."""
    if name not in _REGISTRY:
        raise ValueError(f"model must be one of {list_models()}, got {name!r}")
    return _REGISTRY[name]


def get_model(name: str, *, input_shape: tuple[int, ...] | None = None,
              num_classes: int = 10) -> nn.Module:
    """A new model ``name`` for inputs of ``input_shape`` (default: the one it needs).

    Raises:
        ValueError: if ``name`` is unknown, or ``input_shape`` is not the one the model needs.
    """
    spec = model_spec(name)
    shape = tuple(input_shape) if input_shape is not None else spec.input_shape
    if shape is None:
        raise ValueError(f"model {name!r} takes any input shape: give input_shape")
    if spec.input_shape is not None and shape != spec.input_shape:
        raise ValueError(f"model {name!r} takes inputs of shape {spec.input_shape}, "
                         f"got input_shape {shape}")
    return spec.build(shape, num_classes)


register_model(ModelSpec(
    "net", lambda shape, classes: Net(), (3, 32, 32),
    dict(epochs=10, batch_size=64, lr=0.01, optimizer="sgd", schedule="constant")))
register_model(ModelSpec(
    "mlp", lambda shape, classes: MLP([prod(shape), 256, classes]), None,
    dict(epochs=10, batch_size=32, lr=0.01, optimizer="adamw", schedule="cosine")))
# These reach 98% test accuracy on the digits in seconds on a CPU.
register_model(ModelSpec(
    "digits-cnn", lambda shape, classes: DigitsCNN(classes), (1, 8, 8),
    dict(epochs=10, batch_size=64, lr=0.005, optimizer="adamw", schedule="cosine")))
# Krizhevsky et al. (2012): SGD, momentum 0.9, batch 128, learning rate 0.01, 90 epochs. Its
# 227x227 images are 50 times CIFAR's, so its synthetic set is smaller (2560 images = 1.6 GB).
register_model(ModelSpec(
    "alexnet", lambda shape, classes: AlexNet(classes), (3, 227, 227),
    dict(epochs=90, batch_size=128, lr=0.01, optimizer="sgd", schedule="constant"),
    synthetic_sizes=(256, 64)))
