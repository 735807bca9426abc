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


# --- tutorial 01: perturbation learning ----------------------------------------------------------

def perturbation_explorer(params, x, y, activation: str = "sigmoid", seed: int = 0):
    """Sliders for the noise sigma and the number of noise samples K; shows, for weight and node
    perturbation, the cosine similarity of the K-sample estimate to the backprop gradient and a
    scatter of estimated against true entries."""
    import matplotlib.pyplot as plt
    from IPython.display import display

    from . import plotting
    from .metrics import cosine_similarity
    from .mlp import backprop_gradients
    from .perturbation import averaged_estimate

    w = _ipywidgets()
    true = backprop_gradients(params, x, y, activation)
    log_sigma = w.FloatSlider(value=-3, min=-5, max=0, step=0.25, description="log10 sigma",
                              continuous_update=False)
    samples = w.IntSlider(value=10, min=1, max=500, step=1, description="samples K",
                          continuous_update=False)
    out = w.Output()

    def update(*_):
        rng = np.random.default_rng(seed)
        sigma = 10.0 ** log_sigma.value
        estimates = {m: averaged_estimate(m, params, x, y, sigma, samples.value, rng, activation)
                     for m in ("weight_perturbation", "node_perturbation")}
        with out:
            out.clear_output(wait=True)
            fig = plotting.plot_estimate_vs_true(estimates, true)
            fig.suptitle(f"sigma = {sigma:.1e}, K = {samples.value}: cos WP = "
                         f"{cosine_similarity(estimates['weight_perturbation'], true):.3f}, cos NP = "
                         f"{cosine_similarity(estimates['node_perturbation'], true):.3f}", y=1.02)
            display(fig)
            plt.close(fig)

    log_sigma.observe(update, "value")
    samples.observe(update, "value")
    update()
    return w.VBox([w.HBox([log_sigma, samples]), out])


# --- tutorial 02: weight transport ---------------------------------------------------------------

def depth_explorer(results_by_depth):
    """A slider over the number of hidden layers; shows the test accuracy per epoch of each rule
    trained at that depth. results_by_depth: {depth: {rule: TrainResult}} (trained beforehand)."""
    import matplotlib.pyplot as plt
    from IPython.display import display

    from . import plotting

    w = _ipywidgets()
    depths = sorted(results_by_depth)
    slider = w.SelectionSlider(options=depths, value=depths[0], description="hidden layers",
                               continuous_update=False)
    out = w.Output()

    def update(*_):
        with out:
            out.clear_output(wait=True)
            fig, ax = plt.subplots(figsize=(5.5, 3.4))
            for name, r in results_by_depth[slider.value].items():
                ax.plot([h["epoch"] for h in r.history], [h["test_accuracy"] for h in r.history], "o-",
                        ms=3, color=plotting.color(name), label=f"{plotting.label(name)}: "
                        f"{r.final['test_accuracy']:.3f}")
            ax.set(xlabel="epoch", ylabel="test accuracy", title=f"{slider.value} hidden layer(s)")
            ax.legend(fontsize=8)
            display(fig)
            plt.close(fig)

    slider.observe(update, "value")
    update()
    return w.VBox([slider, out])
