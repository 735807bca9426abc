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

The rules themselves (``Rule``, one entry per rule) are written in course_utils/rules.py, which imports
nothing of the course; this module imports that list and registers each entry, so the two import one
way (registry -> rules).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .rules import COURSE_RULES, Rule      # Rule: the entry type, written there, a name of this module too


@dataclass(frozen=True)
class Backend:
    init: Callable
    step: Callable
    predict: Callable


RULES: dict[str, Rule] = {}


def register(rule: Rule) -> Rule:
    if rule.name in RULES:
        raise ValueError(f"rule {rule.name!r} is registered twice")
    RULES[rule.name] = rule
    return rule


for _rule in COURSE_RULES:          # the course's rules (course_utils/rules.py), registered here, once
    register(_rule)


def get_rule(name: str) -> Rule:
    if name not in RULES:
        raise KeyError(f"unknown rule {name!r}; registered rules: {', '.join(RULES)}")
    return RULES[name]


def all_rules(kind: str | None = None) -> dict[str, Rule]:
    """Every registered rule, or only those of one ``kind`` ("classifier" or "online")."""
    return {name: rule for name, rule in RULES.items() if kind is None or rule.kind == kind}
