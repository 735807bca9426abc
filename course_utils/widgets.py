"""Interactive explorers (ipywidgets) for the tutorials. Each function builds and returns a widget;
the computation behind it lives in the reference modules, so it is tested there.

Sections: one per tutorial.
"""
from __future__ import annotations

import numpy as np


def _ipywidgets():
    try:
        import ipywidgets
    except ImportError as err:
        raise ImportError("the explorers need ipywidgets: pip install 'course-utils[notebooks]'") from err
    return ipywidgets
