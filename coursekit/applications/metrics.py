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
        ValueError: if ``logits`` is not 2-D, ``targets`` does not match it, a target is out of
            range, or ``k`` is not in ``[1, C]``.

    Examples:
        >>> import torch
        >>> from coursekit.applications.metrics import topk_error
        >>> scores = torch.tensor([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2], [0.2, 0.3, 0.5]])
        >>> truth = torch.tensor([2, 0, 0])
        >>> topk_error(scores, truth, k=1), topk_error(scores, truth, k=2)
        (0.6667, 0.3333)
    """
    logits = torch.as_tensor(logits)
    targets = torch.as_tensor(targets)
    if logits.ndim != 2:
        raise ValueError(f"logits must have shape (N, C), got shape {tuple(logits.shape)}")
    n, c = logits.shape
    if targets.shape != (n,):
        raise ValueError(
            f"targets must have shape ({n},) to match logits, got shape {tuple(targets.shape)}"
        )
    if targets.is_floating_point() or targets.is_complex():
        raise ValueError(f"targets must hold integer class indices, got dtype {targets.dtype}")
    if n == 0:
        raise ValueError("logits must hold at least one example, got 0 rows")
    if targets.min() < 0 or targets.max() >= c:
        raise ValueError(
            f"targets must lie in [0, {c}), "
            f"got values in [{int(targets.min())}, {int(targets.max())}]"
        )
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= c:
        raise ValueError(f"k must be an integer in [1, {c}], got {k!r}")
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
