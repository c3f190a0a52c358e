"""Sensitivity of a fit to its settings: the Huber threshold, which small runs to leave out, which law.

The published re-analyses of Chinchilla (Besiroglu et al. 2024; Porian et al. 2024) asked how far the answer
moves when delta changes or the smallest models are left out. ``sweep`` fits the cross product of such
settings. Leaving runs out is a row mask and the Huber threshold delta is a traced per-lane value of the solver,
so every (delta, drop) setting of one law is a lane of ONE compiled solve (``fit``'s masked path), compiled once
whatever the deltas. Different laws have different parameter vectors and objectives, so each law is its own
program (and its own solve).
"""

from collections.abc import Sequence

import numpy as np

from ..errors import OptimalError, check_count
from ..data.runs import validate_runs
from ..laws import family as family_of
from .fit import check_constraints, check_covariates, fit_masked
from .options import Objective, Search, Solver, checked, refuse_unknown
from .problem import free_count
from .groups import combined_status, labelled
from .._util.precision import float64_scope, resolve_dtype
from .._util.results import Judged

SETTINGS = ("law", "delta", "drop_smallest")


def setting_label(setting, keys=None):
    """``"law=kaplan, delta=0.001"``: a setting's values (``keys``: only those, and always the group)."""
    return ", ".join(f"{key}={value:g}" if isinstance(value, float) else f"{key}={value}"
                     for key, value in setting.items() if keys is None or key == "group" or key in keys)


class Sweep(Sequence, Judged):
    """Every setting's fit (``sweep``): a read-only sequence of ``(setting, FitResult)`` pairs in the sweep's order
    (``for setting, result in found`` works as before), with the result protocol: ``status`` (SUCCESS when every
    fit converged, PARTIAL when some did, FAILED when none), ``warnings`` and ``notes`` (every fit's, prefixed
    with its setting), ``to_dict()`` and ``summary()``."""

    def __init__(self, pairs):
        self._pairs = tuple((dict(setting), result) for setting, result in pairs)

    def __getitem__(self, index):
        return self._pairs[index]

    def __len__(self):
        return len(self._pairs)

    def __repr__(self):
        return f"Sweep({len(self._pairs)} settings)"

    def items(self) -> tuple:
        """The ``(setting, FitResult)`` pairs."""
        return self._pairs

    @property
    def settings(self) -> tuple:
        return tuple(setting for setting, _ in self._pairs)

    @property
    def fits(self) -> tuple:
        return tuple(result for _, result in self._pairs)

    @property
    def status(self):
        return combined_status(result.status for _, result in self._pairs)

    @property
    def warnings(self) -> tuple:
        return labelled(((setting_label(s), r) for s, r in self._pairs), "warnings")

    @property
    def notes(self) -> tuple:
        return labelled(((setting_label(s), r) for s, r in self._pairs), "notes")

    def to_dict(self) -> dict:
        """``{"status", "fits": [{"setting": {...}, ...that fit's to_dict()}]}`` (the command line's ``fit --sweep
        --json`` prints the list)."""
        return {"status": self.status.label,
                "fits": [{"setting": setting, **result.to_dict()} for setting, result in self._pairs]}

    def summary(self) -> str:
        """One line per setting: rows fitted, objective and the exponents (``fit --sweep`` without --bootstrap and
        --budgets prints the same lines, with only the swept settings in each label)."""
        lines = [f"sweep: {len(self._pairs)} settings"]
        for setting, result in self._pairs:
            lines.append("  " + "; ".join(fit_cells(setting_label(setting), result)))
        return "\n".join(lines)


def fit_cells(label, result, intervals=None, cell=None):
    """The cells of one sweep line: ``label``, rows, objective, the exponents (and E), the allocation exponent;
    ``intervals`` (a bootstrap's ``params()``) and ``cell(point, interval)`` add bootstrap intervals."""
    intervals = intervals or {}
    cell = cell or (lambda point, _: f"{point:.4g}")
    params = result.params
    parts = [f"{label or 'fit'}: {result.n_rows} rows, objective {result.objective:.6g}"
             + ("" if result.converged else " (NOT CONVERGED)")]
    for name in [p for p in ("alpha", "beta", "alpha_N", "alpha_D", "E") if p in params]:
        parts.append(f"{name} {cell(params[name], intervals.get(name))}")
    if "a" in intervals or ("alpha" in params and "beta" in params):
        a = params["beta"] / (params["alpha"] + params["beta"])
        parts.append(f"N* ~ C^{cell(a, intervals.get('a'))}")
    return parts


def smallest_dropped(n_params, k, within=None):
    """Row mask (n,) keeping every run (of the rows ``within``, a bool mask; default all) except those of the ``k``
    smallest distinct model sizes N among them."""
    n_params = np.asarray(n_params, dtype=np.float64)
    within = np.ones(len(n_params), bool) if within is None else np.asarray(within, bool)
    sizes = np.unique(n_params[within])
    if k >= len(sizes):
        raise OptimalError(f"drop_smallest = {k} would leave out every one of the {len(sizes)} model sizes")
    return within & (n_params > sizes[k - 1]) if k else within


@float64_scope
def sweep(n_params, n_tokens, loss, weights=None, *, law=("chinchilla",), delta=None, drop_smallest=(0,),
          groups=None, covariates=None, fix=None, tie=(), objective=Objective(), search=Search(), solver=Solver(),
          dtype=None, **unknown):
    """Fit every combination of the settings: ``law`` names (or families), Huber ``delta`` values, and
    ``drop_smallest`` counts (leave out the runs of that many of the smallest model sizes), for the whole data or,
    with ``groups`` ((n,) labels), for every group's rows on its own (its smallest sizes are its own).

    ``delta``: the Huber thresholds swept (default: ``objective.delta`` alone); every fit minimises ``objective``
    with its setting's delta. ``search``, ``solver``, ``covariates``, ``fix``, ``tie``, ``dtype``: as in ``fit``, for
    every fit.

    Returns a ``Sweep``: the ``(setting, FitResult)`` pairs in the order of ``itertools.product(law, group, delta, drop_smallest)``
    (groups in sorted label order), each ``setting`` a dict ``{law, delta, drop_smallest}`` (and ``group``). Every fit's warnings are its own, and each equals the
    ``fit`` of its rows at its delta (to rounding: the rows left out weigh 0 but still enter the sums' order).
    All the settings of one law, every group's included, are lanes of one compiled solve; each law is a separate one.

    Example::

        found = sweep(n, d, loss, delta=(1e-4, 1e-3, 1e-2), drop_smallest=(0, 1, 2))  # 9 fits, one program
        found = sweep(n, d, loss, delta=(1e-3, 1e-2), objective=Objective(robust="huber"), search=Search(n_polish=8))
    """
    refuse_unknown("sweep", unknown)
    objective, search, solver = checked(objective, search, solver)
    if delta is None:
        delta = (objective.delta,)
    dtype = resolve_dtype(dtype)
    runs = validate_runs(n_params, n_tokens, loss, weights, n_free=0)
    laws, deltas, drops = (tuple(np.atleast_1d(x).tolist()) if not isinstance(x, (list, tuple)) else tuple(x)
                           for x in (law, delta, drop_smallest))
    for value, name in ((laws, "law"), (deltas, "delta"), (drops, "drop_smallest")):
        if not value:
            raise OptimalError(f"sweep: {name} needs at least one value")
    for k in drops:
        check_count(k, "drop_smallest", 0)
    if groups is None:
        parts = [(None, None)]
    else:
        labels = np.asarray(groups).astype(str)
        if labels.shape != (len(runs.loss),):
            raise OptimalError(f"sweep: groups needs one label per run ({len(runs.loss)}), got shape {labels.shape}")
        parts = [(label, labels == label) for label in sorted(set(labels.tolist()))]
    masked = [(label, k, smallest_dropped(runs.n_params, int(k), within)) for label, within in parts for k in drops]
    deltas = tuple(Objective(objective.robust, d).delta for d in deltas)  # each checked as Objective checks it
    # every (group, delta, drop) of one law: one solve
    settings = [(label, d, k, mask) for label, within in parts for d in deltas
                for (same, k, mask) in masked if same == label]
    out = []
    for name in laws:
        fam = family_of(name)
        cov = check_covariates(fam, covariates, len(runs.loss))
        fixed, tied, _ = check_constraints(fam, fix, tie, ())
        n_free = free_count(fam, fixed, tied)
        for label, k, mask in masked:
            where = f"drop_smallest={k}" + ("" if label is None else f" in group {label!r}")
            validate_runs(*(np.asarray(x)[mask] for x in runs[:4]), n_free=n_free, source=where)
        fits = fit_masked(fam, runs, cov, fixed, tied, [mask for *_, mask in settings], objective, search, solver,
                          dtype, deltas=[d for _, d, _, _ in settings])
        out += [({"law": fam.name, **({} if label is None else {"group": label}), "delta": float(d),
                  "drop_smallest": int(k)}, result)
                for (label, d, k, _), result in zip(settings, fits)]
    return Sweep(out)
