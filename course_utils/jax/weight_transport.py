"""JAX twin of course_utils.weight_transport: the same functions and names (float32, jitted).

Two forms of each rule, tested to agree with the NumPy reference and with each other:

- the equations, written out as in the reference (``feedback_alignment_gradients``, ...);
- the way JAX likes it: a linear layer with a custom vector-Jacobian product whose backward pass
  uses B where autodiff would use W^T. ``jax.grad`` of a network built from ``feedback_linear``
  layers *is* feedback alignment; built from ``kolen_pollack_linear`` layers it is Kolen-Pollack,
  whose backward pass returns one more term, the transpose of W's gradient, as B's gradient.
  Both forward and feedback weights then take the same decayed step, so W - B^T shrinks by
  (1 - lambda) per step.

The registered rules (FEEDBACK_ALIGNMENT, KOLEN_POLLACK) train with the custom-VJP form;
DIRECT_FEEDBACK_ALIGNMENT, whose error skips the chain of layers, with the equations.
"""
from __future__ import annotations

from functools import partial

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


@partial(jax.jit, static_argnames="activation")
def backprop_gradients(params, x, y, activation="sigmoid"):
    return _error_signals(params, x, y, activation, lambda l, delta, e: delta @ params[f"W{l}"])


@partial(jax.jit, static_argnames="activation")
def feedback_alignment_gradients(params, feedback, x, y, activation="sigmoid"):
    return _error_signals(params, x, y, activation, lambda l, delta, e: delta @ feedback[f"B{l - 1}"].T)


@partial(jax.jit, static_argnames="activation")
def direct_feedback_alignment_gradients(params, feedback, x, y, activation="sigmoid"):
    return _error_signals(params, x, y, activation, lambda l, delta, e: e @ feedback[f"B{l - 1}"].T)


@jax.jit
def kolen_pollack_update(params, feedback, grads, learning_rate, decay):
    new_params = {name: (1.0 - decay if name.startswith("W") else 1.0) * value - learning_rate * grads[name]
                  for name, value in params.items()}
    new_feedback = {name: (1.0 - decay) * B - learning_rate * grads[f"W{int(name[1:]) + 1}"].T
                    for name, B in feedback.items()}
    return new_params, new_feedback


# --- the rules as custom VJPs: FA is autodiff with B in place of W^T; KP returns one more term -----

def _linear(h, W, b, B):
    """z = h @ W.T + b. B, shaped like W^T, is not used going forward, only coming back."""
    return h @ W.T + b[None, :]


def _linear_fwd(h, W, b, B):
    return _linear(h, W, b, B), (h, B)


def _fa_bwd(residuals, dz):
    h, B = residuals
    # autodiff would send dz @ W back to the input; feedback alignment sends dz @ B.T. B is fixed.
    return dz @ B.T, dz.T @ h, dz.sum(axis=0), jnp.zeros_like(B)


def _kp_bwd(residuals, dz):
    h, B = residuals
    dW = dz.T @ h
    # feedback alignment, plus one returned term: B's gradient is the transpose of W's
    return dz @ B.T, dW, dz.sum(axis=0), dW.T


feedback_linear = jax.custom_vjp(_linear)
feedback_linear.defvjp(_linear_fwd, _fa_bwd)
kolen_pollack_linear = jax.custom_vjp(_linear)
kolen_pollack_linear.defvjp(_linear_fwd, _kp_bwd)


def network_loss(params, feedback, x, y, activation="sigmoid", linear=feedback_linear):
    """The MLP's loss, layers 2..L built from ``linear`` (feedback_linear or kolen_pollack_linear),
    the first layer an ordinary one (no layer below it needs an error)."""
    L = mlp.num_layers(params)
    h = x
    for l in range(1, L + 1):
        if l == 1:
            z = h @ params["W1"].T + params["b1"][None, :]
        else:
            z = linear(h, params[f"W{l}"], params[f"b{l}"], feedback[f"B{l - 1}"])
        h = mlp.activate(z, activation) if l < L else z
    return mlp.mse_loss(h, y)


@partial(jax.jit, static_argnames="activation")
def feedback_alignment_gradients_vjp(params, feedback, x, y, activation="sigmoid"):
    """Feedback alignment as jax.grad through feedback_linear layers (the same result as the
    equations). Returns the gradients, with the keys of params."""
    return jax.grad(network_loss)(params, feedback, x, y, activation, feedback_linear)


@partial(jax.jit, static_argnames="activation")
def kolen_pollack_gradients_vjp(params, feedback, x, y, activation="sigmoid"):
    """Kolen-Pollack as jax.grad through kolen_pollack_linear layers.

    Returns (grads, feedback_grads): grads are feedback alignment's; feedback_grads["B{l}"] is
    grads["W{l+1}"].T, so that one decayed SGD step on both, W <- (1 - lambda) W - eta dW and
    B <- (1 - lambda) B - eta dB, is kolen_pollack_update.
    """
    return jax.grad(network_loss, argnums=(0, 1))(params, feedback, x, y, activation, kolen_pollack_linear)


def decayed_sgd(tree, grads, learning_rate, decay):
    """theta <- (1 - lambda) theta - eta dtheta for weight matrices (W..., B...); biases do not decay."""
    return {k: (1.0 - decay if k[0] in "WB" else 1.0) * v - learning_rate * grads[k] for k, v in tree.items()}


# --- the registered rules ----------------------------------------------------------------------

@partial(jax.jit, static_argnames=("sizes", "direct"))
def _init_feedback(key, sizes, direct, gain):
    C = sizes[-1]
    keys = jax.random.split(key, max(len(sizes) - 2, 1))
    feedback = {}
    for l in range(1, len(sizes) - 1):
        shape = (sizes[l], C) if direct else (sizes[l], sizes[l + 1])
        feedback[f"B{l}"] = gain * jax.random.normal(keys[l - 1], shape) / jnp.sqrt(shape[0])
    return feedback


def init_feedback(key, sizes, direct=False, gain=1.0):
    """As course_utils.weight_transport.init_feedback: B_l ~ N(0, gain^2 / H_l), float32.
    (One compiled function per network shape: one compilation instead of one per random draw.)"""
    return _init_feedback(key, tuple(sizes), direct, gain)


def _init(direct):
    def init(key, cfg):
        k_params, k_feedback = jax.random.split(key)
        return {"params": mlp.init_mlp(k_params, cfg["sizes"], cfg["activation"]),
                "feedback": init_feedback(k_feedback, cfg["sizes"], direct, cfg["feedback_gain"])}
    return init


def _predict(state, x, cfg):
    return mlp.predict(state["params"], x, cfg["activation"])


def _fa_step(state, batch, key, cfg):
    params, feedback = state["params"], state["feedback"]
    loss, grads = jax.value_and_grad(network_loss)(params, feedback, batch["x"], batch["y"],
                                                   cfg["activation"], feedback_linear)
    params = {k: params[k] - cfg["learning_rate"] * grads[k] for k in params}
    return {"params": params, "feedback": feedback}, {"loss": loss}


def _kp_step(state, batch, key, cfg):
    params, feedback = state["params"], state["feedback"]
    loss, (grads, feedback_grads) = jax.value_and_grad(network_loss, argnums=(0, 1))(
        params, feedback, batch["x"], batch["y"], cfg["activation"], kolen_pollack_linear)
    lr, decay = cfg["learning_rate"], cfg["decay"]
    return ({"params": decayed_sgd(params, grads, lr, decay),
             "feedback": decayed_sgd(feedback, feedback_grads, lr, decay)}, {"loss": loss})


def _dfa_step(state, batch, key, cfg):
    params, feedback = state["params"], state["feedback"]
    grads = direct_feedback_alignment_gradients(params, feedback, batch["x"], batch["y"], cfg["activation"])
    loss = mlp.loss(params, batch["x"], batch["y"], cfg["activation"])
    params = {k: params[k] - cfg["learning_rate"] * grads[k] for k in params}
    return {"params": params, "feedback": feedback}, {"loss": loss}


FEEDBACK_ALIGNMENT = Backend(_init(False), _fa_step, _predict)
DIRECT_FEEDBACK_ALIGNMENT = Backend(_init(True), _dfa_step, _predict)
KOLEN_POLLACK = Backend(_init(False), _kp_step, _predict)
