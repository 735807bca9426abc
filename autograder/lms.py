"""Grades where the school keeps them: Canvas's gradebook import CSV.

    python -m autograder export --format canvas --roster ROSTER.csv --out canvas.csv
                                [--grades grades.csv.journal.jsonl | grades.json]
                                [--key "SIS Login ID"] [--column ASSIGNMENT="Canvas column" ...]

The file is what Canvas's Gradebook > Import takes (the layout of its own Gradebook export): the columns
``Student, ID, SIS User ID, SIS Login ID, Section``, then one column per assignment holding the
notebook's total score, and a second row ``Points Possible`` with each assignment's maximum (as in
Canvas's export, which Canvas reads back). A blank cell changes nothing in Canvas.

- **The roster** is a CSV with those five columns, best Canvas's own Gradebook export (Gradebook >
  Export): then ``ID`` is Canvas's user id, and an assignment column that already exists in Canvas
  (``01_perturbation (12345)``, named with its Canvas id) is reused when its heading starts with the
  assignment's name; ``--column ASSIGNMENT=HEADING`` names it otherwise. Other assignments become new
  columns, which Canvas offers to create on import.
- **Students**: a submission folder (nbgrader's ``submitted/<student>/<assignment>/...``) belongs to the
  roster row whose ``--key`` column (``SIS Login ID`` by default; ``ID`` or ``SIS User ID`` where the
  folders are named so) equals the folder's name exactly.
- **Never a wrong grade**: a submission of a student the roster does not have, a roster student with no
  graded submission, a key the roster gives twice, a student with two notebooks for one assignment, and
  a notebook that could not be graded are each a one-line warning; the row (or the cell) is left out,
  so that Canvas keeps what it has.
"""
from __future__ import annotations

import collections
import csv
import sys
from pathlib import Path

from .report import GradesError, load_grades, student_of

CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
POINTS_POSSIBLE = "Points Possible"


def read_roster(path, key: str) -> tuple[list[str], list[dict]]:
    """(the header, the student rows) of a roster CSV (Canvas's export: its Points Possible and
    muted-assignment rows are skipped)."""
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            header = [h.strip() for h in (reader.fieldnames or [])]
            rows = []
            for raw in reader:
                row = {(k or "").strip(): (v or "").strip() if isinstance(v, str) else "" for k, v in raw.items()}
                if POINTS_POSSIBLE.lower() in row.get("Student", "").lower():
                    continue
                rows.append(row)
    except OSError as err:
        raise GradesError(f"cannot read the roster {path}: {err.strerror or err}") from None
    except (csv.Error, UnicodeDecodeError) as err:
        raise GradesError(f"{path} is not a CSV roster ({err})") from None
    if key not in header:
        raise GradesError(f"the roster {path} has no column {key!r} (its columns: {', '.join(header)}); "
                          "choose one with --key")
    return header, rows


def assignment_columns(assignments, header: list[str], overrides: dict) -> dict:
    """assignment -> the heading of its column: --column, else the roster's one column whose heading
    starts with the assignment's name, else the name itself (a new assignment in Canvas)."""
    columns = {}
    for assignment in assignments:
        if assignment in overrides:
            columns[assignment] = overrides[assignment]
            continue
        matches = [h for h in header if h not in CANVAS_COLUMNS
                   and (h == assignment or h.startswith(assignment + " ") or h.startswith(assignment + "("))]
        columns[assignment] = matches[0] if len(matches) == 1 else assignment
    return columns


def canvas_table(entries: list[dict], header: list[str], roster: list[dict], key: str,
                 overrides: dict | None = None, warn=None) -> tuple[list[str], list[list[str]]]:
    """-> (the CSV's header, its rows: Points Possible first, then one per student with a grade)."""
    warn = warn or (lambda line: print(f"warning: {line}", file=sys.stderr))
    by_key = collections.defaultdict(list)
    for row in roster:
        if row.get(key):
            by_key[row[key]].append(row)
    for value, rows in by_key.items():
        if len(rows) > 1:
            warn(f"the roster gives {key} {value!r} to {len(rows)} rows: their grades are left out")
    scores = collections.defaultdict(dict)        # student -> assignment -> [entries]
    maxima = {}
    for entry in entries:
        assignment = entry.get("assignment")
        student = student_of(entry["notebook"], assignment)
        if not assignment or student is None:
            warn(f"{entry['notebook']}: no student or assignment in its path (submitted/<student>/<assignment>/): "
                 "left out")
            continue
        scores[student].setdefault(assignment, []).append(entry)
        report = entry.get("report")
        if isinstance(report, dict):
            maxima[assignment] = max(maxima.get(assignment, 0.0), float(report.get("max_score", 0.0)))
    for student in sorted(scores):
        if student not in by_key:
            warn(f"submission folder {student!r} is not in the roster ({key}): left out")
    assignments = sorted({a for per in scores.values() for a in per})
    columns = assignment_columns(assignments, header, overrides or {})
    out_header = list(CANVAS_COLUMNS) + [columns[a] for a in assignments]
    rows = [[POINTS_POSSIBLE, "", "", "", ""] + [f"{maxima.get(a, 0.0):g}" if a in maxima else "" for a in assignments]]
    for value, roster_rows in sorted(by_key.items()):
        if len(roster_rows) > 1:
            continue
        person = roster_rows[0]
        mine = scores.get(value)
        if not mine:
            warn(f"{person.get('Student') or value} ({key} {value!r}) has no graded submission: left out")
            continue
        cells, any_grade = [], False
        for assignment in assignments:
            found = mine.get(assignment, [])
            if len(found) > 1:
                warn(f"{value!r} has {len(found)} notebooks for {assignment} "
                     f"({', '.join(e['notebook'] for e in found)}): cell left blank")
                cells.append("")
            elif found and not isinstance(found[0].get("report"), dict):
                warn(f"{found[0]['notebook']} could not be graded ({found[0].get('error', '?')}): cell left blank")
                cells.append("")
            elif found:
                cells.append(f"{float(found[0]['report']['score']):g}")
                any_grade = True
            else:
                cells.append("")
        if not any_grade:
            warn(f"{person.get('Student') or value} ({key} {value!r}) has no grade to export: left out")
            continue
        rows.append([person.get(c, "") for c in CANVAS_COLUMNS] + cells)
    return out_header, rows


def write_canvas(grades, roster, out, key: str = "SIS Login ID", overrides: dict | None = None,
                 warn=None) -> Path:
    """Write Canvas's gradebook import CSV from the grades (journal or grades.json) -> ``out``."""
    from .records import atomic_write, check_out_path
    out = check_out_path(out)
    entries = load_grades(grades)
    header, roster_rows = read_roster(roster, key)
    columns, rows = canvas_table(entries, header, roster_rows, key, overrides, warn)

    def write(f):
        writer = csv.writer(f)
        writer.writerow(columns)
        writer.writerows(rows)
    atomic_write(out, write)
    return out


def parse_overrides(values) -> dict:
    overrides = {}
    for value in values or []:
        name, sep, heading = value.partition("=")
        if not sep or not name.strip() or not heading.strip():
            raise GradesError(f"--column {value!r}: use ASSIGNMENT=HEADING")
        overrides[name.strip()] = heading.strip()
    return overrides
