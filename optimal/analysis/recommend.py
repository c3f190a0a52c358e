"""What to train at a budget (or to reach a loss): one answer, with its uncertainty and how far it extrapolates.

``recommend`` is the one place that turns a law and its provenance into an answer (at a budget, for a target loss,
inference-aware, with unique tokens, under a FLOPs model, or the loss of a given run): the point allocation, the
bootstrap intervals computed per draw (each draw's law answering the same question, vmapped) with the same k and
caps as the point, the share of draws at a cap or without an
interior optimum, the extrapolation distances from the fitted runs (``optimal.allocation.extrapolation``) and the
warnings. The command line prints from it, so ``solve`` and ``fit --budgets`` cannot disagree.
"""

import dataclasses
import os

import jax
import jax.numpy as jnp
import numpy as np

from ..allocation.allocate import (Allocation, check_flops, check_positive_values, compute_for_loss,
                                   compute_for_loss_draws, compute_optimal, law_in)
from ..allocation.draws import _check_draws, allocations
from ..allocation.flops import FlopsPerToken
from ..allocation.inference import inference_optimal, inference_optimal_draws
from ..fitting.bootstrap import BootstrapResult
from .._util.stats import interval, unbounded_interval
from ..errors import BudgetError, CoefficientsError, OptimalError, float_array
from ..allocation.extrapolation import (
    DEFAULT_THRESHOLDS,
    PRESET_RANGES,
    FittedRange,
    Thresholds,
    draws_warnings,
    extrapolation,
    has_interior_optimum,
    point_warnings,
    range_warnings,
)
from ..fitting.fit import FitResult
from ..io.records import load_record
from ..laws import PRESETS, DataConstrained, as_law, preset
from ..laws.presets import preset_name
from .._util.precision import float64_scope
from .._util.units import DEFAULT_FLOPS_PER_PARAM_TOKEN
from .._util.results import Issue, Judged, Status, issues
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
class Recommendation(Judged):
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
      question: "compute", "target_loss", "inference" or "run" (a given N and D: its loss).
      flops: the ``FlopsPerToken`` fields of the FLOPs model used instead of k N per token, or None.
      unique_data: for a data-constrained law, ``{"unique_tokens", "assumption"}`` (unique_tokens None: unlimited),
        also said in ``notes``; None for another law.
      per_draw: with draws, every draw's answer, ``{name: (draws, questions) array}`` (``compute``, ``N``, ``D``,
        ``tokens_per_param``, ``loss`` as the question gives them, the extrapolation distances, ``epochs`` with
        unique tokens); not in ``to_dict()``. ``optimal.planning.draw_intervals`` turns it into a plan's intervals.
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
    question: str = "compute"
    flops: dict | None = None
    unique_data: dict | None = None
    per_draw: dict | None = dataclasses.field(default=None, repr=False, compare=False)

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

    def summary(self) -> str:
        """The text ``optimal solve`` prints: the source, the notes, the point allocations with their
        extrapolation distances, and with draws the bootstrap intervals (the warnings go to stderr)."""
        lines = [f"law: {self.source}", *(f"  {note}" for note in self.notes),
                 _allocation_table(self.records, star="" if self.question == "run" else "*")]
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
            "question": self.question,
            "flops_model": self.flops,
            "unique_data": self.unique_data,
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


def _allocation_table(records, star="*"):
    """The point answers with their extrapolation distances (decades), one row per budget."""
    by_loss = bool(records) and "target_loss" in records[0]
    extra = [(key, title) for key, title in _EXTRA_COLUMNS if records and key in records[0]]
    headers = (["target loss"] if by_loss else []) + [
        "compute (FLOPs)", f"N{star} (params)", f"D{star} (tokens)", "tokens/param", "loss"] + [
        title for _, title in extra] + ["bound", "converged", "C vs runs (dec)", f"N{star} out (dec)",
                                        f"D{star} out (dec)"]
    rows = []
    for r in records:
        far = r["extrapolation"]
        rows.append((([f"{r['target_loss']:.5g}"] if by_loss else []) + [
            f"{r['compute']:.4g}", f"{r['N']:.4g}", f"{r['D']:.4g}", f"{r['tokens_per_param']:.3g}", f"{r['loss']:.5f}"]
            + [f"{r[key]:.4g}" for key, _ in extra] + [
            r["bound"] or "-", _converged_text(r), _decades(far["compute_decades"], signed=True),
            _decades(far["N_decades_outside"]), _decades(far["D_decades_outside"])]))
    return format_table(headers, rows)


# columns of the questions that carry more than an allocation (the data-constrained and inference-aware ones)
_EXTRA_COLUMNS = (("unique_tokens", "unique tokens"), ("epochs", "epochs"), ("inference_tokens", "inference tokens"),
                  ("inference_flops", "inference FLOPs"), ("total_flops", "total FLOPs"))


def _bound_text(key, value):
    if value is None:  # a bound set by draws that cannot reach the target: no value for tokens per parameter
        return "n/a" if key == "tokens_per_param" else "unbounded"
    return f"{value:.4g}"


def _decades_bound(value, key):
    return "unbounded" if value is None else _decades(value, signed=key == "compute_decades")


def _recommendation_intervals(answer):
    """Per budget and quantity, the bootstrap interval, from draws allocated with the point's k and caps."""
    rows, counts = [], []
    for r in answer.records:
        for key, v in r["intervals"].items():
            se = "n/a" if v["se"] is None else f"{v['se']:.3g}"
            rows.append([f"{r['compute']:.4g}", key, _bound_text(key, v["lo"]), _bound_text(key, v["hi"]), se])
        for key, v in r.get("extrapolation_intervals", {}).items():  # decades beyond the runs, per draw
            rows.append([f"{r['compute']:.4g}", key.replace("_decades_outside", " out (dec)").replace(
                "compute_decades", "C vs runs (dec)"), _decades_bound(v["lo"], key), _decades_bound(v["hi"], key), "-"])
        d = r["draws"]
        odd = [f"{d[key]} {what}" for key, what in (("n_at_cap", "at a cap"), ("n_no_interior", "without an interior optimum"),
                                                    ("n_unreachable", "cannot reach the target")) if d.get(key)]
        if odd:
            counts.append(f"  at {r['compute']:.4g} FLOPs, of {d['n_draws']} draws: {', '.join(odd)} (kept in the intervals)")
    caps = [f"{name} {value:.3g}" for name, value in (("max_tokens", answer.max_tokens), ("max_params", answer.max_params))
            if value is not None]
    per_token = "the same FLOPs model" if answer.flops is not None else f"k = {answer.flops_per_param_token:g}"
    title = (f"{100 * answer.confidence:g}% bootstrap intervals ({answer.n_resamples - answer.n_failed} draws, "
             f"{per_token}{', ' + ', '.join(caps) if caps else ''}, as for the point; each draw answers the same "
             "question)")
    return "\n".join([title, format_table(["compute (FLOPs)", "quantity", "lo", "hi", "se"], rows), *counts])


@dataclasses.dataclass(frozen=True)
class _Source:
    law: object
    fitted_range: FittedRange | None
    fit: FitResult | None
    boot: BootstrapResult | None
    recorded_k: float | None
    description: str


def _resolve(source, fitted_range, bootstrap, group=None, covariates=None):
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
    fit, boot, _ = fit.select_group(group, boot, where=f"the {description}")
    if group is not None:
        description += f", group {group}"
    defaults = {k: (covariates or {}).get(k, fit.family.covariate_defaults.get(k)) for k in fit.family.covariates}
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


def _unique_data(law, unique_tokens):
    """The unique-data assumption of a data-constrained law's answer, in words (None for another law)."""
    if not isinstance(law, DataConstrained):
        return None
    if unique_tokens is not None:
        return (f"unique data: U = {float(unique_tokens):.4g} tokens (given); tokens beyond U repeat it, in epochs of "
                "D / U (Muennighoff et al. 2023)")
    u = float(np.asarray(law.unique_tokens))
    if np.isfinite(u):
        return f"unique data: U = {u:.4g} tokens (the law's own); tokens beyond U repeat it, in epochs of D / U"
    return ("unique data: unlimited (U = inf, the law's default: every training token is new, and the law is then "
            "Chinchilla's form); give the unique tokens you have (unique_tokens=, --unique-tokens) to bound it")


def _question(compute, target_loss, n_params, n_tokens, inference_tokens):
    run = n_params is not None or n_tokens is not None
    given = (compute is not None) + (target_loss is not None) + run
    if given != 1 or run and (n_params is None or n_tokens is None):
        raise OptimalError("give either compute or target_loss, or n_params with n_tokens")
    if inference_tokens is not None:
        if run:
            raise OptimalError("inference_tokens goes with compute (training plus serving FLOPs) or target_loss")
        return "inference"
    return "compute" if compute is not None else "target_loss" if target_loss is not None else "run"


FLAT_FACTOR = 10**0.5  # N* x and / this along the budget line ...
FLAT_RTOL = 1e-9  # ... change the loss by at most this share of it: the loss does not determine N* there


@jax.jit
def _line_losses(law, n, compute, per_token):
    """The loss at N* (n) and at N* x and / ``FLAT_FACTOR`` along the budget line, (3, B) (one compiled program)."""
    m = n[None, :] * jnp.asarray([1.0, FLAT_FACTOR, 1.0 / FLAT_FACTOR])[:, None]
    per_param_token = per_token.training(m) / m if isinstance(per_token, FlopsPerToken) else per_token
    return law.loss(m, compute[None, :] / (per_param_token * m))


def _flat_along_the_line(law, point, per_token):
    """Per budget of an allocation ``point``: whether the loss at N* x and / ``FLAT_FACTOR`` along the budget line
    (D = C / (k N), or a FLOPs model's tokens) is within ``FLAT_RTOL`` of the loss at N* on both sides. Only a law
    that can saturate is checked (the data-constrained one, far past its unique data: N* is then any of a wide
    range); Chinchilla's and Kaplan's sums of powers are strictly convex along the line."""
    compute, n = (np.ravel(np.asarray(x, np.float64)) for x in (point.compute, point.n_params))
    if not isinstance(law, DataConstrained):
        return np.zeros(n.shape, bool)
    per_token = per_token if isinstance(per_token, FlopsPerToken) else jnp.asarray(per_token, jnp.float64)
    centre, up, down = np.asarray(_line_losses(law_in(law, np.float64), jnp.asarray(n), jnp.asarray(compute),
                                               per_token), np.float64)
    with np.errstate(invalid="ignore"):
        return np.isfinite(centre) & (np.abs(up - centre) <= FLAT_RTOL * np.abs(centre)) & \
            (np.abs(down - centre) <= FLAT_RTOL * np.abs(centre))


@float64_scope
def recommend(source, compute=None, *, target_loss=None, flops_per_param_token=None, max_tokens=None, max_params=None,
              bootstrap=None, fitted_range=None, thresholds=DEFAULT_THRESHOLDS, group=None, flops=None,
              unique_tokens=None, inference_tokens=None, n_params=None, n_tokens=None) -> Recommendation:
    """What to train at each budget (or to reach each target loss), how sure it is and how far it extrapolates.

    One question per call: ``compute`` (the compute-optimal N*, D*), ``target_loss`` (the least compute that
    reaches it), either of these with ``inference_tokens`` (the inference-aware allocation, Sardana et al. 2023:
    ``compute`` is then training plus serving FLOPs), or ``n_params`` with ``n_tokens`` (a run you have in mind:
    its loss). With bootstrap draws every answer gets intervals computed per draw (each draw's law answering the
    same question, as one vmapped program), extrapolation distances per draw included.

    Args:
      source: a ``FitResult``; a ``BootstrapResult`` (its fit and draws); a ``pathlib.Path`` to a fit record
        saved by ``optimal fit --save`` (its draws and its k come along); a preset name (``optimal.PRESETS``,
        with the range of runs it was fitted on); or any law (no known range unless ``fitted_range`` is given).
      compute: budgets in FLOPs (scalar or 1-D); or give ``target_loss`` (nats), or ``n_params`` and ``n_tokens``.
      flops_per_param_token: k in C = k N D, for the point, every draw and the runs' compute. Default: the k a
        fit record was saved with, else 6.
      flops: a ``FlopsPerToken`` model (attention, mixture of experts) for the point and every draw instead of k N
        per token; the runs' compute is still counted as k N D (k its ``per_param()``).
      max_tokens, max_params: caps on D and N, applied to the point and to every bootstrap draw alike (not with
        ``inference_tokens``).
      bootstrap: a ``BootstrapResult`` whose draws give intervals; None uses the source's draws if it has any;
        False ignores them.
      fitted_range: a ``FittedRange`` to use instead of the source's.
      thresholds: a ``Thresholds`` (or a dict of its fields) setting when an answer is flagged.
      group: for a joint fit of several groups (``fit(..., groups=, shared=)``), the group to answer for.
      unique_tokens: U, the unique tokens available, for a data-constrained law (Muennighoff et al. 2023), applied
        to the point and every draw; records then carry ``unique_tokens`` and ``epochs`` (D / U). Without it a
        data-constrained law answers with its own U (unlimited for the preset), and the answer says so.
      inference_tokens: D_inf, tokens the model will serve; records then carry ``inference_tokens``,
        ``training_flops``, ``inference_flops`` and ``total_flops`` (``compute`` is the training FLOPs).
      n_params, n_tokens: a run (parameters, tokens; scalars or 1-D of one length): the law's loss there.

    Returns:
      A ``Recommendation``.

    Example:
      >>> answer = recommend("epoch2024", 5.76e23)
      >>> round(answer.records[0]["extrapolation"]["compute_decades"], 2)
      1.65
    """
    question = _question(compute, target_loss, n_params, n_tokens, inference_tokens)
    if isinstance(thresholds, dict):
        fields = [field.name for field in dataclasses.fields(Thresholds)]
        unknown = [key for key in thresholds if key not in fields]
        if unknown:  # was a TypeError from Thresholds(**...)
            raise OptimalError(f"thresholds has no {', '.join(map(repr, unknown))}; its fields are {', '.join(fields)}")
        thresholds = Thresholds(**thresholds)
    elif not isinstance(thresholds, Thresholds):
        raise OptimalError(f"thresholds must be a Thresholds or a dict of its fields, not {type(thresholds).__name__}")
    if question in ("inference", "run") and (max_tokens is not None or max_params is not None):
        raise OptimalError(f"max_tokens and max_params shape a compute-optimal allocation: not with "
                           f"{'inference_tokens' if question == 'inference' else 'n_params and n_tokens'}")
    if fitted_range is not None and not isinstance(fitted_range, FittedRange):  # a str was an AttributeError
        raise OptimalError(f"fitted_range must be an optimal.FittedRange, not {type(fitted_range).__name__}")
    if unique_tokens is not None:  # checked before it is read: a str was a bare ValueError
        unique_tokens = float(check_positive_values(unique_tokens, np.float64, "unique_tokens"))
    src = _resolve(source, fitted_range, bootstrap, group, None if unique_tokens is None else {"U": unique_tokens})
    law, covariates = src.law, None
    if unique_tokens is not None:
        if not isinstance(law, DataConstrained):
            raise CoefficientsError(f"unique_tokens needs a DataConstrained law (e.g. preset(\"muennighoff2023\") or a "
                                    f"data-constrained fit), not {type(law).__name__}")
        if unique_tokens < 1:  # below one token, the epochs D / U overflow
            raise BudgetError(f"unique_tokens must be at least 1 (one token), got {unique_tokens:.3g}")
        law, covariates = law._replace(unique_tokens=unique_tokens), {"U": unique_tokens}
    unique_data = _unique_data(law, unique_tokens)
    notes = [] if unique_data is None else [unique_data]
    if flops_per_param_token is not None:
        if isinstance(flops_per_param_token, FlopsPerToken):
            raise BudgetError("flops_per_param_token is k in C = k N D: give a FLOPs model as flops=")
        k, k_from = float(check_flops(flops_per_param_token)), "argument"  # a str was a bare ValueError
    elif src.recorded_k is not None:
        k, k_from = float(src.recorded_k), "fit record"
    else:
        k, k_from = DEFAULT_FLOPS_PER_PARAM_TOKEN, "default"
    model = None
    if flops is not None and not isinstance(flops, FlopsPerToken):
        if flops_per_param_token is not None:
            raise OptimalError("give flops or flops_per_param_token, not both")
        k, k_from = float(check_flops(flops)), "argument"
    elif flops is not None:
        if flops_per_param_token is not None:
            raise OptimalError("give flops or flops_per_param_token, not both")
        check_flops(flops, keep_model=True)
        model, k, k_from = flops, float(flops.per_param()), "flops model"
    said = {"argument": "as given", "fit record": "from the fit record", "default": "the default",
            "flops model": "the FLOPs model's training_per_param x active_fraction"}[k_from]
    notes.append(f"k = {k:g} FLOPs per parameter per token ({said})")
    if model is not None:
        notes.append("FLOPs per training token from a model: " + _model_text(model) + "; the runs' compute is counted as "
                     "k N D")
    if src.fitted_range is None:
        notes.append("the range of runs this law was fitted on is unknown: extrapolation distances are not available")
    else:
        r = src.fitted_range
        notes.append(f"fitted on N {r.n_min:.3g}..{r.n_max:.3g}, D {r.d_min:.3g}..{r.d_max:.3g}, largest run "
                     f"{r.largest_run_compute(k):.3g} FLOPs ({r.source})")
    for value, name in ((compute, "compute"), (target_loss, "target_loss")):
        value is None or float_array(value, name, BudgetError, invalid=True)
    per_token = k if model is None else model
    caps = dict(flops_per_param_token=per_token, max_tokens=max_tokens, max_params=max_params)
    boot, family = src.boot, None if src.boot is None else src.boot.fit.family
    per_draw, counts = None, None
    if question == "compute":
        point = compute_optimal(law, np.atleast_1d(np.asarray(compute, dtype=np.float64)), **caps)
        records = point.to_records()
        if boot is not None:
            _check_draws(boot)
            found = allocations(boot.good, point.compute, per_token, max_tokens, max_params, family, covariates)
            per_draw, counts = _compute_draws(found, np.asarray(point.compute), len(boot.good))
    elif question == "target_loss":
        targets = np.asarray(target_loss, dtype=np.float64).reshape(-1)  # (1, 1) was a TypeError, as compute is 1-D
        point = compute_for_loss(law, targets, **caps)
        records = [{"target_loss": float(t), **r} for t, r in zip(targets, point.to_records())]
        if boot is not None:
            found = compute_for_loss_draws(boot.good, targets, family=family, covariates=covariates, **caps)
            per_draw, counts = _loss_draws(found, len(boot.good))
    elif question == "inference":
        given = dict(compute=None if compute is None else np.atleast_1d(np.asarray(compute, dtype=np.float64)))
        targets = None if target_loss is None else np.atleast_1d(np.asarray(target_loss, dtype=np.float64))
        found = inference_optimal(law, targets, inference_tokens=inference_tokens, flops=per_token, **given)
        point = Allocation(found.training_flops, found.n_params, found.n_tokens, found.loss,
                           found.n_tokens / found.n_params, found.converged, np.zeros(np.shape(found.loss), int))
        records = [{**({} if targets is None else {"target_loss": float(targets[i])}), **r,
                    **{key: f[key] for key in ("inference_tokens", "training_flops", "inference_flops", "total_flops")}}
                   for i, (r, f) in enumerate(zip(point.to_records(), found.to_records()))]
        if boot is not None:
            _check_draws(boot)
            drawn = inference_optimal_draws(boot.good, targets, inference_tokens=inference_tokens, flops=per_token,
                                            family=family, covariates=covariates, **given)
            per_draw, counts = _inference_draws(drawn, len(boot.good), targets is not None)
    else:
        n = np.atleast_1d(np.asarray(check_positive_values(n_params, np.float64, "n_params")))
        d = np.atleast_1d(np.asarray(check_positive_values(n_tokens, np.float64, "n_tokens")))
        for values, name, unit in ((n, "n_params", "parameter"), (d, "n_tokens", "token")):
            if np.any(values < 1):  # below one, the law's loss at N, D overflows
                raise BudgetError(f"{name} must be at least 1 (one {unit}), got {float(np.min(values)):.6g}")
        if n.shape != d.shape or n.ndim != 1:
            raise OptimalError(f"n_params and n_tokens must be scalars or 1-D of one length, got shapes {n.shape} "
                               f"and {d.shape}")
        spent = np.asarray(per_token.training(n)) * d if model is not None else k * n * d
        loss = np.asarray(law_in(law, np.float64).loss(n, d))
        point = Allocation(spent, n, d, loss, d / n, np.ones(n.shape, bool), np.zeros(n.shape, int))
        records = point.to_records()
        if boot is not None:
            _check_draws(boot)
            per_draw = {"loss": _run_losses(boot.good, family, covariates, n, d)}
            counts = [{"n_draws": len(boot.good)} for _ in n]
    flat = _flat_along_the_line(law, point, per_token) if question == "compute" else np.zeros(len(records), bool)
    if unique_tokens is not None:
        for r in records:
            r.update(unique_tokens=unique_tokens, epochs=r["D"] / unique_tokens)
        if per_draw is not None and "D" in per_draw:
            per_draw["epochs"] = per_draw["D"] / unique_tokens
    distances = extrapolation(src.fitted_range, point.compute, point.n_params, point.n_tokens, k)
    if per_draw is not None and src.fitted_range is not None and "N" in per_draw:
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            far = extrapolation(src.fitted_range, per_draw["compute"], per_draw["N"], per_draw["D"], k)
        per_draw.update(far)
    warnings = []
    if src.fit is not None and not src.fit.converged:
        warnings.append({"budget": None, "target_loss": None, "code": "fit_not_converged",
                         "message": f"the fit did not converge ({src.fit.reason}): every allocation from it inherits that; "
                                    "refit with more iterations or other starts"})
    if src.fit is not None:
        # a fit that did not converge says why in its last warning, said above once
        for message in src.fit.warnings[:-1] if not src.fit.converged else src.fit.warnings:
            warnings.append({"budget": None, "target_loss": None, "code": "fit", "message": f"fit: {message}"})
    if boot is not None:
        for message in boot.warnings:  # failures above MAX_FAILED_SHARE, intervals at a boundary
            warnings.append({"budget": None, "target_loss": None, "code": "bootstrap", "message": f"bootstrap: {message}"})
        if boot.n_failed:
            notes.append(f"{boot.n_failed} of {boot.n_resamples} bootstrap resamples did not converge even when "
                         "retried and are left out of the intervals")
    cap_values = {"max_tokens": max_tokens, "max_params": max_params}
    for i, record in enumerate(records):
        record["fit_converged"] = None if src.fit is None else bool(src.fit.converged)
        record["extrapolation"] = {key: None if value is None else float(np.ravel(value)[i]) for key, value in distances.items()}
        # a run you have in mind is no optimum: only how far it lies outside the fitted runs is flagged
        found = point_warnings(record, src.fitted_range, thresholds, cap_values) if question != "run" else [
            (code, message) for _, code, message in range_warnings(src.fitted_range, record["N"], record["D"],
                                                                   thresholds, optimum=False)]
        if per_draw is not None:
            record["intervals"] = {key: _interval_of(key, values[:, i], boot.confidence, question)
                                   for key, values in per_draw.items() if key not in _DISTANCES
                                   and not (key == "compute" and question == "compute")}  # the budget is given
            if any(key in per_draw for key in _DISTANCES):
                record["extrapolation_intervals"] = {key: unbounded_interval(per_draw[key][:, i], boot.confidence)
                                                     for key in _DISTANCES if key in per_draw
                                                     and not (key == "compute_decades" and question == "compute")}
            record["draws"] = counts[i]
            if question != "run":  # a given run is no optimum: no cap, no interior optimum to miss
                found += draws_warnings(record["draws"], thresholds, [code for code, _ in found])
            if record["draws"].get("n_unreachable"):
                n_out, total = record["draws"]["n_unreachable"], record["draws"]["n_draws"]
                found.append(("draws_unreachable",
                              f"{n_out} of {total} bootstrap draws cannot reach loss {record['target_loss']:g} at any "
                              "budget (their floor is at or above it): they count as needing unbounded compute"))
        if flat[i]:
            found.append(("not_determined", (
                f"the loss is flat along the budget line around N* = {record['N']:.4g} (within {FLAT_RTOL:g} of "
                f"{record['loss']:.6g} from N* / {FLAT_FACTOR:.3g} to {FLAT_FACTOR:.3g} N*): N* and D* are not "
                "determined there, only the loss" + (
                    f" (at {record['epochs']:.4g} epochs of U = {record['unique_tokens']:.4g} unique tokens the "
                    "data-constrained law's discounts saturate)" if "epochs" in record else ""))))
        for code, message in found:
            warnings.append({"budget": record["compute"], "target_loss": record.get("target_loss"), "code": code,
                             "message": message})
    return Recommendation(
        records=records, point=point, warnings=warnings, notes=notes, flops_per_param_token=k,
        flops_per_param_token_from=k_from, fitted_range=src.fitted_range, source=src.description,
        confidence=None if boot is None else boot.confidence,
        n_resamples=None if boot is None else boot.n_resamples,
        n_failed=None if boot is None else boot.n_failed,
        max_tokens=None if max_tokens is None else float(max_tokens),
        max_params=None if max_params is None else float(max_params),
        question=question, flops=None if model is None else {key: float(v) for key, v in model._asdict().items()},
        unique_data=None if unique_data is None else {"unique_tokens": unique_tokens if unique_tokens is not None else
                                                      _finite_or_none(law.unique_tokens), "assumption": unique_data},
        per_draw=per_draw,
    )


_DISTANCES = ("compute_decades", "N_decades_outside", "D_decades_outside")


def _model_text(model):
    m = {key: float(v) for key, v in model._asdict().items()}
    words = [f"{m['training_per_param']:g} x active parameters"]
    if m["active_fraction"] != 1:
        words.append(f"active fraction {m['active_fraction']:g}")
    if m["context"] * m["width"] > 0:
        words.append(f"attention over {m['context']:g} tokens (Kaplan et al. 2020, section 2.1)")
    return ", ".join(words)


def _interval_of(key, values, confidence, question):
    """One quantity's interval over the draws: +inf (a draw that cannot reach a target) makes a bound unbounded;
    tokens per parameter of such a draw has no value, so no interval rather than a narrowed one."""
    if question in ("compute", "run") or key in ("loss",):
        return interval(values, confidence)
    if key in ("tokens_per_param", "epochs") and not np.all(np.isfinite(values)):
        return {"lo": None, "hi": None, "se": None}
    return unbounded_interval(values, confidence)


def _compute_draws(found, budgets, n_draws):
    """Per-draw arrays (draws, budgets) of the compute question and each budget's counts."""
    converged, bound = found.pop("converged"), found.pop("bound")
    interior = has_interior_optimum(found["N"], found["D"], converged)
    per_draw = {"compute": np.broadcast_to(budgets, found["N"].shape), **found}
    counts = [{"n_draws": int(n_draws), "n_at_cap": int(np.sum(bound[:, i] != 0)),
               "n_not_converged": int(np.sum(~converged[:, i])), "n_no_interior": int(np.sum(~interior[:, i]))}
              for i in range(converged.shape[1])]
    return per_draw, counts


def _loss_draws(found, n_draws):
    """Per-draw arrays of the target-loss question (a draw that cannot reach a target needs unbounded compute) and
    each target's counts."""
    values = {"compute": found.compute, "N": found.n_params, "D": found.n_tokens,
              "tokens_per_param": found.tokens_per_param}
    return values, _reach_counts(values, found.converged, found.bound, n_draws)


def _reach_counts(values, converged, bound, n_draws):
    unreachable = ~np.isfinite(values["compute"])
    counts = []
    for i in range(unreachable.shape[1]):
        reached = ~unreachable[:, i]
        interior = has_interior_optimum(values["N"][:, i], values["D"][:, i], converged[:, i])
        counts.append({"n_draws": int(n_draws), "n_at_cap": int(np.sum(bound[:, i] != 0)),
                       "n_not_converged": int(np.sum(reached & ~converged[:, i])),
                       "n_no_interior": int(np.sum(reached & ~interior)), "n_unreachable": int(np.sum(~reached))})
    return counts


def _inference_draws(found, n_draws, by_target):
    """Per-draw arrays of the inference-aware question (``compute`` the training FLOPs) and the counts."""
    values = {"compute": found.training_flops, "N": found.n_params, "D": found.n_tokens,
              "tokens_per_param": found.n_tokens / found.n_params, "loss": found.loss,
              "inference_flops": found.inference_flops, "total_flops": found.total_flops}
    del values["loss" if by_target else "total_flops"]  # the target's in every draw that reaches it; the given budget
    counts = _reach_counts(values, found.converged, np.zeros(found.converged.shape, int), n_draws)
    if not by_target:
        for c in counts:
            c.pop("n_unreachable")
    return values, counts


@float64_scope
def _run_losses(thetas, family, covariates, n, d):
    """Each draw's loss at the runs (N, D): (draws, runs), one vmapped program over the draws."""
    laws = family.law_from_theta(np.asarray(thetas, np.float64), covariates)
    laws = jax.tree_util.tree_map(lambda x: jnp.broadcast_to(jnp.asarray(x, jnp.float64), (len(thetas),)), laws)
    return np.asarray(jax.vmap(lambda law: law.loss(jnp.asarray(n), jnp.asarray(d)))(laws))
