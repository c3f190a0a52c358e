"""Held-out extrapolation: fit a law on some runs, predict the others, and say whether the errors fit the intervals.

A law fitted on small runs is used to choose runs 100x-10,000x larger. Its bootstrap intervals describe sampling
noise only: a law of slightly the wrong form predicts the larger runs with a bias no interval of its own shows.
``validate`` makes that visible on the user's own runs: hold out some (an expression such as ``C>=6.4e18``, the K
largest-compute runs, or a rolling series of compute cut-offs, each fitted on the runs below it and predicting
those at or above it; OLMo-core calls this a rollout), fit the rest (``optimal.fit``: any law family and its
options), predict the held-out runs (``optimal.analysis.predict``), and report per run and per fold:

* the relative error ``predicted / actual - 1`` (positive: the law predicts a higher loss than the run reached),
  its mean and max absolute value, and the bias (its mean, signed);
* the coverage of the confidence interval for the mean loss and of the prediction interval for a new run
  (the share of held-out runs inside). Only the prediction interval is meant to hold a run; the mean's interval is
  reported because it is what users often quote.

It says plainly when the errors exceed what the intervals allow. The observed fold is compared with folds
simulated as if the fitted law were right: each simulated fold shifts every held-out prediction by one shared
sample of the fit's own error (a bootstrap draw's deviation from the fit, or a normal sample of the linearised
covariance) and adds to each run a residual drawn from the fitted rows' residuals (scaled up by sqrt(n / (n - p)),
since fitted residuals are smaller than new ones). Because the fit's error is shared, misses come together, which a
binomial count of independent runs would not allow for; because the residuals are resampled, heavy tails are
allowed for too. A fold is flagged, on either test, at the ``SIGNIFICANCE`` level:

* coverage: fewer held-out runs inside the prediction interval than in all but ``SIGNIFICANCE`` of the simulated
  folds;
* bias: a mean log error ``mean(log predicted - log actual)`` farther from 0 (two-sided) than in all but
  ``SIGNIFICANCE`` of the simulated folds;
* scale: the held-out RMS log error over the fitted runs' residual scale (the RMS of the scaled-up residuals,
  ``rms_ratio``) larger (one-sided) than in all but ``SCALE_SIGNIFICANCE`` of the simulated folds, whose median
  (``expected_rms_ratio``, about 1 plus the fit's own error) and upper bound (``rms_ratio_bound``) are reported. It
  sees errors far larger than the residuals that neither of the others does: of mixed sign (no bias) and inside
  wide intervals. Its level is 0.001, not 0.01: at 0.01 it fired on 5 of 60 right-law sets below (the linearised
  fit error is a little narrow for the largest runs), at 0.001 on none.

ASSUMED: the held-out runs scatter about the law as the fitted runs do (iid in log loss), and the fit's sampling
error is what the bootstrap (or the linearisation) says. The simulation can only make a law of the wrong form look
wrong: it cannot prove a law right, and with few held-out runs neither test has much power. Measured
(benchmarks/coverage.py, docs/coverage.md): on 64-run synthetic sets drawn from Muennighoff et al.'s data-constrained
law with up to 40 epochs and fitted with Chinchilla, holding out the 13 largest-compute runs flags 9.5% of sets
(3.5% of sets from a right law), although the fit's N* is 1.5-1.9x off: the wrong law bends to the runs it is given.
The scale test, measured (64 synthetic runs, N 5e7-1.6e10, 2-200 tokens per parameter, the 13 largest-compute runs
held out, linearised intervals; the script is in the commit that added the test): on 60 sets from the
fitted family (20 each at 0.5%, 1% and 2% noise) it flagged 0 (coverage 0, bias 1); on 20 sets from a Kaplan-form
truth (the ``kaplan2020`` preset) 1, and from a curved log-log term (Epoch's law with alpha drifting 0.02 or 0.04
per e-fold of N) 0 and 2 of 20 (coverage or bias: 1, 1 and 6). On these designs the wrong law bends to the runs
and the held-out RMS error is only 1.1-1.7x the residual scale (1.1x for a right law): no held-out test of 13 runs
separates them well, and the scale test adds no detection the other two miss there.

Beside the held-out tests, a lack-of-fit test on every run (``simulations`` > 0, the default): the law is fitted
to all the runs and its log-loss residuals (the fit's weights) are regressed on a small smooth basis the law cannot
take up, a quadratic surface in log space ((ln N)^2, (ln D)^2 and ln N ln D, each standardised; a power law in N plus
one in D bends in log space, but not so, and not in their ratio), with an intercept; the statistic is the share of
their weighted variance the basis explains (R^2, ``explained_share``). With ``against`` (a column the law does not
read that plausibly matters: epochs D / U, unique tokens), the same with that column's log as the basis: "residuals
trend with COLUMN", with the slope (log-loss per e-fold). Its null is a parametric bootstrap: ``simulations`` sets
drawn from the fitted law with the fitted rows' residuals (resampled, scaled up by sqrt(n / (n - p))), each refitted
from the fit's optimum (lanes of the bootstrap's compiled refit, ``simulated_refits``) and the same statistic taken;
P = (1 + the simulated sets explaining at least as much) / (1 + S), flagged below ``LACK_OF_FIT_SIGNIFICANCE``
(0.01, chosen before any measurement). The refits matter: a law bends to its runs, and the simulated sets bend it
as much as the real ones. A flagged lack-of-fit test makes ``Validation.misspecified`` true and adds its message;
the folds' metrics and flags are unchanged.

Measured (benchmarks/coverage.py --validate-only, docs/coverage.md; 100 sets of 64 runs per truth, 1-2% noise, the
design above): the right law is flagged in 0 of 100 sets by the curvature test and 1 of 100 by the trend test
(against a placebo column); a per-run epochs effect (Muennighoff et al.'s law with every run's own unique data, up to
40 epochs) is flagged by the trend test in 100 of 100; but with one unique-data budget per set (repeat-4,
repeat-40) the repetition bends the loss in D alone, which the law's B / D^beta takes up: the best Chinchilla fit
to the noise-free losses leaves residuals of 0.1-0.3% RMS, a fifth of the noise or less, and the tests flag 1-3% of
sets, no more than a right law's. So ``validate`` also reads the design: when the runs carry unique tokens or
epochs (``columns``: ``unique_tokens``, ``U``, ``unique``, ``epochs``) and the law does not model repetition, runs
with D > U make the validation misspecified by design, not by a test (``optimal.data.repetition``), and without
``against`` the trend test is run against epochs (measured: 100% of repeat-4 and repeat-40 sets flagged so, 0% of
right-law sets whose U >= D). A Kaplan-form truth (misfit 0.4% RMS) is flagged by the curvature test in 14 of
100 sets, a curved log-log term (0.3%) in 0. On Epoch AI's 240 Chinchilla rows the curvature test fires
(33% explained against a median 0.7%; mostly a bend in ln(D / N)) where the held-out tests do not. ASSUMED: the residuals are exchangeable (iid in log loss): a study
whose scatter grows with N, or whose runs share configs, can make the test fire too often.

A flagged fold carries the message that the law is probably misspecified and its intervals understate the
uncertainty of extrapolating it (``Validation.warnings``; stderr and ``"warnings"`` in JSON on the command line).

Example:
  >>> import optimal
  >>> runs = optimal.synthetic_runs(n_runs=80, noise=0.02)
  >>> report = optimal.validate(runs.n_params, runs.n_tokens, runs.loss, largest=10)  # doctest: +SKIP
  >>> report.folds[0].metrics["pi_coverage"], report.warnings  # doctest: +SKIP
"""

import dataclasses
import functools
import warnings
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from ..errors import DataError, check_confidence, check_count, check_mapping
from ..fitting.bootstrap import MAX_RESAMPLES, MAX_SEED, BootstrapResult, Refit, bootstrap
from ..data.runs import min_rows, validate_runs
from ..data.where import Where, parse_where, where_mask
from ..fitting.fit import FitResult, check_constraints, fit
from ..fitting.problem import free_count
from ..fitting.options import Objective, Search, Solver, checked, refuse_unknown
from ..fitting.problem import problem_evaluator, residuals
from ..fitting.resample import per_call, place, refit_resamples
from ..fitting.residuals import log_residuals
from ..fitting.solver import SolverConfig
from .predict import Prediction, mean_error_samples, new_run_residuals, predict
from ..laws import family as family_of
from .._util.precision import float64_scope
from .._util.units import DEFAULT_FLOPS_PER_PARAM_TOKEN
from .._util.results import Issue, Judged, Status, issues
from .._util.text import format_table
from ..fitting.groups import _ByGroup, combined_status
from ..data.groups import encode_groups
from ..data.repetition import check_columns, epochs_of, repetition

SIGNIFICANCE = 0.01  # the level of the coverage and bias tests: a right law is flagged by one of them in ~2% of folds
SCALE_SIGNIFICANCE = 0.001  # the scale test's level: at 0.01 it fired on 5 of 60 right-law sets (module docstring)
LACK_OF_FIT_SIGNIFICANCE = 0.01  # the lack-of-fit and trend tests' level, chosen before any measurement
LACK_OF_FIT_SIMULATIONS = 200  # simulated sets of a right law per validation (the smallest P is 1 / 201)
LACK_OF_FIT_SPARE_ROWS = 6  # rows beyond the free coefficients the test needs: 3 basis terms, an intercept and 2 more
DEFAULT_ROLLING = 5  # cut-offs of a rolling validation when none are given
ROLLING_SHARES = (0.5, 0.9)  # default cut-offs: the runs below each hold from 50% to 90% of the runs
QUANTITIES = ("N", "D", "C", "loss")  # what a holdout expression can name besides the caller's columns


def _pct(value, signed=False):
    return "n/a" if value is None else f"{100 * value:+.2f}%" if signed else f"{100 * value:.2f}%"


def _p(value):
    return "n/a" if value is None else "<0.001" if value < 0.001 else f"{value:.3g}"


@dataclasses.dataclass(frozen=True)
class Fold(Judged):
    """One fit on the runs kept and its predictions of the runs held out.

    Attributes:
      label: what was held out, in words. cutoff: the compute cut-off (FLOPs) of a rolling fold or of the K
        largest runs (the smallest held-out compute), else None.
      fit: the ``FitResult`` of the kept runs (with rows of positive weight); bootstrap: its ``BootstrapResult``
        or None. held_out: indices (m,) of the held-out runs in the caller's arrays.
      actual: their losses (m,); compute: their compute (m,) FLOPs; prediction: the ``Prediction`` at them.
      metrics: see ``fold_metrics``. warnings: the fold's misspecification messages (empty when none).
    """

    label: str
    cutoff: float | None
    fit: FitResult
    bootstrap: BootstrapResult | None
    held_out: np.ndarray
    actual: np.ndarray
    compute: np.ndarray
    prediction: Prediction
    metrics: dict
    warnings: tuple

    def __post_init__(self):
        object.__setattr__(self, "warnings", issues(self.warnings, "misspecified"))

    @property
    def status(self) -> Status:
        """The fold's fit's status (a held-out error is a warning, not a status)."""
        return self.fit.status

    @property
    def notes(self) -> tuple:
        return (Issue("held-out", f"{self.label}: {len(self.held_out)} runs predicted by a fit of "
                                  f"{int(np.sum(np.asarray(self.fit.data[3]) > 0))}"),)

    def summary(self) -> str:
        """One line: what was held out, the errors and the two tests."""
        m = self.metrics
        return (f"{self.label}: fit on {self.fit.n_rows} runs, {m['n']} predicted; mean |err| "
                f"{_pct(m['mean_abs_rel_error'])}, max |err| {_pct(m['max_abs_rel_error'])}, bias {_pct(m['bias'], True)}; "
                f"mean-CI cover {m['n_in_ci']}/{m['n']}, PI cover {m['n_in_pi']}/{m['n']} (expected "
                f"{_pct(m['expected_pi_coverage'])}, P {_p(m['coverage_p'])}), P(bias) {_p(m['bias_p'])}: "
                + ("MISSPECIFIED?" if m["flagged"] else "ok"))

    def records(self) -> list:
        """One dict per held-out run: ``N``, ``D``, ``C``, ``loss`` (actual), ``predicted``, ``rel_error``,
        ``mean`` and ``new_run`` intervals ``{lo, hi}``, ``in_mean_interval``, ``in_prediction_interval`` and
        ``extrapolation``."""
        out = []
        for i, record in enumerate(self.prediction.records()):
            actual = float(self.actual[i])
            out.append({"index": int(self.held_out[i]), "N": record["N"], "D": record["D"],
                        "C": float(self.compute[i]), "loss": actual, "predicted": record["loss"],
                        "rel_error": record["loss"] / actual - 1, "mean": record["mean"], "new_run": record["new_run"],
                        "in_mean_interval": bool(record["mean"]["lo"] <= actual <= record["mean"]["hi"]),
                        "in_prediction_interval": bool(record["new_run"]["lo"] <= actual <= record["new_run"]["hi"]),
                        "extrapolation": record["extrapolation"]})
        return out

    def to_dict(self) -> dict:
        boot = None if self.bootstrap is None else {"n_resamples": self.bootstrap.n_resamples,
                                                    "n_failed": self.bootstrap.n_failed,
                                                    "warnings": self.bootstrap.warnings}
        return {"label": self.label, "cutoff": self.cutoff, "n_fit": int(np.sum(np.asarray(self.fit.data[3]) > 0)),
                "n_held_out": len(self.held_out), "method": self.prediction.method,
                "residual_scale": self.prediction.residual_scale,
                "fit": {"law": self.fit.family.name, "params": self.fit.params, "converged": self.fit.converged,
                        "warnings": list(self.fit.warnings)},
                "bootstrap": boot, "metrics": self.metrics, "warnings": list(self.warnings), "runs": self.records()}


@dataclasses.dataclass(frozen=True)
class Validation(Judged):
    """What ``validate`` found: ``mode`` ("holdout", "largest" or "rolling"), ``folds`` (one ``Fold`` per fit),
    ``confidence`` (the intervals' level), ``warnings`` (every fold's misspecification messages, each with its
    fold's label, and the lack-of-fit test's), ``notes`` (what the caller should know: cut-offs left out, the
    interval method, a lack-of-fit test left out), ``lack_of_fit`` (``lack_of_fit``'s dict for the law fitted to
    every run, or None when not run) and ``repeated_data`` (the design check, ``optimal.data.repetition``'s
    ``Repetition.to_dict()``, or None: no unique-tokens or epochs column, or a law that models repetition)."""

    mode: str
    folds: tuple
    confidence: float
    warnings: tuple
    notes: tuple = ()
    lack_of_fit: dict | None = None
    repeated_data: dict | None = None

    def __post_init__(self):
        object.__setattr__(self, "warnings", issues(self.warnings, "misspecified"))
        object.__setattr__(self, "notes", issues(self.notes, "context"))

    @property
    def status(self) -> Status:
        """SUCCESS when every fold's fit converged, PARTIAL when some did, FAILED when none did."""
        return combined_status(f.status for f in self.folds)

    @property
    def misspecified(self) -> bool:
        """Whether any fold's held-out errors exceed what its intervals allow, the lack-of-fit test flags the law, or
        the runs repeat their data and the law does not model it (the design check: known without a test)."""
        return (any(f.metrics["flagged"] for f in self.folds) or bool(self.lack_of_fit and self.lack_of_fit["flagged"])
                or bool(self.repeated_data and self.repeated_data["flagged"]))

    def to_dict(self) -> dict:
        """The JSON: mode, confidence, significance, misspecified, notes, warnings, ``folds`` (each with label,
        cutoff, n_fit, n_held_out, method, residual_scale, fit, bootstrap, metrics, warnings and runs),
        ``lack_of_fit`` (``lack_of_fit``'s dict, or null when not run) and ``repeated_data`` (the design check's dict,
        or null)."""
        return {"mode": self.mode, "confidence": self.confidence, "significance": SIGNIFICANCE,
                "misspecified": self.misspecified, "notes": list(self.notes), "warnings": list(self.warnings),
                "folds": [f.to_dict() for f in self.folds], "lack_of_fit": self.lack_of_fit,
                "repeated_data": self.repeated_data, "status": self.status.label}

    def summary(self) -> str:
        """The text ``optimal validate`` prints: per fold its errors and tests (and, for one fold, a table of the
        held-out runs); the warnings go to stderr."""
        report = self
        level = f"{100 * report.confidence:g}%"
        first = report.folds[0]
        method = (f"bootstrap ({first.bootstrap.n_resamples} resamples per fit)" if first.bootstrap is not None
                  else "linearised (no --bootstrap)")
        lines = [f"validate: {first.fit.family.display_name or first.fit.family.name} law; {level} intervals, {method}"]
        lines += [f"  note: {note}" for note in report.notes]
        headers = ["held out", "fit", "predicted", "mean |err|", "max |err|", "bias", "mean-CI cover", "PI cover",
                   "PI expected", "P(cover)", "P(bias)", "flag"]
        rows = []
        for fold in report.folds:
            m = fold.metrics
            rows.append([fold.label.removeprefix("held out: ")[:60], str(fold.fit.n_rows), str(m["n"]),
                         _pct(m["mean_abs_rel_error"]), _pct(m["max_abs_rel_error"]), _pct(m["bias"], True),
                         f"{m['n_in_ci']}/{m['n']}", f"{m['n_in_pi']}/{m['n']}", _pct(m["expected_pi_coverage"]),
                         _p(m["coverage_p"]), _p(m["bias_p"]), "MISSPECIFIED?" if m["flagged"] else "ok"])
        lines.append(format_table(headers, rows))
        if len(report.folds) == 1:
            lines += ["", f"held-out runs (errors: predicted / actual - 1; {level} intervals for the mean and a new run):"]
            run_rows = []
            for r in first.records():
                run_rows.append([f"{r['N']:.4g}", f"{r['D']:.4g}", f"{r['C']:.4g}", f"{r['loss']:.4f}",
                                 f"{r['predicted']:.4f}", _pct(r["rel_error"], True),
                                 f"[{r['mean']['lo']:.4f}, {r['mean']['hi']:.4f}]",
                                 f"[{r['new_run']['lo']:.4f}, {r['new_run']['hi']:.4f}]",
                                 "yes" if r["in_prediction_interval"] else "NO",
                                 f"{r['extrapolation']['compute_decades']:+.2f}"])
            lines.append(format_table(["N", "D", "C (FLOPs)", "loss", "predicted", "error", "mean CI", "new-run PI",
                                        "in PI", "C vs fit (dec)"], run_rows))
        if report.lack_of_fit is not None:
            lines += ["", lack_of_fit_text(report.lack_of_fit)]
        if report.repeated_data is not None and report.repeated_data["max_epochs"] is not None:
            found = report.repeated_data
            lines += ["", f"repeated data (from the column {found['column']!r}, not a test): "
                          + (f"{found['n_repeated']} of {found['n_runs']} runs repeat their data, up to "
                             f"{found['max_epochs']:.3g} epochs, and the law counts every repeated token as new: "
                             "MISSPECIFIED by design" if found["flagged"] else
                             f"no run repeats its data (at most {found['max_epochs']:.3g} epochs)")]
        return "\n".join(lines)


def fold_metrics(prediction: Prediction, actual, confidence, errors, residuals, seed=0, size=4000) -> dict:
    """The held-out errors of one fold and the two tests of the module docstring.

    Args:
      prediction: the ``Prediction`` at the held-out runs (m); actual: their losses (m,).
      errors: samples (S, m) of the predicted mean log loss's error at those runs, shared by the runs
        (``optimal.analysis.predict.mean_error_samples``). residuals: the fit's log-loss residuals (rows of positive
        weight), the scatter a new run adds. seed, size: the simulation's.

    Returns:
      ``{n, mean_abs_rel_error, max_abs_rel_error, bias, ci_coverage, pi_coverage, n_in_ci, n_in_pi,
      expected_pi_coverage, coverage_p, bias_p, flagged_coverage, flagged_bias, rms_ratio, expected_rms_ratio,
      rms_ratio_bound, scale_p, flagged_scale, flagged}`` (the scale test: ``_scale_test``). Relative errors are
      ``predicted / actual - 1`` and ``bias`` their mean. The tests compare the fold with ``size`` simulated folds in
      which the law is right: each takes a row of ``errors`` (the fit's error, the same for every held-out run) and a
      residual drawn for each run. ``coverage_p``: the share of simulated folds with no more runs inside the
      prediction interval than observed (``expected_pi_coverage``: their mean coverage); ``bias_p``: the two-sided
      share with a mean log error as far out as the observed one. None (and no flag) when the mean's
      uncertainty is infinite, or when every held-out loss is predicted to rounding (64 float64 ulps of its log).
    """
    actual = np.asarray(actual, float)
    rel = prediction.loss / actual - 1
    in_ci = (prediction.mean_lo <= actual) & (actual <= prediction.mean_hi)
    in_pi = (prediction.new_lo <= actual) & (actual <= prediction.new_hi)
    m, k = len(actual), int(in_pi.sum())
    out = {"n": m, "mean_abs_rel_error": float(np.mean(np.abs(rel))), "max_abs_rel_error": float(np.max(np.abs(rel))),
           "bias": float(np.mean(rel)), "ci_coverage": float(np.mean(in_ci)), "pi_coverage": float(np.mean(in_pi)),
           "n_in_ci": int(in_ci.sum()), "n_in_pi": k, "expected_pi_coverage": None, "coverage_p": None,
           "bias_p": None, "flagged_coverage": False, "flagged_bias": False, "rms_ratio": None,
           "expected_rms_ratio": None, "rms_ratio_bound": None, "scale_p": None, "flagged_scale": False,
           "flagged": False}
    errors = np.asarray(errors, float)
    if not np.all(np.isfinite(errors)) or not len(residuals):
        return out
    log_actual = np.log(actual)
    if np.max(np.abs(np.log(prediction.loss) - log_actual)) <= 64 * np.finfo(float).eps * max(1.0, np.max(np.abs(
            log_actual))):  # predicted to rounding: errors of that size are no evidence either way (a noiseless law)
        return out
    rng = np.random.default_rng(seed)
    point = np.log(prediction.loss)
    # a simulated truth lies as far from the point as the point from the truth (the bootstrap principle), and a
    # simulated run adds a residual of the fitted rows' own kind
    simulated = point - errors[rng.integers(len(errors), size=size)] + rng.choice(residuals, size=(size, m))
    inside = np.sum((np.log(prediction.new_lo) <= simulated) & (simulated <= np.log(prediction.new_hi)), axis=1)
    observed = float(np.mean(point - np.log(actual)))
    mean_error = np.mean(point - simulated, axis=1)
    coverage_p = float(np.mean(inside <= k))
    bias_p = float(min(1.0, 2 * min(np.mean(mean_error <= observed), np.mean(mean_error >= observed))))
    out.update(expected_pi_coverage=float(np.mean(inside) / m), coverage_p=coverage_p, bias_p=bias_p,
               flagged_coverage=coverage_p < SIGNIFICANCE, flagged_bias=bias_p < SIGNIFICANCE)
    out.update(_scale_test(point - np.log(actual), point - simulated, residuals))
    out["flagged"] = out["flagged_coverage"] or out["flagged_bias"] or out["flagged_scale"]
    return out


def _rms(x, axis=None):
    return np.sqrt(np.mean(np.square(x), axis=axis))


def _scale_test(observed, simulated, residuals) -> dict:
    """The scale test (module docstring): the held-out RMS log error ``observed`` (m,) over the in-sample residual
    scale (the RMS of ``residuals``, already scaled up for new runs), against the same ratio in the simulated folds
    ``simulated`` (S, m) of a right law; one-sided (larger errors), at ``SCALE_SIGNIFICANCE``."""
    scale = float(_rms(residuals))
    ratio, ratios = float(_rms(observed)) / scale, _rms(simulated, axis=1) / scale
    p = float(np.mean(ratios >= ratio))
    return {"rms_ratio": ratio, "expected_rms_ratio": float(np.median(ratios)),
            "rms_ratio_bound": float(np.quantile(ratios, 1 - SCALE_SIGNIFICANCE)), "scale_p": p,
            "flagged_scale": p < SCALE_SIGNIFICANCE}


# ---- the in-sample lack-of-fit test (and the trend with a column the law ignores) ----

class _Simulated(NamedTuple):
    """A resampler (``optimal.fitting.resample``'s protocol) whose resample r is given: every row kept with its N, D
    and weight, its log-loss read from row r of ``draw = (log_losses (S, n),)``. Each lane reads its own losses."""

    def resample(self, key, indices, data, base_weights, draw):
        (log_losses,) = draw
        per_lane = lambda x: jnp.broadcast_to(x, indices.shape + jnp.shape(x))  # noqa: E731
        rows = jax.tree.map(per_lane, data)._replace(log_loss=log_losses[indices])
        return rows, per_lane(base_weights), True

    def starts(self, indices, starts):
        return jnp.broadcast_to(starts, indices.shape + starts.shape)


@float64_scope
def simulated_refits(result: FitResult, log_losses, max_iter=1000):
    """Refit ``result``'s law (its family, constraints, objective and rows) to the log-losses ``log_losses`` (S, n),
    one row per simulated set, each from the fit's own optimum; lanes of the bootstrap's one compiled refit
    (``optimal.fitting.resample.refit_resamples``). Returns ``(residuals (S, n), converged (S,))``: each refit's
    observed minus fitted log-loss at every row."""
    log_losses = np.asarray(log_losses, np.float64)
    dtype = np.dtype(result.config["dtype"])
    struct, data = result.problem()
    config = SolverConfig(result.config["delta"], result.config["robust"], max_iter, result.config["xtol"],
                          problem_evaluator(result.family, struct))
    mesh = Mesh(np.asarray(jax.devices()[:1]), ("resamples",))
    start = jnp.asarray(result.free, dtype)[None]
    shared = place((start, start[:0], data, jnp.asarray(result.data[3], dtype), (jnp.asarray(log_losses, dtype),),
                    jnp.asarray(config.delta, dtype)), NamedSharding(mesh, PartitionSpec()))
    n_rows = log_losses.shape[1]
    (thetas, _, converged, _, _), _ = refit_resamples(
        np.arange(len(log_losses)), jax.random.PRNGKey(0), shared, mesh, config, _Simulated(), 1, n_rows,
        per_call(Refit().chunk_size, 1, n_rows))
    predicted_minus_observed = _refit_residuals(result.family, jnp.asarray(thetas, dtype), data,
                                                jnp.asarray(log_losses, dtype))
    return -np.asarray(predicted_minus_observed), np.asarray(converged, bool)


@functools.partial(jax.jit, static_argnames="family")
def _refit_residuals(family, thetas, data, log_losses):
    return jax.vmap(lambda z, y: residuals(family, z, data._replace(log_loss=y)))(thetas, log_losses)


def explained_share(residuals, weights, basis):
    """The share of the residuals' weighted variance that a weighted least-squares regression on ``basis`` (n, k)
    and an intercept explains (R^2), for ``residuals`` (n,) or (S, n); rows of weight 0 left out. Shape (S,) or ()."""
    w = np.asarray(weights, float)
    keep = w > 0
    root = np.sqrt(w[keep] / w[keep].sum())
    r = np.asarray(residuals, float)[..., keep] * root
    x = np.column_stack([np.ones(keep.sum()), np.asarray(basis, float)[keep]]) * root[:, None]
    projection = x @ np.linalg.pinv(x)  # onto the intercept and the basis, in the weighted metric
    around_mean = r - (r @ root)[..., None] * root  # the intercept alone
    total = np.sum(np.square(around_mean), axis=-1)
    left = np.sum(np.square(r - r @ projection.T), axis=-1)
    return np.where(total > 0, 1.0 - left / np.where(total > 0, total, 1.0), 0.0)


def _standard(values, weights):
    """``values`` (n,) centred and scaled over the rows of positive weight (weighted mean 0, sd 1)."""
    w = np.asarray(weights, float) / np.sum(weights)
    centred = values - np.sum(w * values)
    sd = np.sqrt(np.sum(w * centred ** 2))
    return centred / sd if sd > 0 else centred


def curvature_basis(n_params, n_tokens, weights):
    """The lack-of-fit test's basis (n, 3): u^2, v^2 and u v, with u and v ln N and ln D standardised, each
    column standardised (smooth bends in log-log space a power law in N plus one in D cannot take up)."""
    u, v = _standard(np.log(n_params), weights), _standard(np.log(n_tokens), weights)
    return np.column_stack([_standard(c, weights) for c in (u * u, v * v, u * v)])


@float64_scope
def lack_of_fit(result: FitResult, against=None, *, simulations=LACK_OF_FIT_SIMULATIONS, seed=0,
                max_iter=1000) -> dict:
    """The in-sample lack-of-fit test of a fit (module docstring), and with ``against`` the trend test.

    Args:
      result: a ``FitResult`` (not a joint fit). against: None, or ``(name, values (n,))``: a column the law does not
        read, one value per fitted row (positive: its log is used; else the values).
      simulations: S, the simulated sets of the null (a right law); seed: their PRNG seed; max_iter: each refit's
        iteration budget.

    Returns:
      ``{"n_rows", "simulations", "n_failed", "significance", "curvature", "trend", "flagged"}``: ``curvature`` and ``trend``
      (None without ``against``) each ``{"basis", "explained", "expected", "p", "flagged"}`` (``trend`` also
      ``column``, ``log`` and ``slope``: the residuals' weighted least-squares slope, log-loss per unit of the
      basis, i.e. per e-fold of the column when ``log``). ``explained``: the share of the residuals' weighted
      variance the basis explains; ``expected``: its median over the simulated sets; ``p``: ``(1 + the simulated
      sets explaining at least as much) / (1 + S)``. A refit that did not converge (``n_failed``) counts with the
      residuals where it stopped: it started at the fitted law and has absorbed less of its set's scatter than a
      converged refit would, so its share errs high and P with it (counting it as explaining everything instead
      made P >= 7/201 on a set with 6 such refits, and the test powerless).
    """
    n, d, loss, w = (np.asarray(x, float) for x in result.data)
    observed = log_residuals(result)
    fitted = np.log(loss) - observed
    pool = new_run_residuals(result)  # the positive-weight rows' residuals, scaled up as a new run's
    rng = np.random.default_rng(seed)
    simulated, converged = simulated_refits(result, fitted + rng.choice(pool, size=(simulations, len(n))), max_iter)
    bases = {"curvature": ("(ln N)^2, (ln D)^2, ln N ln D (standardised)", curvature_basis(n, d, w))}
    log_scale = None
    if against is not None:
        name, values = against
        values = np.asarray(values, float)
        log_scale = bool(np.all(values > 0))
        x = np.log(values) if log_scale else values
        bases["trend"] = (f"{'ln ' if log_scale else ''}{name}", x[:, None])
    out = {"n_rows": int(np.sum(w > 0)), "simulations": int(simulations), "n_failed": int(np.sum(~converged)),
           "significance": LACK_OF_FIT_SIGNIFICANCE, "curvature": None, "trend": None}
    for key, (label, basis) in bases.items():
        statistic = float(explained_share(observed, w, basis))
        null = explained_share(simulated, w, basis)  # a refit stopped early counts where it stopped (docstring)
        null = np.where(np.isfinite(null), null, np.inf)  # a refit that ended non-finite counts as explaining all
        p = float((1 + np.sum(null >= statistic)) / (1 + simulations))
        out[key] = {"basis": label, "explained": statistic, "expected": float(np.median(null)), "p": p,
                    "flagged": p < LACK_OF_FIT_SIGNIFICANCE}
        if key == "trend":
            keep = w > 0
            x, r, ww = basis[keep, 0], observed[keep], w[keep] / w[keep].sum()
            xc = x - np.sum(ww * x)
            out[key].update(column=against[0], log=log_scale,
                            slope=float(np.sum(ww * xc * r) / np.sum(ww * xc * xc)))
    out["flagged"] = any(out[k] is not None and out[k]["flagged"] for k in ("curvature", "trend"))
    return out


def lack_of_fit_text(found) -> str:
    """The lack-of-fit test's lines of ``Validation.summary``."""
    lines = [f"lack of fit (the law fitted to all {found['n_rows']} runs; {found['simulations']} sets simulated from "
             f"the fitted law with its residuals and refitted; level {found['significance']:g}):"]
    for key, verb in (("curvature", "bend with"), ("trend", "trend with")):
        test = found[key]
        if test is None:
            continue
        slope = f", {100 * test['slope']:+.3g}% loss per {_per(test)}" if key == "trend" else ""
        lines.append(f"  residuals {verb} {test['basis']}: {100 * test['explained']:.1f}% of their variance explained "
                     f"(a right law: median {100 * test['expected']:.1f}%){slope}, P {_p(test['p'])}: "
                     + ("MISSPECIFIED?" if test["flagged"] else "ok"))
    if found["n_failed"]:
        lines.append(f"  {found['n_failed']} of {found['simulations']} refits did not converge (each counted where it "
                     "stopped: that errs toward a larger P)")
    return "\n".join(lines)


def _per(trend) -> str:
    """The unit of a trend test's slope: "e-fold of COLUMN" (its log was the basis) or "unit of COLUMN"."""
    return f"{'e-fold' if trend['log'] else 'unit'} of {trend['column']}"


def lack_of_fit_messages(found) -> list:
    """The words for a flagged lack-of-fit or trend test (empty when neither is flagged)."""
    out = []
    test = found["curvature"]
    if test is not None and test["flagged"]:
        out.append(f"the fit's residuals bend in ln N and ln D where the law cannot: a quadratic surface explains "
                   f"{100 * test['explained']:.1f}% of their variance, against a median {100 * test['expected']:.1f}% "
                   f"in sets simulated from the fitted law ({_p_text(test['p'])}). The law's form is probably wrong "
                   "for these runs, and its intervals do not include that error")
    test = found["trend"]
    if test is not None and test["flagged"]:
        out.append(f"the fit's residuals trend with {test['column']}, which the law does not read: "
                   f"{100 * test['slope']:+.3g}% loss per {_per(test)}, explaining {100 * test['explained']:.1f}% of their "
                   f"variance against a median {100 * test['expected']:.1f}% in sets simulated from the fitted law "
                   f"({_p_text(test['p'])}). The law probably misses an effect of {test['column']}; fit one that reads "
                   "it (repeated data: --law data-constrained --covariate U=unique_tokens)")
    return out


def _against(against, quantities, columns, n):
    """``(name, values (n,) float)`` of the column ``against`` names, or None; ``DataError`` for an unknown,
    non-numeric or constant one."""
    if against is None:
        return None
    named = {**{k.casefold(): (k, v) for k, v in (columns or {}).items()},
             **{k.casefold(): (k, v) for k, v in quantities.items()}}
    key = str(against).strip().casefold()
    if key not in named:
        known = ", ".join(list(quantities) + list(columns or {}))
        raise DataError(f"against names no column {against!r}; it can name {known}")
    name, values = named[key]
    try:
        values = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise DataError(f"against: column {name!r} must hold numbers (a trend is tested against them)") from None
    if values.shape != (n,) or not np.all(np.isfinite(values)):
        raise DataError(f"against: column {name!r} must hold one finite number per run ({n})")
    if np.ptp(values) == 0:
        raise DataError(f"against: column {name!r} is {values[0]:g} for every run: no trend can be tested against it")
    return name, values


def misspecification_messages(metrics, confidence) -> list:
    """The words for a flagged fold (empty when it is not flagged)."""
    if not metrics["flagged"]:
        return []
    reasons = []
    if metrics["flagged_coverage"]:
        reasons.append(f"the {100 * confidence:g}% prediction interval holds {metrics['n_in_pi']} of {metrics['n']} "
                       f"held-out runs where a right law would hold {100 * metrics['expected_pi_coverage']:.0f}% "
                       f"({_p_text(metrics['coverage_p'])} of so few)")
    if metrics["flagged_bias"]:
        reasons.append(f"the errors are biased: mean relative error {100 * metrics['bias']:+.2f}% "
                       f"({_p_text(metrics['bias_p'])} of a bias this large from a right law; it predicts "
                       f"{'too high' if metrics['bias'] > 0 else 'too low'} a loss)")
    if metrics["flagged_scale"]:
        reasons.append(f"the held-out RMS log error is {metrics['rms_ratio']:.3g} times the fitted runs' residual "
                       f"scale, where a right law gives {metrics['expected_rms_ratio']:.3g} (at most "
                       f"{metrics['rms_ratio_bound']:.3g} in {100 * (1 - SCALE_SIGNIFICANCE):g}% of simulated folds; "
                       f"{_p_text(metrics['scale_p'])})")
    return [f"held-out errors exceed what the intervals allow: {'; '.join(reasons)}. The law is probably "
            "misspecified for these runs, and its intervals understate the uncertainty of extrapolating it"]


def _p_text(p):
    return "P < 0.001" if p < 0.001 else f"P = {p:.2g}"


def _holdout_mask(holdout, quantities, columns, n):
    """The held-out rows (n,) bool from a mask or a filter expression on ``quantities`` and ``columns``."""
    if isinstance(holdout, (str, Where)):
        f = parse_where(holdout)
        key = f.column.strip().casefold()
        named = {**{k.casefold(): (k, v) for k, v in (columns or {}).items()},
                 **{k.casefold(): (k, v) for k, v in quantities.items()}}
        if key not in named:
            known = ", ".join(list(quantities) + list(columns or {}))
            raise DataError(f"the holdout {f.expression!r} names no column {f.column!r}; it can name {known}")
        name, values = named[key]
        return where_mask(values, f, name, "the holdout")
    mask = np.asarray(holdout)
    if mask.dtype != bool or mask.shape != (n,):
        raise DataError(f"holdout must be a filter expression (e.g. 'C>=6.4e18') or a bool mask of one value per run "
                        f"({n}), got {mask.dtype} of shape {mask.shape}")
    return mask


def _rolling_cutoffs(rolling, compute):
    """Compute cut-offs (FLOPs), increasing, and whether they were given by the caller."""
    if rolling is True or (not isinstance(rolling, (bool, np.ndarray, list, tuple)) and rolling is not None):
        count = DEFAULT_ROLLING if rolling is True else check_count(rolling, "rolling (a number of cut-offs)", 1, 100,
                                                                    DataError)
        ranked = np.sort(compute)
        shares = np.linspace(*ROLLING_SHARES, count) if count > 1 else np.asarray([ROLLING_SHARES[0]])
        cutoffs = ranked[np.minimum(np.ceil(shares * len(ranked)).astype(int), len(ranked) - 1)]
        return np.unique(cutoffs), False
    cutoffs = np.asarray(rolling, dtype=float)
    if cutoffs.ndim != 1 or not len(cutoffs) or not np.all(np.isfinite(cutoffs) & (cutoffs > 0)):
        raise DataError(f"rolling cut-offs must be positive finite compute values (FLOPs), got {rolling!r}")
    return np.unique(cutoffs), True


@float64_scope
def validate(n_params, n_tokens, loss, weights=None, *, holdout=None, largest=None, rolling=None, compute=None,
             columns=None, flops_per_param_token=DEFAULT_FLOPS_PER_PARAM_TOKEN, law="chinchilla", covariates=None,
             fix=None, tie=(), objective=Objective(), search=Search(), solver=Solver(), dtype=None, n_resamples=0,
             seed=0, confidence=0.95, max_iter=1000, clusters=None, against=None,
             simulations=LACK_OF_FIT_SIMULATIONS, **unknown) -> Validation:
    """Fit on some runs, predict the held-out ones, and test the errors against the intervals (module docstring).

    Args:
      n_params, n_tokens, loss, weights: the runs, as for ``optimal.fit`` (N parameters, D tokens, loss nats), (n,).
      holdout: which runs to hold out: a filter expression as ``parse_where`` reads it (``"C>=6.4e18"``), over
        ``N``, ``D``, ``C`` (compute) and ``loss`` and the caller's ``columns``; or a bool mask (n,).
      largest: hold out the ``largest`` runs of largest compute (ties broken by order).
      rolling: True (``DEFAULT_ROLLING`` cut-offs, placed so that from 50% to 90% of the runs lie below them),
        a number of such cut-offs, or the cut-offs themselves (FLOPs). Each fold fits the runs of compute below
        its cut-off and predicts every run at or above it. Give exactly one of holdout, largest and rolling.
      compute: each run's training compute (FLOPs), (n,); default k N D with k = ``flops_per_param_token``.
      columns: ``{name: (n,) values}`` more columns a holdout expression can name (text or numbers). One named
        ``unique_tokens``, ``U`` or ``unique`` (or ``epochs``) is checked against the design when the law does not
        model repetition (``optimal.data.repetition``): runs that repeat their data make the validation
        ``misspecified`` (a warning coded "repeated-data"; ``repeated_data`` in the result), and, without
        ``against``, the trend test is run against epochs max(1, D / U) (a note says so).
      law, covariates ({name: (n,)}), fix, tie, objective (an ``Objective``), search (a ``Search``), solver (a
        ``Solver``), dtype: passed to ``optimal.fit`` for every fold.
      n_resamples: bootstrap resamples per fold (0: the linearised interval, rougher); seed, max_iter: the
        bootstrap's. confidence: the intervals' level. clusters: optional (n,) labels (any text), the bootstrap's
        resampling unit: each fold's bootstrap resamples whole clusters of its fitted runs (``bootstrap(groups=)``;
        needs ``n_resamples``). One validation per group of runs: ``validate_groups``.
      simulations: sets simulated from the law fitted to every run for the lack-of-fit test (``lack_of_fit``;
        0: no such test; else at least 100, so that P can fall below ``LACK_OF_FIT_SIGNIFICANCE``).
      against: a column the law does not read, named as a holdout names one (``N``, ``D``, ``C``, ``loss`` or one
        of ``columns``; numbers): the lack-of-fit test also asks whether the residuals trend with it (its log
        when positive), e.g. epochs D / U when data repeat. Given, it replaces the automatic trend against epochs.

    Returns:
      A ``Validation``.

    Raises:
      DataError: not exactly one of holdout, largest, rolling; a holdout naming an unknown column, holding out no
        run, or leaving too few runs to fit (``optimal.data.runs.min_rows``: one more than the free coefficients);
        ``largest`` out of range; rolling cut-offs that leave too few runs below or none above; bad runs or
        covariates (as ``optimal.fit``); ``against`` naming no column, or one not numeric or constant;
        ``simulations`` out of range.
    """
    refuse_unknown("validate", unknown)
    settings = dict(zip(("objective", "search", "solver"), checked(objective, search, solver)), dtype=dtype)
    chosen = [name for name, value in (("holdout", holdout), ("largest", largest), ("rolling", rolling))
              if value is not None and value is not False]
    if len(chosen) != 1:
        raise DataError("give exactly one of holdout (an expression such as 'C>=6.4e18'), largest (K runs) and "
                        f"rolling (cut-offs){'; got ' + ', '.join(chosen) if chosen else ''}")
    check_confidence(confidence)
    if n_resamples:
        check_count(n_resamples, "n_resamples", 2, MAX_RESAMPLES)
    check_count(seed, "seed", 0, MAX_SEED)
    if simulations:
        check_count(simulations, "simulations (0, or at least 100)", 100, MAX_RESAMPLES, DataError)
    runs = validate_runs(n_params, n_tokens, loss, weights, n_free=0)
    n = len(runs.loss)
    check_columns(columns, n)
    clusters = _cluster_labels(clusters, n_resamples, n)
    fam = family_of(law)
    n_free = free_count(fam, *check_constraints(fam, fix, tie, ())[:2])
    if compute is None:
        compute = flops_per_param_token * runs.n_params * runs.n_tokens
    compute = np.asarray(compute, dtype=float)
    if compute.shape != (n,) or not np.all(np.isfinite(compute) & (compute > 0)):
        raise DataError(f"compute must be positive finite FLOPs, one per run ({n})")
    covariates = {k: np.asarray(v, float) for k, v in (check_mapping(covariates, "covariates", "{'U': (n,) unique "
                                                                      "tokens}", DataError) or {}).items()}
    notes = []
    quantities = {"N": runs.n_params, "D": runs.n_tokens, "C": compute, "loss": runs.loss}
    trend_column = _against(against, quantities, columns, n)
    if trend_column is not None and not simulations:
        raise DataError("against is tested by the lack-of-fit test: give simulations (at least 100), not 0")
    design = repetition(runs.n_tokens, columns, fam, runs.weights)
    if design is not None and design.note is not None:
        notes.append(design.note)
    if design is not None and design.max_epochs is not None and against is None and simulations:
        trend_column = _epochs_trend(design, runs.n_tokens, columns, notes)
    if chosen[0] == "holdout":
        held = _holdout_mask(holdout, quantities, columns, n)
        label = holdout if isinstance(holdout, str) else holdout.expression if isinstance(holdout, Where) else "mask"
        plans = [(f"held out: {label}", None, held)]
    elif chosen[0] == "largest":
        k = check_count(largest, "largest (runs held out)", 1, n - 1, DataError)
        order = np.argsort(-compute, kind="stable")
        held = np.zeros(n, bool)
        held[order[:k]] = True
        plans = [(f"held out: the {k} largest-compute runs (C >= {compute[held].min():.4g} FLOPs)",
                  float(compute[held].min()), held)]
    else:
        cutoffs, given = _rolling_cutoffs(rolling, compute)
        plans = []
        for c in cutoffs:
            held = compute >= c
            n_kept = int(np.sum(~held & (runs.weights > 0)))
            if not given and (n_kept < min_rows(n_free) or not held.any()):
                notes.append(f"cut-off C = {c:.4g} left out: {n_kept} runs below it (need {min_rows(n_free)})")
                continue
            plans.append((f"C >= {c:.4g} FLOPs (fitted on C below)", float(c), held))
        if not plans:
            raise DataError("no rolling cut-off leaves enough runs to fit below it and any run above it")
    folds = []
    for label, cutoff, held in plans:
        folds.append(_fold(runs, held, label, cutoff, compute, covariates, law, fix, tie, n_free, n_resamples, seed,
                           confidence, max_iter, settings, clusters))
    if folds and folds[0].prediction.method == "linearised":
        notes.append("intervals linearised from each fit's curvature (no bootstrap): rough; add bootstrap resamples "
                     "for percentile intervals")
    found = tuple(f"[{f.label}] {w}" if len(folds) > 1 else w for f in folds for w in f.warnings)
    tested = None
    n_rows = int(np.sum(runs.weights > 0))
    if simulations and n_rows < n_free + LACK_OF_FIT_SPARE_ROWS:
        notes.append(f"no lack-of-fit test: {n_rows} runs leave too few for the law's {n_free} free coefficients "
                     f"and its basis (need {n_free + LACK_OF_FIT_SPARE_ROWS})")
    elif simulations:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the folds' fits carry the fit's warnings
            every = fit(runs.n_params, runs.n_tokens, runs.loss, runs.weights, law=law, covariates=covariates or None,
                        fix=fix, tie=tie, **settings)
        tested = lack_of_fit(every, trend_column, simulations=simulations, seed=seed, max_iter=max_iter)
        found += tuple(lack_of_fit_messages(tested))
    if design is not None and design.warning is not None:
        found += (design.warning,)
    return Validation(chosen[0], tuple(folds), float(confidence), found, tuple(notes), tested,
                      None if design is None else design.to_dict())


def _epochs_trend(design, n_tokens, columns, notes):
    """The trend test's column when the runs carry unique tokens or epochs and no ``against`` was given:
    ``("epochs", max(1, epochs) (n,))``, with a note saying so; None when no run repeats its data."""
    epochs = epochs_of(n_tokens, columns[design.column], design.kind)
    epochs = np.where(np.isfinite(epochs), np.maximum(1.0, epochs), 1.0)  # a run left out (weight 0) may lack it
    if np.ptp(epochs) == 0:
        return None
    notes.append(f"the trend test was run against epochs = max(1, {design.epochs_label}) (the runs carry "
                 f"{design.column!r}; no against given)")
    return "epochs", epochs


def _fold(runs, held, label, cutoff, compute, covariates, law, fix, tie, n_free, n_resamples, seed, confidence,
          max_iter, settings, clusters=None):
    """Fit the kept runs (the held-out ones at weight 0: one row count, one compiled program for every fold), then
    drop the held-out rows from the result, bootstrap it if asked, and predict the held-out runs."""
    m = int(held.sum())
    if m == 0:
        raise DataError(f"the holdout ({label.removeprefix('held out: ')}) holds out no run; every run would be fitted "
                        "and none predicted")
    kept = ~held & (runs.weights > 0)
    if int(kept.sum()) < min_rows(n_free):
        raise DataError(f"the holdout ({label.removeprefix('held out: ')}) leaves {int(kept.sum())} runs to fit; "
                        f"the law's {n_free} free coefficients need at least {min_rows(n_free)}")
    weights = np.where(held, 0.0, runs.weights)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the fit carries its warnings; the fold reports them
        whole = fit(runs.n_params, runs.n_tokens, runs.loss, weights, law=law, covariates=covariates or None,
                    fix=fix, tie=tie, **settings)
        rows = ~held  # the fit of the kept runs alone, as reported and resampled
        result = dataclasses.replace(whole, data=tuple(np.asarray(x)[rows] for x in whole.data),
                                     n_rows=int(rows.sum()), covariates={k: v[rows] for k, v in whole.covariates.items()})
        boot = None
        if n_resamples:
            boot = bootstrap(result, n_resamples=n_resamples, seed=seed, confidence=confidence,
                             groups=None if clusters is None else clusters[rows], refit=Refit(max_iter=max_iter))
    # predictions from the fit that still holds every row (at weight 0 where held out: the same law, residuals and
    # curvature), at every run, then the held-out ones taken: the same shapes in every fold, compiled once
    every = covariates or None
    prediction = predict(whole, runs.n_params, runs.n_tokens, every, confidence, boot).take(held)
    errors = mean_error_samples(whole, runs.n_params, runs.n_tokens, every, boot, seed=seed)[:, held]
    residuals = new_run_residuals(whole)  # new runs scatter more
    metrics = fold_metrics(prediction, runs.loss[held], confidence, errors, residuals, seed)
    return Fold(label, cutoff, result, boot, np.flatnonzero(held), runs.loss[held], compute[held], prediction, metrics,
                tuple(misspecification_messages(metrics, confidence)))


def _cluster_labels(clusters, n_resamples, n):
    """The (n,) clusters' ids, or None; ``DataError`` for the wrong length or without resamples."""
    if clusters is None:
        return None
    if not n_resamples:
        raise DataError("clusters are the bootstrap's resampling unit: give n_resamples (bootstrap resamples) too")
    return encode_groups(clusters, n)[1]  # one id per run (checks one label per run)


class GroupValidations(_ByGroup):
    """Every group's own validation, ``{label: Validation}`` (``validate_groups``), with the result protocol
    (``optimal.fitting.groups``: labelled warnings, ``to_dict()`` as ``{"status", "groups": [{"group", ...}]}``,
    ``summary()`` one section per group)."""

    @property
    def misspecified(self) -> bool:
        """Whether any group's held-out errors exceed what its intervals allow."""
        return any(v.misspecified for v in self.values())

    def as_one(self) -> Validation:
        """One ``Validation`` holding every group's folds, each label prefixed with its group (for one figure)."""
        first = next(iter(self.values()))
        folds = tuple(dataclasses.replace(f, label=f"[group {g}] {f.label.removeprefix('held out: ')}")
                      for g, v in self.items() for f in v.folds)
        return Validation(first.mode, folds, first.confidence, self.warnings, self.notes)


def validate_groups(n_params, n_tokens, loss, weights=None, *, groups, compute=None, columns=None, covariates=None,
                    clusters=None, **options) -> GroupValidations:
    """One ``validate`` per group of runs: ``groups`` (n,) labels (any text; sorted as ``encode_groups`` sorts
    them), each group's rows (and their ``compute``, ``columns``, ``covariates`` and ``clusters``, all (n,)) validated
    on their own with the same ``options`` (``validate``'s: holdout, largest, rolling, law, n_resamples, ...).
    The per-group counterpart of ``validate``, as ``optimal.fit_groups`` is of ``optimal.fit``.

    Returns a ``GroupValidations``. Raises as ``validate`` does, the message naming the group.
    """
    labels, ids = encode_groups(groups, len(np.asarray(loss)))
    check_columns(columns, len(ids))
    check_columns(covariates, len(ids), "covariates")

    def rows(values, mask):
        if values is not None and np.shape(values)[:1] != mask.shape:
            raise DataError(f"every per-run argument needs one value per run ({len(mask)}), got one of shape "
                            f"{np.shape(values)}")
        return None if values is None else np.asarray(values)[mask]

    parts = []
    for g, label in enumerate(labels):
        mask = ids == g
        try:
            found = validate(
                rows(n_params, mask), rows(n_tokens, mask), rows(loss, mask), rows(weights, mask),
                compute=rows(compute, mask), clusters=rows(clusters, mask),
                columns=None if columns is None else {k: rows(v, mask) for k, v in columns.items()},
                covariates=None if covariates is None else {k: rows(v, mask) for k, v in covariates.items()},
                **options)
        except DataError as exc:
            raise DataError(f"group {label}: {exc}") from None
        index = np.flatnonzero(mask)  # held-out runs by their index in the caller's arrays, as validate gives them
        parts.append((label, dataclasses.replace(
            found, folds=tuple(dataclasses.replace(f, held_out=index[f.held_out]) for f in found.folds))))
    return GroupValidations(parts)
