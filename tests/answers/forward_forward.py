"""Tutorial 04 (forward-forward): answers written as students write them, from the notebook's text and
stubs alone (solutions/04_forward_forward), never from the course's references.

The assignment hands answers ``normalise``, ``goodness`` and ``activities`` (its first setup cell); every
other function an answer uses is the student's own, and ``predict`` calls the student's own
``embed_label`` (Exercise 1), as the notebook asks. Each ``literal_<function>`` implements the notebook's
written equations literally (Section 2's normalisation as printed, softplus as log(1 + e^a), ...).

Wrong answers come first from what the notebook's own text invites (Hinton's choices it discusses: a
mean square activity, length normalisation, one mean over a concatenated batch, skip_first, the second
best label), then sign, axis, mean-versus-sum, threshold and derivative errors. A comment
"[property: ...]" names the documented property that a hidden fixture kind separates (the kinds are
listed above each ``_xxx_hidden`` generator in autograder/exercises/forward_forward.py).
"""
import numpy as np

from course_utils.forward_forward import activities, goodness, normalise

E = "forward_forward."


# ==================================================================================================
# Exercise 1: embed_label
# ==================================================================================================

def embed_label(x, labels, num_classes=10):
    """The student's own Exercise 1 (predict below uses it): copy, clear, write the one-hot."""
    out = np.array(x, dtype=float)
    out[:, :num_classes] = 0.0
    out[np.arange(len(out)), labels] = 1.0
    return out


def embed_loop(x, labels, num_classes=10):
    out = x.copy()
    for n in range(out.shape[0]):
        for c in range(num_classes):
            out[n, c] = 1.0 if c == labels[n] else 0.0
    return out


def embed_concatenate(x, labels, num_classes=10):
    one_hot = np.eye(num_classes)[labels]
    return np.concatenate([one_hot, x[:, num_classes:]], axis=1)


def embed_where(x, labels, num_classes=10):
    codes = (np.asarray(labels)[:, None] == np.arange(num_classes)[None, :]).astype(x.dtype)
    out = np.copy(x)
    out[:, :num_classes] = codes
    return out


def embed_eye_columns(x, labels, num_classes=10):
    # np.eye(C)[:, labels] is (C, N); the identity is symmetric, so its transpose is the one-hot codes
    return np.hstack([np.eye(num_classes)[:, labels].T, x[:, num_classes:]])


def embed_float32(x, labels, num_classes=10):
    out = x.astype(np.float32)
    out[:, :num_classes] = np.eye(num_classes, dtype=np.float32)[labels]
    return out


def embed_jax(x, labels, num_classes=10):
    import jax
    import jax.numpy as jnp
    xj = jnp.asarray(x)
    return xj.at[:, :num_classes].set(jax.nn.one_hot(jnp.asarray(labels), num_classes, dtype=xj.dtype))


def literal_embed_label(x, labels, num_classes=10):
    # "its one-hot code replaces the first 10 pixels": x with x[n, :C] := one_hot(labels[n])
    one_hot = np.zeros((len(labels), num_classes))
    one_hot[np.arange(len(labels)), labels] = 1.0
    out = np.array(x, dtype=np.float64)
    out[:, :num_classes] = one_hot
    return out


# --- wrong -----------------------------------------------------------------------------------------

def embed_not_cleared(x, labels, num_classes=10):
    # [property: pixels already set] the other nine label pixels keep the image's values
    out = x.copy()
    out[np.arange(len(x)), labels] = 1.0
    return out


def embed_added(x, labels, num_classes=10):
    # the one-hot added to the corner instead of replacing it
    out = x.copy()
    out[:, :num_classes] += np.eye(num_classes)[labels]
    return out


def embed_ten_hard_coded(x, labels, num_classes=10):
    # [property: num_classes] 10 label pixels whatever num_classes says
    out = x.copy()
    out[:, :10] = np.eye(10)[labels]
    return out


def embed_one_based(x, labels, num_classes=10):
    # [property: labels 0 and 9] "label 1 is the first pixel": label 0 wraps to pixel -1
    out = x.copy()
    out[:, :num_classes] = 0.0
    out[np.arange(len(x)), labels - 1] = 1.0
    return out


def embed_shifted(x, labels, num_classes=10):
    # one pixel to the right of the label
    out = x.copy()
    out[:, :num_classes] = 0.0
    out[np.arange(len(x)), labels + 1] = 1.0
    return out


def embed_whole_batch(x, labels, num_classes=10):
    # [property: every label] out[:, labels] sets every row's pixel at every label of the batch
    out = x.copy()
    out[:, :num_classes] = 0.0
    out[:, labels] = 1.0
    return out


def embed_last_pixels(x, labels, num_classes=10):
    # the label in the last pixels (the bottom-right corner)
    out = x.copy()
    out[:, -num_classes:] = np.eye(num_classes)[labels]
    return out


def embed_prepended(x, labels, num_classes=10):
    # the code put in front of the image: (N, D + C)
    return np.hstack([np.eye(num_classes)[labels], x])


def embed_only_code(x, labels, num_classes=10):
    # only the code, no image
    return np.eye(num_classes)[labels]


def embed_image_dropped(x, labels, num_classes=10):
    # a blank image with the code in its corner
    out = np.zeros_like(x)
    out[np.arange(len(x)), labels] = 1.0
    return out


def embed_label_value(x, labels, num_classes=10):
    # the label written as a number in the first pixel
    out = x.copy()
    out[:, :num_classes] = 0.0
    out[:, 0] = labels
    return out


def embed_integer_copy(x, labels, num_classes=10):
    # np.zeros_like(labels)-style copy: the pixels truncated to integers
    out = np.array(x, dtype=int)
    out[:, :num_classes] = np.eye(num_classes, dtype=int)[labels]
    return out


def embed_one_short(x, labels, num_classes=10):
    # [property: labels 0 and 9] clears pixels 0..8 only (an off-by-one slice)
    out = x.copy()
    out[:, :num_classes - 1] = 0.0
    out[np.arange(len(x)), labels] = 1.0
    return out


def embed_in_place(x, labels, num_classes=10):
    # [property: x is not modified]
    x[:, :num_classes] = np.eye(num_classes)[labels]
    return x


def embed_in_place_loop(x, labels, num_classes=10):
    out = x   # "a copy"
    for n, label in enumerate(labels):
        out[n, :num_classes] = 0.0
        out[n, label] = 1.0
    return out


# ==================================================================================================
# Exercise 2: layer_loss
# ==================================================================================================

def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def loss_logaddexp(h_pos, h_neg, threshold):
    g_pos, g_neg = np.sum(h_pos**2, axis=1), np.sum(h_neg**2, axis=1)
    return np.mean(np.logaddexp(0, threshold - g_pos)) + np.mean(np.logaddexp(0, g_neg - threshold))


def loss_log_sigmoid(h_pos, h_neg, threshold):
    # -log p(positive) and -log(1 - p(positive)), p = sigmoid(g - theta)
    g_pos, g_neg = (h_pos * h_pos).sum(-1), (h_neg * h_neg).sum(-1)
    return -np.log(_sigmoid(g_pos - threshold)).mean() - np.log(1.0 - _sigmoid(g_neg - threshold)).mean()


def loss_loops(h_pos, h_neg, threshold):
    total_pos = 0.0
    for row in h_pos:
        g = sum(v * v for v in row)
        total_pos += np.log1p(np.exp(threshold - g))
    total_neg = 0.0
    for row in h_neg:
        g = sum(v * v for v in row)
        total_neg += np.log1p(np.exp(g - threshold))
    return total_pos / len(h_pos) + total_neg / len(h_neg)


def loss_einsum_float32(h_pos, h_neg, threshold):
    p, n = h_pos.astype(np.float32), h_neg.astype(np.float32)
    g_pos, g_neg = np.einsum("nk,nk->n", p, p), np.einsum("mk,mk->m", n, n)
    t = np.float32(threshold)
    return np.float32(np.mean(np.logaddexp(np.float32(0), t - g_pos)) + np.mean(np.logaddexp(np.float32(0), g_neg - t)))


def loss_jax(h_pos, h_neg, threshold):
    import jax
    import jax.numpy as jnp
    g_pos, g_neg = jnp.sum(jnp.square(h_pos), axis=1), jnp.sum(jnp.square(h_neg), axis=1)
    return jnp.mean(jax.nn.softplus(threshold - g_pos)) + jnp.mean(jax.nn.softplus(g_neg - threshold))


def loss_with_handed_goodness(h_pos, h_neg, threshold):
    softplus = lambda a: np.maximum(a, 0) + np.log1p(np.exp(-np.abs(a)))
    return float(softplus(threshold - goodness(h_pos)).mean() + softplus(goodness(h_neg) - threshold).mean())


def literal_layer_loss(h_pos, h_neg, threshold):
    # L = 1/N sum_n softplus(theta - g(pos_n)) + 1/M sum_m softplus(g(neg_m) - theta), softplus(a) = log(1 + e^a)
    softplus = lambda a: np.log(1 + np.exp(a))
    N, M = h_pos.shape[0], h_neg.shape[0]
    g_pos = np.sum(h_pos**2, axis=1)
    g_neg = np.sum(h_neg**2, axis=1)
    return 1 / N * np.sum(softplus(threshold - g_pos)) + 1 / M * np.sum(softplus(g_neg - threshold))


# --- wrong -----------------------------------------------------------------------------------------

def loss_mean_goodness(h_pos, h_neg, threshold):
    # [property: goodness is a sum] "a mean square activity of 1" read as goodness = mean of h^2
    g_pos, g_neg = np.mean(h_pos**2, axis=1), np.mean(h_neg**2, axis=1)
    return np.mean(np.logaddexp(0, threshold - g_pos)) + np.mean(np.logaddexp(0, g_neg - threshold))


def loss_flipped(h_pos, h_neg, threshold):
    # [property: the sign] p(positive) written as sigmoid(theta - g)
    g_pos, g_neg = np.sum(h_pos**2, axis=1), np.sum(h_neg**2, axis=1)
    return -np.mean(np.log(_sigmoid(threshold - g_pos))) - np.mean(np.log(1 - _sigmoid(threshold - g_neg)))


def loss_swapped(h_pos, h_neg, threshold):
    # positives and negatives exchanged
    return loss_logaddexp(h_neg, h_pos, threshold) if len(h_neg) else 0.0


def loss_summed(h_pos, h_neg, threshold):
    # [property: means over N and over M]
    g_pos, g_neg = np.sum(h_pos**2, axis=1), np.sum(h_neg**2, axis=1)
    return np.sum(np.logaddexp(0, threshold - g_pos)) + np.sum(np.logaddexp(0, g_neg - threshold))


def loss_pooled(h_pos, h_neg, threshold):
    # [property: N != M] Hinton-style code: one mean over the concatenated batch
    g_pos, g_neg = np.sum(h_pos**2, axis=1), np.sum(h_neg**2, axis=1)
    return np.mean(np.logaddexp(0, np.concatenate([threshold - g_pos, g_neg - threshold])))


def loss_halved(h_pos, h_neg, threshold):
    # the average of the two terms
    return 0.5 * loss_logaddexp(h_pos, h_neg, threshold)


def loss_no_threshold(h_pos, h_neg, threshold):
    # [property: the threshold's role]
    g_pos, g_neg = np.sum(h_pos**2, axis=1), np.sum(h_neg**2, axis=1)
    return np.mean(np.logaddexp(0, -g_pos)) + np.mean(np.logaddexp(0, g_neg))


def loss_negative_term_sign(h_pos, h_neg, threshold):
    # theta - g for both kinds
    g_pos, g_neg = np.sum(h_pos**2, axis=1), np.sum(h_neg**2, axis=1)
    return np.mean(np.logaddexp(0, threshold - g_pos)) + np.mean(np.logaddexp(0, threshold - g_neg))


def loss_not_squared(h_pos, h_neg, threshold):
    # goodness as the sum of the activities
    g_pos, g_neg = np.sum(h_pos, axis=1), np.sum(h_neg, axis=1)
    return np.mean(np.logaddexp(0, threshold - g_pos)) + np.mean(np.logaddexp(0, g_neg - threshold))


def loss_norm(h_pos, h_neg, threshold):
    # goodness as the length of the activity vector
    g_pos, g_neg = np.linalg.norm(h_pos, axis=1), np.linalg.norm(h_neg, axis=1)
    return np.mean(np.logaddexp(0, threshold - g_pos)) + np.mean(np.logaddexp(0, g_neg - threshold))


def loss_sigmoid(h_pos, h_neg, threshold):
    # the sigmoid itself (softplus's derivative) as the loss
    g_pos, g_neg = np.sum(h_pos**2, axis=1), np.sum(h_neg**2, axis=1)
    return np.mean(_sigmoid(threshold - g_pos)) + np.mean(_sigmoid(g_neg - threshold))


def loss_log_likelihood(h_pos, h_neg, threshold):
    # log p instead of -log p
    g_pos, g_neg = np.sum(h_pos**2, axis=1), np.sum(h_neg**2, axis=1)
    return np.mean(np.log(_sigmoid(g_pos - threshold))) + np.mean(np.log(1 - _sigmoid(g_neg - threshold)))


def loss_positives_only(h_pos, h_neg, threshold):
    g_pos = np.sum(h_pos**2, axis=1)
    return np.mean(np.logaddexp(0, threshold - g_pos))


def loss_goodness_over_batch(h_pos, h_neg, threshold):
    # [property: one goodness per example] summed over axis 0, the examples
    g_pos, g_neg = np.sum(h_pos**2, axis=0), np.sum(h_neg**2, axis=0)
    return np.mean(np.logaddexp(0, threshold - g_pos)) + np.mean(np.logaddexp(0, g_neg - threshold))


def loss_whole_batch_goodness(h_pos, h_neg, threshold):
    # one goodness for the whole batch
    g_pos, g_neg = np.sum(h_pos**2), np.sum(h_neg**2)
    return np.logaddexp(0, threshold - g_pos) + np.logaddexp(0, g_neg - threshold)


def loss_log2(h_pos, h_neg, threshold):
    g_pos, g_neg = np.sum(h_pos**2, axis=1), np.sum(h_neg**2, axis=1)
    return np.mean(np.log2(1 + np.exp(threshold - g_pos))) + np.mean(np.log2(1 + np.exp(g_neg - threshold)))


def loss_mean_over_units(h_pos, h_neg, threshold):
    # per-unit squares against a per-unit threshold theta / K, averaged over units and examples
    k = h_pos.shape[1]
    return (np.mean(np.logaddexp(0, threshold / k - h_pos**2)) + np.mean(np.logaddexp(0, h_neg**2 - threshold / k)))


def loss_softplus_missing_log(h_pos, h_neg, threshold):
    # softplus written as 1 + e^a
    g_pos, g_neg = np.sum(h_pos**2, axis=1), np.sum(h_neg**2, axis=1)
    return np.mean(1 + np.exp(threshold - g_pos)) + np.mean(1 + np.exp(g_neg - threshold))


# ==================================================================================================
# Exercise 3: layer_gradient
# ==================================================================================================

def _stable_sigmoid(a):
    return 0.5 * (1.0 + np.tanh(0.5 * a))


def gradient_vectorised(W, b, h_below_pos, h_below_neg, threshold):
    u_pos, u_neg = normalise(h_below_pos), normalise(h_below_neg)
    h_pos, h_neg = np.maximum(u_pos @ W.T + b, 0), np.maximum(u_neg @ W.T + b, 0)
    dg_pos = -_stable_sigmoid(threshold - goodness(h_pos)) / len(h_pos)
    dg_neg = _stable_sigmoid(goodness(h_neg) - threshold) / len(h_neg)
    d_pos, d_neg = 2 * h_pos * dg_pos[:, None], 2 * h_neg * dg_neg[:, None]
    return {"W": d_pos.T @ u_pos + d_neg.T @ u_neg, "b": d_pos.sum(0) + d_neg.sum(0)}


def gradient_loops(W, b, h_below_pos, h_below_neg, threshold):
    gW, gb = np.zeros(W.shape), np.zeros(b.shape)
    for data, sign in ((h_below_pos, -1.0), (h_below_neg, 1.0)):
        count = data.shape[0]
        for row in data:
            u = row / np.sqrt(np.mean(row**2) + 1e-8)
            h = np.maximum(W @ u + b, 0.0)
            g = np.dot(h, h)
            dL_dg = sign * _sigmoid(sign * (g - threshold)) / count
            delta = dL_dg * 2 * h
            gW += np.outer(delta, u)
            gb += delta
    return {"W": gW, "b": gb}


def gradient_einsum(W, b, h_below_pos, h_below_neg, threshold):
    out_W, out_b = 0, 0
    for hb, s in ((h_below_pos, -1), (h_below_neg, 1)):
        u = normalise(hb)
        h = np.maximum(np.einsum("kj,nj->nk", W, u) + b, 0)
        delta = 2 * h * np.einsum("n,n->n", np.full(len(h), s / len(h)), _stable_sigmoid(s * (goodness(h) - threshold)))[:, None]
        out_W = out_W + np.einsum("nk,nj->kj", delta, u)
        out_b = out_b + np.einsum("nk->k", delta)
    return {"W": out_W, "b": out_b}


def gradient_float32(W, b, h_below_pos, h_below_neg, threshold):
    f = np.float32
    W, b = W.astype(f), b.astype(f)
    u_pos, u_neg = [h.astype(f) / np.sqrt(np.mean(h.astype(f) ** 2, axis=1, keepdims=True)) for h in (h_below_pos, h_below_neg)]
    h_pos, h_neg = np.maximum(u_pos @ W.T + b, f(0)), np.maximum(u_neg @ W.T + b, f(0))
    d_pos = (-2 / f(len(h_pos))) * _stable_sigmoid(f(threshold) - (h_pos**2).sum(1))[:, None] * h_pos
    d_neg = (2 / f(len(h_neg))) * _stable_sigmoid((h_neg**2).sum(1) - f(threshold))[:, None] * h_neg
    return {"W": (d_pos.T @ u_pos + d_neg.T @ u_neg).astype(f), "b": (d_pos.sum(0) + d_neg.sum(0)).astype(f)}


def _own_loss_jax(W, b, h_below_pos, h_below_neg, threshold):
    import jax
    import jax.numpy as jnp

    def layer(h_below):
        u = h_below / jnp.sqrt(jnp.mean(h_below**2, axis=1, keepdims=True) + 1e-8)
        return jax.nn.relu(u @ W.T + b[None, :])
    g_pos, g_neg = jnp.sum(layer(h_below_pos) ** 2, axis=1), jnp.sum(layer(h_below_neg) ** 2, axis=1)
    return jnp.mean(jax.nn.softplus(threshold - g_pos)) + jnp.mean(jax.nn.softplus(g_neg - threshold))


def gradient_jax_grad(W, b, h_below_pos, h_below_neg, threshold):
    # autodiff of the student's OWN loss (float32, JAX's default)
    import jax
    import jax.numpy as jnp
    gW, gb = jax.grad(_own_loss_jax, argnums=(0, 1))(jnp.asarray(W, jnp.float32), jnp.asarray(b, jnp.float32),
                                                    jnp.asarray(h_below_pos, jnp.float32),
                                                    jnp.asarray(h_below_neg, jnp.float32), threshold)
    return {"W": gW, "b": gb}


def gradient_jax_by_hand(W, b, h_below_pos, h_below_neg, threshold):
    import jax
    import jax.numpy as jnp

    def deltas(h_below, sign):
        u = h_below / jnp.sqrt(jnp.mean(h_below**2, axis=1, keepdims=True))
        h = jax.nn.relu(u @ W.T + b[None, :])
        scale = sign * jax.nn.sigmoid(sign * (jnp.sum(h**2, axis=1) - threshold)) / h.shape[0]
        return 2 * h * scale[:, None], u
    (dp, up), (dn, un) = deltas(jnp.asarray(h_below_pos), -1.0), deltas(jnp.asarray(h_below_neg), 1.0)
    return {"W": dp.T @ up + dn.T @ un, "b": jnp.sum(dp, axis=0) + jnp.sum(dn, axis=0)}


def gradient_stacked(W, b, h_below_pos, h_below_neg, threshold):
    # one batch: positives and negatives stacked, a sign and a weight per row
    n, m = len(h_below_pos), len(h_below_neg)
    u = normalise(np.vstack([h_below_pos, h_below_neg]))
    h = np.maximum(u @ W.T + b, 0)
    s = np.concatenate([-np.ones(n), np.ones(m)])
    weight = np.concatenate([np.full(n, 1 / n), np.full(m, 1 / m)])
    delta = (s * weight * _stable_sigmoid(s * (goodness(h) - threshold)))[:, None] * 2 * h
    return {"W": delta.T @ u, "b": delta.sum(axis=0)}


def literal_layer_gradient(W, b, h_below_pos, h_below_neg, threshold):
    """Section 2 and 3 as written: u = h_below / sqrt(1/J sum_j h_below_j^2 + eps), z = W u + b, h = relu(z),
    g = sum_k h_k^2; dL/dg = -1/N sigma(theta - g) for a positive, +1/M sigma(g - theta) for a negative,
    delta = dL/dg * 2h; dL/dW = sum delta u^T, dL/db = sum delta."""
    sigma = lambda a: 1 / (1 + np.exp(-a))
    eps = 1e-8
    J = W.shape[1]
    N, M = h_below_pos.shape[0], h_below_neg.shape[0]
    dW, db = np.zeros_like(W), np.zeros_like(b)
    for h_below, kind in [(h_below_pos, "pos"), (h_below_neg, "neg")]:
        for n in range(h_below.shape[0]):
            u = h_below[n] / np.sqrt(1 / J * np.sum(h_below[n] ** 2) + eps)
            z = W @ u + b
            h = np.maximum(z, 0)
            g = np.sum(h**2)
            if kind == "pos":
                dL_dg = -1 / N * sigma(threshold - g)
            else:
                dL_dg = 1 / M * sigma(g - threshold)
            delta = dL_dg * 2 * h
            dW += np.outer(delta, u)
            db += delta
    return {"W": dW, "b": db}


def gradient_without_epsilon(W, b, h_below_pos, h_below_neg, threshold):
    # as literal_layer_gradient, with the normalisation's epsilon left out (the contract accepts it)
    sigma = lambda a: 1 / (1 + np.exp(-a))
    J = W.shape[1]
    N, M = h_below_pos.shape[0], h_below_neg.shape[0]
    dW, db = np.zeros_like(W), np.zeros_like(b)
    for h_below, kind in [(h_below_pos, "pos"), (h_below_neg, "neg")]:
        for n in range(h_below.shape[0]):
            u = h_below[n] / np.sqrt(1 / J * np.sum(h_below[n] ** 2))
            z = W @ u + b
            h = np.maximum(z, 0)
            g = np.sum(h**2)
            if kind == "pos":
                dL_dg = -1 / N * sigma(threshold - g)
            else:
                dL_dg = 1 / M * sigma(g - threshold)
            delta = dL_dg * 2 * h
            dW += np.outer(delta, u)
            db += delta
    return {"W": dW, "b": db}


# --- wrong: the student's own pieces, with one thing changed ---------------------------------------

def _student_gradient(W, b, h_below_pos, h_below_neg, threshold, *, norm="rms", outer="u", pos_sign=-1.0,
                      neg_sign=1.0, theta_in=True, count="own", dg="2h", sig="right", bias=True,
                      bias_reduce="sum", goodness_kind="sum", terms=("pos", "neg"), sigmoid=None):
    """One student's layer_gradient, written once; each wrong answer below changes one choice."""
    sigma = sigmoid or _stable_sigmoid
    J, K = W.shape[1], W.shape[0]

    def norm_rows(h):
        if norm == "rms":
            return h / np.sqrt(np.mean(h**2, axis=1, keepdims=True))
        if norm == "none":
            return h
        if norm == "length":
            return h / np.linalg.norm(h, axis=1, keepdims=True)
        if norm == "count K":
            return h / np.sqrt(np.sum(h**2, axis=1, keepdims=True) / K)
        if norm == "no sqrt":
            return h / np.mean(h**2, axis=1, keepdims=True)
        if norm == "batch axis":
            return h / np.sqrt(np.mean(h**2, axis=0, keepdims=True))
        raise ValueError(norm)

    theta = threshold if theta_in else 0.0
    n, m = len(h_below_pos), len(h_below_neg)
    counts = {"own": (n, m), "sum": (1, 1), "pooled": (n + m, n + m)}[count]
    gW, gb = np.zeros_like(W), np.zeros_like(b)
    for kind, h_below, sign, c in (("pos", h_below_pos, pos_sign, counts[0]), ("neg", h_below_neg, neg_sign, counts[1])):
        if kind not in terms:
            continue
        u = norm_rows(h_below)
        z = u @ W.T + (b if bias else 0.0)
        h = np.maximum(z, 0)
        g = np.sum(h**2, axis=1) if goodness_kind == "sum" else np.mean(h**2, axis=1)
        natural = threshold_gap = (g - theta) if kind == "neg" else (theta - g)
        arg = {"right": natural, "flipped": -threshold_gap}[sig]
        dL_dg = sign * sigma(arg) / c
        if goodness_kind == "mean":
            dL_dg = dL_dg / K
        dgdz = {"2h": 2 * h, "2z": 2 * z, "h": h, "2 relu'": 2.0 * (z > 0)}[dg]
        delta = dL_dg[:, None] * dgdz
        gW += delta.T @ (u if outer == "u" else h_below)
        gb += delta.sum(0) if bias_reduce == "sum" else delta.mean(0)
    return {"W": gW, "b": gb}


def gradient_negative_sign(W, b, h_below_pos, h_below_neg, threshold):
    # [property: positives up, negatives down] both terms with a minus
    return _student_gradient(W, b, h_below_pos, h_below_neg, threshold, neg_sign=-1.0)


def gradient_positive_sign(W, b, h_below_pos, h_below_neg, threshold):
    # the chain rule's minus lost on the positives: d/dg softplus(theta - g) written as +sigma
    return _student_gradient(W, b, h_below_pos, h_below_neg, threshold, pos_sign=1.0)


def gradient_ascent(W, b, h_below_pos, h_below_neg, threshold):
    # the update direction (minus the gradient) returned
    out = _student_gradient(W, b, h_below_pos, h_below_neg, threshold)
    return {"W": -out["W"], "b": -out["b"]}


def gradient_no_threshold(W, b, h_below_pos, h_below_neg, threshold):
    # [property: the threshold's role]
    return _student_gradient(W, b, h_below_pos, h_below_neg, threshold, theta_in=False)


def gradient_raw_outer(W, b, h_below_pos, h_below_neg, threshold):
    # [property: deeper layers' inputs are not normalised] dL/dW = delta^T h_below
    return _student_gradient(W, b, h_below_pos, h_below_neg, threshold, outer="raw")


def gradient_no_normalisation(W, b, h_below_pos, h_below_neg, threshold):
    # [property: deeper layers' inputs are not normalised] the layer fed h_below itself
    return _student_gradient(W, b, h_below_pos, h_below_neg, threshold, norm="none")


def gradient_length_normalised(W, b, h_below_pos, h_below_neg, threshold):
    # Hinton's paper: "the length of the hidden vector is normalized" (h / ||h||, not h / rms(h))
    return _student_gradient(W, b, h_below_pos, h_below_neg, threshold, norm="length")


def gradient_normalised_by_K(W, b, h_below_pos, h_below_neg, threshold):
    # [property: J != K] Section 2's 1/K read as this layer's number of units
    return _student_gradient(W, b, h_below_pos, h_below_neg, threshold, norm="count K")


def gradient_normalised_without_sqrt(W, b, h_below_pos, h_below_neg, threshold):
    return _student_gradient(W, b, h_below_pos, h_below_neg, threshold, norm="no sqrt")


def gradient_normalised_over_batch(W, b, h_below_pos, h_below_neg, threshold):
    # [property: a batch of one; several examples] mean over axis 0
    return _student_gradient(W, b, h_below_pos, h_below_neg, threshold, norm="batch axis")


def gradient_summed(W, b, h_below_pos, h_below_neg, threshold):
    # [property: means over N and over M]
    return _student_gradient(W, b, h_below_pos, h_below_neg, threshold, count="sum")


def gradient_pooled(W, b, h_below_pos, h_below_neg, threshold):
    # [property: N != M] one mean over the concatenated batch, as in Hinton-style code
    return _student_gradient(W, b, h_below_pos, h_below_neg, threshold, count="pooled")


def gradient_pre_activation(W, b, h_below_pos, h_below_neg, threshold):
    # [property: silent units] dg/dz = 2z
    return _student_gradient(W, b, h_below_pos, h_below_neg, threshold, dg="2z")


def gradient_factor_two(W, b, h_below_pos, h_below_neg, threshold):
    return _student_gradient(W, b, h_below_pos, h_below_neg, threshold, dg="h")


def gradient_relu_derivative_only(W, b, h_below_pos, h_below_neg, threshold):
    # dg/dz = 2 relu'(z): the h of 2h forgotten
    return _student_gradient(W, b, h_below_pos, h_below_neg, threshold, dg="2 relu'")


def gradient_sigmoid_flipped(W, b, h_below_pos, h_below_neg, threshold):
    # p instead of 1 - p: sigma(g - theta) for positives, sigma(theta - g) for negatives
    return _student_gradient(W, b, h_below_pos, h_below_neg, threshold, sig="flipped")


def gradient_bias_averaged(W, b, h_below_pos, h_below_neg, threshold):
    # dL/db as the mean of delta (delta already carries 1/N)
    return _student_gradient(W, b, h_below_pos, h_below_neg, threshold, bias_reduce="mean")


def gradient_bias_forgotten(W, b, h_below_pos, h_below_neg, threshold):
    # the forward pass without the bias
    return _student_gradient(W, b, h_below_pos, h_below_neg, threshold, bias=False)


def gradient_mean_goodness(W, b, h_below_pos, h_below_neg, threshold):
    # [property: goodness is a sum] jax.grad of the student's own loss, with goodness = mean of h^2
    return _student_gradient(W, b, h_below_pos, h_below_neg, threshold, goodness_kind="mean")


def gradient_positives_only(W, b, h_below_pos, h_below_neg, threshold):
    return _student_gradient(W, b, h_below_pos, h_below_neg, threshold, terms=("pos",))


def gradient_no_sigmoid(W, b, h_below_pos, h_below_neg, threshold):
    # dL/dg = -1/N and +1/M: softplus's derivative forgotten
    return _student_gradient(W, b, h_below_pos, h_below_neg, threshold, sigmoid=lambda a: np.ones_like(a))


def gradient_tanh_without_half(W, b, h_below_pos, h_below_neg, threshold):
    # the text's sigmoid 0.5 * (1 + tanh(a / 2)) copied without the / 2
    return _student_gradient(W, b, h_below_pos, h_below_neg, threshold, sigmoid=lambda a: 0.5 * (1 + np.tanh(a)))


def gradient_softplus_not_sigmoid(W, b, h_below_pos, h_below_neg, threshold):
    # d/da softplus(a) taken as softplus(a)
    return _student_gradient(W, b, h_below_pos, h_below_neg, threshold, sigmoid=lambda a: np.logaddexp(0, a))


def gradient_transposed(W, b, h_below_pos, h_below_neg, threshold):
    # u^T delta: (J, K)
    out = _student_gradient(W, b, h_below_pos, h_below_neg, threshold)
    return {"W": out["W"].T, "b": out["b"]}


def gradient_jax_of_mean_goodness(W, b, h_below_pos, h_below_neg, threshold):
    # [property: goodness is a sum] autodiff of the student's own loss with goodness = mean of squares
    import jax
    import jax.numpy as jnp

    def loss(W, b):
        hs = [jax.nn.relu(hb / jnp.sqrt(jnp.mean(hb**2, axis=1, keepdims=True)) @ W.T + b[None, :])
              for hb in (jnp.asarray(h_below_pos), jnp.asarray(h_below_neg))]
        g_pos, g_neg = jnp.mean(hs[0] ** 2, axis=1), jnp.mean(hs[1] ** 2, axis=1)
        return jnp.mean(jax.nn.softplus(threshold - g_pos)) + jnp.mean(jax.nn.softplus(g_neg - threshold))
    gW, gb = jax.grad(loss, argnums=(0, 1))(jnp.asarray(W), jnp.asarray(b))
    return {"W": gW, "b": gb}


def gradient_jax_pooled(W, b, h_below_pos, h_below_neg, threshold):
    # autodiff of a loss averaged once over the concatenated batch
    import jax
    import jax.numpy as jnp

    def loss(W, b):
        hb = jnp.concatenate([jnp.asarray(h_below_pos), jnp.asarray(h_below_neg)])
        h = jax.nn.relu(hb / jnp.sqrt(jnp.mean(hb**2, axis=1, keepdims=True)) @ W.T + b[None, :])
        g = jnp.sum(h**2, axis=1)
        sign = jnp.concatenate([jnp.ones(len(h_below_pos)), -jnp.ones(len(h_below_neg))])
        return jnp.mean(jax.nn.softplus(sign * (threshold - g)))
    gW, gb = jax.grad(loss, argnums=(0, 1))(jnp.asarray(W), jnp.asarray(b))
    return {"W": gW, "b": gb}


def gradient_in_place(W, b, h_below_pos, h_below_neg, threshold):
    # [property: inputs are not modified] normalised in place
    h_below_pos /= np.sqrt(np.mean(h_below_pos**2, axis=1, keepdims=True))
    h_below_neg /= np.sqrt(np.mean(h_below_neg**2, axis=1, keepdims=True))
    return _student_gradient(W, b, h_below_pos, h_below_neg, threshold)


# ==================================================================================================
# Exercise 4: predict (with the student's own embed_label)
# ==================================================================================================

def _layers(params):
    return len([k for k in params if k.startswith("W")])


def predict_with_activities(params, x, skip_first=True):
    L = _layers(params)
    first = 1 if skip_first and L > 1 else 0
    scores = np.zeros((x.shape[0], 10))
    for c in range(10):
        hs = activities(params, embed_label(x, np.full(x.shape[0], c)))
        scores[:, c] = sum(goodness(h) for h in hs[first:])
    return scores.argmax(axis=1)


def predict_own_forward(params, x, skip_first=True):
    L = _layers(params)
    scores = []
    for c in range(10):
        h = embed_label(x, [c] * len(x))
        total = np.zeros(len(x))
        for l in range(1, L + 1):
            h = np.maximum(normalise(h) @ params[f"W{l}"].T + params[f"b{l}"], 0)
            if not (skip_first and L > 1 and l == 1):
                total += (h**2).sum(axis=1)
        scores.append(total)
    return np.argmax(np.stack(scores, axis=1), axis=1)


def predict_one_big_batch(params, x, skip_first=True):
    # all ten labels at once: (10 N, D), then back to (10, N)
    n = len(x)
    big = embed_label(np.tile(x, (10, 1)), np.repeat(np.arange(10), n))
    hs = activities(params, big)
    used = hs[1:] if (skip_first and len(hs) > 1) else hs
    total = np.sum([goodness(h) for h in used], axis=0)
    return np.argmax(total.reshape(10, n), axis=0)


def predict_float32(params, x, skip_first=True):
    p = {k: v.astype(np.float32) for k, v in params.items()}
    L = _layers(p)
    first = 1 if skip_first and L > 1 else 0
    scores = np.zeros((len(x), 10), dtype=np.float32)
    for c in range(10):
        hs = activities(p, embed_label(x, np.full(len(x), c)).astype(np.float32))
        scores[:, c] = np.sum([goodness(h) for h in hs[first:]], axis=0)
    return np.argmax(scores, axis=1)


def predict_jax(params, x, skip_first=True):
    import jax
    import jax.numpy as jnp
    L = _layers(params)
    first = 1 if skip_first and L > 1 else 0

    def score(c):
        h = jnp.asarray(x).at[:, :10].set(jax.nn.one_hot(jnp.full(len(x), c), 10))
        total = jnp.zeros(len(x))
        for l in range(1, L + 1):
            u = h / jnp.sqrt(jnp.mean(h**2, axis=1, keepdims=True) + 1e-8)
            h = jax.nn.relu(u @ jnp.asarray(params[f"W{l}"]).T + jnp.asarray(params[f"b{l}"])[None, :])
            if l - 1 >= first:
                total = total + jnp.sum(h**2, axis=1)
        return total
    return np.asarray(jnp.argmax(jax.vmap(score)(jnp.arange(10)), axis=0))


def literal_predict(params, x, skip_first=True):
    # "try every label: write it in, run the network, and add up the goodness of the layers. The label
    # with the highest total wins", each layer as Section 2 writes it (u = h / sqrt(1/J sum h^2 + eps))
    L = _layers(params)
    totals = []
    for c in range(10):
        h = embed_label(x, np.full(len(x), c))
        total = 0
        for l in range(1, L + 1):
            u = h / np.sqrt(1 / h.shape[1] * np.sum(h**2, axis=1, keepdims=True) + 1e-8)
            h = np.maximum(u @ params[f"W{l}"].T + params[f"b{l}"], 0)
            if l == 1 and skip_first and L > 1:
                continue
            total = total + np.sum(h**2, axis=1)
        totals.append(total)
    return np.argmax(np.array(totals), axis=0)


# --- wrong -----------------------------------------------------------------------------------------

def _student_scores(params, x, *, norm=True, layers="skip", goodness_kind="sum", labels=range(10),
                    write_label=True, after=False, skip_first=True, combine="sum"):
    L = _layers(params)
    scores = np.zeros((len(x), 10))
    for c in labels:
        h = embed_label(x, np.full(len(x), c)) if write_label else np.array(x, dtype=float)
        per_layer = []
        for l in range(1, L + 1):
            u = normalise(h) if norm and not after else h
            h = np.maximum(u @ params[f"W{l}"].T + params[f"b{l}"], 0)
            if after:
                h = normalise(h)
            g = np.sum(h**2, axis=1) if goodness_kind == "sum" else np.mean(h**2, axis=1)
            if goodness_kind == "probability":
                g = _sigmoid(np.sum(h**2, axis=1) - h.shape[1])
            per_layer.append(g)
        if layers == "skip":            # the contract
            used = per_layer[1:] if skip_first and L > 1 else per_layer
        elif layers == "all":
            used = per_layer
        elif layers == "always skip":   # skip_first also on a one-layer network
            used = per_layer[1:] if skip_first else per_layer
        elif layers == "inverted":
            used = per_layer[1:] if (not skip_first and L > 1) else per_layer
        elif layers == "last":
            used = per_layer[-1:]
        elif layers == "drop last":
            used = per_layer[:-1] if skip_first and L > 1 else per_layer
        scores[:, c] = np.sum(used, axis=0) if combine == "sum" else np.prod(used, axis=0) if used else 0.0
    return scores


def predict_no_normalisation(params, x, skip_first=True):
    # [property: each layer's input normalised]
    return _student_scores(params, x, norm=False, skip_first=skip_first).argmax(axis=1)


def predict_every_layer(params, x, skip_first=True):
    # [property: skip_first with several layers] skip_first ignored
    return _student_scores(params, x, layers="all", skip_first=skip_first).argmax(axis=1)


def predict_lowest(params, x, skip_first=True):
    # [property: highest goodness wins]
    return _student_scores(params, x, skip_first=skip_first).argmin(axis=1)


def predict_skip_only_layer(params, x, skip_first=True):
    # [property: skip_first with one layer] the only layer skipped: every label scores 0
    L = _layers(params)
    scores = np.zeros((len(x), 10))
    for c in range(10):
        hs = activities(params, embed_label(x, np.full(len(x), c)))
        if skip_first:
            hs = hs[1:]
        scores[:, c] = sum(goodness(h) for h in hs)
    return np.argmax(scores, axis=1)


def predict_last_layer_only(params, x, skip_first=True):
    # [property: three layers; skip_first=False] only the top layer's goodness
    return _student_scores(params, x, layers="last", skip_first=skip_first).argmax(axis=1)


def predict_skip_inverted(params, x, skip_first=True):
    # [property: skip_first False and True] the condition the wrong way round
    return _student_scores(params, x, layers="inverted", skip_first=skip_first).argmax(axis=1)


def predict_drop_last(params, x, skip_first=True):
    # hs[:-1]: the last hidden layer left out instead of the first
    return _student_scores(params, x, layers="drop last", skip_first=skip_first).argmax(axis=1)


def predict_mean_goodness(params, x, skip_first=True):
    # [property: layers of different widths] goodness as a mean square activity
    return _student_scores(params, x, goodness_kind="mean", skip_first=skip_first).argmax(axis=1)


def predict_probabilities(params, x, skip_first=True):
    # Section 2's p = sigmoid(g - theta), summed over layers, instead of the goodness
    return _student_scores(params, x, goodness_kind="probability", skip_first=skip_first).argmax(axis=1)


def predict_nine_labels(params, x, skip_first=True):
    # [property: every label tried] range(9)
    return _student_scores(params, x, labels=range(9), skip_first=skip_first)[:, :9].argmax(axis=1)


def predict_label_not_written(params, x, skip_first=True):
    # the label never written in: every candidate scores the same
    return _student_scores(params, x, write_label=False, skip_first=skip_first).argmax(axis=1)


def predict_normalised_after(params, x, skip_first=True):
    # "passes on only the direction": the output normalised, and its goodness is then always K
    return _student_scores(params, x, after=True, skip_first=skip_first).argmax(axis=1)


def predict_without_epsilon(params, x, skip_first=True):
    # [property: a silent layer passes on zeros] own normalisation without the 1e-8: 0/0 for a silent layer
    L = _layers(params)
    scores = np.zeros((len(x), 10))
    for c in range(10):
        h = embed_label(x, np.full(len(x), c))
        for l in range(1, L + 1):
            u = h / np.sqrt(np.mean(h**2, axis=1, keepdims=True))
            h = np.maximum(u @ params[f"W{l}"].T + params[f"b{l}"], 0)
            if l > 1 or not skip_first or L == 1:
                scores[:, c] += np.sum(h**2, axis=1)
    return np.argmax(scores, axis=1)


def predict_product(params, x, skip_first=True):
    # the layers' goodness multiplied
    return _student_scores(params, x, combine="product", skip_first=skip_first).argmax(axis=1)


def predict_wrong_axis(params, x, skip_first=True):
    # [property: a batch of one] argmax over the examples
    return _student_scores(params, x, skip_first=skip_first).argmax(axis=0)


def predict_scores(params, x, skip_first=True):
    # the scores, not the labels
    return _student_scores(params, x, skip_first=skip_first)


def predict_in_place(params, x, skip_first=True):
    # [property: inputs are not modified] the label written into x itself
    L = _layers(params)
    first = 1 if skip_first and L > 1 else 0
    scores = np.zeros((len(x), 10))
    for c in range(10):
        x[:, :10] = 0.0
        x[:, c] = 1.0
        scores[:, c] = sum(goodness(h) for h in activities(params, x)[first:])
    return scores.argmax(axis=1)


# ==================================================================================================
# Exercise 5: hard_negative_labels
# ==================================================================================================

def hard_mask_inf(scores, labels):
    masked = scores.copy()
    masked[np.arange(len(labels)), labels] = -np.inf
    return masked.argmax(axis=1)


def hard_argsort(scores, labels):
    order = np.argsort(-scores, axis=1, kind="stable")
    return np.array([next(c for c in row if c != label) for row, label in zip(order, labels)])


def hard_loop(scores, labels):
    out = []
    for row, label in zip(scores, labels):
        best, best_score = None, -np.inf
        for c, s in enumerate(row):
            if c != label and (best is None or s > best_score):
                best, best_score = c, s
        out.append(best)
    return np.array(out)


def hard_where(scores, labels):
    wrong = np.arange(scores.shape[1])[None, :] != np.asarray(labels)[:, None]
    return np.argmax(np.where(wrong, scores, -np.inf), axis=1)


def hard_min_minus_one(scores, labels):
    masked = scores.astype(np.float64)
    masked[np.arange(len(labels)), labels] = scores.min() - 1.0
    return np.argmax(masked, axis=1)


def hard_jax(scores, labels):
    import jax.numpy as jnp
    s = jnp.asarray(scores)
    return jnp.argmax(s.at[jnp.arange(s.shape[0]), jnp.asarray(labels)].set(-jnp.inf), axis=1)


def hard_delete_and_shift(scores, labels):
    out = np.empty(len(labels), dtype=int)
    for n, label in enumerate(labels):
        i = int(np.argmax(np.delete(scores[n], label)))
        out[n] = i + 1 if i >= label else i
    return out


def literal_hard_negative_labels(scores, labels):
    # "the label c != labels[n] with the highest scores[n, c]"
    return np.array([max((c for c in range(scores.shape[1]) if c != labels[n]), key=lambda c: scores[n, c])
                     for n in range(scores.shape[0])])


# --- wrong -----------------------------------------------------------------------------------------

def hard_unmasked(scores, labels):
    # [property: the correct label scores highest] the correct label not excluded
    return scores.argmax(axis=1)


def hard_lowest(scores, labels):
    # [property: highest, not lowest] the least confusing label
    return scores.argmin(axis=1)


def hard_lowest_wrong(scores, labels):
    # the lowest-scoring wrong label
    masked = scores.copy()
    masked[np.arange(len(labels)), labels] = np.inf
    return masked.argmin(axis=1)


def hard_second_best(scores, labels):
    # [property: the correct label is not always the best] "the correct label is the best; take the next"
    return np.argsort(scores, axis=1)[:, -2]


def hard_mask_zero(scores, labels):
    # [property: every score negative] masked with 0
    masked = scores.copy()
    masked[np.arange(len(labels)), labels] = 0
    return masked.argmax(axis=1)


def hard_mask_minus_one(scores, labels):
    # [property: every score negative] masked with -1
    masked = scores.copy()
    masked[np.arange(len(labels)), labels] = -1
    return masked.argmax(axis=1)


def hard_mask_thousand(scores, labels):
    # [property: large scores] masked with a finite -1000
    masked = scores.copy()
    masked[np.arange(len(labels)), labels] = -1000.0
    return masked.argmax(axis=1)


def hard_subtract_penalty(scores, labels):
    # [property: large scores] the correct label pushed down by a finite amount
    masked = scores - 100.0 * np.eye(scores.shape[1])[labels]
    return masked.argmax(axis=1)


def hard_delete_not_shifted(scores, labels):
    # np.delete of the correct label, its index not shifted back
    return np.array([int(np.argmax(np.delete(row, label))) for row, label in zip(scores, labels)])


def hard_mask_whole_batch(scores, labels):
    # [property: labels differ between examples] masked[:, labels] masks every label of the batch in every row
    masked = scores.copy()
    masked[:, labels] = -np.inf
    return masked.argmax(axis=1)


def hard_nine_candidates(scores, labels):
    # [property: labels 0 and 9] range(9): label 9 never considered
    masked = scores[:, :9].copy()
    rows = np.arange(len(labels))
    keep = labels < 9
    masked[rows[keep], labels[keep]] = -np.inf
    return masked.argmax(axis=1)


def hard_wrong_axis(scores, labels):
    # [property: a batch of one] argmax over the examples
    masked = scores.copy()
    masked[np.arange(len(labels)), labels] = -np.inf
    return masked.argmax(axis=0)


def hard_returns_score(scores, labels):
    # the hardest wrong label's score, not the label
    masked = scores.copy()
    masked[np.arange(len(labels)), labels] = -np.inf
    return masked.max(axis=1)


def hard_next_label(scores, labels):
    # a fixed wrong label, as for random negatives
    return (labels + 1) % scores.shape[1]


def hard_sampled(scores, labels):
    # Hinton's choice: a wrong label sampled in proportion to its probability (not this exercise)
    rng = np.random.default_rng()
    p = np.exp(scores - scores.max(axis=1, keepdims=True))
    p[np.arange(len(labels)), labels] = 0
    p /= p.sum(axis=1, keepdims=True)
    return np.array([rng.choice(len(row), p=row) for row in p])


def hard_in_place(scores, labels):
    # [property: inputs are not modified]
    scores[np.arange(len(labels)), labels] = -np.inf
    return scores.argmax(axis=1)


# ==================================================================================================

CORRECT = {
    E + "embed_label": [embed_label, embed_loop, embed_concatenate, embed_where, embed_eye_columns, embed_float32,
                        embed_jax, literal_embed_label],
    E + "layer_loss": [loss_logaddexp, loss_log_sigmoid, loss_loops, loss_einsum_float32, loss_jax,
                       loss_with_handed_goodness, literal_layer_loss],
    E + "layer_gradient": [gradient_vectorised, gradient_loops, gradient_einsum, gradient_float32, gradient_jax_grad,
                           gradient_jax_by_hand, gradient_stacked, gradient_without_epsilon, literal_layer_gradient],
    E + "predict": [predict_with_activities, predict_own_forward, predict_one_big_batch, predict_float32, predict_jax,
                    literal_predict],
    E + "hard_negatives": [hard_mask_inf, hard_argsort, hard_loop, hard_where, hard_min_minus_one, hard_jax,
                           hard_delete_and_shift, literal_hard_negative_labels],
}

WRONG = {
    E + "embed_label": [
        (embed_not_cleared, "other label pixels not cleared"),
        (embed_added, "one-hot added to the pixels"),
        (embed_ten_hard_coded, "num_classes ignored"),
        (embed_one_based, "label one pixel off"),
        (embed_shifted, "label one pixel off"),
        (embed_whole_batch, "every row gets the whole batch's labels"),
        (embed_last_pixels, "label in the last pixels"),
        (embed_prepended, "label pixels added in front"),
        (embed_only_code, "image left out"),
        (embed_image_dropped, "image left out"),
        (embed_label_value, "label written as a number"),
        (embed_integer_copy, "image cast to integers"),
        (embed_one_short, "other label pixels not cleared"),
        (embed_in_place, None),
        (embed_in_place_loop, None),
    ],
    E + "layer_loss": [
        (loss_mean_goodness, "goodness as a mean"),
        (loss_flipped, "wrong sign of the logistic argument"),
        (loss_swapped, "wrong sign of the logistic argument"),
        (loss_summed, "sum instead of mean"),
        (loss_pooled, "one mean over positives and negatives"),
        (loss_halved, "average of the two terms"),
        (loss_no_threshold, "threshold missing"),
        (loss_negative_term_sign, "sign of the negative term"),
        (loss_not_squared, "goodness not squared"),
        (loss_norm, "goodness as a length"),
        (loss_sigmoid, "sigmoid instead of softplus"),
        (loss_log_likelihood, "wrong sign"),
        (loss_positives_only, "negative term missing"),
        (loss_goodness_over_batch, "goodness summed over the examples"),
        (loss_whole_batch_goodness, "one goodness for the whole batch"),
        (loss_log2, "softplus in base 2"),
        (loss_mean_over_units, "goodness as a mean"),
        (loss_softplus_missing_log, "log missing from softplus"),
    ],
    E + "layer_gradient": [
        (gradient_negative_sign, "sign of the negative term"),
        (gradient_positive_sign, "sign of the positive term"),
        (gradient_ascent, "wrong sign"),
        (gradient_no_threshold, "threshold missing"),
        (gradient_raw_outer, "raw input in the outer product"),
        (gradient_no_normalisation, "normalisation missing"),
        (gradient_length_normalised, "length instead of root-mean-square"),
        (gradient_normalised_by_K, "normalised over the layer's own units"),
        (gradient_normalised_without_sqrt, "square root missing in the normalisation"),
        (gradient_normalised_over_batch, "normalised over the batch"),
        (gradient_summed, "sum instead of mean"),
        (gradient_pooled, "one mean over positives and negatives"),
        (gradient_pre_activation, "ReLU derivative missing"),
        (gradient_factor_two, "factor 2 missing"),
        (gradient_relu_derivative_only, "h missing from dg/dz"),
        (gradient_sigmoid_flipped, "sigmoid argument flipped"),
        (gradient_bias_averaged, "bias gradient averaged"),
        (gradient_bias_forgotten, "bias missing in the forward pass"),
        (gradient_mean_goodness, "goodness as a mean"),
        (gradient_positives_only, "negative term missing"),
        (gradient_no_sigmoid, "sigmoid factor missing"),
        (gradient_tanh_without_half, "sigmoid without the half"),
        (gradient_softplus_not_sigmoid, "softplus instead of its derivative"),
        (gradient_transposed, "transposed"),
        (gradient_jax_of_mean_goodness, "goodness as a mean"),
        (gradient_jax_pooled, "one mean over positives and negatives"),
        (gradient_in_place, None),
    ],
    E + "predict": [
        (predict_no_normalisation, "missing normalisation"),
        (predict_every_layer, "first layer included"),
        (predict_lowest, "lowest goodness"),
        (predict_skip_only_layer, "only layer skipped"),
        (predict_last_layer_only, "only the last layer"),
        (predict_skip_inverted, "skip_first inverted"),
        (predict_drop_last, "last layer left out"),
        (predict_mean_goodness, "goodness as a mean"),
        (predict_probabilities, "probabilities instead of goodness"),
        (predict_nine_labels, "label 9 never tried"),
        (predict_label_not_written, "every label scores the same"),
        (predict_normalised_after, "normalised after the layer"),
        (predict_without_epsilon, "epsilon missing in the normalisation"),
        (predict_product, "goodness multiplied over layers"),
        (predict_wrong_axis, "argmax over the wrong axis"),
        (predict_scores, "scores, not labels"),
        (predict_in_place, None),
    ],
    E + "hard_negatives": [
        (hard_unmasked, "correct label used as a negative"),
        (hard_lowest, "least confusing label"),
        (hard_lowest_wrong, "least confusing label"),
        (hard_second_best, "second-best label"),
        (hard_mask_zero, "masked with a finite value"),
        (hard_mask_minus_one, "masked with a finite value"),
        (hard_mask_thousand, "masked with a finite value"),
        (hard_subtract_penalty, "masked with a finite value"),
        (hard_delete_not_shifted, "index not shifted after np.delete"),
        (hard_mask_whole_batch, "the whole batch's labels masked"),
        (hard_nine_candidates, "label 9 never considered"),
        (hard_wrong_axis, "argmax over the wrong axis"),
        (hard_returns_score, "scores, not labels"),
        (hard_next_label, "a fixed wrong label"),
        (hard_sampled, None),
        (hard_in_place, None),
    ],
}
