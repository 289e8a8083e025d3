"""coursekit.training.train: fit is the lecture's loop, repeatable, and evaluate scores
correctly."""

import functools

import numpy as np
import pytest
import torch
from sklearn.metrics import accuracy_score, log_loss
from torch import nn
from torch.utils.data import Dataset, TensorDataset

from coursekit.training.batches import dataset_tensors
from coursekit.training.data import synthetic_images
from coursekit.training.models import MLP, DigitsCNN
from coursekit.training.train import evaluate, fit


@pytest.fixture(scope="module")
def small():
    """192 learnable 1x8x8 images in 4 classes."""
    return synthetic_images(192, (1, 8, 8), num_classes=4, seed=0)


def _model(seed=0, cnn=False):
    torch.manual_seed(seed)
    return DigitsCNN(num_classes=4) if cnn else MLP([64, 32, 4])


def _same_weights(a, b):
    pairs = zip(a.state_dict().values(), b.state_dict().values(), strict=True)
    return all(torch.equal(x, y) for x, y in pairs)


def test_fit_is_the_lectures_loop_in_sampler_order(small):
    # the lecture: for each batch, zero_grad, forward, cross entropy, backward, SGD(momentum 0.9)
    ours, hand = _model(), _model()
    fit(ours, small, epochs=2, batch_size=32, lr=0.05, seed=7, device="cpu", progress=False)
    opt = torch.optim.SGD(hand.parameters(), lr=0.05, momentum=0.9)
    x, y = small.tensors
    for epoch in range(2):
        order = torch.randperm(len(y), generator=torch.Generator().manual_seed(7 + epoch))
        for idx in order.split(32):
            opt.zero_grad()
            nn.functional.cross_entropy(hand(x[idx]), y[idx]).backward()
            opt.step()
    for p, q in zip(ours.parameters(), hand.parameters(), strict=True):
        assert torch.allclose(p, q, atol=1e-6)


def test_fit_history_has_one_entry_per_epoch_and_loss_falls(small):
    model = _model()
    history = fit(model, small, epochs=4, batch_size=32, lr=0.05, val_data=small, progress=False)
    assert set(history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 4 for v in history.values())
    assert history["loss"][-1] < history["loss"][0]
    assert history["val_accuracy"][-1] > history["val_accuracy"][0]
    assert history["val_loss"][-1] == pytest.approx(evaluate(model, small)["loss"])


def test_fit_same_seed_gives_bit_identical_weights_with_dropout_and_batch_norm(small):
    runs = [_model(cnn=True) for _ in range(3)]
    for model, seed in zip(runs, [1, 1, 2], strict=True):
        fit(model, small, epochs=2, batch_size=64, lr=0.01, optimizer="adamw", seed=seed,
            progress=False)  # fmt: skip
    assert _same_weights(runs[0], runs[1])
    assert not _same_weights(runs[0], runs[2])


def test_fit_fast_path_equals_dataloader_path_on_cpu(small):
    slow, fast = _model(cnn=True), _model(cnn=True)
    h1 = fit(slow, small, epochs=2, batch_size=48, lr=0.01, device="cpu", progress=False)
    h2 = fit(fast, small, epochs=2, batch_size=48, lr=0.01, device="cpu", progress=False, fast=True)
    assert _same_weights(slow, fast)
    assert h1 == h2


def test_fit_accepts_an_optimizer_factory(small):
    made = []

    def rmsprop(params, lr):
        made.append(lr)
        return torch.optim.RMSprop(params, lr=lr)

    a, b = _model(), _model()
    fit(a, small, epochs=1, batch_size=32, lr=0.01, optimizer=rmsprop, progress=False)
    rmsprop_partial = functools.partial(torch.optim.RMSprop)
    fit(b, small, epochs=1, batch_size=32, lr=0.01, optimizer=rmsprop_partial, progress=False)
    assert made == [0.01] and _same_weights(a, b)


def test_fit_cosine_schedule_anneals_the_learning_rate(small):
    seen = []

    class Spy(torch.optim.SGD):
        def step(self, closure=None):
            seen.append(self.param_groups[0]["lr"])
            return super().step(closure)

    fit(_model(), small, epochs=4, batch_size=192, lr=0.1, optimizer=Spy, lr_schedule="cosine",
        progress=False)  # fmt: skip
    expected = [0.05 * (1 + np.cos(np.pi * e / 4)) for e in range(4)]
    np.testing.assert_allclose(seen, expected, rtol=1e-6)


def test_fit_progress_bar_shows_epochs_and_is_silent_when_off(small, capsys):
    fit(_model(), small, epochs=1, batch_size=32, lr=0.01, progress=True)
    assert "epoch 1/1" in capsys.readouterr().err
    fit(_model(), small, epochs=1, batch_size=32, lr=0.01, progress=False)
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(epochs=0), "epochs must be a positive integer"),
        (dict(batch_size=2.5), "batch_size must be a positive integer"),
        (dict(lr=0.0), "lr must be positive"),
        (dict(optimizer="lbfgs"), "optimizer must be one of"),
        (dict(lr_schedule="step"), "lr_schedule must be"),
        (dict(device="tpu"), "device must be one of"),
    ],
)
def test_fit_rejects_bad_arguments(small, kwargs, message):
    args = dict(epochs=1, batch_size=32, lr=0.1, progress=False) | kwargs
    with pytest.raises(ValueError, match=message):
        fit(_model(), small, **args)


def test_fit_rejects_an_empty_dataset():
    empty = TensorDataset(torch.zeros(0, 64), torch.zeros(0, dtype=torch.int64))
    with pytest.raises(ValueError, match="train_data must hold at least one example"):
        fit(_model(), empty, epochs=1, batch_size=8, lr=0.1, progress=False)


def test_evaluate_matches_sklearn_log_loss_and_accuracy(small):
    model = _model()
    x, y = small.tensors
    with torch.no_grad():
        probs = torch.softmax(model(x), 1).numpy()
    scores = evaluate(model, small, batch_size=50)  # batches of unequal size: a true mean
    assert scores["loss"] == pytest.approx(log_loss(y.numpy(), probs, labels=range(4)), rel=1e-5)
    assert scores["accuracy"] == pytest.approx(accuracy_score(y.numpy(), probs.argmax(1)))


def test_evaluate_uses_eval_mode_and_restores_training_mode(small):
    model = _model(cnn=True).train()
    first, second = evaluate(model, small), evaluate(model, small)
    assert first == second  # dropout off, batch-norm running stats used: deterministic
    assert model.training


class _ListDataset(Dataset):
    def __init__(self, pairs):
        self.pairs = pairs

    def __len__(self):
        return len(self.pairs)

    def __getitem__(self, i):
        return self.pairs[i]


def test_dataset_tensors_stacks_any_map_style_dataset():
    pairs = [(torch.full((2,), float(i)), i % 3) for i in range(5)]
    x, y = dataset_tensors(_ListDataset(pairs))
    assert x.shape == (5, 2) and y.tolist() == [0, 1, 2, 0, 1]


def test_fit_fast_path_accepts_a_plain_dataset(small):
    x, y = small.tensors
    plain = _ListDataset(list(zip(x, y.tolist(), strict=True)))
    a, b = _model(), _model()
    fit(a, plain, epochs=1, batch_size=32, lr=0.05, fast=True, progress=False)
    fit(b, small, epochs=1, batch_size=32, lr=0.05, fast=True, progress=False)
    assert _same_weights(a, b)


def test_fit_and_evaluate_leave_the_callers_random_state_as_they_found_it(small):
    for seed in (1, 2):
        torch.manual_seed(seed)
        expected = torch.randn(4)
        torch.manual_seed(seed)
        model = _model(cnn=True)  # seeds, then draws its initial weights
        torch.manual_seed(seed)
        fit(model, small, epochs=1, batch_size=64, lr=0.01, progress=False)
        assert torch.equal(torch.randn(4), expected), "fit changed the global random state"
        torch.manual_seed(seed)
        evaluate(model, small, batch_size=50)
        assert torch.equal(torch.randn(4), expected), "evaluate changed the global random state"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(lr=float("inf")), "lr must be positive and finite"),
        (dict(lr=float("nan")), "lr must be positive and finite"),
        (dict(seed=-1), "seed must be"),
        (dict(seed=2**32), "seed must be"),
        (dict(resume=True), "resume=True needs a checkpoint_dir"),
    ],
)
def test_fit_rejects_more_bad_arguments(small, kwargs, message):
    args = dict(epochs=1, batch_size=32, lr=0.1, progress=False) | kwargs
    with pytest.raises(ValueError, match=message):
        fit(_model(), small, **args)


def _scripted_validation(monkeypatch, losses):
    """Make fit's validation return ``losses`` in turn, and record the weights it saw."""
    import coursekit.training.train as train_module

    seen = []

    def scripted(model, data, **kwargs):
        seen.append({k: v.clone() for k, v in model.state_dict().items()})
        return {"loss": losses[len(seen) - 1], "accuracy": 0.5}

    monkeypatch.setattr(train_module, "evaluate", scripted)
    return seen


def test_fit_early_stopping_stops_after_patience_epochs_without_a_better_val_loss(
        small, monkeypatch):
    losses = [1.0, 0.8, 0.9, 0.7, 0.75, 0.72, 0.71, 0.5, 0.4]  # best at epoch 4, then 3 worse
    seen = _scripted_validation(monkeypatch, losses)
    history = fit(_model(), small, epochs=9, batch_size=32, lr=0.05, val_data=small,
                  patience=3, progress=False)
    assert history["val_loss"] == losses[:7] and len(history["loss"]) == 7
    assert len(seen) == 7


def test_fit_early_stopping_restores_the_weights_of_the_best_epoch(small, monkeypatch):
    seen = _scripted_validation(monkeypatch, [1.0, 0.6, 0.9, 0.8, 0.7])
    model = _model()
    fit(model, small, epochs=5, batch_size=32, lr=0.05, val_data=small, patience=2,
        progress=False)
    assert len(seen) == 4  # epochs 3 and 4 were not better than epoch 2
    assert all(torch.equal(v, seen[1][k]) for k, v in model.state_dict().items())
    assert not all(torch.equal(v, seen[3][k]) for k, v in model.state_dict().items())


@pytest.mark.parametrize("kwargs", [dict(patience=2), dict(patience=0, val_data="v"),
                                    dict(patience=1.5, val_data="v")])
def test_fit_refuses_a_patience_without_val_data_or_not_positive(small, kwargs):
    if kwargs.get("val_data") == "v":
        kwargs = kwargs | {"val_data": small}
    with pytest.raises(ValueError, match=r"\bpatience\b"):
        fit(_model(), small, epochs=1, batch_size=32, lr=0.1, progress=False, **kwargs)
