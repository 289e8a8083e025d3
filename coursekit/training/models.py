"""The course's networks: the lecture's ``Net``, an ``MLP``, a digits CNN and AlexNet (2012).

Every model is a short ``nn.Module`` whose layers read like the table in its source, and
``layer_summary`` reports what each layer produces: output shape, neurons, parameters.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from math import prod

import torch
import torch.nn.functional as F
from torch import nn

from coursekit._validation import boolean, integer_sequence, positive_int, probability

__all__ = ["AlexNet", "DigitsCNN", "LayerRecord", "MLP", "Net", "layer_summary"]


class Net(nn.Module):
    """The lecture's network for 3x32x32 images (CIFAR-10): two conv layers, three linear.

    conv 3→6 5x5, max-pool 2, conv 6→16 5x5, max-pool 2, then fully connected
    400→120→84→10 with ReLU in between; 62,006 parameters.

    Examples:
        >>> import torch
        >>> from coursekit.training.models import Net
        >>> net = Net()
        >>> tuple(net(torch.zeros(2, 3, 32, 32)).shape)
        (2, 10)
        >>> sum(p.numel() for p in net.parameters())
        62006
    """

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(F.relu(self.conv1(x)))  # (B, 6, 14, 14)
        x = self.pool(F.relu(self.conv2(x)))  # (B, 16, 5, 5)
        x = torch.flatten(x, 1)  # (B, 400)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


class MLP(nn.Sequential):
    """A multilayer perceptron: flatten, then linear layers with an activation between them.

    Args:
        sizes: widths from input to output, e.g. ``[64, 128, 10]``; at least two.
        activation: module class put after every linear layer but the last.

    Raises:
        ValueError: if fewer than two sizes are given, one is not a positive integer (floats
            and bools are refused), or ``activation`` is not a module class.

    Examples:
        >>> import torch
        >>> from coursekit.training.models import MLP
        >>> mlp = MLP([64, 32, 10])
        >>> tuple(mlp(torch.zeros(5, 1, 8, 8)).shape)
        (5, 10)
        >>> [type(m).__name__ for m in mlp]
        ['Flatten', 'Linear', 'ReLU', 'Linear']
    """

    def __init__(self, sizes: Sequence[int], activation: type[nn.Module] = nn.ReLU):
        sizes = integer_sequence(sizes, "sizes", "two or more positive integers", min_length=2)
        if not (isinstance(activation, type) and issubclass(activation, nn.Module)):
            raise ValueError(f"activation must be a torch.nn.Module class, got {activation!r}")
        layers: list[nn.Module] = [nn.Flatten()]
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
            layers.append(nn.Linear(n_in, n_out))
            if i < len(sizes) - 2:
                layers.append(activation())
        super().__init__(*layers)


class DigitsCNN(nn.Module):
    r"""A small CNN for the 8x8 digits: two 3x3 conv blocks with batch norm and max-pooling.

    Each block is convolution, batch normalization, ReLU, 2x2 max-pooling ($8 \to 4 \to 2$);
    dropout comes before the one linear layer. With ``coursekit train``'s defaults it reaches
    over 98% test accuracy on ``load_digits()``'s split in seconds on a CPU.

    Args:
        num_classes: number of outputs.
        dropout: dropout probability before the classifier.

    Raises:
        ValueError: if ``num_classes`` is not a positive integer or ``dropout`` is not in
            ``[0, 1]``.

    Examples:
        >>> import torch
        >>> from coursekit.training.models import DigitsCNN
        >>> model = DigitsCNN()
        >>> tuple(model(torch.zeros(4, 1, 8, 8)).shape)
        (4, 10)
    """

    def __init__(self, num_classes: int = 10, dropout: float = 0.25):
        super().__init__()
        num_classes = positive_int(num_classes, "num_classes")
        dropout = probability(dropout, "dropout")

        def block(c_in: int, c_out: int) -> list[nn.Module]:
            conv = nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)  # batch norm adds the bias
            return [conv, nn.BatchNorm2d(c_out), nn.ReLU()]

        self.features = nn.Sequential(
            *block(1, 32),  # (B, 32, 8, 8)
            nn.MaxPool2d(2),  # (B, 32, 4, 4)
            *block(32, 64),  # (B, 64, 4, 4)
            nn.MaxPool2d(2),  # (B, 64, 2, 2)
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),  # (B, 256)
            nn.Dropout(dropout),
            nn.Linear(64 * 2 * 2, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


class AlexNet(nn.Module):
    r"""AlexNet as published (Krizhevsky, Sutskever and Hinton, 2012), for 3x227x227 inputs.

    Five conv layers (96 11x11 stride-4 kernels first), local response normalization after
    the first two, overlapping 3x3 stride-2 max-pooling, and three fully connected layers with
    dropout 0.5 before the first two. With ``two_gpu=True`` conv2, conv4 and conv5 are grouped
    convolutions (``groups=2``): each half only sees the kernel maps on its own GPU, as in the
    paper's figure 2; conv3 and the linear layers see both halves.

    The paper's response normalization is
    $b_c = a_c / (k + \alpha \sum_{c'} a_{c'}^2)^\beta$ with $k=2$, $n=5$, $\alpha=10^{-4}$,
    $\beta=0.75$; PyTorch's ``LocalResponseNorm`` divides ``alpha`` by $n$, so it gets
    $5 \cdot 10^{-4}$. Weights start as in the paper: $\mathcal{N}(0, 0.01^2)$, biases 1 in
    conv2, conv4, conv5 and the hidden linear layers, 0 elsewhere.

    Args:
        num_classes: outputs of the last layer (1000 for ImageNet).
        two_gpu: group conv2, conv4 and conv5 in two halves as the paper's two-GPU split.

    Raises:
        ValueError: if ``num_classes`` is not a positive integer or ``two_gpu`` is not a bool.

    Examples:
        >>> from coursekit.training.models import AlexNet
        >>> model = AlexNet()
        >>> sum(p.numel() for p in model.parameters())
        60965224
        >>> sum(p.numel() for p in AlexNet(two_gpu=False).parameters())
        62378344
    """

    def __init__(self, num_classes: int = 1000, two_gpu: bool = True):
        super().__init__()
        num_classes = positive_int(num_classes, "num_classes")
        g = 2 if boolean(two_gpu, "two_gpu") else 1

        def lrn() -> nn.LocalResponseNorm:
            return nn.LocalResponseNorm(size=5, alpha=5 * 1e-4, beta=0.75, k=2.0)

        self.features = nn.Sequential(OrderedDict([
            ("conv1", nn.Conv2d(3, 96, 11, stride=4)),  # (B, 96, 55, 55)
            ("relu1", nn.ReLU()),
            ("norm1", lrn()),
            ("pool1", nn.MaxPool2d(3, stride=2)),  # (B, 96, 27, 27)
            ("conv2", nn.Conv2d(96, 256, 5, padding=2, groups=g)),
            ("relu2", nn.ReLU()),
            ("norm2", lrn()),
            ("pool2", nn.MaxPool2d(3, stride=2)),  # (B, 256, 13, 13)
            ("conv3", nn.Conv2d(256, 384, 3, padding=1)),
            ("relu3", nn.ReLU()),
            ("conv4", nn.Conv2d(384, 384, 3, padding=1, groups=g)),
            ("relu4", nn.ReLU()),
            ("conv5", nn.Conv2d(384, 256, 3, padding=1, groups=g)),
            ("relu5", nn.ReLU()),
            ("pool5", nn.MaxPool2d(3, stride=2)),  # (B, 256, 6, 6)
        ]))  # fmt: skip
        self.classifier = nn.Sequential(OrderedDict([
            ("flatten", nn.Flatten()),  # (B, 9216)
            ("drop6", nn.Dropout(0.5)),
            ("fc6", nn.Linear(256 * 6 * 6, 4096)),
            ("relu6", nn.ReLU()),
            ("drop7", nn.Dropout(0.5)),
            ("fc7", nn.Linear(4096, 4096)),
            ("relu7", nn.ReLU()),
            ("fc8", nn.Linear(4096, num_classes)),
        ]))  # fmt: skip
        for name, module in [*self.features.named_children(), *self.classifier.named_children()]:
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.normal_(module.weight, std=0.01)
                nn.init.constant_(module.bias, 1.0 if name in _BIAS_ONE else 0.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


_BIAS_ONE = {"conv2", "conv4", "conv5", "fc6", "fc7"}


@dataclass(frozen=True)
class LayerRecord:
    """One row of ``layer_summary``: a layer's name, output shape, neurons and parameters."""

    name: str
    output_shape: tuple[int, ...]
    neurons: int
    params: int


def layer_summary(model: nn.Module, input_shape: Sequence[int]) -> list[LayerRecord]:
    """Run one input through ``model`` and report every leaf layer in the order it ran.

    ``output_shape`` leaves out the batch dimension; ``neurons`` is the number of values the
    layer outputs for one input; ``params`` counts the layer's own parameters.

    Args:
        model: the network; it is run once in eval mode without gradients.
        input_shape: shape of one input without the batch dimension, e.g. ``(3, 227, 227)``.

    Returns:
        A list of ``LayerRecord``, one per leaf module call.

    Raises:
        ValueError: if ``model`` is not a module or ``input_shape`` is not a sequence of
            positive integers.

    Examples:
        >>> from coursekit.training.models import Net, layer_summary
        >>> rows = layer_summary(Net(), (3, 32, 32))
        >>> for r in rows[:3]:
        ...     print(r.name, r.output_shape, r.neurons, r.params)
        conv1 (6, 28, 28) 4704 456
        pool (6, 14, 14) 1176 0
        conv2 (16, 10, 10) 1600 2416
        >>> sum(r.params for r in rows)
        62006
    """
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    input_shape = integer_sequence(input_shape, "input_shape", "a sequence of positive sizes")
    records: list[LayerRecord] = []

    def hook(name: str):
        def record(module: nn.Module, inputs, output: torch.Tensor) -> None:
            shape = tuple(output.shape[1:])
            params = sum(p.numel() for p in module.parameters(recurse=False))
            records.append(LayerRecord(name, shape, prod(shape), params))

        return record

    leaves = [(n, m) for n, m in model.named_modules() if not list(m.children())]
    handles = [m.register_forward_hook(hook(n)) for n, m in leaves]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            p = next(model.parameters(), None)
            model(torch.zeros(1, *input_shape, device=p.device if p is not None else "cpu"))
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    return records
