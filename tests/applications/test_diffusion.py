"""Tests for coursekit.applications.diffusion: the closed-form forward marginal against the
one-step process (composed exactly, and by Monte Carlo), the sampler with an exact noise
predictor, seeds, and training."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from coursekit.applications.diffusion import (
    NoisePredictor,
    forward_marginal,
    linear_betas,
    sample_ddpm,
    train_ddpm,
)


@settings(max_examples=15, deadline=None)
@given(betas=st.lists(st.floats(1e-4, 0.9), min_size=1, max_size=30))
def test_closed_form_equals_the_one_step_gaussians_composed(betas):
    # x_t = sqrt(1 - b_t) x_{t-1} + sqrt(b_t) eps: the mean scales, the variances add
    betas = torch.tensor(betas, dtype=torch.float64)
    x0 = torch.tensor([1.5, -2.0], dtype=torch.float64)
    scale, variance = 1.0, 0.0
    for t in range(len(betas) + 1):
        mean, std = forward_marginal(x0, t, betas)
        assert torch.allclose(mean, scale * x0)
        assert torch.allclose(std, torch.tensor(variance, dtype=torch.float64).sqrt())
        if t < len(betas):
            scale *= (1 - betas[t].item()) ** 0.5
            variance = (1 - betas[t].item()) * variance + betas[t].item()


def test_closed_form_matches_monte_carlo_of_the_one_step_process():
    betas = linear_betas(40, 1e-3, 0.3)
    g = torch.Generator().manual_seed(0)
    x0 = torch.tensor([2.0, -1.0])
    x = x0.expand(20_000, 2).clone()
    for t in range(1, 41):
        x = (1 - betas[t - 1]).sqrt() * x + betas[t - 1].sqrt() * torch.randn(x.shape, generator=g)
        if t in (1, 5, 20, 40):
            mean, std = forward_marginal(x0, t, betas)
            assert torch.allclose(x.mean(0), mean, atol=0.03)  # about 4 standard errors
            assert torch.allclose(x.std(0), std.expand(2), rtol=0.03)


def test_linear_betas_are_evenly_spaced():
    np.testing.assert_allclose(linear_betas(1000).numpy(), np.linspace(1e-4, 0.02, 1000),
                               rtol=1e-6)  # fmt: skip
    assert torch.equal(linear_betas(1, 0.3, 0.3), torch.tensor([0.3]))


class OnePointOracle(nn.Module):
    """The exact noise predictor for data that is always the point c:
    eps = (x_t - sqrt(abar_t) c) / sqrt(1 - abar_t)."""

    def __init__(self, betas: torch.Tensor, c: torch.Tensor):
        super().__init__()
        self.timesteps, self.c = len(betas), c
        self.alpha_bar = torch.cumprod(1 - betas, dim=0)

    def forward(self, x, t):
        a = self.alpha_bar[t - 1][:, None]
        return (x - a.sqrt() * self.c) / (1 - a).sqrt()


def test_exact_noise_predictor_brings_every_sample_to_the_data_point():
    # for a point mass the reverse step's mean and variance are exact, and the last is noiseless
    betas = linear_betas(30, 1e-3, 0.4).double()
    c = torch.tensor([2.0, -0.5], dtype=torch.float64)
    x = sample_ddpm(OnePointOracle(betas, c), betas, 500,
                    generator=torch.Generator().manual_seed(0)).double()  # fmt: skip
    assert torch.allclose(x, c.expand(500, 2), atol=1e-4)


def test_sampler_shapes_and_seed_determinism():
    torch.manual_seed(0)
    model, betas = NoisePredictor(timesteps=8, data_dim=3, hidden=16), linear_betas(8, 1e-3, 0.5)
    draw = lambda seed: sample_ddpm(model, betas, 7, data_dim=3,  # noqa: E731
                                    generator=torch.Generator().manual_seed(seed))
    assert draw(0).shape == (7, 3)
    assert torch.equal(draw(0), draw(0))
    assert not torch.equal(draw(0), draw(1))
    torch.manual_seed(5)
    a = sample_ddpm(model, betas, 7, data_dim=3)
    torch.manual_seed(5)
    assert torch.equal(a, sample_ddpm(model, betas, 7, data_dim=3))
    assert sample_ddpm(model, betas, 0, data_dim=3).shape == (0, 3)


def test_training_lowers_the_loss():
    data = torch.randn(500, 2, generator=torch.Generator().manual_seed(0)) * 0.1 + 1.0
    torch.manual_seed(0)
    model = NoisePredictor(timesteps=20, hidden=32)
    losses = train_ddpm(model, data, linear_betas(20, 1e-3, 0.4), steps=120, batch_size=64,
                        lr=1e-2)  # fmt: skip
    assert np.mean(losses[-20:]) < 0.8 * np.mean(losses[:20])


def test_training_repeats_with_the_seed():
    data = torch.randn(50, 2, generator=torch.Generator().manual_seed(0))
    runs = []
    for seed in (3, 3, 4):
        torch.manual_seed(0)
        model = NoisePredictor(timesteps=5, hidden=8)
        runs.append(train_ddpm(model, data, linear_betas(5), steps=5, batch_size=8, seed=seed))
    assert runs[0] == runs[1] != runs[2]


def test_zero_steps_leave_the_model_unchanged():
    torch.manual_seed(0)
    model = NoisePredictor(timesteps=5, hidden=8)
    before = [p.clone() for p in model.parameters()]
    assert train_ddpm(model, torch.zeros(4, 2), linear_betas(5), steps=0) == []
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


@pytest.mark.parametrize(
    ("call", "message"),
    [(lambda: linear_betas(10, 0.5, 0.1), "beta_T must be"),
     (lambda: linear_betas(10, 1e-3, 1.0), "beta_1 and beta_T must be below 1"),
     (lambda: NoisePredictor(10, embed_dim=5), "embed_dim must be even"),
     (lambda: forward_marginal(torch.zeros(2), 4, linear_betas(3)), "t must be an integer in"),
     (lambda: forward_marginal(torch.zeros(2), 1, torch.tensor([0.1, 1.0])), "betas must be"),
     (lambda: sample_ddpm(NoisePredictor(10), linear_betas(9), 2), "betas must have the model's"),
     (lambda: sample_ddpm(NoisePredictor(10), linear_betas(10), 2, data_dim=3), "data_dim=3"),
     (lambda: train_ddpm(NoisePredictor(4), torch.zeros(5), linear_betas(4), steps=1),
      "data must have shape")],
)  # fmt: skip
def test_bad_input_is_refused(call, message):
    with pytest.raises(ValueError, match=message):
        call()
