"""Allocations of many coefficient draws: each bootstrap draw's own compute-optimal N* and D*, their intervals,
and the delta-method standard errors of the point allocation.

A ``BootstrapResult`` holds the draws; the functions here compute from them (a result holds numbers, operations
that make new numbers take results). They read only the draws' duck-typed fields (``good``, ``confidence``,
``n_resamples``, ``fit.family``, ``fit.theta``, ``fit.group_labels``), so this module depends on the laws, not
on the fitting.
"""

import jax
import jax.numpy as jnp
import numpy as np

from ..errors import BudgetError, OptimalError, float_array
from .._util.precision import float64_scope
from .._util.units import DEFAULT_FLOPS_PER_PARAM_TOKEN
from ..laws.chinchilla import CHINCHILLA
from .allocate import allocate_law, check_budgets
from .extrapolation import has_interior_optimum
from .._util.stats import interval


@float64_scope
def allocations(thetas, budgets, flops_per_param_token=DEFAULT_FLOPS_PER_PARAM_TOKEN, max_tokens=None, max_params=None, family=CHINCHILLA,
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


def _check_draws(boot, enough=False):
    """``boot`` is one law's bootstrap (not a joint fit's) with, when ``enough``, at least 2 converged draws."""
    if not hasattr(boot, "good") or not hasattr(boot, "fit"):
        raise OptimalError(f"expected a BootstrapResult (optimal.bootstrap's answer), got {type(boot).__name__}")
    if boot.fit.group_labels is not None:
        raise OptimalError("a joint fit of several groups has one law per group: use .group(label) first")
    if enough and len(boot.good) < 2:
        raise OptimalError(f"only {len(boot.good)} of {boot.n_resamples} bootstrap resamples converged; "
                           "intervals need at least 2")


def budget_array(budgets):
    """``budgets`` (FLOPs) as a 1-D float64 array; ``BudgetError`` for an int beyond float64 or more than one
    dimension (the values themselves are checked where they are used)."""
    array = np.atleast_1d(float_array(budgets, "budgets", BudgetError, "finite numbers of FLOPs", invalid=True))
    if array.ndim != 1:  # (1, 2) was a bare TypeError in allocate_draws, a ValueError in delta_method_se
        raise BudgetError(f"budgets must be a scalar or 1-D, got shape {array.shape}")
    return array


@float64_scope
def allocate_draws(boot, budgets, flops_per_param_token=DEFAULT_FLOPS_PER_PARAM_TOKEN, max_tokens=None, max_params=None):
    """Per budget (FLOPs), intervals from every converged draw of ``boot`` (a ``BootstrapResult``) allocated on
    its own, with the same k and caps as the point: a list of ``{compute, N, D, tokens_per_param, loss}``, each
    quantity a ``{lo, hi, se}``, and counts: ``n_draws``, ``n_at_cap`` (a cap binds), ``n_not_converged`` (the
    allocation solver did not converge) and ``n_no_interior`` (not converged, or N* or D* below one: no interior
    optimum). Draws at a cap or without an interior optimum stay in the intervals; they are counted, not dropped."""
    _check_draws(boot)
    budgets = budget_array(budgets)
    draws = allocations(boot.good, budgets, flops_per_param_token, max_tokens, max_params, boot.fit.family)
    converged, bound = draws.pop("converged"), draws.pop("bound")
    interior = has_interior_optimum(draws["N"], draws["D"], converged)
    return [
        {"compute": float(c), **{key: interval(values[:, i], boot.confidence) for key, values in draws.items()},
         "n_draws": int(len(boot.good)), "n_at_cap": int(np.sum(bound[:, i] != 0)),
         "n_not_converged": int(np.sum(~converged[:, i])), "n_no_interior": int(np.sum(~interior[:, i]))}
        for i, c in enumerate(budgets)
    ]


@float64_scope
def delta_method_se(boot, budgets, flops_per_param_token=DEFAULT_FLOPS_PER_PARAM_TOKEN):
    """Standard errors of N* and D* (parameters, tokens) at ``budgets`` (FLOPs, (m,)) by the delta method: the
    gradient of log N*(C) with respect to the coefficients (``jax.grad`` through the solver) at the full-data fit
    and the bootstrap covariance of the coefficients (``boot``: a ``BootstrapResult``).
    Returns ``{"N": (m,), "D": (m,)}``."""
    _check_draws(boot, enough=True)
    budgets = np.asarray(check_budgets(budget_array(budgets), flops_per_param_token)[0], dtype=np.float64)
    cov = np.cov(boot.good, rowvar=False)
    family = boot.fit.family

    def log_allocation(theta, c):
        result = allocate_law(family.law_from_theta(theta, None), c, jnp.asarray(flops_per_param_token), jnp.inf,
                              jnp.inf)
        return jnp.log(result.n_params), jnp.log(result.n_tokens)

    theta = jnp.asarray(boot.fit.theta)
    out = {"N": [], "D": []}
    for c in budgets:
        grads = jax.jacobian(log_allocation)(theta, jnp.asarray(c))
        values = log_allocation(theta, jnp.asarray(c))
        for key, g, v in zip(("N", "D"), grads, values):
            g = np.asarray(g)
            out[key].append(float(np.exp(v) * np.sqrt(g @ cov @ g)))
    return {k: np.asarray(v) for k, v in out.items()}


def bootstrap_to_dict(boot, budgets=(), flops_per_param_token=DEFAULT_FLOPS_PER_PARAM_TOKEN, max_tokens=None, max_params=None):
    """The CLI's JSON of a bootstrap: ``boot.to_dict()`` (n_resamples, n_failed, n_retried, warnings, confidence,
    seed, params) and ``allocation``: ``allocate_draws`` at ``budgets`` with the same k and caps as the point
    (``[]`` without budgets)."""
    return {**boot.to_dict(),
            "allocation": allocate_draws(boot, budgets, flops_per_param_token, max_tokens, max_params)
            if len(budgets) else []}
