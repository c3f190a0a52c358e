"""A training run from N and D: its shape, memory, accelerator-hours, days, energy and cost, in one object.

``plan_training`` is the one place that puts the planning modules together, so that ``optimal plan`` and Python
callers cannot disagree. FLOPs are ``k x N_active x D`` (k = 6 by default: the forward and backward pass,
Kaplan et al. 2020, section 2.1); memory comes from the total parameters (every expert of a mixture is held).

Example:
  >>> p = plan_training(7e9, 1.4e11, accelerator="h100", n_accelerators=64)
  >>> p.compute
  5.88e+21
  >>> p.training.bytes_per_param
  16.0
"""

import dataclasses

from ..errors import PlanningError, check_count, check_positive
from .._util.units import DEFAULT_FLOPS_PER_PARAM_TOKEN
from .accelerators import accelerator as find_accelerator
from .cost import HardwareEstimate, hardware_estimate
from .memory import (
    SHARDING,
    TrainingMemory,
    accelerators_to_hold,
    bytes_per_accelerator,
    kv_cache_bytes,
    training_memory,
    weight_bytes,
    weights_by_precision,
)
from .shapes import DEFAULT_ASPECT_RATIO, ParameterCount, TransformerShape, parameter_count, shape_for_params

_CONSISTENT = 1e-6  # compute given with N and D must equal k N D to this relative tolerance (a solver's N*, D*)


@dataclasses.dataclass(frozen=True)
class TrainingPlan:
    """What a training run of ``n_params`` (active) parameters on ``n_tokens`` tokens takes.

    compute: FLOPs (k x active parameters x tokens). total_params: the parameters memory holds.
    shape, counts: the transformer shape and its ``ParameterCount``; shape_from says whether the shape was given
    or built for N at an aspect ratio (then only an illustration: the counts differ from N by its rounding).
    weights: bytes of the weights at the run's precision; weights_by_precision: ``{precision: bytes}``.
    training: the ``TrainingMemory`` (weights, gradients, optimiser state; activations excluded).
    hold: ``{sharding: fewest accelerators that hold the training state, or None}``;
    per_accelerator: ``{sharding: bytes each holds}`` at ``hardware.n_accelerators`` (None without a count).
    kv_cache_per_token, kv_cache_per_sequence (None without ``context``): bytes of keys and values.
    hardware: the ``HardwareEstimate`` (hours, days, energy, cost and their assumptions). notes: plain words.
    """

    compute: float
    n_params: float
    total_params: float
    n_tokens: float
    flops_per_param_token: float
    flops_per_token: float
    flops_per_token_from: str
    shape: TransformerShape
    shape_from: str
    counts: ParameterCount
    precision: str
    weights: float
    weights_by_precision: dict
    training: TrainingMemory
    hold: dict
    per_accelerator: dict | None
    context: int | None
    activation_bytes: float
    kv_cache_per_token: float
    kv_cache_per_sequence: float | None
    hardware: HardwareEstimate
    notes: list

    def to_dict(self) -> dict:
        """Plain JSON-ready data (the keys are documented in the README's ``optimal plan`` section)."""
        device = self.hardware.accelerator
        return {
            "compute": self.compute,
            "flops_per_param_token": self.flops_per_param_token,
            "flops_per_token": self.flops_per_token,
            "flops_per_token_from": self.flops_per_token_from,
            "n_tokens": self.n_tokens,
            "parameters": {"active": self.n_params, "total": self.total_params,
                           "from": "shape" if self.shape_from == "given" else "argument"},
            "shape": {**self.shape.to_dict(), "from": self.shape_from, "parameters": self.counts.to_dict()},
            "memory": {
                "weights": {"precision": self.weight_precision, "bytes": self.weights,
                            "parameters": self.total_params},
                "weights_by_precision": self.weights_by_precision,
                "training_state": self.training.to_dict(),
                "activation_bytes_per_accelerator": self.activation_bytes,
                "accelerator_memory_bytes": device.memory_bytes,
                "accelerators_to_hold": self.hold,
                "per_accelerator_bytes": self.per_accelerator,
                "kv_cache": {"precision": self.weight_precision, "bytes_per_token": self.kv_cache_per_token,
                             "context": self.context, "bytes_per_sequence": self.kv_cache_per_sequence},
            },
            **{key: value for key, value in self.hardware.to_dict().items() if key != "compute"},
            "notes": self.notes,
        }

    @property
    def weight_precision(self) -> str:
        """The precision the run stores weights (and the KV cache) at: ``storage_precision(precision)``."""
        return storage_precision(self.precision)


def storage_precision(precision) -> str:
    """The precision a run computing at ``precision`` stores its weights at: the same, except fp32 for tf32 (a
    compute mode on fp32 values) and bf16 for fp8 (a compute format: weights and gradients stay in bf16, as in
    ``training_memory``)."""
    return {"tf32": "fp32", "fp8": "bf16"}.get(precision, precision)


def _positive(value, name):
    return check_positive(value, name, PlanningError)


def plan_training(n_params=None, n_tokens=None, *, compute=None, shape=None,
                  flops_per_param_token=DEFAULT_FLOPS_PER_PARAM_TOKEN, aspect_ratio=DEFAULT_ASPECT_RATIO,
                  accelerator="h100", n_accelerators=None, precision="bf16", optimizer="adam", mfu=None, pue=None,
                  price_per_accelerator_hour=None, power_watts=None, context=None, activation_bytes=0.0,
                  training_flops_per_token=None) -> TrainingPlan:
    """Plan a run: give ``n_params`` (or a ``shape``) and two of ``n_tokens``/``compute`` (or one: the other
    follows from C = k N D).

    Args:
      n_params: parameters (dense); with a ``shape`` leave it out: N is the shape's active parameters.
      n_tokens: training tokens. compute: training FLOPs; with N and D as well it must equal k N D.
      shape: a ``TransformerShape``; None builds one for N at ``aspect_ratio`` (an illustration for the KV cache).
      flops_per_param_token: k (6).
      accelerator, n_accelerators, precision, mfu, pue, price_per_accelerator_hour, power_watts: as for
        ``hardware_estimate``.
      optimizer: a name in ``optimal.planning.OPTIMIZERS``.
      context: tokens per sequence, for the KV cache of one sequence.
      activation_bytes: activation memory per accelerator to count (0: not counted).
      training_flops_per_token: training FLOPs per token from a FLOPs model (e.g. ``FlopsPerToken.attention(...)
        .training(N)``, which adds Kaplan et al.'s attention term); None: k x active parameters.
    """
    k = _positive(flops_per_param_token, "flops_per_param_token")
    notes = []
    if shape is not None:
        if n_params is not None:
            raise PlanningError("give n_params or a shape, not both (a shape's active parameters are N)")
        counts = parameter_count(shape)
        n_params, total, shape_from = float(counts.active), float(counts.total), "given"
    else:
        if n_params is None:
            raise PlanningError("give n_params or a shape")
        n_params = _positive(n_params, "n_params")
        total = n_params
        shape = shape_for_params(n_params, aspect_ratio)
        counts = parameter_count(shape)
        shape_from = f"built for N at aspect ratio {float(aspect_ratio):g}"
        notes.append(f"the shape is an illustration built for N at d_model/n_layer = {float(aspect_ratio):g} "
                     f"({counts.total:.4g} parameters after rounding to whole heads); memory and FLOPs use N itself, "
                     "the KV cache uses the shape")
    if n_tokens is None and compute is None:
        raise PlanningError("give n_tokens or compute (or both)")
    if n_tokens is not None:
        n_tokens = _positive(n_tokens, "n_tokens")
    if compute is not None:
        compute = _positive(compute, "compute")
    if training_flops_per_token is None:
        per_token, per_token_from = k * n_params, "k x active parameters"
    else:
        per_token, per_token_from = _positive(training_flops_per_token, "training_flops_per_token"), "given"
    if compute is None:
        compute = per_token * n_tokens
    elif n_tokens is None:
        n_tokens = compute / per_token
    elif abs(compute / (per_token * n_tokens) - 1) > _CONSISTENT:
        raise PlanningError(f"compute {compute:g} is not FLOPs per token x D = {per_token:g} x {n_tokens:g} = "
                            f"{per_token * n_tokens:g}; give two of them")
    if context is not None:
        check_count(context, "context", 1, error=PlanningError)
    device = find_accelerator(accelerator)
    hardware = hardware_estimate(compute, device, precision=precision, mfu=mfu, n_accelerators=n_accelerators,
                                 power_watts=power_watts, pue=pue, price_per_accelerator_hour=price_per_accelerator_hour)
    training = training_memory(total, optimizer, precision)
    hold = {s: accelerators_to_hold(training, device.memory_bytes, s, activation_bytes) for s in SHARDING}
    per = None if n_accelerators is None else {
        s: bytes_per_accelerator(training, n_accelerators, s, activation_bytes) for s in SHARDING}
    weight_precision = storage_precision(precision)
    if total != n_params:
        notes.append(f"a mixture of experts: FLOPs from its {n_params:.4g} active parameters, memory from all "
                     f"{total:.4g}")
    if hardware.energy_kwh is None:
        notes.append(f"{device.name} has no published power: energy needs a power given (--power)")
    if n_accelerators is not None and hold["zero3"] is not None and n_accelerators < hold["zero3"]:
        notes.append(f"{n_accelerators} accelerators cannot hold the training state even fully sharded (ZeRO-3 needs "
                     f"{hold['zero3']})")
    return TrainingPlan(
        compute=compute, n_params=n_params, total_params=total, n_tokens=n_tokens, flops_per_param_token=k,
        flops_per_token=per_token, flops_per_token_from=per_token_from,
        shape=shape, shape_from=shape_from, counts=counts, precision=precision,
        weights=weight_bytes(total, weight_precision), weights_by_precision=weights_by_precision(total),
        training=training, hold=hold, per_accelerator=per, context=None if context is None else int(context),
        activation_bytes=float(activation_bytes),
        kv_cache_per_token=kv_cache_bytes(shape, 1, weight_precision),
        kv_cache_per_sequence=None if context is None else kv_cache_bytes(shape, int(context), weight_precision),
        hardware=hardware, notes=notes)
