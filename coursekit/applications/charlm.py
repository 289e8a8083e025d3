r"""Character-level language modelling: the text, a bigram baseline, training, scoring, sampling.

A language model gives the probability of text one symbol at a time,
$p(x_1, \dots, x_T) = \prod_t p(x_t \mid x_{<t})$. The bigram model here conditions on the last
character only; `coursekit.applications.transformer.CharTransformer` attends to a whole window
of them. Both map ids ``(B, T)`` to next-character logits ``(B, T, V)``, so the same functions
train, score (the cross entropy of held-out text in bits per character, $H$, and the perplexity
$2^H$) and sample from either.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from coursekit._validation import (
    as_tensor,
    class_indices,
    nonnegative,
    nonnegative_int,
    positive,
    positive_int,
)

__all__ = [
    "BigramLM", "CharVocab", "course_text", "cross_entropy_bits", "perplexity", "sample",
    "train_char_lm",
]  # fmt: skip

CORPUS = "data/course-text.md"  # inside this package; see bookhooks/corpus.py


def course_text(path: str | Path | None = None) -> str:
    """Text this project wrote itself, to train on: the book's chapters.

    With no ``path``, the text packaged with coursekit: the Markdown of the book's chapters
    as of this release, joined in sorted path order (``coursekit/applications/data/``,
    written by ``python -m bookhooks.corpus``), so it is the same for every reader and does not
    change as the book is edited. With ``path``, the Markdown files under that folder (searched
    recursively, joined in sorted path order) or that one text file.

    Args:
        path: a folder of ``*.md`` files or a text file; ``None`` for the packaged text.

    Returns:
        The text.

    Raises:
        ValueError: if ``path`` is not a path (or is ``""``), does not exist or holds no
            Markdown.

    Examples:
        >>> from coursekit.applications.charlm import course_text
        >>> text = course_text()
        >>> len(text) > 100_000
        True
    """
    if path is None:
        return resources.files("coursekit.applications").joinpath(CORPUS).read_text("utf-8")
    if not isinstance(path, (str, os.PathLike)) or path == "":  # Path("") would be the cwd
        raise ValueError(f"path must be a text file or a folder, got {path!r}")
    path = Path(path)
    if path.is_file():
        return path.read_text(encoding="utf-8")
    files = sorted(path.rglob("*.md")) if path.is_dir() else []
    if not files:
        raise ValueError(f"path must be a text file or a folder holding *.md files, got {path}")
    return "\n\n".join(f.read_text(encoding="utf-8") for f in files)


@dataclass(frozen=True)
class CharVocab:
    """The characters of a text, sorted, with their integer ids.

    Raises:
        ValueError: if ``chars`` is not a string of distinct characters.

    Examples:
        >>> from coursekit.applications.charlm import CharVocab
        >>> vocab = CharVocab.from_text("hello")
        >>> vocab.chars, vocab.encode("hole").tolist(), vocab.decode([3, 1])
        ('ehlo', [1, 3, 2, 0], 'oh')
    """

    chars: str

    def __post_init__(self):
        if not isinstance(self.chars, str) or len(set(self.chars)) != len(self.chars):
            raise ValueError(f"chars must be a string of distinct characters, got {self.chars!r}")

    @classmethod
    def from_text(cls, text: str) -> CharVocab:
        """The vocabulary of the distinct characters of ``text``.

        Raises:
            ValueError: if ``text`` is not a string.
        """
        return cls("".join(sorted(set(_text(text)))))

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> torch.Tensor:
        """Ids of the characters of ``text``, an int64 tensor.

        Raises:
            ValueError: if ``text`` is not a string or has a character outside the vocabulary.
        """
        text = _text(text)
        index = {c: i for i, c in enumerate(self.chars)}
        unknown = sorted(set(text) - index.keys())
        if unknown:
            raise ValueError(f"text must use only the vocabulary's characters, got {unknown[:5]!r}")
        return torch.tensor([index[c] for c in text], dtype=torch.long)

    def decode(self, ids: torch.Tensor | Sequence[int]) -> str:
        """The text spelled by a sequence of ids.

        Raises:
            ValueError: if ``ids`` is not 1-D integers in ``[0, len(self))``.
        """
        ids = as_tensor(ids, "ids")
        if ids.shape == (0,):  # an empty list arrives as float32
            return ""
        ids = class_indices(ids, "ids", num_classes=len(self))
        return "".join(self.chars[i] for i in ids.tolist())


def _text(text) -> str:
    if not isinstance(text, str):
        raise ValueError(f"text must be a string, got {type(text).__name__}")
    return text


def _ids(ids, name: str, model: nn.Module | None = None) -> torch.Tensor:
    """``ids`` as a 1-D long tensor of character ids, each below the model's ``vocab_size``
    when it has one (both models here do)."""
    ids = class_indices(as_tensor(ids, name), name, num_classes=getattr(model, "vocab_size", None))
    if ids.numel() and ids.min() < 0:
        raise ValueError(f"{name} must be nonnegative character ids, got {int(ids.min())}")
    return ids


def _model(model) -> nn.Module:
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    return model


def _generator(generator) -> torch.Generator | None:
    if generator is not None and not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be a torch.Generator or None, got {generator!r}")
    return generator


class BigramLM(nn.Module):
    r"""The bigram model $p(x_t \mid x_{t-1})$: a table of next-character logits per character.

    Args:
        vocab_size: number of characters $V$.

    Raises:
        ValueError: if ``vocab_size`` is not a positive integer.

    Examples:
        >>> import torch
        >>> from coursekit.applications.charlm import BigramLM, CharVocab
        >>> ids = CharVocab.from_text("abab").encode("abababab")
        >>> model = BigramLM.from_counts(ids, vocab_size=2, alpha=0.0)
        >>> model(torch.tensor([[0]])).softmax(-1).tolist()  # after 'a' always 'b'
        [[[0.0, 1.0]]]
    """

    context_size = 1

    def __init__(self, vocab_size: int):
        super().__init__()
        self.vocab_size = positive_int(vocab_size, "vocab_size")
        self.logits = nn.Parameter(torch.zeros(self.vocab_size, self.vocab_size))

    @classmethod
    def from_counts(cls, ids: torch.Tensor, vocab_size: int, alpha: float = 1.0) -> BigramLM:
        r"""The maximum-likelihood table with add-$\alpha$ smoothing.

        $p(b \mid a) \propto n_{ab} + \alpha$.

        Args:
            ids: the training text's character ids, 1-D; $n_{ab}$ counts the pairs ``(a, b)``
                of consecutive characters.
            vocab_size: number of characters $V$.
            alpha: pseudo-count added to every pair; 0 gives the plain maximum-likelihood table.

        Returns:
            A `BigramLM` whose logits are $\log p(b \mid a)$.

        Raises:
            ValueError: if ``vocab_size`` is not a positive integer, ``ids`` is not 1-D
                integers in ``[0, vocab_size)`` or ``alpha`` is negative.
        """
        vocab_size = positive_int(vocab_size, "vocab_size")
        ids = class_indices(as_tensor(ids, "ids"), "ids", num_classes=vocab_size)
        alpha = nonnegative(alpha, "alpha")
        pairs = torch.bincount(ids[:-1] * vocab_size + ids[1:], minlength=vocab_size**2)
        counts = pairs.reshape(vocab_size, vocab_size).double() + alpha  # (V, V): row a, column b
        model = cls(vocab_size)
        with torch.no_grad():
            # a character never followed by another (the text's last) gets a uniform row
            probs = (counts / counts.sum(1, keepdim=True)).nan_to_num(1 / vocab_size)
            model.logits.copy_(probs.log())
        return model

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        # indexing alone would read a negative id's row from the end of the table
        if idx.numel() and (idx.min() < 0 or idx.max() >= self.vocab_size):
            raise ValueError(f"idx must be character ids in [0, {self.vocab_size}), got values "
                             f"from {int(idx.min())} to {int(idx.max())}")
        return self.logits[idx]  # (B, T) -> (B, T, V)


def _windows(ids: torch.Tensor, block_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Consecutive non-overlapping inputs and next-character targets, each (N, block_size)."""
    if len(ids) <= block_size:
        raise ValueError(
            f"ids must hold more than block_size = {block_size} characters, got {len(ids)}"
        )
    n = (len(ids) - 1) // block_size * block_size
    return ids[:n].view(-1, block_size), ids[1 : n + 1].view(-1, block_size)


@torch.no_grad()
def cross_entropy_bits(model: nn.Module, ids: torch.Tensor, block_size: int = 64) -> float:
    r"""Cross entropy of a text under a model, in bits per character.

    $$
    H = -\frac{1}{N} \sum_{t=1}^N \log_2 p(x_t \mid x_{t-c}, \dots, x_{t-1})
    $$

    over consecutive windows of ``block_size`` characters (the context $c$ restarts at each
    window, so every model is scored on the same predictions).

    Args:
        model: maps ids ``(B, T)`` to logits ``(B, T, V)``.
        ids: the text's character ids, 1-D, longer than ``block_size``.
        block_size: window length; at most the model's context.

    Returns:
        $H$ in bits per character.

    Raises:
        ValueError: if ``model`` is not a module, ``ids`` is not 1-D character ids (below the
            model's ``vocab_size``) longer than ``block_size``, or ``block_size`` is not a
            positive integer.

    Examples:
        >>> import torch
        >>> from coursekit.applications.charlm import BigramLM, cross_entropy_bits
        >>> uniform = BigramLM(4)  # all logits zero: each character has probability 1/4
        >>> cross_entropy_bits(uniform, torch.tensor([0, 1, 2, 3] * 10), block_size=8)
        2.0
    """
    model, ids = _model(model), _ids(ids, "ids", model)
    x, y = _windows(ids, positive_int(block_size, "block_size"))
    was_training = model.training
    model.eval()
    nats = sum(
        F.cross_entropy(model(xb).flatten(0, 1), yb.flatten(), reduction="sum").item()
        for xb, yb in zip(x.split(256), y.split(256), strict=True)
    )
    model.train(was_training)
    return nats / y.numel() / math.log(2)


def perplexity(model: nn.Module, ids: torch.Tensor, block_size: int = 64) -> float:
    """Perplexity $2^H$: the number of equally likely characters that would be as surprising.

    Args:
        model: maps ids ``(B, T)`` to logits ``(B, T, V)``.
        ids: the text's character ids, 1-D, longer than ``block_size``.
        block_size: window length, as in `cross_entropy_bits`.

    Returns:
        $2^H$, with $H$ from `cross_entropy_bits`.

    Raises:
        ValueError: as `cross_entropy_bits` does.

    Examples:
        >>> import torch
        >>> from coursekit.applications.charlm import BigramLM, perplexity
        >>> ids = torch.tensor([0, 1, 2, 3, 4] * 4)
        >>> round(perplexity(BigramLM(5), ids, block_size=4), 4)
        5.0
    """
    return 2.0 ** cross_entropy_bits(model, ids, block_size)


def train_char_lm(
    model: nn.Module,
    ids: torch.Tensor,
    *,
    steps: int,
    batch_size: int = 32,
    block_size: int = 64,
    lr: float = 3e-3,
    generator: torch.Generator | None = None,
) -> list[float]:
    """Train a character model with AdamW on random windows of ``ids``; return the loss per step.

    Args:
        model: maps ids ``(B, T)`` to logits ``(B, T, V)``.
        ids: the training text's character ids, 1-D.
        steps: optimizer steps.
        batch_size: windows per step.
        block_size: characters per window.
        lr: AdamW learning rate.
        generator: draws the windows, for reproducible runs.

    Returns:
        The training cross entropy in nats of each step.

    Raises:
        ValueError: naming the argument, if ``model`` is not a module, ``ids`` is not 1-D
            character ids (below the model's ``vocab_size``) longer than ``block_size``,
            ``steps`` is negative, a size is not a positive integer, ``lr`` is negative, or
            ``generator`` is not a ``torch.Generator``.

    Examples:
        >>> import torch
        >>> from coursekit.applications.charlm import BigramLM, train_char_lm
        >>> ids = torch.tensor([0, 1, 2] * 50)
        >>> losses = train_char_lm(BigramLM(3), ids, steps=50, block_size=8, lr=0.3,
        ...                        generator=torch.Generator().manual_seed(0))
        >>> losses[0] > 1.0 > 0.1 > losses[-1]
        True
    """
    model, ids = _model(model), _ids(ids, "ids", model)
    steps, batch_size = nonnegative_int(steps, "steps"), positive_int(batch_size, "batch_size")
    block_size, lr = positive_int(block_size, "block_size"), nonnegative(lr, "lr")
    generator = _generator(generator)
    if len(ids) <= block_size:
        raise ValueError(
            f"ids must hold more than block_size = {block_size} characters, got {len(ids)}"
        )
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    offsets = torch.arange(block_size + 1)
    losses = []
    model.train()
    for _ in range(steps):
        starts = torch.randint(len(ids) - block_size, (batch_size, 1), generator=generator)
        chunk = ids[starts + offsets]  # (B, T + 1)
        logits = model(chunk[:, :-1])  # (B, T, V)
        loss = F.cross_entropy(logits.flatten(0, 1), chunk[:, 1:].flatten())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


@torch.no_grad()
def sample(
    model: nn.Module,
    prompt: torch.Tensor,
    n: int,
    *,
    temperature: float = 1.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Continue ``prompt`` by ``n`` characters, each drawn from the model's next-character softmax.

    Args:
        model: maps ids ``(B, T)`` to logits ``(B, T, V)``; its ``context_size`` (if any)
            bounds the context fed back.
        prompt: ids to start from, 1-D, at least one.
        n: characters to add.
        temperature: divides the logits; below 1 sharpens, above 1 flattens.
        generator: for reproducible draws.

    Returns:
        The prompt followed by the ``n`` new ids, 1-D.

    Raises:
        ValueError: naming the argument, if ``model`` is not a module, ``prompt`` is empty, not
            1-D or not character ids (below the model's ``vocab_size``), ``n`` is not a
            nonnegative integer, ``temperature`` is not a positive finite number, or
            ``generator`` is not a ``torch.Generator``.

    Examples:
        >>> import torch
        >>> from coursekit.applications.charlm import BigramLM, CharVocab, sample
        >>> vocab = CharVocab.from_text("ab")
        >>> ids = vocab.encode("abababab")
        >>> model = BigramLM.from_counts(ids, len(vocab), alpha=0.0)
        >>> generator = torch.Generator().manual_seed(0)
        >>> vocab.decode(sample(model, vocab.encode("a"), 5, generator=generator))
        'ababab'
    """
    model, prompt = _model(model), as_tensor(prompt, "prompt")
    if prompt.ndim != 1 or len(prompt) == 0:
        raise ValueError(
            f"prompt must be a non-empty 1-D tensor of ids, got shape {tuple(prompt.shape)}"
        )
    prompt = _ids(prompt, "prompt", model)
    n, temperature = nonnegative_int(n, "n"), positive(temperature, "temperature")
    generator = _generator(generator)
    was_training = model.training
    model.eval()
    context = getattr(model, "context_size", None)
    idx = prompt.clone()
    for _ in range(n):
        window = idx[-context:] if context else idx
        logits = model(window[None])[0, -1] / temperature  # (V,)
        idx = torch.cat([idx, torch.multinomial(logits.softmax(-1), 1, generator=generator)])
    model.train(was_training)
    return idx
