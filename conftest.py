"""pytest collects every ``python`` block in ``docs/**/*.md`` and every docstring example in
``coursekit/**/*.py`` through Sybil (configured in ``bookhooks/examples.py``), beside the unit
tests in ``tests/``."""

import os

import matplotlib
import pytest

matplotlib.use("Agg")  # examples draw figures; no display is ever needed

from bookhooks.examples import ROOT, chapters, docstrings  # noqa: E402
from coursekit.figures import FIGURE_DIR_ENV  # noqa: E402

# Figures the examples save land where the site build picks them up (git ignores .cache/).
os.environ.setdefault(FIGURE_DIR_ENV, str(ROOT / ".cache" / "figures"))

pytest_collect_file = (chapters + docstrings).pytest()


def _share_the_cores_between_workers() -> None:
    """Give each pytest-xdist worker its share of the cores, unless OMP_NUM_THREADS says otherwise.

    torch (and NumPy's BLAS) start one thread per core in every worker; two workers on two cores
    then run four threads that spin waiting for each other, which doubles the CPU time of the
    examples.
    """
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if workers > 1 and "OMP_NUM_THREADS" not in os.environ:
        import threadpoolctl
        import torch

        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        share = max(1, (cores or 1) // workers)
        torch.set_num_threads(share)
        threadpoolctl.threadpool_limits(share)


_share_the_cores_between_workers()


@pytest.hookimpl(optionalhook=True)  # a pytest-xdist hook: only with -n
def pytest_xdist_make_scheduler(config, log):
    """Under ``--dist loadfile``, each chapter's notebook run is a unit of work of its own
    (``bookhooks/scheduling.py``); every other file stays whole on one worker."""
    if config.getvalue("dist") != "loadfile":
        return None
    from bookhooks.scheduling import NotebooksApartScheduling

    return NotebooksApartScheduling(config, log)


def pytest_runtest_makereport(item, call):
    """Report a skipped example at its page and line, not inside pytest's unittest shim."""
    from unittest import SkipTest

    example = getattr(item, "example", None)
    skipped = (SkipTest, pytest.skip.Exception)
    if example is None or call.excinfo is None or not call.excinfo.errisinstance(skipped):
        return None
    reason = getattr(call.excinfo.value, "msg", None) or str(call.excinfo.value)
    report = pytest.TestReport.from_item_and_call(item, call)
    report.longrepr = (str(example.path), example.line, f"Skipped: {reason}")
    return report
