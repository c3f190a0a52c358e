import csv

import numpy as np
import pytest

from optimal.data.groups import encode_groups
from optimal.data.readers import load_epoch_chinchilla, read_runs_csv, shared_data_path
from optimal.data.runs import Runs, validate_runs
from optimal.errors import DataError

# Ten runs on a 5 x 2 grid of (N, D): enough rows for 5 coefficients, and both N and D vary.
N = [1e8, 2e8, 4e8, 8e8, 1.6e9] * 2
D = [2e9] * 5 + [8e9] * 5
LOSS = [3.4, 3.2, 3.0, 2.9, 2.8, 3.1, 2.9, 2.7, 2.6, 2.5]


def write_csv(tmp_path, text, name="runs.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def grid_csv(tmp_path, header="N,D,loss", rows=None, name="runs.csv"):
    rows = rows if rows is not None else [f"{n!r},{d!r},{loss!r}" for n, d, loss in zip(N, D, LOSS)]
    return write_csv(tmp_path, "\n".join([header, *rows]) + "\n", name)


# --- validate_runs --------------------------------------------------------------------------------------------


def test_validate_runs_returns_float64_columns_and_unit_weights():
    runs = validate_runs(N, D, LOSS)
    assert isinstance(runs, Runs)
    for column in (runs.n_params, runs.n_tokens, runs.loss, runs.weights):
        assert column.dtype == np.float64 and column.shape == (10,)
    np.testing.assert_array_equal(runs.n_params, N)
    np.testing.assert_array_equal(runs.weights, np.ones(10))
    assert runs.groups is None


def test_validate_runs_accepts_integer_arrays():
    runs = validate_runs(np.array(N, dtype=np.int64), np.array(D, dtype=np.int64), LOSS)
    assert runs.n_params.dtype == np.float64 and runs.n_tokens.dtype == np.float64


def test_weights_are_kept_and_zero_is_allowed():
    weights = [2.0, 0.0] + [1.0] * 8
    runs = validate_runs(N + [3.2e9], D + [8e9], LOSS + [2.4], weights=weights + [1.0])
    np.testing.assert_array_equal(runs.weights, weights + [1.0])


@pytest.mark.parametrize("bad", [-1.0, np.nan, np.inf])
def test_negative_or_non_finite_weight_is_an_error_naming_the_index(bad):
    weights = [1.0] * 10
    weights[3] = bad
    with pytest.raises(DataError, match=r"column 'weights', index 3: weight"):
        validate_runs(N, D, LOSS, weights=weights)


def test_zero_weight_rows_do_not_count_towards_the_minimum():
    with pytest.raises(DataError, match="need at least 6 rows to fit 5 free coefficients, got 5 rows with positive "
                                        "weight"):
        validate_runs(N, D, LOSS, weights=[0.0] * 5 + [1.0] * 5)


def test_groups_become_ids_in_the_labels_sorted_order():
    labels = ["b", "a", "b", "c", "a", "b", "c", "c", "a", "b"]
    runs = validate_runs(N, D, LOSS, groups=labels)
    assert runs.groups.dtype == np.int64
    np.testing.assert_array_equal(runs.groups, [1, 0, 1, 2, 0, 1, 2, 2, 0, 1])


def test_any_hashable_group_labels():
    labels = [("lr", 1e-3)] * 5 + [None] * 5
    np.testing.assert_array_equal(validate_runs(N, D, LOSS, groups=labels).groups, [0] * 5 + [1] * 5)
    with pytest.raises(DataError, match=r"groups, index 0: \[1\] is not hashable"):
        validate_runs(N, D, LOSS, groups=[[1]] * 10)


def test_encode_groups_returns_the_labels_sorted_as_text():
    labels, ids = encode_groups([7, 3, 7, 3, 10])
    np.testing.assert_array_equal(ids, [2, 1, 2, 1, 0])
    assert labels == ("10", "3", "7")
    np.testing.assert_array_equal(encode_groups(np.array(["b", "a"]), 2)[1], [1, 0])


def test_encode_groups_does_not_depend_on_row_order():
    labels = ["x", "y", "z", "y"]
    names, ids = encode_groups(labels)
    names_reversed, ids_reversed = encode_groups(labels[::-1])
    assert names == names_reversed == ("x", "y", "z")
    np.testing.assert_array_equal(ids_reversed, ids[::-1])


def test_encode_groups_refuses_a_wrong_length_or_shape():
    with pytest.raises(DataError, match=r"one label per row \(3\), got 2"):
        encode_groups(["a", "b"], 3)
    with pytest.raises(DataError, match=r"one label per row, got shape \(2, 2\)"):
        encode_groups(np.array([["a", "b"], ["c", "d"]]))
    with pytest.raises(DataError, match="got the text"):
        encode_groups("abc")


def test_duplicate_rows_are_allowed():
    runs = validate_runs(N + N, D + D, LOSS + LOSS)
    assert runs.loss.shape == (20,)


def test_different_lengths_are_an_error_listing_each_length():
    with pytest.raises(DataError, match="different lengths .*n_params has 10, n_tokens has 9, loss has 10"):
        validate_runs(N, D[:9], LOSS)
    with pytest.raises(DataError, match="weights has 3"):
        validate_runs(N, D, LOSS, weights=[1.0, 1.0, 1.0])
    with pytest.raises(DataError, match="groups has 2"):
        validate_runs(N, D, LOSS, groups=["a", "b"])


def test_not_one_dimensional_or_not_numeric_is_an_error():
    with pytest.raises(DataError, match=r"n_params must be 1-D .* shape \(2, 5\)"):
        validate_runs(np.reshape(N, (2, 5)), D, LOSS)
    with pytest.raises(DataError, match="loss is not numeric"):
        validate_runs(N, D, ["x"] * 10)


@pytest.mark.parametrize(
    "column, bad, message",
    [
        ("loss", -0.3, r"column 'loss', index 7: -0.3 is not positive"),
        ("loss", 0.0, r"column 'loss', index 7: 0.0 is not positive"),
        ("n_params", np.nan, r"column 'n_params', index 7: nan is not finite"),
        ("n_tokens", np.inf, r"column 'n_tokens', index 7: inf is not finite"),
    ],
)
def test_non_positive_or_non_finite_value_names_column_and_index(column, bad, message):
    columns = {"n_params": list(N), "n_tokens": list(D), "loss": list(LOSS)}
    columns[column][7] = bad
    with pytest.raises(DataError, match=message):
        validate_runs(**columns)


def test_too_few_rows():
    """One more row than free coefficients (optimal.data.runs.min_rows): 5 runs fit 4 (Gadre et al. 2024's tied
    exponents), not 5."""
    rows = (N[3:8], D[3:8], LOSS[3:8])
    with pytest.raises(DataError, match="need at least 6 rows to fit 5 free coefficients, got 5 rows"):
        validate_runs(*rows)
    assert validate_runs(*rows, n_free=4).loss.shape == (5,)


def test_constant_n_or_d_cannot_be_identified():
    with pytest.raises(DataError, match="all rows have the same N .*: the N-dependence cannot be identified"):
        validate_runs([1e9] * 10, D, LOSS)
    with pytest.raises(DataError, match="all rows have the same D .*: the D-dependence cannot be identified"):
        validate_runs(N, [1e10] * 10, LOSS)


def test_source_prefixes_messages():
    with pytest.raises(DataError, match=r"^sweep-3: column 'loss', index 0"):
        validate_runs(N, D, [-1.0] + LOSS[1:], source="sweep-3")


def test_bad_n_free_is_an_error():
    with pytest.raises(DataError, match="n_free must be an integer >= 0"):
        validate_runs(N, D, LOSS, n_free=-1)


# --- read_runs_csv --------------------------------------------------------------------------------------------


def test_read_csv_default_columns(tmp_path):
    runs = read_runs_csv(grid_csv(tmp_path))
    np.testing.assert_array_equal(runs.n_params, N)
    np.testing.assert_array_equal(runs.n_tokens, D)
    np.testing.assert_array_equal(runs.loss, LOSS)
    np.testing.assert_array_equal(runs.weights, np.ones(10))
    assert runs.groups is None


def test_columns_match_case_insensitively_and_ignoring_whitespace(tmp_path):
    path = grid_csv(tmp_path, header=" n , d ,LOSS")
    np.testing.assert_array_equal(read_runs_csv(path).loss, LOSS)
    np.testing.assert_array_equal(read_runs_csv(path, params_col="N ", loss_col="Loss").n_params, N)


def test_named_columns_extra_columns_and_order(tmp_path):
    rows = [f"x{i},{loss!r},{d!r},{n!r}" for i, (n, d, loss) in enumerate(zip(N, D, LOSS))]
    path = grid_csv(tmp_path, header="id,final loss,tokens,params", rows=rows)
    runs = read_runs_csv(path, params_col="params", tokens_col="tokens", loss_col="final loss")
    np.testing.assert_array_equal(runs.n_tokens, D)


def test_blank_lines_and_byte_order_mark_are_ignored(tmp_path):
    path = tmp_path / "runs.csv"
    lines = ["N,D,loss", ""] + [f"{n!r},{d!r},{loss!r}" for n, d, loss in zip(N, D, LOSS)] + ["", ""]
    path.write_text("\n".join(lines), encoding="utf-8-sig")
    assert read_runs_csv(path).loss.shape == (10,)


def test_flops_column_gives_tokens(tmp_path):
    rows = [f"{n!r},{6 * n * d!r},{loss!r}" for n, d, loss in zip(N, D, LOSS)]
    path = grid_csv(tmp_path, header="N,C,loss", rows=rows)
    np.testing.assert_allclose(read_runs_csv(path, flops_col="C").n_tokens, D, rtol=1e-15)
    doubled = read_runs_csv(path, flops_col="c", flops_per_param_token=3.0).n_tokens
    np.testing.assert_allclose(doubled, np.multiply(D, 2), rtol=1e-15)


def test_flops_and_tokens_columns_together_is_an_error(tmp_path):
    with pytest.raises(DataError, match="both tokens_col='D' and flops_col='C'"):
        read_runs_csv(grid_csv(tmp_path), tokens_col="D", flops_col="C")


def test_non_positive_flops_names_the_flops_column(tmp_path):
    rows = [f"{n!r},{6 * n * d!r},{loss!r}" for n, d, loss in zip(N, D, LOSS)]
    rows[2] = "1e8,-5,3.0"
    path = grid_csv(tmp_path, header="N,Training FLOP,loss", rows=rows)
    with pytest.raises(DataError, match=r"column 'Training FLOP', row 3 \(line 4\): -5.0 is not positive"):
        read_runs_csv(path, flops_col="training flop")


def test_bad_flops_per_param_token(tmp_path):
    with pytest.raises(DataError, match="flops_per_param_token must be a positive finite number"):
        read_runs_csv(grid_csv(tmp_path), flops_col="D", flops_per_param_token=0)


def test_groups_and_weights_columns(tmp_path):
    groups = ["run-b", "run-a"] * 5
    weights = [0.5, 1.0, 2.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 3.0]
    rows = [f"{n!r},{d!r},{loss!r}, {g} ,{w!r}" for n, d, loss, g, w in zip(N, D, LOSS, groups, weights)]
    path = grid_csv(tmp_path, header="N,D,loss,Sweep,W", rows=rows)
    runs = read_runs_csv(path, group_col="sweep", weight_col="w")
    np.testing.assert_array_equal(runs.groups, [1, 0] * 5)  # "run-a" sorts first
    np.testing.assert_array_equal(runs.weights, weights)


def test_empty_group_label_is_an_error(tmp_path):
    rows = [f"{n!r},{d!r},{loss!r},g" for n, d, loss in zip(N, D, LOSS)]
    rows[4] = "1.6e9,2e9,2.8,"
    with pytest.raises(DataError, match=r"column 'group', row 5 \(line 6\): the group label is empty"):
        read_runs_csv(grid_csv(tmp_path, header="N,D,loss,group", rows=rows), group_col="group")


def test_negative_weight_in_csv_names_row_and_column(tmp_path):
    rows = [f"{n!r},{d!r},{loss!r},1" for n, d, loss in zip(N, D, LOSS)]
    rows[1] = "2e8,2e9,3.2,-1"
    with pytest.raises(DataError, match=r"column 'weight', row 2 \(line 3\): weight -1.0"):
        read_runs_csv(grid_csv(tmp_path, header="N,D,loss,weight", rows=rows), weight_col="weight")


def test_drop_highest_loss_keeps_rows_below_the_kth_largest(tmp_path):
    runs = read_runs_csv(grid_csv(tmp_path), drop_highest_loss=2, n_free=4)
    # The two largest losses are 3.4 and 3.2; the rows are kept in file order.
    np.testing.assert_array_equal(runs.loss, [3.0, 2.9, 2.8, 3.1, 2.9, 2.7, 2.6, 2.5])
    np.testing.assert_array_equal(runs.n_params, N[2:5] + N[5:])


def test_drop_highest_loss_with_ties_drops_every_tied_row(tmp_path):
    rows = [f"{n!r},{d!r},{loss!r}" for n, d, loss in zip(N, D, LOSS)] + ["3.2e9,8e9,3.4"]
    runs = read_runs_csv(grid_csv(tmp_path, rows=rows), drop_highest_loss=1, n_free=4)
    assert runs.loss.shape == (9,) and runs.loss.max() == 3.2


def test_drop_highest_loss_leaving_too_few_rows_says_so(tmp_path):
    with pytest.raises(DataError, match="got 4 rows after dropping the 5 highest-loss rows"):
        read_runs_csv(grid_csv(tmp_path), drop_highest_loss=5)  # the 5th largest, 2.9, is tied: 6 dropped


def test_bad_drop_highest_loss(tmp_path):
    with pytest.raises(DataError, match="drop_highest_loss must be an integer >= 0"):
        read_runs_csv(grid_csv(tmp_path), drop_highest_loss=-1)
    with pytest.raises(DataError, match="cannot drop the 11 highest-loss rows: there are only 10 rows"):
        read_runs_csv(grid_csv(tmp_path), drop_highest_loss=11)


def test_duplicate_rows_in_csv_are_allowed(tmp_path):
    rows = [f"{n!r},{d!r},{loss!r}" for n, d, loss in zip(N, D, LOSS)]
    assert read_runs_csv(grid_csv(tmp_path, rows=rows + rows)).loss.shape == (20,)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match=r"nope\.csv: no such file"):
        read_runs_csv(tmp_path / "nope.csv")


def test_directory_is_an_error(tmp_path):
    with pytest.raises(DataError, match="is a directory, not a regular file"):
        read_runs_csv(tmp_path)


@pytest.mark.parametrize("text", ["", "\n\n"])
def test_empty_file(tmp_path, text):
    with pytest.raises(DataError, match="the file is empty; it needs a header row"):
        read_runs_csv(write_csv(tmp_path, text))


def test_header_without_rows_is_too_few_rows(tmp_path):
    with pytest.raises(DataError, match="need at least 6 rows to fit 5 free coefficients, got 0 rows"):
        read_runs_csv(write_csv(tmp_path, "N,D,loss\n"))


def test_missing_column_names_it_and_lists_the_columns(tmp_path):
    path = grid_csv(tmp_path, header="params,D,loss")
    with pytest.raises(DataError, match=r"no column 'N' \(columns are 'params', 'D', 'loss'\); pass params_col="):
        read_runs_csv(path)
    with pytest.raises(DataError, match=r"no column 'flops' .*pass flops_col="):
        read_runs_csv(path, params_col="params", flops_col="flops")


def test_ambiguous_column_is_an_error(tmp_path):
    with pytest.raises(DataError, match="2 columns match 'loss'"):
        read_runs_csv(write_csv(tmp_path, "N,D,loss,LOSS\n1,2,3,4\n"))


def test_non_numeric_cell_names_row_column_and_value(tmp_path):
    rows = [f"{n!r},{d!r},{loss!r}" for n, d, loss in zip(N, D, LOSS)]
    rows[6] = "2e8,8e9,abc"
    with pytest.raises(DataError, match=r"column 'loss', row 7 \(line 8\): 'abc' is not a number"):
        read_runs_csv(grid_csv(tmp_path, rows=rows))


def test_empty_cell_is_not_a_number(tmp_path):
    rows = [f"{n!r},{d!r},{loss!r}" for n, d, loss in zip(N, D, LOSS)]
    rows[0] = ",2e9,3.4"
    with pytest.raises(DataError, match=r"column 'N', row 1 \(line 2\): '' is not a number"):
        read_runs_csv(grid_csv(tmp_path, rows=rows))


@pytest.mark.parametrize("cells", ["1e8,2e9", "1e8,2e9,3.0,7"])
def test_wrong_number_of_cells(tmp_path, cells):
    rows = [f"{n!r},{d!r},{loss!r}" for n, d, loss in zip(N, D, LOSS)]
    rows[3] = cells
    with pytest.raises(DataError, match=r"row 4 \(line 5\) has \d cells but the header has 3"):
        read_runs_csv(grid_csv(tmp_path, rows=rows))


@pytest.mark.parametrize(
    "cells, message",
    [
        ("8e8,2e9,-0.3", r"column 'loss', row 4 \(line 5\): -0.3 is not positive"),
        ("0,2e9,2.9", r"column 'N', row 4 \(line 5\): 0.0 is not positive"),
        ("8e8,nan,2.9", r"column 'D', row 4 \(line 5\): nan is not finite"),
        ("8e8,2e9,inf", r"column 'loss', row 4 \(line 5\): inf is not finite"),
    ],
)
def test_non_positive_or_non_finite_cell_names_row_and_column(tmp_path, cells, message):
    rows = [f"{n!r},{d!r},{loss!r}" for n, d, loss in zip(N, D, LOSS)]
    rows[3] = cells
    with pytest.raises(DataError, match=message):
        read_runs_csv(grid_csv(tmp_path, rows=rows))


def test_line_numbers_count_blank_lines(tmp_path):
    rows = [f"{n!r},{d!r},{loss!r}" for n, d, loss in zip(N, D, LOSS)]
    rows[2] = "\n4e8,2e9,-1"
    with pytest.raises(DataError, match=r"row 3 \(line 5\)"):
        read_runs_csv(grid_csv(tmp_path, rows=rows))


def test_too_few_rows_in_csv(tmp_path):
    rows = [f"{n!r},{d!r},{loss!r}" for n, d, loss in zip(N, D, LOSS)][:5]
    with pytest.raises(DataError, match=r"runs\.csv: need at least 6 rows to fit 5 free coefficients, got 5"):
        read_runs_csv(grid_csv(tmp_path, rows=rows))


def test_constant_n_in_csv(tmp_path):
    rows = [f"1e9,{d!r},{loss!r}" for d, loss in zip(D, LOSS)]
    with pytest.raises(DataError, match="all rows have the same N"):
        read_runs_csv(grid_csv(tmp_path, rows=rows))


def test_data_errors_are_value_errors(tmp_path):
    with pytest.raises(ValueError):
        read_runs_csv(tmp_path / "missing.csv")


# --- Epoch AI's Chinchilla extraction -------------------------------------------------------------------------


@pytest.fixture
def epoch_path():
    path = shared_data_path()
    if path is None:
        pytest.skip("shared/data/chinchilla_epoch_svg_extracted.csv is not present")
    return path


def test_epoch_chinchilla_has_240_rows(epoch_path):
    runs = load_epoch_chinchilla(epoch_path)
    assert runs.n_params.shape == runs.n_tokens.shape == runs.loss.shape == runs.weights.shape == (240,)
    assert runs.groups is None
    assert runs.n_params.min() == pytest.approx(5.73e7, rel=5e-3)
    assert runs.n_params.max() == pytest.approx(1.62e10, rel=5e-3)
    assert load_epoch_chinchilla().loss.shape == (240,)  # the default path is shared_data_path()


def test_epoch_rows_are_those_below_the_5th_largest_loss_with_d_from_compute(epoch_path):
    with open(epoch_path, newline="") as file:
        raw = list(csv.DictReader(file))
    n = np.array([float(r["Model Size"]) for r in raw])
    c = np.array([float(r["Training FLOP"]) for r in raw])
    loss = np.array([float(r["loss"]) for r in raw])
    kept = loss < np.sort(loss)[-5]
    runs = load_epoch_chinchilla(epoch_path)
    np.testing.assert_array_equal(runs.n_params, n[kept])
    np.testing.assert_allclose(runs.n_tokens, c[kept] / (6 * n[kept]), rtol=1e-15)
