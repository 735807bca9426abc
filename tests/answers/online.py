"""Tutorial 05 (learning online), answered as students answer it: from the notebook's text, the stubs'
docstrings and the helpers of the setup cell (rate, rate_derivative, currents), never from the references.
CORRECT: the equations in several styles (jax.grad of the student's own surrogate included); WRONG: the
errors the text invites first (the exact exponential update it compares Euler with, the solution from
y = 0 it quotes, the forum sketch's encoder update and each of its four omissions), then sign, scale,
transpose and missing-term errors. Comments in brackets name the property a fixture must separate (see
the comment blocks above the hidden-fixture generators in autograder/exercises/online.py)."""
import jax
import jax.numpy as jnp
import numpy as np

from course_utils.online import currents, rate, rate_derivative  # noqa: F401 (the setup cell's helpers)

FILTER = "online.filter_step"
PES = "online.pes_update"
FA = "online.fa_update"


# ======================================================================================================
# Exercise 1: the Euler step of a synapse
# ======================================================================================================

def literal_filter_step(y, u, dt, tau):
    # y <- y + (dt / tau) (u - y)
    return y + (dt / tau) * (u - y)


def filter_weighted_average(y, u, dt, tau):
    alpha = dt / tau
    return (1 - alpha) * y + alpha * u


def filter_derivative(y, u, dt, tau):
    # tau dy/dt = u - y, so dy/dt = (u - y) / tau; one step of length dt
    dydt = (u - y) / tau
    return y + dt * dydt


def filter_copy_then_update(y, u, dt, tau):
    out = np.array(y, dtype=float, copy=True)
    out += dt / tau * (u - out)
    return out


def filter_float32(y, u, dt, tau):
    y32, u32 = np.asarray(y, np.float32), np.asarray(u, np.float32)
    return y32 + np.float32(dt / tau) * (u32 - y32)


def filter_jax(y, u, dt, tau):
    y, u = jnp.asarray(y), jnp.asarray(u)
    return y + dt / tau * (u - y)


# --- wrong answers --------------------------------------------------------------------------------------

def filter_exact_exponential(y, u, dt, tau):
    # the exact solution over one step, which the text compares Euler with  [dt/tau not small]
    return u + (y - u) * np.exp(-dt / tau)


def filter_exponential_decay_euler_input(y, u, dt, tau):
    # exact decay of y, Euler for the input  [dt/tau not small]
    return y * np.exp(-dt / tau) + (dt / tau) * u


def filter_solution_from_zero(y, u, dt, tau):
    # the text's y(t) = u (1 - e^{-t/tau}) from y = 0, applied to one step  [y != 0]
    return u * (1 - np.exp(-dt / tau))


def filter_backward_euler(y, u, dt, tau):
    # implicit Euler: y_new = y + (dt / tau) (u - y_new)  [dt/tau not small]
    return (y + dt / tau * u) / (1 + dt / tau)


def filter_rc_alpha(y, u, dt, tau):
    # the "RC filter" coefficient alpha = dt / (tau + dt)  [dt/tau not small]
    alpha = dt / (tau + dt)
    return y + alpha * (u - y)


def filter_inverted(y, u, dt, tau):
    # tau / dt  [dt != tau]
    return y + (tau / dt) * (u - y)


def filter_no_tau(y, u, dt, tau):
    # y + dt (u - y)  [tau != 1]
    return y + dt * (u - y)


def filter_no_dt(y, u, dt, tau):
    # y + (u - y) / tau  [dt != 1]
    return y + (u - y) / tau


def filter_wrong_sign(y, u, dt, tau):
    # y + (dt / tau) (y - u)  [u != y]
    return y + dt / tau * (y - u)


def filter_change_only(y, u, dt, tau):
    # returns the change (as the update functions of this notebook do), not the new output  [y != 0]
    return dt / tau * (u - y)


def filter_precedence(y, u, dt, tau):
    # y + dt / tau * u - y: the parentheses lost  [y != 0]
    return y + dt / tau * u - y


def filter_input_not_scaled(y, u, dt, tau):
    # (1 - dt / tau) y + u: the decay right, the input at full strength  [u != 0]
    return (1 - dt / tau) * y + u


def filter_in_place(y, u, dt, tau):
    # updates y in place  [inputs unchanged]
    y += dt / tau * (u - y)
    return y


def filter_dt_in_ms(y, u, dt, tau):
    # dt converted to milliseconds, tau left in seconds  [units]
    return y + (dt * 1000) / tau * (u - y)


# ======================================================================================================
# Exercise 2: the PES update
# ======================================================================================================

def literal_pes_update(activities, error, learning_rate, dt):
    # Delta d = -(kappa dt / N) e a^T
    kappa, e, a = learning_rate, error, activities
    N = a.shape[0]
    return -(kappa * dt / N) * np.outer(e, a)


def pes_broadcast(activities, error, learning_rate, dt):
    return -learning_rate * dt * error[:, None] * activities[None, :] / len(activities)


def pes_matmul(activities, error, learning_rate, dt):
    e = error.reshape(-1, 1)
    a = activities.reshape(1, -1)
    return -(learning_rate * dt / activities.size) * (e @ a)


def pes_float32_einsum(activities, error, learning_rate, dt):
    a, e = activities.astype(np.float32), error.astype(np.float32)
    return np.float32(-learning_rate * dt / len(a)) * np.einsum("c,n->cn", e, a)


def pes_loops(activities, error, learning_rate, dt):
    N, C = len(activities), len(error)
    out = np.zeros((C, N))
    for c in range(C):
        for n in range(N):
            out[c, n] = -learning_rate * dt / N * error[c] * activities[n]
    return out


def pes_jax_grad(activities, error, learning_rate, dt):
    # the delta rule as gradient descent on a surrogate e . (d a), e held fixed: d/dd = e a^T
    a, e = jnp.asarray(activities), jnp.asarray(error)

    def surrogate(d):
        return jnp.dot(e, d @ a)

    grad = jax.grad(surrogate)(jnp.zeros((e.shape[0], a.shape[0])))
    return -(learning_rate * dt / a.shape[0]) * grad


# --- wrong answers --------------------------------------------------------------------------------------

def pes_not_divided_by_n(activities, error, learning_rate, dt):
    # -kappa dt e a^T  [N > 1]
    return -learning_rate * dt * np.outer(error, activities)


def pes_divided_by_outputs(activities, error, learning_rate, dt):
    # divided by the number of outputs C instead of the number of neurons N  [C != N]
    return -(learning_rate * dt / len(error)) * np.outer(error, activities)


def pes_divided_by_both(activities, error, learning_rate, dt):
    # divided by N C  [C > 1]
    return -(learning_rate * dt / (len(error) * len(activities))) * np.outer(error, activities)


def pes_times_n(activities, error, learning_rate, dt):
    # kappa dt N  [N > 1]
    return -(learning_rate * dt * len(activities)) * np.outer(error, activities)


def pes_no_dt(activities, error, learning_rate, dt):
    # kappa is per second: no dt  [dt varies]
    return -(learning_rate / len(activities)) * np.outer(error, activities)


def pes_no_dt_no_n(activities, error, learning_rate, dt):
    # -kappa e a^T: neither dt nor 1/N  [dt, N]
    return -learning_rate * np.outer(error, activities)


def pes_ascent(activities, error, learning_rate, dt):
    # + instead of -  [signs]
    return learning_rate * dt / len(activities) * np.outer(error, activities)


def pes_transposed(activities, error, learning_rate, dt):
    # a e^T: (N, C) instead of (C, N)  [orientation]
    return -(learning_rate * dt / len(activities)) * np.outer(activities, error)


def pes_no_learning_rate(activities, error, learning_rate, dt):
    # the learning rate left out  [kappa varies]
    return -(dt / len(activities)) * np.outer(error, activities)


def pes_mean_activity(activities, error, learning_rate, dt):
    # the mean rate for every neuron: -(kappa dt) e mean(a) broadcast to (C, N)  [rates differ]
    return -learning_rate * dt * np.outer(error, np.full(activities.shape, activities.mean()))


def pes_normalised_by_total_rate(activities, error, learning_rate, dt):
    # divided by the total rate sum(a) instead of N  [sum(a) != N]
    return -(learning_rate * dt / activities.sum()) * np.outer(error, activities)


def pes_normalised_by_squared_rates(activities, error, learning_rate, dt):
    # normalised LMS: divided by |a|^2, the loop gain's sum of squares, instead of N  [|a|^2 != N]
    return -(learning_rate * dt / (activities @ activities)) * np.outer(error, activities)


def pes_dt_over_n_swapped(activities, error, learning_rate, dt):
    # kappa N / dt  [scale]
    return -(learning_rate / (dt * len(activities))) * np.outer(error, activities)


def pes_in_place(activities, error, learning_rate, dt):
    # scales the error in place  [inputs unchanged]
    error *= -learning_rate * dt / len(activities)
    return np.outer(error, activities)


# ======================================================================================================
# Exercise 3: online feedback alignment
# ======================================================================================================

def literal_fa_update(x, current, error, feedback, gain, learning_rate, dt, neuron="relu"):
    # delta = (B e) . G'(J);  Delta E = -eta dt (g . delta) x^T;  Delta b = -eta dt delta
    B, e, J, g, eta = feedback, error, current, gain, learning_rate
    delta = (B @ e) * rate_derivative(J, neuron)
    return {"encoders": -eta * dt * np.outer(g * delta, x), "biases": -eta * dt * delta}


LIF_TAU_RC, LIF_TAU_REF = 0.02, 0.002          # Nengo's LIF defaults, as the notebook's curve uses them


def _own_slope(J, neuron):
    """A student's own G'(J), from the rate curves of Section 1."""
    J = np.asarray(J, dtype=float)
    if neuron == "relu":
        return 100.0 * (J > 0)
    out = np.zeros_like(J)
    for i, j in enumerate(J):
        if j > 1:
            r = 1.0 / (LIF_TAU_REF + LIF_TAU_RC * np.log1p(1.0 / (j - 1.0)))
            out[i] = r * r * LIF_TAU_RC / (j * (j - 1.0))
    return out


def fa_loops(x, current, error, feedback, gain, learning_rate, dt, neuron="relu"):
    slope = _own_slope(current, neuron)
    N, D = len(current), len(x)
    dE, db = np.zeros((N, D)), np.zeros(N)
    for i in range(N):
        delta_i = sum(feedback[i, c] * error[c] for c in range(len(error))) * slope[i]
        db[i] = -learning_rate * dt * delta_i
        for j in range(D):
            dE[i, j] = -learning_rate * dt * gain[i] * delta_i * x[j]
    return {"encoders": dE, "biases": db}


def fa_einsum(x, current, error, feedback, gain, learning_rate, dt, neuron="relu"):
    delta = np.einsum("nc,c->n", feedback, error) * rate_derivative(current, neuron)
    return {"encoders": -learning_rate * dt * np.einsum("n,n,d->nd", gain, delta, x),
            "biases": -learning_rate * dt * delta}


def fa_bias_first(x, current, error, feedback, gain, learning_rate, dt, neuron="relu"):
    # the bias change first; the encoders' change is the gain times it, outer x
    db = -learning_rate * dt * (feedback @ error) * rate_derivative(current, neuron)
    return {"encoders": (gain * db)[:, None] * x[None, :], "biases": db}


def fa_float32(x, current, error, feedback, gain, learning_rate, dt, neuron="relu"):
    slope = rate_derivative(current, neuron).astype(np.float32)
    delta = (feedback.astype(np.float32) @ error.astype(np.float32)) * slope
    step = np.float32(learning_rate * dt)
    return {"encoders": -step * np.outer(gain.astype(np.float32) * delta, x.astype(np.float32)),
            "biases": -step * delta}


def _jax_rate(J, neuron):
    """A student's own rate curve in jax.numpy (0 below threshold, differentiable above)."""
    if neuron == "relu":
        return 100.0 * jnp.maximum(J, 0.0)
    above = J > 1.0
    safe = jnp.where(above, J, 2.0)
    return jnp.where(above, 1.0 / (LIF_TAU_REF + LIF_TAU_RC * jnp.log1p(1.0 / (safe - 1.0))), 0.0)


def fa_jax_grad(x, current, error, feedback, gain, learning_rate, dt, neuron="relu"):
    # jax.grad of the student's own surrogate: (B e) . G(J + g (dE x) + db), B e held fixed,
    # differentiated at dE = 0, db = 0, gives (g delta) x^T and delta
    x, J, g = jnp.asarray(x), jnp.asarray(current), jnp.asarray(gain)
    signal = jnp.asarray(feedback) @ jnp.asarray(error)

    def surrogate(change):
        dE, db = change
        return jnp.dot(signal, _jax_rate(J + g * (dE @ x) + db, neuron))

    zeros = (jnp.zeros((J.shape[0], x.shape[0])), jnp.zeros(J.shape[0]))
    dE, db = jax.grad(surrogate)(zeros)
    return {"encoders": -learning_rate * dt * dE, "biases": -learning_rate * dt * db}


# --- wrong answers --------------------------------------------------------------------------------------

def fa_forum_sketch(x, current, error, feedback, gain, learning_rate, dt, neuron="relu"):
    # the sketch: (error through B) times the neuron's own rate, along every input dimension; no biases
    # [every one of the sketch's omissions]
    push = (feedback @ error) * rate(current, neuron)
    return {"encoders": -learning_rate * dt * np.outer(push, np.ones(len(x))), "biases": np.zeros(len(current))}


def fa_own_rate(x, current, error, feedback, gain, learning_rate, dt, neuron="relu"):
    # the sketch's encoder change (own rate, no outer product with x), the rest fixed  [presynaptic x]
    delta = (feedback @ error) * rate_derivative(current, neuron)
    a = rate(current, neuron)
    return {"encoders": -learning_rate * dt * (gain * delta * a)[:, None] * np.ones((1, len(x))),
            "biases": -learning_rate * dt * delta}


def fa_rate_for_derivative(x, current, error, feedback, gain, learning_rate, dt, neuron="relu"):
    # G(J) where G'(J) belongs  [the derivative, not the rate]
    delta = (feedback @ error) * rate(current, neuron)
    return {"encoders": -learning_rate * dt * np.outer(gain * delta, x), "biases": -learning_rate * dt * delta}


def fa_no_gain(x, current, error, feedback, gain, learning_rate, dt, neuron="relu"):
    # no gain  [gains differ from 1]
    delta = (feedback @ error) * rate_derivative(current, neuron)
    return {"encoders": -learning_rate * dt * np.outer(delta, x), "biases": -learning_rate * dt * delta}


def fa_gain_in_bias(x, current, error, feedback, gain, learning_rate, dt, neuron="relu"):
    # the gain in the bias change as well: dJ/db is 1  [gains differ from 1]
    delta = gain * (feedback @ error) * rate_derivative(current, neuron)
    return {"encoders": -learning_rate * dt * np.outer(delta, x), "biases": -learning_rate * dt * delta}


def fa_relu_slope(x, current, error, feedback, gain, learning_rate, dt, neuron="relu"):
    # the ReLU's derivative for every neuron  [LIF neurons]
    delta = (feedback @ error) * rate_derivative(current, "relu")
    return {"encoders": -learning_rate * dt * np.outer(gain * delta, x), "biases": -learning_rate * dt * delta}


def fa_unit_step_slope(x, current, error, feedback, gain, learning_rate, dt, neuron="relu"):
    # own derivative: 1 where J > 0, the 100 Hz amplitude and the LIF curve forgotten  [both neurons]
    delta = (feedback @ error) * (current > 0)
    return {"encoders": -learning_rate * dt * np.outer(gain * delta, x), "biases": -learning_rate * dt * delta}


def fa_derivative_at_rate(x, current, error, feedback, gain, learning_rate, dt, neuron="relu"):
    # G'(G(J))  [G' at J]
    delta = (feedback @ error) * rate_derivative(rate(current, neuron), neuron)
    return {"encoders": -learning_rate * dt * np.outer(gain * delta, x), "biases": -learning_rate * dt * delta}


def fa_no_bias(x, current, error, feedback, gain, learning_rate, dt, neuron="relu"):
    # the biases left at zero, as in the sketch  [biases learn]
    delta = (feedback @ error) * rate_derivative(current, neuron)
    return {"encoders": -learning_rate * dt * np.outer(gain * delta, x), "biases": np.zeros(len(current))}


def fa_wrong_sign(x, current, error, feedback, gain, learning_rate, dt, neuron="relu"):
    # + instead of -  [signs]
    delta = (feedback @ error) * rate_derivative(current, neuron)
    return {"encoders": learning_rate * dt * np.outer(gain * delta, x), "biases": learning_rate * dt * delta}


def fa_bias_sign(x, current, error, feedback, gain, learning_rate, dt, neuron="relu"):
    # the encoders right, the biases with + (the step written for the gradient of the bias)  [signs]
    delta = (feedback @ error) * rate_derivative(current, neuron)
    return {"encoders": -learning_rate * dt * np.outer(gain * delta, x), "biases": learning_rate * dt * delta}


def fa_transposed(x, current, error, feedback, gain, learning_rate, dt, neuron="relu"):
    # x (g delta)^T: (D, N)  [orientation]
    delta = (feedback @ error) * rate_derivative(current, neuron)
    return {"encoders": -learning_rate * dt * np.outer(x, gain * delta), "biases": -learning_rate * dt * delta}


def fa_gain_twice(x, current, error, feedback, gain, learning_rate, dt, neuron="relu"):
    # delta taken as dL/dJ times the gain, then the encoders' formula's g applied again  [gains differ from 1]
    delta = gain * (feedback @ error) * rate_derivative(current, neuron)
    return {"encoders": -learning_rate * dt * np.outer(gain * delta, x), "biases": -learning_rate * dt * delta}


def fa_no_dt(x, current, error, feedback, gain, learning_rate, dt, neuron="relu"):
    # eta without dt  [dt varies]
    delta = (feedback @ error) * rate_derivative(current, neuron)
    return {"encoders": -learning_rate * np.outer(gain * delta, x), "biases": -learning_rate * delta}


def fa_divided_by_n(x, current, error, feedback, gain, learning_rate, dt, neuron="relu"):
    # PES's 1/N carried over to the encoders and biases  [N > 1]
    delta = (feedback @ error) * rate_derivative(current, neuron)
    step = learning_rate * dt / len(current)
    return {"encoders": -step * np.outer(gain * delta, x), "biases": -step * delta}


def fa_default_neuron(x, current, error, feedback, gain, learning_rate, dt, neuron="relu"):
    # rate_derivative(current): the neuron not passed on  [both neurons]
    delta = (feedback @ error) * rate_derivative(current)
    return {"encoders": -learning_rate * dt * np.outer(gain * delta, x), "biases": -learning_rate * dt * delta}


def fa_encoders_only(x, current, error, feedback, gain, learning_rate, dt, neuron="relu"):
    # returns the encoders' change alone, under both keys' names missing the biases  [biases learn]
    delta = (feedback @ error) * rate_derivative(current, neuron)
    return {"encoders": -learning_rate * dt * np.outer(gain * delta, x)}


def fa_in_place(x, current, error, feedback, gain, learning_rate, dt, neuron="relu"):
    # scales the gain in place  [inputs unchanged]
    delta = (feedback @ error) * rate_derivative(current, neuron)
    gain *= -learning_rate * dt
    return {"encoders": np.outer(gain * delta, x), "biases": -learning_rate * dt * delta}


# ======================================================================================================

CORRECT = {
    FILTER: [literal_filter_step, filter_weighted_average, filter_derivative, filter_copy_then_update,
             filter_float32, filter_jax],
    PES: [literal_pes_update, pes_broadcast, pes_matmul, pes_float32_einsum, pes_loops, pes_jax_grad],
    FA: [literal_fa_update, fa_loops, fa_einsum, fa_bias_first, fa_float32, fa_jax_grad],
}

WRONG = {
    FILTER: [
        (filter_exact_exponential, "exact exponential update instead of Euler"),
        (filter_exponential_decay_euler_input, "exact exponential update instead of Euler"),
        (filter_solution_from_zero, "the solution from y = 0"),
        (filter_backward_euler, "backward Euler"),
        (filter_rc_alpha, "backward Euler"),
        (filter_inverted, "tau/dt instead of dt/tau"),
        (filter_no_tau, "missing 1/tau"),
        (filter_no_dt, "missing dt"),
        (filter_wrong_sign, "wrong sign of (u - y)"),
        (filter_change_only, "the change instead of the new output"),
        (filter_precedence, "missing parentheses around (u - y)"),
        (filter_input_not_scaled, "input not scaled by dt/tau"),
        (filter_dt_in_ms, "dt in milliseconds"),
        (filter_in_place, None),
    ],
    PES: [
        (pes_not_divided_by_n, "not divided by N"),
        (pes_divided_by_outputs, "divided by the number of outputs C instead of N"),
        (pes_divided_by_both, "divided by N C"),
        (pes_times_n, "multiplied by N instead of divided"),
        (pes_no_dt, "missing dt"),
        (pes_no_dt_no_n, "missing dt and not divided by N"),
        (pes_ascent, "wrong sign"),
        (pes_transposed, "transposed"),
        (pes_no_learning_rate, "missing learning rate"),
        (pes_mean_activity, "the mean rate for every neuron"),
        (pes_normalised_by_total_rate, "divided by the total rate"),
        (pes_dt_over_n_swapped, "divided by dt"),
        (pes_normalised_by_squared_rates, "divided by |a|^2"),
        (pes_in_place, None),
    ],
    FA: [
        (fa_forum_sketch, "the forum sketch's update"),
        (fa_own_rate, "the neuron's own rate instead of the presynaptic input"),
        (fa_rate_for_derivative, "the rate instead of its derivative"),
        (fa_no_gain, "missing gain"),
        (fa_gain_in_bias, "gain in the bias change"),
        (fa_gain_twice, "gain counted twice"),
        (fa_relu_slope, "the derivative of the wrong curve"),
        (fa_default_neuron, "the derivative of the wrong curve"),
        (fa_unit_step_slope, "a unit step for G'"),
        (fa_derivative_at_rate, "derivative at the rate"),
        (fa_no_bias, "bias left out"),
        (fa_encoders_only, "bias left out"),
        (fa_wrong_sign, "wrong sign"),
        (fa_bias_sign, "wrong sign of the bias change"),
        (fa_transposed, "transposed"),
        (fa_no_dt, "missing dt"),
        (fa_divided_by_n, "divided by N"),
        (fa_in_place, None),
    ],
}
