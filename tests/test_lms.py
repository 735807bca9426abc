"""Canvas's gradebook import CSV (autograder/lms.py): columns as Canvas documents them, each grade on
its student's row, and every student the roster and the submissions disagree on left out with a
one-line warning, never given a wrong grade."""
from __future__ import annotations

import csv
import json

import pytest

from autograder.__main__ import main
from autograder.lms import canvas_table, read_roster

CANVAS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]


def entry(student, assignment, score=None, max_score=8.0, error=None, name=None):
    notebook = f"{student}/{assignment}/{name or assignment}.ipynb"
    if error:
        return {"notebook": notebook, "assignment": assignment, "error": error}
    return {"notebook": notebook, "assignment": assignment,
            "report": {"notebook": notebook, "assignment": assignment, "exercises": {}, "score": score,
                       "max_score": max_score}}


ENTRIES = [
    entry("ada", "01_perturbation", 8.0), entry("ada", "02_weight_transport", 9.5, 12.0),
    entry("bo", "01_perturbation", 3.0),
    entry("cy", "01_perturbation", error="the file is not a Jupyter notebook"),
    entry("cy", "02_weight_transport", 12.0, 12.0),
    entry("mallory", "01_perturbation", 8.0),                                   # not in the roster
    entry("dee", "01_perturbation", 5.0), entry("dee", "01_perturbation", 6.0, name="copy"),  # two notebooks
    entry("twin", "01_perturbation", 7.0),                                      # key given twice in the roster
]

ROSTER = """Student,ID,SIS User ID,SIS Login ID,Section,01_perturbation (4401),Current Score
    Points Possible,,,,,8.0,(read only)
"Lovelace, Ada",101,S-101,ada,Lab A,,
"Bo, Bo",102,S-102,bo,Lab B,,
"Cy, Cy",103,S-103,cy,Lab A,,
"Dee, Dee",104,S-104,dee,Lab B,,
"Ed, Ed",105,S-105,ed,Lab A,,
"Twin, One",106,S-106,twin,Lab A,,
"Twin, Two",107,S-107,twin,Lab B,,
"""


@pytest.fixture
def files(tmp_path):
    grades = tmp_path / "grades.json"
    grades.write_text(json.dumps(ENTRIES))
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8-sig")    # Canvas's export starts with a byte-order mark
    return grades, roster


def read(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def test_canvas_csv(files, tmp_path, capsys):
    grades, roster = files
    out = tmp_path / "canvas.csv"
    assert main(["export", "--format", "canvas", "--roster", str(roster), "--grades", str(grades),
                 "--out", str(out)]) == 0
    rows = read(out)
    # Canvas's columns, then one per assignment: an existing Canvas column is reused (with its id)
    assert rows[0] == CANVAS + ["01_perturbation (4401)", "02_weight_transport"]
    assert rows[1] == ["Points Possible", "", "", "", "", "8", "12"]
    by_login = {r[3]: r for r in rows[2:]}
    assert by_login["ada"] == ["Lovelace, Ada", "101", "S-101", "ada", "Lab A", "8", "9.5"]
    assert by_login["bo"] == ["Bo, Bo", "102", "S-102", "bo", "Lab B", "3", ""]
    assert by_login["cy"] == ["Cy, Cy", "103", "S-103", "cy", "Lab A", "", "12"]     # ungradable: blank
    # left out: not in the roster, no submission, ambiguous key, and a student with nothing to export
    assert set(by_login) == {"ada", "bo", "cy"}
    err = capsys.readouterr().err
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == len(err.splitlines())          # every warning is one line
    for expected in ("'mallory' is not in the roster", "Ed, Ed (SIS Login ID 'ed') has no graded submission",
                     "gives SIS Login ID 'twin' to 2 rows", "'dee' has 2 notebooks for 01_perturbation",
                     "cy/01_perturbation/01_perturbation.ipynb could not be graded"):
        assert any(expected in w for w in warnings), (expected, warnings)


def test_the_default_export_is_unchanged(tmp_path):
    """Without --format the export writes the plain CSV and grades.json from the journal, as before."""
    journal = tmp_path / "grades.csv.journal.jsonl"
    journal.write_text("".join(json.dumps({"key": f"k{i}", **e}) + "\n" for i, e in enumerate(ENTRIES[:3])))
    assert main(["export", "--out", str(tmp_path / "grades.csv"), "--journal", str(journal)]) == 0
    assert (tmp_path / "grades-01_perturbation.csv").is_file() and (tmp_path / "grades.json").is_file()
    assert not (tmp_path / "canvas.csv").exists()


def test_key_column_and_overrides(files, tmp_path):
    grades, roster = files
    # folders named by SIS User ID; the new assignment goes to a named Canvas column
    entries = [entry("S-101", "01_perturbation", 4.0), entry("S-101", "02_weight_transport", 1.0, 12.0)]
    header, people = read_roster(roster, "SIS User ID")
    columns, rows = canvas_table(entries, header, people, "SIS User ID",
                                 {"02_weight_transport": "Tutorial 2 (4402)"}, warn=lambda line: None)
    assert columns == CANVAS + ["01_perturbation (4401)", "Tutorial 2 (4402)"]
    assert rows[1] == ["Lovelace, Ada", "101", "S-101", "ada", "Lab A", "4", "1"]
    assert len(rows) == 2


def test_bad_roster_is_one_line(files, tmp_path, capsys):
    grades, roster = files
    out = tmp_path / "canvas.csv"
    assert main(["export", "--format", "canvas", "--roster", str(roster), "--grades", str(grades),
                 "--out", str(out), "--key", "Email"]) == 1
    assert "no column 'Email'" in capsys.readouterr().err
    assert main(["export", "--format", "canvas", "--grades", str(grades), "--out", str(out)]) == 1
    assert "--roster" in capsys.readouterr().err
    assert not out.exists()
