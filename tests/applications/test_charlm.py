"""Tests for coursekit.applications.charlm and coursekit.applications.transformer: the bigram model
against counts and the empirical conditional entropy, causal attention against its formula,
training, scoring and sampling."""

import itertools
import math
from collections import Counter

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from coursekit.applications.charlm import (
    BigramLM,
    CharVocab,
    course_text,
    cross_entropy_bits,
    perplexity,
    sample,
    train_char_lm,
)
from coursekit.applications.transformer import CharLMConfig, CharTransformer

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
            got = probs[vocab.chars.index(a), vocab.chars.index(b)].item()
            assert got == pytest.approx(expected, rel=1e-5)


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


def test_training_lowers_the_loss():
    vocab = CharVocab.from_text(TEXT)
    losses = train_char_lm(BigramLM(len(vocab)), vocab.encode(TEXT), steps=60, block_size=16,
                           lr=0.1, generator=torch.Generator().manual_seed(0))  # fmt: skip
    assert len(losses) == 60
    assert np.mean(losses[-10:]) < np.mean(losses[:10]) - 0.5


def test_train_rejects_text_shorter_than_a_window():
    with pytest.raises(ValueError, match="more than block_size"):
        train_char_lm(BigramLM(3), torch.tensor([0, 1, 2]), steps=1, block_size=8)


def test_sample_keeps_prompt_and_is_reproducible():
    torch.manual_seed(2)
    config = CharLMConfig(vocab_size=5, block_size=8, n_layer=1, n_head=2, n_embd=16)
    model = CharTransformer(config)
    prompt = torch.tensor([1, 2, 3])
    # 23 ids in all, beyond block_size
    first = sample(model, prompt, 20, generator=torch.Generator().manual_seed(5))
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
    generator = torch.Generator().manual_seed(0)
    out = sample(model, torch.tensor([0]), 50, temperature=0.01, generator=generator)
    assert torch.all(out[1:] == 1)


@pytest.mark.parametrize(
    ("prompt", "temperature", "message"),
    [(torch.tensor([], dtype=torch.long), 1.0, "prompt must be"),
     (torch.zeros(2, 2, dtype=torch.long), 1.0, "prompt must be"),
     (torch.tensor([0]), 0.0, "temperature must be a positive")],
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


def test_course_text_reads_one_file_or_refuses_a_missing_path(tmp_path):
    (tmp_path / "corpus.txt").write_text("just this", encoding="utf-8")
    assert course_text(tmp_path / "corpus.txt") == "just this"
    with pytest.raises(ValueError, match="path must be a text file or a folder"):
        course_text(tmp_path / "missing")


def test_the_packaged_text_holds_the_books_chapters():
    headings = {line for line in course_text().splitlines() if line.startswith("# ")}
    assert {"# Deep learning nowadays", "# Linear algebra", "# Training a network"} <= headings


def test_the_corpus_script_joins_the_chapters_but_not_the_reference_pages(tmp_path):
    from bookhooks import corpus

    docs = tmp_path / "docs"
    (docs / "reference").mkdir(parents=True)
    (docs / "b.md").write_text("# B", encoding="utf-8")
    (docs / "a.md").write_text("# A", encoding="utf-8")
    (docs / "reference" / "x.md").write_text("::: x", encoding="utf-8")
    assert corpus.write(docs, tmp_path / "out.md") == 2
    written = course_text(tmp_path / "out.md")
    assert written == "# A\n\n# B" == course_text(docs / "a.md") + "\n\n# B"


def test_decode_refuses_ids_outside_the_vocabulary():
    # a negative id used to count from the end of the vocabulary
    with pytest.raises(ValueError, match=r"ids must be classes in \[0, 3\)"):
        CharVocab.from_text("abc").decode([0, -1])


def test_cross_entropy_bits_refuses_a_zero_block_size():
    # used to escape as a ZeroDivisionError from the windowing
    with pytest.raises(ValueError, match="block_size must be a positive integer"):
        cross_entropy_bits(BigramLM(3), torch.tensor([0, 1, 2]), block_size=0)


def test_sample_refuses_ids_outside_the_models_vocabulary():
    with pytest.raises(ValueError, match=r"prompt must be classes in \[0, 3\)"):
        sample(BigramLM(3), torch.tensor([5]), 2)


def test_bigram_forward_refuses_a_negative_id():
    # indexing the table with -1 used to return the last character's row
    with pytest.raises(ValueError, match=r"idx must be character ids in \[0, 3\)"):
        BigramLM(3)(torch.tensor([[0, -1]]))
