"""Copying made visible, for a person to judge: the most similar pairs of answers, side by side.

    python -m autograder similarity SUBMISSIONS [--out similarity.html] [--top 100] [--threshold 0.33]

For every exercise, every pair of students' answer cells (cells tagged ``{"course": {"exercise": id}}``)
is compared, and the page lists the most similar pairs with the two cells side by side and the shared
passages marked. **It is a list for a person to review, never a penalty**: similar answers to a short
exercise are often independent, and only a person who reads them can tell.

How two answers are compared (``copydetect``, tokenised winnowing as in MOSS):
- each cell is tokenised with Pygments and normalised: every variable, attribute and function name
  becomes one symbol, every string another; whitespace and comments are dropped. Renaming variables
  or reformatting changes nothing;
- the normalised text is cut into k-grams (``K`` characters), hashed, and winnowed (the smallest
  hash of every window), which keeps matches that survive reordered lines;
- **the released stub is subtracted**: every k-gram of the student version's cell of the same exercise
  (``notebooks/<assignment>/<assignment>.ipynb``: the signature, docstring, given lines) is boilerplate
  and removed; a cell that is the stub itself (normalised) is not compared at all, so two students who
  both left it untouched never appear;
- k-grams that more than ``COMMON_FRACTION`` of the class (and at least ``COMMON_MIN`` students) share
  are removed too: what everyone writes says nothing about copying;
- a pair's similarity is the larger of the two shares of each answer's remaining code that the other
  contains (copydetect's measure); pairs sharing fewer than ``MIN_OVERLAP`` normalised characters
  are not listed.

The parent reads notebooks as plain JSON (linear time) and lexes at most ``MAX_CELL_CHARS`` characters
of each answer; nothing of a submission is executed. Everything shown is HTML-escaped.
"""
from __future__ import annotations

import collections
import datetime as dt
import html
import io
import itertools
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
K = 20                   # k-gram length, in characters of normalised code
WINDOW = 4               # winnowing window (guarantee: any shared run of K + WINDOW - 1 characters is seen)
COMMON_FRACTION = 0.2    # a k-gram in more than this share of the answers is common, not evidence
COMMON_MIN = 5           # ... and in at least this many answers
MIN_OVERLAP = 40         # normalised characters two answers must share to be listed
MAX_CELL_CHARS = 20_000
MAX_NOTEBOOK_BYTES = 50_000_000


@dataclass
class Answer:
    student: str
    notebook: str
    exercise: str
    source: str
    fingerprint: object = None
    hashes: set = field(default_factory=set)


# --- reading ----------------------------------------------------------------------------------------------

def _source(cell) -> str:
    source = cell.get("source", "")
    return "".join(s for s in source if isinstance(s, str)) if isinstance(source, list) else str(source)


def answer_cells(nb: dict) -> dict:
    """{exercise id: the source of its last tagged answer cell} of a notebook (as parsed JSON)."""
    cells = {}
    for cell in nb.get("cells", []) if isinstance(nb, dict) else []:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        meta = cell.get("metadata")
        course = meta.get("course") if isinstance(meta, dict) else None
        exercise = course.get("exercise") if isinstance(course, dict) else None
        if isinstance(exercise, str) and exercise:
            cells[exercise[:200]] = _source(cell)[:MAX_CELL_CHARS]
    return cells


def _read(path: Path) -> dict | None:
    try:
        if path.is_symlink() or path.stat().st_size > MAX_NOTEBOOK_BYTES:
            return None
        nb = json.loads(path.read_bytes().decode("utf-8"))
        return nb if isinstance(nb, dict) else None
    except (OSError, ValueError, UnicodeDecodeError):
        return None


def released_stubs(stubs_dir: Path) -> dict:
    """{exercise id: (assignment, stub source)} from the released notebooks."""
    stubs = {}
    for path in sorted(Path(stubs_dir).glob("*/*.ipynb")):
        nb = _read(path)
        for exercise, source in answer_cells(nb or {}).items():
            stubs[exercise] = (path.parent.name, source)
    return stubs


def collect(submissions: Path, stubs: dict, log=sys.stderr) -> tuple[list[Answer], int]:
    """Every answer cell below ``submissions`` -> (answers, notebooks that could not be read)."""
    from .batch import find_notebooks
    from .report import student_of
    answers, unreadable = [], 0
    for path in find_notebooks(submissions):
        relative = str(path.relative_to(submissions))
        nb = _read(path)
        if nb is None:
            unreadable += 1
            print(f"{relative}: not a readable notebook, skipped", file=log)
            continue
        for exercise, source in answer_cells(nb).items():
            assignment = stubs.get(exercise, (None,))[0]
            student = student_of(relative, assignment) or relative.split("/")[0]
            answers.append(Answer(student, relative, exercise, source))
    return answers, unreadable


# --- comparing ----------------------------------------------------------------------------------------------

def normalised(source: str) -> str:
    from copydetect.utils import filter_code
    code, _ = filter_code(source, "cell.py", "python")
    return code


def _fingerprint(source: str, boilerplate):
    from copydetect import CodeFingerprint
    return CodeFingerprint("cell.py", K, WINDOW, boilerplate=boilerplate, filter=True, language="python",
                           fp=io.StringIO(source))


def _drop(fingerprint, hashes: set) -> None:
    """Remove ``hashes`` from a fingerprint (as copydetect does for boilerplate)."""
    from copydetect.utils import get_token_coverage
    if not hashes & fingerprint.hashes:
        return
    fingerprint.hashes = fingerprint.hashes - hashes
    fingerprint.hash_idx = {h: i for h, i in fingerprint.hash_idx.items() if h not in hashes}
    fingerprint.token_coverage = get_token_coverage(fingerprint.hash_idx, fingerprint.k,
                                                    len(fingerprint.filtered_code))


def compare_exercise(answers: list[Answer], stub: str | None) -> tuple[list[dict], dict]:
    """Every pair of one exercise's answers -> (pairs worth a look, counts for the page)."""
    import numpy as np
    from copydetect import compare_files
    stub_norm = normalised(stub) if stub is not None else None
    boilerplate = (np.array(sorted(_all_kgram_hashes(stub_norm)), dtype=np.int64) if stub_norm
                   else np.array([], dtype=np.int64))
    kept, untouched = [], 0
    for answer in answers:
        if stub_norm is not None and normalised(answer.source) == stub_norm:
            untouched += 1
            continue
        answer.fingerprint = _fingerprint(answer.source, boilerplate)
        if answer.fingerprint.hashes:
            kept.append(answer)
        else:
            untouched += 1
    students_with = collections.Counter()
    for answer in kept:
        students_with.update(answer.fingerprint.hashes)
    limit = max(COMMON_MIN, COMMON_FRACTION * len({a.student for a in kept}))
    common = {h for h, n in students_with.items() if n > limit}
    for answer in kept:
        _drop(answer.fingerprint, common)
    kept = [a for a in kept if a.fingerprint.hashes]
    index = collections.defaultdict(list)
    for i, answer in enumerate(kept):
        for h in answer.fingerprint.hashes:
            index[h].append(i)
    shared = collections.Counter()
    for members in index.values():
        if len(members) > 1:
            for i, j in itertools.combinations(members, 2):
                if kept[i].student != kept[j].student:
                    shared[(i, j)] += 1
    pairs = []
    for (i, j), _ in shared.items():
        a, b = kept[i], kept[j]
        overlap, (sim_a, sim_b), (slices_a, slices_b) = compare_files(a.fingerprint, b.fingerprint)
        if overlap < MIN_OVERLAP:
            continue
        pairs.append({"exercise": a.exercise, "a": a, "b": b, "overlap": int(overlap),
                      "similarity": float(max(sim_a, sim_b)), "sim_a": float(sim_a), "sim_b": float(sim_b),
                      "slices_a": slices_a, "slices_b": slices_b})
    return pairs, {"answers": len(answers), "untouched": untouched, "compared": len(kept),
                   "common": len(common)}


def _all_kgram_hashes(code: str):
    """Every k-gram hash of normalised code (a stub is boilerplate whole, not just its winnowed part)."""
    return {hash(code[i:i + K]) for i in range(max(len(code) - K + 1, 0))}


def find_similar(submissions, stubs_dir=None, log=sys.stderr) -> tuple[list[dict], dict]:
    """-> (every listed pair, most similar first; per exercise counts)."""
    stubs = released_stubs(Path(stubs_dir) if stubs_dir else REPO / "notebooks")
    answers, unreadable = collect(Path(submissions), stubs, log)
    by_exercise = collections.defaultdict(list)
    for answer in answers:
        by_exercise[answer.exercise].append(answer)
    pairs, summary = [], {}
    for exercise in sorted(by_exercise):
        stub = stubs.get(exercise, (None, None))[1]
        if stub is None:
            print(f"note: no released stub for {exercise} found: nothing subtracted", file=log)
        found, counts = compare_exercise(by_exercise[exercise], stub)
        pairs += found
        summary[exercise] = {**counts, "pairs": len(found), "stub": stub is not None}
    pairs.sort(key=lambda p: (-p["similarity"], -p["overlap"], p["exercise"], p["a"].student, p["b"].student))
    return pairs, {"exercises": summary, "unreadable": unreadable,
                   "notebooks": len({a.notebook for a in answers})}


# --- the page ---------------------------------------------------------------------------------------------

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:1300px;padding:0 1.2em 3em;
color:#111;line-height:1.4}
.warning{border:2px solid #111;padding:.6em 1em;background:#f4f4f4;font-weight:500}
table{border-collapse:collapse;font-size:.92em}th,td{border:1px solid #999;padding:.25em .5em;text-align:left}
th{background:#eee}td.num{text-align:right;font-variant-numeric:tabular-nums}
.pair{border-top:2px solid #111;margin-top:1.5em}.side{display:grid;grid-template-columns:1fr 1fr;gap:1em}
pre{white-space:pre-wrap;word-break:break-word;border:1px solid #999;padding:.5em;font-size:.85em;margin:0}
mark{background:#ffe08a;text-decoration:underline;text-decoration-thickness:2px}
"""


def _e(value) -> str:
    return html.escape(str(value), quote=True)


def _highlighted(source: str, slices) -> str:
    from copydetect.utils import highlight_overlap
    if len(slices) == 0 or len(slices[0]) == 0:
        return _e(source)
    text, _ = highlight_overlap(source, slices, "<mark>", "</mark>", escape_html=True)
    return text


def render(pairs: list[dict], info: dict, top: int, threshold: float) -> str:
    shown = [p for p in pairs if p["similarity"] >= threshold][:top]
    now = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src \'unsafe-inline\'">',
           "<title>Similar answers: for review</title>", f"<style>{CSS}</style></head><body>",
           "<h1>Similar answers, for a person to review</h1>",
           '<p class="warning">This is a list for human review, never a penalty. Similar answers are often '
           "independent (a short exercise leaves little room for variety, and every student read the same "
           "tutorial); only a person who reads both answers, and talks with the students, can judge.</p>",
           f"<p>{info['notebooks']} notebook(s) read ({info['unreadable']} unreadable); written {_e(now)}. "
           f"Shown: the {len(shown)} most similar pair(s) with a similarity of at least {threshold:.0%} "
           f"(of {len(pairs)} pair(s) sharing code). Variable names, formatting and comments are normalised; "
           "the released stub and code that many students share are subtracted; marked passages are what "
           "the two answers share.</p>",
           "<table><thead><tr><th>exercise</th><th>answers</th><th>the stub, untouched (or nothing beyond it)</th>"
           "<th>compared</th><th>pairs sharing code</th></tr></thead><tbody>"]
    for exercise, s in info["exercises"].items():
        stub = "" if s["stub"] else " (no stub found)"
        out.append(f"<tr><td>{_e(exercise)}{stub}</td><td class=num>{s['answers']}</td>"
                   f"<td class=num>{s['untouched']}</td><td class=num>{s['compared']}</td>"
                   f"<td class=num>{s['pairs']}</td></tr>")
    out.append("</tbody></table>")
    out.append('<h2>Pairs</h2><table id="pairs"><thead><tr><th>rank</th><th>exercise</th><th>student</th>'
               "<th>student</th><th>similarity</th><th>shared (normalised characters)</th></tr></thead><tbody>")
    for rank, p in enumerate(shown, 1):
        out.append(f'<tr><td class=num><a href="#pair-{rank}">{rank}</a></td><td>{_e(p["exercise"])}</td>'
                   f'<td class="student-a">{_e(p["a"].student)}</td><td class="student-b">{_e(p["b"].student)}</td>'
                   f"<td class=num>{p['similarity']:.0%}</td><td class=num>{p['overlap']}</td></tr>")
    out.append("</tbody></table>")
    for rank, p in enumerate(shown, 1):
        a, b = p["a"], p["b"]
        out.append(f'<section class="pair" id="pair-{rank}"><h3>{rank}. {_e(p["exercise"])}: {_e(a.student)} and '
                   f"{_e(b.student)} ({p['similarity']:.0%})</h3><div class=side>"
                   f"<div><p>{_e(a.student)}: {p['sim_a']:.0%} of this answer is in the other "
                   f"<br><small>{_e(a.notebook)}</small></p><pre>{_highlighted(a.source, p['slices_a'])}</pre></div>"
                   f"<div><p>{_e(b.student)}: {p['sim_b']:.0%} of this answer is in the other "
                   f"<br><small>{_e(b.notebook)}</small></p><pre>{_highlighted(b.source, p['slices_b'])}</pre></div>"
                   "</div></section>")
    out.append("</body></html>")
    return "\n".join(out)


def write_similarity(submissions, out, top: int = 100, threshold: float = 0.33, stubs_dir=None,
                     log=sys.stderr) -> tuple[Path, list[dict]]:
    from .records import OutputPathError, atomic_write, check_out_path
    out = check_out_path(out)
    if not Path(submissions).is_dir():
        raise OutputPathError(f"{submissions} is not a directory")
    pairs, info = find_similar(submissions, stubs_dir, log)
    page = render(pairs, info, top, threshold)
    atomic_write(out, lambda f: f.write(page))
    return out, pairs
