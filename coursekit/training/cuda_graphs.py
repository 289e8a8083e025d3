"""Replaying a whole training step as a CUDA graph, so a small network is not slowed by launches.

The lecture's `Net` at batch 256 keeps a GPU busy for well under a millisecond per training
step, while Python and the CUDA driver take a few milliseconds to launch its kernels one by one
(forward, loss, backward, optimizer step): the GPU waits for the CPU. A CUDA graph records the
kernels of one step once; every later step replays all of them with a single launch, reading
and writing the same memory. That fixes the batch's shape and the tensors the step touches, so
the step must keep its state in tensors it updates in place, as the model, its gradients and a
`torch.optim.SGD` do, and must not read values back to the CPU. PyTorch's notes on CUDA graphs
(whole-network capture) give the recipe this module follows: a few ordinary steps on a side
stream first, then one step recorded, then replays.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

__all__ = ["GraphedStep", "can_graph"]


class GraphedStep:
    """`step(x, y)`, recorded as a CUDA graph after `warmup` ordinary calls and replayed for every
    later batch of the same shapes; a batch of other shapes (an epoch's last, smaller one) runs
    `step` itself.

    The recorded call still trains on its batch: recording only records, so the graph is replayed
    at once. Replays use the tensors `step` used when it was recorded, so an optimizer stepping
    the model and running sums it adds to are updated in place, as in ordinary calls.

    Args:
        step: one training step on CUDA tensors (forward, loss, ``zero_grad(set_to_none=True)``,
            backward, optimizer step), with no reads back to the CPU.
        warmup: ordinary calls before recording; they settle lazy setup such as the
            optimizer's state and the choice of convolution kernels.

    Examples:
        On a GPU, ``GraphedStep(step)`` is called like ``step`` (the chapter on GPU
        training shows it). Without one it says so:

        >>> from coursekit.training.cuda_graphs import GraphedStep
        >>> GraphedStep(lambda x, y: None)
        Traceback (most recent call last):
        ...
        RuntimeError: GraphedStep needs a CUDA GPU, ...
    """

    def __init__(self, step: Callable[[Tensor, Tensor], None], warmup: int = 3) -> None:
        if not torch.cuda.is_available():
            raise RuntimeError(
                "GraphedStep needs a CUDA GPU, and torch.cuda.is_available() is False"
            )
        self.step, self.warmup = step, warmup
        self.graph: torch.cuda.CUDAGraph | None = None
        self.stream = torch.cuda.Stream()  # warm-up and recording share one side stream

    def __call__(self, x: Tensor, y: Tensor) -> None:
        if self.graph is not None and x.shape == self.x.shape and y.shape == self.y.shape:
            self.x.copy_(x)  # the graph reads its batch from these two tensors
            self.y.copy_(y)
            self.graph.replay()
        elif self.graph is None and self.warmup == 0:
            self.x, self.y = x.clone(), y.clone()
            self.graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(self.graph, stream=self.stream):
                self.step(self.x, self.y)
            self.graph.replay()  # recording ran nothing: this step is trained now
        else:
            self.warmup = max(self.warmup - 1, 0)
            self.stream.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(self.stream):
                self.step(x, y)
            torch.cuda.current_stream().wait_stream(self.stream)


def can_graph(
    optimizer: torch.optim.Optimizer,
    device: torch.device,
    *,
    constant_lr: bool,
    compiled: bool,
    distributed: bool,
) -> bool:
    """Whether a training step can be recorded as a CUDA graph and replayed.

    Only on CUDA; only with an optimizer that updates its state in place on the GPU (SGD, or
    one created with ``capturable=True``); only at a constant learning rate (a schedule
    changes a Python number the recording has baked in); and neither under ``torch.compile``
    nor ``torchrun`` (their own machinery launches work the recording would not see).

    Examples:
        >>> import torch
        >>> from coursekit.training.cuda_graphs import can_graph
        >>> sgd = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
        >>> can_graph(sgd, torch.device("cpu"), constant_lr=True, compiled=False,
        ...           distributed=False)
        False
    """
    in_place = isinstance(optimizer, torch.optim.SGD) or all(
        group.get("capturable", False) for group in optimizer.param_groups
    )
    return device.type == "cuda" and in_place and constant_lr and not (compiled or distributed)
