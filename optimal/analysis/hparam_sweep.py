"""A user's own learning-rate or batch-size sweep -> the optimal hyperparameter per (N, D) setting -> a power law.

Runs: N, D, the hyperparameter h (learning rate, or batch size in the sweep's own units) and the final loss (nats).
Runs with the same (N, D) are one setting. In each setting the loss is fitted as a parabola in ln h (least squares,
``optimal.analysis.isoflop.parabolas``, the same parabola IsoFLOP profiles use in ln N); its vertex is the setting's
optimum h* when the curvature is positive and the vertex lies inside the values tried. Through the accepted optima a
power law is fitted by least squares in logs:

- ``form="compute"``: h* = a C^b, C = k N D (k = ``flops_per_param_token``, 6 by default);
- ``form="params_tokens"``: h* = a N^p D^q (Step Law's form for the learning rate, Li et al. 2025).

Least squares in logs is the maximum-likelihood fit of a power law with log-normal scatter; it is the fit DeepSeek
LLM (Bi et al. 2024) and Step Law report for their published laws.

Intervals: a wild bootstrap over runs, the one ``optimal isoflop`` uses (docs/isoflop.md): every run keeps its
(N, D, h), its loss is redrawn as the parabola's fitted loss plus its leverage-adjusted residual times a random sign,
every parabola and the power law are refitted, so no value of h is dropped from a setting. A redrawn parabola with no
minimum is a failed draw (counted, warned about, and widening the intervals, never narrowing them).

Example (a noise-free sweep of a known law: lr* = 0.3 C^-0.125):
  >>> import numpy as np
  >>> n, d = np.meshgrid([1e7, 3e7, 1e8], [1e9, 4e9], indexing="ij")
  >>> n, d = np.repeat(n.ravel(), 7), np.repeat(d.ravel(), 7)
  >>> best = 0.3 * (6 * n * d) ** -0.125
  >>> lr = best * np.tile(2.0 ** np.arange(-3, 4), 6)
  >>> loss = 3.0 + 0.05 * np.log(lr / best) ** 2
  >>> s = hparam_sweep(n, d, lr, loss, n_resamples=0)
  >>> round(s.coefficient, 4), round(s.exponents["C"], 4)
  (0.3, -0.125)
"""

import dataclasses
import math

import numpy as np

from ..errors import DataError, OptimalError, check_confidence, check_count, check_positive, float_array
from .._util.results import Issue, Judged, Status
from .._util.stats import few_draws_message
from .._util.units import DEFAULT_FLOPS_PER_PARAM_TOKEN
from .isoflop import counted_interval, parabolas

PARAMS = {"lr": "learning rate", "batch": "batch size"}
FORMS = {"compute": ("C",), "params_tokens": ("N", "D")}
MIN_VALUES = 3  # a parabola needs three distinct values of h
NO_RESIDUAL = 1e-9  # 1 - h_i below this: the parabola passes through run i (its residual says nothing of the noise)
MAX_RESAMPLES = 100_000


@dataclasses.dataclass(frozen=True)
class HparamSweep(Judged):
    """The optimum of a hyperparameter per (N, D) setting and the power law through them.

    param: "lr" or "batch"; form: "compute" (h* = a C^b) or "params_tokens" (h* = a N^p D^q).
    flops_per_param_token: k of C = k N D. settings: one dict per setting (N, D, compute, n_runs, n_values,
    h_min, h_max, optimum, loss_at_optimum, curvature (of loss in ln h, nats), accepted, reason).
    coefficient: a; exponents: {"C": b} or {"N": p, "D": q}. residual_sd: sd of ln h* about the law (None with
    no residual degree of freedom). bootstrap: {n_resamples, seed, confidence, n_failed, intervals
    {coefficient, C | N, D: {lo, hi, se}}} or None; draws: (R, 1 + n exponents) of (ln a, exponents...), NaN for
    a failed draw (not in ``to_dict``). messages: the warnings.
    """

    param: str
    form: str
    flops_per_param_token: float
    settings: tuple
    coefficient: float
    exponents: dict
    residual_sd: float | None
    bootstrap: dict | None
    draws: np.ndarray | None = dataclasses.field(repr=False, compare=False)
    messages: tuple = ()

    @property
    def status(self) -> Status:
        if self.bootstrap and self.bootstrap.get("n_failed"):
            return Status.PARTIAL
        return Status.SUCCESS

    @property
    def warnings(self) -> tuple:
        return self.messages

    @property
    def notes(self) -> tuple:
        units = "dimensionless" if self.param == "lr" else "in the sweep's own units (tokens or sequences per step)"
        return (Issue("assumption", f"{PARAMS[self.param]} {units}; C = {self.flops_per_param_token:g} N D"
                      if self.form == "compute" else f"{PARAMS[self.param]} {units}"),
                Issue("method", "optimum per setting: the vertex of a least-squares parabola of the loss in ln h; "
                      "law: least squares of ln h* on " + ("ln C" if self.form == "compute" else "ln N and ln D")))

    def law_text(self) -> str:
        return f"{self.coefficient:.4g} " + " ".join(f"{v}^{e:.4g}" for v, e in self.exponents.items())

    def to_dict(self) -> dict:
        return {"param": self.param, "form": self.form, "flops_per_param_token": self.flops_per_param_token,
                "law": {"coefficient": self.coefficient, "exponents": dict(self.exponents)},
                "residual_sd_log": self.residual_sd, "settings": [dict(s) for s in self.settings],
                "bootstrap": self.bootstrap, "status": self.status.label,
                "warnings": [w.to_dict() for w in self.warnings], "notes": [n.to_dict() for n in self.notes]}

    def summary(self) -> str:
        name = PARAMS[self.param]
        lines = [f"{name} sweep: {len(self.settings)} settings, {sum(s['accepted'] for s in self.settings)} with an "
                 "interior optimum"]
        lines.append(f"  {'N':>10} {'D':>10} {'C':>10} {'runs':>5} {'optimum':>10}  {'loss there':>10}  ")
        for s in self.settings:
            optimum = "n/a" if s["optimum"] is None else f"{s['optimum']:.4g}"
            loss = "" if s["loss_at_optimum"] is None else f"{s['loss_at_optimum']:.5g}"
            lines.append(f"  {s['N']:>10.4g} {s['D']:>10.4g} {s['compute']:>10.4g} {s['n_runs']:>5} {optimum:>10}  "
                         f"{loss:>10}  {'' if s['accepted'] else '(left out: ' + s['reason'] + ')'}")
        lines.append(f"law: {name}* = {self.law_text()}" + ("" if self.residual_sd is None else
                                                            f"  (sd of ln {self.param}* about it {self.residual_sd:.3g})"))
        if self.bootstrap is not None and "intervals" in self.bootstrap:
            b = self.bootstrap
            parts = []
            for key, entry in b["intervals"].items():
                lo, hi = ("unbounded" if v is None else f"{v:.4g}" for v in (entry["lo"], entry["hi"]))
                parts.append(f"{'a' if key == 'coefficient' else 'exponent of ' + key} [{lo} .. {hi}]")
            lines.append(f"  {100 * b['confidence']:g}% intervals (wild bootstrap over runs, {b['n_resamples']} "
                         f"resamples): " + ", ".join(parts))
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


def _array(values, name):
    if isinstance(values, str):  # NumPy would read "3" as 3.0
        raise DataError(f"{name} must be numbers, got {values!r:.60}")
    return float_array(values, name, DataError, "numbers", invalid=True).reshape(-1)


def hparam_sweep(n_params, n_tokens, hparam, loss, *, param="lr", form="compute",
                 flops_per_param_token=DEFAULT_FLOPS_PER_PARAM_TOKEN, n_resamples=1000, seed=0,
                 confidence=0.95) -> HparamSweep:
    """Fit the optimum of a hyperparameter per (N, D) setting and a power law through the optima (module docstring).

    Args:
      n_params, n_tokens, hparam, loss: one entry per run, shape (n,): N, D, the hyperparameter's value (> 0) and
        the final loss (nats).
      param: "lr" or "batch" (a label: the values are used as given). form: "compute" or "params_tokens".
      flops_per_param_token: k of C = k N D (form "compute").
      n_resamples: wild-bootstrap resamples for the intervals (0: none). seed, confidence: of the bootstrap.

    Raises:
      DataError: arrays of different lengths, a value not finite or not > 0, fewer settings with an interior optimum
        than the law has coefficients. OptimalError: an unknown param or form, a bad count or confidence.
    """
    if param not in PARAMS:
        raise OptimalError(f"param must be one of {', '.join(PARAMS)}, got {param!r}")
    if form not in FORMS:
        raise OptimalError(f"form must be one of {', '.join(FORMS)}, got {form!r}")
    k = check_positive(flops_per_param_token, "flops_per_param_token")
    n_resamples = check_count(n_resamples, "n_resamples", 0, MAX_RESAMPLES)
    seed = check_count(seed, "seed", 0)
    confidence = check_confidence(confidence)
    columns = {name: _array(v, name) for name, v in
               (("n_params", n_params), ("n_tokens", n_tokens), ("hparam", hparam), ("loss", loss))}
    sizes = {len(v) for v in columns.values()}
    if len(sizes) != 1:
        raise DataError(f"n_params, n_tokens, hparam and loss must have one entry per run each, got lengths "
                        f"{', '.join(f'{k_} {len(v)}' for k_, v in columns.items())}")
    for name, values in columns.items():
        bad = np.flatnonzero(~(np.isfinite(values) & (values > 0)))
        if bad.size:
            raise DataError(f"{name} must be finite and > 0 in every run; run {int(bad[0])} has {values[bad[0]]!r}")
    n, d, h, y = columns.values()
    keys = sorted(set(zip(n.tolist(), d.tolist())), key=lambda nd: (nd[0] * nd[1], nd[0]))
    index = {key: i for i, key in enumerate(keys)}
    ids = np.array([index[key] for key in zip(n.tolist(), d.tolist())])
    x = np.log(h)

    settings, optima, fits_of = [], [], []
    for g, (ng, dg) in enumerate(keys):
        rows = np.flatnonzero(ids == g)
        fits = parabolas(x[rows], y[rows])
        x_star, reason = _vertex(fits)
        accepted = reason is None
        c0, c1, c2 = fits["coefficients"][0]
        settings.append({"N": ng, "D": dg, "compute": k * ng * dg, "n_runs": int(rows.size),
                         "n_values": int(fits["n_sizes"]), "h_min": float(np.exp(fits["x_min"])),
                         "h_max": float(np.exp(fits["x_max"])),
                         "optimum": float(np.exp(x_star[0])) if np.isfinite(x_star[0]) and c2 > 0 else None,
                         "loss_at_optimum": float(c0 + c1 * x_star[0] + c2 * x_star[0] ** 2)
                         if np.isfinite(x_star[0]) and c2 > 0 else None,
                         "curvature": float(c2) if np.isfinite(c2) else None, "accepted": accepted,
                         "reason": reason})
        optima.append(x_star[0])
        fits_of.append((rows, fits))
    accepted = np.array([s["accepted"] for s in settings])
    design = _design(form, np.array([s["N"] for s in settings]), np.array([s["D"] for s in settings]), k)
    p = design.shape[1]
    messages = [Issue("setting-left-out", f"setting N = {s['N']:.4g}, D = {s['D']:.4g} left out of the law: "
                      f"{s['reason']}") for s in settings if not s["accepted"]]
    if accepted.sum() < p:
        raise DataError(f"only {int(accepted.sum())} of {len(settings)} (N, D) settings have an optimum inside the "
                        f"values tried (a parabola with positive curvature); the {form} law needs at least {p}: "
                        "widen the sweep around the best value or add settings")
    coefficients, residual_sd = _fit(design[accepted], np.array(optima)[accepted])
    if residual_sd is None:
        messages.append(Issue("no-residual", f"the law has {p} coefficients and passes through all {p} accepted "
                              "optima: nothing checks that a power law describes them"))
    names = FORMS[form]
    if not math.log(np.finfo(np.float64).tiny) < coefficients[0] < math.log(np.finfo(np.float64).max):
        with np.errstate(over="ignore", under="ignore"):  # one value far off the others (1e300, say)
            shown = ", ".join(f"{v:.3g}" for v in np.exp(np.array(optima)[accepted][:4]))
        raise DataError(f"the fitted law's coefficient exp({coefficients[0]:.4g}) is beyond float64: the optima "
                        f"({shown}{', ...' if accepted.sum() > 4 else ''}) are far apart; check the {param} values")
    bootstrap, draws = None, None
    if n_resamples:
        bootstrap, draws, found = _bootstrap(x, y, fits_of, accepted, design, n_resamples, seed, confidence, names)
        messages += found
    return HparamSweep(param, form, k, tuple(settings), float(math.exp(coefficients[0])),
                       {name: float(c) for name, c in zip(names, coefficients[1:])}, residual_sd, bootstrap, draws,
                       tuple(messages))


def hparam_at(sweep, *, compute=None, n_params=None, n_tokens=None) -> dict:
    """The law of ``sweep`` at one run: ``{"value", "lo", "hi", "inputs"}`` (``lo``/``hi`` the bootstrap's
    percentile interval at ``sweep.bootstrap["confidence"]``, None without draws or where a failed draw makes an end
    unbounded). Form "compute" takes ``compute`` (or N and D, with C = k N D); "params_tokens" takes N and D."""
    if sweep.form == "compute":
        if compute is None:
            if n_params is None or n_tokens is None:
                raise OptimalError("give compute (or n_params and n_tokens) for a law in C")
            compute = sweep.flops_per_param_token * float(n_params) * float(n_tokens)
        inputs = {"C": float(compute)}
    else:
        if n_params is None or n_tokens is None:
            raise OptimalError("give n_params and n_tokens for a law in N and D")
        inputs = {"N": float(n_params), "D": float(n_tokens)}
    for name, value in inputs.items():
        if not (math.isfinite(value) and value > 0):
            raise OptimalError(f"{name} must be a finite number > 0, got {value!r}")
    logs = np.array([1.0, *(math.log(v) for v in inputs.values())])  # draws are rows (ln a, exponents...)
    value = sweep.coefficient * math.prod(v ** sweep.exponents[k] for k, v in inputs.items())
    out = {"value": value, "lo": None, "hi": None, "inputs": inputs}
    if sweep.draws is not None:
        found = counted_interval(sweep.draws @ logs, sweep.bootstrap["confidence"], log=True)
        out.update(lo=found["lo"], hi=found["hi"])
    return out


def _vertex(fits):
    """The vertex x* (ln h*) of each row of ``fits`` and why the first is refused (None when accepted)."""
    c2 = fits["coefficients"][:, 2]
    x_star = fits["centre"] + fits["half"] * fits["vertex_t"]
    if fits["n_sizes"] < MIN_VALUES:
        return x_star, f"fewer than {MIN_VALUES} values of the hyperparameter"
    if not c2[0] > 0:
        return x_star, "curvature not positive (no minimum)"
    if not fits["x_min"] < x_star[0] < fits["x_max"]:
        return x_star, "optimum not inside the values tried"
    return x_star, None


def _design(form, n, d, k):
    """Rows (1, ln C) or (1, ln N, ln D) per setting."""
    if form == "compute":
        return np.stack([np.ones_like(n), np.log(k * n * d)], axis=1)
    return np.stack([np.ones_like(n), np.log(n), np.log(d)], axis=1)


def _fit(design, log_opt):
    """Least squares of ln h* on ``design``: (coefficients (p,), residual sd or None without a residual d.o.f.)."""
    if np.linalg.matrix_rank(design) < design.shape[1]:
        raise DataError("the accepted settings do not separate the law's variables (all at one C, or N and D moving "
                        "together): vary " + ("the compute" if design.shape[1] == 2 else "N and D independently"))
    coefficients = np.linalg.lstsq(design, log_opt, rcond=None)[0]
    dof = len(log_opt) - design.shape[1]
    residual = log_opt - design @ coefficients
    return coefficients, (float(np.sqrt(residual @ residual / dof)) if dof > 0 else None)


def _bootstrap(x, y, fits_of, accepted, design, n_resamples, seed, confidence, names):
    """The wild bootstrap (module docstring): ``(summary, draws (R, p), warnings)``."""
    rng = np.random.default_rng(seed)
    signs = rng.integers(0, 2, size=(n_resamples, len(x)), dtype=np.int8) * 2 - 1  # one Rademacher sign per run
    chosen = [g for g in range(len(fits_of)) if accepted[g]]
    sums, dofs = 0.0, 0
    for g in chosen:
        rows, fits = fits_of[g]
        sums += float(np.sum((y[rows] - fits["fitted"][0]) ** 2))
        dofs += rows.size - 3
    if dofs <= 0:
        return ({"skipped": "every accepted setting has exactly 3 runs: no residual says how noisy the losses are"},
                None, [Issue("bootstrap-skipped", "no bootstrap: every accepted setting has as many runs as its "
                             "parabola has coefficients (3), so no residual measures the noise")])
    pooled = math.sqrt(sums / dofs)
    columns, failed = [], 0
    for g in chosen:
        rows, fits = fits_of[g]
        residual = y[rows] - fits["fitted"][0]
        free = 1.0 - fits["leverage"] > NO_RESIDUAL
        dof = rows.size - 3
        scale = math.sqrt(float(np.sum(residual**2)) / dof) if dof > 0 else pooled
        with np.errstate(divide="ignore", invalid="ignore"):
            adjusted = np.where(free, residual / np.sqrt(1.0 - fits["leverage"]), scale)  # HC2, as isoflop's
        drawn = fits["fitted"][0] + signs[:, rows] * adjusted
        redrawn = parabolas(x[rows], drawn)
        c2 = redrawn["coefficients"][:, 2]
        x_star = redrawn["centre"] + redrawn["half"] * redrawn["vertex_t"]
        flat = ~(c2 > 0)
        failed += int(flat.sum())
        columns.append(np.where(flat, np.nan, x_star))
    log_opt = np.stack(columns, axis=1)  # (R, G accepted)
    rows_design = design[accepted]
    p = rows_design.shape[1]
    draws = np.full((n_resamples, p), np.nan)
    whole = np.isfinite(log_opt).all(axis=1)
    draws[whole] = log_opt[whole] @ np.linalg.pinv(rows_design).T  # every optimum there: one projection for all
    for r in np.flatnonzero(~whole):  # some optimum failed: the law through the others, if they still fix it
        keep = np.isfinite(log_opt[r])
        if keep.sum() >= p and np.linalg.matrix_rank(rows_design[keep]) == p:
            draws[r] = np.linalg.lstsq(rows_design[keep], log_opt[r, keep], rcond=None)[0]
    n_failed = int(np.isnan(draws).any(axis=1).sum())
    intervals = {"coefficient": counted_interval(draws[:, 0], confidence, log=True)}
    intervals.update({name: counted_interval(draws[:, i + 1], confidence) for i, name in enumerate(names)})
    found = []
    if failed:
        found.append(Issue("failed-resamples", f"{failed} redrawn parabolas had no minimum (noise large against the "
                           f"curvature); {n_failed} of {n_resamples} resamples have no law: counted as unbounded in "
                           "the intervals, never dropped"))
    few = few_draws_message(n_resamples, confidence)  # failed draws count in the intervals: all n_resamples rank
    if few:
        found.append(Issue("few-draws", few))
    summary = {"n_resamples": int(n_resamples), "seed": int(seed), "confidence": float(confidence), "scheme": "wild",
               "n_failed": n_failed, "n_failed_parabolas": failed, "intervals": intervals}
    return summary, draws, found
