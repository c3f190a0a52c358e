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
import math

import numpy as np

from ..errors import PlanningError, check_count, check_positive
from .._util.stats import unbounded_interval
from .._util.units import DEFAULT_FLOPS_PER_PARAM_TOKEN
from .accelerators import accelerator as find_accelerator
from .cost import HardwareEstimate, energy_text, hardware_estimate, hardware_figures, origin_text
from .._util.results import Formula, Issue, issues
from .memory import (
    BYTES_PER_VALUE,
    SHARDING,
    TrainingMemory,
    accelerators_to_hold,
    bytes_per_accelerator,
    kv_cache_bytes,
    training_memory,
    weight_bytes,
    weights_by_precision,
)
from .shapes import DEFAULT_ASPECT_RATIO, MAX_DIMENSION, MAX_PARAMS, ParameterCount, TransformerShape, parameter_count, shape_for_params

_CONSISTENT = 1e-6  # compute given with N and D must equal k N D to this relative tolerance (a solver's N*, D*)


def _bytes(value):
    return "n/a" if value is None else f"{value / 1e9:.4g} GB"


def _interval_text(intervals, name, show):
    if intervals is None or name not in intervals:  # a figure without an interval (its ends are equal)
        return ""
    lo, hi = intervals[name]["lo"], intervals[name]["hi"]
    shown = [("unbounded" if v is None else show(v)) for v in (lo, hi)]
    return f"  [{100 * intervals['confidence']:g}%: {shown[0]} .. {shown[1]}]"


@dataclasses.dataclass(frozen=True)
class TrainingPlan(Formula):
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

    def __post_init__(self):
        object.__setattr__(self, "notes", issues(self.notes, "context"))

    @property
    def warnings(self) -> tuple:
        """The training state does not fit any count of the accelerator ("does-not-fit"); no energy ("no-power")."""
        found = list(self.hardware.warnings)
        if not self.hold.get("zero3"):
            found.append(Issue("does-not-fit", f"the training state does not fit any count of {self.hardware.accelerator.name}"))
        return tuple(found)

    def summary(self, *, intervals=None) -> str:
        """The plan as ``optimal plan`` prints it: rows ``figure  value  = how, with which assumptions``, the notes
        and the accelerator's source; ``intervals`` (the command line's bootstrap ends of each figure, or None) adds
        their ranges."""
        p = self
        hw, a, device = p.hardware, p.hardware.assumptions, p.hardware.accelerator
        shape, counts = p.shape, p.counts
        rows = [
            ("compute", f"{p.compute:.4g} FLOPs", f"= {p.flops_per_param_token:g} x N {p.n_params:.4g} x D {p.n_tokens:.4g}"
             if p.flops_per_token_from != "given" else
             f"= {p.flops_per_token:.4g} FLOPs/token x D {p.n_tokens:.4g}; with attention over {p.context} tokens, "
             f"{p.flops_per_token / (p.flops_per_param_token * p.n_params):.4g} x the {p.flops_per_param_token:g} N of the "
             "weights"),
            ("parameters", f"{p.n_params:.4g}", "dense: total = active" if p.total_params == p.n_params else
             f"active; total {p.total_params:.4g} (a mixture of experts: memory from the total)"),
            ("shape", f"{shape.n_layer} x {shape.d_model}",
             f"n_layer x d_model; {shape.n_heads} heads ({shape.kv_heads} KV) of {shape.head_width}, d_ff {shape.ffn_width}"
             f"{' gated' if shape.gated_ffn else ''}, vocab {shape.vocab_size}"
             f"{', ' + str(shape.n_experts) + ' experts (' + str(shape.experts_per_token) + ' per token)' if shape.n_experts > 1 else ''}; "
             + ("as given" if p.shape_from == "given" else
                f"an illustration {p.shape_from} ({counts.total:.4g} parameters after rounding)")),
            ("weights", _bytes(p.weights), f"{p.weight_precision}, {p.weights / p.total_params:g} bytes/param; " +
             ", ".join(f"{k} {_bytes(v)}" for k, v in p.weights_by_precision.items())
             + _interval_text(intervals, "weights_bytes", _bytes)),
            ("training state", _bytes(p.training.total_bytes),
             f"{p.training.optimizer}, {p.training.bytes_per_param:g} bytes/param = "
             + " + ".join(f"{what} {size:g}" for what, size in p.training.parts.items())
             + ("; activations not counted" if not p.activation_bytes else "")
             + _interval_text(intervals, "training_state_bytes", _bytes)),
            ("to hold it", f"{p.hold['zero3']} x {device.memory_bytes / 1e9:g} GB" if p.hold["zero3"] else "n/a",
             f"of {device.name}, fully sharded (ZeRO-3); ZeRO-1 {p.hold['zero1'] or 'at no count (its unsharded part is too big)'}"
             f", ZeRO-2 {p.hold['zero2'] or 'at no count'}, unsharded {p.hold['none'] or 'does not fit one'}"
             + (f"; with {_bytes(p.activation_bytes)} of activations on each" if p.activation_bytes else "")
             + _interval_text(intervals, "accelerators_to_hold_zero3", lambda v: f"{v:.4g}")),
        ]
        if p.per_accelerator is not None:
            rows.append(("per accelerator", _bytes(p.per_accelerator["zero3"]),
                         f"each of {hw.n_accelerators}, ZeRO-3; ZeRO-1 {_bytes(p.per_accelerator['zero1'])}, ZeRO-2 "
                         f"{_bytes(p.per_accelerator['zero2'])}, unsharded {_bytes(p.per_accelerator['none'])}"))
        kv = f"{p.kv_cache_per_token / 1e6:.4g} MB/token"
        rows.append(("KV cache", kv, f"2 x {shape.n_layer} layers x {shape.kv_heads} KV heads x {shape.head_width} x "
                     f"{p.weight_precision}" + ("" if p.context is None else
                                                 f"; {_bytes(p.kv_cache_per_sequence)} for {p.context} tokens")))
        rows.append(("accelerator-hours", f"{hw.accelerator_hours:.4g}",
                     f"= C / ({hw.peak_flops_per_second:.4g} FLOP/s {hw.precision} dense peak of {device.name} x MFU "
                     f"{hw.mfu:g} [{origin_text(a['mfu'])}]) / 3600" + _interval_text(intervals, "accelerator_hours",
                                                                                 lambda v: f"{v:.4g}")))
        if hw.wall_clock_days is not None:
            rows.append(("wall-clock", f"{hw.wall_clock_days:.4g} days", f"on {hw.n_accelerators} accelerators at once"
                         + _interval_text(intervals, "wall_clock_days", lambda v: f"{v:.4g}")))
        else:
            rows.append(("wall-clock", "n/a", "give --accelerators COUNT"))
        if hw.energy_kwh is not None:
            rows.append(("energy", energy_text(hw.energy_kwh), f"= hours x {hw.power_watts:g} W [{origin_text(a['power_watts'])}] "
                         f"x PUE {hw.pue:g} [{origin_text(a['pue'])}]" + _interval_text(intervals, "energy_kwh", energy_text)))
        else:
            rows.append(("energy", "n/a", f"{device.name} has no published power: give --power W"))
        rows.append(("cost", f"{hw.cost:.4g}", f"= hours x {hw.price_per_accelerator_hour:g} per accelerator-hour "
                     f"[{origin_text(a['price_per_accelerator_hour'])}: {a['price_per_accelerator_hour']['note']}]"
                     + _interval_text(intervals, "cost", lambda v: f"{v:.4g}")))
        width = [max(len(r[i]) for r in rows) for i in range(2)]
        lines = ["plan (each figure with the assumptions that produced it):"]
        lines += [f"  {r[0].ljust(width[0])}  {r[1].rjust(width[1])}  {r[2]}" for r in rows]
        lines += [f"  note: {note}" for note in p.notes]
        lines.append(f"  accelerator: {device.name}: {device.source}" + (f" ({device.notes})" if device.notes else ""))
        return "\n".join(lines)

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
            **{key: value for key, value in self.hardware.to_dict().items() if key not in ("compute", "status")},
            "notes": list(self.notes),
            "status": self.status.label,
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


# Bounds that keep every derived quantity finite (C = k N D, hours, bytes), far beyond any run planned today (the
# largest have ~1e12 parameters, ~1e14 tokens, ~1e26 FLOPs); N is bounded by shapes.MAX_PARAMS, and k is about 6.
MAX_TOKENS = 1e24
MAX_COMPUTE = 1e40
MAX_FLOPS_PER_PARAM_TOKEN = 1e4


def _positive(value, name, high=None, limit=""):
    """``value`` as a positive finite float, at most ``high`` (``limit``: the constant's name, for the message)."""
    number = check_positive(value, name, PlanningError)
    if high is not None and number > high:
        raise PlanningError(f"{name} {number:g} is above {high:g} ({limit}), the most a plan computes with; "
                            "check the units")
    return number


def _at_least_one(number, name, unit):
    """``number`` when it is at least 1: a run has at least one parameter and one token (below that a law's loss
    at N, D overflows)."""
    if number < 1:
        raise PlanningError(f"{name} must be at least 1 (one {unit}), got {number:g}")
    return number


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
    k = _positive(flops_per_param_token, "flops_per_param_token", MAX_FLOPS_PER_PARAM_TOKEN, "MAX_FLOPS_PER_PARAM_TOKEN")
    notes = []
    if shape is not None:
        if n_params is not None:
            raise PlanningError("give n_params or a shape, not both (a shape's active parameters are N)")
        counts = parameter_count(shape)
        n_params, total, shape_from = float(counts.active), float(counts.total), "given"
    else:
        if n_params is None:
            raise PlanningError("give n_params or a shape")
        n_params = _at_least_one(_positive(n_params, "n_params", MAX_PARAMS, "MAX_PARAMS"), "n_params", "parameter")
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
        n_tokens = _at_least_one(_positive(n_tokens, "n_tokens", MAX_TOKENS, "MAX_TOKENS"), "n_tokens", "token")
    if compute is not None:
        compute = _positive(compute, "compute", MAX_COMPUTE, "MAX_COMPUTE")
    if training_flops_per_token is None:
        per_token, per_token_from = k * n_params, "k x active parameters"
    else:
        per_token = _positive(training_flops_per_token, "training_flops_per_token", MAX_COMPUTE, "MAX_COMPUTE")
        per_token_from = "given"
    if not per_token <= MAX_COMPUTE:  # a given shape's count can be as large as its fields allow
        raise PlanningError(f"FLOPs per token {per_token:g} is above {MAX_COMPUTE:g} (MAX_COMPUTE); is the shape "
                            "right?")
    if compute is None:
        compute = per_token * n_tokens
        if compute > MAX_COMPUTE:
            raise PlanningError(f"compute = FLOPs per token x D = {per_token:g} x {n_tokens:g} = {compute:g} is above "
                                f"{MAX_COMPUTE:g} (MAX_COMPUTE), the most a plan computes with; check the units")
    elif n_tokens is None:
        n_tokens = compute / per_token
        if n_tokens < 1:
            raise PlanningError(f"compute {compute:g} FLOPs buys {n_tokens:.3g} tokens at {per_token:.4g} FLOPs per "
                                "token (below one token): give more compute or a smaller model")
    elif abs(compute / (per_token * n_tokens) - 1) > _CONSISTENT:
        raise PlanningError(f"compute {compute:g} is not FLOPs per token x D = {per_token:g} x {n_tokens:g} = "
                            f"{per_token * n_tokens:g}; give two of them")
    if context is not None:
        if check_count(context, "context", 1, error=PlanningError) > MAX_DIMENSION:
            raise PlanningError(f"context {context} is above {MAX_DIMENSION} (MAX_DIMENSION) tokens, the most a plan "
                                "computes with")
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


# The figures of a plan that bootstrap draws move, each read from a plan (``figures_of_draws`` computes them for
# every draw's N and C through the same formulas); the names are the CLI's JSON keys under "intervals".
DRAW_FIGURES = ("training_state_bytes", "weights_bytes", "accelerators_to_hold_zero3", "accelerator_hours",
                "wall_clock_days", "energy_kwh", "cost")


def figures_of_draws(plan, n_params, compute) -> dict:
    """Each draw's figures of ``plan``: ``{name: array}`` for every name of ``DRAW_FIGURES`` (None where the plan
    has none: days without a count of accelerators, energy without a power), computed for draw i's parameters
    ``n_params[i]`` (memory; a mixture's total keeps the plan's total / active ratio) and training FLOPs
    ``compute[i]`` (hours, days, energy, cost), under the plan's own assumptions (accelerator, precision, optimiser,
    MFU, PUE, power, price, activations) and its formulas (``hardware_figures``, ``TrainingMemory``,
    ``accelerators_to_hold``). A draw with no finite N or C (one that cannot reach a target loss: +inf) gives +inf.
    Arrays have the shape of ``n_params`` (draws,)."""
    n = np.asarray(n_params, dtype=np.float64)
    compute = np.broadcast_to(np.asarray(compute, dtype=np.float64), n.shape)
    total = n * (plan.total_params / plan.n_params)
    hw = plan.hardware
    training = dataclasses.replace(plan.training, n_params=total)
    hold = np.array([_hold(plan, float(t)) for t in total.ravel()], dtype=np.float64).reshape(n.shape)
    with np.errstate(over="ignore", invalid="ignore"):
        found = {"training_state_bytes": training.total_bytes,
                 "weights_bytes": total * BYTES_PER_VALUE[plan.weight_precision],
                 "accelerators_to_hold_zero3": hold,
                 **hardware_figures(compute, hw.peak_flops_per_second, hw.mfu, hw.n_accelerators, hw.power_watts, hw.pue,
                                    hw.price_per_accelerator_hour)}
    return {name: found[name] for name in DRAW_FIGURES}


def _hold(plan, total):
    """ZeRO-3's fewest accelerators for ``total`` parameters under the plan's assumptions; +inf for a draw whose N
    is not finite or needs more accelerators than any plan counts."""
    if not (math.isfinite(total) and total <= MAX_PARAMS):
        return math.inf
    try:
        found = accelerators_to_hold(dataclasses.replace(plan.training, n_params=total),
                                     plan.hardware.accelerator.memory_bytes, "zero3", plan.activation_bytes)
    except PlanningError:  # more accelerators than MAX_DIMENSION
        return math.inf
    return math.inf if found is None else found


def draw_intervals(plan, n_params, compute, confidence) -> dict:
    """The ``confidence`` percentile interval of each figure of ``figures_of_draws`` over the draws:
    ``{"confidence", name: {lo, hi, se}}`` for every figure the plan has (a bound that depends on a draw with
    unbounded N or C is None, ``unbounded_interval``). The CLI prints them beside the plan's figures
    (``TrainingPlan.summary(intervals=...)``) and writes them as JSON "intervals"."""
    out = {"confidence": float(confidence)}
    for name, values in figures_of_draws(plan, n_params, compute).items():
        if values is not None:
            out[name] = unbounded_interval(np.ravel(values), confidence)
    return out
