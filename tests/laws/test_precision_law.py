"""Precision-aware laws (Kumar et al. 2024): each family recovers a known law from synthetic runs through
``optimal.fit``; the effective parameter count is the product it states; the precision allocation prices each
precision through its FLOP/s and weighs it with the law."""

import jax
import numpy as np
import pytest

import optimal
from optimal.allocation.precision import BITS
from optimal.errors import BudgetError, CoefficientsError
from optimal.io.records import from_record, to_record
from optimal.laws.precision import PRECISION, PTQ, PrecisionLaw, PTQLaw, ptq_degradation

LAW = PrecisionLaw(E=1.7, A=300.0, B=1500.0, alpha=0.3, beta=0.32, gamma_w=2.5, gamma_a=2.0, gamma_kv=1.2)
PTQ_LAW = PTQLaw(E=1.7, A=300.0, B=1500.0, alpha=0.3, beta=0.32, C_T=0.05, gamma_D=0.5, gamma_N=0.4, gamma_post=1.5)
ROWS = 64
SEARCH = optimal.Search(n_polish=4, n_samples=512)
NOISE = 0.002  # log-normal noise on each loss (0.2%)
UNQUANTIZED = 1000.0  # bits: exp(-1000 / gamma_post) is 0 in float64, a run that was not quantized


def sizes(rng):
    n = np.exp(rng.uniform(np.log(1e7), np.log(3e9), ROWS))
    return n, n * np.exp(rng.uniform(np.log(5.0), np.log(500.0), ROWS))


def noisy(rng, loss):
    return np.asarray(loss) * np.exp(NOISE * rng.standard_normal(ROWS))


@pytest.fixture(scope="module")
def precision_fit():
    rng = np.random.default_rng(0)
    n, d = sizes(rng)
    bits = {name: rng.choice([3.0, 4.0, 6.0, 8.0, 16.0], ROWS) for name in ("P_w", "P_a", "P_kv")}
    loss = noisy(rng, LAW._replace(weight_bits=bits["P_w"], activation_bits=bits["P_a"], kv_bits=bits["P_kv"]).loss(n, d))
    with jax.enable_x64(True):
        return optimal.fit(n, d, loss, law="precision", covariates=bits, search=SEARCH)


@pytest.fixture(scope="module")
def ptq_fit():
    rng = np.random.default_rng(1)
    n, d = sizes(rng)
    post = rng.choice([3.0, 4.0, 5.0, 6.0, 8.0, UNQUANTIZED], ROWS)
    loss = noisy(rng, PTQ_LAW._replace(post_bits=post).loss(n, d))
    with jax.enable_x64(True):
        return optimal.fit(n, d, loss, law="ptq", covariates={"P_post": post}, search=SEARCH)


@pytest.mark.slow
def test_precision_family_recovers_the_known_law(precision_fit):
    # 64 runs with 0.2% noise: exponents to ~0.01, each precision's scale gamma to ~5%; the tolerances leave room
    p = precision_fit.params
    assert precision_fit.converged
    assert p["E"] == pytest.approx(LAW.E, rel=0.02)
    for name in ("alpha", "beta"):
        assert p[name] == pytest.approx(getattr(LAW, name), abs=0.02), name
    for name in ("gamma_w", "gamma_a", "gamma_kv"):
        assert p[name] == pytest.approx(getattr(LAW, name), rel=0.1), name
    for name in ("A", "B"):
        assert p[name] == pytest.approx(getattr(LAW, name), rel=0.2), name
    assert from_record(to_record(precision_fit)).fit.family is PRECISION


@pytest.mark.slow
def test_ptq_family_recovers_the_known_law(ptq_fit):
    p = ptq_fit.params
    assert ptq_fit.converged
    assert p["E"] == pytest.approx(PTQ_LAW.E, rel=0.02)
    for name in ("alpha", "beta", "gamma_D", "gamma_N"):
        assert p[name] == pytest.approx(getattr(PTQ_LAW, name), abs=0.03), name
    assert p["gamma_post"] == pytest.approx(PTQ_LAW.gamma_post, rel=0.1)
    # the degradation itself, what a user reads, at a model and precision inside the runs
    fitted = PTQLaw(**p)
    assert float(ptq_degradation(fitted, 1e9, 1e11, 4.0)) == pytest.approx(
        float(ptq_degradation(PTQ_LAW, 1e9, 1e11, 4.0)), rel=0.1)
    assert from_record(to_record(ptq_fit)).fit.family is PTQ


def test_effective_parameters_are_the_product_of_the_three_precisions():
    n, d = np.geomspace(1e7, 1e10, 4), np.geomspace(1e9, 1e12, 4)
    law = LAW._replace(weight_bits=4.0, activation_bits=8.0, kv_bits=3.0)
    share = (1 - np.exp(-4 / 2.5)) * (1 - np.exp(-8 / 2.0)) * (1 - np.exp(-3 / 1.2))
    assert float(law.effective_fraction()) == pytest.approx(share, rel=1e-12)
    expected = 1.7 + 300.0 / (n * share) ** 0.3 + 1500.0 / d ** 0.32
    np.testing.assert_allclose(law.loss(n, d), expected, rtol=1e-12)
    np.testing.assert_allclose(law.at_fixed().loss(n, d), expected, rtol=1e-12)
    # post-training quantization adds C_T D^gamma_D / N^gamma_N exp(-P/gamma_post); none when not quantized
    base = optimal.Chinchilla(E=1.7, A=300.0, B=1500.0, alpha=0.3, beta=0.32)
    extra = 0.05 * d ** 0.5 / n ** 0.4 * np.exp(-4.0 / 1.5)
    np.testing.assert_allclose(PTQ_LAW._replace(post_bits=4.0).loss(n, d), base.loss(n, d) + extra, rtol=1e-12)
    np.testing.assert_allclose(PTQ_LAW.loss(n, d), base.loss(n, d), rtol=1e-12)


def test_precision_allocation_prices_each_precision_by_its_flops():
    seconds, rates = 1e6 * 3600.0, {"bf16": 4e14, "fp8": 8e14, "fp4": 1.6e15}
    choice = optimal.precision_optimal(LAW, seconds, rates)
    assert choice.ok and [r["precision"] for r in choice.records] == list(rates)
    for r in choice.records:  # each precision is the Chinchilla optimum of the law at its bits, on its own budget
        at_p = LAW._replace(weight_bits=BITS[r["precision"]], activation_bits=BITS[r["precision"]],
                            kv_bits=BITS[r["precision"]]).at_fixed()
        n_star, d_star = optimal.closed_form(at_p, seconds * rates[r["precision"]])
        assert r["compute"] == seconds * rates[r["precision"]]
        assert r["N"] == pytest.approx(float(n_star), rel=1e-9) and r["D"] == pytest.approx(float(d_star), rel=1e-9)
    losses = [r["loss"] for r in choice.records]
    assert choice.best == int(np.argmin(losses)) and choice.precision == choice.records[choice.best]["precision"]
    # with every precision at the same FLOP/s, more bits always win: the FLOPs are what buys low precision
    same = optimal.precision_optimal(LAW, seconds, {"bf16": 4e14, "fp8": 4e14, "fp4": 4e14})
    assert same.precision == "bf16"
    # a memory cap binds on N through the bytes each parameter's training state takes
    capped = optimal.precision_optimal(LAW, seconds, {"bf16": 4e14}, memory_bytes=1.4e10)
    assert capped.records[0]["memory_bound"] and capped.records[0]["N"] == pytest.approx(1.4e10 / (2 + 12), rel=1e-9)
    assert capped.to_dict()["best_precision"] == "bf16"


def test_with_compute_linear_in_bits_the_best_precision_does_not_move_with_the_budget():
    # Kumar et al. 2024, Finding 3 (section 4.3.2): under C = (6/16) N D P with N, D, P free, the compute-optimal
    # precision is independent of compute; here P takes the integer bits 3..16, each at 16/P times bf16's FLOP/s
    names = {f"int{b}": float(b) for b in range(3, 17)}
    rates = {name: 4e14 * 16.0 / b for name, b in names.items()}
    best = {optimal.precision_optimal(LAW, seconds, rates, bits=names).precision for seconds in (1e5, 1e9)}
    assert len(best) == 1 and best != {"int16"} and best != {"int3"}, best


@pytest.mark.parametrize("call, error, match", [
    (lambda: optimal.precision_optimal(optimal.preset(), 1e9, {"bf16": 1e14}), CoefficientsError, "PrecisionLaw"),
    (lambda: optimal.precision_optimal(LAW, -1.0, {"bf16": 1e14}), BudgetError, "accelerator_seconds"),
    (lambda: optimal.precision_optimal(LAW, 1e9, {}), BudgetError, "flops_per_second must be"),
    (lambda: optimal.precision_optimal(LAW, 1e9, {"mx9": 1e14}), BudgetError, "has no bits"),
    (lambda: optimal.precision_optimal(LAW, 1e9, {"bf16": 0.0}), BudgetError, "flops_per_second"),
    (lambda: optimal.precision_optimal(LAW, 1e9, {"bf16": 1e14}, memory_bytes=0), BudgetError, "memory_bytes"),
])
def test_bad_input_is_named(call, error, match):
    with pytest.raises(error, match=match):
        call()
