"""Grading a course: many notebooks on Dask, a journal that keeps every result the moment it exists,
and grade exports written atomically.

- **Scheduling**: every notebook is one task on Dask distributed: a ``LocalCluster`` of one worker per
  core by default (``workers=``), or an existing cluster (``scheduler=`` its address), through the same
  code. Workers stay warm (the grader imported, the redacted package built once); each notebook is
  graded in sandboxes on the worker that runs it, from the notebook's bytes, which this process sends:
  workers need no shared file system and never see the submissions folder.
- **Journal** (``<out>.journal.jsonl``): one line per graded notebook, flushed and synced as it
  arrives, keyed by the notebook's path, content, assignment and the grader's version. A crash or a
  ``kill -9`` loses nothing already graded; a rerun grades only what is new or changed (``regrade``
  grades everything again); ``export`` writes the grades from the journal at any time.
- **Time**: every notebook has a wall limit (``notebook_seconds``: from ``--timeout`` and its number of
  exercises, with a margin). The task itself stops at it (every sandbox gets only what is left), and a
  watchdog here records a task that outlives it as an error row and restarts its worker: a stuck task
  never holds another student's grade.
- **Failures**: a notebook that cannot be graded, or whose task fails, is one error row; the batch
  goes on. ``out`` is checked before any grading starts (not a directory, not a symbolic link, a
  folder that exists), and every file is written to a temporary name and renamed over the target.
- **Exports**: one CSV per assignment (``out`` itself when there is one assignment, else
  ``<stem>-<assignment>.csv``), and ``<stem>.json`` with every report; numbers as ``%g``.
"""
from __future__ import annotations

import collections
import csv
import hashlib
import json
import os
import sys
from pathlib import Path

from .notebook_grading import (UngradableError, grade_nb, notebook_seconds, parse_notebook, read_submission,
                               resolve_assignment)
from .sandbox import Limits, printable
from .records import Journal, OutputPathError, atomic_write, check_out_path, gist_of, journal_path
from .secret import PRACTICE, Secret


def grader_version() -> str:
    """Changes whenever the grader, the exercises or the course package change."""
    from .redaction import PACKAGE_DIR, source_digest
    return source_digest(Path(__file__).resolve().parent, PACKAGE_DIR)[:16]


MAX_DEPTH = 32      # folders below the root searched for notebooks (student/assignment/... is 2 or 3)
MAX_WARNINGS = 20   # lines about folders not searched


def find_notebooks(root: Path, every_kind: bool = False, log=None) -> list[Path]:
    """Every file named ``*.ipynb`` below root, folder by folder in sorted order (no checkpoints): regular
    files and symbolic links (which readers refuse, with a reason), and with ``every_kind`` also named
    pipes, sockets and devices so named (grade-all gives each a one-line error row; a reader that opened
    a named pipe would wait forever).

    An iterative walk that never follows a symbolic link to a folder: a tree of any depth costs no
    recursion. Folders deeper than ``MAX_DEPTH`` below root, and folders that cannot be read, are not
    searched, each with one line on ``log`` (default: stderr; the first ``MAX_WARNINGS``, then a count)."""
    root = Path(root)
    log = sys.stderr if log is None else log
    found, stack, warnings = [], [(root, 0)], []
    while stack:
        folder, depth = stack.pop()
        try:
            with os.scandir(folder) as scan:
                entries = sorted(scan, key=lambda e: e.name)
        except OSError as err:
            warnings.append(f"{_relative(folder, root)}: cannot be read ({err.strerror or type(err).__name__}), "
                            "not searched for notebooks")
            continue
        folders = []
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    if entry.name != ".ipynb_checkpoints":
                        folders.append(Path(entry.path))
                elif entry.name.endswith(".ipynb") and (
                        every_kind or entry.is_file(follow_symlinks=False) or entry.is_symlink()):
                    found.append(Path(entry.path))
            except OSError:          # vanished while listed
                continue
        if folders and depth + 1 > MAX_DEPTH:
            warnings.append(f"{_relative(folder, root)}: folders nested more than {MAX_DEPTH} deep, not "
                            "searched for notebooks")
            continue
        stack += [(f, depth + 1) for f in reversed(folders)]
    for line in warnings[:MAX_WARNINGS]:
        print(line, file=log)
    if len(warnings) > MAX_WARNINGS:
        print(f"... and {len(warnings) - MAX_WARNINGS} more folders not searched", file=log)
    return found


def _relative(path: Path, root: Path) -> str:
    from .sandbox import printable
    return printable(str(path.relative_to(root)) if path != root else str(root))[:200]


def notebook_key(relative: str, data: bytes, assignment: str | None, version: str, secret: str = "") -> str:
    """The notebook's place, its content, the assignment it is graded as, the grader's version and the
    course secret's fingerprint."""
    digest = hashlib.sha256(f"{relative}|{assignment}|{version}|{secret}|".encode("utf-8", "surrogateescape"))
    digest.update(data)
    return digest.hexdigest()


def _exercise_count(assignment: str) -> int:
    from .exercises import ASSIGNMENTS, exercises_of
    return len(exercises_of(ASSIGNMENTS[assignment]))


def grade_task(relative: str, data: bytes, assignment: str, limits: Limits, secret: Secret = PRACTICE) -> dict:
    """A Dask task: one notebook's bytes -> its journal entry body (never raises), within the notebook's
    wall limit."""
    import time
    deadline = time.monotonic() + notebook_seconds(limits, _exercise_count(assignment))
    try:
        report = grade_nb(parse_notebook(data, relative), assignment, limits, name=relative, secret=secret,
                          deadline=deadline)
        return {"notebook": relative, "assignment": assignment, "report": report}
    except UngradableError as err:
        return {"notebook": relative, "assignment": assignment, "error": str(err)}
    except Exception as err:  # a bug of ours: this notebook's row says so, the batch goes on
        return {"notebook": relative, "assignment": assignment,
                "error": printable(f"internal grader error: {type(err).__name__}: {err}")[:300]}


def _prepare(path: Path, root: Path, assignment: str | None):
    """-> (relative path, bytes, assignment, error or None), read here, before any task starts."""
    # (a name that is not UTF-8, as a Latin-1 zip gives: its bytes written as \xe9, so that rows and files can hold it)
    relative = os.fsencode(path.relative_to(root)).decode("utf-8", "backslashreplace")
    try:
        data = read_submission(path, label=relative)    # only a regular file; never blocks (a named pipe)
    except UngradableError as err:
        return relative, b"", None, str(err)
    try:
        name = resolve_assignment(path.resolve() if assignment is None else path, assignment)
    except UngradableError as err:
        try:   # "not a notebook" says more than "no assignment" when both hold
            parse_notebook(data, relative)
        except UngradableError as parse_error:
            err = parse_error
        return relative, data, None, str(err)
    return relative, data, name, None


class _Cluster:
    """A Dask client: on an existing scheduler, or on a LocalCluster of ``workers`` processes."""

    def __init__(self, workers: int | None, scheduler: str | None):
        import logging

        from distributed import Client, LocalCluster
        self.cluster = None
        if scheduler:
            self.client = Client(scheduler, timeout="60s")
        else:
            self.cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                                        processes=True, dashboard_address=None, silence_logs=logging.ERROR)
            self.client = Client(self.cluster)

    def __enter__(self):
        return self.client

    def __exit__(self, *exc):
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def grade_all(root, out, assignment: str | None = None, limits: Limits | None = None,
              regrade: bool = False, workers: int | None = None, scheduler: str | None = None,
              log=sys.stderr, secret: Secret = PRACTICE) -> list[dict]:
    """Grade every notebook below root; write the grades next to ``out`` -> the entries, by path."""
    root, out = Path(root), check_out_path(out)
    if not root.is_dir():
        raise OutputPathError(f"{root} is not a directory")
    limits = limits or Limits()
    version = grader_version()
    journal = Journal(journal_path(out))
    entries, todo = {}, []
    try:
        for path in find_notebooks(root, every_kind=True, log=log):
            relative, data, name, error = _prepare(path, root, assignment)
            key = notebook_key(relative, data, name, version, secret.fingerprint)
            if not regrade and key in journal.entries:
                entries[relative] = journal.entries[key]
                print(f"{relative}: unchanged, kept", file=log)
            elif error is not None:
                entries[relative] = {"key": key, "notebook": relative, "assignment": name, "error": error}
                journal.record(entries[relative])
            else:
                todo.append((key, relative, data, name))
        if todo:
            from .secret import warn_if_built_in
            warn_if_built_in(secret, log)
            entries.update(_grade_on_dask(todo, journal, limits, workers, scheduler, log, secret))
    finally:
        journal.close()
    ordered = [entries[k] for k in sorted(entries)]
    written = write_exports(out, ordered)
    from .report import after_grading   # the instructor's report (a view: never costs the grades)
    written += after_grading(out, ordered, root, log)
    print(summary(ordered), file=log)
    for path in written:
        print(f"wrote {path}", file=log)
    return ordered


WATCHDOG_MARGIN = 30.0     # seconds past a notebook's own limit before the watchdog steps in


def _now() -> str:
    import datetime
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _grade_on_dask(todo, journal, limits, workers, scheduler, log, secret) -> dict:
    from distributed import wait
    from tqdm.auto import tqdm
    done = {}
    with _Cluster(workers, scheduler) as client:
        futures = {client.submit(grade_task, relative, data, name, limits, secret, pure=False): (key, relative, name)
                   for key, relative, data, name in todo}
        pending = set(futures)

        def record(future, body):
            key, relative, name = futures[future]
            entry = {"key": key, **body, "graded_at": _now()}
            journal.record(entry)
            done[relative] = entry
            report = entry.get("report")
            bar.write(f"{relative}: " + (f"{report['score']:g} / {report['max_score']:g}" if report
                                         else f"not graded ({entry['error']})"), file=log)
            bar.update()

        watch = _Watchdog(client, futures, limits, record)
        with tqdm(total=len(futures), unit="notebook", desc="grading", file=log, disable=None) as bar:
            while pending:
                try:
                    finished, _ = wait(list(pending), timeout=1.0, return_when="FIRST_COMPLETED")
                except TimeoutError:
                    finished = [f for f in pending if f.done()]
                for future in finished:
                    pending.discard(future)
                    key, relative, name = futures[future]
                    try:
                        body = future.result()
                    except Exception as err:   # the worker died, or the task could not run
                        body = {"notebook": relative, "assignment": name,
                                "error": f"not graded: the grading task failed ({type(err).__name__}: {err})"[:300]}
                    record(future, body)
                if pending:
                    watch(pending)
    return done


class _Watchdog:
    """Finds a task that has run longer than its notebook's limit and the margin (the task stops itself
    at its limit; this is the backstop), records it as an error row and restarts its worker.

    The scheduler says which tasks each worker holds, not which one runs; a worker with one thread runs
    them in the order it got them, so the one it has held longest runs, and it started when the worker
    last finished a task (or when the watchdog first saw the worker busy)."""

    def __init__(self, client, futures: dict, limits, record):
        self.client, self.futures, self.limits, self.record = client, futures, limits, record
        self.held: dict = {}        # worker -> {key: when first seen there}
        self.since: dict = {}       # worker -> when it last finished a task

    def __call__(self, pending: set) -> None:
        import time
        try:
            processing = self.client.processing()
        except Exception:
            return
        now = time.monotonic()
        by_key = {f.key: f for f in pending}
        for worker, keys in processing.items():
            keys = [k for k in keys if k in by_key]
            held = self.held.setdefault(worker, {})
            if any(k not in keys for k in held) or worker not in self.since:
                self.since[worker] = now
            self.held[worker] = held = {k: held.get(k, now) for k in keys}
            if not held:
                continue
            running = min(held, key=held.get)
            future = by_key[running]
            _, relative, name = self.futures[future]
            limit = notebook_seconds(self.limits, _exercise_count(name)) + WATCHDOG_MARGIN
            if now - max(self.since[worker], held[running]) <= limit:
                continue
            pending.discard(future)
            future.cancel()
            self.record(future, {"notebook": relative, "assignment": name,
                                 "error": f"not graded: took longer than {limit:.0f} s, this notebook's limit"})
            self.held.pop(worker, None)
            self.since.pop(worker, None)
            try:
                self.client.restart_workers([worker], raise_for_error=False)
            except Exception:
                pass


# --- exports ------------------------------------------------------------------------------------------

def write_exports(out: Path, entries: list[dict]) -> list[Path]:
    """One CSV per assignment (``out`` when there is one) and ``<stem>.json`` -> the files written."""
    by_assignment = collections.defaultdict(list)
    for entry in entries:
        by_assignment[entry.get("assignment") or "ungraded"].append(entry)
    written = []
    if len(set(by_assignment) - {"ungraded"}) <= 1:     # one assignment: everything in out itself
        by_assignment = {"all": entries}
        targets = {"all": out}
    else:
        targets = {name: out.with_name(f"{out.stem}-{name}{out.suffix or '.csv'}") for name in by_assignment}
    for name, target in targets.items():
        atomic_write(target, lambda f, rows=by_assignment.get(name, []): _write_csv(f, rows))
        written.append(target)
    json_path = out.with_suffix(".json") if out.suffix != ".json" else out.with_name(out.stem + "-grades.json")
    atomic_write(json_path, lambda f: json.dump([_public(e) for e in entries], f, indent=1))
    written.append(json_path)
    return written


def _public(entry: dict) -> dict:
    return {k: v for k, v in entry.items() if k != "key"}


def _write_csv(f, entries: list[dict]) -> None:
    columns, exercise_ids, rows = ["notebook", "assignment", "score", "max_score"], [], []
    for entry in entries:
        row = {"notebook": entry["notebook"], "assignment": entry.get("assignment") or "",
               "error": entry.get("error", "")}
        report = entry.get("report")
        if report:
            row.update(score=_number(report["score"]), max_score=_number(report["max_score"]))
            for exercise_id, r in report["exercises"].items():
                row[exercise_id] = _number(r["score"])
                row[f"{exercise_id} feedback"] = r["feedback"]
                if exercise_id not in exercise_ids:
                    exercise_ids.append(exercise_id)
        rows.append(row)
    for exercise_id in exercise_ids:
        columns += [exercise_id, f"{exercise_id} feedback"]
    writer = csv.DictWriter(f, fieldnames=columns + ["error"], restval="")
    writer.writeheader()
    writer.writerows(rows)


def _number(x) -> str:
    return f"{float(x):g}"


def summary(entries: list[dict]) -> str:
    """Per exercise: mean score, how many got full marks, the most frequent feedback."""
    per = collections.defaultdict(list)
    for entry in entries:
        for exercise_id, r in (entry.get("report") or {}).get("exercises", {}).items():
            per[exercise_id].append(r)
    errors = sum(1 for e in entries if "error" in e)
    lines = [f"{len(entries)} notebook(s), {errors} not graded"]
    if per:
        lines.append(f"{'exercise':<44} {'mean':>11} {'full marks':>11}  most frequent feedback")
    for exercise_id, results in per.items():
        mean = sum(r["score"] for r in results) / len(results)
        full = sum(r["score"] >= r["max_score"] for r in results)
        common, count = collections.Counter(gist_of(r["feedback"]) for r in results).most_common(1)[0]
        lines.append(f"{exercise_id:<44} {mean:>5.2f} / {results[0]['max_score']:<3g} "
                     f"{full:>5} / {len(results):<4} {common[:70]} ({count})")
    return "\n".join(lines)


def export(journal_file, out) -> list[Path]:
    """Write the exports from a journal at any time (the latest result of each notebook)."""
    out = check_out_path(out)
    path = Path(journal_file)
    if not path.is_file():
        raise OutputPathError(f"{path} is not a journal file")
    journal = Journal(path, write=False)
    return write_exports(out, journal.latest_per_notebook())
