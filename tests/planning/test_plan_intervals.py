"""Intervals on every answer: each ``recommend`` question with bootstrap draws is answered by every draw (vmapped),
its intervals and extrapolation distances are the draws' own, and a plan's hours, days, energy and cost intervals
are the figures of the draws (each draw's N and training FLOPs through the same cost model), checked against a
direct per-draw computation."""

import numpy as np
import pytest

import optimal
from optimal import planning
from optimal._util.stats import interval
from optimal.allocation.extrapolation import extrapolation

N_DRAWS = 50


@pytest.fixture(scope="module")
def boot():
    """One fit of 40 synthetic runs and 50 bootstrap draws, shared by every test here."""
    runs = optimal.synthetic_runs(n_runs=40)
    result = optimal.fit(runs.n_params, runs.n_tokens, runs.loss)
    return optimal.bootstrap(result, n_resamples=N_DRAWS)


def _law(boot, i):
    return boot.fit.family.law_from_theta(boot.good[i])


@pytest.mark.slow  # compiles the per-draw solves (tens of seconds on a loaded 2-core machine)
def test_hardware_intervals_are_the_figures_of_the_draws(boot):
    answer = optimal.recommend(boot, target_loss=2.3)
    n, c = answer.per_draw["N"][:, 0], answer.per_draw["compute"][:, 0]
    assert np.all(np.isfinite(c)) and len(n) == len(boot.good)
    record = answer.records[0]
    point = planning.plan_training(record["N"], record["D"], compute=record["compute"], n_accelerators=64)
    found = planning.draw_intervals(point, n, c, boot.confidence)
    # a direct per-draw computation: every draw's own plan, the percentile interval of its figures
    plans = [planning.plan_training(float(ni), compute=float(ci), n_accelerators=64) for ni, ci in zip(n, c)]
    direct = {"accelerator_hours": [p.hardware.accelerator_hours for p in plans],
              "wall_clock_days": [p.hardware.wall_clock_days for p in plans],
              "energy_kwh": [p.hardware.energy_kwh for p in plans], "cost": [p.hardware.cost for p in plans],
              "training_state_bytes": [p.training.total_bytes for p in plans],
              "accelerators_to_hold_zero3": [p.hold["zero3"] for p in plans]}
    for name, values in direct.items():
        expected = interval(np.asarray(values, float), boot.confidence)
        assert found[name]["lo"] == pytest.approx(expected["lo"], rel=1e-12), name
        assert found[name]["hi"] == pytest.approx(expected["hi"], rel=1e-12), name
    for name in ("accelerator_hours", "wall_clock_days", "energy_kwh", "cost", "training_state_bytes"):
        assert found[name]["lo"] < found[name]["hi"], name  # not degenerate: the draws' compute differs
    # the interval of the draws' compute, pushed through hours = C / (peak x MFU) / 3600 (linear: the same ends)
    hours = answer.records[0]["intervals"]["compute"]
    assert found["accelerator_hours"]["lo"] == pytest.approx(hours["lo"] / (989.5e12 * 0.4) / 3600, rel=1e-12)


def test_an_unreachable_draw_leaves_its_bound_unbounded():
    point = planning.plan_training(1e9, compute=1e21)
    n = np.r_[np.full(9, 1e9), np.inf]
    c = np.r_[np.full(9, 1e21), np.inf]
    found = planning.draw_intervals(point, n, c, 0.95)
    assert found["accelerator_hours"]["hi"] is None and found["training_state_bytes"]["hi"] is None


@pytest.mark.slow  # compiles the per-draw solves (tens of seconds on a loaded 2-core machine)
def test_inference_answers_are_each_draws_own(boot):
    answer = optimal.recommend(boot, target_loss=2.3, inference_tokens=1e12)
    for i in (0, 7):
        own = optimal.inference_optimal(_law(boot, i), 2.3, inference_tokens=1e12)
        assert answer.per_draw["N"][i, 0] == pytest.approx(float(own.n_params), rel=1e-9)
        assert answer.per_draw["compute"][i, 0] == pytest.approx(float(own.training_flops), rel=1e-9)
    record = answer.records[0]
    assert record["intervals"]["N"]["lo"] < record["N"] < record["intervals"]["N"]["hi"]
    assert record["intervals"]["total_flops"]["lo"] < record["intervals"]["total_flops"]["hi"]
    answer = optimal.recommend(boot, 1e22, inference_tokens=1e12)
    own = optimal.inference_optimal(_law(boot, 3), compute=1e22, inference_tokens=1e12)
    assert answer.per_draw["N"][3, 0] == pytest.approx(float(own.n_params), rel=1e-9)
    assert "total_flops" not in answer.records[0]["intervals"]  # the given budget


@pytest.mark.slow  # compiles the per-draw solves (tens of seconds on a loaded 2-core machine)
def test_a_flops_model_reaches_every_draw(boot):
    flops = optimal.FlopsPerToken.attention(8192, aspect_ratio=128.0)
    answer = optimal.recommend(boot, 1e22, flops=flops)
    assert answer.flops == {key: float(v) for key, v in flops._asdict().items()}
    own = optimal.compute_optimal(_law(boot, 5), 1e22, flops=flops)
    assert answer.per_draw["N"][5, 0] == pytest.approx(float(own.n_params), rel=1e-9)
    plain = optimal.recommend(boot, 1e22)
    assert answer.records[0]["intervals"]["D"]["hi"] < plain.records[0]["intervals"]["D"]["hi"]  # attention costs
    with pytest.raises(optimal.OptimalError, match="not both"):
        optimal.recommend(boot, 1e22, flops=flops, flops_per_param_token=6)


@pytest.mark.slow  # compiles the per-draw solves (tens of seconds on a loaded 2-core machine)
def test_extrapolation_distances_per_draw(boot):
    answer = optimal.recommend(boot, target_loss=2.3)
    far = extrapolation(answer.fitted_range, answer.per_draw["compute"], answer.per_draw["N"], answer.per_draw["D"],
                        answer.flops_per_param_token)
    found = answer.records[0]["extrapolation_intervals"]
    for key in ("compute_decades", "N_decades_outside", "D_decades_outside"):
        assert found[key] == interval(far[key][:, 0], boot.confidence), key
    assert found["compute_decades"]["lo"] < found["compute_decades"]["hi"]
    # at a given budget its distance is given: no interval for it, the others per draw
    found = optimal.recommend(boot, 1e23).records[0]["extrapolation_intervals"]
    assert "compute_decades" not in found and found["N_decades_outside"]["hi"] > 0


@pytest.mark.slow  # compiles the per-draw solves (tens of seconds on a loaded 2-core machine)
def test_a_given_run_gets_the_draws_loss(boot):
    answer = optimal.recommend(boot, n_params=7e9, n_tokens=1e11)
    record = answer.records[0]
    assert record["loss"] == pytest.approx(float(boot.fit.law.loss(7e9, 1e11)), rel=1e-12)
    losses = [float(_law(boot, i).loss(7e9, 1e11)) for i in range(len(boot.good))]
    assert record["intervals"]["loss"] == pytest.approx(interval(np.asarray(losses), boot.confidence), rel=1e-12)
    assert record["compute"] == 6 * 7e9 * 1e11


def test_the_unique_data_assumption_is_stated():
    answer = optimal.recommend("muennighoff2023", n_params=1e9, n_tokens=1e11)
    assert answer.unique_data["unique_tokens"] is None and "unlimited" in answer.unique_data["assumption"]
    assert "unique data: unlimited" in answer.summary()
    bounded = optimal.recommend("muennighoff2023", n_params=1e9, n_tokens=1e11, unique_tokens=1e10)
    law = optimal.preset("muennighoff2023")._replace(unique_tokens=1e10)
    assert bounded.records[0]["loss"] == pytest.approx(float(law.loss(1e9, 1e11)), rel=1e-12)
    assert bounded.records[0]["epochs"] == 10 and bounded.records[0]["loss"] > answer.records[0]["loss"]
    assert optimal.recommend("epoch2024", 1e22).unique_data is None
    with pytest.raises(optimal.CoefficientsError, match="DataConstrained law"):
        optimal.recommend("epoch2024", 1e22, unique_tokens=1e10)


@pytest.mark.slow  # a data-constrained fit and its bootstrap
def test_unique_tokens_reach_every_draw():
    rng = np.random.default_rng(1)
    n = np.exp(rng.uniform(np.log(1e8), np.log(1e10), 120))  # as tests/laws/test_families.py's dc_runs
    u = np.exp(rng.uniform(np.log(1e8), np.log(1e11), 120))
    d = u * np.exp(rng.uniform(0.0, np.log(60.0), 120))
    law = optimal.preset("muennighoff2023")
    loss = np.asarray(law._replace(unique_tokens=u).loss(n, d)) * np.exp(0.005 * rng.standard_normal(120))
    result = optimal.fit(n, d, loss, law="data-constrained", covariates={"U": u})
    boot = optimal.bootstrap(result, n_resamples=8, seed=0)
    answer = optimal.recommend(boot, 1e22, unique_tokens=25e9)
    assert "unique data: U = 2.5e+10 tokens (given)" in answer.summary() and "U = 2.5e+10 for the allocation" in \
        answer.source
    for i in (0, 5):
        own = optimal.data_constrained_optimal(_law(boot, i), 1e22, 25e9)
        assert answer.per_draw["N"][i, 0] == pytest.approx(float(own.n_params), rel=1e-9)
        assert answer.per_draw["epochs"][i, 0] == pytest.approx(float(own.epochs), rel=1e-9)
    assert "epochs" in answer.records[0]["intervals"]
