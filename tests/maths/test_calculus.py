"""Tests for coursekit.maths.calculus against scipy's derivatives (scipy.optimize,
scipy.differentiate) and numpy's least squares."""

import numpy as np
import pytest
import scipy.differentiate
import scipy.optimize
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from coursekit.maths.calculus import (
    gradient,
    gradient_descent,
    hessian,
    jacobian,
    numerical_gradient,
)

F64 = torch.float64


def rosen(x: torch.Tensor) -> torch.Tensor:
    """The Rosenbrock function, written in torch to match scipy.optimize.rosen."""
    return (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()


def vector_map(x: torch.Tensor) -> torch.Tensor:
    """A nonlinear map R^3 -> R^2 (torch version of ``vector_map_np``)."""
    return torch.stack([x[0] * torch.sin(x[1]), torch.exp(x[2]) * x[0] ** 2])


def vector_map_np(x: np.ndarray) -> np.ndarray:
    return np.stack([x[0] * np.sin(x[1]), np.exp(x[2]) * x[0] ** 2])


seeds = st.integers(0, 2**31 - 1)


@settings(max_examples=25, deadline=None)
@given(seeds)
def test_gradient_matches_scipy_rosen_der(seed):
    x = np.random.default_rng(seed).uniform(-2, 2, size=5)
    np.testing.assert_allclose(
        gradient(rosen, torch.tensor(x)).numpy(), scipy.optimize.rosen_der(x), rtol=1e-10
    )


@settings(max_examples=25, deadline=None)
@given(seeds)
def test_hessian_matches_scipy_rosen_hess(seed):
    x = np.random.default_rng(seed).uniform(-2, 2, size=4)
    np.testing.assert_allclose(
        hessian(rosen, torch.tensor(x)).numpy(), scipy.optimize.rosen_hess(x), rtol=1e-10
    )


def test_jacobian_matches_scipy_differentiate():
    x = np.random.default_rng(0).normal(size=3)
    expected = scipy.differentiate.jacobian(vector_map_np, x).df
    np.testing.assert_allclose(
        jacobian(vector_map, torch.tensor(x)).numpy(), expected, rtol=1e-8, atol=1e-12
    )


def test_jacobian_has_shape_of_output_then_input():
    X = torch.randn(3, 4, dtype=F64)
    assert jacobian(lambda X: X.T @ X, X).shape == (4, 4, 3, 4)


def test_numerical_gradient_matches_scipy_approx_fprime():
    x = np.random.default_rng(1).uniform(-1, 1, size=5)
    ours = numerical_gradient(rosen, torch.tensor(x)).numpy()
    theirs = scipy.optimize.approx_fprime(x, scipy.optimize.rosen, 1e-7)  # forward differences
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)


def test_numerical_gradient_is_second_order_accurate():
    x = torch.tensor([0.3, -0.7, 1.1], dtype=F64)
    exact = gradient(lambda x: torch.sin(x).prod(), x)
    err = [
        (numerical_gradient(lambda x: torch.sin(x).prod(), x, eps) - exact).abs().max()
        for eps in (1e-2, 1e-3)
    ]
    assert 50 < err[0] / err[1] < 200  # O(eps^2): ten times smaller step, 100 times smaller error


def test_numerical_gradient_of_vector_map_is_the_jacobian():
    x = torch.randn(3, dtype=F64)
    torch.testing.assert_close(
        numerical_gradient(vector_map, x), jacobian(vector_map, x), rtol=1e-7, atol=1e-8
    )


@settings(max_examples=25, deadline=None)
@given(seeds)
def test_gradient_of_quadratic_form_is_A_plus_A_transpose_x(seed):
    g = torch.Generator().manual_seed(seed)
    A, x = torch.randn(4, 4, generator=g, dtype=F64), torch.randn(4, generator=g, dtype=F64)
    torch.testing.assert_close(gradient(lambda x: x @ A @ x, x), (A + A.T) @ x)


def test_gradient_accepts_numpy_and_keeps_dtype():
    g = gradient(lambda x: (x**3).sum(), np.array([1.0, 2.0], dtype=np.float32))
    assert g.dtype == torch.float32
    torch.testing.assert_close(g, torch.tensor([3.0, 12.0]))


def test_gradient_rejects_non_scalar_function():
    with pytest.raises(ValueError, match="f must return a scalar tensor, got \\(2,\\)"):
        gradient(lambda x: x * 2, torch.ones(2))


def test_hessian_rejects_non_scalar_function():
    with pytest.raises(ValueError, match="f must return a scalar tensor"):
        hessian(lambda x: x * 2, torch.ones(2))


def test_numerical_gradient_rejects_nonpositive_eps():
    with pytest.raises(ValueError, match="eps must be a positive finite number, got 0"):
        numerical_gradient(rosen, torch.ones(2), eps=0)


def test_gradient_descent_converges_to_least_squares_solution():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(50, 3)), rng.normal(size=50)
    expected = np.linalg.lstsq(X, y, rcond=None)[0]
    Xt, yt = torch.tensor(X), torch.tensor(y)
    lr = 1 / np.linalg.eigvalsh(X.T @ X).max()  # 1 / L for f(w) = ||Xw - y||^2 / 2
    result = gradient_descent(
        lambda w: 0.5 * ((Xt @ w - yt) ** 2).sum(), torch.zeros(3, dtype=F64), lr, 10_000, tol=1e-10
    )
    assert result.converged
    np.testing.assert_allclose(result.x.numpy(), expected, atol=1e-9)


def test_gradient_descent_loss_decreases_with_step_below_two_over_L():
    A = torch.diag(torch.tensor([1.0, 10.0], dtype=F64))
    result = gradient_descent(
        lambda x: 0.5 * x @ A @ x, torch.tensor([1.0, 1.0], dtype=F64), lr=0.19, steps=50
    )
    assert all(b < a for a, b in zip(result.losses, result.losses[1:], strict=False))


def test_gradient_descent_records_path_and_losses_per_step():
    result = gradient_descent(lambda x: (x**2).sum(), torch.ones(2), lr=0.1, steps=7)
    assert result.steps == 7 and len(result.losses) == 8 and result.path.shape == (8, 2)
    assert not result.converged
    torch.testing.assert_close(result.path[-1], result.x)
    assert result.losses[0] == pytest.approx(2.0)


def test_gradient_descent_stops_at_tolerance():
    # x_t = 0.5^t on f = x^2 with lr 0.25; gradient 2 x_t <= 1e-3 first at t = 11.
    result = gradient_descent(
        lambda x: (x**2).sum(), torch.ones(1, dtype=F64), lr=0.25, steps=100, tol=1e-3
    )
    assert result.steps == int(np.ceil(np.log2(2 / 1e-3)))
    assert result.grad_norm <= 1e-3 < 2 * 0.5 ** (result.steps - 1)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"lr": 0.0}, "lr must be a positive finite number, got 0.0"),
        ({"steps": -1}, "steps must be a nonnegative integer, got -1"),
        ({"steps": 2.5}, "steps must be an integer, got float 2.5"),
        ({"tol": -1.0}, "tol must be a nonnegative finite number, got -1.0"),
    ],
)
def test_gradient_descent_rejects_bad_arguments(kwargs, message):
    args = {"lr": 0.1, "steps": 10, "tol": None} | kwargs
    with pytest.raises(ValueError, match=message):
        gradient_descent(lambda x: (x**2).sum(), torch.ones(2), **args)


# ---- malformed and edge-case input ------------------------------------------------------------


def square_norm(x):
    return (x**2).sum()


def test_numerical_gradient_at_an_empty_point_is_empty_like_autodiff():
    x = torch.zeros(0, dtype=F64)
    assert numerical_gradient(square_norm, x).shape == gradient(square_norm, x).shape == (0,)
    assert numerical_gradient(lambda x: 2 * x, x).shape == jacobian(lambda x: 2 * x, x).shape


@pytest.mark.parametrize("derivative", [gradient, jacobian, hessian, numerical_gradient])
@pytest.mark.parametrize("x,message", [
    ("abc", "x must be a tensor or array of numbers"),
    (torch.tensor([1.0, float("nan")]), "x must be finite"),
    (torch.tensor([1.0, float("inf")]), "x must be finite"),
    (torch.ones(2, dtype=torch.complex64), "x must be real"),
])  # fmt: skip
def test_derivatives_name_x_when_it_is_malformed(derivative, x, message):
    with pytest.raises(ValueError, match=f"^{message}"):
        derivative(square_norm, x)


@pytest.mark.parametrize("derivative", [gradient, jacobian, hessian, numerical_gradient])
@pytest.mark.parametrize("f", [None, 3, "f"])
def test_derivatives_reject_an_f_that_is_not_callable(derivative, f):
    with pytest.raises(TypeError, match="^f must be a callable"):
        derivative(f, torch.ones(2))


@pytest.mark.parametrize("derivative", [jacobian, numerical_gradient])
def test_derivatives_reject_an_f_that_returns_no_tensor(derivative):
    with pytest.raises(ValueError, match="^f must return a tensor, got float"):
        derivative(lambda x: 1.0, torch.ones(2))


@pytest.mark.parametrize("eps", [float("inf"), float("nan"), True, "1e-6"])
def test_numerical_gradient_rejects_an_eps_that_is_not_a_positive_finite_number(eps):
    with pytest.raises(ValueError, match="^eps must be a (positive|real)"):
        numerical_gradient(square_norm, torch.ones(2), eps)


@pytest.mark.parametrize("kwargs,name", [
    ({"steps": True}, "steps"), ({"steps": "10"}, "steps"), ({"lr": float("inf")}, "lr"),
    ({"lr": "0.1"}, "lr"), ({"tol": float("nan")}, "tol"), ({"tol": "1e-3"}, "tol"),
])  # fmt: skip
def test_gradient_descent_rejects_bool_string_and_non_finite_arguments(kwargs, name):
    args = {"lr": 0.1, "steps": 10, "tol": None} | kwargs
    with pytest.raises(ValueError, match=f"^{name} must be a"):
        gradient_descent(square_norm, torch.ones(2), **args)


def test_gradient_descent_rejects_a_non_finite_start():
    with pytest.raises(ValueError, match="^x0 must be finite"):
        gradient_descent(square_norm, torch.tensor([float("nan")]), lr=0.1, steps=3)


@pytest.mark.parametrize("derivative", [gradient, jacobian, hessian])
def test_derivatives_still_compose_with_vmap_over_the_point(derivative):
    X = torch.randn(4, 3, dtype=F64, generator=torch.Generator().manual_seed(0))
    batched = torch.func.vmap(lambda x: derivative(square_norm, x))(X)
    assert torch.allclose(batched, torch.stack([derivative(square_norm, x) for x in X]))
