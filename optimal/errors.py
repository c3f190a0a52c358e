"""Named exceptions and warnings.

Every error a user can cause is a ``ValueError`` subclass whose message says what to fix; the CLI prints
it as one line ``error: ...`` and exits 2.
"""


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
    """float64 was asked for while JAX runs in float32 (``jax_enable_x64`` is off)."""


class PlotError(OptimalError):
    """A figure that cannot be drawn from what was given: unknown kind, no bootstrap draws, no fit record."""


class ConvergenceWarning(UserWarning):
    """A solve or fit stopped before its convergence test passed."""


class IdentifiabilityWarning(UserWarning):
    """The data cannot pin down the fit: fits about as good as the best disagree widely on some coefficients
    (E, an exponent), an exponent sits at the edge of the search range, E is pushed to 0, or a range is narrow."""


class PlausibilityWarning(UserWarning):
    """The runs are probably in the wrong units (tokens in billions, N and D swapped, perplexity for loss)."""
