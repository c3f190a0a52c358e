"""Training runs as validated float64 arrays (``Runs``, ``validate_runs``); every problem is a clear ``DataError``.

A run is one row: N (parameters), D (training tokens) and the final loss (nats per token), with an optional
fitting weight and group label. ``validate_runs`` checks arrays; the readers of files and data frames
(``optimal.data.readers``) check their columns with the same checks (``validated``), naming the row, line and
column of anything wrong. NumPy only: this module sits below everything numeric and knows nothing of JAX.
"""

import math
from typing import Callable, Hashable, NamedTuple, Sequence

import numpy as np
from numpy.typing import ArrayLike

from ..errors import DataError, check_count, float_array
from .groups import encode_groups

# The fit weights rows by 1/loss^2 (``optimal.fitting.fit``): a loss below ~1e-154 has no float64 square and
# the fit turns NaN, so losses keep well inside; N and D are only used through their logs.
RANGES = {"n_params": (1e-300, 1e300), "n_tokens": (1e-300, 1e300), "loss": (1e-100, 1e100)}
COMPUTE_RANGE = (1e-300, 1e300)  # N x D of a run: k N D (its compute) and what is derived from it (a reference
# budget 100 x the largest run's, say) stay inside float64


class Runs(NamedTuple):
    """Validated training runs, one entry per run; every array has shape (n,).

    n_params: N, model parameters (float64, > 0). n_tokens: D, training tokens (float64, > 0).
    loss: final training loss in nats per token (float64, > 0). weights: non-negative fitting weights
    (float64; ones when none were given). groups: int64 group ids 0..G-1, the labels numbered
    in their sorted order as text (``encode_groups``), or None when the runs are not grouped.
    """

    n_params: np.ndarray
    n_tokens: np.ndarray
    loss: np.ndarray
    weights: np.ndarray
    groups: np.ndarray | None


class ColumnNames(NamedTuple):
    """What error messages call the columns and rows (argument names and indices, or CSV headers and rows)."""

    n_params: str
    n_tokens: str
    loss: str
    weights: str
    groups: str
    row: Callable[[int], str]


_ARRAY_NAMES = ColumnNames("n_params", "n_tokens", "loss", "weights", "groups", lambda i: f"index {i}")


def min_rows(n_free: int) -> int:
    """The fewest rows of positive weight a fit of ``n_free`` free coefficients needs (the one place this rule is
    stated): one more than the coefficients, so that at least one residual degree of freedom is left (the residual
    scale, and with it the prediction interval and ``validate``'s sqrt(n / (n - p)), needs n > p).

    ``n_free`` counts the coefficients the fit estimates after ``fix``, ``tie`` and ``shared``
    (``optimal.fitting.problem.free_count``): Chinchilla's 5, 4 with the exponents tied. Gadre et al. 2024 fit 4
    (E, A, B and one exponent, their eta) to 5 runs; this count lets that protocol run. Whether the rows
    identify the coefficients is the fit's identifiability diagnostics' question, not this count's.
    """
    return n_free + 1


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
        0..G-1 in the labels' sorted order as text (``encode_groups``, which also returns the labels).
      n_free: number of coefficients the fit will estimate; at least ``min_rows(n_free)`` (n_free + 1) rows with
        positive weight are required. 0 turns the check off.
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
    return validated(
        columns["n_params"],
        columns["n_tokens"],
        columns["loss"],
        columns.get("weights"),
        columns.get("groups"),
        names=_ARRAY_NAMES,
        n_free=n_free,
        source=source,
    )

# --- the checks shared by arrays and CSV ---------------------------------------------------------------------


def validated(n_params, n_tokens, loss, weights, groups, *, names, n_free, source, drop_highest_loss=0, selected=""):
    """Per-row checks on every row, then the optional Epoch-style drop, then the checks on the set as a whole
    (``selected``: what the row filters did, for the message on too few rows)."""
    _check_n_free(n_free, source)
    for values, name, key in ((n_params, names.n_params, "n_params"), (n_tokens, names.n_tokens, "n_tokens"),
                              (loss, names.loss, "loss")):
        check_positive_column(values, name, names.row, source)
        _check_range(values, name, names.row, source, *RANGES[key])
    _check_product(n_params, n_tokens, names, source)
    if weights is None:
        weights = np.ones_like(loss)
    else:
        _check_weights(weights, names.weights, names.row, source)
    keep = below_highest_losses(loss, drop_highest_loss, source)
    n_params, n_tokens, loss, weights = n_params[keep], n_tokens[keep], loss[keep], weights[keep]
    dropped = f" after dropping the {drop_highest_loss} highest-loss rows" if drop_highest_loss else ""
    if selected:
        dropped = f" after the row filters ({selected}){dropped.replace(' after', ' and', 1)}"
    _check_identifiable(n_params, n_tokens, weights, n_free, dropped, source)
    group_ids = None if groups is None else encode_groups(groups[keep].tolist())[1]
    return Runs(n_params, n_tokens, loss, weights, group_ids)


def check_positive_column(values, name, row, source):
    bad = ~(np.isfinite(values) & (values > 0))
    if bad.any():
        i = int(np.argmax(bad))
        value = float(values[i])
        what = "not finite" if not math.isfinite(value) else "not positive"
        raise DataError(
            _where(source, f"column {name!r}, {row(i)}: {value!r} is {what}; every N, D and loss must be a "
                           "positive finite number (correct or remove the row)")
        )


def check_finite_column(values, name, row, source):
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


def _check_product(n_params, n_tokens, names, source):
    """N x D of every row inside ``COMPUTE_RANGE`` (compared in logs: the product itself may overflow)."""
    log_nd = np.log(n_params) + np.log(n_tokens)
    lo, hi = COMPUTE_RANGE
    bad = (log_nd < math.log(lo)) | (log_nd > math.log(hi))
    if bad.any():
        i = int(np.argmax(bad))
        exponent = math.floor(log_nd[i] / math.log(10))  # the product itself may be beyond float64
        mantissa = float(f"{math.exp(log_nd[i] - exponent * math.log(10)):.3g}")
        exponent, mantissa = (exponent + 1, mantissa / 10) if mantissa >= 10 else (exponent, mantissa)
        raise DataError(
            _where(source, f"columns {names.n_params!r} and {names.n_tokens!r}, {names.row(i)}: N x D = "
                           f"{mantissa:g}e{exponent:+d} is outside the range the fit can compute with "
                           f"({lo:g} to {hi:g}; k N D is the run's compute); check the units, or correct or remove "
                           "the row")
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
    if n_free and n_used < min_rows(n_free):
        which = "rows" if used.all() else "rows with positive weight"
        raise DataError(
            _where(source, f"need at least {min_rows(n_free)} rows to fit {n_free} free coefficients, got {n_used} "
                           f"{which}{dropped}; add runs or fit fewer coefficients (fix or tie some)")
        )
    for values, symbol, what in ((n_params, "N", "model sizes"), (n_tokens, "D", "token counts")):
        used_values = values[used]
        if used_values.size and np.all(used_values == used_values[0]):
            raise DataError(
                _where(source, f"all rows have the same {symbol} ({float(used_values[0]):g}): the "
                               f"{symbol}-dependence cannot be identified; add runs with other {what}")
            )


def below_highest_losses(loss, k, source):
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
        array = float_array(values, name, DataError, source=source)
    except DataError:  # float_array's, for an int beyond float64 (a ValueError too)
        raise
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


