r"""Linear models fitted to data by least squares: PCA, the pseudo-inverse and ridge.

PCA finds the $k$-dimensional subspace closest to the data in squared distance (Eckart and
Young, 1936); the others solve $\min_x \lVert Ax - b \rVert_2^2$, plus a penalty on $x$ for
ridge. The lasso, with an $\ell_1$ penalty, has its own module, `coursekit.maths.lasso`. The chapter
on linear algebra teaches them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from coursekit._validation import linear_system, matrix
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
        """Coordinates of the samples (rows of X) along the components, shape (n, k)."""
        return (matrix(X, "X") - self.mean) @ self.components.mT

    def inverse_transform(self, Z: Tensor | np.ndarray) -> Tensor:
        """Back from (n, k) coordinates to (n, d) points in the data space."""
        return matrix(Z, "Z") @ self.components + self.mean


def pca(X: Tensor | np.ndarray, k: int) -> PrincipalComponents:
    r"""Principal component analysis of the rows of X (samples), by the covariance eigenvectors.

    With the centred data $\bar X = X - \mathbf{1}\mu^\top$ the sample covariance is
    $C = \bar X^\top \bar X / (n - 1) = V \Lambda V^\top$; the components are the eigenvectors of
    the $k$ largest eigenvalues, and those eigenvalues are the explained variances (the squared
    singular values of $\bar X$ over $n - 1$). Each component's sign makes its largest entry
    positive, as scikit-learn does.

    Args:
        X: an (n, d) matrix, one sample per row.
        k: the number of components, $1 \le k \le \min(n, d)$.

    Returns:
        A `PrincipalComponents`.

    Raises:
        ValueError: if X is not 2-D with at least two rows, or k is out of range.

    Examples:
        >>> import torch
        >>> from coursekit.maths.linear_models import pca
        >>> X = torch.tensor([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]])
        >>> fit = pca(X, 1)
        >>> fit.components, fit.explained_variance, fit.transform(X)[:, 0]
        (tensor([[0.7071, 0.7071]]), tensor([2.]), tensor([-1.4142,  0.0000,  1.4142]))
        >>> torch.allclose(fit.inverse_transform(fit.transform(X)), X, atol=1e-6)  # X is on a line
        True
    """
    X = matrix(X, "X")
    n, d = X.shape
    if n < 2:
        raise ValueError(f"X must have at least 2 rows (samples), got shape {tuple(X.shape)}")
    if not 1 <= k <= min(n, d):
        raise ValueError(f"k must be between 1 and min(n, d) = {min(n, d)}, got {k}")
    mean = X.mean(0)
    Xc = X - mean  # (n, d)
    variances, V = torch.linalg.eigh(Xc.mT @ Xc / (n - 1))  # ascending eigenvalues
    variances, V = variances.flip(0)[:k], V.flip(1)[:, :k].mT  # (k,), (k, d)
    V = V * V.gather(1, V.abs().argmax(1, keepdim=True)).sign()
    total = Xc.pow(2).sum() / (n - 1)  # trace of C: the total variance
    return PrincipalComponents(mean, V, variances, variances / total)


def lstsq(A: Tensor | np.ndarray, b: Tensor | np.ndarray, tol: float | None = None) -> Tensor:
    r"""The minimum-norm least-squares solution $x = A^+ b$, from the SVD of $A$.

    With $A = U \Sigma V^\top$ the pseudo-inverse is $A^+ = V \Sigma^+ U^\top$, where
    $\Sigma^+$ inverts the non-zero singular values and keeps the zeros. $x = A^+ b$ minimises
    $\lVert Ax - b \rVert_2$; among all minimisers (there are many when $A$ has fewer rows
    than columns, or dependent columns) it is the one of smallest $\lVert x \rVert_2$.

    Args:
        A: an (m, n) matrix.
        b: an (m,) vector or an (m, k) matrix of right-hand sides.
        tol: singular values at or below it count as zero; default as in
            `coursekit.maths.linalg.rank`.

    Returns:
        x of shape (n,) or (n, k).

    Raises:
        ValueError: if A is not 2-D or b does not have A.shape[0] rows.

    Examples:
        >>> import torch
        >>> from coursekit.maths.linear_models import lstsq
        >>> A = torch.tensor([[1.0, 1.0]])          # one equation, two unknowns
        >>> lstsq(A, torch.tensor([2.0]))            # the shortest x with x1 + x2 = 2
        tensor([1., 1.])
    """
    A, b = linear_system(A, b)
    U, s, Vh = torch.linalg.svd(A, full_matrices=False)  # (m, r), (r,), (r, n)
    tol = default_tol(s, A.shape) if tol is None else tol
    s_inv = torch.where(s > tol, 1 / s, torch.zeros_like(s))
    B = b.reshape(A.shape[0], -1)  # (m, k)
    return (Vh.mT @ (s_inv[:, None] * (U.mT @ B))).reshape((A.shape[1],) + b.shape[1:])


def ridge(A: Tensor | np.ndarray, b: Tensor | np.ndarray, lam: float) -> Tensor:
    r"""Ridge regression, $x = (A^\top A + \lambda I)^{-1} A^\top b$.

    It minimises $\lVert Ax - b \rVert_2^2 + \lambda \lVert x \rVert_2^2$; for $\lambda > 0$
    the matrix $A^\top A + \lambda I$ is positive definite, so the solution is unique.

    Args:
        A: an (m, n) matrix.
        b: an (m,) vector or an (m, k) matrix.
        lam: the penalty $\lambda \ge 0$ (scikit-learn's `Ridge(alpha=lam, fit_intercept=False)`).

    Returns:
        x of shape (n,) or (n, k).

    Raises:
        ValueError: if the shapes do not match or lam is negative.

    Examples:
        >>> import torch
        >>> from coursekit.maths.linear_models import ridge
        >>> A, b = torch.eye(2), torch.tensor([2.0, 4.0])
        >>> ridge(A, b, 1.0)                      # every coefficient shrunk by 1 / (1 + lam)
        tensor([1., 2.])
    """
    A, b = linear_system(A, b)
    if not lam >= 0:
        raise ValueError(f"lam must be >= 0, got {lam}")
    eye = torch.eye(A.shape[1], dtype=A.dtype, device=A.device)
    return torch.linalg.solve(A.mT @ A + lam * eye, A.mT @ b)
