"""Seed sweeps: S seeds trained as one program against S runs one after the other, per rule.

    python benchmarks/bench_seeds.py [--seeds 8] [--epochs 3] [--rules NAME ...] [--devices N]
                                     [--data offline|mnist] [--json out.json]

Three ways to train the same S networks (the same keys, so the same results to float32 rounding):
  sequential  S runs of ``train(rule, seed=s)``, one after the other (JAX as every single run uses it);
  vmap        ``train(rule, seeds=S)`` on one device: the seeds run as the rule's ``sweep`` says, the
              epoch function vmapped over them or (sweep="map") mapped over them in one program;
  sharded     the same program with the seed axis split across N host devices
              (``--xla_force_host_platform_device_count=N``, default one per core). On a GPU machine
              JAX sees one device and this column equals vmap.
Each way runs in its own process, because XLA's device count is fixed when JAX starts. Every figure is
the median over epochs of seconds per epoch, compilation excluded; the sequential figure is the sum of
the S runs' medians. Throughput ratio = sequential / sweep. Never part of the test suite.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def worker(mode: str, rules: list[str], seeds: int, epochs: int, data_source: str, devices: int) -> dict:
    """Run one way for every rule in this process; return {rule: seconds per epoch}."""
    from course_utils.training import train, use_host_devices
    if mode == "sharded":
        use_host_devices(devices)
    import jax

    from course_utils.data import load_mnist
    data = load_mnist(data_source)
    out = {"devices": len(jax.devices()), "platform": jax.devices()[0].platform,
           "device_kind": jax.devices()[0].device_kind, "jax": jax.__version__, "rules": {}}
    for rule in rules:
        if mode == "sequential":
            runs = [train(rule, data, seed=s, epochs=epochs, progress=False, eval_every=10**9)
                    for s in range(seeds)]
            row = {"seconds_per_epoch": sum(r.seconds_per_epoch for r in runs),
                   "one_run": runs[0].seconds_per_epoch,
                   "test_accuracy_per_seed": [r.final["test_accuracy"] for r in runs],
                   "batch_size": runs[0].config["batch_size"]}
        else:
            r = train(rule, data, seeds=seeds, epochs=epochs, progress=False, eval_every=10**9)
            row = {"seconds_per_epoch": r.seconds_per_epoch, "compile_seconds": r.compile_seconds,
                   "test_accuracy_per_seed": r.final["test_accuracy_per_seed"]}
        out["rules"][rule] = row
        print(f"  {mode:<10} {rule:<26} {row['seconds_per_epoch']:.3f} s/epoch", file=sys.stderr, flush=True)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seeds", type=int, default=8)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--rules", nargs="*")
    p.add_argument("--data", choices=["offline", "mnist"], default="offline")
    p.add_argument("--devices", type=int, default=os.cpu_count() or 1,
                   help="host devices for the sharded sweep (default: one per core)")
    p.add_argument("--modes", nargs="*", default=["sequential", "vmap", "sharded"])
    p.add_argument("--json")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.rules is None:
        from course_utils.registry import all_rules
        args.rules = list(all_rules("classifier"))
    if args.worker:
        print(json.dumps(worker(args.worker, args.rules, args.seeds, args.epochs, args.data, args.devices)))
        return 0

    results = {}
    for mode in args.modes:
        env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
        proc = subprocess.run([sys.executable, __file__, "--worker", mode, "--seeds", str(args.seeds),
                               "--epochs", str(args.epochs), "--data", args.data, "--devices", str(args.devices),
                               "--rules", *args.rules], env=env, stdout=subprocess.PIPE, text=True)
        if proc.returncode:
            print(f"error: the {mode} worker failed (exit {proc.returncode})", file=sys.stderr)
            return 1
        results[mode] = json.loads(proc.stdout.strip().splitlines()[-1])

    first = next(iter(results.values()))
    print(f"\nS = {args.seeds} seeds, {args.epochs} epochs, {args.data} digits; "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, JAX {first['jax']} on "
          f"{first['platform']} ({first['device_kind']}); sharded over "
          f"{results.get('sharded', first)['devices']} device(s)")
    header = f"{'rule':<28}{'batch':>6}{'1 run':>8}" + "".join(f"{m + ' s/ep':>16}" for m in args.modes) + \
        "".join(f"{m + ' gain':>14}" for m in args.modes if m != "sequential")
    print(header)
    rows = []
    for rule in args.rules:
        seq = results.get("sequential", {}).get("rules", {}).get(rule)
        row = {"rule": rule, **{m: results[m]["rules"][rule]["seconds_per_epoch"] for m in args.modes}}
        line = f"{rule:<28}{(seq or {}).get('batch_size', '-'):>6}" + \
            (f"{seq['one_run']:>8.3f}" if seq else f"{'-':>8}")
        line += "".join(f"{row[m]:>16.3f}" for m in args.modes)
        for m in args.modes:
            if m != "sequential" and seq:
                row[f"{m}_gain"] = row["sequential"] / row[m]
                line += f"{row[f'{m}_gain']:>13.2f}x"
        rows.append(row)
        print(line)
    if args.json:
        Path(args.json).write_text(json.dumps({"settings": vars(args), "results": results, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
