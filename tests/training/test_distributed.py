"""Data-parallel training: ``torchrun`` with two CPU processes equals one process."""

import json
import os
import socket
import subprocess
import sys
import time

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


@pytest.mark.parametrize("variable", ["WORLD_SIZE", "RANK", "LOCAL_RANK"])
def test_dist_info_names_a_variable_that_is_not_an_integer(monkeypatch, variable):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv(variable, "abc")
    with pytest.raises(ValueError, match=f"{variable} must be an integer, got 'abc'"):
        dist_info()


JOIN = "import torch; from coursekit.training.distributed import process_group\n" \
    "with process_group(torch.device('cpu')): pass"


@pytest.mark.parametrize(
    "values, message",
    [
        (dict(MASTER_PORT="abc"), "MASTER_PORT must be an integer, got 'abc'"),
        (dict(MASTER_PORT="70000"), "MASTER_PORT must be a port number"),
        (dict(MASTER_ADDR=None), "MASTER_ADDR is not set"),
        (dict(COURSEKIT_DIST_TIMEOUT="soon"), "COURSEKIT_DIST_TIMEOUT must be a positive"),
        (dict(COURSEKIT_DIST_TIMEOUT="0"), "COURSEKIT_DIST_TIMEOUT must be a positive"),
    ],
)
def test_process_group_names_a_bad_rendezvous_variable(values, message):
    # in a subprocess: with a good port and no peer, a process that ignored the variable
    # would wait for its peer (for half an hour, without a timeout)
    env = {**os.environ, "WORLD_SIZE": "2", "RANK": "0", "LOCAL_RANK": "0",
           "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(_free_port()),
           "COURSEKIT_DIST_TIMEOUT": "2"} | values  # fmt: skip
    env = {name: value for name, value in env.items() if value is not None}
    result = subprocess.run([sys.executable, "-c", JOIN], capture_output=True, text=True,
                            timeout=60, env=env)  # fmt: skip
    assert result.returncode != 0
    assert f"ValueError: {message}" in result.stderr, result.stderr[-2000:]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_torchrun_environment_without_its_peer_times_out_with_a_clear_error(tmp_path):
    env = {**os.environ, "WORLD_SIZE": "2", "RANK": "0", "LOCAL_RANK": "0",
           "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(_free_port()),
           "COURSEKIT_DIST_TIMEOUT": "3"}  # fmt: skip
    command = [sys.executable, "-m", "coursekit", *ARGS, "--no-progress", "--out", str(tmp_path)]
    start = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 2, result.stderr[-3000:]
    assert time.monotonic() - start < 60
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr[-3000:]
    assert "COURSEKIT_DIST_TIMEOUT" in lines[0] and "127.0.0.1" in lines[0]
