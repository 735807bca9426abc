"""Tutorial 03: energy and its gradient against autodiff, monotone free phase, the layered (any depth)
and JAX forms against the two-layer reference, the registered step in both backends, EqProp against
the implicit gradient, and the accuracy bar."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_utils import eqprop as ep
from course_utils.jax import eqprop as jep
from course_utils.metrics import cosine_similarity
from course_utils.registry import get_rule
from course_utils.training import train


def _problem(D=8, H=6, C=3, N=5, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    params = {k: scale * v for k, v in ep.init_eqprop(rng, (D, H, C)).items()}
    params["b1"], params["b2"] = 0.1 * rng.standard_normal(H), 0.1 * rng.standard_normal(C)
    x = rng.uniform(0, 1, (N, D))
    h, y = rng.uniform(0.05, 0.95, (N, H)), rng.uniform(0.05, 0.95, (N, C))
    t = np.eye(C)[rng.integers(0, C, N)]
    return rng, params, x, h, y, t


def _deep_problem(sizes=(9, 7, 6, 4), N=5, seed=0):
    """A 3-layer net with non-zero biases, states strictly inside (0, 1), one-hot targets."""
    rng = np.random.default_rng(seed)
    params = ep.init_eqprop(rng, sizes)
    params = {k: v + (0.1 * rng.standard_normal(v.shape) if k.startswith("b") else 0.0) for k, v in params.items()}
    x = rng.uniform(0, 1, (N, sizes[0]))
    states = [rng.uniform(0.05, 0.95, (N, n)) for n in sizes[1:]]
    t = np.eye(sizes[-1])[rng.integers(0, sizes[-1], N)]
    return rng, params, x, states, t


def _f32(tree):
    return jax.tree_util.tree_map(lambda a: jnp.asarray(a, jnp.float32), tree)


def test_energy_closed_form():
    # one example, D = H = C = 1: E = 1/2 (h^2 + y^2) - h (w1 x + b1) - y (w2 h + b2)
    params = {"W1": np.array([[2.0]]), "b1": np.array([0.5]), "W2": np.array([[-1.0]]), "b2": np.array([0.25])}
    x, h, y = np.array([[0.5]]), np.array([[0.4]]), np.array([[0.8]])
    expected = 0.5 * (0.16 + 0.64) - 0.4 * (1.0 + 0.5) - 0.8 * (-0.4 + 0.25)
    np.testing.assert_allclose(ep.energy(params, x, h, y), [expected])
    np.testing.assert_allclose(ep.layered_energy(params, x, [h, y]), [expected])
    # outside [0, 1] the squared term is on s (h = 2: 1/2 * 4), the couplings see rho(h) = 1
    h2 = np.array([[2.0]])
    expected2 = 0.5 * (4.0 + 0.64) - 1.0 * (1.0 + 0.5) - 0.8 * (-1.0 + 0.25)
    np.testing.assert_allclose(ep.energy(params, x, h2, y), [expected2])


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


def test_deep_state_gradients_match_autodiff_and_finite_differences():
    # 784-500-500-10 in miniature: the middle layer gets input from both sides,
    # dF/ds_2 = s_2 - rho'(s_2) (rho(s_1) W_2^T + b_2 + rho(s_3) W_3)
    rng, params, x, states, t = _deep_problem()
    beta = 0.4
    got = ep.layered_state_gradients(params, ep.input_drive(params, x), states, t, beta)

    def total_f(ss):
        jp = {k: jnp.asarray(v) for k, v in params.items()}
        return jnp.sum(jep.layered_energy(jp, jnp.asarray(x), ss)) + beta * 0.5 * jnp.sum((ss[-1] - t) ** 2)

    with jax.enable_x64(True):
        auto = jax.grad(total_f)([jnp.asarray(s) for s in states])
    for g, a in zip(got, auto):
        np.testing.assert_allclose(g, a, rtol=1e-10, atol=1e-12)
    # one entry by central differences of the NumPy energy
    F = lambda ss: np.sum(ep.layered_energy(params, x, ss)) + beta * np.sum(ep.cost(ss[-1], t))  # noqa: E731
    bumped = [[s.copy() for s in states] for _ in range(2)]
    bumped[0][1][2, 3] += 1e-6
    bumped[1][1][2, 3] -= 1e-6
    assert (F(bumped[0]) - F(bumped[1])) / 2e-6 == pytest.approx(got[1][2, 3], rel=1e-6)


def test_free_phase_decreases_the_energy_and_settles():
    rng, params, x, h, y, t = _problem(D=20, H=15, C=5, N=10, seed=2)
    assert 0.5 < 2 / _curvature(params)       # the step size that guarantees descent (see below)
    trace = ep.energy_trace(params, x, h, y, epsilon=0.5, steps=60)
    assert np.all(np.diff(trace) <= 1e-12), np.diff(trace).max()        # monotone
    h_end, y_end = ep.relax(params, x, h, y, None, 0.0, 0.5, 200)
    h_next, y_next = ep.relaxation_step(params, x, h_end, y_end, None, 0.0, 0.5)
    assert np.abs(h_next - h_end).max() < 1e-9 and np.abs(y_next - y_end).max() < 1e-9  # a fixed point


def _curvature(params):
    """Largest |eigenvalue| of the energy's Hessian inside the box, I - A, where A is the symmetric
    block matrix of the couplings between the free layers (W2 between layers 1 and 2, ...)."""
    sizes = [params[f"b{l}"].shape[0] for l in range(1, ep.num_layers(params) + 1)]
    offsets = np.cumsum([0] + sizes)
    A = np.zeros((offsets[-1], offsets[-1]))
    for l in range(2, len(sizes) + 1):
        rows, cols = slice(offsets[l - 1], offsets[l]), slice(offsets[l - 2], offsets[l - 1])
        A[rows, cols] = params[f"W{l}"]
        A[cols, rows] = params[f"W{l}"].T
    return np.abs(np.linalg.eigvalsh(np.eye(len(A)) - A)).max()


def test_settling_trajectory_of_a_deep_net():
    # Projected gradient descent lowers a function whose gradient is L-Lipschitz on the box at every
    # step when epsilon < 2 / L; inside [0, 1] the energy is quadratic with Hessian I - A. So every
    # example's energy falls at every step, and the states come to rest.
    rng, params, x, _, _ = _deep_problem(sizes=(12, 10, 8, 3), N=6, seed=7)
    assert 0.5 < 2 / _curvature(params)
    states, energies = ep.settling_trajectory(params, x, epsilon=0.5, steps=300)
    assert [s.shape for s in states] == [(301, 6, 10), (301, 6, 8), (301, 6, 3)]
    assert np.all(states[0][0] == 0) and np.all((states[1] >= 0) & (states[1] <= 1))
    assert np.all(np.diff(energies, axis=0) <= 1e-12), np.diff(energies, axis=0).max()
    assert max(np.abs(s[-1] - s[-2]).max() for s in states) < 1e-9
    np.testing.assert_allclose(energies[-1], ep.layered_energy(params, x, [s[-1] for s in states]))


def test_layered_form_agrees_with_the_two_layer_exercises():
    rng, params, x, h, y, t = _problem(seed=3)
    dh, dy = ep.state_gradients(params, x, h, y, t, 0.5)
    lh, ly = ep.layered_state_gradients(params, ep.input_drive(params, x), [h, y], t, 0.5)
    np.testing.assert_allclose(lh, dh)
    np.testing.assert_allclose(ly, dy)
    np.testing.assert_allclose(ep.layered_energy(params, x, [h, y]), ep.energy(params, x, h, y))
    free = ep.relax(params, x, h, y, t, 0.0, 0.5, 20)
    nudged = ep.relax(params, x, *free, t, 0.5, 0.5, 4)
    for a, b in zip(ep.layered_relax(params, x, [h, y], t, 0.0, 0.5, 20), free):
        np.testing.assert_allclose(a, b)
    layered = ep.layered_eqprop_gradient(x, list(free), list(nudged), 0.5)
    for k, v in ep.eqprop_gradient(x, free, nudged, 0.5).items():
        np.testing.assert_allclose(layered[k], v, err_msg=k)
    # the symmetric estimate is the mean of the +beta and the -beta one-sided estimates
    minus = ep.relax(params, x, *free, t, -0.5, 0.5, 4)
    sym = ep.symmetric_eqprop_gradient(x, list(nudged), list(minus), 0.5)
    minus_est = ep.eqprop_gradient(x, free, minus, -0.5)
    for k, v in ep.eqprop_gradient(x, free, nudged, 0.5).items():
        np.testing.assert_allclose(sym[k], 0.5 * (v + minus_est[k]), err_msg=k)


def test_jax_version_agrees_with_numpy():
    rng, params, x, h, y, t = _problem(D=10, H=7, C=4, N=6, seed=4)
    jp, f32 = _f32(params), lambda a: jnp.asarray(a, jnp.float32)  # noqa: E731
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


def test_jax_deep_net_agrees_with_numpy():
    rng, params, x, states, t = _deep_problem(seed=8)
    jp, jx, jt, js = _f32(params), _f32(x), _f32(t), _f32(states)
    np.testing.assert_allclose(jep.layered_energy(jp, jx, js), ep.layered_energy(params, x, states), rtol=1e-5, atol=1e-5)
    free = ep.layered_relax(params, x, states, t, 0.0, 0.5, 30)
    jfree = jep.layered_relax(jp, jx, js, jt, 0.0, 0.5, 30)
    plus, minus = (ep.layered_relax(params, x, free, t, b, 0.5, 6) for b in (0.3, -0.3))
    jplus, jminus = (jep.layered_relax(jp, jx, jfree, jt, b, 0.5, 6) for b in (0.3, -0.3))
    for a, b in zip(free + plus + minus, jfree + jplus + jminus):
        np.testing.assert_allclose(b, a, atol=1e-5)
    ref, got = ep.symmetric_eqprop_gradient(x, plus, minus, 0.3), jep.symmetric_eqprop_gradient(jx, jplus, jminus, 0.3)
    for k in ref:
        np.testing.assert_allclose(got[k], ref[k], atol=2e-5, err_msg=k)


@pytest.mark.parametrize("settings", [dict(random_sign=False), dict(symmetric=True)])
def test_registered_step_numpy_and_jax_agree(settings):
    # one minibatch of the registered rule (deep net): free phase from the stored particles, nudged
    # phase(s), per-layer learning rates, particles written back at batch["index"]
    sizes = (9, 7, 6, 4)
    cfg = {**get_rule("eqprop").config(sizes=sizes, learning_rates=(0.3, 0.2, 0.1), **settings), "train_size": 12}
    rng = np.random.default_rng(9)
    state = ep._init(rng, cfg)
    for s in state["states"]:
        s[:] = rng.uniform(0, 1, s.shape)                    # particles from an earlier epoch
    idx = np.array([7, 2, 11, 4, 0])
    batch = {"x": rng.uniform(0, 1, (5, 9)), "y": np.eye(4)[rng.integers(0, 4, 5)], "index": idx}
    jstate = _f32(state)
    jnew, jmetrics = jax.jit(lambda s, b: jep.eqprop_step(s, b, jax.random.PRNGKey(0), cfg))(
        jstate, {"x": _f32(batch["x"]), "y": _f32(batch["y"]), "index": jnp.asarray(idx)})
    untouched = [s.copy() for s in state["states"]]
    new, metrics = ep._step(state, batch, rng, cfg)
    for k in new["params"]:
        np.testing.assert_allclose(jnew["params"][k], new["params"][k], atol=2e-5, err_msg=k)
    for a, b, old in zip(new["states"], jnew["states"], untouched):
        np.testing.assert_allclose(b, a, atol=1e-5)
        others = np.setdiff1d(np.arange(12), idx)
        np.testing.assert_array_equal(a[others], old[others])   # only the minibatch's particles move
    assert float(jmetrics["loss"]) == pytest.approx(metrics["loss"], rel=1e-5)
    # the update is the learning rate times the EqProp estimate from the settled phases
    free = ep.layered_relax(state["params"], batch["x"], [s[idx] for s in untouched], batch["y"], 0.0, 0.5, 20)
    np.testing.assert_allclose([s[idx] for s in new["states"]][0], free[0])


def test_mismatched_learning_rates_are_refused():
    with pytest.raises(ValueError, match="learning_rates"):
        ep._init(np.random.default_rng(0), {**get_rule("eqprop").config(sizes=(784, 500, 500, 10)), "train_size": 4})


def test_eqprop_approaches_the_implicit_gradient():
    # The EqProp estimate -> dC(s*)/dtheta as beta -> 0; symmetric nudging (+beta, -beta) is closer.
    rng = np.random.default_rng(0)
    with jax.enable_x64(True):
        params = jep.init_eqprop(jax.random.PRNGKey(0), (30, 20, 5))
        params = {k: 0.5 * v.astype(jnp.float64) + (0.1 if k.startswith("b") else 0.0) for k, v in params.items()}
        x = jnp.asarray(rng.uniform(0, 1, (16, 30)))
        t = jnp.asarray(np.eye(5)[rng.integers(0, 5, 16)])
        true = jep.implicit_gradient(params, x, t)
        # the implicit gradient against finite differences of J(theta) = C(s*(theta)) on a few entries
        J = jax.jit(lambda p: jnp.mean(0.5 * jnp.sum((jep.fixed_point(p, x, 0.5, 2000)[-1] - t) ** 2, axis=1)))
        for key, idx in (("b2", (1,)), ("W2", (2, 3)), ("W1", (4, 7))):
            plus = dict(params, **{key: params[key].at[idx].add(1e-6)})
            minus = dict(params, **{key: params[key].at[idx].add(-1e-6)})
            assert float(J(plus) - J(minus)) / 2e-6 == pytest.approx(float(true[key][idx]), rel=1e-5, abs=1e-9)
        cos = jep.cosine_vs_beta(params, x, t, [0.1, 0.01, 1e-3, 1e-4])
    one, sym = cos["one-sided"], cos["symmetric"]
    assert sym[1] > 0.99, cos
    assert sym[0] > one[0] and sym[1] > one[1], cos
    assert one[0] < one[1] < one[2], cos                 # the one-sided bias shrinks with beta
    # Once beta is too small to move any unit onto or off a wall of [0, 1], the estimate is a smooth
    # function of beta with an O(beta) bias, so 1 - cos ~ beta^2: 10x smaller beta, ~100x closer.
    # (Above that, units crossing the walls dominate the error, and the law does not hold.)
    assert 1 - one[3] < 0.05 * (1 - one[2]), cos


def test_eqprop_explorer_and_settling_explorer_build_and_update(monkeypatch):
    import IPython.display

    from course_utils.widgets import eqprop_explorer, settling_explorer
    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda fig: shown.append(fig.axes[0].get_title()))
    rng, params, x, h, y, t = _problem(D=10, H=8, C=3, N=4, seed=5)
    box = eqprop_explorer(_f32(params), _f32(x), _f32(t))
    log_beta, steps = box.children[0].children
    log_beta.value = -2.0
    steps.value = 20
    assert len(shown) == 3 and shown[-1] == "beta = 0.01, 20 nudged steps", shown
    box = settling_explorer(params, x, steps=30)
    slider = box.children[0].children[0]
    slider.value = 30
    assert shown[-1].startswith("step 30"), shown


@pytest.mark.slow
def test_defaults_reach_the_accuracy_bar(offline_data):
    result = train("eqprop", offline_data, backend="jax", progress=False)
    assert result.final["test_accuracy"] >= 0.88, result.final


def test_numpy_backend_trains(offline_data):
    result = train("eqprop", offline_data.subset(400, 100), backend="numpy", epochs=2, progress=False)
    losses = [h["train_loss"] for h in result.history]
    assert losses[1] < losses[0], losses


def test_schematic_of_the_two_phases():
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    from course_utils.schematics import eqprop_phases
    fig = eqprop_phases()
    assert isinstance(fig, Figure)
    texts = " ".join(t.get_text() for ax in fig.axes for t in ax.texts + [ax.title]) + " ".join(t.get_text() for t in fig.texts)
    for label in ("Free phase", "Nudged phase", "input x (clamped)", "hidden h", "output y", "target t",
                  "$W_2^\\top$ down", "Update"):
        assert label in texts, label
    plt.close(fig)
