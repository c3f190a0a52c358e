"""IsoFLOP profiles (Approach 2) on IsoFLOP grids drawn from known Chinchilla laws: exact where symmetry makes the
parabola exact, biased where the derivation in ``optimal.analysis.isoflop`` says, refusals listed, a hand computation
matched, and the bootstrap reproducible and honest about failures."""

import math

import jax
import numpy as np
import pytest

import optimal
from optimal.errors import BudgetError, DataError, OptimalError
from optimal.analysis.isoflop import group_budgets
from optimal.laws import Chinchilla

BUDGETS = (1e18, 1e19, 1e20, 1e21)
SYMMETRIC = Chinchilla(E=1.8, A=480.0, B=2000.0, alpha=0.34, beta=0.34)
BETA_ABOVE = Chinchilla(E=1.8, A=480.0, B=2000.0, alpha=0.30, beta=0.40)
BETA_BELOW = Chinchilla(E=1.8, A=480.0, B=2000.0, alpha=0.34, beta=0.28)


def true_optimum(law, budgets):
    return np.asarray(optimal.closed_form(law, np.asarray(budgets, dtype=np.float64))[0])


def vertex_errors(found, law):
    """log10(N_opt / N*) per accepted budget, decades."""
    budgets = [p.compute for p in found.accepted]
    return np.log10(np.array([p.n_opt for p in found.accepted]) / true_optimum(law, budgets))


def test_symmetric_law_centred_grid_is_exact():
    # alpha = beta: the loss along an IsoFLOP line is E + P 2cosh(alpha u), even in u = ln(N/N*); on sizes placed
    # symmetrically about N* least squares gives the odd coefficient 0, so the vertex is N* up to rounding: the
    # parabola's own error is zero here, and the tolerance is rounding (c1 ~ 5, ln N ~ 20: ~1e-13 relative).
    found = optimal.isoflop(optimal.isoflop_runs(BUDGETS, SYMMETRIC, width_decades=2.0), parametric=False)
    assert len(found.accepted) == 4
    np.testing.assert_allclose(vertex_errors(found, SYMMETRIC), 0.0, atol=1e-9)
    assert found.exponent == pytest.approx(0.5, abs=1e-9)  # beta / (alpha + beta)
    assert found.tokens_exponent == pytest.approx(0.5, abs=1e-9)
    # D* = H C^b with H = 1 / (k G): D = C / (k N)
    assert found.tokens_coefficient == pytest.approx(1 / (6 * found.coefficient), rel=1e-12)
    for p in found.accepted:
        assert p.d_opt == pytest.approx(p.compute / (6 * p.n_opt), rel=1e-12)
        assert abs(p.offset_half_widths) < 1e-8 and p.width_decades == pytest.approx(2.0)
        assert p.curvature > 0 and p.n_sizes == 7 and p.n_runs == 7


def _vertex_se(log_n, loss, sigma):
    """The delta-method standard error of a parabola's vertex x* = -c1 / (2 c2) for independent loss errors sigma."""
    design = np.stack([np.ones_like(log_n), log_n, log_n**2], axis=1)
    coefficients, *_ = np.linalg.lstsq(design, loss, rcond=None)
    covariance = sigma**2 * np.linalg.inv(design.T @ design)
    _, c1, c2 = coefficients
    gradient = np.array([0.0, -1 / (2 * c2), c1 / (2 * c2**2)])
    return math.sqrt(gradient @ covariance @ gradient)


def test_noisy_vertices_scatter_by_the_parabolas_standard_error():
    # With noise the vertex errs by the parabola's statistical error: over 300 noisy copies of one budget, the vertices'
    # spread matches the delta-method standard error (within 15%: the sd of 300 draws is known to ~4%, the delta method
    # is first order) and their mean sits at N* (within 4 standard errors of the mean).
    noise = 0.003
    clean = optimal.isoflop_runs((1e19, 1e20), SYMMETRIC, n_sizes=9, width_decades=1.5)
    se = _vertex_se(np.log(clean.n_params[:9]), clean.loss[:9], noise * float(np.mean(clean.loss[:9])))
    errors = []
    for seed in range(300):
        runs = optimal.isoflop_runs((1e19, 1e20), SYMMETRIC, n_sizes=9, width_decades=1.5, noise=noise, seed=seed)
        errors.append(vertex_errors(optimal.isoflop(runs, parametric=False), SYMMETRIC)[0] * math.log(10))
    errors = np.asarray(errors)
    assert np.std(errors, ddof=1) == pytest.approx(se, rel=0.15)
    assert abs(np.mean(errors)) < 4 * se / math.sqrt(len(errors))


@pytest.mark.parametrize("law, sign", [(BETA_ABOVE, -1), (BETA_BELOW, +1)], ids=["beta>alpha", "beta<alpha"])
def test_asymmetric_law_biases_the_vertex_as_derived(law, sign):
    # f(u) = exp(-alpha u) + (alpha/beta) exp(beta u) has f''' (0) = alpha (beta - alpha)(beta + alpha): on a centred
    # grid least squares maps u^3 onto lambda u (lambda = mean u^4 / mean u^2), so the vertex sits at
    # u* ~ -(beta - alpha) lambda / 6: below N* (D_opt above D*) when beta > alpha. The cubic term is the leading one;
    # higher orders change it by a few percent at 2 decades, hence the 10% tolerance.
    width = 2.0
    runs = optimal.isoflop_runs(BUDGETS, law, width_decades=width)
    found = optimal.isoflop(runs, parametric=False)
    u = np.log(runs.n_params[:7]) - np.log(true_optimum(law, BUDGETS[:1])[0])
    lam = np.mean(u**4) / np.mean(u**2)
    predicted = -(law.beta - law.alpha) * lam / 6 / math.log(10)
    errors = vertex_errors(found, law)
    assert np.all(np.sign(errors) == sign)
    np.testing.assert_allclose(errors, predicted, rtol=0.10)
    d_star = np.asarray(optimal.closed_form(law, np.asarray(BUDGETS))[1])
    assert np.all(np.sign(np.array([p.d_opt for p in found.accepted]) / d_star - 1) == -sign)
    # a grid that keeps its place relative to N* errs by the same factor at every budget: G is off, a is not
    assert np.ptp(errors) < 1e-6
    assert found.exponent == pytest.approx(law.beta / (law.alpha + law.beta), abs=1e-5)


def test_fixed_sizes_bend_the_exponent():
    # The same sizes at every budget (a drift of -a relative to N*): the vertex error changes from budget to budget,
    # so the exponent is off, here by more than 0.01 (measured -0.035 for alpha = beta, 2 decades wide), and lower.
    runs = optimal.isoflop_runs(BUDGETS, SYMMETRIC, width_decades=2.0, drift=-0.5, offset_decades=0.75)
    found = optimal.isoflop(runs, parametric=False)
    assert len(found.accepted) == 4
    assert found.exponent - 0.5 < -0.01


@pytest.fixture(scope="module")
def asymmetric_with_parametric():
    """alpha = 0.30, beta = 0.40, sizes 2 decades wide, noise-free, with the parametric fit beside it; computed with
    JAX's float64 off, as the command line runs (the replay of the law must still be float64)."""
    runs = optimal.isoflop_runs(BUDGETS, BETA_ABOVE, width_decades=2.0)
    with jax.enable_x64(False):
        return optimal.isoflop(runs)


def test_parametric_fit_beside_it_and_the_asymmetry_warning(asymmetric_with_parametric):
    found = asymmetric_with_parametric
    codes = [w.code for w in found.warnings]
    assert "asymmetric" in codes and "bias" in codes
    assert "off-centre" not in codes and "drift" not in codes and "wide" not in codes
    p = found.parametric.params
    assert p["alpha"] == pytest.approx(0.30, rel=1e-3) and p["beta"] == pytest.approx(0.40, rel=1e-3)
    assert found.parametric_exponent == pytest.approx(0.4 / 0.7, abs=1e-4)
    # the replay of the parametric law (here the truth, recovered from noise-free runs to ~1e-15) predicts the vertex
    # errors seen, to float64 rounding (float32 arithmetic in the replay leaves ~6e-7: measured)
    np.testing.assert_allclose(found.predicted["vertex_decades"], vertex_errors(found, BETA_ABOVE), atol=1e-10)
    # the gap at the targets: Approach 2's N* is the biased one, below by the vertex error (~ -0.030 decades)
    rows = found.comparison()
    assert [r["compute"] for r in rows] == pytest.approx([1e21, 1e23], rel=1e-14)  # the default: the largest budget and 100 x it
    for r in rows:
        assert r["N_ratio"] == pytest.approx(10 ** float(np.mean(vertex_errors(found, BETA_ABOVE))), rel=1e-3)
        assert r["approach3"]["N"] == pytest.approx(float(true_optimum(BETA_ABOVE, [r["compute"]])[0]), rel=1e-3)
    assert found.to_dict()["exponent_difference"] == pytest.approx(found.exponent - found.parametric_exponent)


def test_symmetric_centred_grid_has_no_bias_warning():
    found = optimal.isoflop(optimal.isoflop_runs(BUDGETS, SYMMETRIC, width_decades=1.5))
    assert found.warnings == ()
    assert max(abs(v) for v in found.predicted["vertex_decades"]) < 1e-4


def test_off_centre_drifting_wide_grids_are_named():
    # 3 decades wide (>= 2.5), centred 0.9 decades above N* at the first budget and drifting 0.5 decades per decade
    runs = optimal.isoflop_runs(BUDGETS, SYMMETRIC, width_decades=3.0, offset_decades=-0.9, drift=0.5)
    found = optimal.isoflop(runs)
    codes = {w.code for w in found.warnings}
    assert {"off-centre", "drift", "wide"} <= codes
    assert "asymmetric" not in codes


def _hand_vertices(runs, ids):
    """np.polyfit per budget (loss against ln N), then np.polyfit through the vertices: an independent computation."""
    log_c, log_vertex = [], []
    for g in np.unique(ids):
        rows = ids == g
        c2, c1, _ = np.polyfit(np.log(runs.n_params[rows]), runs.loss[rows], 2)
        log_vertex.append(-c1 / (2 * c2))
        log_c.append(np.log(np.exp(np.mean(np.log(6 * runs.n_params[rows] * runs.n_tokens[rows])))))
    a, log_g = np.polyfit(log_c, log_vertex, 1)
    return np.asarray(log_vertex), a, log_g


def test_matches_a_hand_computation_with_numpy_polyfit():
    rng = np.random.default_rng(3)
    runs = optimal.isoflop_runs(BUDGETS, BETA_BELOW, n_sizes=6, width_decades=1.3, offset_decades=0.2, drift=0.1,
                                noise=0.004, seed=5)
    jitter = np.exp(rng.uniform(-0.2, 0.2, len(runs.loss)))  # uneven sizes; D follows so that k N D stays C
    runs = runs._replace(n_params=runs.n_params * jitter, n_tokens=runs.n_tokens / jitter)
    found = optimal.isoflop(runs, parametric=False)
    log_vertex, a, log_g = _hand_vertices(runs, runs.groups)
    assert len(found.accepted) == 4
    np.testing.assert_allclose(np.log([p.n_opt for p in found.accepted]), log_vertex, rtol=0, atol=1e-10)
    assert found.exponent == pytest.approx(a, abs=1e-10)
    assert math.log(found.coefficient) == pytest.approx(log_g, abs=1e-8)  # ln G ~ -5: 1e-10 relative of ln C ~ 45
    first = runs.groups == 0
    hand = np.polyfit(np.log(runs.n_params[first]), runs.loss[first], 2)[::-1]  # (c0, c1, c2)
    np.testing.assert_allclose(found.accepted[0].coefficients, hand, rtol=1e-9)  # c0 ~ 50 cancels to a loss ~ 3


def _with_budget(runs, n, loss, compute):
    """``runs`` plus one more budget's rows (N, loss) at ``compute`` FLOPs (k = 6)."""
    n = np.asarray(n, dtype=np.float64)
    return optimal.Runs(np.r_[runs.n_params, n], np.r_[runs.n_tokens, compute / (6 * n)], np.r_[runs.loss, loss],
                        np.ones(len(runs.loss) + len(n)), None)


def test_refusals_are_listed_warned_and_left_out():
    base = optimal.isoflop_runs(BUDGETS[:3], BETA_BELOW, noise=0.002, seed=2)
    # 1e21: every size far below N* (the loss still falls at the largest): the vertex is not interior
    off = optimal.isoflop_runs((1e21,), BETA_BELOW, width_decades=1.0, offset_decades=-1.5)
    runs = _with_budget(base, off.n_params, off.loss, 1e21)
    # 1e22: the loss curves downwards: no minimum
    sizes = np.geomspace(1e9, 1e11, 5)
    runs = _with_budget(runs, sizes, 2.2 - 0.01 * (np.log(sizes) - np.log(1e10)) ** 2, 1e22)
    # 1e23: two sizes only (three runs)
    runs = _with_budget(runs, [1e10, 1e10, 3e10], [2.1, 2.11, 2.05], 1e23)
    found = optimal.isoflop(runs, parametric=False)
    assert [p.compute for p in found.profiles] == pytest.approx([1e18, 1e19, 1e20, 1e21, 1e22, 1e23], rel=1e-12)
    assert [p.reason for p in found.profiles] == [None, None, None, "vertex not inside the sizes tried",
                                                  "curvature not positive (no minimum)", "fewer than 3 sizes"]
    assert [p.accepted for p in found.profiles] == [True, True, True, False, False, False]
    refused = [w.message for w in found.warnings if w.code == "refused"]
    assert len(refused) == 3 and any("1e+21" in m for m in refused) and any("1e+23" in m for m in refused)
    # the line goes through the three accepted vertices only
    log_vertex, a, _ = _hand_vertices(base, base.groups)
    assert found.exponent == pytest.approx(a, abs=1e-10)
    # refused budgets still say what was tried; the JSON lists them
    d = found.to_dict()
    assert [b["accepted"] for b in d["budgets"]] == [True, True, True, False, False, False]
    assert d["budgets"][5]["n_opt"] is None and d["budgets"][5]["n_sizes"] == 2


def test_too_few_accepted_budgets_is_an_error():
    off = optimal.isoflop_runs((1e19, 1e20), BETA_BELOW, width_decades=1.0, offset_decades=-1.5)
    with pytest.raises(DataError, match="need at least 2 budgets with an accepted IsoFLOP vertex.*not inside"):
        optimal.isoflop(off, parametric=False)


def test_bootstrap_is_reproducible_and_refits_every_parabola():
    runs = optimal.isoflop_runs(BUDGETS, BETA_BELOW, noise=0.005, seed=4, n_sizes=8)
    first = optimal.isoflop(runs, n_resamples=64, seed=7, parametric=False).bootstrap
    again = optimal.isoflop(runs, n_resamples=64, seed=7, parametric=False).bootstrap
    other = optimal.isoflop(runs, n_resamples=64, seed=8, parametric=False).bootstrap
    np.testing.assert_array_equal(first["a"], again["a"])
    np.testing.assert_array_equal(first["log_n_opt"], again["log_n_opt"])
    assert not np.allclose(first["a"], other["a"], equal_nan=True)
    # resample 0 by hand: the same draws (per budget, in budget order), np.polyfit on each, a line through them
    rng = np.random.default_rng(7)
    vertices = []
    for g in range(4):
        rows = np.flatnonzero(runs.groups == g)
        pick = rows[rng.integers(0, len(rows), size=(64, len(rows)))[0]]
        c2, c1, _ = np.polyfit(np.log(runs.n_params[pick]), runs.loss[pick], 2)
        vertices.append(-c1 / (2 * c2))
    assert np.all(np.isfinite(first["log_n_opt"][0]))  # with 8 sizes, resample 0 keeps every vertex
    np.testing.assert_allclose(first["log_n_opt"][0], vertices, atol=1e-9)
    a, _ = np.polyfit(np.log(BUDGETS), vertices, 1)
    assert first["a"][0] == pytest.approx(a, abs=1e-9)
    interval = optimal.isoflop(runs, n_resamples=64, seed=7, parametric=False).to_dict()["approach2"]["bootstrap"]["a"]
    assert interval["lo"] < interval["hi"]


def test_bootstrap_failures_are_counted_never_silent():
    # three sizes, one run each: a resample keeps all three only 6/27 of the time; the rest fail that budget
    sizes = np.geomspace(1e8, 1e10, 3)
    runs = optimal.Runs(np.r_[sizes, sizes * 3, sizes * 9], np.ones(9), np.ones(9), np.ones(9), None)
    for j, c in enumerate((1e19, 1e20, 1e21)):
        n = runs.n_params[3 * j:3 * j + 3]
        runs.n_tokens[3 * j:3 * j + 3] = c / (6 * n)
        runs.loss[3 * j:3 * j + 3] = 2.5 + 0.05 * (np.log(n) - np.log(n[1])) ** 2 - 0.1 * j
    found = optimal.isoflop(runs, n_resamples=200, seed=0, parametric=False)
    boot = found.bootstrap
    failed = ~np.isfinite(boot["log_n_opt"])
    assert boot["failed_by_budget"] == {c: int(n) for c, n in zip((1e19, 1e20, 1e21), failed.sum(axis=0))}
    assert 0.6 < failed.mean() < 0.95  # ~21/27 = 0.78 of the vertices fail
    assert boot["n_with_failure"] == int(failed.any(axis=1).sum())
    assert boot["n_failed"] == int((np.isfinite(boot["log_n_opt"]).sum(axis=1) < 2).sum()) > 0
    assert np.isnan(boot["a"]).sum() == boot["n_failed"]
    messages = [w.message for w in found.warnings if w.code == "bootstrap"]
    assert len(messages) == 2 and f"{boot['n_failed']} of 200 resamples kept fewer than 2 vertices" in messages[1]


def test_budgets_grouped_within_the_tolerance_or_from_a_compute_column():
    ids, budgets, spreads = group_budgets([1e19, 1.03e19, 0.99e19, 1e20, 1.2e20], 0.05)
    assert ids.tolist() == [0, 0, 0, 1, 2]
    assert budgets[0] == pytest.approx((1e19 * 1.03e19 * 0.99e19) ** (1 / 3)) and spreads[0] == pytest.approx(1.03 / 0.99 - 1)
    assert group_budgets([1e19, 1.03e19], 0.0)[0].tolist() == [0, 1]
    runs = optimal.isoflop_runs(BUDGETS, SYMMETRIC)
    jitter = np.exp(np.random.default_rng(0).uniform(-0.02, 0.02, len(runs.loss)))
    shifted = runs._replace(n_tokens=runs.n_tokens * jitter)  # k N D now off its budget by up to 2%
    assert len(optimal.isoflop(shifted, parametric=False).profiles) == 4
    with pytest.raises(DataError, match="got 0 of 25 budgets .tolerance 0.001; .* fewer than 3 sizes.*, \\.\\.\\.\\)"):
        optimal.isoflop(shifted, tolerance=0.001, parametric=False)  # every run its own budget; the list is cut short
    labelled = optimal.isoflop(shifted, compute=np.repeat(BUDGETS, 7), tolerance=0.0, parametric=False)
    assert [p.compute for p in labelled.profiles] == list(BUDGETS)


@pytest.mark.parametrize("tolerance", [-0.1, 1.0, float("nan"), "0.05", True])
def test_bad_tolerance(tolerance):
    with pytest.raises(OptimalError, match="tolerance must be a number from 0 up to"):
        optimal.isoflop(optimal.isoflop_runs(), tolerance=tolerance, parametric=False)


def test_bad_inputs_name_the_value():
    runs = optimal.isoflop_runs()
    with pytest.raises(DataError, match=r"compute must have one budget per run \(28\), got 3"):
        optimal.isoflop(runs, compute=[1e19, 1e20, 1e21], parametric=False)
    with pytest.raises(DataError, match="compute, index 2: -1.0 is not a positive"):
        optimal.isoflop(runs, compute=np.r_[1e19, 1e19, -1.0, np.full(25, 1e20)], parametric=False)
    with pytest.raises(BudgetError, match="target budget"):
        optimal.isoflop(runs, targets=[1e24, 0.0], parametric=False)
    with pytest.raises(OptimalError, match="n_resamples"):
        optimal.isoflop(runs, n_resamples=1, parametric=False)
    with pytest.raises(OptimalError, match="seed"):
        optimal.isoflop(runs, seed=-1, parametric=False)
    with pytest.raises(DataError, match="not positive"):
        optimal.isoflop([1e9, -1e9, 2e9], [1e10] * 3, [2.0] * 3, parametric=False)


def test_too_few_runs_for_the_parametric_fit_is_a_note_not_an_error():
    runs = optimal.isoflop_runs((1e19, 1e20), SYMMETRIC, n_sizes=3)  # 6 rows: the Chinchilla fit needs 10
    found = optimal.isoflop(runs)
    assert found.parametric is None and "parametric fit was not run" in found.parametric_note
    assert found.to_dict()["approach3"] is None and len(found.accepted) == 2
