"""The FLOP audit: the per-token count of a shape, the FLOPs model of N, and the shift of N*(C) between C = 6ND and
the exact FLOPs on synthetic runs with known shapes, checked against an independent brute-force optimum."""

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest

from optimal.analysis.flop_audit import (FlopAudit, fit_flops_model, flop_audit, flops_per_token, read_shaped_runs,
                                         synthetic_shaped_runs)
from optimal.data.synthetic import DEFAULT_TRUTH
from optimal.errors import DataError
from optimal.planning.shapes import PUBLISHED_SHAPES, TransformerShape, parameter_count
from optimal._util.results import Result
from optimal._util.stats import few_draws_message

CONTEXT = 4096
BUDGETS = (1e21, 1e22)


def _by_hand(shape, context, mask="causal"):
    """Forward FLOPs per token written out matrix by matrix, independently of parameter_count."""
    d, layers, q = shape.d_model, shape.n_layer, shape.n_heads * shape.head_width
    kv = shape.kv_heads * shape.head_width
    ffn = (3 if shape.gated_ffn else 2) * d * shape.ffn_width * shape.experts_per_token
    router = d * shape.n_experts if shape.n_experts > 1 else 0
    per_layer = 2 * (d * q + 2 * d * kv + q * d + ffn + router)
    scores_values = (2 if mask == "causal" else 4) * context * q
    return layers * (per_layer + scores_values) + 2 * shape.vocab_size * d


@pytest.mark.parametrize("name", ["llama2-7b", "qwen2-72b", "mixtral-8x7b"])
@pytest.mark.parametrize("mask", ["causal", "full"])
def test_count_matches_a_count_by_hand(name, mask):
    shape = PUBLISHED_SHAPES[name].shape
    f = flops_per_token(shape, 4096, mask)
    assert f.forward == _by_hand(shape, 4096, mask)
    assert f.training == 3 * f.forward


def test_conventions_gqa_moe_and_embeddings():
    mha = TransformerShape(n_layer=4, d_model=512, n_heads=8, vocab_size=1000)
    gqa = TransformerShape(n_layer=4, d_model=512, n_heads=8, n_kv_heads=2, vocab_size=1000)
    # GQA shrinks the key and value projections (2 x 2 d kv_width per layer) and nothing else: scores unchanged
    saved = 4 * 2 * 2 * 512 * (512 - 128)
    assert flops_per_token(mha, 1024).forward - flops_per_token(gqa, 1024).forward == saved
    assert flops_per_token(mha, 1024).attention == flops_per_token(gqa, 1024).attention == 2 * 4 * 1024 * 512
    # the causal mask counts half the s^2 work of the full one
    assert flops_per_token(mha, 1024, "full").attention == 2 * flops_per_token(mha, 1024).attention
    # embeddings are lookups: tying or untying them, or learned positions, changes no FLOPs
    untied = TransformerShape(n_layer=4, d_model=512, n_heads=8, vocab_size=1000, tied_embeddings=False, positions=64)
    assert flops_per_token(untied, 1024).forward == flops_per_token(mha, 1024).forward
    # a mixture of experts computes with its active experts only (Mixtral: 2 of 8)
    moe = PUBLISHED_SHAPES["mixtral-8x7b"].shape
    counts = parameter_count(moe)
    f = flops_per_token(moe, 1)
    assert f.linear == 2 * (counts.active_non_embedding - counts.parts["norms"])  # no biases, no embeddings


def test_bad_mask_and_context_are_refused():
    shape = PUBLISHED_SHAPES["llama2-7b"].shape
    with pytest.raises(DataError, match="mask"):
        flops_per_token(shape, 4096, "sliding")
    with pytest.raises(DataError, match="context"):
        flops_per_token(shape, 0)


def test_flops_model_is_exact_on_its_own_form():
    n = np.geomspace(1e8, 1e10, 12)
    m = 6 * (0.9 * n + 3.0 * n ** (2 / 3))
    model, miss = fit_flops_model(n, m)
    assert miss < 1e-9
    assert np.allclose(np.asarray(model.training(n)), m, rtol=1e-9)


def _brute_force_n_star(compute, context=CONTEXT, vocab=32000, ratio=128.0):
    """N* on C = M(N) D for the truth law, over a continuous family of shapes (d_model = ratio n_layer, SwiGLU FFN of
    8/3 d_model, untied embeddings, RMSNorm): N and the training FLOPs per token M written out here, a fine grid."""
    layers = np.linspace(2, 300, 300001)
    d = ratio * layers
    n = 12 * layers * d**2 + 2 * vocab * d + (2 * layers + 1) * d
    m = 6 * (12 * layers * d**2 + vocab * d) + 6 * layers * context * d
    t = DEFAULT_TRUTH
    loss = t.E + t.A / n**t.alpha + t.B / (compute / m) ** t.beta
    six = t.E + t.A / n**t.alpha + t.B / (compute / (6 * n)) ** t.beta
    return n[np.argmin(loss)], n[np.argmin(six)]


@pytest.fixture(scope="module")
def audit():
    runs, shapes, contexts = synthetic_shaped_runs(30, n_range=(1e8, 3e10), context=CONTEXT, seed=0)
    return flop_audit(runs, shapes, contexts, compute=BUDGETS)


@pytest.mark.slow  # one fit (compiled) shared by the three tests below: seconds on a quiet machine
def test_audit_follows_the_result_protocol(audit):
    assert isinstance(audit, FlopAudit) and isinstance(audit, Result)
    assert audit.ok and audit.n_runs == 30
    d = audit.to_dict()
    r = d["ratio"]
    assert set(r) == {"min", "median", "max"} and r["min"] <= r["median"] <= r["max"]
    assert "N*" in audit.summary() and d["intervals"] == {}


@pytest.mark.slow
def test_shift_of_n_star_matches_an_independent_optimum(audit):
    """Done-when: the audit's exact / 6ND shift of N*(C) has the sign and size of a brute-force optimum over shapes
    counted by hand (within 0.5% of N*: the shapes of shape_for_params are rounded, the brute force's are not)."""
    for i, c in enumerate(BUDGETS):
        exact, six = _brute_force_n_star(c)
        truth_shift = exact / six
        assert truth_shift < 0.99  # attention makes small models dearer than 6N: the optimum moves down, by > 1%
        assert audit.six["N"][i] == pytest.approx(six, rel=2e-3)  # the fit recovers the truth's 6ND optimum
        assert audit.n_shift[i] < 1
        assert audit.n_shift[i] == pytest.approx(truth_shift, abs=5e-3)


@pytest.mark.slow
def test_ratio_per_run_is_exact_over_six_nd(audit):
    runs, shapes, contexts = synthetic_shaped_runs(30, n_range=(1e8, 3e10), context=CONTEXT, seed=0)
    expected = [flops_per_token(s, c).training / (6 * n) for s, c, n in zip(shapes, contexts, runs.n_params)]
    assert np.allclose(audit.ratio, expected, rtol=1e-12)
    # the small models' untied input embedding is in N but costs no FLOPs; the large ones' attention costs more
    assert audit.ratio[np.argmin(runs.n_params)] < 1 < audit.ratio[np.argmax(runs.n_params)]


@pytest.mark.slow
def test_too_few_draws_for_the_level_are_warned(audit):
    """The audit's intervals rank its converged draws: 8 of them at 95% get the "few-draws" warning of
    ``few_draws_message``; none without draws, none at 75% (12.5% a tail)."""
    few = dataclasses.replace(audit, n_resamples=10, n_failed_draws=2)
    assert [w.message for w in few.warnings if w.code == "few-draws"] == [few_draws_message(8, 0.95)]
    assert "few-draws" not in [w.code for w in audit.warnings]
    assert "few-draws" not in [w.code for w in dataclasses.replace(few, confidence=0.75).warnings]


@pytest.mark.slow
def test_bootstrap_intervals_cover_the_point():
    runs, shapes, contexts = synthetic_shaped_runs(30, n_range=(1e8, 3e10), noise=0.01, seed=2)
    audit = flop_audit(runs, shapes, contexts, compute=(1e21,), n_resamples=6, seed=1)
    band = audit.intervals["N_shift"][0]
    assert band["lo"] <= band["hi"] and audit.n_failed_draws == 0
    assert band["lo"] - 0.01 <= audit.n_shift[0] <= band["hi"] + 0.01
    assert set(audit.intervals) == {"N_shift", "tokens_per_param_6nd", "tokens_per_param_exact", "exponent_shift"}


def _write(path, runs, shapes, contexts, extra=""):
    head = "N,D,loss,n_layer,d_model,n_heads,n_kv_heads,d_ff,gated_ffn,vocab_size,context" + extra
    rows = [f"{n!r},{d!r},{l!r},{s.n_layer},{s.d_model},{s.n_heads},{s.kv_heads},{s.ffn_width},{int(s.gated_ffn)},"
            f"{s.vocab_size},{c:g}" for n, d, l, s, c in zip(runs.n_params.tolist(), runs.n_tokens.tolist(),
                                                          runs.loss.tolist(), shapes, contexts)]
    path.write_text(head + "\n" + "\n".join(rows) + "\n")


def test_reader_gives_back_the_shapes(tmp_path):
    runs, shapes, contexts = synthetic_shaped_runs(8, seed=3)
    path = tmp_path / "runs.csv"
    _write(path, runs, shapes, contexts)
    read, read_shapes, read_contexts = read_shaped_runs(path)
    assert np.array_equal(read.n_params, runs.n_params) and np.array_equal(read_contexts, contexts)
    assert [flops_per_token(s, 4096).forward for s in read_shapes] == [flops_per_token(s, 4096).forward for s in shapes]


def test_reader_refuses_a_fraction_and_unknown_fields(tmp_path):
    runs, shapes, contexts = synthetic_shaped_runs(8, seed=3)
    path = tmp_path / "runs.csv"
    _write(path, runs, shapes, contexts)
    text = path.read_text().splitlines()
    cells = text[1].split(",")
    cells[3] = "2.5"
    path.write_text("\n".join([text[0], ",".join(cells), *text[2:]]) + "\n")
    with pytest.raises(DataError, match="n_layer"):
        read_shaped_runs(path)
    with pytest.raises(DataError, match="unknown shape field"):
        read_shaped_runs(path, shape_cols={"layers": "n_layer"})


CONFIGS = Path(__file__).resolve().parents[1] / "planning" / "data"


def test_reader_takes_shapes_from_config_files(tmp_path):
    """A config column: relative paths from the CSV's folder, absolute ones as given; the published counts."""
    (tmp_path / "cfg").mkdir()
    shutil.copy(CONFIGS / "llama-2-7b-hf.config.json", tmp_path / "cfg" / "llama.json")
    mixtral = CONFIGS / "mixtral-8x7b-v0.1.config.json"
    path = tmp_path / "runs.csv"
    rows = [f"6.7e9,{d}e11,2.1,cfg/llama.json,{c}" for d, c in ((1, 4096), (2, 2048), (3, 4096), (4, 4096), (5, 4096))]
    path.write_text("N,D,loss,config,context\n" + "\n".join(rows) + f"\n4.67e10,2e11,2.0,{mixtral},4096\n")
    runs, shapes, contexts = read_shaped_runs(path, config_col="config")
    assert [parameter_count(s).total for s in shapes[:5]] == [6738415616] * 5 and len(runs.n_params) == 6
    assert round(parameter_count(shapes[5]).total / 1e9, 1) == 46.7 and shapes[5].n_experts == 8
    assert contexts.tolist() == [4096.0, 2048.0, 4096.0, 4096.0, 4096.0, 4096.0]
    path.write_text(path.read_text().replace("cfg/llama.json", "cfg/missing.json"))
    with pytest.raises(DataError, match="data row 1, column config: cannot read config file .*missing.json"):
        read_shaped_runs(path, config_col="config")
    with pytest.raises(DataError, match="name no shape column but context"):
        read_shaped_runs(path, config_col="config", shape_cols={"n_layer": "layers"})


def test_synthetic_runs_count_their_shapes():
    runs, shapes, _ = synthetic_shaped_runs(4, seed=5)
    assert [float(parameter_count(s).total) for s in shapes] == runs.n_params.tolist()
