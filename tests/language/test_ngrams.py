"""Tests for coursekit.language.ngrams against brute-force counting in plain Python and against
scipy.stats.entropy."""

import math
from collections import Counter

import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

from coursekit.language.ngrams import NGramModel, count_ngrams

seeds = st.integers(0, 2**31 - 1)


def random_ids(seed: int, length: int, vocab: int) -> list[int]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, vocab, length).tolist()


def brute_force_prob(ids: list[int], h: tuple, w: int, vocab: int, alpha: float) -> float:
    """(c(h, w) + alpha) / (c(h) + alpha V), counting by scanning the list."""
    m = len(h) + 1
    joint = sum(tuple(ids[i:i + m]) == (*h, w) for i in range(len(ids) - m + 1))
    context = sum(tuple(ids[i:i + m - 1]) == h for i in range(len(ids) - m + 1))
    denominator = context + alpha * vocab
    return (joint + alpha) / denominator if denominator > 0 else 0.0


def test_count_ngrams_counts_every_window():
    assert count_ngrams("abcab", 2) == Counter({("a", "b"): 2, ("b", "c"): 1, ("c", "a"): 1})
    assert count_ngrams([1, 2], 3) == Counter()
    assert sum(count_ngrams(list(range(10)) * 3, 4).values()) == 27


@settings(max_examples=15, deadline=None)
@given(seeds, st.integers(0, 40), st.integers(1, 5), st.integers(1, 4))
def test_model_counts_match_plain_python_counts(seed, length, vocab, n):
    ids = random_ids(seed, length, vocab)
    model = NGramModel(n, vocab).fit(ids)
    for m in range(1, n + 1):
        counts = count_ngrams(ids, m)
        for gram in counts:
            assert model.count(gram) == counts[gram]
    assert model.count((0,) * n) == count_ngrams(ids, n)[(0,) * n]


@settings(max_examples=15, deadline=None)
@given(seeds, st.integers(1, 40), st.integers(1, 4), st.integers(1, 3),
       st.sampled_from([0.0, 0.1, 1.0]))
def test_smoothed_probs_match_brute_force_counts(seed, length, vocab, n, alpha):
    ids = random_ids(seed, length, vocab)
    model = NGramModel(n, vocab, alpha=alpha).fit(ids)
    context = tuple(random_ids(seed + 1, n - 1, vocab))
    expected = [brute_force_prob(ids, context, w, vocab, alpha) for w in range(vocab)]
    np.testing.assert_allclose(model.probs(list(context)).numpy(), expected, rtol=1e-12)
    if alpha > 0 or sum(expected) > 0:
        assert model.probs(list(context)).sum().item() == pytest.approx(1.0)


@settings(max_examples=15, deadline=None)
@given(seeds, st.integers(1, 40), st.integers(1, 4), st.integers(1, 3), st.integers(1, 3))
def test_interpolation_is_the_weighted_sum_of_the_orders(seed, length, vocab, n, k):
    ids = random_ids(seed, length, vocab)
    weights = np.random.default_rng(seed).dirichlet(np.ones(n)).tolist()
    mixed = NGramModel(n, vocab, alpha=0.5, lambdas=weights).fit(ids)
    orders = [NGramModel(m, vocab, alpha=0.5).fit(ids) for m in range(1, n + 1)]
    context = random_ids(seed + 2, n - 1 + k, vocab)
    expected = sum(w * model.probs(context) for w, model in zip(weights, orders, strict=True))
    np.testing.assert_allclose(mixed.probs(context).numpy(), expected.numpy(), rtol=1e-12,
                               atol=1e-15)


def test_unigram_cross_entropy_on_its_training_text_is_the_entropy():
    ids = random_ids(0, 500, 7)
    model = NGramModel(1, 7).fit(ids)
    counts = np.bincount(ids, minlength=7)
    assert model.cross_entropy(ids) == pytest.approx(scipy.stats.entropy(counts, base=2))


@settings(max_examples=10, deadline=None)
@given(seeds, st.integers(1, 4), st.integers(2, 3))
def test_cross_entropy_is_the_mean_code_length_of_each_token(seed, vocab, n):
    ids, held_out = random_ids(seed, 60, vocab), random_ids(seed + 1, 12, vocab)
    model = NGramModel(n, vocab, alpha=0.3).fit(ids)
    start = n
    bits = [-math.log2(model.probs(held_out[:t])[held_out[t]].item())
            for t in range(start, len(held_out))]
    assert model.cross_entropy(held_out, start=start) == pytest.approx(np.mean(bits))
    assert model.perplexity(held_out, start=start) == pytest.approx(2 ** np.mean(bits))


def test_unseen_ngram_gives_infinite_perplexity_until_smoothed():
    train, held_out = [0, 1, 2, 0, 1, 2], [0, 2, 1]
    assert NGramModel(2, 3).fit(train).perplexity(held_out) == math.inf
    assert math.isfinite(NGramModel(2, 3, alpha=1.0).fit(train).perplexity(held_out))
    interpolated = NGramModel(2, 3, lambdas=[0.2, 0.8]).fit(train)
    assert math.isfinite(interpolated.perplexity(held_out))


def test_a_uniform_model_has_perplexity_the_vocabulary_size():
    model = NGramModel(2, 5, alpha=1.0).fit([])  # no data: add-one gives 1/V everywhere
    assert model.perplexity([0, 3, 4, 1]) == pytest.approx(5.0)


def test_an_unfitted_model_is_refused():
    with pytest.raises(ValueError, match="fit"):
        NGramModel(2, 3).probs([0])
