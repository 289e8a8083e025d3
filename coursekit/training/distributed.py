"""Data-parallel training under ``torchrun``: which process am I, and the process group.

``torchrun --nproc_per_node=N script.py`` starts N copies of the script and tells each one its
place through environment variables: ``RANK`` (0 to N-1 across all machines), ``LOCAL_RANK``
(the GPU index on this machine) and ``WORLD_SIZE`` (N). ``coursekit.training.train.fit`` reads them
with ``dist_info``, joins the process group with ``process_group`` and lets PyTorch's
``DistributedDataParallel`` average the gradients; only rank 0 logs and writes files.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.distributed as dist

__all__ = ["DistInfo", "all_reduce_sum", "dist_info", "process_group"]


@dataclass(frozen=True)
class DistInfo:
    """Where this process sits in a ``torchrun`` job (a single process is rank 0 of 1)."""

    rank: int = 0
    local_rank: int = 0
    world_size: int = 1

    @property
    def enabled(self) -> bool:
        """True when there is more than one process."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """True on rank 0, the process that logs and writes checkpoints."""
        return self.rank == 0


def dist_info() -> DistInfo:
    """Read ``RANK``, ``LOCAL_RANK`` and ``WORLD_SIZE`` as set by ``torchrun``.

    Returns:
        The process's ``DistInfo``; rank 0 of 1 when the variables are not set.

    Raises:
        ValueError: if the variables are inconsistent (rank outside ``0..WORLD_SIZE-1``).

    Examples:
        >>> from coursekit.training.distributed import dist_info
        >>> info = dist_info()  # not launched by torchrun here
        >>> info.rank, info.world_size, info.is_main, info.enabled
        (0, 1, True, False)
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", str(rank)))
    if world_size < 1 or not 0 <= rank < world_size:
        raise ValueError(
            f"RANK must be in 0..WORLD_SIZE-1, got RANK={rank}, WORLD_SIZE={world_size}"
        )
    return DistInfo(rank, local_rank, world_size)


@contextmanager
def process_group(device: torch.device) -> Iterator[DistInfo]:
    """Join the ``torchrun`` process group for the duration of a ``with`` block.

    Uses NCCL when training on CUDA and gloo on the CPU. A group that already exists is
    reused and left open; one created here is destroyed on exit. On CUDA each process takes
    the GPU ``device`` names (``resolve_device(..., local_rank=...)`` chose it).

    Args:
        device: the device training runs on.

    Yields:
        The process's ``DistInfo``.

    Examples:
        >>> import torch
        >>> from coursekit.training.distributed import process_group
        >>> with process_group(torch.device("cpu")) as info:
        ...     print(info.world_size, info.rank)
        1 0
    """
    info = dist_info()
    if info.enabled and device.type == "cuda":
        torch.cuda.set_device(device)  # NCCL talks to the current device
    created = info.enabled and not dist.is_initialized()
    if created:
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    try:
        yield info
        if created:
            dist.barrier()  # no process leaves while another still uses the group
    finally:
        if created:
            dist.destroy_process_group()


def all_reduce_sum(tensor: torch.Tensor) -> torch.Tensor:
    """Sum ``tensor`` over all processes (in place); a no-op in a single process.

    Examples:
        >>> import torch
        >>> from coursekit.training.distributed import all_reduce_sum
        >>> all_reduce_sum(torch.tensor([1.0, 2.0])).tolist()
        [1.0, 2.0]
    """
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor
