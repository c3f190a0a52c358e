"""Prediction from a fit: the point, the confidence interval for the mean loss and the prediction interval for a
new run (optimal.analysis.predict), checked against hand computations from the draws and the residuals."""

import importlib.util
import math
import warnings
from pathlib import Path

import numpy as np
import pytest
from scipy import integrate, stats

import optimal
from optimal.analysis.predict import MAD_TO_SD, huber_variance_factor, mean_error_samples, residual_scale

ASYMMETRIC_PY = Path(__file__).resolve().parents[2] / "benchmarks" / "asymmetric_predict.py"
N = np.array([1e8, 1e9, 1e10, 1e11, 1e12])
D = 20 * N


@pytest.fixture(scope="module")
def fitted():
    runs = optimal.synthetic_runs(n_runs=60, noise=0.02, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a 60-run fit's identifiability warnings are not what is tested here
        result = optimal.fit(runs.n_params, runs.n_tokens, runs.loss)
        boot = optimal.bootstrap(result, n_resamples=60, seed=1)
    return runs, result, boot


def _nested(p):
    """PI contains CI strictly on both sides (a new run adds scatter); the linearised PI's each side is at least
    the residual scatter's t s alone."""
    assert np.all(p.new_lo < p.mean_lo) and np.all(p.mean_hi < p.new_hi)
    assert np.all(p.new_lo < p.loss) and np.all(p.loss < p.new_hi)
    if p.method == "linearised":
        t_s = stats.t.ppf(0.5 + p.confidence / 2, p.dof) * p.residual_scale
        assert np.all(np.log(p.loss / p.new_lo) >= t_s) and np.all(np.log(p.new_hi / p.loss) >= t_s)


def test_intervals_nested_and_sided(fitted):
    _, result, boot = fitted
    for p in (optimal.predict(result, N, D), optimal.predict(result, N, D, bootstrap=boot)):
        _nested(p)
        assert np.all(p.mean_lo < p.mean_hi)
        # the point sits inside its confidence interval here (no note says otherwise)
        assert np.all((p.mean_lo <= p.loss) & (p.loss <= p.mean_hi)) or p.notes
        # farther from the fitted runs, the mean is less certain: the interval widens past the largest run
        width = np.log(p.mean_hi / p.mean_lo)
        assert width[-1] > width[2]


def test_confidence_interval_is_the_percentile_of_the_draws(fitted):
    _, result, boot = fitted
    p = optimal.predict(result, N, D, confidence=0.9, bootstrap=boot)
    laws = [optimal.Chinchilla(**{k: float(v) for k, v in result.family.to_natural(t).items()}) for t in boot.good]
    losses = np.array([np.asarray(law.loss(N, D)) for law in laws])  # (R, m), one law at a time
    lo, hi = np.percentile(losses, [5, 95], axis=0)
    np.testing.assert_allclose(p.mean_lo, lo, rtol=1e-10)
    np.testing.assert_allclose(p.mean_hi, hi, rtol=1e-10)
    assert p.method == "bootstrap" and p.n_draws == len(boot.good)


def test_prediction_interval_adds_the_residual_scatter_by_hand(fitted):
    runs, result, boot = fitted
    # residuals by hand: observed minus the law's log loss
    r = np.log(runs.loss) - np.log(np.asarray(result.law.loss(runs.n_params, runs.n_tokens)))
    t = stats.t.ppf(0.975, len(r) - 5)
    # without draws: the robust scale (MAD about the median, n / (n - 5) inflation) added in quadrature to the
    # linearised confidence interval's half-widths
    p = optimal.predict(result, N, D)
    s = MAD_TO_SD * np.median(np.abs(r - np.median(r))) * math.sqrt(len(r) / (len(r) - 5))
    assert p.residual_scale == pytest.approx(s, rel=1e-9)
    point = np.log(p.loss)
    np.testing.assert_allclose(np.log(p.new_hi), point + np.hypot(np.log(p.mean_hi) - point, t * s), rtol=1e-12)
    np.testing.assert_allclose(np.log(p.new_lo), point - np.hypot(point - np.log(p.mean_lo), t * s), rtol=1e-12)
    np.testing.assert_allclose(p.loss, np.asarray(result.law.loss(N, D)), rtol=1e-12)
    # with draws: percentiles, over every (draw, residual) pair, of a draw's log loss plus a residual inflated by
    # sqrt(n / (n - 5))
    p = optimal.predict(result, N, D, bootstrap=boot)
    laws = [optimal.Chinchilla(**{k: float(v) for k, v in result.family.to_natural(t).items()}) for t in boot.good]
    per_draw = np.log([np.asarray(law.loss(N, D)) for law in laws])  # (R, m)
    pairs = [[draw[j] + e for draw in per_draw for e in r * math.sqrt(len(r) / (len(r) - 5))] for j in range(len(N))]
    lo, hi = np.percentile(pairs, [2.5, 97.5], axis=1)
    np.testing.assert_allclose(np.log(p.new_lo), lo, rtol=1e-10)
    np.testing.assert_allclose(np.log(p.new_hi), hi, rtol=1e-10)


def test_linearised_interval_agrees_with_the_bootstrap_roughly(fitted):
    """Both estimate the same sampling spread of the mean: within a factor of 2 at every run (60 draws: the
    bootstrap's own standard deviation is ~10% uncertain; the linearisation is an approximation)."""
    _, result, boot = fitted
    linear, drawn = optimal.predict(result, N, D), optimal.predict(result, N, D, bootstrap=boot)
    ratio = linear.log_se / drawn.log_se
    assert np.all((ratio > 0.5) & (ratio < 2)), ratio
    assert linear.method == "linearised" and any("linearised" in n for n in linear.notes)


def test_error_samples_match_the_intervals(fitted):
    _, result, boot = fitted
    drawn = mean_error_samples(result, N, D, bootstrap=boot)
    np.testing.assert_allclose(np.std(drawn, axis=0, ddof=1), optimal.predict(result, N, D, bootstrap=boot).log_se, rtol=1e-9)
    normal = mean_error_samples(result, N, D, size=20000, seed=0)
    np.testing.assert_allclose(np.std(normal, axis=0), optimal.predict(result, N, D).log_se, rtol=0.03)  # 20000 samples: ~0.5%


def test_huber_variance_factor_limits_and_integral():
    assert huber_variance_factor(1e-9, 1.0) == pytest.approx(math.pi / 2, rel=1e-6)
    assert huber_variance_factor(50.0, 1.0) == pytest.approx(1.0, rel=1e-9)
    assert huber_variance_factor(1.0, 1.0, "squared") == 1.0
    k = 0.7  # E[psi^2] / E[psi']^2 by quadrature
    psi2 = integrate.quad(lambda x: min(abs(x), k) ** 2 * stats.norm.pdf(x), -np.inf, np.inf)[0]
    assert huber_variance_factor(k, 1.0) == pytest.approx(psi2 / (2 * stats.norm.cdf(k) - 1) ** 2, rel=1e-7)


def test_asymmetric_variance_factor_is_huber_at_1_and_the_quantile_regression_limit():
    """asymmetric-huber:A's factor: Huber's at A = 1; tau (1 - tau) / phi(q_tau)^2 (tau = A / (1 + A), the
    quantile regression's) as k -> 0; and at k = 0.7, A = 0.5 the ratio by plain quadrature over the run's noise."""
    for k in (0.05, 0.7, 3.0):
        assert huber_variance_factor(k, 1.0, "asymmetric-huber:1.0") == pytest.approx(huber_variance_factor(k, 1.0),
                                                                                      rel=1e-9)
    tau = 0.25 / 1.25
    limit = tau * (1 - tau) / stats.norm.pdf(stats.norm.ppf(tau)) ** 2  # 2.04: the factor 1 of before was too small
    assert huber_variance_factor(1e-9, 1.0, "asymmetric-huber:0.25") == pytest.approx(limit, rel=1e-6)
    assert huber_variance_factor(2e-3, 0.02, "asymmetric-huber:0.25") == pytest.approx(
        huber_variance_factor(0.1, 1.0, "asymmetric-huber:0.25"), rel=1e-12)  # a function of delta / scale alone
    k, a = 0.7, 0.5

    def psi(u):
        return min(max(u, -k), k) * (a if u < 0 else 1.0)

    def mean(f, m):  # E[f(Z)], the integrand's kinks at z = m - k, m, m + k
        return integrate.quad(lambda z: f(z) * math.exp(-z * z / 2) / math.sqrt(2 * math.pi), -12, 12,
                              points=[m - k, m, m + k], limit=200, epsabs=1e-14, epsrel=1e-10)[0]

    from scipy.optimize import brentq
    m = brentq(lambda m: mean(lambda z: psi(m - z), m), -5, 5, xtol=1e-13)
    slope = mean(lambda z: (a if m - z < 0 else 1.0) if abs(m - z) < k else 0.0, m)
    assert huber_variance_factor(k, 1.0, "asymmetric-huber:0.5") == pytest.approx(
        mean(lambda z: psi(m - z) ** 2, m) / slope**2, rel=1e-8)  # 1.2695


@pytest.mark.slow
def test_linearised_new_run_interval_of_an_asymmetric_fit_holds_each_tail():
    """An asymmetric-huber:0.25 fit's law is a lower envelope (~ the 20th percentile of the runs' log loss): the
    interval of before, t s on both sides of the law, missed 0.2% of new runs below and 9.3% above (6 sets of 80
    runs, 1% normal noise, 200 new runs each at N 1e8..1e10 and 5-100 tokens per parameter:
    benchmarks/asymmetric_predict.py); with the residuals' own percentiles 2.5% and 1.7%. Here 4 such sets: each
    tail at most 6%, the lower at least 0.5%."""
    spec = importlib.util.spec_from_file_location("benchmarks_asymmetric_predict", ASYMMETRIC_PY)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    below, above = [], []
    for s in range(4):
        result, n, d, new = bench.new_run_set(s)  # the benchmark's sets (its first 4 of 6)
        p = optimal.predict(result, n, d)
        below.append(np.mean(new < np.log(p.new_lo)))
        above.append(np.mean(new > np.log(p.new_hi)))
    assert any("lower envelope" in note for note in p.notes)
    assert 0.005 <= np.mean(below) <= 0.06 and np.mean(above) <= 0.06, (below, above)


def test_residual_scale_leaves_out_zero_weight_rows(fitted):
    runs, result, _ = fitted
    s, dof = residual_scale(result)
    assert dof == len(runs.loss) - 5 and s > 0


def test_extrapolation_distances(fitted):
    runs, result, _ = fitted
    p = optimal.predict(result, N, D)
    top = np.max(runs.n_params * runs.n_tokens)
    np.testing.assert_allclose(p.extrapolation["compute_decades"], np.log10(N * D / top))
    assert p.extrapolation["N_decades_outside"][-1] == pytest.approx(np.log10(1e12 / runs.n_params.max()))
    assert p.extrapolation["N_decades_outside"][1] == 0.0


def test_broadcast_and_function_form(fitted):
    _, result, boot = fitted
    p = optimal.predict(result, [1e9, 1e10], 2e10, bootstrap=boot)
    assert p.loss.shape == (2,) and p.n_tokens.tolist() == [2e10, 2e10]
    np.testing.assert_allclose(p.loss, optimal.predict(result, [1e9, 1e10], [2e10, 2e10]).loss)
    record = p.to_dict()
    assert set(record["runs"][0]) == {"N", "D", "loss", "mean", "new_run", "log_se", "extrapolation"}


def test_bad_input_is_named(fitted):
    _, result, boot = fitted
    with pytest.raises(optimal.OptimalError, match="confidence must be between 0 and 1"):
        optimal.predict(result, 1e9, 1e10, confidence=1.5)
    with pytest.raises(optimal.DataError, match="N must be positive and finite; value 1"):
        optimal.predict(result, [1e9, -1.0], 1e10)
    with pytest.raises(optimal.DataError, match="shapes that broadcast"):
        optimal.predict(result, [1e9, 1e10], [1e10, 1e11, 1e12])
    with pytest.raises(optimal.DataError, match="reads no covariate 'U'"):
        optimal.predict(result, 1e9, 1e10, covariates={"U": 1e9})
    other = optimal.fit(*optimal.synthetic_runs(n_runs=60, seed=9)[:3])
    with pytest.raises(optimal.OptimalError, match="draws are of another fit"):
        optimal.predict(other, 1e9, 1e10, bootstrap=boot)
    with pytest.raises(optimal.OptimalError, match="group .a. given, but this fit holds one law"):
        optimal.predict(result, 1e9, 1e10, group="a")


def test_coefficient_covariance_gives_the_linearised_standard_errors(fitted):
    """se^2 = g C g^T with g the gradient of the law's log loss with respect to (log E, log A, log B, alpha, beta)
    taken by central finite differences (step 1e-5: truncation ~1e-10, rounding ~1e-11 relative), independent of
    the code's autodiff; and C's exponent variances are of the bootstrap's size (within a factor of 3)."""
    from optimal.analysis.predict import coefficient_covariance

    _, result, boot = fitted
    cov = coefficient_covariance(result)
    theta = np.asarray(result.theta)

    def log_loss(t):
        e, a, b, alpha, beta = t
        return np.log(np.exp(e) + np.exp(a) / N**alpha + np.exp(b) / D**beta)

    h = 1e-5
    grad = np.stack([(log_loss(theta + h * np.eye(5)[i]) - log_loss(theta - h * np.eye(5)[i])) / (2 * h)
                     for i in range(5)], axis=1)
    se = np.sqrt(np.einsum("mi,ij,mj->m", grad, cov, grad))
    np.testing.assert_allclose(optimal.predict(result, N, D).log_se, se, rtol=1e-5)
    ratio = np.diagonal(cov)[3:] / np.var(boot.good[:, 3:], axis=0, ddof=1)
    assert np.all((ratio > 1 / 3) & (ratio < 3)), ratio


@pytest.mark.slow
def test_new_run_intervals_cover_held_out_runs_on_synthetic_truth():
    """The 95% new-run interval from bootstrap draws covers ~95% of new runs drawn from the truth, also when the
    residuals are skewed (one run in ten lands 10% above the law, 0.2% noise otherwise).

    40 data sets of 120 runs, 200 draws each, 20 new runs per set at N 2e10..1e11 (1.1-2.8 decades beyond the fitted
    N) and 5-100 tokens per parameter: 800 checks, correlated within a set (the share per set has sd ~0.06, so the
    overall share's is ~0.01). We require 0.92..0.99: the draws + residuals measured 0.97 on 60 such sets, while a
    normal interval from the residuals' MAD (the quadrature of the linearised path, once used with draws) covered
    0.86: it cannot see the skewed tail.
    """
    truth = optimal.data.synthetic.DEFAULT_TRUTH

    def noise(rng, size):
        return 0.002 * rng.standard_normal(size) + np.where(rng.uniform(size=size) < 0.1, np.log(1.10), 0.0)

    covered = []
    for s in range(40):
        rng = np.random.default_rng(1000 + s)
        runs = optimal.synthetic_runs(n_runs=120, seed=1000 + s, noise=0.0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = optimal.fit(runs.n_params, runs.n_tokens, runs.loss * np.exp(noise(rng, 120)))
            boot = optimal.bootstrap(result, n_resamples=200, seed=s)
        n = np.exp(rng.uniform(np.log(2e10), np.log(1e11), 20))
        d = n * np.exp(rng.uniform(np.log(5), np.log(100), 20))
        new = np.asarray(truth.loss(n, d)) * np.exp(noise(rng, 20))
        p = optimal.predict(result, n, d, bootstrap=boot)
        covered.append((p.new_lo <= new) & (new <= p.new_hi))
    share = float(np.mean(covered))
    assert 0.92 <= share <= 0.99, share


def test_new_run_bounds_sample_pairs_when_there_are_too_many(monkeypatch):
    """Past ``_PAIRS_PER_BLOCK`` (draw, residual) pairs each draw takes a random share of the residuals: the
    percentiles then agree with the exact ones over every pair to Monte-Carlo accuracy, and the blocks of runs
    change nothing."""
    from optimal.analysis import predict as module

    rng = np.random.default_rng(0)
    per_draw = rng.normal(0.0, 0.01, (400, 7)) + np.linspace(0.5, 0.8, 7)
    residuals = rng.gamma(2.0, 0.005, 300) - 0.01  # skewed
    exact = module._new_run_bounds(per_draw, residuals, 2.5, seed=0)
    monkeypatch.setattr(module, "_PAIRS_PER_BLOCK", 400 * 50)  # 50 residuals per draw, one run per block
    sampled = module._new_run_bounds(per_draw, residuals, 2.5, seed=0)
    np.testing.assert_allclose(sampled, exact, atol=2e-3)
    pairs = (per_draw[:, None, :] + residuals[None, :, None]).reshape(-1, 7)
    np.testing.assert_allclose(exact, np.percentile(pairs, [2.5, 97.5], axis=0), rtol=1e-12)
