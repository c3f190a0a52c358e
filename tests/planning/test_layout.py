"""Parallel layout: where the parameters sit (t x p, experts e ways, embeddings on the first stage), what ZeRO shards
over the data-parallel replicas, the largest micro-batch that fits, and the search's best layout under its stated
throughput model. Expected values are computed here from the counts, not taken from the module."""

import pytest

from optimal.errors import PlanningError
from optimal.planning import (
    PUBLISHED_SHAPES,
    Layout,
    activation_memory,
    largest_micro_batch,
    layout_memory,
    memory_per_accelerator,
    parameter_count,
    search_layouts,
)
from optimal.planning.layout import MEGATRON_BYTES_PER_PARAM, recompute_factor

GPT3 = PUBLISHED_SHAPES["gpt3-175b"].shape
MIXTRAL = PUBLISHED_SHAPES["mixtral-8x7b"].shape
N = float(parameter_count(GPT3).total)


def test_gpt3_on_64_accelerators_holds_its_shard_and_korthikanti_activations():
    layout = Layout(tensor=8, pipeline=8, sequence_parallel=True, recompute="selective")
    memory = layout_memory(N, GPT3, layout, 1, 2048)
    counts = parameter_count(GPT3)
    # the first stage: 12 of 96 layers split 8 ways, and the (tied) token and position embeddings split 8 ways
    held = (counts.total - counts.embedding) * 12 / 96 / 8 + counts.embedding / 8
    assert memory.params_held == pytest.approx(held, rel=1e-12)
    assert memory.model_state_bytes == pytest.approx(16 * held, rel=1e-12)  # mixed-precision Adam: 2 + 2 + 12
    sbh = 2048 * 12288
    assert memory.activations == pytest.approx(96 * 34 * sbh / 8 + sbh * 8 / 8, rel=1e-12)
    assert memory_per_accelerator(N, GPT3, layout, 1, 2048) == memory.total_bytes
    assert MEGATRON_BYTES_PER_PARAM == 18 and any("18 bytes/param" in note for note in memory.notes)


def test_zero_stages_shard_state_over_data_parallel_replicas():
    base = dict(tensor=8, pipeline=4, data=8)
    parts = {z: layout_memory(N, GPT3, Layout(**base, zero=z), 1, 2048) for z in range(4)}
    w, g, o = parts[0].weights, parts[0].gradients, parts[0].optimizer_state
    assert (w, g, o) == pytest.approx((2 * parts[0].params_held, 2 * parts[0].params_held, 12 * parts[0].params_held))
    assert (parts[1].weights, parts[1].gradients, parts[1].optimizer_state) == pytest.approx((w, g, o / 8))
    assert (parts[2].weights, parts[2].gradients, parts[2].optimizer_state) == pytest.approx((w, g / 8, o / 8))
    assert (parts[3].weights, parts[3].gradients, parts[3].optimizer_state) == pytest.approx((w / 8, g / 8, o / 8))
    assert len({m.activations for m in parts.values()}) == 1  # ZeRO does not touch activations


def test_experts_split_over_expert_parallel_groups():
    total = float(parameter_count(MIXTRAL).total)
    one = layout_memory(total, MIXTRAL, Layout(data=8), 1, 4096)
    eight = layout_memory(total, MIXTRAL, Layout(data=8, expert=8), 1, 4096)
    experts = parameter_count(MIXTRAL).parts["ffn"]
    assert one.parts["experts"] == pytest.approx(experts, rel=1e-12)
    assert eight.parts["experts"] == pytest.approx(experts / 8, rel=1e-12)
    assert eight.parts["layers"] == one.parts["layers"]
    # untied and p = 1: the first stage is also the last, holding embedding and unembedding
    assert one.parts["embedding"] == pytest.approx(2 * 32000 * 4096, rel=1e-12)


def test_largest_micro_batch_fits_and_one_more_does_not():
    layout = Layout(tensor=8, pipeline=8, sequence_parallel=True, recompute="selective")
    b = largest_micro_batch(N, GPT3, layout, 2048, "a100-80gb")
    assert b >= 1
    assert memory_per_accelerator(N, GPT3, layout, b, 2048) <= 80e9 < memory_per_accelerator(N, GPT3, layout, b + 1, 2048)
    assert largest_micro_batch(N, GPT3, Layout(), 2048, "a100-80gb") == 0  # 175B on one accelerator


def test_given_activations_replace_the_estimate():
    layout = Layout(tensor=8, pipeline=8)
    given = layout_memory(N, GPT3, layout, 1, 2048, activation_bytes=5e9)
    estimated = layout_memory(N, GPT3, layout, 1, 2048)
    assert given.activations == 5e9 and given.activation is None
    assert given.total_bytes == pytest.approx(estimated.model_state_bytes + 5e9, rel=1e-12)


def test_search_returns_the_best_feasible_layout_under_its_model():
    result = search_layouts(N, GPT3, 512, "a100-80gb", 2048, global_batch=512)
    best = result.best
    assert best is not None and best.memory.total_bytes <= 80e9
    for candidate in result.ranked:
        assert candidate.relative_throughput <= best.relative_throughput
        assert candidate.layout.tensor <= 8 and 96 % candidate.layout.tensor == 0
        m = 512 // (candidate.layout.data * 1)
        bubble = (candidate.layout.pipeline - 1) / m
        expected = 1 / (recompute_factor(candidate.layout.recompute, GPT3, 2048) * (1 + bubble))
        assert candidate.relative_throughput == pytest.approx(expected, rel=1e-12)
    # the model is stated with the result
    assert "pipeline_bubble" in result.assumptions and result.assumptions["global_batch"]["from"] == "argument"


def test_search_recomputes_only_when_nothing_else_fits():
    # 64 accelerators of 70 GB, one pipeline of 64 micro-batches: without recomputation the activations do not fit
    # (TP 8 x PP 8 needs 79.2 GB), with selective recomputation they do (55.1 GB)
    result = search_layouts(N, GPT3, 64, 70e9, 2048, global_batch=64, zero_stages=(0,))
    assert result.best.layout.recompute == "selective"
    assert result.best.recompute_factor == pytest.approx((1 + 2048 / (3 * 12288) + 50257 / (12 * 12288 * 96)) /
                                                          (1 + 2048 / (6 * 12288) + 50257 / (12 * 12288 * 96)))
    assert all(c.layout.recompute != "none" for c in result.ranked)


def test_no_feasible_layout_is_a_warning():
    result = search_layouts(N, GPT3, 8, "a100-80gb", 2048)
    assert result.best is None and result.feasible == 0 and result.tried > 0
    assert [w.code for w in result.warnings] == ["no-feasible-layout"]


@pytest.mark.parametrize("kwargs, message", [
    (dict(data=4, expert=3), "must divide the data-parallel degree"),
    (dict(zero=4), "ZeRO stage"),
    (dict(recompute="half"), "unknown recompute"),
])
def test_bad_layouts_are_planning_errors(kwargs, message):
    with pytest.raises(PlanningError, match=message):
        Layout(**kwargs)


def test_layouts_that_do_not_fit_the_shape_are_refused():
    with pytest.raises(PlanningError, match="must divide the 96 heads"):
        layout_memory(N, GPT3, Layout(tensor=5), 1, 2048)
    with pytest.raises(PlanningError, match="experts"):
        layout_memory(N, GPT3, Layout(data=2, expert=2), 1, 2048)
    assert activation_memory(GPT3, 1, 2048).total > 0
