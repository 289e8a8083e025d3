r"""2-D convolution and max-pooling by unfolding (im2col), equal to PyTorch's.

The chapter "Convolution" (``docs/blocks/convolution.md``) teaches what this module implements.
A convolution layer, as deep learning defines it, is a cross-correlation: output channel $o$
at position $(i, j)$ is the dot product of the kernel $w_o$ with the window of the input
under it,

$$
y_{n o i j} = b_o + \sum_{c} \sum_{u=0}^{k_h - 1} \sum_{v=0}^{k_w - 1}
    w_{o c u v} \, x_{n,\, c,\, s_h i + d_h u - p_h,\; s_w j + d_w v - p_w},
$$

with stride $s$, dilation $d$ and zero padding $p$. `conv2d` unfolds the padded input
(im2col): for each kernel tap $(u, v)$ it slices out the input values that tap multiplies at
every output position, so that the windows become the columns of one matrix, and it does the
whole layer as one matrix product with the kernels laid out as rows. `max_pool2d` takes the
maximum of the same windows. Tensors are ``(N, C, H, W)`` (an unbatched ``(C, H, W)`` works
too); bad input raises a ``ValueError`` that names the argument.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from coursekit._validation import as_real_float, integer, integer_sequence, positive_int

__all__ = ["conv_output_size", "receptive_field", "conv2d", "max_pool2d", "Conv2d"]

Pair = tuple[int, int]


def _pair(value, name: str, minimum: int) -> Pair:
    """An int or a pair of ints (height, width), each at least ``minimum``."""
    if isinstance(value, (list, tuple)):
        what = f"an int or a pair of ints, each at least {minimum}"
        pair = integer_sequence(value, name, what, minimum=minimum, min_length=2)
        if len(pair) != 2:
            raise ValueError(f"{name} must be {what}, got {value!r}")
        return pair
    v = integer(value, name, minimum=minimum)
    return v, v


def _padding(padding, stride: Pair) -> str | Pair:
    """``"same"``, ``"valid"`` or a pair of nonnegative ints; ``"same"`` needs stride 1."""
    if isinstance(padding, str):
        if padding not in ("same", "valid"):
            raise ValueError(f"padding must be an int, a pair, 'same' or 'valid', got {padding!r}")
        if padding == "same" and stride != (1, 1):
            raise ValueError(f"padding='same' needs stride 1, got stride {stride}")
        return padding
    return _pair(padding, "padding", 0)


def _pads(padding: str | Pair, kernel: Pair, dilation: Pair) -> tuple[int, int, int, int]:
    """Zeros to add (left, right, top, bottom), the order of ``F.pad``."""
    if padding == "valid":
        return 0, 0, 0, 0
    if padding == "same":  # the output keeps the input's size; an odd extra zero goes last
        th, tw = (d * (k - 1) for k, d in zip(kernel, dilation, strict=True))
        return tw // 2, tw - tw // 2, th // 2, th - th // 2
    ph, pw = padding
    return pw, pw, ph, ph


def _images(x, name: str = "x") -> tuple[torch.Tensor, bool]:
    """``x`` as a float tensor ``(N, C, H, W)``, and whether it came unbatched ``(C, H, W)``."""
    x = as_real_float(x, name)
    if x.ndim not in (3, 4):
        raise ValueError(f"{name} must be a 4-D tensor (N, C, H, W) or 3-D (C, H, W), "
                         f"got shape {tuple(x.shape)}")
    return (x.unsqueeze(0), True) if x.ndim == 3 else (x, False)


def _output_size(size: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def _taps(x: torch.Tensor, kernel: Pair, stride: Pair, dilation: Pair) -> list[torch.Tensor]:
    """For each kernel tap ``(u, v)``, row by row, the values of the padded ``x`` (..., H, W)
    that the tap meets at every output position: a slice of shape ``(..., H_out, W_out)``."""
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    h_out = _output_size(x.shape[-2], kh, sh, 0, dh)
    w_out = _output_size(x.shape[-1], kw, sw, 0, dw)
    return [x[..., u * dh: u * dh + sh * (h_out - 1) + 1: sh,
              v * dw: v * dw + sw * (w_out - 1) + 1: sw]
            for u in range(kh) for v in range(kw)]


def _check_fits(x: torch.Tensor, kernel: Pair, padding: tuple[int, ...], dilation: Pair) -> None:
    """Refuse an input that, padded, is smaller than the dilated kernel (no output at all)."""
    size = (x.shape[2] + padding[2] + padding[3], x.shape[3] + padding[0] + padding[1])
    span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation, strict=True))
    if size[0] < span[0] or size[1] < span[1]:
        raise ValueError(f"x must be at least as large as the dilated kernel {span} once "
                         f"padded, got (H, W) = {tuple(x.shape[2:])}, padded to {size}")


def conv_output_size(size: int, kernel_size: int, stride: int = 1, padding: int = 0,
                     dilation: int = 1) -> int:
    r"""The length of a convolution's or pooling's output along one axis.

    A kernel of $k$ taps with dilation $d$ spans $d(k - 1) + 1$ positions; it fits at every
    $s$-th position of the input padded by $p$ on both sides, so

    $$
    n_{\text{out}} = \left\lfloor \frac{n + 2p - d(k - 1) - 1}{s} \right\rfloor + 1 .
    $$

    Args:
        size: the input's length $n$ along the axis.
        kernel_size: the number of taps $k$.
        stride: the step $s$ between windows.
        padding: the zeros $p$ added at each end.
        dilation: the spacing $d$ between taps.

    Returns:
        The output length, at least 1.

    Raises:
        ValueError: if an argument is not an int in range (``size``, ``kernel_size``,
            ``stride``, ``dilation`` positive, ``padding`` nonnegative), or the dilated
            kernel does not fit in the padded input.

    Examples:
        >>> from coursekit.blocks.convolution import conv_output_size
        >>> conv_output_size(32, 5)  # LeNet's first layer: 32 - 5 + 1
        28
        >>> conv_output_size(227, 11, stride=4)  # AlexNet's first layer
        55
        >>> conv_output_size(8, 3, padding=1), conv_output_size(8, 3, dilation=2)
        (8, 4)
    """
    size, kernel_size = positive_int(size, "size"), positive_int(kernel_size, "kernel_size")
    stride, dilation = positive_int(stride, "stride"), positive_int(dilation, "dilation")
    padding = integer(padding, "padding", minimum=0)
    span = dilation * (kernel_size - 1) + 1
    if span > size + 2 * padding:
        raise ValueError(f"kernel_size {kernel_size} with dilation {dilation} spans {span} "
                         f"positions, more than the padded size {size} + 2 * {padding}")
    return _output_size(size, kernel_size, stride, padding, dilation)


def receptive_field(layers: Sequence[Sequence[int]]) -> int:
    r"""The receptive field of a stack of convolutions and poolings: input pixels per output.

    Layer $l$ with kernel $k_l$, stride $s_l$ and dilation $d_l$ widens the field by
    $d_l (k_l - 1)$ steps of the layer's input, and one such step is $\prod_{i < l} s_i$
    pixels of the network's input:

    $$
    r = 1 + \sum_{l=1}^{L} d_l (k_l - 1) \prod_{i=1}^{l-1} s_i .
    $$

    Args:
        layers: one ``(kernel_size, stride)`` or ``(kernel_size, stride, dilation)`` per
            layer, first layer first.

    Returns:
        The side $r$ of the square of input pixels that one output value depends on.

    Raises:
        ValueError: if ``layers`` is not a sequence of pairs or triples of positive ints.

    Examples:
        >>> from coursekit.blocks.convolution import receptive_field
        >>> receptive_field([(3, 1), (3, 1)])  # two 3x3 convolutions see as far as a 5x5
        5
        >>> receptive_field([(3, 1), (2, 2), (3, 1)])  # after a 2x2 pooling, steps double
        8
    """
    what = "a sequence of (kernel_size, stride) or (kernel_size, stride, dilation)"
    if isinstance(layers, (str, bytes)) or not isinstance(layers, Sequence):
        raise ValueError(f"layers must be {what}, got {type(layers).__name__}")
    field, step = 1, 1
    for layer in layers:
        sizes = integer_sequence(layer, "layers", what, min_length=2)
        if len(sizes) > 3:
            raise ValueError(f"layers must be {what}, got the entry {layer!r}")
        kernel, stride, dilation = (*sizes, 1)[:3]
        field += dilation * (kernel - 1) * step
        step *= stride
    return field


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups: int = 1) -> torch.Tensor:
    r"""2-D convolution (cross-correlation) by im2col and one matrix product.

    Equal to ``torch.nn.functional.conv2d``. With $g$ groups the $C$ input channels are split
    into $g$ blocks of $C/g$; output channel block $j$ sees input block $j$ only. For each
    group, the windows of the padded input become the columns of a matrix
    $X_{\text{col}}$ of shape $(\tfrac{C}{g} k_h k_w) \times (H_{\text{out}} W_{\text{out}})$,
    the kernels the rows of $W_{\text{row}}$, $\tfrac{O}{g} \times (\tfrac{C}{g} k_h k_w)$, and

    $$
    Y = W_{\text{row}} X_{\text{col}} + b .
    $$

    Args:
        x: images ``(N, C, H, W)``, or one image ``(C, H, W)``.
        weight: kernels ``(O, C / groups, kh, kw)``, of the dtype of ``x``.
        bias: ``(O,)``, or ``None`` for no bias.
        stride: an int or a pair ``(sh, sw)``, positive.
        padding: an int or a pair ``(ph, pw)`` of zeros added on both sides; or ``"valid"``
            (none), or ``"same"`` (an output of the input's size; stride 1 only; an odd total
            puts the extra zero at the bottom or right, as PyTorch does).
        dilation: an int or a pair ``(dh, dw)``, the spacing between kernel taps.
        groups: a positive int dividing both ``C`` and ``O``.

    Returns:
        ``(N, O, H_out, W_out)`` (``(O, H_out, W_out)`` for one image), with the sizes of
            `conv_output_size`.

    Raises:
        ValueError: if a tensor has the wrong shape or dtype, ``groups`` does not divide the
            channels, a setting is not a positive int or pair (padding: nonnegative), or the
            kernel does not fit in the padded input.

    Examples:
        >>> import torch
        >>> from coursekit.blocks.convolution import conv2d
        >>> x = torch.arange(16.0).reshape(1, 1, 4, 4)
        >>> conv2d(x, torch.ones(1, 1, 2, 2), stride=2)  # sums of 2x2 blocks
        tensor([[[[10., 18.],
                  [42., 50.]]]])
        >>> conv2d(x, torch.ones(1, 1, 3, 3), padding=1).shape
        torch.Size([1, 1, 4, 4])
    """
    x, unbatched = _images(x)
    weight = as_real_float(weight, "weight")
    groups = positive_int(groups, "groups")
    if weight.ndim != 4:
        raise ValueError("weight must be a 4-D tensor (O, C / groups, kh, kw), "
                         f"got shape {tuple(weight.shape)}")
    (n, c_in), (c_out, c_group, kh, kw) = x.shape[:2], weight.shape
    if weight.dtype != x.dtype:
        raise ValueError(f"weight must have the dtype of x, {x.dtype}, got {weight.dtype}")
    if c_in % groups or c_out % groups:
        raise ValueError(f"groups must divide the {c_in} input and {c_out} output channels, "
                         f"got {groups}")
    if c_group * groups != c_in:
        raise ValueError(f"weight must have C / groups = {c_in // groups} input channels in "
                         f"dim 1, got shape {tuple(weight.shape)}")
    if bias is not None:
        bias = as_real_float(bias, "bias")
        if tuple(bias.shape) != (c_out,) or bias.dtype != x.dtype:
            raise ValueError(f"bias must have shape ({c_out},) and dtype {x.dtype}, got shape "
                             f"{tuple(bias.shape)} and dtype {bias.dtype}")
    stride, dilation = _pair(stride, "stride", 1), _pair(dilation, "dilation", 1)
    pads = _pads(_padding(padding, stride), (kh, kw), dilation)
    _check_fits(x, (kh, kw), pads, dilation)
    taps = _taps(F.pad(x, pads).transpose(0, 1), (kh, kw), stride, dilation)  # (C, N, ., .)
    h_out, w_out = taps[0].shape[-2:]
    # im2col: a column of C/g * kh * kw values, channel by channel, per output position
    cols = torch.stack(taps, 1)  # (C, kh kw, N, H_out, W_out)
    cols = cols.reshape(groups, c_group * kh * kw, n * h_out * w_out)
    rows = weight.reshape(groups, c_out // groups, c_group * kh * kw)
    y = (rows @ cols).reshape(c_out, n, h_out, w_out)  # (g, O/g, N H_out W_out) -> (O, N, ...)
    y = y.transpose(0, 1).contiguous()  # (N, O, H_out, W_out)
    if bias is not None:
        y = y + bias.reshape(1, c_out, 1, 1)
    return y[0] if unbatched else y


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1) -> torch.Tensor:
    r"""2-D max-pooling: the largest value of each window, channel by channel.

    Equal to ``torch.nn.functional.max_pool2d``:
    $y_{n c i j} = \max_{u, v} x_{n,\, c,\, s_h i + d_h u - p_h,\; s_w j + d_w v - p_w}$,
    the padding being $-\infty$, so that it never wins.

    Args:
        x: images ``(N, C, H, W)``, or one image ``(C, H, W)``.
        kernel_size: an int or a pair ``(kh, kw)``, the window.
        stride: an int or a pair; ``None`` for ``kernel_size`` (windows that do not overlap).
        padding: an int or a pair, at most half the window (``kernel_size // 2``), as PyTorch
            allows.
        dilation: an int or a pair, the spacing between the window's taps.

    Returns:
        ``(N, C, H_out, W_out)`` (``(C, H_out, W_out)`` for one image), with the sizes of
            `conv_output_size`.

    Raises:
        ValueError: if ``x`` is not 3-D or 4-D, a setting is not a positive int or pair
            (padding: nonnegative, at most half the window), or the window does not fit.

    Examples:
        >>> import torch
        >>> from coursekit.blocks.convolution import max_pool2d
        >>> x = torch.tensor([[[1.0, 2.0, 5.0, 0.0],
        ...                    [3.0, 4.0, 1.0, 1.0]]])  # (C, H, W) = (1, 2, 4)
        >>> max_pool2d(x, 2)
        tensor([[[4., 5.]]])
    """
    x, unbatched = _images(x)
    kernel = _pair(kernel_size, "kernel_size", 1)
    stride = kernel if stride is None else _pair(stride, "stride", 1)
    ph, pw = _pair(padding, "padding", 0)
    dilation = _pair(dilation, "dilation", 1)
    if ph > kernel[0] // 2 or pw > kernel[1] // 2:
        raise ValueError(f"padding must be at most half of kernel_size {kernel}, "
                         f"got {(ph, pw)}")
    pads = (pw, pw, ph, ph)
    _check_fits(x, kernel, pads, dilation)
    taps = _taps(F.pad(x, pads, value=-math.inf), kernel, stride, dilation)
    y = torch.stack(taps).max(0).values  # (kh kw, N, C, H_out, W_out) -> (N, C, H_out, W_out)
    return y[0] if unbatched else y


class Conv2d(nn.Module):
    r"""A convolution layer on `conv2d`, initialized as ``torch.nn.Conv2d`` is.

    The weight ``(O, C / groups, kh, kw)`` and the bias ``(O,)`` start uniform in
    $\pm 1 / \sqrt{n_{\text{in}}}$, with fan-in $n_{\text{in}} = \tfrac{C}{g} k_h k_w$,
    drawn in PyTorch's order, so that under the same seed both layers start alike.

    Args:
        in_channels: ``C``.
        out_channels: ``O``.
        kernel_size: an int or a pair ``(kh, kw)``.
        stride: as in `conv2d`.
        padding: as in `conv2d`.
        dilation: as in `conv2d`.
        groups: as in `conv2d`.
        bias: whether the layer adds a learned bias.

    Raises:
        ValueError: if a size is not a positive int (or pair) or ``groups`` does not divide
            both channel counts; in ``forward``, as `conv2d`.

    Examples:
        >>> import torch
        >>> from coursekit.blocks.convolution import Conv2d
        >>> layer = Conv2d(3, 8, 3, padding=1)
        >>> tuple(layer.weight.shape), tuple(layer(torch.zeros(2, 3, 5, 5)).shape)
        ((8, 3, 3, 3), (2, 8, 5, 5))
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True) -> None:
        super().__init__()
        c_in = positive_int(in_channels, "in_channels")
        c_out = positive_int(out_channels, "out_channels")
        kh, kw = _pair(kernel_size, "kernel_size", 1)
        groups = positive_int(groups, "groups")
        if c_in % groups or c_out % groups:
            raise ValueError(f"groups must divide in_channels {c_in} and out_channels {c_out}, "
                             f"got {groups}")
        self.stride, self.dilation = _pair(stride, "stride", 1), _pair(dilation, "dilation", 1)
        self.padding, self.groups = _padding(padding, self.stride), groups
        self.weight = nn.Parameter(torch.empty(c_out, c_in // groups, kh, kw))
        self.bias = nn.Parameter(torch.empty(c_out)) if bias else None
        bound = 1 / math.sqrt(c_in // groups * kh * kw)
        with torch.no_grad():
            self.weight.uniform_(-bound, bound)
            if self.bias is not None:
                self.bias.uniform_(-bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                      self.groups)

    def extra_repr(self) -> str:
        o, c, kh, kw = self.weight.shape
        return (f"{c * self.groups}, {o}, kernel_size={(kh, kw)}, stride={self.stride}, "
                f"padding={self.padding}, dilation={self.dilation}, groups={self.groups}, "
                f"bias={self.bias is not None}")
