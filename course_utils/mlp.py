"""The multilayer perceptron every tutorial shares: NumPy reference, float64, written to be read.

Symbols (the same across the course): N batch size, D inputs (784), H hidden units, C classes (10).

Conventions:
- arrays are (batch, features); a layer's weight W is (out, in) and a layer computes
  ``h = act(z)``, ``z = x @ W.T + b``;
- parameters are a dict ``{"W1": (H, D), "b1": (H,), ..., "WL": (C, H), "bL": (C,)}``;
  ``L = len(params) // 2`` layers, the last one linear (the read-out);
- the loss is the mean squared error on one-hot targets,
  ``loss = 1/(2N) sum_n ||y_hat_n - y_n||^2`` (a mean over the batch, half a sum over classes);
- a gradient has the keys of the parameters and the sign of dL/dtheta; the caller subtracts
  ``learning_rate * gradient``.
"""
from __future__ import annotations

import numpy as np

ACTIVATIONS = ("sigmoid", "relu")


def sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # = 1 / (1 + exp(-z)), without overflow warnings


def activate(z, activation: str):
    """The hidden units' response act(z) for ``activation`` in ACTIVATIONS."""
    if activation == "sigmoid":
        return sigmoid(z)
    if activation == "relu":
        return np.maximum(z, 0.0)
    raise ValueError(f"unknown activation {activation!r}; choose one of {ACTIVATIONS}")


def activation_derivative(z, activation: str):
    """act'(z), evaluated at the pre-activation z: sigmoid(z)(1 - sigmoid(z)), or (z > 0) for ReLU."""
    if activation == "sigmoid":
        s = sigmoid(z)
        return s * (1.0 - s)
    if activation == "relu":
        return (z > 0).astype(z.dtype)
    raise ValueError(f"unknown activation {activation!r}; choose one of {ACTIVATIONS}")


def num_layers(params) -> int:
    return len([k for k in params if k.startswith("W")])


def init_mlp(rng: np.random.Generator, sizes=(784, 100, 10), activation: str = "sigmoid"):
    """Random weights, zero biases.

    Arguments:
        rng: a numpy Generator. sizes: (D, H1, ..., C). activation: sets the scale of the
            weights, N(0, 1/fan_in) for sigmoid and N(0, 2/fan_in) for ReLU (He et al. 2015).
    Returns:
        params {"W1": (H1, D), "b1": (H1,), ..., "WL": (C, H_{L-1}), "bL": (C,)}, float64.
    """
    gain = 2.0 if activation == "relu" else 1.0
    params = {}
    for l, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        params[f"W{l}"] = rng.normal(0.0, np.sqrt(gain / fan_in), size=(fan_out, fan_in))
        params[f"b{l}"] = np.zeros(fan_out)
    return params


def forward(params, x, activation: str = "sigmoid", node_noise=None):
    """Forward pass, keeping what the learning rules need.

    Arguments:
        params: the MLP's parameters. x: (N, D) inputs.
        node_noise: optional {"z1": (N, H1), ..., "zL": (N, C)}: a perturbation added to each
            layer's pre-activation (node perturbation); layers without a key are not perturbed.
    Returns:
        {"inputs": [x, h1, ..., h_{L-1}] (the input of each layer),
         "z": [z1, ..., zL] (pre-activations), "y_hat": (N, C) = zL (linear read-out)}.
    """
    L = num_layers(params)
    node_noise = node_noise or {}
    inputs, zs = [], []
    h = x
    for l in range(1, L + 1):
        inputs.append(h)
        z = h @ params[f"W{l}"].T + params[f"b{l}"]
        if f"z{l}" in node_noise:
            z = z + node_noise[f"z{l}"]
        zs.append(z)
        h = activate(z, activation) if l < L else z
    return {"inputs": inputs, "z": zs, "y_hat": zs[-1]}


def per_example_loss(y_hat, y):
    """(N, C), (N, C) -> (N,): 1/2 ||y_hat_n - y_n||^2 for each example."""
    return 0.5 * np.sum((y_hat - y) ** 2, axis=1)


def mse_loss(y_hat, y) -> float:
    """(N, C), (N, C) -> scalar: the batch mean of per_example_loss."""
    return float(np.mean(per_example_loss(y_hat, y)))


def loss(params, x, y, activation: str = "sigmoid") -> float:
    """The batch loss of the MLP on (x, y)."""
    return mse_loss(forward(params, x, activation)["y_hat"], y)


def layer_gradients(delta, layer_input):
    """The gradient of a layer's weights and bias from the error at its pre-activation.

    Arguments: delta (N, out) = dL_n/dz for each example (already divided by N for a batch mean);
        layer_input (N, in).
    Returns: dL/dW (out, in) = delta^T @ input, dL/db (out,) = sum_n delta_n.
    """
    return delta.T @ layer_input, delta.sum(axis=0)


def backprop_gradients(params, x, y, activation: str = "sigmoid"):
    """Exact gradient of ``loss`` by backpropagation.

    Equations, for the last layer L and each hidden layer l < L:
        delta_L = (y_hat - y) / N
        delta_l = (delta_{l+1} @ W_{l+1}) * act'(z_l)      # the error travels back through W^T
        dL/dW_l = delta_l^T @ input_l,   dL/db_l = sum_n delta_l
    Returns: a dict with the keys of params.
    """
    cache = forward(params, x, activation)
    L = num_layers(params)
    grads = {}
    delta = (cache["y_hat"] - y) / x.shape[0]
    for l in range(L, 0, -1):
        grads[f"W{l}"], grads[f"b{l}"] = layer_gradients(delta, cache["inputs"][l - 1])
        if l > 1:
            delta = (delta @ params[f"W{l}"]) * activation_derivative(cache["z"][l - 2], activation)
    return {k: grads[k] for k in params}


def predict(params, x, activation: str = "sigmoid"):
    """(N, D) -> (N,) predicted class labels."""
    return np.argmax(forward(params, x, activation)["y_hat"], axis=1)


def numerical_gradient(f, params, eps: float = 1e-6):
    """Central finite differences of a scalar function f(params) with respect to every parameter."""
    params = {k: np.array(v, dtype=np.float64) for k, v in params.items()}  # work on a copy
    grads = {}
    for name, value in params.items():
        g = np.zeros_like(value)
        for idx in np.ndindex(value.shape):
            old = value[idx]
            value[idx] = old + eps
            plus = f(params)
            value[idx] = old - eps
            minus = f(params)
            value[idx] = old
            g[idx] = (plus - minus) / (2 * eps)
        grads[name] = g
    return grads


def sgd_update(params, grads, learning_rate: float):
    """theta <- theta - learning_rate * dL/dtheta, returning new arrays."""
    return {k: params[k] - learning_rate * grads[k] for k in params}
