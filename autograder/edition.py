"""The student edition: a wheel of the course package with every exercise's answer withheld.

``python -m autograder student-edition OUT_DIR`` -> ``OUT_DIR/course_utils-<version>-py3-none-any.whl``.

The wheel holds a redacted ``course_utils`` (``autograder.redaction`` with the student message: every
``Exercise.withheld`` function raises ``PermissionError`` naming its exercise, and its source is gone)
and, in place of the real autograder, a one-file ``autograder`` package whose inline checks only say
that they are not available. The real autograder stays out: its exercise modules hold variants that
compute the answers.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from . import redaction

PROJECT_DIR = redaction.PACKAGE_DIR.parent
PACKAGING_FILES = ("pyproject.toml", "README.md", "LICENSE")

INLINE_CHECK_MESSAGE = ("the inline checks compare with the reference answers, which the student "
                        "edition withholds; your instructor's grader checks your answers when you submit")

# The whole autograder of the student edition.
STUDENT_AUTOGRADER = f'''"""The autograder is not part of the student edition of the course package.

The inline checks compare with the reference answers, which the student edition withholds; your
instructor's grader checks your answers when you submit.
"""

_MESSAGE = {INLINE_CHECK_MESSAGE!r}


def check_exercise(exercise_id, func):
    """Not available in the student edition: prints why and returns None."""
    print(f"{{exercise_id}}: not checked here: {{_MESSAGE}}")
    return None


def assert_exercise(exercise_id, func):
    """Not available in the student edition: prints why and returns None."""
    return check_exercise(exercise_id, func)


__all__ = ["assert_exercise", "check_exercise"]
'''


def _packages(root: Path) -> list[str]:
    """Every package (folder with an __init__.py) below ``root``, dotted, sorted."""
    found = []
    for folder, dirs, files in os.walk(root):
        # only into packages: a folder without __init__.py (build/, *.egg-info) holds none
        dirs[:] = sorted(d for d in dirs if (Path(folder) / d / "__init__.py").is_file())
        if Path(folder) != root:
            found.append(".".join(Path(folder).relative_to(root).parts))
    return sorted(found)


_SECTION = re.compile(r"^\[tool\.setuptools\]\s*$", re.M)
_NEXT_SECTION = re.compile(r"^\[", re.M)
_PACKAGES_LIST = re.compile(r"^packages\s*=\s*\[[^\]]*\]", re.M)


def _list_packages(pyproject: Path, packages: list[str]) -> None:
    """If ``[tool.setuptools]`` lists ``packages = [...]``, make it list exactly ``packages``
    (package discovery, ``[tool.setuptools.packages.find]``, is left as it is)."""
    text = pyproject.read_text()
    section = _SECTION.search(text)
    if not section:
        return
    end = _NEXT_SECTION.search(text, section.end())
    end = end.start() if end else len(text)
    body = text[section.end():end]
    listed = "packages = [" + ", ".join(f'"{p}"' for p in packages) + "]"
    new_body, count = _PACKAGES_LIST.subn(listed, body, count=1)
    if count:
        pyproject.write_text(text[:section.end()] + new_body + text[end:])


def _tail(text: str, lines: int = 25) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def build_student_edition(out_dir) -> Path:
    """Build the student edition's wheel into ``out_dir`` (created if missing) -> the wheel's path."""
    from .exercises import EXERCISES

    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="student-edition-") as scratch:
        scratch = Path(scratch)
        source = scratch / "src"
        source.mkdir()
        for name in PACKAGING_FILES:
            shutil.copyfile(PROJECT_DIR / name, source / name)
        redaction.build(source, redaction.withheld_names(EXERCISES.values()),
                        message=redaction.STUDENT_EDITION, autograder_stub=False)
        (source / "autograder").mkdir()
        (source / "autograder" / "__init__.py").write_text(STUDENT_AUTOGRADER)
        _list_packages(source / "pyproject.toml", _packages(source))

        wheels = scratch / "wheels"
        log = scratch / "pip.log"
        command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                   "--no-index", "--no-cache-dir", "--disable-pip-version-check",
                   "-w", str(wheels), str(source)]
        with open(log, "w") as f:
            done = subprocess.run(command, stdout=f, stderr=subprocess.STDOUT, cwd=scratch,
                                  env={**os.environ, "PIP_NO_INPUT": "1"})
        output = log.read_text(errors="replace")
        built = sorted(wheels.glob("course_utils-*-py3-none-any.whl"))
        if done.returncode != 0 or len(built) != 1:
            raise RuntimeError(f"building the student edition failed (pip exit {done.returncode}, "
                               f"wheels: {[p.name for p in built]}):\n{_tail(output)}")
        wheel = out_dir / built[0].name
        shutil.copyfile(built[0], wheel)
    return wheel
