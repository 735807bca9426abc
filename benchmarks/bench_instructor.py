"""The instructor's view on a class of 500 synthetic notebooks: how long the report, the Canvas export,
the similarity page and the Gradescope zip take, beside the grading itself. Never part of the tests.

    python benchmarks/bench_instructor.py                 (the journal written directly: fast)
    python benchmarks/bench_instructor.py --grade         (grade-all on the 500 notebooks first, 2 workers)
    python benchmarks/bench_instructor.py --students 125 --keep DIR

The class: STUDENTS students x 4 assignments (01-04) = 500 notebooks in nbgrader's layout
(submitted/<student>/<assignment>/<assignment>.ipynb). Each answer cell is, at random (seeded): the
solution with its local names renamed and comments and blank lines added (60%), the untouched stub
(20%), a copy of another student's answer, renamed again (10%), or the solution with its result
negated (10%); tutorial 01's weight perturbation takes one of the 20 independent styles of
tests/test_similarity.py instead of the solution. Without --grade, the journal is written directly with
the grader's fields (status, mistake, fixture, hidden, seconds) drawn at random, and the report is made
from it; with --grade the report is made from grade-all's own journal. Every command runs as the
instructor runs it (a fresh `python -m autograder ...`, its start-up included), timed by wall clock.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tokenize
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENTS = ("01_perturbation", "02_weight_transport", "03_eqprop", "04_forward_forward")
KEEP = {"np", "self", "True", "False", "None", "range", "len", "dict", "list", "zip", "sum", "float", "int",
        "abs", "max", "min", "enumerate", "tuple", "sorted", "print", "isinstance", "map", "any", "all"}


def _answer_cells(nb) -> dict:
    return {c["metadata"]["course"]["exercise"]: c for c in nb["cells"]
            if c.get("cell_type") == "code" and c.get("metadata", {}).get("course", {}).get("exercise")}


def _source(cell) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def vary(source: str, rng: random.Random) -> str:
    """The same code with its local names renamed (not parameters, attributes or globals it calls),
    comments added and blank lines moved: what copying and hiding it looks like."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return source
    assigned = set(re.findall(r"^\s*([A-Za-z_]\w*)\s*(?:\[[^\]]*\])?\s*[+\-*/]?=(?!=)", source, re.M))
    assigned |= set(re.findall(r"\bfor\s+([A-Za-z_]\w*)", source))
    # never a parameter (answers are called by keyword) nor a name an f-string or another cell uses
    fixed = {n for sig in re.findall(r"def\s+\w+\s*\(([^)]*)\)", source) for n in re.findall(r"\b\w+\b", sig)}
    fixed |= set(re.findall(r"\{([A-Za-z_]\w*)", source)) | set(re.findall(r"^([A-Za-z_]\w*)\s*=", source, re.M))
    rename = {name: f"{name}_{rng.choice(['v', 'tmp', 'my', 'x'])}{rng.randint(0, 99)}"
              for name in assigned - fixed if name not in KEEP and not name.startswith("_")}
    out, previous = [], None
    for tok in tokens:
        text = tok.string
        if tok.type == tokenize.NAME and text in rename and previous != ".":
            text = rename[text]
        out.append((tok.type, text))
        previous = tok.string if tok.type == tokenize.OP else None
    try:
        code = tokenize.untokenize(out)
        compile(code, "answer", "exec")
    except (ValueError, SyntaxError):
        return source
    lines = []
    for line in code.splitlines():
        lines.append(line)
        if line.strip() and not line.strip().startswith(("#", '"', "'")) and rng.random() < 0.15:
            indent = line[: len(line) - len(line.lstrip())]
            lines.append(f"{indent}# {rng.choice(['step', 'note', 'check this', 'ok', 'see the text'])}")
        if rng.random() < 0.05:
            lines.append("")
    return "\n".join(lines) + "\n"


def wrong(source: str) -> str:
    """The answer with its result negated (a wrapper after it, as benchmarks/bench_grading.py does)."""
    name = re.search(r"^def\s+(\w+)\s*\(", source, re.M)
    if name is None:
        return source
    return source + (
        f"\n\nimport numpy as _np\n_right = {name.group(1)}\n\n"
        "def _negate(value):\n    if isinstance(value, dict):\n        return {k: _negate(v) for k, v in value.items()}\n"
        "    if isinstance(value, (tuple, list)):\n        return type(value)(_negate(v) for v in value)\n"
        "    return -_np.asarray(value) - 1\n\n"
        f"def {name.group(1)}(*args, **kwargs):\n    return _negate(_right(*args, **kwargs))\n")


def make_class(root: Path, students: int, seed: int = 0) -> int:
    sys.path.insert(0, str(REPO / "tests"))
    from test_similarity import STYLES, SIGNATURE
    rng = random.Random(seed)
    count = 0
    for assignment in ASSIGNMENTS:
        solution = json.loads((REPO / "solutions" / assignment / f"{assignment}.ipynb").read_text())
        stub = json.loads((REPO / "notebooks" / assignment / f"{assignment}.ipynb").read_text())
        solved = {k: _source(c) for k, c in _answer_cells(solution).items()}
        given = {k: _source(c) for k, c in _answer_cells(stub).items()}
        written: dict[str, list[str]] = {k: [] for k in given}
        for s in range(students):
            nb = json.loads(json.dumps(stub))
            for exercise, cell in _answer_cells(nb).items():
                draw = rng.random()
                if exercise == "perturbation.weight_perturbation":
                    base = given[exercise].split("    # YOUR CODE HERE")[0].rstrip("\n") + "\n" + rng.choice(STYLES)
                    assert base.startswith(SIGNATURE)
                else:
                    base = solved.get(exercise, given[exercise])
                if draw < 0.6:
                    text = vary(base, rng)
                elif draw < 0.8:
                    text = given[exercise]
                elif draw < 0.9 and written[exercise]:
                    text = vary(rng.choice(written[exercise]), rng)
                else:
                    text = wrong(vary(base, rng))
                written[exercise].append(text)
                cell["source"] = text
                cell["outputs"], cell["execution_count"] = [], None
            folder = root / f"student{s:03d}" / assignment
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{assignment}.ipynb").write_text(json.dumps(nb))
            count += 1
    return count


def synthetic_journal(root: Path, journal: Path, seed: int = 1) -> None:
    """One journal line per notebook, with the grader's fields drawn at random (no grading)."""
    sys.path.insert(0, str(REPO))
    from autograder.exercises import ASSIGNMENTS as TUTORIALS, exercises_of
    rng = random.Random(seed)
    mistakes = ["wrong sign", "transposed", "sum instead of mean", "missing derivative", "off by sigma^2"]
    with open(journal, "w") as f:
        for path in sorted(root.rglob("*.ipynb")):
            relative = str(path.relative_to(root))
            assignment = path.parent.name
            results = {}
            for e in exercises_of(TUTORIALS[assignment]):
                status = rng.choices(["correct", "wrong", "missing", "error", "timeout"], [55, 25, 15, 4, 1])[0]
                hidden = status == "wrong" and rng.random() < 0.4
                results[e.id] = {
                    "score": float(e.points) if status == "correct" else 0.0, "max_score": float(e.points),
                    "feedback": ("correct: matches the reference on all fixtures" if status == "correct" else
                                 f"{status}: {rng.choice(mistakes)} [fixture {rng.randint(1, 6)}]"),
                    "mistake": rng.choice(mistakes) if status == "wrong" else None,
                    "fixture": f"{'hidden' if hidden else 'public'} kind {rng.randint(1, 6)}" if status == "wrong" else None,
                    "hidden": hidden, "status": status, "seconds": round(rng.lognormvariate(-2.5, 0.6), 4)}
            report = {"notebook": relative, "assignment": assignment, "tutorial": TUTORIALS[assignment],
                      "exercises": results, "score": sum(r["score"] for r in results.values()),
                      "max_score": sum(r["max_score"] for r in results.values())}
            f.write(json.dumps({"key": f"bench-{relative}", "notebook": relative, "assignment": assignment,
                                "report": report, "graded_at": "2026-12-01T12:00:00+00:00"}) + "\n")


def roster(root: Path, path: Path) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section"] + [f"{a} ({4400 + i})"
                                                                                     for i, a in enumerate(ASSIGNMENTS)])
        for i, student in enumerate(sorted(p.name for p in root.iterdir())):
            writer.writerow([f"Student {i}", 1000 + i, f"S{i:05d}", student, "Lab A" if i % 2 else "Lab B"]
                            + [""] * len(ASSIGNMENTS))


def timed(args: list, cwd: Path, env=None) -> float:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    return wall


def gradescope_once(work: Path, notebook: Path) -> tuple[float, float]:
    """(seconds to build the zip, seconds for run_autograder on one notebook in a temporary root)."""
    bundle = work / "gradescope.zip"
    build = timed(["-m", "autograder", "gradescope", "01_perturbation", "--out", str(bundle)], REPO)
    root = work / "autograder"
    for folder in ("source", "submission", "results"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(bundle) as z:
        z.extractall(root / "source")
    shutil.copy(notebook, root / "submission" / notebook.name)
    env = {**os.environ, "GRADESCOPE_ROOT": str(root), "GRADESCOPE_PYTHON": sys.executable}
    start = time.perf_counter()
    subprocess.run(["bash", str(root / "source" / "run_autograder")], env=env, check=True, capture_output=True)
    return build, time.perf_counter() - start


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=125, help="students (x 4 assignments; default 125 = 500)")
    parser.add_argument("--grade", action="store_true", help="grade the class first (grade-all, --workers 2)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep", help="build the class in this folder and keep it")
    args = parser.parse_args(argv)
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-instructor-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        submitted = work / "submitted"
        if submitted.exists():
            shutil.rmtree(submitted)
        start = time.perf_counter()
        n = make_class(submitted, args.students)
        print(f"{n} notebooks built in {time.perf_counter() - start:.1f} s ({args.students} students x "
              f"{len(ASSIGNMENTS)} assignments) in {work}")
        grades, journal = work / "grades.csv", work / "grades.csv.journal.jsonl"
        for stale in work.glob("grades*"):
            stale.unlink()
        rows = []
        if args.grade:
            wall = timed(["-m", "autograder", "grade-all", str(submitted), "--out", str(grades),
                          "--workers", str(args.workers)], REPO)
            rows.append((f"grade-all --workers {args.workers} (writes the report too)", wall))
            (work / "grades.report.html").unlink()
            (work / "grades.report.state.json").unlink()
        else:
            synthetic_journal(submitted, journal)
        rows.append(("report", timed(["-m", "autograder", "report", "--grades", str(journal), "--out",
                                      str(work / "report.html"), "--due", "2026-12-01T23:59",
                                      "--submissions", str(submitted)], REPO)))
        roster(submitted, work / "roster.csv")
        rows.append(("export --format canvas", timed(["-m", "autograder", "export", "--format", "canvas",
                                                      "--roster", str(work / "roster.csv"), "--grades", str(journal),
                                                      "--out", str(work / "canvas.csv")], REPO)))
        rows.append(("similarity", timed(["-m", "autograder", "similarity", str(submitted), "--out",
                                          str(work / "similarity.html")], REPO)))
        build, one = gradescope_once(work, REPO / "solutions" / "01_perturbation" / "01_perturbation.ipynb")
        rows.append(("gradescope (build the zip)", build))
        rows.append(("gradescope run_autograder, one notebook", one))
        size = {name: (work / name).stat().st_size / 1e6 for name in ("report.html", "similarity.html")}
        print(f"{'command':<48} {'wall s':>8}")
        for name, wall in rows:
            print(f"{name:<48} {wall:>8.1f}")
        print(f"report.html {size['report.html']:.1f} MB, similarity.html {size['similarity.html']:.1f} MB")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
