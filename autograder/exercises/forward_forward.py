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

def _embed_added(x, labels, num_classes=10):
    out = np.array(x, dtype=np.float64, copy=True)
    out[np.arange(len(out)), labels] = 1.0  # forgot to clear the other first pixels
    return out


def _loss_variant(h_pos, h_neg, threshold, *, mean_goodness=False, flipped=False, summed=False):
    g = (lambda h: np.mean(h**2, axis=1)) if mean_goodness else ref.goodness
    sign = -1.0 if flipped else 1.0
    reduce = np.sum if summed else np.mean
    return float(reduce(ref.softplus(sign * (threshold - g(h_pos)))) + reduce(ref.softplus(sign * (g(h_neg) - threshold))))


def _predict_variant(params, x, skip_first=True, *, normalise=True, all_layers=False, argmin=False):
    first = 1 if (skip_first and ref.num_layers(params) > 1 and not all_layers) else 0
    scores = np.zeros((len(x), 10))
    for c in range(10):
        h = ref.embed_label(x, np.full(len(x), c))
        total = 0.0
        for l in range(1, ref.num_layers(params) + 1):
            u = ref.normalise(h) if normalise else h
            h = np.maximum(u @ params[f"W{l}"].T + params[f"b{l}"], 0)
            if l - 1 >= first:
                total = total + ref.goodness(h)
        scores[:, c] = total
    return np.argmin(scores, 1) if argmin else np.argmax(scores, 1)



def _gradient_variant(W, b, h_below_pos, h_below_neg, threshold, *, neg_sign=1.0, with_threshold=True,
                      raw_outer=False, normalise=True, reduce="mean", relu_derivative=True, two=2.0):
    def forward(h_below):
        u = ref.normalise(h_below) if normalise else h_below
        z = u @ W.T + b
        return u, z, np.maximum(z, 0.0)
    (u_pos, z_pos, h_pos), (u_neg, z_neg, h_neg) = forward(h_below_pos), forward(h_below_neg)
    theta = threshold if with_threshold else 0.0
    n, m = len(h_pos), len(h_neg)
    if reduce == "sum":
        n = m = 1
    elif reduce == "pooled":
        n = m = n + m
    d_pos = -ref.sigmoid(theta - ref.goodness(h_pos)) / n
    d_neg = neg_sign * ref.sigmoid(ref.goodness(h_neg) - theta) / m
    a_pos, a_neg = (h_pos, h_neg) if relu_derivative else (z_pos, z_neg)
    delta_pos, delta_neg = two * d_pos[:, None] * a_pos, two * d_neg[:, None] * a_neg
    i_pos, i_neg = (h_below_pos, h_below_neg) if raw_outer else (u_pos, u_neg)
    return {"W": delta_pos.T @ i_pos + delta_neg.T @ i_neg, "b": delta_pos.sum(0) + delta_neg.sum(0)}


EXERCISES = (
    Exercise(
        id="forward_forward.embed_label", withheld=WITHHELD["forward_forward.embed_label"],
        function_name="embed_label",
        reference=ref.embed_label,
        fixtures=_embed_fixtures,
        points=1,
        summary="the label's one-hot code written into the first 10 pixels",
        mistakes=(
            Mistake("other label pixels not cleared", "set all of the first 10 pixels: 1 at the label, "
                    "0 at the other nine", _embed_added),
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
            Mistake("goodness as a mean", "goodness is the SUM of squared activities: the threshold "
                    "(the number of units) is set for a sum", variant(_loss_variant, mean_goodness=True)),
            Mistake("wrong sign of the logistic argument", "positives should have goodness ABOVE the "
                    "threshold: softplus(theta - g_pos) and softplus(g_neg - theta)",
                    variant(_loss_variant, flipped=True)),
            Mistake("sum instead of mean", "average the loss over the positive and over the negative "
                    "examples", variant(_loss_variant, summed=True)),
        ),
    ),
    Exercise(
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
            Mistake("threshold missing", "the derivative of softplus(theta - g) is -sigmoid(theta - g): "
                    "keep theta inside the sigmoid", variant(_gradient_variant, with_threshold=False)),
            Mistake("raw input in the outer product", "the layer's input is the NORMALISED activity u = "
                    "normalise(h_below): dL/dW = delta^T u", variant(_gradient_variant, raw_outer=True)),
            Mistake("normalisation missing", "the layer sees normalise(h_below), not h_below: "
                    "h = relu(normalise(h_below) @ W.T + b)", variant(_gradient_variant, normalise=False)),
            Mistake("sum instead of mean", "the loss averages over the N positives and over the M "
                    "negatives: divide each term by its own count", variant(_gradient_variant, reduce="sum")),
            Mistake("one mean over positives and negatives", "the loss is the mean over the N positives "
                    "PLUS the mean over the M negatives: divide by N and by M, not by N + M",
                    variant(_gradient_variant, reduce="pooled")),
            Mistake("ReLU derivative missing", "dg/dz = 2 h = 2 relu(z), which is 0 where z < 0: use the "
                    "activity h, not the pre-activation z", variant(_gradient_variant, relu_derivative=False)),
            Mistake("factor 2 missing", "g = sum of h^2, so dg/dh = 2h", variant(_gradient_variant, two=1.0)),
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
            Mistake("first layer included", "with several layers, leave the first hidden layer's "
                    "goodness out when skip_first is True", variant(_predict_variant, all_layers=True)),
            Mistake("lowest goodness", "the prediction is the label with the HIGHEST goodness",
                    variant(_predict_variant, argmin=True)),
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
        ),
    ),
)


# --- hidden fixtures: kinds, drawn from the course secret (autograder.secret) ----------------------------

# The helpers the setup cell hands to answers; everything else of the course is sealed while grading
# (predict uses the student's own embed_label).
HANDED = ("course_utils.forward_forward:normalise", "course_utils.forward_forward:goodness",
          "course_utils.forward_forward:activities")


def _embed_hidden(rng):
    out = []
    for kind, n, d, classes in (("a batch of one", 1, 20, None), ("exactly ten pixels", 6, 10, None),
                                ("many pixels", 9, 784, None), ("labels 0 and 9", 8, 30, None),
                                ("five classes", 7, 25, 5), ("pixels already set", 5, 16, None),
                                ("every label", 10, 14, None)):
        x = rng.uniform(0, 1, (n, d))
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
        W = rng.normal(0.0, 1.0 / np.sqrt(j), (k, j))
        b = 0.2 * rng.standard_normal(k) - (1.0 if kind == "mostly silent units" else 0.0)
        if first:
            below_pos = ref.embed_label(rng.uniform(0.2, 1, (n, j)), rng.integers(0, 10, n))
            below_neg = ref.embed_label(rng.uniform(0.2, 1, (m, j)), rng.integers(0, 10, m))
        else:   # activities of the layer below: each row's mean square well above normalise's 1e-8
            below_pos = np.abs(1.5 * rng.standard_normal((n, j))) + 0.3
            below_neg = np.abs(rng.standard_normal((m, j))) + 0.3
        out.append(Fixture(f"{kind}: J={j}, K={k}, N={n}, M={m}",
                           dict(W=W, b=b, h_below_pos=below_pos, h_below_neg=below_neg, threshold=theta)))
    return out


def _predict_hidden(rng):
    out = []
    for kind, sizes, n, skip in (("one layer", (20, 12), 15, True), ("one layer, skip_first=False", (20, 12), 15, False),
                                 ("two layers", (18, 10, 8), 30, True), ("two layers, skip_first=False", (18, 10, 8), 30, False),
                                 ("three layers", (16, 9, 7, 6), 25, True), ("a batch of one", (20, 12, 9), 1, True),
                                 ("wide layers", (24, 30, 30), 20, True)):
        out.append(Fixture(f"{kind}: sizes={'-'.join(map(str, sizes))}, N={n}",
                           dict(params=_ff_params(rng, sizes), x=rng.uniform(0, 1, (n, sizes[0])), skip_first=skip)))
    return out


def _hard_hidden(rng):
    out = []
    for kind, n in (("a batch of one", 1), ("the correct label scores highest", 8), ("the correct label scores lowest", 8),
                    ("every score negative", 7), ("labels 0 and 9", 6), ("large scores", 9)):
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
        elif kind == "large scores":
            scores *= 1e6
        out.append(Fixture(f"{kind}: N={n}", dict(scores=scores, labels=labels)))
    return out


_HIDDEN = {"forward_forward.embed_label": _embed_hidden, "forward_forward.layer_loss": _loss_hidden,
           "forward_forward.layer_gradient": _gradient_hidden, "forward_forward.predict": _predict_hidden,
           "forward_forward.hard_negatives": _hard_hidden}
EXERCISES = tuple(dataclasses.replace(e, hidden=_HIDDEN[e.id]) for e in EXERCISES)
