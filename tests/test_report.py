"""The instructor's report (autograder/report.py): a synthetic class written straight into a journal,
then the page read back: the values it must show, its links, its figures' alt text, what changed
between two reports, lateness, escaping, and the report that grade-all writes at the end of a run."""
from __future__ import annotations

import base64
import json
import os
import re
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest

from autograder.__main__ import main
from autograder.report import load_grades, status_of, student_of

EXERCISES = {   # a small course: two assignments, their exercises and points
    "01_perturbation": {"perturbation.weight_perturbation": 2.0, "perturbation.node_perturbation": 3.0},
    "02_weight_transport": {"weight_transport.backprop_gradients": 2.0,
                            "weight_transport.feedback_alignment": 3.0},
}
MISTAKES = ("wrong sign", "transposed", "sum instead of mean")


def answer(student: int, exercise: str, points: float, assignment_index: int, optional: bool = True) -> dict:
    """A deterministic answer: which status each student gets follows from their number."""
    kind = (student + 3 * assignment_index + len(exercise)) % 10
    if kind < 5:
        r = {"score": points, "max_score": points, "feedback": "correct: matches the reference on all 4 fixtures",
             "status": "correct", "mistake": None, "fixture": None, "hidden": None}
    elif kind < 8:
        mistake = MISTAKES[kind - 5]
        r = {"score": 0.0, "max_score": points, "feedback": f"{mistake}: see the notes [hidden fixture {kind}]",
             "status": "wrong", "mistake": mistake, "fixture": f"kind-{kind}", "hidden": kind == 7}
    elif kind == 8:
        r = {"score": 0.0, "max_score": points, "feedback": "no marks: the function raised ZeroDivisionError",
             "status": "error", "mistake": None, "fixture": "batch of one", "hidden": False}
    else:
        r = {"score": 0.0, "max_score": points, "feedback": "no marks: took longer than 60 s (an endless loop?)",
             "status": "timeout", "mistake": None, "fixture": None, "hidden": False}
    r["seconds"] = round(0.05 + (student * 37 % 100) / 100, 3)
    if not optional:
        r = {k: r[k] for k in ("score", "max_score", "feedback")}
    return r


def synthetic_entries(students: int = 30, optional: bool = True) -> list[dict]:
    entries = []
    for s in range(students):
        for a, (assignment, exercises) in enumerate(EXERCISES.items()):
            notebook = f"student{s:03d}/{assignment}/{assignment}.ipynb"
            if s == 7 and a == 1:    # one notebook that could not be graded
                entries.append({"key": f"k-{s}-{a}", "notebook": notebook, "assignment": assignment,
                                "error": "the file is not a Jupyter notebook (Expecting value)"})
                continue
            results = {e: answer(s, e, p, a, optional) for e, p in exercises.items()}
            report = {"notebook": notebook, "assignment": assignment, "tutorial": assignment[3:],
                      "exercises": results, "score": sum(r["score"] for r in results.values()),
                      "max_score": sum(exercises.values())}
            entries.append({"key": f"k-{s}-{a}", "notebook": notebook, "assignment": assignment, "report": report})
    return entries


def write_journal(path: Path, entries: list[dict], mode: str = "w") -> Path:
    with open(path, mode) as f:
        for entry in entries:
            f.write(json.dumps(entry) + "\n")
    return path


class Page(HTMLParser):
    """What the tests look at: images, links, ids, the student table's rows, text."""

    def __init__(self, text: str):
        super().__init__()
        self.images, self.links, self.ids, self.rows, self.text = [], [], set(), [], []
        self._table, self._row, self._cell = None, None, None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "img":
            self.images.append(attrs)
        if tag == "a" and "href" in attrs:
            self.links.append(attrs["href"])
        if tag == "table":
            self._table = attrs.get("id")
        if tag == "tr" and self._table == "student-table":
            self._row = []
        if tag == "td" and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        if tag == "tr" and self._row is not None:
            if self._row:
                self.rows.append(self._row)
            self._row = None
        if tag == "table":
            self._table = None

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)

    @property
    def plain(self) -> str:
        return re.sub(r"\s+", " ", " ".join(self.text))


@pytest.fixture
def journal(tmp_path):
    return write_journal(tmp_path / "grades.csv.journal.jsonl", synthetic_entries())


def report(grades: Path, out: Path, *extra) -> Page:
    assert main(["report", "--grades", str(grades), "--out", str(out), *extra]) == 0
    return Page(out.read_text(encoding="utf-8"))


def test_the_page_shows_the_class(journal, tmp_path):
    page = report(journal, tmp_path / "report.html")
    entries = synthetic_entries()
    # every assignment, every exercise
    for assignment, exercises in EXERCISES.items():
        assert assignment in page.plain
        for exercise in exercises:
            assert exercise in page.plain
    # the named mistakes and how many answers made each, per exercise
    for assignment, exercises in EXERCISES.items():
        for exercise in exercises:
            made = {}
            for e in entries:
                r = (e.get("report") or {}).get("exercises", {}).get(exercise)
                if r and r.get("mistake"):
                    made[r["mistake"]] = made.get(r["mistake"], 0) + 1
            section = page.plain.split(exercise, 1)[1]
            for mistake, count in made.items():
                assert re.search(rf"{re.escape(mistake)} {count} \d+%", section), (exercise, mistake, count)
    # hidden fixtures are marked; the crashed answers are counted
    assert "kind-7 hidden" in page.plain and "kind-5 public" in page.plain
    assert "Crashed answers:" in page.plain
    # one row per student in the table; the ungradable notebook says so
    assert len(page.rows) == 30
    row7 = next(r for r in page.rows if r[0] == "student007")
    assert row7[2] == "not graded"
    assert "the file is not a Jupyter notebook" in page.plain
    # totals are right
    for row in page.rows:
        s = int(row[0][-3:])
        total = sum(e["report"]["score"] for e in entries if e.get("report") and f"student{s:03d}/" in e["notebook"])
        assert float(row[3]) == pytest.approx(total)


def test_links_and_figures(journal, tmp_path):
    page = report(journal, tmp_path / "report.html")
    # every in-page link lands on an element of the page; every notebook has its feedback section
    assert all(link.startswith("#") for link in page.links)
    assert {link[1:] for link in page.links} <= page.ids
    assert sum(1 for i in page.ids if i.startswith("nb-")) == len(synthetic_entries())
    # one figure per assignment and per exercise; each an embedded PNG with alt text that gives numbers
    assert len(page.images) == len(EXERCISES) + sum(len(e) for e in EXERCISES.values())
    for image in page.images:
        assert image["src"].startswith("data:image/png;base64,")
        assert base64.b64decode(image["src"].split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
        assert len(image.get("alt", "")) > 40 and re.search(r"\d", image["alt"])
    # nothing from the network
    text = (tmp_path / "report.html").read_text()
    assert "http://" not in text and "https://" not in text
    assert "Content-Security-Policy" in text


def test_without_the_optional_fields(tmp_path):
    """Only score, max_score and feedback: the report still works, mistakes come from the feedback."""
    grades = tmp_path / "grades.json"
    grades.write_text(json.dumps([{k: v for k, v in e.items() if k != "key"}
                                  for e in synthetic_entries(optional=False)]))
    page = report(grades, tmp_path / "report.html")
    assert len(page.rows) == 30
    assert "wrong sign" in page.plain and "Slowest answers" not in page.plain
    assert len(page.images) == len(EXERCISES) + sum(len(e) for e in EXERCISES.values())


def test_status_without_the_field():
    assert status_of({"score": 2, "max_score": 2, "feedback": "correct"}) == "correct"
    assert status_of({"score": 0, "max_score": 2, "feedback": "f not implemented yet (the function raises "
                                                              "NotImplementedError)"}) == "missing"
    assert status_of({"score": 0, "max_score": 2, "feedback": "no marks: took longer than 60 s"}) == "timeout"
    assert status_of({"score": 0, "max_score": 2, "feedback": "wrong sign: minus the expected one"}) == "wrong"
    assert status_of({"score": 0, "max_score": 2, "feedback": "x", "status": "error"}) == "error"


def test_students_from_paths():
    assert student_of("alice/01_perturbation/01_perturbation.ipynb", "01_perturbation") == "alice"
    assert student_of("submitted/bob/01_perturbation/any.ipynb", "01_perturbation") == "bob"
    assert student_of("carol/01_perturbation.ipynb", "01_perturbation") == "carol"
    assert student_of("flat.ipynb", "01_perturbation") is None


def test_what_changed_since_the_last_report(journal, tmp_path):
    out = tmp_path / "report.html"
    first = report(journal, out)
    assert "No earlier report to compare with" in first.plain
    # a rerun: student 3's first notebook regraded to full marks, a new student, nothing else
    entries = synthetic_entries()
    regraded = json.loads(json.dumps(entries[6]))          # student003, 01_perturbation
    assert regraded["notebook"].startswith("student003/01_perturbation")
    before = regraded["report"]["score"]
    for r in regraded["report"]["exercises"].values():
        r.update(score=r["max_score"], status="correct", mistake=None)
    regraded["report"]["score"] = 5.0
    regraded["key"] = "k-new-3"
    new = json.loads(json.dumps(entries[0]))
    new["notebook"] = new["notebook"].replace("student000", "newcomer")
    new["key"] = "k-newcomer"
    write_journal(journal, [regraded, new], mode="a")
    second = report(journal, out)
    assert "1 regraded, 1 new, 0 no longer in the grades" in second.plain
    assert re.search(rf"student003 01_perturbation {before:g} 5\b", second.plain)
    assert "newcomer (01_perturbation)" in second.plain
    assert len(second.rows) == 31
    row = next(r for r in second.rows if r[0] == "student003")
    assert row[-1] == "01_perturbation regraded"
    # and a third report with nothing new says so
    third = report(journal, out)
    assert "0 regraded, 0 new, 0 no longer in the grades" in third.plain


def test_late_submissions(journal, tmp_path):
    submitted = tmp_path / "submitted"
    due = "2026-12-01T23:59:00+00:00"
    for e in synthetic_entries():
        path = submitted / e["notebook"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}")
        os.utime(path, (0, time.mktime((2026, 11, 30, 12, 0, 0, 0, 0, -1))))   # on time by its file time
    # student 5: nbgrader's timestamp, two hours late; student 6: file time a day late
    (submitted / "student005/01_perturbation/timestamp.txt").write_text("2026-12-02 01:59:30.000000 UTC")
    late_file = submitted / "student006/02_weight_transport/02_weight_transport.ipynb"
    os.utime(late_file, (0, time.mktime((2026, 12, 3, 12, 0, 0, 0, 0, -1))))
    out = tmp_path / "report.html"
    page = report(journal, out, "--due", due, "--submissions", str(submitted))
    assert "2 late submission(s)" in page.plain
    assert "student005 01_perturbation 2 h 00 min timestamp.txt" in page.plain
    assert re.search(r"student006 02_weight_transport [\d ]+(h|days).* file time", page.plain)
    # the next report (as grade-all writes it) remembers the due date and the folder
    again = report(journal, out)
    assert "2 late submission(s)" in again.plain
    # a due date per assignment
    page = report(journal, out, "--due", "01_perturbation=2026-12-05T00:00:00+00:00",
                  "--due", "02_weight_transport=2026-12-01T23:59:00+00:00")
    assert "1 late submission(s)" in page.plain


def test_student_content_is_escaped(tmp_path):
    entries = synthetic_entries(3)
    entries[0]["notebook"] = "<script>alert(1)</script>/01_perturbation/01_perturbation.ipynb"
    exercise = next(iter(entries[0]["report"]["exercises"].values()))
    exercise["feedback"] = 'no marks: <img src=x onerror="alert(2)">'
    exercise["mistake"] = "<b>bold</b>"
    grades = write_journal(tmp_path / "g.jsonl", entries)
    out = tmp_path / "report.html"
    report(grades, out)
    text = out.read_text()
    assert "<script>alert(1)" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "<img src=x" not in text and "<b>bold</b>" not in text


def test_grades_json_and_journal_agree(journal, tmp_path):
    as_json = tmp_path / "grades.json"
    as_json.write_text(json.dumps([{k: v for k, v in e.items() if k != "key"} for e in synthetic_entries()]))
    a = [e.get("report") for e in load_grades(journal)]
    b = [e.get("report") for e in load_grades(as_json)]
    assert a == b


def test_unreadable_grades_are_one_line(tmp_path, capsys):
    bad = tmp_path / "grades.json"
    bad.write_text("not json")
    assert main(["report", "--grades", str(bad), "--out", str(tmp_path / "r.html")]) == 1
    assert capsys.readouterr().err.count("\n") == 1
    assert main(["report", "--grades", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path / "r.html")]) == 1


def test_grade_all_writes_the_report(tmp_path):
    """A real (small) run: grade-all leaves grades.report.html beside the grades."""
    repo = Path(__file__).resolve().parents[1]
    for student, source in (("ada", "solutions"), ("bo", "notebooks")):
        folder = tmp_path / "submitted" / student / "01_perturbation"
        folder.mkdir(parents=True)
        (folder / "01_perturbation.ipynb").write_bytes(
            (repo / source / "01_perturbation" / "01_perturbation.ipynb").read_bytes())
    out = tmp_path / "grades.csv"
    assert main(["grade-all", str(tmp_path / "submitted"), "--out", str(out), "--workers", "1"]) == 0
    page = Page((tmp_path / "grades.report.html").read_text())
    rows = {r[0]: r for r in page.rows}
    assert set(rows) == {"ada", "bo"}
    assert float(rows["ada"][1]) == 8 and float(rows["bo"][1]) == 0
    assert "perturbation.stable_step" in page.plain
    assert (tmp_path / "grades.report.state.json").is_file()
