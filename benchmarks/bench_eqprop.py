"""Time one epoch of EqProp (784-500-10, the registered defaults) in three forms, on the offline digits:

    python benchmarks/bench_eqprop.py [--rounds 9] [--numpy-epochs 1]

- jax: the registered JAX rule; the clamped input's drive rho(x) W1^T + b1 is computed once per minibatch;
- jax, drive in the loop: the same, with the drive recomputed at every relaxation step (what the
  speed hint avoids; XLA does not hoist it out of the loop by itself);
- numpy: the float64 reference rule (course_utils.eqprop), also with the drive computed once.

The two JAX forms are compiled first, then timed in alternation, one epoch each per round, so that a
change in the machine's load affects both alike; figures are medians over rounds (compilation
excluded), with their equivalent per 50,000 examples (the issue's bar for the JAX version: 3 s per
50,000 on 2 CPU cores). Never part of the tests.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _drive_in_the_loop_step():
    """The registered JAX step, traced with a relaxation that recomputes the input's drive every step."""
    import jax
    import jax.numpy as jnp

    from course_utils.jax import eqprop as jep

    def relax(params, x, states, target, beta, epsilon, steps, drive=None):
        def body(_, states):
            grads = jep.layered_state_gradients(params, jep.input_drive(params, x), states, target, beta)
            return [jnp.clip(s - epsilon * g, 0.0, 1.0) for s, g in zip(states, grads)]
        return jax.lax.fori_loop(0, steps, body, list(states))

    def step(state, batch, key, cfg):
        original = jep.layered_relax
        jep.layered_relax = relax           # only while tracing: the compiled epoch keeps this form
        try:
            return jep.eqprop_step(state, batch, key, cfg)
        finally:
            jep.layered_relax = original

    return step


def main(argv=None) -> int:
    import jax
    import jax.numpy as jnp

    from course_utils.data import load_mnist, one_hot
    from course_utils.jax import eqprop as jep
    from course_utils.registry import get_rule
    from course_utils.training import make_jax_epoch, train

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rounds", type=int, default=9)
    p.add_argument("--numpy-epochs", type=int, default=1)
    args = p.parse_args(argv)
    data = load_mnist("offline")
    n = len(data.x_train)
    cfg = {**get_rule("eqprop").config(), "train_size": n}
    x = jnp.asarray(data.x_train, jnp.float32)
    y = jnp.asarray(one_hot(data.y_train), jnp.float32)
    forms = {"jax": jep.eqprop_step, "jax, drive in the loop": _drive_in_the_loop_step()}
    epochs, states, times, compile_s = {}, {}, {name: [] for name in forms}, {}
    for name, step in forms.items():
        states[name] = jax.tree_util.tree_map(jnp.array, jep.EQPROP.init(jax.random.PRNGKey(0), cfg))
        start = time.perf_counter()
        epochs[name] = make_jax_epoch(step, cfg, n).lower(states[name], x, y, jax.random.PRNGKey(1)).compile()
        compile_s[name] = time.perf_counter() - start
    for r in range(args.rounds):
        for name, epoch in epochs.items():
            start = time.perf_counter()
            states[name], metrics = epoch(states[name], x, y, jax.random.PRNGKey(r))
            jax.block_until_ready(metrics["loss"])
            times[name].append(time.perf_counter() - start)
    numpy_result = train("eqprop", data, backend="numpy", epochs=args.numpy_epochs, progress=False)
    print(f"# {platform.machine()}, {os.cpu_count()} cores, JAX {jax.__version__} on {jax.devices()[0].platform}, "
          f"load average {os.getloadavg()[0]:.1f}; {n} training digits, 784-500-10, minibatch 20, 20 + 4 steps")
    print("| form | epochs timed | s/epoch (median) | s per 50,000 | compile s |")
    print("|---|---|---|---|---|")
    for name in forms:
        seconds = float(np.median(times[name]))
        print(f"| {name} | {args.rounds} | {seconds:.3f} | {seconds * 50_000 / n:.2f} | {compile_s[name]:.2f} |")
    seconds = numpy_result.seconds_per_epoch
    print(f"| numpy | {args.numpy_epochs} | {seconds:.3f} | {seconds * 50_000 / n:.2f} | - |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
