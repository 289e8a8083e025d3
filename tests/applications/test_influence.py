"""Tests for coursekit.applications.influence: vmap's per-example gradients against a loop of
autograd calls, TracIn against the change of the test loss after a small SGD step, and the
training loop against torch.optim.SGD by hand."""

import copy

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from coursekit.applications.influence import per_sample_gradients, tracin, train_with_checkpoints


def small_net(d_in: int, hidden: int, classes: int, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(d_in, hidden), nn.Tanh(), nn.Linear(hidden, classes)).double()


def data(n: int, d_in: int, classes: int, seed: int):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(n, d_in, generator=g, dtype=torch.float64),
            torch.randint(classes, (n,), generator=g))  # fmt: skip


def autograd_rows(model: nn.Module, x, y) -> torch.Tensor:
    rows = []
    for x_n, y_n in zip(x, y, strict=True):
        loss = F.cross_entropy(model(x_n[None]), y_n[None])
        rows.append(torch.cat([g.flatten() for g in torch.autograd.grad(loss, model.parameters())]))
    return torch.stack(rows)


@settings(max_examples=10, deadline=None)
@given(n=st.integers(1, 6), d_in=st.integers(1, 5), hidden=st.integers(1, 6),
       classes=st.integers(2, 4), seed=st.integers(0, 1000))
def test_vmap_gradients_equal_a_loop_of_autograd_calls(n, d_in, hidden, classes, seed):
    model = small_net(d_in, hidden, classes, seed)
    x, y = data(n, d_in, classes, seed)
    assert torch.allclose(per_sample_gradients(model, x, y), autograd_rows(model, x, y))


def test_tracin_is_the_first_order_change_of_the_test_loss():
    # one checkpoint: a step of rate eta on z changes the loss on z' by -eta g(z) . g(z')
    model = small_net(4, 5, 3)
    x, y = data(6, 4, 3, 1)
    x_test, y_test = data(2, 4, 3, 2)
    eta = 1e-5
    scores = tracin(model, [model.state_dict()], eta, x, y, x_test, y_test)  # (2, 6)
    with torch.no_grad():
        before = F.cross_entropy(model(x_test), y_test, reduction="none")
    for n in range(6):
        stepped = copy.deepcopy(model)
        loss = F.cross_entropy(stepped(x[n : n + 1]), y[n : n + 1])
        grads = torch.autograd.grad(loss, stepped.parameters())
        with torch.no_grad():
            for p, g in zip(stepped.parameters(), grads, strict=True):
                p -= eta * g
            after = F.cross_entropy(stepped(x_test), y_test, reduction="none")
        assert torch.allclose(before - after, scores[:, n], rtol=1e-3, atol=1e-9)  # + O(eta**2)


def test_tracin_sums_over_checkpoints_and_leaves_the_model_alone():
    model = small_net(3, 4, 2)
    x, y = data(10, 3, 2, 0)
    checkpoints = train_with_checkpoints(model, x, y, epochs=3, batch_size=4, lr=0.1)
    before = copy.deepcopy(model.state_dict())
    fresh = small_net(3, 4, 2, seed=9)
    total = tracin(fresh, checkpoints, 0.1, x, y, x[:3], y[:3])
    parts = sum(tracin(fresh, [c], 0.1, x, y, x[:3], y[:3]) for c in checkpoints)
    assert torch.allclose(total, parts)
    after = model.state_dict().values()
    assert all(torch.equal(a, b) for a, b in zip(before.values(), after, strict=True))
    assert torch.equal(fresh[0].weight, small_net(3, 4, 2, seed=9)[0].weight)


def test_self_influence_is_nonnegative():
    model = small_net(3, 4, 3)
    x, y = data(8, 3, 3, 4)
    scores = tracin(model, [model.state_dict()], 0.5, x, y, x, y)
    assert bool((scores.diagonal() >= 0).all())  # a squared gradient norm, times eta
    assert torch.allclose(scores, scores.T)


def test_training_matches_sgd_by_hand():
    model, by_hand = small_net(3, 4, 2), small_net(3, 4, 2)
    x, y = data(10, 3, 2, 0)
    checkpoints = train_with_checkpoints(model, x, y, epochs=2, batch_size=4, lr=0.3, seed=5)
    opt = torch.optim.SGD(by_hand.parameters(), lr=0.3)
    rng = torch.Generator().manual_seed(5)
    for epoch in range(2):
        for batch in torch.randperm(10, generator=rng).split(4):
            opt.zero_grad()
            F.cross_entropy(by_hand(x[batch]), y[batch]).backward()
            opt.step()
        assert all(torch.allclose(checkpoints[epoch][k], v)
                   for k, v in by_hand.state_dict().items())  # fmt: skip
    assert checkpoints[0]["0.weight"] is not checkpoints[1]["0.weight"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"checkpoints": []}, "checkpoints must be a non-empty list"),
     ({"checkpoints": [{"weight": torch.zeros(2, 2)}]}, r"checkpoints\[0\] is not a state dict"),
     ({"y_train": torch.tensor([0, 5])}, r"y_train must be classes in \[0, 2\)"),
     ({"x_test": torch.zeros(1, 4, dtype=torch.float64)}, "model does not take x_test"),
     ({"lr": 0.0}, "lr must be a positive")],
)  # fmt: skip
def test_tracin_rejects_bad_input(kwargs, message):
    model = small_net(3, 4, 2)
    args = {"checkpoints": [model.state_dict()], "lr": 0.1,
            "x_train": torch.zeros(2, 3, dtype=torch.float64), "y_train": torch.tensor([0, 1]),
            "x_test": torch.zeros(1, 3, dtype=torch.float64), "y_test": torch.tensor([1])}
    with pytest.raises(ValueError, match=message):
        tracin(model, **{**args, **kwargs})
