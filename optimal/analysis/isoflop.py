"""IsoFLOP profiles (Hoffmann et al. 2022's Approach 2) beside the parametric fit (their Approach 3).

At each compute budget C, runs of several sizes N trained with D = C / (k N): fit a parabola to the loss against
x = ln N, take its vertex as N_opt(C), then fit N*(C) = G C^a and D*(C) = H C^b through the vertices.

The loss scale. The parabola is fitted to the loss itself (nats per token), not its log: that is what Hoffmann et al.
and the teams who published IsoFLOP results fit, so the vertices here are theirs; and on a Chinchilla law
``L = E + A/N^alpha + B/D^beta`` the loss along an IsoFLOP line is ``E + P(C) f(u)`` with u = ln(N / N*(C)) and
``f(u) = exp(-alpha u) + (alpha / beta) exp(beta u)`` a shape that does not depend on C, and a vertex does not move
under ``y -> E + P y``. So, fitted to the loss, a parabola's vertex error depends only on (alpha, beta) and where the
sizes sit relative to N*(C), never on C itself; fitted to log loss it would also depend on E / P(C), which changes
with C and would bend the exponent a.

The bias (derived here; Open-Athena's scaling-law-analysis study documents it too). f is not a parabola:
f''(0) = alpha (alpha + beta) and f'''(0) = alpha (beta - alpha)(beta + alpha). On sizes evenly spaced in ln N over
+-h around N*, least squares maps the cubic term onto the linear one (u^3 ~ lambda u, lambda = mean u^4 / mean u^2:
7/9 h^2 for 7 sizes) and the vertex lands at u ~ -(beta - alpha) lambda / 6: in decades about
``-0.075 (beta - alpha) w^2`` for a grid w decades wide (7 sizes). When beta > alpha the parabola puts N_opt below
N* (D_opt above D*), and the other way round. With alpha = beta, f = 2 cosh(alpha u) is even and a centred grid's
vertex is exact; an off-centre grid pulls the vertex towards the grid's centre. A grid that keeps its place relative
to N*(C) errs by the same factor at every budget (G is off, a is not); a grid that drifts relative to N*(C) (the
same sizes at every budget drift by -a decades per decade of C) errs by a different factor at each budget and bends a.

Measured by ``isoflop`` itself on noise-free ``optimal.data.synthetic.isoflop_runs`` (7 sizes; vertex error
log10(N_opt / N*) in decades; reproduce with
``python -c "from optimal.analysis.isoflop import bias_table; bias_table()"``):

  alpha, beta     centred grid, w = 1 / 1.5 / 2 / 3 decades      offset 0.5 half-widths, w = 2 / 3
  0.34, 0.34      0 / 0 / 0 / 0                                   +0.012 / +0.039
  0.34, 0.28      +0.0045 / +0.010 / +0.018 / +0.040              +0.011 / +0.033
  0.30, 0.40      -0.0075 / -0.017 / -0.030 / -0.067              +0.014 / +0.044
  0.25, 0.45      -0.015 / -0.033 / -0.059 / -0.132               +0.015 / +0.051

The warnings below fire where that computation says the error matters. Their thresholds: an error in N* of 0.02
decades (4.7%, ``BIAS_DECADES``) is where the bias rivals the spread of published estimates of N*; an exponent error
of 0.01 (``EXPONENT_BIAS``) is half the 0.023 gap seen between the two approaches on public IsoFLOP data (issue 13).
  * asymmetric exponents, |alpha - beta| >= ``ASYMMETRY`` = 0.05: at the common 2-decade width that alone moves the
    vertex 0.015 decades (3.5%), and at 2.5 decades past ``BIAS_DECADES``.
  * off-centre, |vertex offset| >= ``OFF_CENTRE`` = 0.5 half-widths: at 2 decades wide that alone moves the vertex
    0.012 decades even with alpha = beta, and 0.04 at 3 decades; and the vertex then rests on one side's sizes.
  * drifting, |d offset / d log10 C| >= ``DRIFT`` = 0.3 decades per decade of C: measured on noise-free grids over
    3 decades of C (alpha, beta = 0.34, 0.34 and 0.30, 0.40; widths 1-3 decades), the exponent moves by at most 0.008
    at a drift of 0.2, by 0.003-0.009 at 0.3, by 0.004-0.02 at 0.4 and by 0.02-0.04 at 0.5 (about what the same
    sizes at every budget give: a drift of -a).
  * wide, w >= ``WIDE`` = 2.5 decades: past it the asymmetric term alone (|alpha - beta| = 0.05) exceeds
    ``BIAS_DECADES``, and off-centre grids err by 0.02-0.04 decades.
  * predicted bias: the parametric law itself, replayed noise-free at the sizes tried, puts a vertex more than
    ``BIAS_DECADES`` off its own optimum, or its exponent more than ``EXPONENT_BIAS`` off.

The bootstrap: a wild bootstrap on each budget's fixed sizes. An IsoFLOP budget is a designed experiment: the sizes
are chosen, the losses are what is random. Resampling runs with replacement inside a budget (the scheme used before)
treats the sizes as random too: a resample of m runs at m sizes keeps every size with probability m! / m^m (0.6% for
7), so most resamples fit their parabola to fewer, clumped sizes, a design with a far more variable vertex, and many
had none (on 88 real runs, 12 budgets with one run per size, 723 of 1000 resamples lost a vertex); leaving those out
pulled the draws away from the point (it sat at their 87th percentile) and the interval missed the published value.
Here every run keeps its size and its weight, and its loss is redrawn as

    loss*_i = fitted_i + s_i e_i / sqrt(1 - h_i)

with e_i its residual from its budget's parabola, h_i its leverage (sum h_i = 3 per budget) and s_i = +-1 at random:
dividing by sqrt(1 - h_i) (HC2) undoes the shrinkage of a 3-coefficient fit, E e_i^2 = (1 - h_i) sigma^2, which on 7
sizes alone would make the draws' spread sqrt(4/7) = 0.76 of the noise's. Then every parabola and the line are
refitted. Why this scheme (Wu 1986; Davidson and Flachaire 2008 recommend these +-1 signs with HC2 residuals):
  * no size is ever dropped: every resample is the data's design, and has every budget's vertex unless the noise
    leaves a parabola without minimum (below);
  * the draws are centred on the point: E*[loss*] = fitted, so every parabola coefficient's draws have the point's
    coefficient as their mean (the vertex and a are smooth functions of them);
  * each residual stays at its own run: no assumption that the noise (or the parabola's lack of fit, largest at the
    grid's edges) is the same at every size or every budget, which shuffling residuals among a budget's 5-12 runs,
    or pooling them across budgets, would need;
  * clusters (``clusters``, ``--cluster-col``): runs of one cluster share their sign in each resample (the wild
    cluster bootstrap of Cameron, Gelbach and Miller 2008), keeping noise shared by runs of one config or one data
    order, even across budgets.
Its limits: the residuals carry the parabola's own lack of fit as if it were noise, which widens the interval where
the grid is wide and the noise small. Where the noise is large against a budget's curvature, a redrawn parabola can
have no minimum: as the data's own analysis refuses such a budget, its vertex is left out of that resample's line
(counted per budget and warned about; in that budget's own N_opt interval it counts against both ends, see
``counted_interval``). A redrawn vertex outside the sizes tried is kept, however far out: refusing it, as an
earlier version of the data's own test did at the edge of the sizes (it now refuses only beyond
``VERTEX_MARGIN``), cut the draws' far tail and pulled them off the point (on the 12-budget, 7-size design of
``benchmarks/isoflop_coverage.py`` at 1% noise the point went to the 71st percentile of its draws and coverage fell to
77%; keeping it: 42nd percentile, 97.5%). Failing the whole resample instead left most intervals unbounded at 2%
noise (159 of 200 sets on the centred design: they cover, but say nothing). A run the parabola passes through
(leverage 1: a budget with exactly 3 runs, or a size run once where only 3 sizes were tried) has a zero residual that
says nothing of the noise; it is given the budget's own residual sd, or with no residual degree of freedom at the budget, that of
all budgets pooled (and a warning says so). The interval covers the estimator's own noise-free value, not the truth
where Approach 2 is biased (above): coverage of both on synthetic IsoFLOP designs is measured by
``benchmarks/isoflop_coverage.py`` (docs/isoflop.md). By default (``interval="auto"``, ``auto_choice``) the
intervals are the studentized ones (below) where every vertex lies at least z = Phi^-1((1 + confidence) / 2)
delta-method standard errors inside the bounds its budget is accepted within (``acceptance_bounds``: its sizes and
``VERTEX_MARGIN`` of their width beyond them) and no budget was refused for its losses, and otherwise the envelope of
the percentile and studentized intervals: near such a bound, noise decides which budgets the data's own test keeps, a
selection the draws do not repeat, and neither interval alone held its level on every design measured
(docs/isoflop.md, "The default: auto"). ``interval="percentile"`` gives
the draws' percentiles; ``interval="bc"`` reads the same draws as Efron's bias-corrected percentile interval (``counted_interval``), which balances the misses
on a drifting grid but not on the narrow one-run-per-size grid of the real runs, so it is not the default (measured
there). ``interval="calibrated"`` is the percentile interval at levels calibrated by a double bootstrap (Hall 1986;
Beran 1987; Davison and Hinkley 1997, section 5.6): each first-level draw b is resampled again, ``INNER_RESAMPLES``
times, by the same wild scheme applied to draw b's own losses (its parabolas' fitted losses and its own HC2
residuals; ``_second_level``), u_b is the share of those second-level estimates at or below the data's own point
(ties half; a second-level failure counted against both ends, ``calibration_shares``), and the interval's ends are
the first-level draws' quantiles at the (1 - confidence) / 2 quantile of the u_b and at the (1 + confidence) / 2
one (``calibrated_levels``) instead of at the nominal tails. A parabola is linear in the losses, so the second level
is batched matrix products; it costs about 16 times the first level's time (docs/isoflop.md has the measured cost
and coverage). ``interval="studentized"`` is the bootstrap-t interval (Efron and Tibshirani 1993, ch. 12; Hall 1988):
each draw's t_b = (a_b - a) / se_b, se_b the delta-method (HC2 sandwich) standard error from draw b's own residuals
(``delta_variances``), and the interval [a - t_hi se, a - t_lo se] (``studentized_interval``): it widens where the
residuals give a noisy se (the t effect that left the percentile interval narrow on wide grids) and turns the
vertex's ratio skew the right way (the percentile interval adds the draws' bias to the point's instead of removing
it); docs/isoflop.md has the diagnosis and the coverage.

Example:
  >>> import optimal
  >>> runs = optimal.data.synthetic.isoflop_runs(noise=0.0)
  >>> found = optimal.isoflop(runs, parametric=False)
  >>> round(found.exponent, 3)  # the truth's beta / (alpha + beta) = 0.513; the grid is centred, alpha ~ beta
  0.513
"""

import dataclasses
import math
import statistics
import warnings

import numpy as np

from ..errors import (BudgetError, DataError, OptimalError, check_confidence, check_count, check_mapping,
                      check_positive, float_array)
from .._util.precision import float64_scope
from .._util.units import DEFAULT_FLOPS_PER_PARAM_TOKEN
from .._util.results import Issue, Judged, Status
from .._util.stats import few_draws_message
from .._util.text import format_table
from ..allocation.draws import allocate_draws
from ..fitting.bootstrap import MAX_RESAMPLES, MAX_SEED, bootstrap
from ..data.groups import encode_groups
from ..data.runs import Runs, validate_runs
from ..fitting.fit import fit
from ..fitting.resample import WILD_WEIGHTS

DEFAULT_TOLERANCE = 0.05  # runs whose k N D agree within 5% share a budget: published grids differ by >= 1.5x
MIN_SIZES = 3  # a parabola needs three distinct sizes
FLAT_ULPS = 64  # a parabola whose rise over the sizes is within this many ulps of the losses has no curvature
ASYMMETRY = 0.05
OFF_CENTRE = 0.5
DRIFT = 0.3
WIDE = 2.5
BIAS_DECADES = 0.02
EXPONENT_BIAS = 0.01
TARGET_FACTOR = 100.0  # default target budgets: the largest budget in the data, and this many times it
INTERVAL_METHODS = ("auto", "percentile", "bc", "calibrated", "studentized")  # auto: the studentized interval where
# every vertex is well inside the bounds it is accepted within, else the envelope of the percentile and studentized
# ones (auto_choice); percentile, Efron's bias-corrected percentile, the percentile interval calibrated by a
# second-level (double) bootstrap, or the bootstrap-t interval
DEFAULT_INTERVAL = "auto"  # decided from benchmarks/results/isoflop-coverage*.md (docs/isoflop.md)
INTERVAL_NAMES = {"auto": "auto", "percentile": "percentile", "bc": "bias-corrected (BC) percentile",
                  "calibrated": "double-bootstrap calibrated percentile",
                  "studentized": "studentized (bootstrap-t)"}
VERTEX_MARGIN = 0.5  # a vertex up to this share of its sizes' width (in ln N) beyond the smallest or largest size is
# accepted, its parabola extrapolated ("extrapolated" warning); farther out it is refused. Refusing at the edge itself
# let the noise decide which budgets of a narrow grid enter the line, a selection no bootstrap of the accepted budgets
# repeats: on 1000 sets of a 1-decade, 6-size grid whose optimum drifts to its edge, the interval of a covered the
# estimator's limit in 90.6% of sets at 0.5% noise (docs/isoflop.md, "Vertices outside the sizes tried")
OUTSIDE_REASON = f"vertex outside the sizes tried by more than {VERTEX_MARGIN:g} of their width"
NOISE_REFUSALS = ("curvature not positive (no minimum)", OUTSIDE_REASON)  # refusals the noise
# can cause (a budget with fewer than 3 sizes is refused by its design, whatever the losses)
INNER_RESAMPLES = 200  # second-level resamples per first-level draw (interval="calibrated")
CALIBRATION_FAILURES = 0.01  # share of resamples with a parabola without minimum past which the calibrated interval
# is warned about (benchmarks/results/isoflop-coverage-*.md): in rows where 18% and 39% of resamples had one on
# average it covered the estimator's limit in 89% and 92% of sets at 95% (and the truth less than percentile where
# 5% had); where 0.2% or fewer had, it helped
CHUNK_ELEMENTS = 2_000_000  # second-level signs (draws x inner resamples x clusters) held at once


def _n(value, spec=".4g"):
    return "-" if value is None else format(value, spec)


def _with_interval(point, found, spec=".4g"):
    """The point and its interval; an end that failed resamples leave unbounded (``counted_interval``) says so."""
    if point is None:
        return "-"
    if not found or (found.get("lo") is None and found.get("hi") is None and found.get("se") is None):
        return format(point, spec)
    lo, hi = (_n(found[end], spec) if found[end] is not None else "unbounded" for end in ("lo", "hi"))
    return f"{point:{spec}} [{lo}, {hi}]"


@dataclasses.dataclass(frozen=True)
class BudgetProfile(Judged):
    """One budget's IsoFLOP profile and its parabola.

    Attributes:
      compute: the budget C in FLOPs (geometric mean of its runs' budgets); compute_spread: max/min of those, minus 1.
      n_runs: runs at this budget; n_sizes: distinct N among them.
      n_min, n_max: the smallest and largest N tried; width_decades: log10(n_max / n_min).
      coefficients: (c0, c1, c2) of loss = c0 + c1 x + c2 x^2 with x = ln N (nats), or None with fewer than 3 sizes.
      curvature: d^2 loss / d(ln N)^2 = 2 c2 (nats); positive for a minimum.
      n_opt: the vertex N_opt = exp(-c1 / (2 c2)) (parameters); d_opt = C / (k N_opt) (tokens); loss_opt the
        parabola's value there (nats).
      offset_decades: log10 N_opt minus the centre of the sizes tried (log10 sqrt(n_min n_max));
      offset_half_widths: that offset over half the width (-1 and 1 are the smallest and largest size).
      accepted: whether the vertex enters the N*(C) fit; reason: why not (None when accepted).
    """

    compute: float
    compute_spread: float
    n_runs: int
    n_sizes: int
    n_min: float
    n_max: float
    width_decades: float
    coefficients: tuple | None
    curvature: float | None
    n_opt: float | None
    d_opt: float | None
    loss_opt: float | None
    offset_decades: float | None
    offset_half_widths: float | None
    accepted: bool
    reason: str | None

    @property
    def status(self) -> Status:
        """SUCCESS when the vertex enters the N*(C) fit, FAILED when it is refused (``warnings`` says why)."""
        return Status.SUCCESS if self.accepted else Status.FAILED

    @property
    def extrapolated(self) -> bool:
        """Whether the vertex was accepted outside the sizes tried (within ``VERTEX_MARGIN`` of their width)."""
        return self.accepted and not self.n_min <= self.n_opt <= self.n_max

    @property
    def warnings(self) -> tuple:
        """Why the vertex was refused ("refused"), or nothing."""
        return () if self.accepted else (Issue("refused", f"budget {self.compute:.4g} FLOPs refused: {self.reason}"),)

    @property
    def notes(self) -> tuple:
        return ()

    def to_dict(self):
        return {field.name: (list(value) if isinstance(value, tuple) else value)
                for field, value in ((f, getattr(self, f.name)) for f in dataclasses.fields(self))}

    def summary(self) -> str:
        """One line: the budget, the sizes tried, the vertex and whether it was accepted."""
        return (f"budget {self.compute:.4g} FLOPs: {self.n_runs} runs, {self.n_sizes} sizes over "
                f"{self.n_min:.3g}-{self.n_max:.3g} ({self.width_decades:.2f} decades); N_opt {_n(self.n_opt)}, "
                f"D_opt {_n(self.d_opt)}; " + ("accepted" if self.accepted else f"REFUSED: {self.reason}"))


@dataclasses.dataclass(frozen=True)
class IsoflopResult(Judged):
    """Approach 2 (IsoFLOP parabolas) and, beside it, Approach 3 (the parametric fit) on the same runs.

    Attributes:
      profiles: one ``BudgetProfile`` per budget, smallest first.
      exponent, coefficient: a and G of N*(C) = G C^a through the accepted vertices (None with fewer than 2).
      tokens_exponent, tokens_coefficient: b and H of D*(C) = H C^b (b = 1 - a, H = 1 / (k G): D = C / (k N)).
      flops_per_param_token: k in C = k N D. tolerance: the relative tolerance budgets were grouped with.
      targets: the budgets (FLOPs) at which both approaches' N* and D* are compared; target_note says where they
        came from.
      bootstrap: the wild bootstrap on each budget's fixed sizes (module docstring, "The bootstrap"), or None:
        ``{"n_resamples", "seed", "confidence", "interval_method" ("auto", "percentile", "bc", "calibrated" or "studentized": how the
        intervals are read off the draws, ``counted_interval``), "scheme" ("wild"), "n_clusters" (sign groups: the runs, or the
        clusters given), "failed_by_budget" {compute: resamples whose parabola there has no minimum},
        "outside_by_budget" {compute: resamples whose vertex there fell outside the sizes tried (kept)}, "fallback"
        [(compute, runs on their parabola, residual degrees of freedom, the sd used for them)], "n_with_failure"
        (resamples with a vertex left out: no minimum), "n_failed" (resamples with fewer than 2 vertices: no line)}``
        and the draws ``"a"``, ``"log_g"`` (R,) (NaN without a line) and ``"log_n_opt"`` (R, G accepted) (NaN where
        that budget's parabola had no minimum); with interval="auto" also ``"auto"`` (``auto_choice``: which interval
        and why); with interval="studentized" or "auto" also ``"studentized"``, ``{"draws",
        "point"}``: ``delta_variances`` of the draws and of the data (its standard errors); with interval="calibrated" also
        ``"calibration"``, the second level (``_second_level``: its a and ln G, (R, inner) each, and each budget's
        ``calibration_shares``). Intervals are ``counted_interval`` s (``studentized_interval`` s with
        "studentized"): a NaN draw counts against both ends.
      parametric: the Approach 3 ``FitResult`` on the same runs, or None (parametric=False, or too few runs:
        ``parametric_note`` says); parametric_bootstrap: its ``BootstrapResult`` when bootstrapped.
      predicted: the parametric law replayed noise-free at the sizes tried: ``{"compute": [accepted budgets],
        "vertex_decades": [log10(N_opt / N*) of the law's own losses, per accepted budget], "exponent_error"}`` (None
        without a parametric fit).
      warnings: ``Issue`` s (code and message; given as ``{"code", "message"}`` dicts they are converted):
        refused budgets, bootstrap failures and where Approach 2 misleads.
      data: ``(N, D, loss, budget index)`` of the runs, numpy arrays (n,).
    """

    profiles: tuple
    exponent: float | None
    coefficient: float | None
    tokens_exponent: float | None
    tokens_coefficient: float | None
    flops_per_param_token: float
    tolerance: float
    targets: tuple
    target_note: str
    bootstrap: dict | None
    parametric: object | None
    parametric_note: str | None
    parametric_bootstrap: object | None
    predicted: dict | None
    warnings: tuple
    data: tuple

    def __post_init__(self):
        object.__setattr__(self, "warnings", tuple(w if isinstance(w, Issue) else Issue(w["code"], w["message"])
                                                   for w in self.warnings))

    @property
    def status(self) -> Status:
        """FAILED without an N*(C) line (fewer than 2 accepted vertices), PARTIAL when some budgets were refused,
        else SUCCESS."""
        if self.exponent is None:
            return Status.FAILED
        return Status.SUCCESS if len(self.accepted) == len(self.profiles) else Status.PARTIAL

    @property
    def notes(self) -> tuple:
        """Where the target budgets came from, and why there is no parametric fit (when there is none)."""
        found = [Issue("targets", f"target budgets: {self.target_note}")]
        if self.parametric_note:
            found.append(Issue("parametric", f"Approach 3: {self.parametric_note}"))
        return tuple(found)

    @property
    def accepted(self):
        """The profiles whose vertices enter the N*(C) fit."""
        return tuple(p for p in self.profiles if p.accepted)

    def n_star(self, compute):
        """Approach 2's N*(C) = G C^a (parameters) at ``compute`` (FLOPs), or None without a fit."""
        return None if self.exponent is None else self.coefficient * np.asarray(compute, dtype=np.float64) ** self.exponent

    def n_star_interval(self, compute):
        """Approach 2's bootstrap interval ``{lo, hi, se}`` of N*(C) (parameters) at one budget ``compute`` (FLOPs)
        from the draws' lines G* C^a* (``counted_interval`` by the bootstrap's ``interval_method``); None without a
        bootstrap or a fit."""
        if self.bootstrap is None or self.exponent is None:
            return None
        log_c, point = math.log(compute), math.log(float(self.n_star(compute)))
        log_draws = self.bootstrap["log_g"] + self.bootstrap["a"] * log_c
        return self._interval(log_draws, point, log=True,
                              shares=lambda cal: calibration_shares(cal["log_g"] + cal["a"] * log_c, point),
                              variance=lambda v: v["log_g"] + 2.0 * log_c * v["a_log_g"] + log_c**2 * v["a"])

    @property
    def parametric_exponent(self):
        """Approach 3's a = beta / (alpha + beta), or None."""
        if self.parametric is None:
            return None
        p = self.parametric.params
        return p["beta"] / (p["alpha"] + p["beta"])

    def comparison(self):
        """Per target budget: both approaches' N* and D*, the ratio N*_2 / N*_3, with Approach 2's bootstrap interval."""
        from ..allocation.allocate import compute_optimal  # allocation sits beside fitting; imported where used

        k = self.flops_per_param_token
        targets = np.asarray(self.targets, dtype=np.float64)
        third = None if self.parametric is None else compute_optimal(self.parametric.law, targets, flops_per_param_token=k)
        rows = []
        for i, c in enumerate(targets):
            n2 = None if self.exponent is None else float(self.n_star(c))
            row = {"compute": float(c), "approach2": {"N": n2, "D": None if n2 is None else float(c / (k * n2))},
                   "approach3": None, "N_ratio": None}
            if self.bootstrap is not None and n2 is not None:
                row["approach2"]["N_interval"] = self.n_star_interval(c)
            if third is not None:
                n3 = float(np.asarray(third.n_params)[i])
                row["approach3"] = {"N": n3, "D": float(np.asarray(third.n_tokens)[i])}
                if self.parametric_bootstrap is not None and len(self.parametric_bootstrap.good) >= 2:
                    row["approach3"]["N_interval"] = allocate_draws(self.parametric_bootstrap, [c], k)[0]["N"]
                row["N_ratio"] = None if n2 is None else n2 / n3
            rows.append(row)
        return rows

    def _interval(self, draws, point, log=False, shares=None, variance=None):
        """``counted_interval`` of bootstrap ``draws`` of ``point`` by the bootstrap's ``interval_method``: the
        percentile interval, with "bc" the bias-corrected one (z0 from the draws' share below the point), with
        "calibrated" the percentile interval at ``calibrated_levels`` of ``shares(calibration)``, a function of the
        second level (``_second_level``'s dict) giving ``calibration_shares`` of this quantity's second-level draws;
        with "studentized" the ``studentized_interval``, ``variance(v)`` giving this quantity's delta-method variance
        from a ``delta_variances`` dict (applied to the draws' and to the data's)."""
        method, confidence = self.bootstrap.get("interval_method"), self.bootstrap["confidence"]
        if method in ("studentized", "auto"):
            found = self.bootstrap.get("studentized")
            if found is None or (method == "auto" and "auto" not in self.bootstrap):
                raise OptimalError(f"a{'n' if method == 'auto' else ''} {method} interval needs the draws' standard "
                                   f"errors: run optimal.isoflop with interval={method!r}")
            studentized = studentized_interval(draws, point, variance(found["draws"]),
                                               float(variance(found["point"])[0]), confidence, log=log)
            if method == "studentized" or self.bootstrap["auto"]["chosen"] == "studentized":
                return studentized
            return interval_envelope(counted_interval(draws, confidence, log=log), studentized)
        if method == "calibrated":
            calibration = self.bootstrap.get("calibration")
            if calibration is None:
                raise OptimalError("a calibrated interval needs the second-level draws: run optimal.isoflop with "
                                   "interval='calibrated'")
            levels = calibrated_levels(*shares(calibration), confidence)
            return counted_interval(draws, confidence, log=log, levels=levels)
        return counted_interval(draws, confidence, log=log, point=point if method == "bc" else None)

    def to_dict(self):
        """The JSON summary (README, ``optimal isoflop --json``)."""
        a3 = self.parametric_exponent
        boot = None
        if self.bootstrap is not None:
            b = self.bootstrap
            boot = {key: b[key] for key in ("n_resamples", "seed", "confidence", "interval_method", "scheme",
                                            "n_clusters", "n_with_failure", "n_failed")}
            boot["failed_by_budget"] = [{"compute": c, "n_failed": n} for c, n in b["failed_by_budget"].items()]
            boot["outside_by_budget"] = [{"compute": c, "n_outside": n} for c, n in b["outside_by_budget"].items()]
            if "calibration" in b:
                boot["inner_resamples"] = b["calibration"]["inner"]
            if b["interval_method"] == "auto" and "auto" in b:  # without it, _interval below says what is missing
                boot["auto"] = dict(b["auto"])
            boot["a"] = self._interval(b["a"], self.exponent,
                                       shares=lambda cal: calibration_shares(cal["a"], self.exponent),
                                       variance=lambda v: v["a"])
            boot["b"] = self._interval(1.0 - b["a"], self.tokens_exponent,
                                       shares=lambda cal: calibration_shares(1.0 - cal["a"], self.tokens_exponent),
                                       variance=lambda v: v["a"])
            boot["n_opt"] = [{"compute": p.compute, **self._interval(
                                  column, math.log(p.n_opt), log=True,
                                  shares=lambda cal, g=g: tuple(s[:, g] for s in cal["n_opt_shares"]),
                                  variance=lambda v, g=g: v["vertex"][:, g])}
                             for g, (p, column) in enumerate(zip(self.accepted, b["log_n_opt"].T))]
        parametric = None
        if self.parametric is not None:
            parametric = {"params": self.parametric.params, "a": a3, "b": 1.0 - a3, "converged": bool(self.parametric.converged),
                          "warnings": list(self.parametric.warnings)}
            if self.parametric_bootstrap is not None:
                parametric["bootstrap"] = {"n_resamples": self.parametric_bootstrap.n_resamples,
                                           "n_failed": self.parametric_bootstrap.n_failed,
                                           "a": self.parametric_bootstrap.params().get("a")}
        return {
            "loss_scale": "loss (nats), parabola in x = ln N",
            "flops_per_param_token": self.flops_per_param_token,
            "tolerance": self.tolerance,
            "budgets": [p.to_dict() for p in self.profiles],
            "n_accepted": len(self.accepted),
            "approach2": {"a": self.exponent, "G": self.coefficient, "b": self.tokens_exponent, "H": self.tokens_coefficient,
                          "bootstrap": boot},
            "approach3": parametric,
            "approach3_note": self.parametric_note,
            "exponent_difference": None if a3 is None or self.exponent is None else self.exponent - a3,
            "targets": self.comparison(),
            "target_note": self.target_note,
            "predicted_bias": self.predicted,
            "warnings": [w.to_dict() for w in self.warnings],
            "status": self.status.label,
        }

    def summary(self) -> str:
        """The text ``optimal isoflop`` prints: the profiles, both approaches' exponents, and N*, D* at the target
        budgets (the warnings go to stderr)."""
        result = self

        d = result.to_dict()
        lines = [f"IsoFLOP profiles (Approach 2): a parabola of the loss (nats) in ln N per budget; budgets grouped within "
                 f"{100 * result.tolerance:g}%, k = {result.flops_per_param_token:g}"]
        rows = []
        for p in result.profiles:
            rows.append([f"{p.compute:.4g}", str(p.n_runs), str(p.n_sizes), f"{p.n_min:.3g}-{p.n_max:.3g}",
                         f"{p.width_decades:.2f}", _n(p.n_opt), _n(p.d_opt), _n(p.curvature, ".3g"),
                         _n(p.offset_decades, "+.3f"), _n(p.offset_half_widths, "+.2f"),
                         "accepted" if p.accepted else f"REFUSED: {p.reason}"])
        lines.append(format_table(["compute (FLOPs)", "runs", "sizes", "N tried", "width (dec)", "N_opt", "D_opt",
                                    "curvature", "offset (dec)", "offset (half-w)", "vertex"], rows))
        boot = d["approach2"]["bootstrap"] or {}
        lines.append("")
        lines.append(f"Approach 2 ({len(result.accepted)} vertices): N*(C) = {result.coefficient:.4g} C^a, a = "
                     f"{_with_interval(result.exponent, boot.get('a'))}; D*(C) = {result.tokens_coefficient:.4g} C^b, b = "
                     f"{_with_interval(result.tokens_exponent, boot.get('b'))}")
        if boot:
            signs = "each run" if boot["n_clusters"] == len(result.data[0]) else f"each of {boot['n_clusters']} clusters"
            outside = sum(o["n_outside"] for o in boot["outside_by_budget"])
            lines.append(f"  bootstrap: {boot['n_resamples']} wild resamples on the fixed sizes (residuals of each parabola, "
                         f"one random sign for {signs}; seed {boot['seed']}, {100 * boot['confidence']:g}% "
                         f"{INTERVAL_NAMES[boot['interval_method']]} intervals"
                         + (f", here {AUTO_NAMES[boot['auto']['chosen']]} ({boot['auto']['reason']})" if "auto" in boot
                            else "")
                         + (f", {boot['inner_resamples']} second-level resamples per draw" if "inner_resamples" in boot
                            else "") + "): "
                         f"{boot['n_with_failure']} with a parabola without minimum (that vertex left out of the "
                         f"resample's line), {boot['n_failed']} with no line, {outside} vertex draws outside the sizes "
                         "tried (kept)")
        if result.parametric is not None:
            p = result.parametric.params
            a3 = d["approach3"]
            boot3 = (a3.get("bootstrap") or {}).get("a")
            lines.append(f"Approach 3 (Chinchilla fit on the same {result.parametric.n_rows} runs): alpha {p['alpha']:.4g}, "
                         f"beta {p['beta']:.4g}, E {p['E']:.4g}; a = beta / (alpha + beta) = {_with_interval(a3['a'], boot3)}")
            lines.append(f"  exponent difference a(2) - a(3) = {d['exponent_difference']:+.4f}")
        elif result.parametric_note:
            lines.append(f"Approach 3: {result.parametric_note}")
        lines.append("")
        lines.append(f"at the target budgets ({result.target_note}):")
        rows = []
        for t in d["targets"]:
            two, three = t["approach2"], t["approach3"] or {}
            rows.append([f"{t['compute']:.4g}", _with_interval(two["N"], two.get("N_interval"), ".3g"),
                         _with_interval(three.get("N"), three.get("N_interval"), ".3g"), _n(t["N_ratio"], ".3f"),
                         _n(two["D"], ".3g"), _n(three.get("D"), ".3g")])
        lines.append(format_table(["compute (FLOPs)", "N* approach 2", "N* approach 3", "N* ratio 2/3", "D* approach 2",
                                    "D* approach 3"], rows))
        if result.predicted is not None and result.predicted["exponent_error"] is not None:
            errs = ", ".join(_n(v, "+.4f") for v in result.predicted["vertex_decades"])
            lines.append(f"predicted Approach 2 bias (the parametric law replayed noise-free at the sizes tried): vertex "
                         f"errors {errs} decades; exponent error {result.predicted['exponent_error']:+.4f}")
        return "\n".join(lines)


def counted_interval(draws, confidence, log=False, point=None, levels=None):
    """``{lo, hi, se}``: the percentile interval of bootstrap ``draws`` (R,) in which NaN marks a failed draw (a
    parabola with no minimum, or a resample with no line: unbounded, on a side the data cannot tell), counted against
    both ends: ``lo`` is the lower percentile with every failure put below every draw, ``hi`` the upper with every
    failure above. So failures widen the interval, never narrow it; with more failures than one tail's share of the draws,
    an end depends on them and is None (unbounded). Without failures it is ``optimal._util.stats.interval``'s.
    ``log``: the draws are logs (ln N); the ends are exponentiated (None past float64's range) and se is the sd of
    exp(draws). se is the sd of the successful draws.

    ``point``: the estimate the draws are of (same units as the draws: ln N when ``log``); given, the interval is
    Efron's bias-corrected (BC) percentile interval: its ends are the draws' ``Phi(2 z0 + z)`` percentiles for z =
    Phi^-1 of the two tails (``bc_levels``), z0 = ``bias_correction(successful draws, point)``, with the failures
    counted against both ends as above. Where z0 = 0 it is the percentile interval exactly.

    ``levels``: ``(lower, upper)`` probabilities (0-1) at which to take the ends instead of the two tails (the
    calibrated interval's, ``calibrated_levels``), failures counted as above; not with ``point``.

    Example:
      >>> counted_interval(np.r_[np.arange(100.0), np.nan], 0.9)["hi"] > counted_interval(np.arange(100.0), 0.9)["hi"]
      True
    """
    draws = np.asarray(draws, dtype=np.float64)
    good = draws[np.isfinite(draws)]
    n_failed = len(draws) - len(good)
    tail = 100 * (1 - confidence) / 2  # percent
    low_level, high_level = 100 - tail, 100 - tail  # upper percentiles of -draws and of draws
    z0 = bias_correction(good, point) if point is not None and len(good) else 0.0
    if z0:
        levels = bc_levels(confidence, z0)
    if levels is not None:
        low_level, high_level = 100 * (1 - levels[0]), 100 * levels[1]
    hi = _counted_upper(good, n_failed, high_level)
    low = _counted_upper(-good, n_failed, low_level)
    lo = None if low is None else -low
    with np.errstate(over="ignore", invalid="ignore"):
        values = np.exp(good) if log else good
        se = float(np.std(values, ddof=1)) if len(good) >= 2 else None
        if log:
            lo, hi = (None if v is None or not np.isfinite(np.exp(v)) else float(np.exp(v)) for v in (lo, hi))
    return {"lo": lo, "hi": hi, "se": se if se is not None and np.isfinite(se) else None}


def _counted_upper(good, n_failed, level):
    """The ``level`` percentile (0-100, NumPy's linear interpolation) of the finite draws ``good`` with ``n_failed``
    failed draws put above them all: None when it depends on a failure (unbounded) or with fewer than 2 draws in all
    (``optimal._util.stats.unbounded_interval``'s rule, at any level)."""
    if len(good) + n_failed < 2 or not len(good):
        return None
    if not n_failed:
        return float(np.percentile(good, level))
    top = good.max()
    value = np.percentile(np.r_[good, np.full(n_failed, 10 * abs(top) + 1)], level)  # same ranks as +inf
    return float(value) if value <= top else None


def bias_correction(draws, point):
    """Efron's bias correction z0 = Phi^-1(share of the ``draws`` below ``point``), a draw equal to the point counted
    half; the share is kept within [1 / (2 R), 1 - 1 / (2 R)] for R draws so that z0 is finite. 0 when the point
    is the draws' median; positive when more draws fall below it (the draws sit low of the point).

    Example:
      >>> bias_correction(np.arange(10.0), 4.5)
      0.0
    """
    draws = np.asarray(draws, dtype=np.float64)
    share = (np.sum(draws < point) + 0.5 * np.sum(draws == point)) / len(draws)
    share = min(max(share, 0.5 / len(draws)), 1 - 0.5 / len(draws))
    return 0.0 if share == 0.5 else statistics.NormalDist().inv_cdf(share)


def bc_levels(confidence, z0):
    """``(lower, upper)``: the probabilities (0-1) at which the BC interval takes its ends, Phi(2 z0 + z) for z =
    Phi^-1((1 - confidence) / 2) and Phi^-1((1 + confidence) / 2); exactly the percentile interval's two tails when
    z0 = 0.

    Example:
      >>> bc_levels(0.9, 0.0)
      (0.04999999999999999, 0.95)
    """
    tails = ((1 - confidence) / 2, 1 - (1 - confidence) / 2)
    if z0 == 0:
        return tails
    normal = statistics.NormalDist()
    return tuple(normal.cdf(2 * z0 + normal.inv_cdf(t)) for t in tails)


# --- grouping runs into budgets ---------------------------------------------------------------------------------


ROUNDING_TOLERANCE = 8 * float(np.finfo(np.float64).eps)  # ~1.8e-15: budgets k N D computed in float64 differ by
# a few ulps (k N D rounds twice), so a tolerance below this floor (0 included) still treats them as one budget


def group_budgets(compute, tolerance=DEFAULT_TOLERANCE):
    """Group runs into IsoFLOP budgets: sorted by compute, a run joins the current budget while its compute is within
    ``tolerance`` (relative, at least ``ROUNDING_TOLERANCE``: 8 float64 ulps, so that a budget computed as k N D in
    floating point is not split by rounding) of that budget's smallest, else it starts the next.

    Args:
      compute: each run's budget in FLOPs, shape (n,). tolerance: relative, >= 0 and < 1.

    Returns:
      ``(ids, budgets, spreads)``: each run's budget index (n,), ordered by compute; each budget's geometric mean
      (G,); and each budget's max / min - 1 (G,).

    Example:
      >>> group_budgets([1e19, 1.02e19, 1e20], 0.05)[0].tolist()
      [0, 0, 1]
    """
    compute = np.asarray(compute, dtype=np.float64)
    order = np.argsort(compute, kind="stable")
    ids = np.empty(len(compute), dtype=np.int64)
    current, first = -1, None
    for i in order:
        if first is None or compute[i] > first * (1.0 + max(tolerance, ROUNDING_TOLERANCE)):
            current, first = current + 1, compute[i]
        ids[i] = current
    budgets = np.array([_geometric_mean(compute[ids == g]) for g in range(current + 1)])
    spreads = np.array([compute[ids == g].max() / compute[ids == g].min() - 1.0 for g in range(current + 1)])
    return ids, budgets, spreads


def _geometric_mean(values):
    """Exact for equal values (a budget read from a compute column stays the number written there)."""
    low = values.min()
    return float(low * np.exp(np.mean(np.log(values / low))))


def check_interval_method(interval):
    """``interval`` when it is one of ``INTERVAL_METHODS``; else ``OptimalError`` naming them."""
    if not isinstance(interval, str) or interval not in INTERVAL_METHODS:
        raise OptimalError(f"interval must be one of {', '.join(map(repr, INTERVAL_METHODS))} (auto, percentile, the "
                           f"bias-corrected percentile interval, the double-bootstrap calibrated percentile "
                           f"interval, or the studentized bootstrap-t interval), got {interval!r}")
    return interval


def check_tolerance(tolerance):
    """``tolerance`` as a float when it is a number in [0, 1); else ``OptimalError`` naming it."""
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float, np.floating, np.integer)) \
            or not 0 <= tolerance < 1:
        raise OptimalError(f"tolerance must be a number from 0 up to (not including) 1, e.g. 0.05, got {tolerance!r}")
    return float(tolerance)


# --- parabolas, vectorised over resamples ------------------------------------------------------------------------


def parabolas(log_n, loss, weights=None):
    """Weighted least-squares parabolas loss = c0 + c1 x + c2 x^2 in x = ln N on one budget's sizes, one per row of
    ``loss`` (the sizes stay fixed: the data's losses, or the bootstrap's redrawn losses at the same sizes).

    Args:
      log_n: ln N of one budget's runs, shape (m,). loss: their losses (nats), (m,) or (R, m).
      weights: each run's non-negative fitting weight, (m,); None for ones. The fit minimises
        sum_i w_i (loss_i - c0 - c1 x_i - c2 x_i^2)^2; a run of weight 0 takes no part (nor in the sizes counted).

    Returns:
      ``{"coefficients" (R, 3), "vertex_t" (R,), "fitted" (R, m), "leverage" (m,), "n_sizes", "x_min", "x_max",
      "centre", "half"}``: the coefficients in x; the vertex in the centred, scaled t = (x - centre) / half (the
      fit is solved there, where its normal equations are well conditioned, and mapped back to x); the fitted
      losses; each run's leverage h_i = w_i p_i^T (P^T W P)^-1 p_i (p_i = (1, t_i, t_i^2); sum h_i = 3); the
      number of distinct sizes of positive weight and their smallest and largest ln N. With fewer than 3 such
      sizes the coefficients, vertex, fitted losses and leverages are NaN. With 3 or more, also "powers" (m, 3), the
      rows p_i, and "projection" (3, m), the fixed matrix that maps losses to the coefficients in t (the fit is
      linear in the losses: q = projection @ loss).
    """
    x = np.asarray(log_n, dtype=np.float64).reshape(-1)
    y = np.atleast_2d(np.asarray(loss, dtype=np.float64))
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=np.float64).reshape(-1)
    used = x[w > 0] if np.any(w > 0) else x
    x_min, x_max = (float(used.min()), float(used.max())) if used.size else (math.nan, math.nan)
    n_sizes = len(np.unique(x[w > 0]))
    nan = {"coefficients": np.full((len(y), 3), np.nan), "vertex_t": np.full(len(y), np.nan),
           "fitted": np.full(y.shape, np.nan), "leverage": np.full(x.shape, np.nan), "n_sizes": n_sizes,
           "x_min": x_min, "x_max": x_max, "centre": 0.5 * (x_min + x_max), "half": 1.0}
    if n_sizes < MIN_SIZES:
        return nan
    centre, half = 0.5 * (x_min + x_max), 0.5 * (x_max - x_min)
    t = (x - centre) / half
    powers = np.stack([np.ones_like(t), t, t * t], axis=1)  # (m, 3)
    inverse = np.linalg.inv(powers.T @ (w[:, None] * powers))
    projection = inverse @ (powers * w[:, None]).T  # (3, m): q = projection @ loss
    # the losses' weighted mean taken out first: a projection of the constant is (1, 0, 0) only up to rounding, and
    # equal losses (colour-quantised ones, as in Epoch's extraction) must give a curvature of exactly 0, not +-1e-16
    mean = (y @ w / w.sum())[:, None]
    q = (y - mean) @ projection.T + mean * np.array([1.0, 0.0, 0.0])  # (R, 3) in t
    # a rise over the sizes tried (q2, in t) within rounding of the losses is no curvature: losses that differ only
    # in their last bits (a law's power terms below rounding at huge N) would otherwise give a vertex of either sign
    q[np.abs(q[:, 2]) <= FLAT_ULPS * np.finfo(np.float64).eps * np.abs(mean[:, 0]), 2] = 0.0
    leverage = w * np.einsum("mi,ij,mj->m", powers, inverse, powers)
    c2 = q[:, 2] / half**2  # back to x: t = (x - centre) / half
    c1 = q[:, 1] / half - 2.0 * c2 * centre
    c0 = q[:, 0] - q[:, 1] * centre / half + c2 * centre**2
    with np.errstate(divide="ignore", invalid="ignore"):  # a flat parabola (q2 = 0): _vertex_status refuses it
        vertex_t = -q[:, 1] / (2.0 * q[:, 2])
    return nan | {"coefficients": np.stack([c0, c1, c2], axis=1), "vertex_t": vertex_t, "fitted": q @ powers.T,
                  "leverage": leverage, "centre": centre, "half": half, "projection": projection, "powers": powers}


def acceptance_bounds(x_min, x_max):
    """The ln N between which a vertex is accepted: ``VERTEX_MARGIN`` of the sizes' width beyond each end."""
    margin = VERTEX_MARGIN * (x_max - x_min)
    return x_min - margin, x_max + margin


def _vertex_status(fits):
    """Per row: the vertex x* = ln N_opt and why it is refused (None when it has positive curvature and lies within
    ``acceptance_bounds``)."""
    c2 = fits["coefficients"][:, 2]
    x_star = fits["centre"] + fits["half"] * fits["vertex_t"]
    reasons = np.full(len(c2), None, dtype=object)
    few = np.full(len(c2), fits["n_sizes"] < MIN_SIZES)
    flat = ~few & ~(c2 > 0)
    lo, hi = acceptance_bounds(fits["x_min"], fits["x_max"])
    outside = ~few & ~flat & ~((x_star > lo) & (x_star < hi))
    reasons[few] = "fewer than 3 sizes"
    reasons[flat] = "curvature not positive (no minimum)"
    reasons[outside] = OUTSIDE_REASON
    return x_star, reasons


def _lines(log_c, log_n_opt, mask):
    """Least-squares lines ln N_opt = ln G + a ln C through the ``mask``ed vertices, one per row: (a, ln G), NaN for
    a row with fewer than 2 vertices. log_c (G,), log_n_opt and mask (R, G)."""
    w = mask.astype(np.float64)
    y = np.where(mask, log_n_opt, 0.0)
    count = w.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_x = (w * log_c).sum(axis=1) / count
        mean_y = (w * y).sum(axis=1) / count
        dx = np.where(mask, log_c - mean_x[:, None], 0.0)
        sxx = (dx * dx).sum(axis=1)
        slope = (dx * (y - mean_y[:, None])).sum(axis=1) / sxx
        intercept = mean_y - slope * mean_x
    bad = (count < 2) | ~(sxx > 0)
    return np.where(bad, np.nan, slope), np.where(bad, np.nan, intercept)


def _profile(c, spread, log_n, loss, weights, k):
    fits = parabolas(log_n, loss, weights)
    x_star, reasons = _vertex_status(fits)
    n_min, n_max = float(np.exp(fits["x_min"])), float(np.exp(fits["x_max"]))
    width = math.log10(n_max / n_min)
    n_sizes = int(fits["n_sizes"])
    if n_sizes < MIN_SIZES:
        return BudgetProfile(float(c), float(spread), len(loss), n_sizes, n_min, n_max, width, None, None, None, None,
                             None, None, None, False, reasons[0])
    c0, c1, c2 = (float(v) for v in fits["coefficients"][0])
    n_opt = float(np.exp(x_star[0]))
    centre = 0.5 * (math.log10(n_min) + math.log10(n_max))
    offset = math.log10(n_opt) - centre if math.isfinite(n_opt) and n_opt > 0 else None
    return BudgetProfile(
        float(c), float(spread), len(loss), n_sizes, n_min, n_max, width, (c0, c1, c2), 2.0 * c2,
        n_opt if math.isfinite(n_opt) else None, float(c / (k * n_opt)) if math.isfinite(n_opt) and n_opt > 0 else None,
        float(c0 + c1 * x_star[0] + c2 * x_star[0] ** 2) if math.isfinite(x_star[0]) else None,
        offset, None if offset is None else offset / (0.5 * width), reasons[0] is None, reasons[0])


# --- the whole analysis ----------------------------------------------------------------------------------------


@float64_scope
def isoflop(runs, n_tokens=None, loss=None, weights=None, *, compute=None, clusters=None, tolerance=DEFAULT_TOLERANCE,
            flops_per_param_token=DEFAULT_FLOPS_PER_PARAM_TOKEN, targets=None, n_resamples=0, seed=0, confidence=0.95,
            interval=DEFAULT_INTERVAL, parametric=True, fit_options=None) -> IsoflopResult:
    """IsoFLOP profiles (Approach 2) and the parametric fit (Approach 3) on the same runs, side by side.

    Args:
      runs: ``Runs`` (``optimal.read_runs_csv``, ``optimal.data.synthetic.isoflop_runs``), or N (parameters, (n,)) with
        ``n_tokens`` (D, tokens, (n,)), ``loss`` (nats, (n,)) and optionally ``weights`` ((n,), non-negative; ones when
        None). A ``Runs``'s own weights are used (its ``groups`` are not: give ``clusters``). Each parabola is a
        weighted least-squares fit (a run of weight 0 takes no part), and the parametric fit gets the same weights.
      compute: each run's budget in FLOPs (n,) (a compute column); None infers it as k N D. Either way runs whose
        budgets agree within ``tolerance`` (relative, 0 <= tolerance < 1) form one IsoFLOP budget.
      flops_per_param_token: k in C = k N D (for budgets inferred, D_opt = C / (k N_opt), and the parametric N*).
      targets: budgets (FLOPs) at which to compare the approaches; default the largest budget in the data and
        ``TARGET_FACTOR`` (100) times it.
      n_resamples: bootstrap resamples (0: none; else 2 to 10**6): the wild bootstrap on each budget's fixed sizes
        (module docstring, "The bootstrap"): every run keeps its size, its loss is redrawn as the parabola's fitted
        loss plus its own leverage-adjusted residual times a random sign, and every accepted budget's parabola and the
        line are refitted (NumPy, all resamples at once). No size is ever dropped. A redrawn parabola with no minimum
        (curvature not positive; the noise large against the curvature) has no vertex: as the data's own analysis
        refuses such a budget, it is left out of that resample's line, counted per budget (``failed_by_budget``) and
        in ``n_with_failure``, and warned about; a resample left with fewer than 2 vertices has no line (``n_failed``)
        and counts against both ends of the intervals. A redrawn vertex outside the sizes tried is kept, however far
        out (counted in ``outside_by_budget``): refusing it cut the draws' far tail and pulled them off the point
        (measured). With a parametric fit, ``optimal.bootstrap`` resamples its rows too (or
        whole clusters; same seed). seed: 0 to 2**32 - 1.
      clusters: optional (n,) labels (any hashable values) of runs whose noise may be shared (one model config
        across budgets, one data order): each cluster gets one sign per resample (the wild cluster bootstrap), and
        the parametric bootstrap resamples whole clusters. At least 2 clusters.
      confidence: the intervals' level. interval: how Approach 2's bootstrap intervals are read off the draws:
        "auto" (the default, ``auto_choice``: the studentized interval where every vertex is at least z =
        Phi^-1((1 + confidence) / 2) standard errors inside the bounds its budget is accepted within (its sizes and
        ``VERTEX_MARGIN`` of their width beyond) and no budget was refused for its losses, else
        the envelope of the percentile and studentized intervals), "percentile" (the draws' equal-tailed percentiles), "bc" (Efron's bias-corrected percentiles,
        ``counted_interval``), "calibrated" (the percentiles at levels calibrated by a second-level bootstrap of
        each draw, ``INNER_RESAMPLES`` resamples each: module docstring) or "studentized" (the bootstrap-t interval,
        ``studentized_interval``; a warning, code ``studentized``, where a standard error is 0 or undefined);
        docs/isoflop.md has the methods' measured coverage. The first level's draws are the same for all five. parametric: also fit the Chinchilla law (``optimal.fit``, N = params, D =
        tokens) on every run. fit_options: more keyword arguments for ``optimal.fit``.

    Computes in float64 whatever the process's JAX setting (``optimal._util.precision``): the parametric law's replay
    evaluates the law with JAX.

    Returns:
      ``IsoflopResult``. Refused budgets are listed with their reason and named in a warning; never dropped silently.

    Raises:
      DataError: bad runs or weights, a compute column or clusters of the wrong length, a non-positive compute value,
        no budget with an accepted vertex, fewer than 2 accepted budgets. OptimalError: a tolerance outside [0, 1), a
        bad count or seed, fewer than 2 clusters.
      BudgetError: a non-positive target.
    """
    k = check_positive(flops_per_param_token, "flops_per_param_token")
    tolerance = check_tolerance(tolerance)
    check_confidence(confidence)
    check_interval_method(interval)
    if n_resamples:
        check_count(n_resamples, "n_resamples", 2, MAX_RESAMPLES)
    check_count(seed, "seed", 0, MAX_SEED)
    for value, name in ((compute, "compute"), (targets, "targets")):  # an int beyond float64 raised OverflowError
        value is None or float_array(value, name, DataError, "numbers of FLOPs", invalid=True)
    check_mapping(fit_options, "fit_options", "{'search': optimal.Search(n_polish=8)}")  # a str was a TypeError
    if not isinstance(runs, Runs):
        runs = validate_runs(runs, n_tokens, loss, weights, n_free=0)
    n, d, y, w = (np.asarray(v, dtype=np.float64) for v in runs[:4])
    cluster_ids = np.arange(len(n))  # without clusters, every run is its own
    if clusters is not None:
        names, cluster_ids = encode_groups(clusters)
        if len(cluster_ids) != len(n):
            raise DataError(f"clusters must have one label per run ({len(n)}), got {len(cluster_ids)}")
        if len(names) < 2:
            raise OptimalError(f"a cluster bootstrap needs at least 2 clusters, got 1 ({names[0]!r})")
    if compute is None:
        compute = k * n * d
    else:
        compute = np.asarray(compute, dtype=np.float64).reshape(-1)
        if compute.shape != n.shape:
            raise DataError(f"compute must have one budget per run ({len(n)}), got {compute.size}")
        bad = ~(np.isfinite(compute) & (compute > 0))
        if bad.any():
            i = int(np.argmax(bad))
            raise DataError(f"compute, index {i}: {float(compute[i])!r} is not a positive finite number of FLOPs")
    ids, budgets, spreads = group_budgets(compute, tolerance)
    log_n = np.log(n)
    profiles = tuple(_profile(c, s, log_n[ids == g], y[ids == g], w[ids == g], k)
                     for g, (c, s) in enumerate(zip(budgets, spreads)))
    accepted = [g for g, p in enumerate(profiles) if p.accepted]
    messages = [{"code": "refused", "message": f"budget {p.compute:.4g} FLOPs refused ({p.reason}; {p.n_sizes} sizes, "
                                               f"{p.n_runs} runs): left out of the N*(C) fit"}
                for p in profiles if not p.accepted]
    if len(accepted) < 2:
        listed = "; ".join(f"{p.compute:.3g} FLOPs: {'accepted' if p.accepted else p.reason}" for p in profiles[:6])
        listed += ", ..." if len(profiles) > 6 else ""
        raise DataError(f"need at least 2 budgets with an accepted IsoFLOP vertex to fit N*(C), got {len(accepted)} of "
                        f"{len(profiles)} budgets (tolerance {tolerance:g}; {listed})")
    log_c = np.log(budgets[accepted])
    log_vertices = np.log([profiles[g].n_opt for g in accepted])
    a, log_g = (float(v[0]) for v in _lines(log_c, log_vertices[None, :], np.ones((1, len(accepted)), bool)))
    b, log_h = 1.0 - a, -math.log(k) - log_g

    if targets is None:
        top = float(budgets.max())
        targets = (top, TARGET_FACTOR * top)
        note = f"the largest budget in the data ({top:.4g} FLOPs) and {TARGET_FACTOR:g} x it"
    else:
        targets = tuple(check_positive(float(t), "target budget", BudgetError) for t in np.atleast_1d(targets))
        note = "as given"

    boot = None
    if n_resamples:
        boot = _bootstrap(log_n, y, w, ids, cluster_ids, accepted, budgets, n_resamples, seed, confidence,
                          points=log_vertices, inner=INNER_RESAMPLES if interval == "calibrated" else 0,
                          studentized=interval in ("studentized", "auto"))
        messages += _bootstrap_warnings(boot, n_resamples, clusters is not None)
        if interval in ("studentized", "auto") and "skipped" not in boot:
            messages += _studentized_warnings(boot, budgets[accepted], log_vertices, a)
        noisy = [p for p in profiles if not p.accepted and p.reason in NOISE_REFUSALS]
        if interval == "auto" and "skipped" not in boot:
            boot["auto"] = auto_choice([profiles[g] for g in accepted], log_vertices,
                                       boot["studentized"]["point"]["vertex"][0], confidence, noisy)
        if noisy and "skipped" not in boot:
            messages.append(_selection_warning(noisy))
        boot = None if "skipped" in boot else boot | {"interval_method": interval}

    third, third_note, third_boot, predicted = None, None, None, None
    if parametric:
        third, third_note = _parametric(runs, fit_options)
    if third is not None:
        if n_resamples:  # rows (or clusters) resampled across budgets: optimal.bootstrap's own scheme
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # its warnings are carried on the result
                third_boot = bootstrap(third, n_resamples=n_resamples, seed=seed, confidence=confidence,
                                       groups=None if clusters is None else cluster_ids)
        predicted = _replay(third.law, log_n, ids, accepted, budgets, k)
    messages += _bias_warnings(third, [profiles[g] for g in accepted], budgets[accepted], predicted)
    return IsoflopResult(profiles, a, math.exp(log_g), b, math.exp(log_h), k, float(tolerance), tuple(map(float, targets)),
                         note, boot, third, third_note, third_boot, predicted, tuple(messages), (n, d, y, ids))


NO_RESIDUAL = 1e-9  # 1 - h_i below this: the parabola passes through run i (its residual says nothing of the noise)


def _bootstrap(log_n, loss, weights, ids, clusters, accepted, budgets, n_resamples, seed, confidence, points=None,
               inner=0, studentized=False):
    """The wild bootstrap on each budget's fixed sizes (module docstring, "The bootstrap"): every accepted budget's
    parabola refitted to its fitted losses plus each run's leverage-adjusted residual times a random sign (one sign
    per cluster and resample), then the line through the vertices. Returns the draws and their counts, or a
    ``{"skipped": why}`` when no budget has a residual to draw from.

    ``inner`` > 0: also the second level of the double bootstrap (``_second_level``) for ``interval="calibrated"``,
    with ``points`` the data's own ln N_opt of the accepted budgets (G,): ``"calibration"`` in the result. The first
    level's signs are drawn first, so its draws are the same with or without it. ``studentized``: also the
    ``delta_variances`` of the draws and of the data (``points``), ``"studentized"`` in the result."""
    k_clusters = int(clusters.max()) + 1
    rng = np.random.default_rng(seed)
    rademacher = np.asarray(WILD_WEIGHTS["rademacher"])  # the one table of wild weights: -1, +1
    signs = rademacher[rng.integers(0, 2, size=(n_resamples, k_clusters), dtype=np.int8)]  # (R, K)
    parts, sums, dofs = [], 0.0, 0
    for g in accepted:
        rows = np.flatnonzero(ids == g)
        x, y, w = log_n[rows], loss[rows], weights[rows]
        fits = parabolas(x, y, w)
        residual = y - fits["fitted"][0]
        free = (w > 0) & (1.0 - fits["leverage"] > NO_RESIDUAL)  # runs whose residual carries noise
        dof = int((w > 0).sum()) - 3  # = sum over runs of (1 - h_i)
        sums += float(np.sum(w * residual**2))
        dofs += dof
        parts.append((rows, x, w, fits, residual, free, dof))
    if dofs <= 0:
        return {"skipped": ("every accepted budget has as many runs as its parabola has coefficients (3): no residual "
                            "says how noisy the losses are, so the bootstrap was not run")}
    pooled = math.sqrt(sums / dofs)  # the residual sd (nats, at weight 1) of all budgets together
    columns, failed, outside, fallback, designs = [], {}, {}, [], []
    for g, (rows, x, w, fits, residual, free, dof) in zip(accepted, parts):
        adjusted, scale = _wild_residuals(residual, w, fits["leverage"], free, dof, pooled)
        if (~free & (w > 0)).any():
            fallback.append((float(budgets[g]), int((~free & (w > 0)).sum()), dof, float(scale)))
        drawn = fits["fitted"][0] + signs[:, clusters[rows]] * adjusted  # (R, m): the same sizes, new losses
        designs.append((clusters[rows], w, fits, free, dof, drawn))
        x_star, reasons = _vertex_status(parabolas(x, drawn, w))
        flat = reasons == "curvature not positive (no minimum)"
        columns.append(np.where(flat, np.nan, x_star))
        failed[float(budgets[g])] = int(flat.sum())
        outside[float(budgets[g])] = int((~flat & ~((x_star > fits["x_min"]) & (x_star < fits["x_max"]))).sum())
    log_n_opt = np.stack(columns, axis=1)  # (R, G accepted)
    a, log_g = _lines(np.log(budgets[accepted]), log_n_opt, np.isfinite(log_n_opt))  # NaN with < 2 vertices
    found = {"n_resamples": int(n_resamples), "seed": int(seed), "confidence": float(confidence),
             "scheme": "wild", "n_clusters": k_clusters, "a": a, "log_g": log_g, "log_n_opt": log_n_opt,
             "failed_by_budget": failed, "outside_by_budget": outside, "fallback": fallback,
             "n_with_failure": int(np.isnan(log_n_opt).any(axis=1).sum()), "n_failed": int(np.isnan(a).sum())}
    if studentized:
        data = [(runs, w, fits, free, dof, loss[rows][None, :]) for (runs, w, fits, free, dof, _), (rows, *_) in
                zip(designs, parts)]
        found["studentized"] = {"draws": delta_variances(designs, np.log(budgets[accepted]), log_n_opt, k_clusters),
                                "point": delta_variances(data, np.log(budgets[accepted]),
                                                         np.asarray(points, np.float64)[None, :], k_clusters)}
    if inner:
        found["calibration"] = _second_level(designs, np.log(budgets[accepted]), np.asarray(points, np.float64),
                                             k_clusters, inner, rng)
    return found


def _wild_residuals(residual, w, leverage, free, dof, pooled):
    """What each run of one budget adds, times its random sign, to its fitted loss in a wild resample: its residual
    over sqrt(1 - h_i) (HC2: the variance of the noise itself), and for a run the parabola passes through (not
    ``free``) the budget's own residual sd (or, with no residual degree of freedom, ``pooled``: that of all budgets)
    at its weight; 0 for a run of weight 0. ``residual`` (..., m), one budget's residuals per resample or for the
    data; ``w``, ``leverage`` and ``free`` (m,); ``dof`` the budget's residual degrees of freedom; ``pooled`` (...).
    Returns ``(adjusted (..., m), the budget's residual sd (...))``; the first level and the second
    (``_second_level``) both draw with it."""
    scale = np.sqrt(np.sum(w * residual**2, axis=-1) / dof) if dof > 0 else pooled
    with np.errstate(divide="ignore", invalid="ignore"):
        adjusted = np.where(free, residual / np.sqrt(1.0 - leverage), np.expand_dims(scale, -1) / np.sqrt(w))
    return np.where(w > 0, adjusted, 0.0), scale


def _refits(designs, part):
    """Every budget's parabola refitted to rows ``part`` of its losses (the last entry of each of ``designs``, as
    ``_bootstrap`` builds them; c rows): per budget ``(q (c, 3) in t, residual (c, m))``, and the residual sd of all
    budgets together (c,) (nats, at weight 1). A parabola on fixed sizes is linear in the losses: q = P y."""
    refits, sums, dofs = [], 0.0, 0
    for runs, w, fits, free, dof, losses in designs:
        y = losses[part]  # (c, m)
        q = y @ fits["projection"].T
        residual = y - q @ fits["powers"].T
        sums = sums + np.sum(w * residual**2, axis=1)
        dofs += dof
        refits.append((q, residual))
    return refits, np.sqrt(sums / dofs)


def delta_variances(designs, log_c, log_n_opt, n_clusters):
    """Delta-method (sandwich) variances of each budget's ln N_opt and of the line's a and ln G, one set per row of
    losses: the studentized interval's standard errors (``studentized_interval``), for the data (one row) and for
    every bootstrap draw (from the draw's own residuals).

    Each budget's parabola is linear in its losses, q = P y (P: ``parabolas``' "projection", in t = (x - centre) /
    half), and its vertex is x* = centre - half q1 / (2 q2), so to first order x* moves by c_i = half (g^T P)_i per
    unit of run i's loss, g = (0, -1 / (2 q2), -t* / q2) the gradient of t* = -q1 / (2 q2) at the DATA's parabola
    (the bootstrap world's truth), for the data and for every draw alike: a draw's se then varies with its residuals
    only, not with its own curvature (a draw's own gradient would tie its se to its vertex: a draw with a flat
    parabola has both a far vertex and a large se, which shrinks the pivot's tail where the draws' tail is;
    docs/isoflop.md has the measured difference). Run i's noise is its HC2 residual e_i / sqrt(1 - h_i) in that row
    (``_wild_residuals``, as the wild draws use: for the data, the variance the bootstrap draws would have if the
    vertex were linear in the losses). The line through the vertices (``_lines``: ordinary least squares in ln C over
    the budgets with a vertex in that row) puts weight s_g on each ln N_opt for a and l_g for ln G. Run i's influence
    on a is s_g c_i e~_i; the runs of one cluster (one sign per resample in the bootstrap) add up, and the variance
    is the sum over clusters of the squared influence (the cluster-robust sandwich; each run its own cluster
    without clusters):

        var(x*_g) = sum_k (sum_{i in k, g} c_i e~_i)^2,   var(a) = sum_k (sum_{i in k} s_g(i) c_i e~_i)^2,

    and likewise cov(a, ln G) and var(ln G) with l_g. A budget without a vertex in a row (no minimum: NaN) is left
    out of that row's line, as in ``_lines``.

    Args:
      designs: per accepted budget ``(cluster of each run (m,), weights (m,), the data's parabolas fit, which runs
        carry a residual (m,), residual degrees of freedom, losses (R, m))`` (``_bootstrap``'s). log_c: ln C of the
        accepted budgets (G,). log_n_opt: the rows' vertices ln N_opt (R, G), NaN where no minimum. n_clusters: K.

    Returns:
      ``{"vertex": (R, G) var of ln N_opt (NaN where no minimum), "a": (R,) var of a, "a_log_g": (R,) cov(a, ln G),
      "log_g": (R,) var of ln G}`` (NaN in a row with no line).
    """
    n_rows, n_budgets = log_n_opt.shape
    chunk = max(1, CHUNK_ELEMENTS // max(n_clusters, 1))
    found = {"vertex": np.empty((n_rows, n_budgets)), "a": np.empty(n_rows), "a_log_g": np.empty(n_rows),
             "log_g": np.empty(n_rows)}
    pulls = []  # per budget: its clusters (k,) and (m, k), run i's pull c_i on ln N_opt in its cluster's column
    for runs, w, fits, *_ in designs:
        q2 = fits["coefficients"][0, 2] * fits["half"] ** 2  # the data's curvature, in t
        gradient = fits["half"] * np.array([0.0, -0.5 / q2, -fits["vertex_t"][0] / q2])
        own = np.unique(runs)
        pulls.append((own, (gradient @ fits["projection"])[:, None] * (runs[:, None] == own)))
    for start in range(0, n_rows, chunk):
        part = slice(start, min(start + chunk, n_rows))
        mask = np.isfinite(log_n_opt[part])
        count = mask.sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = np.where(mask, log_c, 0.0).sum(axis=1) / count
            dx = np.where(mask, log_c - mean[:, None], 0.0)
            slope = dx / (dx * dx).sum(axis=1)[:, None]  # (c, G): a = sum_g slope_g ln N_opt_g
            level = np.where(mask, 1.0 / count[:, None], 0.0) - mean[:, None] * slope  # ln G's weights
        refits, pooled = _refits(designs, part)
        on_a = np.zeros((part.stop - part.start, n_clusters))
        on_g = np.zeros_like(on_a)
        for j, ((runs, w, fits, free, dof, _), (_, residual), (own, pull)) in enumerate(zip(designs, refits, pulls)):
            adjusted, _ = _wild_residuals(residual, w, fits["leverage"], free, dof, pooled)  # (c, m)
            influence = np.where(mask[:, j, None], adjusted @ pull, 0.0)  # (c, k): on ln N_opt, per cluster
            found["vertex"][part, j] = np.where(mask[:, j], np.sum(influence**2, axis=1), np.nan)
            on_a[:, own] += np.nan_to_num(slope[:, j, None]) * influence  # 0 where masked: influence is 0 there
            on_g[:, own] += np.nan_to_num(level[:, j, None]) * influence
        line = count >= 2
        for key, value in (("a", on_a * on_a), ("a_log_g", on_a * on_g), ("log_g", on_g * on_g)):
            found[key][part] = np.where(line, value.sum(axis=1), np.nan)
    return found


def scaleless(variance, point):
    """Whether a delta-method ``variance`` (scalar or array) gives no scale for ``point``: not finite, or a se within
    64 float64 ulps of the point (losses on their parabolas to rounding leave residuals, and so a se, of that size:
    it says nothing of the noise)."""
    variance = np.asarray(variance, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return ~(np.isfinite(variance) & (np.sqrt(np.maximum(variance, 0.0)) > 64 * np.finfo(np.float64).eps *
                                          max(1.0, abs(point))))


def studentized_interval(draws, point, variances, variance, confidence, log=False):
    """The studentized (bootstrap-t) interval: ``{lo, hi, se}``.

    Each draw b gives t_b = (theta_b - theta) / se_b, with se_b the draw's delta-method standard error
    (``delta_variances``: its own residuals, the Jacobian at the data's parabolas), and the interval is [theta -
    t_hi se, theta - t_lo se], t_lo and t_hi the (1 -+ confidence) / 2 quantiles of the t_b and se the data's own
    standard error (Efron and Tibshirani 1993, ch. 12; Davison and Hinkley 1997, section 5.2.1; Hall 1988: second
    order accurate where the pivot's distribution does not depend on the unknowns). It reverses the draws' skew,
    where a percentile interval repeats it. A failed draw (NaN: a parabola with no minimum, a resample with no
    line) or one whose se_b is 0 or undefined counts against both ends, as in ``counted_interval`` (an end can be
    unbounded: None).

    Args:
      draws: theta_b (R,) (ln N when ``log``). point: theta. variances: se_b^2 (R,). variance: se^2 of the data.
      confidence: the level. log: the draws are logs: the ends are exponentiated (None past float64's range) and
        ``se`` is the sd of exp(draws), as in ``counted_interval``.

    Where the data's own se is 0 or undefined (``scaleless``), there is no scale to studentize with and the result
    is the percentile interval (``counted_interval``); ``isoflop`` warns (code ``studentized``).

    Example:
      >>> draws = 1.0 + np.array([-2.0, -1.0, 0.0, 1.0, 2.0])  # se 2 in every draw, and 1 in the data
      >>> found = studentized_interval(draws, 1.0, np.full(5, 4.0), 1.0, 0.5)  # t: -1 to 1; quartiles -0.5, 0.5
      >>> float(found["lo"]), float(found["hi"])
      (0.5, 1.5)
    """
    draws = np.asarray(draws, dtype=np.float64)
    plain = counted_interval(draws, confidence, log=log)
    if scaleless(variance, point):
        return plain
    se = math.sqrt(variance)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.sqrt(np.asarray(variances, dtype=np.float64))
        pivots = np.where(np.isfinite(draws) & ~scaleless(variances, point), (draws - point) / scale, np.nan)
    ends = counted_interval(pivots, confidence)  # failures against both ends
    lo = None if ends["hi"] is None else point - ends["hi"] * se
    hi = None if ends["lo"] is None else point - ends["lo"] * se
    if log:
        with np.errstate(over="ignore"):
            lo, hi = (None if v is None or not np.isfinite(np.exp(v)) else float(np.exp(v)) for v in (lo, hi))
    return {"lo": lo, "hi": hi, "se": plain["se"]}


def second_level_bits(rng, n_draws, inner, n_clusters):
    """The second level's random signs as bits, (n_draws, inner, n_clusters) of 0 / 1 (uint8), bit j standing for
    ``WILD_WEIGHTS["rademacher"][j]`` (0: -1, 1: +1): each first-level draw takes ceil(inner n_clusters / 64) raw
    64-bit words of ``rng``'s bit generator, one sign per bit, so drawing them in chunks of first-level draws gives
    the same signs as drawing them all at once."""
    words = -(-inner * n_clusters // 64)
    raw = rng.bit_generator.random_raw(n_draws * words).reshape(n_draws, words)
    bits = np.unpackbits(raw.view(np.uint8), axis=1, bitorder="little")[:, :inner * n_clusters]
    return bits.reshape(n_draws, inner, n_clusters)


def _second_level(designs, log_c, points, k_clusters, inner, rng):
    """The double bootstrap's second level (docs/isoflop.md, "The calibrated interval"): for each first-level draw
    b, ``inner`` resamples drawn from draw b's own parabolas by the same wild scheme (draw b's fitted losses plus
    its own HC2 residuals times fresh signs, one per cluster; a run on its parabola gets draw b's residual sd of its
    budget, or of all budgets pooled), every parabola and the line refitted. A parabola is linear in the losses
    (coefficients = ``projection`` @ losses), so all of it is batched matrix products, in chunks of first-level
    draws (``CHUNK_ELEMENTS`` signs at a time). As at the first level, a second-level parabola with no minimum
    leaves its vertex out of that resample's line, and a resample left with fewer than 2 vertices has no line.

    Args: designs: per accepted budget (cluster of each run (m,), weights (m,), the data's ``parabolas`` fit,
      which runs carry a residual (m,), residual degrees of freedom, the first-level losses (R, m)); log_c: ln C of
      the accepted budgets (G,); points: the data's ln N_opt there (G,); rng: the generator after the first level.

    Returns:
      ``{"inner", "a", "log_g"}``: the second-level exponents and ln G, (R, inner) each (NaN: no line), and
      ``"n_opt_shares"``: ``calibration_shares`` of each budget's second-level ln N_opt about the data's,
      ``(low, high)`` each (R, G).
    """
    n_draws = len(designs[0][5])
    chunk = max(1, CHUNK_ELEMENTS // (inner * k_clusters))
    a2, log_g2 = np.empty((n_draws, inner)), np.empty((n_draws, inner))
    low, high = np.empty((n_draws, len(designs))), np.empty((n_draws, len(designs)))
    for start in range(0, n_draws, chunk):
        part = slice(start, min(start + chunk, n_draws))
        bits = second_level_bits(rng, part.stop - part.start, inner, k_clusters)  # (c, inner, K)
        refits, pooled = _refits(designs, part)  # draw b's parabolas and residuals; its pooled residual sd
        columns = []
        for (runs, w, fits, free, dof, drawn), (q, residual) in zip(designs, refits):
            adjusted, _ = _wild_residuals(residual, w, fits["leverage"], free, dof, pooled)  # (c, m)
            # signs s = 2 bit - 1 (WILD_WEIGHTS["rademacher"]): q + P (s adj) = q - P adj + 2 P (bit adj)
            moves = adjusted[:, :, None] * fits["projection"].T  # (c, m, 3): each run's pull on the coefficients
            q2 = (q - moves.sum(axis=1))[:, None, :] + 2.0 * (bits[:, :, runs].astype(np.float64) @ moves)
            with np.errstate(divide="ignore", invalid="ignore"):
                x2 = fits["centre"] + fits["half"] * (-q2[..., 1] / (2.0 * q2[..., 2]))
            columns.append(np.where(q2[..., 2] > 0, x2, np.nan))  # no minimum: left out, as at the first level
        log_n_opt2 = np.stack(columns, axis=-1)  # (c, inner, G)
        for j in range(len(designs)):
            low[part, j], high[part, j] = calibration_shares(log_n_opt2[..., j], points[j])
        flat = log_n_opt2.reshape(-1, len(designs))
        a, log_g = _lines(log_c, flat, np.isfinite(flat))
        a2[part], log_g2[part] = a.reshape(-1, inner), log_g.reshape(-1, inner)
    return {"inner": int(inner), "a": a2, "log_g": log_g2, "n_opt_shares": (low, high)}


def calibration_shares(second, point):
    """``(low, high)``, (R,) each: for each first-level draw, the share of its second-level draws ``second`` (R,
    inner) at or below the data's ``point`` (a draw equal to it counted half), with a failed second-level draw (NaN)
    counted above the point in ``low`` and at or below it in ``high``: failures count against both ends, as at the
    first level (``counted_interval``). Without failures low = high = u_b of the double bootstrap."""
    second = np.asarray(second, dtype=np.float64)
    below = np.sum(second < point, axis=-1) + 0.5 * np.sum(second == point, axis=-1)
    failed = np.sum(np.isnan(second), axis=-1)
    n = second.shape[-1]
    return below / n, (below + failed) / n


def calibrated_levels(low, high, confidence):
    """``(lower, upper)``: the probabilities (0-1) at which the calibrated interval takes its ends, the
    (1 - confidence) / 2 quantile of the shares ``low`` and the (1 + confidence) / 2 quantile of ``high``
    (``calibration_shares``; NumPy's linear interpolation). With shares spread evenly over [0, 1] (the percentile
    interval already right at the second level) they are the nominal tails.

    Example:
      >>> [round(v, 12) for v in calibrated_levels(np.linspace(0, 1, 101), np.linspace(0, 1, 101), 0.9)]
      [0.05, 0.95]
    """
    tail = (1 - confidence) / 2
    return float(np.quantile(low, tail)), float(np.quantile(high, 1 - tail))


def _bootstrap_warnings(boot, n_resamples, clustered):
    found = []
    if "skipped" in boot:
        return [{"code": "bootstrap", "message": boot["skipped"]}]
    few = few_draws_message(n_resamples - boot["n_failed"], boot["confidence"])  # draws with an N*(C) line
    if few:
        found.append({"code": "few-draws", "message": few})
    if boot["n_with_failure"]:
        where = ", ".join(f"{c:.3g} FLOPs: {n}" for c, n in boot["failed_by_budget"].items() if n)
        found.append({"code": "bootstrap", "message": (
            f"{boot['n_with_failure']} of {n_resamples} bootstrap resamples had a budget whose refitted parabola has "
            f"no minimum (curvature not positive; {where}): the noise is large against the curvature there. As the "
            "data's own analysis refuses such a budget, that vertex was left out of the resample's N*(C) line; in "
            "that budget's own N_opt interval it counts against both ends (an end can then be unbounded)")})
    if "calibration" in boot and boot["n_with_failure"] > CALIBRATION_FAILURES * n_resamples:
        found.append({"code": "calibration", "message": (
            f"{boot['n_with_failure']} of {n_resamples} resamples had a parabola without minimum: where many do, the "
            "calibrated interval was measured to pull its ends in too far (95% intervals covering 89% and 92% of "
            "synthetic sets where 18% and 39% of resamples had one; docs/isoflop.md); the percentile interval (the "
            "default) is the safer reading here")})
    if boot["n_failed"]:
        found.append({"code": "bootstrap", "message": (
            f"{boot['n_failed']} of {n_resamples} resamples kept fewer than 2 vertices and have no N*(C) line: each "
            "counts against both ends of the intervals of a, b and N*(C), which widens them (an end can be "
            "unbounded)")})
    for c, count, dof, scale in boot["fallback"]:
        whose = "its other runs'" if dof > 0 else "all budgets' pooled"
        found.append({"code": "bootstrap", "message": (
            f"budget {c:.4g} FLOPs: {count} run(s) lie on their parabola (leverage 1: their residual is 0 and says "
            f"nothing of the noise); their bootstrap noise is {whose} residual sd, {scale:.3g} nats")})
    if clustered and 2 ** boot["n_clusters"] < 2 * n_resamples:
        found.append({"code": "bootstrap", "message": (
            f"{boot['n_clusters']} clusters give only 2^{boot['n_clusters']} = {2 ** boot['n_clusters']} distinct "
            f"sign patterns for {n_resamples} resamples: the draws repeat and the interval's ends are coarse; a wild "
            "cluster bootstrap wants more clusters")})
    return found


def _selection_warning(refused):
    """Budgets refused for their losses (``NOISE_REFUSALS``) under a bootstrap: which budgets enter the line is the
    noise's choice, which the draws do not repeat (module docstring), so the intervals can fall short."""
    by_reason = {}
    for p in refused:
        by_reason.setdefault(p.reason, []).append(f"{p.compute:.3g}")
    listed = "; ".join(f"{reason} at {', '.join(c[:4])}{', ...' if len(c) > 4 else ''} FLOPs"
                       for reason, c in by_reason.items())
    return {"code": "selection", "message": (
        f"{len(refused)} budget{'s were' if len(refused) > 1 else ' was'} refused for {'their' if len(refused) > 1 else 'its'} "
        f"losses ({listed}): which budgets enter the N*(C) line depends on the noise there, a selection the bootstrap's "
        "draws do not repeat, so an interval read off them alone can fall short of its level; the auto interval takes "
        "the envelope of the percentile and studentized ones for it (on the synthetic designs measured, in the rows "
        "with refused budgets it held the estimator's noise-free exponent in 96.2-99.9% of sets; docs/isoflop.md). "
        "Sizes that bracket the optimum well at those budgets (wider, or centred on it) remove the selection")}


AUTO_NAMES = {"studentized": "studentized", "envelope": "envelope of percentile and studentized"}


def auto_choice(accepted, log_vertices, vertex_variances, confidence, refused=()):
    """Which interval ``interval="auto"`` reads off the draws: ``{"chosen", "edge_z", "z_threshold", "reason"}``.

    "studentized" (``studentized_interval``) when every accepted vertex lies at least z = Phi^-1((1 + confidence) / 2)
    delta-method standard errors inside the bounds its budget is accepted within (``acceptance_bounds``: the sizes
    tried and ``VERTEX_MARGIN`` of their width beyond them; 1.96 at 95%: the vertex's own interval inside them) and no
    budget was refused for its losses (no minimum, or a vertex beyond those bounds); else "envelope"
    (``interval_envelope``): from the lower of the percentile and studentized lower ends to the higher of their upper ends.

    Why: the data's own analysis refuses a vertex beyond those bounds, so where a vertex is within about z se of one,
    noise decides whether its budget is kept, a selection the draws (which keep such vertices) do not repeat. There
    neither interval alone holds its level on every synthetic design, and their envelope is at least as wide as either
    (docs/isoflop.md, "The default interval: auto", with the coverage of the rule on nine designs).

    Args:
      accepted: the accepted budgets' ``BudgetProfile`` s (G). log_vertices: their ln N_opt (G,).
      vertex_variances: the data's delta-method variances of those ln N_opt (G,) (``delta_variances``' "vertex").
      confidence: the intervals' level. refused: the ``BudgetProfile`` s refused for their losses.

    Example:
      >>> from types import SimpleNamespace as Budget
      >>> sizes = Budget(n_min=1e8, n_max=1e10, compute=1e19)  # accepted from ln 1e8 - 0.5 ln 100 = ln 1e7 on
      >>> auto_choice([sizes], [math.log(1e7) + 1.0], [0.25], 0.95)["chosen"]   # 2 se (0.5) inside that bound
      'studentized'
      >>> auto_choice([sizes], [math.log(1e7) + 0.9], [0.25], 0.95)["chosen"]   # 1.8 se: within reach of it
      'envelope'
    """
    threshold = statistics.NormalDist().inv_cdf(0.5 + 0.5 * confidence)
    nearest, where = math.inf, None
    for budget, x, variance in zip(accepted, log_vertices, vertex_variances):
        if not (np.isfinite(variance) and variance > 0):
            continue  # no scale (losses on their parabola): that interval is the percentile one anyway
        lo, hi = acceptance_bounds(math.log(budget.n_min), math.log(budget.n_max))
        z = min(x - lo, hi - x) / math.sqrt(variance)
        if z < nearest:
            nearest, where = z, budget.compute
    edge_z = None if math.isinf(nearest) else float(nearest)
    if refused:
        chosen, reason = "envelope", (f"{len(refused)} budget{'s' if len(refused) > 1 else ''} refused for "
                                      f"{'their' if len(refused) > 1 else 'its'} losses, named in the 'selection' "
                                      "warning: noise decides which budgets are kept")
    elif edge_z is not None and edge_z < threshold:
        chosen, reason = "envelope", (f"the vertex at {where:.3g} FLOPs is {edge_z:.2f} standard errors from where its "
                                      f"budget would be refused ({VERTEX_MARGIN:g} of its sizes' width beyond them), "
                                      f"under {threshold:.2f}")
    else:
        chosen, reason = "studentized", (f"every vertex at least {threshold:.2f} standard errors inside the bounds "
                                         "its budget is accepted within"
                                         + ("" if edge_z is None else f"; the nearest {edge_z:.2f}"))
    return {"chosen": chosen, "edge_z": edge_z, "z_threshold": threshold, "reason": reason}


def interval_envelope(first, second):
    """The smallest interval holding both ``{lo, hi, se}`` intervals (an end that is None, unbounded, stays so);
    ``se`` is the first's."""
    lo = None if first["lo"] is None or second["lo"] is None else min(first["lo"], second["lo"])
    hi = None if first["hi"] is None or second["hi"] is None else max(first["hi"], second["hi"])
    return {"lo": lo, "hi": hi, "se": first["se"]}


def _studentized_warnings(boot, budgets, points, a):
    """Where the studentized interval has no scale (``scaleless``): the data's delta-method se of its exponent ``a``,
    or of a budget's ln N_opt (``points``, at ``budgets``), is 0 or undefined (that interval is then the percentile
    one), or draws with a line have a se of a of 0 (they count against both ends)."""
    found, point, draws = [], boot["studentized"]["point"], boot["studentized"]["draws"]
    names = (["a (and b)"] if scaleless(point["a"][0], a) else []) + [
        f"N_opt at {c:.3g} FLOPs" for c, v, x in zip(budgets, point["vertex"][0], points) if scaleless(v, x)]
    if names:
        found.append({"code": "studentized", "message": (
            f"the delta-method standard error of {', '.join(names)} is 0 or undefined (the parabolas pass through the "
            "losses, or the residuals there do not move the vertex): there is no scale to studentize with, so that "
            "interval is the percentile interval of the draws")})
    count = int(np.sum(np.isfinite(boot["a"]) & scaleless(draws["a"], a)))
    if count and not names:
        found.append({"code": "studentized", "message": (
            f"{count} of {boot['n_resamples']} resamples have a standard error of a of 0 (their residuals do not "
            "move the vertices): each counts against both ends of the studentized interval of a")})
    return found


def _parametric(runs, fit_options):
    """``optimal.fit`` of the Chinchilla law on every run (N = params, D = tokens), or None and why not."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # its warnings are carried on the FitResult and reported
            return fit(runs.n_params, runs.n_tokens, runs.loss, runs.weights, **(fit_options or {})), None
    except DataError as exc:
        return None, f"the parametric fit was not run: {exc}"


def _replay(law, log_n, ids, accepted, budgets, k):
    """The parametric law's own losses at the sizes tried, noise-free, through the same parabolas: how far its
    vertices fall from its own optimum (decades) and its exponent from its own a."""
    from ..allocation.allocate import compute_optimal

    truth = np.log(np.asarray(compute_optimal(law, budgets[accepted], flops_per_param_token=k).n_params))
    vertices = []
    for g in accepted:
        x = np.unique(log_n[ids == g])
        clean = np.asarray(law.loss(np.exp(x), budgets[g] / (k * np.exp(x))), dtype=np.float64)
        fits = parabolas(x, clean)
        vertices.append(float(fits["centre"] + fits["half"] * fits["vertex_t"][0]))
    vertices = np.asarray(vertices)
    a_replay, _ = _lines(np.log(budgets[accepted]), vertices[None, :], np.isfinite(vertices)[None, :])
    a_true, _ = _lines(np.log(budgets[accepted]), truth[None, :], np.ones((1, len(truth)), bool))
    errors = (vertices - truth) / math.log(10)
    return {"compute": [float(c) for c in budgets[accepted]],
            "vertex_decades": [float(v) if math.isfinite(v) else None for v in errors],
            "exponent_error": float(a_replay[0] - a_true[0]) if np.isfinite(a_replay[0]) else None}


def _bias_warnings(third, profiles, budgets, predicted):
    """Where the bias analysis (module docstring) says Approach 2 misleads."""
    found = []
    widths = np.array([p.width_decades for p in profiles])
    offsets = np.array([p.offset_half_widths for p in profiles])
    offsets_dec = np.array([p.offset_decades for p in profiles])
    size = ""
    if predicted is not None:
        errs = [v for v in predicted["vertex_decades"] if v is not None]
        worst = max(errs, key=abs) if errs else 0.0
        size = (f" (the parametric law replayed noise-free at these sizes: vertices off its optimum by up to {worst:+.3f} "
                f"decades, {100 * (10**worst - 1):+.1f}% in N*; exponent off by {predicted['exponent_error']:+.4f})"
                if predicted["exponent_error"] is not None else "")
    if third is not None:
        p = third.params
        if abs(p["alpha"] - p["beta"]) >= ASYMMETRY:
            side = "below" if p["beta"] > p["alpha"] else "above"
            found.append({"code": "asymmetric", "message": (
                f"the parametric fit's exponents differ (alpha {p['alpha']:.3f}, beta {p['beta']:.3f}; |alpha - beta| >= "
                f"{ASYMMETRY:g}): the loss along an IsoFLOP line is skewed, so each parabola's vertex sits {side} the "
                f"optimum N* (about {0.075 * abs(p['alpha'] - p['beta']) * float(widths.max()) ** 2:.3f} decades for a "
                f"centred grid {widths.max():.2f} decades wide){size}")})
    beyond = [pr for pr in profiles if pr.extrapolated]
    if beyond:
        listed = ", ".join(f"{pr.compute:.3g} FLOPs (N_opt {pr.n_opt:.3g}; sizes {pr.n_min:.3g}-{pr.n_max:.3g})"
                           for pr in beyond)
        found.append({"code": "extrapolated", "message": (
            f"the vertex lies outside the sizes tried at {listed}: the parabola is extrapolated there (a vertex is "
            f"accepted up to {VERTEX_MARGIN:g} of its sizes' width beyond them, refused farther out); add sizes "
            f"beyond it{size}")})
    far = [pr for pr, o in zip(profiles, offsets) if abs(o) >= OFF_CENTRE and not pr.extrapolated]
    if far:
        listed = ", ".join(f"{pr.compute:.3g} FLOPs ({pr.offset_half_widths:+.2f})" for pr in far)
        found.append({"code": "off-centre", "message": (
            f"the vertex is {OFF_CENTRE:g} half-widths or more from the centre of the sizes tried at {listed}: an "
            f"off-centre grid pulls the parabola's vertex towards its centre and rests it on one side's sizes; centre "
            f"the sizes on the vertex{size}")})
    if len(profiles) >= 3:
        slope = float(np.polyfit(np.log10(budgets), offsets_dec, 1)[0])
        if abs(slope) >= DRIFT:
            found.append({"code": "drift", "message": (
                f"the sizes tried drift relative to the vertices by {slope:+.2f} decades per decade of compute "
                f"(>= {DRIFT:g}): the vertex error then changes from budget to budget and bends the exponent a; move "
                f"each budget's sizes with its optimum{size}")})
    wide = [pr for pr in profiles if pr.width_decades >= WIDE]
    if wide:
        found.append({"code": "wide", "message": (
            f"sizes spanning {max(pr.width_decades for pr in wide):.2f} decades (>= {WIDE:g}) at "
            f"{len(wide)} budget(s): far from the vertex the loss is not a parabola in ln N, and the vertex moves with "
            f"any asymmetry or offset; fit the sizes within about a decade of the vertex{size}")})
    if predicted is not None and predicted["exponent_error"] is not None:
        errs = [abs(v) for v in predicted["vertex_decades"] if v is not None]
        if (errs and max(errs) >= BIAS_DECADES) or abs(predicted["exponent_error"]) >= EXPONENT_BIAS:
            found.append({"code": "bias", "message": (
                f"Approach 2 is biased on this grid by more than {BIAS_DECADES:g} decades in N* or {EXPONENT_BIAS:g} in "
                f"the exponent{size}; trust the parametric N* more")})
    return found


def bias_table():
    """Print the module docstring's table: ``isoflop`` on noise-free synthetic grids (``optimal.data.synthetic.isoflop_runs``)."""
    from ..laws import Chinchilla
    from ..data.synthetic import isoflop_runs
    from ..allocation.allocate import closed_form

    budgets = (1e18, 1e19, 1e20, 1e21)
    for alpha, beta in ((0.34, 0.34), (0.34, 0.28), (0.30, 0.40), (0.25, 0.45)):
        truth = Chinchilla(E=1.8, A=480.0, B=2000.0, alpha=alpha, beta=beta)
        cells = []
        for width, offset in ((1, 0), (1.5, 0), (2, 0), (3, 0), (2, 0.5), (3, 0.5)):
            runs = isoflop_runs(budgets, truth, width_decades=width, offset_decades=offset * width / 2)
            found = isoflop(runs, parametric=False)
            n_true = np.asarray(closed_form(truth, np.asarray(budgets), DEFAULT_FLOPS_PER_PARAM_TOKEN)[0])
            cells.append(f"{np.log10(found.accepted[0].n_opt / n_true[0]):+.4f}")
        print(f"{alpha:.2f}, {beta:.2f}: " + "  ".join(cells))
