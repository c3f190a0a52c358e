"""Data-constrained allocation (Muennighoff et al. 2023, "Scaling Data-Constrained Language Models"): with U unique
tokens, the compute-optimal parameters N, training tokens D and epochs D / U for a budget.

The law (``optimal.laws.DataConstrained``) discounts repeated tokens and parameters beyond what U tokens can
use, so past a few epochs more compute is best spent on both more epochs and a somewhat larger model than
Chinchilla's, with fast-diminishing returns. ``compute_optimal`` solves it along the budget line with its
bracketed safeguarded Newton (the loss switches formulas at ``D = U`` and at ``N = N_opt(U)``; see
``optimal.allocation.allocate``), so an optimum on such a switch is found and reported as converged.

Far past the data (hundreds of epochs and more) both discounts saturate: the loss is then flat to float
precision over a wide range of N (a factor of ~40 in N at ~6000 epochs), so N* and D* are not determined there
although the loss is; ``epochs`` shows where a budget stands.
"""

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..errors import BudgetError, CoefficientsError
from ..laws import DataConstrained
from .._util.precision import concrete_to_numpy, float64_scope, resolve_dtype
from .._util.units import DEFAULT_FLOPS_PER_PARAM_TOKEN
from .._util.results import Issue, Status
from .allocate import (allocate_law, allocation_status, check_budgets, check_positive_values, convergence_warnings,
                       is_concrete, law_in, records_table)


class DataConstrainedAllocation(NamedTuple):
    """Data-constrained allocations, every field an array of the broadcast shape of ``compute`` and ``unique_tokens``.

    compute: budget C in FLOPs; n_params: N* (parameters); n_tokens: D* (training tokens, repeats included);
    unique_tokens: U; epochs: D*/U (below 1: not all unique data is used); loss: L(N*, D*) in nats;
    tokens_per_param: D*/N*; converged: whether the solve met its tolerance.
    """

    compute: Any
    n_params: Any
    n_tokens: Any
    unique_tokens: Any
    epochs: Any
    loss: Any
    tokens_per_param: Any
    converged: Any

    @property
    def status(self) -> Status:
        """SUCCESS when every solve converged, PARTIAL when some did, FAILED when none did (concrete arrays only:
        not under ``jit``)."""
        return allocation_status(self.converged)

    @property
    def ok(self) -> bool:
        return self.status.ok

    @property
    def warnings(self) -> tuple:
        """Solves that did not meet their tolerance ("not-converged"), counted."""
        return convergence_warnings(self.converged)

    def to_dict(self) -> dict:
        """``{"status", "allocations": to_records()}`` (strict JSON)."""
        return {"status": self.status.label, "allocations": self.to_records()}

    def summary(self) -> str:
        """A table, one row per entry of ``to_records()``."""
        return records_table(self.to_records())

    @property
    def notes(self) -> tuple:
        """Budgets whose tokens repeat the unique data ("repeated-data"), counted."""
        epochs = np.ravel(np.asarray(self.epochs))
        many = int(np.sum(epochs > 1))
        return (Issue("repeated-data", f"{many} of {epochs.size} allocations repeat the unique tokens (epochs > 1)"),) \
            if many else ()

    def to_records(self):
        """A list of plain dicts, one per budget: compute, N, D, unique_tokens, epochs, loss, tokens_per_param,
        converged."""
        keys = ("compute", "N", "D", "unique_tokens", "epochs", "loss", "tokens_per_param", "converged")
        fields = [np.ravel(np.asarray(x)) for x in self]
        return [{k: (bool(v) if k == "converged" else float(v)) for k, v in zip(keys, row)} for row in zip(*fields)]


@jax.jit
def _allocate(law, compute, unique_tokens, flops, log_n_max):
    def one(c, u):
        return allocate_law(law._replace(unique_tokens=u), c, flops, jnp.inf, log_n_max)

    a = jax.vmap(one)(compute, unique_tokens)
    return DataConstrainedAllocation(a.compute, a.n_params, a.n_tokens, unique_tokens, a.n_tokens / unique_tokens,
                                     a.loss, a.tokens_per_param, a.converged)


@float64_scope
def data_constrained_optimal(law, compute, unique_tokens=None, *, flops=DEFAULT_FLOPS_PER_PARAM_TOKEN, max_params=None,
                             dtype=None):
    """Minimise the data-constrained loss ``L(N, D; U)`` subject to ``flops_per_token(N) D = compute``.

    Args:
      law: a ``DataConstrained`` law, e.g. ``optimal.preset("muennighoff2023")`` or a data-constrained fit's law.
      compute: training compute in FLOPs, a scalar or an array.
      unique_tokens: U, the unique tokens available (scalar or array, broadcast against ``compute``); None uses
        the law's own ``unique_tokens``, which must then be finite.
      flops: k in C = k N D, or a ``FlopsPerToken`` model, as in ``compute_optimal``.
      max_params: optional cap on N.
      dtype: float64 (default) or float32.

    Returns:
      A ``DataConstrainedAllocation``. Differentiable with respect to the law's coefficients, U and the budget
      where the loss is smooth at the optimum.

    Example (the authors' README, C = 1e22 FLOPs, U = 25e9: about 7.02e9 parameters, 9.49 epochs):
      >>> from optimal import data_constrained_optimal, preset
      >>> a = data_constrained_optimal(preset("muennighoff2023"), 1e22, 25e9)
      >>> round(float(a.n_params) / 1e9, 2), round(float(a.epochs), 2)
      (7.03, 9.49)
    """
    if not isinstance(law, DataConstrained):
        raise CoefficientsError(f"data_constrained_optimal needs a DataConstrained law (e.g. preset(\"muennighoff2023\")), "
                                f"not {type(law).__name__}")
    dtype = resolve_dtype(dtype)
    law = law_in(law, dtype)
    if unique_tokens is None:
        unique_tokens = law.unique_tokens
        if is_concrete(unique_tokens) and not np.isfinite(float(unique_tokens)):
            raise BudgetError("unique_tokens: give the unique tokens available (this law's unique_tokens is "
                              "unlimited, which is the Chinchilla law)")
    unique = check_positive_values(unique_tokens, dtype, "unique_tokens")
    if is_concrete(unique) and np.any(np.asarray(unique) < 1):  # below one token, the epochs D / U overflow
        raise BudgetError(f"unique_tokens must be at least 1 (one token), got {float(np.min(np.asarray(unique))):.3g}")
    compute, k, _, log_n_max = check_budgets(compute, flops, None, max_params, dtype)
    compute, unique = jnp.broadcast_arrays(compute, unique)
    result = _allocate(law, compute.ravel(), unique.ravel(), k, log_n_max)
    return concrete_to_numpy(DataConstrainedAllocation(*(x.reshape(compute.shape) for x in result)))
