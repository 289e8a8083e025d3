"""Tests for coursekit.applications.epidemics: RK4 against SciPy's adaptive ODE solver, the
conservation of S + I + R, and the fit recovering known rates from noisy data."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import solve_ivp

from coursekit.applications.epidemics import fit_sir, simulate_sir


def sir_rhs(beta: float, gamma: float):
    def rhs(t, z):
        s, i, _ = z
        return [-beta * s * i, beta * s * i - gamma * i, gamma * i]

    return rhs


@settings(max_examples=6, deadline=None)
@given(beta=st.floats(0.05, 1.0), gamma=st.floats(0.02, 0.5), i0=st.floats(1e-4, 0.2))
def test_rk4_matches_solve_ivp(beta, gamma, i0):
    days = 20  # RK4's error falls as h**4: at 12 steps a day it is below 1e-6 here
    ours = simulate_sir(beta, gamma, i0=i0, days=days, steps_per_day=12).numpy()
    ref = solve_ivp(sir_rhs(beta, gamma), (0, days), [1 - i0, i0, 0.0], method="DOP853",
                    t_eval=np.arange(days + 1), rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(ours, ref.y.T, atol=1e-6)


def test_one_step_per_day_is_already_close_to_the_ode():
    ours = simulate_sir(0.5, 0.2, i0=0.001, days=60).numpy()
    ref = solve_ivp(sir_rhs(0.5, 0.2), (0, 60), [0.999, 0.001, 0.0], t_eval=np.arange(61),
                    rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(ours, ref.y.T, atol=1e-4)


def test_population_is_conserved_and_susceptibles_only_fall():
    sir = simulate_sir(0.8, 0.1, i0=0.01, days=80)
    assert torch.allclose(sir.sum(dim=1), torch.ones(81, dtype=torch.float64))
    assert bool((sir[1:, 0] <= sir[:-1, 0]).all())
    assert bool((sir[1:, 2] >= sir[:-1, 2]).all())


def test_epidemic_dies_out_below_threshold():
    # R0 = beta / gamma < 1: the infected fraction only shrinks
    infected = simulate_sir(0.1, 0.2, i0=0.01, days=30)[:, 1]
    assert bool((infected[1:] < infected[:-1]).all())


def test_fit_recovers_the_rates_from_noisy_observations():
    infected = simulate_sir(0.5, 0.2, i0=0.001, days=60)[:, 1]
    noise = torch.randn(61, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    fit = fit_sir(infected * (0.1 * noise).exp(), i0=0.001)
    assert fit["beta"] == pytest.approx(0.5, rel=0.03)
    assert fit["gamma"] == pytest.approx(0.2, rel=0.03)
    assert fit["loss"] < 0.02  # about the noise's variance, 0.01


@pytest.mark.parametrize("start", [(0.1, 0.05), (1.9, 0.01)])
def test_fit_from_several_starts_reaches_the_same_rates(start):
    infected = simulate_sir(0.4, 0.1, i0=0.01, days=30)[:, 1]
    fit = fit_sir(infected, i0=0.01, beta0=start[0], gamma0=start[1])
    assert fit["beta"] == pytest.approx(0.4, rel=1e-3)
    assert fit["gamma"] == pytest.approx(0.1, rel=1e-3)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"beta": 0.0}, "beta must be a positive"), ({"gamma": -1.0}, "gamma must be a positive"),
     ({"i0": 1.0}, "i0 must be strictly between 0 and 1"), ({"days": 0}, "days must be"),
     ({"steps_per_day": 1.5}, "steps_per_day must be an integer")],
)  # fmt: skip
def test_simulate_rejects_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        simulate_sir(**{"beta": 0.5, "gamma": 0.2, "i0": 0.01, "days": 5, **kwargs})


@pytest.mark.parametrize(
    ("infected", "message"),
    [([0.1], "at least two days"), ([0.1, 0.0], "positive fractions"),
     ([[0.1, 0.2]], "infected must be a vector"), ([0.1, float("nan")], "infected must be finite")],
)  # fmt: skip
def test_fit_rejects_bad_observations(infected, message):
    with pytest.raises(ValueError, match=message):
        fit_sir(infected, i0=0.01)


def test_fit_refuses_a_start_too_fast_for_the_steps():
    with pytest.raises(ValueError, match="beta0 must be below 4 per day"):
        fit_sir([0.01, 0.02], i0=0.01, beta0=5.0, steps_per_day=2)
