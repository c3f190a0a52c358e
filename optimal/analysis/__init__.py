"""Judging and using a fit: the answer to "what should I train at C?" with intervals and extrapolation warnings."""
