"""Tutorial 03: energy and its gradient against autodiff, monotone free phase, the layered and JAX
forms against the two-layer reference, EqProp against the implicit gradient, and the accuracy bar."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_utils import eqprop as ep
from course_utils.jax import eqprop as jep
from course_utils.metrics import cosine_similarity
from course_utils.training import train


def _problem(D=8, H=6, C=3, N=5, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    params = {k: scale * v for k, v in ep.init_eqprop(rng, (D, H, C)).items()}
    params["b1"], params["b2"] = 0.1 * rng.standard_normal(H), 0.1 * rng.standard_normal(C)
    x = rng.uniform(0, 1, (N, D))
    h, y = rng.uniform(0.05, 0.95, (N, H)), rng.uniform(0.05, 0.95, (N, C))
    t = np.eye(C)[rng.integers(0, C, N)]
    return rng, params, x, h, y, t


def test_energy_closed_form():
    # one example, D = H = C = 1: E = 1/2 (h^2 + y^2) - h (w1 x + b1) - y (w2 h + b2)
    params = {"W1": np.array([[2.0]]), "b1": np.array([0.5]), "W2": np.array([[-1.0]]), "b2": np.array([0.25])}
    x, h, y = np.array([[0.5]]), np.array([[0.4]]), np.array([[0.8]])
    expected = 0.5 * (0.16 + 0.64) - 0.4 * (1.0 + 0.5) - 0.8 * (-0.4 + 0.25)
    np.testing.assert_allclose(ep.energy(params, x, h, y), [expected])


@pytest.mark.parametrize("beta", [0.0, 0.7])
def test_state_gradients_match_autodiff(beta):
    rng, params, x, h, y, t = _problem(seed=1)

    def total_f(h_, y_):
        jp = {k: jnp.asarray(v) for k, v in params.items()}
        return jnp.sum(jep.energy(jp, jnp.asarray(x), h_, y_)) + beta * 0.5 * jnp.sum((y_ - jnp.asarray(t)) ** 2)

    with jax.enable_x64(True):
        auto_h, auto_y = jax.grad(total_f, argnums=(0, 1))(jnp.asarray(h), jnp.asarray(y))
    dh, dy = ep.state_gradients(params, x, h, y, t, beta)
    np.testing.assert_allclose(dh, auto_h, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dy, auto_y, rtol=1e-10, atol=1e-12)


def test_free_phase_decreases_the_energy_and_settles():
    rng, params, x, h, y, t = _problem(D=20, H=15, C=5, N=10, seed=2)
    trace = ep.energy_trace(params, x, h, y, epsilon=0.5, steps=60)
    assert np.all(np.diff(trace) <= 1e-12), np.diff(trace).max()        # monotone
    h_end, y_end = ep.relax(params, x, h, y, None, 0.0, 0.5, 200)
    h_next, y_next = ep.relaxation_step(params, x, h_end, y_end, None, 0.0, 0.5)
    assert np.abs(h_next - h_end).max() < 1e-9 and np.abs(y_next - y_end).max() < 1e-9  # a fixed point


def test_layered_form_agrees_with_the_two_layer_exercises():
    rng, params, x, h, y, t = _problem(seed=3)
    dh, dy = ep.state_gradients(params, x, h, y, t, 0.5)
    lh, ly = ep.layered_state_gradients(params, x, [h, y], t, 0.5)
    np.testing.assert_allclose(lh, dh)
    np.testing.assert_allclose(ly, dy)
    free = ep.relax(params, x, h, y, t, 0.0, 0.5, 20)
    nudged = ep.relax(params, x, *free, t, 0.5, 0.5, 4)
    layered = ep.layered_eqprop_gradient(x, list(free), list(nudged), 0.5)
    for k, v in ep.eqprop_gradient(x, free, nudged, 0.5).items():
        np.testing.assert_allclose(layered[k], v, err_msg=k)


def test_jax_version_agrees_with_numpy():
    rng, params, x, h, y, t = _problem(D=10, H=7, C=4, N=6, seed=4)
    jp = {k: jnp.asarray(v, jnp.float32) for k, v in params.items()}
    f32 = lambda a: jnp.asarray(a, jnp.float32)  # noqa: E731
    np.testing.assert_allclose(jep.energy(jp, f32(x), f32(h), f32(y)), ep.energy(params, x, h, y), rtol=1e-5, atol=1e-6)
    free = ep.layered_relax(params, x, [h, y], t, 0.0, 0.5, 20)
    jfree = jep.layered_relax(jp, f32(x), [f32(h), f32(y)], f32(t), 0.0, 0.5, 20)
    nudged = ep.layered_relax(params, x, free, t, -1.0, 0.5, 4)
    jnudged = jep.layered_relax(jp, f32(x), jfree, f32(t), -1.0, 0.5, 4)
    for a, b in zip(free + nudged, jfree + jnudged):
        np.testing.assert_allclose(b, a, atol=1e-5)
    ref = ep.layered_eqprop_gradient(x, free, nudged, -1.0)
    got = jep.layered_eqprop_gradient(f32(x), jfree, jnudged, -1.0)
    for k in ref:
        np.testing.assert_allclose(got[k], ref[k], atol=1e-5, err_msg=k)


def test_eqprop_approaches_the_implicit_gradient():
    # The EqProp estimate -> dC(s*)/dtheta as beta -> 0; symmetric nudging (+beta, -beta) is closer.
    rng = np.random.default_rng(0)
    with jax.enable_x64(True):
        params = jep.init_eqprop(jax.random.PRNGKey(0), (30, 20, 5))
        params = {k: 0.5 * v.astype(jnp.float64) + (0.1 if k.startswith("b") else 0.0) for k, v in params.items()}
        x = jnp.asarray(rng.uniform(0, 1, (16, 30)))
        t = jnp.asarray(np.eye(5)[rng.integers(0, 5, 16)])
        true = jep.implicit_gradient(params, x, t)
        # the implicit gradient against finite differences of C(s*(theta)) on a few entries
        def J(p):
            s = jep.fixed_point(p, x, steps=2000)
            return float(jnp.mean(0.5 * jnp.sum((s[-1] - t) ** 2, axis=1)))
        for key, idx in (("b2", (1,)), ("W2", (2, 3)), ("W1", (4, 7))):
            plus = dict(params, **{key: params[key].at[idx].add(1e-6)})
            minus = dict(params, **{key: params[key].at[idx].add(-1e-6)})
            assert (J(plus) - J(minus)) / 2e-6 == pytest.approx(float(true[key][idx]), rel=1e-5, abs=1e-9)
        cos = {(beta, sym): cosine_similarity(jep.eqprop_estimate(params, x, t, beta, symmetric=sym), true)
               for beta in (0.1, 0.01) for sym in (False, True)}
    assert cos[(0.01, True)] > 0.99, cos
    assert cos[(0.1, True)] > cos[(0.1, False)] and cos[(0.01, True)] > cos[(0.01, False)], cos
    assert cos[(0.01, False)] > cos[(0.1, False)], cos   # the one-sided bias shrinks with beta


@pytest.mark.slow
def test_defaults_reach_the_accuracy_bar(offline_data):
    result = train("eqprop", offline_data, backend="jax", progress=False)
    assert result.final["test_accuracy"] >= 0.88, result.final


def test_numpy_backend_trains(offline_data):
    result = train("eqprop", offline_data.subset(400, 100), backend="numpy", epochs=2, progress=False)
    losses = [h["train_loss"] for h in result.history]
    assert losses[1] < losses[0], losses
