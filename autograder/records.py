"""What a grading run keeps on disk: the journal of results (append-only JSON lines), the checks on the place
grades are written to, and atomic writes. Below both the batch (which writes them) and the report and LMS
exports (which read them), so that neither imports the other."""
from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path


class OutputPathError(Exception):
    """The place to write grades to is not usable (said before any grading starts)."""


def check_out_path(out) -> Path:
    out = Path(out)
    if out.is_symlink():
        raise OutputPathError(f"{out} is a symbolic link; name a regular file")
    if out.is_dir():
        raise OutputPathError(f"{out} is a directory; name a file, such as {out / 'grades.csv'}")
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise OutputPathError(f"the folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise OutputPathError(f"cannot write to the folder {parent}")
    return out


class Journal:
    """Append-only JSON lines; the last line for a key wins. A torn last line is ignored."""

    def __init__(self, path: Path, write: bool = True):
        self.path = Path(path)
        self.entries: dict[str, dict] = {}
        if self.path.is_symlink():
            raise OutputPathError(f"{self.path} is a symbolic link")
        if self.path.exists():
            with open(self.path, encoding="utf-8", errors="replace") as f:
                for line in f:
                    try:
                        entry = json.loads(line)
                        self.entries[entry["key"]] = entry
                    except (ValueError, KeyError, TypeError):
                        continue
        self._file = open(self.path, "a", encoding="utf-8") if write else None

    def record(self, entry: dict) -> None:
        self.entries[entry["key"]] = entry
        self._file.write(json.dumps(entry) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def latest_per_notebook(self) -> list[dict]:
        """The last entry of each notebook path, in the order the paths were first graded."""
        latest = {}
        for entry in self.entries.values():
            latest.pop(entry["notebook"], None)
            latest[entry["notebook"]] = entry
        return sorted(latest.values(), key=lambda e: e["notebook"])

    def close(self):
        if self._file:
            self._file.close()


def journal_path(out: Path) -> Path:
    return out.with_name(out.name + ".journal.jsonl")


def atomic_write(target: Path, write) -> None:
    if target.is_symlink() or target.is_dir():
        raise OutputPathError(f"{target} is a symbolic link or a directory")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent if str(target.parent) else ".")
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as f:
            write(f)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def gist_of(feedback: str) -> str:
    """Feedback without the fixture and the numbers, so that the same mistake counts once."""
    return re.sub(r"\s*[\[(].*$", "", feedback).strip()
