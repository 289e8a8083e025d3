"""Tests for coursekit.blocks.regularization against torch.nn.functional, torch.nn and NumPy."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from coursekit.blocks.regularization import Dropout, bias_variance, dropout, random_shift

seeds = st.integers(0, 2**31 - 1)
dtypes = st.sampled_from([torch.float32, torch.float64])
probabilities = st.sampled_from([0.1, 0.25, 0.5, 0.8])


def randn(seed: int, *shape: int, dtype=torch.float64) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


@settings(max_examples=15, deadline=None)
@given(seeds, st.lists(st.integers(1, 5), min_size=1, max_size=3), probabilities, dtypes)
def test_dropout_survivors_are_scaled_as_functional_dropout_scales_them(seed, shape, p, dtype):
    x = randn(seed, *shape, dtype=dtype) + 10.0  # no zeros in x: a zero output means dropped
    torch.manual_seed(seed)
    theirs = F.dropout(x, p, training=True)
    kept = theirs != 0
    ours = dropout(x, p, generator=torch.Generator().manual_seed(seed))
    assert ours.dtype == x.dtype and ours.shape == x.shape
    # on the entries each one keeps, both give exactly x / (1 - p)
    assert torch.equal(ours[ours != 0], (x * (1.0 / (1 - p)))[ours != 0])
    assert torch.equal(theirs[kept], (x * (1.0 / (1 - p)))[kept])


def test_dropout_mask_is_the_generators_uniforms_at_least_p():
    x = torch.rand(6, 7) + 1.0
    p = 0.3
    mask = torch.rand(x.shape, generator=torch.Generator().manual_seed(5)) >= p
    ours = dropout(x, p, generator=torch.Generator().manual_seed(5))
    assert torch.equal(ours != 0, mask)
    assert torch.equal(dropout(x, p, generator=torch.Generator().manual_seed(5)), ours)


@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
def test_dropout_keeps_the_fraction_and_the_mean_of_functional_dropout(p):
    x = torch.ones(50_000)
    torch.manual_seed(0)
    theirs = F.dropout(x, p, training=True)
    ours = dropout(x, p, generator=torch.Generator().manual_seed(1))
    # binomial: the kept fraction has std sqrt(p (1 - p) / n) < 0.0023; 6 sigma margins
    assert abs((ours != 0).float().mean().item() - (theirs != 0).float().mean().item()) < 0.02
    assert abs((ours != 0).float().mean().item() - (1 - p)) < 0.014
    assert abs(ours.mean().item() - 1.0) < 0.014 / (1 - p)


@pytest.mark.parametrize("p", [0.0, 0.4, 1.0])
def test_dropout_in_eval_mode_and_at_the_ends_of_p_matches_functional_dropout(p):
    x = randn(3, 4, 5)
    assert torch.equal(dropout(x, p, training=False), F.dropout(x, p, training=False))
    if p in (0.0, 1.0):
        assert torch.equal(dropout(x, p), F.dropout(x, p, training=True))


def test_dropout_gradient_is_the_mask_over_one_minus_p():
    x = torch.rand(50, dtype=torch.float64).requires_grad_()
    y = dropout(x, 0.4, generator=torch.Generator().manual_seed(2))
    y.sum().backward()
    assert torch.equal(x.grad, (y != 0).double() / 0.6)


def test_dropout_module_is_active_in_train_mode_only_like_nn_dropout():
    ours, theirs = Dropout(0.5), torch.nn.Dropout(0.5)
    x = torch.ones(1000)
    torch.manual_seed(0)
    assert (ours(x) == 0).any() and (theirs(x) == 0).any()
    ours.eval(), theirs.eval()
    assert torch.equal(ours(x), theirs(x))
    assert repr(ours) == "Dropout(p=0.5)"


def shifted_by_pad(image: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """PyTorch's own route: pad on one side and crop the other (negative padding)."""
    return F.pad(image, (dx, -dx, dy, -dy))


@settings(max_examples=15, deadline=None)
@given(seeds, st.integers(1, 4), st.integers(1, 3), st.integers(3, 8), st.integers(3, 8),
       st.integers(0, 2), dtypes)
def test_random_shift_equals_padding_and_cropping_by_the_generators_shifts(
        seed, n, c, h, w, s, dtype):
    images = randn(seed, n, c, h, w, dtype=dtype)
    shifts = torch.randint(-s, s + 1, (n, 2), generator=torch.Generator().manual_seed(seed))
    ours = random_shift(images, s, generator=torch.Generator().manual_seed(seed))
    expected = torch.stack([shifted_by_pad(im, int(dy), int(dx))
                            for im, (dy, dx) in zip(images, shifts, strict=True)])
    assert ours.dtype == dtype and torch.equal(ours, expected)


def test_random_shift_by_zero_is_the_identity_and_shifts_cover_every_offset():
    images = randn(0, 5, 1, 4, 4)
    assert torch.equal(random_shift(images, 0), images)
    dot = torch.zeros(400, 1, 5, 5)
    dot[:, :, 2, 2] = 1.0
    moved = random_shift(dot, 1, generator=torch.Generator().manual_seed(0))
    places = {tuple(int(i) for i in torch.nonzero(m[0])[0]) for m in moved}
    assert places == {(r, c) for r in (1, 2, 3) for c in (1, 2, 3)}


@settings(max_examples=25, deadline=None)
@given(seeds, st.integers(1, 6), st.integers(1, 7))
def test_bias_and_variance_add_up_to_the_mean_squared_error_as_numpy_computes_them(seed, r, m):
    predictions, target = randn(seed, r, m), randn(seed + 1, m)
    bias2, variance = bias_variance(predictions, target)
    p, t = predictions.numpy(), target.numpy()
    loops = [[(p[i, j] - p[:, j].mean()) ** 2 for j in range(m)] for i in range(r)]
    assert np.isclose(bias2.item(), np.mean((p.mean(axis=0) - t) ** 2), rtol=1e-12)
    assert np.isclose(variance.item(), np.mean(loops), rtol=1e-12, atol=1e-15)
    assert np.isclose(bias2.item() + variance.item(), np.mean((p - t) ** 2), rtol=1e-10)


def test_one_training_set_has_no_variance_and_identical_fits_no_more():
    target = torch.tensor([1.0, 2.0, 3.0])
    assert bias_variance(target[None] + 1.0, target) == (torch.tensor(1.0), torch.tensor(0.0))
    fits = torch.stack([target + 0.5, target - 0.5])  # spread around the truth, unbiased
    assert bias_variance(fits, target) == (torch.tensor(0.0), torch.tensor(0.25))
