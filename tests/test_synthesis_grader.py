"""Tutorial 06's grader: the reference and correct answers written other ways get full marks; wrong
answers written the way students write them are rejected with feedback that names the mistake; the
unsolved stub scores zero."""
import numpy as np
import pytest

from autograder import check_exercise
from autograder.exercises import exercises_of

EXERCISE = "synthesis.bias_and_snr"


def test_the_reference_gets_full_marks_and_is_the_only_exercise():
    exercises = exercises_of("synthesis")
    assert [e.id for e in exercises] == [EXERCISE]
    result = check_exercise(EXERCISE, exercises[0].reference, as_graded=False)
    assert result.score == result.max_score == 2, result.feedback


def test_fixtures_vary_and_hold_a_parameter_that_never_changes():
    fixtures = exercises_of("synthesis")[0].fixtures()
    shapes = {f.kwargs["samples"].shape for f in fixtures}
    assert len(shapes) == len(fixtures) >= 3
    assert any(s[0] < s[1] for s in shapes) and any(s[0] > s[1] for s in shapes)
    assert all(np.all(f.kwargs["samples"].std(axis=0)[0] == 0) for f in fixtures)


# --- correct answers in other styles ----------------------------------------------------------------

def with_loops(samples, true_gradient):
    S, P = samples.shape
    mean = [sum(samples[s, p] for s in range(S)) / S for p in range(P)]
    dot = sum(m * g for m, g in zip(mean, true_gradient))
    cosine = dot / (np.sqrt(sum(m * m for m in mean)) * np.sqrt(sum(g * g for g in true_gradient)))
    ratios = []
    for p in range(P):
        std = np.sqrt(sum((samples[s, p] - mean[p]) ** 2 for s in range(S)) / S)
        if std > 0:
            ratios.append(abs(mean[p]) / std)
    return {"cosine": cosine, "snr": sum(ratios) / len(ratios)}


def with_einsum(samples, true_gradient):
    mean = np.einsum("sp->p", samples) / len(samples)
    cosine = np.einsum("p,p->", mean, true_gradient) / np.sqrt(
        np.einsum("p,p->", mean, mean) * np.einsum("p,p->", true_gradient, true_gradient))
    std = np.sqrt(((samples - mean) ** 2).mean(axis=0))
    snr = np.mean((np.abs(mean) / np.where(std > 0, std, np.inf))[std > 0])
    return {"cosine": float(cosine), "snr": float(snr)}


def in_float32(samples, true_gradient):
    s, g = samples.astype(np.float32), true_gradient.astype(np.float32)
    mean, std = s.mean(axis=0), s.std(axis=0)
    used = std > 0
    return {"cosine": np.float32(mean @ g / (np.linalg.norm(mean) * np.linalg.norm(g))),
            "snr": np.float32(np.mean(np.abs(mean[used]) / std[used]))}


def with_jax(samples, true_gradient):
    import jax.numpy as jnp
    s, g = jnp.asarray(samples), jnp.asarray(true_gradient)
    mean, std = s.mean(axis=0), s.std(axis=0)
    used = std > 0
    return {"cosine": jnp.dot(mean, g) / (jnp.linalg.norm(mean) * jnp.linalg.norm(g)),
            "snr": jnp.sum(jnp.where(used, jnp.abs(mean) / jnp.where(used, std, 1.0), 0.0)) / used.sum()}


@pytest.mark.parametrize("answer", [with_loops, with_einsum, in_float32, with_jax])
def test_correct_answers_in_other_styles_get_full_marks(answer):
    result = check_exercise(EXERCISE, answer)
    assert result.passed, result.feedback


# --- hand-written mistakes -----------------------------------------------------------------------------

def _snr(samples, ddof=0):
    mean, std = samples.mean(axis=0), samples.std(axis=0, ddof=ddof)
    return float(np.mean(np.abs(mean[std > 0]) / std[std > 0]))


def mean_of_cosines(samples, true_gradient):
    cosines = [row @ true_gradient / (np.linalg.norm(row) * np.linalg.norm(true_gradient)) for row in samples]
    return {"cosine": float(np.mean(cosines)), "snr": _snr(samples)}


def dot_product_only(samples, true_gradient):
    return {"cosine": float(samples.mean(axis=0) @ true_gradient), "snr": _snr(samples)}


def variance_in_the_snr(samples, true_gradient):
    mean, var = samples.mean(axis=0), samples.var(axis=0)
    cos = mean @ true_gradient / (np.linalg.norm(mean) * np.linalg.norm(true_gradient))
    return {"cosine": float(cos), "snr": float(np.mean(np.abs(mean[var > 0]) / var[var > 0]))}


def sample_std(samples, true_gradient):
    mean = samples.mean(axis=0)
    cos = mean @ true_gradient / (np.linalg.norm(mean) * np.linalg.norm(true_gradient))
    return {"cosine": float(cos), "snr": _snr(samples, ddof=1)}


def no_mask(samples, true_gradient):
    mean = samples.mean(axis=0)
    cos = mean @ true_gradient / (np.linalg.norm(mean) * np.linalg.norm(true_gradient))
    with np.errstate(divide="ignore", invalid="ignore"):
        return {"cosine": float(cos), "snr": float(np.mean(np.abs(mean) / samples.std(axis=0)))}


def stub(samples, true_gradient):
    raise NotImplementedError("compute the cosine of the mean update and the SNR")


@pytest.mark.parametrize("answer, words", [
    (mean_of_cosines, "mean of cosines"),
    (dot_product_only, "cosine not normalised"),
    (variance_in_the_snr, "variance instead of std"),
    (sample_std, "std with ddof=1"),
    (no_mask, "no std > 0 mask"),
])
def test_hand_written_mistakes_are_rejected_and_named(answer, words):
    result = check_exercise(EXERCISE, answer)
    assert result.score == 0 and not result.passed, result.feedback
    assert words in result.feedback, result.feedback


def test_the_unsolved_stub_scores_zero_and_says_so():
    result = check_exercise(EXERCISE, stub)
    assert result.score == 0 and "not implemented" in result.feedback.lower(), result.feedback


# --- hidden fixtures: the properties they separate ---------------------------------------------------------

def test_hidden_fixtures_separate_the_documented_properties():
    from autograder.exercises import synthesis as module
    fixtures = module._map_hidden(np.random.default_rng(6))
    cosines = [module.ref.bias_and_snr(**f.kwargs)["cosine"] for f in fixtures]
    assert min(cosines) < 0 < max(cosines)                   # |cos| fails: a mean update against the gradient
    constants = [f.kwargs["samples"] for f in fixtures if f.label.startswith("several constant")]
    assert constants and all(np.any((s.std(0) == 0) & (s.mean(0) == 0)) and np.any((s.std(0) == 0) & (s.mean(0) != 0))
                             for s in constants)


def test_abs_cosine_is_rejected_and_named():
    def answer(samples, true_gradient):
        mean = samples.mean(axis=0)
        cos = abs(mean @ true_gradient) / (np.linalg.norm(mean) * np.linalg.norm(true_gradient))
        return {"cosine": cos, "snr": _snr(samples)}
    result = check_exercise(EXERCISE, answer)
    assert result.score == 0 and result.mistake == "absolute value of the cosine", result.feedback
