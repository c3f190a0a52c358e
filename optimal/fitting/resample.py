"""The one compiled refit program of every bootstrap: resamples as lanes of the solver, sharded over devices.

A resample is drawn inside the program from ``fold_in(PRNGKey(seed), r)`` by a *resampler*, so it does not depend on
chunking or on how many devices run it:

- ``Clusters(n_groups)``: rows (one group per row) or whole clusters drawn with replacement; a resample is a
  vector of row multiplicities used as weights, and every lane reads the same rows;
- ``Strata(n_strata, n_max)``: each stratum (a group of runs fitted on its own) redraws its own rows; lane group
  q = r x G + g gathers its own drawn rows, so its work follows its stratum's size;
- ``Wild(n_groups, kind)``: every row is kept and its log-loss redrawn as ``fitted + w_g x residual`` with one
  weight w_g per cluster g (rows: one cluster each) from ``WILD_WEIGHTS[kind]``; each lane reads its own losses.

Every (resample, start) is a lane of ``optimal.fitting.solver.polish_lanes``; each resample keeps its best start,
and reports its objective, unpolished, at the ``probes`` (other candidate starts): the check ``bootstrap`` makes
that a refit from the full-data optimum did not land in a worse basin.
Calls of a fixed size keep memory bounded and compile once; within a call the resample axis is sharded over every
device with ``jax.sharding`` (``device_plan``), across processes too (each process hands its own devices their
share and the refits are gathered, so every process gets all of them).
"""

import functools
import hashlib
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import NamedSharding, PartitionSpec

from ..errors import OptimalError
from .problem import RowData
from .solver import SolverConfig, default_slots, polish_lanes

# The weights of the wild bootstrap, each value drawn with equal probability (mean 0, variance 1):
# - "rademacher": +-1 (Cameron, Gelbach and Miller 2008, "Bootstrap-based improvements for inference with clustered
#   errors", Review of Economics and Statistics 90(3));
# - "webb": Webb's six points +-sqrt(1/2), +-1, +-sqrt(3/2) (Webb 2023, "Reworking wild bootstrap-based inference for
#   clustered errors", Canadian Journal of Economics 56(3); Queen's Economics Department working paper 1315, 2013),
#   for few clusters, where +-1 gives only 2^G distinct draws. Values checked against the authors' R package
#   fwildclusterboot, R/get_weights.R: c(-sqrt((3:1) / 2), sqrt((1:3) / 2)).
# The one table of them: optimal.analysis.isoflop's wild bootstrap draws its signs from "rademacher" too.
WILD_WEIGHTS = {"rademacher": (-1.0, 1.0),
                "webb": (-math.sqrt(1.5), -1.0, -math.sqrt(0.5), math.sqrt(0.5), 1.0, math.sqrt(1.5))}
_LANE_ROWS_PER_CHUNK = 1 << 22  # lanes x rows per compiled call (the resamples' weights: 32 MB in float64)


class Clusters(NamedTuple):
    """Resample r draws ``n_groups`` clusters with replacement from ``fold_in(key, r)``; ``draw`` is ``(groups,)``,
    each row's cluster (n,) (one row per cluster: a row bootstrap). Every lane reads the shared rows with the
    drawn multiplicities as weights."""

    n_groups: int

    def resample(self, key, indices, data, base_weights, draw):
        """The rows and weights (R, n) of resamples ``indices`` (R,), and False: every resample reads ``data``."""
        (groups,) = draw

        def resample_weights(r):
            drawn = jax.random.randint(jax.random.fold_in(key, r), (self.n_groups,), 0, self.n_groups)
            return jnp.bincount(drawn, length=self.n_groups)[groups].astype(base_weights.dtype) * base_weights

        return data, jax.vmap(resample_weights)(indices), False

    def starts(self, indices, starts):
        """Every resample's starts (R, K, F) from the shared ``starts`` (K, F)."""
        return jnp.broadcast_to(starts, indices.shape + starts.shape)


class Strata(NamedTuple):
    """Lane group q = r x G + g is resample r of stratum g alone: its rows drawn with replacement from that
    stratum's rows (rows sorted by stratum; ``draw`` is ``(first_row (G,), n_rows_of (G,))``) from
    ``fold_in(fold_in(key, r), g)``, its starts ``starts[g]`` (G, K, F). Each lane gathers its own drawn rows
    (``n_max``, the largest stratum's size; a smaller stratum's draws are padded with weight-0 rows)."""

    n_strata: int
    n_max: int

    def resample(self, key, indices, data, base_weights, draw):
        """The rows (every leaf (Q, n_max, ...)) and weights (Q, n_max) of lane groups ``indices`` (Q,), and True:
        each lane group reads its own rows."""
        first_row, n_rows_of = draw

        def drawn_rows(q):
            r, g = q // self.n_strata, q % self.n_strata
            stream = jax.random.fold_in(jax.random.fold_in(key, r), g)
            # one key per draw, so a group's draws do not depend on n_max (the largest group's size)
            drawn = jax.vmap(lambda i: jax.random.randint(jax.random.fold_in(stream, i), (), 0, n_rows_of[g]))(
                jnp.arange(self.n_max))
            real = jnp.arange(self.n_max) < n_rows_of[g]
            return first_row[g] + jnp.where(real, drawn, 0), real

        rows, real = jax.vmap(drawn_rows)(indices)  # (Q, n_max)
        return _take_rows(data, rows), base_weights[rows] * real, True

    def starts(self, indices, starts):
        """Every lane group's starts (Q, K, F): its stratum's, from ``starts`` (G, K, F)."""
        return starts[indices % self.n_strata]


NO_RESIDUAL = 1e-9  # an eigenvalue of 1 - leverage below this: the fit passes through that direction of the cluster


def cluster_adjusted_residuals(jacobian, residual, weights, groups):
    """Residuals (n,) with the fit's shrinkage undone cluster by cluster (CR2: Bell and McCaffrey 2002; one row per
    cluster, the HC2 of ``optimal.analysis.isoflop``'s wild bootstrap): ``e_g / sqrt(1 - H_gg)`` in matrix form,
    ``W_g^-1/2 (I - P_gg)^-1/2 W_g^1/2 e_g`` with ``P = W^1/2 J (J^T W J)^-1 J^T W^1/2`` the fit's (linearised,
    weighted least-squares) hat matrix. A fitted curve passes partly through every cluster's offset, most through
    those at the edges of the sizes, which carry the exponents: without this the draws are narrower than the
    estimate's spread (measured: bootstrap se of alpha 0.030 against a sampling sd of 0.047, 20 clusters).

    jacobian: (n, F) d(predicted log-loss)/d(free coefficients) at the optimum; residual: (n,) observed minus
    fitted log-loss; weights: (n,) the rows' weights (a weight-0 row keeps its residual); groups: (n,) cluster ids.
    NumPy float64 in and out."""
    jacobian, residual, weights = (np.asarray(x, np.float64) for x in (jacobian, residual, weights))
    groups = np.asarray(groups)
    root = np.sqrt(np.maximum(weights, 0.0))
    scaled = root[:, None] * jacobian
    inverse = np.linalg.pinv(scaled.T @ scaled)
    adjusted = residual.copy()
    for g in np.unique(groups):
        rows = np.flatnonzero((groups == g) & (weights > 0))
        if not len(rows):
            continue
        block = np.eye(len(rows)) - scaled[rows] @ inverse @ scaled[rows].T
        values, vectors = np.linalg.eigh((block + block.T) / 2)
        scale = np.where(values > NO_RESIDUAL, 1.0 / np.sqrt(np.maximum(values, NO_RESIDUAL)), 1.0)
        adjusted[rows] = (vectors * scale) @ vectors.T @ (root[rows] * residual[rows]) / root[rows]
    return adjusted


class Wild(NamedTuple):
    """Resample r keeps every row and redraws its log-loss as ``fitted + w_g x adjusted residual``, one weight
    w_g per cluster from ``WILD_WEIGHTS[kind]`` drawn from ``fold_in(key, r)`` (the wild cluster bootstrap of
    Cameron, Gelbach and Miller 2008; one cluster per row: the wild bootstrap of Wu 1986), the residuals adjusted
    for the fit's leverage (``cluster_adjusted_residuals``). ``draw`` is ``(groups (n,), fitted (n,), residual
    (n,))``: each row's cluster, its fitted log-loss at the full-data optimum and its adjusted residual. Each lane
    reads its own losses (every leaf of the rows repeated per lane)."""

    n_groups: int
    kind: str

    def resample(self, key, indices, data, base_weights, draw):
        """The rows (every leaf (R, n, ...)) and weights (R, n) of resamples ``indices`` (R,), and True."""
        groups, fitted, residual = draw
        table = jnp.asarray(WILD_WEIGHTS[self.kind], fitted.dtype)

        def redrawn(r):
            w = table[jax.random.randint(jax.random.fold_in(key, r), (self.n_groups,), 0, len(table))]
            return fitted + w[groups] * residual

        per_lane = lambda x: jnp.broadcast_to(x, indices.shape + jnp.shape(x))  # noqa: E731
        rows = jax.tree.map(per_lane, data)._replace(log_loss=jax.vmap(redrawn)(indices))
        return rows, per_lane(base_weights), True

    def starts(self, indices, starts):
        """Every resample's starts (R, K, F) from the shared ``starts`` (K, F)."""
        return jnp.broadcast_to(starts, indices.shape + starts.shape)


def _take_rows(data: RowData, rows):
    """Each lane's own rows: ``data`` gathered at ``rows`` (Q, m), every leaf with a leading lane axis (the
    structure arrays repeated per lane)."""
    per_lane = lambda x: jnp.broadcast_to(x, rows.shape[:1] + jnp.shape(x))  # noqa: E731
    return data._replace(log_n=data.log_n[rows], log_d=data.log_d[rows], log_loss=data.log_loss[rows],
                         covariates={name: v[rows] for name, v in data.covariates.items()},
                         select=per_lane(data.select), base=per_lane(data.base))


def _refit_chunk(key, indices, starts, probes, data, base_weights, draw, delta, config, resampler, slots):
    """Refit resamples (lane groups) ``indices`` (R,) drawn by ``resampler`` from each of ``starts`` at the Huber
    threshold ``delta`` (traced), and evaluate their objective, unpolished, at each of ``probes`` (the resampler's
    shape of starts; none: ``inf``). Returns each resample's best start: theta (R, F), objective, converged,
    iterations, and the lowest objective at a probe (R,)."""
    rows, weights, lane_data = resampler.resample(key, indices, data, base_weights, draw)
    theta0 = resampler.starts(indices, starts)  # (R, K, F): lane r K + j is resample r from start j
    k = theta0.shape[1]
    repeat = lambda x: jnp.repeat(x, k, axis=0)  # noqa: E731
    lanes = polish_lanes(theta0.reshape(-1, theta0.shape[-1]), jax.tree.map(repeat, rows) if lane_data else rows,
                         repeat(weights), config, slots, lane_data=lane_data, delta=delta)
    objective = jnp.where(lanes.converged & jnp.isfinite(lanes.objective), lanes.objective, jnp.inf).reshape(-1, k)
    best = jnp.argmin(objective, axis=1)
    pick = lambda x: jnp.take_along_axis(x.reshape(-1, k, *x.shape[1:]), best.reshape((-1, 1) + (1,) * (x.ndim - 1)), 1)[:, 0]  # noqa: E731
    lowest = jnp.full(indices.shape, jnp.inf, weights.dtype)
    if probes.shape[-2]:  # (a static shape)
        def at_probes(points, rows, weights):  # one resample's objective at its probes (J,)
            return jax.vmap(lambda z: config.evaluate(z, rows, weights, delta, config.loss)[0])(points)

        values = jax.vmap(at_probes, in_axes=(0, 0 if lane_data else None, 0))(
            resampler.starts(indices, probes), rows, weights)
        lowest = jnp.min(jnp.where(jnp.isfinite(values), values, jnp.inf), axis=1)
    return pick(lanes.theta), pick(lanes.objective), pick(lanes.converged), pick(lanes.iterations), lowest


@functools.lru_cache(maxsize=16)
def _sharded_refit(mesh, config, resampler, slots):
    """``_refit_chunk`` compiled with its resample axis split over ``mesh``. Every device runs the same program
    on its own resamples (``shard_map``), so the draws do not depend on the number of devices."""
    replicated, split = PartitionSpec(), PartitionSpec("resamples")
    local = functools.partial(_refit_chunk, config=config, resampler=resampler, slots=slots)
    return jax.jit(jax.shard_map(local, mesh=mesh, in_specs=(replicated, split) + (replicated,) * 6,
                                 out_specs=split, check_vma=False))


def place(tree, sharding):
    """Host arrays (every process holds the same whole ones) as arrays laid out by ``sharding``. Over devices of
    several processes each process builds only its own devices' parts, with no transfer or check between them
    (``bootstrap`` checks once that the processes agree)."""
    if sharding.is_fully_addressable:
        return jax.device_put(tree, sharding)

    def place(x):
        x = np.asarray(x)
        return jax.make_array_from_callback(x.shape, sharding, lambda index: x[index])

    return jax.tree.map(place, tree)


def fetch(tree):
    """Arrays laid out over a mesh as NumPy arrays, whole in every process (gathered when they span processes)."""
    if all(x.is_fully_addressable for x in jax.tree.leaves(tree)):
        return jax.tree.map(np.asarray, tree)
    return multihost_utils.process_allgather(tree, tiled=True)


def check_same_in_every_process(*arguments):
    """Raise ``OptimalError`` unless every process's call has the same ``arguments`` (arrays, numbers, pytrees):
    the processes split one bootstrap between them, so each must plan the same calls on the same data."""
    digest = hashlib.sha256()
    for leaf in jax.tree.leaves(arguments):
        leaf = np.asarray(leaf)
        digest.update(f"{leaf.dtype}{leaf.shape}".encode())
        digest.update(np.ascontiguousarray(leaf).tobytes())
    fingerprints = np.asarray(multihost_utils.process_allgather(np.frombuffer(digest.digest(), np.uint32)))
    differ = [p for p in range(len(fingerprints)) if not np.array_equal(fingerprints[p], fingerprints[0])]
    if differ:
        raise OptimalError(f"bootstrap over the devices of {len(fingerprints)} processes needs the same fit and "
                           f"arguments in every process, but process(es) {differ} differ from process 0; call it with "
                           "the same runs, fit options, n_resamples, seed, chunk_size and devices everywhere")


def device_plan(todo, n_devices, per_block, max_per_call):
    """Which resample each device refits in each compiled call.

    ``todo`` (T,) resample indices are split into ``n_devices`` contiguous shares as equal as possible, so every
    device gets real work (never one device's share of real resamples and the rest padding). Each call gives
    every device ``local`` resamples, a multiple of ``per_block`` (a whole number of solver slot arrays, so a
    lane's arithmetic never depends on the chunking or the device count) and at most ``max_per_call`` rounded up
    to a block; calls are as few as that allows and as equal as possible.

    Returns ``(indices, real)``, both shaped (calls, n_devices, local): the resample index for every lane and
    whether it is a real resample (padding lanes get indices past every real one; their results are dropped).
    """
    todo = np.asarray(todo, dtype=np.int64)
    per_device = max(1, math.ceil(len(todo) / n_devices))
    largest = max(per_block, max_per_call // per_block * per_block)
    n_calls = math.ceil(per_device / largest)
    local = math.ceil(math.ceil(per_device / n_calls) / per_block) * per_block
    padded = np.arange(n_devices * n_calls * local).reshape(n_devices, n_calls * local) + int(todo.max(initial=0)) + 1
    real = np.zeros_like(padded, dtype=bool)
    for device in range(n_devices):
        share = todo[device * per_device:(device + 1) * per_device]
        padded[device, :len(share)], real[device, :len(share)] = share, True
    as_calls = lambda x: x.reshape(n_devices, n_calls, local).transpose(1, 0, 2)  # noqa: E731
    return as_calls(padded), as_calls(real)


def refit_resamples(todo, key, shared, mesh, config, resampler, n_starts, n_rows, max_per_call, progress=None):
    """Refit resamples ``todo`` (lane groups, for ``Strata``) drawn by ``resampler`` on every device of ``mesh``;
    ``shared`` is ``(starts, probes, data, base_weights, draw, delta)`` placed on the mesh. Returns (theta, objective,
    converged, iterations, lowest objective at a probe) for them in the order of ``todo``, and the real resamples
    each device refitted."""
    n_devices = mesh.devices.size
    slots = default_slots(n_rows)
    per_block = slots // math.gcd(slots, n_starts)
    indices, real = device_plan(todo, n_devices, per_block, max_per_call)
    # the threshold travels as data (the last of ``shared``): fits at any delta share one compiled program
    program = config._replace(delta=SolverConfig().delta)
    refit = _sharded_refit(mesh, program, resampler, slots)
    sharding = NamedSharding(mesh, PartitionSpec("resamples"))
    if not sharding.is_fully_addressable:  # a multi-process jit takes only global arrays
        key = place(key, NamedSharding(mesh, PartitionSpec()))
    position = {int(r): i for i, r in enumerate(todo)}
    outputs = [np.zeros((len(todo), shared[0].shape[-1])), np.full(len(todo), np.nan), np.zeros(len(todo), bool),
               np.zeros(len(todo), np.int64), np.full(len(todo), np.inf)]
    done = 0
    for call, call_real in zip(indices, real):
        result = fetch(refit(key, place(np.asarray(call.ravel(), np.uint32), sharding), *shared))
        keep = call_real.ravel()
        where = [position[int(r)] for r in call.ravel()[keep]]
        for out, values in zip(outputs, result):
            out[where] = values[keep]
        done += int(keep.sum())
        if progress is not None:
            progress(done, len(todo))
    return outputs, real.sum(axis=(0, 2))


def per_call(chunk_size, n_starts, n_rows):
    """Resamples per device per compiled call: ``chunk_size``, or as many as keep the (lanes, rows) weights near
    32 MB."""
    return int(chunk_size) if chunk_size is not None else max(1, _LANE_ROWS_PER_CHUNK // (n_starts * n_rows))


def keep_better(todo, outputs, retried):
    """Write a retry of resamples ``todo`` over the earlier results (``outputs``: theta, objective, converged,
    iterations, indexed by resample) where the retry converged and the earlier did not, or both (or neither)
    converged and the retry's objective is lower."""
    _, objectives, converged, _ = outputs[:4]
    _, o2, c2, _ = retried[:4]
    lower = np.nan_to_num(o2, nan=np.inf) < np.nan_to_num(objectives[todo], nan=np.inf)
    better = (c2 & ~converged[todo]) | ((c2 == converged[todo]) & lower)
    for out, new in zip(outputs[:4], retried[:4]):
        out[todo[better]] = new[better]
