"""Training throughput: the lecture's hand-written loop against ``coursekit.training.train.fit``.

Same model (the lecture's ``Net``), same CIFAR-shaped synthetic data, same batch size, one
process. Prints samples per second for each and the ratio to the hand-written loop:

    .venv/bin/python benchmarks/train_throughput.py          # the best device here
    .venv/bin/python benchmarks/train_throughput.py --gpu    # CUDA, fast path, torch.compile

On the CPU ``fit`` should cost nothing extra (ratio at least 0.95). On CUDA the fast path
(``fit(fast=True)``: data resident on the GPU, no DataLoader, channels-last, bf16 autocast,
optionally ``torch.compile``; each pass replayed from a CUDA graph otherwise) is also
measured, on as many images as CIFAR-10's training set; the target is at least 5x the hand loop
at batch 256. Methods are run in turn, several rounds, and each one's median is reported, so a
busy machine slows all of them alike.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch
from torch import nn, optim
from torch.utils.data import DataLoader

from coursekit.training.data import synthetic_images
from coursekit.training.device import resolve_device
from coursekit.training.models import Net
from coursekit.training.train import fit


def hand_loop(data, device: torch.device, batch_size: int, epochs: int) -> None:
    """The training loop exactly as the lecture writes it (printing aside)."""
    trainloader = DataLoader(data, batch_size=batch_size, shuffle=True)
    net = Net().to(device)
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.SGD(net.parameters(), lr=0.001, momentum=0.9)
    for _ in range(epochs):
        running_loss = 0.0
        for _, batch in enumerate(trainloader, 0):
            inputs, labels = batch[0].to(device), batch[1].to(device)
            optimizer.zero_grad()
            outputs = net(inputs)
            loss = criterion(outputs, labels)
            loss.backward()
            optimizer.step()
            running_loss += loss.item()


def with_fit(data, device: torch.device, batch_size: int, epochs: int, **options) -> None:
    fit(Net(), data, epochs=epochs, batch_size=batch_size, lr=0.001, device=device,
        progress=False, **options)  # fmt: skip


def samples_per_second(run, data, epochs: int) -> float:
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start = time.perf_counter()
    run()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return len(data) * epochs / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument(
        "--n",
        type=int,
        help="training images (3x32x32); default 4096, or CIFAR-10's 50,000 on CUDA",
    )
    parser.add_argument("--epochs", type=int, default=2, help="epochs per timed run")
    parser.add_argument("--rounds", type=int, default=5, help="timed runs of each method")
    parser.add_argument("--compile", action="store_true", help="also time fast=True, compile=True")
    parser.add_argument("--gpu", action="store_true", help="same as --device cuda --compile")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)

    if args.gpu:
        args.device, args.compile = "cuda", True
    device = resolve_device(args.device)  # a clear error when CUDA is asked for and absent
    if args.n is None:  # on a GPU a few thousand images take milliseconds: time a real epoch
        args.n = 50_000 if device.type == "cuda" else 4096
    data = synthetic_images(args.n, (3, 32, 32), num_classes=10, seed=0)
    b, e = args.batch_size, args.epochs
    methods = {
        "hand-written loop": lambda: hand_loop(data, device, b, e),
        "fit": lambda: with_fit(data, device, b, e),
    }
    if device.type == "cuda":
        methods["fit(fast=True)"] = lambda: with_fit(data, device, b, e, fast=True)
        if args.compile:
            methods["fit(fast=True, compile=True)"] = lambda: with_fit(
                data, device, b, e, fast=True, compile=True
            )
    for run in methods.values():  # warm-up: lazy imports, kernel selection, compilation
        run()
    rates: dict[str, list[float]] = {name: [] for name in methods}
    for _ in range(args.rounds):
        for name, run in methods.items():
            rates[name].append(samples_per_second(run, data, e))

    if device.type == "cuda":
        name = torch.cuda.get_device_name()
    else:
        name = f"{torch.get_num_threads()} CPU threads"
    print(f"device: {device} ({name}), torch {torch.__version__}; Net, batch {b}, "
          f"{args.n} images x {e} epochs, median of {args.rounds} rounds")  # fmt: skip
    base = statistics.median(rates["hand-written loop"])
    figures = {}
    for method, values in rates.items():
        rate = statistics.median(values)
        figures[method] = rate
        print(f"{method:>30}: {rate:10.0f} samples/s   ratio to hand loop {rate / base:5.2f}")
    if args.json:
        with open(args.json, "w") as f:
            record = {"device": str(device), "name": name, "batch_size": b}
            json.dump({**record, "samples_per_s": figures}, f, indent=2)
    return figures


if __name__ == "__main__":
    main()
