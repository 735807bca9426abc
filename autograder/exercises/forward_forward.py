"""Tutorial 04 (forward-forward): fixtures and known mistakes for its five exercises."""
from __future__ import annotations

import dataclasses

import numpy as np

from course_utils import forward_forward as ref

from ..core import Exercise, Fixture, Mistake, variant


def _embed_fixtures():
    rng = np.random.default_rng(40)
    return [Fixture(f"N={n}, D={d}", dict(x=rng.uniform(0, 1, (n, d)), labels=rng.integers(0, 10, n)))
            for n, d in ((5, 16), (1, 12), (8, 30))]


def _loss_fixtures():
    rng = np.random.default_rng(41)
    fixtures = []
    for n, m, k, theta, scale in ((6, 6, 5, 5.0, 1.3), (1, 3, 4, 4.0, 0.8), (7, 2, 8, 3.0, 1.0)):
        fixtures.append(Fixture(f"N={n} positives, M={m} negatives, K={k} units, theta={theta}",
                                dict(h_pos=np.maximum(scale * rng.standard_normal((n, k)) + 0.3, 0),
                                     h_neg=np.maximum(rng.standard_normal((m, k)), 0), threshold=theta)))
    return fixtures


def _ff_params(rng, sizes):
    params = ref.init_ff(rng, sizes)
    return {k: v + 0.1 * rng.standard_normal(v.shape) for k, v in params.items()}


def _predict_fixtures():
    rng = np.random.default_rng(42)
    fixtures = []
    # enough examples that the wrong variants disagree with each other, not only with the reference
    for sizes, n, skip in (((20, 12, 9), 60, True), ((15, 8), 1, True), ((18, 10, 7, 6), 40, True),
                           ((20, 12, 9), 30, False)):
        fixtures.append(Fixture(f"sizes={'-'.join(map(str, sizes))}, N={n}, skip_first={skip}",
                                dict(params=_ff_params(rng, sizes), x=rng.uniform(0, 1, (n, sizes[0])),
                                     skip_first=skip)))
    return fixtures


def _hard_fixtures():
    rng = np.random.default_rng(43)
    fixtures = []
    for n in (6, 1, 9):
        scores = rng.standard_normal((n, 10))
        labels = rng.integers(0, 10, n)
        scores[np.arange(n)[: n // 2 + 1], labels[: n // 2 + 1]] += 10.0  # often the correct label is best
        fixtures.append(Fixture(f"N={n}", dict(scores=scores, labels=labels)))
    return fixtures


def _gradient_fixtures():
    rng = np.random.default_rng(44)
    fixtures = []
    # (J inputs, K units, N positives, M negatives, theta): goodness near the threshold (sigmoids away
    # from 0 and 1), some pre-activations negative (the ReLU derivative matters), inputs not normalised
    for j, k, n, m, theta, first in ((12, 6, 5, 3, 3.0, True), (7, 4, 1, 2, 2.0, False),
                                     (10, 8, 6, 6, 4.0, False), (9, 5, 4, 1, 2.5, False)):
        W = rng.normal(0.0, 1.0 / np.sqrt(j), (k, j))
        b = 0.2 * rng.standard_normal(k)
        if first:   # the first layer sees label-embedded images: pixels in [0, 1]
            below_pos = ref.embed_label(rng.uniform(0, 1, (n, j)), rng.integers(0, 10, n))
            below_neg = ref.embed_label(rng.uniform(0, 1, (m, j)), rng.integers(0, 10, m))
        else:       # a deeper layer sees ReLU activities of the layer below, at their own scale
            below_pos = np.maximum(1.5 * rng.standard_normal((n, j)) + 0.3, 0.0)
            below_neg = np.maximum(rng.standard_normal((m, j)), 0.0)
        fixtures.append(Fixture(f"J={j} inputs, K={k} units, N={n} positives, M={m} negatives, theta={theta}",
                                dict(W=W, b=b, h_below_pos=below_pos, h_below_neg=below_neg, threshold=theta)))
    return fixtures


# What would give each answer away, withheld from graded code (autograder.redaction): the reference,
# its JAX twin, and the course helpers that compute the same thing.
WITHHELD = {
    "forward_forward.embed_label": (
        "course_utils.forward_forward:embed_label", "course_utils.jax.forward_forward:embed_label"),
    "forward_forward.layer_loss": (
        "course_utils.forward_forward:layer_loss", "course_utils.forward_forward:layer_gradients",
        "course_utils.forward_forward:ff_gradients", "course_utils.forward_forward:loss_monitor",
        "course_utils.jax.forward_forward:layer_loss", "course_utils.jax.forward_forward:layer_gradients",
        "course_utils.jax.forward_forward:ff_gradients", "course_utils.jax.forward_forward:_step"),
    "forward_forward.layer_gradient": (
        "course_utils.forward_forward:layer_gradient", "course_utils.forward_forward:layer_gradients",
        "course_utils.forward_forward:ff_gradients", "course_utils.forward_forward:loss_monitor",
        "course_utils.forward_forward:_step",
        "course_utils.jax.forward_forward:layer_gradient", "course_utils.jax.forward_forward:layer_gradients",
        "course_utils.jax.forward_forward:ff_gradients", "course_utils.jax.forward_forward:_step"),
    "forward_forward.predict": (
        "course_utils.forward_forward:predict", "course_utils.forward_forward:label_goodness",
        "course_utils.forward_forward:layer_goodness", "course_utils.forward_forward:accuracy_with_layers",
        "course_utils.forward_forward:_predict", "course_utils.forward_forward:_jax_accuracy",
        "course_utils.jax.forward_forward:predict", "course_utils.jax.forward_forward:label_goodness",
        "course_utils.jax.forward_forward:_predict"),
    "forward_forward.hard_negatives": (
        "course_utils.forward_forward:hard_negative_labels", "course_utils.forward_forward:_negative_labels",
        "course_utils.jax.forward_forward:hard_negative_labels"),
}


# --- known wrong variants ----------------------------------------------------------------------
# Each is one plausible student's answer with one thing changed: first what the notebook's text invites
# (Hinton's choices it discusses: a mean square activity, length normalisation, one mean over a
# concatenated batch; the 1/J of Section 2's normalisation; the second-best label), then sign, axis,
# mean-versus-sum, threshold and derivative errors.

def _embed_variant(x, labels, num_classes=10, *, clear=True, cleared=None, add=False, classes=None, offset=0,
                   whole_batch=False, last=False):
    c = classes or num_classes
    out = np.array(x, dtype=np.float64, copy=True)
    code = np.zeros((len(out), c))
    code[np.arange(len(out)), labels] = 1.0
    corner = slice(-c, None) if last else slice(0, c)
    if add:
        out[:, corner] += code
        return out
    if clear:
        out[:, corner if cleared is None else slice(0, cleared(c))] = 0.0
    if whole_batch:
        out[:, labels] = 1.0
    elif last:
        out[:, corner] = code
    else:
        out[np.arange(len(out)), np.asarray(labels) + offset] = 1.0
    return out


def _embed_prepended(x, labels, num_classes=10):
    return np.hstack([np.eye(num_classes)[labels], np.asarray(x, dtype=np.float64)])


def _embed_code_only(x, labels, num_classes=10):
    return np.eye(num_classes)[labels]


def _embed_blank_image(x, labels, num_classes=10):
    out = np.zeros(np.shape(x))
    out[np.arange(len(out)), labels] = 1.0
    return out


def _embed_label_value(x, labels, num_classes=10):
    out = np.array(x, dtype=np.float64, copy=True)
    out[:, :num_classes] = 0.0
    out[:, 0] = labels
    return out


def _embed_integers(x, labels, num_classes=10):
    return ref.embed_label(np.asarray(x).astype(int), labels, num_classes)


def _loss_variant(h_pos, h_neg, threshold, *, goodness="sum", flipped=False, neg_flipped=False, reduce="mean",
                  with_threshold=True, terms=("pos", "neg"), link="softplus"):
    g = {"sum": ref.goodness, "mean": lambda h: np.mean(h**2, axis=1), "linear": lambda h: np.sum(h, axis=1),
         "length": lambda h: np.linalg.norm(h, axis=1), "over examples": lambda h: np.sum(h**2, axis=0),
         "batch": lambda h: np.sum(h**2)}[goodness]
    theta = threshold if with_threshold else 0.0
    sign = -1.0 if flipped else 1.0
    a_pos = sign * (theta - g(h_pos))
    a_neg = sign * (g(h_neg) - theta) * (-1.0 if neg_flipped else 1.0)
    f = {"softplus": ref.softplus, "sigmoid": ref.sigmoid, "no log": lambda a: 1.0 + np.exp(a),
         "log2": lambda a: ref.softplus(a) / np.log(2.0)}[link]
    l_pos, l_neg = np.atleast_1d(f(a_pos)), np.atleast_1d(f(a_neg))
    if reduce == "pooled":
        return float(np.mean(np.concatenate([l_pos, l_neg] if "neg" in terms else [l_pos])))
    reducer = np.sum if reduce == "sum" else np.mean
    total = float(reducer(l_pos) + (reducer(l_neg) if "neg" in terms else 0.0))
    return 0.5 * total if reduce == "halved" else total


def _loss_per_unit(h_pos, h_neg, threshold):
    k = h_pos.shape[1]
    return float(np.mean(ref.softplus(threshold / k - h_pos**2)) + np.mean(ref.softplus(h_neg**2 - threshold / k)))


def _rows(h, norm):
    """A layer's input as a wrong answer normalises it."""
    h = np.asarray(h, dtype=np.float64)
    if norm == "rms":
        return ref.normalise(h)
    if norm == "none":
        return h
    if norm == "length":
        return h / np.linalg.norm(h, axis=1, keepdims=True)
    if norm == "no sqrt":
        return h / np.mean(h**2, axis=1, keepdims=True)
    if norm == "batch":
        return h / np.sqrt(np.mean(h**2, axis=0, keepdims=True))
    if norm == "batch, eps":
        return h / np.sqrt(np.mean(h**2, axis=0, keepdims=True) + ref.EPS)
    raise ValueError(norm)


def _gradient_variant(W, b, h_below_pos, h_below_neg, threshold, *, pos_sign=-1.0, neg_sign=1.0,
                      with_threshold=True, raw_outer=False, norm="rms", count_units=False, reduce="mean",
                      dgdz="2h", sigmoid=ref.sigmoid, flipped_sigmoid=False, bias_mean=False, bias=True,
                      mean_goodness=False, terms=("pos", "neg")):
    K = W.shape[0]
    theta = threshold if with_threshold else 0.0
    n, m = len(h_below_pos), len(h_below_neg)
    counts = {"mean": (n, m), "sum": (1, 1), "pooled": (n + m, n + m)}[reduce]
    out = {"W": np.zeros(np.shape(W)), "b": np.zeros(np.shape(b))}
    for kind, h_below, sign, count in (("pos", h_below_pos, pos_sign, counts[0]), ("neg", h_below_neg, neg_sign, counts[1])):
        if kind not in terms:
            continue
        u = _rows(h_below, norm)
        if count_units:      # sqrt(1/K sum_j h_j^2): this layer's K units instead of the J inputs
            u = u * np.sqrt(K / np.shape(W)[1])
        z = u @ W.T + (b if bias else 0.0)
        h = np.maximum(z, 0.0)
        g = np.mean(h**2, axis=1) if mean_goodness else np.sum(h**2, axis=1)
        gap = (theta - g) if kind == "pos" else (g - theta)
        dL_dg = sign * sigmoid(-gap if flipped_sigmoid else gap) / count / (K if mean_goodness else 1)
        dg = {"2h": 2.0 * h, "h": h, "2z": 2.0 * z, "2 relu'": 2.0 * (z > 0)}[dgdz]
        delta = dL_dg[:, None] * dg
        out["W"] = out["W"] + delta.T @ (h_below if raw_outer else u)
        out["b"] = out["b"] + (delta.mean(0) if bias_mean else delta.sum(0))
    return out


_no_sigmoid = lambda a: np.ones_like(a)
_tanh_without_half = lambda a: 0.5 * (1.0 + np.tanh(a))


def _predict_variant(params, x, skip_first=True, *, normalise=True, layers="contract", argmin=False,
                     goodness="sum", classes=10, eps=True, combine="sum", axis=1, scores=False, after=False):
    L = ref.num_layers(params)
    table = np.zeros((len(x), 10))
    for c in range(classes):
        h = ref.embed_label(x, np.full(len(x), c))
        per_layer = []
        for l in range(1, L + 1):
            if normalise and not after:
                h = ref.normalise(h) if eps else h / np.sqrt(np.mean(h**2, axis=1, keepdims=True))
            h = np.maximum(h @ params[f"W{l}"].T + params[f"b{l}"], 0)
            if after:
                h = ref.normalise(h)
            per_layer.append({"sum": ref.goodness(h), "mean": np.mean(h**2, axis=1),
                              "probability": ref.sigmoid(ref.goodness(h) - h.shape[1])}[goodness])
        several = L > 1
        used = {"contract": per_layer[1:] if skip_first and several else per_layer,
                "all": per_layer,
                "always skip": per_layer[1:] if skip_first else per_layer,
                "inverted": per_layer[1:] if (not skip_first and several) else per_layer,
                "last": per_layer[-1:],
                "drop last": per_layer[:-1] if skip_first and several else per_layer}[layers]
        if not used:
            table[:, c] = 0.0
        else:
            table[:, c] = np.sum(used, axis=0) if combine == "sum" else np.prod(used, axis=0)
    if scores:
        return table
    table = table[:, :classes]
    return np.argmin(table, axis) if argmin else np.argmax(table, axis)


def _same_score(params, x, skip_first=True):
    return np.zeros(len(x), dtype=int)


def _hard_masked(scores, labels, *, value=-np.inf, subtract=None, lowest=False, whole_batch=False, columns=None):
    masked = np.array(scores, dtype=np.float64, copy=True)
    rows = np.arange(len(labels))
    if subtract is not None:
        masked[rows, labels] -= subtract
    elif whole_batch:
        masked[:, labels] = value
    else:
        masked[rows, labels] = np.inf if lowest else value
    if columns is not None:
        masked = masked[:, :columns]
    return np.argmin(masked, axis=1) if lowest else np.argmax(masked, axis=1)


def _hard_second_best(scores, labels):
    return np.argsort(scores, axis=1)[:, -2]


def _hard_delete_not_shifted(scores, labels):
    return np.array([int(np.argmax(np.delete(np.asarray(row), label))) for row, label in zip(scores, labels)])


def _hard_wrong_axis(scores, labels):
    masked = np.array(scores, dtype=np.float64, copy=True)
    masked[np.arange(len(labels)), labels] = -np.inf
    return np.argmax(masked, axis=0)


def _hard_score(scores, labels):
    masked = np.array(scores, dtype=np.float64, copy=True)
    masked[np.arange(len(labels)), labels] = -np.inf
    return np.max(masked, axis=1)


def _hard_next_label(scores, labels):
    return (np.asarray(labels) + 1) % np.shape(scores)[1]


@dataclasses.dataclass(frozen=True)
class _ScaledExercise(Exercise):
    """An exercise whose absolute tolerance is ``rtol`` times the largest entry of the expected result,
    beside the usual elementwise ``rtol``: for layer_gradient, whose entries are sums of positive and
    negative terms that often nearly cancel, so that a guard far below the tolerance (normalise's 1e-8,
    which an answer may leave out: Section 2) moves a near-zero entry by more than rtol of itself."""

    def tolerance(self, narrow, expected):
        rtol, atol = super().tolerance(narrow, expected)
        scale = max((float(np.max(np.abs(v))) for v in expected.values() if v.size), default=0.0)
        return rtol, max(atol, self.rtol * scale)


_GRADIENT_FIX = "recompute it on paper: dL/dW = sum_n delta_n u_n^T, delta = dL/dg * 2h"

EXERCISES = (
    Exercise(
        id="forward_forward.embed_label", withheld=WITHHELD["forward_forward.embed_label"],
        function_name="embed_label",
        reference=ref.embed_label,
        fixtures=_embed_fixtures,
        points=1,
        summary="the label's one-hot code written into the first num_classes pixels",
        mistakes=(
            Mistake("other label pixels not cleared", "set all of the first num_classes pixels: 1 at the label, "
                    "0 at the others (out[:, :num_classes] = 0 first)", variant(_embed_variant, clear=False)),
            Mistake("other label pixels not cleared", "set all of the first num_classes pixels: 1 at the label, "
                    "0 at the others (out[:, :num_classes] = 0 first)",
                    variant(_embed_variant, cleared=lambda c: c - 1)),
            Mistake("one-hot added to the pixels", "replace the first num_classes pixels by the code "
                    "(assign it, do not add it)", variant(_embed_variant, add=True)),
            Mistake("num_classes ignored", "use num_classes label pixels (the argument), not a fixed 10",
                    variant(_embed_variant, classes=10)),
            Mistake("label one pixel off", "label c goes into pixel c (labels start at 0): "
                    "out[np.arange(N), labels] = 1", variant(_embed_variant, offset=-1)),
            Mistake("label one pixel off", "label c goes into pixel c (labels start at 0): "
                    "out[np.arange(N), labels] = 1", variant(_embed_variant, offset=1)),
            Mistake("every row gets the whole batch's labels", "out[:, labels] sets every label of the batch in "
                    "every row: index one pixel per row, out[np.arange(N), labels]",
                    variant(_embed_variant, whole_batch=True)),
            Mistake("label in the last pixels", "the code replaces the FIRST num_classes pixels (the top-left "
                    "corner): out[:, :num_classes]", variant(_embed_variant, last=True)),
            Mistake("label pixels added in front", "keep the image's shape (N, D): the code replaces its first "
                    "num_classes pixels, it is not put in front of them", _embed_prepended),
            Mistake("image cast to integers", "copy x as floats (np.array(x, dtype=float) or x.copy()): an "
                    "integer copy rounds every pixel below 1 down to 0", _embed_integers),
            Mistake("image left out", "return the whole image, (N, D), with only its first num_classes pixels "
                    "replaced by the code", _embed_code_only),
            Mistake("image left out", "return the whole image, (N, D), with only its first num_classes pixels "
                    "replaced by the code", _embed_blank_image),
            Mistake("label written as a number", "write the label one-hot: 1.0 in pixel labels[n], 0.0 in the "
                    "other label pixels", _embed_label_value),
        ),
    ),
    Exercise(
        id="forward_forward.layer_loss", withheld=WITHHELD["forward_forward.layer_loss"],
        function_name="layer_loss",
        reference=ref.layer_loss,
        fixtures=_loss_fixtures,
        points=2,
        summary="goodness = sum of squares; softplus(theta - g_pos) + softplus(g_neg - theta), batch means",
        mistakes=(
            Mistake("goodness as a mean", "goodness is one number per example, the SUM over units of h^2 "
                    "(the threshold K is set for a sum), not a mean", variant(_loss_variant, goodness="mean")),
            Mistake("goodness as a mean", "goodness is one number per example, the SUM over units of h^2 "
                    "(the threshold K is set for a sum), not a mean", _loss_per_unit),
            Mistake("wrong sign of the logistic argument", "positives should have goodness ABOVE the "
                    "threshold: softplus(theta - g_pos) and softplus(g_neg - theta)",
                    variant(_loss_variant, flipped=True)),
            Mistake("sign of the negative term", "a negative example's loss GROWS with its goodness: "
                    "softplus(g_neg - theta), not softplus(theta - g_neg)", variant(_loss_variant, neg_flipped=True)),
            Mistake("sum instead of mean", "average the loss over the positive and over the negative "
                    "examples", variant(_loss_variant, reduce="sum")),
            Mistake("one mean over positives and negatives", "the loss is the mean over the N positives PLUS "
                    "the mean over the M negatives: two means, not one over N + M",
                    variant(_loss_variant, reduce="pooled")),
            Mistake("threshold missing", "compare the goodness with the threshold: softplus(theta - g_pos) "
                    "and softplus(g_neg - theta)", variant(_loss_variant, with_threshold=False)),
            Mistake("goodness not squared", "goodness is the sum of the SQUARED activities: "
                    "np.sum(h**2, axis=1)", variant(_loss_variant, goodness="linear")),
            Mistake("goodness as a length", "goodness is the sum of squared activities, the squared length "
                    "(no square root)", variant(_loss_variant, goodness="length")),
            Mistake("sigmoid instead of softplus", "the loss is softplus(a) = log(1 + e^a) (np.logaddexp(0, a)); "
                    "the sigmoid is its derivative", variant(_loss_variant, link="sigmoid")),
            Mistake("log missing from softplus", "softplus(a) = log(1 + e^a): take the log "
                    "(np.logaddexp(0, a))", variant(_loss_variant, link="no log")),
            Mistake("average of the two terms", "the loss is the SUM of the two means (positives' and "
                    "negatives'), not their average", variant(_loss_variant, reduce="halved")),
            Mistake("softplus in base 2", "softplus uses the natural logarithm: np.logaddexp(0, a) or "
                    "np.log1p(np.exp(a))", variant(_loss_variant, link="log2")),
            Mistake("negative term missing", "add the negatives' term: mean softplus(g_neg - theta)",
                    variant(_loss_variant, terms=("pos",))),
            Mistake("goodness summed over the examples", "goodness is one number per example: sum the "
                    "squares over the units, axis=1", variant(_loss_variant, goodness="over examples")),
            Mistake("one goodness for the whole batch", "goodness is one number per example: "
                    "np.sum(h**2, axis=1), then the mean of the losses", variant(_loss_variant, goodness="batch")),
        ),
    ),
    _ScaledExercise(
        id="forward_forward.layer_gradient", withheld=WITHHELD["forward_forward.layer_gradient"],
        function_name="layer_gradient",
        reference=ref.layer_gradient,
        fixtures=_gradient_fixtures,
        points=3,
        summary="dL/dW = delta_pos^T u_pos + delta_neg^T u_neg, delta = dL/dg * 2h; dL/db = sum of delta",
        mistakes=(
            Mistake("sign of the negative term", "the loss of a negative example GROWS with its goodness: "
                    "dL/dg(neg) = +sigmoid(g - theta) / M, the opposite sign of the positives' term",
                    variant(_gradient_variant, neg_sign=-1.0)),
            Mistake("sign of the positive term", "d/dg softplus(theta - g) = -sigmoid(theta - g): a positive "
                    "example's dL/dg is NEGATIVE (its loss falls as its goodness rises)",
                    variant(_gradient_variant, pos_sign=1.0)),
            Mistake("threshold missing", "the derivative of softplus(theta - g) is -sigmoid(theta - g): "
                    "keep theta inside the sigmoid", variant(_gradient_variant, with_threshold=False)),
            Mistake("raw input in the outer product", "the layer's input is the NORMALISED activity u = "
                    "normalise(h_below): dL/dW = delta^T u", variant(_gradient_variant, raw_outer=True)),
            Mistake("normalisation missing", "the layer sees normalise(h_below), not h_below: "
                    "h = relu(normalise(h_below) @ W.T + b)", variant(_gradient_variant, norm="none")),
            Mistake("length instead of root-mean-square", "divide each row by its root-MEAN-square, "
                    "sqrt(mean_j h_j^2) (normalise), not by its length: Hinton's length normalisation is "
                    "sqrt(J) times smaller", variant(_gradient_variant, norm="length")),
            Mistake("normalised over the layer's own units", "the mean in the normalisation runs over the J "
                    "inputs of h_below (its own row), not over this layer's K units: use normalise(h_below)",
                    variant(_gradient_variant, count_units=True)),
            Mistake("square root missing in the normalisation", "divide by the ROOT-mean-square: "
                    "h / sqrt(mean_j h_j^2 + 1e-8) (normalise)", variant(_gradient_variant, norm="no sqrt")),
            Mistake("normalised over the batch", "normalise each example on its own: the mean runs over a "
                    "row's entries (axis=1), not over the batch", variant(_gradient_variant, norm="batch")),
            Mistake("normalised over the batch", "normalise each example on its own: the mean runs over a "
                    "row's entries (axis=1), not over the batch", variant(_gradient_variant, norm="batch, eps")),
            Mistake("sum instead of mean", "the loss averages over the N positives and over the M "
                    "negatives: divide each term by its own count", variant(_gradient_variant, reduce="sum")),
            Mistake("one mean over positives and negatives", "the loss is the mean over the N positives "
                    "PLUS the mean over the M negatives: divide by N and by M, not by N + M",
                    variant(_gradient_variant, reduce="pooled")),
            Mistake("ReLU derivative missing", "dg/dz = 2 h = 2 relu(z), which is 0 where z < 0: use the "
                    "activity h, not the pre-activation z", variant(_gradient_variant, dgdz="2z")),
            Mistake("factor 2 missing", "g = sum of h^2, so dg/dh = 2h", variant(_gradient_variant, dgdz="h")),
            Mistake("h missing from dg/dz", "dg/dz_j = 2 h_j relu'(z_j) = 2 h_j: keep the h (the ReLU's "
                    "derivative alone is not enough)", variant(_gradient_variant, dgdz="2 relu'")),
            Mistake("sigmoid argument flipped", "the derivative of softplus(a) is sigmoid(a) with the SAME "
                    "argument: sigmoid(theta - g) for positives, sigmoid(g - theta) for negatives",
                    variant(_gradient_variant, flipped_sigmoid=True)),
            Mistake("sigmoid factor missing", "d/da softplus(a) = sigmoid(a): multiply dL/dg by "
                    "sigmoid(theta - g) (positives) or sigmoid(g - theta) (negatives)",
                    variant(_gradient_variant, sigmoid=_no_sigmoid)),
            Mistake("sigmoid without the half", "sigmoid(a) = 0.5 * (1 + tanh(a / 2)): the argument of tanh "
                    "is HALF of a", variant(_gradient_variant, sigmoid=_tanh_without_half)),
            Mistake("softplus instead of its derivative", "d/da softplus(a) = sigmoid(a), not softplus(a)",
                    variant(_gradient_variant, sigmoid=ref.softplus)),
            Mistake("bias gradient averaged", "dL/db is the SUM of delta over the examples (delta already "
                    "carries the 1/N and 1/M)", variant(_gradient_variant, bias_mean=True)),
            Mistake("bias missing in the forward pass", "the layer computes h = relu(u @ W.T + b): add the "
                    "bias before the ReLU", variant(_gradient_variant, bias=False)),
            Mistake("goodness as a mean", "goodness is the SUM over units of h^2 (the threshold K is set for "
                    "a sum): dg/dz = 2h", variant(_gradient_variant, mean_goodness=True)),
            Mistake("negative term missing", "the loss has a term for the negatives too: add "
                    "delta_neg^T u_neg and the sum of delta_neg", variant(_gradient_variant, terms=("pos",))),
        ),
    ),
    Exercise(
        id="forward_forward.predict", withheld=WITHHELD["forward_forward.predict"],
        function_name="predict",
        reference=ref.predict,
        fixtures=_predict_fixtures,
        points=2,
        summary="argmax over labels of the goodness summed over layers (first hidden layer skipped)",
        mistakes=(
            Mistake("missing normalisation", "divide each layer's input by its root-mean-square "
                    "(normalise) before the layer", variant(_predict_variant, normalise=False)),
            Mistake("skip_first inverted", "leave the first layer out when skip_first is True (and there "
                    "are several layers), keep it when skip_first is False", variant(_predict_variant, layers="inverted")),
            Mistake("first layer included", "with several layers, leave the first hidden layer's "
                    "goodness out when skip_first is True", variant(_predict_variant, layers="all")),
            Mistake("lowest goodness", "the prediction is the label with the HIGHEST goodness",
                    variant(_predict_variant, argmin=True)),
            Mistake("only layer skipped", "skip_first leaves the first layer out only when there are "
                    "several: a one-layer network is scored by its only layer",
                    variant(_predict_variant, layers="always skip")),
            Mistake("only the last layer", "add up the goodness of every layer used (all but the first "
                    "when skip_first and several layers), not the last layer's alone",
                    variant(_predict_variant, layers="last")),
            Mistake("last layer left out", "skip_first leaves out the FIRST hidden layer (hs[1:]), not the "
                    "last", variant(_predict_variant, layers="drop last")),
            Mistake("goodness as a mean", "goodness is the SUM over units of h^2 (goodness(h)), not a mean: "
                    "with layers of different widths the mean weighs them differently",
                    variant(_predict_variant, goodness="mean")),
            Mistake("probabilities instead of goodness", "add up the layers' goodness g (sum of h^2), not "
                    "sigmoid(g - theta)", variant(_predict_variant, goodness="probability")),
            Mistake("label 9 never tried", "try every label, range(10) (0 to 9)",
                    variant(_predict_variant, classes=9)),
            Mistake("every label scores the same", "write each candidate label c into the images "
                    "(embed_label) and add the goodness of the activities themselves: your scores do not "
                    "depend on the label", _same_score),
            Mistake("normalised after the layer", "normalise each layer's INPUT (activities does): the "
                    "goodness of a normalised output is always K, whatever the label",
                    variant(_predict_variant, after=True)),
            Mistake("epsilon missing in the normalisation", "a silent layer (every activity 0) must pass on "
                    "zeros, not 0/0: use normalise, or add the 1e-8 under the square root",
                    variant(_predict_variant, eps=False)),
            Mistake("goodness multiplied over layers", "ADD the goodness of the layers used",
                    variant(_predict_variant, combine="product")),
            Mistake("argmax over the wrong axis", "one label per image: the argmax over the labels, "
                    "axis=1 of the (N, 10) scores", variant(_predict_variant, axis=0)),
            Mistake("scores, not labels", "return the (N,) labels: the argmax over the labels of the "
                    "(N, 10) scores", variant(_predict_variant, scores=True)),
        ),
    ),
    Exercise(
        id="forward_forward.hard_negatives", withheld=WITHHELD["forward_forward.hard_negatives"],
        function_name="hard_negative_labels",
        reference=ref.hard_negative_labels,
        fixtures=_hard_fixtures,
        points=1,
        summary="the wrong label with the highest goodness",
        mistakes=(
            Mistake("correct label used as a negative", "exclude each example's own label before "
                    "taking the argmax", lambda scores, labels: np.argmax(scores, axis=1)),
            Mistake("least confusing label", "a hard negative is the wrong label with the HIGHEST "
                    "goodness", lambda scores, labels: np.argmin(scores, axis=1)),
            Mistake("least confusing label", "a hard negative is the wrong label with the HIGHEST "
                    "goodness", variant(_hard_masked, lowest=True)),
            Mistake("second-best label", "the correct label is not always the best-scoring one: exclude it "
                    "(set its score to -inf), then take the argmax", _hard_second_best),
            Mistake("masked with a finite value", "a finite mask can still be the highest score (scores may "
                    "be negative or huge): set the correct label's score to -np.inf",
                    variant(_hard_masked, value=0.0)),
            Mistake("masked with a finite value", "a finite mask can still be the highest score (scores may "
                    "be negative or huge): set the correct label's score to -np.inf",
                    variant(_hard_masked, value=-1.0)),
            Mistake("masked with a finite value", "a finite mask can still be the highest score (scores may "
                    "be negative or huge): set the correct label's score to -np.inf",
                    variant(_hard_masked, value=-1000.0)),
            Mistake("masked with a finite value", "a finite mask can still be the highest score (scores may "
                    "be negative or huge): set the correct label's score to -np.inf",
                    variant(_hard_masked, subtract=100.0)),
            Mistake("index not shifted after np.delete", "after deleting the correct label, the labels "
                    "above it move down by one: add 1 back where the index is >= the label (or mask "
                    "with -np.inf instead)", _hard_delete_not_shifted),
            Mistake("the whole batch's labels masked", "masked[:, labels] masks every label of the batch "
                    "in every row: mask one entry per row, masked[np.arange(N), labels]",
                    variant(_hard_masked, whole_batch=True)),
            Mistake("label 9 never considered", "every label 0 to 9 except the correct one is a candidate",
                    variant(_hard_masked, columns=9)),
            Mistake("argmax over the wrong axis", "one label per example: the argmax over the labels, "
                    "axis=1", _hard_wrong_axis),
            Mistake("scores, not labels", "return the label (the argmax), not its score", _hard_score),
            Mistake("a fixed wrong label", "a hard negative depends on the scores: the wrong label with "
                    "the highest score", _hard_next_label),
        ),
    ),
)


# --- hidden fixtures: kinds, drawn from the course secret (autograder.secret) ----------------------------

# The helpers the setup cell hands to answers; everything else of the course is sealed while grading
# (predict uses the student's own embed_label).
HANDED = ("course_utils.forward_forward:normalise", "course_utils.forward_forward:goodness",
          "course_utils.forward_forward:activities")


# embed_label: the properties its contract documents, and the kind that separates each (a wrong answer
# of tests/answers/forward_forward.py violating it is tagged "[property: ...]"):
# - the first num_classes pixels are REPLACED (the other label pixels set to 0): "pixels already set"
#   (every label pixel 1 before), and every kind (pixels in [0, 1] are rarely 0)
# - num_classes is honoured, not a fixed 10: "five classes"
# - label c goes into pixel c, from label 0 to label 9: "labels 0 and 9", "every label"
# - one pixel per row (out[np.arange(N), labels], not out[:, labels]): "every label" (and any N > 1)
# - the image keeps its shape (N, D) and its other pixels, as floats: every kind; "exactly ten pixels"
#   (D = num_classes: nothing of the image is left), "many pixels" (D = 784), "saturated pixels" (pixels
#   exactly 0 and 1, as in MNIST: an integer copy keeps the 1s, a blank image does not)
# - a batch of one; x is not modified (every kind: grading compares x before and after)
def _embed_hidden(rng):
    out = []
    for kind, n, d, classes in (("a batch of one", 1, 20, None), ("exactly ten pixels", 6, 10, None),
                                ("many pixels", 9, 784, None), ("labels 0 and 9", 8, 30, None),
                                ("five classes", 7, 25, 5), ("pixels already set", 5, 16, None),
                                ("every label", 10, 14, None), ("saturated pixels", 6, 40, None)):
        x = rng.uniform(0, 1, (n, d))
        if kind == "saturated pixels":     # as in MNIST: blank background and full ink, exactly 0 and 1
            x = np.where(rng.uniform(0, 1, (n, d)) < 0.4, 0.0, np.where(rng.uniform(0, 1, (n, d)) < 0.5, 1.0, x))
        labels = rng.integers(0, classes or 10, n)
        if kind == "labels 0 and 9":
            labels = np.array([0, 9] * (n // 2))[:n]
        elif kind == "every label":
            labels = rng.permutation(10)
        elif kind == "pixels already set":
            x[:, :10] = 1.0
        kwargs = dict(x=x, labels=labels) if classes is None else dict(x=x, labels=labels, num_classes=classes)
        out.append(Fixture(f"{kind}: N={n}, D={d}" + (f", num_classes={classes}" if classes else ""), kwargs))
    return out


def _with_goodness(rng, h, low, high):
    """``h`` with each row rescaled so that its goodness (sum of squares) lies in [low, high]; the
    logistic's argument |g - theta| stays below about 20, where every textbook way of writing the loss
    (softplus, -log sigmoid, -log(1 - sigmoid)) keeps float64's precision."""
    g = np.sum(h**2, axis=1, keepdims=True)
    target = rng.uniform(low, high, (len(h), 1))
    return np.where(g > 0, h * np.sqrt(target / np.where(g > 0, g, 1.0)), h)


# layer_loss: properties, and the kinds that separate them:
# - goodness is one number per example, the SUM over the K units of h^2 (not a mean, not a length, not
#   the sum of h, not summed over the examples): every kind with K > 1 ("one unit" alone cannot tell)
# - softplus(theta - g) for positives, softplus(g - theta) for negatives (the sign of each term, and
#   which input is which): every kind; "goodness far above the threshold", "... far below ..." (one
#   term near 0, the other large)
# - the threshold's role: every kind with theta > 0 ("a threshold of zero" is where leaving it out agrees)
# - a mean over the N positives plus a mean over the M negatives (not sums, not one mean over N + M):
#   "more negatives than positives", "more positives than negatives"
# - silent units (g = 0: softplus(theta) + softplus(-theta)): "silent units"
# - |g - theta| <= ~20 everywhere, so that -log(1 - sigmoid) written by hand keeps float64's precision
def _loss_hidden(rng):
    out = []
    for kind, n, m, k, theta, pos, neg in (("one positive, one negative", 1, 1, 5, 3.0, (0, 8), (0, 8)),
                                           ("more negatives than positives", 3, 9, 6, 4.0, (1, 10), (0, 9)),
                                           ("more positives than negatives", 9, 2, 4, 2.0, (0, 7), (0, 6)),
                                           ("goodness far above the threshold", 5, 5, 8, 5.0, (15, 22), (15, 22)),
                                           ("goodness far below the threshold", 5, 5, 8, 20.0, (0, 3), (0, 3)),
                                           ("silent units", 4, 4, 6, 2.0, (0, 0), (0, 0)),
                                           ("one unit", 6, 6, 1, 0.5, (0, 4), (0, 4)),
                                           ("a threshold of zero", 5, 4, 5, 0.0, (0, 6), (0, 6))):
        h_pos = np.maximum(rng.standard_normal((n, k)) + 0.3, 0) if pos[1] else np.zeros((n, k))
        h_neg = np.maximum(rng.standard_normal((m, k)), 0) if neg[1] else np.zeros((m, k))
        h_pos, h_neg = _with_goodness(rng, h_pos, *pos), _with_goodness(rng, h_neg, *neg)
        out.append(Fixture(f"{kind}: N={n}, M={m}, K={k}", dict(h_pos=h_pos, h_neg=h_neg, threshold=theta)))
    return out


# layer_gradient: properties, and the kinds that separate them:
# - the layer's input is normalise(h_below): each ROW divided by its root-mean-square over its J
#   entries (not left out, not its length, not over the batch, not over this layer's K units, with the
#   square root): every deeper-layer kind (rows' mean square about 3, not 1); J != K in every kind;
#   "a batch of one of each" (a mean over the batch of one row is that row)
# - dL/dW = delta^T u, with the normalised u (not h_below): every deeper-layer kind
# - dL/dg = -sigmoid(theta - g) / N for positives, +sigmoid(g - theta) / M for negatives (each sign, the
#   threshold inside, the sigmoid's argument): every kind; "a high threshold", "a low threshold"
# - a mean over N plus a mean over M (not sums, not one mean over N + M): "many negatives", the first
#   layer's kind, "one unit" (N != M)
# - dg/dz = 2h (the factor 2; h, not z; not relu'(z) alone): "mostly silent units" (z < 0 common) and
#   every kind
# - goodness a sum over the K units (not a mean): every kind with K > 1
# - dL/db = the sum of delta; the bias inside the ReLU: every kind
# - the first layer sees label-embedded images: "the first layer (label-embedded images)"
# - a weight-shaped result (K, J): J != K everywhere, so that a transposed answer has the wrong shape
# Every kind has at least one active unit (else the gradient is 0 and separates nothing), and every
# row of h_below has a mean square >= ~0.09: normalise's 1e-8, which an answer may leave out (Section
# 2), moves the result by far less than the tolerance.
def _gradient_hidden(rng):
    out = []
    for kind, j, k, n, m, theta, first in (("the first layer (label-embedded images)", 14, 6, 5, 4, 3.0, True),
                                           ("a batch of one of each", 8, 5, 1, 1, 2.0, False),
                                           ("one unit", 9, 1, 4, 3, 0.5, False),
                                           ("more units than inputs", 4, 9, 5, 5, 4.0, False),
                                           ("many negatives", 10, 6, 2, 12, 3.0, False),
                                           ("a high threshold", 10, 6, 5, 5, 25.0, False),
                                           ("a low threshold", 10, 6, 5, 5, 0.2, False),
                                           ("mostly silent units", 8, 7, 6, 6, 2.0, False)):
        for _ in range(100):        # draw again until some unit is active on each kind of data
            W = rng.normal(0.0, 1.0 / np.sqrt(j), (k, j))
            b = 0.2 * rng.standard_normal(k) - (1.0 if kind == "mostly silent units" else 0.0)
            if first:
                below_pos = ref.embed_label(rng.uniform(0.2, 1, (n, j)), rng.integers(0, 10, n))
                below_neg = ref.embed_label(rng.uniform(0.2, 1, (m, j)), rng.integers(0, 10, m))
            else:   # activities of the layer below: each row's mean square well above normalise's 1e-8
                below_pos = np.abs(1.5 * rng.standard_normal((n, j))) + 0.3
                below_neg = np.abs(rng.standard_normal((m, j))) + 0.3
            if all(np.any(ref.layer_forward(W, b, below)[1] > 0) for below in (below_pos, below_neg)):
                break
        out.append(Fixture(f"{kind}: J={j}, K={k}, N={n}, M={m}",
                           dict(W=W, b=b, h_below_pos=below_pos, h_below_neg=below_neg, threshold=theta)))
    return out


# predict: properties, and the kinds that separate them:
# - every label 0..9 is tried, and the HIGHEST total wins: every kind (N examples, ten labels)
# - each layer's input normalised (activities): every kind
# - the goodness (sum of h^2, not a mean, not sigmoid(g - theta)) ADDED over the layers used (not
#   multiplied, not the last layer alone): "three layers", "two layers, skip_first=False" (layers of
#   different widths)
# - skip_first with several layers leaves the FIRST layer out (not the last): "two layers", "three
#   layers", "wide layers"; skip_first=False keeps every layer: "... skip_first=False"
# - skip_first with ONE layer keeps it (its only layer): "one layer"
# - a silent layer passes on zeros (normalise's 1e-8; 0/0 without it): "a first layer silent for some
#   labels"
# - one label per image, (N,): "a batch of one"; x not modified: every kind
# Every image's best label beats the runner-up by more than 1e-4 of its score (float32 answers agree).
def _predict_hidden(rng):
    out = []
    for kind, sizes, n, skip in (("one layer", (20, 12), 15, True), ("one layer, skip_first=False", (20, 12), 15, False),
                                 ("two layers", (18, 10, 8), 30, True), ("two layers, skip_first=False", (18, 10, 8), 30, False),
                                 ("three layers", (16, 9, 7, 6), 25, True), ("a batch of one", (20, 12, 9), 1, True),
                                 ("wide layers", (24, 30, 30), 20, True),
                                 ("a first layer silent for some labels", (20, 8, 6), 20, True)):
        params = _ff_params(rng, sizes)
        if kind == "a first layer silent for some labels":
            silent = rng.permutation(10)[:5]                   # these labels silence every unit of layer 1
            params["W1"][:, silent] -= 8.0
            params["b2"] = -np.abs(params["b2"])               # (a silent layer 1 then gives layer 2 no goodness)
        out.append(Fixture(f"{kind}: sizes={'-'.join(map(str, sizes))}, N={n}",
                           dict(params=params, x=_clear_winners(rng, params, n, sizes[0], skip), skip_first=skip)))
    return out


def _clear_winners(rng, params, n, d, skip_first, margin=1e-4):
    """(n, d) images whose best label beats the runner-up by more than ``margin`` of its score, so that a
    float32 answer (JAX's default) predicts the same labels: rows near a tie are drawn again."""
    x = rng.uniform(0, 1, (n, d))
    for _ in range(50):
        top = np.sort(ref.label_goodness(params, x, skip_first), axis=1)
        close = top[:, -1] - top[:, -2] <= margin * np.abs(top[:, -1])
        if not close.any():
            break
        x[close] = rng.uniform(0, 1, (int(close.sum()), d))
    return x


# hard_negative_labels: properties, and the kinds that separate them:
# - the correct label is excluded: "the correct label scores highest"
# - the HIGHEST-scoring wrong label (not the lowest, not the second best of all labels): "the correct
#   label scores lowest" (the second best is then not the hardest negative) and every kind
# - the exclusion beats every score, however negative or large (-inf, not 0, -1 or a finite penalty):
#   "every score negative", "large negative scores", "large scores, the correct label highest"
# - one entry masked per row, each row's own label: every kind with N > 1 and several labels
# - labels 0 and 9 are candidates like the others: "labels 0 and 9" (the hardest wrong label of a 0 is 9,
#   and of a 9 is 0)
# - one label per example, (N,): "a batch of one"; scores not modified: every kind
def _hard_hidden(rng):
    out = []
    for kind, n in (("a batch of one", 1), ("the correct label scores highest", 8), ("the correct label scores lowest", 8),
                    ("every score negative", 7), ("labels 0 and 9", 6), ("large scores", 9),
                    ("large negative scores", 8), ("large scores, the correct label highest", 8)):
        scores = rng.standard_normal((n, 10))
        labels = rng.integers(0, 10, n)
        rows = np.arange(n)
        if kind == "the correct label scores highest":
            scores[rows, labels] += 10.0
        elif kind == "the correct label scores lowest":
            scores[rows, labels] -= 10.0
        elif kind == "every score negative":
            scores = -np.abs(scores) - 1.0
            scores[rows, labels] = -0.1
        elif kind == "labels 0 and 9":
            labels = np.array([0, 9] * n)[:n]
            scores[rows, labels] += 5.0
            scores[rows, 9 - labels] += 3.0          # the other end is the hardest wrong label
        elif kind == "large scores":
            scores *= 1e6
        elif kind == "large negative scores":
            scores = -(np.abs(scores) + 1.0) * 1e6
        elif kind == "large scores, the correct label highest":
            scores *= 1e6
            scores[rows, labels] += 1e7
        out.append(Fixture(f"{kind}: N={n}", dict(scores=scores, labels=labels)))
    return out


_HIDDEN = {"forward_forward.embed_label": _embed_hidden, "forward_forward.layer_loss": _loss_hidden,
           "forward_forward.layer_gradient": _gradient_hidden, "forward_forward.predict": _predict_hidden,
           "forward_forward.hard_negatives": _hard_hidden}
EXERCISES = tuple(dataclasses.replace(e, hidden=_HIDDEN[e.id]) for e in EXERCISES)
