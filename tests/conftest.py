"""Shared test settings: offline, CPU, strict JAX numerics (silent broadcasting is an error)."""
import os
import tempfile

os.environ.setdefault("JAX_PLATFORMS", "cpu")
# One persistent JAX compilation cache per test worker, inherited by the notebooks' kernels and the
# runner's subprocesses: they compile the same programs again and again (tutorial 06 in fast mode ran
# in 68 s cold, 30 s warm). Per worker, so that no two processes write one entry at the same time; the
# programs and their results are the same with or without it.
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", os.path.join(
    tempfile.gettempdir(), f"course-jax-cache-{os.getuid()}-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"))
# Every program, as the course's own cache keeps them (JAX's default keeps only those that took a second or
# more to compile): a student version's run then loads most of what its solution's run compiled (06: 28 s
# -> 15 s).
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("COURSE_FAST", "1")
# Grading in the tests uses a course secret of its own, as an instructor does (the built-in one makes the
# grader warn; tests/test_hidden_fixtures.py checks that warning and grades with other secrets too).
os.environ.setdefault("COURSE_SECRET", "the test suite's own course secret")

import jax  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

jax.config.update("jax_numpy_rank_promotion", "raise")
# Full float32 matrix products: on GPUs JAX otherwise uses TF32 (about 3 significant digits), which
# the JAX-versus-NumPy comparisons would read as disagreement. Training code keeps JAX's default.
jax.config.update("jax_default_matmul_precision", "highest")


@pytest.fixture(scope="session")
def offline_data():
    from course_utils.data import load_offline
    return load_offline()


@pytest.fixture
def rng():
    return np.random.default_rng(0)
