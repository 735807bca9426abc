"""Tutorial 03 (equilibrium propagation): fixtures and known mistakes for its exercises, including
the three functions of the debugging exercise."""
from __future__ import annotations

import dataclasses

import numpy as np

from course_utils import eqprop as ref

from ..core import Exercise, Fixture, Mistake, variant

SHAPES = [(6, 4, 3, 5, 0), (5, 7, 2, 1, 1), (8, 3, 4, 6, 2)]   # D, H, C, N, seed


def _problem(D, H, C, N, seed, low=-0.5, high=1.5, x_low=0.0):
    rng = np.random.default_rng(3000 + seed)
    params = ref.init_eqprop(rng, (D, H, C))
    params = {k: v + 0.2 * rng.standard_normal(v.shape) for k, v in params.items()}
    x = rng.uniform(x_low, 1, (N, D))
    h, y = rng.uniform(low, high, (N, H)), rng.uniform(low, high, (N, C))
    t = np.eye(C)[rng.integers(0, C, N)]
    return rng, params, x, h, y, t


def _energy_fixtures():
    # states and inputs outside [0, 1] too, so that the squared term on s and on rho(s) differ, and
    # so that rho(x) and x differ (the contract allows any real values)
    return [Fixture(f"D={D}, H={H}, C={C}, N={N}{', x outside [0, 1]' if seed else ''}",
                    dict(params=p, x=x, h=h, y=y))
            for D, H, C, N, seed in SHAPES for _, p, x, h, y, _ in [_problem(D, H, C, N, seed, x_low=-0.5 * seed)]]


def _relax_fixtures():
    fixtures = []
    for (D, H, C, N, seed), beta, eps in zip(SHAPES + [(4, 5, 3, 3, 3)], (0.0, 0.5, -1.0, 1.0), (0.5, 0.2, 0.5, 0.9)):
        _, p, x, h, y, t = _problem(D, H, C, N, seed, low=0.0, high=1.0)
        # states exactly on the walls, as clipping leaves them after one step: rho' is 1 on [0, 1]
        h[:, 0], h[-1, -1], y[0, :] = 0.0, 1.0, np.where(np.arange(C) % 2, 1.0, 0.0)
        fixtures.append(Fixture(f"D={D}, H={H}, C={C}, N={N}, beta={beta}, epsilon={eps}"
                                + (", target=None" if beta == 0.0 else ""),
                                dict(params=p, x=x, h=h, y=y, target=None if beta == 0.0 else t, beta=beta,
                                     epsilon=eps)))
    return fixtures


def _update_fixtures():
    fixtures = []
    for (D, H, C, N, seed), beta in zip(SHAPES, (1.0, -0.5, 0.1)):
        rng, _, x, h0, y0, _ = _problem(D, H, C, N, seed, x_low=-0.5 * seed)
        hb, yb = h0 + 0.3 * rng.standard_normal(h0.shape), y0 + 0.3 * rng.standard_normal(y0.shape)
        fixtures.append(Fixture(f"D={D}, H={H}, C={C}, N={N}, beta={beta}",
                                dict(x=x, free=(h0, y0), nudged=(hb, yb), beta=beta)))
    return fixtures


def _rho_fixtures():
    return [Fixture("values from -4 to 4", dict(s=np.linspace(-4, 4, 33))),
            Fixture("a (3, 4) array of states", dict(s=np.random.default_rng(5).uniform(-1, 2, (3, 4)))),
            Fixture("states inside [0, 1]", dict(s=np.array([0.0, 0.25, 0.5, 0.9, 1.0])))]


def _batch_fixtures():
    rng = np.random.default_rng(6)
    x, t = rng.standard_normal((50, 4)), np.eye(3)[rng.integers(0, 3, 50)]
    return [Fixture(f"index={i}, batch_size={b}", dict(x=x, targets=t, index=i, batch_size=b))
            for i, b in ((0, 10), (3, 10), (2, 7), (4, 5))]


def _error_fixtures():
    rng = np.random.default_rng(7)
    fixtures = []
    for n, c in ((8, 5), (1, 3), (20, 10)):
        fixtures.append(Fixture(f"N={n}, C={c}", dict(outputs=rng.uniform(0, 1, (n, c)),
                                                      targets=np.eye(c)[rng.integers(0, c, n)])))
    return fixtures


# What would give each answer away, withheld from graded code (autograder.redaction): the reference,
# its JAX twin, and the course helpers that compute the same thing. The NumPy rho is a given helper of
# the tutorial (the answers use it), withheld only while its own debugging exercise is graded.
WITHHELD = {
    "eqprop.energy": (
        "course_utils.eqprop:energy", "course_utils.eqprop:layered_energy", "course_utils.eqprop:energy_trace",
        "course_utils.jax.eqprop:energy", "course_utils.jax.eqprop:layered_energy"),
    "eqprop.relaxation_step": (
        "course_utils.eqprop:relaxation_step", "course_utils.eqprop:state_gradients", "course_utils.eqprop:relax",
        "course_utils.eqprop:layered_state_gradients", "course_utils.eqprop:layered_relax",
        "course_utils.eqprop:settling_trajectory",
        "course_utils.jax.eqprop:layered_state_gradients", "course_utils.jax.eqprop:layered_relax",
        "course_utils.jax.eqprop:fixed_point"),
    "eqprop.eqprop_update": (
        "course_utils.eqprop:eqprop_gradient", "course_utils.eqprop:layered_eqprop_gradient",
        "course_utils.eqprop:symmetric_eqprop_gradient", "course_utils.eqprop:_step",
        "course_utils.jax.eqprop:layered_eqprop_gradient", "course_utils.jax.eqprop:symmetric_eqprop_gradient",
        "course_utils.jax.eqprop:eqprop_step", "course_utils.jax.eqprop:nudged_estimates",
        "course_utils.jax.eqprop:eqprop_estimate"),
    "eqprop.debug_rho": ("course_utils.jax.eqprop:rho",),   # (graded answers use the NumPy rho only)
    "eqprop.debug_minibatch": ("course_utils.eqprop:minibatch",),
    "eqprop.debug_error_rate": ("course_utils.eqprop:error_rate",),
}


# --- known wrong variants ----------------------------------------------------------------------

def _energy_variant(params, x, h, y, *, squared_rho=False, bias=True, half=True, sign=1.0, rho_x=True,
                    raw=(), half_couplings=False, input_square=False, reduce=None, squares=("h", "y")):
    """The reference's energy with one thing changed (each option is a mistake). raw: where rho is left
    out ("h" and "y": everywhere; "h below y": W2 h; "bias partner": h . b1 and y . b2); reduce: "mean" or
    "total", one number for the whole batch; squares: the states whose squared norm is counted."""
    rx = ref.rho(x) if rho_x and "x" not in raw else x
    rh = h if "h" in raw else ref.rho(h)
    ry = y if "y" in raw else ref.rho(y)
    rh_below_y = h if "h below y" in raw else rh
    free = {"h": ref.rho(h) if squared_rho else h, "y": ref.rho(y) if squared_rho else y}
    sq = sum(np.sum(free[k] ** 2, 1) for k in squares)
    if input_square:
        sq = sq + np.sum(x**2, 1)
    sq = (0.5 if half else 1.0) * sq
    b1, b2 = (params["b1"], params["b2"]) if bias else (0.0, 0.0)
    if "bias partner" in raw:
        inter = (np.sum(rh * (rx @ params["W1"].T), 1) + h @ params["b1"]
                 + np.sum(ry * (rh @ params["W2"].T), 1) + y @ params["b2"])
    else:
        inter = np.sum(rh * (rx @ params["W1"].T + b1), 1) + np.sum(ry * (rh_below_y @ params["W2"].T + b2), 1)
    energy = sq - sign * (0.5 if half_couplings else 1.0) * inter
    if reduce == "mean":
        return np.mean(energy)
    if reduce == "total":
        return np.sum(energy)
    return energy


def _relax_variant(params, x, h, y, target, beta, epsilon, *, clip=True, ascent=False, nudge_sign=1.0,
                   sequential=False, open_interval=False, wall_slope=1.0, rho_x=True, top_down=True, bias=True,
                   nudge="beta", leak=True, drive_sign=1.0, return_gradients=False, fixed_epsilon=None):
    """The reference's relaxation step with one thing changed (each option is a mistake). wall_slope: rho'
    on the walls s = 0 and s = 1 (1/2 is jax.grad through jnp.clip); open_interval: rho' = 0 there;
    nudge: the cost's weight, "beta", "1" or "beta / 2"; leak: the s of 1/2 ||s||^2; drive_sign: the
    sign of the couplings' drive."""
    def d_rho(s):
        inside = ((s >= 0) & (s <= 1)).astype(float)
        walls = (s == 0) | (s == 1)
        return np.where(walls, 0.0 if open_interval else wall_slope, inside)

    def gradients(h, y):
        rx = ref.rho(x) if rho_x else x
        b1, b2 = (params["b1"], params["b2"]) if bias else (0.0, 0.0)
        up = rx @ params["W1"].T + b1 + (ref.rho(y) @ params["W2"] if top_down else 0.0)
        dh = (h if leak else 0.0) - drive_sign * d_rho(h) * up
        dy = (y if leak else 0.0) - drive_sign * d_rho(y) * (ref.rho(h) @ params["W2"].T + b2)
        return dh, dy

    dh, dy = gradients(h, y)
    if sequential:  # h first, then y's gradient from the NEW h
        h = np.clip(h - epsilon * dh, 0, 1)
        dh = np.zeros_like(h)
        dy = gradients(h, y)[1]
    if beta != 0.0:
        weight = {"beta": beta, "1": 1.0, "beta / 2": beta / 2}[nudge]
        dy = dy + nudge_sign * weight * (y - target)
    if return_gradients:
        return dh, dy
    sign = -1.0 if ascent else 1.0
    epsilon = epsilon if fixed_epsilon is None else fixed_epsilon
    h_new, y_new = h - sign * epsilon * dh, y - sign * epsilon * dy
    return (np.clip(h_new, 0, 1), np.clip(y_new, 0, 1)) if clip else (h_new, y_new)


def _update_variant(x, free, nudged, beta, *, use_rho=True, inverse_beta=True, reduce="mean", sign=1.0,
                    rho_x=True, abs_beta=False, times_beta=False, factor=1.0, w2="difference of products",
                    transpose_w2=False, bias_scale=1.0, free_phase=True, bias_axis=0, weight_scale=1.0):
    """The reference's estimate with one thing changed (each option is a mistake). w2: W2's term, the
    "difference of products", the "product of differences", or the output's change times the nudged or
    the free hidden activity ("change of y, nudged h", "change of y, free h"); bias_scale, weight_scale:
    extra factors on the biases and on the weights; free_phase: False drops the free phase's terms."""
    f = ref.rho if use_rho else (lambda s: s)
    n = x.shape[0] if reduce == "mean" else 1
    b = abs(beta) if abs_beta else beta
    scale = sign * factor * ((b if times_beta else 1.0 / b) if inverse_beta else 1.0)
    rx = ref.rho(x) if rho_x else x
    (h0, y0), (hb, yb) = (f(free[0]), f(free[1])), (f(nudged[0]), f(nudged[1]))
    if not free_phase:
        h0, y0 = np.zeros_like(h0), np.zeros_like(y0)
    dW2 = {"difference of products": yb.T @ hb - y0.T @ h0, "product of differences": (yb - y0).T @ (hb - h0),
           "change of y, nudged h": (yb - y0).T @ hb, "change of y, free h": (yb - y0).T @ h0}[w2]
    if transpose_w2:
        dW2 = dW2.T
    bs = {"N": x.shape[0]}.get(bias_scale, bias_scale)
    bias = (lambda d: np.sum(d, 0) / n) if bias_axis == 0 else (lambda d: np.mean(d, bias_axis))
    return {"W1": -weight_scale * scale * ((hb - h0).T @ rx) / n, "b1": -bs * scale * bias(hb - h0),
            "W2": -weight_scale * scale * dW2 / n, "b2": -bs * scale * bias(yb - y0)}


def _rate(outputs, targets, *, predicted="argmax", compare="class", reduce="mean"):
    """error_rate with one thing changed: predicted "argmin" or "argmax over examples"; compare "one-hot"
    (each unit against the one-hot code), "thresholded" (every output > 1/2 against the code), "rounded"
    (each rounded output against the code, counted per unit); reduce "count", "percent", "floor"."""
    if compare == "thresholded":
        wrong = np.any((outputs > 0.5) != (targets > 0.5), axis=1)
    elif compare == "rounded":
        wrong = np.round(outputs) != targets
    elif predicted == "argmax over examples":
        wrong = np.argmax(outputs, axis=0) != np.argmax(targets, axis=0)
    else:
        guess = np.argmin(outputs, 1) if predicted == "argmin" else np.argmax(outputs, 1)
        wrong = guess != np.argmax(targets, 1)
    if reduce == "count":
        return float(np.sum(wrong))
    if reduce == "percent":
        return float(100.0 * np.mean(wrong))
    if reduce == "floor":
        return float(np.sum(wrong) // wrong.shape[0])
    return float(np.mean(wrong))


def _batch(x, targets, index, batch_size, *, start=None, stop=None, targets_rows="same", swap=False, rows=None):
    """get_batch with one thing changed: start/stop(index, batch_size) -> the slice's ends; targets_rows:
    "same", "all" (not sliced) or "first" (the first batch); rows(N, index, batch_size) -> row indices."""
    if rows is not None:
        idx = rows(len(x), index, batch_size)
        xb, tb = x[idx], targets[idx]
    else:
        a = index * batch_size if start is None else start(index, batch_size)
        b = (index + 1) * batch_size if stop is None else stop(index, batch_size)
        xb = x[a:b]
        tb = {"same": targets[a:b], "all": targets, "first": targets[:batch_size]}[targets_rows]
    return (tb, xb) if swap else (xb, tb)


EXERCISES = (
    Exercise(
        id="eqprop.energy", withheld=WITHHELD["eqprop.energy"], function_name="energy", reference=ref.energy, fixtures=_energy_fixtures,
        points=2, summary="1/2 ||s||^2 - rho(h).(W1 rho(x) + b1) - rho(y).(W2 rho(h) + b2), per example",
        mistakes=(
            Mistake("rho on the wrong quantity", "the squared term is 1/2 s^2 on the state itself, not "
                    "1/2 rho(s)^2 (the two differ outside [0, 1])", variant(_energy_variant, squared_rho=True)),
            Mistake("missing bias", "include the bias terms -rho(h).b1 and -rho(y).b2", variant(_energy_variant, bias=False)),
            Mistake("wrong sign of the interaction", "the coupling terms LOWER the energy: "
                    "E = 1/2 ||s||^2 - ...", variant(_energy_variant, sign=-1.0)),
            Mistake("missing 1/2", "the squared term is 1/2 (||h||^2 + ||y||^2)", variant(_energy_variant, half=False)),
            Mistake("rho(x) missing", "the input enters through rho too: W1 rho(x), not W1 x (they differ "
                    "outside [0, 1])", variant(_energy_variant, rho_x=False)),
            *(Mistake("rho missing in a coupling", "every coupling pairs rho of both units: rho(h) . (W1 rho(x) "
                      "+ b1) and rho(y) . (W2 rho(h) + b2); only the squared term uses the states themselves",
                      variant(_energy_variant, raw=raw)) for raw in (("x", "h", "y"), ("h below y",), ("bias partner",))),
            Mistake("1/2 on the couplings", "only the squared term has the 1/2: each coupling appears once in "
                    "E, not twice as in -1/2 s^T W s", variant(_energy_variant, half_couplings=True)),
            Mistake("input in the squared term", "x is clamped: the squared term is over the free states, "
                    "1/2 (||h||^2 + ||y||^2)", variant(_energy_variant, input_square=True)),
            *(Mistake("a squared term missing", "the squared term has both free states: 1/2 (||h||^2 + ||y||^2)",
                      variant(_energy_variant, squares=k)) for k in (("h",), ("y",))),
            *(Mistake("one energy for the whole batch", "return one energy per example, shape (N,): sum over "
                      "the units (axis=1), not over the batch", variant(_energy_variant, reduce=r)) for r in ("mean", "total")),
        ),
    ),
    Exercise(
        id="eqprop.relaxation_step", withheld=WITHHELD["eqprop.relaxation_step"], function_name="relaxation_step", reference=ref.relaxation_step,
        fixtures=_relax_fixtures, points=2, summary="s <- clip(s - epsilon dF/ds, 0, 1), F = E + beta C",
        mistakes=(
            Mistake("clipping missing", "project the new states back into [0, 1] with np.clip",
                    variant(_relax_variant, clip=False)),
            Mistake("wrong sign", "descend the energy: s - epsilon dF/ds", variant(_relax_variant, ascent=True)),
            Mistake("nudging sign", "dC/dy = y - t: the nudge pulls y towards the target",
                    variant(_relax_variant, nudge_sign=-1.0)),
            Mistake("sequential update", "compute both gradients from the current (h, y) before changing "
                    "either: y's step must not use the new h", variant(_relax_variant, sequential=True)),
            Mistake("rho' zero on the walls", "rho'(s) is 1 on the closed interval [0, 1]: a state clipped "
                    "to exactly 0 or 1 still feels its drive", variant(_relax_variant, open_interval=True)),
            Mistake("rho' one half on the walls", "jax.grad of jnp.clip gives 1/2 where s is exactly 0 or 1; "
                    "rho'(s) is 1 on the closed interval [0, 1]: write rho' yourself, or differentiate a rho "
                    "written with jnp.where", variant(_relax_variant, wall_slope=0.5)),
            Mistake("rho(x) missing", "the input drives the hidden units through rho(x) W1^T, not x W1^T (they "
                    "differ outside [0, 1])", variant(_relax_variant, rho_x=False)),
            Mistake("top-down term missing", "the hidden units also feel the output through rho(y) W2: "
                    "dF/dh = h - rho'(h) (rho(x) W1^T + b1 + rho(y) W2)", variant(_relax_variant, top_down=False)),
            Mistake("missing bias", "include the biases b1 and b2 in the drives", variant(_relax_variant, bias=False)),
            Mistake("nudge not scaled by beta", "the cost enters F with the weight beta: add beta (y - t), "
                    "not (y - t)", variant(_relax_variant, nudge="1")),
            Mistake("nudge halved", "dC/dy for C = 1/2 ||y - t||^2 is (y - t): add beta (y - t)",
                    variant(_relax_variant, nudge="beta / 2")),
            Mistake("leak term missing", "1/2 ||s||^2 contributes s itself: dF/dh starts with h, dF/dy with y",
                    variant(_relax_variant, leak=False)),
            Mistake("wrong sign of the interaction", "the couplings lower the energy, so their drive enters "
                    "dF/ds with a minus: s - rho'(s) (drive)", variant(_relax_variant, drive_sign=-1.0)),
            Mistake("epsilon ignored", "take the step size you are given: s - epsilon dF/ds (0.5 is only "
                    "the paper's value)", variant(_relax_variant, fixed_epsilon=0.5)),
            Mistake("gradients returned instead of states", "return the new states, clip(s - epsilon dF/ds, 0, 1), "
                    "not dF/dh and dF/dy", variant(_relax_variant, return_gradients=True)),
        ),
    ),
    Exercise(
        id="eqprop.eqprop_update", withheld=WITHHELD["eqprop.eqprop_update"], function_name="eqprop_gradient", reference=ref.eqprop_gradient,
        fixtures=_update_fixtures, points=3,
        summary="-(1/beta) batch mean of the change in rho(s_i) rho(s_j) from free to nudged",
        mistakes=(
            Mistake("wrong sign of the update", "the estimate of dL/dW is MINUS (1/beta) times the change "
                    "(the caller subtracts it)", variant(_update_variant, sign=-1.0)),
            Mistake("missing 1/beta", "divide by beta (with its sign)", variant(_update_variant, inverse_beta=False)),
            Mistake("rho on the wrong quantity", "the update uses rho(s), not the raw states",
                    variant(_update_variant, use_rho=False)),
            Mistake("sum instead of mean", "average over the N examples of the batch", variant(_update_variant, reduce="sum")),
            Mistake("rho(x) missing", "the W1 term pairs rho(h) with rho(x), not with x",
                    variant(_update_variant, rho_x=False)),
            Mistake("divided by |beta|", "divide by beta itself: with beta < 0 the nudged phase pushes the "
                    "other way and the sign of the difference flips with it", variant(_update_variant, abs_beta=True)),
            Mistake("multiplied by beta", "divide the change by beta: -(1/beta) (...)", variant(_update_variant, times_beta=True)),
            Mistake("divided by 2 beta", "the one-sided estimate divides by beta; 2 beta belongs to the symmetric "
                    "estimate of Section 4 (+beta and -beta)", variant(_update_variant, factor=0.5)),
            Mistake("product of the differences", "take the difference of the products, rho(yb)^T rho(hb) - "
                    "rho(y0)^T rho(h0), not (rho(yb) - rho(y0))^T (rho(hb) - rho(h0))",
                    variant(_update_variant, w2="product of differences")),
            *(Mistake("only one unit's change", "in W2's term both units change between the phases: "
                      "rho(yb)^T rho(hb) - rho(y0)^T rho(h0) (only W1's partner, x, is the same in both)",
                      variant(_update_variant, w2=w)) for w in ("change of y, nudged h", "change of y, free h")),
            Mistake("transposed matrix", "W2 is (C, H): its estimate is rho(y)^T rho(h), not rho(h)^T rho(y)",
                    variant(_update_variant, transpose_w2=True)),
            Mistake("biases not divided by N", "average the bias terms over the batch as well (mean over axis 0)",
                    variant(_update_variant, bias_scale="N")),
            Mistake("weights divided by N twice", "the weights' estimate is a mean over the batch: divide the "
                    "summed products by N once", lambda x, free, nudged, beta: _update_variant(x, free, nudged, beta, weight_scale=1.0 / x.shape[0])),
            Mistake("free phase left out", "subtract the free phase's products: the estimate compares the two "
                    "fixed points", variant(_update_variant, free_phase=False)),
            Mistake("bias over the wrong axis", "a bias estimate has one entry per unit: average over the "
                    "examples, axis 0", variant(_update_variant, bias_axis=1)),
        ),
    ),
    Exercise(
        id="eqprop.debug_rho", withheld=WITHHELD["eqprop.debug_rho"],
        withheld_while_graded=("course_utils.eqprop:rho",), function_name="hard_sigmoid", reference=ref.rho, fixtures=_rho_fixtures, points=1,
        summary="the paper's hard sigmoid clip(s, 0, 1)",
        mistakes=(
            Mistake("jax.nn.hard_sigmoid", "that is relu6(s + 3) / 6, almost flat on [0, 1]; the paper's "
                    "rho is clip(s, 0, 1)", lambda s: np.clip((s + 3.0) / 6.0, 0.0, 1.0)),
            Mistake("relu", "rho saturates at 1 as well: clip(s, 0, 1)", lambda s: np.maximum(s, 0.0)),
            Mistake("relu6 / 6", "the paper's rho is clip(s, 0, 1): no division by 6",
                    lambda s: np.minimum(np.maximum(s, 0.0), 6.0) / 6.0),
            *(Mistake("another hard sigmoid", "that hard sigmoid has a slope other than 1 on [0, 1]; the "
                      "paper's rho is clip(s, 0, 1), equal to s on [0, 1]", f)
              for f in (lambda s: np.clip(0.2 * s + 0.5, 0.0, 1.0), lambda s: np.clip((s + 1.0) / 2.0, 0.0, 1.0))),
            Mistake("hard tanh", "rho is 0 below 0: clip(s, 0, 1), not clip(s, -1, 1)", lambda s: np.clip(s, -1.0, 1.0)),
            Mistake("not clipped at 0", "rho is 0 below 0 as well: clip(s, 0, 1)", lambda s: np.minimum(s, 1.0)),
            Mistake("smooth sigmoid", "the paper's rho is the HARD sigmoid clip(s, 0, 1), not 1 / (1 + e^-s)",
                    lambda s: 1.0 / (1.0 + np.exp(-s))),
            Mistake("step function", "rho is linear on [0, 1] (rho(s) = s there), not a step",
                    lambda s: (s > 0.5).astype(float)),
            Mistake("absolute value", "negative states give 0: clip(s, 0, 1), not clip(|s|, 0, 1)",
                    lambda s: np.clip(np.abs(s), 0.0, 1.0)),
        ),
    ),
    Exercise(
        id="eqprop.debug_minibatch", withheld=WITHHELD["eqprop.debug_minibatch"], function_name="get_batch", reference=ref.minibatch,
        fixtures=_batch_fixtures, points=1, summary="rows index*batch_size to (index+1)*batch_size",
        mistakes=(
            Mistake("always the first batch", "use the index: x[index * batch_size:(index + 1) * batch_size]",
                    lambda x, targets, index, batch_size: (x[:batch_size], targets[:batch_size])),
            *(Mistake("batch index off by one", "index 0 is the first batch: rows index * batch_size to "
                      "(index + 1) * batch_size", variant(_batch, start=lambda i, b, k=k: (i + k) * b,
                                                          stop=lambda i, b, k=k: (i + k + 1) * b)) for k in (-1, 1)),
            Mistake("index used as a row", "the index counts batches, not rows: start at index * batch_size",
                    variant(_batch, start=lambda i, b: i, stop=lambda i, b: i + b)),
            Mistake("one row short", "the slice's end is exclusive: x[index * batch_size:(index + 1) * batch_size]",
                    variant(_batch, stop=lambda i, b: (i + 1) * b - 1)),
            Mistake("one row too many", "the slice's end is exclusive: x[index * batch_size:(index + 1) * batch_size]",
                    variant(_batch, stop=lambda i, b: (i + 1) * b + 1)),
            Mistake("targets not sliced", "slice the targets like x: the same rows of both",
                    variant(_batch, targets_rows="all")),
            Mistake("targets from the wrong batch", "take the targets from the same rows as x",
                    variant(_batch, targets_rows="first")),
            Mistake("returned in the wrong order", "return (x rows, targets rows), in that order",
                    variant(_batch, swap=True)),
            Mistake("split into batch_size pieces", "np.array_split(x, k) makes k pieces; a batch is batch_size "
                    "consecutive rows: x[index * batch_size:(index + 1) * batch_size]",
                    variant(_batch, rows=lambda n, i, b: np.array_split(np.arange(n), b)[i])),
            Mistake("last batch wrapped around", "the last batch may be shorter: slice, do not wrap to the start",
                    variant(_batch, rows=lambda n, i, b: np.arange(i * b, (i + 1) * b) % n)),
            Mistake("strided rows", "a batch is consecutive rows, x[index * batch_size:(index + 1) * batch_size], "
                    "not every batch_size-th row", variant(_batch, rows=lambda n, i, b: np.arange(i, n, b))),
        ),
    ),
    Exercise(
        id="eqprop.debug_error_rate", withheld=WITHHELD["eqprop.debug_error_rate"], function_name="error_rate", reference=ref.error_rate,
        fixtures=_error_fixtures, points=1, summary="argmax of the outputs against argmax of the one-hot targets",
        mistakes=(
            Mistake("compared with the one-hot vector", "the targets are one-hot: compare with "
                    "np.argmax(targets, axis=1)",
                    lambda outputs, targets: float(np.mean(np.argmax(outputs, 1)[:, None] != targets))),
            Mistake("argmax of the one-hot targets without an axis", "np.argmax(targets) is ONE number "
                    "(the position of the first 1 in the flattened array): use np.argmax(targets, axis=1)",
                    lambda outputs, targets: float(np.mean(np.argmax(outputs, 1) != np.argmax(targets)))),
            Mistake("accuracy instead of error rate", "count the examples that are WRONG",
                    lambda outputs, targets: float(np.mean(np.argmax(outputs, 1) == np.argmax(targets, 1)))),
            Mistake("count instead of fraction", "divide the number of mistakes by the number of examples N",
                    variant(_rate, reduce="count")),
            Mistake("percentage instead of fraction", "return a fraction in [0, 1], not a percentage",
                    variant(_rate, reduce="percent")),
            Mistake("integer division", "the count // N is 0 unless every example is wrong: divide with /, "
                    "or take np.mean", variant(_rate, reduce="floor")),
            Mistake("argmax over the wrong axis", "one prediction per example: np.argmax(outputs, axis=1) "
                    "(over the classes), not axis=0", variant(_rate, predicted="argmax over examples")),
            Mistake("argmin instead of argmax", "the prediction is the class with the LARGEST output",
                    variant(_rate, predicted="argmin")),
            Mistake("thresholded outputs", "the prediction is the class with the largest output "
                    "(np.argmax(outputs, axis=1)), not the outputs above 1/2", variant(_rate, compare="thresholded")),
            Mistake("counted per output unit", "count examples, not output units: one prediction per example, "
                    "np.argmax(outputs, axis=1)", variant(_rate, compare="rounded")),
            Mistake("squared error instead of error rate", "the error rate counts wrong predictions; the mean "
                    "squared error is another measure",
                    lambda outputs, targets: float(np.mean((outputs - targets) ** 2))),
        ),
    ),
)


# --- hidden fixtures: kinds, drawn from the course secret (autograder.secret) ----------------------------

# The helper the setup cell hands to answers (the paper's rho; sealed while debug_rho itself is graded).
HANDED = ("course_utils.eqprop:rho",)


def _random_states(rng, D, H, C, N, low, high, x_low=0.0, x_high=1.0):
    params = ref.init_eqprop(rng, (D, H, C))
    params = {k: v + 0.2 * rng.standard_normal(v.shape) for k, v in params.items()}
    x = rng.uniform(x_low, x_high, (N, D))
    h, y = rng.uniform(low, high, (N, H)), rng.uniform(low, high, (N, C))
    t = np.eye(C)[rng.integers(0, C, N)]
    return params, x, h, y, t


def _shape_kinds(rng):
    d = lambda: int(rng.integers(2, 9))
    return [("a batch of one", d(), d(), d(), 1), ("square layers", 4, 4, 4, int(rng.integers(2, 8))),
            ("one output", d(), d(), 1, int(rng.integers(2, 8))), ("one hidden unit", d(), 1, d(), 5),
            ("a larger batch", d(), d(), d(), 25)]


# Properties of energy, and the kinds that separate them (the answer of tests/answers/eqprop.py that
# violates each, and fails, in brackets):
# - one energy per example, (N,): every kind (energy_batch_mean, energy_batch_total)
# - 1/2 (||h||^2 + ||y||^2), on the free states themselves: every kind (energy_no_half,
#   energy_only_hidden_square, energy_with_input_square); on s, not rho(s): "states and inputs outside
#   [0, 1]", "negative states" (energy_squares_of_rho)
# - the couplings lower the energy, once each, with their biases: every kind with active units, "states in
#   [0, 1]", "states and inputs outside [0, 1]" (energy_plus_couplings, energy_half_couplings,
#   energy_no_biases, energy_negated)
# - rho on every unit of a coupling, the input included: "states and inputs outside [0, 1]" (energy_raw_x,
#   energy_raw_h_below_y), and "negative states" (energy_no_rho, energy_bias_with_raw_state)
# - W2 is (C, H): a shape error except in "square layers" (energy_W2_not_transposed)
# - a batch of one, one output, one hidden unit: "a batch of one", "one output", "one hidden unit"
# - the inputs are not modified: "states and inputs outside [0, 1]" (energy_in_place clips x in place)
def _energy_hidden(rng):
    out = []
    for kind, D, H, C, N in _shape_kinds(rng):
        for states, low, high, x_low, x_high in (("states in [0, 1]", 0.0, 1.0, 0.0, 1.0),
                                                 ("states and inputs outside [0, 1]", -2.0, 3.0, -2.0, 3.0),
                                                 ("negative states", -3.0, -0.1, 0.0, 1.0)):
            p, x, h, y, _ = _random_states(rng, D, H, C, N, low, high, x_low, x_high)
            out.append(Fixture(f"{kind}, {states}, D={D}, H={H}, C={C}, N={N}", dict(params=p, x=x, h=h, y=y)))
    return out


# Properties of relaxation_step, and the kinds that separate them:
# - descent on F, with the leak s and the couplings' drive entering with a minus: every kind (relax_ascent,
#   relax_no_leak, relax_drive_sign)
# - the projection onto [0, 1]: every kind but some "one output" draws (relax_no_clip)
# - a simultaneous update from the current (h, y): every kind but "one hidden unit" (relax_sequential)
# - rho'(s) = 1 on the CLOSED interval: every kind, each with states on the walls (relax_open_interval,
#   relax_jax_grad_clip: jax.grad through jnp.clip gives 1/2 there)
# - the top-down term rho(y) W2 and the biases: every kind (relax_no_feedback, relax_no_biases); rho(y) W2,
#   not rho(y) W2^T: a shape error except where H == C (relax_feedback_transposed)
# - rho(x), the input outside [0, 1]: "inputs outside [0, 1], positive nudge" (relax_raw_x)
# - the nudge beta (y - t): "positive nudge", "negative nudge" (relax_nudge_away, relax_nudge_without_beta,
#   relax_half_beta); target=None in the free phase: "free phase, target None" (relax_always_nudging)
# - the step size epsilon: every kind with epsilon != 0.5 (relax_fixed_epsilon)
# - the new states, not the gradients, inputs not modified: every kind (relax_returns_gradients, relax_in_place)
# - a batch of one, one output, one hidden unit, square layers: the kinds of those names
def _relax_hidden(rng):
    out = []
    for kind, D, H, C, N in _shape_kinds(rng):
        for phase, beta, x_low, x_high in (("free phase, target None", 0.0, 0.0, 1.0),
                                           ("positive nudge", float(rng.uniform(0.1, 2.0)), 0.0, 1.0),
                                           ("negative nudge", -float(rng.uniform(0.1, 2.0)), 0.0, 1.0),
                                           ("inputs outside [0, 1], positive nudge", float(rng.uniform(0.1, 2.0)),
                                            -2.0, 3.0)):
            p, x, h, y, t = _random_states(rng, D, H, C, N, 0.0, 1.0, x_low, x_high)
            h[:, 0], y[0, :] = 0.0, 1.0                      # on the walls, as clipping leaves them
            eps = float(rng.choice([0.05, 0.5, 1.0]))
            out.append(Fixture(f"{kind}, {phase}, epsilon={eps:g}, D={D}, H={H}, C={C}, N={N}",
                               dict(params=p, x=x, h=h, y=y, target=None if beta == 0.0 else t, beta=beta,
                                    epsilon=eps)))
    return out


# Properties of eqprop_gradient, and the kinds that separate them:
# - the sign (an estimate of dL/dtheta) and the 1/beta: every kind (update_positive, update_no_inverse_beta,
#   update_times_beta, update_symmetric_factor); the signed beta: "negative beta" (update_abs_beta)
# - rho of the states and of x (all outside [0, 1] at times): every kind (update_raw_states, update_raw_x)
# - the difference of the products, both units changing in W2's term: every kind
#   (update_product_of_differences, update_W1_form_for_W2, update_nudged_only)
# - weights (out, in), W2 (C, H): every kind (update_transposed, update_W2_transposed)
# - batch means, weights and biases: every kind with N > 1, "a larger batch" (update_summed,
#   update_biases_summed, update_mean_twice); biases over axis 0: every kind (update_bias_wrong_axis)
# - a small beta (1e-3: a large estimate, still float32-safe): "small beta"
# - the inputs are not modified: every kind (update_in_place)
def _update_hidden(rng):
    out = []
    for kind, D, H, C, N in _shape_kinds(rng):
        for sign, beta in (("positive beta", float(rng.uniform(0.05, 2.0))), ("negative beta", -float(rng.uniform(0.05, 2.0))),
                           ("small beta", 1e-3)):
            _, x, h0, y0, _ = _random_states(rng, D, H, C, N, -0.5, 1.5, -0.5, 1.5)
            hb, yb = h0 + 0.3 * rng.standard_normal(h0.shape), y0 + 0.3 * rng.standard_normal(y0.shape)
            out.append(Fixture(f"{kind}, {sign}, D={D}, H={H}, C={C}, N={N}",
                               dict(x=x, free=(h0, y0), nudged=(hb, yb), beta=beta)))
    return out


# Properties of hard_sigmoid, and the kinds that separate them:
# - s itself on [0, 1] (slope 1): "inside (0, 1)", "values near the corners" (rho_jax_hard_sigmoid,
#   rho_beginners, rho_keras, rho_binary_connect, rho_relu6_over_6, rho_sigmoid, rho_step)
# - 0 below 0: "all negative", "values near the corners" (rho_hard_tanh, rho_upper_only, rho_abs)
# - 1 above 1: "all above 1" (rho_relu)
# - any shape: "a 2-d array", "a 3-d array" (rho_list); a single value, large values
# - the input not modified: every kind with values outside [0, 1] (rho_in_place)
def _rho_hidden(rng):
    out = []
    for kind, s in (("all negative", -rng.uniform(0.01, 5, 9)), ("all above 1", 1 + rng.uniform(0.01, 5, 9)),
                    ("inside (0, 1)", rng.uniform(0.01, 0.99, 9)), ("exactly 0 and 1", np.array([0.0, 1.0, 0.0, 1.0])),
                    ("a single value", np.array([rng.uniform(-2, 3)])), ("a 2-d array", rng.uniform(-2, 3, (4, 5))),
                    ("a 3-d array", rng.uniform(-2, 3, (2, 3, 4))), ("large values", rng.uniform(-1e6, 1e6, 12)),
                    ("values near the corners", np.array([-1e-9, 1e-9, 1 - 1e-9, 1 + 1e-9, -0.5, 1.5]))):
        out.append(Fixture(f"{kind}, shape {np.shape(s)}", dict(s=s)))
    return out


# Properties of get_batch, and the kinds that separate them:
# - the index counts batches from 0: "a middle batch", "the second batch", "a large index" (batch_first,
#   batch_one_based, batch_next, batch_index_as_row)
# - batch_size consecutive rows: every kind but the last (batch_one_short, batch_one_more, batch_array_split,
#   batch_strided); the last batch may be shorter: "the last, partial batch" (batch_wrap)
# - the targets sliced like x, returned second: every kind but "the whole set as one batch"
#   (batch_targets_not_sliced, batch_targets_first, batch_swapped)
# - a batch of one, the whole set as one batch: the kinds of those names
# - the inputs not modified: every kind (batch_shuffled_in_place)
def _batch_hidden(rng):
    out = []
    N = int(rng.integers(30, 60))
    if N % 8 == 0:           # the last batch of 8 partial, never past the end (an empty batch is no batch)
        N += 1
    x, t = rng.standard_normal((N, 3)), np.eye(4)[rng.integers(0, 4, N)]
    for kind, index, size in (("the first batch", 0, 10), ("a middle batch", 2, 7), ("a batch of one", 5, 1),
                              ("the whole set as one batch", 0, N), ("the last, partial batch", N // 8, 8),
                              ("the second batch", 1, 10), ("a large index", int(N // 3) - 1, 3)):
        out.append(Fixture(f"{kind}: index={index}, batch_size={size}, {N} examples",
                           dict(x=x, targets=t, index=index, batch_size=size)))
    return out


# Properties of error_rate, and the kinds that separate them:
# - argmax per example of the targets, over axis 1: every kind with N > 1 (error_beginners, error_wrong_axis)
# - the class, not the one-hot vector; one count per example: every kind (error_against_one_hot,
#   error_per_class)
# - the largest output (not the smallest, not thresholded, not the largest in magnitude): "negative outputs",
#   "ten classes", "two classes" (error_argmin, error_thresholded, error_abs_outputs)
# - the error, not the accuracy: every kind but "half right" (error_accuracy)
# - a fraction in [0, 1]: every kind with mistakes, "half right" (error_count_only, error_percent,
#   error_floor_division); "every prediction right" (0), "every prediction wrong" (1)
# - one example: "one example"
# - the inputs not modified: every kind (error_sorted_in_place)
def _error_hidden(rng):
    out = []
    for kind, n, c, right in (("every prediction right", 12, 5, 1.0), ("every prediction wrong", 12, 5, 0.0),
                              ("one example", 1, 4, None), ("two classes", 20, 2, None), ("ten classes", 30, 10, None),
                              ("half right", 16, 3, 0.5), ("negative outputs", 10, 6, None)):
        labels = rng.integers(0, c, n)
        outputs = rng.uniform(0, 1, (n, c)) if kind != "negative outputs" else -rng.uniform(0, 5, (n, c))
        if right is not None:
            chosen = rng.permutation(n)[: int(round(right * n))]
            best = outputs.max(axis=1) + 1.0
            outputs[chosen, labels[chosen]] = best[chosen]
            for i in set(range(n)) - set(chosen.tolist()):
                outputs[i, labels[i]] = outputs[i].min() - 1.0
        out.append(Fixture(f"{kind}: N={n}, C={c}", dict(outputs=outputs, targets=np.eye(c)[labels])))
    return out


_HIDDEN = {"eqprop.energy": _energy_hidden, "eqprop.relaxation_step": _relax_hidden,
           "eqprop.eqprop_update": _update_hidden, "eqprop.debug_rho": _rho_hidden,
           "eqprop.debug_minibatch": _batch_hidden, "eqprop.debug_error_rate": _error_hidden}
EXERCISES = tuple(dataclasses.replace(e, hidden=_HIDDEN[e.id]) for e in EXERCISES)
