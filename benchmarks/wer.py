"""Benchmark: ``word_edits`` (the word error rate's alignment) against the pure-Python double loop
it replaced.

Same process, same transcripts: a 3,000-word reference drawn from a 500-word vocabulary, and a
3,000-word hypothesis made from it by substituting 10% of the words, deleting 5% and inserting
as many, like a recognizer's output. Printed: the best-of-``REPEATS`` wall time of each
(the old loop is run once: it takes seconds), their ratio, and whether the two return the same
``EditCounts``. Target: under 50 ms for 3,000 against 3,000 words.

Run with ``python benchmarks/wer.py``.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

import numpy as np

# measure the package of this checkout, not whichever copy the environment has installed
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from coursekit.applications import metrics  # noqa: E402
from coursekit.applications.metrics import EditCounts, word_edits  # noqa: E402

WORDS = 3_000
REPEATS = 7


def double_loop_word_edits(ref: list[str], hyp: list[str]) -> EditCounts:
    """The first implementation: the Levenshtein table filled one cell at a time in Python."""
    n, m = len(ref), len(hyp)
    d = np.zeros((n + 1, m + 1), dtype=np.int64)
    d[:, 0] = np.arange(n + 1)
    d[0, :] = np.arange(m + 1)
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            d[i, j] = min(
                d[i - 1, j] + 1, d[i, j - 1] + 1, d[i - 1, j - 1] + (ref[i - 1] != hyp[j - 1])
            )
    sub = dele = ins = 0
    i, j = n, m
    while i or j:  # walk back along one optimal path
        if i and j and d[i, j] == d[i - 1, j - 1] + (ref[i - 1] != hyp[j - 1]):
            sub += ref[i - 1] != hyp[j - 1]
            i, j = i - 1, j - 1
        elif i and d[i, j] == d[i - 1, j] + 1:
            dele, i = dele + 1, i - 1
        else:
            ins, j = ins + 1, j - 1
    return EditCounts(int(sub), dele, ins, n)


def transcripts(seed: int = 0) -> tuple[list[str], list[str]]:
    """A reference and a recognizer-like hypothesis of the same length."""
    rng = random.Random(seed)
    vocabulary = [f"w{k}" for k in range(500)]
    reference = [rng.choice(vocabulary) for _ in range(WORDS)]
    hypothesis = [rng.choice(vocabulary) if rng.random() < 0.10 else w for w in reference]
    for _ in range(WORDS // 20):  # 5% deletions and as many insertions
        del hypothesis[rng.randrange(len(hypothesis))]
        hypothesis.insert(rng.randrange(len(hypothesis) + 1), rng.choice(vocabulary))
    return reference, hypothesis


def main() -> None:
    reference, hypothesis = transcripts()
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        counts = word_edits(reference, hypothesis)
        times.append(time.perf_counter() - start)
    start = time.perf_counter()
    expected = double_loop_word_edits(reference, hypothesis)
    old = time.perf_counter() - start
    new = min(times)
    print(f"word_edits ({metrics.__file__}), {len(reference):,} against "
          f"{len(hypothesis):,} words")
    print(f"  row-vectorised table: {1e3 * new:8.1f} ms (best of {REPEATS})")
    print(f"  Python double loop:   {1e3 * old:8.1f} ms (once)")
    print(f"  ratio old / new:      {old / new:8.0f}x")
    print(f"  same counts: {counts == expected}  {counts}")
    print(f"  target < 50 ms: {'met' if new < 0.050 else 'missed'}")


if __name__ == "__main__":
    main()
