"""Training runs read from a CSV or Parquet file or a data frame, the columns chosen by name; every problem is a
clear ``DataError`` that names the file, row, line and column.

``read_runs_csv`` reads a file (``read_runs_with_columns`` also reads covariate and label columns of the same
rows), ``runs_from_frame`` reads a pandas (or any look-alike) data frame, ``load_epoch_chinchilla`` reads Epoch
AI's extraction of the Chinchilla runs. Every reader takes ``where=`` (``optimal.data.where``): filters that
choose the rows before anything else is read from them. Reading is bounded: only a regular file of at most
``MAX_FILE_BYTES`` is read (a device, a FIFO or a file that keeps growing would never end). NumPy only; pandas
and pyarrow are never imported (pyarrow only when a ``.parquet`` file is read).
"""

import csv
import io
import os
import stat
from pathlib import Path
from typing import Any, Callable, Mapping, NamedTuple, Sequence

import numpy as np

from ..errors import DataError, check_positive
from .._util.units import DEFAULT_FLOPS_PER_PARAM_TOKEN
from .runs import ColumnNames, Runs, below_highest_losses, check_finite_column, check_positive_column, validated
from .where import RowsKept, Where, cell_text, filter_mask, selection_text, where_list

EPOCH_CHINCHILLA_FILE = "chinchilla_epoch_svg_extracted.csv"
# A runs file is a few hundred to a few hundred thousand rows (kilobytes to tens of megabytes). 256 MiB is far
# above any, and bounds the memory (its cells as Python strings take several times the file's size) and the time
# a read can take (tens of seconds at most).
MAX_FILE_BYTES = 256 << 20
# One row per training run: more than any scaling study has (Epoch's Chinchilla set: 240). A 100 MB file of 3
# million rows was read and then fitted for minutes; past this it is refused after reading, before any fitting.
MAX_RUNS = 100_000


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
      group_col: optional column of group labels (any text), mapped to ids in their sorted order (``encode_groups``).
      weight_col: optional column of non-negative fitting weights.
      flops_per_param_token: k in C = k N D; 6 is the usual forward-plus-backward count (Kaplan et al. 2020).
      drop_highest_loss: leave out the k highest-loss rows the way Epoch AI did (Besiroglu et al. 2024):
        keep the rows whose loss is strictly below the k-th largest loss (ties can drop more than k). With
        ``where``, the k highest of the rows the filters kept.
      n_free: number of coefficients the fit will estimate; at least ``min_rows(n_free)`` (n_free + 1) rows
        must remain (``optimal.data.runs.min_rows``).
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
    optional: Sequence[str] = (),
) -> tuple:
    """``read_runs_csv``, and more columns of the same rows: per-run covariates, group labels.

    Args:
      path and the keyword arguments: as for ``read_runs_csv``.
      numbers: ``{key: column}`` columns to read as finite numbers (a covariate such as unique tokens, say).
      labels: ``{key: column}`` columns to read as non-empty text labels (a group of runs, say).
      return_selection: also return what each ``where`` filter did.
      optional: column names read as numbers when the file has them (under the file's name for them), left out
        when it does not; a cell that is not a number is NaN (the caller decides: ``optimal.data.repetition``).

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
    _check_read_options(flops_col, tokens_col, flops_per_param_token, source, _column_options(
        params_col, tokens_col, flops_col, loss_col, group_col, weight_col, {**(numbers or {}), **(labels or {})}))
    filters = where_list(where)  # a malformed filter is an error before the file is opened
    table = read_table(path)
    runs, columns, selection = _runs_from_table(
        table, source, numbers, labels, filters, params_col=params_col, tokens_col=tokens_col, flops_col=flops_col,
        loss_col=loss_col, group_col=group_col, weight_col=weight_col, flops_per_param_token=flops_per_param_token,
        drop_highest_loss=drop_highest_loss, n_free=n_free, optional=optional)
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
    _check_read_options(flops_col, tokens_col, flops_per_param_token, source,
                        _column_options(params_col, tokens_col, flops_col, loss_col, group_col, weight_col, {}))
    filters = where_list(where)
    return _runs_from_table(
        _frame_table(frame, source), source, None, None, filters, params_col=params_col, tokens_col=tokens_col,
        flops_col=flops_col, loss_col=loss_col, group_col=group_col, weight_col=weight_col,
        flops_per_param_token=flops_per_param_token, drop_highest_loss=drop_highest_loss, n_free=n_free)[0]


def _check_read_options(flops_col, tokens_col, flops_per_param_token, source, names=()):
    """The options checked before a file is opened: a column name that is not non-empty text (``names``: pairs of
    the option and its value), both ``flops_col`` and ``tokens_col``, k not a positive number."""
    for option, name in names:
        if name is not None and (not isinstance(name, str) or not name.strip()):
            raise DataError(f"{source}: {option}={name!r} names no column; give a column's name (or leave the "
                            "option out for its default)")
    if flops_col is not None and tokens_col is not None:
        raise DataError(
            f"{source}: both tokens_col={tokens_col!r} and flops_col={flops_col!r} were given; "
            "pass only one (D is read from tokens_col, or derived from flops_col as D = C / (k N))"
        )
    check_positive(flops_per_param_token, "flops_per_param_token", DataError, source)


def _column_options(params_col, tokens_col, flops_col, loss_col, group_col, weight_col, extra):
    """(option, column name) pairs of every column a reader was asked for, for ``_check_read_options``."""
    given = {"params_col": params_col, "tokens_col": tokens_col, "flops_col": flops_col, "loss_col": loss_col,
             "group_col": group_col, "weight_col": weight_col}
    return list(given.items()) + [(f"the column for {key!r}", name) for key, name in extra.items()]


def _runs_from_table(table, source, numbers, labels, filters, *, params_col, tokens_col, flops_col, loss_col,
                     group_col, weight_col, flops_per_param_token, drop_highest_loss, n_free, optional=()):
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
    folded = [h.strip().casefold() for h in header]
    optional_index = {header[_find_column(header, name, None, source)].strip(): folded.index(name.strip().casefold())
                      for name in optional if name.strip().casefold() in folded}  # two such columns: DataError
    rows, selection = _select_rows(table, filters, source)
    if len(rows) > MAX_RUNS:
        raise DataError(f"{source}: {len(rows):,} rows, more than the {MAX_RUNS:,} (MAX_RUNS) training runs a runs file "
                        "is read with; is it the right file (learning curves go to 'optimal envelope')? Select rows "
                        "with --where (where=)")
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
            check_finite_column(extra[key], shown, row, source)
    for key, j in optional_index.items():
        if key not in extra:
            extra[key] = np.array([number_or_nan(cell) for cell in cells(j)], dtype=float)
    columns = {
        key: (_parse_labels if key == "groups" else _parse_numbers)(cells(j), name[key], row, source)
        for key, j in index.items()
    }
    if "flops" in columns:
        # Check N and C under their own names first: a bad D would only be a symptom of them.
        check_positive_column(columns["n_params"], name["n_params"], row, source)
        check_positive_column(columns["flops"], name["flops"], row, source)
        with np.errstate(over="ignore", under="ignore"):  # a D out of range is refused, naming the column, below
            columns["n_tokens"] = columns.pop("flops") / (flops_per_param_token * columns["n_params"])
        name["n_tokens"] = f"D = {name['flops']} / ({flops_per_param_token:g} N)"
    names = ColumnNames(*(name.get(key, key) for key in ("n_params", "n_tokens", "loss", "weights", "groups")), row=row)
    runs = validated(
        columns["n_params"],
        columns["n_tokens"],
        columns["loss"],
        columns.get("weights"),
        columns.get("groups"),
        names=names,
        n_free=n_free,
        source=source,
        drop_highest_loss=drop_highest_loss,
        selected=selection_text(selection),
    )
    keep = below_highest_losses(columns["loss"], drop_highest_loss, source)  # the rows validated kept
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

# --- CSV --------------------------------------------------------------------------------------------------------


class _Table(NamedTuple):
    """Rows of text cells, however they were stored: the column names, the number of rows, ``column(j)``: the
    cells of column j as str (one per row), and ``row(i)``: how messages name row i (0-based)."""

    header: list
    n_rows: int
    column: Callable[[int], list]
    row: Callable[[int], str]


def read_file_bytes(path, what):
    """The bytes of the file at ``path``, read only from a regular file of at most ``MAX_FILE_BYTES``: a device
    (``/dev/zero``), a FIFO or a socket could never end, so it is refused before a byte is read, and a file that
    grows past the limit while it is read is refused at the limit. ``what``: the format, for messages."""
    source = str(path)
    if not source.strip():
        raise DataError(f"the path of the {what} file is empty; give the file's path")
    try:
        # O_NONBLOCK: opening a FIFO without a writer would wait forever; fstat then refuses it
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise DataError(f"{source}: no such file; check the path") from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL character in the path
        raise DataError(f"{source}: cannot open the file ({exc})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            mode = info.st_mode
            kind = ("a directory" if stat.S_ISDIR(mode) else "a FIFO (named pipe)" if stat.S_ISFIFO(mode)
                    else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a socket" if stat.S_ISSOCK(mode)
                    else "not a regular file")
            raise DataError(f"{source}: is {kind}, not a regular file; give a {what} file (reading a device or "
                            "a pipe might never end)")
        if info.st_size > MAX_FILE_BYTES:
            raise DataError(f"{source}: the file has {info.st_size:,} bytes, more than the {MAX_FILE_BYTES:,} "
                            f"(MAX_FILE_BYTES) a runs file is read up to; is it the right file?")
    except BaseException:
        os.close(fd)
        raise
    with os.fdopen(fd, "rb") as file:
        try:
            data = file.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            raise DataError(f"{source}: cannot read the file ({exc})") from None
    if len(data) > MAX_FILE_BYTES:
        raise DataError(f"{source}: the file grew past the {MAX_FILE_BYTES:,} bytes (MAX_FILE_BYTES) a runs file "
                        "is read up to while it was read; is it still being written?")
    return data


def read_table(path):
    """The runs file at ``path`` as a ``_Table``: Parquet for a ``.parquet`` suffix, CSV otherwise. A path that is
    not a ``str`` or ``os.PathLike`` (None, a number, bytes: pathlib's ``TypeError``) is a ``DataError``."""
    if not isinstance(path, (str, os.PathLike)):
        raise DataError(f"the path of the file to read must be a str or a pathlib.Path, got {type(path).__name__}")
    return _read_parquet(path) if Path(path).suffix.lower() == ".parquet" else _read_csv_table(path)


def _read_csv_table(path):
    """The CSV file as a ``_Table``; its rows are named by their number (1-based, as a spreadsheet shows them)
    and the file line where they end. Blank lines are skipped."""
    source = str(path)
    data = read_file_bytes(path, "CSV")
    try:
        reader = csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""))
        header, rows, lines = None, [], []
        for cells in reader:
            if not cells or (len(cells) == 1 and not cells[0].strip()):
                continue
            if header is None:
                if any("\0" in cell for cell in cells):  # a NUL in a data cell is that cell's error
                    raise DataError(f"{source}: cannot read the file as UTF-8 CSV (its header holds NUL bytes: a "
                                    "binary file); give a CSV file (or a .parquet file)")
                header = cells
                continue
            if len(cells) != len(header):
                raise DataError(
                    f"{source}: row {len(rows) + 1} (line {reader.line_num}) has {len(cells)} cells but the "
                    f"header has {len(header)}; every row needs one cell per column"
                )
            rows.append(cells)
            lines.append(reader.line_num)
    except (UnicodeDecodeError, csv.Error) as exc:
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
    data = read_file_bytes(path, "Parquet")
    try:
        table = pq.read_table(io.BytesIO(data))
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError, its I/O errors OSErrors
        raise DataError(f"{source}: cannot read the file as Parquet ({' '.join(str(exc).split())})") from None
    return _Table([str(name) for name in table.column_names], table.num_rows,
                  lambda j: [cell_text(value) for value in table.column(j).to_pylist()], lambda i: f"row {i + 1}")


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
            columns[j] = [cell_text(value) for value in values]
        return columns[j]

    index = getattr(frame, "index", None)
    labels = index.tolist() if hasattr(index, "tolist") else None
    n_rows = len(frame)
    if labels is not None and len(labels) == n_rows:
        row = lambda i: f"row {i + 1} (index {labels[i]!r})"  # noqa: E731  where df.loc finds it
    else:
        row = lambda i: f"row {i + 1}"  # noqa: E731
    return _Table([str(key) for key in keys], n_rows, column, row)


def _select_rows(table, filters, source):
    """Indices of the rows every filter keeps (each applied to the rows the ones before it kept), and a
    ``RowsKept`` per filter. Filters that keep no rows are an error that says what each kept."""
    rows = np.arange(table.n_rows)
    columns = [_find_column(table.header, f.column, None, source, purpose=f"the row filter {f.expression!r}")
               for f in filters]  # every name is checked before any filter runs
    selection = []
    for f, j in zip(filters, columns):
        cells = table.column(j)
        keep = filter_mask([cells[i] for i in rows], f, table.header[j].strip(), lambda i: table.row(int(rows[i])),
                            source)
        selection.append(RowsKept(f.expression, int(keep.sum()), int(rows.size)))
        if not keep.any():
            seen = ""
            if f.op == "=" and rows.size:
                values = list(dict.fromkeys(cells[i].strip() for i in rows))
                more = f", ... ({len(values)} in all)" if len(values) > 8 else ""
                shown = ", ".join(repr(v) for v in values[:8]) + more
                seen = f"; column {table.header[j].strip()!r} holds {shown}"
            raise DataError(f"{source}: the row filters leave no rows ({selection_text(selection)}){seen}")
        rows = rows[keep]
    return rows, selection


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


def number_or_nan(value):
    """``float(value)`` (a text cell's surrounding whitespace ignored), or NaN for a value that is not a number: an
    optional column's cells (``read_runs_with_columns(optional=)``), and ``optimal.data.repetition``'s values."""
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: an int beyond float64
        return np.nan


def _parse_labels(cells, name, row, source):
    labels = np.array([cell.strip() for cell in cells], dtype=object)
    empty = [i for i, label in enumerate(labels) if not label]
    if empty:
        raise DataError(f"{source}: column {name!r}, {row(empty[0])}: the group label is empty; give every row a group")
    return labels


__all__ = ["EPOCH_CHINCHILLA_FILE", "MAX_FILE_BYTES", "MAX_RUNS", "load_epoch_chinchilla", "read_file_bytes",
           "read_runs_csv", "read_runs_with_columns", "runs_from_frame", "shared_data_path"]
