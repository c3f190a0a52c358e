"""The loss a fitted law predicts for runs (N, D), with a confidence interval for the law's mean loss there and a
prediction interval for one new run's loss.

Everything is computed in log loss (the scale the fit's residuals live on) and reported in nats.

* **Point**: the fitted law's loss, ``result.law.loss(N, D)`` (any family; covariates for the families that read
  them, e.g. unique tokens U for the data-constrained law).
* **Confidence interval for the mean loss** ("how sure are we of the law here"):

  - from bootstrap draws (a ``BootstrapResult`` or a fit record saved with draws), the preferred method: the
    ``confidence`` percentile interval, over the converged draws, of each draw's law's loss at (N, D);
  - without draws, a linearised (Gauss-Newton) one: the coefficients' covariance ``c s^2 (J^T W J)^-1`` (J the
    Jacobian of the fitted rows' log-loss predictions with respect to the free coefficients, W the row weights,
    s the residual scale below), pushed through the gradient of the prediction, and a Student-t interval in log
    loss. ``c`` is the Huber M-estimator's asymptotic variance factor for normal residuals (Huber 1964),
    ``E[psi^2] / E[psi']^2`` at ``k = delta / s``: 1 for a squared loss, pi/2 for the nearly-L1 Huber objective
    (delta = 1e-3 well below the scatter). This is an asymptotic approximation that assumes the curvature of the
    problem is well determined; the Chinchilla objective is badly conditioned and kinked (PITFALLS.md), so
    prefer bootstrap draws, and treat the linearised interval as a rough guide (``Prediction.method`` says which).

* **Prediction interval for a new run** = the mean's uncertainty plus the residual scatter. ASSUMED: a new run's
  log loss is the law's mean plus an independent residual of the fitted rows' kind (iid in log loss). It does NOT
  include error from a law of the wrong form: held-out extrapolation (``optimal.validate``) is how to see that.

  - from bootstrap draws (the one method when draws are given): the ``confidence`` percentile interval of a
    draw's log loss plus a residual of the fit (``new_run_residuals``: observed minus predicted log loss over the
    rows of positive weight, inflated by ``sqrt(n / (n - p))`` for the p coefficients fitted, since fitted rows
    scatter less about their own fit than new runs do), over every (draw, residual) pair (for very many draws, a
    random share of the pairs, reproducible from the bootstrap's seed).
    The residuals' own distribution is used, not a normal: a run that tends to land above the law lands above it
    here too. Chosen over a normal quadrature (``hypot(CI half-width, t s)``) by a coverage test on synthetic
    truth (fit + 200 draws per data set, 20 new runs per data set at N 2e10..1e11, 1.2-2.8 decades beyond the
    fitted N, and 5-100 tokens per parameter; ``tests/analysis/test_predict.py``): the share of new runs inside the 95%
    interval was 0.97 vs 0.86 with skewed residuals (one run in ten 10% above the law; 60 sets of 120 runs),
    0.95 vs 0.90 with Student-t(3) residuals (60 x 80 runs) and 0.95 vs 0.93 with normal residuals on 30 runs
    (60 sets); with normal residuals on 80 runs both were ~0.95 (40-100 sets).
  - without draws: the residual scale ``s`` of log loss, estimated robustly from the fit's residuals:
    ``1.4826 x MAD`` (median absolute deviation about the median, scaled to a normal's standard deviation) over
    the rows with positive weight, inflated by ``sqrt(n / (n - p))``; each side of the interval adds, in
    quadrature, that side's half-width of the (linearised) confidence interval and ``t s``, t the Student-t
    quantile with n - p degrees of freedom, so the interval contains the confidence interval and the point.
    A fit with an asymmetric loss (``asymmetric-huber:A``) puts its law below most runs (a lower envelope, about the
    A / (1 + A) quantile of their log loss, not the mean): there ``t s`` on both sides (a symmetric scatter about
    the law) missed 9% of new runs above and 0.2% below at 95%; each side adds instead the fit's inflated residuals'
    own percentile (``new_run_residuals``; measured: 1.7% above, 2.5% below, tests/analysis/test_predict.py), and
    ``c`` is that loss's own factor (``huber_variance_factor``: 2.04 in its L1 limit at A = 0.25, not 1).

Example:
  >>> import optimal
  >>> runs = optimal.synthetic_runs(n_runs=60)
  >>> result = optimal.fit(runs.n_params, runs.n_tokens, runs.loss)  # doctest: +SKIP
  >>> p = optimal.predict(result, [1e10, 7e10], [2e11, 1.4e12])  # doctest: +SKIP
  >>> p.loss, p.mean_lo, p.new_hi  # doctest: +SKIP
"""

import dataclasses
import functools
import math
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from ..allocation.extrapolation import MAX_DECADES_OUTSIDE, FittedRange, extrapolation
from ..allocation.flops import check_flops_per_param_token
from ..errors import CoefficientsError, DataError, OptimalError, check_confidence, check_mapping, float_array
from .._util.precision import float64_scope
from .._util.robust import ASYMMETRIC, parse_loss
from .._util.units import DEFAULT_FLOPS_PER_PARAM_TOKEN
from .._util.results import Issue, Judged, Status, issues
from .._util.stats import percentile_bounds
from .._util.text import format_table
from ..fitting.fit import FitResult
from ..fitting.problem import expand, residuals
from ..fitting.residuals import log_residuals

MAD_TO_SD = 1.4826  # 1 / Phi^-1(3/4): the MAD of a normal sample times this estimates its standard deviation


@dataclasses.dataclass(frozen=True)
class Prediction(Judged):
    """Predicted losses for m runs, with intervals (every array has shape (m,); losses in nats).

    Attributes:
      n_params, n_tokens: N (parameters) and D (tokens) of each run, broadcast to one shape and flattened.
      loss: the fitted law's loss (the point prediction).
      mean_lo, mean_hi: the ``confidence`` interval for the law's mean loss.
      new_lo, new_hi: the ``confidence`` prediction interval for one new run's loss.
      log_se: the standard error of the mean's log loss (the draws' standard deviation, or the linearised one).
      residual_scale: s, the robust scale of the fit's log-loss residuals (see the module docstring).
      dof: n - p, the degrees of freedom of s. confidence: the intervals' level.
      method: "bootstrap" (percentiles of draws) or "linearised" (see the module docstring).
      n_draws: the converged bootstrap draws used (0 for "linearised").
      extrapolation: ``{"compute_decades", "N_decades_outside", "D_decades_outside"}`` (m,) each: the decades
        N x D lies beyond the largest fitted run's (the same for compute at any k; negative inside) and the decades
        N and D lie outside the fitted ranges (0 inside).
      notes: what the caller should know in words (covariates at their defaults, a point outside its interval).
    """

    n_params: np.ndarray
    n_tokens: np.ndarray
    loss: np.ndarray
    mean_lo: np.ndarray
    mean_hi: np.ndarray
    new_lo: np.ndarray
    new_hi: np.ndarray
    log_se: np.ndarray
    residual_scale: float
    dof: int
    confidence: float
    method: str
    n_draws: int
    extrapolation: dict
    notes: tuple = ()

    def __post_init__(self):
        object.__setattr__(self, "notes", issues(self.notes, "context"))

    @property
    def status(self) -> Status:
        """SUCCESS when every point and interval is finite, FAILED otherwise."""
        values = (self.loss, self.mean_lo, self.mean_hi, self.new_lo, self.new_hi)
        return Status.SUCCESS if all(np.all(np.isfinite(np.asarray(v))) for v in values) else Status.FAILED

    @property
    def warnings(self) -> tuple:
        """Runs more than ``MAX_DECADES_OUTSIDE`` decades outside the fitted N or D range ("extrapolation"): the
        law's form is untested there and the intervals do not include that."""
        found = []
        for i, r in enumerate(self.records()):
            far = r["extrapolation"]
            outside = [f"{name} lies {far[f'{name}_decades_outside']:.2g} decades outside the fitted range"
                       for name in "ND" if far[f"{name}_decades_outside"] > MAX_DECADES_OUTSIDE]
            if outside:
                found.append(Issue("extrapolation", f"run {i + 1} (N = {r['N']:.3g}, D = {r['D']:.3g}): "
                                                    f"{'; '.join(outside)}: the law's form is untested there and the "
                                                    "intervals do not include that; see 'optimal validate'"))
        finite = np.isfinite(np.stack([np.ravel(v) for v in (self.loss, self.mean_lo, self.mean_hi, self.new_lo,
                                                               self.new_hi)])).all(axis=0)
        if not finite.all():
            i = int(np.flatnonzero(~finite)[0])
            found.append(Issue("non-finite", f"{int(np.sum(~finite))} of {finite.size} runs (the first: run {i + 1}, "
                                             f"N = {float(np.ravel(self.n_params)[i]):.3g}, D = "
                                             f"{float(np.ravel(self.n_tokens)[i]):.3g}) have a loss or interval bound "
                                             "that overflowed float64: the law is evaluated far outside what it was "
                                             "fitted on (its covariates too); those figures are not predictions"))
        return tuple(found)

    def scored_records(self, flops_per_param_token=DEFAULT_FLOPS_PER_PARAM_TOKEN, actual=None) -> list:
        """``records()`` with ``C`` = k N D (FLOPs) and, given the runs' ``actual`` losses (m,), ``actual``,
        ``rel_error`` (predicted / actual - 1) and ``in_prediction_interval``."""
        k = check_flops_per_param_token(flops_per_param_token)
        records = self.records()
        for i, record in enumerate(records):
            record["C"] = k * record["N"] * record["D"]
            if actual is not None:
                record["actual"] = float(actual[i])
                record["rel_error"] = record["loss"] / float(actual[i]) - 1
                record["in_prediction_interval"] = bool(record["new_run"]["lo"] <= actual[i] <= record["new_run"]["hi"])
        return records

    def summary(self, *, source="the fit", flops_per_param_token=DEFAULT_FLOPS_PER_PARAM_TOKEN, actual=None) -> str:
        """The table ``optimal predict`` prints: per run N, D, C = k N D, the loss, both intervals and the
        extrapolation distances; with ``actual`` losses their error and whether the new-run interval holds them.
        ``source`` names the fit in the title."""
        level = f"{100 * self.confidence:g}%"
        how = (f"bootstrap percentiles of {self.n_draws} draws" if self.method == "bootstrap"
               else "linearised from the fit's curvature")
        lines = [f"predicted loss (nats) from {source}; {level} intervals: mean loss {how}; a new run adds residual "
                 f"scatter s = {self.residual_scale:.3g} in log loss"]
        lines += [f"  note: {note}" for note in self.notes]
        with_actual = actual is not None
        headers = ["N", "D", "C (FLOPs)", "loss", "mean lo", "mean hi", "new-run lo", "new-run hi", "C vs fit (dec)",
                   "N out (dec)", "D out (dec)"] + (["actual", "error", "in PI"] if with_actual else [])
        rows = []
        for r in self.scored_records(flops_per_param_token, actual):
            far = r["extrapolation"]
            row = [f"{r['N']:.4g}", f"{r['D']:.4g}", f"{r['C']:.4g}", f"{r['loss']:.4f}", f"{r['mean']['lo']:.4f}",
                   f"{r['mean']['hi']:.4f}", f"{r['new_run']['lo']:.4f}", f"{r['new_run']['hi']:.4f}",
                   f"{far['compute_decades']:+.2f}", f"{far['N_decades_outside']:.2f}", f"{far['D_decades_outside']:.2f}"]
            if with_actual:
                row += [f"{r['actual']:.4f}", f"{100 * r['rel_error']:+.2f}%", "yes" if r["in_prediction_interval"] else "NO"]
            rows.append(row)
        lines.append(format_table(headers, rows))
        return "\n".join(lines)

    def take(self, indices) -> "Prediction":
        """The prediction of the runs ``indices`` (an index or bool array into the m runs) only."""
        pick = lambda x: np.asarray(x)[indices]  # noqa: E731
        return dataclasses.replace(
            self, **{name: pick(getattr(self, name)) for name in ("n_params", "n_tokens", "loss", "mean_lo", "mean_hi",
                                                                  "new_lo", "new_hi", "log_se")},
            extrapolation={k: pick(v) for k, v in self.extrapolation.items()})

    def records(self) -> list:
        """One dict per run: ``N``, ``D``, ``loss``, ``mean`` and ``new_run`` (each ``{lo, hi}``), ``log_se`` and
        ``extrapolation`` (``{compute_decades, N_decades_outside, D_decades_outside}``)."""
        far = self.extrapolation
        return [{"N": float(self.n_params[i]), "D": float(self.n_tokens[i]), "loss": float(self.loss[i]),
                 "mean": {"lo": float(self.mean_lo[i]), "hi": float(self.mean_hi[i])},
                 "new_run": {"lo": float(self.new_lo[i]), "hi": float(self.new_hi[i])},
                 "log_se": float(self.log_se[i]),
                 "extrapolation": {k: float(np.asarray(v)[i]) for k, v in far.items()}}
                for i in range(len(self.loss))]

    def to_dict(self) -> dict:
        """The JSON summary: confidence, method, n_draws, residual_scale, dof, notes and ``runs`` (``records()``)."""
        return {"confidence": self.confidence, "method": self.method, "n_draws": self.n_draws,
                "residual_scale": self.residual_scale, "dof": self.dof, "notes": list(self.notes),
                "runs": self.records(), "status": self.status.label}


def residual_scale(result):
    """``(s, dof)``: the robust scale of the fit's log-loss residuals over its rows of positive weight,
    ``1.4826 x MAD x sqrt(n / (n - p))`` (p free coefficients), and ``dof = n - p``."""
    weights = np.asarray(result.data[3], float)
    r = log_residuals(result)[weights > 0]
    n, p = len(r), len(np.atleast_1d(result.free))
    dof = max(n - p, 1)
    mad = float(np.median(np.abs(r - np.median(r))))
    return MAD_TO_SD * mad * math.sqrt(n / dof), dof


def new_run_residuals(result):
    """The fit's log-loss residuals (observed minus predicted) over its rows of positive weight, each inflated by
    ``sqrt(n / (n - p))`` (``residual_scale``'s dof): what a new run's scatter about the law is drawn from, shape
    (n,)."""
    weights = np.asarray(result.data[3], float)
    r = log_residuals(result)[weights > 0]
    _, dof = residual_scale(result)
    return r * math.sqrt(len(r) / dof)


_PAIRS_PER_BLOCK = 1 << 22  # (draw, residual) sums held at once by _new_run_bounds (32 MB in float64)


def _new_run_bounds(per_draw, residuals, tail, seed):
    """The ``tail`` and ``100 - tail`` percentiles, per run, of a draw's log loss plus a residual: ``per_draw``
    (R, m), ``residuals`` (n,). Over every (draw, residual) pair, the exact distribution of the two, when R n is at
    most ``_PAIRS_PER_BLOCK``; else over each draw with ``_PAIRS_PER_BLOCK // R`` residuals drawn at random (at
    least one; reproducible from ``seed``). Runs are taken in blocks so that memory stays bounded."""
    r, m = per_draw.shape
    if r * len(residuals) <= _PAIRS_PER_BLOCK:
        noise = np.broadcast_to(residuals, (r, len(residuals)))
    else:
        noise = np.random.default_rng(seed).choice(residuals, size=(r, max(1, _PAIRS_PER_BLOCK // r)))
    lo, hi = np.empty(m), np.empty(m)
    step = max(1, _PAIRS_PER_BLOCK // noise.size)
    for start in range(0, m, step):
        block = per_draw[:, start:start + step]  # (R, b)
        sums = (block[:, None, :] + noise[:, :, None]).reshape(-1, block.shape[1])
        lo[start:start + step], hi[start:start + step] = np.percentile(sums, [tail, 100 - tail], axis=0)
    return lo, hi


def huber_variance_factor(delta, scale, robust="huber"):
    """The asymptotic variance of a Huber M-estimate relative to least squares for normal residuals of standard
    deviation ``scale`` (Huber 1964): ``E[psi^2] / E[psi']^2`` at ``k = delta / scale``; 1 for ``robust="squared"``,
    tending to pi/2 (the median's) as k -> 0. For ``asymmetric-huber:A`` the same ratio for its psi (slope A below
    the law), at the location where ``E[psi] = 0`` (``_asymmetric_factor``): the quantile regression's
    ``tau (1 - tau) / phi(q_tau)^2``, tau = A / (1 + A), as k -> 0 (2.04 at A = 0.25), Huber's at A = 1."""
    from scipy.special import erf, gammainc
    from scipy.stats import norm

    if isinstance(robust, str) and robust.startswith(ASYMMETRIC) and scale > 0:
        return _asymmetric_factor(delta / scale, parse_loss(robust)[1])
    if robust != "huber" or scale <= 0:
        return 1.0
    k = delta / scale
    inside = erf(k / math.sqrt(2))  # P(|e| < k) = E[psi']
    if inside <= 0:
        return math.pi / 2
    # E[psi^2] = E[e^2; |e| < k] + k^2 P(|e| > k), the first a chi-square(3) probability (no cancellation at small k)
    second = gammainc(1.5, k * k / 2) + 2 * k * k * norm.sf(k)
    return float(second / inside**2)


def _asymmetric_factor(k, asymmetry):
    """``E[psi^2] / E[psi']^2`` for the asymmetric Huber psi at threshold ``k`` (standard units): ``psi(u) = clip(u,
    -k, k)`` times ``asymmetry`` where ``u < 0``, u = the law minus a standard normal run's log loss, the law at the m
    where ``E[psi(m - Z)] = 0``. u ~ N(m, 1): its tails beyond +-k by the normal's cdf, the moments inside by
    quadrature (relative accuracy: they are of order k^2 and k^3, far below the tails' rounding at small k)."""
    from scipy.integrate import quad
    from scipy.optimize import brentq
    from scipy.special import ndtr

    def inside(m, power, lo, hi):
        density = lambda u: u**power * math.exp(-0.5 * (u - m) ** 2) / math.sqrt(2 * math.pi)  # noqa: E731
        return quad(density, lo, hi, epsabs=0.0, epsrel=1e-11)[0]

    def mean_psi(m):
        return (k * (ndtr(m - k) - asymmetry * ndtr(-k - m))
                + asymmetry * inside(m, 1, -k, 0.0) + inside(m, 1, 0.0, k))

    m = brentq(mean_psi, -12.0, 12.0, xtol=1e-14)
    psi2 = (k * k * (asymmetry**2 * ndtr(-k - m) + ndtr(m - k))
            + asymmetry**2 * inside(m, 2, -k, 0.0) + inside(m, 2, 0.0, k))
    slope = asymmetry * inside(m, 0, -k, 0.0) + inside(m, 0, 0.0, k)
    return float(psi2 / slope**2)


def _new_run_noise(result, symmetric, confidence):
    """``(below, above)``: how far a new run's log loss reaches below and above the law, without draws: ``symmetric``
    (t s) on both sides for the Huber and squared losses; for an asymmetric loss, whose law is a lower envelope with
    most runs above it, minus the lower and the upper ``confidence`` percentile of the fit's inflated residuals
    (``new_run_residuals``), each at least 0."""
    if not str(result.config.get("robust", "huber")).startswith(ASYMMETRIC):
        return symmetric, symmetric
    lo, hi = percentile_bounds(new_run_residuals(result), confidence)
    return max(-float(lo), 0.0), max(float(hi), 0.0)


def _prediction_covariates(result, covariates, shape):
    """``{name: (m,) float64}`` for the family's covariates at the predicted runs, and notes on defaults used."""
    family = result.family
    covariates = dict(check_mapping(covariates, "covariates", "{'U': unique tokens}", DataError) or {})
    unknown = [k for k in covariates if k not in family.covariates]
    if unknown:
        raise DataError(f"the {family.name} law reads no covariate {', '.join(map(repr, unknown))}"
                        + (f"; it reads {', '.join(family.covariates)}" if family.covariates else "; it reads none"))
    out, notes = {}, []
    for name in family.covariates:
        if name in covariates:
            try:
                values = np.broadcast_to(np.asarray(covariates[name], dtype=np.float64), shape).ravel()
            except (TypeError, ValueError):
                raise DataError(f"covariate {name} must be numbers of one value or one per run ({shape})") from None
            if not np.all(values >= np.finfo(np.float64).tiny) or np.any(np.isnan(values)):  # normal: no underflow
                raise DataError(f"covariate {name} must be positive (at least {np.finfo(np.float64).tiny:.3g}), got "
                                f"{float(values[~(values >= np.finfo(np.float64).tiny)][0])!r}")
            out[name] = values
        else:
            default = family.covariate_defaults.get(name)
            if default is None or not math.isfinite(float(default)):
                # the data-constrained law's U defaults to inf (no repetition): a fit to repeated data answered at
                # unlimited data is another law's answer, so U is asked for, never assumed
                raise DataError(f"the {family.name} law needs the covariate {name} of the runs to predict (e.g. "
                                f"--covariate {name}=VALUE, or covariates={{'{name}': values}}); give {name}=inf "
                                "for no limit")
            out[name] = np.full(int(np.prod(shape)), float(default))
            notes.append(f"covariate {name} not given: predicted at the law's default {name} = {default:g}")
    return out, notes


def _draws(result, bootstrap):
    """``(draws, seed)``: the converged draws (R, P) of one fit from a ``BootstrapResult`` or a fit record path,
    and the bootstrap's seed (``(None, None)``: no draws)."""
    if bootstrap is None:
        return None, None
    if isinstance(bootstrap, (str, Path)):
        from ..io.records import load_bootstrap

        source = bootstrap
        bootstrap = load_bootstrap(bootstrap, result.family)
        if bootstrap is None:
            raise CoefficientsError(f"{str(source)!r} holds no bootstrap draws: save the fit with --bootstrap B")
    if not hasattr(bootstrap, "good") or not hasattr(bootstrap, "fit"):
        raise OptimalError(f"bootstrap must be a BootstrapResult or a fit record's path, not {type(bootstrap).__name__}")
    same = (np.shape(bootstrap.fit.theta) == np.shape(result.theta)
            and np.allclose(bootstrap.fit.theta, result.theta, rtol=1e-9, atol=1e-12))
    if not same:
        raise OptimalError("the bootstrap draws are of another fit (their full-data coefficients differ from this "
                           "fit's): pass the BootstrapResult of this fit")
    good = np.asarray(bootstrap.good)
    if len(good) < 2:
        raise OptimalError(f"only {len(good)} of {bootstrap.n_resamples} bootstrap resamples converged; intervals "
                           "need at least 2")
    return good, int(bootstrap.seed)


def _runs(result, n_params, n_tokens, covariates, group):
    """The runs to predict, checked: ``(N (m,), D (m,), covariates {name: (m,)}, notes, group index, point log
    loss (m,))``."""
    if not isinstance(result, FitResult):
        raise OptimalError(f"predict needs a FitResult (optimal.fit, optimal.load_fit), not {type(result).__name__}")
    g = result.select_group(group)[2]
    try:
        n, d = np.broadcast_arrays(*(float_array(v, "N and D", DataError) for v in (n_params, n_tokens)))
    except DataError:  # float_array's, for an int beyond float64 (a ValueError too)
        raise
    except (TypeError, ValueError):
        raise DataError(f"N and D must be numbers of shapes that broadcast, got shapes {np.shape(n_params)} and "
                        f"{np.shape(n_tokens)}") from None
    shape = n.shape
    n, d = n.ravel(), d.ravel()
    if n.size == 0:
        raise DataError("no runs to predict: N and D are empty")
    for values, name in ((n, "N"), (d, "D")):
        bad = ~(np.isfinite(values) & (values > 0))
        if bad.any():
            raise DataError(f"{name} must be positive and finite; value {int(np.argmax(bad))} (0-based) is "
                            f"{float(values[np.argmax(bad)])!r}")
        if np.any(values < 1):  # below one parameter or token the law's loss (and its C) overflow
            raise DataError(f"{name} must be at least 1; value {int(np.argmax(values < 1))} (0-based) is "
                            f"{float(values[np.argmax(values < 1)])!r}")
    overflow = np.log(n) + np.log(d) > np.log(np.finfo(np.float64).max / 1e4)  # C = k N D finite for k <= 1e4
    if overflow.any():
        i = int(np.argmax(overflow))
        raise DataError(f"N x D overflows C = k N D (run {i}, 0-based: N = {n[i]:.3g}, D = {d[i]:.3g}); check the units")
    covs, notes = _prediction_covariates(result, covariates, shape)
    theta = np.atleast_2d(np.asarray(result.theta, np.float64))[g]
    point = np.asarray(_law_log_loss(result.family, jnp.asarray(theta), jnp.asarray(np.log(n)),
                                     jnp.asarray(np.log(d)), {k: jnp.asarray(v) for k, v in covs.items()}))
    return n, d, covs, notes, g, point


def _per_draw(family, draws, group, log_n, log_d, covariates):
    """Each draw's law's log loss at the runs: (R, m) from draws (R, P) (or a joint fit's (R, G, P))."""
    thetas = draws if draws.ndim == 2 else draws[:, group]
    return np.asarray(_draws_log_loss(family, jnp.asarray(thetas), jnp.asarray(log_n), jnp.asarray(log_d),
                                      {k: jnp.asarray(v) for k, v in covariates.items()}))


@functools.partial(jax.jit, static_argnames="family")
def _draws_log_loss(family, thetas, log_n, log_d, covariates):
    return jax.vmap(lambda th: _law_log_loss(family, th, log_n, log_d, covariates))(thetas)


@float64_scope
def mean_error_samples(result, n_params, n_tokens, covariates=None, bootstrap=None, group=None, size=2000, seed=0):
    """Samples of the error of the predicted mean log loss at runs (N, D): (S, m), each row one plausible
    ``predicted - true`` vector, shared by the runs (the fit's error moves every prediction at once).

    From bootstrap draws (``bootstrap`` as for ``predict``): each converged draw's log loss minus the fit's (the
    bootstrap principle), S = the number of draws (``size`` and ``seed`` unused). Without draws: S = ``size`` normal
    samples of the linearised covariance (module docstring), reproducible from ``seed``; rows of inf where a
    direction the rows do not determine enters the prediction.
    """
    n, d, covs, _, g, point = _runs(result, n_params, n_tokens, covariates, group)
    log_n, log_d = np.log(n), np.log(d)
    draws, _ = _draws(result, bootstrap)
    if draws is not None:
        return _per_draw(result.family, draws, g, log_n, log_d, covs) - point
    scale, _ = residual_scale(result)
    grad, cov = _linearised(result, log_n, log_d, covs, scale, g)
    values, vectors = np.linalg.eigh(np.where(np.isfinite(cov), cov, 0.0))
    if not np.all(np.isfinite(cov)):
        return np.full((size, len(n)), np.inf)
    root = vectors * np.sqrt(np.maximum(values, 0.0))
    return np.random.default_rng(seed).standard_normal((size, root.shape[1])) @ (grad @ root).T


def _law_log_loss(family, theta, log_n, log_d, covariates):
    """log L of ``family`` at fitting-space ``theta`` (P,) for runs (m,)."""
    return family.log_loss(family.to_natural(theta), log_n, log_d, covariates)


@float64_scope
def coefficient_covariance(result, scale=None):
    """The linearised covariance (F, F) of the fit's free coefficients ``result.free`` (fitting space, entries named
    by ``result.free_names``): ``c s^2 (J^T W J)^-1`` (module docstring), s = ``scale`` or ``residual_scale(result)``.
    A direction the rows do not determine (zero curvature) has infinite variance (inf entries), never a silently
    small one. For experiment design: adding a candidate run's row to ``J`` shows how much it would shrink it.

    Example:
      >>> cov = coefficient_covariance(result)  # doctest: +SKIP
      >>> dict(zip(result.free_names, np.sqrt(np.diagonal(cov))))  # doctest: +SKIP
    """
    if scale is None:
        scale, _ = residual_scale(result)
    inverse, norm = _scaled_covariance(result, scale)
    with np.errstate(invalid="ignore"):
        return np.nan_to_num(inverse / np.outer(norm, norm), nan=np.inf)


def _scaled_covariance(result, scale):
    """``(cov, norm)``: the covariance of ``coefficient_covariance`` in the basis scaled by ``norm`` (F,) (the
    square roots of ``J^T W J``'s diagonal), where it is well conditioned: ``cov / outer(norm, norm)`` is it."""
    _, rows = result.problem()
    gram = np.asarray(_gram(result.family, jnp.asarray(result.free, jnp.float64), rows,
                            jnp.asarray(result.data[3], jnp.float64)))
    factor = huber_variance_factor(result.config.get("delta", 1e-3), scale, result.config.get("robust", "huber"))
    inverse, norm = _scaled_inverse(gram)
    return factor * scale**2 * inverse, norm


def _linearised(result, log_n, log_d, covariates, scale, group=0):
    """``(g, cov)``: the prediction's gradient (m, F) and the free coefficients' linearised covariance (F, F),
    both in the scaled basis of ``_scaled_covariance`` (``g @ cov @ g.T`` is the covariance of the predicted log
    losses)."""
    struct, _ = result.problem()
    cov, norm = _scaled_covariance(result, scale)
    grad = _prediction_gradient(result.family, jnp.asarray(result.free, jnp.float64), jnp.asarray(struct.select),
                                jnp.asarray(struct.base, jnp.float64), jnp.asarray(log_n), jnp.asarray(log_d),
                                {k: jnp.asarray(v) for k, v in covariates.items()}, group)
    return np.asarray(grad) / norm, cov


@functools.partial(jax.jit, static_argnames="family")
def residual_jacobian(family, z, rows):
    """``J`` (n, F): the derivatives of the log-loss residuals of ``rows`` (a ``RowData``; predicted minus observed,
    so ``d log L_hat / d z``) with respect to the free vector ``z`` (F,), compiled once per family and shape."""
    return jax.jacfwd(lambda x: residuals(family, x, rows))(z)


@functools.partial(jax.jit, static_argnames="family")
def _gram(family, z, rows, weights):
    """``J^T W J`` (F, F) of the fitted rows' log-loss residuals at free vector ``z``, compiled (run eagerly, each of
    its dozens of operations compiled on its own)."""
    jac = residual_jacobian(family, z, rows)  # (n, F)
    return (jac * weights[:, None]).T @ jac


@functools.partial(jax.jit, static_argnames=("family", "group"))
def _prediction_gradient(family, z, select, base, log_n, log_d, covariates, group):
    """The gradient (m, F) of the predicted log losses at runs (m,) with respect to the free vector ``z``."""
    return jax.jacfwd(lambda x: _law_log_loss(family, expand(x, select, base)[group], log_n, log_d, covariates))(z)


@float64_scope
def linearised_log_se(result, log_n, log_d, covariates, scale, group=0):
    """Standard errors (m,) of the law's mean log loss at runs (log N, log D (m,), covariates ``{name: (m,)}``) by
    the linearised (Gauss-Newton) covariance of the free coefficients (module docstring; ``scale`` = s). A
    prediction that depends on a direction the rows do not determine gets an infinite standard error rather than
    a silently narrow one."""
    g, cov = _linearised(result, log_n, log_d, covariates, scale, group)
    with np.errstate(invalid="ignore"):
        variance = np.einsum("mi,ij,mj->m", g, cov, g)
    return np.sqrt(np.maximum(np.nan_to_num(variance, nan=np.inf), 0.0))


def _scaled_inverse(gram):
    """``(inverse of the diagonally scaled matrix, the scale)``: ``gram^-1 = inv / outer(scale, scale)``. A
    singular direction becomes an infinite variance."""
    norm = np.sqrt(np.abs(np.diagonal(gram)))
    norm = np.where(norm > 0, norm, 1.0)
    scaled = gram / np.outer(norm, norm)
    values, vectors = np.linalg.eigh(scaled)
    tiny = values <= np.finfo(float).eps * max(float(values.max()), 1.0) * len(values)
    inverse_values = np.where(tiny, np.inf, 1.0 / np.where(tiny, 1.0, values))
    with np.errstate(invalid="ignore"):
        inv = (vectors * inverse_values) @ vectors.T
    return np.nan_to_num(inv, nan=np.inf), norm


@float64_scope
def predict(result, n_params, n_tokens, covariates=None, confidence=0.95, bootstrap=None, group=None) -> Prediction:
    """Predicted loss at runs (N, D) from a fit, with intervals (see the module docstring for the method).

    Args:
      result: a ``FitResult`` (any family).
      n_params: N, parameters; n_tokens: D, tokens; arrays (or numbers) broadcast to one shape, flattened to (m,).
      covariates: ``{name: values}`` for a family that reads covariates (data-constrained: ``{"U": unique
        tokens}``), one value or one per run; a covariate not given takes the family's default (stated in notes).
      confidence: the level of both intervals, in (0, 1).
      bootstrap: a ``BootstrapResult`` of this fit, or the path of a fit record saved with draws: both intervals
        come from the draws' percentiles (the prediction interval's with a residual added to each draw). None: the
        linearised intervals (a rougher approximation).
      group: for a joint fit of several groups, the group whose law predicts.

    Returns:
      A ``Prediction``.

    Raises:
      DataError: N or D not positive and finite, or shapes that do not broadcast; a bad covariate.
      OptimalError: a confidence outside (0, 1); draws of another fit or fewer than 2 converged draws; a joint
        fit without ``group``.

    Example:
      >>> p = predict(result, 7e10, 1.4e12, bootstrap=boot)  # doctest: +SKIP
      >>> p.records()[0]["new_run"]  # doctest: +SKIP
    """
    from scipy.stats import t as student_t

    check_confidence(confidence)
    n, d, covs, notes, g, point = _runs(result, n_params, n_tokens, covariates, group)
    log_n, log_d = np.log(n), np.log(d)
    family = result.family
    scale, dof = residual_scale(result)
    q = float(student_t.ppf(0.5 + confidence / 2, dof))
    draws, seed = _draws(result, bootstrap)
    tail = 100 * (1 - confidence) / 2
    if draws is not None:
        per_draw = _per_draw(family, draws, g, log_n, log_d, covs)  # (R, m)
        lo, hi = percentile_bounds(np.exp(per_draw), confidence)  # the draws' loss, in nats
        log_lo, log_hi = np.log(lo), np.log(hi)
        log_se = np.std(per_draw, axis=0, ddof=1)
        method, n_draws = "bootstrap", len(per_draw)
        outside = int(np.sum((point < log_lo) | (point > log_hi)))
        if outside:
            notes.append(f"{outside} point prediction{'s lie' if outside > 1 else ' lies'} outside the bootstrap "
                         "interval for the mean: the draws are biased against the fit there")
    else:
        log_se = linearised_log_se(result, log_n, log_d, covs, scale, g)
        log_lo, log_hi = point - q * log_se, point + q * log_se
        method, n_draws = "linearised", 0
        notes.append("confidence interval linearised from the fit's curvature (no bootstrap draws given): a rough "
                     "approximation for this kinked, ill-conditioned objective; pass bootstrap draws for percentiles")
    if draws is not None:  # each draw's mean plus a residual (module docstring)
        new_lo, new_hi = _new_run_bounds(per_draw, new_run_residuals(result), tail, seed)
    else:
        below, above = np.maximum(point - log_lo, 0.0), np.maximum(log_hi - point, 0.0)
        noise_below, noise_above = _new_run_noise(result, q * scale, confidence)
        new_lo, new_hi = point - np.hypot(below, noise_below), point + np.hypot(above, noise_above)
    robust = str(result.config.get("robust", "huber"))
    if robust.startswith(ASYMMETRIC):
        notes.append(f"the fit's loss is {robust}: its law is a lower envelope (about the {parse_loss(robust)[1]:g} / "
                     f"(1 + {parse_loss(robust)[1]:g}) quantile of the runs' log loss), not their mean; the mean "
                     "interval is the law's, and a new run's adds the fit's own residuals, mostly above the law"
                     + ("" if draws is not None else " (their percentiles, not t s)"))
    fit_n, fit_d, _, weights = (np.asarray(x) for x in result.data)
    if result.group_ids is not None:
        rows = np.asarray(result.group_ids) == g
        fit_n, fit_d, weights = fit_n[rows], fit_d[rows], weights[rows]
    far = extrapolation(FittedRange.from_runs(fit_n, fit_d, weights), n * d, n, d, 1.0)
    return Prediction(n, d, np.exp(point), np.exp(log_lo), np.exp(log_hi), np.exp(new_lo), np.exp(new_hi),
                      np.asarray(log_se, float), float(scale), int(dof), float(confidence), method, int(n_draws),
                      {k: np.asarray(v, float) for k, v in far.items()}, tuple(notes))
