"""``optimal.suggest`` (optimal/analysis/design.py): the predicted variance of log N*(C) against independent
computations (the closed-form gradient, refits of perturbed noiseless data), its monotonicity, the spend limit,
independence from the order of the candidates, bad input, and the simulation in which the suggested runs must
narrow N* more than an IsoFLOP grid of the same compute (benchmarks/design.py)."""

import dataclasses
import importlib.util
import math
import sys
import warnings
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import optimal
from optimal.analysis import design
from optimal.analysis.design import Information, log_n_star_gradient, predicted_sd, prediction_jacobian
from optimal.errors import BudgetError, DataError, OptimalError
from optimal.data.synthetic import DEFAULT_TRUTH, synthetic_runs

DESIGN_PY = Path(__file__).resolve().parents[2] / "benchmarks" / "design.py"
TARGET = 1e24


def isoflop(law, budgets, factors):
    n_star = np.asarray(optimal.compute_optimal(law, np.asarray(budgets)).n_params)
    n = (n_star[:, None] * np.asarray(factors)[None, :]).ravel()
    d = (np.asarray(budgets)[:, None] / (6 * n.reshape(len(budgets), -1))).ravel()
    return n, d


def suggest(*args, **kwargs):
    """``optimal.suggest`` with the linearised figure unless a test asks for draws: the tests of the information
    model and the greedy choice need no bootstrap (the calibration is a uniform factor, tested on its own below)."""
    kwargs.setdefault("n_resamples", 0)
    return design.suggest(*args, **kwargs)


def quiet_fit(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return optimal.fit(*args, **kwargs)


@pytest.fixture(scope="module")
def noisy_fit():
    """21 runs (7 sizes at 3 small budgets) with 1% log-normal noise, fitted."""
    n, d = isoflop(DEFAULT_TRUTH, [1e18, 3e18, 1e19], np.geomspace(0.25, 4, 7))
    rng = np.random.default_rng(0)
    loss = np.asarray(DEFAULT_TRUTH.loss(n, d)) * np.exp(0.01 * rng.standard_normal(len(n)))
    return quiet_fit(n, d, loss, search=optimal.Search(grid_size=32, n_polish=4))


# --- the pieces against independent computations -------------------------------------------------------------------

def test_gradient_through_compute_optimal_matches_closed_form(noisy_fit):
    """g = d log N*/d theta by jax.grad through the numerical allocation equals the gradient of the Chinchilla
    closed form log N* = log G + beta/(alpha+beta) log(C/6) (PITFALLS), to 1e-8 relative (the solver stops at a few
    ulps of log N; its implicit derivative is exact at the optimum)."""
    value, g = log_n_star_gradient(noisy_fit, TARGET)

    def closed(theta):
        e, a, b, alpha, beta = theta
        log_g = (jnp.log(alpha) + a - jnp.log(beta) - b) / (alpha + beta)
        return log_g + beta / (alpha + beta) * jnp.log(TARGET / 6)

    with jax.enable_x64(True):
        theta = jnp.asarray(noisy_fit.theta, jnp.float64)
        expected_value, expected = float(closed(theta)), np.asarray(jax.grad(closed)(theta))
    assert value == pytest.approx(expected_value, rel=1e-10)
    np.testing.assert_allclose(g, expected, rtol=1e-8, atol=1e-10 * np.abs(expected).max())


def _refit_sensitivities(designs, truth_theta):
    """For each design (N, D), d log N*(TARGET) / d log-loss_i for every row, by central differences (h = 1e-5) of
    refits of noiseless data from the truth: every perturbed data set of every design is a group of one fit call,
    each started from the truth's coefficients."""
    h = 1e-5
    n_all, d_all, y_all, labels, index = [], [], [], [], []
    for k, (n, d) in enumerate(designs):
        log_loss = np.log(np.asarray(DEFAULT_TRUTH.loss(n, d)))
        for i in range(len(n)):
            for sign in (1, -1):
                y = log_loss.copy()
                y[i] += sign * h
                label = f"{k}-{i:03d}-{sign:+d}"
                n_all.append(n)
                d_all.append(d)
                y_all.append(y)
                labels += [label] * len(n)
                index.append((k, i, sign, label))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fits = optimal.fit_groups(np.concatenate(n_all), np.concatenate(d_all), np.exp(np.concatenate(y_all)),
                                  groups=np.array(labels), search=optimal.Search(starts=truth_theta[None]),
                                  solver=optimal.Solver(max_iter=500))
    out = [np.zeros(len(n)) for n, _ in designs]
    for k, i, sign, label in index:
        out[k][i] += sign * np.log(float(optimal.compute_optimal(fits[label].law, TARGET).n_params)) / (2 * h)
    return out


def test_predicted_variance_matches_refits_of_perturbed_noiseless_data():
    """The delta method, independently: with noiseless data every residual sits inside Huber's quadratic zone
    (|r| < delta = 1e-3), so the fit is locally least squares and var(log N*) = sigma^2 sum_i (d log N*/d y_i)^2
    for log-loss noise of sd sigma. The sensitivities come from refits (central differences), not from J or g.
    Checked for the fit's own runs and with one more run added (the information update): agreement to 1% (the
    refits stop at a step of ~1e-10 in the coefficients against a perturbation of 1e-5)."""
    n, d = isoflop(DEFAULT_TRUTH, [1e18, 1e19, 1e20], np.geomspace(0.25, 4, 4))
    truth_theta = np.array([math.log(DEFAULT_TRUTH.E), math.log(DEFAULT_TRUTH.A), math.log(DEFAULT_TRUTH.B),
                            DEFAULT_TRUTH.alpha, DEFAULT_TRUTH.beta])
    base = quiet_fit(n, d, np.asarray(DEFAULT_TRUTH.loss(n, d)), search=optimal.Search(starts=truth_theta[None]))
    sigma = 1e-4  # delta / sigma = 10: the variance factor is 1 (least squares) to 1e-20
    extra_n, extra_d = np.array([3e10]), np.array([3e21 / (6 * 3e10)])
    alone, added = _refit_sensitivities([(n, d), (np.r_[n, extra_n], np.r_[d, extra_d])], truth_theta)
    assert predicted_sd(base, TARGET, noise_sd=sigma) == pytest.approx(sigma * np.linalg.norm(alone), rel=0.01)
    with_run = predicted_sd(base, TARGET, extra_n, extra_d, noise_sd=sigma)
    assert with_run == pytest.approx(sigma * np.linalg.norm(added), rel=0.01)
    # the added run cuts the sd by ~10%, ten times the tolerance: the second check tells the two apart
    assert with_run < 0.95 * predicted_sd(base, TARGET, noise_sd=sigma)


def test_tied_coefficients_go_through_the_fits_free_vector(noisy_fit):
    """A constrained fit (alpha tied to beta: the generic path's free vector (log E, log A, log B, alpha=beta)):
    g matches the closed form's gradient in those four coordinates, and the Jacobian is the full one with the
    alpha and beta columns summed (the chain rule of the tie). The record is built, not fitted: only the
    plumbing is under test."""
    theta = np.asarray(noisy_fit.theta).copy()
    theta[4] = theta[3]
    tied = dataclasses.replace(noisy_fit, theta=theta, tied=(("alpha", "beta"),), free=theta[:4],
                               free_names=("E", "A", "B", "alpha=beta"),
                               law=optimal.laws.CHINCHILLA.law_from_theta(theta))
    _, g = log_n_star_gradient(tied, TARGET)

    def closed(z):
        log_g = (z[1] - z[2]) / (2 * z[3])
        return log_g + 0.5 * jnp.log(TARGET / 6)

    with jax.enable_x64(True):
        expected = np.asarray(jax.grad(closed)(jnp.asarray(theta[:4])))
    np.testing.assert_allclose(g, expected, rtol=1e-8, atol=1e-10 * np.abs(expected).max())
    n, d = np.array([1e9, 3e10]), np.array([2e10, 1e11])
    full = prediction_jacobian(dataclasses.replace(noisy_fit, theta=theta, free=theta), n, d)
    np.testing.assert_allclose(prediction_jacobian(tied, n, d), np.c_[full[:, :3], full[:, 3] + full[:, 4]],
                               rtol=1e-12)
    answer = suggest(tied, TARGET, 1e21)
    assert answer.runs and answer.sd_after < answer.sd_before


def test_variance_agrees_with_predicts_coefficient_covariance(noisy_fit):
    """The same linearised model computed by optimal.analysis.predict's own code (its Gram matrix and eigen-inverse):
    var(log N*) = g^T C g, C = coefficient_covariance. Agreement to 1e-4 relative (the design's ridge of 1e-10 of
    the largest scaled eigenvalue, on a scaled condition of ~1e5, moves the variance by at most ~1e-5)."""
    from optimal.analysis.predict import coefficient_covariance

    _, g = log_n_star_gradient(noisy_fit, TARGET)
    assert predicted_sd(noisy_fit, TARGET) ** 2 == pytest.approx(g @ coefficient_covariance(noisy_fit) @ g, rel=1e-4)


def test_information_update_is_the_added_row():
    """Adding candidate rows one at a time equals the information of all rows at once, and ``variances_with``
    (every candidate in one batch) equals adding each row and solving again."""
    rng = np.random.default_rng(2)
    jac = rng.standard_normal((12, 5)) * np.array([1, 1e3, 1e-3, 10, 1e2])  # badly scaled columns
    rows, g = rng.standard_normal((4, 5)), rng.standard_normal(5)
    info = Information(jac.T @ jac)
    batch = info.variances_with(g, rows, 2.0)
    for i, row in enumerate(rows):
        assert batch[i] == pytest.approx(info.added(row, 2.0).variance(g), rel=1e-10)
    both = info.added(rows[0], 2.0).added(rows[1], 2.0)
    assert both.variance(g) == pytest.approx(Information(jac.T @ jac).added(rows[:2], 2.0).variance(g), rel=1e-12)


# --- properties of the design -------------------------------------------------------------------------------------

def test_adding_runs_never_increases_the_predicted_variance(noisy_fit):
    """Every candidate's variance with it added is at most the variance without (to 1e-12 relative: rounding), for
    random candidates far outside the fitted range too, and the greedy choice's sd only goes down."""
    rng = np.random.default_rng(3)
    n = np.exp(rng.uniform(np.log(1e6), np.log(1e12), 200))
    d = n * np.exp(rng.uniform(np.log(0.1), np.log(1e4), 200))
    answer = suggest(noisy_fit, TARGET, 1e30, (n, d), n=30)
    assert all(r["sd_after"] <= answer.sd_before * (1 + 1e-12) for r in answer.ranking)
    sds = [answer.sd_before] + [r["sd_after"] for r in answer.runs]
    assert len(answer.runs) == 30 and all(b <= a * (1 + 1e-12) for a, b in zip(sds, sds[1:]))
    assert answer.sd_after < 0.5 * answer.sd_before  # 30 runs up to 1e12 parameters: a large cut, not a no-op


@pytest.mark.parametrize("spend", [3e19, 1e21, 1e23])
def test_total_compute_is_within_the_spend(noisy_fit, spend):
    answer = suggest(noisy_fit, TARGET, spend, n=50)
    assert answer.runs and 0 < answer.total_compute <= spend
    assert answer.total_compute == pytest.approx(sum(6 * r["N"] * r["D"] for r in answer.runs), rel=1e-12)
    assert "spend" in answer.stopped or "n" in answer.stopped or "reduces" in answer.stopped


def test_default_candidates_are_the_documented_grid(noisy_fit):
    """7 budgets from the largest run's compute (1e19) to the spend, 7 sizes each, N*/8 to 8 N*."""
    answer = suggest(noisy_fit, TARGET, 1e21)
    compute = np.array([r["compute"] for r in answer.ranking])
    assert answer.n_candidates == 49 and len(answer.ranking) == 49
    np.testing.assert_allclose(np.unique(np.round(np.log10(compute), 6)), np.linspace(19, 21, 7), atol=1e-6)
    assert "7 budgets" in answer.candidates_from and "N*/8" in answer.candidates_from


def test_result_does_not_depend_on_the_order_of_candidates(noisy_fit):
    rng = np.random.default_rng(4)
    n = np.exp(rng.uniform(np.log(1e7), np.log(1e11), 40))
    d = 5e20 / (6 * n)
    d[::4] *= 0.3  # a few cheaper ones
    first = suggest(noisy_fit, TARGET, 2e21, (n, d), n=6)
    order = rng.permutation(len(n))
    second = suggest(noisy_fit, TARGET, 2e21, np.stack([n[order], d[order]], axis=1), n=6)
    assert [(r["N"], r["D"]) for r in first.runs] == [(r["N"], r["D"]) for r in second.runs]
    assert [(r["N"], r["D"]) for r in first.ranking] == [(r["N"], r["D"]) for r in second.ranking]
    for a, b in zip(first.runs, second.runs):
        assert a["sd_after"] == pytest.approx(b["sd_after"], rel=1e-9)


def test_ranking_is_by_variance_cut_per_flop(noisy_fit):
    answer = suggest(noisy_fit, TARGET, 1e21)
    scores = [r["reduction_per_flop"] for r in answer.ranking]
    assert scores == sorted(scores, reverse=True) and scores[0] > 0
    top = answer.ranking[0]
    assert top["reduction_per_flop"] == pytest.approx(top["variance_reduction"] / top["compute"], rel=1e-12)
    assert top["variance_reduction"] == pytest.approx(answer.sd_before**2 - top["sd_after"] ** 2, rel=1e-9)


def test_noise_sd_scales_every_variance_but_not_the_choice(noisy_fit):
    """sigma multiplies every variance alike (the documented reason the ranking does not depend on it)."""
    a = suggest(noisy_fit, TARGET, 1e21, noise_sd=0.5)  # delta << sigma in both: the variance factor ~ pi/2
    b = suggest(noisy_fit, TARGET, 1e21, noise_sd=1.0)
    assert [(r["N"], r["D"]) for r in a.runs] == [(r["N"], r["D"]) for r in b.runs]
    assert b.sd_after / a.sd_after == pytest.approx(2 * math.sqrt(b.variance_factor / a.variance_factor), rel=1e-6)


def test_prediction_jacobian_is_the_log_loss_derivative(noisy_fit):
    """The candidate Jacobian equals finite differences of the law's own log_loss in (log E, log A, log B, alpha,
    beta) (central, h = 1e-6: error ~1e-10)."""
    n, d = np.array([1e9, 3e10]), np.array([2e10, 1e11])
    jac = prediction_jacobian(noisy_fit, n, d)
    theta, h = np.asarray(noisy_fit.theta), 1e-6
    for j in range(5):
        step = np.zeros(5)
        step[j] = h
        plus = optimal.laws.CHINCHILLA.law_from_theta(theta + step).log_loss(np.log(n), np.log(d))
        minus = optimal.laws.CHINCHILLA.law_from_theta(theta - step).log_loss(np.log(n), np.log(d))
        np.testing.assert_allclose(jac[:, j], (np.asarray(plus) - np.asarray(minus)) / (2 * h), rtol=1e-6, atol=1e-9)


# --- bad input ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, error, message", [
    ({"spend": 0.0}, BudgetError, "spend must be a positive finite number of FLOPs, got 0.0"),
    ({"spend": -1e21}, BudgetError, "spend must be a positive finite number"),
    ({"spend": float("inf")}, BudgetError, "spend must be a positive finite number"),
    ({"target_compute": 0}, BudgetError, "target compute must be a positive finite number of FLOPs, got 0"),
    ({"target_compute": float("nan")}, BudgetError, "target compute must be a positive finite number"),
    ({"n": 0}, OptimalError, "n (runs to suggest) must be an integer >= 1, got 0"),
    ({"noise_sd": -0.1}, DataError, "noise_sd must be a positive finite number"),
    ({"candidates": [[1e9, 2e10, 3.0]]}, DataError, "shape (1, 3)"),
    ({"candidates": [[1e9, -2e10]]}, DataError, "candidate 0 (0-based): D = -2e+10 must be positive"),
    ({"candidates": ([1e9, 2e9], [2e10])}, DataError, "as many N as D"),
    ({"candidates": [["a", "b"]]}, DataError, "candidates must be numbers"),
    ({"candidates": [[1e9, 1e13]], "spend": 1e21}, BudgetError, "no candidate fits in the spend of 1e+21 FLOPs: the "
                                                                "cheapest costs 6e+22"),
])
def test_bad_input_is_named(noisy_fit, kwargs, error, message):
    args = {"target_compute": TARGET, "spend": 1e21, **kwargs}
    with pytest.raises(error) as caught:
        suggest(noisy_fit, **args)
    assert message in str(caught.value)


def test_predicted_sd_checks_its_input(noisy_fit):
    with pytest.raises(BudgetError, match="target compute must be a positive finite number of FLOPs, got -1.0"):
        predicted_sd(noisy_fit, -1.0)
    with pytest.raises(DataError, match="candidate 0 \\(0-based\\): N = 0 must be positive"):
        predicted_sd(noisy_fit, TARGET, [0.0], [1e10])


def test_a_joint_fit_or_a_non_fit_is_refused(noisy_fit):
    with pytest.raises(OptimalError, match="needs a FitResult"):
        suggest(DEFAULT_TRUTH, TARGET, 1e21)
    joint = dataclasses.replace(noisy_fit, group_labels=("a", "b"))
    with pytest.raises(OptimalError, match="joint fit of groups a, b"):
        suggest(joint, TARGET, 1e21)


def test_an_allocation_that_did_not_converge_is_refused(noisy_fit, monkeypatch):
    """No N* to narrow: the solver's own flag (forced here; the Chinchilla law always converges) stops the design."""
    from optimal.analysis import design

    real = design.compute_optimal
    monkeypatch.setattr(design, "compute_optimal", lambda *a, **k: real(*a, **k)._replace(converged=np.False_))
    with pytest.raises(OptimalError, match="allocation at 1e\\+24 FLOPs did not converge"):
        suggest(noisy_fit, TARGET, 1e21)


def test_residuals_without_spread_need_a_noise_sd(noisy_fit):
    """Every residual equal (the fit's own predictions, all 1% off): the MAD is 0, sigma cannot be estimated."""
    n, d, _, w = noisy_fit.data
    shifted = dataclasses.replace(noisy_fit, data=(n, d, np.asarray(noisy_fit.law.loss(n, d)) * 1.01, w))
    with pytest.raises(DataError, match="no spread .*pass noise_sd"):
        suggest(shifted, TARGET, 1e21)
    assert suggest(shifted, TARGET, 1e21, noise_sd=0.01).runs  # with sigma given, it answers


# --- the calibration on bootstrap draws ----------------------------------------------------------------------------

def closed_form_log_n_star(thetas, compute=TARGET):
    """ln N*(C) of Chinchilla draws (R, 5) in fitting space by the closed form (PITFALLS), NumPy: an allocation
    computed without the package's solver."""
    _, a, b, alpha, beta = np.asarray(thetas).T
    log_g = (np.log(alpha) + a - np.log(beta) - b) / (alpha + beta)
    return log_g + beta / (alpha + beta) * np.log(compute / 6)


def spread68(values):
    lo, hi = np.percentile(values, [50 - 34.134474606854294, 50 + 34.134474606854294])
    return (hi - lo) / 2


@pytest.fixture(scope="module")
def fake_draws(noisy_fit):
    """300 Gaussian draws about the fit (sd 0.05 in every fitting-space coefficient), as a BootstrapResult: the
    calibration's arithmetic without the cost of refits."""
    thetas = np.asarray(noisy_fit.theta) + 0.05 * np.random.default_rng(5).standard_normal((300, 5))
    return optimal.BootstrapResult(thetas, np.zeros(300), np.ones(300, bool), np.ones(300, int), 0.95, 0, noisy_fit)


def test_sd_before_is_the_draws_spread_and_the_choice_is_unchanged(noisy_fit, fake_draws):
    """With draws, the sd before is half the central 68.27% interval of the draws' ln N* (computed here by the
    closed form), every sd is the linearised one times one factor, and the runs chosen are the linearised choice's."""
    calibrated = suggest(noisy_fit, TARGET, 1e21, draws=fake_draws)
    linear = suggest(noisy_fit, TARGET, 1e21)
    expected = spread68(closed_form_log_n_star(fake_draws.thetas))
    assert calibrated.method == "bootstrap" and calibrated.n_draws == 300
    assert calibrated.sd_before == pytest.approx(expected, rel=1e-6)
    assert calibrated.sd_linearised == pytest.approx(linear.sd_before, rel=1e-12)
    factor = calibrated.sd_before / linear.sd_before
    assert calibrated.calibration == pytest.approx(factor, rel=1e-9)
    assert abs(math.log(factor)) > 0.1  # the draws' spread differs from the linearised sd: the check has teeth
    assert [(r["N"], r["D"]) for r in calibrated.runs] == [(r["N"], r["D"]) for r in linear.runs]
    assert calibrated.sd_after == pytest.approx(factor * linear.sd_after, rel=1e-9)
    for a, b in zip(calibrated.ranking, linear.ranking):
        assert a["sd_after"] == pytest.approx(factor * b["sd_after"], rel=1e-9)
    assert not [w for w in calibrated.warnings if w.code == "linearised"]
    record = calibrated.to_dict()
    assert record["uncertainty_method"] == "bootstrap" and record["calibration"] == pytest.approx(factor)
    assert "bootstrap-calibrated sd of ln N*" in calibrated.summary()


def test_a_linearised_figure_carries_a_caveat(noisy_fit):
    """No draws (n_resamples=0): the figure is the linearised one, said in the warnings, the summary and the JSON."""
    answer = suggest(noisy_fit, TARGET, 1e21)
    assert answer.method == "linearised" and answer.calibration == 1.0 and answer.n_draws == 0
    assert answer.warnings[0].code == "linearised" and "Gauss-Newton" in answer.warnings[0]
    assert "caveat: the sd of ln N* is linearised" in answer.summary()
    assert answer.to_dict()["uncertainty_method"] == "linearised"
    assert answer.to_dict()["warnings"][0]["code"] == "linearised"


def test_draws_without_an_allocation_widen_the_spread(noisy_fit, fake_draws):
    """Draws whose allocation has no N* (a negative exponent here) are counted far out on both sides: the spread
    never narrows, and a warning says how many."""
    thetas = np.asarray(fake_draws.thetas).copy()
    thetas[:30, 3] = -0.1
    broken = dataclasses.replace(fake_draws, thetas=thetas)
    answer = suggest(noisy_fit, TARGET, 1e21, draws=broken)
    assert answer.sd_before > spread68(closed_form_log_n_star(thetas[30:]))
    assert any(w.code == "draws" and "30 of 300" in w for w in answer.warnings)


def test_draws_of_another_fit_or_a_bad_count_are_refused(noisy_fit, fake_draws):
    other = dataclasses.replace(fake_draws, fit=dataclasses.replace(noisy_fit, theta=np.asarray(noisy_fit.theta) + 0.1))
    with pytest.raises(OptimalError, match="draws are of another fit"):
        suggest(noisy_fit, TARGET, 1e21, draws=other)
    with pytest.raises(OptimalError, match="must be a BootstrapResult"):
        suggest(noisy_fit, TARGET, 1e21, draws=np.zeros((10, 5)))
    with pytest.raises(OptimalError, match="n_resamples must be 0 .* or at least 2"):
        suggest(noisy_fit, TARGET, 1e21, n_resamples=1)
    with pytest.raises(OptimalError, match="seed must be an integer"):
        suggest(noisy_fit, TARGET, 1e21, n_resamples=2, seed=-1)


def _independent_spread(fit, seed):
    """sd and 68% half-width of ln N*(TARGET) over a bootstrap of 200 resamples, allocated by the closed form."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        boot = optimal.bootstrap(fit, n_resamples=200, seed=seed)
    values = closed_form_log_n_star(boot.good)
    return float(np.std(values, ddof=1)), spread68(values)


def _check_against_bootstrap(fit, spend):
    """suggest's own bootstrap (seed 0, 200 resamples) against an independent one (seed 1): its sd before within
    25% of both the sd and the 68% half-width of the other's draws (200 draws: each figure has a sampling error
    of ~5%, and the sd and the half-width differ by up to ~15% where the draws have long tails)."""
    answer = design.suggest(fit, TARGET, spend, n_resamples=200, seed=0)
    sd, half = _independent_spread(fit, seed=1)
    assert answer.method == "bootstrap"
    for figure in (sd, half):
        assert answer.sd_before == pytest.approx(figure, rel=0.25), (answer.sd_before, sd, half)
    return answer


@pytest.mark.slow
def test_sd_before_agrees_with_the_bootstrap_on_a_synthetic_set():
    """120 runs of a known law (N over 2.5 decades, 1% noise, seed 1): the linearised sd is 0.176 there against a
    bootstrap spread of ~0.21; the calibrated figure agrees with an independent bootstrap to 25%."""
    runs = synthetic_runs(120, noise=0.01, seed=1)
    fit = quiet_fit(runs.n_params, runs.n_tokens, runs.loss)
    _check_against_bootstrap(fit, 1e22)


@pytest.mark.slow
def test_sd_before_agrees_with_the_bootstrap_on_epochs_rows(epoch_fit):
    """Epoch's 240 rows, where the linearised sd of ln N*(1e24) (0.090) is 2.4 times too small: the calibrated
    figure agrees with an independent bootstrap to 25%, and the linearised one would not."""
    answer = _check_against_bootstrap(epoch_fit, 1e22)
    assert answer.sd_linearised < 0.6 * answer.sd_before


# --- the sd after the design under two assumptions -----------------------------------------------------------------

def test_sd_after_at_the_laws_noise_is_todays_when_the_calibration_is_one(noisy_fit, fake_draws, monkeypatch):
    """A synthetic set whose draws' spread equals the linearised sd (c = 1): the new runs "as the law's noise" and
    "as the old rows" are one figure, per run, for the whole design and in the ranking. With the fake draws (c = 4.2:
    old rows scatter far more than the residual scale says) the law's-noise figure is the smaller one."""
    linear = suggest(noisy_fit, TARGET, 1e21)
    monkeypatch.setattr(design, "bootstrap_spread", lambda draws, target, k: (linear.sd_before, 300, ()))
    one = suggest(noisy_fit, TARGET, 1e21, draws=fake_draws)
    assert one.method == "bootstrap" and one.calibration == pytest.approx(1.0, rel=1e-12)
    assert one.sd_after_noise == pytest.approx(one.sd_after, rel=1e-9)
    assert one.sd_after == pytest.approx(linear.sd_after, rel=1e-9)
    for record in one.runs + one.ranking:
        assert record["sd_after_noise"] == pytest.approx(record["sd_after"], rel=1e-9)
    monkeypatch.undo()
    wide = suggest(noisy_fit, TARGET, 1e21, draws=fake_draws)
    assert wide.calibration > 2 and wide.sd_after_noise < 0.8 * wide.sd_after
    assert [(r["N"], r["D"]) for r in wide.runs] == [(r["N"], r["D"]) for r in one.runs]  # the choice: old rows
    assert wide.to_dict()["sd_log_n_star_after_noise"] == wide.sd_after_noise
    text = wide.summary()
    assert f"{wide.sd_after_noise:.4f} to {wide.sd_after:.4f} with the" in text
    assert "as the law's noise" in text and "as the old rows" in text


def test_sd_after_matches_a_direct_computation_of_the_information(noisy_fit, fake_draws):
    """Both figures after the design against NumPy on the matrices themselves (no scaling, no ridge): with I_old =
    J^T W J / s^2 from the fit's rows, I_new = J_new^T J_new / s^2 from the chosen runs and c the calibration,
    "as the law's noise" is g^T (I_old / c^2 + I_new)^-1 g and "as the old rows" c^2 g^T (I_old + I_new)^-1 g
    (g = d ln N*/dz, linearised). 1e-4 relative: the design's ridge moves them by ~1e-5 (see above)."""
    answer = suggest(noisy_fit, TARGET, 1e21, draws=fake_draws)
    c, s2 = answer.calibration, answer.variance_factor * answer.noise_sd ** 2
    own, w = prediction_jacobian(noisy_fit), np.asarray(noisy_fit.data[3], float)
    new = prediction_jacobian(noisy_fit, [r["N"] for r in answer.runs], [r["D"] for r in answer.runs])
    i_old, i_new = (own * w[:, None]).T @ own / s2, new.T @ new / s2
    _, g = log_n_star_gradient(noisy_fit, TARGET)
    assert answer.sd_after_noise ** 2 == pytest.approx(g @ np.linalg.solve(i_old / c ** 2 + i_new, g), rel=1e-4)
    assert answer.sd_after ** 2 == pytest.approx(c ** 2 * g @ np.linalg.solve(i_old + i_new, g), rel=1e-4)
    assert answer.sd_before ** 2 == pytest.approx(c ** 2 * g @ np.linalg.solve(i_old, g), rel=1e-4)


@pytest.fixture(scope="module")
def after_module():
    return _benchmark_module("benchmarks_suggest_after", DESIGN_PY.with_name("suggest_after.py"))


@pytest.mark.slow
def test_sd_after_agrees_with_a_post_design_bootstrap(after_module):
    """benchmarks/suggest_after.py's protocol on one seed of the 21-run IsoFLOP set (1% noise, c = 1.25): the
    chosen runs drawn from the truth, everything refitted and bootstrapped (200 resamples). The sd after "as the
    law's noise" is within 25% of the post-design bootstrap's spread (the benchmark: docs/suggest.md)."""
    n, d, loss = after_module._initial("isoflop21", 0)
    fit = after_module._fit(n, d, loss, True)
    answer = design.suggest(fit, TARGET, 1e21, n_resamples=200, seed=0)
    rng = np.random.default_rng([0, 1])
    record = after_module._after(fit, answer, n, d, loss, lambda nn, nd: np.asarray(DEFAULT_TRUTH.loss(nn, nd))
                                 * np.exp(0.01 * rng.standard_normal(len(nn))), True, 200, 0)
    assert record["calibration"] > 1.1  # the two figures differ here
    assert record["sd_after_noise"] == pytest.approx(record["post_spread"], rel=0.25), record


# --- bounds on the tokens per parameter ---------------------------------------------------------------------------

def test_default_grid_stays_within_the_tokens_per_param_bounds(noisy_fit):
    """Unbounded, the grid reaches below 1 and above 300 tokens per parameter; with bounds 5 to 100 every candidate
    and every chosen run is within them, and each budget still has 7 sizes."""
    free = suggest(noisy_fit, TARGET, 1e21)
    ratios = [r["tokens_per_param"] for r in free.ranking]
    assert min(ratios) < 1 and max(ratios) > 300
    bounded = suggest(noisy_fit, TARGET, 1e21, min_tokens_per_param=5, max_tokens_per_param=100)
    ratios = [r["tokens_per_param"] for r in bounded.ranking]
    assert bounded.n_candidates == 49 and min(ratios) >= 5 and max(ratios) <= 100
    assert min(ratios) == pytest.approx(5, rel=1e-9) and max(ratios) == pytest.approx(100, rel=1e-9)
    assert all(5 <= r["tokens_per_param"] <= 100 for r in bounded.runs) and bounded.runs
    assert bounded.to_dict()["min_tokens_per_param"] == 5.0 and "5 to 100 tokens per parameter" in bounded.summary()
    only_min = suggest(noisy_fit, TARGET, 1e21, min_tokens_per_param=20)
    assert min(r["tokens_per_param"] for r in only_min.ranking) >= 20


def test_given_candidates_outside_the_bounds_are_left_out(noisy_fit):
    n = np.array([1e8, 1e9, 1e10, 3e9])
    d = np.array([2e11, 2e10, 2e9, 3e10])  # 2000, 20, 0.2 and 10 tokens per parameter
    answer = suggest(noisy_fit, TARGET, 1e22, (n, d), min_tokens_per_param=1, max_tokens_per_param=100)
    assert answer.n_candidates == 2 and answer.n_outside_bounds == 2
    assert {(r["N"], r["D"]) for r in answer.ranking} == {(1e9, 2e10), (3e9, 3e10)}
    assert "2 given candidates outside left out" in answer.summary()
    with pytest.raises(OptimalError, match="none of the 4 candidates has tokens per parameter within 3000"):
        suggest(noisy_fit, TARGET, 1e22, (n, d), min_tokens_per_param=3000)


@pytest.mark.parametrize("low, high, message", [
    (0, None, "min_tokens_per_param must be a positive finite number"),
    (-1.0, None, "min_tokens_per_param must be a positive finite number"),
    (None, float("nan"), "max_tokens_per_param must be a positive finite number"),
    (None, float("inf"), "max_tokens_per_param must be a positive finite number"),
    (50, 20, "min_tokens_per_param (50) is above max_tokens_per_param (20)"),
])
def test_bad_tokens_per_param_bounds_are_named(noisy_fit, low, high, message):
    with pytest.raises(OptimalError) as caught:
        suggest(noisy_fit, TARGET, 1e21, min_tokens_per_param=low, max_tokens_per_param=high)
    assert message in str(caught.value)


# --- the simulation ----------------------------------------------------------------------------------------------

def _benchmark_module(name, path):
    """A script of benchmarks/ imported as the module ``name``."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def design_module():
    return _benchmark_module("benchmarks_design", DESIGN_PY)


@pytest.mark.slow
def test_suggested_runs_narrow_n_star_more_than_an_isoflop_grid(design_module):
    """The issue's claim on a known truth (benchmarks/design.py's scenario with spend 1e22 FLOPs, 16 noise seeds
    instead of 200, one grid arm): refits with the suggested runs added spread log N*(1e24) less across seeds than
    refits with the same spend on a 5 x 2 IsoFLOP grid (sizes N*/2 to 2 N* around the initial fit's N*).

    Not luck: beyond sd_suggested < sd_grid, the 95% bootstrap interval of the sd ratio (seeds resampled with their
    pairs) must lie below 1, which with no real difference happens about 2.5% of the time. With 16 seeds the log of
    the ratio has a standard error of about 1/sqrt(15) = 0.26; the 200-seed benchmark measured a ratio near 0.4
    at this spend (log -0.9, README), so the bound sits below 1 for nearly any choice of seeds, not just these."""
    cfg = dataclasses.replace(design_module.DESIGN_CONFIGS["full"], mode="test", seeds=16, spend=1e22,
                              grid_spans=(2.0,), interval_resamples=1000)
    result = design_module.simulate(cfg)
    versus = result["versus"]["grid x2"]
    assert result["arms"]["suggested"]["sd"] < result["arms"]["grid x2"]["sd"]
    assert versus["sd_ratio_interval_95"][1] < 1.0, versus
    assert result["arms"]["suggested"]["compute_max"] <= cfg.spend
    assert result["arms"]["grid x2"]["compute_median"] == pytest.approx(cfg.spend, rel=1e-9)
