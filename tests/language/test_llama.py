"""Tests for coursekit.language.llama and hf_llama: logits equal to transformers'
``LlamaForCausalLM`` on the same weights (full, grouped and multi-query attention, two rope
bases, tied and untied embeddings), the cache against the full forward pass, and the
parameter count against both models' own counts."""

import dataclasses

import pytest
import torch

from coursekit.language.hf_llama import from_hf_llama
from coursekit.language.kv_cache import KVCache
from coursekit.language.llama import (
    LLAMA2_CONFIGS,
    Llama,
    LlamaConfig,
    parameter_count,
    swiglu_hidden_dim,
)

transformers = pytest.importorskip("transformers")

# (hidden, heads, kv heads, rope theta, tied): full, grouped and multi-query attention
CONFIGS = [
    (64, 4, 4, 10000.0, False),
    (64, 8, 2, 500000.0, False),
    (32, 4, 1, 10000.0, True),
    (48, 6, 3, 500000.0, True),
]


def hf_llama(hidden, heads, kv_heads, theta, tied, seed=0, **extra):
    config = transformers.LlamaConfig(
        vocab_size=73, hidden_size=hidden, intermediate_size=2 * hidden + 6,
        num_hidden_layers=2, num_attention_heads=heads, num_key_value_heads=kv_heads,
        max_position_embeddings=48, rope_theta=theta, rms_norm_eps=1e-5,
        tie_word_embeddings=tied, bos_token_id=None, eos_token_id=None, pad_token_id=0,
        **extra,
    )  # fmt: skip
    torch.manual_seed(seed)
    model = transformers.LlamaForCausalLM(config).eval()
    with torch.no_grad():  # norms away from 1, so that a misplaced scale shows
        for name, p in model.named_parameters():
            if "norm" in name:
                p.uniform_(0.5, 1.5)
    return model


def relative_difference(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a - b).abs().max() / b.abs().max()).item()


@pytest.mark.parametrize("sizes", CONFIGS, ids=[f"kv{c[2]}-theta{c[3]:g}-tied{c[4]}"
                                                for c in CONFIGS])
def test_logits_equal_transformers_llama(sizes):
    hf = hf_llama(*sizes)
    ours = from_hf_llama(hf)
    assert ours.config.n_kv_heads == sizes[2] and ours.config.rope_theta == sizes[3]
    ids = torch.randint(0, 73, (3, 40), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert relative_difference(ours(ids), hf(ids).logits) <= 1e-5


def test_conversion_keeps_tied_weights_shared_and_random_state():
    hf = hf_llama(32, 4, 1, 10000.0, True)
    state = torch.random.get_rng_state()
    ours = from_hf_llama(hf)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert ours.lm_head.weight is ours.embed_tokens.weight


@pytest.mark.parametrize("sizes", CONFIGS[:3], ids=["mha", "gqa", "mqa"])
def test_cache_forward_equals_full_forward_token_by_token(sizes):
    hf = hf_llama(*sizes)
    ours = from_hf_llama(hf)
    ids = torch.randint(0, 73, (2, 30), generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        full = ours(ids)
        cache = ours.make_cache(2, 30)
        steps = [ours(ids[:, :9], cache)]  # a prefill, then one token at a time
        steps += [ours(ids[:, t:t + 1], cache, start_pos=t) for t in range(9, 20)]
        steps.append(ours(ids[:, 20:], cache, start_pos=20))  # and a chunk of ten
    assert cache.length == 30
    torch.testing.assert_close(torch.cat(steps, dim=1), full, atol=1e-5, rtol=1e-5)


def test_cache_holds_only_the_key_value_heads():
    config = LlamaConfig(50, 64, n_layers=3, n_heads=8, n_kv_heads=2, hidden_dim=64)
    cache = KVCache(config, batch_size=2, max_len=10, device="meta")
    assert cache.nbytes == 2 * 3 * (2 * 2 * 10 * 8) * 4  # keys and values, float32
    assert len(cache.keys) == len(cache.values) == 3


@pytest.mark.parametrize("sizes", CONFIGS, ids=["mha", "gqa", "mqa", "gqa-tied"])
def test_parameter_count_equals_both_models_counts(sizes):
    hf = hf_llama(*sizes)
    ours = from_hf_llama(hf)
    count = parameter_count(ours.config)
    assert count == sum(p.numel() for p in ours.parameters())
    assert count == sum(p.numel() for p in hf.parameters())


def test_llama2_presets_match_published_sizes():
    # the parameter counts Meta reports: 6.7B, 13.0B and 69B (Llama 2 model card)
    counts = {name: parameter_count(c) / 1e9 for name, c in LLAMA2_CONFIGS.items()}
    assert round(counts["7B"], 1) == 6.7 and round(counts["13B"], 1) == 13.0
    assert round(counts["70B"]) == 69
    assert LLAMA2_CONFIGS["70B"].n_kv_heads == 8 and LLAMA2_CONFIGS["7B"].n_kv_heads == 32
    assert all(c.max_seq_len == 4096 for c in LLAMA2_CONFIGS.values())
    hf = transformers.LlamaConfig(hidden_size=8192, intermediate_size=28672,
                                  num_hidden_layers=80, num_attention_heads=64,
                                  num_key_value_heads=8)
    with torch.device("meta"):
        count = sum(p.numel() for p in transformers.LlamaForCausalLM(hf).parameters())
    assert count == parameter_count(LLAMA2_CONFIGS["70B"])


def test_swiglu_width_reproduces_the_released_widths():
    assert swiglu_hidden_dim(4096) == LLAMA2_CONFIGS["7B"].hidden_dim
    assert swiglu_hidden_dim(5120) == LLAMA2_CONFIGS["13B"].hidden_dim
    assert swiglu_hidden_dim(8192, 4096, 1.3) == LLAMA2_CONFIGS["70B"].hidden_dim


def test_config_fills_defaults_and_is_frozen():
    config = LlamaConfig(100, 64, 2, 4)
    assert config.n_kv_heads == 4 and config.head_dim == 16
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.dim = 32


@pytest.mark.parametrize(("extra", "word"), [
    ({"attention_bias": True}, "attention_bias"),
    ({"mlp_bias": True}, "mlp_bias"),
    ({"hidden_act": "gelu"}, "hidden_act"),
    ({"head_dim": 32}, "head_dim"),
    ({"rope_parameters": {"rope_type": "linear", "factor": 2.0, "rope_theta": 1e4}},
     "rope_type"),
])  # fmt: skip
def test_conversion_refuses_what_llama_does_not_compute(extra, word):
    hf = hf_llama(64, 4, 2, 10000.0, False, **extra)
    with pytest.raises(ValueError, match=rf"^model .*{word}"):
        from_hf_llama(hf)


def test_model_learns_a_repeating_sequence():
    torch.manual_seed(0)
    model = Llama(LlamaConfig(20, 32, 1, 4, n_kv_heads=2, hidden_dim=32))
    ids = torch.arange(20).repeat(2, 2)  # (2, 40): a sequence the model can learn
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(30):
        logits = model(ids[:, :-1])
        loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), ids[:, 1:].flatten())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] / 3
