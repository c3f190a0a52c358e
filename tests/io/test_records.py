"""The fit record (optimal.io.records): one schema, round trips exactly, reads the records the code before it wrote
(record_version 1), and refuses a record whose fields are missing, malformed or disagree, naming the field."""

import copy
import dataclasses
import json
import math
import warnings

import numpy as np
import pytest

import optimal
from cli_helpers import run  # the CLI helper every test file uses
from optimal.errors import CoefficientsError, OptimalError
from optimal.io import records
from optimal._util.jsonio import dumps_strict

SELECTION = [{"where": "N > 1e8", "kept": 53, "of": 60}]


def _plain(value):
    """``value`` as JSON gives it back (tuples become lists, non-finite numbers null)."""
    return json.loads(dumps_strict(value)[0])


@pytest.fixture(scope="module")
def runs():
    return optimal.synthetic_runs(n_runs=60, seed=3)


@pytest.fixture(scope="module")
def fitted(runs):
    result = optimal.fit(runs.n_params, runs.n_tokens, runs.loss)
    boot = optimal.bootstrap(result, n_resamples=20, seed=4)
    answer = optimal.recommend(boot, np.asarray([1e22]))
    return result, boot, answer


@pytest.fixture(scope="module")
def fixed_fit(runs):
    result = optimal.fit(runs.n_params, runs.n_tokens, runs.loss, fix={"alpha": 0.34})
    return result, optimal.bootstrap(result, n_resamples=8, seed=1)


@pytest.fixture(scope="module")
def joint_fit(runs):
    labels = np.where(np.arange(len(runs.loss)) % 2 == 0, "a", "b")
    result = optimal.fit(runs.n_params, runs.n_tokens, runs.loss, groups=labels, shared=("alpha", "beta"))
    return result, optimal.bootstrap(result, n_resamples=8, seed=2, groups=np.arange(len(runs.loss)) % 12)


def v1_record(result, boot=None, k=None, selection=None, recommendation=None):
    """A record as the code before optimal.io wrote it: ``FitResult.record()`` (record_version 1, to_dict, versions,
    data, starts), then ``optimal fit --save``'s extra keys (k, rows_selected, the draws without their newer keys,
    the recommendation), through strict JSON. Kept here, not as a file: it is what users' records hold."""
    n, d, loss, weights = (np.asarray(x).tolist() for x in result.data)
    rows = {"N": n, "D": d, "loss": loss, "weights": weights,
            **{f"covariate {k}": np.asarray(v).tolist() for k, v in result.covariates.items()}}
    if result.group_ids is not None:
        rows["group"] = np.asarray(result.group_ids).tolist()
    record = {"record_version": 1, **result.to_dict(),
              "versions": {"optimal": "0.1.0", "jax": "0.10.2", "optax": "0.2.8", "numpy": "2.4.6", "scipy": "1.17.1",
                           "python": "3.11.7", "backend": "cpu"},
              "data": rows, "starts": {name: np.asarray(v).tolist() for name, v in result.starts._asdict().items()}}
    extra = {"flops_per_param_token": k}
    if selection:
        extra["rows_selected"] = selection
    if boot is not None:
        flat = boot.thetas.reshape(len(boot.thetas), -1)
        extra["bootstrap"] = {"thetas": flat.tolist(), "converged": boot.converged.tolist(), "confidence": boot.confidence,
                              "seed": boot.seed,
                              "objectives": [v if np.isfinite(v) else None for v in boot.objectives.tolist()],
                              "iterations": boot.iterations.tolist()}
    if recommendation is not None:
        extra["recommendation"] = recommendation.to_dict()
    return _plain({**record, **(extra if k is not None else {})})


def assert_same_fit(loaded, original):
    for f in dataclasses.fields(original):
        a, b = getattr(loaded, f.name), getattr(original, f.name)
        if f.name == "starts" or f.name == "data":
            assert len(a) == len(b)
            for x, y in zip(a, b):
                np.testing.assert_array_equal(x, y)  # exact values (integer widths may differ)
        elif f.name in ("theta", "free", "group_ids"):
            assert (a is None) == (b is None), f.name
            if a is not None:
                np.testing.assert_array_equal(np.asarray(a, np.float64), np.asarray(b, np.float64), strict=True)
        elif f.name == "covariates":
            assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
        elif f.name == "diagnostics":
            assert _plain(a) == _plain(b)
        elif f.name == "family":
            assert a is b
        else:
            assert a == b, f.name
    assert _plain(loaded.to_dict()) == _plain(original.to_dict())


def assert_same_draws(loaded, original):
    for name in ("thetas", "objectives", "converged", "iterations"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(original, name), strict=True)
    assert (loaded.confidence, loaded.seed, loaded.n_retried, loaded.resamples_per_device) == (
        original.confidence, original.seed, original.n_retried, original.resamples_per_device)
    assert (loaded.groups is None) == (original.groups is None)
    if original.groups is not None:
        np.testing.assert_array_equal(loaded.groups, original.groups)
    assert_same_fit(loaded.fit, original.fit)


# --- round trips ---------------------------------------------------------------------------------------------------

def test_fit_alone_round_trips_exactly(fitted, tmp_path):
    result = fitted[0]
    path = optimal.save_fit(tmp_path / "fit.json", result)
    record = optimal.load_record(path)
    assert_same_fit(record.fit, result)
    assert_same_fit(optimal.load_fit(path), result)
    assert record.bootstrap is None and optimal.load_bootstrap(path) is None
    assert record.flops_per_param_token is None and record.selection is None and record.recommendation is None
    assert record.record_version == records.RECORD_VERSION and record.versions == records.versions()
    json.loads(path.read_text(), parse_constant=lambda c: pytest.fail(f"{c} in a saved record"))  # strict JSON


def test_a_fit_with_warnings_round_trips(tmp_path):
    # an ill-posed fit (12 runs over 0.6 decades of N, 2% noise) carries warnings (Issues: texts with a code); the file
    # holds their texts and codes; the loader's agreement check compared the texts with Issues by type and refused
    # every such record
    runs = optimal.synthetic_runs(n_runs=30, noise=0.02, seed=3)
    keep = runs.n_params < np.quantile(runs.n_params, 0.4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its warnings are the point: they are checked below, as data
        result = optimal.fit(runs.n_params[keep], runs.n_tokens[keep], runs.loss[keep])
    assert any(w.code == "not-identified" for w in result.warnings)
    path = optimal.save_fit(tmp_path / "fit.json", result)
    loaded = optimal.load_fit(path)
    assert [str(w) for w in loaded.warnings] == [str(w) for w in result.warnings]
    assert [w.code for w in loaded.warnings] == [w.code for w in result.warnings]


def test_fit_bootstrap_k_selection_and_recommendation_round_trip_exactly(fitted, tmp_path):
    result, boot, answer = fitted
    path = optimal.save_fit(tmp_path / "fit.json", result, bootstrap=boot, flops_per_param_token=8.0,
                            selection=SELECTION, recommendation=answer)
    record = optimal.load_record(path)
    assert_same_fit(record.fit, result)
    assert_same_draws(record.bootstrap, boot)
    assert record.bootstrap.fit is record.fit
    assert record.flops_per_param_token == 8.0 and record.selection == SELECTION
    assert record.recommendation == _plain(answer.to_dict())
    assert_same_draws(optimal.load_bootstrap(path), boot)


@pytest.mark.slow
@pytest.mark.parametrize("which", ["fixed_fit", "joint_fit"])
def test_constrained_and_joint_fits_round_trip_exactly(which, request, tmp_path):
    result, boot = request.getfixturevalue(which)
    path = optimal.save_fit(tmp_path / "fit.json", result, bootstrap=boot, flops_per_param_token=6)
    record = optimal.load_record(path)
    assert_same_fit(record.fit, result)
    assert_same_draws(record.bootstrap, boot)
    if which == "joint_fit":
        assert boot.groups is not None  # a cluster bootstrap keeps its clusters


def test_save_refuses_what_is_not_its_own(fitted, fixed_fit, tmp_path):
    result, boot, _ = fitted
    with pytest.raises(OptimalError, match="a fit record holds a FitResult"):
        optimal.save_fit(tmp_path / "x.json", boot)
    with pytest.raises(OptimalError, match="draws are of another fit"):
        optimal.save_fit(tmp_path / "x.json", result, bootstrap=fixed_fit[1])
    for k in (0, -6, math.nan, math.inf, "6", True):
        with pytest.raises(OptimalError, match="flops_per_param_token"):
            optimal.save_fit(tmp_path / "x.json", result, flops_per_param_token=k)
    with pytest.raises(OptimalError, match="selection"):
        optimal.save_fit(tmp_path / "x.json", result, selection=[{"where": "N > 1"}])
    assert not (tmp_path / "x.json").exists()


# --- the records the code before optimal.io wrote ------------------------------------------------------------------

@pytest.mark.parametrize("which", ["fitted", "fixed_fit", "joint_fit"])
def test_version_1_records_written_before_still_load(which, request, tmp_path):
    result, boot = request.getfixturevalue(which)[:2]
    answer = request.getfixturevalue("fitted")[2] if which == "fitted" else None
    old = v1_record(result, boot, k=6.0, selection=SELECTION if which == "fitted" else None, recommendation=answer)
    path = tmp_path / "old.json"
    path.write_text(json.dumps(old, indent=1))
    record = optimal.load_record(path)
    assert_same_fit(record.fit, result)
    for name in ("thetas", "objectives", "converged", "iterations"):
        np.testing.assert_array_equal(getattr(record.bootstrap, name), getattr(boot, name))
    assert record.bootstrap.n_retried == 0 and record.bootstrap.resamples_per_device == ()  # not in v1 draws
    assert record.flops_per_param_token == 6.0
    # what is written now is that record plus the draws' newer keys, nothing renamed or removed
    new = _plain(records.to_record(result, bootstrap=boot, flops_per_param_token=6.0,
                                   selection=SELECTION if which == "fitted" else None, recommendation=answer))
    new["versions"] = old["versions"]
    assert set(new["bootstrap"]) - set(old["bootstrap"]) <= {"groups", "n_retried", "resamples_per_device"}
    new["bootstrap"] = {k: v for k, v in new["bootstrap"].items() if k in old["bootstrap"]}
    assert new == old


@pytest.mark.slow
def test_cli_saved_record_loads_and_keeps_everything(tmp_path, runs, capsys):
    # the command line's own entry (optimal.cli.main.main, what the program calls) in this process: the record it
    # writes is the question, not the process (tests/cli/test_cli.py starts `python -m optimal` itself)
    csv = tmp_path / "runs.csv"
    csv.write_text("N,D,loss\n" + "".join(f"{n!r},{d!r},{l!r}\n" for n, d, l in zip(runs.n_params.tolist(),
                                                                                        runs.n_tokens.tolist(),
                                                                                        runs.loss.tolist())))
    path = tmp_path / "fit.json"
    code, _, err = run(capsys, ["fit", csv, "--bootstrap", "20", "--budgets", "1e22", "--where", "N > 1e8",
                                "--flops-per-param-token", "8", "--save", path])
    assert code == 0, err
    record = optimal.load_record(path)
    assert record.flops_per_param_token == 8.0 and record.bootstrap.n_resamples == 20
    assert record.selection == [{"where": "N > 1e8", "kept": int(np.sum(runs.n_params > 1e8)), "of": 60}]
    assert set(record.recommendation) >= {"allocations", "flops_per_param_token"}


# --- every field checked -------------------------------------------------------------------------------------------

def _set(path, value):
    def edit(record):
        target = record
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return edit


def _delete(*path):
    def edit(record):
        target = record
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]
    return edit


def _scale(path, factor):
    def edit(record):
        target = record
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] *= factor
    return edit


TAMPERED = [
    # which record, the edit, the message (it names the field)
    ("fitted", _set(["record_version"], 99), r"field record_version: 99 is not a version .* \(it reads 1\)"),
    ("fitted", _set(["record_version"], "1"), r"field record_version: '1' is not a version"),
    ("fitted", _delete("record_version"), r"field record_version is missing"),
    ("fitted", _delete("theta"), r"field theta is missing"),
    ("fitted", _set(["theta"], [0.5, 5.6, 7.9, 0.3]), r"field theta: must hold the 5 fitting-space coefficients"),
    ("fitted", _set(["theta", 2], math.nan), r"field theta\[2\]: nan is not a finite number"),
    ("fitted", _set(["theta", 2], None), r"field theta must hold numbers, found null"),
    ("fitted", _set(["theta", 3], "0.3"), r"field theta must hold numbers, found a string"),
    ("fitted", _set(["params", "E"], math.nan), r"field params\.E: nan is not a finite number"),
    ("fitted", _set(["params", "E"], None), r"field params\.E: None is not a finite number"),
    ("fitted", _scale(["params", "E"], 1 + 1e-9), r"field params\.E: .* disagrees with .* from theta"),
    ("fitted", _scale(["log_params", "alpha"], 1.01), r"field log_params\.alpha: .* disagrees with .* from theta"),
    ("fitted", _delete("params", "B"), r"field params: has keys"),
    ("fitted", _delete("params"), r"field params is missing"),
    ("fitted", _delete("log_params"), r"field log_params is missing"),
    ("fitted", _set(["law"], "gpt"), r"field law: 'gpt' is not a shipped family"),
    ("fitted", _set(["law"], "kaplan"), r"field theta: must hold the 4"),
    ("fitted", _set(["flops_per_param_token"], 0), r"field flops_per_param_token: 0 is not a positive finite number"),
    ("fitted", _set(["flops_per_param_token"], -6), r"field flops_per_param_token: -6 is not a positive"),
    ("fitted", _set(["flops_per_param_token"], math.inf), r"field flops_per_param_token: inf is not a positive"),
    ("fitted", _set(["flops_per_param_token"], None), r"field flops_per_param_token: None is not a positive"),
    ("fitted", _set(["flops_per_param_token"], "6"), r"field flops_per_param_token: '6' is not a positive"),
    ("fitted", _set(["objective"], math.nan), r"field objective: nan is not a finite number"),
    ("fitted", _set(["n_rows"], 59), r"field n_rows: 59 disagrees with 60"),
    ("fitted", _set(["n_starts"], 3), r"field n_starts: 3 disagrees"),
    ("fitted", _set(["covariates"], ["U"]), r"field covariates: must be a list of 0"),
    ("fitted", _set(["converged"], "yes"), r"field converged: must be true or false"),
    ("fitted", _set(["data", "N", 0], -1.0), r"field data: column 'n_params', index 0: -1.0 is not positive"),
    ("fitted", _delete("data"), r"field data is missing"),
    ("fitted", _set(["starts", "extra"], []), r"field starts: has keys"),
    ("fitted", _set(["versions"], []), r"field versions must be an object"),
    ("fitted", _set(["surprise"], 1), r"field surprise: is not a field of a fit record"),
    ("fitted", _set(["rows_selected", 0, "kept"], 61), r"field rows_selected\[0\]"),
    ("fitted", _set(["rows_selected"], {"where": "x"}), r"field rows_selected: must be a list"),
    ("fitted", _set(["recommendation"], [1]), r"field recommendation must be an object"),
    ("fitted", _set(["bootstrap", "thetas", 0, 1], math.nan), r"field bootstrap\.thetas\[0\]: a converged draw has a "
                                                                r"non-finite coefficient"),
    ("fitted", _set(["bootstrap", "thetas", 0], [0.5, 5.6, 7.9, 0.3]), r"bootstrap\.thetas must be a list of lists of "
                                                                       r"5 numbers, found one of 4"),
    ("fitted", _set(["bootstrap", "thetas"], []), r"field bootstrap\.thetas: holds no draws"),
    ("fitted", _set(["bootstrap", "objectives", 3], math.inf), r"field bootstrap\.objectives\[3\]: a converged draw"),
    ("fitted", _delete("bootstrap", "converged", 0), r"bootstrap\.converged has 19 entries, not 20"),
    ("fitted", _set(["bootstrap", "confidence"], 1.5), r"field bootstrap\.confidence: confidence must be "
                                                      r"between 0 and 1"),
    ("fitted", _set(["bootstrap", "seed"], -1), r"field bootstrap\.seed: seed must be an integer from 0"),
    ("fitted", _set(["bootstrap", "n_retried"], 21), r"field bootstrap\.n_retried"),
    ("fitted", _set(["bootstrap", "more"], 1), r"field bootstrap: holds unknown keys \['more'\]"),
    ("fixed_fit", _set(["fixed", "alpha"], 0.35), r"field theta\[3\]: 0\.34 breaks the record's fixed, tied or shared"),
    ("fixed_fit", _set(["bootstrap", "thetas", 0, 3], 0.3), r"field bootstrap\.thetas\[0\]\[3\]: 0\.3 breaks the fit's "
                                                            r"fixed"),
    ("joint_fit", _scale(["theta", 1, 4], 1.001), r"field theta\[1\]\[4\]: .* breaks the record's fixed, tied or "
                                                  r"shared"),
    ("joint_fit", _set(["groups"], ["a", "b", "c"]), r"field theta: must hold the 5 .* for each of 3 groups"),
    ("joint_fit", _set(["data", "group", 0], 2), r"field data\.group: must index the 2 groups"),
]


def _saved(which, request):
    result, boot = request.getfixturevalue(which)[:2]
    return _plain(records.to_record(result, bootstrap=boot, flops_per_param_token=6.0, selection=SELECTION))


@pytest.mark.parametrize("which, edit, message", TAMPERED, ids=[m[:48] for _, _, m in TAMPERED])
def test_a_tampered_record_is_refused_naming_the_field(which, edit, message, request, tmp_path):
    record = copy.deepcopy(_saved(which, request))
    optimal.io.records.from_record(copy.deepcopy(record))  # untouched, it loads
    edit(record)
    path = tmp_path / "fit.json"
    path.write_text(json.dumps(record))  # NaN and Infinity as Python writes them: hand-edited records may hold them
    with pytest.raises(CoefficientsError, match=message) as refused:
        optimal.load_record(path)
    assert str(path) in str(refused.value)
    assert "\n" not in str(refused.value)
    with pytest.raises(CoefficientsError, match=message):
        optimal.load_fit(path)  # the fit alone is read from the same, whole, checked record


def test_params_may_differ_from_theta_within_the_stated_tolerance(fitted, tmp_path):
    record = _plain(records.to_record(fitted[0]))
    record["params"]["E"] *= 1 + records.AGREE_RTOL / 4  # another platform's exp, say
    path = tmp_path / "fit.json"
    path.write_text(json.dumps(record))
    assert optimal.load_fit(path).params == fitted[0].params  # the coefficients come from theta


@pytest.mark.parametrize("argv", [
    ["solve", "--fit", "{path}", "--compute", "1e22"],
    ["predict", "--fit", "{path}", "--params", "1e9", "--tokens", "2e10"],
    ["suggest", "--fit", "{path}", "--compute", "1e22", "--spend", "1e20"],
    ["plan", "--fit", "{path}", "--compute", "1e22", "--accelerator", "h100"],
    ["plot", "--fit", "{path}", "--kind", "frontier", "--out", "{dir}/x.png"],
])
def test_the_cli_refuses_a_tampered_record_in_one_line(fitted, tmp_path, argv, capsys):
    # the command line's own entry (optimal.cli.main.main, what the installed program calls) in this process: the
    # refusal and its one line are main's; a fresh process's stderr and exit status are tests/cli/test_cli.py's
    # (test_python_dash_m_entry_point) and test_cli_errors.py's (test_no_traceback_from_a_fresh_process)
    record = _plain(records.to_record(fitted[0], bootstrap=fitted[1], flops_per_param_token=6.0))
    record["params"]["E"] = math.nan
    path = tmp_path / "fit.json"
    path.write_text(json.dumps(record))
    argv = [a.format(path=path, dir=tmp_path) for a in argv]
    code, out, err = run(capsys, argv)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "field params.E: nan" in lines[0], err
    assert out == "" and not (tmp_path / "x.png").exists()


def test_a_record_read_as_coefficients_is_checked_field_by_field(tmp_path):
    """``optimal.load_coefficients`` (and ``--coefficients FILE``) reads a fit record through the record loader: its
    law when the record is sound, a refusal naming the field when its params disagree with its theta (the old
    reader took params alone and answered from a tampered E)."""
    runs = optimal.synthetic_runs(n_runs=40, seed=3)
    result = optimal.fit(runs.n_params, runs.n_tokens, runs.loss)
    path = optimal.save_fit(tmp_path / "fit.json", result)
    assert optimal.load_coefficients(path) == result.law
    record = json.loads(path.read_text())
    record["params"]["E"] = 0.5 * record["params"]["E"]
    path.write_text(json.dumps(record))
    with pytest.raises(optimal.CoefficientsError, match=r"params\.E"):
        optimal.load_coefficients(path)
    plain = tmp_path / "law.json"
    plain.write_text(json.dumps({"E": 1.8, "A": 400.0, "B": 400.0, "alpha": 0.34, "beta": 0.28}))
    assert optimal.load_coefficients(plain).alpha == 0.34
