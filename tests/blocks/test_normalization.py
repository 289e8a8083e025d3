"""Tests for coursekit.blocks.normalization against torch.nn.functional and torch.nn."""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from coursekit.blocks.normalization import BatchNorm, RMSNorm, batch_norm, layer_norm, rms_norm

seeds = st.integers(0, 2**31 - 1)
dtypes = st.sampled_from([torch.float32, torch.float64])
epsilons = st.sampled_from([0.0, 1e-6, 1e-5, 1e-3, 0.1])
positive_epsilons = st.sampled_from([1e-6, 1e-5, 1e-3, 0.1])  # F.batch_norm refuses 0


def close(a: torch.Tensor, b: torch.Tensor) -> bool:
    tol = {"atol": 1e-4, "rtol": 1e-4} if a.dtype == torch.float32 else {"atol": 1e-10}
    return a.dtype == b.dtype and a.shape == b.shape and torch.allclose(a, b, **tol)


def randn(seed: int, *shape: int, dtype=torch.float64) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


@settings(max_examples=15, deadline=None)
@given(seeds, st.lists(st.integers(1, 4), min_size=0, max_size=2), st.integers(2, 4),
       st.integers(1, 5), dtypes, st.booleans(), st.booleans(), positive_epsilons)
def test_batch_norm_matches_functional_batch_norm_in_training(
        seed, spatial, n, c, dtype, with_weight, with_bias, eps):
    x = randn(seed, n, c, *spatial, dtype=dtype) * 3 + 1
    weight = randn(seed + 1, c, dtype=dtype) if with_weight else None
    bias = randn(seed + 2, c, dtype=dtype) if with_bias else None
    expected = F.batch_norm(x, None, None, weight, bias, training=True, eps=eps)
    assert close(batch_norm(x, weight, bias, eps=eps), expected)


def test_batch_norm_gradients_match_functional_batch_norm():
    ours = [randn(s, *shape).requires_grad_() for s, shape in [(0, (4, 3, 5)), (1, (3,)),
                                                               (2, (3,))]]
    theirs = [t.detach().clone().requires_grad_() for t in ours]
    upstream = randn(3, 4, 3, 5)
    (batch_norm(*ours) * upstream).sum().backward()
    (F.batch_norm(theirs[0], None, None, theirs[1], theirs[2], training=True)
     * upstream).sum().backward()
    assert all(close(a.grad, b.grad) for a, b in zip(ours, theirs, strict=True))


@settings(max_examples=15, deadline=None)
@given(seeds, st.lists(st.integers(1, 4), min_size=0, max_size=2),
       st.lists(st.integers(1, 5), min_size=1, max_size=3), dtypes, st.booleans(),
       st.booleans(), epsilons, st.booleans())
def test_layer_norm_matches_functional_layer_norm(
        seed, batch, normalized, dtype, with_weight, with_bias, eps, as_int):
    x = randn(seed, *batch, *normalized, dtype=dtype) * 2 - 1
    weight = randn(seed + 1, *normalized, dtype=dtype) if with_weight else None
    bias = randn(seed + 2, *normalized, dtype=dtype) if with_bias else None
    shape = normalized[0] if as_int and len(normalized) == 1 else tuple(normalized)
    eps = max(eps, 1e-12)  # a single normalized entry has variance 0
    expected = F.layer_norm(x, tuple(normalized), weight, bias, eps)
    assert close(layer_norm(x, shape, weight, bias, eps), expected)


@settings(max_examples=15, deadline=None)
@given(seeds, st.lists(st.integers(1, 4), min_size=0, max_size=3), st.integers(1, 8), dtypes,
       st.booleans(), epsilons)
def test_rms_norm_matches_functional_rms_norm(seed, batch, d, dtype, with_weight, eps):
    x = randn(seed, *batch, d, dtype=dtype) + 0.5
    weight = randn(seed + 1, d, dtype=dtype) if with_weight else None
    assert close(rms_norm(x, weight, eps), F.rms_norm(x, (d,), weight, eps))


@settings(max_examples=10, deadline=None)
@given(seeds, st.integers(1, 8), dtypes, epsilons)
def test_rms_norm_module_matches_torch_rms_norm_module(seed, d, dtype, eps):
    ours, theirs = RMSNorm(d, eps=eps).to(dtype), torch.nn.RMSNorm(d, eps=eps, dtype=dtype)
    with torch.no_grad():
        ours.weight.copy_(randn(seed, d))
        theirs.weight.copy_(ours.weight)
    x = randn(seed + 1, 3, 2, d, dtype=dtype)
    assert close(ours(x), theirs(x))


def test_rms_norm_module_normalizes_half_precision_in_float32_and_returns_its_dtype():
    x = (randn(0, 4, 64) * 1000).to(torch.float16)  # x * x overflows float16's 65504
    norm = RMSNorm(64).to(torch.float16)
    with torch.no_grad():
        norm.weight.copy_(randn(1, 64))
    y = norm(x)
    expected = F.rms_norm(x.float(), (64,), eps=1e-6).to(torch.float16) * norm.weight
    assert y.dtype == torch.float16
    assert torch.allclose(y.float(), expected.float(), rtol=1e-2, atol=1e-2)


@settings(max_examples=8, deadline=None)
@given(seeds, st.sampled_from([(8, 3), (4, 3, 5), (2, 3, 4, 4)]),
       st.sampled_from([0.0, 0.1, 0.5, 1.0]), positive_epsilons)
def test_batch_norm_module_matches_torch_in_training_then_eval(seed, shape, momentum, eps):
    torch_class = torch.nn.BatchNorm2d if len(shape) == 4 else torch.nn.BatchNorm1d
    theirs = torch_class(3, eps=eps, momentum=momentum, dtype=torch.float64)
    ours = BatchNorm(3, eps=eps, momentum=momentum).double()
    with torch.no_grad():
        for module in (ours, theirs):
            module.weight.copy_(randn(seed, 3))
            module.bias.copy_(randn(seed + 1, 3))
    for step in range(3):
        x = randn(seed + 2 + step, *shape) * (step + 1) + step
        assert close(ours(x), theirs(x))
    assert close(ours.running_mean, theirs.running_mean)
    assert close(ours.running_var, theirs.running_var)
    ours.eval(), theirs.eval()
    x = randn(seed + 9, 1, *shape[1:])  # one example: only running statistics can do
    assert close(ours(x), theirs(x))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("name", ["batch_norm", "layer_norm", "rms_norm"])
def test_half_precision_input_is_normalized_in_float32_like_pytorch(name, dtype):
    x = (randn(0, 4, 6, 5) * 1000).to(dtype)  # x * x overflows float16
    c, d = randn(1, 6).to(dtype), randn(2, 5).to(dtype)
    ours, theirs = {
        "batch_norm": (lambda: batch_norm(x, c, c),
                       lambda: F.batch_norm(x, None, None, c, c, training=True)),
        "layer_norm": (lambda: layer_norm(x, 5, d, d), lambda: F.layer_norm(x, (5,), d, d)),
        "rms_norm": (lambda: rms_norm(x, d), lambda: F.rms_norm(x, (5,), d)),
    }[name]
    y, expected = ours(), theirs()
    tol = 8 * torch.finfo(dtype).eps  # a few units in the last place of the output
    assert y.dtype == dtype
    assert torch.allclose(y.float(), expected.float(), rtol=tol, atol=tol)
