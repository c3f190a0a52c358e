"""Parameters from a transformer shape, and a shape for a target parameter count.

A decoder-only transformer of ``n_layer`` blocks, each an attention sub-layer and a feed-forward (FFN) sub-layer,
is counted matrix by matrix. The convention (every count is a number of scalars):

- attention: query ``d_model x (n_heads d_head)``, key and value ``d_model x (n_kv_heads d_head)`` each (grouped-query
  attention when ``n_kv_heads < n_heads``; Ainslie et al. 2023), output ``(n_heads d_head) x d_model``;
- FFN: 2 matrices ``d_model x d_ff`` (up and down), or 3 when ``gated_ffn`` (SwiGLU/GeGLU: gate, up, down;
  Shazeer 2020); a mixture of experts (``n_experts > 1``) has ``n_experts`` such FFNs per layer plus a router
  ``d_model x n_experts``, of which ``experts_per_token`` run for each token;
- biases: ``"none"`` (Llama, Mixtral), ``"qkv"`` (query, key and value biases: Qwen2), or ``"all"`` (every linear
  layer of the blocks: GPT-2/GPT-3); the unembedding never has one;
- norms: two per block and one final, each ``d_model`` scales (``"rmsnorm"``) or scales and shifts (``"layernorm"``,
  ``2 d_model``), or none;
- embeddings: the token embedding ``vocab_size x d_model``, the unembedding (another ``vocab_size x d_model`` when
  the embeddings are not tied), and learned position embeddings ``positions x d_model`` (0 with rotary positions).

*Embedding* parameters are the token embedding, the unembedding and the position embeddings; *non-embedding*
parameters are the rest (Kaplan et al. 2020, section 2.1, count N without them). *Active* parameters are those one
token uses: the total less the experts it does not run. A shape cannot reproduce models whose attention is not
of this form (DeepSeek-V3's multi-head latent attention, say): count those from their own configuration.

Example:
  >>> counts = parameter_count(PUBLISHED_SHAPES["llama2-7b"].shape)
  >>> counts.total
  6738415616
"""

import dataclasses
import math

from ..errors import PlanningError, check_count, check_positive
from .._util.results import Formula

BIASES = ("none", "qkv", "all")
NORMS = {"rmsnorm": 1, "layernorm": 2, "none": 0}  # parameters per norm, in units of d_model
DEFAULT_ASPECT_RATIO = 128.0  # d_model / n_layer of GPT-3 175B (12288 / 96) and Llama-2-7B (4096 / 32)
PARAMETER_COUNTS = ("total", "active", "non_embedding")
# Bounds that keep every count finite in float64 and every search short, far beyond any model built (the largest
# dense models have ~1e12 parameters, d_model ~3e4, ~1e2 layers): N up to 1e18 parameters, every integer field of a
# shape (layers, widths, heads, vocabulary, experts) up to 2^40, d_model / n_layer from 1 to 1e4 (Kaplan et al. 2020
# found the loss flat over about 20 to 200).
MAX_PARAMS = 1e18
MAX_DIMENSION = 1 << 40
ASPECT_RATIO_RANGE = (1.0, 1e4)


def _integer(value, name, minimum=1):
    count = check_count(value, name, minimum, error=PlanningError, source="shape")
    if count > MAX_DIMENSION:
        raise PlanningError(f"shape: {name} {count} is above {MAX_DIMENSION} (MAX_DIMENSION), the most a shape's "
                            "counts stay finite with")
    return count


@dataclasses.dataclass(frozen=True)
class TransformerShape(Formula):
    """A decoder-only transformer's shape (the conventions are in the module's docstring).

    Attributes:
      n_layer: number of blocks. d_model: width of the residual stream. n_heads: query heads.
      vocab_size: tokens in the vocabulary.
      n_kv_heads: key/value heads (grouped-query attention); None means ``n_heads``.
      d_head: width of one head; None means ``d_model / n_heads`` (which must then be a whole number).
      d_ff: width of the FFN's hidden layer (of each expert); None means ``ffn_multiplier x d_model`` rounded.
      ffn_multiplier: ``d_ff / d_model`` when ``d_ff`` is None; None means 4 (the original transformer's).
      gated_ffn: True for a gated FFN (SwiGLU, GeGLU): 3 matrices instead of 2.
      tied_embeddings: True when the unembedding is the token embedding (GPT-3), False when it has its own.
      n_experts, experts_per_token: a mixture of experts in every block's FFN (1 and 1: a dense model).
      biases: "none", "qkv" or "all". norm: "rmsnorm", "layernorm" or "none".
      positions: rows of learned position embeddings (the context length for GPT-3; 0 for rotary).
    """

    n_layer: int
    d_model: int
    n_heads: int
    vocab_size: int
    n_kv_heads: int | None = None
    d_head: int | None = None
    d_ff: int | None = None
    ffn_multiplier: float | None = None
    gated_ffn: bool = False
    tied_embeddings: bool = True
    n_experts: int = 1
    experts_per_token: int = 1
    biases: str = "none"
    norm: str = "rmsnorm"
    positions: int = 0

    def __post_init__(self):
        for name in ("n_layer", "d_model", "n_heads", "vocab_size", "n_experts", "experts_per_token"):
            _integer(getattr(self, name), name)
        _integer(self.positions, "positions", 0)
        if self.n_kv_heads is not None:
            _integer(self.n_kv_heads, "n_kv_heads")
            if self.n_kv_heads > self.n_heads or self.n_heads % self.n_kv_heads:
                raise PlanningError(f"shape: n_kv_heads ({self.n_kv_heads}) must divide n_heads ({self.n_heads})")
        if self.d_head is not None:
            _integer(self.d_head, "d_head")
        elif self.d_model % self.n_heads:
            raise PlanningError(f"shape: d_model ({self.d_model}) is not a multiple of n_heads ({self.n_heads}); "
                                "give d_head")
        if self.d_ff is not None and self.ffn_multiplier is not None:
            raise PlanningError("shape: give d_ff or ffn_multiplier, not both")
        if self.d_ff is not None:
            _integer(self.d_ff, "d_ff")
        if self.ffn_multiplier is not None:
            if check_positive(self.ffn_multiplier, "ffn_multiplier", PlanningError, source="shape") > 1e4:
                raise PlanningError(f"shape: ffn_multiplier (d_ff / d_model) must be at most 1e4, got "
                                    f"{self.ffn_multiplier!r}; published models use 2.7 to 8")
        for name in ("gated_ffn", "tied_embeddings"):
            if not isinstance(getattr(self, name), bool):
                raise PlanningError(f"shape: {name} must be true or false, got {getattr(self, name)!r}")
        if self.experts_per_token > self.n_experts:
            raise PlanningError(f"shape: experts_per_token ({self.experts_per_token}) is more than n_experts "
                                f"({self.n_experts})")
        if self.biases not in BIASES:
            raise PlanningError(f"shape: biases must be one of {', '.join(BIASES)}, got {self.biases!r}")
        if self.norm not in NORMS:
            raise PlanningError(f"shape: norm must be one of {', '.join(NORMS)}, got {self.norm!r}")

    @property
    def head_width(self) -> int:
        """``d_head``, or ``d_model / n_heads`` when it was not given."""
        return self.d_model // self.n_heads if self.d_head is None else self.d_head

    @property
    def kv_heads(self) -> int:
        """``n_kv_heads``, or ``n_heads`` (multi-head attention) when it was not given."""
        return self.n_heads if self.n_kv_heads is None else self.n_kv_heads

    @property
    def ffn_width(self) -> int:
        """``d_ff``, or ``round(ffn_multiplier x d_model)`` (multiplier 4 when neither was given)."""
        if self.d_ff is not None:
            return self.d_ff
        return max(1, round((4.0 if self.ffn_multiplier is None else self.ffn_multiplier) * self.d_model))

    @property
    def aspect_ratio(self) -> float:
        """``d_model / n_layer``."""
        return self.d_model / self.n_layer


    @property
    def notes(self) -> tuple:
        return ()

    def summary(self) -> str:
        """One line: layers, width, heads, FFN, vocabulary and experts."""
        return (f"{self.n_layer} x {self.d_model} (n_layer x d_model); {self.n_heads} heads ({self.kv_heads} KV) of "
                f"{self.head_width}, d_ff {self.ffn_width}{' gated' if self.gated_ffn else ''}, vocab {self.vocab_size}"
                + (f", {self.n_experts} experts ({self.experts_per_token} per token)" if self.n_experts > 1 else ""))

    def to_dict(self) -> dict:
        """Every field as given, plus the widths it implies (``d_head``, ``n_kv_heads``, ``d_ff`` resolved)."""
        out = dataclasses.asdict(self)
        out.update(d_head=self.head_width, n_kv_heads=self.kv_heads, d_ff=self.ffn_width,
                   aspect_ratio=self.aspect_ratio)
        return out


@dataclasses.dataclass(frozen=True)
class ParameterCount(Formula):
    """Parameter counts of a ``TransformerShape`` (integers).

    total: every parameter (what memory holds). active: the parameters one token uses (what FLOPs count; equal
    to total for a dense model). embedding: token embedding, unembedding and position embeddings.
    non_embedding: total - embedding. active_non_embedding: active - embedding.
    parts: the total split into ``attention``, ``ffn`` (every expert), ``router``, ``norms``, ``biases``,
    ``embedding``.
    """

    total: int
    active: int
    embedding: int
    non_embedding: int
    active_non_embedding: int
    parts: dict


    @property
    def notes(self) -> tuple:
        return ()

    def summary(self) -> str:
        """One line: total and active parameters, embedding and non-embedding, and the parts."""
        return (f"{self.total:,} parameters ({self.active:,} active; embedding {self.embedding:,}, non-embedding "
                f"{self.non_embedding:,}): " + ", ".join(f"{k} {v:,}" for k, v in self.parts.items()))

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def parameter_count(shape: TransformerShape) -> ParameterCount:
    """The parameters of ``shape``: total, active, embedding and non-embedding (module docstring's convention).

    Example (Mixtral 8x7B: 8 experts, 2 per token):
      >>> c = parameter_count(PUBLISHED_SHAPES["mixtral-8x7b"].shape)
      >>> round(c.total / 1e9, 1), round(c.active / 1e9, 1)
      (46.7, 12.9)
    """
    if not isinstance(shape, TransformerShape):
        raise PlanningError(f"shape must be a TransformerShape, not {type(shape).__name__}")
    d, layers = shape.d_model, shape.n_layer
    q_width, kv_width = shape.n_heads * shape.head_width, shape.kv_heads * shape.head_width
    attention = d * q_width + 2 * d * kv_width + q_width * d
    ffn_matrices = (3 if shape.gated_ffn else 2) * d * shape.ffn_width
    biases = 0
    if shape.biases in ("qkv", "all"):
        biases += q_width + 2 * kv_width
    ffn_biases = 0
    if shape.biases == "all":
        biases += d  # the attention output's
        ffn_biases = (2 if shape.gated_ffn else 1) * shape.ffn_width + d  # hidden layer(s) and output, per expert
    expert = ffn_matrices + ffn_biases
    router = d * shape.n_experts if shape.n_experts > 1 else 0
    norms = NORMS[shape.norm] * d * (2 * layers + 1)
    embedding = shape.vocab_size * d * (1 if shape.tied_embeddings else 2) + shape.positions * d
    per_layer = attention + biases + shape.n_experts * expert + router
    total = layers * per_layer + norms + embedding
    active = total - layers * (shape.n_experts - shape.experts_per_token) * expert
    parts = {"attention": layers * attention, "ffn": layers * shape.n_experts * ffn_matrices, "router": layers * router,
             "norms": norms, "biases": layers * (biases + shape.n_experts * ffn_biases), "embedding": embedding}
    return ParameterCount(total=total, active=active, embedding=embedding, non_embedding=total - embedding,
                          active_non_embedding=active - embedding, parts=parts)


@dataclasses.dataclass(frozen=True)
class PublishedShape:
    """A published model's shape with the parameter counts its authors report (in parameters) and where."""

    shape: TransformerShape
    reported_total: float
    reported_active: float | None
    source: str


# Shapes as their authors publish them; the tests check parameter_count against the reported totals.
PUBLISHED_SHAPES = {
    "gpt3-175b": PublishedShape(
        TransformerShape(n_layer=96, d_model=12288, n_heads=96, vocab_size=50257, d_head=128, biases="all",
                         norm="layernorm", positions=2048, tied_embeddings=True),
        175.0e9, None, "Brown et al. 2020 (GPT-3), Table 2.1 (175.0B; n_ctx 2048, d_ff = 4 d_model); GPT-2's "
                       "vocabulary of 50257 BPE tokens (Radford et al. 2019)"),
    "llama2-7b": PublishedShape(
        TransformerShape(n_layer=32, d_model=4096, n_heads=32, vocab_size=32000, d_ff=11008, gated_ffn=True,
                         tied_embeddings=False),
        6.74e9, None, "Touvron et al. 2023 (Llama 2), Table 1 (7B); config.json of meta-llama/Llama-2-7b-hf "
                      "(hidden 4096, intermediate 11008, 32 layers, vocab 32000); the checkpoint's 6.74B parameters"),
    "qwen2-72b": PublishedShape(
        TransformerShape(n_layer=80, d_model=8192, n_heads=64, n_kv_heads=8, vocab_size=152064, d_ff=29568,
                         gated_ffn=True, tied_embeddings=False, biases="qkv"),
        72.71e9, None, "Yang et al. 2024 (Qwen2 technical report), Table 1: 72.71B parameters, 70.21B non-embedding; "
                       "config.json of Qwen/Qwen2-72B (80 layers, hidden 8192, 64 heads, 8 KV heads, "
                       "intermediate 29568, vocab 152064, untied, QKV bias)"),
    "mixtral-8x7b": PublishedShape(
        TransformerShape(n_layer=32, d_model=4096, n_heads=32, n_kv_heads=8, vocab_size=32000, d_ff=14336,
                         gated_ffn=True, tied_embeddings=False, n_experts=8, experts_per_token=2),
        46.7e9, 12.9e9, "Jiang et al. 2024 (Mixtral of Experts): 47B parameters, 13B active, and the shape in its "
                        "Table 1; "
                        "Mistral AI's announcement: 46.7B total, 12.9B per token; config.json of "
                        "mistralai/Mixtral-8x7B-v0.1"),
}


def shape_for_params(n_params, aspect_ratio=DEFAULT_ASPECT_RATIO, *, count="total", d_head=128, vocab_size=32000,
                     gated_ffn=True, ffn_multiplier=None, tied_embeddings=False, **options) -> TransformerShape:
    """A shape whose parameter count (``count``: "total", "active" or "non_embedding") is nearest ``n_params``
    with ``d_model / n_layer`` near ``aspect_ratio``.

    ``d_model`` is a multiple of ``d_head`` (whole heads); for each ``n_layer`` the width is ``aspect_ratio x
    n_layer`` rounded to that multiple, and the ``n_layer`` whose count is nearest ``n_params`` (in ratio) wins,
    so the shape's aspect ratio differs from the one asked for by the rounding (its ``aspect_ratio`` says by
    how much). The defaults are a Llama-like block: heads of 128, a SwiGLU FFN of ``8/3 d_model`` (the width that
    gives it the parameters of a 2-matrix FFN of 4 d_model), untied embeddings, 32000 tokens, RMSNorm, no biases;
    ``options`` are any other ``TransformerShape`` fields (``n_experts``, ``biases``, ...). The default aspect ratio
    is 128 (GPT-3 175B and Llama-2-7B); Kaplan et al. 2020 (section 3.1, Fig. 5) found the loss within a few
    percent over aspect ratios of about 20 to 200.

    Example:
      >>> shape = shape_for_params(7e9)
      >>> shape.n_layer, shape.d_model
      (32, 4096)
    """
    target = check_positive(n_params, "n_params", PlanningError)
    if not 1.0 <= target <= MAX_PARAMS:
        raise PlanningError(f"n_params must be from 1 to {MAX_PARAMS:g} (MAX_PARAMS) to build a shape, got {target:g}")
    ratio = check_positive(aspect_ratio, "aspect_ratio", PlanningError)
    low, high = ASPECT_RATIO_RANGE
    if not low <= ratio <= high:
        raise PlanningError(f"aspect_ratio (d_model / n_layer) must be from {low:g} to {high:g}, got {ratio:g}; "
                            f"published models use about 20 to 200 (default {DEFAULT_ASPECT_RATIO:g})")
    if count not in PARAMETER_COUNTS:
        raise PlanningError(f"count must be one of {', '.join(PARAMETER_COUNTS)}, got {count!r}")
    d_head = check_count(d_head, "d_head", 1, error=PlanningError)

    def build(n_layer):
        return shape_at_depth(n_layer, ratio, d_head=d_head, vocab_size=vocab_size, gated_ffn=gated_ffn,
                              ffn_multiplier=ffn_multiplier, tied_embeddings=tied_embeddings, **options)

    def miss(shape):
        return abs(math.log(getattr(parameter_count(shape), count) / target))

    build(1)  # checks the options once, with their own messages
    # the blocks hold about 12 n_layer d_model^2 = 12 ratio^2 n_layer^3 parameters: search up to 4x that n_layer
    guess = max(1, round((target / (12.0 * ratio**2)) ** (1.0 / 3.0)))
    last = 4 * guess + 7
    # the count grows strictly with n_layer (d_model grows with it too), so the nearest is one of the two n_layer
    # around the crossing: bisect for the last n_layer whose count is at most the target (the first n_layer of
    # two equally near wins, as in a scan)
    lo, hi = 1, last
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if getattr(parameter_count(build(mid)), count) <= target:
            lo = mid
        else:
            hi = mid - 1
    return min((build(n) for n in range(lo, min(lo + 1, last) + 1)), key=miss)


def shape_at_depth(n_layer, aspect_ratio=DEFAULT_ASPECT_RATIO, *, d_head=128, vocab_size=32000, gated_ffn=True,
                   ffn_multiplier=None, tied_embeddings=False, **options) -> TransformerShape:
    """The shape of ``n_layer`` blocks in ``shape_for_params``'s family: ``d_model = aspect_ratio x n_layer`` rounded
    to a multiple of ``d_head`` (at least one head), ``d_model / d_head`` heads, an FFN of ``ffn_multiplier x
    d_model`` (default 8/3 gated, 4 otherwise); ``options`` are other ``TransformerShape`` fields.

    Example:
      >>> shape_at_depth(32).d_model
      4096
    """
    d_head = check_count(d_head, "d_head", 1, error=PlanningError)
    multiplier = (8.0 / 3.0 if gated_ffn else 4.0) if ffn_multiplier is None else ffn_multiplier
    d_model = max(1, round(aspect_ratio * n_layer / d_head)) * d_head
    return TransformerShape(n_layer=n_layer, d_model=d_model, n_heads=d_model // d_head, vocab_size=vocab_size,
                            d_head=d_head, gated_ffn=gated_ffn, ffn_multiplier=multiplier,
                            tied_embeddings=tied_embeddings, **options)
