"""Resuming a run: a ``coursekit train`` killed with SIGKILL mid-epoch resumes to the same
weights, and ``fit`` resumed after a crash equals an uninterrupted run."""

import math
import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest
import torch
from torch import nn

from coursekit.training.checkpoint import CHECKPOINT_NAME, resume, save_checkpoint
from coursekit.training.cli import main
from coursekit.training.data import synthetic_images
from coursekit.training.models import DigitsCNN
from coursekit.training.train import fit

# digits-cnn has dropout and batch norm, so the RNG and buffers must come back exactly;
# batches of 4 make an epoch of 128 steps, long enough to be caught in the middle
ARGS = [
    "train", "--model", "digits-cnn", "--data", "synthetic", "--limit", "512", "--epochs", "2",
    "--batch-size", "4", "--lr", "0.003", "--optimizer", "adamw", "--device", "cpu",
]  # fmt: skip
# one thread everywhere: tiny batches gain nothing from more, and the runs match bit for bit
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
EPOCH_2_UNDER_WAY = re.compile(r"epoch 2/2:\s+\d+%\|[^|]*\|\s*([1-9]\d*)/(\d+)")


def _run_to_end(*extra):
    command = [sys.executable, "-m", "coursekit", *ARGS, "--no-progress", *extra]
    subprocess.run(command, check=True, timeout=300, env=ENV)


def _run_in_this_process(*extra):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        main([*ARGS, "--no-progress", *extra])
    finally:
        torch.set_num_threads(threads)


def _drain(stream, into):
    for chunk in iter(lambda: os.read(stream.fileno(), 4096), b""):
        into.extend(chunk)


def _checkpoint(folder):
    return torch.load(folder / CHECKPOINT_NAME, weights_only=True)


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
def test_run_killed_mid_epoch_resumes_to_bit_identical_weights(tmp_path):
    reference, interrupted = tmp_path / "reference", tmp_path / "interrupted"
    _run_in_this_process("--out", str(reference))  # the uninterrupted run

    run = subprocess.Popen(
        [sys.executable, "-m", "coursekit", *ARGS, "--out", str(interrupted)],
        stderr=subprocess.PIPE,
        env=ENV,
    )
    seen = bytearray()  # the progress bar, read as it is drawn
    reader = threading.Thread(target=_drain, args=(run.stderr, seen))
    reader.start()
    deadline = time.monotonic() + 240
    while not EPOCH_2_UNDER_WAY.search(seen.decode(errors="replace")):
        assert run.poll() is None, "the run ended before it could be caught in epoch 2"
        assert time.monotonic() < deadline, "epoch 2 never showed progress"
        time.sleep(0.01)
    run.send_signal(signal.SIGKILL)
    run.wait()
    reader.join()
    assert run.returncode == -signal.SIGKILL
    assert _checkpoint(interrupted)["state"]["epoch"] == 1  # killed before epoch 2 finished

    _run_to_end("--resume", "--out", str(interrupted))
    expected, resumed = _checkpoint(reference), _checkpoint(interrupted)
    assert resumed["state"]["epoch"] == 2
    assert resumed["state"]["history"] == expected["state"]["history"]
    for name, weight in expected["model"].items():
        assert torch.equal(resumed["model"][name], weight), name


# ---- fit resumed in this process --------------------------------------------------------

class _Crash(Exception):
    pass


def _adamw_that_crashes_at(step):
    """AdamW that dies before its ``step``-th update, like a run killed in mid-epoch."""

    class Crashing(torch.optim.AdamW):
        def step(self, closure=None):
            self.calls = getattr(self, "calls", 0) + 1
            if self.calls == step:
                raise _Crash
            return super().step(closure)

    return Crashing


def test_fit_resumed_after_a_crash_equals_an_uninterrupted_run(tmp_path):
    data = synthetic_images(96, (1, 8, 8), num_classes=4, seed=0)
    args = dict(epochs=4, batch_size=32, lr=0.01, lr_schedule="cosine", progress=False)

    def model():
        torch.manual_seed(0)
        return DigitsCNN(num_classes=4)  # dropout and batch norm: RNG and buffers must resume

    straight = model()
    h_straight = fit(straight, data, optimizer="adamw", **args)
    with pytest.raises(_Crash):  # 3 steps per epoch: dies in the middle of epoch 3
        fit(model(), data, optimizer=_adamw_that_crashes_at(8), checkpoint_dir=tmp_path, **args)
    assert torch.load(tmp_path / CHECKPOINT_NAME, weights_only=True)["state"]["epoch"] == 2
    torch.manual_seed(123)  # whatever the global RNG holds, the resumed run must not depend on it
    resumed = model()
    h_resumed = fit(resumed, data, optimizer="adamw", checkpoint_dir=tmp_path, resume=True, **args)
    assert h_resumed == h_straight
    for a, b in zip(straight.state_dict().values(), resumed.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert torch.load(tmp_path / CHECKPOINT_NAME, weights_only=True)["state"]["epoch"] == 4


def _linear():
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 4))


DATA = synthetic_images(64, (1, 8, 8), num_classes=4, seed=0)
ONE_STEP = dict(batch_size=64, progress=False)  # one step per epoch: one rate per epoch


class _Spy(torch.optim.SGD):
    """SGD that notes the learning rate of every step."""

    rates: list[float] = []

    def step(self, closure=None):
        _Spy.rates.append(self.param_groups[0]["lr"])
        return super().step(closure)


def _rates_of_resumed_run(folder, first, then):
    """The rates of the resumed epochs: ``first`` runs, then ``then`` resumes it."""
    fit(_linear(), DATA, optimizer=_Spy, checkpoint_dir=folder, **ONE_STEP, **first)
    _Spy.rates = []
    fit(_linear(), DATA, optimizer=_Spy, checkpoint_dir=folder, resume=True, **ONE_STEP, **then)
    return _Spy.rates


def test_resume_without_a_checkpoint_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        fit(_linear(), DATA, epochs=1, lr=0.01, checkpoint_dir=tmp_path / "typo", resume=True,
            **ONE_STEP)  # fmt: skip


def test_resume_when_the_checkpoint_is_a_folder_is_an_error_before_training(tmp_path):
    (tmp_path / CHECKPOINT_NAME).mkdir()
    model = _linear()
    before = [p.clone() for p in model.parameters()]
    with pytest.raises(ValueError, match="is not a file"):
        fit(model, DATA, epochs=1, lr=0.01, checkpoint_dir=tmp_path, resume=True, **ONE_STEP)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


def test_an_existing_checkpoint_needs_resume_or_overwrite(tmp_path):
    fit(_linear(), DATA, epochs=2, lr=0.01, checkpoint_dir=tmp_path, **ONE_STEP)
    before = (tmp_path / CHECKPOINT_NAME).read_bytes()
    with pytest.raises(FileExistsError, match="resume=True .* overwrite=True"):
        fit(_linear(), DATA, epochs=1, lr=0.01, checkpoint_dir=tmp_path, **ONE_STEP)
    assert (tmp_path / CHECKPOINT_NAME).read_bytes() == before
    fit(_linear(), DATA, epochs=1, lr=0.01, checkpoint_dir=tmp_path, overwrite=True, **ONE_STEP)
    assert torch.load(tmp_path / CHECKPOINT_NAME, weights_only=True)["state"]["epoch"] == 1


def test_resume_with_a_new_lr_trains_at_it_and_says_so(tmp_path):
    with pytest.warns(UserWarning, match=r"lr 0\.5 \(was 0\.1\).*recomputed"):
        rates = _rates_of_resumed_run(tmp_path, dict(epochs=2, lr=0.1), dict(epochs=3, lr=0.5))
    assert rates == [0.5]


def test_resume_of_a_cosine_run_with_more_epochs_follows_the_longer_cosine(tmp_path):
    with pytest.warns(UserWarning, match=r"epochs 4 \(was 2\).*recomputed"):
        rates = _rates_of_resumed_run(tmp_path, dict(epochs=2, lr=0.1, lr_schedule="cosine"),
                                      dict(epochs=4, lr=0.1, lr_schedule="cosine"))  # fmt: skip
    expected = [0.05 * (1 + math.cos(math.pi * epoch / 4)) for epoch in (2, 3)]
    assert rates == pytest.approx(expected, rel=1e-12)


def test_resume_of_a_cosine_run_as_constant_trains_at_lr(tmp_path):
    with pytest.warns(UserWarning, match=r"lr schedule constant \(was cosine\)"):
        rates = _rates_of_resumed_run(tmp_path, dict(epochs=2, lr=0.1, lr_schedule="cosine"),
                                      dict(epochs=4, lr=0.1, lr_schedule="constant"))  # fmt: skip
    assert rates == [0.1, 0.1]


def test_resume_to_fewer_epochs_than_were_trained_is_an_error(tmp_path):
    fit(_linear(), DATA, epochs=3, lr=0.01, checkpoint_dir=tmp_path, **ONE_STEP)
    with pytest.raises(ValueError, match="epochs is 2, but .* already trained 3"):
        fit(_linear(), DATA, epochs=2, lr=0.01, checkpoint_dir=tmp_path, resume=True,
            **ONE_STEP)  # fmt: skip


@pytest.mark.parametrize(
    "then, named",
    [
        (dict(batch_size=32), "batch_size=64"),
        (dict(seed=1), "seed=0"),
        (dict(optimizer="sgd"), "optimizer='AdamW("),
        (dict(train_data=synthetic_images(32, (1, 8, 8), num_classes=4)), "train_examples=64"),
    ],
)
def test_resume_refuses_a_change_of_what_is_trained(tmp_path, then, named):
    args = dict(epochs=1, lr=0.01, optimizer="adamw", checkpoint_dir=tmp_path) | ONE_STEP
    fit(_linear(), DATA, **args)
    args = args | dict(epochs=2, resume=True) | then
    with pytest.raises(ValueError, match=re.escape(named)):
        fit(_linear(), args.pop("train_data", DATA), **args)
    assert torch.load(tmp_path / CHECKPOINT_NAME, weights_only=True)["state"]["epoch"] == 1


def test_resume_of_an_adam_run_as_adamw_is_refused(tmp_path):
    fit(_linear(), DATA, epochs=1, lr=0.01, optimizer="adam", checkpoint_dir=tmp_path,
        **ONE_STEP)  # fmt: skip
    with pytest.raises(ValueError, match=r"optimizer='Adam\(.*optimizer='AdamW\("):
        fit(_linear(), DATA, epochs=2, lr=0.01, optimizer="adamw", checkpoint_dir=tmp_path,
            resume=True, **ONE_STEP)  # fmt: skip


def test_resume_with_another_number_of_processes_warns(tmp_path):
    model = _linear()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    save_checkpoint(tmp_path / CHECKPOINT_NAME, model, opt, epoch=1, history={},
                    config={"batch_size": 64, "world_size": 2})  # fmt: skip
    with pytest.warns(UserWarning, match="will not match an uninterrupted one"):
        resume(tmp_path, model, opt, config={"batch_size": 64, "world_size": 1})


def test_a_diverging_run_raises_and_keeps_the_last_good_checkpoint(tmp_path):
    def mlp():  # two layers: a huge rate overflows the logits to inf within an epoch
        torch.manual_seed(0)
        return nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 4))

    args = dict(batch_size=16, optimizer="adamw", checkpoint_dir=tmp_path, progress=False)
    fit(mlp(), DATA, epochs=2, lr=0.01, **args)
    with pytest.raises(FloatingPointError, match="epoch 3"), pytest.warns(UserWarning):
        fit(mlp(), DATA, epochs=4, lr=1e30, resume=True, **args)
    checkpoint = torch.load(tmp_path / CHECKPOINT_NAME, weights_only=True)
    assert checkpoint["state"]["epoch"] == 2
    assert all(bool(torch.isfinite(w).all()) for w in checkpoint["model"].values())


def test_fit_removes_leftovers_of_interrupted_checkpoint_writes(tmp_path):
    tmp_path.joinpath(".checkpoint.pt.a1b2c3.tmp").write_bytes(b"half a checkpoint")
    fit(_linear(), DATA, epochs=1, lr=0.01, checkpoint_dir=tmp_path, **ONE_STEP)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")) == []


def test_numpy_numbers_as_settings_give_a_checkpoint_that_resumes(tmp_path):
    import numpy as np

    fit(_linear(), DATA, epochs=1, lr=np.float64(0.01), seed=np.int64(3), checkpoint_dir=tmp_path,
        **ONE_STEP)  # fmt: skip
    history = fit(_linear(), DATA, epochs=2, lr=0.01, seed=3, checkpoint_dir=tmp_path,
                  resume=True, **ONE_STEP)  # fmt: skip
    assert len(history["loss"]) == 2


def test_more_epochs_at_a_constant_rate_resume_without_a_warning(tmp_path, recwarn):
    fit(_linear(), DATA, epochs=1, lr=0.01, checkpoint_dir=tmp_path, **ONE_STEP)
    fit(_linear(), DATA, epochs=2, lr=0.01, checkpoint_dir=tmp_path, resume=True, **ONE_STEP)
    assert not [w for w in recwarn if "recomputed" in str(w.message)]
