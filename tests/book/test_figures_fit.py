"""``coursekit.figures.savefig`` fits a figure to a 390 px phone: read from the saved SVG, its
smallest text is at least 10 px where the phone shows it (358 px wide, or its own width if
narrower), as the browser layout test measures it on the built site."""

from __future__ import annotations

import re

import matplotlib
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from coursekit import figures  # noqa: E402

PHONE_COLUMN_PX = 358  # a 390 px window less Material's two 0.8rem margins


def _on_phone(svg: str) -> tuple[float, float]:
    """The smallest text's size on a phone, in CSS px, and the figure's width in points."""
    sizes = [float(s) for s in re.findall(r"font-size: ?([0-9.]+)px", svg)]
    width = float(re.search(r'viewBox="[-0-9.]+ [-0-9.]+ ([0-9.]+)', svg)[1])
    shown = min(PHONE_COLUMN_PX, width * 4 / 3)  # SVG points are 4/3 CSS px at natural size
    return min(sizes) * shown / width, width


@pytest.fixture
def saved(tmp_path, monkeypatch):
    monkeypatch.setenv(figures.FIGURE_DIR_ENV, str(tmp_path))
    return lambda fig: figures.savefig(fig, "fit").read_text(encoding="utf-8")


def test_a_wide_figure_is_narrowed_and_its_text_readable_on_a_phone(saved):
    fig, axes = plt.subplots(1, 3, figsize=(10, 3))
    for ax in axes:
        ax.plot([0, 1], [0, 1], label="a line")
        ax.set(title="a title", xlabel="x", ylabel="y")
        ax.legend(fontsize="small")
    px, width = _on_phone(saved(fig))
    assert px >= 10
    assert width <= 72 * 6.2


def test_log_axes_minor_tick_labels_are_readable_on_a_phone(saved):
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot([50, 150, 450, 1347], [0.3, 0.2, 0.1, 0.05], marker="o")
    ax.set(xscale="log", yscale="log", xlabel="training images", ylabel="test error")
    svg = saved(fig)
    # The labels' exponents (10^2) are smaller text than their bases, and measured too.
    assert len(set(re.findall(r"font-size: ?([0-9.]+)px", svg))) >= 2
    assert _on_phone(svg)[0] >= 10


def test_a_legend_outside_the_axes_is_counted_in_the_width(saved):
    fig, ax = plt.subplots(figsize=(5, 5))
    for p in (1, 2, 4):
        ax.plot([0, 1], [0, p], label=f"p = {p}, a long legend entry")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1), fontsize="small")
    assert _on_phone(saved(fig))[0] >= 10


def test_a_narrow_figure_keeps_its_own_text_size(saved):
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1], [0, 1])
    ax.set_xlabel("x", fontsize=12)
    svg = saved(fig)
    assert _on_phone(svg)[0] >= 10
    assert "font-size: 12px" in svg  # nothing needed it larger


def test_a_figure_with_its_own_subplot_positions_keeps_them(saved):
    fig, ax = plt.subplots(figsize=(5, 3))
    fig.subplots_adjust(left=0.3)
    saved(fig)
    assert fig.get_layout_engine() is None and fig.subplotpars.left == 0.3


def test_a_figure_with_a_colorbar_is_saved_and_readable(saved):
    fig, ax = plt.subplots(figsize=(6, 5))
    points = ax.scatter([0, 1, 2], [2, 0, 1], c=[0, 5, 9], cmap="tab10")
    fig.colorbar(points, ax=ax, label="digit")  # made without a layout engine
    ax.set(xlabel="first principal component", ylabel="second principal component")
    assert _on_phone(saved(fig))[0] >= 10
