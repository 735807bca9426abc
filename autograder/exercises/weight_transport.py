"""Tutorial 02 (weight transport): fixtures and known mistakes for its five exercises."""
from __future__ import annotations

import dataclasses

import numpy as np

from course_utils import weight_transport as ref
from course_utils.mlp import activate, activation_derivative, forward, init_mlp, layer_gradients, num_layers

from ..core import Exercise, Fixture, Mistake, variant

# (sizes, N, activation, seed). The first has H == C, so that using B where B^T belongs runs
# (instead of failing on shapes) and can be named; the others are non-square, batch 1 included.
TWO_LAYER = [((5, 3, 3), 4, "sigmoid", 0), ((6, 4, 3), 1, "relu", 1), ((7, 5, 2), 6, "sigmoid", 2),
             ((4, 6, 3), 5, "relu", 3)]
DEEP = [((5, 3, 3, 3), 4, "sigmoid", 4), ((6, 5, 4, 3), 1, "relu", 5), ((7, 4, 6, 2), 6, "sigmoid", 6),
        ((5, 4, 3, 5, 3), 3, "relu", 7)]


def _problem(sizes, n, activation, seed, direct=False):
    rng = np.random.default_rng(2000 + seed)
    params = init_mlp(rng, sizes, activation)
    params = {k: v + 0.1 * rng.standard_normal(v.shape) for k, v in params.items()}
    feedback = ref.init_feedback(rng, sizes, direct=direct)
    x = rng.standard_normal((n, sizes[0]))
    y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], n)]
    return rng, params, feedback, x, y


def _label(sizes, n, activation):
    return f"sizes={'-'.join(map(str, sizes))}, N={n}, {activation}"


def _bp_fixtures():
    return [Fixture(_label(s, n, a), dict(params=p, x=x, y=y, activation=a))
            for s, n, a, seed in TWO_LAYER for _, p, _, x, y in [_problem(s, n, a, seed)]]


def _fa_fixtures():
    return [Fixture(_label(s, n, a), dict(params=p, feedback=b, x=x, y=y, activation=a))
            for s, n, a, seed in TWO_LAYER for _, p, b, x, y in [_problem(s, n, a, seed)]]


def _dfa_fixtures():
    return [Fixture(_label(s, n, a), dict(params=p, feedback=b, x=x, y=y, activation=a))
            for s, n, a, seed in DEEP for _, p, b, x, y in [_problem(s, n, a, seed, direct=True)]]


def _kp_fixtures():
    fixtures = []
    for (s, n, a, seed), (lr, decay) in zip(TWO_LAYER[:3] + DEEP[1:3], [(0.1, 0.01), (0.5, 0.2), (0.05, 0.0),
                                                                         (0.2, 0.05), (0.1, 0.3)]):
        rng, p, b, x, y = _problem(s, n, a, seed)
        grads = ref.feedback_alignment_gradients(p, b, x, y, a)
        fixtures.append(Fixture(f"sizes={'-'.join(map(str, s))}, lr={lr}, decay={decay}",
                                dict(params=p, feedback=b, grads=grads, learning_rate=lr, decay=decay)))
    return fixtures


def _cos_fixtures():
    rng = np.random.default_rng(9)
    return [Fixture("vectors of length 5", dict(a=rng.standard_normal(5), b=rng.standard_normal(5))),
            Fixture("3x4 matrices", dict(a=rng.standard_normal((3, 4)), b=rng.standard_normal((3, 4)))),
            Fixture("nearly opposite 2x2 matrices",
                    dict(a=np.array([[1.0, 2.0], [3.0, -1.0]]), b=np.array([[-2.0, -4.5], [-6.0, 2.5]]))),
            Fixture("different lengths", dict(a=np.array([3.0, 4.0, 0.0]), b=np.array([0.0, 8.0, 6.0])))]


# What would give each answer away, withheld from graded code (autograder.redaction): the reference,
# its JAX twin, and the course helpers that compute the same thing.
WITHHELD = {
    "weight_transport.backprop_gradients": (
        "course_utils.weight_transport:backprop_gradients", "course_utils.weight_transport:_error_signals",
        "course_utils.mlp:backprop_gradients", "course_utils.mlp:numerical_gradient",
        "course_utils.perturbation:_backprop",
        "course_utils.jax.mlp:backprop_gradients", "course_utils.jax.weight_transport:backprop_gradients",
        "course_utils.jax.weight_transport:_error_signals", "course_utils.jax.weight_transport:network_loss",
        "course_utils.jax.perturbation:_backprop"),
    "weight_transport.feedback_alignment": (
        "course_utils.weight_transport:feedback_alignment_gradients", "course_utils.weight_transport:alignment_monitor",
        "course_utils.jax.weight_transport:feedback_alignment_gradients",
        "course_utils.jax.weight_transport:feedback_alignment_gradients_vjp",
        "course_utils.jax.weight_transport:_fa_bwd", "course_utils.jax.weight_transport:_fa_step"),
    "weight_transport.direct_feedback_alignment": (
        "course_utils.weight_transport:direct_feedback_alignment_gradients",
        "course_utils.jax.weight_transport:direct_feedback_alignment_gradients",
        "course_utils.jax.weight_transport:_dfa_step"),
    "weight_transport.kolen_pollack": (
        "course_utils.weight_transport:kolen_pollack_update", "course_utils.weight_transport:_kp_step",
        "course_utils.jax.weight_transport:kolen_pollack_update", "course_utils.jax.weight_transport:decayed_sgd",
        "course_utils.jax.weight_transport:kolen_pollack_gradients_vjp",
        "course_utils.jax.weight_transport:_kp_bwd", "course_utils.jax.weight_transport:_kp_step"),
    "weight_transport.cosine_similarity": (
        "course_utils.weight_transport:cosine_similarity", "course_utils.weight_transport:angle_feedback_forward",
        "course_utils.metrics:cosine_similarity", "course_utils.metrics:angle_degrees"),
}


# --- known wrong variants ----------------------------------------------------------------------

def _derivative(z, activation, kind):
    """act'(z) as the reference takes it ("z"), or as a mistake takes it."""
    if kind == "z":
        return activation_derivative(z, activation)
    if kind == "none":
        return 1.0
    if kind == "activity":        # act'(h) with h = act(z): the derivative evaluated at the wrong place
        return activation_derivative(activate(z, activation), activation)
    if kind == "relu activity > 1":  # a published tutorial's ReLU derivative; sigmoid left correct
        h = activate(z, activation)
        return (h > 1).astype(z.dtype) if activation == "relu" else activation_derivative(z, activation)
    if kind == "h(1 - h)":        # the sigmoid's h (1 - h) whatever the activation
        h = activate(z, activation)
        return h * (1.0 - h)
    raise ValueError(kind)


def _variant_signals(params, x, y, activation, send_back, *, derivative="z", reduce="mean", bias_scale=1.0,
                     bias_axis=0, forward_activation=None, sigmoid_output=False, layer_input="h", z_above=False,
                     input_above=False):
    """The reference's skeleton with one thing changed (each option is a mistake):
    derivative: where act' is taken (_derivative); reduce: "mean", "sum" (no 1/N), "hidden sum" (1/N on
    the output layer only); bias_scale: the biases' gradients times this; bias_axis: 1 sums over the units;
    forward_activation: the activation of the forward pass when it is not ``activation``; sigmoid_output:
    a sigmoid on the read-out, and its derivative in e; layer_input "z": the pre-activation as the next
    layer's input; z_above: act' of the layer above; input_above: a hidden layer's own output as its input."""
    cache = forward(params, x, forward_activation or activation)
    L = num_layers(params)
    n = x.shape[0]
    y_hat = cache["y_hat"]
    if sigmoid_output:
        y_hat = activate(y_hat, "sigmoid")
    e = (y_hat - y) / (n if reduce in ("mean", "hidden sum") else 1)
    if sigmoid_output:
        e = e * y_hat * (1.0 - y_hat)
    e_back = e * (n if reduce == "hidden sum" else 1.0)     # the error the hidden layers receive
    bias_scale = {"N": n, "1/N": 1.0 / n}.get(bias_scale, bias_scale)
    grads, delta = {}, e
    for l in range(L, 0, -1):
        below = cache["inputs"][l - 1]
        if layer_input == "z" and l > 1:
            below = cache["z"][l - 2]
        if input_above and l < L:
            below = cache["inputs"][l]
        weights, _ = layer_gradients(delta, below)
        grads[f"W{l}"], grads[f"b{l}"] = weights, bias_scale * delta.sum(axis=bias_axis)
        if l > 1:
            z = cache["z"][l - 1] if z_above else cache["z"][l - 2]
            delta = send_back(l, e_back if l == L else delta, e_back) * _derivative(z, activation, derivative)
    return {k: grads[k] for k in params}


def _bp_variant(params, x, y, activation="sigmoid", **options):
    return _variant_signals(params, x, y, activation, lambda l, d, e: d @ params[f"W{l}"], **options)


def _fa_variant(params, feedback, x, y, activation="sigmoid", *, matrix="B^T", **options):
    send = {"B^T": lambda l, d, e: d @ feedback[f"B{l - 1}"].T,
            "B": lambda l, d, e: d @ feedback[f"B{l - 1}"],
            "W": lambda l, d, e: d @ params[f"W{l}"]}[matrix]
    return _variant_signals(params, x, y, activation, send, **options)


def _dfa_variant(params, feedback, x, y, activation="sigmoid", *, matrix="B^T", **options):
    send = {"B^T": lambda l, d, e: e @ feedback[f"B{l - 1}"].T,
            "B": lambda l, d, e: e @ feedback[f"B{l - 1}"],
            "B1": lambda l, d, e: e @ feedback["B1"].T,
            "W": lambda l, d, e: d @ params[f"W{l}"]}[matrix]
    return _variant_signals(params, x, y, activation, send, **options)


def _dfa_two_hidden(params, feedback, x, y, activation="sigmoid"):
    """DFA written out for exactly two hidden layers (W1, W2 hidden, W3 the output), whatever the depth."""
    cache = forward(params, x, activation)
    e = (cache["y_hat"] - y) / x.shape[0]
    grads = {}
    for l in (1, 2):
        delta = (e @ feedback[f"B{l}"].T) * activation_derivative(cache["z"][l - 1], activation)
        grads[f"W{l}"], grads[f"b{l}"] = layer_gradients(delta, cache["inputs"][l - 1])
    grads["W3"], grads["b3"] = layer_gradients(e, cache["inputs"][2])
    return grads


def _feedback_forward(params, feedback, x, y, activation="sigmoid"):
    """Backprop with W_{l+1} replaced by B_l^T in the forward pass too (FA's B used in both directions)."""
    swapped = {**params, **{f"W{int(k[1:]) + 1}": B.T for k, B in feedback.items()}}
    return _bp_variant(swapped, x, y, activation)


def _kp_variant(params, feedback, grads, learning_rate, decay, *, transpose=True, decay_feedback=True,
                decay_weights=True, decay_biases=False, sign=1.0, keep="1 - lambda", decay_after=False,
                paired_only=False, feedback_rule="update", feedback_sign=1.0, feedback_lr=True, swap=False,
                first_only=False, step_weights=True):
    """The reference's KP step with one thing changed (each option is a mistake): keep: the decay factor
    ("1 - lambda", "lambda", or "1 - eta lambda" for the usual L2 decay); decay_after: (1 - lambda)(W - eta dW);
    paired_only: only the W_{l+1} that a B_l mirrors decays; feedback_rule "copy": B_l = the new W_{l+1}^T;
    feedback_sign, feedback_lr: B's step; swap: (feedback, params); first_only: B1 alone; step_weights:
    False returns the parameters unchanged."""
    factor = {"1 - lambda": 1 - decay, "lambda": decay, "1 - eta lambda": 1 - learning_rate * decay}[keep]
    paired = {f"W{int(k[1:]) + 1}" for k in feedback}

    def decays(k):
        if k.startswith("W"):
            return decay_weights and (k in paired or not paired_only)
        return decay_biases

    def step(value, gradient, decaying, eta=learning_rate, s=sign):
        f = factor if decaying else 1.0
        return f * (value - s * eta * gradient) if decay_after and decaying else f * value - s * eta * gradient

    if step_weights:
        new_params = {k: step(v, grads[k], decays(k)) for k, v in params.items()}
    else:
        new_params = {k: v.copy() for k, v in params.items()}
    new_feedback = {}
    for name, B in feedback.items():
        if first_only and name != "B1":
            continue
        W_next = f"W{int(name[1:]) + 1}"
        if feedback_rule == "copy":
            new_feedback[name] = new_params[W_next].T.copy()
            continue
        g = grads[W_next]
        update = g.T if transpose else g  # untransposed only runs where W_{l+1} is square
        new_feedback[name] = step(B, update, decay_feedback, eta=learning_rate if feedback_lr else 1.0,
                                  s=sign * feedback_sign)
    return (new_feedback, new_params) if swap else (new_params, new_feedback)


def _cos_variant(a, b, *, one_norm=False, squared=False, absolute=False, no_norm=False, distance=False,
                 angle=None, rows=False, spectral=False, centred=False, eps=0.0, clipped=False):
    if rows:                                  # the mean of the row-by-row cosines
        a2 = np.reshape(a, (np.shape(a)[0], -1)) if np.ndim(a) > 1 else np.reshape(a, (1, -1))
        b2 = np.reshape(b, a2.shape)
        return float(np.mean(np.sum(a2 * b2, 1) / (np.linalg.norm(a2, axis=1) * np.linalg.norm(b2, axis=1))))
    if spectral:                              # np.linalg.norm(a, 2): the largest singular value of a matrix
        return float(np.sum(a * b) / (np.linalg.norm(a, 2) * np.linalg.norm(b, 2)))
    a, b = np.ravel(a), np.ravel(b)
    if centred:
        a, b = a - a.mean(), b - b.mean()
    if absolute:
        return float(abs(a @ b) / (np.linalg.norm(a) * np.linalg.norm(b)))
    if no_norm:
        return float(a @ b)
    if one_norm:
        return float(a @ b / np.linalg.norm(a))
    if squared:
        return float(a @ b / (np.sum(a**2) * np.sum(b**2)))
    cos = float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + eps))
    if distance:
        return 1.0 - cos
    if angle == "radians":
        return float(np.arccos(np.clip(cos, -1.0, 1.0)))
    if angle == "degrees":
        return float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))
    if clipped:
        return max(0.0, cos)
    return cos


_SUM = "sum instead of mean", "divide the output error by the batch size N: e = (y_hat - y) / N"
_DERIV = "missing derivative", "multiply the error arriving at the hidden layer by act'(z) (activation_derivative)"
_AT_H = ("derivative at the activity", "evaluate act' at the pre-activation z (cache['z']), not at the "
         "activity h = act(z)")
_RELU = ("wrong ReLU derivative", "relu'(z) is 1 where z > 0 and 0 elsewhere: use activation_derivative(z, "
         "activation), not (activity > 1)")
_SIGMOID_FORMULA = ("sigmoid derivative for every activation", "h (1 - h) is the sigmoid's derivative only: use "
                    "activation_derivative(z, activation), which also knows ReLU's")
_NOT_PASSED = ("activation not passed to forward", "call forward(params, x, activation): without it the forward "
               "pass is a sigmoid network whatever activation says")
_HIDDEN_SUM = ("hidden layers not divided by N", "the hidden layers' error comes from e = (y_hat - y) / N too: "
               "divide before sending e back, not only in the output layer's gradient")
_BIAS_AXIS = ("bias over the wrong axis", "a bias gradient has one entry per unit: sum delta over the batch, "
              "delta.sum(axis=0)")
_PRE = ("pre-activation as the layer input", "the next layer's input is the activity h = act(z) "
        "(cache['inputs']), not the pre-activation z")


def _shared_mistakes(function):
    """The mistakes every gradient exercise of the tutorial can make, with the same names everywhere."""
    return (Mistake(*_DERIV, variant(function, derivative="none")),
            Mistake(*_AT_H, variant(function, derivative="activity")),
            Mistake(*_RELU, variant(function, derivative="relu activity > 1")),
            Mistake(*_SIGMOID_FORMULA, variant(function, derivative="h(1 - h)")),
            Mistake(*_NOT_PASSED, variant(function, forward_activation="sigmoid")),
            Mistake(*_SUM, variant(function, reduce="sum")),
            Mistake(*_HIDDEN_SUM, variant(function, reduce="hidden sum")),
            Mistake(*_BIAS_AXIS, variant(function, bias_axis=1)),
            Mistake(*_PRE, variant(function, layer_input="z")),
            Mistake("biases not divided by N", "the bias gradients are sums of the error e = (y_hat - y) / N "
                    "over the batch: divide them by N like the weights", variant(function, bias_scale="N")),
            Mistake("biases divided by N twice", "e = (y_hat - y) / N is already divided by N: the bias "
                    "gradients are its sum over the batch, not its mean", variant(function, bias_scale="1/N")),
            Mistake("activation on the output layer", "the read-out is linear: y_hat = h W2^T + b2, with no "
                    "sigmoid and no derivative on the output", variant(function, sigmoid_output=True)))


EXERCISES = (
    Exercise(
        id="weight_transport.backprop_gradients", withheld=WITHHELD["weight_transport.backprop_gradients"],
        function_name="backprop_gradients",
        reference=ref.backprop_gradients,
        fixtures=_bp_fixtures,
        points=2,
        summary="exact gradients of the two-layer MLP",
        mistakes=(
            *_shared_mistakes(_bp_variant),
            Mistake("transposed matrix", "send the error back with e @ W2 (that is, through W2^T), "
                    "not e @ W2.T", lambda **kw: _fa_variant(**kw, feedback={"B1": kw["params"]["W2"]})),
        ),
    ),
    Exercise(
        id="weight_transport.feedback_alignment", withheld=WITHHELD["weight_transport.feedback_alignment"],
        function_name="feedback_alignment_gradients",
        reference=ref.feedback_alignment_gradients,
        fixtures=_fa_fixtures,
        points=3,
        summary="backprop with B in place of W2^T",
        mistakes=(
            Mistake("W instead of B", "this is backprop: send the error back through the feedback "
                    "matrix B1, not the forward weights W2", variant(_fa_variant, matrix="W")),
            Mistake("B instead of B^T", "B1 has the shape of W2^T, (H, C): the error e (N, C) goes back "
                    "as e @ B1.T", variant(_fa_variant, matrix="B")),
            Mistake("B in the forward pass", "B1 replaces W2^T only on the way back: the forward pass, y_hat "
                    "and the output layer's gradient still use W2", _feedback_forward),
            *_shared_mistakes(_fa_variant),
        ),
    ),
    Exercise(
        id="weight_transport.direct_feedback_alignment", withheld=WITHHELD["weight_transport.direct_feedback_alignment"],
        function_name="direct_feedback_alignment_gradients",
        reference=ref.direct_feedback_alignment_gradients,
        fixtures=_dfa_fixtures,
        points=3,
        summary="every hidden layer receives the output error e through its own B_l",
        mistakes=(
            Mistake("error passed down the chain", "in DFA every hidden layer gets the OUTPUT error e "
                    "directly (e @ B_l.T), not the error of the layer above",
                    lambda **kw: _fa_variant(**{**kw, "feedback": _fa_shaped(kw)})),
            Mistake("W instead of B", "this is backprop: every hidden layer gets the output error through "
                    "its own feedback matrix, e @ B_l.T, not through the forward weights", variant(_dfa_variant, matrix="W")),
            Mistake("B instead of B^T", "B_l has shape (H_l, C): the error e (N, C) arrives as e @ B_l.T",
                    variant(_dfa_variant, matrix="B")),
            Mistake("feedback paired with the wrong layer", "hidden layer l receives e through its own B_l "
                    "(feedback[f'B{l}']), not through B1", variant(_dfa_variant, matrix="B1")),
            Mistake("derivative of the layer above", "multiply by act'(z_l) of the layer's own pre-activation: "
                    "cache['z'][l - 1] for layer l (the list starts at z_1)", variant(_dfa_variant, z_above=True)),
            Mistake("layer output as its input", "dL/dW_l = delta_l^T h_{l-1}: the layer's INPUT, "
                    "cache['inputs'][l - 1], not its own activity", variant(_dfa_variant, input_above=True)),
            Mistake("two hidden layers hard-coded", "loop over every hidden layer l = 1, ..., L - 1 (the "
                    "fixtures include three hidden layers): the output layer is W_L, with L = len(cache['z'])",
                    _dfa_two_hidden),
            *_shared_mistakes(_dfa_variant),
        ),
    ),
    Exercise(
        id="weight_transport.kolen_pollack", withheld=WITHHELD["weight_transport.kolen_pollack"],
        function_name="kolen_pollack_update",
        reference=ref.kolen_pollack_update,
        fixtures=_kp_fixtures,
        points=3,
        summary="W and B both decay by (1 - lambda); B gets the transpose of W's update",
        mistakes=(
            Mistake("wrong sign", "subtract the learning rate times the gradient (descend)",
                    variant(_kp_variant, sign=-1.0)),
            Mistake("feedback does not decay", "B decays by (1 - lambda) like W: that is what makes "
                    "W - B^T shrink", variant(_kp_variant, decay_feedback=False)),
            Mistake("forward weights do not decay", "W decays by (1 - lambda) too",
                    variant(_kp_variant, decay_weights=False)),
            Mistake("some weights do not decay", "every weight matrix W_l decays by (1 - lambda), W1 "
                    "included, not only the ones a feedback matrix mirrors", variant(_kp_variant, paired_only=True)),
            Mistake("biases decay", "only the weight matrices W and B decay; update the biases by "
                    "b <- b - eta db", variant(_kp_variant, decay_biases=True)),
            Mistake("update not transposed", "B_l is shaped like W_{l+1}^T: it receives the TRANSPOSE "
                    "of W_{l+1}'s update, -eta dW_{l+1}^T", variant(_kp_variant, transpose=False)),
            Mistake("decay scaled by the learning rate", "KP's decay is the factor (1 - lambda) per step, "
                    "not the L2 weight decay W - eta (dW + lambda W)", variant(_kp_variant, keep="1 - eta lambda")),
            Mistake("lambda instead of 1 - lambda", "multiply the old weights by (1 - lambda): lambda is the "
                    "fraction that decays away", variant(_kp_variant, keep="lambda")),
            Mistake("decay applied after the step", "decay the old weights only: (1 - lambda) W - eta dW, not "
                    "(1 - lambda)(W - eta dW)", variant(_kp_variant, decay_after=True)),
            Mistake("feedback copied from the forward weights", "B learns by its own update, (1 - lambda) B_l "
                    "- eta dW_{l+1}^T: copying W^T into B is weight transport", variant(_kp_variant, feedback_rule="copy")),
            Mistake("sign of the feedback update", "B_l moves WITH W_{l+1}: subtract eta dW_{l+1}^T, as W "
                    "subtracts eta dW", variant(_kp_variant, feedback_sign=-1.0)),
            Mistake("learning rate missing on the feedback", "B_l's step is eta dW_{l+1}^T, the same learning "
                    "rate as W's", variant(_kp_variant, feedback_lr=False)),
            Mistake("returned in the wrong order", "return (new_params, new_feedback), in that order",
                    variant(_kp_variant, swap=True)),
            Mistake("one hidden layer hard-coded", "update every feedback matrix B_l from W_{l+1}'s gradient: "
                    "networks with more hidden layers have B2, B3, ...", variant(_kp_variant, first_only=True)),
            Mistake("forward weights not updated", "KP updates both: W_l <- (1 - lambda) W_l - eta dW_l and "
                    "b_l <- b_l - eta db_l, besides B", variant(_kp_variant, step_weights=False)),
        ),
    ),
    Exercise(
        id="weight_transport.cosine_similarity", withheld=WITHHELD["weight_transport.cosine_similarity"],
        function_name="cosine_similarity",
        reference=ref.cosine_similarity,
        fixtures=_cos_fixtures,
        points=1,
        summary="<a, b> / (||a|| ||b||) of flattened arrays",
        mistakes=(
            Mistake("missing normalisation", "divide by the norms of both arrays",
                    variant(_cos_variant, one_norm=True)),
            Mistake("missing normalisation", "divide by the norms of both arrays",
                    variant(_cos_variant, no_norm=True)),
            Mistake("squared norms", "divide by ||a|| ||b|| (square roots of the sums of squares)",
                    variant(_cos_variant, squared=True)),
            Mistake("absolute value", "keep the sign: a cosine of -1 means opposite directions, which is "
                    "what a learning rule must not produce", variant(_cos_variant, absolute=True)),
            Mistake("negative cosines clipped", "keep negative cosines: an update pointing against the "
                    "gradient has a cosine below 0", variant(_cos_variant, clipped=True)),
            Mistake("cosine distance", "scipy.spatial.distance.cosine is the distance 1 - cos: return the "
                    "cosine itself", variant(_cos_variant, distance=True)),
            Mistake("angle instead of cosine", "return the cosine, <a, b> / (||a|| ||b||); the angle is "
                    "arccos of it", variant(_cos_variant, angle="radians")),
            Mistake("angle instead of cosine", "return the cosine, <a, b> / (||a|| ||b||); the angle in "
                    "degrees is np.degrees(np.arccos(...)) of it", variant(_cos_variant, angle="degrees")),
            Mistake("row by row", "treat a matrix as one long vector (np.ravel): one cosine for the whole "
                    "array, not the mean of its rows' cosines", variant(_cos_variant, rows=True)),
            Mistake("matrix norm", "flatten first (np.ravel): for a matrix, np.linalg.norm(a, 2) is its "
                    "largest singular value, not the length of the long vector", variant(_cos_variant, spectral=True)),
            Mistake("correlation instead of cosine", "do not subtract the means: the cosine compares the "
                    "arrays themselves", variant(_cos_variant, centred=True)),
            *(Mistake("epsilon in the denominator", "leave the epsilon out of ||a|| ||b||: for arrays of tiny "
                      "values it is as large as the norms themselves", variant(_cos_variant, eps=eps))
              for eps in (1e-8, 1e-6, 1e-10, 1e-12)),
        ),
    ),
)


def _fa_shaped(kw):
    """Chained feedback built from DFA's matrices where shapes allow (for naming the chain mistake)."""
    params, feedback = kw["params"], kw["feedback"]
    L = num_layers(params)
    chained = {}
    for l in range(1, L):
        want = (params[f"W{l}"].shape[0], params[f"W{l + 1}"].shape[0])
        B = feedback[f"B{l}"]
        chained[f"B{l}"] = B if B.shape == want else np.zeros(want)
    return chained


# --- hidden fixtures: kinds, drawn from the course secret (autograder.secret) ----------------------------

# The helpers the setup cell hands to answers; everything else of the course is sealed while grading.
HANDED = ("course_utils.mlp:forward", "course_utils.mlp:activation_derivative", "course_utils.mlp:layer_gradients")


def _random_problem(rng, sizes, n, activation, direct=False, scale=1.0):
    params = init_mlp(rng, sizes, activation)
    params = {k: scale * v + 0.1 * rng.standard_normal(v.shape) for k, v in params.items()}
    feedback = ref.init_feedback(rng, sizes, direct=direct, gain=float(rng.uniform(0.5, 2.0)))
    x = rng.standard_normal((n, sizes[0])) * rng.uniform(0.5, 2.0)
    y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], n)]
    return params, feedback, x, y


def _two_layer_kinds(rng):
    d = lambda: int(rng.integers(2, 9))
    n = lambda: int(rng.integers(2, 12))
    kinds = []
    for act in ("sigmoid", "relu"):
        kinds += [("a batch of one", (d(), d(), d()), 1, act, 1.0), ("square layers", (5, 5, 5), n(), act, 1.0),
                  ("hidden as wide as the output", (d(), 3, 3), n(), act, 1.0),
                  ("one output", (d(), d(), 1), n(), act, 1.0), ("one hidden unit", (d(), 1, d()), n(), act, 1.0),
                  ("large weights", (d(), d(), d()), n(), act, 4.0), ("a larger batch", (d(), d(), d()), 30, act, 1.0)]
    return kinds


def _deep_kinds(rng):
    d = lambda: int(rng.integers(2, 8))
    n = lambda: int(rng.integers(2, 10))
    kinds = []
    for act in ("sigmoid", "relu"):
        kinds += [("two hidden layers, a batch of one", (d(), d(), d(), d()), 1, act, 1.0),
                  ("two hidden layers", (d(), d(), d(), d()), n(), act, 1.0),
                  ("three hidden layers", (d(), d(), d(), d(), d()), n(), act, 1.0),
                  ("square layers", (4, 4, 4, 4), n(), act, 1.0),
                  ("hidden layers as wide as the output", (d(), 3, 3, 3), n(), act, 1.0),
                  ("large weights", (d(), d(), d(), d()), n(), act, 3.0)]
    return kinds


def _kind_label(kind, sizes, n, act):
    return f"{kind}, {act}, sizes={'-'.join(map(str, sizes))}, N={n}"


# Properties of backprop_gradients, and the kinds that separate them (the answer of
# tests/answers/weight_transport.py that violates each, and fails, in brackets):
# - the sign of dL/dtheta, the caller subtracts it: every kind (bp_negated)
# - weights (out, in), dW = delta^T input: every kind (bp_transposed_gradients)
# - the batch mean, e = (y_hat - y) / N, biases included: every kind with N > 1, "a larger batch" (bp_summed,
#   bp_bias_not_averaged, bp_bias_mean_twice); the mean of 1/2 ||.||^2: every kind (bp_without_half)
# - the error goes back as e @ W2 (W2^T e_n): runs and fails where H == C, "square layers", "hidden as wide as
#   the output" (bp_transposed_W2; a shape error elsewhere)
# - act'(z1) multiplies the hidden error: every kind (bp_no_derivative); taken at z, not at h = act(z): every
#   sigmoid kind (bp_derivative_at_h; for ReLU the two agree)
# - the activation option: every relu kind (bp_sigmoid_formula_for_relu, bp_activation_not_passed,
#   bp_sigmoid_everywhere, bp_relu_activity_above_one: relu'(z) = 1 for every z > 0)
# - the read-out is linear, and the output layer's input is h = act(z1): every kind (bp_sigmoid_output,
#   bp_preactivation_input)
# - biases sum over the batch, axis 0: every kind (bp_bias_wrong_axis)
# - a batch of one and one output (C = 1): "a batch of one", "one output" (bp_squeezed)
# - one hidden unit, large weights (saturated sigmoids, ReLUs far from 0): "one hidden unit", "large weights"
# - the inputs are not modified: every kind (bp_in_place)
def _bp_hidden(rng):
    out = []
    for kind, sizes, n, act, scale in _two_layer_kinds(rng):
        p, _, x, y = _random_problem(rng, sizes, n, act, scale=scale)
        out.append(Fixture(_kind_label(kind, sizes, n, act), dict(params=p, x=x, y=y, activation=act)))
    return out


# Properties of feedback_alignment_gradients (besides those of backprop_gradients above, which it shares
# and which the same kinds separate: fa_negated, fa_transposed_gradients, fa_summed, fa_hidden_summed,
# fa_no_derivative, fa_derivative_at_h, the relu kinds for fa_sigmoid_formula_for_relu,
# fa_activation_not_passed, fa_relu_activity_above_one, fa_bias_wrong_axis, fa_preactivation_input):
# - B1 is used, not W2: every kind (fa_backprop, fa_own_random_feedback)
# - B1 is (H, C), used as e @ B1.T: runs and fails where H == C, "square layers", "hidden as wide as the
#   output" (fa_B_not_transposed; a shape error elsewhere)
# - B1 only on the way back: the forward pass and the output layer keep W2, every kind (fa_B_in_forward)
# - the scale of B1 (gain 0.5 to 2) carries into the hidden update: every kind
# - the inputs (feedback included) are not modified: every kind (fa_feedback_transposed_in_dict)
def _fa_hidden(rng):
    out = []
    for kind, sizes, n, act, scale in _two_layer_kinds(rng):
        p, b, x, y = _random_problem(rng, sizes, n, act, scale=scale)
        out.append(Fixture(_kind_label(kind, sizes, n, act), dict(params=p, feedback=b, x=x, y=y, activation=act)))
    return out


# Properties of direct_feedback_alignment_gradients (besides the shared ones of backprop_gradients, separated
# by the same kinds: dfa_negated, dfa_transposed_gradients, dfa_summed, dfa_hidden_summed, dfa_without_half,
# dfa_no_derivative, dfa_derivative_at_h, the relu kinds, ...):
# - every hidden layer receives the OUTPUT error e: every kind, a shape error where widths differ
#   (dfa_chain_with_B, dfa_backprop)
# - B_l is (H_l, C), used as e @ B_l.T: runs and fails where H_l == C, "hidden layers as wide as the output",
#   "square layers" (dfa_B_not_transposed)
# - each hidden layer its own B_l: runs and fails where the widths are equal, "square layers",
#   "hidden layers as wide as the output" (dfa_one_B_for_all)
# - act'(z_l) of the layer's own pre-activation, dW_l = delta_l^T h_{l-1}: run and fail in "square layers"
#   (dfa_wrong_z_index, dfa_wrong_input_index; a shape error elsewhere)
# - any depth, L >= 3: "three hidden layers" (dfa_two_hidden_layers_hard_coded)
# - a batch of one: "two hidden layers, a batch of one"
def _dfa_hidden(rng):
    out = []
    for kind, sizes, n, act, scale in _deep_kinds(rng):
        p, b, x, y = _random_problem(rng, sizes, n, act, direct=True, scale=scale)
        out.append(Fixture(_kind_label(kind, sizes, n, act), dict(params=p, feedback=b, x=x, y=y, activation=act)))
    return out


# Properties of kolen_pollack_update, and the kinds that separate them:
# - the sign of both steps: every kind (kp_ascent, kp_feedback_sign)
# - the decay (1 - lambda) of every W_l and every B_l, applied to the old weights only, not to the biases:
#   every kind with decay > 0, "small decay", "strong decay", "decay near 1" (kp_feedback_no_decay,
#   kp_weights_no_decay, kp_only_paired_layer_decays, kp_biases_decay, kp_decay_after_step); a factor
#   (1 - lambda), not lambda: every decay but 1/2 (kp_decay_factor_lambda); not 1 - eta lambda: every
#   kind with lr != 1 and decay > 0 (kp_l2_decay)
# - B_l receives -eta dW_{l+1}^T, transposed, with the learning rate: every kind (kp_not_transposed fails on
#   shapes, or on values where W_{l+1} is square; kp_feedback_no_learning_rate, lr != 1; kp_feedback_copied)
# - W and b take their step too: every kind (kp_only_feedback)
# - any depth: "two hidden layers", "three hidden layers" (kp_one_hidden_layer)
# - no decay at all (lambda = 0): "no decay" (every decay mistake coincides there: the kind checks the plain step)
# - (new_params, new_feedback), in that order, new dicts, inputs not modified: every kind (kp_swapped_return,
#   kp_in_place)
def _kp_hidden(rng):
    out = []
    kinds = [("no decay", 0.0), ("small decay", 0.01), ("strong decay", 0.5), ("decay near 1", 0.95)]
    for kind, sizes, n, act, scale in _two_layer_kinds(rng)[:6] + _deep_kinds(rng)[:4]:
        name, decay = kinds[len(out) % len(kinds)]
        p, b, x, y = _random_problem(rng, sizes, n, act, scale=scale)
        grads = ref.feedback_alignment_gradients(p, b, x, y, act) if len(sizes) == 3 else {
            k: rng.standard_normal(v.shape) for k, v in p.items()}
        lr = float(rng.choice([0.001, 0.1, 1.0]))
        out.append(Fixture(f"{name}, {kind}, sizes={'-'.join(map(str, sizes))}, lr={lr:g}",
                           dict(params=p, feedback=b, grads=grads, learning_rate=lr, decay=decay)))
    return out


# Properties of cosine_similarity, and the kinds that separate them:
# - both norms, square roots of the sums of squares: every kind but "orthogonal" (cos_one_norm, cos_no_norm,
#   cos_squared_norms, cos_norm_of_a_twice)
# - the sign, -1 for opposite arrays: "opposite", "nearly opposite", "vectors" (cos_abs, cos_clipped)
# - the cosine itself, not 1 - cos or the angle: every kind (cos_scipy_distance, cos_angle, cos_degrees)
# - matrices as one long vector: "matrices", "a 3-d array" (cos_rows, cos_spectral_norm)
# - no centring: every kind but "parallel" and "opposite" (cos_correlation)
# - the formula as written, no epsilon: "tiny values" (cos_epsilon); scale-free: "large values", "a scaled copy"
# - one element, orthogonal arrays (cos = 0): "one element", "orthogonal"
# - the inputs are not modified: every kind (cos_in_place)
def _cos_hidden(rng):
    out = []
    for kind in ("vectors", "matrices", "parallel", "opposite", "orthogonal", "a scaled copy", "one element",
                 "large values", "tiny values", "a 3-d array", "nearly opposite"):
        shape = {"matrices": (3, 5), "one element": (1,), "a 3-d array": (2, 3, 4)}.get(kind, (int(rng.integers(2, 12)),))
        a = rng.standard_normal(shape)
        b = rng.standard_normal(shape)
        if kind == "parallel":
            b = a * rng.uniform(0.1, 10)
        elif kind in ("opposite", "nearly opposite"):
            b = -a * rng.uniform(0.1, 10) + (0.05 * rng.standard_normal(shape) if kind == "nearly opposite" else 0)
        elif kind == "orthogonal":
            a = np.zeros(shape); a[0] = rng.uniform(1, 2)
            b = np.zeros(shape); b[-1] = rng.uniform(1, 2)
        elif kind == "a scaled copy":
            b = 3.7 * a + 0.5 * b
        elif kind == "large values":
            a, b = 1e6 * a, 1e5 * b
        elif kind == "tiny values":
            a, b = 1e-6 * a, 1e-5 * b
        out.append(Fixture(f"{kind}, shape {shape}", dict(a=a, b=b)))
    return out


_HIDDEN = {"weight_transport.backprop_gradients": _bp_hidden, "weight_transport.feedback_alignment": _fa_hidden,
           "weight_transport.direct_feedback_alignment": _dfa_hidden, "weight_transport.kolen_pollack": _kp_hidden,
           "weight_transport.cosine_similarity": _cos_hidden}
EXERCISES = tuple(dataclasses.replace(e, hidden=_HIDDEN[e.id]) for e in EXERCISES)
