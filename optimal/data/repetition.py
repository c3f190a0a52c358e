"""A design check: do the runs repeat their data, while the law counts every token as new?

A law without a repetition term (Chinchilla, Kaplan, any but the data-constrained one) takes a run's D tokens for
D fresh ones. When the runs file says how many unique tokens each run saw (a column ``unique_tokens``, ``U`` or
``unique``) or how many epochs it made (``epochs``), ``repetition`` counts the runs that saw some data more than
once (D > U, epochs > 1) and words a warning (code ``"repeated-data"``). No test on the losses can replace it: with
one unique-data budget per study, the repeated runs are the ones with the most tokens, and a Chinchilla fit bends
its B / D^beta term to them, leaving too little misfit for any in-sample test to see (docs/coverage.md). It reads
the design, not the losses; ``optimal.fit`` and ``optimal.validate`` both call it. NumPy only, O(n).
"""

from typing import Mapping, NamedTuple

import numpy as np

from .._util.results import Issue
from ..errors import DataError, check_mapping
from ..laws import family as family_of
from .readers import number_or_nan

# Column names recognised (case-insensitively, around whitespace), in the order they are preferred: unique tokens
# per run first (epochs = D / U), then an epochs column as given.
UNIQUE_COLUMNS = ("unique_tokens", "U", "unique")
EPOCHS_COLUMNS = ("epochs",)
RECOGNISED = UNIQUE_COLUMNS + EPOCHS_COLUMNS
# a run repeats its data when its epochs exceed 1 by more than this (D read back from a file equal to U is no repeat)
REPEAT_RTOL = 1e-6
# two recognised columns (unique tokens and epochs, or two spellings of one) disagree when their epochs differ by more
# than this share at a run (an epochs column rounded to two digits still agrees)
AGREE_RTOL = 0.01
CODE = "repeated-data"
# what a repetition the law ignores does to the answer, as measured on synthetic sets (docs/coverage.md: 64 runs,
# Muennighoff et al.'s law with one unique-data budget per set, fitted with Chinchilla, 200 sets each)
MEASURED = ("on synthetic sets with up to 40 epochs a Chinchilla fit's N* came out 1.5-1.9x too small and its "
            "intervals of the loss at the optimum held the truth in 16-20% of sets (80% intervals) and 40-46% (95%); "
            "with up to 4 epochs, close to a right law (docs/coverage.md)")


class Repetition(NamedTuple):
    """What ``repetition`` found: the ``column`` read (its name as given) and whether it is unique tokens
    (``kind`` "unique_tokens") or epochs ("epochs"); ``n_runs`` checked, ``n_repeated`` with epochs > 1,
    ``max_epochs`` (the largest, None when not checked); ``warning`` (an ``Issue`` coded "repeated-data", or None:
    no run repeats) and ``note`` (an ``Issue`` coded "repeated-data-unchecked" when the column holds values that are
    not positive finite numbers and the check was skipped, or when a second recognised column disagrees with the one
    read; else None)."""

    column: str
    kind: str
    n_runs: int
    n_repeated: int
    max_epochs: float | None
    warning: Issue | None = None
    note: Issue | None = None

    @property
    def epochs_label(self) -> str:
        """How epochs were read: ``D / unique_tokens`` or the epochs column's name."""
        return f"D / {self.column}" if self.kind == "unique_tokens" else self.column

    def to_dict(self) -> dict:
        """``{"column", "kind", "n_runs", "n_repeated", "max_epochs", "flagged", "note"}`` (strict JSON; the
        warning's text is among the result's warnings)."""
        return {"column": self.column, "kind": self.kind, "n_runs": self.n_runs, "n_repeated": self.n_repeated,
                "max_epochs": self.max_epochs, "flagged": self.warning is not None,
                "note": None if self.note is None else str(self.note)}


def find_columns(columns: Mapping | None):
    """``[(name, kind), ...]`` of every recognised column among ``columns``' keys, in ``RECOGNISED`` order (keys that
    spell one name alike, such as "U" and "u", in their own order; kind "unique_tokens" or "epochs")."""
    keys = list(columns or {})
    return [(k, "unique_tokens" if wanted in UNIQUE_COLUMNS else "epochs") for wanted in RECOGNISED
            for k in keys if str(k).strip().casefold() == wanted.casefold()]


def find_column(columns: Mapping | None):
    """``(name, kind)`` of the first recognised column among ``columns``' keys (``RECOGNISED`` order; kind
    "unique_tokens" or "epochs"), or None."""
    found = find_columns(columns)
    return found[0] if found else None


def check_columns(columns, n_runs: int, what: str = "columns"):
    """``columns`` itself after checking that it is None or a mapping ``{name: values}`` whose every values hold one
    value per run (``n_runs``); ``DataError`` saying what to fix otherwise."""
    if columns is None:
        return None
    check_mapping(columns, what, "{name: (n,) values} of per-run columns", DataError)
    for name, values in columns.items():
        try:
            shape = np.shape(np.asarray(values, dtype=object))
        except (TypeError, ValueError):
            shape = None
        if shape != (n_runs,):
            raise DataError(f"{what}[{name!r}] must have one value per run ({n_runs}), got "
                            f"{'a value of shape ' + str(shape) if shape is not None else type(values).__name__}")
    return columns


def design_columns(columns: Mapping):
    """The columns of ``columns`` (``{name: (n,) values}``) that the check can read (``RECOGNISED`` names, any case):
    what a reader's ``optional=RECOGNISED`` found, for ``optimal.fit(columns=)`` and ``optimal.validate``."""
    wanted = {name.casefold() for name in RECOGNISED}
    return {k: v for k, v in columns.items() if str(k).strip().casefold() in wanted}


def epochs_of(n_tokens, values, kind):
    """Epochs per run (n,): D / U for unique tokens ``values``, else ``values``; NaN where a value is not a positive
    finite number (or not a number)."""
    d = np.asarray(n_tokens, dtype=float)
    raw = np.asarray(values)
    if raw.dtype == object:  # text, True/False or ints beyond float64 among the numbers: each cell on its own
        v = np.array([np.nan if isinstance(x, (bool, np.bool_)) else number_or_nan(x) for x in raw.reshape(-1)],
                     dtype=float).reshape(d.shape)
    elif raw.dtype.kind in "biuf":  # a column of True/False is no count of tokens or epochs
        v = np.full(d.shape, np.nan) if raw.dtype == bool else raw.astype(float).reshape(d.shape)
    else:
        v = np.array([number_or_nan(x) for x in raw.reshape(-1)], dtype=float).reshape(d.shape)
    good = np.isfinite(v) & (v > 0)
    safe = np.where(good, v, 1.0)
    return np.where(good, d / safe if kind == "unique_tokens" else safe, np.nan)


def repetition(n_tokens, columns: Mapping | None, law="chinchilla", weights=None) -> Repetition | None:
    """Check whether runs repeat their data while ``law`` does not model it (module docstring).

    Args:
      n_tokens: D, training tokens per run, (n,).
      columns: ``{name: (n,) values}`` per-run columns (more may be there; ``find_column`` picks the first of
        ``RECOGNISED``: unique tokens U, or epochs).
      law: the family fitted (a name or ``Family``); one that reads a covariate "U" models repetition.
      weights: optional (n,); runs of weight 0 (not fitted) are not counted.

    Returns:
      None when the law reads U or no recognised column is there; else a ``Repetition`` whose ``warning`` says how
      many runs repeat their data and to how many epochs, what that does (``MEASURED``) and the fix, or whose
      ``note`` says the column was skipped (a value that is 0, negative, NaN or not a number) or that a second
      recognised column tells other epochs (by more than ``AGREE_RTOL``; the first is read). Never raises for
      the column's values: a law that reads U checks them itself (``optimal.fit``'s covariates).
    """
    fam = family_of(law)
    found = find_column(columns)
    if "U" in fam.covariates or found is None:
        return None
    name, kind = found
    d = np.asarray(n_tokens, dtype=float)
    keep = np.ones(d.shape, bool) if weights is None else np.asarray(weights, dtype=float) > 0
    epochs = epochs_of(d, columns[name], kind)[keep]
    bad = ~np.isfinite(epochs)
    if bad.any():
        note = Issue(f"{CODE}-unchecked", f"column {name!r} holds {int(bad.sum())} value(s) that are not positive "
                                          "finite numbers (first at run "
                                          f"{int(np.flatnonzero(keep)[np.argmax(bad)])}, 0-based): whether the runs "
                                          "repeat their data was not checked")
        return Repetition(name, kind, int(keep.sum()), 0, None, None, note)
    note = None
    for other, other_kind in find_columns(columns)[1:]:  # a second column must tell the same epochs
        again = epochs_of(d, columns[other], other_kind)[keep]
        off = np.isfinite(again) & (np.abs(again - epochs) > AGREE_RTOL * epochs)
        if off.any():
            i = int(np.argmax(off))
            shown = lambda c, k: f"D / {c}" if k == "unique_tokens" else c  # noqa: E731
            note = Issue(f"{CODE}-unchecked", f"columns {name!r} and {other!r} disagree at {int(off.sum())} run(s) "
                                              f"(first at run {int(np.flatnonzero(keep)[i])}, 0-based: epochs = "
                                              f"{shown(name, kind)} = {epochs[i]:.4g} but {shown(other, other_kind)} = "
                                              f"{again[i]:.4g}); the check read {name!r} only: correct or remove one "
                                              "of them")
            break
    repeated = epochs > 1 + REPEAT_RTOL
    top = float(np.max(epochs)) if len(epochs) else None
    if not repeated.any():
        return Repetition(name, kind, len(epochs), 0, top, None, note)
    label = "D / " + name if kind == "unique_tokens" else name
    law_name = fam.display_name or fam.name
    column = name if kind == "unique_tokens" else "<a column of unique tokens, D / epochs>"
    warning = Issue(CODE, f"{int(repeated.sum())} of {len(epochs)} runs repeat their data (epochs = {label} > 1, up "
                          f"to {top:.3g}), but the {law_name} law counts every repeated token as a new one; "
                          f"{MEASURED}. Fit a law that models repetition (--law data-constrained --covariate "
                          f"U={column}), and see whether the residuals trend with epochs (optimal validate)")
    return Repetition(name, kind, len(epochs), int(repeated.sum()), top, warning, note)
