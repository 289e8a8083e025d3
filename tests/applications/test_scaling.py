"""Tests for coursekit.applications.scaling: each point of the learning curve against the
training package's fit and evaluate, seeds, and bad input."""

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from coursekit.applications.scaling import learning_curve
from coursekit.training.train import evaluate, fit


def blobs(n: int, seed: int):
    """Two overlapping Gaussian classes in 3-D, centres about 2.1 apart: Bayes error 0.15."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(2, (n,), generator=g)
    x = torch.randn(n, 3, generator=g) + 0.6 * (2 * y[:, None] - 1).float()
    return x, y


def build():
    return nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 2))


def test_each_point_matches_fit_and_evaluate():
    x, y = blobs(60, 0)
    x_test, y_test = blobs(200, 1)
    errors = learning_curve(build, x, y, x_test, y_test, [10, 60], steps=30, lr=0.05, seed=3)
    for n, error in zip([10, 60], errors, strict=True):
        torch.manual_seed(3)
        model = build()
        fit(model, TensorDataset(x[:n], y[:n]), epochs=30, batch_size=n, lr=0.05,
            optimizer="adam", device="cpu", progress=False)  # fmt: skip
        # fit shuffles the one batch: the same steps up to the order of a sum
        accuracy = evaluate(model, TensorDataset(x_test, y_test))["accuracy"]
        assert error == pytest.approx(1 - accuracy, abs=1.5 / 200)


def test_more_data_lowers_the_error_of_a_model_that_can_use_it():
    x, y = blobs(300, 0)
    x_test, y_test = blobs(500, 1)
    small, large = learning_curve(build, x, y, x_test, y_test, [4, 300], steps=60, lr=0.05)
    assert large < small - 0.03
    assert large < 0.2


def test_the_same_size_twice_gives_the_same_error_and_the_callers_rng_is_kept():
    x, y = blobs(30, 0)
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    first, second = learning_curve(build, x, y, x, y, [20, 20], steps=5)
    assert first == second
    assert torch.equal(torch.rand(3), expected)


def test_dropout_is_off_when_scoring():
    x, y = blobs(50, 0)

    def with_dropout():
        return nn.Sequential(nn.Linear(3, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 2))

    # in train mode two evaluations would differ; in eval mode the score is reproducible
    a = learning_curve(with_dropout, x, y, x, y, [50], steps=3, seed=1)
    b = learning_curve(with_dropout, x, y, x, y, [50], steps=3, seed=1)
    assert a == b


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [({"sizes": [0]}, ValueError, "sizes must be a list of sizes"),
     ({"sizes": [31]}, ValueError, "sizes must be at most the 30 training examples"),
     ({"build": lambda: 3}, ValueError, "build must return a torch.nn.Module"),
     ({"build": "mlp"}, TypeError, "build must be a callable"),
     ({"y": torch.full((30,), 2)}, ValueError, r"y must be classes in \[0, 2\)"),
     ({"x_test": torch.zeros(4, 5)}, ValueError, "does not take x_test"),
     ({"steps": 0}, ValueError, "steps must be a positive integer")],
)  # fmt: skip
def test_bad_input_is_refused(kwargs, error, message):
    x, y = blobs(30, 0)
    args = {"build": build, "x": x, "y": y, "x_test": x, "y_test": y, "sizes": [10]}
    with pytest.raises(error, match=message):
        learning_curve(**{**args, **kwargs})
