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
    raise ValueError(kind)


def _variant_signals(params, x, y, activation, send_back, *, derivative="z", reduce="mean"):
    cache = forward(params, x, activation)
    L = num_layers(params)
    e = (cache["y_hat"] - y) / (x.shape[0] if reduce == "mean" else 1)
    grads, delta = {}, e
    for l in range(L, 0, -1):
        grads[f"W{l}"], grads[f"b{l}"] = layer_gradients(delta, cache["inputs"][l - 1])
        if l > 1:
            delta = send_back(l, delta, e) * _derivative(cache["z"][l - 2], activation, derivative)
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
            "B": lambda l, d, e: e @ feedback[f"B{l - 1}"]}[matrix]
    return _variant_signals(params, x, y, activation, send, **options)


def _kp_variant(params, feedback, grads, learning_rate, decay, *, transpose=True, decay_feedback=True,
                decay_weights=True, decay_biases=False, sign=1.0):
    def keep(k):
        decays = decay_weights if k.startswith("W") else decay_biases
        return (1 - decay) if decays else 1.0
    new_params = {k: keep(k) * v - sign * learning_rate * grads[k] for k, v in params.items()}
    new_feedback = {}
    for name, B in feedback.items():
        g = grads[f"W{int(name[1:]) + 1}"]
        update = g.T if transpose else g  # untransposed only runs where W_{l+1} is square
        new_feedback[name] = ((1 - decay) if decay_feedback else 1.0) * B - sign * learning_rate * update
    return new_params, new_feedback


def _cos_variant(a, b, *, one_norm=False, squared=False, absolute=False):
    a, b = np.ravel(a), np.ravel(b)
    if absolute:
        return float(abs(a @ b) / (np.linalg.norm(a) * np.linalg.norm(b)))
    if one_norm:
        return float(a @ b / np.linalg.norm(a))
    if squared:
        return float(a @ b / (np.sum(a**2) * np.sum(b**2)))
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))



_SUM = "sum instead of mean", "divide the output error by the batch size N: e = (y_hat - y) / N"
_DERIV = "missing derivative", "multiply the error arriving at the hidden layer by act'(z) (activation_derivative)"
_AT_H = ("derivative at the activity", "evaluate act' at the pre-activation z (cache['z']), not at the "
         "activity h = act(z)")
_RELU = ("wrong ReLU derivative", "relu'(z) is 1 where z > 0 and 0 elsewhere: use activation_derivative(z, "
         "activation), not (activity > 1)")


def _derivative_mistakes(function):
    return (Mistake(*_DERIV, variant(function, derivative="none")),
            Mistake(*_AT_H, variant(function, derivative="activity")),
            Mistake(*_RELU, variant(function, derivative="relu activity > 1")))

EXERCISES = (
    Exercise(
        id="weight_transport.backprop_gradients", withheld=WITHHELD["weight_transport.backprop_gradients"],
        function_name="backprop_gradients",
        reference=ref.backprop_gradients,
        fixtures=_bp_fixtures,
        points=2,
        summary="exact gradients of the two-layer MLP",
        mistakes=(
            *_derivative_mistakes(_bp_variant),
            Mistake(*_SUM, variant(_bp_variant, reduce="sum")),
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
            *_derivative_mistakes(_fa_variant),
            Mistake(*_SUM, variant(_fa_variant, reduce="sum")),
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
            Mistake("B instead of B^T", "B_l has shape (H_l, C): the error e (N, C) arrives as e @ B_l.T",
                    variant(_dfa_variant, matrix="B")),
            *_derivative_mistakes(_dfa_variant),
            Mistake(*_SUM, variant(_dfa_variant, reduce="sum")),
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
            Mistake("biases decay", "only the weight matrices W and B decay; update the biases by "
                    "b <- b - eta db", variant(_kp_variant, decay_biases=True)),
            Mistake("update not transposed", "B_l is shaped like W_{l+1}^T: it receives the TRANSPOSE "
                    "of W_{l+1}'s update, -eta dW_{l+1}^T", variant(_kp_variant, transpose=False)),
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
            Mistake("squared norms", "divide by ||a|| ||b|| (square roots of the sums of squares)",
                    variant(_cos_variant, squared=True)),
            Mistake("absolute value", "keep the sign: a cosine of -1 means opposite directions, which is "
                    "what a learning rule must not produce", variant(_cos_variant, absolute=True)),
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


def _bp_hidden(rng):
    out = []
    for kind, sizes, n, act, scale in _two_layer_kinds(rng):
        p, _, x, y = _random_problem(rng, sizes, n, act, scale=scale)
        out.append(Fixture(_kind_label(kind, sizes, n, act), dict(params=p, x=x, y=y, activation=act)))
    return out


def _fa_hidden(rng):
    out = []
    for kind, sizes, n, act, scale in _two_layer_kinds(rng):
        p, b, x, y = _random_problem(rng, sizes, n, act, scale=scale)
        out.append(Fixture(_kind_label(kind, sizes, n, act), dict(params=p, feedback=b, x=x, y=y, activation=act)))
    return out


def _dfa_hidden(rng):
    out = []
    for kind, sizes, n, act, scale in _deep_kinds(rng):
        p, b, x, y = _random_problem(rng, sizes, n, act, direct=True, scale=scale)
        out.append(Fixture(_kind_label(kind, sizes, n, act), dict(params=p, feedback=b, x=x, y=y, activation=act)))
    return out


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
