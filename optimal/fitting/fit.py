"""Fit ``L = E + A/N^alpha + B/D^beta`` to training runs, the way Hoffmann et al. 2022 (App. D.2) did.

Objective: the Huber loss (delta = 1e-3) of log-loss residuals, summed over rows. Search: by default a
variable-projection screen then a batched Newton polish; optionally the full 4500-start Hoffmann grid.

Screen: for fixed exponents (alpha, beta) the model is linear in (E, A, B), so each point of a
``grid_size x grid_size`` grid of exponents costs one 3x3 weighted least-squares solve (weights 1/L^2, which
makes loss residuals approximate log-loss residuals) and one objective evaluation. The polish starts from the
best local minima of that map (then the best remaining points) and runs every start as a lane of one compiled
program (``optimal.fitting.solver.polish``).
"""

import dataclasses
import functools
import platform
import warnings
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .data import validate_runs
from .diagnostics import identifiability, plausibility, scaled_condition, singular_curvature
from ..errors import (CoefficientsError, ConvergenceWarning, IdentifiabilityWarning, OptimalError, PlausibilityWarning,
                     check_count, check_positive)
from ..jsonio import as_array, as_dict, as_number, check_writable, dumps_strict, field, read_json, write_text
from ..laws import Chinchilla, law_from_dict
from .objective import DEFAULT_DELTA, PARAM_NAMES, ROBUST_LOSSES, hoffmann_grid, objective, value_grad_hessian
from ..precision import float64_scope, resolve_dtype
from .solver import REASONS, Lanes, SolverConfig, polish

AT_BEST_RTOL = 1e-6  # a start "reached the best objective" within this relative gap
_MAX_GRID_SIZE = 1024  # the screen holds grid_size^2 x 5 coefficients: 42 MB at 1024
MAX_ITER = 2**31 - 1  # the solver counts iterations in int32
RECORD_VERSION = 1


def theta_to_law(theta) -> Chinchilla:
    """Coefficient vector ``(e, a, b, alpha, beta)`` (last axis) -> ``Chinchilla`` (arrays keep batch axes)."""
    theta = jnp.asarray(theta)
    return Chinchilla(
        E=jnp.exp(theta[..., 0]), A=jnp.exp(theta[..., 1]), B=jnp.exp(theta[..., 2]), alpha=theta[..., 3], beta=theta[..., 4]
    )


def exponent_grid(grid_size: int, dtype=np.float64):
    """The screen's exponents: ``grid_size`` values evenly spaced in (0, 2], the Hoffmann grid's range."""
    return np.linspace(2.0 / grid_size, 2.0, grid_size, dtype=dtype)


def _project(alpha, beta, data, weights):
    """Best (E, A, B) for fixed exponents by weighted least squares on L; returns theta (5,)."""
    log_n, log_d, log_loss = data
    loss = jnp.exp(log_loss)
    x = jnp.stack([jnp.ones_like(log_n), jnp.exp(-alpha * log_n), jnp.exp(-beta * log_d)], axis=-1)
    sw = weights / (loss * loss)
    gram = (x * sw[:, None]).T @ x
    rhs = x.T @ (sw * loss)
    scale = jnp.sqrt(jnp.diagonal(gram)) + jnp.finfo(loss.dtype).tiny
    coef = jnp.linalg.solve(gram / jnp.outer(scale, scale), rhs / scale) / scale
    # a negative coefficient means the data want that term gone: keep it tiny but positive (finite log)
    floor = 1e-6 * jnp.min(loss) / jnp.max(x, axis=0)
    coef = jnp.maximum(coef, floor)
    return jnp.stack([jnp.log(coef[0]), jnp.log(coef[1]), jnp.log(coef[2]), alpha, beta])


@functools.partial(jax.jit, static_argnames="loss")
def _screen_map(exps, data, weights, delta, loss="huber"):
    def row(alpha):  # one alpha, every beta at once: memory grows with G x rows, not G^2 x rows
        theta = jax.vmap(_project, in_axes=(None, 0, None, None))(alpha, exps, data, weights)  # (G, 5)
        return theta, jax.vmap(lambda th: objective(th, *data, weights, delta, loss))(theta)

    theta, values = jax.lax.map(row, exps)  # (G, G, 5), (G, G)
    return theta, jnp.where(jnp.isfinite(values), values, jnp.inf)


def screen_map(data, weights, grid_size=64, delta=DEFAULT_DELTA, loss="huber"):
    """Every point of the exponent grid with its projected (E, A, B): theta (G, G, 5) and objective (G, G),
    NumPy arrays, rows alpha and columns beta (``exponent_grid``). Non-finite objectives are inf."""
    exps = jnp.asarray(exponent_grid(grid_size), data[0].dtype)
    theta, values = _screen_map(exps, data, weights, delta, loss)
    return np.asarray(theta), np.asarray(values)


def screen_starts(theta, values, n_starts=16):
    """Starting points from a ``screen_map``, best first: shape (n_starts, 5).

    Local minima of the objective over the exponent grid (8 neighbours) come first, in order of objective,
    so that distinct basins are polished; the best remaining grid points fill the rest.
    """
    grid_size = values.shape[0]
    padded = np.pad(values, 1, constant_values=np.inf)
    neighbours = np.stack(
        [padded[1 + i : 1 + i + grid_size, 1 + j : 1 + j + grid_size] for i in (-1, 0, 1) for j in (-1, 0, 1) if (i, j) != (0, 0)]
    )
    is_local_min = np.all(values <= neighbours, axis=0) & np.isfinite(values)
    order = np.lexsort((values.ravel(), ~is_local_min.ravel()))  # local minima first, then by objective
    return theta.reshape(-1, 5)[order[:n_starts]]


def screen(data, weights, grid_size=64, n_starts=16, delta=DEFAULT_DELTA, loss="huber"):
    """Starting points from the variable-projection screen, best first: shape (n_starts, 5); grid points are
    ranked by the objective being fitted (``loss``: "huber" with ``delta``, or "squared")."""
    return screen_starts(*screen_map(data, weights, grid_size, delta, loss), n_starts)


@dataclasses.dataclass(frozen=True)
class FitResult:
    """A fitted Chinchilla law and how the fit went.

    Attributes:
      law: the fitted ``Chinchilla`` law (plugs into ``compute_optimal``).
      theta: ``(e, a, b, alpha, beta)`` = (log E, log A, log B, alpha, beta), shape (5,).
      objective: the summed Huber objective at the best start.
      n_rows, n_starts, n_starts_at_best: rows fitted, starts polished, starts within 1e-6 (relative) of the best.
      converged: whether the best start met a stopping test; reason, iterations, grad_norm: how it stopped.
      starts: per-start ``Lanes`` (numpy arrays), ordered as polished.
      config: the options that reproduce the fit; warnings: identifiability, plausibility and convergence
        warnings (text).
      data: the fitted rows ``(N, D, loss, weights)`` as numpy arrays.
      diagnostics: identifiability at the optimum (``optimal.fitting.diagnostics.identifiability``): the near-optimal
        tolerance, how many fits fell within it, the ranges of E, alpha and beta among them, the coefficients
        not identified, and the decades N and D span.
    """

    law: Chinchilla
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

    @property
    def params(self) -> dict:
        """``{E, A, B, alpha, beta}`` as floats."""
        return {k: float(v) for k, v in self.law._asdict().items()}

    @property
    def log_params(self) -> dict:
        """``{e, a, b, alpha, beta}``: the coefficients the objective is minimised over."""
        return dict(zip(PARAM_NAMES, map(float, self.theta)))

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
            "params": self.params,
            "log_params": self.log_params,
            "objective": float(self.objective),
            "converged": bool(self.converged),
            "reason": self.reason,
            "iterations": int(self.iterations),
            "grad_norm": float(self.grad_norm),
            "n_rows": int(self.n_rows),
            "n_starts": int(self.n_starts),
            "n_starts_at_best": int(self.n_starts_at_best),
            "warnings": list(self.warnings),
            "diagnostics": self.diagnostics,
            "config": self.config,
        }

    def summary(self) -> str:
        """A table a person can read."""
        p = self.params
        lines = [
            "Chinchilla fit  L = E + A/N^alpha + B/D^beta",
            f"  rows {self.n_rows}   objective {self.objective:.10g} (sum of Huber, delta={self.config['delta']:g})",
            f"  starts {self.n_starts}, {self.n_starts_at_best} reached the best objective",
            f"  best start: {'converged' if self.converged else 'NOT CONVERGED'} ({self.reason}) after "
            f"{self.iterations} iterations, |grad| {self.grad_norm:.2e}",
            "",
            f"  {'E':>6} {p['E']:12.6g}     irreducible loss (nats)",
            f"  {'A':>6} {p['A']:12.6g}     {'alpha':>5} {p['alpha']:.6g}",
            f"  {'B':>6} {p['B']:12.6g}     {'beta':>5} {p['beta']:.6g}",
            f"  allocation exponents: N* ~ C^{p['beta'] / (p['alpha'] + p['beta']):.4f}, "
            f"D* ~ C^{p['alpha'] / (p['alpha'] + p['beta']):.4f}",
        ]
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def record(self) -> dict:
        """Everything needed to reload and reproduce the fit: ``to_dict()`` plus the rows and package versions."""
        n, d, loss, weights = (np.asarray(x).tolist() for x in self.data)
        return {
            "record_version": RECORD_VERSION,
            **self.to_dict(),
            "versions": _versions(),
            "data": {"N": n, "D": d, "loss": loss, "weights": weights},
            # every start's outcome (``save`` writes a non-finite number as null: JSON has no inf or nan)
            "starts": {name: np.asarray(values).tolist() for name, values in self.starts._asdict().items()},
        }

    def save(self, path, extra=None):
        """Write the fit record as strict JSON (``extra``: more top-level keys, e.g. bootstrap draws); a
        non-finite number (a start that diverged, say) is written as null. Raises ``OutputError`` when the
        file cannot be written (``optimal.jsonio.check_writable`` asks before a long computation)."""
        check_writable(path, "fit record")
        text, _ = dumps_strict({**self.record(), **(extra or {})}, indent=1)
        write_text(path, text, "fit record")

    def refit(self):
        """Run the fit again from the saved rows and configuration."""
        options = {k: v for k, v in self.config.items() if k != "reduction"}  # "sum" is not an option
        return fit(*self.data, **options)


def _versions():
    import optax
    import scipy

    from .. import __version__

    return {"optimal": __version__, "jax": jax.__version__, "optax": optax.__version__, "numpy": np.__version__,
            "scipy": scipy.__version__, "python": platform.python_version(), "backend": jax.default_backend()}


@float64_scope
def load_fit(path) -> FitResult:
    """Load a fit record written by ``FitResult.save`` (no recomputation; ``.refit()`` reruns it).

    Raises ``CoefficientsError`` for a file that cannot be read or parsed (``optimal.jsonio.read_json``) and
    for a record that ``fit_from_record`` refuses.
    """
    return fit_from_record(read_json(path, "fit record"), str(path))


@float64_scope
def fit_from_record(record, source="fit record") -> FitResult:
    """A ``FitResult`` from a parsed fit record (``FitResult.record()``, as ``load_fit`` reads it).

    Every field is checked: its type and nesting (a string is not a number, a list not an object), array
    shapes, the options exactly as ``fit`` checks them, the rows as ``validate_runs`` does, and the law as
    ``law_from_dict`` does (positive finite coefficients). ``source`` names the record in messages.
    Raises ``CoefficientsError``.
    """
    try:
        record = as_dict(record, "the file's JSON")
        log_params = as_dict(field(record, "log_params"), "log_params")
        theta = np.asarray([as_number(field(log_params, k, "log_params."), f"log_params.{k}") for k in PARAM_NAMES])
        rows = as_dict(field(record, "data"), "data")
        data = tuple(as_array(field(rows, k, "data."), f"data.{k}") for k in ("N", "D", "loss", "weights"))
        saved = as_dict(field(record, "starts"), "starts")
        starts = as_array(field(saved, "theta", "starts."), "starts.theta", ndim=2, width=5, null=True)
        per_start = lambda name, kind: as_array(field(saved, name, "starts."), f"starts.{name}", kind,  # noqa: E731
                                                length=len(starts), null=kind == "float")
        lanes = Lanes(starts, per_start("objective", "float"), per_start("grad_norm", "float"),
                      per_start("iterations", "int"), per_start("reason", "int"), per_start("converged", "bool"))
        if np.any((lanes.reason < 0) | (lanes.reason >= len(REASONS))):
            raise CoefficientsError(f"starts.reason must hold codes 0 to {len(REASONS) - 1}")
        config = as_dict(field(record, "config"), "config")
        for key in ("delta", "robust", "grid_size", "n_polish", "max_iter", "xtol", "dtype", "starts"):
            field(config, key, "config.")
        _check_options(config["delta"], config["robust"], config["grid_size"], config["n_polish"],
                       config["max_iter"], config["xtol"])
        if config["dtype"] not in ("float64", "float32"):
            raise CoefficientsError(f"config.dtype must be \"float64\" or \"float32\", not {config['dtype']!r}")
        if not isinstance(config["starts"], (str, list)):
            raise CoefficientsError("config.starts must be a name or a list of starts")
        count = lambda key: check_count(field(record, key), key, 0, error=CoefficientsError)  # noqa: E731
        reason, found = field(record, "reason"), record.get("warnings", [])
        if not isinstance(reason, str) or not isinstance(found, list) or not all(isinstance(w, str) for w in found):
            raise CoefficientsError("reason must be text and warnings a list of texts")
        if not isinstance(field(record, "converged"), bool):
            raise CoefficientsError("converged must be true or false")
        result = dict(objective=as_number(field(record, "objective"), "objective"), n_rows=count("n_rows"),
                      n_starts=count("n_starts"), n_starts_at_best=count("n_starts_at_best"),
                      converged=record["converged"], reason=reason, iterations=count("iterations"),
                      grad_norm=as_number(field(record, "grad_norm"), "grad_norm", null=True), starts=lanes,
                      config=dict(config), warnings=tuple(found),
                      diagnostics=dict(as_dict(record.get("diagnostics", {}), "diagnostics")))
    except OptimalError as exc:
        raise CoefficientsError(f"{source!r} is not a fit record saved by 'optimal fit --save': {exc}") from None
    try:  # the same checks as any coefficients and any rows
        law = law_from_dict({k: float(v) for k, v in theta_to_law(theta)._asdict().items()})
        runs = validate_runs(*data, n_free=0, source="data")
    except OptimalError as exc:
        raise CoefficientsError(f"{source!r}: {exc}") from None
    return FitResult(law=law, theta=theta, data=(runs.n_params, runs.n_tokens, runs.loss, runs.weights), **result)


def _check_options(delta, robust, grid_size, n_polish, max_iter, xtol):
    """The fit's options, checked the same way for ``fit`` and for a loaded record's config."""
    if not isinstance(robust, str) or robust not in ROBUST_LOSSES:
        raise OptimalError(f"robust must be one of {', '.join(ROBUST_LOSSES)}, not {robust!r}")
    check_positive(delta, "delta (the Huber threshold)")
    check_count(grid_size, "grid_size", 2, _MAX_GRID_SIZE)
    check_count(n_polish, "n_polish", 1)
    check_count(max_iter, "max_iter", 1, MAX_ITER)
    if xtol is not None:
        check_positive(xtol, "xtol")


@float64_scope
def fit(n_params, n_tokens, loss, weights=None, *, delta=DEFAULT_DELTA, robust="huber", starts="screen",
        grid_size=64, n_polish=16, max_iter=200, xtol=None, dtype=None) -> FitResult:
    """Fit the Chinchilla law to training runs.

    Args:
      n_params: N, parameters per run, shape (n,). n_tokens: D, training tokens, (n,). loss: final loss, (n,).
      weights: optional per-row weights, (n,).
      delta: the Huber threshold on log-loss residuals (Hoffmann et al.: 1e-3). robust: "huber" or "squared".
      starts: "screen" (default: variable-projection screen, then polish ``n_polish`` starts), "hoffmann"
        (polish all 4500 Hoffmann et al. starts), or an array (S, 5) of ``(e, a, b, alpha, beta)`` starts.
      grid_size: the screen's exponent grid is ``grid_size x grid_size`` over (0, 2].
      max_iter: iteration budget per start. xtol: step tolerance on the coefficients (default 0.01 sqrt(eps)).
      dtype: float64 (default) or float32.

    Returns:
      A ``FitResult``. Warns (``ConvergenceWarning``, ``IdentifiabilityWarning``) when the fit is not trustworthy.
    """
    dtype = resolve_dtype(dtype)
    runs = validate_runs(n_params, n_tokens, loss, weights)
    _check_options(delta, robust, grid_size, n_polish, max_iter, xtol)
    xtol = float(0.01 * np.sqrt(np.finfo(dtype).eps)) if xtol is None else float(xtol)
    config = {"delta": float(delta), "robust": robust, "starts": starts if isinstance(starts, str) else np.asarray(starts).tolist(),
              "grid_size": int(grid_size), "n_polish": int(n_polish), "max_iter": int(max_iter), "xtol": xtol,
              "dtype": np.dtype(dtype).name, "reduction": "sum"}
    data = tuple(jnp.asarray(np.log(x), dtype) for x in (runs.n_params, runs.n_tokens, runs.loss))
    w = jnp.asarray(runs.weights, dtype)
    grid = None
    if isinstance(starts, str) and starts == "screen":
        grid = screen_map(data, w, grid_size, delta, robust)
        theta0 = screen_starts(*grid, n_polish)
    elif isinstance(starts, str) and starts == "hoffmann":
        theta0 = hoffmann_grid()
    elif isinstance(starts, str):
        raise CoefficientsError(f"starts must be 'screen', 'hoffmann' or an array of shape (S, 5), not {starts!r}")
    else:
        theta0 = np.asarray(starts, dtype=np.float64)
        if theta0.ndim != 2 or theta0.shape[1] != 5 or len(theta0) == 0 or not np.all(np.isfinite(theta0)):
            raise CoefficientsError(f"starts must be a finite array of shape (S, 5), got shape {theta0.shape}")
    lanes = polish(jnp.asarray(theta0, dtype), data, w, SolverConfig(float(delta), robust, int(max_iter), xtol))
    lanes = Lanes(*(np.asarray(x) for x in lanes))
    values = np.where(np.isfinite(lanes.objective), lanes.objective, np.inf)
    best = int(np.argmin(values))
    theta = lanes.theta[best].astype(np.float64)
    if not (np.isfinite(values[best]) and np.all(np.isfinite(theta))):
        raise OptimalError(f"the fit produced no finite coefficients: all {len(theta0)} starts ended non-finite; "
                           "check the units and range of N, D and the loss")
    candidates, candidate_values = lanes.theta, np.where(lanes.converged, values, np.inf)
    if grid is not None:
        candidates = np.vstack([candidates, grid[0].reshape(-1, 5)])
        candidate_values = np.concatenate([candidate_values, grid[1].ravel()])
    diagnostics, found = identifiability(theta, values[best], candidates, candidate_values,
                                         tuple(np.asarray(x, np.float64) for x in data), runs.weights,
                                         float(exponent_grid(grid_size)[0]))
    for message in found:
        warnings.warn(message, IdentifiabilityWarning, stacklevel=3)
    implausible = plausibility(runs.n_params, runs.n_tokens, runs.loss)
    for message in implausible:
        warnings.warn(message, PlausibilityWarning, stacklevel=3)
    found += implausible
    converged, reason = bool(lanes.converged[best]), REASONS[int(lanes.reason[best])]
    hessian = value_grad_hessian(jnp.asarray(theta, dtype), *data, w, delta, robust)[2]
    diagnostics["hessian_condition"] = scaled_condition(hessian)
    singular = singular_curvature(diagnostics["hessian_condition"])
    if not converged or singular:
        message = singular or f"the best start did not converge ({reason} after {int(lanes.iterations[best])} iterations)"
        converged, reason = False, "singular curvature" if singular else reason
        found.append(message)
        warnings.warn(message, ConvergenceWarning, stacklevel=3)
    return FitResult(
        law=Chinchilla(*map(float, theta_to_law(theta))),
        theta=theta, objective=float(values[best]), n_rows=len(runs.loss), n_starts=len(theta0),
        n_starts_at_best=int(np.sum(values <= values[best] * (1 + AT_BEST_RTOL))), converged=converged,
        reason=reason, iterations=int(lanes.iterations[best]),
        grad_norm=float(lanes.grad_norm[best]), starts=lanes, config=config, warnings=tuple(found),
        data=(runs.n_params, runs.n_tokens, runs.loss, runs.weights), diagnostics=diagnostics,
    )
