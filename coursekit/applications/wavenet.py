r"""WaveNet's core (van den Oord et al., 2016): a stack of dilated causal convolutions.

A causal convolution only looks at the present and the past, so a model of audio
$p(x) = \prod_t p(x_t \mid x_1, \dots, x_{t-1})$ can be trained on all time steps at once.
Dilating the $\ell$-th layer by $d_\ell$ (skipping $d_\ell - 1$ inputs between kernel taps)
makes the receptive field grow with the *sum* of the dilations, so doubling them layer by layer
covers thousands of samples with a few dozen layers. Samples are compressed by the mu-law and
quantized to 256 values, and the network predicts a softmax over them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from numpy.typing import ArrayLike
from torch import nn

from coursekit._validation import as_tensor, finite, integer, integer_sequence, positive_int

__all__ = ["CausalConv1d", "WaveNet", "mu_law_decode", "mu_law_encode", "receptive_field"]


def receptive_field(kernel_size: int, dilations: Sequence[int]) -> int:
    r"""Number of input steps one output of a stack of dilated causal convolutions sees.

    Layer $\ell$ with kernel size $k$ and dilation $d_\ell$ reaches $(k - 1) d_\ell$ steps
    further into the past than its input does, so

    $$
    R = 1 + (k - 1) \sum_{\ell=1}^L d_\ell
    $$

    Args:
        kernel_size: taps per convolution, at least 1 (WaveNet uses 2).
        dilations: the dilation of each layer, positive integers.

    Returns:
        The receptive field $R$ in time steps.

    Raises:
        ValueError: if ``kernel_size`` or a dilation is not a positive integer.

    Examples:
        >>> from coursekit.applications.wavenet import receptive_field
        >>> receptive_field(2, [1, 2, 4, 8])
        16
        >>> receptive_field(2, [2**i for i in range(10)] * 3)  # the paper's 30 layers
        3070
    """
    kernel_size = positive_int(kernel_size, "kernel_size")
    dilations = integer_sequence(dilations, "dilations", "a sequence of positive integers")
    return 1 + (kernel_size - 1) * sum(dilations)


class CausalConv1d(nn.Conv1d):
    """A 1-D convolution whose output at time ``t`` depends only on inputs at times ``<= t``.

    The input is padded on the left by ``(kernel_size - 1) * dilation`` zeros, so the output has
    the input's length and is shifted to be causal.

    Args:
        in_channels: channels of the input.
        out_channels: channels of the output.
        kernel_size: taps of the filter.
        dilation: steps between taps.

    Raises:
        ValueError: naming the argument, if one is not a positive integer.

    Examples:
        >>> import torch
        >>> from coursekit.applications.wavenet import CausalConv1d
        >>> conv = CausalConv1d(1, 1, kernel_size=2, dilation=4)
        >>> tuple(conv(torch.zeros(3, 1, 10)).shape)
        (3, 1, 10)
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, dilation: int = 1):
        in_channels = positive_int(in_channels, "in_channels")
        out_channels = positive_int(out_channels, "out_channels")
        kernel_size = positive_int(kernel_size, "kernel_size")
        dilation = positive_int(dilation, "dilation")
        super().__init__(in_channels, out_channels, kernel_size, dilation=dilation)
        self.left_pad = (kernel_size - 1) * dilation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(F.pad(x, (self.left_pad, 0)))  # (B, C, T)


class _ResidualBlock(nn.Module):
    r"""Gated activation $\tanh(W_f * x) \odot \sigma(W_g * x)$, then 1x1 convs to the residual
    and skip paths."""

    def __init__(self, channels: int, skip_channels: int, kernel_size: int, dilation: int):
        super().__init__()
        self.conv = CausalConv1d(channels, 2 * channels, kernel_size, dilation)  # filter and gate
        self.residual = nn.Conv1d(channels, channels, 1)
        self.skip = nn.Conv1d(channels, skip_channels, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        filt, gate = self.conv(x).chunk(2, dim=1)  # each (B, C, T)
        z = torch.tanh(filt) * torch.sigmoid(gate)
        return x + self.residual(z), self.skip(z)


class WaveNet(nn.Module):
    """A small WaveNet: 1x1 input conv, gated residual blocks of dilated causal convs, skip sum.

    Args:
        in_channels: channels of the input signal (1 for raw audio, 256 for one-hot mu-law).
        channels: residual channels.
        out_channels: outputs per time step (256 logits for mu-law audio).
        kernel_size: taps of each dilated convolution.
        dilations: dilation per block; the paper repeats 1, 2, 4, ..., 512 three times.
        skip_channels: channels of the skip connections.

    Raises:
        ValueError: naming the argument, if a size or a dilation is not a positive integer or
            ``dilations`` is empty.

    Examples:
        >>> import torch
        >>> from coursekit.applications.wavenet import WaveNet
        >>> net = WaveNet(dilations=(1, 2, 4, 8))
        >>> net.receptive_field
        16
        >>> tuple(net(torch.zeros(2, 1, 100)).shape)  # (B, out_channels, T)
        (2, 256, 100)
    """

    def __init__(
        self,
        in_channels: int = 1,
        channels: int = 16,
        out_channels: int = 256,
        kernel_size: int = 2,
        dilations: Sequence[int] = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
        skip_channels: int = 32,
    ):
        super().__init__()
        dilations = integer_sequence(
            dilations, "dilations", "a sequence of at least one positive integer", min_length=1
        )
        in_channels = positive_int(in_channels, "in_channels")
        channels = positive_int(channels, "channels")
        out_channels = positive_int(out_channels, "out_channels")
        skip_channels = positive_int(skip_channels, "skip_channels")
        self.receptive_field = receptive_field(kernel_size, dilations)  # checks kernel_size
        self.input = nn.Conv1d(in_channels, channels, 1)
        self.blocks = nn.ModuleList(
            _ResidualBlock(channels, skip_channels, kernel_size, d) for d in dilations
        )
        self.output = nn.Sequential(
            nn.ReLU(),
            nn.Conv1d(skip_channels, skip_channels, 1),
            nn.ReLU(),
            nn.Conv1d(skip_channels, out_channels, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.input(x)  # (B, C, T)
        skips = 0
        for block in self.blocks:
            x, skip = block(x)
            skips = skips + skip  # (B, skip_channels, T)
        return self.output(skips)  # (B, out_channels, T): logits for x_{t+1} given x_{<=t}


def mu_law_encode(x: torch.Tensor | ArrayLike, quantization_channels: int = 256) -> torch.Tensor:
    r"""Compress a signal in $[-1, 1]$ by the mu-law and quantize it to integers.

    $$
    f(x) = \operatorname{sign}(x) \frac{\log(1 + \mu |x|)}{\log(1 + \mu)}, \quad \mu = 255
    $$

    then $f(x) \in [-1, 1]$ is mapped to $0, \dots, \mu$. Quiet samples get finer steps than
    loud ones, which suits speech.

    Args:
        x: samples in $[-1, 1]$ (finite values outside are clipped), floating point.
        quantization_channels: number of levels, $\mu + 1$.

    Returns:
        int64 codes in ``[0, quantization_channels)``, shape of ``x``.

    Raises:
        ValueError: if ``x`` is not floating point or holds nan or inf, or
            ``quantization_channels`` is not an integer of at least 2.

    Examples:
        >>> import torch
        >>> from coursekit.applications.wavenet import mu_law_encode
        >>> mu_law_encode(torch.tensor([-1.0, -0.01, 0.0, 0.01, 1.0])).tolist()
        [0, 98, 128, 157, 255]
    """
    x = as_tensor(x, "x")
    if not x.is_floating_point():
        raise ValueError(f"x must be floating point in [-1, 1], got dtype {x.dtype}")
    finite(x, "x")  # a nan would come back as the code -2**63
    mu = integer(quantization_channels, "quantization_channels", minimum=2) - 1
    x = x.clamp(-1.0, 1.0)
    f = torch.sign(x) * torch.log1p(mu * x.abs()) / math.log1p(mu)
    return ((f + 1) / 2 * mu + 0.5).floor().long()


def mu_law_decode(
    codes: torch.Tensor | ArrayLike, quantization_channels: int = 256
) -> torch.Tensor:
    r"""Map mu-law codes back to samples in $[-1, 1]$: the inverse of `mu_law_encode`.

    $$
    f^{-1}(y) = \operatorname{sign}(y) \frac{(1 + \mu)^{|y|} - 1}{\mu}
    $$

    Args:
        codes: integers in ``[0, quantization_channels)``.
        quantization_channels: number of levels, $\mu + 1$.

    Returns:
        float32 samples, shape of ``codes``.

    Raises:
        ValueError: if a code is not an integer in ``[0, quantization_channels)``, or
            ``quantization_channels`` is not an integer of at least 2.

    Examples:
        >>> import torch
        >>> from coursekit.applications.wavenet import mu_law_decode, mu_law_encode
        >>> x = torch.linspace(-1, 1, 101)
        >>> bool((mu_law_decode(mu_law_encode(x)) - x).abs().max() < 0.03)
        True
    """
    codes = as_tensor(codes, "codes")
    mu = integer(quantization_channels, "quantization_channels", minimum=2) - 1
    integral = not (codes.is_floating_point() or codes.is_complex() or codes.dtype == torch.bool)
    if not integral or codes.numel() and (codes.min() < 0 or codes.max() > mu):
        raise ValueError(f"codes must be integers in [0, {mu}], got {codes.dtype} values")
    y = codes.float() / mu * 2 - 1
    return torch.sign(y) * ((1 + mu) ** y.abs() - 1) / mu
