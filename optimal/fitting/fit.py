"""Fit a law to training runs, the way Hoffmann et al. 2022 (App. D.2) did, for any law family and constraints.

Objective: the Huber loss (delta = 1e-3) of log-loss residuals, summed over rows. One pipeline for every fit: the
problem (``optimal.fitting.problem``: the family, what is fixed, tied or shared, and the rows; the identity when
nothing is), starting points from a screen (``optimal.fitting.screen``: the family's own where it has one, such as
Chinchilla's exponent-grid variable projection) or a named start grid of the family (``Search(starts="hoffmann")``),
then a batched Newton polish of every start as a lane of one compiled program (``optimal.fitting.solver.polish``),
with the family's hand-derived derivatives where it has them. A family's capabilities make a fit faster, never
different. Its settings are three objects (``optimal.fitting.options``): ``Objective``, ``Search`` and ``Solver``.
"""

import dataclasses
import math
from typing import Any

import jax.numpy as jnp
import numpy as np

from ..data.groups import encode_groups
from ..data.repetition import CODE as REPEATED_DATA, check_columns, find_column, repetition
from ..data.runs import Runs, validate_runs
from .diagnostics import identifiability, plausibility, scaled_condition, singular_curvature
from .profile import profile
from .problem import RowData, expand, free_count, problem_evaluator, reduce, structure
from .screen import screen, search_edges
from ..errors import (CoefficientsError, DataError, ConvergenceWarning, IdentifiabilityWarning, OptimalError, PlausibilityWarning,
                     check_mapping, check_positive)
from ..laws.chinchilla import CHINCHILLA
from ..laws.coefficients import check_coefficients
from ..laws import family as family_of
from ..laws.family import Family
from .._util.precision import float64_scope, resolve_dtype
from .._util.warn import warn
from .._util.results import Issue, Judged, Status, issues
from .groups import GroupFits
from .options import MAX_ITER, Objective, Search, Solver, checked, from_config, refuse_unknown, to_config  # noqa: F401
from .solver import REASONS, Lanes, default_slots, polish_with_curvature, solver_config

AT_BEST_RTOL = 1e-6  # a start "reached the best objective" within this relative gap
PARAM_NAMES = CHINCHILLA.fitting_names  # the Chinchilla law's log_params keys


@dataclasses.dataclass(frozen=True)
class FitResult(Judged):
    """A fitted law and how the fit went.

    Attributes:
      law: the fitted law (plugs into ``compute_optimal``; covariates at the family's defaults, e.g. unlimited
        unique tokens); None for a joint fit of several groups (see ``laws``).
      theta: the fitting-space vector (P,) in the family's parameter order (Chinchilla: ``(log E, log A, log B,
        alpha, beta)``), or (G, P) for a joint fit of G groups.
      objective: the summed Huber objective at the best start.
      n_rows, n_starts, n_starts_at_best: rows fitted, starts polished, starts within 1e-6 (relative) of the best.
      converged: whether the best start met a stopping test; reason, iterations, grad_norm: how it stopped.
      starts: per-start ``Lanes`` (numpy arrays), ordered as polished.
      config: the settings that reproduce the fit (``optimal.fitting.options.to_config``: the ``Objective``,
        ``Search`` and ``Solver`` fields, xtol resolved, dtype, "reduction": "sum"; ``from_config`` reads them back).
      warnings: identifiability ("not-identified"), plausibility ("implausible") and convergence ("not-converged",
        "singular-curvature") warnings, each an ``Issue`` (text with a ``code``); a warning read from a record
        without codes has the code "fit".
      data: the fitted rows ``(N, D, loss, weights)`` as numpy arrays.
      diagnostics: identifiability at the optimum (``optimal.fitting.diagnostics.identifiability``): the near-optimal
        tolerance, how many fits fell within it, the ranges of E, alpha and beta among them, the coefficients
        not identified, and the decades N and D span.
      family: the law family (``optimal.laws.Family``); fixed: ``{name: value}`` held fixed; tied: pairs held
        equal; shared: parameters common to every group; group_labels: the groups of a joint fit, else None;
        covariates: ``{name: (n,)}`` per-run covariates the family read; free: the solver's free vector (F,)
        at the optimum and free_names its entries' names; group_ids: each row's group index (n,) in a joint fit.
    """

    law: Any
    theta: np.ndarray
    objective: float
    n_rows: int
    n_starts: int
    n_starts_at_best: int
    converged: bool
    reason: str
    iterations: int
    grad_norm: float
    starts: Lanes
    config: dict
    warnings: tuple
    data: tuple
    diagnostics: dict = dataclasses.field(default_factory=dict)
    family: Family = CHINCHILLA
    fixed: dict = dataclasses.field(default_factory=dict)
    tied: tuple = ()
    shared: tuple = ()
    group_labels: tuple | None = None
    covariates: dict = dataclasses.field(default_factory=dict)
    free: np.ndarray | None = None
    free_names: tuple = ()
    group_ids: np.ndarray | None = None

    def __post_init__(self):
        object.__setattr__(self, "warnings", issues(self.warnings, "fit"))

    @property
    def status(self) -> Status:
        """Why the best start stopped (``Status.from_label(reason)``): ``ok`` when it converged."""
        try:
            status = Status.from_label(self.reason)
        except ValueError:
            status = Status.SUCCESS if self.converged else Status.FAILED
        return status if status.ok == bool(self.converged) else (Status.SUCCESS if self.converged else Status.FAILED)

    @property
    def notes(self) -> tuple:
        """The constraints the fit was made under (fixed, tied and shared parameters), each an ``Issue``."""
        found = [Issue("fixed", f"{k} held fixed at {v:g}") for k, v in self.fixed.items()]
        found += [Issue("tied", f"{a} held equal to {b}") for a, b in self.tied]
        if self.shared:
            found.append(Issue("shared", "common to every group: " + ", ".join(self.shared)))
        if (self.diagnostics.get("repeated_data") or {}).get("note"):
            found.append(Issue("repeated-data-unchecked", self.diagnostics["repeated_data"]["note"]))
        return tuple(found)

    @property
    def params(self) -> dict:
        """``{name: value}`` natural values as floats; for a joint fit ``{group: {name: value}}``."""
        def values(theta):  # a fixed value exactly as given (exp(log v) can differ from v in the last bit)
            return {k: self.fixed.get(k, float(v)) for k, v in self.family.to_natural(np.asarray(theta)).items()}

        if self.group_labels is None:
            return values(self.theta)
        return {str(label): values(self.theta[g]) for g, label in enumerate(self.group_labels)}

    @property
    def laws(self) -> dict:
        """``{group: law}`` for a joint fit; ``{None: law}`` otherwise."""
        if self.group_labels is None:
            return {None: self.law}
        return {label: self.family.law_from_values(self.params[str(label)]) for label in self.group_labels}

    @property
    def log_params(self) -> dict:
        """The fitting-space coefficients: ``{name: value}`` by the family's ``fitting_names`` for one group
        (Chinchilla: ``{e, a, b, alpha, beta}``), else ``{"free name": value}`` for the free entries (log of
        positive parameters)."""
        if self.family.fitting_names and self.group_labels is None:
            return dict(zip(self.family.fitting_names, map(float, self.theta)))
        return {f"free {name}": float(v) for name, v in zip(self.free_names, self.free)}

    def problem(self):
        """The ``(structure, RowData)`` this fit minimised over (for refits of resamples)."""
        return build_problem(self.family, self.data, self.covariates, self.fixed, self.tied, self.shared,
                        self.group_labels, self.group_ids, np.dtype(self.config["dtype"]))

    def group(self, label):
        """One group of a joint fit as an ungrouped ``FitResult`` (its rows and its law), for allocation and plots."""
        if self.group_labels is None:
            return self
        g = list(self.group_labels).index(label)
        rows = self.group_ids == g
        return dataclasses.replace(
            self, law=self.family.law_from_values(self.params[str(label)]), theta=self.theta[g], group_labels=None, group_ids=None,
            data=tuple(np.asarray(x)[rows] for x in self.data), n_rows=int(rows.sum()),
            covariates={k: np.asarray(v)[rows] for k, v in self.covariates.items()})

    def select_group(self, group=None, bootstrap=None, *, where="this fit", error=OptimalError):
        """``(fit, bootstrap, index)`` for one group: a joint fit's group ``group`` as an ungrouped fit (and the
        draws of ``bootstrap``, a ``BootstrapResult`` of this fit, for that group), or this fit itself (index 0)
        when it is not a joint fit and ``group`` is None. The one check of a group choice: ``error`` (an
        ``OptimalError`` subclass) names the groups when ``group`` is missing or not one of them, and says so when
        a group is given for a fit of one law; ``where`` names the fit in the message (a record's path, say)."""
        if self.group_labels is None:
            if group is not None:
                raise error(f"group {group!r} given, but {where} holds one law, not a joint fit of several groups")
            return self, bootstrap, 0
        labels = [str(g) for g in self.group_labels]
        if group is None or str(group) not in labels:
            raise error(f"{where} holds a joint fit of groups {', '.join(labels)}, one law per group: name one "
                        f"(group=LABEL, or --group LABEL)" + ("" if group is None else f"; {group!r} is not one"))
        label = str(group)
        return self.group(label), None if bootstrap is None else bootstrap.group(label), labels.index(label)

    def local_minima(self, k=4, rtol=1e-3):
        """The best ``k`` distinct converged optima found (shape (<=k, 5)), best first: bootstrap warm starts."""
        lanes = self.starts
        ok = np.asarray(lanes.converged) & np.isfinite(lanes.objective)
        order = np.argsort(np.where(ok, lanes.objective, np.inf))
        chosen = []
        for i in order[: int(ok.sum())]:
            if all(np.max(np.abs(lanes.theta[i] - lanes.theta[j]) / (1 + np.abs(lanes.theta[j]))) > rtol for j in chosen):
                chosen.append(i)
            if len(chosen) == k:
                break
        return np.asarray(lanes.theta)[chosen]

    def to_dict(self) -> dict:
        """The JSON summary: params, objective, convergence, counts, config (no data)."""
        return {
            "law": self.family.name,
            "params": self.params,
            "fixed": {k: float(v) for k, v in self.fixed.items()},
            "tied": [list(pair) for pair in self.tied],
            "shared": list(self.shared),
            **({} if self.group_labels is None else {"groups": [str(g) for g in self.group_labels]}),
            "covariates": list(self.covariates),
            "log_params": self.log_params,
            "theta": np.asarray(self.theta).tolist(),
            "objective": float(self.objective),
            "converged": bool(self.converged),
            "reason": self.reason,
            "status": self.status.label,
            "iterations": int(self.iterations),
            "grad_norm": float(self.grad_norm),
            "n_rows": int(self.n_rows),
            "n_starts": int(self.n_starts),
            "n_starts_at_best": int(self.n_starts_at_best),
            "warnings": list(self.warnings),
            "warning_codes": [w.code for w in self.warnings],
            "diagnostics": self.diagnostics,
            "config": self.config,
        }

    def summary(self) -> str:
        """A table a person can read: the fit's settings and convergence, its coefficients (the family's own block
        where it has one, ``Family.coefficient_lines``, for an unconstrained fit of one group) and its warnings."""
        fam = self.family
        lines = [
            f"{fam.display_name or fam.name} fit  {fam.formula}",
            f"  rows {self.n_rows}   objective {self.objective:.10g} (sum of "
            f"{self.config['robust']}, delta={self.config['delta']:g})",
            f"  starts {self.n_starts}, {self.n_starts_at_best} reached the best objective",
            f"  best start: {'converged' if self.converged else 'NOT CONVERGED'} ({self.reason}) after "
            f"{self.iterations} iterations, |grad| {self.grad_norm:.2e}",
        ]
        if self.fixed:
            lines.append("  fixed: " + ", ".join(f"{k} = {v:g}" for k, v in self.fixed.items()))
        if self.tied:
            lines.append("  tied: " + ", ".join(f"{a} = {b}" for a, b in self.tied))
        if self.shared:
            lines.append("  shared by every group: " + ", ".join(self.shared))
        lines.append("")
        if fam.coefficient_lines is not None and self.group_labels is None and not self.fixed and not self.tied:
            lines += fam.coefficient_lines(self.params)
        else:
            blocks = self.params.items() if self.group_labels is not None else [(None, self.params)]
            for label, values in blocks:
                if label is not None:
                    lines.append(f"  group {label}")
                lines += [f"  {name:>10} {value:14.6g}" + ("   (fixed)" if name in self.fixed else "")
                          for name, value in values.items()]
                if "alpha" in values and "beta" in values and values["alpha"] + values["beta"] > 0:
                    a = values["beta"] / (values["alpha"] + values["beta"])
                    lines.append(f"  allocation exponents (Chinchilla part): N* ~ C^{a:.4f}, D* ~ C^{1 - a:.4f}")
        lines += [f"  warning: {w}" for w in self.warnings]
        lines += [f"  note: {n}" for n in self.notes if n.code == "repeated-data-unchecked"]
        return "\n".join(lines)

    def refit(self):
        """Run the fit again from the saved rows and configuration. The repeated-data design check read columns the
        result does not keep; on the same rows and law its finding is the same, so the refit carries it over
        (``diagnostics["repeated_data"]`` and its warning)."""
        groups = None if self.group_labels is None else np.asarray(self.group_labels, dtype=object)[self.group_ids]
        again = fit(*self.data, law=self.family, covariates=self.covariates or None, fix=self.fixed or None,
                    tie=self.tied, groups=groups, shared=self.shared, **from_config(self.config))
        if "repeated_data" not in self.diagnostics:
            return again
        kept = tuple(issue for issue in self.warnings if getattr(issue, "code", None) == REPEATED_DATA)
        for issue in kept:
            warn(str(issue))
        return dataclasses.replace(again, diagnostics=dict(again.diagnostics,
                                                           repeated_data=self.diagnostics["repeated_data"]),
                                   warnings=again.warnings + kept)


@float64_scope
def fit(n_params, n_tokens, loss, weights=None, *, law="chinchilla", covariates=None, fix=None, tie=(), groups=None,
        shared=(), objective=Objective(), search=Search(), solver=Solver(), dtype=None, columns=None, **unknown):
    """Fit a law to training runs.

    Args:
      n_params: N, parameters per run, shape (n,). n_tokens: D, training tokens, (n,). loss: final loss, (n,).
      weights: optional per-row weights, (n,).
      law: a family name ("chinchilla", "kaplan", "data-constrained": ``optimal.laws.FAMILIES``) or a
        ``Family`` (``optimal.laws.custom_family`` for a user's own law).
      covariates: ``{name: (n,)}`` per-run values the family reads (data-constrained: "U", unique tokens).
      fix: ``{name: value}`` parameters held at a natural value. tie: pairs ``(name, name)`` held equal.
      groups: optional (n,) labels, with ``shared`` (parameter names): one joint fit in which those are common to
        every group and the rest are per group. (Every group on its own: ``fit_groups``.)
      objective: what is minimised, an ``Objective`` (robust loss "huber" or "squared", Huber threshold ``delta``
        on log-loss residuals; default Hoffmann et al.'s Huber with delta = 1e-3).
      search: where the polish starts, a ``Search`` (``starts``: "screen", a start grid of the family such as
        Chinchilla's "hoffmann", or an array (S, F) of free vectors; ``grid_size``, ``n_polish``, ``n_samples``).
      solver: how each start is polished, a ``Solver`` (``max_iter``, ``xtol``).
      dtype: float64 (default) or float32.
      columns: ``{name: (n,)}`` other per-run columns the law does not read. One named ``unique_tokens``, ``U`` or
        ``unique`` (or ``epochs``) is checked against the design (``optimal.data.repetition``): when runs repeat their
        data and the law does not model it, a warning coded "repeated-data" and ``diagnostics["repeated_data"]``.

    Every problem takes one pipeline (``optimal.fitting.problem``, ``optimal.fitting.screen``, one solver); a family's
    capabilities (Chinchilla's hand-derived Hessian and exponent-grid screen) make it faster where they apply.

    Returns:
      A ``FitResult`` (for a joint fit, one with ``group_labels``). Warns (``ConvergenceWarning``,
      ``IdentifiabilityWarning``, ``PlausibilityWarning``) when the fit is not trustworthy.

    Example::

        >>> import optimal
        >>> runs = optimal.synthetic_runs(n_runs=60, seed=0)
        >>> result = optimal.fit(runs.n_params, runs.n_tokens, runs.loss, objective=optimal.Objective(delta=1e-2),
        ...                      search=optimal.Search(n_polish=8))
        >>> result.converged
        True
    """
    refuse_unknown("fit", unknown)
    if groups is not None and not shared:
        raise OptimalError("fit(groups=...) without shared parameters would be one fit per group: call "
                           "optimal.fit_groups(..., groups=...) for every group's own fit (a GroupFits), or give "
                           "shared=(names) for one joint fit")
    dtype = resolve_dtype(dtype)
    fam = family_of(law)
    runs = validate_runs(n_params, n_tokens, loss, weights, n_free=0)
    covariates = check_covariates(fam, covariates, len(runs.loss))
    check_columns(columns, len(runs.loss))
    fix, tie, shared = check_constraints(fam, fix, tie, shared)
    settings = (*checked(objective, search, solver), dtype)
    if groups is not None:
        labels, ids = encode_groups(groups, len(runs.loss))
        if len(labels) < 2:
            raise CoefficientsError(f"shared parameters need at least 2 groups, but groups holds one label "
                                    f"({labels[0]!r}): fit these runs without groups and shared, or give more groups")
    elif shared:
        raise CoefficientsError("shared parameters need groups: pass groups=(n,) labels, one per run")
    # enough rows for the free coefficients (after fix, tie and shared: a joint fit's every group's own)
    validate_runs(*runs[:4], n_free=free_count(fam, fix, tie, shared, None if groups is None else labels))
    if groups is None:
        result = fit_masked(fam, runs, covariates, fix, tie, [np.ones(len(runs.loss), bool)], *settings)[0]
    else:
        result = _fit_joint(fam, runs, covariates, fix, tie, shared, labels, ids, *settings)
    return design_checked(result, columns)


@float64_scope
def fit_groups(n_params, n_tokens, loss, weights=None, *, groups, law="chinchilla", covariates=None, fix=None, tie=(),
               objective=Objective(), search=Search(), solver=Solver(), dtype=None, columns=None,
               **unknown) -> GroupFits:
    """Fit every group of runs on its own: ``groups`` (n,) labels (any text; sorted), the other arguments as in
    ``fit`` (one law, constraints and settings for every group). Every group's starts are lanes of one compiled
    polish, and each group's fit equals ``fit`` of its rows alone.

    Returns a ``GroupFits``: ``{label: FitResult}`` (a read-only mapping, labels sorted) with the result protocol;
    ``bootstrap_groups`` takes it. (One joint fit with parameters common to every group: ``fit(groups=, shared=)``.)
    ``columns`` (n,) each, as in ``fit``: each group's rows checked on their own.
    """
    refuse_unknown("fit_groups", unknown)
    dtype = resolve_dtype(dtype)
    fam = family_of(law)
    runs = validate_runs(n_params, n_tokens, loss, weights, n_free=0)
    covariates = check_covariates(fam, covariates, len(runs.loss))
    check_columns(columns, len(runs.loss))
    fix, tie, _ = check_constraints(fam, fix, tie, ())
    settings = (*checked(objective, search, solver), dtype)
    if groups is None:
        raise OptimalError("fit_groups needs groups: one label per run")
    n_free = free_count(fam, fix, tie)
    labels, ids = encode_groups(groups, len(runs.loss))
    for g, label in enumerate(labels):  # every group on its own, all of them lanes of one compiled polish
        validate_runs(*(np.asarray(x)[ids == g] for x in runs[:4]), n_free=n_free, source=f"group {label}")
    fits = fit_masked(fam, runs, covariates, fix, tie, [ids == g for g in range(len(labels))], *settings)
    if columns:
        fits = [design_checked(f, {k: np.asarray(v)[ids == g] for k, v in columns.items()}) for g, f in enumerate(fits)]
    return GroupFits(zip(labels, fits))


def design_checked(result, columns):
    """``result`` with the repeated-data design check (``optimal.data.repetition``) on its rows and ``columns``
    (``{name: (n,)}``): ``diagnostics["repeated_data"]`` and, when runs repeat their data and the law does not model
    it, a warning coded "repeated-data"; ``result`` itself when there is no recognised column."""
    found = find_column(columns)
    if found is None:
        return result
    values = np.asarray(columns[found[0]], dtype=object)
    if values.shape != (result.n_rows,):
        raise DataError(f"columns[{found[0]!r}] must have one value per run ({result.n_rows}), got shape "
                        f"{values.shape}")
    checked_ = repetition(result.data[1], columns, result.family, result.data[3])
    if checked_ is None:
        return result
    diagnostics = dict(result.diagnostics, repeated_data=checked_.to_dict())
    extra = ()
    if checked_.warning is not None:
        warn(str(checked_.warning))
        extra = (checked_.warning,)
    return dataclasses.replace(result, diagnostics=diagnostics, warnings=result.warnings + extra)


def check_covariates(fam, covariates, n_rows):
    """``{name: (n,) float64}`` for the family's covariates; ``DataError`` for an unknown, missing or bad one."""
    covariates = dict(check_mapping(covariates, "covariates", "{'U': (n,) unique tokens}", DataError) or {})
    unknown = [k for k in covariates if k not in fam.covariates]
    if unknown:
        raise DataError(f"the {fam.name} law reads no covariate {', '.join(map(repr, unknown))}"
                        + (f"; it reads {', '.join(fam.covariates)}" if fam.covariates else "; it reads none"))
    missing = [k for k in fam.covariates if k not in covariates]
    if missing:
        raise DataError(f"the {fam.name} law needs the per-run covariate {', '.join(missing)} "
                        "(e.g. --covariate U=unique_tokens)")
    out = {}
    for name, values in covariates.items():
        try:
            values = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError):
            raise DataError(f"covariate {name} must be numbers") from None
        if values.shape != (n_rows,):
            raise DataError(f"covariate {name} must have one value per row ({n_rows}), got shape {values.shape}")
        bad = ~np.isfinite(values) | (values <= 0)
        if bad.any():
            raise DataError(f"covariate {name} must be positive and finite; index {int(np.argmax(bad))} (0-based) "
                            f"has {values[np.argmax(bad)]!r}")
        out[name] = values
    return out


_FIX_TINY = float(np.finfo(np.float64).tiny)  # the smallest normal float64, 2.2e-308: fixed values stay normal, and
# so do their reciprocals
_FLOAT_MAX = float(np.finfo(np.float64).max)


def _check_fixed_domain(fam, fix, label):
    """Each fixed value against the family's own domain, with every other parameter in the middle of its start box:
    its ``positive`` and ``bounds`` (``Family.to_fitting``) and the law's coefficient ranges (``check_coefficients``:
    an exponent must be positive). Exponents are fitted as they are, so fixed alpha = -1 came back a converged fit
    with A = 5.6e-27 before this check (the command line had it alone)."""
    if not set(fam.params) <= set(fam.start_box):
        return
    middle = {p: math.sqrt(lo * hi) if min(lo, hi) > 0 else (lo + hi) / 2 for p, (lo, hi) in fam.start_box.items()}
    for key, value in fix.items():
        point = {**middle, key: value}
        try:
            fam.to_fitting(point)
            check_coefficients(fam.law(point, dict(fam.covariate_defaults)))
        except OptimalError as exc:
            raise CoefficientsError(f"{label} {key}={value:g}: outside the {fam.display_name or fam.name} law's "
                                    f"domain ({exc})") from None


def check_constraints(fam, fix, tie, shared, label="fixed"):
    """``(fix, tie, shared)`` checked against the family's names and each fixed value against the law's domain:
    ``CoefficientsError`` names a bad one (a fixed value as ``{label} name=value``: the command line's "--fix")."""
    fix = dict(check_mapping(fix, "fix", "{'E': 1.7}", CoefficientsError) or {})
    for name, value in fix.items():
        fam.index(name)
        if fam.transform(name) == "log":
            check_positive(value, f"fixed {name}", CoefficientsError)
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not abs(value) <= _FLOAT_MAX:
            raise CoefficientsError(f"fixed {name} must be a finite number, not {value!r:.40}")  # NaN, inf, 10**400
        if value and not _FIX_TINY <= abs(float(value)) <= 1 / _FIX_TINY:
            raise CoefficientsError(f"fixed {name} = {float(value):g} is outside {_FIX_TINY:.3g} .. {1 / _FIX_TINY:.3g} "
                                    "in magnitude: float64 cannot compute with it and its reciprocal (a subnormal value "
                                    "underflows, its reciprocal overflows); give a value inside that range")
        fix[name] = float(value)
    _check_fixed_domain(fam, fix, label)
    if isinstance(tie, str) or any(isinstance(pair, str) for pair in (tie or ())):  # each name read as letters
        raise CoefficientsError(f"tie must be pairs of parameter names such as [('alpha', 'beta')], got {tie!r:.60}")
    tie = tuple(tuple(pair) for pair in (tie or ()))
    for pair in tie:
        if len(pair) != 2 or pair[0] == pair[1]:
            raise CoefficientsError(f"a tie names two different parameters, not {pair!r}")
        fam.index(pair[0]), fam.index(pair[1])
    shared = tuple(shared or ())
    for name in shared:
        fam.index(name)
    return fix, tie, shared


def build_problem(fam, data, covariates, fix, tie, shared, labels, ids, dtype):
    """``(Structure, RowData)`` for a problem (see ``optimal.fitting.problem``)."""
    n, d, loss_values, _ = data
    struct = structure(fam, fix, tie, shared, labels)
    rows = RowData(*(jnp.asarray(np.log(x), dtype) for x in (n, d, loss_values)),
                   {k: jnp.asarray(v, dtype) for k, v in covariates.items()},
                   None if ids is None else jnp.asarray(ids, jnp.int32),
                   jnp.asarray(struct.select), jnp.asarray(struct.base, dtype))
    return struct, rows


def _explicit_starts(starts, width):
    """The ``Search.starts`` array (S, F), checked against the problem's free vector width F."""
    theta0 = np.asarray(starts, dtype=np.float64)
    if theta0.shape[1] != width:
        raise CoefficientsError(f"Search.starts must be a finite array of shape (S, {width}) for this problem, got "
                                f"shape {theta0.shape}")
    return theta0


def _fit_joint(fam, runs, covariates, fix, tie, shared, labels, ids, objective, search, solver, dtype):
    """One joint fit of several groups with ``shared`` parameters (the generic path)."""
    config = to_config(objective, search, solver, dtype)
    struct, rows = build_problem(fam, runs[:4], covariates, fix, tie, shared, labels, ids, dtype)
    w = jnp.asarray(runs.weights, dtype)
    starts = search.starts
    if isinstance(starts, str) and starts == "screen":
        z0 = _joint_starts(fam, runs, covariates, fix, tie, labels, ids, struct, objective, search, solver, dtype)
    elif isinstance(starts, str):
        raise CoefficientsError(f"Search.starts must be 'screen' or an array of shape (S, {len(struct.names)}) for a "
                                f"joint fit, not {starts!r}")
    else:
        z0 = _explicit_starts(starts, len(struct.names))
    program = solver_config(objective, solver, problem_evaluator(fam, struct), dtype)
    lanes, hessians = polish_with_curvature(jnp.asarray(z0, dtype), rows, w, program)
    lanes = Lanes(*(np.asarray(x) for x in lanes))
    values = np.where(np.isfinite(lanes.objective), lanes.objective, np.inf)
    best = _best(lanes, values, "the runs' units and ranges")
    z = lanes.theta[best].astype(np.float64)
    theta = np.asarray(expand(z, struct.select, struct.base), np.float64)
    prof = profile(fam, struct, z, values[best], rows, w, objective, solver, dtype, float(np.min(runs.loss)),
                   lanes.theta, np.where(lanes.converged, values, np.inf), lanes_like=(len(z0), None))
    diagnostics, found = identifiability(fam, struct, z, prof, runs[:3], runs.weights,
                                         search_edges(fam, struct, search.grid_size))
    hessian = np.asarray(hessians[best])  # the curvature the polish evaluated at the result
    return _finish(lanes, best, theta, found, diagnostics, hessian, runs, config, fam, law=None, fixed=fix, tied=tie,
                   shared=shared, group_labels=labels, covariates=covariates, free=z, free_names=struct.names,
                   group_ids=ids)


def _best(lanes, values, check):
    """The best lane; ``OptimalError`` when every lane ended non-finite."""
    best = int(np.argmin(values))
    if not (np.isfinite(values[best]) and np.all(np.isfinite(lanes.theta[best]))):
        raise OptimalError(f"the fit produced no finite coefficients: all {len(values)} starts ended non-finite; "
                           f"check {check}")
    return best


def fit_masked(fam, runs, covariates, fix, tie, masks, objective, search, solver, dtype, deltas=None):
    """Fit each row subset of ``masks`` ((n,) bool each) on its own, every subset's starts lanes of one compiled
    polish (a lane weights only its subset's rows), so G groups cost one program, compiled once whatever their
    sizes. ``objective``, ``search``, ``solver``: the fits' settings; ``deltas``: each mask's own Huber threshold
    (None: ``objective.delta`` for all); the threshold is a traced per-lane value, so fits at several thresholds are
    lanes of the same solve too. Returns a list of ``FitResult``, one per mask."""
    objectives = ([objective] * len(masks) if deltas is None
                  else [dataclasses.replace(objective, delta=d) for d in deltas])
    weights = np.asarray(runs.weights, np.float64)
    struct, data = build_problem(fam, runs[:4], covariates, fix, tie, (), None, None, dtype)
    program = solver_config(objectives[0], solver, problem_evaluator(fam, struct), dtype)
    planned = []
    for mask, own in zip(masks, objectives):
        w = jnp.asarray(weights * mask, dtype)
        z0, candidates, candidate_values = _starts(fam, struct, data, w, own, search)
        planned.append((mask, own, w, np.asarray(z0, np.float64), candidates, candidate_values))
    theta0 = jnp.asarray(np.vstack([z0 for _, _, _, z0, _, _ in planned]), dtype)
    lane_weights = jnp.asarray(np.concatenate([np.broadcast_to(weights * mask, (len(z0), len(weights)))
                                               for mask, _, _, z0, _, _ in planned]), dtype)
    lane_delta = jnp.asarray(np.concatenate([np.full(len(z0), own.delta) for _, own, _, z0, _, _ in planned]), dtype)
    # several thresholds: at most one threshold's share of the lanes in flight, the rest queue for a free slot, so
    # the slow small-delta lanes (near-L1, up to max_iter iterations) do not widen every iteration of the fast
    # ones (3 x 3 sweep, 85 rows, 2 CPUs: warm 0.13 s with all 144 lanes in flight, 0.07 s with 48)
    distinct = len({own.delta for own in objectives})
    slots = None if distinct == 1 else min(default_slots(len(weights)), -(-theta0.shape[0] // distinct))
    every, hessians = polish_with_curvature(theta0, data, lane_weights, program, delta=lane_delta, slots=slots)
    every, hessians = Lanes(*(np.asarray(x) for x in every)), np.asarray(hessians)
    edges = search_edges(fam, struct, search.grid_size)
    results, offset = [], 0
    for mask, own, w, z0, candidates, candidate_values in planned:
        config = to_config(own, search, solver, dtype)
        lanes = Lanes(*(x[offset:offset + len(z0)] for x in every))
        curvatures = hessians[offset:offset + len(z0)]  # each lane's, at its result
        offset += len(z0)
        values = np.where(np.isfinite(lanes.objective), lanes.objective, np.inf)
        best = _best(lanes, values, "the units and range of N, D, the loss and any covariates")
        z = lanes.theta[best].astype(np.float64)
        part = Runs(*(np.asarray(x)[mask] for x in runs[:4]), None)
        theta = np.asarray(expand(z, struct.select, struct.base), np.float64)[0]
        pool = [lanes.theta, np.where(lanes.converged, values, np.inf)]
        if candidates is not None:
            pool = [np.vstack([pool[0], candidates]), np.concatenate([pool[1], candidate_values])]
        prof = profile(fam, struct, z, values[best], data, w, own, solver, dtype, float(np.min(part.loss)), *pool,
                       lanes_like=(theta0.shape[0], slots))
        diagnostics, found = identifiability(fam, struct, z, prof, part[:3], part.weights, edges)
        hessian = curvatures[best]
        law = fam.law_from_values({**{k: float(v) for k, v in fam.to_natural(theta).items()}, **fix})
        results.append(_finish(lanes, best, theta, found, diagnostics, hessian, part, config, fam, law=law, fixed=fix,
                               tied=tie, covariates={k: v[mask] for k, v in covariates.items()}, free=z,
                               free_names=struct.names))
    return results


def _starts(fam, struct, data, weights, objective, search):
    """Starting free vectors (S, F) for one fit, and the screened candidates with their objectives (None, None
    without a screen): ``search.starts`` is "screen", the name of one of the family's start grids (its points with
    the fixed and tied values imposed), or an array (S, F)."""
    starts = search.starts
    if isinstance(starts, str) and starts == "screen":
        return screen(fam, struct, data, weights, search.n_polish, objective.delta, objective.robust,
                      search.n_samples, search.grid_size)
    if isinstance(starts, str) and starts in fam.start_grids:
        grid = np.asarray(fam.start_grids[starts](), np.float64)
        return reduce(grid[:, None], struct.select), None, None
    if isinstance(starts, str):
        grids = ", ".join(f"'{name}'" for name in fam.start_grids) or "it has none"
        raise CoefficientsError(f"Search.starts must be 'screen', one of the {fam.name} law's start grids ({grids}), "
                                f"or an array of shape (S, {len(struct.names)}), not {starts!r}")
    return _explicit_starts(starts, len(struct.names)), None, None


def _joint_starts(fam, runs, covariates, fix, tie, labels, ids, struct, objective, search, solver, dtype):
    """Starts for a joint fit: every group fitted on its own, then one start per group that takes the shared
    parameters from that group (the per-group ones from their own fits)."""
    solo = fit_groups(*runs[:4], law=fam, covariates=covariates or None, fix=fix, tie=tie,
                      groups=np.asarray(labels, dtype=object)[ids], objective=objective,
                      search=dataclasses.replace(search, starts="screen"), solver=solver, dtype=dtype)
    thetas = np.stack([np.atleast_2d(solo[label].theta)[0] for label in labels])  # (G, P)
    starts = []
    for g in range(len(labels)):
        order = [g] + [h for h in range(len(labels)) if h != g]  # reduce() reads the first group for shared ones
        z = reduce(thetas[order][None], struct.select[order])[0]
        starts.append(z)
    return np.asarray(starts)


def _finish(lanes, best, theta, found, diagnostics, hessian, runs, config, fam, law, **fields):
    """Warnings, convergence verdict and the ``FitResult`` (shared by both paths)."""
    for message in found:
        warn(message, IdentifiabilityWarning)
    implausible = plausibility(runs.n_params, runs.n_tokens, runs.loss)
    for message in implausible:
        warn(message, PlausibilityWarning)
    found = list(issues(found, "not-identified")) + list(issues(implausible, "implausible"))
    values = np.where(np.isfinite(lanes.objective), lanes.objective, np.inf)
    converged, reason = bool(lanes.converged[best]), REASONS[int(lanes.reason[best])]
    diagnostics["hessian_condition"] = scaled_condition(hessian)
    singular = singular_curvature(diagnostics["hessian_condition"])
    if not converged or singular:
        message = singular or f"the best start did not converge ({reason} after {int(lanes.iterations[best])} iterations)"
        converged, reason = False, "singular curvature" if singular else reason
        found.append(Issue("singular-curvature" if singular else "not-converged", message))
        warn(message, ConvergenceWarning)
    return FitResult(
        law=law, theta=theta, objective=float(values[best]), n_rows=len(runs.loss), n_starts=len(lanes.objective),
        n_starts_at_best=int(np.sum(values <= values[best] * (1 + AT_BEST_RTOL))), converged=converged,
        reason=reason, iterations=int(lanes.iterations[best]),
        grad_norm=float(lanes.grad_norm[best]), starts=lanes, config=config, warnings=tuple(found),
        data=(runs.n_params, runs.n_tokens, runs.loss, runs.weights), diagnostics=diagnostics, family=fam, **fields)
