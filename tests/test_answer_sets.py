"""The answer sets of tests/answers/, written as students write them: every correct answer gets full marks
from the inline check (which applies grading's rules), every wrong one is rejected, named as its entry
says, and at least 80% of each tutorial's wrong answers are named (``python scripts/named_fraction.py``)."""
import pytest

from answers import answer_sets
from autograder import check_exercise
from autograder.exercises import EXERCISES

SETS = answer_sets()
CORRECT = [(e, f) for m in SETS.values() for e, fs in m.CORRECT.items() for f in fs]
WRONG = [(e, f, n) for m in SETS.values() for e, fs in m.WRONG.items() for f, n in fs]


def _id(item):
    return f"{item[0]}-{item[1].__name__}"


def test_every_tutorial_and_exercise_has_an_answer_set():
    assert set(SETS) == {"perturbation", "weight_transport", "eqprop", "forward_forward", "online", "synthesis"}
    for exercise_id in EXERCISES:
        assert any(exercise_id in m.WRONG for m in SETS.values()), exercise_id
        assert any(exercise_id in m.CORRECT for m in SETS.values()), exercise_id


@pytest.mark.parametrize("exercise_id,function", CORRECT, ids=[_id(c) for c in CORRECT])
def test_a_correct_answer_gets_full_marks(exercise_id, function):
    result = check_exercise(exercise_id, function)
    assert result.passed, result.feedback


@pytest.mark.parametrize("exercise_id,function,name", WRONG, ids=[_id(w) for w in WRONG])
def test_a_wrong_answer_is_rejected_and_named(exercise_id, function, name):
    result = check_exercise(exercise_id, function)
    assert not result.passed and result.score == 0, f"accepted: {result.feedback}"
    if name is not None:
        assert result.mistake == name, result.feedback


@pytest.mark.parametrize("tutorial", sorted(SETS))
def test_most_wrong_answers_are_named(tutorial):
    named = total = 0
    for exercise_id, answers in SETS[tutorial].WRONG.items():
        for function, _ in answers:
            result = check_exercise(exercise_id, function)
            if result.status == "wrong":
                total += 1
                named += result.mistake is not None
    assert total and named / total >= 0.8, f"{named} of {total} wrong answers named"
