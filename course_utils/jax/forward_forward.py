"""JAX twin of course_utils.forward_forward: same functions and names (float32, jittable).

The label candidates at prediction are a ``vmap`` over the 10 labels; training steps are jitted and
scanned over an epoch by course_utils.training; negatives come from explicit keys.
"""
from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp

from ..registry import Backend

NUM_CLASSES = 10
EPS = 1e-8


def embed_label(x, labels, num_classes=NUM_CLASSES):
    return x.at[:, :num_classes].set(jax.nn.one_hot(labels, num_classes, dtype=x.dtype))


def normalise(h):
    return h / jnp.sqrt(jnp.mean(h**2, axis=1, keepdims=True) + EPS)


def layer_forward(W, b, h_below):
    u = normalise(h_below)
    return u, jnp.maximum(u @ W.T + b[None, :], 0.0)


def goodness(h):
    return jnp.sum(h**2, axis=1)


def layer_loss(h_pos, h_neg, threshold):
    return jnp.mean(jax.nn.softplus(threshold - goodness(h_pos))) + jnp.mean(jax.nn.softplus(goodness(h_neg) - threshold))


def layer_gradients(W, b, h_below_pos, h_below_neg, threshold):
    """The closed form of the NumPy reference (tested against jax.grad of layer_loss)."""
    u_pos, h_pos = layer_forward(W, b, h_below_pos)
    u_neg, h_neg = layer_forward(W, b, h_below_neg)
    g_pos, g_neg = goodness(h_pos), goodness(h_neg)
    d_pos = (-jax.nn.sigmoid(threshold - g_pos) / g_pos.shape[0])[:, None] * 2.0 * h_pos
    d_neg = (jax.nn.sigmoid(g_neg - threshold) / g_neg.shape[0])[:, None] * 2.0 * h_neg
    grads = {"W": d_pos.T @ u_pos + d_neg.T @ u_neg, "b": d_pos.sum(0) + d_neg.sum(0)}
    return grads, layer_loss(h_pos, h_neg, threshold), (h_pos, h_neg)


def layer_gradient(W, b, h_below_pos, h_below_neg, threshold):
    return layer_gradients(W, b, h_below_pos, h_below_neg, threshold)[0]


def num_layers(params):
    return len([k for k in params if k.startswith("W")])


def activities(params, x):
    hs, h = [], x
    for l in range(1, num_layers(params) + 1):
        _, h = layer_forward(params[f"W{l}"], params[f"b{l}"], h)
        hs.append(h)
    return hs


def label_goodness(params, x, skip_first=True, num_classes=NUM_CLASSES):
    """(N, C) goodness of every candidate label: a vmap over the labels."""
    first = 1 if (skip_first and num_layers(params) > 1) else 0

    def for_label(c):
        hs = activities(params, embed_label(x, jnp.full((x.shape[0],), c), num_classes))
        return sum(goodness(h) for h in hs[first:])

    return jax.vmap(for_label, out_axes=1)(jnp.arange(num_classes))


@partial(jax.jit, static_argnames="skip_first")
def predict(params, x, skip_first=True):
    return jnp.argmax(label_goodness(params, x, skip_first), axis=1)


def hard_negative_labels(scores, labels):
    masked = jnp.where(jax.nn.one_hot(labels, scores.shape[1], dtype=bool), -jnp.inf, scores)
    return jnp.argmax(masked, axis=1)


def init_ff(key, sizes):
    keys = jax.random.split(key, len(sizes) - 1)
    params = {}
    for l, (k, fan_in, fan_out) in enumerate(zip(keys, sizes[:-1], sizes[1:]), start=1):
        params[f"W{l}"] = jax.random.normal(k, (fan_out, fan_in)) * jnp.sqrt(1.0 / fan_in)
        params[f"b{l}"] = jnp.zeros(fan_out)
    return params


def adam_update(params, grads, opt, learning_rate, b1=0.9, b2=0.999, eps=1e-8):
    t = opt["t"] + 1
    m = {k: b1 * opt["m"][k] + (1 - b1) * grads[k] for k in params}
    v = {k: b2 * opt["v"][k] + (1 - b2) * grads[k] ** 2 for k in params}
    step = learning_rate * jnp.sqrt(1 - b2**t) / (1 - b1**t)
    new = {k: params[k] - step * m[k] / (jnp.sqrt(v[k]) + eps) for k in params}
    return new, {"t": t, "m": m, "v": v}


def ff_gradients(params, x_pos, x_neg):
    grads, losses = {}, []
    h_pos, h_neg = x_pos, x_neg
    for l in range(1, num_layers(params) + 1):
        W, b = params[f"W{l}"], params[f"b{l}"]
        g, loss, (h_pos, h_neg) = layer_gradients(W, b, h_pos, h_neg, threshold=float(W.shape[0]))
        grads[f"W{l}"], grads[f"b{l}"] = g["W"], g["b"]
        losses.append(loss)
    return grads, jnp.stack(losses)


def _init(key, cfg):
    params = init_ff(key, cfg["sizes"])
    zeros = lambda: {k: jnp.zeros_like(v) for k, v in params.items()}  # noqa: E731
    return {"params": params, "opt": {"t": jnp.zeros((), jnp.int32), "m": zeros(), "v": zeros()}}


def _step(state, batch, key, cfg):
    labels = jnp.argmax(batch["y"], axis=1)
    params = state["params"]
    if cfg["negatives"] == "hard":
        wrong = hard_negative_labels(label_goodness(params, batch["x"], cfg["skip_first"]), labels)
    else:
        wrong = (labels + jax.random.randint(key, labels.shape, 1, NUM_CLASSES)) % NUM_CLASSES
    grads, losses = ff_gradients(params, embed_label(batch["x"], labels), embed_label(batch["x"], wrong))
    params, opt = adam_update(params, grads, state["opt"], cfg["learning_rate"])
    return {"params": params, "opt": opt}, {"loss": losses.sum()}


def _predict(state, x, cfg):
    return predict(state["params"], x, cfg["skip_first"])


FORWARD_FORWARD = Backend(_init, _step, _predict)
