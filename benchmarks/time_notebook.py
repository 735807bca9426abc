"""Wall time of a notebook run headless, first run (empty JAX compilation cache) and second run (the cache the
first one filled), several times, with the load average before each run.

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


def run(notebook: Path, mode: str, cache: str) -> tuple[float, str]:
    env = {**os.environ, "JAX_COMPILATION_CACHE_DIR": cache}
    env.pop("COURSE_FAST", None)
    if mode == "fast":
        env["COURSE_FAST"] = "1"
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3]) if Path("/proc/loadavg").exists() else "?"
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
                        "--ExecutePreprocessor.timeout=1800", "--output-dir", out, str(notebook)],
                       env=env, check=True, capture_output=True)
        return time.perf_counter() - start, load


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--mode", choices=["fast", "full"], default="full")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    first, second = [], []
    for i in range(args.rounds):
        with tempfile.TemporaryDirectory() as cache:
            for kind, store in (("first", first), ("second", second)):
                seconds, load = run(args.notebook, args.mode, cache)
                store.append(seconds)
                print(f"round {i + 1} {kind:<6} run: {seconds:6.1f} s   (load average before: {load})", flush=True)
    print(f"{args.mode} mode: first run median {statistics.median(first):.1f} s, "
          f"second run median {statistics.median(second):.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
