"""Named exceptions and warnings.

Every error a user can cause is a ``ValueError`` subclass whose message says what to fix; the CLI prints
it as one line ``error: ...`` and exits 2. ``check_count``, ``check_positive`` and ``check_confidence`` are the
checks of plain arguments (counts, seeds, thresholds, interval levels) that every module shares, so that each says
the same thing; ``as_real`` and ``float_array`` are the conversions to float64 that they and the entry points share
(an int beyond float64, which Python refuses with ``OverflowError``, is inf or a named error, never a bare one).
"""

import math
import numbers
import operator
from collections.abc import Mapping

import numpy as np


class OptimalError(ValueError):
    """Base class of every error raised on bad input to ``optimal``."""


class BudgetError(OptimalError):
    """A compute budget or cap that is non-positive, non-finite, or outside what the float type can hold."""


class UnknownPresetError(OptimalError):
    """A preset name that is not in ``optimal.PRESETS``."""


class CoefficientsError(OptimalError):
    """A malformed coefficients or fit-record file, or coefficients outside their valid range."""


class UnreachableLossError(OptimalError):
    """A target loss at or below the loss the law can reach (its irreducible loss, or a cap's floor)."""


class DataError(OptimalError):
    """Training-run rows that cannot be fitted: missing columns, non-numeric or non-positive values, ..."""


class PrecisionError(OptimalError):
    """A dtype that optimal does not compute in (float64 and float32 are the two it does)."""


class PlotError(OptimalError):
    """A figure that cannot be drawn from what was given: unknown kind, no bootstrap draws, no fit record."""


class OutputError(OptimalError):
    """An output file that cannot be written: a missing folder, a folder in its place, no permission."""


class PlanningError(OptimalError):
    """A training-run plan that cannot be made from what was given: a malformed transformer shape, an unknown
    precision, optimiser or accelerator, a malformed accelerator file, or an MFU, PUE, power or price out of range."""


class ConvergenceWarning(UserWarning):
    """A solve or fit stopped before its convergence test passed."""


class IdentifiabilityWarning(UserWarning):
    """The data cannot pin down the fit: fits about as good as the best disagree widely on some coefficients
    (E, an exponent), an exponent sits at the edge of the search range, E is pushed to 0, or a range is narrow."""


def check_count(value, name, minimum=0, maximum=None, error=OptimalError, source=None):
    """``value`` as an ``int`` when it is an integer (``int`` or NumPy integer, not ``bool``) in
    ``[minimum, maximum]``; otherwise ``error`` naming ``name`` and the allowed range (``source``, a file
    name say, goes in front of the message)."""
    try:  # a 0-d array has an index too, but later uses (a seed's SeedSequence) take it for a sequence
        count = None if isinstance(value, bool) or not isinstance(value, numbers.Integral) else operator.index(value)
    except TypeError:
        count = None
    if count is None or count < minimum or (maximum is not None and count > maximum):
        allowed = f">= {minimum}" if maximum is None else f"from {minimum} to {maximum}"
        message = f"{name} must be an integer {allowed}, got {value!r}"
        raise error(f"{source}: {message}" if source else message)
    return count


def as_real(value):
    """``value`` as a ``float`` when it is a real number (not a ``bool`` or a string); an int beyond float64 is inf;
    anything else NaN, which every range check refuses.

    Example:
      >>> as_real(3), as_real(10**400), as_real("3")
      (3.0, inf, nan)
    """
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        try:
            return float(value)
        except OverflowError:  # an int beyond float64
            return math.inf
    return math.nan


def float_array(value, name, error=OptimalError, what="finite numbers", source=None, invalid=False):
    """``np.asarray(value, dtype=np.float64)``, with an int beyond float64 (NumPy's ``OverflowError``) refused as
    ``error``: "{name} must be {what}, got an integer beyond float64" (``source``, a file name say, in front).

    The values themselves are not checked (NaN, inf, signs: the caller's range check). With ``invalid``, what NumPy
    cannot read as numbers (None, an object, a ragged list: its ``TypeError`` or ``ValueError``; complex numbers, whose
    imaginary part NumPy would drop) is ``error`` too,
    "{name} must be {what}, got {value}"; without, those propagate for the caller to name. ``error`` is a
    ``ValueError`` as well: a caller that catches ``ValueError`` around this call lets ``OptimalError`` through first.

    Example:
      >>> float_array([1, 2.5], "compute")
      array([1. , 2.5])
      >>> float_array([10**400], "compute", BudgetError, "finite numbers of FLOPs")
      Traceback (most recent call last):
      ...
      optimal.errors.BudgetError: compute must be finite numbers of FLOPs, got an integer beyond float64
    """
    try:
        if np.iscomplexobj(value):  # NumPy would drop the imaginary part with only a ComplexWarning
            raise TypeError("complex numbers")
        return np.asarray(value, dtype=np.float64)
    except OverflowError:  # an int beyond float64
        shown = "an integer beyond float64"
    except (TypeError, ValueError):
        if not invalid:
            raise
        shown = shown_value(value)
    message = f"{name} must be {what}, got {shown}"  # raised here, not in the handler: no chained traceback
    raise error(f"{source}: {message}" if source else message)


def shown_value(value):
    """``value``'s repr for an error message, cut to 40 characters (a long list or string ends in "...")."""
    return repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."


def _refuse(value, name, requirement, error, source):
    message = f"{name} must be {requirement}, got {shown_value(value)}"
    raise error(f"{source}: {message}" if source else message)


def check_positive(value, name, error=OptimalError, source=None):
    """``value`` as a ``float`` when it is a positive finite real number (not a ``bool`` or a string, and
    not an int beyond float64); otherwise ``error`` naming ``name``."""
    number = as_real(value)
    if not (math.isfinite(number) and number > 0):
        _refuse(value, name, "a positive finite number", error, source)
    return number


def check_mapping(value, name, example, error=OptimalError):
    """``value`` when it is None or a mapping (a ``dict``, or anything with ``keys`` and ``items``: a DataFrame
    too); otherwise ``error``: "{name} must be a mapping such as {example}, got {type}". A list or a string given
    where a mapping belongs was a bare ``ValueError`` from ``dict()``, or read key by key."""
    if value is None or isinstance(value, Mapping) or hasattr(value, "keys") and hasattr(value, "items"):
        return value
    raise error(f"{name} must be a mapping such as {example}, got {type(value).__name__}")


def check_confidence(value, name="confidence", error=OptimalError, source=None):
    """``value`` as a ``float`` when it is a real number strictly between 0 and 1 (an interval's level, e.g. 0.95;
    not a ``bool``, a string or NaN); otherwise ``error`` naming ``name``."""
    number = as_real(value)
    if not 0 < number < 1:  # False for NaN
        _refuse(value, name, "between 0 and 1 (e.g. 0.95)", error, source)
    return number


class PlausibilityWarning(UserWarning):
    """The runs are probably in the wrong units (tokens in billions, N and D swapped, perplexity for loss)."""
