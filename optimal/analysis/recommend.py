"""What to train at a budget (or to reach a loss): one answer, with its uncertainty and how far it extrapolates.

``recommend`` is the one place that turns a law and its provenance into an answer: the point allocation, the
bootstrap intervals computed with the same k and caps as the point, the share of draws at a cap or without an
interior optimum, the extrapolation distances from the fitted runs (``optimal.allocation.extrapolation``) and the
warnings. The command line prints from it, so ``solve`` and ``fit --budgets`` cannot disagree.
"""

import dataclasses
import os

import numpy as np

from ..allocation.allocate import Allocation, compute_for_loss, compute_for_loss_draws, compute_optimal
from ..allocation.draws import allocate_draws
from ..fitting.bootstrap import BootstrapResult
from .._util.stats import interval, unbounded_interval
from ..errors import OptimalError
from ..allocation.extrapolation import (
    DEFAULT_THRESHOLDS,
    PRESET_RANGES,
    FittedRange,
    Thresholds,
    draws_warnings,
    extrapolation,
    has_interior_optimum,
    point_warnings,
)
from ..fitting.fit import FitResult
from ..io.records import load_record
from ..laws import PRESETS, as_law, preset
from ..laws.presets import preset_name
from .._util.precision import float64_scope
from .._util.units import DEFAULT_FLOPS_PER_PARAM_TOKEN
from .._util.results import Issue, Status, issues
from .._util.text import format_table

_QUANTITIES = ("N", "D", "tokens_per_param", "loss")


class AnswerIssue(Issue):
    """A warning of a ``Recommendation``: an ``Issue`` (code and message) with the ``budget`` (FLOPs) and
    ``target_loss`` it concerns (None for the source as a whole). ``w["code"]``, ``w["budget"]`` and
    ``w.get("target_loss")`` read it as the dict it used to be; ``to_dict()`` is that dict."""

    def __new__(cls, code, message, budget=None, target_loss=None):
        issue = super().__new__(cls, code, message)
        issue.budget, issue.target_loss = budget, target_loss
        return issue

    def to_dict(self) -> dict:
        return {"budget": self.budget, "target_loss": self.target_loss, "code": self.code, "message": self.message}

    def __getitem__(self, key):
        return self.to_dict()[key] if isinstance(key, str) else super().__getitem__(key)

    def get(self, key, default=None):
        return self.to_dict().get(key, default)

    def __reduce__(self):
        return AnswerIssue, (self.code, self.message, self.budget, self.target_loss)


@dataclasses.dataclass(frozen=True)
class Recommendation:
    """The answer for every budget (or target loss), with its provenance.

    Attributes:
      records: one dict per budget: ``compute``, ``N``, ``D``, ``tokens_per_param``, ``loss``, ``converged`` (the
        allocation solver), ``bound`` (the binding cap or None), ``fit_converged`` (None without a fit),
        ``extrapolation`` (``compute_decades``, ``N_decades_outside``, ``D_decades_outside``; None entries when
        the fitted range is unknown), and with bootstrap draws ``intervals`` (``{lo, hi, se}`` per quantity)
        and ``draws`` (counts). For a target loss, ``target_loss`` too, and ``compute`` among the intervals.
      point: the point allocations as an ``Allocation`` (arrays).
      warnings: ``AnswerIssue`` s (code, message, ``budget``, ``target_loss``; budget None for the source as a
        whole); given as ``{"budget", "target_loss", "code", "message"}`` dicts they are converted.
      notes: plain information (where k and the range came from, what is unknown), ``Issue`` s (code "context").
      flops_per_param_token: the k used; flops_per_param_token_from: "argument", "fit record" or "default".
      fitted_range: the ``FittedRange`` of the law's runs, or None when unknown.
      source: what the law is, in words. confidence: the interval level (None without draws).
      max_tokens, max_params: the caps applied to the point and to every draw.
    """

    records: list
    point: Allocation
    warnings: list
    notes: list
    flops_per_param_token: float
    flops_per_param_token_from: str
    fitted_range: FittedRange | None
    source: str
    confidence: float | None = None
    n_resamples: int | None = None
    n_failed: int | None = None
    max_tokens: float | None = None
    max_params: float | None = None

    def __post_init__(self):
        found = tuple(w if isinstance(w, AnswerIssue) else AnswerIssue(w["code"], w["message"], w.get("budget"),
                                                                       w.get("target_loss")) for w in self.warnings)
        object.__setattr__(self, "warnings", found)
        object.__setattr__(self, "notes", issues(self.notes, "context"))

    @property
    def status(self) -> Status:
        """FAILED when the fit did not converge (every allocation inherits that) or no allocation converged;
        PARTIAL when some allocations did not converge; else SUCCESS."""
        converged = [bool(r["converged"]) for r in self.records]
        if any(w.code == "fit_not_converged" for w in self.warnings) or not any(converged):
            return Status.FAILED
        return Status.SUCCESS if all(converged) else Status.PARTIAL

    @property
    def ok(self) -> bool:
        return self.status.ok

    def summary(self) -> str:
        """The text ``optimal solve`` prints: the source, the notes, the point allocations with their
        extrapolation distances, and with draws the bootstrap intervals (the warnings go to stderr)."""
        lines = [f"law: {self.source}", *(f"  {note}" for note in self.notes), _allocation_table(self.records)]
        if self.confidence is not None:
            lines += ["", _recommendation_intervals(self)]
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """Plain JSON-ready data (the CLI's ``--json``)."""
        return {
            "source": self.source,
            "flops_per_param_token": self.flops_per_param_token,
            "flops_per_param_token_from": self.flops_per_param_token_from,
            "max_tokens": self.max_tokens,
            "max_params": self.max_params,
            "fitted_range": None if self.fitted_range is None else self.fitted_range.to_dict(self.flops_per_param_token),
            "bootstrap": None if self.confidence is None else {"confidence": self.confidence, "n_resamples": self.n_resamples,
                                                               "n_failed": self.n_failed},
            "allocations": self.records,
            "warnings": [w.to_dict() for w in self.warnings],
            "notes": list(self.notes),
            "status": self.status.label,
        }


def _decades(value, signed=False):
    if value is None:
        return "n/a"
    return f"{value:+.2f}" if signed else f"{value:.2f}"


def _converged_text(record):
    words = ["yes" if record["converged"] else "NO"]
    if record.get("fit_converged") is False:
        words.append("fit NO")
    return ", ".join(words)


def _allocation_table(records):
    """The point answers with their extrapolation distances (decades), one row per budget."""
    by_loss = bool(records) and "target_loss" in records[0]
    headers = (["target loss"] if by_loss else []) + [
        "compute (FLOPs)", "N* (params)", "D* (tokens)", "tokens/param", "loss", "bound", "converged",
        "C vs runs (dec)", "N* out (dec)", "D* out (dec)"]
    rows = []
    for r in records:
        far = r["extrapolation"]
        rows.append((([f"{r['target_loss']:.5g}"] if by_loss else []) + [
            f"{r['compute']:.4g}", f"{r['N']:.4g}", f"{r['D']:.4g}", f"{r['tokens_per_param']:.3g}", f"{r['loss']:.5f}",
            r["bound"] or "-", _converged_text(r), _decades(far["compute_decades"], signed=True),
            _decades(far["N_decades_outside"]), _decades(far["D_decades_outside"])]))
    return format_table(headers, rows)


def _bound_text(key, value):
    if value is None:  # a bound set by draws that cannot reach the target: no value for tokens per parameter
        return "n/a" if key == "tokens_per_param" else "unbounded"
    return f"{value:.4g}"


def _recommendation_intervals(answer):
    """Per budget and quantity, the bootstrap interval, from draws allocated with the point's k and caps."""
    rows, counts = [], []
    for r in answer.records:
        for key, v in r["intervals"].items():
            se = "n/a" if v["se"] is None else f"{v['se']:.3g}"
            rows.append([f"{r['compute']:.4g}", key, _bound_text(key, v["lo"]), _bound_text(key, v["hi"]), se])
        d = r["draws"]
        odd = [f"{d[key]} {what}" for key, what in (("n_at_cap", "at a cap"), ("n_no_interior", "without an interior optimum"),
                                                    ("n_unreachable", "cannot reach the target")) if d.get(key)]
        if odd:
            counts.append(f"  at {r['compute']:.4g} FLOPs, of {d['n_draws']} draws: {', '.join(odd)} (kept in the intervals)")
    caps = [f"{name} {value:.3g}" for name, value in (("max_tokens", answer.max_tokens), ("max_params", answer.max_params))
            if value is not None]
    title = (f"{100 * answer.confidence:g}% bootstrap intervals ({answer.n_resamples - answer.n_failed} draws, "
             f"k = {answer.flops_per_param_token:g}{', ' + ', '.join(caps) if caps else ''}, as for the point)")
    return "\n".join([title, format_table(["compute (FLOPs)", "quantity", "lo", "hi", "se"], rows), *counts])


@dataclasses.dataclass(frozen=True)
class _Source:
    law: object
    fitted_range: FittedRange | None
    fit: FitResult | None
    boot: BootstrapResult | None
    recorded_k: float | None
    description: str


def _resolve(source, fitted_range, bootstrap, group=None):
    """The law, its range, its fit, its draws and a recorded k, from whatever the user passed."""
    fit, boot, recorded_k = None, None, None
    if isinstance(source, os.PathLike):
        record = load_record(source)
        fit, boot, recorded_k = record.fit, record.bootstrap, record.flops_per_param_token
        description = f"fit record {os.fspath(source)}"
    elif isinstance(source, str):
        if source not in PRESETS:
            preset(source)  # raises UnknownPresetError naming the choices
        law, description = PRESETS[source], f"preset {source}"
        return _Source(law, fitted_range or PRESET_RANGES.get(source), None, _draws(bootstrap, None), None, description)
    elif preset_name(source) is not None:  # a preset passed as a law (optimal.preset(name)) keeps its fitted range
        name = preset_name(source)
        description = f"preset {name}" + ("" if source == PRESETS[name] else f" (unique_tokens {source.unique_tokens:g})")
        return _Source(source, fitted_range or PRESET_RANGES.get(name), None, _draws(bootstrap, None), None, description)
    elif isinstance(source, BootstrapResult):
        fit, boot, description = source.fit, source, "bootstrapped fit"
    elif isinstance(source, FitResult):
        fit, description = source, "fit"
    else:
        law = as_law(source)
        return _Source(law, fitted_range, None, _draws(bootstrap, None), None, f"law {type(law).__name__}")
    if fit.group_labels is not None:
        if group is None or str(group) not in fit.group_labels:
            raise OptimalError(f"a joint fit of groups {', '.join(fit.group_labels)} has one law per group: name one "
                               f"(group=LABEL, or --group LABEL)" + ("" if group is None else f"; {group!r} is not one"))
        fit = fit.group(str(group))
        boot = None if boot is None else boot.group(str(group))
        description += f", group {group}"
    elif group is not None:
        raise OptimalError(f"group {group!r} given, but the {description} is not a joint fit of several groups")
    defaults = {k: fit.family.covariate_defaults.get(k) for k in fit.family.covariates}
    if defaults:  # say what the allocation assumed for the covariates the runs had
        description += " (" + ", ".join(f"{k} = {v:g}" for k, v in defaults.items()) + " for the allocation)"
    n, d, _, weights = fit.data
    rows = fitted_range or FittedRange.from_runs(n, d, weights, source=f"the {fit.n_rows} fitted runs")
    return _Source(fit.law, rows, fit, _draws(bootstrap, boot), recorded_k, description)


def _draws(bootstrap, found):
    if bootstrap is False:
        return None
    if bootstrap is None or bootstrap is True:
        return found
    if not isinstance(bootstrap, BootstrapResult):
        raise OptimalError(f"bootstrap must be a BootstrapResult, True, False or None, not {type(bootstrap).__name__}")
    return bootstrap


def _finite_or_none(value):
    value = float(value)
    return value if np.isfinite(value) else None


@float64_scope
def recommend(source, compute=None, *, target_loss=None, flops_per_param_token=None, max_tokens=None, max_params=None,
              bootstrap=None, fitted_range=None, thresholds=DEFAULT_THRESHOLDS, group=None) -> Recommendation:
    """What to train at each budget (or to reach each target loss), how sure it is and how far it extrapolates.

    Args:
      source: a ``FitResult``; a ``BootstrapResult`` (its fit and draws); a ``pathlib.Path`` to a fit record
        saved by ``optimal fit --save`` (its draws and its k come along); a preset name (``optimal.PRESETS``,
        with the range of runs it was fitted on); or any law (no known range unless ``fitted_range`` is given).
      compute: budgets in FLOPs (scalar or 1-D); or give ``target_loss`` (nats) instead.
      flops_per_param_token: k in C = k N D, for the point, every draw and the runs' compute. Default: the k a
        fit record was saved with, else 6.
      max_tokens, max_params: caps on D and N, applied to the point and to every bootstrap draw alike.
      bootstrap: a ``BootstrapResult`` whose draws give intervals; None uses the source's draws if it has any;
        False ignores them.
      fitted_range: a ``FittedRange`` to use instead of the source's.
      thresholds: a ``Thresholds`` (or a dict of its fields) setting when an answer is flagged.
      group: for a joint fit of several groups (``fit(..., groups=, shared=)``), the group to answer for.

    Returns:
      A ``Recommendation``.

    Example:
      >>> answer = recommend("epoch2024", 5.76e23)
      >>> round(answer.records[0]["extrapolation"]["compute_decades"], 2)
      1.65
    """
    if (compute is None) == (target_loss is None):
        raise OptimalError("give either compute or target_loss")
    if isinstance(thresholds, dict):
        thresholds = Thresholds(**thresholds)
    elif not isinstance(thresholds, Thresholds):
        raise OptimalError(f"thresholds must be a Thresholds or a dict of its fields, not {type(thresholds).__name__}")
    src = _resolve(source, fitted_range, bootstrap, group)
    notes = []
    if flops_per_param_token is not None:
        k, k_from = float(flops_per_param_token), "argument"
    elif src.recorded_k is not None:
        k, k_from = float(src.recorded_k), "fit record"
    else:
        k, k_from = DEFAULT_FLOPS_PER_PARAM_TOKEN, "default"
    said = {"argument": "as given", "fit record": "from the fit record", "default": "the default"}[k_from]
    notes.append(f"k = {k:g} FLOPs per parameter per token ({said})")
    if src.fitted_range is None:
        notes.append("the range of runs this law was fitted on is unknown: extrapolation distances are not available")
    else:
        r = src.fitted_range
        notes.append(f"fitted on N {r.n_min:.3g}..{r.n_max:.3g}, D {r.d_min:.3g}..{r.d_max:.3g}, largest run "
                     f"{r.largest_run_compute(k):.3g} FLOPs ({r.source})")
    caps = dict(flops_per_param_token=k, max_tokens=max_tokens, max_params=max_params)
    if compute is not None:
        point = compute_optimal(src.law, np.atleast_1d(np.asarray(compute, dtype=np.float64)), **caps)
        draws = None if src.boot is None else allocate_draws(src.boot, point.compute, k, max_tokens, max_params)
    else:
        targets = np.atleast_1d(np.asarray(target_loss, dtype=np.float64))
        point = compute_for_loss(src.law, targets, **caps)
        draws = None if src.boot is None else _draws_for_loss(src.boot, targets, caps)
    records = point.to_records()
    distances = extrapolation(src.fitted_range, point.compute, point.n_params, point.n_tokens, k)
    warnings = []
    if src.fit is not None and not src.fit.converged:
        warnings.append({"budget": None, "target_loss": None, "code": "fit_not_converged",
                         "message": f"the fit did not converge ({src.fit.reason}): every allocation from it inherits that; "
                                    "refit with more iterations or other starts"})
    if src.fit is not None:
        # a fit that did not converge says why in its last warning, said above once
        for message in src.fit.warnings[:-1] if not src.fit.converged else src.fit.warnings:
            warnings.append({"budget": None, "target_loss": None, "code": "fit", "message": f"fit: {message}"})
    if src.boot is not None:
        for message in src.boot.warnings:  # failures above MAX_FAILED_SHARE, intervals at a boundary
            warnings.append({"budget": None, "target_loss": None, "code": "bootstrap", "message": f"bootstrap: {message}"})
        if src.boot.n_failed:
            notes.append(f"{src.boot.n_failed} of {src.boot.n_resamples} bootstrap resamples did not converge even when "
                         "retried and are left out of the intervals")
    cap_values = {"max_tokens": max_tokens, "max_params": max_params}
    for i, record in enumerate(records):
        record["fit_converged"] = None if src.fit is None else bool(src.fit.converged)
        record["extrapolation"] = {key: None if value is None else float(np.ravel(value)[i]) for key, value in distances.items()}
        if target_loss is not None:
            record = {"target_loss": float(targets[i]), **record}
            records[i] = record
        found = point_warnings(record, record["extrapolation"], src.fitted_range, thresholds, cap_values)
        if draws is not None:
            record["intervals"] = {key: value for key, value in draws[i].items() if isinstance(value, dict)}
            record["draws"] = {key: value for key, value in draws[i].items() if key.startswith("n_")}
            found += draws_warnings(record["draws"], thresholds, [code for code, _ in found])
            if record["draws"].get("n_unreachable"):
                n_out, total = record["draws"]["n_unreachable"], record["draws"]["n_draws"]
                found.append(("draws_unreachable",
                              f"{n_out} of {total} bootstrap draws cannot reach loss {record['target_loss']:g} at any "
                              "budget (their floor is at or above it): they count as needing unbounded compute"))
        for code, message in found:
            warnings.append({"budget": record["compute"], "target_loss": record.get("target_loss"), "code": code,
                             "message": message})
    return Recommendation(
        records=records, point=point, warnings=warnings, notes=notes, flops_per_param_token=k,
        flops_per_param_token_from=k_from, fitted_range=src.fitted_range, source=src.description,
        confidence=None if src.boot is None else src.boot.confidence,
        n_resamples=None if src.boot is None else src.boot.n_resamples,
        n_failed=None if src.boot is None else src.boot.n_failed,
        max_tokens=None if max_tokens is None else float(max_tokens),
        max_params=None if max_params is None else float(max_params),
    )


def _draws_for_loss(boot, targets, caps):
    """Per target loss, every converged draw's compute to reach it (``compute_for_loss`` per draw, as one vmapped
    program), with its N*, D*, tokens per parameter. A draw that cannot reach the target counts as needing
    unbounded compute."""
    thetas = boot.good
    found = compute_for_loss_draws(thetas, targets, family=boot.fit.family, **caps)
    values = {"compute": found.compute, "N": found.n_params, "D": found.n_tokens}
    tpp, converged, bound = found.tokens_per_param, found.converged, found.bound
    unreachable = ~np.isfinite(values["compute"])
    out = []
    for i in range(len(targets)):
        item = {key: unbounded_interval(v[:, i], boot.confidence) for key, v in values.items()}
        # tokens per parameter of an unreachable draw has no value, high or low: no interval rather than a narrowed one
        item["tokens_per_param"] = interval(tpp[:, i], boot.confidence) if not unreachable[:, i].any() else \
            {"lo": None, "hi": None, "se": None}
        reached = ~unreachable[:, i]
        interior = has_interior_optimum(values["N"][:, i], values["D"][:, i], converged[:, i])
        item.update({"n_draws": len(thetas), "n_at_cap": int(np.sum(bound[:, i] != 0)),
                     "n_not_converged": int(np.sum(reached & ~converged[:, i])),
                     "n_no_interior": int(np.sum(reached & ~interior)), "n_unreachable": int(np.sum(~reached))})
        out.append(item)
    return out

