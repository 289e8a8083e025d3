"""Where a training step's batches come from: a ``DataLoader``, or the device's own memory.

The lecture's way is a ``DataLoader``: it gathers examples one by one on the CPU, stacks them,
and the loop copies each batch to the device. On a GPU, the copy can overlap the computation
when the batch sits in page-locked ("pinned") host memory and is sent with
``non_blocking=True``. For datasets that fit in the device's memory there is a faster way:
copy the whole dataset once, then cut every batch by indexing on the device, so no Python
work per example and no host-to-device copy per step remain.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import torch
from torch.utils.data import DataLoader, Dataset, TensorDataset

__all__ = ["Batch", "dataset_tensors", "loader_batches", "resident_batches"]

Batch = tuple[torch.Tensor, torch.Tensor]


def loader_batches(loader: DataLoader, device: torch.device) -> Iterator[Batch]:
    """Batches of a ``DataLoader`` copied to ``device`` without waiting for the copy.

    Args:
        loader: yields ``(x, y)`` batches; with ``pin_memory=True`` the copies are asynchronous.
        device: where the batches go.

    Examples:
        >>> import torch
        >>> from torch.utils.data import DataLoader, TensorDataset
        >>> from coursekit.training.batches import loader_batches
        >>> data = TensorDataset(torch.zeros(5, 2), torch.arange(5))
        >>> loader = DataLoader(data, batch_size=2)
        >>> [len(y) for _, y in loader_batches(loader, torch.device("cpu"))]
        [2, 2, 1]
    """
    for x, y in loader:
        yield x.to(device, non_blocking=True), y.to(device, non_blocking=True)


def resident_batches(
    data: Dataset,
    order: Iterable[int],
    batch_size: int,
    device: torch.device,
    channels_last: bool = False,
) -> Callable[[], Iterator[Batch]]:
    """Move a whole dataset to ``device`` once; each call of the result yields an epoch.

    Args:
        data: the dataset (a ``TensorDataset`` is used without a copy on the host).
        order: re-iterated every epoch for the indices to visit, e.g. a
            ``DistributedSampler`` (after ``set_epoch``) or a list.
        batch_size: examples per batch; the last batch may be smaller.
        device: where the data lives.
        channels_last: give image batches the channels-last memory layout
            (``(B, C, H, W)`` stored as ``(B, H, W, C)``), which GPU convolutions prefer.

    Returns:
        A function that returns an iterator over one epoch's ``(x, y)`` batches.

    Examples:
        >>> import torch
        >>> from torch.utils.data import TensorDataset
        >>> from coursekit.training.batches import resident_batches
        >>> data = TensorDataset(torch.arange(10.0).reshape(5, 2), torch.arange(5))
        >>> epoch = resident_batches(data, [4, 0, 2, 1, 3], 2, torch.device("cpu"))
        >>> [y.tolist() for _, y in epoch()]
        [[4, 0], [2, 1], [3]]
    """
    x, y = (t.to(device) for t in dataset_tensors(data))

    def epoch() -> Iterator[Batch]:
        indices = torch.tensor(list(order), dtype=torch.int64, device=device)
        for idx in indices.split(batch_size):
            xb = x[idx]  # (B, C, H, W), gathered on the device
            if channels_last and xb.dim() == 4:
                xb = xb.contiguous(memory_format=torch.channels_last)
            yield xb, y[idx]

    return epoch


def dataset_tensors(data: Dataset) -> tuple[torch.Tensor, torch.Tensor]:
    """All inputs and all labels of a dataset as two tensors (no copy for a ``TensorDataset``).

    Args:
        data: a map-style dataset of ``(x, y)`` pairs.

    Returns:
        ``(x, y)`` stacked along a new first dimension.

    Examples:
        >>> import torch
        >>> from torch.utils.data import TensorDataset
        >>> from coursekit.training.batches import dataset_tensors
        >>> data = TensorDataset(torch.zeros(5, 1, 8, 8), torch.arange(5))
        >>> [tuple(t.shape) for t in dataset_tensors(data)]
        [(5, 1, 8, 8), (5,)]
    """
    if isinstance(data, TensorDataset) and len(data.tensors) == 2:
        return data.tensors[0], data.tensors[1]
    xs, ys = zip(*(data[i] for i in range(len(data))), strict=True)
    return torch.stack(xs), torch.as_tensor(ys)
