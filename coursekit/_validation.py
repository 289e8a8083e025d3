"""Input checks shared by every part of the package: one place, one wording.

Each check takes the value and the argument's name, and either returns the value in the form
the caller computes with (a float tensor, an ``int``) or raises a ``ValueError`` that names the
argument, what was expected and what came, e.g. ``ValueError: A must be a matrix (2-D), got
shape (3,)``.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch


def as_float(x, name: str = "input") -> torch.Tensor:
    """``x`` as a floating (or complex) tensor; integers and bools become the default dtype.

    Raises:
        ValueError: naming ``name``, if ``x`` is not a tensor or array of numbers.
    """
    try:
        t = torch.as_tensor(x)
    except (TypeError, ValueError, RuntimeError) as err:
        kind = type(x).__name__
        raise ValueError(f"{name} must be a tensor or array of numbers, got {kind}") from err
    return t if t.is_floating_point() or t.is_complex() else t.to(torch.get_default_dtype())


def as_real_float(x, name: str = "input") -> torch.Tensor:
    """Like :func:`as_float`, but complex input is refused (the formula assumes real numbers)."""
    t = as_float(x, name)
    if t.is_complex():
        raise ValueError(f"{name} must be real, got dtype {t.dtype}")
    return t


def as_tensor(x, name: str) -> torch.Tensor:
    """``x`` as a tensor of its own dtype (``torch.as_tensor``), integers staying integers.

    Raises:
        ValueError: naming ``name``, if ``x`` is not a tensor or array of numbers.
    """
    try:
        return torch.as_tensor(x)
    except (TypeError, ValueError, RuntimeError) as err:
        kind = type(x).__name__
        raise ValueError(f"{name} must be a tensor or array of numbers, got {kind}") from err


def model_input(x, model, name: str) -> torch.Tensor:
    """``x`` as a floating tensor to feed ``model``: a tensor must have the dtype of the model's
    parameters; anything else (a NumPy array, a list) is converted to it, since NumPy's float64
    default is rarely a choice and would not run through a float32 model.

    Raises:
        ValueError: naming ``name``, if ``x`` is not numbers, not floating point (integer
            pixels are refused rather than silently read as intensities), or a tensor of
            another floating dtype than the model's.
    """
    t = as_tensor(x, name)
    if not t.is_floating_point():
        raise ValueError(f"{name} must be a floating tensor, got dtype {t.dtype}")
    dtypes = [p.dtype for p in model.parameters() if p.is_floating_point()]
    if not dtypes:  # nothing to match: keep what came
        return t
    if isinstance(x, torch.Tensor) and t.dtype != dtypes[0]:
        raise ValueError(f"{name} must have the model's dtype {dtypes[0]}, got {t.dtype}")
    return torch.as_tensor(x, dtype=dtypes[0])  # from x itself: a list of floats stays exact


def classifier_batch(model, x, y, x_name: str, y_name: str,
                     model_name: str = "model") -> tuple[torch.Tensor, torch.Tensor]:
    """``x`` as ``model``'s batch (N, ...) with N >= 1, and ``y`` as N class indices that fit
    the model's number of outputs (read off one forward pass of the first example).

    Raises:
        ValueError: naming ``x_name``, ``y_name`` or ``model_name`` (as the caller calls the
            model), if ``x`` is not a finite non-empty batch the model takes, the model does
            not give class logits (N, K), or ``y`` is not N classes in ``0..K-1``.
    """
    x = finite(nonempty(model_input(x, model, x_name), x_name), x_name).detach()
    if x.ndim < 2:
        raise ValueError(f"{x_name} must be a batch (N, ...), got shape {tuple(x.shape)}")
    with torch.no_grad():
        try:
            out = model(x[:1])
        except RuntimeError as err:  # a layer that does not fit the batch's shape says so
            raise ValueError(f"{model_name} does not take {x_name} of shape "
                             f"{tuple(x.shape)}: {err}") from err  # fmt: skip
    if out.ndim != 2:
        raise ValueError(f"{model_name} must map {x_name} of shape {tuple(x.shape)} to class "
                         f"logits (N, K), got shape {tuple(out.shape)}")
    y = class_indices(as_tensor(y, y_name), y_name, length=len(x), num_classes=out.shape[1])
    return x, y


def with_ndim(x, name: str, ndim: int, what: str) -> torch.Tensor:
    """``x`` as a float tensor with exactly ``ndim`` dimensions (``what`` says so in words)."""
    t = as_float(x, name)
    if t.ndim != ndim:
        raise ValueError(f"{name} must be {what}, got shape {tuple(t.shape)}")
    return t


def vector(x, name: str) -> torch.Tensor:
    return with_ndim(x, name, 1, "a vector (1-D)")


def matrix(x, name: str) -> torch.Tensor:
    return with_ndim(x, name, 2, "a matrix (2-D)")


def linear_system(A, b, *, vector_only: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """``A`` as a matrix and ``b`` with one row per row of ``A`` (a vector when
    ``vector_only``), both in their common floating dtype."""
    A, b = matrix(A, "A"), as_float(b, "b")
    if b.ndim not in ((1,) if vector_only else (1, 2)) or b.shape[0] != A.shape[0]:
        want = "a vector" if vector_only else "a vector or matrix"
        raise ValueError(
            f"b must be {want} with A.shape[0] = {A.shape[0]} rows, got shape {tuple(b.shape)}"
        )
    dtype = torch.promote_types(A.dtype, b.dtype)
    return A.to(dtype), b.to(dtype)


def nonempty(t: torch.Tensor, name: str) -> torch.Tensor:
    if t.numel() == 0:
        raise ValueError(f"{name} must not be empty, got shape {tuple(t.shape)}")
    return t


def finite(t: torch.Tensor, name: str) -> torch.Tensor:
    """``t`` unchanged, or a ``ValueError`` if it holds ``nan`` or ``inf``."""
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} must be finite, got nan or inf")
    return t


def finite_outside_vmap(t: torch.Tensor, name: str) -> torch.Tensor:
    """:func:`finite`, except inside ``torch.func.vmap``, where no Python code can read a
    tensor's values: there ``t`` passes unchecked, so that a function keeps composing with vmap."""
    try:
        return finite(t, name)
    except RuntimeError:  # vmap refuses data-dependent control flow
        return t


def single_or_double(t: torch.Tensor, name: str) -> torch.Tensor:
    """``t`` unchanged unless it is half precision (float16, bfloat16), which the matrix
    decompositions (SVD, eigh, Cholesky, solve) and finite differences cannot work in."""
    if t.dtype in (torch.float16, torch.bfloat16):
        raise ValueError(f"{name} must be single or double precision (float32, float64, "
                         f"complex64 or complex128), got dtype {t.dtype}")
    return t


def integer(value, name: str, *, minimum: int | None = None,
            maximum: int | None = None) -> int:
    """``value`` as an ``int`` in ``[minimum, maximum]``; ``True``/``False`` are refused.

    Accepts Python and NumPy integers (and 0-d integer tensors), never floats: ``2.0`` is
    refused, since silently truncating ``2.5`` would hide a mistake.
    """
    if isinstance(value, torch.Tensor) and value.ndim == 0 and not value.is_floating_point():
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    value = int(value)
    if minimum is not None and value < minimum or maximum is not None and value > maximum:
        raise ValueError(f"{name} must be {_describe('integer', minimum, maximum)}, "
                         f"got {value}")
    return value


def positive_int(value, name: str) -> int:
    return integer(value, name, minimum=1)


def nonnegative_int(value, name: str) -> int:
    return integer(value, name, minimum=0)


def integer_sequence(values, name: str, what: str, *, minimum: int = 1,
                     min_length: int = 0) -> tuple[int, ...]:
    """``values`` (a list, tuple or 1-D array) as a tuple of at least ``min_length`` ints, each
    at least ``minimum``; bools and floats are refused as in :func:`integer`.

    Raises:
        ValueError: ``{name} must be {what}, got ...``, so each caller words its expectation.
    """
    items = None if isinstance(values, (str, bytes)) else _as_tuple(values)
    if items is not None and len(items) >= min_length:
        try:
            return tuple(integer(v, name, minimum=minimum) for v in items)
        except ValueError:
            pass
    raise ValueError(f"{name} must be {what}, got {values!r}")


def _as_tuple(values) -> tuple | None:
    try:
        return tuple(values)
    except TypeError:  # not iterable, or a 0-d tensor
        return None


def function(f, name: str):
    """``f`` unchanged if it can be called; a ``TypeError`` otherwise."""
    if not callable(f):
        raise TypeError(f"{name} must be a callable, got {type(f).__name__}")
    return f


def optional_generator(value, name: str) -> torch.Generator | None:
    """``value`` if it is a ``torch.Generator`` or ``None``; a ``TypeError`` otherwise."""
    if value is not None and not isinstance(value, torch.Generator):
        raise TypeError(f"{name} must be a torch.Generator or None, got {type(value).__name__}")
    return value


def boolean(value, name: str) -> bool:
    """``value`` if it is ``True`` or ``False`` (NumPy's ``bool_`` too); ``1`` or ``"yes"`` are
    refused."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {type(value).__name__} {value!r}")
    return bool(value)


def real(value, name: str, *, minimum: float | None = None, maximum: float | None = None,
         open_minimum: bool = False) -> float:
    """``value`` as a finite ``float`` in the range; ``nan``, ``inf`` and bools are refused.

    ``open_minimum=True`` excludes the minimum itself (``minimum=0, open_minimum=True`` is
    "positive").
    """
    if isinstance(value, torch.Tensor) and value.ndim == 0:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    value = float(value)
    low_ok = minimum is None or (value > minimum if open_minimum else value >= minimum)
    if not math.isfinite(value) or not low_ok or (maximum is not None and value > maximum):
        what = _describe("finite number", minimum, maximum, open_minimum)
        raise ValueError(f"{name} must be {what}, got {value!r}")
    return value


def positive(value, name: str) -> float:
    return real(value, name, minimum=0.0, open_minimum=True)


def nonnegative(value, name: str) -> float:
    return real(value, name, minimum=0.0)


def probability(value, name: str) -> float:
    return real(value, name, minimum=0.0, maximum=1.0)


def class_indices(labels, name: str, *, length: int | None = None,
                  num_classes: int | None = None) -> torch.Tensor:
    """``labels`` as a 1-D ``long`` tensor of classes in ``[0, num_classes)``.

    Raises:
        ValueError: if the labels are not integers (floats and bools are refused), not 1-D of
            ``length`` entries, or outside ``[0, num_classes)``.
    """
    t = torch.as_tensor(labels)
    if t.is_floating_point() or t.is_complex() or t.dtype == torch.bool:
        raise ValueError(f"{name} must hold integer class indices, got dtype {t.dtype}")
    expected = (length,) if length is not None else None
    if t.ndim != 1 or (expected is not None and tuple(t.shape) != expected):
        want = f"({length},)" if length is not None else "(N,)"
        raise ValueError(f"{name} must have shape {want}, one class per example, "
                         f"got shape {tuple(t.shape)}")
    if num_classes is not None and t.numel() and (t.min() < 0 or t.max() >= num_classes):
        raise ValueError(f"{name} must be classes in [0, {num_classes}), got values from "
                         f"{int(t.min())} to {int(t.max())}")
    return t.long()


def symmetric(A: torch.Tensor, name: str) -> torch.Tensor:
    """``A`` unchanged if it is a symmetric (Hermitian) matrix, up to rounding."""
    if A.ndim < 2 or A.shape[-1] != A.shape[-2]:
        raise ValueError(f"{name} must be a square matrix, got shape {tuple(A.shape)}")
    tol = 100 * torch.finfo(A.dtype).eps * max(1.0, float(A.abs().max()) if A.numel() else 1.0)
    if not bool(((A - A.mT.conj()).abs() <= tol).all()):
        raise ValueError(f"{name} must be symmetric, got a matrix that differs from its "
                         "transpose")
    return A


def _describe(kind: str, minimum, maximum, open_minimum: bool = False) -> str:
    """``"a positive integer"``, ``"a finite number in [0, 1]"`` and the like."""
    if maximum is None and minimum == 0:
        return f"a {'positive' if open_minimum else 'nonnegative'} {kind}"
    if maximum is None and minimum == 1 and kind == "integer":
        return "a positive integer"
    article = "an" if kind[0] in "aeiou" else "a"
    if minimum is None and maximum is None:
        return f"{article} {kind}"
    low = "-inf" if minimum is None else f"{minimum:g}"
    high = "inf" if maximum is None else f"{maximum:g}"
    left = "(" if open_minimum or minimum is None else "["
    right = ")" if maximum is None else "]"
    return f"{article} {kind} in {left}{low}, {high}{right}"
