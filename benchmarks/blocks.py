"""Benchmark: coursekit's building blocks against PyTorch's own routines, as time ratios.

Same process, same inputs, float32, one thread. For each block and size it prints the largest
difference between the two outputs, the best-of-``REPEATS`` wall time of each (the two
alternate, so both see the same machine load) and the ratio ours / PyTorch. There is no target:
the blocks are written to be read, and the ratio says what PyTorch's fused kernels buy.

- attention: ``scaled_dot_product_attention`` against ``F.scaled_dot_product_attention``,
  ``(B, H, T, d)`` queries, keys and values, without a mask and causal. Ours materializes the
  ``(T, T)`` scores and weights of every head; PyTorch's CPU kernel works on tiles of keys
  with an online softmax (the FlashAttention scheme), so it never stores them.
- conv2d: ``conv2d`` against ``F.conv2d``, ``(N, C, H, W)`` images and ``(O, C / g, k, k)``
  kernels. Ours copies every input value once per kernel tap into the im2col matrix (``k * k``
  times the input) and then does one matrix product; PyTorch's oneDNN kernels convolve
  directly, in cache-sized blocks of a channels-blocked layout, without that copy.

Each block has a ``bench_*`` function; ``main`` runs them all. Run with
``python benchmarks/blocks.py``.
"""

from __future__ import annotations

from functools import partial

import torch
import torch.nn.functional as F
from timing import race  # benchmarks/timing.py: run as a script, this folder is on sys.path

from coursekit.blocks.attention import scaled_dot_product_attention
from coursekit.blocks.convolution import conv2d

REPEATS = 10


def report(name: str, t_ours: float, ours: torch.Tensor, t_torch: float, theirs: torch.Tensor):
    print(f"  {name:<28} max difference {(ours - theirs).abs().max().item():.1e}  "
          f"coursekit {t_ours * 1e3:8.2f} ms  PyTorch {t_torch * 1e3:8.2f} ms  "
          f"ratio {t_ours / t_torch:5.2f}")


def bench_attention() -> None:
    print("attention: scaled_dot_product_attention vs F.scaled_dot_product_attention")
    generator = torch.Generator().manual_seed(0)
    for B, H, T, d in [(8, 4, 64, 32), (4, 8, 256, 64), (1, 8, 1024, 64)]:
        q, k, v = torch.randn(3, B, H, T, d, generator=generator)
        for causal in (False, True):
            with torch.no_grad():
                result = race(partial(scaled_dot_product_attention, q, k, v, is_causal=causal),
                              partial(F.scaled_dot_product_attention, q, k, v, is_causal=causal),
                              REPEATS)
            report(f"(B, H, T, d) = {(B, H, T, d)}{' causal' if causal else ''}", *result)


def bench_conv2d() -> None:
    print("conv2d: conv2d (im2col) vs F.conv2d")
    generator = torch.Generator().manual_seed(0)
    sizes = [  # (N, C, H, O, k, stride, padding, groups): square images and kernels
        (64, 16, 8, 32, 3, 1, 1, 1),  # a digits ResNet's layer
        (32, 64, 32, 64, 3, 1, 1, 1),  # a CIFAR ResNet's layer
        (32, 64, 32, 64, 3, 1, 1, 2),  # the same, in two groups (AlexNet's split)
        (8, 3, 112, 64, 7, 2, 3, 1),  # a ResNet stem on small ImageNet crops
    ]  # fmt: skip
    for n, c, h, o, k, stride, padding, groups in sizes:
        x = torch.randn(n, c, h, h, generator=generator)
        weight = torch.randn(o, c // groups, k, k, generator=generator)
        options = {"stride": stride, "padding": padding, "groups": groups}
        with torch.no_grad():
            result = race(partial(conv2d, x, weight, **options),
                          partial(F.conv2d, x, weight, **options), REPEATS)
        report(f"{(n, c, h, h)} {k}x{k}->{o} s{stride} g{groups}", *result)


def main() -> None:
    torch.set_num_threads(1)
    print(f"float32, 1 thread, best of {REPEATS}")
    # every bench_* function of this file, in the order they are defined
    for bench in [value for name, value in globals().items() if name.startswith("bench_")]:
        bench()


if __name__ == "__main__":
    main()
