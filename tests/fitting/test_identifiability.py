"""Identifiability from the profile of the objective (optimal/fitting/profile.py): every fit holds E and each exponent
on a grid and refits the rest; it warns, naming the parameter, when the objective stays within the 95% likelihood-ratio
threshold over a range that matters, and stays silent on well-posed runs (synthetic sets with a known law, Epoch's
240 rows)."""

import json
import math
import warnings

import numpy as np
import pytest

import optimal
from optimal import IdentifiabilityWarning
from optimal.fitting import profile


def fit_recording(runs, **options):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = optimal.fit(runs.n_params, runs.n_tokens, runs.loss, **options)
    return result, [str(w.message) for w in caught if issubclass(w.category, IdentifiabilityWarning)]


def narrow(seed):
    # 80 runs, N over 1.3 decades, 2% noise in log-loss
    return optimal.synthetic_runs(n_runs=80, n_range=(1e8, 2e9), tokens_per_param=(5, 100), noise=0.02, seed=seed)


@pytest.mark.parametrize("seed", [1, 2])
def test_fires_on_80_runs_over_1_3_decades(seed):
    result, messages = fit_recording(narrow(seed))
    named = result.diagnostics["not_identified"]
    assert {"E", "alpha"} & set(named)
    assert len(messages) == 1 and "do not identify" in messages[0] and "likelihood-ratio threshold" in messages[0]
    assert "gives N* x" in messages[0]  # what a pin would do
    record = json.loads(json.dumps(result.to_dict(), allow_nan=False))["diagnostics"]
    for name in named:
        lo, hi = record["profile"][name]["range"]
        estimate = record["profile"][name]["estimate"]
        assert lo <= estimate <= hi
        assert hi - lo > 0.5 * estimate or record["profile"][name]["unbounded"]
        assert len(record["pin_effects"][name]["n_star_ratio"]) == 2


@pytest.mark.parametrize("seed", [0, 1])
def test_silent_on_80_runs_over_2_decades(seed):
    runs = optimal.synthetic_runs(n_runs=80, n_range=(5e7, 1.6e10), noise=0.01, seed=seed)
    result, messages = fit_recording(runs)
    assert messages == [] and result.diagnostics["not_identified"] == [] and result.diagnostics["unbounded"] == {}
    assert set(result.diagnostics["profile"]) == {"E", "alpha", "beta"}  # A and B are scales: not profiled


def test_silent_on_epoch(epoch_fit):
    assert epoch_fit.diagnostics["not_identified"] == []
    assert "not-identified" not in [w.code for w in epoch_fit.warnings]
    for name, item in epoch_fit.diagnostics["profile"].items():
        lo, hi = item["range"]
        assert lo < item["estimate"] < hi and item["unbounded"] is None


@pytest.mark.slow  # compiles the fit for other constraints or losses
def test_threshold_is_the_likelihood_ratio_one():
    runs = narrow(1)
    for robust, degree in (("huber", None), ("squared", 2.0)):
        result, _ = fit_recording(runs, objective=optimal.Objective(robust=robust))
        threshold = result.diagnostics["profile_threshold"]
        assert threshold["n_runs"] == 80
        if degree is not None:
            assert threshold["degree"] == pytest.approx(degree)
        assert 1 <= threshold["degree"] <= 2
        assert threshold["relative"] == pytest.approx(math.expm1(threshold["degree"] * 3.841458820694124 / 160))


@pytest.mark.slow  # compiles the fit for other constraints or losses
def test_the_profile_is_the_refitted_objective():
    runs = narrow(1)
    result, _ = fit_recording(runs)
    item = result.diagnostics["profile"]["alpha"]
    i = item["grid"].index(item["estimate"]) - 1  # the pinned point next below the estimate
    pinned, _ = fit_recording(runs, fix={"alpha": item["grid"][i]})
    # both are minima over the other four coefficients with alpha held there
    assert item["objective"][i] == pytest.approx(pinned.objective, rel=1e-6)


@pytest.mark.slow  # two fits of the narrow set
def test_a_profile_refit_that_stopped_says_so(monkeypatch):
    runs = narrow(1)
    converged, messages = fit_recording(runs)
    # as shipped, a refit far above the threshold can stop before converging (CONTINUE_EXCESS; at a far grid end even
    # the fit's whole iteration budget may not finish it): such a point is listed, and a pinned fit there reaches at
    # most the objective listed (an upper bound of the profile)
    listed = [(name, value) for name, item in converged.diagnostics["profile"].items() for value in item["upper_bounds"]]
    if listed:
        name, value = listed[0]
        item = converged.diagnostics["profile"][name]
        pinned, _ = fit_recording(runs, fix={name: value})
        assert pinned.objective <= item["objective"][item["grid"].index(value)] * (1 + 1e-9)
    # every refit capped at 3 iterations, in both rounds: the points stopped are listed, their objectives lie at or
    # above the converged profile's, and the ranges they bound are warned about
    pinned_refits = profile._pinned_refits
    monkeypatch.setattr(profile, "_pinned_refits", lambda chosen, held, budgets, *rest: pinned_refits(
        chosen, held, np.minimum(budgets, 3), *rest))
    capped, messages = fit_recording(runs)
    assert capped.objective == converged.objective
    stopped = 0
    for name, item in capped.diagnostics["profile"].items():
        full = converged.diagnostics["profile"][name]
        assert item["grid"] == full["grid"]
        for value in item["upper_bounds"]:
            i = item["grid"].index(value)
            assert item["objective"][i] >= full["objective"][i] * (1 - 1e-12)
            stopped += 1
    assert stopped >= 6
    assert [m for m in messages if "stopped before converging" in m and "may reach further" in m]
    # noiseless runs: the threshold's margin is near 0, every pin is more than CONTINUE_EXCESS margins above the
    # best, so a pin that stopped there is not one finishing would bring within: listed, not warned about
    clean = optimal.synthetic_runs(noise=0.0, seed=11)
    exact, messages = fit_recording(clean)
    assert sum(len(item["upper_bounds"]) for item in exact.diagnostics["profile"].values()) >= 6
    assert not [m for m in messages if "stopped before converging" in m]


@pytest.mark.slow  # compiles the fit for other constraints or losses
def test_advice_fits_what_is_free():
    runs = optimal.synthetic_runs(n_range=(1e8, 5e8), tokens_per_param=(15, 25), seed=7)
    result, messages = fit_recording(runs)
    assert "fix E (--fix E=VALUE) or tie the exponents (--tie alpha=beta)" in messages[0]
    fixed, messages = fit_recording(runs, fix={"E": 1.8})
    assert fixed.diagnostics["not_identified"] and "--fix E" not in messages[0] and "--tie alpha=beta" in messages[0]
    tied, messages = fit_recording(runs, tie=[("alpha", "beta")])
    assert tied.diagnostics["not_identified"] == ["alpha=beta"] and "--tie" not in messages[0]


@pytest.mark.slow  # compiles the fit for other constraints or losses
def test_unbounded_in_the_fit_and_the_bootstrap():
    runs = optimal.synthetic_runs(n_range=(1e8, 5e8), tokens_per_param=(15, 25), seed=7)
    result, messages = fit_recording(runs)
    assert result.diagnostics["unbounded"] == {"E": "below"} and "E up to" in messages[0]
    with pytest.warns(IdentifiabilityWarning, match="E is unbounded below"):
        boot = optimal.bootstrap(result, n_resamples=16, seed=0)
    assert boot.to_dict()["unbounded"] == {"E": "below"}
    assert "E is unbounded below" in boot.summary()


def test_within_range_interpolates_and_opens():
    grid = np.array([0.1, 0.5, 1.0, 1.5, 3.0])
    values = np.array([1.0, 1.0, 1.0, 1.2, 2.0])
    lo, hi, open_lo, open_hi, i_lo, i_hi = profile.within_range(grid, values, 1.0, 1.0, 0.1, log_scale=False)
    assert (lo, open_lo, i_lo) == (0.1, True, 0) and not open_hi and i_hi == 2
    assert hi == pytest.approx(1.25)  # halfway to the point at 1.2, where 1.1 is crossed
    values = np.array([np.inf, 1.0, 1.0, np.inf, np.inf])
    lo, hi, *_ = profile.within_range(grid, values, 1.0, 1.0, 0.1, log_scale=True)
    assert (lo, hi) == (0.5, 1.0)  # no interpolation toward a point that could not be refitted
    values = np.array([1.05, 1.5, 1.0, 1.5, 2.0])  # a refit at 0.5 fell short; the one at 0.1 is a witness
    lo, hi, open_lo, *_ = profile.within_range(grid, values, 1.0, 1.0, 0.1, log_scale=False)
    assert lo == 0.1 and open_lo


def test_profile_figure(tmp_path):
    pytest.importorskip("matplotlib")
    from optimal.plot import profile_figure, save_figure

    result, _ = fit_recording(narrow(1))
    figure = profile_figure(result)
    # E's profile stays within the threshold down to the grid's end (its pinned refits converged: optimal/fitting/profile.py,
    # FIRST_ROUND), so its range is open there
    assert [ax.get_title() for ax in figure.axes] == ["E (not identified) unbounded below", "alpha (not identified)",
                                                      "beta"]
    assert save_figure(figure, tmp_path / "profile.png").stat().st_size > 0


def _fake_profile(groups):
    """A two-entry profile with known N* ratios per group (no fit: pin_effects alone)."""
    grid = (np.array([0.5, 1.0, 2.0]), np.array([0.2, 0.3, 0.4]))
    ratios = tuple(np.column_stack([np.array([0.5, 1.0, 2.0]) * (g + 1) for g in range(groups)]) for _ in grid)
    single = tuple(r[:, 0] if groups == 1 else np.full(3, np.nan) for r in ratios)
    return profile.Profile((0, 1), ("E", "alpha"), grid, (np.ones(3),) * 2, (), single, (1.0, 0.3), 1.0, 0.01, 1.0,
                           80, 1e22, ratios)


def test_pin_effects_of_a_joint_fit_are_per_group():
    ranges = {"E": {"grid_index": [0, 2]}, "alpha": {"grid_index": [1, 2]}}
    effects = profile.pin_effects(_fake_profile(2), ranges)
    assert effects["E"]["n_star_ratio"] == [None, None]  # no one N* for two groups' laws...
    assert effects["E"]["n_star_ratio_by_group"] == [[0.5, 1.0], [2.0, 4.0]]  # ...but one per group
    assert effects["alpha"]["n_star_ratio_by_group"] == [[1.0, 2.0], [2.0, 4.0]]
    assert "one N* per group" in effects["E"]["note"]
    single = profile.pin_effects(_fake_profile(1), ranges)
    assert single["E"] == {"at": [0.5, 2.0], "n_star_ratio": [0.5, 2.0]}  # one group: unchanged, no note
    unknown = _fake_profile(1)._replace(n_star_ratio=(np.array([np.nan, 1.0, 2.0]), np.ones(3)))
    assert "no interior compute-optimal N" in profile.pin_effects(unknown, ranges)["E"]["note"]


@pytest.mark.slow  # compiles the fit for other constraints
def test_pin_effect_of_tied_exponents_is_the_pinned_refit():
    # alpha=beta not identified: holding the tied exponent at its range's ends moves N*, by the ratio a fit with
    # both exponents fixed there gives (an independent refit, its N* from compute_optimal)
    runs = optimal.synthetic_runs(n_range=(1e8, 5e8), tokens_per_param=(15, 25), seed=7)
    tied, _ = fit_recording(runs, tie=[("alpha", "beta")])
    effect = tied.diagnostics["pin_effects"]["alpha=beta"]
    compute = tied.diagnostics["reference_compute"]
    best = float(optimal.compute_optimal(tied.law, compute).n_params)
    assert effect["at"][0] < effect["at"][1] and "note" not in effect
    for value, ratio in zip(effect["at"], effect["n_star_ratio"]):
        held, _ = fit_recording(runs, fix={"alpha": value, "beta": value})
        assert ratio == pytest.approx(float(optimal.compute_optimal(held.law, compute).n_params) / best, rel=0.02)


@pytest.mark.slow  # a joint fit of two groups compiles its own programs
def test_pin_effects_of_a_joint_fit_name_each_group():
    a = narrow(1)
    b = narrow(2)
    groups = np.array(["a"] * a.n_params.size + ["b"] * b.n_params.size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = optimal.fit(np.concatenate([a.n_params, b.n_params]), np.concatenate([a.n_tokens, b.n_tokens]),
                             np.concatenate([a.loss, b.loss]), groups=groups, shared=("alpha", "beta"))
    effects = json.loads(json.dumps(result.diagnostics["pin_effects"], allow_nan=False))
    for label, effect in effects.items():
        assert effect["n_star_ratio"] == [None, None] and "one N* per group" in effect["note"]
        assert len(effect["n_star_ratio_by_group"]) == 2 and all(len(row) == 2 for row in effect["n_star_ratio_by_group"])
