"""Run-time settings shared by the notebooks, the runner and the tests.

Fast mode (few samples, few epochs) is chosen by the environment: ``COURSE_FAST=1``, or nbgrader's
``NBGRADER_EXECUTION`` (set while it autogrades). Full mode is what a student gets by default.

The course's cache folder (``cache_dir()``: ``$COURSE_DATA_DIR``, else ``~/.cache/course_utils``) holds
full MNIST, tutorial 06's full study and JAX's compiled programs (``enable_compilation_cache()``).
"""
import os
from pathlib import Path

OFF = ("0", "false", "no", "off")


def fast_mode() -> bool:
    """True when notebooks should run their quick version (CI, autograding)."""
    if os.environ.get("NBGRADER_EXECUTION"):
        return True
    return os.environ.get("COURSE_FAST", "").strip().lower() not in ("", "0", "false", "no")


def pick(full, fast):
    """Return ``fast`` in fast mode and ``full`` otherwise: ``epochs = pick(full=10, fast=1)``."""
    return fast if fast_mode() else full


def cache_dir() -> Path:
    """The course's cache folder: ``$COURSE_DATA_DIR`` if set, else ``~/.cache/course_utils``."""
    return Path(os.environ.get("COURSE_DATA_DIR") or Path.home() / ".cache" / "course_utils")


# --- JAX's persistent compilation cache ------------------------------------------------------------------
JAX_CACHE_FOLDER = "jax-cache"      # below cache_dir()
_jax_cache: list = []               # [the folder or None] once enable_compilation_cache() has decided


def enable_compilation_cache() -> Path | None:
    """Point JAX's persistent compilation cache at the course's cache folder (``jax-cache/``), so that a
    second run of a notebook, or the next notebook, loads the programs compiled before instead of compiling
    them again. Every program is kept, however quickly it compiled (the whole course's programs take a
    few MB). JAX's cache has no size limit here: its limit (``jax_compilation_cache_max_size``) needs the
    ``filelock`` package and fails on entries written without it, so a limit would depend on what else is
    installed.

    ``course_utils.jax`` calls it when first imported (before the course compiles anything); it decides
    once per process. It leaves JAX alone, and returns None, when
    - the code runs under nbgrader or the grader's sandbox (``NBGRADER_EXECUTION``): a cache shared between
      gradings would let one submission's compiled program stand in for another's;
    - ``COURSE_JAX_CACHE=0`` (the opt-out);
    - the user chose a cache already (``JAX_COMPILATION_CACHE_DIR``, or ``jax_compilation_cache_dir`` set
      before): theirs is kept;
    - the folder cannot be made or written (read-only or missing home), or others may write to it (JAX runs
      what the cache holds, so it must be the user's own): the course then runs without a cache, silently.

    Returns:
        The cache folder, or None when JAX's cache was left as it was.
    """
    if not _jax_cache:
        _jax_cache.append(_configure_jax_cache())
    return _jax_cache[0]


def _configure_jax_cache() -> Path | None:
    if os.environ.get("NBGRADER_EXECUTION"):
        return None
    if os.environ.get("COURSE_JAX_CACHE", "").strip().lower() in OFF:
        return None
    if os.environ.get("JAX_COMPILATION_CACHE_DIR"):
        return None
    import jax
    config = jax.config
    try:
        if getattr(config, "jax_compilation_cache_dir", None):
            return None
        folder = _own_writable_folder(cache_dir() / JAX_CACHE_FOLDER)
        if folder is None:
            return None
        config.update("jax_compilation_cache_dir", str(folder))
    except Exception:         # an unusual home or JAX: run without a cache rather than fail an import
        return None
    # Every program is cached, however quickly it compiled (JAX's default keeps only those that took a
    # second or more: most of the course's take less), unless the user set the minimum (JAX 0.7.2, Colab's,
    # and later know the name; an older JAX keeps its default).
    if "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS" not in os.environ:
        try:
            config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
        except Exception:
            pass
    return folder


def _own_writable_folder(folder: Path) -> Path | None:
    """``folder``, made if missing (private to this user), when this process can write to it and no other
    user can; else None."""
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        folder.mkdir(mode=0o700, exist_ok=True)
        if hasattr(os, "getuid"):
            info = folder.stat()
            if info.st_uid != os.getuid() or info.st_mode & 0o022:
                return None
        import tempfile
        with tempfile.TemporaryFile(dir=folder):
            pass
    except (OSError, RuntimeError):    # RuntimeError: Path.home() without a home
        return None
    return folder
