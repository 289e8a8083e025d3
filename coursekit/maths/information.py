r"""Entropy, cross entropy, KL divergence and mutual information of discrete distributions.

The chapter "Information theory" (``docs/maths/information-theory.md``) teaches what this module
implements. Quantities are in bits by default (``base=2``); pass ``base=math.e`` for nats.
Zero probabilities follow the convention $0 \log 0 = 0$. A distribution is a tensor of
nonnegative numbers summing to 1 along its last axis; leading axes are a batch. Anything else
(complex numbers, ``nan`` or ``inf``, strings, an empty tensor), and a base that is not a finite
positive number other than 1, raises a ``ValueError`` naming the argument. One density has its
differential entropy here too, the Gaussian's, from its covariance matrix.
"""

from __future__ import annotations

import math

import torch
from numpy.typing import ArrayLike

from coursekit._validation import as_real_float, finite, positive, single_or_double, symmetric

__all__ = [
    "entropy",
    "cross_entropy",
    "kl_divergence",
    "joint_entropy",
    "conditional_entropy",
    "mutual_information",
    "differential_entropy_gaussian",
]


def _distribution(
    p: torch.Tensor | ArrayLike, name: str, dims: tuple[int, ...] = (-1,)
) -> torch.Tensor:
    """``p`` as a floating tensor, or a ValueError if it is not nonnegative and summing to 1."""
    p = finite(as_real_float(p, name), name)
    if p.ndim < len(dims) or p.numel() == 0:
        raise ValueError(
            f"{name} must have at least {len(dims)} non-empty dimension(s), "
            f"got shape {tuple(p.shape)}"
        )
    # Half the digits: loose enough for float32 softmax outputs, tight enough to catch mistakes.
    tol = torch.finfo(p.dtype).eps ** 0.5
    sums = p.sum(dim=dims)
    if bool((p < 0).any()) or not bool(((sums - 1).abs() <= tol).all()):
        raise ValueError(
            f"{name} must be nonnegative and sum to 1, got sums {sums.flatten()[:4].tolist()}"
        )
    return p


def _log(base: float) -> float:
    """Natural log of the base, the divisor that converts nats to the base's unit."""
    base = positive(base, "base")
    if base == 1:
        raise ValueError("base must be a positive number other than 1, got 1")
    return math.log(base)


def _pair(
    p: torch.Tensor | ArrayLike, q: torch.Tensor | ArrayLike
) -> tuple[torch.Tensor, torch.Tensor]:
    """Two distributions over the same outcomes (same last axis), with batches that broadcast,
    in their common dtype."""
    p, q = _distribution(p, "p"), _distribution(q, "q")
    if p.shape[-1] != q.shape[-1]:
        raise ValueError(
            f"p and q must have the same last axis, "
            f"got shapes {tuple(p.shape)} and {tuple(q.shape)}"
        )
    try:
        torch.broadcast_shapes(p.shape[:-1], q.shape[:-1])
    except RuntimeError:
        raise ValueError(
            f"p and q must broadcast, got shapes {tuple(p.shape)} and {tuple(q.shape)}"
        ) from None
    dtype = torch.promote_types(p.dtype, q.dtype)  # so that p log p is as precise as p log q
    return p.to(dtype), q.to(dtype)


def _joint(pxy: torch.Tensor | ArrayLike) -> torch.Tensor:
    """A joint table p(x, y) over the last two axes."""
    return _distribution(pxy, "pxy", dims=(-2, -1))


def entropy(p: torch.Tensor | ArrayLike, base: float = 2) -> torch.Tensor:
    r"""Shannon entropy $H(p) = -\sum_x p(x) \log p(x)$.

    The average code length of the best code for outcomes drawn from $p$.

    Args:
        p: a distribution over the last axis, shape ``(..., n)``.
        base: the logarithm's base: 2 for bits, ``math.e`` for nats.

    Returns:
        The entropy, shape ``p.shape[:-1]``.

    Raises:
        ValueError: if ``p`` is not a distribution or ``base`` is invalid.

    Examples:
        >>> import torch
        >>> from coursekit.maths.information import entropy
        >>> entropy(torch.tensor([0.5, 0.25, 0.125, 0.125]))
        tensor(1.7500)
        >>> entropy(torch.tensor([1.0, 0.0]))  # 0 log 0 = 0
        tensor(0.)
    """
    p = _distribution(p, "p")
    return -torch.special.xlogy(p, p).sum(-1) / _log(base)


def cross_entropy(
    p: torch.Tensor | ArrayLike, q: torch.Tensor | ArrayLike, base: float = 2
) -> torch.Tensor:
    r"""Cross entropy $H(p, q) = -\sum_x p(x) \log q(x)$.

    The average code length for outcomes drawn from $p$ with a code built for $q$; it is
    infinite where $q(x) = 0 < p(x)$.

    Args:
        p: the true distribution, shape ``(..., n)``.
        q: the model distribution, shape ``(..., n)``, broadcast against ``p``.
        base: the logarithm's base: 2 for bits, ``math.e`` for nats.

    Returns:
        The cross entropy, the broadcast shape without the last axis.

    Raises:
        ValueError: if ``p`` or ``q`` is not a distribution, their last axes differ or their
            batch shapes do not broadcast, or ``base`` is invalid.

    Examples:
        >>> import torch
        >>> from coursekit.maths.information import cross_entropy
        >>> cross_entropy(torch.tensor([0.5, 0.25, 0.125, 0.125]), torch.full((4,), 0.25))
        tensor(2.)
    """
    p, q = _pair(p, q)
    return -torch.special.xlogy(p, q).sum(-1) / _log(base)


def kl_divergence(
    p: torch.Tensor | ArrayLike, q: torch.Tensor | ArrayLike, base: float = 2
) -> torch.Tensor:
    r"""Kullback-Leibler divergence $D_{KL}(p \,\|\, q) = H(p, q) - H(p)$.

    $$
    D_{KL}(p \,\|\, q) = \sum_x p(x) \log \frac{p(x)}{q(x)}
    $$

    Nonnegative, zero only when $p = q$, and not symmetric in $p$ and $q$.

    Args:
        p: the true distribution, shape ``(..., n)``.
        q: the model distribution, shape ``(..., n)``, broadcast against ``p``.
        base: the logarithm's base: 2 for bits, ``math.e`` for nats.

    Returns:
        The divergence, the broadcast shape without the last axis.

    Raises:
        ValueError: if ``p`` or ``q`` is not a distribution, their last axes differ or their
            batch shapes do not broadcast, or ``base`` is invalid.

    Examples:
        >>> import torch
        >>> from coursekit.maths.information import kl_divergence
        >>> p, q = torch.tensor([0.5, 0.5]), torch.tensor([0.9, 0.1])
        >>> round(kl_divergence(p, q).item(), 4), round(kl_divergence(q, p).item(), 4)
        (0.737, 0.531)
    """
    p, q = _pair(p, q)
    return (torch.special.xlogy(p, p) - torch.special.xlogy(p, q)).sum(-1) / _log(base)


def joint_entropy(pxy: torch.Tensor | ArrayLike, base: float = 2) -> torch.Tensor:
    r"""Joint entropy $H(X, Y) = -\sum_{x, y} p(x, y) \log p(x, y)$ of a joint table.

    Args:
        pxy: the joint distribution $p(x, y)$, shape ``(..., |X|, |Y|)``, ``x`` indexing rows.
        base: the logarithm's base: 2 for bits, ``math.e`` for nats.

    Returns:
        The joint entropy, shape ``pxy.shape[:-2]``.

    Raises:
        ValueError: if ``pxy`` is not a joint distribution or ``base`` is invalid.

    Examples:
        >>> import torch
        >>> from coursekit.maths.information import joint_entropy
        >>> joint_entropy(torch.full((2, 2), 0.25))
        tensor(2.)
    """
    pxy = _joint(pxy)
    return entropy(pxy.flatten(-2), base)


def conditional_entropy(pxy: torch.Tensor | ArrayLike, base: float = 2) -> torch.Tensor:
    r"""Conditional entropy $H(Y \mid X) = -\sum_{x, y} p(x, y) \log p(y \mid x) = H(X, Y) - H(X)$.

    Args:
        pxy: the joint distribution $p(x, y)$, shape ``(..., |X|, |Y|)``, ``x`` indexing rows.
        base: the logarithm's base: 2 for bits, ``math.e`` for nats.

    Returns:
        $H(Y \mid X)$, shape ``pxy.shape[:-2]``.

    Raises:
        ValueError: if ``pxy`` is not a joint distribution or ``base`` is invalid.

    Examples:
        >>> import torch
        >>> from coursekit.maths.information import conditional_entropy
        >>> conditional_entropy(torch.tensor([[0.5, 0.0], [0.0, 0.5]]))  # Y = X
        tensor(0.)
    """
    pxy = _joint(pxy)
    px = pxy.sum(-1, keepdim=True)  # (..., |X|, 1)
    # p(y|x) = p(x, y) / p(x); rows with p(x) = 0 contribute nothing, so divide by 1 there.
    py_given_x = pxy / torch.where(px > 0, px, torch.ones_like(px))
    return -torch.special.xlogy(pxy, py_given_x).sum((-2, -1)) / _log(base)


def mutual_information(pxy: torch.Tensor | ArrayLike, base: float = 2) -> torch.Tensor:
    r"""Mutual information $I(X; Y) = D_{KL}\big(p(x, y) \,\|\, p(x) p(y)\big)$.

    Zero exactly when $X$ and $Y$ are independent; equal to $H(Y) - H(Y \mid X)$ and to
    $H(X) + H(Y) - H(X, Y)$.

    Args:
        pxy: the joint distribution $p(x, y)$, shape ``(..., |X|, |Y|)``, ``x`` indexing rows.
        base: the logarithm's base: 2 for bits, ``math.e`` for nats.

    Returns:
        $I(X; Y)$, shape ``pxy.shape[:-2]``.

    Raises:
        ValueError: if ``pxy`` is not a joint distribution or ``base`` is invalid.

    Examples:
        >>> import torch
        >>> from coursekit.maths.information import mutual_information
        >>> mutual_information(torch.tensor([[0.5, 0.0], [0.0, 0.5]]))  # Y = X: 1 bit
        tensor(1.)
    """
    pxy = _joint(pxy)
    product = pxy.sum(-1, keepdim=True) * pxy.sum(-2, keepdim=True)  # p(x) p(y), (..., |X|, |Y|)
    return kl_divergence(pxy.flatten(-2), product.flatten(-2), base)


def differential_entropy_gaussian(cov: torch.Tensor | ArrayLike, base: float = 2) -> torch.Tensor:
    r"""Differential entropy of the Gaussian $\mathcal{N}(\mu, \Sigma)$ in $d$ dimensions.

    $$
    h = -\int \mathcal{N}(x; \mu, \Sigma) \log \mathcal{N}(x; \mu, \Sigma)\, dx
      = \frac{1}{2} \log\left((2 \pi e)^d \det \Sigma\right)
    $$

    which is $\frac{1}{2} \log 2 \pi e \sigma^2$ for one dimension of variance $\sigma^2$; the
    mean does not enter. Unlike the entropy of a distribution over outcomes, it is not a number
    of bits: it is negative when $\det \Sigma < (2 \pi e)^{-d}$, and it changes with the units
    of $x$ (scaling $x$ by $a$ adds $d \log |a|$). $\log \det \Sigma$ is computed through the
    Cholesky factor $\Sigma = L L^\top$, as $2 \sum_i \log L_{ii}$.

    Args:
        cov: $\Sigma$, symmetric positive definite, shape ``(..., d, d)`` with ``d >= 1``;
            leading axes are a batch. One dimension of variance $\sigma^2$ is ``[[sigma**2]]``.
        base: the logarithm's base: 2 for bits, ``math.e`` for nats.

    Returns:
        The differential entropy, shape ``cov.shape[:-2]``.

    Raises:
        ValueError: if ``cov`` is not a finite real symmetric positive definite matrix (or a
            batch of them) in single or double precision, or ``base`` is invalid.

    Examples:
        >>> import math
        >>> import torch
        >>> from coursekit.maths.information import differential_entropy_gaussian
        >>> h = differential_entropy_gaussian(torch.tensor([[1.0]]), base=math.e)
        >>> round(h.item(), 4), round(0.5 * math.log(2 * math.pi * math.e), 4)
        (1.4189, 1.4189)
        >>> differential_entropy_gaussian(torch.tensor([[0.01]])) < 0  # narrow: negative
        tensor(True)
    """
    cov = single_or_double(symmetric(finite(as_real_float(cov, "cov"), "cov"), "cov"), "cov")
    d = cov.shape[-1]
    if d == 0:
        raise ValueError(f"cov must be (..., d, d) with d >= 1, got shape {tuple(cov.shape)}")
    L, info = torch.linalg.cholesky_ex(cov)
    if bool((info != 0).any()):
        raise ValueError("cov must be symmetric positive definite, got a matrix that is not")
    log_det = 2 * L.diagonal(dim1=-2, dim2=-1).log().sum(-1)  # (...,)
    return 0.5 * (d * math.log(2 * math.pi * math.e) + log_det) / _log(base)
