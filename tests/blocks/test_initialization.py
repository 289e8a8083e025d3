"""Tests for coursekit.blocks.initialization against torch.nn.init and torch.nn layers."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from coursekit.blocks.initialization import (
    activation_scales,
    fan_in_and_fan_out,
    kaiming_normal_,
    kaiming_std,
    kaiming_uniform_,
    xavier_normal_,
    xavier_std,
    xavier_uniform_,
)
from coursekit.blocks.normalization import batch_norm

seeds = st.integers(0, 2**31 - 1)
weight_shapes = st.lists(st.integers(1, 6), min_size=2, max_size=5)
gains = st.sampled_from([1.0, math.sqrt(2.0), 5 / 3, 0.5])


def generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@settings(max_examples=15, deadline=None)
@given(weight_shapes)
def test_fans_match_torch_calculate_fan_in_and_fan_out(shape):
    w = torch.empty(shape)
    assert fan_in_and_fan_out(w) == torch.nn.init._calculate_fan_in_and_fan_out(w)


@settings(max_examples=15, deadline=None)
@given(seeds, weight_shapes, gains, st.sampled_from(["fan_in", "fan_out"]))
def test_initializers_draw_what_torch_nn_init_draws_from_the_same_generator(
        seed, shape, gain, mode):
    pairs = [
        (lambda w, g: xavier_normal_(w, gain, g),
         lambda w, g: torch.nn.init.xavier_normal_(w, gain, generator=g)),
        (lambda w, g: xavier_uniform_(w, gain, g),
         lambda w, g: torch.nn.init.xavier_uniform_(w, gain, generator=g)),
        (lambda w, g: kaiming_normal_(w, mode=mode, generator=g),
         lambda w, g: torch.nn.init.kaiming_normal_(w, mode=mode, generator=g)),
        (lambda w, g: kaiming_uniform_(w, mode=mode, generator=g),
         lambda w, g: torch.nn.init.kaiming_uniform_(w, mode=mode, generator=g)),
    ]
    for ours, theirs in pairs:
        expected = theirs(torch.empty(shape), generator(seed))
        assert torch.equal(ours(torch.empty(shape), generator(seed)), expected)


@pytest.mark.parametrize("shape", [(400, 300), (128, 64, 3, 3)])
@pytest.mark.parametrize("gain", [1.0, 5 / 3])
def test_xavier_std_is_the_std_of_torch_xavier_normal_on_a_large_tensor(shape, gain):
    w = torch.nn.init.xavier_normal_(torch.empty(shape), gain, generator=generator(0))
    fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(w)
    assert w.std().item() == pytest.approx(xavier_std(fan_in, fan_out, gain), rel=0.02)


@pytest.mark.parametrize("shape", [(400, 300), (128, 64, 3, 3)])
@pytest.mark.parametrize("nonlinearity, param", [("relu", None), ("leaky_relu", 0.2),
                                                 ("linear", None)])
@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
def test_kaiming_std_is_the_std_of_torch_kaiming_normal_on_a_large_tensor(
        shape, nonlinearity, param, mode):
    w = torch.nn.init.kaiming_normal_(torch.empty(shape), a=param or 0, mode=mode,
                                      nonlinearity=nonlinearity, generator=generator(0))
    fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(w)
    gain = torch.nn.init.calculate_gain(nonlinearity, param)
    expected = kaiming_std(fan_in if mode == "fan_in" else fan_out, gain)
    assert w.std().item() == pytest.approx(expected, rel=0.02)


def test_torch_linear_default_is_kaiming_uniform_with_gain_root_one_third():
    layer = torch.nn.Linear(300, 200)
    assert layer.weight.abs().max().item() <= 1 / math.sqrt(300)
    assert layer.weight.std().item() == pytest.approx(kaiming_std(300, 3**-0.5), rel=0.02)


def test_a_linear_layer_multiplies_the_variance_by_fan_in_times_weight_variance():
    x = torch.randn(4096, 256, generator=generator(1)) * 3
    w = torch.randn(128, 256, generator=generator(2)) * 0.1
    y = torch.nn.functional.linear(x, w)
    assert y.var().item() == pytest.approx(256 * w.var().item() * x.var().item(), rel=0.05)


@pytest.mark.parametrize("activation, module", [(torch.tanh, torch.nn.Tanh),
                                                (torch.relu, torch.nn.ReLU)])
def test_activation_scales_are_the_stds_of_a_torch_sequential_with_the_same_weights(
        activation, module):
    x, std, depth = torch.randn(32, 16, generator=generator(3)), 0.3, 6
    g = generator(4)
    layers = []
    for _ in range(depth):
        linear = torch.nn.Linear(16, 16, bias=False)
        with torch.no_grad():
            linear.weight.copy_(torch.randn(16, 16, generator=g) * std)
        layers += [linear, module()]
    net, expected = torch.nn.Sequential(*layers), []
    h = x
    with torch.no_grad():
        for i in range(0, len(net), 2):
            h = net[i + 1](net[i](h))
            expected.append(h.std())
    scales = activation_scales(x, depth, std, activation, generator=generator(4))
    assert torch.allclose(scales, torch.stack(expected))


def test_relu_keeps_its_scale_with_kaiming_and_loses_it_with_xavier():
    x = torch.randn(128, 128, generator=generator(5))
    kaiming = activation_scales(x, 30, kaiming_std(128), torch.relu, generator=generator(6))
    xavier = activation_scales(x, 30, xavier_std(128, 128), torch.relu, generator=generator(6))
    assert 0.1 < kaiming[-1] / kaiming[0] < 10
    assert xavier[-1] / xavier[0] < 1e-3


def test_batch_norm_between_layers_holds_the_scale_of_a_too_small_initialization():
    x = torch.randn(128, 64, generator=generator(7))
    small = 0.1 * kaiming_std(64)
    plain = activation_scales(x, 20, small, torch.relu, generator=generator(8))
    normalized = activation_scales(x, 20, small, torch.relu, normalize=batch_norm,
                                   generator=generator(8))
    assert plain[-1] < 1e-10
    assert 0.5 < normalized[-1] < 1
