"""Training loops: ``fit`` trains a classifier, ``evaluate`` measures loss and accuracy.

``fit`` is the lecture's loop (forward, loss, ``zero_grad``, ``backward``, ``step``) with what
a real run needs around it: a device chosen for you, pinned memory and ``non_blocking``
copies on CUDA, bf16 autocast, a progress bar, seeds that make CPU runs repeatable,
checkpoints to resume from, and data-parallel training when launched by ``torchrun``.
With ``fast=True`` the whole dataset lives on the device and batches are cut by indexing,
with no ``DataLoader`` at all, and on a GPU each step is replayed from a CUDA graph: that
removes the per-batch Python work and kernel launches that dominate small networks.
Checkpoints (their file name, writing and resuming) are ``coursekit.training.checkpoint``'s.
"""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset, DistributedSampler
from tqdm import tqdm

from coursekit.training.batches import Batch, loader_batches, resident_batches
from coursekit.training.checkpoint import checkpoint_path, save_checkpoint
from coursekit.training.checkpoint import resume as resume_run
from coursekit.training.cuda_graphs import GraphedStep, can_graph
from coursekit.training.device import resolve_device
from coursekit.training.distributed import DistInfo, all_reduce_sum, dist_info, process_group

__all__ = ["OPTIMIZERS", "evaluate", "fit"]

OPTIMIZERS: dict[str, Callable[..., torch.optim.Optimizer]] = {
    "sgd": functools.partial(torch.optim.SGD, momentum=0.9),  # the lecture's choice
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
}
OptimizerFactory = Callable[..., torch.optim.Optimizer]


def fit(
    model: nn.Module,
    train_data: Dataset,
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    optimizer: str | OptimizerFactory = "sgd",
    loss_fn: nn.Module | None = None,
    val_data: Dataset | None = None,
    device: str | torch.device = "auto",
    amp: bool = True,
    seed: int = 0,
    checkpoint_dir: str | Path | None = None,
    resume: bool = False,
    progress: bool = True,
    fast: bool = False,
    compile: bool = False,
    lr_schedule: str = "constant",
) -> dict[str, list[float]]:
    """Train a classifier in place and return its per-epoch history.

    Each epoch visits the training set in an order drawn from ``seed`` and the epoch number
    (as ``DistributedSampler`` does), and the random number generator that dropout uses is
    reseeded the same way, so two CPU runs with the same seed are identical and a run resumed
    from the checkpoint of epoch $k$ continues exactly as if it had never stopped.

    Under ``torchrun`` the model is wrapped in ``DistributedDataParallel``; each of the
    $W$ processes takes ``batch_size / W`` examples per step, so ``batch_size`` stays the
    global batch and the result matches a single process up to float rounding. Only rank 0
    shows progress and writes checkpoints.

    Args:
        model: the network; it is moved to the device and trained in place.
        train_data: a dataset of ``(x, y)`` pairs with integer class labels ``y``.
        epochs: number of passes over the training set (in total, counting resumed ones).
        batch_size: examples per optimizer step, summed over all processes.
        lr: learning rate.
        optimizer: ``"sgd"`` (momentum 0.9), ``"adam"``, ``"adamw"``, or a callable such as
            ``torch.optim.RMSprop`` called as ``optimizer(params, lr=lr)``.
        loss_fn: the loss; cross entropy by default.
        val_data: when given, evaluated after every epoch (``val_loss``, ``val_accuracy``).
        device: ``"auto"`` (CUDA, then MPS, then CPU), ``"cpu"``, ``"cuda"`` or ``"mps"``.
        amp: bf16 autocast on CUDA; ignored on other devices.
        seed: fixes the data order and the randomness of dropout (torch's global generator
            is reseeded from it at the start of every epoch).
        checkpoint_dir: if given, ``checkpoint.pt`` there is rewritten after every epoch.
        resume: continue from ``checkpoint_dir``'s checkpoint when there is one.
        progress: show a ``tqdm`` bar with the running loss.
        fast: keep the whole dataset on the device and batch by indexing (no ``DataLoader``);
            on CUDA the model and images also use the channels-last memory format, and
            with SGD, a constant rate and neither ``compile`` nor ``torchrun``, each training
            step is replayed from a CUDA graph (``coursekit.training.cuda_graphs``).
        compile: run the model through ``torch.compile``.
        lr_schedule: ``"constant"``, or ``"cosine"`` to anneal the rate to 0 over ``epochs``.

    Returns:
        ``{"loss": [...], "accuracy": [...]}`` with one entry per epoch, plus ``val_loss``
        and ``val_accuracy`` when ``val_data`` is given.

    Raises:
        ValueError: if a count or rate is not positive, ``batch_size`` does not divide
            among the processes, or ``optimizer``/``lr_schedule`` is unknown.

    Examples:
        >>> import torch
        >>> from coursekit.training.data import load_digits
        >>> from coursekit.training.models import MLP
        >>> from coursekit.training.train import evaluate, fit
        >>> train, test = load_digits()
        >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
        <torch._C.Generator object at ...>
        >>> model = MLP([64, 64, 10])
        >>> history = fit(model, train, epochs=3, batch_size=32, lr=0.05, progress=False)
        >>> history["loss"][-1] < history["loss"][0]
        True
        >>> evaluate(model, test)["accuracy"] > 0.9
        True
    """
    for name, value in [("epochs", epochs), ("batch_size", batch_size)]:
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if not lr > 0:
        raise ValueError(f"lr must be positive, got {lr!r}")
    if lr_schedule not in ("constant", "cosine"):
        raise ValueError(f"lr_schedule must be 'constant' or 'cosine', got {lr_schedule!r}")
    if isinstance(optimizer, str) and optimizer not in OPTIMIZERS:
        raise ValueError(
            f"optimizer must be one of {sorted(OPTIMIZERS)} or a callable, got {optimizer!r}"
        )
    if len(train_data) == 0:
        raise ValueError("train_data must hold at least one example, got an empty dataset")
    loss_fn = loss_fn if loss_fn is not None else nn.CrossEntropyLoss()

    info = dist_info()
    dev = resolve_device(device, local_rank=info.local_rank if info.enabled else None)
    with process_group(dev) as info:
        if batch_size % info.world_size:
            raise ValueError(
                f"batch_size must divide among the {info.world_size} processes, got {batch_size}"
            )
        use_amp = amp and dev.type == "cuda"
        channels_last = fast and dev.type == "cuda"
        model.to(dev)
        if channels_last:  # (B, H, W, C) in memory: what GPU convolution kernels read fastest
            model.to(memory_format=torch.channels_last)
        make_opt = OPTIMIZERS[optimizer] if isinstance(optimizer, str) else optimizer
        opt = make_opt(model.parameters(), lr=lr)
        schedule = None
        if lr_schedule == "cosine":
            schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)

        history: dict[str, list[float]] = {"loss": [], "accuracy": []}
        if val_data is not None:
            history |= {"val_loss": [], "val_accuracy": []}
        start, config = 0, {"batch_size": batch_size, "seed": seed, "world_size": info.world_size}
        state = resume_run(checkpoint_dir, model, opt, config=config, map_location=dev) \
            if resume else None
        if state is not None:
            history, start = state["history"], state["epoch"]
            if schedule is not None and state.get("schedule") is not None:
                schedule.load_state_dict(state["schedule"])
            _say(progress and info.is_main,
                 f"resumed from {checkpoint_path(checkpoint_dir)} after epoch {start}")

        sampler = DistributedSampler(
            train_data, num_replicas=info.world_size, rank=info.rank, shuffle=True, seed=seed
        )
        per_rank = batch_size // info.world_size
        on_gpu = dev.type == "cuda"
        if fast:
            batches = resident_batches(train_data, sampler, per_rank, dev, channels_last)
        else:  # page-locked (pinned) host memory lets the copy to the GPU overlap compute
            loader = DataLoader(  # its own generator, so the global RNG only serves dropout
                train_data, per_rank, sampler=sampler, pin_memory=on_gpu,
                generator=torch.Generator().manual_seed(seed),
            )  # fmt: skip
            batches = functools.partial(loader_batches, loader, dev)
        net = model
        if info.enabled:  # averages the gradients across processes during backward()
            net = DistributedDataParallel(model, device_ids=[dev.index] if on_gpu else None)
        net = torch.compile(net) if compile else net
        train_step = _TrainStep(net, opt, loss_fn, dev, use_amp)
        step: Callable[[torch.Tensor, torch.Tensor], None] = train_step
        if fast and can_graph(opt, dev, constant_lr=schedule is None, compiled=compile,
                              distributed=info.enabled):
            step = GraphedStep(train_step)  # one launch per step instead of dozens

        for epoch in range(start, epochs):
            sampler.set_epoch(epoch)
            torch.manual_seed(_epoch_seed(seed, epoch, info))  # dropout and friends
            loss, accuracy = _train_epoch(
                net, train_step, step, batches(), -(-sampler.num_samples // per_rank),
                f"epoch {epoch + 1}/{epochs}", progress and info.is_main,
            )  # fmt: skip
            history["loss"].append(loss)
            history["accuracy"].append(accuracy)
            if val_data is not None:
                scores = evaluate(model, val_data, batch_size=256, loss_fn=loss_fn, amp=amp)
                history["val_loss"].append(scores["loss"])
                history["val_accuracy"].append(scores["accuracy"])
            if schedule is not None:
                schedule.step()
            _say(progress and info.is_main, _epoch_line(epoch, epochs, history))
            if checkpoint_dir is not None and info.is_main:
                save_checkpoint(
                    checkpoint_path(checkpoint_dir), model, opt, epoch=epoch + 1, history=history,
                    schedule=schedule.state_dict() if schedule is not None else None,
                    config=config,
                )  # fmt: skip
    return history


class _TrainStep:
    """One step of the lecture's loop, adding the batch's loss and its count of correct answers
    to running sums that stay on the device: reading them (.item()) would make the CPU wait for
    the GPU, and a CUDA graph of the step can update them in place."""

    def __init__(self, net: nn.Module, opt: torch.optim.Optimizer, loss_fn: nn.Module,
                 device: torch.device, use_amp: bool) -> None:  # fmt: skip
        self.net, self.opt, self.loss_fn = net, opt, loss_fn
        self.device_type, self.use_amp = device.type, use_amp
        self.loss_sum = torch.zeros((), device=device)
        self.correct = torch.zeros((), dtype=torch.int64, device=device)

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> None:
        # autocast's cache of cast weights would outlive a CUDA graph's recording: off
        with torch.autocast(self.device_type, torch.bfloat16, self.use_amp, cache_enabled=False):
            outputs = self.net(x)
            loss = self.loss_fn(outputs, y)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        self.loss_sum += loss.detach() * len(y)
        self.correct += (outputs.detach().argmax(1) == y).sum()


def _train_epoch(
    net: nn.Module,
    sums: _TrainStep,
    step: Callable[[torch.Tensor, torch.Tensor], None],
    batches: Iterable[Batch],
    n_batches: int,
    desc: str,
    show: bool,
) -> tuple[float, float]:
    """One pass over the batches; returns the epoch's mean loss and accuracy."""
    net.train()
    sums.loss_sum.zero_()
    sums.correct.zero_()
    count, shown_at = 0, time.monotonic()
    bar = tqdm(batches, total=n_batches, desc=desc, disable=not show, leave=False, file=sys.stderr)
    for x, y in bar:
        step(x, y)
        count += len(y)
        if show and time.monotonic() - shown_at > 0.2:
            shown_at = time.monotonic()
            bar.set_postfix(loss=f"{sums.loss_sum.item() / count:.4f}", refresh=False)
    loss_sum, correct = sums.loss_sum, sums.correct.float()
    totals = all_reduce_sum(torch.stack([loss_sum, correct, loss_sum.new_tensor(count)]))
    loss_total, correct_total, count_total = totals.tolist()
    return loss_total / count_total, correct_total / count_total


@torch.no_grad()
def evaluate(
    model: nn.Module,
    data: Dataset,
    *,
    batch_size: int = 256,
    loss_fn: nn.Module | None = None,
    device: str | torch.device | None = None,
    amp: bool = True,
) -> dict[str, float]:
    r"""Mean loss and accuracy of a classifier on a dataset, in eval mode and without gradients.

    $$
    \text{accuracy} = \frac{1}{N} \sum_{i=1}^N [\operatorname{argmax}_k f(x_i)_k = y_i]
    $$

    Args:
        model: the classifier; its train/eval mode is restored afterwards.
        data: a dataset of ``(x, y)`` pairs.
        batch_size: examples per forward pass.
        loss_fn: the loss, averaged over the batch; cross entropy by default.
        device: where to run; by default where the model's parameters are.
        amp: bf16 autocast on CUDA.

    Returns:
        ``{"loss": mean loss, "accuracy": fraction classified correctly}``.

    Examples:
        >>> import torch
        >>> from torch import nn
        >>> from torch.utils.data import TensorDataset
        >>> from coursekit.training.train import evaluate
        >>> data = TensorDataset(torch.tensor([[1.0, 0.0], [0.0, 1.0]]), torch.tensor([0, 0]))
        >>> scores = evaluate(nn.Identity(), data)
        >>> round(scores["loss"], 4), scores["accuracy"]
        (0.8133, 0.5)
    """
    loss_fn = loss_fn if loss_fn is not None else nn.CrossEntropyLoss()
    if device is None:
        device = next(model.parameters(), torch.empty(0)).device
    device = resolve_device(device)
    was_training = model.training
    model.eval()
    loss_sum, correct, count = 0.0, 0, 0
    for x, y in DataLoader(data, batch_size, pin_memory=device.type == "cuda"):
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        with torch.autocast(device.type, torch.bfloat16, enabled=amp and device.type == "cuda"):
            outputs = model(x)
            loss_sum += loss_fn(outputs, y).item() * len(y)
        correct += int((outputs.argmax(1) == y).sum())
        count += len(y)
    model.train(was_training)
    return {"loss": loss_sum / count, "accuracy": correct / count}


def _epoch_seed(seed: int, epoch: int, info: DistInfo) -> int:
    """A distinct, reproducible seed per (run seed, epoch, rank)."""
    return (seed * 1_000_003 + epoch) * 1_009 + info.rank


def _epoch_line(epoch: int, epochs: int, history: dict[str, list[float]]) -> str:
    scores = ", ".join(f"{k} {v[-1]:.4f}" for k, v in history.items())
    return f"epoch {epoch + 1}/{epochs}: {scores}"


def _say(show: bool, message: str) -> None:
    if show:
        tqdm.write(message, file=sys.stderr)
