r"""Scaled dot-product attention, multi-head attention and the pre-norm transformer block.

The chapter "Attention" (``docs/blocks/attention.md``) teaches what this module implements,
from the definitions of Vaswani et al. (2017, "Attention is all you need"): a query scores
every key by a scaled dot product, a softmax turns the scores into weights, and the output
is the weighted average of the values,
$\operatorname{softmax}(Q K^\top / \sqrt{d} + M) V$. Masks follow
``torch.nn.functional.scaled_dot_product_attention``: a boolean mask is ``True`` where a
query may attend, a float mask $M$ is added to the scores. Tensors are batch first,
``(B, T, E)``. Bad input raises a ``ValueError`` that names the argument.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from coursekit._validation import (
    as_real_float,
    as_tensor,
    boolean,
    model_input,
    positive_int,
    probability,
    real,
)

__all__ = ["scaled_dot_product_attention", "MultiHeadAttention", "TransformerBlock"]


def _mask(attn_mask, shape: torch.Size, dtype: torch.dtype) -> torch.Tensor:
    """``attn_mask`` as a boolean or ``dtype`` tensor that broadcasts to the scores' shape."""
    mask = as_tensor(attn_mask, "attn_mask")
    if mask.dtype != torch.bool and not mask.is_floating_point():
        raise ValueError(f"attn_mask must be a boolean or floating tensor, got dtype {mask.dtype}")
    try:
        if torch.broadcast_shapes(mask.shape, shape) != shape:
            raise RuntimeError
    except RuntimeError:
        raise ValueError(f"attn_mask must broadcast to the scores' shape {tuple(shape)} "
                         f"(..., L, S), got shape {tuple(mask.shape)}") from None
    return mask if mask.dtype == torch.bool else mask.to(dtype)


def _qkv(q, k, v) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    q, k, v = (as_real_float(t, name) for t, name in ((q, "q"), (k, "k"), (v, "v")))
    for t, name, dims in ((q, "q", "L, E"), (k, "k", "S, E"), (v, "v", "S, Ev")):
        if t.ndim < 2:
            raise ValueError(f"{name} must have shape (..., {dims}), got shape {tuple(t.shape)}")
    if k.shape[-1] != q.shape[-1] or v.shape[-2] != k.shape[-2]:
        raise ValueError("k must have q's last size E and v k's length S: q (..., L, E), "
                         "k (..., S, E), v (..., S, Ev), got shapes "
                         f"{tuple(q.shape)}, {tuple(k.shape)}, {tuple(v.shape)}")
    try:
        torch.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    except RuntimeError:
        raise ValueError(f"q, k and v must have batch dimensions that broadcast, got shapes "
                         f"{tuple(q.shape)}, {tuple(k.shape)}, {tuple(v.shape)}") from None
    if not q.dtype == k.dtype == v.dtype:
        raise ValueError(f"q, k and v must have one dtype, got {q.dtype}, {k.dtype}, {v.dtype}")
    return q, k, v


def scaled_dot_product_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, attn_mask: torch.Tensor | None = None,
    is_causal: bool = False, *, scale: float | None = None, dropout_p: float = 0.0,
) -> torch.Tensor:
    r"""Attention $\operatorname{softmax}(s\, Q K^\top + M)\, V$ with $s = 1/\sqrt{E}$.

    Query $i$ scores key $j$ by $s\, q_i \cdot k_j$; the softmax over $j$ turns the
    scores into weights that sum to 1, and the output is the weighted average
    $\sum_j w_{ij} v_j$ of the values. Equal to
    ``torch.nn.functional.scaled_dot_product_attention``.

    Args:
        q: queries, shape ``(..., L, E)``.
        k: keys, shape ``(..., S, E)``.
        v: values, shape ``(..., S, Ev)``; the batch dimensions of the three broadcast.
        attn_mask: ``None``, a boolean tensor (``True`` where query $i$ may attend key $j$)
            or a float tensor $M$ added to the scores ($0$ or $-\infty$ for a hard mask),
            broadcasting to ``(..., L, S)``.
        is_causal: mask key $j > i$ for query $i$ (the mask ``ones(L, S).tril()``, as
            PyTorch's); not together with ``attn_mask``.
        scale: $s$; ``None`` for $1/\sqrt{E}$.
        dropout_p: the probability of zeroing each weight (the rest scaled by
            $1/(1 - p)$); pass 0 outside training.

    Returns:
        The outputs, shape ``(..., L, Ev)``. A query whose keys are all masked gets a row of
            zeros, as PyTorch gives (the softmax of only $-\infty$ is undefined).

    Raises:
        ValueError: naming the argument, if ``q``, ``k`` or ``v`` are not real tensors of
            matching shapes and one dtype, ``attn_mask`` neither boolean nor float or does not
            broadcast, ``is_causal`` is not a bool or comes with a mask, ``scale`` is not a
            finite number, or ``dropout_p`` is not in ``[0, 1]``.

    Examples:
        >>> import torch
        >>> import torch.nn.functional as F
        >>> from coursekit.blocks.attention import scaled_dot_product_attention
        >>> _ = torch.manual_seed(0)
        >>> q, k, v = torch.randn(2, 3, 4), torch.randn(2, 5, 4), torch.randn(2, 5, 6)
        >>> out = scaled_dot_product_attention(q, k, v)
        >>> tuple(out.shape)  # (B, L, Ev)
        (2, 3, 6)
        >>> torch.allclose(out, F.scaled_dot_product_attention(q, k, v), atol=1e-6)
        True
    """
    q, k, v = _qkv(q, k, v)
    is_causal = boolean(is_causal, "is_causal")
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else real(scale, "scale")
    dropout_p = probability(dropout_p, "dropout_p")
    scores = q @ k.transpose(-2, -1) * scale  # (..., L, S)
    if is_causal:
        if attn_mask is not None:
            raise ValueError("is_causal must be False when attn_mask is given, got True")
        future = torch.ones(scores.shape[-2:], dtype=torch.bool, device=q.device).triu(1)
        scores = scores.masked_fill(future, -math.inf)  # query i keeps keys j <= i, j = 0 too
    elif attn_mask is not None:
        mask = _mask(attn_mask, scores.shape, scores.dtype)
        scores = scores.masked_fill(~mask, -math.inf) if mask.dtype == torch.bool else scores + mask
        dead = scores.isneginf().all(dim=-1, keepdim=True)  # queries with nothing to attend
        scores = scores.masked_fill(dead, 0.0)  # a finite softmax, and finite gradients
    weights = scores.softmax(dim=-1)  # (..., L, S), rows sum to 1
    if attn_mask is not None:
        weights = weights.masked_fill(dead, 0.0)
    if dropout_p > 0:
        weights = F.dropout(weights, dropout_p)
    return weights @ v  # (..., L, Ev)


def _split_heads(x: torch.Tensor, num_heads: int) -> torch.Tensor:
    B, T, E = x.shape
    return x.view(B, T, num_heads, E // num_heads).transpose(1, 2)  # (B, H, T, E / H)


class MultiHeadAttention(nn.Module):
    r"""Attention in ``num_heads`` heads, each on its own slice of the projected embedding.

    With $W_Q, W_K, W_V, W_O$ of shape $(E, E)$, head $h$ attends with the columns
    $h d, \dots, (h + 1) d - 1$ of $Q = x_q W_Q^\top$, $K = x_k W_K^\top$ and
    $V = x_v W_V^\top$, $d = E / H$; the heads' outputs are concatenated and mapped by
    $W_O$. The three input maps are stacked in one ``qkv`` layer, as PyTorch stacks them in
    ``in_proj_weight``; ``proj`` is $W_O$. Masks as in `scaled_dot_product_attention`
    (``True`` = attend), broadcasting to ``(B, H, L, S)``; note that
    ``torch.nn.MultiheadAttention`` reads a boolean mask the other way round (``True`` =
    ignore).

    Args:
        embed_dim: $E$, divisible by ``num_heads``.
        num_heads: $H$.
        bias: whether the projections have biases.
        dropout: dropout on the attention weights, in training mode.
        device: where the parameters are made.
        dtype: the parameters' dtype.

    Raises:
        ValueError: naming the argument, if a size is not a positive integer, ``embed_dim``
            is not divisible by ``num_heads`` or ``dropout`` is not in ``[0, 1]``; from
            ``forward``, if an input is not ``(B, T, embed_dim)`` in the parameters' dtype.

    Examples:
        >>> import torch
        >>> from coursekit.blocks.attention import MultiHeadAttention
        >>> _ = torch.manual_seed(0)
        >>> mha = MultiHeadAttention(embed_dim=8, num_heads=2)
        >>> query, memory = torch.randn(3, 5, 8), torch.randn(3, 7, 8)
        >>> tuple(mha(query, memory, memory).shape)  # (B, L, E)
        (3, 5, 8)
        >>> torch_mha = torch.nn.MultiheadAttention(8, 2, batch_first=True)
        >>> ours = MultiHeadAttention.from_torch(torch_mha)
        >>> expected, _ = torch_mha(query, memory, memory)
        >>> torch.allclose(ours(query, memory, memory), expected, atol=1e-6)
        True
    """

    def __init__(self, embed_dim: int, num_heads: int, *, bias: bool = True,
                 dropout: float = 0.0, device=None, dtype=None):
        super().__init__()
        embed_dim, num_heads = positive_int(embed_dim, "embed_dim"), positive_int(num_heads,
                                                                                  "num_heads")
        if embed_dim % num_heads:
            raise ValueError(f"embed_dim must be divisible by num_heads, got {embed_dim} "
                             f"and {num_heads}")
        self.embed_dim, self.num_heads = embed_dim, num_heads
        self.dropout = probability(dropout, "dropout")
        factory = {"bias": boolean(bias, "bias"), "device": device, "dtype": dtype}
        self.qkv = nn.Linear(embed_dim, 3 * embed_dim, **factory)  # W_Q, W_K, W_V stacked
        self.proj = nn.Linear(embed_dim, embed_dim, **factory)  # W_O

    @classmethod
    def from_torch(cls, module: nn.MultiheadAttention) -> MultiHeadAttention:
        """The same attention, with a copy of the weights of a ``torch.nn.MultiheadAttention``.

        Args:
            module: made with ``batch_first=True`` and the default ``kdim``, ``vdim``,
                ``add_bias_kv`` and ``add_zero_attn``.

        Returns:
            A `MultiHeadAttention` in the module's dtype, device and mode; the global random
                state is left as it was.

        Raises:
            ValueError: if ``module`` is not a ``torch.nn.MultiheadAttention``, or uses a
                layout this class does not have (``batch_first=False``, ``kdim`` or ``vdim``
                other than ``embed_dim``, ``add_bias_kv``, ``add_zero_attn``).
        """
        if not isinstance(module, nn.MultiheadAttention):
            raise ValueError(f"module must be a torch.nn.MultiheadAttention, "
                             f"got {type(module).__name__}")
        if not module.batch_first:
            raise ValueError("module must have batch_first=True, got batch_first=False")
        if module.kdim != module.embed_dim or module.vdim != module.embed_dim:
            raise ValueError(f"module must have kdim = vdim = embed_dim = {module.embed_dim}, "
                             f"got kdim={module.kdim}, vdim={module.vdim}")
        if module.bias_k is not None or module.add_zero_attn:
            raise ValueError("module must not use add_bias_kv or add_zero_attn, got them set")
        weight = module.in_proj_weight
        ours = nn.utils.skip_init(
            cls, module.embed_dim, module.num_heads, bias=module.in_proj_bias is not None,
            dropout=module.dropout, device=weight.device, dtype=weight.dtype,
        )  # fmt: skip
        with torch.no_grad():
            ours.qkv.weight.copy_(weight)  # rows: W_Q, then W_K, then W_V
            ours.proj.weight.copy_(module.out_proj.weight)
            if module.in_proj_bias is not None:
                ours.qkv.bias.copy_(module.in_proj_bias)
                ours.proj.bias.copy_(module.out_proj.bias)
        return ours.train(module.training)

    def _input(self, x, name: str) -> torch.Tensor:
        x = model_input(x, self, name)
        if x.ndim != 3 or x.shape[-1] != self.embed_dim:
            raise ValueError(f"{name} must have shape (B, T, embed_dim = {self.embed_dim}), "
                             f"got shape {tuple(x.shape)}")
        return x

    def forward(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                attn_mask: torch.Tensor | None = None, is_causal: bool = False) -> torch.Tensor:
        """Attend from ``query`` ``(B, L, E)`` to ``key`` and ``value`` ``(B, S, E)``;
        returns ``(B, L, E)``."""
        self_attention = key is query and value is query
        query, key, value = (self._input(x, n) for x, n in
                             ((query, "query"), (key, "key"), (value, "value")))
        if key.shape != value.shape or key.shape[0] != query.shape[0]:
            raise ValueError(f"key and value must have shape (B, S, E) with query's B, got "
                             f"{tuple(query.shape)}, {tuple(key.shape)}, {tuple(value.shape)}")
        E = self.embed_dim
        if self_attention:
            q, k, v = self.qkv(query).split(E, dim=-1)  # one product; each (B, T, E)
        else:
            weights = self.qkv.weight.split(E)
            biases = self.qkv.bias.split(E) if self.qkv.bias is not None else (None,) * 3
            inputs = (query, key, value)
            q, k, v = (F.linear(x, w, b) for x, w, b in zip(inputs, weights, biases, strict=True))
        q, k, v = (_split_heads(z, self.num_heads) for z in (q, k, v))  # (B, H, T, E / H)
        dropout = self.dropout if self.training else 0.0
        y = scaled_dot_product_attention(q, k, v, attn_mask, is_causal, dropout_p=dropout)
        return self.proj(y.transpose(1, 2).flatten(2))  # (B, L, E)


class TransformerBlock(nn.Module):
    r"""A pre-norm transformer block: attention, then an MLP, each added to the residual stream.

    $x \leftarrow x + \operatorname{MHA}(\operatorname{LN}_1(x))$, then
    $x \leftarrow x + W_2\, \operatorname{GELU}(W_1 \operatorname{LN}_2(x))$ with a hidden
    size of ``mlp_ratio * embed_dim``: the layout of GPT-2 and of
    ``torch.nn.TransformerEncoderLayer(norm_first=True, activation="gelu")``.

    Args:
        embed_dim: the width $E$ of the residual stream, divisible by ``num_heads``.
        num_heads: the attention heads.
        mlp_ratio: the MLP's hidden size over $E$.
        dropout: dropout on the attention weights and on the MLP's output, in training mode.

    Raises:
        ValueError: naming the argument, as `MultiHeadAttention`, or if ``mlp_ratio`` is not
            a positive integer.

    Examples:
        >>> import torch
        >>> from coursekit.blocks.attention import TransformerBlock
        >>> _ = torch.manual_seed(0)
        >>> block = TransformerBlock(embed_dim=8, num_heads=2)
        >>> x = torch.randn(3, 5, 8)
        >>> tuple(block(x, is_causal=True).shape)  # (B, T, E), the input's shape
        (3, 5, 8)
    """

    def __init__(self, embed_dim: int, num_heads: int, mlp_ratio: int = 4, dropout: float = 0.0):
        super().__init__()
        self.ln1 = nn.LayerNorm(positive_int(embed_dim, "embed_dim"))
        self.attn = MultiHeadAttention(embed_dim, num_heads, dropout=dropout)
        self.ln2 = nn.LayerNorm(embed_dim)
        hidden = positive_int(mlp_ratio, "mlp_ratio") * embed_dim
        self.mlp = nn.Sequential(
            nn.Linear(embed_dim, hidden), nn.GELU(), nn.Linear(hidden, embed_dim),
            nn.Dropout(dropout),
        )  # fmt: skip

    def forward(self, x: torch.Tensor, attn_mask: torch.Tensor | None = None,
                is_causal: bool = False) -> torch.Tensor:
        """``x`` ``(B, T, E)`` through the block; masks as in `MultiHeadAttention`."""
        x = self.attn._input(x, "x")
        h = self.ln1(x)
        x = x + self.attn(h, h, h, attn_mask=attn_mask, is_causal=is_causal)
        return x + self.mlp(self.ln2(x))  # (B, T, E)
