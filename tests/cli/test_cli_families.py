"""The command line's law families: --law, --covariate, --fix, --tie, --by and --shared, their JSON, and one
readable error line with exit status 2 for every name it does not know."""

import json

import jax
import numpy as np
import pytest

import optimal
from optimal.cli import main
from optimal.data.readers import read_runs_with_columns

FAST = ("--n-samples", "256", "--n-polish", "4")  # the generic screen: compiling is most of the time anyway


def run(capsys, *argv):
    """``optimal ARGV`` as the program runs it: JAX's float64 off (conftest turns it on for the tests' arithmetic),
    so that a result computed in float32 by mistake shows."""
    with jax.enable_x64(False):
        code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def runs_csv(tmp_path_factory):
    """60 runs of the default truth in two groups (every other row), with a unique-tokens column and one whose
    last value is 0 (no law can use it)."""
    runs = optimal.synthetic_runs(n_runs=60, seed=1)
    group = np.where(np.arange(60) % 2, "web", "code")
    zero_last = [0.5 * float(d) for d in runs.n_tokens[:-1]] + [0.0]
    lines = ["N,D,loss,grp,unique_tokens,zero_last"] + [
        f"{float(n)!r},{float(d)!r},{float(loss)!r},{g},{0.5 * float(d)!r},{z!r}"
        for n, d, loss, g, z in zip(runs.n_params, runs.n_tokens, runs.loss, group, zero_last)]
    path = tmp_path_factory.mktemp("families") / "runs.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def fit_json(capsys, path, *options):
    code, out, err = run(capsys, "fit", str(path), "--json", *options)
    assert code == 0, err
    found = json.loads(out)
    assert found["schema"] == "optimal.fit/1"
    if "settings" in found:  # --sweep
        return found["settings"]
    return found["fits"] if "--by" in options else found["fits"][0]


@pytest.mark.slow
def test_kaplan_fit_names_its_parameters(capsys, runs_csv):
    result = fit_json(capsys, runs_csv, "--law", "kaplan", *FAST)
    assert result["law"]["family"] == "kaplan"
    assert list(result["params"]) == ["alpha_N", "alpha_D", "N_c", "D_c"]
    assert result["fixed"] == {} and result["converged"] is True


@pytest.mark.slow
def test_fix_holds_the_value_and_lists_it(capsys, runs_csv):
    result = fit_json(capsys, runs_csv, "--fix", "E=1.82", *FAST)
    assert result["law"]["family"] == "chinchilla"
    assert result["params"]["E"] == 1.82  # exactly: the value given, not a float32 or exp(log()) round trip
    assert result["fixed"] == {"E": 1.82}
    assert set(result["params"]) == {"E", "A", "B", "alpha", "beta"}


def test_tie_makes_two_parameters_equal(capsys, runs_csv):
    result = fit_json(capsys, runs_csv, "--tie", "alpha=beta", *FAST)
    assert result["params"]["alpha"] == result["params"]["beta"]
    assert result["tied"] == [["alpha", "beta"]]


def test_by_fits_each_group_on_its_own(capsys, runs_csv):
    results = fit_json(capsys, runs_csv, "--by", "grp", "--compute", "1e22", *FAST)
    assert isinstance(results, list) and [r["group"] for r in results] == ["code", "web"]
    assert [r["n_rows"] for r in results] == [30, 30]  # each group's rows alone
    assert all(r["law"]["family"] == "chinchilla" and r["shared"] == [] for r in results)
    assert results[0]["params"]["alpha"] != results[1]["params"]["alpha"]  # nothing shared: two separate fits
    assert all(r["recommendation"]["allocations"][0]["compute"] == 1e22 for r in results)
    n_star = [r["recommendation"]["allocations"][0]["N"] for r in results]
    assert n_star[0] != n_star[1]  # each group's own law
    code, out, _ = run(capsys, "fit", str(runs_csv), "--by", "grp", "--compute", "1e22", *FAST)  # the same, as text
    assert code == 0 and out.count("Chinchilla fit  L = ") == 2 and out.count("(the 30 fitted runs)") == 2
    assert out.index("== group code ==") < out.index("== group web ==")


@pytest.mark.slow
def test_by_with_shared_is_one_joint_fit(capsys, runs_csv, tmp_path):
    saved = tmp_path / "joint.json"
    # (no --n-polish: a joint fit refuses it, tests/cli/test_cli_convention.py)
    results = fit_json(capsys, runs_csv, "--by", "grp", "--shared", "alpha", "beta", "--save", str(saved), *FAST[:2])
    assert [r["group"] for r in results] == ["code", "web"]
    code, web = (r["params"] for r in results)
    assert code["alpha"] == web["alpha"] and code["beta"] == web["beta"]
    assert code["E"] != web["E"] and code["A"] != web["A"]  # the rest is per group
    assert all(r["shared"] == ["alpha", "beta"] for r in results)
    assert results[0]["objective"] == results[1]["objective"]  # the joint fit's, in every object
    assert [r["n_rows"] for r in results] == [30, 30]
    loaded = optimal.load_fit(saved)
    assert loaded.group_labels == ("code", "web") and loaded.shared == ("alpha", "beta")
    code, out, _ = run(capsys, "fit", str(runs_csv), "--by", "grp", "--shared", "alpha", "beta", *FAST[:2])  # as text
    assert code == 0 and "shared by every group: alpha, beta" in out and "group web" in out


@pytest.mark.parametrize(
    "options, message",
    [
        (["--law", "nope"], "invalid choice: 'nope'"),
        (["--fix", "Q=1"], "has no parameter 'Q'"),
        (["--fix", "E"], "'E' is not NAME=VALUE"),
        (["--fix", "E=abc"], "'abc' is not a number"),
        (["--fix", "E=1.8", "E=1.9"], "--fix names E more than once"),
        (["--tie", "alpha=gamma"], "has no parameter 'gamma'"),
        (["--law", "data-constrained", "--covariate", "U=nope"], "no column 'nope' for covariate U"),
        (["--law", "data-constrained"], "needs the per-run covariate U"),
        (["--law", "kaplan", "--covariate", "U=unique_tokens"], "reads no covariate 'U'"),
        (["--covariate", "U=grp", "--law", "data-constrained"], "is not a number"),
        # the column's values reach the law (a data-constrained fit itself compiles for ~13 s: not here)
        (["--law", "data-constrained", "--covariate", "U=zero_last"], "covariate U must be positive and finite"),
        (["--by", "nope"], "no column 'nope' for --by"),
        (["--shared", "alpha"], "--shared needs --by"),
        (["--by", "grp", "--shared", "gamma"], "has no parameter 'gamma'"),
        (["--by", "grp", "--save", "fit.json"], "--save writes one fit record"),
    ],
)
def test_unknown_names_are_one_error_line(capsys, runs_csv, options, message):
    code, out, err = run(capsys, "fit", str(runs_csv), *options)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and message in err and err.count("\n") == 1, err


def test_missing_column_lists_the_columns(capsys, runs_csv):
    _, _, err = run(capsys, "fit", str(runs_csv), "--by", "nope")
    assert "(columns are 'N', 'D', 'loss', 'grp', 'unique_tokens', 'zero_last')" in err


def test_extra_columns_keep_the_rows_the_runs_keep(tmp_path):
    """After --drop-highest-loss, a covariate or label belongs to the same run it was written with."""
    loss = [3.0, 2.9, 4.0, 2.8, 2.7, 2.6, 3.5, 2.5, 2.4, 2.3, 2.2, 2.1]  # the highest two inside: dropped mid-file
    lines = ["N,D,loss,copy,label"] + [f"{1e8 * (1 + i)},{1e9 * (2 + i % 3)},{v},{v},L{v}" for i, v in enumerate(loss)]
    path = tmp_path / "runs.csv"
    path.write_text("\n".join(lines) + "\n")
    runs, extra = read_runs_with_columns(path, {"copy": "copy"}, {"label": "label"}, drop_highest_loss=2, n_free=0)
    assert len(runs.loss) == 10
    np.testing.assert_array_equal(extra["copy"], runs.loss)
    assert list(extra["label"]) == [f"L{v}" for v in runs.loss]


def test_solve_answers_for_one_group_of_a_joint_fit(capsys, tmp_path):
    import json

    from optimal.cli import main

    runs = optimal.synthetic_runs(n_runs=60, noise=0.01, seed=11)
    path = tmp_path / "grouped.csv"
    lines = ["N,D,loss,grp"] + [f"{float(n)!r},{float(d)!r},{float(l)!r},{'ab'[i % 2]}" for i, (n, d, l) in
                                enumerate(zip(runs.n_params, runs.n_tokens, runs.loss))]
    path.write_text("\n".join(lines) + "\n")
    record = tmp_path / "joint.json"
    assert main(["fit", str(path), "--by", "grp", "--shared", "alpha", "beta", "--save", str(record)]) == 0
    capsys.readouterr()
    assert main(["solve", "--fit", str(record), "--compute", "1e22"]) == 2
    assert "name one" in capsys.readouterr().err
    assert main(["solve", "--fit", str(record), "--group", "b", "--compute", "1e22", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert "group b" in answer["source"]
    fitted = optimal.load_fit(record)
    expected = optimal.compute_optimal(fitted.group("b").law, 1e22)
    assert answer["allocations"][0]["N"] == pytest.approx(float(expected.n_params), rel=1e-12)


@pytest.mark.slow
def test_compare_groups_from_the_command_line(capsys, tmp_path):
    other = optimal.data.synthetic.DEFAULT_TRUTH._replace(alpha=0.40, A=800.0)
    rows = ["N,D,loss,dataset"]
    for label, truth, seed in (("base", optimal.data.synthetic.DEFAULT_TRUTH, 1), ("better", other, 2)):
        runs = optimal.synthetic_runs(n_runs=60, truth=truth, noise=0.005, seed=seed)
        rows += [f"{float(n)!r},{float(d)!r},{float(l)!r},{label}" for n, d, l in zip(runs.n_params, runs.n_tokens, runs.loss)]
    path = tmp_path / "two.csv"
    path.write_text("\n".join(rows) + "\n")
    assert main(["fit", str(path), "--by", "dataset", "--bootstrap", "64", "--compute", "1e23", "--compare",
                 "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert [g["group"] for g in found["fits"]] == ["base", "better"]
    (comparison,) = found["comparisons"]
    assert (comparison["a"], comparison["b"]) == ("base", "better")
    alpha = comparison["params"]["alpha"]
    fits = {g["group"]: g["params"] for g in found["fits"]}
    assert alpha["point"] == pytest.approx(fits["better"]["alpha"] - fits["base"]["alpha"], rel=1e-9)
    assert comparison["allocation"][0]["compute_multiplier"]["point"] > 0
    assert main(["fit", str(path), "--by", "dataset", "--bootstrap", "64", "--compute", "1e23", "--compare"]) == 0
    assert "compute multiplier at C = 1e+23" in capsys.readouterr().out
    assert main(["fit", str(path), "--compare"]) == 2
    assert "--compare" in capsys.readouterr().err


@pytest.mark.slow
def test_one_command_one_figure_for_groups(capsys, tmp_path):
    rows = ["N,D,loss,dataset"]
    for label, seed in (("x", 3), ("y", 4), ("z", 5)):
        runs = optimal.synthetic_runs(n_runs=40, noise=0.01, seed=seed)
        rows += [f"{float(n)!r},{float(d)!r},{float(l)!r},{label}" for n, d, l in zip(runs.n_params, runs.n_tokens, runs.loss)]
    path = tmp_path / "three.csv"
    path.write_text("\n".join(rows) + "\n")
    out = tmp_path / "groups.png"
    assert main(["fit", str(path), "--by", "dataset", "--bootstrap", "32", "--compute", "1e23", "--plot", str(out)]) == 0
    assert out.stat().st_size > 10_000 and "wrote" in capsys.readouterr().err
    assert main(["fit", str(path), "--plot", str(tmp_path / "no_such_dir" / "x.png")]) == 2


def test_sweep_from_the_command_line(capsys, runs_csv):
    assert main(["fit", str(runs_csv), "--sweep", "delta=1e-3,1e-2", "--sweep", "drop-smallest=0,1", "--compute",
                 "1e23", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)["settings"]
    assert [(f["setting"]["delta"], f["setting"]["drop_smallest"]) for f in found] == [
        (1e-3, 0), (1e-3, 1), (1e-2, 0), (1e-2, 1)]
    assert found[1]["n_rows"] < found[0]["n_rows"] and found[0]["config"]["delta"] == 1e-3
    assert all(len(f["recommendation"]["allocations"]) == 1 for f in found)
    for bad, message in ((["--sweep", "gamma=1,2"], "NAME one of"), (["--sweep", "delta=1e-3", "--sweep", "delta=1"],
                         "given twice"), (["--sweep", "delta=a"], "takes float"), (["--sweep", "delta=1e-3", "--by", "grp", "--shared",
                         "alpha"], "does not combine")):
        assert main(["fit", str(runs_csv), *bad]) == 2
        assert message in capsys.readouterr().err


@pytest.mark.slow
def test_by_bootstraps_every_group_in_one_program(capsys, runs_csv):
    # --by without --shared or --group-col: the groups' resamples are lanes of one program, optimal.bootstrap_groups
    # (stratified, its own PRNG stream): the CLI's intervals are exactly that call's, not bootstrap()'s per group
    results = fit_json(capsys, runs_csv, "--by", "grp", "--bootstrap", "8", "--seed", "3")
    runs = optimal.synthetic_runs(n_runs=60, seed=1)
    labels = np.where(np.arange(60) % 2, "web", "code")
    with jax.enable_x64(False):
        fits = optimal.fit_groups(runs.n_params, runs.n_tokens, runs.loss, groups=labels)
        boots = optimal.bootstrap_groups(fits, n_resamples=8, seed=3)
        alone = optimal.bootstrap(fits["code"], n_resamples=8, seed=3)
    for r in results:
        expected = boots[r["group"]].params()["alpha"]
        assert r["bootstrap"]["params"]["alpha"]["lo"] == pytest.approx(expected["lo"], rel=1e-9)
        assert r["bootstrap"]["params"]["alpha"]["hi"] == pytest.approx(expected["hi"], rel=1e-9)
    assert results[0]["bootstrap"]["params"]["alpha"]["lo"] != pytest.approx(alone.params()["alpha"]["lo"], rel=1e-9)


def test_sweep_for_every_group(capsys, runs_csv):
    # --by with --sweep: every group's rows under every setting, labelled by group
    found = fit_json(capsys, runs_csv, "--by", "grp", "--sweep", "delta=1e-3,1e-2")
    assert [(f["setting"]["group"], f["setting"]["delta"]) for f in found] == [
        ("code", 1e-3), ("code", 1e-2), ("web", 1e-3), ("web", 1e-2)]
    assert all(f["n_rows"] == 30 for f in found)
    code, out, _ = run(capsys, "fit", str(runs_csv), "--by", "grp", "--sweep", "delta=1e-3,1e-2")
    assert code == 0 and "group=web, delta=0.01: 30 rows" in out


@pytest.mark.slow
def test_plain_bootstrap_is_bootstraps_own_draws(capsys, runs_csv):
    # without --by, fit --bootstrap is optimal.bootstrap (its PRNG stream), not the stratified groups program
    result = fit_json(capsys, runs_csv, "--bootstrap", "8", "--seed", "3")
    runs = optimal.synthetic_runs(n_runs=60, seed=1)
    with jax.enable_x64(False):
        expected = optimal.bootstrap(optimal.fit(runs.n_params, runs.n_tokens, runs.loss), n_resamples=8, seed=3)
    assert result["bootstrap"]["params"]["alpha"]["lo"] == pytest.approx(expected.params()["alpha"]["lo"], rel=1e-9)
