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
                                         "forward_forward.predict", "forward_forward.hard_negatives"}
    for exercise in exercises:
        result = check_exercise(exercise.id, exercise.reference)
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


def _scores(params, x, skip_first, normalised=True):
    L = len([k for k in params if k.startswith("W")])
    scores = []
    for c in range(10):
        h = embed_label(x, np.full(len(x), c))
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
    result = check_exercise(exercise_id, answer)
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
