"""JAX twin of course_utils.weight_transport: the same functions and names (float32, jittable).

Besides the explicit equations, feedback alignment is also written the way JAX likes it: a linear
layer with a custom vector-Jacobian product whose backward pass uses B where autodiff would use W^T
(``feedback_linear``). ``jax.grad`` of a network built from it *is* feedback alignment; the tests
check that both forms agree with the NumPy reference.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from ..registry import Backend
from . import mlp


def _error_signals(params, x, y, activation, send_back):
    cache = mlp.forward(params, x, activation)
    L = mlp.num_layers(params)
    e = (cache["y_hat"] - y) / x.shape[0]
    grads, delta = {}, e
    for l in range(L, 0, -1):
        grads[f"W{l}"], grads[f"b{l}"] = mlp.layer_gradients(delta, cache["inputs"][l - 1])
        if l > 1:
            delta = send_back(l, delta, e) * mlp.activation_derivative(cache["z"][l - 2], activation)
    return {k: grads[k] for k in params}


def backprop_gradients(params, x, y, activation="sigmoid"):
    return _error_signals(params, x, y, activation, lambda l, delta, e: delta @ params[f"W{l}"])


def feedback_alignment_gradients(params, feedback, x, y, activation="sigmoid"):
    return _error_signals(params, x, y, activation, lambda l, delta, e: delta @ feedback[f"B{l - 1}"].T)


def direct_feedback_alignment_gradients(params, feedback, x, y, activation="sigmoid"):
    return _error_signals(params, x, y, activation, lambda l, delta, e: e @ feedback[f"B{l - 1}"].T)


def kolen_pollack_update(params, feedback, grads, learning_rate, decay):
    new_params = {name: (1.0 - decay if name.startswith("W") else 1.0) * value - learning_rate * grads[name]
                  for name, value in params.items()}
    new_feedback = {name: (1.0 - decay) * B - learning_rate * grads[f"W{int(name[1:]) + 1}"].T
                    for name, B in feedback.items()}
    return new_params, new_feedback


# --- feedback alignment as a custom VJP ----------------------------------------------------------

@jax.custom_vjp
def feedback_linear(h, W, b, B):
    """z = h @ W.T + b, whose backward pass sends dz back through B (shaped like W^T) instead of W^T."""
    return h @ W.T + b[None, :]


def _feedback_linear_fwd(h, W, b, B):
    return feedback_linear(h, W, b, B), (h, B)


def _feedback_linear_bwd(residuals, dz):
    h, B = residuals
    # autodiff would return dz @ W for the input; feedback alignment returns dz @ B.T
    return dz @ B.T, dz.T @ h, dz.sum(axis=0), jnp.zeros_like(B)


feedback_linear.defvjp(_feedback_linear_fwd, _feedback_linear_bwd)


def fa_loss(params, feedback, x, y, activation="sigmoid"):
    """The MLP's loss, computed with feedback_linear layers: its jax.grad w.r.t. params is FA."""
    L = mlp.num_layers(params)
    h = x
    for l in range(1, L + 1):
        if l == 1:
            z = h @ params["W1"].T + params["b1"][None, :]
        else:
            z = feedback_linear(h, params[f"W{l}"], params[f"b{l}"], feedback[f"B{l - 1}"])
        h = mlp.activate(z, activation) if l < L else z
    return mlp.mse_loss(h, y)


def feedback_alignment_gradients_vjp(params, feedback, x, y, activation="sigmoid"):
    """Feedback alignment by jax.grad through feedback_linear layers (same result as the equations)."""
    return jax.grad(fa_loss)(params, feedback, x, y, activation)


# --- the registered rules ----------------------------------------------------------------------

def init_feedback(key, sizes, direct=False):
    C = sizes[-1]
    keys = jax.random.split(key, max(len(sizes) - 2, 1))
    feedback = {}
    for l in range(1, len(sizes) - 1):
        shape = (sizes[l], C) if direct else (sizes[l], sizes[l + 1])
        feedback[f"B{l}"] = jax.random.normal(keys[l - 1], shape) / jnp.sqrt(shape[0])
    return feedback


def _init(direct):
    def init(key, cfg):
        k_params, k_feedback = jax.random.split(key)
        return {"params": mlp.init_mlp(k_params, cfg["sizes"], cfg["activation"]),
                "feedback": init_feedback(k_feedback, cfg["sizes"], direct)}
    return init


def _predict(state, x, cfg):
    return mlp.predict(state["params"], x, cfg["activation"])


def _sgd_step(gradient_fn):
    def step(state, batch, key, cfg):
        params = state["params"]
        grads = gradient_fn(params, state["feedback"], batch["x"], batch["y"], cfg["activation"])
        loss = mlp.loss(params, batch["x"], batch["y"], cfg["activation"])
        new = {k: params[k] - cfg["learning_rate"] * grads[k] for k in params}
        return {"params": new, "feedback": state["feedback"]}, {"loss": loss}
    return step


def _kp_step(state, batch, key, cfg):
    params = state["params"]
    grads = feedback_alignment_gradients(params, state["feedback"], batch["x"], batch["y"], cfg["activation"])
    loss = mlp.loss(params, batch["x"], batch["y"], cfg["activation"])
    params, feedback = kolen_pollack_update(params, state["feedback"], grads, cfg["learning_rate"], cfg["decay"])
    return {"params": params, "feedback": feedback}, {"loss": loss}


FEEDBACK_ALIGNMENT = Backend(_init(False), _sgd_step(feedback_alignment_gradients), _predict)
DIRECT_FEEDBACK_ALIGNMENT = Backend(_init(True), _sgd_step(direct_feedback_alignment_gradients), _predict)
KOLEN_POLLACK = Backend(_init(False), _kp_step, _predict)
