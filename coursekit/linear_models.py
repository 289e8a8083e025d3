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
    $|a_j^\top (b - Ax)| \le h$ where $x_j = 0$. As $\lambda$ decreases from
    $\lambda_{\max}$ the solution moves along a path that is linear in $\lambda$ between
    events, where a column joins the support or a coefficient reaches 0. The solver follows that
    path one event at a time (the homotopy method of Osborne, Presnell and Turlach, 2000, the
    lasso variant of LARS), keeping the inverse Gram matrix of the support, and solves exactly
    on the support it reaches at $\lambda$. When the path cannot finish (heavily tied data, or
    more than `max_iter` events), accelerated proximal gradient steps (FISTA: Beck and
    Teboulle, 2009) take over. The work is done in float64, and the result is certified by its
    duality gap.

    Args:
        A: an (m, n) matrix.
        b: an (m,) vector.
        lam: the penalty $\lambda > 0$; from $\lambda_{\max} = 2 \lVert A^\top b \rVert_\infty$
            on, the solution is 0.
        tol: the relative duality gap to reach (a warning says when it is not).
        max_iter: the most steps along the path, and then of the fallback.

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
    if A.shape[1] == 0:  # no columns: the empty solution
        return A.new_zeros(0)
    A64, b64 = A.double().cpu().numpy(), b.double().cpu().numpy()
    x = _path(A64, b64, lam / 2, max_iter)
    gap = math.inf if x is None else _relative_gap(A64, b64, x, lam)
    if gap > tol:  # the path ran out of steps, or ties led it astray
        x = _fista(torch.from_numpy(A64), torch.from_numpy(b64), lam, tol, max_iter).numpy()
        gap = _relative_gap(A64, b64, x, lam)
    if gap > tol:
        warnings.warn(f"lasso: relative duality gap {gap:.1e} above tol={tol}", RuntimeWarning)
    return torch.from_numpy(x).to(A.device, A.dtype)


def _relative_gap(A, b, x, lam: float) -> float:
    """(primal - dual) / primal at x (NumPy arrays or tensors), with the dual point
    nu = 2 scale r made feasible, |A^T nu| <= lam, by the scale; r = b - Ax is the residual."""
    r = b - A @ x
    rr, rb, d_max = float(r @ r), float(r @ b), float(abs(A.T @ r).max())
    primal = rr + lam * float(abs(x).sum())
    scale = min(1.0, lam / 2 / max(d_max, 1e-300))
    dual = 2 * scale * rb - scale**2 * rr  # nu^T b - |nu|^2 / 4 at nu = 2 scale r
    return (primal - dual) / max(primal, 1e-300)


@np.errstate(divide="ignore", invalid="ignore")  # x / 0 is inf, and is then set aside
def _path(A: np.ndarray, b: np.ndarray, h: float, max_steps: int) -> np.ndarray | None:
    """The lasso path (LARS-lasso) from lambda_max down to lambda = 2h: the solution at 2h, or
    None when the steps run out.

    On the path every support column j has correlation a_j^T (b - Ax) = level * s_j, and x on
    the support is linear in the level between events: a column's correlation reaching
    +-level (it joins the support) or an x_j reaching 0 (it leaves). The steps are many and
    small, so they run in NumPy, whose calls cost about a microsecond, a few times less than
    torch's on vectors this short (benchmarks/linalg.py).
    """
    m, n = A.shape
    cap = min(m, n)  # the support's columns are independent, so there are at most min(m, n)
    W, s, xW = np.empty(cap, dtype=np.int64), np.empty(cap), np.empty(cap)  # support, signs, x
    QT, Ginv = np.empty((cap, n)), np.empty((cap, cap))  # A_W^T A, and (A_W^T A_W)^-1
    c = A.T @ b  # (n,) the correlations a_j^T (b - Ax), at x = 0 to begin with
    c0, level, k = c.copy(), np.abs(c).max(), 0
    out = np.zeros(n, dtype=bool)  # columns that may not join: the support, and those in its span
    joins, j, p, left = True, int(np.abs(c).argmax()), 0, None
    for _ in range(max_steps):
        if level <= h:
            rhs, G = c0[W[:k]] - h * s[:k], QT[:k, W[:k]]  # x_W at level h solves G x_W = rhs
            xW = Ginv[:k, :k] @ rhs
            xW += Ginv[:k, :k] @ (rhs - G @ xW)  # one step of refinement
            x = np.zeros(n)
            x[W[:k]] = xW
            return x
        if joins:  # column j joins: border the inverse Gram matrix with it
            q = A[:, j] @ A  # (n,)
            g = q[W[:k]]
            u = Ginv[:k, :k] @ g
            pivot = q[j] - g @ u  # the squared length of a_j off the support's span
            if pivot > 1e-12 * q[j] and k < cap:
                Ginv[:k, :k] += u[:, None] * (u / pivot)
                Ginv[:k, k] = Ginv[k, :k] = -u / pivot
                Ginv[k, k] = 1 / pivot
                W[k], s[k], xW[k], QT[k] = j, np.sign(c[j]), 0.0, q
                k += 1
            out[j] = True  # if in the span (a duplicate, say), x_j = 0 does as well
        else:  # the column at support position p leaves, from the side s_p
            left, keep = (W[p], s[p]), np.arange(k) != p
            out[W[p]] = False
            k -= 1
            for buffer in (W, s, xW, QT):
                buffer[:k] = buffer[: k + 1][keep]
            Ginv[:k, :k] = np.linalg.inv(QT[:k, W[:k]])
        w = Ginv[:k, :k] @ s[:k]  # x on the support grows by w as the level drops by 1
        a = w @ QT[:k]  # (n,) and the correlations c drop by a
        # how far the level drops until c_j = +level, c_j = -level, or x_j = 0
        up, down, leave = (level - c) / (1 - a), (level + c) / (1 + a), -xW[:k] / w
        up[a >= 1] = down[a <= -1] = leave[s[:k] * w >= 0] = np.inf  # moving off 0, or not at all
        if left is not None:  # the column that has just left moves away from the side it was on
            (up if left[1] > 0 else down)[left[0]] = np.inf
            left = None
        join = np.fmin(up, down)
        join[out] = np.inf
        j, p = int(join.argmin()), int(leave.argmin())
        step = max(0.0, min(join[j], leave[p], level - h))  # rounding can make c_j pass level
        xW[:k] += step * w
        c -= step * a
        level = h if step == level - h else level - step  # level - step may round to above h
        joins = join[j] <= leave[p]
    return None


def _fista(A: Tensor, b: Tensor, lam: float, tol: float, max_iter: int) -> Tensor:
    """Accelerated proximal gradient (Beck and Teboulle, 2009) with adaptive restart, until the
    relative duality gap is at most tol."""
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
        if k % 25 == 0 and _relative_gap(A, b, x, lam) <= tol:
            break
    return x
