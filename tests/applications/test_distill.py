"""Tests for coursekit.applications.distill against scipy's softmax/KL and Hinton et al.'s gradient
formula."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import softmax
from scipy.stats import entropy
from sklearn.metrics import log_loss

from coursekit.applications.distill import distillation_loss


def random_batch(seed: int, b: int = 6, k: int = 5):
    rng = np.random.default_rng(seed)
    z = rng.normal(scale=2.0, size=(b, k))
    v = rng.normal(scale=2.0, size=(b, k))
    y = rng.integers(0, k, size=b)
    return z, v, y


def as_tensors(*arrays):
    return [torch.tensor(a) for a in arrays]


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), t=st.floats(0.5, 20.0), alpha=st.floats(0.0, 1.0))
def test_loss_matches_scipy_kl_and_sklearn_log_loss(seed, t, alpha):
    z, v, y = random_batch(seed)
    teacher, student = softmax(v / t, axis=1), softmax(z / t, axis=1)
    kl = np.mean([entropy(p, q) for p, q in zip(teacher, student, strict=True)])
    ce = log_loss(y, softmax(z, axis=1), labels=range(5))
    expected = alpha * t**2 * kl + (1 - alpha) * ce
    got = distillation_loss(*as_tensors(z, v, y), temperature=t, alpha=alpha)
    assert got.item() == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_alpha_zero_is_cross_entropy_with_labels():
    z, v, y = random_batch(1)
    got = distillation_loss(*as_tensors(z, v, y), temperature=3.0, alpha=0.0)
    assert got.item() == pytest.approx(log_loss(y, softmax(z, axis=1), labels=range(5)))


def test_soft_term_gradient_is_t_times_q_minus_p():
    # Hinton et al. (2015): dC/dz_i = (q_i - p_i) / T; the T^2 factor makes it T (q_i - p_i).
    z, v, y = random_batch(2)
    t = 4.0
    zt = torch.tensor(z, requires_grad=True)
    distillation_loss(zt, torch.tensor(v), torch.tensor(y), temperature=t, alpha=1.0).backward()
    expected = t * (softmax(z / t, axis=1) - softmax(v / t, axis=1)) / len(z)  # batch mean
    np.testing.assert_allclose(zt.grad.numpy(), expected, rtol=1e-9, atol=1e-12)


def test_high_temperature_gradient_approaches_logit_matching():
    # For zero-mean logits and large T, the scaled gradient tends to (z_i - v_i) / K per example.
    z, v, y = random_batch(3)
    z, v = z - z.mean(1, keepdims=True), v - v.mean(1, keepdims=True)
    zt = torch.tensor(z, requires_grad=True)
    loss = distillation_loss(zt, torch.tensor(v), torch.tensor(y), temperature=1000.0, alpha=1.0)
    loss.backward()
    expected = (z - v) / z.shape[1] / len(z)
    tolerance = 1e-2 * np.abs(expected).max()
    np.testing.assert_allclose(zt.grad.numpy(), expected, rtol=0, atol=tolerance)


def test_t_squared_keeps_gradient_scale_across_temperatures():
    z, v, y = random_batch(4)

    def grad_norm(t):
        zt = torch.tensor(z, requires_grad=True)
        distillation_loss(zt, torch.tensor(v), torch.tensor(y), temperature=t, alpha=1.0).backward()
        return zt.grad.norm().item()

    # without the T^2 factor the ratio would be about (50 / 10)^2 = 25
    assert grad_norm(10.0) / grad_norm(50.0) == pytest.approx(1.0, abs=0.1)


def test_no_gradient_reaches_the_teacher():
    z, v, y = random_batch(5)
    vt = torch.tensor(v, requires_grad=True)
    loss = distillation_loss(torch.tensor(z, requires_grad=True), vt, torch.tensor(y), 2.0, 0.5)
    loss.backward()
    assert vt.grad is None


def test_soft_term_is_zero_when_student_matches_teacher():
    z, _, y = random_batch(6)
    zt = torch.tensor(z)
    loss = distillation_loss(zt, zt.clone(), torch.tensor(y), temperature=5.0, alpha=1.0)
    assert loss.item() == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("kwargs, message", [
    (dict(temperature=0.0), "temperature must be a positive finite number"),
    (dict(temperature=-1.0), "temperature must be a positive finite number"),
    (dict(alpha=-0.1), r"alpha must be a finite number in \[0, 1\]"),
    (dict(alpha=1.5), r"alpha must be a finite number in \[0, 1\]"),
    (dict(teacher_logits=torch.zeros(6, 4)), "teacher_logits must have the shape"),
    (dict(student_logits=torch.zeros(6)), r"student_logits must have shape \(B, K\)"),
    (dict(targets=torch.zeros(5, dtype=torch.long)), r"targets must have shape \(6,\)"),
    (dict(targets=torch.zeros(6)), "targets must hold integer class indices"),
])
def test_rejects_bad_input(kwargs, message):
    args = dict(student_logits=torch.zeros(6, 5), teacher_logits=torch.zeros(6, 5),
                targets=torch.zeros(6, dtype=torch.long), temperature=2.0, alpha=0.5)
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        distillation_loss(**args)


def test_rejects_out_of_range_target():
    # used to escape as an IndexError from inside cross_entropy
    with pytest.raises(ValueError, match=r"targets must be classes in \[0, 5\)"):
        distillation_loss(torch.zeros(2, 5), torch.zeros(2, 5), torch.tensor([0, 5]), 2.0, 0.5)
