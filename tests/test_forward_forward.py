"""Tutorial 04: the local loss gradient against autodiff, locality, prediction and hard negatives on
constructed examples, JAX against NumPy, and the accuracy bar."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_utils import forward_forward as ff
from course_utils.jax import forward_forward as jff
from course_utils.training import train


def _params(sizes, seed=0):
    rng = np.random.default_rng(seed)
    p = ff.init_ff(rng, sizes)
    return rng, {k: v + 0.1 * rng.standard_normal(v.shape) for k, v in p.items()}


@pytest.mark.parametrize("theta", [2.0, 6.0])
def test_local_gradient_matches_autodiff(theta):
    rng, p = _params((9, 6), seed=1)
    below_pos, below_neg = rng.uniform(0, 1, (5, 9)), rng.uniform(0, 1, (3, 9))
    grads, loss, _ = ff.layer_gradients(p["W1"], p["b1"], below_pos, below_neg, theta)

    def f(W, b):
        _, hp = jff.layer_forward(W, b, jnp.asarray(below_pos))
        _, hn = jff.layer_forward(W, b, jnp.asarray(below_neg))
        return jff.layer_loss(hp, hn, theta)

    with jax.enable_x64(True):
        auto_W, auto_b = jax.grad(f, argnums=(0, 1))(jnp.asarray(p["W1"]), jnp.asarray(p["b1"]))
        assert float(f(jnp.asarray(p["W1"]), jnp.asarray(p["b1"]))) == pytest.approx(loss, rel=1e-12)
    np.testing.assert_allclose(grads["W"], auto_W, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(grads["b"], auto_b, rtol=1e-9, atol=1e-12)


def test_layer_loss_closed_form():
    # one positive with goodness 3^2 + 4^2 = 25, one negative with goodness 1; theta = 20:
    # softplus(20 - 25) + softplus(1 - 20) = log(1 + e^-5) + log(1 + e^-19)
    loss = ff.layer_loss(np.array([[3.0, 4.0]]), np.array([[1.0, 0.0]]), 20.0)
    assert loss == pytest.approx(np.log1p(np.exp(-5.0)) + np.log1p(np.exp(-19.0)), rel=1e-12)


def test_no_gradient_reaches_an_earlier_layer():
    rng, p = _params((12, 7, 5, 4), seed=2)
    x_pos, x_neg = rng.uniform(0, 1, (6, 12)), rng.uniform(0, 1, (6, 12))
    before, _ = ff.ff_gradients(p, x_pos, x_neg)
    changed = dict(p, W3=p["W3"] * 5.0 + 1.0, b2=p["b2"] - 2.0)   # later layers' losses change
    after, _ = ff.ff_gradients(changed, x_pos, x_neg)
    for k in ("W1", "b1"):
        np.testing.assert_array_equal(before[k], after[k])
    assert not np.allclose(before["W3"], after["W3"])
    # and autodiff of the summed losses, with each layer's input held fixed, gives the same updates
    def total(params):
        h_pos, h_neg, out = jnp.asarray(x_pos), jnp.asarray(x_neg), 0.0
        for l in (1, 2, 3):
            _, h_pos = jff.layer_forward(params[f"W{l}"], params[f"b{l}"], jax.lax.stop_gradient(h_pos))
            _, h_neg = jff.layer_forward(params[f"W{l}"], params[f"b{l}"], jax.lax.stop_gradient(h_neg))
            out = out + jff.layer_loss(h_pos, h_neg, float(params[f"W{l}"].shape[0]))
        return out
    with jax.enable_x64(True):
        auto = jax.grad(total)({k: jnp.asarray(v) for k, v in p.items()})
    for k in p:
        np.testing.assert_allclose(before[k], auto[k], rtol=1e-9, atol=1e-12, err_msg=k)


def test_prediction_picks_the_label_matching_the_image():
    # One layer of 10 units; unit c listens to label pixel c and to template c in the image. For an
    # image showing template k, label k excites unit k twice: (1 + m)^2 > 1 + m^2.
    rng = np.random.default_rng(3)
    D = 40
    templates = np.zeros((10, D - 10))
    for c in range(10):
        templates[c, 3 * c:3 * c + 3] = 1.0
    W = np.hstack([2.0 * np.eye(10), templates])
    params = {"W1": W, "b1": np.zeros(10)}
    labels = rng.integers(0, 10, 25)
    x = np.hstack([rng.uniform(0, 1, (25, 10)), templates[labels]])
    np.testing.assert_array_equal(ff.predict(params, x), labels)
    np.testing.assert_array_equal(jff.predict(jax.tree_util.tree_map(jnp.asarray, params), jnp.asarray(x)), labels)


def test_hard_negative_is_the_best_wrong_label():
    scores = np.array([[0.1, 5.0, 3.0], [4.0, 1.0, 2.0], [0.0, 0.0, 9.0]])
    labels = np.array([1, 2, 2])
    # row 0: label 1 excluded -> best wrong is 2; row 1: best is 0; row 2: label 2 excluded -> 0 (first max)
    np.testing.assert_array_equal(ff.hard_negative_labels(scores, labels), [2, 0, 0])
    np.testing.assert_array_equal(jff.hard_negative_labels(jnp.asarray(scores), jnp.asarray(labels)), [2, 0, 0])


def test_embed_label_does_not_touch_the_input():
    x = np.full((2, 12), 0.5)
    out = ff.embed_label(x, np.array([3, 0]))
    assert (x == 0.5).all()
    np.testing.assert_array_equal(out[:, :10], np.eye(10)[[3, 0]])
    np.testing.assert_array_equal(out[:, 10:], 0.5)


def test_jax_versions_agree_with_numpy():
    rng, p = _params((20, 12, 9, 7), seed=4)
    x = rng.uniform(0, 1, (8, 20))
    labels = rng.integers(0, 10, 8)
    jp = jax.tree_util.tree_map(lambda a: jnp.asarray(a, jnp.float32), p)
    jx = jnp.asarray(x, jnp.float32)
    np.testing.assert_allclose(jff.embed_label(jx, jnp.asarray(labels)), ff.embed_label(x, labels), atol=1e-7)
    # the JAX versions run jitted, as in training
    np.testing.assert_allclose(jax.jit(jff.label_goodness)(jp, jx), ff.label_goodness(p, x), rtol=2e-4)
    np.testing.assert_array_equal(jff.predict(jp, jx), ff.predict(p, x))
    x_pos, x_neg = ff.embed_label(x, labels), ff.embed_label(x, (labels + 3) % 10)
    g_ref, l_ref = ff.ff_gradients(p, x_pos, x_neg)
    g_jax, l_jax = jax.jit(jff.ff_gradients)(jp, jnp.asarray(x_pos, jnp.float32), jnp.asarray(x_neg, jnp.float32))
    np.testing.assert_allclose(l_jax, l_ref, rtol=1e-4)
    for k in p:
        np.testing.assert_allclose(g_jax[k], g_ref[k], rtol=1e-3, atol=1e-5, err_msg=k)
    opt = {"t": 0, "m": {k: np.zeros_like(v) for k, v in p.items()}, "v": {k: np.zeros_like(v) for k, v in p.items()}}
    new_ref, _ = ff.adam_update(p, g_ref, opt, 0.01)
    new_jax, _ = jax.jit(jff.adam_update)(jp, g_jax, jax.tree_util.tree_map(jnp.asarray, opt), 0.01)
    for k in p:
        np.testing.assert_allclose(new_jax[k], new_ref[k], rtol=1e-4, atol=1e-5, err_msg=k)


@pytest.mark.parametrize("backend", ["numpy", "jax"])
def test_both_backends_lower_the_local_losses(offline_data, backend):
    # the summed layer-local losses fall epoch after epoch
    data = offline_data.subset(1000, 100)
    probe_x, probe_y = data.x_test[:50].astype(np.float64), data.y_test[:50]
    result = train("forward_forward", data, backend=backend, epochs=3, sizes=(784, 100, 100), progress=False,
                   eval_every=3, monitor=ff.loss_monitor(probe_x, probe_y, data.x_test, data.y_test))
    losses = [h["train_loss"] for h in result.history]
    assert losses[2] < losses[1] < losses[0], losses
    # the monitor records each layer's loss and the test accuracy after every epoch; its accuracy
    # (float32 JAX prediction) agrees with the float64 reference up to a rare tie
    params = {k: np.asarray(v, dtype=np.float64) for k, v in result.state["params"].items()}
    reference = np.mean(ff.predict(params, data.x_test.astype(np.float64)) == data.y_test)
    assert result.history[-1]["test_accuracy"] == pytest.approx(reference, abs=0.02)
    assert all({"layer_loss_1", "layer_loss_2", "test_accuracy"} <= set(h) for h in result.history)
    assert "train_accuracy" not in result.history[0] and "train_accuracy" in result.history[-1]


@pytest.mark.slow
def test_defaults_reach_the_accuracy_bar(offline_data):
    result = train("forward_forward", offline_data, backend="jax", progress=False)
    assert result.final["test_accuracy"] >= 0.85, result.final


def test_layer_gradient_matches_finite_differences_and_its_jax_twin():
    # the exercise's reference: the gradient of layer_loss with the layer's input held fixed
    rng, p = _params((9, 6), seed=5)
    below_pos, below_neg = rng.uniform(0, 1.5, (4, 9)), rng.uniform(0, 1, (3, 9))
    W, b, theta = p["W1"], p["b1"] + 0.1, 3.0
    grads = ff.layer_gradient(W, b, below_pos, below_neg, theta)

    def loss(W, b):
        return ff.layer_loss(ff.layer_forward(W, b, below_pos)[1], ff.layer_forward(W, b, below_neg)[1], theta)

    step = 1e-6
    for key, param in (("W", W), ("b", b)):
        numeric = np.zeros_like(param)
        for idx in np.ndindex(param.shape):
            plus, minus = param.copy(), param.copy()
            plus[idx] += step
            minus[idx] -= step
            args_plus = (plus, b) if key == "W" else (W, plus)
            args_minus = (minus, b) if key == "W" else (W, minus)
            numeric[idx] = (loss(*args_plus) - loss(*args_minus)) / (2 * step)
        np.testing.assert_allclose(grads[key], numeric, rtol=1e-5, atol=1e-8)
    twin = jff.layer_gradient(jnp.asarray(W, jnp.float32), jnp.asarray(b, jnp.float32), jnp.asarray(below_pos, jnp.float32),
                              jnp.asarray(below_neg, jnp.float32), theta)
    for key in ("W", "b"):
        np.testing.assert_allclose(np.asarray(twin[key]), grads[key], rtol=1e-4, atol=1e-5)


def test_training_with_a_notebook_rule_lowers_the_local_losses(offline_data):
    # the reference as the notebook's rule: the summed layer losses fall over one epoch
    params, history = ff.train_with_gradient(ff.layer_gradient, offline_data.x_train[:600], offline_data.y_train[:600],
                                             sizes=(784, 50, 50), epochs=1, batch_size=30,
                                             progress=False)
    assert set(params) == {"W1", "b1", "W2", "b2"} and len(history["loss"]) == 20
    assert np.mean(history["loss"][-3:]) < 0.5 * np.mean(history["loss"][:3])


def test_schematic_of_the_two_passes():
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    from course_utils.schematics import forward_forward_passes
    fig = forward_forward_passes()
    assert isinstance(fig, Figure)
    texts = " ".join(t.get_text() for ax in fig.axes for t in ax.texts + [ax.title]) + " ".join(t.get_text() for t in fig.texts)
    for label in ("Positive pass", "Negative pass", "image + correct label", "image + wrong label", "layer 1",
                  "layer 2", "raise", "lower", "nothing\ntravels\ndown"):
        assert label in texts, label
    plt.close(fig)
