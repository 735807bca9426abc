"""Colab's runtime, rebuilt for the tests: a Python environment with Colab's own versions of every
package that the course, its first cell and a notebook kernel touch, from Colab's published package
list (tests/colab/pip-freeze.txt, a copy of googlecolab/backend-info's; see tests/colab/README.md).

- ``base_env()``: built once and cached (``~/.cache/course-utils/colab-runtime/<key>``, or
  ``$COURSE_COLAB_CACHE``), keyed by the freeze file's hash, the course's own requirements and the
  Python version; a refreshed freeze file or a changed requirement builds it again. The build is the
  only step that reaches the package registry: it pip-installs the packages the course touches
  (the course's requirements, the kernel, ipywidgets, pip itself) with every package of the freeze
  as a constraint, so each comes in at Colab's version; then pip resolves the first cell's install
  (the course's requirements and ipytest) against the registry with a dry run, and keeps that
  report and the wheels of what it would add (ipytest) in a wheelhouse.
- ``overlay(path)``: a fresh, empty environment on top of the base (a .pth line adds the base's
  site-packages), where the first cell can install the course without touching the cached base. The
  kernel and pip of the overlay are Colab's (ipykernel 6.17.1, pip 24.1.2). pip installs offline
  there (``PIP_NO_INDEX``, the wheelhouse as ``PIP_FIND_LINKS``).
- ``kernel(env)``: a kernel of that environment as Colab starts one: ``google.colab`` imported (a
  stand-in module; Colab's own package is not on the registry), matplotlib's inline backend.

Python: Colab runs 3.13 (tests/colab/os-info.txt); the tests use any 3.13 found on this machine
(``$COLAB_PYTHON``, pyenv's versions, ``python3.13`` on PATH). Without one, ``find_python()`` is None
and the tests say so (under CI they fail).
"""
from __future__ import annotations

import contextlib
import fcntl
import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FREEZE = REPO / "tests" / "colab" / "pip-freeze.txt"
PYTHON_VERSION = "3.13"              # Colab's (tests/colab/os-info.txt: Python 3.13.15)
# What the course touches in Colab besides its own requirements: the kernel that runs the notebooks,
# the widgets, the pip that the first cell calls, and ipytest's requirements (pytest, packaging).
RUNTIME = ("ipykernel", "ipywidgets", "pip", "pytest", "packaging")
# What the first cell installs besides the course (tests/test_colab.py checks the cell says so).
FIRST_CELL_EXTRA = ("ipytest>=0.14",)
# The packages whose versions the issue names: the install must leave every Colab package alone,
# these above all (Colab's own package pins IPython).
NAMED = ("ipython", "ipykernel", "ipywidgets", "numpy", "jax", "matplotlib")
BUILD_RECIPE = 4                     # bump when the recipe below changes: the cache key includes it


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def freeze_pins(path: Path = FREEZE) -> dict[str, str]:
    """{canonical name: version} of every ``name==version`` line of the freeze file (lines that name a
    URL or a local file, such as Colab's own package, cannot be installed from a registry)."""
    pins = {}
    for line in path.read_text().splitlines():
        match = re.fullmatch(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)\s*", line)
        if match:
            pins[canonical(match.group(1))] = match.group(2)
    return pins


def course_requirements() -> list[str]:
    """The requirements that the first cell's install resolves: the course's core and its jax extra
    (Colab has JAX: the extra's floor must hold there too)."""
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return list(project["dependencies"]) + list(project["optional-dependencies"]["jax"])


def requirement_name(requirement: str) -> str:
    return canonical(re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement).group(1))


def find_python() -> str | None:
    """A Python 3.13 interpreter: $COLAB_PYTHON, else pyenv's newest 3.13, else python3.13 on PATH."""
    candidates = [os.environ.get("COLAB_PYTHON", "")]
    roots = [os.environ.get("PYENV_ROOT", ""), str(Path.home() / ".pyenv")]
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        roots.insert(0, subprocess.run(["pyenv", "root"], capture_output=True, text=True, timeout=20).stdout.strip())
    for root in filter(None, roots):
        found = glob.glob(os.path.join(root, "versions", f"{PYTHON_VERSION}.*", "bin", "python3"))
        candidates += sorted(found, key=lambda p: [int(x) for x in re.findall(r"\d+", Path(p).parents[1].name)],
                             reverse=True)
    candidates.append(shutil.which(f"python{PYTHON_VERSION}") or "")
    for candidate in filter(None, candidates):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run([candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                                 capture_output=True, text=True, timeout=30).stdout.strip()
            if out == PYTHON_VERSION:
                return candidate
    return None


def python_version(python: str) -> str:
    return subprocess.run([python, "-c", "import platform; print(platform.python_version())"],
                          capture_output=True, text=True, check=True).stdout.strip()


def cache_key(python: str) -> str:
    recipe = {"freeze": hashlib.sha256(FREEZE.read_bytes()).hexdigest(), "requirements": course_requirements(),
              "runtime": RUNTIME, "first_cell": FIRST_CELL_EXTRA, "python": python_version(python),
              "recipe": BUILD_RECIPE}
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:16]


def cache_root() -> Path:
    return Path(os.environ.get("COURSE_COLAB_CACHE") or Path.home() / ".cache" / "course-utils" / "colab-runtime")


def pip_env(**extra) -> dict:
    """pip's environment for the build: the registry only (none of this machine's pip settings: no
    site-wide constraints, no local wheel folders), quiet, no version check."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "PYTHON", "VIRTUAL_ENV"))}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1", PYTHONWARNINGS="ignore",
               PIP_DEFAULT_TIMEOUT=os.environ.get("PIP_DEFAULT_TIMEOUT", "180"))
    if os.environ.get("PIP_CERT"):
        env["PIP_CERT"] = os.environ["PIP_CERT"]
    env.update(extra)
    return env


def _run(cmd, log: Path, **kwargs):
    with log.open("a") as out:
        out.write(f"\n$ {' '.join(map(str, cmd))}\n")
        out.flush()
        proc = subprocess.run([str(c) for c in cmd], stdout=out, stderr=subprocess.STDOUT, **kwargs)
    if proc.returncode != 0:
        tail = "\n".join(log.read_text().splitlines()[-25:])
        raise RuntimeError(f"building Colab's runtime failed ({log}):\n{tail}")


def site_packages(env: Path) -> Path:
    (path,) = (env / "lib").glob("python3.*/site-packages")
    return path


class BaseEnv:
    """The cached environment: ``path`` (a virtual environment), ``wheelhouse``, ``report`` (pip's
    dry run of the first cell's install against the registry), ``seconds`` (its build, 0 if cached)."""

    def __init__(self, path: Path, seconds: float):
        self.path, self.seconds = path, seconds
        self.python = path / "bin" / "python"
        self.wheelhouse = path / "wheelhouse"
        self.report = json.loads((path / "first-cell-dry-run.json").read_text())
        self.site = site_packages(path)


def base_env(python: str | None = None) -> BaseEnv:
    """The cached environment of Colab's versions; built (under a lock, once per key) when missing."""
    python = python or find_python()
    if python is None:
        raise RuntimeError(f"no Python {PYTHON_VERSION} here (Colab's): set COLAB_PYTHON or `pyenv install "
                           f"{PYTHON_VERSION}`")
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    target = root / cache_key(python)
    with (root / f"{target.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (target / "ready").is_file():
            (target / "ready").touch()                 # recently used: kept by the pruning below
            return BaseEnv(target, 0.0)
        start = time.monotonic()
        shutil.rmtree(target, ignore_errors=True)
        _build(python, target)
        (target / "ready").write_text(f"{time.monotonic() - start:.1f}\n")
        _prune(root, keep=KEEP)
        return BaseEnv(target, time.monotonic() - start)


KEEP = 2          # environments kept in the cache (about 0.9 GB each): the newest, and the one before


def _prune(root: Path, keep: int):
    """Remove all but the ``keep`` most recently used environments (another freeze or requirements)."""
    built = sorted((p for p in root.iterdir() if (p / "ready").is_file()),
                   key=lambda p: (p / "ready").stat().st_mtime, reverse=True)
    for old in built[keep:]:
        shutil.rmtree(old, ignore_errors=True)
        for suffix in (".lock", ".log"):
            old.with_suffix(suffix).unlink(missing_ok=True)


def _build(python: str, target: Path):
    log = target.with_suffix(".log")
    log.write_text(f"Colab's runtime from {FREEZE} with {python}\n")
    subprocess.run([python, "-m", "venv", str(target)], check=True, capture_output=True)
    py = target / "bin" / "python"
    pins = freeze_pins()
    constraints = target / "constraints.txt"
    constraints.write_text("".join(f"{name}=={version}\n" for name, version in sorted(pins.items())))
    env = pip_env()
    # Colab's pip first: the first cell's install is resolved by it
    _run([py, "-m", "pip", "install", "-q", "-c", constraints, "pip"], log, env=env)
    roots = sorted({requirement_name(r) for r in course_requirements()} | set(RUNTIME))
    missing = [name for name in roots if name not in pins]
    if missing:
        raise RuntimeError(f"{FREEZE} has no version of {missing}: is it Colab's pip freeze?")
    _run([py, "-m", "pip", "install", "-q", "-c", constraints, *roots], log, env=env)
    # what Colab leaves out although a package there requires it (jedi, which IPython 7 requires), goes
    extra = sorted(set(installed(py)) - set(pins))
    if extra:
        _run([py, "-m", "pip", "uninstall", "-q", "-y", *extra], log, env=env)
    # pip's own answer, against the registry, to the first cell's install (the course's requirements
    # and ipytest): what it would add or change in Colab. Then the wheels of what it adds, for the
    # offline install in the tests.
    report = target / "first-cell-dry-run.json"
    requirements = course_requirements() + list(FIRST_CELL_EXTRA)
    _run([py, "-m", "pip", "install", "-q", "--dry-run", "--report", report, *requirements], log, env=env)
    added = [f"{item['metadata']['name']}=={item['metadata']['version']}"
             for item in json.loads(report.read_text())["install"]]
    if added:
        _run([py, "-m", "pip", "download", "-q", "--no-deps", "-d", target / "wheelhouse", *added], log, env=env)
    (target / "wheelhouse").mkdir(exist_ok=True)


def installed(python) -> dict[str, list[str]]:
    """{canonical name: [versions, first on sys.path first]} of every distribution ``python`` sees."""
    code = ("import json, importlib.metadata as m; d = {}\n"
            "for dist in m.distributions():\n"
            "    d.setdefault(dist.metadata['Name'], []).append(dist.version)\n"
            "print(json.dumps(d))")
    proc = subprocess.run([str(python), "-c", code], capture_output=True, text=True, env=pip_env(), timeout=120,
                          cwd=Path(python).parents[1])   # not the repository: its egg-info is a distribution
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    found = {}
    for name, versions in json.loads(proc.stdout).items():
        found.setdefault(canonical(name), []).extend(versions)
    return found


# --- an environment on top of the base, and a kernel in it ---------------------------------------------

# Colab's own package (google-colab) is not on the package registry: a stand-in, with the submodule
# that JAX imports when it finds itself in Colab (jax._src.debugger.colab_lib: `from google.colab
# import output`). Nothing here is called while the notebooks run.
STAND_IN = {
    "__init__.py": '"""A stand-in for Colab\'s own module."""\nfrom . import output  # noqa: F401\n',
    "output.py": '"""A stand-in for google.colab.output."""\n\n\ndef enable_custom_widget_manager():\n    pass\n',
}


def overlay(base: BaseEnv, path: Path) -> Path:
    """A new virtual environment at ``path`` that sees the base's packages and installs into itself."""
    subprocess.run([str(base.python.resolve()), "-m", "venv", "--without-pip", str(path)], check=True)
    site = site_packages(path)
    # `import` lines of a .pth file run: addsitedir also runs the base's own .pth files
    (site / "colab-base.pth").write_text(f"import site; site.addsitedir({str(base.site)!r})\n")
    colab = path / "colab-stand-in"       # `google` stays a namespace package, as in Colab
    (colab / "google" / "colab").mkdir(parents=True)
    for name, text in STAND_IN.items():
        (colab / "google" / "colab" / name).write_text(text)
    return path


def offline_pip(base: BaseEnv) -> dict:
    """What the kernel's pip sees: no index, the base's wheelhouse, no settings of this machine."""
    return {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(base.wheelhouse), "PIP_CONFIG_FILE": os.devnull,
            "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


KERNEL_NAME = "colab-runtime"


def kernel_manager(base: BaseEnv, env_path: Path, **env):
    """A jupyter_client KernelManager for a kernel of ``env_path`` started as Colab starts one:
    ``google.colab`` imported, the inline backend, fast mode, CPU; ``env`` adds variables."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    specs = env_path / "kernels"
    spec = specs / KERNEL_NAME
    spec.mkdir(parents=True, exist_ok=True)
    python = env_path / "bin" / "python"
    start = "import google.colab; from ipykernel import kernelapp; kernelapp.launch_new_instance()"
    variables = {"PYTHONPATH": str(env_path / "colab-stand-in"), "COURSE_FAST": "1", "JAX_PLATFORMS": "cpu",
                 "MPLBACKEND": "module://matplotlib_inline.backend_inline", "PYTHONWARNINGS": "ignore",
                 "PYDEVD_DISABLE_FILE_VALIDATION": "1",      # ipykernel 6's debugger: a warning on every start
                 **offline_pip(base), **env}
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-c", start, "-f", "{connection_file}"], "display_name": "Colab's runtime",
        "language": "python", "env": variables}))
    manager = KernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(specs)]))
    return manager


def clean_kernel_environment():
    """Variables of this process that a Colab kernel must not inherit (jupyter_client starts the kernel
    with this process's environment plus the kernelspec's)."""
    return ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "NBGRADER_EXECUTION")


def execute(nb, base: BaseEnv, env_path: Path, cwd: Path, timeout: int = 900, **env):
    """Run ``nb`` (in place) top to bottom on a Colab kernel of ``env_path``; errors stay in the outputs."""
    import nbclient

    saved = {k: os.environ.pop(k) for k in clean_kernel_environment() if k in os.environ}
    try:
        manager = kernel_manager(base, env_path, **env)
        client = nbclient.NotebookClient(nb, km=manager, timeout=timeout, allow_errors=True,
                                         resources={"metadata": {"path": str(cwd)}})
        client.execute()
    finally:
        os.environ.update(saved)
    return nb


def errors(nb) -> list:
    return [(i, o.get("ename"), o.get("evalue")) for i, c in enumerate(nb.cells) if c.cell_type == "code"
            for o in c.get("outputs", []) if o.output_type == "error"]


if __name__ == "__main__":       # build (or find) the cached environment, and say where and how long
    env = base_env()
    print(f"{env.path} ({'built in %.0f s' % env.seconds if env.seconds else 'cached'})", file=sys.stderr)
