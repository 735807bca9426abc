"""Tutorial 01's graders: the references get full marks, correct alternative writings (einsum, loops,
float32) too, and wrong answers written the way students write them are rejected with feedback that
names the mistake. The step-limit formula is also checked against a Monte-Carlo average of the loss change."""
import numpy as np
import pytest

from autograder import check_exercise
from autograder.exercises import exercises_of
from course_utils import perturbation


def test_references_get_full_marks_and_every_exercise_is_graded():
    exercises = exercises_of("perturbation")
    assert {e.id for e in exercises} == {"perturbation.weight_perturbation", "perturbation.node_perturbation",
                                         "perturbation.gradient_snr", "perturbation.stable_step"}
    for exercise in exercises:
        result = check_exercise(exercise.id, exercise.reference, as_graded=False)
        assert result.score == result.max_score == exercise.points, (exercise.id, result.feedback)


def test_every_named_mistake_is_named_by_the_grader():
    for exercise in exercises_of("perturbation"):
        for mistake in exercise.mistakes:
            result = check_exercise(exercise.id, mistake.function)
            assert result.score == 0, (exercise.id, mistake.name)
            assert mistake.name in result.feedback, (exercise.id, mistake.name, result.feedback)


def test_unsolved_stubs_score_zero():
    def stub(*args, **kwargs):
        raise NotImplementedError()
    for exercise in exercises_of("perturbation"):
        assert check_exercise(exercise.id, stub).score == 0, exercise.id


# --- the step limit: the mathematics ----------------------------------------------------------

def test_step_limit_isotropic_closed_form():
    # H = lambda I, K = 1: eta_max = 2 / (lambda (P + 2)), whatever g; K -> infinity: backprop's 2 / lambda
    rng = np.random.default_rng(0)
    for P, lam in ((1, 1.0), (7, 0.5), (100, 3.0)):
        g = rng.standard_normal(P)
        assert perturbation.largest_stable_step(g, lam * np.eye(P), 1) == pytest.approx(2 / (lam * (P + 2)))
        assert perturbation.largest_stable_step(g, lam * np.eye(P), 10**9) == pytest.approx(2 / lam, rel=1e-6)


def test_step_limit_is_where_the_mean_loss_change_vanishes():
    # Monte Carlo: the exact change of a quadratic loss after one K-sample WP step,
    # Delta L = -eta g.ghat + eta^2 / 2 ghat^T H ghat, averages to 0 at eta_max, < 0 below, > 0 above.
    rng = np.random.default_rng(1)
    P, K = 6, 3
    A = rng.standard_normal((P, P))
    H = A @ A.T + np.eye(P)
    g = rng.standard_normal(P)
    eta_max = perturbation.largest_stable_step(g, H, K)
    psi = rng.standard_normal((200_000, K, P))
    ghat = ((psi @ g)[..., None] * psi).mean(axis=1)
    for factor, sign in ((0.5, -1), (1.0, 0), (1.5, 1)):
        eta = factor * eta_max
        change = -eta * ghat @ g + 0.5 * eta**2 * np.einsum("np,pq,nq->n", ghat, H, ghat)
        error = 4 * change.std() / np.sqrt(len(change))
        if sign == 0:
            assert abs(change.mean()) < error
        else:
            assert sign * change.mean() > error


def test_simulated_limit_follows_the_prediction():
    grid = np.logspace(-3.5, 0, 36)
    for P in (10, 100):
        measured = perturbation.measured_step_limit(P, grid, steps=10, runs=100)
        assert 0.6 < measured / (2 / (P + 2)) < 1.3, (P, measured)


# --- correct alternative writings, and student-written wrong answers --------------------------

def step_with_einsum(gradient, hessian, num_samples):
    g2 = np.einsum("p,p->", gradient, gradient)
    gHg = np.einsum("p,pq,q->", gradient, hessian, gradient)
    return 2 * g2 / (gHg + (gHg + g2 * np.einsum("pp->", hessian)) / num_samples)


def step_with_loops(gradient, hessian, num_samples):
    P = len(gradient)
    g2 = sum(gradient[i] ** 2 for i in range(P))
    gHg = sum(gradient[i] * hessian[i, j] * gradient[j] for i in range(P) for j in range(P))
    trace = sum(hessian[i, i] for i in range(P))
    return 2 * g2 / (gHg * (1 + 1 / num_samples) + g2 * trace / num_samples)


def step_in_float32(gradient, hessian, num_samples):
    g, H = gradient.astype(np.float32), hessian.astype(np.float32)
    return np.float32(2) * (g @ g) / ((g @ H @ g) * np.float32(1 + 1 / num_samples) + (g @ g) * np.trace(H) / num_samples)


@pytest.mark.parametrize("answer", [step_with_einsum, step_with_loops, step_in_float32])
def test_correct_alternatives_get_full_marks(answer):
    result = check_exercise("perturbation.stable_step", answer)
    assert result.score == result.max_score, result.feedback


def step_as_backprop(gradient, hessian, num_samples):
    return 2 * (gradient @ gradient) / (gradient @ hessian @ gradient)


def step_with_unit_K(gradient, hessian, num_samples):
    g2 = gradient @ gradient
    return 2 * g2 / (2 * (gradient @ hessian @ gradient) + g2 * np.trace(hessian))


def step_without_two(gradient, hessian, num_samples):
    g2 = gradient @ gradient
    return g2 / ((gradient @ hessian @ gradient) * (1 + 1 / num_samples) + g2 * np.trace(hessian) / num_samples)


@pytest.mark.parametrize("answer, name", [(step_as_backprop, "backprop's limit"),
                                          (step_with_unit_K, "noise not divided by K"),
                                          (step_without_two, "missing factor 2")])
def test_student_mistakes_are_named(answer, name):
    result = check_exercise("perturbation.stable_step", answer)
    assert result.score == 0 and name in result.feedback, result.feedback


def test_network_step_limits_on_a_quadratic_network_loss():
    # a linear network with one linear output has a quadratic loss in W2 alone; check the Hutchinson trace
    # against the exact Hessian of a tiny MLP computed by finite differences of backprop gradients
    from course_utils.mlp import backprop_gradients, init_mlp
    rng = np.random.default_rng(0)
    params = init_mlp(rng, (3, 4, 2), "sigmoid")
    x, y = rng.standard_normal((5, 3)), np.eye(2)[rng.integers(0, 2, 5)]
    keys = list(params)
    flat = perturbation.flatten(params)
    sizes = [params[k].size for k in keys]

    def grad(v):
        parts = np.split(v, np.cumsum(sizes)[:-1])
        return perturbation.flatten(backprop_gradients({k: p.reshape(params[k].shape) for k, p in zip(keys, parts)}, x, y))

    eps = 1e-5
    H = np.stack([(grad(flat + eps * e) - grad(flat - eps * e)) / (2 * eps) for e in np.eye(flat.size)])
    g = grad(flat)
    limits = perturbation.network_step_limits(params, x, y, np.random.default_rng(1), probes=4000)
    assert limits["gHg"] == pytest.approx(g @ H @ g, rel=1e-4)
    assert limits["trace"] == pytest.approx(np.trace(H), rel=0.1)
    assert limits["backprop"] == pytest.approx(2 * (g @ g) / (g @ H @ g), rel=1e-4)


# --- hidden fixtures: the properties they separate, float32 answers with any secret ---------------------

def test_hidden_fixtures_separate_the_documented_properties():
    # every property in the comment blocks above the generators has its fixture (tests/answers/perturbation.py
    # holds a wrong answer that breaks each one, rejected by tests/test_answer_sets.py)
    from autograder.exercises import perturbation as module
    rng = np.random.default_rng(3)
    wp, np_, snr, step = module._wp_hidden(rng), module._np_hidden(rng), module._snr_hidden(rng), module._stable_hidden(rng)
    assert {f.kwargs["sigma"] for f in wp} == {0.1, 0.3, 1.0} and {f.kwargs["sigma"] for f in np_} == {0.1, 1.0}
    assert {len(f.kwargs["perturbations"]["W1"]) == 1 for f in wp} == {True, False}
    for fixtures in (wp, np_):
        assert {f.kwargs["activation"] for f in fixtures} == {"sigmoid", "relu"}
        assert {len(f.kwargs["x"]) == 1 for f in fixtures} == {True, False}
        assert {f.kwargs["y"].shape[1] == 1 for f in fixtures} == {True, False}
    constant = [f.kwargs["samples"] for f in snr if f.label.startswith("a constant parameter")]
    assert constant and all(np.any((s.std(0) == 0) & (s.mean(0) != 0)) for s in constant)     # c / 0, not 0 / 0
    assert any(np.all(f.kwargs["samples"].mean(0) < 0) for f in snr)
    assert {f.kwargs["num_samples"] == 1 for f in step} == {True, False}
    assert any(not np.allclose(f.kwargs["hessian"], f.kwargs["hessian"][0, 0] * np.eye(len(f.kwargs["gradient"])))
               for f in step)


def test_float32_answers_pass_with_other_secrets():
    # loss changes clear of float32's rounding, SNR samples exact in float32: a correct float32 answer passes
    # whatever the instructor's secret (here three of them besides the practice one)
    from answers import perturbation as answers
    from autograder.core import check
    from autograder.exercises import get_exercise
    from autograder.secret import Secret
    for name in ("one", "two", "three"):
        secret = Secret(f"float32 secret {name}".encode() * 2, name)
        for exercise_id, answer in (("perturbation.weight_perturbation", answers.wp_float32),
                                    ("perturbation.node_perturbation", answers.np_float32),
                                    ("perturbation.gradient_snr", answers.snr_float32),
                                    ("perturbation.stable_step", answers.step_float32)):
            result = check(get_exercise(exercise_id), answer, secret)
            assert result.passed, (exercise_id, name, result.feedback)


def test_float32_summable_samples_keep_their_spread():
    from autograder.exercises.perturbation import _float32_summable
    rng = np.random.default_rng(0)
    samples = 100.0 + 0.002 * rng.standard_normal((25, 4))
    exact = _float32_summable(samples)
    assert np.array_equal(exact.astype(np.float32).astype(np.float64), exact)
    assert np.array_equal(np.cumsum(exact.astype(np.float32), axis=0, dtype=np.float32), np.cumsum(exact, axis=0))
    assert np.allclose(exact.std(0), samples.std(0), rtol=0.05)
