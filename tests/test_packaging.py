"""The real wheel, not the editable install: built from a clean copy of the sources, it carries every
sub-package and the bundled digits; installed (not editable) into a fresh environment, it runs a
tutorial from a folder outside the repository.

The fresh environment gets the course package from the wheel only. Its other packages (NumPy, JAX,
ipykernel...) come from this test's environment through a `deps.pth` line naming a folder of links to
that environment's site-packages, minus the course package (its editable finder, its .pth and its
dist-info). A folder named in a .pth file is not a site directory: .pth files in it never run, so the
editable finder cannot come back that way (asserted below).
"""
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "course_utils", "autograder")
PACKAGES = ("course_utils", "autograder")
DATA_FILE = "course_utils/data/mnist_offline.npz"
NOTEBOOK = REPO / "solutions" / "01_perturbation" / "01_perturbation.ipynb"
COURSE_DISTRIBUTION = ("course_utils", "course-utils", "__editable__")


def build_wheel(out: Path) -> Path:
    """`pip wheel` of a clean copy of the sources (no stale build/ folder, nothing written in the repo)."""
    src = out / "src"
    for name in SOURCES:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            src.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, src / name)
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           "-w", str(out), str(src)], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    (wheel,) = out.glob("course_utils-*.whl")
    return wheel


def fresh_env(root: Path) -> tuple[Path, Path]:
    """A new virtual environment without the course package -> (its python, its site-packages)."""
    venv.create(root, with_pip=False, symlinks=True)
    python = root / "bin" / "python"
    site = Path(subprocess.check_output(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True).strip())
    deps = root / "deps"
    deps.mkdir()
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if not entry.name.startswith(COURSE_DISTRIBUTION) and entry.suffix != ".pth":
            (deps / entry.name).symlink_to(entry)
    (site / "deps.pth").write_text(f"{deps}\n")
    return python, site


def clean_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    return {**env, "PYTHONWARNINGS": "ignore", **extra}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    return build_wheel(tmp_path_factory.mktemp("wheel"))


def test_the_wheel_carries_every_package_and_the_digits(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {str(init.relative_to(REPO)) for package in PACKAGES for init in (REPO / package).rglob("*.py")
                if "__pycache__" not in init.parts}
    assert {f"{package}/__init__.py" for package in PACKAGES} <= expected
    assert len([name for name in expected if name.endswith("__init__.py")]) >= 5  # the sub-packages too
    assert expected - names == set(), "missing from the wheel"
    assert DATA_FILE in names
    assert zipfile.ZipFile(wheel).getinfo(DATA_FILE).file_size == (REPO / DATA_FILE).stat().st_size


def test_the_installed_wheel_runs_a_tutorial_outside_the_repository(wheel, tmp_path, monkeypatch):
    import nbclient
    python, site = fresh_env(tmp_path / "env")
    proc = subprocess.run([python, "-m", "pip", "install", "-q", "--no-index", "--no-deps", str(wheel)],
                          capture_output=True, text=True, env=clean_env(), timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert not any(site.glob("__editable__*")) and (site / "course_utils" / "data" / "mnist_offline.npz").is_file()
    work = tmp_path / "run"
    work.mkdir()
    assert REPO not in work.resolve().parents

    # Where the fresh interpreter finds the package: the wheel's copy, and no editable finder anywhere.
    probe = ("import json, sys, site, course_utils, autograder, course_utils.data as d; print(json.dumps("
             "{'course_utils': course_utils.__file__, 'autograder': autograder.__file__, 'data': str(d.OFFLINE_FILE),"
             " 'editable': [m for m in sys.modules if m.startswith('__editable__')]"
             " + [repr(f) for f in sys.meta_path if 'editable' in type(f).__module__.lower()],"
             " 'site_dirs': site.getsitepackages()}))")
    proc = subprocess.run([python, "-c", probe], capture_output=True, text=True, cwd=work, env=clean_env(),
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    where = json.loads(proc.stdout.strip().splitlines()[-1])
    for key in ("course_utils", "autograder", "data"):
        assert Path(where[key]).is_relative_to(site), where
    assert where["editable"] == [], where
    assert str(tmp_path / "env" / "deps") not in where["site_dirs"], where  # a .pth line is no site dir

    # A kernel on the fresh interpreter, found through a kernelspec of its own.
    spec = tmp_path / "jupyter" / "kernels" / "course-wheel"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "course-utils wheel", "language": "python",
        "env": {"COURSE_FAST": "1", "MPLBACKEND": "Agg", "JAX_PLATFORMS": "cpu", "PYTHONWARNINGS": "ignore"}}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.delenv("PYTHONPATH", raising=False)
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)

    nb = nbformat.read(str(NOTEBOOK), as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(
        "import json, course_utils, autograder\n"
        "print(json.dumps([course_utils.__file__, autograder.__file__]))"))
    nbclient.NotebookClient(nb, timeout=600, kernel_name="course-wheel", allow_errors=True,
                            resources={"metadata": {"path": str(work)}}).execute()
    errors = [(i, o.get("ename"), o.get("evalue")) for i, c in enumerate(nb.cells) if c.cell_type == "code"
              for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, errors
    assert all(c.execution_count for c in nb.cells if c.cell_type == "code")  # every cell ran
    printed = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.output_type == "stream")
    assert all(Path(path).is_relative_to(site) for path in json.loads(printed.strip().splitlines()[-1])), printed
