"""Starting points for the polish: the family's own screen where it has one, else a sampled screen for any family.

The sampled screen draws points from the family's ``start_box`` (low-discrepancy), imposes the fixed and tied values,
solves the parameters the family declares linear by weighted least squares (``project_linear``), evaluates the
objective at each and keeps the best distinct ones. A family with a ``screen`` capability (Chinchilla: the
exponent-grid variable projection of ``optimal.laws.chinchilla``) uses it for a problem with nothing fixed, tied or
grouped, the problem it was written for.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np

from .._util.robust import ROBUST_LOSSES
from ..errors import CoefficientsError
from ..laws.family import Family, sample_starts
from .problem import RowData, Structure, expand, reduce, residuals


def own_screen_applies(family: Family, structure: Structure) -> bool:
    """Whether the family's own screen (and its search edges) apply: it has one and nothing is fixed, tied or grouped."""
    return family.screen is not None and structure.identity


def search_edges(family: Family, structure: Structure, grid_size: int) -> dict:
    """``{name: (lo, hi)}`` the range the fit searched each parameter in: the family's own screen's where it
    applies, else ``family.search_edges``."""
    return family.screen_edges(grid_size) if own_screen_applies(family, structure) else dict(family.search_edges)


def screen(family: Family, structure: Structure, data: RowData, weights, n_starts=16, delta=1e-3, loss="huber",
           n_samples=4096, grid_size=64, seed=0):
    """Starting free vectors (n_starts, F), best first, and every screened candidate with its objective:
    ``(starts, candidates (K, F), values (K,))`` as NumPy. The family's own screen (``grid_size``) where it applies
    (``own_screen_applies``), else ``sampled_screen`` (``n_samples``, ``seed``)."""
    if own_screen_applies(family, structure):
        return family.screen(data.log_n, data.log_d, data.log_loss, data.covariates, weights, n_starts, delta, loss,
                             grid_size)
    return sampled_screen(family, structure, data, weights, n_samples, n_starts, delta, loss, seed)


_BATCH_CELLS = 1 << 21  # candidates x rows evaluated side by side: the (batch, rows) intermediates stay near 16 MB


def _batch(n_rows, largest=256):
    """Candidates per batch of the screen's ``lax.map``: ``largest``, fewer for many rows (memory ~ batch x rows)."""
    return max(1, min(largest, _BATCH_CELLS // max(int(n_rows), 1)))


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


def sampled_screen(family: Family, structure: Structure, data: RowData, weights, n_samples=4096, n_starts=16,
                   delta=1e-3, loss="huber", seed=0):
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
