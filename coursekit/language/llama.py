r"""Llama 2 (Touvron et al. 2023, "Llama 2: open foundation and fine-tuned chat models").

The chapter "Llama 2" (``docs/language/llama.md``) teaches what this module implements: a
decoder-only transformer built from this package's blocks. Each of its ``n_layers`` blocks is
pre-norm, with RMS normalization (`coursekit.blocks.normalization.RMSNorm`), causal attention
whose queries and keys are rotated by their positions (rotary embeddings,
`coursekit.blocks.positions.apply_rotary`) and whose key/value heads may be shared by groups of
query heads (grouped-query attention), and a SwiGLU MLP,
$W_2\,(\operatorname{SiLU}(W_1 x) \odot W_3 x)$. The weights are named as in Hugging Face's
``LlamaForCausalLM`` (``q_proj``, ``gate_proj``, ...), so that `from_hf_llama` copies them one
to one. A `KVCache` keeps the keys and values of the tokens seen, so that generating a token
costs one position's work instead of the whole sequence's
(`coursekit.language.kv_cache`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from coursekit._validation import (
    as_tensor,
    boolean,
    nonnegative,
    nonnegative_int,
    positive,
    positive_int,
)
from coursekit.blocks.attention import scaled_dot_product_attention
from coursekit.blocks.normalization import RMSNorm
from coursekit.blocks.positions import apply_rotary
from coursekit.language.kv_cache import KVCache

__all__ = ["LlamaConfig", "LLAMA2_CONFIGS", "swiglu_hidden_dim", "parameter_count", "Llama"]


def swiglu_hidden_dim(dim: int, multiple_of: int = 256,
                      ffn_dim_multiplier: float | None = None) -> int:
    r"""The SwiGLU width of Meta's Llama code: $\frac{2}{3} \cdot 4\,\mathrm{dim}$ (times
    ``ffn_dim_multiplier``), rounded up to a multiple of ``multiple_of``.

    Two thirds of the classic $4\,\mathrm{dim}$, since SwiGLU has three matrices where the
    classic MLP has two: the parameter count stays about $8\,\mathrm{dim}^2$.

    Examples:
        >>> from coursekit.language.llama import swiglu_hidden_dim
        >>> swiglu_hidden_dim(4096), swiglu_hidden_dim(8192, 4096, 1.3)  # 7B, 70B
        (11008, 28672)
    """
    dim, multiple_of = positive_int(dim, "dim"), positive_int(multiple_of, "multiple_of")
    hidden = int(2 * 4 * dim / 3)
    if ffn_dim_multiplier is not None:
        hidden = int(positive(ffn_dim_multiplier, "ffn_dim_multiplier") * hidden)
    return multiple_of * math.ceil(hidden / multiple_of)


@dataclass(frozen=True)
class LlamaConfig:
    """The sizes of a Llama model.

    Args:
        vocab_size: the number of tokens.
        dim: the width of the residual stream, divisible by ``n_heads``.
        n_layers: the number of blocks.
        n_heads: the query heads; each has ``head_dim = dim // n_heads`` features (even).
        n_kv_heads: the key/value heads, dividing ``n_heads`` (``None``: ``n_heads``, full
            multi-head attention; 1: multi-query attention; between: grouped-query).
        hidden_dim: the SwiGLU width (``None``: `swiglu_hidden_dim` of ``dim``).
        max_seq_len: the most positions the model runs on (the context length).
        rope_theta: the base $\\theta$ of the rotary embeddings' frequencies.
        norm_eps: the RMS norms' $\\epsilon$.
        tie_embeddings: whether the output layer shares the token embedding's weight.

    Raises:
        ValueError: naming the field, if a size is not a positive integer, ``dim`` is not
            divisible by ``n_heads`` into an even ``head_dim``, ``n_heads`` not by
            ``n_kv_heads``, ``rope_theta`` is not positive or ``norm_eps`` negative.

    Examples:
        >>> from coursekit.language.llama import LlamaConfig
        >>> config = LlamaConfig(vocab_size=100, dim=64, n_layers=2, n_heads=4,
        ...                      n_kv_heads=2)
        >>> config.head_dim, config.hidden_dim
        (16, 256)
    """

    vocab_size: int
    dim: int
    n_layers: int
    n_heads: int
    n_kv_heads: int | None = None
    hidden_dim: int | None = None
    max_seq_len: int = 4096
    rope_theta: float = 10000.0
    norm_eps: float = 1e-5
    tie_embeddings: bool = False

    def __post_init__(self):
        for name in ("vocab_size", "dim", "n_layers", "n_heads", "max_seq_len"):
            object.__setattr__(self, name, positive_int(getattr(self, name), name))
        n_kv = self.n_heads if self.n_kv_heads is None else positive_int(self.n_kv_heads,
                                                                         "n_kv_heads")
        hidden = (swiglu_hidden_dim(self.dim) if self.hidden_dim is None
                  else positive_int(self.hidden_dim, "hidden_dim"))
        if self.dim % self.n_heads or (self.dim // self.n_heads) % 2:
            raise ValueError(f"dim must be divisible by n_heads into an even head_dim (the "
                             f"rotary embedding pairs features), got {self.dim} and "
                             f"{self.n_heads}")
        if self.n_heads % n_kv:
            raise ValueError(f"n_heads must be divisible by n_kv_heads, got {self.n_heads} "
                             f"and {n_kv}")
        object.__setattr__(self, "n_kv_heads", n_kv)
        object.__setattr__(self, "hidden_dim", hidden)
        object.__setattr__(self, "rope_theta", positive(self.rope_theta, "rope_theta"))
        object.__setattr__(self, "norm_eps", nonnegative(self.norm_eps, "norm_eps"))
        object.__setattr__(self, "tie_embeddings", boolean(self.tie_embeddings,
                                                           "tie_embeddings"))

    @property
    def head_dim(self) -> int:
        return self.dim // self.n_heads


# Meta's released params.json and Hugging Face's configs for Llama 2; the paper's table 1
# gives the sizes 7B, 13B, 70B, the context length 4k and grouped-query attention for 70B.
LLAMA2_CONFIGS = {
    "7B": LlamaConfig(32000, 4096, 32, 32, hidden_dim=11008),
    "13B": LlamaConfig(32000, 5120, 40, 40, hidden_dim=13824),
    "70B": LlamaConfig(32000, 8192, 80, 64, n_kv_heads=8, hidden_dim=28672),
}


def parameter_count(config: LlamaConfig) -> int:
    r"""The number of parameters of ``Llama(config)``, from the sizes alone.

    With $V$ tokens, width $d$, $L$ blocks, $H$ query and $G$ key/value heads of $d_h$
    features and SwiGLU width $h$: the embedding $V d$ (and as much again for an untied output
    layer), per block $2 d H d_h + 2 d G d_h$ in attention, $3 d h$ in the MLP and $2d$ in the
    two norms, and $d$ in the final norm.

    Examples:
        >>> from coursekit.language.llama import LLAMA2_CONFIGS, parameter_count
        >>> round(parameter_count(LLAMA2_CONFIGS["7B"]) / 1e9, 1)
        6.7
    """
    if not isinstance(config, LlamaConfig):
        raise ValueError(f"config must be a LlamaConfig, got {type(config).__name__}")
    d, hd = config.dim, config.head_dim
    attention = 2 * d * config.n_heads * hd + 2 * d * config.n_kv_heads * hd
    block = attention + 3 * d * config.hidden_dim + 2 * d
    embeddings = config.vocab_size * d * (1 if config.tie_embeddings else 2)
    return embeddings + config.n_layers * block + d


class Attention(nn.Module):
    """Causal self-attention with rotary positions and grouped key/value heads."""

    def __init__(self, config: LlamaConfig):
        super().__init__()
        self.config = config
        H, G, hd = config.n_heads, config.n_kv_heads, config.head_dim
        self.q_proj = nn.Linear(config.dim, H * hd, bias=False)
        self.k_proj = nn.Linear(config.dim, G * hd, bias=False)
        self.v_proj = nn.Linear(config.dim, G * hd, bias=False)
        self.o_proj = nn.Linear(H * hd, config.dim, bias=False)

    def forward(self, x, positions, cache: KVCache | None, layer: int, start_pos: int):
        B, T, _ = x.shape
        H, G, hd = self.config.n_heads, self.config.n_kv_heads, self.config.head_dim
        q = self.q_proj(x).view(B, T, H, hd).transpose(1, 2)  # (B, H, T, hd)
        k = self.k_proj(x).view(B, T, G, hd).transpose(1, 2)  # (B, G, T, hd)
        v = self.v_proj(x).view(B, T, G, hd).transpose(1, 2)
        q = apply_rotary(q, positions, self.config.rope_theta)
        k = apply_rotary(k, positions, self.config.rope_theta)
        if cache is not None:
            k, v = cache.update(layer, start_pos, k, v)  # (B, G, S, hd), S = start_pos + T
        S = k.shape[2]
        # query head h uses key/value head h // (H / G): broadcast each over its group
        q = q.reshape(B, G, H // G, T, hd)
        k, v = k[:, :, None], v[:, :, None]  # (B, G, 1, S, hd)
        if S == T:
            y = scaled_dot_product_attention(q, k, v, is_causal=True)
        elif T == 1:  # one new position, after every cached one: it sees them all
            y = scaled_dot_product_attention(q, k, v)
        else:  # query i sits at position start_pos + i and sees keys up to it
            mask = torch.arange(S, device=x.device) <= torch.arange(
                start_pos, start_pos + T, device=x.device)[:, None]  # (T, S)
            y = scaled_dot_product_attention(q, k, v, mask)  # (B, G, H / G, T, hd)
        y = y.reshape(B, H, T, hd).transpose(1, 2).reshape(B, T, H * hd)
        return self.o_proj(y)  # (B, T, dim)


class SwiGLU(nn.Module):
    """The MLP $W_2\\,(\\operatorname{SiLU}(W_1 x) \\odot W_3 x)$ (Shazeer 2020)."""

    def __init__(self, dim: int, hidden_dim: int):
        super().__init__()
        self.gate_proj = nn.Linear(dim, hidden_dim, bias=False)  # W_1
        self.up_proj = nn.Linear(dim, hidden_dim, bias=False)  # W_3
        self.down_proj = nn.Linear(hidden_dim, dim, bias=False)  # W_2

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Block(nn.Module):
    """A pre-norm block: $x + \\operatorname{Attn}(\\operatorname{RMSNorm}(x))$, then
    $x + \\operatorname{SwiGLU}(\\operatorname{RMSNorm}(x))$."""

    def __init__(self, config: LlamaConfig):
        super().__init__()
        self.attn_norm = RMSNorm(config.dim, config.norm_eps)
        self.attn = Attention(config)
        self.mlp_norm = RMSNorm(config.dim, config.norm_eps)
        self.mlp = SwiGLU(config.dim, config.hidden_dim)

    def forward(self, x, positions, cache, layer, start_pos):
        x = x + self.attn(self.attn_norm(x), positions, cache, layer, start_pos)
        return x + self.mlp(self.mlp_norm(x))  # (B, T, dim)


class Llama(nn.Module):
    r"""The Llama 2 model: token embedding, ``n_layers`` pre-norm blocks, a final RMS norm and
    a linear map to the logits.

    Weights are drawn as Hugging Face's ``LlamaForCausalLM`` draws them, from
    $\mathcal{N}(0, 0.02^2)$ (the norms' scales start at 1).

    Args:
        config: the sizes.

    Raises:
        ValueError: if ``config`` is not a `LlamaConfig`; from ``forward``, naming the
            argument, if ``ids`` is not ``(B, T)`` token ids, ``start_pos`` is not a
            nonnegative integer, the positions run past ``max_seq_len``, or ``cache`` does not
            fit the model, the batch or ``start_pos``.

    Examples:
        >>> import torch
        >>> from coursekit.language.llama import Llama, LlamaConfig, parameter_count
        >>> _ = torch.manual_seed(0)
        >>> config = LlamaConfig(100, 64, n_layers=2, n_heads=4, n_kv_heads=2,
        ...                      hidden_dim=128)
        >>> model = Llama(config)
        >>> ids = torch.randint(0, 100, (3, 10))
        >>> tuple(model(ids).shape)  # (B, T, vocab_size)
        (3, 10, 100)
        >>> sum(p.numel() for p in model.parameters()) == parameter_count(config)
        True
    """

    def __init__(self, config: LlamaConfig):
        super().__init__()
        if not isinstance(config, LlamaConfig):
            raise ValueError(f"config must be a LlamaConfig, got {type(config).__name__}")
        self.config = config
        self.embed_tokens = nn.Embedding(config.vocab_size, config.dim)
        self.layers = nn.ModuleList(Block(config) for _ in range(config.n_layers))
        self.norm = RMSNorm(config.dim, config.norm_eps)
        self.lm_head = nn.Linear(config.dim, config.vocab_size, bias=False)
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, std=0.02)
        if config.tie_embeddings:
            self.lm_head.weight = self.embed_tokens.weight

    @property
    def vocab_size(self) -> int:
        return self.config.vocab_size

    def make_cache(self, batch_size: int, max_len: int | None = None) -> KVCache:
        """An empty `KVCache` for this model, in its parameters' dtype and device."""
        weight = self.embed_tokens.weight
        return KVCache(self.config, batch_size, max_len, dtype=weight.dtype,
                       device=weight.device)

    def forward(self, ids: torch.Tensor, cache: KVCache | None = None,
                start_pos: int = 0) -> torch.Tensor:
        """Logits ``(B, T, vocab_size)`` for token ids ``(B, T)`` at positions
        ``start_pos .. start_pos + T - 1``; with a ``cache``, attending also to the cached
        positions before ``start_pos`` and storing this call's keys and values."""
        ids, start_pos = self._ids(ids), nonnegative_int(start_pos, "start_pos")
        B, T = ids.shape
        end = start_pos + T
        if end > self.config.max_seq_len:
            raise ValueError(f"start_pos must leave room for ids in max_seq_len = "
                             f"{self.config.max_seq_len} positions, got start_pos = "
                             f"{start_pos} and {T} tokens")
        if cache is not None:
            self._check_cache(cache, B, start_pos, end)
        positions = torch.arange(start_pos, end, device=ids.device)  # (T,)
        h = self.embed_tokens(ids)  # (B, T, dim)
        for i, layer in enumerate(self.layers):
            h = layer(h, positions, cache, i, start_pos)
        if cache is not None:
            cache.length = end
        return self.lm_head(self.norm(h))  # (B, T, vocab_size)

    def _ids(self, ids) -> torch.Tensor:
        ids = as_tensor(ids, "ids")
        if ids.is_floating_point() or ids.is_complex() or ids.dtype == torch.bool:
            raise ValueError(f"ids must be integer token ids, got dtype {ids.dtype}")
        if ids.ndim != 2 or ids.shape[1] == 0:
            raise ValueError(f"ids must have shape (B, T) with T >= 1, got shape "
                             f"{tuple(ids.shape)}")
        if ids.numel() and (ids.min() < 0 or ids.max() >= self.config.vocab_size):
            raise ValueError(f"ids must be tokens in [0, {self.config.vocab_size}), got values "
                             f"from {int(ids.min())} to {int(ids.max())}")
        return ids.long()

    def _check_cache(self, cache, batch_size: int, start_pos: int, end: int) -> None:
        c = self.config
        if not isinstance(cache, KVCache):
            raise ValueError(f"cache must be a KVCache or None, got {type(cache).__name__}")
        want = (batch_size, c.n_kv_heads, cache.max_len, c.head_dim)
        if len(cache.keys) != c.n_layers or tuple(cache.keys[0].shape) != want:
            raise ValueError(f"cache must hold {c.n_layers} layers of keys {want} for this "
                             f"model and batch, got {len(cache.keys)} of "
                             f"{tuple(cache.keys[0].shape)}")
        if start_pos > cache.length:
            raise ValueError(f"start_pos must be at most the cache's length {cache.length} "
                             f"(no gap before the new positions), got {start_pos}")
        if end > cache.max_len:
            raise ValueError(f"cache must have room for positions up to {end}, got max_len "
                             f"{cache.max_len}")
