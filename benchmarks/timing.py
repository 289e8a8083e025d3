"""Timing ours against a library's, alternating: shared by `linalg.py` and `blocks.py`."""

from __future__ import annotations

import time
from collections.abc import Callable


def race(ours: Callable, theirs: Callable, repeats: int) -> tuple[float, object, float, object]:
    """Best wall time of ``repeats`` calls of each, alternating so both see the same machine load;
    with the last result of each."""
    t_ours, t_theirs = [], []
    for _ in range(repeats):
        for fn, times in ((ours, t_ours), (theirs, t_theirs)):
            start = time.perf_counter()
            out = fn()
            times.append(time.perf_counter() - start)
            if fn is ours:
                out_ours = out
            else:
                out_theirs = out
    return min(t_ours), out_ours, min(t_theirs), out_theirs
