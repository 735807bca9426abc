"""Shared test settings: offline, CPU, strict JAX numerics (silent broadcasting is an error)."""
import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("COURSE_FAST", "1")

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
