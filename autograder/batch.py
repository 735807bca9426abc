"""Grading many notebooks: discovery, a journal that keeps every result as soon as it exists, and
the grade export, written atomically.

- The journal (``<out>.journal.jsonl``) gets one line per graded notebook, flushed and synced before
  the next notebook starts, keyed by the notebook's content, its assignment and the grader's version:
  a crash or a kill loses nothing already graded, and a rerun grades only what is new or changed.
- One notebook that cannot be graded, or that breaks the grader, is one error row; the batch goes on.
- ``--out`` is checked before any grading starts (not a directory, not a symbolic link, a folder that
  exists), and the CSV is written to a temporary file in that folder and renamed over it.
"""
from __future__ import annotations

import csv
import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path

from .notebook_grading import UngradableError, grade_nb, read_notebook, resolve_assignment
from .sandbox import Limits


class OutputPathError(Exception):
    """The place to write grades to is not usable (said before any grading starts)."""


def check_out_path(out) -> Path:
    out = Path(out)
    if out.is_symlink():
        raise OutputPathError(f"{out} is a symbolic link; name a regular file")
    if out.is_dir():
        raise OutputPathError(f"{out} is a directory; name a file, such as {out / 'grades.csv'}")
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise OutputPathError(f"the folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise OutputPathError(f"cannot write to the folder {parent}")
    return out


def grader_version() -> str:
    """Changes whenever the grader, the exercises or the course package change."""
    import autograder
    import course_utils
    digest = hashlib.sha256()
    for package in (autograder, course_utils):
        root = Path(package.__file__).resolve().parent
        for path in sorted(root.rglob("*.py")):
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def find_notebooks(root: Path) -> list[Path]:
    """Every .ipynb below root (not following symbolic links; no checkpoints), sorted."""
    found = []
    for folder, dirs, files in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d != ".ipynb_checkpoints")
        found += [Path(folder) / f for f in sorted(files) if f.endswith(".ipynb")]
    return found


class Journal:
    """Append-only JSON lines; the last line for a key wins. A torn last line is ignored."""

    def __init__(self, path: Path):
        self.path = path
        self.entries: dict[str, dict] = {}
        if path.is_symlink():
            raise OutputPathError(f"{path} is a symbolic link")
        if path.exists():
            with open(path, encoding="utf-8", errors="replace") as f:
                for line in f:
                    try:
                        entry = json.loads(line)
                        self.entries[entry["key"]] = entry
                    except (ValueError, KeyError, TypeError):
                        continue
        self._file = open(path, "a", encoding="utf-8")

    def record(self, entry: dict) -> None:
        self.entries[entry["key"]] = entry
        self._file.write(json.dumps(entry) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self):
        self._file.close()


def notebook_key(path: Path, root: Path, assignment: str | None, version: str) -> str:
    """The notebook's place, its content, the assignment it is graded as and the grader's version."""
    digest = hashlib.sha256(f"{path.relative_to(root)}|{assignment}|{version}|".encode())
    digest.update(path.read_bytes() if path.is_file() and not path.is_symlink() else b"")
    return digest.hexdigest()


def grade_one(path: Path, root: Path, assignment: str | None, limits: Limits) -> dict:
    """One notebook -> a journal entry's "report" or "error" (never raises)."""
    relative = str(path.relative_to(root))
    try:
        if path.is_symlink():
            raise UngradableError("a symbolic link, not a notebook file")
        nb = read_notebook(path)
        name = resolve_assignment(path.resolve() if assignment is None else path, assignment)
        report = grade_nb(nb, name, limits, name=relative)
        return {"notebook": relative, "report": report}
    except UngradableError as err:
        return {"notebook": relative, "error": str(err)}
    except Exception as err:  # a bug of ours: this notebook's row says so, the batch goes on
        return {"notebook": relative, "error": f"internal grader error: {type(err).__name__}: {err}"[:300]}


def grade_all(root, out, assignment: str | None = None, limits: Limits | None = None,
              regrade: bool = False, log=sys.stderr) -> list[dict]:
    """Grade every notebook below root into ``out`` (CSV) -> the rows, in notebook order."""
    root, out = Path(root), check_out_path(out)
    if not root.is_dir():
        raise OutputPathError(f"{root} is not a directory")
    limits = limits or Limits()
    version = grader_version()
    journal = Journal(out.with_name(out.name + ".journal.jsonl"))
    entries = []
    try:
        for path in find_notebooks(root):
            key = notebook_key(path, root, assignment, version)
            entry = None if regrade else journal.entries.get(key)
            if entry is None:
                entry = {"key": key, **grade_one(path, root, assignment, limits)}
                journal.record(entry)
                state = "graded"
            else:
                state = "unchanged, kept"
            report = entry.get("report")
            summary = (f"{report['score']:g} / {report['max_score']:g}" if report
                       else f"not graded ({entry['error']})")
            print(f"{entry['notebook']}: {summary} [{state}]", file=log)
            entries.append(entry)
    finally:
        journal.close()
    write_csv(out, entries)
    return entries


def write_csv(out: Path, entries: list[dict]) -> None:
    columns, exercise_ids = ["notebook", "assignment", "score", "max_score"], []
    rows = []
    for entry in entries:
        row = {"notebook": entry["notebook"], "error": entry.get("error", "")}
        report = entry.get("report")
        if report:
            row.update(assignment=report["assignment"], score=_number(report["score"]),
                       max_score=_number(report["max_score"]))
            for exercise_id, r in report["exercises"].items():
                row[exercise_id] = _number(r["score"])
                row[f"{exercise_id} feedback"] = r["feedback"]
                if exercise_id not in exercise_ids:
                    exercise_ids.append(exercise_id)
        rows.append(row)
    for exercise_id in exercise_ids:
        columns += [exercise_id, f"{exercise_id} feedback"]
    columns.append("error")
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent if str(out.parent) else ".")
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=columns, restval="")
            writer.writeheader()
            writer.writerows(rows)
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _number(x) -> str:
    return f"{float(x):g}"
