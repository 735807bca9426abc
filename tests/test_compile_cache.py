"""The course's persistent JAX compilation cache (issue 19; course_utils.config.enable_compilation_cache).

Each case runs a fresh Python process (the cache is decided once per process, and the test suite's own
JAX_COMPILATION_CACHE_DIR is removed from its environment) that imports course_utils.jax and calls one
small jitted course function (course_utils.jax.mlp.predict), then looks at the folders:
- by default, entries appear in $COURSE_DATA_DIR/jax-cache, and a second process compiles nothing that
  the first one compiled (every program is a cache hit: no new entry);
- under the grader (NBGRADER_EXECUTION), with COURSE_JAX_CACHE=0, or with a cache of the user's own
  (JAX_COMPILATION_CACHE_DIR, or jax_compilation_cache_dir set before), nothing is written to the course
  folder (and the user's own folder is the one JAX fills);
- a read-only course folder, a course folder below a file, or a home below a file: the function still
  runs, nothing is cached, nothing is printed.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

PROBE = r"""
import json, sys
import jax
if len(sys.argv) > 1:                       # a cache of the user's own, chosen before the course's import
    jax.config.update("jax_compilation_cache_dir", sys.argv[1])
import jax.numpy as jnp
from course_utils.config import enable_compilation_cache
from course_utils.jax import mlp

params = mlp.init_mlp(jax.random.PRNGKey(0), (6, 5, 3))
y_hat = mlp.predict(params, jnp.ones((2, 6)))
print(json.dumps({"predicted": [int(v) for v in y_hat], "course_cache": str(enable_compilation_cache()),
                  "jax_cache": jax.config.jax_compilation_cache_dir}))
"""
CACHE_SETTINGS = ("JAX_COMPILATION_CACHE_DIR", "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS",
                  "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "JAX_COMPILATION_CACHE_MAX_SIZE",
                  "JAX_ENABLE_COMPILATION_CACHE", "NBGRADER_EXECUTION", "COURSE_JAX_CACHE", "COURSE_DATA_DIR")


def run_probe(course_dir, *, env=None, argv=(), prefix=()):
    """Run PROBE in a fresh process with the course folder ``course_dir`` -> (its JSON line, stderr)."""
    base = {k: v for k, v in os.environ.items() if k not in CACHE_SETTINGS}
    base.update({"JAX_PLATFORMS": "cpu", "PYTHONPATH": str(REPO)})
    if course_dir is not None:
        base["COURSE_DATA_DIR"] = str(course_dir)
    base.update(env or {})
    done = subprocess.run([*prefix, sys.executable, "-c", PROBE, *map(str, argv)], env=base, cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "compilation cache" not in done.stderr.lower(), done.stderr[-3000:]    # no cache warnings
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


def entries(folder: Path) -> set:
    """The compiled programs in a JAX cache folder (one ``<key>-cache`` file each)."""
    return {p.name for p in folder.glob("*-cache")} if folder.is_dir() else set()


def test_the_course_caches_what_it_compiles_and_a_second_run_compiles_nothing_again(tmp_path):
    first, _ = run_probe(tmp_path)
    folder = tmp_path / "jax-cache"
    assert first["course_cache"] == first["jax_cache"] == str(folder)
    written = entries(folder)
    assert written, f"nothing cached in {folder}: {sorted(os.listdir(folder))}"
    assert folder.stat().st_mode & 0o077 == 0          # the user's own: JAX runs what the cache holds
    second, _ = run_probe(tmp_path)
    assert second["predicted"] == first["predicted"]
    assert entries(folder) == written, "the second run compiled (and cached) a program the first one had cached"


@pytest.mark.parametrize("env", [{"NBGRADER_EXECUTION": "autograde"}, {"COURSE_JAX_CACHE": "0"}],
                         ids=["grader", "opt-out"])
def test_no_course_cache_under_the_grader_or_when_opted_out(tmp_path, env):
    result, _ = run_probe(tmp_path, env=env)
    assert result["course_cache"] == "None" and result["jax_cache"] is None
    assert not (tmp_path / "jax-cache").exists()


@pytest.mark.parametrize("how", ["environment", "jax.config"])
def test_a_cache_of_the_users_own_is_kept(tmp_path, how):
    course, own = tmp_path / "course", tmp_path / "own"
    if how == "environment":
        result, _ = run_probe(course, env={"JAX_COMPILATION_CACHE_DIR": str(own)})
    else:
        result, _ = run_probe(course, argv=[own])
    assert result["course_cache"] == "None" and result["jax_cache"] == str(own)
    assert not (course / "jax-cache").exists()
    assert own.is_dir()     # JAX opened the user's folder (it may hold nothing: the probe's programs compile
    #                         in well under JAX's default 1 s minimum, which the user's own setting keeps)


def read_only(folder: Path) -> list:
    """A command prefix under which ``folder`` is read-only (bubblewrap as root, who may write anywhere)."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        return []
    if shutil.which("bwrap") is None:
        pytest.skip("as root a read-only folder needs bubblewrap (apt-get install bubblewrap)")
    return ["bwrap", "--dev-bind", "/", "/", "--ro-bind", str(folder), str(folder)]


@pytest.mark.parametrize("existing", [False, True], ids=["course-folder", "jax-cache-folder"])
def test_a_read_only_cache_folder_runs_without_a_cache(tmp_path, existing):
    course = tmp_path / "course"
    course.mkdir()
    if existing:
        (course / "jax-cache").mkdir(mode=0o700)
    prefix = read_only(course)
    try:
        result, _ = run_probe(course, prefix=prefix)
    finally:
        course.chmod(0o755)
    assert result["course_cache"] == "None" and result["jax_cache"] is None
    assert entries(course / "jax-cache") == set()


@pytest.mark.parametrize("where", ["COURSE_DATA_DIR", "HOME"])
def test_an_unusable_home_runs_without_a_cache(tmp_path, where):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    if where == "HOME":
        result, _ = run_probe(None, env={"HOME": str(blocker / "home")})
    else:
        result, _ = run_probe(blocker / "course")
    assert result["course_cache"] == "None" and result["jax_cache"] is None


def test_a_folder_others_may_write_to_is_not_used(tmp_path):
    folder = tmp_path / "jax-cache"
    folder.mkdir()
    folder.chmod(0o777)
    result, _ = run_probe(tmp_path)
    assert result["course_cache"] == "None" and result["jax_cache"] is None
    assert entries(folder) == set()
