"""Bad input on the command line: whatever the file holds or the options say, the outcome is exit status 2 with
one line ``error: ...`` on stderr (or, where the input is fine after all, the right answer), never a traceback,
and JSON output is strict (no NaN or Infinity)."""

import json
import sys

import numpy as np
import pytest

import optimal
from cli_helpers import LAW, assert_one_error, files, gadre_csv, run, strict  # noqa: F401 (files is a fixture)

@pytest.fixture
def no_computation(monkeypatch):
    """Errors that can be found from the options must come before any fitting or drawing."""
    from optimal import plot

    def computed(*args, **kwargs):
        raise AssertionError("the error came after the computation")

    monkeypatch.setattr(optimal, "fit", computed)
    monkeypatch.setattr(optimal, "bootstrap", computed)
    monkeypatch.setattr(plot, "figure_from_record", computed)


# --- JSON files: --coefficients, --fit, plot ----------------------------------------------------------------------

JSON_FILES = [
    (json.dumps(LAW).encode("utf-16"), "is UTF-16 text, not UTF-8"),
    (bytes(range(256)) * 4, "is not UTF-8 text"),
    (b"[" * 100_000, "nests arrays or objects too deeply"),
    (b'{"a":' * 100_000, "nests arrays or objects too deeply"),
    (b'{"E": ' + b"7" * 5000 + b"}", "holds an integer of 5000 digits"),
    (b"", "is not valid JSON"),
    (b"\x00\x00", "is not valid JSON"),
    (b"[1, 2]", "must be"),
]
COMMANDS = [
    ["solve", "--compute", "1e24", "--coefficients", "{}"],
    ["solve", "--compute", "1e24", "--fit", "{}"],
    ["plot", "--fit", "{}", "--kind", "fit", "--out", "{out}"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=["coefficients", "fit", "plot"])
@pytest.mark.parametrize("content, message", JSON_FILES, ids=[m for _, m in JSON_FILES])
def test_unreadable_json_files(capsys, tmp_path, command, content, message):
    path = tmp_path / "in.json"
    path.write_bytes(content)
    argv = [str(path) if a == "{}" else str(tmp_path / "out.png") if a == "{out}" else a for a in command]
    assert_one_error(*run(capsys, argv), message)


@pytest.mark.parametrize(
    "change, message",
    [
        ('"E": 1e999', "coefficient E must be a positive finite number, got inf"),
        ('"E": NaN', "coefficient E must be a positive finite number, got nan"),
        ('"alpha": -0.3', "coefficient alpha must be a positive finite number, got -0.3"),
        ('"A": "480"', "coefficient A must be a positive finite number, got '480'"),
        ('"B": ' + "9" * 400, "holds an integer of 400 digits"),
        ('"form": ["kaplan"]', "unknown form"),
    ],
)
def test_bad_coefficients(capsys, tmp_path, change, message):
    path = tmp_path / "law.json"
    key = change.split(":")[0]
    path.write_text("{" + ", ".join([change] + [f'"{k}": {v}' for k, v in LAW.items() if f'"{k}"' != key]) + "}")
    assert_one_error(*run(capsys, ["solve", "--compute", "1e24", "--coefficients", path]), message)


def test_coefficients_with_a_byte_order_mark(capsys, tmp_path):
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(LAW).encode())
    code, out, _ = run(capsys, ["solve", "--compute", "5.76e23", "--coefficients", path, "--json"])
    assert code == 0 and strict(out)["allocations"][0]["tokens_per_param"] == pytest.approx(18.4, abs=0.05)


def test_coefficients_file_too_large(capsys, tmp_path):
    path = tmp_path / "huge.json"
    with open(path, "wb") as file:
        file.truncate(600 * 2**20)  # sparse
    assert_one_error(*run(capsys, ["solve", "--compute", "1e24", "--coefficients", path]), "is larger than 512 MiB")


@pytest.mark.parametrize(
    "place, value, message",
    [
        (("theta", 3), -0.3, "coefficient alpha must be a positive finite number, got -0.3"),
        (("params", "E"), float("nan"), "field params.E: nan is not a finite number"),
        (("log_params",), [0.5, 6.0, 7.5, 0.3, 0.3], "field log_params: must be an object"),
        (("log_params", "e"), "0.5", "field log_params.e: '0.5' is not a finite number"),
        (("data",), [[1e8, 1e10, 3.0]], "data must be an object, not a list"),
        (("data", "D"), "1e10", "data.D must be a list of numbers"),
        (("starts", "theta"), [[1, 2]], "starts.theta must be a list of lists of 5 numbers"),
        (("config", "max_iter"), 0, "max_iter must be an integer from 1 to"),
        (("iterations",), "many", "iterations must be an integer >= 0"),
        (("bootstrap", "thetas"), {"e": 1}, "the bootstrap draws are malformed"),
        (("bootstrap", "seed"), 2**40, "the bootstrap draws are malformed (field bootstrap.seed: seed must be an integer from 0 to"),
        # the diagnostics later code reads (the profile figure, the bootstrap's unbounded parameters): a traceback before
        (("diagnostics", "unbounded"), 5, "field diagnostics.unbounded must be an object, not a number"),
        (("diagnostics", "unbounded"), {"E": "sideways"}, "field diagnostics.unbounded: must map free parameters"),
        (("diagnostics", "unbounded"), {"zz": "above"}, "found 'zz': 'above'"),
        (("diagnostics", "profile"), "abc", "field diagnostics.profile must be an object, not a string"),
        (("diagnostics", "profile", "E", "grid"), "abc", "field diagnostics.profile.E.grid must be a list of numbers"),
        (("diagnostics", "profile", "E", "grid"), [1.0, 2.0], "diagnostics.profile.E.objective has"),
        (("diagnostics", "profile", "E", "range"), [1.0], "diagnostics.profile.E.range has 1 entries, not 2"),
        (("diagnostics", "profile_threshold"), "x", "field diagnostics.profile_threshold must be an object"),
        (("diagnostics", "not_identified"), 3, "field diagnostics.not_identified: must be a list of texts"),
        (("data", "weights"), [0.0] * 40, "need at least 6 rows to fit 5 free coefficients, got 0 rows with positive weight"),
    ],
)
def test_malformed_fit_records(capsys, tmp_path, files, place, value, message):
    record = json.loads(json.dumps(files["dict"]))
    edited = record
    for key in place[:-1]:
        edited = edited[key]
    edited[place[-1]] = value
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(record))
    assert_one_error(*run(capsys, ["solve", "--compute", "1e24", "--fit", path]), message)
    assert_one_error(*run(capsys, ["plot", "--fit", path, "--kind", "bootstrap", "--out", tmp_path / "o.png"]), message)


# --- options ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "options, message",
    [
        (["--save", "{folder}/missing/fit.json"], "does not exist"),
        (["--save", "{folder}"], "it is a folder"),
        (["--save", "{csv}/fit.json"], "is not a folder"),
        (["--bootstrap", "4", "--seed", "9223372036854775808"], "--seed must be an integer from 0 to 4294967295"),
        (["--bootstrap", "4", "--seed", "-1"], "--seed must be an integer from 0 to 4294967295, got -1"),
        (["--bootstrap", "4", "--seed", "4294967296"], "--seed must be an integer from 0 to 4294967295"),
        (["--bootstrap", "20", "--compute", "-1", "0", "1e400"], "compute must be positive and finite, got -1"),
        (["--bootstrap", "20", "--compute", "1e400"], "compute must be positive and finite, got inf"),
        (["--bootstrap", "20", "--compute", "nan"], "compute must be positive and finite, got nan"),
        (["--compute", "1e22", "5"], "below one parameter trained on one token"),
        (["--compute", "1e22", "--flops-per-param-token", "0"], "flops_per_param_token must be positive"),
        (["--compute", "1e22", "--flops-per-param-token", "nan"], "flops_per_param_token must be positive"),
        (["--bootstrap", "-5"], "--bootstrap must be an integer from 2 to 1000000, got -5"),
        (["--bootstrap", "1"], "--bootstrap must be an integer from 2"),
        (["--bootstrap", "99999999999999999999"], "--bootstrap must be an integer from 2 to 1000000"),
        (["--bootstrap", "4", "--confidence", "0"], "--confidence must be between 0 and 1"),
        (["--bootstrap", "4", "--confidence", "1"], "--confidence must be between 0 and 1"),
        (["--bootstrap", "4", "--confidence", "nan"], "--confidence must be between 0 and 1"),
        (["--bootstrap", "4", "--confidence", "2"], "--confidence must be between 0 and 1"),
    ],
)
def test_fit_options_checked_before_fitting(capsys, files, no_computation, options, message):
    options = [o.format(folder=files["folder"], csv=files["csv"]) for o in options]
    assert_one_error(*run(capsys, ["fit", files["csv"], *options]), message)


@pytest.mark.parametrize(
    "options, message",
    [
        (["--dpi", "0"], "dpi must be an integer from 10 to 2000, got 0"),
        (["--dpi", "-5"], "dpi must be an integer from 10 to 2000, got -5"),
        (["--dpi", "1000000"], "dpi must be an integer from 10 to 2000, got 1000000"),
        (["--dpi", "1e6"], "invalid int value"),
        (["--out", "{folder}/missing/o.png"], "does not exist"),
        (["--out", "{folder}/dir.png"], "it is a folder"),
        (["--out", "{folder}/o.txt"], "cannot tell the image format"),
    ],
)
def test_plot_options_checked_before_drawing(capsys, files, no_computation, options, message):
    (files["folder"] / "dir.png").mkdir(exist_ok=True)
    options = [o.format(folder=files["folder"]) for o in options]
    if "--out" not in options:
        options += ["--out", files["folder"] / "o.png"]
    assert_one_error(*run(capsys, ["plot", "--kind", "frontier", *options]), message)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["solve", "--compute", "1e24", "--preset", ""], "argument --preset: an empty name"),
        (["solve", "--compute", "1e309"], "compute must be positive and finite, got inf"),
        (["solve", "--compute", "nan"], "compute must be positive and finite, got nan"),
        (["solve", "--compute", "1e24", "--flops-per-param-token", "-1"], "flops_per_param_token must be positive"),
        (["solve", "--target-loss", "nan"], "target_loss must be positive and finite"),
        (["fit", "{csv}", "--delta", "nan"], "delta (the Huber threshold) must be a positive finite number"),
        (["fit", "{csv}", "--delta", "-1"], "delta (the Huber threshold) must be a positive finite number"),
        (["fit", "{csv}", "--drop-highest-loss", "-1"], "drop_highest_loss must be an integer >= 0, got -1"),
        (["fit", "{csv}", "--drop-highest-loss", "1000000000"], "cannot drop the 1000000000 highest-loss rows"),
    ],
)
def test_bad_options(capsys, files, argv, message):
    assert_one_error(*run(capsys, [a.format(csv=files["csv"]) for a in argv]), message)


# --- runs files -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "the file is empty"),
        (b"N,D,loss\n", "need at least 6 rows"),
        (bytes(range(256)) * 8, "cannot read the file as UTF-8 CSV"),
        ("N,D,loss\n1e8,1e10,3\n".encode("utf-16"), "cannot read the file as UTF-8 CSV"),
        (b"N,D,loss\n1e8,1e10,\x003\n", "is not a number"),
        (",".join(f"c{i}" for i in range(10**5)).encode() + b"\n", "(100000 in all)"),
        (b"N,D,loss\n1e8,1e10,1e-308\n", "1e-308 is outside the range the fit can compute with"),
    ],
)
def test_bad_runs_files(capsys, tmp_path, content, message):
    path = tmp_path / "runs.csv"
    path.write_bytes(content)
    assert_one_error(*run(capsys, ["fit", path, "--json"]), message)


def test_runs_whose_compute_leaves_float64(capsys, tmp_path):
    # N and D each inside their ranges, N x D not: the fit's reference budget (100 x the largest run's) overflowed
    rows = [(1e8 * 2**i, 2e9 * 1.7**i, 3.0 - 0.1 * i) for i in range(8)] + [(1e8, 1e300, 2.5)]
    path = tmp_path / "runs.csv"
    path.write_text("N,D,loss\n" + "".join(f"{n!r},{d!r},{y!r}\n" for n, d, y in rows))
    message = "columns 'N' and 'D', row 9 (line 10): N x D = 1e+308 is outside the range the fit can compute with"
    assert_one_error(*run(capsys, ["fit", path]), message)
    with pytest.raises(optimal.DataError, match=r"N x D = 1e\+308"):
        optimal.fit(*np.array(rows).T)


def test_an_overflow_on_the_way_to_an_error_is_not_a_second_line(capsys, tmp_path, files):
    path = tmp_path / "runs.csv"  # C / (k N) with k = 1e300: refused as the option it is, every command alike
    path.write_text("N,C,loss\n" + "".join(f"{1e8 * 2**i!r},{1e18 * 3**i!r},{3.0 - 0.1 * i!r}\n" for i in range(8)))
    for argv in (["fit", path, "--flops-col", "C"], ["solve", "--compute", "1e22"]):
        assert_one_error(*run(capsys, [*argv, "--flops-per-param-token", "1e300"]),
                         "argument --flops-per-param-token: K 1e+300 is above 1e4")
    # NumPy's overflow warning on the way to a refusal is not said beside the error (it is when the command answers)
    argv = ["suggest", "--fit", files["record"], "--compute", "1e22", "--spend", "1e20", "--max-tokens-per-param", "1e-300"]
    assert_one_error(*run(capsys, argv), "has at least 1 parameter and 1 token")


def test_a_line_break_in_user_text_stays_one_line(capsys, tmp_path):
    assert_one_error(*run(capsys, ["fit", str(tmp_path / "no\nsuch.csv")]), "no\\nsuch.csv: no such file")
    path = tmp_path / "runs.csv"  # a group label holding a line break, in a group too small to fit
    big = "".join(f"{1e8 * 1.5**i!r},{2e9 * 1.3**i!r},{3.0 - 0.05 * i!r},a\n" for i in range(12))
    small = "".join(f"{1e8 * 2**i!r},{2e9 * 2**i!r},{3.0 - 0.1 * i!r},\"ti\nny\"\n" for i in range(3))
    path.write_text("N,D,loss,g\n" + big + small)
    assert_one_error(*run(capsys, ["fit", path, "--by", "g"]), "group ti\\nny: need at least 6 rows")


# --- output -----------------------------------------------------------------------------------------------------


def test_too_few_converged_draws_print_n_a(capsys, tmp_path, files):
    record = json.loads(json.dumps(files["dict"]))
    record["bootstrap"]["converged"] = [True] + [False] * 7
    path = tmp_path / "one.json"
    path.write_text(json.dumps(record))
    code, out, err = run(capsys, ["solve", "--compute", "1e22", "--fit", path])
    assert code == 0 and "n/a" in out and "7 of 8 resamples (87.5%) did not converge" in err
    code, out, err = run(capsys, ["solve", "--compute", "1e22", "--fit", path, "--json"])
    assert code == 0 and strict(out)["allocations"][0]["intervals"]["N"] == {"lo": None, "hi": None, "se": None}


def test_too_few_converged_draws_in_the_fit_table(capsys, files):
    boot = optimal.load_bootstrap(files["record"])
    one = optimal.BootstrapResult(boot.thetas, boot.objectives, np.arange(8) == 0, boot.iterations, 0.95, 0, boot.fit)
    table = one.summary()  # the table fit prints
    assert "n/a" in table and "nan" not in table


def test_non_finite_output_is_null_with_one_warning(capsys, monkeypatch):
    from optimal.analysis.recommend import Recommendation

    to_dict = Recommendation.to_dict
    monkeypatch.setattr(Recommendation, "to_dict", lambda self: {
        **to_dict(self), "allocations": [{**r, "loss": float("nan")} for r in to_dict(self)["allocations"]]})
    code, out, err = run(capsys, ["solve", "--compute", "1e22", "1e23", "--json"])
    assert code == 0 and [r["loss"] for r in strict(out)["allocations"]] == [None, None]
    assert err == "warning: 2 non-finite values written as null (allocations[0].loss, allocations[1].loss)\n"


@pytest.mark.slow
def test_no_traceback_from_a_fresh_process(tmp_path):
    import subprocess

    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000)
    proc = subprocess.run([sys.executable, "-m", "optimal", "solve", "--compute", "1e24", "--fit", str(path)],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("error: ")


# --- empty names, fixed values outside the law's domain --------------------------------------------------------------

EMPTY = [
    (["plan", "--compute", "1e23", "--accelerator", ""], "--accelerator"),
    (["plan", "--compute", "1e23", "--accelerator-file", " "], "--accelerator-file"),
    (["fit", "{csv}", "--params-col", ""], "--params-col"),
    (["fit", "{csv}", "--save", ""], "--save"),
    (["fit", "{csv}", "--by", ""], "--by"),
    (["plot", "--kind", "frontier", "--out", ""], "--out"),
    (["solve", "--compute", "1e24", "--fit", ""], "--fit"),
]


@pytest.mark.parametrize("argv, option", EMPTY, ids=[f"{a[0]} {o}" for a, o in EMPTY])
def test_an_empty_name_is_refused(capsys, files, no_computation, argv, option):
    argv = [str(files["csv"]) if a == "{csv}" else a for a in argv]
    assert_one_error(*run(capsys, argv), f"argument {option}: an empty name; give one")


@pytest.mark.parametrize("command", ["fit", "validate"])
@pytest.mark.parametrize("fixed, shown", [("alpha=0", "alpha=0"), ("alpha=-0.3", "alpha=-0.3"), ("beta=0", "beta=0")])
def test_a_fixed_exponent_outside_the_laws_domain_is_refused(capsys, files, no_computation, command, fixed, shown):
    extra = ["--holdout-largest", "3"] if command == "validate" else []
    code, out, err = run(capsys, [command, files["csv"], "--fix", fixed, *extra])
    assert_one_error(code, out, err, f"--fix {shown}: outside the Chinchilla law's domain")
    assert "must be a positive finite number" in err


def test_a_fixed_value_inside_the_domain_is_kept(capsys, files):
    code, out, err = run(capsys, ["fit", files["csv"], "--fix", "alpha=0.3", "--json"])
    assert code == 0 and strict(out)["fits"][0]["fixed"] == {"alpha": 0.3}


# Found by benchmarks/fuzz_cli.py: these printed N* = nan (a subnormal k), an inf se, or a bare OverflowError.
@pytest.mark.parametrize("argv, message", [
    (["solve", "--compute", "1e23", "--flops-per-param-token", "1e-320"], "compute / k overflows float64"),
    (["solve", "--compute", "1e23", "--max-params", "1e-320"], "max_params must be at least 1 (one parameter)"),
    (["solve", "--compute", "1e23", "--max-tokens", "0.5"], "max_tokens must be at least 1 (one token)"),
    (["solve", "--compute", "9" * 400], "compute must be positive and finite"),
    (["fit", "{csv}", "--delta", "1e-320"], "delta (the Huber threshold) must be at least 1e-10"),
    (["plan", "--params", "1e9", "--tokens", "1e-320"], "n_tokens must be at least 1 (one token)"),  # was loss inf
    (["plan", "--compute", "1e23", "--unique-tokens", "1e-320"], "unique_tokens must be at least 1"),  # was inf
    (["plan", "--compute", "1e23", "--accelerators", "9" * 40], "n_accelerators must be an integer from 1 to"),
])
def test_inputs_that_overflow_a_derived_quantity(capsys, files, argv, message):
    assert_one_error(*run(capsys, [a.format(csv=files["csv"]) for a in argv]), message)


class Fitted(Exception):
    """Raised in place of the fit: the rows were accepted."""


@pytest.mark.parametrize("options, free", [([], 5), (["--tie", "alpha=beta"], 4), (["--fix", "E=1.8"], 4),
                                           (["--fix", "E=1.8", "--tie", "alpha=beta"], 3)])
def test_fit_counts_the_rows_it_needs_from_the_free_parameters(capsys, tmp_path, monkeypatch, options, free):
    """5 runs fit 4 free coefficients (Gadre et al. 2024: E, A, B and one tied exponent), not 5: before, fit asked
    for 10 rows whatever --fix and --tie left free."""
    def fitted(*args, **kwargs):
        raise Fitted

    monkeypatch.setattr(optimal, "fit", fitted)
    argv = ["fit", gadre_csv(tmp_path / "runs.csv"), *options]
    if free < 5:
        with pytest.raises(Fitted):
            run(capsys, argv)
    else:
        assert_one_error(*run(capsys, argv), "need at least 6 rows to fit 5 free coefficients, got 5 rows")


# --- found by the fuzz pass of 2026-12-05 (benchmarks/fuzz_cli.py) ----------------------------------------------

@pytest.mark.parametrize("argv, message", [
    (["fit", "{csv}", "--fix", "beta=1e-320"], "fixed beta = 9.99989e-321 is outside 2.23e-308 .. 4.49e+307"),
    (["presets", "--compare", "--compute", "1e-320"], "below one parameter trained on one token"),
    (["validate", "{csv}", "--holdout-largest", "3", "--delta", "1e308"], "must be at most 1e+100"),  # intervals were inf
    (["suggest", "--fit", "{record}", "--compute", "1e21", "--spend", "1e20", "--candidates", "/dev/zero"],
     "is a device, not a regular file"),  # was read to the end: the memory filled and the process was killed
    (["predict", "--fit", "{record}", "--runs", "/dev/zero"], "is a device, not a regular file"),  # its header too
])
def test_values_that_underflow_or_overflow_are_one_error_line(capsys, files, argv, message):
    assert_one_error(*run(capsys, [a.format(csv=files["csv"], record=files["record"]) for a in argv]), message)
