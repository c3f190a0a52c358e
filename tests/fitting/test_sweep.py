"""Sweeps: every setting's fit is the fit a user would get by hand with that setting."""

import numpy as np
import pytest

import optimal
from optimal.errors import OptimalError
from optimal.fitting import fit as fit_module
from optimal.fitting import solver
from optimal.fitting.sweep import smallest_dropped
from optimal.laws import KAPLAN


def test_each_setting_equals_its_own_fit():
    runs = optimal.synthetic_runs(n_runs=80, noise=0.01, n_groups=16, seed=2)  # 16 model sizes
    found = optimal.sweep(runs.n_params, runs.n_tokens, runs.loss, delta=[1e-3, 1e-2], drop_smallest=[0, 2])
    assert [s for s, _ in found] == [{"law": "chinchilla", "delta": d, "drop_smallest": k}
                                     for d in (1e-3, 1e-2) for k in (0, 2)]
    sizes = np.unique(runs.n_params)
    for setting, result in found:
        keep = runs.n_params > sizes[setting["drop_smallest"] - 1] if setting["drop_smallest"] else slice(None)
        alone = optimal.fit(runs.n_params[keep], runs.n_tokens[keep], runs.loss[keep],
                             objective=optimal.Objective(delta=setting["delta"]))
        assert result.n_rows == alone.n_rows
        assert result.objective == pytest.approx(alone.objective, rel=1e-12)
        # rows left out weigh 0 but still change the order of the sums: rounding, then a flat ridge (cond ~1e11)
        assert result.params["alpha"] == pytest.approx(alone.params["alpha"], rel=1e-6)


def test_drop_smallest_mask():
    n = np.array([3.0, 1.0, 2.0, 1.0, 3.0])
    np.testing.assert_array_equal(smallest_dropped(n, 0), [True] * 5)
    np.testing.assert_array_equal(smallest_dropped(n, 1), [True, False, True, False, True])
    with pytest.raises(OptimalError, match="every one of the 3 model sizes"):
        smallest_dropped(n, 3)


def _count_polish_calls(monkeypatch):
    calls = []
    real = fit_module.polish_with_curvature
    monkeypatch.setattr(fit_module, "polish_with_curvature", lambda *a, **k: calls.append(1) or real(*a, **k))
    return calls


def test_delta_by_drop_cross_product_is_one_solve_compiled_once(monkeypatch):
    # 37 rows and thresholds no other test uses: any compile here is this sweep's own
    runs = optimal.synthetic_runs(n_runs=37, noise=0.01, n_groups=9, seed=5)
    calls = _count_polish_calls(monkeypatch)
    before = solver._polish._cache_size()
    found = optimal.sweep(runs.n_params, runs.n_tokens, runs.loss, delta=[2e-4, 3e-3, 7e-2], drop_smallest=[0, 1, 2])
    after = solver._polish._cache_size()
    assert len(found) == 9 and len(calls) == 1  # all nine settings are lanes of one solve
    # one program for the solve (with its curvature check) and one for the nine settings' profiles (a fit of 144
    # lanes is too wide for the profiles to share): not one per delta (that would be 3 each)
    assert after - before <= 2
    assert [r.config["delta"] for _, r in found] == [d for d in (2e-4, 3e-3, 7e-2) for _ in range(3)]


@pytest.mark.slow
def test_generic_family_sweep_is_one_solve_and_matches_its_own_fits(monkeypatch):
    runs = optimal.synthetic_runs(n_runs=41, noise=0.01, n_groups=10, seed=3)
    calls = _count_polish_calls(monkeypatch)
    found = optimal.sweep(runs.n_params, runs.n_tokens, runs.loss, law="kaplan", delta=[4e-3, 6e-2],
                          drop_smallest=[0, 1], search=optimal.Search(n_samples=256))
    assert len(calls) == 1
    sizes = np.unique(runs.n_params)
    for setting, result in found:
        keep = runs.n_params > sizes[0] if setting["drop_smallest"] else slice(None)
        alone = optimal.fit(runs.n_params[keep], runs.n_tokens[keep], runs.loss[keep], law=KAPLAN,
                            objective=optimal.Objective(delta=setting["delta"]), search=optimal.Search(n_samples=256))
        assert result.config["delta"] == setting["delta"]
        # same starts, same lanes' arithmetic: only the zero-weight rows' place in the sums differs (rounding)
        assert result.objective == pytest.approx(alone.objective, rel=1e-9)


@pytest.mark.slow
def test_groups_times_settings_is_one_solve_and_each_is_that_groups_own_fit(monkeypatch):
    # two training sets with different truths: every (group, delta, drop) is a lane of one solve, and each equals
    # the fit of that group's rows alone with its own smallest sizes left out
    a = optimal.synthetic_runs(n_runs=40, noise=0.01, n_groups=10, seed=6)
    b = optimal.synthetic_runs(n_runs=44, noise=0.01, n_groups=11, seed=7,
                               truth=optimal.Chinchilla(E=1.7, A=400.0, B=1800.0, alpha=0.32, beta=0.30))
    n, d, loss = (np.concatenate([x, y]) for x, y in zip(a[:3], b[:3]))
    labels = np.array(["web"] * 40 + ["code"] * 44)
    calls = _count_polish_calls(monkeypatch)
    found = optimal.sweep(n, d, loss, delta=[1e-3, 1e-2], drop_smallest=[0, 1], groups=labels)
    assert len(calls) == 1 and len(found) == 8
    assert [(s["group"], s["delta"], s["drop_smallest"]) for s, _ in found] == [
        (g, dl, k) for g in ("code", "web") for dl in (1e-3, 1e-2) for k in (0, 1)]
    for setting, result in found:
        rows = labels == setting["group"]
        sizes = np.unique(n[rows])
        keep = rows & (n > sizes[0]) if setting["drop_smallest"] else rows
        alone = optimal.fit(n[keep], d[keep], loss[keep], objective=optimal.Objective(delta=setting["delta"]))
        assert result.n_rows == alone.n_rows
        assert result.objective == pytest.approx(alone.objective, rel=1e-12)
        assert result.params["alpha"] == pytest.approx(alone.params["alpha"], rel=1e-6)
    with pytest.raises(OptimalError, match="one label per run"):
        optimal.sweep(n, d, loss, groups=labels[:-1])
