"""Benchmark: generating with coursekit's Llama, with and without the KV cache, and its forward
pass against transformers' ``LlamaForCausalLM`` on the same weights.

Float32, one thread, a small but not tiny model (``CONFIG``: 4 blocks of width 256, 8 query
and 4 key/value heads, 256 tokens).

- generate: greedy ``generate`` from a 16-token prompt to a total length of 64 ... 512 tokens,
  with the cache (one prefill, then one position per step) and without it (the whole sequence
  at every step); tokens per second of each and their ratio, per length. Without the cache the
  $t$-th token costs a forward pass over $t$ positions, so the work grows with the square of
  the length, and the ratio grows about linearly with it. Target: at least 5x at 512. Both
  runs must give the same tokens, which the script checks.
- forward: ``Llama.forward`` against ``LlamaForCausalLM.forward`` (transformers' default
  attention, PyTorch's fused ``scaled_dot_product_attention``) on the same weights, converted
  by ``from_hf_llama``: the largest relative difference of the logits, the best-of-``REPEATS``
  time of each (alternating, as in ``timing.race``) and the ratio ours / transformers. No
  target: ours computes attention from its definition (the full score matrix), and the ratio
  says what that costs.

Run with ``python benchmarks/generate.py``.
"""

from __future__ import annotations

import time
from functools import partial

import torch
from timing import race  # benchmarks/timing.py: run as a script, this folder is on sys.path

from coursekit.language.generate import generate
from coursekit.language.hf_llama import from_hf_llama

REPEATS = 10
PROMPT = 16
LENGTHS = (64, 128, 256, 512)
CONFIG = {"vocab_size": 256, "hidden_size": 256, "intermediate_size": 768,
          "num_hidden_layers": 4, "num_attention_heads": 8, "num_key_value_heads": 4,
          "max_position_embeddings": 512}


def models():
    """A random ``LlamaForCausalLM`` of ``CONFIG`` and our copy of it."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(**CONFIG, bos_token_id=None, eos_token_id=None, pad_token_id=0)
    hf = LlamaForCausalLM(config).eval()
    return hf, from_hf_llama(hf)


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def bench_generate(ours) -> None:
    print(f"generate: greedy from a {PROMPT}-token prompt, tokens/s with and without the cache")
    prompt = torch.randint(0, CONFIG["vocab_size"], (PROMPT,),
                           generator=torch.Generator().manual_seed(1))
    for length in LENGTHS:
        n = length - PROMPT
        t_cache, with_cache = min((timed(partial(generate, ours, prompt, n)) for _ in range(3)),
                                  key=lambda r: r[0])
        t_full, without = timed(partial(generate, ours, prompt, n, use_cache=False))
        same = torch.equal(with_cache, without)
        print(f"  length {length:4}  cache {n / t_cache:8.1f} tok/s  no cache "
              f"{n / t_full:7.1f} tok/s  ratio {t_full / t_cache:6.1f}  same tokens {same}")


def bench_forward(hf, ours) -> None:
    print("forward: Llama.forward vs LlamaForCausalLM.forward, same weights")
    generator = torch.Generator().manual_seed(2)
    for B, T in [(1, 64), (8, 128), (1, 512)]:
        ids = torch.randint(0, CONFIG["vocab_size"], (B, T), generator=generator)
        with torch.no_grad():
            t_ours, out_ours, t_hf, out_hf = race(partial(ours, ids), partial(hf, ids), REPEATS)
        out_hf = out_hf.logits
        difference = ((out_ours - out_hf).abs().max() / out_hf.abs().max()).item()
        print(f"  (B, T) = {(B, T)!s:<10} relative difference {difference:.1e}  coursekit "
              f"{t_ours * 1e3:8.2f} ms  transformers {t_hf * 1e3:8.2f} ms  "
              f"ratio {t_ours / t_hf:5.2f}")


def main() -> None:
    torch.set_num_threads(1)
    hf, ours = models()
    print(f"float32, 1 thread, config {CONFIG}")
    bench_generate(ours)
    bench_forward(hf, ours)


if __name__ == "__main__":
    main()
