"""Figures (matplotlib); they draw what the library computed and compute nothing of their own."""

from ..errors import PlotError
from .figures import (CHINCHILLA_BUDGET, DPI_RANGE, KINDS, PRESET_SOURCES, bootstrap_pairs, check_output, data_vs_fit,
                      figure_from_record, frontier, groups_frontier, save_figure, surface)
from .isoflop import isoflop_figure
from .profile import profile_figure
from .validate import validation_figure
from .decision import decision_figure
