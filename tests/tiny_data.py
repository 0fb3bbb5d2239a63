"""Tiny data sets in the real on-disk formats, for running the notebooks offline.

* SVHN: ``train_32x32.mat`` / ``test_32x32.mat`` (MATLAB files with ``X`` of shape
  (32, 32, 3, N) uint8 and ``y`` of shape (N, 1) with labels 1..10), as
  ``torchvision.datasets.SVHN`` and ``scipy.io.loadmat`` read them.
* CIFAR-10: ``cifar-10-batches-py/data_batch_1..5``, ``test_batch`` and
  ``batches.meta``: Python 2 pickles (keys are byte strings, the way the real files
  load with ``encoding="bytes"``, and text with ``encoding="latin1"``).

The images are smooth random colour blobs, different per class, so a short
training run sees structure rather than pure noise.
"""
from __future__ import annotations

import pickle
import struct
from pathlib import Path

import numpy as np

CIFAR_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def _images(n: int, classes: np.ndarray, seed: int) -> np.ndarray:
    """(n, 32, 32, 3) uint8 images whose mean colour depends on the class."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:32, 0:32] / 31.0
    images = np.empty((n, 32, 32, 3), dtype=np.uint8)
    for i, label in enumerate(classes):
        base = np.array([(label * 37) % 256, (label * 91) % 256, (label * 53) % 256], dtype=np.float64)
        wave = np.sin(2 * np.pi * (xx * rng.uniform(0.5, 2) + yy * rng.uniform(0.5, 2)))[..., None]
        noise = rng.normal(0, 12, (32, 32, 3))
        images[i] = np.clip(base + 60 * wave + noise, 0, 255).astype(np.uint8)
    return images


class _Py2Pickler(pickle._Pickler):
    """Writes ``bytes`` as Python 2 ``str`` (what the real CIFAR-10 files contain)."""

    def save_py2_str(self, obj: bytes):
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch = dict(pickle._Pickler.dispatch)
    dispatch[bytes] = save_py2_str


def _py2_dump(obj, path: Path) -> None:
    with open(path, "wb") as file:
        _Py2Pickler(file, protocol=2).dump(obj)


def write_cifar10(root: Path, per_batch: int = 60, seed: int = 0) -> Path:
    """``root/cifar-10-batches-py`` with five training batches and a test batch."""
    folder = Path(root) / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for number, name in enumerate(names):
        labels = np.arange(per_batch) % 10
        images = _images(per_batch, labels, seed + number)
        data = images.transpose(0, 3, 1, 2).reshape(per_batch, 3072)  # rows: R plane, G plane, B plane
        batch = {b"batch_label": f"{name} of 6 (tiny)".encode(), b"labels": [int(v) for v in labels],
                 b"data": np.ascontiguousarray(data), b"filenames": [f"img_{i}.png".encode() for i in range(per_batch)]}
        _py2_dump(batch, folder / name)
    _py2_dump({b"label_names": [n.encode() for n in CIFAR_NAMES], b"num_cases_per_batch": per_batch,
               b"num_vis": 3072}, folder / "batches.meta")
    return folder


def write_svhn(root: Path, train: int = 96, test: int = 32, seed: int = 0) -> Path:
    """``root/train_32x32.mat`` and ``root/test_32x32.mat``."""
    from scipy.io import savemat

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    for split, count in (("train", train), ("test", test)):
        digits = np.arange(count) % 10
        images = _images(count, digits, seed + (split == "test"))
        labels = np.where(digits == 0, 10, digits).astype(np.uint8).reshape(count, 1)  # SVHN stores 0 as 10
        savemat(root / f"{split}_32x32.mat", {"X": images.transpose(1, 2, 3, 0), "y": labels})
    return root


def write_all(root: Path) -> Path:
    """Both data sets under ``root`` (what HW4_DATA_DIR points at)."""
    write_svhn(root)
    write_cifar10(root)
    return Path(root)
