r"""The SIR epidemic model, simulated in torch and fitted to data through the simulation.

Kermack and McKendrick (1927, "A contribution to the mathematical theory of epidemics") split a
population into the susceptible $S$, the infected $I$ and the removed (recovered) $R$, as
fractions that sum to 1. An infected person meets others at a rate that infects a susceptible
one at rate $\beta$, and recovers at rate $\gamma$:

$$
\frac{dS}{dt} = -\beta S I, \qquad \frac{dI}{dt} = \beta S I - \gamma I, \qquad
\frac{dR}{dt} = \gamma I .
$$

The basic reproduction number $R_0 = \beta / \gamma$ is the number of people one case infects
in a fully susceptible population; the epidemic grows while $R_0 S > 1$. The simulation is a
differentiable program: autograd gives the gradient of a misfit to observed infections with
respect to $\beta$ and $\gamma$, and a gradient method recovers them from the data.
"""

from __future__ import annotations

import math

import torch

from coursekit._validation import as_real_float, finite, positive, positive_int, real, vector

__all__ = ["fit_sir", "simulate_sir"]


_MAX_RATE_PER_STEP = 2.0  # h * rate <= 2: RK4 is stable on the growth phase (up to 2.78)


def _infected_fraction(i0, name: str = "i0") -> float:
    i0 = real(i0, name)
    if not 0 < i0 < 1:
        raise ValueError(f"{name} must be strictly between 0 and 1, got {i0!r}")
    return i0


def _rk4(beta: torch.Tensor, gamma: torch.Tensor, i0: float, days: int,
         steps_per_day: int) -> tuple[torch.Tensor, torch.Tensor]:
    """S and I at days 0..days, shape (days + 1,) each, by classical Runge-Kutta steps."""
    h = 1.0 / steps_per_day
    s = torch.tensor(1.0 - i0, dtype=torch.float64)
    i = torch.tensor(i0, dtype=torch.float64)

    def f(s, i):  # (dS/dt, dI/dt); R follows from S + I + R = 1
        infections = beta * s * i
        return -infections, infections - gamma * i

    ss, ii = [s], [i]
    for _ in range(days):
        for _ in range(steps_per_day):
            a1, b1 = f(s, i)
            a2, b2 = f(s + h / 2 * a1, i + h / 2 * b1)
            a3, b3 = f(s + h / 2 * a2, i + h / 2 * b2)
            a4, b4 = f(s + h * a3, i + h * b3)
            s = s + h / 6 * (a1 + 2 * a2 + 2 * a3 + a4)
            i = i + h / 6 * (b1 + 2 * b2 + 2 * b3 + b4)
        ss.append(s)
        ii.append(i)
    return torch.stack(ss), torch.stack(ii)


def simulate_sir(beta: float, gamma: float, *, i0: float, days: int,
                 steps_per_day: int = 1) -> torch.Tensor:
    r"""Simulate the SIR model with the classical fourth-order Runge-Kutta method (RK4).

    Starting from $S = 1 - i_0$, $I = i_0$, $R = 0$, each step of size $h$ is

    $$
    z_{n+1} = z_n + \tfrac{h}{6} (k_1 + 2 k_2 + 2 k_3 + k_4), \quad
    k_1 = f(z_n), \; k_2 = f(z_n + \tfrac{h}{2} k_1), \; k_3 = f(z_n + \tfrac{h}{2} k_2), \;
    k_4 = f(z_n + h k_3),
    $$

    with $f$ the right-hand side of the SIR equations; the error per day is $O(h^4)$.

    Args:
        beta: infection rate $\beta$ per day, positive.
        gamma: recovery rate $\gamma$ per day, positive.
        i0: infected fraction on day 0, strictly between 0 and 1.
        days: number of days to simulate.
        steps_per_day: RK4 steps per day ($h = 1 /$ ``steps_per_day``).

    Returns:
        Float64 tensor of shape ``(days + 1, 3)``: $S$, $I$, $R$ on days $0, \dots,$ ``days``.

    Raises:
        ValueError: naming the argument, if ``beta`` or ``gamma`` is not a positive finite
            number, ``i0`` is not in $(0, 1)$, or ``days`` or ``steps_per_day`` is not a
            positive integer.

    Examples:
        >>> from coursekit.applications.epidemics import simulate_sir
        >>> sir = simulate_sir(0.5, 0.2, i0=0.001, days=100)  # R0 = 2.5
        >>> tuple(sir.shape)
        (101, 3)
        >>> bool(sir.sum(dim=1).sub(1).abs().max() < 1e-12)  # S + I + R stays 1
        True
        >>> round(sir[-1, 0].item(), 2)  # the share never infected
        0.11
    """
    beta, gamma = positive(beta, "beta"), positive(gamma, "gamma")
    i0 = _infected_fraction(i0)
    days, steps_per_day = positive_int(days, "days"), positive_int(steps_per_day, "steps_per_day")
    s, i = _rk4(torch.tensor(beta, dtype=torch.float64), torch.tensor(gamma, dtype=torch.float64),
                i0, days, steps_per_day)  # fmt: skip
    return torch.stack([s, i, 1.0 - s - i], dim=1)


def fit_sir(infected, *, i0: float, beta0: float = 0.3, gamma0: float = 0.3,
            steps_per_day: int = 1, max_iter: int = 50) -> dict[str, float]:
    r"""Fit $\beta$ and $\gamma$ to observed infected fractions, by gradients through RK4.

    The misfit is the mean squared difference of logarithms,

    $$
    L(\beta, \gamma) = \frac{1}{T + 1} \sum_{t=0}^{T}
        \left( \log I_t(\beta, \gamma) - \log \hat I_t \right)^2 ,
    $$

    the maximum-likelihood criterion when each observation is off by a log-normal factor
    (every day's count equally uncertain in relative terms, from the first cases to the peak).
    Each rate $r$ is optimized as $\theta = \operatorname{logit}(r / r_{\max})$, with
    $r_{\max} = 2$ per RK4 step: every $\theta$ is then a positive rate, and one slow enough
    for the steps to stay stable (so that a wild trial step cannot blow the simulation up).
    The optimizer is L-BFGS with a strong-Wolfe line search, a gradient method that estimates
    the curvature from successive gradients, which the long narrow valley of this loss (many
    pairs with nearly the same $\beta - \gamma$ fit the early growth) needs. Autograd
    differentiates through every Runge-Kutta step.

    Args:
        infected: observed infected fractions $\hat I_0, \dots, \hat I_T$ on days
            $0, \dots, T$, a 1-D array of at least two positive numbers.
        i0: the infected fraction on day 0 that the simulation starts from, in $(0, 1)$.
        beta0: starting guess for $\beta$, positive and below $2 \times$ ``steps_per_day``.
        gamma0: starting guess for $\gamma$, as ``beta0``.
        steps_per_day: RK4 steps per day, as in `simulate_sir`.
        max_iter: the most L-BFGS iterations.

    Returns:
        ``{"beta": ..., "gamma": ..., "loss": ...}``: the fitted rates and the misfit there.

    Raises:
        ValueError: naming the argument, if ``infected`` is not a 1-D array of at least two
            finite positive numbers, ``i0`` is not in $(0, 1)$, ``beta0`` or ``gamma0`` is not
            positive and below the limit, or ``steps_per_day`` or ``max_iter`` is not a
            positive integer.

    Examples:
        >>> from coursekit.applications.epidemics import fit_sir, simulate_sir
        >>> infected = simulate_sir(0.5, 0.2, i0=0.01, days=40)[:, 1]
        >>> fit = fit_sir(infected, i0=0.01)
        >>> round(fit["beta"], 3), round(fit["gamma"], 3)
        (0.5, 0.2)
    """
    observed = finite(vector(as_real_float(infected, "infected"), "infected"), "infected")
    observed = observed.to(torch.float64)
    if len(observed) < 2:
        raise ValueError(f"infected must hold at least two days, got shape {tuple(observed.shape)}")
    if not bool((observed > 0).all()):
        raise ValueError(f"infected must be positive fractions, got minimum "
                         f"{observed.min().item()}")
    i0 = _infected_fraction(i0)
    beta0, gamma0 = positive(beta0, "beta0"), positive(gamma0, "gamma0")
    steps_per_day = positive_int(steps_per_day, "steps_per_day")
    max_iter = positive_int(max_iter, "max_iter")
    days = len(observed) - 1
    log_observed = observed.log()
    top = _MAX_RATE_PER_STEP * steps_per_day
    for value, name in ((beta0, "beta0"), (gamma0, "gamma0")):
        if value >= top:
            raise ValueError(f"{name} must be below {top:g} per day (2 per RK4 step), "
                             f"got {value!r}")
    # the logit of rate / top: every real number is a rate in (0, top)
    thetas = torch.tensor([math.log(r / (top - r)) for r in (beta0, gamma0)],
                          dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([thetas], lr=1.0, max_iter=max_iter,
                            line_search_fn="strong_wolfe")  # fmt: skip

    def misfit() -> torch.Tensor:
        beta, gamma = top * thetas.sigmoid()
        _, i = _rk4(beta, gamma, i0, days, steps_per_day)
        # rates stay below the limit, so I stays finite; a rough trial step of the line
        # search may still take it to 0 or below, which the clamp makes a huge misfit, not nan
        return (i.clamp_min(1e-300).log() - log_observed).pow(2).mean()

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = misfit()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        loss = misfit().item()
    beta, gamma = (top * thetas.detach().sigmoid()).tolist()
    return {"beta": beta, "gamma": gamma, "loss": loss}
