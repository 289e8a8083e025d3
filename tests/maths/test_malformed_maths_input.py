"""Malformed input to every public callable of coursekit.maths: a clear error, or the right answer.

Each public callable (every name in a maths module's ``__all__``, and the public methods of its
classes) has an entry in ``CASES``: valid arguments, the kind of each argument, and a check of
the result against NumPy, SciPy or scikit-learn. Hypothesis replaces one argument at a time by a
malformed value of its kind: empty, nan or inf inside, one dimension too many or too few,
complex, bool, half precision, integers, strings, None, an asymmetric or non-square matrix, a
distribution that does not sum to 1, a negative or nan tolerance, a bool or float where an
integer belongs, a function that returns the wrong thing. The call must then raise a
``ValueError`` or ``TypeError`` whose message names that argument, or return what the check
accepts: a finite result that agrees with the reference, for an input that meets the documented
contract. Any other exception (an ``IndexError`` from inside, a ``RuntimeError`` from torch)
fails the test.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import numbers
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
import scipy.linalg
import scipy.special
import scipy.stats
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.decomposition import PCA
from sklearn.linear_model import Lasso

from coursekit.maths import calculus, information, lasso, linalg, linear_models, probability

MODULES = [linalg, linear_models, lasso, calculus, probability, information]

# Public classes that only carry results: returned by a function, never built by hand.
RECORDS = {
    "linear_models.PrincipalComponents": "returned by pca; its methods have entries below",
    "calculus.DescentResult": "returned by gradient_descent",
}


# ---- malformed values, by kind of argument ------------------------------------------------------

JUNK = [None, "abc", ["a", "b"], {"a": 1}, object(), [[1.0, 2.0], [3.0]],
        np.array([1.0, None], dtype=object)]  # fmt: skip


def _nan_or_inf(valid: np.ndarray, draw) -> np.ndarray:
    bad = valid.copy()
    index = draw(st.integers(0, valid.size - 1))
    bad.flat[index] = draw(st.sampled_from([np.nan, np.inf, -np.inf]))
    return bad


def _empty(valid: np.ndarray, draw) -> np.ndarray:
    zeros = draw(st.lists(st.booleans(), min_size=valid.ndim, max_size=valid.ndim).filter(any))
    return np.zeros([0 if zero else size for zero, size in zip(zeros, valid.shape, strict=True)])


def _asymmetric(valid: np.ndarray, draw) -> np.ndarray:
    bad = valid.copy()
    bad[..., 0, -1] += 1.0
    return bad


def _junk(valid: np.ndarray, draw):
    return draw(st.sampled_from(JUNK))


def _negative_entry(valid: np.ndarray, draw) -> np.ndarray:
    bad = valid.copy()  # still sums to 1
    bad.flat[0] -= 1.0
    bad.flat[1] += 1.0
    return bad


ARRAY_MUTATIONS: list[Callable] = [
    _junk,
    _empty,
    _nan_or_inf,
    lambda valid, draw: valid[None],  # a leading axis: a batch of one, or one axis too many
    lambda valid, draw: valid[..., None],  # a trailing axis
    lambda valid, draw: np.asarray(valid.reshape(-1)[0]),  # a 0-d array
    lambda valid, draw: np.asarray(valid[0]),  # one axis too few
    lambda valid, draw: valid.astype(complex),
    lambda valid, draw: valid * (1 + 0.5j),
    lambda valid, draw: valid != 0,
    lambda valid, draw: np.rint(valid).astype(np.int64),
    lambda valid, draw: torch.from_numpy(valid).to(torch.float16),
    lambda valid, draw: torch.from_numpy(valid).to(torch.bfloat16),
]
SQUARE_MUTATIONS = [lambda valid, draw: valid[..., :-1]]  # not square
SYMMETRIC_MUTATIONS = SQUARE_MUTATIONS + [_asymmetric, lambda valid, draw: -valid]
DISTRIBUTION_MUTATIONS = [lambda valid, draw: 2 * valid, _negative_entry]
EXTRA_MUTATIONS = {"array": [], "square": SQUARE_MUTATIONS, "symmetric": SYMMETRIC_MUTATIONS,
                   "distribution": DISTRIBUTION_MUTATIONS}  # fmt: skip

nan, inf = math.nan, math.inf
NOT_A_NUMBER = [None, "1", [1.0], 1j, object()]
TOLERANCES = [-1.0, -1e-12, nan, inf, -inf, True, False, 0.0, 1e-3, np.float64(1e-3),
              torch.tensor(1e-3)]  # fmt: skip
SCALARS = {
    "tolerance": TOLERANCES + NOT_A_NUMBER,
    "optional_tolerance": TOLERANCES + NOT_A_NUMBER,
    "positive": [0.0, -1.0, nan, inf, -inf, True, 0.5, np.float64(0.5), torch.tensor(0.5)]
    + NOT_A_NUMBER,
    "order": [0, -1.0, nan, -inf, True, inf, 0.5, 3, np.float64(2.0)] + NOT_A_NUMBER,
    "kind": ["2", "F", "FRO", "", None, 2, 3.0, True, 1, inf, "nuclear", object()],
    "angle": [nan, inf, -inf, True, [0.5, 0.5], np.array([0.5]), torch.tensor([0.5]),
              torch.tensor(0.5, dtype=torch.float64), np.float32(0.5), 3] + NOT_A_NUMBER,
    "base": [1, 1.0, 0, -2.0, nan, inf, True, math.e, np.float64(10.0)] + NOT_A_NUMBER,
    "scalar_function": [None, 3, "f", lambda x: 2 * x, lambda x: 1.0, lambda x: None,
                        lambda x: [1.0]],
    "function": [None, 3, "f", lambda x: 1.0, lambda x: None, lambda x: [1.0]],
    "generator": [0, "g", object(), np.random.default_rng(0), torch.Generator().manual_seed(1),
                  None],
    "flag": ["yes", 1, 0, None, 1.0, True],
    "seed": [True, 2.5, "0", 2**70, -(2**70), None, np.int64(3), -1, nan],
}  # fmt: skip


def _counts(valid: int) -> list:
    return [0, -1, True, False, 2.5, float(valid), nan, inf, np.int64(valid),
            torch.tensor(valid), str(valid), None]  # fmt: skip


@st.composite
def malformed(draw, kind: str, valid):
    """A malformed (or, now and then, valid but unusual) value for an argument of this kind;
    for an ``optional_`` kind, the None among the junk is valid."""
    if kind == "count":
        return draw(st.sampled_from(_counts(valid)))
    if kind in SCALARS:
        return draw(st.sampled_from(SCALARS[kind]))
    extra = EXTRA_MUTATIONS[kind.removeprefix("optional_")]
    value = draw(st.sampled_from(ARRAY_MUTATIONS + extra))(valid, draw)
    if isinstance(value, np.ndarray) and value.dtype != object:  # as NumPy, torch or a list
        value = draw(st.sampled_from([value, torch.from_numpy(np.array(value)), value.tolist()]))
    return value


# ---- what the function computes with, and comparisons -------------------------------------------


def as_array(x) -> np.ndarray:
    """x's numbers as the functions see them: bools and integers in the default float dtype;
    bfloat16 as float32 (NumPy has no bfloat16)."""
    t = torch.as_tensor(np.array(x) if isinstance(x, np.ndarray) else x)  # a read-only one too
    if not (t.is_floating_point() or t.is_complex()):
        t = t.to(torch.get_default_dtype())
    if t.dtype == torch.bfloat16:
        t = t.float()
    return t.detach().numpy()


def real_number(value, *, minimum: float = 0.0, positive: bool = False) -> float:
    """value as a float, asserted to be a finite real number (not a bool) in the range."""
    if isinstance(value, torch.Tensor):
        assert value.ndim == 0 and not value.is_complex() and value.dtype != torch.bool
        value = value.item()
    assert isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_), value
    assert math.isfinite(value) and (value > minimum if positive else value >= minimum), value
    return float(value)


def integer(value, *, minimum: int | None = None) -> int:
    """value as an int, asserted to be an integer (not a bool, not a float) in the range."""
    if isinstance(value, torch.Tensor):
        assert value.ndim == 0 and not value.is_floating_point() and value.dtype != torch.bool
        value = value.item()
    assert isinstance(value, numbers.Integral) and not isinstance(value, bool | np.bool_), value
    assert minimum is None or value >= minimum, value
    return int(value)


def optional_tolerance(value) -> float | None:
    return None if value is None else real_number(value)


def tolerance(result) -> float:
    dtype = torch.as_tensor(result).dtype
    return {torch.float16: 1e-2, torch.bfloat16: 5e-2, torch.float32: 1e-4,
            torch.complex64: 1e-4}.get(dtype, 1e-8)  # fmt: skip


def assert_close(result, expected, tol: float | None = None) -> None:
    got, expected = as_array(result), np.asarray(expected)
    assert got.shape == expected.shape, f"shape {got.shape}, expected {expected.shape}"
    assert np.isfinite(got).all(), f"a non-finite result {got}"
    tol = tolerance(result) if tol is None else tol
    np.testing.assert_allclose(got, expected, rtol=tol, atol=tol)


def assert_real(*arrays: np.ndarray) -> None:
    assert not any(np.iscomplexobj(a) for a in arrays), "complex input was accepted"


def symmetric(A: np.ndarray) -> bool:
    return A.shape[-1] == A.shape[-2] and np.allclose(A, np.swapaxes(A, -1, -2).conj())


def projector(basis: np.ndarray) -> np.ndarray:
    return basis @ basis.conj().T


# ---- the table: how to call each public callable, and how to check what it returns ---------------


@dataclass
class Case:
    call: Callable
    args: dict[str, tuple[str, object]]  # name -> (kind, a valid value)
    check: Callable  # check(result, **args) asserts that the result is right


rng = np.random.default_rng(0)
VECTOR = np.array([3.0, -4.0, 1.0])
MATRIX = np.array([[1.0, -2.0], [3.0, 4.0], [0.5, 1.0]])
SPD = np.array([[2.0, 1.0], [1.0, 3.0]])
ROTATION = np.array([[0.0, -1.0], [1.0, 0.0]])  # exact in any precision: atol = 0 is fair
TOEPLITZ = scipy.linalg.toeplitz([1.0, 2.0, 3.0], [1.0, 4.0])
CIRCULANT = scipy.linalg.circulant([1.0, 2.0, 3.0])
DATA = rng.normal(size=(6, 3))
SYSTEM_A, SYSTEM_B = rng.normal(size=(5, 3)), rng.normal(size=5)
POINTS = rng.normal(size=(3, 2))
BLOBS = np.concatenate([rng.normal(size=(20, 2)) - 3, rng.normal(size=(20, 2)) + 3])
P, Q = np.array([0.5, 0.25, 0.25]), np.array([0.2, 0.3, 0.5])
PXY = np.array([[0.1, 0.2, 0.1], [0.3, 0.1, 0.2]])
WEIGHTS = np.array([0.3, 0.7])
MEANS = np.array([[0.0, 0.0], [4.0, 4.0]])
COVS = np.stack([np.eye(2), SPD])
FIT = linear_models.pca(DATA, 2)
MIXTURE = probability.GaussianMixture(WEIGHTS, MEANS, COVS)


def square_norm(x):
    return (x**2).sum()


def double(x):
    return 2 * x


def to_three(x):
    return ((x - 3) ** 2).sum()


TOLS = {"rtol": ("tolerance", 1e-5), "atol": ("tolerance", 1e-6)}


# -- linalg


def check_lp_norm(result, x, p):
    x = as_array(x)
    assert x.ndim == 1
    p = inf if p == inf else real_number(p, positive=True)
    assert_close(result, np.linalg.norm(x, p))


def check_l0_norm(result, x):
    x = as_array(x)
    assert x.ndim == 1
    assert_close(result, np.count_nonzero(x))


def check_toeplitz(result, c, r):
    c = as_array(c)
    r = None if r is None else as_array(r)
    assert c.ndim == 1 and (r is None or r.ndim == 1)
    assert_close(result, scipy.linalg.toeplitz(c, r))


def check_circulant(result, c):
    c = as_array(c)
    assert c.ndim == 1
    assert_close(result, scipy.linalg.circulant(c))


def check_givens(result, theta):
    theta = as_array(theta)
    assert theta.ndim == 0 and np.isrealobj(theta)
    cos, sin = np.cos(theta), np.sin(theta)
    assert_close(result, [[cos, -sin], [sin, cos]])


def check_is_symmetric(result, A, rtol, atol):
    A, rtol, atol = as_array(A), real_number(rtol), real_number(atol)
    assert_real(A)
    square = A.ndim == 2 and A.shape[0] == A.shape[1]
    assert result is (square and np.allclose(A, A.T, rtol, atol))


def check_is_orthogonal(result, Q, rtol, atol):
    Q, rtol, atol = as_array(Q), real_number(rtol), real_number(atol)
    assert_real(Q)
    expected = Q.shape[0] == Q.shape[1] and np.allclose(Q.T @ Q, np.eye(Q.shape[1]), rtol, atol)
    assert result is bool(expected)


def check_is_toeplitz(result, A, rtol, atol):
    A, rtol, atol = as_array(A), real_number(rtol), real_number(atol)
    expected = A.size == 0 or np.allclose(A, scipy.linalg.toeplitz(A[:, 0], A[0, :]), rtol, atol)
    assert result is bool(expected)


def check_is_circulant(result, A, rtol, atol):
    A, rtol, atol = as_array(A), real_number(rtol), real_number(atol)
    square = A.shape[0] == A.shape[1]
    expected = square and (
        A.size == 0 or np.allclose(A, scipy.linalg.circulant(A[:, 0]), rtol, atol)
    )
    assert result is bool(expected)


def check_is_psd(result, A, rtol, atol):
    A, rtol, atol = as_array(A), real_number(rtol), real_number(atol)
    assert_real(A)
    assert A.shape[0] == A.shape[1]
    if A.size == 0:
        expected = True
    else:
        eigenvalues = np.linalg.eigvalsh((A + A.T) / 2)
        expected = np.allclose(A, A.T, rtol, atol) and eigenvalues.min() >= -(
            atol + rtol * np.abs(eigenvalues).max()
        )
    assert result is bool(expected)


ORDS = {"1": 1, "inf": np.inf, "fro": "fro", "spectral": 2, "nuclear": "nuc"}


def check_matrix_norm(result, A, kind):
    A = as_array(A)
    assert A.ndim == 2
    assert_close(result, np.linalg.norm(A, ORDS[str(kind)]) if A.size else 0.0)


def check_rank(result, A, tol):
    A = as_array(A)
    assert A.ndim == 2
    expected = np.linalg.matrix_rank(A, tol=optional_tolerance(tol)) if A.size else 0
    assert int(result) == expected


def check_condition_number(result, A):
    A = as_array(A)
    assert A.ndim == 2
    # compare 1 / kappa: a singular matrix's kappa is inf, or a huge number after rounding
    assert_close(1 / result, 1 / np.linalg.cond(A), tol=10 * tolerance(result))


def check_span_basis(result, X, tol):
    X = as_array(X)
    assert X.ndim == 2
    r = np.linalg.matrix_rank(X, tol=optional_tolerance(tol)) if X.size else 0
    assert result.shape == (X.shape[0], r)
    if r:
        U = np.linalg.svd(X)[0][:, :r]
        assert_close(projector(as_array(result)), projector(U), tol=100 * tolerance(result))


# -- linear_models and lasso


def check_pca(result, X, k):
    X, k = as_array(X), integer(k, minimum=1)
    assert_real(X)
    reference = PCA(n_components=k, svd_solver="full").fit(X)
    assert_close(result.mean, X.mean(0))
    assert_close(result.explained_variance, reference.explained_variance_)
    assert_close(result.explained_variance_ratio, reference.explained_variance_ratio_)
    V = as_array(result.components)
    assert_close(V @ V.T, np.eye(k))
    assert_close(np.diag(V @ np.cov(X, rowvar=False).reshape(X.shape[1], -1) @ V.T),
                 reference.explained_variance_, tol=tolerance(result.components))  # fmt: skip


def check_transform(result, X):
    X = as_array(X)
    assert_real(X)
    assert X.ndim == 2
    assert_close(result, (X - as_array(FIT.mean)) @ as_array(FIT.components).T)


def check_inverse_transform(result, Z):
    Z = as_array(Z)
    assert_real(Z)
    assert Z.ndim == 2
    assert_close(result, Z @ as_array(FIT.components) + as_array(FIT.mean))


def system(A, b) -> tuple[np.ndarray, np.ndarray]:
    """A and b in their common dtype, as the solvers promote them."""
    A, b = as_array(A), as_array(b)
    dtype = np.promote_types(A.dtype, b.dtype)
    return A.astype(dtype), b.astype(dtype)


def check_lstsq(result, A, b, tol):
    A, b = system(A, b)
    assert A.ndim == 2 and b.ndim in (1, 2) and b.shape[0] == A.shape[0]
    tol = optional_tolerance(tol)
    if tol is None:
        expected = np.linalg.lstsq(A, b, rcond=None)[0]
    else:
        expected = scipy.linalg.pinv(A, atol=tol, rtol=0) @ b
    assert_close(result, expected, tol=100 * tolerance(result))


def check_ridge(result, A, b, lam):
    A, b = system(A, b)
    assert A.ndim == 2 and b.ndim in (1, 2) and b.shape[0] == A.shape[0]
    normal = A.conj().T @ A + real_number(lam) * np.eye(A.shape[1])
    assert_close(result, np.linalg.solve(normal, A.conj().T @ b), tol=100 * tolerance(result))


def lasso_objective(A, b, x, lam):
    return float(np.sum((A @ x - b) ** 2) + lam * np.abs(x).sum())


def check_lasso(result, A, b, lam, tol, max_iter):
    A, b = as_array(A), as_array(b)
    assert_real(A, b)
    A, b, lam = A.astype(np.float64), b.astype(np.float64), real_number(lam, positive=True)
    tol = real_number(tol, positive=True)
    integer(max_iter, minimum=1)
    assert A.ndim == 2 and b.shape == (A.shape[0],)
    if A.size == 0:  # no rows: lambda_max = 0 and x = 0; no columns: the empty solution
        assert_close(result, np.zeros(A.shape[1]))
        return
    model = Lasso(alpha=lam / (2 * A.shape[0]), fit_intercept=False, tol=1e-12, max_iter=100_000)
    reference = lasso_objective(A, b, model.fit(A, b).coef_, lam)
    ours = lasso_objective(A, b, as_array(result).astype(np.float64), lam)
    # a relative duality gap of tol bounds ours - optimum by tol * ours
    assert np.isfinite(ours) and ours * (1 - tol) <= reference * (1 + tolerance(result)) + 1e-12


# -- calculus


def check_gradient(result, f, x):
    assert f is square_norm
    x = as_array(x)
    assert_real(x)
    assert_close(result, 2 * x)


def check_jacobian(result, f, x):
    assert f is double
    x = as_array(x)
    assert_real(x)
    assert_close(result, 2 * np.eye(x.size).reshape(x.shape + x.shape))


def check_hessian(result, f, x):
    assert f is square_norm
    x = as_array(x)
    assert_real(x)
    assert_close(result, 2 * np.eye(x.size).reshape(x.shape + x.shape))


def check_numerical_gradient(result, f, x, eps):
    assert f is square_norm
    x, eps = as_array(x), real_number(eps, positive=True)
    assert_real(x)
    # central differences of a quadratic are exact; rounding adds about u (1 + |x|^2) / eps
    rounding = 4 * np.finfo(x.dtype).eps * (1 + np.sum(x**2)) / eps
    assert_close(result, 2 * x, tol=max(rounding, tolerance(result)))


def check_gradient_descent(result, f, x0, lr, steps, tol):
    assert f is to_three
    x, lr, steps = as_array(x0), real_number(lr, positive=True), integer(steps, minimum=0)
    assert_real(x)
    tol = optional_tolerance(tol)
    for t in range(steps + 1):
        g = 2 * (x - 3)
        if (tol is not None and np.linalg.norm(g) <= tol) or t == steps:
            break
        x = x - lr * g
    assert_close(result.x, x)
    assert result.steps == t and len(result.path) == t + 1


# -- probability


@np.errstate(divide="ignore")  # a weight of 0 has log -inf, which logsumexp handles
def mixture_joint(weights, means, covs, x) -> np.ndarray:
    """log pi_k + log N(x; mu_k, Sigma_k) by scipy, shape (..., K)."""
    x = np.asarray(x)
    parts = [np.log(w) + scipy.stats.multivariate_normal(m, c).logpdf(x).reshape(x.shape[:-1])
             for w, m, c in zip(weights, means, covs, strict=True)]  # fmt: skip
    return np.stack(parts, -1)


def mixture_log_prob(weights, means, covs, x) -> np.ndarray:
    return scipy.special.logsumexp(mixture_joint(weights, means, covs, x), axis=-1)


def check_gaussian_log_prob(result, x, mean, cov):
    x, mean, cov = as_array(x), as_array(mean), as_array(cov)
    assert_real(x, mean, cov)
    assert symmetric(cov) and cov.shape[-1] >= 1
    batch = np.broadcast_shapes(x.shape[:-1], mean.shape[:-1], cov.shape[:-2])
    d = cov.shape[-1]
    xs = np.broadcast_to(x, batch + (d,)).reshape(-1, d)
    means = np.broadcast_to(mean, batch + (d,)).reshape(-1, d)
    covs = np.broadcast_to(cov, batch + (d, d)).reshape(-1, d, d)
    expected = [scipy.stats.multivariate_normal(m, c).logpdf(p)
                for p, m, c in zip(xs, means, covs, strict=True)]  # fmt: skip
    assert_close(result, np.array(expected).reshape(batch))


def check_covariance(result, X):
    X = as_array(X)
    assert_real(X)
    assert X.ndim == 2 and X.shape[0] >= 2
    assert_close(result, np.cov(X, rowvar=False).reshape(X.shape[1], X.shape[1]))


def check_mixture(result, weights, means, covs):
    weights, means, covs = as_array(weights), as_array(means), as_array(covs)
    assert_real(weights, means, covs)
    assert weights.ndim == 1 and (weights >= 0).all() and abs(weights.sum() - 1) <= 1e-5
    assert symmetric(covs)
    probe = np.zeros((1, means.shape[1]))
    assert_close(result.log_prob(probe), mixture_log_prob(weights, means, covs, probe))


def check_log_prob(result, x):
    x = as_array(x)
    assert_real(x)
    assert_close(result, mixture_log_prob(WEIGHTS, MEANS, COVS, x))


def check_responsibilities(result, x):
    x = as_array(x)
    assert_real(x)
    joint = mixture_joint(WEIGHTS, MEANS, COVS, x)
    assert_close(result, scipy.special.softmax(joint, axis=-1))


def check_sample(result, n, generator, return_labels):
    n = integer(n, minimum=1)
    assert isinstance(return_labels, bool | np.bool_)
    assert generator is None or isinstance(generator, torch.Generator)
    x, z = result if return_labels else (result, None)
    assert x.shape == (n, 2) and bool(torch.isfinite(x).all())
    assert z is None or bool(((z >= 0) & (z < 2)).all())


def check_fit(result, X, k, max_iter, tol, reg_covar, generator, seed):
    X, k = as_array(X), integer(k, minimum=1)
    assert_real(X)
    integer(max_iter, minimum=1)
    real_number(tol)
    real_number(reg_covar)
    assert generator is None or isinstance(generator, torch.Generator)
    if seed is not None:
        integer(seed)
    weights, means, covs = (as_array(t) for t in (result.weights, result.means, result.covs))
    assert means.shape == (k, X.shape[1]) and symmetric(covs)
    assert abs(weights.sum() - 1) <= 1e-5
    history = np.array(result.history)
    assert len(history) >= 1 and np.isfinite(history).all()
    assert (np.diff(history) >= -1e-6 * (1 + np.abs(history[1:]))).all()  # EM never lowers it
    expected = mixture_log_prob(weights, means, covs, X).mean()
    assert history[-1] == pytest.approx(expected, rel=1e-4, abs=1e-4)


# -- information


def distribution(p, dims=(-1,)) -> np.ndarray:
    """p, asserted to be a distribution over the last len(dims) axes."""
    t = torch.as_tensor(p)
    dtype = t.dtype if t.is_floating_point() else torch.get_default_dtype()
    p = as_array(p)
    assert_real(p)
    assert p.ndim >= len(dims) and p.size and (p >= 0).all()
    assert np.allclose(p.sum(axis=dims), 1, atol=torch.finfo(dtype).eps ** 0.5)
    return p


def log_base(base) -> float:
    base = real_number(base, positive=True)
    assert base != 1
    return math.log(base)


def check_entropy(result, p, base):
    assert_close(result, scipy.stats.entropy(distribution(p), axis=-1) / log_base(base))


def check_cross_entropy(result, p, q, base):
    p, q = distribution(p), distribution(q)
    assert_close(result, -scipy.special.xlogy(p, q).sum(-1) / log_base(base))


def check_kl_divergence(result, p, q, base):
    p, q = distribution(p), distribution(q)
    assert_close(result, scipy.special.rel_entr(p, q).sum(-1) / log_base(base))


def joint_entropies(pxy, base):
    """H(X, Y), H(X) and H(Y) of a joint table, by scipy."""
    pxy = distribution(pxy, dims=(-2, -1))
    flat = pxy.reshape(pxy.shape[:-2] + (-1,))
    unit = log_base(base)
    return tuple(scipy.stats.entropy(p, axis=-1) / unit for p in (flat, pxy.sum(-1), pxy.sum(-2)))


def check_joint_entropy(result, pxy, base):
    assert_close(result, joint_entropies(pxy, base)[0])


def check_conditional_entropy(result, pxy, base):
    hxy, hx, _ = joint_entropies(pxy, base)
    assert_close(result, hxy - hx)


def check_mutual_information(result, pxy, base):
    hxy, hx, hy = joint_entropies(pxy, base)
    assert_close(result, hx + hy - hxy)


def check_differential_entropy_gaussian(result, cov, base):
    cov = as_array(cov)
    assert_real(cov)
    assert cov.ndim >= 2 and symmetric(cov) and cov.shape[-1] >= 1
    flat = cov.reshape((-1,) + cov.shape[-2:])
    expected = [scipy.stats.multivariate_normal(cov=c).entropy() for c in flat]
    assert_close(result, np.array(expected).reshape(cov.shape[:-2]) / log_base(base))


CASES = {
    "linalg.lp_norm": Case(
        linalg.lp_norm, {"x": ("array", VECTOR), "p": ("order", 2.0)}, check_lp_norm
    ),
    "linalg.l0_norm": Case(linalg.l0_norm, {"x": ("array", VECTOR)}, check_l0_norm),
    "linalg.toeplitz": Case(
        linalg.toeplitz,
        {"c": ("array", VECTOR), "r": ("optional_array", np.array([1.0, 4.0]))},
        check_toeplitz,
    ),
    "linalg.circulant": Case(linalg.circulant, {"c": ("array", VECTOR)}, check_circulant),
    "linalg.givens": Case(linalg.givens, {"theta": ("angle", 0.5)}, check_givens),
    "linalg.is_symmetric": Case(
        linalg.is_symmetric, {"A": ("symmetric", SPD)} | TOLS, check_is_symmetric
    ),
    "linalg.is_orthogonal": Case(
        linalg.is_orthogonal, {"Q": ("square", ROTATION)} | TOLS, check_is_orthogonal
    ),
    "linalg.is_toeplitz": Case(
        linalg.is_toeplitz, {"A": ("array", TOEPLITZ)} | TOLS, check_is_toeplitz
    ),
    "linalg.is_circulant": Case(
        linalg.is_circulant, {"A": ("square", CIRCULANT)} | TOLS, check_is_circulant
    ),
    "linalg.is_psd": Case(linalg.is_psd, {"A": ("symmetric", SPD)} | TOLS, check_is_psd),
    "linalg.matrix_norm": Case(
        linalg.matrix_norm, {"A": ("array", MATRIX), "kind": ("kind", "fro")}, check_matrix_norm
    ),
    "linalg.rank": Case(
        linalg.rank, {"A": ("array", MATRIX), "tol": ("optional_tolerance", None)}, check_rank
    ),
    "linalg.condition_number": Case(
        linalg.condition_number, {"A": ("array", MATRIX)}, check_condition_number
    ),
    "linalg.span_basis": Case(
        linalg.span_basis,
        {"X": ("array", MATRIX), "tol": ("optional_tolerance", None)},
        check_span_basis,
    ),
    "linear_models.pca": Case(
        linear_models.pca, {"X": ("array", DATA), "k": ("count", 2)}, check_pca
    ),
    "linear_models.PrincipalComponents.transform": Case(
        FIT.transform, {"X": ("array", DATA)}, check_transform
    ),
    "linear_models.PrincipalComponents.inverse_transform": Case(
        FIT.inverse_transform, {"Z": ("array", DATA[:, :2])}, check_inverse_transform
    ),
    "linear_models.lstsq": Case(
        linear_models.lstsq,
        {"A": ("array", SYSTEM_A), "b": ("array", SYSTEM_B), "tol": ("optional_tolerance", None)},
        check_lstsq,
    ),
    "linear_models.ridge": Case(
        linear_models.ridge,
        {"A": ("array", SYSTEM_A), "b": ("array", SYSTEM_B), "lam": ("tolerance", 0.5)},
        check_ridge,
    ),
    "lasso.lasso": Case(
        lasso.lasso,
        {
            "A": ("array", SYSTEM_A),
            "b": ("array", SYSTEM_B),
            "lam": ("positive", 1.0),
            "tol": ("positive", 1e-9),
            "max_iter": ("count", 20_000),
        },
        check_lasso,
    ),
    "calculus.gradient": Case(
        calculus.gradient,
        {"f": ("scalar_function", square_norm), "x": ("array", np.array([1.0, -2.0]))},
        check_gradient,
    ),
    "calculus.jacobian": Case(
        calculus.jacobian,
        {"f": ("function", double), "x": ("array", np.array([1.0, -2.0]))},
        check_jacobian,
    ),
    "calculus.hessian": Case(
        calculus.hessian,
        {"f": ("scalar_function", square_norm), "x": ("array", np.array([1.0, -2.0]))},
        check_hessian,
    ),
    "calculus.numerical_gradient": Case(
        calculus.numerical_gradient,
        {
            "f": ("function", square_norm),
            "x": ("array", np.array([1.0, -2.0])),
            "eps": ("positive", 1e-6),
        },
        check_numerical_gradient,
    ),
    "calculus.gradient_descent": Case(
        calculus.gradient_descent,
        {
            "f": ("scalar_function", to_three),
            "x0": ("array", np.array([0.0, 1.0])),
            "lr": ("positive", 0.25),
            "steps": ("count", 10),
            "tol": ("optional_tolerance", None),
        },
        check_gradient_descent,
    ),
    "probability.gaussian_log_prob": Case(
        probability.gaussian_log_prob,
        {"x": ("array", POINTS), "mean": ("array", np.zeros(2)), "cov": ("symmetric", SPD)},
        check_gaussian_log_prob,
    ),
    "probability.covariance": Case(
        probability.covariance, {"X": ("array", DATA)}, check_covariance
    ),
    "probability.GaussianMixture": Case(
        probability.GaussianMixture,
        {
            "weights": ("distribution", WEIGHTS),
            "means": ("array", MEANS),
            "covs": ("symmetric", COVS),
        },
        check_mixture,
    ),
    "probability.GaussianMixture.log_prob": Case(
        MIXTURE.log_prob, {"x": ("array", POINTS)}, check_log_prob
    ),
    "probability.GaussianMixture.responsibilities": Case(
        MIXTURE.responsibilities, {"x": ("array", POINTS)}, check_responsibilities
    ),
    "probability.GaussianMixture.sample": Case(
        MIXTURE.sample,
        {"n": ("count", 5), "generator": ("generator", None), "return_labels": ("flag", False)},
        check_sample,
    ),
    "probability.GaussianMixture.fit": Case(
        probability.GaussianMixture.fit,
        {
            "X": ("array", BLOBS),
            "k": ("count", 2),
            "max_iter": ("count", 50),
            "tol": ("tolerance", 1e-6),
            "reg_covar": ("tolerance", 1e-6),
            "generator": ("generator", None),
            "seed": ("seed", 0),
        },
        check_fit,
    ),
    "information.entropy": Case(
        information.entropy, {"p": ("distribution", P), "base": ("base", 2)}, check_entropy
    ),
    "information.cross_entropy": Case(
        information.cross_entropy,
        {"p": ("distribution", P), "q": ("distribution", Q), "base": ("base", 2)},
        check_cross_entropy,
    ),
    "information.kl_divergence": Case(
        information.kl_divergence,
        {"p": ("distribution", P), "q": ("distribution", Q), "base": ("base", 2)},
        check_kl_divergence,
    ),
    "information.joint_entropy": Case(
        information.joint_entropy,
        {"pxy": ("distribution", PXY), "base": ("base", 2)},
        check_joint_entropy,
    ),
    "information.conditional_entropy": Case(
        information.conditional_entropy,
        {"pxy": ("distribution", PXY), "base": ("base", 2)},
        check_conditional_entropy,
    ),
    "information.mutual_information": Case(
        information.mutual_information,
        {"pxy": ("distribution", PXY), "base": ("base", 2)},
        check_mutual_information,
    ),
    "information.differential_entropy_gaussian": Case(
        information.differential_entropy_gaussian,
        {"cov": ("symmetric", SPD), "base": ("base", 2)},
        check_differential_entropy_gaussian,
    ),
}


# ---- the tests --------------------------------------------------------------------------------


def public_callables() -> list[str]:
    """Every name in the maths modules' ``__all__``, and every public method of their classes."""
    names = []
    for module in MODULES:
        prefix = module.__name__.rsplit(".", 1)[1]
        for name in module.__all__:
            obj = getattr(module, name)
            assert callable(obj), f"{prefix}.{name} is public but not callable: add a check here"
            names.append(f"{prefix}.{name}")
            if inspect.isclass(obj):
                names += [f"{prefix}.{name}.{attr}" for attr, value in vars(obj).items()
                          if not attr.startswith("_") and (inspect.isfunction(value)
                          or isinstance(value, classmethod | staticmethod))]  # fmt: skip
    return names


def test_every_public_callable_has_an_entry():
    public = set(public_callables())
    missing = public - set(CASES) - set(RECORDS)
    assert not missing, f"no entry in CASES for {sorted(missing)}: say how to call and check it"
    assert not (set(CASES) | set(RECORDS)) - public, "entries for names that are not public"


@pytest.mark.parametrize("name", sorted(RECORDS))
def test_records_are_plain_dataclasses(name):
    module, cls = name.split(".")
    assert dataclasses.is_dataclass(getattr(globals()[module], cls))


def names_argument(message: str, argument: str) -> bool:
    """Whether the message names the argument as a word (``A`` in ``A.shape[0]`` counts)."""
    return re.search(rf"(?<![\w.]){re.escape(argument)}(?!\w)", message) is not None


@pytest.mark.parametrize("name", sorted(CASES))
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_malformed_input_gets_a_clear_error_or_the_right_answer(name, data):
    case = CASES[name]
    argument = data.draw(st.sampled_from(sorted(case.args)), label="argument")
    kind, valid = case.args[argument]
    args = {arg: value for arg, (_, value) in case.args.items()}
    args[argument] = data.draw(malformed(kind, valid), label=argument)
    try:
        result = case.call(**args)
    except (ValueError, TypeError) as err:
        assert names_argument(str(err), argument), f"{err!r} does not name {argument}"
        return
    case.check(result, **args)
