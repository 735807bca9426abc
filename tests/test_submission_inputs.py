"""What the grader's parent accepts as a submission, and how it refuses the rest (no sandbox needed).

Both directions: every solution notebook still reads, parses and plans as before; each bad input (a
named pipe or other special file, a link, a folder tree deeper than any submission, JSON nested past the
parser's limit, more than ``MAX_CELLS`` cells, sources that are not text, tags that are not strings,
oversize cells) is one line, or is treated as no tag, and never raises anything but UngradableError.
"""
from __future__ import annotations

import io
import json
import os
import subprocess
from pathlib import Path

import pytest

from autograder import __main__ as cli
from autograder import batch
from autograder import notebook_grading as ng
from autograder.exercises import ASSIGNMENTS, exercises_of

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted(p.name for p in (ROOT / "solutions").iterdir() if (p / f"{p.name}.ipynb").is_file())


def solution(assignment: str = "01_perturbation") -> dict:
    return json.loads((ROOT / "solutions" / assignment / f"{assignment}.ipynb").read_text())


def one_line(err: Exception) -> str:
    text = str(err)
    assert text and "\n" not in text and "Traceback" not in text, text
    return text


def refused(data: bytes) -> str:
    with pytest.raises(ng.UngradableError) as info:
        ng.parse_notebook(data, "nb.ipynb")
    return one_line(info.value)


# --- honest notebooks ------------------------------------------------------------------------------------

@pytest.mark.parametrize("assignment", SOLUTIONS)
def test_solution_notebooks_read_parse_and_plan_every_exercise(assignment):
    path = ROOT / "solutions" / assignment / f"{assignment}.ipynb"
    nb = ng.read_notebook(path)
    assert ng.read_submission(path) == path.read_bytes()
    ng.check_content(nb, assignment)
    exercises = exercises_of(ASSIGNMENTS[assignment])
    work = ng.plan(nb, exercises)
    assert set(work.answers) == {e.id for e in exercises} and not work.notes


def test_exactly_max_cells_is_accepted():
    nb = solution()
    nb["cells"] += [{"cell_type": "markdown", "metadata": {}, "source": ""}] * (ng.MAX_CELLS - len(nb["cells"]))
    assert len(ng.parse_notebook(json.dumps(nb).encode())["cells"]) == ng.MAX_CELLS


def test_source_as_a_list_of_lines_is_accepted():
    nb = solution()
    for cell in nb["cells"]:
        cell["source"] = ng._source(cell).splitlines(keepends=True)
    parsed = ng.parse_notebook(json.dumps(nb).encode())
    assert set(ng.plan(parsed, exercises_of("perturbation")).answers) == {e.id for e in exercises_of("perturbation")}


# --- what is not a notebook: one line ---------------------------------------------------------------------

def test_json_nested_past_the_parsers_limit_is_one_line():
    nb = json.dumps(solution()).replace('"metadata": {', '"metadata": {"x": ' + "[" * 100_000 + "]" * 100_000 + ", ", 1)
    assert "nested too deeply" in refused(nb.encode())


def test_more_than_max_cells_is_one_line_with_the_cap():
    nb = solution()
    nb["cells"] += [{"cell_type": "markdown", "metadata": {}, "source": ""}] * 200_000
    assert "2,000" in refused(json.dumps(nb).encode())


def test_more_than_max_cells_in_an_old_format_notebook_is_refused_before_conversion():
    nb = {"nbformat": 3, "nbformat_minor": 0, "metadata": {},
          "worksheets": [{"cells": [{"cell_type": "code", "input": "", "outputs": []}] * (ng.MAX_CELLS + 1)}]}
    assert "2,000" in refused(json.dumps(nb).encode())


@pytest.mark.parametrize("data", [
    b"", b"\xff\xfe", b"[]", b"null", b'{"cells": {}}', b'{"cells": [1]}', b'{"cells": [{"source": ""}]}',
    b'{"cells": [{"cell_type": "code", "source": [1, "x"]}]}',
    b'{"cells": [{"cell_type": "code", "source": {"a": 1}}]}',
    b'{"cells": [{"cell_type": "code", "source": [["nested"]]}]}',
])
def test_malformed_json_and_structure_are_one_line(data):
    assert "not a Jupyter notebook" in refused(data)


# --- what is not a regular file: one line, and nothing blocks ----------------------------------------------

def test_named_pipe_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "01_perturbation.ipynb"
    os.mkfifo(fifo)
    with pytest.raises(ng.UngradableError) as info:     # a read would wait for a writer forever
        ng.read_notebook(fifo)
    assert "named pipe" in one_line(info.value)


@pytest.mark.parametrize("kind,words", [("symlink", "symbolic link"), ("directory", "directory"),
                                        ("missing", "no such file")])
def test_links_folders_and_missing_files_are_one_line(tmp_path, kind, words):
    path = tmp_path / "01_perturbation.ipynb"
    if kind == "symlink":
        (tmp_path / "real.ipynb").write_text(json.dumps(solution()))
        path.symlink_to(tmp_path / "real.ipynb")
    elif kind == "directory":
        path.mkdir()
    with pytest.raises(ng.UngradableError) as info:
        ng.read_submission(path)
    assert words in one_line(info.value)


def test_too_large_a_file_is_one_line(tmp_path, monkeypatch):
    path = tmp_path / "01_perturbation.ipynb"
    path.write_text(json.dumps(solution()))
    monkeypatch.setattr(ng, "MAX_NOTEBOOK_BYTES", 100)
    with pytest.raises(ng.UngradableError) as info:
        ng.read_submission(path)
    assert "larger than" in one_line(info.value)


def test_a_file_name_with_a_newline_stays_one_line(tmp_path):
    path = tmp_path / "a\nb.ipynb"
    os.mkfifo(path)
    with pytest.raises(ng.UngradableError) as info:
        ng.read_submission(path)
    one_line(info.value)


# --- tags and roles of any type ---------------------------------------------------------------------------

@pytest.mark.parametrize("tag", [["x"], {"a": 1}, 3, None, True, "\ud800\x00\u202e"])
def test_a_tag_that_is_not_an_exercise_id_counts_as_none(tag):
    nb = solution()
    nb["cells"].insert(0, {"cell_type": "markdown", "metadata": {"course": {"exercise": tag}}, "source": "hi"})
    nb["cells"].insert(1, {"cell_type": "code", "metadata": {"course": {"exercise": tag, "role": tag}},
                           "source": "x = 1"})
    nb = ng.parse_notebook(json.dumps(nb).encode())
    ng.check_content(nb, "01_perturbation")
    work = ng.plan(nb, exercises_of("perturbation"))
    assert set(work.answers) == {e.id for e in exercises_of("perturbation")}
    assert all(c["position"] != 1 for c in work.cells)


def test_odd_roles_and_metadata_are_not_run():
    nb = solution()
    nb["metadata"]["\u202e\x00"] = "\ud800"
    nb["cells"].append({"cell_type": "code", "metadata": {"course": {"role": "tools\u202e\x00"}}, "source": "x = 1"})
    nb["cells"].append({"cell_type": "code", "metadata": {"course": ["setup"]}, "source": "y = 1"})
    nb["cells"].append({"cell_type": "code", "metadata": "setup", "source": "z = 1"})
    count = len(nb["cells"])
    nb = ng.parse_notebook(json.dumps(nb).encode())
    ng.check_content(nb, "01_perturbation")
    work = ng.plan(nb, exercises_of("perturbation"))
    assert all(c["position"] < count - 3 for c in work.cells)


def test_tags_of_another_tutorial_are_named():
    nb = {"cells": [{"cell_type": "code", "metadata": {"course": {"exercise": "weight_transport.feedback_alignment"}},
                     "source": ""}, {"cell_type": "code", "metadata": {"course": {"exercise": ["x"]}}, "source": ""}]}
    with pytest.raises(ng.UngradableError) as info:
        ng.check_content(nb, "01_perturbation")
    assert "weight_transport" in one_line(info.value)


# --- the caps on what is run, and linear scans ---------------------------------------------------------------

def test_an_oversize_answer_cell_is_not_run_and_says_why():
    nb = solution()
    exercise = exercises_of("perturbation")[0]
    for cell in nb["cells"]:
        if ng._exercise_tag(cell) == exercise.id:
            cell["source"] = ng._source(cell) + "#" * (ng.MAX_CELL_BYTES + 1)
    work = ng.plan(ng.parse_notebook(json.dumps(nb).encode()), exercises_of("perturbation"))
    assert exercise.id not in work.answers and "KB" in work.notes[exercise.id]
    assert set(work.answers) == {e.id for e in exercises_of("perturbation")[1:]}


def test_the_total_source_cap_costs_only_the_cells_past_it(monkeypatch):
    nb = solution()
    exercises = exercises_of("perturbation")
    last = exercises[-1]
    sizes = [len(ng._source(c).encode()) for c in nb["cells"]
             if ng._exercise_tag(c) or ng._role(c)]
    last_size = next(len(ng._source(c).encode()) for c in nb["cells"] if ng._exercise_tag(c) == last.id)
    monkeypatch.setattr(ng, "MAX_SOURCE_BYTES", sum(sizes) - 1)      # everything but the last cell fits
    work = ng.plan(nb, exercises)
    assert last_size and last.id not in work.answers and "MB" in work.notes[last.id]


def test_definitions_are_found_in_pathological_sources():
    name = exercises_of("perturbation")[-1].function_name
    junk = (f"def {name}" * 20_000 + "\n" + "    def (" * 20_000 + "((((" * 50_000 + "\n") * 10
    assert not ng.defines(junk, name)
    assert ng.defines(junk + f"    def {name}  (x):\n", name)
    assert ng.defines(junk + f"async def {name}(x):\n", name)
    assert not ng.defines(junk + f"x = 1; def {name}(x):\n", name)


# --- finding notebooks ----------------------------------------------------------------------------------------

def _deep(folder: Path, levels: int) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        for _ in range(levels):
            os.mkdir("d", dir_fd=fd)
            inner = os.open("d", os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = inner
        os.close(os.open("x.ipynb", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd))
    finally:
        os.close(fd)


def test_a_folder_tree_deeper_than_python_recurses_is_one_warning(tmp_path):
    root = tmp_path / "submitted"
    (root / "alice" / "01_perturbation").mkdir(parents=True)
    (root / "alice" / "01_perturbation" / "01_perturbation.ipynb").write_text("{}")
    (root / "mallory").mkdir()
    _deep(root / "mallory", 1100)
    (root / "bob").mkdir()
    (root / "bob" / "x.ipynb").write_text("{}")
    try:
        log = io.StringIO()
        found = batch.find_notebooks(root, log=log)
        assert [p.relative_to(root).as_posix() for p in found] == ["alice/01_perturbation/01_perturbation.ipynb",
                                                                   "bob/x.ipynb"]
        lines = log.getvalue().splitlines()
        assert len(lines) == 1 and lines[0].startswith("mallory/d/") and f"{batch.MAX_DEPTH} deep" in lines[0]
    finally:
        subprocess.run(["rm", "-rf", str(root / "mallory")], check=False)


def test_a_notebook_at_the_depth_cap_is_found(tmp_path):
    _deep(tmp_path, batch.MAX_DEPTH)
    log = io.StringIO()
    assert [len(p.relative_to(tmp_path).parts) for p in batch.find_notebooks(tmp_path, log=log)] == [batch.MAX_DEPTH + 1]
    assert log.getvalue() == ""


def test_many_folders_past_the_cap_cost_a_bounded_number_of_lines(tmp_path, monkeypatch):
    monkeypatch.setattr(batch, "MAX_DEPTH", 1)
    for i in range(batch.MAX_WARNINGS + 5):
        (tmp_path / f"s{i:02d}" / "deeper").mkdir(parents=True)
        (tmp_path / f"s{i:02d}" / "a.ipynb").write_text("{}")
    log = io.StringIO()
    assert len(batch.find_notebooks(tmp_path, log=log)) == batch.MAX_WARNINGS + 5
    lines = log.getvalue().splitlines()
    assert len(lines) == batch.MAX_WARNINGS + 1 and lines[-1] == "... and 5 more folders not searched"


def test_links_to_folders_are_not_followed_and_special_files_only_on_request(tmp_path):
    root = tmp_path / "submitted"
    (root / "alice").mkdir(parents=True)
    (root / "alice" / "a.ipynb").write_text("{}")
    (root / "alice" / ".ipynb_checkpoints").mkdir()
    (root / "alice" / ".ipynb_checkpoints" / "a-checkpoint.ipynb").write_text("{}")
    (root / "eve").mkdir()
    (root / "eve" / "loop").symlink_to(root)                      # would loop, or reach a classmate
    (root / "eve" / "link.ipynb").symlink_to(root / "alice" / "a.ipynb")
    os.mkfifo(root / "eve" / "pipe.ipynb")
    names = lambda found: [p.relative_to(root).as_posix() for p in found]   # noqa: E731
    assert names(batch.find_notebooks(root)) == ["alice/a.ipynb", "eve/link.ipynb"]
    assert names(batch.find_notebooks(root, every_kind=True)) == ["alice/a.ipynb", "eve/link.ipynb", "eve/pipe.ipynb"]


def test_grade_all_prepares_special_files_as_one_line_rows(tmp_path):
    root = tmp_path / "submitted"
    (root / "mallory" / "01_perturbation").mkdir(parents=True)
    os.mkfifo(root / "mallory" / "01_perturbation" / "01_perturbation.ipynb")
    (root / "eve").mkdir()
    (root / "eve" / "01_perturbation.ipynb").symlink_to(ROOT / "solutions" / "01_perturbation" / "01_perturbation.ipynb")
    (root / "alice").mkdir()
    (root / "alice" / "01_perturbation.ipynb").write_text(json.dumps(solution()))
    rows = {}
    for path in batch.find_notebooks(root, every_kind=True):
        relative, data, name, error = batch._prepare(path, root, None)
        rows[relative] = (name, error)
    assert rows["alice/01_perturbation.ipynb"] == ("01_perturbation", None)
    assert "named pipe" in one_line(Exception(rows["mallory/01_perturbation/01_perturbation.ipynb"][1]))
    assert "symbolic link" in one_line(Exception(rows["eve/01_perturbation.ipynb"][1]))


# --- the command line: one line, exit 1 ----------------------------------------------------------------------

@pytest.mark.parametrize("make,words", [
    (lambda p: os.mkfifo(p), "named pipe"),
    (lambda p: p.write_text("[" * 100_000 + "]" * 100_000), "nested too deeply"),
    (lambda p: p.write_text(json.dumps({"cells": [{"cell_type": "raw", "source": ""}] * 2_001})), "2,000"),
])
def test_grade_refuses_bad_inputs_in_one_line(tmp_path, capsys, make, words):
    path = tmp_path / "01_perturbation.ipynb"
    make(path)
    assert cli.main(["grade", str(path), "--json"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1 and words in err, err


def test_an_os_error_on_the_command_line_is_one_line(tmp_path, capsys):
    out = tmp_path / ("g" * 300 + ".csv")      # a name longer than the file system allows (ENAMETOOLONG)
    code = cli.main(["export", "--journal", str(tmp_path / "journal.jsonl"), "--out", str(out)])
    out, err = capsys.readouterr()
    assert code == 1 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
