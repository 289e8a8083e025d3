r"""Fast R-CNN's two new pieces: RoI max pooling and the multi-task detection loss.

Fast R-CNN (Girshick, 2015) runs the convolutional layers once per image, then, for every region
of interest (RoI, a proposed box), max-pools the part of the feature map under the box into a
fixed $H \times W$ grid, so boxes of any size feed the same fully connected head. The head has
two outputs per RoI, class scores and per-class box corrections, trained together by one loss.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from numpy.typing import ArrayLike

from coursekit._validation import (
    as_real_float,
    as_tensor,
    class_indices,
    finite,
    nonempty,
    nonnegative,
    positive,
    positive_int,
)

__all__ = ["decode_boxes", "encode_boxes", "fast_rcnn_loss", "roi_max_pool"]


def _pair(output_size: int | tuple[int, int]) -> tuple[int, int]:
    pair = output_size if isinstance(output_size, (tuple, list)) else (output_size, output_size)
    try:  # a size that is not a positive int, or a pair of the wrong length, lands here
        height, width = (positive_int(size, "output_size") for size in pair)
    except ValueError as err:
        raise ValueError(
            f"output_size must be a positive int or a pair of them, got {output_size!r}"
        ) from err
    return height, width


def roi_max_pool(
    features: torch.Tensor | ArrayLike,
    boxes: torch.Tensor | ArrayLike,
    output_size: int | tuple[int, int],
    spatial_scale: float = 1.0,
) -> torch.Tensor:
    r"""Max-pool each region of interest of a feature map into a fixed grid (Fast R-CNN).

    A box $(x_1, y_1, x_2, y_2)$ is scaled by ``spatial_scale`` (the feature map's stride, e.g.
    1/16), rounded to the nearest cell and clipped to the map, giving an $h \times w$ window
    (both corners included). The window is split into an $H \times W$ grid; output cell $(i, j)$
    is the maximum over rows $\lfloor i h / H \rfloor, \dots, \lceil (i + 1) h / H \rceil - 1$
    and the matching columns, so neighbouring sub-windows may share a row when $H$ does not
    divide $h$. These are the bins of the original Caffe layer, which are exactly those of
    adaptive max pooling over the window, used here. The gradient flows back only to each
    cell's arg-max, as in the paper.

    Args:
        features: feature maps, shape ``(N, C, H_f, W_f)``; integers become floats.
        boxes: one row ``(batch_index, x1, y1, x2, y2)`` per RoI, shape ``(K, 5)``, in input
            coordinates; ``batch_index`` says which of the ``N`` maps the box is on.
        output_size: ``H`` and ``W`` of the grid, an int or a pair (7 in the paper's VGG16).
        spatial_scale: factor from box coordinates to feature-map cells.

    Returns:
        The pooled features, shape ``(K, C, H, W)``, dtype of ``features``.

    Raises:
        ValueError: if ``features`` is not 4-D, ``boxes`` is not ``(K, 5)``, either holds nan
            or inf, a batch index is not a whole number in range, a box has ``x2 < x1`` or
            ``y2 < y1``, or ``output_size`` or ``spatial_scale`` is not positive.

    Examples:
        >>> import torch
        >>> from coursekit.applications.detection import roi_max_pool
        >>> fmap = torch.arange(16.0).reshape(1, 1, 4, 4)
        >>> roi_max_pool(fmap, torch.tensor([[0, 0, 0, 3, 3]]), 2).tolist()
        [[[[5.0, 7.0], [13.0, 15.0]]]]
        >>> tall = torch.tensor([[0, 1, 0, 2, 2]])  # columns 1..2, rows 0..2
        >>> roi_max_pool(fmap, tall, (3, 1)).flatten().tolist()
        [2.0, 6.0, 10.0]
    """
    features = nonempty(finite(as_real_float(features, "features"), "features"), "features")
    boxes = finite(as_real_float(boxes, "boxes"), "boxes")
    out_h, out_w = _pair(output_size)
    if features.ndim != 4:
        raise ValueError(
            f"features must have shape (N, C, H, W), got shape {tuple(features.shape)}"
        )
    if boxes.ndim != 2 or boxes.shape[1] != 5:
        raise ValueError(
            "boxes must have shape (K, 5) with rows (batch_index, x1, y1, x2, y2), "
            f"got shape {tuple(boxes.shape)}"
        )
    spatial_scale = positive(spatial_scale, "spatial_scale")
    n, c, height, width = features.shape
    if bool((boxes[:, 0] != boxes[:, 0].floor()).any()):
        raise ValueError("boxes' batch_index must be whole numbers, got a fraction")
    index = boxes[:, 0].long()
    if len(boxes) and (index.min() < 0 or index.max() >= n):
        raise ValueError(
            f"boxes' batch_index must lie in [0, {n}), "
            f"got values in [{int(index.min())}, {int(index.max())}]"
        )
    # round half away from zero like the paper's Caffe layer (torch.round rounds half to even)
    corners = boxes[:, 1:].double() * spatial_scale
    corners = (corners.sign() * (corners.abs() + 0.5).floor()).long()
    if len(boxes) and ((corners[:, 2] < corners[:, 0]) | (corners[:, 3] < corners[:, 1])).any():
        raise ValueError("boxes must have x2 >= x1 and y2 >= y1 after scaling and rounding")
    limit = torch.tensor([width - 1, height - 1, width - 1, height - 1])
    corners = corners.clamp(min=torch.zeros_like(limit), max=limit)
    pooled = [
        F.adaptive_max_pool2d(features[b, :, y1 : y2 + 1, x1 : x2 + 1], (out_h, out_w))  # (C, H, W)
        for b, (x1, y1, x2, y2) in zip(index.tolist(), corners.tolist(), strict=True)
    ]
    if not pooled:
        return features.new_zeros((0, c, out_h, out_w))
    return torch.stack(pooled)  # (K, C, H, W)


def encode_boxes(
    proposals: torch.Tensor | ArrayLike, targets: torch.Tensor | ArrayLike
) -> torch.Tensor:
    r"""Regression targets $v = (t_x, t_y, t_w, t_h)$ that move each proposal onto its box.

    With centres, widths and heights $(P_x, P_y, P_w, P_h)$ of the proposal and
    $(G_x, G_y, G_w, G_h)$ of the ground truth (R-CNN's parametrization, Girshick et al. 2014):

    $$
    t_x = \frac{G_x - P_x}{P_w}, \quad t_y = \frac{G_y - P_y}{P_h}, \quad
    t_w = \log \frac{G_w}{P_w}, \quad t_h = \log \frac{G_h}{P_h}
    $$

    Args:
        proposals: boxes ``(x1, y1, x2, y2)``, shape ``(R, 4)``, positive width and height.
        targets: matching ground-truth boxes, same shape.

    Returns:
        The targets, shape ``(R, 4)``; scale- and translation-invariant.

    Raises:
        ValueError: if the shapes are not ``(R, 4)`` and equal, a box is empty, or a
            coordinate is nan or inf.

    Examples:
        >>> import torch
        >>> from coursekit.applications.detection import encode_boxes
        >>> proposal = torch.tensor([[0.0, 0.0, 10.0, 10.0]])
        >>> encode_boxes(proposal, torch.tensor([[5.0, 5.0, 15.0, 25.0]]))
        tensor([[0.5000, 1.0000, 0.0000, 0.6931]])
    """
    proposals = finite(as_real_float(proposals, "proposals"), "proposals")
    targets = finite(as_real_float(targets, "targets"), "targets")
    p, g = _centre_size(proposals, "proposals"), _centre_size(targets, "targets")
    if proposals.shape != targets.shape:
        raise ValueError(
            f"targets must have the shape of proposals {tuple(proposals.shape)}, "
            f"got {tuple(targets.shape)}"
        )
    return torch.cat([(g[:, :2] - p[:, :2]) / p[:, 2:], torch.log(g[:, 2:] / p[:, 2:])], dim=1)


def decode_boxes(
    proposals: torch.Tensor | ArrayLike, deltas: torch.Tensor | ArrayLike
) -> torch.Tensor:
    """Apply regression outputs to proposals: the inverse of `encode_boxes`.

    Args:
        proposals: boxes ``(x1, y1, x2, y2)``, shape ``(R, 4)``.
        deltas: ``(t_x, t_y, t_w, t_h)`` per proposal, shape ``(R, 4)``.

    Returns:
        The moved boxes ``(x1, y1, x2, y2)``, shape ``(R, 4)``.

    Raises:
        ValueError: if the shapes are not ``(R, 4)`` and equal, a proposal is empty, or a
            value is nan or inf.

    Examples:
        >>> import torch
        >>> from coursekit.applications.detection import decode_boxes, encode_boxes
        >>> proposal = torch.tensor([[0.0, 0.0, 10.0, 10.0]])
        >>> truth = torch.tensor([[5.0, 5.0, 15.0, 25.0]])
        >>> torch.allclose(decode_boxes(proposal, encode_boxes(proposal, truth)), truth)
        True
    """
    proposals = finite(as_real_float(proposals, "proposals"), "proposals")
    deltas = finite(as_real_float(deltas, "deltas"), "deltas")
    p = _centre_size(proposals, "proposals")
    if deltas.shape != proposals.shape:
        raise ValueError(
            f"deltas must have the shape of proposals {tuple(proposals.shape)}, "
            f"got {tuple(deltas.shape)}"
        )
    centre = p[:, :2] + deltas[:, :2] * p[:, 2:]
    size = p[:, 2:] * torch.exp(deltas[:, 2:])
    return torch.cat([centre - size / 2, centre + size / 2], dim=1)


def _centre_size(boxes: torch.Tensor, name: str) -> torch.Tensor:
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(
            f"{name} must have shape (R, 4) with rows (x1, y1, x2, y2), "
            f"got shape {tuple(boxes.shape)}"
        )
    size = boxes[:, 2:] - boxes[:, :2]
    if (size <= 0).any():
        raise ValueError(f"{name} must have x2 > x1 and y2 > y1")
    return torch.cat([boxes[:, :2] + size / 2, size], dim=1)  # (R, 4): cx, cy, w, h


def fast_rcnn_loss(
    class_logits: torch.Tensor | ArrayLike,
    box_deltas: torch.Tensor | ArrayLike,
    labels: torch.Tensor | ArrayLike,
    box_targets: torch.Tensor | ArrayLike,
    lam: float = 1.0,
) -> torch.Tensor:
    r"""Fast R-CNN's multi-task loss, averaged over a mini-batch of RoIs.

    For one RoI with true class $u$ (0 is background), predicted class distribution $p$,
    predicted box $t^u$ for class $u$ and regression target $v$:

    $$
    L(p, u, t^u, v) = -\log p_u
    + \lambda [u \ge 1] \sum_{i \in \{x, y, w, h\}} \operatorname{smooth}_{L_1}(t^u_i - v_i)
    $$

    $$
    \operatorname{smooth}_{L_1}(x) = \begin{cases}
    0.5 x^2 & |x| < 1 \\
    |x| - 0.5 & \text{otherwise}
    \end{cases}
    $$

    Background RoIs train only the classifier, and only the box output of the true class is
    regressed. Smooth L1 grows linearly for large errors, so an outlier cannot blow up the
    gradient as the squared error of R-CNN could.

    Args:
        class_logits: scores for background and $K$ classes, shape ``(R, K + 1)``.
        box_deltas: a box per class, shape ``(R, 4 (K + 1))`` (the paper's layout) or
            ``(R, K + 1, 4)``.
        labels: true class per RoI, shape ``(R,)``, integers in ``[0, K]``.
        box_targets: regression targets $v$ (see `encode_boxes`), shape ``(R, 4)``; rows of
            background RoIs are ignored.
        lam: the weight $\lambda \ge 0$ of the box term (1 in the paper).

    Returns:
        The mean of $L$ over the $R$ RoIs, a scalar tensor that can be back-propagated.

    Raises:
        ValueError: if a shape does not match the others, a label is not an integer in
            ``[0, K]``, a value (except a background RoI's box target) is nan or inf, or
            ``lam`` is negative.

    Examples:
        >>> import torch
        >>> from coursekit.applications.detection import fast_rcnn_loss
        >>> logits = torch.tensor([[2.0, 0.0], [0.0, 2.0]])
        >>> labels = torch.tensor([0, 1])  # RoI 0 background, RoI 1 class 1
        >>> deltas = torch.zeros(2, 8)
        >>> targets = torch.tensor([[9.0, 9.0, 9.0, 9.0], [0.5, 0.0, 0.0, 2.0]])
        >>> round(fast_rcnn_loss(logits, deltas, labels, targets).item(), 4)
        0.9394
    """
    class_logits = finite(as_real_float(class_logits, "class_logits"), "class_logits")
    box_deltas = finite(as_real_float(box_deltas, "box_deltas"), "box_deltas")
    box_targets = as_real_float(box_targets, "box_targets")
    if class_logits.ndim != 2:
        raise ValueError(
            f"class_logits must have shape (R, K + 1), got shape {tuple(class_logits.shape)}"
        )
    r, classes = class_logits.shape
    if r == 0:
        raise ValueError("class_logits must hold at least one RoI, got 0 rows")
    nonempty(class_logits, "class_logits")  # at least the background column
    if box_deltas.shape not in ((r, 4 * classes), (r, classes, 4)):
        raise ValueError(
            f"box_deltas must have shape ({r}, {4 * classes}) or ({r}, {classes}, 4), "
            f"got shape {tuple(box_deltas.shape)}"
        )
    labels = class_indices(as_tensor(labels, "labels"), "labels", length=r, num_classes=classes)
    if box_targets.shape != (r, 4):
        raise ValueError(
            f"box_targets must have shape ({r}, 4), got shape {tuple(box_targets.shape)}"
        )
    lam = nonnegative(lam, "lam")
    foreground = labels >= 1  # [u >= 1]: background rows' targets are never read
    finite(box_targets[foreground], "box_targets of foreground RoIs")
    classification = F.cross_entropy(class_logits, labels)  # mean over the R RoIs
    true_box = box_deltas.reshape(r, classes, 4)[foreground, labels[foreground]]  # (R_fg, 4): t^u
    localization = F.smooth_l1_loss(true_box, box_targets[foreground], beta=1.0, reduction="sum")
    return classification + lam * localization / r
