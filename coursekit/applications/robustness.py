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

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["fgsm", "saliency"]


def _as_float_input(x) -> torch.Tensor:
    x = torch.as_tensor(x)
    if not x.is_floating_point():
        raise ValueError(f"x must be a floating tensor, got dtype {x.dtype}")
    if x.ndim < 1:
        raise ValueError(f"x must have a batch dimension, got shape {tuple(x.shape)}")
    return x


def _as_class_indices(labels, batch: int, name: str) -> torch.Tensor:
    if isinstance(labels, int):
        labels = torch.full((batch,), labels, dtype=torch.long)
    labels = torch.as_tensor(labels)
    if labels.dtype.is_floating_point or labels.dtype == torch.bool:
        raise ValueError(f"{name} must hold integer class indices, got dtype {labels.dtype}")
    if labels.shape != (batch,):
        raise ValueError(
            f"{name} must have shape ({batch},), one class per input, "
            f"got shape {tuple(labels.shape)}"
        )
    return labels.long()


def _checked_logits(logits: torch.Tensor, labels: torch.Tensor, name: str) -> torch.Tensor:
    if logits.ndim != 2:
        raise ValueError(f"model must return logits of shape (B, K), got {tuple(logits.shape)}")
    if labels.numel() and (labels.min() < 0 or labels.max() >= logits.shape[1]):
        raise ValueError(
            f"{name} must be classes in [0, {logits.shape[1]}), got values from "
            f"{labels.min().item()} to {labels.max().item()}"
        )
    return logits


def _input_gradient(model: nn.Module, x: torch.Tensor, objective) -> torch.Tensor:
    """Gradient of ``objective(model(x))`` with respect to a detached copy of ``x``.

    ``torch.autograd.grad`` asks for the input gradient only, so the model's ``.grad`` fields
    are left as they were and the caller's tensor never joins the graph.
    """
    x = x.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        (grad,) = torch.autograd.grad(objective(model(x)), x)
    return grad


def fgsm(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
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
        x: inputs of shape ``(B, ...)``, a floating tensor (NumPy arrays are converted).
            It is not modified.
        y: the true classes, integers of shape ``(B,)``.
        eps: the step size, at least 0.
        clamp: ``(low, high)`` to clip the result to the valid input range (e.g. ``(0, 1)``
            for images); ``None`` (the default) leaves it unclipped.

    Returns:
        The adversarial inputs, a new tensor with the shape and dtype of ``x``.

    Raises:
        ValueError: if ``eps`` is negative, ``x`` is not floating, ``y`` does not hold one
            integer class per input (in range of the model's ``K`` logits), or ``clamp``
            is not a pair with ``low <= high``.

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
    x = _as_float_input(x)
    y = _as_class_indices(y, x.shape[0], "y")
    if eps < 0:
        raise ValueError(f"eps must be >= 0, got {eps}")
    if clamp is not None:
        if len(clamp) != 2 or clamp[0] > clamp[1]:
            raise ValueError(f"clamp must be a pair (low, high) with low <= high, got {clamp}")

    def loss(logits: torch.Tensor) -> torch.Tensor:
        # Summed, so each example's gradient is its own; a mean would only rescale it.
        return F.cross_entropy(_checked_logits(logits, y, "y"), y, reduction="sum")

    grad = _input_gradient(model, x, loss)
    adversarial = x.detach() + eps * grad.sign()
    if clamp is not None:
        adversarial = adversarial.clamp(clamp[0], clamp[1])
    return adversarial


def saliency(model: nn.Module, x: torch.Tensor, target: int | torch.Tensor) -> torch.Tensor:
    r"""Gradient saliency map: how strongly each input value moves the target class score.

    For the unnormalised score (logit) $S_c$ of class $c$, the map is

    $$
    M = \left| \frac{\partial S_c(x)}{\partial x} \right|
    $$

    taken elementwise (Simonyan et al., 2014). For colour images the paper keeps the largest
    value over the channels (``saliency(...).amax(dim=1)``); a one-channel digit needs nothing.

    Args:
        model: a classifier mapping a batch ``x`` to logits of shape ``(B, K)``.
        x: inputs of shape ``(B, ...)``, a floating tensor (NumPy arrays are converted).
            It is not modified.
        target: the class to explain, one ``int`` for every input or integers of shape ``(B,)``.

    Returns:
        A tensor of the shape of ``x``, the absolute gradient of each input's target logit.

    Raises:
        ValueError: if ``x`` is not floating or ``target`` does not give one integer class
            per input (in range of the model's ``K`` logits).

    Examples:
        >>> import torch
        >>> from torch import nn
        >>> from coursekit.applications.robustness import saliency
        >>> model = nn.Linear(3, 2, bias=False)
        >>> with torch.no_grad():
        ...     _ = model.weight.copy_(torch.tensor([[2.0, -1.0, 0.0], [0.0, 0.0, 5.0]]))
        >>> saliency(model, torch.zeros(1, 3), target=0)  # a linear score's map is |w_c|
        tensor([[2., 1., 0.]])
    """
    x = _as_float_input(x)
    target = _as_class_indices(target, x.shape[0], "target")

    def target_score(logits: torch.Tensor) -> torch.Tensor:
        return _checked_logits(logits, target, "target").gather(1, target[:, None]).sum()

    grad = _input_gradient(model, x, target_score)
    return grad.abs()
