"""Tutorial 02: the cost of an epoch of FA, DFA and KP against backprop's, and the two JAX forms.

    python benchmarks/bench_weight_transport.py [--repeats 5] [--epochs 5] [--numpy-epochs 2]

Part 1: every rule trained with its defaults through course_utils.training.train (the same call the
notebook and the runner make), ``repeats`` runs each, interleaved, all in one process; the figure per
run is seconds_per_epoch (the median over its epochs, compilation excluded), and the table gives the
median over runs and its ratio to backprop's. DFA trains a deeper network (784-100-100-10), so
backprop on that network is timed too.

Part 2: one jitted, scanned epoch of FA and KP in their two JAX forms, the equations written out and
jax.grad through custom-VJP layers (the registered form), timed the same way.
Never part of the test suite.
"""
from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DEEP = (784, 100, 100, 10)
RUNS = [("backprop", {}), ("feedback_alignment", {}), ("kolen_pollack", {}),
        ("direct_feedback_alignment", {}), ("backprop", {"sizes": DEEP})]


def _name(rule, overrides):
    return rule + (" (784-100-100-10)" if overrides else "")


def time_rules(data, repeats, epochs, numpy_epochs):
    from course_utils.training import train

    jax_times = {_name(*run): [] for run in RUNS}
    accuracy = {_name(*run): [] for run in RUNS}
    for repeat in range(repeats):
        for rule, overrides in RUNS:
            r = train(rule, data, backend="jax", seed=repeat, epochs=epochs, progress=False,
                      eval_every=10**9, **overrides)
            jax_times[_name(rule, overrides)].append(r.seconds_per_epoch)
            accuracy[_name(rule, overrides)].append(r.final["test_accuracy"])
    numpy_times = {}
    if numpy_epochs:
        for rule, overrides in RUNS:
            r = train(rule, data, backend="numpy", epochs=numpy_epochs, progress=False, eval_every=10**9,
                      **overrides)
            numpy_times[_name(rule, overrides)] = r.seconds_per_epoch
    return jax_times, numpy_times


def time_forms(data, repeats, epochs):
    """Seconds per scanned epoch of FA and KP, equations vs custom VJP (medians over repeats x epochs)."""
    import jax
    import jax.numpy as jnp

    from course_utils.data import one_hot
    from course_utils.jax import mlp
    from course_utils.jax import weight_transport as jwt
    from course_utils.registry import get_rule
    from course_utils.training import make_jax_epoch

    def fa_equations(state, batch, key, cfg):
        params, feedback = state["params"], state["feedback"]
        grads = jwt.feedback_alignment_gradients(params, feedback, batch["x"], batch["y"], cfg["activation"])
        loss = mlp.loss(params, batch["x"], batch["y"], cfg["activation"])
        return {"params": {k: params[k] - cfg["learning_rate"] * grads[k] for k in params},
                "feedback": feedback}, {"loss": loss}

    def kp_equations(state, batch, key, cfg):
        params, feedback = state["params"], state["feedback"]
        grads = jwt.feedback_alignment_gradients(params, feedback, batch["x"], batch["y"], cfg["activation"])
        loss = mlp.loss(params, batch["x"], batch["y"], cfg["activation"])
        params, feedback = jwt.kolen_pollack_update(params, feedback, grads, cfg["learning_rate"], cfg["decay"])
        return {"params": params, "feedback": feedback}, {"loss": loss}

    x = jnp.asarray(data.x_train, jnp.float32)
    y = jnp.asarray(one_hot(data.y_train), jnp.float32)
    forms = {"feedback_alignment": {"equations": fa_equations, "custom VJP": jwt.FEEDBACK_ALIGNMENT.step},
             "kolen_pollack": {"equations": kp_equations, "custom VJP": jwt.KOLEN_POLLACK.step}}
    table = {}
    for rule, steps in forms.items():
        cfg = get_rule(rule).config()
        init = get_rule(rule).backend("jax").init
        compiled = {}
        for form, step in steps.items():
            state = jax.tree_util.tree_map(jnp.array, init(jax.random.PRNGKey(0), cfg))
            compiled[form] = (make_jax_epoch(step, cfg, len(x)).lower(state, x, y, jax.random.PRNGKey(1)).compile(),
                              init)
            table[(rule, form)] = []
        for repeat in range(repeats):
            for form, (fn, init) in compiled.items():
                state = jax.tree_util.tree_map(jnp.array, init(jax.random.PRNGKey(repeat), cfg))
                for e in range(epochs):
                    start = time.perf_counter()
                    state, metrics = fn(state, x, y, jax.random.PRNGKey(100 * repeat + e))
                    jax.block_until_ready(metrics["loss"])
                    table[(rule, form)].append(time.perf_counter() - start)
    return table


def main(argv=None) -> int:
    import jax

    from course_utils.data import load_mnist

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", choices=["offline", "mnist"], default="offline")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--numpy-epochs", type=int, default=2, help="0 to skip the NumPy references")
    args = p.parse_args(argv)
    data = load_mnist(args.data)
    device = jax.devices()[0]
    print(f"{len(data.x_train)} training digits ({data.source}); {platform.machine()}, JAX {jax.__version__} "
          f"on {device.platform} ({device.device_kind}); {args.repeats} runs x {args.epochs} epochs each")

    jax_times, numpy_times = time_rules(data, args.repeats, args.epochs, args.numpy_epochs)
    base = float(np.median(jax_times["backprop"]))
    print(f"\n{'rule':<40}{'jax s/epoch':>12}{'(min-max)':>16}{'jax/backprop':>14}{'numpy s/epoch':>15}")
    for name, times in jax_times.items():
        med = float(np.median(times))
        numpy_col = f"{numpy_times[name]:.3f}" if name in numpy_times else "-"
        print(f"{name:<40}{med:>12.4f}{f'({min(times):.3f}-{max(times):.3f})':>16}{med / base:>14.2f}"
              f"{numpy_col:>15}")

    forms = time_forms(data, args.repeats, args.epochs)
    print(f"\n{'rule':<22}{'form':<14}{'jax s/epoch (median)':>22}")
    for (rule, form), times in forms.items():
        print(f"{rule:<22}{form:<14}{float(np.median(times)):>22.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
