"""Figures drawn by code: an example in a chapter calls ``savefig`` and the page shows it.

The book never holds a hand-made image. A chapter draws a figure with matplotlib inside a
verified example and saves it by name; the site build runs that example and serves the file as
``figures/<name>.svg`` at the site root, so a page links it as ``![...](../figures/<name>.svg)``.

A saved figure suits both of the site's palettes and a phone: its background is transparent (the
dark palette shows it inverted, through ``docs/assets/extra.css``), its text is real SVG text,
and text too small to read on a phone is enlarged (``savefig``).
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

import matplotlib

__all__ = ["FIGURE_DIR_ENV", "figure_dir", "savefig"]

matplotlib.rcParams["svg.hashsalt"] = "coursekit"  # the same figure gives the same bytes

FIGURE_DIR_ENV = "COURSEKIT_FIGURE_DIR"
_NAME = re.compile(r"[a-z0-9][a-z0-9-]*")

# A figure fills the content column, which is 358 CSS px wide on a 390 px phone (Material's
# 0.8rem margins); its smallest text must be at least 10 px there (the browser layout test
# measures it). SVG user units are points, so text of f pt in a figure W pt wide shows at
# f * 358 / W px: the smallest text must be at least W / 35.8 pt.
_PHONE_COLUMN_PX = 358
_MIN_TEXT_PX = 10.25  # a little over 10, for rounding in the browser
_TOLERANCE = 0.985  # a text this close to the size needed is left as it is (10.1 px)
_MAX_WIDTH_IN = 6.0  # wider figures are scaled down first, so their text need not grow as much


def figure_dir() -> Path:
    """The folder ``savefig`` writes to: ``$COURSEKIT_FIGURE_DIR``, else ``./figures``.

    Examples:
        >>> from coursekit.figures import figure_dir
        >>> figure_dir().name != ""
        True
    """
    return Path(os.environ.get(FIGURE_DIR_ENV, "figures"))


def savefig(fig: matplotlib.figure.Figure, name: str) -> Path:
    """Save a matplotlib figure as ``<name>.svg`` for the course book and close it.

    The figure is saved with transparent backgrounds and its text as SVG text. A figure wider
    than 6 inches is first scaled down, and any text smaller than the saved width allows is
    enlarged, so that on a 390 px phone, where the figure is 358 px wide, no text is under
    10 px: text of :math:`f` pt in a figure :math:`W` pt wide shows at :math:`f \\cdot 358 / W`
    px. A figure without a layout engine is laid out by matplotlib's tight layout.

    Args:
        fig: a ``matplotlib.figure.Figure``.
        name: lower-case letters, digits and dashes, e.g. ``"lp-unit-balls"``; the page
            links the figure as ``figures/<name>.svg``.

    Returns:
        The path written.

    Raises:
        ValueError: if ``fig`` is not a matplotlib ``Figure`` or ``name`` is not a simple
            lower-case slug.

    Examples:
        >>> import matplotlib.pyplot as plt
        >>> from coursekit.figures import savefig
        >>> fig, ax = plt.subplots()
        >>> _ = ax.plot([0, 1], [0, 1])
        >>> savefig(fig, "a-line").suffix
        '.svg'
        >>> savefig(fig, "A Line")
        Traceback (most recent call last):
        ...
        ValueError: name must be lower-case letters, digits and dashes, got 'A Line'
    """
    import matplotlib.figure
    import matplotlib.pyplot as plt

    if not isinstance(fig, matplotlib.figure.Figure):
        raise ValueError(f"fig must be a matplotlib Figure, got {type(fig).__name__}")
    if not isinstance(name, str) or not _NAME.fullmatch(name):  # a "$" would pass "a\n"
        raise ValueError(f"name must be lower-case letters, digits and dashes, got {name!r}")
    folder = figure_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.svg"
    _fit_for_phones(fig)
    # Transparent figure and axes backgrounds: the page's own colour shows through. Text stays
    # text (not paths): smaller files, and the browser test can read its size.
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        fig.savefig(path, format="svg", bbox_inches="tight", transparent=True,
                    metadata={"Date": None})
    plt.close(fig)
    return path


def _fit_for_phones(fig: matplotlib.figure.Figure) -> None:
    """Scale a wide figure down to ``_MAX_WIDTH_IN`` and raise every text smaller than the
    saved width needs (``_MIN_TEXT_PX`` on a phone); leave the fonts alone if that cannot
    converge (a figure whose width is its text, such as a block of monospaced samples)."""
    import matplotlib.text

    width, height = fig.get_size_inches()
    if width > _MAX_WIDTH_IN:
        width, height = _MAX_WIDTH_IN, height * _MAX_WIDTH_IN / width
        fig.set_size_inches(width, height)
    texts = {text: text.get_fontsize() for text in fig.findobj(matplotlib.text.Text)}
    ticks = {(axis, which): labels[0].get_fontsize()
             for axis, which, labels in _tick_labels(fig) if labels}
    pad = 72 * 2 * matplotlib.rcParams["savefig.pad_inches"]
    # First guess: the saved width is the figure's, as a layout engine fills the figure.
    if not _raise_small_text(fig, _MIN_TEXT_PX * (72 * width + pad) / _PHONE_COLUMN_PX):
        return
    ours = fig.get_layout_engine() is None and _default_subplot_params(fig)
    if ours:
        fig.set_layout_engine("tight")  # larger labels must not overlap their neighbours
    with warnings.catch_warnings():  # a layout that fails on the way is undone below
        warnings.simplefilter("ignore", UserWarning)
        for _ in range(3):
            try:
                fig.draw_without_rendering()  # runs the layout
            except (ValueError, ZeroDivisionError):  # axes the layout cannot place
                if not ours:
                    raise
                ours = False
                fig.set_layout_engine(None)
                fig.subplots_adjust()
                fig.draw_without_rendering()
            saved_width = 72 * fig.get_tightbbox().width + pad
            if not _raise_small_text(fig, _MIN_TEXT_PX * saved_width / _PHONE_COLUMN_PX):
                if ours:
                    fig.set_layout_engine("none")  # keep this layout; saving need not redo it
                return
    for text, size in texts.items():  # did not converge: keep the text as drawn
        text.set_fontsize(size)
    for (axis, which), size in ticks.items():
        axis.set_tick_params(which=which, labelsize=size)
    if ours:
        fig.set_layout_engine(None)
        fig.subplots_adjust()  # back to the default subplot positions


def _default_subplot_params(fig: matplotlib.figure.Figure) -> bool:
    params = fig.subplotpars
    return all(getattr(params, key) == matplotlib.rcParams[f"figure.subplot.{key}"]
               for key in ("left", "right", "bottom", "top", "wspace", "hspace"))


def _tick_labels(fig: matplotlib.figure.Figure):
    """``(axis, "major" | "minor", labels)`` for every axis of the figure."""
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis, getattr(ax, "zaxis", None)):
            if axis is None:
                continue
            for which, ticks in (("major", axis.get_major_ticks()),
                                 ("minor", axis.get_minor_ticks())):
                yield axis, which, [t.label1 for t in ticks] + [t.label2 for t in ticks]


def _raise_small_text(fig: matplotlib.figure.Figure, needed: float) -> bool:
    """Set every shown text under ``needed`` points to ``needed``; whether any was."""
    import matplotlib.text

    def shown(text) -> bool:
        return text.get_visible() and bool(text.get_text().strip())

    raised = False
    tick_labels = set()
    for axis, which, labels in _tick_labels(fig):
        tick_labels.update(labels)
        # Before the first draw a tick label has no text yet; a visible one will show.
        sizes = [label.get_fontsize() for label in labels if label.get_visible()]
        if sizes and min(sizes) < needed * _TOLERANCE:
            axis.set_tick_params(which=which, labelsize=needed)  # ticks drawn later too
            raised = True
    for text in fig.findobj(matplotlib.text.Text):
        if (text not in tick_labels and shown(text)
                and text.get_fontsize() < needed * _TOLERANCE):
            text.set_fontsize(needed)
            raised = True
    return raised
