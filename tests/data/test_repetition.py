"""The repeated-data design check (optimal.data.repetition): it fires when the runs carry unique tokens (or epochs)
with D > U and the law does not model repetition, counts the runs and their largest epochs, stays silent when no run
repeats or when the law reads U, and skips bad values with a note instead of raising; optimal.fit and optimal fit
carry it."""

import warnings

import numpy as np
import pytest

import optimal
from cli_helpers import run, strict
from optimal.data.repetition import repetition

D = np.array([1e9, 2e9, 4e9, 8e9])


def test_fires_with_unique_tokens_counting_runs_and_epochs():
    """U = 2e9: the runs of 4e9 and 8e9 tokens repeat their data (2 and 4 epochs); every recognised name, in any
    case, is read; the warning names the count, the epochs, what it does and the fix."""
    for name in ("unique_tokens", "U", "unique", " Unique_Tokens "):
        found = repetition(D, {name: np.full(4, 2e9), "other": np.zeros(4)})
        assert (found.n_runs, found.n_repeated, found.max_epochs) == (4, 2, 4.0), name
        assert found.column == name and found.kind == "unique_tokens" and found.note is None
    assert found.warning.code == "repeated-data" and found.to_dict()["flagged"] is True
    for words in ("2 of 4 runs repeat their data", "up to 4", "counts every repeated token as a new one",
                  "1.5-1.9x too small", "--law data-constrained --covariate U= Unique_Tokens "):
        assert words in found.warning, words
    weighted = repetition(D, {"U": np.full(4, 2e9)}, weights=[1, 1, 1, 0])  # a run not fitted is not counted
    assert (weighted.n_runs, weighted.n_repeated, weighted.max_epochs) == (3, 1, 2.0)


def test_silent_when_no_run_repeats_or_the_law_models_it():
    """U >= D on every run (equal included): checked, nothing to say. A law that reads U, or no recognised column:
    None."""
    found = repetition(D, {"unique_tokens": D.copy()})
    assert found.warning is None and found.n_repeated == 0 and found.max_epochs == 1.0
    assert found.to_dict()["flagged"] is False
    assert repetition(D, {"unique_tokens": np.full(4, 2e9)}, law="data-constrained") is None
    assert repetition(D, {"tokens_seen": np.full(4, 2e9)}) is None and repetition(D, None) is None


def test_epochs_column_and_unique_tokens_first():
    """An epochs column is read as given (0.5 epochs is no repeat); when U is there too, epochs come from D / U."""
    found = repetition(D, {"epochs": np.array([0.5, 1.0, 3.0, 1.0])}, law="kaplan")
    assert (found.kind, found.n_repeated, found.max_epochs) == ("epochs", 1, 3.0)
    assert "epochs = epochs > 1" in found.warning and "the kaplan law" in found.warning
    both = repetition(D, {"epochs": np.ones(4), "U": np.full(4, 4e9)})
    assert (both.kind, both.n_repeated, both.max_epochs) == ("unique_tokens", 1, 2.0)


def test_bad_values_skip_the_check_with_a_note():
    """0, a negative number, NaN or text: no warning, no error, a note naming the first such run."""
    for bad in ([1e9, 0.0, 1e9, 1e9], [1e9, -1.0, 1e9, 1e9], [1e9, np.nan, 1e9, 1e9], ["1e9", "n/a", "1e9", "1e9"]):
        found = repetition(D, {"unique_tokens": np.asarray(bad, dtype=object)})
        assert found.warning is None and found.max_epochs is None, bad
        assert found.note.code == "repeated-data-unchecked" and "first at run 1" in found.note, bad


@pytest.fixture(scope="module")
def runs():
    return optimal.synthetic_runs(n_runs=40, noise=0.01, seed=3)


def test_fit_carries_the_warning_and_a_note_for_bad_values(runs):
    """optimal.fit(columns=): the warning (code "repeated-data", also a UserWarning) and diagnostics; a bad value
    skips the check with a note and the fit goes on; a law that reads U refuses the same bad value by name; a column
    of another length is refused by name."""
    u = np.full(40, np.max(runs.n_tokens) / 10)
    with pytest.warns(UserWarning, match="runs repeat their data"):
        result = optimal.fit(runs.n_params, runs.n_tokens, runs.loss, columns={"unique_tokens": u})
    assert "repeated-data" in [w.code for w in result.warnings]
    found = result.diagnostics["repeated_data"]
    assert found["flagged"] and found["max_epochs"] == pytest.approx(10)
    assert found["n_repeated"] == int(np.sum(runs.n_tokens > u))
    # a refit (same rows, same law) keeps the finding, though the result does not keep the column
    with pytest.warns(UserWarning, match="runs repeat their data"):
        again = result.refit()
    assert again.diagnostics["repeated_data"] == found and "repeated-data" in [w.code for w in again.warnings]
    bad = np.where(np.arange(40) == 5, np.nan, u)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        skipped = optimal.fit(runs.n_params, runs.n_tokens, runs.loss, columns={"U": bad})
    assert "repeated-data" not in [w.code for w in skipped.warnings]
    assert [n.code for n in skipped.notes] == ["repeated-data-unchecked"] and "note: column 'U'" in skipped.summary()
    with pytest.raises(optimal.DataError, match="covariate U must be positive and finite"):
        optimal.fit(runs.n_params, runs.n_tokens, runs.loss, law="data-constrained", covariates={"U": bad})
    with pytest.raises(optimal.DataError, match=r"columns\['unique_tokens'\] must have one value per run \(40\)"):
        optimal.fit(runs.n_params, runs.n_tokens, runs.loss, columns={"unique_tokens": u[:10]})


def test_fit_cli_reads_a_unique_tokens_column(capsys, runs, tmp_path):
    """optimal fit: a unique_tokens column the law does not read is checked (stderr, JSON diagnostics); a cell that
    is not a number skips the check with a note instead of ending the fit."""
    u = [f"{x!r}" for x in np.full(40, np.max(runs.n_tokens) / 10).tolist()]
    csv = tmp_path / "runs.csv"
    rows = zip(runs.n_params.tolist(), runs.n_tokens.tolist(), runs.loss.tolist(), u)
    csv.write_text("N,D,loss,unique_tokens\n" + "".join(f"{n!r},{d!r},{l!r},{x}\n" for n, d, l, x in rows))
    code, out, err = run(capsys, ["fit", csv, "--json"])
    assert code == 0, err
    fitted = strict(out)["fits"][0]
    assert "repeated-data" in fitted["warning_codes"] and fitted["diagnostics"]["repeated_data"]["flagged"]
    assert "runs repeat their data" in err
    u[3] = "n/a"
    rows = zip(runs.n_params.tolist(), runs.n_tokens.tolist(), runs.loss.tolist(), u)
    csv.write_text("N,D,loss,unique_tokens\n" + "".join(f"{n!r},{d!r},{l!r},{x}\n" for n, d, l, x in rows))
    code, out, err = run(capsys, ["fit", csv, "--json"])
    assert code == 0, err
    fitted = strict(out)["fits"][0]
    assert "repeated-data" not in fitted["warning_codes"] and "first at run 3" in fitted["diagnostics"]["repeated_data"]["note"]


def test_fit_sweep_checks_the_file_once_per_law(capsys, runs, tmp_path):
    """optimal fit --sweep: the runs file's unique_tokens column is checked once per law (the file's runs, whatever
    the settings): one warning on stderr, and every setting's JSON object carries its law's finding."""
    u = np.full(40, np.max(runs.n_tokens) / 10)
    csv = tmp_path / "runs.csv"
    rows = zip(runs.n_params.tolist(), runs.n_tokens.tolist(), runs.loss.tolist(), u.tolist())
    csv.write_text("N,D,loss,unique_tokens\n" + "".join(f"{n!r},{d!r},{l!r},{x!r}\n" for n, d, l, x in rows))
    code, out, err = run(capsys, ["fit", csv, "--sweep", "delta=0.001,0.01", "--n-samples", "256", "--n-polish", "4",
                                  "--json"])
    assert code == 0, err
    settings = strict(out)["settings"]
    assert len(settings) == 2 and all(s["repeated_data"]["flagged"] for s in settings)
    assert {s["repeated_data"]["n_repeated"] for s in settings} == {int(np.sum(runs.n_tokens > u))}
    assert err.count("runs repeat their data") == 1
