"""Memory of a model: weights by precision, training state by optimiser, KV cache, and the accelerators to hold it.

Units: bytes, and decimal gigabytes (1 GB = 1e9 bytes) where a size is shown, as vendors state accelerator memory
(the "80 GB" of an H100 holds 80 GiB = 85.9e9 bytes, so counts of accelerators from its stated size err on the
safe side by up to 7%). Activations, framework buffers and fragmentation are not counted unless given
(``activation_bytes``): they depend on the batch, the context and recomputation, which a parameter count
does not fix. A mixture of experts holds every expert: memory comes from the *total* parameters (FLOPs from the
active ones).

Example:
  >>> weight_bytes(7e9, "bf16") / 1e9
  14.0
  >>> training_memory(7e9, "adam").bytes_per_param
  16.0
"""

import dataclasses
import math
import numbers

from ..errors import PlanningError, check_count, check_positive
from .._util.results import Formula, Issue
from .shapes import MAX_DIMENSION, MAX_PARAMS, TransformerShape

BYTES_PER_VALUE = {"fp32": 4.0, "tf32": 4.0, "bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "int8": 1.0, "int4": 0.5}
WEIGHT_PRECISIONS = ("fp32", "bf16", "fp16", "fp8", "int8", "int4")
# TF32 is a tensor-core compute mode on values stored as fp32; fp8 training keeps bf16 weights and gradients
# and casts to fp8 for the matrix products (NVIDIA Transformer Engine; DeepSeek-AI 2024, DeepSeek-V3 section 3.3)
TRAINING_PRECISIONS = ("fp32", "tf32", "bf16", "fp16", "fp8")
SHARDING = ("none", "zero1", "zero2", "zero3")


@dataclasses.dataclass(frozen=True)
class Optimizer:
    """An optimiser's state, in bytes per parameter, beside the weights and gradients.

    state: ``((what, bytes per parameter), ...)`` kept in mixed-precision training, the fp32 master copy of the
    weights first. source: where the count comes from, or the assumption it rests on.
    """

    name: str
    state: tuple
    source: str

    @property
    def state_bytes_per_param(self) -> float:
        return float(sum(size for _, size in self.state))


OPTIMIZERS = {
    "adam": Optimizer("adam", (("fp32 master weights", 4.0), ("first moment m (fp32)", 4.0), ("second moment v (fp32)", 4.0)),
                      "Rajbhandari et al. 2019 (ZeRO), section 3.1: mixed-precision Adam keeps K = 12 bytes of optimiser "
                      "state per parameter (fp32 weights, momentum, variance) beside 2 + 2 bytes of fp16 weights and "
                      "gradients: 16 bytes in all"),
    "sgd": Optimizer("sgd", (("fp32 master weights", 4.0), ("momentum (fp32)", 4.0)),
                     "assumption: ZeRO's mixed-precision accounting (Rajbhandari et al. 2019, section 3.1) with one fp32 "
                     "momentum buffer in place of Adam's two moments: 12 bytes in all"),
    "adafactor": Optimizer("adafactor", (("fp32 master weights", 4.0), ("factored second moment", 0.0)),
                           "Shazeer and Stern 2018 (Adafactor): no first moment (beta1 = 0) and a second moment factored "
                           "into row and column sums, (rows + columns) values per matrix, counted here as 0 per "
                           "parameter; with ZeRO's mixed-precision accounting: 8 bytes in all"),
    "adam-8bit": Optimizer("adam-8bit", (("fp32 master weights", 4.0), ("first moment m (8-bit)", 1.0),
                                         ("second moment v (8-bit)", 1.0)),
                           "Dettmers et al. 2022 (8-bit Optimizers via Block-wise Quantization): Adam's moments in 1 byte "
                           "each, the block-wise scales (one per 2048 values) counted as 0; with ZeRO's mixed-precision "
                           "accounting: 10 bytes in all"),
}
OPTIMIZERS["adamw"] = dataclasses.replace(OPTIMIZERS["adam"], name="adamw")  # the same state as Adam


def _count(value, name, high=None):
    """``value`` as a positive finite float, at most ``high`` (so that the bytes derived from it stay finite)."""
    number = check_positive(value, name, PlanningError)
    if high is not None and number > high:
        raise PlanningError(f"{name} {number:g} is above {high:g}, the most a plan computes with; check the units")
    return number


def _choice(value, allowed, name):
    if value not in allowed:
        raise PlanningError(f"unknown {name} {value!r}; choose one of {', '.join(allowed)}")
    return value


def weight_bytes(n_params, precision="bf16") -> float:
    """Bytes of ``n_params`` weights stored at ``precision`` (fp32 4, bf16/fp16 2, fp8/int8 1, int4 0.5 bytes each;
    quantisation scales are not counted)."""
    return _count(n_params, "n_params", MAX_PARAMS) * BYTES_PER_VALUE[_choice(precision, WEIGHT_PRECISIONS, "weight precision")]


def weights_by_precision(n_params) -> dict:
    """``{precision: bytes}`` for every weight precision (a 7B model: 28, 14, 14, 7, 7, 3.5 GB)."""
    return {precision: weight_bytes(n_params, precision) for precision in WEIGHT_PRECISIONS}


@dataclasses.dataclass(frozen=True)
class TrainingMemory(Formula):
    """The training state of a model: weights, gradients and optimiser state (bytes; activations excluded).

    ``parts`` is ``{what: bytes per parameter}``; ``weights_and_gradients`` is the part every data-parallel replica
    keeps unless sharded (ZeRO-2/3), ``optimizer_state`` the part ZeRO-1 shards first.
    """

    n_params: float
    optimizer: str
    precision: str
    parts: dict
    source: str

    @property
    def bytes_per_param(self) -> float:
        return float(sum(self.parts.values()))

    @property
    def weight_bytes(self) -> float:
        return self.n_params * self.parts["weights"]

    @property
    def gradient_bytes(self) -> float:
        return self.n_params * self.parts["gradients"]

    @property
    def optimizer_state_bytes(self) -> float:
        return self.total_bytes - self.weight_bytes - self.gradient_bytes

    @property
    def total_bytes(self) -> float:
        return self.n_params * self.bytes_per_param


    @property
    def notes(self) -> tuple:
        return (Issue("activations", "activations are not counted"), Issue("source", self.source))

    def summary(self) -> str:
        """One line: the bytes and their parts per parameter."""
        return (f"training state of {self.n_params:.4g} parameters: {self.total_bytes / 1e9:.4g} GB ({self.optimizer}, "
                f"{self.precision}, {self.bytes_per_param:g} bytes/param = "
                + " + ".join(f"{what} {size:g}" for what, size in self.parts.items()) + ")")

    def to_dict(self) -> dict:
        return {"n_params": self.n_params, "optimizer": self.optimizer, "precision": self.precision,
                "bytes_per_param": self.bytes_per_param, "bytes_per_param_parts": dict(self.parts),
                "bytes": self.total_bytes, "source": self.source}


def training_memory(n_params, optimizer="adam", precision="bf16") -> TrainingMemory:
    """The training state of ``n_params`` parameters (the *total* parameters of a mixture of experts).

    With a 16-bit ``precision`` (bf16, fp16, or fp8 compute on bf16 storage): 2 bytes of weights and 2 of
    gradients per parameter, plus the optimiser's state including an fp32 master copy of the weights. With fp32
    (or tf32): 4 bytes of weights (the master copy itself) and 4 of gradients, plus the optimiser's moments.
    Mixed-precision Adam: 2 + 2 + 12 = 16 bytes per parameter (Rajbhandari et al. 2019, ZeRO section 3.1).
    """
    n_params = _count(n_params, "n_params", MAX_PARAMS)
    _choice(precision, TRAINING_PRECISIONS, "training precision")
    spec = OPTIMIZERS[_choice(optimizer, tuple(OPTIMIZERS), "optimizer")]
    full = precision in ("fp32", "tf32")
    parts = {"weights": 4.0 if full else 2.0, "gradients": 4.0 if full else 2.0}
    for what, size in spec.state:
        if not (full and what.startswith("fp32 master")):  # fp32 training's weights are the master copy
            parts[what] = size
    return TrainingMemory(n_params, optimizer, precision, parts, spec.source)


def kv_cache_bytes(shape, tokens=1, precision="bf16") -> float:
    """Bytes of the attention keys and values kept for ``tokens`` tokens (a batch times its context):
    ``2 x n_layer x n_kv_heads x d_head x bytes`` per token (the 2: a key and a value).

    Example (Llama-2-7B, bf16: 0.5 MiB per token):
      >>> from optimal.planning.shapes import PUBLISHED_SHAPES
      >>> kv_cache_bytes(PUBLISHED_SHAPES["llama2-7b"].shape)
      524288.0
    """
    if not isinstance(shape, TransformerShape):
        raise PlanningError(f"shape must be a TransformerShape, not {type(shape).__name__}")
    size = BYTES_PER_VALUE[_choice(precision, WEIGHT_PRECISIONS, "KV-cache precision")]
    return 2.0 * shape.n_layer * shape.kv_heads * shape.head_width * size * _count(tokens, "tokens", MAX_DIMENSION)


def _replicated_and_sharded(memory, sharding):
    """Bytes every accelerator keeps whole, and bytes split evenly across them, under a ZeRO stage
    (Rajbhandari et al. 2019, section 5: stage 1 shards the optimiser state, 2 also the gradients, 3 also the
    weights)."""
    w, g, o = memory.weight_bytes, memory.gradient_bytes, memory.optimizer_state_bytes
    return {"none": (w + g + o, 0.0), "zero1": (w + g, o), "zero2": (w, g + o), "zero3": (0.0, w + g + o)}[sharding]


def bytes_per_accelerator(memory, n_accelerators, sharding="zero3", activation_bytes=0.0) -> float:
    """Bytes each of ``n_accelerators`` holds: the replicated part whole, the sharded part split evenly, plus
    ``activation_bytes`` (per accelerator, 0 unless given)."""
    replicated, sharded = _replicated_and_sharded(memory, _choice(sharding, SHARDING, "sharding"))
    n = _whole(n_accelerators, "n_accelerators")
    return replicated + sharded / n + _nonnegative(activation_bytes, "activation_bytes")


def accelerators_to_hold(memory, accelerator_bytes, sharding="zero3", activation_bytes=0.0):
    """The fewest accelerators of ``accelerator_bytes`` each that hold the training state ``memory`` (a
    ``TrainingMemory``) under ``sharding`` ("none": every data-parallel replica holds it all; "zero1", "zero2",
    "zero3": ZeRO's stages), or None when no number of them can (the replicated part alone does not fit).

    With "zero3" this is the state divided by one accelerator's memory, rounded up: 1e12 parameters of bf16
    weights alone (2 TB) need 25 accelerators of 80 GB.
    """
    if not isinstance(memory, TrainingMemory):
        raise PlanningError(f"memory must be a TrainingMemory, not {type(memory).__name__}")
    replicated, sharded = _replicated_and_sharded(memory, _choice(sharding, SHARDING, "sharding"))
    room = _count(accelerator_bytes, "accelerator_bytes") - replicated - _nonnegative(activation_bytes, "activation_bytes")
    return _fewest(sharded, room)


def accelerators_for_weights(n_params, accelerator_bytes, precision="bf16") -> int:
    """The fewest accelerators of ``accelerator_bytes`` that hold ``n_params`` weights at ``precision``, split
    evenly (weights only: no KV cache, no activations). 1e12 parameters in bf16 on 80 GB: 25."""
    return _fewest(weight_bytes(n_params, precision), _count(accelerator_bytes, "accelerator_bytes"))


def _fewest(sharded, room):
    if room <= 0:
        return None
    # a few float64 roundings below: a quotient that is whole in exact arithmetic (2e12 / 80e9 = 25) but carries a
    # rounding error from the products before it must not round up to the next count
    needed = sharded / room * (1 - 1e-15)
    if not needed <= MAX_DIMENSION:  # inf too: a room of a few bytes
        raise PlanningError(f"holding {sharded:g} bytes in {room:g} bytes per accelerator needs {needed:g} "
                            f"accelerators, more than {MAX_DIMENSION:g}; check the accelerator's memory")
    return max(1, math.ceil(needed))


def _whole(value, name):
    return check_count(value, name, 1, error=PlanningError)


def _nonnegative(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (math.isfinite(value) and value >= 0):
        raise PlanningError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)
