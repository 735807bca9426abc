"""Tutorial 06's study, budgeted: train every rule over several seeds, keep shared checkpoints, and put
every rule on the map at each checkpoint (course_utils.synthesis). Three sizes of the same study:

    fast      CI and autograding (COURSE_FAST=1): a smoke run, too small to read
    default   what the notebook runs in full mode: a couple of minutes on 2 cores
    full      the study the text's "full study" numbers come from: one flag in the notebook
              (FULL_STUDY = True) or one command,

                  python -m course_utils.synthesis_study full [--data offline|auto] [--ship]

              Its results are cached under the course's cache folder ($COURSE_DATA_DIR or
              ~/.cache/course_utils, synthesis/), keyed by the settings, the data and the source of the
              rules, and reused when the same key comes back; ``--ship`` also writes them into the package
              (course_utils/data/synthesis_full_study.py), so that every student sees them without
              running it.

``Study(name, data)`` holds one study: ``train()`` (the seed sweep), ``measure_map()`` (the map at every
checkpoint), ``summary`` (a JSON-able dict of everything the notebook prints and draws).
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from . import synthesis

# n_train / n_test digits; seeds; epochs; checkpoints: the epochs (0 = initialisation) at which every rule
# is put on the map; samples: updates per rule and checkpoint (by rule where a rule needs more or fewer:
# weight perturbation's noise is ~P times its signal, forward-forward's samples are the dearest).
STUDIES = {
    "fast": {"n_train": 500, "n_test": 500, "seeds": 2, "epochs": 1, "checkpoints": (0, 1),
             "samples": 64, "samples_by_rule": {"weight_perturbation": 256, "forward_forward": 16, "eqprop": 16}},
    "default": {"n_train": 2000, "n_test": 1000, "seeds": 4, "epochs": 3, "checkpoints": (0, 1, 3),
                "samples": 256, "samples_by_rule": {"weight_perturbation": 1024, "forward_forward": 64,
                                                    "eqprop": 128}},
    "full": {"n_train": 4000, "n_test": 1000, "seeds": 8, "epochs": 10, "checkpoints": (0, 1, 3, 10),
             "samples": 1024, "samples_by_rule": {"weight_perturbation": 8192, "forward_forward": 256,
                                                  "eqprop": 256}},
}
CHUNK = 16                          # samples per chunk (and per jackknife block) on the device
SHIPPED = Path(__file__).parent / "data" / "synthesis_full_study.py"
# what a study's numbers depend on: the rules' implementations (whole modules) and the measurement's
# functions (their source, so that a change in a figure does not throw a cached study away)
SOURCES = ("mlp.py", "perturbation.py", "weight_transport.py", "eqprop.py", "forward_forward.py", "rules.py",
           "training.py", "jax/mlp.py", "jax/perturbation.py", "jax/weight_transport.py", "jax/eqprop.py",
           "jax/forward_forward.py", "jax/synthesis.py")
MEASUREMENT = ("_minibatch_indices", "sample_sums", "_estimates", "map_coordinates", "measure_rule",
               "weight_perturbation_snr", "sweep", "accuracy_summary", "seconds_per_step",
               "forward_pass_equivalents", "forward_macs", "flops_per_example", "random_numbers_per_example")


def settings(name: str) -> dict:
    if name not in STUDIES:
        raise ValueError(f"unknown study {name!r}: choose one of {', '.join(STUDIES)}")
    return {**STUDIES[name], "name": name, "map_batch": synthesis.MAP_BATCH, "chunk": CHUNK}


def samples_for(study: dict, rule: str) -> int:
    return int(study["samples_by_rule"].get(rule, study["samples"]))


def _json(value):
    """NumPy scalars and arrays, tuples and NaN -> plain JSON (NaN as None)."""
    if isinstance(value, dict):
        return {str(k): _json(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return _json(value.tolist())
    if isinstance(value, (list, tuple)):
        return [_json(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return None if not np.isfinite(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def source_hash() -> str:
    import inspect
    root = Path(__file__).parent
    digest = hashlib.sha256()
    for name in SOURCES:
        path = root / name
        digest.update(name.encode() + (path.read_bytes() if path.exists() else b""))
    for name in MEASUREMENT:
        digest.update(inspect.getsource(getattr(synthesis, name)).encode())
    for method in (Study.train, Study.measure_map):
        digest.update(inspect.getsource(method).encode())
    return digest.hexdigest()


def study_key(study: dict, data, rules) -> str:
    """What a study's numbers depend on: its settings, the data (source and sizes), the rules' settings,
    the course's source and JAX's version."""
    import jax

    from .registry import get_rule
    what = {"study": _json(study), "data": [data.source, len(data.x_train), len(data.x_test)],
            "rules": {r: repr(sorted(get_rule(r).config().items())) for r in rules},
            "source": source_hash(), "jax": jax.__version__}
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()


def cache_path(name: str, key: str) -> Path:
    from .data import default_cache_dir
    return default_cache_dir() / "synthesis" / f"{name}-{key[:16]}.json"


def machine() -> dict:
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
            "cores": os.cpu_count(), "load_average_1_5_15_min": [round(v, 2) for v in load]}


def shipped() -> dict | None:
    """The full study shipped with the package (None if it has not been shipped)."""
    try:
        from .data import synthesis_full_study
    except ImportError:
        return None
    return synthesis_full_study.STUDY


class Study:
    """One study (``name`` in STUDIES) on ``data`` (the notebook's digits; subset to the study's sizes)."""

    def __init__(self, name: str, data, rules=None, progress: bool = True, use_cache: bool | None = None):
        from .registry import all_rules
        self.settings = settings(name)
        self.data = data.subset(n_train=self.settings["n_train"], n_test=self.settings["n_test"])
        self.rules = list(rules or all_rules("classifier"))
        self.progress = progress
        self.key = study_key(self.settings, self.data, self.rules)
        self.results = None                      # {rule: TrainResult} once trained here
        self.summary = {"settings": _json(self.settings), "key": self.key, "rules": self.rules,
                        "data": {"source": self.data.source, "n_train": len(self.data.x_train),
                                 "n_test": len(self.data.x_test)}}
        self.loaded_from = None
        use_cache = (name == "full") if use_cache is None else use_cache
        if use_cache:
            self._load()

    # --- the cache --------------------------------------------------------------------------------------
    def _load(self):
        path = cache_path(self.settings["name"], self.key)
        if path.exists():
            self.summary, self.loaded_from = json.loads(path.read_text()), str(path)
            return
        ship = shipped()
        if ship is not None and ship.get("key") == self.key:
            self.summary, self.loaded_from = ship, "the package (course_utils/data/synthesis_full_study.py)"

    def save(self) -> Path:
        path = cache_path(self.settings["name"], self.key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.summary))
        return path

    @property
    def complete(self) -> bool:
        return "accuracy" in self.summary and "map" in self.summary

    # --- the two halves ---------------------------------------------------------------------------------
    def train(self):
        """The seed sweep with the checkpoints: summary["accuracy"] (synthesis.accuracy_summary) and
        summary["seconds"]["sweep"/"compile"]. Returns self.results (None when loaded from the cache)."""
        if "accuracy" in self.summary:
            return self.results
        s = self.settings
        start = time.perf_counter()
        self.summary["machine_before"] = machine()
        self.results = synthesis.sweep(self.rules, self.data, seeds=s["seeds"], epochs=s["epochs"],
                                       checkpoints=s["checkpoints"], progress=self.progress)
        n = len(self.data.x_train)
        self.summary["accuracy"] = _json(synthesis.accuracy_summary(self.results, n_train=n))
        self.summary["cost"] = {}
        for rule, r in self.results.items():
            cfg = r.config
            self.summary["cost"][rule] = _json({
                "network": "-".join(map(str, cfg["sizes"])), "batch_size": cfg["batch_size"],
                "forward_macs": synthesis.forward_macs(cfg), "parts": synthesis.forward_pass_equivalents(rule, cfg),
                "forward_pass_equivalents": synthesis.step_cost(rule, cfg),
                "flops_per_example": synthesis.flops_per_example(rule, cfg),
                "random_numbers_per_example": synthesis.random_numbers_per_example(rule, cfg),
                "us_per_example": 1e6 * synthesis.seconds_per_step(r, n) / cfg["batch_size"]})
        self.summary["seconds"] = {"sweep": time.perf_counter() - start,
                                   "compile": float(sum(r.compile_seconds for r in self.results.values()))}
        return self.results

    def measure_map(self):
        """Every rule on the map at every checkpoint: summary["map"][rule][str(epoch)] =
        synthesis.measure_rule(...) at that checkpoint, on minibatches of MAP_BATCH for every rule."""
        if "map" in self.summary:
            return self.summary["map"]
        if self.results is None:
            self.train()
        from .progress import progress_bar
        s, start = self.settings, time.perf_counter()
        out = {}
        tasks = [(rule, epoch) for rule in self.rules for epoch in s["checkpoints"]]
        with progress_bar(total=len(tasks), desc="measuring the map", disable=not self.progress,
                          unit="point") as bar:
            for rule, epoch in tasks:
                bar.set_postfix_str(f"{rule}, epoch {epoch}")
                r = self.results[rule]
                m = synthesis.measure_rule(rule, r.checkpoints[epoch], self.data, r.config,
                                           samples_for(s, rule), s["chunk"], seed=0, batch_size=s["map_batch"])
                out.setdefault(rule, {})[str(epoch)] = _json(m)     # (with its "seconds")
                bar.update(1)
            bar.set_postfix_str("")
        self.summary["map"] = out
        self.summary.setdefault("seconds", {})["map"] = time.perf_counter() - start
        self.summary["machine_after"] = machine()
        self.summary["created"] = time.strftime("%Y-%m-%d %H:%M")
        return out

    def note(self, full_gives: str):
        """In fast mode, one line beside a number the text interprets (nothing otherwise)."""
        if self.settings["name"] == "fast":
            print(f"fast mode: too few samples to read this; the full study gives {full_gives}")

    def run(self):
        self.train()
        self.measure_map()
        return self.summary


# --- reading a study --------------------------------------------------------------------------------------

def final(summary: dict, rule: str) -> dict:
    """The rule's map coordinates at the study's last checkpoint."""
    last = str(max(int(e) for e in summary["map"][rule]))
    return summary["map"][rule][last]


def map_table(summary: dict, epoch=None) -> list[dict]:
    """One row per rule: cosine (+- se), SNR (+- se), FLOPs per example, at ``epoch`` (default: the last)."""
    rows = []
    for rule in summary["rules"]:
        points = summary["map"][rule]
        e = str(max(int(k) for k in points)) if epoch is None else str(epoch)
        m, c = points[e], summary["cost"][rule]
        rows.append({"rule": rule, "epoch": int(e), "objective": m.get("objective"), "cosine": m["cosine"], "cosine_se": m["cosine_se"],
                     "cosine_plain": m["cosine_plain"], "snr": m["snr"], "snr_se": m["snr_se"],
                     "samples": m["samples"], "mflops_per_example": c["flops_per_example"] / 1e6,
                     "us_per_example": c["us_per_example"], "accuracy": summary["accuracy"][rule]["mean"],
                     "accuracy_std": summary["accuracy"][rule]["std"]})
    return rows


def format_number(value, se=None, digits=3):
    if value is None:
        return "-"
    return f"{value:.{digits}f}" + ("" if se is None else f" +- {se:.{digits}f}")


def print_map_table(summary: dict, epoch=None, file=None):
    print(f"{'rule':<27} {'cosine (bias)':>17} {'SNR of one update':>19} {'samples':>8} {'MFLOP/example':>14} "
          f"{'us/example':>11}", file=file)
    for row in map_table(summary, epoch):
        cos = "apart: own objective" if row["objective"] == "own objective" else \
            "not resolved" if row["cosine"] is None else format_number(row["cosine"], row["cosine_se"])
        print(f"{row['rule']:<27} {cos:>17} {format_number(row['snr'], row['snr_se'], 4):>19} {row['samples']:>8} "
              f"{row['mflops_per_example']:>14.2f} {row['us_per_example']:>11.1f}", file=file)


def print_accuracy(summary: dict, beside: dict | None = None, file=None):
    """Final test accuracy per rule, mean +- std over seeds, with the per-seed values; ``beside``: another
    study's (the shipped full study) in a column of its own."""
    other = f"   {'full study':<18}" if beside else ""
    print(f"{'rule':<27} {'test accuracy':<16} {'per seed':<40}{other}", file=file)
    for rule in summary["rules"]:
        a = summary["accuracy"][rule]
        per_seed = " ".join(f"{v:.3f}" for v in a["per_seed"])
        extra = ""
        if beside and rule in beside.get("accuracy", {}):
            b = beside["accuracy"][rule]
            extra = f"   {b['mean']:.3f} +- {b['std']:.3f}"
        print(f"{rule:<27} {a['mean']:.3f} +- {a['std']:.3f}   {per_seed:<40}{extra}", file=file)


def sums_from_samples(updates, true=None, chunk: int = 8) -> dict:
    """What synthesis.sample_sums returns, from samples held in memory: updates (S, P), true (S, P) or
    None, in chunks of ``chunk`` (S rounded down to a multiple)."""
    u = np.asarray(updates, dtype=np.float64)
    K = len(u) // chunk
    u = u[:K * chunk].reshape(K, chunk, -1)
    g = np.zeros_like(u) if true is None else np.asarray(true, dtype=np.float64)[:K * chunk].reshape(K, chunk, -1)
    return {"u": u.sum(axis=1), "g": None if true is None else g.sum(axis=1), "u2": (u * u).sum(axis=(0, 1)),
            "uu": (u * u).sum(axis=2), "gg": (g * g).sum(axis=2), "ug": (u * g).sum(axis=2)}


def ship(summary: dict, path: Path = SHIPPED) -> Path:
    """Write a study into the package as a Python module (so that it ships with every install)."""
    text = json.dumps(summary, indent=1, sort_keys=True)
    path.write_text('"""Tutorial 06\'s full study, as shipped with the package. Generated by\n'
                    "`python -m course_utils.synthesis_study full --ship`; do not edit by hand.\"\"\"\n"
                    "import json\n\n"
                    f"STUDY = json.loads(r'''{text}''')\n")
    return path


def main(argv=None) -> int:
    import argparse

    from .data import load_mnist
    parser = argparse.ArgumentParser(prog="python -m course_utils.synthesis_study",
                                     description="Run tutorial 06's study and cache it (see the module docstring).")
    parser.add_argument("name", choices=list(STUDIES), nargs="?", default="full")
    parser.add_argument("--data", choices=["offline", "auto", "mnist"], default="offline")
    parser.add_argument("--ship", action="store_true", help="also write it into the package")
    parser.add_argument("--no-cache", action="store_true", help="run it even if it is cached")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    study = Study(args.name, load_mnist(args.data), use_cache=not args.no_cache)
    if study.complete:
        print(f"loaded from {study.loaded_from}")
    study.run()
    if study.loaded_from is None:
        study.summary["seconds"]["total"] = time.perf_counter() - start
        print(f"cached in {study.save()}")
    if args.ship:
        print(f"shipped in {ship(study.summary)}")
    print_map_table(study.summary)
    print(f"{time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
