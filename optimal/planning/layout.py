"""Laying a training run out over accelerators: tensor (t), pipeline (p), data (d) and expert (e) parallel degrees
with a ZeRO stage, the memory each accelerator holds, the largest micro-batch that fits, and a search for the
layout with the best estimated throughput.

Memory per accelerator (bytes; the busiest one, the first pipeline stage):

- parameters held: the transformer layers split t x p ways (the first stage's ``ceil(L/p)`` of L layers), a
  mixture's experts further split e ways, and the input embedding (plus the unembedding when p = 1 and it is not
  tied) split t ways, as Megatron-LM's ``megatron/training/theoretical_memory_usage.py`` places them;
- weights, gradients and optimiser state of those parameters at ``training_memory``'s bytes per parameter (16 for
  mixed-precision Adam: 2 + 2 + 12, Rajbhandari et al. 2019, ZeRO section 3.1), ZeRO stage 1 sharding the optimiser
  state over the d data-parallel replicas, stage 2 also the gradients, stage 3 also the weights (section 5);
  experts are sharded over their own d / e replicas;
- activations from ``activation_memory`` (Korthikanti et al. 2022), or a figure given instead.

Megatron-LM counts 18 bytes per parameter for the same mixed-precision Adam, not 16: its gradients are accumulated
in fp32 (bf16 weights 2 + fp32 main gradients 4 + fp32 master weights and two moments 12; the table in Megatron-LM's
``docs/api-guide/dist_optimizer.md``, and ``num_bytes_per_parameter = 18`` in
``megatron/training/theoretical_memory_usage.py``). This module keeps ZeRO's 16 (gradients in the training
precision); a run with fp32 gradient accumulation needs 2 bytes per parameter more than shown.

The throughput model of ``search_layouts`` (stated in every result's ``assumptions``): relative throughput =
1 / (recompute factor x (1 + (p - 1) / m)), m = micro-batches per pipeline per step = global batch / (d b).
(p - 1) / m is the 1F1B pipeline's bubble as a fraction of the ideal time (Narayanan et al. 2021, section 2.2.1).
The recompute factor is the FLOPs done over the model's FLOPs: 1 without recomputation, (1 + s/3h + v/12hL) /
(1 + s/6h + v/12hL) with selective recomputation (Korthikanti et al. 2022, appendix A, Eq. 7 and 8) and 4/3 with full
recomputation (one more forward pass, a third of forward plus backward; Korthikanti et al. measured 39% on one
22B layer, Table 4). Tensor parallelism stays within a node (Narayanan et al. 2021, section 3.2, takeaway 1) and
must divide the heads; sequence parallelism is on whenever t > 1 (it adds no communication: Korthikanti et al.,
section 4.2.2). Communication time is not modelled otherwise: among layouts of equal estimated throughput the search
prefers less model parallelism (t p, then t), then the lower ZeRO stage, then fewer expert groups.

Example (GPT-3 175B on 64 accelerators of 80 GB, t = 8, p = 8, sequence parallel, selective recomputation):
  >>> from optimal.planning.shapes import PUBLISHED_SHAPES
  >>> gpt3 = PUBLISHED_SHAPES["gpt3-175b"].shape
  >>> layout = Layout(tensor=8, pipeline=8, data=1, sequence_parallel=True, recompute="selective")
  >>> round(memory_per_accelerator(175e9, gpt3, layout, micro_batch=1, context=2048) / 1e9, 1)
  55.2
"""

import dataclasses
import math
import numbers

from ..errors import PlanningError, check_count
from .._util.results import Formula, Issue
from .accelerators import Accelerator, accelerator as find_accelerator
from .activations import RECOMPUTE, ActivationMemory, activation_memory
from .memory import OPTIMIZERS, training_memory
from .shapes import MAX_DIMENSION, MAX_PARAMS, TransformerShape, parameter_count

ZERO_STAGES = (0, 1, 2, 3)
DEFAULT_ACCELERATORS_PER_NODE = 8  # a DGX/HGX node of 8 GPUs joined by NVLink
DEFAULT_GLOBAL_BATCH_TOKENS = 2**22  # an assumption (about 4M tokens per step), not a published figure: give yours
MEGATRON_BYTES_PER_PARAM = 18.0  # Megatron-LM docs/api-guide/dist_optimizer.md: bf16 parameters, fp32 gradients
FULL_RECOMPUTE_FACTOR = 4.0 / 3.0  # one more forward pass: forward is 2 of forward-plus-backward's 6 FLOPs/param/token
MEGATRON_NOTE = ("Megatron-LM counts 18 bytes/param for mixed-precision Adam (bf16 weights 2 + fp32 main gradients 4 "
                 "+ fp32 master weights and moments 12: Megatron-LM docs/api-guide/dist_optimizer.md); this plan "
                 "counts ZeRO's 16 (gradients in the training precision)")


def _degree(value, name, high=MAX_DIMENSION):
    return check_count(value, name, 1, high, error=PlanningError)


@dataclasses.dataclass(frozen=True)
class Layout:
    """Parallel degrees of a run: ``tensor`` (t), ``pipeline`` (p), ``data`` (d, replicas of the model) and
    ``expert`` (e, expert-parallel groups carved out of the data-parallel replicas: e divides d), a ``zero``
    stage (0-3: shard nothing, the optimiser state, also the gradients, also the weights over the d replicas),
    ``sequence_parallel`` (Korthikanti et al.'s, over the tensor-parallel group) and ``recompute`` ("none",
    "selective", "full"). Accelerators: t x p x d."""

    tensor: int = 1
    pipeline: int = 1
    data: int = 1
    expert: int = 1
    zero: int = 0
    sequence_parallel: bool = False
    recompute: str = "none"

    def __post_init__(self):
        for name in ("tensor", "pipeline", "data", "expert"):
            _degree(getattr(self, name), name)
        if isinstance(self.zero, bool) or self.zero not in ZERO_STAGES:
            raise PlanningError(f"zero must be a ZeRO stage 0, 1, 2 or 3, got {self.zero!r}")
        if not isinstance(self.sequence_parallel, bool):
            raise PlanningError(f"sequence_parallel must be true or false, got {self.sequence_parallel!r}")
        if self.recompute not in RECOMPUTE:
            raise PlanningError(f"unknown recompute {self.recompute!r}; choose one of {', '.join(RECOMPUTE)}")
        if self.data % self.expert:
            raise PlanningError(f"expert parallel degree {self.expert} must divide the data-parallel degree "
                                f"{self.data} (experts are split across data-parallel replicas)")
        if self.n_accelerators > MAX_DIMENSION:
            raise PlanningError(f"t x p x d = {self.n_accelerators} accelerators is more than {MAX_DIMENSION}")

    @property
    def n_accelerators(self) -> int:
        return self.tensor * self.pipeline * self.data

    def to_dict(self) -> dict:
        return {"tensor_parallel": self.tensor, "pipeline_parallel": self.pipeline, "data_parallel": self.data,
                "expert_parallel": self.expert, "zero_stage": self.zero, "sequence_parallel": self.sequence_parallel,
                "recompute": self.recompute, "accelerators": self.n_accelerators}

    def summary(self) -> str:
        return (f"TP {self.tensor} x PP {self.pipeline} x DP {self.data}"
                + (f" (EP {self.expert})" if self.expert > 1 else "")
                + f", ZeRO-{self.zero}, {'sequence parallel, ' if self.sequence_parallel else ''}"
                  f"recompute {self.recompute}")


@dataclasses.dataclass(frozen=True)
class LayoutMemory(Formula):
    """Bytes on the busiest accelerator (the first pipeline stage) under ``layout``.

    params_held: parameters on it before ZeRO shards them (``parts``: layers, experts, embedding).
    weights, gradients, optimizer_state: bytes after ZeRO. activations: bytes (``activation`` holds Korthikanti's
    breakdown, or None when the figure was given: ``activation_from``). total_bytes: their sum.
    bytes_per_param: the training state's (16 for mixed-precision Adam).
    """

    layout: Layout
    n_params: float
    micro_batch: int
    context: int
    optimizer: str
    precision: str
    bytes_per_param: float
    params_held: float
    parts: dict
    weights: float
    gradients: float
    optimizer_state: float
    activations: float
    activation: ActivationMemory | None
    activation_from: str

    @property
    def total_bytes(self) -> float:
        return self.weights + self.gradients + self.optimizer_state + self.activations

    @property
    def model_state_bytes(self) -> float:
        return self.weights + self.gradients + self.optimizer_state

    @property
    def notes(self) -> tuple:
        found = [Issue("bytes-per-param", MEGATRON_NOTE)]
        if self.activation is not None:
            found += list(self.activation.notes)
        else:
            found.append(Issue("activations", f"activations {self.activation_from}"))
        found.append(Issue("not-counted", "framework buffers, communication buffers and fragmentation are not counted"))
        return tuple(found)

    def summary(self) -> str:
        return (f"{self.total_bytes / 1e9:.4g} GB per accelerator ({self.layout.summary()}): weights "
                f"{self.weights / 1e9:.4g} + gradients {self.gradients / 1e9:.4g} + optimizer state "
                f"{self.optimizer_state / 1e9:.4g} + activations {self.activations / 1e9:.4g} GB; "
                f"{self.params_held:.4g} parameters held before ZeRO")

    def to_dict(self) -> dict:
        return {"layout": self.layout.to_dict(), "n_params": self.n_params, "micro_batch": self.micro_batch,
                "context": self.context, "optimizer": self.optimizer, "precision": self.precision,
                "bytes_per_param": self.bytes_per_param, "megatron_bytes_per_param": MEGATRON_BYTES_PER_PARAM,
                "params_held": self.params_held, "params_held_parts": dict(self.parts),
                "weights_bytes": self.weights, "gradients_bytes": self.gradients,
                "optimizer_state_bytes": self.optimizer_state, "activation_bytes": self.activations,
                "activations": None if self.activation is None else self.activation.to_dict(),
                "activations_from": self.activation_from, "total_bytes": self.total_bytes,
                "notes": [note.to_dict() for note in self.notes], "status": self.status.label}


def _check_fit(shape, layout):
    if not isinstance(shape, TransformerShape):
        raise PlanningError(f"shape must be a TransformerShape, not {type(shape).__name__}")
    if not isinstance(layout, Layout):
        raise PlanningError(f"layout must be a Layout, not {type(layout).__name__}")
    if shape.n_heads % layout.tensor:
        raise PlanningError(f"tensor parallel degree {layout.tensor} must divide the {shape.n_heads} heads")
    if layout.pipeline > shape.n_layer:
        raise PlanningError(f"pipeline parallel degree {layout.pipeline} is more than the {shape.n_layer} layers")
    if layout.expert > 1 and shape.n_experts % layout.expert:
        raise PlanningError(f"expert parallel degree {layout.expert} must divide the shape's {shape.n_experts} "
                            "experts (a dense model has 1)")


def _held(n_params, shape, layout):
    """Parameters on the first pipeline stage of one tensor-parallel rank, by part, before ZeRO: the shape's
    proportions applied to ``n_params``."""
    counts = parameter_count(shape)
    t, p, e = layout.tensor, layout.pipeline, layout.expert
    first_embedding = shape.vocab_size * shape.d_model + shape.positions * shape.d_model
    if p == 1 and not shape.tied_embeddings:
        first_embedding += shape.vocab_size * shape.d_model  # the unembedding sits on the last stage, here the first
    experts = counts.parts["ffn"] if shape.n_experts > 1 else 0
    layers = counts.total - counts.embedding - experts
    share = math.ceil(shape.n_layer / p) / shape.n_layer
    scale = n_params / counts.total
    return {"layers": scale * layers * share / t, "experts": scale * experts * share / (t * e),
            "embedding": scale * first_embedding / t}


def layout_memory(n_params, shape, layout, micro_batch, context, *, optimizer="adam", precision="bf16",
                  n_microbatches=None, activation_bytes=None) -> LayoutMemory:
    """Bytes on the busiest accelerator of ``layout`` (module docstring): weights, gradients, optimiser state and
    activations. ``n_params``: total parameters (every expert); ``shape``: the ``TransformerShape`` whose proportions
    place them (and whose h, a, L, v size the activations); ``micro_batch`` sequences of ``context`` tokens;
    ``n_microbatches``: per pipeline per step (None: enough to fill the pipeline); ``activation_bytes``: a figure
    to use instead of Korthikanti et al.'s (bytes per accelerator)."""
    if isinstance(n_params, bool) or not isinstance(n_params, numbers.Real) or not 1.0 <= n_params <= MAX_PARAMS:
        raise PlanningError(f"n_params must be a number from 1 to {MAX_PARAMS:g}, got {n_params!r}")
    _check_fit(shape, layout)
    state = training_memory(n_params, optimizer, precision)
    weights_pp, gradients_pp = state.parts["weights"], state.parts["gradients"]
    optimizer_pp = state.bytes_per_param - weights_pp - gradients_pp
    parts = _held(float(n_params), shape, layout)
    d, expert_replicas = layout.data, layout.data // layout.expert
    weights = gradients = optimizer_state = 0.0
    for part, count in parts.items():
        replicas = expert_replicas if part == "experts" else d
        weights += count * weights_pp / (replicas if layout.zero >= 3 else 1)
        gradients += count * gradients_pp / (replicas if layout.zero >= 2 else 1)
        optimizer_state += count * optimizer_pp / (replicas if layout.zero >= 1 else 1)
    activation = activation_memory(shape, micro_batch, context, tensor_parallel=layout.tensor,
                                   pipeline_parallel=layout.pipeline, sequence_parallel=layout.sequence_parallel,
                                   recompute=layout.recompute, n_microbatches=n_microbatches)
    if activation_bytes is None:
        activations, source, kept = activation.total, "Korthikanti et al. 2022", activation
    else:
        if isinstance(activation_bytes, bool) or not isinstance(activation_bytes, numbers.Real) or \
                not (math.isfinite(activation_bytes) and activation_bytes >= 0):
            raise PlanningError(f"activation_bytes must be a finite number >= 0, got {activation_bytes!r}")
        activations, source, kept = float(activation_bytes), "given (in place of Korthikanti et al.'s estimate)", None
    return LayoutMemory(layout=layout, n_params=float(n_params), micro_batch=activation.micro_batch,
                        context=activation.context, optimizer=optimizer, precision=precision,
                        bytes_per_param=state.bytes_per_param, params_held=sum(parts.values()), parts=parts,
                        weights=weights, gradients=gradients, optimizer_state=optimizer_state,
                        activations=activations, activation=kept, activation_from=source)


def memory_per_accelerator(n_params, shape, layout, micro_batch, context, *, optimizer="adam", precision="bf16",
                           n_microbatches=None, activation_bytes=None) -> float:
    """Bytes on the busiest accelerator of ``layout``: ``layout_memory(...).total_bytes`` (same arguments).
    A plain float, for callers that only compare it with an accelerator's memory."""
    return layout_memory(n_params, shape, layout, micro_batch, context, optimizer=optimizer, precision=precision,
                         n_microbatches=n_microbatches, activation_bytes=activation_bytes).total_bytes


def _memory_bytes(accelerator):
    if isinstance(accelerator, Accelerator):
        return float(accelerator.memory_bytes)
    if isinstance(accelerator, str):
        return float(find_accelerator(accelerator).memory_bytes)
    if isinstance(accelerator, bool) or not isinstance(accelerator, numbers.Real) or not (
            math.isfinite(accelerator) and accelerator > 0):
        raise PlanningError(f"accelerator must be a name, an Accelerator or its memory in bytes, got {accelerator!r}")
    return float(accelerator)


def largest_micro_batch(n_params, shape, layout, context, accelerator, *, optimizer="adam", precision="bf16",
                        n_microbatches=None) -> int:
    """The largest micro-batch (sequences) whose memory on the busiest accelerator fits ``accelerator`` (a name,
    an ``Accelerator`` or bytes); 0 when not even one sequence fits. Activations grow linearly with the
    micro-batch, the rest does not."""
    room = _memory_bytes(accelerator)
    one = layout_memory(n_params, shape, layout, 1, context, optimizer=optimizer, precision=precision,
                        n_microbatches=n_microbatches)
    free = room - one.model_state_bytes
    if free < one.activations:
        return 0
    b = min(MAX_DIMENSION, int(free // one.activations))
    # the division can land one off by rounding: settle on the exact comparison

    def fits(size):
        return memory_per_accelerator(n_params, shape, layout, size, context, optimizer=optimizer, precision=precision,
                                      n_microbatches=n_microbatches) <= room

    while b > 1 and not fits(b):
        b -= 1
    while b < MAX_DIMENSION and fits(b + 1):
        b += 1
    return b


def recompute_factor(recompute, shape, context) -> float:
    """FLOPs done over the model's FLOPs: 1 ("none"), (1 + s/3h + v/12hL) / (1 + s/6h + v/12hL) ("selective":
    Korthikanti et al. 2022, appendix A, Eq. 8 over Eq. 7) or 4/3 ("full": one more forward pass)."""
    if recompute == "none":
        return 1.0
    if recompute == "full":
        return FULL_RECOMPUTE_FACTOR
    h, s, v, L = shape.d_model, context, shape.vocab_size, shape.n_layer
    tail = v / (12.0 * h * L)
    return (1.0 + s / (3.0 * h) + tail) / (1.0 + s / (6.0 * h) + tail)


@dataclasses.dataclass(frozen=True)
class LayoutCandidate:
    """One feasible layout with its memory and its estimated throughput (relative: 1 = no bubble, no
    recomputation)."""

    memory: LayoutMemory
    n_microbatches: int
    bubble: float
    recompute_factor: float

    @property
    def layout(self) -> Layout:
        return self.memory.layout

    @property
    def relative_throughput(self) -> float:
        return 1.0 / (self.recompute_factor * (1.0 + self.bubble))

    def to_dict(self) -> dict:
        return {**self.layout.to_dict(), "relative_throughput": self.relative_throughput,
                "pipeline_bubble": self.bubble, "recompute_factor": self.recompute_factor,
                "micro_batches_per_step": self.n_microbatches, "bytes_per_accelerator": self.memory.total_bytes,
                "activation_bytes_per_accelerator": self.memory.activations}


@dataclasses.dataclass(frozen=True)
class LayoutSearch(Formula):
    """The feasible layout with the best estimated throughput (``best``, None when none fits), the runners-up
    (``ranked``: the best few, best first), how many layouts were tried and fit, and the assumptions of the model
    (``assumptions``: ``{name: {"value", "from", "note"}}``)."""

    best: LayoutCandidate | None
    ranked: tuple
    tried: int
    feasible: int
    accelerator_bytes: float
    n_accelerators: int
    assumptions: dict

    @property
    def warnings(self) -> tuple:
        if self.best is not None:
            return ()
        return (Issue("no-feasible-layout", f"no layout of {self.n_accelerators} accelerators holds the run in "
                                            f"{self.accelerator_bytes / 1e9:g} GB each (tried {self.tried})"),)

    @property
    def notes(self) -> tuple:
        return tuple(Issue("assumption", f"{name}: {entry['value']} ({entry['from']}): {entry['note']}")
                     for name, entry in self.assumptions.items())

    def summary(self) -> str:
        if self.best is None:
            return f"layout search: {self.warnings[0]}"
        c = self.best
        return (f"best layout: {c.layout.summary()}, relative throughput {c.relative_throughput:.4g} (bubble "
                f"{c.bubble:.3g} of ideal time, recompute x{c.recompute_factor:.4g}, {c.n_microbatches} micro-batches "
                f"per step); {c.memory.total_bytes / 1e9:.4g} of {self.accelerator_bytes / 1e9:g} GB per accelerator "
                f"({self.feasible} of {self.tried} layouts fit)")

    def to_dict(self) -> dict:
        return {"best": None if self.best is None else self.best.to_dict(),
                "best_memory": None if self.best is None else self.best.memory.to_dict(),
                "ranked": [c.to_dict() for c in self.ranked], "tried": self.tried, "feasible": self.feasible,
                "accelerator_memory_bytes": self.accelerator_bytes, "accelerators": self.n_accelerators,
                "throughput_model": "relative throughput = 1 / (recompute_factor x (1 + (p - 1) / m)), m = global "
                                    "batch / (d x micro-batch)",
                "assumptions": self.assumptions, "warnings": [w.to_dict() for w in self.warnings],
                "status": self.status.label}


def _divisors(n):
    """The divisors of ``n`` in increasing order, in O(sqrt n) steps (a loop to n never ended at 1e9 accelerators)."""
    small = [k for k in range(1, math.isqrt(n) + 1) if n % k == 0]
    return small + [n // k for k in reversed(small) if k * k != n]


def search_layouts(n_params, shape, n_accelerators, accelerator, context, *, micro_batch=None, global_batch=None,
                   accelerators_per_node=DEFAULT_ACCELERATORS_PER_NODE, optimizer="adam", precision="bf16",
                   zero_stages=ZERO_STAGES, recompute=RECOMPUTE, keep=5) -> LayoutSearch:
    """Every (t, p, d, e, ZeRO stage, recompute) on ``n_accelerators`` that fits ``accelerator`` (a name, an
    ``Accelerator`` or bytes), ranked by the module docstring's throughput model; ``best`` is the first.

    Args:
      n_params, shape: as ``layout_memory``. context: tokens per sequence.
      micro_batch: sequences per micro-batch; None: 1 (the model has no per-micro-batch efficiency: give yours).
      global_batch: sequences per step; None: ``DEFAULT_GLOBAL_BATCH_TOKENS / context`` (an assumption).
      accelerators_per_node: the largest tensor-parallel degree (t stays within a node).
      zero_stages, recompute: the choices to try. keep: how many ranked layouts to return.
    """
    _check_fit(shape, Layout())
    room = _memory_bytes(accelerator)
    n = _degree(n_accelerators, "n_accelerators")
    b = 1 if micro_batch is None else _degree(micro_batch, "micro_batch")
    s = _degree(context, "context")
    per_node = _degree(accelerators_per_node, "accelerators_per_node")
    keep = check_count(keep, "keep", 0, error=PlanningError)  # 1.5 was a TypeError, -1 dropped the last layout
    if global_batch is None:
        batch, batch_from = max(1, round(DEFAULT_GLOBAL_BATCH_TOKENS / s)), "default"
    else:
        batch, batch_from = _degree(global_batch, "global_batch"), "argument"
    for stage in tuple(zero_stages):
        if isinstance(stage, bool) or stage not in ZERO_STAGES:
            raise PlanningError(f"zero stages must be among 0, 1, 2, 3, got {stage!r}")
    for choice in recompute:
        if choice not in RECOMPUTE:
            raise PlanningError(f"unknown recompute {choice!r}; choose among {', '.join(RECOMPUTE)}")
    if optimizer not in OPTIMIZERS:
        raise PlanningError(f"unknown optimizer {optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")
    tried, found = 0, []
    for t in _divisors(n):
        if t > per_node or shape.n_heads % t:
            continue
        for p in _divisors(n // t):
            if p > shape.n_layer:
                continue
            d = n // (t * p)
            m = batch // (d * b)
            if m < 1:
                continue
            bubble = (p - 1) / m
            for e in _divisors(d):
                if e > 1 and (shape.n_experts == 1 or shape.n_experts % e):
                    continue
                for stage in zero_stages:
                    for choice in recompute:
                        tried += 1
                        layout = Layout(t, p, d, e, stage, t > 1, choice)
                        memory = layout_memory(n_params, shape, layout, b, s, optimizer=optimizer, precision=precision,
                                               n_microbatches=m)
                        if memory.total_bytes <= room:
                            found.append(LayoutCandidate(memory, m, bubble, recompute_factor(choice, shape, s)))
    order = {name: i for i, name in enumerate(RECOMPUTE)}
    found.sort(key=lambda c: (-round(c.relative_throughput, 12), c.layout.tensor * c.layout.pipeline,
                              c.layout.tensor, c.layout.zero, order[c.layout.recompute], c.layout.expert))
    assumptions = {
        "global_batch": {"value": batch, "from": batch_from,
                         "note": "sequences per step" + (f" (about {DEFAULT_GLOBAL_BATCH_TOKENS:,} tokens; give yours)"
                                                         if batch_from == "default" else "")},
        "micro_batch": {"value": b, "from": "default" if micro_batch is None else "argument",
                        "note": "sequences per micro-batch; the throughput model has no per-micro-batch efficiency"},
        "accelerators_per_node": {"value": per_node, "from": "argument" if accelerators_per_node !=
                                  DEFAULT_ACCELERATORS_PER_NODE else "default",
                                  "note": "tensor parallelism stays within a node (Narayanan et al. 2021, takeaway 1)"},
        "pipeline_bubble": {"value": "(p - 1) / m", "from": "model",
                            "note": "1F1B schedule, bubble over ideal time (Narayanan et al. 2021, section 2.2.1)"},
        "recompute_factor": {"value": "none 1, selective (1 + s/3h + v/12hL)/(1 + s/6h + v/12hL), full 4/3",
                             "from": "model", "note": "FLOPs done over model FLOPs (Korthikanti et al. 2022, "
                                                      "appendix A; full: one more forward pass)"},
        "sequence_parallel": {"value": "on when t > 1", "from": "model",
                              "note": "no extra communication (Korthikanti et al. 2022, section 4.2.2)"},
        "communication": {"value": "not modelled", "from": "model",
                          "note": "ties go to less model parallelism (t p, then t), a lower ZeRO stage, fewer "
                                  "expert groups"},
    }
    return LayoutSearch(best=found[0] if found else None, ranked=tuple(found[:keep]), tried=tried,
                        feasible=len(found), accelerator_bytes=room, n_accelerators=n, assumptions=assumptions)
