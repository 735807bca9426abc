"""The book: `book/build.py` builds the site of the six tutorials (student versions with their outputs,
here from a fast-mode run, as `make book FAST=1`; `make book` is the full run), and a real browser reads it.

The build: every tutorial is a page with its figures, a Colab, a Kaggle and a download link on top (and
an issue link, the repository being set here); no solution and no example Think! answer anywhere in the
site; each explorer's static figure stays, its live widget becomes one line.

The browser (Playwright and Debian's chromium, as tests/test_browser.py; the site served from the built
files on 127.0.0.1, as GitHub Pages serves it): every page opens with no console error and no failed
request (nothing from the network: MathJax, fonts and scripts are in the site), every image loads, every
internal link resolves (its file and its anchor), and the search finds "Kolen-Pollack". Screenshots go
to outputs/book/.
"""
from __future__ import annotations

import functools
import importlib.util
import html.parser
import http.server
import json
import os
import re
import socketserver
import subprocess
import sys
import threading
import urllib.parse
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("course_book", REPO / "book" / "build.py")
book = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(book)

from autograder.release import course_urls, is_example_answer, settings_for  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = REPO / "outputs" / "book"
NAMES = sorted(p.parent.name for p in (REPO / "notebooks").glob("*/*.ipynb"))
REPOSITORY = "someone/somewhere"
IN_CI = os.environ.get("CI", "").lower() in ("true", "1", "yes")

pytestmark = pytest.mark.xdist_group("book")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The book, built as `make book FAST=1` builds it (the runs cached as there), the repository set."""
    out = tmp_path_factory.mktemp("book") / "html"
    proc = subprocess.run([sys.executable, str(REPO / "book" / "build.py"), "--fast", "--out", str(out),
                           "--repository", REPOSITORY], capture_output=True, text=True, timeout=1800, cwd=REPO)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    report = json.loads((out.parent / "book-build.json").read_text())
    print(f"book: {report}")
    return out, report


class _Text(html.parser.HTMLParser):
    """The visible text of a page (scripts and styles left out)."""

    def __init__(self):
        super().__init__()
        self.parts, self._skip = [], 0

    def handle_starttag(self, tag, attrs):
        self._skip += tag in ("script", "style")

    def handle_endtag(self, tag):
        self._skip -= tag in ("script", "style") and self._skip > 0

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def page_text(path: Path) -> str:
    parser = _Text()
    parser.feed(path.read_text())
    return "".join(parser.parts)


# --- the build ------------------------------------------------------------------------------------

def test_every_tutorial_is_a_page_with_its_links(site):
    out, report = site
    assert sorted(report["notebooks"]) == NAMES and report["mode"] == "fast"
    settings = settings_for(REPOSITORY)
    index = (out / "index.html").read_text()
    for name in NAMES:
        text = (out / f"{name}.html").read_text()
        assert f'href="{name}.html"' in index, name                     # in the table of contents
        urls = course_urls(name, settings)
        for label, url in (("Open in Colab", urls["colab"]), ("Open in Kaggle", urls["kaggle"]),
                           ("Download the notebook", f"_static/notebooks/{name}.ipynb"),
                           ("Open an issue", urls["issue"])):
            assert re.search(rf'href="{re.escape(url.replace("&", "&amp;"))}"[^>]*>{label}</a>', text), (name, label)
        # the download is the student notebook itself, without outputs
        assert (out / "_static" / "notebooks" / f"{name}.ipynb").read_bytes() == \
            (REPO / "notebooks" / name / f"{name}.ipynb").read_bytes()
        # objectives and figures: the notebook's own text, and at least one figure per page
        assert "Objectives" in page_text(out / f"{name}.html"), name
        assert re.search(r'<img [^>]*src="_images/', text), name


def test_no_solution_and_no_example_answer_anywhere(site):
    """Every line of every solution (between nbgrader's markers) and of every example Think! answer that
    the student version does not have is absent from every file of the site."""
    out, _ = site
    texts = [page_text(p) for p in out.rglob("*.html")] + [p.read_text() for p in out.rglob("*.ipynb")] + \
        [(out / "searchindex.js").read_text()]
    corpus = "\n".join(texts)
    student = "\n".join(c.source for n in NAMES for c in nbformat.read(
        str(REPO / "notebooks" / n / f"{n}.ipynb"), as_version=4).cells)   # what students have anyway
    for name in NAMES:
        solution = nbformat.read(str(REPO / "solutions" / name / f"{name}.ipynb"), as_version=4)
        secret = []
        for cell in solution.cells:
            if is_example_answer(cell):
                secret += [line.strip() for line in cell.source.splitlines()]
            elif cell.cell_type == "code" and "### BEGIN SOLUTION" in cell.source:
                inside = False
                for line in cell.source.splitlines():
                    inside = (inside or "### BEGIN SOLUTION" in line) and "### END SOLUTION" not in line
                    if inside and "### BEGIN SOLUTION" not in line:
                        secret.append(line.strip())
        secret = [line for line in secret if len(line) > 30 and line not in student and "<" not in line]
        assert secret, name                                  # the check has something to look for
        leaked = [line for line in secret if line in corpus]
        assert not leaked, (name, leaked[:3])


def test_explorers_keep_their_static_figure_and_say_where_they_live(site):
    out, _ = site
    for name in NAMES:
        nb = nbformat.read(str(REPO / "notebooks" / name / f"{name}.ipynb"), as_version=4)
        explorers = sum(bool(re.search(r"\b\w+\.\w+_explorer\(", c.source)) for c in nb.cells if c.cell_type == "code")
        text = (out / f"{name}.html").read_text()
        assert text.count('class="course-widget-note"') == explorers, name
        assert "application/vnd.jupyter.widget" not in text and "Loading widget" not in text, name
        # the note follows an image: the explorer's static figure
        for match in re.finditer(r'class="course-widget-note"', text):
            assert "<img " in text[max(0, match.start() - 3000):match.start()], name


def test_without_a_repository_there_is_no_issue_link_and_the_runs_are_cached(site):
    """The placeholder (OWNER/REPO): Colab, Kaggle and download, no issue link. Each run is in the cache,
    where the next build finds it."""
    placeholder = settings_for("OWNER/REPO")
    assert [label for label, _, _ in book.links(NAMES[0], placeholder)] == \
        ["Open in Colab", "Open in Kaggle", "Download the notebook"]
    assert "Open an issue" in [label for label, _, _ in book.links(NAMES[0], settings_for(REPOSITORY))]
    _, report = site
    for name in NAMES:
        nb, run = book.execute(name, True, Path(report["cache"]), report["key_base"])
        assert run["cached"] and any(c.get("outputs") for c in nb.cells if c.cell_type == "code"), name


# --- the browser ----------------------------------------------------------------------------------

def _requirements_or_skip():
    missing = [] if CHROMIUM.exists() else [f"{CHROMIUM} (make system-deps)"]
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright package (pip install -e '.[dev]')")
    if missing:
        reason = "the book's browser test needs " + " and ".join(missing)
        if IN_CI:
            pytest.fail(reason + "; under CI it must run")
        pytest.skip(reason)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def served(site):
    """The built files on http://127.0.0.1:PORT/ (a static server, as GitHub Pages)."""
    out, _ = site
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(out)))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield out, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser(served):
    _requirements_or_skip()
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                              args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        yield chromium
        chromium.close()


def _watch(page, base):
    """Console errors, uncaught exceptions, failed requests and every request that left the site."""
    problems = []
    page.on("console", lambda m: problems.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
    page.on("response", lambda r: problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
    page.on("request", lambda r: None if r.url.startswith((base, "data:", "blob:", "about:"))
            else problems.append(f"left the site: {r.url}"))
    return problems


PAGE_FACTS = """() => ({
    images: [...document.images].map(i => ({src: i.currentSrc || i.src, ok: i.complete && i.naturalWidth > 0})),
    links: [...document.querySelectorAll('a[href]')].map(a => a.href),
    ids: [...document.querySelectorAll('[id]')].map(e => e.id),
    math: document.querySelectorAll('mjx-container').length,
    rawMath: (document.body.innerText.match(/\\\\\\(|\\\\\\[/g) || []).length,
})"""


def test_every_page_in_the_browser(served, browser):
    out, base = served
    pages = sorted(str(p.relative_to(out)) for p in out.glob("*.html"))
    assert {f"{n}.html" for n in NAMES} | {"index.html", "search.html"} <= set(pages)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in SCREENSHOTS.glob("*.png"):
        old.unlink()
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    problems = _watch(page, base)
    facts, ids = {}, {}
    try:
        for name in pages:
            page.goto(base + name)
            page.wait_for_load_state("networkidle")
            page.evaluate("async () => { for (const i of document.images) if (!i.complete) "
                          "await new Promise(r => { i.onload = i.onerror = r; }); }")
            page.evaluate("async () => { if (window.MathJax && MathJax.startup && MathJax.startup.promise) "
                          "await MathJax.startup.promise; }")
            facts[name] = page.evaluate(PAGE_FACTS)
            ids[name] = set(facts[name]["ids"])
            page.screenshot(path=str(SCREENSHOTS / f"{Path(name).stem}.png"))
            if name.startswith(tuple(NAMES)):
                note = page.locator(".course-widget-note").first
                if note.count():           # the first explorer: its static figure and the line under it
                    note.evaluate("e => e.scrollIntoView({block: 'end'})")
                    page.evaluate("() => window.scrollBy(0, 120)")
                    page.screenshot(path=str(SCREENSHOTS / f"{Path(name).stem}-explorer.png"))
        assert not problems, problems[:10]
        for name, fact in facts.items():
            broken = [i["src"] for i in fact["images"] if not i["ok"]]
            assert not broken, (name, broken)
            if name.startswith(tuple(NAMES)):
                assert fact["images"], name
                assert fact["math"] > 0 and fact["rawMath"] == 0, (name, fact["math"], fact["rawMath"])
        # every internal link: its file is in the site, and its anchor on that page
        unresolved = []
        for name, fact in facts.items():
            for href in fact["links"]:
                if not href.startswith(base):
                    continue
                url = urllib.parse.urlsplit(href)
                target = urllib.parse.unquote(url.path[len(urllib.parse.urlsplit(base).path):]) or "index.html"
                if target.endswith("/"):
                    target += "index.html"
                if not (out / target).is_file():
                    unresolved.append((name, href))
                elif url.fragment and target.endswith(".html"):
                    if target not in ids:
                        page.goto(base + target)
                        ids[target] = set(page.evaluate("() => [...document.querySelectorAll('[id]')].map(e => e.id)"))
                    if urllib.parse.unquote(url.fragment) not in ids[target]:
                        unresolved.append((name, href))
        assert not unresolved, unresolved[:10]
    finally:
        page.close()


def test_the_search_finds_kolen_pollack(served, browser):
    out, base = served
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    problems = _watch(page, base)
    try:
        page.goto(base + "index.html")
        page.wait_for_load_state("networkidle")
        # as a reader searches: the search box of the page, Enter
        page.keyboard.press("Control+k")
        box = page.locator("input[name='q']:visible").first
        box.fill("Kolen-Pollack")
        box.press("Enter")
        page.wait_for_url(re.compile(r"search\.html\?q=Kolen-Pollack"))
        page.wait_for_selector("#search-results li", timeout=30_000)
        page.wait_for_function("() => /found \\d+ page/i.test(document.querySelector('#search-results').innerText)",
                               timeout=30_000)
        results = page.locator("#search-results li a").evaluate_all("links => links.map(a => a.href)")
        page.screenshot(path=str(SCREENSHOTS / "search-kolen-pollack.png"))
        assert any("02_weight_transport.html" in href for href in results), results
        assert not problems, problems
    finally:
        page.close()
