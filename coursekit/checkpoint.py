"""Checkpoints that are safe to write and safe to read.

Writing is atomic: the checkpoint goes to a temporary file in the same folder, is flushed to
disk, and only then renamed over the old one with ``os.replace``, so a crash or a kill during
the write leaves the previous checkpoint intact. Reading uses ``torch.load(weights_only=True)``,
which only rebuilds tensors, numbers, strings, lists and dicts: a checkpoint from elsewhere can
never run code on load.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

FORMAT = "coursekit-checkpoint-1"


def unwrap(model: nn.Module) -> nn.Module:
    """The plain module inside ``DistributedDataParallel`` and ``torch.compile`` wrappers.

    Examples:
        >>> from torch import nn
        >>> from coursekit.checkpoint import unwrap
        >>> net = nn.Linear(2, 2)
        >>> unwrap(net) is net
        True
    """
    while True:
        if isinstance(model, nn.parallel.DistributedDataParallel):
            model = model.module
        elif hasattr(model, "_orig_mod"):  # what torch.compile returns
            model = model._orig_mod
        else:
            return model


def save_checkpoint(
    path: str | Path, model: nn.Module, optimizer: torch.optim.Optimizer | None = None, **state: Any
) -> Path:
    """Atomically write the model's weights, the optimizer's state and any extra state.

    Args:
        path: the file to write; its folder is created if needed.
        model: the model (wrappers such as DDP or ``torch.compile`` are looked through).
        optimizer: its state (momentum buffers, step counts) is saved too when given.
        **state: more to keep, e.g. ``epoch=3, history={...}``: tensors, numbers, strings,
            lists and dicts only, since the loader rebuilds nothing else.

    Returns:
        The path written.

    Examples:
        >>> import tempfile
        >>> from torch import nn
        >>> from coursekit.checkpoint import load_checkpoint, save_checkpoint
        >>> folder = tempfile.mkdtemp()
        >>> path = save_checkpoint(f"{folder}/ckpt.pt", nn.Linear(3, 2), epoch=1)
        >>> load_checkpoint(path, nn.Linear(3, 2))["epoch"]
        1
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": FORMAT,
        "model": unwrap(model).state_dict(),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "state": state,
    }
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(payload, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return path


def load_checkpoint(
    path: str | Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    map_location: str | torch.device = "cpu",
) -> dict[str, Any]:
    """Load a checkpoint written by ``save_checkpoint`` into ``model`` (and ``optimizer``).

    Args:
        path: the checkpoint file.
        model: receives the weights; its architecture must match.
        optimizer: receives the saved optimizer state when given.
        map_location: where the loaded tensors are put before copying into the model.

    Returns:
        The extra state passed to ``save_checkpoint`` (e.g. ``{"epoch": 3, ...}``).

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        ValueError: naming the file, if it is truncated, is not a coursekit checkpoint, holds
            anything but plain data, or does not fit ``model`` or ``optimizer``.

    Examples:
        >>> import tempfile
        >>> from torch import nn
        >>> from coursekit.checkpoint import load_checkpoint
        >>> bad = f"{tempfile.mkdtemp()}/bad.pt"
        >>> _ = open(bad, "w").write("not a checkpoint")
        >>> load_checkpoint(bad, nn.Linear(3, 2))
        Traceback (most recent call last):
        ...
        ValueError: .../bad.pt is not a readable checkpoint (truncated or ...): ...
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # torch raises RuntimeError, UnpicklingError, EOFError, ...
        msg = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(
            f"{path} is not a readable checkpoint (truncated or a different kind of file): {msg}"
        ) from err
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{path} is not a coursekit checkpoint (no '{FORMAT}' format tag)")
    try:
        unwrap(model).load_state_dict(payload["model"])
    except RuntimeError as err:
        raise ValueError(f"{path} does not fit this model: {err}") from err
    if optimizer is not None:
        if payload["optimizer"] is None:
            raise ValueError(f"{path} holds no optimizer state")
        try:
            optimizer.load_state_dict(payload["optimizer"])
        except (ValueError, KeyError) as err:
            raise ValueError(f"{path} does not fit this optimizer: {err}") from err
    return payload["state"]
