"""Tests for coursekit.blocks.resnet: the residual block against the same block built from
torch.nn layers (torchvision's BasicBlock), and the small ResNet's shapes and training."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from coursekit.blocks.resnet import ResidualBlock, SmallResNet
from coursekit.training.data import synthetic_images


class TorchBasicBlock(nn.Module):
    """torchvision's ``BasicBlock`` from torch.nn layers, with or without the shortcut."""

    def __init__(self, c_in: int, c_out: int, stride: int, residual: bool):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.residual = residual
        self.downsample = None
        if residual and (stride != 1 or c_in != c_out):
            self.downsample = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False),
                                            nn.BatchNorm2d(c_out))

    def forward(self, x):
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        if self.residual:
            out = out + (x if self.downsample is None else self.downsample(x))
        return F.relu(out)


def copy_into(theirs: nn.Module, ours: ResidualBlock) -> None:
    """Our block's weights into torch's, in the order both register them."""
    with torch.no_grad():
        for a, b in zip(theirs.parameters(), ours.parameters(), strict=True):
            a.copy_(b)


@pytest.mark.parametrize("c_in, c_out, stride, residual", [
    (4, 4, 1, True), (4, 6, 2, True), (3, 5, 1, True), (4, 6, 2, False),
])
def test_residual_block_matches_torch_basic_block_in_train_and_eval_mode(c_in, c_out, stride,
                                                                         residual):
    torch.manual_seed(0)
    ours = ResidualBlock(c_in, c_out, stride=stride, residual=residual)
    theirs = TorchBasicBlock(c_in, c_out, stride, residual)
    copy_into(theirs, ours)
    x = torch.randn(5, c_in, 8, 8)
    assert torch.allclose(ours(x), theirs(x), atol=1e-5)  # train mode: batch statistics
    ours.eval(), theirs.eval()
    assert torch.allclose(ours(x), theirs(x), atol=1e-5)  # eval mode: running statistics


def test_identity_shortcut_adds_the_input_and_the_plain_block_does_not():
    torch.manual_seed(0)
    block = ResidualBlock(3).eval()
    x = torch.randn(2, 3, 5, 5)
    branch = block.norm2(block.conv2(torch.relu(block.norm1(block.conv1(x)))))
    assert torch.allclose(block(x), torch.relu(x + branch))
    block.residual = False
    assert torch.allclose(block(x), torch.relu(branch))


def test_plain_blocks_have_no_shortcut_parameters():
    plain, residual = ResidualBlock(4, 8, stride=2, residual=False), ResidualBlock(4, 8, 2)
    count = [sum(p.numel() for p in m.parameters()) for m in (plain, residual)]
    assert count[1] - count[0] == sum(p.numel() for p in residual.shortcut.parameters()) > 0


@pytest.mark.parametrize("widths, blocks", [((8, 16, 32), 1), ((4,), 3), ((4, 8), 2)])
def test_small_resnet_halves_the_resolution_at_each_stage(widths, blocks):
    model = SmallResNet(widths=widths, blocks_per_stage=blocks)
    shapes = []
    model.features.register_forward_hook(lambda m, i, out: shapes.append(tuple(out.shape)))
    assert model(torch.zeros(2, 1, 8, 8)).shape == (2, 10)
    side = 8 // 2 ** (len(widths) - 1)
    assert shapes == [(2, widths[-1], side, side)]
    blocks_found = [m for m in model.modules() if isinstance(m, ResidualBlock)]
    assert len(blocks_found) == len(widths) * blocks


def test_small_resnet_fits_a_few_images():
    """A learning test: 64 small synthetic images, 20 Adam steps; the loss falls from chance."""
    x, y = synthetic_images(64, (1, 8, 8), seed=0).tensors
    torch.manual_seed(0)
    model = SmallResNet(widths=(4, 8))
    opt = torch.optim.Adam(model.parameters(), lr=0.03)
    losses = []
    for _ in range(20):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[0] > 2.0 and losses[-1] < losses[0] / 2.5  # ln 10 = 2.3 at chance
