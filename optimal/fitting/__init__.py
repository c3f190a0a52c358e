"""Runs -> a fitted law: validated data, the objective, the batched solver, the fit, its diagnostics, the bootstrap."""
