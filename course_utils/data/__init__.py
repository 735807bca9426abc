"""MNIST for the course: full MNIST through torchvision when the network allows, otherwise the
bundled subset of 5,000 real digits (see PROVENANCE.md beside this file).

Images are returned as float32 arrays (N, 784) scaled to [0, 1] and labels as int64 arrays (N,).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

OFFLINE_FILE = Path(__file__).with_name("mnist_offline.npz")
SOURCES = ("offline", "mnist", "auto")


class DataUnavailableError(RuntimeError):
    """Raised when the data a caller asked for cannot be had (no network, broken cache)."""


@dataclass(frozen=True)
class Dataset:
    """Arguments: x_train (N, 784) float32 in [0, 1], y_train (N,) int64, x_test, y_test, source."""
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str

    @property
    def num_classes(self) -> int:
        return 10

    def subset(self, n_train: int | None = None, n_test: int | None = None) -> "Dataset":
        """The first n_train training and n_test test digits (for fast runs)."""
        return Dataset(self.x_train[:n_train], self.y_train[:n_train],
                       self.x_test[:n_test], self.y_test[:n_test], self.source)


def default_cache_dir() -> Path:
    """The course's cache folder ($COURSE_DATA_DIR, else ~/.cache/course_utils): course_utils.config."""
    from ..config import cache_dir
    return cache_dir()


def _scale(images: np.ndarray) -> np.ndarray:
    return (np.asarray(images, dtype=np.float32).reshape(len(images), -1) / 255.0)


def load_offline() -> Dataset:
    """The bundled 4,000 training / 1,000 test real MNIST digits (no network needed)."""
    with np.load(OFFLINE_FILE) as f:
        return Dataset(_scale(f["x_train"]), f["y_train"].astype(np.int64),
                       _scale(f["x_test"]), f["y_test"].astype(np.int64), "offline")


def load_torchvision(cache_dir: str | Path | None = None, download: bool = True) -> Dataset:
    """Full MNIST (60,000 / 10,000) through torchvision, downloaded once into ``cache_dir``.

    Raises DataUnavailableError (one line, saying why) when torchvision is missing or the files
    can be neither found in the cache nor downloaded.
    """
    try:
        from torchvision.datasets import MNIST
    except ImportError as err:
        raise DataUnavailableError(
            "full MNIST needs torchvision: pip install 'course-utils[data]'") from err
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    try:
        splits = [MNIST(str(root), train=train, download=download) for train in (True, False)]
    except Exception as err:  # torchvision raises RuntimeError, URLError, OSError...
        lines = [line.strip() for line in str(err).strip().splitlines() if line.strip()]
        reason = " ".join(dict.fromkeys([lines[0], lines[-1]])) if lines else type(err).__name__
        raise DataUnavailableError(f"could not load MNIST into {root}: {reason}") from err
    (xtr, ytr), (xte, yte) = [(s.data.numpy(), s.targets.numpy()) for s in splits]
    return Dataset(_scale(xtr), ytr.astype(np.int64), _scale(xte), yte.astype(np.int64), "mnist")


def load_mnist(source: str = "auto", cache_dir: str | Path | None = None) -> Dataset:
    """Load the digits.

    Arguments:
        source: "offline" (the bundled subset), "mnist" (full MNIST; an error if it cannot be had)
            or "auto" (full MNIST when it can be had, otherwise the bundled subset, with a notice).
        cache_dir: where full MNIST is downloaded to (default ~/.cache/course_utils, or
            $COURSE_DATA_DIR).
    Returns:
        a Dataset.
    """
    if source not in SOURCES:
        raise ValueError(f"unknown data source {source!r}; choose one of {', '.join(SOURCES)}")
    if source == "offline":
        return load_offline()
    if source == "mnist":
        return load_torchvision(cache_dir)
    try:
        return load_torchvision(cache_dir)
    except DataUnavailableError as err:
        # stdout, not stderr: a notebook shows stderr in red, and this is no error
        print(f"Note: full MNIST unavailable ({err}); using the 5,000 bundled offline digits.", flush=True)
        return load_offline()


def one_hot(labels: np.ndarray, num_classes: int = 10) -> np.ndarray:
    """(N,) integer labels -> (N, num_classes) float one-hot rows."""
    labels = np.asarray(labels)
    return (labels[:, None] == np.arange(num_classes)).astype(np.float64)
