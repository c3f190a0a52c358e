"""Serving priced on its own terms: the serving accelerator, precision, MFU and memory bandwidth, prefill and decode
apart, the cost per million tokens, and the FLOPs weight that puts serving into the inference-aware allocation.

The model (every figure per accelerator, ideal parallelism: a model split over several accelerators costs the same
per token; KV-cache reads, attention FLOPs and communication are not counted):

- **prefill** (the prompt's tokens, processed all at once) is compute bound: ``2 N_active`` FLOPs per token at
  ``peak x mfu``, so ``t_prefill = 2 N_active / (peak x mfu)`` seconds per token;
- **decode** (generated tokens, one step for each of ``batch`` sequences at a time) is memory-bandwidth bound: each
  step reads every weight once, ``N_total x bytes_per_param`` bytes at ``bandwidth x bandwidth_utilisation``, and
  does ``2 N_active x batch`` FLOPs; the slower of the two sets the step, so
  ``t_decode = max(2 N_active / (peak x mfu), N_total x bytes / (batch x bandwidth x bandwidth_utilisation))``
  seconds per token (a mixture of experts is charged all of its weights per step: right once the batch touches
  every expert, pessimistic below);
- a served token costs ``t x price_per_accelerator_hour / 3600``; the blend is ``prompt_share x prefill +
  (1 - prompt_share) x decode``.

**The FLOPs weight.** Training spends ``price_train / (3600 x peak_train x mfu_train)`` per FLOP. A served token's
cost divided by that is the training FLOPs it is worth; per active parameter, that is the weight ``w`` that replaces
the 2 of ``2 N`` inference FLOPs per token in the inference-aware allocation (``allocation.inference``'s
``FlopsPerToken.inference_per_param``). Every term above is proportional to N (at a fixed active fraction), so
``w`` does not depend on N and the conversion is exact under this model: the allocation's "total FLOPs" become
training FLOPs plus serving cost expressed in training FLOPs.

Example:
  >>> s = serving_cost(7e9, accelerator="h100", precision="bf16", decode_batch=1, bandwidth_utilisation=1.0)
  >>> round(s.decode_seconds_per_token * 1e3, 2)  # 14 GB of bf16 weights read at 3.35 TB/s
  4.18
"""

import dataclasses
import math
import numbers

import numpy as np

from ..errors import PlanningError, as_real
from .._util.results import Formula, Issue
from .accelerators import MEMORY_BANDWIDTH, Accelerator, accelerator as find_accelerator
from .cost import DEFAULT_MFU, DEFAULT_PRICE_PER_ACCELERATOR_HOUR, SECONDS_PER_HOUR, check_price
from .memory import BYTES_PER_VALUE
from .shapes import MAX_PARAMS

DEFAULT_SERVE_MFU = DEFAULT_MFU  # prefill (and compute-bound decode) MFU: the training default, a placeholder
DEFAULT_BANDWIDTH_UTILISATION = 0.8  # achieved / peak memory bandwidth in decode: a placeholder, give your own
DEFAULT_DECODE_BATCH = 64  # sequences decoded at once: a placeholder, give your own
DEFAULT_PROMPT_SHARE = 0.5  # fraction of served tokens that are prompt (prefill) tokens: a placeholder
INFERENCE_FLOPS_PER_PARAM = 2.0  # forward-only FLOPs per active parameter per token (allocation's default)


def _number(value, name, low, high=math.inf, low_open=True):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise PlanningError(f"{name} must be a number, got {value!r}")
    number = as_real(value)  # an int beyond float64: inf, refused below
    if not (math.isfinite(number) and (number > low if low_open else number >= low) and number <= high):
        bounds = f"{'above' if low_open else 'at least'} {low:g}" + (f" and at most {high:g}" if high < math.inf else "")
        raise PlanningError(f"{name} must be {bounds}, got {value!r:.40}")
    return number


@dataclasses.dataclass(frozen=True)
class ServingCost(Formula):
    """What serving one token of a model costs (the module docstring's model). Seconds are accelerator-seconds per
    token, costs are in the price's currency per token (``*_per_million_tokens``: per 1e6 tokens).

    n_params: active parameters; total_params: the weights decode reads; accelerator, precision, peak (FLOP/s),
    bandwidth (bytes/s), bytes_per_param; prefill_seconds_per_token, decode_seconds_per_token,
    seconds_per_token (the blend at ``prompt_share``); decode_bound: "memory" or "compute";
    cost_*_per_million_tokens; accelerators_to_hold_weights (fewest accelerators whose memory holds the weights);
    assumptions: ``{name: {"value", "from"}}`` ("default" or "argument", or the table entry).
    """

    n_params: float
    total_params: float
    accelerator: str
    precision: str
    peak_flops_per_second: float
    bandwidth_bytes_per_second: float
    bytes_per_param: float
    prefill_seconds_per_token: float
    decode_seconds_per_token: float
    seconds_per_token: float
    decode_bound: str
    cost_prefill_per_million_tokens: float
    cost_decode_per_million_tokens: float
    cost_per_million_tokens: float
    accelerators_to_hold_weights: int
    assumptions: dict

    @property
    def cost_per_token(self) -> float:
        """The blended cost of one served token."""
        return self.cost_per_million_tokens / 1e6

    @property
    def notes(self) -> tuple:
        return (Issue("serving-model", "per accelerator with ideal parallelism; KV-cache reads, attention and "
                                       "communication not counted"),)

    def to_dict(self) -> dict:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["notes"] = list(self.notes)
        return out

    def summary(self) -> str:
        a = self.assumptions

        def origin(name):
            return "default" if a[name]["from"] == "default" else "given"

        return "\n".join([
            f"serving on {self.accelerator} at {self.precision} ({self.peak_flops_per_second:.4g} FLOP/s dense peak, "
            f"{self.bandwidth_bytes_per_second / 1e12:.4g} TB/s [{a['bandwidth']['from']}]); per accelerator, "
            "KV-cache reads and attention not counted",
            f"  prefill   {self.prefill_seconds_per_token:.4g} s/token = 2 x N {self.n_params:.4g} / (peak x MFU "
            f"{a['mfu']['value']:g} [{origin('mfu')}]): {self.cost_prefill_per_million_tokens:.4g} per million tokens",
            f"  decode    {self.decode_seconds_per_token:.4g} s/token, {self.decode_bound} bound = max(prefill's, "
            f"{self.total_params:.4g} params x {self.bytes_per_param:g} bytes / (batch {a['decode_batch']['value']:g} "
            f"[{origin('decode_batch')}] x bandwidth x utilisation {a['bandwidth_utilisation']['value']:g} "
            f"[{origin('bandwidth_utilisation')}])): {self.cost_decode_per_million_tokens:.4g} per million tokens",
            f"  blended   {self.cost_per_million_tokens:.4g} per million tokens at {a['prompt_share']['value']:g} "
            f"prompt tokens [{origin('prompt_share')}], price {a['price_per_accelerator_hour']['value']:g} per "
            f"accelerator-hour [{origin('price_per_accelerator_hour')}]; the weights need "
            f"{self.accelerators_to_hold_weights} accelerator(s) to hold"])


def serving_cost(n_params, *, total_params=None, accelerator="h100", precision="bf16", mfu=None,
                 bandwidth_utilisation=None, decode_batch=None, prompt_share=None, price_per_accelerator_hour=None,
                 bandwidth_bytes_per_second=None) -> ServingCost:
    """The cost of serving a model of ``n_params`` active parameters (``total_params`` held, default the same).

    Args:
      n_params, total_params: parameters (a count, up to ``MAX_PARAMS``).
      accelerator: a table name or an ``Accelerator``; its peak at ``precision`` (the weights' precision too:
        bf16, fp8, int8, ...) and its memory bandwidth (``accelerators.MEMORY_BANDWIDTH``, or
        ``bandwidth_bytes_per_second`` given, required for an accelerator outside the table).
      mfu: prefill's model FLOPs utilisation (0, 1] (default ``DEFAULT_SERVE_MFU``).
      bandwidth_utilisation: achieved / peak memory bandwidth in decode (0, 1] (default 0.8, a placeholder).
      decode_batch: sequences decoded at once, >= 1 (default 64, a placeholder).
      prompt_share: fraction of served tokens that are prompt tokens [0, 1] (default 0.5, a placeholder).
      price_per_accelerator_hour: >= 0 (default the training default, a placeholder).

    Raises ``PlanningError`` naming a bad input and its range.
    """
    n = _number(n_params, "n_params", 1.0, MAX_PARAMS, low_open=False)
    total = n if total_params is None else _number(total_params, "total_params", 1.0, MAX_PARAMS, low_open=False)
    if total < n:
        raise PlanningError(f"total_params ({total:g}) is less than the active n_params ({n:g})")
    device = find_accelerator(accelerator) if not isinstance(accelerator, Accelerator) else accelerator
    if precision not in BYTES_PER_VALUE:
        raise PlanningError(f"serving precision must be one of {', '.join(BYTES_PER_VALUE)}, got {precision!r}")
    peak = device.peak(precision)
    given = {"mfu": mfu, "bandwidth_utilisation": bandwidth_utilisation, "decode_batch": decode_batch,
             "prompt_share": prompt_share, "price_per_accelerator_hour": price_per_accelerator_hour}
    values = {"mfu": _number(DEFAULT_SERVE_MFU if mfu is None else mfu, "serving mfu", 0.0, 1.0),
              "bandwidth_utilisation": _number(DEFAULT_BANDWIDTH_UTILISATION if bandwidth_utilisation is None
                                               else bandwidth_utilisation, "bandwidth_utilisation", 0.0, 1.0),
              "decode_batch": _number(DEFAULT_DECODE_BATCH if decode_batch is None else decode_batch,
                                      "decode_batch", 1.0, 1e9, low_open=False),
              "prompt_share": _number(DEFAULT_PROMPT_SHARE if prompt_share is None else prompt_share, "prompt_share",
                                      0.0, 1.0, low_open=False),
              "price_per_accelerator_hour": check_price(DEFAULT_PRICE_PER_ACCELERATOR_HOUR
                                                        if price_per_accelerator_hour is None
                                                        else price_per_accelerator_hour,
                                                        "serving price_per_accelerator_hour")}
    if bandwidth_bytes_per_second is not None:
        bandwidth = _number(bandwidth_bytes_per_second, "bandwidth_bytes_per_second", 1e9, 1e15)
        bandwidth_from = "argument"
    elif device.name in MEMORY_BANDWIDTH:
        bandwidth, bandwidth_from = MEMORY_BANDWIDTH[device.name][0], f"{device.name} table"
    else:
        raise PlanningError(f"{device.name} has no memory bandwidth in the table: give it (--serve-bandwidth GB/s)")
    assumptions = {name: {"value": values[name], "from": "default" if given[name] is None else "argument"}
                   for name in values}
    assumptions["bandwidth"] = {"value": bandwidth, "from": bandwidth_from}
    per_byte = BYTES_PER_VALUE[precision]
    prefill = INFERENCE_FLOPS_PER_PARAM * n / (peak * values["mfu"])
    memory = total * per_byte / (values["decode_batch"] * bandwidth * values["bandwidth_utilisation"])
    decode = max(prefill, memory)
    share = values["prompt_share"]
    blend = share * prefill + (1.0 - share) * decode
    per_million = values["price_per_accelerator_hour"] / SECONDS_PER_HOUR * 1e6
    return ServingCost(
        n_params=n, total_params=total, accelerator=device.name, precision=precision, peak_flops_per_second=peak,
        bandwidth_bytes_per_second=bandwidth, bytes_per_param=per_byte, prefill_seconds_per_token=prefill,
        decode_seconds_per_token=decode, seconds_per_token=blend,
        decode_bound="memory" if memory >= prefill else "compute",
        cost_prefill_per_million_tokens=prefill * per_million, cost_decode_per_million_tokens=decode * per_million,
        cost_per_million_tokens=blend * per_million,
        accelerators_to_hold_weights=max(1, math.ceil(total * per_byte / device.memory_bytes)),
        assumptions=assumptions)


def training_cost_per_flop(accelerator="h100", precision="bf16", mfu=None, price_per_accelerator_hour=None) -> float:
    """What one training FLOP costs: ``price / (3600 x peak(precision) x mfu)`` (defaults as ``hardware_estimate``)."""
    device = find_accelerator(accelerator) if not isinstance(accelerator, Accelerator) else accelerator
    mfu = _number(DEFAULT_MFU if mfu is None else mfu, "mfu", 0.0, 1.0)
    price = check_price(DEFAULT_PRICE_PER_ACCELERATOR_HOUR if price_per_accelerator_hour is None
                        else price_per_accelerator_hour)
    return price / (SECONDS_PER_HOUR * device.peak(precision) * mfu)


def inference_flops_weight(serving: ServingCost, cost_per_training_flop) -> float:
    """The training FLOPs one served token is worth, per active parameter: ``cost_per_token / (cost_per_training_flop
    x n_params)``; it replaces the 2 of ``2 N`` inference FLOPs per token (the module docstring). Independent of N
    under the model (every term is proportional to N)."""
    if not isinstance(serving, ServingCost):
        raise PlanningError(f"serving must be a ServingCost, not {type(serving).__name__}")
    per_flop = _number(cost_per_training_flop, "cost_per_training_flop", 0.0)
    if serving.cost_per_token == 0.0:
        raise PlanningError("serving is free at a price of 0: the weight of serving would be 0; give a serving price")
    return serving.cost_per_token / (per_flop * serving.n_params)


# The figures of a served token that move with N (each draw's N through ``serving_cost``): the JSON keys of a plan's
# "serving_cost" "intervals".
SERVING_DRAW_FIGURES = ("prefill_seconds_per_token", "decode_seconds_per_token", "seconds_per_token",
                        "cost_prefill_per_million_tokens", "cost_decode_per_million_tokens", "cost_per_million_tokens",
                        "accelerators_to_hold_weights")


def serving_cost_draws(n_params, total_per_active=1.0, **options) -> dict:
    """Each draw's serving figures: ``{name: (draws,) array}`` for every name of ``SERVING_DRAW_FIGURES``, from
    ``serving_cost(n, total_params=n x total_per_active, **options)`` at each draw's active parameters ``n_params``
    (the same formulas and assumptions as the point); +inf for a draw whose N is not finite or out of range."""
    rows = []
    for n in np.ravel(np.asarray(n_params, dtype=np.float64)):
        try:
            cost = serving_cost(float(n), total_params=float(n) * total_per_active, **options)
        except PlanningError:
            if math.isfinite(n) and 1.0 <= n <= MAX_PARAMS and n * total_per_active <= MAX_PARAMS:
                raise  # a bad option, not a bad draw
            rows.append([math.inf] * len(SERVING_DRAW_FIGURES))
            continue
        rows.append([float(getattr(cost, name)) for name in SERVING_DRAW_FIGURES])
    table = np.asarray(rows, dtype=np.float64).reshape(-1, len(SERVING_DRAW_FIGURES))
    return {name: table[:, i] for i, name in enumerate(SERVING_DRAW_FIGURES)}
