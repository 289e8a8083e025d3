r"""The lasso: least squares with an $\ell_1$ penalty, which sets coefficients exactly to 0.

`lasso` follows the lasso path from $\lambda_{\max}$ down to the $\lambda$ asked for and
certifies its answer by the duality gap; the chapter on linear algebra teaches it, after least
squares and ridge (`coursekit.maths.linear_models`). Malformed input (complex, `nan` or `inf`
entries, shapes that do not fit, a penalty or tolerance that is not a positive finite number, an
iteration count that is not a positive integer) raises a `ValueError` naming the argument.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import torch
from torch import Tensor

from coursekit._validation import as_real_float, finite, linear_system, positive, positive_int

__all__ = ["lasso"]


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
        A: an (m, n) real matrix.
        b: an (m,) real vector.
        lam: the penalty $\lambda > 0$; from $\lambda_{\max} = 2 \lVert A^\top b \rVert_\infty$
            on, the solution is 0 (with no rows, $\lambda_{\max} = 0$).
        tol: the relative duality gap to reach, $> 0$ (a warning says when it is not reached).
        max_iter: the most steps along the path, and then of the fallback, an integer $\ge 1$.

    Returns:
        x of shape (n,), in the floating dtype of A and b.

    Raises:
        ValueError: if A or b is complex or holds nan or inf, the shapes do not match, lam or
            tol is not a positive finite number, or max_iter is not a positive integer.

    Examples:
        >>> import torch
        >>> from coursekit.maths.lasso import lasso
        >>> A, b = torch.eye(3), torch.tensor([3.0, -0.5, 1.0])
        >>> lasso(A, b, 2.0)                      # soft thresholding by lam / 2 = 1
        tensor([2., 0., 0.])
    """
    A, b = linear_system(as_real_float(A, "A"), as_real_float(b, "b"), vector_only=True)
    A, b = finite(A, "A"), finite(b, "b")
    lam, tol = positive(lam, "lam"), positive(tol, "tol")  # lam = 0 is lstsq's problem
    max_iter = positive_int(max_iter, "max_iter")
    if A.shape[1] == 0:  # no columns: the empty solution
        return A.new_zeros(0)
    A64, b64 = A.double().cpu().numpy(), b.double().cpu().numpy()
    x = _path(A64, b64, lam / 2, max_iter)
    gap = math.inf if x is None else _relative_gap(A64, b64, x, lam)
    if gap > tol:  # the path ran out of steps, or ties led it astray
        x = _fista(torch.from_numpy(A64), torch.from_numpy(b64), lam, tol, max_iter).numpy()
        gap = _relative_gap(A64, b64, x, lam)
    if gap > tol:
        warnings.warn(
            f"lasso: relative duality gap {gap:.1e} above tol={tol}", RuntimeWarning, stacklevel=2
        )
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
    +-level (it joins the support) or an x_j reaching 0 (it leaves). Each step is a few dozen
    operations on vectors of length n, where the cost of a call, not the arithmetic, dominates;
    so the path runs in NumPy: the same loop in torch took about 2.5 times as long on the
    problems of benchmarks/linalg.py.
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
