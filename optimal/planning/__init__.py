"""N, D -> a training run: parameters from a transformer shape (MoE total and active), memory by precision and
optimiser, an accelerator table with sources, and time, energy and cost with every assumption stated."""

from .accelerators import ACCELERATORS, ALIASES, Accelerator, accelerator, accelerator_from_dict, load_accelerator
from .cost import (
    DEFAULT_MFU,
    DEFAULT_PRICE_PER_ACCELERATOR_HOUR,
    DEFAULT_PUE,
    HardwareEstimate,
    hardware_estimate,
)
from .memory import (
    BYTES_PER_VALUE,
    OPTIMIZERS,
    SHARDING,
    Optimizer,
    TrainingMemory,
    accelerators_for_weights,
    accelerators_to_hold,
    bytes_per_accelerator,
    kv_cache_bytes,
    training_memory,
    weight_bytes,
    weights_by_precision,
)
from .plan import DRAW_FIGURES, TrainingPlan, draw_intervals, figures_of_draws, plan_training
from .shapes import (
    DEFAULT_ASPECT_RATIO,
    PUBLISHED_SHAPES,
    ParameterCount,
    PublishedShape,
    TransformerShape,
    parameter_count,
    shape_for_params,
)
from .activations import RECOMPUTE, ActivationMemory, activation_bytes_per_layer, activation_memory
from .layout import (
    Layout,
    LayoutCandidate,
    LayoutMemory,
    LayoutSearch,
    largest_micro_batch,
    layout_memory,
    memory_per_accelerator,
    search_layouts,
)
from .hparams import (
    DEFAULT_HPARAM_PRESET,
    HPARAM_PRESETS,
    HparamLaw,
    Hyperparameters,
    PowerLaw,
    hparam_law,
    hyperparameter_figures,
    hyperparameters,
)
from .hf_config import HFConfig, read_hf_config
from .serving import ServingCost, inference_flops_weight, serving_cost, training_cost_per_flop
