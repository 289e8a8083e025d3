"""Benchmark: coursekit's ``lasso`` and ``pca`` against scikit-learn's ``Lasso`` and ``PCA``.

Same process, same data, float64, one thread for torch and for NumPy's BLAS. Printed for each
problem: the objective each reaches and their relative difference (target 1e-6), the
best-of-``REPEATS`` wall time of each (the two alternate) and the ratio ours / scikit-learn
(target at most 1.0).

- lasso: minimise ||Ax - b||^2 + lam ||x||_1 (scikit-learn: alpha = lam / (2m), no intercept,
  its default tolerance), with a 20-sparse truth and lam = 0.1 lam_max. The main problem has
  independent Gaussian columns; a second one with strongly correlated columns (AR(1), rho =
  0.9) is the harder case, for coordinate descent and for active-set methods alike.
- pca: the explained variance of the top 20 components (what PCA maximises).

Run with ``python benchmarks/linalg.py``.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.linear_model import Lasso
from threadpoolctl import threadpool_limits
from timing import race  # benchmarks/timing.py: run as a script, this folder is on sys.path

from coursekit.maths.lasso import lasso
from coursekit.maths.linear_models import pca

REPEATS = 15


def lasso_problem(m: int, n: int, rho: float, seed: int = 0):
    """A (m, n) with AR(1)-correlated columns, b from a 20-sparse x plus noise, lam = 0.1 lam_max.
    """
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n))
    for j in range(1, n):
        A[:, j] = rho * A[:, j - 1] + math.sqrt(1 - rho**2) * A[:, j]
    x = np.zeros(n)
    x[rng.choice(n, 20, replace=False)] = 3 * rng.standard_normal(20)
    b = A @ x + 0.5 * rng.standard_normal(m)
    return A, b, 0.1 * 2 * np.abs(A.T @ b).max()


def lasso_objective(A, b, x, lam) -> float:
    return float(np.sum((A @ x - b) ** 2) + lam * np.abs(x).sum())


def bench_lasso(m: int, n: int, rho: float) -> None:
    A, b, lam = lasso_problem(m, n, rho)
    At, bt = torch.from_numpy(A), torch.from_numpy(b)
    t_ours, ours, t_sk, sk = race(
        lambda: lasso(At, bt, lam),
        lambda: Lasso(alpha=lam / (2 * m), fit_intercept=False).fit(A, b),
        REPEATS,
    )
    f_ours, f_sk = lasso_objective(A, b, ours.numpy(), lam), lasso_objective(A, b, sk.coef_, lam)
    print(f"lasso {m}x{n}, column correlation {rho}: non-zeros {int((ours != 0).sum())}")
    print(f"  objective  coursekit {f_ours:.10g}  scikit-learn {f_sk:.10g}  "
          f"relative difference {(f_ours - f_sk) / f_sk:+.1e}")
    print(f"  time       coursekit {t_ours * 1e3:.2f} ms  scikit-learn {t_sk * 1e3:.2f} ms  "
          f"ratio {t_ours / t_sk:.2f}")


def bench_pca(n: int, d: int, k: int) -> None:
    rng = np.random.default_rng(1)
    X = rng.standard_normal((n, d)) @ rng.standard_normal((d, d))  # correlated features
    Xt = torch.from_numpy(X)
    t_ours, ours, t_sk, sk = race(lambda: pca(Xt, k), lambda: PCA(k).fit(X), REPEATS)
    v_ours, v_sk = float(ours.explained_variance.sum()), float(sk.explained_variance_.sum())
    print(f"pca {n}x{d}, k = {k}: sklearn solver {sk._fit_svd_solver!r}")
    print(f"  explained variance  coursekit {v_ours:.10g}  scikit-learn {v_sk:.10g}  "
          f"relative difference {(v_ours - v_sk) / v_sk:+.1e}")
    print(f"  time       coursekit {t_ours * 1e3:.2f} ms  scikit-learn {t_sk * 1e3:.2f} ms  "
          f"ratio {t_ours / t_sk:.2f}")


def main() -> None:
    torch.set_num_threads(1)
    with threadpool_limits(1):
        print(f"float64, 1 thread, best of {REPEATS}")
        bench_lasso(400, 300, 0.0)
        bench_lasso(300, 300, 0.0)
        bench_lasso(300, 300, 0.9)
        bench_pca(400, 300, 20)


if __name__ == "__main__":
    main()
