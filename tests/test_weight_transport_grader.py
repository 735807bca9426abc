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


def test_hidden_fixtures_cover_the_documented_properties():
    # issue 21: each property of a contract has a kind that separates it (the lists above the hidden
    # generators): H == C for the untransposed matrices, a batch of one, both activations, three hidden
    # layers for DFA and KP, decays of 0 and near 1, opposite, orthogonal, tiny and 3-d arrays for the cosine
    from autograder.core import prepared
    from autograder.secret import PRACTICE
    hidden = {e.id: [f for f in prepared(e, PRACTICE)[0] if f.hidden] for e in exercises_of("weight_transport")}
    for exercise_id in ("weight_transport.backprop_gradients", "weight_transport.feedback_alignment"):
        fixtures = hidden[exercise_id]
        assert any(f.kwargs["params"]["W2"].shape[0] == f.kwargs["params"]["W2"].shape[1] for f in fixtures)
        assert any(len(f.kwargs["x"]) == 1 for f in fixtures)
        assert {f.kwargs["activation"] for f in fixtures} == {"sigmoid", "relu"}
    assert any(len(f.kwargs["params"]) == 8 for f in hidden["weight_transport.direct_feedback_alignment"])
    assert any(len(f.kwargs["params"]) == 8 for f in hidden["weight_transport.kolen_pollack"])
    assert {0.0, 0.95} <= {f.kwargs["decay"] for f in hidden["weight_transport.kolen_pollack"]}
    labels = " ".join(f.label for f in hidden["weight_transport.cosine_similarity"])
    for kind in ("opposite", "orthogonal", "tiny values", "a 3-d array"):
        assert kind in labels, kind


def test_the_texts_kolen_pollack_for_any_depth():
    # the notebook's KP step written for every layer: W_l <- (1 - lambda) W_l - eta dW_l (W1 included),
    # b_l <- b_l - eta db_l, B_l <- (1 - lambda) B_l - eta dW_{l+1}^T
    rng = np.random.default_rng(1)
    sizes = (5, 4, 3, 2)
    params = init_mlp(rng, sizes, "sigmoid")
    feedback = wt.init_feedback(rng, sizes)
    grads = {k: rng.standard_normal(v.shape) for k, v in params.items()}
    new_params, new_feedback = wt.kolen_pollack_update(params, feedback, grads, 0.1, 0.2)
    for l in (1, 2, 3):
        np.testing.assert_allclose(new_params[f"W{l}"], 0.8 * params[f"W{l}"] - 0.1 * grads[f"W{l}"], rtol=1e-12)
        np.testing.assert_allclose(new_params[f"b{l}"], params[f"b{l}"] - 0.1 * grads[f"b{l}"], rtol=1e-12)
    for l in (1, 2):
        np.testing.assert_allclose(new_feedback[f"B{l}"], 0.8 * feedback[f"B{l}"] - 0.1 * grads[f"W{l + 1}"].T,
                                   rtol=1e-12)
        # W_{l+1} - B_l^T shrinks by (1 - lambda), whatever the gradients
        np.testing.assert_allclose(new_params[f"W{l + 1}"] - new_feedback[f"B{l}"].T,
                                   0.8 * (params[f"W{l + 1}"] - feedback[f"B{l}"].T), atol=1e-12)
