r"""Derivatives by automatic differentiation, a finite-difference check, and gradient descent.

The chapter "Calculus and optimization" (``docs/maths/calculus.md``) teaches what this module
implements. ``gradient``, ``jacobian`` and ``hessian`` are thin wrappers over ``torch.func``
(reverse mode, composable: the Hessian is the Jacobian of the gradient); ``numerical_gradient``
checks them by central differences.

Points are real and finite (derivatives here are with respect to real inputs; finiteness is
checked except inside ``torch.func.vmap``, which the functions compose with); an empty point
has an empty derivative. A point that is complex or holds ``nan`` or ``inf``, an ``f`` that is
not callable or does not return a tensor, and a step size, step count or tolerance out of range
raise a ``ValueError`` (a ``TypeError`` for an ``f`` that is not callable) naming the argument.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from numpy.typing import ArrayLike
from torch.func import grad_and_value

from coursekit._validation import (
    as_real_float,
    finite_outside_vmap,
    function,
    nonnegative,
    nonnegative_int,
    positive,
    single_or_double,
)

__all__ = [
    "gradient",
    "jacobian",
    "hessian",
    "numerical_gradient",
    "gradient_descent",
    "DescentResult",
]


def _point(x, name: str) -> torch.Tensor:
    """``x`` as a real floating tensor, finite (where vmap lets its values be read)."""
    return finite_outside_vmap(as_real_float(x, name), name)


def _scalar(f: Callable) -> Callable:
    """``f`` with a check that it returns one number, as a gradient needs."""
    f = function(f, "f")

    def checked(x):
        y = f(x)
        if not isinstance(y, torch.Tensor) or y.numel() != 1:
            shape = tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
            raise ValueError(f"f must return a scalar tensor, got {shape}")
        return y.reshape(())

    return checked


def _tensor_valued(f: Callable) -> Callable:
    """``f`` with a check that it returns a tensor."""
    f = function(f, "f")

    def checked(x):
        y = f(x)
        if not isinstance(y, torch.Tensor):
            raise ValueError(f"f must return a tensor, got {type(y).__name__}")
        return y

    return checked


def gradient(f: Callable, x: torch.Tensor | ArrayLike) -> torch.Tensor:
    r"""Gradient $\nabla f(x)$ of a scalar function, by reverse-mode autodiff (``torch.func.grad``).

    Args:
        f: a function of one tensor returning a scalar tensor.
        x: the point, any shape.

    Returns:
        $\nabla f(x)$, the same shape as ``x``.

    Raises:
        TypeError: if ``f`` is not callable.
        ValueError: if ``f(x)`` is not a scalar, or ``x`` is not a finite real tensor.

    Examples:
        >>> import torch
        >>> from coursekit.maths.calculus import gradient
        >>> gradient(lambda x: (x ** 2).sum(), torch.tensor([1.0, -2.0]))
        tensor([ 2., -4.])
    """
    return torch.func.grad(_scalar(f))(_point(x, "x"))


def jacobian(f: Callable, x: torch.Tensor | ArrayLike) -> torch.Tensor:
    r"""Jacobian of a tensor-valued function, by reverse-mode autodiff (``torch.func.jacrev``).

    $J_{ij} = \partial f_i / \partial x_j$: row $i$ is the gradient of output $i$.

    Args:
        f: a function of one tensor returning a tensor.
        x: the point, any shape.

    Returns:
        The Jacobian, shape ``f(x).shape + x.shape``.

    Raises:
        TypeError: if ``f`` is not callable.
        ValueError: if ``f(x)`` is not a tensor, or ``x`` is not a finite real tensor.

    Examples:
        >>> import torch
        >>> from coursekit.maths.calculus import jacobian
        >>> A = torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
        >>> torch.equal(jacobian(lambda x: A @ x, torch.zeros(2)), A)
        True
    """
    return torch.func.jacrev(_tensor_valued(f))(_point(x, "x"))


def hessian(f: Callable, x: torch.Tensor | ArrayLike) -> torch.Tensor:
    r"""Hessian of a scalar function, the Jacobian of its gradient (``torch.func``).

    $H_{ij} = \partial^2 f / \partial x_i \partial x_j$, symmetric when $f$ is twice continuously
    differentiable. Computed reverse-over-reverse, ``jacrev(grad(f))``: for the small inputs
    of the course this skips the one-time setup of the forward mode in ``torch.func.hessian``.

    Args:
        f: a function of one tensor returning a scalar tensor.
        x: the point, any shape.

    Returns:
        The Hessian, shape ``x.shape + x.shape``.

    Raises:
        TypeError: if ``f`` is not callable.
        ValueError: if ``f(x)`` is not a scalar, or ``x`` is not a finite real tensor.

    Examples:
        >>> import torch
        >>> from coursekit.maths.calculus import hessian
        >>> A = torch.tensor([[2.0, 1.0], [0.0, 3.0]])
        >>> hessian(lambda x: x @ A @ x, torch.zeros(2))  # A + A^T
        tensor([[4., 1.],
                [1., 6.]])
    """
    return torch.func.jacrev(torch.func.grad(_scalar(f)))(_point(x, "x"))


def numerical_gradient(f: Callable, x: torch.Tensor | ArrayLike, eps: float = 1e-6) -> torch.Tensor:
    r"""Derivative of ``f`` at ``x`` by central differences, to check autodiff against.

    Each partial derivative is

    $$
    \frac{\partial f}{\partial x_j}
        \approx \frac{f(x + \varepsilon e_j) - f(x - \varepsilon e_j)}{2\varepsilon}
    $$

    with error $O(\varepsilon^2)$ plus rounding of order $u / \varepsilon$ ($u$ the unit
    roundoff): use float64 and the default $\varepsilon$. For a tensor-valued ``f`` this is
    the Jacobian.

    Args:
        f: a function of one tensor returning a tensor (a scalar for a gradient).
        x: the point, any shape, in single or double precision (half precision cannot resolve
            the step).
        eps: the step $\varepsilon > 0$.

    Returns:
        The derivative, shape ``f(x).shape + x.shape`` (the shape of ``x`` for a scalar ``f``).

    Raises:
        TypeError: if ``f`` is not callable.
        ValueError: if ``eps`` is not a positive finite number, ``f(x)`` is not a tensor, or
            ``x`` is not a finite real tensor of single or double precision.

    Examples:
        >>> import torch
        >>> from coursekit.maths.calculus import numerical_gradient
        >>> x = torch.tensor([1.0, 2.0], dtype=torch.float64)
        >>> numerical_gradient(lambda x: x[0] * x[1] ** 2, x)
        tensor([4., 4.], dtype=torch.float64)
    """
    f, x = _tensor_valued(f), single_or_double(_point(x, "x"), "x")
    eps = positive(eps, "eps")
    if x.numel() == 0:  # no coordinates to step along: the derivative is empty
        y = f(x)
        return torch.zeros(y.shape + x.shape, dtype=y.dtype)
    steps = eps * torch.eye(x.numel(), dtype=x.dtype).reshape(x.numel(), *x.shape)  # (n, *x.shape)
    columns = [(f(x + e) - f(x - e)) / (2 * eps) for e in steps]  # n tensors of f's shape
    return torch.stack(columns, dim=-1).reshape(columns[0].shape + x.shape)


@dataclass
class DescentResult:
    r"""What `gradient_descent` returns.

    Attributes:
        x: the final point.
        losses: $f$ at every iterate, ``losses[0] = f(x0)``; length ``steps + 1``.
        path: every iterate stacked, shape ``(steps + 1, *x.shape)``.
        grad_norm: $\lVert \nabla f \rVert$ at the final point.
        converged: whether the gradient norm fell to ``tol``.
    """

    x: torch.Tensor
    losses: list[float]
    path: torch.Tensor
    grad_norm: float
    converged: bool

    @property
    def steps(self) -> int:
        """The number of steps taken."""
        return len(self.losses) - 1


def gradient_descent(
    f: Callable, x0: torch.Tensor | ArrayLike, lr: float, steps: int, tol: float | None = None
) -> DescentResult:
    r"""Minimize a scalar function by gradient descent, $x_{t+1} = x_t - \eta \nabla f(x_t)$.

    Stops after ``steps`` steps, or earlier once $\lVert \nabla f(x_t) \rVert \le$ ``tol``.

    Args:
        f: a function of one tensor returning a scalar tensor.
        x0: the starting point, any shape.
        lr: the step size $\eta > 0$.
        steps: the most steps to take, ``>= 0``.
        tol: stop when the gradient norm is at most this; ``None`` runs all ``steps``.

    Returns:
        A `DescentResult` with the final point ``.x``, the loss history ``.losses``,
            the iterates ``.path``, the final gradient norm and whether it converged.

    Raises:
        TypeError: if ``f`` is not callable.
        ValueError: if ``lr`` is not a positive finite number, ``steps`` not an integer
            ``>= 0``, ``tol`` neither ``None`` nor a finite number ``>= 0``, ``x0`` not a
            finite real tensor, or ``f(x)`` is not a scalar.

    Examples:
        >>> import torch
        >>> from coursekit.maths.calculus import gradient_descent
        >>> f = lambda x: ((x - 3) ** 2).sum()
        >>> result = gradient_descent(f, torch.zeros(2), lr=0.25, steps=100, tol=1e-3)
        >>> result.x.round(decimals=3), result.steps, result.converged
        (tensor([3., 3.]), 14, True)
    """
    lr, steps = positive(lr, "lr"), nonnegative_int(steps, "steps")
    tol = None if tol is None else nonnegative(tol, "tol")
    grad_f = grad_and_value(_scalar(f))
    x = _point(x0, "x0").detach()
    path, losses = [x], []
    for t in range(steps + 1):
        g, loss = grad_f(x)
        losses.append(loss.item())
        grad_norm = torch.linalg.vector_norm(g).item()
        if (tol is not None and grad_norm <= tol) or t == steps:
            break
        x = x - lr * g
        path.append(x)
    converged = tol is not None and grad_norm <= tol
    return DescentResult(x, losses, torch.stack(path), grad_norm, converged)
