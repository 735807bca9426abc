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


# --- tutorial 04: forward-forward ----------------------------------------------------------------

def forward_forward_explorer(params, x, labels):
    """A slider for the threshold (as a multiple of each layer's number of units) over the goodness
    histograms of positive and hard-negative data, and a choice of the layers whose goodness is summed
    at prediction, with the resulting accuracy on (x, labels)."""
    import matplotlib.pyplot as plt
    from IPython.display import display

    from . import forward_forward as ff
    from . import plotting

    w = _ipywidgets()
    params = {k: np.asarray(v, dtype=np.float64) for k, v in params.items()}
    L = ff.num_layers(params)
    wrong = ff.hard_negative_labels(ff.label_goodness(params, x), labels)
    positive, negative = ff.layer_goodness(params, x, labels), ff.layer_goodness(params, x, wrong)
    units = [params[f"W{l}"].shape[0] for l in range(1, L + 1)]
    scale = w.FloatLogSlider(value=1.0, base=10, min=-1, max=1, step=0.05,
                             description="theta / units", continuous_update=False)
    first = w.IntSlider(value=min(2, L), min=1, max=L, description="sum from layer", continuous_update=False)
    out = w.Output()

    def update(*_):
        accuracy = ff.accuracy_with_layers(params, x, labels, first.value)
        with out:
            out.clear_output(wait=True)
            fig = plotting.plot_goodness_histograms(positive, negative, [scale.value * u for u in units])
            fig.suptitle(f"prediction from layers {first.value}..{L}: accuracy {accuracy:.3f}", y=1.03)
            display(fig)
            plt.close(fig)

    scale.observe(update, "value")
    first.observe(update, "value")
    update()
    return w.VBox([w.HBox([scale, first]), out])


# --- tutorial 03: equilibrium propagation --------------------------------------------------------

def eqprop_explorer(params, x, target, epsilon=0.5):
    """Sliders for beta and the number of nudged-phase steps; shows the cosine similarity between the
    EqProp estimate (one-sided and symmetric) and the true gradient of the cost at the free fixed point
    (course_utils.jax.eqprop.implicit_gradient)."""
    import jax.numpy as jnp
    import matplotlib.pyplot as plt
    from IPython.display import display

    from .jax import eqprop as jep
    from .metrics import cosine_similarity

    w = _ipywidgets()
    params = {k: jnp.asarray(v) for k, v in params.items()}
    x, target = jnp.asarray(x), jnp.asarray(target)
    steps_to_converge = 500      # passed as cosine_vs_beta passes it, so that the compiled functions are reused
    true = jep.implicit_gradient(params, x, target, epsilon, steps_to_converge)
    free = jep.fixed_point(params, x, epsilon, steps_to_converge)
    log_beta = w.FloatSlider(value=-1, min=-3, max=0.5, step=0.25, description="log10 beta", continuous_update=False)
    steps = w.IntSlider(value=4, min=1, max=100, description="nudged steps", continuous_update=False)
    out = w.Output()

    def update(*_):
        beta = 10.0 ** log_beta.value
        one_sided, symmetric = jep.nudged_estimates(params, x, target, free, beta, epsilon, steps.value)
        one, sym = cosine_similarity(one_sided, true), cosine_similarity(symmetric, true)
        with out:
            out.clear_output(wait=True)
            fig, ax = plt.subplots(figsize=(4.5, 3))
            ax.bar(["one-sided", "symmetric"], [one, sym], color=["#e6ab02", "#7570b3"])
            ax.set(ylim=(min(0, one, sym), 1), ylabel="cosine with the true gradient",
                   title=f"beta = {beta:.3g}, {steps.value} nudged steps")
            display(fig)
            plt.close(fig)

    log_beta.observe(update, "value")
    steps.observe(update, "value")
    update()
    return w.VBox([w.HBox([log_beta, steps]), out])


def settling_explorer(params, x, epsilon=0.5, steps=50, example=0):
    """A slider over relaxation time: the free phase of one example from zero states, its hidden units,
    its outputs and its energy at each step (course_utils.eqprop.settling_trajectory)."""
    import matplotlib.pyplot as plt
    from IPython.display import display

    from . import plotting
    from .eqprop import settling_trajectory

    w = _ipywidgets()
    params = {k: np.asarray(v, dtype=np.float64) for k, v in params.items()}
    x = np.asarray(x, dtype=np.float64)[example:example + 1]
    states, energies = settling_trajectory(params, x, epsilon, steps)
    step = w.IntSlider(value=0, min=0, max=steps, description="step", continuous_update=False)
    out = w.Output()

    def update(*_):
        with out:
            out.clear_output(wait=True)
            fig = plotting.plot_settling(states, energies, step.value)
            display(fig)
            plt.close(fig)

    step.observe(update, "value")
    update()
    return w.VBox([w.HBox([step]), out])
