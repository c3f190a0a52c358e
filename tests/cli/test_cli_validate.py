"""``optimal validate`` and ``optimal predict`` on the command line: text, strict JSON, figures, and one-line errors
for bad input."""

import warnings

import numpy as np
import pytest

import optimal
from cli_helpers import assert_one_error, gadre_csv, run, strict

N_RUNS = 40


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A runs CSV (40 synthetic runs with a text column), a fit record with 20 bootstrap draws, one without."""
    folder = tmp_path_factory.mktemp("cli_validate")
    runs = optimal.synthetic_runs(n_runs=N_RUNS, noise=0.01)
    kind = ["big" if n > 3e9 else "small" for n in runs.n_params]
    csv = folder / "runs.csv"
    csv.write_text("N,D,loss,kind\n" + "".join(f"{n!r},{d!r},{l!r},{k}\n" for n, d, l, k in zip(
        runs.n_params.tolist(), runs.n_tokens.tolist(), runs.loss.tolist(), kind)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = optimal.fit(runs.n_params, runs.n_tokens, runs.loss)
        boot = optimal.bootstrap(result, n_resamples=20)
    record, bare = folder / "fit.json", folder / "bare.json"
    optimal.save_fit(record, result, bootstrap=boot)
    optimal.save_fit(bare, result)
    planned = folder / "planned.csv"
    planned.write_text("N,D\n1e9,2e10\n7e10,1.4e12\n")
    return {"csv": csv, "record": record, "bare": bare, "planned": planned, "folder": folder, "runs": runs,
            "result": result, "boot": boot}


def test_validate_text_and_json(capsys, files):
    code, out, err = run(capsys, ["validate", files["csv"], "--holdout-largest", 5])
    assert code == 0, err
    assert "validate: Chinchilla law; 95% intervals, linearised" in out
    assert "the 5 largest-compute runs" in out and "held-out runs" in out
    assert out.count("\n") > 8  # the summary and one line per held-out run
    code, out, err = run(capsys, ["validate", files["csv"], "--holdout-largest", 5, "--json"])
    assert code == 0, err
    found = strict(out)
    assert found["mode"] == "largest" and len(found["folds"]) == 1
    fold = found["folds"][0]
    assert fold["n_held_out"] == 5 and fold["n_fit"] == N_RUNS - 5 and len(fold["runs"]) == 5
    assert set(fold["metrics"]) >= {"mean_abs_rel_error", "max_abs_rel_error", "bias", "ci_coverage", "pi_coverage",
                                    "coverage_p", "bias_p", "flagged"}
    assert set(fold["runs"][0]) >= {"N", "D", "C", "loss", "predicted", "rel_error", "mean", "new_run",
                                    "in_prediction_interval", "extrapolation"}
    # the five held-out runs are the five of largest 6 N D
    c = 6 * files["runs"].n_params * files["runs"].n_tokens
    assert sorted(r["index"] for r in fold["runs"]) == sorted(np.argsort(-c)[:5].tolist())


def test_validate_holdout_on_a_text_column_and_rolling(capsys, files):
    code, out, err = run(capsys, ["validate", files["csv"], "--holdout", "kind=big", "--json"])
    assert code == 0, err
    fold = strict(out)["folds"][0]
    assert fold["n_held_out"] == sum(files["runs"].n_params > 3e9)
    code, out, err = run(capsys, ["validate", files["csv"], "--rolling", "2", "--json"])
    assert code == 0, err
    folds = strict(out)["folds"]
    assert len(folds) == 2 and folds[0]["cutoff"] < folds[1]["cutoff"]
    code, out, err = run(capsys, ["validate", files["csv"], "--rolling", "2"])
    assert code == 0 and out.count("FLOPs (fitted on C below)") == 2


def test_validate_warns_on_stderr_and_in_json_when_flagged(capsys, files, tmp_path):
    """Losses of the held-out runs raised 10% (far beyond 1% noise): the law cannot have predicted them."""
    text = files["csv"].read_text().splitlines()
    rows = [line.split(",") for line in text[1:]]
    for row in rows:
        if float(row[0]) > 3e9:
            row[2] = repr(float(row[2]) * 1.1)
    shifted = tmp_path / "shifted.csv"
    shifted.write_text("\n".join([text[0]] + [",".join(r) for r in rows]) + "\n")
    code, out, err = run(capsys, ["validate", shifted, "--holdout", "N>3e9", "--json"])
    assert code == 0
    found = strict(out)
    assert found["misspecified"] and "probably misspecified" in found["warnings"][0]
    assert "warning: held-out errors exceed what the intervals allow" in err
    code, out, err = run(capsys, ["validate", shifted, "--holdout", "N>3e9"])
    assert "MISSPECIFIED?" in out and "probably misspecified" in err


def test_validate_plot(capsys, files):
    pytest.importorskip("matplotlib")
    out_file = files["folder"] / "validate.png"
    code, out, err = run(capsys, ["validate", files["csv"], "--holdout", "C>=1e21", "--plot", out_file])
    assert code == 0, err
    assert out_file.stat().st_size > 10_000 and f"wrote {out_file}" in err


@pytest.mark.parametrize("argv, message", [
    (["--holdout", "size>1e9"], "no column 'size' for the holdout 'size>1e9' (columns are 'N', 'D', 'loss', 'kind')"),
    (["--holdout-largest", "40"], "largest (runs held out) must be an integer from 1 to 39, got 40"),
    (["--holdout-largest", "0"], "--holdout-largest must be an integer >= 1, got 0"),
    (["--holdout", "N>1e3"], "leaves 0 runs to fit; the law's 5 free coefficients need at least 6"),
    (["--holdout", "N>1e20"], "holds out no run"),
    (["--holdout", "C=>1e20"], "--holdout 'C=>1e20' is not a row filter"),
    (["--holdout", "N>1e9", "--rolling"], "not allowed with argument"),
    ([], "one of the arguments --holdout --holdout-largest --rolling is required"),
    (["--holdout-largest", "3", "--cluster-col", "kind"], "--cluster-col is used by the cluster bootstrap: add --bootstrap"),
    (["--holdout-largest", "3", "--by", "dataset"], "no column 'dataset'"),
    (["--rolling", "2", "--confidence", "2"], "--confidence must be between 0 and 1"),
    (["--rolling", "2", "--bootstrap", "1"], "--bootstrap must be an integer from 2"),
    (["--holdout-largest", "3", "--plot", "out.unknown"], "cannot tell the image format"),
    (["--holdout-largest", "3", "--covariate", "U=N"], "the chinchilla law reads no covariate 'U'"),
    (["--holdout-largest", "3", "--law", "data-constrained"], "needs the per-run covariate U"),
])
def test_validate_errors(capsys, files, argv, message):
    code, out, err = run(capsys, ["validate", files["csv"], *argv])
    assert_one_error(code, out, err, message)


def test_validate_missing_file(capsys, files):
    code, out, err = run(capsys, ["validate", files["folder"] / "nope.csv", "--holdout-largest", 3])
    assert_one_error(code, out, err, "nope.csv")


def test_predict_text_and_json_with_draws(capsys, files):
    code, out, err = run(capsys, ["predict", "--fit", files["record"], "--params", 1e9, 7e10, "--tokens", 2e10, 1.4e12])
    assert code == 0, err
    assert "bootstrap percentiles of 20 draws" in out and "7e+10" in out
    code, out, err = run(capsys, ["predict", "--fit", files["record"], "--params", 1e9, 7e10, "--tokens", 2e10, 1.4e12, "--json"])
    assert code == 0
    found = strict(out)
    assert found["method"] == "bootstrap" and found["n_draws"] == files["boot"].good.shape[0]
    expected = optimal.predict(files["result"], [1e9, 7e10], [2e10, 1.4e12], bootstrap=files["boot"])
    got = found["runs"]
    np.testing.assert_allclose([r["loss"] for r in got], expected.loss, rtol=1e-12)
    np.testing.assert_allclose([r["new_run"]["hi"] for r in got], expected.new_hi, rtol=1e-12)
    assert got[1]["C"] == pytest.approx(6 * 7e10 * 1.4e12)
    # 7e10 parameters lie 0.64 decades beyond the largest fitted N: no warning at 1 decade
    assert 0 < got[1]["extrapolation"]["N_decades_outside"] < 1 and "outside the fitted range" not in err


def test_predict_broadcast_linearised_and_far(capsys, files):
    code, out, err = run(capsys, ["predict", "--fit", files["bare"], "--params", 1e9, 1e12, "--tokens", 2e10, "--json"])
    assert code == 0
    found = strict(out)
    assert found["method"] == "linearised" and [r["D"] for r in found["runs"]] == [2e10, 2e10]
    assert "run 2 (N = 1e+12, D = 2e+10): N lies" in err and "decades outside the fitted range" in err


def test_predict_runs_csv(capsys, files):
    code, out, err = run(capsys, ["predict", "--fit", files["bare"], "--runs", files["planned"], "--json"])
    assert code == 0, err
    assert [r["N"] for r in strict(out)["runs"]] == [1e9, 7e10]
    code, out, err = run(capsys, ["predict", "--fit", files["bare"], "--runs", files["csv"], "--json"])  # with losses
    runs = strict(out)["runs"]
    assert len(runs) == N_RUNS and {"actual", "rel_error", "in_prediction_interval"} <= set(runs[0])
    assert runs[0]["rel_error"] == pytest.approx(runs[0]["loss"] / runs[0]["actual"] - 1)
    code, out, err = run(capsys, ["predict", "--fit", files["bare"], "--runs", files["csv"]])
    assert code == 0 and "actual" in out and "in PI" in out


@pytest.mark.parametrize("argv, message", [
    (["--params", 1e9, 2e9, "--tokens", 1, 2, 3], "--params has 2 values and --tokens 3"),
    (["--params", 1e9], "give both --params and --tokens"),
    ([], "give either --params N... and --tokens D..., or --runs RUNS.csv"),
    (["--params", -1e9, "--tokens", 2e10], "N must be positive and finite; value 0 (0-based) is -1000000000.0"),
    (["--params", 1e9, "--tokens", 2e10, "--confidence", 0], "--confidence must be between 0 and 1"),
    (["--params", 1e9, "--tokens", 2e10, "--covariate", "U=1e9"], "reads no covariate 'U'"),
    (["--params", 1e9, "--tokens", 2e10, "--covariate", "U=unique"], "--covariate U=unique: give a number"),
    (["--params", 1e9, "--tokens", 2e10, "--group", "a"], "group 'a' given, but this fit holds one law"),
])
def test_predict_errors(capsys, files, argv, message):
    code, out, err = run(capsys, ["predict", "--fit", files["record"], *argv])
    assert_one_error(code, out, err, message)


def test_predict_bad_files(capsys, files):
    code, out, err = run(capsys, ["predict", "--fit", files["folder"] / "none.json", "--params", 1e9, "--tokens", 2e10])
    assert_one_error(code, out, err, "none.json")
    code, out, err = run(capsys, ["predict", "--fit", files["record"], "--runs", files["folder"] / "none.csv"])
    assert_one_error(code, out, err, "none.csv")


def test_validate_fits_five_runs_with_tied_exponents(capsys, tmp_path, monkeypatch):
    """A fold of 5 fitted runs with tied exponents (4 free coefficients) is fitted: before, validate asked for 8."""
    import optimal.analysis.validate as validation

    class Fitted(Exception):
        pass

    def fitted(*args, **kwargs):
        raise Fitted

    monkeypatch.setattr(validation, "fit", fitted)
    csv = gadre_csv(tmp_path / "runs.csv", extra=[1.4e9])
    with pytest.raises(Fitted):
        run(capsys, ["validate", csv, "--holdout-largest", 1, "--tie", "alpha=beta"])
    assert_one_error(*run(capsys, ["validate", csv, "--holdout-largest", 1]),
                     "leaves 5 runs to fit; the law's 5 free coefficients need at least 6")


@pytest.mark.slow
def test_validate_five_runs_with_tied_exponents_end_to_end(capsys, tmp_path):
    """Gadre et al. 2024's protocol: fit 5 runs with alpha = beta, predict a run 10x larger in compute."""
    csv = gadre_csv(tmp_path / "runs.csv", extra=[1.4e9])
    code, out, err = run(capsys, ["validate", csv, "--holdout-largest", 1, "--tie", "alpha=beta", "--json"])
    assert code == 0, err
    (fold,) = strict(out)["folds"]
    assert fold["n_fit"] == 5 and fold["n_held_out"] == 1
    assert fold["fit"]["params"]["alpha"] == fold["fit"]["params"]["beta"]
    assert abs(fold["runs"][0]["rel_error"]) < 0.02


@pytest.fixture(scope="module")
def grouped(tmp_path_factory):
    """A runs CSV of two data sets (code, web) of N_RUNS synthetic runs each (each group's fits: the same compiled
    program as the other tests'), with a config column (clusters of 2 runs)."""
    rows = []
    for label, seed, shift in (("web", 1, 1.0), ("code", 2, 0.95)):
        runs = optimal.synthetic_runs(n_runs=N_RUNS, noise=0.01, seed=seed)
        rows += [f"{n!r},{d!r},{shift * l!r},{label},c{i // 2}" for i, (n, d, l) in enumerate(zip(
            runs.n_params.tolist(), runs.n_tokens.tolist(), runs.loss.tolist()))]
    csv = tmp_path_factory.mktemp("cli_validate_by") / "runs.csv"
    csv.write_text("N,D,loss,dataset,config\n" + "\n".join(rows) + "\n")
    return {"csv": csv, "dataset": np.repeat(["web", "code"], N_RUNS)}


def test_validate_by_validates_each_group(capsys, grouped):
    """--by COLUMN: one validation per group (its own K largest runs held out), text and JSON."""
    code, out, err = run(capsys, ["validate", grouped["csv"], "--by", "dataset", "--holdout-largest", 3, "--json"])
    assert code == 0, err
    found = strict(out)
    assert found["schema"] == "optimal.validate/1" and [g["group"] for g in found["groups"]] == ["code", "web"]
    assert set(found["law"]["params"]) == {"code", "web"}
    for group in found["groups"]:
        (fold,) = group["folds"]
        assert fold["n_fit"] == N_RUNS - 3 and fold["n_held_out"] == 3
        assert all(grouped["dataset"][r["index"]] == group["group"] for r in fold["runs"])  # the file's rows
        assert found["law"]["params"][group["group"]] == fold["fit"]["params"]
    code, out, err = run(capsys, ["validate", grouped["csv"], "--by", "dataset", "--holdout-largest", 3])
    assert code == 0, err
    assert out.startswith("== group code ==\nvalidate: Chinchilla law") and "\n== group web ==\n" in out


def test_validate_cluster_col_reaches_each_folds_bootstrap(capsys, grouped, monkeypatch):
    """--cluster-col: each fold's bootstrap resamples whole clusters (the config column) of its fitted runs; with --by,
    the clusters of the group's rows."""
    import optimal.analysis.validate as validation

    seen = []

    class Bootstrapped(Exception):
        pass

    def spy(result, **options):
        seen.append(options.get("groups"))
        raise Bootstrapped

    monkeypatch.setattr(validation, "bootstrap", spy)
    with pytest.raises(Bootstrapped):
        run(capsys, ["validate", grouped["csv"], "--by", "dataset", "--holdout-largest", 3, "--bootstrap", 2,
                     "--cluster-col", "config"])
    (clusters,) = seen  # the first group's (code's) fold: 37 runs in 20 configs of 2 runs
    assert clusters is not None and len(clusters) == N_RUNS - 3 and len(set(clusters.tolist())) == N_RUNS // 2


def test_validate_against_a_column_and_its_json(capsys, files, tmp_path):
    """--against epochs: a trend of the loss with a column the law does not read is flagged (stdout, stderr and
    JSON); --simulations 0 leaves the lack-of-fit test out (null); a missing or constant column, and too few
    simulations, are one error line."""
    runs = files["runs"]
    epochs = np.exp(np.random.default_rng(5).uniform(0, np.log(40), N_RUNS))
    raised = runs.loss * epochs ** 0.03
    csv = tmp_path / "epochs.csv"
    csv.write_text("N,D,loss,epochs,one\n" + "".join(f"{n!r},{d!r},{l!r},{e!r},1\n" for n, d, l, e in zip(
        runs.n_params.tolist(), runs.n_tokens.tolist(), raised.tolist(), epochs.tolist())))
    code, out, err = run(capsys, ["validate", csv, "--holdout-largest", 5, "--against", "epochs", "--json"])
    assert code == 0, err
    found = strict(out)["lack_of_fit"]
    assert found["trend"]["flagged"] and found["trend"]["column"] == "epochs" and found["simulations"] == 200
    assert set(found["curvature"]) == {"basis", "explained", "expected", "p", "flagged"}
    assert "warning: the fit's residuals trend with epochs" in err
    code, out, err = run(capsys, ["validate", csv, "--holdout-largest", 5, "--against", "epochs"])
    assert "residuals trend with ln epochs" in out and "MISSPECIFIED?" in out
    code, out, err = run(capsys, ["validate", csv, "--holdout-largest", 5, "--simulations", 0, "--json"])
    assert code == 0 and strict(out)["lack_of_fit"] is None
    code, out, err = run(capsys, ["validate", csv, "--holdout-largest", 5, "--against", "one"])
    assert_one_error(code, out, err, "column 'one' is 1 for every run")
    code, out, err = run(capsys, ["validate", csv, "--holdout-largest", 5, "--against", "nope"])
    assert_one_error(code, out, err, "nope")
    code, out, err = run(capsys, ["validate", csv, "--holdout-largest", 5, "--against", "epochs", "--simulations", 0])
    assert_one_error(code, out, err, "--against is tested by the lack-of-fit test")
    code, out, err = run(capsys, ["validate", csv, "--holdout-largest", 5, "--simulations", 50])
    assert_one_error(code, out, err, "--simulations (0, or at least 100)")


@pytest.mark.slow  # 100 simulated refits for the trend test: several seconds
def test_validate_reads_a_unique_tokens_column(capsys, files, tmp_path):
    """A unique_tokens column in the runs file: the design check makes the result misspecified (JSON
    "repeated_data", stderr) and the trend test runs against epochs without --against (a note says so); a cell that
    is not a number skips the check with a note; a law that reads U refuses it as one error line."""
    runs = files["runs"]
    unique = [repr(x) for x in (runs.n_tokens / np.linspace(1, 8, N_RUNS)).tolist()]
    csv = tmp_path / "unique.csv"

    def write():
        csv.write_text("N,D,loss,unique_tokens\n" + "".join(f"{n!r},{d!r},{l!r},{u}\n" for n, d, l, u in zip(
            runs.n_params.tolist(), runs.n_tokens.tolist(), runs.loss.tolist(), unique)))

    write()
    code, out, err = run(capsys, ["validate", csv, "--holdout-largest", 5, "--simulations", 100, "--json"])
    assert code == 0, err
    found = strict(out)
    assert found["misspecified"] and found["repeated_data"]["n_repeated"] == N_RUNS - 1
    assert found["lack_of_fit"]["trend"]["column"] == "epochs"
    assert any("trend test was run against epochs" in n for n in found["notes"])
    assert f"{N_RUNS - 1} of {N_RUNS} runs repeat their data" in err
    unique[2] = "n/a"
    write()
    code, out, err = run(capsys, ["validate", csv, "--holdout-largest", 5, "--simulations", 0, "--json"])
    assert code == 0, err
    found = strict(out)
    assert found["repeated_data"]["flagged"] is False and "first at run 2" in found["repeated_data"]["note"]
    assert not found["misspecified"] and "repeat their data" not in err
    code, out, err = run(capsys, ["validate", csv, "--holdout-largest", 5, "--law", "data-constrained",
                                  "--covariate", "U=unique_tokens"])
    assert_one_error(code, out, err, "unique_tokens")
