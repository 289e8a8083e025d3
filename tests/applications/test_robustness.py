"""Tests for coursekit.applications.robustness: FGSM and gradient saliency against hand-derived
gradients."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import softmax
from torch import nn

from coursekit.applications.robustness import fgsm, saliency


def linear_model(seed: int, d: int = 6, k: int = 4) -> nn.Linear:
    torch.manual_seed(seed)
    return nn.Linear(d, k).double()


def small_mlp(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(16, 12), nn.Tanh(), nn.Linear(12, 3)).double()


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), eps=st.floats(0.01, 1.0))
def test_fgsm_matches_sign_of_softmax_regression_gradient(seed, eps):
    model = linear_model(seed)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(5, 6))
    y = rng.integers(0, 4, size=5)
    W, b = model.weight.detach().numpy(), model.bias.detach().numpy()
    # d CE / dx = W^T (softmax(Wx + b) - onehot(y)) for a linear classifier
    p = softmax(x @ W.T + b, axis=1)
    grad = (p - np.eye(4)[y]) @ W
    expected = x + eps * np.sign(grad)
    got = fgsm(model, torch.tensor(x), torch.tensor(y), eps)
    np.testing.assert_allclose(got.numpy(), expected, rtol=0, atol=1e-12)


def test_fgsm_leaves_callers_tensor_untouched():
    model = small_mlp()
    x = torch.rand(8, 1, 4, 4, dtype=torch.float64)
    before = x.clone()
    adv = fgsm(model, x, torch.zeros(8, dtype=torch.long), eps=0.3)
    assert torch.equal(x, before)
    assert not x.requires_grad and x.grad is None
    assert adv.data_ptr() != x.data_ptr()


def test_fgsm_leaves_model_gradients_untouched():
    model = small_mlp()
    fgsm(model, torch.rand(4, 1, 4, 4, dtype=torch.float64), torch.tensor([0, 1, 2, 0]), eps=0.1)
    assert all(p.grad is None for p in model.parameters())


def test_fgsm_step_is_exactly_eps_in_max_norm():
    model = small_mlp()
    x = torch.rand(16, 1, 4, 4, dtype=torch.float64)
    adv = fgsm(model, x, torch.randint(0, 3, (16,)), eps=0.05)
    assert torch.allclose((adv - x).abs(), torch.full_like(x, 0.05))


def test_fgsm_raises_the_loss_for_small_eps():
    model = small_mlp(3)
    x = torch.rand(32, 1, 4, 4, dtype=torch.float64)
    y = torch.randint(0, 3, (32,), generator=torch.Generator().manual_seed(1))
    adv = fgsm(model, x, y, eps=1e-3)
    loss = nn.functional.cross_entropy(model(x), y, reduction="none")
    adv_loss = nn.functional.cross_entropy(model(adv), y, reduction="none")
    assert bool((adv_loss > loss).all())


def test_fgsm_with_zero_eps_returns_the_input():
    model = small_mlp()
    x = torch.rand(3, 1, 4, 4, dtype=torch.float64)
    assert torch.equal(fgsm(model, x, torch.tensor([0, 1, 2]), eps=0.0), x)


def test_fgsm_clamps_only_when_asked():
    model = small_mlp()
    x = torch.rand(64, 1, 4, 4, dtype=torch.float64)
    y = torch.randint(0, 3, (64,), generator=torch.Generator().manual_seed(0))
    free = fgsm(model, x, y, eps=0.5)
    assert free.min() < 0 and free.max() > 1
    clamped = fgsm(model, x, y, eps=0.5, clamp=(0.0, 1.0))
    assert clamped.min() >= 0 and clamped.max() <= 1
    assert torch.equal(clamped, free.clamp(0, 1))


def test_fgsm_keeps_dtype_and_accepts_numpy():
    model = small_mlp().float()
    x = np.random.default_rng(0).random((2, 1, 4, 4), dtype=np.float32)
    adv = fgsm(model, x, np.array([1, 2]), eps=0.1)
    assert adv.dtype == torch.float32 and adv.shape == (2, 1, 4, 4)


@pytest.mark.parametrize("x, y, eps, clamp, message", [
    (torch.rand(2, 16), torch.tensor([0, 1]), -0.1, None, "eps must be a nonnegative"),
    (torch.rand(2, 16), torch.tensor([0, 1, 2]), 0.1, None, "y must hold one class per input"),
    (torch.rand(2, 16), torch.tensor([0.0, 1.0]), 0.1, None, "y must hold integer"),
    (torch.rand(2, 16), torch.tensor([0, 7]), 0.1, None, r"y must be classes in \[0, 3\)"),
    (torch.ones(2, 16, dtype=torch.long), torch.tensor([0, 1]), 0.1, None, "x must be a floating"),
    (torch.rand(2, 16), torch.tensor([0, 1]), 0.1, (1.0, 0.0), "clamp must be a pair"),
])
def test_fgsm_rejects_bad_input(x, y, eps, clamp, message):
    model = small_mlp().float()
    with pytest.raises(ValueError, match=message):
        fgsm(model, x, y, eps, clamp=clamp)


def test_saliency_of_linear_model_is_abs_weight_row():
    model = linear_model(0)
    x = torch.randn(3, 6, dtype=torch.float64)
    target = torch.tensor([0, 2, 3])
    expected = model.weight.detach()[target].abs()
    assert torch.allclose(saliency(model, x, target), expected)


def test_saliency_matches_finite_differences():
    model = small_mlp(5)
    x = torch.rand(1, 1, 4, 4, dtype=torch.float64)
    h = 1e-6
    numeric = torch.zeros(16, dtype=torch.float64)
    for i in range(16):
        step = torch.zeros(16, dtype=torch.float64)
        step[i] = h
        up = model(x + step.view(1, 1, 4, 4))[0, 2]
        down = model(x - step.view(1, 1, 4, 4))[0, 2]
        numeric[i] = (up - down) / (2 * h)
    got = saliency(model, x, target=2)
    assert got.shape == x.shape
    assert torch.allclose(got.flatten(), numeric.abs(), atol=1e-8)


def test_saliency_int_target_applies_to_every_input():
    model = small_mlp()
    x = torch.rand(4, 1, 4, 4, dtype=torch.float64)
    assert torch.equal(saliency(model, x, 1), saliency(model, x, torch.ones(4, dtype=torch.long)))


def test_saliency_leaves_input_and_model_untouched():
    model = small_mlp()
    x = torch.rand(2, 1, 4, 4, dtype=torch.float64)
    before = x.clone()
    saliency(model, x, 0)
    assert torch.equal(x, before) and not x.requires_grad
    assert all(p.grad is None for p in model.parameters())


@pytest.mark.parametrize("target, message", [
    (torch.tensor([0]), "target must hold one class per input of x, 2 in all"),
    (3, r"target must be classes in \[0, 3\)"),
    (torch.tensor([0.5, 1.0]), "target must hold integer"),
])
def test_saliency_rejects_bad_target(target, message):
    with pytest.raises(ValueError, match=message):
        saliency(small_mlp(), torch.rand(2, 1, 4, 4, dtype=torch.float64), target)


def test_fgsm_converts_numpy_input_to_the_models_dtype():
    # NumPy's float64 used to reach a float32 model and fail in its first matrix product
    model = small_mlp().float()
    x = np.random.default_rng(1).random((2, 1, 4, 4))
    adv = fgsm(model, x, np.array([1, 2]), eps=0.1)
    expected = fgsm(model, torch.tensor(x, dtype=torch.float32), torch.tensor([1, 2]), eps=0.1)
    assert adv.dtype == torch.float32 and torch.equal(adv, expected)


def test_saliency_converts_numpy_input_to_the_models_dtype():
    model = small_mlp().float()
    x = np.random.default_rng(2).random((2, 1, 4, 4))
    got = saliency(model, x, 1)
    assert got.dtype == torch.float32
    assert torch.equal(got, saliency(model, torch.tensor(x, dtype=torch.float32), 1))


@pytest.mark.parametrize("eps", [float("nan"), float("inf")])
def test_fgsm_refuses_non_finite_eps(eps):
    with pytest.raises(ValueError, match="eps must be"):
        fgsm(small_mlp(), torch.rand(2, 16, dtype=torch.float64), torch.tensor([0, 1]), eps)


def test_saliency_refuses_a_bool_target():
    with pytest.raises(ValueError, match="target must"):
        saliency(small_mlp(), torch.rand(2, 16, dtype=torch.float64), True)
