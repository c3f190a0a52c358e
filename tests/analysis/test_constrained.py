"""``optimal.best_run``: the least-loss N and D within a deadline, accelerators, money, energy, memory and unique data,
and each limit's shadow price, exact (implicit derivatives) and checked against finite differences.

Tolerances of the finite-difference checks: a central difference with a relative step h = 1e-4 has a truncation
error ~h^2 = 1e-8 relative for these smooth functions of a limit, and a rounding error of ~1e-15 nats (the loss at
the solve's optimum) over a difference of 1e-7 nats or more, ~1e-8 relative: rtol 1e-6 leaves a factor ~100 over
both (measured: 4e-9). The accelerators are whole: a step of +-1 at 1024 is h = 1e-3, truncation ~1e-6: rtol 1e-5
(measured: 4e-7).
"""

import json
import types

import numpy as np
import pytest

import optimal
from optimal import Constraints, best_run
from optimal.analysis.constrained import UNITS
from optimal.errors import PlanningError
from optimal.laws.chinchilla import CHINCHILLA
from optimal.planning import Layout, bytes_per_accelerator, layout_memory, shape_for_params, training_memory

LAW = optimal.preset("epoch2024")
DAY_FLOPS = 1024 * 989.5e12 * 0.4 * 86400  # 1024 H100s (dense bf16 peak) at MFU 0.4, one day
ALL = dict(deadline_days=30.0, n_accelerators=1024, max_cost=1e9, max_energy_mwh=1e9, unique_tokens=1e15)
# each scenario keeps the same five limits (one compiled program) and makes others bind by their values
SCENARIOS = {
    "deadline": (dict(ALL), "zero3", {"deadline_days", "n_accelerators"}),
    "cost": (dict(ALL, max_cost=5e5), "zero3", {"max_cost"}),
    "energy": (dict(ALL, max_energy_mwh=200.0), "zero3", {"max_energy_mwh"}),
    "memory": (dict(ALL), "zero1", {"deadline_days", "n_accelerators", "memory"}),
    "data": (dict(ALL, unique_tokens=5e11), "zero3", {"deadline_days", "n_accelerators", "unique_tokens"}),
        # unsharded, more accelerators do not relieve memory: the count is worth nothing here
    "corner": (dict(ALL, unique_tokens=5e11, deadline_days=3000.0), "none", {"memory", "unique_tokens"}),
}


def solve(limits, sharding="zero3", law=LAW, **kwargs):
    return best_run(law, Constraints(**limits), sharding=sharding, **kwargs)


@pytest.fixture(scope="module")
def done_when():
    """The done-when plan: 30 days on 1024 H100s."""
    return solve(dict(deadline_days=30, n_accelerators=1024))


@pytest.fixture(scope="module")
def scenarios():
    return {name: solve(limits, sharding) for name, (limits, sharding, _) in SCENARIOS.items()}


def test_deadline_plan_is_the_compute_optimal_run_of_the_deadlines_compute(done_when):
    run = done_when
    assert run.ok and run.binding == ("deadline_days", "n_accelerators")
    assert run.compute_flops == pytest.approx(30 * DAY_FLOPS, rel=1e-12)
    # Hoffmann et al.'s closed form (eq. 4): N* = G (C/k)^(beta/(alpha+beta)), G = (alpha A / (beta B))^(1/(alpha+beta))
    E, A, B, alpha, beta = (float(getattr(LAW, name)) for name in ("E", "A", "B", "alpha", "beta"))
    n = (alpha * A / (beta * B)) ** (1 / (alpha + beta)) * (30 * DAY_FLOPS / 6) ** (beta / (alpha + beta))
    d = 30 * DAY_FLOPS / 6 / n
    assert run.n_params == pytest.approx(n, rel=1e-10) and run.n_tokens == pytest.approx(d, rel=1e-10)
    assert run.loss_nats == pytest.approx(E + A / n ** alpha + B / d ** beta, rel=1e-13)
    # only compute binds: a day is worth exactly the FLOPs it buys (the envelope theorem), an accelerator a 1024th
    assert run.compute_equivalents["deadline_days"] == pytest.approx(DAY_FLOPS, rel=1e-9)
    assert run.compute_equivalents["n_accelerators"] == pytest.approx(30 * DAY_FLOPS / 1024, rel=1e-9)


def test_done_when_shadow_prices_agree_with_finite_differences(done_when):
    limits = dict(deadline_days=30, n_accelerators=1024)
    days = [solve(dict(limits, deadline_days=30 * (1 + s * 1e-4))).loss_nats for s in (1, -1)]
    accelerators = [solve(dict(limits, n_accelerators=1024 + s)).loss_nats for s in (1, -1)]
    assert done_when.shadow_prices["deadline_days"] == pytest.approx((days[0] - days[1]) / (2 * 30e-4), rel=1e-6)
    assert done_when.shadow_prices["n_accelerators"] == pytest.approx((accelerators[0] - accelerators[1]) / 2, rel=1e-5)
    assert done_when.shadow_prices["deadline_days"] < 0


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_each_scenario_binds_what_it_should_and_its_prices_agree_with_finite_differences(scenarios, name):
    limits, sharding, binding = SCENARIOS[name]
    run = scenarios[name]
    assert run.ok and set(run.binding) == binding
    for limit, value in limits.items():
        step = 1 if limit == "n_accelerators" else 1e-4 * value
        up, down = (solve(dict(limits, **{limit: value + s * step}), sharding).loss_nats for s in (1, -1))
        expected = (up - down) / (2 * step)
        price = run.shadow_prices[limit]
        if limit in binding:
            assert price < 0 and price == pytest.approx(expected, rel=1e-5 if limit == "n_accelerators" else 1e-6), limit
        else:  # a slack limit is worth nothing, and a small move of it changes nothing
            assert price == 0 and expected == 0, limit


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_the_run_is_feasible_and_no_feasible_run_on_the_boundary_has_less_loss(scenarios, name):
    run = scenarios[name]
    c_cap = min(run.caps["compute_flops"].values())
    n_cap = run.caps["n_params_max_from_memory"] or np.inf
    d_cap = run.caps["n_tokens_max_from_unique_data"] or np.inf
    assert run.compute_flops <= c_cap * (1 + 1e-12) and run.n_params <= n_cap * (1 + 1e-12)
    assert run.n_tokens <= d_cap * (1 + 1e-12)
    # the loss falls in N and in D, so the best feasible run lies on the boundary: spend the compute, within caps
    n = np.geomspace(run.n_params / 100, min(run.n_params * 100, n_cap), 2001)
    d = np.minimum(c_cap / (6 * n), d_cap)
    loss = float(LAW.E) + float(LAW.A) / n ** float(LAW.alpha) + float(LAW.B) / d ** float(LAW.beta)
    assert run.loss_nats <= np.min(loss) * (1 + 1e-13)


def test_a_memory_cap_makes_compute_worth_less_than_it_buys(scenarios):
    run = scenarios["memory"]
    assert run.n_params == pytest.approx(run.caps["n_params_max_from_memory"], rel=1e-12)
    assert 0 < run.compute_equivalents["deadline_days"] < DAY_FLOPS


@pytest.mark.parametrize("sharding", ["none", "zero1", "zero2", "zero3"])
def test_memory_per_accelerator_is_the_planning_model(sharding):
    run = solve(dict(max_cost=1e6, n_accelerators=64), sharding)
    per_param = run.memory["bytes_per_param_replicated"] + run.memory["bytes_per_param_sharded"] / 64
    expected = bytes_per_accelerator(training_memory(7e9), 64, sharding)
    assert 7e9 * per_param == pytest.approx(expected, rel=1e-15)
    assert run.caps["n_params_max_from_memory"] * expected / 7e9 == pytest.approx(80e9, rel=1e-12)


def test_json_names_say_their_units_and_the_result_follows_the_protocol(scenarios):
    run = scenarios["data"]
    assert isinstance(run, optimal.Result)
    data = json.loads(json.dumps(run.to_dict(), allow_nan=False))
    for name, entry in data["shadow_prices"].items():
        assert f"shadow_price_loss_per_{UNITS[name]}" in entry and f"compute_equivalent_flops_per_{UNITS[name]}" in entry
    assert data["unique_data"] == "cap" and data["binding"] == list(run.binding)
    assert "deadline_days" in run.summary() and any(n.code == "unique-data" for n in run.notes)


@pytest.mark.slow  # compiles the vmapped program (~5 s)
def test_draws_answer_each_with_its_own_law_as_one_program(done_when):
    theta = np.asarray(CHINCHILLA.to_fitting({k: float(v) for k, v in LAW._asdict().items()}))
    good = theta + np.random.default_rng(0).normal(0, 0.01, (6, theta.size))
    draws = types.SimpleNamespace(good=good, fit=types.SimpleNamespace(family=CHINCHILLA, group_labels=None),
                                  confidence=0.9, n_resamples=6)
    limits = dict(deadline_days=30, n_accelerators=1024)
    run = solve(limits, draws=draws)
    each = [solve(limits, law=CHINCHILLA.law_from_theta(g)) for g in good]
    ci = run.intervals
    assert ci["n_draws"] == 6 and ci["n_not_converged"] == 0 and ci["n_binding"]["deadline_days"] == 6
    for key, values in (("n_params", [r.n_params for r in each]), ("loss_nats", [r.loss_nats for r in each])):
        assert ci[key]["lo"] == pytest.approx(np.percentile(values, 5), rel=1e-9)
        assert ci[key]["hi"] == pytest.approx(np.percentile(values, 95), rel=1e-9)
    prices = [r.shadow_prices["deadline_days"] for r in each]
    assert ci["shadow_prices"]["deadline_days"]["lo"] == pytest.approx(np.percentile(prices, 5), rel=1e-9)
    assert "intervals" in run.to_dict()["shadow_prices"]["deadline_days"]


@pytest.mark.slow  # compiles the bracketed solver's derivatives (~15 s)
def test_a_data_constrained_law_takes_the_unique_tokens_as_its_u():
    law = optimal.preset("muennighoff2023")
    limits = dict(deadline_days=30, n_accelerators=1024, unique_tokens=1e11)
    run = solve(limits, law=law)
    assert run.unique_data == "law" and run.caps["n_tokens_max_from_unique_data"] is None
    assert run.n_tokens > 1e11  # it repeats the unique data
    reference = optimal.data_constrained_optimal(law, 30 * DAY_FLOPS, 1e11)
    assert run.n_params == pytest.approx(float(reference.n_params), rel=1e-9)
    up, down = (solve(dict(limits, unique_tokens=1e11 * (1 + s * 1e-4)), law=law).loss_nats for s in (1, -1))
    assert run.shadow_prices["unique_tokens"] == pytest.approx((up - down) / (2e-4 * 1e11), rel=1e-6)


# with a context: activations in the memory cap (a layout of 256 accelerators, ZeRO-1, full recomputation, where the
# cap falls inside one shape's range of N) and attention in the FLOPs; one compiled program for all of them
CONTEXT = dict(layout=Layout(zero=1, recompute="full"), context=2048, micro_batch=1)
ACTIVE = dict(deadline_days=365.0, n_accelerators=256)


@pytest.fixture(scope="module")
def with_activations():
    return solve(ACTIVE, None, **CONTEXT)


def test_activations_cap_n_where_the_layout_memory_fills_the_accelerator(with_activations):
    run = with_activations
    assert run.ok and set(run.binding) == {"deadline_days", "n_accelerators", "memory"}
    assert run.memory["cap_at"] == "root" and run.memory["activation_bytes_at_cap"] > 0
    n = run.n_params
    assert n == pytest.approx(run.caps["n_params_max_from_memory"], rel=1e-12)
    shape = shape_for_params(n)  # the shape optimal plan builds for N
    assert shape.n_layer == run.memory["shape_at_cap"]["n_layer"]
    held = layout_memory(n, shape, Layout(1, 1, 256, 1, 1, False, "full"), 1, 2048)
    assert held.total_bytes == pytest.approx(80e9, rel=1e-12) and held.activations > 0.01 * held.total_bytes
    # attention FLOPs: C = k (N + n_layer context d_model) D at the aspect ratio
    flops = optimal.FlopsPerToken.attention(2048, aspect_ratio=128.0)
    assert run.compute_flops == pytest.approx(float(flops.training(n)) * run.n_tokens, rel=1e-12)
    assert run.flops_model["context"] == 2048 and any(note.code == "attention-flops" for note in run.notes)


def test_activations_cap_prices_agree_with_finite_differences(with_activations):
    """The cap's root moves with the accelerators through the sharded state (ZeRO-1): d N_max / d n, exact, against
    steps of one accelerator (h = 1/256: truncation ~1.5e-5 relative: rtol 1e-4)."""
    for limit, step, rtol in (("n_accelerators", 1, 1e-4), ("deadline_days", 365e-4, 1e-6)):
        up, down = (solve(dict(ACTIVE, **{limit: ACTIVE[limit] + s * step}), None, **CONTEXT).loss_nats
                    for s in (1, -1))
        assert with_activations.shadow_prices[limit] == pytest.approx((up - down) / (2 * step), rel=rtol), limit
    # without the activations the same accelerators hold a larger model
    assert with_activations.n_params < solve(ACTIVE, "zero1").caps["n_params_max_from_memory"]


def test_a_cap_where_the_shapes_change_is_the_last_shape_that_fits():
    """Tensor parallel 2 skips the shapes of odd heads; the memory jumps past the accelerator's at the next even one:
    N_max is the top of the last shape laid out, and more accelerators do not move it (ZeRO-1 shards little)."""
    layout = Layout(tensor=2, pipeline=2, zero=1, sequence_parallel=True, recompute="selective")
    run = solve(dict(deadline_days=365.0, n_accelerators=64), None, layout=layout, context=4096, micro_batch=2)
    assert run.memory["cap_at"] == "boundary" and "memory" in run.binding
    n = run.n_params
    top = shape_for_params(n)
    assert top.n_layer == run.memory["shape_at_cap"]["n_layer"] and top.n_heads % 2 == 0
    assert shape_for_params(n * (1 + 1e-9)).n_layer == top.n_layer + 1
    assert layout_memory(n, top, Layout(2, 2, 16, 1, 1, True, "selective"), 2, 4096).total_bytes <= 80e9
    assert run.to_dict()["memory"]["bytes_per_param_sharded"] is None


@pytest.mark.parametrize("call, message", [
    (lambda: solve(dict(max_cost=10), None, layout=Layout()), "give the context"),
    (lambda: solve(dict(max_cost=10), "zero1", layout=Layout(), context=2048), "not both"),
    (lambda: solve(dict(max_cost=10, n_accelerators=6), None, layout=Layout(tensor=4), context=2048),
     "not a multiple of tensor x pipeline"),
    (lambda: Constraints(deadline_days=30), "deadline_days needs n_accelerators"),
    (lambda: Constraints(max_cost=-1), "max_cost must be a positive finite number"),
    (lambda: Constraints(n_accelerators=1.5, max_cost=1), "n_accelerators"),
    (lambda: solve(dict(n_accelerators=8)), "nothing caps compute"),
    (lambda: solve(dict(max_energy_mwh=10), accelerator="tpu-v5e"), "give power_watts"),
    (lambda: solve(dict(max_cost=10), price_per_accelerator_hour=0),
     r"caps nothing: give the price \(price_per_accelerator_hour, --price-per-hour\)"),
    (lambda: solve(dict(max_cost=10), sharding="zero4"), "unknown sharding"),
    # a limit buying less than one parameter trained on one token, or more than a plan computes with, is named (the
    # solve blamed the law: "the loss does not fall with compute here ... check the law")
    (lambda: solve(dict(deadline_days=1e-300, n_accelerators=1024)),
     r"^deadline_days 1e-300: its compute 3.5\d*e-278 FLOPs is below one parameter trained on one token \(k = 6"),
    (lambda: solve(dict(max_energy_mwh=1e300)), r"^max_energy_mwh 1e\+300 buys more than 1e\+40 FLOPs \(MAX_COMPUTE\)"),
    (lambda: solve(dict(max_cost=1e4), mfu=1e-300), r"^max_cost 10000: its compute .* FLOPs is below one parameter"),
])
def test_bad_input_is_a_planning_error_that_says_what_to_fix(call, message):
    with pytest.raises(PlanningError, match=message):
        call()
