"""The inline check's guard (autograder/inline.py), without a sandbox: each way in which grading's rules
are imitated in the student's kernel, both ways round (an honest answer still passes, the cheat fails with
one clear line), and the kernel as it was afterwards (profile functions, the file size limit, SIGXFSZ).

The same cheats graded in the real sandbox are tests/test_red_team.py's section (6)."""
from __future__ import annotations

import sys
import textwrap
import threading

import numpy as np
import pytest

from autograder import check_exercise
from autograder.core import prepared
from autograder.exercises import EXERCISES
from autograder.secret import PRACTICE

resource = pytest.importorskip("resource")      # POSIX: the file size limit
import signal  # noqa: E402

SEALED_04 = "is not available to graded answers in 04_forward_forward"
NOT_OFFERED = "unoffered_pkg is not available to graded answers: grading has no module named 'unoffered_pkg'"


def kernel_state():
    return (sys.getprofile(), threading.getprofile(), resource.getrlimit(resource.RLIMIT_FSIZE),
            signal.getsignal(signal.SIGXFSZ))


@pytest.fixture(autouse=True)
def kernel_left_as_it_was():
    """Every check here leaves the kernel as it found it, whether the answer passes, fails or raises."""
    before = kernel_state()
    yield
    assert kernel_state() == before


def answer(source: str, name: str):
    """A function defined as in a notebook cell (code in "<answer>", the notebook's globals)."""
    namespace = {"__name__": "__main__", "np": np}
    exec(compile(textwrap.dedent(source), "<answer>", "exec"), namespace)
    return namespace[name]


def file_limit_bytes() -> int:
    from autograder.sandbox import Limits
    return Limits().file_mb * 2**20


@pytest.fixture
def unoffered_pkg(tmp_path, monkeypatch):
    """A third-party package installed in a site-packages folder that grading does not offer: a pure
    Python function, a list subclass (its methods are C functions) and an output stream."""
    package = tmp_path / "site-packages" / "unoffered_pkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(textwrap.dedent("""
        import numpy as np
        def clip(s):
            return np.clip(s, 0.0, 1.0)
        class Box(list):
            pass
        class Stream:
            def __init__(self):
                self.text = []
            def write(self, text):
                self.text.append(text)
            def flush(self):
                pass
        class Finder:
            def find_spec(self, name, path=None, target=None):
                return None
        """))
    monkeypatch.syspath_prepend(str(tmp_path / "site-packages"))
    yield package
    for name in [m for m in sys.modules if m.split(".")[0] == "unoffered_pkg"]:
        del sys.modules[name]


# --- honest answers pass --------------------------------------------------------------------------------

CLIP = """
def hard_sigmoid(s):
    return np.clip(s, 0.0, 1.0)
"""


def test_an_honest_numpy_answer_passes():
    assert check_exercise("eqprop.debug_rho", answer(CLIP, "hard_sigmoid")).passed


def test_an_answer_using_the_handed_helpers_passes():
    source = """
    from course_utils.forward_forward import activities, goodness
    def predict(params, x, skip_first=True):
        num_layers = len([k for k in params if k.startswith("W")])
        first = 1 if (skip_first and num_layers > 1) else 0
        scores = np.zeros((len(x), 10))
        for c in range(10):
            labelled = np.array(x, dtype=np.float64)
            labelled[:, :10] = 0.0
            labelled[:, c] = 1.0
            scores[:, c] = sum(goodness(h) for h in activities(params, labelled)[first:])
        return np.argmax(scores, axis=1)
    """
    result = check_exercise("forward_forward.predict", answer(source, "predict"))
    assert result.passed, result.feedback


def test_an_answer_that_runs_its_own_code_in_threads_passes():
    source = """
    from concurrent.futures import ThreadPoolExecutor
    def hard_sigmoid(s):
        with ThreadPoolExecutor(2) as pool:
            low = pool.submit(np.maximum, s, 0.0).result()
            return pool.submit(lambda a: np.minimum(a, 1.0), low).result()
    """
    assert check_exercise("eqprop.debug_rho", answer(source, "hard_sigmoid")).passed


def test_an_answer_that_writes_a_small_scratch_file_passes():
    source = """
    import tempfile
    def hard_sigmoid(s):
        with tempfile.TemporaryFile() as scratch:
            scratch.write(b"0" * 1_000_000)
            scratch.seek(0)
            assert len(scratch.read()) == 1_000_000
        return np.clip(s, 0.0, 1.0)
    """
    assert check_exercise("eqprop.debug_rho", answer(source, "hard_sigmoid")).passed


def test_an_answer_that_prints_passes_whatever_stream_the_kernel_wires_in(unoffered_pkg, monkeypatch):
    """The kernel's streams are a package's that grading does not offer (ipykernel's OutStream, pytest's
    capture): an answer that prints, or writes to sys.stdout itself, runs their code."""
    import unoffered_pkg as package
    stream = package.Stream()
    monkeypatch.setattr(sys, "stdout", stream)
    source = """
    import sys
    def hard_sigmoid(s):
        print("shape", np.shape(s))
        sys.stdout.flush()
        return np.clip(s, 0.0, 1.0)
    """
    result = check_exercise("eqprop.debug_rho", answer(source, "hard_sigmoid"))
    assert result.passed, result.feedback
    assert "shape" in "".join(stream.text)


def test_an_import_past_a_finder_of_an_unoffered_package_passes(unoffered_pkg, tmp_path, monkeypatch):
    """setuptools' _distutils_hack (in site-packages, not offered) is asked about every import."""
    import unoffered_pkg as package
    (tmp_path / "students_helper_for_guard.py").write_text("import numpy as np\nclip = np.clip\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys, "meta_path", [package.Finder(), *sys.meta_path])
    source = """
    def hard_sigmoid(s):
        import students_helper_for_guard
        return students_helper_for_guard.clip(s, 0.0, 1.0)
    """
    try:
        result = check_exercise("eqprop.debug_rho", answer(source, "hard_sigmoid"))
    finally:
        sys.modules.pop("students_helper_for_guard", None)
    assert result.passed, result.feedback


def test_an_answer_jitted_and_compiled_before_the_check_passes():
    source = """
    import jax
    import jax.numpy as jnp
    _labels = jax.jit(lambda scores, labels: jnp.argmax(
        jnp.where(jax.nn.one_hot(labels, scores.shape[1], dtype=bool), -jnp.inf, scores), axis=1))
    def hard_negative_labels(scores, labels):
        return np.asarray(_labels(jnp.asarray(scores), jnp.asarray(labels)))
    """
    function = answer(source, "hard_negative_labels")
    for fixture in prepared(EXERCISES["forward_forward.hard_negatives"], PRACTICE)[0]:
        function(**fixture.kwargs)
    result = check_exercise("forward_forward.hard_negatives", function)
    assert result.passed, result.feedback


# --- threads: the hook covers the threads an answer starts ------------------------------------------------

def test_a_sealed_function_run_in_a_thread_fails():
    source = """
    from concurrent.futures import ThreadPoolExecutor
    from course_utils import forward_forward as _ff
    def hard_negative_labels(scores, labels):
        with ThreadPoolExecutor(1) as pool:
            return pool.submit(_ff.hard_negative_labels, scores, labels).result()
    """
    result = check_exercise("forward_forward.hard_negatives", answer(source, "hard_negative_labels"))
    assert not result.passed
    assert f"raised PermissionError: course_utils.forward_forward.hard_negative_labels {SEALED_04}" in result.feedback


def test_a_refusal_met_in_a_thread_and_swallowed_there_still_fails():
    source = """
    import threading
    from course_utils import forward_forward as _ff
    def hard_negative_labels(scores, labels):
        def peek():
            try:
                _ff.hard_negative_labels(scores, labels)
            except Exception:
                pass
        worker = threading.Thread(target=peek)
        worker.start()
        worker.join()
        masked = np.where(np.eye(scores.shape[1], dtype=bool)[labels], -np.inf, scores)
        return np.argmax(masked, axis=1)
    """
    result = check_exercise("forward_forward.hard_negatives", answer(source, "hard_negative_labels"))
    assert not result.passed and f"course_utils.forward_forward.hard_negative_labels {SEALED_04}" in result.feedback


def test_a_thread_left_running_stops_checking_after_the_check():
    """A thread the answer leaves behind keeps the hook only while the check lasts: afterwards the course
    is the student's again, in that thread too."""
    source = """
    import threading
    from course_utils import forward_forward as _ff
    go, done, seen = threading.Event(), threading.Event(), {}
    def later():
        go.wait(30)
        seen["labels"] = _ff.hard_negative_labels(np.eye(3), np.array([0, 1, 2]))
        seen["profile"] = sys.getprofile()
        done.set()
    def hard_negative_labels(scores, labels):
        if "thread" not in seen:
            seen["thread"] = threading.Thread(target=later, daemon=True)
            seen["thread"].start()
        return np.argmax(np.where(np.eye(scores.shape[1], dtype=bool)[labels], -np.inf, scores), axis=1)
    """
    function = answer("import sys\n" + textwrap.dedent(source), "hard_negative_labels")
    assert check_exercise("forward_forward.hard_negatives", function).passed
    scope = function.__globals__
    scope["go"].set()
    assert scope["done"].wait(30)
    assert scope["seen"]["profile"] is None and scope["seen"]["labels"].shape == (3,)


# --- a refusal the answer catches still counts ----------------------------------------------------------------

def test_a_refusal_caught_by_the_answer_still_fails():
    """CPython unsets a profile function that raises: the sealed call after the caught one goes unseen,
    but the first is on record."""
    source = """
    from course_utils import config as _config
    from course_utils import forward_forward as _ff
    def hard_negative_labels(scores, labels):
        try:
            _config.fast_mode()
        except Exception:
            pass
        return _ff.hard_negative_labels(scores, labels)
    """
    result = check_exercise("forward_forward.hard_negatives", answer(source, "hard_negative_labels"))
    assert not result.passed
    assert f"raised PermissionError: course_utils.config.fast_mode {SEALED_04}" in result.feedback


def test_a_refusal_caught_before_an_honest_result_still_fails():
    source = """
    from course_utils import config as _config
    def hard_negative_labels(scores, labels):
        try:
            _config.fast_mode()
        except PermissionError:
            pass
        return np.argmax(np.where(np.eye(scores.shape[1], dtype=bool)[labels], -np.inf, scores), axis=1)
    """
    result = check_exercise("forward_forward.hard_negatives", answer(source, "hard_negative_labels"))
    assert not result.passed and f"course_utils.config.fast_mode {SEALED_04}" in result.feedback


def test_an_answer_that_raises_leaves_the_kernel_as_it_was():
    source = """
    def hard_sigmoid(s):
        raise ValueError("my own mistake")
    """
    result = check_exercise("eqprop.debug_rho", answer(source, "hard_sigmoid"))
    assert not result.passed and "raised ValueError: my own mistake" in result.feedback


# --- third-party packages that grading does not offer -----------------------------------------------------------

def test_importing_an_unoffered_package_fails_and_it_imports_again_afterwards(unoffered_pkg):
    source = """
    def hard_sigmoid(s):
        import unoffered_pkg
        return np.clip(s, 0.0, 1.0)
    """
    result = check_exercise("eqprop.debug_rho", answer(source, "hard_sigmoid"))
    assert not result.passed and f"raised ModuleNotFoundError: {NOT_OFFERED}" in result.feedback
    import unoffered_pkg
    assert unoffered_pkg.clip(2.0) == 1.0


def test_python_code_of_an_unoffered_package_fails(unoffered_pkg):
    import unoffered_pkg  # noqa: F401 (imported before the check, as in another cell)
    source = """
    import sys
    def hard_sigmoid(s):
        return sys.modules["unoffered_pkg"].clip(s)
    """
    result = check_exercise("eqprop.debug_rho", answer(source, "hard_sigmoid"))
    assert not result.passed and NOT_OFFERED in result.feedback


def test_c_functions_of_an_unoffered_package_fail(unoffered_pkg):
    """Box.append is a C function: no Python frame of the package runs, the c_call event names it."""
    import unoffered_pkg  # noqa: F401
    source = """
    def hard_sigmoid(s):
        import unoffered_pkg
        box = unoffered_pkg.Box()
        box.append(np.clip(s, 0.0, 1.0))
        return box[0]
    """
    result = check_exercise("eqprop.debug_rho", answer(source, "hard_sigmoid"))
    assert not result.passed and NOT_OFFERED in result.feedback


def test_torch_through_its_c_functions_fails():
    pytest.importorskip("torch")
    source = """
    def hard_sigmoid(s):
        import torch
        return torch.clamp(torch.from_numpy(np.array(s, dtype=np.float64)), 0.0, 1.0).numpy()
    """
    result = check_exercise("eqprop.debug_rho", answer(source, "hard_sigmoid"))
    assert not result.passed
    assert "raised ModuleNotFoundError: torch is not available to graded answers" in result.feedback


def test_a_global_object_of_an_unoffered_package_fails(unoffered_pkg):
    source = """
    from unoffered_pkg import Box
    def hard_sigmoid(s):
        return Box([np.clip(s, 0.0, 1.0)])[0]
    """
    result = check_exercise("eqprop.debug_rho", answer(source, "hard_sigmoid"))
    assert not result.passed
    assert result.feedback.startswith("no marks when graded: hard_sigmoid uses unoffered_pkg, which is not offered")


# --- JAX's compiled cache ------------------------------------------------------------------------------------

def test_a_sealed_jax_twin_compiled_before_the_check_fails():
    """Compiled for every fixture before the check, the twin would run from JAX's C++ cache (no Python
    frame of the course): the check makes it compile again, and the hook sees its Python code."""
    source = """
    import course_utils.jax.forward_forward as _jff
    def predict(params, x, skip_first=True):
        return np.asarray(_jff.predict(params, x, skip_first))
    """
    function = answer(source, "predict")
    for fixture in prepared(EXERCISES["forward_forward.predict"], PRACTICE)[0]:
        function(**fixture.kwargs)
    result = check_exercise("forward_forward.predict", function)
    assert not result.passed
    assert f"raised PermissionError: course_utils.jax.forward_forward.predict {SEALED_04}" in result.feedback


# --- grading's file size limit ----------------------------------------------------------------------------------

OVERSIZE = """
import tempfile
def hard_sigmoid(s):
    with tempfile.TemporaryFile() as scratch:
        scratch.write(b"0" * ({limit} + 2**20))
    return np.clip(s, 0.0, 1.0)
"""


def test_a_file_over_gradings_size_limit_fails():
    result = check_exercise("eqprop.debug_rho", answer(OVERSIZE.format(limit=file_limit_bytes()), "hard_sigmoid"))
    assert not result.passed and "raised OSError: [Errno 27] File too large" in result.feedback


def test_the_file_limit_puts_back_a_sigxfsz_handler_of_the_kernels():
    """A kernel whose SIGXFSZ has a handler: ignored for the check (the write fails with EFBIG instead),
    the handler back afterwards (the autouse fixture compares)."""
    caught = []
    previous = signal.signal(signal.SIGXFSZ, lambda *args: caught.append(args))
    try:
        result = check_exercise("eqprop.debug_rho", answer(OVERSIZE.format(limit=file_limit_bytes()), "hard_sigmoid"))
        assert signal.getsignal(signal.SIGXFSZ) is not signal.SIG_IGN
    finally:
        signal.signal(signal.SIGXFSZ, previous)
    assert not result.passed and "File too large" in result.feedback and caught == []


def test_the_file_limit_is_left_alone_where_sigxfsz_cannot_be_ignored():
    """Off the main thread a handler cannot be changed: with SIGXFSZ not ignored, lowering the limit could
    end the kernel, so the check leaves it as it is."""
    from autograder.inline import _file_limit
    previous = signal.signal(signal.SIGXFSZ, lambda *args: None)
    seen = []

    def in_a_thread():
        with _file_limit():
            seen.append(resource.getrlimit(resource.RLIMIT_FSIZE))
    try:
        worker = threading.Thread(target=in_a_thread)
        worker.start()
        worker.join()
    finally:
        signal.signal(signal.SIGXFSZ, previous)
    assert seen == [resource.getrlimit(resource.RLIMIT_FSIZE)]
