r"""Xavier (Glorot) and Kaiming (He) initialization, from the variance argument.

The chapter "Normalization and initialization" (``docs/blocks/normalization.md``) derives and
shows what this module implements. A unit $y = \sum_{j=1}^{n} w_j x_j$ of a layer with
$n$ = fan-in inputs, independent zero-mean weights and inputs, has

$$
\operatorname{Var}(y) = n_{\text{in}} \operatorname{Var}(w) \operatorname{Var}(x),
$$

so the weights keep the scale of the signal from layer to layer when
$\operatorname{Var}(w) = \text{gain}^2 / n_{\text{in}}$ (Kaiming), where the gain undoes what
the nonlinearity takes away ($\sqrt 2$ for ReLU, which zeroes half of its input); Xavier
averages the forward and the backward condition, $\operatorname{Var}(w) = 2\,\text{gain}^2 /
(n_{\text{in}} + n_{\text{out}})$. The in-place initializers draw exactly what
``torch.nn.init`` draws from the same generator. `activation_scales` pushes a batch
through a deep stack of layers and records the scale of each layer's activations. Invalid
arguments raise a ``ValueError`` naming the argument.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from coursekit._validation import (
    function,
    matrix,
    optional_generator,
    positive,
    positive_int,
)

__all__ = [
    "fan_in_and_fan_out",
    "xavier_std",
    "kaiming_std",
    "xavier_normal_",
    "xavier_uniform_",
    "kaiming_normal_",
    "kaiming_uniform_",
    "activation_scales",
]


def fan_in_and_fan_out(tensor: torch.Tensor) -> tuple[int, int]:
    r"""The fan-in and fan-out of a weight tensor ``(out, in, *kernel)``, as PyTorch counts them.

    A linear layer's weight ``(out, in)`` has fan-in ``in`` and fan-out ``out``; a convolution's
    weight ``(out, in / groups, *kernel)`` multiplies both by the number $k$ of kernel entries:
    $n_{\text{in}} = \text{in} \cdot k$ and $n_{\text{out}} = \text{out} \cdot k$.

    Args:
        tensor: a weight tensor with at least 2 dimensions.

    Returns:
        ``(fan_in, fan_out)``.

    Raises:
        ValueError: if ``tensor`` is not a tensor with at least 2 dimensions.

    Examples:
        >>> import torch
        >>> from coursekit.blocks.initialization import fan_in_and_fan_out
        >>> fan_in_and_fan_out(torch.empty(64, 3, 5, 5))  # a 5x5 convolution, 3 -> 64
        (75, 1600)
    """
    if not isinstance(tensor, torch.Tensor) or tensor.ndim < 2:
        shape = tuple(tensor.shape) if isinstance(tensor, torch.Tensor) else type(tensor).__name__
        raise ValueError(f"tensor must be a tensor with at least 2 dimensions (out, in, ...), "
                         f"got {shape}")
    kernel = math.prod(tensor.shape[2:])
    return tensor.shape[1] * kernel, tensor.shape[0] * kernel


def xavier_std(fan_in: int, fan_out: int, gain: float = 1.0) -> float:
    r"""The standard deviation of Xavier (Glorot) initialization (Glorot & Bengio 2010).

    $$
    \sigma = \text{gain} \sqrt{\frac{2}{n_{\text{in}} + n_{\text{out}}}}
    $$

    Args:
        fan_in: the number of inputs of a unit, $n_{\text{in}}$.
        fan_out: the number of units an input feeds, $n_{\text{out}}$.
        gain: the factor for the nonlinearity (1 for tanh's linear regime).

    Returns:
        The standard deviation, a float.

    Raises:
        ValueError: if a fan is not a positive int or ``gain`` not a positive number.

    Examples:
        >>> from coursekit.blocks.initialization import xavier_std
        >>> xavier_std(100, 300)
        0.07071067811865475
    """
    fan_in, fan_out = positive_int(fan_in, "fan_in"), positive_int(fan_out, "fan_out")
    return positive(gain, "gain") * math.sqrt(2.0 / (fan_in + fan_out))


def kaiming_std(fan_in: int, gain: float = math.sqrt(2.0)) -> float:
    r"""The standard deviation of Kaiming (He) initialization (He et al. 2015).

    $$
    \sigma = \frac{\text{gain}}{\sqrt{n_{\text{in}}}}
    $$

    Pass the fan-out instead to keep the scale of the gradients in the backward pass.

    Args:
        fan_in: the number of inputs of a unit, $n_{\text{in}}$.
        gain: the factor for the nonlinearity: $\sqrt 2$ for ReLU.

    Returns:
        The standard deviation, a float.

    Raises:
        ValueError: if ``fan_in`` is not a positive int or ``gain`` not a positive number.

    Examples:
        >>> from coursekit.blocks.initialization import kaiming_std
        >>> kaiming_std(50) ** 2  # 2 / 50
        0.04000000000000001
    """
    return positive(gain, "gain") / math.sqrt(positive_int(fan_in, "fan_in"))


def _weight(tensor) -> torch.Tensor:
    fan_in_and_fan_out(tensor)
    if not tensor.is_floating_point() or tensor.numel() == 0:
        raise ValueError(f"tensor must be a non-empty floating tensor, got dtype "
                         f"{tensor.dtype} and shape {tuple(tensor.shape)}")
    return tensor


def _normal_(tensor: torch.Tensor, std: float, generator) -> torch.Tensor:
    with torch.no_grad():
        return tensor.normal_(0.0, std, generator=optional_generator(generator, "generator"))


def _uniform_(tensor: torch.Tensor, std: float, generator) -> torch.Tensor:
    bound = math.sqrt(3.0) * std  # U(-a, a) has variance a^2 / 3
    with torch.no_grad():
        return tensor.uniform_(-bound, bound,
                               generator=optional_generator(generator, "generator"))


def _fan(tensor: torch.Tensor, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def xavier_normal_(tensor: torch.Tensor, gain: float = 1.0,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    r"""Fill ``tensor`` in place from $\mathcal N(0, \sigma^2)$, $\sigma$ = `xavier_std`.

    Draws what ``torch.nn.init.xavier_normal_`` draws from the same generator.

    Args:
        tensor: a floating weight tensor ``(out, in, *kernel)``.
        gain: the factor for the nonlinearity.
        generator: the random generator; ``None`` for the global one.

    Returns:
        ``tensor``, filled.

    Raises:
        ValueError: if ``tensor`` is not a non-empty floating tensor of at least 2 dimensions
            or ``gain`` is not positive.
        TypeError: if ``generator`` is not a ``torch.Generator``.

    Examples:
        >>> import torch
        >>> from coursekit.blocks.initialization import xavier_normal_
        >>> g = torch.Generator().manual_seed(0)
        >>> w = xavier_normal_(torch.empty(300, 100), generator=g)
        >>> round(w.std().item(), 3)  # sqrt(2 / 400) = 0.0707
        0.071
    """
    tensor = _weight(tensor)
    return _normal_(tensor, xavier_std(*fan_in_and_fan_out(tensor), gain), generator)


def xavier_uniform_(tensor: torch.Tensor, gain: float = 1.0,
                    generator: torch.Generator | None = None) -> torch.Tensor:
    r"""Fill ``tensor`` in place from $U(-a, a)$, $a = \sqrt 3\,\sigma$, $\sigma$ =
    `xavier_std`: the same variance as `xavier_normal_`.

    Draws what ``torch.nn.init.xavier_uniform_`` draws from the same generator.

    Args:
        tensor: a floating weight tensor ``(out, in, *kernel)``.
        gain: the factor for the nonlinearity.
        generator: the random generator; ``None`` for the global one.

    Returns:
        ``tensor``, filled.

    Raises:
        ValueError: if ``tensor`` is not a non-empty floating tensor of at least 2 dimensions
            or ``gain`` is not positive.
        TypeError: if ``generator`` is not a ``torch.Generator``.

    Examples:
        >>> import torch
        >>> from coursekit.blocks.initialization import xavier_uniform_
        >>> w = xavier_uniform_(torch.empty(300, 100))
        >>> bool(w.abs().max() <= 3 ** 0.5 * (2 / 400) ** 0.5)
        True
    """
    tensor = _weight(tensor)
    return _uniform_(tensor, xavier_std(*fan_in_and_fan_out(tensor), gain), generator)


def kaiming_normal_(tensor: torch.Tensor, gain: float = math.sqrt(2.0), mode: str = "fan_in",
                    generator: torch.Generator | None = None) -> torch.Tensor:
    r"""Fill ``tensor`` in place from $\mathcal N(0, \sigma^2)$, $\sigma$ = `kaiming_std`.

    Draws what ``torch.nn.init.kaiming_normal_`` draws from the same generator (whose default
    ``nonlinearity="leaky_relu"`` with ``a=0`` is ReLU's gain $\sqrt 2$).

    Args:
        tensor: a floating weight tensor ``(out, in, *kernel)``.
        gain: the factor for the nonlinearity: $\sqrt 2$ for ReLU.
        mode: ``"fan_in"`` keeps the scale of the activations, ``"fan_out"`` that of the
            gradients.
        generator: the random generator; ``None`` for the global one.

    Returns:
        ``tensor``, filled.

    Raises:
        ValueError: if ``tensor`` is not a non-empty floating tensor of at least 2 dimensions,
            ``gain`` is not positive or ``mode`` is neither ``"fan_in"`` nor ``"fan_out"``.
        TypeError: if ``generator`` is not a ``torch.Generator``.

    Examples:
        >>> import torch
        >>> from coursekit.blocks.initialization import kaiming_normal_
        >>> g = torch.Generator().manual_seed(0)
        >>> w = kaiming_normal_(torch.empty(300, 50), generator=g)
        >>> round(w.var().item(), 2)  # 2 / 50
        0.04
    """
    tensor = _weight(tensor)
    return _normal_(tensor, kaiming_std(_fan(tensor, mode), gain), generator)


def kaiming_uniform_(tensor: torch.Tensor, gain: float = math.sqrt(2.0), mode: str = "fan_in",
                     generator: torch.Generator | None = None) -> torch.Tensor:
    r"""Fill ``tensor`` in place from $U(-a, a)$, $a = \sqrt 3\,\sigma$, $\sigma$ =
    `kaiming_std`: the same variance as `kaiming_normal_`.

    Draws what ``torch.nn.init.kaiming_uniform_`` draws from the same generator. PyTorch's
    ``nn.Linear`` and ``nn.Conv2d`` start from it with gain $\sqrt{1/3}$, so that
    $a = 1/\sqrt{n_{\text{in}}}$.

    Args:
        tensor: a floating weight tensor ``(out, in, *kernel)``.
        gain: the factor for the nonlinearity: $\sqrt 2$ for ReLU.
        mode: ``"fan_in"`` or ``"fan_out"``, as in `kaiming_normal_`.
        generator: the random generator; ``None`` for the global one.

    Returns:
        ``tensor``, filled.

    Raises:
        ValueError: if ``tensor`` is not a non-empty floating tensor of at least 2 dimensions,
            ``gain`` is not positive or ``mode`` is neither ``"fan_in"`` nor ``"fan_out"``.
        TypeError: if ``generator`` is not a ``torch.Generator``.

    Examples:
        >>> import torch
        >>> from coursekit.blocks.initialization import kaiming_uniform_
        >>> w = kaiming_uniform_(torch.empty(300, 50), gain=3 ** -0.5)
        >>> bool(w.abs().max() <= 1 / 50 ** 0.5)  # nn.Linear(50, 300)'s default bound
        True
    """
    tensor = _weight(tensor)
    return _uniform_(tensor, kaiming_std(_fan(tensor, mode), gain), generator)


def activation_scales(x, depth: int, weight_std: float,
                      activation: Callable[[torch.Tensor], torch.Tensor] = torch.tanh,
                      normalize: Callable[[torch.Tensor], torch.Tensor] | None = None,
                      generator: torch.Generator | None = None) -> torch.Tensor:
    r"""The standard deviation of the activations of each layer of a deep square network.

    Each of ``depth`` layers multiplies by a fresh weight matrix ``(width, width)`` with
    entries from $\mathcal N(0, \sigma^2)$ and no bias, optionally normalizes, and applies the
    nonlinearity: $h_\ell = \phi(\operatorname{norm}(h_{\ell-1} W_\ell^\top))$, $h_0 = x$.

    Args:
        x: the input batch ``(batch, width)``.
        depth: the number of layers.
        weight_std: $\sigma$, the standard deviation of every weight.
        activation: the nonlinearity $\phi$ (``torch.tanh``, ``torch.relu``, ...).
        normalize: applied before the nonlinearity (e.g. ``batch_norm``); ``None`` for none.
        generator: the random generator for the weights; ``None`` for the global one.

    Returns:
        A tensor ``(depth,)``: the standard deviation of $h_1, \dots, h_{\text{depth}}$ over
            the batch and the units.

    Raises:
        ValueError: if ``x`` is not a matrix, ``depth`` not a positive int or ``weight_std``
            not positive.
        TypeError: if ``activation`` or ``normalize`` is not callable, or ``generator`` is not
            a ``torch.Generator``.

    Examples:
        >>> import torch
        >>> from coursekit.blocks.initialization import activation_scales, kaiming_std
        >>> g = torch.Generator().manual_seed(0)
        >>> x = torch.randn(64, 100, generator=g)
        >>> scales = activation_scales(x, 5, kaiming_std(100), torch.relu, generator=g)
        >>> scales.shape, bool(0.5 < scales[-1] < 2)
        (torch.Size([5]), True)
    """
    h = matrix(x, "x")
    depth, std = positive_int(depth, "depth"), positive(weight_std, "weight_std")
    activation = function(activation, "activation")
    normalize = None if normalize is None else function(normalize, "normalize")
    generator = optional_generator(generator, "generator")
    width, scales = h.shape[1], []
    with torch.no_grad():
        for _ in range(depth):
            w = torch.randn(width, width, generator=generator, dtype=h.dtype) * std
            h = h @ w.T  # (batch, width)
            h = activation(h if normalize is None else normalize(h))
            scales.append(h.std())
    return torch.stack(scales)
