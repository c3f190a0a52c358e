"""What one fit minimises over: a family, its fixed, tied and shared parameters, and the rows, as one problem.

The solver works on a *free vector* z (F,). Every group's fitting-space vector (P,) is read from it: entry j of
group g is ``z[select[g, j]]``, or ``base[g, j]`` where the parameter is fixed (``select`` = -1). A tied class
of parameters reads one free entry; a shared parameter reads the same entry in every group; the others one entry
per group. The objective is the sum over rows of ``w rho(r)``, ``r`` the log-loss residual of the row's group's
law, with gradient and Hessian from JAX autodiff: any family the user can write, fits.
"""

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..errors import CoefficientsError
from ..laws.family import Family, sample_starts
from .objective import LOSS_DERIVATIVES, ROBUST_LOSSES


class Structure(NamedTuple):
    """How the free vector maps to every group's parameters (NumPy arrays; see the module docstring).

    select: (G, P) int, the free entry each parameter reads, -1 where fixed; base: (G, P) the fixed values
    (fitting space); names: the free entries' names, e.g. ``alpha``, ``alpha=beta``, ``A[group 2]``.
    """

    select: np.ndarray
    base: np.ndarray
    names: tuple


def structure(family: Family, fixed=None, tied=(), shared=(), group_labels=None) -> Structure:
    """The ``Structure`` for ``fixed`` ``{name: natural value}``, ``tied`` pairs ``(name, name)`` (equal values),
    parameters ``shared`` by every group, and ``group_labels`` (None: one group). Raises ``CoefficientsError``
    for an unknown name, a tie between differently represented parameters, or a contradiction."""
    fixed, tied, shared = dict(fixed or {}), [tuple(t) for t in tied], tuple(shared)
    params = family.params
    for name in list(fixed) + [n for pair in tied for n in pair] + list(shared):
        family.index(name)
    leader = {name: name for name in params}

    def find(name):
        while leader[name] != name:
            name = leader[name]
        return name

    for pair in tied:
        if len(pair) != 2:
            raise CoefficientsError(f"a tie names two parameters, not {pair!r}")
        a, b = find(pair[0]), find(pair[1])
        if family.transform(pair[0]) != family.transform(pair[1]):
            raise CoefficientsError(f"cannot tie {pair[0]} to {pair[1]}: they are represented differently while "
                                    f"fitting ({family.transform(pair[0])} vs {family.transform(pair[1])})")
        if a != b:
            leader[b] = a
    classes = {}
    for name in params:
        classes.setdefault(find(name), []).append(name)
    n_groups = 1 if group_labels is None else len(group_labels)
    if shared and n_groups == 1:
        raise CoefficientsError("shared parameters need groups (a group column: --by)")
    select = np.full((n_groups, len(params)), -1, dtype=np.int32)
    base = np.zeros((n_groups, len(params)))
    names = []
    for members in classes.values():
        values = {fixed[m] for m in members if m in fixed}
        if len(values) > 1:
            raise CoefficientsError(f"tied parameters {', '.join(members)} are fixed at different values")
        label = "=".join(members)
        columns = [family.index(m) for m in members]
        if values:
            value = values.pop()
            theta = family.to_fitting({**{p: family.start_box[p][0] for p in params}, **{m: value for m in members}})
            base[:, columns] = theta[columns[0]]
        elif n_groups == 1 or any(m in shared for m in members):
            select[:, columns] = len(names)
            names.append(label)
        else:
            for g, group in enumerate(group_labels):
                select[g, columns] = len(names)
                names.append(f"{label}[{group}]")
    if not names:
        raise CoefficientsError("every parameter is fixed: nothing is left to fit")
    return Structure(select, base, tuple(names))


def expand(z, select, base):
    """Free vector(s) z (..., F) -> fitting-space parameters (..., G, P)."""
    z = jnp.asarray(z)
    picked = jnp.take(z, jnp.maximum(select, 0), axis=-1)
    return jnp.where(select >= 0, picked, base)


def reduce(theta, select):
    """Fitting-space parameters (..., G, P) -> free vectors (..., F): each free entry from the first parameter
    that reads it (so tied parameters take the first member's value)."""
    theta = np.asarray(theta, dtype=np.float64)
    flat = select.ravel()
    first = np.asarray([np.flatnonzero(flat == k)[0] for k in range(int(flat.max()) + 1)])
    return theta.reshape(theta.shape[:-2] + (-1,))[..., first]


class RowData(NamedTuple):
    """The rows and the structure, as JAX arrays (a pytree the solver passes through unchanged).

    log_n, log_d, log_loss: (n,); covariates: ``{name: (n,)}`` natural values; group: (n,) int, each row's
    group, or None for one group; select, base: the ``Structure``'s arrays.
    """

    log_n: Any
    log_d: Any
    log_loss: Any
    covariates: Any
    group: Any
    select: Any
    base: Any


def residuals(family: Family, z, data: RowData):
    """Predicted minus observed log-loss, one per row, at free vector ``z`` (F,)."""
    theta = expand(z, data.select, data.base)
    # one group: the parameters stay scalars (P,); several: each row reads its own group's (n, P)
    theta = theta[0] if data.group is None else theta[data.group]
    values = family.to_natural(theta)
    return family.log_loss(values, data.log_n, data.log_d, data.covariates) - data.log_loss


@functools.lru_cache(maxsize=None)
def evaluator(family: Family):
    """``evaluate(z, data, weights, delta, loss) -> (value, grad (F,), hess (F, F), grad_scale (F,))`` for the
    solver, by autodiff: the residuals' Jacobian J (forward mode) gives the gradient ``J^T w rho'`` and its
    rounding scale ``|J|^T |w rho'|``; the Hessian is ``jax.hessian`` of the objective. One per family."""

    def evaluate(z, data, weights, delta, loss):
        rho = ROBUST_LOSSES[loss]
        with_value = lambda x: (residuals(family, x, data),) * 2  # noqa: E731
        jac, r = jax.jacfwd(with_value, has_aux=True)(z)  # (n, F) in forward mode, and the residuals themselves
        c = weights * LOSS_DERIVATIVES[loss](r, delta)[0]
        hess = jax.hessian(lambda x: jnp.sum(weights * rho(residuals(family, x, data), delta)))(z)
        return jnp.sum(weights * rho(r, delta)), jac.T @ c, hess, jnp.abs(jac).T @ jnp.abs(c)

    return evaluate


_BATCH_CELLS = 1 << 21  # candidates x rows evaluated side by side: the (batch, rows) intermediates stay near 16 MB


def _batch(n_rows, largest=256):
    """Candidates per batch of the screen's ``lax.map``: ``largest``, fewer for many rows (memory ~ batch x rows)."""
    return max(1, min(largest, _BATCH_CELLS // max(int(n_rows), 1)))


@functools.partial(jax.jit, static_argnames=("family", "loss"))
def hessian_at(family: Family, z, data: RowData, weights, delta, loss="huber"):
    """The objective's Hessian (F, F) at free vector ``z``, compiled (for the fit's curvature check); ``delta``
    is traced, so every Huber threshold shares the program."""
    return evaluator(family)(z, data, weights, delta, loss)[2]


@functools.partial(jax.jit, static_argnames=("family", "loss"))
def objectives(family: Family, zs, data: RowData, weights, delta, loss="huber"):
    """The objective at every free vector of ``zs`` (K, F): (K,), non-finite values as inf."""
    rho = ROBUST_LOSSES[loss]
    values = jax.lax.map(lambda z: jnp.sum(weights * rho(residuals(family, z, data), delta)), zs,
                          batch_size=_batch(data.log_n.shape[0]))
    return jnp.where(jnp.isfinite(values), values, jnp.inf)


def project_linear(family: Family, thetas, data: RowData, weights, structure: Structure):
    """Screen candidates (K, P) with the family's linear, free, untied parameters solved by weighted least squares.

    The loss is ``sum_k c_k f_k + rest`` in the linear parameters c (f_k = dL/dc_k, taken by autodiff at the
    candidate), so for fixed other parameters the best c is a least-squares solve; weights ``w / L^2`` make loss
    residuals approximate log-loss residuals. A solution below zero for a positive parameter is floored (its term is
    nearly gone). Only for one group: with groups, starts come from each group's own fit.
    """
    linear = [family.index(name) for name in family.linear
              if structure.select[0, family.index(name)] >= 0
              and np.sum(structure.select[0] == structure.select[0, family.index(name)]) == 1]
    if not linear or structure.select.shape[0] != 1:
        return thetas
    linear = np.asarray(linear)
    loss = jnp.exp(data.log_loss)

    def one(theta):
        def loss_at(c):
            values = family.to_natural(theta)
            values.update({family.params[j]: c[i] for i, j in enumerate(linear)})
            return jnp.exp(family.log_loss(values, data.log_n, data.log_d, data.covariates))

        c0 = jnp.stack([family.to_natural(theta)[family.params[j]] for j in linear])
        basis = jax.jacfwd(loss_at)(c0)  # (n, K)
        rest = loss_at(c0) - basis @ c0
        sw = weights / (loss * loss)
        gram = (basis * sw[:, None]).T @ basis
        rhs = basis.T @ (sw * (loss - rest))
        scale = jnp.sqrt(jnp.abs(jnp.diagonal(gram))) + jnp.finfo(loss.dtype).tiny
        c = jnp.linalg.solve(gram / jnp.outer(scale, scale), rhs / scale) / scale
        floor = 1e-6 * jnp.min(loss) / jnp.maximum(jnp.max(jnp.abs(basis), axis=0), jnp.finfo(loss.dtype).tiny)
        out = theta
        for i, j in enumerate(linear):
            kind = family.transform(family.params[j])
            value = jnp.maximum(c[i], floor[i]) if kind == "log" else c[i]
            out = out.at[j].set(jnp.log(value) if kind == "log" else value)
        return jnp.where(jnp.all(jnp.isfinite(out)), out, theta)

    return jax.lax.map(one, thetas, batch_size=_batch(data.log_n.shape[0]))


_project = jax.jit(project_linear, static_argnames=("family", "structure"))


def screen(family: Family, structure: Structure, data: RowData, weights, n_samples=4096, n_starts=16, delta=1e-3,
           loss="huber", seed=0):
    """Starting free vectors (n_starts, F), best first, and every screened candidate with its objective.

    ``n_samples`` points from the family's ``start_box`` (low-discrepancy, ``seed``), fixed and tied values imposed,
    linear parameters projected (``project_linear``), each evaluated; the best distinct ones (no two within 0.05
    in every free coordinate) are the starts. Returns ``(starts, candidates (K, F), values (K,))`` as NumPy.
    """
    dtype = data.log_n.dtype
    theta = sample_starts(family, n_samples, seed)[:, None]  # (K, 1, P)
    z = reduce(theta, structure.select)  # ties imposed (the first member's value)
    full = np.asarray(expand(z, structure.select, structure.base))[:, 0]  # and the fixed values
    projected = np.asarray(_project(family, jnp.asarray(full, dtype), data, weights, _Static(structure)))
    z = reduce(projected[:, None], structure.select)
    values = np.asarray(objectives(family, jnp.asarray(z, dtype), data, weights, delta, loss))
    order = np.argsort(values, kind="stable")
    chosen = []
    for i in order:
        if not np.isfinite(values[i]):
            break
        if all(np.max(np.abs(z[i] - z[j])) > 0.05 for j in chosen):
            chosen.append(i)
        if len(chosen) == n_starts:
            break
    if not chosen:
        raise CoefficientsError(f"none of {n_samples} screened starting points of the {family.name} law gives a finite "
                                "objective on these runs; check the units of N, D and the covariates")
    return z[chosen], z, values


class _Static:
    """Wraps a ``Structure`` (NumPy arrays) so it can key a compiled function: hashed and compared by content."""

    def __init__(self, structure):
        self.structure = structure
        self._key = (structure.select.tobytes(), structure.select.shape, structure.base.tobytes(), structure.names)

    def __hash__(self):
        return hash(self._key)

    def __eq__(self, other):
        return isinstance(other, _Static) and self._key == other._key

    def __getattr__(self, name):
        return getattr(self.structure, name)
