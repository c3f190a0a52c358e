"""``optimal suggest FIT.json --target-compute C --spend F``: the same answer as ``optimal.suggest``, strict JSON with
the documented keys, candidates from a CSV, k from the fit record, and one-line errors for bad input."""

import json
import warnings

import numpy as np
import pytest

import optimal
from optimal.data.synthetic import DEFAULT_TRUTH
from cli_helpers import assert_one_error, run, strict

KEYS = {"target_compute", "spend", "flops_per_param_token", "n_star", "sd_log_n_star_before", "sd_log_n_star_after",
        "sd_log_n_star_after_noise",
        "total_compute", "rule", "stopped", "runs", "noise_sd", "noise_from", "variance_factor",
        "information_condition", "weak_directions", "candidates_from", "n_candidates", "ranking", "status",
        "uncertainty_method", "sd_log_n_star_linearised", "calibration", "n_draws", "n_resamples",
        "min_tokens_per_param", "max_tokens_per_param", "n_outside_bounds", "warnings"}
RUN_KEYS = {"N", "D", "compute", "tokens_per_param", "sd_after", "sd_after_noise", "variance_reduction",
            "reduction_per_flop"}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A fit record of 21 noisy IsoFLOP runs, the same with k = 8 recorded, the same with 300 draws (Gaussian about
    the fit: the calibration's arithmetic without refits), a candidates CSV, and the fit."""
    folder = tmp_path_factory.mktemp("suggest")
    n_star = np.asarray(optimal.compute_optimal(DEFAULT_TRUTH, np.array([1e18, 3e18, 1e19])).n_params)
    n = (n_star[:, None] * np.geomspace(0.25, 4, 7)[None, :]).ravel()
    d = np.repeat([1e18, 3e18, 1e19], 7) / (6 * n)
    loss = np.asarray(DEFAULT_TRUTH.loss(n, d)) * np.exp(0.01 * np.random.default_rng(0).standard_normal(len(n)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = optimal.fit(n, d, loss, search=optimal.Search(grid_size=32, n_polish=4))
    record, with_k = folder / "fit.json", folder / "fit_k8.json"
    optimal.save_fit(record, result)
    optimal.save_fit(with_k, result, flops_per_param_token=8.0)
    thetas = np.asarray(result.theta) + 0.05 * np.random.default_rng(5).standard_normal((300, 5))
    draws = optimal.BootstrapResult(thetas, np.zeros(300), np.ones(300, bool), np.ones(300, int), 0.95, 0, result)
    with_draws = folder / "fit_draws.json"
    optimal.save_fit(with_draws, result, bootstrap=draws)
    candidates = folder / "candidates.csv"
    candidates.write_text("name,N,D\na,1e8,2e11\nb,1e9,2e10\nc,1e10,2e9\nd,3e9,3e10\n")
    return {"record": record, "with_k": with_k, "with_draws": with_draws, "candidates": candidates, "fit": result,
            "folder": folder}


LINEAR = ["--bootstrap", "0"]  # the linearised figure: the tests of the plumbing need no refits


def test_json_is_strict_has_the_documented_keys_and_matches_the_api(capsys, files):
    code, out, err = run(capsys, ["suggest", "--fit", files["record"], "--compute", "1e24", "--spend", "1e21", "--json",
                                  *LINEAR])
    assert code == 0, err
    answer = strict(out)
    assert answer["schema"] == "optimal.suggest/1" and answer["law"]["params"] == pytest.approx({k: float(v) for k, v in files["fit"].law._asdict().items()})
    assert set(answer) == KEYS | {"schema", "law"}
    assert answer["runs"] and all(set(r) == RUN_KEYS for r in answer["runs"])
    assert answer["total_compute"] <= 1e21 and answer["flops_per_param_token"] == 6.0
    expected = optimal.suggest(optimal.load_fit(files["record"]), 1e24, 1e21, n_resamples=0)
    assert [(r["N"], r["D"]) for r in answer["runs"]] == [(r["N"], r["D"]) for r in expected.runs]
    assert answer["sd_log_n_star_after"] == pytest.approx(expected.sd_after, rel=1e-9)
    assert answer["sd_log_n_star_after"] < answer["sd_log_n_star_before"]
    assert answer["sd_log_n_star_after_noise"] == answer["sd_log_n_star_after"]  # linearised: c = 1 for every row


def test_text_output_lists_the_runs(capsys, files):
    code, out, err = run(capsys, ["suggest", "--fit", files["record"], "--compute", "1e24", "--spend", "1e21",
                                  "--n", "3", *LINEAR])
    assert code == 0, err
    assert "predicted sd of ln N*" in out and "N (params)" in out and "tokens/param" in out
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:1] == ["#"])
    assert [line.split()[0] for line in lines[header + 1:header + 5]] == ["1", "2", "3", "noise"]


def test_a_linearised_figure_is_printed_with_a_caveat(capsys, files):
    """--bootstrap 0 (no draws): the text says the sd is linearised (stdout) and warns (stderr); the JSON names the
    method and carries the warning."""
    code, out, err = run(capsys, ["suggest", "--fit", files["record"], "--compute", "1e24", "--spend", "1e21", *LINEAR])
    assert code == 0 and "caveat: the sd of ln N* is linearised" in out
    assert "warning: the sd of ln N* is linearised" in err
    code, out, _ = run(capsys, ["suggest", "--fit", files["record"], "--compute", "1e24", "--spend", "1e21", "--json",
                                *LINEAR])
    answer = strict(out)
    assert answer["uncertainty_method"] == "linearised" and answer["warnings"][0]["code"] == "linearised"


def test_a_target_far_beyond_the_runs_warns_in_solves_words(capsys, files):
    """--compute 1e300: N* and D* lie over a hundred decades above the fitted runs; suggest warns as solve does, word
    for word (one function: optimal.allocation.extrapolation.range_warnings). A target and runs inside: no such
    warning."""
    code, _, err = run(capsys, ["suggest", "--fit", files["record"], "--compute", "1e300", "--spend", "1e20", *LINEAR])
    assert code == 0, err
    code, _, solved = run(capsys, ["solve", "--fit", files["record"], "--compute", "1e300"])
    far = [line for line in solved.splitlines() if "the law's form is untested there" in line]
    assert code == 0 and [line.split(" = ")[0] for line in far] == ["warning: [1e+300 FLOPs] N*",
                                                                    "warning: [1e+300 FLOPs] D*"]
    assert all(line in err.splitlines() for line in far), err
    code, _, err = run(capsys, ["suggest", "--fit", files["record"], "--compute", "1e19", "--spend", "1e19", *LINEAR])
    assert code == 0 and "untested" not in err, err


def test_runs_far_below_the_fitted_ones_are_warned_about(capsys, files):
    """--spend 1e10 buys only runs of hundreds of parameters, five decades below the fit's smallest: the farthest
    run outside in N and in D is named, as a run outside the fitted range is for solve and plan."""
    code, out, err = run(capsys, ["suggest", "--fit", files["record"], "--compute", "1e22", "--spend", "1e10", "--json",
                                  *LINEAR])
    assert code == 0, err
    answer = strict(out)
    runs = {w["code"]: w["message"] for w in answer["warnings"] if w["code"].startswith("run_")}
    assert set(runs) == {"run_N_outside_range", "run_D_outside_range"}
    smallest = min(answer["runs"], key=lambda r: r["N"])
    i = answer["runs"].index(smallest) + 1
    assert runs["run_N_outside_range"].startswith(f"suggested run {i}, the farthest below: N = {smallest['N']:.3g} "
                                                  "lies 5")
    assert "below the smallest N fitted" in runs["run_N_outside_range"]
    assert all(runs[code] in err for code in runs)


def test_runs_beyond_the_largest_fitted_ones_are_not_warned_about(capsys, files):
    """A 100x extension (--compute 1e24, --spend 1e21) suggests runs over a decade above the fit's largest N and D:
    extending the data toward the target is what a suggestion is for, so only runs below the data are warned
    about."""
    code, out, err = run(capsys, ["suggest", "--fit", files["record"], "--compute", "1e24", "--spend", "1e21", "--json",
                                  *LINEAR])
    assert code == 0, err
    answer = strict(out)
    n, d = (np.asarray(v) for v in files["fit"].data[:2])
    assert max(r["N"] for r in answer["runs"]) > 10 * n.max() or max(r["D"] for r in answer["runs"]) > 10 * d.max()
    assert not [w for w in answer["warnings"] if w["code"].startswith("run_")], answer["warnings"]


def test_the_records_draws_calibrate_the_sd(capsys, files):
    """A record with draws: they calibrate the figure (no refits, no caveat), as the library does with them."""
    code, out, err = run(capsys, ["suggest", "--fit", files["with_draws"], "--compute", "1e24", "--spend", "1e21",
                                  "--json"])
    assert code == 0, err
    answer = strict(out)
    record = optimal.load_record(files["with_draws"])
    expected = optimal.suggest(record.fit, 1e24, 1e21, draws=record.bootstrap)
    assert answer["uncertainty_method"] == "bootstrap" and answer["n_draws"] == 300 and answer["n_resamples"] == 300
    assert answer["sd_log_n_star_before"] == pytest.approx(expected.sd_before, rel=1e-9)
    assert answer["sd_log_n_star_before"] != pytest.approx(answer["sd_log_n_star_linearised"], rel=0.05)
    assert "linearised" not in err
    code, out, _ = run(capsys, ["suggest", "--fit", files["with_draws"], "--compute", "1e24", "--spend", "1e21",
                                "--json", *LINEAR])
    assert strict(out)["uncertainty_method"] == "linearised"  # --bootstrap 0 wins over the record's draws
    assert answer["sd_log_n_star_after_noise"] == pytest.approx(expected.sd_after_noise, rel=1e-9)
    assert answer["sd_log_n_star_after_noise"] < 0.8 * answer["sd_log_n_star_after"]  # c = 4.2: the range is wide
    code, out, err = run(capsys, ["suggest", "--fit", files["with_draws"], "--compute", "1e24", "--spend", "1e21"])
    assert "bootstrap-calibrated sd of ln N*" in out and "over 300 of 300 bootstrap draws" in out
    low, high = answer["sd_log_n_star_after_noise"], answer["sd_log_n_star_after"]
    assert f"{low:.4f} to {high:.4f} with the" in out  # the range, then each end beside its assumption
    assert f"{low:.4f} if the new runs scatter as the law's noise" in out and f"{high:.4f} if as the old rows" in out


@pytest.mark.slow
def test_a_fresh_bootstrap_calibrates_the_sd(capsys, files):
    """A record without draws and --bootstrap 50: the sd before is the spread of a fresh bootstrap's draws, the
    same as the library's with the same seed."""
    code, out, err = run(capsys, ["suggest", "--fit", files["record"], "--compute", "1e24", "--spend", "1e21",
                                  "--bootstrap", "50", "--seed", "3", "--json"])
    assert code == 0, err
    answer = strict(out)
    expected = optimal.suggest(files["fit"], 1e24, 1e21, n_resamples=50, seed=3)
    assert answer["uncertainty_method"] == "bootstrap" and answer["n_resamples"] == 50
    assert answer["sd_log_n_star_before"] == pytest.approx(expected.sd_before, rel=1e-9)


def test_tokens_per_param_bounds_bound_the_runs(capsys, files):
    code, out, err = run(capsys, ["suggest", "--fit", files["record"], "--compute", "1e24", "--spend", "1e21",
                                  "--min-tokens-per-param", "5", "--max-tokens-per-param", "100", "--json", *LINEAR])
    assert code == 0, err
    answer = strict(out)
    assert answer["min_tokens_per_param"] == 5 and answer["max_tokens_per_param"] == 100 and answer["runs"]
    assert all(5 <= r["tokens_per_param"] <= 100 for r in answer["ranking"])


def test_candidates_from_a_csv_and_k_from_the_record(capsys, files):
    code, out, err = run(capsys, ["suggest", "--fit", files["with_k"], "--compute", "1e24", "--spend", "1e21",
                                  "--candidates", files["candidates"], "--json", *LINEAR])
    assert code == 0, err
    answer = strict(out)
    assert answer["flops_per_param_token"] == 8.0 and answer["candidates_from"] == "given"
    assert answer["n_candidates"] == 4
    given = {(1e8, 2e11), (1e9, 2e10), (1e10, 2e9), (3e9, 3e10)}
    assert {(r["N"], r["D"]) for r in answer["runs"]} <= given
    assert all(r["compute"] == pytest.approx(8 * r["N"] * r["D"]) for r in answer["runs"])
    code, out, _ = run(capsys, ["suggest", "--fit", files["with_k"], "--compute", "1e24", "--spend", "1e21",
                                "--candidates", files["candidates"], "--flops-per-param-token", "6", "--json", *LINEAR])
    assert strict(out)["flops_per_param_token"] == 6.0  # the option wins over the record


CSV_ERRORS = [
    ("N,tokens\n1e9,2e10\n", "needs exactly one column 'D'"),
    ("N,D\n1e9,lots\n", "row 1, column 'D': 'lots' is not a number"),
    ("N,D\n1e9,2e10,5\n", "row 1 has 3 cells but the header has 2"),
    ("N,D\n-1e9,2e10\n", "row 1, column 'N': -1e9 must be positive and finite"),
    ("N,D\n", "no candidate rows below the header"),
    ("", "the file is empty"),
    ("N,n,D\n1,2,3\n", "needs exactly one column 'N'"),
    (b"N,D\n\xff\xfe,1\n", "cannot read the candidates as UTF-8 CSV"),
]


@pytest.mark.parametrize("content, message", CSV_ERRORS, ids=[f"{i}-{m}" for i, (_, m) in enumerate(CSV_ERRORS)])
def test_malformed_candidates_csv_is_one_error(capsys, files, tmp_path, content, message):
    path = tmp_path / "candidates.csv"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    assert_one_error(*run(capsys, ["suggest", "--fit", files["record"], "--compute", "1e24", "--spend", "1e21",
                                   "--candidates", path]), message)


@pytest.mark.parametrize("options, message", [
    (["--spend", "0"], "--spend must be a positive finite number of FLOPs, got 0"),
    (["--spend=-1e21"], "--spend must be a positive finite number of FLOPs, got -1e+21"),
    (["--spend", "inf"], "--spend must be a positive finite number"),
    (["--compute", "0"], "--compute must be a positive finite number of FLOPs, got 0"),
    (["--n", "0"], "--n must be an integer >= 1, got 0"),
    (["--noise-sd", "-1"], "noise_sd must be a positive finite number"),
    (["--min-tokens-per-param", "0"], "--min-tokens-per-param must be a positive finite number, got 0.0"),
    (["--max-tokens-per-param=-3"], "--max-tokens-per-param must be a positive finite number, got -3.0"),
    (["--max-tokens-per-param", "nan"], "--max-tokens-per-param must be a positive finite number"),
    (["--min-tokens-per-param", "50", "--max-tokens-per-param", "20"],
     "--min-tokens-per-param (50) is above --max-tokens-per-param (20)"),
    (["--min-tokens-per-param", "1e6", "--candidates", "{candidates}"], "none of the 4 candidates has tokens per "
                                                                        "parameter within 1e+06"),
    (["--bootstrap", "1"], "--bootstrap must be 0 (the linearised figure) or at least 2 resamples, got 1"),
    (["--bootstrap", "-5"], "--bootstrap must be an integer"),
    (["--seed", "-1"], "--seed must be an integer from 0"),
    (["--spend", "1e10", "--candidates", "{candidates}"], "no candidate fits in the spend of 1e+10 FLOPs: the "
                                                          "cheapest costs 1.2e+20"),
])
def test_bad_options_are_one_error(capsys, files, options, message):
    """(The default candidates always fit: their budgets stop at the spend. Given ones may not.)"""
    options = [o.format(candidates=files["candidates"]) for o in options]
    argv = ["suggest", "--fit", files["record"], "--compute", "1e24"]
    argv += [] if any(o.startswith("--spend") for o in options) else ["--spend", "1e21"]
    assert_one_error(*run(capsys, argv + options), message)


def test_a_candidates_file_over_the_cap_is_one_error(capsys, files, tmp_path, monkeypatch):
    """MAX_CANDIDATES + 1 short rows: refused while read, before scoring (the fuzz pass's 3 million were scored for
    121 s); at the cap a file is read (the cap made small: 4 rows, the fixture's file)."""
    from optimal.cli import suggest

    path = tmp_path / "many.csv"
    path.write_text("N,D\n" + "1,1\n" * (suggest.MAX_CANDIDATES + 1))
    assert_one_error(*run(capsys, ["suggest", "--fit", files["record"], "--compute", "1e24", "--spend", "1e21",
                                   "--candidates", path]), "more than the 100,000 (MAX_CANDIDATES) candidate rows")
    monkeypatch.setattr(suggest, "MAX_CANDIDATES", 4)
    assert len(suggest.read_candidates(files["candidates"])[0]) == 4
    monkeypatch.setattr(suggest, "MAX_CANDIDATES", 3)
    with pytest.raises(optimal.DataError, match="more than the 3 "):
        suggest.read_candidates(files["candidates"])


def test_a_missing_option_or_file_is_one_error(capsys, files):
    assert_one_error(*run(capsys, ["suggest", "--fit", files["record"], "--compute", "1e24"]), "--spend")
    assert_one_error(*run(capsys, ["suggest", "--fit", files["folder"] / "none.json", "--compute", "1e24",
                                   "--spend", "1e21"]), "none.json")
    assert_one_error(*run(capsys, ["suggest", "--fit", files["record"], "--compute", "1e24", "--spend", "1e21",
                                   "--candidates", files["folder"] / "none.csv"]), "no such file")


def test_a_record_without_its_runs_is_refused(capsys, files, tmp_path):
    """suggest needs the fitted rows; a fit record always holds them ("data"), and one without is refused by
    load_fit with a message naming the missing key."""
    record = json.loads(files["record"].read_text())
    del record["data"]
    path = tmp_path / "no_data.json"
    path.write_text(json.dumps(record))
    assert_one_error(*run(capsys, ["suggest", "--fit", path, "--compute", "1e24", "--spend", "1e21"]), "data")
