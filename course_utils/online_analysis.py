"""Tutorial 05's measurements of what the runs show: the sweep of learning rate against synapse with
learning frozen (what was *learned*, not only tracked), instability defined by growth over a long run,
the loop gain that predicts where it sets in, and the record of each neuron over time (the dying neuron
of Think! 2). JAX, float32, built from course_utils.jax.online's functions (the same equations and order
as course_utils.online.simulate; the tests check that the outputs agree).

The loop gain. PES changes the decoders by -(kappa dt / N) e a^T, so the decoded output u = d a moves by

    -(kappa dt |a|^2 / N) e  =  -g e   per step,      g = kappa dt |a|^2 / N   (the loop gain).

The error that drives the change is the synapse's output, one step late: with the rates a held still and
alpha = dt / tau, y_{k+1} = (1 - alpha) y_k + alpha u_k and u_{k+1} = u_k - g (y_k - y*), whose two
eigenvalues have product 1 - alpha (1 - g). The loop is stable when g < 1, whatever tau: a correction
larger than the error it answers, made late, overshoots. A slower synapse (smaller alpha) does not move
that boundary; it only slows the growth beyond it (|lambda| ~ 1 + alpha (g - 1) / 2 per step, an
e-folding time of about 2 tau / (g - 1)). Since |a|^2 changes with the input, the first rate at which some
input drives g above 1 is kappa* = N / (dt max_k |a_k|^2): ``predicted_boundary``.
"""
from __future__ import annotations

from functools import partial

import numpy as np

from .online import currents, rate


def loop_gain(network, x, kappa, dt, neuron="relu"):
    """g_k = kappa dt |a_k|^2 / N for the inputs x (K, D) with the network's (fixed) encoders: (K,)."""
    a = rate(currents(np.asarray(x), network["encoders"], network["gain"], network["bias"]), neuron)
    return kappa * dt * np.sum(a**2, axis=1) / a.shape[1]


def predicted_boundary(network, x, dt, neuron="relu"):
    """The PES rate at which the loop gain first reaches 1 for some input, N / (dt max_k |a_k|^2), and
    the rate at which its mean over the inputs does, N / (dt mean_k |a_k|^2). Returns (at max, at mean)."""
    a2 = np.sum(rate(currents(np.asarray(x), network["encoders"], network["gain"], network["bias"]), neuron) ** 2,
                axis=1)
    N = len(network["gain"])
    return float(N / (dt * a2.max())), float(N / (dt * a2.mean()))


def frozen_sweep(network, x, y_target, decoder_rates, taus, learn_steps, dt=0.001, window_steps=1000,
                 blow_up=3.0, **settings):
    """Decoders-only learning for every (decoder_rate, tau) pair, on for ``learn_steps`` steps and then
    frozen for the rest of x (one vmapped JAX program over the grid).

    Returns a dict of (len(decoder_rates), len(taus)) NumPy arrays:
        "tracking": nrmse over the last quarter of the learning period (learning on: the rule chases the
                    target, and a fast rule can track it with poor decoders);
        "frozen":   nrmse with learning off, after it (what the decoders learned);
        "unstable": the error grew while learning: the RMS error over some window of ``window_steps`` (1 s)
                    during the learning period exceeded
                    ``blow_up`` times the target's RMS (it starts at 1 time: the decoders start at zero),
                    or the run overflowed;
        "blow_up_seconds": when that first happened (nan if never);
    and "window_nrmse": (rates, taus, windows) the nrmse of every window. nrmse = RMS(y - y*) / RMS(y*),
    inf for a run that overflowed."""
    import jax
    import jax.numpy as jnp

    from .jax import online as jax_online
    net = jax_online.to_jax(network)
    K = (len(x) // window_steps) * window_steps
    x32, t32 = jnp.asarray(x[:K], jnp.float32), jnp.asarray(y_target[:K], jnp.float32)
    settings.setdefault("record_every", window_steps)
    track = (int(0.75 * learn_steps), learn_steps)

    def rms(v):
        return jnp.sqrt(jnp.mean(v ** 2))

    def one(kappa, tau):
        y = jax_online.simulate(net, x32, t32, dt=dt, tau=tau, decoder_rate=kappa, learn_steps=learn_steps,
                                **settings)["y"]
        err = y - t32
        out = {"tracking": rms(err[track[0]:track[1]]) / rms(t32[track[0]:track[1]]),
               "frozen": rms(err[learn_steps:]) / rms(t32[learn_steps:]),
               "window_nrmse": jnp.sqrt(jnp.mean(err.reshape(-1, window_steps) ** 2, axis=1))
               / jnp.sqrt(jnp.mean(t32.reshape(-1, window_steps) ** 2, axis=1))}
        return {k: jnp.where(jnp.isfinite(v), v, jnp.inf) for k, v in out.items()}

    grid = jax.jit(jax.vmap(jax.vmap(one, in_axes=(None, 0)), in_axes=(0, None)))(
        jnp.asarray(decoder_rates, jnp.float32), jnp.asarray(taus, jnp.float32))
    out = {k: np.asarray(v, dtype=np.float64) for k, v in grid.items()}
    learning = out["window_nrmse"][..., :learn_steps // window_steps]     # growth while the rule runs
    bad = ~np.isfinite(learning) | (learning > blow_up)
    out["unstable"] = bad.any(axis=2)
    first = np.where(out["unstable"], bad.argmax(axis=2), -1)
    out["blow_up_seconds"] = np.where(first >= 0, (first + 1) * window_steps * dt, np.nan)
    return out


def plot_frozen_sweep(decoder_rates, taus, sweep, boundary=None, ceiling: float = 2.0):
    """Two panels, nrmse against the PES rate per synapse: with learning on (tracking) and after learning
    stops (frozen); x marks the runs whose error grew (unstable); the dashed line the predicted boundary."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), sharey=True)
    colors = plt.get_cmap("viridis")(np.linspace(0, 0.9, len(taus)))
    for ax, key, title in zip(axes, ("tracking", "frozen"),
                              ("learning on: tracking error", "learning frozen: what was learned")):
        for j, tau in enumerate(taus):
            values = np.minimum(sweep[key][:, j], ceiling)
            ax.plot(decoder_rates, values, "o-", ms=3, color=colors[j], label=f"tau = {1000 * tau:g} ms")
            bad = sweep["unstable"][:, j]
            ax.plot(np.asarray(decoder_rates)[bad], values[bad], "x", color="red", ms=8, mew=2)
        if boundary is not None:
            ax.axvline(boundary, color="red", ls="--", lw=1)
        ax.set(xscale="log", yscale="log", xlabel="PES learning rate kappa (log)", title=title)
    axes[0].set_ylabel(f"nrmse (log; capped at {ceiling:g})")
    axes[1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.suptitle("Red x: the error grew over the run (unstable); dashed: predicted boundary, loop gain 1",
                 fontsize=10)
    fig.tight_layout()
    return fig


def simulate_recorded(network, x, y_target, dt=0.001, tau=0.005, neuron="relu", decoder_rate=1e-3,
                      encoder_rate=0.0, feedback="fa", record_every=100, learn_steps=None):
    """course_utils.jax.online.simulate's equations, recording each neuron every ``record_every`` steps.

    Returns {"y": (K, C), "steps": (R,), "decoders": (R, C, N) d at each record, "bias": (R, N),
    "peak_rate": (R, N) each neuron's highest rate over the record's steps} as NumPy arrays."""
    import jax
    import jax.numpy as jnp

    from .jax import online as jo
    net = jo.to_jax(network)
    K, C = np.shape(y_target)
    R = K // record_every
    g, B = net["gain"], net["feedback"]
    learn_until = K if learn_steps is None else learn_steps

    def step(carry, inputs):
        E, b, d, y, peak = carry
        k, xk, yk = inputs
        J = g * (E @ xk) + b
        a = jo.rate(J, neuron)
        e = y - yk
        y_now, y = y, jo.filter_step(y, d @ a, dt, tau)
        learning = k < learn_until
        fb = B if feedback == "fa" else d.T
        update = jo.fa_update(xk, J, e, fb, g, encoder_rate, dt, neuron)
        E = E + jnp.where(learning, update["encoders"], 0.0)
        b = b + jnp.where(learning, update["biases"], 0.0)
        d = d + jnp.where(learning, jo.pes_update(a, e, decoder_rate, dt), 0.0)
        return (E, b, d, y, jnp.maximum(peak, a)), y_now

    def record(carry, inputs):
        E, b, d, y, _ = carry
        carry, ys = jax.lax.scan(step, (E, b, d, y, jnp.zeros_like(b)), inputs)
        return carry, (ys, d, b, carry[4])

    run = jax.jit(lambda n, xs, ts: jax.lax.scan(
        record, (n["encoders"], n["bias"], n["decoders"], jnp.zeros(C, jnp.float32), jnp.zeros_like(n["bias"])),
        (jnp.arange(R * record_every).reshape(R, record_every), xs, ts))[1])
    xs = jnp.asarray(x[:R * record_every], jnp.float32).reshape(R, record_every, -1)
    ts = jnp.asarray(y_target[:R * record_every], jnp.float32).reshape(R, record_every, C)
    ys, d, b, peak = run(net, xs, ts)
    return {"y": np.asarray(ys, np.float64).reshape(R * record_every, C), "steps": np.arange(R) * record_every,
            "decoders": np.asarray(d, np.float64), "bias": np.asarray(b, np.float64),
            "peak_rate": np.asarray(peak, np.float64)}


def dying_neurons(record, silent_records: int = 50):
    """The neurons that fired and then fell silent for good: silent over at least ``silent_records``
    records (50 records of 0.1 s = 5 s, in which the inputs visit the whole square several times) up to
    the end of the run. Returns {neuron: the index of the first record of that final silence}.
    record: simulate_recorded's output."""
    peak = record["peak_rate"]
    out = {}
    for i in range(peak.shape[1]):
        firing = np.nonzero(peak[:, i] > 0)[0]
        if firing.size and peak.shape[0] - 1 - firing[-1] >= silent_records:
            out[i] = int(firing[-1] + 1)
    return out


def plot_dying_neuron(record, network, neuron, dt, learn_until=None):
    """sign(B_i) and sign(d_i) over time for one neuron, with d_i itself, its bias and its peak rate."""
    import matplotlib.pyplot as plt

    t = record["steps"] * dt
    d = record["decoders"][:, 0, neuron]
    B = network["feedback"][neuron, 0]
    fig, (ax_sign, ax_d, ax_rate) = plt.subplots(3, 1, figsize=(8, 6), sharex=True)
    ax_sign.step(t, np.sign(d), where="post", color="C0", label="sign(d_i): the readout's weight")
    ax_sign.axhline(np.sign(B) * 0.9, color="C3", ls="--", label=f"sign(B_i) = {np.sign(B):+.0f} (fixed)")
    ax_sign.set(ylim=(-1.3, 1.3), yticks=[-1, 0, 1], ylabel="sign",
                title=f"Neuron {neuron}: feedback B_i against readout weight d_i")
    ax_sign.legend(fontsize=8, loc="lower right")
    ax_d.plot(t, d, color="C0", label="d_i")
    others = np.delete(record["decoders"][:, 0, :], neuron, axis=1)
    ax_d.plot(t, np.abs(others).max(axis=1), color="grey", lw=0.8, label="largest |d_j| of the other neurons")
    ax_d.set(ylabel="decoder")
    ax_d.legend(fontsize=8)
    ax_rate.plot(t, record["peak_rate"][:, neuron], color="C2", label="peak rate over each 0.1 s (Hz)")
    ax_b = ax_rate.twinx()
    ax_b.plot(t, record["bias"][:, neuron], color="k", lw=0.8, label="bias b_i")
    ax_b.set_ylabel("bias")
    ax_rate.set(xlabel="time (s)", ylabel="rate (Hz)")
    ax_rate.legend(fontsize=8, loc="upper right")
    ax_b.legend(fontsize=8, loc="center right")
    for ax in (ax_sign, ax_d, ax_rate):
        if learn_until is not None:
            ax.axvline(learn_until, color="grey", ls=":", lw=1)
    fig.tight_layout()
    return fig
