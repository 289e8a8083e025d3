r"""A small decoder-only transformer over characters, in the layout of nanoGPT.

Self-attention (Vaswani et al., 2017) lets every position mix information from every other; a
causal mask restricts position $t$ to positions $\le t$, so the model can be trained to predict
each next character of a window at once, as GPT does for words. The layout follows Karpathy's
nanoGPT: a config dataclass and small modules composed into a bigger one, here the attention
and the block of `coursekit.blocks.attention`. Train, score and sample it with the functions
of `coursekit.applications.charlm`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
from torch import nn

from coursekit._validation import nonnegative_int, positive_int, probability
from coursekit.blocks.attention import MultiHeadAttention, TransformerBlock

__all__ = ["Block", "CausalSelfAttention", "CharLMConfig", "CharTransformer"]


@dataclass
class CharLMConfig:
    """Sizes of a `CharTransformer`; the defaults are small enough to train on a CPU.

    Raises:
        ValueError: naming the field, if a size is not a positive integer (``n_layer`` may be
            0), ``n_embd`` is not divisible by ``n_head``, or ``dropout`` is not in ``[0, 1]``.

    Examples:
        >>> from coursekit.applications.transformer import CharLMConfig
        >>> CharLMConfig(vocab_size=30, n_head=0)
        Traceback (most recent call last):
        ...
        ValueError: n_head must be a positive integer, got 0
    """

    vocab_size: int
    block_size: int = 64  # the longest context, in characters
    n_layer: int = 2
    n_head: int = 4
    n_embd: int = 64
    dropout: float = 0.0

    def __post_init__(self):
        for name in ("vocab_size", "block_size", "n_head", "n_embd"):
            setattr(self, name, positive_int(getattr(self, name), name))
        self.n_layer = nonnegative_int(self.n_layer, "n_layer")
        self.dropout = probability(self.dropout, "dropout")
        if self.n_embd % self.n_head:
            raise ValueError(
                f"n_embd must be divisible by n_head, got {self.n_embd} and {self.n_head}"
            )


def _check(config: CharLMConfig) -> None:
    """Check ``config`` again, as each module is built: a dataclass can be changed after it is
    made."""
    if not isinstance(config, CharLMConfig):
        raise ValueError(f"config must be a CharLMConfig, got {type(config).__name__}")
    try:
        dataclasses.replace(config)  # runs __post_init__'s checks on a copy
    except ValueError as err:
        raise ValueError(f"config is not valid: {err}") from err


class CausalSelfAttention(MultiHeadAttention):
    r"""Multi-head self-attention in which position $t$ attends to positions $\le t$ only.

    Each head computes $\operatorname{softmax}(Q K^\top / \sqrt{d} + M) V$ with $M_{ts} = -\infty$
    for $s > t$, $d$ the head size ``n_embd / n_head``: a
    `coursekit.blocks.attention.MultiHeadAttention` whose query, key and value are the input,
    with ``is_causal=True``. ``qkv`` maps the input to $Q, K, V$ stacked, ``proj`` is the output
    map.

    Args:
        config: the sizes; ``n_embd`` must be divisible by ``n_head``.

    Raises:
        ValueError: if ``config`` is not a valid `CharLMConfig`, e.g. ``n_embd`` is not
            divisible by ``n_head``.

    Examples:
        >>> import torch
        >>> from coursekit.applications.transformer import (
        ...     CausalSelfAttention, CharLMConfig,
        ... )
        >>> config = CharLMConfig(vocab_size=10, n_embd=8, n_head=2)
        >>> attention = CausalSelfAttention(config)
        >>> x = torch.randn(1, 5, 8)
        >>> changed = x.clone()
        >>> changed[:, 3:] += 1.0  # change the last two positions
        >>> # the first three positions ignore the last two
        >>> torch.allclose(attention(x)[:, :3], attention(changed)[:, :3])
        True
    """

    def __init__(self, config: CharLMConfig):
        _check(config)
        super().__init__(config.n_embd, config.n_head, dropout=config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x, x, x, is_causal=True)  # (B, T, C)


class Block(TransformerBlock):
    """A transformer block: causal attention then an MLP, each on a layer-normed residual stream.

    A `coursekit.blocks.attention.TransformerBlock` of the config's sizes (MLP four times as
    wide), whose attention is causal.

    Raises:
        ValueError: if ``config`` is not a valid `CharLMConfig`.

    Examples:
        >>> import torch
        >>> from coursekit.applications.transformer import Block, CharLMConfig
        >>> block = Block(CharLMConfig(vocab_size=10, n_embd=8, n_head=2))
        >>> tuple(block(torch.zeros(3, 5, 8)).shape)
        (3, 5, 8)
    """

    def __init__(self, config: CharLMConfig):
        _check(config)
        super().__init__(config.n_embd, config.n_head, mlp_ratio=4, dropout=config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x, is_causal=True)  # (B, T, C)


class CharTransformer(nn.Module):
    """A decoder-only transformer over characters: token and position embeddings, blocks, head.

    Args:
        config: the sizes, a `CharLMConfig`.

    Raises:
        ValueError: if ``config`` is not a valid `CharLMConfig`; from ``forward``, if the
            input is longer than ``config.block_size``.

    Examples:
        >>> import torch
        >>> from coursekit.applications.transformer import CharLMConfig, CharTransformer
        >>> model = CharTransformer(CharLMConfig(vocab_size=30, block_size=16))
        >>> tuple(model(torch.zeros(2, 16, dtype=torch.long)).shape)  # (B, T, V)
        (2, 16, 30)
    """

    def __init__(self, config: CharLMConfig):
        super().__init__()
        _check(config)
        self.config, self.context_size = config, config.block_size
        self.vocab_size = config.vocab_size  # lets the charlm functions check ids against it
        self.tok_emb = nn.Embedding(config.vocab_size, config.n_embd)
        self.pos_emb = nn.Embedding(config.block_size, config.n_embd)
        self.blocks = nn.Sequential(*(Block(config) for _ in range(config.n_layer)))
        self.ln_f = nn.LayerNorm(config.n_embd)
        self.head = nn.Linear(config.n_embd, config.vocab_size)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        T = idx.shape[1]
        if T > self.config.block_size:
            raise ValueError(
                f"idx must have at most block_size = {self.config.block_size} steps, got {T}"
            )
        x = self.tok_emb(idx) + self.pos_emb(torch.arange(T, device=idx.device))  # (B, T, C)
        return self.head(self.ln_f(self.blocks(x)))  # (B, T, V)
