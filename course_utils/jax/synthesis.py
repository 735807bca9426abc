"""Tutorial 06, the samples behind the map: each rule's update, and the true gradient it estimates, on
many minibatches at once (JAX, float32, vmapped over the minibatches).

Every function here is built from the course's own rules (course_utils.jax.*); nothing is re-derived.
``update_function(rule, cfg)`` returns a jitted

    f(state, xs (S, N, D), ys (S, N, C), keys (S, 2)) -> (updates (S, P), true (S, P) or None)

with one row per minibatch: the rule's gradient estimate dL/dtheta on that minibatch (with its own noise
draw) and the true gradient of the same loss at the same parameters on the same minibatch, both
flattened in sorted key order (as course_utils.metrics does). The true gradient is backprop's for the
MLP rules (on the rule's own network: two hidden layers for direct feedback alignment), recurrent
backprop through the relaxation for EqProp (the gradient of its cost at the free fixed point), and
None for forward-forward, whose layer-local objective is not the loss of any other rule.

What "the update" is, per rule: the gradient estimate the rule's step subtracts (times the learning
rate). Kolen-Pollack's weight decay and forward-forward's Adam act on that estimate afterwards and are
left out; EqProp's free phase is run to its fixed point from zero (standing in for the persistent
particles of training, which sit near it) and its nudged phase as in training (nudged_steps steps, a
random sign of beta unless symmetric).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from . import eqprop as jeq
from . import forward_forward as jff
from . import mlp
from . import perturbation as jpert
from . import weight_transport as jwt

FREE_STEPS = 200        # EqProp: free-phase steps from zero (epsilon 0.5) to reach the fixed point
BACKPROP_STEPS = 100    # EqProp: steps differentiated through for the true gradient


def flatten(grads):
    """A gradient dict -> (P,), by sorted key (the order of course_utils.metrics)."""
    return jnp.concatenate([jnp.ravel(grads[k]) for k in sorted(grads)])


def _mlp_rule(rule, cfg):
    act = cfg.get("activation", "sigmoid")

    def one(state, x, y, key):
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


def _eqprop_rule(cfg):
    eps, beta = cfg["epsilon"], cfg["beta"]

    def one(state, x, t, key):
        params = state["params"]
        free = jeq.fixed_point(params, x, eps, FREE_STEPS)
        if cfg.get("symmetric", False):
            plus = jeq.layered_relax(params, x, free, t, beta, eps, cfg["nudged_steps"])
            minus = jeq.layered_relax(params, x, free, t, -beta, eps, cfg["nudged_steps"])
            update = jeq.symmetric_eqprop_gradient(x, plus, minus, beta)
        else:
            signed = beta * (jnp.where(jax.random.bernoulli(key), 1.0, -1.0) if cfg["random_sign"] else 1.0)
            nudged = jeq.layered_relax(params, x, free, t, signed, eps, cfg["nudged_steps"])
            update = jeq.layered_eqprop_gradient(x, free, nudged, signed)
        true = jeq.implicit_gradient(params, x, t, eps, FREE_STEPS, BACKPROP_STEPS)
        return flatten(update), flatten(true)
    return one


def _forward_forward_rule(cfg):
    def one(state, x, y, key):
        params = state["params"]
        labels = jnp.argmax(y, axis=1)
        if cfg["negatives"] == "hard":
            wrong = jff.hard_negative_labels(jff.label_goodness(params, x, cfg["skip_first"]), labels)
        else:
            wrong = (labels + jax.random.randint(key, labels.shape, 1, jff.NUM_CLASSES)) % jff.NUM_CLASSES
        grads, _ = jff.ff_gradients(params, jff.embed_label(x, labels), jff.embed_label(x, wrong))
        return flatten(grads), None
    return one


def update_function(rule: str, cfg: dict):
    """The jitted, vmapped sampler of ``rule`` with settings ``cfg`` (see the module docstring).

    Arguments:
        rule: a registered classifier rule. cfg: its settings (course_utils.registry.Rule.config()).
    Returns:
        f(state, xs (S, N, D), ys (S, N, C), keys (S, 2)) -> (updates (S, P), true (S, P) or None),
        state being the rule's training state (as course_utils.training returns it, one seed).
    """
    if rule == "eqprop":
        one = _eqprop_rule(cfg)
    elif rule == "forward_forward":
        one = _forward_forward_rule(cfg)
    else:
        one = _mlp_rule(rule, cfg)
    return jax.jit(jax.vmap(one, in_axes=(None, 0, 0, 0)))
