"""Row filters (``where=`` of the readers, ``optimal fit --where``), data frames and Parquet files.

One CSV serves every test: a 5 x 4 grid of (N, D) for each of three datasets (60 rows), N written in mixed
notations so that ``=`` has to compare numbers, and a ``seed`` column of mixed text. Each filter's rows are
checked against a NumPy mask computed from the arrays the file was written from.
"""

import json
import operator
import subprocess
import sys

import numpy as np
import pytest

import optimal
from optimal.errors import DataError
from optimal.data.readers import read_runs_csv, read_runs_with_columns
from optimal.data.where import RowsKept, Where, parse_where
from cli_helpers import assert_one_error, run  # the one CLI-error helper every test file uses

N_GRID = [1e8, 2e8, 4e8, 8e8, 1.6e9]
D_GRID = [2e9, 4e9, 8e9, 1.6e10]
DATASETS = ["web", "code", "books"]
# the same numbers, written the ways a spreadsheet or a script might: "=" must see 4e8 in every one of them
N_TEXT = {1e8: ["1e8", "100000000"], 2e8: ["2e+08", "2.0e8"], 4e8: ["4e8", "400000000", "4.0E8"],
          8e8: ["8e8"], 1.6e9: ["1.6e9", "1600000000.0"]}
# seed cells and whether each equals the number 1 (as numbers when both are, else as text)
SEEDS = {"1": True, "1.0": True, "01": True, "1e0": True, " 1 ": True, "one": False, "2": False, "1a": False,
         "nan": False, "-1": False, " x ": False}
FORMS = "COLUMN=VALUE, COLUMN!=VALUE, COLUMN<X"


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """The CSV's path and the arrays it was written from."""
    rng = np.random.default_rng(0)
    rows = [(n, d, ds) for ds in DATASETS for n in N_GRID for d in D_GRID]
    n = np.array([r[0] for r in rows])
    d = np.array([r[1] for r in rows])
    dataset = np.array([r[2] for r in rows])
    offset = np.select([dataset == "code", dataset == "books"], [-0.1, 0.1], 0.0)
    loss = (1.69 + offset + 406.4 / n ** 0.34 + 410.7 / d ** 0.28) * np.exp(0.01 * rng.standard_normal(n.size))
    seed = np.array([list(SEEDS)[i % len(SEEDS)] for i in range(n.size)], dtype=object)
    lines = ["row_id,N,D,loss,dataset,seed"]
    for i in range(n.size):
        texts = N_TEXT[n[i]]
        lines.append(f"{i},{texts[i % len(texts)]},{float(d[i])!r},{float(loss[i])!r},{dataset[i]},{seed[i]}")
    path = tmp_path_factory.mktemp("where") / "runs.csv"
    path.write_text("\n".join(lines) + "\n")
    return {"path": path, "N": n, "D": d, "loss": loss, "dataset": dataset, "seed": seed}


def kept_rows(path, where, **options):
    """The ``row_id`` of every row the filters keep (no minimum number of rows; N and D read from the loss column,
    which varies in every selection, as the reader requires)."""
    _, extra = read_runs_with_columns(path, numbers={"id": "row_id"}, where=where, n_free=0, params_col="loss",
                                      tokens_col="loss", **options)
    return extra["id"].astype(int)




# --- parse_where ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, parsed", [
    ("dataset=web", ("dataset", "=", "web")),
    (" dataset = web ", ("dataset", "=", "web")),
    ("dataset==web", ("dataset", "=", "web")),
    ("Model Size>=1e9", ("Model Size", ">=", "1e9")),
    ("N<2e8", ("N", "<", "2e8")),
    ("N<=2e8", ("N", "<=", "2e8")),
    ("N>2e8", ("N", ">", "2e8")),
    ("note!=a=b", ("note", "!=", "a=b")),  # the first operator splits; a text value may hold the others
])
def test_parse_where_reads_column_operator_and_value(text, parsed):
    where = parse_where(text)
    assert (where.column, where.op, where.value) == parsed and where.expression == text.strip()
    assert parse_where(where) is where


@pytest.mark.parametrize("text", ["N", "=web", "dataset=", "N<", "  ", "N=>3", "<5"])
def test_malformed_filter_shows_it_and_the_forms(text):
    with pytest.raises(DataError, match="is not a row filter") as info:
        parse_where(text)
    assert repr(text.strip()) in str(info.value) and FORMS in str(info.value)


@pytest.mark.parametrize("text", ["N<abc", "N>=1e8x", "N>nan"])
def test_order_comparison_needs_a_number(text):
    with pytest.raises(DataError, match="compares numbers and .* is not one") as info:
        parse_where(text)
    assert FORMS in str(info.value)


def test_a_filter_must_be_text():
    with pytest.raises(DataError, match="a row filter is text"):
        read_runs_csv("unused.csv", where=[3])


# --- which rows each filter keeps ---------------------------------------------------------------------------------


@pytest.mark.parametrize("op, compare", [("<", operator.lt), ("<=", operator.le), (">", operator.gt),
                                         (">=", operator.ge), ("=", operator.eq), ("!=", operator.ne)])
@pytest.mark.parametrize("value", ["4e8", "400000000", "3e8"])
def test_each_operator_keeps_exactly_the_rows_of_the_numpy_mask(data, op, compare, value):
    expected = np.flatnonzero(compare(data["N"], float(value)))
    if expected.size == 0:  # 3e8 is none of the sizes
        with pytest.raises(DataError, match=rf"leave no rows \(N{op}{value} kept 0 of 60 rows\)"):
            kept_rows(data["path"], f"N{op}{value}")
    else:
        np.testing.assert_array_equal(kept_rows(data["path"], f"N{op}{value}"), expected)


@pytest.mark.parametrize("where, mask", [
    ("dataset=web", lambda x: x["dataset"] == "web"),
    ("dataset!=web", lambda x: x["dataset"] != "web"),
    ("DataSet = books", lambda x: x["dataset"] == "books"),  # the column is matched as the reader matches names
    ("dataset=Web", lambda x: np.zeros(x["N"].size, bool)),  # the value is not: text compares exactly
])
def test_text_filters_keep_the_rows_of_the_mask(data, where, mask):
    if not mask(data).any():
        with pytest.raises(DataError, match="leave no rows"):
            kept_rows(data["path"], where)
    else:
        np.testing.assert_array_equal(kept_rows(data["path"], where), np.flatnonzero(mask(data)))


def test_equality_compares_numbers_as_numbers_and_anything_else_as_text(data):
    ones = np.array([SEEDS[s] for s in data["seed"]])
    for where in ("seed=1", "seed=1.000", "seed = 1e0"):
        np.testing.assert_array_equal(kept_rows(data["path"], where), np.flatnonzero(ones))
    np.testing.assert_array_equal(kept_rows(data["path"], "seed!=1"), np.flatnonzero(~ones))
    for text in ("one", "1a", "nan", "x"):  # "nan" is not a number to compare: it matches the text nan only
        expected = np.flatnonzero([seed.strip() == text for seed in data["seed"]])  # " x " is x
        np.testing.assert_array_equal(kept_rows(data["path"], f"seed={text}"), expected)


def test_filters_all_hold_each_applied_to_the_rows_the_ones_before_kept(data):
    mask = (data["dataset"] != "code") & (data["N"] >= 2e8) & (data["D"] < 1.6e10)
    where = ["dataset!=code", "N>=2e8", Where("D", "<", "1.6e10", "D<1.6e10")]
    runs, extra, selection = read_runs_with_columns(data["path"], numbers={"id": "row_id"}, where=where,
                                                    return_selection=True)
    np.testing.assert_array_equal(extra["id"].astype(int), np.flatnonzero(mask))
    np.testing.assert_array_equal(runs.n_params, data["N"][mask])
    np.testing.assert_array_equal(runs.loss, data["loss"][mask])
    assert selection == [RowsKept("dataset!=code", 40, 60), RowsKept("N>=2e8", 32, 40), RowsKept("D<1.6e10", 24, 32)]
    assert read_runs_csv(data["path"], where="dataset=web").n_params.size == 20  # one filter as a plain string


def test_drop_highest_loss_drops_among_the_kept_rows(data):
    web = data["dataset"] == "web"
    runs = read_runs_csv(data["path"], where="dataset=web", drop_highest_loss=2)
    loss = data["loss"][web]
    np.testing.assert_array_equal(runs.loss, loss[loss < np.sort(loss)[-2]])
    assert runs.loss.size == 18


def test_filtered_out_rows_are_never_read(tmp_path):
    """A failed run's empty loss is no error once a filter leaves the run out, and rows another filter left out
    are not compared."""
    ok = "".join(f"{n!r},{d!r},3.0,ok\n" for n in N_GRID for d in D_GRID[:3])
    path = tmp_path / "runs.csv"
    path.write_text("N,D,loss,status\n1e8,oops,,failed\n" + ok)
    with pytest.raises(DataError, match=r"column 'D', row 1 \(line 2\): 'oops' is not a number"):
        read_runs_csv(path)
    assert read_runs_csv(path, where="status=ok").n_params.size == 15
    assert read_runs_csv(path, where=["status=ok", "D<5e9"]).n_params.size == 10  # 'oops' is not compared
    with pytest.raises(DataError, match=r"column 'D', row 1 \(line 2\): 'oops' is not a number, and the row filter"):
        read_runs_csv(path, where=["D<5e9", "status=ok"])  # in this order it is
    with pytest.raises(DataError, match=r"column 'status', row 2 \(line 3\): 'ok' is not a number"):
        read_runs_csv(path, where="status=ok", weight_col="status")  # the file's rows, whatever was left out


# --- errors -----------------------------------------------------------------------------------------------------


def test_unknown_column_is_named_and_the_columns_listed(data):
    with pytest.raises(DataError) as info:
        read_runs_csv(data["path"], where=["dataset=web", "datset=web"])
    assert "no column 'datset' for the row filter 'datset=web'" in str(info.value)
    assert "columns are 'row_id', 'N', 'D', 'loss', 'dataset', 'seed'" in str(info.value)


def test_non_numeric_cell_in_an_order_comparison_names_the_row_and_line(data):
    with pytest.raises(DataError, match=r"column 'seed', row 6 \(line 7\): 'one' is not a number, and the row "
                                        r"filter 'seed<2' compares numbers"):
        read_runs_csv(data["path"], where="seed<2")


def test_a_filter_that_keeps_no_rows_says_what_each_kept(data):
    with pytest.raises(DataError) as info:
        read_runs_csv(data["path"], where=["dataset=web", "N>=1e9", "dataset=books"])
    message = str(info.value)
    assert ("the row filters leave no rows (dataset=web kept 20 of 60 rows; N>=1e9 kept 4 of 20 rows; "
            "dataset=books kept 0 of 4 rows); column 'dataset' holds 'web'") in message


def test_too_few_rows_for_the_fit_says_what_each_filter_kept(data):
    with pytest.raises(DataError) as info:
        read_runs_csv(data["path"], where=["dataset=web", "N>=1e9"])
    assert ("need at least 6 rows to fit 5 free coefficients, got 4 rows after the row filters (dataset=web kept 20 "
            "of 60 rows; N>=1e9 kept 4 of 20 rows)") in str(info.value)


# --- the command line -------------------------------------------------------------------------------------------


def test_cli_where_fits_only_the_kept_rows(capsys, data):
    mask = (data["dataset"] == "web") & (data["N"] >= 2e8)
    code, out, err = run(capsys, ["fit", data["path"], "--where", "dataset=web", "--where", "N>=2e8", "--json"])
    assert code == 0, err
    (record,) = json.loads(out)["fits"]
    assert record["n_rows"] == int(mask.sum()) == 16
    assert record["rows_selected"] == [{"where": "dataset=web", "kept": 20, "of": 60},
                                       {"where": "N>=2e8", "kept": 16, "of": 20}]
    assert "kept 20 of 60 rows (dataset=web)\nkept 16 of 20 rows (N>=2e8)\n" in err
    own = optimal.fit(data["N"][mask], data["D"][mask], data["loss"][mask])  # the same rows, from the arrays
    assert record["objective"] == pytest.approx(float(own.objective), rel=1e-9)
    assert record["params"] == pytest.approx(own.params, rel=1e-6)


@pytest.mark.parametrize("where, message", [
    ("datset=web", "no column 'datset' for the row filter 'datset=web' (columns are 'row_id', 'N', 'D'"),
    ("N", "error: --where 'N' is not a row filter; use COLUMN=VALUE"),
    ("N<abc", "error: --where 'N<abc': < compares numbers and 'abc' is not one"),
    ("dataset=news", "the row filters leave no rows (dataset!=code kept 40 of 60 rows; dataset=news kept 0 of 40 "
                     "rows); column 'dataset' holds 'web', 'books'"),
    ("row_id<4", "need at least 6 rows to fit 5 free coefficients, got 4 rows after the row filters (dataset!=code "
                 "kept 40 of 60 rows; row_id<4 kept 4 of 40 rows)"),
    ("seed>0", "column 'seed', row 6 (line 7): 'one' is not a number"),
])
def test_cli_where_errors_are_one_line_before_any_fitting(capsys, monkeypatch, data, where, message):
    monkeypatch.setattr(optimal, "fit", lambda *a, **k: pytest.fail("the error came after the fit"))
    assert_one_error(*run(capsys, ["fit", data["path"], "--where", "dataset!=code", "--where", where]), message)


def test_cli_fit_errors_after_reading_say_what_the_filters_kept(capsys, data):
    """Three groups of 4 rows pass the reader's check (6 rows in all) but not the fit's (6 rows in each group)."""
    code, out, err = run(capsys, ["fit", data["path"], "--where", "N>=8e8", "--where", "D>=8e9", "--by", "dataset"])
    assert_one_error(code, out, err, "(--where: N>=8e8 kept 24 of 60 rows; D>=8e9 kept 12 of 24 rows)")
    assert "group books: need at least 6 rows to fit 5 free coefficients, got 4 rows" in err


def test_cli_parquet_without_pyarrow_is_one_error_line(capsys, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow raises ImportError, installed or not
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    path = tmp_path / "runs.parquet"
    path.write_bytes(b"PAR1")
    assert_one_error(*run(capsys, ["fit", path]), 'reading Parquet files needs pyarrow; install the extra: '
                                                  'pip install "optimal-scaling[parquet]"')


# --- data frames and Parquet (where pandas, pyarrow are installed) ---------------------------------------------------


def test_importing_optimal_loads_neither_pandas_nor_pyarrow():
    pytest.importorskip("pandas")  # without it, a module-level import would have failed every test already
    code = "import sys, optimal; print(sorted(m for m in ('pandas', 'pyarrow') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_runs_from_frame_matches_the_csv_reader(data):
    pd = pytest.importorskip("pandas")
    frame = pd.read_csv(data["path"], dtype={"seed": str}, keep_default_na=False)
    for where in (None, "dataset=web", ["dataset!=code", "N>=4e8", "seed=1"]):
        expected = read_runs_csv(data["path"], where=where, n_free=0)
        runs = optimal.runs_from_frame(frame, where=where, n_free=0)
        for got, want in zip(runs, expected):
            np.testing.assert_array_equal(got, want)
    grouped = optimal.runs_from_frame(frame, group_col="dataset", where="dataset!=web")
    np.testing.assert_array_equal(grouped.groups, np.repeat([0, 1], 20))


def test_runs_from_frame_checks_as_validate_runs_does(data):
    pd = pytest.importorskip("pandas")
    frame = pd.read_csv(data["path"])
    frame.index = [f"run{i}" for i in range(len(frame))]
    frame.loc["run7", "loss"] = -1.0
    with pytest.raises(DataError, match=r"data frame: column 'loss', row 8 \(index 'run7'\): -1.0 is not positive"):
        optimal.runs_from_frame(frame)
    assert optimal.runs_from_frame(frame, where="row_id!=7").loss.size == 59
    with pytest.raises(DataError, match="no column 'tokens' .*pass tokens_col="):
        optimal.runs_from_frame(frame, tokens_col="tokens")
    with pytest.raises(DataError, match="expected a data frame"):
        optimal.runs_from_frame(str(data["path"]))


def test_parquet_file_reads_as_the_csv_does(capsys, data, tmp_path):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    path = tmp_path / "runs.parquet"
    frame = pd.read_csv(data["path"], dtype={"seed": str}, keep_default_na=False)
    frame.loc[3, "loss"] = None
    frame.to_parquet(path)
    with pytest.raises(DataError, match=r"runs.parquet: column 'loss', row 4: '' is not a number"):
        read_runs_csv(path)
    where = ["row_id!=3", "dataset=web"]
    expected = read_runs_csv(data["path"], where=where)
    for got, want in zip(read_runs_csv(path, where=where), expected):
        np.testing.assert_array_equal(got, want)
    (tmp_path / "bad.parquet").write_text("N,D,loss\n")
    assert_one_error(*run(capsys, ["fit", tmp_path / "bad.parquet"]), "cannot read the file as Parquet")
