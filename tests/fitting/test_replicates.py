"""Seed noise from repeated runs (pure error) and the lack-of-fit F test of a law against it."""

import warnings

import numpy as np
import pytest

import optimal
from optimal.errors import DataError, OptimalError
from optimal.fitting.replicates import f_tail

# F upper tails from scipy.stats.f.sf (the baseline, computed once: scipy is not used by the library)
F_TAILS = [((2.5, 7, 30), 0.037777661289931895), ((0.3, 3, 100), 0.8253235344986033)]


@pytest.mark.parametrize("args, expected", F_TAILS)
def test_f_tail_matches_scipy(args, expected):
    assert f_tail(*args) == pytest.approx(expected, rel=1e-10)
    assert f_tail(0.0, 3, 10) == 1.0


def _replicated(seed, bump=0.0):
    """20 settings, each run 3 times with 1% log-loss seed noise; ``bump``: a lack of fit no law of the family
    follows (a bump in the middle of the sizes)."""
    base = optimal.synthetic_runs(n_runs=20, noise=0.0, seed=0)
    n, d = np.repeat(base.n_params, 3), np.repeat(base.n_tokens, 3)
    log_n = np.log(n)
    shape = np.exp(-0.5 * ((log_n - log_n.mean()) / 0.5) ** 2)
    loss = np.repeat(base.loss, 3) * np.exp(0.01 * np.random.default_rng(seed).standard_normal(60) + bump * shape)
    return n, d, loss


def test_pure_error_is_the_pooled_within_setting_variance():
    n, d, loss = _replicated(1)
    found = optimal.replicate_noise(optimal.validate_runs(n, d, loss))
    y = np.log(loss).reshape(20, 3)
    assert found.n_settings == 20 and found.n_replicated == 20 and found.pure_error_df == 40
    assert found.pure_error_variance == pytest.approx(np.sum((y - y.mean(1, keepdims=True)) ** 2) / 40, rel=1e-12)
    assert found.f_ratio is None and found.ok


def test_no_repeat_no_estimate():
    runs = optimal.synthetic_runs(n_runs=10, seed=0)
    found = optimal.replicate_noise(runs)
    assert found.pure_error_variance is None and not found.ok and found.warnings[0].code == "replicates"
    with pytest.raises(OptimalError):
        optimal.replicate_noise((runs.n_params, runs.n_tokens, runs.loss))
    with pytest.raises(DataError):
        optimal.replicate_noise(runs._replace(weights=np.zeros(10)))


@pytest.fixture(scope="module")
def fits():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {bump: optimal.fit(*_replicated(3, bump), objective=optimal.Objective("squared"),
                                  search=optimal.Search(n_polish=4)) for bump in (0.0, 0.05)}


@pytest.mark.slow
def test_a_right_law_shows_no_lack_of_fit_and_a_wrong_one_does(fits):
    # measured: p = 0.68 (residual sd 0.0109 against seed noise 0.0113) and, with a 5% bump, p = 5.9e-6 (residual
    # sd 0.0170)
    right, wrong = optimal.replicate_noise(fits[0.0]), optimal.replicate_noise(fits[0.05])
    assert right.lack_of_fit_df == 15 and right.residual_df == 55 and right.n_free == 5
    assert right.p_value > 0.05 and not right.warnings
    assert wrong.p_value < 1e-4 and wrong.residual_sd > 1.5 * wrong.pure_error_sd
    assert any(w.code == "replicates" and "lack of fit" in w for w in wrong.warnings)
    # SS_res = SS_pe + SS_lof
    total = right.pure_error_variance * 40 + right.lack_of_fit_variance * 15
    assert right.residual_variance * 55 == pytest.approx(total)
    as_runs = optimal.replicate_noise(optimal.validate_runs(*_replicated(3, 0.0)), fits[0.0])
    assert as_runs.f_ratio == pytest.approx(right.f_ratio, rel=1e-9)
    assert "seed noise" in right.summary() and right.to_dict()["p_value"] == right.p_value
