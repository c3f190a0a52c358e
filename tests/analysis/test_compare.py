"""Comparing two bootstrapped fits: differences and ratios with intervals, paired when they share rows and seed."""

import pytest

import optimal
from optimal.errors import OptimalError

TRUTH = optimal.data.synthetic.DEFAULT_TRUTH
BUDGET = 1e23


@pytest.fixture(scope="module")
def two_groups():
    better = TRUTH._replace(alpha=0.40, A=800.0)  # a different model-size term: another N*(C)
    boots = []
    for seed, truth in ((1, TRUTH), (2, better)):
        runs = optimal.synthetic_runs(n_runs=120, truth=truth, noise=0.005, seed=seed)
        result = optimal.fit(runs.n_params, runs.n_tokens, runs.loss)
        boots.append(optimal.bootstrap(result, n_resamples=200, seed=0))
    return boots, better


def test_differences_cover_the_true_difference(two_groups):
    (a, b), better = two_groups
    found = optimal.compare(a, b, [BUDGET], names=("base", "better"))
    assert not found["paired"] and found["n_draws"] == 200
    alpha = found["params"]["alpha"]
    assert alpha["lo"] < better.alpha - TRUTH.alpha < alpha["hi"]
    assert alpha["point"] == pytest.approx(b.fit.params["alpha"] - a.fit.params["alpha"], rel=1e-12)
    # N*(C) ratio: the truths' own ratio lies inside the interval; the point is the fits' ratio
    truth_ratio = float(optimal.compute_optimal(better, BUDGET).n_params / optimal.compute_optimal(TRUTH, BUDGET).n_params)
    ratio = found["allocation"][0]["N_ratio"]
    assert ratio["lo"] < truth_ratio < ratio["hi"]
    # the compute multiplier: what B needs to reach A's loss at C, over C, checked against the truths' own value
    target = float(optimal.compute_optimal(TRUTH, BUDGET).loss)
    truth_multiplier = float(optimal.compute_for_loss(better, target).compute) / BUDGET
    multiplier = found["allocation"][0]["compute_multiplier"]
    assert multiplier["lo"] < truth_multiplier < multiplier["hi"]
    point = float(optimal.compute_for_loss(b.fit.law, float(optimal.compute_optimal(a.fit.law, BUDGET).loss)).compute)
    assert multiplier["point"] == pytest.approx(point / BUDGET, rel=1e-9)


@pytest.mark.slow
def test_paired_settings_on_the_same_rows():
    runs = optimal.synthetic_runs(n_runs=100, noise=0.01, seed=4)
    huber = optimal.fit(runs.n_params, runs.n_tokens, runs.loss)
    squared = optimal.fit(runs.n_params, runs.n_tokens, runs.loss, objective=optimal.Objective(robust="squared"))
    a = optimal.bootstrap(huber, n_resamples=100, seed=3)
    b = optimal.bootstrap(squared, n_resamples=100, seed=3)
    found = optimal.compare(a, b)
    assert found["paired"]
    # pairing removes the shared resampling noise: the difference's spread is below that of either side
    se = found["params"]["alpha"]["se"]
    assert se < min(a.params()["alpha"]["se"], b.params()["alpha"]["se"])
    # and with a different seed the draws are not paired
    c = optimal.bootstrap(squared, n_resamples=100, seed=4)
    assert not optimal.compare(a, c)["paired"]


def test_compare_refuses_what_it_cannot_compare(two_groups):
    (a, _), _ = two_groups
    with pytest.raises(OptimalError, match="must be a BootstrapResult"):
        optimal.compare(a, a.fit)
