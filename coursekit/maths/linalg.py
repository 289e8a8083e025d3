r"""Linear algebra from the definitions: norms, structured matrices, matrix norms, rank, span.

Each function is a few lines of torch written from the formula in its docstring, and tested
against NumPy or SciPy. Inputs may be tensors or NumPy arrays; floating dtypes are kept
(integers and bools become the default float). PCA, least squares and ridge live in
`coursekit.maths.linear_models`, the lasso in `coursekit.maths.lasso`.

Malformed input raises a `ValueError` that names the argument: entries that are `nan` or
`inf`, the wrong number of dimensions, a tolerance that is negative or not a finite number,
half precision where a decomposition (SVD, eigenvalues) is needed. Inside `torch.func.vmap`,
which the norms and structured matrices compose with, the finiteness check cannot run and is
skipped. Empty input has the answer the definition gives: the norms of an empty vector or
matrix are 0 (the empty sum, as NumPy gives), its rank is 0, and the predicates hold
vacuously; only `condition_number`, a ratio of singular values there are none of, refuses it.
Complex input is kept where the definition carries over (the norms, Toeplitz and circulant
structure, rank, condition number, span); `is_symmetric`, `is_orthogonal` and `is_psd` are
defined for real matrices and refuse it.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch
from torch import Tensor

from coursekit._validation import (
    as_real_float,
    finite,
    finite_outside_vmap,
    matrix,
    nonempty,
    nonnegative,
    positive,
    single_or_double,
    vector,
)
from coursekit.maths._tolerance import default_tol

__all__ = [
    "circulant", "condition_number", "givens", "is_circulant", "is_orthogonal", "is_psd",
    "is_symmetric", "is_toeplitz", "l0_norm", "lp_norm", "matrix_norm", "rank", "span_basis",
    "toeplitz",
]  # fmt: skip


def lp_norm(x: Tensor | np.ndarray, p: float) -> Tensor:
    r"""The $\ell_p$ norm $\lVert x \rVert_p = \left(\sum_{i=1}^n |x_i|^p\right)^{1/p}$.

    For $p = \infty$ it is $\max_i |x_i|$. For $0 < p < 1$ the triangle inequality fails: the
    result is only a quasi-norm. The absolute values matter: $\sum_i x_i^p$ is negative (or not
    real) as soon as an entry is negative.

    Args:
        x: a vector.
        p: any $p > 0$, or `math.inf`.

    Returns:
        A 0-d tensor; 0 for an empty x (the empty sum, and the max of no $|x_i| \ge 0$, as
            NumPy gives).

    Raises:
        ValueError: if x is not 1-D or not finite, or p is not a positive number.

    Examples:
        >>> import math
        >>> import torch
        >>> from coursekit.maths.linalg import lp_norm
        >>> x = torch.tensor([3.0, -4.0])
        >>> lp_norm(x, 2), lp_norm(x, 1), lp_norm(x, math.inf)
        (tensor(5.), tensor(7.), tensor(4.))
    """
    x, p = finite_outside_vmap(vector(x, "x"), "x"), _order(p)
    if math.isinf(p):
        return x.abs().max() if x.numel() else x.abs().sum()  # the max of nothing: 0, as NumPy
    return x.abs().pow(p).sum().pow(1 / p)


def _order(p) -> float:
    """The order p of an l_p norm: a number p > 0, or math.inf."""
    if isinstance(p, numbers.Real) and not isinstance(p, bool) and p == math.inf:
        return math.inf
    try:
        return positive(p, "p")
    except ValueError:
        raise ValueError(f"p must be > 0 (or math.inf), got {p!r}") from None


def l0_norm(x: Tensor | np.ndarray) -> Tensor:
    r"""The number of non-zero entries, $\lVert x \rVert_0 = \#\{i : x_i \ne 0\}$.

    Not a norm ($\lVert 2x \rVert_0 = \lVert x \rVert_0$), but the limit of
    $\sum_i |x_i|^p$ as $p \to 0$: the sparsity the lasso aims for.

    Args:
        x: a vector.

    Returns:
        A 0-d integer tensor.

    Raises:
        ValueError: if x is not 1-D or not finite.

    Examples:
        >>> import torch
        >>> from coursekit.maths.linalg import l0_norm
        >>> l0_norm(torch.tensor([0.0, 2.0, 0.0, -1.0]))
        tensor(2)
    """
    return torch.count_nonzero(finite_outside_vmap(vector(x, "x"), "x"))


def toeplitz(c: Tensor | np.ndarray, r: Tensor | np.ndarray | None = None) -> Tensor:
    r"""The Toeplitz matrix $T_{ij} = c_{i-j}$ for $i \ge j$ and $r_{j-i}$ for $i < j$.

    Constant along every diagonal; first column `c`, first row `r` (whose first entry is
    ignored), as `scipy.linalg.toeplitz`. `r` defaults to `c` (conjugated).

    Args:
        c: the first column, length m.
        r: the first row, length n.

    Returns:
        An (m, n) tensor.

    Raises:
        ValueError: if c or r is not 1-D or not finite.

    Examples:
        >>> import torch
        >>> from coursekit.maths.linalg import toeplitz
        >>> toeplitz(torch.tensor([1, 2, 3]), torch.tensor([1, 4]))
        tensor([[1., 4.],
                [2., 1.],
                [3., 2.]])
    """
    c = finite_outside_vmap(vector(c, "c"), "c")
    r = c.conj() if r is None else finite_outside_vmap(vector(r, "r"), "r")
    values = torch.cat([r[1:].flip(0), c])  # r_{n-1}, ..., r_1, c_0, ..., c_{m-1}
    i, j = torch.arange(len(c))[:, None], torch.arange(len(r))[None, :]
    return values[len(r) - 1 + i - j]


def circulant(c: Tensor | np.ndarray) -> Tensor:
    r"""The circulant matrix $C_{ij} = c_{(i - j) \bmod n}$: each column is the previous one
    shifted down by one, wrapping around (first column `c`, as `scipy.linalg.circulant`).

    Args:
        c: the first column, length n.

    Returns:
        An (n, n) tensor.

    Raises:
        ValueError: if c is not 1-D or not finite.

    Examples:
        >>> import torch
        >>> from coursekit.maths.linalg import circulant
        >>> circulant(torch.tensor([1, 2, 3]))
        tensor([[1., 3., 2.],
                [2., 1., 3.],
                [3., 2., 1.]])
    """
    c = finite_outside_vmap(vector(c, "c"), "c")
    i, j = torch.arange(len(c))[:, None], torch.arange(len(c))[None, :]
    return c[(i - j) % max(len(c), 1)]  # an empty c gives the empty matrix


def givens(theta: float | Tensor) -> Tensor:
    r"""The 2x2 Givens rotation by the angle $\theta$ (radians), counter-clockwise:

    $$
    G(\theta) = \begin{bmatrix} \cos\theta & -\sin\theta \\ \sin\theta & \cos\theta \end{bmatrix}
    $$

    Args:
        theta: a scalar angle.

    Returns:
        A (2, 2) tensor.

    Raises:
        ValueError: if theta is not a finite real scalar.

    Examples:
        >>> import math
        >>> import torch
        >>> from coursekit.maths.linalg import givens
        >>> givens(math.pi / 6) @ torch.tensor([1.0, 0.0])  # 30 degrees up from the x axis
        tensor([0.8660, 0.5000])
    """
    theta = finite_outside_vmap(as_real_float(theta, "theta"), "theta")
    if theta.ndim != 0:
        raise ValueError(f"theta must be a scalar angle, got shape {tuple(theta.shape)}")
    cos, sin = torch.cos(theta), torch.sin(theta)
    return torch.stack([torch.stack([cos, -sin]), torch.stack([sin, cos])])


def is_symmetric(A: Tensor | np.ndarray, *, rtol: float = 1e-5, atol: float = 1e-6) -> bool:
    r"""Whether $A = A^\top$.

    Args:
        A: a real matrix (a non-square one is not symmetric).
        rtol: relative tolerance, as in `torch.allclose`, $\ge 0$.
        atol: absolute tolerance, as in `torch.allclose`, $\ge 0$.

    Returns:
        A bool.

    Raises:
        ValueError: if A is not a finite real 2-D matrix, or a tolerance is negative or not a
            finite number.

    Examples:
        >>> import torch
        >>> from coursekit.maths.linalg import is_symmetric
        >>> B = torch.randn(3, 3)
        >>> is_symmetric(B + B.T), is_symmetric(torch.tensor([[0.0, 1.0], [0.0, 0.0]]))
        (True, False)
    """
    A, (rtol, atol) = _real_matrix(A, "A"), _tolerances(rtol, atol)
    return A.shape[0] == A.shape[1] and torch.allclose(A, A.mT, rtol=rtol, atol=atol)


def _real_matrix(A, name: str) -> Tensor:
    return finite(matrix(as_real_float(A, name), name), name)


def _tolerances(rtol, atol) -> tuple[float, float]:
    return nonnegative(rtol, "rtol"), nonnegative(atol, "atol")


def is_orthogonal(Q: Tensor | np.ndarray, *, rtol: float = 1e-5, atol: float = 1e-6) -> bool:
    r"""Whether Q is square with $Q^\top Q = I$ (orthonormal columns, so $Q^{-1} = Q^\top$).

    Args and Raises as `is_symmetric`.

    Examples:
        >>> import torch
        >>> from coursekit.maths.linalg import givens, is_orthogonal
        >>> is_orthogonal(givens(0.3)), is_orthogonal(2 * torch.eye(2))
        (True, False)
    """
    Q, (rtol, atol) = _real_matrix(Q, "Q"), _tolerances(rtol, atol)
    eye = torch.eye(Q.shape[1], dtype=Q.dtype, device=Q.device)
    return Q.shape[0] == Q.shape[1] and torch.allclose(Q.mT @ Q, eye, rtol=rtol, atol=atol)


def is_toeplitz(A: Tensor | np.ndarray, *, rtol: float = 1e-5, atol: float = 1e-6) -> bool:
    r"""Whether A is constant along each diagonal, $A_{ij} = A_{i+1, j+1}$.

    Args and Raises as `is_symmetric`; A may be rectangular, and complex. An empty A is
    Toeplitz: it has no diagonal that could fail to be constant.

    Examples:
        >>> import torch
        >>> from coursekit.maths.linalg import is_toeplitz, toeplitz
        >>> T = toeplitz(torch.randn(4), torch.randn(3))
        >>> is_toeplitz(T), is_toeplitz(torch.randn(3, 3))
        (True, False)
    """
    A, (rtol, atol) = finite(matrix(A, "A"), "A"), _tolerances(rtol, atol)
    if A.numel() == 0:
        return True
    return torch.allclose(A, toeplitz(A[:, 0], A[0, :]), rtol=rtol, atol=atol)


def is_circulant(A: Tensor | np.ndarray, *, rtol: float = 1e-5, atol: float = 1e-6) -> bool:
    r"""Whether A is square and circulant, $A_{ij} = A_{(i-j) \bmod n, 0}$.

    Args and Raises as `is_symmetric`; A may be complex.

    Examples:
        >>> import torch
        >>> from coursekit.maths.linalg import circulant, is_circulant, toeplitz
        >>> C, T = circulant(torch.randn(4)), toeplitz(torch.arange(4.0))
        >>> is_circulant(C), is_circulant(T)
        (True, False)
    """
    A, (rtol, atol) = finite(matrix(A, "A"), "A"), _tolerances(rtol, atol)
    if A.shape[0] != A.shape[1]:
        return False
    return A.numel() == 0 or torch.allclose(A, circulant(A[:, 0]), rtol=rtol, atol=atol)


def is_psd(A: Tensor | np.ndarray, *, rtol: float = 1e-5, atol: float = 1e-6) -> bool:
    r"""Whether A is symmetric positive semi-definite: $x^\top A x \ge 0$ for every $x$, that is
    every eigenvalue $\ge 0$, down to $-(\mathrm{atol} + \mathrm{rtol} \cdot \max_i |\lambda_i|)$.

    Args and Raises as `is_symmetric`. The quadratic form needs a square A: anything else
    raises `ValueError`, as does half precision (the eigenvalues need single or double).

    Examples:
        >>> import torch
        >>> from coursekit.maths.linalg import is_psd
        >>> B = torch.randn(5, 3)
        >>> is_psd(B @ B.T), is_psd(-torch.eye(2))
        (True, False)
    """
    A, (rtol, atol) = _real_matrix(A, "A"), _tolerances(rtol, atol)
    if A.shape[0] != A.shape[1]:
        raise ValueError(f"A must be square, got shape {tuple(A.shape)}")
    single_or_double(A, "A")
    if not is_symmetric(A, rtol=rtol, atol=atol):
        return False
    if A.numel() == 0:  # x^T A x >= 0 for the only x there is
        return True
    eigenvalues = torch.linalg.eigvalsh((A + A.mT) / 2)
    return bool(eigenvalues.min() >= -(atol + rtol * eigenvalues.abs().max()))


def matrix_norm(A: Tensor | np.ndarray, kind: str = "fro") -> Tensor:
    r"""A matrix norm, by `kind`:

    - `"1"`: the largest column sum, $\max_j \sum_i |a_{ij}|$;
    - `"inf"`: the largest row sum, $\max_i \sum_j |a_{ij}|$;
    - `"fro"`: Frobenius, $\sqrt{\sum_{ij} a_{ij}^2}$, which equals
      $\sqrt{\operatorname{tr}(A^\top A)}$ and $\sqrt{\sum_i \sigma_i^2}$;
    - `"spectral"`: the largest singular value $\sigma_1$ (the operator 2-norm);
    - `"nuclear"`: the sum of the singular values, $\sum_i \sigma_i$.

    Args:
        A: a matrix.
        kind: one of `"1"`, `"inf"`, `"fro"`, `"spectral"`, `"nuclear"` (`1` and `math.inf`
            work too).

    Returns:
        A 0-d tensor; 0 for an empty matrix, as NumPy gives.

    Raises:
        ValueError: if A is not a finite 2-D matrix, kind is unknown, or A is half precision
            for `"spectral"` or `"nuclear"`.

    Examples:
        >>> import torch
        >>> from coursekit.maths.linalg import matrix_norm
        >>> A = torch.tensor([[1.0, -2.0], [3.0, 4.0]])
        >>> kinds = ("1", "inf", "fro", "spectral", "nuclear")
        >>> [round(float(matrix_norm(A, k)), 4) for k in kinds]
        [6.0, 7.0, 5.4772, 5.1167, 7.0711]
    """
    A, kind = finite_outside_vmap(matrix(A, "A"), "A"), str(kind)
    if kind not in ("1", "inf", "fro", "spectral", "nuclear"):
        raise ValueError(
            f"kind must be one of '1', 'inf', 'fro', 'spectral', 'nuclear', got {kind!r}"
        )
    if A.numel() == 0:  # every entry sum, and every singular value, is over nothing: 0
        return A.abs().sum()
    if kind == "1":
        return A.abs().sum(0).max()
    if kind == "inf":
        return A.abs().sum(1).max()
    if kind == "fro":
        return A.abs().pow(2).sum().sqrt()
    s = torch.linalg.svdvals(single_or_double(A, "A"))
    return s[0] if kind == "spectral" else s.sum()


def rank(A: Tensor | np.ndarray, tol: float | None = None) -> Tensor:
    r"""The rank: the number of singular values above `tol`.

    Args:
        A: a matrix; an empty one has rank 0.
        tol: default $\max(m, n) \cdot \varepsilon \cdot \sigma_1$, as `numpy.linalg.matrix_rank`;
            else a number $\ge 0$.

    Returns:
        A 0-d integer tensor.

    Raises:
        ValueError: if A is not a finite 2-D matrix of single or double precision, or tol is
            negative or not a finite number.

    Examples:
        >>> import torch
        >>> from coursekit.maths.linalg import rank
        >>> u, v = torch.randn(4, 1), torch.randn(1, 3)
        >>> rank(u @ v), rank(torch.eye(3))
        (tensor(1), tensor(3))
    """
    A, tol = _decomposable(A, "A"), _optional_tolerance(tol)
    s = torch.linalg.svdvals(A)
    return (s > (default_tol(s, A.shape) if tol is None else tol)).sum()


def _decomposable(A, name: str) -> Tensor:
    """A finite matrix in a dtype the SVD works in."""
    return single_or_double(finite(matrix(A, name), name), name)


def _optional_tolerance(tol) -> float | None:
    return None if tol is None else nonnegative(tol, "tol")


def condition_number(A: Tensor | np.ndarray) -> Tensor:
    r"""The 2-norm condition number $\kappa(A) = \sigma_{\max} / \sigma_{\min}$.

    Infinite when $\sigma_{\min} = 0$ exactly, as `numpy.linalg.cond` gives; the zero matrix
    too, where the ratio would be $0 / 0$. For most singular matrices rounding leaves a tiny
    $\sigma_{\min}$ instead, and so a huge finite $\kappa$.

    Solving $Ax = b$ for square $A$, a relative error in $b$ may grow by up to $\kappa(A)$:

    $$
    \frac{\lVert \delta x \rVert}{\lVert x \rVert}
    \le \kappa(A) \frac{\lVert \delta b \rVert}{\lVert b \rVert}
    $$

    Args:
        A: a matrix (rectangular allowed: the ratio of its extreme singular values).

    Returns:
        A 0-d tensor.

    Raises:
        ValueError: if A is not a finite 2-D matrix of single or double precision, or is
            empty.

    Examples:
        >>> import torch
        >>> from coursekit.maths.linalg import condition_number
        >>> condition_number(torch.diag(torch.tensor([10.0, 0.1])))
        tensor(100.)
        >>> condition_number(torch.zeros(2, 2))
        tensor(inf)
    """
    A = nonempty(_decomposable(A, "A"), "A")
    s = torch.linalg.svdvals(A)
    if s[-1] == 0:
        return torch.full_like(s[0], math.inf)
    return s[0] / s[-1]


def span_basis(X: Tensor | np.ndarray, tol: float | None = None) -> Tensor:
    r"""An orthonormal basis of the span of X's columns, from the SVD $X = U \Sigma V^\top$.

    The basis is $U_1, \dots, U_r$: the left singular vectors of the $r$ non-zero singular values.

    Args:
        X: an (m, n) matrix.
        tol: singular values at or below it count as zero; default as in `rank`.

    Returns:
        An (m, r) tensor with orthonormal columns (r = 0 for an empty or zero X).

    Raises:
        ValueError: as `rank`.

    Examples:
        >>> import torch
        >>> from coursekit.maths.linalg import span_basis
        >>> X = torch.tensor([[1.0, 2.0, 0.0], [1.0, 2.0, 0.0], [0.0, 0.0, 1.0]])
        >>> span_basis(X).shape                   # column 2 = 2 * column 1: a plane in R^3
        torch.Size([3, 2])
    """
    X, tol = _decomposable(X, "X"), _optional_tolerance(tol)
    U, s, _ = torch.linalg.svd(X, full_matrices=False)
    return U[:, s > (default_tol(s, X.shape) if tol is None else tol)]
