"""Training any registered rule on a Dataset, with either backend, and timing it honestly.

    result = train("node_perturbation", load_mnist("offline"), backend="jax", epochs=5)

Timing: ``seconds_per_epoch`` is the median over epochs of the training time alone (evaluation
excluded). For JAX the epoch function is compiled ahead of time and that cost is reported apart as
``compile_seconds``, so every timed epoch is a steady-state one. A notebook that wants the time a person
waited measures its cell with time.perf_counter(): compilation and evaluation are part of that wait.

Progress: one bar per training run (course_utils.progress), over its epochs, with the loss and test
accuracy of the last evaluated epoch; it says "compiling" while the JAX epoch function compiles.
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field

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
          progress: bool = True, eval_every: int = 1, monitor=None, **overrides) -> TrainResult:
    """Train ``rule_name`` on ``data``; overrides replace the rule's defaults (epochs=..., ...).

    monitor: optional function state -> dict of numbers, called before training (stored in
    result.initial) and after every epoch (merged into that epoch's history entry), outside the
    timed part: for measurements over training such as an angle between matrices.
    """
    rule = get_rule(rule_name)
    cfg = {**rule.config(**overrides), "train_size": len(data.x_train)}  # for per-example state
    impl = rule.backend(backend)
    run = _train_jax if backend == "jax" else _train_numpy
    result = TrainResult(rule_name, backend, cfg, None, monitor=monitor)
    bar = progress_bar(total=cfg["epochs"], desc=f"{rule_name} ({backend})", disable=not progress, unit="epoch")
    with _closing(bar):
        run(impl, cfg, data, seed, result, bar, eval_every)
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


def make_jax_epoch(step, cfg, n_train: int):
    """The jitted function that runs one epoch of ``step``: shuffle, then lax.scan over batches.

    epoch(state, x (n_train, D), y (n_train, C), key) -> (state, {"loss": (n_batches,)})
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
