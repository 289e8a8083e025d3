r"""SGD with momentum, Adagrad, RMSprop, Adam and AdamW, each written from its update rule.

The chapter "Optimizers" (``docs/blocks/optimizers.md``) teaches what this module implements.
Each class is a `torch.optim.Optimizer` (so parameter groups, ``zero_grad``, ``state_dict`` and
learning-rate schedulers work as usual) whose ``step`` is the update rule of its paper in a few
lines of torch, with PyTorch's conventions for the details (where the weight decay enters,
where $\epsilon$ sits), so that a trajectory equals that of the ``torch.optim`` class of the
same name with the same options. In every rule $g_t$ is the gradient at step $t$ plus
$\lambda \theta_{t-1}$ when a weight decay $\lambda$ is given (an L2 penalty), except in
`AdamW`, whose decay is decoupled from the gradient.

A hyperparameter out of range (a negative ``lr``, a ``beta`` outside $[0, 1)$, an ``eps`` that
is not positive, ``nesterov`` without momentum) raises a ``ValueError`` naming it. The schedule
`coursekit.blocks.schedules.warmup_cosine` sets ``lr`` over the steps.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch

from coursekit._validation import boolean, nonnegative, positive, real

__all__ = ["SGD", "Adagrad", "RMSprop", "Adam", "AdamW"]


def _fraction(value, name: str) -> float:
    """``value`` in $[0, 1)$, as a decay rate of a running average must be."""
    value = real(value, name, minimum=0.0, maximum=1.0)
    if value == 1.0:
        raise ValueError(f"{name} must be a finite number in [0, 1), got {value!r}")
    return value


def _betas(betas) -> tuple[float, float]:
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
    return _fraction(betas[0], "betas[0]"), _fraction(betas[1], "betas[1]")


def _loss(closure: Callable | None):
    """The loss that ``closure`` recomputes (with gradients), or ``None`` without one."""
    if closure is None:
        return None
    with torch.enable_grad():
        return closure()


def _with_grad(group: dict) -> Iterable[torch.Tensor]:
    return (p for p in group["params"] if p.grad is not None)


def _l2(p: torch.Tensor, weight_decay: float) -> torch.Tensor:
    r"""The gradient of the loss plus $\lambda \theta$, the gradient of $\frac{\lambda}{2}
    \lVert \theta \rVert^2$."""
    return p.grad if weight_decay == 0 else p.grad + weight_decay * p


class SGD(torch.optim.Optimizer):
    r"""Stochastic gradient descent with momentum, dampening, Nesterov momentum and weight decay.

    With momentum $\mu$ and dampening $\tau$ (Robbins & Monro 1951; Polyak 1964; Nesterov 1983),

    $$
    b_t = \mu b_{t-1} + (1 - \tau) g_t \quad (b_1 = g_1), \qquad
    \theta_t = \theta_{t-1} - \eta \, d_t, \qquad
    d_t = \begin{cases} g_t + \mu b_t & \text{Nesterov} \\ b_t & \text{otherwise,} \end{cases}
    $$

    and $d_t = g_t$ without momentum. With $\tau = 0$ this is the heavy ball,
    $\theta_t = \theta_{t-1} - \eta g_t + \mu (\theta_{t-1} - \theta_{t-2})$.

    Args:
        params: the parameters (or parameter groups) to optimize.
        lr: the learning rate $\eta \ge 0$.
        momentum: $\mu \ge 0$; 0 is plain gradient descent.
        dampening: $\tau$, the fraction of each gradient left out of the buffer.
        nesterov: look ahead along the momentum (needs ``momentum > 0``, ``dampening = 0``).
        weight_decay: $\lambda \ge 0$, an L2 penalty added to the gradient.

    Raises:
        ValueError: naming the hyperparameter that is out of range.

    Examples:
        >>> import torch
        >>> from coursekit.blocks.optimizers import SGD
        >>> w = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
        >>> opt = SGD([w], lr=0.1, momentum=0.9)
        >>> for _ in range(2):
        ...     opt.zero_grad()
        ...     (w ** 2).sum().backward()        # gradient 2 w
        ...     opt.step()
        >>> w.detach()  # w[0]: 1 - 0.1 * 2, then 0.8 - 0.1 * (0.9 * 2 + 1.6)
        tensor([ 0.4600, -0.9200])
    """

    def __init__(self, params, lr: float, momentum: float = 0.0, dampening: float = 0.0,
                 nesterov: bool = False, weight_decay: float = 0.0):
        lr, momentum = nonnegative(lr, "lr"), nonnegative(momentum, "momentum")
        dampening, nesterov = real(dampening, "dampening"), boolean(nesterov, "nesterov")
        if nesterov and (momentum == 0 or dampening != 0):
            raise ValueError("nesterov needs momentum > 0 and dampening = 0, got "
                             f"momentum {momentum!r} and dampening {dampening!r}")
        defaults = {"lr": lr, "momentum": momentum, "dampening": dampening,
                    "nesterov": nesterov, "weight_decay": nonnegative(weight_decay,
                                                                      "weight_decay")}
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: Callable | None = None):
        """One update of every parameter that has a gradient; returns ``closure()`` if given."""
        loss = _loss(closure)
        for group in self.param_groups:
            mu, tau = group["momentum"], group["dampening"]
            for p in _with_grad(group):
                d = _l2(p, group["weight_decay"])
                if mu != 0:
                    state = self.state[p]
                    if "momentum_buffer" not in state:
                        state["momentum_buffer"] = d.clone()
                    else:
                        state["momentum_buffer"] = mu * state["momentum_buffer"] + (1 - tau) * d
                    b = state["momentum_buffer"]
                    d = d + mu * b if group["nesterov"] else b
                p.sub_(group["lr"] * d)
        return loss


class Adagrad(torch.optim.Optimizer):
    r"""Adagrad: each coordinate's step divided by the root of its summed squared gradients.

    After Duchi et al. (2011), with the learning rate decayed as $\eta_t = \eta / (1 + (t-1)
    \delta)$ and an accumulator that starts at $s_0$:

    $$
    s_t = s_{t-1} + g_t^2, \qquad
    \theta_t = \theta_{t-1} - \eta_t \frac{g_t}{\sqrt{s_t} + \epsilon}.
    $$

    Args:
        params: the parameters (or parameter groups) to optimize.
        lr: the learning rate $\eta \ge 0$.
        lr_decay: $\delta \ge 0$.
        weight_decay: $\lambda \ge 0$, an L2 penalty added to the gradient.
        initial_accumulator_value: $s_0 \ge 0$.
        eps: $\epsilon > 0$, which keeps a coordinate without gradient from dividing by zero.

    Raises:
        ValueError: naming the hyperparameter that is out of range.

    Examples:
        >>> import torch
        >>> from coursekit.blocks.optimizers import Adagrad
        >>> w = torch.nn.Parameter(torch.tensor([1.0, 100.0]))
        >>> opt = Adagrad([w], lr=0.5)
        >>> (3 * w).sum().backward()
        >>> opt.step()                           # every coordinate moves by lr at first
        >>> w.detach()
        tensor([ 0.5000, 99.5000])
    """

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0.0,
                 weight_decay: float = 0.0, initial_accumulator_value: float = 0.0,
                 eps: float = 1e-10):
        defaults = {"lr": nonnegative(lr, "lr"), "lr_decay": nonnegative(lr_decay, "lr_decay"),
                    "weight_decay": nonnegative(weight_decay, "weight_decay"),
                    "initial_accumulator_value": nonnegative(initial_accumulator_value,
                                                             "initial_accumulator_value"),
                    "eps": positive(eps, "eps")}
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: Callable | None = None):
        """One update of every parameter that has a gradient; returns ``closure()`` if given."""
        loss = _loss(closure)
        for group in self.param_groups:
            for p in _with_grad(group):
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["sum"] = torch.full_like(p, group["initial_accumulator_value"])
                state["step"] += 1
                g = _l2(p, group["weight_decay"])
                lr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
                state["sum"] += g * g
                p.sub_(lr * g / (state["sum"].sqrt() + group["eps"]))
        return loss


class RMSprop(torch.optim.Optimizer):
    r"""RMSprop: each coordinate's step divided by a running root mean square of its gradient.

    After Tieleman & Hinton (2012), with an optional centring (divide by a running standard
    deviation instead) and momentum $\mu$:

    $$
    v_t = \alpha v_{t-1} + (1 - \alpha) g_t^2, \qquad
    \bar g_t = \alpha \bar g_{t-1} + (1 - \alpha) g_t, \qquad
    r_t = \begin{cases} \sqrt{v_t - \bar g_t^2} & \text{centred} \\
                        \sqrt{v_t} & \text{otherwise,} \end{cases}
    $$

    $$
    b_t = \mu b_{t-1} + \frac{g_t}{r_t + \epsilon}, \qquad \theta_t = \theta_{t-1} - \eta b_t
    $$

    ($b_t$ is the step $g_t / (r_t + \epsilon)$ itself without momentum), all from $v_0 = \bar
    g_0 = b_0 = 0$.

    Args:
        params: the parameters (or parameter groups) to optimize.
        lr: the learning rate $\eta \ge 0$.
        alpha: $\alpha \in [0, 1)$, the decay of the running averages.
        eps: $\epsilon > 0$.
        weight_decay: $\lambda \ge 0$, an L2 penalty added to the gradient.
        momentum: $\mu \ge 0$.
        centered: divide by the running standard deviation of the gradient.

    Raises:
        ValueError: naming the hyperparameter that is out of range.

    Examples:
        >>> import torch
        >>> from coursekit.blocks.optimizers import RMSprop
        >>> w = torch.nn.Parameter(torch.tensor([1.0, 100.0]))
        >>> opt = RMSprop([w], lr=0.01, alpha=0.99)
        >>> (3 * w).sum().backward()
        >>> opt.step()                           # the step is lr / sqrt(1 - alpha) = 0.1
        >>> w.detach()
        tensor([ 0.9000, 99.9000])
    """

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False):
        defaults = {"lr": nonnegative(lr, "lr"), "alpha": _fraction(alpha, "alpha"),
                    "eps": positive(eps, "eps"),
                    "weight_decay": nonnegative(weight_decay, "weight_decay"),
                    "momentum": nonnegative(momentum, "momentum"),
                    "centered": boolean(centered, "centered")}
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: Callable | None = None):
        """One update of every parameter that has a gradient; returns ``closure()`` if given."""
        loss = _loss(closure)
        for group in self.param_groups:
            alpha, mu = group["alpha"], group["momentum"]
            for p in _with_grad(group):
                state = self.state[p]
                if not state:
                    state["square_avg"] = torch.zeros_like(p)
                    state["grad_avg"] = torch.zeros_like(p)
                    state["momentum_buffer"] = torch.zeros_like(p)
                g = _l2(p, group["weight_decay"])
                state["square_avg"] = alpha * state["square_avg"] + (1 - alpha) * g * g
                r = state["square_avg"]
                if group["centered"]:
                    state["grad_avg"] = alpha * state["grad_avg"] + (1 - alpha) * g
                    r = r - state["grad_avg"] ** 2
                d = g / (r.sqrt() + group["eps"])
                if mu > 0:
                    state["momentum_buffer"] = mu * state["momentum_buffer"] + d
                    d = state["momentum_buffer"]
                p.sub_(group["lr"] * d)
        return loss


class Adam(torch.optim.Optimizer):
    r"""Adam: momentum divided by a running root mean square, both corrected for their bias.

    Kingma & Ba (2015), from $m_0 = v_0 = 0$:

    $$
    m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t, \qquad
    v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2,
    $$

    $$
    \hat m_t = \frac{m_t}{1 - \beta_1^t}, \qquad
    \hat v_t = \frac{v_t}{1 - \beta_2^t}, \qquad
    \theta_t = \theta_{t-1} - \eta \frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon}.
    $$

    The weight decay $\lambda$ is an L2 penalty, added to the gradient and so divided by
    $\sqrt{\hat v_t}$ like it; `AdamW` decouples it.

    Args:
        params: the parameters (or parameter groups) to optimize.
        lr: the learning rate $\eta \ge 0$.
        betas: $(\beta_1, \beta_2)$, each in $[0, 1)$.
        eps: $\epsilon > 0$.
        weight_decay: $\lambda \ge 0$, an L2 penalty added to the gradient.

    Raises:
        ValueError: naming the hyperparameter that is out of range.

    Examples:
        >>> import torch
        >>> from coursekit.blocks.optimizers import Adam
        >>> w = torch.nn.Parameter(torch.tensor([1.0, 100.0]))
        >>> opt = Adam([w], lr=0.1)
        >>> (3 * w).sum().backward()
        >>> opt.step()                           # the first step is lr in every coordinate
        >>> w.detach()
        tensor([ 0.9000, 99.9000])
    """

    _decoupled = False

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0):
        defaults = {"lr": nonnegative(lr, "lr"), "betas": _betas(betas),
                    "eps": positive(eps, "eps"),
                    "weight_decay": nonnegative(weight_decay, "weight_decay")}
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: Callable | None = None):
        """One update of every parameter that has a gradient; returns ``closure()`` if given."""
        loss = _loss(closure)
        for group in self.param_groups:
            (beta1, beta2), lr, wd = group["betas"], group["lr"], group["weight_decay"]
            for p in _with_grad(group):
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                state["step"] += 1
                t = state["step"]
                if self._decoupled:
                    p.mul_(1 - lr * wd)
                    g = p.grad
                else:
                    g = _l2(p, wd)
                state["exp_avg"] = beta1 * state["exp_avg"] + (1 - beta1) * g
                state["exp_avg_sq"] = beta2 * state["exp_avg_sq"] + (1 - beta2) * g * g
                m_hat = state["exp_avg"] / (1 - beta1**t)
                v_hat = state["exp_avg_sq"] / (1 - beta2**t)
                p.sub_(lr * m_hat / (v_hat.sqrt() + group["eps"]))
        return loss


class AdamW(Adam):
    r"""AdamW: Adam with the weight decay decoupled from the gradient.

    Loshchilov & Hutter (2019): the weights shrink by the factor $1 - \eta\lambda$ at every step,
    whatever the gradient's scale, and then take `Adam`'s step computed from the loss's
    gradient alone:

    $$
    \theta_t = (1 - \eta \lambda) \, \theta_{t-1} - \eta \frac{\hat m_t}{\sqrt{\hat v_t}
    + \epsilon}.
    $$

    In Adam with an L2 penalty the decay $\lambda\theta$ is divided by $\sqrt{\hat v_t}$ with the
    gradient, so that weights with large gradients are hardly decayed at all.

    Args:
        params: the parameters (or parameter groups) to optimize.
        lr: the learning rate $\eta \ge 0$.
        betas: $(\beta_1, \beta_2)$, each in $[0, 1)$.
        eps: $\epsilon > 0$.
        weight_decay: $\lambda \ge 0$, the decoupled decay.

    Raises:
        ValueError: naming the hyperparameter that is out of range.

    Examples:
        >>> import torch
        >>> from coursekit.blocks.optimizers import AdamW
        >>> w = torch.nn.Parameter(torch.tensor([1.0, 100.0]))
        >>> opt = AdamW([w], lr=0.1, weight_decay=0.5)
        >>> (0 * w).sum().backward()             # no gradient: only the decay acts
        >>> opt.step()
        >>> w.detach()                           # (1 - 0.1 * 0.5) w
        tensor([ 0.9500, 95.0000])
    """

    _decoupled = True

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2):
        super().__init__(params, lr, betas, eps, weight_decay)
