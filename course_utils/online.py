"""Tutorial 05, learning online in continuous time: NumPy references (float64), in the tutorial's order.

A population of N rate neurons represents a slowly varying input x(t) (D = 2 sines of incommensurate
periods) and learns, while it runs, to output y*(t) = x0(t) * x1(t). Time advances in Euler steps of
dt seconds; step k is the time t_k = (k + 1) dt (as in Nengo, whose first step ends at t = dt).

    current      J_k = g * (x_k @ E.T) + b                  (N,)  gains g, biases b, encoders E (N, D)
    rate         a_k = G(J_k)                               (N,)  G: ReLU or the LIF rate curve
    error        e_k = y_k - y*_k                           (C,)  y_k: the synapse's output now
    decoded      u_k = d @ a_k                              (C,)  decoders d (C, N)
    synapse      y_{k+1} = y_k + (dt / tau) (u_k - y_k)            the Euler step of tau dy/dt = u - y

so the output reaches the error one step late, and filtered (Nengo's synapses do the same: this is the
price in time). Then, at the end of the step, the rules change the weights the next step uses:

    PES (decoders):           d <- d - (kappa dt / N) e_k a_k^T                        (Nengo's nengo.PES)
    online FA (encoders, b):  delta_k = (B e_k) * G'(J_k)                              (N,)
                              E <- E - eta dt (g * delta_k) x_k^T,  b <- b - eta dt delta_k
    online backprop:          the same with B = d^T (weight transport): the bound.

B (N, C) is fixed and random, sampled like the encoders (unit vectors in the output space, times
``feedback_scale``). G' is the derivative of the real rate curve at the neuron's own input current
J; the gain g appears because dJ/dE = g x^T. With tau = dt the synapse is a delay of one step; in the
limit of small dt, tau and learning rates the FA updates summed over a window are tutorial 02's
``feedback_alignment_gradients`` on those samples, times -eta dt K G'/relu' (see the tests).

Sign convention: the update functions here return the *change* to add (as Nengo's learning rules
do), already with the minus sign and the learning rate; tutorial 02's rules return gradients.
"""
from __future__ import annotations

import time

import numpy as np

from .metrics import angle_degrees
from .neurons import LIF_TAU_RC, LIF_TAU_REF, NEURONS, RELU_RATE   # (names of this module too)

PERIODS = (1.0, np.sqrt(2.0))           # seconds: incommensurate, so x(t) fills the square
TASK = "y* = x0 x1, x_i = sin(2 pi t / P_i), P = 1 s and 1.41 s; learning stops after learn_fraction"


# --- the task ------------------------------------------------------------------------------------------

def task(steps: int, dt: float, periods=PERIODS):
    """The inputs and the target at t_k = (k + 1) dt, k = 0..steps-1.

    Returns: t (K,), x (K, D) with x_i = sin(2 pi t / P_i), y_target (K, 1) = x0 * x1.
    """
    t = dt * np.arange(1, steps + 1)
    x = np.stack([np.sin(2 * np.pi * t / p) for p in periods], axis=1)
    return t, x, (x[:, 0] * x[:, 1])[:, None]


# --- the neurons ---------------------------------------------------------------------------------------

def rate(current, neuron: str = "relu"):
    """G(J): the firing rate (Hz) for input current J. relu: RELU_RATE max(J, 0). lif: Nengo's LIFRate,
    1 / (tau_ref + tau_rc log(1 + 1 / (J - 1))) above the threshold J = 1, else 0."""
    J = np.asarray(current, dtype=np.float64)
    if neuron == "relu":
        return RELU_RATE * np.maximum(J, 0.0)
    if neuron == "lif":
        above = J > 1.0
        Jc = np.where(above, J, 2.0)
        return np.where(above, 1.0 / (LIF_TAU_REF + LIF_TAU_RC * np.log1p(1.0 / (Jc - 1.0))), 0.0)
    raise ValueError(f"unknown neuron {neuron!r}; choose one of {NEURONS}")


def rate_derivative(current, neuron: str = "relu"):
    """G'(J) of the curve ``rate`` uses. relu: RELU_RATE where J > 0. lif: tau_rc G(J)^2 / (J (J - 1)) above
    threshold (infinite at J = 1+, where the curve starts vertically), else 0."""
    J = np.asarray(current, dtype=np.float64)
    if neuron == "relu":
        return RELU_RATE * (J > 0).astype(np.float64)
    if neuron == "lif":
        above = J > 1.0
        Jc = np.where(above, J, 2.0)
        return np.where(above, LIF_TAU_RC * rate(Jc, "lif") ** 2 / (Jc * (Jc - 1.0)), 0.0)
    raise ValueError(f"unknown neuron {neuron!r}; choose one of {NEURONS}")


def gain_bias(max_rates, intercepts, neuron: str = "relu"):
    """Gains and biases such that a neuron starts firing where e.x = intercept and (LIF) fires at
    max_rate where e.x = 1, as Nengo chooses them. A ReLU neuron's current is 1 at e.x = 1 (its rate
    there is RELU_RATE; max_rates is not used). Returns g (N,), b (N,)."""
    max_rates, intercepts = np.asarray(max_rates, float), np.asarray(intercepts, float)
    if neuron == "relu":
        gain = 1.0 / (1.0 - intercepts)
        return gain, -gain * intercepts
    if neuron == "lif":
        j_max = 1.0 / (1.0 - np.exp((LIF_TAU_REF - 1.0 / max_rates) / LIF_TAU_RC))
        gain = (j_max - 1.0) / (1.0 - intercepts)
        return gain, 1.0 - gain * intercepts
    raise ValueError(f"unknown neuron {neuron!r}; choose one of {NEURONS}")


def unit_vectors(rng, n: int, dimensions: int):
    """n random unit vectors in `dimensions` dimensions (uniform on the sphere), (n, dimensions)."""
    v = rng.standard_normal((n, dimensions))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def init_network(rng, neurons: int = 30, dimensions: int = 2, outputs: int = 1, neuron: str = "relu",
                 max_rates=(100.0, 200.0), intercepts=(-0.9, 0.9), feedback_scale: float = 1.0):
    """A random population, drawn in this order: encoders, max rates, intercepts, feedback.

    Returns {"encoders": E (N, D) unit rows, "gain": g (N,), "bias": b (N,), "decoders": d (C, N)
    zeros, "feedback": B (N, C), unit rows (like the encoders, in the output space) times
    feedback_scale}."""
    encoders = unit_vectors(rng, neurons, dimensions)
    rates = rng.uniform(*max_rates, size=neurons)
    xi = rng.uniform(*intercepts, size=neurons)
    gain, bias = gain_bias(rates, xi, neuron)
    feedback = feedback_scale * unit_vectors(rng, neurons, outputs)
    return {"encoders": encoders, "gain": gain, "bias": bias, "decoders": np.zeros((outputs, neurons)),
            "feedback": feedback}


def currents(x, encoders, gain, bias):
    """J = g * (x @ E.T) + b for x (D,) or (K, D); returns (N,) or (K, N)."""
    return gain * (x @ encoders.T) + bias


# --- exercise online.filter_step ----------------------------------------------------------------------

def filter_step(y, u, dt, tau):
    """Exercise online.filter_step: one Euler step of the synapse tau dy/dt = u - y.

    Arguments: y (C,) the filtered output before the step; u (C,) the decoded input now; dt, tau in
    seconds, tau >= dt (tau = dt passes u straight through).
    Returns: (C,) y + (dt / tau) (u - y).
    """
    return y + (dt / tau) * (u - y)


# --- exercise online.pes_update -----------------------------------------------------------------------

def pes_update(activities, error, learning_rate, dt):
    """Exercise online.pes_update: the change of the decoders by the PES (delta) rule, as in nengo.PES.

    Arguments: activities a (N,) rates; error e (C,) = y - y*; learning_rate kappa; dt seconds.
    Returns: (C, N) the change to add to the decoders, -(kappa dt / N) e a^T.
    """
    return -(learning_rate * dt / activities.shape[0]) * np.outer(error, activities)


# --- exercise online.fa_update ------------------------------------------------------------------------

def fa_update(x, current, error, feedback, gain, learning_rate, dt, neuron="relu"):
    """Exercise online.fa_update: online feedback alignment on the encoders and biases.

    Arguments:
        x (D,) the presynaptic input now; current J (N,) the neurons' input currents now;
        error e (C,) = y - y*; feedback B (N, C) fixed; gain g (N,);
        learning_rate eta; dt seconds; neuron "relu" or "lif" (the curve G).
    Returns:
        {"encoders": (N, D) -eta dt (g * delta) x^T, "biases": (N,) -eta dt delta},
        with delta = (B @ e) * G'(J): the changes to add to E and b.
    """
    delta = (feedback @ error) * rate_derivative(current, neuron)
    return {"encoders": -learning_rate * dt * np.outer(gain * delta, x),
            "biases": -learning_rate * dt * delta}


# --- the whole simulation -----------------------------------------------------------------------------

def simulate(network, x, y_target, dt=0.001, tau=0.01, neuron="relu", decoder_rate=1e-4,
             encoder_rate=0.0, feedback="fa", record_every=100, learn_steps=None):
    """Run the network over the inputs, learning as it goes (the equations of the module docstring).

    Arguments:
        network: init_network's dict (not modified). x (K, D), y_target (K, C): the task.
        feedback: "fa" (B = network["feedback"]) or "bp" (B = d^T at every step, weight transport);
            encoder_rate (eta, for the encoders and the biases) = 0 is the decoders-only baseline.
        learn_steps: the rules change the weights during the first learn_steps steps only (None: all);
            the steps after it test what was learned.
    Returns {"y": (K, C) the filtered output y_k, "error": (K, C) e_k, "network": the learned weights,
             "angle_steps": (R,) steps at which the angle between B and d^T was recorded (every
             record_every steps, from step 0), "angle": (R,) degrees (nan while d = 0)}.
    """
    E, b = network["encoders"].copy(), network["bias"].copy()
    d, g, B = network["decoders"].copy(), network["gain"], network["feedback"]
    K, C = y_target.shape
    y = np.zeros(C)
    ys, errors, angles = np.empty((K, C)), np.empty((K, C)), []
    for k in range(K):
        if k % record_every == 0:
            angles.append(angle_degrees(B, d.T) if np.any(d) else np.nan)
        J = currents(x[k], E, g, b)
        a = rate(J, neuron)
        e = y - y_target[k]
        ys[k], errors[k] = y, e
        y = filter_step(y, d @ a, dt, tau)          # the output the next step sees
        if learn_steps is not None and k >= learn_steps:
            continue
        if encoder_rate:
            update = fa_update(x[k], J, e, B if feedback == "fa" else d.T, g, encoder_rate, dt, neuron)
            E, b = E + update["encoders"], b + update["biases"]
        d = d + pes_update(a, e, decoder_rate, dt)
    return {"y": ys, "error": errors, "network": {**network, "encoders": E, "bias": b, "decoders": d},
            "angle_steps": np.arange(0, K, record_every), "angle": np.array(angles)}


def nrmse(y, y_target, fraction: float = 0.25) -> float:
    """Normalised RMS error over the last `fraction` of the run: RMS(y - y*) / RMS(y*)."""
    start = int(round(len(y) * (1 - fraction)))
    err, ref = np.asarray(y)[start:] - np.asarray(y_target)[start:], np.asarray(y_target)[start:]
    return float(np.sqrt(np.mean(err**2)) / np.sqrt(np.mean(ref**2)))


def least_squares_decoders(network, x, y_target, neuron="relu", reg=0.0):
    """The decoders that minimise sum_k ||d a_k - y*_k||^2 (+ reg ||d||^2 K) with fixed encoders: (C, N).
    PES converges to them (the tests check it)."""
    A = rate(currents(x, network["encoders"], network["gain"], network["bias"]), neuron)
    K = len(A)
    return np.linalg.solve(A.T @ A + reg * K * np.eye(A.shape[1]), A.T @ y_target).T


# --- the runner's entry point -------------------------------------------------------------------------

SETTINGS = ("neurons", "neuron", "seconds", "dt", "tau", "decoder_rate", "encoder_rate",
            "feedback", "feedback_scale", "record_every", "learn_fraction")


def _config(name: str, cfg: dict) -> dict:
    unknown = sorted(set(cfg) - set(SETTINGS))
    if unknown:
        raise ValueError(f"online rule {name!r} has no setting(s) {unknown}; it has {sorted(SETTINGS)}")
    return cfg


def _json(value):
    if isinstance(value, (tuple, list)):
        return [_json(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def run_rule(name: str, cfg: dict, backend: str = "jax", seeds=(0,), progress: bool = False) -> dict:
    """Simulate an online rule (registered with kind="online") for each seed and report its error.

    Seed s draws its own network (encoders, gains, biases, B) with numpy's default_rng(s); the
    decoders start at zero. On "jax" the seeds run as one vmapped, compiled program.
    Returns a JSON-serialisable dict: rule, backend, task, simulated_seconds, dt, neurons, nrmse (mean
    over seeds, over the last quarter), nrmse_per_seed, seconds (wall time, compile excluded),
    compile_seconds, sim_seconds_per_wall_second (simulated seconds of all seeds per wall second),
    seeds, config.
    """
    cfg = _config(name, dict(cfg))
    seeds = [int(s) for s in seeds]
    steps = int(round(cfg["seconds"] / cfg["dt"]))
    _, x, target = task(steps, cfg["dt"])
    networks = [init_network(np.random.default_rng(s), cfg["neurons"], neuron=cfg["neuron"],
                             feedback_scale=cfg["feedback_scale"]) for s in seeds]
    sim = {k: cfg[k] for k in ("dt", "tau", "neuron", "decoder_rate", "encoder_rate", "feedback",
                                "record_every")}
    sim["learn_steps"] = int(round(cfg.get("learn_fraction", 1.0) * steps))
    if backend == "numpy":
        compile_seconds, start = 0.0, time.perf_counter()
        outputs = []
        for network in networks:
            outputs.append(simulate(network, x, target, **sim)["y"])
        seconds = time.perf_counter() - start
    elif backend == "jax":
        from .jax import online as jax_online
        outputs, compile_seconds, seconds = jax_online.simulate_seeds(networks, x, target, **sim)
    else:
        raise ValueError(f"unknown backend {backend!r}; choose numpy or jax")
    per_seed = [nrmse(y, target) for y in outputs]
    return {"rule": name, "backend": backend, "task": TASK, "simulated_seconds": steps * cfg["dt"],
            "dt": cfg["dt"], "neurons": cfg["neurons"], "nrmse": float(np.mean(per_seed)),
            "nrmse_per_seed": per_seed, "seconds": seconds, "compile_seconds": compile_seconds,
            "sim_seconds_per_wall_second": len(seeds) * steps * cfg["dt"] / max(seconds, 1e-12),
            "seeds": seeds, "config": {k: _json(v) for k, v in cfg.items()}}
