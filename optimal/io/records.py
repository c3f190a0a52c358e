"""The fit record: one JSON file that holds a fit, optionally its bootstrap draws, the k its runs were read with, the
row selection (``--where``) and a recommendation. This module is its one schema: ``save_fit`` writes it (the library
and ``optimal fit --save`` alike); ``load_record``, ``load_fit`` and ``load_bootstrap`` read it (``solve --fit``,
``predict``, ``suggest``, ``plot``, ``plan`` and ``recommend(Path(...))`` among them).

Layout, ``record_version`` 1 (strict JSON: a non-finite number is written as null):

  record_version   1; the versions this code reads are ``READ_VERSIONS``
  law, fixed, tied, shared, groups (a joint fit's labels), theta
                   the one source of truth for the coefficients: ``theta`` in the family's fitting space, (P,) or
                   (G, P) for G groups, with the family's name and the constraints (fixed, tied, shared)
  params, log_params
                   for people to read; on load they must agree with what theta gives, to ``AGREE_RTOL`` (relative)
  covariates, objective, converged, reason, iterations, grad_norm, n_rows, n_starts, n_starts_at_best, warnings,
  diagnostics, config
                   the rest of ``FitResult.to_dict()``; on load the fit rebuilt from the record must give them back
  versions         the package versions that wrote the record (``{name: version}``)
  data             the fitted rows: N, D, loss, weights, ``covariate NAME``; ``group`` (row -> group) for a joint fit
  starts           every start's outcome (``optimal.fitting.solver.Lanes``: theta (S, F), objective, grad_norm, ...)
  flops_per_param_token   optional: the k in C = k N D the runs were read with (positive, finite)
  rows_selected    optional: what each ``--where`` filter kept, ``[{"where": text, "kept": n, "of": n}]``
  bootstrap        optional: the draws: thetas (R, G*P), converged (R,), objectives (R,), iterations (R,),
                   confidence, seed; groups (cluster ids per row, or absent), n_retried, resamples_per_device
                   (written since the records module; older records lack them and read as none, 0 and ())
  recommendation   optional: ``Recommendation.to_dict()`` (``{group: ...}`` for a joint fit), for people to read

Every field is checked on load; a record that fails a check is refused with a ``CoefficientsError`` that names the
field (``'fit.json' is not a fit record saved by 'optimal fit --save': field params.E: ...``). A bootstrap draw that
did not converge may hold null coefficients (it is counted, never used); a converged one must be finite.
"""

import contextlib
import dataclasses
import math
import platform
from pathlib import Path

import jax
import numpy as np

from ..data.runs import validate_runs
from ..errors import CoefficientsError, OptimalError, check_confidence, check_count, check_positive
from ..fitting.bootstrap import MAX_SEED, BootstrapResult
from ..fitting.fit import FitResult, check_constraints, check_covariates
from ..fitting.options import from_config
from ..fitting.problem import expand, reduce, structure
from ..fitting.solver import REASONS, Lanes
from ..laws import FAMILIES
from ..laws.family import Family
from ..laws.presets import law_from_dict
from .._util.jsonio import as_array, as_dict, as_number, check_writable, dumps_strict, read_json, write_text
from .._util.precision import float64_scope
from .._util.results import Issue, issues
from .._util.version import VERSION

RECORD_VERSION = 1  # what save_fit writes
READ_VERSIONS = (1,)  # what load_record reads
AGREE_RTOL = 1e-12  # params, log_params and the constraints must agree with theta to this (relative)
FLOPS_KEY = "flops_per_param_token"
SELECTION_KEY = "rows_selected"
_FIT_KEYS = ("law", "params", "fixed", "tied", "shared", "covariates", "log_params", "theta", "objective", "converged",
             "reason", "iterations", "grad_norm", "n_rows", "n_starts", "n_starts_at_best", "warnings", "diagnostics",
             "config")  # FitResult.to_dict()'s keys in record_version 1: every one required
_RECORD_KEYS = ("record_version", "versions", "data", "starts")
_OPTIONAL_KEYS = ("groups", FLOPS_KEY, SELECTION_KEY, "bootstrap", "recommendation")
_DRAWS_KEYS = ("thetas", "converged", "confidence", "seed", "objectives", "iterations", "groups", "n_retried",
               "resamples_per_device")
_NOT_A_RECORD = "is not a fit record saved by 'optimal fit --save'"


@dataclasses.dataclass(frozen=True)
class Record:
    """A fit record, loaded: the fit, its bootstrap draws (or None), the k its runs were read with (or None),
    what each ``--where`` filter kept (``[{"where", "kept", "of"}]``, or None), the recommendation saved with it
    (plain JSON data, or None), the package ``versions`` that wrote it and its ``record_version``."""

    fit: FitResult
    bootstrap: BootstrapResult | None = None
    flops_per_param_token: float | None = None
    selection: list | None = None
    recommendation: dict | None = None
    versions: dict = dataclasses.field(default_factory=dict)
    record_version: int = RECORD_VERSION


def versions() -> dict:
    """The versions of this package, its numerical dependencies and Python, and JAX's backend (a record's
    ``versions``)."""
    import optax
    import scipy

    return {"optimal": VERSION, "jax": jax.__version__, "optax": optax.__version__, "numpy": np.__version__,
            "scipy": scipy.__version__, "python": platform.python_version(), "backend": jax.default_backend()}


# --- writing -------------------------------------------------------------------------------------------------------

def to_record(fit, *, bootstrap=None, flops_per_param_token=None, selection=None, recommendation=None) -> dict:
    """The record of ``fit`` as a JSON-ready dict (the layout in the module docstring).

    Args:
      fit: a ``FitResult`` (``optimal.fit``, ``optimal.load_fit``); a joint fit of several groups is one record.
      bootstrap: a ``BootstrapResult`` of this fit (``optimal.bootstrap(fit)``), or None.
      flops_per_param_token: the k in C = k N D the runs were read with (``solve --fit`` counts compute with it).
      selection: what each row filter kept, ``[{"where": text, "kept": n, "of": n}]`` (``--where``), or None.
      recommendation: a ``Recommendation`` (``optimal.recommend``), ``{group: Recommendation}`` for a joint fit, or
        their ``to_dict()``; stored for people to read.

    Raises ``OptimalError`` for an argument of the wrong kind, draws of another fit, or a k that is not a positive
    finite number.
    """
    if not isinstance(fit, FitResult):
        raise OptimalError(f"a fit record holds a FitResult (optimal.fit, optimal.load_fit), not {type(fit).__name__}")
    n, d, loss, weights = (np.asarray(x).tolist() for x in fit.data)
    rows = {"N": n, "D": d, "loss": loss, "weights": weights,
            **{f"covariate {k}": np.asarray(v).tolist() for k, v in fit.covariates.items()}}
    if fit.group_ids is not None:
        rows["group"] = np.asarray(fit.group_ids).tolist()
    record = {
        "record_version": RECORD_VERSION,
        **fit.to_dict(),
        "versions": versions(),
        "data": rows,
        # every start's outcome (a non-finite number is written as null: JSON has no inf or nan)
        "starts": {name: np.asarray(values).tolist() for name, values in fit.starts._asdict().items()},
    }
    if flops_per_param_token is not None:
        record[FLOPS_KEY] = check_positive(flops_per_param_token, "flops_per_param_token (k in C = k N D)")
    if selection is not None:
        record[SELECTION_KEY] = _selection_to_record(selection)
    if bootstrap is not None:
        record["bootstrap"] = _draws_to_record(bootstrap, fit)
    if recommendation is not None:
        record["recommendation"] = _recommendation_to_record(recommendation)
    return record


def save_fit(path, fit, *, bootstrap=None, flops_per_param_token=None, selection=None, recommendation=None) -> Path:
    """Write the record of ``fit`` (``to_record``: its draws, k, selection and recommendation too) to ``path`` as
    strict JSON; returns ``Path(path)``. ``load_record``, ``load_fit`` and ``load_bootstrap`` read it back.

    Raises ``OutputError`` when the file cannot be written (``optimal._util.jsonio.check_writable`` asks that
    before a long computation too) and ``OptimalError`` for the arguments ``to_record`` refuses.

    Example:
      >>> result = optimal.fit(runs.n_params, runs.n_tokens, runs.loss)  # doctest: +SKIP
      >>> optimal.save_fit("fit.json", result, bootstrap=optimal.bootstrap(result), flops_per_param_token=6)  # doctest: +SKIP
    """
    check_writable(path, "fit record")
    text, _ = dumps_strict(to_record(fit, bootstrap=bootstrap, flops_per_param_token=flops_per_param_token,
                                     selection=selection, recommendation=recommendation), indent=1)
    write_text(path, text, "fit record")
    return Path(path)


def _draws_to_record(boot, fit):
    if not isinstance(boot, BootstrapResult):
        raise OptimalError(f"bootstrap must be a BootstrapResult (optimal.bootstrap), not {type(boot).__name__}")
    same = boot.fit is fit or (boot.fit.family is fit.family and boot.fit.group_labels == fit.group_labels
                               and np.array_equal(boot.fit.theta, fit.theta))
    if not same:
        raise OptimalError("the bootstrap draws are of another fit: save a fit with its own bootstrap "
                           "(optimal.bootstrap(fit))")
    flat = np.asarray(boot.thetas).reshape(len(boot.thetas), -1)  # a joint fit's (R, G, P) draws, flattened per draw
    draws = {"thetas": flat.tolist(), "converged": np.asarray(boot.converged).tolist(), "confidence": boot.confidence,
             "seed": boot.seed, "objectives": [v if np.isfinite(v) else None for v in np.asarray(boot.objectives).tolist()],
             "iterations": np.asarray(boot.iterations).tolist()}
    if boot.groups is not None:
        draws["groups"] = np.asarray(boot.groups).tolist()
    draws["n_retried"] = int(boot.n_retried)
    draws["resamples_per_device"] = [int(x) for x in boot.resamples_per_device]
    return draws


def _selection_to_record(selection):
    out = []
    for kept in selection:
        kept = kept._asdict() if hasattr(kept, "_asdict") else kept
        if not isinstance(kept, dict) or set(kept) != {"where", "kept", "of"}:
            raise OptimalError("selection must list {\"where\": text, \"kept\": n, \"of\": n} for each row filter")
        out.append({"where": str(kept["where"]), "kept": check_count(kept["kept"], "selection kept"),
                    "of": check_count(kept["of"], "selection of")})
    return out


def _recommendation_to_record(recommendation):
    if hasattr(recommendation, "to_dict"):
        return recommendation.to_dict()
    if isinstance(recommendation, dict):
        return {k: v.to_dict() if hasattr(v, "to_dict") else v for k, v in recommendation.items()}
    raise OptimalError(f"recommendation must be a Recommendation (optimal.recommend), a dict of them by group, or "
                       f"their to_dict(), not {type(recommendation).__name__}")


# --- reading -------------------------------------------------------------------------------------------------------

class _FieldError(CoefficientsError):
    """A refusal that already names its field."""


def _refuse(name, problem):
    raise _FieldError(f"field {name}: {problem}")


@contextlib.contextmanager
def _field(name):
    """Any ``OptimalError`` inside becomes a ``_FieldError`` that names ``name``."""
    try:
        yield
    except _FieldError:
        raise
    except OptimalError as exc:
        text = str(exc)
        raise _FieldError(f"field {text}" if text.startswith(name) else f"field {name}: {text}") from None


def _get(mapping, key, where=""):
    if key not in mapping:
        raise _FieldError(f"field {where}{key} is missing")
    return mapping[key]


def _number(value, name, null=False):
    with _field(name):
        number = as_number(value, name, null=null)
    if not (math.isfinite(number) or (null and value is None)):
        _refuse(name, f"{value!r} is not a finite number")
    return number


def _array(value, name, kind="float", **shape):
    with _field(name):
        return as_array(value, name, kind, **shape)


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _close(a, b):
    return a == b or abs(a - b) <= AGREE_RTOL * max(abs(a), abs(b))


def _agree(name, saved, derived, whence):
    """Refuse unless ``saved`` (from the file) equals ``derived`` (what the rebuilt fit writes), numbers to
    ``AGREE_RTOL``; a non-finite derived number matches null."""
    if isinstance(derived, dict):
        if not isinstance(saved, dict):
            _refuse(name, f"must be an object, as {whence} gives")
        if set(saved) != set(derived):
            _refuse(name, f"has keys {sorted(saved)}, but {whence} gives {sorted(derived)}")
        for key in derived:
            _agree(f"{name}.{key}", saved[key], derived[key], whence)
    elif isinstance(derived, (list, tuple)):
        if not isinstance(saved, (list, tuple)) or len(saved) != len(derived):
            _refuse(name, f"must be a list of {len(derived)}, as {whence} gives")
        for i, (a, b) in enumerate(zip(saved, derived)):
            _agree(f"{name}[{i}]", a, b, whence)
    elif _is_number(derived) and not (isinstance(derived, float) and not math.isfinite(derived)):
        if not _is_number(saved) or not math.isfinite(saved):
            _refuse(name, f"{saved!r} is not a finite number ({whence} gives {derived!r})")
        if not _close(float(saved), float(derived)):
            _refuse(name, f"{saved!r} disagrees with {derived!r} from {whence} (relative tolerance {AGREE_RTOL:g})")
    elif isinstance(derived, float):  # non-finite: written as null
        if not (saved is None or (isinstance(saved, float) and math.isnan(saved) and math.isnan(derived))):
            _refuse(name, f"{saved!r} disagrees with {derived!r} from {whence}")
    elif isinstance(derived, str):  # a text, or an Issue (a str with a code): the file holds the text
        if not isinstance(saved, str) or str(saved) != str(derived):
            _refuse(name, f"{saved!r} disagrees with {str(derived)!r} from {whence}")
    elif type(saved) is not type(derived) or saved != derived:
        _refuse(name, f"{saved!r} disagrees with {derived!r} from {whence}")


def _broken_constraint(thetas, struct):
    """The first place (index into ``thetas``, (K, G, P)) where coefficients break the constraints (a fixed value,
    a tie, a shared parameter) beyond ``AGREE_RTOL``, with the value the constraints give; None when none does."""
    thetas = np.asarray(thetas, np.float64)
    implied = np.asarray(expand(reduce(thetas, struct.select), struct.select, struct.base))
    bad = ~((implied == thetas) | (np.abs(implied - thetas) <= AGREE_RTOL * np.maximum(abs(implied), abs(thetas))))
    if not bad.any():
        return None
    where = np.unravel_index(int(np.argmax(bad)), thetas.shape)
    return where, float(thetas[where]), float(implied[where])


def _list_of_texts(value, name, pairs=False):
    ok = isinstance(value, list) and all(
        (isinstance(x, list) and len(x) == 2 and all(isinstance(y, str) for y in x)) if pairs else isinstance(x, str)
        for x in value)
    if not ok:
        _refuse(name, "must be a list of name pairs" if pairs else "must be a list of texts")
    return value


DIRECTIONS = ("above", "below", "both")  # where a profile range is unbounded (optimal.fitting.diagnostics)


def _finite_array(value, name, **shape):
    array = _array(value, name, **shape)
    if not np.all(np.isfinite(array)):
        _refuse(name, "must hold finite numbers")
    return array


def _check_diagnostics(diagnostics, names):
    """The parts of a record's ``diagnostics`` that later code reads (the profile figure, the bootstrap's unbounded
    parameters, the repeated-data note) in the shape the fit writes them (``optimal.fitting.diagnostics``); ``names``
    the fit's free entries, which the profile and ``unbounded`` name. The rest is kept as written."""
    if diagnostics.get("profile") is not None:
        with _field("diagnostics.profile"):
            profile = as_dict(diagnostics["profile"], "diagnostics.profile")
        for label, item in profile.items():
            where = f"diagnostics.profile.{label}"
            if label not in names:
                _refuse(where, f"names no free parameter of the fit ({', '.join(names)})")
            with _field(where):
                item = as_dict(item, where)
            grid = _finite_array(_get(item, "grid", where + "."), where + ".grid")
            if not len(grid):
                _refuse(where + ".grid", "is empty")
            for key in ("objective", "n_star_ratio"):
                _array(_get(item, key, where + "."), f"{where}.{key}", length=len(grid), null=True)
            _number(_get(item, "estimate", where + "."), where + ".estimate")
            _finite_array(_get(item, "range", where + "."), where + ".range", length=2)
            if _get(item, "unbounded", where + ".") not in (None, *DIRECTIONS):
                _refuse(where + ".unbounded", f"must be null or one of {', '.join(DIRECTIONS)}")
            if "upper_bounds" in item:
                _finite_array(item["upper_bounds"], where + ".upper_bounds")
        with _field("diagnostics.profile_threshold"):
            threshold = as_dict(_get(diagnostics, "profile_threshold", "diagnostics."), "diagnostics.profile_threshold")
        if not _number(_get(threshold, "relative", "diagnostics.profile_threshold."),
                       "diagnostics.profile_threshold.relative") >= 0:
            _refuse("diagnostics.profile_threshold.relative", "must be >= 0")
    if diagnostics.get("not_identified") is not None:
        for label in _list_of_texts(diagnostics["not_identified"], "diagnostics.not_identified"):
            if label not in names:
                _refuse("diagnostics.not_identified", f"{label!r} names no free parameter of the fit")
    if diagnostics.get("unbounded") is not None:
        with _field("diagnostics.unbounded"):
            unbounded = as_dict(diagnostics["unbounded"], "diagnostics.unbounded")
        for label, direction in unbounded.items():
            if label not in names or direction not in DIRECTIONS:
                _refuse("diagnostics.unbounded", f"must map free parameters of the fit to one of "
                                                 f"{', '.join(DIRECTIONS)}, found {label!r}: {direction!r}")
    if diagnostics.get("repeated_data") is not None:
        with _field("diagnostics.repeated_data"):
            repeated = as_dict(diagnostics["repeated_data"], "diagnostics.repeated_data")
        if repeated.get("note") is not None and not isinstance(repeated["note"], str):
            _refuse("diagnostics.repeated_data.note", "must be text")


def _family(record, family):
    if family is not None and not isinstance(family, Family):
        raise OptimalError(f"family must be an optimal.laws.Family (or None), not {type(family).__name__}")
    name = _get(record, "law")
    if isinstance(family, Family):
        fam = family
    elif not isinstance(name, str) or name not in FAMILIES:
        _refuse("law", f"{name!r} is not a shipped family ({', '.join(FAMILIES)}); load a record of your own family "
                       "with load_fit(path, family=...)")
    else:
        fam = FAMILIES[name]
    if fam.name != name:
        _refuse("law", f"the record's law is {name!r}, not {fam.name!r}")
    return fam


def _fit_from_record(record, family):
    """The ``FitResult`` and its ``Structure`` (every fit field checked but the agreement with to_dict)."""
    version = _get(record, "record_version")
    if not (_is_number(version) and version in READ_VERSIONS and isinstance(version, int)):
        _refuse("record_version", f"{version!r} is not a version optimal {VERSION} reads (it reads "
                                  f"{', '.join(map(str, READ_VERSIONS))}); was it written by a newer optimal?")
    for key in _FIT_KEYS + _RECORD_KEYS:
        _get(record, key)
    fam = _family(record, family)
    labels = record.get("groups")
    if labels is not None:
        labels = tuple(_list_of_texts(labels, "groups"))
    with _field("fixed"):
        fixed = {k: as_number(v, f"fixed.{k}") for k, v in as_dict(record["fixed"], "fixed").items()}
    tied = [tuple(t) for t in _list_of_texts(record["tied"], "tied", pairs=True)]
    shared = _list_of_texts(record["shared"], "shared")
    with _field("fixed, tied and shared"):
        fixed, tied, shared = check_constraints(fam, fixed, tied, shared)
        struct = structure(fam, fixed, tied, shared, labels)
    n_params = len(fam.params)
    theta = _array(record["theta"], "theta", ndim=1 if labels is None else 2,
                   width=None if labels is None else n_params)
    expected = (n_params,) if labels is None else (len(labels), n_params)
    if theta.shape != expected:
        _refuse("theta", f"must hold the {n_params} fitting-space coefficients of the {fam.name} law "
                         f"({', '.join(fam.params)})" + ("" if labels is None else f" for each of {len(labels)} groups")
                + f", not shape {theta.shape}")
    if not np.all(np.isfinite(theta)):
        where = np.unravel_index(int(np.argmax(~np.isfinite(theta))), theta.shape)
        _refuse("theta" + "".join(f"[{i}]" for i in where), f"{float(theta[where])!r} is not a finite number")
    broken = _broken_constraint(theta.reshape((1,) + struct.select.shape), struct)
    if broken:
        (_, g, p), value, implied = broken
        _refuse(f"theta[{p}]" if labels is None else f"theta[{g}][{p}]",
                f"{value!r} breaks the record's fixed, tied or shared parameters, which give {implied!r}")
    free = reduce(np.atleast_2d(theta), struct.select)

    rows = record["data"]
    with _field("data"):
        rows = as_dict(rows, "data")
    data = tuple(_array(_get(rows, k, "data."), f"data.{k}") for k in ("N", "D", "loss", "weights"))
    covariates = {k: _array(_get(rows, f"covariate {k}", "data."), f"data.covariate {k}") for k in fam.covariates}
    group_ids = None
    if labels is not None:
        group_ids = _array(_get(rows, "group", "data."), "data.group", "int", length=len(data[0]))
        if np.any((group_ids < 0) | (group_ids >= len(labels))):
            _refuse("data.group", f"must index the {len(labels)} groups (0 to {len(labels) - 1})")
    with _field("data"):
        runs = validate_runs(*data, n_free=len(struct.names), source="data")  # as the fit checked them
        covariates = check_covariates(fam, covariates, len(runs.loss))

    with _field("starts"):
        saved = as_dict(record["starts"], "starts")
    starts = _array(_get(saved, "theta", "starts."), "starts.theta", ndim=2, width=len(struct.names), null=True)
    per_start = lambda name, kind: _array(_get(saved, name, "starts."), f"starts.{name}", kind,  # noqa: E731
                                          length=len(starts), null=kind == "float")
    lanes = Lanes(starts, per_start("objective", "float"), per_start("grad_norm", "float"),
                  per_start("iterations", "int"), per_start("reason", "int"), per_start("converged", "bool"))
    if np.any((lanes.reason < 0) | (lanes.reason >= len(REASONS))):
        _refuse("starts.reason", f"must hold codes 0 to {len(REASONS) - 1}")
    if set(saved) != set(Lanes._fields):
        _refuse("starts", f"has keys {sorted(saved)}, not {sorted(Lanes._fields)}")

    with _field("config"):
        config = as_dict(record["config"], "config")
    for key in ("delta", "robust", "grid_size", "n_polish", "max_iter", "xtol", "dtype", "starts"):
        _get(config, key, "config.")
    if config["dtype"] not in ("float64", "float32"):
        _refuse("config.dtype", f"must be \"float64\" or \"float32\", not {config['dtype']!r}")
    if not isinstance(config["starts"], (str, list)):
        _refuse("config.starts", "must be a name or a list of starts")
    with _field("config"):
        from_config(config)  # every setting checked as the Objective, Search and Solver a caller builds

    def count(key):
        with _field(key):
            return check_count(record[key], key, 0, error=CoefficientsError)

    if not isinstance(record["reason"], str):
        _refuse("reason", "must be text")
    found = _list_of_texts(record["warnings"], "warnings")
    codes = record.get("warning_codes")  # written since the result protocol; older records: the code "fit"
    if codes is None:
        found = issues(found, "fit")
    else:
        codes = _list_of_texts(codes, "warning_codes")
        if len(codes) != len(found) or not all(codes):
            _refuse("warning_codes", f"must hold one non-empty code per warning ({len(found)})")
        found = tuple(Issue(code, message) for code, message in zip(codes, found))
    if not isinstance(record["converged"], bool):
        _refuse("converged", "must be true or false")
    with _field("diagnostics"):
        diagnostics = dict(as_dict(record["diagnostics"], "diagnostics"))
    _check_diagnostics(diagnostics, struct.names)
    if count("n_starts_at_best") > len(starts):
        _refuse("n_starts_at_best", f"{record['n_starts_at_best']} is more than the {len(starts)} starts")
    count("n_rows"), count("n_starts")  # the values: from the rows and the starts, compared below

    try:  # the same checks as any coefficients
        for t in np.atleast_2d(theta):
            values = {k: float(v) for k, v in fam.to_natural(t).items()}
            if fam.name in ("chinchilla", "kaplan", "data-constrained"):
                law_from_dict({"form": fam.name, **values})
            fam.to_fitting(values)
        law = None if labels is not None else fam.law_from_values({**fam.to_natural(theta), **fixed})
    except OptimalError as exc:
        _refuse("theta", f"gives coefficients the law refuses: {exc}")
    fit = FitResult(
        law=law, theta=theta, objective=_number(record["objective"], "objective"), n_rows=len(runs.loss),
        n_starts=len(starts), n_starts_at_best=count("n_starts_at_best"), converged=record["converged"],
        reason=record["reason"], iterations=count("iterations"),
        grad_norm=_number(record["grad_norm"], "grad_norm", null=True), starts=lanes, config=dict(config),
        warnings=tuple(found), data=(runs.n_params, runs.n_tokens, runs.loss, runs.weights), diagnostics=diagnostics,
        family=fam, fixed=fixed, tied=tied, shared=shared, group_labels=labels, covariates=covariates, free=free,
        free_names=struct.names, group_ids=group_ids)
    if "status" in record and record["status"] != fit.status.label:
        _refuse("status", f"{record['status']!r} disagrees with reason and converged, which give {fit.status.label!r}")
    return fit, struct


def _draws_from_record(draws, fit, struct):
    with _field("bootstrap"):
        draws = as_dict(draws, "bootstrap")
    extra = sorted(set(draws) - set(_DRAWS_KEYS))
    if extra:
        _refuse("bootstrap", f"holds unknown keys {extra}; it reads {', '.join(_DRAWS_KEYS)}")
    shape = np.shape(fit.theta)
    thetas = _array(_get(draws, "thetas", "bootstrap."), "bootstrap.thetas", ndim=2, width=int(np.prod(shape)),
                    null=True)
    r = len(thetas)
    if r == 0:
        _refuse("bootstrap.thetas", "holds no draws")
    thetas = thetas.reshape((r,) + shape)
    converged = _array(_get(draws, "converged", "bootstrap."), "bootstrap.converged", "bool", length=r)
    objectives = _array(draws.get("objectives", [None] * r), "bootstrap.objectives", length=r, null=True)
    iterations = _array(draws.get("iterations", [0] * r), "bootstrap.iterations", "int", length=r)
    if np.any(iterations < 0):
        _refuse("bootstrap.iterations", "must be counts (>= 0)")
    with _field("bootstrap.confidence"):
        confidence = check_confidence(as_number(_get(draws, "confidence", "bootstrap."), "confidence"))
    with _field("bootstrap.seed"):
        seed = check_count(_get(draws, "seed", "bootstrap."), "seed", 0, MAX_SEED, error=CoefficientsError)
    rows = np.flatnonzero(converged)  # a draw that did not converge may hold nulls: it is counted, never used
    flat = thetas.reshape(r, -1)[rows]
    if not np.all(np.isfinite(flat)):
        draw = int(rows[np.argmax(~np.all(np.isfinite(flat), axis=1))])
        _refuse(f"bootstrap.thetas[{draw}]", "a converged draw has a non-finite coefficient")
    if not np.all(np.isfinite(objectives[rows])):
        draw = int(rows[np.argmax(~np.isfinite(objectives[rows]))])
        _refuse(f"bootstrap.objectives[{draw}]", "a converged draw has a non-finite objective")
    broken = _broken_constraint(flat.reshape((-1,) + struct.select.shape), struct) if len(rows) else None
    if broken:
        (i, g, p), value, implied = broken
        _refuse(f"bootstrap.thetas[{int(rows[i])}][{g * struct.select.shape[1] + p}]",
                f"{value!r} breaks the fit's fixed, tied or shared parameters, which give {implied!r}")
    groups = draws.get("groups")
    if groups is not None:
        groups = _array(groups, "bootstrap.groups", "int", length=fit.n_rows)
        if np.any(groups < 0):
            _refuse("bootstrap.groups", "must be cluster ids (>= 0)")
    with _field("bootstrap.n_retried"):
        n_retried = check_count(draws.get("n_retried", 0), "n_retried", 0, r, error=CoefficientsError)
    per_device = _array(draws.get("resamples_per_device", []), "bootstrap.resamples_per_device", "int")
    if np.any(per_device < 0):
        _refuse("bootstrap.resamples_per_device", "must be counts (>= 0)")
    return BootstrapResult(thetas, objectives, converged, iterations, confidence, seed, fit, groups,
                           n_retried=n_retried, resamples_per_device=tuple(int(x) for x in per_device))


def _selection_from_record(selection):
    if not isinstance(selection, list):
        _refuse(SELECTION_KEY, "must be a list of {\"where\", \"kept\", \"of\"} objects")
    for i, kept in enumerate(selection):
        name = f"{SELECTION_KEY}[{i}]"
        if not isinstance(kept, dict) or set(kept) != {"where", "kept", "of"}:
            _refuse(name, "must be an object with keys where, kept and of")
        if not isinstance(kept["where"], str):
            _refuse(f"{name}.where", "must be text")
        with _field(name):
            of = check_count(kept["of"], f"{name}.of", 0, error=CoefficientsError)
            check_count(kept["kept"], f"{name}.kept", 0, of, error=CoefficientsError)
    return [dict(kept) for kept in selection]


@float64_scope
def from_record(record, source="fit record", family=None) -> Record:
    """A ``Record`` from a parsed fit record (``to_record``'s dict, as ``load_record`` reads it); ``source`` names
    it in messages and ``family`` is a user's own ``Family`` (the shipped ones are found by name).

    Every field is checked (see the module docstring): its type and nesting (a string is not a number, a list not
    an object), shapes, finite coefficients, params and log_params against theta, the constraints, the options as
    ``fit`` checks them, the rows as ``validate_runs`` does, k, the selection, and the draws. Raises
    ``CoefficientsError`` naming the field.
    """
    try:
        with _field("(the file's JSON)"):
            as_dict(record, "the file's JSON")
        fit, struct = _fit_from_record(record, family)
        for key, value in fit.to_dict().items():  # params and log_params from theta; the rest as loaded
            if key in record:
                _agree(key, record[key], value, "theta (with law, fixed, tied and shared)"
                       if key in ("params", "log_params", "theta") else "the rows, starts and fields loaded")
        known = set(_FIT_KEYS + _RECORD_KEYS + _OPTIONAL_KEYS) | set(fit.to_dict())
        extra = sorted(set(record) - known)
        if extra:
            _refuse(extra[0], f"is not a field of a fit record (version {record['record_version']})")
        with _field("versions"):
            saved_versions = dict(as_dict(record["versions"], "versions"))
        if not all(isinstance(v, str) for v in saved_versions.values()):
            _refuse("versions", "must map names to version texts")
        k = None
        if FLOPS_KEY in record:
            value = record[FLOPS_KEY]
            if not _is_number(value) or not (math.isfinite(value) and value > 0):
                _refuse(FLOPS_KEY, f"{value!r} is not a positive finite number (k in C = k N D)")
            k = float(value)
        selection = _selection_from_record(record[SELECTION_KEY]) if SELECTION_KEY in record else None
        recommendation = record.get("recommendation")
        if recommendation is not None:
            with _field("recommendation"):
                recommendation = as_dict(recommendation, "recommendation")
    except OptimalError as exc:
        raise CoefficientsError(f"{source!r} {_NOT_A_RECORD}: {exc}") from None
    boot = None
    if record.get("bootstrap") is not None:
        try:
            boot = _draws_from_record(record["bootstrap"], fit, struct)
        except OptimalError as exc:
            raise CoefficientsError(f"{source!r}: the bootstrap draws are malformed ({exc}); save the fit again") from None
    return Record(fit, boot, k, selection, recommendation, saved_versions, record["record_version"])


def load_record(path, family=None) -> Record:
    """Read the fit record at ``path`` (written by ``save_fit`` or ``optimal fit --save``): its fit, draws, k,
    selection and recommendation (``Record``), every field checked (``from_record``). No recomputation:
    ``record.fit.refit()`` reruns the fit. Raises ``CoefficientsError`` for a file that cannot be read or parsed
    (``optimal._util.jsonio.read_json``) and for a record that ``from_record`` refuses."""
    return from_record(read_json(path, "fit record"), str(path), family)


def load_fit(path, family=None) -> FitResult:
    """The fit of the record at ``path`` (``load_record(path, family).fit``; ``family``: a user's own family)."""
    return load_record(path, family).fit


def load_bootstrap(path, family=None) -> BootstrapResult | None:
    """The bootstrap draws of the record at ``path`` (``optimal fit --bootstrap B --save FIT.json``, or
    ``save_fit(..., bootstrap=...)``), or None when it holds none. Raises ``CoefficientsError`` as ``load_record``."""
    return load_record(path, family).bootstrap


def load_coefficients(path):
    """The law in a JSON file: a coefficients file (``optimal.law_from_dict``'s forms) or a fit record, whose every
    field is checked as ``load_record`` checks it (a record whose ``params`` disagree with its ``theta`` is refused,
    never half-read). Raises ``CoefficientsError``; a joint fit of several groups has no single law."""
    data = read_json(path, "coefficients file")
    if not (isinstance(data, dict) and "record_version" in data):
        return law_from_dict(data)
    fit = load_record(path).fit
    if fit.law is None:
        raise CoefficientsError(f"{str(path)!r}: a joint fit of groups {', '.join(map(str, fit.group_labels))} has one law "
                                "per group: use the record with --fit FILE --group LABEL (or optimal.load_fit)")
    return fit.law
