"""Tutorial 01, perturbation learning: NumPy references (float64), in the order of the tutorial.

A perturbation rule never computes a derivative. It nudges the network at random, watches how the
loss changes, and credits the nudge with that change:

    weight perturbation (WP):  dL/dW ~ E[(L(W + Psi) - L(W)) Psi] / sigma^2,     Psi ~ N(0, sigma^2)
    node perturbation (NP):    dL_n/dz ~ (L_n(z + xi) - L_n(z)) xi / sigma^2,     xi ~ N(0, sigma^2)
                               dL/dW = 1/N sum_n (dL_n/dz_n) outer input_n  (one matrix product)

Both are unbiased to first order in sigma; NP perturbs N*(H + C) numbers instead of every weight,
so its estimate is far less noisy. Symbols and conventions: see course_utils.mlp. Every random
sample is an argument, so the functions are pure and gradable.
"""
from __future__ import annotations

import numpy as np

from .metrics import cosine_similarity
from .metrics import gradient_snr as _gradient_snr      # the shared measure; gradient_snr below names it
from .mlp import forward, layer_gradients, mse_loss, num_layers, per_example_loss


def weight_perturbation_gradient(params, x, y, perturbations, sigma, activation="sigmoid"):
    """Exercise perturbation.weight_perturbation: the weight-perturbation gradient estimate.

    Arguments:
        params: {"W1": (H, D), "b1": (H,), "W2": (C, H), "b2": (C,)} (any depth works).
        x: (N, D) inputs. y: (N, C) one-hot targets.
        perturbations: dict with the keys of params, each (K, *shape): K draws of Psi, every entry
            ~ N(0, sigma^2) (already scaled by sigma).
        sigma: the standard deviation of the perturbations.
        activation: "sigmoid" or "relu".
    Returns:
        dict with the keys of params: the mean over the K draws of
        (L(theta + Psi_k) - L(theta)) Psi_k / sigma^2, where L is the batch loss (mse_loss).
    """
    loss_clean = mse_loss(forward(params, x, activation)["y_hat"], y)
    num_samples = next(iter(perturbations.values())).shape[0]
    estimate = {name: np.zeros_like(value, dtype=np.float64) for name, value in params.items()}
    for k in range(num_samples):
        perturbed = {name: params[name] + perturbations[name][k] for name in params}
        loss_change = mse_loss(forward(perturbed, x, activation)["y_hat"], y) - loss_clean
        for name in params:
            estimate[name] += loss_change * perturbations[name][k] / sigma**2
    return {name: value / num_samples for name, value in estimate.items()}


def node_perturbation_gradient(params, x, y, node_noise, sigma, activation="sigmoid"):
    """Exercise perturbation.node_perturbation: the node-perturbation gradient estimate.

    Arguments:
        params, x, y, activation: as in weight_perturbation_gradient.
        node_noise: {"z1": (N, H), "z2": (N, C)} (one entry per layer): xi, added to each layer's
            pre-activation, every entry ~ N(0, sigma^2).
        sigma: the standard deviation of the noise.
    Returns:
        dict with the keys of params. For each layer l, with clean input h_{l-1} (N, in):
            g_n = (L_n(noisy) - L_n(clean)) xi_{l,n} / sigma^2      (N, out), per example n
            dL/dW_l = 1/N g^T @ h_{l-1},   dL/db_l = 1/N sum_n g_n
        where L_n is example n's loss (per_example_loss). One clean and one noisy forward pass,
        and a matrix product per layer: no (out x in x N) tensor is ever built.
    """
    clean = forward(params, x, activation)
    noisy = forward(params, x, activation, node_noise=node_noise)
    loss_change = per_example_loss(noisy["y_hat"], y) - per_example_loss(clean["y_hat"], y)  # (N,)
    grads = {}
    for l in range(1, num_layers(params) + 1):
        delta = loss_change[:, None] * node_noise[f"z{l}"] / sigma**2 / x.shape[0]
        grads[f"W{l}"], grads[f"b{l}"] = layer_gradients(delta, clean["inputs"][l - 1])
    return {k: grads[k] for k in params}


def gradient_snr(samples):
    """Exercise perturbation.gradient_snr: the signal-to-noise ratio of a gradient estimator.

    Arguments:
        samples: (S, P): S independent estimates (one per example, or per noise draw) of a
            P-parameter gradient, one per row.
    Returns:
        float: the mean over parameters of |mean_s| / std_s (std with ddof=0, across the S rows).
        Parameters whose std is exactly 0 (always-off input pixels, for instance) carry no signal
        and are left out of the mean.

    The computation is the course's shared measure, course_utils.metrics.gradient_snr (written once,
    there); this is its name in tutorial 01.
    """
    return _gradient_snr(samples)


# ----------------------------------------------------------------------------------------------
# Sampling the noise, and per-example estimates for the SNR measurement (not exercises).

def sample_weight_perturbations(rng, params, sigma, num_samples=1):
    """K draws of Psi ~ N(0, sigma^2) for every parameter: {name: (K, *shape)}."""
    return {name: sigma * rng.standard_normal((num_samples, *value.shape))
            for name, value in params.items()}


def sample_node_noise(rng, params, batch_size, sigma):
    """xi ~ N(0, sigma^2) for every layer's pre-activation: {"z1": (N, H), ..., "zL": (N, C)}."""
    return {f"z{l}": sigma * rng.standard_normal((batch_size, params[f"b{l}"].shape[0]))
            for l in range(1, num_layers(params) + 1)}


def flatten(grads) -> np.ndarray:
    """A gradient dict -> one vector (P,), in the order of its keys."""
    return np.concatenate([np.ravel(v) for v in grads.values()])


def per_example_estimates(method, params, x, y, rng, sigma=1e-3, activation="sigmoid",
                          keep=("W2", "b2"), progress=False):
    """(S, P) gradient estimates, one per example (S = N), each from its own noise draw.

    method: "backprop", "weight_perturbation" or "node_perturbation". keep: the parameters whose
    entries form the P columns (default: the output layer, so that thousands of rows stay small;
    every parameter is still perturbed). The rows are what gradient_snr measures: backprop's vary
    only with the example, the perturbation rules' also with the noise. progress: a progress bar
    over the examples.
    """
    from .mlp import backprop_gradients
    from .progress import progress_bar
    rows = []
    for n in progress_bar(range(x.shape[0]), desc=method.replace("_", " "), disable=not progress,
                          unit="example"):
        xn, yn = x[n:n + 1], y[n:n + 1]
        if method == "backprop":
            g = backprop_gradients(params, xn, yn, activation)
        elif method == "weight_perturbation":
            g = weight_perturbation_gradient(
                params, xn, yn, sample_weight_perturbations(rng, params, sigma), sigma, activation)
        elif method == "node_perturbation":
            g = node_perturbation_gradient(
                params, xn, yn, sample_node_noise(rng, params, 1, sigma), sigma, activation)
        else:
            raise ValueError(f"unknown method {method!r}")
        rows.append(flatten({k: g[k] for k in keep}))
    return np.stack(rows)


def snr_noise_floor(num_samples: int) -> float:
    """The SNR that pure noise shows with S samples: E|mean| / std = sqrt(2 / (pi S)).

    A measured SNR near this floor says only "no detectable signal with this many samples"."""
    return float(np.sqrt(2.0 / (np.pi * num_samples)))


# ----------------------------------------------------------------------------------------------
# The registered rules (course_utils.rules): estimate, then an SGD step.

def _backprop(params, x, y, rng, cfg):
    from .mlp import backprop_gradients, loss
    return backprop_gradients(params, x, y, cfg["activation"]), loss(params, x, y, cfg["activation"])


def _weight_perturbation(params, x, y, rng, cfg):
    from .mlp import loss
    psi = sample_weight_perturbations(rng, params, cfg["sigma"], cfg["perturbations"])
    grads = weight_perturbation_gradient(params, x, y, psi, cfg["sigma"], cfg["activation"])
    return grads, loss(params, x, y, cfg["activation"])


def _node_perturbation(params, x, y, rng, cfg):
    from .mlp import loss
    xi = sample_node_noise(rng, params, x.shape[0], cfg["sigma"])
    grads = node_perturbation_gradient(params, x, y, xi, cfg["sigma"], cfg["activation"])
    return grads, loss(params, x, y, cfg["activation"])


def _make_rules():
    from .mlp import init_mlp, predict
    from .training import numpy_gradient_backend
    return [numpy_gradient_backend(f, init_mlp, predict)
            for f in (_backprop, _weight_perturbation, _node_perturbation)]


BACKPROP, WEIGHT_PERTURBATION, NODE_PERTURBATION = _make_rules()


# ----------------------------------------------------------------------------------------------
# Measurements for the figures and the widget.

def averaged_estimate(method, params, x, y, sigma, num_samples, rng, activation="sigmoid", bar=None):
    """The estimate averaged over ``num_samples`` independent noise draws (K), as a gradient dict.

    bar: an optional progress bar (course_utils.progress), advanced by one per noise draw."""
    if method == "weight_perturbation":
        psi = sample_weight_perturbations(rng, params, sigma, num_samples)
        estimate = weight_perturbation_gradient(params, x, y, psi, sigma, activation)
        if bar is not None:
            bar.update(num_samples)
        return estimate
    if method == "node_perturbation":
        total = None
        for _ in range(num_samples):
            g = node_perturbation_gradient(params, x, y, sample_node_noise(rng, params, len(x), sigma),
                                           sigma, activation)
            total = g if total is None else {k: total[k] + g[k] for k in g}
            if bar is not None:
                bar.update(1)
        return {k: v / num_samples for k, v in total.items()}
    raise ValueError(f"unknown method {method!r}")


def cosine_vs_samples(method, params, x, y, sigma, sample_counts, rng, activation="sigmoid", progress=False):
    """Cosine similarity to the backprop gradient of the K-sample average, for each K.

    progress: a progress bar over all the noise draws (the sum of sample_counts)."""
    from .mlp import backprop_gradients
    from .progress import progress_bar
    true = backprop_gradients(params, x, y, activation)
    with progress_bar(total=int(sum(sample_counts)), desc=method.replace("_", " "), disable=not progress,
                      unit="draw") as bar:
        return [cosine_similarity(averaged_estimate(method, params, x, y, sigma, k, rng, activation, bar), true)
                for k in sample_counts]


def single_estimate_alignment(method, params, x, y, sigma, rng, draws=20, keep=None,
                              activation="sigmoid"):
    """Mean over ``draws`` noise draws of the cosine similarity between ONE estimate (K = 1) and
    the backprop gradient, over the parameters in ``keep`` (default: all). For weight perturbation
    it is about sqrt(2 / (pi P)) for P perturbed parameters: it falls as the network grows."""
    from .mlp import backprop_gradients
    keep = keep or tuple(params)
    true = backprop_gradients(params, x, y, activation)
    cosines = [cosine_similarity({k: g[k] for k in keep}, {k: true[k] for k in keep})
               for g in (averaged_estimate(method, params, x, y, sigma, 1, rng, activation)
                         for _ in range(draws))]
    return float(np.mean(cosines))


def cosine_vs_sigma(method, params, x, y, sigmas, num_samples, seed=0, dtype=np.float64, activation="sigmoid"):
    """Cosine similarity to the float64 backprop gradient of the ``num_samples``-sample estimate, for each
    sigma in ``sigmas``. The same standard-normal draws (from ``seed``) are scaled by each sigma, so only
    sigma changes; params, data, noise and the estimate are computed in ``dtype``.

    Large sigma shows the bias of the first-order approximation (it grows as sigma^2); small sigma in
    float32 shows rounding (a loss change of size ~sigma drowns in the loss's rounding error, ~1e-7
    relative in float32, ~1e-16 in float64). Returns a list of floats, one per sigma.
    """
    from .mlp import backprop_gradients
    true = backprop_gradients(params, x, y, activation)
    cast = {k: np.asarray(v, dtype=dtype) for k, v in params.items()}
    xd, yd = np.asarray(x, dtype=dtype), np.asarray(y, dtype=dtype)
    cosines = []
    for sigma in sigmas:
        rng = np.random.default_rng(seed)
        s = dtype(sigma)
        if method == "weight_perturbation":
            psi = {k: (v * s).astype(dtype) for k, v in sample_weight_perturbations(rng, params, 1.0, num_samples).items()}
            estimate = weight_perturbation_gradient(cast, xd, yd, psi, s, activation)
        elif method == "node_perturbation":
            total = None
            for _ in range(num_samples):
                xi = {k: (v * s).astype(dtype) for k, v in sample_node_noise(rng, params, len(x), 1.0).items()}
                g = node_perturbation_gradient(cast, xd, yd, xi, s, activation)
                total = g if total is None else {k: total[k] + g[k] for k in g}
            estimate = total
        else:
            raise ValueError(f"unknown method {method!r}")
        cosines.append(cosine_similarity({k: np.asarray(v, dtype=np.float64) for k, v in estimate.items()}, true))
    return cosines


# ----------------------------------------------------------------------------------------------
# How large a step? Weight perturbation on a quadratic loss (after Werfel, Xie and Seung 2005).
#
# Near a minimum every loss is a quadratic, L(w) = 1/2 w^T H w, with gradient g = H w. One step
# w <- w - eta ghat with the K-sample weight-perturbation estimate ghat (first-order, Gaussian Psi):
#     E[ghat] = g,   E[ghat ghat^T] = g g^T + (|g|^2 I + g g^T) / K,
#     E[Delta L] = -eta |g|^2 + eta^2 / 2 * (g^T H g (1 + 1/K) + |g|^2 tr(H) / K).
# The loss falls on average only while eta < eta_max (below). For H = lambda I in P dimensions and
# K = 1, eta_max = 2 / (lambda (P + 2)): the largest stable step falls as 1/P; backprop's is 2 / lambda.

def largest_stable_step(gradient, hessian, num_samples):
    """Exercise perturbation.stable_step: the largest learning rate at which one weight-perturbation
    step lowers a quadratic loss on average.

    Arguments:
        gradient: (P,) the gradient g at the current weights.
        hessian: (P, P) the Hessian H of the quadratic loss (symmetric, positive definite).
        num_samples: K >= 1, the number of perturbations averaged in the estimate.
    Returns:
        float: eta_max = 2 |g|^2 / (g^T H g (1 + 1/K) + |g|^2 tr(H) / K).
    """
    g = np.asarray(gradient, dtype=np.float64)
    H = np.asarray(hessian, dtype=np.float64)
    g2 = g @ g
    return float(2.0 * g2 / ((g @ H @ g) * (1.0 + 1.0 / num_samples) + g2 * np.trace(H) / num_samples))


def quadratic_perturbation_runs(num_params, learning_rates, curvature=1.0, steps=100, runs=50, seed=0):
    """Weight perturbation (K = 1, exact first order) on L(w) = curvature / 2 |w|^2 in ``num_params``
    dimensions, from |w_0| = 1, at each learning rate: the mean over ``runs`` of L(w_steps) / L(w_0).

    Returns an array (len(learning_rates),). Below eta_max = 2 / (curvature (P + 2)) the expected
    loss falls by the factor 1 - 2 eta curvature + eta^2 curvature^2 (P + 2) per step; above, it grows.
    """
    rng = np.random.default_rng(seed)
    eta = np.asarray(learning_rates, dtype=np.float64)[:, None, None]       # (E, 1, 1)
    w = rng.standard_normal((len(learning_rates), runs, num_params))
    w /= np.linalg.norm(w, axis=-1, keepdims=True)
    start = 0.5 * curvature * np.sum(w**2, axis=-1)
    for _ in range(steps):
        g = curvature * w
        psi = rng.standard_normal(w.shape)                                   # Psi / sigma
        estimate = np.sum(g * psi, axis=-1, keepdims=True) * psi             # (g . Psi) Psi / sigma^2
        w = w - eta * estimate
    final = 0.5 * curvature * np.sum(w**2, axis=-1)
    return np.mean(final / start, axis=1)


def network_step_limits(params, x, y, rng, probes=30, eps=1e-4, activation="sigmoid"):
    """The quadratic step limits of the network's batch loss at ``params``, from its local curvature.

    Curvature from Hessian-vector products by central differences of backprop gradients,
    H v ~ (g(theta + eps v) - g(theta - eps v)) / (2 eps); tr(H) by Hutchinson's estimate, the mean of
    v^T H v over ``probes`` standard-normal v. Returns a dict: "grad_sq" |g|^2, "gHg" g^T H g, "trace"
    tr(H), "backprop" the limit 2 |g|^2 / g^T H g of an exact gradient step, "weight_perturbation"
    largest_stable_step for K = 1, and "effective_dimension" tr(H) |g|^2 / g^T H g (P when H = lambda I).
    """
    from .mlp import backprop_gradients
    keys = list(params)

    def gradient(shift):
        return flatten(backprop_gradients({k: params[k] + shift[k] for k in keys}, x, y, activation))

    def unflatten(v):
        out, i = {}, 0
        for k in keys:
            out[k] = v[i:i + params[k].size].reshape(params[k].shape)
            i += params[k].size
        return out

    def hvp(v):
        step = unflatten(eps * v)
        return (gradient(step) - gradient({k: -s for k, s in step.items()})) / (2 * eps)

    g = gradient({k: 0.0 for k in keys})
    g2, gHg = float(g @ g), float(g @ hvp(g))
    trace = float(np.mean([v @ hvp(v) for v in rng.standard_normal((probes, g.size))]))
    return {"grad_sq": g2, "gHg": gHg, "trace": trace, "backprop": 2 * g2 / gHg,
            "weight_perturbation": 2 * g2 / (2 * gHg + g2 * trace), "effective_dimension": trace * g2 / gHg}


def measured_step_limit(num_params, learning_rates, curvature=1.0, steps=20, runs=200, seed=0):
    """The largest of ``learning_rates`` (sorted increasing) at which weight perturbation's mean loss
    still falls on L = curvature / 2 |w|^2 in ``num_params`` dimensions (quadratic_perturbation_runs)."""
    ratios = quadratic_perturbation_runs(num_params, learning_rates, curvature, steps, runs, seed)
    stable = np.asarray(learning_rates)[ratios < 1.0]
    return float(stable.max()) if stable.size else float("nan")
