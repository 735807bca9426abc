"""Speed of tutorial 05's online rules in simulated seconds per wall second, three ways:

    python benchmarks/bench_online.py [--rounds 5] [--seconds 20] [--neurons 10] [--seeds 10]

- numpy: the float64 reference (course_utils.online.simulate), a Python loop over time steps;
- jax: the JAX twin (course_utils.jax.online.simulate), one lax.scan over the steps, compiled once
  (compilation excluded); also with --seeds networks vmapped into one program (the rate counts the
  simulated seconds of all seeds);
- nengo: the same network in Nengo (course_utils.nengo_rules: nengo.PES on the decoders and the
  online FA rule on the encoders and biases), reference backend, rate neurons (build time excluded).

Each rule is timed over --rounds rounds (the three forms in alternation, so that a change in the
machine's load affects all alike); the table shows medians. Never part of the tests.
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

RULES = {"online_decoders_only": (0.0, "fa"), "online_feedback_alignment": (None, "fa"),
         "online_backprop": (None, "bp")}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=20.0, help="simulated seconds per run")
    parser.add_argument("--neurons", type=int, default=10)
    parser.add_argument("--seeds", type=int, default=10, help="networks in the vmapped JAX run")
    args = parser.parse_args(argv)

    import jax
    import jax.numpy as jnp

    from course_utils import online
    from course_utils.jax import online as jax_online
    from course_utils.registry import get_rule
    try:
        from course_utils import nengo_rules
    except ImportError:
        nengo_rules = None

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; "
          f"jax {jax.__version__} on {jax.default_backend()}; {args.neurons} ReLU neurons, dt = 1 ms, "
          f"{args.seconds:g} simulated s per run; medians of {args.rounds} rounds")
    header = f"{'rule':27s} {'numpy':>10s} {'jax':>10s} {'jax x' + str(args.seeds):>10s} {'nengo':>10s}"
    print(header + "   (simulated seconds per wall second)")
    for name, (rate, feedback) in RULES.items():
        cfg = get_rule(name).config()
        steps = int(round(args.seconds / cfg["dt"]))
        _, x, target = online.task(steps, cfg["dt"])
        nets = [online.init_network(np.random.default_rng(s), args.neurons, feedback_scale=cfg["feedback_scale"])
                for s in range(args.seeds)]
        eta = cfg["encoder_rate"] if rate is None else rate
        common = dict(dt=cfg["dt"], tau=cfg["tau"], decoder_rate=cfg["decoder_rate"], encoder_rate=eta)
        x32, t32 = jnp.asarray(x, jnp.float32), jnp.asarray(target, jnp.float32)
        one = jax.jit(lambda net: jax_online.simulate(net, x32, t32, feedback=feedback, **common)["y"])
        jax.block_until_ready(one(jax_online.to_jax(nets[0])))           # compile
        stacked = jax.tree_util.tree_map(lambda *v: jnp.stack(v), *[jax_online.to_jax(n) for n in nets])
        many = jax.jit(jax.vmap(lambda net: jax_online.simulate(net, x32, t32, feedback=feedback, **common)["y"]))
        jax.block_until_ready(many(stacked))
        times = {"numpy": [], "jax": [], "jax_seeds": [], "nengo": []}
        for _ in range(args.rounds):
            start = time.perf_counter()
            online.simulate(nets[0], x, target, feedback=feedback, **common)
            times["numpy"].append(time.perf_counter() - start)
            start = time.perf_counter()
            jax.block_until_ready(one(jax_online.to_jax(nets[0])))
            times["jax"].append(time.perf_counter() - start)
            start = time.perf_counter()
            jax.block_until_ready(many(stacked))
            times["jax_seeds"].append((time.perf_counter() - start) / args.seeds)
            if nengo_rules is not None and feedback == "fa":
                import nengo
                net, _ = nengo_rules.build_network(nets[0], x, target, **common)
                with nengo.Simulator(net, dt=cfg["dt"], progress_bar=False) as sim:
                    start = time.perf_counter()
                    sim.run_steps(steps)
                    times["nengo"].append(time.perf_counter() - start)
        rates = {k: (args.seconds / float(np.median(v)) if v else float("nan")) for k, v in times.items()}
        print(f"{name:27s} " + " ".join(f"{rates[k]:10.0f}" for k in ("numpy", "jax", "jax_seeds", "nengo")))
    print("(nengo: no weight-transport rule there, so online_backprop has no Nengo figure)")


if __name__ == "__main__":
    main()
