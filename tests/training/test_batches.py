"""coursekit.training.batches: device-resident batching visits the sampler's order, epoch after
epoch."""

import torch
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

from coursekit.training.batches import loader_batches, resident_batches

CPU = torch.device("cpu")


def _data(n=10):
    return TensorDataset(torch.arange(n * 12.0).reshape(n, 3, 2, 2), torch.arange(n))


def test_resident_batches_follow_the_order_and_match_a_dataloader():
    data, order = _data(), [3, 1, 4, 0, 9, 2, 6, 5, 8, 7]
    ours = list(resident_batches(data, order, 4, CPU)())
    theirs = list(DataLoader(data, batch_size=4, sampler=order))
    assert [y.tolist() for _, y in ours] == [y.tolist() for _, y in theirs]
    assert all(torch.equal(a, b) for (a, _), (b, _) in zip(ours, theirs, strict=True))


def test_resident_batches_reread_a_sampler_each_epoch():
    data = _data()
    sampler = DistributedSampler(data, num_replicas=1, rank=0, shuffle=True, seed=0)
    epoch = resident_batches(data, sampler, 10, CPU)
    orders = []
    for e in range(2):
        sampler.set_epoch(e)
        orders.append(next(epoch())[1].tolist())
    assert orders[0] != orders[1]
    assert sorted(orders[0]) == sorted(orders[1]) == list(range(10))


def test_resident_batches_can_be_channels_last():
    x, _ = next(resident_batches(_data(), range(10), 4, CPU, channels_last=True)())
    assert x.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(x, _data().tensors[0][:4])  # same values, another memory layout


def test_loader_batches_moves_every_batch_to_the_device():
    batches = list(loader_batches(DataLoader(_data(), batch_size=4), torch.device("meta")))
    assert [tuple(x.shape) for x, _ in batches] == [(4, 3, 2, 2), (4, 3, 2, 2), (2, 3, 2, 2)]
    assert all(x.device.type == "meta" and y.device.type == "meta" for x, y in batches)
