r"""A key/value cache: what a decoder keeps of the tokens it has seen, so that the next token
costs one position's work.

In causal attention the keys and values of a position never change once computed, since a
position attends only to itself and what came before. Generating token $t + 1$ therefore needs
its own query, key and value and the keys and values of positions $0 .. t$, which the cache
holds, instead of running the whole sequence again. The chapter "Llama 2"
(``docs/language/llama.md``) measures what it stores; `coursekit.language.llama.Llama` writes
to it.
"""

from __future__ import annotations

import torch

from coursekit._validation import positive_int

__all__ = ["KVCache"]


class KVCache:
    """The keys and values of every layer for the positions seen so far, preallocated.

    Each layer's keys and values live in a tensor ``(B, n_kv_heads, max_len, head_dim)``
    allocated once (as in Meta's reference code), so that a step writes its position in place
    instead of concatenating; ``length`` is how many positions hold keys. Only the
    ``n_kv_heads`` key/value heads are stored, which is what grouped-query attention saves.

    Args:
        config: the model's config.
        batch_size: the sequences run together.
        max_len: the positions to hold (``None``: ``config.max_seq_len``).
        dtype: the model's dtype (``None``: the default dtype).
        device: where to allocate (``"meta"`` allocates nothing, to read ``nbytes``).

    Examples:
        >>> import torch
        >>> from coursekit.language.kv_cache import KVCache
        >>> from coursekit.language.llama import LlamaConfig
        >>> config = LlamaConfig(100, 64, n_layers=2, n_heads=4, n_kv_heads=2)
        >>> cache = KVCache(config, batch_size=1, max_len=10)
        >>> tuple(cache.keys[0].shape), cache.length, cache.nbytes  # 2 * 2 * 320 floats
        ((1, 2, 10, 16), 0, 5120)
    """

    def __init__(self, config, batch_size: int, max_len: int | None = None, *,
                 dtype: torch.dtype | None = None, device=None):
        sizes = ("n_layers", "n_kv_heads", "head_dim", "max_seq_len")
        if not all(isinstance(getattr(config, n, None), int) for n in sizes):
            raise ValueError(f"config must be a LlamaConfig, got {type(config).__name__}")
        self.batch_size = positive_int(batch_size, "batch_size")
        self.max_len = config.max_seq_len if max_len is None else positive_int(max_len,
                                                                                "max_len")
        shape = (self.batch_size, config.n_kv_heads, self.max_len, config.head_dim)
        zeros = [torch.zeros(shape, dtype=dtype, device=device)
                 for _ in range(2 * config.n_layers)]
        self.keys, self.values = zeros[::2], zeros[1::2]  # one tensor per layer each
        self.length = 0

    @property
    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in self.keys + self.values)

    def update(self, layer: int, start_pos: int, k: torch.Tensor, v: torch.Tensor):
        """Write ``k`` and ``v`` ``(B, n_kv_heads, T, head_dim)`` at positions ``start_pos``
        on; return the layer's keys and values of positions ``0 .. start_pos + T - 1``."""
        end = start_pos + k.shape[2]
        self.keys[layer][:, :, start_pos:end] = k
        self.values[layer][:, :, start_pos:end] = v
        return self.keys[layer][:, :, :end], self.values[layer][:, :, :end]
