r"""Which training examples made a prediction: TracIn, influence traced through SGD.

Pruthi, Liu, Kale and Sundararajan (2020, "Estimating training data influence by tracing
gradient descent") ask how much training on example $z$ lowered the loss on a test example
$z'$. One SGD step on $z$ with rate $\eta$ moves the weights by $-\eta \nabla \ell(w, z)$ and so,
to first order, changes the test loss by $-\eta\, \nabla \ell(w, z) \cdot \nabla \ell(w, z')$.
Summed over the checkpoints $w_1, \dots, w_k$ saved during training (TracInCP),

$$
\operatorname{TracIn}(z, z') = \sum_{i=1}^k \eta_i \,
    \nabla \ell(w_i, z) \cdot \nabla \ell(w_i, z') .
$$

A large positive score marks a **proponent** of $z'$ (a helpful example: steps on it lowered
the test loss), a large negative one an **opponent** (a harmful one). The per-example
gradients come from ``torch.func``: ``grad`` of one example's loss, vectorized over the batch
by ``vmap``.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, grad, vmap

from coursekit._validation import (
    classifier_batch,
    integer,
    positive,
    positive_int,
)

__all__ = ["per_sample_gradients", "tracin", "train_with_checkpoints"]


def _module(model) -> nn.Module:
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    return model


def _gradients(model: nn.Module, params: dict, buffers: dict, x, y) -> torch.Tensor:
    """(N, P): row n is the gradient of example n's cross entropy, all parameters flattened."""

    def loss(p, x_n, y_n):
        logits = functional_call(model, (p, buffers), (x_n[None],))  # (1, K)
        return F.cross_entropy(logits, y_n[None])

    per_example = vmap(grad(loss), in_dims=(None, 0, 0))(params, x, y)  # name -> (N, ...)
    return torch.cat([g.flatten(1) for g in per_example.values()], dim=1)


def per_sample_gradients(model: nn.Module, x, y) -> torch.Tensor:
    r"""The gradient of each example's cross entropy with respect to all of ``model``'s
    parameters, $\nabla_w \ell(w, z_n)$ for $z_n = (x_n, y_n)$, as the rows of one matrix.

    Computed in one pass with ``torch.func.vmap`` over ``torch.func.grad``; the model runs on
    one example at a time, so layers that mix a batch (batch norm in training mode) are
    not supported.

    Args:
        model: a classifier from inputs ``(N, ...)`` to logits ``(N, K)``.
        x: the inputs, a batch of at least one example; a NumPy array or list is converted to
            the dtype of the model's parameters.
        y: the classes, ``N`` integers in ``[0, K)``.

    Returns:
        ``(N, P)``, where ``P`` counts the parameters in the order of ``model.parameters()``.

    Raises:
        ValueError: naming the argument, if ``model`` is not a module, ``x`` is not a finite
            floating batch the model takes, or ``y`` is not ``N`` classes of the model.

    Examples:
        >>> import torch
        >>> from coursekit.applications.influence import per_sample_gradients
        >>> _ = torch.manual_seed(0)
        >>> model = torch.nn.Linear(3, 2)
        >>> x, y = torch.randn(4, 3), torch.tensor([0, 1, 1, 0])
        >>> g = per_sample_gradients(model, x, y)
        >>> tuple(g.shape)  # 4 examples, 3 * 2 weights + 2 biases
        (4, 8)
        >>> loss = torch.nn.functional.cross_entropy(model(x[2:3]), y[2:3])
        >>> torch.allclose(g[2, :6], torch.autograd.grad(loss, model.weight)[0].flatten())
        True
    """
    model = _module(model)
    x, y = classifier_batch(model, x, y, "x", "y")
    params = {k: v.detach() for k, v in model.named_parameters()}
    buffers = dict(model.named_buffers())
    return _gradients(model, params, buffers, x, y)


def train_with_checkpoints(model: nn.Module, x, y, *, epochs: int, batch_size: int, lr: float,
                           seed: int = 0) -> list[dict[str, torch.Tensor]]:
    r"""Train ``model`` in place by plain SGD (no momentum), keeping a checkpoint per epoch.

    TracIn's first-order argument holds for plain SGD steps of a known rate, so that is how
    the model is trained: each epoch visits the examples in an order drawn from ``seed``, in
    mini-batches of ``batch_size`` (the last one smaller), each step
    $w \leftarrow w - \eta \nabla \frac{1}{|B|}\sum_{z \in B} \ell(w, z)$.

    Args:
        model: a classifier from inputs ``(N, ...)`` to logits ``(N, K)``.
        x: the training inputs, a batch of at least one example.
        y: their classes, ``N`` integers in ``[0, K)``.
        epochs: number of passes over the data.
        batch_size: examples per step.
        lr: the rate $\eta$, positive.
        seed: seeds the order of the examples.

    Returns:
        The ``state_dict`` after every epoch, copied: ``epochs`` checkpoints.

    Raises:
        ValueError: naming the argument, if ``model`` is not a module, ``x`` or ``y`` is not
            a batch of examples for it, a count is not a positive integer, ``lr`` is not
            positive or ``seed`` is not an integer.

    Examples:
        >>> import torch
        >>> from coursekit.applications.influence import train_with_checkpoints
        >>> _ = torch.manual_seed(0)
        >>> model = torch.nn.Linear(3, 2)
        >>> x, y = torch.randn(8, 3), torch.tensor([0, 1] * 4)
        >>> checkpoints = train_with_checkpoints(model, x, y, epochs=2, batch_size=4,
        ...                                      lr=0.1)
        >>> len(checkpoints), sorted(checkpoints[0])
        (2, ['bias', 'weight'])
        >>> torch.equal(checkpoints[-1]["weight"], model.weight)
        True
    """
    model = _module(model)
    x, y = classifier_batch(model, x, y, "x", "y")
    epochs, batch_size = positive_int(epochs, "epochs"), positive_int(batch_size, "batch_size")
    lr, seed = positive(lr, "lr"), integer(seed, "seed")
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    rng = torch.Generator().manual_seed(seed)
    checkpoints = []
    for _ in range(epochs):
        for batch in torch.randperm(len(x), generator=rng).split(batch_size):
            loss = F.cross_entropy(model(x[batch]), y[batch])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        checkpoints.append(copy.deepcopy(model.state_dict()))
    return checkpoints


def tracin(model: nn.Module, checkpoints, lr: float, x_train, y_train, x_test,
           y_test) -> torch.Tensor:
    r"""TracInCP scores of every training example for every test example.

    For each checkpoint $w_i$ (loaded into ``model``'s architecture without changing
    ``model``) the per-example gradients $G_i$ of the training set and $G'_i$ of the test set
    are computed, and the scores are $\sum_i \eta\, G'_i G_i^\top$, with one rate $\eta$ for
    all checkpoints (the constant rate of `train_with_checkpoints`).

    Args:
        model: the architecture; its own weights are not used.
        checkpoints: the ``state_dict`` of each checkpoint, a non-empty list.
        lr: the SGD rate $\eta$ the checkpoints were trained with.
        x_train: training inputs ``(N, ...)``.
        y_train: their classes, ``(N,)``.
        x_test: test inputs ``(M, ...)``.
        y_test: their classes, ``(M,)``.

    Returns:
        ``(M, N)``: entry ``[j, n]`` is the influence of training example ``n`` on test
            example ``j``; positive for proponents, negative for opponents.

    Raises:
        ValueError: naming the argument, if ``model`` is not a module, ``checkpoints`` is not
            a non-empty list of state dicts for it, ``lr`` is not positive, or the examples
            are not batches of inputs and classes for it.

    Examples:
        >>> import torch
        >>> from coursekit.applications.influence import tracin, train_with_checkpoints
        >>> _ = torch.manual_seed(0)
        >>> model = torch.nn.Linear(2, 2)
        >>> x = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]])
        >>> y = torch.tensor([0, 0, 1])
        >>> checkpoints = train_with_checkpoints(model, x, y, epochs=3, batch_size=1,
        ...                                      lr=0.1)
        >>> x_test = torch.tensor([[1.0, 0.05]])  # most like example 0, of class 0
        >>> scores = tracin(model, checkpoints, 0.1, x, y, x_test, [0])
        >>> scores.argmax().item(), bool(scores[0, 2] < 0)  # class 1 harms it
        (0, True)
    """
    model = _module(model)
    lr = positive(lr, "lr")
    if not isinstance(checkpoints, (list, tuple)) or not checkpoints:
        raise ValueError(f"checkpoints must be a non-empty list of state dicts, got "
                         f"{type(checkpoints).__name__} {checkpoints!r:.40}")  # fmt: skip
    x_train, y_train = classifier_batch(model, x_train, y_train, "x_train", "y_train")
    x_test, y_test = classifier_batch(model, x_test, y_test, "x_test", "y_test")
    probe = copy.deepcopy(model)
    names = [k for k, _ in probe.named_parameters()]
    scores = torch.zeros(len(x_test), len(x_train), dtype=x_train.dtype)
    for i, state in enumerate(checkpoints):
        try:
            probe.load_state_dict(state)
        except (RuntimeError, TypeError, AttributeError) as err:
            raise ValueError(f"checkpoints[{i}] is not a state dict of model: {err}") from err
        params = {k: v.detach() for k, v in probe.named_parameters()}
        if not all(bool(torch.isfinite(params[k]).all()) for k in names):
            raise ValueError(f"checkpoints[{i}] must hold finite weights, got nan or inf")
        buffers = dict(probe.named_buffers())
        g_train = _gradients(probe, params, buffers, x_train, y_train)  # (N, P)
        g_test = _gradients(probe, params, buffers, x_test, y_test)  # (M, P)
        scores += lr * g_test @ g_train.T
    return scores
