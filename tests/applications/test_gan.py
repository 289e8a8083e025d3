"""Tests for coursekit.applications.gan: the ring of Gaussians, and a GAN that learns a simple
target."""

import math

import pytest
import torch

from coursekit.applications.gan import Discriminator, Generator, ring_of_gaussians, train_gan


def test_ring_modes_are_evenly_spaced_on_the_circle():
    ring = ring_of_gaussians(k=6, radius=3.0, std=0.1)
    angles = torch.atan2(ring.means[:, 1], ring.means[:, 0]).remainder(2 * math.pi)
    assert torch.allclose(ring.means.norm(dim=1), torch.full((6,), 3.0))
    assert torch.allclose(angles, torch.arange(6) * (2 * math.pi / 6), atol=1e-6)
    assert torch.allclose(ring.weights, torch.full((6,), 1 / 6))
    assert torch.allclose(ring.covs, 0.01 * torch.eye(2).expand(6, 2, 2))


def test_ring_samples_have_the_mode_spread():
    ring = ring_of_gaussians(k=4, radius=2.0, std=0.1)
    x, z = ring.sample(4000, generator=torch.Generator().manual_seed(0), return_labels=True)
    offsets = x - ring.means[z]
    assert torch.allclose(offsets.std(dim=0), torch.tensor([0.1, 0.1]), rtol=0.1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"k": 0}, "k must be a positive integer"),
     ({"radius": 0.0}, "radius must be a positive"),
     ({"std": -1.0}, "std must be a positive")],
)  # fmt: skip
def test_ring_rejects_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ring_of_gaussians(**kwargs)


def test_generator_learns_a_shifted_gaussian():
    shift = torch.tensor([3.0, -1.0])
    real = torch.randn(2000, 2, generator=torch.Generator().manual_seed(0)) * 0.2 + shift
    torch.manual_seed(0)
    gen = Generator(latent_dim=4, hidden=32)
    z = torch.randn(1000, 4, generator=torch.Generator().manual_seed(1))
    target = torch.tensor([3.0, -1.0])
    with torch.no_grad():
        assert (gen(z).mean(dim=0) - target).norm() > 2.5  # starts near the origin
    train_gan(gen, Discriminator(hidden=32), real, steps=200, seed=0)
    with torch.no_grad():
        fake = gen(z)
    # the two-player game oscillates around its equilibrium, so allow some distance
    assert (fake.mean(dim=0) - target).norm() < 0.6


def test_training_is_reproducible_with_the_same_seeds():
    real = torch.randn(256, 2, generator=torch.Generator().manual_seed(0))
    histories = []
    for _ in range(2):
        torch.manual_seed(3)
        gen, disc = Generator(hidden=16), Discriminator(hidden=16)
        histories.append(train_gan(gen, disc, real, steps=5, seed=7))
    assert histories[0] == histories[1]


def test_zero_steps_leave_the_networks_unchanged():
    torch.manual_seed(0)
    gen, disc = Generator(hidden=8), Discriminator(hidden=8)
    before = [p.clone() for p in [*gen.parameters(), *disc.parameters()]]
    history = train_gan(gen, disc, torch.zeros(10, 2), steps=0)
    assert history == {"d_loss": [], "g_loss": []}
    after = [*gen.parameters(), *disc.parameters()]
    assert all(torch.equal(a, b) for a, b in zip(before, after, strict=True))


def test_r1_penalty_adds_to_the_discriminator_loss_only():
    real = torch.randn(64, 2, generator=torch.Generator().manual_seed(0))
    runs = {}
    for r1 in (0.0, 10.0):
        torch.manual_seed(0)
        gen, disc = Generator(hidden=8), Discriminator(hidden=8)
        runs[r1] = train_gan(gen, disc, real, steps=1, r1=r1, batch_size=64)
    # one step: the same networks and batches, so the losses differ by the penalty alone
    assert runs[10.0]["d_loss"][0] > runs[0.0]["d_loss"][0]
    assert runs[10.0]["g_loss"][0] != runs[0.0]["g_loss"][0]  # the discriminator moved differently


@pytest.mark.parametrize(
    ("real", "kwargs", "message"),
    [(torch.zeros(10), {}, "real must have shape"), (torch.zeros(0, 2), {}, "real must have shape"),
     (torch.zeros(10, 2), {"steps": -1}, "steps must be a nonnegative integer"),
     (torch.zeros(10, 2), {"r1": -0.1}, "r1 must be a nonnegative")],
)  # fmt: skip
def test_train_gan_rejects_bad_input(real, kwargs, message):
    with pytest.raises(ValueError, match=message):
        train_gan(Generator(), Discriminator(), real, **{"steps": 1, **kwargs})


def test_train_gan_converts_numpy_data_to_the_discriminators_dtype():
    # NumPy's float64 used to reach the float32 discriminator and fail in its first layer
    import numpy as np

    data = np.random.default_rng(0).normal(size=(64, 2))
    runs = []
    for real in (data, torch.tensor(data, dtype=torch.float32)):
        torch.manual_seed(0)
        runs.append(train_gan(Generator(hidden=8), Discriminator(hidden=8), real, steps=2))
    assert runs[0] == runs[1]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"r1": float("nan")}, "r1 must be"), ({"steps": True}, "steps must be an integer"),
     ({"lr": float("nan")}, "lr must be"), ({"batch_size": 0}, "batch_size must be")],
)  # fmt: skip
def test_train_gan_refuses_nan_and_bool_options(kwargs, message):
    with pytest.raises(ValueError, match=message):
        train_gan(Generator(), Discriminator(), torch.zeros(10, 2), **{"steps": 1, **kwargs})
