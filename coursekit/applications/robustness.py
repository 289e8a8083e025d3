r"""Adversarial examples and saliency maps: what a network's input gradient reveals.

Both tools ask the same question of a trained classifier, how its output moves when the
input moves, and read the answer from one backward pass through the network to the *input*
rather than to the weights. The fast gradient sign method (Goodfellow, Shlens and Szegedy,
2015, "Explaining and Harnessing Adversarial Examples") steps every input value by $\epsilon$
in the direction that raises the loss; a saliency map (Simonyan, Vedaldi and Zisserman, 2014,
"Deep Inside Convolutional Networks") shows which input values the class score is most
sensitive to. The chapter ``docs/applications/open-problems.md`` uses both on the digits.
"""

from __future__ import annotations

import numbers

import torch
import torch.nn.functional as F
from numpy.typing import ArrayLike
from torch import nn

from coursekit._validation import (
    as_tensor,
    class_indices,
    finite,
    model_input,
    nonnegative,
    real,
)

__all__ = ["fgsm", "saliency"]


def _model_and_input(model: nn.Module, x) -> torch.Tensor:
    """``x`` as a finite floating batch for ``model`` (see `coursekit._validation.model_input`)."""
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    x = finite(model_input(x, model, "x"), "x")
    if x.ndim < 1:
        raise ValueError(f"x must have a batch dimension, got shape {tuple(x.shape)}")
    return x


def _labels(labels, batch: int, name: str) -> torch.Tensor:
    """One class per input: an ``int`` is repeated ``batch`` times; the range is checked later,
    against the model's number of logits."""
    if isinstance(labels, numbers.Integral) and not isinstance(labels, bool):
        labels = torch.full((batch,), int(labels), dtype=torch.long)
    labels = as_tensor(labels, name)
    if labels.ndim == 1 and len(labels) != batch:
        raise ValueError(f"{name} must hold one class per input of x, {batch} in all, "
                         f"got shape {tuple(labels.shape)}")
    return class_indices(labels, name, length=batch)


def _input_gradient(model: nn.Module, x: torch.Tensor, labels: torch.Tensor, name: str,
                    objective) -> torch.Tensor:
    """Gradient of ``objective(model(x))`` with respect to a detached copy of ``x``, once the
    logits are checked to be ``(B, K)`` and the ``labels`` (called ``name``) to be in ``[0, K)``.

    ``torch.autograd.grad`` asks for the input gradient only, so the model's ``.grad`` fields
    are left as they were and the caller's tensor never joins the graph.
    """
    x = x.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        try:
            logits = model(x)
        except RuntimeError as err:  # a layer that does not fit x's shape says so
            raise ValueError(f"x of shape {tuple(x.shape)} does not fit the model: {err}") from err
        if logits.ndim != 2 or len(logits) != len(x):
            raise ValueError(f"model must return logits of shape (B, K) for x of shape "
                             f"{tuple(x.shape)}, got {tuple(logits.shape)}")
        class_indices(labels, name, num_classes=logits.shape[1])
        (grad,) = torch.autograd.grad(objective(logits), x)
    return grad


def fgsm(
    model: nn.Module,
    x: torch.Tensor | ArrayLike,
    y: torch.Tensor | ArrayLike,
    eps: float,
    clamp: tuple[float, float] | None = None,
) -> torch.Tensor:
    r"""Fast gradient sign method: step each input value by eps in the direction raising the loss.

    For a classifier $f$ with cross-entropy loss $L$, the adversarial input is

    $$
    x_{\mathrm{adv}} = x + \epsilon \cdot \operatorname{sign}\left(\nabla_x L(f(x), y)\right)
    $$

    the step of $L_\infty$ size $\epsilon$ that most increases the linearised loss
    (Goodfellow et al., 2015). The model is used as it is (call ``model.eval()`` first when it
    has dropout or batch normalization); its parameter gradients are not touched.

    Args:
        model: a classifier mapping a batch ``x`` to logits of shape ``(B, K)``.
        x: inputs of shape ``(B, ...)``, a floating tensor; a NumPy array or list is
            converted to the dtype of the model's parameters. It is not modified.
        y: the true classes, integers of shape ``(B,)``, or one ``int`` for every input.
        eps: the step size, at least 0.
        clamp: ``(low, high)`` to clip the result to the valid input range (e.g. ``(0, 1)``
            for images); ``None`` (the default) leaves it unclipped.

    Returns:
        The adversarial inputs, a new tensor with the shape and dtype of ``x``.

    Raises:
        ValueError: if ``model`` is not a module, ``eps`` is negative or not finite, ``x`` is
            not floating or holds nan or inf, ``y`` does not hold one integer class per input
            (in range of the model's ``K`` logits), or ``clamp`` is not a pair of finite
            numbers with ``low <= high``.

    Examples:
        >>> import torch
        >>> from torch import nn
        >>> from coursekit.applications.robustness import fgsm
        >>> model = nn.Linear(2, 2)
        >>> with torch.no_grad():
        ...     _ = model.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
        ...     _ = model.bias.zero_()
        >>> x = torch.tensor([[0.8, 0.2]])  # class 0 wins, logits (0.8, 0.2)
        >>> fgsm(model, x, torch.tensor([0]), eps=0.1)
        tensor([[0.7000, 0.3000]])
        >>> fgsm(model, x, torch.tensor([0]), eps=0.3, clamp=(0.0, 1.0))
        tensor([[0.5000, 0.5000]])
        >>> x
        tensor([[0.8000, 0.2000]])
    """
    x = _model_and_input(model, x)
    y = _labels(y, x.shape[0], "y")
    eps = nonnegative(eps, "eps")
    if clamp is not None:
        clamp = _clamp_range(clamp)

    def loss(logits: torch.Tensor) -> torch.Tensor:
        # Summed, so each example's gradient is its own; a mean would only rescale it.
        return F.cross_entropy(logits, y, reduction="sum")

    grad = _input_gradient(model, x, y, "y", loss)
    adversarial = x.detach() + eps * grad.sign()
    if clamp is not None:
        adversarial = adversarial.clamp(clamp[0], clamp[1])
    return adversarial


def _clamp_range(clamp) -> tuple[float, float]:
    message = f"clamp must be a pair (low, high) of finite numbers, low <= high, got {clamp!r}"
    try:  # not a pair, or not finite numbers, lands here
        low, high = (real(bound, "clamp") for bound in clamp)
    except (TypeError, ValueError) as err:
        raise ValueError(message) from err
    if low > high:
        raise ValueError(message)
    return low, high


def saliency(
    model: nn.Module, x: torch.Tensor | ArrayLike, target: int | torch.Tensor | ArrayLike
) -> torch.Tensor:
    r"""Gradient saliency map: how strongly each input value moves the target class score.

    For the unnormalised score (logit) $S_c$ of class $c$, the map is

    $$
    M = \left| \frac{\partial S_c(x)}{\partial x} \right|
    $$

    taken elementwise (Simonyan et al., 2014). For colour images the paper keeps the largest
    value over the channels (``saliency(...).amax(dim=1)``); a one-channel digit needs nothing.

    Args:
        model: a classifier mapping a batch ``x`` to logits of shape ``(B, K)``.
        x: inputs of shape ``(B, ...)``, a floating tensor; a NumPy array or list is
            converted to the dtype of the model's parameters. It is not modified.
        target: the class to explain, one ``int`` for every input or integers of shape ``(B,)``.

    Returns:
        A tensor of the shape of ``x``, the absolute gradient of each input's target logit.

    Raises:
        ValueError: if ``model`` is not a module, ``x`` is not floating or holds nan or inf,
            or ``target`` does not give one integer class per input (in range of the model's
            ``K`` logits).

    Examples:
        >>> import torch
        >>> from torch import nn
        >>> from coursekit.applications.robustness import saliency
        >>> model = nn.Linear(3, 2, bias=False)
        >>> with torch.no_grad():
        ...     _ = model.weight.copy_(torch.tensor([[2.0, -1.0, 0.0],
        ...                                          [0.0, 0.0, 5.0]]))
        >>> saliency(model, torch.zeros(1, 3), target=0)  # |w_c| for a linear score
        tensor([[2., 1., 0.]])
    """
    x = _model_and_input(model, x)
    target = _labels(target, x.shape[0], "target")

    def target_score(logits: torch.Tensor) -> torch.Tensor:
        return logits.gather(1, target[:, None]).sum()

    grad = _input_gradient(model, x, target, "target", target_score)
    return grad.abs()
