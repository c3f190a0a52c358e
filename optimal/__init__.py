"""optimal: compute-optimal model size and training tokens from scaling laws, with honest uncertainty.

The public API only: importing it changes no global configuration. Each call computes in float64 inside a
scoped ``jax.enable_x64(True)`` (``optimal._util.precision``); pass ``dtype=jnp.float32`` to compute in float32.
"""

from .allocation.allocate import BOUND_NAMES, Allocation, closed_form, compute_for_loss, compute_optimal
from .allocation.data_constrained import DataConstrainedAllocation, data_constrained_optimal
from .allocation.flops import FlopsPerToken
from .allocation.inference import InferenceAllocation, inference_optimal
from .fitting.bootstrap import BootstrapResult, bootstrap, bootstrap_groups, load_bootstrap
from .fitting.cost import CostEstimate, estimate_cost
from .data.runs import (
    Runs,
    load_epoch_chinchilla,
    parse_where,
    read_runs_csv,
    runs_from_frame,
    shared_data_path,
    validate_runs,
)
from .errors import (
    BudgetError,
    CoefficientsError,
    ConvergenceWarning,
    DataError,
    IdentifiabilityWarning,
    OptimalError,
    PlausibilityWarning,
    OutputError,
    PlanningError,
    PlotError,
    PrecisionError,
    UnknownPresetError,
    UnreachableLossError,
)
from .allocation.extrapolation import (
    MAX_DECADES_OUTSIDE,
    MAX_SHARE_AT_EDGE,
    MAX_TOKENS_PER_PARAM,
    MIN_TOKENS_PER_PARAM,
    PRESET_RANGES,
    FittedRange,
    Thresholds,
)
from .fitting.fit import FitResult, fit, load_fit
from .fitting.sweep import sweep
from .analysis.isoflop import BudgetProfile, IsoflopResult, isoflop
from .analysis.compare import compare
from .analysis.recommend import Recommendation, recommend
from .analysis.validate import Validation, validate
from .analysis.predict import Prediction, predict
from .analysis.design import Suggestion, predicted_sd, suggest
from .data.synthetic import isoflop_runs, synthetic_runs
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
)
from .laws import (
    DEFAULT_PRESET,
    PRESETS,
    Chinchilla,
    CustomLaw,
    DataConstrained,
    Kaplan,
    law_from_dict,
    law_to_dict,
    load_coefficients,
    preset,
)

from ._util.version import VERSION as __version__
from ._util.results import Issue, Result, Status
from .analysis.compare import Comparison
from .fitting.fit import fit_groups
from .fitting.groups import GroupBootstraps, GroupFits
from .fitting.sweep import Sweep
