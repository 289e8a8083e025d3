"""Tests for coursekit.applications.wavenet: the receptive field formula against the gradient,
causality, the causal convolution against a NumPy loop, and the mu-law against its formula."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from coursekit.applications.wavenet import (
    CausalConv1d,
    WaveNet,
    mu_law_decode,
    mu_law_encode,
    receptive_field,
)


def inputs_that_reach(net: torch.nn.Module, length: int, t: int) -> list[int]:
    """Input positions with a non-zero gradient of the output at time t, over a few inputs
    (so that one input's dead ReLUs in the output head cannot hide a path)."""
    x = torch.randn(4, 1, length, generator=torch.Generator().manual_seed(0), requires_grad=True)
    net(x)[:, :, t].sum().backward()
    return torch.nonzero(x.grad.abs().sum(dim=(0, 1))).flatten().tolist()


def small_wavenet(kernel_size: int, dilations) -> WaveNet:
    torch.manual_seed(0)
    return WaveNet(
        channels=8, skip_channels=16, out_channels=3, kernel_size=kernel_size, dilations=dilations
    )


@pytest.mark.parametrize(
    ("kernel_size", "dilations"),
    [
        (2, (1, 2, 4, 8)),
        (3, (1, 2, 4)),
        (2, (1, 1, 1)),
        (2, (1, 2, 4, 1, 2, 4)),
        (4, (3,)),
        (3, (2, 5)),
    ],
)
def test_receptive_field_is_the_span_of_nonzero_input_gradients(kernel_size, dilations):
    t, r = 60, receptive_field(kernel_size, dilations)
    reached = inputs_that_reach(small_wavenet(kernel_size, dilations), 80, t)
    assert (reached[0], reached[-1]) == (t - r + 1, t)


@pytest.mark.parametrize("layers", [1, 4, 6])
def test_doubling_dilations_with_kernel_two_reach_every_step_in_the_field(layers):
    dilations = [2**i for i in range(layers)]
    t, r = 70, receptive_field(2, dilations)
    assert inputs_that_reach(small_wavenet(2, dilations), 80, t) == list(range(t - r + 1, t + 1))


def test_one_dilated_layer_leaves_holes_in_its_field():
    assert inputs_that_reach(small_wavenet(4, (3,)), 40, 30) == [21, 24, 27, 30]


def test_wavenet_output_ignores_the_future():
    torch.manual_seed(1)
    net = WaveNet(channels=4, skip_channels=4, out_channels=3, dilations=(1, 2, 4))
    x = torch.randn(2, 1, 30)
    changed = x.clone()
    changed[..., 20:] = torch.randn(2, 1, 10)
    with torch.no_grad():
        assert torch.equal(net(x)[..., :20], net(changed)[..., :20])


@pytest.mark.parametrize(("kernel_size", "dilation"), [(1, 1), (2, 1), (2, 3), (3, 2)])
def test_causal_conv_matches_numpy_loop(kernel_size, dilation):
    torch.manual_seed(2)
    conv = CausalConv1d(2, 3, kernel_size, dilation).double()
    x = torch.randn(1, 2, 12, dtype=torch.float64)
    w, b, xs = conv.weight.detach().numpy(), conv.bias.detach().numpy(), x[0].numpy()
    expected = np.tile(b[:, None], (1, 12))
    for t in range(12):
        for j in range(kernel_size):
            src = t - (kernel_size - 1 - j) * dilation  # the last tap sits on time t
            if src >= 0:
                expected[:, t] += w[:, :, j] @ xs[:, src]
    np.testing.assert_allclose(conv(x)[0].detach().numpy(), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    ("kernel_size", "dilations", "message"),
    [(0, [1], "kernel_size"), (2, [1, 0], "dilations"), (2, [1.5], "dilations")],
)
def test_receptive_field_rejects_bad_input(kernel_size, dilations, message):
    with pytest.raises(ValueError, match=message):
        receptive_field(kernel_size, dilations)


def test_mu_law_uses_all_256_codes_symmetrically_and_in_order():
    # independent of the formula: -1, 0 and 1 land on the first, middle and last of 256 codes,
    # louder samples never get lower codes, and x and -x sit symmetrically about the middle
    assert mu_law_encode(torch.tensor([-1.0, 0.0, 1.0])).tolist() == [0, 128, 255]
    x = torch.linspace(0, 1, 200_001, dtype=torch.float64)  # finer than the finest code step
    codes = mu_law_encode(torch.cat([-x.flip(0), x]))
    assert bool((codes.diff() >= 0).all()) and codes.unique().numel() == 256
    pairs = mu_law_encode(x) + mu_law_encode(-x)  # 128 - a and 128 + a, each rounded down
    assert bool(((pairs == 255) | (pairs == 256)).all())


def test_every_code_decodes_to_a_value_that_encodes_back_to_it():
    codes = torch.arange(256)
    assert torch.equal(mu_law_encode(mu_law_decode(codes)), codes)


@settings(max_examples=50, deadline=None)
@given(st.floats(-1, 1))
def test_mu_law_round_trip_error_is_within_half_a_step(x):
    # one code step is 2/255 in the compressed domain; the expansion's slope is at most
    # log(256)*256/255
    bound = np.log(256) * 256 / 255 * (1 / 255) + 1e-6
    round_trip = mu_law_decode(mu_law_encode(torch.tensor([x], dtype=torch.float64))).item()
    assert abs(round_trip - x) <= bound


def test_mu_law_gives_quiet_samples_finer_steps():
    codes = mu_law_encode(torch.tensor([0.0, 0.01, 0.9, 0.91]))
    assert codes[1] - codes[0] > codes[3] - codes[2]


def test_mu_law_rejects_bad_input():
    with pytest.raises(ValueError, match="x must be floating point"):
        mu_law_encode(torch.tensor([1, 2]))
    with pytest.raises(ValueError, match="codes must be integers"):
        mu_law_decode(torch.tensor([0, 256]))


def test_mu_law_encode_refuses_nan_samples():
    # a nan used to come back as the code -9223372036854775808
    with pytest.raises(ValueError, match="x must be finite"):
        mu_law_encode(torch.tensor([0.5, float("nan")]))


@pytest.mark.parametrize("levels", [1, 0, True, 2.5])
def test_mu_law_refuses_fewer_than_two_whole_levels(levels):
    # one level used to decode every code to nan (a division by mu = 0)
    with pytest.raises(ValueError, match="quantization_channels must be"):
        mu_law_decode(torch.tensor([0]), levels)
    with pytest.raises(ValueError, match="quantization_channels must be"):
        mu_law_encode(torch.tensor([0.0]), levels)


def test_causal_conv_refuses_zero_dilation():
    with pytest.raises(ValueError, match="dilation must be a positive integer"):
        CausalConv1d(1, 1, kernel_size=2, dilation=0)


def test_wavenet_refuses_an_empty_stack():
    # no blocks used to fail only in forward, inside the output head
    with pytest.raises(ValueError, match="dilations must be a sequence of at least one"):
        WaveNet(dilations=())
