"""The student edition (autograder.edition): a wheel of the course package without the answers."""
import ast
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from autograder import edition, redaction
from autograder.exercises import EXERCISES

WITHHELD = redaction.withheld_names(EXERCISES.values())


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    return edition.build_student_edition(tmp_path_factory.mktemp("edition") / "dist")


@pytest.fixture(scope="module")
def names(wheel):
    with zipfile.ZipFile(wheel) as z:
        return set(z.namelist())


@pytest.fixture(scope="module")
def unpacked(wheel, tmp_path_factory):
    """The wheel unzipped: what an install puts in site-packages."""
    folder = tmp_path_factory.mktemp("unpacked")
    with zipfile.ZipFile(wheel) as z:
        z.extractall(folder)
    return folder


def _module_path(module: str) -> str:
    return module.replace(".", "/") + ".py"


def test_wheel_is_a_normal_pure_python_wheel(wheel):
    from course_utils import __version__
    assert wheel.is_file() and wheel.parent.is_dir()
    assert wheel.name == f"course_utils-{__version__}-py3-none-any.whl"
    assert zipfile.is_zipfile(wheel)


def test_wheel_holds_the_data_and_not_the_real_autograder(names):
    assert "course_utils/data/mnist_offline.npz" in names
    assert "course_utils/jax/__init__.py" in names
    assert not [n for n in names if n.startswith("autograder/exercises")]
    assert [n for n in names if n.startswith("autograder/")] == ["autograder/__init__.py"]


@pytest.mark.parametrize("module", sorted(WITHHELD))
def test_every_withheld_function_is_only_a_docstring_and_a_raise(wheel, names, module):
    assert _module_path(module) in names, f"{module} is not in the wheel"
    with zipfile.ZipFile(wheel) as z:
        source = z.read(_module_path(module)).decode()
    functions = {node.name: node for node in ast.parse(source).body
                 if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}
    for name, exercise_id in WITHHELD[module].items():
        node = functions[name]
        body = node.body
        if ast.get_docstring(node, clean=False) is not None:
            body = body[1:]
        assert len(body) == 1 and isinstance(body[0], ast.Raise), f"{module}.{name} keeps its body"
        assert exercise_id in ast.unparse(body[0])
        assert "student edition" in ast.unparse(body[0])


# Run in the main venv's interpreter, isolated (-I), with the unzipped wheel first on sys.path: the
# editable install of the full package (a finder on sys.meta_path) must not be what gets imported.
CHILD = textwrap.dedent('''
    import contextlib, inspect, io, json, sys
    from pathlib import Path
    folder = Path(sys.argv[1]).resolve()
    sys.path.insert(0, str(folder))
    import numpy as np
    import autograder, course_utils
    out = {"course_utils": course_utils.__file__, "autograder": autograder.__file__}
    assert Path(course_utils.__file__).resolve().is_relative_to(folder), course_utils.__file__
    assert Path(autograder.__file__).resolve().is_relative_to(folder), autograder.__file__

    from course_utils.perturbation import node_perturbation_gradient
    try:
        node_perturbation_gradient({}, None, None, {}, 0.1)
    except PermissionError as err:
        out["error"] = str(err)
    out["source"] = inspect.getsource(node_perturbation_gradient)

    from course_utils.mlp import forward, init_mlp
    rng = np.random.default_rng(0)
    params = init_mlp(rng, (4, 3, 2), "sigmoid")
    out["y_hat_shape"] = list(forward(params, rng.standard_normal((5, 4)), "sigmoid")["y_hat"].shape)
    from course_utils.data import load_offline
    data = load_offline()
    out["data"] = [len(data.x_train), len(data.x_test), data.source]

    from autograder import assert_exercise, check_exercise
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        out["assert_returns"] = repr(assert_exercise("perturbation.gradient_snr", lambda s: 0.0))
    out["printed"] = printed.getvalue()
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        out["check_returns"] = repr(check_exercise("perturbation.gradient_snr", lambda s: 0.0))
    print(json.dumps(out))
''')


@pytest.fixture(scope="module")
def installed(unpacked, tmp_path_factory):
    done = subprocess.run([sys.executable, "-I", "-c", CHILD, str(unpacked)], capture_output=True,
                          text=True, timeout=300, cwd=tmp_path_factory.mktemp("cwd"),
                          env={**os.environ, "JAX_PLATFORMS": "cpu", "MPLBACKEND": "Agg"})
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_edition_is_what_gets_imported(installed, unpacked):
    for name in ("course_utils", "autograder"):
        assert Path(installed[name]).resolve().is_relative_to(unpacked.resolve())
        assert not Path(installed[name]).resolve().is_relative_to(redaction.PACKAGE_DIR.parent)


def test_a_withheld_reference_raises_and_shows_no_formula(installed):
    assert "student edition" in installed["error"]
    assert "perturbation.node_perturbation" in installed["error"]
    source = installed["source"]
    assert "raise PermissionError" in source
    for formula in ("sigma**2", "sigma ** 2", "loss_change", "layer_gradients("):
        assert formula not in source


def test_helpers_that_are_not_withheld_still_work(installed):
    assert installed["y_hat_shape"] == [5, 2]
    n_train, n_test, source = installed["data"]
    assert n_train > 0 and n_test > 0 and source == "offline"


def test_inline_checks_print_one_line_and_return_none(installed):
    assert installed["assert_returns"] == installed["check_returns"] == "None"
    lines = installed["printed"].splitlines()
    assert len(lines) == 1
    assert "student edition withholds" in lines[0] and "instructor's grader" in lines[0]


def test_an_explicit_package_list_is_rewritten_to_the_packages_present(tmp_path):
    (tmp_path / "course_utils" / "jax").mkdir(parents=True)
    (tmp_path / "course_utils" / "data").mkdir()
    (tmp_path / "autograder").mkdir()
    (tmp_path / "build" / "lib").mkdir(parents=True)            # no __init__.py: not a package
    for package in ("course_utils", "course_utils/jax", "course_utils/data", "autograder"):
        (tmp_path / package / "__init__.py").write_text("")
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "course-utils"\n\n[tool.setuptools]\n'
                         'packages = [\n    "course_utils",\n    "autograder",\n    "autograder.exercises",\n]\n'
                         'include-package-data = true\n\n[tool.setuptools.package-data]\n'
                         'course_utils = ["data/*.npz"]\n')
    packages = edition._packages(tmp_path)
    assert packages == ["autograder", "course_utils", "course_utils.data", "course_utils.jax"]
    edition._list_packages(pyproject, packages)
    text = pyproject.read_text()
    assert ('packages = ["autograder", "course_utils", "course_utils.data", "course_utils.jax"]\n'
            'include-package-data = true\n') in text
    assert "autograder.exercises" not in text and 'course_utils = ["data/*.npz"]' in text


def test_package_discovery_is_left_alone(tmp_path):
    text = ('[tool.setuptools.packages.find]\ninclude = ["course_utils*", "autograder*"]\n\n'
            '[tool.setuptools.package-data]\ncourse_utils = ["data/*.npz", "data/*.md"]\n')
    (tmp_path / "pyproject.toml").write_text(text)
    edition._list_packages(tmp_path / "pyproject.toml", ["course_utils"])
    assert (tmp_path / "pyproject.toml").read_text() == text


def test_a_build_from_an_explicit_package_list_ships_every_package(tmp_path, monkeypatch):
    """pyproject.toml listing packages by hand (an incomplete list, here) still gives a complete
    wheel: the build folder's list is rewritten to the packages present."""
    project = tmp_path / "project"
    project.mkdir()
    for name in edition.PACKAGING_FILES:
        shutil.copyfile(edition.PROJECT_DIR / name, project / name)
    text = (project / "pyproject.toml").read_text()
    text = re.sub(r"^\[tool\.setuptools\.packages\.find\]\n(?:[^\[\n].*\n|\n)*", "", text, flags=re.M)
    text = re.sub(r"^packages\s*=\s*\[[^\]]*\]\n", "", text, flags=re.M)
    listed = 'packages = ["course_utils", "autograder"]\n'
    if re.search(r"^\[tool\.setuptools\]\s*$", text, flags=re.M):
        text = re.sub(r"^\[tool\.setuptools\]\s*\n", lambda m: m.group(0) + listed, text, flags=re.M)
    else:
        text += "\n[tool.setuptools]\n" + listed
    (project / "pyproject.toml").write_text(text)
    monkeypatch.setattr(edition, "PROJECT_DIR", project)
    wheel = edition.build_student_edition(tmp_path / "dist")
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
    assert {"course_utils/jax/perturbation.py", "course_utils/data/__init__.py",
            "course_utils/data/mnist_offline.npz", "autograder/__init__.py"} <= names
    assert not [n for n in names if n.startswith("autograder/exercises")]
