"""Measures of the course: how close an update is to the gradient (bias), how noisy it is
(variance), and how well the network does. NumPy; they accept JAX arrays and gradient dicts.

A lower layer: the tutorials' modules import these measures; this module imports none of them."""
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
    """The signal-to-noise ratio of a gradient estimator (exercise perturbation.gradient_snr, where
    tutorial 01 derives it; course_utils.perturbation.gradient_snr is this measure under its name).

    Arguments:
        samples: (S, P): S independent estimates (one per example, or per noise draw) of a
            P-parameter gradient, one per row.
    Returns:
        float: the mean over parameters of |mean_s| / std_s (std with ddof=0, across the S rows).
        Parameters whose std is exactly 0 (always-off input pixels, for instance) carry no signal
        and are left out of the mean.
    """
    samples = np.asarray(samples, dtype=np.float64)
    mean, std = samples.mean(axis=0), samples.std(axis=0)
    used = std > 0
    return float(np.mean(np.abs(mean[used]) / std[used]))


def accuracy(predictions, labels) -> float:
    """Fraction of predicted labels (N,) equal to labels (N,); predictions may be scores (N, C)."""
    predictions, labels = np.asarray(predictions), np.asarray(labels)
    if predictions.ndim == 2:
        predictions = predictions.argmax(axis=1)
    if labels.ndim == 2:
        labels = labels.argmax(axis=1)
    return float(np.mean(predictions == labels))
