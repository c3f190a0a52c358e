"""A FLOP-accounting audit: each run's training FLOPs counted from its shape, and how far the compute-optimal answer
moves between ``C = 6 N D`` and those exact FLOPs.

The count (per token; every matrix multiply of ``m x n`` weights costs ``2 m n`` FLOPs forward, a multiply and an add):

- **linear layers**: the query, key, value and output projections and the FFN matrices of every block, taken from
  ``optimal.planning.parameter_count`` (the one place that counts a shape's matrices): ``2 x`` their weights.
  Grouped-query attention (``n_kv_heads < n_heads``) has smaller key and value matrices, and that is all it saves:
  every query head still scores and reads every key. A mixture of experts counts the ``experts_per_token`` experts
  a token runs, not all of them, plus the router (``d_model x n_experts``).
- **output layer**: the unembedding, ``2 vocab_size d_model`` (a matrix multiply, tied or not).
- **embeddings**: the token and position embeddings are lookups: 0 FLOPs.
- **attention scores and values**: per block ``2 n_ctx (n_heads d_head)`` for the scores ``Q K^T`` and as much for
  the values ``softmax(.) V`` when every token attends to all ``n_ctx`` positions (``mask="full"``). With the causal
  mask a token attends on average to half the context, and the work the mask skips is not counted (``mask="causal"``,
  the default): ``2 n_layer n_ctx (n_heads d_head)`` for both together. That is numerically the attention term
  Kaplan et al. 2020 (section 2.1, Table 1) add to 2N per forward token, ``2 n_layer n_ctx d_attn``; PaLM's
  (Chowdhery et al. 2022, appendix B) ``6N + 12 L H Q T`` per training token counts the full ``s^2`` products
  (``4 L H Q T`` forward: the ``mask="full"`` convention; the formula as reproduced in karpathy/nanoGPT's
  ``model.py``, ``estimate_mfu``). Hoffmann et al. 2022 (appendix F) also count the full ``seq_len^2`` products,
  and the softmax (``3 num_heads seq_len^2``), which this count leaves out with the norms, biases and activations
  (not matrix multiplies; Kaplan et al.'s Table 1 leaves them out too).
- **training** = forward + backward = 3 x forward (the backward pass costs twice the forward; Kaplan et al. 2020,
  section 2.1).

The audit. The law is fitted once: the fit takes N and D, which do not depend on how FLOPs are counted. What changes
is how runs sit on the compute axis (``C = 6 N D`` or ``C = M(N) D``, M the exact FLOPs per token) and so the
allocation: ``N*(C)`` minimises the law on ``6 N D = C`` or on ``M(N) D = C``. For the second, the runs' exact
FLOPs per token are summarised as a ``FlopsPerToken`` model of N (``optimal.allocation.flops``): ``M(N) / 6 =
a N + b N^p`` fitted by least squares in relative error (p on a grid in [0, 1]); its largest miss over the runs is
reported and warned about above ``MODEL_MISS``. The audit reports, at each budget, N*, D*, tokens per parameter and
the local exponent ``a = d ln N* / d ln C`` under both, their ratios, and with ``n_resamples`` bootstrap intervals
(``optimal.bootstrap`` draws, each draw allocated both ways).

Not counted and not shipped: Hoffmann et al.'s Table A4 (their FLOPs against 6ND for several shapes) as a test
vector: its printed values could not be verified here from the paper, so no test uses them.
"""

import csv
import dataclasses
import math
import os
from pathlib import Path

import numpy as np

from ..allocation.allocate import compute_optimal
from ..allocation.draws import allocations
from ..allocation.flops import FlopsPerToken
from ..data.readers import read_runs_with_columns
from ..data.runs import Runs
from ..data.synthetic import DEFAULT_TRUTH, synthetic_runs
from ..errors import BudgetError, DataError, OptimalError, check_confidence, check_positive
from ..fitting.bootstrap import bootstrap
from ..fitting.fit import FitResult, fit
from ..planning.hf_config import read_hf_config
from ..planning.shapes import TransformerShape, parameter_count, shape_for_params
from .._util.precision import float64_scope
from .._util.results import Issue, Judged, Status
from .._util.stats import few_draws_message, interval
from .._util.units import DEFAULT_FLOPS_PER_PARAM_TOKEN

MASKS = ("causal", "full")
LOCAL_DECADES = 0.25  # the FLOPs model of a budget weighs runs within a quarter decade of its N* (or its nearest)
LOCAL_RUNS = 8  # ... and at least this many runs within one width (a wider window where runs are sparse)
MODEL_MISS = 0.02  # a FLOPs model that misses a run's exact FLOPs by more than 2% is warned about
_EXPONENT_STEP = 0.05  # ln C step of the central difference for d ln N* / d ln C
_POWERS = np.union1d(np.linspace(0.0, 1.0, 101), [1 / 3, 2 / 3])  # the p the FLOPs model tries (N^(2/3): attention)

# Shape columns: field -> default column name. The first five are required; the rest default as TransformerShape.
MAX_CONTEXT = 1e9  # tokens per training sequence: far above any model's (millions); attention FLOPs stay finite
REQUIRED_SHAPE_COLUMNS = ("n_layer", "d_model", "n_heads", "vocab_size", "context")
OPTIONAL_SHAPE_COLUMNS = ("n_kv_heads", "d_head", "d_ff", "n_experts", "experts_per_token", "gated_ffn")
SHAPE_COLUMNS = REQUIRED_SHAPE_COLUMNS + OPTIONAL_SHAPE_COLUMNS


@dataclasses.dataclass(frozen=True)
class RunFlops:
    """FLOPs per token of one shape at one context (floats, FLOPs per token).

    linear: the blocks' matrix multiplies (attention projections, the active experts' FFNs, the router), forward.
    output: the unembedding, forward. attention: scores and values under ``mask``, forward.
    forward: their sum. training: 3 x forward.
    """

    linear: float
    output: float
    attention: float
    mask: str

    @property
    def forward(self) -> float:
        return self.linear + self.output + self.attention

    @property
    def training(self) -> float:
        return 3.0 * self.forward


def flops_per_token(shape: TransformerShape, context, mask: str = "causal") -> RunFlops:
    """Forward and training FLOPs per token of ``shape`` trained on sequences of ``context`` tokens (module
    docstring's count). Raises ``DataError`` for an unknown ``mask`` or a context below 1 or above ``MAX_CONTEXT``.

    Example:
      >>> from optimal.planning import PUBLISHED_SHAPES
      >>> f = flops_per_token(PUBLISHED_SHAPES["llama2-7b"].shape, 4096)
      >>> round(f.training / 1e9, 1)  # GFLOPs per training token
      42.9
    """
    if mask not in MASKS:
        raise DataError(f"mask must be one of {', '.join(MASKS)}, got {mask!r}")
    try:
        tokens = float(context)
    except (TypeError, ValueError, OverflowError):  # OverflowError: an int beyond float64
        tokens = math.nan
    if isinstance(context, bool) or not (math.isfinite(tokens) and 1 <= tokens <= MAX_CONTEXT):
        shown = f"{float(tokens):g}" if math.isfinite(tokens) else repr(context)[:40]
        raise DataError(f"context (tokens per training sequence) must be a number from 1 to {MAX_CONTEXT:g}, got {shown}")
    counts = parameter_count(shape)
    parts = counts.parts
    active_ffn = parts["ffn"] // shape.n_experts * shape.experts_per_token
    linear = 2.0 * (parts["attention"] + active_ffn + parts["router"])
    output = 2.0 * shape.vocab_size * shape.d_model
    per_block = (2.0 if mask == "causal" else 4.0) * float(context) * shape.n_heads * shape.head_width
    return RunFlops(linear=linear, output=output, attention=shape.n_layer * per_block, mask=mask)


def fit_flops_model(n_params, training_per_token, around=None, width_decades=LOCAL_DECADES) -> tuple:
    """A ``FlopsPerToken`` through the runs' exact training FLOPs per token, and its largest relative miss.

    ``M(N) / 6 = a N + b N^p``: (a, b >= 0) by weighted least squares in relative error for each p on a grid in
    [0, 1], the best p kept. With ``around`` (a parameter count) the runs are weighted by
    ``exp(-(log10(N / around) / width)^2 / 2)``, ``width`` the larger of ``width_decades`` and the spread of the
    ``LOCAL_RUNS`` runs nearest ``around``, in decades: a model good near the N an allocation looks at (one
    power term cannot follow both the embeddings' N^(1/3) and the attention's N^(2/3) over many decades); without,
    every run alike. Written as ``FlopsPerToken`` with ``active_fraction = min(a, 1)``, ``training_per_param =
    6 a / active_fraction``, ``context = 1`` and ``width`` carrying b, so that ``FlopsPerToken.training`` is
    ``6 (a N + b N^p)``. Args: (n,) arrays in parameters and FLOPs per token. Returns ``(model, miss)``: miss is
    the largest ``|M_model / M - 1|`` over the runs whose weight is at least a tenth of the largest.
    """
    n = np.asarray(n_params, np.float64)
    m = np.asarray(training_per_token, np.float64) / DEFAULT_FLOPS_PER_PARAM_TOKEN
    if around is None:
        w = np.ones_like(n)
    else:
        distance = np.sort(np.abs(np.log10(n / around)))
        width = max(width_decades, float(distance[min(LOCAL_RUNS, len(n)) - 1] - distance[0]))
        z = np.log10(n / around) / width
        w = np.exp(-0.5 * (z**2 - np.min(z**2)))
    near = w >= 0.1 * np.max(w)
    root = np.sqrt(w)
    best = None
    for p in _POWERS:
        x = np.stack([n / m, n**p / m], axis=1)
        coef, *_ = np.linalg.lstsq(x * root[:, None], root, rcond=None)
        if coef[1] <= 0 or coef[0] <= 0:
            coef = np.array([np.sum(w * x[:, 0]) / np.sum(w * x[:, 0] ** 2), 0.0])
        score = float(np.sum(w * (x @ coef - 1.0) ** 2))
        if best is None or score < best[0]:
            best = (score, coef, float(p), float(np.max(np.abs(x[near] @ coef - 1.0))))
    _, (a, b), p, miss = best
    fraction = min(float(a), 1.0)
    per_param = DEFAULT_FLOPS_PER_PARAM_TOKEN * float(a) / fraction
    width = float(b) / (per_param / DEFAULT_FLOPS_PER_PARAM_TOKEN * fraction**p) if b > 0 else 0.0
    model = FlopsPerToken(training_per_param=per_param, inference_per_param=2.0 * per_param / 6.0,
                          active_fraction=fraction, context=1.0, width=width, width_exponent=p if b > 0 else 0.0)
    return model, miss


@dataclasses.dataclass(frozen=True)
class FlopAudit(Judged):
    """The FLOP-accounting audit of a set of runs (see the module docstring). Units: parameters, tokens, FLOPs.

    Fields:
      mask: the attention convention. n_runs. ratio: the runs' exact / 6ND FLOPs, shape (n_runs,).
      flops_models: per budget, the ``FlopsPerToken`` fitted to the runs' exact FLOPs near that budget's 6ND N*
        (``fit_flops_model``); model_miss: per budget, its largest relative miss on the runs it weighs.
      fit: the ``FitResult`` (one fit: it takes N and D). compute: the budgets (B,).
      six / exact: ``{"N", "D", "tokens_per_param", "exponent"}`` each a list over budgets, under C = 6ND and
        under the exact FLOPs (exponent: the local d ln N* / d ln C).
      intervals: ``{name: [{"lo", "hi", "se"} per budget]}`` for N_shift (exact N* / 6ND N*), tokens_per_param_6nd,
        tokens_per_param_exact, exponent_shift (exact - 6ND), from ``n_resamples`` bootstrap draws; {} without.
      n_resamples, n_failed_draws: the draws used and how many of them did not converge (fit or allocation).
      confidence: the interval level. n_range: the runs' smallest and largest N. compute_given: whether the budgets
        were given (else the default, the largest run's exact training FLOPs).
    """

    mask: str
    ratio: np.ndarray
    flops_models: tuple
    model_miss: tuple
    fit: FitResult
    compute: tuple
    six: dict
    exact: dict
    intervals: dict
    n_resamples: int
    n_failed_draws: int
    confidence: float
    n_range: tuple = (0.0, float("inf"))
    compute_given: bool = True

    @property
    def n_runs(self) -> int:
        return len(self.ratio)

    @property
    def n_shift(self) -> list:
        """exact N* / 6ND N* at each budget."""
        return [x / s for x, s in zip(self.exact["N"], self.six["N"])]

    @property
    def status(self) -> Status:
        return self.fit.status

    @property
    def warnings(self) -> tuple:
        out = list(self.fit.warnings)
        worst = max(self.model_miss)
        if worst > MODEL_MISS:
            out.append(Issue("flops-model-miss",
                             f"the FLOPs model of N misses a nearby run's exact FLOPs by {100 * worst:.1f}% (over "
                             f"{100 * MODEL_MISS:g}%): the runs' shapes or contexts do not follow one smooth function "
                             "of N, so the exact-FLOPs allocation is approximate"))
        low, high = self.n_range
        beyond = [f"{c:.3g}" for c, n in zip(self.compute, self.exact["N"]) if not low <= n <= high]
        if beyond:
            out.append(Issue("flops-model-extrapolated",
                             f"at C = {', '.join(beyond)} FLOPs N* lies outside the runs' N range: the exact FLOPs "
                             "there are the FLOPs model's extrapolation"))
        if self.n_failed_draws:
            out.append(Issue("failed-resamples", f"{self.n_failed_draws} of {self.n_resamples} bootstrap draws did "
                                                 "not converge (fit or allocation) and are left out of the intervals"))
        few = few_draws_message(self.n_resamples - self.n_failed_draws, self.confidence) if self.n_resamples else None
        if few:
            out.append(Issue("few-draws", few))
        return tuple(out)

    @property
    def notes(self) -> tuple:
        return (Issue("one-fit", "the law is fitted once: the fit takes N and D, which do not depend on the FLOP "
                                 "accounting; the accounting moves the runs on the compute axis and the allocation"),
                Issue("budgets", "budgets as given" if self.compute_given else
                      "budget: the default, the largest run's exact training FLOPs (give compute to choose)"),
                Issue("mask", f"attention counted with the {self.mask} mask"
                              + (" (the skipped half of the s^2 work not counted)" if self.mask == "causal" else "")))

    def ratio_summary(self) -> dict:
        """``{"min", "median", "max"}`` of the per-run exact / 6ND ratio."""
        return {"min": float(np.min(self.ratio)), "median": float(np.median(self.ratio)),
                "max": float(np.max(self.ratio))}

    def to_dict(self) -> dict:
        models = [{k: float(v) for k, v in m._asdict().items()} for m in self.flops_models]
        return {"status": self.status.label, "ok": self.ok, "mask": self.mask, "n_runs": self.n_runs,
                "ratio": self.ratio_summary(), "per_run_ratio": [float(r) for r in self.ratio],
                "flops_models": models, "flops_model_miss": list(self.model_miss),
                "compute": list(self.compute), "six_nd": self.six, "exact": self.exact, "N_shift": self.n_shift,
                "intervals": self.intervals, "confidence": self.confidence, "n_resamples": self.n_resamples,
                "n_failed_draws": self.n_failed_draws,
                "warnings": [w.to_dict() for w in self.warnings], "notes": [n.to_dict() for n in self.notes]}

    def summary(self) -> str:
        r = self.ratio_summary()
        lines = [f"FLOP audit of {self.n_runs} runs ({self.mask} attention mask): exact / 6ND per run "
                 f"min {r['min']:.4f}, median {r['median']:.4f}, max {r['max']:.4f}; exact FLOPs per token "
                 f"modelled near each budget's N* as 6 (a N + b N^p) (largest miss {100 * max(self.model_miss):.2f}%)"]
        for i, c in enumerate(self.compute):
            line = (f"C = {c:.3g} FLOPs: N* {self.six['N'][i]:.4g} (6ND) -> {self.exact['N'][i]:.4g} (exact), "
                    f"x{self.n_shift[i]:.4f}; tokens/param {self.six['tokens_per_param'][i]:.2f} -> "
                    f"{self.exact['tokens_per_param'][i]:.2f}; exponent a {self.six['exponent'][i]:.4f} -> "
                    f"{self.exact['exponent'][i]:.4f}")
            if self.intervals:
                s = self.intervals["N_shift"][i]
                e = self.intervals["exponent_shift"][i]
                if s["lo"] is not None:
                    line += (f"; {100 * self.confidence:g}% interval of the N* shift [{s['lo']:.4f}, {s['hi']:.4f}], "
                             f"of the exponent shift [{e['lo']:+.4f}, {e['hi']:+.4f}]")
            lines.append(line)
        lines += [f"note: {n}" for n in self.notes]
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def _grid(c):
    """A budget and its neighbours e^(+-step) away, for the central difference of ln N* in ln C."""
    step = np.exp(_EXPONENT_STEP)
    return np.array([c, c * step, c / step])


def _allocate(law, compute, models):
    """N, D, tokens per parameter and the local exponent at each budget (lists); ``models`` one k or FLOPs model
    per budget."""
    out = {"N": [], "D": [], "tokens_per_param": [], "exponent": []}
    for c, flops in zip(compute, models):
        a = compute_optimal(law, _grid(c), flops)
        n = np.asarray(a.n_params)
        out["N"].append(float(n[0]))
        out["D"].append(float(np.asarray(a.n_tokens)[0]))
        out["tokens_per_param"].append(float(np.asarray(a.tokens_per_param)[0]))
        out["exponent"].append(float((np.log(n[1]) - np.log(n[2])) / (2 * _EXPONENT_STEP)))
    return out


def _draw_intervals(boot, compute, models, confidence):
    """Each bootstrap draw allocated both ways (each budget's FLOPs model as the point's): intervals of the N* shift,
    the tokens per parameter and the exponent shift; and how many draws were left out (not converged)."""
    family = boot.fit.family
    good = np.asarray(boot.converged, bool).copy()
    draws = {"N_shift": [], "tokens_per_param_6nd": [], "tokens_per_param_exact": [], "exponent_shift": []}
    for c, model in zip(compute, models):
        six = allocations(boot.thetas, _grid(c), DEFAULT_FLOPS_PER_PARAM_TOKEN, family=family)
        exact = allocations(boot.thetas, _grid(c), model, family=family)
        good &= six["converged"].all(axis=1) & exact["converged"].all(axis=1)

        def slope(n):
            return (np.log(n[:, 1]) - np.log(n[:, 2])) / (2 * _EXPONENT_STEP)

        draws["N_shift"].append(exact["N"][:, 0] / six["N"][:, 0])
        draws["tokens_per_param_6nd"].append(six["tokens_per_param"][:, 0])
        draws["tokens_per_param_exact"].append(exact["tokens_per_param"][:, 0])
        draws["exponent_shift"].append(slope(exact["N"]) - slope(six["N"]))
    out = {name: [interval(v[good], confidence) for v in values] for name, values in draws.items()}
    return out, int(np.sum(~good))


def flop_audit(runs: Runs, shapes, contexts, *, compute=None, mask="causal", law="chinchilla", n_resamples=0,
               seed=0, confidence=0.95, **fit_options) -> FlopAudit:
    """Audit the FLOP accounting of ``runs``: count each run's FLOPs from its shape, fit once, allocate under
    ``C = 6 N D`` and under the exact FLOPs, and compare (module docstring).

    Args:
      runs: ``Runs`` (N in parameters as the law counts them, D in tokens, loss in nats).
      shapes: one ``TransformerShape`` per run. contexts: tokens per training sequence of each run, (n,).
      compute: budgets in FLOPs (default: the largest run's exact training FLOPs).
      mask: "causal" (default) or "full" (module docstring). law: the family to fit.
      n_resamples: bootstrap draws for the intervals (0: none). seed, confidence: the bootstrap's.
      fit_options: passed to ``optimal.fit`` (``objective``, ``search``, ``solver``).

    Returns: a ``FlopAudit``. Raises ``DataError`` when shapes or contexts do not match the runs.
    """
    if not isinstance(runs, Runs):  # a str was an AttributeError
        raise DataError(f"runs must be an optimal.Runs (read_shaped_runs, read_runs_csv, validate_runs), got "
                        f"{type(runs).__name__}")
    n_runs = len(runs.n_params)
    shapes = list(shapes)
    contexts = np.asarray(contexts, np.float64).reshape(-1)
    if len(shapes) != n_runs or len(contexts) != n_runs:
        raise DataError(f"give one shape and one context per run: {n_runs} runs, {len(shapes)} shapes, "
                        f"{len(contexts)} contexts")
    for i, shape in enumerate(shapes):
        if not isinstance(shape, TransformerShape):
            raise DataError(f"shape {i} must be a TransformerShape, not {type(shape).__name__}")
    check_confidence(confidence)
    per_token = np.array([flops_per_token(s, c, mask).training for s, c in zip(shapes, contexts)])
    n = np.asarray(runs.n_params, np.float64)
    ratio = per_token / (DEFAULT_FLOPS_PER_PARAM_TOKEN * n)
    budgets = (float(np.max(per_token * runs.n_tokens)),) if compute is None else tuple(
        check_positive(c, "compute", BudgetError) for c in np.atleast_1d(np.asarray(compute, object)).ravel())
    result = fit(runs.n_params, runs.n_tokens, runs.loss, runs.weights, law=law, **fit_options)
    six = _allocate(result.law, budgets, [DEFAULT_FLOPS_PER_PARAM_TOKEN] * len(budgets))
    fitted = [fit_flops_model(n, per_token, around=n_star) for n_star in six["N"]]
    models = tuple(m for m, _ in fitted)
    exact = _allocate(result.law, budgets, models)
    intervals, failed = {}, 0
    if n_resamples:
        boot = bootstrap(result, n_resamples=n_resamples, seed=seed, confidence=confidence)
        intervals, failed = _draw_intervals(boot, budgets, models, confidence)
    return FlopAudit(mask=mask, ratio=ratio, flops_models=models, model_miss=tuple(m for _, m in fitted), fit=result,
                     compute=budgets,
                     six=six, exact=exact, intervals=intervals, n_resamples=int(n_resamples), n_failed_draws=failed,
                     confidence=float(confidence), n_range=(float(np.min(n)), float(np.max(n))),
                     compute_given=compute is not None)


@float64_scope
def synthetic_shaped_runs(n_runs=30, truth=None, n_range=(1e8, 3e10), tokens_per_param=(2.0, 200.0), context=4096,
                          noise=0.0, seed=0, **shape_options):
    """Runs of a known law whose models have shapes: ``(runs, shapes, contexts)``.

    Each run's shape is ``optimal.planning.shape_for_params`` of a log-uniform target in ``n_range`` (``shape_options``
    passed on: ``n_experts``, ``aspect_ratio``, ...); its N is that shape's total parameter count, D = N x a
    log-uniform tokens-per-parameter ratio, and the loss the truth's (default ``DEFAULT_TRUTH``, Epoch AI's refit)
    times ``exp(noise x standard normal)``. Every run trains on sequences of ``context`` tokens.
    """
    truth = DEFAULT_TRUTH if truth is None else truth
    targets = synthetic_runs(n_runs, truth=truth, noise=0.0, n_range=n_range, seed=seed).n_params
    shapes = [shape_for_params(n, **shape_options) for n in targets]
    n = np.array([parameter_count(s).total for s in shapes], np.float64)
    rng = np.random.default_rng(seed + 1)
    d = n * np.exp(rng.uniform(*np.log(tokens_per_param), n_runs))
    log_loss = np.asarray(truth.log_loss(np.log(n), np.log(d)), np.float64)
    loss = np.exp(log_loss + noise * rng.standard_normal(n_runs))
    return Runs(n, d, loss, np.ones(n_runs), None), shapes, np.full(n_runs, float(context))


# --- reading runs with their shapes --------------------------------------------------------------------------------

def _header(path):
    """The column names of a CSV file's header (None for other files: every optional column is then absent)."""
    if not isinstance(path, (str, os.PathLike)):  # None was pathlib's TypeError; the reader names it
        return None
    if Path(path).suffix.lower() == ".parquet":
        return None
    try:
        if not Path(path).is_file():
            return None  # a device or a FIFO (whose open would wait for a writer): the reader refuses it
        with open(path, newline="", encoding="utf-8-sig") as handle:
            line = handle.readline(1 << 20)  # bounded: a file that never ends (/dev/zero) has no first line
        return [h.strip().casefold() for h in next(csv.reader([line]), [])]
    except (OSError, UnicodeDecodeError, csv.Error):
        return None  # the reader itself says what is wrong


def _whole(values, field, source):
    out = []
    for row, value in enumerate(values, start=1):
        if not float(value).is_integer() or value < 0:
            raise DataError(f"{source}: data row {row}, column for {field}: {value!r} is not a whole number")
        out.append(int(value))
    return out


def read_shaped_runs(path, *, shape_cols=None, config_col=None, params_col=None, tokens_col=None, loss_col=None,
                     weight_col=None, where=None):
    """Runs with their shapes from a CSV (or Parquet) file: ``(runs, shapes, contexts)``.

    The runs' columns are read as ``optimal.data.read_runs_csv`` reads them (N, D, loss by default). The shape of
    each run comes from columns named by field (``shape_cols``: ``{field: column}``; each defaults to the field's
    own name): required ``n_layer``, ``d_model``, ``n_heads``, ``vocab_size`` and ``context`` (tokens per training
    sequence); optional ``n_kv_heads``, ``d_head``, ``d_ff``, ``n_experts``, ``experts_per_token`` and
    ``gated_ffn`` (0 or 1), read when the header has them (a CSV file), else ``TransformerShape``'s defaults.

    ``config_col`` names a column holding each run's Hugging Face ``config.json`` path instead (relative paths are
    taken from the CSV file's folder; the fields read are ``optimal.planning.hf_config``'s, its model types only);
    the context still comes from the ``context`` column (a config's ``max_position_embeddings`` is the longest
    context the model serves, not the length it was trained at), and no other shape column may be named.
    """
    names = dict(shape_cols or {})
    unknown = sorted(set(names) - set(SHAPE_COLUMNS))
    if unknown:
        raise DataError(f"unknown shape field {', '.join(unknown)}; the fields are {', '.join(SHAPE_COLUMNS)}")
    if config_col is not None:
        return _read_config_runs(path, config_col, names, params_col, tokens_col, loss_col, weight_col, where)
    header = _header(path)
    numbers = {f: names.get(f, f) for f in REQUIRED_SHAPE_COLUMNS}
    for field in OPTIONAL_SHAPE_COLUMNS:
        column = names.get(field, field)
        if field in names or (header is not None and column.strip().casefold() in header):
            numbers[field] = column
    runs, columns = read_runs_with_columns(path, numbers, params_col=params_col, tokens_col=tokens_col,
                                           loss_col=loss_col, weight_col=weight_col, where=where)
    source = str(path)
    ints = {f: _whole(columns[f], f, source) for f in numbers if f != "context"}
    shapes = []
    for i in range(len(runs.n_params)):
        fields = {f: v[i] for f, v in ints.items()}
        if "gated_ffn" in fields:
            fields["gated_ffn"] = bool(fields["gated_ffn"])
        try:
            shapes.append(TransformerShape(**fields))
        except OptimalError as exc:
            raise DataError(f"{source}: data row {i + 1}: {exc}") from None
    return runs, shapes, np.asarray(columns["context"], np.float64)


def _read_config_runs(path, config_col, names, params_col, tokens_col, loss_col, weight_col, where):
    """``read_shaped_runs`` with each run's shape from the ``config.json`` its ``config_col`` cell names."""
    other = sorted(set(names) - {"context"})
    if other:
        raise DataError(f"{path}: config_col gives each run's shape: name no shape column but context (got "
                        f"{', '.join(other)})")
    if not isinstance(config_col, str) or not config_col.strip():
        raise DataError(f"config_col must name a column, got {config_col!r}")
    runs, columns = read_runs_with_columns(path, {"context": names.get("context", "context")},
                                           labels={"config": config_col}, params_col=params_col,
                                           tokens_col=tokens_col, loss_col=loss_col, weight_col=weight_col,
                                           where=where)
    folder, source, read = Path(path).parent, str(path), {}
    shapes = []
    for i, cell in enumerate(columns["config"]):
        file = Path(cell.strip())
        file = file if file.is_absolute() else folder / file
        if file not in read:
            try:
                read[file] = read_hf_config(file).shape
            except OptimalError as exc:
                raise DataError(f"{source}: data row {i + 1}, column {config_col}: {exc}") from None
        shapes.append(read[file])
    return runs, shapes, np.asarray(columns["context"], np.float64)


__all__ = ["FlopAudit", "RunFlops", "fit_flops_model", "flop_audit", "flops_per_token", "read_shaped_runs",
           "synthetic_shaped_runs"]
