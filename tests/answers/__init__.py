"""Answers to every exercise written as students write them, without reading the references or the tests
of the graders: correct ones in many styles, and plausible wrong ones, each with the mistake it makes.

One module per tutorial (``perturbation.py``, ...), each with

    CORRECT = {exercise_id: [function, ...]}
    WRONG = {exercise_id: [(function, "the mistake's name, or None where the grader need not name it"), ...]}

``tests/test_answer_sets.py`` checks them (every correct one passes the inline check and every wrong one
fails it, named as said) and ``python scripts/named_fraction.py`` prints, per exercise, how many wrong
answers the feedback names.
"""
from importlib import import_module

TUTORIALS = ("perturbation", "weight_transport", "eqprop", "forward_forward", "online", "synthesis")


def answer_sets():
    """{tutorial: module} for every tutorial whose answer set exists."""
    out = {}
    for name in TUTORIALS:
        try:
            out[name] = import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as err:
            if err.name != f"{__name__}.{name}":
                raise
    return out
