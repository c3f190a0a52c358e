"""``optimal audit``: strict JSON with its schema, text with its assumptions, and one-line errors."""

import pytest

from cli_helpers import assert_one_error, run, strict
from optimal.analysis.flop_audit import synthetic_shaped_runs


@pytest.fixture(scope="module")
def runs_csv(tmp_path_factory):
    runs, shapes, contexts = synthetic_shaped_runs(24, n_range=(1e8, 3e10), noise=0.005, seed=0)
    path = tmp_path_factory.mktemp("audit") / "shaped.csv"
    rows = [f"{n!r},{d!r},{l!r},{s.n_layer},{s.d_model},{s.n_heads},{s.ffn_width},1,{s.vocab_size},{c:g}"
            for n, d, l, s, c in zip(runs.n_params.tolist(), runs.n_tokens.tolist(), runs.loss.tolist(), shapes,
                                     contexts)]
    path.write_text("N,D,loss,layers,d_model,n_heads,d_ff,gated_ffn,vocab_size,context\n" + "\n".join(rows) + "\n")
    return path


@pytest.mark.slow  # one fit
def test_json_has_the_schema_and_the_shift(capsys, runs_csv):
    code, out, err = run(capsys, ["audit", runs_csv, "--shape-col", "n_layer=layers", "--compute", "1e21", "--json"])
    assert code == 0, err
    d = strict(out)
    assert d["schema"] == "optimal.audit/1" and d["law"]["family"]
    assert d["mask"] == "causal" and d["n_runs"] == 24 and d["compute"] == [1e21]
    assert d["N_shift"][0] == pytest.approx(d["exact"]["N"][0] / d["six_nd"]["N"][0])
    assert 0.95 < d["N_shift"][0] < 1.0  # attention moves N* down a few percent (tests/analysis checks the size)
    assert d["ratio"]["min"] < 1 < d["ratio"]["max"] and d["intervals"] == {}


@pytest.mark.parametrize("argv, message", [
    (["--flops-col", "C"], "--flops-col"),
    (["--bootstrap", "1"], "--bootstrap"),
    (["--shape-col", "depth=layers"], "unknown shape field depth"),
    (["--config-col", "config"], "config"),  # no such column: the message names it
    ([], "layers"),  # n_layer is not a column of this file: the message lists the ones there are
])
def test_bad_input_is_one_line(capsys, runs_csv, argv, message):
    code, out, err = run(capsys, ["audit", runs_csv, *argv])
    assert_one_error(code, out, err, message)
