"""Tutorial 06, every rule on one map: the measurements the synthesis notebook plots, and its figures.

Each rule of the course estimates a gradient and pays for something it does not need. The map puts
the price of each on two axes, measured the same way for every rule, at the same minibatch size
(MAP_BATCH) and at shared checkpoints of training (course_utils.synthesis_study):

    bias      the cosine between the rule's expected update m = E[u] and the expected true gradient
              mu = E[g] (1 = the gradient's direction)
    variance  the signal-to-noise ratio of ONE update, |m| / sqrt(E|u - m|^2) (higher = less noise)

where u is the rule's update on a random minibatch (with its own noise draw) and g the true gradient on
the same minibatch (course_utils.jax.synthesis says what both are for each rule). Neither depends on the
number S of samples they are estimated from: the squared norms and the dot product come from sums over
pairs of *different* samples, which the noise does not bias (``_estimates``), so an unbiased rule sits at
cosine 1 whatever S, where the plain cosine of the mean of S updates only climbs towards it as S grows
(that plain cosine, and tutorial 01's per-parameter SNR at S with its floor sqrt(2 / (pi S)), are kept
beside them). Standard errors come from the jackknife over chunks of samples.

A third quantity, the **cost**, is the work of one training step per example, in FLOPs counted from the
rule's structure (``flops_per_example``; ``forward_pass_equivalents`` gives its parts in forward passes of
the rule's own network), with the random numbers it draws beside it and the measured time per example.
Forward-forward has no true gradient of a shared loss (its objective is its own, layer by layer): it is
measured for variance and cost only, and drawn apart. ``PLAUSIBILITY`` lists what each rule needs of a
brain, with one reason per entry, and ``sweep`` / ``accuracy_summary`` give accuracy against training time
with the spread over seeds.

One architecture where the rules allow it: the registered settings (course_utils.rules), i.e. the
784-100-10 sigmoid MLP for backprop, the perturbation rules, feedback alignment and Kolen-Pollack; two
hidden layers for direct feedback alignment (with one, it is feedback alignment); EqProp's own
784-500-10 energy-based network; forward-forward's own 784-500-500 ReLU layers.
"""
from __future__ import annotations

import numpy as np

from .metrics import cosine_similarity

# The rules that estimate the gradient of a loss shared with backprop (they go on the map), and the
# one that optimises an objective of its own (drawn apart).
OWN_OBJECTIVE = ("forward_forward",)


# ----------------------------------------------------------------------------------------------
# The map's coordinates (exercise synthesis.bias_and_snr).

def bias_and_snr(samples, true_gradient):
    """Exercise synthesis.bias_and_snr: a rule's coordinates on the map.

    Arguments:
        samples: (S, P): S updates of the rule (one per row), each an estimate of a P-parameter gradient.
        true_gradient: (P,): the true gradient the updates estimate.
    Returns:
        {"cosine": float, "snr": float}:
            cosine: the cosine similarity between the mean update (mean over the S rows) and
                true_gradient, <m, g> / (||m|| ||g||) with m = mean_s samples[s];
            snr: the gradient SNR of the samples as in tutorial 01: the mean, over the parameters whose
                std across the rows is > 0, of |mean| / std (mean and std across the S rows, ddof=0).
    """
    samples = np.asarray(samples, dtype=np.float64)
    true_gradient = np.asarray(true_gradient, dtype=np.float64)
    mean, std = samples.mean(axis=0), samples.std(axis=0)
    cosine = mean @ true_gradient / (np.linalg.norm(mean) * np.linalg.norm(true_gradient))
    used = std > 0
    return {"cosine": float(cosine), "snr": float(np.mean(np.abs(mean[used]) / std[used]))}


def merge_moments(moments, chunk):
    """Running (count, mean (P,), m2 (P,)) updated with the rows of ``chunk`` (n, P), float64.

    m2 is the sum of squared deviations from the mean (Chan, Golub and LeVeque's pairwise update), so
    that std = sqrt(m2 / count) without ever holding all the samples. moments: None to start."""
    chunk = np.asarray(chunk, dtype=np.float64)
    n_b, mean_b = len(chunk), chunk.mean(axis=0)
    m2_b = ((chunk - mean_b) ** 2).sum(axis=0)
    if moments is None:
        return n_b, mean_b, m2_b
    n_a, mean_a, m2_a = moments
    n = n_a + n_b
    delta = mean_b - mean_a
    return n, mean_a + delta * (n_b / n), m2_a + m2_b + delta**2 * (n_a * n_b / n)


def snr_from_moments(count, mean, m2):
    """The gradient SNR (as bias_and_snr) from running moments: mean over std > 0 of |mean| / std."""
    std = np.sqrt(m2 / count)
    used = std > 0
    return float(np.mean(np.abs(mean[used]) / std[used]))


# ----------------------------------------------------------------------------------------------
# Sampling each rule's updates on many minibatches, and measuring it.

MAP_BATCH = 16          # the map takes every rule's updates on minibatches of this size (one size for all)


def _minibatch_indices(n, batch_size, count, rng):
    """(count, N) positions in a training set of n examples: each minibatch drawn without replacement."""
    return np.stack([rng.choice(n, size=batch_size, replace=False) for _ in range(count)]).astype(np.int32)


def _minibatches(data, batch_size, count, rng):
    """(count, N, D) inputs, (count, N, C) one-hot targets and (count, N) positions in the training set."""
    from .data import one_hot
    idx = _minibatch_indices(len(data.x_train), batch_size, count, rng)
    x = data.x_train[idx].astype(np.float32)
    return x, one_hot(data.y_train[idx.ravel()]).reshape(count, batch_size, -1).astype(np.float32), idx


_SAMPLERS: dict = {}


def _compiled(kind, rule, cfg):
    """course_utils.jax.synthesis's update_function or moments_function, one per rule and settings."""
    from .jax import synthesis as jsyn
    key = (kind, rule, repr(sorted(cfg.items())))
    if key not in _SAMPLERS:
        _SAMPLERS[key] = (jsyn.update_function if kind == "updates" else jsyn.moments_function)(rule, cfg)
    return _SAMPLERS[key]


def _config(rule, cfg, batch_size=None):
    from .registry import get_rule
    cfg = dict(cfg or get_rule(rule).config())
    if batch_size is not None:
        cfg["batch_size"] = int(batch_size)
    return cfg


def update_chunks(rule, state, data, cfg=None, samples=64, chunk=16, seed=0, batch_size=None):
    """Yield the rule's updates and the true gradients in chunks: (updates (n, P), true (n, P) or None),
    float64, ``samples`` rows in all, each on its own minibatch (of ``batch_size`` examples, default the
    rule's own) with its own noise (course_utils.jax.synthesis.update_function). state: one seed's."""
    import jax

    cfg = _config(rule, cfg, batch_size)
    sampler = _compiled("updates", rule, cfg)
    rng = np.random.default_rng(seed)
    keys = jax.random.split(jax.random.PRNGKey(seed), samples)
    for start in range(0, samples, chunk):
        n = min(chunk, samples - start)
        xs, ys, idx = _minibatches(data, cfg["batch_size"], n, rng)
        if n < chunk:   # one compiled shape: pad the last chunk and drop the padding
            pad = chunk - n
            xs, ys, idx = np.concatenate([xs, xs[:pad]]), np.concatenate([ys, ys[:pad]]), np.concatenate([idx, idx[:pad]])
            chunk_keys = np.concatenate([np.asarray(keys[start:]), np.asarray(keys[:pad])])
        else:
            chunk_keys = keys[start:start + n]
        updates, true = sampler(state, xs, ys, chunk_keys, idx)
        yield (np.asarray(updates, dtype=np.float64)[:n],
               None if true is None else np.asarray(true, dtype=np.float64)[:n])


def rule_samples(rule, state, data, cfg=None, samples=64, chunk=16, seed=0, batch_size=None):
    """All of a rule's samples at once: (updates (S, P), true (S, P) or None). For small S (the exercise)."""
    parts = list(update_chunks(rule, state, data, cfg, samples, chunk, seed, batch_size))
    updates = np.concatenate([u for u, _ in parts])
    true = None if parts[0][1] is None else np.concatenate([t for _, t in parts])
    return updates, true


def sample_sums(rule, state, data, cfg=None, samples=256, chunk=16, batch_size=MAP_BATCH, seed=0):
    """The sums that map_coordinates needs, from ``samples`` updates of the rule (each on its own
    minibatch of ``batch_size`` examples, with its own noise), reduced on the device chunk by chunk
    (course_utils.jax.synthesis.moments_function): memory O(P) per chunk, never all the samples.

    Returns {"u": (K, P), "g": (K, P) or None, "u2": (P,), "uu", "gg", "ug": (K, c)} as float64 NumPy
    arrays, K = samples // chunk chunks of c = chunk samples (samples is rounded down to a multiple)."""
    import jax
    import jax.numpy as jnp

    from .data import one_hot
    cfg = _config(rule, cfg, batch_size)
    K = max(samples // chunk, 2)
    rng = np.random.default_rng(seed)
    idx = _minibatch_indices(len(data.x_train), cfg["batch_size"], K * chunk, rng).reshape(K, chunk, -1)
    keys = jax.random.split(jax.random.PRNGKey(seed), K * chunk).reshape(K, chunk, -1)
    x_train = jnp.asarray(data.x_train, jnp.float32)
    y_train = jnp.asarray(one_hot(data.y_train), jnp.float32)
    out = _compiled("moments", rule, cfg)(state, x_train, y_train, jnp.asarray(idx), keys)
    out = {k: np.asarray(v, dtype=np.float64) for k, v in jax.block_until_ready(out).items()}
    if rule in OWN_OBJECTIVE:
        out["g"] = None
    return out


def _estimates(S, U, G, quu, qgg, qug):
    """The map's estimates from S samples' sums (U = sum u, G = sum g, quu = sum |u|^2, ...).

    With m = E[u] and mu = E[g], the sums over pairs of different samples are unbiased:
        |m|^2 ~ (|U|^2 - quu) / (S (S-1)),  m.mu ~ (U.G - qug) / (S (S-1)),  |mu|^2 ~ (|G|^2 - qgg) / (S (S-1))
    and the noise of one update, E|u - m|^2 = tr Cov(u) ~ (quu - |U|^2 / S) / (S - 1). Hence
        cosine = m.mu / (|m| |mu|)        the bias coordinate, whatever S (no noise term left in it)
        snr    = |m| / sqrt(tr Cov(u))    the signal-to-noise ratio of ONE update, whatever S
    (0 when the signal is not resolved: |m|^2's estimate <= 0). Also the plain cosine of the means,
    U.G / (|U| |G|), which grows with S for a noisy rule."""
    pairs = S * (S - 1.0)
    UU = float(U @ U)
    signal2 = (UU - quu) / pairs
    noise2 = max((quu - UU / S) / (S - 1.0), 1e-300)
    out = {"signal": float(np.sqrt(max(signal2, 0.0))), "noise": float(np.sqrt(noise2)),
           "snr": float(np.sqrt(max(signal2, 0.0) / noise2)), "resolved": bool(signal2 > 0)}
    if G is not None:
        GG, UG = float(G @ G), float(U @ G)
        true2, cross = (GG - qgg) / pairs, (UG - qug) / pairs
        out["cosine"] = float(cross / np.sqrt(signal2 * true2)) if signal2 > 0 and true2 > 0 else float("nan")
        out["cosine_plain"] = float(UG / np.sqrt(UU * GG)) if UU > 0 and GG > 0 else float("nan")
        out["true_signal2"], out["true_mean_square"] = float(true2), float(qgg / S)
        # the noise split in two: the rule's own (the spread of u - g, the update around the true gradient of
        # its own minibatch) and the minibatch's (the spread of g); K draws per step divide the first by K
        D, qdd = U - G, quu - 2.0 * qug + qgg
        own2 = max((qdd - float(D @ D) / S) / (S - 1.0), 0.0)
        out["own_noise_share"] = float(min(own2 / noise2, 1.0))
        out["batch_noise_share"] = float(max((qgg - GG / S) / (S - 1.0), 0.0) / noise2)
    return out


def map_coordinates(sums):
    """A rule's place on the map from sample_sums(...): the estimates of _estimates on all S samples,
    with standard errors by the jackknife over the K chunks (each left out in turn), the plain cosine and
    the corrected one after 1, 2, ..., K chunks, and tutorial 01's per-parameter SNR at S with its noise
    floor sqrt(2 / (pi S)) (course_utils.perturbation.snr_noise_floor).

    Returns {"cosine", "cosine_se", "cosine_plain", "snr", "snr_se", "signal", "noise", "resolved",
    "samples", "parameters", "snr_per_parameter", "snr_floor", "by_samples": {"S", "plain", "corrected"}}
    (the cosine entries None for a rule without a true gradient)."""
    U_k, G_k = sums["u"], sums["g"]
    K, c = sums["uu"].shape
    S = K * c
    q = {name: sums[name].sum(axis=1) for name in ("uu", "gg", "ug")}            # (K,) per chunk
    U = U_k.sum(axis=0)
    G = None if G_k is None else G_k.sum(axis=0)
    est = lambda drop=None: _estimates(  # noqa: E731
        S - (0 if drop is None else c), U if drop is None else U - U_k[drop],
        None if G is None else (G if drop is None else G - G_k[drop]),
        *[q[n].sum() - (0.0 if drop is None else q[n][drop]) for n in ("uu", "gg", "ug")])
    whole = est()
    leave_out = [est(k) for k in range(K)]

    def se(name):
        values = np.array([e[name] for e in leave_out], dtype=np.float64)
        values = values[np.isfinite(values)]
        return float(np.sqrt((K - 1) / K * np.sum((values - values.mean()) ** 2))) if values.size > 1 else float("nan")

    mean, m2 = U / S, sums["u2"] - U**2 / S
    out = {**whole, "snr_se": se("snr"), "samples": int(S), "parameters": int(U.size),
           "snr_per_parameter": snr_from_moments(S, mean, np.maximum(m2, 0.0)),
           "snr_floor": float(np.sqrt(2.0 / (np.pi * S)))}
    if G is None:
        out.update(cosine=None, cosine_se=None, cosine_plain=None, by_samples=None)
        return out
    out["cosine_se"] = se("cosine")
    cum = lambda a: np.cumsum(a, axis=0)  # noqa: E731
    Uc, Gc, qc = cum(U_k), cum(G_k), {n: cum(q[n]) for n in q}
    steps = [_estimates((j + 1) * c, Uc[j], Gc[j], qc["uu"][j], qc["gg"][j], qc["ug"][j]) for j in range(K)]
    out["by_samples"] = {"S": [(j + 1) * c for j in range(K)], "plain": [e["cosine_plain"] for e in steps],
                         "corrected": [e["cosine"] for e in steps]}
    return out


def measure_rule(rule, state, data, cfg=None, samples=256, chunk=16, seed=0, batch_size=MAP_BATCH):
    """One rule's place on the map: map_coordinates of ``samples`` updates on minibatches of
    ``batch_size`` (the same for every rule), plus "rule", "batch_size" and "objective" ("shared loss", or
    "own objective" for forward-forward, which has no cosine)."""
    import time
    cfg = _config(rule, cfg, batch_size)
    start = time.perf_counter()
    out = map_coordinates(sample_sums(rule, state, data, cfg, samples, chunk, cfg["batch_size"], seed))
    if rule == "weight_perturbation" and cfg.get("perturbations", 1) == 1:
        out["snr_model"] = weight_perturbation_snr(out["true_signal2"], out["true_mean_square"], out["parameters"])
    return {"rule": rule, "batch_size": int(cfg["batch_size"]), "seconds": time.perf_counter() - start,
            "objective": "own objective" if rule in OWN_OBJECTIVE else "shared loss", **out}


def weight_perturbation_snr(true_signal2, true_mean_square, parameters):
    """Weight perturbation's SNR of one update, predicted from the true gradients alone. To first order in
    sigma its update on minibatch b is u = (g_b . psi) psi / sigma^2 with psi ~ N(0, sigma^2 I_P), so
    E[u] = E[g_b] = mu and E|u|^2 = (P + 2) E|g_b|^2 (Gaussian fourth moments): tr Cov(u) =
    (P + 2) E|g_b|^2 - |mu|^2, and the SNR is |mu| / sqrt(that). true_signal2: |mu|^2's estimate;
    true_mean_square: E|g_b|^2's. About 1 / sqrt(P) at best (all minibatches agree), lower as they disagree."""
    if not true_signal2 > 0:
        return 0.0
    return float(np.sqrt(true_signal2 / ((parameters + 2.0) * true_mean_square - true_signal2)))


def rule_map(states, data, samples=256, chunk=16, seed=0, batch_size=MAP_BATCH, progress=True):
    """measure_rule for every rule of ``states`` ({rule: (state, cfg)}) -> {rule: measurement}.
    samples: one number for all, or {rule: number} (rules left out get 256)."""
    from .progress import progress_bar
    out = {}
    with progress_bar(total=len(states), desc="measuring the map", disable=not progress, unit="rule") as bar:
        for rule, (state, cfg) in states.items():
            bar.set_postfix_str(rule)
            n = samples.get(rule, 256) if isinstance(samples, dict) else samples
            out[rule] = measure_rule(rule, state, data, cfg, n, chunk, seed, batch_size)
            bar.update(1)
        bar.set_postfix_str("")
    return out


# ----------------------------------------------------------------------------------------------
# Cost: the work of one training step, in forward passes of the same minibatch through the same network.

def forward_pass_equivalents(rule, cfg=None) -> dict:
    """The work of one training step of ``rule``, part by part, in units of one forward pass.

    Counted from the rule's structure: the multiply-accumulates of its matrix products, per example,
    divided by those of one forward pass through the rule's own network (sum over layers of in * out).
    Element-wise work (activations, noise, the SGD update) is left out; it is what makes measured time
    differ from this count (drawing 80,000 Gaussian numbers per weight-perturbation step, for one).

    Returns: {part: forward-pass equivalents}; the step's cost is the sum of the values.
    """
    from .registry import get_rule
    cfg = cfg or get_rule(rule).config()
    sizes = tuple(cfg["sizes"])
    per_layer = [fan_in * fan_out for fan_in, fan_out in zip(sizes[:-1], sizes[1:])]
    F = float(sum(per_layer))
    above_first = sum(per_layer[1:]) / F          # the layers above the first (errors, noisy passes)
    if rule in ("backprop", "feedback_alignment", "kolen_pollack"):
        sent_back = "through W^T" if rule == "backprop" else "through B (the shape of W^T)"
        return {"forward pass": 1.0, f"errors sent back {sent_back}": above_first,
                "weight gradients (one outer product per layer)": 1.0}
    if rule == "direct_feedback_alignment":
        C, hidden = sizes[-1], sizes[1:-1]
        return {"forward pass": 1.0, "errors sent from the output, e B_l^T": C * sum(hidden) / F,
                "weight gradients (one outer product per layer)": 1.0}
    if rule == "weight_perturbation":
        return {"clean forward pass": 1.0, "perturbed forward passes": float(cfg["perturbations"])}
    if rule == "node_perturbation":
        return {"clean forward pass": 1.0, "noisy pass above the first layer (x W1^T is shared)": above_first,
                "weight gradients (one outer product per layer)": 1.0}
    if rule == "eqprop":
        steps = cfg["free_steps"] + cfg["nudged_steps"] * (2 if cfg.get("symmetric", False) else 1)
        update = 2.0 if cfg.get("symmetric", False) else (per_layer[0] + 2 * sum(per_layer[1:])) / F
        return {"input drive rho(x) W1^T (once: the input is clamped)": per_layer[0] / F,
                f"{steps} relaxation steps (each layer's product up and down)": steps * 2 * above_first,
                "contrastive update (free and nudged products)": update}
    if rule == "forward_forward":
        from .forward_forward import NUM_CLASSES
        parts = {"positive and negative passes": 2.0}
        if cfg["negatives"] == "hard":
            parts[f"hard negatives: the goodness of all {NUM_CLASSES} labels"] = float(NUM_CLASSES)
        parts["layer-local weight gradients (positive and negative)"] = 2.0
        return parts
    raise ValueError(f"no cost model for rule {rule!r}")


def step_cost(rule, cfg=None) -> float:
    """The total of forward_pass_equivalents: forward-pass equivalents per training step."""
    return float(sum(forward_pass_equivalents(rule, cfg).values()))


def forward_macs(cfg) -> int:
    """Multiply-accumulates of one forward pass of ONE example through the rule's own network."""
    sizes = tuple(cfg["sizes"])
    return int(sum(a * b for a, b in zip(sizes[:-1], sizes[1:])))


def flops_per_example(rule, cfg=None) -> float:
    """The work of a training step per example, in floating-point operations (2 per multiply-accumulate):
    step_cost (forward-pass equivalents of the rule's own network) times 2 forward_macs. One unit for
    every rule, whatever its network: EqProp's 784-500-10 forward pass is 4.9 times the 784-100-10's,
    forward-forward's 784-500-500 8.1 times."""
    from .registry import get_rule
    cfg = cfg or get_rule(rule).config()
    return step_cost(rule, cfg) * 2.0 * forward_macs(cfg)


def random_numbers_per_example(rule, cfg=None) -> float:
    """Gaussian or Bernoulli numbers drawn per example of a training step (element-wise work that the
    FLOP count leaves out): weight perturbation draws one per weight per minibatch (P K / N per example),
    node perturbation one per unit and example, EqProp one sign per minibatch."""
    from .registry import get_rule
    cfg = cfg or get_rule(rule).config()
    sizes, N = tuple(cfg["sizes"]), cfg["batch_size"]
    if rule == "weight_perturbation":
        P = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
        return P * cfg["perturbations"] / N
    if rule == "node_perturbation":
        return float(sum(sizes[1:]))
    if rule == "eqprop":
        return 0.0 if cfg.get("symmetric", False) or not cfg["random_sign"] else 1.0 / N
    return 0.0


def steps_per_epoch(result, n_train: int) -> int:
    return n_train // result.config["batch_size"]


def seconds_per_step(result, n_train: int) -> float:
    """Measured seconds per training step of one network: the median epoch time (of all the seeds
    trained together) divided by the number of seeds and of steps per epoch."""
    return result.seconds_per_epoch / max(len(getattr(result, "seeds", [0]) or [0]), 1) / steps_per_epoch(result, n_train)


# ----------------------------------------------------------------------------------------------
# What each rule needs of a brain (the plausibility table).

NEEDS = {
    "weight_transport": "weight transport: the error sent to a layer is computed with the values of "
                        "another layer's forward weights",
    "symmetric_weights": "symmetric weights: feedback connections equal to (or driven towards) the "
                         "transpose of the forward weights",
    "separate_phase": "a separate phase: learning needs a second pass or phase besides the ordinary "
                      "forward computation on the input",
    "global_scalar": "a global scalar: every synapse needs the same broadcast number to learn",
    "negative_data": "special negative data: inputs made up for learning, besides the real data and "
                     "its targets",
    "clock": "a clock: learning depends on timing, phases switched or dynamics run for a set time",
}

# {rule: {need: (answer, reason)}}; answer is "yes", "no" or "partly". The reasons cite the rules as
# the course writes them (course_utils.perturbation, weight_transport, eqprop, forward_forward).
PLAUSIBILITY = {
    "backprop": {
        "weight_transport": ("yes", "delta_l = (delta_{l+1} W_{l+1}) * act'(z_l) reads W_{l+1}'s values"),
        "symmetric_weights": ("yes", "the backward path uses exactly W^T"),
        "separate_phase": ("yes", "a backward pass, after the forward pass, carries the errors"),
        "global_scalar": ("no", "each unit receives its own error delta_l, a vector"),
        "negative_data": ("no", "real images and their one-hot targets"),
        "clock": ("partly", "each layer must hold its activity until the error comes back to it"),
    },
    "weight_perturbation": {
        "weight_transport": ("no", "no error is sent anywhere: only the loss change is used"),
        "symmetric_weights": ("no", "there is no feedback path"),
        "separate_phase": ("yes", "a clean and a perturbed forward pass, whose losses are compared"),
        "global_scalar": ("yes", "L(W + Psi) - L(W), one number for every weight"),
        "negative_data": ("no", "real images and their targets"),
        "clock": ("partly", "each synapse must keep its perturbation Psi until the loss change arrives"),
    },
    "node_perturbation": {
        "weight_transport": ("no", "no error is sent back: the credit is the loss change times the noise"),
        "symmetric_weights": ("no", "there is no feedback path"),
        "separate_phase": ("yes", "a clean and a noisy forward pass, whose per-example losses are compared"),
        "global_scalar": ("yes", "L_n(noisy) - L_n(clean), one number per example for every unit"),
        "negative_data": ("no", "real images and their targets"),
        "clock": ("partly", "each unit must keep its noise xi until the loss change arrives"),
    },
    "feedback_alignment": {
        "weight_transport": ("no", "the error travels through a fixed random B, never through W^T"),
        "symmetric_weights": ("no", "B is random; W comes to align with it partly, by learning"),
        "separate_phase": ("yes", "a backward pass through B after the forward pass"),
        "global_scalar": ("no", "each unit receives its own error, a vector"),
        "negative_data": ("no", "real images and their targets"),
        "clock": ("partly", "as backprop: activity held until the error comes back"),
    },
    "direct_feedback_alignment": {
        "weight_transport": ("no", "each hidden layer gets e B_l^T straight from the output, B_l random"),
        "symmetric_weights": ("no", "B_l is random and skips the layers in between"),
        "separate_phase": ("yes", "the output error must be broadcast back after the forward pass"),
        "global_scalar": ("no", "the broadcast error e is a vector of C numbers, not one scalar"),
        "negative_data": ("no", "real images and their targets"),
        "clock": ("partly", "activity held until the output error arrives (but no layer waits for another)"),
    },
    "kolen_pollack": {
        "weight_transport": ("no", "B is updated by its own local rule, never copied from W"),
        "symmetric_weights": ("partly", "B -> W^T over training: W - B^T shrinks as (1 - lambda)^t"),
        "separate_phase": ("yes", "a backward pass through B after the forward pass"),
        "global_scalar": ("no", "each unit receives its own error, a vector"),
        "negative_data": ("no", "real images and their targets"),
        "clock": ("partly", "as backprop, and W and B must take their updates at the same steps"),
    },
    "eqprop": {
        "weight_transport": ("partly", "nothing is copied, but the feedback synapse must equal the forward one "
                                       "(one W both ways): tutorial 02's problem moved into the network (tutorial 03)"),
        "symmetric_weights": ("yes", "the energy has one W for both directions: the top-down drive is rho(s_{l+1}) W_{l+1}"),
        "separate_phase": ("yes", "a free and a nudged relaxation, compared by the update"),
        "global_scalar": ("yes", "beta, with its sign, must be known to every synapse: the update is (1/beta) x a difference"),
        "negative_data": ("no", "the target nudges the output; no made-up inputs"),
        "clock": ("yes", "relax for a set number of steps, store the free state, nudge, then compare"),
    },
    "forward_forward": {
        "weight_transport": ("no", "no error leaves a layer: each has its own objective"),
        "symmetric_weights": ("no", "there are no feedback connections at all"),
        "separate_phase": ("yes", "positive and negative passes (Hinton suggests day and night)"),
        "global_scalar": ("yes", "every layer must know whether the input is positive or negative data"),
        "negative_data": ("yes", "images with wrong labels written in; hard ones from the model's own guesses"),
        "clock": ("partly", "positive and negative phases must alternate, or be told apart"),
    },
}


def plausibility_table(rules=None):
    """The table as rows: [{"rule": ..., need: answer, ..., "reasons": {need: reason}}], one per rule
    (default: every registered classifier rule, in registry order)."""
    from .registry import all_rules
    rules = list(rules or all_rules("classifier"))
    missing = [r for r in rules if r not in PLAUSIBILITY]
    if missing:
        raise KeyError(f"no plausibility entries for {missing}: add them to course_utils.synthesis.PLAUSIBILITY")
    return [{"rule": r, **{need: PLAUSIBILITY[r][need][0] for need in NEEDS},
             "reasons": {need: PLAUSIBILITY[r][need][1] for need in NEEDS}} for r in rules]


# ----------------------------------------------------------------------------------------------
# Seed sweeps: accuracy against training time, with the spread over seeds.

def sweep(rules, data, seeds=4, seed=0, progress=True, checkpoints=(), **overrides):
    """Train every rule for ``seeds`` seeds as one program each (course_utils.training.train with
    seeds=S, JAX) -> {rule: TrainResult}. overrides apply to every rule (epochs=..., for one budget).

    checkpoints: epochs (0 = before training) at which seed ``seed``'s state is kept, as
    ``result.checkpoints = {epoch: state}`` (taken by train's monitor, outside the timed part)."""
    from .training import train
    wanted, out = set(int(e) for e in checkpoints), {}
    for rule in rules:
        saved, calls = {}, [0]

        def keep(state, saved=saved, calls=calls):
            epoch, index = divmod(calls[0], int(seeds))   # train calls it per seed, before and after each epoch
            calls[0] += 1
            if index == 0 and epoch in wanted:
                saved[epoch] = state
            return {}
        result = train(rule, data, backend="jax", seed=seed, progress=progress, seeds=seeds,
                       monitor=keep if wanted else None, **overrides)
        result.checkpoints = saved
        out[rule] = result
    return out


def seed_state(result, index=0):
    """One seed's state out of a sweep's stacked state (the leading axis is the seed)."""
    import jax
    return jax.tree_util.tree_map(lambda leaf: leaf[index], result.state)


def initial_state(rule, data, seed=0, cfg=None):
    """The state ``train(rule, data, seed=seed)`` starts from (the same key), without training."""
    import jax

    from .registry import get_rule
    cfg = {**(cfg or get_rule(rule).config()), "train_size": len(data.x_train)}
    _, init_key = jax.random.split(jax.random.PRNGKey(seed))
    return get_rule(rule).backend("jax").init(init_key, cfg), cfg


def accuracy_summary(results, n_train: int):
    """Per rule: the final test accuracy over seeds (mean, standard deviation with ddof=1, min, max, the
    per-seed values), and the cumulative training time per network after each epoch (seconds; the
    sweep's epoch time divided by the number of seeds) with the mean and std of the test accuracy then.

    Returns {rule: {"mean", "std", "min", "max", "per_seed", "epochs", "seconds", "curve_mean",
    "curve_std", "seconds_per_step"}}."""
    out = {}
    for rule, r in results.items():
        seeds = max(len(getattr(r, "seeds", []) or [0]), 1)
        rows = [h for h in r.history if "test_accuracy_per_seed" in h or "test_accuracy" in h]
        per_epoch = [np.asarray(h.get("test_accuracy_per_seed", [h["test_accuracy"]]), dtype=np.float64) for h in rows]
        elapsed = np.cumsum([h["seconds"] for h in r.history]) / seeds
        at = {h["epoch"]: t for h, t in zip(r.history, elapsed)}
        final = per_epoch[-1]
        spread = lambda a: float(a.std(ddof=1)) if a.size > 1 else 0.0  # noqa: E731
        out[rule] = {"mean": float(final.mean()), "std": spread(final), "min": float(final.min()),
                     "max": float(final.max()), "per_seed": final.tolist(),
                     "epochs": [h["epoch"] for h in rows], "seconds": [float(at[h["epoch"]]) for h in rows],
                     "curve_mean": [float(a.mean()) for a in per_epoch], "curve_std": [spread(a) for a in per_epoch],
                     "seconds_per_step": seconds_per_step(r, n_train)}
    return out


# ----------------------------------------------------------------------------------------------
# Figures (in the house style of course_utils.plotting).

def _plain_log_axis(axis):
    """Log-scale ticks written as plain numbers (0.01, 0.1, 1), without minor-tick labels."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter
    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


def _marker_area(flops, reference):
    """Marker area for a cost: 50 points^2 for backprop's FLOPs per example, growing as the square root
    (forward-forward's 56 times the FLOPs is 7.5 times the area, not 56)."""
    return 50.0 * np.sqrt(flops / reference)


def plot_map(summary, epoch=None):
    """The bias-variance map of a study (course_utils.synthesis_study): x the bias coordinate (the cosine
    of the rule's expected update with the true gradient, corrected for the noise of the S samples), y the
    signal-to-noise ratio of one update (log scale), each with +-1 standard error (jackknife); marker area
    the FLOPs per example (square-root scale). A thin line follows each rule from initialisation (small
    open circle) through the study's checkpoints to ``epoch`` (default: the last). Forward-forward has no
    true gradient of a shared loss: it is drawn in a column of its own, on the right."""
    import matplotlib.pyplot as plt

    from .plotting import color, label
    rules = summary["rules"]
    epochs = sorted(int(e) for e in summary["map"][rules[0]])
    last = epochs[-1] if epoch is None else int(epoch)
    shown = [e for e in epochs if e <= last]
    ref = summary["cost"]["backprop"]["flops_per_example"] if "backprop" in summary["cost"] else 1.0
    fig, (ax, ax_own) = plt.subplots(1, 2, figsize=(10.5, 5.2), gridspec_kw={"width_ratios": [5, 1]}, sharey=True)
    snrs, labelled = [], []
    for rule in rules:
        points = [summary["map"][rule][str(e)] for e in shown]
        m, cost = points[-1], summary["cost"][rule]
        own = m.get("objective") == "own objective"
        target = ax_own if own else ax
        xs = [0.0 if own else (np.nan if p["cosine"] is None else p["cosine"]) for p in points]
        ys = [p["snr"] if p["snr"] and p["snr"] > 0 else np.nan for p in points]     # 0: not resolved
        snrs += [y for y in ys if np.isfinite(y)]
        tag = f"{label(rule)} ({cost['flops_per_example'] / 1e6:.2f} MFLOP)"
        target.plot(xs, ys, "-", color=color(rule), lw=0.8, alpha=0.6, zorder=2)
        target.scatter(xs[:1], ys[:1], s=18, facecolor="white", edgecolor=color(rule), lw=1, zorder=3)
        x, y = xs[-1], ys[-1]
        if not (np.isfinite(x) and np.isfinite(y)):  # the signal is not resolved by the samples: no point
            target.annotate(f"{label(rule)}: not resolved by {m['samples']} samples", (0.02, 0.02 + 0.05 * len(
                [t for t in target.texts if "not resolved" in t.get_text()])), xycoords="axes fraction",
                fontsize=8, color=color(rule))
            continue
        target.errorbar([x], [y], xerr=None if own else [[m["cosine_se"] or 0.0]] * 2,
                        yerr=[[min(m["snr_se"] or 0.0, y * 0.9)], [m["snr_se"] or 0.0]], fmt="none",
                        ecolor=color(rule), elinewidth=1, capsize=2, zorder=3)
        target.scatter([x], [y], s=_marker_area(cost["flops_per_example"], ref), color=color(rule), alpha=0.85,
                       edgecolor="k", lw=0.6, label=tag, zorder=4)
        if own:
            target.annotate(label(rule), (x, y), xytext=(0, -22), textcoords="offset points", fontsize=8, ha="center")
        else:
            labelled.append((rule, x, y))
    ax.axvline(1.0, color="grey", lw=0.8, ls=":")
    ax.set_yscale("log")
    ax.set_ylim(min(snrs) / 2.0, max(snrs) * 2.5)
    ax.set_xlim(-0.05, 1.25)
    fig.canvas.draw()
    placed = []                                 # label positions in pixels: move a label that would overlap
    # label placement in pixels: the first offset whose box overlaps no marker and no placed label
    offsets = [(8, 8), (8, -10), (-8, 8), (-8, -10), (10, 22), (10, -24), (-10, 22), (-10, -24), (12, 36), (-12, 36)]
    markers = [ax.transData.transform((x, y)) for _, x, y in labelled]
    boxes = []

    def box(px, py, dx, dy, text):
        width = 5.6 * len(text)
        left = px + dx if dx > 0 else px + dx - width
        return (left, left + width, py + dy - 6, py + dy + 6)

    def clear(b):
        hits_marker = any(b[0] - 6 < mx < b[1] + 6 and b[2] - 6 < my < b[3] + 6 for mx, my in markers)
        hits_label = any(b[0] < c[1] and c[0] < b[1] and b[2] < c[3] and c[2] < b[3] for c in boxes)
        return not (hits_marker or hits_label)

    for rule, x, y in sorted(labelled, key=lambda item: item[1]):
        px, py = ax.transData.transform((x, y))
        text = label(rule)
        dx, dy = next(((dx, dy) for dx, dy in offsets if clear(box(px, py, dx, dy, text))), offsets[0])
        boxes.append(box(px, py, dx, dy, text))
        ax.annotate(text, (x, y), xytext=(dx, dy), textcoords="offset points", fontsize=8, va="center",
                    ha="left" if dx > 0 else "right",
                    arrowprops=dict(arrowstyle="-", lw=0.5, color="grey", shrinkA=0, shrinkB=4))
    ax.set(xlabel="bias: cosine of the expected update with the true gradient\n(1 = unbiased; better to the right)",
           ylabel="variance: signal-to-noise ratio of one update\n(log scale; less noise higher up)",
           yscale="log", xlim=(-0.05, 1.25),
           title=f"Every rule on one map: epoch {last}, minibatches of {summary['settings']['map_batch']}\n"
                 f"(open circle: at initialisation; bars: +-1 standard error)")
    ax.set_ylim(min(snrs) / 2.0, max(snrs) * 2.5)
    ax.set_xlim(-0.05, 1.25)
    _plain_log_axis(ax.yaxis)
    ax_own.set(xticks=[], xlim=(-1, 1), title="own objective\n(no shared gradient)")
    handles = [h for a in (ax, ax_own) for h in a.get_legend_handles_labels()[0]]
    labels_ = [t for a in (ax, ax_own) for t in a.get_legend_handles_labels()[1]]
    legend = fig.legend(handles, labels_, loc="lower center", ncol=3, fontsize=8, markerscale=0.5,
                        title="marker area: FLOPs per example of a training step (square-root scale)",
                        title_fontsize=8)
    legend.get_frame().set_linewidth(0)
    fig.tight_layout(rect=(0, 0.15, 1, 1))
    return fig


def plot_cosine_vs_samples(points):
    """For each rule at one checkpoint ({rule: measure_rule(...)}): the plain cosine of the mean of the
    first S updates with the mean true gradient against S (a line), which grows with S for a noisy rule, and,
    at the right, the corrected cosine from all the samples with +-1 standard error (a marker): where the
    line is heading as S grows (Section 2 shows it does not depend on S)."""
    import matplotlib.pyplot as plt

    from .plotting import color, label
    fig, ax = plt.subplots(figsize=(7.5, 4))
    S_max = max(m["by_samples"]["S"][-1] for m in points.values() if m.get("by_samples"))
    for k, (rule, m) in enumerate(points.items()):
        if not m.get("by_samples"):
            continue
        b = m["by_samples"]
        ax.plot(b["S"], b["plain"], "-", color=color(rule), lw=1.4, label=label(rule))
        if m["cosine"] is not None and np.isfinite(m["cosine"]):
            x = S_max * 1.6 * 1.08 ** k                  # side by side, right of the lines
            ax.errorbar([x], [m["cosine"]], yerr=[[m["cosine_se"] or 0.0]] * 2, fmt="o", ms=5, capsize=3,
                        color=color(rule))
    ax.axvline(S_max * 1.3, color="grey", lw=0.6)
    ax.set(xscale="log", xlabel="number of updates averaged, S (log scale); right of the grey line: the limit",
           ylabel="cosine with the true gradient", ylim=(-0.05, 1.3),
           title="Lines: the plain cosine of the mean of S updates\n"
                 "markers: the noise-corrected cosine from all of them (+-1 standard error)")
    ax.axhline(1.0, color="grey", lw=0.8, ls=":")
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.tight_layout()
    return fig


def plot_accuracy_vs_time(summary):
    """Test accuracy against training time per network (log), mean over seeds with +-1 std error bars."""
    import matplotlib.pyplot as plt

    from .plotting import color, label
    fig, ax = plt.subplots(figsize=(7, 4))
    for rule, s in summary.items():
        ax.errorbar(s["seconds"], s["curve_mean"], yerr=s["curve_std"], fmt="o-", ms=4, capsize=3,
                    color=color(rule), label=f"{label(rule)}: {s['mean']:.3f} +- {s['std']:.3f}")
    ax.set(xscale="log", xlabel="training time per network (s, log scale)", ylabel="test accuracy",
           ylim=(0, 1), title="Accuracy against training time (mean +- std over seeds)")
    _plain_log_axis(ax.xaxis)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.tight_layout()
    return fig


def plot_plausibility(rows):
    """The plausibility table as a coloured grid: dark = needed, light = partly, white = not needed."""
    import matplotlib.pyplot as plt

    from .plotting import label
    needs = list(NEEDS)
    level = {"yes": 1.0, "partly": 0.5, "no": 0.0}
    grid = np.array([[level[row[n]] for n in needs] for row in rows])
    fig, ax = plt.subplots(figsize=(8.5, 0.45 * len(rows) + 1.6))
    ax.imshow(grid, cmap="Oranges", vmin=0, vmax=1.25, aspect="auto")
    for i, row in enumerate(rows):
        for j, n in enumerate(needs):
            ax.text(j, i, row[n], ha="center", va="center", fontsize=8,
                    color="white" if row[n] == "yes" else "black")
    ax.set_xticks(range(len(needs)), [n.replace("_", "\n") for n in needs], fontsize=8)
    ax.set_yticks(range(len(rows)), [label(r["rule"]) for r in rows], fontsize=9)
    ax.tick_params(top=True, labeltop=True, bottom=False, labelbottom=False)
    ax.grid(False)
    ax.set_title("What each rule needs", pad=30)
    from matplotlib.patches import Patch
    cmap = plt.get_cmap("Oranges")
    key = [Patch(facecolor=cmap(level[a] / 1.25), edgecolor="grey", label=f"{a}: {meaning}")
           for a, meaning in (("yes", "needed"), ("partly", "needed in part"), ("no", "not needed"))]
    fig.legend(handles=key, loc="lower center", ncol=3, fontsize=8, title="colour key", title_fontsize=8)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    return fig
