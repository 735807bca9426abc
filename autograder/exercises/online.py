"""Tutorial 05 (learning online): fixtures and known mistakes for its three exercises."""
from __future__ import annotations

import dataclasses

import numpy as np

from course_utils import online as ref

from ..core import Exercise, Fixture, Mistake, variant


def _filter_fixtures():
    rng = np.random.default_rng(50)
    return [Fixture(f"C={c}, dt={dt}, tau={tau}", dict(y=rng.standard_normal(c), u=rng.standard_normal(c),
                                                        dt=dt, tau=tau))
            for c, dt, tau in ((1, 0.001, 0.005), (3, 0.001, 0.02), (2, 0.0005, 0.1), (1, 0.002, 0.002))]


def _pes_fixtures():
    rng = np.random.default_rng(51)
    return [Fixture(f"N={n}, C={c}, kappa={lr}", dict(activities=ref.rate(rng.normal(0.2, 0.6, n)),
                                                      error=rng.standard_normal(c), learning_rate=lr, dt=dt))
            for n, c, lr, dt in ((10, 1, 1e-3, 0.001), (7, 3, 0.05, 0.001), (1, 2, 1e-4, 0.002), (12, 1, 0.3, 0.0005))]


def _fa_fixtures():
    rng = np.random.default_rng(52)
    fixtures = []
    for n, d, c, neuron, lr in ((8, 2, 1, "relu", 3.0), (6, 3, 2, "lif", 0.5), (1, 2, 1, "relu", 1.0),
                                (9, 2, 3, "lif", 2.0), (5, 4, 2, "relu", 0.1)):
        net = ref.init_network(rng, n, d, c, neuron=neuron, feedback_scale=0.01)
        x = ref.unit_vectors(rng, 1, d)[0] * rng.uniform(0.3, 1.0)
        J = ref.currents(x, net["encoders"], net["gain"], net["bias"])
        J = J + 0.5 * (J > 0.2) * rng.uniform(0.0, 1.0, n)      # LIF: well above threshold, a few below
        J[0] = max(J[0], 1.3)                                    # at least one neuron active
        fixtures.append(Fixture(f"N={n}, D={d}, C={c}, {neuron}",
                                dict(x=x, current=J, error=rng.standard_normal(c), feedback=net["feedback"],
                                     gain=net["gain"], learning_rate=lr, dt=0.001, neuron=neuron)))
    return fixtures


WITHHELD = {
    "online.filter_step": ("course_utils.online:filter_step", "course_utils.jax.online:filter_step"),
    "online.pes_update": ("course_utils.online:pes_update", "course_utils.jax.online:pes_update"),
    "online.fa_update": ("course_utils.online:fa_update", "course_utils.jax.online:fa_update"),
}


# --- known wrong variants ----------------------------------------------------------------------

def _filter_variant(y, u, dt, tau, *, ratio="dt/tau"):
    factor = {"dt/tau": dt / tau, "tau/dt": tau / dt, "dt": dt, "1/tau": 1.0 / tau}[ratio]
    return y + factor * (u - y)


def _pes_variant(activities, error, learning_rate, dt, *, per_neuron=True, with_dt=True, transpose=False):
    scale = learning_rate * (dt if with_dt else 1.0) / (activities.shape[0] if per_neuron else 1.0)
    out = -scale * np.outer(error, activities)
    return out.T if transpose else out


def _fa_variant(x, current, error, feedback, gain, learning_rate, dt, neuron="relu", *, presynaptic="x",
                with_gain=True, curve="own", biases=True):
    if curve == "own":
        slope = ref.rate_derivative(current, neuron)
    elif curve == "relu":                 # the ReLU's derivative, whatever the neuron
        slope = ref.rate_derivative(current, "relu")
    else:                                 # the derivative evaluated at the rate instead of the current
        slope = ref.rate_derivative(ref.rate(current, neuron), neuron)
    delta = (feedback @ error) * slope
    post = gain * delta if with_gain else delta
    if presynaptic == "x":
        enc = np.outer(post, x)
    else:                                 # the neuron's own rate in place of the presynaptic input
        enc = np.outer(post * ref.rate(current, neuron), np.ones_like(x))
    return {"encoders": -learning_rate * dt * enc,
            "biases": -learning_rate * dt * delta if biases else np.zeros_like(delta)}


EXERCISES = (
    Exercise(
        id="online.filter_step", withheld=WITHHELD["online.filter_step"], function_name="filter_step",
        reference=ref.filter_step, fixtures=_filter_fixtures, points=1,
        summary="one Euler step of tau dy/dt = u - y",
        mistakes=(
            Mistake("tau/dt instead of dt/tau", "the step moves y a fraction dt/tau of the way to u",
                    variant(_filter_variant, ratio="tau/dt")),
            Mistake("missing 1/tau", "divide dt by the time constant tau: y + (dt / tau) (u - y)",
                    variant(_filter_variant, ratio="dt")),
            Mistake("missing dt", "multiply by the step dt: y + (dt / tau) (u - y)",
                    variant(_filter_variant, ratio="1/tau")),
        ),
    ),
    Exercise(
        id="online.pes_update", withheld=WITHHELD["online.pes_update"], function_name="pes_update",
        reference=ref.pes_update, fixtures=_pes_fixtures, points=2,
        summary="the decoders' change -(kappa dt / N) e a^T",
        mistakes=(
            Mistake("not divided by N", "PES divides the learning rate by the number of neurons N",
                    variant(_pes_variant, per_neuron=False)),
            Mistake("missing dt", "the learning rate is per second: multiply by dt",
                    variant(_pes_variant, with_dt=False)),
        ),
    ),
    Exercise(
        id="online.fa_update", withheld=WITHHELD["online.fa_update"], function_name="fa_update",
        reference=ref.fa_update, fixtures=_fa_fixtures, points=3,
        summary="encoders and biases: delta = (B e) G'(J); dE = -eta dt (g delta) x^T, db = -eta dt delta",
        mistakes=(
            Mistake("the neuron's own rate instead of the presynaptic input",
                    "an encoder weight E_ij connects input x_j to neuron i: its change is the outer product "
                    "of the neuron's error term (g * delta) with the presynaptic input x",
                    variant(_fa_variant, presynaptic="rate")),
            Mistake("missing gain", "J = g * (E x) + b, so dJ/dE_ij = g_i x_j: multiply delta by the gain",
                    variant(_fa_variant, with_gain=False)),
            Mistake("the derivative of the wrong curve", "use G' of this neuron's own rate curve "
                    "(rate_derivative(current, neuron)): the LIF curve is not a ReLU",
                    variant(_fa_variant, curve="relu")),
            Mistake("derivative at the rate", "evaluate G' at the input current J, not at the rate G(J)",
                    variant(_fa_variant, curve="at rate")),
            Mistake("bias left out", "the biases learn too: their change is -eta dt delta",
                    variant(_fa_variant, biases=False)),
        ),
    ),
)


# --- hidden fixtures: kinds, drawn from the course secret (autograder.secret) ----------------------------

# The helpers the setup cell hands to answers; everything else of the course is sealed while grading.
HANDED = ("course_utils.online:rate", "course_utils.online:rate_derivative", "course_utils.online:currents")


def _filter_hidden(rng):
    out = []
    for kind, c, dt, tau in (("tau equal to dt", 2, 0.001, 0.001), ("a slow synapse", 3, 0.001, 0.2),
                             ("a fast synapse", 1, 0.001, 0.002), ("one output", 1, 0.0005, 0.01),
                             ("many outputs", 8, 0.001, 0.05), ("a long step", 2, 0.01, 0.05),
                             ("input equal to the output", 3, 0.001, 0.02), ("zero output", 2, 0.001, 0.01)):
        y, u = rng.standard_normal(c) * rng.uniform(0.1, 10), rng.standard_normal(c) * rng.uniform(0.1, 10)
        if kind == "input equal to the output":
            u = y.copy()
        elif kind == "zero output":
            y = np.zeros(c)
        out.append(Fixture(f"{kind}: C={c}, dt={dt:g}, tau={tau:g}", dict(y=y, u=u, dt=dt, tau=tau)))
    return out


def _pes_hidden(rng):
    out = []
    for kind, n, c, lr, dt in (("one neuron", 1, 1, 1e-3, 0.001), ("many neurons", 40, 1, 1e-4, 0.001),
                               ("several outputs", 9, 4, 0.05, 0.001), ("silent neurons", 8, 2, 0.01, 0.001),
                               ("a large learning rate", 6, 1, 5.0, 0.0005), ("a long step", 10, 2, 1e-3, 0.01),
                               ("zero error", 5, 2, 0.1, 0.001), ("negative error", 7, 3, 0.02, 0.001)):
        activities = ref.rate(rng.normal(0.2, 0.6, n))
        error = rng.standard_normal(c)
        if kind == "silent neurons":
            activities[: n // 2] = 0.0
        elif kind == "zero error":
            error = np.zeros(c)
        elif kind == "negative error":
            error = -np.abs(error) - 0.1
        out.append(Fixture(f"{kind}: N={n}, C={c}", dict(activities=activities, error=error, learning_rate=lr, dt=dt)))
    return out


def _fa_hidden(rng):
    out = []
    for neuron in ("relu", "lif"):
        for kind, n, d, c in (("one neuron", 1, 2, 1), ("several outputs", 7, 3, 3), ("one input dimension", 6, 1, 2),
                              ("some neurons silent", 9, 2, 1), ("just above threshold", 6, 2, 2),
                              ("strong input", 8, 4, 2)):
            net = ref.init_network(rng, n, d, c, neuron=neuron, feedback_scale=float(rng.uniform(0.01, 1.0)))
            x = ref.unit_vectors(rng, 1, d)[0] * rng.uniform(0.3, 1.0)
            J = ref.currents(x, net["encoders"], net["gain"], net["bias"])
            threshold = 1.0 if neuron == "lif" else 0.0
            J = np.where(J > threshold + 0.05, J, threshold + rng.uniform(0.1, 1.0, n))   # clear of the kink
            if kind == "some neurons silent":
                J[: n // 2] = threshold - rng.uniform(0.1, 1.0, n // 2)
            elif kind == "just above threshold":
                J = threshold + rng.uniform(0.02, 0.1, n)
            elif kind == "strong input":
                J = J * 5.0
            lr = float(rng.choice([0.1, 1.0, 3.0]))
            out.append(Fixture(f"{kind}, {neuron}: N={n}, D={d}, C={c}",
                               dict(x=x, current=J, error=rng.standard_normal(c), feedback=net["feedback"],
                                    gain=net["gain"], learning_rate=lr, dt=0.001, neuron=neuron)))
    return out


_HIDDEN = {"online.filter_step": _filter_hidden, "online.pes_update": _pes_hidden, "online.fa_update": _fa_hidden}
EXERCISES = tuple(dataclasses.replace(e, hidden=_HIDDEN[e.id]) for e in EXERCISES)
