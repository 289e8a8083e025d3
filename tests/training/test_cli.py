"""The ``coursekit train`` command: outputs, resuming, argument errors, and the 98% digits run."""

import json
import subprocess
import sys
import time

import pytest

from coursekit.training.checkpoint import CHECKPOINT_NAME
from coursekit.training.cli import main
from coursekit.training.data import CIFAR10_URL, load_digits
from coursekit.training.models import DigitsCNN
from coursekit.training.train import evaluate

QUICK = ["--model", "mlp", "--data", "digits", "--limit", "128", "--epochs", "2", "--no-progress"]


def test_train_writes_metrics_and_a_checkpoint_that_reproduces_them(tmp_path, capsys):
    assert main(["train", *QUICK, "--out", str(tmp_path)]) == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["model"] == "mlp" and metrics["train_examples"] == 128
    assert len(metrics["history"]["loss"]) == 2
    assert "test accuracy" in capsys.readouterr().out
    # the checkpoint's weights give the reported test accuracy
    from coursekit.training.checkpoint import load_checkpoint
    from coursekit.training.registry import get_model

    model = get_model("mlp", input_shape=(1, 8, 8))  # what the command built
    load_checkpoint(tmp_path / CHECKPOINT_NAME, model)
    _, test = load_digits()
    assert evaluate(model, test)["accuracy"] == pytest.approx(metrics["test_accuracy"])


def test_resume_continues_the_history_to_more_epochs(tmp_path):
    main(["train", *QUICK, "--out", str(tmp_path)])
    longer = [*QUICK[:-3], "--epochs", "3", "--no-progress"]
    main(["train", *longer, "--out", str(tmp_path), "--resume"])
    history = json.loads((tmp_path / "metrics.json").read_text())["history"]
    assert len(history["loss"]) == 3


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--model", "resnet", "--data", "digits"], "invalid choice: 'resnet'"),
        (["train", "--model", "net"], "the following arguments are required: --data"),
        (["train", "--model", "mlp", "--data", "digits", "--epochs", "0"], "positive integer"),
        (["train", "--model", "mlp", "--data", "digits", "--lr", "-1"], "must be positive"),
        (["train", "--model", "mlp", "--data", "digits", "--device", "tpu"], "choice: 'tpu'"),
        (["train", "--model", "net", "--data", "digits"], "--model net takes 3x32x32 images"),
        (["fly"], "invalid choice: 'fly'"),
    ],
)
def test_bad_arguments_get_argparse_errors(tmp_path, capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--out", str(tmp_path)] if argv[0] == "train" else argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_cifar10_without_the_files_says_where_to_get_them(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--model", "net", "--data", "cifar10", "--data-root", str(tmp_path)])
    assert exit_info.value.code == 2
    assert CIFAR10_URL in capsys.readouterr().err


def test_python_dash_m_coursekit_runs_the_command():
    result = subprocess.run(
        [sys.executable, "-m", "coursekit", "train", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0 and "--batch-size" in result.stdout


@pytest.mark.slow
def test_digits_cnn_defaults_reach_98_percent_test_accuracy(tmp_path):
    start = time.perf_counter()
    main(["train", "--model", "digits-cnn", "--data", "digits", "--out", str(tmp_path),
          "--no-progress"])  # the command's defaults for digits-cnn; fmt: skip
    seconds = time.perf_counter() - start
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    print(f"digits-cnn: test accuracy {metrics['test_accuracy']:.4f} in {seconds:.1f} s")
    assert metrics["test_accuracy"] >= 0.98
    # the accuracy is the checkpoint's, not a number the run wrote down
    from coursekit.training.checkpoint import load_checkpoint

    model = DigitsCNN()
    load_checkpoint(tmp_path / CHECKPOINT_NAME, model)
    assert evaluate(model, load_digits()[1])["accuracy"] >= 0.98
