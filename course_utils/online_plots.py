"""Tutorial 05's figures and its explorer (learning online, in continuous time). The computations
live in course_utils.online (NumPy) and course_utils.jax.online (JAX); this module only draws."""
from __future__ import annotations

import numpy as np

from . import plotting

RULES = ("online_decoders_only", "online_feedback_alignment", "online_backprop")


def rolling_rms(error, window: int):
    """RMS of error (K, C) over a sliding window of `window` steps (valid part), (K - window + 1,)."""
    sq = np.sum(np.asarray(error, np.float64) ** 2, axis=1)
    if window <= 1 or len(sq) < window:
        return np.sqrt(sq)
    return np.sqrt(np.convolve(sq, np.ones(window) / window, mode="valid"))


def plot_function(t, outputs: dict, target, windows, axes=None):
    """The learned output against the target in a few time windows (seconds), one panel each.

    outputs: {rule name: (K, C) output}; target (K, C); windows: [(start, end), ...]."""
    import matplotlib.pyplot as plt
    if axes is None:
        _, axes = plt.subplots(1, len(windows), figsize=(4.2 * len(windows), 3.2), sharey=True)
    axes = np.atleast_1d(axes)
    for ax, (start, end) in zip(axes, windows):
        keep = (t >= start) & (t <= end)
        ax.plot(t[keep], target[keep, 0], color="k", lw=2.5, alpha=0.35, label="target x0 x1")
        for name, y in outputs.items():
            ax.plot(t[keep], y[keep, 0], color=plotting.color(name), lw=1.2, label=plotting.label(name))
        ax.set(xlabel="time (s)", title=f"{start:g} s to {end:g} s")
    axes[0].set_ylabel("output")
    axes[0].legend(fontsize=8, loc="lower left")
    return axes[0].figure


def plot_error_over_time(t, errors: dict, target, window: int, learn_until=None, ax=None):
    """Normalised RMS error in a sliding window, per rule, on a log scale; a dotted line where
    learning stops."""
    import matplotlib.pyplot as plt
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.4))
    norm = np.sqrt(np.mean(np.asarray(target) ** 2))
    for name, e in errors.items():
        rms = rolling_rms(e, window) / norm
        ax.plot(t[window - 1:] if len(rms) < len(t) else t, rms, color=plotting.color(name), label=plotting.label(name))
    if learn_until is not None:
        ax.axvline(learn_until, color="k", ls=":", lw=1)
        ax.text(learn_until, ax.get_ylim()[1], " learning off", va="top", fontsize=8)
    ax.set(xlabel="time (s)", ylabel=f"RMS error / RMS target\n(sliding {window * (t[1] - t[0]):g} s)",
           yscale="log", title="Error over time")
    ax.legend(fontsize=8)
    return ax.figure


def plot_alignment(angles: dict, ax=None):
    """Angle between B and d^T over time, per rule: {name: (times (R,), degrees (R,))}."""
    import matplotlib.pyplot as plt
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.4))
    for name, (times, degrees) in angles.items():
        ax.plot(times, degrees, color=plotting.color(name), label=plotting.label(name))
    ax.axhline(90, color="k", lw=0.8, ls=":")
    ax.set(xlabel="time (s)", ylabel="angle(B, d^T) in degrees", ylim=(0, 180),
           title="Do the decoders align with the feedback?")
    ax.legend(fontsize=8)
    return ax.figure


def plot_sweep(decoder_rates, taus, grid, ax=None, ceiling: float = 2.0):
    """Heat map of nrmse over (decoder learning rate, synaptic tau); runs whose error exceeds
    `ceiling` (or diverged) are marked x: there online learning is unstable."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.2))
    shown = np.where(np.isfinite(grid) & (grid < ceiling), grid, np.nan)
    im = ax.imshow(shown, origin="lower", aspect="auto", cmap="viridis",
                   norm=LogNorm(vmin=np.nanmin(shown), vmax=ceiling))
    rows, cols = np.nonzero(~(np.isfinite(grid) & (grid < ceiling)))
    ax.scatter(cols, rows, marker="x", color="crimson", s=30)
    ax.set_xticks(range(len(taus)), [f"{1000 * t:g}" for t in taus])
    ax.set_yticks(range(len(decoder_rates)), [f"{r:.2g}" for r in decoder_rates])
    ax.set(xlabel="synaptic time constant tau (ms)", ylabel="PES learning rate kappa",
           title=f"Error while learning (last quarter); x: unstable, error > {ceiling:g}")
    ax.figure.colorbar(im, ax=ax, label="nrmse")
    return ax.figure


def online_explorer(seconds: float = 20.0, neurons: int = 10, seed: int = 0):
    """Sliders for the PES learning rate, the encoder learning rate and the synaptic tau: each
    change re-runs the three rules for `seconds` (JAX) and redraws the error over time."""
    import matplotlib.pyplot as plt

    from . import online
    from .jax import online as jax_online
    from .widgets import _control, _explorer

    dt = 0.001
    steps = int(round(seconds / dt))
    t, x, target = online.task(steps, dt)
    network = online.init_network(np.random.default_rng(seed), neurons, feedback_scale=1e-3)
    kappa = _control("FloatLogSlider", "PES rate kappa", value=1e-3, base=10, min=-4, max=0, step=0.25)
    eta = _control("FloatLogSlider", "encoder rate eta", value=5.0, base=10, min=-1, max=2, step=0.25)
    tau = _control("FloatLogSlider", "synapse tau (s)", value=0.005, base=10, min=-3, max=-0.7, step=0.1)

    def draw():
        errors = {}
        for name, rate, fb in (("online_decoders_only", 0.0, "fa"), ("online_feedback_alignment", eta.value, "fa"),
                               ("online_backprop", eta.value, "bp")):
            out = jax_online.simulate(jax_online.to_jax(network), x, target, dt=dt, tau=tau.value,
                                      decoder_rate=kappa.value, encoder_rate=rate, feedback=fb,
                                      learn_steps=int(0.75 * steps))
            errors[name] = np.nan_to_num(np.asarray(out["error"], np.float64), nan=1e6, posinf=1e6)
        fig, ax = plt.subplots(figsize=(7.5, 3.4))
        plot_error_over_time(t, errors, target, window=500, learn_until=0.75 * seconds, ax=ax)
        ax.set_title(f"kappa = {kappa.value:.2g}, eta = {eta.value:.2g}, tau = {1000 * tau.value:.3g} ms")
        fig.tight_layout()
        return fig
    return _explorer([kappa, eta, tau], draw)
