"""Tests for coursekit.applications.metrics: top-k error against a NumPy count, WER against edit
distances worked by hand and by a plain recursive definition."""

import itertools
from functools import cache

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from coursekit.applications.metrics import topk_error, word_edits, word_error_rate


def naive_topk_error(scores: np.ndarray, targets: np.ndarray, k: int) -> float:
    """The true class is in the top k when fewer than k classes score strictly higher."""
    true_scores = scores[np.arange(len(targets)), targets]
    higher = (scores > true_scores[:, None]).sum(axis=1)
    return float(np.mean(higher >= k))


@pytest.mark.parametrize("k", [1, 2, 5, 10])
def test_topk_error_matches_numpy_count(k):
    rng = np.random.default_rng(k)
    scores = rng.normal(size=(200, 10))
    targets = rng.integers(0, 10, size=200)
    got = topk_error(torch.from_numpy(scores), torch.from_numpy(targets), k)
    assert got == pytest.approx(naive_topk_error(scores, targets, k))


def test_topk_error_accepts_numpy_arrays():
    scores = np.array([[0.0, 1.0], [1.0, 0.0]])
    assert topk_error(scores, np.array([1, 1]), 1) == pytest.approx(0.5)


def test_topk_error_is_zero_when_k_is_number_of_classes():
    scores = torch.randn(50, 4, generator=torch.Generator().manual_seed(0))
    targets = torch.randint(0, 4, (50,), generator=torch.Generator().manual_seed(1))
    assert topk_error(scores, targets, 4) == 0.0


def test_topk_error_never_increases_with_k():
    gen = torch.Generator().manual_seed(2)
    scores, targets = torch.randn(300, 8, generator=gen), torch.randint(0, 8, (300,), generator=gen)
    errors = [topk_error(scores, targets, k) for k in range(1, 9)]
    assert all(a >= b for a, b in itertools.pairwise(errors))


def test_top1_error_is_one_minus_accuracy():
    gen = torch.Generator().manual_seed(3)
    scores, targets = torch.randn(100, 5, generator=gen), torch.randint(0, 5, (100,), generator=gen)
    accuracy = (scores.argmax(1) == targets).double().mean().item()
    assert topk_error(scores, targets, 1) == pytest.approx(1 - accuracy)


@pytest.mark.parametrize(
    ("logits", "targets", "k", "message"),
    [
        (torch.zeros(3), torch.zeros(3, dtype=torch.long), 1, r"logits must be a matrix \(2-D\)"),
        (torch.zeros(3, 4), torch.zeros(2, dtype=torch.long), 1, "targets must have shape"),
        (torch.zeros(3, 4), torch.zeros(3), 1, "integer class indices"),
        (torch.zeros(3, 4), torch.tensor([0, 4, 1]), 1, r"targets must be classes in \[0, 4\)"),
        (torch.zeros(3, 4), torch.zeros(3, dtype=torch.long), 0, "k must be an integer"),
        (torch.zeros(3, 4), torch.zeros(3, dtype=torch.long), 5, "k must be an integer"),
        (torch.zeros(0, 4), torch.zeros(0, dtype=torch.long), 1, "at least one example"),
    ],
)
def test_topk_error_rejects_bad_input(logits, targets, k, message):
    with pytest.raises(ValueError, match=message):
        topk_error(logits, targets, k)


@pytest.mark.parametrize(
    ("reference", "hypothesis", "expected"),
    [
        # worked by hand: (S, D, I)
        ("the cat sat on the mat", "the cat sat on the mat", (0, 0, 0)),
        ("the cat sat on the mat", "the cat sat on mat", (0, 1, 0)),
        ("the cat sat on the mat", "the cat sat on the the mat", (0, 0, 1)),
        ("the cat sat on the mat", "the dog sat on the hat", (2, 0, 0)),
        ("a b c", "", (0, 3, 0)),
        ("a b", "x a b y", (0, 0, 2)),
        ("recognize speech", "wreck a nice beach", (2, 0, 2)),
    ],
)
def test_word_edits_match_hand_worked_alignments(reference, hypothesis, expected):
    counts = word_edits(reference, hypothesis)
    assert (counts.substitutions, counts.deletions, counts.insertions) == expected
    rate = sum(expected) / len(reference.split())
    assert word_error_rate(reference, hypothesis) == pytest.approx(rate)


def recursive_edit_distance(a: tuple, b: tuple) -> int:
    @cache
    def dist(i: int, j: int) -> int:
        if i == 0 or j == 0:
            return i + j
        return min(
            dist(i - 1, j) + 1, dist(i, j - 1) + 1, dist(i - 1, j - 1) + (a[i - 1] != b[j - 1])
        )

    return dist(len(a), len(b))


words = st.lists(st.sampled_from(["a", "b", "c", "d"]), max_size=8)


@settings(max_examples=50, deadline=None)
@given(words.filter(bool), words)
def test_word_error_rate_is_recursive_edit_distance_over_reference_length(reference, hypothesis):
    expected = recursive_edit_distance(tuple(reference), tuple(hypothesis)) / len(reference)
    assert word_error_rate(reference, hypothesis) == pytest.approx(expected)


@settings(max_examples=50, deadline=None)
@given(words, words)
def test_word_edits_account_for_both_lengths(reference, hypothesis):
    counts = word_edits(reference, hypothesis)
    # every reference word is matched, substituted or deleted; every hypothesis word is
    # matched, substituted or inserted
    assert len(reference) - counts.deletions == len(hypothesis) - counts.insertions


def test_word_error_rate_can_exceed_one():
    assert word_error_rate("yes", "no no no") == pytest.approx(3.0)


def test_word_error_rate_splits_strings_on_any_whitespace():
    assert word_error_rate("a  b\tc\n", ["a", "b", "c"]) == 0.0


@pytest.mark.parametrize(
    ("reference", "hypothesis", "message"),
    [
        ("", "a", "reference must contain at least one word"),
        ("   ", "", "reference must contain at least one word"),
        (42, "a", "reference must be a string or a sequence of words"),
        ("a", ["a", 1], "hypothesis must be a string or a sequence of words"),
    ],
)
def test_word_error_rate_rejects_bad_input(reference, hypothesis, message):
    with pytest.raises(ValueError, match=message):
        word_error_rate(reference, hypothesis)


def test_topk_error_refuses_bool_targets():
    # bools used to pass as the classes 0 and 1
    with pytest.raises(ValueError, match="targets must hold integer class indices"):
        topk_error(torch.zeros(2, 3), torch.tensor([True, False]))


def test_topk_error_refuses_nan_scores():
    # topk sorts nan above every number, so a nan score used to count as the best guess
    with pytest.raises(ValueError, match="logits must be finite"):
        topk_error(torch.tensor([[0.0, float("nan")]]), torch.tensor([1]))


def original_word_edits(ref: list[str], hyp: list[str]) -> tuple[int, int, int]:
    """The first implementation, a Python double loop: the counts must stay exactly its own."""
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
    while i or j:
        if i and j and d[i, j] == d[i - 1, j - 1] + (ref[i - 1] != hyp[j - 1]):
            sub += ref[i - 1] != hyp[j - 1]
            i, j = i - 1, j - 1
        elif i and d[i, j] == d[i - 1, j] + 1:
            dele, i = dele + 1, i - 1
        else:
            ins, j = ins + 1, j - 1
    return int(sub), dele, ins


few_words = st.lists(st.sampled_from(["a", "b", "c"]), max_size=25)  # many ties between paths


@settings(max_examples=200, deadline=None)
@given(few_words, few_words)
def test_word_edits_choose_the_same_alignment_as_the_original_loop(reference, hypothesis):
    counts = word_edits(reference, hypothesis)
    got = (counts.substitutions, counts.deletions, counts.insertions)
    assert got == original_word_edits(reference, hypothesis)
    assert counts.reference_words == len(reference)
