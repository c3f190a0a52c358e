"""Activation memory of training a transformer: what the forward pass keeps for the backward pass, per accelerator.

The formulas are Korthikanti et al. 2022 ("Reducing Activation Recomputation in Large Transformer Models",
arXiv:2205.05198). With s the context (sequence length), b the micro-batch (sequences), h = ``d_model``,
a = ``n_heads``, t the tensor-parallel degree, L = ``n_layer`` and p the pipeline-parallel degree, the bytes one
transformer layer keeps are (section 4, Table 2; 16-bit activations, 1-byte dropout masks):

=============================================================  =======================
no parallelism (Eq. 1)                                         sbh (34 + 5as/h)
tensor parallel (Eq. 2)                                        sbh (10 + 24/t + 5as/(ht))
tensor + sequence parallel (Eq. 4)                             sbh (34/t + 5as/(ht))
tensor parallel + selective recomputation                      sbh (10 + 24/t)
tensor + sequence parallel + selective recomputation           sbh (34/t)
full recomputation (section 5: only each layer's input kept)   2 sbh
=============================================================  =======================

(no parallelism is t = 1 in either tensor-parallel row.) The 34 is the attention block's 11 sbh, the MLP's 19 sbh
and the two layer norms' 4 sbh; the 5as/h term is the attention scores, softmax and its dropout (section 4.1),
which selective recomputation recomputes instead of storing (section 5).

Per accelerator (section 4.2.3): under the 1F1B (PipeDream-Flush) schedule the first pipeline stage holds the most:
its L/p layers for each of the p micro-batches in flight, ``p x L/p = L`` layers' worth whatever p (Eq. 5). When a
step has fewer micro-batches m than stages, only m are in flight (Megatron-LM's
``megatron/training/theoretical_memory_usage.py`` scales by ``min(1, m/p)``). Outside the layers (section 4.3) the
first stage also keeps the embedding dropout's mask, ``sbhp/t`` with sequence parallelism (``sbhp`` without it, as
Megatron-LM's ``compute_activation_memory_without_sp`` counts it), and, when p = 1 (the first stage is then also
the last), the final layer norm's and the output projection's inputs and the fp32 logits: ``4sbh/t (1 + v/h)``
with sequence parallelism. Without it the two inputs are not split: ``4sbh + 4sbv/t`` (this module's reading of
section 4.3, where the logits are split over the vocabulary either way).

What the formulas assume (Korthikanti et al., section 4): a GPT layer with ``d_ff = 4 h``, a GeLU MLP, dropout
after attention and MLP, ``n_heads x d_head = h`` and the attention scores materialised. For other shapes (gated
FFNs, grouped-query attention, fused attention kernels that keep no scores) the figure is this approximation with
h = ``d_model`` and a = ``n_heads``, said in the result's notes; a mixture of experts is counted as its dense layer
(the router's tokens per expert are not modelled).

Example (GPT-3 175B, one sequence of 2048 tokens, t = 8 with sequence parallelism and selective recomputation:
34 sbh / t per layer):
  >>> from optimal.planning.shapes import PUBLISHED_SHAPES
  >>> gpt3 = PUBLISHED_SHAPES["gpt3-175b"].shape
  >>> activation_bytes_per_layer(gpt3, 1, 2048, tensor_parallel=8, sequence_parallel=True, recompute="selective")
  106954752.0
"""

import dataclasses
import math

from ..errors import PlanningError, check_count
from .._util.results import Formula, Issue
from .shapes import MAX_DIMENSION, TransformerShape

RECOMPUTE = ("none", "selective", "full")
SOURCE = ("Korthikanti et al. 2022 (arXiv:2205.05198): Table 2 (per layer), section 4.2.3 and Eq. 5 (the first "
          "pipeline stage holds p micro-batches of L/p layers), section 4.3 (embedding dropout sbhp/t; the output "
          "layer's 4sbh/t (1 + v/h) when p = 1)")


def _degree(value, name):
    return check_count(value, name, 1, MAX_DIMENSION, error=PlanningError)


def _recompute(value):
    if value not in RECOMPUTE:
        raise PlanningError(f"unknown recompute {value!r}; choose one of {', '.join(RECOMPUTE)}")
    return value


def _shape(shape):
    if not isinstance(shape, TransformerShape):
        raise PlanningError(f"shape must be a TransformerShape, not {type(shape).__name__}")
    return shape


def layer_coefficient(shape, context, tensor_parallel=1, sequence_parallel=False, recompute="none") -> float:
    """The bracket of Korthikanti et al.'s Table 2: one layer's activation bytes divided by ``s b h`` (34 + 5as/h
    with no parallelism; see the module docstring for every row). ``context`` is s in tokens."""
    shape, s = _shape(shape), _degree(context, "context")
    t = _degree(tensor_parallel, "tensor_parallel")
    if _recompute(recompute) == "full":
        return 2.0  # section 5: each layer's input, 2sbh, is all a fully recomputed layer keeps
    linear = 34.0 / t if sequence_parallel else 10.0 + 24.0 / t
    attention = 0.0 if recompute == "selective" else 5.0 * shape.n_heads * s / (shape.d_model * t)
    return linear + attention


def activation_bytes_per_layer(shape, micro_batch, context, *, tensor_parallel=1, sequence_parallel=False,
                               recompute="none") -> float:
    """Bytes one transformer layer keeps for one micro-batch of ``micro_batch`` sequences of ``context`` tokens on
    one accelerator of a ``tensor_parallel`` group (Korthikanti et al. 2022, Table 2)."""
    b, s = _degree(micro_batch, "micro_batch"), _degree(context, "context")
    coefficient = layer_coefficient(shape, s, tensor_parallel, sequence_parallel, recompute)
    return float(s) * b * shape.d_model * coefficient


@dataclasses.dataclass(frozen=True)
class ActivationMemory(Formula):
    """Activation bytes on the busiest accelerator (the first pipeline stage), with the parts they come from.

    per_layer: bytes of one layer for one micro-batch (Table 2). layers_per_stage: ``ceil(n_layer / p)``.
    in_flight: micro-batches whose activations the first stage holds at once (``min(p, m)``).
    layers: ``per_layer`` x ``layers_per_stage`` x ``in_flight``. embedding: the embedding dropout's mask for the
    micro-batches in flight. output: the output layer's (p = 1 only; else 0). total: their sum (bytes).
    """

    micro_batch: int
    context: int
    tensor_parallel: int
    pipeline_parallel: int
    sequence_parallel: bool
    recompute: str
    n_microbatches: int | None
    coefficient: float
    per_layer: float
    layers_per_stage: int
    in_flight: int
    layers: float
    embedding: float
    output: float
    shape_notes: tuple

    @property
    def total(self) -> float:
        return self.layers + self.embedding + self.output

    @property
    def notes(self) -> tuple:
        return (Issue("source", SOURCE),) + tuple(Issue("approximation", note) for note in self.shape_notes)

    def summary(self) -> str:
        """One line: the total and how it is made."""
        return (f"activations {self.total / 1e9:.4g} GB per accelerator = {self.in_flight} micro-batch(es) in flight x "
                f"{self.layers_per_stage} layers x {self.per_layer / 1e6:.4g} MB (sbh x {self.coefficient:.4g}; b "
                f"{self.micro_batch}, s {self.context}, t {self.tensor_parallel}"
                f"{' with sequence parallel' if self.sequence_parallel else ''}, recompute {self.recompute}) + embedding "
                f"{self.embedding / 1e6:.4g} MB + output layer {self.output / 1e6:.4g} MB")

    def to_dict(self) -> dict:
        return {"bytes": self.total, "per_layer_bytes": self.per_layer, "coefficient_of_sbh": self.coefficient,
                "layers_per_stage": self.layers_per_stage, "micro_batches_in_flight": self.in_flight,
                "layers_bytes": self.layers, "embedding_bytes": self.embedding, "output_layer_bytes": self.output,
                "micro_batch": self.micro_batch, "context": self.context, "tensor_parallel": self.tensor_parallel,
                "pipeline_parallel": self.pipeline_parallel, "sequence_parallel": self.sequence_parallel,
                "recompute": self.recompute, "n_microbatches": self.n_microbatches,
                "notes": [note.to_dict() for note in self.notes], "status": self.status.label}


def _shape_notes(shape):
    found = []
    if shape.gated_ffn or shape.ffn_width != 4 * shape.d_model:
        found.append(f"the MLP term assumes d_ff = 4 d_model with GeLU; this shape has d_ff {shape.ffn_width}"
                     f"{' (gated)' if shape.gated_ffn else ''}")
    if shape.kv_heads != shape.n_heads or shape.n_heads * shape.head_width != shape.d_model:
        found.append("the attention terms assume n_heads x d_head = d_model and one key/value head per query head")
    if shape.n_experts > 1:
        found.append("a mixture of experts is counted as its dense layer (tokens routed to several experts not "
                     "modelled)")
    return tuple(found)


def activation_memory(shape, micro_batch, context, *, tensor_parallel=1, pipeline_parallel=1, sequence_parallel=False,
                      recompute="none", n_microbatches=None) -> ActivationMemory:
    """Activation bytes on the first pipeline stage (the busiest accelerator) for micro-batches of ``micro_batch``
    sequences of ``context`` tokens (module docstring: Korthikanti et al. 2022, Table 2, Eq. 5, section 4.3).

    Args:
      shape: a ``TransformerShape`` (h = d_model, a = n_heads, L = n_layer, v = vocab_size).
      micro_batch: b, sequences per micro-batch. context: s, tokens per sequence.
      tensor_parallel: t. pipeline_parallel: p (at most n_layer). sequence_parallel: Korthikanti's sequence
        parallelism over the tensor-parallel group (no effect when t = 1).
      recompute: "none", "selective" (the attention scores recomputed) or "full" (each layer's input kept).
      n_microbatches: micro-batches per step per pipeline (m); None: at least p (the pipeline is full).

    Example (GPT-3 175B, t = 8, p = 8, sequence parallel, selective: 96 layers of 34 sbh / t plus sbhp / t):
      >>> from optimal.planning.shapes import PUBLISHED_SHAPES
      >>> memory = activation_memory(PUBLISHED_SHAPES["gpt3-175b"].shape, 1, 2048, tensor_parallel=8,
      ...                            pipeline_parallel=8, sequence_parallel=True, recompute="selective")
      >>> memory.layers_per_stage, memory.in_flight, memory.total
      (12, 8, 10292822016.0)
    """
    shape = _shape(shape)
    b, s = _degree(micro_batch, "micro_batch"), _degree(context, "context")
    t, p = _degree(tensor_parallel, "tensor_parallel"), _degree(pipeline_parallel, "pipeline_parallel")
    if not isinstance(sequence_parallel, bool):
        raise PlanningError(f"sequence_parallel must be true or false, got {sequence_parallel!r}")
    if p > shape.n_layer:
        raise PlanningError(f"pipeline_parallel {p} is more than the shape's {shape.n_layer} layers; every stage needs "
                            "at least one layer")
    m = None if n_microbatches is None else _degree(n_microbatches, "n_microbatches")
    sp = sequence_parallel and t > 1
    coefficient = layer_coefficient(shape, s, t, sp, recompute)
    sbh = float(s) * b * shape.d_model
    per_layer = sbh * coefficient
    layers_per_stage = math.ceil(shape.n_layer / p)
    in_flight = p if m is None else min(p, m)
    embedding = sbh * in_flight / (t if sp else 1)  # section 4.3: the embedding dropout's 1-byte mask, sbhp/t
    if p > 1:
        output = 0.0  # section 4.3: the output layer sits on the last stage, which holds fewer micro-batches
    elif sp:
        output = 4.0 * sbh / t * (1.0 + shape.vocab_size / shape.d_model)
    else:
        output = 4.0 * sbh + 4.0 * float(s) * b * shape.vocab_size / t
    return ActivationMemory(
        micro_batch=b, context=s, tensor_parallel=t, pipeline_parallel=p, sequence_parallel=sp, recompute=recompute,
        n_microbatches=m, coefficient=coefficient, per_layer=per_layer, layers_per_stage=layers_per_stage,
        in_flight=in_flight, layers=per_layer * layers_per_stage * in_flight, embedding=embedding, output=output,
        shape_notes=_shape_notes(shape))
