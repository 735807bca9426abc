"""Progress bars for every loop a person waits for (tqdm).

    for H in progress_bar(hidden_sizes, desc="hidden sizes"): ...

In a notebook the course's bars are tqdm's text bars written to stdout, not ipywidgets bars: a text bar
is ordinary cell output, so it stays readable in the saved notebook (reopened the next day, on GitHub,
in nbviewer, in Colab), where a widget bar whose model is gone shows "Error displaying widget: model
not found"; and stdout, because a notebook paints stderr red. A bar left in a notebook records how long
its loop took. In a terminal, tqdm's usual bar on stderr, cleared when done (``leave=False``).
"""
from __future__ import annotations

import sys

from tqdm.std import tqdm

# No rate (s/epoch) in the bar: tqdm's rate is the bar's whole time over its count, compilation and
# evaluation included, and it disagreed with the steady-state times that the cells print (23.75 s/epoch in
# the bar against 1.04 s/epoch printed, tutorial 06 in fast mode). The bar shows the time it has run and
# its estimate of the time left; the cells print the measured times.
BAR_FORMAT = "{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}{postfix}]"
NOTEBOOK_WIDTH = 96        # characters: fits a JupyterLab output area at the default font size
DELAY = 1.0                # seconds: a loop done sooner (or failing at once, as an unfinished exercise does) shows no bar


def in_notebook() -> bool:
    """True inside a Jupyter kernel (JupyterLab, Colab, nbclient)."""
    shell = sys.modules.get("IPython") and sys.modules["IPython"].get_ipython()
    return shell is not None and hasattr(shell, "kernel")


def progress_bar(iterable=None, desc: str | None = None, total: int | None = None, disable: bool = False,
                 leave: bool | None = None, **options) -> tqdm:
    """A tqdm bar over ``iterable`` (or a manual one with ``total``): a text bar on stdout that stays
    in a notebook, a transient bar on stderr elsewhere; shown once the loop has run for DELAY seconds
    (or at once when it is given a status with set_postfix_str). ``options`` go to tqdm (unit=...)."""
    notebook = in_notebook()
    settings = {"desc": desc, "total": total, "disable": disable, "leave": notebook if leave is None else leave,
                "dynamic_ncols": not notebook, "delay": DELAY, "bar_format": BAR_FORMAT}
    if notebook:
        settings.update(file=sys.stdout, ncols=NOTEBOOK_WIDTH, mininterval=0.5)
    settings.update(options)
    return tqdm(iterable, **settings)
