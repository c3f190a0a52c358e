"""Named exceptions and warnings.

Every error a user can cause is a ``ValueError`` subclass whose message says what to fix; the CLI prints
it as one line ``error: ...`` and exits 2. ``check_count``, ``check_positive`` and ``check_confidence`` are the
checks of plain arguments (counts, seeds, thresholds, interval levels) that every module shares, so that each says
the same thing.
"""

import math
import numbers
import operator


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


def _as_real(value):
    """``value`` as a ``float`` when it is a real number (not a ``bool`` or a string); an int beyond float64 is inf;
    anything else NaN, which every range check refuses."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        try:
            return float(value)
        except OverflowError:  # an int beyond float64
            return math.inf
    return math.nan


def _refuse(value, name, requirement, error, source):
    shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
    message = f"{name} must be {requirement}, got {shown}"
    raise error(f"{source}: {message}" if source else message)


def check_positive(value, name, error=OptimalError, source=None):
    """``value`` as a ``float`` when it is a positive finite real number (not a ``bool`` or a string, and
    not an int beyond float64); otherwise ``error`` naming ``name``."""
    number = _as_real(value)
    if not (math.isfinite(number) and number > 0):
        _refuse(value, name, "a positive finite number", error, source)
    return number


def check_confidence(value, name="confidence", error=OptimalError, source=None):
    """``value`` as a ``float`` when it is a real number strictly between 0 and 1 (an interval's level, e.g. 0.95;
    not a ``bool``, a string or NaN); otherwise ``error`` naming ``name``."""
    number = _as_real(value)
    if not 0 < number < 1:  # False for NaN
        _refuse(value, name, "between 0 and 1 (e.g. 0.95)", error, source)
    return number


class PlausibilityWarning(UserWarning):
    """The runs are probably in the wrong units (tokens in billions, N and D swapped, perplexity for loss)."""
