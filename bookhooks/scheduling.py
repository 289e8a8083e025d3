"""How ``pytest -n 2 --dist loadfile`` (``make test``) shares the tests between its workers.

``loadfile`` keeps a file's tests on one worker, which a page's examples need: they share one
namespace, top to bottom. But the kernel runs of the chapters' notebooks (one test per chapter,
each 5-20 s in its own kernel, independent of the others) all sit in one file, and on one worker
they were the longest stretch of ``make test``. Here each of them is a unit of work of its own,
so both workers take them.
"""

from __future__ import annotations

from xdist.scheduler import LoadFileScheduling

# The node id of each chapter's kernel run starts with this (tests/book/test_notebooks.py).
ONE_UNIT_EACH = "tests/book/test_notebooks.py::test_the_chapters_notebook_runs_in_a_kernel"


class NotebooksApartScheduling(LoadFileScheduling):
    """``loadfile``, except that each chapter's notebook run is scheduled on its own."""

    def _split_scope(self, nodeid: str) -> str:
        return nodeid if nodeid.startswith(ONE_UNIT_EACH) else nodeid.split("::", 1)[0]
