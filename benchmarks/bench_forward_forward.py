"""Forward-forward: the course's scanned epoch against a jitted per-batch step driven by a Python loop.

    python benchmarks/bench_forward_forward.py [--epochs 5] [--data offline|mnist] [--set KEY=VALUE ...]

Both run the same step function (course_utils.jax.forward_forward) with the same settings. The loop
version jits one step (state donated, as the scanned epoch donates it) and calls it once per minibatch
from Python, as most JAX examples do; the course's version runs a whole epoch as one compiled lax.scan
(course_utils.training.make_jax_epoch, the function train() uses). The two alternate epoch by epoch, so
that a machine shared with other work slows both alike. Prints the median seconds per epoch and per
example of each, and their ratio (loop / scan: above 1 means the scan is faster).
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
    from course_utils.run import parse_setting
    from course_utils.training import make_jax_epoch

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--data", choices=["offline", "mnist"], default="offline")
    p.add_argument("--set", dest="settings", type=parse_setting, action="append", default=[],
                   metavar="KEY=VALUE", help="override a setting of the rule (repeatable)")
    args = p.parse_args(argv)
    data = load_mnist(args.data)
    cfg = get_rule("forward_forward").config(**dict(args.settings))
    B, N = cfg["batch_size"], len(data.x_train)
    n_batches = N // B
    x_np = np.asarray(data.x_train, np.float32)
    y_np = np.asarray(one_hot(data.y_train), np.float32)
    x_dev, y_dev = jnp.asarray(x_np), jnp.asarray(y_np)

    def fresh_state():
        return jax.tree_util.tree_map(jnp.array, FORWARD_FORWARD.init(jax.random.PRNGKey(0), cfg))

    # the course: one compiled lax.scan per epoch
    scan_state, key = fresh_state(), jax.random.PRNGKey(1)
    start = time.perf_counter()
    epoch_fn = make_jax_epoch(FORWARD_FORWARD.step, cfg, N).lower(scan_state, x_dev, y_dev, key).compile()
    scan_compile = time.perf_counter() - start

    # the usual alternative: a jitted step, called from Python once per minibatch
    def one_step(state, x, y, key):
        return FORWARD_FORWARD.step(state, {"x": x, "y": y, "index": None}, key, cfg)

    loop_state = fresh_state()
    start = time.perf_counter()
    step_fn = jax.jit(one_step, donate_argnums=0).lower(loop_state, x_np[:B], y_np[:B], key).compile()
    loop_compile = time.perf_counter() - start

    rng = np.random.default_rng(0)
    scan_times, loop_times = [], []
    for _ in range(args.epochs):
        key, epoch_key = jax.random.split(key)
        start = time.perf_counter()
        scan_state, metrics = epoch_fn(scan_state, x_dev, y_dev, epoch_key)
        jax.block_until_ready(metrics["loss"])
        scan_times.append(time.perf_counter() - start)

        start = time.perf_counter()
        order = rng.permutation(N)
        keys = jax.random.split(epoch_key, n_batches)
        for b in range(n_batches):
            idx = order[b * B:(b + 1) * B]
            loop_state, metrics = step_fn(loop_state, x_np[idx], y_np[idx], keys[b])
        jax.block_until_ready(loop_state)
        loop_times.append(time.perf_counter() - start)

    scan, loop = float(np.median(scan_times)), float(np.median(loop_times))
    device = jax.devices()[0]
    print(f"forward_forward, sizes {tuple(cfg['sizes'])}, batch {B}, {N} digits ({data.source}), "
          f"{args.epochs} alternating epochs; JAX {jax.__version__} on {device.platform} ({device.device_kind})")
    print(f"  lax.scan epoch (course):      {scan:.3f} s/epoch, {1e6 * scan / (n_batches * B):.1f} us/example "
          f"(compile {scan_compile:.2f} s)")
    print(f"  Python loop of jitted steps:  {loop:.3f} s/epoch, {1e6 * loop / (n_batches * B):.1f} us/example "
          f"(compile {loop_compile:.2f} s)")
    print(f"  ratio loop / scan (medians):  {loop / scan:.2f}; per epoch pair: "
          f"{', '.join(f'{lo / sc:.2f}' for lo, sc in zip(loop_times, scan_times))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
