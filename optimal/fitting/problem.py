"""What one fit minimises over: a family, its fixed, tied and shared parameters, and the rows, as one problem.

The solver works on a *free vector* z (F,). Every group's fitting-space vector (P,) is read from it: entry j of
group g is ``z[select[g, j]]``, or ``base[g, j]`` where the parameter is fixed (``select`` = -1). A tied class
of parameters reads one free entry; a shared parameter reads the same entry in every group; the others one entry
per group. Nothing fixed, tied or grouped is the identity structure: z is the family's fitting-space vector.
The objective is the sum over rows of ``w rho(r)``, ``r`` the log-loss residual of the row's group's law, with
gradient and Hessian from the family's hand-derived ``value_grad_hessian`` where it has one (identity structure),
else from JAX autodiff: any family the user can write, fits, and one that brings its derivatives fits faster.
"""

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .._util.robust import LOSS_DERIVATIVES, ROBUST_LOSSES
from ..errors import CoefficientsError
from ..laws.family import Family


class Structure(NamedTuple):
    """How the free vector maps to every group's parameters (NumPy arrays; see the module docstring).

    select: (G, P) int, the free entry each parameter reads, -1 where fixed; base: (G, P) the fixed values
    (fitting space); names: the free entries' names, e.g. ``alpha``, ``alpha=beta``, ``A[group 2]``.
    """

    select: np.ndarray
    base: np.ndarray
    names: tuple

    @property
    def identity(self) -> bool:
        """Nothing fixed, tied or grouped: the free vector is the family's fitting-space vector."""
        return self.select.shape[0] == 1 and np.array_equal(self.select[0], np.arange(self.select.shape[1]))


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
        raise CoefficientsError("shared parameters need at least 2 groups (group_labels)")
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


def free_count(family: Family, fixed=None, tied=(), shared=(), group_labels=None) -> int:
    """How many coefficients a fit estimates: the length F of the free vector after ``fixed``, ``tied`` and
    ``shared`` (and, with ``group_labels``, one entry per group for every parameter not shared). The rows a fit
    needs are counted from it (``optimal.data.runs.min_rows``). Raises as ``structure`` does."""
    return len(structure(family, fixed, tied, shared, group_labels).names)


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


def uses_own_derivatives(family: Family, structure: Structure) -> bool:
    """Whether a problem's solver uses the family's hand-derived ``value_grad_hessian``: the family has one and the
    structure is the identity (nothing fixed, tied or grouped). A constrained problem takes autodiff: the chain
    rule through the structure would be exact too, but it moves constrained fits' last bits (up to 2.4e-9
    relative, measured on 80 synthetic runs with E fixed), and their numbers stay as they were."""
    return family.value_grad_hessian is not None and structure.identity


@functools.lru_cache(maxsize=None)
def evaluator(family: Family, own_derivatives: bool = False):
    """``evaluate(z, data, weights, delta, loss) -> (value, grad (F,), hess (F, F), grad_scale (F,))`` for the
    solver. With ``own_derivatives`` (``uses_own_derivatives``: identity structure, so z is the fitting-space
    vector), the family's ``value_grad_hessian``. Otherwise by autodiff: the residuals' Jacobian J (forward mode)
    gives the gradient ``J^T w rho'`` and its rounding scale ``|J|^T |w rho'|``; the Hessian is ``jax.hessian`` of
    the objective. One per family and kind."""

    def by_hand(z, data, weights, delta, loss):
        return family.value_grad_hessian(z, data.log_n, data.log_d, data.log_loss, data.covariates, weights, delta,
                                         loss)

    def by_autodiff(z, data, weights, delta, loss):
        rho = ROBUST_LOSSES[loss]
        with_value = lambda x: (residuals(family, x, data),) * 2  # noqa: E731
        jac, r = jax.jacfwd(with_value, has_aux=True)(z)  # (n, F) in forward mode, and the residuals themselves
        c = weights * LOSS_DERIVATIVES[loss](r, delta)[0]
        hess = jax.hessian(lambda x: jnp.sum(weights * rho(residuals(family, x, data), delta)))(z)
        return jnp.sum(weights * rho(r, delta)), jac.T @ c, hess, jnp.abs(jac).T @ jnp.abs(c)

    return by_hand if own_derivatives else by_autodiff


def problem_evaluator(family: Family, structure: Structure):
    """The solver's ``evaluate`` for ``family`` under ``structure`` (``evaluator``, with the family's own derivatives
    where they apply)."""
    return evaluator(family, uses_own_derivatives(family, structure))
