"""Time every registered rule: seconds per epoch of the NumPy reference and of the JAX version.

    python benchmarks/bench_rules.py [--rules NAME ...] [--data offline|mnist]
                                     [--numpy-epochs 3] [--jax-epochs 5] [--json out.json]

Each figure is the median over epochs of one run (JAX compilation excluded and reported apart), all
measured in one process, so that ratios compare like with like. Settings are each rule's defaults.
Never part of the test suite.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv=None) -> int:
    import jax

    from course_utils.data import load_mnist
    from course_utils.registry import all_rules
    from course_utils.training import train

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rules", nargs="*")
    p.add_argument("--data", choices=["offline", "mnist"], default="offline")
    p.add_argument("--numpy-epochs", type=int, default=3)
    p.add_argument("--jax-epochs", type=int, default=5)
    p.add_argument("--skip-numpy", action="store_true")
    p.add_argument("--json")
    args = p.parse_args(argv)
    data = load_mnist(args.data)
    names = args.rules or list(all_rules("classifier"))
    rows = []
    for name in names:
        row = {"rule": name}
        if not args.skip_numpy:
            r = train(name, data, backend="numpy", epochs=args.numpy_epochs, progress=False, eval_every=10**9)
            row["numpy_s_per_epoch"] = r.seconds_per_epoch
        r = train(name, data, backend="jax", epochs=args.jax_epochs, progress=False, eval_every=10**9)
        row.update(jax_s_per_epoch=r.seconds_per_epoch, jax_compile_s=r.compile_seconds,
                   batch_size=r.config["batch_size"])
        rows.append(row)
        print(f"  {name}: {row}", file=sys.stderr, flush=True)
    base = next((r["jax_s_per_epoch"] for r in rows if r["rule"] == "backprop"), None)
    device = jax.devices()[0]
    print(f"\n{len(data.x_train)} training digits ({data.source}); {platform.processor() or platform.machine()}, "
          f"JAX {jax.__version__} on {device.platform} ({device.device_kind})")
    print(f"{'rule':<28}{'batch':>6}{'numpy s/ep':>12}{'jax s/ep':>10}{'numpy/jax':>11}{'jax/backprop':>14}{'compile s':>11}")
    for r in rows:
        npy, jx = r.get("numpy_s_per_epoch"), r["jax_s_per_epoch"]
        numpy_col = f"{npy:.3f}" if npy else "-"
        ratio_col = f"{npy / jx:.1f}x" if npy else "-"
        base_col = f"{jx / base:.2f}" if base else "-"
        print(f"{r['rule']:<28}{r['batch_size']:>6}{numpy_col:>12}{jx:>10.3f}{ratio_col:>11}{base_col:>14}"
              f"{r['jax_compile_s']:>11.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"data": data.source, "device": str(device), "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
