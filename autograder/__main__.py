"""Command line: grade notebooks, export grades, release the student notebooks.

    python -m autograder grade NOTEBOOK.ipynb [--json] [--timeout S]
    python -m autograder grade-all DIR --out grades.csv [--timeout S]
    python -m autograder release [ASSIGNMENT ...]      (notebooks/ from solutions/, via nbgrader)
    python -m autograder list                          (every exercise id and its points)

`grade` exits 0 whatever the score, and 1 with a one-line reason only when the input cannot be
graded at all.
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

from .notebook_grading import DEFAULT_TIMEOUT, UngradableError, grade_notebook


def _print_report(report: dict) -> None:
    print(f"{report['notebook']} ({report['tutorial']}): {report['score']:g} / {report['max_score']:g}")
    for exercise_id, r in report["exercises"].items():
        print(f"  {exercise_id:<45} {r['score']:g}/{r['max_score']:g}  {r['feedback']}")


def cmd_grade(args) -> int:
    try:
        report = grade_notebook(args.notebook, timeout=args.timeout)
    except UngradableError as err:
        print(f"cannot grade: {err}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({k: report[k] for k in ("notebook", "exercises", "score", "max_score")}))
    else:
        _print_report(report)
    return 0


def cmd_grade_all(args) -> int:
    root = Path(args.directory)
    if not root.is_dir():
        print(f"cannot grade: {root} is not a directory", file=sys.stderr)
        return 1
    notebooks = sorted(p for p in root.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
    rows, exercise_ids = [], []
    for path in notebooks:
        row = {"notebook": str(path.relative_to(root))}
        try:
            report = grade_notebook(path, timeout=args.timeout)
        except UngradableError as err:
            row["error"] = str(err)
            print(f"{path}: not graded ({err})", file=sys.stderr)
        else:
            row.update(tutorial=report["tutorial"], score=report["score"], max_score=report["max_score"])
            for exercise_id, r in report["exercises"].items():
                row[exercise_id] = r["score"]
                row[f"{exercise_id} feedback"] = r["feedback"]
                if exercise_id not in exercise_ids:
                    exercise_ids.append(exercise_id)
            print(f"{path}: {report['score']:g} / {report['max_score']:g}", file=sys.stderr)
        rows.append(row)
    columns = ["notebook", "tutorial", "score", "max_score"]
    for exercise_id in exercise_ids:
        columns += [exercise_id, f"{exercise_id} feedback"]
    columns.append("error")
    with open(args.out, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {args.out}: {len(rows)} notebook(s)")
    return 0


def cmd_release(args) -> int:
    from .release import release
    for name in release(args.assignments or None):
        print(f"notebooks/{name} regenerated from solutions/{name}")
    return 0


def cmd_list(args) -> int:
    from .exercises import EXERCISES
    for e in EXERCISES.values():
        print(f"{e.id:<45} {e.points:g} pts  {e.function_name}: {e.summary}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("grade", help="grade one notebook")
    p.add_argument("notebook")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds per exercise")
    p.set_defaults(run=cmd_grade)
    p = sub.add_parser("grade-all", help="grade every notebook below a directory")
    p.add_argument("directory")
    p.add_argument("--out", default="grades.csv")
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT)
    p.set_defaults(run=cmd_grade_all)
    p = sub.add_parser("release", help="regenerate notebooks/ from solutions/ (nbgrader)")
    p.add_argument("assignments", nargs="*")
    p.set_defaults(run=cmd_release)
    p = sub.add_parser("list", help="list the exercises")
    p.set_defaults(run=cmd_list)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
