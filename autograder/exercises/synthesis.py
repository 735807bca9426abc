"""Tutorial 06 (synthesis): fixtures and known mistakes for its exercise, a rule's coordinates on the map."""
from __future__ import annotations

import dataclasses

import numpy as np

from course_utils import synthesis as ref

from ..core import Exercise, Fixture, Mistake, variant
from .perturbation import _float32_summable      # tutorial 01's SNR fixtures: the same property


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

def _variant(samples, true_gradient, *, cosine="of the mean", normalised=True, power=1, ddof=0,
             axis=0, mask="drop", ratio_of_means=False, absolute=True, centred=True, inverted=False):
    """The map's coordinates with one slip. cosine: "of the mean", "mean of cosines" (of each update),
    "unit updates" (the mean of the updates normalised), "first" (of one update), "abs" |cos|,
    "distance" (scipy's 1 - cos), "angle" (in degrees), "projection" (u . g / |g|^2), "correlation"
    (Pearson's, np.corrcoef); normalised: False for the bare dot product; the SNR's slips as tutorial 01's
    (mask: "drop", "none", "zero"; absolute: "samples" for the mean of |u| over the samples)."""
    s = np.asarray(samples, dtype=np.float64)
    g = np.asarray(true_gradient, dtype=np.float64)
    cos = lambda a: a @ g / (np.linalg.norm(a) * np.linalg.norm(g))
    m = s.mean(axis=0)
    if cosine == "mean of cosines":
        value = np.mean(s @ g / (np.linalg.norm(s, axis=1) * np.linalg.norm(g)))
    elif cosine == "unit updates":
        value = cos((s / np.linalg.norm(s, axis=1, keepdims=True)).mean(axis=0))
    elif cosine == "first":
        value = cos(s[0])
    elif cosine == "projection":
        value = m @ g / (g @ g)
    elif cosine == "correlation":
        value = np.corrcoef(m, g)[0, 1]
    elif not normalised:
        value = m @ g
    else:
        value = cos(m)
        value = {"of the mean": value, "abs": abs(value), "distance": 1.0 - value,
                 "angle": np.degrees(np.arccos(np.clip(value, -1.0, 1.0)))}[cosine]
    mean, std = s.mean(axis=axis), s.std(axis=axis, ddof=ddof)
    spread = (std if centred else np.sqrt(np.mean(s**2, axis=axis))) ** power
    used = std > 0 if mask != "none" else np.ones(std.shape, dtype=bool)
    top = np.abs(s).mean(axis=axis) if absolute == "samples" else np.abs(mean) if absolute else mean
    if ratio_of_means:
        snr = np.mean(top[used]) / np.mean(spread[used])
    else:
        ratio = spread / top if inverted else top / spread
        snr = np.mean(np.where(used, ratio, 0.0)) if mask == "zero" else np.mean(ratio[used])
    return {"cosine": float(value), "snr": float(snr)}


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
                    variant(_variant, cosine="mean of cosines")),
            Mistake("mean of unit updates", "average the updates as they are, then take the cosine of that mean: "
                    "normalising each update first weighs the small ones as much as the large ones",
                    variant(_variant, cosine="unit updates")),
            Mistake("cosine of one update", "take the cosine of the mean of all S updates (the mean of the rows), "
                    "not of one of them", variant(_variant, cosine="first")),
            Mistake("absolute value of the cosine", "keep the cosine's sign: a rule whose mean update points "
                    "against the gradient has a negative cosine", variant(_variant, cosine="abs")),
            Mistake("cosine not normalised", "divide the dot product by both norms, ||mean|| ||g||",
                    variant(_variant, normalised=False)),
            Mistake("projection instead of cosine", "divide the dot product by both norms, ||mean|| ||g||, not "
                    "by ||g||^2", variant(_variant, cosine="projection")),
            Mistake("correlation instead of cosine", "the cosine does not centre the two vectors: "
                    "<m, g> / (||m|| ||g||), whereas Pearson's correlation (np.corrcoef) subtracts each one's mean "
                    "first", variant(_variant, cosine="correlation")),
            Mistake("cosine distance instead of cosine", "scipy.spatial.distance.cosine is the distance "
                    "1 - cos: return the cosine itself", variant(_variant, cosine="distance")),
            Mistake("angle instead of cosine", "return the cosine of the angle, not the angle",
                    variant(_variant, cosine="angle")),
            Mistake("variance instead of std", "the SNR divides |mean| by the standard deviation, "
                    "not the variance", variant(_variant, power=2)),
            Mistake("std with ddof=1", "use the population std (np.std's default ddof=0), as in "
                    "tutorial 01's gradient_snr", variant(_variant, ddof=1)),
            Mistake("wrong axis", "rows are samples: take the SNR's mean and std over axis 0 "
                    "(across samples), one value per parameter", variant(_variant, axis=1)),
            Mistake("ratio of means", "average the per-parameter ratios |mean| / std, not "
                    "the means separately", variant(_variant, ratio_of_means=True)),
            Mistake("missing absolute value", "take |mean| before dividing in the SNR: a negative mean "
                    "is as much signal as a positive one", variant(_variant, absolute=False)),
            Mistake("mean of |samples| instead of |mean|", "the signal is the absolute value of each parameter's "
                    "mean over the samples: the mean of the absolute values counts noise of either sign as signal",
                    variant(_variant, absolute="samples")),
            Mistake("no std > 0 mask", "a parameter that never changes has std 0 and |mean| / 0 is "
                    "infinite: average only over the parameters whose std is > 0", variant(_variant, mask="none")),
            Mistake("constant parameters counted as 0", "leave the parameters whose std is 0 out of the SNR's "
                    "average altogether: counting them as 0 lowers the mean", variant(_variant, mask="zero")),
            Mistake("spread not centred on the mean", "s_p is the std around the mean, sqrt(mean((u - mean)^2)), "
                    "not the root mean square of the updates", variant(_variant, centred=False)),
            Mistake("std / |mean| instead of |mean| / std", "the signal goes on top: |mean| / std",
                    variant(_variant, inverted=True)),
        ),
    ),
)


# --- hidden fixtures: kinds, drawn from the course secret (autograder.secret) ----------------------------

# Tutorial 06 hands no course helper to answers (NumPy only): the tools of its setup are sealed.
HANDED = ()


# What the contract says, and the fixtures that separate it (a wrong answer that breaks each property, in
# tests/answers/synthesis.py, fails on them):
#   the cosine of the mean update (not the mean of cosines, of unit updates, of one update)   S > 1 in every
#                                                 kind, updates of different lengths; two samples
#   the cosine's sign                             a mean update against the gradient (|cos| fails)
#   normalised by both norms (not the dot product, the projection, 1 - cos, the angle)   |mean| != |g| != 1:
#                                                 large and tiny updates
#   not centred (Pearson's correlation)           gradients whose entries do not average to 0 (every kind)
#   the SNR as tutorial 01's: |mean| per parameter (not the mean of |u|), std with ddof=0, over the rows, the mean of the ratios,
#   centred, below |mean|                         more parameters than samples, one parameter, means of both
#                                                 signs, ratios that differ between parameters
#   std > 0 mask, constants left out              several constant parameters (nonzero and zero), exact in float32
#   float32 answers pass                          each column's values and partial sums exact in float32: two
#                                                 nearly equal samples (a std far below |mean|, a ratio of 10^5)
#                                                 would otherwise lose their spread to float32's rounding
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
        if kind == "large updates":
            samples, true = samples * 1e5, true * 1e5
        elif kind == "tiny updates":
            samples, true = samples * 1e-5, true * 1e-5
        samples = _float32_summable(samples)
        if kind == "several constant parameters":
            samples[:, :3] = np.array([0.0, 1.0, -1.0]) * rng.integers(1, 9, 3) / 4   # 0 and nonzero, exact in
                                                                                        # float32: std exactly 0
        out.append(Fixture(f"{kind}: S={S}, P={P}", dict(samples=samples, true_gradient=true)))
    return out


EXERCISES = tuple(dataclasses.replace(e, hidden=_map_hidden) for e in EXERCISES)
