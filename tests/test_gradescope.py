"""Gradescope's autograder (autograder/gradescope.py): the zip that `make gradescope` builds, unpacked
into a temporary root laid out as Gradescope lays out /autograder (source/, submission/, results/,
submission_metadata.json), and its run_autograder run there (GRADESCOPE_ROOT) on a full, a blank, a
broken and a hostile submission. Every results.json is checked against a JSON schema written from
Gradescope's specification (validated with the jsonschema package)."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import jsonschema
import pytest

from autograder.__main__ import main
from autograder.gradescope import results

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENT = "01_perturbation"
EXERCISES = ["perturbation.weight_perturbation", "perturbation.node_perturbation", "perturbation.gradient_snr",
             "perturbation.stable_step"]
VISIBILITY = {"enum": ["hidden", "after_due_date", "after_published", "visible"]}
FORMAT = {"enum": ["text", "html", "simple_format", "md", "ansi"]}

# Gradescope's results.json, from its "Autograder Specifications" (Output format, Controlling Test Case
# Visibility, Test case status, Output String Formatting): every field it documents, nothing else.
RESULTS_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "score": {"type": "number"},
        "execution_time": {"type": "number", "minimum": 0},
        "output": {"type": "string"},
        "output_format": FORMAT,
        "test_output_format": FORMAT,
        "test_name_format": FORMAT,
        "visibility": VISIBILITY,
        "stdout_visibility": VISIBILITY,
        "extra_data": {"type": "object"},
        "tests": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "score": {"type": "number"},
                    "max_score": {"type": "number", "minimum": 0},
                    "status": {"enum": ["passed", "failed"]},
                    "name": {"type": "string"},
                    "name_format": FORMAT,
                    "number": {"type": "string"},
                    "output": {"type": "string"},
                    "output_format": FORMAT,
                    "tags": {"type": "array", "items": {"type": "string"}},
                    "visibility": VISIBILITY,
                    "extra_data": {"type": "object"},
                },
            },
        },
        "leaderboard": {
            "type": "array",
            "items": {"type": "object", "required": ["name", "value"],
                      "properties": {"name": {"type": "string"}, "value": {"type": ["number", "string"]},
                                     "order": {"enum": ["asc", "desc"]}}},
        },
    },
    # "score: optional, but required if not on each test case"; "tests: optional, but required if no
    # top-level score"
    "anyOf": [{"required": ["score"]},
              {"required": ["tests"], "properties": {"tests": {"items": {"required": ["score"]}}}}],
}


def validate(body: dict) -> None:
    jsonschema.Draft202012Validator.check_schema(RESULTS_SCHEMA)
    jsonschema.validate(body, RESULTS_SCHEMA, cls=jsonschema.Draft202012Validator)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    out = tmp_path_factory.mktemp("gradescope") / f"{ASSIGNMENT}.zip"
    assert main(["gradescope", ASSIGNMENT, "--out", str(out)]) == 0
    return out


def test_the_zip(bundle):
    with zipfile.ZipFile(bundle) as z:
        names = set(z.namelist())
        modes = {i.filename: (i.external_attr >> 16) & 0o777 for i in z.infolist()}
        run_autograder = z.read("run_autograder").decode()
    assert {"setup.sh", "run_autograder", "course/pyproject.toml", "course/autograder/gradescope.py",
            "course/autograder/notebook_grading.py", "course/course_utils/__init__.py"} <= names
    assert modes["setup.sh"] & stat.S_IXUSR and modes["run_autograder"] & stat.S_IXUSR
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
    assert f"--assignment {ASSIGNMENT}" in run_autograder
    assert main(["gradescope", "no_such_assignment", "--out", str(bundle.with_name("x.zip"))]) == 1


def gradescope_root(tmp_path: Path, bundle: Path, submission: bytes | None, name: str) -> Path:
    """A folder laid out as Gradescope's /autograder, with the submission in it."""
    root = tmp_path / "autograder"
    for folder in ("source", "submission", "results"):
        (root / folder).mkdir(parents=True)
    with zipfile.ZipFile(bundle) as z:
        z.extractall(root / "source")
    (root / "run_autograder").write_bytes((root / "source" / "run_autograder").read_bytes())
    (root / "run_autograder").chmod(0o755)
    if submission is not None:
        (root / "submission" / name).write_bytes(submission)
    (root / "submission_metadata.json").write_text(json.dumps({
        "id": 123456, "created_at": "2026-11-30T14:22:32.365935-07:00",
        "assignment": {"due_date": "2026-12-01T23:00:00.000000-07:00", "group_size": None, "group_submission": False,
                       "id": 25828, "course_id": 1234, "late_due_date": None,
                       "release_date": "2026-11-02T00:00:00.000000-07:00", "title": ASSIGNMENT, "total_points": "8.0"},
        "submission_method": "upload", "users": [{"email": "student@example.com", "id": 1234, "name": "A Student"}],
        "previous_submissions": []}))
    return root


def run_autograder(root: Path) -> dict:
    env = {**os.environ, "GRADESCOPE_ROOT": str(root), "GRADESCOPE_PYTHON": sys.executable}
    env.pop("PYTHONPATH", None)
    proc = subprocess.run(["bash", str(root / "run_autograder")], env=env, capture_output=True, text=True,
                          timeout=300, cwd=root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    body = json.loads((root / "results" / "results.json").read_text())
    validate(body)
    return body


def by_exercise(body: dict) -> dict:
    return {t["name"].split(" ")[0]: t for t in body["tests"] if "score" in t}


def notebook(source: str) -> dict:
    return json.loads((REPO / source / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text())


def test_full_submission(tmp_path, bundle):
    root = gradescope_root(tmp_path, bundle, (REPO / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_bytes(),
                           f"{ASSIGNMENT}.ipynb")
    body = run_autograder(root)
    tests = by_exercise(body)
    assert list(tests) == EXERCISES
    assert body["score"] == 8 and sum(t["max_score"] for t in tests.values()) == 8
    assert all(t["status"] == "passed" and t["score"] == t["max_score"] for t in tests.values())
    assert all(t["output"].startswith("correct") for t in tests.values())
    assert body["execution_time"] >= 0 and body["output"].startswith(f"{ASSIGNMENT}: 8 / 8")


def test_blank_submission(tmp_path, bundle):
    root = gradescope_root(tmp_path, bundle, (REPO / "notebooks" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_bytes(),
                           "my work.ipynb")
    body = run_autograder(root)
    tests = by_exercise(body)
    assert list(tests) == EXERCISES and body["score"] == 0
    assert all(t["status"] == "failed" and "not implemented" in t["output"] for t in tests.values())


def test_broken_submission(tmp_path, bundle):
    root = gradescope_root(tmp_path, bundle, b"{ this is not JSON", f"{ASSIGNMENT}.ipynb")
    body = run_autograder(root)
    tests = by_exercise(body)
    assert list(tests) == EXERCISES and body["score"] == 0
    assert "not a Jupyter notebook" in body["output"]
    assert str(tmp_path) not in body["output"] and "/tmp/gradescope-" not in body["output"]
    assert all("not graded" in t["output"] for t in tests.values())


def test_no_submission(tmp_path, bundle):
    body = run_autograder(gradescope_root(tmp_path, bundle, None, ""))
    assert body["score"] == 0 and "no notebook" in body["output"] and len(by_exercise(body)) == 4


def test_hostile_submission(tmp_path, bundle):
    """An answer cell that writes results.json itself (where Gradescope's is, and where this test's is),
    and a later one that ends the process: the results are the grader's, valid, and the other answers
    keep their marks."""
    root = tmp_path / "autograder"
    forged = json.dumps({"score": 999, "tests": [{"name": "forged", "score": 999, "max_score": 1}]})
    nb = notebook("solutions")
    cells = {c.get("metadata", {}).get("course", {}).get("exercise"): c for c in nb["cells"]}
    cells["perturbation.weight_perturbation"]["source"] = (
        "import os\n"
        f"for _path in ('/autograder/results/results.json', {str(root / 'results' / 'results.json')!r}):\n"
        "    try:\n"
        "        with open(_path, 'w') as _f:\n"
        f"            _f.write({forged!r})\n"
        "    except OSError:\n"
        "        pass\n\n"
        + "".join(cells["perturbation.weight_perturbation"]["source"]))
    cells["perturbation.stable_step"]["source"] = "import os\nos._exit(0)\n"
    root = gradescope_root(tmp_path, bundle, json.dumps(nb).encode(), f"{ASSIGNMENT}.ipynb")
    body = run_autograder(root)
    tests = by_exercise(body)
    assert list(tests) == EXERCISES
    assert "forged" not in json.dumps(body)
    assert all(t["score"] <= t["max_score"] for t in body["tests"])
    assert tests["perturbation.stable_step"]["score"] == 0
    assert tests["perturbation.node_perturbation"]["score"] == 3
    assert tests["perturbation.gradient_snr"]["score"] == 2
    assert body["score"] == sum(t["score"] for t in tests.values()) <= 8


def test_hidden_fixture_feedback_waits_for_the_due_date():
    """An answer that failed a hidden fixture: its test says so without the details, and a score-less
    test with visibility after_due_date holds them."""
    report = {"exercises": {
        "perturbation.weight_perturbation": {"score": 0.0, "max_score": 2.0, "status": "wrong",
                                             "feedback": "wrong sign: the result is minus the expected one [hidden: "
                                                         "relu, batch of one]",
                                             "mistake": "wrong sign", "fixture": "relu, batch of one",
                                             "hidden": True, "seconds": 0.4},
        "perturbation.node_perturbation": {"score": 0.0, "max_score": 3.0, "status": "wrong",
                                           "feedback": "transposed: (in, out) [public fixture 2]",
                                           "mistake": "transposed", "hidden": False, "seconds": None},
        "perturbation.gradient_snr": {"score": 2.0, "max_score": 2.0, "feedback": "correct"},
    }, "score": 2.0, "max_score": 8.0}
    body = results(report, ASSIGNMENT, seconds=3.2)
    validate(body)
    hidden = [t for t in body["tests"] if t.get("visibility") == "after_due_date"]
    assert len(hidden) == 1 and "score" not in hidden[0] and "relu, batch of one" in hidden[0]["output"]
    visible = by_exercise(body)
    assert "relu" not in visible["perturbation.weight_perturbation"]["output"]
    assert "wrong sign" in visible["perturbation.weight_perturbation"]["output"]
    assert visible["perturbation.weight_perturbation"]["visibility"] == "visible"
    assert visible["perturbation.weight_perturbation"]["extra_data"]["seconds"] == 0.4
    assert visible["perturbation.node_perturbation"]["output"].startswith("transposed")
    assert visible["perturbation.stable_step"]["score"] == 0       # no result: zero, with a reason
    assert body["score"] == 2.0 and body["execution_time"] == 3
