"""JAX twin of course_utils.mlp: the same functions, names, shapes and conventions (float32)."""
from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp

ACTIVATIONS = ("sigmoid", "relu")


def activate(z, activation: str):
    if activation == "sigmoid":
        return jax.nn.sigmoid(z)
    if activation == "relu":
        return jnp.maximum(z, 0.0)
    raise ValueError(f"unknown activation {activation!r}; choose one of {ACTIVATIONS}")


def activation_derivative(z, activation: str):
    """act'(z) at the pre-activation z: sigmoid(z)(1 - sigmoid(z)), or (z > 0) for ReLU."""
    if activation == "sigmoid":
        s = jax.nn.sigmoid(z)
        return s * (1.0 - s)
    if activation == "relu":
        return (z > 0).astype(z.dtype)
    raise ValueError(f"unknown activation {activation!r}; choose one of {ACTIVATIONS}")


def num_layers(params) -> int:
    return len([k for k in params if k.startswith("W")])


def init_mlp(key, sizes=(784, 100, 10), activation: str = "sigmoid"):
    """As course_utils.mlp.init_mlp: W_l ~ N(0, gain/fan_in), b_l = 0; gain 2 for ReLU, else 1."""
    gain = 2.0 if activation == "relu" else 1.0
    keys = jax.random.split(key, len(sizes) - 1)
    params = {}
    for l, (k, fan_in, fan_out) in enumerate(zip(keys, sizes[:-1], sizes[1:]), start=1):
        params[f"W{l}"] = jax.random.normal(k, (fan_out, fan_in)) * jnp.sqrt(gain / fan_in)
        params[f"b{l}"] = jnp.zeros(fan_out)
    return params


def forward(params, x, activation: str = "sigmoid", node_noise=None):
    """As course_utils.mlp.forward: {"inputs": [...], "z": [...], "y_hat": (N, C)}."""
    L = num_layers(params)
    node_noise = node_noise or {}
    inputs, zs = [], []
    h = x
    for l in range(1, L + 1):
        inputs.append(h)
        z = h @ params[f"W{l}"].T + params[f"b{l}"][None, :]
        if f"z{l}" in node_noise:
            z = z + node_noise[f"z{l}"]
        zs.append(z)
        h = activate(z, activation) if l < L else z
    return {"inputs": inputs, "z": zs, "y_hat": zs[-1]}


def per_example_loss(y_hat, y):
    return 0.5 * jnp.sum((y_hat - y) ** 2, axis=1)


def mse_loss(y_hat, y):
    return jnp.mean(per_example_loss(y_hat, y))


def loss(params, x, y, activation: str = "sigmoid"):
    return mse_loss(forward(params, x, activation)["y_hat"], y)


def layer_gradients(delta, layer_input):
    return delta.T @ layer_input, delta.sum(axis=0)


def backprop_gradients(params, x, y, activation: str = "sigmoid"):
    """The backprop equations of course_utils.mlp.backprop_gradients, written out (tested
    against jax.grad of ``loss``)."""
    cache = forward(params, x, activation)
    L = num_layers(params)
    grads = {}
    delta = (cache["y_hat"] - y) / x.shape[0]
    for l in range(L, 0, -1):
        grads[f"W{l}"], grads[f"b{l}"] = layer_gradients(delta, cache["inputs"][l - 1])
        if l > 1:
            delta = (delta @ params[f"W{l}"]) * activation_derivative(cache["z"][l - 2], activation)
    return {k: grads[k] for k in params}


@partial(jax.jit, static_argnames="activation")
def predict(params, x, activation: str = "sigmoid"):
    """(N, D) -> (N,) predicted labels (jitted)."""
    return jnp.argmax(forward(params, x, activation)["y_hat"], axis=1)
