"""The lasso (coursekit.maths.lasso) against scikit-learn's Lasso, and its path's hard cases."""

import math
import warnings

import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from sklearn.linear_model import Lasso

from coursekit.maths.lasso import _fista, _path, _relative_gap, lasso

FEW = settings(max_examples=25, deadline=None)
seeds = st.integers(0, 2**31 - 1)


def randn(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def objective(A, b, x, lam):
    return float((A @ x - b).pow(2).sum() + lam * x.abs().sum())


def sklearn_lasso(A, b, lam):
    """scikit-learn's Lasso at alpha = lam / (2m), converged far past its default tolerance."""
    model = Lasso(alpha=lam / (2 * A.shape[0]), fit_intercept=False, tol=1e-12, max_iter=200_000)
    return torch.from_numpy(model.fit(A.numpy(), b.numpy()).coef_)


def sparse_problem(m, n, seed, correlation=0.0):
    A = randn(m, n, seed=seed)
    for j in range(1, n):  # AR(1) columns: neighbouring features correlated
        A[:, j] = correlation * A[:, j - 1] + math.sqrt(1 - correlation**2) * A[:, j]
    x = torch.zeros(n, dtype=A.dtype)
    x[: n // 5] = 3 * randn(n // 5, seed=seed + 1)
    return A, A @ x + 0.5 * randn(m, seed=seed + 2)

# ---- lasso ------------------------------------------------------------------------------------


@pytest.mark.parametrize("correlation", [0.0, 0.9])
@pytest.mark.parametrize("m,n", [(60, 40), (30, 50)])
def test_lasso_matches_sklearn_objective(m, n, correlation):
    A, b = sparse_problem(m, n, seed=m + n, correlation=correlation)
    for frac in (0.5, 0.1, 0.01):
        lam = frac * 2 * (A.T @ b).abs().max().item()
        ours = objective(A, b, lasso(A, b, lam), lam)
        ref = objective(A, b, sklearn_lasso(A, b, lam), lam)
        assert ours <= ref * (1 + 1e-9)
        assert ours == pytest.approx(ref, rel=1e-8)


def test_lasso_fallback_matches_sklearn_objective_with_duplicate_columns():
    A, b = sparse_problem(50, 40, seed=7, correlation=0.9)
    A[:, 1] = A[:, 0]  # the solution is not unique; the objective is
    lam = 0.05 * 2 * (A.T @ b).abs().max().item()
    x = _fista(A, b, lam, tol=1e-12, max_iter=20_000)
    ref = objective(A, b, sklearn_lasso(A, b, lam), lam)
    assert objective(A, b, x, lam) == pytest.approx(ref, rel=1e-9)


def path_problem(case):
    """Problems on which earlier versions of the path went wrong (each found by a search)."""
    if case == "a column leaves and rejoins on the other side":
        A, b, frac = randn(3, 3, seed=2), randn(3, seed=3), 0.05
    elif case == "the last step rounds to just above the target level":
        A, b, frac = randn(3, 3, seed=26), randn(3, seed=27), 0.3
    elif case == "duplicate, negated and zero columns":
        A, b, frac = randn(20, 8, seed=2), randn(20, seed=3), 0.1
        A[:, 1], A[:, 2], A[:, 3] = A[:, 0], -A[:, 0], 0.0
    else:  # "tied correlations, and a joining column that moves the wrong way"
        A = torch.tensor(
            [[0, 0, 0, 1], [1, 1, -1, 0], [0, 1, 0, -1], [1, 1, -1, 0]], dtype=torch.float64
        )
        b, frac = torch.tensor([-3.0, -3.0, 1.0, 1.0], dtype=torch.float64), 0.3
    return A, b, frac * 2 * (A.T @ b).abs().max().item()


@pytest.mark.parametrize(
    "case",
    [
        "a column leaves and rejoins on the other side",
        "the last step rounds to just above the target level",
        "duplicate, negated and zero columns",
        "tied correlations, and a joining column that moves the wrong way",
    ],
)
def test_lasso_path_reaches_the_exact_solution(case):
    A, b, lam = path_problem(case)
    x = _path(A.numpy(), b.numpy(), lam / 2, max_steps=100)
    assert x is not None  # the path itself solved it, without the proximal gradient fallback
    assert _relative_gap(A.numpy(), b.numpy(), x, lam) <= 1e-12
    ref = objective(A, b, sklearn_lasso(A, b, lam), lam)
    assert objective(A, b, torch.from_numpy(x), lam) <= ref * (1 + 1e-12)


def test_lasso_falls_back_and_warns_when_the_steps_run_out():
    A, b = sparse_problem(60, 40, seed=3, correlation=0.9)
    lam = 0.01 * 2 * (A.T @ b).abs().max().item()
    assert _path(A.numpy(), b.numpy(), lam / 2, max_steps=3) is None
    with pytest.warns(RuntimeWarning, match=r"lasso: relative duality gap .* above tol=1e-09"):
        lasso(A, b, lam, max_iter=3)


@FEW
@given(seed=seeds, m=st.integers(1, 12), n=st.integers(1, 12), frac=st.floats(0.01, 0.99))
def test_lasso_matches_sklearn_on_integer_data_full_of_ties(seed, m, n, frac):
    g = torch.Generator().manual_seed(seed)
    A = torch.randint(-1, 2, (m, n), generator=g).double()
    b = torch.randint(-3, 4, (m,), generator=g).double()
    lam = frac * 2 * (A.T @ b).abs().max().item()
    assume(lam > 0)
    ours = objective(A, b, lasso(A, b, lam), lam)
    ref = objective(A, b, sklearn_lasso(A, b, lam), lam)
    assert ours <= ref * (1 + 1e-9)


@FEW
@given(seed=seeds, m=st.integers(2, 20), n=st.integers(1, 15), frac=st.floats(0.01, 0.99))
def test_lasso_satisfies_the_optimality_conditions(seed, m, n, frac):
    A, b = randn(m, n, seed=seed), randn(m, seed=seed + 1)
    lam = frac * 2 * (A.T @ b).abs().max().item()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no duality-gap warning
        x = lasso(A, b, lam)
    g = A.T @ (b - A @ x)  # KKT: g = lam/2 sign(x) on the support, |g| <= lam/2 off it
    on = x != 0
    assert torch.allclose(g[on], lam / 2 * x[on].sign(), atol=1e-7 * lam)
    assert (g[~on].abs() <= lam / 2 * (1 + 1e-7)).all()


def test_lasso_is_zero_from_lambda_max_on():
    A, b = randn(20, 5, seed=1), randn(20, seed=2)
    lam_max = 2 * (A.T @ b).abs().max().item()
    assert (lasso(A, b, lam_max) == 0).all() and (lasso(A, b, 0.99 * lam_max) != 0).sum() == 1


def test_lasso_soft_thresholds_with_orthonormal_columns():
    Q = torch.linalg.qr(randn(10, 4, seed=3)).Q
    b = randn(10, seed=4)
    z = Q.T @ b
    assert torch.allclose(lasso(Q, b, 1.0), z.sign() * (z.abs() - 0.5).clamp(min=0), atol=1e-12)


def test_lasso_keeps_float32():
    A, b = sparse_problem(30, 20, seed=5)
    x = lasso(A.float(), b.float(), 1.0)
    assert x.dtype == torch.float32
    assert torch.allclose(x.double(), lasso(A, b, 1.0), atol=1e-4)


def test_lasso_of_a_matrix_without_columns_is_empty():
    x = lasso(torch.zeros(3, 0), torch.ones(3), 1.0)
    assert x.shape == (0,) and x.dtype == torch.float32


def test_lasso_rejects_bad_input():
    with pytest.raises(ValueError, match="lam must be a positive finite number, got 0.0"):
        lasso(torch.eye(2), torch.ones(2), 0.0)
    with pytest.raises(
        ValueError, match=r"b must be a vector with A.shape\[0\] = 2 rows, got shape \(2, 1\)"
    ):
        lasso(torch.eye(2), torch.ones(2, 1), 1.0)
    with pytest.raises(ValueError, match=r"A must be a matrix \(2-D\), got shape \(2,\)"):
        lasso(torch.ones(2), torch.ones(2), 1.0)


# ---- malformed and edge-case input ------------------------------------------------------------


def test_lasso_rejects_nan_instead_of_failing_inside_the_path():
    A = torch.eye(3, dtype=torch.float64)
    A[1, 2] = math.nan
    with pytest.raises(ValueError, match="^A must be finite, got nan or inf"):
        lasso(A, torch.ones(3), 1.0)
    with pytest.raises(ValueError, match="^b must be finite, got nan or inf"):
        lasso(torch.eye(2), torch.tensor([1.0, math.inf]), 1.0)


def test_lasso_rejects_complex_data():
    with pytest.raises(ValueError, match="^A must be real, got dtype torch.complex64"):
        lasso(torch.eye(2, dtype=torch.complex64), torch.ones(2), 1.0)


@pytest.mark.parametrize("kwargs,name", [
    ({"lam": math.nan}, "lam"), ({"lam": math.inf}, "lam"), ({"lam": "1"}, "lam"),
    ({"lam": True}, "lam"), ({"tol": math.nan}, "tol"), ({"tol": -1e-9}, "tol"),
    ({"tol": 0.0}, "tol"), ({"max_iter": 0}, "max_iter"), ({"max_iter": True}, "max_iter"),
    ({"max_iter": 2.5}, "max_iter"),
])  # fmt: skip
def test_lasso_rejects_bad_penalty_tolerance_and_iteration_count(kwargs, name):
    args = {"lam": 1.0} | kwargs
    with pytest.raises(ValueError, match=f"^{name} must be a"):
        lasso(torch.eye(2), torch.ones(2), **args)


def test_lasso_of_a_system_without_rows_is_zero():
    x = lasso(torch.zeros(0, 3), torch.zeros(0), 1.0)
    assert torch.equal(x, torch.zeros(3))
