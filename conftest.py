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


def pytest_runtest_makereport(item, call):
    """Report a skipped example at its page and line, not inside pytest's unittest shim."""
    from unittest import SkipTest

    import pytest

    example = getattr(item, "example", None)
    skipped = (SkipTest, pytest.skip.Exception)
    if example is None or call.excinfo is None or not call.excinfo.errisinstance(skipped):
        return None
    reason = getattr(call.excinfo.value, "msg", None) or str(call.excinfo.value)
    report = pytest.TestReport.from_item_and_call(item, call)
    report.longrepr = (str(example.path), example.line, f"Skipped: {reason}")
    return report
