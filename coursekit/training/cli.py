"""The ``coursekit`` command: ``coursekit train --model digits-cnn --data digits``.

``train`` builds one of the course's models, loads a dataset, runs ``coursekit.training.train.fit``
with a progress bar, and writes ``DIR/checkpoint.pt`` after every epoch and ``DIR/metrics.json``
(the history and the test accuracy) at the end; ``--resume`` continues from the checkpoint.
Launched by ``torchrun``, every process runs the same command and only rank 0 writes.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
from torch.utils.data import TensorDataset

from coursekit.training import data as datasets
from coursekit.training._atomic import write_json
from coursekit.training.checkpoint import CHECKPOINT_NAME
from coursekit.training.device import DEVICE_CHOICES
from coursekit.training.distributed import dist_info
from coursekit.training.registry import get_model, list_models, model_spec
from coursekit.training.train import OPTIMIZERS, evaluate, fit

__all__ = ["build_parser", "main", "train_command"]

DATA_SHAPES = {"digits": (1, 8, 8), "cifar10": (3, 32, 32)}


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
    train.add_argument("--out", type=Path, help="output folder (default runs/MODEL-DATA)")
    train.add_argument("--resume", action="store_true", help="continue from --out's checkpoint")
    train.add_argument("--seed", type=int, default=0)
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
    """``coursekit train``: load, build, fit, evaluate, write ``metrics.json``."""
    # flags given on the command line win over the model's defaults
    spec = model_spec(args.model)
    settings = {k: v if getattr(args, k) is None else getattr(args, k)
                for k, v in spec.recipe.items()}  # fmt: skip
    out = args.out if args.out is not None else Path("runs") / f"{args.model}-{args.data}"
    try:
        train_data, test_data = _load(args)
    except FileNotFoundError as err:
        parser.exit(2, f"coursekit train: error: {err}\n")
    shape, classes = tuple(train_data.tensors[0].shape[1:]), 10
    needed = spec.input_shape
    if needed is not None and shape != needed:
        parser.error(
            f"--model {args.model} takes {'x'.join(map(str, needed))} images, "
            f"but --data {args.data} has {'x'.join(map(str, shape))}; try --data synthetic"
        )
    torch.manual_seed(args.seed)
    model = get_model(args.model, input_shape=shape, num_classes=classes)
    info = dist_info()
    start = time.perf_counter()
    history = fit(
        model, train_data, epochs=settings["epochs"], batch_size=settings["batch_size"],
        lr=settings["lr"], optimizer=settings["optimizer"], lr_schedule=settings["schedule"],
        device=args.device, seed=args.seed, checkpoint_dir=out, resume=args.resume,
        progress=not args.no_progress, fast=args.fast, compile=args.compile,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    scores = evaluate(model, test_data, batch_size=256)
    if info.is_main:
        metrics = {
            "model": args.model, "data": args.data, **settings, "seed": args.seed,
            "train_examples": len(train_data), "test_examples": len(test_data),
            "world_size": info.world_size, "test_loss": scores["loss"],
            "test_accuracy": scores["accuracy"], "train_seconds": seconds, "history": history,
            "checkpoint": str(out / CHECKPOINT_NAME),
        }  # fmt: skip
        write_json(out / "metrics.json", metrics)
        print(
            f"test accuracy {scores['accuracy']:.4f} (loss {scores['loss']:.4f}) after "
            f"{settings['epochs']} epochs in {seconds:.1f} s; wrote {out / 'metrics.json'}"
        )
    return 0


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


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


if __name__ == "__main__":
    sys.exit(main())
