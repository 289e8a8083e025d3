"""Datasets for the course: the digits that ship with scikit-learn, CIFAR-10, synthetic images.

Every loader returns ``torch.utils.data.TensorDataset`` objects holding float32 images of
shape ``(N, C, H, W)`` scaled to $[0, 1]$ and int64 labels, so ``dataset.tensors`` gives the
whole data at once (the fast GPU path in ``coursekit.training.train`` moves it to the device in
one go).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import TensorDataset

from coursekit._validation import integer, integer_sequence, real

__all__ = ["CIFAR10_CLASSES", "CIFAR10_URL", "load_cifar10", "load_digits", "synthetic_images"]

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip
_CIFAR_RECORD = 1 + 3 * 32 * 32  # one label byte, then 1024 red, 1024 green, 1024 blue bytes
_CIFAR_RECORDS_PER_FILE = 10_000  # in each of the six files, training or test


def load_digits(
    test_size: float = 0.25, seed: int = 0, val_size: float | None = None
) -> tuple[TensorDataset, ...]:
    """Load scikit-learn's handwritten digits as a stratified, reproducible train/test split.

    The 1,797 images are 8x8 with 17 grey levels (0 to 16); they are divided by 16 so pixels
    lie in $[0, 1]$. With ``val_size``, a validation set is split off the training images
    (stratified too), for choosing a model or an epoch without looking at the test set; the
    test set is the same with or without it.

    Args:
        test_size: fraction of the images held out for testing, strictly between 0 and 1.
        seed: seed of the split; the same seed always gives the same split.
        val_size: fraction of the *training* images held out for validation, strictly between
            0 and 1, or ``None`` (the default) for no validation set.

    Returns:
        ``(train, test)``, or ``(train, val, test)`` when ``val_size`` is given: datasets of
            ``(x, y)`` pairs, ``x`` float32 of shape ``(1, 8, 8)``, ``y`` an int64 label in
            ``0..9``.

    Raises:
        ValueError: if ``test_size`` or ``val_size`` is not a number strictly between 0 and 1,
            or ``seed`` is not a nonnegative integer.

    Examples:
        >>> from coursekit.training.data import load_digits
        >>> train, test = load_digits()
        >>> len(train), len(test)
        (1347, 450)
        >>> x, y = train[0]
        >>> tuple(x.shape), x.dtype, y.dtype
        ((1, 8, 8), torch.float32, torch.int64)
        >>> float(train.tensors[0].min()), float(train.tensors[0].max())
        (0.0, 1.0)
        >>> train, val, test = load_digits(val_size=0.2)
        >>> len(train), len(val), len(test)
        (1077, 270, 450)
    """
    from sklearn.datasets import load_digits as sklearn_digits
    from sklearn.model_selection import train_test_split

    if not 0 < real(test_size, "test_size") < 1:
        raise ValueError(f"test_size must be strictly between 0 and 1, got {test_size!r}")
    if val_size is not None and not 0 < real(val_size, "val_size") < 1:
        raise ValueError(f"val_size must be strictly between 0 and 1, got {val_size!r}")
    seed = integer(seed, "seed", minimum=0)  # scikit-learn's random_state takes no negatives
    images, labels = sklearn_digits(return_X_y=True)
    x = torch.as_tensor(images, dtype=torch.float32).reshape(-1, 1, 8, 8) / 16.0
    y = torch.as_tensor(labels, dtype=torch.int64)
    train_idx, test_idx = train_test_split(
        np.arange(len(y)), test_size=test_size, random_state=seed, stratify=labels
    )
    splits = [train_idx, test_idx]
    if val_size is not None:
        splits[:1] = train_test_split(
            train_idx, test_size=val_size, random_state=seed, stratify=labels[train_idx]
        )
    return tuple(TensorDataset(x[torch.as_tensor(i)], y[torch.as_tensor(i)]) for i in splits)


def synthetic_images(
    n: int, shape: tuple[int, ...] = (3, 32, 32), num_classes: int = 10, seed: int = 0
) -> TensorDataset:
    """Random images with learnable labels, for benchmarks and examples without a download.

    Each class has a fixed random template (for ``(C, H, W)`` shapes, smooth colour blobs: random
    values at a quarter of the resolution, upsampled); an image is half its class template and
    half uniform noise, so a network can learn the labels and its loss visibly falls.

    Args:
        n: number of images.
        shape: shape of one image, ``(C, H, W)``; CIFAR-10's is ``(3, 32, 32)``.
        num_classes: number of classes; labels are balanced and shuffled.
        seed: seed for templates, noise and labels.

    Returns:
        A dataset of ``n`` pairs: float32 images in $[0, 1]$ and int64 labels.

    Raises:
        ValueError: if ``n`` or ``num_classes`` is not a positive integer, ``shape`` is not a
            non-empty sequence of positive integers, or ``seed`` is not an integer (floats and
            bools are refused, never truncated).

    Examples:
        >>> import torch
        >>> from coursekit.training.data import synthetic_images
        >>> data = synthetic_images(100, (3, 32, 32), num_classes=10, seed=0)
        >>> tuple(data.tensors[0].shape), int(data.tensors[1].max())
        ((100, 3, 32, 32), 9)
        >>> torch.equal(data.tensors[0], synthetic_images(100, seed=0).tensors[0])
        True
    """
    n, num_classes = integer(n, "n"), integer(num_classes, "num_classes")
    if n < 1:
        raise ValueError(f"n must be a positive number of images, got {n!r}")
    if num_classes < 1:
        raise ValueError(f"num_classes must be positive, got {num_classes!r}")
    shape = integer_sequence(shape, "shape", "positive sizes such as (3, 32, 32)", min_length=1)
    seed = integer(seed, "seed")
    g = torch.Generator().manual_seed(seed)
    if len(shape) == 3:  # smooth colour blobs, like pictures: 1/4 resolution, upsampled
        c, h, w = shape
        coarse = torch.rand((num_classes, c, max(2, -(-h // 4)), max(2, -(-w // 4))), generator=g)
        templates = F.interpolate(coarse, size=(h, w), mode="bilinear", align_corners=False)
    else:
        templates = torch.rand((num_classes, *shape), generator=g)
    y = torch.arange(n) % num_classes
    y = y[torch.randperm(n, generator=g)]
    x = 0.5 * templates[y] + 0.5 * torch.rand((n, *shape), generator=g)
    return TensorDataset(x, y)


def load_cifar10(root: str | Path, train: bool = True) -> TensorDataset:
    """Read CIFAR-10 from its official binary files (``cifar-10-batches-bin``), without pickle.

    Each file holds 10,000 records of 3,073 bytes: the label, then the 32x32 red, green and
    blue planes in row-major order. The training set is ``data_batch_1.bin`` to
    ``data_batch_5.bin`` (50,000 images), the test set ``test_batch.bin`` (10,000). Every file's
    size is checked (30,730,000 bytes) before anything is read, so a wrong file costs nothing.

    Args:
        root: the folder holding the ``.bin`` files, or a folder with a
            ``cifar-10-batches-bin`` subfolder (where the archive unpacks).
        train: the training batches if True, else the test batch.

    Returns:
        A dataset of float32 images of shape ``(3, 32, 32)`` in $[0, 1]$ and int64 labels;
            the class names are ``CIFAR10_CLASSES``.

    Raises:
        FileNotFoundError: if the files are not there; the message says where to get them.
        ValueError: naming the file, if it is not 30,730,000 bytes (truncated, or not a
            CIFAR-10 binary batch) or holds a label outside 0-9.

    Examples:
        >>> from coursekit.training.data import load_cifar10
        >>> load_cifar10("no/such/folder")
        Traceback (most recent call last):
        ...
        FileNotFoundError: CIFAR-10 binary files not found in no/such/folder ...
    """
    root = Path(root)
    folder = root / "cifar-10-batches-bin" if (root / "cifar-10-batches-bin").is_dir() else root
    names = [f"data_batch_{i}.bin" for i in range(1, 6)] if train else ["test_batch.bin"]
    missing = [name for name in names if not (folder / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"CIFAR-10 binary files not found in {folder} (missing {', '.join(missing)}). "
            f"Download the binary version from {CIFAR10_URL} and unpack it there: "
            f"tar -xzf cifar-10-binary.tar.gz -C {root}"
        )
    for name in names:  # all of them before reading any: a bad last file costs no reading
        _check_cifar_size(folder / name)
    images, labels = zip(*(_read_cifar_batch(folder / name) for name in names), strict=True)
    return TensorDataset(torch.cat(images), torch.cat(labels))


def _check_cifar_size(path: Path) -> None:
    """A ``ValueError`` naming ``path`` unless it is the size of a CIFAR-10 batch file."""
    expected, size = _CIFAR_RECORDS_PER_FILE * _CIFAR_RECORD, path.stat().st_size
    if size != expected:
        raise ValueError(
            f"{path} is not a CIFAR-10 binary batch: expected {expected:,} bytes "
            f"({_CIFAR_RECORDS_PER_FILE:,} records of {_CIFAR_RECORD:,}), got {size:,} "
            "(truncated or a different file)"
        )


def _read_cifar_batch(path: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """Images ``(N, 3, 32, 32)`` and labels ``(N,)`` of one binary batch file."""
    raw = np.fromfile(path, dtype=np.uint8, count=_CIFAR_RECORDS_PER_FILE * _CIFAR_RECORD)
    if raw.size != _CIFAR_RECORDS_PER_FILE * _CIFAR_RECORD:  # it changed since its check
        raise ValueError(f"{path} is not a CIFAR-10 binary batch: it has {raw.size:,} bytes now")
    records = raw.reshape(-1, _CIFAR_RECORD)
    labels = torch.from_numpy(records[:, 0].astype(np.int64))
    if int(labels.max()) > 9:
        raise ValueError(
            f"{path} is not a CIFAR-10 binary batch: found label {int(labels.max())}, "
            "labels must be 0-9"
        )
    images = torch.from_numpy(records[:, 1:].reshape(-1, 3, 32, 32).astype(np.float32) / 255.0)
    return images, labels
