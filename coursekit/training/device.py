"""Choosing where tensors live: CUDA if there is an NVIDIA GPU, then Apple's MPS, then the CPU."""

from __future__ import annotations

import torch

__all__ = ["DEVICE_CHOICES", "resolve_device"]

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


def resolve_device(device: str | torch.device = "auto", *,
                   local_rank: int | None = None) -> torch.device:
    """Turn ``"auto"`` (or a device name) into a ``torch.device`` that exists on this machine.

    ``"auto"`` picks CUDA, then Apple MPS, then the CPU. Naming a device this machine lacks is
    an error rather than a silent fallback, so a run never lands on the wrong hardware unseen.
    This is the one place the package chooses a device: under ``torchrun`` each process passes
    its ``local_rank`` and, on CUDA, gets the GPU of that number.

    Args:
        device: ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"`` or a ``torch.device``.
        local_rank: the process's ``LOCAL_RANK`` under ``torchrun``; ``None`` for one process.

    Returns:
        The device to use.

    Raises:
        ValueError: if the name is not a device, or that device is not available here.

    Examples:
        >>> from coursekit.training.device import resolve_device
        >>> resolve_device("cpu")
        device(type='cpu')
        >>> resolve_device("auto").type in {"cuda", "mps", "cpu"}
        True
        >>> resolve_device("tpu")
        Traceback (most recent call last):
        ...
        ValueError: device must be one of 'auto', 'cpu', 'cuda', 'mps' ..., got 'tpu'
    """
    if isinstance(device, torch.device):
        device = str(device)
    if not isinstance(device, str) or device.split(":")[0] not in DEVICE_CHOICES:
        choices = ", ".join(repr(c) for c in DEVICE_CHOICES)
        raise ValueError(f"device must be one of {choices} (or 'cuda:N'), got {device!r}")
    if device == "auto":
        if torch.cuda.is_available():
            device = "cuda"
        elif torch.backends.mps.is_available():
            return torch.device("mps")
        else:
            return torch.device("cpu")
    kind = device.split(":")[0]
    if kind == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for, but this machine has no CUDA GPU; "
                         "use device='auto' or 'cpu'")
    if kind == "mps" and not torch.backends.mps.is_available():
        raise ValueError("device 'mps' was asked for, but Apple MPS is not available here; "
                         "use device='auto' or 'cpu'")
    if kind == "cuda" and local_rank is not None:
        return torch.device("cuda", local_rank)
    return torch.device(device)
