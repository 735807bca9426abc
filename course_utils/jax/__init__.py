"""JAX versions of the course's references, one module per NumPy module, with the same names.

They are jittable, take explicit PRNG keys, compute in float32 and run unchanged on CPU and GPU.
Each is tested against its NumPy reference on the same inputs and noise.
"""
