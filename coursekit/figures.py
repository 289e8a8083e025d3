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
# f * 358 / W px, and a figure narrower than 358 px (268.5 pt) shows at its own size.
_PHONE_COLUMN_PX = 358
_MIN_TEXT_PX = 10.25  # a little over 10, for rounding in the browser
_MAX_WIDTH_IN = 6.0  # wider figures are scaled down first, so their text need not grow as much
_SCRIPT_SHRINK = 0.7  # mathtext's sub- and superscripts: 0.7 of the text's size


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
    px. A figure with neither a layout engine nor subplot positions of its own is laid out
    by matplotlib's tight layout, so that the larger text does not overlap.

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
    """Scale a figure wider than ``_MAX_WIDTH_IN`` down to it and raise every text smaller than
    the saved width needs; a figure that had no layout is laid out, so that larger text does
    not overlap its neighbours."""
    width, height = fig.get_size_inches()
    if width > _MAX_WIDTH_IN:
        fig.set_size_inches(_MAX_WIDTH_IN, height * _MAX_WIDTH_IN / width)
    ours = fig.get_layout_engine() is None and _default_subplot_params(fig)
    pad = 72 * 2 * matplotlib.rcParams["savefig.pad_inches"]
    saved = 72 * fig.get_figwidth() + pad  # bbox_inches="tight": about the figure's width
    for _ in range(2):  # once more if the larger text made the saved figure wider
        fig.draw_without_rendering()  # makes the tick labels the saved figure shows
        _raise_small_text(fig, _MIN_TEXT_PX * max(saved, 0.75 * _PHONE_COLUMN_PX)
                          / _PHONE_COLUMN_PX)
        if ours:
            _tight_layout(fig)
        fig.draw_without_rendering()
        now = 72 * fig.get_tightbbox().width + pad
        if now <= saved:
            return
        saved = now


def _tight_layout(fig: matplotlib.figure.Figure) -> None:
    """Matplotlib's tight layout, where it can place the axes (not around a colorbar made
    without a layout engine, for one): there the figure keeps its layout."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        try:
            fig.tight_layout()
        except ValueError:  # the axes do not fit between their labels
            pass


def _default_subplot_params(fig: matplotlib.figure.Figure) -> bool:
    params = fig.subplotpars
    return all(getattr(params, key) == matplotlib.rcParams[f"figure.subplot.{key}"]
               for key in ("left", "right", "bottom", "top", "wspace", "hspace"))


def _raise_small_text(fig: matplotlib.figure.Figure, needed: float) -> None:
    """Set every shown text under ``needed`` points to ``needed``, or to ``needed / 0.7`` if
    it has sub- or superscripts (mathtext draws them at 0.7 of the size, such as the exponent
    of a log axis's ``10^2``); a raised tick label's axis draws its later ticks so too."""
    import matplotlib.axis
    import matplotlib.text

    def size_needed(text) -> float:
        shown = text.get_text()
        if not (text.get_visible() and shown.strip()):
            return 0.0
        scripts = shown.count("$") >= 2 and ("^" in shown or "_" in shown)
        return needed / _SCRIPT_SHRINK if scripts else needed

    for axis in fig.findobj(matplotlib.axis.Axis):
        for which, ticks in (("major", axis.get_major_ticks()),
                             ("minor", axis.get_minor_ticks())):
            labels = [label for tick in ticks for label in (tick.label1, tick.label2)]
            size = max((size_needed(label) for label in labels), default=0.0)
            if any(label.get_fontsize() < size_needed(label) for label in labels):
                axis.set_tick_params(which=which, labelsize=size)
    for text in fig.findobj(matplotlib.text.Text):
        if text.get_fontsize() < size_needed(text):
            text.set_fontsize(size_needed(text))
