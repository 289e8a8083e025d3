r"""The residual block of He et al. (2016) and a small ResNet for the 8x8 digits.

The chapter "Convolution" (``docs/blocks/convolution.md``) teaches what this module implements,
from He, Zhang, Ren and Sun (2016, "Deep residual learning for image recognition"). A residual
block adds its input to what its layers compute, $y = \operatorname{relu}(x + F(x))$, so that
the gradient reaching $x$ is the gradient at $y$ through the identity plus what $F$ adds:
a deep stack of blocks passes its gradient down even when each $F$ barely does. The layers are
this part's own: `coursekit.blocks.convolution.Conv2d` and
`coursekit.blocks.normalization.BatchNorm`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from coursekit._validation import boolean, integer_sequence, positive_int
from coursekit.blocks.convolution import Conv2d
from coursekit.blocks.normalization import BatchNorm

__all__ = ["ResidualBlock", "SmallResNet"]


class ResidualBlock(nn.Module):
    r"""ResNet's basic block: two 3x3 convolutions with batch norm, plus a shortcut.

    $$
    y = \operatorname{relu}\big(S(x) + \operatorname{BN}(W_2 *
        \operatorname{relu}(\operatorname{BN}(W_1 * x)))\big),
    $$

    where the shortcut $S$ is the identity when the shape is kept, and a 1x1 convolution with
    the block's stride followed by batch norm (the paper's projection shortcut) when the block
    changes the number of channels or the resolution. With ``residual=False`` the block has no
    shortcut and computes $y = \operatorname{relu}(\operatorname{BN}(W_2 * \dots))$ alone: the
    "plain" network the paper compares with.

    Args:
        in_channels: channels of the input.
        out_channels: channels of the output; ``None`` for ``in_channels``.
        stride: stride of the first convolution (2 halves the resolution).
        residual: whether to add the shortcut.

    Raises:
        ValueError: if a channel count or the stride is not a positive int, or ``residual``
            is not a bool.

    Examples:
        >>> import torch
        >>> from coursekit.blocks.resnet import ResidualBlock
        >>> block = ResidualBlock(16, 32, stride=2)
        >>> tuple(block(torch.randn(4, 16, 8, 8)).shape)
        (4, 32, 4, 4)
        >>> ResidualBlock(16).shortcut
        Identity()
    """

    def __init__(self, in_channels: int, out_channels: int | None = None, stride: int = 1,
                 residual: bool = True) -> None:
        super().__init__()
        c_in = positive_int(in_channels, "in_channels")
        c_out = c_in if out_channels is None else positive_int(out_channels, "out_channels")
        stride = positive_int(stride, "stride")
        self.residual = boolean(residual, "residual")
        # no conv bias: the batch norm after each convolution adds one
        self.conv1 = Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.norm1 = BatchNorm(c_out)
        self.conv2 = Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.norm2 = BatchNorm(c_out)
        self.shortcut: nn.Module = nn.Identity()
        if self.residual and (stride != 1 or c_in != c_out):
            self.shortcut = nn.Sequential(Conv2d(c_in, c_out, 1, stride=stride, bias=False),
                                          BatchNorm(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.norm2(self.conv2(torch.relu(self.norm1(self.conv1(x)))))
        return torch.relu(y + self.shortcut(x) if self.residual else y)


class SmallResNet(nn.Module):
    r"""A small ResNet for the 8x8 digits: a 3x3 stem, residual stages, global average pooling.

    The stem, a 3x3 convolution with batch norm and ReLU, maps the input to ``widths[0]``
    channels; stage $i$ is ``blocks_per_stage`` residual blocks of ``widths[i]`` channels, the
    first block of every stage but the first with stride 2, which halves the resolution while
    the channels double ($8 \to 4 \to 2$ pixels with the default widths). Global average
    pooling and one linear layer give the scores: as in the paper, depth comes from more
    blocks, and the only fully connected layer is the last.

    Args:
        num_classes: number of outputs.
        widths: channels of each stage.
        blocks_per_stage: residual blocks in each stage.
        in_channels: channels of the input images.
        residual: ``False`` for the plain network of the same layers.

    Raises:
        ValueError: if a count is not a positive int, ``widths`` is not a non-empty sequence of
            positive ints, or ``residual`` is not a bool.

    Examples:
        >>> import torch
        >>> from coursekit.blocks.resnet import SmallResNet
        >>> model = SmallResNet()
        >>> tuple(model(torch.zeros(4, 1, 8, 8)).shape)
        (4, 10)
        >>> sum(p.numel() for p in model.parameters())
        19810
    """

    def __init__(self, num_classes: int = 10, widths: Sequence[int] = (8, 16, 32),
                 blocks_per_stage: int = 1, in_channels: int = 1,
                 residual: bool = True) -> None:
        super().__init__()
        num_classes = positive_int(num_classes, "num_classes")
        widths = integer_sequence(widths, "widths", "a non-empty sequence of positive ints",
                                  min_length=1)
        blocks_per_stage = positive_int(blocks_per_stage, "blocks_per_stage")
        in_channels = positive_int(in_channels, "in_channels")
        residual = boolean(residual, "residual")
        layers: list[nn.Module] = [Conv2d(in_channels, widths[0], 3, padding=1, bias=False),
                                   BatchNorm(widths[0]), nn.ReLU()]
        c_in = widths[0]
        for stage, width in enumerate(widths):
            for i in range(blocks_per_stage):
                stride = 2 if stage > 0 and i == 0 else 1
                layers.append(ResidualBlock(c_in, width, stride=stride, residual=residual))
                c_in = width
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(c_in, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).mean((2, 3)))  # global average pooling: (B, C)
