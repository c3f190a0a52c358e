"""Bootstrap confidence intervals: thousands of refits on resampled rows as one batched, sharded program.

``bootstrap`` (rows or whole clusters) and ``bootstrap_groups`` (each group's own fit, resampled within the group)
are the entry points; both run the one compiled refit program of ``optimal.fitting.resample``. Resample r draws
its rows from ``fold_in(PRNGKey(seed), r)``, so it does not depend on chunking or on how many devices run it.
Each resample is refitted from the full-data optimum alone, and its objective is evaluated (unpolished) at the
other candidate starts (other local minima of the full fit, screen points: ``starts_for_resamples``). A resample
whose refit did not converge, or at one of whose candidates the objective is already lower than at its polished
refit (a worse basin), is refitted from every candidate and keeps its best; one that still did not converge is
retried once from more starts with a larger budget, and what still fails counts as failed, is reported, and is
left out of the intervals. ``BootstrapResult.n_retried`` counts the resamples that took more than the one start.

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

from . import diagnostics
from ..data.groups import encode_groups
from ..errors import ConvergenceWarning, IdentifiabilityWarning, OptimalError, check_confidence, check_count
from ..laws.chinchilla import CHINCHILLA
from .fit import MAX_ITER, FitResult, build_problem
from .problem import expand, problem_evaluator, residuals
from .resample import (WILD_WEIGHTS, Clusters, Strata, Wild, check_same_in_every_process, cluster_adjusted_residuals,
                       keep_better, per_call, place, refit_resamples)
from .screen import screen
from .solver import SolverConfig
from .._util.precision import float64_scope
from .._util.stats import few_draws_message, interval
from .._util.warn import warn
from .._util.results import Issue, Judged, Status, issues
from .._util.text import format_table, or_na
from .groups import GroupBootstraps, GroupFits

_FIRST_STARTS = 1  # candidates every resample is refitted from (the full-data optimum); benchmarks/refit_check.py
# sets it to n_starts to measure the program it replaced (every candidate for every resample)
_LOWER_RTOL = 1e-9  # a candidate's objective below the refit's by more than this (relative): a worse basin
_RETRY_STARTS = 16  # starts for a resample that did not converge even from every candidate
_RETRY_ITER_FACTOR = 4  # and its iteration budget, as a multiple of the first
MAX_FAILED_SHARE = 0.01  # above this share of failed resamples, a ConvergenceWarning
WILD_MAX_BEYOND_DELTA = 0.5  # a wild bootstrap of a fit with more of its residuals beyond delta: a warning
PARAMS = ("E", "A", "B", "alpha", "beta", "a", "b")
MAX_SEED = 2**32 - 1  # jax.random.PRNGKey wraps larger (and negative) seeds when float64 is off
MAX_RESAMPLES = 10**6  # hours of refits on a CPU; far past where percentile intervals stop moving


def group_seed(seed, position):
    """The seed of the group at ``position`` (0, 1, ...) when each group is bootstrapped on its own: ``seed`` moved by
    the position (modulo 2**32), so that groups of equal size are not redrawn with the same rows or weights."""
    return (int(seed) + int(position)) % (MAX_SEED + 1)


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




@dataclasses.dataclass(frozen=True)
class Refit:
    """How ``bootstrap`` and ``bootstrap_groups`` refit every resample.

    Attributes:
      n_starts: candidate starts (``starts_for_resamples``: the full-data optimum, other local minima, screen
        points), an integer >= 1. Every resample is refitted from the first and checked at the others; one whose
        refit did not converge or landed in a worse basin than a candidate shows is refitted from all of them.
      max_iter: iteration budget of each start, 1 to ``optimal.fitting.fit.MAX_ITER`` (a resample that still did
        not converge is retried from 16 starts with 4 x this budget).
      chunk_size: resamples per device per compiled call, an integer >= 1; None: as many as fit a memory budget.
        It changes neither the draws nor the refits, only how many calls run them.

    Raises ``OptimalError`` naming a setting outside its range.
    """

    n_starts: int = 4
    max_iter: int = 1000
    chunk_size: int | None = None

    def __post_init__(self):
        check_count(self.n_starts, "n_starts", 1)
        check_count(self.max_iter, "max_iter", 1, MAX_ITER)
        if self.chunk_size is not None:
            check_count(self.chunk_size, "chunk_size", 1)


@dataclasses.dataclass(frozen=True)
class BootstrapResult(Judged):
    """Refits on resampled data.

    Attributes:
      thetas: ``(e, a, b, alpha, beta)`` of every resample's best refit, shape (R, 5).
      objectives (R,), converged (R,) bool, iterations (R,): per resample (iterations of its best start).
      n_failed: resamples whose best start did not converge, even when retried (left out of intervals, never
        silently: counted here, in ``warnings`` above ``MAX_FAILED_SHARE``, and in the summary and JSON).
      confidence: the interval level; seed: the PRNG seed; fit: the full-data ``FitResult``;
      groups: the group id of every row for a cluster bootstrap, else None.
      n_retried: resamples refitted from more starts than the full-data optimum: their refit did not converge or
        landed in a worse basin than another candidate start shows (``Refit``).
      resamples_per_device: how many real resamples each device refitted in the first pass.
      wild: None (rows or clusters resampled), or the weights of a wild bootstrap ("rademacher", "webb"): every row
        kept, its log-loss redrawn as fitted + w x residual, one weight per cluster (``groups``) or per row.
      beyond_delta: for a wild bootstrap of a Huber-type fit, the share of rows whose residual lies beyond delta
        (in the loss's linear part); above ``WILD_MAX_BEYOND_DELTA`` a warning (the intervals come out narrow).
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
    wild: str | None = None
    beyond_delta: float | None = None

    @property
    def n_resamples(self):
        return len(self.thetas)

    @property
    def n_failed(self):
        return int(np.sum(~self.converged))

    @property
    def warnings(self) -> tuple:
        """What makes these intervals less trustworthy (empty when nothing does), each an ``Issue``: resamples left
        out ("failed-resamples"), intervals at a boundary of the law ("not-identified")."""
        found = issues(self.failure_warnings(), "failed-resamples") + issues(self.boundary_warnings(), "not-identified")
        few = few_draws_message(len(self.good), self.confidence)
        found += issues([few] if few else [], "few-draws")
        if self.beyond_delta is not None and self.beyond_delta > WILD_MAX_BEYOND_DELTA:
            found += issues([f"{100 * self.beyond_delta:.0f}% of the residuals lie beyond the Huber threshold delta = "
                             f"{self.fit.config['delta']:g}, where the fit is close to least absolute deviations: "
                             "there the wild bootstrap's intervals come out too narrow (measured: 80% intervals "
                             "covered 55-70% of 40 synthetic data sets); refit with delta near the residuals' size, "
                             "or use the pairs or cluster bootstrap (wild=None)"], "wild-near-l1")
        return found

    @property
    def status(self) -> Status:
        """SUCCESS when every resample converged, PARTIAL when some failed (counted, left out of the intervals),
        FAILED when fewer than 2 converged (no interval)."""
        if len(self.good) < 2:
            return Status.FAILED
        return Status.PARTIAL if self.n_failed else Status.SUCCESS

    @property
    def notes(self) -> tuple:
        """How the resamples were drawn and refitted: clusters, retries."""
        found = []
        if self.wild is not None:
            unit = "row" if self.groups is None else f"cluster ({len(np.unique(self.groups))} clusters)"
            found.append(Issue("wild", f"a wild bootstrap: every row kept, its log-loss redrawn as fitted + w x "
                                       f"residual with {self.wild} weights w, one per {unit}"))
        elif self.groups is not None:
            found.append(Issue("clusters", f"a cluster bootstrap: whole clusters resampled "
                                           f"({len(np.unique(self.groups))} clusters)"))
        if self.n_retried:
            found.append(Issue("retried", f"{self.n_retried} resamples refitted from more starts (not converged or in a "
                                          "worse basin from the full-data optimum)"))
        return tuple(found)

    def summary(self) -> str:
        """The intervals as the command line prints them: resamples, a table of every coefficient's lo, hi and se,
        and the warnings."""
        level = f"{100 * self.confidence:g}%"
        kind = "" if self.wild is None else f" wild ({self.wild})"
        lines = [f"bootstrap: {self.n_resamples}{kind} resamples, {self.n_retried} refitted from more starts than the "
                 f"full-data optimum, {self.n_failed} failed (left out), {level} percentile intervals"]
        rows = [[name, or_na(v["lo"], ".5g"), or_na(v["hi"], ".5g"), or_na(v["se"], ".3g")]
                for name, v in self.params().items()]
        lines.append(format_table(["coefficient", "lo", "hi", "se"], rows))
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def failure_warnings(self) -> list:
        """Resamples left out because they did not converge, when more than ``MAX_FAILED_SHARE`` of them."""
        if self.n_failed <= MAX_FAILED_SHARE * self.n_resamples:
            return []
        return [f"{self.n_failed} of {self.n_resamples} resamples ({100 * self.n_failed / self.n_resamples:.1f}%) did not "
                f"converge even when retried from {_RETRY_STARTS} starts and are left out, which can narrow the "
                "intervals; the data may not identify the law (see the fit's warnings); try a larger max_iter"]

    @property
    def unbounded(self) -> dict:
        """``{parameter: "above" | "below" | "both"}``: the parameters the fit's profile found unbounded (the
        objective stays within its 95% threshold to the end of the profile's grid in that direction); their
        intervals end where the refits stopped, not where the data bound them."""
        return dict(self.fit.diagnostics.get("unbounded", {}))

    def boundary_warnings(self) -> list:
        """Intervals that reach a boundary of what the law can express: a parameter the fit's profile found unbounded,
        E at 0, an exponent at the search's edge."""
        draws = self.good
        if len(draws) < 2:
            return []
        tail = (1 - self.confidence) / 2
        min_loss = float(np.min(self.fit.data[2]))
        found = [f"{name} is unbounded {direction} (the fit's profile stays within its 95% threshold to the end of "
                 f"its grid): its interval is where the refits stopped, not a bound the data set"
                 for name, direction in self.unbounded.items()]
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

    def to_dict(self):
        """The JSON summary: n_resamples, n_failed, n_retried, warnings, unbounded, confidence, seed, params (the allocation of
        the draws at budgets is ``optimal.allocation.draws.bootstrap_to_dict``)."""
        found = {"n_resamples": self.n_resamples, "n_failed": self.n_failed, "n_retried": self.n_retried,
                 "warnings": self.warnings, "unbounded": self.unbounded, "confidence": self.confidence,
                 "seed": self.seed, "params": self.params()}
        if self.wild is not None:
            found["wild"] = self.wild
        return found



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


def _check_resampling(n_resamples, seed, confidence, refit):
    """The arguments every bootstrap takes, each in its range (``OptimalError`` naming the one that is not)."""
    check_count(n_resamples, "n_resamples", 2, MAX_RESAMPLES)
    check_count(seed, "seed", 0, MAX_SEED)
    check_confidence(confidence)
    if not isinstance(refit, Refit):
        raise OptimalError(f"refit must be an optimal.Refit(n_starts=, max_iter=, chunk_size=), not "
                           f"{type(refit).__name__}")


def _warn_about(boot, prefix=""):
    """The bootstrap's failure and boundary warnings, each as its category."""
    for category, messages in ((ConvergenceWarning, boot.failure_warnings()), (IdentifiabilityWarning, boot.boundary_warnings())):
        for message in messages:
            warn(prefix + message, category)


def _refit_checked(run, todo, candidates, more, config, progress):
    """The refit program of every bootstrap mode: resamples ``todo`` (an ``arange``) refitted from the first of
    ``candidates`` (..., K, F) and checked at the others; those whose refit did not converge or has a higher
    objective than a candidate's (unpolished) refitted from every candidate; those still not converged from
    ``more()`` starts with ``_RETRY_ITER_FACTOR`` x the budget. Each keeps its best (``keep_better``).

    ``run(todo, starts, probes, config, progress)`` is ``refit_resamples`` on the mode's data. Returns (theta,
    objective, converged, iterations) in the order of ``todo``, the first pass's resamples per device, and the
    positions in ``todo`` of the resamples that took more than the first start (``n_retried`` counts them).
    """
    first, others = candidates[..., :_FIRST_STARTS, :], candidates[..., _FIRST_STARTS:, :]
    none = candidates[..., :0, :]
    outputs, per_device = run(todo, first, others, config, progress)
    _, objective, converged, _, lowest = outputs
    # lowest is inf where nothing was probed; a candidate below the polished refit lies in a lower basin
    worse = lowest < objective - _LOWER_RTOL * np.abs(objective)
    retried = np.flatnonzero(~converged | worse)
    if others.shape[-2] and len(retried):
        keep_better(retried, outputs, run(todo[retried], candidates, none, config, None)[0])
    failed = np.flatnonzero(~converged)
    if len(failed):
        retry = config._replace(max_iter=_RETRY_ITER_FACTOR * config.max_iter)
        keep_better(failed, outputs, run(todo[failed], more(), none, retry, None)[0])
    return outputs[:4], per_device, np.union1d(retried, failed)


def _devices(devices, progress):
    """The devices to shard over as a list (default: ``jax.devices()``), each checked, and ``progress`` checked to
    be None or callable: ``devices="gpu"`` was an ``AttributeError`` from inside jax, ``progress=3`` a ``TypeError``
    after the first chunk."""
    if progress is not None and not callable(progress):
        raise OptimalError(f"progress must be None or a callable progress(done, total), got {type(progress).__name__}")
    try:
        found = [devices] if isinstance(devices, jax.Device) else list(devices or jax.devices())  # empty: all, as ever
    except (TypeError, ValueError):
        found = None
    if isinstance(devices, str) or not found or not all(isinstance(d, jax.Device) for d in found):
        raise OptimalError(f"devices must be a list of jax devices (e.g. jax.devices()[:2]), got {devices!r:.60}")
    return found


@float64_scope
def bootstrap(result, *, n_resamples=4000, seed=0, confidence=0.95, groups=None, refit=Refit(), devices=None,
              progress=None, wild=None):
    """Bootstrap a fit (any family and constraints): refit ``n_resamples`` resamples of its rows (or of whole groups).

    Args:
      result: the ``FitResult`` of ``optimal.fit`` (its rows, family, constraints and settings are reused).
      n_resamples: number of resamples R (2 to 10**6). seed: PRNG seed, an integer from 0 to 2**32 - 1 (same seed and
        backend -> identical results).
      confidence: level of the intervals. groups: optional (n,) labels; resample whole groups (cluster bootstrap),
        or with ``wild``, one weight per group.
      refit: a ``Refit``: candidate starts, iteration budget and chunk size of the refits.
      devices: the devices to shard resamples over (default: all, ``jax.devices()``; after
        ``jax.distributed.initialize`` that is every process's, and every process must then call ``bootstrap`` with
        the same arguments: each refits its devices' share and all return every draw). progress: optional callable
        ``progress(done, total)`` over the first pass (each process reports its own calls).
      wild: None (the default: rows, or whole ``groups``, drawn with replacement), or "rademacher" or "webb": a wild
        bootstrap (``optimal.fitting.resample.Wild``): every row kept with its N, D and weight, its log-loss redrawn
        as ``fitted + w x (observed - fitted)`` at the fit's optimum, with one weight w per group of ``groups``
        (the wild cluster bootstrap of Cameron, Gelbach and Miller 2008) or per row, drawn from
        ``WILD_WEIGHTS[wild]`` (Rademacher +-1; Webb's six points for few clusters).

    Returns:
      ``BootstrapResult``. Raises ``OptimalError`` when ``result`` is not a ``FitResult`` or an argument is outside
      its range.
    """
    if wild is not None and (not isinstance(wild, str) or wild not in WILD_WEIGHTS):
        raise OptimalError(f"wild must be None or one of {', '.join(WILD_WEIGHTS)} (the weights of a wild bootstrap), "
                           f"not {wild!r:.40}")
    if not isinstance(result, FitResult):
        raise OptimalError(f"bootstrap takes the FitResult of a fit, not {type(result).__name__}: call "
                           "optimal.fit(n_params, n_tokens, loss, ...) first and pass its result")
    _check_resampling(n_resamples, seed, confidence, refit)
    n, d, loss_values, weights = result.data
    dtype = np.dtype(result.config["dtype"])
    struct, data = result.problem()
    evaluate = problem_evaluator(result.family, struct)
    if groups is None:
        group_ids, n_groups = np.arange(len(n)), len(n)
    else:
        names, group_ids = encode_groups(groups, len(n))  # the one encoder: labels as text, sorted
        n_groups = len(names)
        if n_groups < 2:
            raise OptimalError("a cluster bootstrap needs at least 2 groups")
    candidates = starts_for_resamples(result, refit.n_starts)
    config = SolverConfig(result.config["delta"], result.config["robust"], refit.max_iter, result.config["xtol"],
                          evaluate)

    devices = _devices(devices, progress)
    mesh = Mesh(np.asarray(devices), ("resamples",))
    replicated = NamedSharding(mesh, PartitionSpec())
    key = jax.random.PRNGKey(seed)
    group_ids = jnp.asarray(group_ids)
    if not replicated.is_fully_addressable:
        check_same_in_every_process(candidates, data, weights, group_ids, config[:4], n_resamples, seed,
                                    refit.chunk_size, [d.id for d in devices])
    delta = jnp.asarray(config.delta, dtype)
    beyond_delta = None
    if wild is None:
        resampler, draw = Clusters(n_groups), (group_ids,)
    else:  # the fitted log-loss of every row at the full-data optimum (free vector), and the adjusted residuals
        z = jnp.asarray(result.theta if result.free is None else result.free, dtype)
        jacobian, predicted_minus_observed = jax.jacfwd(lambda x: (residuals(result.family, x, data),) * 2,
                                                        has_aux=True)(z)
        fitted = predicted_minus_observed + data.log_loss
        adjusted = cluster_adjusted_residuals(jacobian, -predicted_minus_observed, weights, group_ids)
        resampler, draw = Wild(n_groups, wild), (group_ids, fitted, jnp.asarray(adjusted, dtype))
        if result.config["robust"] != "squared":
            beyond = np.abs(np.asarray(predicted_minus_observed)) > result.config["delta"]
            beyond_delta = float(np.mean(beyond[np.asarray(weights) > 0]))

    def run(todo, starts, probes, solver, show):
        shared = place((jnp.asarray(starts, dtype), jnp.asarray(probes, dtype), data, jnp.asarray(weights, dtype),
                        draw, delta), replicated)
        return refit_resamples(todo, key, shared, mesh=mesh, config=solver, resampler=resampler,
                               n_starts=starts.shape[-2], n_rows=len(n),
                               max_per_call=per_call(refit.chunk_size, starts.shape[-2], len(n)), progress=show)

    (thetas, objectives, converged, iterations), per_device, retried = _refit_checked(
        run, np.arange(n_resamples), candidates, lambda: starts_for_resamples(result, _RETRY_STARTS), config, progress)
    thetas = np.asarray(expand(thetas, struct.select, struct.base))  # free vectors -> every group's parameters
    thetas = thetas[:, 0] if result.group_labels is None else thetas
    boot = BootstrapResult(thetas, objectives, converged, iterations, float(confidence), int(seed), result,
                           None if groups is None else np.asarray(group_ids), n_retried=len(retried),
                           resamples_per_device=tuple(int(x) for x in per_device), wild=wild,
                           beyond_delta=beyond_delta)
    _warn_about(boot)
    return boot


@float64_scope
def bootstrap_groups(fits, *, n_resamples=4000, seed=0, confidence=0.95, refit=Refit(), devices=None, progress=None,
                     wild=None):
    """Bootstrap several groups' own fits as lanes of one compiled program: a ``GroupBootstraps``
    (``{label: BootstrapResult}``).

    ``fits`` is a ``GroupFits`` as ``fit_groups(..., groups=labels)`` returns it (or a ``{label: FitResult}`` dict) (one law, constraints and settings
    for all). Resample r of group g redraws that group's rows alone (a stratified bootstrap: each group keeps its
    size) from ``fold_in(fold_in(PRNGKey(seed), r), g)`` (g the group's position in ``fits``), so its draws depend
    on neither the other groups' rows, nor chunking, nor the devices; they differ from
    ``bootstrap(fits[label], seed=seed)``'s draws (another stream), not in distribution. Every (resample, group,
    start) is a lane of the same solver program, refitted and checked as in ``bootstrap`` (each group from its own
    candidate starts). Arguments as in ``bootstrap``.

    With ``wild`` (every row kept, so each group keeps its size anyway) the group at position g is
    ``bootstrap(fits[label], seed=group_seed(seed, g), wild=wild)`` itself, one program per group: a seed of its own,
    so that groups of equal size are not redrawn with the same weights.
    """
    _check_resampling(n_resamples, seed, confidence, refit)
    if not isinstance(fits, (dict, GroupFits)) or not fits or not all(isinstance(f, FitResult) for f in fits.values()):
        raise OptimalError("fits must be a non-empty GroupFits (as fit_groups returns) or {label: FitResult} dict")
    labels, parts = list(fits), list(fits.values())
    first = parts[0]
    if any(p.family is not first.family or p.fixed != first.fixed or p.tied != first.tied or p.group_labels is not None
           or p.config != first.config for p in parts):
        raise OptimalError("bootstrap_groups needs the groups' own fits of one law with the same constraints and "
                           "settings (fit(..., groups=labels) without shared)")
    if wild is not None:
        out = {}
        for g, (label, part) in enumerate(zip(labels, parts)):
            shown = None if progress is None else (
                lambda done, total, g=g: progress(g * total + done, len(parts) * total))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # warned below, with the group's label
                out[label] = bootstrap(part, n_resamples=n_resamples, seed=group_seed(seed, g),
                                       confidence=confidence, refit=refit, devices=devices, progress=shown, wild=wild)
            _warn_about(out[label], f"[group {label}] ")
        return GroupBootstraps(out)
    dtype = np.dtype(first.config["dtype"])
    sizes = np.asarray([p.n_rows for p in parts])
    first_row = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    n, d, loss_values, weights = (np.concatenate([np.asarray(p.data[i]) for p in parts]) for i in range(4))
    covariates = {k: np.concatenate([np.asarray(p.covariates[k]) for p in parts]) for k in first.covariates}
    struct, data = build_problem(first.family, (n, d, loss_values, weights), covariates, first.fixed, first.tied,
                                 (), None, None, dtype)  # the same problem, over every group's rows
    evaluate = problem_evaluator(first.family, struct)
    config = SolverConfig(first.config["delta"], first.config["robust"], refit.max_iter, first.config["xtol"], evaluate)
    devices = _devices(devices, progress)
    mesh = Mesh(np.asarray(devices), ("resamples",))
    replicated = NamedSharding(mesh, PartitionSpec())
    key = jax.random.PRNGKey(seed)
    n_max, g = int(sizes.max()), len(parts)

    def padded_starts(count):
        found = [starts_for_resamples(p, count) for p in parts]
        k = max(len(x) for x in found)
        return np.stack([np.vstack([x] + [x[:1]] * (k - len(x))) for x in found])  # a short list repeats its best

    def run(todo, starts, probes, solver, show):
        shared = place((jnp.asarray(starts, dtype), jnp.asarray(probes, dtype), data, jnp.asarray(weights, dtype),
                        (jnp.asarray(first_row), jnp.asarray(sizes)), jnp.asarray(solver.delta, dtype)), replicated)
        return refit_resamples(todo, key, shared, mesh=mesh, config=solver, resampler=Strata(g, n_max),
                               n_starts=starts.shape[-2], n_rows=len(n),
                               max_per_call=per_call(refit.chunk_size, starts.shape[-2], len(n)), progress=show)

    todo = np.arange(n_resamples * g)
    (thetas, objectives, converged, iterations), _, retried = _refit_checked(
        run, todo, padded_starts(refit.n_starts), lambda: padded_starts(_RETRY_STARTS), config, progress)
    thetas = np.asarray(expand(thetas, struct.select, struct.base))[:, 0]
    out = {}
    for j, (label, part) in enumerate(zip(labels, parts)):
        mine = np.arange(j, len(todo), g)  # q = r G + j
        boot = BootstrapResult(thetas[mine], objectives[mine], converged[mine], iterations[mine], float(confidence),
                               int(seed), part, n_retried=int(np.isin(retried, mine).sum()))
        # (per_device counts (resample, group) lane groups of every group together: not one group's resamples)
        _warn_about(boot, f"[group {label}] ")
        out[label] = boot
    return GroupBootstraps(out)
