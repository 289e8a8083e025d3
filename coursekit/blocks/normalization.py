r"""Batch, layer and RMS normalization, written from their definitions and equal to PyTorch's.

The chapter "Normalization and initialization" (``docs/blocks/normalization.md``) teaches what
this module implements. Each normalization subtracts a mean (RMS norm does not) and divides by a
root mean square taken over some axes of the input, then scales and shifts with learned
per-feature parameters; they differ in the axes:

- `batch_norm`: per channel (dim 1), over the batch and every position;
- `layer_norm`: per example, over the trailing ``normalized_shape`` dimensions;
- `rms_norm`: per example, over the last dimension, without centring.

`BatchNorm` adds the running statistics that a network uses in eval mode, and
`RMSNorm` is the module Llama uses. Half-precision input is normalized in float32
and cast back, as PyTorch's kernels do. Input that is not a real floating tensor of the
expected shape, and an ``eps`` that is not a nonnegative number, raise a ``ValueError`` naming
the argument; ``nan`` in ``x`` propagates, as in PyTorch.
"""

from __future__ import annotations

import torch
from torch import nn

from coursekit._validation import (
    as_real_float,
    integer,
    integer_sequence,
    nonnegative,
    positive_int,
    probability,
)

__all__ = ["batch_norm", "layer_norm", "rms_norm", "BatchNorm", "RMSNorm"]


def _parameter(t, name: str, shape: tuple[int, ...]) -> torch.Tensor | None:
    """An optional weight or bias, checked to have ``shape``."""
    if t is None:
        return None
    t = as_real_float(t, name)
    if tuple(t.shape) != shape:
        raise ValueError(f"{name} must have shape {shape}, got shape {tuple(t.shape)}")
    return t


def _channels(x, name: str = "x") -> torch.Tensor:
    """``x`` as a tensor ``(N, C, ...)`` with more than one value per channel."""
    x = as_real_float(x, name)
    if x.ndim < 2:
        raise ValueError(f"{name} must be a tensor (N, C, ...) with at least 2 dimensions, "
                         f"got shape {tuple(x.shape)}")
    if x.numel() <= x.shape[1]:
        raise ValueError(f"{name} must have more than one value per channel, "
                         f"got shape {tuple(x.shape)}")
    return x


def _wide(x: torch.Tensor) -> torch.Tensor:
    """``x`` in at least float32: the square of a float16 above 256 overflows, so half-precision
    input is normalized in single precision and cast back, as PyTorch's kernels do."""
    return x.to(torch.promote_types(x.dtype, torch.float32))


def _channel_stats(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and biased variance of each channel, shaped ``(1, C, 1, ...)`` to broadcast."""
    dims = (0, *range(2, x.ndim))
    mean = x.mean(dims, keepdim=True)
    return mean, ((x - mean) ** 2).mean(dims, keepdim=True)


def _affine(y: torch.Tensor, weight, bias, shape: tuple[int, ...]) -> torch.Tensor:
    """``y * weight + bias``, each reshaped to ``shape`` when given."""
    if weight is not None:
        y = y * weight.reshape(shape)
    if bias is not None:
        y = y + bias.reshape(shape)
    return y


def batch_norm(x, weight=None, bias=None, eps: float = 1e-5) -> torch.Tensor:
    r"""Batch normalization with the statistics of the batch (Ioffe & Szegedy 2015).

    For each channel $c$ the mean $\mu_c$ and the biased variance $\sigma_c^2$ are taken over
    the batch and every position (all dimensions but dim 1), and

    $$
    y_{n c \dots} = \gamma_c \, \frac{x_{n c \dots} - \mu_c}{\sqrt{\sigma_c^2 + \epsilon}}
        + \beta_c .
    $$

    Equal to ``F.batch_norm(x, None, None, weight, bias, training=True, eps=eps)``.

    Args:
        x: a tensor ``(N, C, ...)``: a batch of ``C`` features, or of ``C``-channel signals
            or images, with more than one value per channel.
        weight: the scale $\gamma$, shape ``(C,)``; ``None`` for 1.
        bias: the shift $\beta$, shape ``(C,)``; ``None`` for 0.
        eps: added to the variance, so that a constant channel does not divide by zero.

    Returns:
        A tensor of the shape of ``x``, each channel with mean $\beta_c$ and standard
            deviation about $\gamma_c$.

    Raises:
        ValueError: if ``x`` is not a real tensor ``(N, C, ...)`` with more than one value per
            channel, ``weight`` or ``bias`` is not of shape ``(C,)``, or ``eps`` is negative.

    Examples:
        >>> import torch
        >>> from coursekit.blocks.normalization import batch_norm
        >>> x = torch.tensor([[1.0, 10.0], [3.0, 30.0]])  # (N, C) = (2, 2)
        >>> batch_norm(x, eps=0.0)
        tensor([[-1., -1.],
                [ 1.,  1.]])
    """
    x = _channels(x)
    shape = (x.shape[1],)
    weight, bias = _parameter(weight, "weight", shape), _parameter(bias, "bias", shape)
    eps = nonnegative(eps, "eps")
    wide = _wide(x)
    mean, var = _channel_stats(wide)
    y = ((wide - mean) / torch.sqrt(var + eps)).type_as(x)
    return _affine(y, weight, bias, (-1, *[1] * (x.ndim - 2)))


def layer_norm(x, normalized_shape, weight=None, bias=None, eps: float = 1e-5) -> torch.Tensor:
    r"""Layer normalization over the trailing dimensions of each example (Ba et al. 2016).

    With $\mu$ and $\sigma^2$ the mean and biased variance of the last
    ``len(normalized_shape)`` dimensions of one example,

    $$
    y = \gamma \odot \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}} + \beta .
    $$

    Equal to ``F.layer_norm(x, normalized_shape, weight, bias, eps)``.

    Args:
        x: a tensor ``(..., *normalized_shape)``.
        normalized_shape: an int, or a sequence of ints that ``x.shape`` ends with.
        weight: the elementwise scale $\gamma$, shape ``normalized_shape``; ``None`` for 1.
        bias: the elementwise shift $\beta$, shape ``normalized_shape``; ``None`` for 0.
        eps: added to the variance.

    Returns:
        A tensor of the shape of ``x``.

    Raises:
        ValueError: if ``normalized_shape`` is not positive ints that ``x.shape`` ends with,
            ``weight`` or ``bias`` is not of that shape, or ``eps`` is negative.

    Examples:
        >>> import torch
        >>> from coursekit.blocks.normalization import layer_norm
        >>> layer_norm(torch.tensor([[1.0, 3.0], [10.0, 30.0]]), 2, eps=0.0)
        tensor([[-1.,  1.],
                [-1.,  1.]])
    """
    x = as_real_float(x, "x")
    if isinstance(normalized_shape, (list, tuple, torch.Size)):
        shape = integer_sequence(normalized_shape, "normalized_shape",
                                 "a positive int or a sequence of positive ints", min_length=1)
    else:
        shape = (integer(normalized_shape, "normalized_shape", minimum=1),)
    if x.ndim < len(shape) or tuple(x.shape[x.ndim - len(shape):]) != shape:
        raise ValueError(f"normalized_shape must be the last dimensions of x, got {shape} "
                         f"for x of shape {tuple(x.shape)}")
    weight, bias = _parameter(weight, "weight", shape), _parameter(bias, "bias", shape)
    eps = nonnegative(eps, "eps")
    dims, wide = tuple(range(-len(shape), 0)), _wide(x)
    mean = wide.mean(dims, keepdim=True)
    var = ((wide - mean) ** 2).mean(dims, keepdim=True)
    return _affine(((wide - mean) / torch.sqrt(var + eps)).type_as(x), weight, bias, shape)


def rms_norm(x, weight=None, eps: float = 1e-6) -> torch.Tensor:
    r"""Root mean square normalization over the last dimension (Zhang & Sennrich 2019).

    Layer normalization without the mean: over the $d$ entries of the last dimension,

    $$
    y = \gamma \odot \frac{x}{\sqrt{\frac{1}{d} \sum_{i=1}^d x_i^2 + \epsilon}} .
    $$

    Equal to ``F.rms_norm(x, (x.shape[-1],), weight, eps)``.

    Args:
        x: a tensor ``(..., d)`` with ``d >= 1``.
        weight: the elementwise scale $\gamma$, shape ``(d,)``; ``None`` for 1.
        eps: added to the mean square.

    Returns:
        A tensor of the shape of ``x``.

    Raises:
        ValueError: if ``x`` has no dimension or an empty last one, ``weight`` is not of shape
            ``(d,)``, or ``eps`` is negative.

    Examples:
        >>> import torch
        >>> from coursekit.blocks.normalization import rms_norm
        >>> rms_norm(torch.tensor([3.0, -3.0, 3.0, -3.0]), eps=0.0)
        tensor([ 1., -1.,  1., -1.])
    """
    x = as_real_float(x, "x")
    if x.ndim == 0 or x.shape[-1] == 0:
        raise ValueError(f"x must have a non-empty last dimension, got shape {tuple(x.shape)}")
    weight = _parameter(weight, "weight", (x.shape[-1],))
    eps = nonnegative(eps, "eps")
    wide = _wide(x)
    y = (wide * torch.rsqrt((wide * wide).mean(-1, keepdim=True) + eps)).type_as(x)
    return y if weight is None else y * weight


class BatchNorm(nn.Module):
    r"""Batch normalization with running statistics, like ``torch.nn.BatchNorm1d``/``2d``/``3d``.

    In training mode it normalizes with the batch's statistics (`batch_norm`) and moves
    the running estimates toward them, with the unbiased variance of the $n$ values per channel:

    $$
    \hat\mu \leftarrow (1 - m)\,\hat\mu + m\,\mu_B, \qquad
    \hat\sigma^2 \leftarrow (1 - m)\,\hat\sigma^2 + m\,\frac{n}{n - 1}\,\sigma_B^2 .
    $$

    In eval mode it normalizes with $\hat\mu$ and $\hat\sigma^2$, so that an example's output
    no longer depends on the rest of its batch.

    Args:
        num_features: the number of channels ``C``.
        eps: added to the variance.
        momentum: the weight $m$ of the newest batch in the running estimates.

    Raises:
        ValueError: if ``num_features`` is not a positive int, ``eps`` is negative or
            ``momentum`` is not in [0, 1]; in ``forward``, if ``x`` is not ``(N, C, ...)``.

    Examples:
        >>> import torch
        >>> from coursekit.blocks.normalization import BatchNorm
        >>> norm = BatchNorm(2)
        >>> _ = norm(torch.tensor([[1.0, 10.0], [3.0, 30.0]]))  # training mode
        >>> norm.running_mean  # 0.9 * 0 + 0.1 * (2, 20)
        tensor([0.2000, 2.0000])
        >>> norm.eval()(torch.tensor([[0.2, 2.0]]))  # eval mode: one example is enough
        tensor([[0., 0.]], grad_fn=<AddBackward0>)
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1) -> None:
        super().__init__()
        self.num_features = positive_int(num_features, "num_features")
        self.eps = nonnegative(eps, "eps")
        self.momentum = probability(momentum, "momentum")
        self.weight = nn.Parameter(torch.ones(self.num_features))
        self.bias = nn.Parameter(torch.zeros(self.num_features))
        self.register_buffer("running_mean", torch.zeros(self.num_features))
        self.register_buffer("running_var", torch.ones(self.num_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = as_real_float(x, "x")
        if x.ndim < 2 or x.shape[1] != self.num_features:
            raise ValueError(f"x must be a tensor (N, C, ...) with C = {self.num_features}, "
                             f"got shape {tuple(x.shape)}")
        if self.training:
            x = _channels(x)
            with torch.no_grad():
                mean, var = _channel_stats(x.detach())
                n = x.numel() // self.num_features
                self.running_mean.lerp_(mean.flatten(), self.momentum)
                self.running_var.lerp_(var.flatten() * n / (n - 1), self.momentum)
            return batch_norm(x, self.weight, self.bias, self.eps)
        shape = (-1, *[1] * (x.ndim - 2))
        y = (x - self.running_mean.reshape(shape)) / torch.sqrt(
            self.running_var.reshape(shape) + self.eps)
        return _affine(y, self.weight, self.bias, shape)

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"


class RMSNorm(nn.Module):
    r"""RMS normalization over the last dimension with a learned scale, as in Llama.

    Like Llama's own module, it normalizes in at least single precision (``x.float()`` for
    half-precision input, in `rms_norm`), casts back to the dtype of ``x``
    (``.type_as(x)``) and then multiplies by ``weight``:

    $$
    y = \gamma \odot \frac{x}{\sqrt{\frac{1}{d} \sum_{i=1}^d x_i^2 + \epsilon}} .
    $$

    Args:
        dim: the size ``d`` of the last dimension.
        eps: added to the mean square.

    Raises:
        ValueError: if ``dim`` is not a positive int or ``eps`` is negative; in ``forward``,
            if the last dimension of ``x`` is not ``dim``.

    Examples:
        >>> import torch
        >>> from coursekit.blocks.normalization import RMSNorm
        >>> norm = RMSNorm(4).to(torch.bfloat16)  # a half-precision model, as Llama runs
        >>> norm.weight.shape
        torch.Size([4])
        >>> norm(torch.tensor([3.0, -3.0, 3.0, -3.0], dtype=torch.bfloat16))
        tensor([ 1., -1.,  1., -1.], dtype=torch.bfloat16, grad_fn=<MulBackward0>)
    """

    def __init__(self, dim: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.dim = positive_int(dim, "dim")
        self.eps = nonnegative(eps, "eps")
        self.weight = nn.Parameter(torch.ones(self.dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = as_real_float(x, "x")
        if x.ndim == 0 or x.shape[-1] != self.dim:
            raise ValueError(f"x must have last dimension dim = {self.dim}, "
                             f"got shape {tuple(x.shape)}")
        return rms_norm(x, eps=self.eps) * self.weight  # normalized in float32, then cast

    def extra_repr(self) -> str:
        return f"{self.dim}, eps={self.eps}"
