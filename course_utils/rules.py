"""Every learning rule of the course, once: what a rule is (``Rule``), then one entry per rule
(``COURSE_RULES``). The registry (course_utils.registry: the protocol of the implementations, and
lookup by name) registers these entries; this module imports nothing of the course, so the registry
can import it without a circle.

Common settings: sizes (layer widths), activation, learning_rate, batch_size, epochs.
The defaults are the ones that `make run` and `python -m course_utils.run RULE` use.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Rule:
    """One learning rule: its name, a one-line summary, its tutorial, its NumPy and JAX
    implementations named "module:attribute" (each a ``course_utils.registry.Backend``, imported on
    first use), its default settings and its kind ("classifier" or "online": see the registry)."""
    name: str
    summary: str
    tutorial: str
    numpy: str
    jax: str
    defaults: dict = field(default_factory=dict)
    kind: str = "classifier"            # or "online" (see course_utils.registry)
    # how a seed sweep runs the seeds given to one device: "vmap" (one batched program) or "map" (one
    # after the other in one program: for a rule whose batched products are slower per seed than one
    # run's; see course_utils.training.make_jax_epoch and benchmarks/README.md)
    sweep: str = "vmap"

    def backend(self, name: str):
        """The "numpy" or "jax" implementation of this rule (a course_utils.registry.Backend)."""
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


COURSE_RULES: list[Rule] = []       # in course order; course_utils.registry registers each of them


def add(rule: Rule) -> Rule:
    """Append ``rule`` to COURSE_RULES (the registry registers it, and refuses a name used twice)."""
    COURSE_RULES.append(rule)
    return rule


MLP = {"sizes": (784, 100, 10), "activation": "sigmoid"}

# --- Tutorial 01: perturbation learning --------------------------------------------------------
add(Rule(
    name="backprop",
    summary="exact gradient by backpropagation (the baseline)",
    tutorial="01_perturbation",
    numpy="course_utils.perturbation:BACKPROP",
    jax="course_utils.jax.perturbation:BACKPROP",
    defaults={**MLP, "learning_rate": 0.1, "batch_size": 8, "epochs": 20},
))
add(Rule(
    name="weight_perturbation",
    summary="perturb every weight, correlate the loss change with the perturbation",
    tutorial="01_perturbation",
    numpy="course_utils.perturbation:WEIGHT_PERTURBATION",
    jax="course_utils.jax.perturbation:WEIGHT_PERTURBATION",
    defaults={**MLP, "learning_rate": 0.0005, "batch_size": 8, "epochs": 20, "sigma": 1e-3,
              "perturbations": 1},
))
add(Rule(
    name="node_perturbation",
    summary="perturb the units' pre-activations, one extra forward pass per batch",
    tutorial="01_perturbation",
    numpy="course_utils.perturbation:NODE_PERTURBATION",
    jax="course_utils.jax.perturbation:NODE_PERTURBATION",
    defaults={**MLP, "learning_rate": 0.002, "batch_size": 8, "epochs": 20, "sigma": 1e-3},
))

# --- Tutorial 02: the weight transport problem ---------------------------------------------------
add(Rule(
    name="feedback_alignment",
    summary="backprop with a fixed random feedback matrix B in place of W^T",
    tutorial="02_weight_transport",
    numpy="course_utils.weight_transport:FEEDBACK_ALIGNMENT",
    jax="course_utils.jax.weight_transport:FEEDBACK_ALIGNMENT",
    # feedback_gain: B_l ~ N(0, gain^2 / H_l); the error reaching the hidden layer scales with it
    defaults={**MLP, "learning_rate": 0.03, "batch_size": 8, "epochs": 20, "feedback_gain": 4.0},
))
add(Rule(
    name="direct_feedback_alignment",
    summary="each hidden layer gets the output error through its own fixed random matrix",
    tutorial="02_weight_transport",
    numpy="course_utils.weight_transport:DIRECT_FEEDBACK_ALIGNMENT",
    jax="course_utils.jax.weight_transport:DIRECT_FEEDBACK_ALIGNMENT",
    defaults={"sizes": (784, 100, 100, 10), "activation": "sigmoid", "learning_rate": 0.03,
              "batch_size": 8, "epochs": 20, "feedback_gain": 4.0},
))
add(Rule(
    name="kolen_pollack",
    summary="feedback alignment whose B gets W's transposed update and the same decay",
    tutorial="02_weight_transport",
    numpy="course_utils.weight_transport:KOLEN_POLLACK",
    jax="course_utils.jax.weight_transport:KOLEN_POLLACK",
    defaults={**MLP, "learning_rate": 0.1, "batch_size": 8, "epochs": 20, "decay": 1e-4,
              "feedback_gain": 1.0},
))

# --- Tutorial 04: forward-forward ------------------------------------------------------------------
add(Rule(
    name="forward_forward",
    summary="layer-local goodness objectives, positive vs (hard) negative label embeddings, Adam",
    tutorial="04_forward_forward",
    numpy="course_utils.forward_forward:FORWARD_FORWARD",
    jax="course_utils.jax.forward_forward:FORWARD_FORWARD",
    defaults={"sizes": (784, 500, 500), "learning_rate": 0.001, "batch_size": 100, "epochs": 10,
              "negatives": "hard", "skip_first": True},
    sweep="map",       # its products (minibatch 100, 500 units) keep the cores busy one seed at a time
))

# --- Tutorial 03: equilibrium propagation ----------------------------------------------------------
add(Rule(
    name="eqprop",
    summary="free and nudged relaxation of a Hopfield-like network; contrastive local update",
    tutorial="03_eqprop",
    numpy="course_utils.eqprop:EQPROP",
    jax="course_utils.jax.eqprop:EQPROP",
    # Scellier and Bengio (2017), 784-500-10: epsilon 0.5, beta 1 with a random sign, 20 free and
    # 4 nudged steps, learning rates 0.1 and 0.05, minibatch 20, persistent particles.
    # symmetric=True nudges with +beta and -beta every minibatch (random_sign is then ignored). Deeper
    # nets: sizes=(784, 500, 500, 10) with one learning rate per layer; the authors' code writes the
    # cost without the 1/2, so its beta = 1 nudges as hard as beta = 2 here; measured on the offline
    # digits, the deep net learns with beta = 2 and its outputs die with beta = 1.
    defaults={"sizes": (784, 500, 10), "epsilon": 0.5, "beta": 1.0, "random_sign": True,
              "symmetric": False, "free_steps": 20, "nudged_steps": 4, "predict_steps": 50,
              "learning_rates": (0.1, 0.05), "batch_size": 20, "epochs": 10},
    sweep="map",       # vmapped, its products over 20 examples run slower per seed than one run's
))

# --- Tutorial 05: learning online, in continuous time (kind="online": simulators, not classifiers) ----
# A population of 10 ReLU rate neurons learns y* = x0 x1 of two sines while it runs (100 simulated
# seconds, Euler steps of 1 ms, a 5 ms synapse on the output); learning stops after three quarters and
# the last quarter measures what was learned (nrmse). Decoders learn by PES in every rule.
ONLINE = {"neurons": 10, "neuron": "relu", "seconds": 100.0, "dt": 0.001, "tau": 0.005,
          "decoder_rate": 1e-3, "encoder_rate": 0.0, "feedback": "fa", "feedback_scale": 1e-3,
          "record_every": 100, "learn_fraction": 0.75}
add(Rule(
    name="online_decoders_only",
    summary="PES (the delta rule) on the decoders; encoders and biases fixed and random",
    tutorial="05_online", kind="online",
    numpy="course_utils.online:simulate",
    jax="course_utils.jax.online:simulate",
    defaults=ONLINE,
))
add(Rule(
    name="online_feedback_alignment",
    summary="PES on the decoders; encoders and biases by the error through a fixed random B",
    tutorial="05_online", kind="online",
    numpy="course_utils.online:simulate",
    jax="course_utils.jax.online:simulate",
    defaults={**ONLINE, "encoder_rate": 5.0, "feedback": "fa"},
))
add(Rule(
    name="online_backprop",
    summary="PES on the decoders; encoders and biases by the error through d^T (weight transport)",
    tutorial="05_online", kind="online",
    numpy="course_utils.online:simulate",
    jax="course_utils.jax.online:simulate",
    defaults={**ONLINE, "encoder_rate": 5.0, "feedback": "bp"},
))
