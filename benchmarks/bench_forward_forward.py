"""Forward-forward: the course's scanned epoch against a jitted per-batch step driven by a Python loop.

    python benchmarks/bench_forward_forward.py [--epochs 4] [--data offline|mnist]

Both run the same step function (course_utils.jax.forward_forward) with the same settings. The loop
version jits one step and calls it once per minibatch from Python, as most JAX examples do; the
course's version runs a whole epoch as one compiled lax.scan (course_utils.training). Reports the
median seconds per epoch of each, measured in one run, and their ratio.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv=None) -> int:
    import jax
    import jax.numpy as jnp
    import numpy as np

    from course_utils.data import load_mnist, one_hot
    from course_utils.jax.forward_forward import FORWARD_FORWARD
    from course_utils.registry import get_rule
    from course_utils.training import train

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--data", choices=["offline", "mnist"], default="offline")
    args = p.parse_args(argv)
    data = load_mnist(args.data)
    cfg = get_rule("forward_forward").config(epochs=args.epochs)

    scanned = train("forward_forward", data, backend="jax", epochs=args.epochs, progress=False, eval_every=10**9)

    step = jax.jit(lambda state, x, y, key: FORWARD_FORWARD.step(state, {"x": x, "y": y, "index": None}, key, cfg))
    key = jax.random.PRNGKey(0)
    state = FORWARD_FORWARD.init(key, cfg)
    x_all, y_all = jnp.asarray(data.x_train), jnp.asarray(one_hot(data.y_train), jnp.float32)
    B = cfg["batch_size"]
    n_batches = len(data.x_train) // B
    start = time.perf_counter()
    jax.block_until_ready(step(state, x_all[:B], y_all[:B], key))
    compile_s = time.perf_counter() - start
    rng = np.random.default_rng(0)
    loop_epochs = []
    for _ in range(args.epochs):
        order = rng.permutation(len(data.x_train))
        start = time.perf_counter()
        for b in range(n_batches):
            idx = order[b * B:(b + 1) * B]
            key, sub = jax.random.split(key)
            state, metrics = step(state, x_all[idx], y_all[idx], sub)
        jax.block_until_ready(state)
        loop_epochs.append(time.perf_counter() - start)
    loop = float(np.median(loop_epochs))

    device = jax.devices()[0]
    print(f"forward_forward, sizes {cfg['sizes']}, batch {B}, {len(data.x_train)} digits ({data.source}); "
          f"JAX {jax.__version__} on {device.platform} ({device.device_kind})")
    print(f"  lax.scan epoch (course):       {scanned.seconds_per_epoch:.3f} s/epoch (compile {scanned.compile_seconds:.2f} s)")
    print(f"  Python loop of jitted steps:   {loop:.3f} s/epoch (compile {compile_s:.2f} s)")
    print(f"  ratio loop / scan:             {loop / scanned.seconds_per_epoch:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
