"""optimal: compute-optimal model size and training tokens from scaling laws, with honest uncertainty.

``import optimal`` turns on JAX's float64 support (``jax_enable_x64``): fits and budgets up to 1e30 FLOPs
need it, and without it JAX silently computes in float32. Arrays made with an explicit dtype keep theirs;
pass ``dtype=jnp.float32`` to any solver to compute in float32.
"""

import jax

jax.config.update("jax_enable_x64", True)

from .allocate import BOUND_NAMES, Allocation, closed_form, compute_for_loss, compute_optimal  # noqa: E402
from .bootstrap import BootstrapResult, bootstrap, load_bootstrap  # noqa: E402
from .data import Runs, load_epoch_chinchilla, read_runs_csv, shared_data_path, validate_runs  # noqa: E402
from .errors import (  # noqa: E402
    BudgetError,
    CoefficientsError,
    ConvergenceWarning,
    DataError,
    IdentifiabilityWarning,
    OptimalError,
    PlotError,
    PrecisionError,
    UnknownPresetError,
    UnreachableLossError,
)
from .fit import FitResult, fit, load_fit  # noqa: E402
from .synthetic import synthetic_runs  # noqa: E402
from .laws import (  # noqa: E402
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
