"""The wild (cluster) bootstrap: its weights, its draws (one weight per cluster, every row kept), the leverage
adjustment of its residuals, and the coverage of its intervals on a small simulation."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import optimal
from optimal._util.precision import float64_scope
from optimal.data.synthetic import DEFAULT_TRUTH
from optimal.errors import OptimalError
from optimal.fitting.problem import RowData
from optimal.fitting.resample import WILD_WEIGHTS, Wild, cluster_adjusted_residuals


@pytest.mark.parametrize("kind", ["rademacher", "webb"])
def test_weights_have_mean_0_and_variance_1(kind):
    values = np.asarray(WILD_WEIGHTS[kind])
    assert abs(values.mean()) < 1e-15 and abs(np.mean(values**2) - 1) < 1e-15
    assert len(values) == {"rademacher": 2, "webb": 6}[kind]


@float64_scope
def test_draws_keep_every_row_and_give_one_weight_per_cluster():
    n = 12
    groups = jnp.asarray(np.arange(n) % 4)
    fitted = jnp.linspace(0.7, 1.1, n)
    residual = jnp.asarray(np.random.default_rng(0).normal(0, 0.01, n))
    data = RowData(jnp.zeros(n), jnp.zeros(n), fitted + residual, {}, None, np.zeros((1, 5), np.int32),
                   np.zeros((1, 5)))
    rows, weights, own = Wild(4, "webb").resample(jax.random.PRNGKey(3), jnp.arange(500), data, jnp.ones(n),
                                                  (groups, fitted, residual))
    assert own and rows.log_loss.shape == (500, n) and weights.shape == (500, n)
    w = np.asarray((rows.log_loss - fitted) / residual)  # (R, n): each row's weight
    assert np.allclose(w, w[:, :4][:, np.asarray(groups)])  # one weight per cluster
    assert np.allclose(np.min(np.abs(w[..., None] - np.asarray(WILD_WEIGHTS["webb"])), axis=-1), 0)
    assert abs(w[:, :4].mean()) < 0.1 and abs(w[:, :4].var() - 1) < 0.1
    np.testing.assert_array_equal(rows.log_n, 0)  # the design is the data's


def test_adjusted_residuals_are_hc2_with_one_row_per_cluster():
    # a straight line through 8 points: e_i / sqrt(1 - h_i), the HC2 residuals
    rng = np.random.default_rng(1)
    x = np.linspace(0, 1, 8)
    jac = np.stack([np.ones(8), x], axis=1)
    e = rng.normal(size=8)
    h = np.einsum("ij,jk,ik->i", jac, np.linalg.inv(jac.T @ jac), jac)
    np.testing.assert_allclose(cluster_adjusted_residuals(jac, e, np.ones(8), np.arange(8)), e / np.sqrt(1 - h))
    # one cluster of all rows: every direction the fit passes through is left as it is
    whole = cluster_adjusted_residuals(jac, e, np.ones(8), np.zeros(8))
    assert np.all(np.isfinite(whole))


@pytest.mark.parametrize("wild", ["mammen", 1, ""])
def test_unknown_weights_are_refused(wild):
    with pytest.raises(OptimalError, match="rademacher, webb"):
        optimal.bootstrap(object(), n_resamples=8, wild=wild)


@pytest.mark.slow  # a fit and a wild bootstrap compiled: tens of seconds on a loaded machine
def test_a_wild_bootstrap_of_groups_is_each_groups_own_wild_bootstrap():
    """bootstrap_groups(wild=) is bootstrap(wild=) for each group (the fit report's and optimal fit --by's path),
    group g with seed + g: the first group's draws are bootstrap's with the same seed, a second group of the same
    rows is redrawn with other weights."""
    runs = optimal.synthetic_runs(n_runs=24, noise=0.01, seed=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = optimal.fit(runs.n_params, runs.n_tokens, runs.loss)
        options = dict(n_resamples=4, wild="rademacher", refit=optimal.Refit(n_starts=1))
        both = optimal.bootstrap_groups({"a": result, "b": result}, seed=7, **options)
        first, second = (optimal.bootstrap(result, seed=seed, **options) for seed in (7, 8))
    assert both["a"].wild == "rademacher" and both["a"].seed == 7
    np.testing.assert_array_equal(both["a"].thetas, first.thetas)
    np.testing.assert_array_equal(both["b"].thetas, second.thetas)
    assert not np.array_equal(both["a"].thetas, both["b"].thetas)


@pytest.mark.slow
def test_intervals_cover_the_truth_at_about_the_nominal_rate():
    # 20 data sets of 80 runs in 16 clusters (a cluster: runs sharing a log-loss offset of sd 1%, at any size; 0.3%
    # noise per run), Huber delta 0.05 (the residuals within its quadratic part); 80% wild cluster intervals.
    # Measured here: coverage of E, alpha, beta, a = 0.85, 0.75, 0.90, 0.75 (at delta = 1e-3, near L1: 0.65, 0.65,
    # 0.70, 0.55, which fails). Over 40 such sets: 0.80, 0.68, 0.85, 0.75 (Rademacher); 0.78, 0.70, 0.88, 0.72
    # (Webb); the pairs cluster bootstrap 0.75, 0.80, 0.85, 0.75.
    truth = DEFAULT_TRUTH._asdict()
    truth["a"] = truth["beta"] / (truth["alpha"] + truth["beta"])
    hits = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for seed in range(20):
            runs = optimal.synthetic_runs(n_runs=80, noise=0.003, seed=seed)
            groups = np.arange(80) % 16
            loss = runs.loss * np.exp(0.01 * np.random.default_rng(seed + 7).standard_normal(16)[groups])
            result = optimal.fit(runs.n_params, runs.n_tokens, loss, objective=optimal.Objective(delta=0.05),
                                 search=optimal.Search(n_polish=2))
            boot = optimal.bootstrap(result, n_resamples=100, groups=groups, wild="rademacher", confidence=0.8,
                                     refit=optimal.Refit(n_starts=1), seed=seed)
            assert boot.wild == "rademacher" and not boot.warnings
            found = boot.params()
            hits.append([found[k]["lo"] <= truth[k] <= found[k]["hi"] for k in ("E", "alpha", "beta", "a")])
    coverage = np.mean(hits, axis=0)
    assert np.all(coverage >= 0.55) and 0.65 <= coverage.mean() <= 0.95, coverage


@pytest.mark.parametrize("argv, message", [
    (["--wild", "webb"], "--wild chooses the weights of a wild bootstrap: add --bootstrap N"),
    (["--robust", "asymmetric-huber:2"], "--robust: Objective.robust must be one of"),
])
def test_cli_refuses_in_one_line(capsys, argv, message):
    from cli_helpers import assert_one_error, run

    assert_one_error(*run(capsys, ["fit", "examples/runs.csv", *argv]), message)
