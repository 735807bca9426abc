"""Tutorial 05, learning online: the references against mathematics (the Euler synapse against the exact
exponential, PES against least squares, online FA against tutorial 02's FA gradient in the limit of
small steps), the JAX twin against the reference, and the runner's contract."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_utils import online as ref
from course_utils import weight_transport
from course_utils.jax import online as jax_online
from course_utils.registry import all_rules


def test_euler_filter_approaches_the_exact_exponential():
    # tau dy/dt = u - y with y(0) = 0 and a constant u: y(t) = u (1 - exp(-t / tau))
    tau, u, t_end = 0.02, np.array([1.5]), 0.1
    errors = []
    for dt in (1e-3, 1e-4, 1e-5):
        y = np.zeros(1)
        for _ in range(int(round(t_end / dt))):
            y = ref.filter_step(y, u, dt, tau)
        errors.append(abs(y[0] - u[0] * (1 - np.exp(-t_end / tau))))
    assert errors[-1] < 1e-4
    # Euler's error is first order in dt: ten times smaller steps, about ten times smaller error
    assert 8 < errors[0] / errors[1] < 12 and 8 < errors[1] / errors[2] < 12


def test_tau_equal_to_dt_passes_the_input_through():
    y, u = np.array([0.3, -1.0]), np.array([2.0, 0.5])
    np.testing.assert_allclose(ref.filter_step(y, u, 0.001, 0.001), u)


def test_rate_derivatives_against_finite_differences():
    J = np.array([-0.5, 0.3, 1.2, 1.7, 3.0, 10.0])
    for neuron in ref.NEURONS:
        h = 1e-6
        numeric = (ref.rate(J + h, neuron) - ref.rate(J - h, neuron)) / (2 * h)
        np.testing.assert_allclose(ref.rate_derivative(J, neuron), numeric, rtol=1e-5, atol=1e-6)


def test_gain_and_bias_put_the_intercepts_and_max_rates_where_asked():
    rates, intercepts = np.array([150.0, 300.0]), np.array([-0.5, 0.4])
    for neuron in ref.NEURONS:
        g, b = ref.gain_bias(rates, intercepts, neuron)
        threshold = 1.0 if neuron == "lif" else 0.0
        np.testing.assert_allclose(g * intercepts + b, threshold)
        if neuron == "lif":
            np.testing.assert_allclose(ref.rate(g + b, neuron), rates)


def test_pes_converges_to_the_least_squares_decoders():
    # fixed encoders, no synapse (tau = dt): the delta rule is stochastic gradient descent on the squared
    # error, whose minimum over one period of the inputs is the least-squares readout. Fast inputs (one
    # period = 200 steps), so that the rule averages over the period instead of tracking the target. The
    # synapse (tau = dt) delays the output by one step: the error pairs a_{k-1} with y*_k, and so does
    # the least-squares problem.
    dt, steps, period = 0.001, 400_000, 200
    net = ref.init_network(np.random.default_rng(3), 8)
    _, x, target = ref.task(steps, dt, periods=(0.05, 0.2))
    best = ref.least_squares_decoders(net, x[-period - 1:-1], target[-period:])
    rates = ref.rate(ref.currents(x[-period - 1:-1], net["encoders"], net["gain"], net["bias"]))

    def gap(decoders):   # distance of two readouts, in output units, relative to the target's RMS
        return np.sqrt(np.mean((rates @ (decoders - best).T) ** 2)) / np.sqrt(np.mean(target**2))
    gaps = []
    for n in (steps // 4, steps):
        out = jax_online.simulate(jax_online.to_jax(net), jnp.asarray(x[:n], jnp.float32),
                                  jnp.asarray(target[:n], jnp.float32), dt=dt, tau=dt, decoder_rate=1e-3,
                                  record_every=1000)
        gaps.append(gap(np.asarray(out["network"]["decoders"], np.float64)))
    assert gap(np.zeros_like(best)) > 0.9 and gaps[0] > 3 * gaps[1] and gaps[1] < 0.03, gaps
    # the least-squares readout is the fixed point: PES's updates over one period sum to zero there
    errors = rates @ best.T - target[-period:]
    total = sum(ref.pes_update(a, e, 1e-3, dt) for a, e in zip(rates, errors))
    assert np.abs(total).max() < 1e-12


def _as_mlp(net):
    """Tutorial 02's two-layer MLP that computes the same output: W1 = g * E (rows), b1 = b,
    h = relu(z1), and W2 = RELU_RATE d so that h W2^T = d G(J)."""
    return {"W1": net["gain"][:, None] * net["encoders"], "b1": net["bias"],
            "W2": ref.RELU_RATE * net["decoders"], "b2": np.zeros(len(net["decoders"]))}


def _fa_mismatch(dt, tau, window=0.2, seed=7):
    """|sum of the online FA encoder and bias updates over the window - the prediction from tutorial 02|
    relative to the prediction. With learning rates this small the weights hardly move over the window,
    so that, if the output were d a_k itself, the sum of the online updates over K steps would be

        sum_k dE_k = -eta dt sum_k (g * delta_k) x_k^T = -eta dt K RELU_RATE g * dL/dW1   (tutorial 02)
        sum_k db_k = -eta dt K RELU_RATE dL/db1

    (tutorial 02's e is divided by K, and its relu' lacks the factor RELU_RATE of G'). The synapse
    delays the output by one step and filters it by tau: the mismatch is of the order of tau over the
    time scale of x, and vanishes with dt and tau."""
    rng = np.random.default_rng(seed)
    net = ref.init_network(rng, 12, feedback_scale=1e-3)
    net["decoders"] = 1e-3 * rng.standard_normal((1, 12))
    K = int(round(window / dt))
    _, x, target = ref.task(K, dt)
    eta = 1e-6
    out = ref.simulate(net, x, target, dt=dt, tau=tau, decoder_rate=0.0, encoder_rate=eta, feedback="fa",
                       record_every=K)
    grads = weight_transport.feedback_alignment_gradients(_as_mlp(net), {"B1": net["feedback"]}, x, target, "relu")
    scale = -eta * dt * K * ref.RELU_RATE
    predicted = np.concatenate([(scale * net["gain"][:, None] * grads["W1"]).ravel(), scale * grads["b1"]])
    change = np.concatenate([(out["network"]["encoders"] - net["encoders"]).ravel(),
                             out["network"]["bias"] - net["bias"]])
    return np.linalg.norm(change - predicted) / np.linalg.norm(predicted)


@pytest.mark.parametrize("taus", [1, 5])
def test_online_fa_summed_over_a_window_approaches_tutorial_02s_fa_gradient(taus):
    # tau = taus * dt: as dt and tau shrink together, the online sum becomes the FA gradient
    mismatch = [_fa_mismatch(dt, taus * dt) for dt in (1e-3, 1e-4, 1e-5)]
    assert mismatch[0] > mismatch[1] > mismatch[2], mismatch
    assert mismatch[2] < 1e-4 * taus, mismatch          # first order: 10 times smaller per decade


@pytest.mark.parametrize("feedback, neuron", [("fa", "relu"), ("bp", "relu"), ("fa", "lif")])
def test_jax_simulation_matches_the_numpy_reference(feedback, neuron):
    dt, K = 0.001, 3000
    _, x, target = ref.task(K, dt)
    net = ref.init_network(np.random.default_rng(11), 10, neuron=neuron, feedback_scale=1e-3)
    rate = 3.0 if neuron == "relu" else 0.01
    settings = dict(dt=dt, tau=0.005, neuron=neuron, decoder_rate=1e-3, encoder_rate=rate, feedback=feedback,
                    record_every=100, learn_steps=2000)
    want = ref.simulate(net, x, target, **settings)
    got = jax_online.simulate(jax_online.to_jax(net), jnp.asarray(x, jnp.float32), jnp.asarray(target, jnp.float32),
                              **settings)
    scale = np.abs(want["y"]).max()
    np.testing.assert_allclose(np.asarray(got["y"]), want["y"], rtol=1e-3, atol=1e-3 * scale)
    for key in ("encoders", "bias", "decoders"):
        w = want["network"][key]
        np.testing.assert_allclose(np.asarray(got["network"][key]), w, rtol=1e-3, atol=1e-4 * np.abs(w).max())
    np.testing.assert_allclose(np.asarray(got["angle"]), want["angle"], rtol=1e-3, atol=0.05)


def test_jax_updates_match_the_numpy_updates():
    rng = np.random.default_rng(12)
    net = ref.init_network(rng, 6, 3, 2, neuron="lif")
    x = rng.uniform(-1, 1, 3)
    J = ref.currents(x, net["encoders"], net["gain"], net["bias"])
    e = rng.standard_normal(2)
    want = ref.fa_update(x, J, e, net["feedback"], net["gain"], 0.5, 0.001, "lif")
    got = jax.jit(jax_online.fa_update, static_argnames="neuron")(x, J, e, net["feedback"], net["gain"], 0.5,
                                                                   0.001, neuron="lif")
    for k in want:
        np.testing.assert_allclose(np.asarray(got[k]), want[k], rtol=1e-4, atol=1e-7)
    a = ref.rate(J, "lif")
    np.testing.assert_allclose(np.asarray(jax_online.pes_update(a, e, 1e-3, 0.001)), ref.pes_update(a, e, 1e-3, 0.001),
                               rtol=1e-5)


ONLINE = ("online_decoders_only", "online_feedback_alignment", "online_backprop")
KEYS = {"rule", "backend", "task", "simulated_seconds", "dt", "neurons", "nrmse", "nrmse_per_seed", "seconds",
        "compile_seconds", "sim_seconds_per_wall_second", "seeds", "config"}


def test_run_rule_contract():
    # the registered defaults (100 simulated seconds), three seeds as one vmapped JAX program per rule
    import json
    assert set(all_rules("online")) == set(ONLINE)
    seeds = (0, 1, 2)
    results = {}
    for name in ONLINE:
        cfg = all_rules("online")[name].config()
        out = ref.run_rule(name, cfg, backend="jax", seeds=seeds)
        assert KEYS <= set(out), KEYS - set(out)
        json.dumps(out)
        assert out["seeds"] == list(seeds) and len(out["nrmse_per_seed"]) == 3
        assert out["simulated_seconds"] == pytest.approx(cfg["seconds"])
        results[name] = out["nrmse"]
    # learning the encoders helps, and the gradient (weight transport) bounds feedback alignment
    assert results["online_feedback_alignment"] < results["online_decoders_only"], results
    assert results["online_backprop"] <= results["online_feedback_alignment"], results
    # the NumPy backend gives the same numbers on a short run
    short = {**all_rules("online")["online_feedback_alignment"].config(), "seconds": 2.0}
    a = ref.run_rule("online_feedback_alignment", short, backend="numpy", seeds=(0,))
    b = ref.run_rule("online_feedback_alignment", short, backend="jax", seeds=(0,))
    assert a["nrmse"] == pytest.approx(b["nrmse"], rel=1e-3)
    with pytest.raises(ValueError, match="no setting"):
        ref.run_rule("online_backprop", {**short, "epochs": 3})


def test_the_sweep_marks_divergence_and_the_figures_draw():
    import matplotlib
    matplotlib.use("Agg")
    from course_utils import online_plots
    dt, K = 0.001, 2000
    t, x, target = ref.task(K, dt)
    net = ref.init_network(np.random.default_rng(0), 10, feedback_scale=1e-3)
    grid = jax_online.sweep(net, x, target, [1e-3, 10.0], [0.005, 0.02], dt=dt)
    assert grid.shape == (2, 2) and np.all(grid[0] < 2) and np.all(grid[1] > 2)   # kappa = 10 diverges
    angles = jax_online.alignment_over_time([net, net], x, target, dt=dt, tau=0.005, decoder_rate=1e-3,
                                            encoder_rate=5.0)
    assert angles.shape == (2, K // 100) and np.isnan(angles[0, 0]) and np.all(np.isfinite(angles[:, 1:]))
    # rolling RMS: sqrt of the mean of squares over each window
    e = np.arange(6.0)[:, None]
    np.testing.assert_allclose(online_plots.rolling_rms(e, 3), np.sqrt([5 / 3, 14 / 3, 29 / 3, 50 / 3]))
    run = ref.simulate(net, x, target, dt=dt, tau=0.005, decoder_rate=1e-3)
    online_plots.plot_function(t, {"online_decoders_only": run["y"]}, target, [(0, 1), (1, 2)])
    online_plots.plot_error_over_time(t, {"online_decoders_only": run["error"]}, target, 100, learn_until=1.5)
    online_plots.plot_alignment({"online_decoders_only": (run["angle_steps"] * dt, run["angle"])})
    online_plots.plot_sweep([1e-3, 10.0], [0.005, 0.02], grid)
    import matplotlib.pyplot as plt
    plt.close("all")


# --- tutorial 05's measurements (course_utils.online_analysis) -----------------------------------------

def test_the_recorded_simulation_is_the_jax_simulation():
    from course_utils import online_analysis
    dt, K = 0.001, 3000
    _, x, target = ref.task(K, dt)
    net = ref.init_network(np.random.default_rng(4), 10, feedback_scale=1e-3)
    settings = dict(dt=dt, tau=0.005, decoder_rate=1e-3, encoder_rate=5.0, feedback="fa", learn_steps=2000)
    recorded = online_analysis.simulate_recorded(net, x, target, record_every=100, **settings)
    plain = jax_online.simulate(jax_online.to_jax(net), x, target, record_every=100, **settings)
    np.testing.assert_allclose(recorded["y"], np.asarray(plain["y"]), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(recorded["decoders"][-1], np.asarray(plain["network"]["decoders"]), rtol=1e-5, atol=1e-9)
    assert recorded["peak_rate"].shape == (30, 10) and np.all(recorded["peak_rate"] >= 0)


@pytest.mark.parametrize("tau", [0.001, 0.005, 0.05])
def test_the_loop_gain_predicts_where_pes_diverges_whatever_the_synapse(tau):
    # a constant input (the rates held still, as in the analysis): stable at loop gain 0.8, growing at 1.25,
    # for a synapse of one step and for slower ones
    from course_utils import online_analysis
    dt, K = 0.001, 20000
    net = ref.init_network(np.random.default_rng(0), 10, feedback_scale=1e-3)
    x = np.tile([[0.5, -0.3]], (K, 1))
    target = np.full((K, 1), 0.2)
    kappa_one = 1.0 / online_analysis.loop_gain(net, x[:1], 1.0, dt)[0]     # the rate at which g = 1
    errors = {}
    for g in (0.8, 1.25):
        y = np.asarray(jax_online.simulate(jax_online.to_jax(net), x, target, dt=dt, tau=tau,
                                           decoder_rate=g * kappa_one, record_every=100)["y"])
        e = np.abs(y - target)[:, 0]
        errors[g] = (np.nanmax(np.where(np.isfinite(e), e, np.inf)[K // 2:]), e[:100].max())
    assert errors[0.8][0] < 1e-3                              # converged to the target
    assert errors[1.25][0] > 10 * errors[1.25][1]             # grew far beyond where it started


def test_the_frozen_sweep_tells_tracking_from_learning_and_marks_growth():
    from course_utils import online_analysis
    dt, K = 0.001, 30000
    _, x, target = ref.task(K, dt)
    net = ref.init_network(np.random.default_rng(0), 10, feedback_scale=1e-3)
    kappa_max, kappa_mean = online_analysis.predicted_boundary(net, x, dt)
    assert 0 < kappa_max < kappa_mean
    out = online_analysis.frozen_sweep(net, x, target, [1e-3, 0.03, 10.0], [0.001, 0.02], learn_steps=25000, dt=dt)
    assert out["tracking"].shape == (3, 2) and out["window_nrmse"].shape == (3, 2, 30)
    assert not out["unstable"][:2].any() and out["unstable"][2].all()          # kappa = 10 blows up
    assert np.all(np.isnan(out["blow_up_seconds"][:2])) and np.all(out["blow_up_seconds"][2] <= 30)
    # a fast rule tracks the target better than it has learned it: its error grows once learning stops
    assert out["tracking"][1, 0] < out["frozen"][1, 0]


def test_dying_neurons_are_those_silent_to_the_end():
    from course_utils import online_analysis
    peak = np.ones((100, 3))
    peak[40:, 1] = 0.0                  # neuron 1 dies at record 40
    peak[90:, 2] = 0.0                  # neuron 2 is silent for the last 10 records only: not dead
    assert online_analysis.dying_neurons({"peak_rate": peak}) == {1: 40}
