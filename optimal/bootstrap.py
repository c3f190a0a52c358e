"""Bootstrap confidence intervals: thousands of refits on resampled rows as one batched, sharded program.

Resample r draws its rows (or whole groups, for a cluster bootstrap) from ``fold_in(PRNGKey(seed), r)``, so
it does not depend on chunking or on how many devices run it. A resample is a vector of row multiplicities
used as weights, so every refit is a lane of ``optimal.solvers.polish_lanes`` with the same data and its own
weights. Each resample is refitted from several starts (the full-data optimum, other local minima, and screen
points) and keeps its best; a resample whose best start did not converge counts as failed, is reported, and
is left out of the intervals. Chunks of a fixed size keep memory bounded and compile once; within a chunk the
resample axis is sharded over every device with ``jax.sharding``.
"""

import dataclasses
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from .allocate import _allocate, check_budgets
from .errors import CoefficientsError, OptimalError, check_count
from .fit import MAX_ITER, FitResult, fit, fit_from_record, screen, theta_to_law
from .jsonio import as_array, as_dict, as_number, field, read_json
from .objective import residuals
from .solvers import SolverConfig, default_slots, polish_lanes
from .precision import float64_scope

_LANE_ROWS_PER_CHUNK = 2_000_000  # lanes x rows per compiled chunk: ~1 GiB of float64 intermediates
PARAMS = ("E", "A", "B", "alpha", "beta", "a", "b")
MAX_SEED = 2**32 - 1  # jax.random.PRNGKey wraps larger (and negative) seeds when float64 is off
MAX_RESAMPLES = 10**6  # hours of refits on a CPU; far past where percentile intervals stop moving


def derived_params(thetas) -> dict:
    """Coefficients from ``(e, a, b, alpha, beta)`` draws (..., 5): E, A, B, alpha, beta, and the allocation
    exponents a = beta/(alpha+beta) (N* ~ C^a) and b = alpha/(alpha+beta) (D* ~ C^b)."""
    thetas = np.asarray(thetas)
    alpha, beta = thetas[..., 3], thetas[..., 4]
    return {"E": np.exp(thetas[..., 0]), "A": np.exp(thetas[..., 1]), "B": np.exp(thetas[..., 2]), "alpha": alpha,
            "beta": beta, "a": beta / (alpha + beta), "b": alpha / (alpha + beta)}


@float64_scope
def allocations(thetas, budgets, flops_per_param_token=6.0):
    """Each draw's own compute-optimal allocation: dict of N, D, tokens_per_param, loss, each (draws, budgets)."""
    thetas = jnp.asarray(thetas)
    budgets = jnp.atleast_1d(jnp.asarray(budgets, thetas.dtype))
    k = jnp.asarray(flops_per_param_token, thetas.dtype)
    inf = jnp.asarray(jnp.inf, thetas.dtype)
    result = jax.vmap(lambda th: _allocate(theta_to_law(th), budgets, k, inf, inf))(thetas)
    return {"N": np.asarray(result.n_params), "D": np.asarray(result.n_tokens),
            "tokens_per_param": np.asarray(result.tokens_per_param), "loss": np.asarray(result.loss)}


def percentile_bounds(draws, confidence, axis=0):
    """The ``confidence`` percentile interval ``(lo, hi)`` of ``draws`` along ``axis``."""
    tail = 100 * (1 - confidence) / 2
    return tuple(np.percentile(draws, [tail, 100 - tail], axis=axis))


def interval(draws, confidence):
    """``{lo, hi, se}``: the percentile interval and the standard deviation of 1-D ``draws`` (None with < 2)."""
    if len(draws) < 2:
        return {"lo": None, "hi": None, "se": None}
    lo, hi = percentile_bounds(draws, confidence)
    return {"lo": float(lo), "hi": float(hi), "se": float(np.std(draws, ddof=1))}


@dataclasses.dataclass(frozen=True)
class BootstrapResult:
    """Refits on resampled data.

    Attributes:
      thetas: ``(e, a, b, alpha, beta)`` of every resample's best refit, shape (R, 5).
      objectives (R,), converged (R,) bool, iterations (R,): per resample (iterations of its best start).
      n_failed: resamples whose best start did not converge (left out of intervals, never silently).
      confidence: the interval level; seed: the PRNG seed; fit: the full-data ``FitResult``;
      residuals: the full-data fit's log-loss residuals (n,), for prediction intervals.
    """

    thetas: np.ndarray
    objectives: np.ndarray
    converged: np.ndarray
    iterations: np.ndarray
    confidence: float
    seed: int
    fit: FitResult
    groups: np.ndarray | None = None

    @property
    def n_resamples(self):
        return len(self.thetas)

    @property
    def n_failed(self):
        return int(np.sum(~self.converged))

    @property
    def good(self):
        """The converged resamples' coefficients, shape (R - n_failed, 5)."""
        return self.thetas[self.converged]

    def params(self):
        """``{name: {lo, hi, se}}`` for E, A, B, alpha, beta, a, b."""
        return {name: interval(draws, self.confidence) for name, draws in derived_params(self.good).items()}

    @float64_scope
    def allocation(self, budgets, flops_per_param_token=6.0):
        """Per budget (FLOPs): ``{compute, N, D, tokens_per_param, loss}``, each quantity a ``{lo, hi, se}``."""
        budgets = check_budgets(budgets, flops_per_param_token)[0]
        budgets = np.atleast_1d(np.asarray(budgets, dtype=np.float64))
        draws = allocations(self.good, budgets, flops_per_param_token)
        return [
            {"compute": float(c), **{key: interval(values[:, i], self.confidence) for key, values in draws.items()}}
            for i, c in enumerate(budgets)
        ]

    @float64_scope
    def predict(self, n_params, n_tokens):
        """Intervals for the loss of runs at (N, D) (arrays of one shape).

        Returns ``{"mean": (lo, hi), "new_run": (lo, hi)}``: a confidence interval for the law's mean loss there,
        and a prediction interval for one new run's loss, which adds a residual of the full-data fit drawn at
        random (so it is the wider of the two).
        """
        self._check_enough_draws()
        log_n, log_d = np.log(np.asarray(n_params, float)), np.log(np.asarray(n_tokens, float))
        laws = theta_to_law(self.good)
        mean = np.asarray(jax.vmap(lambda law: law.log_loss(jnp.asarray(log_n), jnp.asarray(log_d)))(laws))
        rng = np.random.default_rng(self.seed)
        noisy = mean + rng.choice(self.fit_residuals(), size=mean.shape)
        bounds = lambda x: tuple(np.exp(percentile_bounds(x, self.confidence)))  # noqa: E731
        return {"mean": bounds(mean), "new_run": bounds(noisy)}

    @float64_scope
    def fit_residuals(self):
        n, d, loss, _ = self.fit.data
        return np.asarray(residuals(jnp.asarray(self.fit.theta), jnp.log(n), jnp.log(d), jnp.log(loss)))

    @float64_scope
    def delta_method_se(self, budgets, flops_per_param_token=6.0):
        """Standard errors of N* and D* by the delta method: the gradient of log N*(C) with respect to the
        coefficients (``jax.grad`` through the solver) and the bootstrap covariance of the coefficients.
        Returns ``{"N": (budgets,), "D": (budgets,)}``."""
        self._check_enough_draws()
        budgets = check_budgets(budgets, flops_per_param_token)[0]
        cov = np.cov(self.good, rowvar=False)
        budgets = np.atleast_1d(np.asarray(budgets, dtype=np.float64))

        def log_allocation(theta, c):
            result = _allocate(theta_to_law(theta), c, jnp.asarray(flops_per_param_token), jnp.inf, jnp.inf)
            return jnp.log(result.n_params), jnp.log(result.n_tokens)

        theta = jnp.asarray(self.fit.theta)
        out = {"N": [], "D": []}
        for c in budgets:
            grads = jax.jacobian(log_allocation)(theta, jnp.asarray(c))
            values = log_allocation(theta, jnp.asarray(c))
            for key, g, v in zip(("N", "D"), grads, values):
                g = np.asarray(g)
                out[key].append(float(np.exp(v) * np.sqrt(g @ cov @ g)))
        return {k: np.asarray(v) for k, v in out.items()}

    def _check_enough_draws(self):
        if len(self.good) < 2:
            raise OptimalError(f"only {len(self.good)} of {self.n_resamples} bootstrap resamples converged; "
                               "intervals need at least 2")

    def to_dict(self, budgets=(), flops_per_param_token=6.0):
        """The CLI's JSON: n_resamples, n_failed, confidence, params, allocation."""
        return {"n_resamples": self.n_resamples, "n_failed": self.n_failed, "confidence": self.confidence,
                "seed": self.seed, "params": self.params(),
                "allocation": self.allocation(budgets, flops_per_param_token) if len(budgets) else []}

    def draws_record(self):
        """The draws, for a fit record (``load_bootstrap`` reads them back)."""
        return {"thetas": self.thetas.tolist(), "converged": self.converged.tolist(), "confidence": self.confidence,
                "seed": self.seed, "objectives": [v if np.isfinite(v) else None for v in self.objectives.tolist()],
                "iterations": self.iterations.tolist()}


@float64_scope
def load_bootstrap(path):
    """The bootstrap draws saved in a fit record (``optimal fit --bootstrap B --save FIT.json``), or None when
    the record holds none. Raises ``CoefficientsError`` for a malformed record."""
    record = read_json(path, "fit record")
    return bootstrap_from_record(record, fit_from_record(record, str(path)), str(path))


def bootstrap_from_record(record, fit_result, source="fit record"):
    """The ``BootstrapResult`` of a parsed fit record's ``"bootstrap"`` draws (``draws_record``), or None when it
    holds none; ``fit_result`` is the record's fit (``fit_from_record``). Raises ``CoefficientsError``."""
    draws = record.get("bootstrap") if isinstance(record, dict) else None
    if draws is None:
        return None
    try:
        draws = as_dict(draws, "bootstrap")
        thetas = as_array(field(draws, "thetas", "bootstrap."), "thetas", ndim=2, width=5, null=True)
        r = len(thetas)
        converged = as_array(field(draws, "converged", "bootstrap."), "converged", "bool", length=r)
        objectives = as_array(draws.get("objectives", [None] * r), "objectives", length=r, null=True)
        iterations = as_array(draws.get("iterations", [0] * r), "iterations", "int", length=r)
        confidence = _check_confidence(as_number(field(draws, "confidence", "bootstrap."), "confidence"))
        seed = check_count(field(draws, "seed", "bootstrap."), "seed", 0, MAX_SEED, error=CoefficientsError)
        if not np.all(np.isfinite(thetas[converged])):
            raise CoefficientsError("a converged draw has a non-finite coefficient")
    except OptimalError as exc:
        raise CoefficientsError(f"{source!r}: the bootstrap draws are malformed ({exc}); save the fit again") from None
    return BootstrapResult(thetas, objectives, converged, iterations, confidence, seed, fit_result)


def _check_confidence(confidence):
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float, np.floating)) or not 0 < confidence < 1:
        raise OptimalError(f"confidence must be a number between 0 and 1 (e.g. 0.95), got {confidence!r}")
    return float(confidence)


@float64_scope
def starts_for_resamples(result: FitResult, n_starts=4):
    """Warm starts for every resample, shape (n_starts, 5): the full-data optimum, other distinct local minima
    of the full fit, then the best screen points (distinct basins) until there are ``n_starts``."""
    chosen = list(result.local_minima(k=n_starts))
    n, d, loss, weights = result.data
    data = tuple(jnp.log(jnp.asarray(x)) for x in (n, d, loss))
    for candidate in screen(data, jnp.asarray(weights), result.config["grid_size"], 4 * n_starts, result.config["delta"]):
        if len(chosen) >= n_starts:
            break
        if all(np.max(np.abs(candidate - c)) > 1e-3 for c in chosen):
            chosen.append(candidate)
    return np.asarray(chosen)


def _refit_chunk(key, indices, starts, data, base_weights, groups, config, n_groups):
    """Refit resamples ``indices`` (R,) from every start (K, 5); returns best theta (R, 5), objective, converged,
    iterations."""
    k = starts.shape[0]

    def resample_weights(r):
        drawn = jax.random.randint(jax.random.fold_in(key, r), (n_groups,), 0, n_groups)
        return jnp.bincount(drawn, length=n_groups)[groups].astype(base_weights.dtype) * base_weights

    weights = jax.vmap(resample_weights)(indices)  # (R, n)
    lanes = polish_lanes(jnp.tile(starts, (indices.shape[0], 1)), data, jnp.repeat(weights, k, axis=0), config)
    objective = jnp.where(lanes.converged & jnp.isfinite(lanes.objective), lanes.objective, jnp.inf).reshape(-1, k)
    best = jnp.argmin(objective, axis=1)
    pick = lambda x: jnp.take_along_axis(x.reshape(-1, k, *x.shape[1:]), best.reshape((-1, 1) + (1,) * (x.ndim - 1)), 1)[:, 0]  # noqa: E731
    return pick(lanes.theta), pick(lanes.objective), pick(lanes.converged), pick(lanes.iterations)


@functools.lru_cache(maxsize=16)
def _sharded_refit(mesh, config, n_groups):
    """``_refit_chunk`` compiled with its resample axis split over ``mesh``. Every device runs the same program
    on its own resamples (``shard_map``), so the draws do not depend on the number of devices."""
    replicated, split = PartitionSpec(), PartitionSpec("resamples")
    local = functools.partial(_refit_chunk, config=config, n_groups=n_groups)
    return jax.jit(jax.shard_map(local, mesh=mesh, in_specs=(replicated, split, replicated, replicated, replicated,
                                                                replicated), out_specs=split, check_vma=False))


@float64_scope
def bootstrap(runs, n_tokens=None, loss=None, *, n_resamples=4000, seed=0, confidence=0.95, groups=None,
              n_starts=4, max_iter=100, chunk_size=None, devices=None, progress=None, **fit_options):
    """Bootstrap the Chinchilla fit: refit ``n_resamples`` resamples of the rows (or of whole groups).

    Args:
      runs: a ``FitResult`` (its rows and settings are reused), or N (parameters, shape (n,)) with ``n_tokens``
        and ``loss`` given; then the data are fitted first with ``fit_options``.
      n_resamples: number of resamples R (2 to 10**6). seed: PRNG seed, an integer from 0 to 2**32 - 1 (same seed and
        backend -> identical results).
      confidence: level of the intervals. groups: optional (n,) labels; resample whole groups (cluster bootstrap).
      n_starts: starts refitted per resample (``starts_for_resamples``). max_iter: iteration budget per start.
      chunk_size: resamples per device per compiled call (default: from a memory budget). devices: the devices to shard
        resamples over (default: all). progress: optional callable ``progress(done, total)``.

    Returns:
      ``BootstrapResult``. Raises ``OptimalError`` naming an argument outside its range.
    """
    check_count(n_resamples, "n_resamples", 2, MAX_RESAMPLES)
    check_count(seed, "seed", 0, MAX_SEED)
    _check_confidence(confidence)
    check_count(n_starts, "n_starts", 1)
    check_count(max_iter, "max_iter", 1, MAX_ITER)
    if chunk_size is not None:
        check_count(chunk_size, "chunk_size", 1)
    result = runs if isinstance(runs, FitResult) else fit(runs, n_tokens, loss, **fit_options)
    n, d, loss_values, weights = result.data
    dtype = np.dtype(result.config["dtype"])
    data = tuple(jnp.asarray(np.log(x), dtype) for x in (n, d, loss_values))
    if groups is None:
        group_ids, n_groups = np.arange(len(n)), len(n)
    else:
        labels = np.asarray(groups)
        if labels.shape != (len(n),):
            raise OptimalError(f"groups must have one label per row ({len(n)}), got shape {labels.shape}")
        _, group_ids = np.unique(labels, return_inverse=True)
        n_groups = int(group_ids.max()) + 1
        if n_groups < 2:
            raise OptimalError("a cluster bootstrap needs at least 2 groups")
    starts = jnp.asarray(starts_for_resamples(result, n_starts), dtype)
    config = SolverConfig(result.config["delta"], result.config["robust"], int(max_iter), result.config["xtol"])

    devices = list(devices or jax.devices())
    mesh = Mesh(np.asarray(devices), ("resamples",))
    sharding = NamedSharding(mesh, PartitionSpec("resamples"))
    if chunk_size is None:
        chunk_size = max(1, _LANE_ROWS_PER_CHUNK // (len(starts) * len(n)))
    # XLA's arithmetic for a lane can depend on the shape of the arrays it runs in: every device gets a whole
    # number of full solver slot arrays per call, so every lane runs in arrays of the same shape whatever the
    # chunking and device count, and the draws are identical bit for bit
    slots = default_slots()
    per_block = slots // math.gcd(slots, len(starts))
    per_device = math.ceil(n_resamples / len(devices))
    per_device = math.ceil(per_device / math.ceil(per_device / int(chunk_size)))  # equal chunks, least padding
    chunk_size = math.ceil(per_device / per_block) * per_block * len(devices)
    key = jax.random.PRNGKey(seed)
    replicated = NamedSharding(mesh, PartitionSpec())
    shared = jax.device_put((starts, data, jnp.asarray(weights, dtype), jnp.asarray(group_ids)), replicated)

    refit = _sharded_refit(mesh, config, n_groups)
    outputs = []
    for start in range(0, n_resamples, chunk_size):
        indices = np.arange(start, start + chunk_size)  # the last chunk is padded, and the padding dropped
        indices = jax.device_put(jnp.asarray(indices, jnp.uint32), sharding)
        outputs.append([np.asarray(x) for x in refit(key, indices, *shared)])
        if progress is not None:
            progress(min(start + chunk_size, n_resamples), n_resamples)
    thetas, objectives, converged, iterations = (np.concatenate(parts)[:n_resamples] for parts in zip(*outputs))
    return BootstrapResult(thetas.astype(np.float64), objectives.astype(np.float64), converged.astype(bool),
                           iterations, float(confidence), int(seed), result, None if groups is None else group_ids)
