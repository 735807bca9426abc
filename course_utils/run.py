"""Train one learning rule from the terminal and report.

    python -m course_utils.run RULE [--data offline|mnist] [--epochs N] [--batch-size B]
                                    [--backend numpy|jax] [--seed S] [--set KEY=VALUE ...] [--json]

Every rule starts from its registered defaults (course_utils/rules.py); --epochs, --batch-size and
--set override them. With --json the last line on stdout is one JSON object.
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
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--set", dest="settings", type=parse_setting, action="append", default=[],
                   metavar="KEY=VALUE", help="override any setting of the rule (repeatable)")
    p.add_argument("--json", action="store_true", help="end with one JSON line")
    p.add_argument("--no-progress", action="store_true")
    return p


def summary(result, data) -> dict:
    final = result.final
    cfg = result.config
    return {
        "rule": result.rule, "backend": result.backend, "data": data.source,
        "epochs": cfg["epochs"], "train_size": int(len(data.x_train)), "test_size": int(len(data.x_test)),
        "batch_size": cfg["batch_size"],
        "train_accuracy": final.get("train_accuracy"), "test_accuracy": final.get("test_accuracy"),
        "seconds_per_epoch": result.seconds_per_epoch, "compile_seconds": result.compile_seconds,
        "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in cfg.items()},
        "history": result.history,
    }


def main(argv=None) -> int:
    from .data import DataUnavailableError, load_mnist
    from .registry import all_rules
    from .training import train

    rules = all_rules()
    args = build_parser(list(rules)).parse_args(argv)
    if args.rule not in rules:
        print(f"error: unknown rule {args.rule!r}; choose one of {', '.join(rules)}", file=sys.stderr)
        return 2
    try:
        data = load_mnist(args.data)
    except DataUnavailableError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    overrides = dict(args.settings)
    overrides.update({k: v for k, v in (("epochs", args.epochs), ("batch_size", args.batch_size))
                      if v is not None})
    try:
        result = train(args.rule, data, backend=args.backend, seed=args.seed,
                       progress=not args.no_progress, **overrides)
    except (ValueError, KeyError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    report = summary(result, data)
    print(f"{args.rule} ({args.backend}, {data.source}: {report['train_size']} train / "
          f"{report['test_size']} test, {report['epochs']} epochs, batch {report['batch_size']}): "
          f"train accuracy {report['train_accuracy']:.3f}, test accuracy {report['test_accuracy']:.3f}, "
          f"{report['seconds_per_epoch']:.3f} s/epoch (median), compile {report['compile_seconds']:.2f} s")
    if args.json:
        print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
