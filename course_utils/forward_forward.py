"""Tutorial 04, the forward-forward algorithm (Hinton 2022): NumPy references (float64).

No error travels backwards between layers. Each ReLU layer has its own objective: high *goodness*
(the sum of its squared activities) for positive data, a real image with its correct label written
into its first 10 pixels, and low goodness for negative data, the same image with a wrong label:

    u_l = h_{l-1} / rms(h_{l-1})               only the direction of the activity below is passed on
    h_l = relu(u_l @ W_l.T + b_l),   g_l = sum_j h_lj^2
    p(positive) = sigmoid(g_l - theta_l),      theta_l = the number of units in layer l
    loss_l = mean_n [ softplus(theta_l - g_l(pos_n)) + softplus(g_l(neg_n) - theta_l) ]

The normalisation removes the goodness of the layer below from the input of the next (else the next
layer could read off the answer from the length alone). A prediction tries every label and picks the one
whose embedding gives the highest goodness, summed over the layers (the first hidden layer left out
when there are several). Hard negatives use the model's own most confusing wrong label.

Parameters: {"W1": (H1, D), "b1": (H1,), ..., "WL", "bL"}: L ReLU layers, no read-out layer.
"""
from __future__ import annotations

import numpy as np

NUM_CLASSES = 10
EPS = 1e-8


def embed_label(x, labels, num_classes=NUM_CLASSES):
    """Exercise forward_forward.embed_label: write each label, one-hot, into the first pixels.

    Arguments:
        x: (N, D) images, pixels in [0, 1]. labels: (N,) integers in [0, num_classes).
    Returns:
        (N, D) new array: x with its first num_classes pixels replaced by the one-hot code of the
        label (1.0 at position labels[n], 0.0 at the others). x itself is not modified.
    """
    out = np.array(x, dtype=np.float64, copy=True)
    out[:, :num_classes] = 0.0
    out[np.arange(len(out)), labels] = 1.0
    return out


def normalise(h):
    """Divide each row by its root-mean-square: h / sqrt(mean_j h_j^2 + eps), (N, K) -> (N, K)."""
    return h / np.sqrt(np.mean(h**2, axis=1, keepdims=True) + EPS)


def softplus(a):
    """log(1 + exp(a)), computed without overflow."""
    return np.logaddexp(0.0, a)


def sigmoid(a):
    return 0.5 * (1.0 + np.tanh(0.5 * a))


def layer_forward(W, b, h_below):
    """One layer: u = normalise(h_below), h = relu(u @ W.T + b). Returns (u, h)."""
    u = normalise(h_below)
    return u, np.maximum(u @ W.T + b, 0.0)


def goodness(h):
    """(N, K) activities -> (N,) goodness: the sum of squared activities."""
    return np.sum(h**2, axis=1)


def layer_loss(h_pos, h_neg, threshold):
    """Exercise forward_forward.layer_loss: the layer-local logistic loss around the threshold.

    Arguments:
        h_pos: (N, K) the layer's activities on positive data; h_neg: (M, K) on negative data.
        threshold: theta (a float; Hinton's code uses K, the number of units).
    Returns:
        float: mean_n softplus(theta - g(pos_n)) + mean_m softplus(g(neg_m) - theta), with goodness
        g = sum of squared activities: -log p(positive) for positives, -log p(negative) for negatives,
        where p(positive) = sigmoid(g - theta).
    """
    return float(np.mean(softplus(threshold - goodness(h_pos))) + np.mean(softplus(goodness(h_neg) - threshold)))


def layer_gradients(W, b, h_below_pos, h_below_neg, threshold):
    """dL/dW, dL/db of layer_loss for one layer, treating its input as fixed (no gradient leaves it).

    With g = sum_j h_j^2 and h = relu(z): dg/dz = 2 h. For positives dL/dg = -sigmoid(theta - g) / N,
    for negatives dL/dg = sigmoid(g - theta) / M; then delta = dL/dg * 2h and
    dL/dW = delta_pos^T u_pos + delta_neg^T u_neg, dL/db = sum of delta.
    Returns: ({"W": ..., "b": ...}, loss, (h_pos, h_neg)).
    """
    u_pos, h_pos = layer_forward(W, b, h_below_pos)
    u_neg, h_neg = layer_forward(W, b, h_below_neg)
    g_pos, g_neg = goodness(h_pos), goodness(h_neg)
    d_pos = (-sigmoid(threshold - g_pos) / len(g_pos))[:, None] * 2.0 * h_pos
    d_neg = (sigmoid(g_neg - threshold) / len(g_neg))[:, None] * 2.0 * h_neg
    grads = {"W": d_pos.T @ u_pos + d_neg.T @ u_neg, "b": d_pos.sum(0) + d_neg.sum(0)}
    return grads, layer_loss(h_pos, h_neg, threshold), (h_pos, h_neg)


def layer_gradient(W, b, h_below_pos, h_below_neg, threshold):
    """Exercise forward_forward.layer_gradient: one layer's local gradient, {"W": dL/dW, "b": dL/db}.

    Arguments:
        W: (K, J), b: (K,): the layer's parameters. h_below_pos: (N, J), h_below_neg: (M, J): the
        layer below's activities (or the label-embedded images, for the first layer) on positive and
        on negative data, treated as data (no gradient flows into them). threshold: theta.
    Returns:
        {"W": (K, J), "b": (K,)}: the gradient of layer_loss(h_pos, h_neg, threshold) with respect
        to W and b, where h = relu(normalise(h_below) @ W.T + b).
    """
    return layer_gradients(W, b, h_below_pos, h_below_neg, threshold)[0]


def num_layers(params):
    return len([k for k in params if k.startswith("W")])


def activities(params, x):
    """Every layer's activities for inputs x: [h_1, ..., h_L]."""
    hs, h = [], x
    for l in range(1, num_layers(params) + 1):
        _, h = layer_forward(params[f"W{l}"], params[f"b{l}"], h)
        hs.append(h)
    return hs


def label_goodness(params, x, skip_first=True, num_classes=NUM_CLASSES):
    """(N, C): for every image and every candidate label, the goodness summed over the layers used
    for prediction (all but the first hidden layer when there are several and skip_first is set)."""
    first = 1 if (skip_first and num_layers(params) > 1) else 0
    scores = np.zeros((len(x), num_classes))
    for c in range(num_classes):
        hs = activities(params, embed_label(x, np.full(len(x), c), num_classes))
        scores[:, c] = sum(goodness(h) for h in hs[first:])
    return scores


def predict(params, x, skip_first=True):
    """Exercise forward_forward.predict: the label whose embedding gives the highest goodness.

    Arguments:
        params: {"W1", "b1", ..., "WL", "bL"}. x: (N, D) images (no label written in them yet).
        skip_first: leave the first hidden layer's goodness out of the sum when L > 1.
    Returns:
        (N,) integer labels: argmax over c of sum_l g_l(embed_label(x, c)).
    """
    return np.argmax(label_goodness(params, x, skip_first), axis=1)


def hard_negative_labels(scores, labels):
    """Exercise forward_forward.hard_negatives: the most confusing wrong label of each example.

    Arguments:
        scores: (N, C) goodness of every candidate label (label_goodness). labels: (N,) correct labels.
    Returns:
        (N,) integers: for each n the label c != labels[n] with the highest scores[n, c].
    """
    masked = np.array(scores, dtype=np.float64, copy=True)
    masked[np.arange(len(labels)), labels] = -np.inf
    return np.argmax(masked, axis=1)


# ----------------------------------------------------------------------------------------------
# Training: every layer is updated at once from its own loss, with Adam.

def init_ff(rng, sizes):
    """sizes = (D, H1, ..., HL): W_l ~ N(0, 1/fan_in) (inputs have unit mean square), b_l = 0."""
    params = {}
    for l, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        params[f"W{l}"] = rng.normal(0.0, np.sqrt(1.0 / fan_in), size=(fan_out, fan_in))
        params[f"b{l}"] = np.zeros(fan_out)
    return params


def adam_update(params, grads, opt, learning_rate, b1=0.9, b2=0.999, eps=1e-8):
    """One Adam step (Kingma and Ba 2015). opt = {"t", "m", "v"}; returns (params, opt), new dicts."""
    t = opt["t"] + 1
    m = {k: b1 * opt["m"][k] + (1 - b1) * grads[k] for k in params}
    v = {k: b2 * opt["v"][k] + (1 - b2) * grads[k] ** 2 for k in params}
    step = learning_rate * np.sqrt(1 - b2**t) / (1 - b1**t)
    new = {k: params[k] - step * m[k] / (np.sqrt(v[k]) + eps) for k in params}
    return new, {"t": t, "m": m, "v": v}


def ff_gradients(params, x_pos, x_neg):
    """Every layer's local gradients (threshold = its number of units) and losses. Each layer's input
    is the layer below's output, treated as data: nothing flows back between layers."""
    grads, losses = {}, []
    h_pos, h_neg = x_pos, x_neg
    for l in range(1, num_layers(params) + 1):
        W, b = params[f"W{l}"], params[f"b{l}"]
        g, loss, (h_pos, h_neg) = layer_gradients(W, b, h_pos, h_neg, threshold=float(W.shape[0]))
        grads[f"W{l}"], grads[f"b{l}"] = g["W"], g["b"]
        losses.append(loss)
    return grads, losses


def _init(rng, cfg):
    params = init_ff(rng, cfg["sizes"])
    return {"params": params, "opt": {"t": 0, "m": {k: np.zeros_like(v) for k, v in params.items()},
                                      "v": {k: np.zeros_like(v) for k, v in params.items()}}}


def _negative_labels(params, x, labels, rng, cfg):
    if cfg["negatives"] == "hard":
        return hard_negative_labels(label_goodness(params, x, cfg["skip_first"]), labels)
    shift = rng.integers(1, NUM_CLASSES, size=len(labels))  # a uniformly random wrong label
    return (labels + shift) % NUM_CLASSES


def _step(state, batch, rng, cfg):
    labels = np.argmax(batch["y"], axis=1)
    params = state["params"]
    x_pos = embed_label(batch["x"], labels)
    x_neg = embed_label(batch["x"], _negative_labels(params, batch["x"], labels, rng, cfg))
    grads, losses = ff_gradients(params, x_pos, x_neg)
    params, opt = adam_update(params, grads, state["opt"], cfg["learning_rate"])
    return {"params": params, "opt": opt}, {"loss": float(np.sum(losses))}


def _predict(state, x, cfg):
    return predict(state["params"], np.asarray(x, dtype=np.float64), cfg["skip_first"])


def _backend():
    from .registry import Backend
    return Backend(_init, _step, _predict)


FORWARD_FORWARD = _backend()


# ----------------------------------------------------------------------------------------------
# Measurements for the figures and the widget.

def layer_goodness(params, x, labels):
    """[(N,) goodness of layer l for the images x with the given labels written in], one per layer."""
    return [goodness(h) for h in activities(params, embed_label(x, labels))]


def loss_monitor(x, labels, x_test=None, y_test=None):
    """A ``monitor`` for course_utils.training.train: each layer's local loss on a probe batch, with
    the hard negatives of the current model. Returns state -> {"layer_loss_1": ..., ...}.

    With x_test, y_test it also records "test_accuracy", computed as the trainer computes it (the
    jitted JAX prediction). Then train(..., eval_every=epochs) can skip the per-epoch accuracy on the
    whole training set, which costs 10 forward passes per image (most of an epoch's time on full MNIST).
    """
    def measure(state):
        params = {k: np.asarray(v, dtype=np.float64) for k, v in state["params"].items()}
        wrong = hard_negative_labels(label_goodness(params, x), labels)
        _, losses = ff_gradients(params, embed_label(x, labels), embed_label(x, wrong))
        out = {f"layer_loss_{l}": loss for l, loss in enumerate(losses, start=1)}
        if x_test is not None:
            out["test_accuracy"] = _jax_accuracy(params, x_test, y_test)
        return out
    return measure


def _jax_accuracy(params, x, labels, chunk=10_000):
    import jax.numpy as jnp

    from .jax.forward_forward import predict as jax_predict
    jparams = {k: jnp.asarray(v, dtype=jnp.float32) for k, v in params.items()}
    preds = np.concatenate([np.asarray(jax_predict(jparams, jnp.asarray(x[i:i + chunk], dtype=jnp.float32)))
                            for i in range(0, len(x), chunk)])
    return float(np.mean(preds == np.asarray(labels)))


def accuracy_with_layers(params, x, labels, first_layer):
    """Test accuracy when the goodness is summed over layers first_layer..L (1-based)."""
    scores = np.zeros((len(x), NUM_CLASSES))
    for c in range(NUM_CLASSES):
        scores[:, c] = sum(layer_goodness(params, x, np.full(len(x), c))[first_layer - 1:])
    return float(np.mean(np.argmax(scores, axis=1) == labels))


# ----------------------------------------------------------------------------------------------
# Training with a learning rule written in the notebook (Exercise forward_forward.layer_gradient).

def train_with_gradient(gradient_fn, x, labels, sizes=(784, 200, 200), epochs=1, batch_size=100,
                        learning_rate=1e-3, seed=0, x_test=None, y_test=None, progress=True):
    """Forward-forward in NumPy with ``gradient_fn`` as every layer's learning rule.

    gradient_fn(W, b, h_below_pos, h_below_neg, threshold) -> {"W": dL/dW, "b": dL/db}, the contract of
    layer_gradient. Everything else is the registered rule's: hard negatives from the current model,
    thresholds = the number of units, Adam, the first hidden layer left out of the prediction.
    Arguments: x (N, D) images, labels (N,) integers; x_test, y_test (optional): the test accuracy is
    measured after every epoch.
    Returns: (params, history): history["loss"], the summed layer losses of every minibatch, and
    history["test_accuracy"], one per epoch (empty without x_test).
    """
    from .progress import progress_bar

    rng = np.random.default_rng(seed)
    params = init_ff(rng, sizes)
    opt = {"t": 0, "m": {k: np.zeros_like(v) for k, v in params.items()},
           "v": {k: np.zeros_like(v) for k, v in params.items()}}
    x, labels = np.asarray(x, dtype=np.float64), np.asarray(labels)
    history = {"loss": [], "test_accuracy": []}
    batches = len(x) // batch_size
    for epoch in range(epochs):
        order = rng.permutation(len(x))
        for i in progress_bar(range(batches), desc=f"epoch {epoch + 1}/{epochs}", unit="batch", disable=not progress):
            rows = order[i * batch_size:(i + 1) * batch_size]
            xb, yb = x[rows], labels[rows]
            wrong = hard_negative_labels(label_goodness(params, xb), yb)
            h_pos, h_neg = embed_label(xb, yb), embed_label(xb, wrong)
            grads, total = {}, 0.0
            for l in range(1, num_layers(params) + 1):
                W, b = params[f"W{l}"], params[f"b{l}"]
                g = gradient_fn(W, b, h_pos, h_neg, float(W.shape[0]))
                grads[f"W{l}"], grads[f"b{l}"] = np.asarray(g["W"], np.float64), np.asarray(g["b"], np.float64)
                _, h_pos = layer_forward(W, b, h_pos)
                _, h_neg = layer_forward(W, b, h_neg)
                total += layer_loss(h_pos, h_neg, float(W.shape[0]))
            params, opt = adam_update(params, grads, opt, learning_rate)
            history["loss"].append(total)
        if x_test is not None:
            history["test_accuracy"].append(float(np.mean(predict(params, x_test) == np.asarray(y_test))))
    return params, history
