"""notebooks/ from solutions/: nbgrader's generate_assignment, one assignment per tutorial folder.

solutions/NN_name/NN_name.ipynb (instructor source: solutions, hidden tests) ->
notebooks/NN_name/NN_name.ipynb (student version: solution bodies replaced, grade cells locked).
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def assignments(root: Path = REPO) -> list[str]:
    return sorted(p.name for p in (root / "solutions").iterdir() if p.is_dir() and p.name[:2].isdigit())


def release(names=None, root: Path = REPO) -> list[str]:
    """Regenerate the student notebooks of ``names`` (default: every assignment) under root/notebooks."""
    root = Path(root).resolve()
    names = list(names or assignments(root))
    (root / ".cache").mkdir(exist_ok=True)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    for name in names:
        cmd = [sys.executable, "-m", "nbgrader", "generate_assignment", name, "--force",
               f"--CourseDirectory.root={root}",
               f"--CourseDirectory.db_url=sqlite:///{root}/.cache/gradebook.db"]
        proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            tail = "\n".join(proc.stderr.strip().splitlines()[-5:])
            raise RuntimeError(f"nbgrader generate_assignment {name} failed:\n{tail}")
    return names
