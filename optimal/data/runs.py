"""Training runs, from arrays, a CSV or Parquet file or a data frame, as validated float64 arrays; every problem
is a clear ``DataError``.

A run is one row: N (parameters), D (training tokens) and the final loss (nats per token), with an optional
fitting weight and group label. ``validate_runs`` checks arrays, ``read_runs_csv`` reads a file and names the
CSV row, line and column of anything wrong (``read_runs_with_columns`` also reads covariate and label columns
of the same rows), ``runs_from_frame`` reads a pandas (or any look-alike) data frame, ``load_epoch_chinchilla``
reads Epoch AI's extraction of the Chinchilla runs. Every reader takes ``where=``: filters such as
``"dataset=web"`` (``parse_where``) that choose the rows before anything else is read from them. NumPy only:
this module sits below everything numeric and knows nothing of JAX; pandas and pyarrow are never imported
(pyarrow only when a ``.parquet`` file is read).
"""

import csv
import math
import re
from pathlib import Path
from typing import Any, Callable, Hashable, Iterable, Mapping, NamedTuple, Sequence

import numpy as np
from numpy.typing import ArrayLike

from ..errors import DataError, check_count, check_positive
from .._util.units import DEFAULT_FLOPS_PER_PARAM_TOKEN

EPOCH_CHINCHILLA_FILE = "chinchilla_epoch_svg_extracted.csv"
# The fit weights rows by 1/loss^2 (``optimal.fitting.fit``): a loss below ~1e-154 has no float64 square and
# the fit turns NaN, so losses keep well inside; N and D are only used through their logs.
RANGES = {"n_params": (1e-300, 1e300), "n_tokens": (1e-300, 1e300), "loss": (1e-100, 1e100)}


class Runs(NamedTuple):
    """Validated training runs, one entry per run; every array has shape (n,).

    n_params: N, model parameters (float64, > 0). n_tokens: D, training tokens (float64, > 0).
    loss: final training loss in nats per token (float64, > 0). weights: non-negative fitting weights
    (float64; ones when none were given). groups: int64 group ids 0..G-1 numbered in order of first
    appearance, or None when the runs are not grouped.
    """

    n_params: np.ndarray
    n_tokens: np.ndarray
    loss: np.ndarray
    weights: np.ndarray
    groups: np.ndarray | None


class _Names(NamedTuple):
    """What error messages call the columns and rows (argument names and indices, or CSV headers and rows)."""

    n_params: str
    n_tokens: str
    loss: str
    weights: str
    groups: str
    row: Callable[[int], str]


_ARRAY_NAMES = _Names("n_params", "n_tokens", "loss", "weights", "groups", lambda i: f"index {i}")


class Where(NamedTuple):
    """One row filter, as ``parse_where`` reads it: keep the rows whose ``column`` compares with ``value`` by ``op``.

    column: the column's name (matched as the readers match names: ignoring case and surrounding spaces).
    op: one of ``=``, ``!=``, ``<``, ``<=``, ``>``, ``>=``. value: the text to compare with (a number for the
    order comparisons). expression: the filter as written, for messages.
    """

    column: str
    op: str
    value: str
    expression: str


class RowsKept(NamedTuple):
    """What one filter did: the rows it ``kept`` of the ``of`` rows the filters before it left (``where``: the
    filter as written)."""

    where: str
    kept: int
    of: int


WHERE_FORMS = "COLUMN=VALUE, COLUMN!=VALUE, COLUMN<X, COLUMN<=X, COLUMN>X or COLUMN>=X (X a number)"
# The first operator in the text splits it: a column name cannot hold = ! < >, a value can (after = and !=) but
# not at its start, where it is most likely a mistyped operator (N=>3 for N>=3).
_WHERE = re.compile(r"^(?P<column>[^=!<>]+?)\s*(?P<op>!=|<=|>=|==|=|<|>)(?P<value>.*)$", re.DOTALL)
_ORDER = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal}


def parse_where(expression: "str | Where") -> Where:
    """Read a row filter: ``COLUMN=VALUE``, ``COLUMN!=VALUE``, ``COLUMN<X``, ``COLUMN<=X``, ``COLUMN>X``, ``COLUMN>=X``.

    ``=`` (also written ``==``) and ``!=`` compare numerically when both the cell and the value are numbers
    (``1e9`` equals ``1000000000``), else as text, exactly, after stripping surrounding spaces. ``<``, ``<=``,
    ``>``, ``>=`` compare numbers: the value must be one, and so must every cell they compare. Spaces around
    the column name, the operator and the value are ignored. A ``Where`` is returned as it is.

    Raises:
      DataError: an expression of none of these forms (the message shows it and the forms), or an order
        comparison with a value that is not a number.

    Example:
      >>> parse_where("dataset = web")
      Where(column='dataset', op='=', value='web', expression='dataset = web')
      >>> parse_where("N>=1e9").op
      '>='
    """
    if isinstance(expression, Where):
        return expression
    if not isinstance(expression, str):
        raise DataError(f"a row filter is text such as 'dataset=web', got {expression!r}; use {WHERE_FORMS}")
    text = expression.strip()
    match = _WHERE.match(text)
    column, op, value = (match["column"].strip(), match["op"], match["value"].strip()) if match else ("", "", "")
    if not column or not value or value[0] in "=<>":
        raise DataError(f"{text!r} is not a row filter; use {WHERE_FORMS}")
    op = "=" if op == "==" else op
    if op in _ORDER and _number(value) is None:
        raise DataError(f"{text!r}: {op} compares numbers and {value!r} is not one; use {WHERE_FORMS}")
    return Where(column, op, value, text)


def _where_list(where):
    """``where`` (None, one filter, or a sequence of them) as a list of ``Where``."""
    if where is None:
        return []
    if isinstance(where, (str, Where)):
        where = [where]
    return [parse_where(w) for w in where]


def _number(text):
    """``text`` as a float, or None where it is not a number (NaN included: it neither equals nor orders)."""
    try:
        value = float(text)
    except ValueError:
        return None
    return None if math.isnan(value) else value



def validate_runs(
    n_params: ArrayLike,
    n_tokens: ArrayLike,
    loss: ArrayLike,
    weights: ArrayLike | None = None,
    groups: Sequence[Hashable] | None = None,
    n_free: int = 5,
    source: str | None = None,
) -> Runs:
    """Check training runs given as arrays and return them as ``Runs``.

    Args:
      n_params: N of each run, in parameters, shape (n,).
      n_tokens: D of each run, in training tokens, shape (n,).
      loss: final loss of each run, in nats per token, shape (n,).
      weights: optional non-negative fitting weight of each run, shape (n,); ones when None.
      groups: optional group label of each run (any hashable values), length n; mapped to int ids
        0..G-1 in order of first appearance (``encode_groups`` also returns the labels).
      n_free: number of coefficients the fit will estimate; at least ``2 * n_free`` rows with positive
        weight are required. 0 turns the check off.
      source: where the arrays came from (a file name, say), put in front of every error message.

    Duplicate rows are allowed: they are replicate runs.

    Raises:
      DataError: columns of different lengths or not 1-D, a non-numeric column, a non-finite or
        non-positive N, D or loss, or one outside ``RANGES`` (the message names the column and the index), a
        negative or non-finite weight, too few rows, or N or D the same in every row.

    Example:
      >>> runs = validate_runs([1e8, 1e9] * 5, [2e9] * 5 + [4e9] * 5, [3.1, 2.6, 3.0, 2.5, 2.9] * 2)
      >>> runs.n_params.dtype, runs.weights[:2]
      (dtype('float64'), array([1., 1.]))
    """
    columns = {
        name: _as_float_column(values, name, source)
        for name, values in (("n_params", n_params), ("n_tokens", n_tokens), ("loss", loss))
    }
    if weights is not None:
        columns["weights"] = _as_float_column(weights, "weights", source)
    if groups is not None:
        columns["groups"] = _as_label_column(groups, source)
    _check_lengths(columns, source)
    return _validated(
        columns["n_params"],
        columns["n_tokens"],
        columns["loss"],
        columns.get("weights"),
        columns.get("groups"),
        names=_ARRAY_NAMES,
        n_free=n_free,
        source=source,
    )


def read_runs_csv(
    path: str | Path,
    params_col: str | None = None,
    tokens_col: str | None = None,
    flops_col: str | None = None,
    loss_col: str | None = None,
    group_col: str | None = None,
    weight_col: str | None = None,
    flops_per_param_token: float = DEFAULT_FLOPS_PER_PARAM_TOKEN,
    drop_highest_loss: int = 0,
    n_free: int = 5,
    where: "str | Where | Sequence[str | Where] | None" = None,
) -> Runs:
    """Read training runs from a CSV file with a header row, one run per row (or from a ``.parquet`` file).

    Column names are matched case-insensitively and ignoring surrounding whitespace. By default N is read from
    column ``N`` (parameters), D from ``D`` (tokens) and the loss from ``loss`` (nats per token).

    Args:
      path: the CSV file (UTF-8, comma-separated, first row a header; blank lines are skipped). A path ending
        in ``.parquet`` is read as a Parquet file, which needs pyarrow (``pip install "optimal-scaling[parquet]"``).
      params_col, tokens_col, loss_col: the columns holding N, D and the loss (defaults ``N``, ``D``, ``loss``).
      flops_col: a column of training compute C in FLOPs to derive D from, as D = C / (k N) with
        k = ``flops_per_param_token``; cannot be combined with ``tokens_col``.
      group_col: optional column of group labels (any text), mapped to ids in order of first appearance.
      weight_col: optional column of non-negative fitting weights.
      flops_per_param_token: k in C = k N D; 6 is the usual forward-plus-backward count (Kaplan et al. 2020).
      drop_highest_loss: leave out the k highest-loss rows the way Epoch AI did (Besiroglu et al. 2024):
        keep the rows whose loss is strictly below the k-th largest loss (ties can drop more than k). With
        ``where``, the k highest of the rows the filters kept.
      n_free: number of coefficients the fit will estimate; at least ``2 * n_free`` rows must remain.
      where: row filters, every one of which a row must pass (``parse_where``: ``"dataset=web"``,
        ``["N>=1e8", "status!=failed"]``). They are applied first, each to the rows the ones before it kept;
        the other columns of the rows they leave out are never read (a failed run's empty loss, say).

    Returns:
      ``Runs`` of the kept rows, in file order.

    Raises:
      DataError: the file is missing, unreadable or empty; a named column is missing (the message lists the
        columns there are); a row has the wrong number of cells; a cell is not a number; a value is
        non-positive or non-finite (the message gives the data row, 1-based, the line in the file and the
        column); too few rows; N or D constant; both ``flops_col`` and ``tokens_col`` given; a malformed
        filter, one on a missing column, a non-numeric cell where a filter compares numbers, filters that
        leave no rows (the message says how many rows each kept).

    Example:
      >>> runs = read_runs_csv("runs.csv", params_col="Model Size", flops_col="Training FLOP")  # doctest: +SKIP
      >>> web = read_runs_csv("runs.csv", where=["dataset=web", "N>=1e8"])  # doctest: +SKIP
    """
    return read_runs_with_columns(
        path, params_col=params_col, tokens_col=tokens_col, flops_col=flops_col, loss_col=loss_col, group_col=group_col,
        weight_col=weight_col, flops_per_param_token=flops_per_param_token, drop_highest_loss=drop_highest_loss,
        n_free=n_free, where=where,
    )[0]


def read_runs_with_columns(
    path: str | Path,
    numbers: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
    *,
    params_col: str | None = None,
    tokens_col: str | None = None,
    flops_col: str | None = None,
    loss_col: str | None = None,
    group_col: str | None = None,
    weight_col: str | None = None,
    flops_per_param_token: float = DEFAULT_FLOPS_PER_PARAM_TOKEN,
    drop_highest_loss: int = 0,
    n_free: int = 5,
    where: "str | Where | Sequence[str | Where] | None" = None,
    return_selection: bool = False,
) -> tuple:
    """``read_runs_csv``, and more columns of the same rows: per-run covariates, group labels.

    Args:
      path and the keyword arguments: as for ``read_runs_csv``.
      numbers: ``{key: column}`` columns to read as finite numbers (a covariate such as unique tokens, say).
      labels: ``{key: column}`` columns to read as non-empty text labels (a group of runs, say).
      return_selection: also return what each ``where`` filter did.

    Returns:
      ``(runs, columns)``: the ``Runs``, and ``{key: (n,) array}`` for the same kept rows (after ``where`` and
      ``drop_highest_loss``), float64 for ``numbers`` and str objects for ``labels``. With
      ``return_selection``, ``(runs, columns, selection)``: one ``RowsKept`` per filter, in order.

    Raises:
      DataError: as ``read_runs_csv``; and a column of ``numbers`` or ``labels`` that is missing (the message
        names its key and lists the columns there are), a cell that is not a finite number, an empty label.

    Example:
      >>> runs, extra = read_runs_with_columns("runs.csv", numbers={"U": "unique_tokens"})  # doctest: +SKIP
    """
    source = str(path)
    _check_read_options(flops_col, tokens_col, flops_per_param_token, source)
    filters = _where_list(where)  # a malformed filter is an error before the file is opened
    table = _read_parquet(path) if Path(path).suffix.lower() == ".parquet" else _read_csv_table(path)
    runs, columns, selection = _runs_from_table(
        table, source, numbers, labels, filters, params_col=params_col, tokens_col=tokens_col, flops_col=flops_col,
        loss_col=loss_col, group_col=group_col, weight_col=weight_col, flops_per_param_token=flops_per_param_token,
        drop_highest_loss=drop_highest_loss, n_free=n_free)
    return (runs, columns, selection) if return_selection else (runs, columns)


def runs_from_frame(
    frame: Any,
    params_col: str | None = None,
    tokens_col: str | None = None,
    flops_col: str | None = None,
    loss_col: str | None = None,
    group_col: str | None = None,
    weight_col: str | None = None,
    flops_per_param_token: float = DEFAULT_FLOPS_PER_PARAM_TOKEN,
    drop_highest_loss: int = 0,
    n_free: int = 5,
    where: "str | Where | Sequence[str | Where] | None" = None,
    source: str = "data frame",
) -> Runs:
    """``read_runs_csv`` for a pandas ``DataFrame`` (or any object with ``.columns`` whose ``frame[name]`` is a
    column of values: a polars frame, say). pandas is not a dependency: it is never imported, the frame is only
    read, and every check is the same as for a CSV file, the cells read as the CSV reader reads text.

    Args:
      frame: the runs, one per row.
      the others: as for ``read_runs_csv``; ``source`` goes in front of every error message, whose rows are
        counted from 1 and also given by their index label (``row 4 (index 3)``).

    Returns:
      ``Runs`` of the kept rows, in the frame's order.

    Example:
      >>> import pandas as pd  # doctest: +SKIP
      >>> frame = pd.read_csv("runs.csv")  # doctest: +SKIP
      >>> runs = runs_from_frame(frame, params_col="N", tokens_col="D", where="dataset=web")  # doctest: +SKIP
    """
    _check_read_options(flops_col, tokens_col, flops_per_param_token, source)
    filters = _where_list(where)
    return _runs_from_table(
        _frame_table(frame, source), source, None, None, filters, params_col=params_col, tokens_col=tokens_col,
        flops_col=flops_col, loss_col=loss_col, group_col=group_col, weight_col=weight_col,
        flops_per_param_token=flops_per_param_token, drop_highest_loss=drop_highest_loss, n_free=n_free)[0]


def _check_read_options(flops_col, tokens_col, flops_per_param_token, source):
    if flops_col is not None and tokens_col is not None:
        raise DataError(
            f"{source}: both tokens_col={tokens_col!r} and flops_col={flops_col!r} were given; "
            "pass only one (D is read from tokens_col, or derived from flops_col as D = C / (k N))"
        )
    check_positive(flops_per_param_token, "flops_per_param_token", DataError, source)


def _runs_from_table(table, source, numbers, labels, filters, *, params_col, tokens_col, flops_col, loss_col,
                     group_col, weight_col, flops_per_param_token, drop_highest_loss, n_free):
    """The readers' common part: choose the rows (``filters``), then read and check the columns of those rows."""
    header = table.header
    wanted = {  # key -> (column name, the argument that names it)
        "n_params": (params_col or "N", "params_col"),
        "n_tokens": (tokens_col or "D", "tokens_col"),
        "flops": (flops_col, "flops_col"),
        "loss": (loss_col or "loss", "loss_col"),
        "weights": (weight_col, "weight_col"),
        "groups": (group_col, "group_col"),
    }
    if flops_col is not None:
        del wanted["n_tokens"]
    index = {
        key: _find_column(header, name, argument, source)
        for key, (name, argument) in wanted.items()
        if name is not None
    }
    extra_index = {key: _find_column(header, column, None, source, purpose=key)
                   for key, column in {**(numbers or {}), **(labels or {})}.items()}
    rows, selection = _select_rows(table, filters, source)
    row = lambda i: table.row(int(rows[i]))  # noqa: E731  the file's (or frame's) own row, whatever was left out

    def cells(j):
        column = table.column(j)
        return [column[i] for i in rows]

    name = {key: header[j].strip() for key, j in index.items()}
    extra = {}
    for key, j in extra_index.items():
        shown = header[j].strip()
        if key in (labels or {}):
            extra[key] = _parse_labels(cells(j), shown, row, source)
        else:
            extra[key] = _parse_numbers(cells(j), shown, row, source)
            _check_finite(extra[key], shown, row, source)
    columns = {
        key: (_parse_labels if key == "groups" else _parse_numbers)(cells(j), name[key], row, source)
        for key, j in index.items()
    }
    if "flops" in columns:
        # Check N and C under their own names first: a bad D would only be a symptom of them.
        _check_positive(columns["n_params"], name["n_params"], row, source)
        _check_positive(columns["flops"], name["flops"], row, source)
        columns["n_tokens"] = columns.pop("flops") / (flops_per_param_token * columns["n_params"])
        name["n_tokens"] = f"D = {name['flops']} / ({flops_per_param_token:g} N)"
    names = _Names(*(name.get(key, key) for key in ("n_params", "n_tokens", "loss", "weights", "groups")), row=row)
    runs = _validated(
        columns["n_params"],
        columns["n_tokens"],
        columns["loss"],
        columns.get("weights"),
        columns.get("groups"),
        names=names,
        n_free=n_free,
        source=source,
        drop_highest_loss=drop_highest_loss,
        selected=_selection_text(selection),
    )
    keep = _below_highest_losses(columns["loss"], drop_highest_loss, source)  # the rows _validated kept
    return runs, {key: values[keep] for key, values in extra.items()}, selection



def shared_data_path() -> Path | None:
    """Path of Epoch AI's Chinchilla CSV at ``<repo root>/../shared/data/``, or None when it is not there.

    The file is not shipped with the package (its licence is unstated), so tests and notebooks skip without it.
    """
    path = Path(__file__).resolve().parents[3] / "shared" / "data" / EPOCH_CHINCHILLA_FILE  # optimal/fitting/data.py
    return path if path.is_file() else None


def load_epoch_chinchilla(path: str | Path | None = None) -> Runs:
    """The Chinchilla runs (Hoffmann et al. 2022, Figure 4) as extracted by Epoch AI: 240 rows.

    Reads N from ``Model Size`` and compute C from ``Training FLOP``, sets D = C / (6 N), and leaves out the 5
    highest-loss rows, as Besiroglu, Erdil, Barnett & You (2024, arXiv:2404.10102) do. ``path`` defaults to
    ``shared_data_path()``.
    """
    if path is None:
        path = shared_data_path()
        if path is None:
            raise DataError(
                f"{EPOCH_CHINCHILLA_FILE} was not found next to the repository (shared/data/); "
                "pass its path to load_epoch_chinchilla(path)"
            )
    return read_runs_csv(path, params_col="Model Size", flops_col="Training FLOP", drop_highest_loss=5)


def encode_groups(labels: Iterable[Hashable]) -> tuple[np.ndarray, tuple]:
    """Map group labels to int64 ids 0..G-1 in order of first appearance; also return the G distinct labels.

    >>> encode_groups(["b", "a", "b"])
    (array([0, 1, 0]), ('b', 'a'))
    """
    ids: dict = {}
    codes = [ids.setdefault(label, len(ids)) for label in labels]
    return np.asarray(codes, dtype=np.int64), tuple(ids)


# --- the checks shared by arrays and CSV ---------------------------------------------------------------------


def _validated(n_params, n_tokens, loss, weights, groups, *, names, n_free, source, drop_highest_loss=0, selected=""):
    """Per-row checks on every row, then the optional Epoch-style drop, then the checks on the set as a whole
    (``selected``: what the row filters did, for the message on too few rows)."""
    _check_n_free(n_free, source)
    for values, name, key in ((n_params, names.n_params, "n_params"), (n_tokens, names.n_tokens, "n_tokens"),
                              (loss, names.loss, "loss")):
        _check_positive(values, name, names.row, source)
        _check_range(values, name, names.row, source, *RANGES[key])
    if weights is None:
        weights = np.ones_like(loss)
    else:
        _check_weights(weights, names.weights, names.row, source)
    keep = _below_highest_losses(loss, drop_highest_loss, source)
    n_params, n_tokens, loss, weights = n_params[keep], n_tokens[keep], loss[keep], weights[keep]
    dropped = f" after dropping the {drop_highest_loss} highest-loss rows" if drop_highest_loss else ""
    if selected:
        dropped = f" after the row filters ({selected}){dropped.replace(' after', ' and', 1)}"
    _check_identifiable(n_params, n_tokens, weights, n_free, dropped, source)
    group_ids = None if groups is None else encode_groups(groups[keep].tolist())[0]
    return Runs(n_params, n_tokens, loss, weights, group_ids)


def _check_positive(values, name, row, source):
    bad = ~(np.isfinite(values) & (values > 0))
    if bad.any():
        i = int(np.argmax(bad))
        value = float(values[i])
        what = "not finite" if not math.isfinite(value) else "not positive"
        raise DataError(
            _where(source, f"column {name!r}, {row(i)}: {value!r} is {what}; every N, D and loss must be a "
                           "positive finite number (correct or remove the row)")
        )


def _check_finite(values, name, row, source):
    bad = ~np.isfinite(values)
    if bad.any():
        i = int(np.argmax(bad))
        raise DataError(_where(source, f"column {name!r}, {row(i)}: {float(values[i])!r} is not finite; correct or "
                                       "remove the row"))


def _check_range(values, name, row, source, lo, hi):
    bad = (values < lo) | (values > hi)
    if bad.any():
        i = int(np.argmax(bad))
        raise DataError(
            _where(source, f"column {name!r}, {row(i)}: {float(values[i])!r} is outside the range the fit can "
                           f"compute with ({lo:g} to {hi:g}); check the units, or correct or remove the row")
        )


def _check_weights(weights, name, row, source):
    bad = ~(np.isfinite(weights) & (weights >= 0))
    if bad.any():
        i = int(np.argmax(bad))
        raise DataError(
            _where(source, f"column {name!r}, {row(i)}: weight {float(weights[i])!r} is not a finite number "
                           ">= 0; give every row a non-negative weight (0 leaves the row out of the fit)")
        )


def _check_identifiable(n_params, n_tokens, weights, n_free, dropped, source):
    used = weights > 0
    n_used = int(used.sum())
    if n_used < 2 * n_free:
        which = "rows" if used.all() else "rows with positive weight"
        raise DataError(
            _where(source, f"need at least {2 * n_free} rows to fit {n_free} coefficients, got {n_used} "
                           f"{which}{dropped}; add runs or fit fewer coefficients")
        )
    for values, symbol, what in ((n_params, "N", "model sizes"), (n_tokens, "D", "token counts")):
        used_values = values[used]
        if used_values.size and np.all(used_values == used_values[0]):
            raise DataError(
                _where(source, f"all rows have the same {symbol} ({float(used_values[0]):g}): the "
                               f"{symbol}-dependence cannot be identified; add runs with other {what}")
            )


def _below_highest_losses(loss, k, source):
    """Boolean mask keeping rows whose loss is below the k-th largest (Epoch AI's ``loss < sorted(loss)[-k]``)."""
    check_count(k, "drop_highest_loss", 0, error=DataError, source=source)
    if k == 0:
        return np.ones(loss.shape, dtype=bool)
    if k > loss.size:
        raise DataError(_where(source, f"cannot drop the {k} highest-loss rows: there are only {loss.size} rows"))
    return loss < np.sort(loss)[-k]


def _check_n_free(n_free, source):
    check_count(n_free, "n_free", 0, error=DataError, source=source)


def _check_lengths(columns, source):
    lengths = {name: len(values) for name, values in columns.items()}
    if len(set(lengths.values())) > 1:
        listed = ", ".join(f"{name} has {n}" for name, n in lengths.items())
        raise DataError(_where(source, f"columns have different lengths ({listed}); give one value per run in each"))


def _where(source, message):
    return f"{source}: {message}" if source else message


# --- arrays -----------------------------------------------------------------------------------------------------


def _as_float_column(values, name, source):
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(_where(source, f"{name} is not numeric ({exc}); give numbers, one per run")) from None
    if array.ndim != 1:
        raise DataError(_where(source, f"{name} must be 1-D (one value per run), got shape {array.shape}"))
    return array


def _as_label_column(labels, source):
    """An object array of the labels, so that any hashable label (a tuple, say) stays one element."""
    try:
        labels = list(labels)
    except TypeError:
        raise DataError(_where(source, f"groups must be a sequence of labels, one per run, got {labels!r}")) from None
    for i, label in enumerate(labels):
        try:
            hash(label)
        except TypeError:
            raise DataError(_where(source, f"groups, index {i}: {label!r} is not hashable; use str or int")) from None
    return np.fromiter(labels, dtype=object, count=len(labels))


# --- CSV --------------------------------------------------------------------------------------------------------


class _Table(NamedTuple):
    """Rows of text cells, however they were stored: the column names, the number of rows, ``column(j)``: the
    cells of column j as str (one per row), and ``row(i)``: how messages name row i (0-based)."""

    header: list
    n_rows: int
    column: Callable[[int], list]
    row: Callable[[int], str]


def _read_csv_table(path):
    """The CSV file as a ``_Table``; its rows are named by their number (1-based, as a spreadsheet shows them)
    and the file line where they end. Blank lines are skipped."""
    source = str(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as file:
            reader = csv.reader(file)
            header, rows, lines = None, [], []
            for cells in reader:
                if not cells or (len(cells) == 1 and not cells[0].strip()):
                    continue
                if header is None:
                    header = cells
                    continue
                if len(cells) != len(header):
                    raise DataError(
                        f"{source}: row {len(rows) + 1} (line {reader.line_num}) has {len(cells)} cells but the "
                        f"header has {len(header)}; every row needs one cell per column"
                    )
                rows.append(cells)
                lines.append(reader.line_num)
    except FileNotFoundError:
        raise DataError(f"{source}: no such file; check the path") from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"{source}: cannot read the file as UTF-8 CSV ({exc})") from None
    if header is None:
        raise DataError(f"{source}: the file is empty; it needs a header row naming the columns (e.g. N,D,loss)")
    return _Table(header, len(rows), lambda j: [cells[j] for cells in rows], lambda i: f"row {i + 1} (line {lines[i]})")


def _read_parquet(path):
    """The Parquet file as a ``_Table`` of text cells (a missing value is an empty cell); pyarrow is imported
    here only, so that it stays an optional extra."""
    source = str(path)
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise DataError(f"{source}: reading Parquet files needs pyarrow; install the extra: "
                        "pip install \"optimal-scaling[parquet]\" (or give a CSV file)") from None
    if not Path(path).exists():
        raise DataError(f"{source}: no such file; check the path")
    try:
        table = pq.read_table(path)
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError, its I/O errors OSErrors
        raise DataError(f"{source}: cannot read the file as Parquet ({' '.join(str(exc).split())})") from None
    return _Table([str(name) for name in table.column_names], table.num_rows,
                  lambda j: [_cell(value) for value in table.column(j).to_pylist()], lambda i: f"row {i + 1}")


def _frame_table(frame, source):
    """A data frame (pandas, or anything with ``.columns`` and ``frame[name]``) as a ``_Table`` of text cells.
    Only duck typing: importing pandas here would make it a dependency."""
    keys = getattr(frame, "columns", None)
    if keys is None or isinstance(frame, (str, bytes, Path)):
        raise DataError(f"{source}: expected a data frame (an object with .columns, such as a pandas DataFrame), "
                        f"got {type(frame).__name__}; for a file use read_runs_csv")
    keys = list(keys)
    columns = {}

    def column(j):
        if j not in columns:
            values = frame[keys[j]]
            for method in ("tolist", "to_list", "to_pylist"):  # Python numbers: str() of them round-trips
                if hasattr(values, method):
                    values = getattr(values, method)()
                    break
            columns[j] = [_cell(value) for value in values]
        return columns[j]

    index = getattr(frame, "index", None)
    labels = index.tolist() if hasattr(index, "tolist") else None
    n_rows = len(frame)
    if labels is not None and len(labels) == n_rows:
        row = lambda i: f"row {i + 1} (index {labels[i]!r})"  # noqa: E731  where df.loc finds it
    else:
        row = lambda i: f"row {i + 1}"  # noqa: E731
    return _Table([str(key) for key in keys], n_rows, column, row)


def _cell(value):
    """A stored value as the text a CSV file would hold: a missing value (None) is an empty cell."""
    return "" if value is None else value if isinstance(value, str) else str(value)


def _select_rows(table, filters, source):
    """Indices of the rows every filter keeps (each applied to the rows the ones before it kept), and a
    ``RowsKept`` per filter. Filters that keep no rows are an error that says what each kept."""
    rows = np.arange(table.n_rows)
    columns = [_find_column(table.header, f.column, None, source, purpose=f"the row filter {f.expression!r}")
               for f in filters]  # every name is checked before any filter runs
    selection = []
    for f, j in zip(filters, columns):
        cells = table.column(j)
        keep = _filter_mask([cells[i] for i in rows], f, table.header[j].strip(), lambda i: table.row(int(rows[i])),
                            source)
        selection.append(RowsKept(f.expression, int(keep.sum()), int(rows.size)))
        if not keep.any():
            seen = ""
            if f.op == "=" and rows.size:
                values = list(dict.fromkeys(cells[i].strip() for i in rows))
                more = f", ... ({len(values)} in all)" if len(values) > 8 else ""
                shown = ", ".join(repr(v) for v in values[:8]) + more
                seen = f"; column {table.header[j].strip()!r} holds {shown}"
            raise DataError(f"{source}: the row filters leave no rows ({_selection_text(selection)}){seen}")
        rows = rows[keep]
    return rows, selection


def _filter_mask(cells, f, name, row, source):
    """Which of ``cells`` pass filter ``f`` (``parse_where`` says how each operator compares)."""
    if f.op in _ORDER:
        values = np.empty(len(cells))
        for i, cell in enumerate(cells):
            value = _number(cell)
            if value is None:
                raise DataError(f"{source}: column {name!r}, {row(i)}: {cell!r} is not a number, and the row filter "
                                f"{f.expression!r} compares numbers; correct the row, or leave it out with a filter "
                                "before this one")
            values[i] = value
        return _ORDER[f.op](values, float(f.value))
    target = _number(f.value)
    equal = np.array([_equals(cell, f.value, target) for cell in cells], dtype=bool)
    return equal if f.op == "=" else ~equal


def _equals(cell, text, number):
    """A cell equals a filter's value: as numbers when both are (``number``: the value's), else as text."""
    if number is not None:
        value = _number(cell)
        if value is not None:
            return value == number
    return cell.strip() == text


def _selection_text(selection):
    return "; ".join(f"{s.where} kept {s.kept} of {s.of} rows" for s in selection)


def _find_column(header, name, argument, source, purpose=None):
    """Index of column ``name``. A missing one's message says which option names it (``argument``) or, for a
    column asked for by the caller's own key, what it was read for (``purpose``)."""
    key = name.strip().casefold()
    matches = [j for j, h in enumerate(header) if h.strip().casefold() == key]
    shown = [repr(h) if len(h) <= 40 else repr(h[:37] + "...") for h in header[:20]]
    available = ", ".join(shown) + (f", ... ({len(header)} in all)" if len(header) > 20 else "")
    if not matches and argument is None:
        raise DataError(f"{source}: no column {name!r} for {purpose} (columns are {available})")
    if not matches:
        raise DataError(
            f"{source}: no column {name!r} (columns are {available}); pass {argument}= to name the right one"
        )
    if len(matches) > 1:
        raise DataError(
            f"{source}: {len(matches)} columns match {name!r} (columns are {available}); rename all but one"
        )
    return matches[0]


def _parse_numbers(cells, name, row, source):
    values = np.empty(len(cells), dtype=np.float64)
    for i, cell in enumerate(cells):
        try:
            values[i] = float(cell.strip())
        except ValueError:
            raise DataError(
                f"{source}: column {name!r}, {row(i)}: {cell!r} is not a number; correct or remove the row"
            ) from None
    return values


def _parse_labels(cells, name, row, source):
    labels = np.array([cell.strip() for cell in cells], dtype=object)
    empty = [i for i, label in enumerate(labels) if not label]
    if empty:
        raise DataError(f"{source}: column {name!r}, {row(empty[0])}: the group label is empty; give every row a group")
    return labels


def where_mask(values: Sequence, where: "str | Where", name: str | None = None, source: str = "values") -> np.ndarray:
    """Which of ``values`` (n,) pass the row filter ``where`` (``parse_where``), compared exactly as the readers
    compare a file's cells (numbers as numbers, else text): a bool array (n,). ``name`` is the column's name in
    messages (default the filter's). Raises ``DataError`` for a malformed filter, or a value that is not a number
    where the filter compares numbers.

    Example:
      >>> where_mask([1e18, 7e18], "C>=6.4e18").tolist()
      [False, True]
    """
    f = parse_where(where)
    cells = [_cell(v) if isinstance(v, str) or v is None else repr(float(v)) if isinstance(v, (float, np.floating))
             else str(v) for v in values]
    return _filter_mask(cells, f, name or f.column, lambda i: f"index {i}", source)
