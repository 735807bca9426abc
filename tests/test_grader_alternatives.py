"""The graders accept every correct way to write an exercise and name the mistake of wrong ones.

Correct alternatives are written here from the tutorials' equations (einsum, loops, another
arrangement, float32, jax.numpy), never by calling the reference; each must get full marks. Wrong
answers from the grading-integrity review must be rejected with the feedback that names them. The
last tests grade whole notebooks in the sandbox: answers that reuse the student's own earlier answers,
and IPython syntax that is not a shell escape."""
import textwrap

import jax
import jax.numpy as jnp
import nbformat
import numpy as np
import pytest

from autograder import check_exercise
from autograder.notebook_grading import grade_notebook
from autograder.sandbox import Limits
from course_utils.eqprop import rho
from course_utils.mlp import activate, activation_derivative, forward, per_example_loss

jax.config.update("jax_numpy_rank_promotion", "allow")   # student code may broadcast freely


# --- tutorial 01 ---------------------------------------------------------------------------------------

def _loss(params, x, y, activation):
    return 0.5 * np.sum((forward(params, x, activation)["y_hat"] - y) ** 2) / len(x)


def wp_loop(params, x, y, perturbations, sigma, activation="sigmoid"):
    K = len(perturbations["W1"])
    base = _loss(params, x, y, activation)
    out = {k: np.zeros_like(v) for k, v in params.items()}
    for k in range(K):
        change = _loss({n: params[n] + perturbations[n][k] for n in params}, x, y, activation) - base
        for n in params:
            out[n] = out[n] + change * perturbations[n][k]
    return {n: v / (K * sigma**2) for n, v in out.items()}


def wp_einsum_float32(params, x, y, perturbations, sigma, activation="sigmoid"):
    p32 = {k: v.astype(np.float32) for k, v in params.items()}
    x32, y32 = x.astype(np.float32), y.astype(np.float32)
    K = len(perturbations["W1"])
    base = _loss(p32, x32, y32, activation)
    changes = np.array([_loss({n: p32[n] + perturbations[n][k].astype(np.float32) for n in p32}, x32, y32,
                              activation) - base for k in range(K)], dtype=np.float32)
    return {n: np.einsum("k,k...->...", changes, perturbations[n].astype(np.float32)) / np.float32(K * sigma**2)
            for n in params}


def np_einsum(params, x, y, node_noise, sigma, activation="sigmoid"):
    clean, noisy = forward(params, x, activation), forward(params, x, activation, node_noise=node_noise)
    change = per_example_loss(noisy["y_hat"], y) - per_example_loss(clean["y_hat"], y)
    out = {}
    for l in (1, 2):
        g = np.einsum("n,ni->ni", change, node_noise[f"z{l}"]) / sigma**2
        out[f"W{l}"] = np.einsum("no,ni->oi", g, clean["inputs"][l - 1]) / len(x)
        out[f"b{l}"] = g.mean(axis=0)
    return out


def np_jax(params, x, y, node_noise, sigma, activation="sigmoid"):
    act = jax.nn.sigmoid if activation == "sigmoid" else jax.nn.relu
    p = {k: jnp.asarray(v, jnp.float32) for k, v in params.items()}

    def run(noise):
        h = act(x @ p["W1"].T + p["b1"] + noise["z1"])
        y_hat = h @ p["W2"].T + p["b2"] + noise["z2"]
        return h, 0.5 * jnp.sum((y_hat - y) ** 2, axis=1)
    zeros = {k: jnp.zeros_like(v) for k, v in node_noise.items()}
    h, clean = run(zeros)
    _, noisy = run({k: jnp.asarray(v, jnp.float32) for k, v in node_noise.items()})
    g1 = (noisy - clean)[:, None] * node_noise["z1"] / sigma**2
    g2 = (noisy - clean)[:, None] * node_noise["z2"] / sigma**2
    n = len(x)
    return {"W1": g1.T @ jnp.asarray(x, jnp.float32) / n, "b1": g1.mean(0), "W2": g2.T @ h / n, "b2": g2.mean(0)}


def snr_by_hand(samples):
    s = np.asarray(samples, dtype=np.float32)
    mean = s.sum(0) / len(s)
    std = np.sqrt(((s - mean) ** 2).sum(0) / len(s))
    keep = std > 0
    return np.float32(np.mean(np.abs(mean[keep]) / std[keep]))


# --- tutorial 02 -----------------------------------------------------------------------------------------

def bp_einsum(params, x, y, activation="sigmoid"):
    z1 = np.einsum("nd,hd->nh", x, params["W1"]) + params["b1"]
    h = activate(z1, activation)
    e = (np.einsum("nh,ch->nc", h, params["W2"]) + params["b2"] - y) / len(x)
    d1 = np.einsum("nc,ch->nh", e, params["W2"]) * activation_derivative(z1, activation)
    return {"W1": np.einsum("nh,nd->hd", d1, x), "b1": d1.sum(0), "W2": np.einsum("nc,nh->ch", e, h), "b2": e.sum(0)}


def bp_autodiff(params, x, y, activation="sigmoid"):
    act = jax.nn.sigmoid if activation == "sigmoid" else jax.nn.relu
    def loss(p):
        return 0.5 * jnp.sum((act(x @ p["W1"].T + p["b1"]) @ p["W2"].T + p["b2"] - y) ** 2) / len(x)
    return jax.grad(loss)({k: jnp.asarray(v, jnp.float32) for k, v in params.items()})


def fa_loops(params, feedback, x, y, activation="sigmoid"):
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    for n in range(len(x)):
        z1 = params["W1"] @ x[n] + params["b1"]
        h = activate(z1, activation)
        e = (params["W2"] @ h + params["b2"] - y[n]) / len(x)
        d1 = (feedback["B1"] @ e) * activation_derivative(z1, activation)
        grads["W1"] += np.outer(d1, x[n])
        grads["b1"] += d1
        grads["W2"] += np.outer(e, h)
        grads["b2"] += e
    return grads


def cos_by_hand(a, b):
    a, b = np.asarray(a, np.float32).ravel(), np.asarray(b, np.float32).ravel()
    return np.dot(a, b) / np.sqrt(np.dot(a, a) * np.dot(b, b))


def kp_comprehension(params, feedback, grads, learning_rate, decay):
    new_params = {k: (v * (1 - decay) if k[0] == "W" else v) - learning_rate * grads[k] for k, v in params.items()}
    new_feedback = {k: B * (1 - decay) - learning_rate * np.transpose(grads["W" + str(int(k[1:]) + 1)])
                    for k, B in feedback.items()}
    return new_params, new_feedback


# --- tutorial 03 ------------------------------------------------------------------------------------------

def energy_einsum(params, x, h, y):
    rx, rh, ry = rho(x), rho(h), rho(y)
    return (0.5 * (np.einsum("nh,nh->n", h, h) + np.einsum("nc,nc->n", y, y))
            - np.einsum("nh,hd,nd->n", rh, params["W1"], rx) - rh @ params["b1"]
            - np.einsum("nc,ch,nh->n", ry, params["W2"], rh) - ry @ params["b2"])


def relax_explicit(params, x, h, y, target, beta, epsilon):
    inside = lambda s: np.where((s >= 0) & (s <= 1), 1.0, 0.0)
    grad_h = h - inside(h) * (rho(x) @ params["W1"].T + params["b1"] + rho(y) @ params["W2"])
    grad_y = y - inside(y) * (rho(h) @ params["W2"].T + params["b2"])
    if target is not None:
        grad_y = grad_y + beta * (y - target)
    return np.minimum(np.maximum(h - epsilon * grad_h, 0), 1), np.minimum(np.maximum(y - epsilon * grad_y, 0), 1)


def update_einsum(x, free, nudged, beta):
    rx = rho(x)
    h0, y0 = rho(free[0]), rho(free[1])
    hb, yb = rho(nudged[0]), rho(nudged[1])
    n = len(x)
    return {"W1": -(np.einsum("nh,nd->hd", hb, rx) - np.einsum("nh,nd->hd", h0, rx)) / beta / n,
            "b1": -(hb - h0).sum(0) / beta / n,
            "W2": -(np.einsum("nc,nh->ch", yb, hb) - np.einsum("nc,nh->ch", y0, h0)) / beta / n,
            "b2": -(yb - y0).sum(0) / beta / n}


def error_rate_loop(outputs, targets):
    wrong = sum(int(np.argmax(o) != np.argmax(t)) for o, t in zip(outputs, targets))
    return wrong / len(outputs)


# --- tutorial 04 -------------------------------------------------------------------------------------------

def embed_loop(x, labels, num_classes=10):
    out = x.copy()
    for n, label in enumerate(labels):
        out[n, :num_classes] = np.eye(num_classes)[label]
    return out


def layer_loss_log1p(h_pos, h_neg, threshold):
    g_pos, g_neg = (h_pos**2).sum(1), (h_neg**2).sum(1)
    return float(np.log1p(np.exp(threshold - g_pos)).mean() + np.log1p(np.exp(g_neg - threshold)).mean())


def hard_negatives_argsort(scores, labels):
    order = np.argsort(-np.asarray(scores), axis=1, kind="stable")
    return np.array([next(c for c in row if c != label) for row, label in zip(order, labels)])


CORRECT = [
    ("perturbation.weight_perturbation", wp_loop),
    ("perturbation.weight_perturbation", wp_einsum_float32),
    ("perturbation.node_perturbation", np_einsum),
    ("perturbation.node_perturbation", np_jax),
    ("perturbation.gradient_snr", snr_by_hand),
    ("weight_transport.backprop_gradients", bp_einsum),
    ("weight_transport.backprop_gradients", bp_autodiff),
    ("weight_transport.feedback_alignment", fa_loops),
    ("weight_transport.cosine_similarity", cos_by_hand),
    ("weight_transport.kolen_pollack", kp_comprehension),
    ("eqprop.energy", energy_einsum),
    ("eqprop.relaxation_step", relax_explicit),
    ("eqprop.eqprop_update", update_einsum),
    ("eqprop.debug_error_rate", error_rate_loop),
    ("forward_forward.embed_label", embed_loop),
    ("forward_forward.layer_loss", layer_loss_log1p),
    ("forward_forward.hard_negatives", hard_negatives_argsort),
]


@pytest.mark.parametrize("exercise_id,answer", CORRECT, ids=[f"{e}-{f.__name__}" for e, f in CORRECT])
def test_correct_alternatives_get_full_marks(exercise_id, answer):
    result = check_exercise(exercise_id, answer)
    assert result.passed, result.feedback


def _wrong(exercise_id, change):
    from autograder.exercises import EXERCISES
    reference = EXERCISES[exercise_id].reference
    return lambda **kw: change(reference, kw)


def energy_without_rho_x(params, x, h, y):
    rh, ry = rho(h), rho(y)
    return (0.5 * ((h**2).sum(1) + (y**2).sum(1)) - (rh * (x @ params["W1"].T + params["b1"])).sum(1)
            - (ry * (rh @ params["W2"].T + params["b2"])).sum(1))


def update_over_abs_beta(x, free, nudged, beta):
    return update_einsum(x, free, nudged, abs(beta))


def relax_open_interval(params, x, h, y, target, beta, epsilon):
    inside = lambda s: ((s > 0) & (s < 1)).astype(float)          # rho' = 0 on the walls: wrong
    grad_h = h - inside(h) * (rho(x) @ params["W1"].T + params["b1"] + rho(y) @ params["W2"])
    grad_y = y - inside(y) * (rho(h) @ params["W2"].T + params["b2"])
    if target is not None:
        grad_y = grad_y + beta * (y - target)
    return np.clip(h - epsilon * grad_h, 0, 1), np.clip(y - epsilon * grad_y, 0, 1)


def cos_absolute(a, b):
    return abs(cos_by_hand(a, b))


def np_always_sigmoid(params, x, y, node_noise, sigma, activation="sigmoid"):
    return np_einsum(params, x, y, node_noise, sigma, "sigmoid")


WRONG = [
    ("eqprop.energy", energy_without_rho_x, "rho(x) missing"),
    ("eqprop.eqprop_update", update_over_abs_beta, "divided by |beta|"),
    ("eqprop.relaxation_step", relax_open_interval, "rho' zero on the walls"),
    ("weight_transport.cosine_similarity", cos_absolute, "absolute value"),
    ("perturbation.node_perturbation", np_always_sigmoid, "ignores the argument 'activation'"),
]


@pytest.mark.parametrize("exercise_id,answer,words", WRONG, ids=[w for _, _, w in WRONG])
def test_wrong_answers_are_named(exercise_id, answer, words):
    result = check_exercise(exercise_id, answer)
    assert not result.passed and words in result.feedback, result.feedback


def test_the_relaxation_step_accepts_no_target_in_the_free_phase():
    from autograder.exercises import EXERCISES
    fixtures = EXERCISES["eqprop.relaxation_step"].fixtures()
    assert any(f.kwargs["target"] is None and f.kwargs["beta"] == 0.0 for f in fixtures)
    always_nudges = lambda params, x, h, y, target, beta, epsilon: relax_explicit(
        params, x, h, y, np.zeros_like(y) if target is None else target, beta if target is not None else 0.0, epsilon)
    assert check_exercise("eqprop.relaxation_step", always_nudges).passed
    crashes = lambda params, x, h, y, target, beta, epsilon: relax_explicit(params, x, h, y, target + 0, beta, epsilon)
    result = check_exercise("eqprop.relaxation_step", crashes)
    assert not result.passed and "target=None" in result.feedback and "TypeError" in result.feedback


def test_no_false_claims_in_generic_feedback():
    # a wrong scalar is not "off by a constant factor" (any two numbers have a ratio)
    result = check_exercise("perturbation.gradient_snr", lambda samples: 2 * snr_by_hand(samples) + 0.1)
    assert "constant factor" not in result.feedback and "does not match" in result.feedback
    # a result that is close but not close enough shows the digits where it differs
    result = check_exercise("perturbation.gradient_snr", lambda samples: float(snr_by_hand(
        np.asarray(samples, np.float64))) * (1 + 3e-6))
    detail = result.feedback.split("(")[-1]
    have, want = detail.split(" is ")[1].split(", expected ")
    assert have != want.rstrip(")"), result.feedback
    # a sign that is wrong only for negative beta is not "wrong sign"
    result = check_exercise("eqprop.eqprop_update", update_over_abs_beta)
    assert "wrong sign:" not in result.feedback


# --- whole notebooks, in the sandbox --------------------------------------------------------------------------

def _notebook(tmp_path, assignment, replace):
    from pathlib import Path
    repo = Path(__file__).resolve().parents[1]
    nb = nbformat.read(str(repo / "solutions" / assignment / f"{assignment}.ipynb"), as_version=4)
    for cell in nb.cells:
        exercise = cell.metadata.get("course", {}).get("exercise")
        if exercise in replace:
            cell.source = textwrap.dedent(replace[exercise])
    path = tmp_path / f"{assignment}.ipynb"
    nbformat.write(nb, str(path))
    return path


def test_answers_may_reuse_earlier_answers_and_ipython_syntax(tmp_path):
    path = _notebook(tmp_path, "02_weight_transport", {
        "weight_transport.backprop_gradients": """
            %matplotlib inline
            def _signals(params, x, y, activation, send_back):
                cache = forward(params, x, activation)
                e = (cache["y_hat"] - y) / len(x)
                delta1 = send_back(e) * activation_derivative(cache["z"][0], activation)
                x_in, h = cache["inputs"]
                return {"W1": delta1.T @ x_in, "b1": delta1.sum(0), "W2": e.T @ h, "b2": e.sum(0)}
            def backprop_gradients(params, x, y, activation="sigmoid"):
                return _signals(params, x, y, activation, lambda e: e @ params["W2"])
            """,
        "weight_transport.feedback_alignment": """
            def feedback_alignment_gradients(params, feedback, x, y, activation="sigmoid"):
                same = (activation
                        != "nothing")
                return _signals(params, x, y, activation, lambda e: e @ feedback["B1"].T) if same else None
            """,
        "weight_transport.cosine_similarity": """
            !echo this shell escape does not run while grading
            def cosine_similarity(a, b):
                import jax.numpy as jnp
                a, b = jnp.ravel(jnp.asarray(a)), jnp.ravel(jnp.asarray(b))
                return a @ b / (jnp.linalg.norm(a) * jnp.linalg.norm(b))
            """,
    })
    report = grade_notebook(path, limits=Limits(timeout=60))
    assert report["score"] == report["max_score"], report["exercises"]
    assert "float32 accepted" in report["exercises"]["weight_transport.cosine_similarity"]["feedback"]


def test_an_earlier_answer_that_loops_or_tampers_costs_only_itself(tmp_path):
    path = _notebook(tmp_path, "01_perturbation", {
        "perturbation.weight_perturbation": "while True:\n    pass\n",
        "perturbation.node_perturbation": """
            import course_utils.mlp
            course_utils.mlp.per_example_loss = lambda *a, **k: 0.0
            def node_perturbation_gradient(params, x, y, node_noise, sigma, activation="sigmoid"):
                return {}
            """,
    })
    report = grade_notebook(path, limits=Limits(timeout=10, earlier_cell_seconds=2))
    ex = report["exercises"]
    assert ex["perturbation.weight_perturbation"]["score"] == 0 and "longer than" in ex["perturbation.weight_perturbation"]["feedback"]
    assert ex["perturbation.node_perturbation"]["score"] == 0 and "must not patch" in ex["perturbation.node_perturbation"]["feedback"]
    assert ex["perturbation.gradient_snr"]["score"] == 2
