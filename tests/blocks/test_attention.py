"""Tests for coursekit.blocks.attention and coursekit.blocks.positions against PyTorch's
scaled_dot_product_attention, nn.MultiheadAttention and nn.TransformerEncoderLayer, and the
rotary embedding against the complex-number form of Su et al. (2021)."""

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from coursekit.blocks.attention import (
    MultiHeadAttention,
    TransformerBlock,
    scaled_dot_product_attention,
)
from coursekit.blocks.positions import apply_rotary, sinusoidal_positions

seeds = st.integers(0, 2**31 - 1)
sizes = st.integers(1, 6)
mask_kinds = st.sampled_from([None, "bool", "float", "causal"])


def random_mask(kind, shape, generator):
    """A mask of ``kind`` for scores of ``shape``, with some rows masked out entirely."""
    keep = torch.rand(shape, generator=generator) < 0.6
    keep[..., 0, :] = False  # a query with nothing to attend
    if kind == "bool":
        return keep
    extra = torch.randn(shape, generator=generator, dtype=torch.float64)
    return extra.masked_fill(~keep, -math.inf)


@settings(max_examples=15, deadline=None)
@given(seeds, sizes, sizes, sizes, sizes, mask_kinds, st.sampled_from([None, 0.3, 2.0]))
def test_attention_matches_pytorch_on_broadcast_shapes_and_masks(seed, L, S, E, Ev, kind, scale):
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(2, 1, L, E, generator=g, dtype=torch.float64)
    k = torch.randn(1, 3, S, E, generator=g, dtype=torch.float64)  # batch dims broadcast
    v = torch.randn(2, 3, S, Ev, generator=g, dtype=torch.float64)
    causal = kind == "causal"
    mask = None if kind in (None, "causal") else random_mask(kind, (3, L, S), g)
    ours = scaled_dot_product_attention(q, k, v, mask, is_causal=causal, scale=scale)
    theirs = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal,
                                            scale=scale)
    assert ours.shape == theirs.shape
    torch.testing.assert_close(ours, theirs, rtol=1e-12, atol=1e-12)


def test_fully_masked_query_gets_zeros_like_pytorch():
    q, k, v = torch.randn(3, 4), torch.randn(5, 4), torch.randn(5, 2)
    keep = torch.ones(3, 5, dtype=torch.bool)
    keep[1] = False
    out = scaled_dot_product_attention(q, k, v, keep)
    assert torch.equal(out[1], torch.zeros(2))
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v, attn_mask=keep))


def test_fully_masked_query_passes_finite_gradients():
    q = torch.randn(3, 4, requires_grad=True)
    keep = torch.ones(3, 5, dtype=torch.bool)
    keep[1] = False
    scaled_dot_product_attention(q, torch.randn(5, 4), torch.randn(5, 2), keep).sum().backward()
    assert bool(torch.isfinite(q.grad).all()) and bool((q.grad[1] == 0).all())


def test_boolean_and_additive_masks_agree():
    q, k, v = torch.randn(2, 4, 8), torch.randn(2, 6, 8), torch.randn(2, 6, 3)
    keep = torch.rand(4, 6) < 0.7
    keep[:, 0] = True
    additive = torch.zeros(4, 6).masked_fill(~keep, -math.inf)
    torch.testing.assert_close(scaled_dot_product_attention(q, k, v, keep),
                               scaled_dot_product_attention(q, k, v, additive))


def test_dropout_zeroes_weights_and_keeps_the_mean():
    torch.manual_seed(0)
    q, k, v = torch.zeros(1, 4), torch.zeros(2000, 4), torch.ones(2000, 1)
    out = scaled_dot_product_attention(q, k, v, dropout_p=0.5)  # uniform weights 1/2000
    assert out.item() == pytest.approx(1.0, abs=0.1)  # inverted scaling keeps the mean


def torch_mha(E, H, bias, g):
    module = nn.MultiheadAttention(E, H, bias=bias, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float64) / math.sqrt(E))
    return module


@settings(max_examples=15, deadline=None)
@given(seeds, st.integers(1, 3), st.integers(1, 4), sizes, sizes, st.booleans(),
       st.sampled_from([None, "bool", "float", "padding"]), st.booleans())
def test_multi_head_attention_from_torch_gives_its_output(seed, B, H, L, S, bias, kind, cross):
    g = torch.Generator().manual_seed(seed)
    E = 2 * H
    module = torch_mha(E, H, bias, g)
    ours = MultiHeadAttention.from_torch(module)
    query = torch.randn(B, L, E, generator=g, dtype=torch.float64)
    memory = torch.randn(B, S, E, generator=g, dtype=torch.float64) if cross else query
    S = memory.shape[1]
    theirs_kwargs, mask = {}, None
    if kind == "padding":  # keys to ignore per sequence, PyTorch's key_padding_mask
        keep = torch.rand(B, S, generator=g) < 0.7
        keep[:, 0] = True
        mask, theirs_kwargs = keep[:, None, None, :], {"key_padding_mask": ~keep}  # (B, 1, 1, S)
    elif kind is not None:
        mask = random_mask(kind, (B, H, L, S), g)
        # a query with no key is nan in some of nn.MultiheadAttention's paths: give it one
        mask[..., 0, 0] = True if kind == "bool" else 0.0
        # PyTorch takes (B * H, L, S), and True where attention is NOT allowed
        theirs_kwargs = {"attn_mask": (~mask if kind == "bool" else mask).flatten(0, 1)}
    expected, _ = module(query, memory, memory, need_weights=False, **theirs_kwargs)
    torch.testing.assert_close(ours(query, memory, memory, mask), expected,
                               rtol=1e-12, atol=1e-12)


def test_causal_multi_head_attention_matches_torch_with_a_causal_mask():
    g = torch.Generator().manual_seed(0)
    module = torch_mha(8, 2, True, g)
    x = torch.randn(3, 5, 8, generator=g, dtype=torch.float64)
    future = torch.ones(5, 5, dtype=torch.bool).triu(1)  # PyTorch: True = masked
    expected, _ = module(x, x, x, attn_mask=future, need_weights=False)
    torch.testing.assert_close(MultiHeadAttention.from_torch(module)(x, x, x, is_causal=True),
                               expected, rtol=1e-12, atol=1e-12)


def test_from_torch_copies_dtype_and_mode_and_leaves_the_random_state():
    module = nn.MultiheadAttention(8, 2, batch_first=True, dtype=torch.float64).eval()
    state = torch.random.get_rng_state()
    ours = MultiHeadAttention.from_torch(module)
    assert torch.equal(state, torch.random.get_rng_state())
    assert ours.qkv.weight.dtype == torch.float64 and not ours.training


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"batch_first": False}, "batch_first=True"),
    ({"batch_first": True, "kdim": 3}, "kdim = vdim = embed_dim"),
    ({"batch_first": True, "vdim": 5}, "kdim = vdim = embed_dim"),
    ({"batch_first": True, "add_bias_kv": True}, "add_bias_kv"),
])  # fmt: skip
def test_from_torch_refuses_layouts_it_does_not_have(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MultiHeadAttention.from_torch(nn.MultiheadAttention(8, 2, **kwargs))


def block_from_torch(layer: nn.TransformerEncoderLayer) -> TransformerBlock:
    E = layer.linear1.in_features
    block = TransformerBlock(E, layer.self_attn.num_heads, layer.linear1.out_features // E)
    block = block.double()
    block.attn = MultiHeadAttention.from_torch(layer.self_attn)
    pairs = [(block.ln1, layer.norm1), (block.ln2, layer.norm2), (block.mlp[0], layer.linear1),
             (block.mlp[2], layer.linear2)]
    with torch.no_grad():
        for ours, theirs in pairs:
            ours.weight.copy_(theirs.weight)
            ours.bias.copy_(theirs.bias)
    return block


@settings(max_examples=10, deadline=None)
@given(seeds, st.integers(1, 3), st.integers(1, 3), sizes, st.integers(1, 3), st.booleans())
def test_transformer_block_matches_pre_norm_encoder_layer(seed, B, H, T, ratio, causal):
    g = torch.Generator().manual_seed(seed)
    E = 4 * H
    torch.manual_seed(seed)
    layer = nn.TransformerEncoderLayer(E, H, ratio * E, dropout=0.0, activation="gelu",
                                       batch_first=True, norm_first=True, dtype=torch.float64)
    with torch.no_grad():
        for p in layer.parameters():
            p.add_(torch.randn(p.shape, generator=g, dtype=torch.float64) / 10)
    block = block_from_torch(layer)
    x = torch.randn(B, T, E, generator=g, dtype=torch.float64)
    mask = nn.Transformer.generate_square_subsequent_mask(T, dtype=torch.float64)
    expected = layer(x, src_mask=mask, is_causal=True) if causal else layer(x)
    torch.testing.assert_close(block(x, is_causal=causal), expected, rtol=1e-12, atol=1e-12)


def test_self_attention_is_permutation_equivariant():
    torch.manual_seed(0)
    mha = MultiHeadAttention(8, 2).double()
    x = torch.randn(2, 6, 8, dtype=torch.float64)
    perm = torch.randperm(6)
    torch.testing.assert_close(mha(x[:, perm], x[:, perm], x[:, perm]), mha(x, x, x)[:, perm])


@settings(max_examples=10, deadline=None)
@given(st.integers(1, 40), st.integers(1, 8), st.sampled_from([10.0, 100.0, 10000.0]))
def test_sinusoidal_positions_follow_vaswani_formula(length, half, base):
    dim = 2 * half
    P = sinusoidal_positions(length, dim, base, dtype=torch.float64)
    for t in range(length):
        for i in range(half):
            angle = t / base ** (2 * i / dim)
            assert P[t, 2 * i].item() == pytest.approx(math.sin(angle), abs=1e-12)
            assert P[t, 2 * i + 1].item() == pytest.approx(math.cos(angle), abs=1e-12)


def test_sinusoidal_shift_is_a_linear_map_of_the_encoding():
    P = sinusoidal_positions(40, 8, dtype=torch.float64)
    k = 5
    # one map sends every position's encoding to that of 5 positions later
    M = torch.linalg.lstsq(P[:-k], P[k:]).solution
    torch.testing.assert_close(P[:-k] @ M, P[k:], rtol=0, atol=1e-10)


def rotary_complex(x, positions, theta):
    """RoPE as Su et al. write it: pairs of features as complex numbers, times e^{i m theta_j};
    here pairing feature j with j + D/2 (the rotate-half layout)."""
    D = x.shape[-1]
    freqs = theta ** (-torch.arange(0, D, 2, dtype=torch.float64) / D)
    rot = torch.polar(torch.ones(len(positions), D // 2, dtype=torch.float64),
                      positions[:, None].double() * freqs)  # (T, D / 2) unit complex numbers
    z = torch.complex(x[..., : D // 2], x[..., D // 2:]) * rot
    return torch.cat([z.real, z.imag], dim=-1)


@settings(max_examples=15, deadline=None)
@given(seeds, sizes, st.integers(1, 5), st.sampled_from([10.0, 10000.0, 500000.0]))
def test_rotary_matches_complex_rotation_of_feature_pairs(seed, T, half, theta):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(2, 3, T, 2 * half, generator=g, dtype=torch.float64)
    positions = torch.randint(0, 1000, (T,), generator=g)
    torch.testing.assert_close(apply_rotary(x, positions, theta),
                               rotary_complex(x, positions, theta), rtol=1e-12, atol=1e-10)


@settings(max_examples=15, deadline=None)
@given(seeds, st.integers(0, 50), st.integers(0, 50), st.integers(-20, 20))
def test_rotary_dot_product_depends_on_offset_only(seed, m, n, shift):
    g = torch.Generator().manual_seed(seed)
    q, k = torch.randn(2, 1, 16, generator=g, dtype=torch.float64)
    shift = max(shift, -min(m, n))

    def score(a, b):
        return (apply_rotary(q, torch.tensor([a])) @ apply_rotary(k, torch.tensor([b])).T).item()

    assert score(m + shift, n + shift) == pytest.approx(score(m, n), abs=1e-10)


def test_rotary_broadcasts_positions_per_batch():
    x = torch.randn(2, 3, 4, 6)  # (B, H, T, D)
    positions = torch.stack([torch.arange(4), torch.arange(4) + 7])[:, None, :]  # (B, 1, T)
    out = apply_rotary(x, positions)
    torch.testing.assert_close(out[1], apply_rotary(x[1], torch.arange(4) + 7))


def test_rotary_matches_transformers_llama():
    llama = pytest.importorskip("transformers.models.llama.modeling_llama",
                                reason="transformers is not installed")
    config = llama.LlamaConfig(hidden_size=64, num_attention_heads=4, rope_theta=10000.0)
    rotary = llama.LlamaRotaryEmbedding(config)
    q, k = torch.randn(2, 4, 7, 16), torch.randn(2, 4, 7, 16)
    positions = torch.arange(3, 10)[None].expand(2, -1)  # (B, T)
    cos, sin = rotary(q, positions)
    q_hf, k_hf = llama.apply_rotary_pos_emb(q, k, cos, sin)
    torch.testing.assert_close(apply_rotary(q, positions[:, None]), q_hf, rtol=0, atol=1e-6)
    torch.testing.assert_close(apply_rotary(k, positions[:, None]), k_hf, rtol=0, atol=1e-6)
