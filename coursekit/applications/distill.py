r"""Knowledge distillation: train a small network on a larger one's softened predictions.

Hinton, Vinyals and Dean (2015), "Distilling the Knowledge in a Neural Network": a trained
teacher's class probabilities, softened by a temperature $T$, carry more information per
example than the one-hot label (which wrong classes are *almost* right), so a small student
learns from them faster and better than from the labels alone. The chapter
``docs/applications/open-problems.md`` distils a larger digits network into a small one.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from coursekit._validation import (
    as_real_float,
    as_tensor,
    class_indices,
    finite,
    nonempty,
    positive,
    probability,
)

__all__ = ["distillation_loss"]


def distillation_loss(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    targets: torch.Tensor,
    temperature: float,
    alpha: float,
) -> torch.Tensor:
    r"""Hinton's distillation loss: soft-target KL divergence, scaled by T², plus cross entropy.

    With $p^T = \operatorname{softmax}(v/T)$ from the teacher's logits $v$ and
    $q^T = \operatorname{softmax}(z/T)$ from the student's logits $z$,

    $$
    L = \alpha \, T^2 \, \mathrm{KL}\left(p^T \,\|\, q^T\right) + (1 - \alpha) \, \mathrm{CE}(z, y)
    $$

    averaged over the batch. The soft term's gradient with respect to $z_i$ is
    $\frac{1}{T}(q^T_i - p^T_i)$, which for large $T$ shrinks like $\frac{1}{T^2}$; the factor
    $T^2$ keeps the two terms' relative weight the same whatever the temperature (Hinton et
    al., 2015, section 2). KL divergence differs from the paper's cross entropy with the soft
    targets only by the teacher's entropy, a constant, so the gradients are the same and the
    soft term is 0 when the student matches the teacher. No gradient flows into the teacher.

    Args:
        student_logits: the student's logits, shape ``(B, K)``.
        teacher_logits: the teacher's logits for the same inputs, shape ``(B, K)``.
        targets: the true classes, integers of shape ``(B,)``.
        temperature: the softmax temperature $T > 0$ for both networks' soft targets.
        alpha: the weight of the soft (teacher) term, in $[0, 1]$; ``alpha=0`` is plain
            cross entropy with the labels.

    Returns:
        The scalar loss.

    Raises:
        ValueError: if the logits' shapes differ or are not ``(B, K)`` with ``B >= 1``, they
            hold nan or inf, ``targets`` is not ``B`` integers in ``[0, K)``,
            ``temperature`` is not a positive number or ``alpha`` is outside ``[0, 1]``.

    Examples:
        >>> import torch
        >>> import torch.nn.functional as F
        >>> from coursekit.applications.distill import distillation_loss
        >>> z = torch.tensor([[2.0, 0.5, -1.0]])
        >>> y = torch.tensor([0])
        >>> # a student that matches its teacher has nothing left to learn from it
        >>> round(distillation_loss(z, z, y, temperature=4.0, alpha=1.0).item(), 4)
        0.0
        >>> hard_only = distillation_loss(z, z + 1, y, temperature=4.0, alpha=0.0)
        >>> bool(torch.isclose(hard_only, F.cross_entropy(z, y)))
        True
        >>> distillation_loss(z, z, y, temperature=0.0, alpha=0.5)
        Traceback (most recent call last):
        ...
        ValueError: temperature must be a positive finite number, got 0.0
    """
    student_logits = finite(as_real_float(student_logits, "student_logits"), "student_logits")
    teacher_logits = finite(as_real_float(teacher_logits, "teacher_logits"), "teacher_logits")
    if student_logits.ndim != 2:
        raise ValueError(
            f"student_logits must have shape (B, K), got {tuple(student_logits.shape)}"
        )
    nonempty(student_logits, "student_logits")
    if teacher_logits.shape != student_logits.shape:
        raise ValueError(
            f"teacher_logits must have the shape of student_logits {tuple(student_logits.shape)}, "
            f"got {tuple(teacher_logits.shape)}"
        )
    batch, classes = student_logits.shape
    targets = class_indices(as_tensor(targets, "targets"), "targets", length=batch,
                            num_classes=classes)
    temperature = positive(temperature, "temperature")
    alpha = probability(alpha, "alpha")

    log_q = F.log_softmax(student_logits / temperature, dim=1)  # (B, K)
    log_p = F.log_softmax(teacher_logits.detach() / temperature, dim=1)  # (B, K)
    soft = F.kl_div(log_q, log_p, reduction="batchmean", log_target=True)
    hard = F.cross_entropy(student_logits, targets)
    return alpha * temperature**2 * soft + (1 - alpha) * hard
