"""Tutorial 03 (equilibrium propagation), answered as students answer it: from the notebook's text, the
stubs' docstrings and the helper of the setup cell (``rho``), never from the references. Answers may call
the student's own earlier answers (the relaxation and the update built on the student's own energy, with
jax.grad).

CORRECT: the equations in several styles (einsum, loops, float32, jax.numpy, jax.grad of the student's own
energy), and one ``literal_<function>`` per exercise that follows the text's equations symbol by symbol.
WRONG: first what the text invites (1/2 rho(s)^2, which the text warns about; the Hopfield habit of 1/2 on
the couplings; the beginner's helpers of Section 6, jax.nn.hard_sigmoid among them, and the other hard
sigmoids of the literature; the symmetric estimate's 1/(2 beta) of Section 4; the product of the
differences instead of the difference of the products; jax.grad through jnp.clip, whose derivative on
the walls is 1/2), then sign, axis, transpose, mean-versus-sum and missing-term errors. A comment
"[property: ...]" names the documented property that a fixture kind separates (the properties are listed
above each ``_xxx_hidden`` generator in autograder/exercises/eqprop.py).
"""
import jax
import jax.numpy as jnp
import numpy as np

from course_utils.eqprop import rho

E = "eqprop."
EN, RS, UP = E + "energy", E + "relaxation_step", E + "eqprop_update"
RHO, MB, ER = E + "debug_rho", E + "debug_minibatch", E + "debug_error_rate"


# ======================================================================================================
# Exercise 1: energy
# ======================================================================================================

def energy(params, x, h, y):
    """The student's Exercise 1."""
    squares = 0.5 * (np.sum(h**2, axis=1) + np.sum(y**2, axis=1))
    hidden = np.sum(rho(h) * (rho(x) @ params["W1"].T + params["b1"]), axis=1)
    output = np.sum(rho(y) * (rho(h) @ params["W2"].T + params["b2"]), axis=1)
    return squares - hidden - output


def energy_einsum(params, x, h, y):
    rx, rh, ry = rho(x), rho(h), rho(y)
    coupling = np.einsum("nh,hd,nd->n", rh, params["W1"], rx) + np.einsum("nc,ch,nh->n", ry, params["W2"], rh)
    biases = rh @ params["b1"] + ry @ params["b2"]
    return 0.5 * (np.einsum("nh,nh->n", h, h) + np.einsum("nc,nc->n", y, y)) - coupling - biases


def energy_loops(params, x, h, y):
    out = np.zeros(len(x))
    for n in range(len(x)):
        rx, rh, ry = np.clip(x[n], 0, 1), np.clip(h[n], 0, 1), np.clip(y[n], 0, 1)
        out[n] = (0.5 * (h[n] @ h[n] + y[n] @ y[n]) - rh @ (params["W1"] @ rx + params["b1"])
                  - ry @ (params["W2"] @ rh + params["b2"]))
    return out


def energy_transposed_view(params, x, h, y):
    # rho(h) . (W1 rho(x)) = rho(x) . (W1^T rho(h)): the same number, the other way round
    rx, rh, ry = rho(x), rho(h), rho(y)
    return (0.5 * ((h * h).sum(-1) + (y * y).sum(-1)) - ((rh @ params["W1"]) * rx).sum(-1) - rh @ params["b1"]
            - ((ry @ params["W2"]) * rh).sum(-1) - ry @ params["b2"])


def energy_float32(params, x, h, y):
    f = np.float32
    p = {k: v.astype(f) for k, v in params.items()}
    x, h, y = x.astype(f), h.astype(f), y.astype(f)
    rx, rh, ry = np.clip(x, f(0), f(1)), np.clip(h, f(0), f(1)), np.clip(y, f(0), f(1))
    return (f(0.5) * ((h**2).sum(1) + (y**2).sum(1)) - (rh * (rx @ p["W1"].T + p["b1"])).sum(1)
            - (ry * (rh @ p["W2"].T + p["b2"])).sum(1))


def _jax_energy(params, x, h, y):
    r = lambda s: jnp.clip(s, 0.0, 1.0)
    squares = 0.5 * (jnp.sum(h**2, axis=1) + jnp.sum(y**2, axis=1))
    hidden = jnp.sum(r(h) * (r(x) @ params["W1"].T + params["b1"][None, :]), axis=1)
    output = jnp.sum(r(y) * (r(h) @ params["W2"].T + params["b2"][None, :]), axis=1)
    return squares - hidden - output


def energy_jax(params, x, h, y):
    return _jax_energy({k: jnp.asarray(v) for k, v in params.items()}, jnp.asarray(x), jnp.asarray(h), jnp.asarray(y))


def literal_energy(params, x, h, y):
    # E(h, y) = 1/2 (||h||^2 + ||y||^2) - rho(h) . (W1 rho(x) + b1) - rho(y) . (W2 rho(h) + b2), per example
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    E_ = []
    for n in range(x.shape[0]):
        E_.append(1 / 2 * (np.linalg.norm(h[n]) ** 2 + np.linalg.norm(y[n]) ** 2)
                  - np.dot(rho(h[n]), W1 @ rho(x[n]) + b1)
                  - np.dot(rho(y[n]), W2 @ rho(h[n]) + b2))
    return np.array(E_)


# --- wrong -----------------------------------------------------------------------------------------

def energy_squares_of_rho(params, x, h, y):
    # [property: 1/2 s^2 on the state itself (states outside [0, 1])] the text's own warning
    rx, rh, ry = rho(x), rho(h), rho(y)
    return (0.5 * (np.sum(rh**2, 1) + np.sum(ry**2, 1)) - np.sum(rh * (rx @ params["W1"].T + params["b1"]), 1)
            - np.sum(ry * (rh @ params["W2"].T + params["b2"]), 1))


def energy_no_biases(params, x, h, y):
    # [property: the biases]
    rx, rh, ry = rho(x), rho(h), rho(y)
    return 0.5 * (np.sum(h**2, 1) + np.sum(y**2, 1)) - np.sum(rh * (rx @ params["W1"].T), 1) - np.sum(ry * (rh @ params["W2"].T), 1)


def energy_plus_couplings(params, x, h, y):
    # [property: the couplings lower the energy]
    rx, rh, ry = rho(x), rho(h), rho(y)
    return (0.5 * (np.sum(h**2, 1) + np.sum(y**2, 1)) + np.sum(rh * (rx @ params["W1"].T + params["b1"]), 1)
            + np.sum(ry * (rh @ params["W2"].T + params["b2"]), 1))


def energy_no_half(params, x, h, y):
    # [property: the 1/2]
    rx, rh, ry = rho(x), rho(h), rho(y)
    return (np.sum(h**2, 1) + np.sum(y**2, 1) - np.sum(rh * (rx @ params["W1"].T + params["b1"]), 1)
            - np.sum(ry * (rh @ params["W2"].T + params["b2"]), 1))


def energy_raw_x(params, x, h, y):
    # [property: rho(x) (inputs outside [0, 1])]
    rh, ry = rho(h), rho(y)
    return (0.5 * (np.sum(h**2, 1) + np.sum(y**2, 1)) - np.sum(rh * (x @ params["W1"].T + params["b1"]), 1)
            - np.sum(ry * (rh @ params["W2"].T + params["b2"]), 1))


def energy_no_rho(params, x, h, y):
    # [property: rho on every unit of a coupling (states outside [0, 1])] rho forgotten altogether
    return (0.5 * (np.sum(h**2, 1) + np.sum(y**2, 1)) - np.sum(h * (x @ params["W1"].T + params["b1"]), 1)
            - np.sum(y * (h @ params["W2"].T + params["b2"]), 1))


def energy_raw_h_below_y(params, x, h, y):
    # [property: rho on every unit of a coupling] W2 h instead of W2 rho(h)
    rx, rh, ry = rho(x), rho(h), rho(y)
    return (0.5 * (np.sum(h**2, 1) + np.sum(y**2, 1)) - np.sum(rh * (rx @ params["W1"].T + params["b1"]), 1)
            - np.sum(ry * (h @ params["W2"].T + params["b2"]), 1))


def energy_half_couplings(params, x, h, y):
    # [property: each coupling counted once] the Hopfield habit, -1/2 s^T W s
    rx, rh, ry = rho(x), rho(h), rho(y)
    return 0.5 * (np.sum(h**2, 1) + np.sum(y**2, 1) - np.sum(rh * (rx @ params["W1"].T + params["b1"]), 1)
                  - np.sum(ry * (rh @ params["W2"].T + params["b2"]), 1))


def energy_with_input_square(params, x, h, y):
    # [property: the squared term is over the free states] ||x||^2 included
    return energy(params, x, h, y) + 0.5 * np.sum(x**2, 1)


def energy_batch_mean(params, x, h, y):
    # [property: one energy per example, (N,)] the mean over the batch
    return np.mean(energy(params, x, h, y))


def energy_batch_total(params, x, h, y):
    # [property: one energy per example, (N,)] everything summed at once
    rx, rh, ry = rho(x), rho(h), rho(y)
    return (0.5 * (np.sum(h**2) + np.sum(y**2)) - np.sum(rh * (rx @ params["W1"].T + params["b1"]))
            - np.sum(ry * (rh @ params["W2"].T + params["b2"])))


def energy_W2_not_transposed(params, x, h, y):
    # [property: W2 is (C, H) (square layers)] rho(h) @ W2 (runs where H == C)
    rx, rh, ry = rho(x), rho(h), rho(y)
    return (0.5 * (np.sum(h**2, 1) + np.sum(y**2, 1)) - np.sum(rh * (rx @ params["W1"].T + params["b1"]), 1)
            - np.sum(ry * (rh @ params["W2"] + params["b2"]), 1))


def energy_negated(params, x, h, y):
    # [property: the sign of E] couplings minus squares
    return -energy(params, x, h, y)


def energy_bias_with_raw_state(params, x, h, y):
    # [property: rho on every unit of a coupling] the bias paired with the state, not rho(state)
    rx, rh, ry = rho(x), rho(h), rho(y)
    return (0.5 * (np.sum(h**2, 1) + np.sum(y**2, 1)) - np.sum(rh * (rx @ params["W1"].T), 1) - h @ params["b1"]
            - np.sum(ry * (rh @ params["W2"].T), 1) - y @ params["b2"])


def energy_only_hidden_square(params, x, h, y):
    # [property: both squared terms] ||y||^2 forgotten
    rx, rh, ry = rho(x), rho(h), rho(y)
    return (0.5 * np.sum(h**2, 1) - np.sum(rh * (rx @ params["W1"].T + params["b1"]), 1)
            - np.sum(ry * (rh @ params["W2"].T + params["b2"]), 1))


def energy_in_place(params, x, h, y):
    # [property: the inputs are not modified] rho applied in place
    np.clip(x, 0, 1, out=x)
    return energy(params, x, h, y)


# ======================================================================================================
# Exercise 2: relaxation_step
# ======================================================================================================

def _d_rho(s):
    return ((s >= 0) & (s <= 1)).astype(float)


def relaxation_step(params, x, h, y, target, beta, epsilon):
    dh = h - _d_rho(h) * (rho(x) @ params["W1"].T + params["b1"] + rho(y) @ params["W2"])
    dy = y - _d_rho(y) * (rho(h) @ params["W2"].T + params["b2"])
    if beta != 0:
        dy = dy + beta * (y - target)
    return np.clip(h - epsilon * dh, 0.0, 1.0), np.clip(y - epsilon * dy, 0.0, 1.0)


def relax_where(params, x, h, y, target, beta, epsilon):
    inside = lambda s: np.where((s >= 0) & (s <= 1), 1.0, 0.0)
    drive_h = rho(x) @ params["W1"].T + params["b1"] + rho(y) @ params["W2"]
    drive_y = rho(h) @ params["W2"].T + params["b2"]
    grad_y = y - inside(y) * drive_y + (beta * (y - target) if target is not None else 0.0)
    return np.clip(h - epsilon * (h - inside(h) * drive_h), 0, 1), np.clip(y - epsilon * grad_y, 0, 1)


def relax_without_rho_prime(params, x, h, y, target, beta, epsilon):
    # h and y lie in [0, 1] (the contract), where rho'(s) = 1: the factor can be left out
    dh = h - (rho(x) @ params["W1"].T + params["b1"] + rho(y) @ params["W2"])
    dy = y - (rho(h) @ params["W2"].T + params["b2"])
    if beta:
        dy += beta * (y - target)
    return np.clip(h - epsilon * dh, 0, 1), np.clip(y - epsilon * dy, 0, 1)


def relax_einsum(params, x, h, y, target, beta, epsilon):
    rx, rh, ry = rho(x), rho(h), rho(y)
    dh = h - _d_rho(h) * (np.einsum("hd,nd->nh", params["W1"], rx) + params["b1"] + np.einsum("nc,ch->nh", ry, params["W2"]))
    dy = y - _d_rho(y) * (np.einsum("ch,nh->nc", params["W2"], rh) + params["b2"])
    if beta != 0.0:
        dy = dy + beta * (y - target)
    return np.minimum(np.maximum(h - epsilon * dh, 0), 1), np.minimum(np.maximum(y - epsilon * dy, 0), 1)


def relax_loops(params, x, h, y, target, beta, epsilon):
    h_new, y_new = np.empty_like(h), np.empty_like(y)
    for n in range(len(x)):
        rx, rh, ry = rho(x[n]), rho(h[n]), rho(y[n])
        dh = h[n] - _d_rho(h[n]) * (params["W1"] @ rx + params["b1"] + params["W2"].T @ ry)
        dy = y[n] - _d_rho(y[n]) * (params["W2"] @ rh + params["b2"])
        if beta != 0:
            dy = dy + beta * (y[n] - target[n])
        h_new[n], y_new[n] = np.clip(h[n] - epsilon * dh, 0, 1), np.clip(y[n] - epsilon * dy, 0, 1)
    return h_new, y_new


def relax_float32(params, x, h, y, target, beta, epsilon):
    f = np.float32
    p = {k: v.astype(f) for k, v in params.items()}
    x, h, y = x.astype(f), h.astype(f), y.astype(f)
    dh = h - _d_rho(h).astype(f) * (rho(x) @ p["W1"].T + p["b1"] + rho(y) @ p["W2"])
    dy = y - _d_rho(y).astype(f) * (rho(h) @ p["W2"].T + p["b2"])
    if beta != 0:
        dy = dy + f(beta) * (y - target.astype(f))
    return np.clip(h - f(epsilon) * dh, f(0), f(1)), np.clip(y - f(epsilon) * dy, f(0), f(1))


def _rho_where(s):
    # the student's own rho for jax.grad: its derivative is 1 on the closed interval [0, 1]
    return jnp.where(s < 0, 0.0, jnp.where(s > 1, 1.0, s))


def _jax_F(params, x, h, y, target, beta, r):
    E_ = (0.5 * (jnp.sum(h**2) + jnp.sum(y**2)) - jnp.sum(r(h) * (r(x) @ params["W1"].T + params["b1"][None, :]))
          - jnp.sum(r(y) * (r(h) @ params["W2"].T + params["b2"][None, :])))
    return E_ + (0.5 * beta * jnp.sum((y - target) ** 2) if target is not None else 0.0)


def relax_jax_grad(params, x, h, y, target, beta, epsilon):
    # jax.grad of the student's OWN F = E + beta C (summed over the batch: the examples are independent)
    p = {k: jnp.asarray(v) for k, v in params.items()}
    t = None if target is None else jnp.asarray(target)
    dh, dy = jax.grad(_jax_F, argnums=(2, 3))(p, jnp.asarray(x), jnp.asarray(h), jnp.asarray(y), t, beta, _rho_where)
    return jnp.clip(jnp.asarray(h) - epsilon * dh, 0, 1), jnp.clip(jnp.asarray(y) - epsilon * dy, 0, 1)


def literal_relaxation_step(params, x, h, y, target, beta, epsilon):
    # dF/dh = h - rho'(h) * (rho(x) W1^T + b1 + rho(y) W2)
    # dF/dy = y - rho'(y) * (rho(h) W2^T + b2) + beta (y - t), rho'(s) = 1 on [0, 1] and 0 outside
    # h <- clip(h - epsilon dF/dh, 0, 1), y <- clip(y - epsilon dF/dy, 0, 1), both from the current (h, y)
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    rho_prime = lambda s: np.where((0 <= s) & (s <= 1), 1.0, 0.0)
    dF_dh = h - rho_prime(h) * (rho(x) @ W1.T + b1 + rho(y) @ W2)
    dF_dy = y - rho_prime(y) * (rho(h) @ W2.T + b2)
    if beta != 0:
        dF_dy = dF_dy + beta * (y - target)
    return np.clip(h - epsilon * dF_dh, 0, 1), np.clip(y - epsilon * dF_dy, 0, 1)


# --- wrong -----------------------------------------------------------------------------------------

def relax_no_clip(params, x, h, y, target, beta, epsilon):
    # [property: the projection onto [0, 1]]
    dh = h - _d_rho(h) * (rho(x) @ params["W1"].T + params["b1"] + rho(y) @ params["W2"])
    dy = y - _d_rho(y) * (rho(h) @ params["W2"].T + params["b2"]) + (beta * (y - target) if beta else 0.0)
    return h - epsilon * dh, y - epsilon * dy


def relax_ascent(params, x, h, y, target, beta, epsilon):
    # [property: descent]
    dh = h - _d_rho(h) * (rho(x) @ params["W1"].T + params["b1"] + rho(y) @ params["W2"])
    dy = y - _d_rho(y) * (rho(h) @ params["W2"].T + params["b2"]) + (beta * (y - target) if beta else 0.0)
    return np.clip(h + epsilon * dh, 0, 1), np.clip(y + epsilon * dy, 0, 1)


def relax_nudge_away(params, x, h, y, target, beta, epsilon):
    # [property: the nudge pulls y towards t (beta != 0)] dC/dy written as t - y
    dh = h - _d_rho(h) * (rho(x) @ params["W1"].T + params["b1"] + rho(y) @ params["W2"])
    dy = y - _d_rho(y) * (rho(h) @ params["W2"].T + params["b2"]) + (beta * (target - y) if beta else 0.0)
    return np.clip(h - epsilon * dh, 0, 1), np.clip(y - epsilon * dy, 0, 1)


def relax_sequential(params, x, h, y, target, beta, epsilon):
    # [property: a simultaneous update] y's step sees the new h
    h = np.clip(h - epsilon * (h - _d_rho(h) * (rho(x) @ params["W1"].T + params["b1"] + rho(y) @ params["W2"])), 0, 1)
    dy = y - _d_rho(y) * (rho(h) @ params["W2"].T + params["b2"]) + (beta * (y - target) if beta else 0.0)
    return h, np.clip(y - epsilon * dy, 0, 1)


def relax_open_interval(params, x, h, y, target, beta, epsilon):
    # [property: rho' = 1 on the closed interval (states on the walls)] (0 < s < 1)
    inside = lambda s: ((s > 0) & (s < 1)).astype(float)
    dh = h - inside(h) * (rho(x) @ params["W1"].T + params["b1"] + rho(y) @ params["W2"])
    dy = y - inside(y) * (rho(h) @ params["W2"].T + params["b2"]) + (beta * (y - target) if beta else 0.0)
    return np.clip(h - epsilon * dh, 0, 1), np.clip(y - epsilon * dy, 0, 1)


def relax_jax_grad_clip(params, x, h, y, target, beta, epsilon):
    # [property: rho' = 1 on the closed interval (states on the walls)] jax.grad through jnp.clip: 1/2 on the walls
    p = {k: jnp.asarray(v) for k, v in params.items()}
    t = None if target is None else jnp.asarray(target)
    clip = lambda s: jnp.clip(s, 0.0, 1.0)
    dh, dy = jax.grad(_jax_F, argnums=(2, 3))(p, jnp.asarray(x), jnp.asarray(h), jnp.asarray(y), t, beta, clip)
    return jnp.clip(jnp.asarray(h) - epsilon * dh, 0, 1), jnp.clip(jnp.asarray(y) - epsilon * dy, 0, 1)


def relax_always_nudging(params, x, h, y, target, beta, epsilon):
    # [property: target=None in the free phase] beta (y - t) computed even when beta = 0
    dh = h - _d_rho(h) * (rho(x) @ params["W1"].T + params["b1"] + rho(y) @ params["W2"])
    dy = y - _d_rho(y) * (rho(h) @ params["W2"].T + params["b2"]) + beta * (y - target)
    return np.clip(h - epsilon * dh, 0, 1), np.clip(y - epsilon * dy, 0, 1)


def relax_no_feedback(params, x, h, y, target, beta, epsilon):
    # [property: the top-down term rho(y) W2] the hidden units driven from below only
    dh = h - _d_rho(h) * (rho(x) @ params["W1"].T + params["b1"])
    dy = y - _d_rho(y) * (rho(h) @ params["W2"].T + params["b2"]) + (beta * (y - target) if beta else 0.0)
    return np.clip(h - epsilon * dh, 0, 1), np.clip(y - epsilon * dy, 0, 1)


def relax_feedback_transposed(params, x, h, y, target, beta, epsilon):
    # [property: the feedback goes through W2 itself, rho(y) W2 (square layers)] rho(y) @ W2.T (runs where H == C)
    dh = h - _d_rho(h) * (rho(x) @ params["W1"].T + params["b1"] + rho(y) @ params["W2"].T)
    dy = y - _d_rho(y) * (rho(h) @ params["W2"].T + params["b2"]) + (beta * (y - target) if beta else 0.0)
    return np.clip(h - epsilon * dh, 0, 1), np.clip(y - epsilon * dy, 0, 1)


def relax_raw_x(params, x, h, y, target, beta, epsilon):
    # [property: rho(x) (inputs outside [0, 1])] the input's drive x W1^T
    dh = h - _d_rho(h) * (x @ params["W1"].T + params["b1"] + rho(y) @ params["W2"])
    dy = y - _d_rho(y) * (rho(h) @ params["W2"].T + params["b2"]) + (beta * (y - target) if beta else 0.0)
    return np.clip(h - epsilon * dh, 0, 1), np.clip(y - epsilon * dy, 0, 1)


def relax_no_biases(params, x, h, y, target, beta, epsilon):
    # [property: the biases]
    dh = h - _d_rho(h) * (rho(x) @ params["W1"].T + rho(y) @ params["W2"])
    dy = y - _d_rho(y) * (rho(h) @ params["W2"].T) + (beta * (y - target) if beta else 0.0)
    return np.clip(h - epsilon * dh, 0, 1), np.clip(y - epsilon * dy, 0, 1)


def relax_nudge_without_beta(params, x, h, y, target, beta, epsilon):
    # [property: the nudge scales with beta (|beta| != 1)] (y - t) added whenever there is a target
    dh = h - _d_rho(h) * (rho(x) @ params["W1"].T + params["b1"] + rho(y) @ params["W2"])
    dy = y - _d_rho(y) * (rho(h) @ params["W2"].T + params["b2"]) + (y - target if target is not None else 0.0)
    return np.clip(h - epsilon * dh, 0, 1), np.clip(y - epsilon * dy, 0, 1)


def relax_no_leak(params, x, h, y, target, beta, epsilon):
    # [property: the leak, s itself, from 1/2 ||s||^2] the gradient of the couplings only
    dh = -_d_rho(h) * (rho(x) @ params["W1"].T + params["b1"] + rho(y) @ params["W2"])
    dy = -_d_rho(y) * (rho(h) @ params["W2"].T + params["b2"]) + (beta * (y - target) if beta else 0.0)
    return np.clip(h - epsilon * dh, 0, 1), np.clip(y - epsilon * dy, 0, 1)


def relax_drive_sign(params, x, h, y, target, beta, epsilon):
    # [property: the couplings lower the energy] h + rho'(h) * drive
    dh = h + _d_rho(h) * (rho(x) @ params["W1"].T + params["b1"] + rho(y) @ params["W2"])
    dy = y + _d_rho(y) * (rho(h) @ params["W2"].T + params["b2"]) + (beta * (y - target) if beta else 0.0)
    return np.clip(h - epsilon * dh, 0, 1), np.clip(y - epsilon * dy, 0, 1)


def relax_returns_gradients(params, x, h, y, target, beta, epsilon):
    # the gradients returned instead of the new states
    dh = h - _d_rho(h) * (rho(x) @ params["W1"].T + params["b1"] + rho(y) @ params["W2"])
    dy = y - _d_rho(y) * (rho(h) @ params["W2"].T + params["b2"]) + (beta * (y - target) if beta else 0.0)
    return dh, dy


def relax_half_beta(params, x, h, y, target, beta, epsilon):
    # [property: dC/dy = y - t] the derivative of the cost taken as 1/2 (y - t)
    dh = h - _d_rho(h) * (rho(x) @ params["W1"].T + params["b1"] + rho(y) @ params["W2"])
    dy = y - _d_rho(y) * (rho(h) @ params["W2"].T + params["b2"]) + (0.5 * beta * (y - target) if beta else 0.0)
    return np.clip(h - epsilon * dh, 0, 1), np.clip(y - epsilon * dy, 0, 1)


def relax_fixed_epsilon(params, x, h, y, target, beta, epsilon):
    # [property: the step size epsilon (epsilon != 0.5)] the text's "epsilon = 0.5" written in
    dh = h - _d_rho(h) * (rho(x) @ params["W1"].T + params["b1"] + rho(y) @ params["W2"])
    dy = y - _d_rho(y) * (rho(h) @ params["W2"].T + params["b2"]) + (beta * (y - target) if beta else 0.0)
    return np.clip(h - 0.5 * dh, 0, 1), np.clip(y - 0.5 * dy, 0, 1)


def relax_in_place(params, x, h, y, target, beta, epsilon):
    # [property: the inputs are not modified] h -= epsilon * dh
    dh = h - _d_rho(h) * (rho(x) @ params["W1"].T + params["b1"] + rho(y) @ params["W2"])
    dy = y - _d_rho(y) * (rho(h) @ params["W2"].T + params["b2"]) + (beta * (y - target) if beta else 0.0)
    h -= epsilon * dh
    y -= epsilon * dy
    return np.clip(h, 0, 1), np.clip(y, 0, 1)


# ======================================================================================================
# Exercise 3: eqprop_gradient
# ======================================================================================================

def eqprop_gradient(x, free, nudged, beta):
    n = len(x)
    (h0, y0), (hb, yb) = [(rho(a), rho(b)) for a, b in (free, nudged)]
    return {"W1": -((hb - h0).T @ rho(x)) / (beta * n), "b1": -(hb - h0).mean(axis=0) / beta,
            "W2": -(yb.T @ hb - y0.T @ h0) / (beta * n), "b2": -(yb - y0).mean(axis=0) / beta}


def update_einsum(x, free, nudged, beta):
    rx = rho(x)
    h0, y0 = rho(free[0]), rho(free[1])
    hb, yb = rho(nudged[0]), rho(nudged[1])
    N = x.shape[0]
    return {"W1": -np.einsum("nh,nd->hd", hb - h0, rx) / (beta * N),
            "b1": -np.einsum("nh->h", hb - h0) / (beta * N),
            "W2": -(np.einsum("nc,nh->ch", yb, hb) - np.einsum("nc,nh->ch", y0, h0)) / (beta * N),
            "b2": -np.einsum("nc->c", yb - y0) / (beta * N)}


def update_outer_products(x, free, nudged, beta):
    # one example at a time: the change of every product rho(s_i) rho(s_j)
    grads = None
    for n in range(len(x)):
        rx = rho(x[n])
        h0, y0, hb, yb = rho(free[0][n]), rho(free[1][n]), rho(nudged[0][n]), rho(nudged[1][n])
        g = {"W1": np.outer(hb, rx) - np.outer(h0, rx), "b1": hb - h0,
             "W2": np.outer(yb, hb) - np.outer(y0, h0), "b2": yb - y0}
        grads = g if grads is None else {k: grads[k] + g[k] for k in g}
    return {k: -v / (beta * len(x)) for k, v in grads.items()}


def update_float32(x, free, nudged, beta):
    f = np.float32
    rx = rho(x.astype(f))
    h0, y0, hb, yb = (rho(s.astype(f)) for s in (*free, *nudged))
    scale = f(-1.0 / (beta * len(x)))
    return {"W1": scale * ((hb - h0).T @ rx), "b1": scale * (hb - h0).sum(0),
            "W2": scale * (yb.T @ hb - y0.T @ h0), "b2": scale * (yb - y0).sum(0)}


def update_jax(x, free, nudged, beta):
    r = lambda s: jnp.clip(jnp.asarray(s), 0.0, 1.0)
    rx, (h0, y0), (hb, yb) = r(x), map(r, free), map(r, nudged)
    n = x.shape[0]
    return {"W1": -((hb - h0).T @ rx) / (beta * n), "b1": -jnp.mean(hb - h0, axis=0) / beta,
            "W2": -(yb.T @ hb - y0.T @ h0) / (beta * n), "b2": -jnp.mean(yb - y0, axis=0) / beta}


def update_jax_grad_of_energy(x, free, nudged, beta):
    # dE/dW1 = -rho(h) rho(x)^T, ...: the estimate is (1/beta) [dE/dtheta at s^beta - dE/dtheta at s^0],
    # batch means, with jax.grad of the student's own energy (Exercise 1, written in jax.numpy)
    shapes = {"W1": (free[0].shape[1], x.shape[1]), "b1": (free[0].shape[1],),
              "W2": (free[1].shape[1], free[0].shape[1]), "b2": (free[1].shape[1],)}
    theta = {k: jnp.zeros(s) for k, s in shapes.items()}   # dE/dtheta does not depend on theta
    mean_energy = lambda p, h, y: jnp.mean(_jax_energy(p, jnp.asarray(x), jnp.asarray(h), jnp.asarray(y)))
    at_nudged, at_free = jax.grad(mean_energy)(theta, *nudged), jax.grad(mean_energy)(theta, *free)
    return {k: (at_nudged[k] - at_free[k]) / beta for k in shapes}


def literal_eqprop_gradient(x, free, nudged, beta):
    # dL/dW_ij ~ -(1/beta)(rho(s_i^beta) rho(s_j^beta) - rho(s_i^0) rho(s_j^0)), dL/db_i ~ -(1/beta)(rho(s_i^beta) - rho(s_i^0)),
    # averaged over the batch; W1 connects h (i) and x (j), W2 connects y (i) and h (j)
    (h0, y0), (hb, yb) = free, nudged
    N, D = x.shape
    H, C = h0.shape[1], y0.shape[1]
    W1, b1, W2, b2 = np.zeros((H, D)), np.zeros(H), np.zeros((C, H)), np.zeros(C)
    for n in range(N):
        for i in range(H):
            b1[i] += -(1 / beta) * (rho(hb[n, i]) - rho(h0[n, i]))
            for j in range(D):
                W1[i, j] += -(1 / beta) * (rho(hb[n, i]) * rho(x[n, j]) - rho(h0[n, i]) * rho(x[n, j]))
        for i in range(C):
            b2[i] += -(1 / beta) * (rho(yb[n, i]) - rho(y0[n, i]))
            for j in range(H):
                W2[i, j] += -(1 / beta) * (rho(yb[n, i]) * rho(hb[n, j]) - rho(y0[n, i]) * rho(h0[n, j]))
    return {"W1": W1 / N, "b1": b1 / N, "W2": W2 / N, "b2": b2 / N}


# --- wrong -----------------------------------------------------------------------------------------

def _phases(x, free, nudged):
    return rho(x), (rho(free[0]), rho(free[1])), (rho(nudged[0]), rho(nudged[1]))


def update_positive(x, free, nudged, beta):
    # [property: the sign: an estimate of dL/dtheta, which the caller subtracts] "+eta/beta (rho rho^beta - rho rho^0)"
    rx, (h0, y0), (hb, yb) = _phases(x, free, nudged)
    n = len(x)
    return {"W1": (hb - h0).T @ rx / (beta * n), "b1": (hb - h0).mean(0) / beta,
            "W2": (yb.T @ hb - y0.T @ h0) / (beta * n), "b2": (yb - y0).mean(0) / beta}


def update_no_inverse_beta(x, free, nudged, beta):
    # [property: 1/beta (beta != 1)]
    rx, (h0, y0), (hb, yb) = _phases(x, free, nudged)
    n = len(x)
    return {"W1": -(hb - h0).T @ rx / n, "b1": -(hb - h0).mean(0), "W2": -(yb.T @ hb - y0.T @ h0) / n, "b2": -(yb - y0).mean(0)}


def update_times_beta(x, free, nudged, beta):
    # [property: 1/beta (beta != 1)] multiplied by beta
    rx, (h0, y0), (hb, yb) = _phases(x, free, nudged)
    n = len(x)
    return {"W1": -beta * (hb - h0).T @ rx / n, "b1": -beta * (hb - h0).mean(0),
            "W2": -beta * (yb.T @ hb - y0.T @ h0) / n, "b2": -beta * (yb - y0).mean(0)}


def update_raw_states(x, free, nudged, beta):
    # [property: rho of the states (states outside [0, 1])]
    (h0, y0), (hb, yb) = free, nudged
    n = len(x)
    return {"W1": -(hb - h0).T @ x / (beta * n), "b1": -(hb - h0).mean(0) / beta,
            "W2": -(yb.T @ hb - y0.T @ h0) / (beta * n), "b2": -(yb - y0).mean(0) / beta}


def update_summed(x, free, nudged, beta):
    # [property: the batch mean (N > 1)]
    rx, (h0, y0), (hb, yb) = _phases(x, free, nudged)
    return {"W1": -(hb - h0).T @ rx / beta, "b1": -(hb - h0).sum(0) / beta,
            "W2": -(yb.T @ hb - y0.T @ h0) / beta, "b2": -(yb - y0).sum(0) / beta}


def update_raw_x(x, free, nudged, beta):
    # [property: rho(x) (inputs outside [0, 1])]
    _, (h0, y0), (hb, yb) = _phases(x, free, nudged)
    n = len(x)
    return {"W1": -(hb - h0).T @ x / (beta * n), "b1": -(hb - h0).mean(0) / beta,
            "W2": -(yb.T @ hb - y0.T @ h0) / (beta * n), "b2": -(yb - y0).mean(0) / beta}


def update_abs_beta(x, free, nudged, beta):
    # [property: the signed beta (beta < 0)]
    return {k: v * beta / abs(beta) for k, v in eqprop_gradient(x, free, nudged, beta).items()}


def update_product_of_differences(x, free, nudged, beta):
    # [property: the difference of the products] (rho(yb) - rho(y0))^T (rho(hb) - rho(h0))
    rx, (h0, y0), (hb, yb) = _phases(x, free, nudged)
    n = len(x)
    return {"W1": -(hb - h0).T @ rx / (beta * n), "b1": -(hb - h0).mean(0) / beta,
            "W2": -(yb - y0).T @ (hb - h0) / (beta * n), "b2": -(yb - y0).mean(0) / beta}


def update_W1_form_for_W2(x, free, nudged, beta):
    # [property: both units change in W2's term] W1's form copied: the output's change times the nudged h
    rx, (h0, y0), (hb, yb) = _phases(x, free, nudged)
    n = len(x)
    return {"W1": -(hb - h0).T @ rx / (beta * n), "b1": -(hb - h0).mean(0) / beta,
            "W2": -(yb - y0).T @ hb / (beta * n), "b2": -(yb - y0).mean(0) / beta}


def update_symmetric_factor(x, free, nudged, beta):
    # [property: 1/beta, not 1/(2 beta)] Section 4's symmetric estimate's factor
    return {k: v / 2 for k, v in eqprop_gradient(x, free, nudged, beta).items()}


def update_transposed(x, free, nudged, beta):
    # [property: weights are (out, in)]
    return {k: v.T for k, v in eqprop_gradient(x, free, nudged, beta).items()}


def update_W2_transposed(x, free, nudged, beta):
    # [property: W2 is (C, H) (square layers)] rho(h)^T rho(y)
    rx, (h0, y0), (hb, yb) = _phases(x, free, nudged)
    n = len(x)
    return {"W1": -(hb - h0).T @ rx / (beta * n), "b1": -(hb - h0).mean(0) / beta,
            "W2": -(hb.T @ yb - h0.T @ y0) / (beta * n), "b2": -(yb - y0).mean(0) / beta}


def update_biases_summed(x, free, nudged, beta):
    # [property: the batch mean (N > 1)] the weights divided by N, the biases summed
    rx, (h0, y0), (hb, yb) = _phases(x, free, nudged)
    n = len(x)
    return {"W1": -(hb - h0).T @ rx / (beta * n), "b1": -(hb - h0).sum(0) / beta,
            "W2": -(yb.T @ hb - y0.T @ h0) / (beta * n), "b2": -(yb - y0).sum(0) / beta}


def update_nudged_only(x, free, nudged, beta):
    # [property: the free phase's products are subtracted]
    rx, _, (hb, yb) = _phases(x, free, nudged)
    n = len(x)
    return {"W1": -hb.T @ rx / (beta * n), "b1": -hb.mean(0) / beta, "W2": -yb.T @ hb / (beta * n), "b2": -yb.mean(0) / beta}


def update_bias_wrong_axis(x, free, nudged, beta):
    # [property: biases average over the batch, axis 0]
    g = eqprop_gradient(x, free, nudged, beta)
    _, (h0, y0), (hb, yb) = _phases(x, free, nudged)
    g["b1"], g["b2"] = -(hb - h0).mean(1) / beta, -(yb - y0).mean(1) / beta
    return g


def update_mean_twice(x, free, nudged, beta):
    # [property: the batch mean (N > 1)] mean of the products, then divided by N again
    return {k: (v / len(x) if k.startswith("W") else v) for k, v in eqprop_gradient(x, free, nudged, beta).items()}


def update_in_place(x, free, nudged, beta):
    # [property: the inputs are not modified] rho applied in place to the given states
    for s in (*free, *nudged):
        np.clip(s, 0, 1, out=s)
    return eqprop_gradient(x, free, nudged, beta)


# ======================================================================================================
# Exercise 7c: hard_sigmoid (rho itself is withheld while this exercise is graded)
# ======================================================================================================

def hard_sigmoid(s):
    return np.clip(s, 0.0, 1.0)


def rho_min_max(s):
    return np.minimum(np.maximum(s, 0.0), 1.0)


def rho_where(s):
    return np.where(s < 0, 0.0, np.where(s > 1, 1.0, s))


def rho_float32(s):
    return np.clip(np.asarray(s, dtype=np.float32), 0, 1)


def rho_jax(s):
    return jnp.clip(jnp.asarray(s), 0.0, 1.0)


def rho_vectorize(s):
    return np.vectorize(lambda v: 0.0 if v < 0 else (1.0 if v > 1 else v), otypes=[float])(s)


def literal_hard_sigmoid(s):
    # rho(s) = clip(s, 0, 1), elementwise
    return np.clip(s, 0, 1)


# --- wrong -----------------------------------------------------------------------------------------

def rho_jax_hard_sigmoid(s):
    # [property: clip(s, 0, 1) on [0, 1]] the beginner's port of jax.nn.hard_sigmoid, relu6(s + 3) / 6
    return np.asarray(jax.nn.hard_sigmoid(s))


def rho_beginners(s):
    # [property: clip(s, 0, 1) on [0, 1]] the beginner's own line, as found
    return np.minimum(np.maximum(s + 3.0, 0.0), 6.0) / 6.0


def rho_relu(s):
    # [property: saturates at 1 (values above 1)]
    return np.maximum(s, 0.0)


def rho_relu6_over_6(s):
    # [property: clip(s, 0, 1)] the +3 dropped from the beginner's formula
    return np.minimum(np.maximum(s, 0.0), 6.0) / 6.0


def rho_keras(s):
    # [property: clip(s, 0, 1) on [0, 1]] Keras's hard sigmoid, clip(0.2 s + 0.5, 0, 1)
    return np.clip(0.2 * s + 0.5, 0.0, 1.0)


def rho_binary_connect(s):
    # [property: clip(s, 0, 1) on [0, 1]] the hard sigmoid of BinaryConnect, clip((s + 1) / 2, 0, 1)
    return np.clip((s + 1.0) / 2.0, 0.0, 1.0)


def rho_hard_tanh(s):
    # [property: 0 below 0 (negative values)] clip(s, -1, 1)
    return np.clip(s, -1.0, 1.0)


def rho_upper_only(s):
    # [property: 0 below 0 (negative values)] min(s, 1)
    return np.minimum(s, 1.0)


def rho_sigmoid(s):
    # [property: clip(s, 0, 1) on [0, 1]] the smooth sigmoid
    return 1.0 / (1.0 + np.exp(-s))


def rho_step(s):
    # [property: clip(s, 0, 1) inside (0, 1)] a step at 1/2
    return (s > 0.5).astype(float)


def rho_abs(s):
    # [property: 0 below 0 (negative values)] clip(|s|, 0, 1)
    return np.clip(np.abs(s), 0.0, 1.0)


def rho_builtins(s):
    # max/min of Python, one number at a time (fails on arrays)
    return max(0.0, min(1.0, s))


def rho_list(s):
    # [property: any shape (2-d and 3-d arrays)] one number at a time over the first axis
    return np.array([min(max(v, 0.0), 1.0) for v in s])


def rho_in_place(s):
    # [property: the inputs are not modified]
    return np.clip(s, 0, 1, out=s)


def rho_handed(s):
    # the handed rho, withheld while this exercise is graded
    return rho(s)


# ======================================================================================================
# Exercise 7b: get_batch
# ======================================================================================================

def get_batch(x, targets, index, batch_size):
    rows = slice(index * batch_size, (index + 1) * batch_size)
    return x[rows], targets[rows]


def batch_arange(x, targets, index, batch_size):
    idx = np.arange(index * batch_size, min((index + 1) * batch_size, len(x)))
    return x[idx], targets[idx]


def batch_start_stop(x, targets, index, batch_size):
    start = index * batch_size
    stop = start + batch_size
    return x[start:stop].copy(), targets[start:stop].copy()


def batch_split(x, targets, index, batch_size):
    cuts = np.arange(batch_size, len(x), batch_size)
    return np.split(x, cuts)[index], np.split(targets, cuts)[index]


def batch_list(x, targets, index, batch_size):
    # a list of the two, which unpacks like a tuple
    return [x[index * batch_size:(index + 1) * batch_size], targets[index * batch_size:(index + 1) * batch_size]]


def literal_get_batch(x, targets, index, batch_size):
    # rows index*batch_size to (index+1)*batch_size of x and of targets
    return x[index * batch_size:(index + 1) * batch_size], targets[index * batch_size:(index + 1) * batch_size]


# --- wrong -----------------------------------------------------------------------------------------

def batch_first(x, targets, index, batch_size):
    # [property: the index (index > 0)] the beginner's helper, as found
    return x[:batch_size], targets[:batch_size]


def batch_one_based(x, targets, index, batch_size):
    # [property: index 0 is the first batch] "the index-th" counted from 1
    return x[(index - 1) * batch_size:index * batch_size], targets[(index - 1) * batch_size:index * batch_size]


def batch_next(x, targets, index, batch_size):
    # [property: index 0 is the first batch] one batch too far
    return x[(index + 1) * batch_size:(index + 2) * batch_size], targets[(index + 1) * batch_size:(index + 2) * batch_size]


def batch_index_as_row(x, targets, index, batch_size):
    # [property: the index counts batches (index > 0, batch_size > 1)] x[index:index + batch_size]
    return x[index:index + batch_size], targets[index:index + batch_size]


def batch_one_short(x, targets, index, batch_size):
    # [property: batch_size rows] an inclusive end written as an exclusive one
    start, end = index * batch_size, (index + 1) * batch_size - 1
    return x[start:end], targets[start:end]


def batch_one_more(x, targets, index, batch_size):
    # [property: batch_size rows]
    start, end = index * batch_size, (index + 1) * batch_size + 1
    return x[start:end], targets[start:end]


def batch_targets_not_sliced(x, targets, index, batch_size):
    # [property: the targets sliced like x]
    return x[index * batch_size:(index + 1) * batch_size], targets


def batch_targets_first(x, targets, index, batch_size):
    # [property: the targets sliced like x] the targets always from the first batch
    return x[index * batch_size:(index + 1) * batch_size], targets[:batch_size]


def batch_swapped(x, targets, index, batch_size):
    # the pair returned as (targets, x)
    rows = slice(index * batch_size, (index + 1) * batch_size)
    return targets[rows], x[rows]


def batch_array_split(x, targets, index, batch_size):
    # [property: batch_size rows per batch] np.array_split into batch_size pieces
    return np.array_split(x, batch_size)[index], np.array_split(targets, batch_size)[index]


def batch_wrap(x, targets, index, batch_size):
    # [property: the last batch may be partial] the last batch filled up from the start
    idx = np.arange(index * batch_size, (index + 1) * batch_size) % len(x)
    return x[idx], targets[idx]


def batch_strided(x, targets, index, batch_size):
    # [property: consecutive rows] every batch_size-th row from index
    return x[index::batch_size], targets[index::batch_size]


def batch_random(x, targets, index, batch_size):
    # a random minibatch
    idx = np.random.default_rng(index).choice(len(x), batch_size, replace=False)
    return x[idx], targets[idx]


def batch_shuffled_in_place(x, targets, index, batch_size):
    # [property: the inputs are not modified] the data shuffled in place first
    order = np.random.default_rng(0).permutation(len(x))
    x[:] = x[order]
    targets[:] = targets[order]
    return x[index * batch_size:(index + 1) * batch_size], targets[index * batch_size:(index + 1) * batch_size]


# ======================================================================================================
# Exercise 7a: error_rate
# ======================================================================================================

def error_rate(outputs, targets):
    return float(np.mean(np.argmax(outputs, axis=1) != np.argmax(targets, axis=1)))


def error_count(outputs, targets):
    wrong = np.count_nonzero(outputs.argmax(-1) != targets.argmax(-1))
    return wrong / len(outputs)


def error_loop(outputs, targets):
    mistakes = 0
    for out, t in zip(outputs, targets):
        if np.argmax(out) != np.argmax(t):
            mistakes += 1
    return mistakes / len(outputs)


def error_one_minus_accuracy(outputs, targets):
    return 1.0 - np.mean(np.argmax(outputs, 1) == np.argmax(targets, 1))


def error_jax(outputs, targets):
    return jnp.mean(jnp.argmax(jnp.asarray(outputs), axis=1) != jnp.argmax(jnp.asarray(targets), axis=1))


def error_take_along(outputs, targets):
    # the output at the target class against the largest output (no ties in real outputs)
    labels = targets.argmax(axis=1)
    at_target = np.take_along_axis(outputs, labels[:, None], axis=1)[:, 0]
    return float(np.mean(at_target < outputs.max(axis=1)))


def literal_error_rate(outputs, targets):
    # the fraction of examples whose largest output is not at the target class
    predicted = np.argmax(outputs, axis=1)
    target_class = np.argmax(targets, axis=1)
    return np.sum(predicted != target_class) / len(predicted)


# --- wrong -----------------------------------------------------------------------------------------

def error_beginners(outputs, targets):
    # [property: argmax per example (targets not all of one class)] the beginner's helper, as found
    return np.mean(np.argmax(outputs, axis=1) != np.argmax(targets))


def error_against_one_hot(outputs, targets):
    # [property: the class, not the one-hot vector]
    return np.mean(np.argmax(outputs, axis=1)[:, None] != targets)


def error_accuracy(outputs, targets):
    # [property: the error, not the accuracy]
    return np.mean(np.argmax(outputs, axis=1) == np.argmax(targets, axis=1))


def error_count_only(outputs, targets):
    # [property: a fraction (N > 1)] the number of mistakes
    return int(np.sum(np.argmax(outputs, axis=1) != np.argmax(targets, axis=1)))


def error_percent(outputs, targets):
    # [property: a fraction, not a percentage]
    return 100.0 * np.mean(np.argmax(outputs, axis=1) != np.argmax(targets, axis=1))


def error_wrong_axis(outputs, targets):
    # [property: argmax over the classes, axis 1 (N == C)] argmax over the examples
    return np.mean(np.argmax(outputs, axis=0) != np.argmax(targets, axis=0))


def error_argmin(outputs, targets):
    # [property: the largest output]
    return np.mean(np.argmin(outputs, axis=1) != np.argmax(targets, axis=1))


def error_thresholded(outputs, targets):
    # [property: the largest output, not a threshold] an example counts as right when every rounded output is right
    return np.mean(np.any((outputs > 0.5) != (targets > 0.5), axis=1))


def error_mse(outputs, targets):
    # the mean squared error instead of the error rate
    return np.mean((outputs - targets) ** 2)


def error_floor_division(outputs, targets):
    # [property: a fraction] integer division
    return np.sum(np.argmax(outputs, axis=1) != np.argmax(targets, axis=1)) // len(outputs)


def error_per_class(outputs, targets):
    # [property: a fraction of the examples] mistakes counted per output unit, divided by N * C
    return np.mean(np.round(outputs) != targets)


def error_abs_outputs(outputs, targets):
    # [property: the largest output (negative outputs)] the largest in magnitude
    return np.mean(np.argmax(np.abs(outputs), axis=1) != np.argmax(targets, axis=1))


def error_sorted_in_place(outputs, targets):
    # [property: the inputs are not modified]
    outputs.sort(axis=1)
    return error_rate(outputs, targets)


CORRECT = {
    EN: [energy, energy_einsum, energy_loops, energy_transposed_view, energy_float32, energy_jax, literal_energy],
    RS: [relaxation_step, relax_where, relax_without_rho_prime, relax_einsum, relax_loops, relax_float32,
         relax_jax_grad, literal_relaxation_step],
    UP: [eqprop_gradient, update_einsum, update_outer_products, update_float32, update_jax, update_jax_grad_of_energy,
         literal_eqprop_gradient],
    RHO: [hard_sigmoid, rho_min_max, rho_where, rho_float32, rho_jax, rho_vectorize, literal_hard_sigmoid],
    MB: [get_batch, batch_arange, batch_start_stop, batch_split, batch_list, literal_get_batch],
    ER: [error_rate, error_count, error_loop, error_one_minus_accuracy, error_jax, error_take_along, literal_error_rate],
}

WRONG = {
    EN: [
        (energy_squares_of_rho, "rho on the wrong quantity"),
        (energy_no_biases, "missing bias"),
        (energy_plus_couplings, "wrong sign of the interaction"),
        (energy_no_half, "missing 1/2"),
        (energy_raw_x, "rho(x) missing"),
        (energy_no_rho, "rho missing in a coupling"),
        (energy_raw_h_below_y, "rho missing in a coupling"),
        (energy_half_couplings, "1/2 on the couplings"),
        (energy_with_input_square, "input in the squared term"),
        (energy_batch_mean, "one energy for the whole batch"),
        (energy_batch_total, "one energy for the whole batch"),
        (energy_W2_not_transposed, None),
        (energy_negated, "wrong sign"),
        (energy_bias_with_raw_state, "rho missing in a coupling"),
        (energy_only_hidden_square, "a squared term missing"),
        (energy_in_place, None),
    ],
    RS: [
        (relax_no_clip, "clipping missing"),
        (relax_ascent, "wrong sign"),
        (relax_nudge_away, "nudging sign"),
        (relax_sequential, "sequential update"),
        (relax_open_interval, "rho' zero on the walls"),
        (relax_jax_grad_clip, "rho' one half on the walls"),
        (relax_always_nudging, None),
        (relax_no_feedback, "top-down term missing"),
        (relax_feedback_transposed, None),
        (relax_raw_x, "rho(x) missing"),
        (relax_no_biases, "missing bias"),
        (relax_nudge_without_beta, "nudge not scaled by beta"),
        (relax_no_leak, "leak term missing"),
        (relax_drive_sign, "wrong sign of the interaction"),
        (relax_returns_gradients, "gradients returned instead of states"),
        (relax_half_beta, "nudge halved"),
        (relax_fixed_epsilon, "epsilon ignored"),
        (relax_in_place, None),
    ],
    UP: [
        (update_positive, "wrong sign of the update"),
        (update_no_inverse_beta, "missing 1/beta"),
        (update_times_beta, "multiplied by beta"),
        (update_raw_states, "rho on the wrong quantity"),
        (update_summed, "sum instead of mean"),
        (update_raw_x, "rho(x) missing"),
        (update_abs_beta, "divided by |beta|"),
        (update_product_of_differences, "product of the differences"),
        (update_W1_form_for_W2, "only one unit's change"),
        (update_symmetric_factor, "divided by 2 beta"),
        (update_transposed, "transposed"),
        (update_W2_transposed, "transposed matrix"),
        (update_biases_summed, "biases not divided by N"),
        (update_nudged_only, "free phase left out"),
        (update_bias_wrong_axis, "bias over the wrong axis"),
        (update_mean_twice, "weights divided by N twice"),
        (update_in_place, None),
    ],
    RHO: [
        (rho_jax_hard_sigmoid, "jax.nn.hard_sigmoid"),
        (rho_beginners, "jax.nn.hard_sigmoid"),
        (rho_relu, "relu"),
        (rho_relu6_over_6, "relu6 / 6"),
        (rho_keras, "another hard sigmoid"),
        (rho_binary_connect, "another hard sigmoid"),
        (rho_hard_tanh, "hard tanh"),
        (rho_upper_only, "not clipped at 0"),
        (rho_sigmoid, "smooth sigmoid"),
        (rho_step, "step function"),
        (rho_abs, "absolute value"),
        (rho_builtins, None),
        (rho_list, None),
        (rho_in_place, None),
        (rho_handed, None),
    ],
    MB: [
        (batch_first, "always the first batch"),
        (batch_one_based, "batch index off by one"),
        (batch_next, "batch index off by one"),
        (batch_index_as_row, "index used as a row"),
        (batch_one_short, "one row short"),
        (batch_one_more, "one row too many"),
        (batch_targets_not_sliced, "targets not sliced"),
        (batch_targets_first, "targets from the wrong batch"),
        (batch_swapped, "returned in the wrong order"),
        (batch_array_split, "split into batch_size pieces"),
        (batch_wrap, "last batch wrapped around"),
        (batch_strided, "strided rows"),
        (batch_random, None),
        (batch_shuffled_in_place, None),
    ],
    ER: [
        (error_beginners, "argmax of the one-hot targets without an axis"),
        (error_against_one_hot, "compared with the one-hot vector"),
        (error_accuracy, "accuracy instead of error rate"),
        (error_count_only, "count instead of fraction"),
        (error_percent, "percentage instead of fraction"),
        (error_wrong_axis, "argmax over the wrong axis"),
        (error_argmin, "argmin instead of argmax"),
        (error_thresholded, "thresholded outputs"),
        (error_mse, "squared error instead of error rate"),
        (error_floor_division, "integer division"),
        (error_per_class, "counted per output unit"),
        (error_abs_outputs, None),
        (error_sorted_in_place, None),
    ],
}
