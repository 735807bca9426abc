"""The course secret: where the hidden fixtures that give the marks come from.

Each exercise has public fixtures (fixed, in the code: the inline check and the feedback use them and
may print their expected values) and hidden fixtures, drawn from the course secret, which only the
instructor holds. Marks come from both; feedback on a hidden fixture names the mistake and the
fixture's kind, never a value. A student who learns the public fixtures' answers from feedback gains
nothing, and the same notebook graded with the same secret always gets the same grade.

Where the secret comes from, first found wins:
  ``--secret-file PATH`` (grade, grade-all), ``$COURSE_SECRET_FILE`` (a file), ``$COURSE_SECRET`` (the
  value itself); otherwise the built-in secret, which is public (the inline checks draw their
  practice fixtures from it) and fine for tests and practice, never for marks: grading with it says so
  once, loudly. ``python -m autograder secret FILE`` writes a new random secret (mode 0600).
"""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets as _random
import sys
from dataclasses import dataclass
from pathlib import Path

BUILT_IN = b"course-utils built-in secret: public, for practice and tests only"


class SecretError(Exception):
    """The secret named cannot be used (a one-line reason)."""


@dataclass(frozen=True)
class Secret:
    value: bytes
    source: str                    # where it came from, for the one-line warning and the journal

    @property
    def built_in(self) -> bool:
        return self.value == BUILT_IN

    @property
    def fingerprint(self) -> str:
        """Safe to store: changes with the secret, reveals nothing of it."""
        return hashlib.sha256(b"fingerprint|" + self.value).hexdigest()[:12]

    def seed(self, exercise_id: str) -> int:
        """The seed of an exercise's hidden fixtures."""
        digest = hmac.new(self.value, f"hidden fixtures|{exercise_id}".encode(), hashlib.sha256).digest()
        return int.from_bytes(digest[:16], "little")


PRACTICE = Secret(BUILT_IN, "built-in")


def load(path: str | os.PathLike | None = None) -> Secret:
    """The course secret: ``path``, else $COURSE_SECRET_FILE, else $COURSE_SECRET, else the built-in one."""
    path = path or os.environ.get("COURSE_SECRET_FILE")
    if path:
        try:
            value = Path(path).read_bytes().strip()
        except OSError as err:
            raise SecretError(f"cannot read the course secret {path}: {err.strerror or err}") from None
        if len(value) < 16:
            raise SecretError(f"the course secret in {path} is shorter than 16 bytes; "
                              "make one with `python -m autograder secret FILE`")
        return Secret(value, f"file {path}")
    value = os.environ.get("COURSE_SECRET", "")
    if value:
        if len(value) < 16:
            raise SecretError("COURSE_SECRET is shorter than 16 characters")
        return Secret(value.encode(), "$COURSE_SECRET")
    return PRACTICE


_warned = []


def warn_if_built_in(secret: Secret, stream=None) -> None:
    """Once per process: grading for credit with the built-in secret is grading with public fixtures."""
    if secret.built_in and not _warned:
        _warned.append(True)
        print("autograder: WARNING: grading with the built-in course secret, whose hidden fixtures anyone "
              "with the course code can compute; set COURSE_SECRET_FILE (or --secret-file) before grading "
              "for credit", file=stream or sys.stderr)


def write_new(path) -> Path:
    """A new random secret in ``path`` (readable by its owner only); refuses to overwrite."""
    path = Path(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(_random.token_hex(32) + "\n")
    return path
