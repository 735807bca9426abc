"""Tutorial 02: FA, DFA and KP against closed forms, backprop in their limits, JAX against NumPy,
and the measured alignment on the offline digits."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_utils import mlp, weight_transport as wt
from course_utils.data import one_hot
from course_utils.jax import weight_transport as jwt
from course_utils.metrics import angle_degrees
from course_utils.training import train

CASES = [((5, 4, 3), "sigmoid", 6), ((3, 7, 2), "relu", 1), ((6, 5, 4, 3), "relu", 4),
         ((4, 3, 6, 5, 2), "sigmoid", 5)]


def _problem(sizes, activation, n, seed=0):
    rng = np.random.default_rng(seed)
    params = mlp.init_mlp(rng, sizes, activation)
    params = {k: v + 0.1 * rng.standard_normal(v.shape) for k, v in params.items()}
    x = rng.standard_normal((n, sizes[0]))
    y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], n)]
    return rng, params, x, y


@pytest.mark.parametrize("sizes,activation,n", CASES)
def test_fa_with_transposed_forward_weights_is_backprop(sizes, activation, n):
    rng, params, x, y = _problem(sizes, activation, n)
    feedback = {f"B{l}": params[f"W{l + 1}"].T.copy() for l in range(1, len(sizes) - 1)}
    fa = wt.feedback_alignment_gradients(params, feedback, x, y, activation)
    bp = mlp.backprop_gradients(params, x, y, activation)
    for k in params:
        np.testing.assert_allclose(fa[k], bp[k], rtol=1e-12, atol=1e-14, err_msg=k)


@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_dfa_with_one_hidden_layer_and_transposed_weights_is_backprop(activation):
    rng, params, x, y = _problem((6, 5, 3), activation, 7)
    dfa = wt.direct_feedback_alignment_gradients(params, {"B1": params["W2"].T}, x, y, activation)
    bp = mlp.backprop_gradients(params, x, y, activation)
    for k in params:
        np.testing.assert_allclose(dfa[k], bp[k], rtol=1e-12, atol=1e-14, err_msg=k)


def test_fa_closed_form_two_layers():
    rng, params, x, y = _problem((4, 3, 2), "sigmoid", 5, seed=3)
    B = rng.standard_normal((3, 2))
    g = wt.feedback_alignment_gradients(params, {"B1": B}, x, y)
    z1 = x @ params["W1"].T + params["b1"]
    h = mlp.sigmoid(z1)
    e = (h @ params["W2"].T + params["b2"] - y) / 5
    delta1 = (e @ B.T) * h * (1 - h)          # dL/dz1 under FA = (e B^T) * sigma'(z1)
    np.testing.assert_allclose(g["W1"], delta1.T @ x)
    np.testing.assert_allclose(g["b1"], delta1.sum(0))
    np.testing.assert_allclose(g["W2"], e.T @ h)  # the output layer is exact backprop


def test_dfa_closed_form_three_layers():
    rng, params, x, y = _problem((4, 3, 5, 2), "relu", 6, seed=4)
    B1, B2 = rng.standard_normal((3, 2)), rng.standard_normal((5, 2))
    g = wt.direct_feedback_alignment_gradients(params, {"B1": B1, "B2": B2}, x, y, "relu")
    cache = mlp.forward(params, x, "relu")
    e = (cache["y_hat"] - y) / 6
    d2 = (e @ B2.T) * (cache["z"][1] > 0)     # each hidden layer gets e directly
    d1 = (e @ B1.T) * (cache["z"][0] > 0)
    np.testing.assert_allclose(g["W2"], d2.T @ cache["inputs"][1])
    np.testing.assert_allclose(g["W1"], d1.T @ x)
    np.testing.assert_allclose(g["b1"], d1.sum(0))


def test_kolen_pollack_difference_decays_geometrically():
    # W2 - B1^T = (1 - lambda)^t (W2 - B1^T)_0 whatever the data, to floating-point precision
    rng, params, x, y = _problem((6, 5, 3), "sigmoid", 8, seed=5)
    feedback = wt.init_feedback(rng, (6, 5, 3))
    decay, lr = 0.01, 0.3
    start = params["W2"] - feedback["B1"].T
    for t in range(1, 301):
        xb = rng.standard_normal((8, 6))
        yb = np.eye(3)[rng.integers(0, 3, 8)]
        grads = wt.feedback_alignment_gradients(params, feedback, xb, yb)
        params, feedback = wt.kolen_pollack_update(params, feedback, grads, lr, decay)
        if t % 50 == 0:
            np.testing.assert_allclose(params["W2"] - feedback["B1"].T, (1 - decay) ** t * start,
                                       rtol=1e-9, atol=1e-12)


def test_kolen_pollack_does_not_mutate_inputs():
    rng, params, x, y = _problem((5, 4, 3), "relu", 3, seed=6)
    feedback = wt.init_feedback(rng, (5, 4, 3))
    before = {k: v.copy() for k, v in {**params, **feedback}.items()}
    grads = wt.feedback_alignment_gradients(params, feedback, x, y, "relu")
    wt.kolen_pollack_update(params, feedback, grads, 0.1, 0.01)
    for k, v in {**params, **feedback}.items():
        np.testing.assert_array_equal(v, before[k])


@pytest.mark.parametrize("sizes,activation,n", CASES)
def test_jax_versions_agree_with_numpy(sizes, activation, n):
    rng, params, x, y = _problem(sizes, activation, n, seed=7)
    fb = wt.init_feedback(rng, sizes)
    dfb = wt.init_feedback(rng, sizes, direct=True)
    f32 = lambda t: jax.tree_util.tree_map(lambda a: jnp.asarray(a, jnp.float32), t)  # noqa: E731
    pairs = [
        (wt.feedback_alignment_gradients(params, fb, x, y, activation),
         jwt.feedback_alignment_gradients(f32(params), f32(fb), f32(x), f32(y), activation)),
        (wt.feedback_alignment_gradients(params, fb, x, y, activation),
         jwt.feedback_alignment_gradients_vjp(f32(params), f32(fb), f32(x), f32(y), activation)),
        (wt.direct_feedback_alignment_gradients(params, dfb, x, y, activation),
         jwt.direct_feedback_alignment_gradients(f32(params), f32(dfb), f32(x), f32(y), activation)),
    ]
    for ref, got in pairs:
        for k in params:
            np.testing.assert_allclose(got[k], ref[k], rtol=1e-4, atol=1e-6, err_msg=k)
    grads = pairs[0][0]
    p_ref, b_ref = wt.kolen_pollack_update(params, fb, grads, 0.1, 0.01)
    p_jax, b_jax = jwt.kolen_pollack_update(f32(params), f32(fb), f32(grads), 0.1, 0.01)
    for k in p_ref:
        np.testing.assert_allclose(p_jax[k], p_ref[k], rtol=1e-5, atol=1e-6)
    for k in b_ref:
        np.testing.assert_allclose(b_jax[k], b_ref[k], rtol=1e-5, atol=1e-6)


def _hidden_update_angle(state, rule, x, y, activation="sigmoid"):
    params = jax.tree_util.tree_map(np.asarray, state["params"])
    feedback = jax.tree_util.tree_map(np.asarray, state["feedback"])
    if rule == "direct_feedback_alignment":
        g = wt.direct_feedback_alignment_gradients(params, feedback, x, y, activation)
    else:
        g = wt.feedback_alignment_gradients(params, feedback, x, y, activation)
    return angle_degrees(g["W1"], mlp.backprop_gradients(params, x, y, activation)["W1"])


@pytest.mark.slow
def test_alignment_during_training(offline_data):
    # FA's hidden update starts near 90 degrees from backprop's (B is random) and aligns well below
    # 90 during training; KP, whose B converges to W^T, aligns further.
    from course_utils.registry import get_rule
    x = offline_data.x_test[:500].astype(np.float64)
    y = one_hot(offline_data.y_test[:500])
    rule = get_rule("feedback_alignment")
    initial = rule.backend("numpy").init(np.random.default_rng(0), rule.config())
    angles = {"initial": _hidden_update_angle(initial, "feedback_alignment", x, y)}
    for name in ("feedback_alignment", "kolen_pollack"):
        result = train(name, offline_data, backend="jax", progress=False)  # the defaults: 20 epochs
        angles[name] = _hidden_update_angle(result.state, name, x, y)
    assert angles["initial"] > 70, angles
    assert angles["feedback_alignment"] < 65, angles
    assert angles["kolen_pollack"] < angles["feedback_alignment"], angles
