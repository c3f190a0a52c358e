"""Identifiability and plausibility diagnostics: they fire on ill-posed or mis-scaled runs and stay silent on
well-posed ones (synthetic runs from a known law)."""

import warnings

import numpy as np
import pytest

import optimal
from optimal import IdentifiabilityWarning, PlausibilityWarning


def ill_posed():
    # N over 1.3 decades with 3% noise: refits with E held anywhere from ~0.5 to ~1.8 are as good as the best (truth 1.82)
    return optimal.synthetic_runs(n_runs=81, n_range=(1e8, 2e9), tokens_per_param=(5, 100), noise=0.03, seed=1)


def fit_quietly(*columns):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = optimal.fit(*columns)
    return result, caught


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_well_posed_runs_give_no_warning(seed):
    runs = optimal.synthetic_runs(n_runs=120, noise=0.01, seed=seed)
    result, caught = fit_quietly(runs.n_params, runs.n_tokens, runs.loss)
    assert [str(w.message) for w in caught] == [] and result.warnings == ()
    assert result.diagnostics["not_identified"] == []


def test_ill_posed_runs_name_what_is_not_identified():
    runs = ill_posed()
    result, caught = fit_quietly(runs.n_params, runs.n_tokens, runs.loss)
    messages = [str(w.message) for w in caught if issubclass(w.category, IdentifiabilityWarning)]
    assert "do not identify E, alpha" in messages[0] and "wider range of N" in messages[0]
    # beside it only a profile refit that stopped before converging next to a range's end (optimal/fitting/profile.py)
    assert all("stopped before converging" in m for m in messages[1:])
    lo, hi = result.diagnostics["profile"]["E"]["range"]
    assert hi > 2 * lo  # the profile behind the warning is in the record too
    assert result.to_dict()["diagnostics"]["not_identified"][:2] == ["E", "alpha"]


def test_bootstrap_interval_reaching_zero_warns():
    runs = ill_posed()
    result, _ = fit_quietly(runs.n_params, runs.n_tokens, runs.loss)
    with pytest.warns(IdentifiabilityWarning, match="E's 95% interval reaches 0"):
        boot = optimal.bootstrap(result, n_resamples=100, seed=0)
    assert any("reaches 0" in w for w in boot.to_dict()["warnings"])


def test_well_posed_bootstrap_is_quiet():
    runs = optimal.synthetic_runs(n_runs=120, noise=0.01, seed=1)
    result, _ = fit_quietly(runs.n_params, runs.n_tokens, runs.loss)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        boot = optimal.bootstrap(result, n_resamples=100, seed=0)
    assert boot.warnings == ()


@pytest.mark.parametrize(
    "transform, message",
    [
        (lambda n, d, loss: (n, d / 1e9, loss), "is D in billions"),
        (lambda n, d, loss: (n / 1e9, d, loss), "is N given in millions or billions"),
        (lambda n, d, loss: (n, d, np.exp(loss)), "is it a perplexity"),
    ],
)
def test_unit_slips_warn(transform, message):
    runs = optimal.synthetic_runs(n_runs=60, noise=0.01, seed=0)
    _, caught = fit_quietly(*transform(runs.n_params, runs.n_tokens, runs.loss))
    assert any(issubclass(w.category, PlausibilityWarning) and message in str(w.message) for w in caught)


def test_thresholds_are_settable(monkeypatch):
    from optimal.fitting import diagnostics

    runs = optimal.synthetic_runs(n_runs=60, noise=0.01, seed=0)
    monkeypatch.setattr(diagnostics, "MAX_LOSS", 2.0)  # every run's loss is above 2 nats
    _, caught = fit_quietly(runs.n_params, runs.n_tokens, runs.loss)
    assert any(issubclass(w.category, PlausibilityWarning) for w in caught)


def test_scaled_condition_leaves_out_a_vanished_term():
    from optimal.fitting.diagnostics import scaled_condition

    hessian = np.diag([0.0, 4.0, 1.0, 9.0, 16.0])  # E's term has vanished: no curvature in e at all
    hessian[3, 4] = hessian[4, 3] = 11.0  # alpha and beta trade off: correlation 11/12
    assert scaled_condition(hessian) == pytest.approx((1 + 11 / 12) / (1 - 11 / 12))
    assert scaled_condition(np.full((5, 5), np.nan)) == np.inf
