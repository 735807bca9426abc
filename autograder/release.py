"""notebooks/ from solutions/: nbgrader's generate_assignment, one assignment per tutorial folder.

solutions/NN_name/NN_name.ipynb (instructor source: solutions, hidden tests) ->
notebooks/NN_name/NN_name.ipynb (student version: solution bodies replaced, grade cells locked).

Where the course lives is set once, in pyproject.toml (``python -m autograder configure --repo
OWNER/NAME`` writes it)::

    [tool.course]
    repository = "OWNER/REPO"    # on GitHub: the Colab and Kaggle links, the install, the book's issue link
    branch = "main"
    book_url = ""                # where the book is published, once it is
    # install = "..."            # optional: what Colab pip-installs, when not the repository (a wheel URL...)

``install`` defaults to ``course-utils @ git+https://github.com/{repository}@{branch}`` and the Colab
links to ``https://colab.research.google.com/github/{repository}/blob/{branch}/notebooks/NN/NN.ipynb``
(an explicit ``colab_base`` still wins, as before).

Example answers to the Think! questions are markdown cells marked ``{"course": {"role":
"example-answer"}}`` in solutions/ (nbgrader has no ungraded markdown solution cell, so they are not
nbgrader cells). The student version gets an empty answer cell in their place: the answers never reach
students, as solutions do not.

Where the course installs from is stamped into every student notebook here: the first code cell's
``COURSE_INSTALL = ...`` line gets ``install``, and "Open in Colab" and "Open in Kaggle" links head the
notebook. In solutions/ that line holds a marker; nothing else in any notebook names the repository.

nbgrader's ``--force`` deletes the released folder before it regenerates it, and a failure then
leaves nothing. So each assignment is generated into a scratch course first, and the released
notebooks are replaced only once that has succeeded.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
SETTINGS_TABLE = "[tool.course]"
INSTALL_LINE = re.compile(r"^COURSE_INSTALL = .*$", re.M)
COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"
COLAB_CELL_ID = "open-in-colab"
PLACEHOLDER = "OWNER/REPO"


GITHUB_REPOSITORY = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}")
KAGGLE_BADGE = "https://kaggle.com/static/images/open-in-kaggle.svg"


def settings_for(repository: str, branch: str = "main", book_url: str = "", install: str = "",
                 colab_base: str = "") -> dict:
    """Every setting, from the repository (``OWNER/NAME`` on GitHub) and what overrides it."""
    repository, branch = repository.strip().strip("/"), (branch or "main").strip()
    return {"repository": repository, "branch": branch, "book_url": (book_url or "").strip(),
            "install": (install or "").strip() or f"course-utils @ git+https://github.com/{repository}@{branch}",
            "colab_base": ((colab_base or "").strip()
                           or f"https://colab.research.google.com/github/{repository}/blob/{branch}").rstrip("/")}


def course_settings(root: Path = REPO) -> dict:
    """``[tool.course]`` of root/pyproject.toml, completed: ``repository``, ``branch``, ``book_url``,
    ``install`` (what Colab pip-installs) and ``colab_base``."""
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib
    path = Path(root) / "pyproject.toml"
    table = tomllib.loads(path.read_text()).get("tool", {}).get("course", {})
    text = {key: str(table.get(key, "")).strip() for key in ("repository", "branch", "book_url", "install",
                                                               "colab_base")}
    if not text["repository"]:        # the older form: install and colab_base, both given
        missing = [key for key in ("install", "colab_base") if not text[key]]
        if missing:
            raise RuntimeError(f"{path}: {SETTINGS_TABLE} needs `repository` (or {' and '.join(missing)}): run "
                               "`python -m autograder configure --repo OWNER/NAME`")
        found = re.search(r"/github/([^/]+/[^/]+)/blob/([^/]+)", text["colab_base"])
        text["repository"], text["branch"] = (found.group(1), found.group(2)) if found else ("", text["branch"])
    return settings_for(**text)


def is_placeholder(settings: dict) -> bool:
    return PLACEHOLDER in settings["repository"] or not GITHUB_REPOSITORY.fullmatch(settings["repository"])


def colab_url(name: str, settings: dict) -> str:
    return f"{settings['colab_base']}/notebooks/{name}/{name}.ipynb"


def course_urls(name: str, settings: dict) -> dict:
    """The addresses of one tutorial: ``colab``, ``kaggle`` (Kaggle imports the notebook from GitHub),
    ``github`` (the student notebook there), and ``issue`` (a new issue about it) and ``book`` (its
    page) when the repository and the book's address are set."""
    github = f"https://github.com/{settings['repository']}/blob/{settings['branch']}/notebooks/{name}/{name}.ipynb"
    urls = {"colab": colab_url(name, settings), "kaggle": f"https://kaggle.com/kernels/welcome?src={github}",
            "github": github}
    if not is_placeholder(settings):
        title = f"Tutorial {name}: "
        urls["issue"] = (f"https://github.com/{settings['repository']}/issues/new?title="
                         + title.replace(" ", "%20").replace(":", "%3A"))
    if settings.get("book_url"):
        urls["book"] = f"{settings['book_url'].rstrip('/')}/{name}.html"
    return urls


def stamp(nb, name: str, settings: dict):
    """Write the one setting into a generated notebook (in place; idempotent): the first code cell's
    ``COURSE_INSTALL = ...`` line, and an "Open in Colab" link as the first cell."""
    first = next((c for c in nb.cells if c.cell_type == "code"), None)
    if first is None or not INSTALL_LINE.search(first.source):
        raise RuntimeError(f"{name}: the first code cell has no `COURSE_INSTALL = ...` line to stamp")
    line = f"COURSE_INSTALL = {json.dumps(settings['install'])}"
    first.source = INSTALL_LINE.sub(lambda _: line, first.source, count=1)
    urls = course_urls(name, settings)
    link = f"[![Open In Colab]({COLAB_BADGE})]({urls['colab']}) [![Open in Kaggle]({KAGGLE_BADGE})]({urls['kaggle']})"
    if urls.get("book"):
        link += f" [Read it online]({urls['book']})"
    cell = next((c for c in nb.cells if c.get("id") == COLAB_CELL_ID), None)
    if cell is None:
        cell = nbformat.v4.new_markdown_cell(link, id=COLAB_CELL_ID)
        nb.cells.insert(0, cell)
    cell.source = link
    cell.metadata = {"course": {"role": "colab-link"}}
    return nb


EXAMPLE_ANSWER = "example-answer"
ANSWER_PROMPT = "**Your answer.** *(Double-click to write it here.)*"


def is_example_answer(cell) -> bool:
    return cell.get("cell_type") == "markdown" and \
        cell.get("metadata", {}).get("course", {}).get("role") == EXAMPLE_ANSWER


def hide_example_answers(nb):
    """Each example answer becomes an empty answer cell for the student (in place; idempotent)."""
    for cell in nb.cells:
        if is_example_answer(cell):
            cell.source = ANSWER_PROMPT
            cell.metadata = {"course": {"role": "student-answer"}}
    return nb


def assignments(root: Path = REPO) -> list[str]:
    return sorted(p.name for p in (root / "solutions").iterdir() if p.is_dir() and p.name[:2].isdigit())


def release(names=None, root: Path = REPO) -> list[str]:
    """Regenerate the student notebooks of ``names`` (default: every assignment) under root/notebooks."""
    root = Path(root).resolve()
    names = list(names or assignments(root))
    (root / ".cache").mkdir(exist_ok=True)          # the course's gradebook lives there
    settings = course_settings(root if (root / "pyproject.toml").is_file() else REPO)
    if is_placeholder(settings):
        print(f"note: {SETTINGS_TABLE} in pyproject.toml still names {PLACEHOLDER}: before publishing, run "
              "`python -m autograder configure --repo OWNER/NAME` (or `make configure REPO=OWNER/NAME`)",
              file=sys.stderr)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    for name in names:
        with tempfile.TemporaryDirectory(prefix="course-release-") as scratch:
            scratch = Path(scratch)
            shutil.copytree(root / "solutions" / name, scratch / "solutions" / name)
            # the course's own gradebook: autograde finds the released assignment there
            cmd = [sys.executable, "-m", "nbgrader", "generate_assignment", name, "--force",
                   f"--CourseDirectory.root={scratch}",
                   f"--CourseDirectory.db_url=sqlite:///{root}/.cache/gradebook.db"]
            proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
            generated = scratch / "notebooks" / name
            if proc.returncode != 0 or not generated.is_dir():
                tail = "\n".join(proc.stderr.strip().splitlines()[-5:])
                raise RuntimeError(f"nbgrader generate_assignment {name} failed (notebooks/{name} is "
                                   f"unchanged):\n{tail}")
            target = root / "notebooks" / name
            staged = root / "notebooks" / f".{name}.new"
            shutil.rmtree(staged, ignore_errors=True)
            shutil.copytree(generated, staged)
            for path in staged.glob("*.ipynb"):
                nb = nbformat.read(str(path), as_version=nbformat.NO_CONVERT)
                nbformat.write(stamp(hide_example_answers(nb), path.stem, settings), str(path))
            shutil.rmtree(target, ignore_errors=True)
            staged.rename(target)
    return names
