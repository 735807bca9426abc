"""Tutorial 05's online feedback alignment as a real Nengo learning rule (needs ``nengo`` 4.x:
``pip install "course-utils[nengo]"``). Nengo is imported here only: the rest of the course runs
without it.

The rule goes on a connection *into* an ensemble (as nengo.Voja does) and changes that ensemble's
encoders and biases; the error (y - y*, C dimensions) arrives on ``connection.learning_rule``, as for
nengo.PES. At every step, with J the neurons' input currents and x the connection's output (the
presynaptic input):

    delta = (B e) * G'(J)               G' of the ensemble's own rate curve (RectifiedLinear, LIFRate, LIF)
    E    += -eta dt (g * delta) x^T      as course_utils.online.fa_update
    b    += -eta dt delta

Nengo folds the gains into the encoders it simulates (scaled encoders g * E / radius); the operator
changes them by g * dE, which is the same thing. ``feedback="bp"``-style weight transport is not a
Nengo rule here: it would need the decoders of another connection.

``build_network`` builds the tutorial's network (inputs from arrays, rate or spiking neurons with the
reference's encoders, gains and biases, PES on the decoders with no pre-synapse, a forward-Euler
synapse on the output) so that Nengo and ``course_utils.online.simulate`` can be compared step by step.
"""
from __future__ import annotations

import numpy as np

try:
    import nengo
    from nengo.builder import Builder, Operator, Signal
    from nengo.builder.learning_rules import get_post_ens
    from nengo.builder.operator import Reset
    from nengo.params import NdarrayParam, NumberParam
except ImportError as err:  # pragma: no cover - exercised only where nengo is missing
    raise ImportError("course_utils.nengo_rules needs Nengo 4: pip install \"course-utils[nengo]\" "
                      "(or pip install \"nengo>=4,<5\")") from err

from . import online


class OnlineFeedbackAlignment(nengo.learning_rules.LearningRuleType):
    """Online feedback alignment on the post ensemble's encoders and biases.

    Arguments:
        feedback: B, (N, C): the fixed random matrix the error e (C,) is sent back through.
        learning_rate: eta (per second), for the encoders and the biases.
    """
    modifies = "encoders"
    probeable = ("error", "delta", "bias")

    learning_rate = NumberParam("learning_rate", low=0, readonly=True, default=1.0)
    feedback = NdarrayParam("feedback", shape=("*", "*"), readonly=True)

    def __init__(self, feedback, learning_rate=1.0):
        feedback = np.asarray(feedback, dtype=np.float64)
        super().__init__(learning_rate, size_in=feedback.shape[1])
        self.feedback = feedback


def rate_derivative(neuron_type, current):
    """G'(J) of a Nengo neuron type's rate curve (a spiking LIF uses its LIFRate curve)."""
    amplitude = getattr(neuron_type, "amplitude", 1.0)
    if isinstance(neuron_type, nengo.RectifiedLinear):
        return amplitude * (current > 0)
    if isinstance(neuron_type, (nengo.LIFRate, nengo.LIF)):
        tau_rc, tau_ref = neuron_type.tau_rc, neuron_type.tau_ref
        above = current > 1.0
        J = np.where(above, current, 2.0)
        G = 1.0 / (tau_ref + tau_rc * np.log1p(1.0 / (J - 1.0)))
        return np.where(above, amplitude * tau_rc * G**2 / (J * (J - 1.0)), 0.0)
    raise NotImplementedError(f"no rate derivative for {type(neuron_type).__name__}")


class SimOnlineFeedbackAlignment(Operator):
    """delta_scaled_encoders = -eta dt g^2 delta x^T / radius;  bias += -eta dt delta."""

    def __init__(self, x, current, error, delta, bias, feedback, gain, radius, neuron_type, learning_rate,
                 tag=None):
        super().__init__(tag=tag)
        self.feedback, self.gain, self.radius = feedback, gain, radius
        self.neuron_type, self.learning_rate = neuron_type, learning_rate
        self.sets, self.incs = [], []
        self.reads = [x, current, error]
        self.updates = [delta, bias]

    def make_step(self, signals, dt, rng):
        x, current, error = (signals[s] for s in self.reads)
        delta_enc, bias = (signals[s] for s in self.updates)
        B, g, rate = self.feedback, self.gain, self.learning_rate * dt
        scale = g / self.radius

        def step_online_fa():
            delta = (B @ error) * rate_derivative(self.neuron_type, current)
            # E changes by -rate (g delta) x^T; Nengo simulates g E / radius
            delta_enc[...] = -rate * np.outer(scale * g * delta, x)
            bias[...] -= rate * delta
        return step_online_fa


@Builder.register(OnlineFeedbackAlignment)
def build_online_feedback_alignment(model, rule_type, rule):
    conn = rule.connection
    post = get_post_ens(conn)
    error = Signal(shape=(rule.size_in,), name="OnlineFA:error")
    model.add_op(Reset(error))
    model.sig[rule]["in"] = error                     # the error connection attaches here
    bias = model.sig[post.neurons]["bias"]
    bias.readonly = False                             # the biases learn too
    gain = model.params[post].gain
    if rule_type.feedback.shape != (post.n_neurons, rule.size_in):
        raise ValueError(f"feedback must be (neurons, error dimensions) = {(post.n_neurons, rule.size_in)}, "
                         f"got {rule_type.feedback.shape}")
    model.add_op(SimOnlineFeedbackAlignment(
        x=model.sig[conn]["out"], current=model.sig[post.neurons]["in"], error=error,
        delta=model.sig[rule]["delta"], bias=bias, feedback=rule_type.feedback, gain=gain,
        radius=post.radius, neuron_type=post.neuron_type, learning_rate=rule_type.learning_rate))
    model.sig[rule]["error"] = error
    model.sig[rule]["bias"] = bias


def neuron_type(neuron: str, spiking: bool = False):
    """The Nengo neuron type with the reference's rate curve ("relu" or "lif")."""
    if neuron == "relu":
        return nengo.SpikingRectifiedLinear(amplitude=online.RELU_RATE) if spiking else \
            nengo.RectifiedLinear(amplitude=online.RELU_RATE)
    if neuron == "lif":
        kind = nengo.LIF if spiking else nengo.LIFRate
        return kind(tau_rc=online.LIF_TAU_RC, tau_ref=online.LIF_TAU_REF)
    raise ValueError(f"unknown neuron {neuron!r}; choose one of {online.NEURONS}")


def build_network(network, x, y_target, dt=0.001, tau=0.01, neuron="relu", decoder_rate=1e-4,
                  encoder_rate=0.0, spiking=False, seed=0):
    """The tutorial's network in Nengo, with the reference's weights (course_utils.online.init_network).

    Inputs and targets come from arrays (step k reads row k, at t = (k + 1) dt). Decoders learn by
    nengo.PES (no pre-synapse, as the reference); with encoder_rate > 0, encoders and biases learn by
    OnlineFeedbackAlignment through network["feedback"]. The output synapse is tau dy/dt = u - y
    discretised by forward Euler (the reference's filter_step).
    Returns (net, probes) with probes {"y": output, "error": y - y*}.
    """
    N, D = network["encoders"].shape
    C = y_target.shape[1]
    x, y_target = np.asarray(x, float), np.asarray(y_target, float)

    def row(values):
        return lambda t: values[min(int(round(t / dt)) - 1, len(values) - 1)]
    with nengo.Network(seed=seed) as net:
        stim = nengo.Node(row(x), size_out=D, label="x")
        target = nengo.Node(row(y_target), size_out=C, label="y*")
        ens = nengo.Ensemble(N, D, neuron_type=neuron_type(neuron, spiking), encoders=network["encoders"],
                             gain=network["gain"], bias=network["bias"], normalize_encoders=False, label="neurons")
        rule = OnlineFeedbackAlignment(network["feedback"], encoder_rate) if encoder_rate else None
        into = nengo.Connection(stim, ens, synapse=None, learning_rule_type=rule)
        out = nengo.Node(size_in=C, label="y")
        conn = nengo.Connection(ens, out, function=lambda v: np.zeros(C),    # C outputs; NoSolver sets d
                                solver=nengo.solvers.NoSolver(network["decoders"].T.copy()),
                                synapse=nengo.LinearFilter([1], [tau, 1], method="euler"),
                                learning_rule_type=nengo.PES(decoder_rate, pre_synapse=None))
        error = nengo.Node(size_in=C, label="error")
        nengo.Connection(out, error, synapse=None)
        nengo.Connection(target, error, transform=-1, synapse=None)
        nengo.Connection(error, conn.learning_rule, synapse=None)
        if rule is not None:
            nengo.Connection(error, into.learning_rule, synapse=None)
        probes = {"y": nengo.Probe(out, synapse=None), "error": nengo.Probe(error, synapse=None)}
    return net, probes


def simulate(network, x, y_target, dt=0.001, progress_bar=False, **settings):
    """Run build_network's network over the whole task; returns {"y": (K, C), "error": (K, C)}."""
    net, probes = build_network(network, x, y_target, dt=dt, **settings)
    with nengo.Simulator(net, dt=dt, progress_bar=progress_bar, optimize=True) as sim:
        sim.run_steps(len(x))
    return {k: np.asarray(sim.data[p]) for k, p in probes.items()}
