"""Data-parallel training: ``torchrun`` with two CPU processes equals one process."""

import json
import subprocess
import sys

import pytest
import torch

from coursekit.training.checkpoint import CHECKPOINT_NAME
from coursekit.training.cli import main
from coursekit.training.distributed import dist_info

# an MLP (no dropout, no batch norm): the processes' runs differ only by the gradient averaging
ARGS = [
    "train", "--model", "mlp", "--data", "synthetic", "--limit", "256", "--epochs", "2",
    "--batch-size", "32", "--lr", "0.05", "--optimizer", "sgd", "--device", "cpu",
]  # fmt: skip


@pytest.mark.slow
def test_torchrun_on_two_processes_equals_one_process_with_the_same_global_batch(tmp_path):
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
        "-m", "coursekit", *ARGS, "--out", str(tmp_path / "ddp"),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    main([*ARGS, "--no-progress", "--out", str(tmp_path / "single")])

    ddp = torch.load(tmp_path / "ddp" / CHECKPOINT_NAME, weights_only=True)
    single = torch.load(tmp_path / "single" / CHECKPOINT_NAME, weights_only=True)
    for name, weight in single["model"].items():
        assert torch.allclose(ddp["model"][name], weight, atol=1e-5), name
    assert ddp["state"]["config"]["world_size"] == 2
    losses = [ddp["state"]["history"]["loss"], single["state"]["history"]["loss"]]
    assert losses[0] == pytest.approx(losses[1], rel=1e-5)
    metrics = json.loads((tmp_path / "ddp" / "metrics.json").read_text())
    assert metrics["world_size"] == 2
    # only rank 0 reports: one summary line per epoch, one final line
    assert result.stderr.count("epoch 2/2: loss") == 1
    assert result.stdout.count("test accuracy") == 1


def test_dist_info_reads_torchruns_variables(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("LOCAL_RANK", "1")
    info = dist_info()
    assert (info.rank, info.local_rank, info.world_size) == (3, 1, 4)
    assert info.enabled and not info.is_main


def test_dist_info_rejects_a_rank_outside_the_world(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "2")
    with pytest.raises(ValueError, match="RANK must be in 0..WORLD_SIZE-1"):
        dist_info()
