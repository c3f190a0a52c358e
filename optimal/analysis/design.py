"""Which runs to train next: the candidate runs (N, D) that shrink the uncertainty of log N*(C) most per FLOP.

The uncertainty model (Gauss-Newton information in the fitting space):

- The fit minimises a sum of Huber losses (delta = 1e-3) of log-loss residuals. That is nearly an L1 loss, whose
  Hessian is zero almost everywhere (a few kinks carry all the curvature): it is no measure of information
  (``shared/design/PITFALLS.md``). The asymptotic covariance of such an M-estimator is instead
  ``s^2 (J^T W J)^{-1}``, with J (n, F) the Jacobian of the predicted log-loss with respect to the fit's free
  coefficients (the fitting space: log E, log A, log B, alpha, beta for Chinchilla) at every run, W the rows'
  weights and ``s^2 = E[psi^2] / E[psi']^2`` the M-estimator's variance factor (Huber 1964; psi the Huber
  loss's derivative). For Gaussian noise of scale sigma this is ``sigma^2`` when delta >> sigma (least squares)
  and ``(pi/2) sigma^2`` when delta << sigma (the L1 limit). The factor and sigma are the ones
  ``optimal.analysis.predict`` uses for its linearised intervals (``huber_variance_factor``, ``residual_scale``):
  sigma is ``1.4826 x MAD`` of the fit's residuals times ``sqrt(n / (n - F))`` for the F coefficients fitted (an
  L1 fit interpolates about F rows exactly, which pulls the MAD down). sigma only scales every variance by the
  same factor: the ranking and the chosen runs do not depend on it.
- The information is ``I = J^T W J / s^2``; a new run at (N, D) adds ``j j^T / s^2`` (weight 1), j its Jacobian
  row. ``var(log N*(C)) = g^T I^{-1} g`` with ``g = d log N*(C) / d z`` by ``jax.grad`` through
  ``optimal.compute_optimal`` (implicit derivatives at the optimum).
- I is badly conditioned (the 5-parameter problem's Hessian has condition ~1e11, Open-Athena; after the scaling
  below, ~1e5 on the simulation's 21 runs, and more for runs that identify the law less well). Every solve is
  done in coordinates scaled by the diagonal of the current runs' information (Jacobi scaling, fixed for the whole
  design so that candidates are compared in one basis), with a ridge of ``RIDGE`` x its largest eigenvalue added: a vague Gaussian prior
  on the scaled coefficients. The ridge bounds the condition number (at 1/RIDGE), and because it is the same
  for every candidate, ``(I + ridge)^{-1}`` is monotone in I: adding a run can never increase the predicted
  variance. Directions of I whose scaled eigenvalue is within 1e3 x the ridge are counted as weakly identified.

The figure printed: the bootstrap's spread, with the linearised model for the changes. The model above is
exact for least squares with independent Gaussian noise of one scale on a correct law, and it is far too small
where those fail: on Epoch's 240 Chinchilla rows (colour-quantised losses, a law that does not describe every run)
its sd of ln N*(1e24) is 0.090 while the pairs bootstrap's draws spread 0.21 (``shared/design/PITFALLS.md``).
Curvature cannot fix it: with delta = 1e-3 only the few rows inside Huber's quadratic zone carry the objective's
curvature, and the robust sandwich built on them (Powell's, bandwidth delta) came out 0.31 there, and 0.30 against a
bootstrap of 0.21 on 120 synthetic runs where the linearised figure was 0.18 (docs/suggest.md): it is not stable. So ``suggest``
measures the current spread with the bootstrap (``optimal.bootstrap``: refits of resampled rows, vmapped; or draws
the caller already has), which sees non-Gaussian, heteroscedastic and misspecified residuals and the law's
nonlinearity alike, and uses the linearised model only for what it is needed for and good at: how much a new run
changes the information *relative* to what the runs give now. Concretely the gradient g is multiplied by
``c = spread / sd_linearised``, so every variance (before, after each candidate, after the design) is the linearised
one times c^2: the sd before is the bootstrap's spread, a run that cuts the linearised variance by 30% cuts the
reported one by 30%, and the ranking and the choice are the linearised ones (a uniform factor changes neither).
The spread is half the width of the draws' central 68.27% interval of ln N*(C) (the sd for normal draws; on ill-posed
data a few draws far out would dominate the sd itself). Measured (docs/suggest.md): the sd before agrees with an
independent bootstrap's to within its sampling error on Epoch's rows and synthetic sets.

The sd after the design depends on how the new runs will scatter, which nobody knows before training them, so it is
reported as a range, both ends in the linearised model with the calibrated g:

- ``sd_after``, "as the old rows": c carries over to the new runs (they carry the old rows' excess scatter), every
  variance the linearised one times c^2: ``c^2 g^T (I_old + I_new)^{-1} g``;
- ``sd_after_noise``, "as the law's noise": the old rows' information scaled by 1/c^2, the new runs' at the residual
  noise scale (c = 1 for them): ``g^T (I_old / c^2 + I_new)^{-1} g``, computed as ``c^2 g^T (I_old + c^2 I_new)^{-1}
  g`` in the same scaled basis and ridge (the new rows added with weight ``c^2 / s^2``).

They are equal when c = 1 (and with no draws); with c > 1 the second is the smaller. The ranking and the greedy
choice use the first, so the runs chosen are the linearised choice, as before the range (a uniform factor changes
neither); the second would weigh new runs c^2 times more against the old rows, a choice that rests on c. Measured
against a post-design bootstrap (the rows plus the chosen runs, losses drawn with fresh noise, refitted and
bootstrapped: ``benchmarks/suggest_after.py``), median ratios "as the old rows" / "as the law's noise": 0.90 / 0.89
on 80 random synthetic runs (c = 1.0), 0.92 / 0.56 on 21 IsoFLOP runs (c = 1.5; there the pairs bootstrap of 21 runs
is itself twice the refits' sampling spread across seeds, which the law's-noise figure matches to 15%), 1.30 / 1.02 on
Epoch's rows with a spend of 1e22 and 1.44 / 0.87 with 1e23 (c = 2.5: the excess spread comes from rows the law
misfits, and runs simulated on the law carry none of it). With ``n_resamples=0`` and no draws the figure is the
linearised one, and ``Suggestion.warnings`` says so.

The design: every candidate's score is the predicted variance it removes divided by its compute ``k N D``
(the ranking). The greedy choice takes the best-scoring candidate that fits in what is left of the spend, adds
its row to the information, rescores the rest, and repeats until ``n`` runs are chosen, no candidate fits, or
none reduces the variance. Each candidate is used at most once. Per-FLOP greedy alone can fill a count limit
with cheap runs and leave most of the spend unused, so the same greedy is also run on the variance removed
(not divided by compute) and the choice that ends with the smaller variance is kept (Krause & Guestrin 2005, "A
note on the budgeted maximization of submodular functions": the better of the two greedy rules). Ties are broken
by (lower cost, N, D), never by position, so the result does not depend on the order of the candidates. (On the
simulation's fits, no exchange of one chosen run for another candidate within the spend lowered the variance
further: the greedy set was a local optimum of that search.)
"""

import dataclasses
import math
import warnings

import jax
import jax.numpy as jnp
import numpy as np

from ..allocation.allocate import compute_optimal
from ..allocation.draws import allocations
from ..allocation.extrapolation import FittedRange, range_warnings
from ..errors import BudgetError, DataError, OptimalError, check_count, check_positive, float_array
from ..fitting.bootstrap import MAX_SEED, BootstrapResult, bootstrap
from ..fitting.fit import FitResult
from ..fitting.objective import DEFAULT_DELTA
from .predict import huber_variance_factor, residual_jacobian, residual_scale
from .._util.results import Issue, Judged, Status
from .._util.stats import percentile_bounds
from .._util.text import format_table
from ..fitting.problem import expand
from .._util.precision import float64_scope
from .._util.units import DEFAULT_FLOPS_PER_PARAM_TOKEN

RIDGE = 1e-10  # relative to the largest eigenvalue of the scaled information of the fit's runs
WEAK_DIRECTION = 1e3  # a scaled eigenvalue below WEAK_DIRECTION x the ridge counts as weakly identified
DEFAULT_N = 10  # runs suggested at most
RULES = ("per FLOP", "absolute")  # the two greedy rules; the one that ends with the smaller variance is kept
DEFAULT_GRID_BUDGETS = 7  # budgets of the default candidate grid, log-spaced
DEFAULT_GRID_SIZES = 7  # model sizes per budget, log-spaced
DEFAULT_GRID_SPAN = 8.0  # sizes from N*(budget) / 8 to 8 N*(budget): factors of 2 apart
DEFAULT_SMALLEST_SHARE = 0.01  # when the spend is below the largest run: budgets from 1% of the spend
# A given log-loss noise sd: 1 scatters losses by a factor e (no information left in a run), 1e-6 is below the
# rounding of any reported loss; outside, 1/sd^2 under- or overflows the information matrix.
NOISE_SD_RANGE = (1e-6, 1.0)
DEFAULT_RESAMPLES = 400  # bootstrap resamples for the spread: its relative sampling error is ~1/sqrt(2 R) = 3.5%
SPREAD_LEVEL = 0.6826894921370859  # the share of a normal within one sd: the spread is half this interval's width
MIN_DRAWS = 20  # fewer usable draws give no spread worth calibrating on: the linearised figure, with a warning
LINEARISED_CAVEAT = ("the sd of ln N* is linearised (Gauss-Newton, squared-error noise), not calibrated on bootstrap "
                     "draws: on Epoch's 240 Chinchilla rows it was 2.4 times smaller than the bootstrap's spread; "
                     "give bootstrap resamples (n_resamples, --bootstrap B) or draws for an honest figure")


@dataclasses.dataclass(frozen=True)
class Suggestion(Judged):
    """The runs to train next and what they are predicted to do to the uncertainty of log N*(C).

    Attributes:
      runs: the chosen runs in the order picked, dicts: ``N`` (parameters), ``D`` (tokens), ``compute`` (k N D,
        FLOPs), ``tokens_per_param``, ``sd_after`` (predicted sd of log N*(C) with this run and those before it),
        ``sd_after_noise`` (the same, the new runs at the law's noise), ``variance_reduction`` and
        ``reduction_per_flop`` (at the step it was picked: as the old rows).
      ranking: every candidate scored against the fit's runs alone, best first: ``N``, ``D``, ``compute``,
        ``tokens_per_param``, ``sd_after`` and ``sd_after_noise`` (with that run alone added), ``variance_reduction``,
        ``reduction_per_flop``, ``fits_spend`` (its compute <= the spend).
      target_compute: C (FLOPs); spend: F (FLOPs); flops_per_param_token: k.
      n_star: the fit's N*(C) (parameters); sd_before, sd_after: predicted sd of log N*(C) (natural log) from the
        fit's runs alone, and with every chosen run, these scattering as the old rows (the calibration carries over:
        the assumption the choice uses); sd_after_noise: the same with the new runs at the law's noise (the old
        rows' information / calibration^2, the new runs' at the residual scale; module docstring); total_compute:
        the chosen runs' compute (<= spend).
      rule: the greedy rule whose choice was kept ("per FLOP" or "absolute").
      noise_sd: sigma, the log-loss noise scale used; noise_from: "residuals" or "given"; variance_factor:
        s^2 / sigma^2 (``optimal.analysis.predict.huber_variance_factor``).
      information_condition: condition number of the fit's scaled information; weak_directions: how many of its
        directions are weakly identified (see the module docstring).
      candidates_from: "given" or a description of the default grid; n_candidates: how many were scored.
      stopped: why the choice ended ("n runs chosen", "no candidate fits in the spend left", "no candidate
        reduces the variance").
      method: "bootstrap" (the sd before is the draws' spread, every variance the linearised one times
        ``calibration^2``: module docstring) or "linearised" (no draws: the Gauss-Newton figure, with a warning).
      sd_linearised: the linearised sd of log N*(C) from the fit's runs; calibration: sd_before / sd_linearised
        (1 when linearised); n_draws: the draws the spread was measured on, of n_resamples (0 when linearised).
      min_tokens_per_param, max_tokens_per_param: the bounds on D/N of the candidates (None: unbounded);
        n_outside_bounds: given candidates left out for being outside them.
      draw_warnings: the bootstrap's warnings (``Issue``), and any about draws without an allocation.
      extrapolation_warnings: the target's N*, D* far outside the fit's runs, chosen runs far below them (``Issue``).
    """

    runs: list
    ranking: list
    target_compute: float
    spend: float
    flops_per_param_token: float
    n_star: float
    sd_before: float
    sd_after: float
    total_compute: float
    rule: str
    noise_sd: float
    noise_from: str
    variance_factor: float
    information_condition: float
    weak_directions: int
    candidates_from: str
    n_candidates: int
    stopped: str
    method: str = "linearised"
    sd_linearised: float = math.nan
    calibration: float = 1.0
    n_draws: int = 0
    n_resamples: int = 0
    min_tokens_per_param: float | None = None
    max_tokens_per_param: float | None = None
    n_outside_bounds: int = 0
    draw_warnings: tuple = ()
    sd_after_noise: float = math.nan
    extrapolation_warnings: tuple = ()

    @property
    def status(self) -> Status:
        """SUCCESS when at least one run was chosen, FAILED when none was (``stopped`` says why)."""
        return Status.SUCCESS if self.runs else Status.FAILED

    @property
    def warnings(self) -> tuple:
        """A linearised figure ("linearised": no draws to calibrate it), the bootstrap's own warnings, the target's
        N*, D* far outside the fit's runs or chosen runs far below them ("N_outside_range", "run_N_outside_range",
        ...: the law's form is untested there), and weakly identified directions of the fit's coefficients
        ("weak-directions": the predicted changes lean on the ridge)."""
        found = list(self.draw_warnings) + list(self.extrapolation_warnings)
        if self.method == "linearised":
            found.insert(0, Issue("linearised", LINEARISED_CAVEAT))
        if self.weak_directions:
            found.append(Issue("weak-directions", f"{self.weak_directions} direction(s) of the fit's coefficients are "
                                                  "barely identified by its runs: the predicted changes lean on the "
                                                  "ridge (see optimal.analysis.design)"))
        return tuple(found)

    @property
    def notes(self) -> tuple:
        return (Issue("method", self.method_text()),
                Issue("noise", f"noise sd {self.noise_sd:.3g} ({self.noise_from}); candidates: {self.candidates_from} "
                               f"({self.n_candidates}{self._bounds_text()})"),
                Issue("stopped", f"greedy rule kept: {self.rule}; stopped: {self.stopped}"))

    def method_text(self) -> str:
        """How the sd figures were made, in one sentence."""
        if self.method == "linearised":
            return "uncertainty: linearised (Gauss-Newton) only, not calibrated on bootstrap draws"
        return (f"uncertainty: the spread of ln N* over {self.n_draws} of {self.n_resamples} bootstrap draws (half their "
                f"central 68% interval); the linearised sd {self.sd_linearised:.4f} x {self.calibration:.3g} to match "
                "it, and the new runs' effect from the linearised information")

    def _bounds_text(self):
        """The bounds on D/N for given candidates (the default grid's description names its own)."""
        low, high = self.min_tokens_per_param, self.max_tokens_per_param
        if (low is None and high is None) or self.candidates_from != "given":
            return ""
        text = f"; tokens per parameter {'-' if low is None else f'{low:g}'} to {'-' if high is None else f'{high:g}'}"
        return text + (f", {self.n_outside_bounds} given candidates outside left out" if self.n_outside_bounds else "")

    def summary(self, *, n_fit_runs=None) -> str:
        """The text ``optimal suggest`` prints: the target, the predicted sd of ln N* before and after, the runs
        chosen and the noise and information used; ``n_fit_runs``: the fit's number of runs, for the text."""
        runs = "runs" if n_fit_runs is None else f"{n_fit_runs} runs"
        lines = [f"target: N* at {self.target_compute:.4g} FLOPs = {self.n_star:.4g} parameters "
                 f"(k = {self.flops_per_param_token:g})"]
        if self.method == "linearised":
            lines += [f"predicted sd of ln N*: {self.sd_before:.4f} from the fit's {runs}, {self.sd_after:.4f} with "
                      f"the {len(self.runs)} runs below (a factor {math.exp(self.sd_before):.3g} -> "
                      f"{math.exp(self.sd_after):.3g} on N*)", f"caveat: {LINEARISED_CAVEAT}"]
        else:
            low, high = sorted((self.sd_after, self.sd_after_noise))
            lines += [f"bootstrap-calibrated sd of ln N*: {self.sd_before:.4f} from the fit's {runs}; {low:.4f} to "
                      f"{high:.4f} with the {len(self.runs)} runs below (a factor {math.exp(self.sd_before):.3g} -> "
                      f"{math.exp(low):.3g} to {math.exp(high):.3g} on N*)",
                      f"sd after: {self.sd_after_noise:.4f} if the new runs scatter as the law's noise (the "
                      f"residual scale; the calibration x{self.calibration:.3g} stays with the old rows), "
                      f"{self.sd_after:.4f} if as the old rows (it carries over to the new runs; the choice below "
                      "assumes this)",
                      self.method_text()]
        lines.append(f"compute: {self.total_compute:.4g} of {self.spend:.4g} FLOPs; greedy rule kept: {self.rule}; "
                     f"stopped: {self.stopped}")
        both = self.method != "linearised"
        rows = [[str(i + 1), f"{r['N']:.4g}", f"{r['D']:.4g}", f"{r['tokens_per_param']:.3g}", f"{r['compute']:.4g}",
                 f"{r['sd_after']:.4f}"] + ([f"{r['sd_after_noise']:.4f}"] if both else [])
                + [f"{r['reduction_per_flop']:.3g}"] for i, r in enumerate(self.runs)]
        lines.append(format_table(["#", "N (params)", "D (tokens)", "tokens/param", "compute (FLOPs)"]
                                  + (["sd after (old rows)", "(law noise)"] if both else ["sd after"])
                                  + ["var cut / FLOP"], rows))
        lines.append(f"noise sd {self.noise_sd:.3g} ({self.noise_from}); candidates: {self.candidates_from} "
                     f"({self.n_candidates}{self._bounds_text()}); information condition "
                     f"{self.information_condition:.3g}")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """Plain JSON-ready dict (the CLI's ``--json`` keys)."""
        return {
            "target_compute": self.target_compute, "spend": self.spend,
            "flops_per_param_token": self.flops_per_param_token, "n_star": self.n_star,
            "sd_log_n_star_before": self.sd_before, "sd_log_n_star_after": self.sd_after,
            "sd_log_n_star_after_noise": self.sd_after_noise,
            "total_compute": self.total_compute, "rule": self.rule, "stopped": self.stopped, "runs": self.runs,
            "noise_sd": self.noise_sd, "noise_from": self.noise_from, "variance_factor": self.variance_factor,
            "information_condition": self.information_condition, "weak_directions": self.weak_directions,
            "candidates_from": self.candidates_from, "n_candidates": self.n_candidates, "ranking": self.ranking,
            "uncertainty_method": self.method, "sd_log_n_star_linearised": self.sd_linearised,
            "calibration": self.calibration, "n_draws": self.n_draws, "n_resamples": self.n_resamples,
            "min_tokens_per_param": self.min_tokens_per_param, "max_tokens_per_param": self.max_tokens_per_param,
            "n_outside_bounds": self.n_outside_bounds, "warnings": [w.to_dict() for w in self.warnings],
            "status": self.status.label,
        }


def _one_law(fit):
    if not isinstance(fit, FitResult):
        raise OptimalError(f"suggest needs a FitResult (optimal.fit, optimal.load_fit), not {type(fit).__name__}")
    if fit.group_labels is not None:
        raise OptimalError(f"a joint fit of groups {', '.join(fit.group_labels)} has one law per group; suggest "
                           "runs for one law: fit that group's runs on their own")


def _extrapolation_issues(fit, target_compute, n_star, k, runs):
    """The target's N*, D* far outside the fit's runs, said as ``optimal.recommend`` says it for an allocation
    (``range_warnings``), and chosen runs far BELOW them (a spend that buys only tiny runs): runs beyond the largest
    are what a suggestion is for (they extend the data toward the target), so they are not warned about."""
    n, d, _, weights = fit.data
    fitted = FittedRange.from_runs(n, d, weights)
    found = [Issue(code, f"[{target_compute:.4g} FLOPs] {message}")
             for _, code, message in range_warnings(fitted, n_star, target_compute / (k * n_star))]
    below = [(i, r) for i, r in enumerate(runs) if r["N"] < fitted.n_min or r["D"] < fitted.d_min]
    if below:
        small = [(r["N"] if r["N"] < fitted.n_min else fitted.n_min, r["D"] if r["D"] < fitted.d_min else fitted.d_min)
                 for _, r in below]  # only the side below the data is judged
        found += [Issue(f"run_{code}", f"suggested run {below[j][0] + 1}, the farthest below: {message}")
                  for j, code, message in range_warnings(fitted, *zip(*small), optimum=False)]
    return tuple(found)


def _candidate_rows(rows, family, log_n, log_d):
    """The fit's ``RowData`` with its rows replaced by candidates (log-loss 0; covariates at the family's defaults)."""
    covariates = {k: jnp.full(log_n.shape, family.covariate_defaults[k], log_n.dtype) for k in family.covariates}
    return rows._replace(log_n=log_n, log_d=log_d, log_loss=jnp.zeros_like(log_n), covariates=covariates)


def prediction_jacobian(fit, n_params=None, n_tokens=None):
    """``d log L_hat / d z`` (n, F) at the fit's free coefficients z: at the fit's own rows, or at runs
    (``n_params``, ``n_tokens``) (n,) with the family's default covariates. NumPy float64.

    Example:
      >>> jac = prediction_jacobian(result, [1e9], [2e10])  # doctest: +SKIP
    """
    with jax.enable_x64(True):
        struct, rows = fit.problem()
        if n_params is not None:
            rows = _candidate_rows(rows, fit.family, jnp.log(jnp.asarray(n_params, jnp.float64)),
                                   jnp.log(jnp.asarray(n_tokens, jnp.float64)))
        z = jnp.asarray(fit.free, jnp.float64)
        return np.asarray(residual_jacobian(fit.family, z, rows))


def log_n_star_gradient(fit, target_compute, flops_per_param_token=DEFAULT_FLOPS_PER_PARAM_TOKEN):
    """``(log N*(C), d log N*(C) / d z)``: the fit's compute-optimal size at ``target_compute`` C (FLOPs) and its
    gradient (F,) with respect to the free coefficients z, by ``jax.grad`` through ``optimal.compute_optimal``
    (implicit derivatives). NumPy float64. Raises ``OptimalError`` when the allocation did not converge."""
    struct = fit.problem()[0]
    select, base = jnp.asarray(struct.select), jnp.asarray(struct.base, jnp.float64)

    def log_n_star(z):
        theta = expand(z, select, base)[0]
        law = fit.family.law_from_theta(theta)
        return jnp.log(compute_optimal(law, target_compute, flops_per_param_token).n_params)

    with jax.enable_x64(True):
        z = jnp.asarray(fit.free, jnp.float64)
        law = fit.family.law_from_theta(np.asarray(expand(np.asarray(fit.free), struct.select, struct.base))[0])
        point = compute_optimal(law, target_compute, flops_per_param_token)
        if not bool(point.converged):
            raise OptimalError(f"the fit's allocation at {target_compute:.3g} FLOPs did not converge: no N* to narrow")
        value, grad = jax.value_and_grad(log_n_star)(z)
        return float(value), np.asarray(grad, np.float64)


def noise_scale(fit):
    """sigma, the log-loss noise sd: ``optimal.analysis.predict.residual_scale`` (``1.4826 x MAD`` of the fit's
    residuals over its rows of positive weight, times ``sqrt(n / (n - F))``, F the free coefficients). Raises
    ``DataError`` when it is not positive (residuals without spread: pass ``noise_sd``)."""
    sigma, _ = residual_scale(fit)
    # log losses are O(1) in float64: a scale within a thousand ulps of 0 is rounding, not noise
    if not (math.isfinite(sigma) and sigma > 1e3 * np.finfo(np.float64).eps):
        raise DataError(f"the fit's residuals have no spread (robust scale {sigma:g}): the noise scale cannot be "
                        "estimated from them; pass noise_sd (--noise-sd)")
    return sigma


class Information:
    """The information of a set of runs in the fixed scaled basis, and the predicted variance it implies.

    ``matrix`` (F, F) is ``J^T W J / s^2`` in fitting space; ``scale`` (F,) the Jacobi scaling (fixed at creation);
    ``ridge`` the absolute ridge added in scaled coordinates. ``variance(g)`` and ``variances_with(g, rows)``
    are ``g^T (I + ridge)^{-1} g`` without and with each candidate row (K, F) added.
    """

    def __init__(self, matrix, ridge=RIDGE):
        matrix = np.asarray(matrix, np.float64)
        diag = np.diagonal(matrix)
        self.scale = 1.0 / np.sqrt(np.where(diag > 0, diag, 1.0))
        scaled = matrix * np.outer(self.scale, self.scale)
        eig = np.linalg.eigvalsh(scaled)
        self.ridge = ridge * max(float(eig[-1]), np.finfo(np.float64).tiny)
        self.condition = float(eig[-1] / max(eig[0], 0.0)) if eig[0] > 0 else math.inf
        self.weak_directions = int(np.sum(eig < WEAK_DIRECTION * self.ridge))
        self.matrix = matrix

    def added(self, rows, weight):
        """A new ``Information`` (same basis and ridge) with ``rows`` (K, F) added, each ``weight`` (= 1/s^2)."""
        other = object.__new__(Information)
        other.__dict__.update(self.__dict__)
        rows = np.atleast_2d(rows)
        other.matrix = self.matrix + weight * rows.T @ rows
        return other

    def _solve_scaled(self, matrices, g):
        scaled = matrices * np.outer(self.scale, self.scale) + self.ridge * np.eye(len(self.scale))
        gs = self.scale * g
        try:
            chol = np.linalg.cholesky(scaled)
        except np.linalg.LinAlgError:
            raise OptimalError("the information of the runs is numerically singular (is a noise scale or a candidate "
                               "run far out of range?); no variance can be computed from it") from None
        y = np.linalg.solve(chol, np.broadcast_to(gs, scaled.shape[:-1])[..., None])[..., 0]
        return np.sum(y * y, axis=-1)

    def variance(self, g):
        """``g^T (I + ridge)^{-1} g`` (scalar)."""
        return float(self._solve_scaled(self.matrix, np.asarray(g, np.float64)))

    def variances_with(self, g, rows, weight):
        """The variance with each row of ``rows`` (K, F) added on its own, weight ``weight``: (K,)."""
        rows = np.asarray(rows, np.float64)
        stacked = self.matrix + weight * rows[:, :, None] * rows[:, None, :]
        return self._solve_scaled(stacked, np.asarray(g, np.float64))


@float64_scope
def predicted_sd(fit_result, target_compute, n_params=(), n_tokens=(), *,
                 flops_per_param_token=DEFAULT_FLOPS_PER_PARAM_TOKEN, noise_sd=None):
    """The predicted sd of log N*(``target_compute``) (natural log) from the fit's runs and, added to them, new
    runs at (``n_params``, ``n_tokens``) (K,) each (none by default): ``sqrt(g^T (I + ridge)^{-1} g)`` as in
    ``suggest``. ``noise_sd`` as in ``suggest``.

    Example:
      >>> predicted_sd(result, 1e24) > predicted_sd(result, 1e24, [1e9], [2e10])  # doctest: +SKIP
      True
    """
    _one_law(fit_result)
    target_compute, k = _flops(target_compute, "target compute"), _flops(flops_per_param_token, "k")
    _, g = log_n_star_gradient(fit_result, target_compute, k)
    info, weight, _, _ = _information(fit_result, noise_sd)
    n_params, n_tokens = (np.atleast_1d(float_array(v, name, DataError, "numbers", invalid=True))
                          for v, name in ((n_params, "n_params"), (n_tokens, "n_tokens")))
    if len(n_params):
        info = info.added(prediction_jacobian(fit_result, *_check_candidates((n_params, n_tokens))), weight)
    return math.sqrt(info.variance(g))


def _flops(value, name):
    """``value`` as a float when it is a positive finite number; ``BudgetError`` naming ``name`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not (
            0 < value <= float(np.finfo(np.float64).max)):  # False for NaN, inf and an int beyond float64
        raise BudgetError(f"{name} must be a positive finite number of FLOPs, got {value!r}")
    return float(value)


def _check_noise_sd(noise_sd):
    low, high = NOISE_SD_RANGE
    if noise_sd is not None and (isinstance(noise_sd, bool) or not isinstance(noise_sd, (int, float, np.number))
                                 or not (math.isfinite(noise_sd) and low <= noise_sd <= high)):
        raise DataError(f"noise_sd must be a positive finite number from {low:g} to {high:g} (the sd of log loss; a "
                        f"fit's residuals give about 0.01), got {noise_sd!r}")


def _information(fit_result, noise_sd):
    """``(Information of the fit's runs, 1/s^2, sigma, where sigma came from, variance factor)``."""
    _check_noise_sd(noise_sd)
    sigma, noise_from = (float(noise_sd), "given") if noise_sd is not None else (noise_scale(fit_result), "residuals")
    factor = huber_variance_factor(float(fit_result.config.get("delta", DEFAULT_DELTA)), sigma,
                                   fit_result.config.get("robust", "huber"))
    weight = 1.0 / (factor * sigma * sigma)  # 1/s^2
    own = prediction_jacobian(fit_result)
    weights = np.asarray(fit_result.data[3], np.float64)
    return Information(weight * (own * weights[:, None]).T @ own), weight, (sigma, noise_from), factor


def default_candidates(fit, target_compute, spend, flops_per_param_token=DEFAULT_FLOPS_PER_PARAM_TOKEN,
                       min_tokens_per_param=None, max_tokens_per_param=None):
    """The default candidate runs ``(N (K,), D (K,), description)``: an IsoFLOP-style grid.

    ``DEFAULT_GRID_BUDGETS`` budgets log-spaced from the largest fitted run's compute (k N D) up to the spend
    (from 1% of the spend when the spend is below the largest run), and at each budget ``DEFAULT_GRID_SIZES``
    model sizes log-spaced from N*/8 to 8 N*, N* the fit's own optimum at that budget (factors of 2 apart); D =
    budget / (k N). No budget exceeds the target (a run at the target is the answer itself, not a probe of it).
    With bounds on the tokens per parameter D/N (= budget / (k N^2)), each budget's sizes span the part of that
    range whose D/N is within them (still ``DEFAULT_GRID_SIZES`` sizes); a budget where no size is left has none.
    """
    low_tpp, high_tpp = _check_tokens_per_param(min_tokens_per_param, max_tokens_per_param)
    n, d, _, weights = (np.asarray(x, np.float64) for x in fit.data)
    largest = float(np.max(flops_per_param_token * n * d * (weights > 0)))
    top = min(spend, target_compute)
    low = largest if largest < top else DEFAULT_SMALLEST_SHARE * top
    budgets = np.geomspace(low, top, DEFAULT_GRID_BUDGETS)
    n_star = np.asarray(compute_optimal(fit.law, budgets, flops_per_param_token).n_params, np.float64)
    params = budgets / flops_per_param_token  # N D at each budget: D/N = params / N^2
    smallest = np.maximum(n_star / DEFAULT_GRID_SPAN, np.sqrt(params / (high_tpp or math.inf)))
    largest_n = np.minimum(n_star * DEFAULT_GRID_SPAN, np.sqrt(params / low_tpp) if low_tpp else math.inf)
    sizes, tokens = [], []
    for lo, hi, nd in zip(smallest, largest_n, params):
        if not lo <= hi:
            continue
        row = np.unique(np.geomspace(lo, hi, DEFAULT_GRID_SIZES))
        # D from the budget, then held inside the bounds against rounding (a change of a few ulps in the budget)
        sizes.append(row)
        tokens.append(np.clip(nd / row, (low_tpp or 0.0) * row, (high_tpp or math.inf) * row))
    sizes = np.concatenate(sizes) if sizes else np.zeros(0)
    tokens = np.concatenate(tokens) if tokens else np.zeros(0)
    keep = (sizes >= 1) & (tokens >= 1)
    bounds = ""
    if low_tpp is not None or high_tpp is not None:
        bounds = (f", within {'-' if low_tpp is None else f'{low_tpp:g}'} to "
                  f"{'-' if high_tpp is None else f'{high_tpp:g}'} tokens per parameter")
    description = (f"default grid: {DEFAULT_GRID_BUDGETS} budgets log-spaced from {low:.3g} to {top:.3g} FLOPs, "
                   f"{DEFAULT_GRID_SIZES} sizes each from N*/{DEFAULT_GRID_SPAN:g} to {DEFAULT_GRID_SPAN:g} N*{bounds}")
    if not keep.any():
        raise OptimalError(f"no run of the default grid ({description}) has at least 1 parameter and 1 token: widen "
                           "the tokens-per-parameter bounds or give candidates")
    return sizes[keep], tokens[keep], description


def _check_tokens_per_param(low, high, names=("min_tokens_per_param", "max_tokens_per_param")):
    """The bounds on D/N as floats (None: unbounded); ``OptimalError`` naming a non-positive or non-finite bound or
    a minimum above the maximum."""
    low = None if low is None else check_positive(low, names[0])
    high = None if high is None else check_positive(high, names[1])
    if low is not None and high is not None and low > high:
        raise OptimalError(f"{names[0]} ({low:g}) is above {names[1]} ({high:g}): no run can satisfy both; give a "
                           "minimum at most the maximum")
    return low, high


def _check_candidates(candidates):
    """``(N (K,), D (K,))`` from an (K, 2) array or a pair of (K,) arrays; ``DataError`` naming a bad value."""
    try:
        if isinstance(candidates, tuple) and len(candidates) == 2:
            n, d = (float_array(x, "candidates", DataError, "numbers (N, D)").ravel() for x in candidates)
        else:
            array = float_array(candidates, "candidates", DataError, "numbers (N, D)")
            if array.ndim != 2 or array.shape[1] != 2:
                raise DataError(f"candidates must be an array of shape (K, 2) of (N, D), or a pair (N, D) of arrays; "
                                f"got shape {array.shape}")
            n, d = array[:, 0], array[:, 1]
    except (TypeError, ValueError) as exc:
        if isinstance(exc, DataError):  # a bad shape, or float_array's for an int beyond float64
            raise
        raise DataError(f"candidates must be numbers (N, D): {exc}") from None
    if n.shape != d.shape or n.size == 0:
        raise DataError(f"candidates need as many N as D, at least one: got {n.size} N and {d.size} D")
    for values, name in ((n, "N"), (d, "D")):
        bad = ~np.isfinite(values) | (values <= 0)
        if bad.any():
            i = int(np.argmax(bad))
            raise DataError(f"candidate {i} (0-based): {name} = {values[i]:g} must be positive and finite")
        if np.any(values < 1):  # below one parameter or token the law's loss overflows
            i = int(np.argmax(values < 1))
            raise DataError(f"candidate {i} (0-based): {name} = {values[i]:g} must be at least 1")
    overflow = np.log(n) + np.log(d) > np.log(np.finfo(np.float64).max / 1e4)  # C = k N D finite for k <= 1e4
    if overflow.any():
        i = int(np.argmax(overflow))
        raise DataError(f"candidate {i} (0-based): N x D overflows its cost k N D (N = {n[i]:.3g}, D = {d[i]:.3g}); "
                        "check the units")
    return n, d


def _record(n, d, k, var_before, var_after, sd_key="sd_after"):
    cost = k * n * d
    reduction = max(var_before - var_after, 0.0)
    return {"N": float(n), "D": float(d), "compute": float(cost), "tokens_per_param": float(d / n),
            sd_key: float(math.sqrt(max(var_after, 0.0))), "variance_reduction": float(reduction),
            "reduction_per_flop": float(reduction / cost)}


def _greedy(info, g, rows, weight, k, cand_n, cand_d, spend, n_max, var_before, rule):
    """One greedy choice under ``rule`` ("per FLOP": variance removed / compute; "absolute": variance removed):
    ``(runs, final variance, why it stopped, information after, rule, indices of the runs in the candidates)``."""
    chosen, picked, var_now, left = [], [], var_before, spend
    available = np.ones(len(cand_n), bool)
    costs = k * cand_n * cand_d
    while True:
        if len(chosen) == n_max:
            stopped = f"{n_max} runs chosen (n)"
            break
        allowed = available & (costs <= left)
        if not allowed.any():
            stopped = "no candidate left fits in the spend left"
            break
        after = info.variances_with(g, rows, weight)
        removed = np.maximum(var_now - after, 0.0)
        i = _best(removed / costs if rule == "per FLOP" else removed, costs, cand_n, cand_d, allowed)
        if not removed[i] > 1e-12 * var_now:
            stopped = "no candidate left reduces the variance"
            break
        chosen.append(_record(cand_n[i], cand_d[i], k, var_now, after[i]))
        picked.append(i)
        info = info.added(rows[i], weight)
        var_now, left = float(after[i]), left - costs[i]
        available[i] = False
    return chosen, var_now, stopped, info, rule, picked


def _best(scores, costs, n, d, allowed):
    """Index of the best allowed candidate: highest score, then lower cost, N, D (never the position)."""
    idx = np.flatnonzero(allowed)
    order = np.lexsort((d[idx], n[idx], costs[idx], -scores[idx]))
    return int(idx[order[0]])


def bootstrap_spread(draws, target_compute, flops_per_param_token=DEFAULT_FLOPS_PER_PARAM_TOKEN):
    """``(spread, n_used, issues)``: the spread of ln N*(``target_compute``) over the converged draws of ``draws``
    (a ``BootstrapResult`` of one law), each draw allocated on its own (vmapped, ``optimal.allocation.draws``):
    half the width of their central 68.27% interval (the sd for normal draws, and not dominated by a few draws far
    out). A draw whose allocation did not converge or has no finite N* is counted as far out on both sides (the
    interval widens, never narrows: half below the others, half above) and named in ``issues``; ``spread`` is
    None when fewer than ``MIN_DRAWS`` draws have an N*."""
    good = np.asarray(draws.good)
    found = []
    if len(good) == 0:
        return None, 0, (Issue("draws", "no bootstrap draw converged: the figure is linearised"),)
    alloc = allocations(good, [target_compute], flops_per_param_token, family=draws.fit.family)
    log_n = np.log(alloc["N"][:, 0])
    usable = alloc["converged"][:, 0] & np.isfinite(log_n)
    bad = int(np.sum(~usable))
    if int(np.sum(usable)) < MIN_DRAWS:
        return None, int(np.sum(usable)), (Issue("draws", f"only {int(np.sum(usable))} of {len(good)} bootstrap draws "
                                                          f"have an N* at {target_compute:.3g} FLOPs (at least "
                                                          f"{MIN_DRAWS} needed): the figure is linearised"),)
    values = log_n[usable]
    if bad:
        far = 10 * (np.max(np.abs(values)) + 1)
        values = np.concatenate([values, np.where(np.arange(bad) % 2 == 0, -far, far)])
        found.append(Issue("draws", f"{bad} of {len(good)} bootstrap draws have no N* at {target_compute:.3g} FLOPs "
                                    "(allocation not converged): counted as far out on both sides of the spread"))
    lo, hi = percentile_bounds(values, SPREAD_LEVEL)
    return float(hi - lo) / 2, len(values), tuple(found)


def _draws_for(fit_result, draws, n_resamples, seed):
    """``(draws, issues)``: the bootstrap draws to calibrate on, ``draws`` when given (checked to be of this fit),
    else a fresh ``optimal.bootstrap`` of ``n_resamples`` (its warnings returned as ``Issue``, not raised), else
    None; ``issues``: the draws' own warnings (failed resamples, intervals at a boundary)."""
    if draws is not None:
        if not isinstance(draws, BootstrapResult):
            raise OptimalError(f"draws must be a BootstrapResult (optimal.bootstrap), not {type(draws).__name__}")
        if draws.fit.group_labels is not None or not np.array_equal(np.asarray(draws.fit.theta),
                                                                    np.asarray(fit_result.theta)):
            raise OptimalError("the bootstrap draws are of another fit: pass optimal.bootstrap(fit) of this fit")
        boot = draws
    elif n_resamples == 0:
        return None, ()
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # kept as issues of the answer, below
            boot = bootstrap(fit_result, n_resamples=n_resamples, seed=seed)
    return boot, tuple(Issue(w.code, f"bootstrap: {w.message}") for w in boot.warnings)


@float64_scope
def suggest(fit_result, target_compute, spend, candidates=None, n=DEFAULT_N, *,
            flops_per_param_token=DEFAULT_FLOPS_PER_PARAM_TOKEN, noise_sd=None, draws=None,
            n_resamples=DEFAULT_RESAMPLES, seed=0, min_tokens_per_param=None,
            max_tokens_per_param=None) -> Suggestion:
    """Rank candidate runs by how much each shrinks the variance of log N*(``target_compute``) per FLOP, and choose
    greedily a set whose total compute ``k N D`` is at most ``spend``; the variances are the linearised ones scaled
    so that the current one is the bootstrap's spread (see the module docstring for why).

    Args:
      fit_result: a ``FitResult`` of one law (``optimal.fit``, ``optimal.load_fit``); its rows and coefficients
        give the current information.
      target_compute: C, the budget (FLOPs) whose N* should be narrowed.
      spend: F, the compute (FLOPs) available for the new runs together.
      candidates: (K, 2) array of (N, D) (parameters, tokens), or a pair of (K,) arrays; None: the default grid
        (``default_candidates``).
      n: at most this many runs are chosen.
      flops_per_param_token: k in the cost k N D and in the allocation (default 6).
      noise_sd: the log-loss noise sd sigma; None estimates it from the fit's residuals (``noise_scale``). With
        draws it only scales the linearised figure, which the calibration then replaces.
      draws: a ``BootstrapResult`` of this fit (``optimal.bootstrap(fit_result)``, or a fit record's) to measure
        the current spread on; None: a fresh bootstrap of ``n_resamples`` resamples (seed ``seed``), or, with
        ``n_resamples=0``, the linearised figure alone (``Suggestion.warnings`` carries the caveat).
      min_tokens_per_param, max_tokens_per_param: bounds on D/N of the candidates (None: unbounded); the default
        grid is laid out within them, given candidates outside them are left out (counted).

    Returns:
      A ``Suggestion``.

    Raises:
      BudgetError: target_compute or spend not positive and finite, or no candidate fits in the spend.
      DataError: malformed candidates; residuals without spread (give noise_sd). OptimalError: a joint fit,
      an allocation that did not converge, a bad ``n``, ``n_resamples`` or ``seed``, draws of another fit,
      tokens-per-parameter bounds that are not positive or whose minimum is above the maximum, or no candidate
      within them.

    Example:
      >>> s = suggest(optimal.fit(n, d, loss), 1e24, 1e21)  # doctest: +SKIP
      >>> [(r["N"], r["D"]) for r in s.runs]  # doctest: +SKIP
    """
    _one_law(fit_result)
    target_compute, spend = _flops(target_compute, "target compute"), _flops(spend, "spend")
    k = _flops(flops_per_param_token, "k")
    n_max = check_count(n, "n (runs to suggest)", 1)
    _check_noise_sd(noise_sd)
    low_tpp, high_tpp = _check_tokens_per_param(min_tokens_per_param, max_tokens_per_param)
    n_resamples = check_count(n_resamples, "n_resamples", 0)
    if n_resamples == 1:
        raise OptimalError("n_resamples must be 0 (the linearised figure) or at least 2 (a bootstrap), got 1")
    seed = check_count(seed, "seed", 0, MAX_SEED)
    n_outside = 0
    if candidates is None:
        cand_n, cand_d, described = default_candidates(fit_result, target_compute, spend, k, low_tpp, high_tpp)
    else:
        (cand_n, cand_d), described = _check_candidates(candidates), "given"
        ratio = cand_d / cand_n
        inside = (ratio >= (low_tpp or 0.0)) & (ratio <= (high_tpp or math.inf))
        n_outside = int(np.sum(~inside))
        if not inside.any():
            raise OptimalError(f"none of the {len(cand_n)} candidates has tokens per parameter within "
                               f"{low_tpp or 0:g} to {high_tpp or math.inf:g} (theirs: {ratio.min():.3g} to "
                               f"{ratio.max():.3g}): widen the bounds or give other candidates")
        cand_n, cand_d = cand_n[inside], cand_d[inside]
    costs = k * cand_n * cand_d
    if not np.any(costs <= spend):
        raise BudgetError(f"no candidate fits in the spend of {spend:.3g} FLOPs: the cheapest costs {costs.min():.3g} "
                          f"FLOPs (k N D with k = {k:g})")

    log_n_star, g = log_n_star_gradient(fit_result, target_compute, k)
    info, weight, (sigma, noise_from), factor = _information(fit_result, noise_sd)
    rows = prediction_jacobian(fit_result, cand_n, cand_d)
    sd_linearised = math.sqrt(info.variance(g))

    boot, draw_issues = _draws_for(fit_result, draws, n_resamples, seed)
    method, calibration, n_draws, n_total = "linearised", 1.0, 0, 0
    if boot is not None:
        spread, n_draws, more = bootstrap_spread(boot, target_compute, k)
        draw_issues += more
        n_total = boot.n_resamples
        if spread is not None and spread > 0 and sd_linearised > 0:
            method, calibration = "bootstrap", spread / sd_linearised
            g = g * calibration  # every variance g^T I^-1 g scales by calibration^2: the sd before is the spread

    var_before = info.variance(g)
    # the new runs at the law's noise (calibration 1 for them): g^T (I_old + c^2 I_new)^-1 g with g scaled by c is
    # g^T (I_old / c^2 + I_new)^-1 g with the linearised g (the module docstring)
    noise_weight = weight * calibration ** 2
    first = info.variances_with(g, rows, weight)
    first_noise = info.variances_with(g, rows, noise_weight)
    first_scores = np.maximum(var_before - first, 0.0) / costs
    ranking = []
    for i in np.lexsort((cand_d, cand_n, costs, -first_scores)):
        entry = _record(cand_n[i], cand_d[i], k, var_before, first[i])
        entry["sd_after_noise"] = float(math.sqrt(max(first_noise[i], 0.0)))
        entry["fits_spend"] = bool(costs[i] <= spend)
        ranking.append(entry)

    # the choice assumes the new runs scatter as the old rows (every variance the linearised one times c^2): the
    # ranking and the runs are the linearised ones, as before the range was reported
    picks = [_greedy(info, g, rows, weight, k, cand_n, cand_d, spend, n_max, var_before, rule)
             for rule in RULES]
    chosen, var_now, stopped, info_after, rule, picked = min(picks, key=lambda p: (p[1], RULES.index(p[4])))
    info_noise = info
    for record, i in zip(chosen, picked):
        info_noise = info_noise.added(rows[i], noise_weight)
        record["sd_after_noise"] = float(math.sqrt(max(info_noise.variance(g), 0.0)))
    var_noise = info_noise.variance(g)
    n_star = float(math.exp(log_n_star))
    return Suggestion(
        runs=chosen, ranking=ranking, target_compute=target_compute, spend=spend, flops_per_param_token=k,
        n_star=n_star, sd_before=math.sqrt(var_before), sd_after=math.sqrt(var_now),
        sd_after_noise=math.sqrt(max(var_noise, 0.0)),
        total_compute=float(sum(r["compute"] for r in chosen)), rule=rule, noise_sd=sigma, noise_from=noise_from,
        variance_factor=factor, information_condition=info.condition, weak_directions=info.weak_directions,
        candidates_from=described, n_candidates=len(cand_n), stopped=stopped, method=method,
        sd_linearised=sd_linearised, calibration=calibration, n_draws=n_draws, n_resamples=n_total,
        min_tokens_per_param=low_tpp, max_tokens_per_param=high_tpp, n_outside_bounds=n_outside,
        draw_warnings=draw_issues,
        extrapolation_warnings=_extrapolation_issues(fit_result, target_compute, n_star, k, chosen))
