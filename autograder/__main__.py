"""Command line: grade notebooks, export grades, release the student notebooks.

    python -m autograder grade NOTEBOOK.ipynb [--assignment NAME] [--json] [limits]
    python -m autograder grade-all DIR --out grades.csv [--assignment NAME] [--regrade]
                                   [--workers N | --scheduler ADDRESS] [limits]
    python -m autograder export --out grades.csv       (the grades from the journal, at any time)
    python -m autograder export --format canvas --roster ROSTER.csv --out canvas.csv   (Canvas's import CSV)
    python -m autograder report [--grades JOURNAL|grades.json] [--out grades.report.html] [--due DATE]
    python -m autograder similarity SUBMISSIONS --out similarity.html   (for human review, never a penalty)
    python -m autograder gradescope ASSIGNMENT [--out ZIP]             (Gradescope's autograder zip)
    python -m autograder release [ASSIGNMENT ...]      (notebooks/ from solutions/, via nbgrader)
    python -m autograder configure [--repo OWNER/NAME] [--book-url URL]   (where the course lives)
    python -m autograder student-edition OUT_DIR       (a wheel of the course package without answers)
    python -m autograder list                          (every exercise id and its points)

    python -m autograder secret FILE                   (a new random course secret, for the hidden fixtures)

limits (per exercise): --timeout S, --memory-mb M, --processes P. The course secret (grade, grade-all):
--secret-file FILE, else $COURSE_SECRET_FILE, else $COURSE_SECRET, else the built-in one (a warning).
The assignment comes from the instructor: --assignment, else the file name (grade) or the nearest
folder named like an assignment (grade-all), never from the notebook itself.
`grade` exits 0 whatever the score, and 1 with a one-line reason only when the input cannot be
graded at all.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys


def _limits(args):
    from .sandbox import Limits
    return dataclasses.replace(Limits(), timeout=args.timeout, memory_mb=args.memory_mb,
                               processes=args.processes)


def _print_report(report: dict) -> None:
    from .sandbox import printable      # a file name may hold a newline or bytes that are not UTF-8
    print(f"{printable(report['notebook'])} ({report['assignment']}): {report['score']:g} / {report['max_score']:g}")
    for exercise_id, r in report["exercises"].items():
        print(f"  {exercise_id:<45} {r['score']:g}/{r['max_score']:g}  {r['feedback']}")


def _secret(args):
    from .secret import load
    return load(args.secret_file)


def cmd_grade(args) -> int:
    from . import sandbox
    from .notebook_grading import UngradableError, grade_notebook
    from .secret import SecretError
    try:
        secret = _secret(args)
        report = grade_notebook(args.notebook, assignment=args.assignment, limits=_limits(args), secret=secret)
    except (UngradableError, SecretError) as err:
        print(f"cannot grade: {err}", file=sys.stderr)
        return 1
    report["sandbox"] = sandbox.describe()
    report["secret"] = secret.fingerprint
    from .secret import warn_if_built_in
    warn_if_built_in(secret)
    if args.json:
        print(json.dumps(report))
    else:
        _print_report(report)
    return 0


def cmd_grade_all(args) -> int:
    from . import sandbox
    from .batch import OutputPathError, grade_all
    from .secret import SecretError
    try:
        secret = _secret(args)
        entries = grade_all(args.directory, args.out, assignment=args.assignment, limits=_limits(args),
                            regrade=args.regrade, workers=args.workers, scheduler=args.scheduler, secret=secret)
    except (OutputPathError, SecretError) as err:
        print(f"cannot grade: {err}", file=sys.stderr)
        return 1
    print(f"graded {len(entries)} notebook(s); {sandbox.describe()}")
    return 0


def cmd_export(args) -> int:
    if args.format == "canvas":
        return cmd_export_canvas(args)
    from .batch import OutputPathError, export, journal_path
    from pathlib import Path
    try:
        written = export(args.journal or journal_path(Path(args.out)), args.out)
    except OutputPathError as err:
        print(f"cannot export: {err}", file=sys.stderr)
        return 1
    for path in written:
        print(f"wrote {path}")
    return 0


def cmd_export_canvas(args) -> int:
    from .batch import OutputPathError
    from .lms import parse_overrides, write_canvas
    from .report import GradesError, default_grades_path
    if not args.roster:
        print("cannot export: --format canvas needs --roster ROSTER.csv (Canvas's gradebook export)", file=sys.stderr)
        return 1
    try:
        out = write_canvas(args.grades or args.journal or default_grades_path(), args.roster, args.out,
                           key=args.key, overrides=parse_overrides(args.column))
    except (GradesError, OutputPathError) as err:
        print(f"cannot export: {err}", file=sys.stderr)
        return 1
    print(f"wrote {out}")
    return 0


def cmd_report(args) -> int:
    from .batch import OutputPathError
    from .report import GradesError, default_grades_path, default_report_path, load_grades, parse_due, write_report
    grades = args.grades or default_grades_path()
    try:
        due = parse_due(args.due) if args.due else None
        written = write_report(load_grades(grades), args.out or default_report_path(grades), due=due,
                               submissions=args.submissions)
    except (GradesError, OutputPathError) as err:
        print(f"cannot report: {err}", file=sys.stderr)
        return 1
    print(f"wrote {written[0]}")
    return 0


def cmd_similarity(args) -> int:
    from .batch import OutputPathError
    from .similarity import write_similarity
    try:
        out, pairs = write_similarity(args.submissions, args.out, top=args.top, threshold=args.threshold,
                                      stubs_dir=args.stubs)
    except OutputPathError as err:
        print(f"cannot compare: {err}", file=sys.stderr)
        return 1
    listed = sum(p["similarity"] >= args.threshold for p in pairs[:args.top])
    print(f"wrote {out}: {listed} pair(s) to review (a list for human review, never a penalty)")
    return 0


def cmd_gradescope(args) -> int:
    from .gradescope import build
    try:
        out = build(args.assignment, args.out or f"dist/gradescope/{args.assignment}.zip", args.secret_file)
    except (ValueError, OSError) as err:
        print(f"cannot build: {err}", file=sys.stderr)
        return 1
    print(f"wrote {out} (upload it in Gradescope: Configure Autograder)")
    return 0


def cmd_release(args) -> int:
    from .release import release
    for name in release(args.assignments or None):
        print(f"notebooks/{name} regenerated from solutions/{name}")
    return 0


def cmd_configure(args) -> int:
    from .configure import main as configure
    return configure(args)


def cmd_student_edition(args) -> int:
    from .edition import build_student_edition
    wheel = build_student_edition(args.out_dir)
    print(f"wrote {wheel}")
    return 0


def cmd_secret(args) -> int:
    from .secret import write_new
    try:
        path = write_new(args.file)
    except OSError as err:
        print(f"cannot write the secret: {args.file}: {err.strerror or err}", file=sys.stderr)
        return 1
    print(f"wrote a new course secret to {path} (keep it private; grade with --secret-file {path} "
          f"or COURSE_SECRET_FILE={path})")
    return 0


def cmd_list(args) -> int:
    if getattr(args, "where", None) is not None:     # the places of each exercise (autograder.where)
        from .where import print_where
        return print_where(args.where)
    from .exercises import EXERCISES
    for e in EXERCISES.values():
        precision = "float32 ok" if e.float32 else "float64 only"
        print(f"{e.id:<45} {e.points:g} pts  {precision:<12} {e.function_name}: {e.summary}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    def limits(p):
        from .sandbox import Limits
        p.add_argument("--timeout", type=float, default=Limits.timeout, help="wall-clock seconds per exercise")
        p.add_argument("--memory-mb", type=int, default=Limits.memory_mb, help="address space per process")
        p.add_argument("--processes", type=int, default=Limits.processes, help="processes per sandbox")
        p.add_argument("--assignment", help="grade as this assignment (default: from the file or folder name)")
        p.add_argument("--secret-file", help="the course secret (default: $COURSE_SECRET_FILE, $COURSE_SECRET)")

    p = sub.add_parser("grade", help="grade one notebook")
    p.add_argument("notebook")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    limits(p)
    p.set_defaults(run=cmd_grade)
    p = sub.add_parser("grade-all", help="grade every notebook below a directory")
    p.add_argument("directory")
    p.add_argument("--out", default="grades.csv")
    p.add_argument("--regrade", action="store_true", help="grade again what the journal already has")
    p.add_argument("--workers", type=int, help="Dask workers on this machine (default: one per core)")
    p.add_argument("--scheduler", help="address of an existing Dask scheduler (tcp://host:port)")
    limits(p)
    p.set_defaults(run=cmd_grade_all)
    p = sub.add_parser("export", help="write the grades (CSV per assignment, JSON) from the journal")
    p.add_argument("--out", default="grades.csv")
    p.add_argument("--journal", help="default: <out>.journal.jsonl")
    p.add_argument("--format", choices=("csv", "canvas"), default="csv",
                   help="csv: one CSV per assignment and grades.json (default); canvas: Canvas's import CSV")
    p.add_argument("--roster", help="(canvas) the class: Canvas's gradebook export, or a CSV with its columns")
    p.add_argument("--key", default="SIS Login ID", help="(canvas) the roster column naming the submission folders")
    p.add_argument("--column", action="append", metavar="ASSIGNMENT=HEADING",
                   help="(canvas) the Canvas column of an assignment (default: the roster's column that starts "
                        "with its name, else its name)")
    p.add_argument("--grades", help="(canvas) the journal or grades.json (default: grades.csv.journal.jsonl)")
    p.set_defaults(run=cmd_export)
    p = sub.add_parser("report", help="one HTML page for the instructor: distributions, mistakes, students")
    p.add_argument("--grades", help="the journal or grades.json (default: grades.csv.journal.jsonl, else grades.json)")
    p.add_argument("--out", help="default: <grades stem>.report.html")
    p.add_argument("--due", action="append", metavar="[ASSIGNMENT=]DATE",
                   help="due date (ISO; local time unless it says otherwise); remembered for later reports")
    p.add_argument("--submissions", help="the graded folder, for the submissions' times (default: as last time)")
    p.set_defaults(run=cmd_report)
    p = sub.add_parser("similarity", help="the most similar pairs of answers, for human review (never a penalty)")
    p.add_argument("submissions")
    p.add_argument("--out", default="similarity.html")
    p.add_argument("--top", type=int, default=100, help="pairs shown (default 100)")
    p.add_argument("--threshold", type=float, default=0.33, help="smallest similarity shown (default 0.33)")
    p.add_argument("--stubs", help="the released notebooks (default: notebooks/)")
    p.set_defaults(run=cmd_similarity)
    p = sub.add_parser("gradescope", help="build Gradescope's autograder zip for an assignment")
    p.add_argument("assignment")
    p.add_argument("--out", help="default: dist/gradescope/ASSIGNMENT.zip")
    p.add_argument("--secret-file", help="the course secret to put in the zip (default: $COURSE_SECRET_FILE)")
    p.set_defaults(run=cmd_gradescope)
    p = sub.add_parser("student-edition", help="build the course package for students, without answers")
    p.add_argument("out_dir")
    p.set_defaults(run=cmd_student_edition)
    p = sub.add_parser("release", help="regenerate notebooks/ from solutions/ (nbgrader)")
    p.add_argument("assignments", nargs="*")
    p.set_defaults(run=cmd_release)
    p = sub.add_parser("configure", help="set where the course lives ([tool.course] in pyproject.toml)")
    for option in ("--repo", "--branch", "--book-url", "--install"):
        p.add_argument(option)
    p.set_defaults(run=cmd_configure)
    p = sub.add_parser("secret", help="write a new random course secret to FILE (mode 0600)")
    p.add_argument("file")
    p.set_defaults(run=cmd_secret)
    p = sub.add_parser("list", help="list the exercises")
    p.add_argument("--where", nargs="?", const="", metavar="ID",
                   help="where each exercise (or those whose id starts with ID) lives: reference, JAX twin, check, "
                        "fixtures, hidden fixtures, allowlist, notebook cell")
    p.set_defaults(run=cmd_list)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except OSError as err:     # a file or folder the user named cannot be read or written: one line
        from .sandbox import printable
        where = f"{err.filename}: " if err.filename else ""
        print(printable(f"cannot {args.command}: {where}{err.strerror or err}")[:300], file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
