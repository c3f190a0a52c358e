"""``optimal envelope``: the text and JSON answers agree with ``optimal.envelope`` on the same curves, and bad input is
one line ``error: ...`` with exit status 2."""

import pytest

import optimal
from cli_helpers import assert_one_error, run, strict


@pytest.fixture(scope="module")
def curves_csv(tmp_path_factory):
    """Learning curves of 54 synthetic runs (a known law, 0.5% noise) in long form, with a schedule column."""
    curves = optimal.synthetic_curves(checkpoints=10, noise=0.005, seed=2)
    path = tmp_path_factory.mktemp("envelope") / "curves.csv"
    lines = ["run,N,D,schedule,loss"] + [f"{curves.run_ids[r]},{n!r},{d!r},{t!r},{y!r}" for r, n, d, t, y in zip(
        curves.run, curves.n_params.tolist(), curves.n_tokens.tolist(), curves.schedule.tolist(), curves.loss.tolist())]
    path.write_text("\n".join(lines) + "\n")
    return path, curves


def test_json_has_the_schema_and_approach_1s_exponent_with_its_interval(capsys, curves_csv):
    path, curves = curves_csv
    code, out, err = run(capsys, ["envelope", path, "--schedule-col", "schedule", "--parametric", "none",
                                  "--bootstrap", "20", "--json"])
    assert code == 0, err
    d = strict(out)
    direct = optimal.envelope(curves, parametric=None, n_resamples=20)
    assert d["schema"] == "optimal.envelope/1" and "law" not in d
    assert d["a"] == pytest.approx(direct.exponent, rel=1e-9)
    assert d["a_interval"]["lo"] < d["a"] < d["a_interval"]["hi"]
    assert "warning: undecayed:" in err


def test_text_lists_each_approach_and_the_slices_budgets_given(capsys, curves_csv):
    path, _ = curves_csv
    code, out, err = run(capsys, ["envelope", path, "--parametric", "none", "--slices", "3e17", "1e18", "3e18",
                                  "--compute", "1e21"])
    assert code == 0, err
    assert "Approach 1" in out and "2 (cubic)" in out and "1e+21" in out
    assert "budgets as given" in out


def test_a_target_far_beyond_the_curves_warns_as_solve_does(capsys, curves_csv):
    """--compute 1e300: every approach's N* lies over a hundred decades above the curves' sizes; one warning each for
    N* and D*, naming the approach farthest out, in solve's words (optimal.allocation.extrapolation.range_warnings).
    A target inside the curves: none."""
    code, _, err = run(capsys, ["envelope", curves_csv[0], "--parametric", "none", "--compute", "1e300"])
    assert code == 0, err
    far = [line for line in err.splitlines() if "the law's form is untested there" in line]
    assert [line.split(": ")[1] for line in far] == ["N_outside_range", "D_outside_range"], err
    assert far[0].startswith("warning: N_outside_range: [1e+300 FLOPs] approach ")
    assert "decades above the largest N fitted (3e+07..3e+09; threshold 1)" in far[0]
    assert far[0].endswith("add runs at larger N before trusting it")
    code, _, err = run(capsys, ["envelope", curves_csv[0], "--parametric", "none", "--compute", "1e19"])
    assert code == 0 and "untested" not in err, err


@pytest.mark.parametrize("argv, message", [
    (["--bootstrap", "1"], "--bootstrap"),
    (["--slices", "-1"], "--slices"),
    (["--run-col", "model"], "no column 'model'"),
    (["--parametric", "some"], "invalid choice"),
])
def test_bad_input_is_one_error_line(capsys, curves_csv, argv, message):
    code, out, err = run(capsys, ["envelope", curves_csv[0], *argv])
    assert_one_error(code, out, err, message)


def test_a_missing_file_is_one_error_line(capsys, tmp_path):
    assert_one_error(*run(capsys, ["envelope", tmp_path / "none.csv"]), "no such file")
