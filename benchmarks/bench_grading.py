"""Cost of grading a course: CPU-seconds and wall seconds per notebook, and the speedup of 2 Dask
workers over 1, on a mix of 30 notebooks (5 per tutorial: 2 with full marks, 2 blank, 1 with one
wrong answer). Extrapolates to 8,000 notebooks on one 16-core machine. Never part of the tests.

    python benchmarks/bench_grading.py [--workers 1 2] [--repeat 1]
    python benchmarks/bench_grading.py --sandbox-cost     (per exercise, with and without bubblewrap)
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENTS = ("01_perturbation", "02_weight_transport", "03_eqprop", "04_forward_forward", "05_online",
               "06_synthesis")

# appended to the first answer cell: the same function, with its result negated (a wrong answer)
WRONG = '''

import numpy as _np
_right = {name}

def _negate(value):
    if isinstance(value, dict):
        return {{k: _negate(v) for k, v in value.items()}}
    if isinstance(value, (tuple, list)):
        return type(value)(_negate(v) for v in value)
    return -_np.asarray(value) - 1

def {name}(*args, **kwargs):
    return _negate(_right(*args, **kwargs))
'''


def make_course(root: Path, copies: int = 1) -> int:
    """submitted/<student>/<assignment>/<assignment>.ipynb -> the number of notebooks."""
    count = 0
    for assignment in ASSIGNMENTS * copies:
        solution = REPO / "solutions" / assignment / f"{assignment}.ipynb"
        blank = REPO / "notebooks" / assignment / f"{assignment}.ipynb"
        wrong = nbformat.read(str(solution), as_version=4)
        first = next(c for c in wrong.cells if c.metadata.get("course", {}).get("exercise"))
        name = first.source.split("def ", 1)[1].split("(", 1)[0]
        first.source += WRONG.format(name=name)
        for source in [solution, solution, blank, blank, wrong]:
            folder = root / f"student{count}" / assignment
            folder.mkdir(parents=True)
            if isinstance(source, Path):
                shutil.copy(source, folder / f"{assignment}.ipynb")
            else:
                nbformat.write(source, str(folder / f"{assignment}.ipynb"))
            count += 1
    return count


def machine_cpu_seconds() -> float:
    """CPU time used by the whole machine so far (/proc/stat). Sandboxed processes are reaped inside
    their PID namespace, so the usual per-process accounting misses them: measure on a quiet machine."""
    import os
    fields = open("/proc/stat").readline().split()[1:]
    user, nice, system, idle, iowait, irq, softirq = (int(v) for v in fields[:7])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def run(root: Path, out: Path, workers: int) -> tuple[float, float]:
    """One grade-all from scratch -> (wall seconds, machine CPU-seconds meanwhile)."""
    for stale in out.parent.glob("grades*"):
        stale.unlink()
    before = machine_cpu_seconds()
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade-all", str(root), "--out", str(out),
                           "--workers", str(workers)], capture_output=True, text=True, cwd=REPO)
    wall = time.perf_counter() - start
    cpu = machine_cpu_seconds() - before
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-2000:])
    return wall, cpu


SANDBOX_COST = """
import json, sys, time
sys.path.insert(0, "benchmarks")
from bench_grading import machine_cpu_seconds
from autograder.notebook_grading import grade_notebook
from autograder.sandbox import describe
paths = sys.argv[1:] * 3
grade_notebook(paths[0])                     # warm: imports, the redacted package
start, before = time.perf_counter(), machine_cpu_seconds()
count = sum(len(grade_notebook(p)["exercises"]) for p in paths)
print(json.dumps({"exercises": count, "wall": time.perf_counter() - start, "describe": describe(),
                  "cpu": machine_cpu_seconds() - before}))
"""


def sandbox_cost() -> None:
    """Per exercise, grading the four solution notebooks in bubblewrap and without it."""
    import json
    import os
    paths = [str(REPO / "solutions" / a / f"{a}.ipynb") for a in ASSIGNMENTS]
    print(f"{'mode':<12} {'exercises':>9} {'wall s/ex':>10} {'CPU s/ex':>9}")
    for mode, env in (("bubblewrap", {}), ("no sandbox", {"COURSE_GRADER_NO_SANDBOX": "1"})):
        proc = subprocess.run([sys.executable, "-c", SANDBOX_COST, *paths], capture_output=True, text=True,
                              cwd=REPO, env={**os.environ, **env})
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        print(f"{mode:<12} {r['exercises']:>9} {r['wall'] / r['exercises']:>10.3f} "
              f"{r['cpu'] / r['exercises']:>9.3f}   ({r['describe'][:40]})")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--sandbox-cost", action="store_true")
    args = parser.parse_args(argv)
    if args.sandbox_cost:
        return sandbox_cost()
    from autograder.sandbox import describe
    with tempfile.TemporaryDirectory() as tmp:
        small, large = Path(tmp) / "small", Path(tmp) / "large"
        n = make_course(small / "submitted")
        n2 = make_course(large / "submitted", copies=2)
        print(f"{n} notebooks (and {n2}, to separate the per-notebook cost from the start-up); {describe()}")
        print(f"{'workers':>7} {'wall s':>8} {'CPU s':>8} {'wall s/nb':>10} {'CPU s/nb':>9}   "
              f"(per notebook: the {n2 - n} more notebooks' extra cost)")
        walls = {}
        for workers in args.workers:
            runs = {size: [run(root / "submitted", root / "grades.csv", workers) for _ in range(args.repeat)]
                    for size, root in ((n, small), (n2, large))}
            wall = {size: statistics.median(r[0] for r in rs) for size, rs in runs.items()}
            cpu = {size: statistics.median(r[1] for r in rs) for size, rs in runs.items()}
            per_wall, per_cpu = (wall[n2] - wall[n]) / (n2 - n), (cpu[n2] - cpu[n]) / (n2 - n)
            walls[workers] = per_wall
            print(f"{workers:>7} {wall[n]:>8.1f} {cpu[n]:>8.1f} {per_wall:>10.2f} {per_cpu:>9.2f}")
        if 1 in walls and 2 in walls:
            print(f"speedup of 2 workers over 1 (per notebook): {walls[1] / walls[2]:.2f}x")
            print(f"8,000 notebooks on one 16-core machine (16 workers at the 1-worker rate per core): "
                  f"about {8000 * walls[1] / 16 / 60:.0f} min ({walls[1]:.2f} s per notebook per core)")


if __name__ == "__main__":
    main()
