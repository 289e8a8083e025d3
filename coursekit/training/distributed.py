"""Data-parallel training under ``torchrun``: which process am I, and the process group.

``torchrun --nproc_per_node=N script.py`` starts N copies of the script and tells each one its
place through environment variables: ``RANK`` (0 to N-1 across all machines), ``LOCAL_RANK``
(the GPU index on this machine) and ``WORLD_SIZE`` (N), and where to meet the others:
``MASTER_ADDR`` and ``MASTER_PORT``. ``coursekit.training.train.fit`` reads them with
``dist_info``, joins the process group with ``process_group`` and lets PyTorch's
``DistributedDataParallel`` average the gradients; only rank 0 logs and writes files.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist
from torch.distributed.constants import default_pg_timeout

__all__ = ["TIMEOUT_VARIABLE", "DistInfo", "all_reduce_sum", "dist_info", "process_group"]

TIMEOUT_VARIABLE = "COURSEKIT_DIST_TIMEOUT"  # seconds to wait for the other processes
DEFAULT_TIMEOUT = 60.0


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
        ValueError: naming the variable, if one is not an integer, or if they are
            inconsistent (rank outside ``0..WORLD_SIZE-1``).

    Examples:
        >>> from coursekit.training.distributed import dist_info
        >>> info = dist_info()  # not launched by torchrun here
        >>> info.rank, info.world_size, info.is_main, info.enabled
        (0, 1, True, False)
    """
    world_size = _env_int("WORLD_SIZE", 1)
    rank = _env_int("RANK", 0)
    local_rank = _env_int("LOCAL_RANK", rank)
    if world_size < 1 or not 0 <= rank < world_size:
        raise ValueError(
            f"RANK must be in 0..WORLD_SIZE-1, got RANK={rank}, WORLD_SIZE={world_size}"
        )
    if local_rank < 0:
        raise ValueError(f"LOCAL_RANK must not be negative, got {local_rank}")
    return DistInfo(rank, local_rank, world_size)


@contextmanager
def process_group(device: torch.device) -> Iterator[DistInfo]:
    """Join the ``torchrun`` process group for the duration of a ``with`` block.

    Uses NCCL when training on CUDA and gloo on the CPU. A group that already exists is
    reused and left open; one created here is destroyed on exit. On CUDA each process takes
    the GPU ``device`` names (``resolve_device(..., local_rank=...)`` chose it).

    Meeting the other processes waits at most ``COURSEKIT_DIST_TIMEOUT`` seconds (60 by
    default), so a process whose peers never come stops with an error instead of waiting
    for ever; once met, the group's operations have PyTorch's default timeout (a rank may
    take a while to save a checkpoint or compile while the others wait).

    Args:
        device: the device training runs on.

    Yields:
        The process's ``DistInfo``.

    Raises:
        ValueError: naming the variable, if a ``torchrun`` variable or
            ``COURSEKIT_DIST_TIMEOUT`` is missing or malformed.
        TimeoutError: if the other processes did not show up in time.

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
        _join(info, "nccl" if device.type == "cuda" else "gloo")
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


def _join(info: DistInfo, backend: str) -> None:
    """Meet the other processes at ``MASTER_ADDR:MASTER_PORT`` within the timeout, then
    create the default process group over the store that meeting set up."""
    address = os.environ.get("MASTER_ADDR", "").strip()
    if not address:
        raise ValueError("MASTER_ADDR is not set: torchrun sets it, as the address of rank 0")
    port = _env_int("MASTER_PORT", None)
    if not 0 < port < 2**16:
        raise ValueError(f"MASTER_PORT must be a port number in 1..65535, got {port}")
    seconds = _timeout_seconds()
    try:  # env:// reads RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT, checked above
        store, rank, world_size = next(dist.rendezvous(
            "env://", info.rank, info.world_size, timeout=timedelta(seconds=seconds)))
    except (RuntimeError, ValueError) as err:  # DistStoreError, DistNetworkError
        raise TimeoutError(
            f"process {info.rank} of {info.world_size} did not meet the others at "
            f"{address}:{port} within {seconds:g} s ({TIMEOUT_VARIABLE}); start all "
            f"{info.world_size} with torchrun, or raise {TIMEOUT_VARIABLE}"
        ) from err
    store.set_timeout(default_pg_timeout)
    # what init_process_group does with a store it makes itself: keys of its own
    dist.init_process_group(backend, store=dist.PrefixStore("default_pg", store),
                            rank=rank, world_size=world_size)  # fmt: skip


def _env_int(name: str, default: int | None) -> int:
    """The integer in environment variable ``name``; ``default`` if unset (required if None)."""
    text = os.environ.get(name, "").strip()
    if not text:
        if default is None:
            raise ValueError(f"{name} is not set: torchrun sets it")
        return default
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {text!r}") from None


def _timeout_seconds() -> float:
    text = os.environ.get(TIMEOUT_VARIABLE, "").strip()
    if not text:
        return DEFAULT_TIMEOUT
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise ValueError(f"{TIMEOUT_VARIABLE} must be a positive number of seconds, got {text!r}")
    return seconds
