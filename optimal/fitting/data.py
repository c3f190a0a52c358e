"""Training runs, from arrays or a CSV file, as validated float64 arrays; every problem is a clear ``DataError``.

A run is one row: N (parameters), D (training tokens) and the final loss (nats per token), with an optional
fitting weight and group label. ``validate_runs`` checks arrays, ``read_runs_csv`` reads a file and names the
CSV row, line and column of anything wrong (``read_runs_with_columns`` also reads covariate and label columns
of the same rows), ``load_epoch_chinchilla`` reads Epoch AI's extraction of the Chinchilla runs. NumPy only:
this module sits below everything numeric and knows nothing of JAX.
"""

import csv
import math
from pathlib import Path
from typing import Callable, Hashable, Iterable, Mapping, NamedTuple, Sequence

import numpy as np
from numpy.typing import ArrayLike

from ..errors import DataError, check_count, check_positive

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
    flops_per_param_token: float = 6.0,
    drop_highest_loss: int = 0,
    n_free: int = 5,
) -> Runs:
    """Read training runs from a CSV file with a header row, one run per row.

    Column names are matched case-insensitively and ignoring surrounding whitespace. By default N is read from
    column ``N`` (parameters), D from ``D`` (tokens) and the loss from ``loss`` (nats per token).

    Args:
      path: the CSV file (UTF-8, comma-separated, first row a header; blank lines are skipped).
      params_col, tokens_col, loss_col: the columns holding N, D and the loss (defaults ``N``, ``D``, ``loss``).
      flops_col: a column of training compute C in FLOPs to derive D from, as D = C / (k N) with
        k = ``flops_per_param_token``; cannot be combined with ``tokens_col``.
      group_col: optional column of group labels (any text), mapped to ids in order of first appearance.
      weight_col: optional column of non-negative fitting weights.
      flops_per_param_token: k in C = k N D; 6 is the usual forward-plus-backward count (Kaplan et al. 2020).
      drop_highest_loss: leave out the k highest-loss rows the way Epoch AI did (Besiroglu et al. 2024):
        keep the rows whose loss is strictly below the k-th largest loss (ties can drop more than k).
      n_free: number of coefficients the fit will estimate; at least ``2 * n_free`` rows must remain.

    Returns:
      ``Runs`` of the kept rows, in file order.

    Raises:
      DataError: the file is missing, unreadable or empty; a named column is missing (the message lists the
        columns there are); a row has the wrong number of cells; a cell is not a number; a value is
        non-positive or non-finite (the message gives the data row, 1-based, the line in the file and the
        column); too few rows; N or D constant; both ``flops_col`` and ``tokens_col`` given.

    Example:
      >>> runs = read_runs_csv("runs.csv", params_col="Model Size", flops_col="Training FLOP")  # doctest: +SKIP
    """
    return read_runs_with_columns(
        path, params_col=params_col, tokens_col=tokens_col, flops_col=flops_col, loss_col=loss_col, group_col=group_col,
        weight_col=weight_col, flops_per_param_token=flops_per_param_token, drop_highest_loss=drop_highest_loss,
        n_free=n_free,
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
    flops_per_param_token: float = 6.0,
    drop_highest_loss: int = 0,
    n_free: int = 5,
) -> tuple[Runs, dict]:
    """``read_runs_csv``, and more columns of the same rows: per-run covariates, group labels.

    Args:
      path and the keyword arguments: as for ``read_runs_csv``.
      numbers: ``{key: column}`` columns to read as finite numbers (a covariate such as unique tokens, say).
      labels: ``{key: column}`` columns to read as non-empty text labels (a group of runs, say).

    Returns:
      ``(runs, columns)``: the ``Runs``, and ``{key: (n,) array}`` for the same kept rows (after
      ``drop_highest_loss``), float64 for ``numbers`` and str objects for ``labels``.

    Raises:
      DataError: as ``read_runs_csv``; and a column of ``numbers`` or ``labels`` that is missing (the message
        names its key and lists the columns there are), a cell that is not a finite number, an empty label.

    Example:
      >>> runs, extra = read_runs_with_columns("runs.csv", numbers={"U": "unique_tokens"})  # doctest: +SKIP
    """
    source = str(path)
    if flops_col is not None and tokens_col is not None:
        raise DataError(
            f"{source}: both tokens_col={tokens_col!r} and flops_col={flops_col!r} were given; "
            "pass only one (D is read from tokens_col, or derived from flops_col as D = C / (k N))"
        )
    check_positive(flops_per_param_token, "flops_per_param_token", DataError, source)
    header, rows, lines = _read_table(path)
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
    name = {key: header[j].strip() for key, j in index.items()}
    row = lambda i: f"row {i + 1} (line {lines[i]})"  # noqa: E731  data rows are 1-based, as a spreadsheet shows them
    extra = {}
    for key, column in {**(numbers or {}), **(labels or {})}.items():
        j = _find_column(header, column, None, source, purpose=key)
        cells, shown = [r[j] for r in rows], header[j].strip()
        if key in (labels or {}):
            extra[key] = _parse_labels(cells, shown, row, source)
        else:
            extra[key] = _parse_numbers(cells, shown, row, source)
            _check_finite(extra[key], shown, row, source)
    columns = {
        key: (_parse_labels if key == "groups" else _parse_numbers)([r[j] for r in rows], name[key], row, source)
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
    )
    keep = _below_highest_losses(columns["loss"], drop_highest_loss, source)  # the rows _validated kept
    return runs, {key: values[keep] for key, values in extra.items()}


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


def _validated(n_params, n_tokens, loss, weights, groups, *, names, n_free, source, drop_highest_loss=0):
    """Per-row checks on every row, then the optional Epoch-style drop, then the checks on the set as a whole."""
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


def _read_table(path):
    """Header, data rows (lists of cells) and the file line where each data row ends. Blank lines are skipped."""
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
    return header, rows, lines


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
