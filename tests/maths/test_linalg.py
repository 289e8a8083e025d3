"""coursekit.maths.linalg against NumPy and SciPy, and the identities the chapter states."""

import math

import numpy as np
import pytest
import scipy.linalg
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from coursekit.maths.linalg import (
    circulant,
    condition_number,
    givens,
    is_circulant,
    is_orthogonal,
    is_psd,
    is_symmetric,
    is_toeplitz,
    l0_norm,
    lp_norm,
    matrix_norm,
    rank,
    span_basis,
    toeplitz,
)  # fmt: skip

FEW = settings(max_examples=25, deadline=None)
seeds = st.integers(0, 2**31 - 1)
sizes = st.integers(1, 6)


def randn(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


# ---- vector norms ---------------------------------------------------------------------------


@FEW
@given(seed=seeds, n=sizes, p=st.sampled_from([0.1, 0.5, 1.0, 1.5, 2.0, 3.0, math.inf]))
def test_lp_norm_matches_numpy(seed, n, p):
    x = randn(n, seed=seed)
    assert math.isclose(lp_norm(x, p).item(), np.linalg.norm(x.numpy(), ord=p), rel_tol=1e-9)


@FEW
@given(seed=seeds, n=sizes, p=st.floats(1.0, 8.0))
def test_lp_norm_satisfies_the_triangle_inequality_for_p_at_least_1(seed, n, p):
    x, y = randn(n, seed=seed), randn(n, seed=seed + 1)
    assert lp_norm(x + y, p) <= lp_norm(x, p) + lp_norm(y, p) + 1e-12


@FEW
@given(seed=seeds, n=sizes, p=st.floats(0.1, 8.0), a=st.floats(-10, 10))
def test_lp_norm_is_absolutely_homogeneous(seed, n, p, a):
    x = randn(n, seed=seed)
    assert torch.allclose(lp_norm(a * x, p), abs(a) * lp_norm(x, p), rtol=1e-9, atol=1e-12)


def test_lp_norm_below_1_breaks_the_triangle_inequality():
    e1, e2 = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    assert lp_norm(e1 + e2, 0.5) > lp_norm(e1, 0.5) + lp_norm(e2, 0.5)  # 4 > 2


def test_lp_norm_uses_absolute_values_of_negative_entries():
    assert lp_norm(torch.tensor([-1.0, -1.0, -1.0]), 3).item() == pytest.approx(3 ** (1 / 3))


@pytest.mark.parametrize("p", [0, -1, float("nan")])
def test_lp_norm_rejects_a_non_positive_p(p):
    with pytest.raises(ValueError, match="p must be > 0"):
        lp_norm(torch.ones(3), p)


def test_lp_norm_rejects_a_matrix():
    with pytest.raises(ValueError, match=r"x must be a vector \(1-D\), got shape \(2, 2\)"):
        lp_norm(torch.ones(2, 2), 2)


def test_l0_norm_counts_non_zeros():
    x = np.array([0.0, 1.5, 0.0, -2.0, 1e-30])
    assert l0_norm(x).item() == np.count_nonzero(x) == 3


def test_numpy_input_keeps_float64_and_integers_become_float():
    assert lp_norm(np.array([3.0, 4.0]), 2).dtype == torch.float64
    assert toeplitz(np.array([1, 2])).dtype == torch.get_default_dtype()
    assert givens(torch.tensor(0.5, dtype=torch.float64)).dtype == torch.float64


# ---- structured matrices --------------------------------------------------------------------


@FEW
@given(seed=seeds, m=sizes, n=sizes)
def test_toeplitz_matches_scipy(seed, m, n):
    c, r = randn(m, seed=seed), randn(n, seed=seed + 1)
    assert np.allclose(toeplitz(c, r).numpy(), scipy.linalg.toeplitz(c.numpy(), r.numpy()))
    assert np.allclose(toeplitz(c).numpy(), scipy.linalg.toeplitz(c.numpy()))


@FEW
@given(seed=seeds, n=sizes)
def test_circulant_matches_scipy(seed, n):
    c = randn(n, seed=seed)
    assert np.allclose(circulant(c).numpy(), scipy.linalg.circulant(c.numpy()))


@FEW
@given(seed=seeds, n=st.integers(2, 8))
def test_circulant_is_diagonalised_by_the_dft(seed, n):
    c, x = randn(n, seed=seed), randn(n, seed=seed + 1)
    F = torch.fft.fft(torch.eye(n, dtype=torch.complex128), dim=0)  # DFT matrix
    D = F @ circulant(c).to(torch.complex128) @ torch.linalg.inv(F)
    assert torch.allclose(D, torch.diag(torch.fft.fft(c)), atol=1e-9)
    convolution = torch.fft.ifft(torch.fft.fft(c) * torch.fft.fft(x)).real
    assert torch.allclose(circulant(c) @ x, convolution)


def test_convolution_is_a_toeplitz_product():
    k, x = randn(3, seed=1), randn(8, seed=2)
    full = torch.cat([k, torch.zeros(len(x) - 1, dtype=k.dtype)])
    T = toeplitz(full, torch.zeros(len(x), dtype=k.dtype))  # (len(x) + 2, len(x))
    assert np.allclose((T @ x).numpy(), np.convolve(k.numpy(), x.numpy()))


@FEW
@given(a=st.floats(-7, 7), b=st.floats(-7, 7))
def test_givens_rotations_compose_by_adding_angles(a, b):
    assert torch.allclose(givens(a) @ givens(b), givens(a + b), atol=1e-6)


def test_givens_rotates_counter_clockwise():
    theta = torch.tensor(0.3, dtype=torch.float64)
    G = givens(theta)
    assert torch.allclose(G @ torch.tensor([1.0, 0.0], dtype=torch.float64),
                          torch.stack([torch.cos(theta), torch.sin(theta)]))
    assert is_orthogonal(G) and torch.linalg.det(G).item() == pytest.approx(1.0)


def test_givens_rejects_a_vector_angle():
    with pytest.raises(ValueError, match="theta must be a scalar"):
        givens(torch.zeros(2))


# ---- predicates -----------------------------------------------------------------------------


def test_is_symmetric():
    B = randn(4, 4)
    assert is_symmetric(B + B.T) and not is_symmetric(B) and not is_symmetric(randn(3, 2))


def test_is_orthogonal_accepts_q_from_qr_and_rejects_others():
    Q, R = torch.linalg.qr(randn(5, 5))
    assert is_orthogonal(Q) and not is_orthogonal(R) and not is_orthogonal(Q[:, :3])


def test_is_toeplitz_and_is_circulant():
    c = np.arange(1.0, 5.0)
    assert is_toeplitz(scipy.linalg.toeplitz(c, c[::-1]))
    assert is_circulant(scipy.linalg.circulant(c))
    assert not is_circulant(scipy.linalg.toeplitz(c)) and not is_toeplitz(randn(3, 3))


@FEW
@given(seed=seeds, n=sizes, shift=st.floats(-3, 3))
def test_is_psd_agrees_with_numpy_eigenvalues(seed, n, shift):
    B = randn(n, n, seed=seed)
    A = B @ B.T / n + shift * torch.eye(n, dtype=B.dtype)
    smallest = np.linalg.eigvalsh(A.numpy()).min()
    if abs(smallest) > 1e-4:  # away from the tolerance band
        assert is_psd(A) == (smallest > 0)


def test_predicate_tolerances_are_keywords():
    A = torch.eye(3, dtype=torch.float64)
    A[0, 1] = 1e-4
    assert not is_symmetric(A) and is_symmetric(A, atol=1e-3)
    assert not is_psd(-1e-3 * torch.eye(2)) and is_psd(-1e-3 * torch.eye(2), atol=1e-2)


def test_is_psd_rejects_a_non_square_matrix():
    with pytest.raises(ValueError, match=r"A must be square, got shape \(3, 2\)"):
        is_psd(torch.ones(3, 2))


def test_predicates_reject_a_vector():
    with pytest.raises(ValueError, match=r"A must be a matrix \(2-D\), got shape \(3,\)"):
        is_symmetric(torch.ones(3))


# ---- matrix norms, trace, rank, condition number, span ---------------------------------------


@pytest.mark.parametrize("kind,ord", [("1", 1), ("inf", np.inf), ("fro", "fro"),
                                      ("spectral", 2), ("nuclear", "nuc")])
@pytest.mark.parametrize("shape", [(4, 4), (5, 3), (2, 6)])
def test_matrix_norm_matches_numpy(kind, ord, shape):
    A = randn(*shape, seed=sum(shape))
    expected = np.linalg.norm(A.numpy(), ord=ord)
    assert matrix_norm(A, kind).item() == pytest.approx(expected, rel=1e-10)


def test_matrix_norm_rejects_an_unknown_kind():
    with pytest.raises(ValueError, match="kind must be one of"):
        matrix_norm(torch.eye(2), "2")


@FEW
@given(seed=seeds, m=sizes, n=sizes)
def test_frobenius_norm_three_ways(seed, m, n):
    A = randn(m, n, seed=seed)
    fro = matrix_norm(A, "fro")
    assert torch.allclose(fro, torch.trace(A.T @ A).sqrt())
    assert torch.allclose(fro, torch.linalg.svdvals(A).pow(2).sum().sqrt())


@FEW
@given(seed=seeds, m=sizes, n=sizes)
def test_trace_is_cyclic_and_bounded_by_frobenius_norms(seed, m, n):
    A, B = randn(m, n, seed=seed), randn(n, m, seed=seed + 1)
    assert torch.allclose(torch.trace(A @ B), torch.trace(B @ A))
    assert torch.trace(A @ B) <= matrix_norm(A, "fro") * matrix_norm(B, "fro") + 1e-12


@FEW
@given(seed=seeds, n=sizes)
def test_determinant_from_eigenvalues_and_singular_values(seed, n):
    A = randn(n, n, seed=seed)
    det = torch.linalg.det(A)
    assert torch.allclose(torch.linalg.eigvals(A).prod().real, det, atol=1e-9)
    assert torch.allclose(torch.linalg.svdvals(A).prod(), det.abs(), atol=1e-9)


@FEW
@given(seed=seeds, m=sizes, n=sizes, r=sizes)
def test_rank_matches_numpy_on_low_rank_products(seed, m, n, r):
    A = randn(m, r, seed=seed) @ randn(r, n, seed=seed + 1)
    assert rank(A).item() == np.linalg.matrix_rank(A.numpy()) == min(m, n, r)


def test_rank_respects_tol():
    A = torch.diag(torch.tensor([1.0, 1e-3, 1e-9], dtype=torch.float64))
    assert (rank(A).item(), rank(A, tol=1e-6).item(), rank(A, tol=1e-2).item()) == (3, 2, 1)


@FEW
@given(seed=seeds, m=sizes, n=sizes)
def test_condition_number_matches_numpy(seed, m, n):
    A = randn(m, n, seed=seed)
    assert condition_number(A).item() == pytest.approx(np.linalg.cond(A.numpy()), rel=1e-8)


def test_condition_number_of_a_singular_matrix_is_infinite_or_huge():
    assert math.isinf(condition_number(torch.tensor([[1.0, 0.0], [0.0, 0.0]])).item())
    assert condition_number(torch.tensor([[1.0, 2.0], [2.0, 4.0]])).item() > 1e6  # rounding noise


@FEW
@given(seed=seeds, n=st.integers(2, 6))
def test_perturbation_bound_holds_and_is_reached(seed, n):
    A, b, db = randn(n, n, seed=seed), randn(n, seed=seed + 1), 1e-6 * randn(n, seed=seed + 2)
    x, dx = torch.linalg.solve(A, b), torch.linalg.solve(A, db)
    kappa = condition_number(A)
    assert dx.norm() / x.norm() <= kappa * db.norm() / b.norm() * (1 + 1e-9)
    U = torch.linalg.svd(A).U  # b along U_1, db along U_n: the worst case
    x, dx = torch.linalg.solve(A, U[:, 0]), torch.linalg.solve(A, 1e-6 * U[:, -1])
    assert torch.allclose(dx.norm() / x.norm(), kappa * 1e-6, rtol=1e-6)


@FEW
@given(seed=seeds, m=st.integers(2, 7), n=sizes, r=sizes)
def test_span_basis_is_orthonormal_and_spans_the_columns(seed, m, n, r):
    X = randn(m, r, seed=seed) @ randn(r, n, seed=seed + 1)
    Q, ref = span_basis(X), torch.from_numpy(scipy.linalg.orth(X.numpy()))
    assert Q.shape == ref.shape
    assert torch.allclose(Q.T @ Q, torch.eye(Q.shape[1], dtype=Q.dtype), atol=1e-10)
    assert torch.allclose(Q @ Q.T, ref @ ref.T, atol=1e-8)  # the same orthogonal projector


@pytest.mark.parametrize("A", [np.zeros((3, 3)), np.diag([2.0, 0.0, 1.0])],
                         ids=["zero-matrix", "diagonal-with-a-zero"])
def test_condition_number_is_inf_like_numpy_when_sigma_min_is_zero(A):
    assert np.linalg.cond(A) == math.inf
    assert condition_number(A).item() == math.inf  # nan (0 / 0) would fail this


def test_condition_number_rejects_an_empty_matrix():
    with pytest.raises(ValueError, match=r"A must not be empty, got shape \(0, 3\)"):
        condition_number(torch.zeros(0, 3))


# ---- malformed and edge-case input ------------------------------------------------------------


@pytest.mark.parametrize("p", [1, 2, 0.5, math.inf])
def test_lp_norm_of_an_empty_vector_is_zero_like_numpy(p):
    assert np.linalg.norm(np.zeros(0), p) == 0.0
    assert lp_norm(torch.zeros(0), p).item() == 0.0


@pytest.mark.parametrize("kind", ["1", "inf", "fro", "spectral", "nuclear"])
@pytest.mark.parametrize("shape", [(0, 0), (0, 3), (3, 0)])
def test_matrix_norm_of_an_empty_matrix_is_zero(kind, shape):
    assert matrix_norm(torch.zeros(shape), kind).item() == 0.0


@pytest.mark.parametrize("predicate,shape", [
    (is_symmetric, (0, 0)), (is_orthogonal, (0, 0)), (is_psd, (0, 0)),
    (is_toeplitz, (0, 0)), (is_toeplitz, (0, 3)), (is_toeplitz, (3, 0)), (is_circulant, (0, 0)),
])  # fmt: skip
def test_predicates_hold_vacuously_on_an_empty_matrix(predicate, shape):
    assert predicate(torch.zeros(shape)) is True


def test_lp_norm_of_a_complex_vector_matches_numpy():
    x = np.array([3 + 4j, -1j, 2.0])
    for p in (1, 2, 3, math.inf):
        assert lp_norm(x, p).item() == pytest.approx(np.linalg.norm(x, p))


@pytest.mark.parametrize("p", [True, "2", None, float("nan"), -math.inf, 1j])
def test_lp_norm_rejects_a_p_that_is_not_a_positive_number(p):
    with pytest.raises(ValueError, match="p must be > 0"):
        lp_norm(torch.ones(2), p)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("function", [
    lambda A: lp_norm(A[0], 2), lambda A: l0_norm(A[0]), lambda A: toeplitz(A[0]),
    lambda A: circulant(A[0]), is_symmetric, is_orthogonal, is_toeplitz, is_circulant, is_psd,
    matrix_norm, rank, condition_number, span_basis,
], ids=["lp_norm", "l0_norm", "toeplitz", "circulant", "is_symmetric", "is_orthogonal",
        "is_toeplitz", "is_circulant", "is_psd", "matrix_norm", "rank", "condition_number",
        "span_basis"])  # fmt: skip
def test_linalg_rejects_nan_and_inf_entries(function, bad):
    A = torch.eye(2)
    A[0, 1] = bad
    with pytest.raises(ValueError, match=r"^(A|Q|X|x|c) must be finite, got nan or inf"):
        function(A)


def test_rank_of_a_matrix_with_an_inf_entry_is_an_error_not_0():
    with pytest.raises(ValueError, match="A must be finite"):
        rank(torch.tensor([[1.0, math.inf], [0.0, 1.0]]))


@pytest.mark.parametrize("tol", [-1.0, math.nan, math.inf, True, "1e-6"])
def test_tolerances_reject_negative_nan_inf_bool_and_strings(tol):
    for name, call in [
        ("rtol", lambda: is_symmetric(torch.eye(2), rtol=tol)),
        ("atol", lambda: is_psd(torch.eye(2), atol=tol)),
        ("atol", lambda: is_toeplitz(torch.eye(2), atol=tol)),
        ("rtol", lambda: is_circulant(torch.eye(2), rtol=tol)),
        ("atol", lambda: is_orthogonal(torch.eye(2), atol=tol)),
        ("tol", lambda: rank(torch.eye(2), tol)),
        ("tol", lambda: span_basis(torch.eye(2), tol)),
    ]:
        with pytest.raises(ValueError, match=f"^{name} must be a"):
            call()


@pytest.mark.parametrize("predicate", [is_symmetric, is_orthogonal, is_psd])
def test_real_only_predicates_reject_complex_matrices(predicate):
    with pytest.raises(ValueError, match=r"^(A|Q) must be real, got dtype torch.complex"):
        predicate(torch.eye(2, dtype=torch.complex64))


def test_structure_of_complex_matrices_is_kept():
    c = np.array([1 + 1j, 2.0, -3j])
    np.testing.assert_allclose(toeplitz(c).numpy(), scipy.linalg.toeplitz(c))
    np.testing.assert_allclose(circulant(c).numpy(), scipy.linalg.circulant(c))
    assert is_toeplitz(scipy.linalg.toeplitz(c)) and is_circulant(scipy.linalg.circulant(c))
    A = np.array([[1 + 1j, 2.0], [0.5j, 3.0]])
    assert rank(A).item() == np.linalg.matrix_rank(A)
    assert condition_number(A).item() == pytest.approx(np.linalg.cond(A))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("function", [
    rank, condition_number, span_basis, is_psd, lambda A: matrix_norm(A, "spectral"),
], ids=["rank", "condition_number", "span_basis", "is_psd", "matrix_norm"])  # fmt: skip
def test_decompositions_reject_half_precision_with_a_clear_error(function, dtype):
    with pytest.raises(ValueError, match=f"^(A|X) must be single or double precision.*{dtype}"):
        function(torch.eye(2, dtype=dtype))


@pytest.mark.parametrize("theta", [math.nan, math.inf, 1j, "0.5", None])
def test_givens_rejects_an_angle_that_is_not_a_finite_real_number(theta):
    with pytest.raises(ValueError, match="^theta must be"):
        givens(theta)


@pytest.mark.parametrize("kind", [None, 2, True, "FRO"])
def test_matrix_norm_rejects_an_unknown_kind_of_any_type(kind):
    with pytest.raises(ValueError, match="kind must be one of"):
        matrix_norm(torch.eye(2), kind)


@pytest.mark.parametrize("function", [
    lambda x: lp_norm(x, 3), lambda x: lp_norm(x, math.inf), l0_norm, toeplitz, circulant,
    lambda x: matrix_norm(x[:, None], "fro"), lambda x: givens(x[0]),
], ids=["lp_norm", "lp_norm-inf", "l0_norm", "toeplitz", "circulant", "matrix_norm", "givens"])
def test_input_checks_leave_vmap_working(function):
    X = randn(4, 3)
    batched = torch.func.vmap(function)(X)
    assert torch.allclose(batched, torch.stack([function(x) for x in X]))
