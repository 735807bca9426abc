"""Tutorial 03's graders: the references pass, and wrong answers written the way students write them
(not the graders' own variants) are rejected with feedback that names the mistake."""
import jax
import numpy as np
import pytest

from autograder import check_exercise
from autograder.exercises import exercises_of
from course_utils.eqprop import rho


def test_references_get_full_marks_and_every_exercise_is_graded():
    exercises = exercises_of("eqprop")
    assert {e.id for e in exercises} == {"eqprop.energy", "eqprop.relaxation_step", "eqprop.eqprop_update",
                                         "eqprop.debug_rho", "eqprop.debug_minibatch", "eqprop.debug_error_rate"}
    for exercise in exercises:
        result = check_exercise(exercise.id, exercise.reference, as_graded=False)
        assert result.score == result.max_score == exercise.points, (exercise.id, result.feedback)


def test_fixtures_include_a_batch_of_one_and_non_square_shapes():
    for exercise_id in ("eqprop.energy", "eqprop.relaxation_step", "eqprop.eqprop_update"):
        exercise = next(e for e in exercises_of("eqprop") if e.id == exercise_id)
        batches = {f.kwargs["x"].shape[0] for f in exercise.fixtures()}
        shapes = {f.kwargs["x"].shape[1] for f in exercise.fixtures()}
        assert 1 in batches and len(batches) >= 3 and len(shapes) >= 3, exercise_id


# --- hand-written wrong answers ---------------------------------------------------------------

def energy_squares_rho(params, x, h, y):
    # 1/2 rho(s)^2 instead of 1/2 s^2
    quad = 0.5 * (np.sum(rho(h) ** 2, axis=1) + np.sum(rho(y) ** 2, axis=1))
    return (quad - np.sum(rho(h) * (rho(x) @ params["W1"].T + params["b1"]), axis=1)
            - np.sum(rho(y) * (rho(h) @ params["W2"].T + params["b2"]), axis=1))


def energy_without_biases(params, x, h, y):
    quad = 0.5 * (np.sum(h * h, axis=1) + np.sum(y * y, axis=1))
    return quad - np.sum(rho(h) * (rho(x) @ params["W1"].T), axis=1) - np.sum(rho(y) * (rho(h) @ params["W2"].T), axis=1)


def _drives(params, x, h, y):
    return rho(x) @ params["W1"].T + params["b1"] + rho(y) @ params["W2"], rho(h) @ params["W2"].T + params["b2"]


def relax_without_clipping(params, x, h, y, target, beta, epsilon):
    up_h, up_y = _drives(params, x, h, y)
    dh = h - up_h
    dy = y - up_y + (beta * (y - target) if beta else 0.0)
    return h - epsilon * dh, y - epsilon * dy


def relax_ascending(params, x, h, y, target, beta, epsilon):
    up_h, up_y = _drives(params, x, h, y)
    dy = y - up_y + (beta * (y - target) if beta else 0.0)
    return np.clip(h + epsilon * (h - up_h), 0, 1), np.clip(y + epsilon * dy, 0, 1)


def relax_in_sequence(params, x, h, y, target, beta, epsilon):
    h = np.clip(h - epsilon * (h - _drives(params, x, h, y)[0]), 0, 1)   # y's step then sees the new h
    dy = y - _drives(params, x, h, y)[1] + (beta * (y - target) if beta else 0.0)
    return h, np.clip(y - epsilon * dy, 0, 1)


def update_positive(x, free, nudged, beta):
    # "delta W = (1/beta)(rho rho^beta - rho rho^0)" used as the gradient: the caller then subtracts it
    (h0, y0), (hb, yb) = [tuple(rho(s) for s in p) for p in (free, nudged)]
    n = len(x)
    return {"W1": (hb - h0).T @ rho(x) / (beta * n), "b1": (hb - h0).mean(0) / beta,
            "W2": (yb.T @ hb - y0.T @ h0) / (beta * n), "b2": (yb - y0).mean(0) / beta}


def update_without_inverse_beta(x, free, nudged, beta):
    (h0, y0), (hb, yb) = [tuple(rho(s) for s in p) for p in (free, nudged)]
    n = len(x)
    return {"W1": -(hb - h0).T @ rho(x) / n, "b1": -(hb - h0).mean(0),
            "W2": -(yb.T @ hb - y0.T @ h0) / n, "b2": -(yb - y0).mean(0)}


def update_on_raw_states(x, free, nudged, beta):
    (h0, y0), (hb, yb) = free, nudged
    n = len(x)
    return {"W1": -(hb - h0).T @ x / (beta * n), "b1": -(hb - h0).mean(0) / beta,
            "W2": -(yb.T @ hb - y0.T @ h0) / (beta * n), "b2": -(yb - y0).mean(0) / beta}


def update_summed(x, free, nudged, beta):
    (h0, y0), (hb, yb) = [tuple(rho(s) for s in p) for p in (free, nudged)]
    return {"W1": -(hb - h0).T @ rho(x) / beta, "b1": -(hb - h0).sum(0) / beta,
            "W2": -(yb.T @ hb - y0.T @ h0) / beta, "b2": -(yb - y0).sum(0) / beta}


# the beginner's helpers of the debugging exercise, exactly as the notebook gives them
def beginners_hard_sigmoid(s):
    return np.asarray(jax.nn.hard_sigmoid(s))


def beginners_get_batch(x, targets, index, batch_size):
    return x[:batch_size], targets[:batch_size]


def beginners_error_rate(outputs, targets):
    return np.mean(np.argmax(outputs, axis=1) != np.argmax(targets))


def error_rate_against_one_hot(outputs, targets):
    return np.mean(np.argmax(outputs, axis=1)[:, None] != targets)


@pytest.mark.parametrize("exercise_id,answer,name", [
    ("eqprop.energy", energy_squares_rho, "rho on the wrong quantity"),
    ("eqprop.energy", energy_without_biases, "missing bias"),
    ("eqprop.relaxation_step", relax_without_clipping, "clipping missing"),
    ("eqprop.relaxation_step", relax_ascending, "wrong sign"),
    ("eqprop.relaxation_step", relax_in_sequence, "sequential update"),
    ("eqprop.eqprop_update", update_positive, "wrong sign of the update"),
    ("eqprop.eqprop_update", update_without_inverse_beta, "missing 1/beta"),
    ("eqprop.eqprop_update", update_on_raw_states, "rho on the wrong quantity"),
    ("eqprop.eqprop_update", update_summed, "sum instead of mean"),
    ("eqprop.debug_rho", beginners_hard_sigmoid, "jax.nn.hard_sigmoid"),
    ("eqprop.debug_minibatch", beginners_get_batch, "always the first batch"),
    ("eqprop.debug_error_rate", beginners_error_rate, "argmax of the one-hot targets without an axis"),
    ("eqprop.debug_error_rate", error_rate_against_one_hot, "compared with the one-hot vector"),
])
def test_hand_written_mistakes_are_rejected_and_named(exercise_id, answer, name):
    result = check_exercise(exercise_id, answer)
    assert result.score == 0 and result.feedback.startswith(name + ":"), result.feedback


def test_jax_hard_sigmoid_is_not_the_papers_rho():
    # jax.nn.hard_sigmoid(s) = relu6(s + 3) / 6: on the states' range [0, 1] it only spans [1/2, 2/3]
    s = np.linspace(0.0, 1.0, 11)
    np.testing.assert_allclose(jax.nn.hard_sigmoid(s), (s + 3) / 6, rtol=1e-6)
    np.testing.assert_allclose(rho(s), s)


def relax_always_nudging(params, x, h, y, target, beta, epsilon):
    # adds beta (y - target) even in the free phase, where the contract passes target=None
    up_h, up_y = _drives(params, x, h, y)
    dy = y - up_y + beta * (y - target)
    return np.clip(h - epsilon * (h - up_h), 0, 1), np.clip(y - epsilon * dy, 0, 1)


def test_free_phase_with_target_none_is_part_of_the_contract():
    # issue 11: the notebook calls relaxation_step(..., None, 0.0, ...) in the free phase; an answer that
    # always uses the target must fail the check (on the target=None fixture), not pass it and crash later
    fixtures = next(e for e in exercises_of("eqprop") if e.id == "eqprop.relaxation_step").fixtures()
    assert any(f.kwargs["target"] is None and f.kwargs["beta"] == 0.0 for f in fixtures)
    result = check_exercise("eqprop.relaxation_step", relax_always_nudging)
    assert result.score == 0 and "target=None" in result.feedback, result.feedback


def _hidden(exercise_id):
    from autograder.core import prepared
    from autograder.secret import PRACTICE
    exercise = next(e for e in exercises_of("eqprop") if e.id == exercise_id)
    return [f for f in prepared(exercise, PRACTICE)[0] if f.hidden]


def test_relaxation_hidden_fixtures_separate_rho_x_and_the_walls():
    # issue 21: an answer with x W1^T in place of rho(x) W1^T passed every fixture (x was always in [0, 1]);
    # every hidden kind keeps states on the walls, where rho' = 1 (jax.grad of jnp.clip gives 1/2)
    hidden = _hidden("eqprop.relaxation_step")
    assert any(np.any((f.kwargs["x"] < 0) | (f.kwargs["x"] > 1)) for f in hidden)
    assert all(np.any(f.kwargs["h"] == 0.0) and np.any(f.kwargs["y"] == 1.0) for f in hidden)

    def relax_with_raw_x(params, x, h, y, target, beta, epsilon):
        up_h, up_y = x @ params["W1"].T + params["b1"] + rho(y) @ params["W2"], rho(h) @ params["W2"].T + params["b2"]
        dy = y - up_y + (beta * (y - target) if beta else 0.0)
        return np.clip(h - epsilon * (h - up_h), 0, 1), np.clip(y - epsilon * dy, 0, 1)
    result = check_exercise("eqprop.relaxation_step", relax_with_raw_x)
    assert result.score == 0 and result.mistake == "rho(x) missing", result.feedback


def test_every_named_mistake_is_rejected_and_named():
    # each Mistake's own function, graded as an answer, scores 0 and gets its own name (a mistake whose
    # function the grader could not tell apart from another would be named wrongly or not at all)
    for exercise in exercises_of("eqprop"):
        for mistake in exercise.mistakes:
            result = check_exercise(exercise.id, mistake.function)
            assert result.score == 0 and result.mistake == mistake.name, (exercise.id, mistake.name, result.feedback)
