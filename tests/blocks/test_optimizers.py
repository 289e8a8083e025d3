"""Tests for coursekit.blocks.optimizers and coursekit.blocks.schedules against torch.optim.

Each optimizer runs side by side with the ``torch.optim`` class of the same name, with the same
options, for many steps in float64 on a random least-squares loss (a weight matrix and a bias:
two parameters of different shapes); the trajectories must agree to rounding. The schedule is
checked against its formula at the edges and against PyTorch's LinearLR and CosineAnnealingLR
chained by SequentialLR.

The settings drawn keep the dynamics from magnifying rounding: an adaptive method whose second
moment forgets fast (a small ``alpha`` or ``beta2``), without momentum (``beta1 = 0``), at a
large ``lr`` takes steps of about ``lr`` whatever the size of the gradient, so that near the
minimum it hops chaotically and two correct implementations whose last bits differ
(``a * m + (1 - a) * g`` against PyTorch's ``lerp``) part after a few dozen steps.
That would test the rounding, not the rule.
"""

from __future__ import annotations

import io
import math
import warnings

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from coursekit.blocks import optimizers
from coursekit.blocks.schedules import warmup_cosine

STEPS = 30
seeds = st.integers(0, 2**31 - 1)
rates = st.sampled_from([1e-3, 1e-2, 5e-2])
decays = st.sampled_from([0.0, 0.0, 1e-3, 0.1])
fractions = st.sampled_from([0.0, 0.5, 0.9, 0.99])
momenta = st.sampled_from([0.5, 0.9, 0.99])  # beta1 > 0: see above


def least_squares(seed: int):
    """A random problem: parameters (W, b) and the loss ``mean((X W^T + b - Y)^2)``."""
    gen = torch.Generator().manual_seed(seed)
    n, d, k = 12, 5, 3
    X = torch.randn(n, d, generator=gen, dtype=torch.float64)
    Y = torch.randn(n, k, generator=gen, dtype=torch.float64)
    W0 = torch.randn(k, d, generator=gen, dtype=torch.float64)
    b0 = torch.randn(k, generator=gen, dtype=torch.float64)

    def loss(params):
        W, b = params
        return ((X @ W.T + b - Y) ** 2).mean()

    return (W0, b0), loss


def trajectory(make, start, loss, steps: int = STEPS) -> list[torch.Tensor]:
    """Every iterate of the optimizer ``make(params)``, flattened into one vector each."""
    params = [torch.nn.Parameter(p.clone()) for p in start]
    opt = make(params)
    path = []
    for _ in range(steps):
        opt.zero_grad()
        loss(params).backward()
        opt.step()
        path.append(torch.cat([p.detach().flatten() for p in params]))
    return path


def assert_same_trajectory(ours, theirs, seed: int, **options):
    start, loss = least_squares(seed)
    mine = trajectory(lambda ps: ours(ps, **options), start, loss)
    ref = trajectory(lambda ps: theirs(ps, **options), start, loss)
    for t, (a, b) in enumerate(zip(mine, ref, strict=True)):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-9, msg=f"step {t + 1}: {options}")
    assert not torch.equal(mine[-1], torch.cat([p.flatten() for p in start]))  # it moved


@settings(max_examples=5, deadline=None)
@given(seeds, rates, fractions, st.sampled_from([0.0, 0.1]), st.booleans(), decays)
def test_sgd_trajectory_matches_torch(seed, lr, momentum, dampening, nesterov, weight_decay):
    if nesterov and momentum == 0:
        momentum = 0.9
    dampening = 0.0 if nesterov else dampening
    assert_same_trajectory(optimizers.SGD, torch.optim.SGD, seed, lr=lr, momentum=momentum,
                           dampening=dampening, nesterov=nesterov, weight_decay=weight_decay)


@settings(max_examples=5, deadline=None)
@given(seeds, rates, st.sampled_from([0.0, 0.01]), decays, st.sampled_from([0.0, 0.1]),
       st.sampled_from([1e-10, 1e-3]))
def test_adagrad_trajectory_matches_torch(seed, lr, lr_decay, weight_decay, initial, eps):
    assert_same_trajectory(optimizers.Adagrad, torch.optim.Adagrad, seed, lr=lr,
                           lr_decay=lr_decay, weight_decay=weight_decay,
                           initial_accumulator_value=initial, eps=eps)


@settings(max_examples=5, deadline=None)
@given(seeds, st.sampled_from([1e-3, 3e-3]), st.sampled_from([0.9, 0.99, 0.999]), decays,
       fractions, st.booleans())
def test_rmsprop_trajectory_matches_torch(seed, lr, alpha, weight_decay, momentum, centered):
    assert_same_trajectory(optimizers.RMSprop, torch.optim.RMSprop, seed, lr=lr, alpha=alpha,
                           weight_decay=weight_decay, momentum=momentum, centered=centered)


@settings(max_examples=5, deadline=None)
@given(seeds, st.sampled_from([1e-3, 1e-2]), momenta, st.sampled_from([0.99, 0.999]), decays,
       st.sampled_from([1e-8, 1e-3]))
def test_adam_trajectory_matches_torch(seed, lr, beta1, beta2, weight_decay, eps):
    assert_same_trajectory(optimizers.Adam, torch.optim.Adam, seed, lr=lr, betas=(beta1, beta2),
                           eps=eps, weight_decay=weight_decay)


@settings(max_examples=5, deadline=None)
@given(seeds, st.sampled_from([1e-3, 1e-2]), momenta, st.sampled_from([0.99, 0.999]),
       st.sampled_from([0.0, 1e-2, 0.5]))
def test_adamw_trajectory_matches_torch(seed, lr, beta1, beta2, weight_decay):
    assert_same_trajectory(optimizers.AdamW, torch.optim.AdamW, seed, lr=lr,
                           betas=(beta1, beta2), weight_decay=weight_decay)


def test_adamw_defaults_match_torch():
    assert_same_trajectory(optimizers.AdamW, torch.optim.AdamW, 0)


def test_adam_with_l2_and_adamw_take_different_paths():
    start, loss = least_squares(1)
    options = {"lr": 0.05, "weight_decay": 0.5}
    a = trajectory(lambda ps: optimizers.Adam(ps, **options), start, loss)
    b = trajectory(lambda ps: optimizers.AdamW(ps, **options), start, loss)
    assert (a[-1] - b[-1]).abs().max() > 1e-2


@pytest.mark.parametrize("name, options", [
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    ("Adagrad", {"lr": 0.05}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.5, "centered": True}),
    ("Adam", {"lr": 0.05}),
    ("AdamW", {"lr": 0.05}),
])
def test_state_dict_round_trip_resumes_the_same_trajectory(name, options):
    start, loss = least_squares(2)
    make = getattr(optimizers, name)
    params = [torch.nn.Parameter(p.clone()) for p in start]
    opt = make(params, **options)

    def run(opt, params, steps):
        for _ in range(steps):
            opt.zero_grad()
            loss(params).backward()
            opt.step()

    run(opt, params, 10)
    buffer = io.BytesIO()
    torch.save(opt.state_dict(), buffer)  # as a checkpoint does: the tensors copied
    buffer.seek(0)
    copies = [torch.nn.Parameter(p.detach().clone()) for p in params]
    resumed = make(copies, lr=1.0)  # hyperparameters come back from the state dict
    resumed.load_state_dict(torch.load(buffer))
    run(opt, params, 10)
    run(resumed, copies, 10)
    for p, q in zip(params, copies, strict=True):
        torch.testing.assert_close(p, q, rtol=0, atol=0)


def test_step_returns_the_loss_of_the_closure():
    start, loss = least_squares(3)
    params = [torch.nn.Parameter(p.clone()) for p in start]
    opt = optimizers.Adam(params, lr=0.01)

    def closure():
        opt.zero_grad()
        value = loss(params)
        value.backward()
        return value

    first = opt.step(closure)
    assert first.item() == pytest.approx(loss(start).item())
    assert loss(params).item() < first.item()


def test_parameters_without_gradient_are_left_alone():
    used, unused = torch.nn.Parameter(torch.ones(2)), torch.nn.Parameter(torch.ones(2))
    for make in (optimizers.SGD, optimizers.Adagrad, optimizers.RMSprop, optimizers.Adam):
        opt = make([used, unused], lr=0.1)
        opt.zero_grad()
        used.sum().backward()
        opt.step()
        assert torch.equal(unused.detach(), torch.ones(2))


def test_optimizers_do_not_inherit_from_the_torch_class_of_the_same_name():
    for name in optimizers.__all__:
        ours = getattr(optimizers, name)
        assert issubclass(ours, torch.optim.Optimizer)
        assert not issubclass(ours, getattr(torch.optim, name))


@pytest.mark.parametrize("make, kwargs, name", [
    (optimizers.SGD, {"lr": -0.1}, "lr"),
    (optimizers.SGD, {"lr": 0.1, "nesterov": True}, "nesterov"),
    (optimizers.SGD, {"lr": 0.1, "momentum": 0.9, "dampening": 0.1, "nesterov": True},
     "nesterov"),
    (optimizers.Adam, {"betas": (0.9, 1.0)}, "betas"),
    (optimizers.Adam, {"betas": (-0.1, 0.999)}, "betas"),
    (optimizers.AdamW, {"eps": -1e-8}, "eps"),
    (optimizers.Adagrad, {"lr": -1e-2}, "lr"),
])
def test_torch_refuses_what_we_refuse(make, kwargs, name):
    """The bad hyperparameters of the malformed-input tests are bad for PyTorch too."""
    with pytest.raises(ValueError):
        getattr(torch.optim, make.__name__)([torch.nn.Parameter(torch.ones(1))], **kwargs)


# ---- warmup_cosine --------------------------------------------------------------------------

def formula(t: int, total: int, warmup: int, peak: float, floor: float) -> float:
    if t < warmup:
        return peak * t / warmup
    if t > total:
        return floor
    return floor + (peak - floor) * (1 + math.cos(math.pi * (t - warmup) / (total - warmup))) / 2


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 200), st.data(), st.floats(1e-4, 1.0), st.floats(0.0, 1.0))
def test_warmup_cosine_edges_match_the_formula(total, data, peak, floor_fraction):
    warmup = data.draw(st.integers(0, total - 1))
    floor = peak * floor_fraction
    assert warmup_cosine(0, total, warmup, peak, floor) == pytest.approx(
        0.0 if warmup else peak)
    assert warmup_cosine(warmup, total, warmup, peak, floor) == pytest.approx(peak)
    assert warmup_cosine(total, total, warmup, peak, floor) == pytest.approx(floor)
    assert warmup_cosine(total + 7, total, warmup, peak, floor) == pytest.approx(floor)
    for t in {warmup // 2, (warmup + total) // 2, total - 1}:
        assert warmup_cosine(t, total, warmup, peak, floor) == pytest.approx(
            formula(t, total, warmup, peak, floor), rel=1e-12, abs=1e-15)


@settings(max_examples=15, deadline=None)
@given(st.integers(2, 60), st.data(), st.floats(1e-3, 1.0), st.floats(0.0, 0.5))
def test_warmup_cosine_matches_linear_then_cosine_annealing(total, data, peak, floor_fraction):
    """LinearLR cannot start at exactly 0 (its start_factor must be positive): from 1e-12."""
    warmup = data.draw(st.integers(1, total - 1))
    floor = peak * floor_fraction
    w = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([w], lr=peak)
    sched = torch.optim.lr_scheduler
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SequentialLR's deprecation notes about epoch
        chained = sched.SequentialLR(opt, [
            sched.LinearLR(opt, start_factor=1e-12, end_factor=1.0, total_iters=warmup),
            sched.CosineAnnealingLR(opt, T_max=total - warmup, eta_min=floor),
        ], milestones=[warmup])
        for t in range(total + 1):
            assert warmup_cosine(t, total, warmup, peak, floor) == pytest.approx(
                opt.param_groups[0]["lr"], rel=1e-9, abs=1e-11)
            opt.step()
            chained.step()


def test_warmup_cosine_drives_lambda_lr():
    w = torch.nn.Parameter(torch.zeros(1))
    opt = optimizers.SGD([w], lr=0.2)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda t: warmup_cosine(t, 30, 5, peak_lr=1.0, min_lr=0.1))
    for t in range(35):
        assert opt.param_groups[0]["lr"] == pytest.approx(0.2 * formula(t, 30, 5, 1.0, 0.1))
        opt.step()
        schedule.step()
