"""Tutorial 02's graders (references full marks, every named mistake named, stubs zero) and the
mathematics of the tutorial's new demonstrations: FA in a linear network aligns, and scaling B scales
only the hidden layer's update."""
import numpy as np

from autograder import check_exercise
from autograder.exercises import exercises_of
from course_utils import weight_transport as wt
from course_utils.mlp import init_mlp


def test_references_get_full_marks_and_every_named_mistake_is_named():
    exercises = exercises_of("weight_transport")
    assert len(exercises) == 5
    for exercise in exercises:
        result = check_exercise(exercise.id, exercise.reference, as_graded=False)
        assert result.score == result.max_score == exercise.points, (exercise.id, result.feedback)
        for mistake in exercise.mistakes:
            wrong = check_exercise(exercise.id, mistake.function)
            assert wrong.score == 0 and mistake.name in wrong.feedback, (exercise.id, mistake.name, wrong.feedback)


def test_unsolved_stubs_score_zero():
    def stub(*args, **kwargs):
        raise NotImplementedError()
    for exercise in exercises_of("weight_transport"):
        assert check_exercise(exercise.id, stub).score == 0, exercise.id


def test_linear_feedback_alignment_aligns():
    # W2 B becomes positive definite (e B^T within 90 degrees of e W2 for every e), the angle between
    # W2^T and B falls well below 90 degrees, and the network fits the linear teacher
    record = wt.linear_alignment_demo(seed=0)
    assert record["min_eig"][0] < 0 < record["min_eig"][-1]
    assert record["angle"][0] > 85 and record["angle"][-1] < 60
    assert record["hidden_cosine"][-1] > 0.5
    assert record["loss"][-1] < 1e-3 * record["loss"][0]


def test_scaling_feedback_scales_only_the_hidden_update():
    # delta1 = (e B^T) * act'(z1): 10 B gives 10 x the W1 and b1 updates, the same W2 and b2 updates
    rng = np.random.default_rng(0)
    params = init_mlp(rng, (6, 5, 3), "sigmoid")
    x, y = rng.standard_normal((4, 6)), np.eye(3)[rng.integers(0, 3, 4)]
    B = wt.init_feedback(rng, (6, 5, 3))
    small = wt.feedback_alignment_gradients(params, B, x, y)
    large = wt.feedback_alignment_gradients(params, {"B1": 10 * B["B1"]}, x, y)
    for k in ("W1", "b1"):
        np.testing.assert_allclose(large[k], 10 * small[k], rtol=1e-12)
    for k in ("W2", "b2"):
        np.testing.assert_allclose(large[k], small[k], rtol=1e-12)
