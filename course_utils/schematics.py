"""Schematics drawn by code: how each family of rules wires its error signal and its phases.

Every function returns a matplotlib Figure, drawn with plain patches and arrows (no files, nothing
fetched), in the house style of course_utils.plotting. Sections: one per tutorial.
"""
from __future__ import annotations

import matplotlib.pyplot as plt  # noqa: F401  (used by the sections below)

from . import plotting  # noqa: F401  (house style and rule colours)


# --- Tutorials 01-02: where the error travels (backprop, FA, DFA, KP) ----------------------------


# --- Tutorials 03-04: EqProp's two phases, forward-forward's two passes --------------------------
