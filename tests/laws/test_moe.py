"""Mixture-of-experts laws: each family recovers a known law from synthetic runs through ``optimal.fit``; at a fixed
layout each law is the Chinchilla law it says; the allocation's FLOPs follow the active parameters and its memory
the total."""

import jax
import numpy as np
import pytest

import optimal
from optimal.errors import BudgetError, CoefficientsError, DataError
from optimal.io.records import from_record, to_record
from optimal.laws.moe import FINE_GRAINED_MOE, JOINT_MOE, FineGrainedMoE, JointMoE

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
    law = FINE._replace(granularity=8.0)
    budgets = np.array([1e20, 1e22])
    a = optimal.moe_optimal(law, budgets, expansion=64.0)
    n_star, d_star = optimal.closed_form(law.at_fixed(), budgets)  # C = 6 N_active D
    np.testing.assert_allclose(a.n_active, n_star, rtol=1e-9)
    np.testing.assert_allclose(a.n_tokens, d_star, rtol=1e-9)
    np.testing.assert_allclose(6.0 * a.n_active * a.n_tokens, budgets, rtol=1e-9)
    np.testing.assert_allclose(a.n_total, a.n_active * (1 + 63 * 2 / 3), rtol=1e-12)
    assert a.ok and not np.any(a.memory_bound)
    # a memory cap on the total parameters binds on the active ones through the layout
    cap = float(a.n_total[1]) / 4
    capped = optimal.moe_optimal(law, 1e22, expansion=64.0, max_total_params=cap)
    assert float(capped.n_total) == pytest.approx(cap, rel=1e-9) and bool(capped.memory_bound)
    assert float(capped.loss) > float(a.loss[1])
    assert capped.to_dict()["allocations"][0]["N_total"] == pytest.approx(cap, rel=1e-9)


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
    (lambda: optimal.moe_optimal(JOINT._replace(experts=1e30), 1e21, expansion=2.0), CoefficientsError, "beta"),
    (lambda: optimal.fit(np.geomspace(1e7, 1e9, 8), np.geomspace(1e9, 1e11, 8), np.linspace(4, 3, 8),
                         law="fine-grained-moe"), DataError, "covariate G"),
])
def test_bad_input_is_named(call, error, match):
    with pytest.raises(error, match=match):
        call()
