"""Fit ``L = E + A/N^alpha + B/D^beta`` to training runs, the way Hoffmann et al. 2022 (App. D.2) did.

Objective: the Huber loss (delta = 1e-3) of log-loss residuals, summed over rows. Search: by default a
variable-projection screen then a batched Newton polish; optionally the full 4500-start Hoffmann grid.

Screen: for fixed exponents (alpha, beta) the model is linear in (E, A, B), so each point of a
``grid_size x grid_size`` grid of exponents costs one 3x3 weighted least-squares solve (weights 1/L^2, which
makes loss residuals approximate log-loss residuals) and one objective evaluation. The polish starts from the
best local minima of that map (then the best remaining points) and runs every start as a lane of one compiled
program (``optimal.solvers.polish``).
"""

import dataclasses
import functools
import json
import platform
import warnings
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .data import validate_runs
from .diagnostics import identifiability, plausibility, scaled_condition, singular_curvature
from .errors import CoefficientsError, ConvergenceWarning, IdentifiabilityWarning, OptimalError, PlausibilityWarning
from .laws import Chinchilla
from .objective import DEFAULT_DELTA, PARAM_NAMES, ROBUST_LOSSES, hoffmann_grid, objective, value_grad_hessian
from .precision import float64_scope, resolve_dtype
from .solvers import REASONS, Lanes, SolverConfig, polish

AT_BEST_RTOL = 1e-6  # a start "reached the best objective" within this relative gap
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
      diagnostics: identifiability at the optimum (``optimal.diagnostics.identifiability``): the near-optimal
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
            # every start's outcome (JSON has no inf or nan: a non-finite number is written as null)
            "starts": {name: [_finite_or_none(v) for v in np.ravel(values)] if name != "theta" else
                       [[_finite_or_none(v) for v in row] for row in np.asarray(values)]
                       for name, values in self.starts._asdict().items()},
        }

    def save(self, path, extra=None):
        """Write the fit record as JSON (``extra``: more top-level keys, e.g. bootstrap draws)."""
        Path(path).write_text(json.dumps({**self.record(), **(extra or {})}, indent=1))

    def refit(self):
        """Run the fit again from the saved rows and configuration."""
        options = {k: v for k, v in self.config.items() if k != "reduction"}  # "sum" is not an option
        return fit(*self.data, **options)


def _versions():
    import optax
    import scipy

    from . import __version__

    return {"optimal": __version__, "jax": jax.__version__, "optax": optax.__version__, "numpy": np.__version__,
            "scipy": scipy.__version__, "python": platform.python_version(), "backend": jax.default_backend()}


def _finite_or_none(value):
    value = value.item() if hasattr(value, "item") else value
    return value if not isinstance(value, float) or np.isfinite(value) else None


@float64_scope
def load_fit(path) -> FitResult:
    """Load a fit record written by ``FitResult.save`` (no recomputation; ``.refit()`` reruns it)."""
    path = Path(path)
    try:
        record = json.loads(path.read_text())
    except OSError as exc:
        raise CoefficientsError(f"cannot read fit record {str(path)!r}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise CoefficientsError(f"fit record {str(path)!r} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    try:
        theta = np.asarray([record["log_params"][k] for k in PARAM_NAMES])
        data = tuple(np.asarray(record["data"][k], dtype=np.float64) for k in ("N", "D", "loss", "weights"))
        starts = record["starts"]
        as_array = lambda name, dtype: np.asarray(starts[name], dtype=dtype)  # noqa: E731  (null -> nan)
        lanes = Lanes(as_array("theta", float).reshape(-1, 5), as_array("objective", float), as_array("grad_norm", float),
                      as_array("iterations", int), as_array("reason", int), as_array("converged", bool))
        return FitResult(
            law=Chinchilla(*map(float, theta_to_law(theta))), theta=theta, objective=float(record["objective"]), n_rows=int(record["n_rows"]),
            n_starts=int(record["n_starts"]), n_starts_at_best=int(record["n_starts_at_best"]),
            converged=bool(record["converged"]), reason=str(record["reason"]), iterations=int(record["iterations"]),
            grad_norm=float(record["grad_norm"]), starts=lanes, config=dict(record["config"]),
            warnings=tuple(record.get("warnings", ())), data=data, diagnostics=dict(record.get("diagnostics", {})),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise CoefficientsError(f"{str(path)!r} is not a fit record saved by 'optimal fit --save' (bad or missing {exc})") from None


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
    if robust not in ROBUST_LOSSES:
        raise OptimalError(f"robust must be one of {', '.join(ROBUST_LOSSES)}, not {robust!r}")
    if not (np.isfinite(delta) and delta > 0):
        raise OptimalError(f"delta (the Huber threshold) must be positive and finite, got {delta!r}")
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
    singular = singular_curvature(hessian)
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
