"""Tutorial 06's measurements (course_utils.synthesis) on cases whose answer is known: backprop against
itself, pure noise, feedback alignment with B = W^T, unbiased perturbation, the cost counted from each
rule's structure (checked against XLA's own count of the compiled step), and the plausibility table."""
import jax
import jax.numpy as jnp
import matplotlib
import numpy as np
import pytest

from course_utils import mlp, synthesis
from course_utils import weight_transport as wt
from course_utils.data import Dataset
from course_utils.jax.synthesis import update_function
from course_utils.metrics import cosine_similarity
from course_utils.perturbation import gradient_snr, snr_noise_floor
from course_utils.registry import all_rules, get_rule

matplotlib.use("Agg")


def _digits(n_train, seed=0):
    """A small stand-in for the digits: (n_train, 784) pixels in [0, 1] and labels 0..9."""
    rng = np.random.default_rng(seed)
    x = (rng.uniform(0, 1, (n_train + 20, 784)) < 0.2).astype(np.float32)
    y = rng.integers(0, 10, n_train + 20)
    return Dataset(x[:n_train], y[:n_train], x[n_train:], y[n_train:], "synthetic")


def _state(rule, n_train, seed=0):
    cfg = {**get_rule(rule).config(), "train_size": n_train}
    return get_rule(rule).backend("jax").init(jax.random.PRNGKey(seed), cfg), cfg


# --- the coordinates ------------------------------------------------------------------------------

def test_bias_and_snr_agree_with_the_course_cosine_and_tutorial_01_snr():
    rng = np.random.default_rng(0)
    samples = rng.standard_normal((30, 50)) + rng.standard_normal(50)
    true = rng.standard_normal(50)
    got = synthesis.bias_and_snr(samples, true)
    assert got["cosine"] == pytest.approx(cosine_similarity(samples.mean(axis=0), true), rel=1e-12)
    assert got["snr"] == pytest.approx(gradient_snr(samples), rel=1e-12)


def test_running_moments_in_chunks_give_the_same_snr_as_all_samples_at_once():
    rng = np.random.default_rng(1)
    samples = rng.standard_normal((37, 20)) * rng.uniform(0.1, 5, 20) + rng.standard_normal(20)
    moments = None
    for start in range(0, 37, 8):                   # uneven chunks, the last one short
        moments = synthesis.merge_moments(moments, samples[start:start + 8])
    count, mean, m2 = moments
    assert count == 37
    np.testing.assert_allclose(mean, samples.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(np.sqrt(m2 / count), samples.std(axis=0), rtol=1e-10)
    assert synthesis.snr_from_moments(*moments) == pytest.approx(gradient_snr(samples), rel=1e-10)


def test_pure_noise_has_cosine_near_zero_and_snr_at_the_noise_floor():
    rng = np.random.default_rng(2)
    S, P = 64, 4000
    got = synthesis.bias_and_snr(rng.standard_normal((S, P)), rng.standard_normal(P))
    assert abs(got["cosine"]) < 0.06                 # ~ 1 / sqrt(P) = 0.016
    assert got["snr"] == pytest.approx(snr_noise_floor(S), rel=0.05)   # E|mean| / std = sqrt(2 / (pi S))


def test_backprop_on_one_fixed_batch_has_cosine_one_and_a_huge_snr():
    # a training set of one minibatch: every sample is the same batch, so backprop's updates do not vary
    data = _digits(8)
    state, cfg = _state("backprop", 8)
    m = synthesis.measure_rule("backprop", state, data, cfg, samples=16, chunk=8)
    assert m["cosine"] == pytest.approx(1.0, abs=1e-6)
    assert m["snr"] > 1e3                            # only float32 rounding of a reordered sum varies


def test_backprop_on_many_batches_is_the_true_gradient_and_varies_with_the_batch():
    data = _digits(200)
    state, cfg = _state("backprop", 200)
    m = synthesis.measure_rule("backprop", state, data, cfg, samples=32, chunk=16)
    np.testing.assert_allclose(m["cosine_by_samples"], 1.0, atol=1e-6)
    assert 0.05 < m["snr"] < 100 and m["samples"] == 32 and m["parameters"] == 79510


def test_feedback_alignment_with_b_equal_to_w_transposed_is_backprop():
    data = _digits(100)
    state, cfg = _state("feedback_alignment", 100)
    state = {"params": state["params"], "feedback": {"B1": state["params"]["W2"].T}}
    m = synthesis.measure_rule("feedback_alignment", state, data, cfg, samples=16, chunk=16)
    np.testing.assert_allclose(m["cosine_by_samples"], 1.0, atol=1e-5)


def test_node_perturbation_is_unbiased_its_cosine_climbs_with_the_samples():
    data = _digits(400)
    state, cfg = _state("node_perturbation", 400)
    m = synthesis.measure_rule("node_perturbation", state, data, cfg, samples=256, chunk=64)
    cos = m["cosine_by_samples"]
    assert cos[-1] > 0.8 and cos[-1] > cos[3] + 0.2, (cos[3], cos[-1])


def test_forward_forward_is_measured_apart():
    data = _digits(300)
    state, cfg = _state("forward_forward", 300)
    m = synthesis.measure_rule("forward_forward", state, data, cfg, samples=4, chunk=4)
    assert m["cosine"] is None and m["cosine_by_samples"] is None and m["objective"] == "own objective"
    assert np.isfinite(m["snr"]) and m["parameters"] == 784 * 500 + 500 + 500 * 500 + 500


@pytest.mark.parametrize("rule, reference", [
    ("backprop", lambda p, fb, x, y: mlp.backprop_gradients(p, x, y)),
    ("feedback_alignment", lambda p, fb, x, y: wt.feedback_alignment_gradients(p, fb, x, y)),
    ("direct_feedback_alignment", lambda p, fb, x, y: wt.direct_feedback_alignment_gradients(p, fb, x, y)),
])
def test_the_jax_samplers_are_the_numpy_rules(rule, reference):
    state, cfg = _state(rule, 50)
    sampler = update_function(rule, cfg)
    rng = np.random.default_rng(3)
    xs = rng.uniform(0, 1, (2, 8, 784)).astype(np.float32)
    ys = np.eye(10, dtype=np.float32)[rng.integers(0, 10, (2, 8))]
    updates, true = sampler(state, xs, ys, jax.random.split(jax.random.PRNGKey(0), 2))
    as64 = lambda tree: {k: np.asarray(v, dtype=np.float64) for k, v in tree.items()}  # noqa: E731
    params = as64(state["params"] if "params" in state else state)
    feedback = as64(state.get("feedback", {})) if "feedback" in state else None
    for s in range(2):
        want = reference(params, feedback, xs[s].astype(np.float64), ys[s].astype(np.float64))
        np.testing.assert_allclose(updates[s], np.concatenate([want[k].ravel() for k in sorted(want)]),
                                   rtol=2e-4, atol=2e-6)


# --- the cost ------------------------------------------------------------------------------------------

def test_cost_counts_follow_each_rules_structure():
    F = 784 * 100 + 100 * 10
    bp = synthesis.step_cost("backprop")
    assert bp == pytest.approx(2 + 1000 / F)             # forward, errors above layer 1, weight gradients
    assert synthesis.step_cost("feedback_alignment") == synthesis.step_cost("kolen_pollack") == bp
    assert synthesis.step_cost("node_perturbation") == pytest.approx(bp)   # x W1^T shared with the noisy pass
    assert synthesis.step_cost("weight_perturbation") == 2.0
    assert synthesis.step_cost("weight_perturbation", {**get_rule("weight_perturbation").config(),
                                                       "perturbations": 4}) == 5.0
    F_dfa = 784 * 100 + 100 * 100 + 100 * 10
    assert synthesis.step_cost("direct_feedback_alignment") == pytest.approx(2 + 10 * 200 / F_dfa)
    ff = get_rule("forward_forward").config()
    assert synthesis.step_cost("forward_forward", ff) == 14.0      # 2 passes + 10 labels + 2 gradients
    assert synthesis.step_cost("forward_forward", {**ff, "negatives": "random"}) == 4.0
    eq = get_rule("eqprop").config()                               # 784-500-10, 20 free + 4 nudged steps
    F_eq = 784 * 500 + 500 * 10
    assert synthesis.step_cost("eqprop", eq) == pytest.approx((784 * 500 + 24 * 2 * 5000 + 784 * 500 + 2 * 5000) / F_eq)
    assert synthesis.step_cost("eqprop", {**eq, "symmetric": True}) == pytest.approx(
        (784 * 500 + 28 * 2 * 5000) / F_eq + 2.0)


def _xla_flops(fn, *args):
    cost = jax.jit(fn).lower(*args).compile().cost_analysis()
    cost = cost[0] if isinstance(cost, list) else cost
    return float(cost["flops"])


@pytest.mark.parametrize("rule", ["backprop", "node_perturbation", "feedback_alignment",
                                  "direct_feedback_alignment", "kolen_pollack", "forward_forward"])
def test_cost_count_agrees_with_xla_on_the_compiled_step(rule):
    """XLA's flop count of the registered JAX step over that of one forward pass, within 12% of the count
    from the rule's structure (the rest is element-wise work). Weight perturbation is left out (XLA counts
    the random-number generation, which dominates), and EqProp (XLA counts a loop's body once)."""
    from course_utils.jax import forward_forward as jff
    from course_utils.jax import mlp
    state, cfg = _state(rule, 100)
    impl = get_rule(rule).backend("jax")
    N, D = cfg["batch_size"], cfg["sizes"][0]
    batch = {"x": jnp.full((N, D), 0.3), "y": jax.nn.one_hot(jnp.arange(N) % 10, 10), "index": jnp.arange(N)}
    step = _xla_flops(lambda s, b, k: impl.step(s, b, k, cfg), state, batch, jax.random.PRNGKey(1))
    params = state["params"] if "params" in state else state
    forward = (lambda p, x: jff.activities(p, x)[-1]) if rule == "forward_forward" else (
        lambda p, x: mlp.forward(p, x)["y_hat"])
    ratio = step / _xla_flops(forward, params, batch["x"])
    assert ratio == pytest.approx(synthesis.step_cost(rule, cfg), rel=0.12), ratio


# --- the plausibility table -------------------------------------------------------------------------

def test_plausibility_table_covers_every_classifier_rule_and_need():
    rows = synthesis.plausibility_table()
    assert [r["rule"] for r in rows] == list(all_rules("classifier"))
    for row in rows:
        for need in synthesis.NEEDS:
            assert row[need] in ("yes", "no", "partly"), (row["rule"], need)
            assert len(row["reasons"][need]) > 10, (row["rule"], need)


def test_plausibility_table_says_what_the_rules_do():
    table = synthesis.PLAUSIBILITY
    assert table["backprop"]["weight_transport"][0] == "yes"
    assert all(table[r]["weight_transport"][0] == "no" for r in table if r != "backprop")
    assert [r for r in table if table[r]["negative_data"][0] == "yes"] == ["forward_forward"]
    assert table["weight_perturbation"]["global_scalar"][0] == table["node_perturbation"]["global_scalar"][0] == "yes"
    assert table["kolen_pollack"]["symmetric_weights"][0] == "partly"
    with pytest.raises(KeyError, match="PLAUSIBILITY"):
        synthesis.plausibility_table(["backprop", "a_new_rule"])


# --- seed sweeps and the figures -----------------------------------------------------------------------

def test_accuracy_summary_of_a_sweep_gives_mean_spread_and_time():
    data = _digits(64)
    results = synthesis.sweep(["backprop"], data, seeds=3, progress=False, epochs=2)
    summary = synthesis.accuracy_summary(results, n_train=64)["backprop"]
    final = np.array(results["backprop"].history[-1]["test_accuracy_per_seed"])
    assert len(summary["per_seed"]) == 3 and summary["mean"] == pytest.approx(final.mean())
    assert summary["std"] == pytest.approx(final.std(ddof=1))
    assert summary["epochs"] == [1, 2] and 0 < summary["seconds"][0] < summary["seconds"][1]
    state = synthesis.seed_state(results["backprop"], 2)
    assert state["W1"].shape == (100, 784)


def test_the_figures_draw():
    measurements = {"backprop": {"cosine": 1.0, "cosine_by_samples": np.ones(4), "snr": 0.5},
                    "node_perturbation": {"cosine": 0.8, "cosine_by_samples": np.linspace(0.2, 0.8, 4), "snr": 0.1},
                    "forward_forward": {"cosine": None, "cosine_by_samples": None, "snr": 2.0}}
    costs = {r: synthesis.step_cost(r) for r in measurements}
    summary = {"backprop": {"seconds": [0.1, 0.2], "curve_mean": [0.5, 0.7], "curve_std": [0.01, 0.02],
                            "mean": 0.7, "std": 0.02}}
    for fig in (synthesis.plot_map(measurements, costs), synthesis.plot_cosine_vs_samples(measurements),
                synthesis.plot_accuracy_vs_time(summary), synthesis.plot_plausibility(synthesis.plausibility_table())):
        assert fig.axes
        matplotlib.pyplot.close(fig)
