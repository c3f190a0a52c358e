"""More data per run: Hoffmann et al. 2022's three approaches on the same learning curves, side by side.

Approach 1 (Hoffmann et al. 2022, section 3.1): every run's loss is interpolated along its curve against the FLOPs
spent so far, C = k N D (D the tokens seen; ln loss linear in ln C between checkpoints, never extrapolated past a
run's first or last checkpoint); on a grid of budgets log-spaced over the data, the lowest loss of all runs at each C
(the lower envelope) names the run, hence the N and D = C / (k N), that reach it; then N_opt(C) = G C^a and
D_opt(C) = H C^b are fitted through those points by least squares in logs (b = 1 - a and H = 1 / (k G), since
D = C / (k N)). A grid point whose winning size has no smaller or no larger size among the runs that reach C is
left out (the optimum may lie outside the sizes there; an IsoFLOP vertex is refused more than half its sizes' width
outside them).
The interval: runs resampled with replacement (whole curves, by run id), the envelope and the line recomputed; a
resample with fewer than 2 points has no line and counts against both ends (``counted_interval``).

Approach 2 from curves (IsoFLOP slices, as Porian et al. 2024 extract them): at each budget C, each run's loss at
D = C / (k N) interpolated along its curve (a size with several runs there: the lowest, the envelope's choice), then
the IsoFLOP machinery of ``optimal.analysis.isoflop`` (its parabolas, vertex checks, wild bootstrap with one sign per
size: a size's losses at every budget come from the same curves) gives the vertices and a. Beside it, a cubic in
ln N per slice (``cubic_vertex``), whose vertex carries the third-order term that biases the parabola's; its bias is
measured like the parabola's (``cubic_bias_table``, below), and its interval comes from the same wild bootstrap on
the slices' fixed sizes (HC2-adjusted residuals of each cubic, one sign per size shared across budgets).

Approach 3: ``optimal.fit`` (the Chinchilla law) on each run's final checkpoint (``parametric="final"``, the
default: intermediate checkpoints of an undecayed schedule overestimate the loss) or on every checkpoint
(``parametric="all"``, its bootstrap resampling whole runs); a = beta / (alpha + beta).

Undecayed checkpoints. Hoffmann et al. 2022 (section 3.1, Figure A1) note that a checkpoint partway through a long
cosine schedule has a higher loss than a run trained to that length, which is why they train each size to several
horizons. With a schedule column (``Curves.schedule``) the envelope counts the points that rest on a checkpoint
before 99% of its schedule and warns; without one it cannot tell, and a note says so.

The cubic's bias, measured by ``cubic_bias_table()`` on noise-free ``optimal.data.synthetic.isoflop_runs`` (7 sizes,
the same designs as ``optimal.analysis.isoflop``'s table; vertex error log10(N_opt / N*) in decades, parabola /
cubic):

  alpha, beta   centred, w = 1     w = 2              w = 3              off 0.5 half-w, w = 2   w = 3
  0.34, 0.34    +0.0000 / +0.0000  +0.0000 / +0.0000  +0.0000 / +0.0000  +0.0122 / +0.0158       +0.0386 / +0.0601
  0.34, 0.28    +0.0045 / -0.0000  +0.0179 / -0.0004  +0.0403 / -0.0018  +0.0108 / +0.0120       +0.0334 / +0.0420
  0.30, 0.40    -0.0075 / +0.0000  -0.0298 / +0.0008  -0.0669 / +0.0037  +0.0135 / +0.0212       +0.0440 / +0.0889
  0.25, 0.45    -0.0149 / +0.0001  -0.0592 / +0.0016  -0.1317 / +0.0078  +0.0154 / +0.0286       +0.0510 / +0.1285

On a grid centred on the optimum the cubic removes the asymmetry term (alpha != beta): at most 0.008 decades where
the parabola errs by up to 0.13. Off-centre it errs more than the parabola (its vertex then sits near the grid's
edge, where a cubic bends freely): up to 0.13 decades at 3 decades wide. It also costs one more coefficient per
budget (at least 5 sizes here), so its vertex is noisier. Use it where the slices are centred; like the parabola it is
a diagnostic beside Approach 3.

Example:
  >>> import optimal
  >>> from optimal.data.curves import synthetic_curves
  >>> found = envelope(synthetic_curves(), parametric=None)
  >>> abs(found.exponent - 0.513) < 0.03  # the truth's beta / (alpha + beta) = 0.366 / 0.714
  True
"""

import dataclasses
import math
import warnings

import numpy as np

from ..errors import (BudgetError, DataError, OptimalError, check_confidence, check_count, check_mapping,
                      check_positive, float_array)
from .._util.precision import float64_scope
from .._util.results import Issue, Judged, Status
from .._util.stats import few_draws_message
from .._util.text import format_table
from .._util.units import DEFAULT_FLOPS_PER_PARAM_TOKEN
from ..allocation.allocate import check_one_run_or_more
from ..allocation.extrapolation import FittedRange, range_warnings
from ..data.curves import DECAYED, Curves
from ..data.runs import validate_runs
from ..fitting.bootstrap import MAX_RESAMPLES, MAX_SEED, bootstrap
from ..fitting.fit import fit
from .isoflop import _lines, counted_interval, isoflop, parabolas

GRID_POINTS = 200  # envelope budgets, log-spaced over the data (a choice: the line's least squares needs many)
SLICES = 5  # default IsoFLOP slices
MIN_SLICE_SIZES = 5  # sizes a slice needs: a cubic has 4 coefficients, and one residual left
CHUNK = 256  # bootstrap resamples per batch (memory: CHUNK x runs x grid floats)
TARGET_FACTOR = 100.0
PARAMETRIC = ("final", "all", None)


def _n(value, spec=".4g"):
    return "-" if value is None else format(value, spec)


def _interval_text(point, found, spec=".4f"):
    if point is None:
        return "-"
    if not found or (found.get("lo") is None and found.get("hi") is None):
        return format(point, spec) + ("" if not found else " [unbounded]")
    lo, hi = (format(found[e], spec) if found[e] is not None else "unbounded" for e in ("lo", "hi"))
    return f"{point:{spec}} [{lo}, {hi}]"


# --- interpolation along curves --------------------------------------------------------------------------------------

def _curve_log_loss(curves, log_d_at):
    """ln loss of every run at ``log_d_at`` (runs, G) tokens seen, interpolated linearly in ln D between its
    checkpoints; NaN outside a run's first and last checkpoint. Returns (runs, G)."""
    out = np.full(log_d_at.shape, np.nan)
    log_d, log_y = np.log(curves.n_tokens), np.log(curves.loss)
    for r in range(curves.n_runs):
        rows = curves.run == r
        out[r] = np.interp(log_d_at[r], log_d[rows], log_y[rows], left=np.nan, right=np.nan)
    return out


def _run_table(curves):
    """Per run: N (runs,), schedule length (runs,) or None."""
    first = np.r_[0, np.flatnonzero(curves.run[1:] != curves.run[:-1]) + 1]
    sizes = curves.n_params[first]
    schedule = None if curves.schedule is None else curves.schedule[first]
    return sizes, schedule


# --- the cubic vertex ----------------------------------------------------------------------------------------------

def _cubics(log_n, loss):
    """Least-squares cubics in t = (x - centre) / half (x = ln N), one per row of ``loss`` (R, m) on the same sizes:
    ``{"t_star" (R,) (the local minimum, NaN without one; anywhere, not only inside the sizes), "fitted" (R, m),
    "leverage" (m,), "centre", "half"}``. The local minimum of q0 + q1 t + q2 t^2 + q3 t^3 is the root of
    q1 + 2 q2 t + 3 q3 t^2 with a positive second derivative, written t = -2 q1 / (2 q2 + sqrt(4 q2^2 - 12 q1 q3)):
    stable as q3 -> 0, where it becomes the parabola's -q1 / (2 q2)."""
    x = np.asarray(log_n, np.float64)
    y = np.atleast_2d(np.asarray(loss, np.float64))
    centre, half = 0.5 * (x.max() + x.min()), 0.5 * (x.max() - x.min())
    t = (x - centre) / half  # fitted where the normal equations are well conditioned
    powers = np.stack([t**0, t, t**2, t**3], axis=1)  # (m, 4)
    inverse = np.linalg.inv(powers.T @ powers)
    q = y @ (inverse @ powers.T).T  # (R, 4)
    with np.errstate(invalid="ignore", divide="ignore"):
        root = np.sqrt(4 * q[:, 2] ** 2 - 12 * q[:, 1] * q[:, 3])
        denominator = 2 * q[:, 2] + root
        t_star = np.where(denominator > 0, -2 * q[:, 1] / denominator, np.nan)
    return {"t_star": t_star, "fitted": q @ powers.T, "leverage": np.einsum("mi,ij,mj->m", powers, inverse, powers),
            "centre": centre, "half": half}


def cubic_vertex(log_n, loss):
    """The minimum of a least-squares cubic loss = c0 + c1 x + c2 x^2 + c3 x^3 in x = ln N over one budget's sizes.

    Args:
      log_n: ln N of the runs (m,), at least ``MIN_SLICE_SIZES`` (5) distinct. loss: their losses (nats), (m,).

    Returns:
      ``(x_star, reason)``: ln N_opt at the cubic's local minimum inside the sizes tried, and None; or NaN and why
      not ("fewer than 5 sizes", "no minimum inside the sizes tried").

    Example:
      >>> x = np.linspace(-1, 1, 7); round(cubic_vertex(x, (x - 0.2) ** 2 + 0.1 * x ** 3)[0], 4)
      0.1943
    """
    x = np.asarray(log_n, np.float64)
    if len(np.unique(x)) < MIN_SLICE_SIZES:
        return math.nan, f"fewer than {MIN_SLICE_SIZES} sizes"
    fits = _cubics(x, loss)
    t_star = float(fits["t_star"][0])
    if not -1 < t_star < 1:  # NaN included
        return math.nan, "no minimum inside the sizes tried"
    return float(fits["centre"] + fits["half"] * t_star), None


def cubic_bias_table():
    """Print the module docstring's table: the parabola's and the cubic's vertex errors (decades) on noise-free
    synthetic IsoFLOP grids (``optimal.data.synthetic.isoflop_runs``, 7 sizes)."""
    from ..allocation.allocate import closed_form
    from ..data.synthetic import isoflop_runs
    from ..laws import Chinchilla

    budget = 1e20
    for alpha, beta in ((0.34, 0.34), (0.34, 0.28), (0.30, 0.40), (0.25, 0.45)):
        truth = Chinchilla(E=1.8, A=480.0, B=2000.0, alpha=alpha, beta=beta)
        n_true = float(np.asarray(closed_form(truth, np.asarray([budget]), DEFAULT_FLOPS_PER_PARAM_TOKEN)[0])[0])
        cells = []
        for width, offset in ((1, 0), (2, 0), (3, 0), (2, 0.5), (3, 0.5)):
            runs = isoflop_runs((budget,), truth, width_decades=width, offset_decades=offset * width / 2)
            x = np.log(runs.n_params)
            fits = parabolas(x, runs.loss)
            x_par = fits["centre"] + fits["half"] * fits["vertex_t"][0]
            x_cub = cubic_vertex(x, runs.loss)[0]
            errors = [(x - math.log(n_true)) / math.log(10) for x in (x_par, x_cub)]
            cells.append(f"{errors[0]:+.4f} / {errors[1]:+.4f}")
        print(f"{alpha:.2f}, {beta:.2f}: " + "  ".join(cells))


# --- the result ------------------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class EnvelopeResult(Judged):
    """Approach 1 (the lower envelope of the learning curves), Approach 2 (IsoFLOP slices interpolated from the
    curves, parabola and cubic) and Approach 3 (the parametric fit) on the same runs.

    Attributes:
      flops_per_param_token: k in C = k N D. n_runs, n_checkpoints: the curves' size.
      grid: the envelope's budgets (G,) in FLOPs; winner: the run index reaching the lowest loss at each (G,), -1
        where no run reaches C; n_opt (G,) its N (parameters, NaN without one); loss_opt (G,) that loss (nats);
        accepted (G,) bool: a smaller and a larger size reach C too (the point enters the line); fraction (G,): the
        winning checkpoint's tokens over its run's schedule length (NaN without a schedule column).
      exponent, coefficient: a and G of N_opt(C) = G C^a (Approach 1); tokens_exponent b = 1 - a, tokens_coefficient
        H = 1 / (k G) of D_opt(C) = H C^b.
      bootstrap: None, or ``{"n_resamples", "seed", "confidence", "a" (R,) and "log_g" (R,) draws (NaN: no line),
        "n_failed"}``: runs resampled by run id.
      slices: the ``IsoflopResult`` of the IsoFLOP slices (Approach 2, parabolas), or None (``slices_note`` says why).
      cubic: None, or ``{"compute" [budgets], "n_opt" [N or None], "reason" [None or why], "a", "G", "interval"}``:
        the cubic vertex per slice, the line through them (a None with fewer than 2 vertices) and, bootstrapped, a's
        interval (``{lo, hi, se}``) and "n_without_minimum" (resamples with a cubic without a local minimum).
      parametric: the Approach 3 ``FitResult`` or None; parametric_on: "final" or "all" (or None);
        parametric_bootstrap: its ``BootstrapResult`` or None; parametric_note: why there is none.
      targets: budgets (FLOPs) at which the approaches' N* are compared; target_note: where they came from.
      warnings: ``Issue`` s.
    """

    flops_per_param_token: float
    n_runs: int
    n_checkpoints: int
    grid: np.ndarray
    winner: np.ndarray
    n_opt: np.ndarray
    loss_opt: np.ndarray
    accepted: np.ndarray
    fraction: np.ndarray
    exponent: float | None
    coefficient: float | None
    bootstrap: dict | None
    slices: object
    slices_note: str | None
    cubic: dict | None
    parametric: object
    parametric_on: str | None
    parametric_bootstrap: object
    parametric_note: str | None
    targets: tuple
    target_note: str
    run_ids: tuple
    has_schedule: bool
    warnings: tuple = ()

    @property
    def tokens_exponent(self):
        return None if self.exponent is None else 1.0 - self.exponent

    @property
    def tokens_coefficient(self):
        return None if self.coefficient is None else 1.0 / (self.flops_per_param_token * self.coefficient)

    @property
    def status(self) -> Status:
        """FAILED without an Approach 1 line; PARTIAL when the slices or the parametric fit asked for could not be
        made; else SUCCESS."""
        if self.exponent is None:
            return Status.FAILED
        return Status.PARTIAL if self.slices is None or self.parametric_note else Status.SUCCESS

    @property
    def notes(self) -> tuple:
        """Where the targets came from, what Approach 3 was fitted on, what could not be told or made."""
        used = self.grid[self.accepted]
        found = [Issue("targets", f"target budgets: {self.target_note}"),
                 Issue("envelope", f"{int(self.accepted.sum())} of {len(self.grid)} envelope budgets "
                                   f"({used.min():.3g}-{used.max():.3g} FLOPs) have a smaller and a larger size beside "
                                   "the winner and enter the line; at the others the winner is the edge of the sizes "
                                   "that reach C"),
                 Issue("approach3", "Approach 3 is fitted on " + (
                     "each run's final checkpoint" if self.parametric_on == "final" else
                     "every checkpoint (its bootstrap resamples whole runs)" if self.parametric_on == "all" else
                     "nothing: it was not run"))]
        if not self.has_schedule:
            found.append(Issue("schedule", "no schedule column: whether the envelope's checkpoints were trained to "
                                           "length (a decayed schedule) cannot be told"))
        if self.slices_note:
            found.append(Issue("slices", f"IsoFLOP slices: {self.slices_note}"))
        if self.parametric_note:
            found.append(Issue("parametric", f"Approach 3: {self.parametric_note}"))
        return tuple(found)

    def _a1_interval(self):
        if self.bootstrap is None:
            return None
        return counted_interval(self.bootstrap["a"], self.bootstrap["confidence"])

    def approaches(self):
        """One row per approach: ``{"approach", "method", "a", "interval" ({lo, hi, se} or None), "G"}``."""
        rows = [{"approach": "1", "method": "lower envelope of the curves (Hoffmann et al. 2022, section 3.1)",
                 "a": self.exponent, "interval": self._a1_interval(), "G": self.coefficient}]
        if self.slices is not None:
            boot = self.slices.to_dict()["approach2"]["bootstrap"]
            rows.append({"approach": "2", "method": "IsoFLOP slices from the curves, a parabola in ln N per budget",
                         "a": self.slices.exponent, "interval": None if boot is None else boot["a"],
                         "G": self.slices.coefficient})
        if self.cubic is not None:
            rows.append({"approach": "2 (cubic)", "method": "the same slices, a cubic in ln N per budget",
                         "a": self.cubic["a"], "interval": self.cubic["interval"], "G": self.cubic["G"]})
        if self.parametric is not None:
            p = self.parametric.params
            interval = None
            if self.parametric_bootstrap is not None:
                interval = self.parametric_bootstrap.params().get("a")
            on = "each run's final checkpoint" if self.parametric_on == "final" else "every checkpoint"
            rows.append({"approach": "3", "method": f"Chinchilla fit on {on}",
                         "a": p["beta"] / (p["alpha"] + p["beta"]), "interval": interval, "G": None})
        return rows

    def comparison(self):
        """Per target budget: each approach's N* (parameters); Approach 1's with its bootstrap interval."""
        from ..allocation.allocate import compute_optimal  # imported where used, as isoflop.py does

        k = self.flops_per_param_token
        targets = np.asarray(self.targets, dtype=np.float64)
        third = None if self.parametric is None else np.asarray(
            compute_optimal(self.parametric.law, targets, flops_per_param_token=k).n_params)
        rows = []
        for i, c in enumerate(targets):
            row = {"compute": float(c), "approach1": None, "approach1_interval": None, "approach2": None,
                   "approach2_cubic": None, "approach3": None}
            if self.exponent is not None:
                row["approach1"] = float(self.coefficient * c ** self.exponent)
                if self.bootstrap is not None:
                    log_n = self.bootstrap["log_g"] + self.bootstrap["a"] * math.log(c)
                    row["approach1_interval"] = counted_interval(log_n, self.bootstrap["confidence"], log=True)
            if self.slices is not None:
                row["approach2"] = float(self.slices.n_star(c))
            if self.cubic is not None and self.cubic["a"] is not None:
                row["approach2_cubic"] = float(self.cubic["G"] * c ** self.cubic["a"])
            if third is not None:
                row["approach3"] = float(third[i])
            rows.append(row)
        return rows

    def to_dict(self):
        """The JSON summary (``optimal envelope --json``): "a" and "a_interval" are Approach 1's."""
        boot = None
        if self.bootstrap is not None:
            boot = {key: self.bootstrap[key] for key in ("n_resamples", "seed", "confidence", "n_failed")}
            boot["scheme"] = "runs resampled by run id"
        fin = lambda v: None if v is None or not math.isfinite(v) else float(v)  # noqa: E731
        return {
            "flops_per_param_token": self.flops_per_param_token,
            "n_runs": self.n_runs,
            "n_checkpoints": self.n_checkpoints,
            "a": self.exponent,
            "a_interval": self._a1_interval(),
            "G": self.coefficient,
            "b": self.tokens_exponent,
            "H": self.tokens_coefficient,
            "bootstrap": boot,
            "envelope": {
                "n_points": len(self.grid), "n_accepted": int(self.accepted.sum()),
                "compute": [float(c) for c in self.grid],
                "run": [self.run_ids[w] if w >= 0 else None for w in self.winner],
                "n_opt": [fin(v) for v in self.n_opt],
                "loss_opt": [fin(v) for v in self.loss_opt],
                "accepted": [bool(v) for v in self.accepted],
                "schedule_fraction": [fin(v) for v in self.fraction]},
            "approaches": self.approaches(),
            "slices": None if self.slices is None else self.slices.to_dict(),
            "slices_note": self.slices_note,
            "cubic": self.cubic,
            "approach3": None if self.parametric is None else {
                "on": self.parametric_on, "params": self.parametric.params,
                "converged": bool(self.parametric.converged), "n_rows": self.parametric.n_rows},
            "approach3_note": self.parametric_note,
            "targets": self.comparison(),
            "target_note": self.target_note,
            "warnings": [w.to_dict() for w in self.warnings],
            "notes": [n.to_dict() for n in self.notes],
            "status": self.status.label,
        }

    def summary(self) -> str:
        """The text ``optimal envelope`` prints: the three approaches' a with intervals, and N* at the targets."""
        acc = self.accepted
        lines = [f"{self.n_runs} runs, {self.n_checkpoints} checkpoints; C = {self.flops_per_param_token:g} N D "
                 f"(D: tokens seen)",
                 f"Approach 1 (lower envelope over {len(self.grid)} budgets {self.grid[0]:.3g}-{self.grid[-1]:.3g} FLOPs, "
                 f"{int(acc.sum())} with a size on either side, {len(np.unique(self.n_opt[acc]))} distinct winning sizes): "
                 f"N_opt(C) = {_n(self.coefficient)} C^a, D_opt(C) = {_n(self.tokens_coefficient)} C^b (b = 1 - a)"]
        if self.bootstrap is not None:
            b = self.bootstrap
            lines.append(f"  bootstrap: {b['n_resamples']} resamples of whole runs (seed {b['seed']}, "
                         f"{100 * b['confidence']:g}% intervals), {b['n_failed']} without a line")
        lines.append("")
        rows = [[r["approach"], _interval_text(r["a"], r["interval"]), r["method"]] for r in self.approaches()]
        lines.append(format_table(["approach", "a (N_opt ~ C^a)", "how"], rows))
        lines.append("")
        lines.append(f"N* at the target budgets ({self.target_note}):")
        rows = []
        for t in self.comparison():
            one = _n(t["approach1"], ".3g")
            if t["approach1_interval"] is not None:
                lo, hi = (_n(t["approach1_interval"][e], ".3g") if t["approach1_interval"][e] is not None else "unbounded"
                          for e in ("lo", "hi"))
                one += f" [{lo}, {hi}]"
            rows.append([f"{t['compute']:.4g}", one, _n(t["approach2"], ".3g"), _n(t["approach2_cubic"], ".3g"),
                         _n(t["approach3"], ".3g")])
        lines.append(format_table(["compute (FLOPs)", "approach 1", "approach 2", "approach 2 (cubic)", "approach 3"],
                                  rows))
        lines += [f"note: {n.message}" for n in self.notes if n.code != "targets"]
        return "\n".join(lines)


# --- the analysis ----------------------------------------------------------------------------------------------------

def _envelope(log_l, sizes, mask=None):
    """The envelope on the grid: per resample (rows of ``mask`` (R, runs) bool; None: all runs once) the winning run
    (R, G) (-1: no run reaches C) and whether a smaller and a larger size reach C too (R, G)."""
    mask = np.ones((1, len(sizes)), bool) if mask is None else mask
    reach = mask[:, :, None] & np.isfinite(log_l)[None]  # (R, runs, G)
    values = np.where(reach, log_l[None], np.inf)
    winner = np.argmin(values, axis=1)  # (R, G)
    none = ~reach.any(axis=1)
    n_win = sizes[winner]
    smaller = np.any(reach & (sizes[None, :, None] < n_win[:, None, :]), axis=1)
    larger = np.any(reach & (sizes[None, :, None] > n_win[:, None, :]), axis=1)
    return np.where(none, -1, winner), ~none & smaller & larger


@float64_scope
def envelope(curves: Curves, *, flops_per_param_token=DEFAULT_FLOPS_PER_PARAM_TOKEN, grid_points=GRID_POINTS,
             budgets=None, targets=None, n_resamples=0, seed=0, confidence=0.95, parametric="final",
             fit_options=None) -> EnvelopeResult:
    """Approaches 1, 2 and 3 of Hoffmann et al. 2022 on the same learning curves (module docstring).

    Args:
      curves: ``Curves`` (``optimal.data.curves.read_curves_csv``, ``validate_curves``, ``synthetic_curves``).
      flops_per_param_token: k in C = k N D (D: tokens seen so far).
      grid_points: envelope budgets, log-spaced from the smallest FLOPs of any checkpoint to the largest (>= 10).
      budgets: the IsoFLOP slices' budgets (FLOPs); default ``SLICES`` (5) log-spaced over the budgets that at least
        ``MIN_SLICE_SIZES`` (5) sizes reach.
      targets: budgets (FLOPs) at which the approaches' N* are compared; default the largest FLOPs in the data and
        ``TARGET_FACTOR`` (100) times it.
      n_resamples: bootstrap resamples (0: none; else 2 to 10**6): Approach 1 resamples whole runs by run id; the
        slices use ``optimal.isoflop``'s wild bootstrap with one sign per size; Approach 3 ``optimal.bootstrap``
        (over runs for ``parametric="all"``). seed: 0 to 2**32 - 1. confidence: the intervals' level.
      parametric: "final" (each run's last checkpoint), "all" (every checkpoint) or None (no Approach 3).
      fit_options: more keyword arguments for ``optimal.fit``.

    Returns:
      ``EnvelopeResult``.

    Raises:
      DataError: ``curves`` not ``Curves``; fewer than 2 envelope budgets with a smaller and a larger size beside
        the winner, or one size winning all of them. OptimalError: a bad count, seed, confidence or ``parametric``.
      BudgetError: a bad budget or target.
    """
    if not isinstance(curves, Curves):
        raise DataError(f"curves must be Curves (optimal.data.curves.read_curves_csv or validate_curves), got "
                        f"{type(curves).__name__}")
    k = check_positive(flops_per_param_token, "flops_per_param_token")
    grid_points = check_count(grid_points, "grid_points", 10, 100_000)
    check_confidence(confidence)
    if n_resamples:
        check_count(n_resamples, "n_resamples", 2, MAX_RESAMPLES)
    check_count(seed, "seed", 0, MAX_SEED)
    if parametric not in PARAMETRIC:
        raise OptimalError(f"parametric must be 'final', 'all' or None, got {parametric!r}")
    check_mapping(fit_options, "fit_options", "{'search': optimal.Search(n_polish=8)}")  # a str was a TypeError
    for value, name in ((budgets, "budgets"), (targets, "targets")):  # a str was a bare ValueError from float()
        value is None or float_array(value, name, BudgetError, "numbers of FLOPs", invalid=True)
    sizes, schedule = _run_table(curves)
    flops = k * curves.n_params * curves.n_tokens
    grid = np.geomspace(flops.min(), flops.max(), grid_points)
    log_d_at = np.log(grid)[None, :] - np.log(k * sizes)[:, None]  # (runs, G): tokens seen at C
    log_l = _curve_log_loss(curves, log_d_at)

    winner, accepted = (v[0] for v in _envelope(log_l, sizes))
    has = winner >= 0
    n_opt = np.where(has, sizes[np.maximum(winner, 0)], np.nan)
    loss_opt = np.where(has, np.exp(log_l[np.maximum(winner, 0), np.arange(grid_points)]), np.nan)
    fraction = np.full(grid_points, np.nan)
    if schedule is not None:
        fraction = np.where(has, np.exp(log_d_at[np.maximum(winner, 0), np.arange(grid_points)]) /
                            schedule[np.maximum(winner, 0)], np.nan)
    if accepted.sum() < 2:
        raise DataError(f"the envelope has {int(accepted.sum())} of {grid_points} budgets whose winning size has a "
                        "smaller and a larger size beside it at that budget, need at least 2: train more sizes, or "
                        "longer runs of the small sizes and shorter ones of the large")
    if len(np.unique(n_opt[accepted])) < 2:
        raise DataError(f"the envelope's {int(accepted.sum())} usable budgets are all won by one size "
                        f"({float(n_opt[accepted][0]):.3g}): N_opt(C) does not change over them, so it has no slope; "
                        "train more sizes")
    log_c = np.log(grid)
    a, log_g = (float(v[0]) for v in _lines(log_c, np.log(np.where(accepted, n_opt, 1.0))[None], accepted[None]))
    exponent = a if math.isfinite(a) else None
    coefficient = math.exp(log_g) if math.isfinite(log_g) else None

    messages = _warnings(grid, n_opt, accepted, fraction, schedule is not None)
    boot = None
    if n_resamples:
        boot = _bootstrap(log_l, sizes, log_c, n_resamples, seed, confidence)
        if boot["n_failed"]:
            messages.append(Issue("bootstrap", f"{boot['n_failed']} of {n_resamples} resamples of runs had fewer "
                                               "than 2 envelope budgets with a size on either side: no line; each "
                                               "counts against both ends of a's interval"))
        few = few_draws_message(n_resamples, confidence)  # approaches 1, 2 count failed draws: all n_resamples rank
        if few:
            messages.append(Issue("few-draws", few))

    if targets is None:
        top = float(flops.max())
        targets, target_note = (top, TARGET_FACTOR * top), (f"the largest FLOPs in the data ({top:.4g}) and "
                                                            f"{TARGET_FACTOR:g} x it")
    else:
        targets = tuple(check_one_run_or_more(check_positive(float(t), "target budget", BudgetError), k,
                                              "target budget") for t in np.atleast_1d(targets))
        target_note = "as given"

    slices, slices_note, cubic = _slices(curves, sizes, log_l, grid, k, budgets, targets, n_resamples, seed, confidence,
                                         messages)
    third, third_note, third_boot = None, None, None
    if parametric is not None:
        runs = curves.runs(parametric)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # its warnings are carried on the FitResult and reported
                third = fit(runs.n_params, runs.n_tokens, runs.loss, **(fit_options or {}))
                if n_resamples:
                    third_boot = bootstrap(third, n_resamples=n_resamples, seed=seed, confidence=confidence,
                                           groups=runs.groups if parametric == "all" else None)
        except DataError as exc:
            third_note = f"the parametric fit was not run: {exc}"
        if third is not None:
            messages += [Issue(getattr(w, "code", "parametric"), f"Approach 3: {w}") for w in third.warnings]
        early = curves.decayed()
        if third is not None and parametric == "all" and early is not None and not early.all():
            messages.append(Issue("undecayed", f"Approach 3 is fitted on every checkpoint, {int((~early).sum())} of "
                                               f"{len(early)} of them before {100 * DECAYED:g}% of their schedule: "
                                               "their losses are above those of runs trained to that length, which "
                                               "the Chinchilla law describes; fit the final checkpoints "
                                               "(parametric='final') to leave them out"))
    found = EnvelopeResult(k, curves.n_runs, len(curves.loss), grid, winner, n_opt, loss_opt, accepted, fraction,
                           exponent, coefficient, boot, slices, slices_note, cubic, third,
                           parametric if third is not None else None, third_boot, third_note, targets, target_note,
                           tuple(curves.run_ids.tolist()), schedule is not None, tuple(messages))
    far = _extrapolation_issues(found, FittedRange.from_runs(curves.n_params, curves.n_tokens, source="the curves"))
    return dataclasses.replace(found, warnings=found.warnings + far)


APPROACHES = {"approach1": "1", "approach2": "2", "approach2_cubic": "2 (cubic)", "approach3": "3"}


def _extrapolation_issues(result, fitted):
    """Each target's N*, D* far outside the curves' sizes and tokens, the approach farthest out named, said as
    ``optimal.recommend`` says it for an allocation (``range_warnings``)."""
    found = []
    for row in result.comparison():
        named = [key for key in APPROACHES if row[key] is not None]
        n = np.array([row[key] for key in named])
        found += [Issue(code, f"[{row['compute']:.4g} FLOPs] approach {APPROACHES[named[i]]}: {message}") for
                  i, code, message in range_warnings(fitted, n, row["compute"] / (result.flops_per_param_token * n))]
    return tuple(found)


NARROW_DECADES = 1.0  # accepted envelope budgets spanning less than this (decades of C) give a poorly pinned slope


def _warnings(grid, n_opt, accepted, fraction, has_schedule):
    found = []
    span = math.log10(grid[accepted].max() / grid[accepted].min())
    if span < NARROW_DECADES:
        found.append(Issue("edge", f"the envelope budgets with a smaller and a larger size beside the winner span only "
                                   f"{span:.2f} decades of compute ({int(accepted.sum())} of {len(grid)}; at the "
                                   "others the winner is the edge of the sizes that reach C, and the optimum may lie "
                                   "outside): a rests on a narrow range; train more sizes, or curves covering more "
                                   "FLOPs"))
    distinct = len(np.unique(n_opt[accepted]))
    if distinct < 3:
        found.append(Issue("staircase", f"the envelope's winning size changes only {distinct - 1} time(s) over the "
                                        f"budgets used: N_opt(C) is a staircase of {distinct} sizes and a rests on "
                                        "them; train more sizes"))
    if has_schedule:
        early = accepted & (fraction < DECAYED)
        if early.any():
            found.append(Issue("undecayed", (
                f"{int(early.sum())} of {int(accepted.sum())} envelope budgets rest on a checkpoint before "
                f"{100 * DECAYED:g}% of its run's schedule (median {100 * float(np.median(fraction[early])):.0f}% of "
                "it): a checkpoint partway through a long (cosine) schedule has a higher loss than a run trained to "
                "that length (Hoffmann et al. 2022, section 3.1), which biases the envelope towards the sizes whose "
                "runs end near each budget; Hoffmann et al. train each size to several lengths so that some run of "
                "each size ends near each budget; compare with Approach 3 on the final checkpoints")))
    return found


def _bootstrap(log_l, sizes, log_c, n_resamples, seed, confidence):
    """Approach 1's bootstrap: whole runs resampled with replacement (a run drawn twice is the same curve twice, so
    only which runs were drawn matters for the envelope), the envelope and its line recomputed."""
    rng = np.random.default_rng(seed)
    n_runs = len(sizes)
    a, log_g = np.empty(n_resamples), np.empty(n_resamples)
    log_n = np.log(sizes)
    for start in range(0, n_resamples, CHUNK):
        m = min(CHUNK, n_resamples - start)
        drawn = rng.integers(0, n_runs, size=(m, n_runs))
        mask = np.zeros((m, n_runs), bool)
        mask[np.arange(m)[:, None], drawn] = True
        winner, accepted = _envelope(log_l, sizes, mask)
        a[start:start + m], log_g[start:start + m] = _lines(log_c, log_n[np.maximum(winner, 0)], accepted)
    return {"n_resamples": int(n_resamples), "seed": int(seed), "confidence": float(confidence), "a": a,
            "log_g": log_g, "n_failed": int(np.isnan(a).sum())}


def _slices(curves, sizes, log_l, grid, k, budgets, targets, n_resamples, seed, confidence, messages):
    """Approach 2 from the curves: per budget, each size's loss at D = C / (k N) (the lowest of its runs reaching
    C), then ``isoflop`` (parabolas) and ``cubic_vertex``. Returns (IsoflopResult or None, note, cubic dict)."""
    distinct = np.unique(sizes)
    if budgets is None:
        per_size = np.stack([np.isfinite(log_l[sizes == s]).any(axis=0) for s in distinct])  # (S, G)
        enough = per_size.sum(axis=0) >= MIN_SLICE_SIZES
        if not enough.any():
            return None, (f"no budget is reached by {MIN_SLICE_SIZES} or more sizes' curves, so no slice was made; "
                          "give --compute budgets (or longer curves)"), None
        lo, hi = grid[enough].min(), grid[enough].max()
        budgets = np.geomspace(lo, hi, SLICES) if hi > lo * 1.5 else np.array([lo])
        note = (f"{len(budgets)} budgets log-spaced over {lo:.3g}-{hi:.3g} FLOPs, where {MIN_SLICE_SIZES}+ sizes' "
                "curves reach")
    else:
        budgets = np.asarray([check_one_run_or_more(check_positive(float(c), "slice budget", BudgetError), k,
                                                    "slice budget") for c in np.atleast_1d(budgets)])
        note = "budgets as given"
    budgets = np.sort(budgets)
    log_d_at = np.log(budgets)[None, :] - np.log(k * sizes)[:, None]
    at = _curve_log_loss(curves, log_d_at)  # (runs, B)
    n, d, y, c, label = [], [], [], [], []
    for j, budget in enumerate(budgets):
        for s in distinct:
            values = at[sizes == s, j]
            if np.isfinite(values).any():
                n.append(s)
                d.append(budget / (k * s))
                y.append(float(np.exp(np.nanmin(values))))
                c.append(budget)
                label.append(f"{s!r}")
    cubic = _cubic(np.array(n), np.array(y), np.array(c), budgets, n_resamples, seed, confidence)
    if cubic.get("n_without_minimum"):
        messages.append(Issue("bootstrap", f"{cubic['n_without_minimum']} of {n_resamples} resamples of the slices had "
                                           "a cubic without a local minimum at some budget: that vertex was left out "
                                           "of the resample's line (as the data's own analysis refuses such a budget)"))
    if len(n) < 3:
        return None, f"{note}: too few sizes reach them", cubic
    try:
        runs = validate_runs(n, d, y, n_free=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            found = isoflop(runs, compute=np.array(c), clusters=label if n_resamples else None, tolerance=0.0,
                            flops_per_param_token=k, targets=targets, n_resamples=n_resamples, seed=seed,
                            confidence=confidence, parametric=False)
    except OptimalError as exc:
        return None, f"{note}: {exc}", cubic
    messages += [Issue(w.code, f"IsoFLOP slices: {w.message}") for w in found.warnings if w.code != "few-draws"]
    return found, note, cubic


def _cubic(n, y, c, budgets, n_resamples, seed, confidence):
    """The cubic vertex of every slice and the line ln N_opt = ln G + a ln C through those found; with
    ``n_resamples``, the wild bootstrap of ``optimal.analysis.isoflop`` on the cubics (each size's loss redrawn as
    its fitted loss plus its HC2-adjusted residual times a sign shared by that size at every budget), the vertices
    and the line refitted."""
    vertices, reasons = [], []
    for budget in budgets:
        rows = c == budget
        x_star, reason = cubic_vertex(np.log(n[rows]), y[rows]) if rows.any() else (math.nan, "no size reaches it")
        vertices.append(x_star)
        reasons.append(reason)
    vertices = np.asarray(vertices)
    ok = np.isfinite(vertices)
    log_c = np.log(budgets)
    a, log_g = (float(v[0]) for v in _lines(log_c, np.where(ok, vertices, 0.0)[None], ok[None]))
    good = math.isfinite(a)
    found = {"compute": [float(b) for b in budgets], "n_opt": [float(np.exp(v)) if math.isfinite(v) else None
                                                              for v in vertices],
             "reason": reasons, "a": a if good else None, "G": math.exp(log_g) if good else None, "interval": None}
    if n_resamples and good:
        sizes = np.unique(n)
        signs = np.random.default_rng(seed).integers(0, 2, size=(n_resamples, len(sizes))) * 2 - 1
        columns = np.full((n_resamples, len(budgets)), np.nan)
        for g in np.flatnonzero(ok):
            rows = c == budgets[g]
            fits = _cubics(np.log(n[rows]), y[rows])
            residual = y[rows] - fits["fitted"][0]
            free = 1.0 - fits["leverage"] > 1e-9
            scale = math.sqrt(float(np.sum(residual**2)) / (rows.sum() - 4))  # >= 5 sizes: at least one dof
            with np.errstate(divide="ignore", invalid="ignore"):
                adjusted = np.where(free, residual / np.sqrt(1.0 - fits["leverage"]), scale)
            drawn = fits["fitted"][0] + signs[:, np.searchsorted(sizes, n[rows])] * adjusted
            redrawn = _cubics(np.log(n[rows]), drawn)
            columns[:, g] = redrawn["centre"] + redrawn["half"] * redrawn["t_star"]
        a_draws, _ = _lines(log_c, np.nan_to_num(columns), np.isfinite(columns))
        found["interval"] = counted_interval(a_draws, confidence)
        found["n_without_minimum"] = int(np.isnan(columns[:, ok]).any(axis=1).sum())
    return found
