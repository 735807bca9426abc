"""Seed sweeps (issue 13): S seeds trained as one program give what S separate runs with the same keys
give, for every registered classifier rule, on one device (vmap) and split over host devices (sharded),
and the runner reports them."""
import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from course_utils.registry import all_rules
from course_utils.training import train, use_host_devices

CLASSIFIERS = list(all_rules("classifier"))


def _leaves(tree):
    import jax
    return [np.asarray(leaf) for leaf in jax.tree_util.tree_leaves(tree)]


def _close(sweep_leaf, single_leaf, rtol=2e-3):
    """float32 agreement, relative to the leaf's scale (a batched product rounds differently)."""
    scale = max(float(np.max(np.abs(single_leaf))), 1e-6) if single_leaf.size else 1.0
    return float(np.max(np.abs(sweep_leaf - single_leaf), initial=0.0)) <= rtol * scale


@pytest.fixture(scope="module")
def small(offline_data):
    return offline_data.subset(400, 100)


@pytest.mark.parametrize("rule", CLASSIFIERS)
def test_sweep_equals_separate_runs_jax(rule, small):
    sweep = train(rule, small, seeds=2, seed=3, epochs=1, progress=False)
    singles = [train(rule, small, seed=s, epochs=1, progress=False) for s in (3, 4)]
    assert sweep.seeds == [3, 4]
    for i, single in enumerate(singles):
        pairs = list(zip(_leaves(sweep.state), _leaves(single.state)))
        assert pairs and all(a[i].shape == b.shape and _close(a[i], b) for a, b in pairs), rule
        np.testing.assert_allclose(sweep.step_losses[i], single.step_losses, rtol=2e-3, atol=1e-5)
    # the accuracies are each seed's own, and the headline is their mean
    entry = sweep.final
    expected = [s.final["test_accuracy"] for s in singles]
    assert np.allclose(entry["test_accuracy_per_seed"], expected, atol=0.02)
    assert entry["test_accuracy"] == pytest.approx(np.mean(entry["test_accuracy_per_seed"]))
    assert len(entry["train_accuracy_per_seed"]) == 2 and len(sweep.epoch_seconds) == 1
    # different seeds are different networks (not one network copied S times)
    first = _leaves(sweep.state)[0]
    assert not np.allclose(first[0], first[1])


def test_sweep_equals_separate_runs_numpy(small):
    sweep = train("node_perturbation", small, backend="numpy", seeds=2, seed=1, epochs=1, progress=False)
    singles = [train("node_perturbation", small, backend="numpy", seed=s, epochs=1, progress=False)
               for s in (1, 2)]
    for i, single in enumerate(singles):
        for k in single.state:
            np.testing.assert_array_equal(sweep.state[i][k], single.state[k])
    assert sweep.final["test_accuracy_per_seed"] == [s.final["test_accuracy"] for s in singles]
    assert sweep.epoch_seconds == [sweep.final["seconds"]] and np.shape(sweep.step_losses) == (2, 400 // 8)


def test_monitor_is_called_on_each_seed(small):
    def norm(state):
        return {"w_norm": float(np.linalg.norm(np.asarray(state["W1"])))}

    sweep = train("backprop", small, seeds=3, epochs=1, progress=False, monitor=norm)
    singles = [train("backprop", small, seed=s, epochs=1, progress=False, monitor=norm) for s in range(3)]
    assert np.allclose(sweep.initial["w_norm_per_seed"], [s.initial["w_norm"] for s in singles], rtol=1e-6)
    assert np.allclose(sweep.final["w_norm_per_seed"], [s.final["w_norm"] for s in singles], rtol=1e-4)
    assert sweep.final["w_norm"] == pytest.approx(np.mean(sweep.final["w_norm_per_seed"]))


@pytest.mark.parametrize("rule", ["backprop", "eqprop"])
def test_both_ways_to_run_a_devices_seeds_give_the_same_networks(rule, small, monkeypatch):
    """A rule's ``sweep``: its seeds vmapped into one batched program, or mapped one after the other inside
    one program, train the same networks (a batched product rounds differently: float32 agreement)."""
    import dataclasses
    from course_utils import registry
    results = {}
    for way in ("vmap", "map"):
        monkeypatch.setitem(registry.RULES, rule, dataclasses.replace(registry.RULES[rule], sweep=way))
        results[way] = train(rule, small, seeds=3, seed=5, epochs=1, progress=False)
    assert all(_close(a, b) for a, b in zip(_leaves(results["vmap"].state), _leaves(results["map"].state)))
    assert results["vmap"].final["test_accuracy_per_seed"] == pytest.approx(
        results["map"].final["test_accuracy_per_seed"], abs=0.02)


def test_bad_seed_counts_sweeps_and_late_device_requests():
    with pytest.raises(ValueError, match="positive"):
        train("backprop", None, seeds=0)
    from course_utils.training import make_jax_epoch
    with pytest.raises(ValueError, match="sweep must be"):
        make_jax_epoch(lambda *a: a, {"batch_size": 2}, 4, seeds=True, sweep="pmap")
    import jax  # noqa: F401  (JAX has started in this process: asking for devices now changes nothing)
    assert use_host_devices(4) is False


SHARDED = textwrap.dedent("""
    import json, sys
    import numpy as np
    from course_utils.training import train, use_host_devices
    assert use_host_devices(2)
    import jax
    from course_utils.data import load_mnist
    data = load_mnist("offline").subset(400, 100)
    out = {"devices": len(jax.devices()), "rules": {}}
    for rule in sys.argv[1:]:
        sweep = train(rule, data, seeds=4, seed=7, epochs=1, progress=False)
        worst = 0.0
        for i, s in enumerate(range(7, 11)):
            single = train(rule, data, seed=s, epochs=1, progress=False)
            for a, b in zip(jax.tree_util.tree_leaves(sweep.state), jax.tree_util.tree_leaves(single.state)):
                a, b = np.asarray(a)[i], np.asarray(b)
                if b.size:
                    worst = max(worst, float(np.max(np.abs(a - b))) / max(float(np.max(np.abs(b))), 1e-6))
        shards = len(jax.tree_util.tree_leaves(sweep.state)[0].sharding.device_set)
        out["rules"][rule] = {"worst": worst, "shards": shards}
    print(json.dumps(out))
""")


def test_sharded_sweep_over_host_devices_equals_separate_runs():
    """What the runner does with --seeds: the seed axis split over 2 host devices (its own process,
    since the device count is fixed when JAX starts)."""
    rules = ["backprop", "node_perturbation", "kolen_pollack", "eqprop", "forward_forward"]
    proc = subprocess.run([sys.executable, "-c", SHARDED, *rules], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["devices"] == 2
    for rule in rules:
        assert out["rules"][rule]["shards"] == 2, (rule, out)       # really split over both devices
        assert out["rules"][rule]["worst"] < 2e-3, (rule, out)


def _run(*args):
    return subprocess.run([sys.executable, "-m", "course_utils.run", *args], capture_output=True, text=True,
                          timeout=600)


def test_runner_reports_seeds():
    proc = _run("backprop", "--seeds", "2", "--epochs", "1", "--batch-size", "50", "--json", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["seeds"] == [0, 1]
    assert len(report["test_accuracy_per_seed"]) == len(report["train_accuracy_per_seed"]) == 2
    assert report["test_accuracy"] == pytest.approx(np.mean(report["test_accuracy_per_seed"]))
    assert "over 2 seeds" in proc.stdout.splitlines()[0]
    proc = _run("backprop", "--seeds", "0")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "--seeds" in proc.stderr
