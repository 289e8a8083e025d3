r"""Dropout and a small-shift augmentation for images, written from their definitions.

The chapter "Overfitting and regularization" (``docs/blocks/regularization.md``) teaches what
this module implements:

- `dropout`: zero each entry with probability $p$ and scale the survivors by $1/(1-p)$
  (inverted dropout), so that the mean is kept and eval mode is the identity; it equals
  ``torch.nn.functional.dropout`` in distribution, and its mask is reproducible from a
  ``torch.Generator``;
- `Dropout`: the same as a module, active in train mode only;
- `random_shift`: move each image by a whole number of pixels in each direction, filling with
  zeros, a data augmentation for the digits;
- `bias_variance`: the expected squared error of a learner, over many training sets, split
  into its squared bias and its variance.

Input that is not a real floating tensor of the expected shape, and a ``p`` or ``max_shift``
out of range, raise a ``ValueError`` naming the argument.
"""

from __future__ import annotations

import torch
from torch import nn

from coursekit._validation import (
    as_real_float,
    boolean,
    finite,
    nonnegative_int,
    optional_generator,
    probability,
)

__all__ = ["bias_variance", "dropout", "Dropout", "random_shift"]


def dropout(x, p: float = 0.5, training: bool = True,
            generator: torch.Generator | None = None) -> torch.Tensor:
    r"""Inverted dropout: keep each entry with probability $1 - p$, scaled by $1/(1-p)$.

    $$
    y_i = \frac{m_i}{1 - p}\, x_i, \qquad m_i \sim \mathrm{Bernoulli}(1 - p),
    \qquad \mathbb E[y_i] = x_i .
    $$

    The mask is ``torch.rand(x.shape, generator=generator) >= p``, so the same generator state
    gives the same mask. Out of training (``training=False``) and for ``p = 0`` the input comes
    back unchanged; for ``p = 1`` every entry is zero.

    Args:
        x: a real floating tensor of any shape.
        p: the probability of dropping an entry, in $[0, 1]$.
        training: apply dropout (``True``) or return ``x`` (``False``, eval mode).
        generator: the random generator of the mask; ``None`` for the global one.

    Returns:
        A tensor of the shape and dtype of ``x``.

    Raises:
        ValueError: if ``x`` is not a real floating tensor, ``p`` is not in $[0, 1]$ or
            ``training`` is not a bool.
        TypeError: if ``generator`` is not a ``torch.Generator``.

    Examples:
        >>> import torch
        >>> from coursekit.blocks.regularization import dropout
        >>> g = torch.Generator().manual_seed(0)
        >>> y = dropout(torch.ones(2, 5), p=0.5, generator=g)
        >>> sorted(set(y.flatten().tolist()))  # dropped or doubled
        [0.0, 2.0]
        >>> dropout(torch.ones(3), p=0.5, training=False)
        tensor([1., 1., 1.])
    """
    x = as_real_float(x, "x")
    p = probability(p, "p")
    training = boolean(training, "training")
    generator = optional_generator(generator, "generator")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return torch.zeros_like(x)
    keep = torch.rand(x.shape, generator=generator, device=x.device) >= p
    return x * keep.to(x.dtype).div_(1.0 - p)  # as PyTorch: input times (mask / (1 - p))


class Dropout(nn.Module):
    """`dropout` as a layer: active in train mode, the identity in eval mode.

    Args:
        p: the probability of dropping an entry, in $[0, 1]$.

    Raises:
        ValueError: if ``p`` is not in $[0, 1]$.

    Examples:
        >>> import torch
        >>> from coursekit.blocks.regularization import Dropout
        >>> layer = Dropout(0.25).eval()
        >>> layer(torch.ones(4))
        tensor([1., 1., 1., 1.])
    """

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        self.p = probability(p, "p")

    def forward(self, x) -> torch.Tensor:
        return dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"


def random_shift(images, max_shift: int = 1,
                 generator: torch.Generator | None = None) -> torch.Tensor:
    r"""Shift each image by up to ``max_shift`` pixels down or up and right or left, zero-filled.

    Image $n$ moves by $(\delta_n, \epsilon_n)$ rows and columns, each drawn uniformly from
    $\{-s, \dots, s\}$ with $s$ = ``max_shift``:

    $$
    y_{n, c, i, j} = x_{n, c, i - \delta_n, j - \epsilon_n}
    \quad (\text{zero where the index falls outside the image}).
    $$

    The shifts are ``torch.randint(-s, s + 1, (N, 2), generator=generator)`` (rows, columns),
    so the same generator state gives the same shifts.

    Args:
        images: a real floating tensor ``(N, C, H, W)``.
        max_shift: the largest shift in pixels, a nonnegative integer.
        generator: the random generator of the shifts; ``None`` for the global one.

    Returns:
        A tensor of the shape and dtype of ``images``.

    Raises:
        ValueError: if ``images`` is not a real floating 4-D tensor or ``max_shift`` is not a
            nonnegative integer.
        TypeError: if ``generator`` is not a ``torch.Generator``.

    Examples:
        >>> import torch
        >>> from coursekit.blocks.regularization import random_shift
        >>> x = torch.zeros(1, 1, 3, 3)
        >>> x[0, 0, 1, 1] = 1.0  # a dot in the centre
        >>> g = torch.Generator().manual_seed(0)
        >>> y = random_shift(x, max_shift=1, generator=g)
        >>> y.sum().item()  # the dot moved, never out of a 3x3 image
        1.0
    """
    images = as_real_float(images, "images")
    if images.ndim != 4:
        raise ValueError(f"images must be a 4-D tensor (N, C, H, W), got shape "
                         f"{tuple(images.shape)}")
    s = nonnegative_int(max_shift, "max_shift")
    generator = optional_generator(generator, "generator")
    n, _, h, w = images.shape
    shifts = torch.randint(-s, s + 1, (n, 2), generator=generator).to(images.device)
    padded = nn.functional.pad(images, (s, s, s, s)).permute(0, 2, 3, 1)  # (N, H+2s, W+2s, C)
    rows = torch.arange(h, device=images.device)[None, :, None] + s - shifts[:, 0, None, None]
    cols = torch.arange(w, device=images.device)[None, None, :] + s - shifts[:, 1, None, None]
    batch = torch.arange(n, device=images.device)[:, None, None]
    return padded[batch, rows, cols].permute(0, 3, 1, 2).contiguous()  # (N, C, H, W)


def bias_variance(predictions, target) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Split a learner's mean squared error over many training sets into bias and variance.

    Row $r$ of ``predictions`` holds $\hat f_r(x_m)$, the model fitted to training set $r$,
    at the test inputs $x_1, \dots, x_M$; ``target`` holds the noise-free $f(x_m)$. With
    $\bar f(x_m) = \frac{1}{R} \sum_r \hat f_r(x_m)$, the average prediction,

    $$
    \text{bias}^2 = \frac{1}{M} \sum_m \bigl(\bar f(x_m) - f(x_m)\bigr)^2, \qquad
    \text{variance} = \frac{1}{M R} \sum_{m, r} \bigl(\hat f_r(x_m) - \bar f(x_m)\bigr)^2,
    $$

    and their sum is exactly the mean of $(\hat f_r(x_m) - f(x_m))^2$ over $r$ and $m$ (the
    cross term averages to zero over $r$). Noise in the test labels would add its variance.

    Args:
        predictions: a real floating tensor ``(R, M)``, one row per training set, $R \ge 1$.
        target: a real floating tensor ``(M,)``, the true function at the same inputs.

    Returns:
        ``(bias2, variance)``, two 0-d tensors.

    Raises:
        ValueError: if ``predictions`` is not 2-D and non-empty, ``target`` does not hold
            one value per column of ``predictions``, or either holds a value that is not
            finite.

    Examples:
        >>> import torch
        >>> from coursekit.blocks.regularization import bias_variance
        >>> predictions = torch.tensor([[1.0, 2.0], [3.0, 2.0]])  # two fits, two inputs
        >>> bias2, variance = bias_variance(predictions, torch.tensor([2.0, 1.0]))
        >>> bias2.item(), variance.item()  # means (2, 2) miss (2, 1) by (0, 1)
        (0.5, 0.5)
    """
    predictions = finite(as_real_float(predictions, "predictions"), "predictions")
    if predictions.ndim != 2 or predictions.numel() == 0:
        raise ValueError(f"predictions must be a non-empty 2-D tensor (R, M), got shape "
                         f"{tuple(predictions.shape)}")
    target = finite(as_real_float(target, "target"), "target")
    if target.shape != predictions.shape[1:]:
        raise ValueError(f"target must have shape ({predictions.shape[1]},), one value per "
                         f"column of predictions, got {tuple(target.shape)}")
    mean = predictions.mean(dim=0)  # (M,) the average prediction
    bias2 = ((mean - target) ** 2).mean()
    variance = ((predictions - mean) ** 2).mean()
    return bias2, variance
