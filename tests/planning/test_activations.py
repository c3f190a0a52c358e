"""Activation memory: every row of Korthikanti et al. 2022's Table 2, the first pipeline stage's p micro-batches of
L/p layers (section 4.2.3, Eq. 5), the terms outside the layers (section 4.3), and the paper's printed GPT-3 figures.
The expected values are written out here from the paper, not taken from the module."""

import pytest

from optimal.errors import PlanningError
from optimal.planning import PUBLISHED_SHAPES, TransformerShape, activation_bytes_per_layer, activation_memory

GPT3 = PUBLISHED_SHAPES["gpt3-175b"].shape  # a = 96, h = 12288, L = 96, v = 50257
S, H, A = 2048, 12288, 96


@pytest.mark.parametrize("t", [1, 8])
def test_every_row_of_table_2(t):
    sbh = S * 2 * H  # micro-batch b = 2
    rows = {  # Korthikanti et al. 2022, Table 2 (bytes per transformer layer)
        (False, "none"): sbh * (10 + 24 / t + 5 * A * S / (H * t)),
        (True, "none"): sbh * (34 / t + 5 * A * S / (H * t)),
        (False, "selective"): sbh * (10 + 24 / t),
        (True, "selective"): sbh * (34 / t),
        (False, "full"): sbh * 2,
        (True, "full"): sbh * 2,
    }
    for (sp, recompute), expected in rows.items():
        got = activation_bytes_per_layer(GPT3, 2, S, tensor_parallel=t, sequence_parallel=sp, recompute=recompute)
        assert got == pytest.approx(expected, rel=1e-12), (sp, recompute)
    # with t = 1 the rows are Eq. 1, sbh (34 + 5as/h), with or without sequence parallelism
    if t == 1:
        assert activation_bytes_per_layer(GPT3, 2, S) == pytest.approx(sbh * (34 + 5 * A * S / H), rel=1e-12)


def test_the_papers_gpt3_and_mt_nlg_figures():
    # section 5: "For GPT-3, a = 96, s = 2048, and h = 12288 and as a result 5as/h = 80" (MT-NLG: 64), and selective
    # recomputation "can save 70% and 65% of the required memory for activations"
    mt_nlg = TransformerShape(n_layer=105, d_model=20480, n_heads=128, vocab_size=51200)
    for shape, attention, saving in ((GPT3, 80, 0.70), (mt_nlg, 64, 0.65)):
        kept = activation_bytes_per_layer(shape, 1, S, recompute="none") / (S * shape.d_model)
        assert kept == pytest.approx(34 + attention, rel=1e-12)
        selective = activation_bytes_per_layer(shape, 1, S, recompute="selective")
        assert 1 - selective / activation_bytes_per_layer(shape, 1, S) == pytest.approx(saving, abs=0.005)


def test_first_stage_holds_l_layers_whatever_p():
    # section 4.2.3: p micro-batches in flight x L/p layers = L layers' worth (Eq. 5); the embedding dropout's
    # sbhp/t grows with p (section 4.3), and the output layer's 4sbh/t (1 + v/h) counts only when p = 1
    t, sbh = 8, S * H
    for p in (1, 2, 4, 8, 96):
        memory = activation_memory(GPT3, 1, S, tensor_parallel=t, pipeline_parallel=p, sequence_parallel=True)
        assert memory.layers == pytest.approx(96 * sbh * (34 / t + 5 * A * S / (H * t)), rel=1e-12)
        assert memory.embedding == pytest.approx(sbh * p / t, rel=1e-12)
        assert memory.output == (pytest.approx(4 * sbh / t * (1 + 50257 / H), rel=1e-12) if p == 1 else 0.0)
        assert memory.total == memory.layers + memory.embedding + memory.output


def test_fewer_micro_batches_than_stages_are_fewer_in_flight():
    full = activation_memory(GPT3, 1, S, tensor_parallel=8, pipeline_parallel=8, recompute="selective")
    short = activation_memory(GPT3, 1, S, tensor_parallel=8, pipeline_parallel=8, recompute="selective",
                              n_microbatches=2)
    assert (full.in_flight, short.in_flight) == (8, 2)
    assert short.layers == pytest.approx(full.layers * 2 / 8, rel=1e-12)


def test_other_shapes_are_said_to_be_approximations():
    llama = PUBLISHED_SHAPES["llama2-7b"].shape
    assert any(note.code == "approximation" for note in activation_memory(llama, 1, 4096).notes)
    assert not any(note.code == "approximation" for note in activation_memory(GPT3, 1, 2048).notes)


@pytest.mark.parametrize("kwargs, message", [
    (dict(recompute="some"), "unknown recompute"),
    (dict(pipeline_parallel=97), "more than the shape's 96 layers"),
    (dict(tensor_parallel=0), "tensor_parallel must be an integer"),
    (dict(sequence_parallel="yes"), "sequence_parallel must be true or false"),
])
def test_bad_input_is_a_planning_error(kwargs, message):
    with pytest.raises(PlanningError, match=message):
        activation_memory(GPT3, 1, S, **kwargs)
    with pytest.raises(PlanningError, match="micro_batch"):
        activation_memory(GPT3, 0, S)
