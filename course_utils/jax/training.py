"""JAX twin of the rule-building helper in course_utils.training."""
from __future__ import annotations

from ..registry import Backend
from . import mlp


def jax_gradient_backend(gradient_fn) -> Backend:
    """A Backend for "estimate dL/dtheta, then an SGD step" rules on the MLP (JAX, jittable).

    gradient_fn(params, x, y, key, cfg) -> (grads, loss).
    """
    def init(key, cfg):
        return mlp.init_mlp(key, cfg["sizes"], cfg["activation"])

    def step(params, batch, key, cfg):
        grads, loss = gradient_fn(params, batch["x"], batch["y"], key, cfg)
        lr = cfg["learning_rate"]
        return {k: params[k] - lr * grads[k] for k in params}, {"loss": loss}

    def predict(params, x, cfg):
        return mlp.predict(params, x, cfg["activation"])

    return Backend(init, step, predict)
