"""Training any registered rule on a Dataset, with either backend, and timing it honestly.

    result = train("node_perturbation", load_mnist("offline"), backend="jax", epochs=5)

Timing: ``seconds_per_epoch`` is the median over epochs of the training time alone (evaluation
excluded). For JAX the epoch function is compiled ahead of time and that cost is reported apart as
``compile_seconds``, so every timed epoch is a steady-state one. A notebook that wants the time a person
waited measures its cell with time.perf_counter(): compilation and evaluation are part of that wait.

Seed sweeps: ``train(..., seeds=S)`` trains the S seeds ``seed, ..., seed + S - 1``, each exactly as
``train(..., seed=s)`` would (the same keys, so the same initialisation, data order and noise). With JAX
they run as one program: the epoch function is vmapped over the seeds, and where the host has several
devices (``use_host_devices`` below) the seed axis is split across them. The history then holds, per
epoch, the means over seeds and the per-seed lists (``test_accuracy_per_seed``, ...), and
``seconds_per_epoch`` is the time of one epoch of all S together.

Progress: one bar per training run (course_utils.progress), over its epochs, with the loss and test
accuracy of the last evaluated epoch; it says "compiling" while the JAX epoch function compiles.
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial

import numpy as np
from .data import Dataset, one_hot
from .progress import progress_bar
from .registry import Backend, get_rule


@dataclass
class TrainResult:
    rule: str
    backend: str
    config: dict
    state: object
    history: list = field(default_factory=list)       # one dict per epoch
    step_losses: np.ndarray | None = None              # (epochs * batches,) batch losses
    epoch_seconds: list = field(default_factory=list)
    compile_seconds: float = 0.0
    monitor: object = None                              # state -> dict, see train()
    initial: dict = field(default_factory=dict)         # monitor(state) before training
    seeds: list = field(default_factory=list)          # the seeds trained (state: one per seed, stacked)

    @property
    def seconds_per_epoch(self) -> float:
        return float(np.median(self.epoch_seconds)) if self.epoch_seconds else float("nan")

    @property
    def final(self) -> dict:
        return self.history[-1] if self.history else {}


def numpy_gradient_backend(gradient_fn, init_fn, predict_fn) -> Backend:
    """A Backend for rules that are "estimate dL/dtheta, then take an SGD step" (NumPy).

    gradient_fn(params, x, y, rng, cfg) -> (grads, loss).
    """
    def init(rng, cfg):
        return init_fn(rng, cfg["sizes"], cfg["activation"])

    def step(params, batch, rng, cfg):
        grads, loss = gradient_fn(params, batch["x"], batch["y"], rng, cfg)
        lr = cfg["learning_rate"]
        return {k: params[k] - lr * grads[k] for k in params}, {"loss": loss}

    def predict(params, x, cfg):
        return predict_fn(params, x, cfg["activation"])

    return Backend(init, step, predict)


def _accuracy(backend: Backend, state, cfg, x, y, chunk=10_000) -> float:
    preds = np.concatenate([np.asarray(backend.predict(state, x[i:i + chunk], cfg))
                            for i in range(0, len(x), chunk)])
    return float(np.mean(preds == y))


def train(rule_name: str, data: Dataset, backend: str = "jax", seed: int = 0,
          progress: bool = True, eval_every: int = 1, monitor=None, seeds: int | None = None,
          **overrides) -> TrainResult:
    """Train ``rule_name`` on ``data``; overrides replace the rule's defaults (epochs=..., ...).

    monitor: optional function state -> dict of numbers, called before training (stored in
    result.initial) and after every epoch (merged into that epoch's history entry), outside the
    timed part: for measurements over training such as an angle between matrices. With seeds it is
    called on each seed's state; the entry gets the mean and, under "<name>_per_seed", the list.

    seeds: train the seeds ``seed, ..., seed + seeds - 1`` together (see the module docstring).
    """
    rule = get_rule(rule_name)
    if seeds is not None and int(seeds) < 1:
        raise ValueError(f"seeds must be a positive number of seeds, got {seeds!r}")
    if rule.kind != "classifier":
        raise ValueError(f"rule {rule_name!r} is an online rule (tutorial 05): run it with "
                         f"course_utils.online.run_rule or `python -m course_utils.run {rule_name}`")
    cfg = {**rule.config(**overrides), "train_size": len(data.x_train)}  # for per-example state
    impl = rule.backend(backend)
    result = TrainResult(rule_name, backend, cfg, None, monitor=monitor)
    if seeds is None:
        result.seeds = [seed]
        run, argument, total = (_train_jax if backend == "jax" else _train_numpy), seed, cfg["epochs"]
    else:
        result.seeds = list(range(seed, seed + int(seeds)))
        run = partial(_train_jax_seeds, sweep=rule.sweep) if backend == "jax" else _train_numpy_seeds
        argument = result.seeds
        total = cfg["epochs"] * (1 if backend == "jax" else len(result.seeds))
    bar = progress_bar(total=total, desc=f"{rule_name} ({backend}" + (f", {seeds} seeds)" if seeds else ")"),
                       disable=not progress, unit="epoch")
    with _closing(bar):
        run(impl, cfg, data, argument, result, bar, eval_every)
    return result


@contextmanager
def _closing(bar):
    """Close the progress bar at the end; when the training fails (an unfinished exercise raises
    NotImplementedError at the first step), remove it rather than leave a bar stuck at 0%. (The bar is
    advanced by hand, not iterated: a bar that is iterated closes itself, leaving its line, before
    the exception reaches here.)"""
    try:
        yield bar
    except BaseException:
        bar.leave = False
        raise
    finally:
        bar.close()


def _record(result, impl, cfg, data, epoch, losses, seconds, bar, evaluate):
    entry = {"epoch": epoch + 1, "train_loss": float(np.mean(losses)), "seconds": seconds}
    if evaluate:
        entry["train_accuracy"] = _accuracy(impl, result.state, cfg, data.x_train, data.y_train)
        entry["test_accuracy"] = _accuracy(impl, result.state, cfg, data.x_test, data.y_test)
    if result.monitor is not None:
        entry.update(result.monitor(result.state))
    status = {"loss": f"{entry['train_loss']:.4f}"}
    if "test_accuracy" in entry:            # from the evaluation, or from a monitor that measures it
        status["test"] = f"{entry['test_accuracy']:.3f}"
    bar.set_postfix(status, refresh=False)
    result.history.append(entry)
    result.epoch_seconds.append(seconds)
    bar.update(1)


def _train_numpy(impl, cfg, data, seed, result, bar, eval_every):
    rng = np.random.default_rng(seed)
    x_all = data.x_train.astype(np.float64)
    y_all = one_hot(data.y_train)
    result.state = impl.init(rng, cfg)
    if result.monitor is not None:
        result.initial = result.monitor(result.state)
    batch_size = cfg["batch_size"]
    n_batches = len(x_all) // batch_size
    all_losses = []
    for epoch in range(cfg["epochs"]):
        start = time.perf_counter()
        order = rng.permutation(len(x_all))
        losses = []
        for b in range(n_batches):
            idx = order[b * batch_size:(b + 1) * batch_size]
            batch = {"x": x_all[idx], "y": y_all[idx], "index": idx}
            result.state, metrics = impl.step(result.state, batch, rng, cfg)
            losses.append(metrics["loss"])
        seconds = time.perf_counter() - start
        all_losses.extend(losses)
        last = epoch == cfg["epochs"] - 1
        _record(result, impl, cfg, data, epoch, losses, seconds, bar,
                last or (epoch + 1) % eval_every == 0)
    result.step_losses = np.asarray(all_losses, dtype=np.float64)


def make_jax_epoch(step, cfg, n_train: int, seeds: bool = False, sweep: str = "vmap", mesh=None):
    """The jitted function that runs one epoch of ``step``: shuffle, then lax.scan over batches.

    epoch(state, x (n_train, D), y (n_train, C), key) -> (state, {"loss": (n_batches,)})
    seeds=True: over a leading seed axis of ``state`` and ``key`` (the data is shared), so the metrics
    are (S, n_batches); ``sweep`` says how one device runs its seeds: "vmap", one batched program, or
    "map", one seed after the other inside the program (lax.map: each seed's step is the single run's
    own, for rules whose batched products run slower per seed than one run's). ``mesh``: a one-axis
    ("seed") device mesh over which a "map" sweep splits its seeds, each device mapping over its share
    (a "vmap" sweep is split by the sharding of its inputs).
    """
    import jax
    import jax.numpy as jnp

    batch_size = cfg["batch_size"]
    n_batches = n_train // batch_size

    def epoch(state, x, y, key):
        key_order, key_steps = jax.random.split(key)
        order = jax.random.permutation(key_order, n_train)[:n_batches * batch_size]
        batches = order.reshape(n_batches, batch_size)

        def body(state, inputs):
            idx, step_key = inputs
            batch = {"x": jnp.take(x, idx, axis=0), "y": jnp.take(y, idx, axis=0), "index": idx}
            return step(state, batch, step_key, cfg)

        return jax.lax.scan(body, state, (batches, jax.random.split(key_steps, n_batches)))

    if seeds and sweep not in ("vmap", "map"):
        raise ValueError(f"sweep must be 'vmap' or 'map', got {sweep!r}")
    if seeds and sweep == "map":
        one = epoch

        def epoch(state, x, y, key):
            return jax.lax.map(lambda pair: one(pair[0], x, y, pair[1]), (state, key))

        if mesh is not None:
            from jax.sharding import PartitionSpec
            seed, shared = PartitionSpec("seed"), PartitionSpec()
            epoch = jax.shard_map(epoch, mesh=mesh, in_specs=(seed, shared, shared, seed), out_specs=seed)
    elif seeds:
        epoch = jax.vmap(epoch, in_axes=(0, None, None, 0))
    return jax.jit(epoch, donate_argnums=0)


def _train_jax(impl, cfg, data, seed, result, bar, eval_every):
    import jax
    import jax.numpy as jnp

    key = jax.random.PRNGKey(seed)
    key, init_key = jax.random.split(key)
    # a private copy: the epoch function donates its state, and no two leaves may share a buffer
    state = jax.tree_util.tree_map(jnp.array, impl.init(init_key, cfg))
    if result.monitor is not None:
        result.initial = result.monitor(state)
    x_train = jnp.asarray(data.x_train, dtype=jnp.float32)
    y_train = jnp.asarray(one_hot(data.y_train), dtype=jnp.float32)
    bar.set_postfix_str("compiling")
    start = time.perf_counter()
    epoch_fn = make_jax_epoch(impl.step, cfg, len(data.x_train)).lower(
        state, x_train, y_train, key).compile()
    result.compile_seconds = time.perf_counter() - start
    bar.set_postfix_str(f"compiled in {result.compile_seconds:.1f} s")
    all_losses = []
    for epoch in range(cfg["epochs"]):
        key, epoch_key = jax.random.split(key)
        start = time.perf_counter()
        state, metrics = epoch_fn(state, x_train, y_train, epoch_key)
        losses = np.asarray(jax.block_until_ready(metrics["loss"]))
        seconds = time.perf_counter() - start
        result.state = state
        all_losses.append(losses)
        last = epoch == cfg["epochs"] - 1
        _record(result, impl, cfg, data, epoch, losses, seconds, bar,
                last or (epoch + 1) % eval_every == 0)
    result.step_losses = np.concatenate(all_losses).astype(np.float64)


# --- seed sweeps --------------------------------------------------------------------------------

def use_host_devices(count: int | None = None) -> bool:
    """Ask XLA for ``count`` CPU devices (default: one per core), so that a seed sweep can split its
    seeds across them. It must run before JAX starts; it returns False (and changes nothing) if JAX
    has started already or the flag is set. The runner calls it; a notebook may, in its first cell."""
    import os
    import sys
    flag = "--xla_force_host_platform_device_count"
    if "jax" in sys.modules or flag in os.environ.get("XLA_FLAGS", ""):
        return False
    count = count or os.cpu_count() or 1
    os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {flag}={count}".strip()
    return True


def seed_sharding(num_seeds: int):
    """(seed-axis sharding, replicated sharding) over the largest number of this backend's devices that
    divides ``num_seeds``; (None, None) when that is one device."""
    import jax
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    devices = jax.devices()
    count = max(d for d in range(1, min(len(devices), num_seeds) + 1) if num_seeds % d == 0)
    if count == 1:
        return None, None
    mesh = Mesh(np.array(devices[:count]), ("seed",))
    return NamedSharding(mesh, PartitionSpec("seed")), NamedSharding(mesh, PartitionSpec())


def _seed_slice(tree, i):
    import jax
    return jax.tree_util.tree_map(lambda a: a[i], tree)


def _per_seed_monitor(monitor, states, num_seeds) -> dict:
    values = [monitor(_seed_slice(states, i)) for i in range(num_seeds)]
    out = {}
    for key in values[0]:
        column = [float(v[key]) for v in values]
        out[key], out[f"{key}_per_seed"] = float(np.mean(column)), column
    return out


def _record_seeds(result, entry, bar):
    status = {"loss": f"{entry['train_loss']:.4f}"}
    if "test_accuracy" in entry:
        status["test"] = f"{entry['test_accuracy']:.3f}"
    bar.set_postfix(status, refresh=False)
    result.history.append(entry)
    result.epoch_seconds.append(entry["seconds"])


def _train_jax_seeds(impl, cfg, data, seeds, result, bar, eval_every, sweep="vmap"):
    import jax
    import jax.numpy as jnp

    split = jax.vmap(jax.random.split)            # each seed's key splits exactly as in _train_jax
    keys = split(jnp.stack([jax.random.PRNGKey(s) for s in seeds]))
    keys, init_keys = keys[:, 0], keys[:, 1]
    state = jax.vmap(lambda k: impl.init(k, cfg))(init_keys)
    state = jax.tree_util.tree_map(jnp.array, state)
    x_train = jnp.asarray(data.x_train, dtype=jnp.float32)
    y_train = jnp.asarray(one_hot(data.y_train), dtype=jnp.float32)
    per_seed, replicated = seed_sharding(len(seeds))
    if per_seed is not None:                      # each device trains its share of the seeds
        state, keys = jax.device_put(state, per_seed), jax.device_put(keys, per_seed)
        x_train, y_train = jax.device_put(x_train, replicated), jax.device_put(y_train, replicated)
    if result.monitor is not None:
        result.initial = _per_seed_monitor(result.monitor, state, len(seeds))
    predict = jax.jit(jax.vmap(lambda st, x: impl.predict(st, x, cfg), in_axes=(0, None)))

    def accuracies(x, y, chunk=10_000):
        preds = np.concatenate([np.asarray(predict(state, x[i:i + chunk])) for i in range(0, len(x), chunk)],
                               axis=1)
        return [float(a) for a in np.mean(preds == np.asarray(y)[None, :], axis=1)]

    bar.set_postfix_str("compiling")
    start = time.perf_counter()
    epoch_keys = split(keys)[:, 1]
    mesh = per_seed.mesh if per_seed is not None else None
    epoch_fn = make_jax_epoch(impl.step, cfg, len(data.x_train), seeds=True, sweep=sweep, mesh=mesh).lower(
        state, x_train, y_train, epoch_keys).compile()
    result.compile_seconds = time.perf_counter() - start
    bar.set_postfix_str(f"compiled in {result.compile_seconds:.1f} s")
    all_losses = []
    for epoch in range(cfg["epochs"]):
        pairs = split(keys)
        keys, epoch_keys = pairs[:, 0], pairs[:, 1]
        start = time.perf_counter()
        state, metrics = epoch_fn(state, x_train, y_train, epoch_keys)
        losses = np.asarray(jax.block_until_ready(metrics["loss"]))      # (S, n_batches)
        seconds = time.perf_counter() - start
        result.state = state
        all_losses.append(losses)
        entry = {"epoch": epoch + 1, "train_loss": float(np.mean(losses)), "seconds": seconds,
                 "train_loss_per_seed": [float(v) for v in losses.mean(axis=1)]}
        if epoch == cfg["epochs"] - 1 or (epoch + 1) % eval_every == 0:
            for split_name, x, y in (("train", data.x_train, data.y_train), ("test", data.x_test, data.y_test)):
                values = accuracies(x, y)
                entry[f"{split_name}_accuracy"] = float(np.mean(values))
                entry[f"{split_name}_accuracy_per_seed"] = values
        if result.monitor is not None:
            entry.update(_per_seed_monitor(result.monitor, state, len(seeds)))
        _record_seeds(result, entry, bar)
        bar.update(1)
    result.step_losses = np.concatenate(all_losses, axis=1).astype(np.float64)   # (S, steps)


def _train_numpy_seeds(impl, cfg, data, seeds, result, bar, eval_every):
    """The NumPy reference has no vmap: the seeds run one after the other, and each epoch's time is the
    sum over seeds (the time of that epoch for all of them)."""
    runs = []
    for seed in seeds:
        run = TrainResult(result.rule, result.backend, cfg, None, monitor=result.monitor)
        _train_numpy(impl, cfg, data, seed, run, bar, eval_every)
        runs.append(run)
    result.state = [run.state for run in runs]
    result.step_losses = np.stack([run.step_losses for run in runs])
    if result.monitor is not None:
        result.initial = _merge_seed_entries([run.initial for run in runs], ())
    for entries in zip(*(run.history for run in runs)):
        entry = _merge_seed_entries(entries, ("epoch",))
        entry["seconds"] = float(sum(e["seconds"] for e in entries))
        result.history.append(entry)
        result.epoch_seconds.append(entry["seconds"])


def _merge_seed_entries(entries, same) -> dict:
    merged = {key: entries[0][key] for key in same}
    for key in entries[0]:
        if key in same or key == "seconds":
            continue
        column = [float(e[key]) for e in entries]
        merged[key], merged[f"{key}_per_seed"] = float(np.mean(column)), column
    return merged


def train_estimator(gradient_fn, data: Dataset, seed: int = 0, progress: bool = True,
                    base_rule: str = "backprop", **overrides) -> TrainResult:
    """Train the MLP with your own gradient estimator (NumPy backend), e.g. a notebook exercise.

    gradient_fn(params, x, y, rng, cfg) -> (grads, loss); the settings are base_rule's defaults
    updated with ``overrides`` (learning_rate=..., epochs=..., sigma=...).
    """
    from .mlp import init_mlp, predict
    rule = get_rule(base_rule)
    cfg = rule.config(**overrides)
    impl = numpy_gradient_backend(gradient_fn, init_mlp, predict)
    result = TrainResult(f"custom ({base_rule} settings)", "numpy", cfg, None)
    bar = progress_bar(total=cfg["epochs"], desc="your rule", disable=not progress, unit="epoch")
    with _closing(bar):
        _train_numpy(impl, cfg, data, seed, result, bar, 1)
    return result
