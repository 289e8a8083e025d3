"""Tests for coursekit.language.generate: the same tokens with and without the cache, greedy
decoding equal to transformers' ``generate(do_sample=False)`` on the same weights, and the
kinds of prompt it takes and gives back."""

import pytest
import torch

from coursekit.language.generate import generate
from coursekit.language.hf_llama import from_hf_llama
from coursekit.language.llama import Llama, LlamaConfig

transformers = pytest.importorskip("transformers")


def hf_llama(kv_heads: int, theta: float, seed: int = 0):
    config = transformers.LlamaConfig(
        vocab_size=61, hidden_size=48, intermediate_size=80, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=kv_heads, max_position_embeddings=64,
        rope_theta=theta, bos_token_id=None, eos_token_id=None, pad_token_id=0,
    )  # fmt: skip
    torch.manual_seed(seed)
    return transformers.LlamaForCausalLM(config).eval()


def small_llama(seed: int = 0) -> Llama:
    torch.manual_seed(seed)
    return Llama(LlamaConfig(50, 32, n_layers=2, n_heads=4, n_kv_heads=2, hidden_dim=64,
                             max_seq_len=40))


@pytest.mark.parametrize(("kv_heads", "theta"), [(4, 10000.0), (2, 500000.0), (1, 10000.0)])
def test_greedy_equals_transformers_generate(kv_heads, theta):
    hf = hf_llama(kv_heads, theta)
    ours = from_hf_llama(hf)
    prompt = torch.tensor([[5, 17, 3, 42, 8]])
    expected = hf.generate(prompt, do_sample=False, max_new_tokens=25, pad_token_id=0)
    assert torch.equal(generate(ours, prompt, 25), expected)
    assert torch.equal(generate(ours, prompt, 25, use_cache=False), expected)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sampling_with_and_without_cache_gives_the_same_tokens(seed):
    model = small_llama(seed)
    settings = {"temperature": 1.3, "top_k": 20, "top_p": 0.95}
    with_cache = generate(model, [1, 2, 3], 30, **settings,
                          generator=torch.Generator().manual_seed(seed))
    without = generate(model, [1, 2, 3], 30, **settings, use_cache=False,
                       generator=torch.Generator().manual_seed(seed))
    assert with_cache == without
    assert len(set(with_cache[3:])) > 3  # sampled, not stuck on one token


def test_result_has_the_prompts_kind_and_starts_with_it():
    model = small_llama()
    out = generate(model, [4, 5], 3)
    assert isinstance(out, list) and len(out) == 5 and out[:2] == [4, 5]
    flat = generate(model, torch.tensor([4, 5]), 3)
    assert flat.shape == (5,) and flat.dtype == torch.long and flat.tolist() == out
    row = generate(model, torch.tensor([[4, 5]]), 3)
    assert row.shape == (1, 5) and row[0].tolist() == out
    assert generate(model, [4, 5], 0) == [4, 5]


def test_prompt_and_new_tokens_may_fill_max_seq_len_exactly():
    model = small_llama()
    assert len(generate(model, [1] * 10, 30)) == 40
    with pytest.raises(ValueError, match="^max_new_tokens "):
        generate(model, [1] * 10, 31)


def test_generate_leaves_training_mode_and_gradients_alone():
    model = small_llama().train()
    generate(model, [1, 2], 4)
    assert model.training
    assert all(p.grad is None for p in model.parameters())
