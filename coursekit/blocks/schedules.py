r"""The learning rate over the steps: linear warmup, then a cosine decay.

The chapter "Optimizers" (``docs/blocks/optimizers.md``) teaches what this module implements,
next to the optimizers of `coursekit.blocks.optimizers`. A schedule here is a plain function of
the step, so it drives any optimizer through ``torch.optim.lr_scheduler.LambdaLR``. Steps,
counts and rates out of range raise a ``ValueError`` naming the argument.
"""

from __future__ import annotations

import math

from coursekit._validation import integer, nonnegative, nonnegative_int, positive_int, real

__all__ = ["warmup_cosine"]


def warmup_cosine(step: int, total_steps: int, warmup_steps: int, peak_lr: float,
                  min_lr: float = 0.0) -> float:
    r"""The learning rate at ``step``: linear warmup from 0 to the peak, then a cosine decay.

    The warmup of Goyal et al. (2017) followed by the cosine of Loshchilov & Hutter (2017,
    SGDR, without restarts): with $W$ warmup steps and $T$ steps in all,

    $$
    \eta_t = \begin{cases}
    \eta_{\max} \, t / W & 0 \le t < W, \\
    \eta_{\min} + \frac{1}{2} (\eta_{\max} - \eta_{\min})
        \left(1 + \cos\left(\pi \frac{t - W}{T - W}\right)\right) & W \le t \le T, \\
    \eta_{\min} & t > T.
    \end{cases}
    $$

    With ``peak_lr=1`` and ``min_lr`` the floor as a fraction of the peak, it is the factor that
    ``torch.optim.lr_scheduler.LambdaLR`` multiplies an optimizer's ``lr`` by (see the example).

    Args:
        step: the step $t \ge 0$ (the number of optimizer steps taken so far).
        total_steps: $T \ge 1$, the step at which the rate reaches ``min_lr``.
        warmup_steps: $W$, from 0 (no warmup) to ``total_steps - 1``.
        peak_lr: $\eta_{\max} \ge 0$, reached at step $W$.
        min_lr: $\eta_{\min}$, from 0 to ``peak_lr``.

    Returns:
        $\eta_t$, a float.

    Raises:
        ValueError: if an argument is out of the range above (naming it).

    Examples:
        >>> from coursekit.blocks.schedules import warmup_cosine
        >>> [round(warmup_cosine(t, 10, 2, peak_lr=0.1), 4) for t in (0, 1, 2, 6, 10, 11)]
        [0.0, 0.05, 0.1, 0.05, 0.0, 0.0]

        As a factor of the optimizer's ``lr``, stepped once per optimizer step:

        >>> import torch
        >>> w = torch.nn.Parameter(torch.zeros(2))
        >>> opt = torch.optim.SGD([w], lr=0.1)
        >>> schedule = torch.optim.lr_scheduler.LambdaLR(
        ...     opt, lambda t: warmup_cosine(t, 10, 2, peak_lr=1.0))
        >>> rates = []
        >>> for _ in range(4):
        ...     rates.append(round(opt.param_groups[0]["lr"], 4))
        ...     opt.step()
        ...     schedule.step()
        >>> rates
        [0.0, 0.05, 0.1, 0.0962]
    """
    step = nonnegative_int(step, "step")
    total_steps = positive_int(total_steps, "total_steps")
    warmup_steps = integer(warmup_steps, "warmup_steps", minimum=0, maximum=total_steps - 1)
    peak_lr = nonnegative(peak_lr, "peak_lr")
    min_lr = real(min_lr, "min_lr", minimum=0.0, maximum=peak_lr)
    if step < warmup_steps:
        return peak_lr * step / warmup_steps
    if step >= total_steps:
        return min_lr
    progress = (step - warmup_steps) / (total_steps - warmup_steps)
    return min_lr + 0.5 * (peak_lr - min_lr) * (1 + math.cos(math.pi * progress))
