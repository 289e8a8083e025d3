"""Input conversion shared by the math modules: tensors, NumPy arrays and lists all work."""

from __future__ import annotations

import torch


def as_float(x, name: str = "input") -> torch.Tensor:
    """``x`` as a floating (or complex) tensor; integers become torch's default dtype.

    Raises:
        ValueError: naming ``name``, if ``x`` is not a tensor or array of numbers.
    """
    try:
        t = torch.as_tensor(x)
    except (TypeError, ValueError, RuntimeError) as err:
        kind = type(x).__name__
        raise ValueError(f"{name} must be a tensor or array of numbers, got {kind}") from err
    return t if t.is_floating_point() or t.is_complex() else t.to(torch.get_default_dtype())
