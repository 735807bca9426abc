"""Measures of the course: how close an update is to the gradient (bias), how noisy it is
(variance), and how well the network does. NumPy; they accept JAX arrays and gradient dicts."""
from __future__ import annotations

import numpy as np


def _vector(a) -> np.ndarray:
    if isinstance(a, dict):  # by sorted key, so that two dicts line up whatever their order
        return np.concatenate([np.ravel(np.asarray(a[k], dtype=np.float64)) for k in sorted(a)])
    return np.ravel(np.asarray(a, dtype=np.float64))


def cosine_similarity(a, b) -> float:
    """cos(a, b) = <a, b> / (||a|| ||b||) of two arrays or gradient dicts (flattened); 0 if either is 0."""
    a, b = _vector(a), _vector(b)
    denom = np.linalg.norm(a) * np.linalg.norm(b)
    return float(a @ b / denom) if denom > 0 else 0.0


def angle_degrees(a, b) -> float:
    """The angle between a and b in degrees: 0 aligned, 90 orthogonal, 180 opposite."""
    return float(np.degrees(np.arccos(np.clip(cosine_similarity(a, b), -1.0, 1.0))))


def gradient_snr(samples) -> float:
    """Signal-to-noise ratio of gradient samples (S, P); see course_utils.perturbation.gradient_snr."""
    from .perturbation import gradient_snr as snr
    return snr(samples)


def accuracy(predictions, labels) -> float:
    """Fraction of predicted labels (N,) equal to labels (N,); predictions may be scores (N, C)."""
    predictions, labels = np.asarray(predictions), np.asarray(labels)
    if predictions.ndim == 2:
        predictions = predictions.argmax(axis=1)
    if labels.ndim == 2:
        labels = labels.argmax(axis=1)
    return float(np.mean(predictions == labels))
