"""The small decoder-only transformer (coursekit.applications.transformer)."""

import pytest
import torch

from coursekit.applications.charlm import BigramLM, cross_entropy_bits, train_char_lm
from coursekit.applications.transformer import CausalSelfAttention, CharLMConfig, CharTransformer


def tiny_config(**overrides) -> CharLMConfig:
    sizes = {"vocab_size": 5, "block_size": 8, "n_layer": 1, "n_head": 2, "n_embd": 16}
    return CharLMConfig(**{**sizes, **overrides})


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
    generator = torch.Generator().manual_seed(0)
    train_char_lm(model, ids, steps=150, batch_size=16, block_size=8, lr=1e-2, generator=generator)
    assert bigram_bits == pytest.approx(0.5, abs=0.01)
    assert cross_entropy_bits(model, ids, block_size=8) < 0.25


@pytest.mark.parametrize(
    ("overrides", "message"),
    [({"n_head": 0}, "n_head must be a positive integer"),
     ({"n_embd": True}, "n_embd must be an integer"),
     ({"dropout": float("nan")}, "dropout must be"),
     ({"vocab_size": 0}, "vocab_size must be a positive integer")],
)  # fmt: skip
def test_config_refuses_bad_sizes_naming_them(overrides, message):
    # n_head=0 used to escape as a ZeroDivisionError from the divisibility check
    with pytest.raises(ValueError, match=message):
        CharTransformer(tiny_config(**overrides))
