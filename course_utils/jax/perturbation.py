"""JAX twin of course_utils.perturbation: same functions and names; noise drawn from explicit keys.

weight_perturbation_gradient vmaps the K perturbed forward passes; node_perturbation_gradient is
one clean and one noisy forward pass plus a matrix product per layer, as in the reference.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from . import mlp
from .training import jax_gradient_backend


def weight_perturbation_gradient(params, x, y, perturbations, sigma, activation="sigmoid"):
    """As the NumPy reference: mean_k (L(theta + Psi_k) - L(theta)) Psi_k / sigma^2."""
    loss_clean = mlp.loss(params, x, y, activation)

    def perturbed_loss(psi):
        return mlp.loss({k: params[k] + psi[k] for k in params}, x, y, activation)

    loss_change = jax.vmap(perturbed_loss)(perturbations) - loss_clean            # (K,)
    return {k: jnp.tensordot(loss_change, perturbations[k], axes=1) / (sigma**2 * len(loss_change))
            for k in params}


def node_perturbation_gradient(params, x, y, node_noise, sigma, activation="sigmoid"):
    """As the NumPy reference: g_n = (L_n(noisy) - L_n(clean)) xi_n / sigma^2, then
    dL/dW_l = g^T @ h_{l-1} / N and dL/db_l = mean_n g_n."""
    clean = mlp.forward(params, x, activation)
    noisy = mlp.forward(params, x, activation, node_noise=node_noise)
    loss_change = mlp.per_example_loss(noisy["y_hat"], y) - mlp.per_example_loss(clean["y_hat"], y)
    grads = {}
    for l in range(1, mlp.num_layers(params) + 1):
        delta = loss_change[:, None] * node_noise[f"z{l}"] / sigma**2 / x.shape[0]
        grads[f"W{l}"], grads[f"b{l}"] = mlp.layer_gradients(delta, clean["inputs"][l - 1])
    return {k: grads[k] for k in params}


def gradient_snr(samples):
    """As the NumPy reference: mean over parameters (with std > 0) of |mean| / std across rows."""
    mean, std = samples.mean(axis=0), samples.std(axis=0)
    used = std > 0
    ratio = jnp.where(used, jnp.abs(mean) / jnp.where(used, std, 1.0), 0.0)
    return ratio.sum() / used.sum()


def sample_weight_perturbations(key, params, sigma, num_samples=1):
    """{name: (K, *shape)} draws of Psi ~ N(0, sigma^2), one key per parameter."""
    keys = jax.random.split(key, len(params))
    return {name: sigma * jax.random.normal(k, (num_samples, *value.shape))
            for k, (name, value) in zip(keys, params.items())}


def sample_node_noise(key, params, batch_size, sigma):
    """{"z1": (N, H), ..., "zL": (N, C)} draws of xi ~ N(0, sigma^2)."""
    L = mlp.num_layers(params)
    keys = jax.random.split(key, L)
    return {f"z{l}": sigma * jax.random.normal(keys[l - 1], (batch_size, params[f"b{l}"].shape[0]))
            for l in range(1, L + 1)}


# --- the registered rules ----------------------------------------------------------------------

def _backprop(params, x, y, key, cfg):
    return mlp.backprop_gradients(params, x, y, cfg["activation"]), mlp.loss(params, x, y, cfg["activation"])


def _weight_perturbation(params, x, y, key, cfg):
    psi = sample_weight_perturbations(key, params, cfg["sigma"], cfg["perturbations"])
    grads = weight_perturbation_gradient(params, x, y, psi, cfg["sigma"], cfg["activation"])
    return grads, mlp.loss(params, x, y, cfg["activation"])


def _node_perturbation(params, x, y, key, cfg):
    xi = sample_node_noise(key, params, x.shape[0], cfg["sigma"])
    grads = node_perturbation_gradient(params, x, y, xi, cfg["sigma"], cfg["activation"])
    return grads, mlp.loss(params, x, y, cfg["activation"])


BACKPROP = jax_gradient_backend(_backprop)
WEIGHT_PERTURBATION = jax_gradient_backend(_weight_perturbation)
NODE_PERTURBATION = jax_gradient_backend(_node_perturbation)
