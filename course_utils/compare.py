"""`make run`: train every registered rule with its defaults on the offline digits and compare.

    python -m course_utils.compare [--backend jax|numpy] [--data offline|mnist] [--seeds 4] [--out outputs]

Every rule trains ``--seeds`` independently initialised networks as one program (course_utils.training:
seed sweeps). Prints a table (test accuracy as mean +- standard deviation over the seeds, train accuracy,
epochs, batch size, seconds per epoch of all seeds together, compile time), what each column means, and
what to try next; then a table of its own for tutorial 05's online rules (they learn a function of time,
not digits: nrmse instead of accuracy). Saves outputs/compare.png (test accuracy per epoch with the
spread over seeds, and seconds per epoch) and outputs/compare.json, and ends with its total wall time
("done in 95 s": imports, compilation and training included; compiled programs come from JAX's
compilation cache when an earlier run left them there, course_utils.config.enable_compilation_cache).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


COLUMNS = (
    ("test acc", "fraction of the held-out test digits classified correctly after the last epoch "
                 "(mean over the seeds)"),
    ("+- sd", "standard deviation of test acc over the seeds (their own init, data order, noise)"),
    ("train acc", "the same on the training digits (far above test acc would mean overfitting)"),
    ("epochs", "passes over the training digits"),
    ("batch", "examples averaged into each update"),
    ("s/epoch", "median wall-clock seconds per epoch of all seeds together, compilation excluded"),
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
    """The whole comparison; on success its last line is its total wall time."""
    start = time.perf_counter()
    code = compare(argv)
    if code == 0:
        print(f"done in {time.perf_counter() - start:.0f} s")
    return code


def compare(argv=None) -> int:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from . import plotting
    from .data import DataUnavailableError, load_mnist
    from .registry import all_rules
    from .run import spread, summary
    from .training import train

    p = argparse.ArgumentParser(prog="python -m course_utils.compare", description=__doc__.split("\n")[0])
    p.add_argument("--backend", choices=["jax", "numpy"], default="jax")
    p.add_argument("--data", choices=["offline", "mnist"], default="offline")
    p.add_argument("--out", default="outputs")
    p.add_argument("--rules", nargs="*", help="a subset of the registered rules")
    p.add_argument("--epochs", type=int, help="override every rule's number of epochs (quick looks)")
    p.add_argument("--seeds", type=int, default=4, help="seeds per rule, trained as one program (default 4)")
    args = p.parse_args(argv)
    if args.seeds < 1:
        print(f"error: --seeds must be at least 1, got {args.seeds}", file=sys.stderr)
        return 2
    if args.backend == "jax" and args.seeds > 1:
        from .training import use_host_devices
        use_host_devices()       # split each sweep's seeds over the cores (before JAX starts)
    try:
        data = load_mnist(args.data)
    except DataUnavailableError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    registered = all_rules()
    unknown = [n for n in args.rules or () if n not in registered]
    if unknown:
        print(f"error: unknown rule(s) {unknown}; choose from {', '.join(registered)}", file=sys.stderr)
        return 2
    names = [n for n in args.rules or registered if registered[n].kind == "classifier"]
    online_names = [n for n in args.rules or registered if registered[n].kind == "online"]
    reports, results = [], {}
    for name in names:
        results[name] = train(name, data, backend=args.backend, progress=sys.stderr.isatty(),
                              epochs=args.epochs, seeds=args.seeds)
        reports.append(summary(results[name], data))
        r = reports[-1]
        print(f"  {name:<28} test {r['test_accuracy']:.3f}{spread(r['test_accuracy_per_seed'])}  "
              f"({r['seconds_per_epoch']:.3f} s/epoch)", flush=True)

    if reports:
        header = (f"{'rule':<28}{'test acc':>9}{'+- sd':>7}{'train acc':>10}{'epochs':>7}{'batch':>6}"
                  f"{'s/epoch':>9}{'compile s':>10}")
        print(f"\nAll rules on {data.source} digits ({len(data.x_train)} train / {len(data.x_test)} test), "
              f"{args.backend} backend, {args.seeds} seed(s) each:\n{header}\n{'-' * len(header)}")
        for r in reports:
            print(f"{r['rule']:<28}{r['test_accuracy']:>9.3f}{np.std(r['test_accuracy_per_seed']):>7.3f}"
                  f"{r['train_accuracy']:>10.3f}{r['epochs']:>7}{r['batch_size']:>6}{r['seconds_per_epoch']:>9.3f}"
                  f"{r['compile_seconds']:>10.2f}")
        print("\n".join(explain(reports, args.epochs)))
    online_reports = online_table(online_names, args)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "compare.json").write_text(json.dumps(reports + online_reports, indent=1))
    if not reports:
        print(f"\nsaved {out / 'compare.json'}")
        return 0
    fig, (ax_acc, ax_time) = plt.subplots(1, 2, figsize=(11, 3.8))
    for name, result in results.items():
        hist = [h for h in result.history if "test_accuracy" in h]
        epochs = [h["epoch"] for h in hist]
        ax_acc.plot(epochs, [h["test_accuracy"] for h in hist], "o-", ms=3,
                    color=plotting.color(name), label=plotting.label(name))
        if len(result.seeds) > 1:        # the spread over seeds: from the lowest to the highest seed
            per_seed = np.array([h["test_accuracy_per_seed"] for h in hist])
            ax_acc.fill_between(epochs, per_seed.min(axis=1), per_seed.max(axis=1), alpha=0.2,
                                color=plotting.color(name), linewidth=0)
    spread_note = f", band: min-max over {args.seeds} seeds" if args.seeds > 1 else ""
    ax_acc.set(xlabel="epoch", ylabel="test accuracy", ylim=(0, 1),
               title=f"Test accuracy ({data.source}{spread_note})")
    ax_acc.legend(fontsize=8)
    ax_time.barh([plotting.label(r["rule"]) for r in reports], [r["seconds_per_epoch"] for r in reports],
                 color=[plotting.color(r["rule"]) for r in reports])
    ax_time.set(xlabel=f"seconds per epoch ({args.backend}, median)", title="Cost")
    fig.tight_layout()
    fig.savefig(out / "compare.png", dpi=120)
    print(f"\nsaved {out / 'compare.png'} and {out / 'compare.json'}")
    return 0


def online_table(names, args) -> list[dict]:
    """Tutorial 05's online rules, in a table of their own: nrmse (lower is better) over the seeds."""
    if not names:
        return []
    import numpy as np

    from . import online
    from .registry import get_rule
    reports = [online.run_rule(name, get_rule(name).config(), backend=args.backend,
                               seeds=list(range(args.seeds)), progress=False) for name in names]
    header = f"{'online rule':<28}{'nrmse':>8}{'+- sd':>7}{'sim s/wall s':>14}{'compile s':>10}"
    print(f"\nOnline rules (tutorial 05): {reports[0]['task']}, {args.seeds} seed(s) each\n{header}\n"
          f"{'-' * len(header)}")
    for r in reports:
        print(f"{r['rule']:<28}{r['nrmse']:>8.3f}{np.std(r['nrmse_per_seed']):>7.3f}"
              f"{r['sim_seconds_per_wall_second']:>14.0f}{r['compile_seconds']:>10.2f}")
    print("  nrmse      RMS error over the last quarter of the run, divided by the target's RMS (0 is perfect)\n"
          "  sim s/wall s  simulated seconds per wall-clock second, all seeds together")
    return reports


if __name__ == "__main__":
    sys.exit(main())
