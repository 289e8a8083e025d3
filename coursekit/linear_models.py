r"""Linear models fitted to data by least squares: PCA, the pseudo-inverse, ridge and lasso.

PCA finds the $k$-dimensional subspace closest to the data in squared distance (Eckart and
Young, 1936); the others solve $\min_x \lVert Ax - b \rVert_2^2$, plus a penalty on $x$ for
ridge and lasso. The chapter on linear algebra teaches them; every name here can also be
imported from `coursekit.linalg`.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from coursekit._tensors import as_float
from coursekit.linalg import _default_tol, _matrix


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
        return (_matrix(X, "X") - self.mean) @ self.components.mT

    def inverse_transform(self, Z: Tensor | np.ndarray) -> Tensor:
        """Back from (n, k) coordinates to (n, d) points in the data space."""
        return _matrix(Z, "Z") @ self.components + self.mean


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
        >>> X = torch.tensor([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]])
        >>> fit = pca(X, 1)
        >>> fit.components, fit.explained_variance, fit.transform(X)[:, 0]
        (tensor([[0.7071, 0.7071]]), tensor([2.]), tensor([-1.4142,  0.0000,  1.4142]))
        >>> torch.allclose(fit.inverse_transform(fit.transform(X)), X, atol=1e-6)  # X is on a line
        True
    """
    X = _matrix(X, "X")
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


def _system(A, b, *, vector: bool = False) -> tuple[Tensor, Tensor]:
    """A as a matrix and b with one row per row of A (a vector when ``vector``)."""
    A, b = _matrix(A, "A"), as_float(b, "b")
    if b.ndim not in ((1,) if vector else (1, 2)) or b.shape[0] != A.shape[0]:
        want = "a vector" if vector else "a vector or matrix"
        raise ValueError(
            f"b must be {want} with A.shape[0] = {A.shape[0]} rows, got shape {tuple(b.shape)}"
        )
    dtype = torch.promote_types(A.dtype, b.dtype)
    return A.to(dtype), b.to(dtype)


def lstsq(A: Tensor | np.ndarray, b: Tensor | np.ndarray, tol: float | None = None) -> Tensor:
    r"""The minimum-norm least-squares solution $x = A^+ b$, from the SVD of $A$.

    With $A = U \Sigma V^\top$ the pseudo-inverse is $A^+ = V \Sigma^+ U^\top$, where
    $\Sigma^+$ inverts the non-zero singular values and keeps the zeros. $x = A^+ b$ minimises
    $\lVert Ax - b \rVert_2$; among all minimisers (there are many when $A$ has fewer rows
    than columns, or dependent columns) it is the one of smallest $\lVert x \rVert_2$.

    Args:
        A: an (m, n) matrix.
        b: an (m,) vector or an (m, k) matrix of right-hand sides.
        tol: singular values at or below it count as zero; default as in `coursekit.linalg.rank`.

    Returns:
        x of shape (n,) or (n, k).

    Raises:
        ValueError: if A is not 2-D or b does not have A.shape[0] rows.

    Examples:
        >>> A = torch.tensor([[1.0, 1.0]])          # one equation, two unknowns
        >>> lstsq(A, torch.tensor([2.0]))            # the shortest x with x1 + x2 = 2
        tensor([1., 1.])
    """
    A, b = _system(A, b)
    U, s, Vh = torch.linalg.svd(A, full_matrices=False)  # (m, r), (r,), (r, n)
    tol = _default_tol(s, A.shape) if tol is None else tol
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
        >>> A, b = torch.eye(2), torch.tensor([2.0, 4.0])
        >>> ridge(A, b, 1.0)                      # every coefficient shrunk by 1 / (1 + lam)
        tensor([1., 2.])
    """
    A, b = _system(A, b)
    if not lam >= 0:
        raise ValueError(f"lam must be >= 0, got {lam}")
    eye = torch.eye(A.shape[1], dtype=A.dtype, device=A.device)
    return torch.linalg.solve(A.mT @ A + lam * eye, A.mT @ b)


def lasso(
    A: Tensor | np.ndarray,
    b: Tensor | np.ndarray,
    lam: float,
    *,
    tol: float = 1e-9,
    max_iter: int = 20_000,
) -> Tensor:
    r"""The lasso, $\operatorname{argmin}_x \lVert Ax - b \rVert_2^2 + \lambda \lVert x \rVert_1$.

    scikit-learn's `Lasso` minimises
    $\frac{1}{2m}\lVert Ax - b \rVert_2^2 + \alpha \lVert x \rVert_1$ for an (m, n) matrix
    $A$: the same problem with $\alpha = \lambda / (2m)$ (use `fit_intercept=False`).

    The solution satisfies the optimality (KKT) conditions, with $h = \lambda / 2$:
    $a_j^\top (b - Ax) = h \operatorname{sign}(x_j)$ where $x_j \ne 0$ and
    $|a_j^\top (b - Ax)| \le h$ where $x_j = 0$. Given the support and the signs, the non-zero
    part solves a linear system, so the solver hunts for the support: Newton steps of the
    primal-dual active-set method (Fan, Jiao and Lu, 2014) usually find it in three or four
    solves. When a step fails to lower the objective, accelerated proximal gradient steps (FISTA:
    Beck and Teboulle, 2009) take over, and every 25 of them seed the Newton steps again. The
    work is done in float64, and the result is certified by its duality gap.

    Args:
        A: an (m, n) matrix.
        b: an (m,) vector.
        lam: the penalty $\lambda > 0$; from $\lambda_{\max} = 2 \lVert A^\top b \rVert_\infty$
            on, the solution is 0.
        tol: the relative duality gap to reach (a warning says when it is not).
        max_iter: the most proximal gradient steps.

    Returns:
        x of shape (n,), in the floating dtype of A and b.

    Raises:
        ValueError: if the shapes do not match or lam is not positive.

    Examples:
        >>> A, b = torch.eye(3), torch.tensor([3.0, -0.5, 1.0])
        >>> lasso(A, b, 2.0)                      # soft thresholding by lam / 2 = 1
        tensor([2., 0., 0.])
    """
    A, b = _system(A, b, vector=True)
    if not lam > 0:
        raise ValueError(f"lam must be > 0 (lstsq solves lam = 0), got {lam}")
    A64, b64 = A.double(), b.double()
    found = _active_set_newton(A64, b64, lam / 2, A64.new_zeros(A.shape[1]))  # (x, r, A^T r)
    if found is None:
        found = _fista(A64, b64, lam, tol, max_iter)
    gap = _relative_gap(A64, b64, *found, lam)
    if gap > tol:
        warnings.warn(f"lasso: relative duality gap {gap:.1e} above tol={tol}", RuntimeWarning)
    return found[0].to(A.dtype)


def _relative_gap(A: Tensor, b: Tensor, x: Tensor, r: Tensor, d: Tensor, lam: float) -> float:
    """(primal - dual) / primal for x with residual r = b - Ax and d = A^T r, at the dual point
    nu = 2 s r, scaled so that |A^T nu| <= lam."""
    primal = r @ r + lam * x.abs().sum()
    s = torch.clamp(lam / 2 / d.abs().max().clamp_min(1e-300), max=1.0)
    dual = 2 * s * (r @ b) - s * s * (r @ r)  # max over nu of nu^T b - |nu|^2 / 4
    return float((primal - dual) / primal.clamp_min(1e-300))


def _solve_on(A: Tensor, S: Tensor, rhs: Tensor) -> tuple[Tensor, Tensor | None]:
    """The columns A_S, (m, k), and the solution of (A_S^T A_S) y = rhs (None if singular)."""
    B = A.index_select(1, S)
    L, info = torch.linalg.cholesky_ex(B.mT @ B)
    return B, None if info else torch.cholesky_solve(rhs[:, None], L)[:, 0]


def _active_set_newton(A: Tensor, b: Tensor, h: float, x: Tensor, steps: int = 10):
    """Primal-dual active set from x: the exact solution (x, its residual r, A^T r), or None
    when a step does not lower the objective."""
    c = A.mT @ b  # (n,)
    col2 = torch.linalg.vector_norm(A, dim=0) ** 2  # (n,) the scale of a coordinate step
    r, d = (b - A @ x, None) if x.any() else (b, c)
    d, f = A.mT @ r if d is None else d, float(r @ r + 2 * h * x.abs().sum())  # d = A^T r
    signs = torch.zeros_like(x)  # the signs of the last solve: d = h * signs on its support
    for _ in range(steps):
        z = col2 * x + d  # col2 * (where a coordinate-descent step would move x)
        S, active = z.abs() > h, x != 0
        if torch.equal(S, active) and torch.equal(x.sign(), signs):
            return x, r, d  # a fixed point satisfies the KKT conditions exactly
        idx, cap = S.nonzero()[:, 0], max(10, 2 * int(active.sum()))
        if len(idx) > cap:  # keep the support, add only the worst violators
            idx = torch.topk(torch.where(active, math.inf, z.abs() - h), cap).indices
            idx = idx[S[idx]]
        signs = torch.zeros_like(x).index_put((idx,), z[idx].sign())
        B, xS = _solve_on(A, idx, c[idx] - h * signs[idx])
        if xS is None:  # dependent columns (more active than rows, say)
            return None
        r = b - B @ xS
        f_new = float(r @ r + 2 * h * xS.abs().sum())
        if not f_new < f:
            return None
        x, f = torch.zeros_like(x).index_put((idx,), xS), f_new
        d = A.mT @ r
    return None


def _fista(A: Tensor, b: Tensor, lam: float, tol: float, max_iter: int):
    """Accelerated proximal gradient (Beck and Teboulle, 2009) with adaptive restart; every few
    steps its support seeds the active-set Newton method, which finishes exactly."""
    L = 2 * torch.linalg.matrix_norm(A, 2) ** 2  # Lipschitz constant of the gradient
    x = y = A.new_zeros(A.shape[1])
    t = 1.0
    for k in range(1, max_iter + 1):
        x_new = torch.nn.functional.softshrink(y - 2 * A.mT @ (A @ y - b) / L, float(lam / L))
        # momentum that points uphill is dropped (O'Donoghue and Candes, 2015, adaptive restart)
        if (y - x_new) @ (x_new - x) > 0:
            t = 1.0
        t_new = (1 + math.sqrt(1 + 4 * t * t)) / 2
        x, y, t = x_new, x_new + (t - 1) / t_new * (x_new - x), t_new
        if k % 25 == 0:
            exact = _active_set_newton(A, b, lam / 2, x)
            if exact is not None:
                return exact
            r = b - A @ x
            if _relative_gap(A, b, x, r, A.mT @ r, lam) <= tol:
                break
    r = b - A @ x
    return x, r, A.mT @ r
