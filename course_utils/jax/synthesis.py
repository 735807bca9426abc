"""Tutorial 06, the samples behind the map: each rule's update, and the true gradient it estimates, on
many minibatches at once (JAX, float32, vmapped over the minibatches).

Every function here is built from the course's own rules (course_utils.jax.*); nothing is re-derived.
``update_function(rule, cfg)`` returns a jitted

    f(state, xs (S, N, D), ys (S, N, C), keys (S, 2), idx (S, N) or None)
        -> (updates (S, P), true (S, P) or None)

with one row per minibatch: the rule's gradient estimate dL/dtheta on that minibatch (with its own noise
draw) and the true gradient of the same loss at the same parameters on the same minibatch, both
flattened in sorted key order (as course_utils.metrics does). ``moments_function(rule, cfg)`` runs the
same samples chunk by chunk and returns only what the map needs of them (sums per chunk, never all the
samples): see course_utils.synthesis.map_coordinates for what is made of them.

The true gradient is backprop's for the MLP rules (on the rule's own network: two hidden layers for
direct feedback alignment), recurrent backprop through the relaxation for EqProp (the gradient of its
cost at the free fixed point), and None for forward-forward, whose layer-local objective is not the
loss of any other rule.

What "the update" is, per rule: the gradient estimate the rule's step subtracts (times the learning
rate). Kolen-Pollack's weight decay and forward-forward's Adam act on that estimate afterwards and are
left out. EqProp's phases are run as in training: the free phase starts from the persistent particles of
the minibatch's examples (``idx``: their positions in the training set; the state's "states") and runs
``free_steps`` steps, the nudged phase ``nudged_steps`` with a random sign of beta unless symmetric. Its
true gradient is taken at the converged fixed point (``CONVERGE_STEPS`` more free steps from there, then
``BACKPROP_STEPS`` differentiated through). Without ``idx``, the free phase starts from zero and runs
FREE_STEPS (the fixed point), as for a state without particles.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from . import eqprop as jeq
from . import forward_forward as jff
from . import mlp
from . import perturbation as jpert
from . import weight_transport as jwt

FREE_STEPS = 200        # EqProp without particles: free-phase steps from zero (epsilon 0.5) to the fixed point
CONVERGE_STEPS = 200    # EqProp: further free steps from the training free phase, to the fixed point
BACKPROP_STEPS = 200    # EqProp: steps differentiated through (at initialisation, the slowest to settle,
                        # cosine 0.9997 with the gradient from 1000 + 400 steps; 60 + 60 gave 0.72)


def flatten(grads):
    """A gradient dict -> (P,), by sorted key (the order of course_utils.metrics)."""
    return jnp.concatenate([jnp.ravel(grads[k]) for k in sorted(grads)])


def _mlp_rule(rule, cfg):
    act = cfg.get("activation", "sigmoid")

    def one(state, x, y, key, idx):
        params = state["params"] if "feedback" in state else state
        if rule == "backprop":
            update = mlp.backprop_gradients(params, x, y, act)
        elif rule == "weight_perturbation":
            psi = jpert.sample_weight_perturbations(key, params, cfg["sigma"], cfg["perturbations"])
            update = jpert.weight_perturbation_gradient(params, x, y, psi, cfg["sigma"], act)
        elif rule == "node_perturbation":
            xi = jpert.sample_node_noise(key, params, x.shape[0], cfg["sigma"])
            update = jpert.node_perturbation_gradient(params, x, y, xi, cfg["sigma"], act)
        elif rule in ("feedback_alignment", "kolen_pollack"):
            update = jwt.feedback_alignment_gradients(params, state["feedback"], x, y, act)
        elif rule == "direct_feedback_alignment":
            update = jwt.direct_feedback_alignment_gradients(params, state["feedback"], x, y, act)
        else:
            raise ValueError(f"no MLP update for rule {rule!r}")
        return flatten(update), flatten(mlp.backprop_gradients(params, x, y, act))
    return one


def _converged_gradient(params, x, t, start, eps):
    """d/dtheta of the mean cost at the free fixed point, from free states ``start`` near it: relax
    CONVERGE_STEPS more (not differentiated), then BACKPROP_STEPS through which the cost is
    differentiated (recurrent backprop, as course_utils.jax.eqprop.implicit_gradient)."""
    fixed = jax.lax.stop_gradient(jeq.layered_relax(params, x, start, None, 0.0, eps, CONVERGE_STEPS))

    def cost(p):
        states = jeq.layered_relax(p, x, fixed, None, 0.0, eps, BACKPROP_STEPS)
        return jnp.mean(0.5 * jnp.sum((states[-1] - t) ** 2, axis=1))
    return jax.grad(cost)(params)


def _eqprop_rule(cfg):
    eps, beta = cfg["epsilon"], cfg["beta"]

    def one(state, x, t, key, idx):
        params = state["params"]
        drive = jeq.input_drive(params, x)
        if idx is None or "states" not in state:
            start = [jnp.zeros((x.shape[0], n), x.dtype) for n in cfg["sizes"][1:]]
            free = jeq.layered_relax(params, x, start, None, 0.0, eps, FREE_STEPS, drive)
        else:                                   # as training: from the persistent particles
            start = [s[idx] for s in state["states"]]
            free = jeq.layered_relax(params, x, start, None, 0.0, eps, cfg["free_steps"], drive)
        if cfg.get("symmetric", False):
            plus = jeq.layered_relax(params, x, free, t, beta, eps, cfg["nudged_steps"], drive)
            minus = jeq.layered_relax(params, x, free, t, -beta, eps, cfg["nudged_steps"], drive)
            update = jeq.symmetric_eqprop_gradient(x, plus, minus, beta)
        else:
            signed = beta * (jnp.where(jax.random.bernoulli(key), 1.0, -1.0) if cfg["random_sign"] else 1.0)
            nudged = jeq.layered_relax(params, x, free, t, signed, eps, cfg["nudged_steps"], drive)
            update = jeq.layered_eqprop_gradient(x, free, nudged, signed)
        true = _converged_gradient(params, x, t, free, eps)
        return flatten(update), flatten(true)
    return one


def _forward_forward_rule(cfg):
    def one(state, x, y, key, idx):
        params = state["params"]
        labels = jnp.argmax(y, axis=1)
        if cfg["negatives"] == "hard":
            wrong = jff.hard_negative_labels(jff.label_goodness(params, x, cfg["skip_first"]), labels)
        else:
            wrong = (labels + jax.random.randint(key, labels.shape, 1, jff.NUM_CLASSES)) % jff.NUM_CLASSES
        grads, _ = jff.ff_gradients(params, jff.embed_label(x, labels), jff.embed_label(x, wrong))
        return flatten(grads), None
    return one


def _one_sample(rule, cfg):
    if rule == "eqprop":
        return _eqprop_rule(cfg)
    if rule == "forward_forward":
        return _forward_forward_rule(cfg)
    return _mlp_rule(rule, cfg)


def update_function(rule: str, cfg: dict):
    """The jitted, vmapped sampler of ``rule`` with settings ``cfg`` (see the module docstring).

    Arguments:
        rule: a registered classifier rule. cfg: its settings (course_utils.registry.Rule.config()).
    Returns:
        f(state, xs (S, N, D), ys (S, N, C), keys (S, 2), idx (S, N) or None)
            -> (updates (S, P), true (S, P) or None),
        state being the rule's training state (as course_utils.training returns it, one seed); idx the
        minibatches' positions in the training set (used by EqProp's persistent particles only).
    """
    one = _one_sample(rule, cfg)

    def many(state, xs, ys, keys, idx=None):
        if idx is None:
            return jax.vmap(lambda x, y, k: one(state, x, y, k, None))(xs, ys, keys)
        return jax.vmap(lambda x, y, k, i: one(state, x, y, k, i))(xs, ys, keys, idx)
    return jax.jit(many)


def moments_function(rule: str, cfg: dict):
    """The sampler reduced on the device: the sums the map is made of, per chunk of minibatches.

    Returns a jitted
        f(state, x_train (n, D), y_train (n, C), idx (K, c, N), keys (K, c, 2))
            -> {"u": (K, P) the sum of the updates of each chunk,  "g": (K, P) the same of the true
                gradients (zeros for forward-forward),  "u2": (P,) the sum of the squared updates,
                "uu", "gg", "ug": (K, c) each sample's |u|^2, |g|^2 and u.g}
    for K chunks of c minibatches of N examples, the minibatches given by their positions ``idx`` in the
    training set (lax.map over the chunks, vmap within one).
    """
    one = _one_sample(rule, cfg)
    own = rule == "forward_forward"

    def chunk(state, x_train, y_train, idx, keys):
        xs, ys = jnp.take(x_train, idx, axis=0), jnp.take(y_train, idx, axis=0)
        u, g = jax.vmap(lambda x, y, k, i: one(state, x, y, k, i))(xs, ys, keys, idx)
        g = jnp.zeros_like(u) if own else g
        return {"u": u.sum(axis=0), "g": g.sum(axis=0), "u2": (u * u).sum(axis=0),
                "uu": jnp.sum(u * u, axis=1), "gg": jnp.sum(g * g, axis=1), "ug": jnp.sum(u * g, axis=1)}

    def f(state, x_train, y_train, idx, keys):
        out = jax.lax.map(lambda inputs: chunk(state, x_train, y_train, *inputs), (idx, keys))
        out["u2"] = out["u2"].sum(axis=0)
        return out
    return jax.jit(f)
