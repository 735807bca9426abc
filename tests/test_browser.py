"""The student notebooks in a real browser, as a student meets them: JupyterLab and headless Chromium
(Playwright), fast mode (COURSE_FAST=1), every exercise unsolved.

For each notebook of notebooks/ (a temporary copy): open it, Run All from the Run menu, and check that
every code cell ran, that no cell shows an error (or anything on stderr but known warnings), and that
every explorer renders as a live widget beside its static figure, and redraws when a slider moves
(the keyboard's right arrow on its first slider). Then save (Ctrl+S), close, reopen
(a fresh page: the widget manager restores the models from the running kernel) and check that nothing
says "Error displaying widget" / "model not found". Last, with the kernel shut down, reopen once more:
the widgets cannot be restored then, but every explorer's static figure and every progress bar (text)
must still be in the saved notebook.

Screenshots of each notebook go to outputs/browser/: after Run All the whole notebook, a viewport at a
time, and each explorer's cell; after reopening, with the same kernel and with a new one, the explorers'
cells (the rest of the page is the saved output the first screenshots show).

Needs Debian's chromium (/usr/bin/chromium, `make system-deps`) and the playwright package (the dev
extra); never `playwright install`. Under CI (CI=true) it runs or fails, never skips.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = REPO / "outputs" / "browser"
NOTEBOOKS = sorted(p.parent.name for p in (REPO / "notebooks").glob("*/*.ipynb"))
RUN_ALL_TIMEOUT_MS = 300_000     # fast mode takes 10-40 s a notebook on 2 idle cores
# stderr lines a notebook may show (anything else on stderr fails the test)
KNOWN_STDERR = (
    re.compile(r"^\s*$"),
    re.compile(r"An NVIDIA GPU may be present on this machine, but a CUDA-enabled jaxlib is not installed"),
    re.compile(r"Platform '\w+' is experimental"),
)

pytestmark = pytest.mark.xdist_group("browser")   # one file, one worker under make test's --dist loadfile (under
# pytest 9.2, pytest-xdist 3.8's loadgroup ignores these marks: it rewrites item._nodeid, which pytest no longer reads)


def _requirements_or_skip():
    """Skip (outside CI) with a one-line reason when the browser or Playwright is missing."""
    missing = []
    if not CHROMIUM.exists():
        missing.append(f"{CHROMIUM} (make system-deps)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright package (pip install -e '.[dev]')")
    if missing:
        reason = "browser test needs " + " and ".join(missing)
        if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
            pytest.fail(reason + "; under CI it must run")
        pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _settings(directory: Path):
    """JupyterLab user settings for the test: every cell in the DOM (no windowing, so that the checks
    see all of them), no news or update pop-ups. Everything else as a student gets it."""
    for plugin, values in {
        "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
        "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    }.items():
        path = directory / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


class Lab:
    """A JupyterLab server on 127.0.0.1, a random free port and a token, serving a copy of notebooks/."""

    def __init__(self, tmp: Path):
        self.root = tmp / "notebooks"
        shutil.copytree(REPO / "notebooks", self.root)
        _settings(tmp / "settings")
        self.port, self.token = _free_port(), secrets.token_hex(16)
        env = {k: v for k, v in os.environ.items()
               if k not in ("MPLBACKEND", "NBGRADER_EXECUTION", "JUPYTER_PLATFORM_DIRS")}
        env.update(COURSE_FAST="1", JUPYTERLAB_SETTINGS_DIR=str(tmp / "settings"),
                   JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"), JUPYTER_CONFIG_DIR=str(tmp / "config"),
                   JUPYTER_RUNTIME_DIR=str(tmp / "runtime"), JAX_PLATFORMS="cpu")
        self.log = tmp / "jupyterlab.log"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root", "--ip=127.0.0.1",
             f"--port={self.port}", f"--ServerApp.token={self.token}", f"--ServerApp.root_dir={self.root}",
             "--LabApp.expose_app_in_browser=True"],
            env=env, stdout=self.log.open("w"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90
        while True:
            try:
                self.api("status")
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("JupyterLab did not start:\n" + self.log.read_text()[-3000:])
                time.sleep(0.3)

    def api(self, path: str, method: str = "GET"):
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/api/{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def url(self, name: str) -> str:
        # reset: a fresh workspace, so that only this notebook is open (JupyterLab reopens the last layout)
        return f"http://127.0.0.1:{self.port}/lab/tree/{name}/{name}.ipynb?reset&token={self.token}"

    def shutdown_kernels(self):
        for session in self.api("sessions"):
            self.api(f"sessions/{session['id']}", method="DELETE")

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    _requirements_or_skip()
    server = Lab(tmp_path_factory.mktemp("lab"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser(lab):
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                              args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        yield chromium
        chromium.close()


# --- reading the page ------------------------------------------------------------------------------

NOTEBOOK_JS = "window.jupyterapp.shell.currentWidget"
NOTEBOOK = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook"     # the notebook on show

KERNEL_IDLE = f"""() => {{
    const nb = {NOTEBOOK_JS};
    const kernel = nb && nb.sessionContext && nb.sessionContext.session && nb.sessionContext.session.kernel;
    return !!(kernel && kernel.status === 'idle' && nb.content && nb.content.model);
}}"""

ALL_RAN = f"""() => {{
    const nb = {NOTEBOOK_JS};
    const kernel = nb.sessionContext.session && nb.sessionContext.session.kernel;
    if (!kernel || kernel.status !== 'idle') return false;
    const cells = nb.content.model.cells;
    for (let i = 0; i < cells.length; i++) {{
        const cell = cells.get(i);
        if (cell.type === 'code' && !cell.executionCount) return false;
    }}
    return true;
}}"""

# one entry per cell, in notebook order: its type, execution count, output types and error names
CELLS = f"""() => {{
    const cells = {NOTEBOOK_JS}.content.model.cells;
    const result = [];
    for (let i = 0; i < cells.length; i++) {{
        const cell = cells.get(i);
        const outputs = [];
        if (cell.type === 'code') {{
            for (let j = 0; j < cell.outputs.length; j++) {{
                const o = cell.outputs.get(j).toJSON();
                outputs.push({{type: o.output_type, name: o.name || null, ename: o.ename || null,
                               evalue: o.evalue || null, text: typeof o.text === 'string' ? o.text : null}});
            }}
        }}
        result.push({{type: cell.type, count: cell.type === 'code' ? cell.executionCount : null, outputs}});
    }}
    return result;
}}"""

DIRTY = f"() => {NOTEBOOK_JS}.context.model.dirty"


def _open(page, lab, name):
    page.goto(lab.url(name))
    page.wait_for_selector(f"{NOTEBOOK} .jp-Cell", timeout=60_000)
    page.wait_for_function(KERNEL_IDLE, timeout=90_000, polling=250)


def _run_all(page):
    """Run > Run All Cells, from the menu bar, as a student does; then wait until every code cell has
    an execution count and the kernel is idle."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
    page.wait_for_function(ALL_RAN, timeout=RUN_ALL_TIMEOUT_MS, polling=200)


def _wait_widgets_settled(page, timeout=20.0):
    """Until no widget output still says "Loading widget..." (each is then a live view or an error)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if page.locator(".jp-OutputArea-output", has_text="Loading widget...").count() == 0:
            break
        time.sleep(0.25)
    time.sleep(1.0)       # the manager gives a missing model 2 s before it says so; leave it time to


def _explorer_cells(name) -> list[int]:
    nb = nbformat.read(str(REPO / "notebooks" / name / f"{name}.ipynb"), as_version=4)
    return [i for i, c in enumerate(nb.cells)
            if c.cell_type == "code" and re.search(r"\b\w+\.\w+_explorer\(", c.source)]


def _screenshots(page, name, stage, explorers, whole=True):
    """The whole notebook, a viewport at a time, and each explorer's cell, into outputs/browser/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in SCREENSHOTS.glob(f"{name}-{stage}-*.png"):
        old.unlink()
    scroller = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-WindowedPanel-outer"
    # the end of the last cell (the scroll height adds JupyterLab's blank space after it)
    height = page.evaluate(f"""() => {{
        const outer = document.querySelector('{scroller}');
        const cells = outer.querySelectorAll('.jp-Cell');
        return cells[cells.length - 1].getBoundingClientRect().bottom - outer.getBoundingClientRect().top
               + outer.scrollTop + 20; }}""")
    view = page.evaluate(f"() => document.querySelector('{scroller}').clientHeight")
    height, view = int(height), int(view)
    tops = list(range(0, max(height - view, 0), max(view - 40, 200))) + [max(height - view, 0)] if whole else []
    for k, top in enumerate(int(t) for t in tops):
        page.evaluate(f"() => document.querySelector('{scroller}').scrollTo(0, {top})")
        time.sleep(0.15)
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{stage}-{k:02d}.png"))
    cells = page.locator(f"{NOTEBOOK} .jp-Cell")
    for i in explorers:
        cells.nth(i).scroll_into_view_if_needed()
        cells.nth(i).screenshot(path=str(SCREENSHOTS / f"{name}-{stage}-explorer-cell{i:02d}.png"))


def _page_text(page) -> str:
    return page.evaluate(f"() => document.querySelector('{NOTEBOOK}').innerText")


# --- the test --------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_in_jupyterlab(name, lab, browser):
    explorers = _explorer_cells(name)
    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    console_errors = []
    page.on("pageerror", lambda error: console_errors.append(str(error)))
    try:
        _open(page, lab, name)
        _run_all(page)
        _wait_widgets_settled(page)

        # every code cell ran, and none failed
        cells = page.evaluate(CELLS)
        code = [(i, c) for i, c in enumerate(cells) if c["type"] == "code"]
        assert code and all(c["count"] for _, c in code), [i for i, c in code if not c["count"]]
        errors = [(i, o["ename"], o["evalue"]) for i, c in code for o in c["outputs"] if o["type"] == "error"]
        assert not errors, errors
        assert page.locator('[data-mime-type="application/vnd.jupyter.error"]').count() == 0
        stderr = [(i, line) for i, c in code for o in c["outputs"] if o["type"] == "stream" and o["name"] == "stderr"
                  for line in (o["text"] or "").splitlines() if not any(p.search(line) for p in KNOWN_STDERR)]
        assert not stderr, stderr

        # every explorer: a static figure (a plain image output) and a live widget with its controls
        dom_cells = page.locator(f"{NOTEBOOK} .jp-Cell")
        assert dom_cells.count() == len(cells)
        for i in explorers:
            cell = dom_cells.nth(i)
            assert cell.locator('.jp-OutputArea-output[data-mime-type="image/png"] img').count() >= 1, i
            assert cell.locator(".jupyter-widgets.widget-slider, .jupyter-widgets .widget-slider").count() >= 1, i
            assert cell.locator(".widget-label").count() >= 1, i
        text = _page_text(page)
        assert "Error displaying widget" not in text and "model not found" not in text

        # each explorer is live: a slider moved with the keyboard redraws the figure under the controls
        for i in explorers:
            cell = dom_cells.nth(i)
            assert cell.locator(".widget-output img").count() == 0, i
            handle = cell.locator(".noUi-handle").first
            at_end = handle.get_attribute("aria-valuenow") == handle.get_attribute("aria-valuemax")
            handle.focus()
            page.keyboard.press("ArrowLeft" if at_end else "ArrowRight")
            cell.locator(".widget-output img").first.wait_for(timeout=60_000)
        page.wait_for_function(KERNEL_IDLE, timeout=60_000, polling=250)
        _screenshots(page, name, "run", explorers)

        # save with Ctrl+S, close, reopen (a new page: the widgets come back from the running kernel)
        page.locator(NOTEBOOK).click(position={"x": 5, "y": 5})
        page.keyboard.press("Control+s")
        page.wait_for_function(f"() => !({DIRTY})()", timeout=30_000)
        saved = nbformat.read(str(lab.root / name / f"{name}.ipynb"), as_version=4)
        assert all(c.get("execution_count") for c in saved.cells if c.cell_type == "code")
        # the only widgets in the saved notebook are the explorers: no progress bar left a widget view behind
        views = [i for i, c in enumerate(saved.cells) if c.cell_type == "code" for o in c.outputs
                 if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
        assert views == explorers, views
        page.evaluate("() => window.jupyterapp.commands.execute('application:close')")
        page.wait_for_function("() => document.querySelectorAll('.jp-NotebookPanel').length === 0", timeout=20_000)
        _open(page, lab, name)
        page.wait_for_selector(f"{NOTEBOOK} .jp-OutputArea-output", timeout=30_000)
        _wait_widgets_settled(page)
        text = _page_text(page)
        assert "Error displaying widget" not in text and "model not found" not in text, name
        bars = text.count("100%|")
        for i in explorers:       # the controls, and the figure they redrew, are back
            cell = page.locator(f"{NOTEBOOK} .jp-Cell").nth(i)
            assert cell.locator(".widget-slider").count() >= 1, i
            assert cell.locator(".widget-output img").count() >= 1, i
        _screenshots(page, name, "reopened", explorers, whole=False)

        # the kernel gone: the static figures and the text progress bars are still in the notebook
        page.goto("about:blank")
        lab.shutdown_kernels()
        _open(page, lab, name)
        page.wait_for_selector(f"{NOTEBOOK} .jp-OutputArea-output", timeout=30_000)
        for i in explorers:
            cell = page.locator(f"{NOTEBOOK} .jp-Cell").nth(i)
            assert cell.locator('.jp-OutputArea-output[data-mime-type="image/png"] img').count() >= 1, i
        assert _page_text(page).count("100%|") == bars
        _wait_widgets_settled(page)
        _screenshots(page, name, "new-kernel", explorers, whole=False)
        lab.shutdown_kernels()
        assert not console_errors, console_errors
    finally:
        page.close()
