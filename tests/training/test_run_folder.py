"""``coursekit train``'s run folder is a unit, and a user's mistake is one line and exit status 2.

A folder holds one run: a second run on it is refused while the first is alive, continuing it
needs ``--resume`` and replacing it ``--overwrite``, a resumed run may change only its schedule
(``--epochs``, ``--lr``, ``--schedule``), a diverging run keeps the last good checkpoint, and
leftovers of interrupted writes are cleaned up. Every mistake is reported before training
starts when it can be, as ``coursekit train: error: ...``, never as a traceback.
"""

import json
import math
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
import torch

from coursekit.training import cli
from coursekit.training.checkpoint import CHECKPOINT_NAME
from coursekit.training.cli import main

QUICK = ["train", "--model", "mlp", "--data", "digits", "--limit", "128", "--no-progress"]
# batches of 4 on 1024 examples: an epoch of 256 steps, long enough to be caught running
SLOW = [
    "train", "--model", "digits-cnn", "--data", "synthetic", "--limit", "1024", "--epochs", "2",
    "--batch-size", "4", "--lr", "0.003", "--device", "cpu",
]  # fmt: skip
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def _epoch(folder):
    return torch.load(folder / CHECKPOINT_NAME, weights_only=True)["state"]["epoch"]


def _refused(capsys, argv, *, usage=False):
    """Run ``main(argv)``, expect exit status 2, and return the error line it printed."""
    with pytest.raises(SystemExit) as info:
        main(argv)
    err = capsys.readouterr().err
    assert info.value.code == 2, err
    assert "Traceback" not in err
    lines = [line for line in err.strip().splitlines()
             if not line.startswith("coursekit train: warning: ")]  # fmt: skip
    if not usage:  # argparse's own errors print a usage line first
        assert len(lines) == 1, err
    assert lines[-1].startswith("coursekit train: error: "), err
    return lines[-1]


@pytest.fixture
def no_training(monkeypatch):
    """Make any call of ``fit`` fail the test: the mistake must be found before training."""

    def fit(*args, **kwargs):
        raise AssertionError("fit was called: the mistake was found only after training")

    monkeypatch.setattr(cli, "fit", fit)


@pytest.fixture
def six_epochs(tmp_path):
    """A finished 6-epoch run in ``tmp_path / "run"``."""
    out = tmp_path / "run"
    assert main([*QUICK, "--epochs", "6", "--out", str(out)]) == 0
    return out


# ---- --resume to continue, --overwrite to start over -----------------------------------

def test_rerun_into_a_run_folder_without_resume_or_overwrite_is_refused(six_epochs, capsys):
    before = (six_epochs / CHECKPOINT_NAME).read_bytes()
    line = _refused(capsys, [*QUICK, "--epochs", "1", "--out", str(six_epochs)])
    assert "--resume" in line and "--overwrite" in line
    assert (six_epochs / CHECKPOINT_NAME).read_bytes() == before  # the 6-epoch run is intact


def test_overwrite_starts_the_run_over(six_epochs):
    assert main([*QUICK, "--epochs", "1", "--out", str(six_epochs), "--overwrite"]) == 0
    assert _epoch(six_epochs) == 1
    metrics = json.loads((six_epochs / "metrics.json").read_text())
    assert metrics["epochs"] == 1 and len(metrics["history"]["loss"]) == 1


def test_resume_and_overwrite_together_are_refused(six_epochs, capsys):
    line = _refused(capsys, [*QUICK, "--out", str(six_epochs), "--resume", "--overwrite"],
                    usage=True)  # fmt: skip
    assert "--overwrite" in line and "--resume" in line


def test_resume_of_a_folder_without_a_checkpoint_is_refused(tmp_path, capsys, no_training):
    misspelled = tmp_path / "runz"
    line = _refused(capsys, [*QUICK, "--out", str(misspelled), "--resume"])
    assert str(misspelled) in line and "no checkpoint" in line


def test_resume_when_the_checkpoint_is_a_folder_is_refused_before_training(
    tmp_path, capsys, no_training
):
    (tmp_path / CHECKPOINT_NAME).mkdir()
    line = _refused(capsys, [*QUICK, "--out", str(tmp_path), "--resume"])
    assert CHECKPOINT_NAME in line and "not a file" in line


# ---- resuming: the schedule may change, nothing else -----------------------------------

def test_resume_with_a_new_lr_trains_at_it_and_says_so(tmp_path, capsys):
    base, same, faster = tmp_path / "base", tmp_path / "same", tmp_path / "faster"
    assert main([*QUICK, "--epochs", "2", "--lr", "0.01", "--out", str(base)]) == 0
    for folder in (same, faster):
        folder.mkdir()
        (folder / CHECKPOINT_NAME).write_bytes((base / CHECKPOINT_NAME).read_bytes())
    capsys.readouterr()
    main([*QUICK, "--epochs", "3", "--lr", "0.01", "--out", str(same), "--resume"])
    main([*QUICK, "--epochs", "3", "--lr", "0.5", "--out", str(faster), "--resume"])
    err = capsys.readouterr().err
    assert "lr 0.5 (was 0.01)" in err and "recomputed" in err
    kept = torch.load(same / CHECKPOINT_NAME, weights_only=True)
    changed = torch.load(faster / CHECKPOINT_NAME, weights_only=True)
    assert changed["state"]["config"]["lr"] == 0.5
    assert json.loads((faster / "metrics.json").read_text())["lr"] == 0.5
    assert not all(torch.equal(w, changed["model"][k]) for k, w in kept["model"].items())


def test_resume_to_fewer_epochs_than_were_trained_is_refused(six_epochs, capsys):
    line = _refused(capsys, [*QUICK, "--epochs", "3", "--out", str(six_epochs), "--resume"])
    assert "3" in line and "6" in line
    assert _epoch(six_epochs) == 6


@pytest.mark.parametrize(
    "change, old, new",
    [
        (["--optimizer", "sgd"], "optimizer='AdamW(", "optimizer='SGD("),
        (["--batch-size", "16"], "batch_size=32", "batch_size=16"),
        (["--seed", "1"], "seed=0", "seed=1"),
        (["--limit", "64"], "train_examples=128", "train_examples=64"),
    ],
)
def test_resume_refuses_a_change_of_what_is_trained_naming_both_values(
    tmp_path, capsys, change, old, new
):
    assert main([*QUICK, "--epochs", "1", "--out", str(tmp_path)]) == 0
    before = (tmp_path / CHECKPOINT_NAME).read_bytes()
    line = _refused(capsys, [*QUICK, "--epochs", "2", "--out", str(tmp_path), "--resume",
                             *change])  # fmt: skip
    assert old in line and new in line
    assert (tmp_path / CHECKPOINT_NAME).read_bytes() == before


def test_resume_of_an_adam_run_as_adamw_is_refused(tmp_path, capsys):
    assert main([*QUICK, "--epochs", "1", "--optimizer", "adam", "--out", str(tmp_path)]) == 0
    line = _refused(capsys, [*QUICK, "--epochs", "2", "--optimizer", "adamw", "--resume",
                             "--out", str(tmp_path)])  # fmt: skip
    assert "optimizer='Adam(" in line and "optimizer='AdamW(" in line


def test_resume_refuses_other_data(tmp_path, capsys):
    args = ["train", "--model", "mlp", "--limit", "128", "--epochs", "1", "--no-progress",
            "--out", str(tmp_path)]  # fmt: skip
    assert main([*args, "--data", "digits"]) == 0
    line = _refused(capsys, [*args, "--data", "synthetic", "--resume"])
    assert "'digits'" in line and "'synthetic'" in line


# ---- a diverging run ---------------------------------------------------------------------

def test_a_diverging_run_stops_with_an_error_and_keeps_the_last_good_checkpoint(
    tmp_path, capsys
):
    assert main([*QUICK, "--epochs", "2", "--out", str(tmp_path)]) == 0
    line = _refused(capsys, [*QUICK, "--epochs", "3", "--lr", "1e30", "--out", str(tmp_path),
                             "--resume"])  # fmt: skip
    assert "epoch 3" in line and "lr" in line
    checkpoint = torch.load(tmp_path / CHECKPOINT_NAME, weights_only=True)
    assert checkpoint["state"]["epoch"] == 2
    assert all(bool(torch.isfinite(w).all()) for w in checkpoint["model"].values())
    metrics = json.loads((tmp_path / "metrics.json").read_text(),
                         parse_constant=lambda c: pytest.fail(f"metrics.json holds {c}"))
    assert all(math.isfinite(v) for v in metrics["history"]["loss"])


@pytest.mark.parametrize("lr", ["inf", "nan", "1e400"])
def test_a_non_finite_lr_is_refused(tmp_path, capsys, lr, no_training):
    line = _refused(capsys, [*QUICK, "--lr", lr, "--out", str(tmp_path)], usage=True)
    assert "--lr" in line


# ---- leftovers of interrupted writes ---------------------------------------------------

def test_leftovers_of_interrupted_writes_are_removed_at_the_next_start(tmp_path):
    assert main([*QUICK, "--epochs", "1", "--out", str(tmp_path)]) == 0
    leftovers = [".checkpoint.pt.k3j2h1.tmp", ".metrics.json.tmp", ".metrics.json.x8y7.tmp"]
    for name in leftovers:
        (tmp_path / name).write_bytes(b"half a file")
    assert main([*QUICK, "--epochs", "2", "--out", str(tmp_path), "--resume"]) == 0
    assert not [name for name in leftovers if (tmp_path / name).exists()]


# ---- --out is checked before training --------------------------------------------------

def test_out_that_is_a_file_is_refused_before_training(tmp_path, capsys, no_training):
    file = tmp_path / "file"
    file.write_text("not a folder")
    assert "not a folder" in _refused(capsys, [*QUICK, "--out", str(file)])
    assert str(file / "sub") in _refused(capsys, [*QUICK, "--out", str(file / "sub")])


@pytest.mark.skipif(os.geteuid() == 0 if hasattr(os, "geteuid") else True,
                    reason="root may write anywhere; needs POSIX permissions")
def test_out_that_is_not_writable_is_refused_before_training(tmp_path, capsys, no_training):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        assert "not writable" in _refused(capsys, [*QUICK, "--out", str(locked)])
    finally:
        locked.chmod(0o700)


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux's /proc")
def test_out_that_cannot_be_created_is_refused_before_training(capsys, no_training):
    out = "/proc/coursekit/run"  # nobody, root included, may make a folder in /proc
    line = _refused(capsys, [*QUICK, "--out", out])
    assert out in line and "cannot be created" in line


def test_empty_out_is_refused(tmp_path, capsys, monkeypatch, no_training):
    monkeypatch.chdir(tmp_path)
    assert "--out" in _refused(capsys, [*QUICK, "--out", ""], usage=True)
    assert os.listdir(tmp_path) == []


# ---- other mistakes: one line, exit 2 --------------------------------------------------

@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_device_cuda_without_cuda_is_one_line(tmp_path, capsys, no_training):
    assert "cuda" in _refused(capsys, [*QUICK, "--device", "cuda", "--out", str(tmp_path)])


def test_a_damaged_checkpoint_with_resume_is_one_line(tmp_path, capsys):
    assert main([*QUICK, "--epochs", "1", "--out", str(tmp_path)]) == 0
    (tmp_path / CHECKPOINT_NAME).write_bytes(b"PK\x03\x04 half a checkpoint")
    line = _refused(capsys, [*QUICK, "--epochs", "2", "--out", str(tmp_path), "--resume"])
    assert "is not a readable checkpoint" in line


def test_a_damaged_cifar_file_is_one_line(tmp_path, capsys, no_training):
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    for name in [*(f"data_batch_{i}.bin" for i in range(1, 6)), "test_batch.bin"]:
        (folder / name).write_bytes(bytes(3073 * 2))  # two records, not 10,000
    line = _refused(capsys, ["train", "--model", "net", "--data", "cifar10", "--data-root",
                             str(tmp_path), "--out", str(tmp_path / "run")])  # fmt: skip
    assert "data_batch_1.bin" in line


@pytest.mark.parametrize("seed", ["-1", "4294967296", "1.5"])
def test_a_bad_seed_is_refused(tmp_path, capsys, seed, no_training):
    line = _refused(capsys, [*QUICK, "--seed", seed, "--out", str(tmp_path)], usage=True)
    assert "--seed" in line


def test_a_bad_torchrun_variable_is_one_line(tmp_path, capsys, monkeypatch, no_training):
    monkeypatch.setenv("WORLD_SIZE", "abc")
    assert "WORLD_SIZE" in _refused(capsys, [*QUICK, "--out", str(tmp_path)])


# ---- one run at a time -----------------------------------------------------------------

def _start_slow_run(out):
    """A ``coursekit train`` subprocess into ``out``, returned once its first epoch runs."""
    run = subprocess.Popen([sys.executable, "-m", "coursekit", *SLOW, "--out", str(out)],
                           stderr=subprocess.PIPE, env=ENV)  # fmt: skip
    seen = bytearray()

    def drain():
        for chunk in iter(lambda: os.read(run.stderr.fileno(), 4096), b""):
            seen.extend(chunk)

    threading.Thread(target=drain, daemon=True).start()
    deadline = time.monotonic() + 120
    while b"epoch 1/2:" not in seen:
        assert run.poll() is None, f"the run ended early: {seen.decode(errors='replace')}"
        assert time.monotonic() < deadline, "the run never started its first epoch"
        time.sleep(0.01)
    return run


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
def test_a_second_run_on_a_busy_folder_is_refused_and_a_dead_runs_lock_is_not(tmp_path, capsys):
    out = tmp_path / "run"
    first = _start_slow_run(out)
    try:
        line = _refused(capsys, [*SLOW, "--no-progress", "--out", str(out), "--overwrite"])
        assert f"pid {first.pid}" in line
        assert first.poll() is None  # the first run goes on
    finally:
        first.kill()  # SIGKILL: its lock file stays behind, but the lock dies with it
        first.wait()
        first.stderr.close()
    # a short run now takes the folder over
    assert main([*SLOW, "--no-progress", "--epochs", "1", "--limit", "64", "--out", str(out),
                 "--overwrite"]) == 0
