r"""Byte-level byte pair encoding (BPE): train a tokenizer on text, encode and decode with it.

The chapter "Tokenization" (``docs/language/tokenization.md``) teaches what this module
implements. A byte-level tokenizer starts from the 256 byte values, so that any Unicode string
(as its UTF-8 bytes) can be written down, and learns merges: training repeatedly takes the most
frequent pair of adjacent tokens in the text and makes it a new token (Sennrich et al. 2016,
"Neural machine translation of rare words with subword units", on characters; Radford et al.
2019, "Language models are unsupervised multitask learners" (GPT-2), on bytes). The text is
first split into chunks by GPT-2's regular expression (words with their leading space, runs of
digits, of punctuation, of whitespace), and no merge crosses a chunk's boundary.

A tokenizer of vocabulary size $V$ has $V - 256$ merges; token $256 + k$ is the $k$-th merge.
Encoding a chunk applies the merges in the order they were learned, which is how training
itself split the text; decoding joins the tokens' bytes.

`gpt2_encoding` gives GPT-2's own tokenizer (50,257 tokens), as ``tiktoken`` runs it, from a
ranks file that ``make install`` puts in the virtual environment, to compare against.
"""

from __future__ import annotations

import hashlib
import numbers
import sys
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import pairwise
from pathlib import Path

import regex

from coursekit._validation import integer

__all__ = ["GPT2_PATTERN", "BPETokenizer", "train_bpe", "gpt2_encoding"]

# GPT-2's chunking, as tiktoken writes it (tiktoken_ext.openai_public.r50k_pat_str): the same
# matches as the original release's pattern, with possessive quantifiers to run faster.
GPT2_PATTERN = (
    r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s"""
)
# sha256 of GPT-2's ranks in tiktoken's format, as tiktoken pins it (r50k_base)
GPT2_RANKS_SHA256 = "306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930"


def _compile(pattern) -> regex.Pattern:
    if not isinstance(pattern, str):
        raise ValueError(f"pattern must be a regular expression (str), "
                         f"got {type(pattern).__name__}")
    try:
        return regex.compile(pattern)
    except regex.error as err:
        raise ValueError(f"pattern must be a valid regular expression, got {pattern!r}: "
                         f"{err}") from err


def _text(text) -> str:
    if not isinstance(text, str):
        raise ValueError(f"text must be a str, got {type(text).__name__}")
    return text


def _merge(ids: list[int], pair: tuple[int, int], new_id: int) -> list[int]:
    """``ids`` with each occurrence of ``pair``, read left to right, replaced by ``new_id``."""
    out, i = [], 0
    while i < len(ids):
        if i + 1 < len(ids) and ids[i] == pair[0] and ids[i + 1] == pair[1]:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


@dataclass(frozen=True)
class BPETokenizer:
    """A byte-level BPE tokenizer: the byte values 0..255 and merges learned on top of them.

    Args:
        merges: ``(left_id, right_id) -> new_id`` in the order learned; the $k$-th merge makes
            token ``256 + k`` out of two tokens that exist before it.
        pattern: the regular expression that splits text into chunks before merging
            (`GPT2_PATTERN` by default); encode with the pattern the merges were trained with.

    Attributes:
        vocab: ``id -> bytes`` for every token, ``len(vocab) = 256 + len(merges)``.

    Raises:
        ValueError: if ``merges`` does not map pairs of known ids to ``256, 257, ...`` in
            order, or ``pattern`` is not a regular expression.

    Examples:
        >>> from coursekit.language.tokenization import BPETokenizer
        >>> tok = BPETokenizer({(104, 105): 256})  # b"h" + b"i"
        >>> tok.vocab[256], tok.encode("hi hi"), tok.decode([256, 32, 256])
        (b'hi', [256, 32, 256], 'hi hi')
    """

    merges: dict[tuple[int, int], int] = field(repr=False)
    pattern: str = field(default=GPT2_PATTERN, repr=False)
    vocab: dict[int, bytes] = field(init=False, repr=False, compare=False)
    _regex: regex.Pattern = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        merges = self.merges if isinstance(self.merges, dict) else None
        vocab = {i: bytes([i]) for i in range(256)}
        for k, (pair, new_id) in enumerate((merges or {}).items()):
            ok = (isinstance(pair, tuple) and len(pair) == 2 and new_id == 256 + k
                  and all(_is_int(i) and 0 <= i < len(vocab) for i in pair)
                  and _is_int(new_id))
            if not ok:
                merges = None
                break
            vocab[256 + k] = vocab[pair[0]] + vocab[pair[1]]
        if merges is None:
            raise ValueError("merges must map pairs of known ids to 256, 257, ... in order, "
                             f"got {_short(self.merges)}")
        object.__setattr__(self, "merges", {(int(a), int(b)): int(i)
                                            for (a, b), i in merges.items()})
        object.__setattr__(self, "_regex", _compile(self.pattern))
        object.__setattr__(self, "vocab", vocab)

    @property
    def vocab_size(self) -> int:
        """The number of tokens, ``256 + len(merges)``."""
        return len(self.vocab)

    def __repr__(self) -> str:
        return f"BPETokenizer(vocab_size={self.vocab_size})"

    def _encode_chunk(self, chunk: bytes) -> list[int]:
        ids = list(chunk)
        while len(ids) > 1:
            # the pair learned first is merged first: new ids grow with the merges' order
            pair = min(pairwise(ids), key=lambda p: self.merges.get(p, sys.maxsize))
            if pair not in self.merges:
                break
            ids = _merge(ids, pair, self.merges[pair])
        return ids

    def encode(self, text: str) -> list[int]:
        """The token ids of ``text``: each chunk's UTF-8 bytes, merged in the learned order.

        Raises:
            ValueError: if ``text`` is not a ``str``.
        """
        cache: dict[str, list[int]] = {}  # chunks repeat: words, spaces
        ids: list[int] = []
        for chunk in self._regex.findall(_text(text)):
            if chunk not in cache:
                cache[chunk] = self._encode_chunk(chunk.encode("utf-8"))
            ids += cache[chunk]
        return ids

    def decode(self, ids) -> str:
        """The text of token ids: their bytes joined and read as UTF-8.

        ``decode(encode(s)) == s`` for every string ``s``. An arbitrary list of ids may cut a
        character's bytes apart; such bytes decode as U+FFFD (``errors="replace"``).

        Raises:
            ValueError: if ``ids`` is not a sequence of integer ids in ``[0, vocab_size)``.
        """
        try:
            items = None if isinstance(ids, (str, bytes)) else list(ids)
        except TypeError:
            items = None
        if items is None or not all(_is_int(i) and 0 <= i < self.vocab_size for i in items):
            raise ValueError(f"ids must be a sequence of integer ids in "
                             f"[0, {self.vocab_size}), got {_short(ids)}")
        return b"".join(self.vocab[int(i)] for i in items).decode("utf-8", errors="replace")


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _pair_counts(word: list[int]) -> Counter:
    return Counter(pairwise(word))


def train_bpe(text: str, vocab_size: int, pattern: str = GPT2_PATTERN) -> BPETokenizer:
    r"""Learn byte-level BPE merges on ``text`` until the vocabulary has ``vocab_size`` tokens.

    The text is split into chunks by ``pattern`` and counted: training works on the table of
    distinct chunks and their frequencies, each chunk a list of ids (its UTF-8 bytes at
    first). Each step counts the pairs of adjacent ids, overlapping ones included, weighted by
    frequency, makes the most frequent pair a new token and replaces it, left to right, in
    every chunk that holds it; only those chunks' pair counts are updated.

    Ties are broken by position: among pairs with the highest count, the one that occurs
    first in the text (as split by the merges so far) wins. This is the rule tiktoken's
    educational trainer (``tiktoken._educational.bpe_train``) follows, since its ``max`` over
    a ``Counter`` keeps the pair counted first, so the merges are the same as its merges.

    Training stops early, with fewer than ``vocab_size`` tokens, when every chunk is a single
    token and nothing is left to merge.

    Args:
        text: the training text.
        vocab_size: the number of tokens wanted, at least 256 (the bytes).
        pattern: the regular expression that splits the text into chunks.

    Returns:
        The trained `BPETokenizer`.

    Raises:
        ValueError: if ``text`` is not a ``str``, ``vocab_size`` is not an integer of at least
            256 or ``pattern`` is not a regular expression.

    Examples:
        >>> from coursekit.language.tokenization import train_bpe
        >>> tok = train_bpe("low lower lowest", vocab_size=258)
        >>> [tok.vocab[i] for i in tok.merges.values()]
        [b'lo', b'low']
        >>> tok.encode("slow"), tok.decode(tok.encode("slow"))
        ([115, 257], 'slow')
    """
    text = _text(text)
    vocab_size = integer(vocab_size, "vocab_size", minimum=256)
    chunks = Counter(_compile(pattern).findall(text))  # in order of first occurrence
    words = [list(chunk.encode("utf-8")) for chunk in chunks]
    freqs = list(chunks.values())
    stats: Counter = Counter()  # pair -> its count in the text
    where: dict[tuple[int, int], set[int]] = {}  # pair -> the words holding it
    for w, word in enumerate(words):
        for pair, n in _pair_counts(word).items():
            stats[pair] += n * freqs[w]
            where.setdefault(pair, set()).add(w)

    def first_seen(pair: tuple[int, int]) -> tuple[int, int]:
        w = min(where[pair])
        word = words[w]
        return w, next(i for i in range(len(word) - 1) if (word[i], word[i + 1]) == pair)

    merges: dict[tuple[int, int], int] = {}
    for new_id in range(256, vocab_size):
        if not stats:
            break
        top = max(stats.values())
        tied = [pair for pair, n in stats.items() if n == top]
        best = tied[0] if len(tied) == 1 else min(tied, key=first_seen)
        merges[best] = new_id
        for w in sorted(where[best]):
            old = _pair_counts(words[w])
            words[w] = _merge(words[w], best, new_id)
            new = _pair_counts(words[w])
            for pair, n in old.items():
                stats[pair] -= n * freqs[w]
                if pair not in new:
                    where[pair].discard(w)
                if not stats[pair]:
                    del stats[pair], where[pair]
            for pair, n in new.items():
                stats[pair] += n * freqs[w]
                where.setdefault(pair, set()).add(w)
    return BPETokenizer(merges, pattern)


@lru_cache(maxsize=4)
def _gpt2_encoding(path: str | None):
    import tiktoken
    from tiktoken.load import load_tiktoken_bpe

    if path is None:
        return tiktoken.get_encoding("gpt2")
    ranks = load_tiktoken_bpe(path, expected_hash=GPT2_RANKS_SHA256)
    return tiktoken.Encoding(name="gpt2", pat_str=GPT2_PATTERN, mergeable_ranks=ranks,
                             special_tokens={"<|endoftext|>": 50256}, explicit_n_vocab=50257)


def gpt2_encoding(path: str | Path | None = None):
    """GPT-2's tokenizer as ``tiktoken`` runs it: 50,257 tokens, the last ``<|endoftext|>``.

    Built from GPT-2's ranks in tiktoken's file format (base64 bytes and rank on each line),
    checked against the sha256 tiktoken pins for them. ``make install`` puts that file at
    ``<venv>/share/coursekit/gpt2.tiktoken``, out of the ``openai-whisper`` sdist on PyPI, so
    nothing is downloaded when the book runs. Needs ``tiktoken`` (a test dependency).

    Args:
        path: the ranks file; ``None`` for the one ``make install`` wrote in this Python's
            environment (``sys.prefix``), or, where there is none, ``tiktoken.get_encoding
            ("gpt2")``, which downloads GPT-2's vocabulary from OpenAI at first use (on a
            reader's laptop that is online) and caches it.

    Returns:
        A ``tiktoken.Encoding``; the same object on every call with the same ``path``.

    Raises:
        ValueError: if ``path`` is given but is not an existing file, or its sha256 is not
            that of GPT-2's ranks.

    Examples:
        >>> from coursekit.language.tokenization import gpt2_encoding
        >>> enc = gpt2_encoding()
        >>> enc.encode("hello world"), enc.n_vocab
        ([31373, 995], 50257)
    """
    if path is None:
        default = Path(sys.prefix) / "share" / "coursekit" / "gpt2.tiktoken"
        return _gpt2_encoding(str(default) if default.is_file() else None)
    if not isinstance(path, (str, Path)) or not Path(path).is_file():
        raise ValueError(f"path must be an existing ranks file, got {path!r}")
    data = Path(path).read_bytes()
    if hashlib.sha256(data).hexdigest() != GPT2_RANKS_SHA256:
        raise ValueError(f"path must hold GPT-2's ranks (sha256 {GPT2_RANKS_SHA256[:12]}...), "
                         f"got a file with another sha256: {path}")
    return _gpt2_encoding(str(Path(path).resolve()))
