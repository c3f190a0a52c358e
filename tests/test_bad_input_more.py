"""Bad input found by the fuzz pass of the paths added last (benchmarks/fuzz_cli.py, run of 2026-12-05 afternoon):
the unique-tokens / epochs columns read by ``fit`` and ``validate`` (``optimal.data.repetition``,
``optimal.fit(columns=)``) and ``suggest``'s candidates. Each raised a bare Python error, ignored a column without a
word or scored a candidate no law can price; each test was seen failing with its fix undone."""

import numpy as np
import pytest

import optimal
from cli_helpers import assert_one_error, run
from optimal.analysis.design import _check_candidates
from optimal.cli.suggest import read_candidates
from optimal.data.readers import read_runs_with_columns
from optimal.data.repetition import RECOGNISED, repetition
from optimal.errors import BudgetError, CoefficientsError, DataError, OptimalError

N = np.array([1e8, 2e8, 4e8, 8e8, 1.6e9] * 2)
D = np.array([2e9] * 5 + [4e10] * 5)
LOSS = 1.8 + 400 / N ** 0.34 + 410 / D ** 0.28
GROUPS = np.arange(10) % 2

ENTRY_POINTS = {  # each checks columns= before any fitting (a bad one failed after, or with an IndexError)
    "fit": lambda columns: optimal.fit(N, D, LOSS, columns=columns),
    "fit_groups": lambda columns: optimal.fit_groups(N, D, LOSS, groups=GROUPS, columns=columns),
    "validate": lambda columns: optimal.validate(N, D, LOSS, largest=2, columns=columns, simulations=0),
    "validate_groups": lambda columns: optimal.validate_groups(N, D, LOSS, groups=GROUPS, largest=2, columns=columns,
                                                               simulations=0),
}


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
@pytest.mark.parametrize("columns, message", [
    ("U", "columns must be a mapping"),  # was TypeError: string indices must be integers
    ([D / 2], "columns must be a mapping"),  # was accepted and never read
    ({"U": D[:3]}, r"columns\['U'\] must have one value per run \(10\), got a value of shape \(3,\)"),  # ValueError
    ({"U": np.array(1e9)}, r"got a value of shape \(\)"),  # IndexError in fit_groups, ValueError in validate
], ids=["str", "list", "short", "0-d"])
def test_columns_of_the_wrong_kind_or_length_are_a_data_error(entry, columns, message):
    with pytest.raises(DataError, match=message):
        ENTRY_POINTS[entry](columns)


@pytest.mark.parametrize("columns, column, shown", [
    ({"U": D, "epochs": np.full(10, 40.0)}, "U", "epochs = D / U = 1 but epochs = 40"),
    ({"U": D / 2, "u": D * 2}, "U", "epochs = D / U = 2 but D / u = 0.5"),
])
def test_two_recognised_columns_that_disagree_are_named_not_one_of_them_ignored(columns, column, shown):
    """The first recognised column is read, as before; the other was ignored without a word (40 epochs)."""
    found = repetition(D, columns)
    assert found.column == column and found.max_epochs == repetition(D, {column: columns[column]}).max_epochs
    assert found.note.code == "repeated-data-unchecked" and shown in found.note.message
    assert f"the check read {column!r} only" in found.note.message


def test_two_recognised_columns_that_agree_are_checked():
    found = repetition(D, {"unique_tokens": D / 4, "epochs": np.full(10, 4.001)})
    assert found.n_repeated == 10 and found.warning is not None and found.note is None


@pytest.mark.parametrize("values", [[True] * 10, [10**400] * 10], ids=["bools", "int beyond float64"])
def test_values_that_are_no_count_are_a_note(values):
    """True read as 1 unique token (every run at 1e9 epochs, warned); an int beyond float64 raised OverflowError."""
    found = repetition(D, {"U": values})
    assert found.warning is None and "not positive finite numbers" in found.note.message


def test_two_columns_of_one_recognised_name_in_a_file_are_a_data_error(tmp_path):
    """Both were left out, so the check was skipped without a word."""
    path = tmp_path / "runs.csv"
    path.write_text("N,D,loss,U,u\n" + "".join(f"{n!r},{d!r},{l!r},{d / 2!r},{d / 4!r}\n"
                                               for n, d, l in zip(N, D, LOSS)))
    with pytest.raises(DataError, match=r"2 columns match 'U'.*rename all but one"):
        read_runs_with_columns(path, optional=RECOGNISED)


@pytest.mark.parametrize("candidates, message", [
    (([0.5, 1e8], [1e9, 1e9]), r"candidate 0 \(0-based\): N = 0.5 must be at least 1"),
    (([1e8, 1e8], [1e9, 1e-3]), r"candidate 1 \(0-based\): D = 0.001 must be at least 1"),
    (([1e308, 1e8], [1e308, 1e9]), r"candidate 0 \(0-based\): N x D overflows its cost k N D"),
], ids=["N below 1", "D below 1", "N D overflows"])
def test_a_candidate_no_law_can_price_is_refused(candidates, message):
    """Before: a run of 1e8 parameters on 0.001 tokens was ranked first by ``suggest``, and one of 1e308 x 1e308
    dropped after raw NumPy overflow warnings. (``suggest`` checks its candidates with this before any work.)"""
    with pytest.raises(DataError, match=message):
        _check_candidates(candidates)


def test_a_candidates_file_below_one_parameter_is_refused_with_its_row(tmp_path):
    path = tmp_path / "candidates.csv"
    path.write_text("N,D\n1e8,2e9\n0.5,1e9\n")
    with pytest.raises(DataError, match=r"candidates.csv: row 2, column 'N': 0.5 must be at least 1"):
        read_candidates(path)


# --- library entry points with hostile arguments (the fuzz pass's new library cases) ------------------------------

HUGE_INT = 10**400  # beyond float64


@pytest.mark.parametrize("call, error, message", [
    (lambda: optimal.closed_form(optimal.preset("epoch2024"), float("nan")), BudgetError, "compute must be positive"),
    (lambda: optimal.closed_form(optimal.preset("epoch2024"), -1.0), BudgetError, "compute must be positive"),
    (lambda: optimal.closed_form(optimal.preset("epoch2024"), 1e23, 0.0), BudgetError, "flops_per_param_token must"),
    (lambda: optimal.moe_total_params(float("nan"), 8), BudgetError, "n_active must be positive finite"),
    (lambda: optimal.moe_total_params(None, 8), BudgetError, "n_active must be positive finite"),
    (lambda: optimal.fit(N, D, LOSS, fix={"alpha": HUGE_INT}), CoefficientsError, "fixed alpha must be a finite"),
    (lambda: optimal.compare_presets(HUGE_INT), BudgetError, "an integer beyond float64"),
    (lambda: optimal.estimate_cost(HUGE_INT), OptimalError, "n_rows must be an integer from 1 to"),
    (lambda: optimal.estimate_cost(84, n_resamples=HUGE_INT), OptimalError, "n_resamples must be an integer from 0"),
    (lambda: optimal.isoflop(N, D, LOSS, targets=[HUGE_INT]), DataError, "targets must be numbers of FLOPs"),
    (lambda: optimal.isoflop(N, D, LOSS, compute="abc"), DataError, "compute must be numbers of FLOPs"),
    (lambda: _check_candidates(HUGE_INT), DataError, "candidates must be numbers"),
    (lambda: optimal.isoflop(N, D, LOSS, n_resamples=3, seed=np.array(3)), OptimalError, "seed must be an integer"),
    (lambda: optimal.validate(N, D, LOSS, largest=2, seed=np.array(3)), OptimalError, "seed must be an integer"),
    (lambda: optimal.isoflop_runs(noise=float("nan")), DataError, "noise must be a log-loss sd"),
    (lambda: optimal.isoflop_runs(n_sizes=10**12), DataError, "n_sizes must be an integer from 1 to"),
    (lambda: optimal.synthetic_runs(n_runs=10**12), DataError, "n_runs must be an integer from 1 to"),
    (lambda: optimal.synthetic_runs(seed=-1), DataError, "seed must be an integer >= 0"),
    (lambda: optimal.isoflop_runs(seed=2.5), DataError, "seed must be an integer >= 0"),
    (lambda: optimal.Objective(robust="asymmetric-huber:1e-300"), OptimalError, "1e-6 <= A <= 1"),
    (lambda: optimal.Objective(robust="asymmetric-huber:"), OptimalError, "give the asymmetry after the colon"),
], ids=["closed_form nan", "closed_form -1", "closed_form k 0", "moe_total_params nan", "moe_total_params None",
        "fix 10**400", "compare_presets 10**400", "estimate_cost 10**400", "estimate_cost resamples 10**400",
        "isoflop targets 10**400", "isoflop compute text", "candidates 10**400", "isoflop seed 0-d",
        "validate seed 0-d", "isoflop_runs noise nan", "isoflop_runs 10**12 sizes", "synthetic_runs 10**12 runs",
        "synthetic_runs seed -1", "isoflop_runs seed 2.5",
        "asymmetry 1e-300", "asymmetry empty"])
def test_hostile_arguments_are_named_errors(call, error, message):
    """Before: a silent NaN (closed_form, moe_total_params), OverflowError (10**400), TypeError (a 0-d seed reached
    NumPy's SeedSequence as a sequence), MemoryError (10**12 rows), or, for an asymmetry of 1e-300, a fit whose
    predict raised SciPy's ValueError (its interval factor has no root below about 1e-30)."""
    with pytest.raises(error, match=message):
        call()


# --- the command line: one error line, before any fitting ---------------------------------------------------------


@pytest.mark.parametrize("command", [["fit"], ["validate", "--holdout-largest", "2"]])
def test_a_runs_file_with_two_u_columns_is_one_error_line(capsys, tmp_path, monkeypatch, command):
    """Before: exit 0, both columns left out and the repeated-data check skipped without a word."""
    def fitted(*args, **kwargs):
        raise AssertionError("the error came after the fit")

    monkeypatch.setattr(optimal, "fit", fitted)
    monkeypatch.setattr(optimal, "validate", fitted)
    path = tmp_path / "runs.csv"
    path.write_text("N,D,loss,U,u\n" + "".join(f"{n!r},{d!r},{l!r},{d / 2!r},{d / 4!r}\n"
                                               for n, d, l in zip(N, D, LOSS)))
    assert_one_error(*run(capsys, [command[0], path, *command[1:]]), "2 columns match 'U'")


@pytest.mark.parametrize("argument", ["n_params", "weights", "clusters"])
def test_validate_groups_names_a_per_run_argument_of_the_wrong_length(argument):
    values = {"n_params": N, "weights": None, "clusters": None}
    values[argument] = np.ones(3) if argument != "n_params" else N[:3]
    with pytest.raises(DataError, match=r"every per-run argument needs one value per run \(10\), got one of shape "
                                         r"\(3,\)"):
        optimal.validate_groups(values["n_params"], D, LOSS, values["weights"], groups=GROUPS, largest=2,
                                clusters=values["clusters"], simulations=0)
