"""Run folders: one run per folder, continued or replaced only when asked.

A run folder (``fit``'s ``checkpoint_dir``, the command's ``--out``) holds the checkpoint and
metrics of one run. ``open_run`` takes it for a run: it locks it, so that a second run on the
same folder is refused while the first is alive (two runs writing there would leave the
checkpoint of one beside the metrics of the other); it clears what writes killed in the middle
left behind; and it refuses to continue the run in it unless asked to resume, or to replace it
unless asked to overwrite.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch

from coursekit.training._atomic import remove_leftovers
from coursekit.training.checkpoint import CHECKPOINT_NAME, find_checkpoint

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

__all__ = ["LOCK_NAME", "RunInUseError", "describe_optimizer", "lock_run_folder", "lr_factor",
           "open_run"]

LOCK_NAME = ".lock"  # holds the pid of the run that has the folder
_HELD: set[Path] = set()  # the run folders this process has locked


class RunInUseError(OSError):
    """Another live process is running in this run folder."""


@contextmanager
def lock_run_folder(folder: str | Path) -> Iterator[Path]:
    """Hold a run folder for this process for the duration of a ``with`` block.

    The lock is an ``fcntl.flock`` on ``folder/.lock``, which holds the pid of its owner. The
    operating system releases it when the process ends, however it ends, so the file a killed
    run leaves behind blocks no one. Inside the block this process may take the same folder
    again (the command locks its ``--out``, then ``fit`` its ``checkpoint_dir``). Where
    ``fcntl`` does not exist (Windows) the folder is not locked.

    Args:
        folder: the run folder; it is created if needed.

    Yields:
        The folder.

    Raises:
        RunInUseError: naming its pid, if another live process holds the folder.
        NotADirectoryError: if ``folder`` is a file.

    Examples:
        >>> import tempfile
        >>> from coursekit.training.runs import lock_run_folder
        >>> with lock_run_folder(tempfile.mkdtemp()) as folder:
        ...     print((folder / ".lock").read_text().strip().isdigit())
        True
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(f"{folder} is a file, not a folder")
    folder.mkdir(parents=True, exist_ok=True)
    key = folder.resolve()
    if key in _HELD:
        yield folder
        return
    fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                pid = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
                raise RunInUseError(
                    f"{folder} is in use by another run (pid {pid}); wait for it to end, "
                    "or give another folder"
                ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        _HELD.add(key)
        try:
            yield folder
        finally:
            _HELD.discard(key)
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # and with it the lock


@contextmanager
def open_run(
    folder: str | Path,
    *,
    resume: bool,
    overwrite: bool,
    flags: tuple[str, str] = ("resume=True", "overwrite=True"),
) -> Iterator[Path | None]:
    """Take a run folder for one run: lock it, clear leftovers of killed writes, check intent.

    A folder that holds a checkpoint is continued only with ``resume`` and replaced only with
    ``overwrite`` (its checkpoint is deleted at once); ``resume`` needs a checkpoint there.

    Args:
        folder: the run folder; created if needed.
        resume: continue the run in it.
        overwrite: start over, deleting its checkpoint.
        flags: how the caller spells ``resume`` and ``overwrite``, for the messages (the
            command says ``("--resume", "--overwrite")``).

    Yields:
        The checkpoint to resume from, or ``None`` for a new run.

    Raises:
        RunInUseError: if another live process holds the folder (``lock_run_folder``).
        FileExistsError: if it holds a checkpoint and neither flag was given.
        FileNotFoundError: if ``resume`` was given and it holds no checkpoint.
        ValueError: if both flags were given, or ``checkpoint.pt`` is not a file.

    Examples:
        >>> import tempfile
        >>> from coursekit.training.runs import open_run
        >>> folder = tempfile.mkdtemp()
        >>> with open_run(folder, resume=False, overwrite=False) as checkpoint:
        ...     print(checkpoint)
        None
    """
    resume_flag, overwrite_flag = flags
    if resume and overwrite:
        raise ValueError(f"{resume_flag} and {overwrite_flag} exclude each other; give one")
    with lock_run_folder(folder) as folder:
        remove_leftovers(folder, [CHECKPOINT_NAME])
        existing = find_checkpoint(folder)
        if existing is not None and not (resume or overwrite):
            raise FileExistsError(
                f"{existing} holds a run already: give {resume_flag} to continue it, or "
                f"{overwrite_flag} to start over"
            )
        if resume and existing is None:
            raise FileNotFoundError(
                f"{resume_flag} was given, but there is no checkpoint in {folder} to continue"
            )
        if overwrite and existing is not None:
            existing.unlink()
        yield existing if resume else None


def describe_optimizer(optimizer: torch.optim.Optimizer) -> str:
    """The optimizer's kind and settings, as a run's config records them.

    The kind is the ``torch.optim`` class it is or derives from, so a subclass that only
    watches (a test's spy, say) is the optimizer it extends. The rate, which a resumed run may
    change, and the flags that only choose an implementation (``foreach``, ``fused``, ...) are
    left out.

    Examples:
        >>> import torch
        >>> from coursekit.training.runs import describe_optimizer
        >>> describe_optimizer(torch.optim.SGD([torch.zeros(1)], lr=0.1, momentum=0.9))
        'SGD(momentum=0.9, dampening=0, weight_decay=0, nesterov=False, maximize=False)'
    """
    kind = next((c for c in type(optimizer).__mro__ if c.__module__.startswith("torch.optim.")
                 and c is not torch.optim.Optimizer), type(optimizer))  # fmt: skip
    skip = {"lr", "foreach", "fused", "capturable", "differentiable"}
    settings = ", ".join(f"{k}={v!r}" for k, v in optimizer.defaults.items() if k not in skip)
    return f"{kind.__name__}({settings})"


def lr_factor(schedule: str, epoch: int, epochs: int) -> float:
    r"""The fraction of the base rate that epoch ``epoch`` (from 0) of ``epochs`` trains at.

    ``"constant"`` is 1; ``"cosine"`` anneals from 1 towards 0,

    $$
    \frac{1}{2}\left(1 + \cos \frac{\pi e}{E}\right),
    $$

    a function of the epoch $e$ and the total $E$ alone, so a resumed run with another total
    computes its rate afresh instead of carrying an old schedule's state.

    Examples:
        >>> from coursekit.training.runs import lr_factor
        >>> [round(lr_factor("cosine", e, 4), 4) for e in range(4)]
        [1.0, 0.8536, 0.5, 0.1464]
    """
    if schedule == "cosine":
        return 0.5 * (1 + math.cos(math.pi * epoch / epochs))
    return 1.0
