"""``optimal solve --decide``: the decision under the law's uncertainty from a fit record's bootstrap draws, in text
and JSON, the same numbers as ``optimal.decide``, and one-line errors for what it cannot do."""

import numpy as np
import pytest

import optimal
from cli_helpers import assert_one_error, files, run, strict  # noqa: F401  (files is a fixture)


def test_text_prints_the_choice_and_the_deadweights(capsys, files):
    # two budgets and 8 draws: the decision program tests/allocation/test_decide.py compiles too
    code, out, err = run(capsys, ["solve", "--fit", files["record"], "--compute", "1e22", "1e24", "--decide",
                                  "expected-loss"])
    assert code == 0, err
    assert "decision at 1e+22 FLOPs, rule expected-loss over 8 draws: N = " in out
    assert "decision at 1e+24 FLOPs, rule expected-loss over 8 draws: N = " in out
    for row in ("plug-in (best fit)", "chosen (expected-loss)", "20 tokens/param", "deadweight (median)",
                "loss gap (nats)"):
        assert row in out
    assert "N* (params)" in out  # the usual answer comes first, unchanged
    assert "decision: only 8 bootstrap draws" in err


def test_json_adds_a_decision_that_matches_the_library(capsys, files):
    code, out, err = run(capsys, ["solve", "--fit", files["record"], "--compute", "1e22", "1e24", "--json"])
    assert code == 0, err
    plain = strict(out)
    code, out, err = run(capsys, ["solve", "--fit", files["record"], "--compute", "1e22", "1e24", "--json",
                                  "--decide", "expected-loss"])
    assert code == 0, err
    answer = strict(out)
    assert answer["schema"] == "optimal.solve/1"
    assert {k: v for k, v in answer.items() if k != "decision"} == plain  # every other key unchanged
    decision = answer["decision"]
    assert decision["rule"] == "expected-loss" and decision["n_draws"] == 8
    allocations = decision["budgets"][0]["allocations"]
    assert set(allocations) == {"plug-in", "chosen", "rule-of-thumb"}
    boot = optimal.load_record(files["record"]).bootstrap
    expected = optimal.decide(boot, [1e22, 1e24], "expected-loss", flops_per_param_token=6.0)
    assert allocations["chosen"]["N"] == pytest.approx(float(expected.chosen_params[0]), rel=1e-12)
    assert allocations["plug-in"]["N"] == pytest.approx(plain["allocations"][0]["N"], rel=1e-12)
    median = float(np.median(expected.deadweight[:, 0, 0]))
    assert allocations["plug-in"]["deadweight"]["median"] == pytest.approx(median, rel=1e-12)
    assert allocations["rule-of-thumb"]["tokens_per_param"] == pytest.approx(20.0)
    for a in allocations.values():
        w = a["deadweight"]
        assert 0 <= w["lo"] <= w["median"] <= w["hi"] < 1 and a["loss_gap_nats"] >= 0


@pytest.mark.parametrize("extra, message", [
    (["--decide", "median"], "unknown decision rule 'median'"),
    (["--decide", "quantile:2"], "must be a number in [0, 1]"),
    # a Chinchilla fit has no unique-data term: the answer's own one-line refusal, not --decide's
    (["--decide", "expected-loss", "--unique-tokens", "1e10"], "unique_tokens needs a DataConstrained law"),
])
def test_bad_decide_options(capsys, files, extra, message):
    assert_one_error(*run(capsys, ["solve", "--fit", files["record"], "--compute", "1e22", *extra]), message)


def test_decide_needs_draws_and_budgets(capsys, files, tmp_path):
    assert_one_error(*run(capsys, ["solve", "--compute", "1e22", "--decide", "plug-in"]), "--decide needs bootstrap draws")
    assert_one_error(*run(capsys, ["solve", "--fit", files["record"], "--target-loss", "2.5", "--decide", "plug-in"]),
                     "give --compute, not --target-loss")
    bare = tmp_path / "bare.json"
    runs = optimal.synthetic_runs(n_runs=40)
    optimal.save_fit(bare, optimal.fit(runs.n_params, runs.n_tokens, runs.loss))
    assert_one_error(*run(capsys, ["solve", "--fit", bare, "--compute", "1e22", "--decide", "expected-loss"]),
                     "holds no bootstrap draws")


def test_plan_plans_the_chosen_run(capsys, files):
    # plan --decide: the decision printed and in JSON, the plan's N and D the chosen allocation's, the loss the draws'
    # mean there (not the plug-in's point loss)
    code, out, err = run(capsys, ["plan", "--fit", files["record"], "--compute", "1e22", "--decide", "expected-loss",
                                  "--json"])
    assert code == 0, err
    answer = strict(out)
    chosen = answer["decision"]["budgets"][0]["allocations"]["chosen"]
    assert answer["plan"]["parameters"]["active"] == pytest.approx(chosen["N"], rel=1e-12)
    assert answer["plan"]["n_tokens"] == pytest.approx(chosen["D"], rel=1e-12)
    assert answer["loss"] == pytest.approx(chosen["expected_loss"], rel=1e-12)
    assert "bootstrap draws" in answer["loss_from"]
    code, out, err = run(capsys, ["plan", "--fit", files["record"], "--compute", "1e22", "--decide", "plug-in"])
    assert code == 0 and "the plan below is for the plug-in allocation" in out, err
    assert_one_error(*run(capsys, ["plan", "--fit", files["record"], "--target-loss", "2.5", "--decide", "plug-in"]),
                     "--decide chooses N at a compute budget")


def test_caps_bound_the_decision(capsys, files):
    # the refusal is gone: --max-params under every draw's optimum at 1e24 (N* ~ 1e11) is the decision there, and the
    # JSON carries the cap, at_cap, and the library's numbers
    argv = ["solve", "--fit", files["record"], "--compute", "1e22", "1e24", "--json", "--decide", "expected-loss"]
    code, out, err = run(capsys, argv + ["--max-params", "2e10"])
    assert code == 0, err
    decision = strict(out)["decision"]
    assert decision["max_params"] == 2e10 and decision["max_tokens"] is None and decision["unique_tokens"] is None
    top = decision["budgets"][1]["allocations"]
    assert top["chosen"]["N"] == pytest.approx(2e10, rel=1e-12) and top["chosen"]["at_cap"]
    assert top["plug-in"]["N"] == pytest.approx(2e10, rel=1e-12) and top["chosen"]["deadweight"]["median"] == 0
    assert not decision["budgets"][0]["allocations"]["chosen"]["at_cap"]
    assert any(n["code"] == "at-cap" for n in decision["notes"])
    boot = optimal.load_record(files["record"]).bootstrap
    expected = optimal.decide(boot, [1e22, 1e24], "expected-loss", flops_per_param_token=6.0, max_params=2e10)
    assert decision["budgets"][0]["allocations"]["chosen"]["N"] == pytest.approx(float(expected.chosen_params[0]),
                                                                                 rel=1e-12)
    code, out, err = run(capsys, ["solve", "--fit", files["record"], "--compute", "1e24", "--decide", "quantile:0.9",
                                  "--max-tokens", "1e12"])
    assert code == 0, err
    assert "decision at 1e+24 FLOPs within max_tokens = 1e+12, rule quantile:0.9" in out
    assert "D = 1e+12 tokens" in out


@pytest.mark.slow  # a data-constrained fit and its bootstrap compile their own programs (~1 min)
def test_unique_tokens_with_a_data_constrained_fit(capsys, tmp_path):
    # the refusal is gone: a data-constrained fit record decides at the given U, in solve and in plan
    from optimal.data.synthetic import data_constrained_runs

    # 120 rows and 8 resamples: the programs of tests/planning/test_plan_intervals.py's data-constrained fit
    n, d, u, loss = data_constrained_runs(n_runs=120, seed=1)
    csv = tmp_path / "runs.csv"
    csv.write_text("N,D,U,loss\n" + "".join(f"{a!r},{b!r},{c!r},{e!r}\n" for a, b, c, e in
                                            zip(n.tolist(), d.tolist(), u.tolist(), loss.tolist())))
    record = tmp_path / "fit.json"
    code, _, err = run(capsys, ["fit", csv, "--law", "data-constrained", "--covariate", "U=U", "--bootstrap", "8",
                                "--save", record])
    assert code == 0, err
    code, out, err = run(capsys, ["solve", "--fit", record, "--compute", "1e21", "--unique-tokens", "1e9", "--json",
                                  "--decide", "expected-loss"])
    assert code == 0, err
    decision = strict(out)["decision"]
    assert decision["unique_tokens"] == 1e9
    chosen = decision["budgets"][0]["allocations"]["chosen"]
    assert chosen["epochs"] == pytest.approx(chosen["D"] / 1e9)
    assert any(n["code"] == "unique-data" for n in decision["notes"])
    boot = optimal.load_record(record).bootstrap
    expected = optimal.decide(boot, 1e21, "expected-loss", unique_tokens=1e9)
    assert chosen["N"] == pytest.approx(float(expected.chosen_params[0]), rel=1e-12)
    code, out, err = run(capsys, ["plan", "--fit", record, "--compute", "1e21", "--unique-tokens", "1e9", "--json",
                                  "--decide", "expected-loss"])
    assert code == 0, err
    assert strict(out)["plan"]["parameters"]["active"] == pytest.approx(chosen["N"], rel=1e-12)
