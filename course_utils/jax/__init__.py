"""JAX versions of the course's references, one module per NumPy module, with the same names.

They are jittable, take explicit PRNG keys, compute in float32 and run unchanged on CPU and GPU.
Each is tested against its NumPy reference on the same inputs and noise.

Importing this package points JAX's persistent compilation cache at the course's cache folder
(course_utils.config.enable_compilation_cache: not under the grader, not over a cache of the user's own,
``COURSE_JAX_CACHE=0`` to opt out), so that what one run compiled, the next run loads.
"""
from ..config import enable_compilation_cache

enable_compilation_cache()
