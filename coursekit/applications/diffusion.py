r"""A denoising diffusion probabilistic model, small enough to train on 2-D points in seconds.

Ho, Jain and Abbeel (2020, "Denoising diffusion probabilistic models") destroy the data in
$T$ small steps of Gaussian noise, the **forward process**

$$
q(x_t \mid x_{t-1}) = \mathcal{N}\left(\sqrt{1 - \beta_t}\, x_{t-1},\ \beta_t I\right),
\qquad t = 1, \dots, T,
$$

whose steps compose in closed form: with $\alpha_t = 1 - \beta_t$ and
$\bar\alpha_t = \prod_{s \le t} \alpha_s$,
$q(x_t \mid x_0) = \mathcal{N}(\sqrt{\bar\alpha_t}\, x_0, (1 - \bar\alpha_t) I)$, nearly
$\mathcal{N}(0, I)$ at $t = T$. A network $\epsilon_\theta(x_t, t)$ learns to predict the noise
$\epsilon$ in $x_t = \sqrt{\bar\alpha_t}\, x_0 + \sqrt{1 - \bar\alpha_t}\, \epsilon$ (the
paper's simplified loss), and the **reverse process** turns fresh noise back into data one
step at a time (ancestral sampling).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from coursekit._validation import (
    as_real_float,
    finite,
    integer,
    model_input,
    nonnegative_int,
    optional_generator,
    positive_int,
    real,
    vector,
)

__all__ = ["NoisePredictor", "forward_marginal", "linear_betas", "sample_ddpm", "train_ddpm"]


def linear_betas(timesteps: int, beta_1: float = 1e-4, beta_T: float = 0.02) -> torch.Tensor:
    r"""The linear noise schedule $\beta_t$, evenly spaced from $\beta_1$ to $\beta_T$.

    Ho et al. use $T = 1000$ steps from $10^{-4}$ to $0.02$ on images; a few dozen steps with
    a larger $\beta_T$ suffice for 2-D points, as long as $\bar\alpha_T$ is close to 0.

    Args:
        timesteps: the number of steps $T$.
        beta_1: the first variance, in $(0, 1)$.
        beta_T: the last variance, in $[\beta_1, 1)$.

    Returns:
        Float32 tensor of shape ``(T,)``, ``betas[t - 1]`` $= \beta_t$.

    Raises:
        ValueError: naming the argument, if ``timesteps`` is not a positive integer or the
            variances are not $0 < \beta_1 \le \beta_T < 1$.

    Examples:
        >>> from coursekit.applications.diffusion import linear_betas
        >>> linear_betas(5, 0.1, 0.5)
        tensor([0.1000, 0.2000, 0.3000, 0.4000, 0.5000])
        >>> bool((1 - linear_betas(1000)).prod() < 1e-4)  # the paper's: ends in noise
        True
    """
    timesteps = positive_int(timesteps, "timesteps")
    beta_1 = real(beta_1, "beta_1", minimum=0.0, open_minimum=True, maximum=1.0)
    beta_T = real(beta_T, "beta_T", minimum=beta_1, maximum=1.0)
    if beta_1 >= 1 or beta_T >= 1:
        raise ValueError(f"beta_1 and beta_T must be below 1, got {beta_1!r} and {beta_T!r}")
    return torch.linspace(beta_1, beta_T, timesteps)


def _schedule(betas) -> torch.Tensor:
    """``betas`` as a finite float vector of variances in (0, 1)."""
    betas = finite(vector(as_real_float(betas, "betas"), "betas"), "betas")
    if len(betas) == 0 or not bool(((betas > 0) & (betas < 1)).all()):
        raise ValueError("betas must be a non-empty vector of variances in (0, 1), got "
                         f"shape {tuple(betas.shape)}")  # fmt: skip
    return betas


def forward_marginal(x0, t: int, betas) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Mean and standard deviation of $q(x_t \mid x_0) = \mathcal{N}(\sqrt{\bar\alpha_t}\,
    x_0, (1 - \bar\alpha_t) I)$, in closed form.

    Args:
        x0: data points, any shape.
        t: the step, from 0 (the data itself: standard deviation 0) to $T$.
        betas: the schedule $\beta_1, \dots, \beta_T$, shape ``(T,)``.

    Returns:
        ``(mean, std)``: ``mean`` shaped like ``x0``, ``std`` a 0-d tensor.

    Raises:
        ValueError: naming the argument, if ``x0`` is not finite numbers, ``betas`` is not a
            vector of variances in $(0, 1)$, or ``t`` is not an integer in $[0, T]$.

    Examples:
        >>> import torch
        >>> from coursekit.applications.diffusion import forward_marginal, linear_betas
        >>> betas = linear_betas(3, 0.5, 0.5)
        >>> mean, std = forward_marginal(torch.tensor([2.0, 0.0]), 3, betas)
        >>> mean, std  # 2 sqrt(0.5**3) = 0.7071, sqrt(1 - 0.5**3) = 0.9354
        (tensor([0.7071, 0.0000]), tensor(0.9354))
    """
    betas = _schedule(betas)
    x0 = finite(as_real_float(x0, "x0"), "x0")
    t = integer(t, "t", minimum=0, maximum=len(betas))
    alpha_bar = (1 - betas[:t].double()).prod()  # 1 for t = 0
    dtype = torch.promote_types(x0.dtype, betas.dtype)
    mean = alpha_bar.sqrt().to(dtype) * x0.to(dtype)
    return mean, (1 - alpha_bar).sqrt().to(dtype)


class NoisePredictor(nn.Module):
    r"""An MLP $\epsilon_\theta(x_t, t)$ that predicts the noise in $x_t$, told the step $t$.

    The step enters as sinusoidal features of $t / T$ at ``embed_dim / 2`` frequencies from 1
    to 100 (the Transformer's position encoding, which Ho et al. use for the step too),
    concatenated with $x_t$; two hidden layers with SiLU activations follow.

    Args:
        timesteps: the number of steps $T$ of the schedule it is trained with.
        data_dim: dimension of the points.
        hidden: width of the hidden layers.
        embed_dim: number of time features, even.

    Raises:
        ValueError: naming the argument, if a size is not a positive integer or
            ``embed_dim`` is odd.

    Examples:
        >>> import torch
        >>> from coursekit.applications.diffusion import NoisePredictor
        >>> model = NoisePredictor(timesteps=40)
        >>> tuple(model(torch.zeros(5, 2), torch.full((5,), 40)).shape)
        (5, 2)
    """

    def __init__(self, timesteps: int, data_dim: int = 2, hidden: int = 64, embed_dim: int = 16):
        super().__init__()
        self.timesteps = positive_int(timesteps, "timesteps")
        data_dim, hidden = positive_int(data_dim, "data_dim"), positive_int(hidden, "hidden")
        embed_dim = positive_int(embed_dim, "embed_dim")
        if embed_dim % 2:
            raise ValueError(f"embed_dim must be even (a sine and a cosine per frequency), "
                             f"got {embed_dim}")  # fmt: skip
        self.register_buffer("freqs", torch.exp(torch.linspace(0, math.log(100), embed_dim // 2)))
        self.net = nn.Sequential(
            nn.Linear(data_dim + embed_dim, hidden), nn.SiLU(),
            nn.Linear(hidden, hidden), nn.SiLU(),
            nn.Linear(hidden, data_dim),
        )  # fmt: skip

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        angles = (t.to(x.dtype) / self.timesteps)[:, None] * self.freqs.to(x.dtype)  # (N, E/2)
        return self.net(torch.cat([x, angles.sin(), angles.cos()], dim=1))


def _module(model, name: str = "model") -> nn.Module:
    if not isinstance(model, nn.Module):
        raise ValueError(f"{name} must be a torch.nn.Module, got {type(model).__name__}")
    return model


def _schedule_for(model: nn.Module, betas) -> torch.Tensor:
    betas = _schedule(betas)
    timesteps = getattr(model, "timesteps", len(betas))
    if timesteps != len(betas):
        raise ValueError(f"betas must have the model's {timesteps} steps, got {len(betas)}")
    return betas


def train_ddpm(model: nn.Module, data, betas, *, steps: int, batch_size: int = 256,
               lr: float = 2e-2, seed: int = 0) -> list[float]:
    r"""Train a noise predictor with the simplified DDPM loss, in place.

    Each step draws a mini-batch $x_0$ from ``data``, a step $t$ uniform in $1, \dots, T$ and
    noise $\epsilon \sim \mathcal{N}(0, I)$ for each point, and takes an Adam step on

    $$
    L = \mathbb{E}\, \lVert \epsilon - \epsilon_\theta(\sqrt{\bar\alpha_t}\, x_0
        + \sqrt{1 - \bar\alpha_t}\, \epsilon,\ t) \rVert^2 ,
    $$

    averaged over the batch and the coordinates. The rate is annealed from ``lr`` to 0 on a
    cosine, which lets a short run settle.

    Args:
        model: maps points ``(B, d)`` and steps ``(B,)`` (integers in $1..T$) to noise
            predictions ``(B, d)``, e.g. a `NoisePredictor`.
        data: the training points, shape ``(N, d)``; a NumPy array or list is converted to
            the dtype of ``model``'s parameters.
        betas: the schedule, shape ``(T,)``; ``T`` must match ``model.timesteps`` if it has it.
        steps: number of Adam steps.
        batch_size: points per step.
        lr: the initial learning rate.
        seed: seeds the mini-batches, the steps and the noise.

    Returns:
        The loss of every step.

    Raises:
        ValueError: naming the argument, if ``model`` is not a module, ``data`` is not a
            finite floating ``(N, d)`` array with ``N >= 1``, ``betas`` is not a schedule of
            the model's length, ``steps`` is negative, ``batch_size`` is not a positive
            integer, ``lr`` is negative or ``seed`` is not an integer.

    Examples:
        >>> import torch
        >>> from coursekit.applications.diffusion import (
        ...     NoisePredictor, linear_betas, train_ddpm)
        >>> _ = torch.manual_seed(0)
        >>> model, betas = NoisePredictor(timesteps=10), linear_betas(10, 1e-3, 0.5)
        >>> losses = train_ddpm(model, torch.randn(100, 2), betas, steps=3)
        >>> len(losses)
        3
    """
    model = _module(model)
    data = finite(model_input(data, model, "data"), "data").detach()
    if data.ndim != 2 or len(data) == 0:
        raise ValueError(f"data must have shape (N, d) with N >= 1, got shape {tuple(data.shape)}")
    betas = _schedule_for(model, betas).to(data.dtype)
    steps, batch_size = nonnegative_int(steps, "steps"), positive_int(batch_size, "batch_size")
    lr, seed = real(lr, "lr", minimum=0.0), integer(seed, "seed")
    alpha_bar = torch.cumprod(1 - betas, dim=0)  # (T,)
    rng = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr, fused=True)  # one kernel: faster on CPU
    losses = []
    for step in range(steps):
        for group in opt.param_groups:
            group["lr"] = lr * 0.5 * (1 + math.cos(math.pi * step / steps))
        x0 = data[torch.randint(len(data), (batch_size,), generator=rng)]  # (B, d)
        t = torch.randint(1, len(betas) + 1, (batch_size,), generator=rng)  # (B,)
        noise = torch.randn(x0.shape, generator=rng, dtype=data.dtype)
        a = alpha_bar[t - 1][:, None]  # (B, 1)
        try:
            predicted = model(a.sqrt() * x0 + (1 - a).sqrt() * noise, t)
        except RuntimeError as err:  # a layer that does not fit the data's shape says so
            raise ValueError(f"model does not fit data's rows of shape {tuple(data.shape[1:])}: "
                             f"{err}") from err
        loss = F.mse_loss(predicted, noise)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


@torch.no_grad()
def sample_ddpm(model: nn.Module, betas, n: int, *, data_dim: int = 2,
                generator: torch.Generator | None = None) -> torch.Tensor:
    r"""Draw ``n`` points by ancestral sampling: from $x_T \sim \mathcal{N}(0, I)$, for
    $t = T, \dots, 1$,

    $$
    x_{t-1} = \frac{1}{\sqrt{\alpha_t}} \left( x_t - \frac{\beta_t}{\sqrt{1 - \bar\alpha_t}}
        \epsilon_\theta(x_t, t) \right) + \sigma_t z, \qquad z \sim \mathcal{N}(0, I),
    $$

    with $\sigma_t^2 = \tilde\beta_t = \frac{1 - \bar\alpha_{t-1}}{1 - \bar\alpha_t} \beta_t$,
    the variance of $q(x_{t-1} \mid x_t, x_0)$ (Ho et al. found it and $\beta_t$ about equally
    good), and no noise in the last step.

    Args:
        model: a trained noise predictor, called as ``model(x, t)``.
        betas: the schedule it was trained with, shape ``(T,)``.
        n: number of points.
        data_dim: dimension of the points.
        generator: draws the noise; the global generator if None.

    Returns:
        Points of shape ``(n, data_dim)`` in the dtype of ``model``'s parameters.

    Raises:
        ValueError: naming the argument, if ``model`` is not a module, ``betas`` is not a
            schedule of the model's length, ``n`` is negative or ``data_dim`` not positive.
        TypeError: if ``generator`` is not a ``torch.Generator`` or None.

    Examples:
        >>> import torch
        >>> from coursekit.applications.diffusion import (
        ...     NoisePredictor, linear_betas, sample_ddpm)
        >>> _ = torch.manual_seed(0)
        >>> model, betas = NoisePredictor(timesteps=10), linear_betas(10, 1e-3, 0.5)
        >>> a = sample_ddpm(model, betas, 4, generator=torch.Generator().manual_seed(0))
        >>> b = sample_ddpm(model, betas, 4, generator=torch.Generator().manual_seed(0))
        >>> tuple(a.shape), torch.equal(a, b)
        ((4, 2), True)
    """
    model = _module(model)
    dtypes = [p.dtype for p in model.parameters() if p.is_floating_point()]
    dtype = dtypes[0] if dtypes else torch.get_default_dtype()
    betas = _schedule_for(model, betas).to(dtype)
    n, data_dim = nonnegative_int(n, "n"), positive_int(data_dim, "data_dim")
    generator = optional_generator(generator, "generator")
    alphas = 1 - betas
    alpha_bar = torch.cumprod(alphas, dim=0)  # (T,)
    x = torch.randn(n, data_dim, generator=generator, dtype=dtype)  # x_T
    for t in range(len(betas), 0, -1):
        try:
            eps = model(x, torch.full((n,), t))  # (n, d)
        except RuntimeError as err:  # a layer that does not take points of data_dim says so
            raise ValueError(f"model does not take points of data_dim={data_dim}: {err}") from err
        x = (x - betas[t - 1] / (1 - alpha_bar[t - 1]).sqrt() * eps) / alphas[t - 1].sqrt()
        if t > 1:
            var = betas[t - 1] * (1 - alpha_bar[t - 2]) / (1 - alpha_bar[t - 1])
            x = x + var.sqrt() * torch.randn(n, data_dim, generator=generator, dtype=dtype)
    return x
