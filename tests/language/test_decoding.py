"""Tests for coursekit.language.decoding: greedy against argmax, the filters against brute-force
counts and against transformers' warper rules (written out here, since transformers need not be
installed), and the draws' frequencies against the filtered softmax (a chi-square test)."""

import numpy as np
import pytest
import scipy.special
import scipy.stats
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from coursekit.language.decoding import next_token_probs, sample_token, top_k_filter, top_p_filter

seeds = st.integers(0, 2**31 - 1)


def random_logits(seed: int, batch: int, vocab: int, ties: bool = False) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    if ties:  # few distinct values, so that ties are common
        return torch.randint(0, 3, (batch, vocab), generator=generator).double()
    return 3 * torch.randn(batch, vocab, generator=generator, dtype=torch.float64)


def hf_top_p(scores: torch.Tensor, top_p: float) -> torch.Tensor:
    """transformers' ``TopPLogitsWarper.__call__`` (min_tokens_to_keep=1), as written there."""
    sorted_logits, sorted_indices = torch.sort(scores, descending=False)
    cumulative_probs = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
    sorted_indices_to_remove = cumulative_probs <= (1 - top_p)
    sorted_indices_to_remove[..., -1:] = 0
    indices_to_remove = sorted_indices_to_remove.scatter(1, sorted_indices,
                                                         sorted_indices_to_remove)
    return scores.masked_fill(indices_to_remove, -float("inf"))


@settings(max_examples=15, deadline=None)
@given(seeds, st.integers(1, 4), st.integers(1, 30), st.booleans())
def test_greedy_is_argmax_and_ignores_filters(seed, batch, vocab, ties):
    logits = random_logits(seed, batch, vocab, ties)
    expected = torch.from_numpy(np.argmax(logits.numpy(), axis=-1))  # NumPy: first maximum too
    assert torch.equal(sample_token(logits, temperature=0.0), expected)
    assert torch.equal(sample_token(logits, 0.0, top_k=2, top_p=0.3), expected)
    assert sample_token(logits[0], temperature=0.0) == expected[0]


@settings(max_examples=15, deadline=None)
@given(seeds, st.integers(1, 4), st.integers(1, 30), st.integers(1, 35), st.booleans())
def test_top_k_keeps_tokens_with_fewer_than_k_larger_logits(seed, batch, vocab, k, ties):
    logits = random_logits(seed, batch, vocab, ties)
    larger = (logits[:, None, :] > logits[:, :, None]).sum(-1)  # (B, V): how many beat each
    assert torch.equal(top_k_filter(logits, k).isfinite(), larger < k)
    kept = top_k_filter(logits, k)
    assert torch.equal(kept[kept.isfinite()], logits[kept.isfinite()])


@settings(max_examples=15, deadline=None)
@given(seeds, st.integers(1, 4), st.integers(2, 30), st.floats(0.01, 0.99))
def test_top_p_matches_transformers_rule_without_ties(seed, batch, vocab, p):
    logits = random_logits(seed, batch, vocab)
    assert torch.equal(top_p_filter(logits, p), hf_top_p(logits, p))


@settings(max_examples=15, deadline=None)
@given(seeds, st.integers(1, 4), st.integers(1, 30), st.floats(0.01, 1.0), st.booleans())
def test_top_p_keeps_tokens_whose_more_likely_mass_is_below_p(seed, batch, vocab, p, ties):
    logits = random_logits(seed, batch, vocab, ties)
    probs = scipy.special.softmax(logits.numpy(), axis=-1)
    more_likely = np.array([[row[row > x].sum() for x in row] for row in probs])
    kept = top_p_filter(logits, p).isfinite().numpy()
    assert np.array_equal(kept, (more_likely < p) | (p == 1.0))
    assert (probs * kept).sum(-1).min() >= min(p, 1.0) - 1e-12  # the kept mass reaches p


def test_top_p_keeps_the_boundary_token_and_its_ties():
    logits = torch.tensor([0.5, 0.25, 0.25]).log()
    assert top_p_filter(logits, 0.5).isfinite().tolist() == [True, False, False]
    assert top_p_filter(logits, 0.6).isfinite().tolist() == [True, True, True]


@settings(max_examples=15, deadline=None)
@given(seeds, st.integers(1, 3), st.integers(1, 20), st.floats(0.1, 5.0))
def test_probs_are_tempered_softmax_of_filtered_logits(seed, batch, vocab, temperature):
    logits = random_logits(seed, batch, vocab)
    expected = scipy.special.softmax(logits.numpy() / temperature, axis=-1)
    np.testing.assert_allclose(next_token_probs(logits, temperature).numpy(), expected,
                               rtol=1e-10, atol=1e-15)
    k = max(1, vocab // 2)
    filtered = top_p_filter(top_k_filter(logits / temperature, k), 0.8)
    np.testing.assert_allclose(
        next_token_probs(logits, temperature, top_k=k, top_p=0.8).numpy(),
        scipy.special.softmax(filtered.numpy(), axis=-1), rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("settings_", [
    {"temperature": 1.0}, {"temperature": 0.5, "top_k": 4}, {"temperature": 1.5, "top_p": 0.7},
    {"temperature": 1.0, "top_k": 6, "top_p": 0.9},
])
def test_draw_frequencies_match_filtered_softmax(settings_):
    logits = torch.randn(10, generator=torch.Generator().manual_seed(1))
    generator = torch.Generator().manual_seed(2)
    n = 5_000
    draws = sample_token(logits.expand(n, -1), generator=generator, **settings_)
    counts = torch.bincount(draws, minlength=10).double()
    probs = next_token_probs(logits, **settings_).double()
    assert bool((counts[probs == 0] == 0).all())  # filtered tokens are never drawn
    support = probs > 0
    expected = n * probs[support] / probs[support].sum()
    assert scipy.stats.chisquare(counts[support], expected).pvalue > 1e-3


def test_ruled_out_tokens_are_never_drawn():
    logits = torch.tensor([0.0, -float("inf"), 0.0, -float("inf")])
    draws = sample_token(logits.expand(1000, -1), generator=torch.Generator().manual_seed(0))
    assert set(draws.tolist()) == {0, 2}


def test_seeded_draws_are_deterministic_and_shaped():
    logits = torch.randn(3, 50, generator=torch.Generator().manual_seed(0))
    first = sample_token(logits, top_p=0.9, generator=torch.Generator().manual_seed(7))
    second = sample_token(logits, top_p=0.9, generator=torch.Generator().manual_seed(7))
    assert torch.equal(first, second)
    assert first.dtype == torch.long and first.shape == (3,)
    assert sample_token(logits[0]).shape == ()


def test_half_precision_logits_are_sampled_in_float32():
    logits = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float16)
    assert next_token_probs(logits).dtype == torch.float32
    assert sample_token(logits, temperature=0.0) == 2
