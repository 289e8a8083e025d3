"""Training loops: ``fit`` trains a classifier, ``evaluate`` measures loss and accuracy.

``fit`` is the lecture's loop (forward, loss, ``zero_grad``, ``backward``, ``step``) with what
a real run needs around it: a device chosen for you, pinned memory and ``non_blocking``
copies on CUDA, bf16 autocast, a progress bar, seeds that make CPU runs repeatable,
checkpoints to resume from, and data-parallel training when launched by ``torchrun``.
With ``fast=True`` the whole dataset lives on the device and batches are cut by indexing,
with no ``DataLoader`` at all, and on a GPU each step is replayed from a CUDA graph: that
removes the per-batch Python work and kernel launches that dominate small networks.
Checkpoints (their file name, writing and resuming) are ``coursekit.training.checkpoint``'s,
run folders ``coursekit.training.runs``'.
"""

from __future__ import annotations

import contextlib
import functools
import math
import numbers
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset, DistributedSampler
from tqdm import tqdm

from coursekit._validation import integer, positive_int
from coursekit.training._steps import TrainStep, train_epoch
from coursekit.training.batches import loader_batches, resident_batches
from coursekit.training.checkpoint import checkpoint_path, save_checkpoint, unwrap
from coursekit.training.checkpoint import resume as resume_run
from coursekit.training.cuda_graphs import GraphedStep, can_graph
from coursekit.training.device import resolve_device
from coursekit.training.distributed import DistInfo, dist_info, process_group
from coursekit.training.runs import describe_optimizer, lr_factor, open_run

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
    overwrite: bool = False,
    run_config: dict[str, Any] | None = None,
    patience: int | None = None,
) -> dict[str, list[float]]:
    """Train a classifier in place and return its per-epoch history.

    Each epoch visits the training set in an order drawn from ``seed`` and the epoch number
    (as ``DistributedSampler`` does), and the random number generator that dropout uses is
    reseeded the same way, so two CPU runs with the same seed are identical and a run resumed
    from the checkpoint of epoch $k$ continues exactly as if it had never stopped. The
    caller's random state is put back afterwards, as it was.

    With ``checkpoint_dir``, the folder holds this one run (``coursekit.training.runs``): it
    is locked while ``fit`` runs, a checkpoint already there is continued only with
    ``resume`` and replaced only with ``overwrite``, and a resumed run must have the model,
    data, optimizer, batch size and seed it was trained with. Its ``epochs``, ``lr`` and
    ``lr_schedule`` may change: the rate of each epoch is a function of the epoch, ``epochs``
    and ``lr``, recomputed from the new values (with a warning that says so). A loss or a
    weight that stops being finite ends the run with ``FloatingPointError`` before the
    epoch's checkpoint is written, so the last good one stays.

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
        resume: continue the run whose checkpoint is in ``checkpoint_dir``.
        progress: show a ``tqdm`` bar with the running loss.
        fast: keep the whole dataset on the device and batch by indexing (no ``DataLoader``);
            on CUDA the model and images also use the channels-last memory format, and
            with SGD, a constant rate and neither ``compile`` nor ``torchrun``, each training
            step is replayed from a CUDA graph (``coursekit.training.cuda_graphs``).
        compile: run the model through ``torch.compile``.
        lr_schedule: ``"constant"``, or ``"cosine"`` to anneal the rate to 0 over ``epochs``
            (``coursekit.training.runs.lr_factor`` gives the fraction of ``lr`` per epoch).
        overwrite: start over in ``checkpoint_dir``, deleting the checkpoint there.
        run_config: more settings that identify the run, e.g. ``{"data": "digits"}``; they are
            saved in the checkpoint and a resumed run must have the same.
        patience: early stopping (Prechelt 1998): stop after this many epochs in a row without
            a validation loss below the best so far, and put the weights of the best epoch
            back into ``model``; needs ``val_data``, and cannot be combined with ``resume``
            (the best weights are not in the checkpoint, which holds the last epoch's).

    Returns:
        ``{"loss": [...], "accuracy": [...]}`` with one entry per epoch, plus ``val_loss``
            and ``val_accuracy`` when ``val_data`` is given.

    Raises:
        ValueError: if a count or rate is not positive, ``seed`` is not in
            ``0..2**32-1``, ``batch_size`` does not divide among the processes,
            ``optimizer``/``lr_schedule`` is unknown, or resuming would change the run or its
            epochs are fewer than the checkpoint has done.
        FileExistsError: if ``checkpoint_dir`` holds a checkpoint and neither ``resume`` nor
            ``overwrite`` is given.
        FileNotFoundError: if ``resume`` is given and there is no checkpoint.
        coursekit.training.runs.RunInUseError: if another process runs in ``checkpoint_dir``.
        FloatingPointError: if the loss or the weights stop being finite (a rate too high).

    Examples:
        >>> import torch
        >>> from coursekit.training.data import load_digits
        >>> from coursekit.training.models import MLP
        >>> from coursekit.training.train import evaluate, fit
        >>> train, test = load_digits()
        >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
        <torch._C.Generator object at ...>
        >>> model = MLP([64, 64, 10])
        >>> history = fit(model, train, epochs=3, batch_size=32, lr=0.05,
        ...               progress=False)
        >>> history["loss"][-1] < history["loss"][0]
        True
        >>> evaluate(model, test)["accuracy"] > 0.9
        True
    """
    _check_arguments(epochs, batch_size, lr, lr_schedule, optimizer, seed, train_data)
    lr, seed = float(lr), int(seed)  # plain numbers: a NumPy one would not load back
    if (resume or overwrite) and checkpoint_dir is None:
        raise ValueError(f"{'resume' if resume else 'overwrite'}=True needs a checkpoint_dir")
    if patience is not None:
        patience = positive_int(patience, "patience")
        if val_data is None:
            raise ValueError("patience needs val_data: early stopping watches the validation loss")
        if resume:
            raise ValueError("patience cannot be combined with resume: the checkpoint does not "
                             "hold the best weights")
    loss_fn = loss_fn if loss_fn is not None else nn.CrossEntropyLoss()

    info = dist_info()
    dev = resolve_device(device, local_rank=info.local_rank if info.enabled else None)
    run_folder = open_run(checkpoint_dir, resume=resume, overwrite=overwrite) \
        if checkpoint_dir is not None and info.is_main else contextlib.nullcontext()
    with _callers_rng_kept(), run_folder, process_group(dev) as info:
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
        base_lrs = [group["lr"] for group in opt.param_groups]  # what the schedule scales

        history: dict[str, list[float]] = {"loss": [], "accuracy": []}
        if val_data is not None:
            history |= {"val_loss": [], "val_accuracy": []}
        config = {
            **(run_config or {}), "model": type(unwrap(model)).__name__,
            "train_examples": len(train_data),
            "val_examples": len(val_data) if val_data is not None else 0,
            "optimizer": describe_optimizer(opt), "batch_size": batch_size, "seed": seed,
            "world_size": info.world_size, "epochs": epochs, "lr": lr, "lr_schedule": lr_schedule,
        }  # fmt: skip
        start = 0
        if resume:
            state = resume_run(checkpoint_dir, model, opt, config=config, map_location=dev)
            history, start = state["history"], state["epoch"]
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
        train_step = TrainStep(net, opt, loss_fn, dev, use_amp)
        step: Callable[[torch.Tensor, torch.Tensor], None] = train_step
        if fast and can_graph(opt, dev, constant_lr=lr_schedule == "constant", compiled=compile,
                              distributed=info.enabled):  # fmt: skip
            step = GraphedStep(train_step)  # one launch per step instead of dozens

        best_loss, best_state, waited = math.inf, None, 0
        for epoch in range(start, epochs):
            factor = lr_factor(lr_schedule, epoch, epochs)
            for group, base in zip(opt.param_groups, base_lrs, strict=True):
                group["lr"] = base * factor
            sampler.set_epoch(epoch)
            torch.manual_seed(_epoch_seed(seed, epoch, info))  # dropout and friends
            loss, accuracy = train_epoch(
                net, train_step, step, batches(), -(-sampler.num_samples // per_rank),
                f"epoch {epoch + 1}/{epochs}", progress and info.is_main,
            )  # fmt: skip
            history["loss"].append(loss)
            history["accuracy"].append(accuracy)
            if val_data is not None:
                scores = evaluate(model, val_data, batch_size=256, loss_fn=loss_fn, amp=amp)
                history["val_loss"].append(scores["loss"])
                history["val_accuracy"].append(scores["accuracy"])
            _check_finite(model, history, epoch, opt.param_groups[0]["lr"], checkpoint_dir)
            _say(progress and info.is_main, _epoch_line(epoch, epochs, history))
            if checkpoint_dir is not None and info.is_main:
                save_checkpoint(
                    checkpoint_path(checkpoint_dir), model, opt, epoch=epoch + 1, history=history,
                    config=config,
                )  # fmt: skip
            if patience is not None:
                if history["val_loss"][-1] < best_loss:
                    best_loss, waited = history["val_loss"][-1], 0
                    best_state = {k: v.detach().clone()
                                  for k, v in unwrap(model).state_dict().items()}
                else:
                    waited += 1
                if waited >= patience:
                    break
        if best_state is not None:
            unwrap(model).load_state_dict(best_state)
    return history


def _check_arguments(epochs: int, batch_size: int, lr: float, lr_schedule: str,
                     optimizer: str | OptimizerFactory, seed: int,
                     train_data: Dataset) -> None:  # fmt: skip
    for name, value in [("epochs", epochs), ("batch_size", batch_size)]:
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not 0 < lr < math.inf:
        raise ValueError(f"lr must be positive and finite, got {lr!r}")
    integer(seed, "seed", minimum=0, maximum=2**32 - 1)  # what every seeded library takes
    if lr_schedule not in ("constant", "cosine"):
        raise ValueError(f"lr_schedule must be 'constant' or 'cosine', got {lr_schedule!r}")
    if isinstance(optimizer, str) and optimizer not in OPTIMIZERS:
        raise ValueError(
            f"optimizer must be one of {sorted(OPTIMIZERS)} or a callable, got {optimizer!r}"
        )
    if len(train_data) == 0:
        raise ValueError("train_data must hold at least one example, got an empty dataset")


def _check_finite(model: nn.Module, history: dict[str, list[float]], epoch: int, lr: float,
                  checkpoint_dir: str | Path | None) -> None:  # fmt: skip
    """Stop a run whose loss or weights are no longer finite, before its checkpoint is saved."""
    bad = [name for name, values in history.items() if not math.isfinite(values[-1])]
    tensors = [t for t in unwrap(model).state_dict().values() if t.is_floating_point()]
    if tensors and not bool(torch.stack([torch.isfinite(t).all() for t in tensors]).all()):
        bad.append("weights")
    if bad:
        kept = f"; the checkpoint of epoch {epoch} in {checkpoint_dir} is kept" \
            if checkpoint_dir is not None and epoch > 0 else ""
        raise FloatingPointError(
            f"training diverged in epoch {epoch + 1}: {', '.join(bad)} not finite at lr {lr:g}; "
            f"try a smaller lr{kept}"
        )


def _callers_rng_kept() -> contextlib.AbstractContextManager:
    """Put the global random state (CPU and accelerators) back as it was, on exit."""
    accelerator = torch.accelerator.current_accelerator()
    if accelerator is None:
        return torch.random.fork_rng(devices=[])
    devices = range(torch.accelerator.device_count())
    return torch.random.fork_rng(devices=devices, device_type=accelerator.type)


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

    The caller's random state is left as it was.

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
        >>> x, y = torch.tensor([[1.0, 0.0], [0.0, 1.0]]), torch.tensor([0, 0])
        >>> data = TensorDataset(x, y)
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
    # a DataLoader draws its seed from the global generator; on the CPU, only the CPU's
    kept = torch.random.fork_rng(devices=[]) if device.type == "cpu" else _callers_rng_kept()
    with kept:
        for x, y in DataLoader(data, batch_size, pin_memory=device.type == "cuda"):
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            with torch.autocast(device.type, torch.bfloat16,
                                enabled=amp and device.type == "cuda"):  # fmt: skip
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
