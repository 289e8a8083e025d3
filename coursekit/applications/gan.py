r"""A generative adversarial network in two dimensions (Goodfellow et al., 2014).

A generator $G$ maps noise $z \sim \mathcal{N}(0, I)$ to points $G(z)$; a discriminator $D$
outputs the probability that a point is real. They play the minimax game

$$
\min_G \max_D \; \mathbb{E}_{x \sim p_{\text{data}}}[\log D(x)] + \mathbb{E}_{z}[\log(1 - D(G(z)))]
$$

in alternating gradient steps. As the paper recommends, $G$ maximizes $\log D(G(z))$ instead
of minimizing $\log(1 - D(G(z)))$: the same fixed point, but strong gradients early on, when
$D$ rejects every fake easily. Data in 2-D (a ring of Gaussians) trains in seconds and can be
looked at.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from numpy.typing import ArrayLike
from torch import nn

from coursekit._validation import (
    finite,
    integer,
    model_input,
    nonnegative,
    nonnegative_int,
    positive,
    positive_int,
)
from coursekit.maths.probability import GaussianMixture

__all__ = ["Discriminator", "Generator", "ring_of_gaussians", "train_gan"]


class Generator(nn.Sequential):
    """An MLP from noise to data space: ``latent_dim`` -> ``hidden`` -> ``hidden`` -> ``data_dim``.

    Raises:
        ValueError: naming the argument, if a size is not a positive integer.

    Examples:
        >>> import torch
        >>> from coursekit.applications.gan import Generator
        >>> tuple(Generator()(torch.zeros(5, 8)).shape)
        (5, 2)
    """

    def __init__(self, latent_dim: int = 8, hidden: int = 64, data_dim: int = 2):
        latent_dim, hidden = positive_int(latent_dim, "latent_dim"), positive_int(hidden, "hidden")
        data_dim = positive_int(data_dim, "data_dim")
        super().__init__(
            nn.Linear(latent_dim, hidden), nn.ReLU(),
            nn.Linear(hidden, hidden), nn.ReLU(),
            nn.Linear(hidden, data_dim),
        )  # fmt: skip
        self.latent_dim = latent_dim


class Discriminator(nn.Sequential):
    r"""An MLP from data space to one logit, $\log D(x) - \log(1 - D(x))$.

    Raises:
        ValueError: naming the argument, if a size is not a positive integer.

    Examples:
        >>> import torch
        >>> from coursekit.applications.gan import Discriminator
        >>> tuple(Discriminator()(torch.zeros(5, 2)).shape)
        (5, 1)
    """

    def __init__(self, data_dim: int = 2, hidden: int = 64):
        data_dim, hidden = positive_int(data_dim, "data_dim"), positive_int(hidden, "hidden")
        super().__init__(
            nn.Linear(data_dim, hidden), nn.LeakyReLU(0.2),
            nn.Linear(hidden, hidden), nn.LeakyReLU(0.2),
            nn.Linear(hidden, 1),
        )  # fmt: skip


def ring_of_gaussians(k: int = 8, radius: float = 2.0, std: float = 0.05) -> GaussianMixture:
    r"""The classic GAN test distribution: $k$ equal Gaussians evenly spaced on a circle.

    Component $j$ has mean $r(\cos 2\pi j / k, \sin 2\pi j / k)$ and covariance $\sigma^2 I$.

    Args:
        k: number of modes.
        radius: radius $r$ of the ring.
        std: standard deviation $\sigma$ of each mode.

    Returns:
        A `coursekit.maths.probability.GaussianMixture`.

    Raises:
        ValueError: if ``k`` is not a positive integer or ``radius`` or ``std`` is not a
            positive finite number.

    Examples:
        >>> import torch
        >>> from coursekit.applications.gan import ring_of_gaussians
        >>> ring = ring_of_gaussians()
        >>> x = ring.sample(1000, generator=torch.Generator().manual_seed(0))
        >>> round((x.norm(dim=1) - 2.0).abs().mean().item(), 2)
        0.04
    """
    k = positive_int(k, "k")
    radius, std = positive(radius, "radius"), positive(std, "std")
    angles = torch.arange(k, dtype=torch.float32) * (2 * math.pi / k)
    means = radius * torch.stack([angles.cos(), angles.sin()], dim=1)  # (k, 2)
    return GaussianMixture(torch.full((k,), 1.0 / k), means, std**2 * torch.eye(2).repeat(k, 1, 1))


def train_gan(
    gen: nn.Module,
    disc: nn.Module,
    real: torch.Tensor | ArrayLike,
    *,
    steps: int,
    batch_size: int = 128,
    lr: float = 3e-3,
    r1: float = 0.3,
    seed: int = 0,
) -> dict[str, list[float]]:
    r"""Train a GAN by alternating one discriminator step and one generator step.

    The discriminator minimizes the binary cross entropy of telling ``real`` points (label 1)
    from generated ones (label 0), plus the R1 penalty of Mescheder, Geiger and Nowozin (2018),
    $\frac{\gamma}{2} \mathbb{E}_x \lVert \nabla_x D(x) \rVert^2$ on real points, which keeps
    it from growing steep around the data and so damps the oscillations that make plain GANs
    fail on some seeds. The generator minimizes the non-saturating loss $-\log D(G(z))$. Both
    use Adam with $\beta_1 = 0.5$, a common choice for GANs.

    Args:
        gen: maps noise ``(B, gen.latent_dim)`` to points ``(B, d)``.
        disc: maps points ``(B, d)`` to logits ``(B, 1)``.
        real: the training data, shape ``(N, d)``, floating point; mini-batches are drawn from
            it at random. A NumPy array or list is converted to the dtype of ``disc``'s
            parameters.
        steps: number of (discriminator, generator) step pairs.
        batch_size: real and fake points per step.
        lr: Adam learning rate of both networks.
        r1: weight $\gamma$ of the R1 penalty; 0 gives the plain GAN of the 2014 paper.
        seed: seeds the mini-batches and the noise.

    Returns:
        ``{"d_loss": [...], "g_loss": [...]}``, one value per step (``d_loss`` with the penalty).

    Raises:
        ValueError: naming the argument, if ``gen`` or ``disc`` is not a module (``gen``
            with an integer ``latent_dim``), ``real`` is not a finite floating 2-D array with
            at least one row, ``steps`` or ``r1`` is negative, ``batch_size`` is not a positive
            integer, ``lr`` is negative, or ``seed`` is not an integer.

    Examples:
        >>> import torch
        >>> from coursekit.applications.gan import Discriminator, Generator, train_gan
        >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
        <torch._C.Generator object at ...>
        >>> real = torch.randn(256, 2)
        >>> history = train_gan(Generator(), Discriminator(), real, steps=3)
        >>> len(history["d_loss"]), len(history["g_loss"])
        (3, 3)
    """
    for name, net in (("gen", gen), ("disc", disc)):
        if not isinstance(net, nn.Module):
            raise ValueError(f"{name} must be a torch.nn.Module, got {type(net).__name__}")
    latent_dim = positive_int(getattr(gen, "latent_dim", None), "gen.latent_dim")
    real = finite(model_input(real, disc, "real"), "real").detach()
    if real.ndim != 2 or len(real) == 0:
        raise ValueError(f"real must have shape (N, d) with N >= 1, got shape {tuple(real.shape)}")
    steps, batch_size = nonnegative_int(steps, "steps"), positive_int(batch_size, "batch_size")
    lr, r1, seed = nonnegative(lr, "lr"), nonnegative(r1, "r1"), integer(seed, "seed")
    rng = torch.Generator().manual_seed(seed)
    opt_g = torch.optim.Adam(gen.parameters(), lr=lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(disc.parameters(), lr=lr, betas=(0.5, 0.999))
    ones = torch.ones(batch_size, 1, dtype=real.dtype)
    zeros = torch.zeros(batch_size, 1, dtype=real.dtype)
    history: dict[str, list[float]] = {"d_loss": [], "g_loss": []}
    for _ in range(steps):
        picks = torch.randint(len(real), (batch_size,), generator=rng)
        x = real[picks].requires_grad_(r1 > 0)  # (B, d)
        fake = gen(torch.randn(batch_size, latent_dim, generator=rng, dtype=real.dtype))
        try:
            real_logits = disc(x)
        except RuntimeError as err:  # a layer that does not fit the data's shape says so
            raise ValueError(f"disc does not fit real's rows of shape {tuple(real.shape[1:])}: "
                             f"{err}") from err
        d_loss = F.binary_cross_entropy_with_logits(real_logits, ones)
        # detach: the discriminator's step must not move the generator
        d_loss = d_loss + F.binary_cross_entropy_with_logits(disc(fake.detach()), zeros)
        if r1 > 0:
            (grad,) = torch.autograd.grad(real_logits.sum(), x, create_graph=True)  # (B, d)
            d_loss = d_loss + r1 / 2 * grad.pow(2).sum(dim=1).mean()
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        g_loss = F.binary_cross_entropy_with_logits(disc(fake), ones)  # -log D(G(z))
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        history["d_loss"].append(d_loss.item())
        history["g_loss"].append(g_loss.item())
    return history
