"""pytest collects every ``python`` block in ``docs/**/*.md`` and every docstring example in
``coursekit/**/*.py`` through Sybil (configured in ``bookhooks/examples.py``), beside the unit
tests in ``tests/``."""

import os

import matplotlib

matplotlib.use("Agg")  # examples draw figures; no display is ever needed

from bookhooks.examples import ROOT, chapters, docstrings  # noqa: E402
from coursekit.figures import FIGURE_DIR_ENV  # noqa: E402

# Figures the examples save land where the site build picks them up (git ignores .cache/).
os.environ.setdefault(FIGURE_DIR_ENV, str(ROOT / ".cache" / "figures"))

pytest_collect_file = (chapters + docstrings).pytest()
