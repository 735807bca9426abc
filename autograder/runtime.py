"""Which third-party packages graded code may import: the students' runtime, never the grader's.

The grader runs in the instructor's environment (nbgrader, Dask, PyTorch, Nengo, pytest, ...). Graded
code sees only the packages a student's notebook kernel needs to run an answer: the course package's
own requirements with its ``jax`` extra, and ipywidgets (``RUNTIME``), with everything they require,
followed through the installed distributions' metadata. An assignment may declare more
(``PACKAGES`` beside its exercises). Everything else installed is absent in the sandbox: its files are
not mounted (``entries``), and an import of it fails with one line (``modules``, for the harness).
"""
from __future__ import annotations

import functools
import importlib.metadata as metadata
import sys
from pathlib import Path

# What a graded answer may import, as requirements: the course's core and JAX, and the widgets a setup
# cell may touch. The test runner (ipytest, pytest) and JupyterLab are the notebook's, not an answer's.
RUNTIME = ("course-utils[jax]", "ipywidgets")
COURSE_DISTRIBUTION = "course-utils"


def _requirement(text: str):
    try:
        from packaging.requirements import Requirement
    except ImportError:  # pragma: no cover - pip always vendors it
        from pip._vendor.packaging.requirements import Requirement
    return Requirement(text)


def _canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


@functools.lru_cache(maxsize=None)
def _installed() -> dict:
    out = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name and _canonical(name) not in out:
            out[_canonical(name)] = dist
    return out


def _course_requirements() -> list[str]:
    """The course package's requirements: from its installed metadata, else from pyproject.toml."""
    dist = _installed().get(COURSE_DISTRIBUTION)
    if dist is not None:
        return list(dist.requires or [])
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib
    project = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())["project"]
    out = list(project.get("dependencies", []))
    for extra, requirements in project.get("optional-dependencies", {}).items():
        out += [f"{r}; extra == '{extra}'" for r in requirements]
    return out


@functools.lru_cache(maxsize=None)
def distributions(extra_packages: tuple = ()) -> frozenset:
    """Canonical names of the installed distributions graded code may use (the closure of RUNTIME
    and ``extra_packages`` over the installed packages' requirements)."""
    installed = _installed()
    todo = [_requirement(r) for r in RUNTIME + tuple(extra_packages)]
    seen, allowed = set(), set()
    while todo:
        requirement = todo.pop()
        name = _canonical(requirement.name)
        key = (name, tuple(sorted(requirement.extras)))
        if key in seen:
            continue
        seen.add(key)
        if name == COURSE_DISTRIBUTION:
            texts = _course_requirements()
        elif name in installed:
            allowed.add(name)
            texts = installed[name].requires or []
        else:
            continue
        extras = sorted(requirement.extras) or [""]
        for text in texts:
            sub = _requirement(text)
            if sub.marker is None or any(sub.marker.evaluate({"extra": e}) for e in extras):
                todo.append(sub)
    return frozenset(allowed)


def _site_dirs() -> list[Path]:
    return [Path(p).resolve() for p in sys.path if p and Path(p).name in ("site-packages", "dist-packages")
            and Path(p).is_dir()]


@functools.lru_cache(maxsize=None)
def entries(extra_packages: tuple = ()) -> dict[Path, list[Path]]:
    """{site-packages dir: [its top-level files and folders that graded code may see]}.

    A folder shared with a package that is not offered (a namespace package) is opened one level down,
    to the allowed distributions' own entries."""
    allowed = distributions(extra_packages)
    tops: dict[tuple, set] = {}          # (site, top) -> distribution names
    seconds: dict[tuple, dict] = {}      # (site, top) -> {second-level name: distribution names}
    for name, dist in _installed().items():
        site = Path(str(dist.locate_file(""))).resolve()
        record = dist.read_text("RECORD") or dist.read_text("installed-files.txt") or ""
        for line in record.splitlines():
            parts = line.split(",", 1)[0].split("/", 2)
            if not parts[0] or parts[0] == "..":
                continue
            tops.setdefault((site, parts[0]), set()).add(name)
            if len(parts) > 1:
                seconds.setdefault((site, parts[0]), {}).setdefault(parts[1], set()).add(name)
    out = {site: [] for site in _site_dirs()}
    for (site, top), names in sorted(tops.items()):
        path = site / top
        if site not in out or path.suffix == ".pth" or not path.exists():
            continue
        if names <= allowed:
            out[site].append(path)
        elif names & allowed and path.is_dir():   # a namespace folder shared with a package not offered
            out[site] += [path / second for second, who in sorted(seconds[(site, top)].items())
                          if who <= allowed and (path / second).exists()]
    return out


@functools.lru_cache(maxsize=None)
def modules(extra_packages: tuple = ()) -> frozenset:
    """Top-level module names graded code may import, besides the standard library and the course."""
    names = set()
    for site, paths in entries(extra_packages).items():
        for path in paths:
            name = path.name
            if name.endswith((".dist-info", ".egg-info", ".data")) or name == "__pycache__":
                continue
            names.add(name.split(".")[0])
    return frozenset(names)


def describe(extra_packages: tuple = ()) -> str:
    return ", ".join(sorted(distributions(extra_packages)))
