"""Tutorial 01 (perturbation learning), answered as students answer it: from the notebook's text, the
stubs' docstrings and the helpers of the setup cell (forward, mse_loss, per_example_loss), never from the
references. CORRECT: the equations in several styles; WRONG: the errors the text invites first (no
baseline, the batch's loss for every example, the noisy layer input, the isotropic shortcut
2 / (lambda (P + 2)) on a general Hessian, ...), then sign, axis, mean-versus-sum, ddof and missing-term
errors. Comments in brackets name the property of the contract that a fixture must separate for the
grader to reject the answer (see the comment blocks above the hidden-fixture generators in
autograder/exercises/perturbation.py)."""
import jax
import jax.numpy as jnp
import numpy as np
import scipy.optimize

from course_utils.mlp import forward, mse_loss, per_example_loss

WP = "perturbation.weight_perturbation"
NP = "perturbation.node_perturbation"
SNR = "perturbation.gradient_snr"
STEP = "perturbation.stable_step"


# --- the student's own helpers ------------------------------------------------------------------------

def batch_loss(params, x, y, activation):
    return mse_loss(forward(params, x, activation)["y_hat"], y)


def jax_forward(params, x, activation, noise=None):
    """A student's own two-layer MLP in jax.numpy (no rank promotion: biases as (1, out))."""
    h = jnp.asarray(x)
    layers = len(params) // 2
    zs = []
    inputs = []
    for l in range(1, layers + 1):
        inputs.append(h)
        z = h @ jnp.asarray(params[f"W{l}"]).T + jnp.asarray(params[f"b{l}"])[None, :]
        if noise is not None:
            z = z + jnp.asarray(noise[f"z{l}"])
        zs.append(z)
        if l < layers:
            h = jax.nn.sigmoid(z) if activation == "sigmoid" else jnp.maximum(z, 0.0)
    return inputs, zs[-1]


# ======================================================================================================
# Exercise 1: weight perturbation
# ======================================================================================================

def literal_weight_perturbation_gradient(params, x, y, perturbations, sigma, activation="sigmoid"):
    # (1/K) sum_k (L(W + Psi_k) - L(W)) Psi_k / sigma^2
    K = len(perturbations["W1"])
    L_W = mse_loss(forward(params, x, activation)["y_hat"], y)
    total = {name: np.zeros(params[name].shape) for name in params}
    for k in range(K):
        W_plus_Psi = {name: params[name] + perturbations[name][k] for name in params}
        L_W_plus_Psi = mse_loss(forward(W_plus_Psi, x, activation)["y_hat"], y)
        for name in params:
            total[name] = total[name] + (L_W_plus_Psi - L_W) * perturbations[name][k] / sigma**2
    return {name: (1 / K) * total[name] for name in params}


def wp_tensordot(params, x, y, perturbations, sigma, activation="sigmoid"):
    # all the loss changes first, then one contraction over k per parameter
    K = perturbations["b1"].shape[0]
    base = batch_loss(params, x, y, activation)
    changes = np.array([batch_loss({n: params[n] + perturbations[n][k] for n in params}, x, y, activation) - base
                        for k in range(K)])
    return {n: np.tensordot(changes, perturbations[n], axes=1) / (K * sigma**2) for n in params}


def wp_per_example_losses(params, x, y, perturbations, sigma, activation="sigmoid"):
    # L as the mean of per_example_loss, the average over k with np.mean on a stacked array
    clean = per_example_loss(forward(params, x, activation)["y_hat"], y).mean()
    K = next(iter(perturbations.values())).shape[0]
    out = {}
    changes = []
    for k in range(K):
        noisy = per_example_loss(forward({n: p + perturbations[n][k] for n, p in params.items()}, x,
                                         activation)["y_hat"], y).mean()
        changes.append(noisy - clean)
    changes = np.asarray(changes)
    for n in params:
        psi = perturbations[n]
        out[n] = np.mean(changes.reshape((K,) + (1,) * (psi.ndim - 1)) * psi, axis=0) / sigma**2
    return out


def wp_float32(params, x, y, perturbations, sigma, activation="sigmoid"):
    p32 = {n: v.astype(np.float32) for n, v in params.items()}
    x32, y32 = x.astype(np.float32), y.astype(np.float32)
    psi32 = {n: v.astype(np.float32) for n, v in perturbations.items()}

    def loss32(p):
        h = x32
        for l in (1, 2):
            z = h @ p[f"W{l}"].T + p[f"b{l}"]
            h = (1 / (1 + np.exp(-z)) if activation == "sigmoid" else np.maximum(z, 0)) if l == 1 else z
        return np.float32(0.5) * np.mean(np.sum((h - y32) ** 2, axis=1))

    base = loss32(p32)
    K = psi32["W1"].shape[0]
    est = {n: np.zeros_like(v) for n, v in p32.items()}
    for k in range(K):
        change = loss32({n: p32[n] + psi32[n][k] for n in p32}) - base
        for n in p32:
            est[n] += change * psi32[n][k]
    return {n: v / np.float32(K * sigma**2) for n, v in est.items()}


def wp_jax(params, x, y, perturbations, sigma, activation="sigmoid"):
    def loss(p):
        return 0.5 * jnp.mean(jnp.sum((jax_forward(p, x, activation)[1] - jnp.asarray(y)) ** 2, axis=1))

    K = perturbations["W2"].shape[0]
    stacked = {n: jnp.asarray(params[n])[None] + jnp.asarray(perturbations[n]) for n in params}
    losses = jax.vmap(loss)(stacked)                       # (K,) perturbed losses in one call
    change = losses - loss(params)
    return {n: jnp.tensordot(change, jnp.asarray(perturbations[n]), axes=1) / (K * sigma**2) for n in params}


# --- wrong answers --------------------------------------------------------------------------------------

def wp_no_baseline(params, x, y, perturbations, sigma, activation="sigmoid"):
    # the text: "without it the estimate would be swamped by L(W) Psi / sigma^2"  [the baseline]
    K = perturbations["W1"].shape[0]
    out = {n: np.zeros_like(v) for n, v in params.items()}
    for k in range(K):
        L = batch_loss({n: params[n] + perturbations[n][k] for n in params}, x, y, activation)
        for n in params:
            out[n] += L * perturbations[n][k] / sigma**2 / K
    return out


def wp_running_average_baseline(params, x, y, perturbations, sigma, activation="sigmoid"):
    # Think! 1's "expected reward" baseline: the mean of the perturbed losses instead of L(W)  [the baseline]
    K = perturbations["W1"].shape[0]
    losses = [batch_loss({n: params[n] + perturbations[n][k] for n in params}, x, y, activation) for k in range(K)]
    baseline = np.mean(losses)
    return {n: sum((losses[k] - baseline) * perturbations[n][k] for k in range(K)) / (K * sigma**2) for n in params}


def wp_over_sigma(params, x, y, perturbations, sigma, activation="sigmoid"):
    # one sigma instead of sigma^2  [sigma varies]
    base = batch_loss(params, x, y, activation)
    K = perturbations["W1"].shape[0]
    out = {n: 0.0 for n in params}
    for k in range(K):
        d = batch_loss({n: params[n] + perturbations[n][k] for n in params}, x, y, activation) - base
        for n in params:
            out[n] = out[n] + d * perturbations[n][k] / sigma
    return {n: v / K for n, v in out.items()}


def wp_no_sigma(params, x, y, perturbations, sigma, activation="sigmoid"):
    # "Psi is already scaled by sigma", read as: no division at all  [sigma != 1]
    base = batch_loss(params, x, y, activation)
    K = perturbations["W1"].shape[0]
    changes = [batch_loss({n: params[n] + perturbations[n][k] for n in params}, x, y, activation) - base
               for k in range(K)]
    return {n: np.mean([c * perturbations[n][k] for k, c in enumerate(changes)], axis=0) for n in params}


def wp_scaled_twice(params, x, y, perturbations, sigma, activation="sigmoid"):
    # perturbations taken as unit normal draws and scaled by sigma again  [sigma != 1]
    base = batch_loss(params, x, y, activation)
    K = perturbations["W1"].shape[0]
    out = {n: np.zeros_like(v) for n, v in params.items()}
    for k in range(K):
        d = batch_loss({n: params[n] + sigma * perturbations[n][k] for n in params}, x, y, activation) - base
        for n in params:
            out[n] += d * (sigma * perturbations[n][k]) / sigma**2
    return {n: v / K for n, v in out.items()}


def wp_sum_over_k(params, x, y, perturbations, sigma, activation="sigmoid"):
    # no 1/K  [K > 1]
    base = batch_loss(params, x, y, activation)
    out = {n: np.zeros_like(v) for n, v in params.items()}
    for k in range(perturbations["W1"].shape[0]):
        d = batch_loss({n: params[n] + perturbations[n][k] for n in params}, x, y, activation) - base
        for n in params:
            out[n] += d * perturbations[n][k] / sigma**2
    return out


def wp_divided_by_forward_passes(params, x, y, perturbations, sigma, activation="sigmoid"):
    # "K perturbations and K + 1 forward passes": divided by K + 1  [K varies]
    K = perturbations["W1"].shape[0]
    base = batch_loss(params, x, y, activation)
    out = {n: np.zeros_like(v) for n, v in params.items()}
    for k in range(K):
        d = batch_loss({n: params[n] + perturbations[n][k] for n in params}, x, y, activation) - base
        for n in params:
            out[n] += d * perturbations[n][k] / sigma**2
    return {n: v / (K + 1) for n, v in out.items()}


def wp_wrong_sign(params, x, y, perturbations, sigma, activation="sigmoid"):
    # L(W) - L(W + Psi)  [signs]
    base = batch_loss(params, x, y, activation)
    K = perturbations["W1"].shape[0]
    out = {n: np.zeros_like(v) for n, v in params.items()}
    for k in range(K):
        d = base - batch_loss({n: params[n] + perturbations[n][k] for n in params}, x, y, activation)
        for n in params:
            out[n] += d * perturbations[n][k] / sigma**2 / K
    return out


def wp_weights_only(params, x, y, perturbations, sigma, activation="sigmoid"):
    # perturbs and estimates only the weight matrices; biases get zeros  [biases are parameters]
    base = batch_loss(params, x, y, activation)
    K = perturbations["W1"].shape[0]
    out = {n: np.zeros_like(v) for n, v in params.items()}
    for k in range(K):
        perturbed = dict(params)
        for n in ("W1", "W2"):
            perturbed[n] = params[n] + perturbations[n][k]
        d = batch_loss(perturbed, x, y, activation) - base
        for n in ("W1", "W2"):
            out[n] += d * perturbations[n][k] / sigma**2 / K
    return out


def wp_weights_only_keys(params, x, y, perturbations, sigma, activation="sigmoid"):
    # returns only W1 and W2  [the keys of params]
    full = literal_weight_perturbation_gradient(params, x, y, perturbations, sigma, activation)
    return {"W1": full["W1"], "W2": full["W2"]}


def wp_summed_loss(params, x, y, perturbations, sigma, activation="sigmoid"):
    # L as the sum of the examples' losses, not their mean  [N > 1, and N = 1]
    def L(p):
        return per_example_loss(forward(p, x, activation)["y_hat"], y).sum()
    base = L(params)
    K = perturbations["W1"].shape[0]
    return {n: sum((L({m: params[m] + perturbations[m][k] for m in params}) - base) * perturbations[n][k]
                   for k in range(K)) / (K * sigma**2) for n in params}


def wp_loss_without_half(params, x, y, perturbations, sigma, activation="sigmoid"):
    # own loss: mean squared error without the 1/2
    def L(p):
        return np.mean(np.sum((forward(p, x, activation)["y_hat"] - y) ** 2, axis=1))
    base = L(params)
    K = perturbations["W1"].shape[0]
    return {n: sum((L({m: params[m] + perturbations[m][k] for m in params}) - base) * perturbations[n][k]
                   for k in range(K)) / (K * sigma**2) for n in params}


def wp_loss_mean_over_outputs(params, x, y, perturbations, sigma, activation="sigmoid"):
    # own loss: 0.5 * np.mean((y_hat - y)**2), a mean over the outputs too  [C varies, C = 1]
    def L(p):
        return 0.5 * np.mean((forward(p, x, activation)["y_hat"] - y) ** 2)
    base = L(params)
    K = perturbations["W1"].shape[0]
    return {n: sum((L({m: params[m] + perturbations[m][k] for m in params}) - base) * perturbations[n][k]
                   for k in range(K)) / (K * sigma**2) for n in params}


def wp_default_activation(params, x, y, perturbations, sigma, activation="sigmoid"):
    # forward(params, x) without passing the activation on  [both activations]
    def L(p):
        return mse_loss(forward(p, x)["y_hat"], y)
    base = L(params)
    K = perturbations["W1"].shape[0]
    return {n: sum((L({m: params[m] + perturbations[m][k] for m in params}) - base) * perturbations[n][k]
                   for k in range(K)) / (K * sigma**2) for n in params}


def wp_first_perturbation_only(params, x, y, perturbations, sigma, activation="sigmoid"):
    # uses Psi_0 only, whatever K  [K > 1]
    d = batch_loss({n: params[n] + perturbations[n][0] for n in params}, x, y, activation) \
        - batch_loss(params, x, y, activation)
    return {n: d * perturbations[n][0] / sigma**2 for n in params}


def wp_one_array_at_a_time(params, x, y, perturbations, sigma, activation="sigmoid"):
    # "perturbation to every parameter" read as one parameter array at a time, the others clean
    # [all of them perturbed together in each draw]
    K = perturbations["W1"].shape[0]
    base = batch_loss(params, x, y, activation)
    out = {}
    for n in params:
        total = np.zeros_like(params[n])
        for k in range(K):
            moved = dict(params)
            moved[n] = params[n] + perturbations[n][k]
            total += (batch_loss(moved, x, y, activation) - base) * perturbations[n][k]
        out[n] = total / (K * sigma**2)
    return out


def wp_in_place(params, x, y, perturbations, sigma, activation="sigmoid"):
    # perturbs params in place and undoes it: (a + b) - b is not always a  [inputs unchanged]
    base = batch_loss(params, x, y, activation)
    K = perturbations["W1"].shape[0]
    out = {n: np.zeros_like(v) for n, v in params.items()}
    for k in range(K):
        for n in params:
            params[n] += perturbations[n][k]
        d = batch_loss(params, x, y, activation) - base
        for n in params:
            params[n] -= perturbations[n][k]
            out[n] += d * perturbations[n][k] / sigma**2 / K
    return out


# ======================================================================================================
# Exercise 2: node perturbation
# ======================================================================================================

def literal_node_perturbation_gradient(params, x, y, node_noise, sigma, activation="sigmoid"):
    # g_{l,n} = (L_n(noisy) - L_n(clean)) xi_{l,n} / sigma^2;  dW_l = (1/N) g_l^T h_{l-1};  db_l = (1/N) sum_n g_{l,n}
    clean = forward(params, x, activation)
    noisy = forward(params, x, activation, node_noise=node_noise)
    N = x.shape[0]
    L_noisy, L_clean = per_example_loss(noisy["y_hat"], y), per_example_loss(clean["y_hat"], y)
    out = {}
    for l in (1, 2):
        xi = node_noise[f"z{l}"]
        h_prev = clean["inputs"][l - 1]
        g = (L_noisy - L_clean)[:, None] * xi / sigma**2
        out[f"W{l}"] = (1 / N) * g.T @ h_prev
        out[f"b{l}"] = (1 / N) * np.sum(g, axis=0)
    return out


def np_einsum(params, x, y, node_noise, sigma, activation="sigmoid"):
    clean = forward(params, x, activation)
    noisy = forward(params, x, activation, node_noise=node_noise)
    change = per_example_loss(noisy["y_hat"], y) - per_example_loss(clean["y_hat"], y)
    out = {}
    for l, h in enumerate(clean["inputs"], start=1):
        g = np.einsum("n,no->no", change, node_noise[f"z{l}"]) / sigma**2
        out[f"W{l}"] = np.einsum("no,ni->oi", g, h) / len(x)
        out[f"b{l}"] = np.einsum("no->o", g) / len(x)
    return out


def np_loop_over_examples(params, x, y, node_noise, sigma, activation="sigmoid"):
    # one example at a time, summing outer products
    clean = forward(params, x, activation)
    noisy = forward(params, x, activation, node_noise=node_noise)
    N = len(x)
    out = {n: np.zeros_like(v) for n, v in params.items()}
    for i in range(N):
        li = 0.5 * np.sum((noisy["y_hat"][i] - y[i]) ** 2) - 0.5 * np.sum((clean["y_hat"][i] - y[i]) ** 2)
        for l in (1, 2):
            g = li * node_noise[f"z{l}"][i] / sigma**2
            out[f"W{l}"] += np.outer(g, clean["inputs"][l - 1][i]) / N
            out[f"b{l}"] += g / N
    return out


def np_float32(params, x, y, node_noise, sigma, activation="sigmoid"):
    p = {n: v.astype(np.float32) for n, v in params.items()}
    x32, y32 = x.astype(np.float32), y.astype(np.float32)
    xi = {n: v.astype(np.float32) for n, v in node_noise.items()}

    def run(noise):
        h, ins = x32, []
        for l in (1, 2):
            ins.append(h)
            z = h @ p[f"W{l}"].T + p[f"b{l}"]
            if noise:
                z = z + xi[f"z{l}"]
            h = (1 / (1 + np.exp(-z)) if activation == "sigmoid" else np.maximum(z, 0)) if l == 1 else z
        return ins, h

    ins, clean = run(False)
    _, noisy = run(True)
    change = 0.5 * np.sum((noisy - y32) ** 2, axis=1) - 0.5 * np.sum((clean - y32) ** 2, axis=1)
    out = {}
    for l in (1, 2):
        g = change[:, None] * xi[f"z{l}"] / np.float32(sigma**2)
        out[f"W{l}"] = g.T @ ins[l - 1] / np.float32(len(x))
        out[f"b{l}"] = g.mean(axis=0)
    return out


def np_jax(params, x, y, node_noise, sigma, activation="sigmoid"):
    inputs, clean = jax_forward(params, x, activation)
    _, noisy = jax_forward(params, x, activation, node_noise)
    t = jnp.asarray(y)
    change = 0.5 * jnp.sum((noisy - t) ** 2, axis=1) - 0.5 * jnp.sum((clean - t) ** 2, axis=1)
    out = {}
    for l in (1, 2):
        g = change[:, None] * jnp.asarray(node_noise[f"z{l}"]) / sigma**2
        out[f"W{l}"] = g.T @ inputs[l - 1] / x.shape[0]
        out[f"b{l}"] = jnp.mean(g, axis=0)
    return out


# --- wrong answers --------------------------------------------------------------------------------------

def _np_parts(params, x, y, node_noise, activation):
    clean = forward(params, x, activation)
    noisy = forward(params, x, activation, node_noise=node_noise)
    change = per_example_loss(noisy["y_hat"], y) - per_example_loss(clean["y_hat"], y)
    return clean, noisy, change


def np_wrong_sign(params, x, y, node_noise, sigma, activation="sigmoid"):
    # L_n(clean) - L_n(noisy)  [signs]
    clean, noisy, change = _np_parts(params, x, y, node_noise, activation)
    out = {}
    for l in (1, 2):
        g = -change[:, None] * node_noise[f"z{l}"] / sigma**2
        out[f"W{l}"], out[f"b{l}"] = g.T @ clean["inputs"][l - 1] / len(x), g.mean(0)
    return out


def np_three_factor_update(params, x, y, node_noise, sigma, activation="sigmoid"):
    # the three-factor rule's (R_noisy - R_clean) xi x^T with R = -L: the update, not the gradient  [signs]
    clean, noisy, change = _np_parts(params, x, y, node_noise, activation)
    reward_deviation = -change
    out = {}
    for l in (1, 2):
        g = reward_deviation[:, None] * node_noise[f"z{l}"] / sigma**2
        out[f"W{l}"] = np.einsum("no,ni->oi", g, clean["inputs"][l - 1]) / len(x)
        out[f"b{l}"] = g.mean(axis=0)
    return out


def np_sum_over_batch(params, x, y, node_noise, sigma, activation="sigmoid"):
    # no 1/N  [N > 1]
    clean, noisy, change = _np_parts(params, x, y, node_noise, activation)
    out = {}
    for l in (1, 2):
        g = change[:, None] * node_noise[f"z{l}"] / sigma**2
        out[f"W{l}"], out[f"b{l}"] = g.T @ clean["inputs"][l - 1], g.sum(0)
    return out


def np_bias_summed(params, x, y, node_noise, sigma, activation="sigmoid"):
    # W averaged, but the bias summed over the batch  [N > 1]
    clean, noisy, change = _np_parts(params, x, y, node_noise, activation)
    out = {}
    for l in (1, 2):
        g = change[:, None] * node_noise[f"z{l}"] / sigma**2
        out[f"W{l}"], out[f"b{l}"] = g.T @ clean["inputs"][l - 1] / len(x), g.sum(axis=0)
    return out


def np_divided_by_n_twice(params, x, y, node_noise, sigma, activation="sigmoid"):
    # g already divided by N (as the reference's docstring arranges it), then g.mean(0) and / N again  [N > 1]
    clean, noisy, change = _np_parts(params, x, y, node_noise, activation)
    N = len(x)
    out = {}
    for l in (1, 2):
        g = change[:, None] * node_noise[f"z{l}"] / sigma**2 / N
        out[f"W{l}"], out[f"b{l}"] = g.T @ clean["inputs"][l - 1] / N, g.mean(axis=0)
    return out


def np_over_sigma(params, x, y, node_noise, sigma, activation="sigmoid"):
    # sigma instead of sigma^2  [sigma != 1]
    clean, noisy, change = _np_parts(params, x, y, node_noise, activation)
    out = {}
    for l in (1, 2):
        g = change[:, None] * node_noise[f"z{l}"] / sigma
        out[f"W{l}"], out[f"b{l}"] = g.T @ clean["inputs"][l - 1] / len(x), g.mean(0)
    return out


def np_noisy_input(params, x, y, node_noise, sigma, activation="sigmoid"):
    # the text insists on the clean input h_{l-1}; this uses the noisy pass's  [clean vs noisy input]
    clean, noisy, change = _np_parts(params, x, y, node_noise, activation)
    out = {}
    for l in (1, 2):
        g = change[:, None] * node_noise[f"z{l}"] / sigma**2
        out[f"W{l}"], out[f"b{l}"] = g.T @ noisy["inputs"][l - 1] / len(x), g.mean(0)
    return out


def np_batch_loss(params, x, y, node_noise, sigma, activation="sigmoid"):
    # one reward for the whole batch (Think! 2): mse_loss instead of per_example_loss  [N > 1]
    clean = forward(params, x, activation)
    noisy = forward(params, x, activation, node_noise=node_noise)
    change = mse_loss(noisy["y_hat"], y) - mse_loss(clean["y_hat"], y)
    out = {}
    for l in (1, 2):
        g = change * node_noise[f"z{l}"] / sigma**2
        out[f"W{l}"], out[f"b{l}"] = g.T @ clean["inputs"][l - 1] / len(x), g.mean(0)
    return out


def np_batch_loss_summed(params, x, y, node_noise, sigma, activation="sigmoid"):
    # one reward for the batch, as the sum of the examples' losses  [N > 1]
    clean = forward(params, x, activation)
    noisy = forward(params, x, activation, node_noise=node_noise)
    change = np.sum(per_example_loss(noisy["y_hat"], y) - per_example_loss(clean["y_hat"], y))
    out = {}
    for l in (1, 2):
        g = change * node_noise[f"z{l}"] / sigma**2
        out[f"W{l}"], out[f"b{l}"] = g.T @ clean["inputs"][l - 1] / len(x), g.mean(0)
    return out


def np_transposed(params, x, y, node_noise, sigma, activation="sigmoid"):
    # h^T g: (in, out) instead of (out, in)  [orientation]
    clean, noisy, change = _np_parts(params, x, y, node_noise, activation)
    out = {}
    for l in (1, 2):
        g = change[:, None] * node_noise[f"z{l}"] / sigma**2
        out[f"W{l}"], out[f"b{l}"] = clean["inputs"][l - 1].T @ g / len(x), g.mean(0)
    return out


def np_no_biases(params, x, y, node_noise, sigma, activation="sigmoid"):
    # the bias estimates left at zero  [biases are parameters]
    clean, noisy, change = _np_parts(params, x, y, node_noise, activation)
    out = {}
    for l in (1, 2):
        g = change[:, None] * node_noise[f"z{l}"] / sigma**2
        out[f"W{l}"], out[f"b{l}"] = g.T @ clean["inputs"][l - 1] / len(x), np.zeros(g.shape[1])
    return out


def np_pre_activation_for_noise(params, x, y, node_noise, sigma, activation="sigmoid"):
    # multiplies by the noisy pre-activation z + xi instead of the noise xi  [the noise, not z]
    clean, noisy, change = _np_parts(params, x, y, node_noise, activation)
    out = {}
    for l in (1, 2):
        g = change[:, None] * noisy["z"][l - 1] / sigma**2
        out[f"W{l}"], out[f"b{l}"] = g.T @ clean["inputs"][l - 1] / len(x), g.mean(0)
    return out


def np_product_of_means(params, x, y, node_noise, sigma, activation="sigmoid"):
    # outer product of the batch means instead of the mean of the outer products  [N > 1]
    clean, noisy, change = _np_parts(params, x, y, node_noise, activation)
    out = {}
    for l in (1, 2):
        g = change[:, None] * node_noise[f"z{l}"] / sigma**2
        out[f"W{l}"] = np.outer(g.mean(0), clean["inputs"][l - 1].mean(0))
        out[f"b{l}"] = g.mean(0)
    return out


def np_loss_without_half(params, x, y, node_noise, sigma, activation="sigmoid"):
    # own per-example loss ||y_hat - y||^2 without the 1/2
    clean = forward(params, x, activation)
    noisy = forward(params, x, activation, node_noise=node_noise)
    change = np.sum((noisy["y_hat"] - y) ** 2, axis=1) - np.sum((clean["y_hat"] - y) ** 2, axis=1)
    out = {}
    for l in (1, 2):
        g = change[:, None] * node_noise[f"z{l}"] / sigma**2
        out[f"W{l}"], out[f"b{l}"] = g.T @ clean["inputs"][l - 1] / len(x), g.mean(0)
    return out


def np_default_activation(params, x, y, node_noise, sigma, activation="sigmoid"):
    # forward(params, x, ...) without the activation  [both activations]
    clean = forward(params, x)
    noisy = forward(params, x, node_noise=node_noise)
    change = per_example_loss(noisy["y_hat"], y) - per_example_loss(clean["y_hat"], y)
    out = {}
    for l in (1, 2):
        g = change[:, None] * node_noise[f"z{l}"] / sigma**2
        out[f"W{l}"], out[f"b{l}"] = g.T @ clean["inputs"][l - 1] / len(x), g.mean(0)
    return out


def np_no_sigma(params, x, y, node_noise, sigma, activation="sigmoid"):
    # no division by sigma^2 at all  [sigma != 1]
    clean, noisy, change = _np_parts(params, x, y, node_noise, activation)
    out = {}
    for l in (1, 2):
        g = change[:, None] * node_noise[f"z{l}"]
        out[f"W{l}"], out[f"b{l}"] = g.T @ clean["inputs"][l - 1] / len(x), g.mean(0)
    return out


def np_no_baseline(params, x, y, node_noise, sigma, activation="sigmoid"):
    # each example's noisy loss, without subtracting its clean loss  [the baseline]
    noisy = forward(params, x, activation, node_noise=node_noise)
    clean = forward(params, x, activation)
    L_noisy = per_example_loss(noisy["y_hat"], y)
    out = {}
    for l in (1, 2):
        g = L_noisy[:, None] * node_noise[f"z{l}"] / sigma**2
        out[f"W{l}"], out[f"b{l}"] = g.T @ clean["inputs"][l - 1] / len(x), g.mean(0)
    return out


def np_noise_from_the_passes(params, x, y, node_noise, sigma, activation="sigmoid"):
    # the noise recovered as the difference of the two passes' pre-activations: for layer 2 that difference
    # also carries layer 1's noise, propagated  [xi given, not z_noisy - z_clean]
    clean = forward(params, x, activation)
    noisy = forward(params, x, activation, node_noise=node_noise)
    change = per_example_loss(noisy["y_hat"], y) - per_example_loss(clean["y_hat"], y)
    out = {}
    for l in (1, 2):
        xi = noisy["z"][l - 1] - clean["z"][l - 1]
        g = change[:, None] * xi / sigma**2
        out[f"W{l}"] = (g[:, :, None] * clean["inputs"][l - 1][:, None, :]).mean(axis=0)
        out[f"b{l}"] = g.mean(axis=0)
    return out


def np_in_place(params, x, y, node_noise, sigma, activation="sigmoid"):
    # scales the noise in place  [inputs unchanged]
    clean, noisy, change = _np_parts(params, x, y, node_noise, activation)
    out = {}
    for l in (1, 2):
        xi = node_noise[f"z{l}"]
        xi *= change[:, None] / sigma**2
        out[f"W{l}"], out[f"b{l}"] = xi.T @ clean["inputs"][l - 1] / len(x), xi.mean(0)
    return out


# ======================================================================================================
# Exercise 3: gradient SNR
# ======================================================================================================

def literal_gradient_snr(samples):
    # SNR = 1/|P| sum_{p in P} |G_bar_p| / s_p,  s_p = sqrt(1/S sum_s (G_sp - G_bar_p)^2),  P = {p: s_p > 0}
    G = np.asarray(samples)
    S = G.shape[0]
    G_bar = (1 / S) * np.sum(G, axis=0)
    s = np.sqrt((1 / S) * np.sum((G - G_bar) ** 2, axis=0))
    P = s > 0
    return float((1 / np.sum(P)) * np.sum(np.abs(G_bar[P]) / s[P]))


def snr_loops(samples):
    S, P = samples.shape
    ratios = []
    for p in range(P):
        column = [samples[s, p] for s in range(S)]
        m = sum(column) / S
        sd = (sum((v - m) ** 2 for v in column) / S) ** 0.5
        if sd > 0:
            ratios.append(abs(m) / sd)
    return sum(ratios) / len(ratios)


def snr_var_sqrt_masked_array(samples):
    mean = samples.mean(axis=0)
    std = np.sqrt(samples.var(axis=0))
    ratio = np.ma.masked_where(std == 0, np.abs(mean)) / np.ma.masked_where(std == 0, std)
    return float(ratio.mean())


def snr_float32(samples):
    s = samples.astype(np.float32)
    mean, std = s.mean(axis=0), s.std(axis=0)
    keep = std > 0
    return np.float32(np.mean(np.abs(mean[keep]) / std[keep]))


def snr_jax(samples):
    s = jnp.asarray(samples)
    mean, std = jnp.mean(s, axis=0), jnp.std(s, axis=0)
    keep = std > 0
    ratio = jnp.where(keep, jnp.abs(mean) / jnp.where(keep, std, 1.0), 0.0)
    return jnp.sum(ratio) / jnp.sum(keep)


def snr_errstate_nan(samples):
    # 0/0 and c/0 ignored by hand: the ratio is computed everywhere, then only finite entries with std > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.abs(samples.mean(0)) / samples.std(0)
    return float(np.mean(ratio[samples.std(0) > 0]))


def snr_isclose_mask(samples):
    # "zero spread" tested with np.isclose, as students test floats for zero
    mean, std = np.mean(samples, axis=0), np.std(samples, axis=0)
    keep = ~np.isclose(std, 0.0)
    return float(np.mean(np.abs(mean[keep]) / std[keep]))


# --- wrong answers --------------------------------------------------------------------------------------

def snr_no_abs(samples):
    # mean / std without |.|  [negative means]
    mean, std = samples.mean(0), samples.std(0)
    return float(np.mean(mean[std > 0] / std[std > 0]))


def snr_mean_of_abs(samples):
    # |G| averaged over the samples instead of the |.| of the average  [samples of both signs]
    mean_abs, std = np.abs(samples).mean(0), samples.std(0)
    return float(np.mean(mean_abs[std > 0] / std[std > 0]))


def snr_abs_outside(samples):
    # |.| of the averaged ratio instead of the ratio of |mean|  [mixed signs]
    mean, std = samples.mean(0), samples.std(0)
    return float(abs(np.mean(mean[std > 0] / std[std > 0])))


def snr_ddof1(samples):
    # np.std(..., ddof=1), the sample std  [ddof = 0]
    mean, std = samples.mean(0), samples.std(0, ddof=1)
    return float(np.mean(np.abs(mean[std > 0]) / std[std > 0]))


def snr_wrong_axis(samples):
    # mean and std over the parameters (axis 1)  [orientation: rows are samples]
    mean, std = samples.mean(1), samples.std(1)
    return float(np.mean(np.abs(mean[std > 0]) / std[std > 0]))


def snr_ratio_of_means(samples):
    # mean |mean| over mean std  [the mean of ratios]
    mean, std = samples.mean(0), samples.std(0)
    used = std > 0
    return float(np.mean(np.abs(mean[used])) / np.mean(std[used]))


def snr_no_mask(samples):
    # no std > 0 mask: a constant parameter gives inf or NaN  [a constant parameter]
    return float(np.mean(np.abs(samples.mean(0)) / samples.std(0)))


def snr_zero_for_constant(samples):
    # constant parameters counted, as 0, in the average  [a constant parameter]
    mean, std = samples.mean(0), samples.std(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(std > 0, np.abs(mean) / std, 0.0)
    return float(np.mean(ratio))


def snr_nanmean(samples):
    # np.nanmean drops 0/0 but keeps c/0 = inf: fine only when the constant is 0  [a constant parameter != 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.nanmean(np.abs(samples.mean(0)) / samples.std(0)))


def snr_variance(samples):
    # divides by the variance  [std, not variance]
    mean, var = samples.mean(0), samples.var(0)
    return float(np.mean(np.abs(mean[var > 0]) / var[var > 0]))


def snr_uncentred_std(samples):
    # the spread as the root mean square, not centred on the mean  [std is centred]
    mean = samples.mean(0)
    rms = np.sqrt(np.mean(samples**2, axis=0))
    spread = samples.std(0)
    return float(np.mean(np.abs(mean[spread > 0]) / rms[spread > 0]))


def snr_inverted(samples):
    # noise-to-signal: std / |mean|  [which way the ratio goes]
    mean, std = samples.mean(0), samples.std(0)
    return float(np.mean(std[std > 0] / np.abs(mean[std > 0])))


def snr_per_parameter(samples):
    # returns the P ratios, not their mean  [a float]
    mean, std = samples.mean(0), samples.std(0)
    return np.abs(mean[std > 0]) / std[std > 0]


def snr_sum_over_parameters(samples):
    # sum over the parameters instead of the mean  [P > 1]
    mean, std = samples.mean(0), samples.std(0)
    return float(np.sum(np.abs(mean[std > 0]) / std[std > 0]))


def snr_median(samples):
    # median over the parameters  [P > 2, spread ratios]
    mean, std = samples.mean(0), samples.std(0)
    return float(np.median(np.abs(mean[std > 0]) / std[std > 0]))


def snr_global(samples):
    # one |mean| / std over every entry of G  [per parameter]
    return float(abs(samples.mean()) / samples.std())


def snr_in_place(samples):
    # centres the samples in place  [inputs unchanged]
    mean = samples.mean(0)
    samples -= mean
    std = np.sqrt((samples**2).mean(0))
    return float(np.mean(np.abs(mean[std > 0]) / std[std > 0]))


# ======================================================================================================
# Exercise 4: the largest stable step
# ======================================================================================================

def literal_largest_stable_step(gradient, hessian, num_samples):
    # E[dL] = -eta |g|^2 + eta^2 / 2 (g^T H g (1 + 1/K) + |g|^2 tr(H) / K) = 0 at eta_max
    g, H, K = gradient, hessian, num_samples
    g_sq = g @ g
    curvature = g @ H @ g * (1 + 1 / K) + g_sq * np.trace(H) / K
    return float(2 * g_sq / curvature)


def step_einsum(gradient, hessian, num_samples):
    g2 = np.einsum("p,p->", gradient, gradient)
    gHg = np.einsum("p,pq,q->", gradient, hessian, gradient)
    return 2 * g2 / (gHg + (gHg + g2 * np.einsum("pp->", hessian)) / num_samples)


def step_from_second_moment(gradient, hessian, num_samples):
    # E[g_hat^T H g_hat] = tr(H E[g_hat g_hat^T]), with the second moment written out
    g = gradient
    K = num_samples
    moment = np.outer(g, g) + (np.dot(g, g) * np.eye(len(g)) + np.outer(g, g)) / K
    return float(2 * np.dot(g, g) / np.trace(hessian @ moment))


def step_float32(gradient, hessian, num_samples):
    g, H = gradient.astype(np.float32), hessian.astype(np.float32)
    g2 = g @ g
    return np.float32(2) * g2 / ((g @ H @ g) * np.float32(1 + 1 / num_samples) + g2 * np.trace(H) / num_samples)


def step_jax_grad(gradient, hessian, num_samples):
    # E[dL](eta) written as a function; its slope and curvature at 0 by jax.grad give the nonzero root
    g, H = jnp.asarray(gradient), jnp.asarray(hessian)
    K = num_samples

    def expected_change(eta):
        return -eta * (g @ g) + eta**2 / 2 * ((g @ H @ g) * (1 + 1 / K) + (g @ g) * jnp.trace(H) / K)

    slope = jax.grad(expected_change)(0.0)                 # -|g|^2
    curvature = jax.grad(jax.grad(expected_change))(0.0)   # g^T H g (1 + 1/K) + |g|^2 tr(H) / K
    return -2 * slope / curvature


def step_root_finder(gradient, hessian, num_samples):
    # solve E[dL](eta) = 0 numerically, between a small positive step and backprop's limit
    g, H, K = np.asarray(gradient, float), np.asarray(hessian, float), num_samples
    a = g @ g
    b = (g @ H @ g) * (1 + 1 / K) + a * np.trace(H) / K

    def change_per_eta(eta):        # E[dL] / eta, whose root is the nonzero root of E[dL]
        return -a + eta / 2 * b

    return float(scipy.optimize.brentq(change_per_eta, 0.0, 4 * a / b, xtol=1e-300, rtol=1e-15))


def step_loops(gradient, hessian, num_samples):
    P = len(gradient)
    g2 = sum(gradient[i] ** 2 for i in range(P))
    gHg = sum(gradient[i] * hessian[i, j] * gradient[j] for i in range(P) for j in range(P))
    trace = sum(hessian[i, i] for i in range(P))
    return 2 * g2 / (gHg * (1 + 1 / num_samples) + g2 * trace / num_samples)


# --- wrong answers --------------------------------------------------------------------------------------

def step_isotropic_shortcut(gradient, hessian, num_samples):
    # the text's 2 / (lambda (P + 2)) with lambda the mean eigenvalue tr(H) / P  [non-isotropic H, K > 1]
    P = len(gradient)
    lam = np.trace(hessian) / P
    return 2 / (lam * (P + 2))


def step_isotropic_shortcut_largest(gradient, hessian, num_samples):
    # 2 / (lambda (P + 2)) with lambda the largest eigenvalue  [non-isotropic H, K > 1]
    P = len(gradient)
    return float(2 / (np.linalg.eigvalsh(hessian).max() * (P + 2)))


def step_isotropic_shortcut_with_k(gradient, hessian, num_samples):
    # the isotropic case redone for K: 2 / (lambda ((1 + 1/K) + P / K)), lambda = tr(H) / P  [non-isotropic H]
    P, K = len(gradient), num_samples
    lam = np.trace(hessian) / P
    return 2 / (lam * ((1 + 1 / K) + P / K))


def step_backprop(gradient, hessian, num_samples):
    # backprop's limit 2 |g|^2 / g^T H g  [noise]
    return 2 * (gradient @ gradient) / (gradient @ hessian @ gradient)


def step_noise_not_over_k(gradient, hessian, num_samples):
    # K = 1 whatever num_samples  [K > 1]
    g2 = gradient @ gradient
    return 2 * g2 / (2 * (gradient @ hessian @ gradient) + g2 * np.trace(hessian))


def step_no_ggT_noise(gradient, hessian, num_samples):
    # g^T H g without its (1 + 1/K)  [the g g^T part of the noise]
    g2 = gradient @ gradient
    return 2 * g2 / (gradient @ hessian @ gradient + g2 * np.trace(hessian) / num_samples)


def step_ggT_twice(gradient, hessian, num_samples):
    # E[(g.Psi)^2 Psi Psi^T] / sigma^4 = |g|^2 I + 2 g g^T, both g g^T in the noise: (1 + 2/K)  [K]
    g2 = gradient @ gradient
    gHg = gradient @ hessian @ gradient
    return 2 * g2 / (gHg * (1 + 2 / num_samples) + g2 * np.trace(hessian) / num_samples)


def step_without_two(gradient, hessian, num_samples):
    # eta at the minimum of E[dL] (the best step), not its root  [factor 2]
    g2 = gradient @ gradient
    return g2 / ((gradient @ hessian @ gradient) * (1 + 1 / num_samples) + g2 * np.trace(hessian) / num_samples)


def step_largest_eigenvalue(gradient, hessian, num_samples):
    # P times the largest eigenvalue instead of tr(H)  [non-isotropic H]
    g2 = gradient @ gradient
    bound = len(gradient) * np.max(np.linalg.eigvalsh(hessian))
    return 2 * g2 / ((gradient @ hessian @ gradient) * (1 + 1 / num_samples) + g2 * bound / num_samples)


def step_mean_eigenvalue(gradient, hessian, num_samples):
    # tr(H) / P, the mean curvature, instead of tr(H)  [P > 1]
    g2 = gradient @ gradient
    return 2 * g2 / ((gradient @ hessian @ gradient) * (1 + 1 / num_samples)
                     + g2 * np.trace(hessian) / len(gradient) / num_samples)


def step_norm_not_squared(gradient, hessian, num_samples):
    # |g| where the formula has |g|^2  [scale of g]
    n = np.linalg.norm(gradient)
    return 2 * n / ((gradient @ hessian @ gradient) * (1 + 1 / num_samples) + n * np.trace(hessian) / num_samples)


def step_trace_without_g2(gradient, hessian, num_samples):
    # the noise term tr(H) / K without its |g|^2  [scale of g]
    g2 = gradient @ gradient
    return 2 * g2 / ((gradient @ hessian @ gradient) * (1 + 1 / num_samples) + np.trace(hessian) / num_samples)


def step_noise_only(gradient, hessian, num_samples):
    # the noise term alone (large P): 2 K / tr(H)  [g^T H g matters]
    return 2 * num_samples / np.trace(hessian)


def step_trace_not_over_k(gradient, hessian, num_samples):
    # the (1 + 1/K) kept, the trace term not divided by K  [K > 1]
    g2 = gradient @ gradient
    return 2 * g2 / ((gradient @ hessian @ gradient) * (1 + 1 / num_samples) + g2 * np.trace(hessian))


def step_negative(gradient, hessian, num_samples):
    # the root of +eta |g|^2 + eta^2 / 2 (...): a sign slip in the descent term  [sign]
    g2 = gradient @ gradient
    return -2 * g2 / ((gradient @ hessian @ gradient) * (1 + 1 / num_samples) + g2 * np.trace(hessian) / num_samples)


def step_g_outer_trace(gradient, hessian, num_samples):
    # tr(H) g^T g read as g^T tr(H) ... with the Frobenius norm of H instead of its trace  [tr(H)]
    g2 = gradient @ gradient
    return 2 * g2 / ((gradient @ hessian @ gradient) * (1 + 1 / num_samples)
                     + g2 * np.linalg.norm(hessian) / num_samples)


# ======================================================================================================

CORRECT = {
    WP: [literal_weight_perturbation_gradient, wp_tensordot, wp_per_example_losses, wp_float32, wp_jax],
    NP: [literal_node_perturbation_gradient, np_einsum, np_loop_over_examples, np_float32, np_jax],
    SNR: [literal_gradient_snr, snr_loops, snr_var_sqrt_masked_array, snr_float32, snr_jax, snr_errstate_nan,
          snr_isclose_mask],
    STEP: [literal_largest_stable_step, step_einsum, step_from_second_moment, step_float32, step_jax_grad,
           step_root_finder, step_loops],
}

WRONG = {
    WP: [
        (wp_no_baseline, "missing baseline"),
        (wp_running_average_baseline, "baseline from the perturbed losses"),
        (wp_over_sigma, "divided by sigma instead of sigma^2"),
        (wp_no_sigma, "not divided by sigma^2"),
        (wp_scaled_twice, "perturbations scaled by sigma again"),
        (wp_sum_over_k, "sum instead of mean over the K perturbations"),
        (wp_divided_by_forward_passes, "divided by K + 1"),
        (wp_wrong_sign, "wrong sign"),
        (wp_weights_only, "missing bias"),
        (wp_weights_only_keys, "missing bias"),
        (wp_summed_loss, "summed loss over the batch"),
        (wp_loss_without_half, "loss without the 1/2"),
        (wp_loss_mean_over_outputs, "loss averaged over the outputs too"),
        (wp_default_activation, "ignores the argument 'activation'"),
        (wp_first_perturbation_only, "only the first perturbation"),
        (wp_one_array_at_a_time, "one parameter array perturbed at a time"),
        (wp_in_place, None),
    ],
    NP: [
        (np_wrong_sign, "wrong sign"),
        (np_three_factor_update, "wrong sign"),
        (np_sum_over_batch, "sum instead of mean over the batch"),
        (np_bias_summed, "bias summed over the batch"),
        (np_divided_by_n_twice, "divided by N twice"),
        (np_over_sigma, "divided by sigma instead of sigma^2"),
        (np_no_sigma, "not divided by sigma^2"),
        (np_noisy_input, "noisy layer input"),
        (np_no_baseline, "missing baseline"),
        (np_batch_loss, "batch loss instead of each example's loss"),
        (np_batch_loss_summed, "batch loss instead of each example's loss"),
        (np_transposed, "transposed"),
        (np_no_biases, "missing bias"),
        (np_pre_activation_for_noise, "pre-activation instead of the noise"),
        (np_product_of_means, "product of batch means"),
        (np_loss_without_half, "loss without the 1/2"),
        (np_default_activation, "ignores the argument 'activation'"),
        (np_noise_from_the_passes, "noise recovered from the two passes"),
        (np_in_place, None),
    ],
    SNR: [
        (snr_no_abs, "missing absolute value"),
        (snr_abs_outside, "absolute value of the average"),
        (snr_mean_of_abs, "mean of |samples| instead of |mean|"),
        (snr_ddof1, "std with ddof=1"),
        (snr_wrong_axis, "wrong axis"),
        (snr_ratio_of_means, "ratio of means"),
        (snr_no_mask, "no std > 0 mask"),
        (snr_zero_for_constant, "constant parameters counted as 0"),
        (snr_nanmean, "no std > 0 mask"),
        (snr_variance, "variance instead of std"),
        (snr_uncentred_std, "spread not centred on the mean"),
        (snr_inverted, "std / |mean| instead of |mean| / std"),
        (snr_per_parameter, "not averaged over the parameters"),
        (snr_sum_over_parameters, "sum over the parameters instead of the mean"),
        (snr_median, "median instead of mean"),
        (snr_global, "one ratio over every entry"),
        (snr_in_place, None),
    ],
    STEP: [
        (step_isotropic_shortcut, "isotropic shortcut on a general Hessian"),
        (step_isotropic_shortcut_largest, "isotropic shortcut on a general Hessian"),
        (step_isotropic_shortcut_with_k, "isotropic shortcut on a general Hessian"),
        (step_backprop, "backprop's limit"),
        (step_noise_not_over_k, "noise not divided by K"),
        (step_no_ggT_noise, "missing g g^T term of the noise"),
        (step_ggT_twice, "g g^T counted twice in the noise"),
        (step_without_two, "missing factor 2"),
        (step_largest_eigenvalue, "largest eigenvalue instead of the trace"),
        (step_mean_eigenvalue, "mean eigenvalue instead of the trace"),
        (step_norm_not_squared, "|g| instead of |g|^2"),
        (step_noise_only, "missing the g^T H g term"),
        (step_trace_without_g2, "missing |g|^2 in the noise term"),
        (step_trace_not_over_k, "trace term not divided by K"),
        (step_negative, "wrong sign"),
        (step_g_outer_trace, "Frobenius norm instead of the trace"),
    ],
}
