"""The IsoFLOP bootstrap's studentized (bootstrap-t) interval (``interval="studentized"``): its delta-method
standard errors against the exact Jacobian (complex-step derivatives) of a plain re-implementation of Approach 2, the interval against a plain
loop over the resamples with the same signs, failures counted against both ends, and data with no residual to
studentize with (a named warning, the percentile interval, no NaN)."""

import math

import numpy as np
import pytest

import optimal
from optimal.analysis.isoflop import studentized_interval

E, A, B, ALPHA, BETA = 1.69, 406.4, 410.7, 0.34, 0.28  # Hoffmann et al. 2022's rounded law, as in the benchmark
BUDGETS = (1e18, 1e19, 1e20)
SIZES = 5
CLUSTERS = np.arange(len(BUDGETS) * SIZES) % 4  # 4 clusters, each across every budget


def _grid(noise, seed):
    """3 budgets x 5 sizes over 1.5 decades centred on the law's N*(C) (plain NumPy): N, D, loss (n,)."""
    budgets = np.asarray(BUDGETS)
    optimum = (ALPHA * A / (BETA * B)) ** (1 / (ALPHA + BETA)) * (budgets / 6) ** (BETA / (ALPHA + BETA))
    n = 10 ** (np.log10(optimum)[:, None] + np.linspace(-0.75, 0.75, SIZES)[None, :])
    d = budgets[:, None] / (6 * n)
    loss = (E + A / n**ALPHA + B / d**BETA) * np.exp(noise * np.random.default_rng(seed).normal(size=n.shape))
    return n.ravel(), d.ravel(), loss.ravel()


def _vertex(x, y):
    """A parabola's vertex in x by least squares, solved in the centred, scaled t (y may be complex)."""
    centre, half = 0.5 * (x.min() + x.max()), 0.5 * (x.max() - x.min())
    t = (x - centre) / half
    powers = np.stack([np.ones_like(t), t, t * t], axis=1)
    q = np.linalg.solve(powers.T @ powers, powers.T @ y)
    return centre - half * q[1] / (2 * q[2])


def _approach2(log_n, log_c, y):
    """Each budget's ln N_opt, then a and ln G of the line through them: (G + 2,)."""
    xs = np.stack([_vertex(log_n[g], y[g]) for g in range(len(log_c))])
    dx = log_c - log_c.mean()
    a = np.sum(dx * (xs - xs.mean())) / np.sum(dx * dx)
    return np.concatenate([xs, [a, xs.mean() - a * log_c.mean()]])


def _hc2(log_n, y):
    """Each budget's residuals over sqrt(1 - leverage) (G, m), from its own hat matrix."""
    out = []
    for x, v in zip(log_n, y):
        powers = np.stack([np.ones_like(x), x - x.mean(), (x - x.mean()) ** 2], axis=1)
        hat = powers @ np.linalg.solve(powers.T @ powers, powers.T)
        out.append((v - hat @ v) / np.sqrt(1 - np.diag(hat)))
    return np.array(out)


@pytest.fixture(scope="module")
def case():
    n, d, loss = _grid(0.005, seed=3)
    found = optimal.isoflop(n, d, loss, clusters=CLUSTERS, n_resamples=64, seed=5, parametric=False,
                            interval="studentized")
    log_n, y = np.log(n).reshape(len(BUDGETS), SIZES), loss.reshape(len(BUDGETS), SIZES)
    log_c = np.log([p.compute for p in found.profiles])
    step = 1e-30  # complex-step derivatives: exact to rounding (no difference of nearby values)
    jacobian = np.stack([_approach2(log_n, log_c, y + 1j * step * np.eye(y.size)[i].reshape(y.shape)).imag / step
                         for i in range(y.size)], axis=1)  # (G + 2, n): d(ln N_opt..., a, ln G) / d loss
    onehot = CLUSTERS[:, None] == np.arange(4)
    signs = np.array([-1.0, 1.0])[np.random.default_rng(5).integers(0, 2, size=(64, 4), dtype=np.int8)]
    adjusted = _hc2(log_n, y).ravel()
    fitted = loss - (adjusted * np.sqrt(1 - _leverage(log_n)))  # the data's parabolas' fitted losses
    drawn = fitted + signs[:, CLUSTERS] * adjusted  # (R, n): the wild draws, by hand
    return found, log_n, log_c, jacobian, onehot, adjusted, drawn


def _leverage(log_n):
    out = []
    for x in log_n:
        powers = np.stack([np.ones_like(x), x - x.mean(), (x - x.mean()) ** 2], axis=1)
        out.append(np.diag(powers @ np.linalg.solve(powers.T @ powers, powers.T)))
    return np.concatenate(out)


def _variance(row, noise, onehot):
    """sum over clusters of (sum of the cluster's runs' influence)^2: the cluster-robust sandwich."""
    return float(np.sum(((row * noise) @ onehot) ** 2))


def test_delta_variances_against_the_jacobian(case):
    # the data's and each draw's variances are J diag(e~) onehot summed and squared, J the exact Jacobian of a
    # plain Approach 2 at the data and e~ the row's own HC2 residuals: 1e-10 relative
    found, log_n, log_c, jacobian, onehot, adjusted, drawn = case
    point, draws = found.bootstrap["studentized"]["point"], found.bootstrap["studentized"]["draws"]
    for g in range(len(BUDGETS)):
        assert point["vertex"][0, g] == pytest.approx(_variance(jacobian[g], adjusted, onehot), rel=1e-10)
    a, log_g = jacobian[-2], jacobian[-1]
    assert point["a"][0] == pytest.approx(_variance(a, adjusted, onehot), rel=1e-10)
    assert point["log_g"][0] == pytest.approx(_variance(log_g, adjusted, onehot), rel=1e-10)
    assert point["a_log_g"][0] == pytest.approx(float(np.sum(((a * adjusted) @ onehot) * ((log_g * adjusted) @ onehot))),
                                                rel=1e-10)
    assert np.isfinite(found.bootstrap["a"]).all()  # no draw failed here: every draw's line has every budget
    for b in (0, 1, 63):
        own = _hc2(log_n, drawn[b].reshape(log_n.shape)).ravel()
        assert draws["a"][b] == pytest.approx(_variance(a, own, onehot), rel=1e-10)
        assert draws["vertex"][b, 1] == pytest.approx(_variance(jacobian[1], own, onehot), rel=1e-10)


def test_interval_against_a_loop(case):
    # the bootstrap-t interval of a, of one budget's N_opt and of N*(C) at the target, from draws refitted one at a
    # time and t quantiles taken by NumPy
    found, log_n, log_c, jacobian, onehot, adjusted, drawn = case
    answer = found.to_dict()["approach2"]["bootstrap"]
    rows = np.array([np.asarray(_approach2(log_n, log_c, v.reshape(log_n.shape))) for v in drawn])  # (R, G + 2)
    point = np.asarray(_approach2(log_n, log_c, found.data[2].reshape(log_n.shape)))
    target = math.log(found.targets[-1])
    for what, row_of, weights in (("a", lambda r: r[-2], jacobian[-2]),
                                  ("n_opt", lambda r: r[0], jacobian[0]),
                                  ("n_star", lambda r: r[-1] + target * r[-2], jacobian[-1] + target * jacobian[-2])):
        se = math.sqrt(_variance(weights, adjusted, onehot))
        t = [(row_of(r) - row_of(point)) / math.sqrt(_variance(weights, _hc2(log_n, v.reshape(log_n.shape)).ravel(),
                                                               onehot)) for r, v in zip(rows, drawn)]
        high, low = np.percentile(t, [97.5, 2.5])
        lo, hi = row_of(point) - high * se, row_of(point) - low * se
        if what == "a":
            got = answer["a"]
        elif what == "n_opt":
            got = answer["n_opt"][0]
            lo, hi = math.exp(lo), math.exp(hi)
        else:
            got = found.comparison()[-1]["approach2"]["N_interval"]
            lo, hi = math.exp(lo), math.exp(hi)
        assert (got["lo"], got["hi"]) == pytest.approx((lo, hi), rel=1e-9), what
    assert answer["interval_method"] == "studentized"


def test_failed_draws_count_against_both_ends():
    draws = np.r_[np.linspace(-1, 1, 97), np.nan, np.nan, np.nan]  # 3 of 100 failed: more than a 2.5% tail
    found = studentized_interval(draws, 0.0, np.ones(100), 1.0, 0.95)
    assert found["lo"] is None and found["hi"] is None
    one = studentized_interval(np.r_[np.linspace(-1, 1, 99), np.nan], 0.0, np.ones(100), 1.0, 0.95)
    whole = studentized_interval(np.linspace(-1, 1, 99), 0.0, np.ones(99), 1.0, 0.95)
    assert one["lo"] < whole["lo"] and one["hi"] > whole["hi"]  # one failure widens both ends
    scaleless = studentized_interval(np.r_[np.linspace(-1, 1, 99), 0.5], 0.0, np.r_[np.ones(99), 0.0], 1.0, 0.95)
    assert (scaleless["lo"], scaleless["hi"]) == (one["lo"], one["hi"])  # a draw with se 0 counts as a failure


def test_no_scale_warns_and_gives_the_percentile_interval():
    # losses exactly on a parabola in ln N at every budget: every residual is 0, so is every standard error; the
    # studentized interval is then the percentile one (the point), with a warning that names it, and no NaN
    log_n = np.log(np.geomspace(1e8, 1e10, 6))
    budgets = np.repeat([1e19, 1e20, 1e21], 6)
    vertex = np.repeat(np.log([1e9 * 10 ** -0.2, 1e9, 1e9 * 10 ** 0.2]), 6)
    x = np.tile(log_n, 3)
    loss = 2.0 + 0.05 * (x - vertex) ** 2
    found = optimal.isoflop(np.exp(x), budgets / (6 * np.exp(x)), loss, n_resamples=16, parametric=False,
                            interval="studentized")
    codes = [w.code for w in found.warnings]
    assert "studentized" in codes
    message = next(w.message for w in found.warnings if w.code == "studentized")
    assert "a (and b)" in message and "N_opt at 1e+19 FLOPs" in message
    answer = found.to_dict()["approach2"]["bootstrap"]
    assert answer["a"]["lo"] == pytest.approx(found.exponent, rel=1e-9) == answer["a"]["hi"]
    assert all(v is not None and math.isfinite(v) for n in answer["n_opt"] for v in (n["lo"], n["hi"]))
    plain = optimal.isoflop(np.exp(x), budgets / (6 * np.exp(x)), loss, n_resamples=16, parametric=False,
                            interval="percentile")
    assert "studentized" not in [w.code for w in plain.warnings]


@pytest.mark.parametrize("method, message", [("studentized", "needs the draws' standard errors"),
                                             ("auto", "needs the draws' standard errors"),
                                             ("calibrated", "needs the second-level draws")])
def test_an_interval_read_without_its_draws_says_how_to_get_them(method, message):
    import dataclasses

    found = optimal.isoflop(optimal.isoflop_runs(noise=0.005, seed=0), n_resamples=40, parametric=False,
                            interval="percentile")
    relabelled = dataclasses.replace(found, bootstrap=found.bootstrap | {"interval_method": method})
    with pytest.raises(optimal.OptimalError, match=f"{message}: run optimal.isoflop with interval='{method}'"):
        relabelled.to_dict()
