"""Learning curves (``optimal.data.curves``): the long-form reader, its checks (each a ``DataError`` saying what to
fix), the synthetic curves' known truth, and the shipped example is what its script makes."""

import sys
from pathlib import Path

import numpy as np
import pytest

from optimal.errors import DataError
from optimal.data.curves import read_curves_csv, synthetic_curves, validate_curves
from optimal.data.synthetic import DEFAULT_TRUTH

ROOT = Path(__file__).resolve().parents[2]
CSV = "run,N,D,schedule,loss\nb,2e8,2e9,4e9,3.1\na,1e8,2e9,2e9,3.3\na,1e8,1e9,2e9,3.5\nb,2e8,4e9,4e9,2.9\n"


def test_read_sorts_by_run_and_tokens_and_reads_the_schedule(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text(CSV)
    c = read_curves_csv(path, schedule_col="Schedule")  # names matched case-insensitively
    assert c.run_ids.tolist() == ["a", "b"]
    assert c.n_tokens.tolist() == [1e9, 2e9, 2e9, 4e9] and c.loss.tolist() == [3.5, 3.3, 3.1, 2.9]
    assert c.final().tolist() == [False, True, False, True]
    assert c.decayed().tolist() == [False, True, False, True]
    assert c.runs("final").n_params.tolist() == [1e8, 2e8] and c.runs("all").groups.tolist() == [0, 0, 1, 1]


def test_flops_column_and_where_filter(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("run,N,C,loss,keep\na,1e8,6e17,3.5,y\na,1e8,1.2e18,3.3,y\nb,2e8,2.4e18,3.1,y\nb,2e8,4.8e18,2.9,y\n"
                    "c,4e8,1e19,2.0,n\n")
    c = read_curves_csv(path, flops_col="C", where="keep=y")
    assert c.n_runs == 2 and np.allclose(c.n_tokens, [1e9, 2e9, 2e9, 4e9])


@pytest.mark.parametrize("text, message", [
    ("run,N,D,loss\na,1e8,1e9,3\na,2e8,2e9,2.9\nb,3e8,1e9,3\n", "every checkpoint of a run has the same N"),
    ("run,N,D,loss\na,1e8,1e9,3\na,1e8,1e9,2.9\nb,3e8,1e9,3\n", "two checkpoints at 1e\\+09 tokens"),
    ("run,N,D,loss,schedule\na,1e8,3e9,3,2e9\nb,3e8,1e9,3,2e9\n", "past its schedule length"),
    ("run,N,D,loss\na,1e8,1e9,3\na,1e8,2e9,2.9\n", "need at least 2 runs"),
    ("run,N,D,loss\na,1e8,1e9,3\nb,1e8,2e9,2.9\n", "every run has the same N"),
    ("run,N,D,loss\na,1e8,1e9,-3\nb,2e8,2e9,2.9\n", "not positive"),
    ("run,N,tokens,loss\na,1e8,1e9,3\nb,2e8,2e9,2.9\n", "pass tokens_col="),
])
def test_bad_curves_are_named_data_errors(tmp_path, text, message):
    path = tmp_path / "c.csv"
    path.write_text(text)
    with pytest.raises(DataError, match=message) as found:
        read_curves_csv(path, schedule_col="schedule" if "schedule" in text else None)
    assert str(path) in str(found.value)


def test_arrays_of_different_lengths_are_refused():
    with pytest.raises(DataError, match="different lengths"):
        validate_curves(["a", "b"], [1e8, 2e8], [1e9], [3.0, 2.9])


def test_synthetic_curves_end_on_the_law_and_the_penalty_lifts_only_undecayed_checkpoints():
    clean = synthetic_curves(sizes=(1e8, 3e8), horizons=(10.0, 40.0), checkpoints=5)
    lifted = synthetic_curves(sizes=(1e8, 3e8), horizons=(10.0, 40.0), checkpoints=5, cosine_penalty=0.05)
    law = np.asarray(DEFAULT_TRUTH.loss(clean.n_params, clean.n_tokens))
    assert np.allclose(clean.loss, law, rtol=1e-12)
    end = clean.final()
    assert np.allclose(lifted.loss[end], clean.loss[end], rtol=1e-12)
    assert np.all(lifted.loss[~end] > clean.loss[~end] * 1.0001)


def test_example_curves_are_what_their_script_makes():
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        import make_curves
    finally:
        sys.path.remove(str(ROOT / "examples"))
    assert (ROOT / "examples" / "curves.csv").read_text() == "\n".join(make_curves.make_rows()) + "\n"
