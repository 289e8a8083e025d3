"""Figures drawn by code: an example in a chapter calls :func:`savefig` and the page shows it.

The book never holds a hand-made image. A chapter draws a figure with matplotlib inside a
verified example and saves it by name; the site build runs that example and serves the file as
``figures/<name>.svg`` at the site root, so a page links it as ``![...](../figures/<name>.svg)``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import matplotlib

__all__ = ["FIGURE_DIR_ENV", "figure_dir", "savefig"]

matplotlib.rcParams["svg.hashsalt"] = "coursekit"  # the same figure gives the same bytes

FIGURE_DIR_ENV = "COURSEKIT_FIGURE_DIR"
_NAME = re.compile(r"[a-z0-9][a-z0-9-]*")


def figure_dir() -> Path:
    """The folder :func:`savefig` writes to: ``$COURSEKIT_FIGURE_DIR``, else ``./figures``.

    Examples:
        >>> from coursekit.figures import figure_dir
        >>> figure_dir().name != ""
        True
    """
    return Path(os.environ.get(FIGURE_DIR_ENV, "figures"))


def savefig(fig: matplotlib.figure.Figure, name: str) -> Path:
    """Save a matplotlib figure as ``<name>.svg`` for the course book and close it.

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
    fig.savefig(path, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    return path
