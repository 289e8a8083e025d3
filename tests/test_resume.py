"""Reliability: a ``coursekit train`` killed with SIGKILL mid-epoch resumes to the same weights."""

import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest
import torch

from coursekit.cli import main
from coursekit.train import CHECKPOINT_NAME

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
