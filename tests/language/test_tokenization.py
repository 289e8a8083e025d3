"""Tests for coursekit.language.tokenization against tiktoken: its educational BPE trainer
(``tiktoken._educational``), its GPT-2 pattern, and GPT-2's published token ids."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import regex
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from tiktoken._educational import SimpleBytePairEncoding, bpe_train
from tiktoken_ext.openai_public import r50k_pat_str

from coursekit.applications.charlm import course_text
from coursekit.language.tokenization import (
    GPT2_PATTERN,
    BPETokenizer,
    gpt2_encoding,
    train_bpe,
)

RANKS = Path(sys.prefix) / "share" / "coursekit" / "gpt2.tiktoken"
needs_ranks = pytest.mark.skipif(not RANKS.is_file(),
                                 reason="GPT-2's ranks are not installed: run make install")
SAMPLE = course_text()[:20_000]
BOOK = train_bpe(SAMPLE, 512)
# few letters, so that pairs repeat and counts tie
small_texts = st.text(alphabet="ab c\n'1é", max_size=60)


def apply_merges_in_order(merges: dict[tuple[int, int], int], text: str) -> list[int]:
    """The reference encoder: each merge in turn, replaced left to right in every chunk."""
    out = []
    for chunk in regex.findall(r50k_pat_str, text):
        ids = list(chunk.encode("utf-8"))
        for (a, b), new in merges.items():
            merged, i = [], 0
            while i < len(ids):
                if ids[i:i + 2] == [a, b]:
                    merged.append(new)
                    i += 2
                else:
                    merged.append(ids[i])
                    i += 1
            ids = merged
        out += ids
    return out


def test_pattern_is_tiktokens_gpt2_pattern():
    assert GPT2_PATTERN == r50k_pat_str


@settings(max_examples=100, deadline=None)
@given(st.text())
def test_decode_inverts_encode_on_any_unicode_text(text):
    assert BOOK.decode(BOOK.encode(text)) == text


@settings(max_examples=50, deadline=None)
@given(st.text(max_size=80), st.integers(256, 320))
def test_a_tokenizer_round_trips_its_own_training_text(text, vocab_size):
    tok = train_bpe(text, vocab_size)
    assert tok.decode(tok.encode(text)) == text


@settings(max_examples=100, deadline=None)
@given(small_texts, st.integers(256, 300))
def test_merges_match_tiktoken_educational_trainer(text, vocab_size):
    tok = train_bpe(text, vocab_size)
    # two merges may spell the same bytes, which tiktoken's bytes-keyed ranks cannot hold
    assume(len(set(tok.vocab.values())) == tok.vocab_size)
    expected = bpe_train(text, tok.vocab_size, r50k_pat_str, visualise=None)
    assert list({b: i for i, b in tok.vocab.items()}.items()) == list(expected.items())


def test_merges_and_encodings_match_tiktoken_educational_on_the_book():
    text, held_out = SAMPLE[:12_000], SAMPLE[12_000:]
    tok = train_bpe(text, 256 + 100)
    ranks = bpe_train(text, 256 + 100, r50k_pat_str, visualise=None)
    assert {b: i for i, b in tok.vocab.items()} == ranks
    educational = SimpleBytePairEncoding(pat_str=r50k_pat_str, mergeable_ranks=ranks)
    for s in (text, held_out):
        assert tok.encode(s) == educational.encode(s, visualise=None)


@settings(max_examples=100, deadline=None)
@given(small_texts, small_texts, st.integers(256, 300))
def test_encode_equals_applying_the_merges_in_order(train, text, vocab_size):
    tok = train_bpe(train, vocab_size)
    assert tok.encode(text) == apply_merges_in_order(tok.merges, text)
    assert tok.encode(train) == apply_merges_in_order(tok.merges, train)


def test_encode_of_held_out_book_text_equals_applying_the_merges_in_order():
    held_out = course_text()[20_000:22_000]
    assert BOOK.encode(held_out) == apply_merges_in_order(BOOK.merges, held_out)


def test_vocab_size_is_honoured_and_each_token_joins_its_pair():
    assert BOOK.vocab_size == len(BOOK.vocab) == 512
    assert list(BOOK.merges.values()) == list(range(256, 512))
    for (a, b), new in BOOK.merges.items():
        assert BOOK.vocab[new] == BOOK.vocab[a] + BOOK.vocab[b]
    assert train_bpe(SAMPLE, 256).merges == {}


def test_training_stops_when_every_chunk_is_one_token():
    tok = train_bpe("abc abc", 1000)  # chunks "abc" and " abc"
    assert [tok.vocab[i] for i in tok.merges.values()] == [b"ab", b"abc", b" abc"]
    assert tok.encode("abc abc") == [257, 258]


def test_ties_go_to_the_pair_seen_first():
    assert list(train_bpe("xy ab ab xy", 257).merges) == [(120, 121)]
    assert list(train_bpe("ab xy ab xy", 257).merges) == [(97, 98)]


def test_decode_replaces_a_split_character():
    ids = BOOK.encode("東")
    assert len(ids) == 3 and BOOK.decode(ids[:1]) == "\ufffd"


def test_merges_never_cross_chunks():
    tok = train_bpe("a b " * 50, 300)  # chunks "a", " b", " a", ..., " "
    assert tok.vocab_size < 300
    assert all(b" " not in token[1:] for token in tok.vocab.values())


def test_tokenizer_is_rebuilt_from_its_merges():
    again = BPETokenizer(dict(BOOK.merges))
    assert again == BOOK and again.vocab == BOOK.vocab
    with pytest.raises(AttributeError):
        BOOK.merges = {}


@needs_ranks
def test_gpt2_encoding_gives_published_ids():
    enc = gpt2_encoding()
    assert enc.n_vocab == 50257
    assert enc.encode("hello world") == [31373, 995]
    assert enc.encode("Hello, world!") == [15496, 11, 995, 0]
    assert enc.encode("<|endoftext|>", allowed_special="all") == [50256]
    assert gpt2_encoding(RANKS) is gpt2_encoding(str(RANKS))


@needs_ranks
def test_gpt2_encoding_splits_as_our_pattern():
    text = course_text()[:3000]
    enc = gpt2_encoding()
    pieces = [enc.decode_single_token_bytes(i) for i in enc.encode_ordinary(text)]
    chunks = [c.encode("utf-8") for c in regex.findall(GPT2_PATTERN, text)]
    joined, k = [], 0
    for chunk in chunks:  # every chunk is a whole number of GPT-2's tokens
        piece = b""
        while piece != chunk:
            piece += pieces[k]
            k += 1
        joined.append(piece)
    assert joined == chunks and k == len(pieces)
