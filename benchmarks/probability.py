"""Benchmark: coursekit's ``GaussianMixture.fit`` (EM in torch) against scikit-learn's.

Both fit the same 10,000 two-dimensional points drawn from a known 4-component mixture, in the
same run, on one thread each. Printed: the mean log-likelihood per sample each reaches (the
target is ours at least scikit-learn's minus 1e-3), the EM iterations, the best-of-``REPEATS``
wall time and the time ratio. scikit-learn runs twice: with its defaults (``tol=1e-3``, so it
stops earlier) and with ``tol=1e-6``, the tolerance ``GaussianMixture.fit`` uses by default.

Run with ``python benchmarks/probability.py``.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from sklearn.mixture import GaussianMixture as SkGaussianMixture
from threadpoolctl import threadpool_limits

from coursekit.maths.probability import GaussianMixture

N, K, REPEATS = 10_000, 4, 5


def make_data(n: int, seed: int = 0) -> torch.Tensor:
    """``n`` points from a fixed 4-component 2-D mixture with overlapping, tilted components."""
    means = torch.tensor([[0.0, 0.0], [4.0, 1.0], [1.0, 5.0], [-3.0, 3.0]], dtype=torch.float64)
    covs = torch.tensor(
        [
            [[1.0, 0.0], [0.0, 1.0]],
            [[2.0, 0.8], [0.8, 1.0]],
            [[1.0, -0.6], [-0.6, 0.8]],
            [[0.5, 0.0], [0.0, 2.0]],
        ],
        dtype=torch.float64,
    )
    truth = GaussianMixture(torch.tensor([0.4, 0.3, 0.2, 0.1], dtype=torch.float64), means, covs)
    return truth.sample(n, generator=torch.Generator().manual_seed(seed))


def best_time(fn) -> tuple[float, object]:
    """Best wall time of ``REPEATS`` calls, and the last result."""
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def main() -> None:
    torch.set_num_threads(1)
    X = make_data(N)
    Xn = X.numpy()
    t_ours, ours = best_time(lambda: GaussianMixture.fit(X, K, seed=0))
    ll_ours = ours.log_prob(X).mean().item()
    print(f"data: {N} points, d = 2, K = {K}, float64, 1 thread, best of {REPEATS}")
    print(f"coursekit       log-lik/sample {ll_ours:.6f}  iterations {len(ours.history):3d}  "
          f"time {t_ours * 1e3:7.1f} ms")
    for tol in (1e-3, 1e-6):
        sk_fit = SkGaussianMixture(K, covariance_type="full", tol=tol, random_state=0).fit
        t_sk, sk = best_time(lambda: sk_fit(Xn))  # noqa: B023 (called at once)
        ll_sk = float(np.mean(sk.score_samples(Xn)))
        print(f"sklearn tol={tol:.0e} log-lik/sample {ll_sk:.6f}  iterations {sk.n_iter_:3d}  "
              f"time {t_sk * 1e3:7.1f} ms")
        print(f"  ours - sklearn {ll_ours - ll_sk:+.2e} (target >= -1e-3: "
              f"{ll_ours >= ll_sk - 1e-3}); time ratio ours / sklearn {t_ours / t_sk:.2f}")


if __name__ == "__main__":
    with threadpool_limits(limits=1):  # numpy's BLAS and scikit-learn's OpenMP: one thread too
        main()
