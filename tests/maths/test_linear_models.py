"""PCA, least squares and ridge (coursekit.maths.linear_models) against NumPy and scikit-learn."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.decomposition import PCA
from sklearn.linear_model import Ridge

from coursekit.maths.linear_models import lstsq, pca, ridge

FEW = settings(max_examples=25, deadline=None)
seeds = st.integers(0, 2**31 - 1)


def randn(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


# ---- pca --------------------------------------------------------------------------------------


@settings(max_examples=15, deadline=None)
@given(seed=seeds, n=st.integers(3, 30), d=st.integers(1, 6), data=st.data())
def test_pca_matches_sklearn_up_to_sign(seed, n, d, data):
    k = data.draw(st.integers(1, min(n, d)))
    X = randn(n, d, seed=seed) @ randn(d, d, seed=seed + 1) + 5
    ours, ref = pca(X, k), PCA(k).fit(X.numpy())
    assert torch.allclose(ours.mean, torch.from_numpy(ref.mean_))
    assert torch.allclose(
        ours.explained_variance, torch.from_numpy(ref.explained_variance_), rtol=1e-6
    )
    assert torch.allclose(
        ours.explained_variance_ratio, torch.from_numpy(ref.explained_variance_ratio_),
        rtol=1e-6, atol=1e-12,
    )
    # a direction is defined (up to sign) only when its variance is apart from its neighbours'
    spectrum = np.linalg.eigvalsh(np.atleast_2d(np.cov(X.numpy(), rowvar=False)))[::-1]
    gaps = np.abs(np.diff(spectrum, prepend=np.inf, append=-np.inf))
    for i in range(k):
        if min(gaps[i], gaps[i + 1]) > 1e-3 * spectrum[0]:
            cosine = torch.dot(ours.components[i], torch.from_numpy(ref.components_[i]))
            assert abs(cosine.item()) == pytest.approx(1.0, abs=1e-8)


def test_pca_transform_matches_sklearn_on_the_digits():
    from sklearn.datasets import load_digits

    X = load_digits().data[:400]
    ours, ref = pca(X, 5), PCA(5).fit(X)
    assert np.allclose(ours.transform(X).numpy(), ref.transform(X), atol=1e-8)  # same signs too
    assert np.allclose(ours.inverse_transform(ours.transform(X)).numpy(),
                       ref.inverse_transform(ref.transform(X)), atol=1e-8)


def test_pca_components_are_orthonormal_rows():
    fit = pca(randn(50, 8), 4)
    assert fit.components.shape == (4, 8)
    assert torch.allclose(fit.components @ fit.components.T, torch.eye(4, dtype=torch.float64))


@pytest.mark.parametrize("k", [0, 4])
def test_pca_rejects_k_out_of_range(k):
    with pytest.raises(ValueError, match=r"k must be between 1 and min\(n, d\) = 3"):
        pca(randn(10, 3), k)


def test_pca_rejects_a_single_sample():
    with pytest.raises(ValueError, match="at least 2 rows"):
        pca(randn(1, 3), 1)


# ---- lstsq and ridge ------------------------------------------------------------------------


@FEW
@given(seed=seeds, m=st.integers(1, 8), n=st.integers(1, 8), r=st.integers(1, 8))
def test_lstsq_matches_numpy_minimum_norm_solution(seed, m, n, r):
    A = randn(m, r, seed=seed) @ randn(r, n, seed=seed + 1)  # rank min(m, n, r)
    b = randn(m, seed=seed + 2)
    ref = np.linalg.lstsq(A.numpy(), b.numpy(), rcond=None)[0]
    assert np.allclose(lstsq(A, b).numpy(), ref, atol=1e-8)


def test_lstsq_is_the_shortest_solution_of_an_underdetermined_system():
    A, b = randn(3, 6, seed=1), randn(3, seed=2)
    x = lstsq(A, b)
    null = torch.linalg.svd(A).Vh[3:].T  # (6, 3) basis of the null space
    other = x + null @ randn(3, seed=3)
    assert torch.allclose(A @ x, b) and torch.allclose(A @ other, b)
    assert x.norm() < other.norm()


def test_lstsq_solves_several_right_hand_sides():
    A, B = randn(7, 3, seed=4), randn(7, 2, seed=5)
    assert np.allclose(lstsq(A, B).numpy(), np.linalg.lstsq(A.numpy(), B.numpy(), rcond=None)[0])


def test_lstsq_rejects_mismatched_shapes():
    with pytest.raises(
        ValueError,
        match=r"b must be a vector or matrix with A.shape\[0\] = 3 rows, got shape \(4,\)",
    ):
        lstsq(torch.ones(3, 2), torch.ones(4))


@FEW
@given(seed=seeds, m=st.integers(1, 10), n=st.integers(1, 6), lam=st.floats(1e-3, 1e3))
def test_ridge_matches_sklearn(seed, m, n, lam):
    A, b = randn(m, n, seed=seed), randn(m, seed=seed + 1)
    ref = Ridge(alpha=lam, fit_intercept=False, solver="cholesky").fit(A.numpy(), b.numpy()).coef_
    assert np.allclose(ridge(A, b, lam).numpy(), ref, atol=1e-8)


def test_ridge_rejects_a_negative_penalty():
    with pytest.raises(ValueError, match="lam must be a nonnegative finite number, got -1.0"):
        ridge(torch.eye(2), torch.ones(2), -1)


# ---- malformed and edge-case input ------------------------------------------------------------


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_lstsq_rejects_an_inf_or_nan_entry_instead_of_returning_zeros(bad):
    A = np.eye(2)
    A[0, 1] = bad
    with pytest.raises(ValueError, match="^A must be finite"):
        lstsq(A, np.ones(2))
    with pytest.raises(ValueError, match="^b must be finite"):
        lstsq(np.eye(2), np.array([1.0, bad]))


@pytest.mark.parametrize("shape", [(0, 3), (3, 0), (0, 0)])
def test_lstsq_of_an_empty_system_matches_numpy(shape):
    A, b = np.zeros(shape), np.zeros(shape[0])
    expected = np.linalg.lstsq(A, b, rcond=None)[0]
    assert lstsq(A, b).shape == expected.shape and np.array_equal(lstsq(A, b).numpy(), expected)


def test_lstsq_of_a_complex_system_matches_numpy():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(5, 3)) + 1j * rng.normal(size=(5, 3))
    b = rng.normal(size=5) + 1j * rng.normal(size=5)
    np.testing.assert_allclose(lstsq(A, b).numpy(), np.linalg.lstsq(A, b, rcond=None)[0])


def test_ridge_of_a_complex_system_solves_the_normal_equations():
    rng = np.random.default_rng(1)
    A = rng.normal(size=(5, 3)) + 1j * rng.normal(size=(5, 3))
    b = rng.normal(size=5) + 1j * rng.normal(size=5)
    expected = np.linalg.solve(A.conj().T @ A + 0.5 * np.eye(3), A.conj().T @ b)
    np.testing.assert_allclose(ridge(A, b, 0.5).numpy(), expected)


def test_ridge_without_penalty_on_a_singular_system_names_lam():
    with pytest.raises(ValueError, match="^lam = 0 leaves A\\^T A singular"):
        ridge(np.zeros((3, 2)), np.ones(3), 0.0)


@pytest.mark.parametrize("name,call", [
    ("tol", lambda: lstsq(np.eye(2), np.ones(2), tol=-1.0)),
    ("tol", lambda: lstsq(np.eye(2), np.ones(2), tol=np.nan)),
    ("tol", lambda: lstsq(np.eye(2), np.ones(2), tol="1e-6")),
    ("lam", lambda: ridge(np.eye(2), np.ones(2), np.nan)),
    ("lam", lambda: ridge(np.eye(2), np.ones(2), np.inf)),
    ("lam", lambda: ridge(np.eye(2), np.ones(2), "1")),
    ("lam", lambda: ridge(np.eye(2), np.ones(2), True)),
])  # fmt: skip
def test_lstsq_and_ridge_reject_bad_tol_and_lam(name, call):
    with pytest.raises(ValueError, match=f"^{name} must be a"):
        call()


@pytest.mark.parametrize("k", [True, 2.0, "2", None])
def test_pca_rejects_a_k_that_is_not_an_integer(k):
    with pytest.raises(ValueError, match="^k must be an integer"):
        pca(randn(10, 3), k)


@pytest.mark.parametrize("X,message", [
    (np.array([[1.0, np.nan], [0.0, 1.0], [2.0, 0.0]]), "X must be finite"),
    (np.ones((3, 2)) * (1 + 1j), "X must be real"),
])  # fmt: skip
def test_pca_rejects_nan_and_complex_data(X, message):
    with pytest.raises(ValueError, match=f"^{message}"):
        pca(X, 1)


def test_pca_transform_rejects_points_of_the_wrong_width():
    fit = pca(randn(10, 3), 2)
    with pytest.raises(ValueError, match=r"^X must have 3 columns, got shape \(4, 2\)"):
        fit.transform(randn(4, 2))
    with pytest.raises(ValueError, match=r"^Z must have 2 columns, got shape \(4, 3\)"):
        fit.inverse_transform(randn(4, 3))


def test_pca_rejects_constant_data_instead_of_a_nan_variance_ratio():
    with pytest.raises(ValueError, match="^X must not be constant"):
        pca(torch.ones(4, 2), 1)


def test_pca_transform_promotes_points_to_the_fits_dtype():
    X = randn(10, 3)  # a float64 fit
    fit = pca(X, 2)
    Z = fit.transform(X.float())
    assert Z.dtype == torch.float64 and torch.allclose(Z, fit.transform(X), atol=1e-6)
    assert torch.allclose(fit.inverse_transform(Z.float()), fit.inverse_transform(Z), atol=1e-6)


def test_input_checks_leave_vmap_working():
    A, B = randn(6, 3), randn(4, 6, seed=1)
    batched = torch.func.vmap(lambda b: ridge(A, b, 0.5))(B)
    assert torch.allclose(batched, torch.stack([ridge(A, b, 0.5) for b in B]))
    batched = torch.func.vmap(lambda b: lstsq(A, b, tol=1e-10))(B)
    assert torch.allclose(batched, torch.stack([lstsq(A, b, tol=1e-10) for b in B]))
