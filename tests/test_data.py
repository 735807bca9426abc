"""Data: the bundled digits, and the real torchvision download-and-parse path on IDX files that the
test writes itself (no network)."""
import struct

import numpy as np
import pytest

from course_utils import data as cd


def test_offline_digits_are_real_and_split(offline_data):
    d = offline_data
    assert d.x_train.shape == (4000, 784) and d.x_test.shape == (1000, 784)
    assert d.x_train.dtype == np.float32 and 0.0 <= d.x_train.min() and d.x_train.max() == 1.0
    assert set(np.unique(d.y_train)) == set(range(10))
    assert np.bincount(d.y_test, minlength=10).tolist() == [100] * 10  # stratified test split
    # digits are mostly background: MNIST's mean intensity is about 0.13
    assert 0.10 < d.x_train.mean() < 0.16
    # no image is both in training and test set
    train_rows = {row.tobytes() for row in (d.x_train * 255).astype(np.uint8)}
    assert not any(row.tobytes() in train_rows for row in (d.x_test * 255).astype(np.uint8))


def _write_idx(path, array, kind):
    array = np.asarray(array, dtype=np.uint8)
    magic = {1: 0x0801, 3: 0x0803}[array.ndim]
    with open(path, "wb") as f:
        f.write(struct.pack(">I", magic))
        f.write(struct.pack(f">{array.ndim}I", *array.shape))
        f.write(array.tobytes())


@pytest.fixture
def idx_cache(tmp_path):
    rng = np.random.default_rng(0)
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    content = {}
    for prefix, n in (("train", 12), ("t10k", 5)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        _write_idx(raw / f"{prefix}-images-idx3-ubyte", images, "images")
        _write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels, "labels")
        content[prefix] = (images, labels)
    return tmp_path, content


def test_torchvision_path_parses_idx_files(idx_cache):
    root, content = idx_cache
    d = cd.load_mnist("mnist", cache_dir=root)
    assert d.source == "mnist"
    images, labels = content["train"]
    np.testing.assert_array_equal(d.y_train, labels)
    np.testing.assert_allclose(d.x_train, images.reshape(12, 784) / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(d.y_test, content["t10k"][1])
    assert d.x_test.shape == (5, 784)


@pytest.fixture
def unreachable_mirror(monkeypatch):
    from torchvision.datasets import MNIST
    # port 9 on loopback: the connection is refused at once, as when there is no network
    monkeypatch.setattr(MNIST, "mirrors", ["http://127.0.0.1:9/"])


def test_failed_download_raises_a_clear_error(tmp_path, unreachable_mirror):
    with pytest.raises(cd.DataUnavailableError, match="could not load MNIST"):
        cd.load_mnist("mnist", cache_dir=tmp_path)


def test_auto_falls_back_to_offline_with_a_notice(tmp_path, unreachable_mirror, capsys):
    d = cd.load_mnist("auto", cache_dir=tmp_path)
    assert d.source == "offline" and len(d.x_train) == 4000
    notice = capsys.readouterr().out.strip().splitlines()  # stdout: a notebook shows stderr in red
    assert len(notice) == 1 and "bundled offline digits" in notice[0]


def test_unknown_source_is_rejected():
    with pytest.raises(ValueError, match="unknown data source"):
        cd.load_mnist("cifar")


def test_one_hot():
    np.testing.assert_array_equal(cd.one_hot(np.array([2, 0]), 3), [[0, 0, 1], [1, 0, 0]])
