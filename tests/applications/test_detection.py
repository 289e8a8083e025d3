"""Tests for coursekit.applications.detection: RoI max pooling against hand-made cases and a
loop-by-loop reference of the original Caffe layer; the Fast R-CNN loss against a NumPy
transcription of the paper's formula."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import log_softmax

from coursekit.applications.detection import (
    decode_boxes,
    encode_boxes,
    fast_rcnn_loss,
    roi_max_pool,
)


def caffe_roi_pool(features: np.ndarray, box, out_h: int, out_w: int, scale: float) -> np.ndarray:
    """The RoI pooling forward pass of Girshick's Caffe layer, transcribed with plain loops."""
    b, x1, y1, x2, y2 = box
    start_w, start_h = math.floor(x1 * scale + 0.5), math.floor(y1 * scale + 0.5)
    end_w, end_h = math.floor(x2 * scale + 0.5), math.floor(y2 * scale + 0.5)
    roi_w, roi_h = max(end_w - start_w + 1, 1), max(end_h - start_h + 1, 1)
    bin_h, bin_w = roi_h / out_h, roi_w / out_w
    _, channels, height, width = features.shape
    out = np.zeros((channels, out_h, out_w))
    for c in range(channels):
        for ph in range(out_h):
            for pw in range(out_w):
                hstart = min(max(math.floor(ph * bin_h) + start_h, 0), height)
                hend = min(max(math.ceil((ph + 1) * bin_h) + start_h, 0), height)
                wstart = min(max(math.floor(pw * bin_w) + start_w, 0), width)
                wend = min(max(math.ceil((pw + 1) * bin_w) + start_w, 0), width)
                if hend > hstart and wend > wstart:
                    out[c, ph, pw] = features[int(b), c, hstart:hend, wstart:wend].max()
    return out


def test_roi_max_pool_whole_map_into_two_by_two():
    fmap = torch.arange(16.0).reshape(1, 1, 4, 4)
    pooled = roi_max_pool(fmap, torch.tensor([[0, 0, 0, 3, 3]]), 2)
    assert pooled.tolist() == [[[[5.0, 7.0], [13.0, 15.0]]]]


def test_roi_max_pool_sub_windows_overlap_when_grid_does_not_divide_box():
    # a 5-row window into 2 rows: rows 0..2 and 2..4 share row 2, which holds the largest value
    fmap = torch.zeros(1, 1, 6, 6)
    fmap[0, 0, 2, 1] = 9.0
    pooled = roi_max_pool(fmap, torch.tensor([[0, 0, 0, 4, 4]]), 2)
    assert pooled[0, 0].tolist() == [[9.0, 0.0], [9.0, 0.0]]


def test_roi_max_pool_small_box_into_larger_grid_repeats_cells():
    fmap = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    pooled = roi_max_pool(fmap, torch.tensor([[0, 0, 0, 1, 1]]), 4)
    expected = torch.tensor(
        [[1.0, 1.0, 2.0, 2.0], [1.0, 1.0, 2.0, 2.0], [3.0, 3.0, 4.0, 4.0], [3.0, 3.0, 4.0, 4.0]]
    )
    assert torch.equal(pooled[0, 0], expected)


@pytest.mark.parametrize("seed", range(5))
def test_roi_max_pool_matches_caffe_reference_loops(seed):
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(2, 3, 13, 17))
    scale = 1 / 4
    boxes = []
    for _ in range(6):
        x1, x2 = np.sort(rng.uniform(0, 16 / scale, size=2))
        y1, y2 = np.sort(rng.uniform(0, 12 / scale, size=2))
        boxes.append([rng.integers(0, 2), x1, y1, x2, y2])
    out_size = (int(rng.integers(1, 8)), int(rng.integers(1, 8)))
    got = roi_max_pool(
        torch.from_numpy(features), torch.tensor(boxes), out_size, spatial_scale=scale
    )
    expected = np.stack([caffe_roi_pool(features, box, *out_size, scale) for box in boxes])
    assert got.dtype == torch.float64
    np.testing.assert_array_equal(got.numpy(), expected)


def test_roi_max_pool_reads_the_map_named_by_batch_index():
    features = torch.stack([torch.zeros(1, 4, 4), torch.ones(1, 4, 4)])
    pooled = roi_max_pool(features, torch.tensor([[1, 0, 0, 3, 3], [0, 0, 0, 3, 3]]), 1)
    assert pooled.flatten().tolist() == [1.0, 0.0]


def test_roi_max_pool_spatial_scale_maps_image_boxes_to_cells():
    features = torch.randn(1, 2, 8, 8, generator=torch.Generator().manual_seed(0))
    in_cells = roi_max_pool(features, torch.tensor([[0, 1, 2, 5, 6]]), 3)
    in_pixels = roi_max_pool(features, torch.tensor([[0, 16, 32, 80, 96]]), 3, spatial_scale=1 / 16)
    assert torch.equal(in_cells, in_pixels)


def test_roi_max_pool_clips_boxes_to_the_map():
    features = torch.randn(1, 2, 6, 6, generator=torch.Generator().manual_seed(1))
    outside = roi_max_pool(features, torch.tensor([[0, -3, 2, 9, 40]]), 2)
    clipped = roi_max_pool(features, torch.tensor([[0, 0, 2, 5, 5]]), 2)
    assert torch.equal(outside, clipped)


def test_roi_max_pool_gradient_reaches_only_the_argmax_cells():
    generator = torch.Generator().manual_seed(2)
    features = torch.randn(1, 1, 6, 6, generator=generator, requires_grad=True)
    roi_max_pool(features, torch.tensor([[0, 0, 0, 5, 5]]), 3).sum().backward()
    window = features.detach()[0, 0].reshape(3, 2, 3, 2).permute(0, 2, 1, 3).reshape(3, 3, 4)
    expected = torch.zeros(36)
    for i in range(3):
        for j in range(3):
            r, c = divmod(int(window[i, j].argmax()), 2)
            expected[(2 * i + r) * 6 + 2 * j + c] = 1.0
    assert torch.equal(features.grad.flatten(), expected)


def test_roi_max_pool_with_no_boxes_returns_empty_batch():
    assert roi_max_pool(torch.zeros(1, 3, 4, 4), torch.zeros(0, 5), (2, 3)).shape == (0, 3, 2, 3)


@pytest.mark.parametrize(
    ("features", "boxes", "size", "scale", "message"),
    [
        (torch.zeros(3, 4, 4), torch.zeros(1, 5), 2, 1.0, "features must have shape"),
        (torch.zeros(1, 3, 4, 4), torch.zeros(1, 4), 2, 1.0, "boxes must have shape"),
        (torch.zeros(1, 3, 4, 4), torch.tensor([[1, 0, 0, 1, 1]]), 2, 1.0,
         "batch_index must lie in"),
        (torch.zeros(1, 3, 4, 4), torch.tensor([[0, 2, 0, 1, 1]]), 2, 1.0, "x2 >= x1"),
        (torch.zeros(1, 3, 4, 4), torch.zeros(1, 5), 0, 1.0, "output_size must be"),
        (torch.zeros(1, 3, 4, 4), torch.zeros(1, 5), (2, 2, 2), 1.0, "output_size must be"),
        (torch.zeros(1, 3, 4, 4), torch.zeros(1, 5), 2, 0.0, "spatial_scale must be a positive"),
    ],
)
def test_roi_max_pool_rejects_bad_input(features, boxes, size, scale, message):
    with pytest.raises(ValueError, match=message):
        roi_max_pool(features, boxes, size, spatial_scale=scale)


def numpy_fast_rcnn_loss(logits, deltas, labels, targets, lam):
    """Equation (1) of the paper per RoI, then the mean over RoIs."""
    total = 0.0
    log_p = log_softmax(logits, axis=1)
    for r, u in enumerate(labels):
        loss = -log_p[r, u]
        if u >= 1:
            x = np.abs(deltas[r, 4 * u : 4 * u + 4] - targets[r])
            loss += lam * np.where(x < 1, 0.5 * x**2, x - 0.5).sum()
        total += loss
    return total / len(labels)


@pytest.mark.parametrize("lam", [0.0, 1.0, 2.5])
def test_fast_rcnn_loss_matches_numpy_formula(lam):
    rng = np.random.default_rng(int(lam * 10))
    logits, deltas = rng.normal(size=(12, 4)), rng.normal(scale=2.0, size=(12, 16))
    labels, targets = rng.integers(0, 4, size=12), rng.normal(size=(12, 4))
    got = fast_rcnn_loss(*map(torch.from_numpy, (logits, deltas, labels, targets)), lam=lam)
    assert got.item() == pytest.approx(numpy_fast_rcnn_loss(logits, deltas, labels, targets, lam))


def test_fast_rcnn_loss_accepts_per_class_box_layout():
    gen = torch.Generator().manual_seed(3)
    logits, deltas = torch.randn(5, 3, generator=gen), torch.randn(5, 12, generator=gen)
    labels, targets = torch.tensor([0, 1, 2, 2, 1]), torch.randn(5, 4, generator=gen)
    flat = fast_rcnn_loss(logits, deltas, labels, targets)
    assert torch.allclose(flat, fast_rcnn_loss(logits, deltas.reshape(5, 3, 4), labels, targets))


def test_fast_rcnn_loss_ignores_background_box_targets():
    logits, deltas = torch.zeros(2, 3), torch.zeros(2, 12, requires_grad=True)
    targets = torch.tensor([[float("nan")] * 4, [0.5, 0.5, 0.5, 0.5]])
    loss = fast_rcnn_loss(logits, deltas, torch.tensor([0, 2]), targets)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(deltas.grad).all()


def test_fast_rcnn_loss_regresses_only_the_true_class_box():
    deltas = torch.randn(3, 12, generator=torch.Generator().manual_seed(4), requires_grad=True)
    fast_rcnn_loss(torch.zeros(3, 3), deltas, torch.tensor([0, 1, 2]), torch.ones(3, 4)).backward()
    touched = deltas.grad.reshape(3, 3, 4).abs().sum(dim=2) > 0
    assert touched.tolist() == [[False, False, False], [False, True, False], [False, False, True]]


@pytest.mark.parametrize(
    ("logits", "deltas", "labels", "targets", "message"),
    [
        (torch.zeros(3), torch.zeros(3, 12), torch.zeros(3, dtype=torch.long), torch.zeros(3, 4),
         "class_logits must have shape"),
        (torch.zeros(0, 3), torch.zeros(0, 12), torch.zeros(0, dtype=torch.long), torch.zeros(0, 4),
         "at least one RoI"),
        (torch.zeros(3, 3), torch.zeros(3, 8), torch.zeros(3, dtype=torch.long), torch.zeros(3, 4),
         "box_deltas must have shape"),
        (torch.zeros(3, 3), torch.zeros(3, 12), torch.zeros(3), torch.zeros(3, 4),
         "labels must hold integer class indices"),
        (torch.zeros(3, 3), torch.zeros(3, 12), torch.tensor([0, 3, 1]), torch.zeros(3, 4),
         r"labels must be classes in \[0, 3\)"),
        (torch.zeros(3, 3), torch.zeros(3, 12), torch.zeros(3, dtype=torch.long), torch.zeros(3, 5),
         "box_targets must have shape"),
    ],
)
def test_fast_rcnn_loss_rejects_bad_input(logits, deltas, labels, targets, message):
    with pytest.raises(ValueError, match=message):
        fast_rcnn_loss(logits, deltas, labels, targets)


corner, size = st.floats(-50, 50), st.floats(0.5, 40)
box = st.tuples(corner, corner, size, size).map(lambda b: [b[0], b[1], b[0] + b[2], b[1] + b[3]])


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(box, box), min_size=1, max_size=5))
def test_decode_inverts_encode(pairs):
    proposals = torch.tensor([p for p, _ in pairs], dtype=torch.float64)
    truth = torch.tensor([t for _, t in pairs], dtype=torch.float64)
    assert torch.allclose(decode_boxes(proposals, encode_boxes(proposals, truth)), truth, atol=1e-9)


def test_encode_boxes_is_translation_and_scale_invariant():
    proposals = torch.tensor([[0.0, 0.0, 4.0, 2.0], [1.0, 1.0, 3.0, 5.0]], dtype=torch.float64)
    truth = torch.tensor([[1.0, 0.5, 5.0, 3.0], [0.0, 2.0, 3.0, 4.0]], dtype=torch.float64)

    def moved(b: torch.Tensor) -> torch.Tensor:
        return 3.0 * b + torch.tensor([7.0, -2.0, 7.0, -2.0], dtype=torch.float64)

    assert torch.allclose(
        encode_boxes(proposals, truth), encode_boxes(moved(proposals), moved(truth))
    )


def test_encode_boxes_rejects_empty_box():
    with pytest.raises(ValueError, match="proposals must have x2 > x1"):
        encode_boxes(torch.tensor([[0.0, 0.0, 0.0, 1.0]]), torch.tensor([[0.0, 0.0, 1.0, 1.0]]))


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_roi_max_pool_refuses_non_finite_coordinates(bad):
    # a nan corner used to be read as 0 and pool a box nobody asked for
    fmap = torch.arange(16.0).reshape(1, 1, 4, 4)
    with pytest.raises(ValueError, match="boxes must be finite"):
        roi_max_pool(fmap, torch.tensor([[0.0, bad, 0.0, 3.0, 3.0]]), 2)


def test_roi_max_pool_refuses_a_fractional_batch_index():
    fmap = torch.zeros(2, 1, 4, 4)
    with pytest.raises(ValueError, match="batch_index must be whole numbers"):
        roi_max_pool(fmap, torch.tensor([[0.5, 0.0, 0.0, 3.0, 3.0]]), 2)


def test_fast_rcnn_loss_refuses_nan_lam():
    with pytest.raises(ValueError, match="lam must be"):
        fast_rcnn_loss(torch.zeros(2, 2), torch.zeros(2, 8), torch.tensor([0, 1]),
                       torch.zeros(2, 4), lam=float("nan"))
