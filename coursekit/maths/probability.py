r"""Gaussians, sample covariance and the Gaussian mixture fitted by EM.

The chapter "Probability" (``docs/maths/probability.md``) teaches what this module implements:
the multivariate Gaussian density, the covariance matrix of data, and the mixture of Gaussians
as a latent-variable model $p(x) = \sum_{k=1}^K \pi_k \mathcal{N}(x; \mu_k, \Sigma_k)$.

Data and parameters are real and finite (finiteness is not checked inside ``torch.func.vmap``,
which cannot run the check); a covariance must be symmetric (only its lower triangle would be
read otherwise) and positive definite, in single or double precision (the Cholesky
factorization needs them). Anything else, and counts, tolerances, seeds and
generators of the wrong kind, raises a ``ValueError`` (or ``TypeError``) naming the argument.
"""

from __future__ import annotations

import math

import torch
from numpy.typing import ArrayLike

from coursekit._validation import (
    as_real_float,
    boolean,
    finite,
    finite_outside_vmap,
    integer,
    nonempty,
    nonnegative,
    optional_generator,
    positive_int,
    single_or_double,
    symmetric,
)

__all__ = ["gaussian_log_prob", "covariance", "GaussianMixture"]


def _as_common_float(**named: torch.Tensor | ArrayLike) -> list[torch.Tensor]:
    """Finite real floating tensors of one dtype, the widest among them (float32 and float64
    give float64), each checked under its argument's name."""
    xs = [finite_outside_vmap(as_real_float(x, name), name) for name, x in named.items()]
    dtype = xs[0].dtype
    for x in xs[1:]:
        dtype = torch.promote_types(dtype, x.dtype)
    return [x.to(dtype) for x in xs]


def _covariances(cov: torch.Tensor, name: str) -> torch.Tensor:
    """The lower Cholesky factors of symmetric positive definite matrices (..., d, d)."""
    return _cholesky(single_or_double(symmetric(cov, name), name), name)


def _cholesky(cov: torch.Tensor, name: str) -> torch.Tensor:
    """Lower Cholesky factor of a batch of covariances, or a ValueError if one is not PD."""
    L, info = torch.linalg.cholesky_ex(cov)
    if bool((info != 0).any()):
        raise ValueError(f"{name} must be symmetric positive definite, got a matrix that is not")
    return L


def gaussian_log_prob(
    x: torch.Tensor | ArrayLike, mean: torch.Tensor | ArrayLike, cov: torch.Tensor | ArrayLike
) -> torch.Tensor:
    r"""Log density of the multivariate Gaussian $\mathcal{N}(\mu, \Sigma)$ at each point.

    $$
    \log p(x) = -\frac{1}{2}\left(d \log 2\pi + \log\det\Sigma
        + (x-\mu)^\top \Sigma^{-1} (x-\mu)\right)
    $$

    computed through the Cholesky factor $\Sigma = L L^\top$, so that
    $\log\det\Sigma = 2 \sum_i \log L_{ii}$ and the quadratic form is
    $\lVert L^{-1}(x-\mu) \rVert^2$.

    Args:
        x: points, shape ``(..., d)``.
        mean: $\mu$, shape ``(..., d)``, broadcast against ``x``.
        cov: $\Sigma$, symmetric positive definite, shape ``(..., d, d)`` with ``d >= 1``.

    Returns:
        The log densities, shape ``x.shape[:-1]`` broadcast with the batch shape of ``mean``.

    Raises:
        ValueError: if an argument is complex or holds nan or inf, the shapes do not agree, or
            ``cov`` is not symmetric positive definite in single or double precision.

    Examples:
        >>> import math
        >>> import torch
        >>> from coursekit.maths.probability import gaussian_log_prob
        >>> round(gaussian_log_prob(torch.zeros(2), torch.zeros(2), torch.eye(2)).item(), 4)
        -1.8379
        >>> round(-math.log(2 * math.pi), 4)
        -1.8379
    """
    x, mean, cov = _as_common_float(x=x, mean=mean, cov=cov)
    if cov.ndim < 2 or cov.shape[-1] != cov.shape[-2]:
        raise ValueError(f"cov must be square (..., d, d), got shape {tuple(cov.shape)}")
    d = cov.shape[-1]
    if d == 0:
        raise ValueError(f"cov must be (..., d, d) with d >= 1, got shape {tuple(cov.shape)}")
    if mean.ndim < 1 or mean.shape[-1] != d or x.ndim < 1 or x.shape[-1] != d:
        raise ValueError(
            f"x and mean must end in d = {d}, got shapes {tuple(x.shape)} and {tuple(mean.shape)}"
        )
    try:
        torch.broadcast_shapes(x.shape[:-1], mean.shape[:-1], cov.shape[:-2])
    except RuntimeError:
        raise ValueError(
            f"x, mean and cov must have batch shapes that broadcast, got shapes "
            f"{tuple(x.shape)}, {tuple(mean.shape)} and {tuple(cov.shape)}"
        ) from None
    return _log_density(x, mean, _covariances(cov, "cov"))


def _log_density(x: torch.Tensor, mean: torch.Tensor, L: torch.Tensor) -> torch.Tensor:
    """The Gaussian log density at checked points, from the Cholesky factor L of the cov."""
    d = L.shape[-1]
    # Invert the (few) factors once rather than solving once per point: many points share one cov.
    L_inv = torch.linalg.solve_triangular(L, torch.eye(d, dtype=L.dtype), upper=False)
    z = torch.einsum("...ij,...j->...i", L_inv, x - mean)  # (..., d)
    half_logdet = torch.diagonal(L, dim1=-2, dim2=-1).log().sum(-1)
    maha = torch.linalg.vector_norm(z, dim=-1).square()  # faster than summing a short last axis
    return -0.5 * (d * math.log(2 * math.pi) + maha) - half_logdet


def covariance(X: torch.Tensor | ArrayLike) -> torch.Tensor:
    r"""Sample covariance matrix of data whose rows are samples.

    Divides by $n - 1$ (unbiased), like ``numpy.cov``:

    $$
    \hat\Sigma = \frac{1}{n-1} \sum_{i=1}^n (x_i - \bar x)(x_i - \bar x)^\top
    $$

    Args:
        X: real data, shape ``(n, d)`` with ``n >= 2``.

    Returns:
        The ``(d, d)`` covariance matrix.

    Raises:
        ValueError: if ``X`` is not 2-D, has fewer than two rows, is complex or holds nan or
            inf.

    Examples:
        >>> import torch
        >>> from coursekit.maths.probability import covariance
        >>> covariance(torch.tensor([[0.0, 0.0], [1.0, 2.0], [2.0, 4.0]]))
        tensor([[1., 2.],
                [2., 4.]])
    """
    X = finite_outside_vmap(as_real_float(X, "X"), "X")
    if X.ndim != 2 or X.shape[0] < 2:
        raise ValueError(f"X must be 2-D with at least two rows, got shape {tuple(X.shape)}")
    Xc = X - X.mean(0)
    return Xc.T @ Xc / (X.shape[0] - 1)


class GaussianMixture:
    r"""A mixture of $K$ Gaussians: $p(x) = \sum_{k=1}^K \pi_k \mathcal{N}(x; \mu_k, \Sigma_k)$.

    As a latent-variable model: draw a component $z \sim \operatorname{Cat}(\pi)$, then
    $x \mid z \sim \mathcal{N}(\mu_z, \Sigma_z)$.

    Args:
        weights: mixing weights $\pi$, shape ``(K,)``, nonnegative, summing to 1.
        means: component means, shape ``(K, d)`` with ``d >= 1``.
        covs: component covariances, symmetric positive definite, shape ``(K, d, d)``.

    Raises:
        ValueError: if a parameter is complex or holds nan or inf, a shape disagrees, the
            weights are not a distribution, or a covariance is not symmetric positive definite
            in single or double precision.

    Examples:
        >>> import torch
        >>> from coursekit.maths.probability import GaussianMixture
        >>> covs = torch.eye(2).repeat(2, 1, 1)  # (2, 2, 2): two identity covariances
        >>> gm = GaussianMixture([0.3, 0.7], [[0.0, 0.0], [4.0, 4.0]], covs)
        >>> gm.sample(5, generator=torch.Generator().manual_seed(0)).shape
        torch.Size([5, 2])
        >>> round(gm.log_prob(torch.tensor([4.0, 4.0])).item(), 4)
        -2.1946
    """

    def __init__(
        self,
        weights: torch.Tensor | ArrayLike,
        means: torch.Tensor | ArrayLike,
        covs: torch.Tensor | ArrayLike,
    ):
        weights, means, covs = _as_common_float(weights=weights, means=means, covs=covs)
        if weights.ndim != 1:
            raise ValueError(f"weights must be 1-D (K,), got shape {tuple(weights.shape)}")
        k = nonempty(weights, "weights").shape[0]
        if means.ndim != 2 or means.shape[0] != k:
            raise ValueError(
                f"means must have shape ({k}, d), a row for each of the {k} weights, "
                f"got {tuple(means.shape)}"
            )
        d = means.shape[1]
        if d == 0:
            raise ValueError(f"means must have d >= 1 columns, got shape {tuple(means.shape)}")
        if covs.shape != (k, d, d):
            raise ValueError(f"covs must have shape ({k}, {d}, {d}), got {tuple(covs.shape)}")
        if bool((weights < 0).any()) or not abs(weights.sum().item() - 1) <= 1e-5:
            raise ValueError(f"weights must be nonnegative and sum to 1, got {weights.tolist()}")
        self._set(weights, means, covs, _covariances(covs, "covs"))

    def _set(self, weights, means, covs, chol) -> None:
        self.weights, self.means, self.covs = weights, means, covs
        self._chol = chol  # (K, d, d), reused by log_prob() and sample()
        self.history: list[float] = []  # mean log-likelihood per EM iteration, set by fit()

    @classmethod
    def _from_em(cls, weights, means, covs, reg_covar: float) -> GaussianMixture:
        """The mixture of EM's parameters: valid by construction, so the input checks are
        skipped on every iteration; only a covariance that reg_covar failed to keep positive
        definite is refused."""
        L, info = torch.linalg.cholesky_ex(covs)
        if bool((info != 0).any()):
            raise ValueError(
                f"reg_covar = {reg_covar:g} is too small: a component's covariance became "
                "singular (a cluster of identical points, say); raise reg_covar"
            )
        model = cls.__new__(cls)
        model._set(weights, means, covs, L)
        return model

    def __repr__(self) -> str:
        k, d = self.means.shape
        return f"GaussianMixture(K={k}, d={d})"

    def _points(self, x: torch.Tensor | ArrayLike) -> torch.Tensor:
        """``x`` as finite real points of the mixture's dimension and dtype."""
        x = finite_outside_vmap(as_real_float(x, "x"), "x").to(self.means.dtype)
        if x.ndim < 1 or x.shape[-1] != self.means.shape[1]:
            raise ValueError(f"x must end in d = {self.means.shape[1]}, got shape {tuple(x.shape)}")
        return x

    def _joint_log_prob(self, x: torch.Tensor) -> torch.Tensor:
        r"""$\log \pi_k + \log \mathcal{N}(x; \mu_k, \Sigma_k)$ for each $k$, shape ``(..., K)``,
        at checked points."""
        return self.weights.log() + _log_density(x.unsqueeze(-2), self.means, self._chol)

    def log_prob(self, x: torch.Tensor | ArrayLike) -> torch.Tensor:
        r"""Log density $\log p(x) = \log \sum_k \pi_k \mathcal{N}(x; \mu_k, \Sigma_k)$.

        Args:
            x: points, shape ``(..., d)``.

        Returns:
            The log densities, shape ``x.shape[:-1]``.

        Raises:
            ValueError: if the last dimension of ``x`` is not ``d``, or ``x`` is complex or
                holds nan or inf.

        Examples:
            >>> import torch
            >>> from coursekit.maths.probability import GaussianMixture
            >>> gm = GaussianMixture([1.0], [[0.0]], [[[1.0]]])
            >>> round(gm.log_prob(torch.tensor([0.0])).item(), 4)
            -0.9189
        """
        return torch.logsumexp(self._joint_log_prob(self._points(x)), dim=-1)

    def responsibilities(self, x: torch.Tensor | ArrayLike) -> torch.Tensor:
        r"""Posterior over the components by Bayes' rule.

        $p(z = k \mid x) = \pi_k \mathcal{N}(x; \mu_k, \Sigma_k) / p(x)$.

        Args:
            x: points, shape ``(..., d)``.

        Returns:
            The responsibilities, shape ``(..., K)``; each row sums to 1.

        Raises:
            ValueError: as `log_prob`.

        Examples:
            >>> import torch
            >>> from coursekit.maths.probability import GaussianMixture
            >>> gm = GaussianMixture([0.5, 0.5], [[-1.0], [1.0]], [[[1.0]], [[1.0]]])
            >>> gm.responsibilities(torch.tensor([[0.0]]))
            tensor([[0.5000, 0.5000]])
        """
        return torch.softmax(self._joint_log_prob(self._points(x)), dim=-1)

    def sample(
        self, n: int, generator: torch.Generator | None = None, return_labels: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        r"""Draw ``n`` points from the mixture, with their latent components if asked.

        First the component $z \sim \operatorname{Cat}(\pi)$, then $x = \mu_z + L_z \varepsilon$,
        where $\Sigma_z = L_z L_z^\top$ and $\varepsilon \sim \mathcal{N}(0, I)$.

        Args:
            n: number of points, an integer ``>= 1``.
            generator: a ``torch.Generator`` for reproducible draws, or ``None``.
            return_labels: also return the latent component of each point (a bool).

        Returns:
            The points, shape ``(n, d)``; with ``return_labels``, also the labels, shape ``(n,)``.

        Raises:
            ValueError: if ``n`` is not a positive integer or ``return_labels`` not a bool.
            TypeError: if ``generator`` is neither a ``torch.Generator`` nor ``None``.

        Examples:
            >>> import torch
            >>> from coursekit.maths.probability import GaussianMixture
            >>> gm = GaussianMixture([0.5, 0.5], [[-5.0], [5.0]], [[[1.0]], [[1.0]]])
            >>> g = torch.Generator().manual_seed(0)
            >>> x, z = gm.sample(4, generator=g, return_labels=True)
            >>> bool(((x[:, 0] > 0) == (z == 1)).all())
            True
        """
        n, generator = positive_int(n, "n"), optional_generator(generator, "generator")
        return_labels = boolean(return_labels, "return_labels")
        z = torch.multinomial(self.weights, n, replacement=True, generator=generator)  # (n,)
        eps = torch.randn(n, self.means.shape[1], generator=generator, dtype=self.means.dtype)
        x = self.means[z] + (self._chol[z] @ eps.unsqueeze(-1)).squeeze(-1)  # (n, d)
        return (x, z) if return_labels else x

    @classmethod
    def fit(
        cls,
        X: torch.Tensor | ArrayLike,
        k: int,
        *,
        max_iter: int = 200,
        tol: float = 1e-6,
        reg_covar: float = 1e-6,
        generator: torch.Generator | None = None,
        seed: int | None = None,
    ) -> GaussianMixture:
        r"""Fit a $K$-component mixture to data by expectation-maximization (EM).

        Start from a hard clustering (k-means++ seeds, then a few k-means steps), then alternate

        - E-step: responsibilities $r_{ik} = p(z_i = k \mid x_i)$ under the current parameters;
        - M-step: with $N_k = \sum_i r_{ik}$, set $\pi_k = N_k / n$,
          $\mu_k = \frac{1}{N_k}\sum_i r_{ik} x_i$ and
          $\Sigma_k = \frac{1}{N_k}\sum_i r_{ik} (x_i - \mu_k)(x_i - \mu_k)^\top + \epsilon I$,

        until the mean log-likelihood $\frac{1}{n}\sum_i \log p(x_i)$ rises by less than ``tol``.
        EM never lowers it (Dempster, Laird and Rubin, 1977, "Maximum likelihood from incomplete
        data via the EM algorithm").

        Args:
            X: real data, shape ``(n, d)``, rows are samples, ``n, d >= 1``.
            k: number of components, an integer ``1 <= k <= n``.
            max_iter: most EM iterations, an integer ``>= 1``.
            tol: stop when the mean log-likelihood improves by less than this (``>= 0``).
            reg_covar: $\epsilon \ge 0$ added to each covariance's diagonal, keeping it
                invertible.
            generator: a ``torch.Generator`` for the k-means++ seeding.
            seed: shorthand for ``generator=torch.Generator().manual_seed(seed)``; ignored
                when ``generator`` is given. With neither, the seed is 0.

        Returns:
            The fitted mixture; its ``history`` lists the mean log-likelihood per iteration.

        Raises:
            ValueError: if ``X`` is not a finite real 2-D matrix of single or double precision
                with a row and a column, an option is out of range or of the wrong kind, or
                ``reg_covar`` is too small to keep a covariance positive definite.
            TypeError: if ``generator`` is neither a ``torch.Generator`` nor ``None``.

        Examples:
            >>> import torch
            >>> from coursekit.maths.probability import GaussianMixture
            >>> g = torch.Generator().manual_seed(0)
            >>> X = torch.randn(400, 2, generator=g)
            >>> X[:200] -= 3
            >>> X[200:] += 3
            >>> gm = GaussianMixture.fit(X, 2, seed=0)
            >>> gm.means[gm.means[:, 0].argsort()].round()
            tensor([[-3., -3.],
                    [ 3.,  3.]])
        """
        X = single_or_double(finite(as_real_float(X, "X"), "X"), "X")
        if X.ndim != 2:
            raise ValueError(f"X must be 2-D (n, d), got shape {tuple(X.shape)}")
        n, d = X.shape
        if n == 0 or d == 0:
            what = "row (sample)" if n == 0 else "column"
            raise ValueError(f"X must have at least one {what}, got shape {tuple(X.shape)}")
        k = integer(k, "k")
        if not 1 <= k <= n:
            raise ValueError(f"k must be an int in [1, n = {n}], got {k!r}")
        max_iter = positive_int(max_iter, "max_iter")
        tol, reg_covar = nonnegative(tol, "tol"), nonnegative(reg_covar, "reg_covar")
        generator = optional_generator(generator, "generator")
        if seed is not None:  # the range torch.Generator.manual_seed takes
            seed = integer(seed, "seed", minimum=-(2**63), maximum=2**64 - 1)
        if generator is None:
            generator = torch.Generator().manual_seed(0 if seed is None else seed)
        resp = torch.nn.functional.one_hot(_kmeans(X, k, generator), k).to(X.dtype)  # (n, K)
        eye = reg_covar * torch.eye(d, dtype=X.dtype)
        history: list[float] = []
        for _ in range(max_iter):
            # M-step; 10 * tiny keeps an empty component from dividing by zero.
            nk = resp.sum(0) + 10 * torch.finfo(X.dtype).tiny  # (K,)
            means = resp.T @ X / nk[:, None]  # (K, d)
            diff = X[:, None, :] - means  # (n, K, d)
            covs = torch.einsum("nk,nki,nkj->kij", resp, diff, diff) / nk[:, None, None] + eye
            model = cls._from_em(nk / nk.sum(), means, covs, reg_covar)
            # E-step
            joint = model._joint_log_prob(X)  # (n, K)
            log_px = torch.logsumexp(joint, dim=1, keepdim=True)
            resp = (joint - log_px).exp()
            history.append(log_px.mean().item())
            if len(history) > 1 and history[-1] - history[-2] < tol:
                break
        model.history = history
        return model


def _kmeans(X: torch.Tensor, k: int, generator: torch.Generator, iters: int = 20) -> torch.Tensor:
    """Cluster labels, shape ``(n,)``, from a few Lloyd iterations after k-means++ seeding."""
    centers = _kmeans_plus_plus(X, k, generator)
    labels = torch.cdist(X, centers).argmin(1)
    for _ in range(iters):
        counts = torch.bincount(labels, minlength=k).to(X.dtype)
        sums = torch.zeros_like(centers).index_add_(0, labels, X)
        # An emptied cluster keeps its old center.
        centers = torch.where(counts[:, None] > 0, sums / counts.clamp_min(1)[:, None], centers)
        new = torch.cdist(X, centers).argmin(1)
        if torch.equal(new, labels):
            break
        labels = new
    return labels


def _kmeans_plus_plus(X: torch.Tensor, k: int, generator: torch.Generator) -> torch.Tensor:
    """k-means++ seeding (Arthur and Vassilvitskii, 2007): each new seed is a data point drawn
    with probability proportional to its squared distance to the nearest seed so far."""
    first = torch.randint(X.shape[0], (1,), generator=generator)
    seeds = [X[first[0]]]
    d2 = (X - seeds[0]).pow(2).sum(1)  # (n,)
    for _ in range(1, k):
        # All points equal to a seed (d2 == 0): fall back to uniform draws.
        probs = d2 if bool(d2.sum() > 0) else torch.ones_like(d2)
        idx = torch.multinomial(probs, 1, generator=generator)[0]
        seeds.append(X[idx])
        d2 = torch.minimum(d2, (X - X[idx]).pow(2).sum(1))
    return torch.stack(seeds)  # (K, d)
