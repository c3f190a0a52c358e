"""Conventions in the units every stage shares.

``DEFAULT_FLOPS_PER_PARAM_TOKEN`` is k in the training cost C = k N D (FLOPs; N parameters, D tokens): the one
default of every function, command and record that turns compute into tokens or back.
"""

# A dense transformer's forward pass costs 2 FLOPs per parameter per token and its backward pass 4, so training
# costs about 6 N FLOPs per token (Kaplan et al. 2020, "Scaling Laws for Neural Language Models", Sec. 2.1;
# attention adds 6 n_layer n_ctx d_model, which optimal.allocation.flops models when asked).
DEFAULT_FLOPS_PER_PARAM_TOKEN = 6.0
