"""Sensitivity of a fit to its settings: the Huber threshold, which small runs to leave out, which law.

The published re-analyses of Chinchilla (Besiroglu et al. 2024; Porian et al. 2024) asked how far the answer
moves when delta changes or the smallest models are left out. ``sweep`` fits the cross product of such
settings. Leaving runs out is a row mask and the Huber threshold delta is a traced per-lane value of the solver,
so every (delta, drop) setting of one law is a lane of ONE compiled solve (``fit``'s masked path), compiled once
whatever the deltas. Different laws have different parameter vectors and objectives, so each law is its own
program (and its own solve).
"""

import itertools

import numpy as np

from ..errors import OptimalError, check_count
from .data import validate_runs
from ..laws import family as family_of
from .fit import check_constraints, check_covariates, check_options, fit_masked
from ..precision import float64_scope, resolve_dtype

SETTINGS = ("law", "delta", "drop_smallest")


def smallest_dropped(n_params, k):
    """Row mask (n,) keeping every run except those of the ``k`` smallest distinct model sizes N."""
    sizes = np.unique(np.asarray(n_params, dtype=np.float64))
    if k >= len(sizes):
        raise OptimalError(f"drop_smallest = {k} would leave out every one of the {len(sizes)} model sizes")
    return np.asarray(n_params) > sizes[k - 1] if k else np.ones(len(n_params), bool)


@float64_scope
def sweep(n_params, n_tokens, loss, weights=None, *, law=("chinchilla",), delta=(1e-3,), drop_smallest=(0,),
          covariates=None, fix=None, tie=(), robust="huber", grid_size=64, n_polish=16, n_samples=4096, max_iter=200,
          xtol=None, dtype=None):
    """Fit every combination of the settings: ``law`` names (or families), Huber ``delta`` values, and
    ``drop_smallest`` counts (leave out the runs of that many of the smallest model sizes).

    Returns ``[(setting, FitResult)]`` in the order of ``itertools.product(law, delta, drop_smallest)``, each
    ``setting`` a dict ``{law, delta, drop_smallest}``. Every fit's warnings are its own, and each equals the
    ``fit`` of its rows at its delta (to rounding: the rows left out weigh 0 but still enter the sums' order).
    All the settings of one law are lanes of one compiled solve; each law is a separate one.

    Example::

        found = sweep(n, d, loss, delta=(1e-4, 1e-3, 1e-2), drop_smallest=(0, 1, 2))  # 9 fits, one program
    """
    dtype = resolve_dtype(dtype)
    runs = validate_runs(n_params, n_tokens, loss, weights, n_free=0)
    laws, deltas, drops = (tuple(np.atleast_1d(x).tolist()) if not isinstance(x, (list, tuple)) else tuple(x)
                           for x in (law, delta, drop_smallest))
    for value, name in ((laws, "law"), (deltas, "delta"), (drops, "drop_smallest")):
        if not value:
            raise OptimalError(f"sweep: {name} needs at least one value")
    for k in drops:
        check_count(k, "drop_smallest", 0)
    masks = [smallest_dropped(runs.n_params, int(k)) for k in drops]
    for d in deltas:
        check_options(d, robust, grid_size, n_polish, max_iter, xtol)
    settings = list(itertools.product(deltas, zip(drops, masks)))  # every (delta, drop) of one law: one solve
    out = []
    for name in laws:
        fam = family_of(name)
        cov = check_covariates(fam, covariates, len(runs.loss))
        fixed, tied, _ = check_constraints(fam, fix, tie, ())
        n_free = max(len(fam.params) - len(fixed) - len(tied), 1)
        for k, mask in zip(drops, masks):
            validate_runs(*(np.asarray(x)[mask] for x in runs[:4]), n_free=n_free, source=f"drop_smallest={k}")
        options = dict(delta=deltas[0], robust=robust, starts="screen", grid_size=grid_size, n_polish=n_polish,
                       n_samples=n_samples, max_iter=max_iter, xtol=xtol, dtype=dtype)
        fits = fit_masked(fam, runs, cov, fixed, tied, [mask for _, (_, mask) in settings], options,
                          deltas=[d for d, _ in settings])
        out += [({"law": fam.name, "delta": float(d), "drop_smallest": int(k)}, result)
                for (d, (k, _)), result in zip(settings, fits)]
    return out
