"""Tutorial 03, equilibrium propagation (Scellier and Bengio 2017): NumPy references (float64).

A layered Hopfield-like network with the input x clamped and free states s = (h, y) in [0, 1]:

    rho(s) = clip(s, 0, 1)                                          (hard sigmoid)
    E(s)   = 1/2 (||h||^2 + ||y||^2) - rho(h) . (W1 rho(x) + b1) - rho(y) . (W2 rho(h) + b2)
    C(y)   = 1/2 ||y - t||^2,          F = E + beta C
    relax: s <- clip(s - epsilon dF/ds, 0, 1)                      (projected gradient descent on F)

Free phase: relax with beta = 0 to a fixed point s^0. Nudged phase: from s^0, relax with beta != 0 to
s^beta, the output pulled a little towards the target. The parameter update only compares the two:

    dL/dW_ij ~ -(1/beta) [rho(s_i^beta) rho(s_j^beta) - rho(s_i^0) rho(s_j^0)],
    dL/db_i  ~ -(1/beta) [rho(s_i^beta) - rho(s_i^0)]

(an estimate of the gradient of the cost at the free fixed point, exact as beta -> 0; the caller
subtracts the learning rate times it, as for every rule of the course). Nudging both ways, +beta and
-beta, and dividing the difference by 2 beta (symmetric_eqprop_gradient) cancels the O(beta) bias.
Weights are (out, in) as everywhere: W1 (H, D), W2 (C, H). Energies are per example; updates are
batch means.

Sections: the two-layer exercises; the same equations for any depth (layered_*), used for training;
the registered rule (persistent particles); the fixed helpers of the debugging exercise.
"""
from __future__ import annotations

import numpy as np


def rho(s):
    """The hard sigmoid of the paper: clip(s, 0, 1). (Not jax.nn.hard_sigmoid, which is relu6(s + 3) / 6.)"""
    return np.clip(s, 0.0, 1.0)


def rho_derivative(s):
    """d rho / ds: 1 on [0, 1], 0 outside."""
    return ((s >= 0.0) & (s <= 1.0)).astype(np.float64)


def energy(params, x, h, y):
    """Exercise eqprop.energy: the Hopfield energy of each example.

    Arguments:
        params: {"W1": (H, D), "b1": (H,), "W2": (C, H), "b2": (C,)}.
        x: (N, D) clamped input. h: (N, H), y: (N, C) states. Any real values: rho applies to the
        input as to every unit.
    Returns:
        (N,): E_n = 1/2 (||h_n||^2 + ||y_n||^2) - rho(h_n) . (W1 rho(x_n) + b1) - rho(y_n) . (W2 rho(h_n) + b2).
        The squared term is on the state s, not on rho(s).
    """
    rx, rh, ry = rho(x), rho(h), rho(y)
    squares = 0.5 * (np.sum(h**2, axis=1) + np.sum(y**2, axis=1))
    hidden = np.sum(rh * (rx @ params["W1"].T + params["b1"]), axis=1)
    output = np.sum(ry * (rh @ params["W2"].T + params["b2"]), axis=1)
    return squares - hidden - output


def cost(y, target):
    """(N,) cost C = 1/2 ||y - t||^2 of each example."""
    return 0.5 * np.sum((y - target) ** 2, axis=1)


def state_gradients(params, x, h, y, target=None, beta=0.0):
    """dF/dh (N, H) and dF/dy (N, C) of F = E + beta C, for each example.

    dE/dh = h - rho'(h) * (rho(x) W1^T + b1 + rho(y) W2)
    dE/dy = y - rho'(y) * (rho(h) W2^T + b2),      dC/dy = y - t
    """
    rx, rh, ry = rho(x), rho(h), rho(y)
    dh = h - rho_derivative(h) * (rx @ params["W1"].T + params["b1"] + ry @ params["W2"])
    dy = y - rho_derivative(y) * (rh @ params["W2"].T + params["b2"])
    if beta != 0.0:
        dy = dy + beta * (y - target)
    return dh, dy


def relaxation_step(params, x, h, y, target, beta, epsilon):
    """Exercise eqprop.relaxation_step: one projected gradient-descent step on F = E + beta C.

    Arguments:
        params, x, h, y: as in energy (h, y in [0, 1]; rho'(s) is 1 on the closed interval).
        target: (N, C) one-hot, or None in the free phase (beta = 0, when the cost is not used).
        beta: the nudging strength (0 in the free phase). epsilon: the step size.
    Returns:
        (h_new, y_new): clip(s - epsilon dF/ds, 0, 1) for s = h and s = y, both computed from the
        current (h, y) (a simultaneous update).
    """
    dh, dy = state_gradients(params, x, h, y, target, beta)
    return np.clip(h - epsilon * dh, 0.0, 1.0), np.clip(y - epsilon * dy, 0.0, 1.0)


def relax(params, x, h, y, target, beta, epsilon, steps):
    """``steps`` relaxation steps from (h, y). Returns the final (h, y)."""
    for _ in range(steps):
        h, y = relaxation_step(params, x, h, y, target, beta, epsilon)
    return h, y


def eqprop_gradient(x, free, nudged, beta):
    """Exercise eqprop.eqprop_update: the EqProp estimate of dL/dtheta from the two fixed points.

    Arguments:
        x: (N, D) input (any real values: use rho(x)). free: (h0 (N, H), y0 (N, C)), the free fixed point.
        nudged: (hb, yb), the nudged fixed point. beta: the (signed) nudging strength used.
        (The states need not lie in [0, 1]: apply rho to them.)
    Returns:
        {"W1": (H, D), "b1": (H,), "W2": (C, H), "b2": (C,)}, batch means of
            W1: -(1/beta) [rho(hb)^T rho(x) - rho(h0)^T rho(x)] / N
            b1: -(1/beta) mean_n [rho(hb) - rho(h0)]
            W2: -(1/beta) [rho(yb)^T rho(hb) - rho(y0)^T rho(h0)] / N
            b2: -(1/beta) mean_n [rho(yb) - rho(y0)]
    """
    n = x.shape[0]
    rx = rho(x)
    (h0, y0), (hb, yb) = (rho(free[0]), rho(free[1])), (rho(nudged[0]), rho(nudged[1]))
    return {
        "W1": -((hb - h0).T @ rx) / (beta * n),
        "b1": -np.mean(hb - h0, axis=0) / beta,
        "W2": -(yb.T @ hb - y0.T @ h0) / (beta * n),
        "b2": -np.mean(yb - y0, axis=0) / beta,
    }


# ----------------------------------------------------------------------------------------------
# The same equations for any number of layers (states [s_1, ..., s_L], s_0 = x clamped, s_L the
# output); the functions above are their two-layer statements, and the tests check they agree.
# The input is clamped, so its drive rho(x) W1^T + b1 is the same at every relaxation step: it is
# computed once (input_drive) and passed in, as in the JAX twin.

def num_layers(params):
    """L, the number of weight matrices W1..WL."""
    return len([k for k in params if k.startswith("W")])


def input_drive(params, x):
    """(N, H1): rho(x) W1^T + b1, what the clamped input sends to the first hidden layer."""
    return rho(x) @ params["W1"].T + params["b1"]


def layered_energy(params, x, states):
    """(N,): E = 1/2 sum_l ||s_l||^2 - sum_l rho(s_l) . (W_l rho(s_{l-1}) + b_l), s_0 = x."""
    below = [x] + states[:-1]
    E = 0.5 * sum(np.sum(s**2, axis=1) for s in states)
    for l, (s, s_below) in enumerate(zip(states, below), start=1):
        E = E - np.sum(rho(s) * (rho(s_below) @ params[f"W{l}"].T + params[f"b{l}"]), axis=1)
    return E


def layered_state_gradients(params, drive, states, target=None, beta=0.0):
    """[dF/ds_1, ..., dF/ds_L] of F = E + beta C, with drive = input_drive(params, x):

        dF/ds_l = s_l - rho'(s_l) * (rho(s_{l-1}) W_l^T + b_l + rho(s_{l+1}) W_{l+1})  (+ beta (s_L - t))

    where the first layer's rho(s_0) W_1^T + b_1 is the precomputed drive and the last has no s_{L+1}.
    """
    L = num_layers(params)
    grads = []
    for l in range(1, L + 1):
        bottom_up = drive if l == 1 else rho(states[l - 2]) @ params[f"W{l}"].T + params[f"b{l}"]
        top_down = rho(states[l]) @ params[f"W{l + 1}"] if l < L else 0.0
        grads.append(states[l - 1] - rho_derivative(states[l - 1]) * (bottom_up + top_down))
    if beta != 0.0:
        grads[-1] = grads[-1] + beta * (states[-1] - target)
    return grads


def layered_relax(params, x, states, target, beta, epsilon, steps, drive=None):
    """``steps`` projected gradient steps on F from ``states``; returns the final list of states.
    ``drive``: input_drive(params, x) when the caller has it already (it is then not recomputed)."""
    drive = input_drive(params, x) if drive is None else drive
    for _ in range(steps):
        grads = layered_state_gradients(params, drive, states, target, beta)
        states = [np.clip(s - epsilon * g, 0.0, 1.0) for s, g in zip(states, grads)]
    return states


def layered_eqprop_gradient(x, free, nudged, beta):
    """The EqProp estimate for every layer: -(1/beta) batch mean of the change in rho(s_l) rho(s_{l-1})."""
    n = x.shape[0]
    free, nudged = [rho(x)] + [rho(s) for s in free], [rho(x)] + [rho(s) for s in nudged]
    grads = {}
    for l in range(1, len(free)):
        grads[f"W{l}"] = -(nudged[l].T @ nudged[l - 1] - free[l].T @ free[l - 1]) / (beta * n)
        grads[f"b{l}"] = -np.mean(nudged[l] - free[l], axis=0) / beta
    return grads


def symmetric_eqprop_gradient(x, plus, minus, beta):
    """The two-sided estimate -(1/(2 beta)) [rho rho at +beta - rho rho at -beta], both phases started
    from the free fixed point: its bias is O(beta^2) instead of O(beta)."""
    n = x.shape[0]
    plus, minus = [rho(x)] + [rho(s) for s in plus], [rho(x)] + [rho(s) for s in minus]
    grads = {}
    for l in range(1, len(plus)):
        grads[f"W{l}"] = -(plus[l].T @ plus[l - 1] - minus[l].T @ minus[l - 1]) / (2 * beta * n)
        grads[f"b{l}"] = -np.mean(plus[l] - minus[l], axis=0) / (2 * beta)
    return grads


def settling_trajectory(params, x, epsilon=0.5, steps=50):
    """The free phase from zero states, recorded: for the view of the states settling.

    Returns (states, energies): states is a list over layers of (steps + 1, N, H_l) arrays (step 0 is
    the zero start), energies is (steps + 1, N).
    """
    drive = input_drive(params, x)
    states = [np.zeros((x.shape[0], params[f"b{l}"].shape[0])) for l in range(1, num_layers(params) + 1)]
    history, energies = [states], [layered_energy(params, x, states)]
    for _ in range(steps):
        states = layered_relax(params, x, states, None, 0.0, epsilon, 1, drive)
        history.append(states)
        energies.append(layered_energy(params, x, states))
    return [np.stack(layer) for layer in zip(*history)], np.stack(energies)


# ----------------------------------------------------------------------------------------------
# Training and the registered rule. Settings (course_utils/rules.py): sizes (D, H1, ..., C), epsilon,
# beta, free_steps, nudged_steps, predict_steps (free steps from zero at test time), learning_rates
# (one per layer), batch_size; random_sign (the sign of beta drawn per minibatch, as in the paper) or
# symmetric (+beta and -beta every minibatch; random_sign is then ignored). The state holds the
# parameters and the persistent particles: every training example's last free fixed point, indexed by
# batch["index"], from which its next free phase starts.

def init_eqprop(rng, sizes):
    """Glorot-uniform weights (as in the paper), zero biases; sizes = (D, H1, ..., C)."""
    params = {}
    for l, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        params[f"W{l}"] = rng.uniform(-limit, limit, size=(fan_out, fan_in))
        params[f"b{l}"] = np.zeros(fan_out)
    return params


def check_config(cfg):
    """Refuse settings that do not fit together, with a message that says what to change."""
    layers = len(cfg["sizes"]) - 1
    if len(cfg["learning_rates"]) != layers:
        raise ValueError(f"eqprop: sizes {tuple(cfg['sizes'])} has {layers} weight layers but learning_rates "
                         f"{tuple(cfg['learning_rates'])} has {len(cfg['learning_rates'])} entries: give one per layer")


def _init(rng, cfg):
    check_config(cfg)
    return {"params": init_eqprop(rng, cfg["sizes"]),
            "states": [np.zeros((cfg["train_size"], n)) for n in cfg["sizes"][1:]]}


def _step(state, batch, rng, cfg):
    """One minibatch: free phase from the stored particles, nudged phase(s), update, store.

    The particle arrays (train_size, H_l) belong to the training state and are updated in place (a
    copy per minibatch would cost more than the minibatch itself on full MNIST); the parameters are new.
    """
    params, idx, x, t = state["params"], batch["index"], batch["x"], batch["y"]
    eps, drive = cfg["epsilon"], input_drive(params, x)           # the input is clamped: drive once
    free = layered_relax(params, x, [s[idx] for s in state["states"]], t, 0.0, eps, cfg["free_steps"], drive)
    if cfg.get("symmetric", False):
        plus = layered_relax(params, x, free, t, cfg["beta"], eps, cfg["nudged_steps"], drive)
        minus = layered_relax(params, x, free, t, -cfg["beta"], eps, cfg["nudged_steps"], drive)
        grads = symmetric_eqprop_gradient(x, plus, minus, cfg["beta"])
    else:
        beta = cfg["beta"] * (rng.choice([-1.0, 1.0]) if cfg["random_sign"] else 1.0)
        nudged = layered_relax(params, x, free, t, beta, eps, cfg["nudged_steps"], drive)
        grads = layered_eqprop_gradient(x, free, nudged, beta)
    lrs = cfg["learning_rates"]
    new = {k: params[k] - lrs[int(k[1:]) - 1] * grads[k] for k in params}
    for stored, settled in zip(state["states"], free):
        stored[idx] = settled                                   # persistent particles
    return {"params": new, "states": state["states"]}, {"loss": float(np.mean(cost(free[-1], t)))}


def _predict(state, x, cfg):
    params = state["params"]
    x = np.asarray(x, dtype=np.float64)
    states = [np.zeros((len(x), n)) for n in cfg["sizes"][1:]]
    states = layered_relax(params, x, states, None, 0.0, cfg["epsilon"], cfg["predict_steps"])
    return np.argmax(states[-1], axis=1)


def _backend():
    from .registry import Backend
    return Backend(_init, _step, _predict)


EQPROP = _backend()


# ----------------------------------------------------------------------------------------------
# The debugging exercise: the three functions a beginner's implementation got wrong, done right.

def minibatch(x, targets, index, batch_size):
    """The index-th minibatch: rows index*batch_size to (index+1)*batch_size of x and targets."""
    rows = slice(index * batch_size, (index + 1) * batch_size)
    return x[rows], targets[rows]


def error_rate(outputs, targets):
    """Fraction of examples whose largest output is not the target class.

    Arguments: outputs (N, C) output states; targets (N, C) one-hot. Returns: float in [0, 1].
    """
    return float(np.mean(np.argmax(outputs, axis=1) != np.argmax(targets, axis=1)))


def energy_trace(params, x, h, y, epsilon, steps):
    """The mean energy after each of ``steps`` free-phase steps (for the monotone-decrease check)."""
    trace = [float(np.mean(energy(params, x, h, y)))]
    for _ in range(steps):
        h, y = relaxation_step(params, x, h, y, None, 0.0, epsilon)
        trace.append(float(np.mean(energy(params, x, h, y))))
    return np.array(trace)
