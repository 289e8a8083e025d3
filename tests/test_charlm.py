"""Tests for coursekit.charlm and coursekit.transformer: the bigram model against counts and the
empirical conditional entropy, causal attention against its formula, training, scoring and
sampling."""

import inspect
import itertools
import math
from collections import Counter

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from coursekit import charlm
from coursekit.charlm import (
    BigramLM,
    CharVocab,
    course_text,
    cross_entropy_bits,
    perplexity,
    sample,
    train_char_lm,
)
from coursekit.transformer import CausalSelfAttention, CharLMConfig, CharTransformer

TEXT = "the cat sat on the mat. the dog sat on the log. " * 4


@settings(max_examples=25, deadline=None)
@given(st.text(min_size=1, max_size=40))
def test_vocab_decode_inverts_encode(text):
    vocab = CharVocab.from_text(text)
    assert vocab.decode(vocab.encode(text)) == text
    assert list(vocab.chars) == sorted(set(text))


def test_vocab_rejects_unknown_characters():
    with pytest.raises(ValueError, match="only the vocabulary's characters"):
        CharVocab.from_text("abc").encode("abd")


def test_bigram_from_counts_matches_normalized_pair_counts():
    vocab = CharVocab.from_text(TEXT)
    model = BigramLM.from_counts(vocab.encode(TEXT), len(vocab), alpha=0.5)
    pairs, firsts = Counter(itertools.pairwise(TEXT)), Counter(TEXT[:-1])
    probs = model.logits.softmax(-1)
    for a in vocab.chars:
        for b in vocab.chars:
            expected = (pairs[a, b] + 0.5) / (firsts[a] + 0.5 * len(vocab))
            assert probs[vocab.chars.index(a), vocab.chars.index(b)].item() == pytest.approx(expected, rel=1e-5)


def test_bigram_training_bits_equal_empirical_conditional_entropy():
    # with alpha = 0 the table is the empirical p(b | a), so its cross entropy on the same pairs
    # is the conditional entropy H(B | A) of the pair distribution
    text = TEXT[: 8 * 20 + 1]  # 160 pairs, 20 windows of 8
    vocab = CharVocab.from_text(text)
    ids = vocab.encode(text)
    joint = np.zeros((len(vocab), len(vocab)))
    np.add.at(joint, (ids[:-1].numpy(), ids[1:].numpy()), 1.0)
    joint /= joint.sum()
    cond = joint / joint.sum(axis=1, keepdims=True).clip(min=1e-300)
    expected = -np.sum(joint[joint > 0] * np.log2(cond[joint > 0]))
    model = BigramLM.from_counts(ids, len(vocab), alpha=0.0)
    assert cross_entropy_bits(model, ids, block_size=8) == pytest.approx(expected, rel=1e-5)


def test_uniform_model_needs_log2_vocabulary_bits():
    ids = torch.randint(0, 7, (200,), generator=torch.Generator().manual_seed(0))
    assert cross_entropy_bits(BigramLM(7), ids, block_size=16) == pytest.approx(math.log2(7))
    assert perplexity(BigramLM(7), ids, block_size=16) == pytest.approx(7.0)


def test_cross_entropy_bits_rejects_text_shorter_than_a_window():
    with pytest.raises(ValueError, match="more than block_size"):
        cross_entropy_bits(BigramLM(3), torch.tensor([0, 1, 2]), block_size=8)


def tiny_config(**overrides) -> CharLMConfig:
    return CharLMConfig(**{"vocab_size": 5, "block_size": 8, "n_layer": 1, "n_head": 2, "n_embd": 16, **overrides})


def test_causal_self_attention_matches_masked_softmax_formula():
    torch.manual_seed(0)
    config = tiny_config(n_embd=12, n_head=3)
    attention = CausalSelfAttention(config)
    x = torch.randn(2, 6, 12, dtype=torch.float64)
    attention = attention.double()
    q, k, v = attention.qkv(x).split(12, dim=2)
    q, k, v = (z.view(2, 6, 3, 4).transpose(1, 2) for z in (q, k, v))
    scores = q @ k.transpose(-2, -1) / 2.0  # sqrt(head size 4)
    scores = scores.masked_fill(torch.ones(6, 6, dtype=torch.bool).triu(1), float("-inf"))
    expected = attention.proj((scores.softmax(-1) @ v).transpose(1, 2).reshape(2, 6, 12))
    assert torch.allclose(attention(x), expected, atol=1e-12)


def test_transformer_logits_ignore_future_characters():
    torch.manual_seed(1)
    model = CharTransformer(tiny_config()).eval()
    idx = torch.randint(0, 5, (2, 8))
    changed = idx.clone()
    changed[:, 5:] = (changed[:, 5:] + 1) % 5
    with torch.no_grad():
        assert torch.allclose(model(idx)[:, :5], model(changed)[:, :5])
        assert not torch.allclose(model(idx)[:, 5:], model(changed)[:, 5:])


def test_transformer_rejects_context_longer_than_block_size():
    with pytest.raises(ValueError, match="at most block_size = 8"):
        CharTransformer(tiny_config())(torch.zeros(1, 9, dtype=torch.long))


def test_config_rejects_embedding_not_divisible_by_heads():
    with pytest.raises(ValueError, match="n_embd must be divisible by n_head"):
        CharTransformer(tiny_config(n_embd=10, n_head=3))


def test_transformer_learns_what_one_character_of_context_cannot():
    # "0 1 0 2" repeated: after a 0 comes 1 or 2, decided by the character before the 0, so the
    # best bigram model pays 1 bit at every other step; a model with more context pays nothing
    ids = torch.tensor([0, 1, 0, 2] * 100)
    bigram_bits = cross_entropy_bits(BigramLM.from_counts(ids, 3, alpha=0.0), ids, block_size=8)
    torch.manual_seed(0)
    model = CharTransformer(tiny_config(vocab_size=3))
    train_char_lm(model, ids, steps=150, batch_size=16, block_size=8, lr=1e-2, generator=torch.Generator().manual_seed(0))
    assert bigram_bits == pytest.approx(0.5, abs=0.01)
    assert cross_entropy_bits(model, ids, block_size=8) < 0.25


def test_training_lowers_the_loss():
    vocab = CharVocab.from_text(TEXT)
    losses = train_char_lm(BigramLM(len(vocab)), vocab.encode(TEXT), steps=60, block_size=16, lr=0.1,
                           generator=torch.Generator().manual_seed(0))  # fmt: skip
    assert len(losses) == 60
    assert np.mean(losses[-10:]) < np.mean(losses[:10]) - 0.5


def test_train_rejects_text_shorter_than_a_window():
    with pytest.raises(ValueError, match="more than block_size"):
        train_char_lm(BigramLM(3), torch.tensor([0, 1, 2]), steps=1, block_size=8)


def test_sample_keeps_prompt_and_is_reproducible():
    torch.manual_seed(2)
    model = CharTransformer(tiny_config())
    prompt = torch.tensor([1, 2, 3])
    first = sample(model, prompt, 20, generator=torch.Generator().manual_seed(5))  # beyond block_size
    second = sample(model, prompt, 20, generator=torch.Generator().manual_seed(5))
    assert len(first) == 23 and torch.equal(first[:3], prompt) and torch.equal(first, second)
    assert int(first.min()) >= 0 and int(first.max()) < 5


def test_sample_follows_a_deterministic_bigram_table():
    vocab = CharVocab.from_text("abc")
    model = BigramLM.from_counts(vocab.encode("abcabcabc"), 3, alpha=0.0)
    assert vocab.decode(sample(model, vocab.encode("b"), 6)) == "bcabcab"


def test_low_temperature_sampling_picks_the_most_likely_character():
    model = BigramLM(3)
    with torch.no_grad():
        model.logits.copy_(torch.tensor([[0.0, 1.0, 0.5]] * 3))
    out = sample(model, torch.tensor([0]), 50, temperature=0.01, generator=torch.Generator().manual_seed(0))
    assert torch.all(out[1:] == 1)


@pytest.mark.parametrize(
    ("prompt", "temperature", "message"),
    [(torch.tensor([], dtype=torch.long), 1.0, "prompt must be"), (torch.zeros(2, 2, dtype=torch.long), 1.0, "prompt must be"),
     (torch.tensor([0]), 0.0, "temperature must be positive")],
)  # fmt: skip
def test_sample_rejects_bad_input(prompt, temperature, message):
    with pytest.raises(ValueError, match=message):
        sample(BigramLM(3), prompt, 5, temperature=temperature)


def test_course_text_joins_markdown_in_sorted_order(tmp_path):
    (tmp_path / "b.md").write_text("second", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.md").write_text("third", encoding="utf-8")
    (tmp_path / "a.md").write_text("first", encoding="utf-8")
    (tmp_path / "ignored.txt").write_text("no", encoding="utf-8")
    assert course_text(tmp_path) == "first\n\nsecond\n\nthird"


def test_course_text_falls_back_to_docstrings_without_docs(tmp_path):
    text = course_text(tmp_path / "missing")
    assert len(text) > 5000
    assert inspect.getdoc(charlm) in text and inspect.getdoc(charlm.sample) in text


def test_course_text_reads_the_book_in_a_checkout():
    assert "# Deep learning nowadays" in course_text()
