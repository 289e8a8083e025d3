"""Checkpoints that are safe to write and safe to read.

Writing is atomic: the checkpoint goes to a temporary file in the same folder, is flushed to
disk, and only then renamed over the old one with ``os.replace``, so a crash or a kill during
the write leaves the previous checkpoint intact. Reading uses ``torch.load(weights_only=True)``,
which only rebuilds tensors, numbers, strings, lists and dicts: a checkpoint from elsewhere can
never run code on load.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from coursekit.training._atomic import write_atomically

__all__ = [
    "CHECKPOINT_NAME", "checkpoint_path", "load_checkpoint", "resume", "save_checkpoint",
    "unwrap",
]  # fmt: skip

FORMAT = "coursekit-checkpoint-1"
CHECKPOINT_NAME = "checkpoint.pt"  # the file fit writes in its checkpoint_dir


def checkpoint_path(checkpoint_dir: str | Path | None) -> Path | None:
    """The checkpoint file of a run folder, ``checkpoint_dir / "checkpoint.pt"`` (or None).

    Examples:
        >>> from coursekit.training.checkpoint import checkpoint_path
        >>> checkpoint_path("runs/digits").as_posix()
        'runs/digits/checkpoint.pt'
    """
    return Path(checkpoint_dir) / CHECKPOINT_NAME if checkpoint_dir is not None else None


def unwrap(model: nn.Module) -> nn.Module:
    """The plain module inside ``DistributedDataParallel`` and ``torch.compile`` wrappers.

    Examples:
        >>> from torch import nn
        >>> from coursekit.training.checkpoint import unwrap
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
        >>> from coursekit.training.checkpoint import load_checkpoint, save_checkpoint
        >>> folder = tempfile.mkdtemp()
        >>> path = save_checkpoint(f"{folder}/ckpt.pt", nn.Linear(3, 2), epoch=1)
        >>> load_checkpoint(path, nn.Linear(3, 2))["epoch"]
        1
    """
    payload = {
        "format": FORMAT,
        "model": unwrap(model).state_dict(),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "state": state,
    }
    return write_atomically(path, lambda f: torch.save(payload, f))


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
        >>> from coursekit.training.checkpoint import load_checkpoint
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


def resume(
    checkpoint_dir: str | Path | None,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    *,
    config: dict[str, Any],
    map_location: str | torch.device = "cpu",
) -> dict[str, Any] | None:
    """Continue a run: load its folder's checkpoint into ``model`` and ``optimizer``.

    Args:
        checkpoint_dir: the run folder; ``None`` means there is nothing to resume.
        model, optimizer: receive the saved weights and optimizer state.
        config: the settings that make two runs comparable (batch size, seed, processes); a
            checkpoint saved with other settings is resumed with a warning, since the run will
            no longer match an uninterrupted one.
        map_location: where the loaded tensors go first.

    Returns:
        The saved state (``epoch``, ``history``, ``schedule``, ``config``), or ``None`` when the
        folder holds no checkpoint yet.
    """
    path = checkpoint_path(checkpoint_dir)
    if path is None or not path.is_file():
        return None
    state = load_checkpoint(path, model, optimizer, map_location=map_location)
    if state.get("config") != config:
        warnings.warn(
            f"resuming {path} with {config}, but it was trained with {state.get('config')}: "
            "the run will not match an uninterrupted one", stacklevel=3,
        )  # fmt: skip
    return state
