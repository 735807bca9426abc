"""Interactive explorers (ipywidgets) for the tutorials. The computation behind each lives in the
reference modules, so it is tested there.

Every explorer does two things, in this order:
1. it displays the figure of its starting values as a plain image: ordinary cell output, which stays in
   the saved notebook and shows wherever the notebook is opened again (a new kernel, GitHub, nbviewer),
   even where the live widget cannot be restored;
2. it returns the live widget: its controls and, below them, the figure redrawn each time a control moves.

They work with ipywidgets 7 (Colab's 7.7.1) and 8. Where ipywidgets is missing or cannot build a control,
an explorer shows its static figure and says so in one line (no error: Run All goes on).

Sections: shared helpers; one section per tutorial.
"""
from __future__ import annotations

import numpy as np

CONTROL_WIDTH = "380px"           # wide enough for every label below and a usable slider


def _ipywidgets():
    try:
        import ipywidgets
    except ImportError as err:
        raise ImportError("the explorers need ipywidgets: pip install 'course-utils[notebooks]'") from err
    return ipywidgets


NO_WIDGETS = ("The live explorer needs ipywidgets 7 or later (pip install ipywidgets): above, its figure for "
              "the starting values.")


class _Fixed:
    """A control that could not be built: it holds its starting value (the static figure's)."""

    def __init__(self, value=None, options=(), **_):
        self.value = value if value is not None else list(options)[0]


def _control(kind, description: str, **options):
    """An ipywidgets control whose label is never cut ("hidden la..."): the label takes the width it
    needs, and the control a fixed width. Values are applied only on release (continuous_update=False),
    so that each redraw follows one decision. Without a usable ipywidgets: a ``_Fixed`` stand-in."""
    try:
        w = _ipywidgets()
        return getattr(w, kind)(description=description, style={"description_width": "initial"},
                                layout=w.Layout(width=CONTROL_WIDTH), continuous_update=False, **options)
    except (ImportError, AttributeError, TypeError):
        return _Fixed(**options)


def _explorer(controls, draw):
    """Display draw()'s figure of the starting values as a static image, then return the live widget.

    controls: the ipywidgets controls; draw(): a new matplotlib Figure for their current values."""
    import matplotlib.pyplot as plt
    from IPython.display import display

    fig = draw()
    display(fig)                  # the static copy: a plain image output, kept in the saved notebook
    plt.close(fig)
    if any(isinstance(control, _Fixed) for control in controls):
        print(NO_WIDGETS)
        return None
    w = _ipywidgets()
    out = w.Output()
    hint = w.HTML("<i>Move a control: the figure is redrawn below it (the figure above keeps the starting "
                  "values).</i>")

    def update(*_):
        with out:
            out.clear_output(wait=True)
            figure = draw()
            display(figure)
            plt.close(figure)

    for control in controls:
        control.observe(update, "value")
    return w.VBox([w.HBox(list(controls), layout=w.Layout(flex_flow="row wrap")), hint, out])


# --- tutorial 01: perturbation learning ----------------------------------------------------------

def perturbation_explorer(params, x, y, activation: str = "sigmoid", seed: int = 0):
    """Sliders for the noise sigma and the number of noise samples K; shows, for weight and node
    perturbation, the cosine similarity of the K-sample estimate to the backprop gradient and a
    scatter of estimated against true entries."""
    from . import plotting
    from .metrics import cosine_similarity
    from .mlp import backprop_gradients
    from .perturbation import averaged_estimate

    true = backprop_gradients(params, x, y, activation)
    log_sigma = _control("FloatSlider", "log10 sigma", value=-3, min=-9, max=0, step=0.25)
    samples = _control("IntSlider", "noise samples K", value=10, min=1, max=500, step=1)

    def draw():
        rng = np.random.default_rng(seed)
        sigma = 10.0 ** log_sigma.value
        estimates = {m: averaged_estimate(m, params, x, y, sigma, samples.value, rng, activation)
                     for m in ("weight_perturbation", "node_perturbation")}
        fig = plotting.plot_estimate_vs_true(estimates, true)
        fig.suptitle(f"sigma = {sigma:.1e}, K = {samples.value}: cos WP = "
                     f"{cosine_similarity(estimates['weight_perturbation'], true):.3f}, cos NP = "
                     f"{cosine_similarity(estimates['node_perturbation'], true):.3f}")
        fig.tight_layout()
        return fig

    return _explorer([log_sigma, samples], draw)


# --- tutorial 02: weight transport ---------------------------------------------------------------

def depth_explorer(results_by_depth):
    """A slider over the number of hidden layers; shows the test accuracy per epoch of each rule
    trained at that depth. results_by_depth: {depth: {rule: TrainResult}} (trained beforehand).
    One y range for every depth, so that moving the slider compares like with like."""
    import matplotlib.pyplot as plt

    from . import plotting

    depths = sorted(results_by_depth)
    slider = _control("SelectionSlider", "hidden layers", options=depths, value=depths[0])
    accuracies = [h["test_accuracy"] for runs in results_by_depth.values() for r in runs.values()
                  for h in r.history if "test_accuracy" in h]
    low = max(0.0, np.floor(min(accuracies) * 10) / 10 - 0.05)
    epochs = [h["epoch"] for runs in results_by_depth.values() for r in runs.values() for h in r.history]

    def draw():
        fig, ax = plt.subplots(figsize=(7.5, 3.4))
        for name, r in results_by_depth[slider.value].items():
            ax.plot([h["epoch"] for h in r.history], [h["test_accuracy"] for h in r.history], "o-",
                    ms=4, color=plotting.color(name), label=f"{plotting.label(name)}: "
                    f"{r.final['test_accuracy']:.3f}")
        ax.set(xlabel="epoch", ylabel="test accuracy", ylim=(low, 1.0), xlim=(min(epochs) - 0.3, max(epochs) + 0.3),
               title=f"{slider.value} hidden layer(s) of 100 units")
        plotting.epoch_ticks(ax, epochs)
        ax.legend(title="final test accuracy", fontsize=9, loc="upper left", bbox_to_anchor=(1.02, 1.0))
        fig.tight_layout()
        return fig

    return _explorer([slider], draw)


# --- tutorial 03: equilibrium propagation --------------------------------------------------------

def eqprop_explorer(params, x, target, epsilon=0.5):
    """Sliders for beta and the number of nudged-phase steps; shows the cosine similarity between the
    EqProp estimate (one-sided and symmetric) and the true gradient of the cost at the free fixed point
    (course_utils.jax.eqprop.implicit_gradient)."""
    import jax.numpy as jnp
    import matplotlib.pyplot as plt

    from .jax import eqprop as jep
    from .metrics import cosine_similarity

    params = {k: jnp.asarray(v) for k, v in params.items()}
    x, target = jnp.asarray(x), jnp.asarray(target)
    steps_to_converge = 500      # passed as cosine_vs_beta passes it, so that the compiled functions are reused
    true = jep.implicit_gradient(params, x, target, epsilon, steps_to_converge)
    free = jep.fixed_point(params, x, epsilon, steps_to_converge)
    log_beta = _control("FloatSlider", "log10 beta", value=-1, min=-3, max=0.5, step=0.25)
    steps = _control("IntSlider", "nudged-phase steps", value=4, min=1, max=100)

    def draw():
        beta = 10.0 ** log_beta.value
        one_sided, symmetric = jep.nudged_estimates(params, x, target, free, beta, epsilon, steps.value)
        values = [cosine_similarity(one_sided, true), cosine_similarity(symmetric, true)]
        fig, ax = plt.subplots(figsize=(5, 3.2))
        bars = ax.bar(["one-sided (+beta)", "symmetric (+/- beta)"], values, color=["#e6ab02", "#7570b3"], width=0.6)
        ax.bar_label(bars, fmt="%.3f")
        ax.axhline(0, color="k", lw=0.8)
        ax.set(ylim=(-1.05 if min(values) < 0 else 0, 1.12), ylabel="cosine with the true gradient",
               title=f"beta = {beta:.3g}, {steps.value} nudged steps")
        fig.tight_layout()
        return fig

    return _explorer([log_beta, steps], draw)


def settling_explorer(params, x, epsilon=0.5, steps=50, example=0):
    """A slider over relaxation time: the free phase of one example from zero states, its hidden units,
    its outputs and its energy at each step (course_utils.eqprop.settling_trajectory)."""
    from . import plotting
    from .eqprop import settling_trajectory

    params = {k: np.asarray(v, dtype=np.float64) for k, v in params.items()}
    x = np.asarray(x, dtype=np.float64)[example:example + 1]
    states, energies = settling_trajectory(params, x, epsilon, steps)
    # starts settled: the static figure shows where the free phase ends; slide back to watch it get there
    step = _control("IntSlider", "relaxation step", value=steps, min=0, max=steps)
    return _explorer([step], lambda: plotting.plot_settling(states, energies, step.value))


# --- tutorial 04: forward-forward ----------------------------------------------------------------

def forward_forward_explorer(params, x, labels):
    """A slider for the threshold (as a multiple of each layer's number of units) over the goodness
    histograms of positive and hard-negative data, and a choice of the layers whose goodness is summed
    at prediction, with the resulting accuracy on (x, labels)."""
    from . import forward_forward as ff
    from . import plotting

    params = {k: np.asarray(v, dtype=np.float64) for k, v in params.items()}
    L = ff.num_layers(params)
    wrong = ff.hard_negative_labels(ff.label_goodness(params, x), labels)
    positive, negative = ff.layer_goodness(params, x, labels), ff.layer_goodness(params, x, wrong)
    units = [params[f"W{l}"].shape[0] for l in range(1, L + 1)]
    accuracy = {first: ff.accuracy_with_layers(params, x, labels, first) for first in range(1, L + 1)}
    scale = _control("FloatLogSlider", "threshold / units", value=1.0, base=10, min=-1, max=1, step=0.05)
    first = _control("IntSlider", "sum goodness from layer", value=min(2, L), min=1, max=L)

    ranges = plotting.goodness_ranges(positive, negative, units)   # fixed: the bins stay put as theta moves

    def draw():
        return plotting.plot_goodness_histograms(
            positive, negative, [scale.value * u for u in units], ranges=ranges,
            title=f"threshold = {scale.value:.2f} x units; prediction from the goodness of "
                  f"{f'layer {L} only' if first.value == L else f'layers {first.value} to {L}'}: "
                  f"accuracy {accuracy[first.value]:.3f}")

    return _explorer([scale, first], draw)
