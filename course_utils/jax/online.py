"""JAX twin of course_utils.online: the same equations and names (float32, jitted).

The simulation is one ``lax.scan`` over the time steps (an outer scan over recordings of the angle
between B and d^T, an inner scan over the ``record_every`` steps between them); several seeds run as
one program with ``vmap``. The task (inputs, target) is computed once in NumPy and passed in, so the
NumPy reference and this twin see the same samples; the networks come from
``course_utils.online.init_network`` with numpy's default_rng(seed) (explicit seeds, no global RNG).
The neurons' constants come from ``course_utils.neurons``, as the reference's do; this module does not
import the reference (whose ``run_rule`` imports this one for ``backend="jax"``).
"""
from __future__ import annotations

import time
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from ..neurons import LIF_TAU_RC, LIF_TAU_REF, RELU_RATE


def rate(current, neuron: str = "relu"):
    if neuron == "relu":
        return RELU_RATE * jnp.maximum(current, 0.0)
    above = current > 1.0
    Jc = jnp.where(above, current, 2.0)
    return jnp.where(above, 1.0 / (LIF_TAU_REF + LIF_TAU_RC * jnp.log1p(1.0 / (Jc - 1.0))), 0.0)


def rate_derivative(current, neuron: str = "relu"):
    if neuron == "relu":
        return RELU_RATE * (current > 0).astype(current.dtype)
    above = current > 1.0
    Jc = jnp.where(above, current, 2.0)
    return jnp.where(above, LIF_TAU_RC * rate(Jc, "lif") ** 2 / (Jc * (Jc - 1.0)), 0.0)


def filter_step(y, u, dt, tau):
    return y + (dt / tau) * (u - y)


def pes_update(activities, error, learning_rate, dt):
    return -(learning_rate * dt / activities.shape[0]) * jnp.outer(error, activities)


def fa_update(x, current, error, feedback, gain, learning_rate, dt, neuron="relu"):
    delta = (feedback @ error) * rate_derivative(current, neuron)
    return {"encoders": -learning_rate * dt * jnp.outer(gain * delta, x),
            "biases": -learning_rate * dt * delta}


def _angle(B, d):
    """Degrees between B (N, C) and d^T; nan while d = 0 (as the reference)."""
    nb, nd = jnp.linalg.norm(B), jnp.linalg.norm(d)
    cos = jnp.sum(B * d.T) / jnp.maximum(nb * nd, 1e-30)
    return jnp.where(nd > 0, jnp.degrees(jnp.arccos(jnp.clip(cos, -1.0, 1.0))), jnp.nan)


@partial(jax.jit, static_argnames=("neuron", "feedback", "record_every", "learn_steps"))
def simulate(network, x, y_target, dt=0.001, tau=0.01, neuron="relu", decoder_rate=1e-4,
             encoder_rate=0.0, feedback="fa", record_every=100, learn_steps=None):
    """As course_utils.online.simulate (same arguments; len(x) a multiple of record_every).
    Returns {"y", "error", "network", "angle_steps", "angle"} as JAX arrays."""
    K, C = y_target.shape
    R = K // record_every
    g, B = network["gain"], network["feedback"]
    learn_until = K if learn_steps is None else learn_steps

    def step(carry, inputs):
        E, b, d, y = carry
        k, xk, yk = inputs
        J = g * (E @ xk) + b
        a = rate(J, neuron)
        e = y - yk
        y_now, y = y, filter_step(y, d @ a, dt, tau)
        learning = k < learn_until
        fb = B if feedback == "fa" else d.T
        update = fa_update(xk, J, e, fb, g, encoder_rate, dt, neuron)
        E = E + jnp.where(learning, update["encoders"], 0.0)
        b = b + jnp.where(learning, update["biases"], 0.0)
        d = d + jnp.where(learning, pes_update(a, e, decoder_rate, dt), 0.0)
        return (E, b, d, y), (y_now, e)

    def record(carry, inputs):
        angle = _angle(B, carry[2])
        carry, (ys, es) = jax.lax.scan(step, carry, inputs)
        return carry, (ys, es, angle)

    ks = jnp.arange(K).reshape(R, record_every)
    xs = jnp.asarray(x, jnp.float32).reshape(R, record_every, -1)
    ts = jnp.asarray(y_target, jnp.float32).reshape(R, record_every, C)
    init = (network["encoders"], network["bias"], network["decoders"], jnp.zeros(C, jnp.float32))
    (E, b, d, _), (ys, es, angles) = jax.lax.scan(record, init, (ks, xs, ts))
    return {"y": ys.reshape(K, C), "error": es.reshape(K, C),
            "network": {**network, "encoders": E, "bias": b, "decoders": d},
            "angle_steps": jnp.arange(0, K, record_every), "angle": angles}


def to_jax(network):
    return {k: jnp.asarray(v, jnp.float32) for k, v in network.items()}


def simulate_seeds(networks, x, y_target, record_every=100, **settings):
    """Simulate several networks (one per seed) on the same task as one vmapped program.

    Returns (outputs: list of (K, C) NumPy arrays, compile_seconds, seconds): the compile time of the
    program and the wall time of running it, measured apart."""
    K = len(x)
    record_every = int(record_every) if K % int(record_every) == 0 else 1
    stacked = jax.tree_util.tree_map(lambda *v: jnp.stack(v), *[to_jax(n) for n in networks])
    run = jax.jit(jax.vmap(partial(simulate, record_every=record_every, **settings), in_axes=(0, None, None)))
    x32, t32 = jnp.asarray(x, jnp.float32), jnp.asarray(y_target, jnp.float32)
    start = time.perf_counter()
    compiled = run.lower(stacked, x32, t32).compile()
    compile_seconds = time.perf_counter() - start
    start = time.perf_counter()
    out = compiled(stacked, x32, t32)
    ys = np.asarray(jax.block_until_ready(out["y"]), dtype=np.float64)
    seconds = time.perf_counter() - start
    return [ys[i] for i in range(len(networks))], compile_seconds, seconds


def sweep(network, x, y_target, decoder_rates, taus, **settings):
    """nrmse over the last quarter for every (decoder_rate, tau) pair, learning on all the way (one
    vmapped program over the grid). Returns a (len(decoder_rates), len(taus)) NumPy array; a run that
    blows up reports inf."""
    net = to_jax(network)
    x32, t32 = jnp.asarray(x, jnp.float32), jnp.asarray(y_target, jnp.float32)
    K = len(x)
    start = int(round(0.75 * K))
    settings.setdefault("record_every", 100 if K % 100 == 0 else 1)

    def one(rate, tau):
        y = simulate(net, x32, t32, tau=tau, decoder_rate=rate, **settings)["y"]
        err = jnp.sqrt(jnp.mean((y[start:] - t32[start:]) ** 2)) / jnp.sqrt(jnp.mean(t32[start:] ** 2))
        return jnp.where(jnp.isfinite(err), err, jnp.inf)
    rates = jnp.asarray(decoder_rates, jnp.float32)
    ts = jnp.asarray(taus, jnp.float32)
    grid = jax.jit(jax.vmap(jax.vmap(one, in_axes=(None, 0)), in_axes=(0, None)))(rates, ts)
    return np.asarray(grid, dtype=np.float64)


def alignment_over_time(networks, x, y_target, record_every=100, **settings):
    """The angle between B and d^T (degrees) every record_every steps, for several networks at once
    (vmapped): (S, R) NumPy array."""
    stacked = jax.tree_util.tree_map(lambda *v: jnp.stack(v), *[to_jax(n) for n in networks])
    run = jax.jit(jax.vmap(lambda net: simulate(net, jnp.asarray(x, jnp.float32), jnp.asarray(y_target, jnp.float32),
                                                record_every=record_every, **settings)["angle"]))
    return np.asarray(run(stacked), dtype=np.float64)
