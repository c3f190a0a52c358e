"""Serving priced on its own terms: prefill compute bound, decode bandwidth bound (checked against hand arithmetic
from the tables), the cost per million tokens, and the FLOPs weight that is independent of N."""

import math

import pytest

from optimal.errors import PlanningError
from optimal.planning import accelerator
from optimal.planning.accelerators import ACCELERATORS, MEMORY_BANDWIDTH
from optimal.planning.serving import inference_flops_weight, serving_cost, training_cost_per_flop


def test_every_table_accelerator_has_a_sourced_bandwidth():
    assert set(MEMORY_BANDWIDTH) == set(ACCELERATORS)
    assert all(1e11 < value < 1e14 and source for value, source in MEMORY_BANDWIDTH.values())


def test_decode_is_the_weights_read_at_the_bandwidth():
    # 7e9 bf16 parameters = 14 GB read per step at 3.35 TB/s, one sequence: 4.179 ms per token
    s = serving_cost(7e9, accelerator="h100", precision="bf16", decode_batch=1, bandwidth_utilisation=1.0, mfu=0.5)
    assert s.decode_bound == "memory"
    assert s.decode_seconds_per_token == pytest.approx(14e9 / 3.35e12, rel=1e-12)
    assert s.prefill_seconds_per_token == pytest.approx(2 * 7e9 / (989.5e12 * 0.5), rel=1e-12)
    # a large batch makes decode compute bound: the prefill's time per token
    big = serving_cost(7e9, accelerator="h100", decode_batch=1e6)
    assert big.decode_bound == "compute" and big.decode_seconds_per_token == big.prefill_seconds_per_token


def test_cost_per_million_tokens_and_the_blend():
    s = serving_cost(7e9, accelerator="h200", precision="fp8", price_per_accelerator_hour=3.6, prompt_share=0.25)
    assert s.cost_decode_per_million_tokens == pytest.approx(s.decode_seconds_per_token * 3.6 / 3600 * 1e6)
    assert s.cost_per_million_tokens == pytest.approx(0.25 * s.cost_prefill_per_million_tokens
                                                      + 0.75 * s.cost_decode_per_million_tokens)
    assert s.bytes_per_param == 1.0 and s.assumptions["prompt_share"]["from"] == "argument"
    assert s.assumptions["decode_batch"]["from"] == "default"
    # a mixture of experts: FLOPs from the active parameters, bytes read from all of them
    moe = serving_cost(12.9e9, total_params=46.7e9, accelerator="h100", decode_batch=1)
    assert moe.decode_seconds_per_token == pytest.approx(46.7e9 * 2 / (3.35e12 * 0.8))
    assert moe.accelerators_to_hold_weights == math.ceil(46.7e9 * 2 / 80e9)


def test_the_flops_weight_does_not_depend_on_n():
    per_flop = training_cost_per_flop("h100", "bf16", 0.4, 2.0)
    assert per_flop == pytest.approx(2.0 / (3600 * 989.5e12 * 0.4))
    weights = [inference_flops_weight(serving_cost(n, accelerator="mi300x"), per_flop) for n in (1e8, 7e9, 4e11)]
    assert weights == pytest.approx([weights[0]] * 3, rel=1e-12)
    # serving on the training accelerator, compute bound, at the training MFU and price: the plain 2 N
    same = serving_cost(1e9, accelerator="h100", decode_batch=1e9, mfu=0.4, price_per_accelerator_hour=2.0)
    assert inference_flops_weight(same, per_flop) == pytest.approx(2.0, rel=1e-12)


@pytest.mark.parametrize("kwargs, message", [
    (dict(mfu=0), "serving mfu must be above 0"),
    (dict(bandwidth_utilisation=1.5), "bandwidth_utilisation must be above 0 and at most 1"),
    (dict(decode_batch=0.5), "decode_batch must be at least 1"),
    (dict(prompt_share=-0.1), "prompt_share"),
    (dict(precision="int4"), "has no published peak"),
    (dict(total_params=1e6), "less than the active"),
    (dict(accelerator="tpu-v9"), "unknown accelerator"),
])
def test_bad_inputs_name_what_to_fix(kwargs, message):
    with pytest.raises(PlanningError, match=message):
        serving_cost(7e9, **kwargs)


def test_an_accelerator_outside_the_table_needs_its_bandwidth():
    custom = accelerator("h100-sxm").__class__("mine", {"bf16": 1e15}, 96e9, 800.0, "user")
    with pytest.raises(PlanningError, match="no memory bandwidth"):
        serving_cost(7e9, accelerator=custom)
    assert serving_cost(7e9, accelerator=custom, bandwidth_bytes_per_second=4e12).assumptions["bandwidth"]["from"] \
        == "argument"
