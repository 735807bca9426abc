"""The instructor's report in a real browser (headless Debian chromium through Playwright, as
tests/test_browser.py drives it; never `playwright install`): a synthetic class's report opens with no
console error, every figure renders, the student table sorts on a click, and a score links to its
feedback. Screenshots go to outputs/report/.

Under CI (CI=true) it runs or fails, never skips."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from autograder.report import write_report
from test_report import synthetic_entries

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = REPO / "outputs" / "report"


def _requirements_or_skip():
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


def _column(page, index: int) -> list[str]:
    return page.eval_on_selector_all(
        "#student-table tbody tr", f"rows => rows.map(r => r.cells[{index}].textContent.trim())")


def test_report_in_the_browser(tmp_path):
    _requirements_or_skip()
    from playwright.sync_api import sync_playwright
    out = tmp_path / "grades.report.html"
    write_report(synthetic_entries(60), out)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    problems = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                             args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
                    if m.type in ("error", "warning") else None)
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
            page.goto(out.as_uri(), wait_until="load")
            page.screenshot(path=str(SCREENSHOTS / "report-top.png"))
            page.screenshot(path=str(SCREENSHOTS / "report-full.png"), full_page=True)

            # every figure renders, and says what it shows
            images = page.eval_on_selector_all(
                "img", "imgs => imgs.map(i => ({w: i.naturalWidth, h: i.naturalHeight, complete: i.complete, "
                       "alt: i.getAttribute('alt')}))")
            assert len(images) == 2 + 4
            for image in images:
                assert image["complete"] and image["w"] > 0 and image["h"] > 0, image
                assert image["alt"] and len(image["alt"]) > 40
            page.locator("img").nth(2).screenshot(path=str(SCREENSHOTS / "exercise-figure.png"))

            # the table sorts: by total, up then down; by student, back to A-Z
            names = _column(page, 0)
            assert names == sorted(names)
            total = page.locator("#student-table thead th", has_text="total")
            total.locator("button").click()
            totals = [float(v) for v in _column(page, 3)]
            assert totals == sorted(totals) and totals[0] < totals[-1]
            assert total.get_attribute("aria-sort") == "ascending"
            total.locator("button").click()
            totals = [float(v) for v in _column(page, 3)]
            assert totals == sorted(totals, reverse=True)
            assert total.get_attribute("aria-sort") == "descending"
            page.locator("#student-table").screenshot(path=str(SCREENSHOTS / "students-sorted-by-total.png"))
            # a score column: the ungradable notebook ("not graded") sorts below every score
            page.locator("#student-table thead th", has_text="02_weight_transport").locator("button").click()
            column = _column(page, 2)
            assert column[0] == "not graded"
            assert [float(v) for v in column[1:]] == sorted(float(v) for v in column[1:])
            page.locator("#student-table thead th", has_text="student").locator("button").click()
            assert _column(page, 0) == sorted(names)

            # a score links to that notebook's feedback, on the same page
            link = page.locator("#student-table tbody tr").first.locator("td").nth(1).locator("a")
            target = link.get_attribute("href")
            link.click()
            assert page.evaluate("location.hash") == target
            assert page.locator(target).is_visible()
            assert "perturbation.weight_perturbation" in page.locator(target).inner_text()
            page.screenshot(path=str(SCREENSHOTS / "feedback.png"))
        finally:
            browser.close()
    assert not problems, problems
