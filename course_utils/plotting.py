"""The course's figures, in one house style. Every function returns the matplotlib Figure.

Sections: house style; training curves (all tutorials); one section per tutorial below.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import LogFormatter, MaxNLocator

# One colour per rule, the same in every figure of the course.
RULE_COLORS = {
    "backprop": "#222222",
    "weight_perturbation": "#d95f02",
    "node_perturbation": "#1b9e77",
    "feedback_alignment": "#7570b3",
    "direct_feedback_alignment": "#e7298a",
    "kolen_pollack": "#66a61e",
    "eqprop": "#e6ab02",
    "forward_forward": "#a6761d",
    # tutorial 05: online learning in continuous time
    "online_decoders_only": "#999999",
    "online_feedback_alignment": "#1f78b4",
    "online_backprop": "#444444",
}
STYLE = {
    "figure.dpi": 100, "axes.spines.top": False, "axes.spines.right": False,
    "axes.grid": True, "grid.alpha": 0.3, "axes.titlesize": 11, "axes.labelsize": 10,
    "legend.frameon": False, "font.size": 10,
}
plt.rcParams.update(STYLE)


def label(rule: str) -> str:
    return rule.replace("_", " ")


def color(rule: str) -> str:
    return RULE_COLORS.get(rule, None)


def epoch_ticks(ax, epochs):
    """Whole-number epoch ticks on the x axis: every epoch when there are few (one epoch gets one tick,
    not 0.96, 0.98, ...), otherwise integers chosen by matplotlib."""
    epochs = sorted(set(int(e) for e in epochs))
    if 0 < len(epochs) <= 12:
        ax.set_xticks(epochs)
        if len(epochs) == 1:
            ax.set_xlim(epochs[0] - 1, epochs[0] + 1)
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def smooth(values, window: int):
    """Moving average (valid part), for noisy per-step curves."""
    values = np.asarray(values, dtype=np.float64)
    if window <= 1 or len(values) < window:
        return values
    return np.convolve(values, np.ones(window) / window, mode="valid")


# --- training curves ---------------------------------------------------------------------------

def plot_training(results, window: int = 50):
    """Loss per step (smoothed) and test accuracy per epoch for a {rule: TrainResult} dict."""
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.6))
    for name, r in results.items():
        losses = smooth(r.step_losses, window)
        ax_loss.plot(np.arange(len(losses)) + window - 1, losses, color=color(name), label=label(name))
        epochs = [h["epoch"] for h in r.history if "test_accuracy" in h]
        acc = [h["test_accuracy"] for h in r.history if "test_accuracy" in h]
        ax_acc.plot(epochs, acc, "o-", color=color(name), label=label(name))
    ax_loss.set(xlabel="update step", ylabel="training loss (MSE)", yscale="log", title="Training loss")
    ax_acc.set(xlabel="epoch", ylabel="test accuracy", ylim=(0, 1), title="Test accuracy")
    epoch_ticks(ax_acc, [h["epoch"] for r in results.values() for h in r.history if "test_accuracy" in h])
    ax_acc.legend()
    fig.tight_layout()
    return fig


# --- tutorial 01: perturbation learning ----------------------------------------------------------

def plot_snr_bars(snr: dict):
    """Bar chart of gradient SNR, {rule: value}, on a log scale."""
    fig, ax = plt.subplots(figsize=(5.5, 3.4))
    names = list(snr)
    # one word per line: "weight perturbation" and "node perturbation" side by side would overlap
    ax.bar([label(n).replace(" ", "\n") for n in names], [snr[n] for n in names], color=[color(n) for n in names],
           width=0.6)
    ax.set(ylabel="gradient SNR (mean |mean| / std)", yscale="log", title="Signal-to-noise ratio")
    fig.tight_layout()
    return fig


def plot_estimate_vs_true(estimates: dict, true, max_points: int = 3000, seed: int = 0):
    """Scatter of estimated against true gradient entries, one panel per estimator, both axes on the same
    scale (a square panel whose diagonal is the line estimate = true, at 45 degrees): a noisy estimator's
    cloud is then as tall as its noise, not squashed into a flat band. Points beyond the 99.5th percentile
    of |estimate| are left out of view (their number is printed in the panel)."""
    from .metrics import _vector, cosine_similarity
    t = _vector(true)
    rng = np.random.default_rng(seed)
    keep = rng.choice(len(t), size=min(max_points, len(t)), replace=False)
    fig, axes = plt.subplots(1, len(estimates), figsize=(4 * len(estimates), 4.2), squeeze=False)
    for ax, (name, est) in zip(axes[0], estimates.items()):
        e = _vector(est)
        lim = 1.1 * max(np.abs(t[keep]).max(), np.quantile(np.abs(e[keep]), 0.995))
        ax.scatter(t[keep], e[keep], s=4, alpha=0.4, color=color(name))
        ax.plot([-lim, lim], [-lim, lim], "k--", lw=0.8, label="estimate = true")
        ax.set(xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal", xlabel="true gradient (backprop)",
               ylabel="estimate (same scale)", title=f"{label(name)}: cos = {cosine_similarity(e, t):.2f}")
        ratio = np.std(e[keep]) / max(np.std(t[keep]), 1e-300)
        hidden = int(np.sum(np.abs(e[keep]) > lim))
        ax.text(0.03, 0.97, f"spread of the estimate: {ratio:.0f}x the gradient's" if ratio >= 2 else
                f"spread of the estimate: {ratio:.1f}x the gradient's", transform=ax.transAxes, va="top", fontsize=8)
        if hidden:
            ax.text(0.03, 0.03, f"{hidden} points beyond the frame", transform=ax.transAxes, fontsize=7, color="grey")
        ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def plot_cosine_vs_samples(samples, cosines: dict):
    """Cosine similarity of the averaged estimate to the true gradient against K, per rule."""
    fig, ax = plt.subplots(figsize=(5, 3.4))
    for name, values in cosines.items():
        ax.plot(samples, values, "o-", color=color(name), label=label(name))
    ax.set(xscale="log", xlabel="number of noise samples averaged (K)", ylim=(0, 1.02),
           ylabel="cosine similarity to backprop", title="Both estimators are unbiased")
    ax.legend()
    fig.tight_layout()
    return fig


def plot_alignment_vs_width(hidden_sizes, alignment: dict, num_parameters):
    """Cosine of ONE estimate with the gradient against the hidden layer's width, on log axes, with the
    prediction sqrt(2 / (pi P)) for weight perturbation. alignment: {"<rule> (<what>)": values per size}."""
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    fig, ax = plt.subplots(figsize=(7.6, 3.6))
    for name, values in alignment.items():
        ax.plot(hidden_sizes, values, "o-", color=color(name.split()[0]), label=label(name))
    ax.plot(hidden_sizes, np.sqrt(2 / (np.pi * np.asarray(num_parameters))), "k:", label=r"$\sqrt{2 / (\pi P)}$")
    ax.set(xscale="log", yscale="log", xlabel="hidden units H", ylabel="cosine of one estimate\nwith the gradient",
           title="Bigger layers, noisier estimates")
    # the widths themselves as ticks, and no labels on the minor ticks (they overlap on a short log axis)
    ax.set_xticks(hidden_sizes)
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.legend(fontsize=9, loc="center left", bbox_to_anchor=(1.02, 0.5))
    fig.tight_layout()
    return fig


# --- tutorial 02: weight transport ---------------------------------------------------------------

def plot_over_training(results, key: str, ylabel: str, title: str, log: bool = False, ax=None):
    """A monitored quantity (history[key], with result.initial[key] at epoch 0) per rule."""
    fig = None
    if ax is None:
        fig, ax = plt.subplots(figsize=(5, 3.4))
    for name, r in results.items():
        if key not in r.history[0]:
            continue
        values = [r.initial[key]] + [h[key] for h in r.history]
        ax.plot(range(len(values)), values, "o-", ms=3, color=color(name), label=label(name))
    ax.set(xlabel="epoch", ylabel=ylabel, title=title)
    epoch_ticks(ax, range(max(len(r.history) for r in results.values()) + 1))
    if log:
        ax.set_yscale("log")
    ax.legend(fontsize=8)
    if fig is not None:
        fig.tight_layout()
    return fig or ax.figure


def plot_feedback_gap(result, decay: float, steps_per_epoch: int):
    """||W_out - B^T|| over training for Kolen-Pollack, against the prediction (1 - lambda)^t."""
    fig, ax = plt.subplots(figsize=(5, 3.4))
    gaps = [result.initial["feedback_gap"]] + [h["feedback_gap"] for h in result.history]
    steps = np.arange(len(gaps)) * steps_per_epoch
    ax.plot(steps, gaps, "o", color=color("kolen_pollack"), label="measured")
    ax.plot(steps, gaps[0] * (1 - decay) ** steps, "k--", lw=1, label=r"$(1-\lambda)^t\,\|W - B^\top\|_0$")
    ax.set(yscale="log", xlabel="update step t", ylabel=r"$\|W_{out} - B^\top\|$",
           title="Kolen-Pollack: the feedback becomes the transpose")
    # plain numbers (4.3, not 4.3 x 10^0) on a log axis that may span less than a decade
    ax.yaxis.set_major_formatter(LogFormatter())
    ax.yaxis.set_minor_formatter(LogFormatter(labelOnlyBase=False, minor_thresholds=(1, 0.4)))
    ax.legend()
    fig.tight_layout()
    return fig


# --- tutorial 04: forward-forward ----------------------------------------------------------------

def goodness_ranges(positive, negative, thresholds):
    """The x range of each layer's goodness histogram: where the data are (0.5th to 99.5th percentile,
    with a margin), widened to take in the threshold when it lies near the data. An explorer computes
    them once, so that its bins stay the same while the threshold moves."""
    ranges = []
    for gp, gn, theta in zip(positive, negative, thresholds):
        values = np.concatenate([np.ravel(gp), np.ravel(gn)])
        lo, hi = np.percentile(values, [0.5, 99.5])
        span = max(hi - lo, 1e-6 * max(abs(hi), 1.0))
        if lo - span <= theta <= hi + span:
            lo, hi = min(lo, theta), max(hi, theta)
        margin = 0.08 * (hi - lo)
        ranges.append((max(lo - margin, 0.0) if lo >= 0 else lo - margin, hi + margin))
    return ranges


def plot_goodness_histograms(positive, negative, thresholds, axes=None, ranges=None, title=None):
    """One panel per layer: histograms of the goodness of positive and negative data, and the threshold.

    positive, negative: lists (one per layer) of (N,) goodness values; thresholds: one per layer.
    ranges: the x range of each panel (default: goodness_ranges); 40 bins over it. A threshold outside
    its panel's range is marked by an arrow at the edge, with its value. title: above the panels.
    """
    if axes is None:
        fig, axes = plt.subplots(1, len(positive), figsize=(4.6 * len(positive), 3.4), squeeze=False)
        axes = axes[0]
    ranges = ranges if ranges is not None else goodness_ranges(positive, negative, thresholds)
    for l, (ax, gp, gn, theta, (lo, hi)) in enumerate(zip(axes, positive, negative, thresholds, ranges), start=1):
        bins = np.linspace(lo, hi, 41)
        # values outside the range go into the outermost bins, so that no example disappears
        ax.hist(np.clip(gp, lo, hi), bins=bins, alpha=0.6, color="#1b9e77", label="positive (correct label)")
        ax.hist(np.clip(gn, lo, hi), bins=bins, alpha=0.6, color="#d95f02", label="negative (hard wrong label)")
        if lo <= theta <= hi:
            ax.axvline(theta, color="k", ls="--", lw=1, label="threshold")
        else:
            edge, text, align = (hi, f"threshold {theta:.0f} \u2192", "right") if theta > hi else \
                (lo, f"\u2190 threshold {theta:.0f}", "left")
            ax.annotate(text, xy=(edge, 0.97), xycoords=("data", "axes fraction"), ha=align, va="top", fontsize=9,
                        bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none", "alpha": 0.85})
        ax.set_xlim(lo, hi)
        right = np.mean(gp > theta) / 2 + np.mean(gn < theta) / 2
        ax.set(xlabel="goodness (sum of squares)", title=f"layer {l}: {right:.0%} on the right side")
    axes[0].set_ylabel("examples")
    fig = axes[0].figure
    handles, labels = axes[0].get_legend_handles_labels()
    handles.append(plt.Line2D([], [], color="k", ls="--", lw=1))
    labels.append("threshold")
    fig.legend(handles[:3], labels[:3], loc="lower center", ncol=3, fontsize=9, bbox_to_anchor=(0.5, 0.0))
    if title:
        fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig


# --- tutorial 03: equilibrium propagation --------------------------------------------------------

def _grid(n: int):
    """Rows and columns of the most nearly square grid that holds n units exactly (500 -> 20 x 25)."""
    rows = max(r for r in range(1, int(np.sqrt(n)) + 1) if n % r == 0)
    return rows, n // rows


def plot_settling(states, energies, step: int, example: int = 0, label_names=None):
    """The free phase of one example at relaxation step ``step``: its first hidden layer as an image,
    its output units as bars, and its energy along the relaxation with the current step marked.

    states: list over layers of (T + 1, N, H_l) arrays and energies (T + 1, N), as returned by
    course_utils.eqprop.settling_trajectory.
    """
    fig, (ax_h, ax_y, ax_e) = plt.subplots(1, 3, figsize=(11, 3.2), gridspec_kw={"width_ratios": [1, 1.2, 1.4]})
    hidden, output = states[0][step, example], states[-1][step, example]
    ax_h.imshow(hidden.reshape(_grid(hidden.size)), vmin=0, vmax=1, cmap="viridis")
    ax_h.set(xticks=[], yticks=[], title=f"step {step}: hidden units (layer 1)")
    ax_h.grid(False)
    names = label_names if label_names is not None else [str(c) for c in range(output.size)]
    ax_y.bar(names, output, color=color("eqprop"))
    ax_y.set(ylim=(0, 1.05), xlabel="output unit", ylabel="state", title="output units")
    ax_e.plot(energies[:, example], color=color("eqprop"))
    ax_e.axvline(step, color="k", ls="--", lw=1)
    ax_e.set(xlabel="relaxation step", ylabel="energy E", title="energy along the free phase")
    fig.tight_layout()
    return fig


def plot_cosine_vs_beta(betas, cosines: dict, ax=None):
    """Cosine similarity to the true gradient against beta, one line per estimate ({name: (B,)})."""
    fig = None
    if ax is None:
        fig, ax = plt.subplots(figsize=(5.2, 3.4))
    for (name, values), marker in zip(cosines.items(), "os^v"):
        ax.semilogx(betas, values, marker + "-", ms=4, label=name)
    ax.set(xlabel=r"nudging strength $\beta$", ylabel="cosine with the true gradient",
           title=r"EqProp approaches the gradient as $\beta \to 0$")
    ax.legend()
    if fig is not None:
        fig.tight_layout()
    return fig or ax.figure


# --- tutorial 01 (continued): how large a step? ----------------------------------------------------

def plot_step_limits(num_params, measured, curvature: float = 1.0, yours=None):
    """Weight perturbation on quadratics c/2 |w|^2: the largest learning rate at which the mean loss still
    falls, measured (points) against the number of parameters P, with the prediction 2 / (c (P + 2))
    (dashed), backprop's limit 2 / c (dotted) and, when given, the values of your largest_stable_step."""
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    P = np.asarray(num_params, dtype=np.float64)
    ax.plot(P, measured, "o", color=color("weight_perturbation"), label="measured (simulation)")
    ax.plot(P, 2 / (curvature * (P + 2)), "--", color="k", lw=1, label=r"$2 / (\lambda (P + 2))$")
    if yours is not None:
        ax.plot(P, yours, "x", ms=8, color="k", label="your largest_stable_step")
    ax.axhline(2 / curvature, color=color("backprop"), ls=":", lw=1, label=r"backprop: $2 / \lambda$")
    ax.set(xscale="log", yscale="log", xlabel="number of perturbed parameters P", ylabel=r"largest stable $\eta$",
           title="Weight perturbation: the largest stable step falls as 1/P")
    ax.legend(fontsize=9, loc="center left", bbox_to_anchor=(1.02, 0.5))
    fig.tight_layout()
    return fig


# --- tutorial 02 (continued): why feedback alignment aligns ----------------------------------------

def plot_linear_alignment(record: dict):
    """Feedback alignment in a two-layer linear network (weight_transport.linear_alignment_demo): the loss,
    the angle between W2^T and B, and the smallest eigenvalue of the symmetric part of W2 B, over steps."""
    fig, (ax_loss, ax_angle, ax_eig) = plt.subplots(1, 3, figsize=(12, 3.4))
    steps = record["step"]
    fa = color("feedback_alignment")
    ax_loss.plot(steps, np.maximum(record["loss"], 1e-12), color=fa)
    ax_loss.set(yscale="log", xlabel="step", ylabel="loss", title="The linear network learns")
    ax_angle.plot(steps, record["angle"], color=fa)
    ax_angle.set(xlabel="step", ylabel="degrees", title=r"angle between $W_2^\top$ and $B$")
    ax_eig.plot(steps, record["min_eig"], color=fa)
    ax_eig.axhline(0, color="k", lw=0.8)
    ax_eig.set(xlabel="step", ylabel="smallest eigenvalue", title=r"$W_2 B$ becomes positive definite")
    fig.tight_layout()
    return fig
