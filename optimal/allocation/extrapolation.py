"""How far an allocation extrapolates from the runs its law was fitted on, and when not to trust it.

A law fitted to runs up to some compute says nothing certain about budgets 100x-10,000x beyond them, and an
allocation is only as good as the law where it lands. This module measures that distance and names the answers
that should not be trusted:

* ``compute_decades``: log10(C / max_i k N_i D_i), the decades of compute the budget lies beyond the largest run
  fitted (negative: inside the runs' compute), counted with the same k as the allocation;
* ``n_decades_outside``, ``d_decades_outside``: how many decades N* and D* lie outside the fitted N and D ranges
  (0 inside [min, max]).

A law with no known range (a bare coefficients file, a law built in Python) gets ``None`` distances and one
note; a range is never invented. ``Thresholds`` holds the limits beyond which an answer is flagged; the module
constants are its defaults. NumPy only: distances are arithmetic on a few numbers.
"""

import dataclasses
import math

import numpy as np

from ..errors import OptimalError
from ..laws.presets import REGISTRY

# Tokens per parameter outside [0.1, 1e4] is outside anything a trained language model has used: an optimum
# there says the law has (almost) stopped valuing one of N and D, which is the fit's shape, not a finding.
MIN_TOKENS_PER_PARAM = 0.1
MAX_TOKENS_PER_PARAM = 1e4
# N* or D* more than one decade outside the range the law was fitted on is a guess about the law's form there.
MAX_DECADES_OUTSIDE = 1.0
# More than 5% of bootstrap draws at a cap or without an interior optimum: the interval is shaped by the cap or
# by draws whose law has no sensible optimum.
MAX_SHARE_AT_EDGE = 0.05
# Fewer than one parameter or one token is not a model: the law has no interior optimum at that budget.
MIN_COUNT = 1.0


@dataclasses.dataclass(frozen=True)
class Thresholds:
    """The limits beyond which an allocation is flagged (``optimal.recommend(..., thresholds=...)``).

    Attributes:
      min_tokens_per_param, max_tokens_per_param: the plausible range of D*/N* (default 0.1 to 1e4).
      max_decades_outside: how many decades N* or D* may lie outside the fitted ranges (default 1).
      max_share_at_edge: the share of bootstrap draws at a cap, not converged, or without an interior optimum
        above which the intervals are flagged (default 0.05).

    Example:
      >>> strict = Thresholds(max_decades_outside=0.5)
    """

    min_tokens_per_param: float = MIN_TOKENS_PER_PARAM
    max_tokens_per_param: float = MAX_TOKENS_PER_PARAM
    max_decades_outside: float = MAX_DECADES_OUTSIDE
    max_share_at_edge: float = MAX_SHARE_AT_EDGE

    def __post_init__(self):
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise OptimalError(f"threshold {field.name} must be a non-negative finite number, got {value!r}")
        if self.min_tokens_per_param >= self.max_tokens_per_param:
            raise OptimalError("min_tokens_per_param must be below max_tokens_per_param")


DEFAULT_THRESHOLDS = Thresholds()


@dataclasses.dataclass(frozen=True)
class FittedRange:
    """The runs a law was fitted on, as far as an allocation needs them.

    Attributes:
      n_min, n_max: the smallest and largest N (parameters). d_min, d_max: the same for D (tokens).
      max_param_tokens: the largest N x D of any one run, so the largest run's compute is k x max_param_tokens.
      source: where the numbers come from (a paper, a data file, "the fitted rows").
    """

    n_min: float
    n_max: float
    d_min: float
    d_max: float
    max_param_tokens: float
    source: str = ""

    def __post_init__(self):
        values = (self.n_min, self.n_max, self.d_min, self.d_max, self.max_param_tokens)
        if not all(isinstance(v, (int, float)) and math.isfinite(v) and v > 0 for v in values):
            raise OptimalError(f"a fitted range needs positive finite numbers, got {values}")
        if self.n_min > self.n_max or self.d_min > self.d_max:
            raise OptimalError("a fitted range needs n_min <= n_max and d_min <= d_max")

    @classmethod
    def from_runs(cls, n_params, n_tokens, weights=None, source="the fitted runs"):
        """The range of runs (N, D arrays); rows of zero weight were not fitted and are left out."""
        n, d = np.asarray(n_params, float), np.asarray(n_tokens, float)
        keep = np.ones(n.shape, bool) if weights is None else np.asarray(weights, float) > 0
        n, d = n[keep], d[keep]
        return cls(float(n.min()), float(n.max()), float(d.min()), float(d.max()), float(np.max(n * d)), source)

    def largest_run_compute(self, flops_per_param_token):
        """The largest run's compute in FLOPs, counted as k N D with ``flops_per_param_token`` = k."""
        return float(flops_per_param_token) * self.max_param_tokens

    def to_dict(self, flops_per_param_token=None):
        out = {"N": [self.n_min, self.n_max], "D": [self.d_min, self.d_max], "max_param_tokens": self.max_param_tokens,
               "source": self.source}
        if flops_per_param_token is not None:
            out["largest_run_compute"] = self.largest_run_compute(flops_per_param_token)
        return out


def _preset_range(record):
    """The ``FittedRange`` of a loss-law ``Preset`` (``optimal.laws.presets.REGISTRY``): its N and D ranges, and the
    largest run's N x D as its largest compute over the preset's k."""
    r = record.fitted_range
    return FittedRange(r.N[0], r.N[1], r.D[0], r.D[1], r.C[1] / record.units.k, r.source)


# The runs each published loss law was fitted on: read from the registry (one source; each preset there says where
# its numbers are printed and what was assumed, e.g. the largest Chinchilla run from Epoch AI's extraction).
PRESET_RANGES = {name: _preset_range(record) for name, record in REGISTRY.items() if record.kind == "loss"}


def decades_outside(value, lo, hi):
    """How many decades ``value`` lies outside ``[lo, hi]`` (0 inside), elementwise."""
    log_v = np.log10(np.asarray(value, float))
    return np.maximum(np.maximum(np.log10(lo) - log_v, log_v - np.log10(hi)), 0.0)


def extrapolation(fitted_range, compute, n_params, n_tokens, flops_per_param_token):
    """Extrapolation distances of allocations (arrays of one shape) from ``fitted_range`` (or None).

    Returns ``{"compute_decades", "N_decades_outside", "D_decades_outside"}``, arrays; all ``None`` when the
    range is unknown.
    """
    if fitted_range is None:
        return {"compute_decades": None, "N_decades_outside": None, "D_decades_outside": None}
    largest = fitted_range.largest_run_compute(flops_per_param_token)
    return {
        "compute_decades": np.log10(np.asarray(compute, float) / largest),
        "N_decades_outside": decades_outside(n_params, fitted_range.n_min, fitted_range.n_max),
        "D_decades_outside": decades_outside(n_tokens, fitted_range.d_min, fitted_range.d_max),
    }


def has_interior_optimum(n_params, n_tokens, converged):
    """Whether each allocation is a real optimum: the solver converged and N*, D* are at least one each."""
    n, d = np.asarray(n_params, float), np.asarray(n_tokens, float)
    return np.asarray(converged, bool) & np.isfinite(n) & np.isfinite(d) & (n >= MIN_COUNT) & (d >= MIN_COUNT)


def range_warnings(fitted_range, n_params, n_tokens, thresholds=DEFAULT_THRESHOLDS, optimum=True):
    """Warnings for N and D (arrays of one shape, or numbers) more than ``thresholds.max_decades_outside`` decades
    outside the runs of ``fitted_range`` (None: unknown, no warnings): a list of ``(i, code, message)``, at most one
    per quantity, about the value farthest outside (``i``: its index in the flattened arrays). ``optimum``: the
    values are an allocation (named N*, D*, with what to add), else runs (named N, D)."""
    if fitted_range is None:
        return []
    found = []
    for name, values, lo, hi in (("N", n_params, fitted_range.n_min, fitted_range.n_max),
                                 ("D", n_tokens, fitted_range.d_min, fitted_range.d_max)):
        values = np.ravel(np.asarray(values, float))
        outside = decades_outside(values, lo, hi)
        beyond = outside > thresholds.max_decades_outside  # False for NaN: no optimum, flagged on its own
        if not beyond.any():
            continue
        i = int(np.argmax(np.where(beyond, outside, -np.inf)))
        value, far = float(values[i]), float(outside[i])
        side, way = ("above the largest", "larger") if value > hi else ("below the smallest", "smaller")
        found.append((i, f"{name}_outside_range",
                      f"{name}{'*' if optimum else ''} = {value:.3g} lies {far:.3g} decades {side} {name} fitted "
                      f"({lo:.3g}..{hi:.3g}; threshold {thresholds.max_decades_outside:g}): the law's form is untested "
                      "there" + (f"; add runs at {way} {name} before trusting it" if optimum else "")))
    return found


def point_warnings(point, fitted_range, thresholds=DEFAULT_THRESHOLDS, caps=None):
    """Warnings for one allocation: a list of ``(code, message)``.

    ``point`` has ``N``, ``D``, ``tokens_per_param``, ``converged``, ``bound``; ``caps`` maps a bound name to its
    value.
    """
    found = []
    n, d, tpp = point["N"], point["D"], point["tokens_per_param"]
    if not has_interior_optimum(n, d, point["converged"]):
        found.append(("no_interior_optimum",
                      f"the allocation has no interior optimum (solver {'converged' if point['converged'] else 'did not converge'}, "
                      f"N* = {n:.3g}, D* = {d:.3g}): the law cannot express a sensible trade-off here; fit more runs "
                      "at larger N, fix E, or use a different law"))
    if point["bound"] is not None:
        name = {"max_tokens": "D", "max_params": "N"}[point["bound"]]
        cap = (caps or {}).get(point["bound"])
        at = f" ({name} = {cap:.3g})" if cap is not None else ""
        found.append(("at_cap",
                      f"the optimum sits at the {point['bound']} cap{at}: this is the best run the cap allows, not the "
                      f"law's optimum, which wants more {'tokens' if name == 'D' else 'parameters'}"))
    if np.isfinite(tpp) and not thresholds.min_tokens_per_param <= tpp <= thresholds.max_tokens_per_param:
        found.append(("tokens_per_param",
                      f"{tpp:.3g} tokens per parameter is outside [{thresholds.min_tokens_per_param:g}, "
                      f"{thresholds.max_tokens_per_param:g}]: the fitted law has (almost) stopped valuing "
                      f"{'data' if tpp < thresholds.min_tokens_per_param else 'parameters'}, usually because the "
                      f"{'N' if tpp < thresholds.min_tokens_per_param else 'D'} exponent is not identified; fit more "
                      "runs over a wider range of N and D, fix E, or use a different law"))
    found += [(code, message) for _, code, message in range_warnings(fitted_range, n, d, thresholds)]
    return found


def draws_warnings(counts, thresholds=DEFAULT_THRESHOLDS, point_codes=()):
    """Warnings from the bootstrap draws of one budget (``counts`` from ``allocate_draws``): a list
    of ``(code, message)``. Reasons the point itself was already flagged for (``point_codes``) are not repeated."""
    found = []
    total = counts["n_draws"]
    if not total:
        return found
    share = counts["n_at_cap"] / total
    if share > thresholds.max_share_at_edge and "at_cap" not in point_codes:
        found.append(("draws_at_cap",
                      f"{counts['n_at_cap']} of {total} bootstrap draws ({share:.0%}, threshold "
                      f"{thresholds.max_share_at_edge:.0%}) sit at a cap: the interval's edge is the cap, not the data"))
    edge = counts["n_no_interior"] / total
    if edge > thresholds.max_share_at_edge and "no_interior_optimum" not in point_codes:
        found.append(("draws_no_interior_optimum",
                      f"{counts['n_no_interior']} of {total} bootstrap draws ({edge:.0%}, threshold "
                      f"{thresholds.max_share_at_edge:.0%}) have no interior optimum (not converged or N*, D* < 1): "
                      "the data do not pin the law down here; fit more runs at larger N, fix E, or use a different law"))
    return found
