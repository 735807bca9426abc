"""The terminal runner and the rule registry."""
import json
import subprocess
import sys

import pytest

from course_utils.registry import all_rules
from course_utils.run import parse_setting

REQUIRED = {"rule", "backend", "data", "epochs", "train_size", "test_size", "batch_size",
            "train_accuracy", "test_accuracy", "seconds_per_epoch", "compile_seconds", "history"}


def _run(*args):
    return subprocess.run([sys.executable, "-m", "course_utils.run", *args], capture_output=True,
                          text=True, timeout=600)


@pytest.mark.parametrize("backend", ["jax", "numpy"])
def test_json_report_contract(backend):
    proc = _run("backprop", "--epochs", "2", "--batch-size", "50", "--backend", backend, "--json",
                "--no-progress")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert REQUIRED <= set(report)
    assert report["rule"] == "backprop" and report["backend"] == backend and report["data"] == "offline"
    assert (report["epochs"], report["batch_size"], report["train_size"], report["test_size"]) == (2, 50, 4000, 1000)
    assert len(report["history"]) == 2 and 0.5 < report["test_accuracy"] <= 1.0
    assert report["seconds_per_epoch"] > 0 and report["compile_seconds"] >= 0
    if backend == "numpy":
        assert report["compile_seconds"] == 0


def test_every_registered_rule_runs_one_epoch_with_both_backends(offline_data):
    from course_utils.training import train
    small = offline_data.subset(400, 100)
    for name, rule in all_rules("classifier").items():
        for backend in ("numpy", "jax"):
            result = train(name, small, backend=backend, epochs=1, progress=False)
            assert len(result.history) == 1 and 0.0 <= result.final["test_accuracy"] <= 1.0, (name, backend)
            assert result.final["train_loss"] == result.final["train_loss"], (name, backend)  # not NaN


def test_unknown_rule_and_setting_give_one_line_errors():
    proc = _run("no_such_rule")
    assert proc.returncode == 2 and proc.stderr.strip().count("\n") == 0 and "unknown rule" in proc.stderr
    proc = _run("backprop", "--set", "no_such_setting=3", "--epochs", "1")
    assert proc.returncode == 2 and "no setting" in proc.stderr.strip().splitlines()[-1]


def test_parse_setting():
    assert parse_setting("sizes=(784, 500, 10)") == ("sizes", (784, 500, 10))
    assert parse_setting("learning_rate=0.05") == ("learning_rate", 0.05)
    assert parse_setting("activation=relu") == ("activation", "relu")


def test_compare_prints_a_table_and_saves_the_figure(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "course_utils.compare", "--rules", "backprop",
                           "node_perturbation", "online_decoders_only", "--epochs", "1", "--seeds", "2",
                           "--out", str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    table = proc.stdout.split("All rules on offline digits")[1].splitlines()
    rows = [line.split() for line in table if line.startswith(("backprop", "node_perturbation"))]
    assert [r[0] for r in rows] == ["backprop", "node_perturbation"]
    # test accuracy (mean over 2 seeds), its spread, s/epoch
    assert all(0.0 <= float(r[1]) <= 1.0 and 0.0 <= float(r[2]) < 0.5 and float(r[6]) > 0 for r in rows)
    online = proc.stdout.split("Online rules (tutorial 05)")[1].splitlines()
    online_rows = [line.split() for line in online if line.startswith("online_")]
    assert [r[0] for r in online_rows] == ["online_decoders_only"] and 0 < float(online_rows[0][1]) < 2
    assert (tmp_path / "compare.png").stat().st_size > 10_000
    reports = json.loads((tmp_path / "compare.json").read_text())
    assert [r["rule"] for r in reports] == ["backprop", "node_perturbation", "online_decoders_only"]
    assert all(len(r["test_accuracy_per_seed"]) == 2 for r in reports[:2])
    assert len(reports[2]["nrmse_per_seed"]) == 2


def test_runner_runs_an_online_rule():
    proc = _run("online_decoders_only", "--set", "seconds=4.0", "--seeds", "2", "--json", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["rule"] == "online_decoders_only" and report["seeds"] == [0, 1]
    assert len(report["nrmse_per_seed"]) == 2 and report["nrmse"] > 0
    assert report["simulated_seconds"] == 4.0 and "nrmse" in proc.stdout.splitlines()[0]
    proc = _run("online_decoders_only", "--epochs", "3")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "online rule" in proc.stderr
