"""Tutorial 01 (perturbation learning): fixtures and known mistakes for its three exercises."""
from __future__ import annotations

import dataclasses

import numpy as np

from course_utils import perturbation as ref
from course_utils.mlp import forward, init_mlp, mse_loss, num_layers, per_example_loss

from ..core import FLOAT32_ATOL, FLOAT32_RTOL, Exercise, Fixture, Mistake, normalise, variant

# (D, H, C, N, activation, seed): non-square layers, batches of one and more, both activations.
SHAPES = [(5, 4, 3, 6, "sigmoid", 0), (3, 6, 2, 1, "relu", 1), (7, 3, 4, 5, "relu", 2),
          (4, 5, 3, 9, "sigmoid", 3)]


def _problem(D, H, C, N, activation, seed):
    rng = np.random.default_rng(1000 + seed)
    params = init_mlp(rng, (D, H, C), activation)
    params = {k: v + 0.1 * rng.standard_normal(v.shape) for k, v in params.items()}  # nonzero biases
    x = rng.standard_normal((N, D))
    y = np.eye(C)[rng.integers(0, C, N)]
    return rng, params, x, y


def _wp_fixtures():
    fixtures = []
    for (D, H, C, N, act, seed), K in zip(SHAPES, (3, 1, 4, 2)):
        rng, params, x, y = _problem(D, H, C, N, act, seed)
        sigma = 0.1
        psi = ref.sample_weight_perturbations(rng, params, sigma, K)
        fixtures.append(Fixture(f"D={D}, H={H}, C={C}, N={N}, K={K}, {act}",
                                dict(params=params, x=x, y=y, perturbations=psi, sigma=sigma,
                                     activation=act)))
    return fixtures


def _np_fixtures():
    fixtures = []
    for D, H, C, N, act, seed in SHAPES:
        rng, params, x, y = _problem(D, H, C, N, act, seed)
        sigma = 0.1
        xi = ref.sample_node_noise(rng, params, N, sigma)
        fixtures.append(Fixture(f"D={D}, H={H}, C={C}, N={N}, {act}",
                                dict(params=params, x=x, y=y, node_noise=xi, sigma=sigma,
                                     activation=act)))
    return fixtures


def _snr_fixtures():
    fixtures = []
    for S, P, seed in ((6, 5, 0), (20, 3, 1), (3, 8, 2)):
        rng = np.random.default_rng(seed)
        samples = rng.standard_normal((S, P)) * rng.uniform(0.5, 2, P) + rng.standard_normal(P)
        samples[:, 0] = 0.0          # a parameter that never changes (an always-off pixel)
        fixtures.append(Fixture(f"S={S} samples, P={P} parameters", dict(samples=samples)))
    return fixtures


# What would give each answer away, withheld from graded code (autograder.redaction): the reference,
# its JAX twin, and the course helpers that compute the same thing.
WITHHELD = {
    "perturbation.weight_perturbation": (
        "course_utils.perturbation:weight_perturbation_gradient", "course_utils.perturbation:_weight_perturbation",
        "course_utils.perturbation:averaged_estimate",
        "course_utils.jax.perturbation:weight_perturbation_gradient", "course_utils.jax.perturbation:_weight_perturbation"),
    "perturbation.node_perturbation": (
        "course_utils.perturbation:node_perturbation_gradient", "course_utils.perturbation:_node_perturbation",
        "course_utils.perturbation:per_example_estimates",
        "course_utils.jax.perturbation:node_perturbation_gradient", "course_utils.jax.perturbation:_node_perturbation"),
    "perturbation.gradient_snr": (
        "course_utils.perturbation:gradient_snr", "course_utils.metrics:gradient_snr",
        "course_utils.jax.perturbation:gradient_snr"),
    "perturbation.stable_step": ("course_utils.perturbation:largest_stable_step",),
}


# --- known wrong variants ----------------------------------------------------------------------

def _wp_variant(params, x, y, perturbations, sigma, activation="sigmoid", *, power=2, reduce="mean",
                baseline="clean", biases="estimated", loss="mean", rescale=False, one_at_a_time=False):
    """Weight perturbation with one slip. reduce: "mean" over K, "sum", "K+1" (divided by the number of
    forward passes), "first" (Psi_0 only); baseline: "clean" L(W), "none", "mean" (of the perturbed losses);
    biases: "estimated", "zero" (perturbed, estimate zeroed), "unperturbed" (only the W's perturbed),
    "absent" (no b keys); loss: "mean" (mse_loss), "sum" over the batch, "no half", "outputs" (a mean
    over the outputs too); rescale: Psi multiplied by sigma again; one_at_a_time: each parameter array
    perturbed on its own, the others clean."""
    def batch_loss(p):
        y_hat = forward(p, x, activation)["y_hat"]
        return {"mean": mse_loss(y_hat, y), "sum": float(np.sum(per_example_loss(y_hat, y))),
                "no half": 2.0 * mse_loss(y_hat, y), "outputs": mse_loss(y_hat, y) / y.shape[1]}[loss]

    K = next(iter(perturbations.values())).shape[0]
    scale = sigma if rescale else 1.0
    moved = [n for n in params if biases != "unperturbed" or not n.startswith("b")]
    draws = range(1) if reduce == "first" else range(K)
    losses = [batch_loss({n: params[n] + (scale * perturbations[n][k] if n in moved else 0.0) for n in params})
              for k in draws]
    base = {"clean": batch_loss(params), "none": 0.0, "mean": float(np.mean(losses))}[baseline]
    out = {k: np.zeros_like(v, dtype=np.float64) for k, v in params.items()}
    if one_at_a_time:
        for n in moved:
            for k in draws:
                value = batch_loss({m: params[m] + (scale * perturbations[m][k] if m == n else 0.0) for m in params})
                out[n] += (value - base) * scale * perturbations[n][k] / sigma**power
        return {n: v / {"mean": K, "sum": 1, "K+1": K + 1, "first": 1}[reduce] for n, v in out.items()}
    for k, value in zip(draws, losses):
        for n in moved:
            out[n] += (value - base) * scale * perturbations[n][k] / sigma**power
    divisor = {"mean": K, "sum": 1, "K+1": K + 1, "first": 1}[reduce]
    out = {n: v / divisor for n, v in out.items()}
    if biases == "zero":
        out = {n: (np.zeros_like(v) if n.startswith("b") else v) for n, v in out.items()}
    elif biases == "absent":
        out = {n: v for n, v in out.items() if not n.startswith("b")}
    return out


def _np_variant(params, x, y, node_noise, sigma, activation="sigmoid", *, power=2, reduce="mean",
                noisy_input=False, loss="each", biases="mean", baseline=True, half=True, factor="noise",
                twice=False, product_of_means=False):
    """Node perturbation with one slip. loss: "each" example's change, "batch" (mse_loss's change for every
    example), "batch sum"; biases: "mean", "zero", "sum"; factor: what multiplies the loss change, "noise"
    xi, "z" (the noisy pre-activation), "passes" (z_noisy - z_clean, which carries earlier layers' noise);
    twice: divided by N twice; product_of_means: the outer product of the batch means."""
    clean = forward(params, x, activation)
    noisy = forward(params, x, activation, node_noise=node_noise)
    each_noisy, each_clean = per_example_loss(noisy["y_hat"], y), per_example_loss(clean["y_hat"], y)
    change = each_noisy - each_clean if baseline else each_noisy
    if not half:
        change = 2.0 * change
    if loss == "batch":
        change = np.full_like(change, change.mean())
    elif loss == "batch sum":
        change = np.full_like(change, change.sum())
    N = x.shape[0]
    n = N if reduce == "mean" else 1
    source = noisy if noisy_input else clean
    out = {}
    for l in range(1, num_layers(params) + 1):
        xi = {"noise": node_noise[f"z{l}"], "z": noisy["z"][l - 1],
              "passes": noisy["z"][l - 1] - clean["z"][l - 1]}[factor]
        g = change[:, None] * xi / sigma**power / n / (N if twice else 1)
        h = source["inputs"][l - 1]
        out[f"W{l}"] = np.outer(g.sum(0), h.mean(0)) if product_of_means else g.T @ h   # (g carries the 1/N)
        out[f"b{l}"] = {"mean": g.sum(0), "zero": np.zeros(g.shape[1]),
                        "sum": g.sum(0) * N}[biases]
    return {k: out[k] for k in params}


def _snr_variant(samples, *, absolute="inside", ddof=0, axis=0, ratio_of_means=False, mask="drop", power=1,
                 centred=True, inverted=False, reduce="mean", pooled=False):
    """The SNR with one slip. absolute: "inside" |mean| / std, "none", "outside" |mean(mean / std)|,
    "samples" (the mean of |G| over the samples);
    mask: "drop" std = 0, "none", "zero" (counted as 0), "nanmean"; power: 2 for the variance; centred:
    False for the root mean square; inverted: std / |mean|; reduce: "mean", "sum", "median", "none" (the
    per-parameter ratios); pooled: one |mean| / std over every entry."""
    s = np.asarray(samples, dtype=np.float64)
    if pooled:
        return float(abs(s.mean()) / s.std())
    mean, std = s.mean(axis=axis), s.std(axis=axis, ddof=ddof)
    spread = (std if centred else np.sqrt(np.mean(s**2, axis=axis))) ** power
    used = std > 0 if mask in ("drop", "zero") else np.ones(std.shape, dtype=bool)
    top = {"inside": np.abs(mean), "samples": np.abs(s).mean(axis=axis)}.get(absolute, mean)
    if ratio_of_means:
        return float(np.mean(top[used]) / np.mean(spread[used]))
    ratio = spread / top if inverted else top / spread
    if mask == "zero":
        ratio = np.where(used, ratio, 0.0)
        used = np.ones(std.shape, dtype=bool)
    if mask == "nanmean":
        return float(np.nanmean(ratio))
    if reduce == "none":
        return ratio[used]
    value = {"mean": np.mean, "sum": np.sum, "median": np.median}[reduce](ratio[used])
    return float(abs(value) if absolute == "outside" else value)


def _stable_fixtures():
    """Quadratic losses: non-isotropic Hessians (so that tr(H), g^T H g and |g|^2 all matter), one
    parameter and several, one perturbation and several."""
    fixtures = []
    for P, K, seed in ((1, 1, 0), (3, 1, 1), (5, 4, 2), (12, 2, 3), (8, 50, 4)):
        rng = np.random.default_rng(500 + seed)
        A = rng.standard_normal((P, P))
        hessian = A @ A.T / P + np.diag(rng.uniform(0.2, 3.0, P))
        gradient = rng.standard_normal(P) * rng.uniform(0.5, 2.0, P)
        fixtures.append(Fixture(f"P={P} parameters, K={K} perturbation(s)",
                                dict(gradient=gradient, hessian=hessian, num_samples=K)))
    return fixtures


def _stable_variant(gradient, hessian, num_samples, *, factor=2.0, per_k=True, outer=1.0, noise=True,
                    trace="trace", trace_per_k=True, signal=True, g_power=2, noise_g2=True):
    """The step limit with one slip. outer: the coefficient of g^T H g / K (0: the g g^T part of the noise
    missing, 2: counted twice); trace: "trace", "eig" (P times the largest eigenvalue), "mean" (tr(H) / P),
    "fro" (the Frobenius norm); trace_per_k: False leaves the trace term undivided by K; signal: False
    drops the g^T H g term; g_power: 1 for |g| where |g|^2 belongs; noise_g2: False drops the |g|^2 that
    multiplies tr(H)."""
    g, H = np.asarray(gradient, dtype=np.float64), np.asarray(hessian, dtype=np.float64)
    K = num_samples if per_k else 1
    g2, gHg = (g @ g if g_power == 2 else np.linalg.norm(g)), g @ H @ g
    tr = {"trace": np.trace(H), "eig": len(g) * np.max(np.linalg.eigvalsh(H)), "mean": np.trace(H) / len(g),
          "fro": np.linalg.norm(H)}[trace]
    if not noise:
        return float(factor * g2 / gHg)
    noise_scale = g2 if noise_g2 else 1.0
    return float(factor * g2 / ((gHg * (1.0 + outer / K) if signal else 0.0)
                                + noise_scale * tr / (K if trace_per_k else 1)))


def _isotropic_shortcut(gradient, hessian, num_samples, *, curvature="mean", with_k=False):
    """The text's H = lambda I, K = 1 result 2 / (lambda (P + 2)) on a general Hessian, lambda its mean
    (tr(H) / P) or largest eigenvalue; with_k: the isotropic case redone for K, 2 / (lambda (1 + (P + 1) / K))."""
    H = np.asarray(hessian, dtype=np.float64)
    P, K = H.shape[0], num_samples
    lam = np.trace(H) / P if curvature == "mean" else float(np.max(np.linalg.eigvalsh(H)))
    return float(2.0 / (lam * (1.0 + (P + 1.0) / K)) if with_k else 2.0 / (lam * (P + 2.0)))


_BASELINE = "the baseline is the clean loss L(W) of the unperturbed network: subtract it from each perturbed loss"
_HALF = "the loss is mse_loss, the batch mean of 1/2 ||y_hat - y||^2: keep its 1/2 (or call mse_loss / per_example_loss)"

EXERCISES = (
    Exercise(
        id="perturbation.weight_perturbation", withheld=WITHHELD["perturbation.weight_perturbation"],
        function_name="weight_perturbation_gradient",
        reference=ref.weight_perturbation_gradient,
        fixtures=_wp_fixtures,
        points=2,
        rtol=1e-5, atol=1e-8,
        summary="weight-perturbation estimate mean_k (L(W+Psi_k) - L(W)) Psi_k / sigma^2",
        mistakes=(
            Mistake("wrong sign", "use L(W + Psi) - L(W), not L(W) - L(W + Psi)",
                    lambda **kw: {k: -v for k, v in ref.weight_perturbation_gradient(**kw).items()}),
            Mistake("divided by sigma instead of sigma^2",
                    "Psi already carries one factor sigma; divide by sigma**2", variant(_wp_variant, power=1)),
            Mistake("not divided by sigma^2", "(L(W + Psi) - L(W)) Psi has the gradient times sigma^2 on average: "
                    "divide it by sigma**2", variant(_wp_variant, power=0)),
            Mistake("perturbations scaled by sigma again", "perturbations[name][k] is Psi_k itself, already "
                    "scaled by sigma: add it to the weights as it is", variant(_wp_variant, rescale=True)),
            Mistake("sum instead of mean over the K perturbations",
                    "average over the K samples (divide by K)", variant(_wp_variant, reduce="sum")),
            Mistake("divided by K + 1", "average over the K perturbations (divide by K): the clean pass is the "
                    "baseline, not a sample", variant(_wp_variant, reduce="K+1")),
            Mistake("only the first perturbation", "use all K perturbations, perturbations[name][k] for k in "
                    "range(K), and average their terms", variant(_wp_variant, reduce="first")),
            Mistake("missing baseline", _BASELINE, variant(_wp_variant, baseline="none")),
            Mistake("baseline from the perturbed losses", _BASELINE + " (the mean of the perturbed losses cancels "
                    "the signal when K is small)", variant(_wp_variant, baseline="mean")),
            Mistake("one parameter array perturbed at a time", "perturb every parameter together: in draw k, "
                    "W1, b1, W2 and b2 all move by their Psi_k at once, and one loss change L(W + Psi_k) - L(W) "
                    "serves every parameter", variant(_wp_variant, one_at_a_time=True)),
            Mistake("missing bias", "perturb and estimate the biases too (b1, b2)", variant(_wp_variant, biases="zero")),
            Mistake("missing bias", "perturb the biases with their Psi too, and return their estimates (b1, b2)",
                    variant(_wp_variant, biases="unperturbed")),
            Mistake("missing bias", "return an estimate for every key of params, the biases b1, b2 included",
                    variant(_wp_variant, biases="absent")),
            Mistake("summed loss over the batch", "L is the batch mean of the examples' losses (mse_loss), "
                    "not their sum", variant(_wp_variant, loss="sum")),
            Mistake("loss without the 1/2", _HALF, variant(_wp_variant, loss="no half")),
            Mistake("loss averaged over the outputs too", "L sums the squared errors over the C outputs and "
                    "averages over the N examples only (mse_loss)", variant(_wp_variant, loss="outputs")),
        ),
    ),
    Exercise(
        id="perturbation.node_perturbation", withheld=WITHHELD["perturbation.node_perturbation"],
        function_name="node_perturbation_gradient",
        reference=ref.node_perturbation_gradient,
        fixtures=_np_fixtures,
        points=3,
        rtol=1e-5, atol=1e-8,
        summary="node-perturbation estimate: per-example (L_n(xi) - L_n(0)) xi_n / sigma^2, "
                "outer product with the clean layer input, mean over the batch",
        mistakes=(
            Mistake("wrong sign", "use L_n(noisy) - L_n(clean), not the other way round (the three-factor "
                    "rule's reward deviation is the update, minus the gradient)",
                    lambda **kw: {k: -v for k, v in ref.node_perturbation_gradient(**kw).items()}),
            Mistake("sum instead of mean over the batch",
                    "divide the summed outer products by the batch size N", variant(_np_variant, reduce="sum")),
            Mistake("bias summed over the batch", "the bias estimate is the batch mean of g_l, (1/N) sum_n g_{l,n}, "
                    "as the weights' is", variant(_np_variant, biases="sum")),
            Mistake("divided by N twice", "divide by the batch size N once: (1/N) g^T h and (1/N) sum_n g_n",
                    variant(_np_variant, twice=True)),
            Mistake("divided by sigma instead of sigma^2", "xi already carries one factor sigma; "
                    "divide by sigma**2", variant(_np_variant, power=1)),
            Mistake("not divided by sigma^2", "g_{l,n} is the loss change times xi over sigma**2",
                    variant(_np_variant, power=0)),
            Mistake("noisy layer input", "the outer product uses the clean input of each layer "
                    "(clean['inputs']), not the noisy pass's", variant(_np_variant, noisy_input=True)),
            Mistake("missing baseline", "subtract each example's clean loss L_n(clean) from its noisy loss",
                    variant(_np_variant, baseline=False)),
            Mistake("batch loss instead of each example's loss",
                    "credit each example's noise with its own loss change (per_example_loss)",
                    variant(_np_variant, loss="batch")),
            Mistake("batch loss instead of each example's loss",
                    "credit each example's noise with its own loss change (per_example_loss), not the batch's",
                    variant(_np_variant, loss="batch sum")),
            Mistake("missing bias", "the bias estimate is the batch mean of the per-example terms",
                    variant(_np_variant, biases="zero")),
            Mistake("pre-activation instead of the noise", "multiply the loss change by the noise xi_l "
                    "(node_noise['z<l>']), not by the noisy pre-activation z_l + xi_l", variant(_np_variant, factor="z")),
            Mistake("noise recovered from the two passes", "use the noise you are given, node_noise['z<l>']: "
                    "z_noisy - z_clean of layer 2 also carries layer 1's noise, passed on through W2",
                    variant(_np_variant, factor="passes")),
            Mistake("product of batch means", "average the outer products g_n h_n^T over the batch (g^T h / N), "
                    "not the outer product of the two batch means", variant(_np_variant, product_of_means=True)),
            Mistake("loss without the 1/2", "each example's loss is per_example_loss, 1/2 ||y_hat_n - y_n||^2: "
                    "keep its 1/2", variant(_np_variant, half=False)),
        ),
    ),
    Exercise(
        id="perturbation.gradient_snr", withheld=WITHHELD["perturbation.gradient_snr"],
        function_name="gradient_snr",
        reference=ref.gradient_snr,
        fixtures=_snr_fixtures,
        points=2,
        summary="mean over parameters (std > 0) of |mean| / std across samples",
        mistakes=(
            Mistake("missing absolute value", "take |mean| before dividing: a negative mean is as "
                    "much signal as a positive one", variant(_snr_variant, absolute="none")),
            Mistake("absolute value of the average", "take |mean| of each parameter before averaging the ratios: "
                    "|mean(mean / std)| lets signs cancel", variant(_snr_variant, absolute="outside")),
            Mistake("mean of |samples| instead of |mean|", "the signal is the absolute value of each parameter's "
                    "mean over the samples: the mean of the absolute values counts noise of either sign as signal",
                    variant(_snr_variant, absolute="samples")),
            Mistake("std with ddof=1", "use the population std (np.std's default ddof=0)",
                    variant(_snr_variant, ddof=1)),
            Mistake("wrong axis", "rows are samples: take the mean and std over axis 0 "
                    "(across samples), one value per parameter", variant(_snr_variant, axis=1)),
            Mistake("ratio of means", "average the per-parameter ratios |mean|/std, not the "
                    "means separately", variant(_snr_variant, ratio_of_means=True)),
            Mistake("no std > 0 mask", "a parameter that never changes has std 0, and 0/0 is NaN: "
                    "average only over the parameters whose std is > 0", variant(_snr_variant, mask="none")),
            Mistake("no std > 0 mask", "a parameter that never changes has std 0 and c/0 is infinite (nanmean "
                    "drops only 0/0): average only over the parameters whose std is > 0",
                    variant(_snr_variant, mask="nanmean")),
            Mistake("constant parameters counted as 0", "leave the parameters whose std is 0 out of the average "
                    "altogether: counting them as 0 lowers the mean", variant(_snr_variant, mask="zero")),
            Mistake("variance instead of std", "divide |mean| by the standard deviation, the square root of the "
                    "variance", variant(_snr_variant, power=2)),
            Mistake("spread not centred on the mean", "s_p is the std around the mean, sqrt(mean((G - mean)^2)), "
                    "not the root mean square of G", variant(_snr_variant, centred=False)),
            Mistake("std / |mean| instead of |mean| / std", "the signal goes on top: |mean| / std",
                    variant(_snr_variant, inverted=True)),
            Mistake("not averaged over the parameters", "return one float: the mean of the per-parameter "
                    "ratios", variant(_snr_variant, reduce="none")),
            Mistake("sum over the parameters instead of the mean", "average the ratios over the parameters "
                    "(divide by how many have std > 0)", variant(_snr_variant, reduce="sum")),
            Mistake("median instead of mean", "the SNR is the mean of the per-parameter ratios, not their median",
                    variant(_snr_variant, reduce="median")),
            Mistake("one ratio over every entry", "compute |mean| / std per parameter (per column), then average "
                    "the ratios", variant(_snr_variant, pooled=True)),
        ),
    ),
    Exercise(
        id="perturbation.stable_step", withheld=WITHHELD["perturbation.stable_step"],
        function_name="largest_stable_step",
        reference=ref.largest_stable_step,
        fixtures=_stable_fixtures,
        points=1,
        summary="eta_max = 2 |g|^2 / (g^T H g (1 + 1/K) + |g|^2 tr(H) / K)",
        mistakes=(
            Mistake("isotropic shortcut on a general Hessian", "2 / (lambda (P + 2)) holds only for H = lambda I "
                    "and K = 1: use g^T H g, |g|^2 and tr(H) of the Hessian you are given, and K",
                    variant(_isotropic_shortcut, curvature="mean")),
            Mistake("isotropic shortcut on a general Hessian", "2 / (lambda (P + 2)) holds only for H = lambda I "
                    "and K = 1: use g^T H g, |g|^2 and tr(H) of the Hessian you are given, and K",
                    variant(_isotropic_shortcut, curvature="largest")),
            Mistake("isotropic shortcut on a general Hessian", "the isotropic result holds only for H = lambda I: "
                    "use g^T H g, |g|^2 and tr(H) of the Hessian you are given",
                    variant(_isotropic_shortcut, with_k=True)),
            Mistake("backprop's limit", "the estimate is noisy: its second moment adds (|g|^2 I + g g^T) / K "
                    "to g g^T, and that extra term is what limits the step", variant(_stable_variant, noise=False)),
            Mistake("missing the g^T H g term", "E[g_hat^T H g_hat] keeps the signal's g^T H g (1 + 1/K) beside "
                    "the noise's |g|^2 tr(H) / K", variant(_stable_variant, signal=False)),
            Mistake("missing |g|^2 in the noise term", "the noise's cost is |g|^2 tr(H) / K: the noise part of the "
                    "second moment, |g|^2 I + g g^T, carries |g|^2", variant(_stable_variant, noise_g2=False)),
            Mistake("noise not divided by K", "averaging K perturbations divides the noise part of the second "
                    "moment, (|g|^2 I + g g^T), by K", variant(_stable_variant, per_k=False)),
            Mistake("trace term not divided by K", "averaging K perturbations divides the whole noise part by K: "
                    "|g|^2 tr(H) / K as well as g^T H g / K", variant(_stable_variant, trace_per_k=False)),
            Mistake("missing g g^T term of the noise", "the second moment is g g^T + (|g|^2 I + g g^T) / K: "
                    "the noise adds g^T H g / K as well as |g|^2 tr(H) / K", variant(_stable_variant, outer=0.0)),
            Mistake("g g^T counted twice in the noise", "the second moment is g g^T + (|g|^2 I + g g^T) / K: "
                    "g^T H g (1 + 1/K), not (1 + 2/K)", variant(_stable_variant, outer=2.0)),
            Mistake("missing factor 2", "E[Delta L] = -eta |g|^2 + eta^2 / 2 (...) is zero at eta = 2 |g|^2 / (...) "
                    "(half of that is the best step, not the largest stable one)", variant(_stable_variant, factor=1.0)),
            Mistake("largest eigenvalue instead of the trace", "the noise spreads over every direction: "
                    "its cost is |g|^2 tr(H) / K, the sum of H's eigenvalues, not P times the largest",
                    variant(_stable_variant, trace="eig")),
            Mistake("mean eigenvalue instead of the trace", "the noise's cost is |g|^2 tr(H) / K, the sum of H's "
                    "eigenvalues: every one of the P directions contributes", variant(_stable_variant, trace="mean")),
            Mistake("Frobenius norm instead of the trace", "the noise's cost is |g|^2 tr(H) / K with tr(H) = "
                    "np.trace(H), the sum of the diagonal", variant(_stable_variant, trace="fro")),
            Mistake("|g| instead of |g|^2", "|g|^2 = g @ g (np.linalg.norm(g) is |g|, not squared)",
                    variant(_stable_variant, g_power=1)),
        ),
    ),
)


# --- hidden fixtures: kinds, drawn from the course secret (autograder.secret) ----------------------------

# The helpers the setup cell hands to answers; everything else of the course is sealed while grading.
HANDED = ("course_utils.mlp:forward", "course_utils.mlp:mse_loss", "course_utils.mlp:per_example_loss")


def _random_problem(rng, D, H, C, N, activation, scale=1.0):
    params = init_mlp(rng, (D, H, C), activation)
    params = {k: scale * v + 0.1 * rng.standard_normal(v.shape) for k, v in params.items()}
    x = rng.standard_normal((N, D)) * rng.uniform(0.5, 2.0)
    y = np.eye(C)[rng.integers(0, C, N)]
    return params, x, y


def _network_kinds(rng):
    """(kind, D, H, C, N, activation, weight scale): a batch of one, square layers, one output, wide
    and narrow layers, large weights (saturated sigmoids, dead ReLUs), both activations."""
    d = lambda: int(rng.integers(2, 9))
    kinds = []
    for activation in ("sigmoid", "relu"):
        kinds += [("a batch of one", d(), d(), d(), 1, activation, 1.0),
                  ("square layers", 4, 4, 4, int(rng.integers(2, 7)), activation, 1.0),
                  ("one output", d(), d(), 1, int(rng.integers(2, 7)), activation, 1.0),
                  ("one hidden unit", d(), 1, d(), int(rng.integers(2, 7)), activation, 1.0),
                  ("large weights", d(), d(), d(), int(rng.integers(2, 7)), activation, 4.0),
                  ("a larger batch", d(), d(), d(), int(rng.integers(10, 25)), activation, 1.0)]
    return kinds


# float32 answers (NumPy float32, jax.numpy) compute a loss to about 1e-7 of its value, and their tolerance is
# 2e-4 of the result: a loss change below about 1e-3 of the loss would be rounding, not signal. Draws whose loss
# change is that small are drawn again (weight perturbation: every k; node perturbation: every example's row),
# and so is a fixture on which the reference itself, run in float32, is not within a quarter of the float32
# tolerance (sums over examples whose terms cancel magnify the rounding).
_CLEAR = 2e-3


def _float32_safe(reference, kwargs) -> bool:
    def narrow(value):
        if isinstance(value, dict):
            return {k: narrow(v) for k, v in value.items()}
        return value.astype(np.float32) if isinstance(value, np.ndarray) else value
    want, have = normalise(reference(**kwargs)), normalise(reference(**narrow(kwargs)))
    scale = max(float(np.max(np.abs(v))) for v in want.values())
    return all(np.allclose(have[k], want[k], rtol=FLOAT32_RTOL / 4, atol=FLOAT32_ATOL * scale / 4) for k in want)


def _clear_weight_perturbations(rng, params, x, y, activation, sigma, K):
    base = mse_loss(forward(params, x, activation)["y_hat"], y)
    for _ in range(100):
        psi = ref.sample_weight_perturbations(rng, params, sigma, K)
        moved = [mse_loss(forward({n: params[n] + psi[n][k] for n in params}, x, activation)["y_hat"], y)
                 for k in range(K)]
        if all(abs(m - base) >= _CLEAR * max(m, base) for m in moved) and _float32_safe(
                ref.weight_perturbation_gradient, dict(params=params, x=x, y=y, perturbations=psi, sigma=sigma,
                                                       activation=activation)):
            break
    return psi


def _clear_node_noise(rng, params, x, y, activation, sigma):
    clean = per_example_loss(forward(params, x, activation)["y_hat"], y)
    for _ in range(100):
        xi = ref.sample_node_noise(rng, params, x.shape[0], sigma)
        for _ in range(100):
            noisy = per_example_loss(forward(params, x, activation, node_noise=xi)["y_hat"], y)
            small = np.abs(noisy - clean) < _CLEAR * np.maximum(noisy, clean)
            if not small.any():
                break
            fresh = ref.sample_node_noise(rng, params, x.shape[0], sigma)
            xi = {k: np.where(small[:, None], fresh[k], v) for k, v in xi.items()}
        if _float32_safe(ref.node_perturbation_gradient, dict(params=params, x=x, y=y, node_noise=xi, sigma=sigma,
                                                               activation=activation)):
            break
    return xi


# Weight perturbation: what the contract says, and the fixtures that separate it (a wrong answer that breaks
# each property, in tests/answers/perturbation.py, fails on them):
#   the baseline L(W) is subtracted             every kind (no baseline; the perturbed losses' mean: K >= 1)
#   divided by sigma^2, Psi used as given       sigma 0.1 and 0.3 beside 1.0, in turn (sigma, 1, sigma^3)
#   the mean over the K perturbations           K = 1 and K > 1 of each kind (sum, K + 1, Psi_0 only)
#   L is the batch mean of 1/2 ||y_hat - y||^2  a batch of one and larger batches (sum over N), one output and
#                                               several (mean over C too), every kind (no 1/2)
#   the biases are perturbed and estimated      every kind (zeros, unperturbed, the keys left out)
#   every array perturbed together in a draw    every kind (one array at a time, the others clean)
#   the activation is passed on                 both activations of every kind
#   sign, the keys and shapes of params         every kind: square and non-square layers, one hidden unit
#   inputs unchanged                            every fixture (the grader compares them after the call)
#   float32 answers pass                        loss changes clear of float32's rounding (_CLEAR)
def _wp_hidden(rng):
    fixtures = []
    sigmas = (0.1, 0.3, 1.0)                                 # (smaller sigmas would test float32's rounding)
    for i, (kind, D, H, C, N, act, scale) in enumerate(_network_kinds(rng)):
        for j, K in enumerate((1, int(rng.integers(2, 6)))):
            params, x, y = _random_problem(rng, D, H, C, N, act, scale)
            sigma = sigmas[(2 * i + j) % 3]
            psi = _clear_weight_perturbations(rng, params, x, y, act, sigma, K)
            fixtures.append(Fixture(f"{kind}, {act}, K={K}, D={D}, H={H}, C={C}, N={N}",
                                    dict(params=params, x=x, y=y, perturbations=psi, sigma=sigma, activation=act)))
    return fixtures


# Node perturbation:
#   each example's own loss change              N > 1 in every kind but the batch of one (mse_loss's change,
#                                               the batch's summed change)
#   each example's clean loss subtracted        every kind
#   xi as given (node_noise), not z + xi, not z_noisy - z_clean   every kind (layer 1's noise reaches layer 2)
#   the clean input of each layer               every kind: layer 2's noisy input differs
#   (1/N) g^T h for W, (1/N) sum_n g_n for b    N = 1 and N > 1 (sum, N twice, bias summed, product of means)
#   divided by sigma^2                          sigma 0.1 beside 1.0 (sigma, 1)
#   (out, in) orientation                       non-square layers in every kind but "square layers"
#   the biases estimated; the activation passed on; no 1/2 dropped; sign   every kind, both activations
#   float32 answers pass                        every example's loss change clear of float32's rounding
def _np_hidden(rng):
    fixtures = []
    for kind, D, H, C, N, act, scale in _network_kinds(rng):
        for sigma in (0.1, 1.0):                             # (smaller sigmas would test float32's rounding)
            params, x, y = _random_problem(rng, D, H, C, N, act, scale)
            xi = _clear_node_noise(rng, params, x, y, act, sigma)
            noise = "small noise" if sigma < 1 else "unit noise"
            fixtures.append(Fixture(f"{kind}, {act}, {noise}, D={D}, H={H}, C={C}, N={N}",
                                    dict(params=params, x=x, y=y, node_noise=xi, sigma=sigma, activation=act)))
    return fixtures


def _float32_summable(samples):
    """Each column on a grid coarse enough that float32 holds its values and every partial sum of the column
    exactly (and fine enough to keep its spread), so that a float32 answer's mean and std are exact but for
    one rounding: means 10^4 times their spread would otherwise lose their spread to float32's rounding."""
    out = np.array(samples, dtype=np.float64)
    for p in range(out.shape[1]):
        bound = out.shape[0] * np.max(np.abs(out[:, p]))
        if bound > 0:
            step = 2.0 ** (np.ceil(np.log2(bound)) - 23)
            out[:, p] = np.round(out[:, p] / step) * step
    return out


# Gradient SNR:
#   |mean| of each parameter, before averaging   negative means, mixed signs and scales (no |.|, |.| outside;
#                                                the mean of |G|: means far smaller than the spread)
#   std with ddof=0                              every kind, most of all two and three samples
#   across the rows (axis 0)                     S != P in every kind, more parameters than samples
#   the mean of the per-parameter ratios         ratios that differ between parameters (ratio of means, median,
#                                                sum, one pooled ratio); one parameter (P = 1)
#   std > 0 mask, constants left out             a constant nonzero parameter (c / 0: no mask, nanmean, counted
#                                                as 0); the public fixtures' constant 0 (0 / 0)
#   std, centred, below |mean|                   means far larger and far smaller than the spread
#   one float                                    every kind
#   float32 answers pass                         values and partial sums exact in float32; constants exact
def _snr_hidden(rng):
    fixtures = []
    for kind, S, P in (("two samples", 2, 6), ("one parameter", 12, 1), ("more parameters than samples", 5, 30),
                       ("many samples", 200, 8), ("negative means", 15, 10), ("a constant parameter", 9, 7),
                       ("means far larger than the spread", 10, 5), ("means far smaller than the spread", 10, 5),
                       ("mixed signs and scales", 25, 12), ("three samples", 3, 4)):
        scale = rng.uniform(0.2, 3.0, P)
        mean = rng.standard_normal(P)
        if kind == "negative means":
            mean = -np.abs(mean) - 0.2
        elif kind == "means far larger than the spread":
            mean, scale = 100 * np.sign(mean + 1e-3), scale * 1e-2
        elif kind == "means far smaller than the spread":
            mean = 1e-3 * mean
        elif kind == "mixed signs and scales":
            mean, scale = mean * 10.0 ** rng.integers(-3, 3, P), scale * 10.0 ** rng.integers(-2, 2, P)
        samples = _float32_summable(mean + scale * rng.standard_normal((S, P)))
        if kind == "a constant parameter":    # nonzero (c / 0 is infinite), exact in float32: its std is exactly 0
            samples[:, int(rng.integers(0, P))] = rng.choice([-1, 1]) * int(rng.integers(1, 9)) / 4
        fixtures.append(Fixture(f"{kind}: S={S}, P={P}", dict(samples=samples)))
    return fixtures


# Largest stable step:
#   g^T H g, |g|^2 and tr(H) of a general Hessian   ill-conditioned, diagonal and random Hessians (the isotropic
#                                                 shortcut, P times the largest eigenvalue, the Frobenius norm)
#   the (1 + 1/K) and the 1/K of the noise        K = 1 and K from 2 to 200 (noise not over K, the trace term not
#                                                 over K, g g^T missing or twice)
#   the signal term g^T H g                       one parameter with many perturbations, gradients along the
#                                                 sharpest and the flattest direction
#   tr(H), the sum over P directions              P = 1 and P up to 40 (the mean eigenvalue)
#   |g|^2, not |g|; |g|^2 times tr(H)             a tiny and a large gradient
#   the factor 2, the sign                        every kind
def _stable_hidden(rng):
    fixtures = []
    for kind, P, K in (("one parameter", 1, 1), ("one parameter, many perturbations", 1, 40),
                       ("one perturbation", 6, 1), ("many perturbations", 6, 200), ("many parameters", 40, 3),
                       ("an ill-conditioned Hessian", 8, 4), ("a diagonal Hessian", 10, 2),
                       ("an isotropic Hessian", 7, 5), ("a gradient along the sharpest direction", 5, 3),
                       ("a gradient along the flattest direction", 5, 3), ("a tiny gradient", 9, 2),
                       ("a large gradient", 9, 2)):
        A = rng.standard_normal((P, P))
        H = A @ A.T / P + np.diag(rng.uniform(0.1, 3.0, P))
        if kind == "an ill-conditioned Hessian":
            Q, _ = np.linalg.qr(rng.standard_normal((P, P)))
            H = Q @ np.diag(np.logspace(-3, 2, P)) @ Q.T
        elif kind == "a diagonal Hessian":
            H = np.diag(rng.uniform(0.05, 5.0, P))
        elif kind == "an isotropic Hessian":
            H = rng.uniform(0.5, 3.0) * np.eye(P)
        g = rng.standard_normal(P) * rng.uniform(0.2, 3.0, P)
        if kind.startswith("a gradient along"):
            values, vectors = np.linalg.eigh(H)
            g = vectors[:, -1 if "sharpest" in kind else 0] * rng.uniform(0.5, 2.0) * rng.choice([-1, 1])
        elif kind == "a tiny gradient":
            g *= 1e-6
        elif kind == "a large gradient":
            g *= 1e4
        fixtures.append(Fixture(f"{kind}: P={P}, K={K}", dict(gradient=g, hessian=(H + H.T) / 2, num_samples=K)))
    return fixtures


_HIDDEN = {"perturbation.weight_perturbation": _wp_hidden, "perturbation.node_perturbation": _np_hidden,
           "perturbation.gradient_snr": _snr_hidden, "perturbation.stable_step": _stable_hidden}
EXERCISES = tuple(dataclasses.replace(e, hidden=_HIDDEN[e.id]) for e in EXERCISES)
