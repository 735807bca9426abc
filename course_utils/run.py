"""Train one learning rule from the terminal and report.

    python -m course_utils.run RULE [--data offline|mnist] [--epochs N] [--batch-size B]
                                    [--backend numpy|jax] [--seed S] [--seeds N] [--set KEY=VALUE ...] [--json]

Every rule starts from its registered defaults (course_utils/rules.py); --epochs, --batch-size and
--set override them. With --json the last line on stdout is one JSON object.

--seeds N trains N independently initialised networks (seeds S, S+1, ..., S+N-1: their own
initialisation, data order and noise) as one program; the report gives the mean over seeds and each
seed's accuracy, and seconds_per_epoch is the time of one epoch of all N together.

The online rules of tutorial 05 (online_decoders_only, online_feedback_alignment, online_backprop)
learn a function of time, not digits: their report gives the task and ``nrmse`` (the normalised RMS
error over the last quarter of the run) instead of accuracies.
"""
from __future__ import annotations

import argparse
import ast
import json
import sys


def parse_setting(text: str):
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"--set expects KEY=VALUE, got {text!r}")
    key, value = text.split("=", 1)
    try:
        return key.strip(), ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key.strip(), value


def build_parser(rule_names) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m course_utils.run", description=__doc__.split("\n")[0])
    p.add_argument("rule", help=f"one of: {', '.join(rule_names)}")
    p.add_argument("--data", choices=["offline", "mnist"], default="offline",
                   help="offline: the 5,000 bundled digits (default); mnist: full MNIST via torchvision")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--backend", choices=["jax", "numpy"], default="jax")
    p.add_argument("--seed", type=int, default=0, help="the (first) seed")
    p.add_argument("--seeds", type=int, help="train this many seeds as one program (mean and spread)")
    p.add_argument("--set", dest="settings", type=parse_setting, action="append", default=[],
                   metavar="KEY=VALUE", help="override any setting of the rule (repeatable)")
    p.add_argument("--json", action="store_true", help="end with one JSON line")
    p.add_argument("--no-progress", action="store_true")
    return p


def summary(result, data) -> dict:
    """The JSON report of one training run or seed sweep (test_accuracy: the mean over seeds)."""
    final = result.final
    cfg = result.config
    per_seed = {f"{split}_accuracy_per_seed": final.get(f"{split}_accuracy_per_seed",
                                                        [final.get(f"{split}_accuracy")])
                for split in ("train", "test")}
    return {
        "rule": result.rule, "backend": result.backend, "data": data.source,
        "epochs": cfg["epochs"], "train_size": int(len(data.x_train)), "test_size": int(len(data.x_test)),
        "batch_size": cfg["batch_size"],
        "train_accuracy": final.get("train_accuracy"), "test_accuracy": final.get("test_accuracy"),
        "seeds": list(result.seeds), **per_seed,
        "seconds_per_epoch": result.seconds_per_epoch, "compile_seconds": result.compile_seconds,
        "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in cfg.items()},
        "history": result.history,
    }


def spread(values) -> str:
    """" (+- sd over N seeds)" for several values, "" for one."""
    import numpy as np
    return f" +- {np.std(values):.3f} over {len(values)} seeds" if len(values) > 1 else ""


def run_online(rule, args, overrides) -> int:
    """Tutorial 05's rules: simulate, report nrmse (see course_utils.online.run_rule)."""
    from . import online
    if {"epochs", "batch_size"} & set(overrides) or args.data != "offline":
        print(f"error: {rule.name} is an online rule (it learns a function of time, not digits): "
              "--epochs, --batch-size and --data do not apply; use --set KEY=VALUE", file=sys.stderr)
        return 2
    seeds = list(range(args.seed, args.seed + (args.seeds or 1)))
    try:
        report = online.run_rule(rule.name, rule.config(**overrides), backend=args.backend, seeds=seeds,
                                 progress=not args.no_progress)
    except (ValueError, KeyError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"{rule.name} ({args.backend}; {report['task']}): nrmse {report['nrmse']:.3f}"
          f"{spread(report['nrmse_per_seed'])} over the last quarter of {report['simulated_seconds']:g} "
          f"simulated s, {report['sim_seconds_per_wall_second']:.0f} simulated s per wall s, "
          f"compile {report['compile_seconds']:.2f} s")
    if args.json:
        print(json.dumps(report))
    return 0


def main(argv=None) -> int:
    from .data import DataUnavailableError, load_mnist
    from .registry import all_rules
    from .training import train, use_host_devices

    rules = all_rules()
    args = build_parser(list(rules)).parse_args(argv)
    if args.rule not in rules:
        print(f"error: unknown rule {args.rule!r}; choose one of {', '.join(rules)}", file=sys.stderr)
        return 2
    if args.seeds is not None and args.seeds < 1:
        print(f"error: --seeds must be at least 1, got {args.seeds}", file=sys.stderr)
        return 2
    if args.seeds and args.seeds > 1 and args.backend == "jax":
        use_host_devices()       # split the seeds over the cores (before JAX starts)
    overrides = dict(args.settings)
    overrides.update({k: v for k, v in (("epochs", args.epochs), ("batch_size", args.batch_size))
                      if v is not None})
    if rules[args.rule].kind == "online":
        return run_online(rules[args.rule], args, overrides)
    try:
        data = load_mnist(args.data)
    except DataUnavailableError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    try:
        result = train(args.rule, data, backend=args.backend, seed=args.seed, seeds=args.seeds,
                       progress=not args.no_progress, **overrides)
    except (ValueError, KeyError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    report = summary(result, data)
    print(f"{args.rule} ({args.backend}, {data.source}: {report['train_size']} train / "
          f"{report['test_size']} test, {report['epochs']} epochs, batch {report['batch_size']}): "
          f"train accuracy {report['train_accuracy']:.3f}, test accuracy {report['test_accuracy']:.3f}"
          f"{spread(report['test_accuracy_per_seed'])}, {report['seconds_per_epoch']:.3f} s/epoch (median"
          f"{', all seeds together' if len(report['seeds']) > 1 else ''}), compile {report['compile_seconds']:.2f} s")
    if args.json:
        print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
