"""Inputs a CLI fuzz found answered wrongly or with a traceback (session 13, two rounds over every command), each now
one ``error:`` line: a loss flat in compute under a deadline, a sweep value far off the others, a context beyond any
model's, a budget below one token of the model asked for or one parameter trained on one token, ``--bootstrap 1``,
a target loss a limited-data law cannot reach, and a warning met on the way to a refusal (said only when the
command answers)."""

import math
from pathlib import Path

from cli_helpers import assert_one_error, run, strict
from optimal.analysis.flop_audit import synthetic_shaped_runs

ROOT = Path(__file__).resolve().parents[2]


def _sweep(tmp_path, far=None):
    """A learning-rate sweep: 8 (N, D) settings x 7 rates around lr* = 0.3 C^-0.125; ``far`` replaces one rate."""
    rows = []
    for n in (1e7, 3e7, 1e8, 3e8):
        for d in (1e9, 4e9):
            best = 0.3 * (6 * n * d) ** -0.125
            rows += [[n, d, best * 2.0 ** s, 3.0 + 0.05 * (s * math.log(2)) ** 2] for s in range(-3, 4)]
    if far is not None:
        rows[2][2] = far
    path = tmp_path / "sweep.csv"
    path.write_text("N,D,lr,loss\n" + "".join(",".join(repr(v) for v in row) + "\n" for row in rows))
    return path


def test_a_loss_flat_in_compute_has_no_best_run(capsys):
    # U = 1 token: the data-constrained law's discounts saturate and the loss does not fall with compute (a
    # ZeroDivisionError before: the limits' compute equivalents divide by dL*/dC)
    for argv in (["--deadline-days", "30", "--accelerators", "1024"], ["--max-cost", "1e5"]):
        assert_one_error(*run(capsys, ["plan", *argv, "--unique-tokens", "1"]),
                         "the loss does not fall with compute here (dL*/dC = 0")
    code, out, err = run(capsys, ["plan", "--max-cost", "1e5", "--unique-tokens", "1e11", "--json"])
    assert code == 0 and strict(out)["question"], err


def test_a_sweep_value_far_off_the_others(capsys, tmp_path):
    assert_one_error(*run(capsys, ["hparams", _sweep(tmp_path, far=1e300), "--param", "lr"]),
                     "the fitted law's coefficient exp(")
    code, out, err = run(capsys, ["hparams", _sweep(tmp_path), "--param", "lr"])
    assert code == 0 and "learning rate* = 0.3 C^-0.125" in out, err


def test_hparams_bootstrap_of_one_is_refused(capsys, tmp_path):
    assert_one_error(*run(capsys, ["hparams", _sweep(tmp_path), "--param", "lr", "--bootstrap", "1", "--compute",
                                   "1e22"]), "--bootstrap must be 0 (no intervals) or at least 2 resamples, got 1")


def test_a_context_beyond_any_model(capsys, tmp_path):
    runs, shapes, contexts = synthetic_shaped_runs(12, n_range=(1e8, 3e10), noise=0.005, seed=0)
    contexts = [1e300] + list(contexts[1:])  # attention FLOPs overflowed: an error about compute, after a warning
    rows = [f"{n!r},{d!r},{y!r},{s.n_layer},{s.d_model},{s.n_heads},{s.ffn_width},1,{s.vocab_size},{c:g}"
            for n, d, y, s, c in zip(runs.n_params.tolist(), runs.n_tokens.tolist(), runs.loss.tolist(), shapes,
                                     contexts)]
    path = tmp_path / "shaped.csv"
    path.write_text("N,D,loss,n_layer,d_model,n_heads,d_ff,gated_ffn,vocab_size,context\n" + "\n".join(rows) + "\n")
    assert_one_error(*run(capsys, ["audit", path]),
                     "context (tokens per training sequence) must be a number from 1 to 1e+09, got 1e+300")


def test_budgets_below_one_token_or_one_parameter(capsys):
    # a 6.7e9-parameter shape given 1 FLOP trained on 2.5e-11 tokens, and answered
    assert_one_error(*run(capsys, ["plan", "--shape", "llama2-7b", "--compute", "1"]),
                     "compute 1 FLOPs buys 2.47e-11 tokens")
    assert_one_error(*run(capsys, ["envelope", ROOT / "examples" / "curves.csv", "--compute", "1e-300", "6",
                                   "--parametric", "none"]),
                     "target budget 1e-300 FLOPs is below one parameter trained on one token (k = 6 FLOPs)")
    assert_one_error(*run(capsys, ["envelope", ROOT / "examples" / "curves.csv", "--slices", "1", "1e19",
                                   "--parametric", "none"]),
                     "slice budget 1 FLOPs is below one parameter trained on one token (k = 6 FLOPs)")


def test_an_error_is_said_alone(capsys):
    # the hyperparameter law warned (C far below its range) before the shape was refused: the error is the one line
    code, out, err = run(capsys, ["plan", "--compute", "6e3", "--snap-shape", "llama"])
    assert_one_error(code, out, err, "compute 6e+03 FLOPs is too small for a llama shape")
    # and when the command answers, the same warning is said
    code, out, err = run(capsys, ["plan", "--compute", "1e12", "--snap-shape", "llama"])
    assert code == 0 and "outside the range DeepSeek LLM" in err, err


def test_a_target_a_limited_data_law_cannot_reach(capsys):
    code, out, err = run(capsys, ["plan", "--target-loss", "2.5", "--unique-tokens", "1e9"])
    assert_one_error(code, out, err, "target loss 2.5 could not be reached by this law")
    assert "nan" not in err
