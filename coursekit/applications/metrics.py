r"""Evaluation metrics the applications chapter quotes: top-k error and word error rate.

ImageNet results are reported as top-1 and top-5 *error*: the share of images whose true class
is not among the model's $k$ best guesses. Speech recognition is scored by the *word error
rate*: the word-level edit distance between the reference transcript and the recognizer's
output, divided by the number of reference words.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import torch
from numpy.typing import ArrayLike

from coursekit._validation import (
    as_real_float,
    as_tensor,
    class_indices,
    finite,
    integer,
    matrix,
    nonempty,
)

__all__ = ["EditCounts", "topk_error", "word_edits", "word_error_rate"]


def topk_error(
    logits: torch.Tensor | ArrayLike, targets: torch.Tensor | ArrayLike, k: int = 1
) -> float:
    r"""Fraction of examples whose true class is not among the ``k`` highest scores.

    $$
    \operatorname{err}_k = \frac{1}{N} \sum_{i=1}^N
    \left[ y_i \notin \operatorname{top}_k(s_i) \right]
    $$

    where $s_i$ are the class scores (logits or probabilities: only their order matters) of
    example $i$ and $y_i$ its true class. Top-1 error is one minus accuracy.

    Args:
        logits: scores, shape ``(N, C)``; a NumPy array is converted.
        targets: true classes, shape ``(N,)``, integers in ``[0, C)``.
        k: how many guesses count, ``1 <= k <= C``.

    Returns:
        The error rate as a Python float in ``[0, 1]``.

    Raises:
        ValueError: if ``logits`` is not a finite 2-D array with at least one row, ``targets``
            is not ``N`` integers in ``[0, C)`` (floats and bools are refused), or ``k`` is not
            an integer in ``[1, C]``.

    Examples:
        >>> import torch
        >>> from coursekit.applications.metrics import topk_error
        >>> scores = torch.tensor([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2], [0.2, 0.3, 0.5]])
        >>> truth = torch.tensor([2, 0, 0])
        >>> topk_error(scores, truth, k=1), topk_error(scores, truth, k=2)
        (0.6667, 0.3333)
    """
    logits = finite(matrix(as_real_float(logits, "logits"), "logits"), "logits")
    n, c = logits.shape
    if n == 0:
        raise ValueError("logits must hold at least one example, got 0 rows")
    nonempty(logits, "logits")  # at least one class
    targets = class_indices(as_tensor(targets, "targets"), "targets", length=n, num_classes=c)
    k = integer(k, "k", minimum=1, maximum=c)
    top = logits.topk(k, dim=1).indices  # (N, k)
    hit = (top == targets[:, None]).any(dim=1)
    return 1.0 - hit.double().mean().item()


class EditCounts(NamedTuple):
    """The operations of one minimal word alignment (reference to hypothesis)."""

    substitutions: int
    deletions: int
    insertions: int
    reference_words: int


def _words(text: str | Sequence[str], name: str) -> list[str]:
    if isinstance(text, str):
        return text.split()
    if isinstance(text, Sequence) and all(isinstance(w, str) for w in text):
        return list(text)
    raise ValueError(f"{name} must be a string or a sequence of words, got {type(text).__name__}")


def word_edits(reference: str | Sequence[str], hypothesis: str | Sequence[str]) -> EditCounts:
    r"""Count substitutions, deletions and insertions in a minimal word alignment.

    The Levenshtein distance between the word sequences $r_{1..n}$ and $h_{1..m}$ by dynamic
    programming: $D_{i,0} = i$, $D_{0,j} = j$ and

    $$
    D_{i,j} = \min\left(D_{i-1,j} + 1,\; D_{i,j-1} + 1,\; D_{i-1,j-1} + [r_i \ne h_j]\right)
    $$

    then one path back from $D_{n,m}$ sorts its steps into substitutions (S), deletions of
    reference words (D) and insertions of extra words (I), with $S + D + I = D_{n,m}$.

    Args:
        reference: the true transcript, a string (split on whitespace) or a list of words.
        hypothesis: the recognizer's output, in the same form.

    Returns:
        An ``EditCounts(substitutions, deletions, insertions, reference_words)``.

    Raises:
        ValueError: if either argument is neither a string nor a sequence of strings.

    Examples:
        >>> from coursekit.applications.metrics import word_edits
        >>> word_edits("the cat sat on the mat", "the cat sat on mat")
        EditCounts(substitutions=0, deletions=1, insertions=0, reference_words=6)
    """
    ref, hyp = _words(reference, "reference"), _words(hypothesis, "hypothesis")
    saved = _savings_table(ref, hyp)
    sub = dele = ins = 0
    i, j = len(ref), len(hyp)
    while i or j:  # walk back along one optimal path, preferring (S), then (D), then (I)
        if i and j and saved[i, j] == saved[i - 1, j - 1] + 1 + (ref[i - 1] == hyp[j - 1]):
            sub += ref[i - 1] != hyp[j - 1]
            i, j = i - 1, j - 1
        elif i and saved[i, j] == saved[i - 1, j]:
            dele, i = dele + 1, i - 1
        else:
            ins, j = ins + 1, j - 1
    return EditCounts(int(sub), dele, ins, len(ref))


def _savings_table(ref: list[str], hyp: list[str]) -> np.ndarray:
    r"""The table $S_{i,j} = i + j - D_{i,j}$, shape ``(n + 1, m + 1)``, filled a row at a time.

    $S$ counts the edits a best alignment saves over deleting all $i$ reference words and
    inserting all $j$ hypothesis words: a match saves 2, a substitution 1. The recurrence of
    $D$ becomes $S_{i,0} = S_{0,j} = 0$ and

    $$
    S_{i,j} = \max\left(S_{i-1,j},\; S_{i,j-1},\; S_{i-1,j-1} + 1 + [r_i = h_j]\right)
    $$

    Two of the three terms read only the row above, so they are taken for every $j$ at once;
    the third chains along the row, and the maximum over that chain is a running maximum
    (``torch.cummax``: NumPy's ``maximum.accumulate`` is a plain loop, about three times
    slower). One Python step per row instead of one per pair of words; $S$ is symmetric in
    its two texts, so the shorter one gives the rows.
    """
    if len(hyp) < len(ref):
        return _savings_table(hyp, ref).T
    vocabulary: dict[str, int] = {}
    ref_ids = np.array([vocabulary.setdefault(w, len(vocabulary)) for w in ref], dtype=np.int64)
    hyp_ids = np.array([vocabulary.setdefault(w, len(vocabulary)) for w in hyp], dtype=np.int64)
    gain = 1 + (ref_ids[:, None] == hyp_ids[None, :]).astype(np.int8)  # (n, m): 1 + [r_i = h_j]
    # S <= 2n: the smallest integer type that holds it leaves less memory to fill
    dtype = np.int16 if 2 * len(ref) <= np.iinfo(np.int16).max else np.int32
    saved = np.zeros((len(ref) + 1, len(hyp) + 1), dtype=dtype)
    best = np.zeros(len(hyp) + 1, dtype=dtype)  # row i before the chain along it
    rows, best_t = torch.from_numpy(saved).unbind(0), torch.from_numpy(best)  # views, no copies
    arg = torch.empty(len(hyp) + 1, dtype=torch.int64)  # where each running maximum was found
    for i in range(1, len(ref) + 1):
        above = saved[i - 1]
        np.maximum(above[1:], above[:-1] + gain[i - 1], out=best[1:])
        torch.cummax(best_t, 0, out=(rows[i], arg))
    return saved


def word_error_rate(reference: str | Sequence[str], hypothesis: str | Sequence[str]) -> float:
    r"""Word error rate: word-level edit distance over the number of reference words.

    $$
    \mathrm{WER} = \frac{S + D + I}{N}
    $$

    with $S$, $D$, $I$ the substitutions, deletions and insertions of a minimal alignment
    (see `word_edits`) and $N$ the number of words in the reference. Insertions can make it
    exceed 1.

    Args:
        reference: the true transcript, a string (split on whitespace) or a list of words.
        hypothesis: the recognizer's output, in the same form.

    Returns:
        The word error rate as a Python float, at least 0.

    Raises:
        ValueError: if ``reference`` has no words (the rate is undefined), or an argument is
            neither a string nor a sequence of strings.

    Examples:
        >>> from coursekit.applications.metrics import word_error_rate
        >>> word_error_rate("the cat sat on the mat", "the cat sat on mat")
        0.1667
        >>> word_error_rate("", "hello")
        Traceback (most recent call last):
        ...
        ValueError: reference must contain at least one word, got ''
    """
    counts = word_edits(reference, hypothesis)
    if counts.reference_words == 0:
        raise ValueError(f"reference must contain at least one word, got {reference!r}")
    return (counts.substitutions + counts.deletions + counts.insertions) / counts.reference_words
