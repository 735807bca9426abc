"""JAX twin of course_utils.eqprop (float32, jittable): the same equations, relaxation in
``lax.fori_loop``, persistent particles gathered and scattered by example index, random or symmetric
nudging, explicit keys. The input is clamped, so its drive rho(x) W1^T + b1 is computed once per
relaxation rather than at every step.
"""
from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp

from ..registry import Backend

UNROLL = 1  # fori_loop unrolling measured no faster on 2 CPU cores


def rho(s):
    return jnp.clip(s, 0.0, 1.0)


def rho_derivative(s):
    return ((s >= 0.0) & (s <= 1.0)).astype(s.dtype)


def num_layers(params):
    return len([k for k in params if k.startswith("W")])


def energy(params, x, h, y):
    rx, rh, ry = rho(x), rho(h), rho(y)
    squares = 0.5 * (jnp.sum(h**2, axis=1) + jnp.sum(y**2, axis=1))
    hidden = jnp.sum(rh * (rx @ params["W1"].T + params["b1"][None, :]), axis=1)
    output = jnp.sum(ry * (rh @ params["W2"].T + params["b2"][None, :]), axis=1)
    return squares - hidden - output


def layered_energy(params, x, states):
    """(N,): the energy of a net of any depth, as course_utils.eqprop.layered_energy."""
    below = [x] + list(states[:-1])
    E = 0.5 * sum(jnp.sum(s**2, axis=1) for s in states)
    for l, (s, s_below) in enumerate(zip(states, below), start=1):
        E = E - jnp.sum(rho(s) * (rho(s_below) @ params[f"W{l}"].T + params[f"b{l}"][None, :]), axis=1)
    return E


def layered_state_gradients(params, input_drive, states, target=None, beta=0.0):
    """As the NumPy reference, with the clamped input's drive rho(x) W1^T + b1 given precomputed."""
    L = num_layers(params)
    grads = []
    for l in range(1, L + 1):
        drive = input_drive if l == 1 else rho(states[l - 2]) @ params[f"W{l}"].T + params[f"b{l}"][None, :]
        if l < L:
            drive = drive + rho(states[l]) @ params[f"W{l + 1}"]
        grads.append(states[l - 1] - rho_derivative(states[l - 1]) * drive)
    if target is not None:
        grads[-1] = grads[-1] + beta * (states[-1] - target)
    return grads


def input_drive(params, x):
    return rho(x) @ params["W1"].T + params["b1"][None, :]


def layered_relax(params, x, states, target, beta, epsilon, steps, drive=None):
    """``steps`` relaxation steps; ``drive`` = input_drive(params, x) when the caller has it already."""
    drive = input_drive(params, x) if drive is None else drive

    def body(_, states):
        grads = layered_state_gradients(params, drive, states, target, beta)
        return [jnp.clip(s - epsilon * g, 0.0, 1.0) for s, g in zip(states, grads)]

    return jax.lax.fori_loop(0, steps, body, list(states), unroll=UNROLL)


def layered_eqprop_gradient(x, free, nudged, beta):
    n = x.shape[0]
    free, nudged = [rho(x)] + [rho(s) for s in free], [rho(x)] + [rho(s) for s in nudged]
    # the input is clamped (the same in both phases): one product instead of two for W1
    grads = {"W1": -((nudged[1] - free[1]).T @ free[0]) / (beta * n),
             "b1": -jnp.mean(nudged[1] - free[1], axis=0) / beta}
    for l in range(2, len(free)):
        grads[f"W{l}"] = -(nudged[l].T @ nudged[l - 1] - free[l].T @ free[l - 1]) / (beta * n)
        grads[f"b{l}"] = -jnp.mean(nudged[l] - free[l], axis=0) / beta
    return grads


def symmetric_eqprop_gradient(x, plus, minus, beta):
    """-(1/(2 beta)) [rho rho at +beta - rho rho at -beta]: the two-sided estimate, O(beta^2) bias."""
    n = x.shape[0]
    plus, minus = [rho(x)] + [rho(s) for s in plus], [rho(x)] + [rho(s) for s in minus]
    grads = {}
    for l in range(1, len(plus)):
        grads[f"W{l}"] = -(plus[l].T @ plus[l - 1] - minus[l].T @ minus[l - 1]) / (2 * beta * n)
        grads[f"b{l}"] = -jnp.mean(plus[l] - minus[l], axis=0) / (2 * beta)
    return grads


def init_eqprop(key, sizes):
    keys = jax.random.split(key, len(sizes) - 1)
    params = {}
    for l, (k, fan_in, fan_out) in enumerate(zip(keys, sizes[:-1], sizes[1:]), start=1):
        limit = jnp.sqrt(6.0 / (fan_in + fan_out))
        params[f"W{l}"] = jax.random.uniform(k, (fan_out, fan_in), minval=-limit, maxval=limit)
        params[f"b{l}"] = jnp.zeros(fan_out)
    return params


def _init(key, cfg):
    from ..eqprop import check_config
    check_config(cfg)
    return {"params": init_eqprop(key, cfg["sizes"]),
            "states": [jnp.zeros((cfg["train_size"], n)) for n in cfg["sizes"][1:]]}


def eqprop_step(state, batch, key, cfg):
    params, idx, x, t = state["params"], batch["index"], batch["x"], batch["y"]
    eps = cfg["epsilon"]
    drive = input_drive(params, x)                      # once per minibatch: the input is clamped
    free = layered_relax(params, x, [s[idx] for s in state["states"]], t, 0.0, eps, cfg["free_steps"], drive)
    if cfg.get("symmetric", False):
        plus = layered_relax(params, x, free, t, cfg["beta"], eps, cfg["nudged_steps"], drive)
        minus = layered_relax(params, x, free, t, -cfg["beta"], eps, cfg["nudged_steps"], drive)
        grads = symmetric_eqprop_gradient(x, plus, minus, cfg["beta"])
    else:
        sign = jnp.where(jax.random.bernoulli(key), 1.0, -1.0) if cfg["random_sign"] else 1.0
        beta = cfg["beta"] * sign
        nudged = layered_relax(params, x, free, t, beta, eps, cfg["nudged_steps"], drive)
        grads = layered_eqprop_gradient(x, free, nudged, beta)
    lrs = cfg["learning_rates"]
    new = {k: params[k] - lrs[int(k[1:]) - 1] * grads[k] for k in params}
    particles = [stored.at[idx].set(settled) for stored, settled in zip(state["states"], free)]
    loss = jnp.mean(0.5 * jnp.sum((free[-1] - t) ** 2, axis=1))
    return {"params": new, "states": particles}, {"loss": loss}


@partial(jax.jit, static_argnames=("epsilon", "steps", "sizes"))
def _predict_jit(params, x, epsilon, steps, sizes):
    states = [jnp.zeros((x.shape[0], n)) for n in sizes[1:]]
    return jnp.argmax(layered_relax(params, x, states, None, 0.0, epsilon, steps)[-1], axis=1)


def _predict(state, x, cfg):
    return _predict_jit(state["params"], x, cfg["epsilon"], cfg["predict_steps"], tuple(cfg["sizes"]))


EQPROP = Backend(_init, eqprop_step, _predict)


# --- the link to backprop ----------------------------------------------------------------------

@partial(jax.jit, static_argnames=("steps",))
def fixed_point(params, x, epsilon=0.5, steps=500):
    """The free phase run to convergence from zero states: the list of states [s_1, ..., s_L]."""
    states = [jnp.zeros((x.shape[0], params[f"b{l}"].shape[0]), x.dtype) for l in range(1, num_layers(params) + 1)]
    return layered_relax(params, x, states, None, 0.0, epsilon, steps)


@partial(jax.jit, static_argnames=("steps", "backprop_steps"))
def implicit_gradient(params, x, target, epsilon=0.5, steps=500, backprop_steps=200):
    """The true gradient of the mean cost at the free fixed point, d/dtheta C(s*(theta)), by recurrent
    backprop: start at the fixed point s*, relax ``backprop_steps`` more steps (which leaves s* where
    it is) and differentiate the cost through them with jax.grad. As the number of steps grows this is
    the implicit-function-theorem gradient -dC/ds (d^2F/ds^2)^-1 d^2F/ds dtheta (on the units inside
    [0, 1]; a unit clipped at a wall stays there and passes no gradient)."""
    start = jax.lax.stop_gradient(fixed_point(params, x, epsilon, steps))

    def cost_at_fixed_point(p):
        states = layered_relax(p, x, start, None, 0.0, epsilon, backprop_steps)
        return jnp.mean(0.5 * jnp.sum((states[-1] - target) ** 2, axis=1))

    return jax.grad(cost_at_fixed_point)(params)


@partial(jax.jit, static_argnames=("steps",))
def nudged_estimates(params, x, target, free, beta, epsilon=0.5, steps=4):
    """From a free fixed point, ``steps`` nudged steps at +beta and at -beta: returns the one-sided
    (+beta) and the symmetric EqProp estimates (for the explorer of tutorial 03)."""
    plus = layered_relax(params, x, free, target, beta, epsilon, steps)
    minus = layered_relax(params, x, free, target, -beta, epsilon, steps)
    return layered_eqprop_gradient(x, free, plus, beta), symmetric_eqprop_gradient(x, plus, minus, beta)


@partial(jax.jit, static_argnames=("symmetric", "steps"))
def eqprop_estimate(params, x, target, beta, symmetric=False, epsilon=0.5, steps=500):
    """The EqProp gradient estimate with both phases run to convergence (one-sided or symmetric)."""
    free = fixed_point(params, x, epsilon, steps)
    plus = layered_relax(params, x, free, target, beta, epsilon, steps)
    if not symmetric:
        return layered_eqprop_gradient(x, free, plus, beta)
    minus = layered_relax(params, x, free, target, -beta, epsilon, steps)
    return symmetric_eqprop_gradient(x, plus, minus, beta)


def cosine_vs_beta(params, x, target, betas, epsilon=0.5, steps=500, progress=False):
    """Cosine similarity of the one-sided and the symmetric estimates to implicit_gradient, per beta.

    Returns {"one-sided": (B,), "symmetric": (B,)} numpy arrays (the figure of tutorial 03, section 4).
    progress: a progress bar over the true gradient and the 2 B estimates (the first of each kind
    includes its compilation).
    """
    import numpy as np

    from ..metrics import cosine_similarity
    from ..progress import progress_bar
    with progress_bar(total=1 + 2 * len(betas), desc="cosine vs beta", disable=not progress,
                      unit="estimate") as bar:
        bar.set_postfix_str("true gradient")
        true = jax.block_until_ready(implicit_gradient(params, x, target, epsilon, steps))
        bar.update(1)
        cosines = {}
        for name, sym in (("one-sided", False), ("symmetric", True)):
            bar.set_postfix_str(name)
            values = []
            for b in betas:
                values.append(cosine_similarity(eqprop_estimate(params, x, target, b, sym, epsilon, steps), true))
                bar.update(1)
            cosines[name] = np.array(values)
        bar.set_postfix_str("")
    return cosines
