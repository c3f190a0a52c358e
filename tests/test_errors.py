"""The library's errors: every bad argument or file is a named ``OptimalError`` that says what to fix, never a
bare TypeError, OverflowError or ZeroDivisionError, and never a silent NaN."""

import json
import math
import sys

import numpy as np
import pytest

import optimal
from optimal._util import jsonio
from optimal.allocation.draws import allocate_draws
from optimal.errors import (BudgetError, CoefficientsError, DataError, OptimalError, OutputError, PlanningError,
                            PlotError, as_real, check_count, check_positive, float_array)

COEFFICIENTS = {"E": 1.8172, "A": 482.01, "B": 2085.43, "alpha": 0.3478, "beta": 0.3658}


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """A small fit, its saved record (with 8 bootstrap draws) and the record as a dict."""
    runs = optimal.synthetic_runs(n_runs=40)
    result = optimal.fit(runs.n_params, runs.n_tokens, runs.loss)
    boot = optimal.bootstrap(result, n_resamples=8)
    path = tmp_path_factory.mktemp("fit") / "fit.json"
    optimal.save_fit(path, result, bootstrap=boot)
    return result, boot, path, json.loads(path.read_text())


# --- shared checks ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [-1, 1.5, True, "3", None, 2**32, np.float64(3.0)])
def test_check_count_refuses(value):
    with pytest.raises(OptimalError, match=r"^n must be an integer from 0 to 4294967295, got"):
        check_count(value, "n", 0, 2**32 - 1)


def test_check_count_accepts_integers():
    assert check_count(np.int64(7), "n", 1) == 7 and check_count(0, "n") == 0
    with pytest.raises(DataError, match="^file.csv: k must be an integer >= 1"):
        check_count(0, "k", 1, error=DataError, source="file.csv")


@pytest.mark.parametrize("value", [0, -1.0, math.nan, math.inf, True, "1", 10**400])
def test_check_positive_refuses(value):
    with pytest.raises(OptimalError, match="x must be a positive finite number"):
        check_positive(value, "x")


def test_as_real():
    assert as_real(3) == 3.0 and as_real(np.float32(0.5)) == 0.5 and as_real(10**400) == math.inf
    assert as_real(-(10**400)) == math.inf  # refused by every range check, as +inf is
    for value in (True, "3", None, [1.0]):
        assert math.isnan(as_real(value))


def test_float_array_converts_and_names_an_int_beyond_float64():
    got = float_array([1, 2.5, np.float32(3)], "compute")
    assert got.dtype == np.float64 and got.tolist() == [1.0, 2.5, 3.0]
    assert float_array(7, "x").shape == ()
    with pytest.raises(BudgetError, match=r"^runs.csv: budgets must be finite numbers of FLOPs, got an integer beyond "
                                          r"float64$") as caught:
        float_array([1e20, 10**400], "budgets", BudgetError, "finite numbers of FLOPs", source="runs.csv")
    assert caught.value.__context__ is None  # no "during handling of OverflowError" in the traceback
    with pytest.raises(OptimalError, match="^x must be finite numbers, got an integer beyond float64$"):
        float_array(-(10**400), "x")


def test_float_array_leaves_what_is_not_numbers_to_the_caller_unless_invalid():
    with pytest.raises(ValueError, match="could not convert") as caught:
        float_array("abc", "x", DataError)
    assert not isinstance(caught.value, OptimalError)
    with pytest.raises(TypeError):
        float_array({"a": 1}, "x", DataError)
    with pytest.raises(DataError, match="^x must be numbers of FLOPs, got 'abc'$"):
        float_array("abc", "x", DataError, "numbers of FLOPs", invalid=True)
    with pytest.raises(DataError, match=r"^x must be numbers, got \[\[1\.0, 2\.0\], \[3\.0\]\]$"):
        float_array([[1.0, 2.0], [3.0]], "x", DataError, "numbers", invalid=True)


@pytest.mark.parametrize("call, error, message", [
    (lambda boot: optimal.decide(boot, 10**400, "expected-loss"), BudgetError, "compute .*got an integer beyond float64"),
    (lambda boot: optimal.moe_total_params(10**400, 8), BudgetError, "n_active .*got an integer beyond float64"),
    (lambda boot: optimal.validate_curves(["a", "b"], [1e8, 10**400], [1e9, 1e9], [3.0, 3.0]), DataError,
     "n_params must be finite numbers, got an integer beyond float64"),
    (lambda boot: optimal.hparam_sweep([10**400], [1e9], [1e-3], [3.0]), DataError,
     "n_params must be numbers, got an integer beyond float64"),
    (lambda boot: optimal.isoflop([1e8] * 4, [1e9] * 4, [3.0] * 4, compute=[10**400]), DataError,
     "compute must be numbers of FLOPs, got an integer beyond float64"),
    (lambda boot: jsonio.as_number(10**400, "field x"), CoefficientsError, "field x .*got an integer beyond float64"),
    (lambda boot: optimal.predicted_sd(boot.fit, 1e24, [10**400], [1e10]), DataError,
     "n_params must be numbers, got an integer beyond float64"),
    (lambda boot: optimal.hyperparameters(compute=10**400), PlanningError, "compute must be a finite number > 0"),
    (lambda boot: optimal.hardware_estimate(10**400), PlanningError, "compute must be a finite number > 0"),
    (lambda boot: optimal.serving_cost(10**400), PlanningError, "n_params must be at least 1 and at most"),
], ids=["decide", "moe_total_params", "validate_curves", "hparam_sweep", "isoflop compute", "json number",
        "predicted_sd", "hyperparameters", "hardware_estimate", "serving_cost"])
def test_an_int_beyond_float64_is_named_at_each_entry_point(fitted, call, error, message):
    """The entry points that convert with ``float_array`` or ``as_real`` and no other test reaches with 10**400 (the
    rest: test_bad_input*.py): each raises its own named error, never a bare OverflowError."""
    with pytest.raises(error, match=message):
        call(fitted[1])


# --- reading JSON -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content, message",
    [
        (json.dumps(COEFFICIENTS).encode("utf-16"), "is UTF-16 text, not UTF-8"),
        (bytes(range(256)), r"is not UTF-8 text \(byte 0x80 at offset 128\)"),
        (b"[" * 100_000, "nests arrays or objects too deeply"),
        (b'{"E": ' + b"1" * 5000 + b"}", "holds an integer of 5000 digits"),
        (b"", "is not valid JSON: Expecting value at line 1, column 1"),
        (b"\x00", "is not valid JSON"),
    ],
)
def test_read_json_refuses_what_is_not_json(tmp_path, content, message):
    path = tmp_path / "x.json"
    path.write_bytes(content)
    with pytest.raises(CoefficientsError, match=message):
        jsonio.read_json(path, "coefficients file")


def test_read_json_accepts_a_byte_order_mark(tmp_path):
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(COEFFICIENTS).encode())
    assert optimal.load_coefficients(path).alpha == COEFFICIENTS["alpha"]


def test_read_json_refuses_huge_files_without_reading_them(tmp_path):
    path = tmp_path / "huge.json"
    with open(path, "wb") as file:
        file.truncate(jsonio.MAX_BYTES + 1)  # sparse: no disk, and read_json must not read it
    with pytest.raises(CoefficientsError, match="is larger than 512 MiB"):
        jsonio.read_json(path, "fit record")


@pytest.mark.parametrize("name", [".", "missing.json", "nul\x00.json"])
def test_read_json_unreadable_paths(tmp_path, name):
    with pytest.raises(CoefficientsError, match="cannot read fit record"):
        jsonio.read_json(tmp_path / name if name != "nul\x00.json" else name, "fit record")


def test_dumps_strict_writes_null_and_says_where():
    value = {"a": [1.0, float("nan")], "b": {"c": np.float32("inf"), "d": np.array([1.0, -np.inf])}, "e": (np.nan,)}
    text, places = jsonio.dumps_strict(value)
    assert json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in strict JSON")) == {
        "a": [1.0, None], "b": {"c": None, "d": [1.0, None]}, "e": [None]}
    assert places == ["a[1]", "b.c", "b.d[1]", "e[0]"]
    assert jsonio.dumps_strict({"x": 1}) == ('{"x": 1}', [])


def test_check_writable(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(OutputError, match="folder .* does not exist"):
        jsonio.check_writable(tmp_path / "missing" / "x.json", "fit record")
    with pytest.raises(OutputError, match="it is a folder"):
        jsonio.check_writable(tmp_path, "fit record")
    with pytest.raises(OutputError, match="is not a folder"):
        jsonio.check_writable(tmp_path / "file" / "x.json", "fit record")
    assert jsonio.check_writable(tmp_path / "new.json", "fit record") == tmp_path / "new.json"


# --- coefficients and fit records -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change, message",
    [
        ({"alpha": -0.3}, "coefficient alpha must be a positive finite number, got -0.3"),
        ({"E": True}, "coefficient E must be a positive finite number, got True"),
        ({"A": "480"}, "coefficient A must be a positive finite number, got '480'"),
        ({"B": 10**400}, "coefficient B must be a positive finite number, got 1000"),
        ({"form": ["chinchilla"]}, "unknown form"),
    ],
)
def test_law_from_dict_refuses(change, message):
    with pytest.raises(CoefficientsError, match=message):
        optimal.law_from_dict({**COEFFICIENTS, **change})


@pytest.mark.parametrize(
    "place, value, message",
    [
        (("theta", 3), -0.3, "coefficient alpha must be a positive finite number, got -0.3"),
        (("theta", 0), float("nan"), r"field theta\[0\]: nan is not a finite number"),
        (("theta", 0), 800, "coefficient E must be a positive finite number, got inf"),
        (("log_params",), [1, 2, 3], "field log_params: must be an object"),
        (("log_params", "e"), "0.5", "field log_params.e: '0.5' is not a finite number"),
        (("data",), "x", "data must be an object, not a string"),
        (("data", "N"), ["1e8"] * 40, "data.N must hold numbers, found a string"),
        (("data", "loss"), [-1.0] * 40, "column 'loss', index 0: -1.0 is not positive"),
        (("starts", "theta"), [[1, 2]], "starts.theta must be a list of lists of 5 numbers"),
        (("starts", "reason"), [99] * 16, "field starts.reason: must hold codes"),
        (("starts", "converged"), [1] * 16, "starts.converged must hold true/false values"),
        (("config",), [], "config must be an object, not a list"),
        (("config", "delta"), -1, "delta .* must be a positive finite number"),
        (("config", "grid_size"), "64", "grid_size must be an integer"),
        (("config", "dtype"), "int8", "field config.dtype: must be"),
        (("n_rows",), 1e300, "n_rows must be an integer >= 0"),
        (("objective",), None, "objective must be a number, not null"),
        (("bootstrap", "seed"), -1, "the bootstrap draws are malformed .*seed must be an integer from 0"),
        (("bootstrap", "confidence"), "0.9", "the bootstrap draws are malformed .*confidence must be a number, not a string"),
        (("bootstrap", "thetas"), [[float("nan")] * 5] * 8, "a converged draw has a non-finite coefficient"),
    ],
)
def test_malformed_fit_records(fitted, tmp_path, place, value, message):
    record = json.loads(json.dumps(fitted[3]))
    edited = record
    for key in place[:-1]:
        edited = edited[key]
    edited[place[-1]] = value
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(record))  # NaN as Python writes it: old records may hold it
    with pytest.raises(CoefficientsError, match=message):
        optimal.load_bootstrap(path)  # reads the fit (load_fit) and the draws
    if place[0] != "bootstrap":
        with pytest.raises(CoefficientsError, match=message):
            optimal.load_fit(path)


def test_saved_record_is_strict_json_and_round_trips(fitted, tmp_path):
    result, boot, path, record = fitted
    json.loads(path.read_text(), parse_constant=lambda c: pytest.fail(f"{c} in a saved record"))
    loaded = optimal.load_bootstrap(path)
    np.testing.assert_array_equal(loaded.thetas, boot.thetas)
    assert loaded.fit.params == result.params


def test_save_into_a_missing_folder(fitted, tmp_path):
    with pytest.raises(OutputError, match="does not exist"):
        optimal.save_fit(tmp_path / "missing" / "fit.json", fitted[0])


# --- fit and bootstrap arguments --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind, fields, message",
    [
        (optimal.Search, dict(grid_size=0), "^Search.grid_size must be an integer from 2 to 1024, got 0"),
        (optimal.Search, dict(grid_size=8.0), "^Search.grid_size must be an integer"),
        (optimal.Search, dict(grid_size=True), "^Search.grid_size must be an integer"),
        (optimal.Search, dict(grid_size=10**9), "^Search.grid_size must be an integer from 2 to 1024"),
        (optimal.Search, dict(n_polish=0), "^Search.n_polish must be an integer >= 1, got 0"),
        (optimal.Search, dict(n_polish=-3), "^Search.n_polish must be an integer >= 1"),
        (optimal.Search, dict(n_samples=0), "^Search.n_samples must be an integer from 1 to 4194304, got 0"),
        (optimal.Search, dict(n_samples=2**23), "^Search.n_samples must be an integer from 1 to 4194304"),
        (optimal.Search, dict(starts=[1.0, 2.0]), r"^Search.starts must be .* got shape \(2,\)"),
        (optimal.Search, dict(starts=None), r"^Search.starts must be"),
        (optimal.Solver, dict(max_iter=0), "^Solver.max_iter must be an integer from 1 to"),
        (optimal.Solver, dict(max_iter=-5), "^Solver.max_iter must be an integer from 1 to"),
        (optimal.Solver, dict(max_iter=2**40), "^Solver.max_iter must be an integer from 1 to"),
        (optimal.Solver, dict(max_iter=10.0), "^Solver.max_iter must be an integer"),
        (optimal.Solver, dict(xtol=-1.0), "^Solver.xtol must be a positive finite number"),
        (optimal.Solver, dict(xtol=float("inf")), "^Solver.xtol must be a positive finite number"),
        (optimal.Objective, dict(delta="0.001"), r"^Objective.delta \(the Huber threshold\) must be a positive finite number"),
        (optimal.Objective, dict(delta=-1e-3), r"^Objective.delta \(the Huber threshold\) must be a positive finite"),
        (optimal.Objective, dict(robust=["huber"]), "^Objective.robust must be one of"),
        (optimal.Objective, dict(robust="cauchy"), "^Objective.robust must be one of huber, squared, asymmetric-huber.*, not 'cauchy'"),
    ],
)
def test_each_option_object_refuses_a_bad_field_by_name(kind, fields, message):
    with pytest.raises(OptimalError, match=message):
        kind(**fields)


def test_fit_never_returns_non_finite_coefficients(monkeypatch):
    fit_module = sys.modules["optimal.fitting.fit"]

    def diverged(theta0, *args, **kwargs):
        nan = np.full(len(theta0), np.nan)
        return (fit_module.Lanes(np.full((len(theta0), 5), np.nan), nan, nan, np.zeros(len(theta0), int),
                                 np.zeros(len(theta0), int), np.zeros(len(theta0), bool)),
                np.full((len(theta0), 5, 5), np.nan))

    monkeypatch.setattr(fit_module, "polish_with_curvature", diverged)
    runs = optimal.synthetic_runs(n_runs=40)
    with pytest.raises(OptimalError, match="the fit produced no finite coefficients"):
        optimal.fit(runs.n_params, runs.n_tokens, runs.loss)


@pytest.mark.parametrize("column, value", [("loss", 1e-308), ("loss", 1e101), ("n_params", 1e301), ("n_tokens", 1e-301)])
def test_values_the_fit_cannot_compute_with(column, value):
    runs = optimal.synthetic_runs(n_runs=40)._asdict()
    runs[column] = runs[column].copy()
    runs[column][3] = value
    with pytest.raises(DataError, match=f"column '{column}', index 3: .* is outside the range the fit can compute"):
        optimal.validate_runs(runs["n_params"], runs["n_tokens"], runs["loss"])


@pytest.mark.parametrize(
    "options, message",
    [
        (dict(seed=-1), "seed must be an integer from 0 to 4294967295, got -1"),
        (dict(seed=2**32), "seed must be an integer from 0 to 4294967295"),
        (dict(seed=2**63), "seed must be an integer from 0 to 4294967295"),
        (dict(seed=1.5), "seed must be an integer"),
        (dict(seed=True), "seed must be an integer"),
        (dict(chunk_size=0), "chunk_size must be an integer >= 1, got 0"),
        (dict(chunk_size=-4), "chunk_size must be an integer >= 1"),
        (dict(n_starts=0), "n_starts must be an integer >= 1, got 0"),
        (dict(max_iter=0), "max_iter must be an integer from 1 to"),
        (dict(n_resamples=1), "n_resamples must be an integer from 2 to 1000000, got 1"),
        (dict(n_resamples=10**20), "n_resamples must be an integer from 2 to 1000000"),
        (dict(confidence=float("nan")), "confidence must be between 0 and 1"),
        (dict(confidence="0.9"), "confidence must be between 0 and 1"),
        (dict(refit=dict(max_iter=5)), "refit must be an optimal.Refit"),
    ],
)
def test_bad_bootstrap_arguments(fitted, options, message):
    refit = {k: v for k, v in options.items() if k in ("n_starts", "max_iter", "chunk_size")}  # Refit's settings
    options = {k: v for k, v in options.items() if k not in refit}
    with pytest.raises(OptimalError, match=message):
        optimal.bootstrap(fitted[0], **{"n_resamples": 4, **options}, **({"refit": optimal.Refit(**refit)} if refit else {}))


@pytest.mark.parametrize("budgets", [[-1.0], [0.0], [1e24, np.nan], [np.inf], [1.0]])
def test_bootstrap_allocation_refuses_bad_budgets(fitted, budgets):
    with pytest.raises(BudgetError):
        allocate_draws(fitted[1], budgets)


def test_too_few_converged_draws(fitted):
    boot = fitted[1]
    one = optimal.BootstrapResult(boot.thetas, boot.objectives, np.arange(8) == 0, boot.iterations, 0.95, 0, boot.fit)
    assert one.params()["alpha"] == {"lo": None, "hi": None, "se": None}
    assert allocate_draws(one, [1e22])[0]["N"] == {"lo": None, "hi": None, "se": None}
    with pytest.raises(OptimalError, match="only 1 of 8 bootstrap resamples converged"):
        optimal.predict(one.fit, 1e9, 1e10, bootstrap=one)


# --- allocation caps --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "caps, message",
    [
        (dict(max_tokens=[1e11, 2e11]), r"max_tokens must be one number .* got shape \(2,\)"),
        (dict(max_params=np.array([1e9])), r"max_params must be one number .* got shape \(1,\)"),
        (dict(flops_per_param_token=[6.0, 8.0]), r"flops_per_param_token must be one number"),
        (dict(flops_per_param_token=float("nan")), "flops_per_param_token must be positive and finite"),
    ],
)
def test_caps_must_be_scalars(caps, message):
    with pytest.raises(BudgetError, match=message):
        optimal.compute_optimal(optimal.preset(), 1e24, **caps)


# --- figures ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dpi, message", [(0, "dpi must be an integer from 10 to 2000, got 0"), (-5, "got -5"),
                                          (10**6, "got 1000000"), (150.5, "got 150.5")])
def test_save_figure_dpi(tmp_path, dpi, message):
    from matplotlib.figure import Figure

    from optimal import plot

    with pytest.raises(PlotError, match=message):
        plot.save_figure(Figure(), tmp_path / "x.png", dpi=dpi)


def test_save_figure_onto_a_folder(tmp_path):
    from matplotlib.figure import Figure

    from optimal import plot

    (tmp_path / "dir.png").mkdir()
    with pytest.raises(PlotError, match="it is a folder"):
        plot.save_figure(Figure(), tmp_path / "dir.png")
