"""Checkpoints that are safe to write and safe to read.

Writing is atomic: the checkpoint goes to a temporary file in the same folder, is flushed to
disk, is loaded back as a reader would load it, and only then renamed over the old one with
``os.replace``, so a crash, a kill or an unloadable state leaves the previous checkpoint
intact. Reading uses ``torch.load(weights_only=True)``, which only rebuilds tensors, numbers,
strings, lists and dicts: a checkpoint from elsewhere can never run code on load.

``resume`` continues a run only with the settings it was trained with, except its schedule
(epochs, rate); ``coursekit.training.runs`` keeps one run per folder.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from coursekit.training._atomic import write_atomically

__all__ = [
    "CHECKPOINT_NAME", "RESCHEDULABLE", "checkpoint_path", "find_checkpoint", "load_checkpoint",
    "resume", "save_checkpoint", "unwrap",
]  # fmt: skip

FORMAT = "coursekit-checkpoint-1"
CHECKPOINT_NAME = "checkpoint.pt"  # the file fit writes in its checkpoint_dir
RESCHEDULABLE = ("epochs", "lr", "lr_schedule")  # what a resumed run may change

def checkpoint_path(checkpoint_dir: str | Path | None) -> Path | None:
    """The checkpoint file of a run folder, ``checkpoint_dir / "checkpoint.pt"`` (or None).

    Examples:
        >>> from coursekit.training.checkpoint import checkpoint_path
        >>> checkpoint_path("runs/digits").as_posix()
        'runs/digits/checkpoint.pt'
    """
    return Path(checkpoint_dir) / CHECKPOINT_NAME if checkpoint_dir is not None else None


def find_checkpoint(checkpoint_dir: str | Path) -> Path | None:
    """The run folder's checkpoint file, or ``None`` when it has none yet.

    Raises:
        ValueError: if ``checkpoint.pt`` is there but is not a file (a folder, say).

    Examples:
        >>> import tempfile
        >>> from coursekit.training.checkpoint import find_checkpoint
        >>> find_checkpoint(tempfile.mkdtemp()) is None
        True
    """
    path = Path(checkpoint_dir) / CHECKPOINT_NAME
    if path.is_file():
        return path
    if path.exists():
        raise ValueError(f"{path} is not a file: move it away, it is where the checkpoint goes")
    return None


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

    The new file replaces the old one only once it has been loaded back with
    ``torch.load(weights_only=True)``, as ``load_checkpoint`` will read it.

    Args:
        path: the file to write; its folder is created if needed.
        model: the model (wrappers such as DDP or ``torch.compile`` are looked through).
        optimizer: its state (momentum buffers, step counts) is saved too when given.
        **state: more to keep, e.g. ``epoch=3, history={...}``: tensors, numbers, strings,
            lists and dicts only, since the loader rebuilds nothing else.

    Returns:
        The path written.

    Raises:
        ValueError: naming the file, if ``state`` holds something the loader would refuse
            (a NumPy number, say); the old file is kept.

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

    def loads_back(tmp: Path) -> None:
        try:
            torch.load(tmp, map_location="cpu", weights_only=True)
        except Exception as err:  # what the reader would meet
            raise ValueError(
                f"{path} not written: it would not load back with torch.load(weights_only=True) "
                f"({_reason(err)}); keep the state to tensors, numbers, strings, lists and dicts "
                "(a NumPy number x as float(x))"
            ) from err

    return write_atomically(path, lambda f: torch.save(payload, f), check=loads_back)


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
        optimizer: receives the saved optimizer state when given; it must be the kind of
            optimizer that saved it.
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
    payload = _read(path, map_location)
    _restore(path, payload, model, optimizer)
    return payload["state"]


def resume(
    checkpoint_dir: str | Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    *,
    config: dict[str, Any],
    map_location: str | torch.device = "cpu",
) -> dict[str, Any]:
    """Continue a run: check its settings, then load its checkpoint into model and optimizer.

    Args:
        checkpoint_dir: the run folder.
        model: receives the saved weights.
        optimizer: receives the saved optimizer state.
        config: this run's settings, compared with those saved in the checkpoint. Those in
            ``RESCHEDULABLE`` (``epochs``, ``lr``, ``lr_schedule``) may change, with a warning
            that the caller recomputes the schedule (none for more epochs of a constant rate),
            but ``epochs`` not below the epochs done. A change of ``world_size`` (the number
            of processes) gets a warning, since the run will no longer match an
            uninterrupted one; any other change (model, data, optimizer, batch size, seed) is
            refused. Settings that only one side has (an older checkpoint's) are not compared.
        map_location: where the loaded tensors go first.

    Returns:
        The saved state (``epoch``, ``history``, ``config``).

    Raises:
        FileNotFoundError: if the folder holds no checkpoint.
        ValueError: if a setting changed that may not, naming both values, or ``epochs`` is
            below the epochs done; or if the checkpoint is unreadable or does not fit
            (``load_checkpoint``). Nothing is loaded then.
    """
    path = find_checkpoint(checkpoint_dir)
    if path is None:
        raise FileNotFoundError(f"no checkpoint in {checkpoint_dir} to resume")
    payload = _read(path, map_location)
    saved = payload["state"].get("config") or {}
    shared = [key for key in config if key in saved and saved[key] != config[key]]
    refused = [key for key in shared if key not in (*RESCHEDULABLE, "world_size")]
    if refused:
        raise ValueError(
            f"{path} was trained with {_settings(saved, refused)}, but this run has "
            f"{_settings(config, refused)}: resuming would mix two runs; use the checkpoint's "
            "settings, or start a new run"
        )
    done = payload["state"].get("epoch", 0)
    if config.get("epochs", done) < done:
        raise ValueError(
            f"epochs is {config['epochs']}, but {path} has already trained {done} epochs; "
            f"give at least {done}"
        )
    if "world_size" in shared:
        warnings.warn(
            f"resuming {path} with {config['world_size']} processes, but it was trained with "
            f"{saved['world_size']}: the run will not match an uninterrupted one", stacklevel=3,
        )  # fmt: skip
    rescheduled = [key for key in RESCHEDULABLE if key in shared]
    if rescheduled == ["epochs"] and config.get("lr_schedule") == "constant":
        rescheduled = []  # more epochs at the same constant rate: the run simply goes on
    if rescheduled:
        changes = ", ".join(f"{key.replace('_', ' ')} {config[key]} (was {saved[key]})"
                            for key in rescheduled)  # fmt: skip
        warnings.warn(
            f"resuming {path} after epoch {done} with {changes}: the learning-rate schedule "
            "is recomputed for the new settings", stacklevel=3,
        )  # fmt: skip
    _restore(path, payload, model, optimizer)
    return payload["state"]


def _read(path: Path, map_location: str | torch.device) -> dict[str, Any]:
    """The checkpoint's payload, read without running any code."""
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # torch raises RuntimeError, UnpicklingError, EOFError, ...
        raise ValueError(
            f"{path} is not a readable checkpoint (truncated or a different kind of file): "
            f"{_reason(err)}"
        ) from err
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{path} is not a coursekit checkpoint (no '{FORMAT}' format tag)")
    return payload


def _restore(path: Path, payload: dict[str, Any], model: nn.Module,
             optimizer: torch.optim.Optimizer | None) -> None:  # fmt: skip
    try:
        unwrap(model).load_state_dict(payload["model"])
    except RuntimeError as err:
        raise ValueError(f"{path} does not fit this model: {err}") from err
    if optimizer is None:
        return
    saved = payload["optimizer"]
    if saved is None:
        raise ValueError(f"{path} holds no optimizer state")
    # another optimizer's settings would be loaded as they are and fail at its first step
    foreign = {key for group in saved.get("param_groups", []) for key in group} - {
        key for group in optimizer.param_groups for key in group} - {"initial_lr"}  # fmt: skip
    if foreign:
        raise ValueError(
            f"{path} does not fit this optimizer: it holds the state of an optimizer with the "
            f"settings {sorted(foreign)}, which {type(optimizer).__name__} does not have "
            f"(its own: {sorted(optimizer.defaults)})"
        )
    try:
        optimizer.load_state_dict(saved)
    except (ValueError, KeyError) as err:
        raise ValueError(f"{path} does not fit this optimizer: {err}") from err


def _settings(config: dict[str, Any], keys: list[str]) -> str:
    return ", ".join(f"{key}={config[key]!r}" for key in keys)


def _reason(err: Exception) -> str:
    """The line of a loading error that says what is wrong."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    for line in lines:  # torch's weights_only refusal buries the reason in a long message
        if "WeightsUnpickler error:" in line:
            return line.split("WeightsUnpickler error:", 1)[1].split(". Please")[0].strip()
    return lines[0] if lines else type(err).__name__
