r"""Where a token sits: sinusoidal position encodings and rotary position embeddings.

Attention alone ignores order (permuting the inputs permutes the outputs), so a transformer
is told positions. Vaswani et al. (2017, "Attention is all you need") add a fixed vector of
sines and cosines to each embedding; Su et al. (2021, "RoFormer: enhanced transformer with
rotary position embedding") instead rotate queries and keys by angles proportional to their
positions, so that their dot product depends on the offset between them only. The chapter
"Attention" (``docs/blocks/attention.md``) teaches both. Bad input raises a ``ValueError``
that names the argument.
"""

from __future__ import annotations

import torch

from coursekit._validation import as_real_float, as_tensor, positive, positive_int

__all__ = ["sinusoidal_positions", "apply_rotary"]


def _even(dim: int, name: str) -> int:
    if dim % 2:
        raise ValueError(f"{name} must be even, got {dim}")
    return dim


def sinusoidal_positions(length: int, dim: int, base: float = 10000.0, *,
                         dtype: torch.dtype | None = None) -> torch.Tensor:
    r"""The fixed position encodings of Vaswani et al. (2017), one row per position.

    $$
    P_{t, 2i} = \sin\left(t\, b^{-2i/D}\right), \qquad
    P_{t, 2i+1} = \cos\left(t\, b^{-2i/D}\right), \qquad i < D/2,
    $$

    wavelengths from $2\pi$ to $2\pi b$ in a geometric progression; the encoding of
    $t + k$ is a rotation of that of $t$ in each pair of columns, which lets attention
    read offsets.

    Args:
        length: the number of positions $T$ (rows $t = 0, \dots, T - 1$).
        dim: the embedding size $D$, even.
        base: $b$.
        dtype: the result's floating dtype (computed in float64); ``None`` for the default.

    Returns:
        A tensor of shape ``(length, dim)``, added to token embeddings ``(B, T, D)``.

    Raises:
        ValueError: naming the argument, if ``length`` or ``dim`` is not a positive integer,
            ``dim`` is odd or ``base`` is not a positive number.

    Examples:
        >>> from coursekit.blocks.positions import sinusoidal_positions
        >>> P = sinusoidal_positions(50, 16)
        >>> tuple(P.shape)  # (T, D)
        (50, 16)
        >>> P[0].tolist()[:4]  # sin 0, cos 0, ...
        [0.0, 1.0, 0.0, 1.0]
    """
    length = positive_int(length, "length")
    dim = _even(positive_int(dim, "dim"), "dim")
    base = positive(base, "base")
    t = torch.arange(length, dtype=torch.float64)[:, None]  # (T, 1)
    freqs = base ** (-torch.arange(0, dim, 2, dtype=torch.float64) / dim)  # (D / 2,)
    angles = t * freqs  # (T, D / 2)
    P = torch.stack([angles.sin(), angles.cos()], dim=-1).flatten(-2)  # (T, D), interleaved
    return P.to(dtype or torch.get_default_dtype())


def _rotate_half(x: torch.Tensor) -> torch.Tensor:
    x1, x2 = x.chunk(2, dim=-1)  # the first and the second half of the features
    return torch.cat([-x2, x1], dim=-1)


def apply_rotary(x: torch.Tensor, positions: torch.Tensor, theta: float = 10000.0) -> torch.Tensor:
    r"""Rotary position embedding (RoPE, Su et al. 2021), in the "rotate half" layout of Llama.

    Feature $j < D/2$ is paired with feature $j + D/2$, and the pair at position $m$ is
    rotated by the angle $m \theta_j$, $\theta_j = \theta^{-2j/D}$:

    $$
    \operatorname{RoPE}(x)_m = x_m \odot \cos(m \Theta) + \operatorname{rot}(x_m) \odot
    \sin(m \Theta), \qquad \operatorname{rot}(x) = (-x_{D/2:}, x_{:D/2}),
    $$

    with $\Theta = (\theta_0, \dots, \theta_{D/2-1}, \theta_0, \dots, \theta_{D/2-1})$.
    Since rotations compose, $\operatorname{RoPE}(q)_m \cdot \operatorname{RoPE}(k)_n$
    depends on $m - n$ only. The paper pairs neighbouring features $(2j, 2j + 1)$ instead;
    the two layouts differ by a fixed permutation of the features, and this one is what
    Hugging Face's ``LlamaForCausalLM`` computes (its ``rotate_half``), in float32 for half
    and single precision input and in float64 for float64 input.

    Args:
        x: queries or keys, shape ``(..., T, D)`` with $D$ even (per head: ``(B, H, T, D)``).
        positions: integer positions $m$, broadcasting to ``x.shape[:-1]``: ``(T,)``, or
            ``(B, 1, T)`` for a batch of offsets.
        theta: $\theta$, the base of the frequencies.

    Returns:
        The rotated ``x``, same shape and dtype.

    Raises:
        ValueError: naming the argument, if ``x`` is not a real tensor ``(..., T, D)`` with
            even $D$, ``positions`` is not integers broadcasting to ``x.shape[:-1]``, or
            ``theta`` is not a positive number.

    Examples:
        >>> import torch
        >>> from coursekit.blocks.positions import apply_rotary
        >>> _ = torch.manual_seed(0)
        >>> q, k = torch.randn(8, dtype=torch.float64), torch.randn(8, dtype=torch.float64)
        >>> def score(m, n):  # q at position m, k at position n
        ...     qm = apply_rotary(q[None], torch.tensor([m]))
        ...     kn = apply_rotary(k[None], torch.tensor([n]))
        ...     return (qm @ kn.T).item()
        >>> abs(score(3, 1) - score(10, 8)) < 1e-12  # the same offset, 2
        True
    """
    x = as_real_float(x, "x")
    if x.ndim < 2 or x.shape[-1] % 2:
        raise ValueError(f"x must have shape (..., T, D) with D even, got shape {tuple(x.shape)}")
    positions = as_tensor(positions, "positions")
    if positions.is_floating_point() or positions.is_complex() or positions.dtype == torch.bool:
        raise ValueError(f"positions must be integers, got dtype {positions.dtype}")
    try:
        if torch.broadcast_shapes(positions.shape, x.shape[:-1]) != x.shape[:-1]:
            raise RuntimeError
    except RuntimeError:
        raise ValueError(f"positions must broadcast to x.shape[:-1] = {tuple(x.shape[:-1])}, "
                         f"got shape {tuple(positions.shape)}") from None
    theta = positive(theta, "theta")
    D, work = x.shape[-1], torch.promote_types(x.dtype, torch.float32)
    # the frequencies as transformers' Llama computes them, so that float32 agrees with it
    freqs = 1.0 / (theta ** (torch.arange(0, D, 2, device=x.device).to(work) / D))  # (D / 2,)
    angles = positions.to(x.device, work)[..., None] * freqs  # (..., T, D / 2)
    angles = torch.cat([angles, angles], dim=-1)  # (..., T, D)
    return x * angles.cos().to(x.dtype) + _rotate_half(x) * angles.sin().to(x.dtype)
