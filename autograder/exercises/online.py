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

def _filter_variant(y, u, dt, tau, *, ratio="dt/tau", rule="euler"):
    """The synapse's step with one slip. ratio: the fraction a of the Euler step, "dt/tau", "tau/dt", "dt",
    "1/tau", "ms" (dt in milliseconds); rule: "euler" y + a (u - y), "exact" (the exponential solution over
    the step), "mixed" (exact decay, Euler input), "from zero" (the text's u (1 - exp(-t / tau)) from y = 0),
    "backward" (implicit Euler, alpha = dt / (tau + dt)), "sign" y + a (y - u), "change" a (u - y),
    "precedence" y + a u - y, "input unscaled" (1 - a) y + u."""
    a = {"dt/tau": dt / tau, "tau/dt": tau / dt, "dt": dt, "1/tau": 1.0 / tau, "ms": 1000.0 * dt / tau}[ratio]
    decay = np.exp(-dt / tau)
    return {"euler": lambda: y + a * (u - y), "exact": lambda: u + (y - u) * decay,
            "mixed": lambda: y * decay + a * u, "from zero": lambda: u * (1.0 - decay),
            "backward": lambda: (y + a * u) / (1.0 + a), "sign": lambda: y + a * (y - u),
            "change": lambda: a * (u - y), "precedence": lambda: y + a * u - y,
            "input unscaled": lambda: (1.0 - a) * y + u}[rule]()


def _pes_variant(activities, error, learning_rate, dt, *, divisor="N", with_dt="times", with_rate=True,
                 transpose=False, mean_rate=False):
    """PES with one slip. divisor: what divides kappa dt, "N", "1", "C", "NC", "1/N" (times N), "rates" (the
    total rate sum(a)), "squares" (|a|^2, normalised LMS); with_dt: "times", "none", "divided"; mean_rate:
    -kappa dt e mean(a) for every neuron (the 1/N read as an average over the neurons)."""
    N, C = activities.shape[0], error.shape[0]
    scale = {"N": N, "1": 1.0, "C": C, "NC": N * C, "1/N": 1.0 / N, "rates": float(np.sum(activities)),
             "squares": float(activities @ activities)}[divisor]
    step = (learning_rate if with_rate else 1.0) * {"times": dt, "none": 1.0, "divided": 1.0 / dt}[with_dt]
    a = np.full(activities.shape, np.sum(activities)) if mean_rate else activities     # (over N: the mean rate)
    out = -(step / scale) * np.outer(error, a)
    return out.T if transpose else out


def _fa_variant(x, current, error, feedback, gain, learning_rate, dt, neuron="relu", *, presynaptic="x",
                with_gain=True, gain_in_bias=False, curve="own", biases="learn", with_dt=True, per_neuron=False,
                gain_twice=False):
    """Online FA with one slip. curve: the slope, "own" G'(J), "relu" (the ReLU's, whatever the neuron),
    "at rate" G'(G(J)), "rate" G(J) itself, "unit step" (J > 0); presynaptic: "x", "rate" (the neuron's own
    rate along every input dimension), "sketch" (the forum sketch: (B e) G(J) along every dimension, no G',
    no gain, biases fixed); biases: "learn", "zero", "absent", "sign" (+ eta dt delta); per_neuron: PES's 1/N;
    gain_twice: delta already multiplied by the gain (so the biases' change has it, the encoders' has it twice)."""
    if curve == "own":
        slope = ref.rate_derivative(current, neuron)
    elif curve == "relu":
        slope = ref.rate_derivative(current, "relu")
    elif curve == "at rate":
        slope = ref.rate_derivative(ref.rate(current, neuron), neuron)
    elif curve == "rate":
        slope = ref.rate(current, neuron)
    else:
        slope = (np.asarray(current) > 0).astype(np.float64)
    delta = (feedback @ error) * slope * (gain if gain_twice else 1.0)
    post = gain * delta if with_gain else delta
    step = learning_rate * (dt if with_dt else 1.0) / (len(current) if per_neuron else 1.0)
    if presynaptic == "sketch":
        push = (feedback @ error) * ref.rate(current, neuron)
        return {"encoders": -step * np.outer(push, np.ones_like(x)), "biases": np.zeros_like(delta)}
    enc = np.outer(post, x) if presynaptic == "x" else np.outer(post * ref.rate(current, neuron), np.ones_like(x))
    bias = -step * (gain * delta if gain_in_bias else delta)
    out = {"encoders": -step * enc,
           "biases": {"learn": bias, "zero": np.zeros_like(delta), "absent": None, "sign": -bias}[biases]}
    return {k: v for k, v in out.items() if v is not None}


_EULER = "the exercise asks for one Euler step, y + (dt / tau) (u - y), the method the notebook compares with the exact solution"

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
            Mistake("dt in milliseconds", "dt and tau are both in seconds: y + (dt / tau) (u - y), no factor 1000",
                    variant(_filter_variant, ratio="ms")),
            Mistake("exact exponential update instead of Euler", _EULER + " (no exp)", variant(_filter_variant, rule="exact")),
            Mistake("exact exponential update instead of Euler", _EULER + " (no exp)", variant(_filter_variant, rule="mixed")),
            Mistake("the solution from y = 0", "u (1 - exp(-t / tau)) is the solution that starts at y = 0; one "
                    "step starts from the y you are given: y + (dt / tau) (u - y)", variant(_filter_variant, rule="from zero")),
            Mistake("backward Euler", _EULER + ": the explicit (forward) step, with dt / tau, not dt / (tau + dt)",
                    variant(_filter_variant, rule="backward")),
            Mistake("wrong sign of (u - y)", "the output moves toward the input: y + (dt / tau) (u - y)",
                    variant(_filter_variant, rule="sign")),
            Mistake("the change instead of the new output", "return the filtered output after the step, "
                    "y + (dt / tau) (u - y), not only the change", variant(_filter_variant, rule="change")),
            Mistake("missing parentheses around (u - y)", "y + dt / tau * u - y is (dt / tau) u: write "
                    "y + dt / tau * (u - y)", variant(_filter_variant, rule="precedence")),
            Mistake("input not scaled by dt/tau", "the input enters with the same fraction dt / tau as the decay: "
                    "(1 - dt / tau) y + (dt / tau) u", variant(_filter_variant, rule="input unscaled")),
        ),
    ),
    Exercise(
        id="online.pes_update", withheld=WITHHELD["online.pes_update"], function_name="pes_update",
        reference=ref.pes_update, fixtures=_pes_fixtures, points=2,
        summary="the decoders' change -(kappa dt / N) e a^T",
        mistakes=(
            Mistake("not divided by N", "PES divides the learning rate by the number of neurons N",
                    variant(_pes_variant, divisor="1")),
            Mistake("divided by the number of outputs C instead of N", "N is the number of neurons, "
                    "len(activities), not the number of outputs len(error)", variant(_pes_variant, divisor="C")),
            Mistake("divided by N C", "divide by the number of neurons N only, not by N times the number of outputs",
                    variant(_pes_variant, divisor="NC")),
            Mistake("multiplied by N instead of divided", "PES divides the learning rate by the number of neurons: "
                    "kappa dt / N", variant(_pes_variant, divisor="1/N")),
            Mistake("divided by |a|^2", "PES divides kappa dt by the number of neurons N, not by the sum of "
                    "the squared rates (that is normalised LMS)", variant(_pes_variant, divisor="squares")),
            Mistake("divided by the total rate", "divide by the number of neurons N, not by the sum of their rates",
                    variant(_pes_variant, divisor="rates")),
            Mistake("missing dt", "the learning rate is per second: multiply by dt",
                    variant(_pes_variant, with_dt="none")),
            Mistake("missing dt and not divided by N", "the change is -(kappa dt / N) e a^T: multiply by dt and "
                    "divide by the number of neurons N", variant(_pes_variant, with_dt="none", divisor="1")),
            Mistake("divided by dt", "the learning rate is per second: multiply it by dt, do not divide",
                    variant(_pes_variant, with_dt="divided")),
            Mistake("missing learning rate", "multiply by the learning rate kappa: -(kappa dt / N) e a^T",
                    variant(_pes_variant, with_rate=False)),
            Mistake("the mean rate for every neuron", "each decoder d_cn changes with its own neuron's rate a_n: "
                    "the outer product e a^T", variant(_pes_variant, mean_rate=True)),
        ),
    ),
    Exercise(
        id="online.fa_update", withheld=WITHHELD["online.fa_update"], function_name="fa_update",
        reference=ref.fa_update, fixtures=_fa_fixtures, points=3,
        summary="encoders and biases: delta = (B e) G'(J); dE = -eta dt (g delta) x^T, db = -eta dt delta",
        mistakes=(
            Mistake("the forum sketch's update", "the sketch missed all four details: delta = (B e) * G'(J) of the "
                    "neuron's own curve, the encoders' change -eta dt outer(g * delta, x), and the biases' -eta dt delta",
                    variant(_fa_variant, presynaptic="sketch")),
            Mistake("the neuron's own rate instead of the presynaptic input",
                    "an encoder weight E_ij connects input x_j to neuron i: its change is the outer product "
                    "of the neuron's error term (g * delta) with the presynaptic input x",
                    variant(_fa_variant, presynaptic="rate")),
            Mistake("the rate instead of its derivative", "delta = (B e) * G'(J): the slope of the rate curve "
                    "(rate_derivative), not the rate", variant(_fa_variant, curve="rate")),
            Mistake("missing gain", "J = g * (E x) + b, so dJ/dE_ij = g_i x_j: multiply delta by the gain",
                    variant(_fa_variant, with_gain=False)),
            Mistake("gain in the bias change", "dJ/db = 1: the biases' change is -eta dt delta, without the gain",
                    variant(_fa_variant, gain_in_bias=True)),
            Mistake("gain counted twice", "delta = (B e) * G'(J) carries no gain: the gain enters the encoders' "
                    "change once (dJ/dE_ij = g_i x_j) and the biases' change not at all (dJ/db = 1)",
                    variant(_fa_variant, gain_twice=True)),
            Mistake("the derivative of the wrong curve", "use G' of this neuron's own rate curve "
                    "(rate_derivative(current, neuron)): the LIF curve is not a ReLU",
                    variant(_fa_variant, curve="relu")),
            Mistake("a unit step for G'", "G' is the slope of the neuron's own rate curve, "
                    "rate_derivative(current, neuron): 100 Hz per unit current for the ReLU, the LIF curve's slope",
                    variant(_fa_variant, curve="unit step")),
            Mistake("derivative at the rate", "evaluate G' at the input current J, not at the rate G(J)",
                    variant(_fa_variant, curve="at rate")),
            Mistake("bias left out", "the biases learn too: their change is -eta dt delta",
                    variant(_fa_variant, biases="zero")),
            Mistake("bias left out", "return the biases' change too, -eta dt delta, under the key 'biases'",
                    variant(_fa_variant, biases="absent")),
            Mistake("wrong sign of the bias change", "the biases descend like the encoders: -eta dt delta",
                    variant(_fa_variant, biases="sign")),
            Mistake("missing dt", "the learning rate is per second: multiply by dt",
                    variant(_fa_variant, with_dt=False)),
            Mistake("divided by N", "PES divides its rate by N; this rule does not: -eta dt (g * delta) x^T and "
                    "-eta dt delta", variant(_fa_variant, per_neuron=True)),
        ),
    ),
)


# --- hidden fixtures: kinds, drawn from the course secret (autograder.secret) ----------------------------

# The helpers the setup cell hands to answers; everything else of the course is sealed while grading.
HANDED = ("course_utils.online:rate", "course_utils.online:rate_derivative", "course_utils.online:currents")


# Filter step: what the contract says, and the fixtures that separate it (a wrong answer that breaks each
# property, in tests/answers/online.py, fails on them):
#   the fraction dt / tau (not tau / dt, dt, 1 / tau, 1000 dt / tau)   every kind: tau != dt but for one kind,
#                                                     dt and tau far from 1
#   Euler's step, not the exact, mixed or backward update   dt / tau not small: tau equal to dt (1), a fast
#                                                     synapse (0.5), a long step (0.2)
#   from the y given (not from 0), the new output (not the change), (u - y) as a whole   y != 0 in every kind
#                                                     but "zero output"
#   toward u (sign of u - y), the input scaled by dt / tau   u != y, u != 0 in every kind but "input equal to
#                                                     the output" (which every variant gets right)
#   one output and many; inputs unchanged             C from 1 to 8; every fixture
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
        out.append(Fixture(f"{kind}: C={c}", dict(y=y, u=u, dt=dt, tau=tau)))
    return out


# PES update:
#   divided by N, the number of neurons               N > 1 in every kind but "one neuron" (not divided, times N)
#   N, not C (the outputs), not N C, not sum(a), not |a|^2   C != N and C > 1: several outputs, negative
#                                                     error; rates of tens of Hz (sum(a), |a|^2 != N)
#   times dt (not 1, not 1 / dt)                      dt 0.0005, 0.001 and 0.01
#   times kappa, with kappa != dt                     kappa from 1e-4 to 5 (missing kappa, missing dt apart)
#   each neuron's own rate (the outer product)        rates that differ; silent neurons
#   the sign, the (C, N) orientation                  nonzero errors of both signs; C != N
#   the zero case                                     zero error: a zero change
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


# Online FA update:
#   the outer product with the presynaptic x          D > 1 and x not along (1, ..., 1) (the sketch, the own rate)
#   delta = (B e) G'(J) with G' of the neuron's own curve, at J   both neurons (ReLU: 100 Hz per unit current;
#                                                     LIF: just above threshold and strong input), so that
#                                                     G(J), G'(G(J)), the ReLU's slope and a unit step all differ
#   the gain once in the encoders' change, not in the biases'   gains drawn between neurons (never all 1)
#   the biases learn, with -eta dt delta               every kind (zeros, the key left out, + instead of -)
#   times eta dt, not divided by N                    dt 0.0005, 0.001, 0.002 in turn; eta 0.1, 1, 3; N > 1
#   silent neurons: no change                         some neurons below threshold (G' = 0)
#   the sign, the (N, D) orientation                  errors of both signs through B; N != D in most kinds
def _fa_hidden(rng):
    out = []
    dts = (0.0005, 0.001, 0.002)
    for i, neuron in enumerate(("relu", "lif")):
        for j, (kind, n, d, c) in enumerate((("one neuron", 1, 2, 1), ("several outputs", 7, 3, 3),
                                             ("one input dimension", 6, 1, 2), ("some neurons silent", 9, 2, 1),
                                             ("just above threshold", 6, 2, 2), ("strong input", 8, 4, 2))):
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
                                    gain=net["gain"], learning_rate=lr, dt=dts[(i + j) % 3], neuron=neuron)))
    return out


_HIDDEN = {"online.filter_step": _filter_hidden, "online.pes_update": _pes_hidden, "online.fa_update": _fa_hidden}
EXERCISES = tuple(dataclasses.replace(e, hidden=_HIDDEN[e.id]) for e in EXERCISES)
