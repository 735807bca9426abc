"""Where the course lives: one command writes ``[tool.course]`` in pyproject.toml.

    python -m autograder configure [--repo OWNER/NAME] [--branch BRANCH] [--book-url URL] [--install REQ]

``--repo`` takes ``OWNER/NAME`` or the repository's GitHub address (https or ssh); without it, git's
``origin`` remote, when that is on GitHub. The Colab and Kaggle links, the first cell's install and the
book's issue links all follow from it (``autograder.release.settings_for``); ``--book-url`` is the
book's address once it is published (e.g. ``https://OWNER.github.io/NAME/`` on GitHub Pages), and
``--install`` any other pip requirement for Colab (a wheel's URL). Other lines and comments of
pyproject.toml are kept. Then ``make release`` writes the setting into the student notebooks
(``make configure REPO=OWNER/NAME`` does both).
"""
from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from .release import GITHUB_REPOSITORY, REPO, SETTINGS_TABLE, course_settings, is_placeholder

ADDRESS = re.compile(r"^(?:https?://(?:www\.)?github\.com/|git@github\.com:|ssh://git@github\.com/)"
                     r"(?P<repo>[^/\s]+/[^/\s]+?)(?:\.git)?/?$")


class ConfigureError(Exception):
    """A one-line reason why the setting cannot be written."""


def parse_repository(text: str) -> str:
    """``OWNER/NAME`` from itself or from a GitHub address; ConfigureError for anything else."""
    text = text.strip()
    found = ADDRESS.match(text)
    repository = found.group("repo") if found else text.strip("/")
    if not GITHUB_REPOSITORY.fullmatch(repository) or repository.endswith(".git"):
        raise ConfigureError(f"{text!r} is not a GitHub repository: give OWNER/NAME "
                             "(or https://github.com/OWNER/NAME)")
    return repository


def origin_repository(root: Path = REPO) -> str:
    proc = subprocess.run(["git", "-C", str(root), "remote", "get-url", "origin"], capture_output=True, text=True)
    if proc.returncode != 0 or not proc.stdout.strip():
        raise ConfigureError("this clone has no `origin` remote: give the repository, --repo OWNER/NAME")
    try:
        return parse_repository(proc.stdout.strip())
    except ConfigureError:
        raise ConfigureError(f"origin ({proc.stdout.strip()}) is not on GitHub: give --repo OWNER/NAME") from None


def write_settings(values: dict, drop=(), root: Path = REPO) -> None:
    """Set ``values`` (key -> string) in the [tool.course] table of root/pyproject.toml, and remove the
    keys in ``drop``; every other line stays as it is."""
    path = Path(root) / "pyproject.toml"
    lines = path.read_text().splitlines(keepends=True)
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == SETTINGS_TABLE)
    except StopIteration:
        lines += ["\n", f"{SETTINGS_TABLE}\n"]
        start = len(lines) - 1
    end = next((i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith("[")), len(lines))
    body = lines[start + 1:end]
    key_line = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_-]*)\s*=")
    kept, done = [], set()
    for line in body:
        found = key_line.match(line)
        key = found.group(1) if found else None
        if key in drop:
            continue
        if key in values:
            line, _ = f"{key} = {json.dumps(values[key])}\n", done.add(key)
        kept.append(line)
    last_key = max((i for i, line in enumerate(kept) if key_line.match(line)), default=-1)
    new = [f"{key} = {json.dumps(value)}\n" for key, value in values.items() if key not in done]
    kept[last_key + 1:last_key + 1] = new
    path.write_text("".join(lines[:start + 1] + kept + lines[end:]))


def configure(repository: str | None = None, branch: str | None = None, book_url: str | None = None,
              install: str | None = None, root: Path = REPO) -> dict:
    """Write the setting; returns it as ``course_settings`` reads it back."""
    repository = parse_repository(repository) if repository else origin_repository(root)
    values = {"repository": repository}
    if branch is not None:
        if not re.fullmatch(r"[A-Za-z0-9._/-]+", branch):
            raise ConfigureError(f"{branch!r} is not a branch name")
        values["branch"] = branch
    if book_url is not None:
        if book_url and not re.match(r"^https?://\S+$", book_url):
            raise ConfigureError(f"{book_url!r} is not a web address (https://...)")
        values["book_url"] = book_url
    drop = {"colab_base"}                # follows from the repository now
    if install is not None:
        values["install"] = install
    write_settings(values, drop=drop, root=root)
    settings = course_settings(root)
    assert settings["repository"] == repository and not is_placeholder(settings), settings
    return settings


def main(args) -> int:
    try:
        settings = configure(args.repo, args.branch, args.book_url, args.install)
    except ConfigureError as err:
        print(f"cannot configure: {err}")
        return 1
    print(f"{SETTINGS_TABLE} in pyproject.toml: the course lives at https://github.com/{settings['repository']} "
          f"(branch {settings['branch']}); Colab installs {settings['install']!r}; the book: "
          f"{settings['book_url'] or 'no address yet (--book-url)'}")
    print("next: `make release` (the notebooks' links and first cell), `make book`, then commit and push")
    return 0
