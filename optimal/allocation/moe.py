"""Compute-optimal allocation for mixtures of experts: FLOPs follow the active parameters, memory the total.

A token's training FLOPs are k N_active (C = k N_active D, k = 6 by default), so at a fixed layout (granularity,
expert count) an MoE law is a Chinchilla law and ``compute_optimal`` finds its optimum: in (N_active, D) for a
``JointMoE`` (whose N is the active parameters), in (N_total, D) with k N_active / N_total per parameter for a
``FineGrainedMoE`` (whose N is the total). The layout ties the two counts, and the total sets the memory::

    N_total = N_active (1 + (expansion - 1) s)

with ``expansion`` the total expert parameters over the active expert parameters (E / k for E experts of equal
size of which k run per token; Krajewski et al. 2024's "expansion rate") and ``s`` the share of the active
parameters that are routed experts (``DEFAULT_EXPERT_SHARE`` = 2/3: a block of attention 4 d^2 and FFN 8 d^2,
the FFN replaced by experts; embeddings not counted). A memory cap on the total parameters is a cap on the active
ones through the same line. For an exact count from a shape, plan with ``optimal.planning.shape_for_params(
N_active, count="active", n_experts=..., experts_per_token=...)``.
"""

from typing import Any, NamedTuple

import numpy as np

from ..errors import BudgetError, CoefficientsError, check_positive, float_array
from ..laws.moe import FineGrainedMoE, JointMoE
from .._util.results import Issue, Status
from .._util.units import DEFAULT_FLOPS_PER_PARAM_TOKEN
from .allocate import allocation_status, compute_optimal, convergence_warnings, records_table

DEFAULT_EXPERT_SHARE = 2.0 / 3.0


def moe_total_params(n_active, expansion, expert_share=DEFAULT_EXPERT_SHARE):
    """Total parameters of an MoE with ``n_active`` active parameters (array): ``N_active (1 + (expansion - 1) s)``.

    expansion: total expert parameters / active expert parameters (>= 1; 1: dense). expert_share: s, the share of
    the active parameters in routed experts (in (0, 1]). ``BudgetError`` names a bad value.
    """
    expansion, share = _layout(expansion, expert_share)
    n_active = float_array(n_active, "n_active", BudgetError, "positive finite numbers of parameters", invalid=True)
    if n_active.size == 0 or not np.all(np.isfinite(n_active) & (n_active > 0)):  # NaN gave a silent NaN
        raise BudgetError(f"n_active must be positive finite numbers of parameters, got {n_active!r:.60}")
    return _total(n_active, expansion, share)


def _total(n_active, expansion, share):
    """``N_active (1 + (expansion - 1) s)``, refused where it overflows float64 (expansion 1e300 gave an inf
    n_total)."""
    with np.errstate(over="ignore"):
        total = n_active * (1.0 + (expansion - 1.0) * share)
    if not np.all(np.isfinite(total)):
        raise BudgetError(f"the total parameters, N_active x (1 + (expansion - 1) x expert_share), overflow float64 "
                          f"(expansion {expansion:g}); check the expansion")
    return total


def _layout(expansion, expert_share):
    expansion = check_positive(expansion, "expansion", BudgetError)
    share = check_positive(expert_share, "expert_share", BudgetError)
    if expansion < 1.0:
        raise BudgetError(f"expansion (total expert parameters / active ones) must be at least 1, got {expansion:g}")
    if share > 1.0:
        raise BudgetError(f"expert_share (the share of active parameters in experts) must be at most 1, got {share:g}")
    return expansion, share


class MoEAllocation(NamedTuple):
    """Compute-optimal MoE allocations, every field an array of the budgets' shape.

    compute: C in FLOPs (C = k N_active D); n_active: N_active* (parameters a token runs: the FLOPs); n_total: the
    parameters held (the memory); n_tokens: D*; loss: nats; tokens_per_active_param: D*/N_active*; converged: the
    solve met its tolerance; memory_bound: the cap on total parameters binds. expansion, expert_share: the layout
    (``moe_total_params``).
    """

    compute: Any
    n_active: Any
    n_total: Any
    n_tokens: Any
    loss: Any
    tokens_per_active_param: Any
    converged: Any
    memory_bound: Any
    expansion: float
    expert_share: float

    @property
    def status(self) -> Status:
        return allocation_status(self.converged)

    @property
    def ok(self) -> bool:
        return self.status.ok

    @property
    def warnings(self) -> tuple:
        return convergence_warnings(self.converged)

    @property
    def notes(self) -> tuple:
        bound = np.ravel(np.asarray(self.memory_bound))
        notes = [Issue("moe-layout", f"FLOPs from the active parameters, memory from the total: expansion "
                                     f"{self.expansion:g}, experts {self.expert_share:.3g} of the active parameters")]
        if bound.any():
            notes.append(Issue("at-cap", f"the cap on total parameters binds at {int(bound.sum())} of {bound.size} "
                                         "budgets"))
        return tuple(notes)

    def to_records(self):
        """One plain dict per budget: compute, N_active, N_total, D, loss, tokens_per_active_param, converged,
        memory_bound."""
        keys = ("compute", "N_active", "N_total", "D", "loss", "tokens_per_active_param", "converged", "memory_bound")
        fields = [np.ravel(np.asarray(x)) for x in self[:8]]
        return [{k: (bool(v) if k in ("converged", "memory_bound") else float(v)) for k, v in zip(keys, row)}
                for row in zip(*fields)]

    def to_dict(self) -> dict:
        return {"status": self.status.label, "expansion": self.expansion, "expert_share": self.expert_share,
                "allocations": self.to_records()}

    def summary(self) -> str:
        return records_table(self.to_records())


def _fixed_law(law):
    if not isinstance(law, (FineGrainedMoE, JointMoE)):
        raise CoefficientsError(f"an MoE allocation takes a FineGrainedMoE or JointMoE law, not {type(law).__name__}")
    return law.at_fixed()


def moe_optimal(law, compute, *, expansion, expert_share=DEFAULT_EXPERT_SHARE, flops=DEFAULT_FLOPS_PER_PARAM_TOKEN,
                max_tokens=None, max_total_params=None, dtype=None) -> MoEAllocation:
    """(N_active*, D*) minimising an MoE law at its own layout under ``C = k N_active D``, with the total parameters.

    Args:
      law: a ``FineGrainedMoE`` (at its ``granularity``; its N the total parameters) or a ``JointMoE`` (at its
        ``experts``; its N the active parameters).
      compute: training FLOPs, scalar or array.
      expansion: total expert parameters / active expert parameters (E / k for top-k of E equal experts; 1: dense).
      expert_share: the share of active parameters in routed experts (default 2/3).
      flops: k in C = k N_active D (6), or (for a ``JointMoE``) a ``FlopsPerToken`` model of the active parameters.
      max_tokens: optional cap on D (tokens). max_total_params: optional cap on the total parameters (memory).
      dtype: float64 (default) or float32.

    Returns an ``MoEAllocation``. ``CoefficientsError`` for another law or one whose decay rates are not positive at
    this layout; ``BudgetError`` for a bad budget, cap or layout.

    Example:
      >>> from optimal.laws.moe import LUDZIEJEWSKI2025
      >>> a = moe_optimal(LUDZIEJEWSKI2025._replace(experts=8.0), 1e21, expansion=8.0)
      >>> round(float(a.n_active) / 1e9, 1), round(float(a.n_tokens) / 1e9)  # the paper's Table 1: 3.8B, 44.3B
      (3.8, 44)
    """
    fixed = _fixed_law(law)
    expansion, share = _layout(expansion, expert_share)
    per_active = 1.0 + (expansion - 1.0) * share
    cap = None if max_total_params is None else check_positive(max_total_params, "max_total_params", BudgetError)
    if isinstance(law, FineGrainedMoE):  # the law's N is the total: k N_active D = (k / per_active) N_total D
        if not isinstance(flops, (int, float)) or isinstance(flops, bool):
            raise BudgetError("a FineGrainedMoE allocation takes flops as a number k (C = k N_active D)")
        k = check_positive(flops, "flops", BudgetError)
        result = compute_optimal(fixed, compute, k / per_active, max_tokens=max_tokens, max_params=cap, dtype=dtype)
        n_active = np.asarray(result.n_params) / per_active
    else:
        max_params = None if cap is None else cap / per_active
        result = compute_optimal(fixed, compute, max_tokens=max_tokens, max_params=max_params, dtype=dtype,
                                 flops=flops)
        n_active = np.asarray(result.n_params)
    return MoEAllocation(
        compute=result.compute, n_active=n_active, n_total=_total(n_active, expansion, share), n_tokens=result.n_tokens,
        loss=result.loss, tokens_per_active_param=np.asarray(result.n_tokens) / n_active, converged=result.converged,
        memory_bound=np.asarray(result.bound) == 2, expansion=expansion, expert_share=share)


class ExpertChoice(NamedTuple):
    """The best expert count of a ``JointMoE`` for one budget: ``experts`` (the counts tried), ``allocations`` (one
    ``MoEAllocation`` per count, same order), ``best`` (the index of the least loss), ``experts_per_token``."""

    experts: tuple
    allocations: tuple
    best: int
    experts_per_token: int

    @property
    def status(self) -> Status:
        return allocation_status([bool(np.all(a.converged)) for a in self.allocations])

    @property
    def ok(self) -> bool:
        return self.status.ok

    @property
    def warnings(self) -> tuple:
        return convergence_warnings([bool(np.all(a.converged)) for a in self.allocations])

    @property
    def notes(self) -> tuple:
        e = self.experts[self.best]
        return (Issue("best-experts", f"least loss with {e:g} experts ({self.experts_per_token} per token)"),)

    def to_records(self):
        return [{"experts": float(e), **a.to_records()[0]} for e, a in zip(self.experts, self.allocations)]

    def to_dict(self) -> dict:
        return {"status": self.status.label, "experts_per_token": self.experts_per_token,
                "best_experts": float(self.experts[self.best]), "choices": self.to_records()}

    def summary(self) -> str:
        return records_table(self.to_records()) + f"\nbest: {self.experts[self.best]:g} experts"


def best_experts(law, compute, experts=(1, 2, 4, 8, 16, 32, 64), *, experts_per_token=1,
                 expert_share=DEFAULT_EXPERT_SHARE, flops=DEFAULT_FLOPS_PER_PARAM_TOKEN, max_total_params=None,
                 dtype=None) -> ExpertChoice:
    """For one budget ``compute`` (FLOPs), the expert count among ``experts`` whose compute-optimal allocation has
    the least loss under a ``JointMoE`` law, each count with expansion ``E / experts_per_token`` (1 for E = 1, dense)
    and, with ``max_total_params``, the memory cap on its total parameters (Ludziejewski et al. 2025's question: the
    best MoE at a fixed memory). Returns an ``ExpertChoice``."""
    if not isinstance(law, JointMoE):
        raise CoefficientsError(f"best_experts takes a JointMoE law, not {type(law).__name__}")
    if np.ndim(compute) != 0:
        raise BudgetError("best_experts takes one budget (a scalar compute); call it once per budget")
    k = float(check_positive(experts_per_token, "experts_per_token", BudgetError))
    if not k.is_integer():  # int() would have taken 1.5 experts per token for 1
        raise BudgetError(f"experts_per_token must be a whole number, got {experts_per_token!r}")
    k = int(k)
    counts = tuple(float(check_positive(e, "experts", BudgetError)) for e in np.ravel(experts))
    if not counts or any(not e.is_integer() or (e < k and e != 1.0) for e in counts):
        raise BudgetError(f"experts must be whole counts >= experts_per_token ({k}) (or 1, dense), got "
                          f"{[f'{e:g}' for e in counts]}")
    allocations = tuple(
        moe_optimal(law._replace(experts=e), compute, expansion=max(e / k, 1.0), expert_share=expert_share,
                    flops=flops, max_total_params=max_total_params, dtype=dtype) for e in counts)
    losses = [float(np.asarray(a.loss)) if bool(np.all(a.converged)) else np.inf for a in allocations]
    return ExpertChoice(experts=counts, allocations=allocations, best=int(np.argmin(losses)), experts_per_token=k)
