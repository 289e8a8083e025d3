"""Resuming a run: a ``coursekit train`` killed with SIGKILL mid-epoch resumes to the same
weights, and ``fit`` resumed after a crash equals an uninterrupted run."""

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

from coursekit.training.checkpoint import CHECKPOINT_NAME
from coursekit.training.cli import main
from coursekit.training.data import synthetic_images
from coursekit.training.models import DigitsCNN
from coursekit.training.train import fit

# digits-cnn has dropout and batch norm, so the RNG and buffers must come back exactly;
# batches of 4 make an epoch of 256 steps, long enough to be caught in the middle
ARGS = [
    "train", "--model", "digits-cnn", "--data", "synthetic", "--limit", "1024", "--epochs", "2",
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


def test_resume_without_a_checkpoint_starts_from_scratch(tmp_path):
    data = synthetic_images(64, (1, 8, 8), num_classes=4, seed=0)
    torch.manual_seed(0)
    a = DigitsCNN(num_classes=4)
    torch.manual_seed(0)
    b = DigitsCNN(num_classes=4)
    fit(a, data, epochs=1, batch_size=32, lr=0.01, progress=False)
    fit(b, data, epochs=1, batch_size=32, lr=0.01, progress=False, checkpoint_dir=tmp_path,
        resume=True)  # fmt: skip
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    assert (tmp_path / CHECKPOINT_NAME).exists()


def test_resume_with_another_batch_size_warns(tmp_path):
    data = synthetic_images(64, (1, 8, 8), num_classes=4, seed=0)
    fit(nn.Sequential(nn.Flatten(), nn.Linear(64, 4)), data, epochs=1, batch_size=32, lr=0.01,
        progress=False, checkpoint_dir=tmp_path)  # fmt: skip
    with pytest.warns(UserWarning, match="will not match an uninterrupted one"):
        fit(nn.Sequential(nn.Flatten(), nn.Linear(64, 4)), data, epochs=2, batch_size=16, lr=0.01,
            progress=False, checkpoint_dir=tmp_path, resume=True)  # fmt: skip
