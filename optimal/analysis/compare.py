"""How two fits differ, with intervals: coefficients, allocations and the compute one needs to match the other.

Both fits come with bootstrap draws. Draw r of one is set against draw r of the other. When the two bootstraps
resampled the same rows with the same seed (two settings or laws fitted to one data set), resample r is the same
multiset of rows in both, so the differences are *paired* and their interval is narrower than the two intervals
side by side suggest. For two groups of runs (different rows) the draws are independent and pairing them by
index is as good as any other pairing: the interval is that of the difference of two independent estimates.
"""

from collections.abc import Mapping

import numpy as np

from ..allocation.allocate import compute_for_loss, compute_optimal
from ..errors import OptimalError, UnreachableLossError
from ..allocation.draws import allocations, budget_array
from ..fitting.bootstrap import BootstrapResult, derived_params
from .._util.stats import interval, unbounded_interval
from .._util.precision import float64_scope
from .._util.units import DEFAULT_FLOPS_PER_PARAM_TOKEN
from .._util.results import Issue, Judged, Status


class Comparison(Mapping, Judged):
    """How B differs from A (``compare``): a read-only mapping with the keys of its JSON (``names``, ``paired``,
    ``n_draws``, ``confidence``, ``params``, ``allocation``; ``compare``'s docstring says what each holds), and
    the result protocol: ``status`` (SUCCESS: at least 2 draws converged in both, which ``compare`` requires),
    ``warnings`` (draws of B that cannot reach A's loss: "unreachable"), ``notes`` (paired or independent draws),
    ``to_dict()`` and ``summary()`` (the command line's table)."""

    def __init__(self, values: dict):
        self._values = dict(values)

    def __getitem__(self, key):
        return self._values[key]

    def __iter__(self):
        return iter(self._values)

    def __len__(self):
        return len(self._values)

    def __repr__(self):
        return f"Comparison({self._values!r})"

    @property
    def status(self) -> Status:
        return Status.SUCCESS

    @property
    def warnings(self) -> tuple:
        a, b = self["names"]
        return tuple(Issue("unreachable", f"{e['n_unreachable']} draws of {b} cannot reach {a}'s loss at C = "
                                          f"{e['compute']:.3g} at any compute (unbounded upper end)")
                     for e in self["allocation"] if e["n_unreachable"])

    @property
    def notes(self) -> tuple:
        kind = ("paired (the same rows and seed: resample r is the same rows in both)" if self["paired"] else
                "independent (different rows or seeds)")
        return (Issue("draws", f"{self['n_draws']} {kind} draws, {100 * self['confidence']:g}% intervals"),)

    def to_dict(self) -> dict:
        """The JSON: ``{names, paired, n_draws, confidence, params, allocation}`` (and ``status``)."""
        return {**self._values, "status": self.status.label}

    def summary(self) -> str:
        """The command line's text: differences of the exponents (and E), ratios of N* and the compute
        multiplier at each budget (scales A, B, N_c, D_c are left out: weakly identified)."""
        a, b = self["names"]
        pct = f"{100 * self['confidence']:g}%"
        kind = "paired" if self["paired"] else "independent"
        lines = [f"group {b} vs {a} ({self['n_draws']} {kind} draws, {pct} intervals)"]
        for name, value in self["params"].items():
            if name in ("A", "B", "N_c", "D_c"):
                continue  # scales, weakly identified: the exponents and allocations say more
            lines.append(f"  {name:>18} difference {_fmt(value['point'])}  [{_fmt(value['lo'])}, {_fmt(value['hi'])}]")
        for entry in self["allocation"]:
            c = entry["compute"]
            for key, label in (("N_ratio", "N* ratio"), ("compute_multiplier", "compute multiplier")):
                value = entry[key]
                lines.append(f"  {label:>18} at C = {c:.3g}: {_fmt(value['point'])}  "
                             f"[{_fmt(value['lo'])}, {_fmt(value['hi'])}]")
            if entry["n_unreachable"]:
                lines.append(f"  {'':>18} {entry['n_unreachable']} draws of {b} cannot reach {a}'s "
                             "loss at any compute (unbounded upper end)")
        lines.append(f"  compute multiplier: the compute {b} needs to reach the loss {a} reaches at "
                     f"C, divided by C (above 1: {b} needs more)")
        return "\n".join(lines)


def _fmt(value):
    return "unbounded" if value is None else f"{value:.4g}"


def _paired(a: BootstrapResult, b: BootstrapResult):
    """Same seed and the same rows (so resample r is the same rows in both)."""
    if a.seed != b.seed or a.groups is not None or b.groups is not None:
        return False
    return all(np.array_equal(x, y) for x, y in zip(a.fit.data, b.fit.data))


def _check(boot, name):
    if not isinstance(boot, BootstrapResult):
        raise OptimalError(f"{name} must be a BootstrapResult (optimal.bootstrap(...)), not {type(boot).__name__}")
    if boot.fit.group_labels is not None:
        raise OptimalError(f"{name} is a joint fit of several groups: compare its groups with .group(label)")


@float64_scope
def compare(a: BootstrapResult, b: BootstrapResult, budgets=(), *, flops_per_param_token=DEFAULT_FLOPS_PER_PARAM_TOKEN,
            names=("A", "B")):
    """Differences between two bootstrapped fits, B minus A (or B over A for sizes), with percentile intervals.

    Args:
      a, b: ``BootstrapResult`` s (for a joint fit of groups, ``boot.group(label)``).
      budgets: compute budgets (FLOPs) at which to compare the allocations.
      flops_per_param_token: k in C = k N D, for both.
      names: what to call A and B in the result.

    Returns a ``Comparison`` (a read-only mapping with these keys; ``to_dict()`` is the JSON):
      ``paired``: whether the draws are paired (same rows, same seed); ``n_draws``: draws converged in both;
      ``params``: for every parameter both laws have (and a = beta/(alpha+beta), b for laws with alpha and beta)
      ``{point, lo, hi, se}`` of B - A; ``allocation``: per budget, the ratios B/A of N*, D* and tokens per
      parameter, and ``compute_multiplier``: the compute B needs to reach the loss A reaches at C, divided by C
      (above 1: B needs more), each ``{point, lo, hi, se}``; ``n_unreachable`` counts draws whose B cannot reach
      A's loss at any compute (their multiplier is infinite: they stay in the interval, at its top).
    """
    _check(a, "a")
    _check(b, "b")
    if isinstance(names, str) or len(tuple(names)) != 2 or not all(isinstance(x, str) for x in names):
        raise OptimalError(f"names must be two names (A's, B's) such as ('A', 'B'), got {names!r:.60}")  # "AB" was A, B
    both = a.converged & b.converged if len(a.thetas) == len(b.thetas) else None
    if both is None:
        r = min(len(a.thetas), len(b.thetas))
        both = a.converged[:r] & b.converged[:r]
    if int(both.sum()) < 2:
        raise OptimalError(f"only {int(both.sum())} resamples converged in both fits; a comparison needs at least 2")
    draws_a, draws_b = a.thetas[: len(both)][both], b.thetas[: len(both)][both]
    confidence = min(a.confidence, b.confidence)
    pa, pb = derived_params(draws_a, a.fit.family), derived_params(draws_b, b.fit.family)
    point_a, point_b = _point_params(a), _point_params(b)
    params = {name: _with_point(interval(pb[name] - pa[name], confidence), point_b[name] - point_a[name])
              for name in pa if name in pb}
    out = {"names": list(names), "paired": _paired(a, b), "n_draws": int(both.sum()), "confidence": confidence,
           "params": params, "allocation": []}
    budgets = budget_array(budgets)
    if budgets.size == 0:
        return Comparison(out)
    alloc_a = allocations(draws_a, budgets, flops_per_param_token, family=a.fit.family)
    alloc_b = allocations(draws_b, budgets, flops_per_param_token, family=b.fit.family)
    fit_a = compute_optimal(a.fit.law, budgets, flops_per_param_token)
    fit_b = compute_optimal(b.fit.law, budgets, flops_per_param_token)
    for i, c in enumerate(budgets):
        entry = {"compute": float(c)}
        for key, field in (("N", "n_params"), ("D", "n_tokens"), ("tokens_per_param", "tokens_per_param")):
            ratio = alloc_b[key][:, i] / alloc_a[key][:, i]
            point = float(np.ravel(getattr(fit_b, field))[i] / np.ravel(getattr(fit_a, field))[i])
            entry[f"{key}_ratio"] = _with_point(interval(ratio, confidence), point)
        multipliers = np.asarray([_multiplier(b.fit.family.law_from_theta(tb), la, c, flops_per_param_token)
                                  for tb, la in zip(draws_b, alloc_a["loss"][:, i])])
        point = _multiplier(b.fit.law, float(np.ravel(fit_a.loss)[i]), c, flops_per_param_token)
        entry["compute_multiplier"] = _with_point(unbounded_interval(multipliers, confidence), point)
        entry["n_unreachable"] = int(np.sum(~np.isfinite(multipliers)))
        out["allocation"].append(entry)
    return Comparison(out)


def _point_params(boot):
    values = derived_params(np.asarray(boot.fit.theta)[None], boot.fit.family)
    return {k: float(v[0]) for k, v in values.items()}


def _with_point(found, point):
    return {"point": float(point) if np.isfinite(point) else None, **found}


def _multiplier(law_b, target_loss, compute, k):
    """Compute B needs to reach ``target_loss``, over ``compute``; inf when B cannot reach it."""
    try:
        found = compute_for_loss(law_b, float(target_loss), flops_per_param_token=k)
    except UnreachableLossError:
        return np.inf
    return float(found.compute) / float(compute)
