"""Schematics drawn by code: how each family of rules wires its error signal and its phases.

Every function returns a matplotlib Figure, drawn with plain patches and arrows (no files, nothing
fetched), in the house style of course_utils.plotting. Sections: one per tutorial.
"""
from __future__ import annotations

import matplotlib.pyplot as plt  # noqa: F401  (used by the sections below)

from . import plotting  # noqa: F401  (house style and rule colours)


# --- Tutorials 01-02: where the error travels (backprop, FA, DFA, KP) ----------------------------

WIRING_RULES = ("backprop", "feedback_alignment", "direct_feedback_alignment", "kolen_pollack")

# The error arrows of each rule in a network x -> h1 -> h2 -> y with output error e:
# (from, to, matrix label). Forward arrows are the same for every rule: W1, W2, W3.
_ERROR_PATHS = {
    "backprop": [("e", "h2", "$W_3^\\top$"), ("h2", "h1", "$W_2^\\top$")],
    "feedback_alignment": [("e", "h2", "$B_2$"), ("h2", "h1", "$B_1$")],
    "direct_feedback_alignment": [("e", "h2", "$B_2$"), ("e", "h1", "$B_1$")],
    "kolen_pollack": [("e", "h2", "$B_2 \\to W_3^\\top$"), ("h2", "h1", "$B_1 \\to W_2^\\top$")],
}
_NOTES = {
    "backprop": "the transposed forward weights",
    "feedback_alignment": "fixed random B, layer by layer",
    "direct_feedback_alignment": "fixed random B, straight from e",
    "kolen_pollack": "B gets W's update, transposed",
}


def _wiring(ax, rule):
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
    level = {"x": 0.0, "h1": 1.0, "h2": 2.0, "e": 3.0}
    names = {"x": "$x$", "h1": "$h_1$", "h2": "$h_2$", "e": "$\\hat y$,  $e = \\hat y - y$"}
    ax.set_xlim(-1.6, 2.6)
    ax.set_ylim(-0.5, 3.9)
    ax.axis("off")
    for key, y in level.items():
        ax.add_patch(FancyBboxPatch((-0.55, y - 0.18), 1.6, 0.36, boxstyle="round,pad=0.02",
                                    fc="#f2f2f2", ec="#555555", lw=1))
        ax.text(0.25, y, names[key], ha="center", va="center", fontsize=10)
    order = ["x", "h1", "h2", "e"]
    for l, (a, b) in enumerate(zip(order[:-1], order[1:]), start=1):
        arrow = FancyArrowPatch((-0.25, level[a] + 0.2), (-0.25, level[b] - 0.2), arrowstyle="-|>",
                                mutation_scale=12, color="#888888", lw=1.3, label=f"forward W{l}")
        ax.add_patch(arrow)
        ax.text(-0.42, (level[a] + level[b]) / 2, f"$W_{l}$", ha="right", va="center", fontsize=9, color="#666666")
    colour = plotting.color(rule)
    for source, target, matrix in _ERROR_PATHS[rule]:
        skip = level[source] - level[target] > 1
        start, end = (0.75, level[source] - 0.2), (0.75, level[target] + 0.2)
        if skip:                               # DFA: straight from the output error, past h2
            start, end = (1.05, level[source] - 0.05), (1.05, level[target] + 0.05)
        arrow = FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=12, color=colour, lw=1.8,
                                connectionstyle="arc3,rad=-0.45" if skip else "arc3", label=f"error {matrix}")
        ax.add_patch(arrow)
        x_text = 1.75 if skip else 0.92
        ax.text(x_text, (level[source] + level[target]) / 2, matrix, ha="left", va="center", fontsize=10,
                color=colour)
    ax.set_title(f"{plotting.label(rule)}\n({_NOTES[rule]})", fontsize=9.5)


def weight_transport_wiring(rules=WIRING_RULES):
    """Where the error travels, through which matrix: one panel per rule, on a network x -> h1 -> h2 -> y.

    Grey arrows (left): the forward weights W1, W2, W3. Coloured arrows (right): the error e = y_hat - y on
    its way down, labelled with the matrix it goes through (backprop: W^T; FA: fixed random B, layer by
    layer; DFA: fixed random B from e to every hidden layer; KP: B that learns to become W^T). Every arrow
    patch carries a label ("forward W1", "error $B_1$", ...). Returns the Figure.
    """
    fig, axes = plt.subplots(1, len(rules), figsize=(3.2 * len(rules), 3.6), squeeze=False)
    for ax, rule in zip(axes[0], rules):
        if rule not in _ERROR_PATHS:
            raise ValueError(f"unknown rule {rule!r}: one of {', '.join(WIRING_RULES)}")
        _wiring(ax, rule)
    fig.tight_layout()
    return fig



# --- Tutorials 03-04: EqProp's two phases, forward-forward's two passes --------------------------

def _box34(ax, x, y, text, color, width=1.6, height=0.55, fill=True):
    """A layer drawn as a rounded box centred at (x, y), with its name inside."""
    from matplotlib.patches import FancyBboxPatch
    ax.add_patch(FancyBboxPatch((x - width / 2, y - height / 2), width, height, boxstyle="round,pad=0.05",
                                facecolor=color if fill else "white", edgecolor="#333333", alpha=0.9 if fill else 1.0))
    ax.text(x, y, text, ha="center", va="center", fontsize=10)


def _arrow34(ax, start, end, color="#333333", text=None, text_offset=(0.0, 0.0), both=False, style="-", width=1.5):
    ax.annotate("", xy=end, xytext=start, arrowprops=dict(arrowstyle="<|-|>" if both else "-|>", color=color,
                                                          lw=width, linestyle=style, shrinkA=2, shrinkB=2))
    if text:
        mid = ((start[0] + end[0]) / 2 + text_offset[0], (start[1] + end[1]) / 2 + text_offset[1])
        ax.text(*mid, text, ha="center", va="center", fontsize=9, color=color)


def _blank34(ax, xlim, ylim):
    ax.set(xlim=xlim, ylim=ylim, xticks=[], yticks=[])
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(False)


def eqprop_phases():
    """Equilibrium propagation's two phases on the 784-500-10 network of tutorial 03.

    Left: the free phase (input clamped, beta = 0): hidden and output units settle to s^0, and every
    connection works both ways through the SAME matrix (W and W^T). Right: the nudged phase: the
    cost pulls the outputs towards the target with strength beta, and the network settles to s^beta.
    Below both: the update, which compares each connection's two units in the two settled states.
    Returns the Figure."""
    fig, axes = plt.subplots(1, 2, figsize=(9.5, 4.2))
    gold, hidden, inputs = "#f6d776", "#cfe3f3", "#dddddd"
    for ax, nudged in zip(axes, (False, True)):
        _blank34(ax, (-2.2, 2.4), (-0.9, 4.2))
        _box34(ax, 0, 0, "input x (clamped)", inputs, width=2.2)
        _box34(ax, 0, 1.6, "hidden h", hidden)
        _box34(ax, 0, 3.2, "output y", gold)
        _arrow34(ax, (0, 0.33), (0, 1.27), text="$W_1$", text_offset=(0.35, 0))
        _arrow34(ax, (0, 1.93), (0, 2.87), both=True, text="$W_2$ up,\n$W_2^\\top$ down", text_offset=(0.75, 0))
        if nudged:
            _box34(ax, 1.75, 3.2, "target t", "white", width=1.1, fill=False)
            _arrow34(ax, (1.18, 3.2), (0.85, 3.2), color="#b2182b")
            ax.text(1.4, 2.65, "nudge: $-\\beta\\,(y - t)$", ha="center", fontsize=9, color="#b2182b")
            ax.set_title("2. Nudged phase ($\\beta \\neq 0$): settle again to $s^\\beta$", fontsize=11)
        else:
            ax.text(1.4, 3.2, "no target", ha="center", va="center", fontsize=9, color="#777777")
            ax.set_title("1. Free phase ($\\beta = 0$): settle to $s^0$", fontsize=11)
        ax.text(-1.95, 2.4, "relax:\n$s \\leftarrow \\mathrm{clip}(s - \\epsilon\\, \\partial F / \\partial s)$",
                ha="left", va="center", fontsize=8.5, color="#555555")
    fig.text(0.5, 0.03, "3. Update, local to each connection:  $\\Delta W_{ij} \\propto \\frac{1}{\\beta}"
             "\\left(\\rho(s_i^\\beta)\\rho(s_j^\\beta) - \\rho(s_i^0)\\rho(s_j^0)\\right)$",
             ha="center", fontsize=10.5)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig


def forward_forward_passes():
    """Forward-forward's two passes through the 784-500-500 network of tutorial 04.

    Left: a positive pass (the image with its correct label written in): each layer raises its
    goodness g = sum of its squared activities. Right: a negative pass (the same image, a wrong
    label): each layer lowers it. Between layers only the direction of the activity goes up (the
    normalisation); no error goes down. Returns the Figure."""
    fig, axes = plt.subplots(1, 2, figsize=(9.5, 4.6))
    pos, neg, layer = "#b8e0b8", "#f4c2c2", "#cfe3f3"
    for ax, positive in zip(axes, (True, False)):
        _blank34(ax, (-2.4, 2.6), (-0.9, 5.1))
        colour = pos if positive else neg
        label = "image + correct label" if positive else "image + wrong label"
        _box34(ax, 0, 0, label, colour, width=2.6)
        _box34(ax, 0, 1.9, "layer 1", layer)
        _box34(ax, 0, 3.8, "layer 2", layer)
        _arrow34(ax, (0, 0.33), (0, 1.57), text="normalise,\nthen $W_1$", text_offset=(0.7, 0))
        _arrow34(ax, (0, 2.23), (0, 3.47), text="normalise,\nthen $W_2$", text_offset=(0.7, 0))
        verb = "raise" if positive else "lower"
        for y, l in ((1.9, 1), (3.8, 2)):
            ax.text(1.0, y, f"goodness $g_{l}$: {verb}\n(loss {l}, local)", ha="left", va="center", fontsize=9,
                    color="#1a7a1a" if positive else "#b2182b")
        ax.text(-2.3, 2.85, "nothing\ntravels\ndown", ha="left", va="center", fontsize=9, color="#777777")
        ax.set_title("Positive pass" if positive else "Negative pass", fontsize=11)
    fig.text(0.5, 0.03, "Each layer: $g = \\sum_j h_j^2$;  loss = softplus$(\\theta - g)$ on positive, "
             "softplus$(g - \\theta)$ on negative data", ha="center", fontsize=10.5)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig
