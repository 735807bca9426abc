"""Wall time of a notebook run headless, first run (empty JAX compilation cache) and second run (the cache the
first one filled), several times, with the load average before each run.

Each round gives the notebook a fresh, empty course cache folder (COURSE_DATA_DIR), so both runs use the
course's own compilation cache (course_utils.config.enable_compilation_cache, in COURSE_DATA_DIR/jax-cache),
as a student gets it; a JAX_COMPILATION_CACHE_DIR of the caller's is removed. Each run also prints how many
compiled programs it wrote to the cache: a second run that compiles nothing the first one compiled writes 0.

    python benchmarks/time_notebook.py solutions/06_synthesis/06_synthesis.ipynb --mode full --rounds 3
    python benchmarks/time_notebook.py solutions/06_synthesis/06_synthesis.ipynb --mode fast --rounds 3

Run it with nothing else on the machine; it prints one line per run and the medians.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run(notebook: Path, mode: str, course_dir: str) -> tuple[float, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("JAX_COMPILATION_CACHE_DIR", "COURSE_JAX_CACHE", "NBGRADER_EXECUTION", "COURSE_FAST")}
    env["COURSE_DATA_DIR"] = course_dir
    if mode == "fast":
        env["COURSE_FAST"] = "1"
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3]) if Path("/proc/loadavg").exists() else "?"
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
                        "--ExecutePreprocessor.timeout=1800", "--output-dir", out, str(notebook)],
                       env=env, check=True, capture_output=True)
        return time.perf_counter() - start, load


def programs(course_dir: str) -> int:
    """The number of compiled programs in the course's JAX cache (one ``<key>-cache`` file each)."""
    return len(list((Path(course_dir) / "jax-cache").glob("*-cache")))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--mode", choices=["fast", "full"], default="full")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    first, second = [], []
    for i in range(args.rounds):
        with tempfile.TemporaryDirectory() as course_dir:
            for kind, store in (("first", first), ("second", second)):
                before = programs(course_dir)
                seconds, load = run(args.notebook, args.mode, course_dir)
                store.append(seconds)
                print(f"round {i + 1} {kind:<6} run: {seconds:6.1f} s   (load average before: {load}; "
                      f"new cache entries: {programs(course_dir) - before})", flush=True)
    print(f"{args.mode} mode: first run median {statistics.median(first):.1f} s, "
          f"second run median {statistics.median(second):.1f} s, "
          f"ratio of medians {statistics.median(second) / statistics.median(first):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
