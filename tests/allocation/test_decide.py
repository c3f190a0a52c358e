"""Decisions under uncertainty (optimal.decide): the chosen N and the deadweight compute against an independent
NumPy/SciPy computation from the same draws, the rules' edge cases, and implicit gradients against finite
differences. Draws are made directly (a preset perturbed), not bootstrapped, to keep every test fast."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import brentq, minimize_scalar

import optimal
from optimal import OptimalError
from optimal.allocation.decide import ALLOCATIONS, deadweight, decision_log_params, parse_rule
from optimal.laws.chinchilla import CHINCHILLA

BUDGETS = np.array([1e21, 1e24])
K = 6.0


@pytest.fixture(scope="module")
def draws():
    """8 draws around Epoch's refit: log E, log A, log B and the exponents perturbed (alpha and beta by ~0.02, as a
    bootstrap of ~100 runs spreads them), and the preset itself as the point."""
    point = CHINCHILLA.to_fitting(optimal.preset("epoch2024")._asdict())
    rng = np.random.default_rng(0)
    thetas = point + rng.normal(0, [0.05, 0.3, 0.3, 0.02, 0.02], size=(8, 5))
    return np.asarray(thetas), np.asarray(point)


@pytest.fixture(scope="module")
def decisions(draws):
    thetas, point = draws
    return {rule: optimal.decide(thetas, BUDGETS, rule, point=point, params=3e9)
            for rule in ("plug-in", "expected-loss", "quantile:0.5", "quantile:0.9")}


def natural(theta):
    """(E, A, B, alpha, beta) of a fitting-space vector, in NumPy."""
    return np.exp(theta[0]), np.exp(theta[1]), np.exp(theta[2]), theta[3], theta[4]


def loss_on_line(theta, log_n, compute):
    """A draw's loss (nats) at N = exp(log_n), D = C / (6 N), in NumPy."""
    E, A, B, a, b = natural(theta)
    n = np.exp(log_n)
    return E + A / n**a + B / (compute / (K * n)) ** b


def optimal_loss(theta, compute):
    """A draw's own compute-optimal loss at C, from the closed form of N* (PITFALLS, Hoffmann et al. eq. 4)."""
    E, A, B, a, b = natural(theta)
    g = (a * A / (b * B)) ** (1 / (a + b))
    n = g * (compute / K) ** (b / (a + b))
    return loss_on_line(theta, np.log(n), compute)


def brute_force_log_n(thetas, compute, statistic):
    """The log N minimising ``statistic`` over draws of the loss: a dense grid, then SciPy's bounded Brent search
    in the grid's best cell."""
    grid = np.linspace(np.log(1e6), np.log(compute / K) - np.log(1e3), 4001)
    values = statistic(np.stack([loss_on_line(t, grid, compute) for t in thetas]))
    i = int(np.argmin(values))
    found = minimize_scalar(lambda u: statistic(np.array([loss_on_line(t, u, compute) for t in thetas])),
                            bounds=(grid[i - 1], grid[i + 1]), method="bounded", options={"xatol": 1e-10})
    return found.x


def brentq_deadweight(theta, log_n, compute):
    """1 - C'/C with C' from SciPy's brentq on log C of ``optimal_loss(C') = loss at the allocation``."""
    target = loss_on_line(theta, log_n, compute)
    if target <= optimal_loss(theta, compute):
        return 0.0
    log_c = brentq(lambda t: optimal_loss(theta, np.exp(t)) - target, np.log(compute) - 40, np.log(compute),
                   xtol=1e-14, rtol=1e-15)
    return 1 - np.exp(log_c - np.log(compute))


@pytest.mark.parametrize("rule, statistic", [("expected-loss", lambda v: np.mean(v, axis=0)),
                                             ("quantile:0.5", lambda v: np.quantile(v, 0.5, axis=0)),
                                             ("quantile:0.9", lambda v: np.quantile(v, 0.9, axis=0))])
def test_chosen_n_matches_brute_force(draws, decisions, rule, statistic):
    thetas, _ = draws
    d = decisions[rule]
    for j, c in enumerate(BUDGETS):
        expected = brute_force_log_n(thetas, c, statistic)
        # the objective is flat at its minimum: 1e-6 in log N is far below any grid or rule difference
        assert np.log(d.chosen_params[j]) == pytest.approx(expected, abs=1e-6)
        assert d.chosen_tokens[j] == pytest.approx(c / (K * d.chosen_params[j]), rel=1e-12)
        assert bool(d.converged[j])


def test_expected_loss_is_the_least_mean_loss(decisions):
    # the rule minimises the mean over draws: the chosen allocation's mean loss is at or below every other's
    d = decisions["expected-loss"]
    mean = np.nanmean(d.draw_loss, axis=0)  # (A, m)
    chosen = ALLOCATIONS.index("chosen")
    assert (mean[chosen] <= np.nanmin(mean, axis=0) + 1e-14).all()
    gap = [d.allocation(name, 1)["loss_gap_nats"] for name in ("plug-in", "chosen", "rule-of-thumb")]
    assert gap[1] <= min(gap)
    assert decisions["plug-in"].allocation("chosen", 1)["loss_gap_nats"] == gap[0]


def test_deadweight_matches_brentq(draws, decisions):
    thetas, _ = draws
    d = decisions["expected-loss"]
    for name in ("plug-in", "chosen", "rule-of-thumb", "given"):
        i = ALLOCATIONS.index(name)
        for j, c in enumerate(BUDGETS):
            expected = [brentq_deadweight(t, np.log(d.n_params[i, j]), c) for t in thetas]
            np.testing.assert_allclose(d.deadweight[:, i, j], expected, rtol=1e-7, atol=1e-12)
            a = d.allocation(name, j)
            assert a["deadweight"]["median"] == pytest.approx(np.median(expected), rel=1e-7, abs=1e-12)
            gap = np.mean([loss_on_line(t, np.log(d.n_params[i, j]), c) - optimal_loss(t, c) for t in thetas])
            assert a["loss_gap_nats"] == pytest.approx(gap, rel=1e-7, abs=1e-13)


@pytest.mark.slow  # compiles the vmapped budget solve (~4 s on an idle 2-core machine, far more under load)
def test_the_solved_deadweight_matches_the_closed_form(draws, decisions):
    # the monotone solve (other laws, FLOPs models) and the Chinchilla closed form agree: a dense model passed as a
    # FlopsPerToken takes the solve
    thetas, _ = draws
    d = decisions["expected-loss"]
    laws = jax.vmap(lambda t: CHINCHILLA.law_from_theta(t, None))(jnp.asarray(thetas))
    loss = jnp.asarray(np.nan_to_num(d.draw_loss, nan=3.0))
    closed = deadweight(laws, jnp.asarray(BUDGETS), jnp.asarray(K), loss, jnp.asarray(d.own_loss))
    model = optimal.FlopsPerToken(*(jnp.asarray(float(x)) for x in optimal.FlopsPerToken.dense()))
    solved = deadweight(laws, jnp.asarray(BUDGETS), model, loss, jnp.asarray(d.own_loss))
    np.testing.assert_allclose(solved, closed, rtol=1e-8, atol=1e-12)


def test_a_draws_own_optimum_has_no_deadweight(draws):
    thetas, point = draws
    for r in (0, 7):
        own = optimal.compute_optimal(CHINCHILLA.law_from_theta(thetas[r]), BUDGETS).n_params
        d = optimal.decide(thetas, BUDGETS, "plug-in", point=point, params=own)
        given = ALLOCATIONS.index("given")
        assert np.abs(d.deadweight[r, given]).max() < 1e-12
        assert np.abs(d.loss_gap[r, given]).max() < 1e-14
        assert (np.delete(d.deadweight[:, given], r, axis=0) > 0).all()  # other draws' optima differ
    # the point's own optimum is the plug-in allocation: a draw equal to the point wastes nothing under it
    d = optimal.decide(np.vstack([point, thetas[:7]]), BUDGETS, "plug-in", point=point)
    assert np.abs(d.deadweight[0, ALLOCATIONS.index("plug-in")]).max() < 1e-12


def test_plug_in_deadweight_is_non_negative(decisions):
    for d in decisions.values():
        waste = d.deadweight[:, :3]
        assert (waste >= 0).all() and (waste < 1).all()
        assert (d.loss_gap[:, :3] >= -1e-15).all()
        plug = d.deadweight[:, ALLOCATIONS.index("plug-in")]
        assert (plug > 0).mean() > 0.9  # the draws disagree with the point, so the point's optimum wastes compute


def test_plug_in_rule_chooses_compute_optimal(draws, decisions):
    _, point = draws
    d = decisions["plug-in"]
    expected = optimal.compute_optimal(CHINCHILLA.law_from_theta(point), BUDGETS).n_params
    np.testing.assert_allclose(d.chosen_params, expected, rtol=1e-15)  # exp(log N*): an ulp at most
    np.testing.assert_allclose(d.n_params[0], expected, rtol=1e-15)


def test_quantile_rules_behave(draws, decisions):
    thetas, _ = draws
    median = decisions["quantile:0.5"]
    # the chosen N lies between the draws' own optima, and quantile:0.5 minimises the median loss, not the mean
    assert (median.chosen_params >= median.own_params.min(axis=0)).all()
    assert (median.chosen_params <= median.own_params.max(axis=0)).all()
    chosen = ALLOCATIONS.index("chosen")
    med = np.median(median.draw_loss[:, chosen], axis=0)
    other = np.median(decisions["expected-loss"].draw_loss[:, chosen], axis=0)
    assert (med <= other + 1e-14).all()
    # identical draws: every rule's answer is their common optimum
    twin = np.repeat(thetas[3:4], 8, axis=0)
    for rule in ("quantile:0.5", "expected-loss", "quantile:0", "quantile:1"):
        d = optimal.decide(twin, BUDGETS, rule, point=thetas[3])
        np.testing.assert_allclose(d.chosen_params, d.own_params[0], rtol=1e-8)
        assert bool(d.converged.all())


@pytest.mark.parametrize("rule", ["median", "quantile:", "quantile:1.5", "quantile:-0.1", "quantile:x",
                                  "quantile:nan", "", None, 0.5])
def test_bad_rules_raise(draws, rule):
    thetas, point = draws
    with pytest.raises(OptimalError, match="rule"):
        parse_rule(rule)
    with pytest.raises(OptimalError, match="rule"):
        optimal.decide(thetas, 1e22, rule, point=point)


def test_bad_inputs_raise(draws):
    thetas, point = draws
    with pytest.raises(OptimalError, match="point"):
        optimal.decide(thetas, 1e22, "expected-loss")
    with pytest.raises(OptimalError, match="at least 2"):
        optimal.decide(thetas[:1], 1e22, point=point)
    with pytest.raises(OptimalError, match=r"\(R, 5\)"):
        optimal.decide(thetas[:, :4], 1e22, point=point)
    with pytest.raises(optimal.BudgetError, match="compute"):
        optimal.decide(thetas, -1.0, point=point)
    with pytest.raises(optimal.BudgetError, match="params"):
        optimal.decide(thetas, 1e22, point=point, params=0.0)


@pytest.mark.slow  # compiles the implicit derivatives of two rules (~10 s idle)
def test_gradients_match_finite_differences(draws):
    thetas, point = draws
    c = jnp.asarray(BUDGETS)
    for rule in ("expected-loss", "quantile:0.9"):
        f = lambda th, c=c, rule=rule: decision_log_params(th, c, rule)[1]  # noqa: E731
        grad = np.asarray(jax.grad(f)(jnp.asarray(thetas)))
        for r, p in ((0, 3), (5, 4), (6, 1)):
            h = 1e-5
            up, down = thetas.copy(), thetas.copy()
            up[r, p] += h
            down[r, p] -= h
            fd = (float(f(jnp.asarray(up))) - float(f(jnp.asarray(down)))) / (2 * h)
            assert grad[r, p] == pytest.approx(fd, rel=1e-4, abs=1e-7), (rule, r, p)
        assert np.abs(grad).sum() > 0
    # with respect to the budget: d log N / d log C, a share of the scaling exponent beta / (alpha + beta)
    log_c = jnp.log(BUDGETS)
    g = np.asarray(jax.jacobian(lambda lc: decision_log_params(thetas, jnp.exp(lc), "expected-loss"))(log_c)).diagonal()
    fd = np.asarray(decision_log_params(thetas, BUDGETS * np.exp(1e-5), "expected-loss")
                    - decision_log_params(thetas, BUDGETS * np.exp(-1e-5), "expected-loss")) / 2e-5
    np.testing.assert_allclose(g, fd, rtol=1e-5)
    assert ((0.3 < g) & (g < 0.7)).all()
    # the plug-in rule: through compute_optimal, with respect to the point
    gp = np.asarray(jax.grad(lambda p: decision_log_params(thetas, c, "plug-in", point=p)[0])(jnp.asarray(point)))
    E, A, B, a, b = natural(point)
    assert gp[1] == pytest.approx(1 / (a + b), rel=1e-8)  # log N* = (log(alpha A) - log(beta B)) / (a + b) + ...


def test_result_protocol(decisions):
    d = decisions["quantile:0.9"]
    assert isinstance(d, optimal.Result)
    assert d.status is optimal.Status.SUCCESS and d.ok
    assert [w.code for w in d.warnings] == ["few-draws"]  # 8 draws
    assert {n.code for n in d.notes} == {"rule", "deadweight", "budget-line"}
    out = d.to_dict()
    import json

    json.dumps(out, allow_nan=False)
    assert out["rule"] == "quantile:0.9" and out["n_draws"] == 8 and len(out["budgets"]) == 2
    assert out["flops_per_param_token"] == 6.0 and out["flops_model"] is None and out["status"] == "success"
    assert set(out["budgets"][0]["allocations"]) == set(ALLOCATIONS)
    assert "chosen (quantile:0.9)" in d.summary() and "20 tokens/param" in d.summary()
    # without params and the rule of thumb, those allocations are absent, not NaN in JSON
    thetas = np.stack([CHINCHILLA.to_fitting(optimal.preset("epoch2024")._asdict())] * 8)
    bare = optimal.decide(thetas, BUDGETS, point=thetas[0], tokens_per_param=None)
    assert set(bare.to_dict()["budgets"][0]["allocations"]) == {"plug-in", "chosen"}


@pytest.mark.slow  # compiles the decision program for a FLOPs model (~5 s idle)
def test_flops_model_with_attention(draws):
    # the budget line D = C / f(N) with attention: a draw's own optimum still wastes nothing (the solved C')
    thetas, point = draws
    flops = optimal.FlopsPerToken.attention(8192, aspect_ratio=128.0)
    own = optimal.compute_optimal(CHINCHILLA.law_from_theta(thetas[2]), BUDGETS, flops=flops).n_params
    d = optimal.decide(thetas, BUDGETS, "expected-loss", point=point, flops=flops, params=own)
    given = ALLOCATIONS.index("given")
    assert np.abs(d.deadweight[2, given]).max() < 1e-9
    assert (d.deadweight[:, :3] >= 0).all()
    out = d.to_dict()
    assert out["flops_per_param_token"] is None and out["flops_model"]["context"] == 8192.0
    rot = ALLOCATIONS.index("rule-of-thumb")
    np.testing.assert_allclose(d.n_tokens[rot] / d.n_params[rot], 20.0, rtol=1e-10)
    np.testing.assert_allclose(np.asarray(flops.training(d.n_params[rot])) * d.n_tokens[rot], BUDGETS, rtol=1e-10)


def test_status_counts_what_did_not_converge(decisions):
    import dataclasses

    d = decisions["expected-loss"]
    partial = dataclasses.replace(d, converged=np.array([True, False]))
    assert partial.status is optimal.Status.PARTIAL and "not-converged" in [w.code for w in partial.warnings]
    assert dataclasses.replace(d, converged=np.array([False, False])).status is optimal.Status.FAILED
    own = d.own_converged.copy()
    own[0, 0] = False
    draws = dataclasses.replace(d, own_converged=own)
    assert draws.status is optimal.Status.PARTIAL and "draws-not-converged" in [w.code for w in draws.warnings]


def test_figure_draws_the_curves_and_the_allocations(decisions):
    from matplotlib.lines import Line2D

    from optimal.plot import decision_figure

    d = decisions["quantile:0.9"]
    fig = decision_figure(d, budget=1)
    left, right = fig.axes
    vertical = [line for line in right.lines if isinstance(line, Line2D) and len(set(line.get_xdata())) == 1]
    assert sorted(line.get_xdata()[0] for line in vertical) == sorted(d.n_params[:, 1])  # the four allocations
    labels = [t.get_text() for t in right.get_legend().get_texts()]
    assert any(label.startswith("chosen (quantile:0.9): N = ") for label in labels)
    assert any("0.9-quantile" in t.get_text() for t in left.get_legend().get_texts())
    assert len(left.lines) >= d.curve_loss.shape[0]
    with pytest.raises(optimal.PlotError, match="budget"):
        decision_figure(d, budget=2)


# --- caps and unique data -------------------------------------------------------------------------------------------

def capped_optimal_loss(theta, compute, max_params=np.inf, max_tokens=np.inf):
    """A draw's optimal loss at C within the caps: the closed-form N* clipped to [C / (k max_tokens), max_params]."""
    E, A, B, a, b = natural(theta)
    n = (a * A / (b * B)) ** (1 / (a + b)) * (compute / K) ** (b / (a + b))
    n = np.clip(n, compute / (K * max_tokens), max_params)
    return loss_on_line(theta, np.log(n), compute)


def capped_brentq_deadweight(theta, log_n, compute, max_params=np.inf, max_tokens=np.inf):
    """1 - C'/C with C' from brentq on the capped optimal loss (SciPy, independent of the library's solve)."""
    target = loss_on_line(theta, log_n, compute)
    if target <= capped_optimal_loss(theta, compute, max_params, max_tokens) * (1 + 1e-13):
        return 0.0
    log_c = brentq(lambda t: capped_optimal_loss(theta, np.exp(t), max_params, max_tokens) - target,
                   np.log(compute) - 40, np.log(compute), xtol=1e-14, rtol=1e-15)
    return 1 - np.exp(log_c - np.log(compute))


@pytest.fixture(scope="module")
def capped(draws, decisions):
    """A max_params cap that binds for every draw at 1e24 and for none at 1e21 (the free decision's N at 1e21 is
    far below it), with the expected-loss and quantile:0.9 rules."""
    thetas, point = draws
    cap = 0.5 * float(decisions["expected-loss"].own_params[:, 1].min())
    return cap, {rule: optimal.decide(thetas, BUDGETS, rule, point=point, max_params=cap)
                 for rule in ("expected-loss", "quantile:0.9")}


def test_a_binding_params_cap_is_the_decision(draws, decisions, capped):
    cap, found = capped
    d = found["expected-loss"]
    assert d.converged.all() and d.ok
    for name in ("plug-in", "chosen"):
        assert d.allocation(name, 1)["N"] == pytest.approx(cap, rel=1e-12)  # every draw's optimum is above it
        assert d.allocation(name, 1)["at_cap"] and not d.allocation(name, 0)["at_cap"]
    np.testing.assert_allclose(d.own_params[:, 1], cap, rtol=1e-12)
    assert np.all(d.deadweight[:, 1, 1] == 0)  # no draw can do better within the cap: nothing wasted
    # below the cap nothing changes (the deadweight now from the solve, not the closed form)
    free = decisions["expected-loss"]
    assert d.chosen_params[0] == pytest.approx(float(free.chosen_params[0]), rel=1e-9)
    np.testing.assert_allclose(d.deadweight[:, :3, 0], free.deadweight[:, :3, 0], rtol=1e-6, atol=1e-12)
    assert any(n.code == "at-cap" for n in d.notes) and d.to_dict()["max_params"] == cap


@pytest.mark.parametrize("rule, statistic", [("expected-loss", lambda v: np.mean(v, axis=0)),
                                             ("quantile:0.9", lambda v: np.quantile(v, 0.9, axis=0))])
def test_a_cap_inside_the_draws_matches_a_brute_force_grid(draws, rule, statistic):
    # the cap at the median of the draws' own optima: some draws are capped, the answer is the grid's capped minimum
    thetas, point = draws
    compute = BUDGETS[1]
    own = [np.log(float(optimal.compute_optimal(CHINCHILLA.law_from_theta(t), compute).n_params)) for t in thetas]
    cap = float(np.exp(np.median(own)))
    d = optimal.decide(thetas, BUDGETS, rule, point=point, max_params=cap)
    grid = np.linspace(np.log(cap) - 3, np.log(cap), 20001)
    best = grid[np.argmin(statistic(np.stack([loss_on_line(t, grid, compute) for t in thetas])))]
    assert np.log(d.chosen_params[1]) == pytest.approx(best, abs=2e-4)
    assert d.chosen_params[1] <= cap * (1 + 1e-12)
    for r, theta in enumerate(thetas):  # the deadweight against the draw's capped optimum
        for a in range(3):
            expected = capped_brentq_deadweight(theta, np.log(d.n_params[a, 1]), compute, max_params=cap)
            assert d.deadweight[r, a, 1] == pytest.approx(expected, rel=1e-6, abs=1e-12)


def test_a_binding_token_cap_sets_d(draws, decisions):
    # D = C / (k N) <= max_tokens bounds N from below: with the cap under every draw's D*, D is the cap
    thetas, point = draws
    cap = 0.5 * float(decisions["expected-loss"].n_tokens[1, 1] / 4)
    d = optimal.decide(thetas, BUDGETS, "quantile:0.9", point=point, max_tokens=cap, params=BUDGETS[1] / (K * cap) * 2)
    assert d.chosen_tokens[1] == pytest.approx(cap, rel=1e-12) and d.converged.all()
    assert d.allocation("rule-of-thumb", 1)["D"] == pytest.approx(cap, rel=1e-12)  # moved onto the cap
    waste = [capped_brentq_deadweight(t, np.log(d.n_params[3, 1]), BUDGETS[1], max_tokens=cap) for t in thetas]
    np.testing.assert_allclose(d.deadweight[:, 3, 1], waste, rtol=1e-6, atol=1e-12)
    with pytest.raises(optimal.BudgetError, match="outside what the caps allow"):
        optimal.decide(thetas, BUDGETS, "plug-in", point=point, max_tokens=cap, params=BUDGETS[1] / (K * cap) / 2)


@pytest.mark.slow
def test_a_token_cap_moves_the_decision_with_the_budget(draws, decisions):
    # on the token cap log N = log C - log k - log max_tokens: d log N / d log C = 1, d log N / d theta = 0
    thetas, point = draws
    cap = 0.5 * float(decisions["expected-loss"].n_tokens[1, 1] / 4)
    f = lambda t, c: decision_log_params(t, c, "expected-loss", max_tokens=cap)[0]  # noqa: E731
    assert float(f(jnp.asarray(thetas), BUDGETS[1])) == pytest.approx(np.log(BUDGETS[1] / (K * cap)), rel=1e-12)
    g_theta, g_c = jax.grad(f, argnums=(0, 1))(jnp.asarray(thetas), jnp.asarray(BUDGETS[1]))
    assert np.abs(np.asarray(g_theta)).max() == 0 and float(g_c) * BUDGETS[1] == pytest.approx(1.0, rel=1e-9)


def test_unique_tokens_need_a_data_constrained_law(draws):
    thetas, point = draws
    with pytest.raises(OptimalError, match="needs draws of a data-constrained law"):
        optimal.decide(thetas, BUDGETS, point=point, unique_tokens=1e10)
    with pytest.raises(optimal.BudgetError, match="unique_tokens must be at least 1"):
        optimal.decide(thetas, BUDGETS, point=point, unique_tokens=0.5)


@pytest.mark.slow
def test_data_constrained_draws_decide_at_u():
    # draws of Muennighoff et al.'s law at U = 1e10 unique tokens and 1e22 FLOPs (~10 epochs): the chosen N is the
    # brute-force minimiser of the mean over draws of the law's loss at U, and each draw's own optimum wastes nothing
    from optimal.laws.data_constrained import DATA_CONSTRAINED
    law = optimal.preset("muennighoff2023")
    point = np.asarray(DATA_CONSTRAINED.to_fitting({f: float(getattr(law, f)) for f in DATA_CONSTRAINED.params}))
    thetas = point + np.random.default_rng(1).normal(0, 0.03, size=(8, point.size))
    u, compute = 1e10, 1e22
    d = optimal.decide(thetas, compute, "expected-loss", point=point, family=DATA_CONSTRAINED, unique_tokens=u)
    assert d.ok and d.unique_tokens == u and d.allocation("chosen")["epochs"] > 1
    laws = [DATA_CONSTRAINED.law_from_theta(t, {"U": u}) for t in thetas]
    grid = np.linspace(np.log(d.own_params.min()) - 0.1, np.log(d.own_params.max()) + 0.1, 4001)
    mean = np.mean([np.asarray(lw.loss(np.exp(grid), compute / (K * np.exp(grid)))) for lw in laws], axis=0)
    assert np.log(d.chosen_params[0]) == pytest.approx(grid[np.argmin(mean)], abs=5e-4)
    own = optimal.decide(thetas, compute, "expected-loss", point=point, family=DATA_CONSTRAINED, unique_tokens=u,
                         params=float(d.own_params[0, 0]))
    assert own.deadweight[0, 3, 0] == pytest.approx(0.0, abs=1e-9)
    # unlimited data is a different answer: U reaches every draw
    free = optimal.decide(thetas, compute, "expected-loss", point=point, family=DATA_CONSTRAINED)
    assert abs(np.log(free.chosen_params[0] / d.chosen_params[0])) > 0.05
