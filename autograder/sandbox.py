"""Where and how student code runs while it is graded, and what may come back from it.

One notebook, one sandbox, one harness (``_harness.py``) that forks a child per exercise:
- **bubblewrap** (``bwrap``), where it works: new PID, network, IPC and UTS namespaces (and a user
  namespace when the grader is not root); an unprivileged user; a read-only view of Python and of the
  students' runtime only (``autograder.runtime``: the packages an answer may import; the grader's own,
  such as nbgrader, Dask, PyTorch, Nengo or pytest, are not there); the assignment's sealed copy of the
  course package (``autograder.allowlist``) and no other; no repository, no solutions, no other
  submission; a private, size-limited /tmp; a scrubbed environment; no inherited descriptors; and every
  process started in it dies with it (the PID namespace ends when the harness does).
  A grader running as root starts each sandbox as its own unprivileged user id (one per concurrent
  sandbox), so that the process limit holds and no sandbox can touch another's processes.
- **fallback**, where bubblewrap is missing or cannot start (macOS, Colab): the same harness under
  resource limits in its own process group, said once in one line: this is not a sandbox.

Resource limits in both: address space, CPU time, file size, processes, and the wall-clock time.
The parent reads at most ``Limits.output_bytes`` of results and ``STDERR_BYTES`` of diagnostics
(the rest is drained and dropped), so its memory stays bounded whatever the child writes.
"""
from __future__ import annotations

import atexit
import dataclasses
import fcntl
import hashlib
import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from . import redaction, runtime

HARNESS = Path(__file__).resolve().with_name("_harness.py")
STDERR_BYTES = 16_384
SLOT_UID_BASE = 3_000_000          # root grader: sandbox n runs as uid SLOT_UID_BASE + n
SLOTS = 512
# Not -I: it ignores PYTHONHASHSEED, and string hashing (set orders) must be the same in every grading. The
# environment is the sandbox's own (sandbox_env), so -E has nothing to keep out; -s: no user site.
PYTHON_FLAGS = ("-s",)
STARTUP_SECONDS = 30.0             # a sandbox's start and the harness's imports, before the first exercise


@dataclass(frozen=True)
class Limits:
    """Per-exercise limits; an instructor can change each (``--timeout``, ``--memory-mb``, ...)."""
    timeout: float = 60.0            # wall-clock seconds for the whole exercise
    memory_mb: int = 3072            # address space of each process
    file_mb: int = 16                # largest file a process may write
    tmp_mb: int = 64                 # size of the private /tmp
    processes: int = max(64, 4 * (os.cpu_count() or 1))   # processes and threads, per sandbox (XLA starts a
                                                          # thread per core)
    output_mb: float = 8.0           # largest result the parent will read
    earlier_cell_seconds: float = 10.0   # each earlier answer cell, re-run before the graded one

    @property
    def output_bytes(self) -> int:
        return int(self.output_mb * 1e6)


class SandboxError(Exception):
    """The child did not produce a usable result (its message is feedback for that exercise)."""


# --- what the sandbox may see ------------------------------------------------------------------

_packages: dict[str, Path] = {}
_workdir: Path | None = None


def _private_dir() -> Path:
    global _workdir
    if _workdir is None:
        _workdir = Path(tempfile.mkdtemp(prefix="course-grader-"))
        os.chmod(_workdir, 0o755)
        atexit.register(shutil.rmtree, _workdir, True)
    return _workdir


def sealed_package(assignment: str, handed, withheld: dict | None = None) -> Path:
    """The assignment's sealed copy of the course package, the harness beside it (built once per
    assignment, ``withheld`` set and grader process). ``withheld``: {"module:name": exercise id}, helpers
    of ``handed`` that are the answer of an exercise graded in this sandbox (sealed in its copy)."""
    from . import allowlist
    withheld = dict(withheld or {})
    if withheld:
        handed = allowlist.without(handed, withheld)
    key = allowlist.fingerprint(assignment, handed)
    if withheld:
        key += "-" + hashlib.sha256(repr(sorted(withheld.items())).encode()).hexdigest()[:8]
    if key not in _packages:
        destination = _private_dir() / f"package-{key}"
        if not destination.exists():
            scratch = Path(tempfile.mkdtemp(prefix="package-", dir=_private_dir()))
            allowlist.build_sealed(scratch, assignment, handed, autograder_stub=redaction.AUTOGRADER_STUB,
                                   withheld=withheld)
            shutil.copyfile(HARNESS, scratch / "_harness.py")
            os.chmod(scratch / "_harness.py", 0o644)
            os.chmod(scratch, 0o755)
            os.replace(scratch, destination)
        _packages[key] = destination
    return _packages[key]


def offered_site(extra_packages: tuple = ()) -> Path:
    """Without bubblewrap: a folder of links to the students' runtime's packages, which the harness puts
    on sys.path in place of site-packages (with bubblewrap, the mounts do this)."""
    folder = _private_dir() / f"site-{hashlib.sha256(repr(extra_packages).encode()).hexdigest()[:8]}"
    if not folder.exists():
        scratch = Path(tempfile.mkdtemp(prefix="site-", dir=_private_dir()))
        for entries in runtime.entries(extra_packages).values():
            for entry in entries:
                link = scratch / entry.name if entry.parent.name in ("site-packages", "dist-packages") \
                    else scratch / entry.parent.name / entry.name
                link.parent.mkdir(exist_ok=True)
                if not link.exists():
                    link.symlink_to(entry)
        os.chmod(scratch, 0o755)
        os.replace(scratch, folder)
    return folder


def matplotlib_cache() -> Path:
    """Matplotlib's font cache, built once per grader process: each sandbox's /tmp starts empty, and
    rebuilding the cache there would cost every notebook about 0.2 s (the harness copies it in)."""
    folder = _private_dir() / "mplconfig"
    if not folder.exists():
        scratch = Path(tempfile.mkdtemp(prefix="mplconfig-", dir=_private_dir()))
        subprocess.run([sys.executable, "-c", "import matplotlib; matplotlib.use('Agg'); import matplotlib.pyplot"],
                       env={**os.environ, "MPLCONFIGDIR": str(scratch)}, capture_output=True, timeout=120)
        for root, dirs, files in os.walk(scratch):
            os.chmod(root, 0o755)
            for name in files:
                os.chmod(os.path.join(root, name), 0o644)
        os.replace(scratch, folder)
    return folder


def _python_roots() -> list[Path]:
    """Directories that hold the interpreter and the installed packages (bound read-only)."""
    roots = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve()}
    for entry in sys.path:
        p = Path(entry or ".").resolve()
        if p.is_dir() and p.name in ("site-packages", "dist-packages"):
            roots.add(p)
    real = Path(os.path.realpath(sys.executable)).parent.parent
    roots.add(real)
    # keep the outermost directories only
    return sorted(r for r in roots if not any(o != r and o in r.parents for o in roots))


def _site_dirs() -> list[Path]:
    """The site-packages folders of this interpreter (on sys.path, or inside a Python root)."""
    found = {Path(p).resolve() for p in sys.path if p and Path(p).name in ("site-packages", "dist-packages")
             and Path(p).is_dir()}
    for root in _python_roots():
        for lib in ("lib", "lib64"):
            found |= {p.resolve() for p in (root / lib).glob("python3*/site-packages") if p.is_dir()}
    return sorted(found)


def _system_site_dirs() -> list[Path]:
    """The distribution's package folders under /usr (Debian's dist-packages): bound with /usr, emptied too."""
    found = set()
    for pattern in ("lib/python3*/dist-packages", "lib/python3*/site-packages", "local/lib/python3*/dist-packages",
                    "local/lib/python3*/site-packages", "lib/python3/dist-packages"):
        found |= {p.resolve() for p in Path("/usr").glob(pattern) if p.is_dir()}
    return sorted(found - set(_site_dirs()))


# --- bubblewrap -------------------------------------------------------------------------------------

_bwrap_state: dict = {}


def bwrap_available() -> bool:
    """Whether bubblewrap exists here and can start a sandbox (checked once)."""
    if "ok" not in _bwrap_state:
        ok, why = False, "bubblewrap (bwrap) is not installed"
        exe = shutil.which("bwrap")
        if exe and os.environ.get("COURSE_GRADER_NO_SANDBOX") != "1":
            try:
                probe = _Launch(exe, [sys.executable, "-I", "-c", "import numpy"], Limits(timeout=20), slot=None)
                proc = subprocess.run(probe.argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=60,
                                      env=probe.env)
                ok = proc.returncode == 0
                why = "" if ok else ("bubblewrap cannot start a sandbox here: "
                                     + (proc.stderr.decode(errors="replace").strip().splitlines() or ["?"])[-1])
            except (OSError, subprocess.SubprocessError) as err:
                why = f"bubblewrap cannot start a sandbox here: {err}"
        elif exe:
            why = "COURSE_GRADER_NO_SANDBOX=1"
        _bwrap_state.update(ok=ok, why=why)
    return _bwrap_state["ok"]


def describe() -> str:
    """One line: how student code is isolated here."""
    if bwrap_available():
        return "sandboxed with bubblewrap (no network, unprivileged user, private /tmp, resource limits)"
    return (f"NOT sandboxed ({_bwrap_state['why']}): student code runs under resource limits only; "
            "grade for credit on a Linux machine with bubblewrap")


_warned = []


def warn_once() -> None:
    if not bwrap_available() and not _warned:
        _warned.append(True)
        print(f"autograder: {describe()}", file=sys.stderr)


class _Launch:
    """The argv of one sandboxed child.

    As root, bubblewrap sets up the namespaces and mounts itself, and ``setpriv`` then drops to the
    sandbox's own user id with no capabilities (so that the process limit holds: it counts per user).
    As an ordinary user, bubblewrap works inside a new user namespace and maps the user to 65534.
    Either way ``prlimit`` sets the resource limits just before Python starts.
    """

    def __init__(self, bwrap: str, command: list, limits: Limits, slot, package: Path | None = None,
                 extra_packages=()):
        privileged = os.geteuid() == 0 and shutil.which("setpriv") is not None
        if privileged:
            uid = SLOT_UID_BASE + (SLOTS if slot is None else slot)
            args = [bwrap, "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
                    "--unshare-cgroup-try", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
            drop = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all",
                    "--bounding-set=-all", "--no-new-privs", "--"]
        else:
            args = [bwrap, "--unshare-all", "--uid", "65534", "--gid", "65534"]
            drop = []
        # The harness is the PID namespace's init: no process of the sandbox can signal it (the kernel drops
        # signals to an init from its own namespace unless it handles them), and it ends every other one
        # with kill(-1) after each exercise.
        args += ["--as-pid-1", "--die-with-parent", "--new-session", "--hostname", "sandbox", "--clearenv"]
        for key, value in sandbox_env().items():
            args += ["--setenv", key, value]
        args += ["--proc", "/proc", "--dev", "/dev",
                 "--perms", "1777", "--size", str(limits.tmp_mb * 2**20), "--tmpfs", "/tmp", "--chdir", "/tmp"]
        made = {Path("/")}

        def bind(source: Path, target: str):
            for parent in reversed(Path(target).parents):   # readable parents (bwrap makes them 0700)
                if parent not in made and parent not in (Path("/tmp"), Path("/proc"), Path("/dev")) \
                        and not str(parent).startswith("/usr"):
                    args.extend(["--perms", "0755", "--dir", str(parent)])
                    made.add(parent)
            args.extend(["--ro-bind", str(source), target])
            made.add(Path(target))

        for top in ("/usr", "/bin", "/lib", "/lib64", "/sbin", "/lib32", "/libx32"):
            p = Path(top)
            if p.is_symlink():
                args += ["--symlink", os.readlink(p), top]
            elif p.is_dir():
                bind(p, top)
        for etc in ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/alternatives", "/etc/localtime", "/etc/fonts"):
            if os.path.exists(etc):
                bind(Path(etc), etc)
        roots = _python_roots()
        for python_root in roots:
            if not str(python_root).startswith(("/usr/", "/bin/", "/lib")):
                bind(python_root, str(python_root))
        # Of the installed packages, only the students' runtime: every site-packages folder becomes
        # empty, and the runtime's own files and folders are bound back into it.
        offered = runtime.entries(tuple(extra_packages))
        for site in _site_dirs() + _system_site_dirs():
            args += ["--tmpfs", str(site)]
            for entry in offered.get(site, []):
                args += ["--ro-bind", str(entry), str(entry)]
            args += ["--remount-ro", str(site)]
        if package is not None:
            bind(package, "/opt/course")
            bind(matplotlib_cache(), "/opt/mplconfig")
        # The process limit counts per user and user namespace (Linux 5.14+): as root each sandbox has a user
        # id of its own, and as an ordinary user a user namespace of its own, so either way it is per sandbox.
        self.argv = args + ["--"] + drop + _limits_prefix(limits, enforce_nproc=True) + command
        self.env = {"PATH": "/usr/bin:/bin"}


def sandbox_env() -> dict:
    """The whole environment of graded code."""
    return {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8", "TMPDIR": "/tmp",
            "MPLBACKEND": "Agg", "MPLCONFIGDIR": "/tmp/matplotlib", "PYTHONHASHSEED": "0",
            "PYTHONDONTWRITEBYTECODE": "1", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1", "JAX_PLATFORMS": "cpu", "COURSE_FAST": "1", "COURSE_MPLCACHE": "/opt/mplconfig",
            "NBGRADER_EXECUTION": "autograde", "TQDM_DISABLE": "1"}


class _Slot:
    """A per-machine unique number for a running sandbox (its user id when the grader is root)."""

    def __init__(self):
        self.number, self._fd = None, None
        if os.geteuid() != 0:
            return
        base = Path(tempfile.gettempdir()) / "course-grader-slots"
        base.mkdir(mode=0o700, exist_ok=True)
        for n in range(SLOTS):
            fd = os.open(base / f"{n}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue
            self.number, self._fd = n, fd
            return
        raise SandboxError("no free sandbox slot (more than 512 sandboxes at once on this machine)")

    def release(self):
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


_cpu_groups: dict = {}


def cpu_group(slot) -> Path | None:
    """The ``cgroup.procs`` file of a CPU control group of the sandbox slot's own (root only): the CPU is
    then shared out per sandbox, not per process, so that a submission that starts many busy processes
    slows only itself. None where control groups cannot be made here (not root, none mounted)."""
    if slot is None or os.geteuid() != 0:
        return None
    if slot not in _cpu_groups:
        _cpu_groups[slot] = None
        for root, weight in ((Path("/sys/fs/cgroup/cpu"), "cpu.shares"), (Path("/sys/fs/cgroup/cpu,cpuacct"), "cpu.shares"),
                             (Path("/sys/fs/cgroup"), "cpu.weight")):
            try:
                if weight == "cpu.weight":       # cgroup v2: the cpu controller must be on for children
                    if "cpu" not in (root / "cgroup.controllers").read_text().split():
                        continue
                    control = root / "cgroup.subtree_control"
                    if "cpu" not in control.read_text().split():
                        control.write_text("+cpu")
                elif not (root / weight).exists():
                    continue
                group = root / f"course-grader-{slot}"
                group.mkdir(exist_ok=True)
                if (group / weight).exists() and (group / "cgroup.procs").exists():
                    _cpu_groups[slot] = group / "cgroup.procs"
                    break
            except OSError:
                continue
    return _cpu_groups[slot]


def _in_group(procs: Path | None, command: list) -> list:
    """``command``, started inside the control group whose ``cgroup.procs`` is ``procs`` (before it forks)."""
    if procs is None:
        return command
    return ["/bin/sh", "-c", 'echo $$ > "$0" 2>/dev/null; exec "$@"', str(procs), *command]


def _limits_prefix(limits: Limits, enforce_nproc: bool) -> list:
    """prlimit(1) in front of the command: limits without preexec_fn (safe in threaded workers)."""
    exe = shutil.which("prlimit")
    if exe is None:
        return []
    cpu = int(limits.timeout) + 1
    args = [exe, f"--as={limits.memory_mb * 2**20}", f"--cpu={cpu}:{cpu + 1}",
            f"--fsize={limits.file_mb * 2**20}", "--core=0", "--nofile=256"]
    if enforce_nproc:
        args.append(f"--nproc={limits.processes}")
    return args + ["--"]


def _fallback_limits(limits: Limits):
    """Where prlimit(1) is missing (macOS): resource limits set in the child before exec."""
    import resource

    def apply():
        cpu = int(limits.timeout) + 1
        for name, value in (("RLIMIT_AS", limits.memory_mb * 2**20), ("RLIMIT_CPU", cpu),
                            ("RLIMIT_FSIZE", limits.file_mb * 2**20), ("RLIMIT_CORE", 0)):
            if hasattr(resource, name):
                try:
                    resource.setrlimit(getattr(resource, name), (value, value))
                except (ValueError, OSError):
                    pass
    return apply


# --- running a batch of exercises ----------------------------------------------------------------------

READ_SECONDS = 20.0               # reading (IPython-transforming) every cell of a notebook, in the sandbox
CELL_READ_SECONDS = 5.0           # ... and any one cell


@dataclass
class Batch:
    """One notebook's exercises for one sandbox: the cells to run (setup and answer cells as written, in
    notebook order) and, per exercise, its job for the harness ("exercise", "function_name", "answer":
    the index of its answer cell in ``cells``, "fixtures", "stand_ins", "memo")."""
    assignment: str
    handed: tuple
    cells: list
    exercises: list
    extra_packages: tuple = ()
    withheld: dict = dataclasses.field(default_factory=dict)   # {"module:name": exercise id}: see sealed_package


def earlier_cell_seconds(limits: Limits) -> float:
    """How long an earlier cell may run before it is interrupted: the instructor's limit, and at most a
    quarter of an exercise's, so that one held cell never costs the exercises after it their time."""
    return min(limits.earlier_cell_seconds, limits.timeout / 4)


def budget(limits: Limits, exercises: int) -> float:
    """Wall seconds one sandbox may take for ``exercises`` exercises (each answer cell may also be an
    earlier cell that holds the process once, and is then skipped)."""
    blame = 1.5 * earlier_cell_seconds(limits) + 1
    return STARTUP_SECONDS + READ_SECONDS + exercises * (limits.timeout + 1 + blame)


def run_batch(batch: Batch, limits: Limits, deadline: float | None = None) -> list[dict]:
    """Grade a notebook's exercises in one sandbox -> one result per exercise: {"outcome": the child's
    JSON object or {"sandbox_error": one line}, "seconds", "skipped"}. An exercise that gets no result
    because the whole sandbox went wrong (the harness killed, the output garbled) is graded again on
    its own, in a fresh sandbox, so that it cannot cost the others. ``deadline`` (time.monotonic()) ends
    everything, whatever the budgets say."""
    results, note = _run_sandbox(batch, list(range(len(batch.exercises))), limits, deadline)
    for i, result in enumerate(results):
        if result is None and len(batch.exercises) > 1 and _left(deadline) > STARTUP_SECONDS:
            (result,), note = _run_sandbox(batch, [i], limits, deadline)
        results[i] = result or {"outcome": {"sandbox_error": note}, "seconds": None, "skipped": []}
    return results


def _left(deadline) -> float:
    return float("inf") if deadline is None else deadline - time.monotonic()


def _run_sandbox(batch: Batch, which: list, limits: Limits, deadline) -> tuple[list, str]:
    """-> (a result or None per exercise in ``which``, a one-line note on what went wrong, for the missing ones)."""
    package = sealed_package(batch.assignment, batch.handed, batch.withheld)
    seconds = min(budget(limits, len(which)), _left(deadline))
    if seconds <= 1:
        return [None] * len(which), "not graded: the notebook's time ran out"
    batch_limits = dataclasses.replace(limits, timeout=seconds)
    job = {"output_bytes": limits.output_bytes, "cells": batch.cells,
           "earlier_cell_seconds": earlier_cell_seconds(limits),
           "cell_read_seconds": CELL_READ_SECONDS, "read_seconds": READ_SECONDS,
           "exercises": [{**batch.exercises[i], "timeout": limits.timeout} for i in which]}
    slot, scratch = _Slot(), None
    try:
        if bwrap_available():
            launch = _Launch(shutil.which("bwrap"), [sys.executable, *PYTHON_FLAGS, "/opt/course/_harness.py"],
                             batch_limits, slot.number, package, batch.extra_packages)
            command, job["package_dir"] = _in_group(cpu_group(slot.number), launch.argv), "/opt/course"
            kwargs = dict(env=launch.env, cwd="/")
        else:
            warn_once()
            prefix = _limits_prefix(batch_limits, enforce_nproc=False)
            command = prefix + [sys.executable, *PYTHON_FLAGS, str(package / "_harness.py")]
            job["package_dir"] = str(package)
            job["site"] = str(offered_site(tuple(batch.extra_packages)))
            scratch = tempfile.mkdtemp(prefix="course-grader-job-")
            env = {**sandbox_env(), "HOME": scratch, "TMPDIR": scratch,
                   "MPLCONFIGDIR": os.path.join(scratch, "matplotlib"), "COURSE_MPLCACHE": str(matplotlib_cache())}
            kwargs = dict(env=env, cwd=scratch, preexec_fn=None if prefix else _fallback_limits(batch_limits))
        out, err, returncode, reason = _communicate(command, json.dumps(job).encode(), batch_limits,
                                                    len(which) * (limits.output_bytes + 4096), kwargs)
    finally:
        slot.release()
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    if reason is None and out:
        reason = "the grading process returned a malformed result"
    elif reason is None:
        last = err.decode("utf-8", errors="replace").strip().splitlines()[-1:] or [f"exit status {returncode}"]
        reason = f"the grading process died ({printable(last[0])[:200]})"
    return _frames(out, len(which)), reason


def _frames(out: bytes, count: int) -> list:
    """Split the harness's output into per-exercise results (None where one is missing or garbled)."""
    results, view = [None] * count, memoryview(out)
    while view:
        newline = bytes(view[:32]).find(b"\n")
        try:
            index, length = (int(v) for v in bytes(view[:newline]).split())
        except ValueError:
            break
        body = bytes(view[newline + 1:newline + 1 + length])
        view = view[newline + 1 + length:]
        if not (0 <= index < count) or len(body) != length or results[index] is not None:
            break
        try:
            result = json.loads(body.decode("utf-8", errors="replace"))
        except (ValueError, RecursionError):
            result = None
        if not (isinstance(result, dict) and isinstance(result.get("outcome"), dict)):
            result = {"outcome": {"sandbox_error": "the grading process returned a malformed result"},
                      "seconds": None, "skipped": []}
        results[index] = result
    return results


def printable(text) -> str:
    """``text`` with every unprintable character (escapes, NULs, newlines) shown as "?": for one-line
    messages quoting what a submission wrote."""
    return "".join(c if c.isprintable() else "?" for c in str(text))


def _communicate(command, payload: bytes, limits: Limits, max_output: int, kwargs):
    """Start, feed and read the child within the limits -> (stdout, stderr, returncode, reason)."""
    deadline = time.monotonic() + limits.timeout
    proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True, close_fds=True, **kwargs)
    out, err = bytearray(), bytearray()
    reason = None
    sel = selectors.DefaultSelector()
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        os.set_blocking(stream.fileno(), False)
    sel.register(proc.stdin, selectors.EVENT_WRITE)
    sel.register(proc.stdout, selectors.EVENT_READ)
    sel.register(proc.stderr, selectors.EVENT_READ)
    view, exited_at = memoryview(payload), None
    try:
        while sel.get_map():
            now = time.monotonic()
            if now > deadline:
                reason = f"took longer than {limits.timeout:g} s (an endless loop?)"
                break
            if proc.poll() is not None:
                exited_at = exited_at or now
                if now - exited_at > 0.5:   # descendants holding the pipes do not hold the grader
                    break
            for key, _ in sel.select(timeout=0.1):
                stream = key.fileobj
                if stream is proc.stdin:
                    try:
                        written = os.write(stream.fileno(), view[:65536])
                    except (BrokenPipeError, OSError):
                        written = len(view)
                    view = view[written:]
                    if not view:
                        sel.unregister(stream)
                        stream.close()
                    continue
                try:
                    chunk = os.read(stream.fileno(), 65536)
                except BlockingIOError:
                    continue
                if not chunk:
                    sel.unregister(stream)
                    continue
                if stream is proc.stdout:
                    if len(out) + len(chunk) > max_output:
                        reason = f"returned more than {max_output / 1e6:.0f} MB of results"
                        break
                    out += chunk
                elif len(err) < STDERR_BYTES:
                    err += chunk[:STDERR_BYTES - len(err)]
            if reason:
                break
    finally:
        sel.close()
        _kill(proc)
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            try:
                stream.close()
            except OSError:
                pass
    if reason is None and proc.returncode not in (0, None):
        if proc.returncode in (-signal.SIGXCPU, -signal.SIGKILL) and not out:
            reason = f"ran out of CPU time ({limits.timeout:g} s) or memory ({limits.memory_mb} MB)"
    return bytes(out), bytes(err), proc.returncode, reason


def _kill(proc) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass
