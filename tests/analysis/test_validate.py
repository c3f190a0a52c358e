"""Held-out extrapolation (optimal.validate): on runs from a known law the prediction intervals hold about their
nominal share of held-out runs and nothing is flagged; with a law of the wrong form the misspecification message
appears; the folds hold out and fit exactly the runs they say."""

import warnings

import numpy as np
import pytest

import optimal
from optimal.analysis.validate import (LACK_OF_FIT_SIGNIFICANCE, SCALE_SIGNIFICANCE, SIGNIFICANCE, explained_share,
                                      fold_metrics, misspecification_messages)
from optimal.analysis.predict import Prediction

N_RUNS = 120  # one row count for every fit here: the fits share one compiled program


@pytest.fixture(autouse=True)
def quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # identifiability warnings of small synthetic fits are not under test
        yield


def _runs(seed, **kw):
    return optimal.synthetic_runs(n_runs=N_RUNS, noise=0.02, seed=seed, **kw)


def test_known_law_is_not_flagged_and_coverage_is_near_nominal():
    """Right law (the Chinchilla truth of synthetic_runs, 2% noise): no fold flagged for three data sets, and the
    95% prediction intervals hold 60 held-out runs at about their level (pooled; >= 85% allows the runs' shared fit
    error, which makes misses come together)."""
    inside, total = 0, 0
    for seed in (0, 1, 3):
        runs = _runs(seed)
        report = optimal.validate(runs.n_params, runs.n_tokens, runs.loss, largest=20)
        assert not report.misspecified and report.warnings == (), report.warnings
        m = report.folds[0].metrics
        inside, total = inside + m["n_in_pi"], total + m["n"]
        assert m["coverage_p"] >= SIGNIFICANCE and m["bias_p"] >= SIGNIFICANCE
        assert 0.85 < m["expected_pi_coverage"] <= 1.0
    assert total == 60 and inside / total >= 0.85


def test_wrong_law_is_flagged():
    """Runs that repeat their data (Muennighoff et al. 2023's data-constrained law, its published fit, 2e9 unique
    tokens, up to 1000 epochs, 1% noise) fitted with the Chinchilla law on the runs below 20 epochs: Chinchilla
    expects every repeated token to help as a new one would, so for the runs beyond it predicts too low a loss
    (by ~2.5%, the size of error seen on real data), outside its intervals. (Each of seeds 0-3 gave P < 0.001 on
    both tests.)"""
    from optimal.baseline import data_constrained_log_loss
    from optimal.data.synthetic import MUENNIGHOFF_THETA

    rng = np.random.default_rng(0)
    n = np.exp(rng.uniform(np.log(1e7), np.log(1e9), N_RUNS))
    d = n * np.exp(rng.uniform(np.log(2), np.log(2000), N_RUNS))
    truth = data_constrained_log_loss(MUENNIGHOFF_THETA, np.log(n), np.log(d), np.log(np.full(N_RUNS, 2e9)))
    loss = np.exp(truth + 0.01 * rng.standard_normal(N_RUNS))
    report = optimal.validate(n, d, loss, holdout="D>=4e10")
    m = report.folds[0].metrics
    assert report.misspecified and m["flagged_coverage"] and m["flagged_bias"]
    assert m["bias"] < -0.015 and m["pi_coverage"] < 0.75 < m["expected_pi_coverage"]
    assert len(report.warnings) == 1 and "probably misspecified" in report.warnings[0]
    assert "too low a loss" in report.warnings[0]
    assert report.to_dict()["misspecified"] is True


def test_holdout_fold_fits_the_kept_runs_and_predicts_the_rest():
    runs = _runs(0)
    c = 6 * runs.n_params * runs.n_tokens
    cut = float(np.quantile(c, 0.8))
    report = optimal.validate(runs.n_params, runs.n_tokens, runs.loss, holdout=f"C>={cut!r}")
    fold = report.folds[0]
    held = c >= cut
    assert fold.held_out.tolist() == np.flatnonzero(held).tolist()
    np.testing.assert_array_equal(fold.actual, runs.loss[held])
    # the fold's fit is the fit of the kept runs alone (held-out rows at weight 0 change nothing)
    alone = optimal.fit(runs.n_params[~held], runs.n_tokens[~held], runs.loss[~held])
    for name, value in alone.params.items():
        assert fold.fit.params[name] == pytest.approx(value, rel=1e-5), name
    assert fold.fit.n_rows == int((~held).sum()) and len(fold.fit.data[0]) == fold.fit.n_rows
    same = optimal.validate(runs.n_params, runs.n_tokens, runs.loss, holdout=held)
    assert same.folds[0].metrics == fold.metrics
    records = fold.records()
    assert records[0]["rel_error"] == pytest.approx(records[0]["predicted"] / records[0]["loss"] - 1)


def test_largest_and_rolling_folds():
    runs = _runs(1)
    c = 6 * runs.n_params * runs.n_tokens
    report = optimal.validate(runs.n_params, runs.n_tokens, runs.loss, largest=7)
    assert sorted(report.folds[0].held_out.tolist()) == sorted(np.argsort(-c)[:7].tolist())
    assert report.folds[0].cutoff == pytest.approx(np.sort(c)[-7])
    rolling = optimal.validate(runs.n_params, runs.n_tokens, runs.loss, rolling=3)
    cutoffs = [f.cutoff for f in rolling.folds]
    assert len(cutoffs) == 3 and cutoffs == sorted(cutoffs)
    for fold in rolling.folds:
        assert np.all(fold.compute >= fold.cutoff) and len(fold.held_out) == int(np.sum(c >= fold.cutoff))
        assert np.all(6 * fold.fit.data[0] * fold.fit.data[1] < fold.cutoff)
    # the first default cut-off has half the runs below it
    assert int(np.sum(c < cutoffs[0])) == N_RUNS // 2


def _prediction(loss, half_ci, half_pi, se=0.01, scale=0.02):
    loss = np.asarray(loss, float)
    return Prediction(loss, loss, loss, loss * np.exp(-half_ci), loss * np.exp(half_ci), loss * np.exp(-half_pi),
                      loss * np.exp(half_pi), np.full(loss.shape, se), scale, 50, 0.95, "linearised", 0, {})


def test_fold_metrics_by_hand():
    pred = _prediction([2.0, 2.0, 2.0, 2.0], 0.01, 0.05)
    actual = np.array([2.0, 2.0 * np.exp(0.03), 2.0 * np.exp(-0.2), 2.2])
    zero = np.zeros((100, 4))
    m = fold_metrics(pred, actual, 0.95, zero, np.array([-0.02, 0.0, 0.02]))
    rel = 2.0 / actual - 1
    assert m["n_in_ci"] == 1 and m["n_in_pi"] == 2 and m["pi_coverage"] == 0.5
    assert m["bias"] == pytest.approx(np.mean(rel)) and m["max_abs_rel_error"] == pytest.approx(np.max(np.abs(rel)))
    # residuals of +-0.02 never leave the +-0.05 interval: a right law would hold all 4, so 2 of 4 is flagged
    assert m["expected_pi_coverage"] == 1.0 and m["coverage_p"] == 0.0 and m["flagged_coverage"] and m["flagged"]
    # runs exactly on the point are never flagged: predicted to rounding, no test is run
    ok = fold_metrics(pred, np.full(4, 2.0), 0.95, zero, np.array([-0.02, 0.0, 0.02]))
    assert not ok["flagged"] and ok["coverage_p"] is None and ok["bias_p"] is None
    # an infinitely uncertain mean (a direction the runs do not determine) is never flagged
    assert not fold_metrics(pred, actual, 0.95, np.full((10, 4), np.inf), np.array([0.0]))["flagged"]


def test_bad_requests_are_named():
    runs = _runs(0)
    args = (runs.n_params, runs.n_tokens, runs.loss)
    with pytest.raises(optimal.DataError, match="exactly one of holdout"):
        optimal.validate(*args)
    with pytest.raises(optimal.DataError, match="exactly one of holdout.*got holdout, largest"):
        optimal.validate(*args, holdout="N>1e9", largest=3)
    with pytest.raises(optimal.DataError, match="names no column 'dataset'; it can name N, D, C, loss"):
        optimal.validate(*args, holdout="dataset=web")
    with pytest.raises(optimal.DataError, match="holds out no run"):
        optimal.validate(*args, holdout="N>1e30")
    with pytest.raises(optimal.DataError, match=r"leaves 0 runs to fit; the law's 5 free coefficients need at least 6"):
        optimal.validate(*args, holdout="N>1")
    with pytest.raises(optimal.DataError, match=r"largest \(runs held out\) must be an integer from 1 to 119"):
        optimal.validate(*args, largest=N_RUNS)
    with pytest.raises(optimal.DataError, match="leaves 0 runs to fit"):
        optimal.validate(*args, rolling=[1.0])
    with pytest.raises(optimal.DataError, match="not a row filter"):
        optimal.validate(*args, holdout="C=>1e20")
    with pytest.raises(optimal.DataError, match="bool mask of one value per run"):
        optimal.validate(*args, holdout=np.ones(3, bool))
    with pytest.raises(optimal.OptimalError, match="confidence must be between 0 and 1"):
        optimal.validate(*args, largest=3, confidence=1.0)
    with pytest.raises(optimal.OptimalError, match="n_resamples must be an integer"):
        optimal.validate(*args, largest=3, n_resamples=1)


def test_columns_can_name_the_holdout():
    runs = _runs(0)
    labels = np.where(np.arange(N_RUNS) % 4 == 0, "big", "small")
    report = optimal.validate(runs.n_params, runs.n_tokens, runs.loss, holdout="Kind = big", columns={"kind": labels})
    assert report.folds[0].held_out.tolist() == np.flatnonzero(labels == "big").tolist()


def test_epoch_five_largest(epoch_runs):
    """Epoch AI's Chinchilla rows, the 5 largest-compute runs held out: the law extrapolates them within a few
    percent (what is robust to assert; the flags are reported, not asserted)."""
    report = optimal.validate(epoch_runs.n_params, epoch_runs.n_tokens, epoch_runs.loss, largest=5)
    m = report.folds[0].metrics
    assert m["n"] == 5 and report.folds[0].fit.n_rows == len(epoch_runs.loss) - 5
    assert m["mean_abs_rel_error"] < 0.05 and m["max_abs_rel_error"] < 0.1


def test_validate_groups_is_validate_of_each_groups_rows():
    """One validation per group: each group's is validate of its rows alone, the held-out runs indexed in the
    caller's arrays."""
    one, two = _runs(0), _runs(1)  # groups of N_RUNS rows: the fits' compiled program is the other tests'
    runs = type(one)(*(np.concatenate([x, y]) for x, y in zip(one[:4], two[:4])), None)
    labels = np.repeat(["b", "a"], N_RUNS)
    found = optimal.validate_groups(runs.n_params, runs.n_tokens, runs.loss, groups=labels, largest=5)
    assert found.labels == ("a", "b") and [g["group"] for g in found.to_dict()["groups"]] == ["a", "b"]
    for label in found.labels:
        mask = labels == label
        alone = optimal.validate(runs.n_params[mask], runs.n_tokens[mask], runs.loss[mask], largest=5).folds[0]
        fold = found[label].folds[0]
        assert fold.metrics == alone.metrics and fold.fit.params == alone.fit.params
        assert fold.held_out.tolist() == np.flatnonzero(mask)[alone.held_out].tolist()
        assert np.all(labels[fold.held_out] == label)
    assert len(found.as_one().folds) == 2 and found.as_one().folds[1].label.startswith("[group b] ")


def test_clusters_are_each_folds_bootstrap_unit(monkeypatch):
    """clusters reach every fold's bootstrap as the labels of its fitted runs (whole clusters resampled)."""
    import optimal.analysis.validate as validation

    seen = []

    class Bootstrapped(Exception):
        pass

    def spy(result, **options):
        seen.append((result.n_rows, options.get("groups")))
        raise Bootstrapped

    monkeypatch.setattr(validation, "bootstrap", spy)
    runs = _runs(1)
    clusters = np.asarray([f"config {i // 4}" for i in range(N_RUNS)])  # 30 configs of 4 runs
    with pytest.raises(Bootstrapped):
        optimal.validate(runs.n_params, runs.n_tokens, runs.loss, largest=8, n_resamples=4, clusters=clusters)
    (n_rows, groups), = seen
    c = 6 * runs.n_params * runs.n_tokens
    kept = np.ones(N_RUNS, bool)
    kept[np.argsort(-c, kind="stable")[:8]] = False
    assert n_rows == N_RUNS - 8 and groups is not None and len(groups) == n_rows
    ids = {label: i for i, label in enumerate(sorted(set(clusters)))}
    assert list(groups) == [ids[label] for label in clusters[kept]]
    with pytest.raises(optimal.DataError, match="clusters are the bootstrap's resampling unit: give n_resamples"):
        optimal.validate(runs.n_params, runs.n_tokens, runs.loss, largest=8, clusters=clusters)


def test_scale_test_flags_errors_far_larger_than_the_residuals():
    # 13 held-out runs with errors of mixed sign and no bias, 4x the fitted residuals' scale, inside a wide prediction
    # interval: neither the coverage nor the bias test sees them; the scale test does, and says by how much
    rng = np.random.default_rng(0)
    residuals = 0.01 * rng.standard_normal(60)
    pred = _prediction(np.full(13, 2.0), 0.01, 0.5)
    errors = 0.04 * np.where(np.arange(13) % 2 == 0, 1.0, -1.0)
    errors -= errors.mean()
    m = fold_metrics(pred, 2.0 * np.exp(errors), 0.95, np.zeros((200, 13)), residuals)
    assert not m["flagged_coverage"] and not m["flagged_bias"]
    assert m["flagged_scale"] and m["flagged"] and m["scale_p"] < SCALE_SIGNIFICANCE
    rms = np.sqrt(np.mean(np.log(2.0 / (2.0 * np.exp(errors))) ** 2)) / np.sqrt(np.mean(residuals ** 2))
    assert m["rms_ratio"] == pytest.approx(rms) and m["rms_ratio"] > m["rms_ratio_bound"] > m["expected_rms_ratio"]
    assert "times the fitted runs' residual scale" in misspecification_messages(m, 0.95)[0]


def test_scale_test_is_silent_on_errors_like_the_residuals():
    # held-out errors drawn from the residuals (plus a shared fit error) are what a right law gives: no flag over 20
    # folds (the test's level is 0.001), and the expected ratio is near 1
    rng = np.random.default_rng(1)
    residuals = 0.01 * rng.standard_normal(60)
    pred = _prediction(np.full(13, 2.0), 0.01, 0.5)
    shared = 0.003 * rng.standard_normal((400, 1)) * np.ones((1, 13))
    for _ in range(20):
        actual = 2.0 * np.exp(rng.choice(residuals, 13) + 0.003 * rng.standard_normal())
        m = fold_metrics(pred, actual, 0.95, shared, residuals)
        assert not m["flagged_scale"], m
        assert 0.9 < m["expected_rms_ratio"] < 1.3


def _standardised(x):
    return (x - x.mean()) / x.std()


def test_lack_of_fit_sees_a_trend_with_a_column_the_law_ignores():
    """Right-law runs whose loss rises 3% per e-fold of a per-run "epochs" column the law does not read (as repeated
    data raise it): the trend test flags it, names the column and estimates the slope; the same column on the
    unchanged runs (a placebo) is not flagged. The held-out tests' numbers do not change with the new test."""
    runs = _runs(2)
    epochs = np.exp(np.random.default_rng(5).uniform(0, np.log(40), N_RUNS))
    raised = runs.loss * np.exp(0.03 * np.log(epochs))
    report = optimal.validate(runs.n_params, runs.n_tokens, raised, largest=10, columns={"epochs": epochs},
                              against="Epochs")
    trend = report.lack_of_fit["trend"]
    assert trend["flagged"] and trend["p"] < LACK_OF_FIT_SIGNIFICANCE and trend["column"] == "epochs"
    assert trend["log"] and 0.02 < trend["slope"] < 0.04 and trend["explained"] > 5 * trend["expected"]
    assert report.misspecified and any("residuals trend with epochs" in w for w in report.warnings)
    assert "residuals trend with ln epochs" in report.summary()
    assert report.to_dict()["lack_of_fit"]["trend"]["flagged"] is True
    without = optimal.validate(runs.n_params, runs.n_tokens, raised, largest=10, simulations=0)
    assert without.lack_of_fit is None and without.folds[0].metrics == report.folds[0].metrics
    placebo = optimal.validate(runs.n_params, runs.n_tokens, runs.loss, largest=10, columns={"epochs": epochs},
                               against="epochs")
    assert not placebo.lack_of_fit["flagged"] and placebo.lack_of_fit["trend"]["p"] > 0.05


def test_lack_of_fit_sees_a_bend_no_power_law_takes_up():
    """Right-law runs with a log-loss term 0.02 x w^2, w = ln(D / N) standardised (runs far from their best
    tokens per parameter either way lose more than the law allows): a sum of a power law in N and one in D cannot
    bend so. The curvature test flags it (explained 0.51 against a median 0.014); the held-out tests do not."""
    runs = _runs(3)
    w = _standardised(np.log(runs.n_tokens / runs.n_params))
    bent = runs.loss * np.exp(0.02 * w * w)
    report = optimal.validate(runs.n_params, runs.n_tokens, bent, largest=10)
    assert not report.folds[0].metrics["flagged"]
    curvature = report.lack_of_fit["curvature"]
    assert curvature["flagged"] and report.lack_of_fit["trend"] is None and report.misspecified
    assert any("bend in ln N and ln D" in w for w in report.warnings)


def test_explained_share_by_hand():
    """The statistic is the R^2 of a weighted least-squares regression on the basis and an intercept (rows of
    weight 0 left out), for one residual vector or a stack of them."""
    rng = np.random.default_rng(0)
    basis, r = rng.standard_normal((30, 3)), rng.standard_normal((4, 30))
    w = np.where(np.arange(30) < 25, rng.uniform(0.5, 2.0, 30), 0.0)
    keep, root = w > 0, np.sqrt(w[w > 0])
    x = np.column_stack([np.ones(25), basis[keep]])
    for i in range(4):
        coef = np.linalg.lstsq(x * root[:, None], r[i, keep] * root, rcond=None)[0]
        mean = np.sum(w[keep] * r[i, keep]) / np.sum(w[keep])
        r2 = 1 - np.sum(w[keep] * (r[i, keep] - x @ coef) ** 2) / np.sum(w[keep] * (r[i, keep] - mean) ** 2)
        assert explained_share(r[i], w, basis) == pytest.approx(r2)
        assert explained_share(r, w, basis)[i] == pytest.approx(r2)


def test_lack_of_fit_bad_requests_are_named():
    runs = _runs(0)
    args = (runs.n_params, runs.n_tokens, runs.loss)
    with pytest.raises(optimal.DataError, match="against names no column 'epochs'; it can name N, D, C, loss"):
        optimal.validate(*args, largest=3, against="epochs")
    with pytest.raises(optimal.DataError, match="column 'epochs' is 1 for every run: no trend"):
        optimal.validate(*args, largest=3, columns={"epochs": np.ones(N_RUNS)}, against="epochs")
    with pytest.raises(optimal.DataError, match="column 'kind' must hold numbers"):
        optimal.validate(*args, largest=3, columns={"kind": np.full(N_RUNS, "web")}, against="kind")
    with pytest.raises(optimal.DataError, match=r"simulations \(0, or at least 100\) must be an integer from 100"):
        optimal.validate(*args, largest=3, simulations=50)
    with pytest.raises(optimal.DataError, match="give simulations"):
        optimal.validate(*args, largest=3, columns={"e": np.arange(1.0, N_RUNS + 1)}, against="e", simulations=0)


def test_repeated_data_is_counted_as_misspecified_by_design():
    """Right-law runs whose unique_tokens column says the 20 runs with the most tokens repeat their data: the
    losses cannot show it (they are unchanged), the design check does: misspecified, its warning and JSON key, the
    folds unflagged. U >= D on every run: checked and silent. A law that reads U: no check."""
    runs = _runs(4)
    u = np.full(N_RUNS, np.sort(runs.n_tokens)[-21])
    report = optimal.validate(runs.n_params, runs.n_tokens, runs.loss, largest=10, columns={"unique_tokens": u},
                              simulations=0)
    assert not report.folds[0].metrics["flagged"] and report.misspecified
    assert [w.code for w in report.warnings] == ["repeated-data"] and "20 of 120 runs" in report.warnings[0]
    found = report.to_dict()["repeated_data"]
    assert found["flagged"] and found["n_repeated"] == 20 and found["column"] == "unique_tokens"
    assert "MISSPECIFIED by design" in report.summary()
    fresh = optimal.validate(runs.n_params, runs.n_tokens, runs.loss, largest=10,
                             columns={"unique_tokens": runs.n_tokens * 2}, simulations=0)
    assert not fresh.misspecified and fresh.repeated_data["n_repeated"] == 0 and not fresh.warnings


@pytest.mark.slow  # 100 simulated refits for the trend test: several seconds
def test_trend_against_epochs_runs_by_itself_on_a_repeat_mixed_set():
    """Every run its own unique data (epochs 1-40) raising the loss 3% per e-fold of epochs, the unique_tokens
    column given and no against: the trend test runs against max(1, D / U) by itself (a note says so) and flags it.
    An explicit against still tests the column it names."""
    runs = _runs(2)
    epochs = np.exp(np.random.default_rng(5).uniform(0, np.log(40), N_RUNS))
    raised = runs.loss * np.exp(0.03 * np.log(epochs))
    columns = {"unique_tokens": runs.n_tokens / epochs, "noise": np.random.default_rng(6).uniform(1, 2, N_RUNS)}
    report = optimal.validate(runs.n_params, runs.n_tokens, raised, largest=10, columns=columns, simulations=100)
    trend = report.lack_of_fit["trend"]
    assert trend["column"] == "epochs" and trend["flagged"] and 0.02 < trend["slope"] < 0.04
    assert any("trend test was run against epochs = max(1, D / unique_tokens)" in n for n in report.notes)
    named = optimal.validate(runs.n_params, runs.n_tokens, raised, largest=10, columns=columns, against="noise",
                             simulations=100)
    assert named.lack_of_fit["trend"]["column"] == "noise"
    assert not any("trend test was run" in n for n in named.notes)

