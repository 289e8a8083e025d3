"""Sybil collects every ``python`` block in ``docs/**/*.md`` and every docstring example in
``coursekit/**/*.py``; pytest runs them beside the unit tests in ``tests/``."""

from doctest import ELLIPSIS, NORMALIZE_WHITESPACE

import matplotlib

matplotlib.use("Agg")  # examples draw figures; no display is ever needed

from sybil import Sybil  # noqa: E402
from sybil.parsers.markdown import ClearNamespaceParser, PythonCodeBlockParser, SkipParser  # noqa: E402
from sybil.parsers.rest import DocTestParser  # noqa: E402

# NUMBER lets a printed float match the precision written on the page (0.3333 matches 1/3).
from sybil.evaluators.doctest import NUMBER  # noqa: E402

OPTIONFLAGS = ELLIPSIS | NORMALIZE_WHITESPACE | NUMBER

chapters = Sybil(
    parsers=[
        PythonCodeBlockParser(doctest_optionflags=OPTIONFLAGS),
        SkipParser(),
        ClearNamespaceParser(),
    ],
    path="docs",
    patterns=["*.md"],
    name="chapters",
)

docstrings = Sybil(
    parsers=[DocTestParser(optionflags=OPTIONFLAGS)],
    path="coursekit",
    patterns=["*.py"],
    name="docstrings",
)

pytest_collect_file = (chapters + docstrings).pytest()


def pytest_configure(config):
    """Figures that examples save go to a scratch folder, never into the working tree."""
    import os
    import tempfile

    from coursekit.figures import FIGURE_DIR_ENV

    os.environ.setdefault(FIGURE_DIR_ENV, tempfile.mkdtemp(prefix="coursekit-figures-"))
