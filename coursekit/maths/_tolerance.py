"""The rank tolerance shared by the linear-algebra modules (private: not part of the API)."""

from __future__ import annotations

import torch


def default_tol(s: torch.Tensor, shape) -> float:
    """Singular values below max(m, n) * eps * sigma_max are rounding noise (NumPy's rule)."""
    return float(s.max()) * max(shape) * torch.finfo(s.dtype).eps if s.numel() else 0.0
