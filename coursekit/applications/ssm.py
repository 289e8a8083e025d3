r"""Linear state-space models: one layer computed as a recurrence and as a convolution.

A discrete linear state-space model maps inputs $u_k \in \mathbb{R}^m$ to outputs
$y_k \in \mathbb{R}^p$ through a hidden state $x_k \in \mathbb{R}^n$,

$$
x_k = A x_{k-1} + B u_k, \qquad y_k = C x_k, \qquad x_0 = 0 .
$$

Unrolled, $y_k = \sum_{j=0}^{k-1} C A^j B \, u_{k-j}$: the output is the input convolved with the
kernel $K = (CB, CAB, CA^2B, \dots)$. The recurrence costs $O(L)$ sequential steps, as in an
RNN, and suits generation one step at a time; the convolution sees the whole sequence at once,
and with the FFT trains in parallel in $O(L \log L)$. S4 (Gu, Goel and Ré, 2022, "Efficiently
modeling long sequences with structured state spaces") builds deep sequence models from such
layers; Mamba (Gu and Dao, 2023) makes $A$, $B$, $C$ depend on the input, which gives up the
convolution for a parallel scan.
"""

from __future__ import annotations

import torch

from coursekit._validation import finite, matrix, nonempty, positive_int

__all__ = ["ssm_convolution", "ssm_kernel", "ssm_recurrence"]


def _system(A, B, C) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``A`` (n, n), ``B`` (n, m), ``C`` (p, n) as finite real matrices of one dtype."""
    A, B, C = (finite(nonempty(_real(matrix(M, name), name), name), name)
               for M, name in ((A, "A"), (B, "B"), (C, "C")))  # fmt: skip
    n = A.shape[0]
    if A.shape != (n, n):
        raise ValueError(f"A must be a square matrix, got shape {tuple(A.shape)}")
    if B.shape[0] != n:
        raise ValueError(f"B must have A's {n} rows, got shape {tuple(B.shape)}")
    if C.shape[1] != n:
        raise ValueError(f"C must have A's {n} columns, got shape {tuple(C.shape)}")
    dtype = torch.promote_types(torch.promote_types(A.dtype, B.dtype), C.dtype)
    if dtype in (torch.float16, torch.bfloat16):
        raise ValueError(f"A, B and C must be single or double precision, got dtype {dtype}")
    return A.to(dtype), B.to(dtype), C.to(dtype)


def _real(t: torch.Tensor, name: str) -> torch.Tensor:
    if t.is_complex():
        raise ValueError(f"{name} must be real, got dtype {t.dtype}")
    return t


def _inputs(u, B: torch.Tensor) -> torch.Tensor:
    """``u`` as a finite ``(L, m)`` tensor in ``B``'s dtype, ``m`` the columns of ``B``."""
    u = finite(_real(matrix(u, "u"), "u"), "u")
    if u.shape[1] != B.shape[1]:
        raise ValueError(f"u must have shape (L, {B.shape[1]}), one column per column of B, "
                         f"got shape {tuple(u.shape)}")  # fmt: skip
    return u.to(B.dtype)


def ssm_recurrence(A, B, C, u) -> torch.Tensor:
    r"""Run the state-space model step by step: $x_k = A x_{k-1} + B u_k$, $y_k = C x_k$.

    The state starts at $x_0 = 0$; the loop is the RNN view of the model.

    Args:
        A: state matrix, shape ``(n, n)``.
        B: input matrix, shape ``(n, m)``.
        C: output matrix, shape ``(p, n)``.
        u: the input sequence $u_1, \dots, u_L$, shape ``(L, m)``.

    Returns:
        The outputs $y_1, \dots, y_L$, shape ``(L, p)``, in the dtype of ``A``, ``B`` and ``C``.

    Raises:
        ValueError: naming the argument, if a matrix is not 2-D, empty (``u`` may have no rows),
            not real and finite, or the shapes do not fit together.

    Examples:
        >>> import torch
        >>> from coursekit.applications.ssm import ssm_recurrence
        >>> A = torch.tensor([[0.5]])  # a leaky accumulator: half the state survives a step
        >>> B, C = torch.tensor([[1.0]]), torch.tensor([[1.0]])
        >>> ssm_recurrence(A, B, C, torch.tensor([[1.0], [0.0], [0.0], [2.0]])).flatten()
        tensor([1.0000, 0.5000, 0.2500, 2.1250])
    """
    A, B, C = _system(A, B, C)
    u = _inputs(u, B)
    x = torch.zeros(A.shape[0], dtype=A.dtype)  # (n,)
    ys = []
    for u_k in u:  # (m,)
        x = A @ x + B @ u_k
        ys.append(C @ x)  # (p,)
    return torch.stack(ys) if ys else torch.zeros(0, C.shape[0], dtype=A.dtype)


def ssm_kernel(A, B, C, length: int) -> torch.Tensor:
    r"""The convolution kernel $K_j = C A^j B$ for $j = 0, \dots, L - 1$.

    Args:
        A: state matrix, shape ``(n, n)``.
        B: input matrix, shape ``(n, m)``.
        C: output matrix, shape ``(p, n)``.
        length: the number $L$ of kernel taps.

    Returns:
        ``K`` of shape ``(L, p, m)``.

    Raises:
        ValueError: naming the argument, if a matrix is not a real finite 2-D matrix, the
            shapes do not fit together, or ``length`` is not a positive integer.

    Examples:
        >>> import torch
        >>> from coursekit.applications.ssm import ssm_kernel
        >>> A, B, C = torch.tensor([[0.5]]), torch.tensor([[1.0]]), torch.tensor([[2.0]])
        >>> ssm_kernel(A, B, C, 4).flatten()  # 2 * 0.5**j
        tensor([2.0000, 1.0000, 0.5000, 0.2500])
    """
    A, B, C = _system(A, B, C)
    length = positive_int(length, "length")
    taps, power_b = [], B  # A^j B, (n, m)
    for _ in range(length):
        taps.append(C @ power_b)  # (p, m)
        power_b = A @ power_b
    return torch.stack(taps)


def ssm_convolution(A, B, C, u) -> torch.Tensor:
    r"""Compute the model's outputs as one causal convolution with its kernel, by FFT.

    $$
    y_k = \sum_{j=0}^{k-1} K_j \, u_{k-j}, \qquad K_j = C A^j B .
    $$

    Both sequences are zero-padded to length $2L$, so that the FFT's circular convolution
    equals the linear one on the first $L$ outputs (the trick S4 trains with).

    Args:
        A: state matrix, shape ``(n, n)``.
        B: input matrix, shape ``(n, m)``.
        C: output matrix, shape ``(p, n)``.
        u: the input sequence, shape ``(L, m)``.

    Returns:
        The outputs, shape ``(L, p)``: those of `ssm_recurrence`, up to rounding.

    Raises:
        ValueError: as `ssm_recurrence`.

    Examples:
        >>> import torch
        >>> from coursekit.applications.ssm import ssm_convolution, ssm_recurrence
        >>> g = torch.Generator().manual_seed(0)
        >>> A = 0.3 * torch.randn(4, 4, generator=g, dtype=torch.float64)
        >>> B = torch.randn(4, 2, generator=g, dtype=torch.float64)
        >>> C = torch.randn(3, 4, generator=g, dtype=torch.float64)
        >>> u = torch.randn(50, 2, generator=g, dtype=torch.float64)
        >>> torch.allclose(ssm_convolution(A, B, C, u), ssm_recurrence(A, B, C, u))
        True
    """
    A, B, C = _system(A, B, C)
    u = _inputs(u, B)
    length = len(u)
    if length == 0:
        return torch.zeros(0, C.shape[0], dtype=A.dtype)
    kernel = ssm_kernel(A, B, C, length)  # (L, p, m)
    k_hat = torch.fft.rfft(kernel, n=2 * length, dim=0)  # (L + 1, p, m)
    u_hat = torch.fft.rfft(u, n=2 * length, dim=0)  # (L + 1, m)
    y_hat = torch.einsum("fpm,fm->fp", k_hat, u_hat)
    return torch.fft.irfft(y_hat, n=2 * length, dim=0)[:length]  # (L, p)
