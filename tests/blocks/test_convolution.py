"""Tests for coursekit.blocks.convolution against torch.nn.functional.conv2d, max_pool2d and
torch.nn.Conv2d, and the receptive field against the input gradient of one output."""

import warnings

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from coursekit.blocks.convolution import (
    Conv2d,
    conv2d,
    conv_output_size,
    max_pool2d,
    receptive_field,
)

seeds = st.integers(0, 2**31 - 1)
small = st.integers(1, 3)


def randn(seed: int, *shape: int, dtype=torch.float64) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def int_or_pair(values):
    return st.one_of(values, st.tuples(values, values))


def pair(value) -> tuple[int, int]:
    return value if isinstance(value, tuple) else (value, value)


@st.composite
def conv_settings(draw):
    """A convolution that fits: groups, channels, kernel, stride, padding, dilation, size."""
    groups = draw(small)
    c_in, c_out = groups * draw(small), groups * draw(small)
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride, dilation = draw(int_or_pair(small)), draw(int_or_pair(small))
    padding = draw(int_or_pair(st.integers(0, 3)))
    spans = [d * (k - 1) + 1 for k, d in zip(kernel, pair(dilation), strict=True)]
    size = [draw(st.integers(max(1, s - 2 * p), s + 6))
            for s, p in zip(spans, pair(padding), strict=True)]
    return groups, c_in, c_out, kernel, stride, padding, dilation, size


@settings(max_examples=15, deadline=None)
@given(seeds, conv_settings(), st.integers(1, 3), st.booleans(), st.booleans())
def test_conv2d_matches_functional_conv2d_on_random_settings(seed, setting, n, with_bias,
                                                              unbatched):
    groups, c_in, c_out, kernel, stride, padding, dilation, (h, w) = setting
    x = randn(seed, c_in, h, w) if unbatched else randn(seed, n, c_in, h, w)
    weight = randn(seed + 1, c_out, c_in // groups, *kernel)
    bias = randn(seed + 2, c_out) if with_bias else None
    expected = F.conv2d(x, weight, bias, stride, padding, dilation, groups)
    got = conv2d(x, weight, bias, stride, padding, dilation, groups)
    assert got.shape == expected.shape and got.is_contiguous()
    assert torch.allclose(got, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("padding", ["same", "valid"])
@pytest.mark.parametrize("kernel, dilation", [((3, 3), 1), ((2, 4), 1), ((2, 3), (2, 1))])
def test_conv2d_string_padding_matches_functional_conv2d(padding, kernel, dilation):
    x, weight = randn(0, 2, 3, 7, 6), randn(1, 4, 3, *kernel)
    with warnings.catch_warnings():  # PyTorch warns that an even 'same' kernel copies x
        warnings.simplefilter("ignore", UserWarning)
        expected = F.conv2d(x, weight, padding=padding, dilation=dilation)
    got = conv2d(x, weight, padding=padding, dilation=dilation)
    assert got.shape == expected.shape and torch.allclose(got, expected, atol=1e-12)


def test_conv2d_gradients_match_functional_conv2d():
    ours = [randn(0, 2, 4, 7, 6), randn(1, 6, 2, 3, 2), randn(2, 6)]
    ours = [t.requires_grad_() for t in ours]
    theirs = [t.detach().clone().requires_grad_() for t in ours]
    settings_ = {"stride": (2, 1), "padding": (1, 2), "dilation": (1, 2), "groups": 2}
    upstream = randn(3, *F.conv2d(*theirs, **settings_).shape)
    (conv2d(*ours, **settings_) * upstream).sum().backward()
    (F.conv2d(*theirs, **settings_) * upstream).sum().backward()
    for a, b in zip(ours, theirs, strict=True):
        assert torch.allclose(a.grad, b.grad, atol=1e-12)


def test_conv2d_in_float32_matches_functional_conv2d_to_rounding():
    x, weight = randn(0, 8, 16, 9, 9, dtype=torch.float32), randn(1, 32, 16, 3, 3,
                                                                   dtype=torch.float32)
    got = conv2d(x, weight, padding=1)
    assert got.dtype == torch.float32
    assert torch.allclose(got, F.conv2d(x, weight, padding=1), rtol=1e-4, atol=1e-4)


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 12), st.integers(1, 5), small, st.integers(0, 3), small)
def test_conv_output_size_is_the_length_of_functional_conv2ds_output(size, kernel, stride,
                                                                      padding, dilation):
    x, weight = torch.zeros(1, 1, size, 1), torch.zeros(1, 1, kernel, 1)
    try:
        expected = F.conv2d(x, weight, stride=stride, padding=(padding, 0),
                            dilation=dilation).shape[2]
    except RuntimeError:  # the dilated kernel does not fit in the padded input
        with pytest.raises(ValueError, match="kernel_size"):
            conv_output_size(size, kernel, stride, padding, dilation)
    else:
        assert conv_output_size(size, kernel, stride, padding, dilation) == expected


@st.composite
def pool_settings(draw):
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = draw(st.one_of(st.none(), int_or_pair(small)))
    padding = (draw(st.integers(0, kernel[0] // 2)), draw(st.integers(0, kernel[1] // 2)))
    dilation = draw(int_or_pair(st.integers(1, 2)))
    spans = [d * (k - 1) + 1 for k, d in zip(kernel, pair(dilation), strict=True)]
    size = [draw(st.integers(max(1, s - 2 * p), s + 6)) for s, p in zip(spans, padding,
                                                                        strict=True)]
    return kernel, stride, padding, dilation, size


@settings(max_examples=15, deadline=None)
@given(seeds, pool_settings(), st.integers(1, 3), small, st.booleans())
def test_max_pool2d_matches_functional_max_pool2d(seed, setting, n, c, unbatched):
    kernel, stride, padding, dilation, (h, w) = setting
    x = randn(seed, c, h, w) if unbatched else randn(seed, n, c, h, w)
    expected = F.max_pool2d(x, kernel, stride, padding, dilation)
    got = max_pool2d(x, kernel, stride, padding, dilation)
    assert got.shape == expected.shape and torch.equal(got, expected)


def test_max_pool2d_gradient_reaches_the_maxima_as_functional_max_pool2d():
    ours = randn(0, 2, 3, 7, 8).requires_grad_()
    theirs = ours.detach().clone().requires_grad_()
    upstream = randn(1, 2, 3, 4, 4)
    (max_pool2d(ours, 3, 2, padding=1) * upstream).sum().backward()
    (F.max_pool2d(theirs, 3, 2, padding=1) * upstream).sum().backward()
    assert torch.equal(ours.grad, theirs.grad)


def test_max_pool2d_refuses_the_padding_that_functional_max_pool2d_refuses():
    x = randn(0, 1, 1, 9, 9)
    with pytest.raises(RuntimeError):
        F.max_pool2d(x, 3, padding=2)
    with pytest.raises(ValueError, match="padding"):
        max_pool2d(x, 3, padding=2)


layers = st.lists(st.tuples(st.integers(1, 4), small, st.integers(1, 2)), min_size=1,
                  max_size=4)


@settings(max_examples=15, deadline=None)
@given(layers)
def test_receptive_field_is_the_extent_of_the_input_gradient_of_one_output(stack):
    """Backpropagate from the last output of a stack of all-ones convolutions (every weight
    positive, so nothing cancels): the input pixels with a nonzero gradient are the field."""
    size = receptive_field(stack) + 8
    x = torch.zeros(1, 1, size, 1, dtype=torch.float64, requires_grad=True)
    h = x
    for kernel, stride, dilation in stack:
        h = F.conv2d(h, torch.ones(1, 1, kernel, 1, dtype=torch.float64), stride=(stride, 1),
                     dilation=(dilation, 1))
    h[0, 0, -1, 0].backward()
    touched = torch.nonzero(x.grad[0, 0, :, 0]).flatten()
    assert receptive_field(stack) == int(touched.max() - touched.min()) + 1


def test_receptive_field_takes_pairs_as_dilation_one():
    assert receptive_field([(3, 2), (5, 1)]) == receptive_field([(3, 2, 1), (5, 1, 1)])


def test_conv2d_layer_starts_as_torch_conv2d_under_the_same_seed_and_matches_it():
    torch.manual_seed(0)
    ours = Conv2d(6, 4, (3, 2), stride=2, padding=1, groups=2)
    torch.manual_seed(0)
    theirs = nn.Conv2d(6, 4, (3, 2), stride=2, padding=1, groups=2)
    assert torch.allclose(ours.weight, theirs.weight) and torch.allclose(ours.bias, theirs.bias)
    x = randn(1, 3, 6, 7, 7, dtype=torch.float32)
    assert torch.allclose(ours(x), theirs(x), atol=1e-5)


def test_conv2d_layer_without_bias_has_only_a_weight():
    layer = Conv2d(3, 5, 3, padding="same", bias=False)
    assert [name for name, _ in layer.named_parameters()] == ["weight"]
    assert layer(torch.zeros(2, 3, 6, 4)).shape == (2, 5, 6, 4)
