"""The IsoFLOP bootstrap's calibrated interval (``interval="calibrated"``: the percentile interval at levels
calibrated by a second-level wild bootstrap of each draw) against two nested plain loops over the resamples, its
levels nominal when the second level says the percentile interval is right, failures at the second level counted
against both ends, and the few-draws warning."""

import dataclasses
import math
import warnings

import numpy as np
import pytest

import optimal
from optimal.analysis import isoflop as iso
from optimal.analysis.isoflop import calibrated_levels, calibration_shares, counted_interval
from optimal.errors import OptimalError

E, A, B, ALPHA, BETA = 1.69, 406.4, 410.7, 0.34, 0.28  # Hoffmann et al. 2022's rounded law, as in the benchmark


def _grid(budgets, n_sizes, width, noise, seed, drift=0.0):
    """An IsoFLOP grid in plain NumPy (no JAX to compile: these tests stay fast): at each budget C (FLOPs), sizes
    evenly spaced in log N over ``width`` decades centred on the law's N*(C), moved by ``drift`` decades per decade
    of C; D = C / (6 N); loss times exp(noise x standard normal). Returns N, D, loss (n,)."""
    budgets = np.asarray(budgets, dtype=np.float64)
    optimum = (ALPHA * A / (BETA * B)) ** (1 / (ALPHA + BETA)) * (budgets / 6) ** (BETA / (ALPHA + BETA))
    centre = np.log10(optimum) + drift * np.log10(budgets / budgets[0])
    n = 10 ** (centre[:, None] + np.linspace(-width / 2, width / 2, n_sizes)[None, :])
    d = budgets[:, None] / (6 * n)
    loss = (E + A / n**ALPHA + B / d**BETA) * np.exp(noise * np.random.default_rng(seed).normal(size=n.shape))
    return n.ravel(), d.ravel(), loss.ravel()


def like_88(noise, seed=2):
    """The shape of issue 21's 88 real runs: 12 budgets 6e18-3e21, 7 sizes over 1.2 decades, drifting -0.2."""
    return _grid(np.geomspace(6e18, 3e21, 12), 7, 1.2, noise, seed, drift=-0.2)


def _tiny():
    """4 budgets: 3 with 5 sizes (noisy enough that some redrawn parabolas have no minimum) and one with 3 sizes (its
    runs lie on their parabola: the pooled residual sd stands in for theirs), unequal weights."""
    five, three = _grid((1e18, 1e19, 1e20), 5, 0.8, 0.004, 3), _grid((1e21,), 3, 1.0, 0.004, 4)
    n, d, loss = (np.r_[a, b] for a, b in zip(five, three))
    weights = np.random.default_rng(9).uniform(0.5, 2.0, len(n))
    return n, d, loss, weights


# --- the reference: plain loops, one resample at a time --------------------------------------------------------

def _fit(x, y, w):
    """One weighted parabola (np.polyfit in x - mean): fitted losses, leverages, vertex (NaN without a minimum)."""
    xm = x.mean()
    t = x - xm
    c = np.polyfit(t, y, 2, w=np.sqrt(w))
    design = np.stack([np.ones_like(t), t, t * t], axis=1)
    hat = np.sqrt(w)[:, None] * design @ np.linalg.inv(design.T @ (w[:, None] * design)) @ design.T * np.sqrt(w)
    return np.polyval(c, t), np.diag(hat), (xm - c[1] / (2 * c[0]) if c[0] > 0 else np.nan)


def _redraw(budgets, ys, signs):
    """One wild resample: per budget, fitted + sign x HC2 residual (a run on its parabola: the budget's residual sd,
    or with no residual degree of freedom the pooled one)."""
    fits = [_fit(x, y, w) for (x, w, _), y in zip(budgets, ys)]
    pooled = math.sqrt(sum(np.sum(w * (y - f[0]) ** 2) for (_, w, _), y, f in zip(budgets, ys, fits))
                       / sum(len(x) - 3 for x, _, _ in budgets))
    out = []
    for (x, w, rows), y, (fitted, h, _) in zip(budgets, ys, fits):
        dof = len(x) - 3
        scale = math.sqrt(np.sum(w * (y - fitted) ** 2) / dof) if dof > 0 else pooled
        new = np.empty(len(x))
        for i in range(len(x)):
            free = 1 - h[i] > 1e-9
            new[i] = fitted[i] + signs[rows[i]] * ((y[i] - fitted[i]) / math.sqrt(1 - h[i]) if free
                                                   else scale / math.sqrt(w[i]))
        out.append(new)
    return out


def _estimate(budgets, log_c, ys):
    vertices = np.array([_fit(x, y, w)[2] for (x, w, _), y in zip(budgets, ys)])
    ok = np.isfinite(vertices)
    if ok.sum() < 2:
        return np.nan, np.nan, vertices
    a, log_g = np.polyfit(log_c[ok], vertices[ok], 1)
    return a, log_g, vertices


def test_calibrated_interval_matches_two_nested_loops(monkeypatch):
    n, d, loss, weights = _tiny()
    n_draws, inner, seed = 6, 7, 11
    monkeypatch.setattr(iso, "INNER_RESAMPLES", inner)
    monkeypatch.setattr(iso, "CHUNK_ELEMENTS", 1)  # one first-level draw per chunk: chunks give the same signs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        found = optimal.isoflop(n, d, loss, weights, n_resamples=n_draws, seed=seed, parametric=False,
                                interval="calibrated")
    assert len(found.accepted) == 4
    cal = found.bootstrap["calibration"]
    # the reference: the same signs (first level: one int8 draw per run and resample; then the second level's bits)
    ids = iso.group_budgets(6 * n * d)[0]
    budgets = [(np.log(n[ids == g]), weights[ids == g], np.flatnonzero(ids == g)) for g in range(4)]
    log_c = np.log([p.compute for p in found.accepted])
    rng = np.random.default_rng(seed)
    signs = rng.integers(0, 2, size=(n_draws, len(n)), dtype=np.int8) * 2.0 - 1.0
    second = iso.second_level_bits(rng, n_draws, inner, len(n)) * 2.0 - 1.0
    data = [loss[ids == g] for g in range(4)]
    a_hat, _, points = _estimate(budgets, log_c, data)
    a1, a2, lg2 = np.empty(n_draws), np.empty((n_draws, inner)), np.empty((n_draws, inner))
    v2 = np.empty((n_draws, inner, 4))
    for b in range(n_draws):
        drawn = _redraw(budgets, data, signs[b])
        a1[b] = _estimate(budgets, log_c, drawn)[0]
        for j in range(inner):
            a2[b, j], lg2[b, j], v2[b, j] = _estimate(budgets, log_c, _redraw(budgets, drawn, second[b, j]))
    np.testing.assert_allclose(found.bootstrap["a"], a1, rtol=0, atol=1e-12)
    np.testing.assert_allclose(cal["a"], a2, rtol=0, atol=1e-12)
    centre = log_c.mean()  # ln G itself sits ~45 (ln C) from the budgets: the line where they are
    np.testing.assert_allclose(cal["log_g"] + cal["a"] * centre, lg2 + a2 * centre, rtol=0, atol=1e-12)
    assert np.isnan(v2).any() and np.isfinite(a1).all()  # the case has second-level failures, and every line

    def shares(values, point):  # failures: above the point for the lower end, at or below it for the upper
        low = [(sum(v < point for v in row) + 0.5 * sum(v == point for v in row)) / inner for row in values]
        return np.array(low), np.array(low) + np.isnan(values).sum(axis=1) / inner

    np.testing.assert_array_equal(np.stack(cal["n_opt_shares"]),
                                  np.stack([np.stack([shares(v2[:, :, g], points[g])[k] for g in range(4)], axis=1)
                                            for k in range(2)]))
    low, high = shares(a2, a_hat)
    q_lo, q_hi = np.quantile(low, 0.025), np.quantile(high, 0.975)
    answer = found.to_dict()["approach2"]["bootstrap"]
    assert answer["interval_method"] == "calibrated" and answer["inner_resamples"] == inner
    assert [answer["a"]["lo"], answer["a"]["hi"]] == pytest.approx(np.percentile(a1, [100 * q_lo, 100 * q_hi]),
                                                                   rel=0, abs=1e-12)
    low, high = shares(1 - a2, 1 - a_hat)
    assert [answer["b"]["lo"], answer["b"]["hi"]] == pytest.approx(
        np.percentile(1 - a1, [100 * np.quantile(low, 0.025), 100 * np.quantile(high, 0.975)]), rel=0, abs=1e-12)
    top = found.comparison()[-1]  # N*(C) at 100 x the largest budget, in ln N
    log_top, point = math.log(top["compute"]), math.log(top["approach2"]["N"])
    low, high = shares(lg2 + a2 * log_top, point)
    ends = np.percentile(found.bootstrap["log_g"] + a1 * log_top,
                         [100 * np.quantile(low, 0.025), 100 * np.quantile(high, 0.975)])
    interval = top["approach2"]["N_interval"]
    assert np.log([interval["lo"], interval["hi"]]) == pytest.approx(ends, rel=0, abs=1e-11)  # 10 ln C beyond


def test_second_level_shares_spread_evenly_give_the_nominal_levels():
    even = np.linspace(0.0, 1.0, 2001)
    assert calibrated_levels(even, even, 0.95) == pytest.approx((0.025, 0.975), rel=0, abs=1e-12)
    draws = np.random.default_rng(1).normal(size=400)
    assert counted_interval(draws, 0.95, levels=(0.025, 0.975)) == pytest.approx(counted_interval(draws, 0.95),
                                                                                   rel=1e-12)
    # through the result: second-level exponents whose shares below the point run evenly from 0 to 1 make the
    # calibrated interval of a the percentile one
    runs = like_88(0.005)
    found = optimal.isoflop(*runs, n_resamples=50, seed=1, parametric=False, interval="percentile")
    b = np.arange(50)[:, None]
    second = found.exponent + np.where(np.arange(49)[None, :] < b, -1.0, 1.0)  # draw b: b of 49 below the point
    even = np.linspace(0.0, 1.0, 50)[:, None] * np.ones(len(found.accepted))
    calibrated = dataclasses.replace(found, bootstrap=found.bootstrap | {"interval_method": "calibrated", "calibration": {
        "inner": 49, "a": second, "log_g": second, "n_opt_shares": (even, even)}})
    assert calibrated.to_dict()["approach2"]["bootstrap"]["a"] == pytest.approx(
        found.to_dict()["approach2"]["bootstrap"]["a"], rel=1e-12)
    with pytest.raises(OptimalError, match="calibrated interval needs the second-level draws"):
        dataclasses.replace(found, bootstrap=found.bootstrap | {"interval_method": "calibrated"}).to_dict()


def test_second_level_failures_count_against_both_ends():
    low, high = calibration_shares(np.array([[1.0, 2.0, np.nan, 4.0], [0.0, 0.0, 0.0, 0.0]]), 2.0)
    assert low.tolist() == [0.375, 1.0] and high.tolist() == [0.625, 1.0]  # the point's tie counts half
    # failures widen both ends against leaving them out: draw b has b of its 7 successful second-level values
    # below the point, and 3 failed; left out, its share would be b / 7, and low <= b / 7 <= high
    b = np.arange(8)[:, None]
    second = np.where(np.arange(10)[None, :] < b, -1.0, 1.0)
    second[:, 7:] = np.nan
    low, high = calibration_shares(second, 0.0)
    assert (low <= b[:, 0] / 7).all() and (b[:, 0] / 7 <= high).all()
    dropped = calibrated_levels(b[:, 0] / 7, b[:, 0] / 7, 0.8)
    counted = calibrated_levels(low, high, 0.8)
    assert counted[0] < dropped[0] and counted[1] > dropped[1]
    # in the result: each budget's N_opt interval at the levels of its own shares, low for the lower end
    runs = like_88(0.01)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        found = optimal.isoflop(*runs, n_resamples=100, seed=0, parametric=False, interval="calibrated")
    low, high = found.bootstrap["calibration"]["n_opt_shares"]
    assert (high >= low).all() and (high - low)[:, 3].max() > 0  # budget 3: 10% of its parabolas fail there
    assert found.to_dict()["approach2"]["bootstrap"]["n_opt"][3] == {"compute": found.accepted[3].compute, **counted_interval(
        found.bootstrap["log_n_opt"][:, 3], 0.95, log=True, levels=calibrated_levels(low[:, 3], high[:, 3], 0.95))}
    # more than 1% of the resamples with a parabola without minimum: measured to make the calibration pull its ends
    # in too far, and said
    assert found.bootstrap["n_with_failure"] > 1 and "calibration" in [w.code for w in found.warnings]
    quiet = optimal.isoflop(*like_88(0.005), n_resamples=100, seed=0, parametric=False, interval="calibrated")
    assert quiet.bootstrap["n_with_failure"] <= 1 and "calibration" not in [w.code for w in quiet.warnings]


def test_few_draws_are_warned_about():
    runs = like_88(0.005)
    few = optimal.isoflop(*runs, n_resamples=8, seed=0, parametric=False)
    assert "few-draws" in [w.code for w in few.warnings]
    assert any("8 draws cannot support 95% intervals" in w.message for w in few.warnings)
    assert "few-draws" not in [w.code for w in optimal.isoflop(*runs, n_resamples=8, seed=0, confidence=0.75,
                                                               parametric=False).warnings]
