"""Tutorial 06 (synthesis): fixtures and known mistakes for its exercise, a rule's coordinates on the map."""
from __future__ import annotations

import dataclasses

import numpy as np

from course_utils import synthesis as ref

from ..core import Exercise, Fixture, Mistake, variant


def _map_fixtures():
    fixtures = []
    # (S samples, P parameters, bias of the mean update, seed): a batch of few samples, many samples,
    # more parameters than samples; each with one parameter that never changes (std 0).
    for S, P, tilt, seed in ((6, 5, 0.4, 0), (20, 12, 1.0, 1), (3, 8, 0.0, 2), (40, 30, 2.0, 3)):
        rng = np.random.default_rng(600 + seed)
        true = rng.standard_normal(P)
        mean = true + tilt * rng.standard_normal(P)                  # a biased rule: its mean is tilted
        samples = mean + rng.uniform(0.3, 3.0, P) * rng.standard_normal((S, P))
        samples[:, 0] = 0.75                                         # never changes (exactly: std 0)
        fixtures.append(Fixture(f"S={S} samples, P={P} parameters", dict(samples=samples, true_gradient=true)))
    return fixtures


# What would give the answer away, withheld from graded code (autograder.redaction): the reference and
# the course helper that computes the same SNR from running moments.
WITHHELD = {
    "synthesis.bias_and_snr": (
        "course_utils.synthesis:bias_and_snr", "course_utils.synthesis:snr_from_moments"),
}


# --- known wrong variants ----------------------------------------------------------------------

def _variant(samples, true_gradient, *, mean_of_cosines=False, normalised=True, power=1, ddof=0,
             axis=0, mask=True, ratio_of_means=False, absolute=True):
    s = np.asarray(samples, dtype=np.float64)
    g = np.asarray(true_gradient, dtype=np.float64)
    if mean_of_cosines:
        cosine = np.mean(s @ g / (np.linalg.norm(s, axis=1) * np.linalg.norm(g)))
    else:
        m = s.mean(axis=0)
        cosine = m @ g / ((np.linalg.norm(m) * np.linalg.norm(g)) if normalised else 1.0)
    mean, std = s.mean(axis=axis), s.std(axis=axis, ddof=ddof)
    used = std > 0 if mask else np.ones(std.shape, dtype=bool)
    top = np.abs(mean[used]) if absolute else mean[used]
    spread = std[used] ** power
    snr = np.mean(top) / np.mean(spread) if ratio_of_means else np.mean(top / spread)
    return {"cosine": float(cosine), "snr": float(snr)}


EXERCISES = (
    Exercise(
        id="synthesis.bias_and_snr", withheld=WITHHELD["synthesis.bias_and_snr"],
        function_name="bias_and_snr",
        reference=ref.bias_and_snr,
        fixtures=_map_fixtures,
        points=2,
        summary="cosine of the mean update with the true gradient; mean over std > 0 of |mean| / std",
        mistakes=(
            Mistake("mean of cosines", "average the updates first, then take ONE cosine with the true "
                    "gradient: the mean of the samples' cosines mixes the noise of each sample into the bias",
                    variant(_variant, mean_of_cosines=True)),
            Mistake("cosine not normalised", "divide the dot product by both norms, ||mean|| ||g||",
                    variant(_variant, normalised=False)),
            Mistake("variance instead of std", "the SNR divides |mean| by the standard deviation, "
                    "not the variance", variant(_variant, power=2)),
            Mistake("std with ddof=1", "use the population std (np.std's default ddof=0), as in "
                    "tutorial 01's gradient_snr", variant(_variant, ddof=1)),
            Mistake("wrong axis in the SNR", "rows are samples: take the mean and std over axis 0 "
                    "(across samples), one value per parameter", variant(_variant, axis=1)),
            Mistake("ratio of means in the SNR", "average the per-parameter ratios |mean| / std, not "
                    "the means separately", variant(_variant, ratio_of_means=True)),
            Mistake("missing absolute value in the SNR", "take |mean| before dividing: a negative mean "
                    "is as much signal as a positive one", variant(_variant, absolute=False)),
            Mistake("no std > 0 mask", "a parameter that never changes has std 0 and |mean| / 0 is "
                    "infinite: average only over the parameters whose std is > 0", variant(_variant, mask=False)),
        ),
    ),
)


# --- hidden fixtures: kinds, drawn from the course secret (autograder.secret) ----------------------------

# Tutorial 06 hands no course helper to answers (NumPy only): the tools of its setup are sealed.
HANDED = ()


def _map_hidden(rng):
    out = []
    for kind, S, P, tilt in (("an unbiased rule", 20, 10, 0.0), ("a strongly biased rule", 20, 10, 3.0),
                             ("a mean update against the gradient", 15, 8, None), ("one parameter", 10, 1, 0.5),
                             ("two samples", 2, 6, 0.5), ("many samples", 300, 5, 0.2),
                             ("more parameters than samples", 4, 40, 1.0), ("several constant parameters", 12, 9, 0.5),
                             ("large updates", 10, 6, 0.5), ("tiny updates", 10, 6, 0.5)):
        true = rng.standard_normal(P)
        mean = -true * rng.uniform(0.5, 2) if tilt is None else true + tilt * rng.standard_normal(P)
        samples = mean + rng.uniform(0.3, 3.0, P) * rng.standard_normal((S, P))
        if kind == "several constant parameters":
            samples[:, :3] = rng.integers(-8, 9, 3) / 4      # exact in float32: std exactly 0
        elif kind == "large updates":
            samples, true = samples * 1e5, true * 1e5
        elif kind == "tiny updates":
            samples, true = samples * 1e-5, true * 1e-5
        out.append(Fixture(f"{kind}: S={S}, P={P}", dict(samples=samples, true_gradient=true)))
    return out


EXERCISES = tuple(dataclasses.replace(e, hidden=_map_hidden) for e in EXERCISES)
