"""Mixture-of-experts laws: each family recovers a known law from synthetic runs through ``optimal.fit``; at a fixed
layout each law is the Chinchilla law it says; the allocation's FLOPs follow the active parameters and its memory
the total."""

import jax
import numpy as np
import pytest

import optimal
from optimal.errors import BudgetError, CoefficientsError, DataError
from optimal.io.records import from_record, to_record
from optimal.laws.moe import (FINE_GRAINED_MOE, JOINT_MOE, KRAJEWSKI2024, LUDZIEJEWSKI2025, FineGrainedMoE, JointMoE,
                               transformed_experts)

FINE = FineGrainedMoE(c=1.7, a=20.0, g=60.0, gamma=0.6, alpha=0.25, b=400.0, beta=0.3)
JOINT = JointMoE(c=1.6, a=40.0, alpha=0.28, gamma=0.015, delta=-0.1, b=300.0, beta=0.3, zeta=-0.01, omega=0.05)
ROWS = 48  # every fit here uses this many rows
SEARCH = optimal.Search(n_polish=4, n_samples=512)
NOISE = 0.002  # log-normal noise on each loss (0.2%)


def runs(law, field, values, seed=0, n_range=(1e7, 3e9), noise=NOISE):
    """ROWS runs: N log-uniform in ``n_range`` (active parameters), 5..200 tokens per parameter, the layout
    ``field`` drawn from ``values``, losses from ``law`` with log-normal ``noise``."""
    rng = np.random.default_rng(seed)
    n = np.exp(rng.uniform(*np.log(n_range), ROWS))
    d = n * np.exp(rng.uniform(np.log(5.0), np.log(200.0), ROWS))
    layout = rng.choice(np.asarray(values, np.float64), ROWS)
    loss = np.asarray(law._replace(**{field: layout}).loss(n, d)) * np.exp(noise * rng.standard_normal(ROWS))
    return n, d, layout, loss


@pytest.fixture(scope="module")
def fine_fit():
    with jax.enable_x64(True):
        n, d, g, loss = runs(FINE, "granularity", [1, 2, 4, 8, 16])
        return optimal.fit(n, d, loss, law="fine-grained-moe", covariates={"G": g}, search=SEARCH)


@pytest.fixture(scope="module")
def joint_fit():
    with jax.enable_x64(True):
        # the expert count moves both the scale (delta) and the decay rate (gamma) of the N term: telling them apart
        # takes N over 4 decades at each count, and 0.1% noise (at 2.4 decades and 0.2% they trade off, and the
        # fit says so with an IdentifiabilityWarning)
        n, d, e, loss = runs(JOINT, "experts", [1, 2, 4, 8, 16, 32, 64], seed=1, n_range=(1e6, 1e10), noise=0.001)
        return optimal.fit(n, d, loss, law="joint-moe", covariates={"E": e}, search=SEARCH)


@pytest.mark.slow
def test_fine_grained_family_recovers_the_known_law(fine_fit):
    # 48 runs with 0.2% noise pin the exponents to ~0.01 and the scales to a few percent; the tolerances leave room
    p = fine_fit.params
    assert fine_fit.converged
    assert p["c"] == pytest.approx(FINE.c, rel=0.02)
    for name, tol in (("alpha", 0.02), ("beta", 0.02), ("gamma", 0.05)):
        assert p[name] == pytest.approx(getattr(FINE, name), abs=tol), name
    for name in ("a", "g", "b"):
        assert p[name] == pytest.approx(getattr(FINE, name), rel=0.15), name
    # the record keeps the family and its covariate
    back = from_record(to_record(fine_fit)).fit
    assert back.family is FINE_GRAINED_MOE and back.params == p


@pytest.mark.slow
def test_joint_family_recovers_the_known_law(joint_fit):
    p = joint_fit.params
    assert joint_fit.converged
    assert p["c"] == pytest.approx(JOINT.c, rel=0.02)
    for name, tol in (("alpha", 0.02), ("beta", 0.02), ("gamma", 0.01), ("zeta", 0.01), ("delta", 0.1),
                      ("omega", 0.05)):
        assert p[name] == pytest.approx(getattr(JOINT, name), abs=tol), name
    # what the allocation reads, the law at a layout, is recovered closer than its coefficients one by one
    for experts in (1.0, 8.0, 32.0):
        ours = optimal.moe_optimal(JointMoE(**p, experts=experts), 1e21, expansion=experts)
        truth = optimal.moe_optimal(JOINT._replace(experts=experts), 1e21, expansion=experts)
        assert float(ours.n_active) == pytest.approx(float(truth.n_active), rel=0.1), experts
        assert float(ours.loss) == pytest.approx(float(truth.loss), rel=0.005), experts
    assert from_record(to_record(joint_fit)).fit.family is JOINT_MOE


def test_at_a_fixed_layout_each_law_is_the_chinchilla_law_it_names():
    n, d = np.geomspace(1e7, 1e11, 5), np.geomspace(1e9, 1e13, 5)
    at_g = FINE._replace(granularity=8.0)
    expected = FINE.c + (FINE.g / 8.0 ** FINE.gamma + FINE.a) / n ** FINE.alpha + FINE.b / d ** FINE.beta
    np.testing.assert_allclose(at_g.loss(n, d), expected, rtol=1e-12)
    np.testing.assert_allclose(at_g.at_fixed().loss(n, d), expected, rtol=1e-12)
    at_e = JOINT._replace(experts=16.0)
    le = np.log(16.0)
    expected = (JOINT.c + JOINT.a * 16.0 ** JOINT.delta / n ** (JOINT.alpha + JOINT.gamma * le)
                + JOINT.b * 16.0 ** JOINT.omega / d ** (JOINT.beta + JOINT.zeta * le))
    np.testing.assert_allclose(at_e.loss(n, d), expected, rtol=1e-12)
    np.testing.assert_allclose(at_e.at_fixed().loss(n, d), expected, rtol=1e-12)
    # one expert is a dense model: the Chinchilla law with the E = 1 coefficients
    dense = optimal.Chinchilla(E=JOINT.c, A=JOINT.a, B=JOINT.b, alpha=JOINT.alpha, beta=JOINT.beta)
    np.testing.assert_allclose(JOINT.loss(n, d), dense.loss(n, d), rtol=1e-12)


def test_moe_allocation_spends_flops_on_active_and_memory_on_total_parameters():
    # Krajewski et al.'s N is the total: under C = 6 N_active D, each total parameter costs 6 / (1 + 63 x 2/3) FLOPs
    law = FINE._replace(granularity=8.0)
    budgets = np.array([1e20, 1e22])
    a = optimal.moe_optimal(law, budgets, expansion=64.0)
    per_active = 1 + 63 * 2 / 3
    n_star, d_star = optimal.closed_form(law.at_fixed(), budgets, 6.0 / per_active)
    np.testing.assert_allclose(a.n_total, n_star, rtol=1e-9)
    np.testing.assert_allclose(a.n_tokens, d_star, rtol=1e-9)
    np.testing.assert_allclose(6.0 * a.n_active * a.n_tokens, budgets, rtol=1e-9)
    np.testing.assert_allclose(a.n_total, a.n_active * per_active, rtol=1e-12)
    np.testing.assert_allclose(a.tokens_per_active_param, a.n_tokens / a.n_active, rtol=1e-12)
    assert a.ok and not np.any(a.memory_bound)
    # Ludziejewski et al.'s N is the active parameters: C = 6 N D is the law's own budget line
    joint = optimal.moe_optimal(JOINT._replace(experts=8.0), budgets, expansion=8.0)
    n_star, d_star = optimal.closed_form(JOINT._replace(experts=8.0).at_fixed(), budgets)
    np.testing.assert_allclose(joint.n_active, n_star, rtol=1e-9)
    np.testing.assert_allclose(joint.n_total, n_star * (1 + 7 * 2 / 3), rtol=1e-9)
    # a memory cap on the total parameters binds on the active ones through the layout
    cap = float(a.n_total[1]) / 4
    capped = optimal.moe_optimal(law, 1e22, expansion=64.0, max_total_params=cap)
    assert float(capped.n_total) == pytest.approx(cap, rel=1e-9) and bool(capped.memory_bound)
    assert float(capped.loss) > float(a.loss[1])
    assert capped.to_dict()["allocations"][0]["N_total"] == pytest.approx(cap, rel=1e-9)


# Ludziejewski et al. 2025, Table 4: the joint law reduced to Chinchilla at E experts, (m, mu, n, nu) with the
# paper's signs (mu = -(alpha + gamma ln Ê), nu likewise), from Table 3's coefficients rounded to 4 decimals
TABLE_4 = {1: (30.3640, -0.1817, 53.9838, -0.1965), 2: (27.7982, -0.1780, 66.8401, -0.2065),
           4: (24.8462, -0.1731, 87.7022, -0.2192), 8: (21.8330, -0.1676, 119.9126, -0.2338),
           16: (19.0159, -0.1617, 167.5073, -0.2494), 32: (16.5424, -0.1557, 234.6726, -0.2652)}
# Table 1: compute-optimal N_act and D (C = 6 N_act D), printed to 2-3 significant digits
TABLE_1 = {(1e20, 1): (1.7e9, 9.7e9), (1e20, 8): (990e6, 17e9), (1e20, 32): (669e6, 24.9e9),
           (1e21, 1): (5.7e9, 29.3e9), (1e21, 8): (3.8e9, 44.3e9), (1e21, 32): (2.85e9, 58.4e9),
           (1e22, 1): (18.8e9, 88.6e9), (1e22, 8): (14.4e9, 115.8e9), (1e22, 32): (12.2e9, 136.9e9)}


def test_the_joint_preset_reproduces_the_papers_tables():
    for e, (m, mu, n, nu) in TABLE_4.items():  # 0.5%: Table 3's coefficients are rounded to 4 decimals
        law = LUDZIEJEWSKI2025._replace(experts=float(e)).at_fixed()
        assert (float(law.A), -float(law.alpha)) == pytest.approx((m, mu), rel=5e-3), e
        assert (float(law.B), -float(law.beta)) == pytest.approx((n, nu), rel=5e-3), e
    for (budget, e), (n_act, d) in TABLE_1.items():  # 2%: Table 1 prints 2-3 digits
        a = optimal.moe_optimal(LUDZIEJEWSKI2025._replace(experts=float(e)), budget, expansion=float(e))
        assert float(a.n_active) == pytest.approx(n_act, rel=0.02), (budget, e)
        assert float(a.n_tokens) == pytest.approx(d, rel=0.02), (budget, e)
    # the transform of eq. 4: Ê(1) = E_start, Ê -> E_max for many experts, and (1, inf) is the identity
    assert float(transformed_experts(1.0, 2.0732, 290.4521)) == pytest.approx(2.0732, rel=1e-12)
    assert float(transformed_experts(1e12, 2.0732, 290.4521)) == pytest.approx(290.4521, rel=1e-6)
    np.testing.assert_allclose(transformed_experts(np.array([1.0, 8.0, 64.0])), [1.0, 8.0, 64.0], rtol=1e-12)
    # Krajewski et al. 2024's Table 1 (MoE row) at granularity 16: A = a + g / 16^gamma
    law = KRAJEWSKI2024._replace(granularity=16.0).at_fixed()
    assert float(law.A) == pytest.approx(18.1 + 2.1 / 16 ** 0.58, rel=1e-12) and float(law.E) == 0.47


def test_best_experts_weighs_each_count_under_the_memory_cap():
    free = optimal.best_experts(JOINT, 1e21, experts=(1, 4, 16, 64))
    losses = [float(a.loss) for a in free.allocations]
    assert free.best == int(np.argmin(losses)) and free.ok
    # each count is its own compute-optimal allocation, with its own total
    one = optimal.moe_optimal(JOINT._replace(experts=16.0), 1e21, expansion=16.0)
    assert float(free.allocations[2].n_active) == pytest.approx(float(one.n_active), rel=1e-12)
    # a tight memory cap takes the large counts' advantage away: the best count cannot grow
    capped = optimal.best_experts(JOINT, 1e21, experts=(1, 4, 16, 64), max_total_params=1e9)
    assert capped.experts[capped.best] <= free.experts[free.best]
    assert all(float(a.n_total) <= 1e9 * (1 + 1e-9) for a in capped.allocations)
    assert capped.to_dict()["best_experts"] == capped.experts[capped.best]


@pytest.mark.parametrize("call, error, match", [
    (lambda: optimal.moe_optimal(optimal.preset(), 1e21, expansion=8.0), CoefficientsError, "FineGrainedMoE or"),
    (lambda: optimal.moe_optimal(FINE, 1e21, expansion=0.5), BudgetError, "at least 1"),
    (lambda: optimal.moe_optimal(FINE, 1e21, expansion=8.0, expert_share=1.5), BudgetError, "at most 1"),
    (lambda: optimal.moe_optimal(FINE, 1e21, expansion=8.0, max_total_params=-1.0), BudgetError, "max_total_params"),
    (lambda: optimal.best_experts(FINE, 1e21), CoefficientsError, "JointMoE"),
    (lambda: optimal.best_experts(JOINT, [1e21, 1e22]), BudgetError, "one budget"),
    (lambda: optimal.best_experts(JOINT, 1e21, experts=(1, 2), experts_per_token=4), BudgetError, "experts must be"),
    (lambda: optimal.best_experts(JOINT, 1e21, experts=(1.5, 4)), BudgetError, r"whole counts .* \['1.5', '4'\]"),
    (lambda: optimal.best_experts(JOINT, 1e21, experts=(4, 8), experts_per_token=1.5), BudgetError,
     "experts_per_token must be a whole number, got 1.5"),
    (lambda: optimal.moe_optimal(JOINT._replace(experts=1e30), 1e21, expansion=2.0), CoefficientsError, "beta"),
    (lambda: optimal.fit(np.geomspace(1e7, 1e9, 8), np.geomspace(1e9, 1e11, 8), np.linspace(4, 3, 8),
                         law="fine-grained-moe"), DataError, "covariate G"),
])
def test_bad_input_is_named(call, error, match):
    with pytest.raises(error, match=match):
        call()
