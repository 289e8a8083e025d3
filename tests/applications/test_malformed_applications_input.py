"""Malformed input to every public callable of coursekit.applications: a clear error, or the
answer its well-formed twin gets.

Every public callable (each name in an applications module's ``__all__``, and the public methods
of its classes) has an entry in ``CASES``: how to call it with valid arguments, and the kind of
each argument. Hypothesis replaces one argument at a time by a malformed value of its kind:
empty, nan or inf inside, one dimension too many or too few, complex, bool, half precision,
integers where floats belong, NumPy arrays and lists where tensors are documented, strings,
None, a bool, float, zero or negative number where a size belongs, a nan or negative tolerance,
a class index out of range, something that is not a model.

The call must then raise a ``ValueError`` or ``TypeError`` whose message names that argument,
or return a result. A result is accepted only if the malformed value keeps the documented
contract once written in its plain form (``np.int64(3)`` is the count 3, a float64 NumPy array
is that tensor) -- the test says so independently of the package, in ``plain`` -- and the
result is finite and equal to what the call returns for that plain value (whose correctness the
module's own tests pin against independent references). Any other exception (an
``IndexError`` from inside, a ``RuntimeError`` from torch, a ``ZeroDivisionError``) fails.

A network's ``forward`` is not in the table: its input is checked by PyTorch's layers, which
say what shape they wanted, and a check there would cost every training step.
"""

from __future__ import annotations

import copy
import importlib
import inspect
import math
import numbers
import pkgutil
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

import coursekit.applications
from coursekit import figures
from coursekit.applications import (
    carbon,
    charlm,
    detection,
    diffusion,
    distill,
    epidemics,
    gan,
    influence,
    metrics,
    robustness,
    scaling,
    ssm,
    transformer,
    wavenet,
)

MODULES = [
    importlib.import_module(f"coursekit.applications.{info.name}")
    for info in pkgutil.iter_modules(coursekit.applications.__path__)
]
RECORDS = {"metrics.EditCounts": "a NamedTuple returned by word_edits"}
CONSTANTS = {"carbon.EVERYDAY_CO2E_LBS"}

nan, inf = math.nan, math.inf


class Refused(AssertionError):
    """The malformed value breaks the documented contract, so the call had to refuse it."""


def require(condition: bool, why: str) -> None:
    if not condition:
        raise Refused(why)


# ---- kinds of argument: malformed values, and the plain form of an acceptable one --------------


@dataclass
class Floats:
    """A floating array of ``ndim`` dimensions (any if None), finite (NumPy arrays and lists are
    converted)."""

    ndim: int | None
    empty_ok: bool = False
    integers_ok: bool = True  # ints and bools become floats (coursekit._validation.as_float)

    def values(self, valid: np.ndarray, draw) -> list:
        malformed = [
            np.zeros([0, *valid.shape[1:]]),
            np.zeros([*valid.shape[:-1], 0]),
            _poke(valid.copy(), draw, draw(st.sampled_from([nan, inf, -inf]))),
            valid[None],
            valid[..., None],
            np.asarray(valid.reshape(-1)[0]),
            np.asarray(valid[0]),
            valid.astype(complex),
            valid != 0,
            np.rint(valid).astype(np.int64),
            valid,
        ]
        # each as NumPy, torch or a list, drawn
        forms = [draw(st.sampled_from([a, torch.from_numpy(np.array(a)), a.tolist()]))
                 for a in malformed]  # fmt: skip
        half, single = torch.from_numpy(valid).half(), torch.from_numpy(valid).float()
        return [*forms, half, single, None, "abc", [[1.0, 2.0], [3.0]]]

    def plain(self, value) -> torch.Tensor:
        """The tensor the documented conversion gives (``torch.as_tensor``; integers and bools
        in the default float dtype), asserted to keep the contract."""
        t = _tensor(value)
        require(not t.is_complex(), "complex numbers")
        require(self.integers_ok or t.is_floating_point(), "integers where floats belong")
        require(self.ndim in (None, t.ndim), f"{t.ndim} dimensions, not {self.ndim}")
        require(self.empty_ok or t.numel() > 0, "empty")
        t = t if t.is_floating_point() else t.to(torch.get_default_dtype())
        require(bool(torch.isfinite(t).all()), "nan or inf")
        return t


def _poke(array: np.ndarray, draw, value: float) -> np.ndarray:
    array.flat[draw(st.integers(0, array.size - 1))] = value
    return array


def _tensor(value) -> torch.Tensor:
    try:
        return torch.as_tensor(value)
    except (TypeError, ValueError, RuntimeError) as err:
        raise Refused(f"not numbers: {value!r}") from err


@dataclass
class ModelInput(Floats):
    """Floats fed to a model of parameters of ``dtype``: a tensor must have that dtype, a NumPy
    array or a list is converted to it."""

    integers_ok: bool = False
    dtype: torch.dtype = torch.float64

    def plain(self, value) -> torch.Tensor:
        if isinstance(value, torch.Tensor):
            require(value.dtype == self.dtype, f"a {value.dtype} tensor for a {self.dtype} model")
        super().plain(value)
        return torch.as_tensor(value, dtype=self.dtype)


@dataclass
class BoxTargets(Floats):
    """Fast R-CNN's regression targets: rows of background RoIs (label 0) are never read."""

    background: tuple[int, ...] = ()

    def plain(self, value) -> torch.Tensor:
        t = _tensor(value)
        foreground = [r for r in range(len(t)) if r not in self.background] if t.ndim else []
        require(t.ndim == 2 and bool(torch.isfinite(t[foreground]).all()), "nan or inf")
        t = t.clone()
        t[list(self.background)] = 0.0
        super().plain(t)
        return _tensor(value)


@dataclass
class Labels:
    """``length`` (any number if None) integer classes in ``[0, classes)``, 1-D (any shape
    if ``any_shape``)."""

    length: int | None
    classes: int
    scalar_ok: bool = False  # robustness: one int for the whole batch
    any_shape: bool = False

    def values(self, valid, draw) -> list:
        if np.ndim(valid) == 0:
            valid = np.full(self.length, valid)
        choices = [valid.astype(float), valid != 0, np.append(valid, 0), valid[None],
                   np.zeros(0, dtype=np.int64), valid.astype(np.int32), valid,
                   torch.from_numpy(valid), valid.tolist(), np.asarray(valid[0]),
                   np.where(valid == valid[0], self.classes, valid),
                   np.where(valid == valid[0], -1, valid), None, "0", 1.5, True, -1,
                   self.classes, 1, np.int64(1)]  # fmt: skip
        return [draw(st.sampled_from([c, torch.from_numpy(c), c.tolist()]))
                if isinstance(c, np.ndarray) else c for c in choices]  # fmt: skip

    def plain(self, value) -> torch.Tensor:
        if self.scalar_ok and isinstance(value, numbers.Integral):
            require(not isinstance(value, bool | np.bool_), "a bool class")
            value = [int(value)] * self.length
        # an empty list holds no floats: torch only calls it float32 for want of a dtype
        t = torch.zeros(0, dtype=torch.long) if isinstance(value, list) and not value \
            else _tensor(value)
        require(not (t.is_floating_point() or t.is_complex() or t.dtype == torch.bool),
                f"dtype {t.dtype} for classes")  # fmt: skip
        require(self.any_shape or t.ndim == 1 and self.length in (None, len(t)),
                f"shape {tuple(t.shape)}")  # fmt: skip
        require(bool(((t >= 0) & (t < self.classes)).all()), "a class out of range")
        return t.long()


def _integer(value, minimum: int | None) -> int:
    if isinstance(value, torch.Tensor):
        require(value.ndim == 0 and not value.is_floating_point() and value.dtype != torch.bool,
                f"tensor {value!r}")  # fmt: skip
        value = value.item()
    require(isinstance(value, numbers.Integral) and not isinstance(value, bool | np.bool_),
            f"{value!r} is not an integer")  # fmt: skip
    require(minimum is None or value >= minimum, f"{value} < {minimum}")
    return int(value)


@dataclass
class Count:
    """An integer of at least ``minimum``; bools and floats are refused."""

    minimum: int | None = 1
    maximum: int | None = None

    def values(self, valid: int, draw) -> list:
        return [0, -1, True, False, 2.5, float(valid), nan, inf, np.int64(valid),
                torch.tensor(valid), str(valid), None, valid + 1, valid]  # fmt: skip

    def plain(self, value) -> int:
        n = _integer(value, self.minimum)
        require(self.maximum is None or n <= self.maximum, f"{n} > {self.maximum}")
        return n


@dataclass
class Real:
    """A finite real number in the range (``open_low`` excludes ``low``); bools are refused."""

    low: float | None = 0.0
    open_low: bool = False
    high: float | None = None

    def values(self, valid: float, draw) -> list:
        return [-1.0, -1e-12, 0.0, nan, inf, -inf, True, 0.5, 2.0, np.float64(valid),
                torch.tensor(valid), None, "1", [1.0], 1j, valid]  # fmt: skip

    def plain(self, value) -> float:
        if isinstance(value, torch.Tensor):
            require(value.ndim == 0 and not value.is_complex() and value.dtype != torch.bool,
                    f"tensor {value!r}")  # fmt: skip
            value = value.item()
        require(isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_),
                f"{value!r} is not a real number")  # fmt: skip
        require(math.isfinite(value), f"{value} is not finite")
        low_ok = self.low is None or (value > self.low if self.open_low else value >= self.low)
        require(low_ok and (self.high is None or value <= self.high), f"{value} out of range")
        return float(value)


@dataclass
class OneOf:
    """Exactly the listed valid values are accepted (compared with ``==`` after ``plain``)."""

    bad: list
    good: list = field(default_factory=list)
    to_plain: Callable = staticmethod(lambda value: value)

    def values(self, valid, draw) -> list:
        return [*self.bad, *self.good, valid]

    def plain(self, value):
        return self.to_plain(value)


def _module(value) -> nn.Module:
    require(isinstance(value, nn.Module), f"{value!r} is not a torch.nn.Module")
    return value


def _generator(value):
    require(value is None or isinstance(value, torch.Generator), f"{value!r} is no generator")
    return value


def _words(value):
    if isinstance(value, str):
        return value
    require(isinstance(value, list | tuple) and all(isinstance(w, str) for w in value),
            f"{value!r} is not words")  # fmt: skip
    return list(value)


def _text(value):
    require(isinstance(value, str), f"{value!r} is not a string")
    return value


def _refuse(why: str):
    raise Refused(why)


def _some_words(value):
    words = _words(value)
    require(bool(words.split() if isinstance(words, str) else words), "no words")
    return words


def _distinct(value):
    require(isinstance(value, str) and len(set(value)) == len(value), "not distinct characters")
    return value


def _sizes(minimum_length: int) -> Callable:
    def plain(value) -> tuple[int, ...]:
        require(not isinstance(value, str | bytes), "a string")
        try:
            items = tuple(value)
        except TypeError as err:
            raise Refused(f"{value!r} is not a sequence") from err
        require(len(items) >= minimum_length, f"fewer than {minimum_length} sizes")
        return tuple(_integer(v, 1) for v in items)

    return plain


def _pair_or_int(value) -> tuple[int, int]:
    if isinstance(value, tuple | list):
        sizes = _sizes(2)(value)
        require(len(sizes) == 2, "not a pair")
        return sizes
    size = _integer(value, 1)
    return size, size


def _clamp(value):
    if value is None:
        return None
    require(isinstance(value, tuple | list) and len(value) == 2, f"{value!r} is not a pair")
    low, high = (Real(low=None).plain(v) for v in value)
    require(low <= high, "low > high")
    return low, high


MODULE_VALUES = [None, "model", lambda x: x, object(), 3]
GENERATORS = OneOf([0, "g", object(), np.random.default_rng(0)],
                   [None, torch.Generator().manual_seed(3)], _generator)  # fmt: skip
WORDS = OneOf(["", "   ", 42, None, ["a", 1], b"a b", ("a", None), np.array(["a"])],
              ["a b", ["a", "b"], ("b", "c"), "a\tb  c"], _words)  # fmt: skip
TEXT = OneOf([None, 42, ["a", "b"], b"ab"], ["", "ba", "abab"], _text)


# ---- the table ---------------------------------------------------------------------------------


@dataclass
class Case:
    call: Callable
    args: dict[str, tuple[object, object]]  # name -> (kind, a valid value)
    compare: str = "equal"  # how results are compared: "equal", "close" or "shapes" (a module)


rng = np.random.default_rng(0)
LOGITS = np.array([[3.0, 1.0, -2.0, 0.0], [0.0, 2.0, 1.0, -1.0], [-1.0, 0.0, 4.0, 1.0]])
TARGETS = np.array([0, 2, 1])
TEACHER = np.flip(LOGITS, axis=1).copy()  # .copy(): torch takes no negative strides
FMAP = rng.normal(size=(2, 2, 6, 6))
ROIS = np.array([[0.0, 0.0, 0.0, 5.0, 5.0], [1.0, 1.0, 2.0, 3.0, 4.0]])
PROPOSALS = np.array([[0.0, 0.0, 4.0, 2.0], [1.0, 1.0, 3.0, 5.0]])
TRUTH = np.array([[1.0, 0.5, 5.0, 3.0], [0.0, 2.0, 3.0, 4.0]])
RCNN_LOGITS, RCNN_DELTAS = rng.normal(size=(3, 3)), rng.normal(size=(3, 12))
RCNN_LABELS, RCNN_TARGETS = np.array([0, 1, 2]), rng.normal(size=(3, 4))
SAMPLES = np.array([-1.0, -0.3, 0.0, 0.01, 0.7])
CODES = np.array([0, 17, 128, 255])
POINTS = rng.normal(size=(16, 2))
BATCH = rng.normal(size=(3, 4))
TEXT_IDS = np.array([0, 1, 2, 0, 2, 1, 0, 1, 2, 2, 1, 0])


def classifier() -> nn.Module:
    torch.manual_seed(0)
    return nn.Linear(4, 3).double()


def tiny_gan(gen, disc, real, *, steps, batch_size, lr, r1, seed):
    """train_gan on copies, so every call starts from the same weights."""
    return gan.train_gan(copy.deepcopy(gen), copy.deepcopy(disc), real, steps=steps,
                         batch_size=batch_size, lr=lr, r1=r1, seed=seed)  # fmt: skip


def fresh(generator):
    """A copy of a torch.Generator in the same state, so each call draws the same numbers
    (for None, the global generator is put in the same state)."""
    if generator is None:
        torch.manual_seed(0)
    if not isinstance(generator, torch.Generator):
        return generator
    copied = torch.Generator()
    copied.set_state(generator.get_state())
    return copied


def tiny_char_lm(model, ids, *, steps, batch_size, block_size, lr, generator):
    return charlm.train_char_lm(copy.deepcopy(model), ids, steps=steps, batch_size=batch_size,
                                block_size=block_size, lr=lr,
                                generator=fresh(generator))  # fmt: skip


def draws(model, prompt, n, *, temperature, generator):
    return charlm.sample(model, prompt, n, temperature=temperature, generator=fresh(generator))


def seeded(build: Callable) -> Callable:
    """A constructor called with the global seed fixed, so two calls give the same weights."""

    def call(**kwargs):
        torch.manual_seed(0)
        return build(**kwargs)

    return call


with torch.random.fork_rng():
    GEN, DISC = seeded(gan.Generator)(latent_dim=2, hidden=4), gan.Discriminator(hidden=4)
    BIGRAM = charlm.BigramLM(3)
    DENOISER = seeded(diffusion.NoisePredictor)(timesteps=3, hidden=4)


def tiny_ddpm(model, data, betas, *, steps, batch_size, lr, seed):
    """train_ddpm on a copy, so every call starts from the same weights."""
    return diffusion.train_ddpm(copy.deepcopy(model), data, betas, steps=steps,
                                batch_size=batch_size, lr=lr, seed=seed)  # fmt: skip


def ddpm_draws(model, betas, n, *, data_dim, generator):
    return diffusion.sample_ddpm(model, betas, n, data_dim=data_dim, generator=fresh(generator))


def marginal(x0, t, betas):
    """forward_marginal's (mean, std) as one tensor, which assert_same compares."""
    mean, std = diffusion.forward_marginal(x0, t, betas)
    return torch.cat([mean.flatten(), std.flatten()])


def flat_checkpoints(model, x, y, *, epochs, batch_size, lr, seed):
    """train_with_checkpoints on a copy, its checkpoints as one tensor."""
    checkpoints = influence.train_with_checkpoints(
        copy.deepcopy(model), x, y, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed)
    return torch.cat([t.flatten() for state in checkpoints for t in state.values()])


def _checkpoints(value) -> list:
    require(isinstance(value, list | tuple) and len(value) > 0
            and all(isinstance(state, dict) for state in value), f"{value!r} is no checkpoints")
    return list(value)


def _builder(value):
    require(callable(value) and isinstance(value(), nn.Module), f"{value!r} builds no model")
    return value


def linear_classifier() -> nn.Module:
    return nn.Linear(4, 3).double()  # learning_curve seeds the global generator itself


SSM_A = np.array([[0.5, 0.1], [-0.2, 0.3]])
SSM_B, SSM_C = np.array([[1.0], [0.5]]), np.array([[1.0, -1.0], [0.0, 2.0], [1.0, 1.0]])
SSM_U = np.array([[1.0], [0.0], [-2.0], [0.5]])
SIR_OBS = np.array([0.01, 0.012, 0.0145])
BETAS = np.array([0.1, 0.3, 0.5])
CHECKPOINT = {k: v.clone() for k, v in classifier().state_dict().items()}
NAN_CHECKPOINT = {k: torch.full_like(v, nan) for k, v in CHECKPOINT.items()}
CHECKPOINTS = OneOf([[], None, "checkpoints", CHECKPOINT, [{"weight": torch.zeros(2, 2)}], [{}],
                     [NAN_CHECKPOINT], [CHECKPOINT, 3]],
                    [(CHECKPOINT,), [CHECKPOINT, CHECKPOINT]], _checkpoints)  # fmt: skip
VOCAB = charlm.CharVocab("abc")
CONFIG = dict(vocab_size=5, block_size=8, n_layer=1, n_head=2, n_embd=8, dropout=0.0)


def config(**overrides) -> transformer.CharLMConfig:
    return transformer.CharLMConfig(**{**CONFIG, **overrides})


def changed_config(**changes) -> transformer.CharLMConfig:
    """A valid config changed after it was made, past the checks of its __post_init__."""
    changed = config()
    for name, value in changes.items():
        setattr(changed, name, value)
    return changed


def _config(value) -> transformer.CharLMConfig:
    require(isinstance(value, transformer.CharLMConfig), f"{value!r} is not a CharLMConfig")
    transformer.CharLMConfig(**vars(value))  # raises if a field was changed to a bad value
    return value


CONFIGS = OneOf([None, dict(CONFIG), "config", 3, changed_config(n_head=0),
                 changed_config(n_embd=10, n_head=3), changed_config(dropout=nan),
                 changed_config(vocab_size=True), changed_config(n_layer=-1)],
                [config(n_layer=0)], _config)  # fmt: skip
SIZE = Count()

CASES = {
    "metrics.topk_error": Case(metrics.topk_error, {
        "logits": (Floats(2), LOGITS), "targets": (Labels(3, 4), TARGETS),
        "k": (Count(1, 4), 2)}),
    "metrics.word_edits": Case(metrics.word_edits, {
        "reference": (WORDS, "the cat sat"), "hypothesis": (WORDS, "the cat mat on")}),
    "metrics.word_error_rate": Case(metrics.word_error_rate, {
        "reference": (OneOf(WORDS.bad + [[]], WORDS.good, lambda value: _some_words(value)),
                      "the cat sat"),
        "hypothesis": (WORDS, "the cat mat on")}),
    "detection.roi_max_pool": Case(detection.roi_max_pool, {
        "features": (Floats(4), FMAP), "boxes": (Floats(2, empty_ok=True), ROIS),
        "output_size": (OneOf([0, -1, True, 2.5, (2,), (2, 2, 2), (2, 0), "22", None],
                              [np.int64(2), (2, 3), [1, 2]], _pair_or_int), 2),
        "spatial_scale": (Real(open_low=True), 1.0)}),
    "detection.encode_boxes": Case(detection.encode_boxes, {
        "proposals": (Floats(2, empty_ok=True), PROPOSALS),
        "targets": (Floats(2, empty_ok=True), TRUTH)}, compare="close"),
    "detection.decode_boxes": Case(detection.decode_boxes, {
        "proposals": (Floats(2, empty_ok=True), PROPOSALS),
        "deltas": (Floats(2, empty_ok=True), TRUTH / 10)}, compare="close"),
    "detection.fast_rcnn_loss": Case(detection.fast_rcnn_loss, {
        "class_logits": (Floats(2), RCNN_LOGITS), "box_deltas": (Floats(2), RCNN_DELTAS),
        "labels": (Labels(3, 3), RCNN_LABELS),
        "box_targets": (BoxTargets(2, background=(0,)), RCNN_TARGETS),
        "lam": (Real(), 1.0)}, compare="close"),
    "gan.Generator": Case(seeded(gan.Generator), {
        "latent_dim": (SIZE, 2), "hidden": (SIZE, 4), "data_dim": (SIZE, 2)}, "shapes"),
    "gan.Discriminator": Case(seeded(gan.Discriminator), {
        "data_dim": (SIZE, 2), "hidden": (SIZE, 4)}, "shapes"),
    "gan.ring_of_gaussians": Case(gan.ring_of_gaussians, {
        "k": (SIZE, 4), "radius": (Real(open_low=True), 2.0),
        "std": (Real(open_low=True), 0.1)}, compare="mixture"),
    "gan.train_gan": Case(tiny_gan, {
        "gen": (OneOf(MODULE_VALUES, [], _module), GEN),
        "disc": (OneOf(MODULE_VALUES, [], _module), DISC),
        "real": (ModelInput(2, dtype=torch.float32), POINTS), "steps": (Count(0), 1),
        "batch_size": (SIZE, 8),
        "lr": (Real(), 1e-2), "r1": (Real(), 0.3), "seed": (Count(None), 0)}),
    "wavenet.receptive_field": Case(wavenet.receptive_field, {
        "kernel_size": (SIZE, 2),
        "dilations": (OneOf([[1, 0], [1.5], [True], "12", 3, None, [1, -2]],
                            [[], (1, 2), np.array([1, 2, 4])], _sizes(0)), [1, 2, 4])}),
    "wavenet.CausalConv1d": Case(seeded(wavenet.CausalConv1d), {
        "in_channels": (SIZE, 2), "out_channels": (SIZE, 3), "kernel_size": (SIZE, 2),
        "dilation": (SIZE, 2)}, "shapes"),
    "wavenet.WaveNet": Case(seeded(wavenet.WaveNet), {
        "in_channels": (SIZE, 1), "channels": (SIZE, 4), "out_channels": (SIZE, 3),
        "kernel_size": (SIZE, 2), "skip_channels": (SIZE, 4),
        "dilations": (OneOf([(), [1, 0], [1.5], [True], "12", 3, None],
                            [(1,), np.array([1, 2])], _sizes(1)), (1, 2))}, "shapes"),
    "wavenet.mu_law_encode": Case(wavenet.mu_law_encode, {
        "x": (Floats(None, empty_ok=True, integers_ok=False), SAMPLES),
        "quantization_channels": (Count(2), 256)}),
    "wavenet.mu_law_decode": Case(wavenet.mu_law_decode, {
        "codes": (Labels(None, 256, any_shape=True), CODES),
        "quantization_channels": (Count(2), 256)}),
    "charlm.course_text": Case(charlm.course_text, {
        "path": (OneOf(["", 42, object(), b"docs", "no/such/folder", Path("no/such.md")],
                       [None], lambda value: value if value is None else _refuse("a path")),
                 None)}),
    "charlm.CharVocab": Case(charlm.CharVocab, {
        "chars": (OneOf(["aab", None, 42, ["a", "b"]], ["", "ba", "abc"], _distinct), "abc")}),
    "charlm.CharVocab.from_text": Case(charlm.CharVocab.from_text, {"text": (TEXT, "abcab")}),
    "charlm.CharVocab.encode": Case(VOCAB.encode, {
        "text": (OneOf(TEXT.bad + ["abd", "A"], TEXT.good, _text), "abca")}),
    "charlm.CharVocab.decode": Case(VOCAB.decode, {
        "ids": (Labels(None, 3), np.array([0, 2, 1, 0]))}),
    "charlm.BigramLM": Case(seeded(charlm.BigramLM), {"vocab_size": (SIZE, 3)}, "shapes"),
    "charlm.BigramLM.from_counts": Case(charlm.BigramLM.from_counts, {
        "ids": (Labels(None, 3), TEXT_IDS), "vocab_size": (Count(3), 3),
        "alpha": (Real(), 1.0)}, "state"),
    "charlm.cross_entropy_bits": Case(charlm.cross_entropy_bits, {
        "model": (OneOf(MODULE_VALUES, [], _module), BIGRAM),
        "ids": (Labels(None, 3), TEXT_IDS), "block_size": (Count(1, 11), 4)}, compare="close"),
    "charlm.perplexity": Case(charlm.perplexity, {
        "model": (OneOf(MODULE_VALUES, [], _module), BIGRAM),
        "ids": (Labels(None, 3), TEXT_IDS), "block_size": (Count(1, 11), 4)}, compare="close"),
    "charlm.train_char_lm": Case(tiny_char_lm, {
        "model": (OneOf(MODULE_VALUES, [], _module), BIGRAM),
        "ids": (Labels(None, 3), TEXT_IDS), "steps": (Count(0), 2), "batch_size": (SIZE, 2),
        "block_size": (Count(1, 11), 4), "lr": (Real(), 0.1),
        "generator": (GENERATORS, torch.Generator().manual_seed(0))}),
    "charlm.sample": Case(draws, {
        "model": (OneOf(MODULE_VALUES, [], _module), BIGRAM),
        "prompt": (Labels(None, 3), np.array([0, 2])), "n": (Count(0), 3),
        "temperature": (Real(open_low=True), 1.0),
        "generator": (GENERATORS, torch.Generator().manual_seed(0))}),
    "transformer.CharLMConfig": Case(transformer.CharLMConfig, {
        "vocab_size": (SIZE, 5), "block_size": (SIZE, 8), "n_layer": (Count(0), 1),
        "n_head": (Count(1, 8), 2), "n_embd": (SIZE, 8),
        "dropout": (Real(high=1.0), 0.0)}, compare="config"),
    "transformer.CausalSelfAttention": Case(seeded(transformer.CausalSelfAttention), {
        "config": (CONFIGS, config())}, "shapes"),
    "transformer.Block": Case(seeded(transformer.Block), {"config": (CONFIGS, config())}, "shapes"),
    "transformer.CharTransformer": Case(seeded(transformer.CharTransformer), {
        "config": (CONFIGS, config())}, "shapes"),
    "robustness.fgsm": Case(robustness.fgsm, {
        "model": (OneOf(MODULE_VALUES, [], _module), classifier()),
        "x": (ModelInput(2, empty_ok=True), BATCH),
        "y": (Labels(3, 3, scalar_ok=True), np.array([0, 2, 1])),
        "eps": (Real(), 0.1),
        "clamp": (OneOf([(1.0, 0.0), (0.0,), (nan, 1.0), (0.0, inf), "01", 3, (True, 2.0)],
                        [None, [-1.0, 1.0], (np.float64(-1), 1)], _clamp), (-1.0, 1.0))}),
    "robustness.saliency": Case(robustness.saliency, {
        "model": (OneOf(MODULE_VALUES, [], _module), classifier()),
        "x": (ModelInput(2, empty_ok=True), BATCH), "target": (Labels(3, 3, scalar_ok=True), 1)}),
    "distill.distillation_loss": Case(distill.distillation_loss, {
        "student_logits": (Floats(2), LOGITS), "teacher_logits": (Floats(2), TEACHER),
        "targets": (Labels(3, 4), TARGETS), "temperature": (Real(open_low=True), 2.0),
        "alpha": (Real(high=1.0), 0.5)}, compare="close"),
    "carbon.energy_kwh": Case(carbon.energy_kwh, {
        "hours": (Real(), 10.0), "cpu_watts": (Real(), 30.0), "dram_watts": (Real(), 5.0),
        "gpu_watts": (Real(), 250.0), "num_gpus": (Count(0), 2), "pue": (Real(low=1.0), 1.58)},
        compare="close"),
    "carbon.co2e_lbs": Case(carbon.co2e_lbs, {
        "kwh": (Real(), 100.0), "lbs_per_kwh": (Real(), 0.954)}, compare="close"),
    "ssm.ssm_recurrence": Case(ssm.ssm_recurrence, {
        "A": (Floats(2), SSM_A), "B": (Floats(2), SSM_B), "C": (Floats(2), SSM_C),
        "u": (Floats(2, empty_ok=True), SSM_U)}),
    "ssm.ssm_convolution": Case(ssm.ssm_convolution, {
        "A": (Floats(2), SSM_A), "B": (Floats(2), SSM_B), "C": (Floats(2), SSM_C),
        "u": (Floats(2, empty_ok=True), SSM_U)}),
    "ssm.ssm_kernel": Case(ssm.ssm_kernel, {
        "A": (Floats(2), SSM_A), "B": (Floats(2), SSM_B), "C": (Floats(2), SSM_C),
        "length": (SIZE, 4)}),
    "epidemics.simulate_sir": Case(epidemics.simulate_sir, {
        "beta": (Real(open_low=True), 0.5), "gamma": (Real(open_low=True), 0.2),
        "i0": (Real(open_low=True, high=1.0), 0.01), "days": (SIZE, 3),
        "steps_per_day": (SIZE, 1)}),
    "epidemics.fit_sir": Case(epidemics.fit_sir, {
        "infected": (Floats(1), SIR_OBS), "i0": (Real(open_low=True, high=1.0), 0.01),
        "beta0": (Real(open_low=True), 0.3), "gamma0": (Real(open_low=True), 0.2),
        "steps_per_day": (SIZE, 1), "max_iter": (SIZE, 1)}),
    "diffusion.linear_betas": Case(diffusion.linear_betas, {
        "timesteps": (SIZE, 5), "beta_1": (Real(open_low=True, high=1.0), 1e-3),
        "beta_T": (Real(open_low=True, high=1.0), 0.5)}),
    "diffusion.forward_marginal": Case(marginal, {
        "x0": (Floats(None, empty_ok=True), POINTS[:3]), "t": (Count(0, 3), 2),
        "betas": (Floats(1), BETAS)}),
    "diffusion.NoisePredictor": Case(seeded(diffusion.NoisePredictor), {
        "timesteps": (SIZE, 3), "data_dim": (SIZE, 2), "hidden": (SIZE, 4),
        "embed_dim": (SIZE, 4)}, "shapes"),
    "diffusion.train_ddpm": Case(tiny_ddpm, {
        "model": (OneOf(MODULE_VALUES, [], _module), DENOISER),
        "data": (ModelInput(2, dtype=torch.float32), POINTS), "betas": (Floats(1), BETAS),
        "steps": (Count(0), 1), "batch_size": (SIZE, 8), "lr": (Real(), 1e-2),
        "seed": (Count(None), 0)}),
    "diffusion.sample_ddpm": Case(ddpm_draws, {
        "model": (OneOf(MODULE_VALUES, [], _module), DENOISER), "betas": (Floats(1), BETAS),
        "n": (Count(0), 3), "data_dim": (SIZE, 2),
        "generator": (GENERATORS, torch.Generator().manual_seed(0))}),
    "influence.per_sample_gradients": Case(influence.per_sample_gradients, {
        "model": (OneOf(MODULE_VALUES, [], _module), classifier()),
        "x": (ModelInput(2), BATCH), "y": (Labels(3, 3), np.array([0, 2, 1]))}),
    "influence.train_with_checkpoints": Case(flat_checkpoints, {
        "model": (OneOf(MODULE_VALUES, [], _module), classifier()),
        "x": (ModelInput(2), BATCH), "y": (Labels(3, 3), np.array([0, 2, 1])),
        "epochs": (SIZE, 1), "batch_size": (SIZE, 2), "lr": (Real(open_low=True), 0.1),
        "seed": (Count(None), 0)}),
    "influence.tracin": Case(influence.tracin, {
        "model": (OneOf(MODULE_VALUES, [], _module), classifier()),
        "checkpoints": (CHECKPOINTS, [CHECKPOINT]), "lr": (Real(open_low=True), 0.1),
        "x_train": (ModelInput(2), BATCH), "y_train": (Labels(3, 3), np.array([0, 2, 1])),
        "x_test": (ModelInput(2), BATCH[:2]), "y_test": (Labels(2, 3), np.array([1, 1]))}),
    "scaling.learning_curve": Case(scaling.learning_curve, {
        "build": (OneOf([None, "mlp", 3, lambda: 3, nn.Linear(4, 3)], [], _builder),
                  linear_classifier),
        "x": (ModelInput(2), BATCH), "y": (Labels(3, 3), np.array([0, 2, 1])),
        "x_test": (ModelInput(2), BATCH[:2]), "y_test": (Labels(2, 3), np.array([1, 1])),
        "sizes": (OneOf([[0], [4], [], "12", None, 3, [1.5], [True], [2, -1]],
                        [(3,), np.array([2]), [1, 3]], _sizes(1)), [3]),
        "steps": (SIZE, 1), "lr": (Real(open_low=True), 0.1), "seed": (Count(None), 0)}),
}  # fmt: skip




# ---- comparing a result with its plain twin's --------------------------------------------------


def assert_same(result, expected, compare: str) -> None:
    if compare == "shapes":  # a freshly built module: same layers, same weights
        assert isinstance(result, nn.Module)
        got, want = result.state_dict(), expected.state_dict()
        assert got.keys() == want.keys()
        assert all(torch.equal(got[k], want[k]) for k in got)
        return
    if compare == "state":
        assert torch.equal(result.logits, expected.logits)
        return
    if compare == "mixture":
        for name in ("weights", "means", "covs"):
            assert torch.allclose(getattr(result, name), getattr(expected, name))
        return
    if compare == "config":
        assert result == expected
        return
    if isinstance(result, torch.Tensor):
        assert result.dtype == expected.dtype or compare == "close"
        assert result.shape == expected.shape
        assert bool(torch.isfinite(result.double()).all()) or not result.is_floating_point()
        if compare == "close":
            assert torch.allclose(result.double(), expected.double(), rtol=1e-2, atol=1e-3)
        else:
            assert torch.equal(result, expected)
        return
    if isinstance(result, float):
        assert math.isfinite(result)
        assert result == pytest.approx(expected, rel=1e-2, abs=1e-3) if compare == "close" \
            else result == expected
        return
    assert result == expected


def names_argument(message: str, argument: str) -> bool:
    """Whether the message names the argument as a word (``box_targets`` in "box_targets of
    foreground RoIs" counts)."""
    return re.search(rf"(?<![\w.]){re.escape(argument)}(?!\w)", message) is not None


def public_callables() -> list[str]:
    """Every callable in the applications modules' ``__all__``, and the public methods of their
    classes except ``nn.Module.forward``."""
    names = []
    for module in MODULES:
        prefix = module.__name__.rsplit(".", 1)[1]
        for name in module.__all__:
            obj = getattr(module, name)
            if f"{prefix}.{name}" in CONSTANTS:
                assert not callable(obj), f"{prefix}.{name} is callable: give it an entry"
                continue
            assert callable(obj), f"{prefix}.{name} is public but not callable: list it"
            names.append(f"{prefix}.{name}")
            if inspect.isclass(obj):
                names += [f"{prefix}.{name}.{attr}" for attr, value in vars(obj).items()
                          if not attr.startswith("_")
                          and not (attr == "forward" and issubclass(obj, nn.Module))
                          and (inspect.isfunction(value)
                               or isinstance(value, classmethod | staticmethod))]  # fmt: skip
    return names


# ---- the tests ---------------------------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Thousands of calls on tiny tensors: a second thread only adds waiting (tenfold when the
    machine is busy)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def check_one(case: Case, argument: str, value) -> None:
    """Call with ``argument=value``: a clear error, or the answer of ``value``'s plain form."""
    args = {arg: valid for arg, (_, valid) in case.args.items()} | {argument: value}
    try:
        result = case.call(**args)
    except (ValueError, TypeError) as err:
        assert names_argument(str(err), argument), f"{argument}={value!r}: {err!r} names not it"
        return
    kind = case.args[argument][0]
    try:
        plain = kind.plain(value)
    except Refused as why:
        raise AssertionError(f"{argument}={value!r} was accepted: {why}") from None
    assert_same(result, case.call(**{**args, argument: plain}), case.compare)


def test_every_public_callable_has_an_entry():
    public = set(public_callables())
    missing = public - set(CASES) - set(RECORDS)
    assert not missing, f"no entry in CASES for {sorted(missing)}: say how to call it"
    assert not (set(CASES) | set(RECORDS)) - public, "entries for names that are not public"


@pytest.mark.parametrize("name", sorted(CASES))
def test_valid_arguments_give_a_result(name):
    case = CASES[name]
    args = {arg: value for arg, (_, value) in case.args.items()}
    plain = {arg: kind.plain(value) for arg, (kind, value) in case.args.items()}
    assert_same(case.call(**args), case.call(**plain), case.compare)


@pytest.mark.parametrize("name", sorted(CASES))
@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_malformed_input_gets_a_clear_error_or_its_twins_answer(name, data):
    """Every malformed value of its kind, in turn, for every argument; hypothesis draws where
    a nan lands and whether an array comes as NumPy, torch or a list."""
    case = CASES[name]
    for argument, (kind, valid) in sorted(case.args.items()):
        for value in kind.values(valid, data.draw):
            check_one(case, argument, value)


@pytest.mark.parametrize("fig, name", [
    ("figure", "A Line"), ("figure", "a-line\n"), ("figure", ""), ("figure", None),
    ("figure", "../up"), (None, "a-line"), ("axes", "a-line"), ("figure", b"a-line"),
])  # fmt: skip
def test_savefig_refuses_what_is_not_a_figure_or_a_slug(fig, name, tmp_path, monkeypatch):
    monkeypatch.setenv(figures.FIGURE_DIR_ENV, str(tmp_path))
    figure, axes = plt.subplots()
    try:
        argument = {"figure": figure, "axes": axes, None: None}[fig]
        with pytest.raises(ValueError, match="fig must be" if fig != "figure" else "name must be"):
            figures.savefig(argument, name)
        assert not list(tmp_path.iterdir())
    finally:
        plt.close(figure)
