r"""Linear models fitted to data by least squares: PCA, the pseudo-inverse and ridge.

PCA finds the $k$-dimensional subspace closest to the data in squared distance (Eckart and
Young, 1936); the others solve $\min_x \lVert Ax - b \rVert_2^2$, plus a penalty on $x$ for
ridge. The lasso, with an $\ell_1$ penalty, has its own module, `coursekit.maths.lasso`. The chapter
on linear algebra teaches them.

Malformed input raises a `ValueError` naming the argument: `nan` or `inf` entries, shapes
that do not fit, half precision (the SVD and the solvers need single or double), a tolerance
or penalty that is negative or not a finite number (inside `torch.func.vmap` the finiteness
check cannot run and is skipped). `lstsq` and `ridge` accept complex systems (with the conjugate
transpose); PCA is for real data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from coursekit._validation import (
    as_real_float,
    finite,
    finite_outside_vmap,
    integer,
    linear_system,
    matrix,
    nonnegative,
    single_or_double,
)
from coursekit.maths._tolerance import default_tol

__all__ = ["PrincipalComponents", "lstsq", "pca", "ridge"]


@dataclass
class PrincipalComponents:
    """The result of `pca`: `mean` (d,), `components` (k, d) with orthonormal rows,
    `explained_variance` (k,) and `explained_variance_ratio` (k,), as scikit-learn's `PCA`."""

    mean: Tensor
    components: Tensor
    explained_variance: Tensor
    explained_variance_ratio: Tensor

    def transform(self, X: Tensor | np.ndarray) -> Tensor:
        """Coordinates of the samples (rows of X, a finite real (n, d) matrix) along the
        components, shape (n, k)."""
        X, mean, components = _promoted(
            _rows(X, "X", self.mean.shape[0]), self.mean, self.components
        )
        return (X - mean) @ components.mT

    def inverse_transform(self, Z: Tensor | np.ndarray) -> Tensor:
        """Back from (n, k) coordinates (a finite real matrix) to (n, d) points in the data
        space."""
        Z, mean, components = _promoted(
            _rows(Z, "Z", self.components.shape[0]), self.mean, self.components
        )
        return Z @ components + mean


def _promoted(*tensors: Tensor) -> list[Tensor]:
    """The tensors in their common dtype (float32 points and a float64 fit give float64)."""
    dtype = tensors[0].dtype
    for t in tensors[1:]:
        dtype = torch.promote_types(dtype, t.dtype)
    return [t.to(dtype) for t in tensors]


def _data(X, name: str) -> Tensor:
    """A finite real matrix."""
    return finite(matrix(as_real_float(X, name), name), name)


def _rows(X, name: str, width: int) -> Tensor:
    """A finite real matrix whose rows have `width` entries."""
    X = _data(X, name)
    if X.shape[1] != width:
        raise ValueError(f"{name} must have {width} columns, got shape {tuple(X.shape)}")
    return X


def pca(X: Tensor | np.ndarray, k: int) -> PrincipalComponents:
    r"""Principal component analysis of the rows of X (samples), by the covariance eigenvectors.

    With the centred data $\bar X = X - \mathbf{1}\mu^\top$ the sample covariance is
    $C = \bar X^\top \bar X / (n - 1) = V \Lambda V^\top$; the components are the eigenvectors of
    the $k$ largest eigenvalues, and those eigenvalues are the explained variances (the squared
    singular values of $\bar X$ over $n - 1$). Each component's sign makes its largest entry
    positive, as scikit-learn does.

    Args:
        X: an (n, d) real matrix, one sample per row.
        k: the number of components, an integer $1 \le k \le \min(n, d)$.

    Returns:
        A `PrincipalComponents`.

    Raises:
        ValueError: if X is not a finite real 2-D matrix of single or double precision with at
            least two rows and one column, X is constant (no variance to explain), or k is not
            an integer in range.

    Examples:
        >>> import torch
        >>> from coursekit.maths.linear_models import pca
        >>> X = torch.tensor([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]])
        >>> fit = pca(X, 1)
        >>> fit.components, fit.explained_variance, fit.transform(X)[:, 0]
        (tensor([[0.7071, 0.7071]]), tensor([2.]), tensor([-1.4142,  0.0000,  1.4142]))
        >>> back = fit.inverse_transform(fit.transform(X))
        >>> torch.allclose(back, X, atol=1e-6)  # X is on a line: one component keeps it all
        True
    """
    X = single_or_double(_data(X, "X"), "X")
    n, d = X.shape
    if n < 2:
        raise ValueError(f"X must have at least 2 rows (samples), got shape {tuple(X.shape)}")
    if d < 1:
        raise ValueError(f"X must have at least 1 column (feature), got shape {tuple(X.shape)}")
    k = integer(k, "k")
    if not 1 <= k <= min(n, d):
        raise ValueError(f"k must be between 1 and min(n, d) = {min(n, d)}, got {k}")
    mean = X.mean(0)
    Xc = X - mean  # (n, d)
    total = Xc.pow(2).sum() / (n - 1)  # trace of C: the total variance
    if total == 0:
        raise ValueError("X must not be constant: its rows are all equal, no variance to explain")
    variances, V = torch.linalg.eigh(Xc.mT @ Xc / (n - 1))  # ascending eigenvalues
    variances, V = variances.flip(0)[:k], V.flip(1)[:, :k].mT  # (k,), (k, d)
    V = V * V.gather(1, V.abs().argmax(1, keepdim=True)).sign()
    return PrincipalComponents(mean, V, variances, variances / total)


def lstsq(A: Tensor | np.ndarray, b: Tensor | np.ndarray, tol: float | None = None) -> Tensor:
    r"""The minimum-norm least-squares solution $x = A^+ b$, from the SVD of $A$.

    With $A = U \Sigma V^\top$ the pseudo-inverse is $A^+ = V \Sigma^+ U^\top$, where
    $\Sigma^+$ inverts the non-zero singular values and keeps the zeros. $x = A^+ b$ minimises
    $\lVert Ax - b \rVert_2$; among all minimisers (there are many when $A$ has fewer rows
    than columns, or dependent columns) it is the one of smallest $\lVert x \rVert_2$.

    For complex $A$ the transposes are conjugate transposes, $A^+ = V \Sigma^+ U^H$. With no
    rows, or no columns, the solution is the zero vector (of length n).

    Args:
        A: an (m, n) matrix.
        b: an (m,) vector or an (m, k) matrix of right-hand sides.
        tol: singular values at or below it count as zero; default as in
            `coursekit.maths.linalg.rank`; else a number $\ge 0$.

    Returns:
        x of shape (n,) or (n, k).

    Raises:
        ValueError: if A is not 2-D, b does not have A.shape[0] rows, either holds nan or
            inf or is half precision, or tol is negative or not a finite number.

    Examples:
        >>> import torch
        >>> from coursekit.maths.linear_models import lstsq
        >>> A = torch.tensor([[1.0, 1.0]])          # one equation, two unknowns
        >>> lstsq(A, torch.tensor([2.0]))            # the shortest x with x1 + x2 = 2
        tensor([1., 1.])
    """
    A, b = _system(A, b)
    tol = None if tol is None else nonnegative(tol, "tol")
    U, s, Vh = torch.linalg.svd(A, full_matrices=False)  # (m, r), (r,), (r, n)
    tol = default_tol(s, A.shape) if tol is None else tol
    s_inv = torch.where(s > tol, 1 / s, torch.zeros_like(s))
    B = b if b.ndim == 2 else b[:, None]  # (m, k)
    x = Vh.mH @ (s_inv[:, None] * (U.mH @ B))  # (n, k)
    return x if b.ndim == 2 else x[:, 0]


def _system(A, b) -> tuple[Tensor, Tensor]:
    """A and b of a linear system, finite and in a dtype the SVD and solvers work in."""
    A, b = linear_system(A, b)
    return single_or_double(finite_outside_vmap(A, "A"), "A"), finite_outside_vmap(b, "b")


def ridge(A: Tensor | np.ndarray, b: Tensor | np.ndarray, lam: float) -> Tensor:
    r"""Ridge regression, $x = (A^\top A + \lambda I)^{-1} A^\top b$.

    It minimises $\lVert Ax - b \rVert_2^2 + \lambda \lVert x \rVert_2^2$; for $\lambda > 0$
    the matrix $A^\top A + \lambda I$ is positive definite, so the solution is unique. For
    complex $A$ the transpose is the conjugate transpose $A^H$.

    Args:
        A: an (m, n) matrix.
        b: an (m,) vector or an (m, k) matrix.
        lam: the penalty $\lambda \ge 0$ (scikit-learn's `Ridge(alpha=lam, fit_intercept=False)`).

    Returns:
        x of shape (n,) or (n, k).

    Raises:
        ValueError: if the shapes do not match, A or b holds nan or inf or is half precision,
            lam is negative or not a finite number, or lam = 0 and $A^\top A$ is singular.

    Examples:
        >>> import torch
        >>> from coursekit.maths.linear_models import ridge
        >>> A, b = torch.eye(2), torch.tensor([2.0, 4.0])
        >>> ridge(A, b, 1.0)                   # every coefficient shrunk by 1 / (1 + lam)
        tensor([1., 2.])
    """
    A, b = _system(A, b)
    lam = nonnegative(lam, "lam")
    eye = torch.eye(A.shape[1], dtype=A.dtype, device=A.device)
    try:
        return torch.linalg.solve(A.mH @ A + lam * eye, A.mH @ b)
    except torch.linalg.LinAlgError:
        raise ValueError(
            f"lam = {lam:g} leaves A^T A singular: use lam > 0, or lstsq for the minimum-norm "
            "solution"
        ) from None
