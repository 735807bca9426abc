"""The instructor's report: one self-contained HTML page from a grading run.

    python -m autograder report [--grades grades.csv.journal.jsonl | grades.json] [--out grades.report.html]
                                [--due DATE | --due ASSIGNMENT=DATE ...] [--submissions DIR]

``grade-all`` writes it too, at the end of every run, next to the grades (``<stem>.report.html``).

What the page holds, for every assignment of the run:
- the distribution of total scores (a histogram), and how many notebooks could not be graded;
- per exercise: its score distribution; the named mistakes and how many answers made each; the
  fixtures that failed most (hidden ones marked); the slowest answers and the crashed ones (an error
  or a timeout), each linked to its student;
- a sortable table with one row per student (one column per assignment, the total, lateness, what
  changed), each score linking to that notebook's feedback further down the same page;
- what changed since the last report: notebooks graded again (old and new score), new ones, ones no
  longer in the grades, and late submissions.

Data (read-only): the grades a run leaves, either the journal (``<out>.journal.jsonl``: the last line
per notebook wins) or ``<stem>.json`` (every report). Each exercise entry has ``score``, ``max_score``
and ``feedback``; the optional ``mistake``, ``fixture``, ``hidden``, ``status`` and ``seconds`` are
used where present and degrade gracefully where absent (the most frequent feedback stands in for the
named mistake; the status is read from the score and the feedback).

What changed: each report leaves ``<report stem>.state.json`` beside itself (per notebook: a digest of
its result and ``graded_at`` when the journal has one; the due dates and the submissions folder it was
given). The next report compares with it: a notebook whose digest changed was *regraded* (a new
submission or a new grader), one not there before is *new*. So "since the last run" means since the
last report, which ``grade-all`` writes at the end of every run.

Late: a submission is late when its time is after its assignment's due date. Its time is nbgrader's
``timestamp.txt`` in the notebook's folder (what ``nbgrader collect``/``submit`` leave) where there is
one, else the notebook file's modification time. Due dates come from ``--due`` (one date for every
assignment, or ``ASSIGNMENT=DATE``), in ISO form (``2026-12-01T23:59``, ``2026-12-01 23:59+01:00``); a
date without a time zone is this machine's local time. They are remembered in the state file, so
the report that ``grade-all`` writes later marks lateness with the dates last given.

Figures are Matplotlib PNGs embedded as base64 (no network: the page's Content-Security-Policy allows
nothing else), each with alt text that states its numbers, and drawn to be read without colour:
hatching, direct labels on every bar, line styles named in the legend. Everything a submission wrote
(paths, feedback quoting an error) is HTML-escaped.
"""
from __future__ import annotations

import base64
import collections
import datetime as dt
import hashlib
import html
import io
import json
import os
import re
import sys
from pathlib import Path, PurePosixPath

STATUSES = ("correct", "wrong", "error", "timeout", "missing")
TOP_MISTAKES = 8
TOP_ROWS = 10


# --- reading the grades -------------------------------------------------------------------------------

class GradesError(Exception):
    """The grades cannot be read (said in one line)."""


def load_grades(path) -> list[dict]:
    """The entries of a run, one per notebook (sorted by path), from a journal (.jsonl) or grades.json."""
    path = Path(path)
    if not path.is_file():
        raise GradesError(f"{path}: no such file (grade first, or name the journal or grades.json)")
    if path.name.endswith(".jsonl"):
        from .records import Journal
        return Journal(path, write=False).latest_per_notebook()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as err:
        raise GradesError(f"{path} is not a grades file ({err})") from None
    if not isinstance(data, list) or not all(isinstance(e, dict) and "notebook" in e for e in data):
        raise GradesError(f"{path} is not a grades file (a JSON list of entries with a notebook each)")
    latest = {}
    for entry in data:
        latest[entry["notebook"]] = entry
    return [latest[k] for k in sorted(latest)]


def default_grades_path() -> Path:
    journal = Path("grades.csv.journal.jsonl")
    return journal if journal.exists() else Path("grades.json")


def default_report_path(grades) -> Path:
    """grades.csv.journal.jsonl or grades.json -> grades.report.html, beside it."""
    name = Path(grades).name
    for suffix in (".journal.jsonl", ".jsonl", ".csv", ".json"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    for suffix in (".csv", ".json"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    return Path(grades).with_name(f"{name or 'grades'}.report.html")


def _assignment_like(name: str, assignment: str) -> bool:
    return name == assignment or name.startswith(assignment + "_") or name.startswith(assignment + "-")


def student_of(notebook: str, assignment: str | None) -> str | None:
    """The student a submitted notebook belongs to, from its path in nbgrader's layout
    (``<student>/<assignment>/<any>.ipynb`` below the graded folder, at any depth):
    the folder just above the assignment's folder, or the folder holding a notebook named like the
    assignment. None when the path says nothing (a flat folder of notebooks)."""
    parts = PurePosixPath(str(notebook).replace(os.sep, "/")).parts
    if assignment:
        for i in range(len(parts) - 2, 0, -1):
            if _assignment_like(parts[i], assignment):
                return parts[i - 1]
        if len(parts) >= 2 and _assignment_like(PurePosixPath(parts[-1]).stem, assignment):
            return parts[-2]
    return None


# --- one answer -----------------------------------------------------------------------------------------

def status_of(r: dict) -> str:
    """An exercise result's status: its own ``status`` where the grader recorded one, else read from
    the score and the feedback."""
    status = r.get("status")
    if status in STATUSES:
        return status
    if _num(r.get("score")) >= _num(r.get("max_score"), 1.0) > 0:
        return "correct"
    text = str(r.get("feedback", "")).lower()
    if "not implemented" in text or "no answer cell" in text or "notimplementederror" in text:
        return "missing"
    if "longer than" in text or "timed out" in text or "timeout" in text:
        return "timeout"
    if re.search(r"\braised\b|\berror\b|died|malformed|no marks:", text):
        return "error"
    return "wrong"


def mistake_of(r: dict) -> str | None:
    """The named mistake of a wrong answer (None for any other): the grader's ``mistake`` where
    recorded, else the gist of its feedback (the text before the fixture and the numbers)."""
    if status_of(r) != "wrong":
        return None
    name = r.get("mistake")
    if isinstance(name, str) and name.strip():
        return name.strip()
    from .records import gist_of
    gist = gist_of(str(r.get("feedback", ""))).split(":")[0].strip()
    return gist[:80] or "(no feedback)"


def _num(x, default: float = 0.0) -> float:
    try:
        value = float(x)
    except (TypeError, ValueError):
        return default
    return value if value == value else default   # NaN -> default


def _digest(entry: dict) -> str:
    body = {k: entry.get(k) for k in ("report", "error", "graded_at")}
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()[:16]


# --- lateness -------------------------------------------------------------------------------------------

def parse_time(text: str) -> dt.datetime:
    """ISO date/time (nbgrader's 'YYYY-MM-DD HH:MM:SS.ffffff UTC' too) -> an aware datetime; a time
    without a zone is local."""
    text = text.strip()
    utc = text.endswith(" UTC") or text.endswith("Z")
    text = re.sub(r"( UTC|Z)$", "", text)
    value = dt.datetime.fromisoformat(text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc) if utc else value.astimezone()
    return value


def parse_due(values) -> dict:
    """``--due`` values -> {assignment or "*": aware datetime}."""
    due = {}
    for value in values or []:
        name, sep, when = value.partition("=")
        if not sep:
            name, when = "*", value
        try:
            due[name.strip()] = parse_time(when)
        except ValueError:
            raise GradesError(f"--due {value!r}: not a date (use 2026-12-01T23:59 or ASSIGNMENT=DATE)") from None
    return due


def submitted_at(submissions: Path, notebook: str) -> tuple[dt.datetime | None, str]:
    """(the submission's time, where it came from) for a notebook below ``submissions``."""
    path = submissions / notebook
    stamp = path.parent / "timestamp.txt"
    try:
        if stamp.is_file() and not stamp.is_symlink() and stamp.stat().st_size < 200:
            return parse_time(stamp.read_text(encoding="utf-8", errors="replace")), "timestamp.txt"
    except ValueError:
        pass
    try:
        return dt.datetime.fromtimestamp(path.lstat().st_mtime).astimezone(), "file time"
    except OSError:
        return None, ""


def _duration(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{max(minutes, 1)} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    return f"{hours // 24} days {hours % 24} h"


# --- the model of the page ------------------------------------------------------------------------------

class Run:
    """Everything the page shows, computed once from the entries."""

    def __init__(self, entries: list[dict], previous: dict | None = None, due: dict | None = None,
                 submissions: Path | None = None):
        self.entries = entries
        self.previous = previous
        self.due = due or {}
        self.submissions = submissions
        self.assignments = sorted({e.get("assignment") for e in entries if e.get("assignment")})
        self.rows = []        # per notebook: dict
        for index, entry in enumerate(entries):
            report = entry.get("report") if isinstance(entry.get("report"), dict) else None
            assignment = entry.get("assignment") or (report or {}).get("assignment")
            student = student_of(entry["notebook"], assignment) or entry["notebook"]
            row = {"index": index, "anchor": f"nb-{index}", "notebook": entry["notebook"],
                   "assignment": assignment or "(unknown)", "student": student, "report": report,
                   "error": entry.get("error") if report is None else None,
                   "digest": _digest(entry), "late": None, "time_source": ""}
            if report:
                row["score"], row["max_score"] = _num(report.get("score")), _num(report.get("max_score"))
                exercises = report.get("exercises") if isinstance(report.get("exercises"), dict) else {}
                row["exercises"] = {k: v for k, v in exercises.items() if isinstance(v, dict)}
            else:
                row["score"], row["max_score"], row["exercises"] = None, None, {}
            self._lateness(row)
            self.rows.append(row)
        self.changes = self._changes()

    def _lateness(self, row):
        due = self.due.get(row["assignment"], self.due.get("*"))
        if due is None or self.submissions is None:
            return
        when, source = submitted_at(self.submissions, row["notebook"])
        row["time_source"] = source
        if when is not None and when > due:
            row["late"] = (when - due).total_seconds()

    def _changes(self) -> dict | None:
        if self.previous is None:
            return None
        before = self.previous.get("notebooks", {})
        now = {r["notebook"]: r for r in self.rows}
        regraded, new = [], []
        for path, row in now.items():
            old = before.get(path)
            if old is None:
                new.append(row)
            elif old.get("digest") != row["digest"]:
                regraded.append((row, old.get("score")))
        removed = sorted(set(before) - set(now))
        return {"regraded": regraded, "new": new, "removed": removed,
                "since": self.previous.get("generated_at", "")}

    def state(self) -> dict:
        return {"version": 1, "generated_at": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
                "due": {k: v.isoformat() for k, v in self.due.items()},
                "submissions": str(self.submissions.resolve()) if self.submissions else None,
                "notebooks": {r["notebook"]: {"digest": r["digest"], "score": r["score"]} for r in self.rows}}

    def of(self, assignment: str) -> list[dict]:
        return [r for r in self.rows if r["assignment"] == assignment]

    def exercises_of(self, assignment: str) -> list[str]:
        ids = []
        for row in self.of(assignment):
            for exercise_id in row["exercises"]:
                if exercise_id not in ids:
                    ids.append(exercise_id)
        return ids

    def students(self) -> list[str]:
        return sorted({r["student"] for r in self.rows})


# --- figures --------------------------------------------------------------------------------------------

def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(width, height), dpi=96, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _png(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight", metadata={"Software": None})
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _bars(ax, labels, counts, hatches=None, horizontal=False):
    """Bars with an outline, a hatch each and the count written on each: readable without colour."""
    hatches = hatches or ["//"] * len(counts)
    positions = range(len(counts))
    draw = ax.barh if horizontal else ax.bar
    bars = draw(positions, counts, color="#d9d9d9", edgecolor="black", linewidth=0.8, hatch=None)
    for bar, hatch in zip(bars, hatches):
        bar.set_hatch(hatch)
    ax.bar_label(bars, labels=[str(c) for c in counts], padding=2, fontsize=8)
    if horizontal:
        ax.set_yticks(list(positions), labels, fontsize=8)
        ax.invert_yaxis()
        ax.set_xlim(0, max(counts, default=1) * 1.18 + 0.5)
    else:
        ax.set_xticks(list(positions), labels, fontsize=8)
        ax.set_ylim(0, max(counts, default=1) * 1.18 + 0.5)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def total_figure(run: Run, assignment: str) -> tuple[str, str]:
    """(PNG base64, alt text): the histogram of an assignment's total scores."""
    import numpy as np
    rows = [r for r in run.of(assignment) if r["report"]]
    scores = np.array([r["score"] for r in rows], dtype=float)
    top = max((r["max_score"] for r in rows), default=1.0) or 1.0
    fig = _figure(6.4, 2.6)
    ax = fig.add_subplot()
    if top <= 20 and float(top).is_integer():     # one bar per point (a partial point counts down)
        lefts = np.arange(int(top) + 1, dtype=float)
        counts = np.bincount(np.clip(np.floor(scores), 0, top).astype(int), minlength=len(lefts))
        width, align, labels = 0.8, "center", [f"{v:g}" for v in lefts]
    else:                                          # ten bins over [0, top], the last one closed
        counts, edges = np.histogram(np.clip(scores, 0, top), bins=10, range=(0, top))
        lefts, width, align = edges[:-1], top / 10, "edge"
        labels = [f"{a:.3g}-{b:.3g}" for a, b in zip(edges[:-1], edges[1:])]
    counts = [int(c) for c in counts]
    bars = ax.bar(lefts, counts, width=width, align=align, color="#d9d9d9", edgecolor="black",
                  linewidth=0.8, hatch="//")
    ax.bar_label(bars, labels=[str(c) if c else "" for c in counts], padding=2, fontsize=8)
    alt_stats = ""
    if len(scores):
        mean, median = float(scores.mean()), float(np.median(scores))
        ax.axvline(mean, color="black", linestyle="--", linewidth=1.2, label=f"mean {mean:.2f}")
        ax.axvline(median, color="black", linestyle=":", linewidth=1.8, label=f"median {median:g}")
        ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        alt_stats = (f"; mean {mean:.2f}, median {median:g} of {top:g} points; {int((scores >= top).sum())} "
                     f"with full marks, {int((scores <= 0).sum())} with zero")
    ax.set_xlabel(f"total score (of {top:g})", fontsize=9)
    ax.set_ylabel("notebooks", fontsize=9)
    ax.set_ylim(0, max(counts, default=1) * 1.2 + 0.5)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.set_title(f"{assignment}: total scores of {len(scores)} graded notebooks", fontsize=10)
    alt = (f"Histogram of the total scores in {assignment}: {len(scores)} graded notebooks{alt_stats}. "
           "Notebooks per score: " + ", ".join(f"{l}: {c}" for l, c in zip(labels, counts)) + ".")
    return _png(fig), alt


OUTCOMES = (("full marks", ""), ("partial", "--"), ("wrong", "//"), ("error", "xx"), ("timeout", ".."),
            ("missing", "\\\\"))


def outcome_of(r: dict) -> str:
    """An answer's outcome: full marks, partial (some points), or its status."""
    score, top = _num(r.get("score")), _num(r.get("max_score"))
    if top > 0 and score >= top:
        return "full marks"
    if score > 0:
        return "partial"
    status = status_of(r)
    return status if status != "correct" else "wrong"


def exercise_figure(run: Run, assignment: str, exercise_id: str, stats: dict) -> tuple[str, str]:
    """(PNG base64, alt text): an exercise's outcomes (its score distribution), and its most frequent
    named mistakes."""
    fig = _figure(7.6, 2.6)
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.5]})
    shown = [(name, hatch) for name, hatch in OUTCOMES if stats["outcomes"][name] or name in ("full marks", "wrong")]
    _bars(left, [name for name, _ in shown], [stats["outcomes"][name] for name, _ in shown],
          [hatch for _, hatch in shown])
    left.set_ylabel("answers", fontsize=9)
    left.set_title(f"outcomes (of {stats['max_score']:g} points)", fontsize=9)
    left.tick_params(axis="x", labelrotation=30)
    mistakes = stats["mistakes"].most_common(TOP_MISTAKES)
    if mistakes:
        _bars(right, [_short(m, 38) for m, _ in mistakes], [c for _, c in mistakes], horizontal=True)
        right.set_xlabel("wrong answers", fontsize=8)
        right.set_title("most frequent mistakes", fontsize=9)
    else:
        right.axis("off")
        right.text(0.5, 0.5, "no wrong answers", ha="center", va="center", fontsize=9)
    fig.suptitle(exercise_id, fontsize=10)
    alt = (f"Outcomes on {exercise_id} ({assignment}), {stats['answers']} answers: "
           + ", ".join(f"{name} {stats['outcomes'][name]}" for name, _ in shown) + ". "
           + ("Most frequent mistakes: " + "; ".join(f"{m} ({c})" for m, c in mistakes) + "."
              if mistakes else "No wrong answers."))
    return _png(fig), alt


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


# --- statistics per exercise ----------------------------------------------------------------------------

def exercise_stats(run: Run, assignment: str, exercise_id: str) -> dict:
    scores, statuses, mistakes = collections.Counter(), collections.Counter(), collections.Counter()
    outcomes = collections.Counter()
    examples = collections.defaultdict(list)
    fixtures = collections.Counter()
    hidden = {}
    timed, crashed = [], []
    max_score = 0.0
    for row in run.of(assignment):
        r = row["exercises"].get(exercise_id)
        if r is None:
            continue
        score = _num(r.get("score"))
        max_score = max(max_score, _num(r.get("max_score")))
        scores[score] += 1
        outcomes[outcome_of(r)] += 1
        status = status_of(r)
        statuses[status] += 1
        mistake = mistake_of(r)
        if mistake:
            mistakes[mistake] += 1
            if len(examples[mistake]) < 3:
                examples[mistake].append(row)
        fixture = r.get("fixture")
        if status in ("wrong", "error") and isinstance(fixture, str) and fixture:   # not the unanswered
            fixtures[fixture] += 1
            hidden[fixture] = hidden.get(fixture, False) or bool(r.get("hidden"))
        seconds = r.get("seconds")
        if isinstance(seconds, (int, float)) and seconds == seconds:
            timed.append((float(seconds), row, status))
        if status in ("error", "timeout"):
            crashed.append((row, status, str(r.get("feedback", ""))))
    timed.sort(key=lambda t: -t[0])
    return {"scores": scores, "outcomes": outcomes, "statuses": statuses, "mistakes": mistakes, "examples": examples,
            "fixtures": fixtures, "hidden": hidden, "slowest": timed[:TOP_ROWS], "timed": len(timed),
            "crashed": crashed, "max_score": max_score, "answers": sum(scores.values()),
            "mean": (sum(s * c for s, c in scores.items()) / sum(scores.values())) if scores else 0.0}


# --- the page -------------------------------------------------------------------------------------------

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:1100px;padding:0 1.2em 3em;
color:#111;line-height:1.4}
h1{font-size:1.6em;margin-top:1em}h2{border-bottom:2px solid #111;padding-bottom:.2em;margin-top:2em}
h3{margin-top:1.6em}table{border-collapse:collapse;margin:.6em 0;font-size:.92em}
th,td{border:1px solid #999;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#eee}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
table.sortable th button{font:inherit;font-weight:bold;background:none;border:0;padding:0;cursor:pointer;
text-decoration:underline dotted}
th[aria-sort=ascending] button::after{content:" \\25B2"}th[aria-sort=descending] button::after{content:" \\25BC"}
img{max-width:100%;height:auto;display:block;margin:.4em 0}.note{color:#444;font-size:.92em}
.feedback{white-space:pre-wrap;word-break:break-word}nav ul{columns:2}
.tag{display:inline-block;border:1px solid #111;border-radius:3px;padding:0 .3em;font-size:.85em}
details{margin:.3em 0}summary{cursor:pointer}
"""

SCRIPT = """
(function(){
  function key(cell){
    var v=cell.getAttribute('data-value');
    if(v===null){v=cell.textContent.trim();}
    var n=parseFloat(v);
    return (v!=='' && !isNaN(n) && isFinite(v)) ? [0,n] : [1,v.toLowerCase()];
  }
  function compare(a,b){
    if(a[0]!==b[0]){return a[0]-b[0];}
    return a[1]<b[1]?-1:(a[1]>b[1]?1:0);
  }
  document.querySelectorAll('table.sortable').forEach(function(table){
    var heads=table.querySelectorAll('thead th');
    heads.forEach(function(th,column){
      var button=th.querySelector('button');
      if(!button){return;}
      button.addEventListener('click',function(){
        var descending=th.getAttribute('aria-sort')==='ascending';
        heads.forEach(function(h){h.setAttribute('aria-sort','none');});
        th.setAttribute('aria-sort',descending?'descending':'ascending');
        var body=table.tBodies[0];
        var rows=Array.prototype.slice.call(body.rows);
        rows.sort(function(r,s){
          var c=compare(key(r.cells[column]),key(s.cells[column]));
          return descending?-c:c;
        });
        rows.forEach(function(r){body.appendChild(r);});
      });
    });
  });
})();
"""

CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
       "base-uri 'none'; form-action 'none'")


def _e(value) -> str:
    return html.escape(str(value), quote=True)


def _score(value) -> str:
    return "" if value is None else f"{value:g}"


def _link(row, text=None) -> str:
    return f'<a href="#{row["anchor"]}">{_e(text if text is not None else row["student"])}</a>'


def render(run: Run, title: str = "Grading report") -> str:
    """The whole page (a str of HTML)."""
    now = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    graded = sum(1 for r in run.rows if r["report"])
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        f'<p class="note">{len(run.rows)} notebook(s) of {len(run.students())} student(s) in '
        f"{len(run.assignments)} assignment(s); {graded} graded, {len(run.rows) - graded} could not be graded. "
        f"Written {_e(now)}.</p>",
        "<nav><h2 id=\"contents\">Contents</h2><ul>",
        '<li><a href="#changes">What changed since the last report</a></li>',
        *[f'<li><a href="#a-{i}">{_e(a)}</a></li>' for i, a in enumerate(run.assignments)],
        '<li><a href="#students">Students</a></li><li><a href="#feedback">Feedback per notebook</a></li>',
        "</ul></nav>",
    ]
    parts += _changes_section(run)
    for i, assignment in enumerate(run.assignments):
        parts += _assignment_section(run, assignment, i)
    ungradable = [r for r in run.rows if r["assignment"] == "(unknown)"]
    if ungradable:
        parts.append('<h2 id="unknown">Notebooks of no known assignment</h2><ul>')
        parts += [f"<li>{_link(r, r['notebook'])}: {_e(r['error'] or '')}</li>" for r in ungradable]
        parts.append("</ul>")
    parts += _students_section(run)
    parts += _feedback_section(run)
    parts.append(f"<script>{SCRIPT}</script></body></html>")
    return "\n".join(parts)


def _changes_section(run: Run) -> list[str]:
    out = ['<h2 id="changes">What changed since the last report</h2>']
    late = [r for r in run.rows if r["late"] is not None]
    if run.changes is None:
        out.append('<p class="note">No earlier report to compare with: the next report will list what '
                   "was graded again, what is new and what is gone.</p>")
    else:
        c = run.changes
        out.append(f"<p>Since the report of {_e(c['since'] or 'the last run')}: "
                   f"{len(c['regraded'])} regraded, {len(c['new'])} new, {len(c['removed'])} no longer "
                   "in the grades.</p>")
        if c["regraded"]:
            out.append('<h3>Regraded</h3><table><thead><tr><th>student</th><th>assignment</th>'
                       '<th class="num">before</th><th class="num">now</th></tr></thead><tbody>')
            for row, old in c["regraded"]:
                out.append(f"<tr><td>{_link(row)}</td><td>{_e(row['assignment'])}</td>"
                           f'<td class="num">{_e(_score(old))}</td><td class="num">{_e(_score(row["score"]))}'
                           "</td></tr>")
            out.append("</tbody></table>")
        if c["new"]:
            out.append("<h3>New</h3><ul>" + "".join(
                f"<li>{_link(r)} ({_e(r['assignment'])}): {_e(_score(r['score']) or 'not graded')}</li>"
                for r in c["new"]) + "</ul>")
        if c["removed"]:
            out.append("<h3>No longer in the grades</h3><ul>"
                       + "".join(f"<li>{_e(p)}</li>" for p in c["removed"]) + "</ul>")
    if run.due and run.submissions is not None:
        due = ", ".join(f"{'every assignment' if k == '*' else k}: {v.isoformat(' ', 'minutes')}"
                        for k, v in sorted(run.due.items()))
        out.append(f"<h3>Late</h3><p>{len(late)} late submission(s) (due {_e(due)}; the time of a submission "
                   "is its timestamp.txt, else the notebook's file time).</p>")
        if late:
            out.append('<table><thead><tr><th>student</th><th>assignment</th><th>late by</th>'
                       "<th>time from</th></tr></thead><tbody>")
            for r in sorted(late, key=lambda r: -r["late"]):
                out.append(f"<tr><td>{_link(r)}</td><td>{_e(r['assignment'])}</td><td>{_duration(r['late'])}"
                           f"</td><td>{_e(r['time_source'])}</td></tr>")
            out.append("</tbody></table>")
    else:
        out.append('<p class="note">Lateness not checked: give the due date(s) with <code>--due</code> and '
                   "the submissions folder with <code>--submissions</code>.</p>")
    return out


def _assignment_section(run: Run, assignment: str, index: int) -> list[str]:
    rows = run.of(assignment)
    graded = [r for r in rows if r["report"]]
    out = [f'<h2 id="a-{index}">{_e(assignment)}</h2>',
           f"<p>{len(rows)} notebook(s): {len(graded)} graded, {len(rows) - len(graded)} could not be graded."
           "</p>"]
    if graded:
        png, alt = total_figure(run, assignment)
        out.append(f'<img src="data:image/png;base64,{png}" alt="{_e(alt)}">')
    failed = [r for r in rows if not r["report"]]
    if failed:
        out.append("<details><summary>Could not be graded</summary><ul>" + "".join(
            f"<li>{_link(r)}: {_e(r['error'] or '')}</li>" for r in failed[:200]) + "</ul></details>")
    for j, exercise_id in enumerate(run.exercises_of(assignment)):
        out += _exercise_section(run, assignment, exercise_id, f"a-{index}-e-{j}")
    return out


def _exercise_section(run: Run, assignment: str, exercise_id: str, anchor: str) -> list[str]:
    s = exercise_stats(run, assignment, exercise_id)
    out = [f'<h3 id="{anchor}">{_e(exercise_id)}</h3>',
           f"<p>{s['answers']} answers, mean {s['mean']:.2f} of {s['max_score']:g}; "
           + ", ".join(f"{s['statuses'][k]} {k}" for k in STATUSES if s["statuses"][k]) + ".</p>"]
    png, alt = exercise_figure(run, assignment, exercise_id, s)
    out.append(f'<img src="data:image/png;base64,{png}" alt="{_e(alt)}">')
    if s["mistakes"]:
        wrong = max(sum(s["mistakes"].values()), 1)
        out.append('<table><caption>Named mistakes (or, where none was recorded, the gist of the '
                   'feedback)</caption><thead><tr><th>mistake</th><th class="num">answers</th>'
                   '<th class="num">of the wrong ones</th><th>for example</th></tr></thead><tbody>')
        for mistake, count in s["mistakes"].most_common():
            examples = ", ".join(_link(r) for r in s["examples"][mistake])
            out.append(f'<tr><td>{_e(mistake)}</td><td class="num">{count}</td>'
                       f'<td class="num">{100 * count / wrong:.0f}%</td><td>{examples}</td></tr>')
        out.append("</tbody></table>")
    if s["fixtures"]:
        out.append('<table><caption>Fixtures that failed most (the first failing one per answer)</caption>'
                   '<thead><tr><th>fixture</th><th>hidden</th><th class="num">answers</th></tr></thead><tbody>')
        for fixture, count in s["fixtures"].most_common(TOP_ROWS):
            out.append(f"<tr><td>{_e(fixture)}</td><td>{'hidden' if s['hidden'].get(fixture) else 'public'}</td>"
                       f'<td class="num">{count}</td></tr>')
        out.append("</tbody></table>")
    if s["slowest"]:
        out.append('<table><caption>Slowest answers</caption><thead><tr><th>student</th>'
                   '<th class="num">seconds</th><th>status</th></tr></thead><tbody>')
        out += [f'<tr><td>{_link(r)}</td><td class="num">{sec:.2f}</td><td>{_e(st)}</td></tr>'
                for sec, r, st in s["slowest"]]
        out.append("</tbody></table>")
    if s["crashed"]:
        out.append(f"<details><summary>Crashed answers: {len(s['crashed'])} (an error or a timeout)</summary>"
                   "<table><thead><tr><th>student</th><th>status</th><th>feedback</th></tr></thead><tbody>")
        out += [f'<tr><td>{_link(r)}</td><td>{_e(st)}</td><td class="feedback">{_e(_short(fb, 240))}</td></tr>'
                for r, st, fb in s["crashed"][:50]]
        if len(s["crashed"]) > 50:
            out.append(f"<tr><td colspan=3>... and {len(s['crashed']) - 50} more</td></tr>")
        out.append("</tbody></table></details>")
    return out


def _students_section(run: Run) -> list[str]:
    by_student = collections.defaultdict(dict)
    for row in run.rows:
        by_student[row["student"]].setdefault(row["assignment"], []).append(row)
    assignments = run.assignments + (["(unknown)"] if any(r["assignment"] == "(unknown)" for r in run.rows)
                                     else [])
    changed = {}
    if run.changes:
        changed.update({r["notebook"]: "regraded" for r, _ in run.changes["regraded"]})
        changed.update({r["notebook"]: "new" for r in run.changes["new"]})
    out = ['<h2 id="students">Students</h2>',
           '<p class="note">Click a column heading to sort by it (again to reverse). Each score links to '
           "the notebook's feedback.</p>",
           '<table class="sortable" id="student-table"><thead><tr>'
           '<th aria-sort="none"><button type="button">student</button></th>']
    out += [f'<th class="num" aria-sort="none"><button type="button">{_e(a)}</button></th>' for a in assignments]
    out.append('<th class="num" aria-sort="none"><button type="button">total</button></th>'
               '<th aria-sort="none"><button type="button">late</button></th>'
               '<th aria-sort="none"><button type="button">changed</button></th></tr></thead><tbody>')
    for student in sorted(by_student):
        cells, total, late, changes = [], 0.0, [], []
        for assignment in assignments:
            rows = by_student[student].get(assignment, [])
            if not rows:
                cells.append('<td class="num" data-value="-1"></td>')
                continue
            links = []
            for row in rows:
                text = _score(row["score"]) if row["report"] else "not graded"
                links.append(_link(row, text))
                total += row["score"] or 0.0
                if row["late"] is not None:
                    late.append(f"{assignment} {_duration(row['late'])}")
                if row["notebook"] in changed:
                    changes.append(f"{assignment} {changed[row['notebook']]}")
            value = rows[0]["score"] if rows[0]["report"] else -0.5
            cells.append(f'<td class="num" data-value="{value:g}">{" ".join(links)}</td>')
        out.append(f"<tr><td>{_e(student)}</td>{''.join(cells)}"
                   f'<td class="num" data-value="{total:g}">{total:g}</td>'
                   f"<td>{_e('; '.join(late))}</td><td>{_e('; '.join(changes))}</td></tr>")
    out.append("</tbody></table>")
    return out


def _feedback_section(run: Run) -> list[str]:
    out = ['<h2 id="feedback">Feedback per notebook</h2>']
    for row in sorted(run.rows, key=lambda r: (r["student"], r["assignment"])):
        head = (f"{_e(row['student'])}, {_e(row['assignment'])}: "
                + (f"{_score(row['score'])} / {_score(row['max_score'])}" if row["report"] else "not graded"))
        out.append(f'<section id="{row["anchor"]}"><h3>{head}</h3><p class="note">{_e(row["notebook"])}</p>')
        if row["error"]:
            out.append(f'<p class="feedback">{_e(row["error"])}</p>')
        if row["exercises"]:
            out.append('<table><thead><tr><th>exercise</th><th class="num">score</th><th>status</th>'
                       "<th>mistake</th><th>feedback</th></tr></thead><tbody>")
            for exercise_id, r in row["exercises"].items():
                hidden = ' <span class="tag">hidden fixture</span>' if r.get("hidden") else ""
                out.append(f"<tr><td>{_e(exercise_id)}</td>"
                           f'<td class="num">{_num(r.get("score")):g} / {_num(r.get("max_score")):g}</td>'
                           f"<td>{_e(status_of(r))}</td><td>{_e(r.get('mistake') or '')}{hidden}</td>"
                           f'<td class="feedback">{_e(_short(str(r.get("feedback", "")), 2000))}</td></tr>')
            out.append("</tbody></table>")
        out.append('<p><a href="#students">back to the students</a></p></section>')
    return out


# --- writing ----------------------------------------------------------------------------------------------

def state_path(report: Path) -> Path:
    name = report.name[:-5] if report.name.endswith(".html") else report.name
    return report.with_name(name + ".state.json")


def read_state(report: Path) -> dict | None:
    path = state_path(report)
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
        return state if isinstance(state, dict) and isinstance(state.get("notebooks"), dict) else None
    except (OSError, ValueError):
        return None


def write_report(entries: list[dict], out, due: dict | None = None, submissions=None,
                 title: str | None = None) -> list[Path]:
    """Write the page to ``out`` and its state beside it -> the files written.

    ``due`` and ``submissions`` default to what the last report beside ``out`` was given."""
    from .records import atomic_write, check_out_path
    out = check_out_path(out)
    previous = read_state(out)
    if due is None:
        due = {}
        for name, when in ((previous or {}).get("due") or {}).items():
            try:
                due[name] = parse_time(when)
            except (TypeError, ValueError):
                continue
    if submissions is None and previous and previous.get("submissions"):
        submissions = previous["submissions"]
    submissions = Path(submissions) if submissions and Path(submissions).is_dir() else None
    run = Run(entries, previous=previous, due=due, submissions=submissions)
    page = render(run, title or f"Grading report: {', '.join(run.assignments) or 'no assignment'}")
    atomic_write(out, lambda f: f.write(page))
    state = state_path(out)
    atomic_write(state, lambda f: json.dump(run.state(), f, indent=1))
    return [out, state]


def after_grading(out, entries: list[dict], root, log=sys.stderr) -> list[Path]:
    """``grade-all``'s last step: the report beside the grades (``<stem>.report.html``). A failure here
    is one line on ``log`` and never costs the grades, which are already written."""
    try:
        target = Path(out).with_name(f"{Path(out).stem}.report.html")
        return write_report(entries, target, submissions=root)
    except Exception as err:   # the report is a view; the grades stand without it
        print(f"note: the report was not written ({type(err).__name__}: {err})", file=log)
        return []
