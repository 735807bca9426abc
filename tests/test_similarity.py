"""Similar answers for human review (autograder/similarity.py), on a synthetic class of real notebooks:
20 correct answers to weight_perturbation_gradient written independently in different styles, one
student who copied one of them with renamed variables and reordered lines, and two students who left
the stub untouched. The copied pair must rank first, the untouched stubs must not appear at all, and the
page must say that it is for review, never a penalty."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from autograder.__main__ import main
from autograder.similarity import find_similar

REPO = Path(__file__).resolve().parents[1]
EXERCISE = "perturbation.weight_perturbation"
SIGNATURE = 'def weight_perturbation_gradient(params, x, y, perturbations, sigma, activation="sigmoid"):\n'

STYLES = [
# 0: loop over samples, dict accumulators
'''
    base = mse_loss(forward(params, x, activation)["y_hat"], y)
    K = perturbations["W1"].shape[0]
    total = {key: np.zeros_like(val) for key, val in params.items()}
    for k in range(K):
        shifted = {key: params[key] + perturbations[key][k] for key in params}
        change = mse_loss(forward(shifted, x, activation)["y_hat"], y) - base
        for key in params:
            total[key] = total[key] + change * perturbations[key][k]
    return {key: total[key] / (K * sigma ** 2) for key in params}
''',
# 1: vectorised with einsum
'''
    def batch_loss(p):
        return mse_loss(forward(p, x, activation)["y_hat"], y)

    n_draws = len(next(iter(perturbations.values())))
    clean = batch_loss(params)
    deltas = np.array([batch_loss({name: params[name] + perturbations[name][i] for name in params}) - clean
                       for i in range(n_draws)])
    return {name: np.einsum("k,k...->...", deltas, perturbations[name]) / (n_draws * sigma * sigma)
            for name in params}
''',
# 2: tensordot
'''
    L0 = mse_loss(forward(params, x, activation)["y_hat"], y)
    num = perturbations["b1"].shape[0]
    dL = []
    for i in range(num):
        trial = dict(params)
        for name in trial:
            trial[name] = trial[name] + perturbations[name][i]
        dL.append(mse_loss(forward(trial, x, activation)["y_hat"], y) - L0)
    dL = np.asarray(dL)
    grads = {}
    for name, psi in perturbations.items():
        grads[name] = np.tensordot(dL, psi, axes=(0, 0)) / num / sigma**2
    return grads
''',
# 3: zip over samples
'''
    keys = list(params)
    reference_loss = mse_loss(forward(params, x, activation)["y_hat"], y)
    samples = zip(*(perturbations[k] for k in keys))
    sums = [np.zeros_like(params[k]) for k in keys]
    count = 0
    for draw in samples:
        moved = {k: params[k] + d for k, d in zip(keys, draw)}
        gain = mse_loss(forward(moved, x, activation)["y_hat"], y) - reference_loss
        sums = [s + gain * d for s, d in zip(sums, draw)]
        count += 1
    return {k: s / count / sigma ** 2 for k, s in zip(keys, sums)}
''',
# 4: mean of stacked products
'''
    loss_here = mse_loss(forward(params, x, activation)["y_hat"], y)
    how_many = perturbations["W2"].shape[0]
    estimates = {}
    changes = np.empty(how_many)
    for j in range(how_many):
        noisy_params = {}
        for name, value in params.items():
            noisy_params[name] = value + perturbations[name][j]
        changes[j] = mse_loss(forward(noisy_params, x, activation)["y_hat"], y) - loss_here
    for name in params:
        stacked = np.stack([changes[j] * perturbations[name][j] for j in range(how_many)])
        estimates[name] = stacked.mean(axis=0) / sigma ** 2
    return estimates
''',
# 5: while loop
'''
    out = {}
    for name in params:
        out[name] = 0.0 * params[name]
    baseline = mse_loss(forward(params, x, activation)["y_hat"], y)
    size = len(perturbations["W1"])
    k = 0
    while k < size:
        candidate = {name: params[name] + perturbations[name][k] for name in params}
        diff = mse_loss(forward(candidate, x, activation)["y_hat"], y) - baseline
        for name in out:
            out[name] += diff / sigma ** 2 * perturbations[name][k]
        k += 1
    for name in out:
        out[name] /= size
    return out
''',
# 6: defaultdict accumulator
'''
    from collections import defaultdict
    acc = defaultdict(float)
    L_clean = mse_loss(forward(params, x, activation)["y_hat"], y)
    K = perturbations["W1"].shape[0]
    for idx in range(K):
        perturbed = {}
        for p_name in params:
            perturbed[p_name] = params[p_name] + perturbations[p_name][idx]
        L_pert = mse_loss(forward(perturbed, x, activation)["y_hat"], y)
        for p_name in params:
            acc[p_name] = acc[p_name] + (L_pert - L_clean) * perturbations[p_name][idx]
    return {p_name: acc[p_name] / K / sigma**2 for p_name in params}
''',
# 7: flatten and matrix product
'''
    clean_loss = mse_loss(forward(params, x, activation)["y_hat"], y)
    n = perturbations["W1"].shape[0]
    loss_deltas = np.zeros(n)
    for s in range(n):
        loss_deltas[s] = mse_loss(forward({q: params[q] + perturbations[q][s] for q in params}, x, activation)["y_hat"], y) - clean_loss
    result = {}
    for q, psi in perturbations.items():
        flat = psi.reshape(n, -1)
        result[q] = (loss_deltas @ flat).reshape(params[q].shape) / (n * sigma ** 2)
    return result
''',
# 8: map and lambda
'''
    f = lambda theta: mse_loss(forward(theta, x, activation)["y_hat"], y)
    K = len(perturbations["b2"])
    L = f(params)
    shifted_losses = list(map(lambda k: f({n: params[n] + perturbations[n][k] for n in params}) - L, range(K)))
    weights = np.array(shifted_losses) / (sigma ** 2)
    return {n: sum(w * perturbations[n][k] for k, w in enumerate(weights)) / K for n in params}
''',
# 9: loops swapped: parameter outer, sample inner (losses cached first)
'''
    original = mse_loss(forward(params, x, activation)["y_hat"], y)
    draws = perturbations["W1"].shape[0]
    cache = []
    for d in range(draws):
        new_params = {}
        for key in params.keys():
            new_params[key] = params[key] + perturbations[key][d]
        cache.append(mse_loss(forward(new_params, x, activation)["y_hat"], y))
    grad = {}
    for key in params.keys():
        g = np.zeros(params[key].shape)
        for d in range(draws):
            g += (cache[d] - original) * perturbations[key][d]
        grad[key] = g / (draws * sigma ** 2)
    return grad
''',
# 10: broadcasting via reshape with ndim
'''
    K = next(iter(perturbations.values())).shape[0]
    def L(theta):
        return mse_loss(forward(theta, x, activation)["y_hat"], y)
    L_base = L(params)
    delta = np.array([L({nm: params[nm] + perturbations[nm][i] for nm in params}) for i in range(K)]) - L_base
    estimate = {}
    for nm, psi in perturbations.items():
        w = delta.reshape((K,) + (1,) * (psi.ndim - 1))
        estimate[nm] = np.sum(w * psi, axis=0) / K / sigma ** 2
    return estimate
''',
# 11: np.average
'''
    start_loss = mse_loss(forward(params, x, activation)["y_hat"], y)
    count = perturbations["W1"].shape[0]
    improvements = []
    for trial in range(count):
        tweaked = {layer: w + perturbations[layer][trial] for layer, w in params.items()}
        improvements.append(mse_loss(forward(tweaked, x, activation)["y_hat"], y) - start_loss)
    improvements = np.array(improvements)
    answer = {}
    for layer in params:
        products = np.array([improvements[t] * perturbations[layer][t] for t in range(count)])
        answer[layer] = np.average(products, axis=0) / (sigma * sigma)
    return answer
''',
# 12: functools.reduce
'''
    import functools
    L0 = mse_loss(forward(params, x, activation)["y_hat"], y)
    K = perturbations["W2"].shape[0]

    def contribution(k):
        moved = {key: params[key] + perturbations[key][k] for key in params}
        delta = mse_loss(forward(moved, x, activation)["y_hat"], y) - L0
        return {key: delta * perturbations[key][k] for key in params}

    def add(a, b):
        return {key: a[key] + b[key] for key in a}

    total = functools.reduce(add, (contribution(k) for k in range(K)))
    return {key: value / (K * sigma ** 2) for key, value in total.items()}
''',
# 13: in-place with copy
'''
    base_loss = mse_loss(forward(params, x, activation)["y_hat"], y)
    n_samples = perturbations["W1"].shape[0]
    estimate = {}
    for name in params:
        estimate[name] = np.zeros_like(params[name], dtype=float)
    for sample in range(n_samples):
        perturbed = {name: value.copy() for name, value in params.items()}
        for name in perturbed:
            perturbed[name] += perturbations[name][sample]
        factor = (mse_loss(forward(perturbed, x, activation)["y_hat"], y) - base_loss) / sigma**2 / n_samples
        for name in estimate:
            estimate[name] += factor * perturbations[name][sample]
    return estimate
''',
# 14: numpy vectorised over K via list comprehension and np.mean with axis
'''
    loss = lambda p: mse_loss(forward(p, x, activation)["y_hat"], y)
    nk = perturbations["b1"].shape[0]
    dls = np.array([loss({k: v + perturbations[k][i] for k, v in params.items()}) for i in range(nk)]) - loss(params)
    grads = {}
    for k in params:
        expanded = dls[(slice(None),) + (None,) * params[k].ndim]
        grads[k] = np.mean(expanded * perturbations[k], axis=0) / sigma ** 2
    return grads
''',
# 15: verbose beginner style
'''
    # loss without any noise
    y_hat_clean = forward(params, x, activation)["y_hat"]
    loss_clean = mse_loss(y_hat_clean, y)
    # how many perturbations were drawn
    number_of_perturbations = perturbations["W1"].shape[0]
    # start every estimate at zero
    gradient_estimate = dict()
    for parameter_name in params:
        gradient_estimate[parameter_name] = np.zeros(params[parameter_name].shape)
    # go through every perturbation
    for index in range(number_of_perturbations):
        params_with_noise = dict()
        for parameter_name in params:
            params_with_noise[parameter_name] = params[parameter_name] + perturbations[parameter_name][index]
        y_hat_noisy = forward(params_with_noise, x, activation)["y_hat"]
        loss_noisy = mse_loss(y_hat_noisy, y)
        loss_difference = loss_noisy - loss_clean
        for parameter_name in params:
            gradient_estimate[parameter_name] = gradient_estimate[parameter_name] + loss_difference * perturbations[parameter_name][index] / (sigma ** 2)
    # average over the perturbations
    for parameter_name in params:
        gradient_estimate[parameter_name] = gradient_estimate[parameter_name] / number_of_perturbations
    return gradient_estimate
''',
# 16: itertools.starmap
'''
    import itertools
    names = sorted(params)
    reference = mse_loss(forward(params, x, activation)["y_hat"], y)
    K = len(perturbations[names[0]])
    def one(k):
        return mse_loss(forward({n: params[n] + perturbations[n][k] for n in names}, x, activation)["y_hat"], y) - reference
    coefficients = list(itertools.starmap(lambda k: one(k) / sigma ** 2, ((k,) for k in range(K))))
    return {n: np.sum([c * perturbations[n][k] for k, c in enumerate(coefficients)], axis=0) / K for n in params}
''',
# 17: np.moveaxis and dot
'''
    clean = mse_loss(forward(params, x, activation)["y_hat"], y)
    draws = perturbations["W1"].shape[0]
    losses = np.empty(draws)
    for d in range(draws):
        losses[d] = mse_loss(forward({key: params[key] + perturbations[key][d] for key in params},
                                     x, activation)["y_hat"], y)
    scaled = (losses - clean) / sigma ** 2 / draws
    return {key: np.moveaxis(perturbations[key], 0, -1) @ scaled for key in params}
''',
# 18: generator-based sum
'''
    K = perturbations["W1"].shape[0]
    L_clean = mse_loss(forward(params, x, activation)["y_hat"], y)
    def perturbed_params(i):
        return {name: params[name] + perturbations[name][i] for name in params}
    diffs = [mse_loss(forward(perturbed_params(i), x, activation)["y_hat"], y) - L_clean for i in range(K)]
    grad = {}
    for name in params:
        grad[name] = sum(diffs[i] * perturbations[name][i] for i in range(K)) / (K * sigma ** 2)
    return grad
''',
# 19: einsum via np.tensordot on a dict of stacked arrays, one pass per key with enumerate
'''
    loss_fn = lambda theta: mse_loss(forward(theta, x, activation)["y_hat"], y)
    first_key = list(perturbations.keys())[0]
    total_samples = perturbations[first_key].shape[0]
    zero_loss = loss_fn(params)
    loss_gap = np.zeros(total_samples)
    for position in range(total_samples):
        loss_gap[position] = loss_fn({k: params[k] + perturbations[k][position] for k in params}) - zero_loss
    output = {}
    for k, psi in perturbations.items():
        output[k] = np.einsum("s,sij->ij", loss_gap, psi) if psi.ndim == 3 else np.einsum("s,si->i", loss_gap, psi)
        output[k] = output[k] / total_samples / sigma ** 2
    return output
''',
]

# style 0 copied: variables renamed, independent lines reordered
COPY_OF = 0
COPY = '''
    n_draws = perturbations["W1"].shape[0]
    clean_loss = mse_loss(forward(params, x, activation)["y_hat"], y)
    acc = {name: np.zeros_like(w) for name, w in params.items()}
    for i in range(n_draws):
        moved = {name: params[name] + perturbations[name][i] for name in params}
        delta = mse_loss(forward(moved, x, activation)["y_hat"], y) - clean_loss
        for name in params:
            acc[name] = acc[name] + delta * perturbations[name][i]
    return {name: acc[name] / (n_draws * sigma ** 2) for name in params}
'''


def _notebook(body: str | None) -> dict:
    """The released notebook with this answer written into the exercise's cell (below its docstring)."""
    nb = json.loads((REPO / "notebooks" / "01_perturbation" / "01_perturbation.ipynb").read_text())
    if body is not None:
        cell = next(c for c in nb["cells"] if c.get("metadata", {}).get("course", {}).get("exercise") == EXERCISE)
        stub = "".join(cell["source"])
        assert "    # YOUR CODE HERE" in stub
        cell["source"] = stub.split("    # YOUR CODE HERE")[0].rstrip("\n") + "\n" + body.lstrip("\n")
    return nb


@pytest.fixture(scope="module")
def submitted(tmp_path_factory):
    root = tmp_path_factory.mktemp("similarity") / "submitted"
    students = {f"student{i:02d}": body for i, body in enumerate(STYLES)}
    students.update(copycat=COPY, lazy_one=None, lazy_two=None)
    for student, body in students.items():
        folder = root / student / "01_perturbation"
        folder.mkdir(parents=True)
        (folder / "01_perturbation.ipynb").write_text(json.dumps(_notebook(body)))
    return root


@pytest.mark.parametrize("index", range(len(STYLES) + 1))
def test_every_answer_is_correct(index):
    """The class's answers are right answers (so similarity is not about being wrong the same way)."""
    from course_utils.mlp import forward, init_mlp, mse_loss
    from course_utils.perturbation import weight_perturbation_gradient as reference
    rng = np.random.default_rng(index)
    params = init_mlp(rng, (5, 4, 3))
    x, y = rng.normal(size=(6, 5)), np.eye(3)[rng.integers(0, 3, 6)]
    perturbations = {k: rng.normal(0, 0.1, size=(3,) + v.shape) for k, v in params.items()}
    namespace = {"np": np, "forward": forward, "mse_loss": mse_loss}
    exec(SIGNATURE + (STYLES + [COPY])[index], namespace)
    got = namespace["weight_perturbation_gradient"](params, x, y, perturbations, 0.1, "sigmoid")
    want = reference(params, x, y, perturbations, 0.1, "sigmoid")
    assert set(got) == set(want)
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=1e-9, atol=1e-12)


def test_the_copy_ranks_first(submitted):
    pairs, info = find_similar(submitted)
    copied = f"student{COPY_OF:02d}"
    top = pairs[0]
    assert {top["a"].student, top["b"].student} == {"copycat", copied}
    assert top["exercise"] == EXERCISE
    # above every pair of the 20 independent answers
    independent = [p for p in pairs if "copycat" not in (p["a"].student, p["b"].student)]
    assert independent and top["similarity"] > max(p["similarity"] for p in independent)
    # the untouched stubs are never compared; no other exercise has anything to compare
    assert not any({"lazy_one", "lazy_two"} & {p["a"].student, p["b"].student} for p in pairs)
    assert info["exercises"][EXERCISE]["untouched"] == 2
    assert all(s["compared"] == 0 for e, s in info["exercises"].items() if e != EXERCISE)


def test_the_page(submitted, tmp_path, capsys):
    out = tmp_path / "similarity.html"
    assert main(["similarity", str(submitted), "--out", str(out)]) == 0
    assert "never a penalty" in capsys.readouterr().out
    page = out.read_text()
    assert "list for human review, never a penalty" in page
    assert "lazy_one" not in page and "lazy_two" not in page
    first = re.search(r'<td class="student-a">(.*?)</td><td class="student-b">(.*?)</td>', page)
    assert {first.group(1), first.group(2)} == {"copycat", f"student{COPY_OF:02d}"}
    # the two cells side by side, the shared passages marked, and nothing unescaped from the cells
    section = page.split('id="pair-1"', 1)[1].split('id="pair-2"', 1)[0]
    assert section.count("<pre>") == 2 and "<mark>" in section
    assert "n_draws" in section and "perturbations[key][k]" in section
    assert "http://" not in page and "https://" not in page


def test_cells_are_escaped(tmp_path):
    hostile = STYLES[3] + '    note = "</pre><script>alert(1)</script>"\n'
    for student in ("eve", "eve_too"):
        folder = tmp_path / "submitted" / student / "01_perturbation"
        folder.mkdir(parents=True)
        (folder / "01_perturbation.ipynb").write_text(json.dumps(_notebook(hostile)))
    (tmp_path / "submitted" / "broken" / "01_perturbation").mkdir(parents=True)
    (tmp_path / "submitted" / "broken" / "01_perturbation" / "01_perturbation.ipynb").write_text("not json")
    out = tmp_path / "similarity.html"
    assert main(["similarity", str(tmp_path / "submitted"), "--out", str(out)]) == 0
    page = out.read_text()
    assert "eve_too" in page and "<script>" not in page and "&lt;script&gt;" in page
    assert "(1 unreadable)" in page
