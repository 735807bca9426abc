"""Tutorial 01 (perturbation learning): fixtures and known mistakes for its three exercises."""
from __future__ import annotations

import dataclasses

import numpy as np

from course_utils import perturbation as ref
from course_utils.mlp import forward, init_mlp, mse_loss, num_layers, per_example_loss

from ..core import Exercise, Fixture, Mistake, variant

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

def _wp_variant(params, x, y, perturbations, sigma, activation="sigmoid", *, power=2,
                reduce="mean", baseline=True, biases=True):
    loss_clean = mse_loss(forward(params, x, activation)["y_hat"], y) if baseline else 0.0
    K = next(iter(perturbations.values())).shape[0]
    out = {k: np.zeros_like(v) for k, v in params.items()}
    for k in range(K):
        change = mse_loss(forward({n: params[n] + perturbations[n][k] for n in params}, x,
                                  activation)["y_hat"], y) - loss_clean
        for n in params:
            out[n] += change * perturbations[n][k] / sigma**power
    out = {n: v / (K if reduce == "mean" else 1) for n, v in out.items()}
    if not biases:
        out = {n: (np.zeros_like(v) if n.startswith("b") else v) for n, v in out.items()}
    return out


def _np_variant(params, x, y, node_noise, sigma, activation="sigmoid", *, power=2,
                reduce="mean", noisy_input=False, batch_loss=False, biases=True):
    clean = forward(params, x, activation)
    noisy = forward(params, x, activation, node_noise=node_noise)
    change = per_example_loss(noisy["y_hat"], y) - per_example_loss(clean["y_hat"], y)
    if batch_loss:
        change = np.full_like(change, change.mean())
    n = x.shape[0] if reduce == "mean" else 1
    source = noisy if noisy_input else clean
    out = {}
    for l in range(1, num_layers(params) + 1):
        g = change[:, None] * node_noise[f"z{l}"] / sigma**power / n
        out[f"W{l}"] = g.T @ source["inputs"][l - 1]
        out[f"b{l}"] = g.sum(0) if biases else np.zeros(g.shape[1])
    return {k: out[k] for k in params}


def _snr_variant(samples, *, absolute=True, ddof=0, axis=0, ratio_of_means=False, mask=True):
    s = np.asarray(samples, dtype=np.float64)
    mean, std = s.mean(axis=axis), s.std(axis=axis, ddof=ddof)
    used = std > 0 if mask else np.ones(std.shape, dtype=bool)
    m = np.abs(mean[used]) if absolute else mean[used]
    if ratio_of_means:
        return float(np.mean(m) / np.mean(std[used]))
    return float(np.mean(m / std[used]))



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


def _stable_variant(gradient, hessian, num_samples, *, factor=2.0, per_k=True, outer=True, noise=True,
                    trace="trace"):
    g, H = np.asarray(gradient, dtype=np.float64), np.asarray(hessian, dtype=np.float64)
    K = num_samples if per_k else 1
    g2, gHg = g @ g, g @ H @ g
    tr = np.trace(H) if trace == "trace" else len(g) * np.max(np.linalg.eigvalsh(H))
    if not noise:
        return float(factor * g2 / gHg)
    return float(factor * g2 / (gHg * (1.0 + (1.0 / K if outer else 0.0)) + g2 * tr / K))


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
                    "Psi already carries one factor sigma; divide by sigma**2",
                    variant(_wp_variant, power=1)),
            Mistake("sum instead of mean over the K perturbations",
                    "average over the K samples (divide by K)", variant(_wp_variant, reduce="sum")),
            Mistake("missing baseline", "subtract the unperturbed loss L(W) from each perturbed loss",
                    variant(_wp_variant, baseline=False)),
            Mistake("missing bias", "perturb and estimate the biases too (b1, b2)",
                    variant(_wp_variant, biases=False)),
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
            Mistake("wrong sign", "use L_n(noisy) - L_n(clean), not the other way round",
                    lambda **kw: {k: -v for k, v in ref.node_perturbation_gradient(**kw).items()}),
            Mistake("sum instead of mean over the batch",
                    "divide the summed outer products by the batch size N",
                    variant(_np_variant, reduce="sum")),
            Mistake("divided by sigma instead of sigma^2", "xi already carries one factor sigma; "
                    "divide by sigma**2", variant(_np_variant, power=1)),
            Mistake("noisy layer input", "the outer product uses the clean input of each layer "
                    "(clean['inputs']), not the noisy pass's", variant(_np_variant, noisy_input=True)),
            Mistake("batch loss instead of each example's loss",
                    "credit each example's noise with its own loss change (per_example_loss)",
                    variant(_np_variant, batch_loss=True)),
            Mistake("missing bias", "the bias estimate is the batch mean of the per-example terms",
                    variant(_np_variant, biases=False)),
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
                    "much signal as a positive one", variant(_snr_variant, absolute=False)),
            Mistake("std with ddof=1", "use the population std (np.std's default ddof=0)",
                    variant(_snr_variant, ddof=1)),
            Mistake("wrong axis", "rows are samples: take the mean and std over axis 0 "
                    "(across samples), one value per parameter", variant(_snr_variant, axis=1)),
            Mistake("ratio of means", "average the per-parameter ratios |mean|/std, not the "
                    "means separately", variant(_snr_variant, ratio_of_means=True)),
            Mistake("no std > 0 mask", "a parameter that never changes has std 0, and 0/0 is NaN: "
                    "average only over the parameters whose std is > 0", variant(_snr_variant, mask=False)),
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
            Mistake("backprop's limit", "the estimate is noisy: its second moment adds (|g|^2 I + g g^T) / K "
                    "to g g^T, and that extra term is what limits the step", variant(_stable_variant, noise=False)),
            Mistake("noise not divided by K", "averaging K perturbations divides the noise part of the second "
                    "moment, (|g|^2 I + g g^T), by K", variant(_stable_variant, per_k=False)),
            Mistake("missing g g^T term of the noise", "for Gaussian Psi, E[(g.Psi)^2 Psi Psi^T] / sigma^4 = "
                    "|g|^2 I + 2 g g^T: the noise adds g g^T / K as well as |g|^2 I / K",
                    variant(_stable_variant, outer=False)),
            Mistake("missing factor 2", "E[Delta L] = -eta |g|^2 + eta^2 / 2 (...) is zero at eta = 2 |g|^2 / (...)",
                    variant(_stable_variant, factor=1.0)),
            Mistake("largest eigenvalue instead of the trace", "the noise spreads over every direction: "
                    "its cost is |g|^2 tr(H) / K, the sum of H's eigenvalues, not P times the largest",
                    variant(_stable_variant, trace="eig")),
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


def _wp_hidden(rng):
    fixtures = []
    for kind, D, H, C, N, act, scale in _network_kinds(rng):
        for K in (1, int(rng.integers(2, 6))):
            params, x, y = _random_problem(rng, D, H, C, N, act, scale)
            sigma = float(rng.choice([0.1, 0.3, 1.0]))     # (smaller sigmas would test float32's rounding)
            psi = ref.sample_weight_perturbations(rng, params, sigma, K)
            fixtures.append(Fixture(f"{kind}, {act}, K={K}, D={D}, H={H}, C={C}, N={N}",
                                    dict(params=params, x=x, y=y, perturbations=psi, sigma=sigma, activation=act)))
    return fixtures


def _np_hidden(rng):
    fixtures = []
    for kind, D, H, C, N, act, scale in _network_kinds(rng):
        for sigma in (0.1, 1.0):                             # (smaller sigmas would test float32's rounding)
            params, x, y = _random_problem(rng, D, H, C, N, act, scale)
            xi = ref.sample_node_noise(rng, params, N, sigma)
            fixtures.append(Fixture(f"{kind}, {act}, sigma={sigma:g}, D={D}, H={H}, C={C}, N={N}",
                                    dict(params=params, x=x, y=y, node_noise=xi, sigma=sigma, activation=act)))
    return fixtures


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
        samples = mean + scale * rng.standard_normal((S, P))
        if kind == "a constant parameter":    # a value exact in float32, so that its std is exactly 0
            samples[:, int(rng.integers(0, P))] = int(rng.integers(-8, 9)) / 4
        fixtures.append(Fixture(f"{kind}: S={S}, P={P}", dict(samples=samples)))
    return fixtures


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
