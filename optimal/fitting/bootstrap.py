"""Bootstrap confidence intervals: thousands of refits on resampled rows as one batched, sharded program.

``bootstrap`` (rows or whole clusters) and ``bootstrap_groups`` (each group's own fit, resampled within the group)
are the entry points; both run the one compiled refit program of ``optimal.fitting.resample``. Resample r draws
its rows from ``fold_in(PRNGKey(seed), r)``, so it does not depend on chunking or on how many devices run it.
Each resample is refitted from several starts (the full-data optimum, other local minima, and screen points) and
keeps its best; a resample whose best start did not converge is retried once from more starts with a larger
budget, and what still fails counts as failed, is reported, and is left out of the intervals.

Across processes (``jax.distributed.initialize`` called in each, then ``bootstrap`` with the same arguments in each)
the mesh spans every process's devices: each process hands its own devices their share of the inputs, and the
refits are gathered so that every process returns all of them.
"""

import dataclasses
import warnings

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from ..allocation.allocate import allocate_law, check_budgets
from . import diagnostics
from ..errors import CoefficientsError, ConvergenceWarning, IdentifiabilityWarning, OptimalError, check_count
from ..allocation.extrapolation import FittedRange, extrapolation, has_interior_optimum
from ..laws.chinchilla import CHINCHILLA
from .fit import MAX_ITER, FitResult, build_problem, fit, fit_from_record
from ..analysis.predict import log_residuals
from .problem import expand, problem_evaluator
from .resample import Clusters, Strata, check_same_in_every_process, keep_better, per_call, place, refit_resamples
from .screen import screen
from .._util.jsonio import as_array, as_dict, as_number, field, read_json
from .solver import SolverConfig
from .._util.precision import float64_scope

_RETRY_STARTS = 16  # starts for a resample whose first refit did not converge
_RETRY_ITER_FACTOR = 4  # and its iteration budget, as a multiple of the first
MAX_FAILED_SHARE = 0.01  # above this share of failed resamples, a ConvergenceWarning
PARAMS = ("E", "A", "B", "alpha", "beta", "a", "b")
MAX_SEED = 2**32 - 1  # jax.random.PRNGKey wraps larger (and negative) seeds when float64 is off
MAX_RESAMPLES = 10**6  # hours of refits on a CPU; far past where percentile intervals stop moving


def derived_params(thetas, family=CHINCHILLA, group_labels=None) -> dict:
    """Natural values of every parameter from fitting-space draws (R, P) (Chinchilla: ``(e, a, b, alpha, beta)``),
    and, for a family with alpha and beta, the allocation exponents a = beta/(alpha+beta) (N* ~ C^a) and
    b = alpha/(alpha+beta) (D* ~ C^b) of its Chinchilla part. Draws of a joint fit (R, G, P) give names
    ``name[group]``."""
    thetas = np.asarray(thetas)
    if group_labels is not None:
        out = {}
        for g, label in enumerate(group_labels):
            out.update({f"{k}[{label}]": v for k, v in derived_params(thetas[:, g], family).items()})
        return out
    values = {k: np.asarray(v) for k, v in family.to_natural(thetas).items()}
    if "alpha" in values and "beta" in values:
        alpha, beta = values["alpha"], values["beta"]
        values.update(a=beta / (alpha + beta), b=alpha / (alpha + beta))
    return values


@float64_scope
def allocations(thetas, budgets, flops_per_param_token=6.0, max_tokens=None, max_params=None, family=CHINCHILLA,
                covariates=None):
    """Each draw's own compute-optimal allocation under the same k and caps as the point.

    Returns a dict of N, D, tokens_per_param, loss (floats), converged (bool) and bound (0 none, 1 the
    ``max_tokens`` cap binds, 2 the ``max_params`` cap binds), each of shape (draws, budgets). ``thetas``
    (draws, P) are fitting-space draws of ``family``; ``covariates`` its covariates for the laws (defaults
    otherwise, e.g. unlimited unique tokens).
    """
    thetas = jnp.asarray(thetas)
    budgets, k, log_d_max, log_n_max = check_budgets(budgets, flops_per_param_token, max_tokens, max_params, thetas.dtype)
    budgets = jnp.atleast_1d(budgets)
    result = jax.vmap(lambda th: allocate_law(family.law_from_theta(th, covariates), budgets, k, log_d_max,
                                              log_n_max))(thetas)
    return {"N": np.asarray(result.n_params), "D": np.asarray(result.n_tokens),
            "tokens_per_param": np.asarray(result.tokens_per_param), "loss": np.asarray(result.loss),
            "converged": np.asarray(result.converged), "bound": np.asarray(result.bound)}


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


def unbounded_interval(draws, confidence):
    """``{lo, hi, se}`` of draws in which +inf stands for "unreachable": a bound that depends on an unreachable
    draw is None (unbounded), never computed from the reachable draws alone (that would narrow it)."""
    draws = np.asarray(draws, dtype=np.float64)
    finite = np.isfinite(draws)
    if finite.all():
        return interval(draws, confidence)
    if len(draws) < 2 or not finite.any():
        return {"lo": None, "hi": None, "se": None}
    top = draws[finite].max()
    stand_in = np.where(finite, draws, 10 * abs(top) + 1)  # above every finite draw: same ranks as +inf
    lo, hi = percentile_bounds(stand_in, confidence)
    return {"lo": float(lo) if lo <= top else None, "hi": float(hi) if hi <= top else None, "se": None}


@dataclasses.dataclass(frozen=True)
class BootstrapResult:
    """Refits on resampled data.

    Attributes:
      thetas: ``(e, a, b, alpha, beta)`` of every resample's best refit, shape (R, 5).
      objectives (R,), converged (R,) bool, iterations (R,): per resample (iterations of its best start).
      n_failed: resamples whose best start did not converge, even when retried (left out of intervals, never
        silently: counted here, in ``warnings`` above ``MAX_FAILED_SHARE``, and in the summary and JSON).
      confidence: the interval level; seed: the PRNG seed; fit: the full-data ``FitResult``;
      groups: the group id of every row for a cluster bootstrap, else None.
      n_retried: resamples refitted a second time (more starts, a larger budget) because the first did not converge.
      resamples_per_device: how many real resamples each device refitted in the first pass.
    """

    thetas: np.ndarray
    objectives: np.ndarray
    converged: np.ndarray
    iterations: np.ndarray
    confidence: float
    seed: int
    fit: FitResult
    groups: np.ndarray | None = None
    n_retried: int = 0
    resamples_per_device: tuple = ()

    @property
    def n_resamples(self):
        return len(self.thetas)

    @property
    def n_failed(self):
        return int(np.sum(~self.converged))

    @property
    def warnings(self) -> list:
        """What makes these intervals less trustworthy, in words (empty when nothing does)."""
        return self.failure_warnings() + self.boundary_warnings()

    def failure_warnings(self) -> list:
        """Resamples left out because they did not converge, when more than ``MAX_FAILED_SHARE`` of them."""
        if self.n_failed <= MAX_FAILED_SHARE * self.n_resamples:
            return []
        return [f"{self.n_failed} of {self.n_resamples} resamples ({100 * self.n_failed / self.n_resamples:.1f}%) did not "
                f"converge even when retried from {_RETRY_STARTS} starts and are left out, which can narrow the "
                "intervals; the data may not identify the law (see the fit's warnings); try a larger max_iter"]

    def boundary_warnings(self) -> list:
        """Intervals that reach a boundary of what the law can express: E at 0, an exponent at the search's edge."""
        draws = self.good
        if len(draws) < 2:
            return []
        tail = (1 - self.confidence) / 2
        min_loss = float(np.min(self.fit.data[2]))
        found = []
        values = derived_params(draws, self.fit.family, self.fit.group_labels)
        for name in [k for k in values if k == "E" or k.startswith("E[")]:
            share = np.mean(values[name] < diagnostics.E_AT_ZERO * min_loss)
            if share > tail:
                found.append(f"{name}'s {100 * self.confidence:g}% interval reaches 0 ({100 * share:.0f}% of the draws "
                             f"have no irreducible loss): the runs do not identify {name}")
        if self.fit.group_labels is not None:
            return found
        for name, (_, hi) in self.fit.family.search_edges.items():  # the top of the range a fit searches
            if name in self.fit.fixed:
                continue
            share = np.mean(values[name] >= diagnostics.EXPONENT_EDGE * hi)
            if share > tail:
                found.append(f"{name}'s interval reaches the edge of the search range ({100 * share:.0f}% of the draws "
                             f"at {hi:g} or above): the runs do not identify it")
        return found

    @property
    def good(self):
        """The converged resamples' fitting-space coefficients, shape (R - n_failed, P) (or (.., G, P))."""
        return self.thetas[self.converged]

    def params(self):
        """``{name: {lo, hi, se}}`` for every parameter of the family (fixed ones have lo = hi), and a, b for a
        family with alpha and beta; ``name[group]`` for a joint fit."""
        return {name: interval(draws, self.confidence)
                for name, draws in derived_params(self.good, self.fit.family, self.fit.group_labels).items()}

    def group(self, label):
        """One group's draws of a joint fit, as an ungrouped ``BootstrapResult`` (its fit is ``fit.group(label)``)."""
        if self.fit.group_labels is None:
            return self
        g = list(self.fit.group_labels).index(label)
        return dataclasses.replace(self, thetas=self.thetas[:, g], fit=self.fit.group(label))

    def _laws(self, thetas, covariates=None):
        return self.fit.family.law_from_theta(jnp.asarray(thetas), covariates)

    def _check_ungrouped(self):
        if self.fit.group_labels is not None:
            raise OptimalError("a joint fit of several groups has one law per group: use .group(label) first")

    @float64_scope
    def allocation(self, budgets, flops_per_param_token=6.0, max_tokens=None, max_params=None):
        """Per budget (FLOPs), intervals from every converged draw's own allocation, computed with the same k
        and caps as the point: ``{compute, N, D, tokens_per_param, loss}``, each quantity a ``{lo, hi, se}``,
        and counts: ``n_draws``, ``n_at_cap`` (a cap binds), ``n_not_converged`` (the allocation solver did not
        converge) and ``n_no_interior`` (not converged, or N* or D* below one: no interior optimum). Draws
        at a cap or without an interior optimum stay in the intervals; they are counted, not dropped."""
        self._check_ungrouped()
        budgets = np.atleast_1d(np.asarray(budgets, dtype=np.float64))
        draws = allocations(self.good, budgets, flops_per_param_token, max_tokens, max_params, self.fit.family)
        converged, bound = draws.pop("converged"), draws.pop("bound")
        interior = has_interior_optimum(draws["N"], draws["D"], converged)
        return [
            {"compute": float(c), **{key: interval(values[:, i], self.confidence) for key, values in draws.items()},
             "n_draws": int(len(self.good)), "n_at_cap": int(np.sum(bound[:, i] != 0)),
             "n_not_converged": int(np.sum(~converged[:, i])), "n_no_interior": int(np.sum(~interior[:, i]))}
            for i, c in enumerate(budgets)
        ]

    @float64_scope
    def predict(self, n_params, n_tokens, covariates=None):
        """Intervals for the loss of runs at (N, D) (arrays of one shape).

        Returns ``{"mean": (lo, hi), "new_run": (lo, hi), "extrapolation": {...}}``: a confidence interval for the
        law's mean loss there,
        and a prediction interval for one new run's loss: each draw's mean plus a residual of the full-data fit
        (observed minus predicted log-loss, so a run that tends to land above the law lands above it here too)
        drawn at random. It is the wider of the two. ``extrapolation`` says how far (N, D) lie from the fitted
        runs: the decades of N x D beyond the largest run's (the same for compute at any k) and the decades N and
        D lie outside the fitted ranges. ``covariates``: the family's covariates at those runs (e.g. ``{"U": ..}``).
        """
        self._check_enough_draws()
        self._check_ungrouped()
        log_n, log_d = np.log(np.asarray(n_params, float)), np.log(np.asarray(n_tokens, float))
        laws = self._laws(self.good, covariates)
        mean = np.asarray(jax.vmap(lambda law: law.log_loss(jnp.asarray(log_n), jnp.asarray(log_d)))(laws))
        rng = np.random.default_rng(self.seed)
        noisy = mean - rng.choice(self.fit_residuals(), size=mean.shape)  # fit_residuals: predicted - observed
        bounds = lambda x: tuple(np.exp(percentile_bounds(x, self.confidence)))  # noqa: E731
        n, d, _, weights = self.fit.data
        far = extrapolation(FittedRange.from_runs(n, d, weights), np.exp(log_n + log_d), np.exp(log_n), np.exp(log_d), 1.0)
        return {"mean": bounds(mean), "new_run": bounds(noisy), "extrapolation": far}

    @float64_scope
    def fit_residuals(self):
        """The full-data fit's log-loss residuals, predicted minus observed, shape (n,)."""
        return -log_residuals(self.fit)

    @float64_scope
    def delta_method_se(self, budgets, flops_per_param_token=6.0):
        """Standard errors of N* and D* by the delta method: the gradient of log N*(C) with respect to the
        coefficients (``jax.grad`` through the solver) and the bootstrap covariance of the coefficients.
        Returns ``{"N": (budgets,), "D": (budgets,)}``."""
        self._check_enough_draws()
        self._check_ungrouped()
        budgets = check_budgets(budgets, flops_per_param_token)[0]
        cov = np.cov(self.good, rowvar=False)
        budgets = np.atleast_1d(np.asarray(budgets, dtype=np.float64))

        def log_allocation(theta, c):
            result = allocate_law(self._laws(theta), c, jnp.asarray(flops_per_param_token), jnp.inf, jnp.inf)
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

    def to_dict(self, budgets=(), flops_per_param_token=6.0, max_tokens=None, max_params=None):
        """The CLI's JSON: n_resamples, n_failed, n_retried, warnings, confidence, params, allocation (same k and
        caps as the point)."""
        return {"n_resamples": self.n_resamples, "n_failed": self.n_failed, "n_retried": self.n_retried,
                "warnings": self.warnings, "confidence": self.confidence,
                "seed": self.seed, "params": self.params(),
                "allocation": self.allocation(budgets, flops_per_param_token, max_tokens, max_params) if len(budgets) else []}

    def draws_record(self):
        """The draws, for a fit record (``load_bootstrap`` reads them back)."""
        flat = self.thetas.reshape(len(self.thetas), -1)  # a joint fit's (R, G, P) draws, flattened per draw
        return {"thetas": flat.tolist(), "converged": self.converged.tolist(), "confidence": self.confidence,
                "seed": self.seed, "objectives": [v if np.isfinite(v) else None for v in self.objectives.tolist()],
                "iterations": self.iterations.tolist()}


@float64_scope
def load_bootstrap(path, family=None):
    """The bootstrap draws saved in a fit record (``optimal fit --bootstrap B --save FIT.json``), or None when
    the record holds none (``family``: a user's own family, as for ``load_fit``). Raises ``CoefficientsError``
    for a malformed record."""
    record = read_json(path, "fit record")
    return bootstrap_from_record(record, fit_from_record(record, str(path), family), str(path))


def bootstrap_from_record(record, fit_result, source="fit record"):
    """The ``BootstrapResult`` of a parsed fit record's ``"bootstrap"`` draws (``draws_record``), or None when it
    holds none; ``fit_result`` is the record's fit (``fit_from_record``). Raises ``CoefficientsError``."""
    draws = record.get("bootstrap") if isinstance(record, dict) else None
    if draws is None:
        return None
    try:
        draws = as_dict(draws, "bootstrap")
        shape = np.shape(fit_result.theta)
        thetas = as_array(field(draws, "thetas", "bootstrap."), "thetas", ndim=2, width=int(np.prod(shape)), null=True)
        r = len(thetas)
        thetas = thetas.reshape((r,) + shape)
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
    """Warm starts for every resample, free vectors (n_starts, F): the full-data optimum, other distinct local
    minima of the full fit, then the best screen points (distinct basins) until there are ``n_starts`` (a joint
    fit of several groups has no screen of its own: its local minima only)."""
    chosen = list(result.local_minima(k=n_starts))
    weights, config = result.data[3], result.config
    if result.group_labels is None:
        struct, rows = result.problem()
        candidates = screen(result.family, struct, rows, jnp.asarray(weights, rows.log_n.dtype), 4 * n_starts,
                            config["delta"], config["robust"], config.get("n_samples", 4096), config["grid_size"])[0]
    else:
        candidates = []
    for candidate in candidates:
        if len(chosen) >= n_starts:
            break
        if all(np.max(np.abs(candidate - c)) > 1e-3 for c in chosen):
            chosen.append(candidate)
    return np.asarray(chosen)


def _check_resampling(n_resamples, seed, confidence, n_starts, max_iter, chunk_size):
    """The arguments every bootstrap takes, each in its range (``OptimalError`` naming the one that is not)."""
    check_count(n_resamples, "n_resamples", 2, MAX_RESAMPLES)
    check_count(seed, "seed", 0, MAX_SEED)
    _check_confidence(confidence)
    check_count(n_starts, "n_starts", 1)
    check_count(max_iter, "max_iter", 1, MAX_ITER)
    if chunk_size is not None:
        check_count(chunk_size, "chunk_size", 1)


def _warn_about(boot, prefix=""):
    """The bootstrap's failure and boundary warnings, each as its category."""
    for category, messages in ((ConvergenceWarning, boot.failure_warnings()), (IdentifiabilityWarning, boot.boundary_warnings())):
        for message in messages:
            warnings.warn(prefix + message, category, stacklevel=4)


@float64_scope
def bootstrap(runs, n_tokens=None, loss=None, *, n_resamples=4000, seed=0, confidence=0.95, groups=None,
              n_starts=4, max_iter=1000, chunk_size=None, devices=None, progress=None, **fit_options):
    """Bootstrap a fit (any family and constraints): refit ``n_resamples`` resamples of the rows (or of whole groups).

    Args:
      runs: a ``FitResult`` (its rows and settings are reused), or N (parameters, shape (n,)) with ``n_tokens``
        and ``loss`` given; then the data are fitted first with ``fit_options``.
      n_resamples: number of resamples R (2 to 10**6). seed: PRNG seed, an integer from 0 to 2**32 - 1 (same seed and
        backend -> identical results).
      confidence: level of the intervals. groups: optional (n,) labels; resample whole groups (cluster bootstrap).
      n_starts: starts refitted per resample (``starts_for_resamples``). max_iter: iteration budget per start.
      chunk_size: resamples per device per compiled call (default: from a memory budget). devices: the devices to shard
        resamples over (default: all, ``jax.devices()``; after ``jax.distributed.initialize`` that is every process's,
        and every process must then call ``bootstrap`` with the same arguments: each refits its devices' share and all
        return every draw). progress: optional callable ``progress(done, total)`` (each process reports its own calls).

    Returns:
      ``BootstrapResult``. Raises ``OptimalError`` naming an argument outside its range.
    """
    _check_resampling(n_resamples, seed, confidence, n_starts, max_iter, chunk_size)
    result = runs if isinstance(runs, FitResult) else fit(runs, n_tokens, loss, **fit_options)
    n, d, loss_values, weights = result.data
    dtype = np.dtype(result.config["dtype"])
    struct, data = result.problem()
    evaluate = problem_evaluator(result.family, struct)
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
    config = SolverConfig(result.config["delta"], result.config["robust"], int(max_iter), result.config["xtol"], evaluate)

    devices = list(devices or jax.devices())
    mesh = Mesh(np.asarray(devices), ("resamples",))
    chunk_size = per_call(chunk_size, len(starts), len(n))
    replicated = NamedSharding(mesh, PartitionSpec())
    key = jax.random.PRNGKey(seed)
    group_ids = jnp.asarray(group_ids)
    if not replicated.is_fully_addressable:
        check_same_in_every_process(starts, data, weights, group_ids, config[:4], n_resamples, seed, chunk_size,
                                    [d.id for d in devices])
    delta = jnp.asarray(config.delta, dtype)
    shared = place((starts, data, jnp.asarray(weights, dtype), (group_ids,), delta), replicated)
    plan = dict(mesh=mesh, resampler=Clusters(n_groups), n_rows=len(n), max_per_call=int(chunk_size))
    (thetas, objectives, converged, iterations), per_device = refit_resamples(
        np.arange(n_resamples), key, shared, config=config, n_starts=len(starts), progress=progress, **plan)

    # a resample that did not converge is refitted once more, from more starts and with a larger budget; what
    # still fails is counted, warned about and left out of the intervals, never silently
    failed = np.flatnonzero(~converged)
    if len(failed):
        more = jnp.asarray(starts_for_resamples(result, _RETRY_STARTS), dtype)
        retry_config = config._replace(max_iter=_RETRY_ITER_FACTOR * config.max_iter)
        retry_shared = place((more, data, jnp.asarray(weights, dtype), (group_ids,), delta), replicated)
        retried, _ = refit_resamples(failed, key, retry_shared, config=retry_config, n_starts=len(more), **plan)
        keep_better(failed, (thetas, objectives, converged, iterations), retried)
    thetas = np.asarray(expand(thetas, struct.select, struct.base))  # free vectors -> every group's parameters
    thetas = thetas[:, 0] if result.group_labels is None else thetas
    boot = BootstrapResult(thetas, objectives, converged, iterations, float(confidence), int(seed), result,
                           None if groups is None else np.asarray(group_ids), n_retried=len(failed),
                           resamples_per_device=tuple(int(x) for x in per_device))
    _warn_about(boot)
    return boot


@float64_scope
def bootstrap_groups(fits, *, n_resamples=4000, seed=0, confidence=0.95, n_starts=4, max_iter=1000, chunk_size=None,
                     devices=None, progress=None):
    """Bootstrap several groups' own fits as lanes of one compiled program: ``{label: BootstrapResult}``.

    ``fits`` is ``{label: FitResult}`` as ``fit(..., groups=labels)`` returns it (one law, constraints and settings
    for all). Resample r of group g redraws that group's rows alone (a stratified bootstrap: each group keeps its
    size) from ``fold_in(fold_in(PRNGKey(seed), r), g)`` (g the group's position in ``fits``), so its draws depend
    on neither the other groups' rows, nor chunking, nor the devices; they differ from
    ``bootstrap(fits[label], seed=seed)``'s draws (another stream), not in distribution. Every (resample, group,
    start) is a lane of the same solver program; a lane group that did not converge is retried as in ``bootstrap``.
    Arguments as in ``bootstrap``.
    """
    _check_resampling(n_resamples, seed, confidence, n_starts, max_iter, chunk_size)
    if not isinstance(fits, dict) or not fits or not all(isinstance(f, FitResult) for f in fits.values()):
        raise OptimalError("fits must be a non-empty {label: FitResult} dict, as fit(..., groups=labels) returns")
    labels, parts = list(fits), list(fits.values())
    first = parts[0]
    if any(p.family is not first.family or p.fixed != first.fixed or p.tied != first.tied or p.group_labels is not None
           or p.config != first.config for p in parts):
        raise OptimalError("bootstrap_groups needs the groups' own fits of one law with the same constraints and "
                           "settings (fit(..., groups=labels) without shared)")
    dtype = np.dtype(first.config["dtype"])
    sizes = np.asarray([p.n_rows for p in parts])
    first_row = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    n, d, loss_values, weights = (np.concatenate([np.asarray(p.data[i]) for p in parts]) for i in range(4))
    covariates = {k: np.concatenate([np.asarray(p.covariates[k]) for p in parts]) for k in first.covariates}
    struct, data = build_problem(first.family, (n, d, loss_values, weights), covariates, first.fixed, first.tied,
                                 (), None, None, dtype)  # the same problem, over every group's rows
    evaluate = problem_evaluator(first.family, struct)
    config = SolverConfig(first.config["delta"], first.config["robust"], int(max_iter), first.config["xtol"], evaluate)
    devices = list(devices or jax.devices())
    mesh = Mesh(np.asarray(devices), ("resamples",))
    replicated = NamedSharding(mesh, PartitionSpec())
    key = jax.random.PRNGKey(seed)
    n_max, g = int(sizes.max()), len(parts)

    def padded_starts(count):
        found = [starts_for_resamples(p, count) for p in parts]
        k = max(len(x) for x in found)
        return np.stack([np.vstack([x] + [x[:1]] * (k - len(x))) for x in found])  # a short list repeats its best

    def run(todo, starts, solver, show=None):
        shared = place((jnp.asarray(starts, dtype), data, jnp.asarray(weights, dtype),
                        (jnp.asarray(first_row), jnp.asarray(sizes)), jnp.asarray(solver.delta, dtype)), replicated)
        return refit_resamples(todo, key, shared, mesh=mesh, config=solver, resampler=Strata(g, n_max),
                               n_starts=starts.shape[1], n_rows=len(n),
                               max_per_call=per_call(chunk_size, starts.shape[1], len(n)), progress=show)

    todo = np.arange(n_resamples * g)
    (thetas, objectives, converged, iterations), per_device = run(todo, padded_starts(n_starts), config, progress)
    failed = np.flatnonzero(~converged)
    if len(failed):
        retry = config._replace(max_iter=_RETRY_ITER_FACTOR * config.max_iter)
        retried, _ = run(failed, padded_starts(_RETRY_STARTS), retry)
        keep_better(failed, (thetas, objectives, converged, iterations), retried)
    thetas = np.asarray(expand(thetas, struct.select, struct.base))[:, 0]
    out = {}
    for j, (label, part) in enumerate(zip(labels, parts)):
        mine = np.arange(j, len(todo), g)  # q = r G + j
        boot = BootstrapResult(thetas[mine], objectives[mine], converged[mine], iterations[mine], float(confidence),
                               int(seed), part, n_retried=int(np.isin(failed, mine).sum()))
        # (per_device counts (resample, group) lane groups of every group together: not one group's resamples)
        _warn_about(boot, f"[group {label}] ")
        out[label] = boot
    return out
