"""optimal: compute-optimal model size and training tokens from scaling laws, with honest uncertainty.

The public API only: importing it changes no global configuration. Each call computes in float64 inside a
scoped ``jax.enable_x64(True)`` (``optimal.precision``); pass ``dtype=jnp.float32`` to compute in float32.
"""

from .allocation.allocate import BOUND_NAMES, Allocation, closed_form, compute_for_loss, compute_optimal
from .fitting.bootstrap import BootstrapResult, bootstrap, bootstrap_groups, load_bootstrap
from .fitting.cost import CostEstimate, estimate_cost
from .fitting.data import (
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
from .analysis.compare import compare
from .analysis.recommend import Recommendation, recommend
from .synthetic import synthetic_runs
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

__version__ = "0.1.0"
