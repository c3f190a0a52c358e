"""The loss-optimal training precision, model size and tokens for a budget of accelerator time.

The model, stated plainly:

* A budget is ``accelerator_seconds`` of one accelerator (n accelerators for t seconds: n t; a money budget:
  cost / price per accelerator-hour x 3600).
* Training at precision p (a name such as "bf16" or "fp8" with its ``bits``) runs at ``flops_per_second[p]``
  FLOP/s per accelerator: give the *achieved* rate, the accelerator's dense peak at that precision times the model
  FLOPs utilisation (e.g. ``optimal.accelerator("h100-sxm").peak("fp8") * 0.4``). So p buys
  ``C_p = accelerator_seconds x flops_per_second[p]`` FLOPs, and C_p = k N D (k = 6) sets the budget line.
* Weights, activations and the KV cache are all trained at p's bits; the loss is the ``PrecisionLaw`` (Kumar et al.
  2024) there: a Chinchilla law in N with A scaled by ``effective_fraction()^-alpha``, so lower precision buys more
  FLOPs but makes each parameter worth less.
* Memory (optional ``memory_bytes``, over all accelerators): the training state takes ``bits / 8`` bytes per
  parameter for the weights at p plus ``state_bytes_per_param`` (default 12: an fp32 master copy and Adam's two
  fp32 moments), which caps N; activations are not counted.

For each precision the allocation is ``compute_optimal`` on its own budget line (with the cap); the answer is the
precision of least loss. Kumar et al.'s own cost model (section 4.3, eq. 5: C = (6/16) N D P, compute linear in the
bits) is the case ``flops_per_second[p] = R x 16 / bits[p]``; an accelerator's table prices the precisions it has
as the hardware does (fp8 at twice bf16 on an H100, no gain below what it supports). The numbers are only as good as the law's gamma_w, gamma_a, gamma_kv, which no preset
supplies here: fit them (``optimal.fit(..., law="precision", ...)``).
"""

from typing import NamedTuple

import numpy as np

from ..errors import BudgetError, CoefficientsError, check_positive
from ..laws.precision import PrecisionLaw
from .._util.results import Issue, Status
from .._util.units import DEFAULT_FLOPS_PER_PARAM_TOKEN
from .allocate import allocation_status, compute_optimal, convergence_warnings, records_table

# Bits per value of each precision name (its total width: sign, exponent and mantissa; tf32 stores 19).
BITS = {"fp32": 32.0, "tf32": 19.0, "bf16": 16.0, "fp16": 16.0, "fp8": 8.0, "int8": 8.0, "fp6": 6.0, "fp4": 4.0,
        "int4": 4.0}
DEFAULT_STATE_BYTES_PER_PARAM = 12.0  # fp32 master weights (4) and Adam's first and second moments (4 + 4)


class PrecisionChoice(NamedTuple):
    """One allocation per training precision and the best of them.

    records: one dict per precision (precision, bits, flops_per_second, compute, N, N_eff, D, loss,
    tokens_per_param, weights_bytes (N bits/8), converged, memory_bound); best: the index of the least loss.
    accelerator_seconds, memory_bytes, state_bytes_per_param: the inputs.
    """

    records: tuple
    best: int
    accelerator_seconds: float
    memory_bytes: float | None
    state_bytes_per_param: float

    @property
    def status(self) -> Status:
        return allocation_status([r["converged"] for r in self.records])

    @property
    def ok(self) -> bool:
        return self.status.ok

    @property
    def warnings(self) -> tuple:
        return convergence_warnings([r["converged"] for r in self.records])

    @property
    def precision(self) -> str:
        """The name of the precision of least loss."""
        return self.records[self.best]["precision"]

    @property
    def notes(self) -> tuple:
        best = self.records[self.best]
        notes = [Issue("best-precision", f"least loss training in {best['precision']} ({best['bits']:g} bits): "
                                         f"N {best['N']:.4g}, D {best['D']:.4g}, loss {best['loss']:.4g}")]
        bound = [r["precision"] for r in self.records if r["memory_bound"]]
        if bound:
            notes.append(Issue("at-cap", f"the memory cap binds in {', '.join(bound)}"))
        return tuple(notes)

    def to_dict(self) -> dict:
        return {"status": self.status.label, "best_precision": self.precision,
                "accelerator_seconds": self.accelerator_seconds, "memory_bytes": self.memory_bytes,
                "state_bytes_per_param": self.state_bytes_per_param, "choices": [dict(r) for r in self.records]}

    def summary(self) -> str:
        return records_table(list(self.records)) + f"\nbest: {self.precision}"


def precision_optimal(law, accelerator_seconds, flops_per_second, *, bits=None, memory_bytes=None,
                      state_bytes_per_param=DEFAULT_STATE_BYTES_PER_PARAM, flops=DEFAULT_FLOPS_PER_PARAM_TOKEN,
                      dtype=None) -> PrecisionChoice:
    """The training precision, N and D of least loss for ``accelerator_seconds`` (see the module docstring).

    Args:
      law: a ``PrecisionLaw`` (its own bits are replaced by each precision's).
      accelerator_seconds: the budget in seconds of one accelerator (> 0).
      flops_per_second: ``{precision name: achieved FLOP/s per accelerator}`` for each precision to weigh.
      bits: ``{precision name: bits}`` for names not in ``BITS`` (or to override it).
      memory_bytes: optional memory of all the accelerators together (bytes), capping N.
      state_bytes_per_param: training-state bytes per parameter besides the weights at the training precision.
      flops: k in C = k N D (6).
      dtype: float64 (default) or float32.

    Returns a ``PrecisionChoice``. ``CoefficientsError`` for another law; ``BudgetError`` for a bad budget, rate,
    precision name or memory.

    Example:
      >>> from optimal.laws.precision import PrecisionLaw
      >>> law = PrecisionLaw(E=1.8, A=500.0, B=2000.0, alpha=0.35, beta=0.37, gamma_w=2.5, gamma_a=2.5, gamma_kv=1.0)
      >>> choice = precision_optimal(law, 1e6 * 3600, {"bf16": 400e12, "fp8": 800e12})
      >>> choice.precision in ("bf16", "fp8")
      True
    """
    if not isinstance(law, PrecisionLaw):
        raise CoefficientsError(f"precision_optimal takes a PrecisionLaw, not {type(law).__name__}")
    seconds = check_positive(accelerator_seconds, "accelerator_seconds", BudgetError)
    if not isinstance(flops_per_second, dict) or not flops_per_second:
        raise BudgetError("flops_per_second must be a dict {precision name: achieved FLOP/s}, e.g. "
                          "{'bf16': 4e14, 'fp8': 8e14}")
    table = dict(BITS, **(bits or {}))
    extra = check_positive(state_bytes_per_param, "state_bytes_per_param", BudgetError) if state_bytes_per_param else 0.0
    memory = None if memory_bytes is None else check_positive(memory_bytes, "memory_bytes", BudgetError)
    records = []
    for name, rate in flops_per_second.items():
        if name not in table:
            raise BudgetError(f"precision {name!r} has no bits; give bits={{{name!r}: ...}} or use one of "
                              f"{', '.join(BITS)}")
        b = check_positive(table[name], f"bits of {name}", BudgetError)
        rate = check_positive(rate, f"flops_per_second[{name!r}]", BudgetError)
        at_p = law._replace(weight_bits=b, activation_bits=b, kv_bits=b)
        cap = None if memory is None else memory / (b / 8.0 + extra)
        result = compute_optimal(at_p.at_fixed(), seconds * rate, max_params=cap, dtype=dtype, flops=flops)
        n = float(np.asarray(result.n_params))
        records.append({
            "precision": name, "bits": b, "flops_per_second": rate, "compute": float(np.asarray(result.compute)),
            "N": n, "N_eff": n * float(np.asarray(at_p.effective_fraction())), "D": float(np.asarray(result.n_tokens)),
            "loss": float(np.asarray(result.loss)), "tokens_per_param": float(np.asarray(result.tokens_per_param)),
            "weights_bytes": n * b / 8.0, "converged": bool(np.asarray(result.converged)),
            "memory_bound": bool(np.asarray(result.bound) == 2)})
    losses = [r["loss"] if r["converged"] else np.inf for r in records]
    return PrecisionChoice(records=tuple(records), best=int(np.argmin(losses)), accelerator_seconds=seconds,
                           memory_bytes=memory, state_bytes_per_param=extra)
