"""The inline check, under the same rules as grading.

A student's inline check runs in their own kernel, where the whole course package and every installed
package are at hand. Grading offers an answer only its assignment's helpers (``autograder.allowlist``)
and the students' runtime (``autograder.runtime``), in a fresh process with limits (``autograder.sandbox``).
So that an answer that passes here never scores less when graded, the check:

- refuses an answer that *is* a course function the assignment does not hand out (``gradient_snr =
  perturbation.gradient_snr``), with the line grading gives;
- refuses an answer that names a third-party package, or an object of one, that grading does not offer;
- calls the answer under a profile hook (``_Guard``), in its thread and in the threads it starts, that
  stops, with grading's line, any call into the course's code outside the allowlist made by the student's
  code or by a library on its behalf (``jax.grad`` of a course function included), and any import or call
  of a third-party package that grading does not offer (its Python code or its C functions). Each refusal
  is recorded, so an answer that catches the error still fails (CPython also unsets a profile function
  that raises: what follows in that thread goes unseen, and needs no seeing);
- clears what the course's sealed JAX twins compiled before the check (a compiled call runs from JAX's
  C++ cache, with no Python code for the hook to see), as a graded process starts without it;
- limits the size of the files the answer writes to grading's (``Limits.file_mb``);
- draws the same kinds of hidden fixtures as grading, from the built-in secret (practice values: the
  graded ones come from the instructor's secret).

Profile functions, the file size limit and the SIGXFSZ handler are as before once the check is over.
"""
from __future__ import annotations

import contextlib
import functools
import sys
import threading
import types
from pathlib import Path

from . import allowlist, runtime
from .core import Exercise, Result, check
from .secret import PRACTICE

_AUTOGRADER_DIR = Path(__file__).resolve().parent
_COURSE_DIR = allowlist.PACKAGE_DIR
_STDLIB = tuple({str(Path(functools.__file__).parent), str(Path(functools.__file__).resolve().parent)})
_USE_INSTEAD = "answers may use NumPy, SciPy, JAX, Matplotlib and the standard library"


@functools.lru_cache(maxsize=None)
def _open(assignment: str, withheld: tuple) -> frozenset:
    """{(module, top-level name)} that keep their code for this assignment (minus ``withheld``)."""
    from .exercises import HANDED
    names = allowlist.open_names(HANDED[assignment])
    sealed = set(allowlist.parse_names(withheld))
    return frozenset((m, n) for m, ns in names.items() for n in ns if (m, n) not in sealed)


@functools.lru_cache(maxsize=None)
def _offered_modules() -> frozenset:
    return runtime.modules() | frozenset(getattr(sys, "stdlib_module_names", ())) | {
        "course_utils", "autograder", "__main__"}


@functools.lru_cache(maxsize=4096)
def _course_name(filename: str):
    """(module, None) for a file of the course package, else None."""
    try:
        relative = Path(filename).resolve().relative_to(_COURSE_DIR)
    except (ValueError, OSError):
        return None
    return allowlist._module_name(relative)


@functools.lru_cache(maxsize=4096)
def _third_party(filename: str):
    """The top-level module of a file in a site-packages folder, or None."""
    parts = Path(filename).parts
    for i, part in enumerate(parts):
        if part in ("site-packages", "dist-packages") and i + 1 < len(parts):
            return parts[i + 1].split(".")[0]
    return None


@functools.lru_cache(maxsize=4096)
def _students(filename: str) -> bool:
    """Whether code in ``filename`` is the student's (a notebook cell, a file of theirs): neither the
    course's, nor a library's, nor the standard library's."""
    return not (_ours(filename) or _third_party(filename) is not None or _stdlib(filename))


def _stdlib(filename: str) -> bool:
    return filename.startswith(("<frozen", *_STDLIB)) and _third_party(filename) is None


def _ours(filename: str) -> bool:
    return _course_name(filename) is not None or filename.startswith(str(_AUTOGRADER_DIR))


def _installed_package(obj) -> str | None:
    """The top-level package, installed in a site-packages folder, that defines ``obj`` (a module, a
    class, a function, a builtin or its bound owner; else its type), or None."""
    for _ in range(3):
        if isinstance(obj, types.ModuleType):
            name = obj.__name__
        elif isinstance(obj, (type, types.FunctionType)):
            name = getattr(obj, "__module__", None)
        elif isinstance(obj, (types.BuiltinFunctionType, types.MethodDescriptorType)):
            name = getattr(obj, "__module__", None)
            if not isinstance(name, str):     # a method: the package of what it is bound to
                owner = getattr(obj, "__self__", None)
                obj = getattr(obj, "__objclass__", None) if owner is None else owner
                continue
        else:
            name = getattr(type(obj), "__module__", None)
        top = name.split(".")[0] if isinstance(name, str) else ""
        file = getattr(sys.modules.get(top), "__file__", None)
        return top if file and _third_party(file) else None
    return None


def _kernel_packages() -> set:
    """The packages of what this kernel wires into sys (ipykernel's output streams, pytest's capture):
    grading wires in its own, and an answer that prints works there too."""
    return {_installed_package(hook) for hook in (sys.stdout, sys.stderr, sys.displayhook, sys.excepthook)} - {None}


def _not_offered(package: str) -> ModuleNotFoundError:
    """What an answer that uses ``package`` gets while graded: the package is not there."""
    return ModuleNotFoundError(f"{package} is not available to graded answers: grading has no module named "
                               f"'{package}' ({_USE_INSTEAD})")


class _Guard:
    """Grading's reach, imitated in this kernel for one check: ``with guard:`` around the check, and
    ``guard.call`` for each call of the answer."""

    def __init__(self, opened: frozenset, assignment: str, handed: tuple, withheld: dict):
        self.opened, self.assignment, self.handed, self.withheld = opened, assignment, handed, withheld
        self.offered = _offered_modules() | _kernel_packages()
        self.refused: list = []          # every refusal, in any thread (list.append is atomic)
        self.active = False

    def __enter__(self):
        _forget_compiled(self.opened)
        self.active = True
        return self

    def __exit__(self, *exc):
        self.active = False               # threads the answer left running stop checking (``profile``)

    def call(self, func, *args, **kwargs):
        """``func(*args, **kwargs)`` under the hook and grading's file limit; raises the check's first
        refusal even when the answer caught it (or a thread of the answer's met it)."""
        previous, previous_threads = sys.getprofile(), threading.getprofile()
        with _file_limit():
            threading.setprofile(self.profile)
            sys.setprofile(self.profile)
            try:
                value = func(*args, **kwargs)
            finally:
                sys.setprofile(previous)
                threading.setprofile(previous_threads)
        if self.refused:
            raise type(self.refused[0])(*self.refused[0].args)
        return value

    def profile(self, frame, event, arg):
        if event == "c_call":             # (the most frequent event: its test comes first, and is cheap)
            if not _students(frame.f_code.co_filename):
                return
            package = _installed_package(arg)
            refusal = _not_offered(package) if package and package not in self.offered else None
        elif event == "call":
            refusal = self._course_call(frame) or self._package_code(frame) or self._copied(frame)
        else:
            return
        if not self.active:               # a thread started during the check and still running after it:
            sys.setprofile(threading.getprofile())      # the kernel's hook for new threads, as it would have had
        elif refusal is not None:
            self.refused.append(refusal)
            raise refusal                 # as grading would; CPython then unsets the hook in this thread

    def _course_call(self, frame):
        """A call of a course function that grading seals, by anything but the course's own code."""
        code = frame.f_code
        module = _course_name(code.co_filename)
        if module is None:
            return None
        top = getattr(code, "co_qualname", code.co_name).split(".")[0]
        if top.startswith("<") or (module, top) in self.opened:
            return None
        caller = frame.f_back
        if caller is not None and _ours(caller.f_code.co_filename):
            return None       # the course's own code calling itself (a given helper's insides, the checks)
        name = f"{module}.{top}"
        if name in self.withheld:
            return PermissionError(allowlist.WHILE_GRADED.format(name=name, exercise=self.withheld[name]))
        return PermissionError(allowlist.message(name, self.assignment, self.handed))

    def _copied(self, frame):
        """Code of the student's that is a sealed course function's own code, compiled again (its source
        read with inspect at run time): grading's copy of the package has no source to read."""
        code = frame.f_code
        # (every Python call of the check comes here, JAX's tracing included: the name first, it is cheap;
        # a copy under another name is a helper that happens to be written alike, and is let be)
        named = _sealed_fingerprints(self.opened, len(sys.modules)).get(code.co_name)
        if named is None or len(code.co_code) < _COPY_MIN_BYTES or _course_name(code.co_filename) is not None:
            return None
        found = named.get(_fingerprint(code))
        if found is None:
            return None
        return PermissionError(f"{code.co_name} is a copy of {found}, whose source is not available to graded "
                               f"answers in {self.assignment} (write the answer yourself)")

    def _package_code(self, frame):
        """Python code of a package grading does not offer (its import included), run for the student's
        code: the nearest caller outside the standard library (importlib, threading, copy, ...) is theirs."""
        package = _third_party(frame.f_code.co_filename)
        if package is None or package in self.offered:
            return None
        caller, importing = frame.f_back, False
        while caller is not None and _stdlib(caller.f_code.co_filename):
            importing |= caller.f_globals.get("__name__", "").startswith("importlib")
            caller = caller.f_back
        if importing and frame.f_code.co_name != "<module>":
            return None       # a finder on the import path (setuptools' _distutils_hack), asked about every import
        return _not_offered(package) if caller is None or _students(caller.f_code.co_filename) else None


_COPY_MIN_BYTES = 48         # shorter code (a one-line function) may well be written the same way by hand


def _fingerprint(code) -> tuple:
    """What a function compiled again from the same source keeps, whatever its name or file."""
    consts = tuple(c for c in code.co_consts if not hasattr(c, "co_code"))
    return code.co_code, code.co_names, code.co_varnames, code.co_argcount, repr(consts)


@functools.lru_cache(maxsize=8)
def _sealed_fingerprints(opened: frozenset, loaded: int) -> dict:
    """{name: {fingerprint: "module.name"}} of every loaded course function that grading seals (not in
    ``opened``; ``loaded``: how many modules are loaded, so that a course module loaded later is seen)."""
    import types
    found = {}
    for name, module in list(sys.modules.items()):
        if module is None or not (name == "course_utils" or name.startswith("course_utils.")):
            continue
        for attribute, value in list(vars(module).items()):
            function = getattr(value, "__wrapped__", value)
            if isinstance(function, types.FunctionType) and function.__module__ == name \
                    and (name, attribute) not in opened and len(function.__code__.co_code) >= _COPY_MIN_BYTES:
                found.setdefault(attribute, {}).setdefault(_fingerprint(function.__code__), f"{name}.{attribute}")
    return found


def _forget_compiled(opened: frozenset) -> None:
    """The course's sealed jitted functions (its JAX twins) forget what they compiled: a compiled call
    runs from JAX's C++ cache without running the function's Python code, where the hook sees it. (Not
    ``jax.clear_caches()``: every primitive would compile again, tens of seconds per check.)"""
    seen = set()
    for name, module in list(sys.modules.items()):
        if not name.startswith(allowlist.PACKAGE + ".") or module is None:
            continue
        for value in list(vars(module).values()):
            clear = getattr(value, "clear_cache", None)      # what jax.jit returns has one
            if not callable(clear) or id(value) in seen:
                continue
            seen.add(id(value))
            own = _course_function(value)
            if own is not None and own not in opened:
                clear()


@contextlib.contextmanager
def _file_limit():
    """Files no larger than grading allows: a longer write fails with EFBIG (OSError), as it does there.
    Only where SIGXFSZ is ignored (Python's default) or can be, in the main thread: its default action
    ends the kernel."""
    try:
        import resource
        import signal
        from .sandbox import Limits
    except ImportError:                   # Windows: no file size limit here, and none to imitate
        yield
        return
    limit = Limits().file_mb * 2**20
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.getsignal(signal.SIGXFSZ)
    can_ignore = handler == signal.SIG_IGN or (
        handler is not None and threading.current_thread() is threading.main_thread())
    if not can_ignore or soft != resource.RLIM_INFINITY and soft <= limit:
        yield
        return
    if handler != signal.SIG_IGN:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        if handler != signal.SIG_IGN:
            signal.signal(signal.SIGXFSZ, handler)


def _course_function(func):
    """The course's (module, name) when ``func`` is itself a course function (through partials), else None."""
    while isinstance(func, functools.partial):
        func = func.func
    code = getattr(func, "__code__", None)
    if code is None:
        wrapped = getattr(func, "__wrapped__", None)        # jax.jit and functools.wraps keep it here
        code = getattr(wrapped, "__code__", None)
    if code is None:
        return None
    module = _course_name(code.co_filename)
    if module is None:
        return None
    return module, getattr(code, "co_qualname", code.co_name).split(".")[0]


def _unoffered_globals(func) -> str | None:
    """A third-party module that the answer names (a global it uses), or whose object it names (``from
    torch import clamp``), and grading does not offer."""
    code, scope = getattr(func, "__code__", None), getattr(func, "__globals__", None)
    if code is None or scope is None:
        return None
    names, todo = set(), [code]
    while todo:
        c = todo.pop()
        names.update(c.co_names)
        todo += [k for k in c.co_consts if hasattr(k, "co_names")]
    offered = _offered_modules()
    for name in sorted(names):
        value = scope.get(name)
        module = getattr(value, "__name__", None) if isinstance(value, types.ModuleType) else _installed_package(value)
        if module and module.split(".")[0] not in offered:
            return module.split(".")[0]
    return None


def check_as_graded(exercise: Exercise, func) -> Result:
    """The inline check: ``func`` on the public and practice fixtures, under the assignment's allowlist."""
    from .exercises import HANDED, assignment_of
    assignment = assignment_of(exercise)
    handed = HANDED[assignment]
    withheld = {f"{m}.{n}": exercise.id for m, n in allowlist.parse_names(exercise.withheld_while_graded)}
    opened = _open(assignment, tuple(exercise.withheld_while_graded))
    own = _course_function(func)
    if own is not None and own not in opened:     # the answer is a sealed course function: as graded
        name = f"{own[0]}.{own[1]}"
        why = (allowlist.WHILE_GRADED.format(name=name, exercise=exercise.id) if name in withheld
               else allowlist.message(name, assignment, handed))

        def sealed(*args, **kwargs):
            raise PermissionError(why)
        sealed.__name__ = exercise.function_name
        return check(exercise, sealed, PRACTICE)
    unoffered = _unoffered_globals(func)
    if unoffered:
        return Result(exercise.id, 0.0, exercise.points,
                      f"no marks when graded: {exercise.function_name} uses {unoffered}, which is not offered "
                      f"while grading ({_USE_INSTEAD})", status="error")
    if not callable(func):
        return check(exercise, func, PRACTICE)
    guard = _Guard(opened, assignment, handed, withheld)

    @functools.wraps(func)
    def guarded(*args, **kwargs):
        return guard.call(func, *args, **kwargs)
    with guard:
        return check(exercise, guarded, PRACTICE)
