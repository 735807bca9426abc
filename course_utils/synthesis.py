"""Tutorial 06, every rule on one map: the measurements the synthesis notebook plots, and its figures.

Each rule of the course estimates a gradient and pays for something it does not need. The map puts
the price of each on two axes, measured the same way for every rule:

    bias      the cosine between the rule's mean update and the true gradient, at the same parameters
              and on the same minibatches: cos(mean_s u_s, mean_s g_s)  (1 = the gradient's direction)
    variance  the gradient signal-to-noise ratio of the updates, as in tutorial 01
              (course_utils.perturbation.gradient_snr): mean over parameters of |mean_s u_s| / std_s u_s

where u_s is the rule's update on minibatch s (with its own noise draw) and g_s the true gradient on the
same minibatch (course_utils.jax.synthesis says what both are for each rule). A third quantity, the
**cost**, is the work of one training step in forward-pass equivalents (``forward_pass_equivalents``,
counted from the rule's structure) and in measured seconds. Forward-forward has no true gradient of a
shared loss (its objective is its own, layer by layer): it is measured for variance and cost only, and
drawn apart. ``PLAUSIBILITY`` lists what each rule needs of a brain, with one reason per entry, and
``sweep`` / ``accuracy_summary`` give accuracy against training time with the spread over seeds.

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

def _minibatches(data, batch_size, count, rng):
    """(count, N, D) inputs and (count, N, C) one-hot targets: each minibatch drawn without replacement."""
    from .data import one_hot
    n = len(data.x_train)
    idx = np.stack([rng.choice(n, size=batch_size, replace=False) for _ in range(count)])
    return data.x_train[idx].astype(np.float32), one_hot(data.y_train[idx.ravel()]).reshape(count, batch_size, -1)


_SAMPLERS: dict = {}


def _sampler(rule, cfg):
    """course_utils.jax.synthesis.update_function, one per rule and settings (compiled once per shape)."""
    from .jax.synthesis import update_function
    key = (rule, repr(sorted(cfg.items())))
    if key not in _SAMPLERS:
        _SAMPLERS[key] = update_function(rule, cfg)
    return _SAMPLERS[key]


def update_chunks(rule, state, data, cfg=None, samples=64, chunk=16, seed=0):
    """Yield the rule's updates and the true gradients in chunks: (updates (n, P), true (n, P) or None),
    float64, ``samples`` rows in all, each on its own minibatch of the rule's batch size with its own
    noise (course_utils.jax.synthesis.update_function). state: the rule's state, one seed."""
    import jax

    from .registry import get_rule
    cfg = cfg or get_rule(rule).config()
    sampler = _sampler(rule, cfg)
    rng = np.random.default_rng(seed)
    keys = jax.random.split(jax.random.PRNGKey(seed), samples)
    for start in range(0, samples, chunk):
        n = min(chunk, samples - start)
        xs, ys = _minibatches(data, cfg["batch_size"], n, rng)
        if n < chunk:   # one compiled shape: pad the last chunk and drop the padding
            xs, ys = np.concatenate([xs, xs[:chunk - n]]), np.concatenate([ys, ys[:chunk - n]])
            chunk_keys = np.concatenate([np.asarray(keys[start:]), np.asarray(keys[:chunk - n])])
        else:
            chunk_keys = keys[start:start + n]
        updates, true = sampler(state, xs, ys, chunk_keys)
        yield (np.asarray(updates, dtype=np.float64)[:n],
               None if true is None else np.asarray(true, dtype=np.float64)[:n])


def rule_samples(rule, state, data, cfg=None, samples=64, chunk=16, seed=0):
    """All of a rule's samples at once: (updates (S, P), true (S, P) or None). For small S (the exercise)."""
    parts = list(update_chunks(rule, state, data, cfg, samples, chunk, seed))
    updates = np.concatenate([u for u, _ in parts])
    true = None if parts[0][1] is None else np.concatenate([t for _, t in parts])
    return updates, true


def measure_rule(rule, state, data, cfg=None, samples=128, chunk=16, seed=0):
    """One rule's place on the map, from ``samples`` minibatches of its own batch size.

    Returns a dict:
        "cosine": cos(mean update, mean true gradient) over all the samples (None for forward-forward);
        "cosine_by_samples": (S,) the same cosine after the first 1, 2, ..., S samples: a biased rule's
            curve flattens below 1, a noisy unbiased one keeps climbing towards 1 (None for FF);
        "snr": the updates' gradient SNR; "samples": S; "parameters": P; "batch_size": N;
        "objective": "shared loss" or "own objective".
    Memory stays O(P): the samples are reduced chunk by chunk (merge_moments).
    """
    from .registry import get_rule
    cfg = cfg or get_rule(rule).config()
    moments, update_sum, true_sum, cosines = None, None, None, []
    for updates, true in update_chunks(rule, state, data, cfg, samples, chunk, seed):
        moments = merge_moments(moments, updates)
        if true is not None:
            running_u = np.cumsum(updates, axis=0) + (0.0 if update_sum is None else update_sum)
            running_t = np.cumsum(true, axis=0) + (0.0 if true_sum is None else true_sum)
            cosines.extend(cosine_similarity(u, t) for u, t in zip(running_u, running_t))
            update_sum, true_sum = running_u[-1], running_t[-1]
    count, mean, m2 = moments
    own = rule in OWN_OBJECTIVE
    return {"rule": rule, "cosine": None if own else cosines[-1],
            "cosine_by_samples": None if own else np.array(cosines),
            "snr": snr_from_moments(count, mean, m2), "samples": int(count), "parameters": int(mean.size),
            "batch_size": int(cfg["batch_size"]), "objective": "own objective" if own else "shared loss"}


def rule_map(states, data, samples=128, chunk=16, seed=0, progress=True):
    """measure_rule for every rule of ``states`` ({rule: (state, cfg)}) -> {rule: measurement}."""
    from .progress import progress_bar
    out = {}
    with progress_bar(total=len(states), desc="measuring the map", disable=not progress, unit="rule") as bar:
        for rule, (state, cfg) in states.items():
            bar.set_postfix_str(rule)
            out[rule] = measure_rule(rule, state, data, cfg, samples, chunk, seed)
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
        "weight_transport": ("no", "the same synapse W_ij carries activity both ways: nothing is copied"),
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

def sweep(rules, data, seeds=4, seed=0, progress=True, **overrides):
    """Train every rule for ``seeds`` seeds as one program each (course_utils.training.train with
    seeds=S, JAX) -> {rule: TrainResult}. overrides apply to every rule (epochs=..., for one budget)."""
    from .training import train
    return {rule: train(rule, data, backend="jax", seed=seed, progress=progress, seeds=seeds, **overrides)
            for rule in rules}


def seed_state(result, index=0):
    """One seed's state out of a sweep's stacked state (the leading axis is the seed)."""
    import jax
    return jax.tree_util.tree_map(lambda leaf: leaf[index], result.state)


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


def plot_map(measurements, costs):
    """The bias-variance map: x the cosine of the mean update with the true gradient, y the gradient
    SNR (log scale), marker area proportional to the cost (forward-pass equivalents per step).
    Rules without a shared loss (forward-forward) are drawn in a column of their own, on the right.

    measurements: {rule: measure_rule(...)}; costs: {rule: forward-pass equivalents}."""
    import matplotlib.pyplot as plt

    from .plotting import color, label
    fig, (ax, ax_own) = plt.subplots(1, 2, figsize=(10, 4.6), gridspec_kw={"width_ratios": [5, 1]}, sharey=True)
    size = lambda rule: 60 * costs[rule]  # noqa: E731  (marker area: 60 per forward pass)
    for rule, m in measurements.items():
        target = ax_own if m["cosine"] is None else ax
        x = 0.0 if m["cosine"] is None else m["cosine"]
        target.scatter([x], [m["snr"]], s=size(rule), color=color(rule), alpha=0.8, edgecolor="k", lw=0.6,
                       label=f"{label(rule)} ({costs[rule]:.1f} F)", zorder=3)
    ax.set(xlabel="bias: cosine of the mean update with the true gradient", ylabel="variance: gradient SNR (log)",
           yscale="log", xlim=(-0.05, 1.12), title="Every rule on one map")
    snrs = [m["snr"] for m in measurements.values()]
    ax.set_ylim(min(snrs) / 1.8, max(snrs) * 1.8)
    _plain_log_axis(ax.yaxis)
    fig.canvas.draw()
    placed = []                                 # label positions in pixels: move a label that would overlap
    for rule, m in sorted(measurements.items(), key=lambda item: (item[1]["cosine"] is None, item[1]["cosine"] or 0)):
        if m["cosine"] is None:
            continue
        px, py = ax.transData.transform((m["cosine"], m["snr"]))
        dy = next((d for d in (8, -10, 20, -22, 32, -34)
                   if not any(abs(px - qx) < 110 and abs(py + d - qy) < 12 for qx, qy in placed)), 8)
        placed.append((px, py + dy))
        ax.annotate(label(rule), (m["cosine"], m["snr"]), xytext=(6, dy), textcoords="offset points", fontsize=8,
                    va="center")
    ax.axvline(1.0, color="grey", lw=0.8, ls=":")
    ax_own.set(xticks=[], xlim=(-1, 1), title="own objective\n(no shared gradient)")
    for rule, m in measurements.items():
        if m["cosine"] is None:
            ax_own.annotate(label(rule), (0, m["snr"]), xytext=(0, -22), textcoords="offset points",
                            fontsize=8, ha="center")
    handles = [h for a in (ax, ax_own) for h in a.get_legend_handles_labels()[0]]
    labels_ = [t for a in (ax, ax_own) for t in a.get_legend_handles_labels()[1]]
    legend = fig.legend(handles, labels_, loc="lower center", ncol=4, fontsize=8, markerscale=0.5,
                        title="marker area: cost per step (F = forward passes)", title_fontsize=8)
    legend.get_frame().set_linewidth(0)
    fig.tight_layout(rect=(0, 0.16, 1, 1))
    return fig


def plot_cosine_vs_samples(measurements):
    """The cosine of the mean of the first S updates with the true gradient, against S (log): noise
    averages away as S grows (the curve climbs), bias does not (the curve levels off below 1)."""
    import matplotlib.pyplot as plt

    from .plotting import color, label
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for rule, m in measurements.items():
        if m["cosine_by_samples"] is not None:
            s = np.arange(1, len(m["cosine_by_samples"]) + 1)
            ax.plot(s, m["cosine_by_samples"], color=color(rule), label=label(rule))
    ax.set(xscale="log", xlabel="number of updates averaged (S)", ylabel="cosine with the true gradient",
           ylim=(-0.05, 1.05), title="Averaging removes variance, not bias")
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
    fig.tight_layout()
    return fig
