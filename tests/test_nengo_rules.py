"""Tutorial 05's online feedback alignment as a Nengo learning rule: it agrees with the NumPy reference,
step by step, on the same inputs and the same network (rate neurons), beside nengo.PES on the decoders;
and a spiking LIF population learns with it too."""
import numpy as np
import pytest

pytest.importorskip("nengo")

from course_utils import nengo_rules, online  # noqa: E402


def _network(neuron, seed=0, neurons=10):
    return online.init_network(np.random.default_rng(seed), neurons, neuron=neuron, feedback_scale=1e-3)


@pytest.mark.parametrize("neuron, encoder_rate", [("relu", 0.0), ("relu", 5.0), ("lif", 0.05)])
def test_nengo_rule_matches_the_reference_step_by_step(neuron, encoder_rate):
    dt, steps = 0.001, 2000
    _, x, target = online.task(steps, dt)
    net = _network(neuron)
    settings = dict(dt=dt, tau=0.005, neuron=neuron, decoder_rate=1e-3, encoder_rate=encoder_rate)
    want = online.simulate(net, x, target, **settings)
    got = nengo_rules.simulate(net, x, target, **settings)
    # the same discrete-time system: equal to rounding (float64 in both)
    np.testing.assert_allclose(got["y"], want["y"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(got["error"], want["error"], rtol=1e-9, atol=1e-12)
    if encoder_rate:   # the rule did something: without it the output differs
        frozen = online.simulate(net, x, target, **{**settings, "encoder_rate": 0.0})
        assert np.abs(frozen["y"] - want["y"]).max() > 1e-3


def test_nengo_rule_changes_encoders_and_biases_as_the_reference():
    nengo = pytest.importorskip("nengo")
    dt, steps = 0.001, 500
    _, x, target = online.task(steps, dt)
    net = _network("relu", seed=3)
    settings = dict(dt=dt, tau=0.005, neuron="relu", decoder_rate=1e-3, encoder_rate=5.0)
    want = online.simulate(net, x, target, **settings)["network"]
    # Nengo applies a step's change of the encoders at the start of the next step (a delta signal), and
    # changes the biases in place: after the last step its encoders lack that step's change
    before_last = online.simulate(net, x, target, learn_steps=steps - 1, **settings)["network"]
    model, _ = nengo_rules.build_network(net, x, target, **settings)
    ens = [e for e in model.all_ensembles][0]
    with nengo.Simulator(model, dt=dt, progress_bar=False) as sim:
        sim.run_steps(steps)
        scaled = sim.signals[sim.model.sig[ens]["encoders"]]
        bias = sim.signals[sim.model.sig[ens.neurons]["bias"]]
        np.testing.assert_allclose(scaled / net["gain"][:, None], before_last["encoders"], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(bias, want["bias"], rtol=1e-9, atol=1e-12)


def test_the_feedback_must_have_one_row_per_neuron():
    nengo = pytest.importorskip("nengo")
    _, x, target = online.task(10, 0.001)
    net = _network("relu")
    net["feedback"] = net["feedback"][:5]
    model, _ = nengo_rules.build_network(net, x, target, encoder_rate=1.0)
    with pytest.raises(ValueError, match="feedback must be"):
        nengo.Simulator(model, progress_bar=False)


def test_spiking_lif_neurons_learn_with_the_rule():
    # the bonus: spiking LIF neurons (the rule uses the LIF rate curve's derivative). Spikes add noise,
    # so the comparison is statistical: the spiking network's error over the last quarter is within
    # 0.1 of the rate reference's, and far below the error before learning (about 1).
    dt, steps = 0.001, 20_000
    _, x, target = online.task(steps, dt)
    net = _network("lif", neurons=30)
    settings = dict(dt=dt, tau=0.02, neuron="lif", decoder_rate=1e-3, encoder_rate=0.02)
    rate = online.nrmse(online.simulate(net, x, target, **settings)["y"], target)
    spikes = online.nrmse(nengo_rules.simulate(net, x, target, spiking=True, **settings)["y"], target)
    assert spikes < rate + 0.1 and spikes < 0.6, (spikes, rate)
