"""Tutorial 01: perturbation rules are unbiased, their SNR is ordered, JAX agrees with NumPy,
and the registered rules reach their accuracy bars on the offline digits."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_utils import mlp, perturbation as pt
from course_utils.data import one_hot
from course_utils.jax import perturbation as jpt
from course_utils.metrics import cosine_similarity
from course_utils.training import train


def _problem(sizes=(6, 5, 3), activation="sigmoid", n=8, seed=0):
    rng = np.random.default_rng(seed)
    params = mlp.init_mlp(rng, sizes, activation)
    params = {k: v + 0.2 * rng.standard_normal(v.shape) for k, v in params.items()}
    x = rng.standard_normal((n, sizes[0]))
    y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], n)]
    return rng, params, x, y


@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_weight_perturbation_is_unbiased(activation):
    # E[(L(W+Psi) - L(W)) Psi] / sigma^2 = dL/dW + O(sigma^2): the mean of many draws -> gradient
    rng, params, x, y = _problem(activation=activation)
    sigma = 1e-4
    estimate = pt.weight_perturbation_gradient(
        params, x, y, pt.sample_weight_perturbations(rng, params, sigma, 40_000), sigma, activation)
    true = mlp.backprop_gradients(params, x, y, activation)
    assert cosine_similarity(estimate, true) > 0.99
    few = pt.weight_perturbation_gradient(
        params, x, y, pt.sample_weight_perturbations(rng, params, sigma, 3), sigma, activation)
    assert cosine_similarity(few, true) < cosine_similarity(estimate, true)


@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_node_perturbation_is_unbiased(activation):
    rng, params, x, y = _problem(activation=activation, seed=1)
    sigma = 1e-4
    estimate = pt.averaged_estimate("node_perturbation", params, x, y, sigma, 20_000, rng, activation)
    true = mlp.backprop_gradients(params, x, y, activation)
    assert cosine_similarity(estimate, true) > 0.99
    for k in true:  # layer by layer: relative error of the average shrinks like 1/sqrt(K)
        assert np.linalg.norm(estimate[k] - true[k]) < 0.1 * np.linalg.norm(true[k]), k


def test_node_perturbation_with_linear_loss_change_is_exact():
    # If the loss change were exactly linear, dL = g . xi, then with xi = sigma * e_j (one unit at a
    # time) the estimate recovers g_j exactly: check this on the output layer, where it holds.
    rng, params, x, y = _problem(n=1, seed=2)
    sigma = 1e-6
    true = mlp.backprop_gradients(params, x, y)
    recovered = np.zeros_like(true["b2"])
    for j in range(len(recovered)):
        noise = {"z1": np.zeros((1, 5)), "z2": np.zeros((1, 3))}
        noise["z2"][0, j] = sigma
        recovered += pt.node_perturbation_gradient(params, x, y, noise, sigma)["b2"]
    np.testing.assert_allclose(recovered, true["b2"], rtol=1e-4)


def test_snr_order_at_initialisation(offline_data):
    # WP < NP < BP at initialisation, on 1500 real digits (one estimate per example, output layer)
    rng = np.random.default_rng(0)
    params = mlp.init_mlp(rng, (784, 50, 10))
    x = offline_data.x_train[:1500].astype(np.float64)
    y = one_hot(offline_data.y_train[:1500])
    snr = {m: pt.gradient_snr(pt.per_example_estimates(m, params, x, y, rng))
           for m in ("weight_perturbation", "node_perturbation", "backprop")}
    assert snr["weight_perturbation"] < snr["node_perturbation"] < snr["backprop"], snr
    assert snr["node_perturbation"] > 3 * snr["weight_perturbation"], snr
    assert snr["node_perturbation"] > 3 * pt.snr_noise_floor(len(x)), snr  # a real signal, not the floor


def test_gradient_snr_known_values():
    # columns: mean 2 std 1 -> 2; mean -1 std 0.5 -> 2; constant column left out
    samples = np.array([[1.0, -0.5, 4.0], [3.0, -1.5, 4.0]])
    assert pt.gradient_snr(samples) == pytest.approx(2.0)
    assert float(jpt.gradient_snr(jnp.asarray(samples))) == pytest.approx(2.0)


@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_jax_versions_agree_with_numpy_on_same_noise(activation):
    rng, params, x, y = _problem((7, 4, 3), activation, n=5, seed=3)
    sigma = 0.05
    psi = pt.sample_weight_perturbations(rng, params, sigma, 4)
    xi = pt.sample_node_noise(rng, params, 5, sigma)
    f32 = lambda tree: jax.tree_util.tree_map(lambda a: jnp.asarray(a, jnp.float32), tree)  # noqa: E731
    for name, ref_out, jax_out in [
        ("wp", pt.weight_perturbation_gradient(params, x, y, psi, sigma, activation),
         jpt.weight_perturbation_gradient(f32(params), f32(x), f32(y), f32(psi), sigma, activation)),
        ("np", pt.node_perturbation_gradient(params, x, y, xi, sigma, activation),
         jpt.node_perturbation_gradient(f32(params), f32(x), f32(y), f32(xi), sigma, activation)),
    ]:
        for k in params:
            scale = np.abs(ref_out[k]).max()
            np.testing.assert_allclose(jax_out[k], ref_out[k], atol=2e-3 * scale + 1e-6, err_msg=f"{name} {k}")


def test_jax_noise_samplers_have_the_right_scale():
    params = jax.tree_util.tree_map(jnp.asarray, mlp.init_mlp(np.random.default_rng(0), (30, 20, 10)))
    psi = jpt.sample_weight_perturbations(jax.random.PRNGKey(0), params, 0.1, 50)
    xi = jpt.sample_node_noise(jax.random.PRNGKey(1), params, 200, 0.1)
    assert psi["W1"].shape == (50, 20, 30) and xi["z1"].shape == (200, 20) and xi["z2"].shape == (200, 10)
    assert float(jnp.std(psi["W1"])) == pytest.approx(0.1, rel=0.02)
    assert float(jnp.std(xi["z1"])) == pytest.approx(0.1, rel=0.05)


@pytest.mark.slow
def test_defaults_reach_the_accuracy_bars(offline_data):
    # The bars with default settings on the offline digits: BP >= 0.90, NP >= 0.60,
    # WP >= 0.40, in the order WP < NP < BP at equal budget (same epochs and batch size).
    acc, budget = {}, set()
    for rule in ("backprop", "node_perturbation", "weight_perturbation"):
        result = train(rule, offline_data, backend="jax", progress=False)
        acc[rule] = result.final["test_accuracy"]
        budget.add((result.config["epochs"], result.config["batch_size"]))
    assert len(budget) == 1, budget
    assert acc["backprop"] >= 0.90 and acc["node_perturbation"] >= 0.60 and acc["weight_perturbation"] >= 0.40, acc
    assert acc["weight_perturbation"] < acc["node_perturbation"] < acc["backprop"], acc


@pytest.mark.parametrize("rule", ["backprop", "node_perturbation", "weight_perturbation"])
def test_numpy_and_jax_backends_both_learn(rule, offline_data):
    # three epochs on 2000 digits: the loss falls and the accuracy leaves chance (0.1) behind
    small = offline_data.subset(2000, 300)
    for backend in ("numpy", "jax"):
        result = train(rule, small, backend=backend, epochs=3, progress=False)
        losses = [h["train_loss"] for h in result.history]
        assert losses[2] < losses[1] < losses[0], (backend, losses)
        assert result.final["test_accuracy"] > 0.13, (backend, result.final)


def test_perturbation_explorer_builds_and_updates(monkeypatch):
    import IPython.display
    from course_utils.widgets import perturbation_explorer
    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda fig: shown.append(fig.axes[0].get_title()))
    rng, params, x, y = _problem((6, 5, 3), n=4, seed=5)
    box = perturbation_explorer(params, x, y)
    sliders = box.children[0].children
    sliders[1].value = 3          # K: the figure is recomputed without error
    sliders[0].value = -2.0
    assert [s.value for s in sliders] == [-2.0, 3]
    assert len(shown) == 3 and all(title.startswith("weight perturbation: cos =") for title in shown)
