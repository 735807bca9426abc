"""Tutorial 02 (the weight transport problem), answered as students answer it: from the notebook's text, the
stubs' docstrings and the helpers of the setup cell (``forward``, ``activation_derivative``,
``layer_gradients``), never from the references. Answers may call the student's own earlier answers: FA
built on the student's backprop, DFA on the student's own skeleton.

CORRECT: the equations in several styles (loops, einsum, column vectors, float32, jax.numpy, jax.grad of
the student's own surrogate loss), and one ``literal_<function>`` per exercise that follows the text's
equations symbol by symbol. WRONG: first what the text invites (e W2 read as "W2^T e" and written e @ W2.T,
B used as it is printed instead of B^T, "use B where backprop uses W^T" applied to the forward pass too,
DFA's error passed down the chain as in FA, KP's decay read as the usual L2 weight decay or applied to W2
alone, scipy's cosine, which is a distance), then sign, axis, transpose, mean-versus-sum and
derivative-at-the-wrong-place errors. A comment "[property: ...]" names the documented property that a
fixture kind separates (the properties are listed above each ``_xxx_hidden`` generator in
autograder/exercises/weight_transport.py).
"""
import jax
import jax.numpy as jnp
import numpy as np
import scipy.spatial.distance

from course_utils.mlp import activation_derivative, forward, layer_gradients

E = "weight_transport."
BP, FA, DFA, KP, COS = (E + n for n in ("backprop_gradients", "feedback_alignment", "direct_feedback_alignment",
                                        "kolen_pollack", "cosine_similarity"))


# --- the student's own helpers ------------------------------------------------------------------------

def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _act(z, activation):
    return _sigmoid(z) if activation == "sigmoid" else np.maximum(z, 0.0)


def _act_prime(z, activation):
    if activation == "sigmoid":
        s = _sigmoid(z)
        return s * (1 - s)
    return (z > 0).astype(float)


def _jax_act(z, activation):
    return jax.nn.sigmoid(z) if activation == "sigmoid" else jax.nn.relu(z)


# ======================================================================================================
# Exercise 1: backprop_gradients
# ======================================================================================================

def backprop_gradients(params, x, y, activation="sigmoid"):
    """The student's Exercise 1, with the handed forward (FA below reuses it)."""
    cache = forward(params, x, activation)
    x_in, h = cache["inputs"]
    e = (cache["y_hat"] - y) / x.shape[0]
    delta1 = (e @ params["W2"]) * activation_derivative(cache["z"][0], activation)
    return {"W1": delta1.T @ x_in, "b1": delta1.sum(axis=0), "W2": e.T @ h, "b2": e.sum(axis=0)}


def bp_own_forward(params, x, y, activation="sigmoid"):
    # the forward pass written out, sigma'(z) = h (1 - h) for the sigmoid
    z1 = x @ params["W1"].T + params["b1"]
    h = _act(z1, activation)
    y_hat = h @ params["W2"].T + params["b2"]
    N = x.shape[0]
    e = (y_hat - y) / N
    d = h * (1 - h) if activation == "sigmoid" else (z1 > 0) * 1.0
    delta1 = (e @ params["W2"]) * d
    return {"W1": delta1.T @ x, "b1": np.sum(delta1, axis=0), "W2": e.T @ h, "b2": np.sum(e, axis=0)}


def bp_loops(params, x, y, activation="sigmoid"):
    # one example at a time, W2^T e_n as the text writes it row by row
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    N = len(x)
    for n in range(N):
        z1 = params["W1"] @ x[n] + params["b1"]
        h = _act(z1, activation)
        y_hat = params["W2"] @ h + params["b2"]
        e = (y_hat - y[n]) / N
        delta1 = (params["W2"].T @ e) * _act_prime(z1, activation)
        grads["W2"] += np.outer(e, h)
        grads["b2"] += e
        grads["W1"] += np.outer(delta1, x[n])
        grads["b1"] += delta1
    return grads


def bp_einsum(params, x, y, activation="sigmoid"):
    cache = forward(params, x, activation)
    h = cache["inputs"][1]
    e = (cache["y_hat"] - y) / len(x)
    delta1 = np.einsum("nc,ch->nh", e, params["W2"]) * activation_derivative(cache["z"][0], activation)
    return {"W1": np.einsum("nh,nd->hd", delta1, x), "b1": np.einsum("nh->h", delta1),
            "W2": np.einsum("nc,nh->ch", e, h), "b2": np.einsum("nc->c", e)}


def bp_columns(params, x, y, activation="sigmoid"):
    # column vectors, as in a textbook: X is (D, N)
    X, Y = x.T, y.T
    Z1 = params["W1"] @ X + params["b1"][:, None]
    H = _act(Z1, activation)
    E_ = (params["W2"] @ H + params["b2"][:, None] - Y) / X.shape[1]
    D1 = (params["W2"].T @ E_) * _act_prime(Z1, activation)
    return {"W1": D1 @ X.T, "b1": D1.sum(axis=1), "W2": E_ @ H.T, "b2": E_.sum(axis=1)}


def bp_layer_gradients(params, x, y, activation="sigmoid"):
    cache = forward(params, x, activation)
    e = (cache["y_hat"] - y) / x.shape[0]
    grads = {}
    grads["W2"], grads["b2"] = layer_gradients(e, cache["inputs"][1])
    delta = e @ params["W2"] * activation_derivative(cache["z"][0], activation)
    grads["W1"], grads["b1"] = layer_gradients(delta, cache["inputs"][0])
    return grads


def bp_float32(params, x, y, activation="sigmoid"):
    p = {k: v.astype(np.float32) for k, v in params.items()}
    x, y = x.astype(np.float32), y.astype(np.float32)
    z1 = x @ p["W1"].T + p["b1"]
    h = _act(z1, activation).astype(np.float32)
    e = (h @ p["W2"].T + p["b2"] - y) / np.float32(len(x))
    delta1 = (e @ p["W2"]) * _act_prime(z1, activation).astype(np.float32)
    return {"W1": delta1.T @ x, "b1": delta1.sum(0), "W2": e.T @ h, "b2": e.sum(0)}


def _jax_loss(params, x, y, activation):
    h = _jax_act(x @ params["W1"].T + params["b1"][None, :], activation)
    y_hat = h @ params["W2"].T + params["b2"][None, :]
    return 0.5 * jnp.mean(jnp.sum((y_hat - y) ** 2, axis=1))


def bp_jax_grad(params, x, y, activation="sigmoid"):
    # jax.grad of the student's OWN loss L = 1/(2N) sum ||y_hat - y||^2 (float32, JAX's default)
    p = {k: jnp.asarray(v) for k, v in params.items()}
    return jax.grad(_jax_loss)(p, jnp.asarray(x), jnp.asarray(y), activation)


def bp_jax_by_hand(params, x, y, activation="sigmoid"):
    W1, b1, W2, b2 = (jnp.asarray(params[k]) for k in ("W1", "b1", "W2", "b2"))
    x, y = jnp.asarray(x), jnp.asarray(y)
    z1 = x @ W1.T + b1[None, :]
    h = _jax_act(z1, activation)
    e = (h @ W2.T + b2[None, :] - y) / x.shape[0]
    dact = jax.vmap(jax.vmap(jax.grad(lambda z: _jax_act(z, activation))))(z1)
    delta1 = (e @ W2) * dact
    return {"W1": delta1.T @ x, "b1": delta1.sum(0), "W2": e.T @ h, "b2": e.sum(0)}


def literal_backprop_gradients(params, x, y, activation="sigmoid"):
    # e = (y_hat - y)/N, dL/dW2 = e^T h, dL/db2 = sum_n e_n, delta1 = (e W2) * sigma'(z1),
    # dL/dW1 = delta1^T x, dL/db1 = sum_n delta1_n
    N = x.shape[0]
    cache = forward(params, x, activation)
    h, z1, y_hat = cache["inputs"][1], cache["z"][0], cache["y_hat"]
    e = (y_hat - y) / N
    dL_dW2 = e.T @ h
    dL_db2 = sum(e[n] for n in range(N))
    delta1 = (e @ params["W2"]) * activation_derivative(z1, activation)
    dL_dW1 = delta1.T @ x
    dL_db1 = sum(delta1[n] for n in range(N))
    return {"W1": dL_dW1, "b1": dL_db1, "W2": dL_dW2, "b2": dL_db2}


# --- wrong -----------------------------------------------------------------------------------------

def bp_transposed_W2(params, x, y, activation="sigmoid"):
    # [property: e goes back through W2^T, i.e. e @ W2] "W2^T e_n" written as e @ W2.T (runs where H == C)
    cache = forward(params, x, activation)
    e = (cache["y_hat"] - y) / len(x)
    delta1 = (e @ params["W2"].T) * activation_derivative(cache["z"][0], activation)
    return {"W1": delta1.T @ x, "b1": delta1.sum(0), "W2": e.T @ cache["inputs"][1], "b2": e.sum(0)}


def bp_no_derivative(params, x, y, activation="sigmoid"):
    # [property: act'(z1)] the hidden error without the derivative
    cache = forward(params, x, activation)
    e = (cache["y_hat"] - y) / len(x)
    delta1 = e @ params["W2"]
    return {"W1": delta1.T @ x, "b1": delta1.sum(0), "W2": e.T @ cache["inputs"][1], "b2": e.sum(0)}


def bp_derivative_at_h(params, x, y, activation="sigmoid"):
    # [property: act' at z (sigmoid)] activation_derivative of the activity h instead of z1
    cache = forward(params, x, activation)
    h = cache["inputs"][1]
    e = (cache["y_hat"] - y) / len(x)
    delta1 = (e @ params["W2"]) * activation_derivative(h, activation)
    return {"W1": delta1.T @ x, "b1": delta1.sum(0), "W2": e.T @ h, "b2": e.sum(0)}


def bp_sigmoid_formula_for_relu(params, x, y, activation="sigmoid"):
    # [property: the relu option] h (1 - h) as the derivative whatever the activation
    cache = forward(params, x, activation)
    h = cache["inputs"][1]
    e = (cache["y_hat"] - y) / len(x)
    delta1 = (e @ params["W2"]) * h * (1 - h)
    return {"W1": delta1.T @ x, "b1": delta1.sum(0), "W2": e.T @ h, "b2": e.sum(0)}


def bp_summed(params, x, y, activation="sigmoid"):
    # [property: the batch mean (N > 1)] e = y_hat - y
    cache = forward(params, x, activation)
    e = cache["y_hat"] - y
    delta1 = (e @ params["W2"]) * activation_derivative(cache["z"][0], activation)
    return {"W1": delta1.T @ x, "b1": delta1.sum(0), "W2": e.T @ cache["inputs"][1], "b2": e.sum(0)}


def bp_negated(params, x, y, activation="sigmoid"):
    # [property: the sign of dL/dtheta] the error as target minus output
    cache = forward(params, x, activation)
    e = (y - cache["y_hat"]) / len(x)
    delta1 = (e @ params["W2"]) * activation_derivative(cache["z"][0], activation)
    return {"W1": delta1.T @ x, "b1": delta1.sum(0), "W2": e.T @ cache["inputs"][1], "b2": e.sum(0)}


def bp_transposed_gradients(params, x, y, activation="sigmoid"):
    # [property: weights are (out, in)] input^T delta
    cache = forward(params, x, activation)
    e = (cache["y_hat"] - y) / len(x)
    delta1 = (e @ params["W2"]) * activation_derivative(cache["z"][0], activation)
    return {"W1": x.T @ delta1, "b1": delta1.sum(0), "W2": cache["inputs"][1].T @ e, "b2": e.sum(0)}


def bp_bias_not_averaged(params, x, y, activation="sigmoid"):
    # [property: the batch mean (N > 1)] weights divided by N at the end, the biases forgotten
    cache = forward(params, x, activation)
    e = cache["y_hat"] - y
    delta1 = (e @ params["W2"]) * activation_derivative(cache["z"][0], activation)
    N = len(x)
    return {"W1": delta1.T @ x / N, "b1": delta1.sum(0), "W2": e.T @ cache["inputs"][1] / N, "b2": e.sum(0)}


def bp_bias_mean_twice(params, x, y, activation="sigmoid"):
    # [property: the batch mean (N > 1)] db = mean of the already averaged error
    cache = forward(params, x, activation)
    e = (cache["y_hat"] - y) / len(x)
    delta1 = (e @ params["W2"]) * activation_derivative(cache["z"][0], activation)
    return {"W1": delta1.T @ x, "b1": delta1.mean(0), "W2": e.T @ cache["inputs"][1], "b2": e.mean(0)}


def bp_without_half(params, x, y, activation="sigmoid"):
    # the derivative of ||y_hat - y||^2 without the 1/2 of the loss
    cache = forward(params, x, activation)
    e = 2 * (cache["y_hat"] - y) / len(x)
    delta1 = (e @ params["W2"]) * activation_derivative(cache["z"][0], activation)
    return {"W1": delta1.T @ x, "b1": delta1.sum(0), "W2": e.T @ cache["inputs"][1], "b2": e.sum(0)}


def bp_sigmoid_output(params, x, y, activation="sigmoid"):
    # [property: the read-out is linear] a sigmoid on the output too, and its derivative in e
    z1 = x @ params["W1"].T + params["b1"]
    h = _act(z1, activation)
    out = _sigmoid(h @ params["W2"].T + params["b2"])
    e = (out - y) * out * (1 - out) / len(x)
    delta1 = (e @ params["W2"]) * _act_prime(z1, activation)
    return {"W1": delta1.T @ x, "b1": delta1.sum(0), "W2": e.T @ h, "b2": e.sum(0)}


def bp_preactivation_input(params, x, y, activation="sigmoid"):
    # [property: the output layer's input is h = act(z1)] dW2 = e^T z1
    cache = forward(params, x, activation)
    e = (cache["y_hat"] - y) / len(x)
    delta1 = (e @ params["W2"]) * activation_derivative(cache["z"][0], activation)
    return {"W1": delta1.T @ x, "b1": delta1.sum(0), "W2": e.T @ cache["z"][0], "b2": e.sum(0)}


def bp_activation_not_passed(params, x, y, activation="sigmoid"):
    # [property: the relu option] forward(params, x) with its default (sigmoid), the derivative with activation
    cache = forward(params, x)
    e = (cache["y_hat"] - y) / len(x)
    delta1 = (e @ params["W2"]) * activation_derivative(cache["z"][0], activation)
    return {"W1": delta1.T @ x, "b1": delta1.sum(0), "W2": e.T @ cache["inputs"][1], "b2": e.sum(0)}


def bp_sigmoid_everywhere(params, x, y, activation="sigmoid"):
    # [property: the relu option] the activation argument ignored
    cache = forward(params, x, "sigmoid")
    e = (cache["y_hat"] - y) / len(x)
    delta1 = (e @ params["W2"]) * activation_derivative(cache["z"][0], "sigmoid")
    return {"W1": delta1.T @ x, "b1": delta1.sum(0), "W2": e.T @ cache["inputs"][1], "b2": e.sum(0)}


def bp_relu_activity_above_one(params, x, y, activation="sigmoid"):
    # [property: relu'(z) = 1 where z > 0] a published tutorial's ReLU derivative, (h > 1)
    cache = forward(params, x, activation)
    h = cache["inputs"][1]
    e = (cache["y_hat"] - y) / len(x)
    d = (h > 1).astype(float) if activation == "relu" else activation_derivative(cache["z"][0], activation)
    delta1 = (e @ params["W2"]) * d
    return {"W1": delta1.T @ x, "b1": delta1.sum(0), "W2": e.T @ h, "b2": e.sum(0)}


def bp_bias_wrong_axis(params, x, y, activation="sigmoid"):
    # [property: biases sum over the batch, axis 0] one number per example instead of per unit
    cache = forward(params, x, activation)
    e = (cache["y_hat"] - y) / len(x)
    delta1 = (e @ params["W2"]) * activation_derivative(cache["z"][0], activation)
    return {"W1": delta1.T @ x, "b1": delta1.sum(1), "W2": e.T @ cache["inputs"][1], "b2": e.sum(1)}


def bp_squeezed(params, x, y, activation="sigmoid"):
    # [property: a batch of one; one output] singleton dimensions dropped "to be safe" (np.squeeze)
    cache = forward(params, x, activation)
    h, y_hat = np.squeeze(cache["inputs"][1]), np.squeeze(cache["y_hat"])
    e = (y_hat - np.squeeze(y)) / len(x)
    delta1 = (e @ params["W2"]) * np.squeeze(activation_derivative(cache["z"][0], activation))
    return {"W1": delta1.T @ x, "b1": delta1.sum(0), "W2": e.T @ h, "b2": e.sum(0)}


def bp_in_place(params, x, y, activation="sigmoid"):
    # [property: the inputs are not modified] y reused as the error's buffer
    cache = forward(params, x, activation)
    y -= cache["y_hat"]
    y *= -1.0 / len(x)
    e = y
    delta1 = (e @ params["W2"]) * activation_derivative(cache["z"][0], activation)
    return {"W1": delta1.T @ x, "b1": delta1.sum(0), "W2": e.T @ cache["inputs"][1], "b2": e.sum(0)}


# ======================================================================================================
# Exercise 2: feedback_alignment (two layers; B1 (H, C) shaped like W2^T)
# ======================================================================================================

def fa_forward(params, feedback, x, y, activation="sigmoid"):
    cache = forward(params, x, activation)
    x_in, h = cache["inputs"]
    e = (cache["y_hat"] - y) / len(x)
    delta1 = (e @ feedback["B1"].T) * activation_derivative(cache["z"][0], activation)
    return {"W1": delta1.T @ x_in, "b1": delta1.sum(axis=0), "W2": e.T @ h, "b2": e.sum(axis=0)}


def fa_from_own_backprop(params, feedback, x, y, activation="sigmoid"):
    # "everything else is backprop": the output layer from the student's Exercise 1, the hidden one redone
    grads = backprop_gradients(params, x, y, activation)
    cache = forward(params, x, activation)
    e = (cache["y_hat"] - y) / len(x)
    delta1 = (e @ feedback["B1"].T) * activation_derivative(cache["z"][0], activation)
    grads["W1"], grads["b1"] = layer_gradients(delta1, x)
    return grads


def _own_rule(params, x, y, activation, send_back):
    """The student's own skeleton for every rule: send_back(l, delta, e) gives the error entering layer l - 1."""
    cache = forward(params, x, activation)
    L = len(cache["z"])
    e = (cache["y_hat"] - y) / len(x)
    grads, delta = {}, e
    for l in range(L, 0, -1):
        grads[f"W{l}"], grads[f"b{l}"] = layer_gradients(delta, cache["inputs"][l - 1])
        if l > 1:
            delta = send_back(l, delta, e) * activation_derivative(cache["z"][l - 2], activation)
    return grads


def fa_skeleton(params, feedback, x, y, activation="sigmoid"):
    return _own_rule(params, x, y, activation, lambda l, d, e: d @ feedback[f"B{l - 1}"].T)


def fa_loops(params, feedback, x, y, activation="sigmoid"):
    B = feedback["B1"]
    grads = {k: np.zeros(v.shape) for k, v in params.items()}
    for n in range(len(x)):
        z1 = params["W1"] @ x[n] + params["b1"]
        h = _act(z1, activation)
        e = (params["W2"] @ h + params["b2"] - y[n]) / len(x)
        delta1 = (B @ e) * _act_prime(z1, activation)
        grads["W2"] += np.outer(e, h)
        grads["b2"] += e
        grads["W1"] += np.outer(delta1, x[n])
        grads["b1"] += delta1
    return grads


def fa_columns(params, feedback, x, y, activation="sigmoid"):
    # column style: delta1 = (B1 e) * sigma'(z1), (H, N)
    Z1 = params["W1"] @ x.T + params["b1"][:, None]
    H = _act(Z1, activation)
    E_ = (params["W2"] @ H + params["b2"][:, None] - y.T) / x.shape[0]
    D1 = (feedback["B1"] @ E_) * _act_prime(Z1, activation)
    return {"W1": D1 @ x, "b1": D1.sum(1), "W2": E_ @ H.T, "b2": E_.sum(1)}


def fa_einsum(params, feedback, x, y, activation="sigmoid"):
    cache = forward(params, x, activation)
    e = (cache["y_hat"] - y) / x.shape[0]
    delta1 = np.einsum("nc,hc->nh", e, feedback["B1"]) * activation_derivative(cache["z"][0], activation)
    return {"W1": np.einsum("nh,nd->hd", delta1, x), "b1": delta1.sum(0),
            "W2": np.einsum("nc,nh->ch", e, cache["inputs"][1]), "b2": e.sum(0)}


def fa_float32(params, feedback, x, y, activation="sigmoid"):
    f = np.float32
    p = {k: v.astype(f) for k, v in params.items()}
    B, x, y = feedback["B1"].astype(f), x.astype(f), y.astype(f)
    z1 = x @ p["W1"].T + p["b1"]
    h = _act(z1, activation).astype(f)
    e = (h @ p["W2"].T + p["b2"] - y) / f(len(x))
    delta1 = (e @ B.T) * _act_prime(z1, activation).astype(f)
    return {"W1": delta1.T @ x, "b1": delta1.sum(0), "W2": e.T @ h, "b2": e.sum(0)}


def fa_jax_by_hand(params, feedback, x, y, activation="sigmoid"):
    p = {k: jnp.asarray(v) for k, v in params.items()}
    B, x, y = jnp.asarray(feedback["B1"]), jnp.asarray(x), jnp.asarray(y)
    z1 = x @ p["W1"].T + p["b1"][None, :]
    h = _jax_act(z1, activation)
    e = (h @ p["W2"].T + p["b2"][None, :] - y) / x.shape[0]
    d = h * (1 - h) if activation == "sigmoid" else (z1 > 0).astype(h.dtype)
    delta1 = (e @ B.T) * d
    return {"W1": delta1.T @ x, "b1": delta1.sum(0), "W2": e.T @ h, "b2": e.sum(0)}


def fa_jax_grad(params, feedback, x, y, activation="sigmoid"):
    # jax.grad of the student's own surrogate: the forward value uses W2, but y_hat's derivative with
    # respect to h is B1^T, so the hidden layer receives e @ B1.T (a straight-through trick)
    B = jnp.asarray(feedback["B1"])
    x, y = jnp.asarray(x), jnp.asarray(y)

    def surrogate(p):
        h = _jax_act(x @ p["W1"].T + p["b1"][None, :], activation)
        through_B = h @ B
        y_hat = jax.lax.stop_gradient(h) @ p["W2"].T + p["b2"][None, :] + through_B - jax.lax.stop_gradient(through_B)
        return 0.5 * jnp.mean(jnp.sum((y_hat - y) ** 2, axis=1))
    return jax.grad(surrogate)({k: jnp.asarray(v) for k, v in params.items()})


def literal_feedback_alignment_gradients(params, feedback, x, y, activation="sigmoid"):
    # backprop of Section 1 with delta1 = (e B1^T) * sigma'(z1)
    N = x.shape[0]
    cache = forward(params, x, activation)
    h, z1, y_hat = cache["inputs"][1], cache["z"][0], cache["y_hat"]
    e = (y_hat - y) / N
    delta1 = (e @ feedback["B1"].T) * activation_derivative(z1, activation)
    return {"W1": delta1.T @ x, "b1": sum(delta1[n] for n in range(N)),
            "W2": e.T @ h, "b2": sum(e[n] for n in range(N))}


# --- wrong -----------------------------------------------------------------------------------------

def fa_backprop(params, feedback, x, y, activation="sigmoid"):
    # [property: B1 is used] the student's backprop handed in again
    return backprop_gradients(params, x, y, activation)


def fa_B_not_transposed(params, feedback, x, y, activation="sigmoid"):
    # [property: B1 is (H, C), used as e @ B1.T] "B where backprop has W2": e @ B1 (runs where H == C)
    cache = forward(params, x, activation)
    e = (cache["y_hat"] - y) / len(x)
    delta1 = (e @ feedback["B1"]) * activation_derivative(cache["z"][0], activation)
    return {"W1": delta1.T @ x, "b1": delta1.sum(0), "W2": e.T @ cache["inputs"][1], "b2": e.sum(0)}


def fa_B_in_forward(params, feedback, x, y, activation="sigmoid"):
    # [property: B only on the way back] the student's backprop with W2 replaced by B1^T everywhere
    return backprop_gradients({**params, "W2": feedback["B1"].T}, x, y, activation)


def fa_no_derivative(params, feedback, x, y, activation="sigmoid"):
    # [property: act'(z1)]
    cache = forward(params, x, activation)
    e = (cache["y_hat"] - y) / len(x)
    delta1 = e @ feedback["B1"].T
    return {"W1": delta1.T @ x, "b1": delta1.sum(0), "W2": e.T @ cache["inputs"][1], "b2": e.sum(0)}


def fa_derivative_at_h(params, feedback, x, y, activation="sigmoid"):
    # [property: act' at z (sigmoid)]
    cache = forward(params, x, activation)
    h = cache["inputs"][1]
    e = (cache["y_hat"] - y) / len(x)
    delta1 = (e @ feedback["B1"].T) * activation_derivative(h, activation)
    return {"W1": delta1.T @ x, "b1": delta1.sum(0), "W2": e.T @ h, "b2": e.sum(0)}


def fa_summed(params, feedback, x, y, activation="sigmoid"):
    # [property: the batch mean (N > 1)]
    cache = forward(params, x, activation)
    e = cache["y_hat"] - y
    delta1 = (e @ feedback["B1"].T) * activation_derivative(cache["z"][0], activation)
    return {"W1": delta1.T @ x, "b1": delta1.sum(0), "W2": e.T @ cache["inputs"][1], "b2": e.sum(0)}


def fa_hidden_summed(params, feedback, x, y, activation="sigmoid"):
    # [property: the batch mean (N > 1)] the output layer averaged at the end, the hidden layer forgotten
    cache = forward(params, x, activation)
    e = cache["y_hat"] - y
    delta1 = (e @ feedback["B1"].T) * activation_derivative(cache["z"][0], activation)
    N = len(x)
    return {"W1": delta1.T @ x, "b1": delta1.sum(0), "W2": e.T @ cache["inputs"][1] / N, "b2": e.sum(0) / N}


def fa_negated(params, feedback, x, y, activation="sigmoid"):
    # [property: the sign]
    cache = forward(params, x, activation)
    e = (y - cache["y_hat"]) / len(x)
    delta1 = (e @ feedback["B1"].T) * activation_derivative(cache["z"][0], activation)
    return {"W1": delta1.T @ x, "b1": delta1.sum(0), "W2": e.T @ cache["inputs"][1], "b2": e.sum(0)}


def fa_transposed_gradients(params, feedback, x, y, activation="sigmoid"):
    # [property: weights are (out, in)]
    cache = forward(params, x, activation)
    e = (cache["y_hat"] - y) / len(x)
    delta1 = (e @ feedback["B1"].T) * activation_derivative(cache["z"][0], activation)
    return {"W1": x.T @ delta1, "b1": delta1.sum(0), "W2": cache["inputs"][1].T @ e, "b2": e.sum(0)}


def fa_sigmoid_formula_for_relu(params, feedback, x, y, activation="sigmoid"):
    # [property: the relu option]
    cache = forward(params, x, activation)
    h = cache["inputs"][1]
    e = (cache["y_hat"] - y) / len(x)
    delta1 = (e @ feedback["B1"].T) * h * (1 - h)
    return {"W1": delta1.T @ x, "b1": delta1.sum(0), "W2": e.T @ h, "b2": e.sum(0)}


def fa_activation_not_passed(params, feedback, x, y, activation="sigmoid"):
    # [property: the relu option] forward with its default activation
    cache = forward(params, x)
    e = (cache["y_hat"] - y) / len(x)
    delta1 = (e @ feedback["B1"].T) * activation_derivative(cache["z"][0], activation)
    return {"W1": delta1.T @ x, "b1": delta1.sum(0), "W2": e.T @ cache["inputs"][1], "b2": e.sum(0)}


def fa_without_half(params, feedback, x, y, activation="sigmoid"):
    cache = forward(params, x, activation)
    e = 2 * (cache["y_hat"] - y) / len(x)
    delta1 = (e @ feedback["B1"].T) * activation_derivative(cache["z"][0], activation)
    return {"W1": delta1.T @ x, "b1": delta1.sum(0), "W2": e.T @ cache["inputs"][1], "b2": e.sum(0)}


def fa_relu_activity_above_one(params, feedback, x, y, activation="sigmoid"):
    # [property: relu'(z) = 1 where z > 0]
    cache = forward(params, x, activation)
    h = cache["inputs"][1]
    e = (cache["y_hat"] - y) / len(x)
    d = (h > 1).astype(float) if activation == "relu" else activation_derivative(cache["z"][0], activation)
    delta1 = (e @ feedback["B1"].T) * d
    return {"W1": delta1.T @ x, "b1": delta1.sum(0), "W2": e.T @ h, "b2": e.sum(0)}


def fa_preactivation_input(params, feedback, x, y, activation="sigmoid"):
    # [property: the output layer's input is h = act(z1)]
    cache = forward(params, x, activation)
    e = (cache["y_hat"] - y) / len(x)
    delta1 = (e @ feedback["B1"].T) * activation_derivative(cache["z"][0], activation)
    return {"W1": delta1.T @ x, "b1": delta1.sum(0), "W2": e.T @ cache["z"][0], "b2": e.sum(0)}


def fa_bias_wrong_axis(params, feedback, x, y, activation="sigmoid"):
    # [property: biases sum over the batch, axis 0]
    cache = forward(params, x, activation)
    e = (cache["y_hat"] - y) / len(x)
    delta1 = (e @ feedback["B1"].T) * activation_derivative(cache["z"][0], activation)
    return {"W1": delta1.T @ x, "b1": delta1.sum(1), "W2": e.T @ cache["inputs"][1], "b2": e.sum(1)}


def fa_own_random_feedback(params, feedback, x, y, activation="sigmoid"):
    # "a fixed random matrix": the student draws their own instead of using the one given
    B = np.random.default_rng(0).standard_normal(feedback["B1"].shape)
    return fa_forward(params, {"B1": B}, x, y, activation)


def fa_feedback_transposed_in_dict(params, feedback, x, y, activation="sigmoid"):
    # [property: the inputs are not modified] B1 "turned into W2's shape" inside the caller's dict
    feedback["B1"] = feedback["B1"].T
    cache = forward(params, x, activation)
    e = (cache["y_hat"] - y) / len(x)
    delta1 = (e @ feedback["B1"]) * activation_derivative(cache["z"][0], activation)
    return {"W1": delta1.T @ x, "b1": delta1.sum(0), "W2": e.T @ cache["inputs"][1], "b2": e.sum(0)}


# ======================================================================================================
# Exercise 5: direct_feedback_alignment (L >= 3 layers; B_l (H_l, C))
# ======================================================================================================

def dfa_forward(params, feedback, x, y, activation="sigmoid"):
    cache = forward(params, x, activation)
    L = len(cache["z"])
    e = (cache["y_hat"] - y) / len(x)
    grads = {}
    grads[f"W{L}"], grads[f"b{L}"] = layer_gradients(e, cache["inputs"][L - 1])
    for l in range(1, L):
        delta = (e @ feedback[f"B{l}"].T) * activation_derivative(cache["z"][l - 1], activation)
        grads[f"W{l}"], grads[f"b{l}"] = layer_gradients(delta, cache["inputs"][l - 1])
    return grads


def dfa_skeleton(params, feedback, x, y, activation="sigmoid"):
    # the student's own skeleton of FA, with the error taken from e instead of from the layer above
    return _own_rule(params, x, y, activation, lambda l, d, e: e @ feedback[f"B{l - 1}"].T)


def dfa_own_forward(params, feedback, x, y, activation="sigmoid"):
    L = len(params) // 2
    hs, zs = [x], []
    for l in range(1, L + 1):
        z = hs[-1] @ params[f"W{l}"].T + params[f"b{l}"]
        zs.append(z)
        hs.append(_act(z, activation) if l < L else z)
    e = (hs[-1] - y) / x.shape[0]
    grads = {f"W{L}": e.T @ hs[L - 1], f"b{L}": e.sum(0)}
    for l in range(1, L):
        delta = (e @ feedback[f"B{l}"].T) * _act_prime(zs[l - 1], activation)
        grads[f"W{l}"] = delta.T @ hs[l - 1]
        grads[f"b{l}"] = delta.sum(0)
    return grads


def dfa_einsum(params, feedback, x, y, activation="sigmoid"):
    cache = forward(params, x, activation)
    L = len(cache["z"])
    e = (cache["y_hat"] - y) / x.shape[0]
    grads = {f"W{L}": np.einsum("nc,nh->ch", e, cache["inputs"][-1]), f"b{L}": np.einsum("nc->c", e)}
    for l in range(1, L):
        delta = np.einsum("nc,hc->nh", e, feedback[f"B{l}"]) * activation_derivative(cache["z"][l - 1], activation)
        grads[f"W{l}"] = np.einsum("nh,nd->hd", delta, cache["inputs"][l - 1])
        grads[f"b{l}"] = np.einsum("nh->h", delta)
    return grads


def dfa_loops(params, feedback, x, y, activation="sigmoid"):
    L = len(params) // 2
    grads = {k: np.zeros(v.shape) for k, v in params.items()}
    for n in range(len(x)):
        hs, zs = [x[n]], []
        for l in range(1, L + 1):
            z = params[f"W{l}"] @ hs[-1] + params[f"b{l}"]
            zs.append(z)
            hs.append(_act(z, activation) if l < L else z)
        e = (hs[-1] - y[n]) / len(x)
        grads[f"W{L}"] += np.outer(e, hs[L - 1])
        grads[f"b{L}"] += e
        for l in range(1, L):
            delta = (feedback[f"B{l}"] @ e) * _act_prime(zs[l - 1], activation)
            grads[f"W{l}"] += np.outer(delta, hs[l - 1])
            grads[f"b{l}"] += delta
    return grads


def dfa_float32(params, feedback, x, y, activation="sigmoid"):
    f = np.float32
    p = {k: v.astype(f) for k, v in params.items()}
    B = {k: v.astype(f) for k, v in feedback.items()}
    cache = forward(p, x.astype(f), activation)
    L = len(cache["z"])
    e = (cache["y_hat"] - y.astype(f)) / f(len(x))
    grads = {f"W{L}": e.T @ cache["inputs"][L - 1], f"b{L}": e.sum(0)}
    for l in range(1, L):
        delta = (e @ B[f"B{l}"].T) * activation_derivative(cache["z"][l - 1], activation).astype(f)
        grads[f"W{l}"], grads[f"b{l}"] = delta.T @ cache["inputs"][l - 1], delta.sum(0)
    return grads


def dfa_jax_grad(params, feedback, x, y, activation="sigmoid"):
    # jax.grad of the student's own surrogate: every layer sees its input through stop_gradient, the output
    # layer is pulled by e, each hidden layer by the fixed signal e @ B_l.T on its activity
    x, y = jnp.asarray(x), jnp.asarray(y)
    L = len(params) // 2
    sg = jax.lax.stop_gradient

    def surrogate(p):
        h, hidden = x, []
        for l in range(1, L + 1):
            z = sg(h) @ p[f"W{l}"].T + p[f"b{l}"][None, :]
            h = _jax_act(z, activation) if l < L else z
            hidden.append(h)
        e = sg((h - y) / x.shape[0])
        total = jnp.sum(e * h)
        for l in range(1, L):
            total = total + jnp.sum(sg(e @ jnp.asarray(feedback[f"B{l}"]).T) * hidden[l - 1])
        return total
    return jax.grad(surrogate)({k: jnp.asarray(v) for k, v in params.items()})


def literal_direct_feedback_alignment_gradients(params, feedback, x, y, activation="sigmoid"):
    # output layer as in backprop; for every hidden layer l: delta_l = (e B_l^T) * sigma'(z_l),
    # dL/dW_l = delta_l^T h_{l-1}, dL/db_l = sum_n delta_l
    N = x.shape[0]
    cache = forward(params, x, activation)
    h, z = cache["inputs"], cache["z"]          # h[0] = x, h[l] = h_l; z[l - 1] = z_l
    L = len(z)
    e = (cache["y_hat"] - y) / N
    grads = {f"W{L}": e.T @ h[L - 1], f"b{L}": sum(e[n] for n in range(N))}
    for l in range(1, L):
        delta_l = (e @ feedback[f"B{l}"].T) * activation_derivative(z[l - 1], activation)
        grads[f"W{l}"] = delta_l.T @ h[l - 1]
        grads[f"b{l}"] = sum(delta_l[n] for n in range(N))
    return grads


# --- wrong -----------------------------------------------------------------------------------------

def dfa_chain_with_B(params, feedback, x, y, activation="sigmoid"):
    # [property: every hidden layer gets e directly] FA's chain (runs where every H_{l+1} == C)
    return _own_rule(params, x, y, activation, lambda l, d, e: d @ feedback[f"B{l - 1}"].T)


def dfa_backprop(params, feedback, x, y, activation="sigmoid"):
    # [property: B is used] backprop through the forward weights
    return _own_rule(params, x, y, activation, lambda l, d, e: d @ params[f"W{l}"])


def dfa_B_not_transposed(params, feedback, x, y, activation="sigmoid"):
    # [property: B_l is (H_l, C), used as e @ B_l.T] runs where H_l == C
    return _own_rule(params, x, y, activation, lambda l, d, e: e @ feedback[f"B{l - 1}"])


def dfa_no_derivative(params, feedback, x, y, activation="sigmoid"):
    # [property: act'(z_l)]
    cache = forward(params, x, activation)
    L = len(cache["z"])
    e = (cache["y_hat"] - y) / len(x)
    grads = {f"W{L}": e.T @ cache["inputs"][L - 1], f"b{L}": e.sum(0)}
    for l in range(1, L):
        delta = e @ feedback[f"B{l}"].T
        grads[f"W{l}"], grads[f"b{l}"] = delta.T @ cache["inputs"][l - 1], delta.sum(0)
    return grads


def dfa_derivative_at_h(params, feedback, x, y, activation="sigmoid"):
    # [property: act' at z_l (sigmoid)]
    cache = forward(params, x, activation)
    L = len(cache["z"])
    e = (cache["y_hat"] - y) / len(x)
    grads = {f"W{L}": e.T @ cache["inputs"][L - 1], f"b{L}": e.sum(0)}
    for l in range(1, L):
        delta = (e @ feedback[f"B{l}"].T) * activation_derivative(cache["inputs"][l], activation)
        grads[f"W{l}"], grads[f"b{l}"] = delta.T @ cache["inputs"][l - 1], delta.sum(0)
    return grads


def dfa_summed(params, feedback, x, y, activation="sigmoid"):
    # [property: the batch mean (N > 1)]
    cache = forward(params, x, activation)
    L = len(cache["z"])
    e = cache["y_hat"] - y
    grads = {f"W{L}": e.T @ cache["inputs"][L - 1], f"b{L}": e.sum(0)}
    for l in range(1, L):
        delta = (e @ feedback[f"B{l}"].T) * activation_derivative(cache["z"][l - 1], activation)
        grads[f"W{l}"], grads[f"b{l}"] = delta.T @ cache["inputs"][l - 1], delta.sum(0)
    return grads


def dfa_hidden_summed(params, feedback, x, y, activation="sigmoid"):
    # [property: the batch mean (N > 1)] only the output layer divided by N
    cache = forward(params, x, activation)
    L = len(cache["z"])
    e = cache["y_hat"] - y
    N = len(x)
    grads = {f"W{L}": e.T @ cache["inputs"][L - 1] / N, f"b{L}": e.sum(0) / N}
    for l in range(1, L):
        delta = (e @ feedback[f"B{l}"].T) * activation_derivative(cache["z"][l - 1], activation)
        grads[f"W{l}"], grads[f"b{l}"] = delta.T @ cache["inputs"][l - 1], delta.sum(0)
    return grads


def dfa_negated(params, feedback, x, y, activation="sigmoid"):
    # [property: the sign]
    return {k: -v for k, v in dfa_forward(params, feedback, x, y, activation).items()}


def dfa_wrong_z_index(params, feedback, x, y, activation="sigmoid"):
    # [property: act' of the layer's own z_l (square layers)] cache["z"][l] is the layer above
    cache = forward(params, x, activation)
    L = len(cache["z"])
    e = (cache["y_hat"] - y) / len(x)
    grads = {f"W{L}": e.T @ cache["inputs"][L - 1], f"b{L}": e.sum(0)}
    for l in range(1, L):
        delta = (e @ feedback[f"B{l}"].T) * activation_derivative(cache["z"][l], activation)
        grads[f"W{l}"], grads[f"b{l}"] = delta.T @ cache["inputs"][l - 1], delta.sum(0)
    return grads


def dfa_wrong_input_index(params, feedback, x, y, activation="sigmoid"):
    # [property: dL/dW_l = delta_l^T h_{l-1} (square layers)] the layer's own output as its input
    cache = forward(params, x, activation)
    L = len(cache["z"])
    e = (cache["y_hat"] - y) / len(x)
    grads = {f"W{L}": e.T @ cache["inputs"][L - 1], f"b{L}": e.sum(0)}
    for l in range(1, L):
        delta = (e @ feedback[f"B{l}"].T) * activation_derivative(cache["z"][l - 1], activation)
        grads[f"W{l}"], grads[f"b{l}"] = delta.T @ cache["inputs"][l], delta.sum(0)
    return grads


def dfa_one_B_for_all(params, feedback, x, y, activation="sigmoid"):
    # [property: each layer its own B_l (equal widths)] B1 sent to every hidden layer
    cache = forward(params, x, activation)
    L = len(cache["z"])
    e = (cache["y_hat"] - y) / len(x)
    grads = {f"W{L}": e.T @ cache["inputs"][L - 1], f"b{L}": e.sum(0)}
    for l in range(1, L):
        delta = (e @ feedback["B1"].T) * activation_derivative(cache["z"][l - 1], activation)
        grads[f"W{l}"], grads[f"b{l}"] = delta.T @ cache["inputs"][l - 1], delta.sum(0)
    return grads


def dfa_sigmoid_formula_for_relu(params, feedback, x, y, activation="sigmoid"):
    # [property: the relu option]
    cache = forward(params, x, activation)
    L = len(cache["z"])
    e = (cache["y_hat"] - y) / len(x)
    grads = {f"W{L}": e.T @ cache["inputs"][L - 1], f"b{L}": e.sum(0)}
    for l in range(1, L):
        h = cache["inputs"][l]
        delta = (e @ feedback[f"B{l}"].T) * h * (1 - h)
        grads[f"W{l}"], grads[f"b{l}"] = delta.T @ cache["inputs"][l - 1], delta.sum(0)
    return grads


def dfa_activation_not_passed(params, feedback, x, y, activation="sigmoid"):
    # [property: the relu option]
    cache = forward(params, x)
    L = len(cache["z"])
    e = (cache["y_hat"] - y) / len(x)
    grads = {f"W{L}": e.T @ cache["inputs"][L - 1], f"b{L}": e.sum(0)}
    for l in range(1, L):
        delta = (e @ feedback[f"B{l}"].T) * activation_derivative(cache["z"][l - 1], activation)
        grads[f"W{l}"], grads[f"b{l}"] = delta.T @ cache["inputs"][l - 1], delta.sum(0)
    return grads


def dfa_transposed_gradients(params, feedback, x, y, activation="sigmoid"):
    # [property: weights are (out, in)]
    return {k: v.T for k, v in dfa_forward(params, feedback, x, y, activation).items()}


def dfa_relu_activity_above_one(params, feedback, x, y, activation="sigmoid"):
    # [property: relu'(z) = 1 where z > 0]
    cache = forward(params, x, activation)
    L = len(cache["z"])
    e = (cache["y_hat"] - y) / len(x)
    grads = {f"W{L}": e.T @ cache["inputs"][L - 1], f"b{L}": e.sum(0)}
    for l in range(1, L):
        d = ((cache["inputs"][l] > 1).astype(float) if activation == "relu"
             else activation_derivative(cache["z"][l - 1], activation))
        delta = (e @ feedback[f"B{l}"].T) * d
        grads[f"W{l}"], grads[f"b{l}"] = delta.T @ cache["inputs"][l - 1], delta.sum(0)
    return grads


def dfa_without_half(params, feedback, x, y, activation="sigmoid"):
    return {k: 2 * v for k, v in dfa_forward(params, feedback, x, y, activation).items()}


def dfa_two_hidden_layers_hard_coded(params, feedback, x, y, activation="sigmoid"):
    # [property: any depth (three hidden layers)] the exercise's first network, W1..W3, written out
    cache = forward(params, x, activation)
    (x_in, h1, h2), (z1, z2) = cache["inputs"][:3], cache["z"][:2]
    e = (cache["y_hat"] - y) / len(x)
    d1 = (e @ feedback["B1"].T) * activation_derivative(z1, activation)
    d2 = (e @ feedback["B2"].T) * activation_derivative(z2, activation)
    return {"W1": d1.T @ x_in, "b1": d1.sum(0), "W2": d2.T @ h1, "b2": d2.sum(0), "W3": e.T @ h2, "b3": e.sum(0)}


def dfa_missing_key(params, feedback, x, y, activation="sigmoid"):
    # an off-by-one loop: the last hidden layer left out of the result
    grads = dfa_forward(params, feedback, x, y, activation)
    L = len(params) // 2
    return {k: v for k, v in grads.items() if k not in (f"W{L - 1}", f"b{L - 1}")}


# ======================================================================================================
# Exercise 4: kolen_pollack (any depth; B_l shaped like W_{l+1}^T)
# ======================================================================================================

def kolen_pollack_update(params, feedback, grads, learning_rate, decay):
    new_params = {}
    for name, value in params.items():
        keep = (1 - decay) if name.startswith("W") else 1.0
        new_params[name] = keep * value - learning_rate * grads[name]
    new_feedback = {name: (1 - decay) * B - learning_rate * grads[f"W{int(name[1:]) + 1}"].T
                    for name, B in feedback.items()}
    return new_params, new_feedback


def kp_comprehensions(params, feedback, grads, learning_rate, decay):
    lam, eta = decay, learning_rate
    W = {k: (1 - lam) * v - eta * grads[k] for k, v in params.items() if k[0] == "W"}
    b = {k: v - eta * grads[k] for k, v in params.items() if k[0] == "b"}
    B = {f"B{l}": (1 - lam) * feedback[f"B{l}"] - eta * grads[f"W{l + 1}"].T for l in range(1, len(feedback) + 1)}
    return {**W, **b}, B


def kp_two_steps(params, feedback, grads, learning_rate, decay):
    # decay first, then the step
    new_params = {k: v.copy() for k, v in params.items()}
    new_feedback = {k: v.copy() for k, v in feedback.items()}
    for k in new_params:
        if k.startswith("W"):
            new_params[k] *= 1 - decay
        new_params[k] -= learning_rate * grads[k]
    for k in new_feedback:
        l = int(k[1:])
        new_feedback[k] = new_feedback[k] * (1 - decay)
        new_feedback[k] -= learning_rate * np.transpose(grads[f"W{l + 1}"])
    return new_params, new_feedback


def kp_float32(params, feedback, grads, learning_rate, decay):
    f = np.float32
    keep, eta = f(1 - decay), f(learning_rate)
    new_params = {k: (keep if k[0] == "W" else f(1)) * v.astype(f) - eta * grads[k].astype(f) for k, v in params.items()}
    new_feedback = {k: keep * v.astype(f) - eta * grads["W" + str(int(k[1:]) + 1)].T.astype(f) for k, v in feedback.items()}
    return new_params, new_feedback


def kp_jax(params, feedback, grads, learning_rate, decay):
    new_params = {k: jnp.asarray(v) * (1 - decay if k.startswith("W") else 1.0) - learning_rate * jnp.asarray(grads[k])
                  for k, v in params.items()}
    new_feedback = {k: (1 - decay) * jnp.asarray(v) - learning_rate * jnp.asarray(grads[f"W{int(k[1:]) + 1}"]).T
                    for k, v in feedback.items()}
    return new_params, new_feedback


def kp_via_W_update(params, feedback, grads, learning_rate, decay):
    # "B receives the transpose of W's update": compute W's decayed step, hand its gradient part to B
    new_params, new_feedback = {}, {}
    for k, v in params.items():
        new_params[k] = (1 - decay) * v - learning_rate * grads[k] if k.startswith("W") else v - learning_rate * grads[k]
    for k, B in feedback.items():
        W_next = f"W{int(k[1:]) + 1}"
        step = new_params[W_next] - (1 - decay) * params[W_next]      # = -eta dW_{l+1}
        new_feedback[k] = (1 - decay) * B + step.T
    return new_params, new_feedback


def literal_kolen_pollack_update(params, feedback, grads, learning_rate, decay):
    # W_l <- (1 - lambda) W_l - eta dW_l, b_l <- b_l - eta db_l, B_l <- (1 - lambda) B_l - eta dW_{l+1}^T
    eta, lam = learning_rate, decay
    L = len([k for k in params if k.startswith("W")])
    new_params, new_feedback = {}, {}
    for l in range(1, L + 1):
        new_params[f"W{l}"] = (1 - lam) * params[f"W{l}"] - eta * grads[f"W{l}"]
        new_params[f"b{l}"] = params[f"b{l}"] - eta * grads[f"b{l}"]
    for l in range(1, L):
        new_feedback[f"B{l}"] = (1 - lam) * feedback[f"B{l}"] - eta * grads[f"W{l + 1}"].T
    return new_params, new_feedback


# --- wrong -----------------------------------------------------------------------------------------

def kp_ascent(params, feedback, grads, learning_rate, decay):
    # [property: the sign of the step]
    new_params = {k: ((1 - decay) if k[0] == "W" else 1.0) * v + learning_rate * grads[k] for k, v in params.items()}
    new_feedback = {k: (1 - decay) * B + learning_rate * grads[f"W{int(k[1:]) + 1}"].T for k, B in feedback.items()}
    return new_params, new_feedback


def kp_feedback_no_decay(params, feedback, grads, learning_rate, decay):
    # [property: B decays (decay > 0)]
    new_params, _ = kolen_pollack_update(params, feedback, grads, learning_rate, decay)
    return new_params, {k: B - learning_rate * grads[f"W{int(k[1:]) + 1}"].T for k, B in feedback.items()}


def kp_weights_no_decay(params, feedback, grads, learning_rate, decay):
    # [property: W decays (decay > 0)] "B decays" read as B alone
    _, new_feedback = kolen_pollack_update(params, feedback, grads, learning_rate, decay)
    return {k: v - learning_rate * grads[k] for k, v in params.items()}, new_feedback


def kp_biases_decay(params, feedback, grads, learning_rate, decay):
    # [property: biases do not decay]
    _, new_feedback = kolen_pollack_update(params, feedback, grads, learning_rate, decay)
    return {k: (1 - decay) * v - learning_rate * grads[k] for k, v in params.items()}, new_feedback


def kp_not_transposed(params, feedback, grads, learning_rate, decay):
    # [property: B_l receives dW_{l+1}^T (square layers)] runs where W_{l+1} is square
    new_params, _ = kolen_pollack_update(params, feedback, grads, learning_rate, decay)
    return new_params, {k: (1 - decay) * B - learning_rate * grads[f"W{int(k[1:]) + 1}"] for k, B in feedback.items()}


def kp_l2_decay(params, feedback, grads, learning_rate, decay):
    # [property: the decay is (1 - lambda), lr != 1] the usual L2 weight decay, W - eta (dW + lambda W)
    new_params = {k: v - learning_rate * (grads[k] + (decay * v if k[0] == "W" else 0.0)) for k, v in params.items()}
    new_feedback = {k: B - learning_rate * (grads[f"W{int(k[1:]) + 1}"].T + decay * B) for k, B in feedback.items()}
    return new_params, new_feedback


def kp_decay_factor_lambda(params, feedback, grads, learning_rate, decay):
    # [property: the decay is (1 - lambda), lambda != 1/2] the factor lambda itself
    new_params = {k: (decay if k[0] == "W" else 1.0) * v - learning_rate * grads[k] for k, v in params.items()}
    new_feedback = {k: decay * B - learning_rate * grads[f"W{int(k[1:]) + 1}"].T for k, B in feedback.items()}
    return new_params, new_feedback


def kp_decay_after_step(params, feedback, grads, learning_rate, decay):
    # [property: the decay multiplies the old weights only] (1 - lambda)(W - eta dW)
    new_params = {k: ((1 - decay) if k[0] == "W" else 1.0) * (v - learning_rate * grads[k]) for k, v in params.items()}
    new_feedback = {k: (1 - decay) * (B - learning_rate * grads[f"W{int(k[1:]) + 1}"].T) for k, B in feedback.items()}
    return new_params, new_feedback


def kp_only_paired_layer_decays(params, feedback, grads, learning_rate, decay):
    # [property: every weight matrix decays] the text's W2 decays, W1 (which no B mirrors) does not
    paired = {f"W{int(k[1:]) + 1}" for k in feedback}
    new_params = {k: ((1 - decay) if k in paired else 1.0) * v - learning_rate * grads[k] for k, v in params.items()}
    new_feedback = {k: (1 - decay) * B - learning_rate * grads[f"W{int(k[1:]) + 1}"].T for k, B in feedback.items()}
    return new_params, new_feedback


def kp_feedback_copied(params, feedback, grads, learning_rate, decay):
    # [property: B moves by its own update] "B becomes W^T": B set to the new W^T (weight transport)
    new_params, _ = kolen_pollack_update(params, feedback, grads, learning_rate, decay)
    return new_params, {k: new_params[f"W{int(k[1:]) + 1}"].T.copy() for k in feedback}


def kp_feedback_sign(params, feedback, grads, learning_rate, decay):
    # [property: the sign of B's step] B moves against W's update
    new_params, _ = kolen_pollack_update(params, feedback, grads, learning_rate, decay)
    return new_params, {k: (1 - decay) * B + learning_rate * grads[f"W{int(k[1:]) + 1}"].T for k, B in feedback.items()}


def kp_feedback_no_learning_rate(params, feedback, grads, learning_rate, decay):
    # [property: eta on B's step, lr != 1]
    new_params, _ = kolen_pollack_update(params, feedback, grads, learning_rate, decay)
    return new_params, {k: (1 - decay) * B - grads[f"W{int(k[1:]) + 1}"].T for k, B in feedback.items()}


def kp_swapped_return(params, feedback, grads, learning_rate, decay):
    # the pair returned as (new_feedback, new_params)
    new_params, new_feedback = kolen_pollack_update(params, feedback, grads, learning_rate, decay)
    return new_feedback, new_params


def kp_one_hidden_layer(params, feedback, grads, learning_rate, decay):
    # [property: any depth (deeper networks)] the text's W2 and B1 hard-coded
    new_params = {k: ((1 - decay) if k[0] == "W" else 1.0) * v - learning_rate * grads[k] for k, v in params.items()}
    return new_params, {"B1": (1 - decay) * feedback["B1"] - learning_rate * grads["W2"].T}


def kp_wrong_layer(params, feedback, grads, learning_rate, decay):
    # [property: B_l pairs with W_{l+1} (square layers)] B_l gets W_l's update
    new_params, _ = kolen_pollack_update(params, feedback, grads, learning_rate, decay)
    return new_params, {k: (1 - decay) * B - learning_rate * grads[f"W{k[1:]}"].T for k, B in feedback.items()}


def kp_in_place(params, feedback, grads, learning_rate, decay):
    # [property: the inputs are not modified] "new dicts" made, but their arrays are the old ones
    new_params, new_feedback = dict(params), dict(feedback)
    for k in new_params:
        if k.startswith("W"):
            new_params[k] *= 1 - decay
        new_params[k] -= learning_rate * grads[k]
    for k in new_feedback:
        new_feedback[k] *= 1 - decay
        new_feedback[k] -= learning_rate * grads[f"W{int(k[1:]) + 1}"].T
    return new_params, new_feedback


def kp_only_feedback(params, feedback, grads, learning_rate, decay):
    # [property: W steps too] "KP is FA plus one update": only B updated, W returned unchanged
    _, new_feedback = kolen_pollack_update(params, feedback, grads, learning_rate, decay)
    return {k: v.copy() for k, v in params.items()}, new_feedback


# ======================================================================================================
# Exercise 3: cosine_similarity
# ======================================================================================================

def cosine_similarity(a, b):
    a, b = np.ravel(a), np.ravel(b)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def cos_sums(a, b):
    return np.sum(a * b) / np.sqrt(np.sum(a * a) * np.sum(b * b))


def cos_frobenius(a, b):
    # np.linalg.norm of a matrix is the Frobenius norm: the length of the long vector
    return float(np.vdot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def cos_loop(a, b):
    dot = na = nb = 0.0
    for u, v in zip(np.asarray(a).flat, np.asarray(b).flat):
        dot += u * v
        na += u * u
        nb += v * v
    return dot / (na ** 0.5 * nb ** 0.5)


def cos_scipy(a, b):
    # scipy's cosine is the distance 1 - cos
    return 1.0 - scipy.spatial.distance.cosine(np.ravel(a), np.ravel(b))


def cos_normalised_first(a, b):
    ua = a.flatten() / np.linalg.norm(a)
    ub = b.flatten() / np.linalg.norm(b)
    return float(np.dot(ua, ub))


def cos_float32(a, b):
    a, b = np.ravel(a).astype(np.float32), np.ravel(b).astype(np.float32)
    return np.float32(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def cos_jax(a, b):
    a, b = jnp.ravel(jnp.asarray(a)), jnp.ravel(jnp.asarray(b))
    return jnp.dot(a, b) / (jnp.linalg.norm(a) * jnp.linalg.norm(b))


def cos_einsum(a, b):
    a, b = a.reshape(-1), b.reshape(-1)
    return np.einsum("i,i->", a, b) / np.sqrt(np.einsum("i,i->", a, a) * np.einsum("i,i->", b, b))


def literal_cosine_similarity(a, b):
    # cos(u, g) = <u, g> / (||u|| ||g||), matrices treated as long vectors
    u, g = a.reshape(-1), b.reshape(-1)
    inner = sum(u[i] * g[i] for i in range(len(u)))
    norm_u = np.sqrt(sum(u[i] ** 2 for i in range(len(u))))
    norm_g = np.sqrt(sum(g[i] ** 2 for i in range(len(g))))
    return inner / (norm_u * norm_g)


# --- wrong -----------------------------------------------------------------------------------------

def cos_one_norm(a, b):
    # [property: both norms (||b|| != 1)]
    a, b = np.ravel(a), np.ravel(b)
    return float(a @ b / np.linalg.norm(a))


def cos_no_norm(a, b):
    # [property: both norms] the inner product alone
    return float(np.sum(a * b))


def cos_squared_norms(a, b):
    # [property: square roots of the sums of squares]
    return float(np.sum(a * b) / (np.sum(a**2) * np.sum(b**2)))


def cos_abs(a, b):
    # [property: the sign (opposite arrays)]
    a, b = np.ravel(a), np.ravel(b)
    return float(abs(a @ b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def cos_scipy_distance(a, b):
    # [property: a cosine, not a distance] scipy.spatial.distance.cosine is 1 - cos
    return scipy.spatial.distance.cosine(np.ravel(a), np.ravel(b))


def cos_angle(a, b):
    # [property: the cosine, not the angle] arccos of it, in radians
    a, b = np.ravel(a), np.ravel(b)
    return float(np.arccos(np.clip(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)), -1, 1)))


def cos_degrees(a, b):
    # [property: the cosine, not the angle] the angle in degrees, as the text goes on to define
    a, b = np.ravel(a), np.ravel(b)
    return float(np.degrees(np.arccos(np.clip(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)), -1, 1))))


def cos_rows(a, b):
    # [property: matrices as one long vector] the mean of the row-by-row cosines
    a, b = np.atleast_2d(a), np.atleast_2d(b)
    a, b = a.reshape(a.shape[0], -1), b.reshape(b.shape[0], -1)
    rows = np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return float(np.mean(rows))


def cos_spectral_norm(a, b):
    # [property: matrices as one long vector] np.linalg.norm(a, 2) is the largest singular value of a matrix
    return float(np.sum(a * b) / (np.linalg.norm(a, 2) * np.linalg.norm(b, 2)))


def cos_correlation(a, b):
    # [property: no centring] Pearson's correlation, np.corrcoef
    return float(np.corrcoef(np.ravel(a), np.ravel(b))[0, 1])


def cos_epsilon(a, b):
    # [property: tiny arrays] a "safe" denominator ||a|| ||b|| + 1e-8
    a, b = np.ravel(a), np.ravel(b)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-8))


def cos_clipped(a, b):
    # [property: the sign (opposite arrays)] negative cosines clipped to 0
    return max(0.0, cosine_similarity(a, b))


def cos_norm_of_a_twice(a, b):
    # a typo: ||a|| twice
    a, b = np.ravel(a), np.ravel(b)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(a)))


def cos_in_place(a, b):
    # [property: the inputs are not modified] normalised in place
    a /= np.linalg.norm(a)
    b /= np.linalg.norm(b)
    return float(np.sum(a * b))


CORRECT = {
    BP: [backprop_gradients, bp_own_forward, bp_loops, bp_einsum, bp_columns, bp_layer_gradients, bp_float32,
         bp_jax_grad, bp_jax_by_hand, literal_backprop_gradients],
    FA: [fa_forward, fa_from_own_backprop, fa_skeleton, fa_loops, fa_columns, fa_einsum, fa_float32, fa_jax_by_hand,
         fa_jax_grad, literal_feedback_alignment_gradients],
    DFA: [dfa_forward, dfa_skeleton, dfa_own_forward, dfa_einsum, dfa_loops, dfa_float32, dfa_jax_grad,
          literal_direct_feedback_alignment_gradients],
    KP: [kolen_pollack_update, kp_comprehensions, kp_two_steps, kp_float32, kp_jax, kp_via_W_update,
         literal_kolen_pollack_update],
    COS: [cosine_similarity, cos_sums, cos_frobenius, cos_loop, cos_scipy, cos_normalised_first, cos_float32, cos_jax,
          cos_einsum, literal_cosine_similarity],
}

WRONG = {
    BP: [
        (bp_transposed_W2, "transposed matrix"),
        (bp_no_derivative, "missing derivative"),
        (bp_derivative_at_h, "derivative at the activity"),
        (bp_sigmoid_formula_for_relu, "sigmoid derivative for every activation"),
        (bp_summed, "sum instead of mean"),
        (bp_negated, "wrong sign"),
        (bp_transposed_gradients, "transposed"),
        (bp_bias_not_averaged, "biases not divided by N"),
        (bp_bias_mean_twice, "biases divided by N twice"),
        (bp_without_half, "off by a constant factor"),
        (bp_sigmoid_output, "activation on the output layer"),
        (bp_preactivation_input, "pre-activation as the layer input"),
        (bp_activation_not_passed, "activation not passed to forward"),
        (bp_sigmoid_everywhere, "ignores the argument 'activation'"),
        (bp_relu_activity_above_one, "wrong ReLU derivative"),
        (bp_bias_wrong_axis, "bias over the wrong axis"),
        (bp_squeezed, None),
        (bp_in_place, None),
    ],
    FA: [
        (fa_backprop, "W instead of B"),
        (fa_B_not_transposed, "B instead of B^T"),
        (fa_B_in_forward, "B in the forward pass"),
        (fa_no_derivative, "missing derivative"),
        (fa_derivative_at_h, "derivative at the activity"),
        (fa_summed, "sum instead of mean"),
        (fa_hidden_summed, "hidden layers not divided by N"),
        (fa_negated, "wrong sign"),
        (fa_transposed_gradients, "transposed"),
        (fa_sigmoid_formula_for_relu, "sigmoid derivative for every activation"),
        (fa_activation_not_passed, "activation not passed to forward"),
        (fa_without_half, "off by a constant factor"),
        (fa_relu_activity_above_one, "wrong ReLU derivative"),
        (fa_preactivation_input, "pre-activation as the layer input"),
        (fa_bias_wrong_axis, "bias over the wrong axis"),
        (fa_own_random_feedback, None),
        (fa_feedback_transposed_in_dict, None),
    ],
    DFA: [
        (dfa_chain_with_B, "error passed down the chain"),
        (dfa_backprop, "W instead of B"),
        (dfa_B_not_transposed, "B instead of B^T"),
        (dfa_no_derivative, "missing derivative"),
        (dfa_derivative_at_h, "derivative at the activity"),
        (dfa_summed, "sum instead of mean"),
        (dfa_hidden_summed, "hidden layers not divided by N"),
        (dfa_negated, "wrong sign"),
        (dfa_wrong_z_index, "derivative of the layer above"),
        (dfa_wrong_input_index, "layer output as its input"),
        (dfa_one_B_for_all, "feedback paired with the wrong layer"),
        (dfa_sigmoid_formula_for_relu, "sigmoid derivative for every activation"),
        (dfa_activation_not_passed, "activation not passed to forward"),
        (dfa_transposed_gradients, "transposed"),
        (dfa_relu_activity_above_one, "wrong ReLU derivative"),
        (dfa_without_half, "off by a constant factor"),
        (dfa_two_hidden_layers_hard_coded, "two hidden layers hard-coded"),
        (dfa_missing_key, None),
    ],
    KP: [
        (kp_ascent, "wrong sign"),
        (kp_feedback_no_decay, "feedback does not decay"),
        (kp_weights_no_decay, "forward weights do not decay"),
        (kp_biases_decay, "biases decay"),
        (kp_not_transposed, "update not transposed"),
        (kp_l2_decay, "decay scaled by the learning rate"),
        (kp_decay_factor_lambda, "lambda instead of 1 - lambda"),
        (kp_decay_after_step, "decay applied after the step"),
        (kp_only_paired_layer_decays, "some weights do not decay"),
        (kp_feedback_copied, "feedback copied from the forward weights"),
        (kp_feedback_sign, "sign of the feedback update"),
        (kp_feedback_no_learning_rate, "learning rate missing on the feedback"),
        (kp_swapped_return, "returned in the wrong order"),
        (kp_one_hidden_layer, "one hidden layer hard-coded"),
        (kp_wrong_layer, None),
        (kp_in_place, None),
        (kp_only_feedback, "forward weights not updated"),
    ],
    COS: [
        (cos_one_norm, "missing normalisation"),
        (cos_no_norm, "missing normalisation"),
        (cos_squared_norms, "squared norms"),
        (cos_abs, "absolute value"),
        (cos_scipy_distance, "cosine distance"),
        (cos_angle, "angle instead of cosine"),
        (cos_degrees, "angle instead of cosine"),
        (cos_rows, "row by row"),
        (cos_spectral_norm, "matrix norm"),
        (cos_correlation, "correlation instead of cosine"),
        (cos_epsilon, "epsilon in the denominator"),
        (cos_clipped, "negative cosines clipped"),
        (cos_norm_of_a_twice, None),
        (cos_in_place, None),
    ],
}
