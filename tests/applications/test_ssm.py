"""Tests for coursekit.applications.ssm: the recurrence and the convolution against SciPy's
discrete-time simulation, and against each other on random sizes."""

import numpy as np
import pytest
import scipy.signal
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from coursekit.applications.ssm import ssm_convolution, ssm_kernel, ssm_recurrence


def random_system(n: int, m: int, p: int, seed: int):
    """A stable system: A scaled to spectral norm 0.9, so long sequences stay bounded."""
    g = torch.Generator().manual_seed(seed)
    A = torch.randn(n, n, generator=g, dtype=torch.float64)
    A = 0.9 * A / torch.linalg.matrix_norm(A, ord=2)
    B = torch.randn(n, m, generator=g, dtype=torch.float64)
    C = torch.randn(p, n, generator=g, dtype=torch.float64)
    return A, B, C


def dlsim_outputs(A, B, C, u) -> np.ndarray:
    """SciPy's x[k+1] = A x[k] + B u[k], y[k] = C' x[k] + D' u[k] with C' = CA, D' = CB:
    then y[k] = C (A x[k] + B u[k]), our y_k = C x_k."""
    A, B, C, u = (t.numpy() for t in (A, B, C, u))
    _, y, _ = scipy.signal.dlsim((A, B, C @ A, C @ B, 1), u)
    return y.reshape(len(u), -1)


@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 6), m=st.integers(1, 3), p=st.integers(1, 3), length=st.integers(1, 40),
       seed=st.integers(0, 2**16))
def test_recurrence_and_convolution_match_scipy_dlsim(n, m, p, length, seed):
    A, B, C = random_system(n, m, p, seed)
    u = torch.randn(length, m, generator=torch.Generator().manual_seed(seed + 1),
                    dtype=torch.float64)
    expected = torch.from_numpy(dlsim_outputs(A, B, C, u))
    recurrence, convolution = ssm_recurrence(A, B, C, u), ssm_convolution(A, B, C, u)
    assert recurrence.shape == convolution.shape == (length, p)
    assert torch.allclose(recurrence, expected, atol=1e-10)
    assert torch.allclose(convolution, expected, atol=1e-10)


def test_kernel_is_the_impulse_response():
    # an impulse on input channel i at the first step: y_k is column i of K_{k-1}
    A, B, C = random_system(4, 2, 3, 0)
    kernel = ssm_kernel(A, B, C, 10)  # (10, 3, 2)
    for i in range(2):
        impulse = torch.zeros(10, 2, dtype=torch.float64)
        impulse[0, i] = 1.0
        assert torch.allclose(ssm_recurrence(A, B, C, impulse), kernel[:, :, i])


def test_kernel_taps_are_matrix_powers():
    A, B, C = random_system(3, 2, 2, 1)
    kernel = ssm_kernel(A, B, C, 5)
    for j in range(5):
        assert torch.allclose(kernel[j], C @ torch.linalg.matrix_power(A, j) @ B)


def test_float32_convolution_matches_recurrence_to_single_precision():
    A, B, C = (t.float() for t in random_system(8, 2, 2, 3))
    u = torch.randn(200, 2, generator=torch.Generator().manual_seed(0))
    assert ssm_convolution(A, B, C, u).dtype == torch.float32
    assert torch.allclose(ssm_convolution(A, B, C, u), ssm_recurrence(A, B, C, u), atol=1e-4)


def test_empty_input_gives_empty_output():
    A, B, C = random_system(2, 1, 3, 0)
    for f in (ssm_recurrence, ssm_convolution):
        assert f(A, B, C, torch.zeros(0, 1, dtype=torch.float64)).shape == (0, 3)


@pytest.mark.parametrize(
    ("args", "message"),
    [((torch.zeros(2, 3), torch.zeros(2, 1), torch.zeros(1, 2)), "A must be a square"),
     ((torch.zeros(2, 2), torch.zeros(3, 1), torch.zeros(1, 2)), "B must have A's 2 rows"),
     ((torch.zeros(2, 2), torch.zeros(2, 1), torch.zeros(1, 3)), "C must have A's 2 columns"),
     ((torch.zeros(2), torch.zeros(2, 1), torch.zeros(1, 2)), "A must be a matrix")],
)  # fmt: skip
def test_mismatched_shapes_are_refused(args, message):
    with pytest.raises(ValueError, match=message):
        ssm_recurrence(*args, torch.zeros(4, 1))


def test_input_width_must_match_b():
    A, B, C = random_system(2, 2, 1, 0)
    with pytest.raises(ValueError, match=r"u must have shape \(L, 2\)"):
        ssm_convolution(A, B, C, torch.zeros(5, 3))
