"""The ``coursekit`` command: ``coursekit train --model digits-cnn --data digits``.

``train`` builds one of the course's models, loads a dataset, runs ``coursekit.training.train.fit``
with a progress bar, and writes ``DIR/checkpoint.pt`` after every epoch and ``DIR/metrics.json``
(the history and the test accuracy) at the end. ``DIR`` holds that one run
(``coursekit.training.runs``): ``--resume`` continues it, ``--overwrite`` starts it over, and
another command on it is refused while this one runs. A mistake (a bad value, a missing or
damaged file, a folder in use) ends the command with one line, ``coursekit train: error: ...``,
and exit status 2, before any training when it can be found then.
Launched by ``torchrun``, every process runs the same command and only rank 0 writes.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
import time
import warnings
from pathlib import Path

import torch
from torch.utils.data import TensorDataset

from coursekit.training import data as datasets
from coursekit.training._atomic import remove_leftovers, write_json
from coursekit.training.checkpoint import CHECKPOINT_NAME, find_checkpoint
from coursekit.training.device import DEVICE_CHOICES, resolve_device
from coursekit.training.distributed import dist_info
from coursekit.training.registry import get_model, list_models, model_spec
from coursekit.training.runs import open_run
from coursekit.training.train import OPTIMIZERS, evaluate, fit

__all__ = ["build_parser", "main", "train_command"]

DATA_SHAPES = {"digits": (1, 8, 8), "cifar10": (3, 32, 32)}
METRICS_NAME = "metrics.json"
MAX_SEED = 2**32 - 1  # the largest seed every seeded library here takes


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``coursekit`` command."""
    parser = argparse.ArgumentParser(prog="coursekit", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    train = commands.add_parser("train", help="train a model and write its checkpoint and metrics")
    train.add_argument("--model", required=True, choices=list_models())
    train.add_argument("--data", required=True, choices=["digits", "cifar10", "synthetic"])
    train.add_argument("--epochs", type=_positive_int, help="passes over the training set")
    train.add_argument("--batch-size", type=_positive_int, help="global batch size")
    train.add_argument("--lr", type=_positive_float, help="learning rate")
    train.add_argument("--optimizer", choices=sorted(OPTIMIZERS), help="sgd has momentum 0.9")
    train.add_argument("--schedule", choices=["constant", "cosine"], help="learning-rate schedule")
    train.add_argument("--device", choices=DEVICE_CHOICES, default="auto")
    train.add_argument("--out", type=_folder, help="output folder (default runs/MODEL-DATA)")
    again = train.add_mutually_exclusive_group()
    again.add_argument("--resume", action="store_true", help="continue the run in --out")
    again.add_argument("--overwrite", action="store_true",
                       help="start over, replacing the run in --out")  # fmt: skip
    train.add_argument("--seed", type=_seed, default=0, help=f"0 to {MAX_SEED}")
    train.add_argument("--data-root", type=Path, default=Path("data"), help="where CIFAR-10 is")
    train.add_argument("--limit", type=_positive_int, help="use only the first N training examples")
    train.add_argument("--fast", action="store_true", help="keep the data on the device")
    train.add_argument("--compile", action="store_true", help="compile the model (torch.compile)")
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``coursekit`` command line; returns the exit status.

    Examples:
        >>> from coursekit.training.cli import main
        >>> main(["train", "--model", "resnet", "--data", "digits"])
        Traceback (most recent call last):
        ...
        SystemExit: 2
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    return train_command(parser, args)


def train_command(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """``coursekit train``: check, load, build, fit, evaluate, write ``metrics.json``.

    The errors the package raises for a user's mistake (``ValueError``, ``OSError`` such as a
    missing file or a folder in use, ``FloatingPointError`` for a diverging run) end the
    command with one line on stderr and exit status 2; warnings are one line each too.
    """
    with warnings.catch_warnings():
        warnings.showwarning = _warning_line
        try:
            return _train(args)
        except (ValueError, OSError, FloatingPointError) as err:
            parser.exit(2, f"coursekit train: error: {' '.join(str(err).split())}\n")


def _train(args: argparse.Namespace) -> int:
    # flags given on the command line win over the model's defaults
    spec = model_spec(args.model)
    settings = {k: v if getattr(args, k) is None else getattr(args, k)
                for k, v in spec.recipe.items()}  # fmt: skip
    out = args.out if args.out is not None else Path("runs") / f"{args.model}-{args.data}"
    info = dist_info()
    resolve_device(args.device)  # a device this machine lacks is an error now, not in an hour
    if args.resume and find_checkpoint(out) is None:
        raise FileNotFoundError(f"--resume was given, but there is no checkpoint in {out}; "
                                "check --out, or leave out --resume to start a new run")
    if info.is_main:
        _check_folder(out)
    run_folder = open_run(out, resume=args.resume, overwrite=args.overwrite,
                          flags=("--resume", "--overwrite")) \
        if info.is_main else contextlib.nullcontext()  # fmt: skip
    with run_folder:
        if info.is_main:
            remove_leftovers(out, [METRICS_NAME])
            if args.overwrite:  # the old run's metrics must not sit beside the new checkpoint
                (out / METRICS_NAME).unlink(missing_ok=True)
        train_data, test_data = _load(args)
        shape, classes = tuple(train_data.tensors[0].shape[1:]), 10
        needed = spec.input_shape
        if needed is not None and shape != needed:
            raise ValueError(
                f"--model {args.model} takes {'x'.join(map(str, needed))} images, "
                f"but --data {args.data} has {'x'.join(map(str, shape))}; try --data synthetic"
            )
        torch.manual_seed(args.seed)
        model = get_model(args.model, input_shape=shape, num_classes=classes)
        start = time.perf_counter()
        history = fit(
            model, train_data, epochs=settings["epochs"], batch_size=settings["batch_size"],
            lr=settings["lr"], optimizer=settings["optimizer"], lr_schedule=settings["schedule"],
            device=args.device, seed=args.seed, checkpoint_dir=out, resume=args.resume,
            overwrite=args.overwrite, run_config={"data": args.data},
            progress=not args.no_progress, fast=args.fast, compile=args.compile,
        )  # fmt: skip
        seconds = time.perf_counter() - start
        scores = evaluate(model, test_data, batch_size=256)
        if info.is_main:
            metrics = {
                "model": args.model, "data": args.data, **settings, "seed": args.seed,
                "train_examples": len(train_data), "test_examples": len(test_data),
                "world_size": info.world_size, "test_loss": scores["loss"],
                "test_accuracy": scores["accuracy"], "train_seconds": seconds,
                "history": history, "checkpoint": str(out / CHECKPOINT_NAME),
            }  # fmt: skip
            write_json(out / METRICS_NAME, metrics)
            print(
                f"test accuracy {scores['accuracy']:.4f} (loss {scores['loss']:.4f}) after "
                f"{len(history['loss'])} epochs in {seconds:.1f} s; wrote {out / METRICS_NAME}"
            )
    return 0


def _check_folder(out: Path) -> None:
    """``--out`` is a folder this process can write in (created if need be)."""
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"--out {out} is a file, not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OSError(f"--out {out} cannot be created: {err.strerror or err}") from err
    if not os.access(out, os.W_OK | os.X_OK):
        raise PermissionError(f"--out {out} is not writable")


def _load(args: argparse.Namespace) -> tuple[TensorDataset, TensorDataset]:
    """The train and test sets named by ``--data`` (first ``--limit`` training examples)."""
    if args.data == "digits":
        train, test = datasets.load_digits(seed=args.seed)
    elif args.data == "cifar10":
        train = datasets.load_cifar10(args.data_root, train=True)
        test = datasets.load_cifar10(args.data_root, train=False)
    else:
        spec = model_spec(args.model)
        shape = spec.input_shape or DATA_SHAPES["cifar10"]
        n_train, n_test = spec.synthetic_sizes
        n_train = args.limit or n_train
        x, y = datasets.synthetic_images(n_train + n_test, shape, 10, seed=args.seed).tensors
        train = TensorDataset(x[:n_train], y[:n_train])
        test = TensorDataset(x[n_train:], y[n_train:])
    if args.limit is not None:
        train = TensorDataset(*(t[: args.limit] for t in train.tensors))
    return train, test


def _warning_line(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"coursekit train: warning: {' '.join(str(message).split())}", file=sys.stderr)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be positive and finite, got {text}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"must be an integer from 0 to {MAX_SEED}, got {text}")
    return value


def _folder(text: str) -> Path:
    if not text.strip():
        raise argparse.ArgumentTypeError(f"must name a folder, got {text!r}")
    return Path(text)


if __name__ == "__main__":
    sys.exit(main())
