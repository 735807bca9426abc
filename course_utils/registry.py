"""The registry of learning rules: one entry per rule, used by the runner, `make run`, the
benchmarks and the tests (which run over every entry).

Protocol. A rule has a NumPy implementation and a JAX implementation, each a ``Backend``:

    init(rng_or_key, cfg)                -> state   (a pytree; for most rules the MLP's params)
    step(state, batch, rng_or_key, cfg)  -> (state, metrics)   one minibatch update;
                                            batch = {"x": (B, D), "y": (B, C) one-hot,
                                                     "index": (B,) positions in the training set}
                                            metrics = {"loss": batch loss before the update}
    predict(state, x, cfg)               -> (N,) predicted labels

NumPy steps take a numpy Generator and may use Python loops; JAX steps take a PRNG key and must
be pure and jittable (the trainer scans them over an epoch). ``cfg`` is a plain dict: the rule's
defaults updated with the caller's overrides. Implementations are named by "module:attribute" and
imported on first use, so that NumPy-only users never import JAX.

Kinds. ``kind="classifier"`` (the default) is the protocol above: a network trained on digits.
``kind="online"`` (tutorial 05) is a network learning a function of time while it runs; its
``numpy`` and ``jax`` attributes name simulators, and the runner calls
``course_utils.online.run_rule(name, cfg, backend, seeds)`` instead of the trainer.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass(frozen=True)
class Backend:
    init: Callable
    step: Callable
    predict: Callable


@dataclass(frozen=True)
class Rule:
    name: str
    summary: str
    tutorial: str
    numpy: str
    jax: str
    defaults: dict = field(default_factory=dict)
    kind: str = "classifier"            # or "online" (see the module docstring)

    def backend(self, name: str) -> Backend:
        """The "numpy" or "jax" implementation of this rule."""
        if name not in ("numpy", "jax"):
            raise ValueError(f"unknown backend {name!r}; choose numpy or jax")
        module, attribute = getattr(self, name).split(":")
        return getattr(importlib.import_module(module), attribute)

    def config(self, **overrides: Any) -> dict:
        unknown = [k for k, v in overrides.items() if v is not None and k not in self.defaults]
        if unknown:
            raise ValueError(f"rule {self.name!r} has no setting(s) {unknown}; "
                             f"it has {sorted(self.defaults)}")
        return {**self.defaults, **{k: v for k, v in overrides.items() if v is not None}}


RULES: dict[str, Rule] = {}


def register(rule: Rule) -> Rule:
    if rule.name in RULES:
        raise ValueError(f"rule {rule.name!r} is registered twice")
    RULES[rule.name] = rule
    return rule


def get_rule(name: str) -> Rule:
    from . import rules  # noqa: F401  (fills RULES)
    if name not in RULES:
        raise KeyError(f"unknown rule {name!r}; registered rules: {', '.join(RULES)}")
    return RULES[name]


def all_rules(kind: str | None = None) -> dict[str, Rule]:
    """Every registered rule, or only those of one ``kind`` ("classifier" or "online")."""
    from . import rules  # noqa: F401
    return {name: rule for name, rule in RULES.items() if kind is None or rule.kind == kind}
