"""Budgets -> compute-optimal N*, D*: the allocation solver, its closed form, caps, FLOPs-per-token models, and
extrapolation distances."""

from .allocate import BOUND_NAMES, Allocation, check_budgets, closed_form, compute_for_loss, compute_optimal
from .flops import FlopsPerToken
from .data_constrained import DataConstrainedAllocation, data_constrained_optimal
from .inference import InferenceAllocation, inference_optimal
from .decide import Decision, decide, decision_log_params
from .moe import ExpertChoice, MoEAllocation, best_experts, moe_optimal, moe_total_params
from .precision import PrecisionChoice, precision_optimal
