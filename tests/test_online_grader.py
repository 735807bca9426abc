"""Tutorial 05's graders: the references and other correct writings get full marks, the unsolved stub
gets zero, and wrong answers written the way students write them are rejected with the mistake named."""
import numpy as np
import pytest

from autograder import check_exercise
from autograder.exercises import exercises_of
from course_utils.online import LIF_TAU_RC, LIF_TAU_REF, RELU_RATE, rate, rate_derivative


def test_references_get_full_marks_and_every_exercise_is_graded():
    exercises = exercises_of("online")
    assert {e.id for e in exercises} == {"online.filter_step", "online.pes_update", "online.fa_update"}
    for exercise in exercises:
        result = check_exercise(exercise.id, exercise.reference, as_graded=False)
        assert result.score == result.max_score == exercise.points, (exercise.id, result.feedback)


def test_fixtures_cover_both_neurons_a_single_neuron_and_several_outputs():
    fixtures = {e.id: e.fixtures() for e in exercises_of("online")}
    fa = fixtures["online.fa_update"]
    assert {f.kwargs["neuron"] for f in fa} == {"relu", "lif"}
    assert 1 in {len(f.kwargs["current"]) for f in fa} and len({f.kwargs["error"].shape for f in fa}) >= 2
    for f in fa:                           # every case the mistakes need: active and silent neurons
        assert np.any(rate_derivative(f.kwargs["current"], f.kwargs["neuron"]) > 0)
    assert 1 in {len(f.kwargs["activities"]) for f in fixtures["online.pes_update"]}


def _stub(*args, **kwargs):
    raise NotImplementedError("Exercise: write this function")


@pytest.mark.parametrize("exercise_id", ["online.filter_step", "online.pes_update", "online.fa_update"])
def test_the_unsolved_stub_scores_zero(exercise_id):
    result = check_exercise(exercise_id, _stub)
    assert result.score == 0 and not result.passed


# --- correct answers in other styles ------------------------------------------------------------

def filter_exponential_form(y, u, dt, tau):
    a = dt / tau
    return (1 - a) * y + a * u


def pes_einsum_float32(activities, error, learning_rate, dt):
    a, e = activities.astype(np.float32), error.astype(np.float32)
    return np.float32(-learning_rate * dt / len(a)) * np.einsum("c,n->cn", e, a)


def _lif_slope(J):
    out = np.zeros_like(J)
    for i, j in enumerate(J):             # d/dJ of 1 / (t_ref + tau_rc log(J / (J - 1)))
        if j > 1:
            g = 1.0 / (LIF_TAU_REF + LIF_TAU_RC * np.log(j / (j - 1)))
            out[i] = g * g * LIF_TAU_RC * (1 / (j - 1) - 1 / j)
    return out


def fa_loops(x, current, error, feedback, gain, learning_rate, dt, neuron="relu"):
    slope = RELU_RATE * (current > 0) if neuron == "relu" else _lif_slope(current)
    N, D = len(current), len(x)
    dE, db = np.zeros((N, D)), np.zeros(N)
    for i in range(N):
        delta_i = sum(feedback[i, c] * error[c] for c in range(len(error))) * slope[i]
        db[i] = -learning_rate * dt * delta_i
        for j in range(D):
            dE[i, j] = -learning_rate * dt * gain[i] * delta_i * x[j]
    return {"encoders": dE, "biases": db}


@pytest.mark.parametrize("exercise_id, answer", [
    ("online.filter_step", filter_exponential_form),
    ("online.pes_update", pes_einsum_float32),
    ("online.fa_update", fa_loops),
])
def test_correct_answers_in_another_style_pass(exercise_id, answer):
    result = check_exercise(exercise_id, answer)
    assert result.passed, result.feedback


# --- hand-written wrong answers ---------------------------------------------------------------

def filter_inverted(y, u, dt, tau):
    return y + (tau / dt) * (u - y)


def pes_without_n(activities, error, learning_rate, dt):
    return -learning_rate * dt * np.outer(error, activities)


def pes_ascent(activities, error, learning_rate, dt):
    return learning_rate * dt / len(activities) * np.outer(error, activities)


def fa_own_rate(x, current, error, feedback, gain, learning_rate, dt, neuron="relu"):
    # the original sketch: the error times the neuron's own rate, not an outer product with x
    delta = (feedback @ error) * rate_derivative(current, neuron)
    a = rate(current, neuron)
    return {"encoders": -learning_rate * dt * (gain * delta * a)[:, None] * np.ones((1, len(x))),
            "biases": -learning_rate * dt * delta}


def fa_no_gain(x, current, error, feedback, gain, learning_rate, dt, neuron="relu"):
    delta = (feedback @ error) * rate_derivative(current, neuron)
    return {"encoders": -learning_rate * dt * np.outer(delta, x), "biases": -learning_rate * dt * delta}


def fa_relu_slope(x, current, error, feedback, gain, learning_rate, dt, neuron="relu"):
    delta = (feedback @ error) * RELU_RATE * (current > 0)
    return {"encoders": -learning_rate * dt * np.outer(gain * delta, x), "biases": -learning_rate * dt * delta}


def fa_no_bias(x, current, error, feedback, gain, learning_rate, dt, neuron="relu"):
    delta = (feedback @ error) * rate_derivative(current, neuron)
    return {"encoders": -learning_rate * dt * np.outer(gain * delta, x), "biases": np.zeros(len(current))}


def fa_wrong_sign(x, current, error, feedback, gain, learning_rate, dt, neuron="relu"):
    delta = (feedback @ error) * rate_derivative(current, neuron)
    return {"encoders": learning_rate * dt * np.outer(gain * delta, x), "biases": learning_rate * dt * delta}


def fa_transposed(x, current, error, feedback, gain, learning_rate, dt, neuron="relu"):
    delta = (feedback @ error) * rate_derivative(current, neuron)
    return {"encoders": -learning_rate * dt * np.outer(x, gain * delta), "biases": -learning_rate * dt * delta}


@pytest.mark.parametrize("exercise_id, answer, words", [
    ("online.filter_step", filter_inverted, "tau/dt instead of dt/tau"),
    ("online.pes_update", pes_without_n, "not divided by N"),
    ("online.pes_update", pes_ascent, "wrong sign"),
    ("online.fa_update", fa_own_rate, "own rate instead of the presynaptic input"),
    ("online.fa_update", fa_no_gain, "missing gain"),
    ("online.fa_update", fa_relu_slope, "derivative of the wrong curve"),
    ("online.fa_update", fa_no_bias, "bias left out"),
    ("online.fa_update", fa_wrong_sign, "wrong sign"),
])
def test_hand_written_mistakes_are_rejected_and_named(exercise_id, answer, words):
    result = check_exercise(exercise_id, answer)
    assert result.score == 0 and not result.passed, (exercise_id, result.feedback)
    assert words in result.feedback, result.feedback


def test_a_transposed_encoder_update_is_rejected():
    result = check_exercise("online.fa_update", fa_transposed)
    assert result.score == 0 and "shape" in result.feedback + "transposed", result.feedback


# --- hidden fixtures: the properties they separate ---------------------------------------------------------

def test_hidden_fixtures_separate_the_documented_properties():
    # the comment blocks above the generators list the properties; tests/answers/online.py breaks each one
    from autograder.exercises import online as module
    rng = np.random.default_rng(5)
    filt, pes, fa = module._filter_hidden(rng), module._pes_hidden(rng), module._fa_hidden(rng)
    ratios = {f.kwargs["dt"] / f.kwargs["tau"] for f in filt}
    assert max(ratios) == 1.0 and any(0.1 < r < 1 for r in ratios)        # Euler and the exact step differ
    assert any(not np.any(f.kwargs["y"]) for f in filt) and any(np.all(f.kwargs["y"] != 0) for f in filt)
    assert len({f.kwargs["dt"] for f in pes}) >= 2 and any(f.kwargs["learning_rate"] != f.kwargs["dt"] for f in pes)
    assert any(len(f.kwargs["error"]) > 1 and len(f.kwargs["error"]) != len(f.kwargs["activities"]) for f in pes)
    assert len({f.kwargs["dt"] for f in fa}) == 3 and {f.kwargs["neuron"] for f in fa} == {"relu", "lif"}
    assert all(np.ptp(f.kwargs["gain"]) > 0 for f in fa if len(f.kwargs["gain"]) > 1)
    assert any(np.any(rate_derivative(f.kwargs["current"], f.kwargs["neuron"]) == 0) for f in fa)


@pytest.mark.parametrize("exercise_id, words", [
    ("online.pes_update", "missing dt"), ("online.fa_update", "missing dt")])
def test_twins_name_the_same_mistake_alike(exercise_id, words):
    # the learning rate is per second in both rules: leaving out dt is "missing dt" in each, not a factor 1000
    if exercise_id == "online.pes_update":
        def answer(activities, error, learning_rate, dt):
            return -(learning_rate / len(activities)) * np.outer(error, activities)
    else:
        def answer(x, current, error, feedback, gain, learning_rate, dt, neuron="relu"):
            delta = (feedback @ error) * rate_derivative(current, neuron)
            return {"encoders": -learning_rate * np.outer(gain * delta, x), "biases": -learning_rate * delta}
    result = check_exercise(exercise_id, answer)
    assert result.mistake == words, result.feedback


def test_dividing_by_the_outputs_is_not_called_not_dividing():
    def answer(activities, error, learning_rate, dt):
        return -(learning_rate * dt / len(error)) * np.outer(error, activities)
    result = check_exercise("online.pes_update", answer)
    assert result.mistake == "divided by the number of outputs C instead of N", result.feedback


def test_the_exact_exponential_step_is_named():
    def answer(y, u, dt, tau):
        return u + (y - u) * np.exp(-dt / tau)
    result = check_exercise("online.filter_step", answer)
    assert result.mistake == "exact exponential update instead of Euler", result.feedback
