"""Tests for coursekit.maths.information against scipy.stats.entropy, scipy.special and
scikit-learn."""

import math

import numpy as np
import pytest
import scipy.special
import scipy.stats
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import log_loss, mutual_info_score

from coursekit.maths.information import (
    conditional_entropy,
    cross_entropy,
    differential_entropy_gaussian,
    entropy,
    joint_entropy,
    kl_divergence,
    mutual_information,
)

seeds = st.integers(0, 2**31 - 1)
sizes = st.integers(1, 6)


def dirichlet(seed: int, *shape: int, zeros: bool = True) -> np.ndarray:
    """A random distribution (over all entries), with some exact zeros when ``zeros``."""
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.ones(int(np.prod(shape))))
    if zeros and p.size > 1:
        p[rng.random(p.size) < 0.3] = 0.0
        p = p / p.sum() if p.sum() > 0 else np.full(p.size, 1 / p.size)
    return p.reshape(shape)


@settings(max_examples=25, deadline=None)
@given(seeds, sizes, st.sampled_from([2, math.e, 10]))
def test_entropy_matches_scipy(seed, n, base):
    p = dirichlet(seed, n)
    assert entropy(torch.tensor(p), base).item() == pytest.approx(
        scipy.stats.entropy(p, base=base), abs=1e-12
    )


def test_entropy_is_batched_over_leading_axes():
    p = np.stack([dirichlet(s, 5) for s in range(4)])
    np.testing.assert_allclose(
        entropy(torch.tensor(p)).numpy(), scipy.stats.entropy(p, base=2, axis=-1), atol=1e-12
    )


def test_entropy_of_uniform_is_log_of_outcomes():
    assert entropy(torch.full((8,), 1 / 8)).item() == pytest.approx(3.0)


@settings(max_examples=25, deadline=None)
@given(seeds, sizes, st.sampled_from([2, math.e]))
def test_kl_divergence_matches_scipy_relative_entropy(seed, n, base):
    p, q = dirichlet(seed, n), dirichlet(seed + 1, n, zeros=False)
    expected = scipy.special.rel_entr(p, q).sum() / math.log(base)
    assert kl_divergence(torch.tensor(p), torch.tensor(q), base).item() == pytest.approx(
        expected, abs=1e-12
    )


@settings(max_examples=25, deadline=None)
@given(seeds, sizes)
def test_cross_entropy_is_entropy_plus_kl_like_scipy(seed, n):
    p, q = dirichlet(seed, n), dirichlet(seed + 1, n, zeros=False)
    expected = scipy.stats.entropy(p, base=2) + scipy.stats.entropy(p, q, base=2)
    assert cross_entropy(torch.tensor(p), torch.tensor(q)).item() == pytest.approx(
        expected, abs=1e-10
    )


def test_cross_entropy_of_one_hot_labels_matches_sklearn_log_loss():
    rng = np.random.default_rng(0)
    q = rng.dirichlet(np.ones(4), size=20)
    y = rng.integers(0, 4, size=20)
    onehot = np.eye(4)[y]
    ours = cross_entropy(torch.tensor(onehot), torch.tensor(q), base=math.e).mean().item()
    assert ours == pytest.approx(log_loss(y, q, labels=range(4)), rel=1e-12)


def test_cross_entropy_is_infinite_where_model_gives_zero_probability():
    assert cross_entropy(torch.tensor([0.5, 0.5]), torch.tensor([1.0, 0.0])).item() == math.inf
    assert kl_divergence(torch.tensor([0.5, 0.5]), torch.tensor([1.0, 0.0])).item() == math.inf


def test_zero_probability_in_p_contributes_nothing():
    assert cross_entropy(
        torch.tensor([1.0, 0.0]), torch.tensor([0.5, 0.5])
    ).item() == pytest.approx(1.0)
    assert kl_divergence(
        torch.tensor([0.0, 1.0]), torch.tensor([0.5, 0.5])
    ).item() == pytest.approx(1.0)


@settings(max_examples=25, deadline=None)
@given(seeds, sizes)
def test_kl_is_nonnegative_and_zero_on_itself(seed, n):
    p, q = torch.tensor(dirichlet(seed, n)), torch.tensor(dirichlet(seed + 1, n))
    assert kl_divergence(p, q).item() >= -1e-12
    assert abs(kl_divergence(p, p).item()) < 1e-12


@settings(max_examples=25, deadline=None)
@given(seeds, sizes, sizes)
def test_joint_entropy_matches_scipy_on_flattened_table(seed, nx, ny):
    pxy = dirichlet(seed, nx, ny)
    assert joint_entropy(torch.tensor(pxy)).item() == pytest.approx(
        scipy.stats.entropy(pxy.ravel(), base=2), abs=1e-12
    )


@settings(max_examples=25, deadline=None)
@given(seeds, sizes, sizes)
def test_conditional_entropy_is_average_entropy_of_rows(seed, nx, ny):
    pxy = dirichlet(seed, nx, ny)
    px = pxy.sum(1)
    # H(Y|X) = sum_x p(x) H(Y | X = x), rows with p(x) = 0 left out
    expected = sum(
        px[i] * scipy.stats.entropy(pxy[i] / px[i], base=2) for i in range(nx) if px[i] > 0
    )
    assert conditional_entropy(torch.tensor(pxy)).item() == pytest.approx(expected, abs=1e-12)


@settings(max_examples=25, deadline=None)
@given(seeds, sizes, sizes)
def test_mutual_information_matches_sklearn_in_nats(seed, nx, ny):
    counts = np.random.default_rng(seed).integers(0, 5, size=(nx, ny))
    counts[0, 0] += 1  # at least one observation
    expected = mutual_info_score(None, None, contingency=counts)  # nats
    got = mutual_information(torch.tensor(counts / counts.sum()), base=math.e).item()
    assert got == pytest.approx(expected, abs=1e-12)


@settings(max_examples=25, deadline=None)
@given(seeds, sizes, sizes)
def test_mutual_information_identities(seed, nx, ny):
    pxy = torch.tensor(dirichlet(seed, nx, ny))
    hx, hy = entropy(pxy.sum(1)), entropy(pxy.sum(0))
    mi = mutual_information(pxy)
    torch.testing.assert_close(mi, hy - conditional_entropy(pxy), atol=1e-12, rtol=0)
    torch.testing.assert_close(mi, hx + hy - joint_entropy(pxy), atol=1e-12, rtol=0)
    torch.testing.assert_close(mi, mutual_information(pxy.T), atol=1e-12, rtol=0)


@settings(max_examples=25, deadline=None)
@given(seeds, sizes, sizes)
def test_mutual_information_is_zero_for_independent_variables(seed, nx, ny):
    px, py = dirichlet(seed, nx), dirichlet(seed + 1, ny)
    assert abs(mutual_information(torch.tensor(np.outer(px, py))).item()) < 1e-12


def test_entropy_keeps_float32():
    assert entropy(torch.tensor([0.25, 0.75], dtype=torch.float32)).dtype == torch.float32


def test_accepts_lists_and_numpy():
    assert entropy([0.5, 0.5]).item() == pytest.approx(1.0)
    assert mutual_information(np.array([[0.5, 0.0], [0.0, 0.5]])).item() == pytest.approx(1.0)


@pytest.mark.parametrize(
    "p, message",
    [
        ([0.5, 0.6], "p must be nonnegative and sum to 1"),
        ([1.5, -0.5], "p must be nonnegative and sum to 1"),
        ([float("nan"), 1.0], "p must be finite, got nan or inf"),
        ([], "p must have at least 1 non-empty dimension"),
    ],
)
def test_entropy_rejects_non_distributions(p, message):
    with pytest.raises(ValueError, match=message):
        entropy(p)


def test_kl_rejects_q_that_is_not_a_distribution_or_mismatched():
    with pytest.raises(ValueError, match="q must be nonnegative and sum to 1"):
        kl_divergence([0.5, 0.5], [0.5, 0.4])
    with pytest.raises(
        ValueError, match="p and q must have the same last axis, got shapes \\(2,\\) and \\(3,\\)"
    ):
        kl_divergence([0.5, 0.5], [0.2, 0.3, 0.5])


def test_joint_functions_reject_a_vector_or_unnormalized_table():
    with pytest.raises(ValueError, match="pxy must have at least 2 non-empty dimension"):
        mutual_information([0.5, 0.5])
    with pytest.raises(ValueError, match="pxy must be nonnegative and sum to 1"):
        conditional_entropy([[0.5, 0.5], [0.5, 0.5]])


@pytest.mark.parametrize("base", [1, 0, -2])
def test_rejects_invalid_base(base):
    with pytest.raises(ValueError, match="^base must be a positive"):
        entropy([0.5, 0.5], base=base)


# ---- malformed and edge-case input ------------------------------------------------------------


@pytest.mark.parametrize("function", [entropy, lambda p: kl_divergence(p, p)])
def test_rejects_a_complex_distribution_instead_of_dropping_its_imaginary_part(function):
    with pytest.raises(ValueError, match="^p must be real, got dtype torch.complex64"):
        function(torch.tensor([0.5 + 0.5j, 0.5 - 0.5j]))


@pytest.mark.parametrize("p", ["abc", None, [[0.5, 0.5], [1.0]]])
def test_rejects_strings_none_and_ragged_lists_naming_p(p):
    with pytest.raises(ValueError, match="^p must be a tensor or array of numbers"):
        entropy(p)


@pytest.mark.parametrize("base", [float("inf"), float("nan"), "2", True, None, 1j])
def test_rejects_a_base_that_is_not_a_finite_positive_number(base):
    with pytest.raises(ValueError, match="^base must be a (positive|real)"):
        entropy([0.5, 0.5], base=base)


def test_rejects_batch_shapes_that_do_not_broadcast():
    p, q = torch.full((2, 3), 1 / 3), torch.full((4, 3), 1 / 3)
    with pytest.raises(ValueError, match=r"^p and q must broadcast, got shapes \(2, 3\) and"):
        cross_entropy(p, q)


# ---- differential entropy of the Gaussian -------------------------------------------------------


def random_spd(seed: int, d: int) -> np.ndarray:
    """A random symmetric positive definite d x d matrix, well away from singular."""
    B = np.random.default_rng(seed).normal(size=(d, d))
    return B @ B.T + 0.1 * np.eye(d)


@settings(max_examples=15, deadline=None)
@given(st.floats(1e-3, 1e3), st.sampled_from([2, math.e, 10]))
def test_differential_entropy_of_1d_gaussian_matches_scipy_norm(sigma, base):
    got = differential_entropy_gaussian(torch.tensor([[sigma**2]], dtype=torch.float64), base)
    expected = scipy.stats.norm(scale=sigma).entropy() / math.log(base)
    assert got.item() == pytest.approx(expected, rel=1e-12, abs=1e-12)


@settings(max_examples=15, deadline=None)
@given(seeds, st.integers(1, 5))
def test_differential_entropy_matches_scipy_multivariate_normal(seed, d):
    cov = random_spd(seed, d)
    got = differential_entropy_gaussian(torch.tensor(cov), base=math.e).item()
    assert got == pytest.approx(scipy.stats.multivariate_normal(cov=cov).entropy(), rel=1e-10)


def test_differential_entropy_is_batched_over_leading_axes():
    covs = np.stack([random_spd(s, 3) for s in range(4)]).reshape(2, 2, 3, 3)
    expected = [scipy.stats.multivariate_normal(cov=c).entropy() for c in covs.reshape(4, 3, 3)]
    got = differential_entropy_gaussian(torch.tensor(covs), base=math.e)
    assert got.shape == (2, 2)
    np.testing.assert_allclose(got.flatten().numpy(), expected, rtol=1e-10)


def test_differential_entropy_can_be_negative_like_scipy():
    got = differential_entropy_gaussian(torch.tensor([[0.01]], dtype=torch.float64)).item()
    assert got < 0
    assert got == pytest.approx(scipy.stats.norm(scale=0.1).entropy() / math.log(2), rel=1e-12)


@pytest.mark.parametrize(
    "cov, message",
    [
        ([[1.0, 1.0], [1.0, 1.0]], "^cov must be symmetric positive definite"),  # singular
        ([[1.0, 2.0], [0.0, 1.0]], "^cov must be symmetric"),
        ([1.0, 2.0], "^cov must be a square matrix"),
        (np.zeros((0, 0)), r"^cov must be \(\.\.\., d, d\) with d >= 1"),
    ],
)
def test_differential_entropy_rejects_a_covariance_without_a_density(cov, message):
    with pytest.raises(ValueError, match=message):
        differential_entropy_gaussian(cov)
