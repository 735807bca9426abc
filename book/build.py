"""The course as a website: the six tutorials' student versions, with their outputs from a run.

    python book/build.py [--fast] [--out DIR] [--cache DIR] [--repository OWNER/NAME] [--book-url URL]

(`make book` runs it: a full run; `make book FAST=1`, or --fast, the fast mode of the tests.)

1. Execute each student notebook of notebooks/ (never solutions/: no solution and no example Think!
   answer is in them) top to bottom in a kernel of this environment, every exercise unsolved, in full
   mode (or fast mode, COURSE_FAST=1). Each run is cached (``--cache``, default
   ``~/.cache/course-utils/book``) under a key of the notebook, the course's sources (course_utils/,
   autograder/), the installed packages and the mode: an unchanged notebook is never run twice.
2. Turn each run into a page: a row of links on top (Open in Colab, Open in Kaggle, Download the
   notebook, and Open an issue when the course's repository is set), each explorer's live widget
   replaced by one line (its static figure, the figure of its starting values, stays above it),
   progress bars as their final line, the empty Think! answer cells as an invitation to answer in the
   notebook; the widget state and the kernel's metadata dropped.
3. Sphinx with MyST-NB and the Sphinx Book Theme (the engine of Jupyter Book 1) builds the HTML from
   book/conf.py and book/index.md, with no execution of its own; MathJax comes from the
   sphinx-mathjax-offline package: nothing is fetched from the network, at build time or in the
   browser.

Where the course lives ([tool.course] in pyproject.toml; ``python -m autograder configure``) sets the
Colab, Kaggle and issue links; ``--repository``/``--book-url`` override it for one build.
Writes DIR (default book/_build/html) and DIR/../book-build.json (what ran, what was cached, timings).
"""
from __future__ import annotations

import argparse
import copy
import hashlib
import html
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BOOK = Path(__file__).resolve().parent
REPO = BOOK.parent
sys.path.insert(0, str(REPO))

import nbformat  # noqa: E402

from autograder.release import (ANSWER_PROMPT, PLACEHOLDER, assignments, course_settings,  # noqa: E402
                                course_urls, is_placeholder, settings_for)

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_NOTE = ("The live explorer (its controls, and the figure they redraw) runs in the notebook: open it "
               "in Colab or Kaggle, or download it. Above: its figure for the starting values.")
ANSWER_NOTE = "*Your answer: write it in the notebook (Colab, Kaggle or the download above).*"
LINKS_CELL_ID = "book-links"
SOURCES = ("course_utils", "autograder")       # what the notebooks import: their code is in the cache key


# --- 1. running the notebooks, cached ------------------------------------------------------------------

def fingerprint() -> str:
    """The course's sources, this Python and every installed package's version: what a run depends on
    besides the notebook and the mode."""
    h = hashlib.sha256(sys.version.encode())
    for package in SOURCES:
        for path in sorted((REPO / package).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix in (".py", ".npz", ".json"):
                h.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes())
    versions = sorted(f"{d.metadata['Name']}=={d.version}" for d in importlib.metadata.distributions())
    h.update("\n".join(versions).encode())
    return h.hexdigest()


def kernel_environment(fast: bool) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("MPLBACKEND", "NBGRADER_EXECUTION", "COURSE_FAST")}
    if fast:
        env["COURSE_FAST"] = "1"
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    return env


def execute(name: str, fast: bool, cache: Path, key_base: str) -> tuple[nbformat.NotebookNode, dict]:
    """The student notebook ``name`` with its outputs, from the cache or from a run now."""
    import nbclient

    source = REPO / "notebooks" / name / f"{name}.ipynb"
    mode = "fast" if fast else "full"
    key = hashlib.sha256(source.read_bytes() + key_base.encode() + mode.encode()).hexdigest()[:20]
    cached = cache / f"{name}.{mode}.{key}.ipynb"
    if cached.is_file():
        return nbformat.read(str(cached), as_version=4), {"cached": True, "seconds": 0.0}
    nb = nbformat.read(str(source), as_version=4)
    start = time.monotonic()
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(kernel_environment(fast))      # the kernel inherits this process's environment
    try:
        with tempfile.TemporaryDirectory(prefix=f"book-{name}-") as work:
            nbclient.NotebookClient(nb, timeout=None if not fast else 900, kernel_name="python3",
                                    allow_errors=True, resources={"metadata": {"path": work}}).execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    seconds = time.monotonic() - start
    errors = [(i, o.get("ename"), o.get("evalue")) for i, c in enumerate(nb.cells) if c.cell_type == "code"
              for o in c.get("outputs", []) if o.output_type == "error"]
    if errors:
        raise RuntimeError(f"notebooks/{name} raised while it ran for the book: {errors[:3]}")
    cache.mkdir(parents=True, exist_ok=True)
    for old in cache.glob(f"{name}.{mode}.*.ipynb"):
        old.unlink()
    partial = cached.with_suffix(".partial")
    nbformat.write(nb, str(partial))
    partial.rename(cached)
    return nb, {"cached": False, "seconds": round(seconds, 1)}


# --- 2. a run becomes a page ----------------------------------------------------------------------------

def links(name: str, settings: dict) -> list[tuple[str, str, str]]:
    """(label, address, css class) of the links on top of a page: Colab, Kaggle, the notebook's
    download, and an issue on this page where the course's repository is set."""
    urls = course_urls(name, settings)
    out = [("Open in Colab", urls["colab"], "colab"), ("Open in Kaggle", urls["kaggle"], "kaggle"),
           ("Download the notebook", f"_static/notebooks/{name}.ipynb", "download")]
    if urls.get("issue"):
        out.append(("Open an issue", urls["issue"], "issue"))
    return out


FAST_NOTE = ("Outputs from a fast-mode run (COURSE_FAST=1: fewer samples and epochs); the notebook's own run is "
             "the full one.")


def links_cell(name: str, settings: dict, fast: bool = False):
    items = []
    for label, url, css in links(name, settings):
        download = f' download="{name}.ipynb"' if css == "download" else ""
        items.append(f'<a class="course-link course-link-{css}" href="{html.escape(url)}"{download}>{label}</a>')
    note = f'\n<p class="course-fast-note">{FAST_NOTE}</p>' if fast else ""
    cell = nbformat.v4.new_markdown_cell(f'<div class="course-links">\n{" ".join(items)}\n</div>{note}')
    cell.id = LINKS_CELL_ID
    return cell


def coalesce_streams(outputs: list) -> list:
    """Consecutive stream outputs of one name as one, each line as a terminal leaves it (a progress bar
    that redrew itself with carriage returns keeps its last state)."""
    merged = []
    for out in outputs:
        if out.get("output_type") == "stream" and merged and merged[-1].get("output_type") == "stream" \
                and merged[-1].get("name") == out.get("name"):
            merged[-1]["text"] += out["text"]
        else:
            merged.append(copy.deepcopy(out))
    for out in merged:
        if out.get("output_type") == "stream":
            out["text"] = "\n".join(line.rsplit("\r", 1)[-1] if line.rstrip("\r") else line
                                    for line in out["text"].split("\n"))
    return merged


def page(nb, name: str, settings: dict, fast: bool = False):
    """The book's page of one executed student notebook (a new notebook; ``nb`` is unchanged)."""
    nb = copy.deepcopy(nb)
    nb.metadata = {k: v for k, v in nb.metadata.items() if k in ("kernelspec", "language_info")}
    cells = []
    for cell in nb.cells:
        role = cell.get("metadata", {}).get("course", {}).get("role")
        if role == "colab-link":
            continue                              # the links row takes its place
        if cell.cell_type == "markdown" and (role == "student-answer" or cell.source == ANSWER_PROMPT):
            cell.source = ANSWER_NOTE
        if cell.cell_type == "code":
            outputs = []
            for out in coalesce_streams(cell.get("outputs", [])):
                if WIDGET_VIEW in out.get("data", {}):
                    out = nbformat.v4.new_output("display_data", data={
                        "text/html": f'<p class="course-widget-note">{html.escape(WIDGET_NOTE)}</p>',
                        "text/plain": WIDGET_NOTE})
                outputs.append(out)
            cell.outputs = outputs
        cells.append(cell)
    nb.cells = [links_cell(name, settings, fast)] + cells
    return nb


# --- 3. the site ----------------------------------------------------------------------------------------

def build(out: Path, fast: bool, cache: Path, settings: dict, log=print) -> dict:
    out = Path(out).resolve()
    staging = out.parent / "source"
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(BOOK, staging, ignore=shutil.ignore_patterns("_build", "build.py", "__pycache__"))
    (staging / "_static" / "notebooks").mkdir(parents=True, exist_ok=True)
    key_base = fingerprint()
    report = {"mode": "fast" if fast else "full", "notebooks": {}, "settings": settings, "cache": str(cache),
              "key_base": key_base}
    for name in assignments(REPO):
        nb, run = execute(name, fast, cache, key_base)
        log(f"{name}: {'cached' if run['cached'] else 'ran in %.0f s' % run['seconds']}")
        nbformat.write(page(nb, name, settings, fast), str(staging / f"{name}.ipynb"))
        shutil.copy(REPO / "notebooks" / name / f"{name}.ipynb", staging / "_static" / "notebooks" / f"{name}.ipynb")
        report["notebooks"][name] = run
    (staging / "course-settings.json").write_text(json.dumps(settings))
    start = time.monotonic()
    shutil.rmtree(out, ignore_errors=True)
    proc = subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-q", "-W", "--keep-going", "-j", "1",
                           "-d", str(out.parent / "doctrees"), str(staging), str(out)],
                          capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    report["sphinx_seconds"] = round(time.monotonic() - start, 1)
    if proc.returncode != 0:
        raise RuntimeError(f"sphinx-build failed:\n{(proc.stdout + proc.stderr)[-4000:]}")
    (out.parent / "book-build.json").write_text(json.dumps(report, indent=1))
    log(f"site: {out / 'index.html'} (Sphinx: {report['sphinx_seconds']:.0f} s)")
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fast", action="store_true", help="run the notebooks in fast mode (as the tests do)")
    parser.add_argument("--out", default=str(BOOK / "_build" / "html"))
    parser.add_argument("--cache", default=str(Path.home() / ".cache" / "course-utils" / "book"))
    parser.add_argument("--repository", help="OWNER/NAME on GitHub, for this build only")
    parser.add_argument("--book-url", help="the site's address, for this build only")
    args = parser.parse_args(argv)
    settings = course_settings(REPO)
    if args.repository is not None or args.book_url is not None:
        settings = settings_for(args.repository or settings["repository"], settings["branch"],
                                settings["book_url"] if args.book_url is None else args.book_url)
    if is_placeholder(settings):
        print(f"note: [tool.course] in pyproject.toml still names {PLACEHOLDER}: the Colab and Kaggle links point "
              "nowhere and there is no issue link; set it with `python -m autograder configure --repo OWNER/NAME`",
              file=sys.stderr)
    start = time.monotonic()
    build(Path(args.out), args.fast, Path(args.cache), settings)
    print(f"built in {time.monotonic() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
