"""`make run`: train every registered rule with its defaults on the offline digits and compare.

    python -m course_utils.compare [--backend jax|numpy] [--data offline|mnist] [--out outputs]

Prints a table (test and train accuracy, epochs, batch size, seconds per epoch, compile time), what
each column means, and what to try next; saves outputs/compare.png (test accuracy per epoch, and
seconds per epoch) and outputs/compare.json.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


COLUMNS = (
    ("test acc", "fraction of the held-out test digits classified correctly after the last epoch"),
    ("train acc", "the same on the training digits (well above test acc: overfitting)"),
    ("epochs", "passes over the training digits"),
    ("batch", "examples averaged into each update"),
    ("s/epoch", "median wall-clock seconds per epoch, compilation excluded"),
    ("compile s", "seconds spent compiling the JAX steps before the first epoch (0 with numpy)"),
)


def explain(reports, epochs_override=None) -> list[str]:
    """The lines printed under the table: one per column, the rules' own settings, what next."""
    lines = [f"  {name:<10} {meaning}" for name, meaning in COLUMNS]
    settings = "; ".join(f"{r['rule']} {r['epochs']} x {r['batch_size']}" for r in reports)
    if epochs_override:
        note = f"every rule ran --epochs {epochs_override} here, each with its own batch size"
    else:
        note = "the rules do not train alike: each has its own epochs and batch size (course_utils/rules.py)"
    lines.append(f"Note: {note}; epochs x batch: {settings}. Compare accuracies with that in mind.")
    lines.append("Next: train one rule with your own settings, e.g. `python -m course_utils.run "
                 "node_perturbation --set epochs=40 --json`, or open the tutorials with `make lab`.")
    return lines


def main(argv=None) -> int:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from . import plotting
    from .data import DataUnavailableError, load_mnist
    from .registry import all_rules
    from .run import summary
    from .training import train

    p = argparse.ArgumentParser(prog="python -m course_utils.compare", description=__doc__.split("\n")[0])
    p.add_argument("--backend", choices=["jax", "numpy"], default="jax")
    p.add_argument("--data", choices=["offline", "mnist"], default="offline")
    p.add_argument("--out", default="outputs")
    p.add_argument("--rules", nargs="*", help="a subset of the registered rules")
    p.add_argument("--epochs", type=int, help="override every rule's number of epochs (quick looks)")
    args = p.parse_args(argv)
    try:
        data = load_mnist(args.data)
    except DataUnavailableError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    names = args.rules or list(all_rules("classifier"))
    reports, results = [], {}
    for name in names:
        results[name] = train(name, data, backend=args.backend, progress=sys.stderr.isatty(),
                              epochs=args.epochs)
        reports.append(summary(results[name], data))
        r = reports[-1]
        print(f"  {name:<28} test {r['test_accuracy']:.3f}  ({r['seconds_per_epoch']:.3f} s/epoch)",
              flush=True)

    header = f"{'rule':<28}{'test acc':>9}{'train acc':>10}{'epochs':>7}{'batch':>6}{'s/epoch':>9}{'compile s':>10}"
    print(f"\nAll rules on {data.source} digits ({len(data.x_train)} train / {len(data.x_test)} test), "
          f"{args.backend} backend:\n{header}\n{'-' * len(header)}")
    for r in reports:
        print(f"{r['rule']:<28}{r['test_accuracy']:>9.3f}{r['train_accuracy']:>10.3f}{r['epochs']:>7}"
              f"{r['batch_size']:>6}{r['seconds_per_epoch']:>9.3f}{r['compile_seconds']:>10.2f}")
    print("\n".join(explain(reports, args.epochs)))

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    fig, (ax_acc, ax_time) = plt.subplots(1, 2, figsize=(11, 3.8))
    for name, result in results.items():
        hist = [h for h in result.history if "test_accuracy" in h]
        ax_acc.plot([h["epoch"] for h in hist], [h["test_accuracy"] for h in hist], "o-", ms=3,
                    color=plotting.color(name), label=plotting.label(name))
    ax_acc.set(xlabel="epoch", ylabel="test accuracy", ylim=(0, 1), title=f"Test accuracy ({data.source})")
    ax_acc.legend(fontsize=8)
    ax_time.barh([plotting.label(r["rule"]) for r in reports], [r["seconds_per_epoch"] for r in reports],
                 color=[plotting.color(r["rule"]) for r in reports])
    ax_time.set(xlabel=f"seconds per epoch ({args.backend}, median)", title="Cost")
    fig.tight_layout()
    fig.savefig(out / "compare.png", dpi=120)
    (out / "compare.json").write_text(json.dumps(reports, indent=1))
    print(f"\nsaved {out / 'compare.png'} and {out / 'compare.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
