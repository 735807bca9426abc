"""Tutorial 04's graders: the references get full marks, and wrong answers written the way students
write them (not the graders' own variants) are rejected with feedback that names the mistake."""
import numpy as np
import pytest

from autograder import check_exercise
from autograder.exercises import exercises_of
from course_utils.forward_forward import activities, embed_label, goodness


def test_references_get_full_marks_and_every_exercise_is_graded():
    exercises = exercises_of("forward_forward")
    assert {e.id for e in exercises} == {"forward_forward.embed_label", "forward_forward.layer_loss",
                                         "forward_forward.layer_gradient", "forward_forward.predict",
                                         "forward_forward.hard_negatives"}
    for exercise in exercises:
        result = check_exercise(exercise.id, exercise.reference, as_graded=False)
        assert result.score == result.max_score == exercise.points, (exercise.id, result.feedback)


def test_fixtures_include_a_batch_of_one_and_several_shapes():
    by_id = {e.id: e for e in exercises_of("forward_forward")}
    for exercise_id, arg in (("forward_forward.embed_label", "x"), ("forward_forward.predict", "x"),
                             ("forward_forward.layer_loss", "h_pos"),
                             ("forward_forward.hard_negatives", "scores")):
        shapes = [f.kwargs[arg].shape for f in by_id[exercise_id].fixtures()]
        assert 1 in {s[0] for s in shapes} and len({s[0] for s in shapes}) >= 3, exercise_id
    widths = {f.kwargs["x"].shape[1] for f in by_id["forward_forward.predict"].fixtures()}
    assert len(widths) >= 3


# --- hand-written wrong answers ---------------------------------------------------------------

def embed_without_clearing(x, labels, num_classes=10):
    out = x.copy()
    for n, label in enumerate(labels):
        out[n, label] = 1.0
    return out


def embed_in_place(x, labels, num_classes=10):
    x[:, :num_classes] = np.eye(num_classes)[labels]
    return x


def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def loss_with_mean_goodness(h_pos, h_neg, threshold):
    g_pos, g_neg = (h_pos**2).mean(axis=1), (h_neg**2).mean(axis=1)
    return np.mean(np.log1p(np.exp(threshold - g_pos))) + np.mean(np.log1p(np.exp(g_neg - threshold)))


def loss_with_flipped_sign(h_pos, h_neg, threshold):
    # -log p(positive) written with p = sigmoid(theta - g): the sign of the argument is reversed
    g_pos, g_neg = (h_pos**2).sum(axis=1), (h_neg**2).sum(axis=1)
    return -np.mean(np.log(_sigmoid(threshold - g_pos))) - np.mean(np.log(1.0 - _sigmoid(threshold - g_neg)))


def loss_summed_over_examples(h_pos, h_neg, threshold):
    g_pos, g_neg = (h_pos**2).sum(axis=1), (h_neg**2).sum(axis=1)
    return np.sum(np.logaddexp(0, threshold - g_pos)) + np.sum(np.logaddexp(0, g_neg - threshold))


def _embedded(x, label):
    """x with the label one-hot in its first ten pixels (a student's own, as predict uses)."""
    out = np.array(x, dtype=float)
    out[:, :10] = np.eye(10)[label]
    return out


def _scores(params, x, skip_first, normalised=True):
    L = len([k for k in params if k.startswith("W")])
    scores = []
    for c in range(10):
        h = _embedded(x, c)
        total = np.zeros(len(x))
        for l in range(1, L + 1):
            if normalised:
                h = h / np.sqrt(np.mean(h**2, axis=1, keepdims=True) + 1e-8)
            h = np.maximum(h @ params[f"W{l}"].T + params[f"b{l}"], 0.0)
            if l > 1 or not skip_first or L == 1:
                total += np.sum(h**2, axis=1)
        scores.append(total)
    return np.stack(scores, axis=1)


def predict_without_normalisation(params, x, skip_first=True):
    return _scores(params, x, skip_first, normalised=False).argmax(axis=1)


def predict_with_every_layer(params, x, skip_first=True):
    scores = np.stack([sum(goodness(h) for h in activities(params, embed_label(x, np.full(len(x), c))))
                       for c in range(10)], axis=1)
    return scores.argmax(axis=1)


def predict_lowest_goodness(params, x, skip_first=True):
    return _scores(params, x, skip_first).argmin(axis=1)


def hard_negative_unmasked(scores, labels):
    return np.array([int(np.argmax(row)) for row in scores])


def hard_negative_lowest(scores, labels):
    return scores.argmin(axis=1)


def hard_negative_in_place(scores, labels):
    scores[np.arange(len(labels)), labels] = -np.inf
    return scores.argmax(axis=1)


@pytest.mark.parametrize("exercise_id, answer, words", [
    ("forward_forward.embed_label", embed_without_clearing, "other label pixels not cleared"),
    ("forward_forward.embed_label", embed_in_place, "modified its input 'x' in place"),
    ("forward_forward.layer_loss", loss_with_mean_goodness, "goodness as a mean"),
    ("forward_forward.layer_loss", loss_with_flipped_sign, "wrong sign of the logistic argument"),
    ("forward_forward.layer_loss", loss_summed_over_examples, "sum instead of mean"),
    ("forward_forward.predict", predict_without_normalisation, "missing normalisation"),
    ("forward_forward.predict", predict_with_every_layer, "first layer included"),
    ("forward_forward.predict", predict_lowest_goodness, "lowest goodness"),
    ("forward_forward.hard_negatives", hard_negative_unmasked, "correct label used as a negative"),
    ("forward_forward.hard_negatives", hard_negative_lowest, "least confusing label"),
    ("forward_forward.hard_negatives", hard_negative_in_place, "modified its input 'scores' in place"),
])
def test_hand_written_mistakes_are_rejected_and_named(exercise_id, answer, words):
    result = check_exercise(exercise_id, answer, as_graded=False)   # (some are built on course functions)
    assert result.score == 0 and not result.passed, (exercise_id, result.feedback)
    assert words in result.feedback, result.feedback


def test_hand_written_correct_answers_in_another_style_pass():
    # a loop-and-sigmoid loss, and prediction through the helper above: same numbers, full marks
    def loss_via_sigmoid(h_pos, h_neg, threshold):
        g_pos, g_neg = (h_pos**2).sum(axis=1), (h_neg**2).sum(axis=1)
        return -np.mean(np.log(_sigmoid(g_pos - threshold))) - np.mean(np.log(1.0 - _sigmoid(g_neg - threshold)))

    def predict_by_loop(params, x, skip_first=True):
        return _scores(params, x, skip_first).argmax(axis=1)

    assert check_exercise("forward_forward.layer_loss", loss_via_sigmoid).passed
    assert check_exercise("forward_forward.predict", predict_by_loop).passed


# --- the layer's local gradient, written the ways students write it -----------------------------

def _rms_normalise(h):
    return h / np.sqrt((h * h).mean(axis=1, keepdims=True) + 1e-8)


def gradient_by_loops(W, b, h_below_pos, h_below_neg, threshold):
    # one example at a time, accumulating outer products
    gW, gb = np.zeros_like(W), np.zeros_like(b)
    for rows, sign in ((h_below_pos, -1.0), (h_below_neg, 1.0)):
        for row in rows:
            u = row / np.sqrt(np.mean(row**2) + 1e-8)
            h = np.maximum(W @ u + b, 0.0)
            g = float(h @ h)
            dL_dg = sign * _sigmoid(sign * (g - threshold)) / len(rows)
            gW += np.outer(dL_dg * 2 * h, u)
            gb += dL_dg * 2 * h
    return {"W": gW, "b": gb}


def gradient_by_einsum(W, b, h_below_pos, h_below_neg, threshold):
    u_p, u_n = _rms_normalise(h_below_pos), _rms_normalise(h_below_neg)
    h_p, h_n = np.maximum(np.einsum("kj,nj->nk", W, u_p) + b, 0), np.maximum(np.einsum("kj,nj->nk", W, u_n) + b, 0)
    d_p = -2 * h_p * _sigmoid(threshold - (h_p**2).sum(1))[:, None] / len(h_p)
    d_n = 2 * h_n * _sigmoid((h_n**2).sum(1) - threshold)[:, None] / len(h_n)
    return {"W": np.einsum("nk,nj->kj", d_p, u_p) + np.einsum("nk,nj->kj", d_n, u_n), "b": d_p.sum(0) + d_n.sum(0)}


def gradient_in_float32(W, b, h_below_pos, h_below_neg, threshold):
    out = gradient_by_einsum(W.astype(np.float32), b.astype(np.float32), h_below_pos.astype(np.float32),
                             h_below_neg.astype(np.float32), np.float32(threshold))
    return {k: v.astype(np.float32) for k, v in out.items()}


def gradient_by_jax_grad(W, b, h_below_pos, h_below_neg, threshold):
    import jax
    import jax.numpy as jnp

    def loss(W, b):
        hs = [jnp.maximum(_rms_normalise(h) @ W.T + b[None, :], 0) for h in (h_below_pos, h_below_neg)]
        g_p, g_n = (hs[0] ** 2).sum(1), (hs[1] ** 2).sum(1)
        return jnp.mean(jax.nn.softplus(threshold - g_p)) + jnp.mean(jax.nn.softplus(g_n - threshold))
    gW, gb = jax.grad(loss, argnums=(0, 1))(jnp.asarray(W, jnp.float32), jnp.asarray(b, jnp.float32))
    return {"W": gW, "b": gb}


@pytest.mark.parametrize("answer", [gradient_by_loops, gradient_by_einsum, gradient_in_float32, gradient_by_jax_grad])
def test_correct_gradients_in_other_styles_get_full_marks(answer):
    result = check_exercise("forward_forward.layer_gradient", answer)
    assert result.passed and result.score == 3, result.feedback


def gradient_negative_sign_flipped(W, b, h_below_pos, h_below_neg, threshold):
    u_p, u_n = _rms_normalise(h_below_pos), _rms_normalise(h_below_neg)
    h_p, h_n = np.maximum(u_p @ W.T + b, 0), np.maximum(u_n @ W.T + b, 0)
    # "both kinds of example push the goodness the same way"
    d_p = -2 * h_p * _sigmoid(threshold - (h_p**2).sum(1))[:, None] / len(h_p)
    d_n = -2 * h_n * _sigmoid((h_n**2).sum(1) - threshold)[:, None] / len(h_n)
    return {"W": d_p.T @ u_p + d_n.T @ u_n, "b": d_p.sum(0) + d_n.sum(0)}


def gradient_with_pre_activation(W, b, h_below_pos, h_below_neg, threshold):
    u_p, u_n = _rms_normalise(h_below_pos), _rms_normalise(h_below_neg)
    z_p, z_n = u_p @ W.T + b, u_n @ W.T + b
    h_p, h_n = np.maximum(z_p, 0), np.maximum(z_n, 0)
    d_p = -2 * z_p * _sigmoid(threshold - (h_p**2).sum(1))[:, None] / len(h_p)
    d_n = 2 * z_n * _sigmoid((h_n**2).sum(1) - threshold)[:, None] / len(h_n)
    return {"W": d_p.T @ u_p + d_n.T @ u_n, "b": d_p.sum(0) + d_n.sum(0)}


def gradient_summed(W, b, h_below_pos, h_below_neg, threshold):
    out = gradient_by_einsum(W, b, h_below_pos, h_below_neg, threshold)
    u_p, u_n = _rms_normalise(h_below_pos), _rms_normalise(h_below_neg)
    h_p, h_n = np.maximum(u_p @ W.T + b, 0), np.maximum(u_n @ W.T + b, 0)
    d_p = -2 * h_p * _sigmoid(threshold - (h_p**2).sum(1))[:, None]
    d_n = 2 * h_n * _sigmoid((h_n**2).sum(1) - threshold)[:, None]
    out = {"W": d_p.T @ u_p + d_n.T @ u_n, "b": d_p.sum(0) + d_n.sum(0)}
    return out


def gradient_raw_input(W, b, h_below_pos, h_below_neg, threshold):
    u_p, u_n = _rms_normalise(h_below_pos), _rms_normalise(h_below_neg)
    h_p, h_n = np.maximum(u_p @ W.T + b, 0), np.maximum(u_n @ W.T + b, 0)
    d_p = -2 * h_p * _sigmoid(threshold - (h_p**2).sum(1))[:, None] / len(h_p)
    d_n = 2 * h_n * _sigmoid((h_n**2).sum(1) - threshold)[:, None] / len(h_n)
    return {"W": d_p.T @ h_below_pos + d_n.T @ h_below_neg, "b": d_p.sum(0) + d_n.sum(0)}


def gradient_without_threshold(W, b, h_below_pos, h_below_neg, threshold):
    return gradient_by_einsum(W, b, h_below_pos, h_below_neg, 0.0)


def gradient_stub(W, b, h_below_pos, h_below_neg, threshold):
    raise NotImplementedError()


@pytest.mark.parametrize("answer, words", [
    (gradient_negative_sign_flipped, "sign of the negative term"),
    (gradient_with_pre_activation, "ReLU derivative missing"),
    (gradient_summed, "sum instead of mean"),
    (gradient_raw_input, "raw input in the outer product"),
    (gradient_without_threshold, "threshold missing"),
])
def test_wrong_gradients_are_rejected_and_named(answer, words):
    result = check_exercise("forward_forward.layer_gradient", answer)
    assert result.score == 0 and result.feedback.startswith(words + ":"), result.feedback


def test_unsolved_gradient_stub_scores_zero():
    result = check_exercise("forward_forward.layer_gradient", gradient_stub)
    assert result.score == 0 and not result.passed


# --- issue 21: fair to every correct answer, names every common mistake ---------------------------

import copy  # noqa: E402

from answers import forward_forward as answer_set  # noqa: E402
from autograder.core import compare, normalise as as_arrays  # noqa: E402
from autograder.exercises import get_exercise  # noqa: E402
from autograder.secret import PRACTICE, Secret  # noqa: E402
from course_utils import forward_forward as ff  # noqa: E402

SECRETS = (PRACTICE, Secret(b"tutorial 04's own test secret", "test"), Secret(b"and another one", "test"))


def _hidden(exercise_id, secret):
    exercise = get_exercise(exercise_id)
    return exercise.hidden(np.random.default_rng(secret.seed(exercise_id)))


def _fails_on(exercise_id, answer, fixture):
    exercise = get_exercise(exercise_id)
    want = as_arrays(exercise.reference(**copy.deepcopy(fixture.kwargs)))
    try:
        with np.errstate(all="ignore"):       # (an answer without the epsilon divides 0 by 0)
            got = as_arrays(answer(**copy.deepcopy(fixture.kwargs)))
    except Exception:
        return True
    return not compare(want, got, *exercise.tolerance(False, want))[0]


def test_every_exercise_has_a_literal_answer_that_passes():
    # Each literal_<function> implements the notebook's written equations (Section 2's normalisation with
    # its epsilon, softplus as log(1 + e^a), the chain rule of Section 3) and must get full marks.
    for exercise in exercises_of("forward_forward"):
        literal = [f for f in answer_set.CORRECT[exercise.id] if f.__name__ == f"literal_{exercise.function_name}"]
        assert literal, exercise.id
        result = check_exercise(exercise.id, literal[0])
        assert result.passed, (exercise.id, result.feedback)


def test_an_answer_without_the_normalisations_epsilon_gets_full_marks():
    # u = h / sqrt(mean h^2) (no 1e-8): no row of h_below is silent, so the guard moves the result by far
    # less than rtol times its largest entry, the tolerance of layer_gradient
    result = check_exercise("forward_forward.layer_gradient", answer_set.gradient_without_epsilon)
    assert result.passed, result.feedback
    for secret in SECRETS:
        for fixture in _hidden("forward_forward.layer_gradient", secret):
            for h in (fixture.kwargs["h_below_pos"], fixture.kwargs["h_below_neg"]):
                assert np.min(np.mean(h**2, axis=1)) >= 0.09, fixture.label


def test_layer_gradients_tolerance_still_rejects_a_small_error():
    # the scaled absolute tolerance is rtol (1e-6) of the result's largest entry: an answer 1e-5 off fails
    def off(W, b, h_below_pos, h_below_neg, threshold):
        out = ff.layer_gradient(W, b, h_below_pos, h_below_neg, threshold)
        return {"W": out["W"] * (1 + 1e-5), "b": out["b"]}
    assert not check_exercise("forward_forward.layer_gradient", off, as_graded=False).passed


# (exercise, a wrong answer of the set violating one documented property, the hidden kind that separates
# it): the kinds are listed with their properties above each _xxx_hidden generator
PROPERTIES = [
    ("forward_forward.embed_label", "embed_not_cleared", "pixels already set"),
    ("forward_forward.embed_label", "embed_ten_hard_coded", "five classes"),
    ("forward_forward.embed_label", "embed_one_based", "labels 0 and 9"),
    ("forward_forward.embed_label", "embed_whole_batch", "every label"),
    ("forward_forward.embed_label", "embed_shifted", "exactly ten pixels"),
    ("forward_forward.layer_loss", "loss_mean_goodness", "more negatives than positives"),
    ("forward_forward.layer_loss", "loss_pooled", "more negatives than positives"),
    ("forward_forward.layer_loss", "loss_summed", "more positives than negatives"),
    ("forward_forward.layer_loss", "loss_flipped", "goodness far above the threshold"),
    ("forward_forward.layer_loss", "loss_negative_term_sign", "goodness far below the threshold"),
    ("forward_forward.layer_loss", "loss_no_threshold", "silent units"),
    ("forward_forward.layer_gradient", "gradient_no_normalisation", "many negatives"),
    ("forward_forward.layer_gradient", "gradient_raw_outer", "a low threshold"),
    ("forward_forward.layer_gradient", "gradient_normalised_by_K", "more units than inputs"),
    ("forward_forward.layer_gradient", "gradient_normalised_over_batch", "a batch of one of each"),
    ("forward_forward.layer_gradient", "gradient_length_normalised", "the first layer (label-embedded images)"),
    ("forward_forward.layer_gradient", "gradient_pooled", "many negatives"),
    ("forward_forward.layer_gradient", "gradient_summed", "many negatives"),
    ("forward_forward.layer_gradient", "gradient_pre_activation", "mostly silent units"),
    ("forward_forward.layer_gradient", "gradient_no_threshold", "a high threshold"),
    ("forward_forward.layer_gradient", "gradient_sigmoid_flipped", "a low threshold"),
    ("forward_forward.layer_gradient", "gradient_transposed", "one unit"),
    ("forward_forward.predict", "predict_skip_only_layer", "one layer"),
    ("forward_forward.predict", "predict_every_layer", "two layers"),
    ("forward_forward.predict", "predict_skip_inverted", "two layers, skip_first=False"),
    ("forward_forward.predict", "predict_mean_goodness", "two layers, skip_first=False"),
    ("forward_forward.predict", "predict_last_layer_only", "three layers"),
    ("forward_forward.predict", "predict_drop_last", "three layers"),
    ("forward_forward.predict", "predict_without_epsilon", "a first layer silent for some labels"),
    ("forward_forward.predict", "predict_wrong_axis", "a batch of one"),
    ("forward_forward.predict", "predict_lowest", "wide layers"),
    ("forward_forward.hard_negatives", "hard_unmasked", "the correct label scores highest"),
    ("forward_forward.hard_negatives", "hard_second_best", "the correct label scores lowest"),
    ("forward_forward.hard_negatives", "hard_mask_zero", "every score negative"),
    ("forward_forward.hard_negatives", "hard_mask_minus_one", "every score negative"),
    ("forward_forward.hard_negatives", "hard_mask_thousand", "large negative scores"),
    ("forward_forward.hard_negatives", "hard_subtract_penalty", "large scores, the correct label highest"),
    ("forward_forward.hard_negatives", "hard_nine_candidates", "labels 0 and 9"),
    ("forward_forward.hard_negatives", "hard_wrong_axis", "a batch of one"),
]


@pytest.mark.parametrize("exercise_id, answer, kind", PROPERTIES, ids=[f"{a}-{k}" for _, a, k in PROPERTIES])
def test_each_documented_property_has_a_hidden_kind_on_which_its_violation_fails(exercise_id, answer, kind):
    function = getattr(answer_set, answer)
    assert any(function is f for f, _ in answer_set.WRONG[exercise_id]), answer
    for secret in SECRETS:
        fixtures = [f for f in _hidden(exercise_id, secret) if f.label.startswith(kind + ":")]
        assert fixtures, (exercise_id, kind)
        assert any(_fails_on(exercise_id, function, f) for f in fixtures), (answer, kind, secret.source)


def test_saturated_pixels_tell_an_integer_copy_from_a_blank_image():
    for secret in SECRETS:
        fixture = next(f for f in _hidden("forward_forward.embed_label", secret) if f.label.startswith("saturated"))
        a = answer_set.embed_integer_copy(**copy.deepcopy(fixture.kwargs))
        b = answer_set.embed_image_dropped(**copy.deepcopy(fixture.kwargs))
        assert not np.array_equal(a, b)


def test_hidden_fixtures_are_float32_safe():
    for secret in SECRETS:
        for fixture in _hidden("forward_forward.layer_loss", secret):   # -log(1 - sigmoid) keeps its precision
            theta = fixture.kwargs["threshold"]
            for h in (fixture.kwargs["h_pos"], fixture.kwargs["h_neg"]):
                assert np.all(np.abs(goodness(h) - theta) <= 22.0), fixture.label
        for fixture in _hidden("forward_forward.predict", secret):      # no near ties between labels
            kw = fixture.kwargs
            top = np.sort(ff.label_goodness(kw["params"], kw["x"], kw["skip_first"]), axis=1)
            assert np.all(top[:, -1] - top[:, -2] > 1e-4 * np.abs(top[:, -1])), fixture.label
        for fixture in _hidden("forward_forward.layer_gradient", secret):   # some unit active: never all 0
            g = ff.layer_gradient(**fixture.kwargs)
            assert np.max(np.abs(g["W"])) > 1e-6, fixture.label


def test_the_answer_set_is_named_at_least_80_percent_per_exercise():
    for exercise_id, answers in answer_set.WRONG.items():
        assert len(answers) >= 12 and len(answer_set.CORRECT[exercise_id]) >= 4, exercise_id
        results = [check_exercise(exercise_id, f) for f, _ in answers]
        wrong = [r for r in results if r.status == "wrong"]
        assert len(wrong) >= 12 and sum(r.mistake is not None for r in wrong) >= 0.8 * len(wrong), exercise_id
