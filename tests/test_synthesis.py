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
    m = synthesis.measure_rule("backprop", state, data, cfg, samples=16, chunk=8, batch_size=8)
    assert m["cosine"] == pytest.approx(1.0, abs=1e-6)
    assert m["snr"] > 1e3                            # only float32 rounding of a reordered sum varies


def test_backprop_on_many_batches_is_the_true_gradient_and_varies_with_the_batch():
    data = _digits(200)
    state, cfg = _state("backprop", 200)
    m = synthesis.measure_rule("backprop", state, data, cfg, samples=32, chunk=16)
    assert m["cosine"] == pytest.approx(1.0, abs=1e-6) and m["cosine_se"] < 1e-6
    np.testing.assert_allclose(m["by_samples"]["corrected"], 1.0, atol=1e-5)
    np.testing.assert_allclose(m["by_samples"]["plain"], 1.0, atol=1e-5)
    assert 0.05 < m["snr"] < 100 and m["samples"] == 32 and m["parameters"] == 79510
    assert m["batch_size"] == synthesis.MAP_BATCH


def test_feedback_alignment_with_b_equal_to_w_transposed_is_backprop():
    data = _digits(100)
    state, cfg = _state("feedback_alignment", 100)
    state = {"params": state["params"], "feedback": {"B1": state["params"]["W2"].T}}
    m = synthesis.measure_rule("feedback_alignment", state, data, cfg, samples=32, chunk=16)
    assert m["cosine"] == pytest.approx(1.0, abs=1e-4)


def test_node_perturbation_is_unbiased_at_every_number_of_samples():
    # the corrected cosine is ~1 at S = 64 and at S = 512 (within 4 standard errors), while the plain
    # cosine of the mean update climbs with S
    data = _digits(400)
    state, cfg = _state("node_perturbation", 400)
    few = synthesis.measure_rule("node_perturbation", state, data, cfg, samples=64, chunk=16)
    many = synthesis.measure_rule("node_perturbation", state, data, cfg, samples=512, chunk=32, seed=1)
    for m in (few, many):
        assert abs(m["cosine"] - 1.0) < 4 * m["cosine_se"] + 0.02, (m["cosine"], m["cosine_se"])
    assert many["cosine_plain"] > few["cosine_plain"] + 0.05, (few["cosine_plain"], many["cosine_plain"])
    assert many["snr"] == pytest.approx(few["snr"], rel=0.25)          # the SNR of one update, whatever S


def test_forward_forward_is_measured_apart():
    data = _digits(300)
    state, cfg = _state("forward_forward", 300)
    m = synthesis.measure_rule("forward_forward", state, data, cfg, samples=8, chunk=4)
    assert m["cosine"] is None and m["by_samples"] is None and m["objective"] == "own objective"
    assert np.isfinite(m["snr"]) and m["parameters"] == 784 * 500 + 500 + 500 * 500 + 500


# --- the estimators, on samples whose answer is known ----------------------------------------------------

def _sums(u, g, chunk):
    """What sample_sums returns, from all the samples (S, P) at once."""
    S, P = u.shape
    K = S // chunk
    u, g = u[:K * chunk].reshape(K, chunk, P), g[:K * chunk].reshape(K, chunk, P)
    return {"u": u.sum(axis=1), "g": g.sum(axis=1), "u2": (u * u).sum(axis=(0, 1)), "uu": (u * u).sum(axis=2),
            "gg": (g * g).sum(axis=2), "ug": (u * g).sum(axis=2)}


def _rule(rng, S, P, mu, m, noise, batch_noise=0.3):
    """S samples of a rule whose expected update is m, on minibatches whose true gradient is mu plus
    minibatch noise (shared by u and g, as on the map), with the rule's own noise of std ``noise``."""
    batch = batch_noise * rng.standard_normal((S, P))
    return m + batch + noise * rng.standard_normal((S, P)), mu + batch


@pytest.mark.parametrize("S", [32, 128, 512])
def test_an_unbiased_rule_sits_at_cosine_one_whatever_the_number_of_samples(S):
    rng = np.random.default_rng(S)
    P = 3000
    mu = rng.standard_normal(P)
    u, g = _rule(rng, S, P, mu, mu, noise=5.0)          # one update's cosine with mu is about 0.2
    m = synthesis.map_coordinates(_sums(u, g, 16))
    assert abs(m["cosine"] - 1.0) < 4 * m["cosine_se"] + 0.01, (m["cosine"], m["cosine_se"])
    assert m["cosine_plain"] < 0.995                    # the plain cosine still measures the noise


@pytest.mark.parametrize("S", [32, 512])
def test_a_biased_rule_sits_at_its_cosine_whatever_the_number_of_samples(S):
    rng = np.random.default_rng(10 + S)
    P = 3000
    mu = rng.standard_normal(P)
    m_rule = 0.8 * mu + 0.6 * np.linalg.norm(mu) * _unit_orthogonal(rng, mu)    # cos(m, mu) = 0.8 exactly
    u, g = _rule(rng, S, P, mu, m_rule, noise=4.0)
    m = synthesis.map_coordinates(_sums(u, g, 16))
    assert abs(m["cosine"] - 0.8) < 4 * m["cosine_se"] + 0.01, (m["cosine"], m["cosine_se"])


def _unit_orthogonal(rng, v):
    w = rng.standard_normal(v.size)
    w -= (w @ v) / (v @ v) * v
    return w / np.linalg.norm(w)


@pytest.mark.parametrize("S", [32, 128, 512])
def test_the_snr_of_one_update_has_no_noise_floor(S):
    # signal |m| / sqrt(E|u - m|^2) = |mu| / sqrt(P (0.3^2 + 2^2)) whatever S; tutorial 01's per-parameter
    # SNR at S sits at (or above) its floor sqrt(2 / (pi S)), which falls with S
    rng = np.random.default_rng(20 + S)
    P = 2000
    mu = 0.2 * rng.standard_normal(P)
    u, g = _rule(rng, S, P, mu, mu, noise=2.0)
    m = synthesis.map_coordinates(_sums(u, g, 16))
    want = np.linalg.norm(mu) / np.sqrt(P * (0.3**2 + 2.0**2))
    assert abs(m["snr"] - want) < 4 * m["snr_se"] + 0.01 * want, (m["snr"], m["snr_se"], want)
    assert m["snr_floor"] == pytest.approx(snr_noise_floor(S)) and m["snr_per_parameter"] > 0.9 * m["snr_floor"]


@pytest.mark.parametrize("S", [64, 1024])
def test_pure_noise_has_no_signal_whatever_the_number_of_samples(S):
    # tutorial 01's per-parameter SNR of pure noise is its floor sqrt(2 / (pi S)); the map's SNR is ~0
    rng = np.random.default_rng(30 + S)
    P = 2000
    u, g = _rule(rng, S, P, np.ones(P), np.zeros(P), noise=1.0, batch_noise=0.0)
    m = synthesis.map_coordinates(_sums(u, g, 16))
    assert m["snr_per_parameter"] == pytest.approx(snr_noise_floor(S), rel=0.05)
    assert m["snr"] < 4 * m["snr_se"] + 0.005 and m["snr"] < 0.3 * m["snr_per_parameter"]


def test_the_corrected_cosine_is_flat_in_the_samples_where_the_plain_one_climbs():
    rng = np.random.default_rng(4)
    P = 2000
    mu = rng.standard_normal(P)
    u, g = _rule(rng, 1024, P, mu, mu, noise=6.0)
    b = synthesis.map_coordinates(_sums(u, g, 32))["by_samples"]
    assert b["plain"][-1] > b["plain"][0] + 0.2                      # 0.6 -> 0.98
    assert abs(b["corrected"][0] - 1.0) < 0.15 and abs(b["corrected"][-1] - 1.0) < 0.02


# --- checkpoints --------------------------------------------------------------------------------------------

def test_a_sweep_keeps_seed_zeros_state_at_the_checkpoints():
    data = _digits(64)
    results = synthesis.sweep(["backprop"], data, seeds=2, progress=False, epochs=2, checkpoints=(0, 2))
    saved = results["backprop"].checkpoints
    assert sorted(saved) == [0, 2]
    start, _ = synthesis.initial_state("backprop", data, seed=0)
    np.testing.assert_allclose(saved[0]["W1"], start["W1"], rtol=1e-6)
    np.testing.assert_allclose(saved[2]["W1"], synthesis.seed_state(results["backprop"], 0)["W1"], rtol=1e-6)
    assert not np.allclose(saved[0]["W1"], saved[2]["W1"])


def test_eqprop_is_measured_from_its_persistent_particles():
    # particles already at the fixed point: the training free phase starts there, so the update is the
    # one of a converged free phase, and the measurement runs with the particles' indices
    data = _digits(60)
    state, cfg = _state("eqprop", 60)
    m = synthesis.measure_rule("eqprop", state, data, cfg, samples=8, chunk=4)
    assert np.isfinite(m["cosine"]) and 0.0 < m["snr"] and m["parameters"] == 784 * 500 + 500 + 500 * 10 + 10


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
    # EqProp copies nothing, but its one W serves both ways: tutorial 03's "weight transport, again"
    assert table["eqprop"]["weight_transport"][0] == "partly" and table["eqprop"]["symmetric_weights"][0] == "yes"
    assert all(table[r]["weight_transport"][0] == "no" for r in table if r not in ("backprop", "eqprop"))
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


def test_flops_per_example_put_every_rule_in_one_unit():
    F = 784 * 100 + 100 * 10
    assert synthesis.flops_per_example("backprop") == pytest.approx(2 * F * synthesis.step_cost("backprop"))
    eq, ff = get_rule("eqprop").config(), get_rule("forward_forward").config()
    assert synthesis.forward_macs(eq) == 784 * 500 + 500 * 10            # 4.9 times the MLP's forward pass
    assert synthesis.flops_per_example("eqprop", eq) == pytest.approx(2 * (784 * 500 + 5000) * synthesis.step_cost("eqprop", eq))
    assert synthesis.flops_per_example("forward_forward", ff) == pytest.approx(2 * (784 * 500 + 500 * 500) * 14)
    wp = get_rule("weight_perturbation").config()
    assert synthesis.random_numbers_per_example("weight_perturbation", wp) == pytest.approx(79510 / wp["batch_size"])
    assert synthesis.random_numbers_per_example("backprop") == 0.0


def _fake_study():
    point = lambda cos, snr: {"objective": "own objective" if cos is None else "shared loss", "cosine": cos, "cosine_se": None if cos is None else 0.01, "snr": snr,  # noqa: E731
                              "snr_se": 0.01, "cosine_plain": cos,
                              "by_samples": None if cos is None else {"S": [16, 32], "plain": [0.5, 0.6],
                                                                      "corrected": [cos, cos]}}
    rules = ["backprop", "node_perturbation", "forward_forward"]
    values = {"backprop": (1.0, 2.0), "node_perturbation": (0.98, 0.2), "forward_forward": (None, 3.0)}
    return {"rules": rules, "settings": {"map_batch": 16},
            "map": {r: {"0": point(*values[r]), "1": point(*values[r])} for r in rules},
            "cost": {r: {"flops_per_example": synthesis.flops_per_example(r)} for r in rules}}


def test_the_figures_draw():
    study = _fake_study()
    summary = {"backprop": {"seconds": [0.1, 0.2], "curve_mean": [0.5, 0.7], "curve_std": [0.01, 0.02],
                            "mean": 0.7, "std": 0.02}}
    for fig in (synthesis.plot_map(study), synthesis.plot_cosine_vs_samples({r: study["map"][r]["1"] for r in study["rules"]}),
                synthesis.plot_accuracy_vs_time(summary), synthesis.plot_plausibility(synthesis.plausibility_table())):
        assert fig.axes
        matplotlib.pyplot.close(fig)


def test_a_study_is_cached_under_its_key(tmp_path, monkeypatch):
    from course_utils import synthesis_study
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    data = _digits(600)
    study = synthesis_study.Study("fast", data, progress=False, use_cache=True)
    assert not study.complete and study.loaded_from is None
    study.summary.update(accuracy={}, map={})
    path = study.save()
    again = synthesis_study.Study("fast", data, progress=False, use_cache=True)
    assert again.complete and again.loaded_from == str(path)
    other = synthesis_study.Study("fast", _digits(400), progress=False, use_cache=True)     # other data
    assert other.key != study.key and not other.complete


def test_the_noise_splits_into_the_rules_own_and_the_minibatchs():
    # u = g + own noise (std 2 per parameter), g = mu + minibatch noise (std 0.3): shares 4 / 4.09 and 0.09 / 4.09
    rng = np.random.default_rng(5)
    P = 2000
    mu = rng.standard_normal(P)
    u, g = _rule(rng, 512, P, mu, mu, noise=2.0, batch_noise=0.3)
    m = synthesis.map_coordinates(_sums(u, g, 16))
    assert m["own_noise_share"] == pytest.approx(4.0 / 4.09, rel=0.02)
    assert m["batch_noise_share"] == pytest.approx(0.09 / 4.09, rel=0.1)


def test_eqprops_true_gradient_is_the_converged_one_even_at_initialisation():
    # at initialisation the relaxation settles slowly: the sampler's true gradient (200 + 200 steps beyond the
    # 20 training steps from zero) against recurrent backprop from the fixed point of 1000 steps
    from course_utils.jax import eqprop as jeq
    from course_utils.jax import synthesis as jsyn
    data = _digits(40)
    state, cfg = _state("eqprop", 40)
    x = jnp.asarray(data.x_train[:4])
    t = jax.nn.one_hot(jnp.asarray(data.y_train[:4]), 10)
    free = jeq.layered_relax(state["params"], x, [s[:4] for s in state["states"]], None, 0.0, 0.5, cfg["free_steps"])
    got = jsyn.flatten(jsyn._converged_gradient(state["params"], x, t, free, 0.5))
    want = jsyn.flatten(jeq.implicit_gradient(state["params"], x, t, 0.5, 1000, 400))
    assert cosine_similarity(np.asarray(got), np.asarray(want)) > 0.999
