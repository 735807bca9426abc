"""The rate neurons of tutorial 05 (learning online): their names and constants, Nengo's defaults.

The lowest layer of the online tutorial: the NumPy reference (course_utils.online, which re-exports
these names) and its JAX twin (course_utils.jax.online) both take the constants from here, so that
neither imports the other to get them. The rate curves themselves are written in each of the two.
"""
NEURONS = ("relu", "lif")
LIF_TAU_RC, LIF_TAU_REF = 0.02, 0.002          # seconds: Nengo's LIF defaults
RELU_RATE = 100.0                              # Hz per unit current: nengo.RectifiedLinear(amplitude=100)
