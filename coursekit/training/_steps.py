"""One training step of the lecture's loop, and one epoch of them, for ``fit``.

The step keeps the running sums of an epoch (its loss, its correct answers) on the device, so
nothing in it waits for the GPU and a CUDA graph of it (``coursekit.training.cuda_graphs``)
updates them in place; the epoch reads them once, at its end.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable

import torch
from torch import nn
from tqdm import tqdm

from coursekit.training.batches import Batch
from coursekit.training.distributed import all_reduce_sum

__all__ = ["TrainStep", "train_epoch"]


class TrainStep:
    """One step of the lecture's loop, adding the batch's loss and its count of correct answers
    to running sums that stay on the device: reading them (.item()) would make the CPU wait for
    the GPU, and a CUDA graph of the step can update them in place."""

    def __init__(self, net: nn.Module, opt: torch.optim.Optimizer, loss_fn: nn.Module,
                 device: torch.device, use_amp: bool) -> None:  # fmt: skip
        self.net, self.opt, self.loss_fn = net, opt, loss_fn
        self.device_type, self.use_amp = device.type, use_amp
        self.loss_sum = torch.zeros((), device=device)
        self.correct = torch.zeros((), dtype=torch.int64, device=device)

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> None:
        # autocast's cache of cast weights would outlive a CUDA graph's recording: off
        with torch.autocast(self.device_type, torch.bfloat16, self.use_amp, cache_enabled=False):
            outputs = self.net(x)
            loss = self.loss_fn(outputs, y)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        self.loss_sum += loss.detach() * len(y)
        self.correct += (outputs.detach().argmax(1) == y).sum()


def train_epoch(
    net: nn.Module,
    sums: TrainStep,
    step: Callable[[torch.Tensor, torch.Tensor], None],
    batches: Iterable[Batch],
    n_batches: int,
    desc: str,
    show: bool,
) -> tuple[float, float]:
    """One pass over the batches; returns the epoch's mean loss and accuracy."""
    net.train()
    sums.loss_sum.zero_()
    sums.correct.zero_()
    count, shown_at = 0, time.monotonic()
    bar = tqdm(batches, total=n_batches, desc=desc, disable=not show, leave=False, file=sys.stderr)
    for x, y in bar:
        step(x, y)
        count += len(y)
        if show and time.monotonic() - shown_at > 0.2:
            shown_at = time.monotonic()
            bar.set_postfix(loss=f"{sums.loss_sum.item() / count:.4f}", refresh=False)
    loss_sum, correct = sums.loss_sum, sums.correct.float()
    totals = all_reduce_sum(torch.stack([loss_sum, correct, loss_sum.new_tensor(count)]))
    loss_total, correct_total, count_total = totals.tolist()
    return loss_total / count_total, correct_total / count_total
