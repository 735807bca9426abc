"""The shared MLP: backprop against autodiff and finite differences; JAX twin against NumPy."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_utils import mlp
from course_utils.jax import mlp as jmlp

CASES = [((5, 4, 3), "sigmoid", 6), ((3, 7, 2), "relu", 1), ((6, 5, 4, 3), "relu", 4),
         ((4, 3, 6, 2), "sigmoid", 5)]


def _problem(sizes, activation, n, seed=0):
    rng = np.random.default_rng(seed)
    params = mlp.init_mlp(rng, sizes, activation)
    params = {k: v + 0.1 * rng.standard_normal(v.shape) for k, v in params.items()}
    x = rng.standard_normal((n, sizes[0]))
    y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], n)]
    return params, x, y


@pytest.mark.parametrize("sizes,activation,n", CASES)
def test_backprop_matches_finite_differences(sizes, activation, n):
    params, x, y = _problem(sizes, activation, n)
    grads = mlp.backprop_gradients(params, x, y, activation)
    numeric = mlp.numerical_gradient(lambda p: mlp.loss(p, x, y, activation), params)
    for k in params:
        np.testing.assert_allclose(grads[k], numeric[k], rtol=1e-5, atol=1e-8, err_msg=k)


@pytest.mark.parametrize("sizes,activation,n", CASES)
def test_backprop_matches_jax_grad(sizes, activation, n):
    params, x, y = _problem(sizes, activation, n, seed=1)
    grads = mlp.backprop_gradients(params, x, y, activation)
    with jax.enable_x64(True):
        auto = jax.grad(lambda p: jmlp.loss(p, jnp.asarray(x), jnp.asarray(y), activation))(
            {k: jnp.asarray(v) for k, v in params.items()})
        for k in params:
            np.testing.assert_allclose(grads[k], np.asarray(auto[k]), rtol=1e-10, atol=1e-12, err_msg=k)


@pytest.mark.parametrize("sizes,activation,n", CASES)
def test_jax_twin_agrees_with_numpy(sizes, activation, n):
    params, x, y = _problem(sizes, activation, n, seed=2)
    jparams = {k: jnp.asarray(v, jnp.float32) for k, v in params.items()}
    jx, jy = jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.float32)
    np.testing.assert_allclose(jmlp.loss(jparams, jx, jy, activation), mlp.loss(params, x, y, activation),
                               rtol=1e-5)
    ours = jmlp.backprop_gradients(jparams, jx, jy, activation)
    auto = jax.grad(jmlp.loss)(jparams, jx, jy, activation)
    ref = mlp.backprop_gradients(params, x, y, activation)
    for k in params:
        np.testing.assert_allclose(ours[k], ref[k], rtol=2e-4, atol=1e-6, err_msg=k)
        np.testing.assert_allclose(ours[k], auto[k], rtol=2e-4, atol=1e-6, err_msg=k)
    np.testing.assert_array_equal(jmlp.predict(jparams, jx, activation), mlp.predict(params, x, activation))


def test_relu_derivative_is_step_at_preactivation():
    # d relu(z)/dz = 1 where z > 0 and 0 elsewhere, whatever the activity's size (not activity > 1)
    z = np.array([-2.0, -1e-9, 0.0, 1e-9, 0.5, 3.0])
    np.testing.assert_array_equal(mlp.activation_derivative(z, "relu"), [0, 0, 0, 1, 1, 1])
    np.testing.assert_allclose(mlp.activation_derivative(z, "sigmoid"),
                               mlp.sigmoid(z) * (1 - mlp.sigmoid(z)))


def test_loss_is_half_squared_error_averaged_over_batch():
    y_hat = np.array([[1.0, 0.0], [0.0, 3.0]])
    y = np.array([[0.0, 0.0], [0.0, 1.0]])
    # example losses: 1/2 * 1 = 0.5 and 1/2 * 4 = 2 -> mean 1.25
    np.testing.assert_allclose(mlp.per_example_loss(y_hat, y), [0.5, 2.0])
    assert mlp.mse_loss(y_hat, y) == pytest.approx(1.25)


def test_init_shapes_and_parameter_count():
    params = mlp.init_mlp(np.random.default_rng(0), (784, 100, 10))
    assert {k: v.shape for k, v in params.items()} == {
        "W1": (100, 784), "b1": (100,), "W2": (10, 100), "b2": (10,)}
    assert sum(v.size for v in params.values()) == 784 * 100 + 100 + 100 * 10 + 10
