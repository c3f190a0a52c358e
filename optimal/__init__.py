"""optimal: compute-optimal model size and training tokens from scaling laws, with honest uncertainty.

The public API only, grouped by stage as the data flows (laws -> data -> fitting -> allocation -> analysis ->
planning), with ``__all__`` naming every public name: importing it changes no global configuration. Each call
computes in float64 inside a scoped ``jax.enable_x64(True)`` (``optimal._util.precision``); pass
``dtype=jnp.float32`` to compute in float32.
"""

# laws: loss surfaces L(N, D), the family contract, published presets
from .laws import (
    DEFAULT_PRESET,
    PRESETS,
    Chinchilla,
    CustomLaw,
    DataConstrained,
    Family,
    Kaplan,
    custom_family,
    law_from_dict,
    law_to_dict,
    preset,
)

# data: runs, their validation and readers, synthetic runs from a known law
from .data.readers import load_epoch_chinchilla, read_runs_csv, runs_from_frame, shared_data_path
from .data.runs import Runs, validate_runs
from .data.where import parse_where
from .data.synthetic import isoflop_runs, synthetic_runs
from .data.curves import Curves, read_curves_csv, synthetic_curves, validate_curves

# fitting: fit a family to runs (its settings: Objective, Search, Solver), bootstrap the fit (its refit settings:
# Refit), sweep its settings
from .fitting.bootstrap import BootstrapResult, Refit, bootstrap, bootstrap_groups
from .fitting.cost import CostEstimate, estimate_cost
from .fitting.fit import FitResult, fit, fit_groups
from .fitting.groups import GroupBootstraps, GroupFits
from .fitting.options import Objective, Search, Solver
from .fitting.sweep import Sweep, sweep
from .fitting.replicates import ReplicateNoise, replicate_noise

# allocation: compute-optimal N* and D* for budgets, of a law or of every bootstrap draw
from .allocation.allocate import BOUND_NAMES, Allocation, closed_form, compute_for_loss, compute_optimal
from .allocation.data_constrained import DataConstrainedAllocation, data_constrained_optimal
from .allocation.decide import Decision, decide, decision_log_params
from .allocation.draws import allocate_draws, delta_method_se
from .allocation.extrapolation import (
    MAX_DECADES_OUTSIDE,
    MAX_SHARE_AT_EDGE,
    MAX_TOKENS_PER_PARAM,
    MIN_TOKENS_PER_PARAM,
    PRESET_RANGES,
    FittedRange,
    Thresholds,
)
from .allocation.flops import FlopsPerToken
from .allocation.inference import InferenceAllocation, inference_optimal
from .laws import FineGrainedMoE, JointMoE, PrecisionLaw, PTQLaw
from .allocation.moe import ExpertChoice, MoEAllocation, best_experts, moe_optimal, moe_total_params
from .allocation.precision import PrecisionChoice, precision_optimal

# analysis: what a fit says (recommendations, predictions, comparisons, held-out checks, design, IsoFLOP)
from .analysis.compare import Comparison, compare
from .analysis.design import Suggestion, predicted_sd, suggest
from .analysis.isoflop import BudgetProfile, IsoflopResult, isoflop
from .analysis.predict import Prediction, predict
from .analysis.recommend import Recommendation, recommend
from .analysis.validate import GroupValidations, Validation, validate, validate_groups
from .analysis.constrained import BestRun, Constraints, best_run
from .analysis.envelope import EnvelopeResult, envelope
from .analysis.presets import PresetCheck, PresetComparison, check_presets, compare_presets  # the registry checked
from .laws.presets import REGISTRY, Preset  # every published law with units, ranges, sources, test vectors
from .analysis.flop_audit import FlopAudit, flop_audit, flops_per_token, read_shaped_runs

# io: the one record format (save/load of fits, their draws, k, the row selection)
from .io.records import Record, load_bootstrap, load_coefficients, load_fit, load_record, save_fit

# planning: N, D -> a training run (shapes, memory, accelerators, time and cost)
from .planning import (
    ACCELERATORS,
    OPTIMIZERS,
    PUBLISHED_SHAPES,
    Accelerator,
    HardwareEstimate,
    ParameterCount,
    TrainingMemory,
    TrainingPlan,
    TransformerShape,
    accelerator,
    hardware_estimate,
    kv_cache_bytes,
    load_accelerator,
    parameter_count,
    plan_training,
    shape_for_params,
    training_memory,
    weight_bytes,
    Layout,
    activation_memory,
    largest_micro_batch,
    layout_memory,
    memory_per_accelerator,
    search_layouts,
)
from .analysis.snap import ShapeSnap, snap_to_shape
from .planning import read_hf_config, serving_cost

# errors: what a call raises or warns
from .errors import (
    BudgetError,
    CoefficientsError,
    ConvergenceWarning,
    DataError,
    IdentifiabilityWarning,
    OptimalError,
    OutputError,
    PlanningError,
    PlausibilityWarning,
    PlotError,
    PrecisionError,
    UnknownPresetError,
    UnreachableLossError,
)

from ._util.results import Issue, Result, Status
from ._util.version import VERSION as __version__

__all__ = [
    # laws
    "DEFAULT_PRESET",
    "PRESETS",
    "Chinchilla",
    "CustomLaw",
    "DataConstrained",
    "Family",
    "Kaplan",
    "custom_family",
    "law_from_dict",
    "law_to_dict",
    "preset",
    # data
    "Runs",
    "isoflop_runs",
    "load_epoch_chinchilla",
    "parse_where",
    "read_runs_csv",
    "runs_from_frame",
    "shared_data_path",
    "synthetic_runs",
    "validate_runs",
    # fitting
    "BootstrapResult",
    "CostEstimate",
    "FitResult",
    "GroupBootstraps",
    "GroupFits",
    "Refit",
    "Objective",
    "Search",
    "Solver",
    "Sweep",
    "bootstrap",
    "bootstrap_groups",
    "estimate_cost",
    "fit",
    "fit_groups",
    "sweep",
    # allocation
    "BOUND_NAMES",
    "MAX_DECADES_OUTSIDE",
    "MAX_SHARE_AT_EDGE",
    "MAX_TOKENS_PER_PARAM",
    "MIN_TOKENS_PER_PARAM",
    "PRESET_RANGES",
    "Allocation",
    "DataConstrainedAllocation",
    "Decision",
    "FittedRange",
    "FlopsPerToken",
    "InferenceAllocation",
    "Thresholds",
    "allocate_draws",
    "closed_form",
    "compute_for_loss",
    "compute_optimal",
    "data_constrained_optimal",
    "decide",
    "decision_log_params",
    "delta_method_se",
    "inference_optimal",
    "FineGrainedMoE",
    "JointMoE",
    "PrecisionLaw",
    "PTQLaw",
    "ExpertChoice",
    "MoEAllocation",
    "PrecisionChoice",
    "best_experts",
    "moe_optimal",
    "moe_total_params",
    "precision_optimal",
    # analysis
    "BudgetProfile",
    "Comparison",
    "IsoflopResult",
    "Prediction",
    "Recommendation",
    "Suggestion",
    "GroupValidations",
    "Validation",
    "compare",
    "isoflop",
    "predict",
    "predicted_sd",
    "recommend",
    "suggest",
    "validate",
    "validate_groups",
    # planning
    "ACCELERATORS",
    "OPTIMIZERS",
    "PUBLISHED_SHAPES",
    "Accelerator",
    "HardwareEstimate",
    "ParameterCount",
    "TrainingMemory",
    "TrainingPlan",
    "TransformerShape",
    "accelerator",
    "hardware_estimate",
    "kv_cache_bytes",
    "load_accelerator",
    "parameter_count",
    "plan_training",
    "shape_for_params",
    "training_memory",
    "weight_bytes",
    "Layout",
    "activation_memory",
    "largest_micro_batch",
    "layout_memory",
    "memory_per_accelerator",
    "search_layouts",
    # io
    "Record",
    "load_bootstrap",
    "load_coefficients",
    "load_fit",
    "load_record",
    "save_fit",
    # results: the protocol every result follows
    "Issue",
    "Result",
    "Status",
    # errors
    "BudgetError",
    "CoefficientsError",
    "ConvergenceWarning",
    "DataError",
    "IdentifiabilityWarning",
    "OptimalError",
    "OutputError",
    "PlanningError",
    "PlausibilityWarning",
    "PlotError",
    "PrecisionError",
    "UnknownPresetError",
    "UnreachableLossError",
    # analysis: the best run under constraints
    "BestRun",
    "Constraints",
    "best_run",
    # learning curves (issue 23): Approach 1 beside Approaches 2 and 3
    "Curves",
    "EnvelopeResult",
    "envelope",
    "read_curves_csv",
    "synthetic_curves",
    "validate_curves",
    # presets: the registry of published laws (issue 23)
    "REGISTRY",
    "Preset",
    "PresetCheck",
    "PresetComparison",
    "check_presets",
    "compare_presets",
    # real shapes and serving (docs/shapes.md)
    "ShapeSnap",
    "read_hf_config",
    "serving_cost",
    "snap_to_shape",
    # analysis: the FLOP audit (issue 23)
    "FlopAudit",
    "flop_audit",
    "flops_per_token",
    "read_shaped_runs",
    # fitting: seed noise from repeated runs (issue 23)
    "ReplicateNoise",
    "replicate_noise",
]

# hyperparameters: published learning-rate and batch-size laws (planning), and a user's own sweep (analysis)
from .planning.hparams import DEFAULT_HPARAM_PRESET, HPARAM_PRESETS, Hyperparameters, hyperparameters  # noqa: E402
from .analysis.hparam_sweep import HparamSweep, hparam_at, hparam_sweep  # noqa: E402

__all__ += ["DEFAULT_HPARAM_PRESET", "HPARAM_PRESETS", "HparamSweep", "Hyperparameters", "hparam_at", "hparam_sweep",
            "hyperparameters"]
