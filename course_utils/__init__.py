"""course_utils: the shared helpers of the course "Learning without backpropagation".

Modules: data (MNIST, offline digits), mlp (the shared network), one reference module per family
(perturbation, ...), jax/ (their JAX twins, same names), metrics, plotting, widgets, training
(train any registered rule), registry/rules (the rule registry), run (the terminal runner).
"""
__version__ = "0.1.0"
