"""Tutorial 02, the weight transport problem: NumPy references (float64), in the tutorial's order.

Backprop sends the output error back through the transposes of the forward weights, W^T. A synapse
has no obvious way to know the weight of another synapse, so the rules here replace W^T:

    backprop:                    delta_l = (delta_{l+1} @ W_{l+1}) * act'(z_l)          (W_{l+1}^T, transposed)
    feedback alignment (FA):     delta_l = (delta_{l+1} @ B_l.T)   * act'(z_l)          (fixed random B_l)
    direct feedback alignment:   delta_l = (e @ B_l.T)             * act'(z_l)          (straight from the output error e)
    Kolen-Pollack (KP):          FA, plus one update: B_l receives the transpose of W_{l+1}'s update,
                                 and both decay by (1 - lambda) per step, so
                                 W_{l+1} - B_l^T = (1 - lambda)^t (W_{l+1} - B_l^T)_0  -> 0.

B_l is the feedback into hidden layer l; it has the shape W_{l+1}^T has, (H_l, H_{l+1}) for FA and
KP, and (H_l, C) for DFA. With one hidden layer the two coincide, (H, C), and B_1 = W_2^T turns every
rule back into backprop. Symbols and conventions: see course_utils.mlp.
"""
from __future__ import annotations

import numpy as np

from .metrics import angle_degrees
from .mlp import activation_derivative, forward, init_mlp, layer_gradients, loss, num_layers, predict
from .registry import Backend


def _error_signals(params, x, y, activation, send_back):
    """The shared skeleton of every rule here: a forward pass, the output error e = (y_hat - y) / N,
    then for l = L..1 the layer's gradient from delta_l, and delta_{l-1} from ``send_back``.

    send_back(l, delta_l, e) -> the error arriving at hidden layer l-1 before act'(z_{l-1}).
    """
    cache = forward(params, x, activation)
    L = num_layers(params)
    e = (cache["y_hat"] - y) / x.shape[0]
    grads, delta = {}, e
    for l in range(L, 0, -1):
        grads[f"W{l}"], grads[f"b{l}"] = layer_gradients(delta, cache["inputs"][l - 1])
        if l > 1:
            delta = send_back(l, delta, e) * activation_derivative(cache["z"][l - 2], activation)
    return {k: grads[k] for k in params}


def backprop_gradients(params, x, y, activation="sigmoid"):
    """Exercise weight_transport.backprop_gradients: the exact gradient of the two-layer MLP.

    Arguments:
        params: {"W1": (H, D), "b1": (H,), "W2": (C, H), "b2": (C,)}. x: (N, D). y: (N, C) one-hot.
    Returns:
        {"W1", "b1", "W2", "b2"}: dL/dtheta of L = 1/(2N) sum_n ||y_hat_n - y_n||^2, with
        e = (y_hat - y) / N, dL/dW2 = e^T h, dL/db2 = sum_n e_n, delta1 = (e @ W2) * act'(z1),
        dL/dW1 = delta1^T x, dL/db1 = sum_n delta1_n.
    """
    return _error_signals(params, x, y, activation,
                          send_back=lambda l, delta, e: delta @ params[f"W{l}"])        # W^T


def feedback_alignment_gradients(params, feedback, x, y, activation="sigmoid"):
    """Exercise weight_transport.feedback_alignment: backprop with B where backprop has W^T.

    Arguments:
        params: {"W1", "b1", ..., "WL", "bL"} (two layers in the exercise).
        feedback: {"B1": (H1, H2 or C), ..., "B{L-1}"}: the fixed random matrix used in place of
            W_{l+1}^T to send the error back into hidden layer l.
        x: (N, D). y: (N, C) one-hot. activation: "sigmoid" or "relu".
    Returns:
        a dict with the keys of params; the same equations as backprop_gradients except
        delta_l = (delta_{l+1} @ B_l.T) * act'(z_l).
    """
    return _error_signals(params, x, y, activation,
                          send_back=lambda l, delta, e: delta @ feedback[f"B{l - 1}"].T)  # B, not W^T


def direct_feedback_alignment_gradients(params, feedback, x, y, activation="sigmoid"):
    """Exercise weight_transport.direct_feedback_alignment: every hidden layer receives the output
    error directly through its own fixed random matrix.

    Arguments:
        params: an MLP with two or more hidden layers, {"W1", "b1", ..., "WL", "bL"}.
        feedback: {"B1": (H1, C), ..., "B{L-1}": (H_{L-1}, C)}.
        x: (N, D). y: (N, C) one-hot. activation: "sigmoid" or "relu".
    Returns:
        a dict with the keys of params: the output layer as in backprop (e = (y_hat - y) / N), and
        for every hidden layer l: delta_l = (e @ B_l.T) * act'(z_l), dL/dW_l = delta_l^T h_{l-1},
        dL/db_l = sum_n delta_l.
    """
    return _error_signals(params, x, y, activation,
                          send_back=lambda l, delta, e: e @ feedback[f"B{l - 1}"].T)      # from e directly


def kolen_pollack_update(params, feedback, grads, learning_rate, decay):
    """Exercise weight_transport.kolen_pollack: one Kolen-Pollack step, given the FA gradients.

    Arguments:
        params: {"W1", "b1", ..., "WL", "bL"}; feedback: {"B1", ..., "B{L-1}"}, B_l shaped like
            W_{l+1}^T; grads: the feedback-alignment gradients (keys of params);
        learning_rate: eta; decay: lambda, the weight decay per step (0 <= lambda < 1).
    Returns:
        (new_params, new_feedback), new dicts:
            W_l <- (1 - lambda) W_l - eta dW_l        (every weight matrix)
            b_l <- b_l - eta db_l                     (biases do not decay)
            B_l <- (1 - lambda) B_l - eta dW_{l+1}^T  (the transpose of W_{l+1}'s update)
        so that W_{l+1} - B_l^T shrinks by (1 - lambda) at every step, whatever the gradients.
    """
    new_params = {}
    for name, value in params.items():
        keep = (1.0 - decay) if name.startswith("W") else 1.0
        new_params[name] = keep * value - learning_rate * grads[name]
    new_feedback = {name: (1.0 - decay) * B - learning_rate * grads[f"W{int(name[1:]) + 1}"].T
                    for name, B in feedback.items()}
    return new_params, new_feedback


def cosine_similarity(a, b):
    """Exercise weight_transport.cosine_similarity: cos of the angle between two arrays.

    Arguments: a, b: arrays of the same shape (any shape; they are compared as flat vectors).
    Returns: float, <a, b> / (||a|| ||b||), in [-1, 1].
    """
    a, b = np.ravel(a), np.ravel(b)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


# ----------------------------------------------------------------------------------------------
# Feedback matrices, measurements, and the registered rules (state = {"params", "feedback"}; the
# settings are those of course_utils.rules: sizes, activation, learning_rate, feedback_gain, and
# decay for KP).

def init_feedback(rng, sizes, direct=False, gain=1.0):
    """Random feedback matrices for an MLP of layer widths ``sizes``, B_l ~ N(0, gain^2 / H_l).

    gain = 1 gives B_l the scale of W_{l+1}^T at initialisation (W_{l+1} ~ N(0, 1/H_l)), so that the
    error sent back has backprop's size; the error a hidden layer receives, and so its effective
    learning rate, grows in proportion to the gain.

    Arguments:
        rng: a numpy Generator. sizes: (D, H1, ..., C). direct: False for FA and KP, True for DFA.
    Returns:
        {"B1", ..., "B{L-1}"}, float64: B_l is (H_l, H_{l+1}), the shape of W_{l+1}^T, for FA and KP,
        and (H_l, C) for DFA.
    """
    C = sizes[-1]
    feedback = {}
    for l in range(1, len(sizes) - 1):
        shape = (sizes[l], C) if direct else (sizes[l], sizes[l + 1])
        feedback[f"B{l}"] = rng.normal(0.0, gain / np.sqrt(shape[0]), size=shape)
    return feedback


def angle_feedback_forward(params, feedback):
    """Angle in degrees between W_L^T and B_{L-1} (the last layer's forward and feedback weights)."""
    L = num_layers(params)
    return angle_degrees(params[f"W{L}"].T, feedback[f"B{L - 1}"])


def _init(direct):
    def init(rng, cfg):
        params = init_mlp(rng, cfg["sizes"], cfg["activation"])
        return {"params": params,
                "feedback": init_feedback(rng, cfg["sizes"], direct=direct, gain=cfg["feedback_gain"])}
    return init


def _predict(state, x, cfg):
    return predict(state["params"], x, cfg["activation"])


def _loss(params, x, y, cfg):
    return loss(params, x, y, cfg["activation"])


def _sgd_step(gradient_fn):
    """FA and DFA: the rule's gradient estimate, one SGD step on the forward weights; B stays fixed."""
    def step(state, batch, rng, cfg):
        params, feedback = state["params"], state["feedback"]
        grads = gradient_fn(params, feedback, batch["x"], batch["y"], cfg["activation"])
        new = {k: params[k] - cfg["learning_rate"] * grads[k] for k in params}
        return {"params": new, "feedback": feedback}, {"loss": _loss(params, batch["x"], batch["y"], cfg)}
    return step


def _kp_step(state, batch, rng, cfg):
    """KP: feedback alignment's gradients, then the Kolen-Pollack update of W and B together."""
    params, feedback = state["params"], state["feedback"]
    grads = feedback_alignment_gradients(params, feedback, batch["x"], batch["y"], cfg["activation"])
    new_params, new_feedback = kolen_pollack_update(params, feedback, grads, cfg["learning_rate"], cfg["decay"])
    return {"params": new_params, "feedback": new_feedback}, {"loss": _loss(params, batch["x"], batch["y"], cfg)}


FEEDBACK_ALIGNMENT = Backend(_init(direct=False), _sgd_step(feedback_alignment_gradients), _predict)
DIRECT_FEEDBACK_ALIGNMENT = Backend(_init(direct=True), _sgd_step(direct_feedback_alignment_gradients), _predict)
KOLEN_POLLACK = Backend(_init(direct=False), _kp_step, _predict)


def alignment_monitor(rule, x, y, activation="sigmoid"):
    """A ``monitor`` for course_utils.training.train: state -> measurements on a probe batch (x, y).

    Returns a function giving, for the rule's current state:
        "feedback_angle": angle in degrees between W_L^T and B_{L-1} (FA and KP only),
        "feedback_gap":   ||W_L - B_{L-1}^T|| (Frobenius; FA and KP only),
        "hidden_cosine":  cosine similarity between the rule's update of W1 and backprop's gradient.
    """
    from . import mlp

    def measure(state):
        params = {k: np.asarray(v, dtype=np.float64) for k, v in state["params"].items()}
        feedback = {k: np.asarray(v, dtype=np.float64) for k, v in state["feedback"].items()}
        L = num_layers(params)
        if rule == "direct_feedback_alignment":
            update = direct_feedback_alignment_gradients(params, feedback, x, y, activation)
            out = {}
        else:
            update = feedback_alignment_gradients(params, feedback, x, y, activation)
            out = {"feedback_angle": angle_feedback_forward(params, feedback),
                   "feedback_gap": float(np.linalg.norm(params[f"W{L}"] - feedback[f"B{L - 1}"].T))}
        out["hidden_cosine"] = cosine_similarity(update["W1"], mlp.backprop_gradients(params, x, y, activation)["W1"])
        return out

    return measure


# ----------------------------------------------------------------------------------------------
# Why feedback alignment aligns: a two-layer *linear* network, y_hat = W2 W1 x, learning a linear
# teacher y = T x with FA. Hidden layer: delta = e B^T (no derivative); output layer: e^T h as in backprop.
#
# Starting from small weights, W1 accumulates -eta sum_t B e_t x_t^T = -B M_t (M_t = eta sum e_t x_t^T),
# so the hidden activity h = W1 x gains a component -B M_t x along the columns of B; W2's update
# -eta e h^T then accumulates e (M_t x)^T B^T terms: W2 grows along B^T, and W2 B becomes positive
# definite, the condition for e B^T to be a descent direction (e W2 B e^T > 0).

def linear_alignment_demo(seed=0, sizes=(30, 20, 10), steps=1000, learning_rate=0.02, batch_size=20,
                          init_scale=0.01, record_every=20):
    """Train a linear network D-H-C with feedback alignment on a random linear teacher.

    Arguments:
        seed: for the teacher, the initial weights, B and the inputs (x ~ N(0, I)).
        sizes: (D, H, C). steps, learning_rate, batch_size: plain SGD. init_scale: std of W1, W2 at start.
        record_every: measure every this many steps.
    Returns:
        dict of arrays over the recorded steps: "step"; "angle" between W2^T and B in degrees; "loss"
        (the batch loss 1/(2N) sum ||y_hat - y||^2 on a fixed probe batch); "hidden_cosine" between FA's
        hidden update of W1 and backprop's, on the probe batch; "min_eig" the smallest eigenvalue of the
        symmetric part of W2 B, (C, C): positive means e B^T is within 90 degrees of e W2 for every error e.
    """
    from .metrics import angle_degrees
    D, H, C = sizes
    rng = np.random.default_rng(seed)
    T = rng.standard_normal((C, D)) / np.sqrt(D)
    W1 = init_scale * rng.standard_normal((H, D))
    W2 = init_scale * rng.standard_normal((C, H))
    B = rng.standard_normal((H, C)) / np.sqrt(C)
    probe = rng.standard_normal((200, D))
    record = {"step": [], "angle": [], "loss": [], "hidden_cosine": [], "min_eig": []}
    for t in range(steps + 1):
        if t % record_every == 0:
            e = (probe @ W1.T @ W2.T - probe @ T.T) / len(probe)
            record["step"].append(t)
            record["angle"].append(angle_degrees(W2.T, B))
            record["loss"].append(0.5 * len(probe) * float(np.sum(e**2)))
            record["hidden_cosine"].append(cosine_similarity((e @ B.T).T @ probe, (e @ W2).T @ probe))
            W2B = W2 @ B
            record["min_eig"].append(float(np.linalg.eigvalsh((W2B + W2B.T) / 2).min()))
        x = rng.standard_normal((batch_size, D))
        h = x @ W1.T
        e = (h @ W2.T - x @ T.T) / batch_size
        W1, W2 = W1 - learning_rate * (e @ B.T).T @ x, W2 - learning_rate * e.T @ h
    return {k: np.asarray(v) for k, v in record.items()}
