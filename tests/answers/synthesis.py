"""Tutorial 06 (synthesis), answered as students answer it: from the notebook's text and the stub's
docstring (NumPy only: the course's cosine_similarity and gradient_snr are withheld), never from the
reference. CORRECT: the two equations in several styles, and a student's reuse of their own helpers
(tutorial 01's gradient_snr, written again); WRONG: the errors the text invites first (the mean of the
single updates' cosines it prints beside the answer, |cos| that hides a rule pointing against the
gradient), then the SNR's slips of tutorial 01 and cosine slips. Comments in brackets name the property
a fixture must separate (see the comment block above the hidden-fixture generator in
autograder/exercises/synthesis.py)."""
import jax.numpy as jnp
import numpy as np
import scipy.spatial.distance

EXERCISE = "synthesis.bias_and_snr"


def literal_bias_and_snr(samples, true_gradient):
    # cos(u_bar, g_bar) = u_bar . g_bar / (|u_bar| |g_bar|);
    # SNR = 1/|P| sum_{p in P} |u_bar_p| / s_p,  s_p = sqrt(1/S sum_s (u_sp - u_bar_p)^2),  P = {p: s_p > 0}
    u, g_bar = np.asarray(samples), np.asarray(true_gradient)
    S = u.shape[0]
    u_bar = (1 / S) * np.sum(u, axis=0)
    cosine = (u_bar @ g_bar) / (np.linalg.norm(u_bar) * np.linalg.norm(g_bar))
    s = np.sqrt((1 / S) * np.sum((u - u_bar) ** 2, axis=0))
    P = s > 0
    snr = (1 / np.sum(P)) * np.sum(np.abs(u_bar[P]) / s[P])
    return {"cosine": float(cosine), "snr": float(snr)}


def with_loops(samples, true_gradient):
    S, P = samples.shape
    mean = [sum(samples[s, p] for s in range(S)) / S for p in range(P)]
    dot = sum(m * g for m, g in zip(mean, true_gradient))
    cosine = dot / (np.sqrt(sum(m * m for m in mean)) * np.sqrt(sum(g * g for g in true_gradient)))
    ratios = []
    for p in range(P):
        std = np.sqrt(sum((samples[s, p] - mean[p]) ** 2 for s in range(S)) / S)
        if std > 0:
            ratios.append(abs(mean[p]) / std)
    return {"cosine": cosine, "snr": sum(ratios) / len(ratios)}


def my_cosine(a, b):
    return float(np.dot(a, b) / np.sqrt(np.dot(a, a) * np.dot(b, b)))


def my_gradient_snr(samples):
    """Tutorial 01's exercise, written again by the student."""
    mean, std = samples.mean(axis=0), samples.std(axis=0)
    keep = std > 0
    return float(np.mean(np.abs(mean[keep]) / std[keep]))


def reusing_my_helpers(samples, true_gradient):
    return {"cosine": my_cosine(samples.mean(axis=0), true_gradient), "snr": my_gradient_snr(samples)}


def with_the_sum_for_the_cosine(samples, true_gradient):
    # the cosine does not see the length: the sum of the updates points where their mean does
    total = samples.sum(axis=0)
    cosine = 1.0 - scipy.spatial.distance.cosine(total, true_gradient)
    return {"cosine": cosine, "snr": my_gradient_snr(samples)}


def with_einsum(samples, true_gradient):
    mean = np.einsum("sp->p", samples) / len(samples)
    cosine = np.einsum("p,p->", mean, true_gradient) / np.sqrt(
        np.einsum("p,p->", mean, mean) * np.einsum("p,p->", true_gradient, true_gradient))
    std = np.sqrt(((samples - mean) ** 2).mean(axis=0))
    snr = np.mean((np.abs(mean) / np.where(std > 0, std, np.inf))[std > 0])
    return {"cosine": float(cosine), "snr": float(snr)}


def in_float32(samples, true_gradient):
    s, g = samples.astype(np.float32), true_gradient.astype(np.float32)
    mean, std = s.mean(axis=0), s.std(axis=0)
    used = std > 0
    return {"cosine": np.float32(mean @ g / (np.linalg.norm(mean) * np.linalg.norm(g))),
            "snr": np.float32(np.mean(np.abs(mean[used]) / std[used]))}


def with_jax(samples, true_gradient):
    s, g = jnp.asarray(samples), jnp.asarray(true_gradient)
    mean, std = s.mean(axis=0), s.std(axis=0)
    used = std > 0
    return {"cosine": jnp.dot(mean, g) / (jnp.linalg.norm(mean) * jnp.linalg.norm(g)),
            "snr": jnp.sum(jnp.where(used, jnp.abs(mean) / jnp.where(used, std, 1.0), 0.0)) / used.sum()}


# --- wrong answers --------------------------------------------------------------------------------------

def _cos(a, b):
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def abs_cosine(samples, true_gradient):
    # |cos|: a rule whose mean points against the gradient looks aligned  [a mean update against g]
    return {"cosine": abs(_cos(samples.mean(0), true_gradient)), "snr": my_gradient_snr(samples)}


def mean_of_cosines(samples, true_gradient):
    # the mean of the single updates' cosines, which the notebook prints beside the answer  [S > 1]
    cosines = [_cos(row, true_gradient) for row in samples]
    return {"cosine": float(np.mean(cosines)), "snr": my_gradient_snr(samples)}


def mean_of_unit_updates(samples, true_gradient):
    # each update normalised to length 1, then averaged  [updates of different lengths]
    units = samples / np.linalg.norm(samples, axis=1, keepdims=True)
    return {"cosine": _cos(units.mean(0), true_gradient), "snr": my_gradient_snr(samples)}


def dot_product_only(samples, true_gradient):
    # u_bar . g, not normalised  [|u_bar| |g| != 1]
    return {"cosine": float(samples.mean(0) @ true_gradient), "snr": my_gradient_snr(samples)}


def projection(samples, true_gradient):
    # u_bar . g / |g|^2, the projection coefficient  [|u_bar| != |g|]
    g = true_gradient
    return {"cosine": float(samples.mean(0) @ g / (g @ g)), "snr": my_gradient_snr(samples)}


def scipy_cosine_distance(samples, true_gradient):
    # scipy's cosine is the distance 1 - cos  [cos != 0.5]
    return {"cosine": float(scipy.spatial.distance.cosine(samples.mean(0), true_gradient)),
            "snr": my_gradient_snr(samples)}


def angle_in_degrees(samples, true_gradient):
    # the angle (tutorial 02's measure) instead of its cosine
    c = _cos(samples.mean(0), true_gradient)
    return {"cosine": float(np.degrees(np.arccos(np.clip(c, -1, 1)))), "snr": my_gradient_snr(samples)}


def variance_in_the_snr(samples, true_gradient):
    # |mean| / variance  [std != 1]
    mean, var = samples.mean(axis=0), samples.var(axis=0)
    return {"cosine": _cos(mean, true_gradient), "snr": float(np.mean(np.abs(mean[var > 0]) / var[var > 0]))}


def sample_std(samples, true_gradient):
    # ddof=1  [ddof = 0]
    mean, std = samples.mean(0), samples.std(0, ddof=1)
    return {"cosine": _cos(mean, true_gradient), "snr": float(np.mean(np.abs(mean[std > 0]) / std[std > 0]))}


def snr_over_parameters(samples, true_gradient):
    # the SNR's mean and std over axis 1  [orientation]
    mean, std = samples.mean(1), samples.std(1)
    return {"cosine": _cos(samples.mean(0), true_gradient),
            "snr": float(np.mean(np.abs(mean[std > 0]) / std[std > 0]))}


def ratio_of_means(samples, true_gradient):
    # mean |mean| / mean std  [ratios differ between parameters]
    mean, std = samples.mean(0), samples.std(0)
    used = std > 0
    return {"cosine": _cos(mean, true_gradient), "snr": float(np.mean(np.abs(mean[used])) / np.mean(std[used]))}


def no_abs_in_the_snr(samples, true_gradient):
    # mean / std  [negative means]
    mean, std = samples.mean(0), samples.std(0)
    return {"cosine": _cos(mean, true_gradient), "snr": float(np.mean(mean[std > 0] / std[std > 0]))}


def no_mask(samples, true_gradient):
    # no std > 0 mask  [a constant parameter]
    mean = samples.mean(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return {"cosine": _cos(mean, true_gradient), "snr": float(np.mean(np.abs(mean) / samples.std(axis=0)))}


def constants_counted_as_zero(samples, true_gradient):
    # constant parameters counted as 0 in the SNR's average  [a constant parameter]
    mean, std = samples.mean(0), samples.std(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(std > 0, np.abs(mean) / std, 0.0)
    return {"cosine": _cos(mean, true_gradient), "snr": float(ratio.mean())}


def uncentred_spread(samples, true_gradient):
    # the root mean square for the spread  [std is centred]
    mean, std = samples.mean(0), samples.std(0)
    rms = np.sqrt((samples**2).mean(0))
    return {"cosine": _cos(mean, true_gradient), "snr": float(np.mean(np.abs(mean[std > 0]) / rms[std > 0]))}


def inverted_snr(samples, true_gradient):
    # std / |mean|  [which way the ratio goes]
    mean, std = samples.mean(0), samples.std(0)
    return {"cosine": _cos(mean, true_gradient), "snr": float(np.mean(std[std > 0] / np.abs(mean[std > 0])))}


def cosine_with_the_first_update(samples, true_gradient):
    # the cosine of one update (the first row)  [S > 1]
    return {"cosine": _cos(samples[0], true_gradient), "snr": my_gradient_snr(samples)}


def correlation_instead_of_cosine(samples, true_gradient):
    # np.corrcoef: Pearson's correlation centres both vectors first  [mean update and gradient not centred]
    return {"cosine": float(np.corrcoef(samples.mean(0), true_gradient)[0, 1]), "snr": my_gradient_snr(samples)}


def mean_of_abs_in_the_snr(samples, true_gradient):
    # |u| averaged over the samples instead of the |.| of the average  [samples of both signs]
    mean, std = samples.mean(0), samples.std(0)
    mean_abs = np.abs(samples).mean(0)
    return {"cosine": _cos(mean, true_gradient), "snr": float(np.mean(mean_abs[std > 0] / std[std > 0]))}


def nanmean_of_ratios(samples, true_gradient):
    # np.nanmean drops 0 / 0 but keeps c / 0 = inf  [a constant nonzero parameter]
    mean = samples.mean(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        snr = np.nanmean(np.abs(mean) / samples.std(0))
    return {"cosine": _cos(mean, true_gradient), "snr": float(snr)}


def in_place(samples, true_gradient):
    # centres the samples in place  [inputs unchanged]
    mean = samples.mean(0)
    samples -= mean
    std = np.sqrt((samples**2).mean(0))
    return {"cosine": _cos(mean, true_gradient), "snr": float(np.mean(np.abs(mean[std > 0]) / std[std > 0]))}


CORRECT = {
    EXERCISE: [literal_bias_and_snr, with_loops, reusing_my_helpers, with_the_sum_for_the_cosine, with_einsum,
               in_float32, with_jax],
}

WRONG = {
    EXERCISE: [
        (abs_cosine, "absolute value of the cosine"),
        (mean_of_cosines, "mean of cosines"),
        (mean_of_unit_updates, "mean of unit updates"),
        (dot_product_only, "cosine not normalised"),
        (projection, "projection instead of cosine"),
        (scipy_cosine_distance, "cosine distance instead of cosine"),
        (angle_in_degrees, "angle instead of cosine"),
        (cosine_with_the_first_update, "cosine of one update"),
        (variance_in_the_snr, "variance instead of std"),
        (sample_std, "std with ddof=1"),
        (snr_over_parameters, "wrong axis"),
        (ratio_of_means, "ratio of means"),
        (no_abs_in_the_snr, "missing absolute value"),
        (no_mask, "no std > 0 mask"),
        (constants_counted_as_zero, "constant parameters counted as 0"),
        (uncentred_spread, "spread not centred on the mean"),
        (inverted_snr, "std / |mean| instead of |mean| / std"),
        (correlation_instead_of_cosine, "correlation instead of cosine"),
        (mean_of_abs_in_the_snr, "mean of |samples| instead of |mean|"),
        (nanmean_of_ratios, "no std > 0 mask"),
        (in_place, None),
    ],
}
