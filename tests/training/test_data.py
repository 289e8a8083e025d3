"""coursekit.training.data: the digits split, synthetic images, and the CIFAR-10 binary reader."""

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits as sklearn_digits
from sklearn.model_selection import train_test_split

from coursekit.training import data
from coursekit.training.data import CIFAR10_URL, load_cifar10, load_digits, synthetic_images


def test_load_digits_is_sklearns_split_scaled_to_unit_interval():
    images, labels = sklearn_digits(return_X_y=True)
    x_tr, x_te, y_tr, y_te = train_test_split(
        images, labels, test_size=0.25, random_state=0, stratify=labels
    )
    train, test = load_digits(test_size=0.25, seed=0)
    np.testing.assert_allclose(train.tensors[0].reshape(len(train), 64).numpy(), x_tr / 16)
    np.testing.assert_allclose(test.tensors[0].reshape(len(test), 64).numpy(), x_te / 16)
    np.testing.assert_array_equal(train.tensors[1].numpy(), y_tr)
    np.testing.assert_array_equal(test.tensors[1].numpy(), y_te)


def test_load_digits_split_is_stratified():
    train, test = load_digits()
    train_share = torch.bincount(train.tensors[1], minlength=10) / len(train)
    test_share = torch.bincount(test.tensors[1], minlength=10) / len(test)
    assert torch.allclose(train_share, test_share, atol=0.01)


def test_load_digits_same_seed_same_split_other_seed_other_split():
    a, _ = load_digits(seed=3)
    b, _ = load_digits(seed=3)
    c, _ = load_digits(seed=4)
    assert torch.equal(a.tensors[0], b.tensors[0])
    assert not torch.equal(a.tensors[0], c.tensors[0])


@pytest.mark.parametrize("test_size", [0, 1, -0.1, 1.5])
def test_load_digits_rejects_test_size_outside_unit_interval(test_size):
    with pytest.raises(ValueError, match="test_size must be strictly between 0 and 1"):
        load_digits(test_size=test_size)


def test_load_digits_validation_is_split_off_the_training_images():
    images, labels = sklearn_digits(return_X_y=True)
    x_tr, x_te, y_tr, _ = train_test_split(
        images, labels, test_size=0.25, random_state=0, stratify=labels
    )
    x_fit, x_val, _, _ = train_test_split(
        x_tr, y_tr, test_size=0.2, random_state=0, stratify=y_tr
    )
    train, val, test = load_digits(test_size=0.25, seed=0, val_size=0.2)
    np.testing.assert_allclose(train.tensors[0].reshape(len(train), 64).numpy(), x_fit / 16)
    np.testing.assert_allclose(val.tensors[0].reshape(len(val), 64).numpy(), x_val / 16)
    # the test set is the one without a validation split: test accuracy stays comparable
    np.testing.assert_allclose(test.tensors[0].reshape(len(test), 64).numpy(), x_te / 16)
    val_share = torch.bincount(val.tensors[1], minlength=10) / len(val)
    train_share = torch.bincount(train.tensors[1], minlength=10) / len(train)
    assert torch.allclose(val_share, train_share, atol=0.02)


@pytest.mark.parametrize("val_size", [0, 1, -0.1, 1.5, float("nan")])
def test_load_digits_rejects_val_size_outside_unit_interval(val_size):
    with pytest.raises(ValueError, match="val_size must be"):
        load_digits(val_size=val_size)


def test_synthetic_images_shape_range_and_balanced_labels():
    x, y = synthetic_images(60, (1, 8, 8), num_classes=6, seed=1).tensors
    assert x.shape == (60, 1, 8, 8) and x.dtype == torch.float32 and y.dtype == torch.int64
    assert 0 <= float(x.min()) and float(x.max()) <= 1
    assert torch.bincount(y).tolist() == [10] * 6


def test_synthetic_images_classes_are_separable():
    # images of one class are closer to their class mean than to any other: learnable labels
    x, y = synthetic_images(200, (3, 8, 8), num_classes=4, seed=0).tensors
    flat = x.reshape(len(x), -1)
    means = torch.stack([flat[y == k].mean(0) for k in range(4)])
    nearest = torch.cdist(flat, means).argmin(1)
    assert (nearest == y).float().mean() > 0.95


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(n=0), "n must be a positive number"),
        (dict(n=5, num_classes=0), "num_classes must be positive"),
        (dict(n=5, shape=(3, 0, 4)), "shape must be positive sizes"),
    ],
)
def test_synthetic_images_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        synthetic_images(**kwargs)


def _write_batch(path, labels, images):
    """The official layout: per record, a label byte then R, G, B planes of 32x32 bytes."""
    label_bytes = np.asarray(labels, np.uint8)[:, None]
    records = np.concatenate([label_bytes, images.reshape(len(labels), -1)], axis=1)
    records.astype(np.uint8).tofile(path)


RECORDS = 3  # records per file in the small fake batches (the real files hold 10,000)


@pytest.fixture
def fake_cifar(tmp_path, monkeypatch):
    """Five training batches and a test batch of 3 images each in cifar-10-batches-bin/.

    The loader insists on 10,000 records per file; for these small files it is told 3.
    """
    monkeypatch.setattr(data, "_CIFAR_RECORDS_PER_FILE", RECORDS)
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    rng = np.random.default_rng(0)
    batches = {}
    for name in [*(f"data_batch_{i}.bin" for i in range(1, 6)), "test_batch.bin"]:
        labels, images = rng.integers(0, 10, RECORDS), rng.integers(0, 256, (RECORDS, 3, 32, 32))
        _write_batch(folder / name, labels, images)
        batches[name] = (labels, images)
    return tmp_path, batches


def test_load_cifar10_reads_records_in_order_with_channel_planes(fake_cifar):
    root, batches = fake_cifar
    train = load_cifar10(root, train=True)
    labels = np.concatenate([batches[f"data_batch_{i}.bin"][0] for i in range(1, 6)])
    images = np.concatenate([batches[f"data_batch_{i}.bin"][1] for i in range(1, 6)])
    np.testing.assert_array_equal(train.tensors[1].numpy(), labels)
    np.testing.assert_allclose(train.tensors[0].numpy(), images / 255, rtol=1e-6)
    assert train.tensors[0].dtype == torch.float32 and train.tensors[1].dtype == torch.int64


def test_load_cifar10_test_set_from_root_or_the_bin_folder(fake_cifar):
    root, batches = fake_cifar
    a = load_cifar10(root, train=False)
    b = load_cifar10(root / "cifar-10-batches-bin", train=False)
    assert len(a) == RECORDS and torch.equal(a.tensors[0], b.tensors[0])
    np.testing.assert_array_equal(a.tensors[1].numpy(), batches["test_batch.bin"][0])


def test_load_cifar10_missing_folder_says_where_to_get_the_data(tmp_path):
    with pytest.raises(FileNotFoundError, match="data_batch_1.bin") as info:
        load_cifar10(tmp_path / "nowhere")
    assert CIFAR10_URL in str(info.value)


def test_load_cifar10_truncated_file_names_the_file(fake_cifar):
    root, _ = fake_cifar
    path = root / "cifar-10-batches-bin" / "data_batch_3.bin"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(ValueError, match=r"data_batch_3\.bin is not a CIFAR-10 binary batch"):
        load_cifar10(root)


def test_load_cifar10_foreign_file_names_the_file(fake_cifar):
    root, _ = fake_cifar
    path = root / "cifar-10-batches-bin" / "test_batch.bin"
    path.write_bytes(bytes([200]) * 3073 * RECORDS)  # right size, but label 200
    with pytest.raises(ValueError, match=r"test_batch\.bin .*label 200"):
        load_cifar10(root, train=False)


def _sparse(path, size):
    """A file of ``size`` zero bytes that takes no disk space (a hole, made by truncate)."""
    with open(path, "wb") as f:
        f.truncate(size)


def _no_reading(monkeypatch):
    def fromfile(*args, **kwargs):
        raise AssertionError("the file was read before its size was checked")

    monkeypatch.setattr(np, "fromfile", fromfile)


def test_load_cifar10_reads_a_real_sized_file_of_10000_records(tmp_path):
    _sparse(tmp_path / "test_batch.bin", 10_000 * 3073)
    test = load_cifar10(tmp_path, train=False)
    assert len(test) == 10_000 and tuple(test.tensors[0].shape[1:]) == (3, 32, 32)


@pytest.mark.parametrize("records", [2, 9_999, 10_001])
def test_load_cifar10_refuses_a_wrong_record_count_before_reading(tmp_path, monkeypatch,
                                                                  records):  # fmt: skip
    _sparse(tmp_path / "test_batch.bin", records * 3073)
    _no_reading(monkeypatch)
    expected = rf"test_batch\.bin .*30,730,000 bytes.*got {records * 3073:,}"
    with pytest.raises(ValueError, match=expected):
        load_cifar10(tmp_path, train=False)


def test_load_cifar10_refuses_a_huge_file_without_reading_it(tmp_path, monkeypatch):
    _sparse(tmp_path / "test_batch.bin", 10 * 2**30)  # 10 GiB that take no disk
    _no_reading(monkeypatch)
    with pytest.raises(ValueError, match=r"got 10,737,418,240"):
        load_cifar10(tmp_path, train=False)
