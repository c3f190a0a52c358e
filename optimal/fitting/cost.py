"""How long a fit and its bootstrap will take and how much memory they will hold, estimated before they run.

The work is counted in the units it is made of, and each unit's cost is a constant calibrated on this project's
reference machines (2 shared vCPUs, float64, the Chinchilla fast path; ``python benchmarks/run.py --big``
measures it again):

- the screen evaluates every point of the exponent grid on every row: ``grid_size^2 x rows`` cells, each
  ``SCREEN_NS_PER_CELL``;
- the polish evaluates the objective, gradient and Hessian of one lane on every row once per iteration:
  ``lanes x rows x iterations``, each ``POLISH_NS_PER_LANE_ROW``. A fit polishes ``n_polish`` lanes. A bootstrap
  screens once more (for the resamples' candidate starts) and polishes one lane per resample, from the full-data
  optimum, and evaluates the objective once at each of its other ``n_starts - 1`` candidates; the solver runs
  lanes in blocks of ``optimal.fitting.solver.default_slots(rows)``, so a bootstrap polishes at least one block
  (16 resamples of 3000 rows cost what 256 do). Each polished lane takes about ``ITERATIONS_PER_LANE``
  iterations (measured on synthetic runs). Resamples that land in a worse basin or do not converge are refitted
  from every candidate (and, if they still fail, from 16 starts with 4x the budget): ill-posed data take more
  than the estimate, so read it as the time of a well-posed job;
- compiling costs ``FIT_COMPILE_S`` for the fit's programs and ``BOOTSTRAP_COMPILE_S`` for the bootstrap's,
  whatever the size, in a fresh process (the CLI's compilation cache, ``OPTIMAL_CACHE_DIR``, makes a repeated
  command's much less).

Peak resident memory is the process's floor (Python, JAX, the compiled programs: ``BASE_BYTES``, and
``BOOTSTRAP_BYTES`` more with a bootstrap), plus the rows
(``BYTES_PER_ROW``), plus the bootstrap's lanes x rows of one compiled call (``BYTES_PER_LANE_CELL``), which the
bootstrap caps by its chunk size (``optimal.fitting.bootstrap``) so memory stops growing with the resamples.

Other families (autodiff objective) cost more per lane and row than the Chinchilla fast path: there the estimate
is a lower bound. The CLI prints it before a job estimated to take longer than ``optimal.cli.main``'s threshold,
and its progress bar then shows the measured rate and the time left.

Example::

    >>> from optimal.fitting.cost import estimate_cost
    >>> e = estimate_cost(100_000, n_resamples=1000)
    >>> e.seconds > 60, e.peak_bytes < 1e9
    (True, True)
"""

from typing import NamedTuple

from ..errors import check_count
from .bootstrap import MAX_RESAMPLES
from .._util.results import Issue, Status
from .options import Search, checked
from .solver import default_slots

# calibrated on the reference machines (see the module docstring): the work constants on an Intel Xeon, 2026-11-24,
# from single warm runs at load ~1.2 (time) and the peaks of fresh processes fitting and bootstrapping 1k to 300k
# synthetic rows (memory); the compile constants on an AMD EPYC (fresh processes, empty cache, 3000 synthetic rows,
# 16 resamples: the fit's programs 6-7 s of CPU and the bootstrap's 5-6 s on 2026-12-04; the fit's 5.0-5.5 s
# (3.3-3.6 s wall) and the bootstrap's 5.2-5.3 s on 2026-12-05, once the fit's profile and curvature check ran in
# its polish; 2-4 s each before the bootstrap's candidate check and the fit's diagnostics grew them)
SCREEN_NS_PER_CELL = 4.0  # the screen: 1.7 s for 64^2 grid points x 100k rows
POLISH_NS_PER_LANE_ROW = 50.0  # the polish: 0.9 s for 181 lane iterations x 100k rows
ITERATIONS_PER_LANE = 13  # fits took 11 per lane, resamples' best starts 10-11; the other starts take a few more
FIT_COMPILE_S = 5.0  # compiling the fit's screen, polish and diagnostics
BOOTSTRAP_COMPILE_S = 5.0  # compiling the bootstrap's screen, refit and candidate check
BASE_BYTES = 350e6  # Python, JAX and the fit's compiled programs, with the screen's blocks (bounded: SCREEN_CELLS)
BOOTSTRAP_BYTES = 180e6  # the bootstrap's compiled programs and their buffers
BYTES_PER_ROW = 250.0  # the rows, their logs, weights and each resample's counts
BYTES_PER_LANE_CELL = 40.0  # the bootstrap's (lanes, rows) weights and the solver's per-slot rows
LANE_CELLS_PER_CALL = 1 << 22  # the bootstrap's lanes x rows per compiled call (its chunk size rule)

# rows an estimate is made for at most: far past any runs file (MAX_RUNS, 100,000) or device's memory
MAX_COST_ROWS = 10**9


class CostEstimate(NamedTuple):
    """An estimate made before running: ``seconds`` of wall time and ``peak_bytes`` of resident memory, with the
    work it counts: ``screen_cells`` (grid points x rows), ``lane_row_iterations`` (lanes x rows x iterations),
    ``programs`` (compiled: the fit's, the bootstrap's)."""

    seconds: float
    peak_bytes: float
    screen_cells: float
    lane_row_iterations: float
    programs: int

    @property
    def status(self) -> Status:
        """Always SUCCESS: an estimate is a formula of counts (calibrated constants: a guide, see ``notes``)."""
        return Status.SUCCESS

    @property
    def ok(self) -> bool:
        return True

    @property
    def warnings(self) -> tuple:
        return ()

    @property
    def notes(self) -> tuple:
        return (Issue("calibrated", "constants calibrated on the reference machine: a guide, not a promise"),)

    def to_dict(self) -> dict:
        """The fields as JSON (seconds, peak_bytes, screen_cells, lane_row_iterations, programs) and ``status``."""
        return {**{k: float(v) if k != "programs" else int(v) for k, v in self._asdict().items()},
                "status": self.status.label}

    def summary(self) -> str:
        """``describe()``: one line for a person."""
        return self.describe()

    def describe(self) -> str:
        """One line for a person, e.g. ``about 5.2 min and 0.71 GB peak memory``."""
        minutes = self.seconds / 60
        when = f"{self.seconds:.0f} s" if self.seconds < 120 else f"{minutes:.1f} min" if minutes < 120 else \
            f"{minutes / 60:.1f} h"
        return f"about {when} and {self.peak_bytes / 1e9:.2g} GB peak memory"


def estimate_cost(n_rows, n_resamples=0, *, search=Search(), n_starts=4, fit=True) -> CostEstimate:
    """Time and peak memory of fitting ``n_rows`` runs (``fit``) and bootstrapping ``n_resamples`` resamples.

    Args:
      n_rows: rows fitted (all groups together). n_resamples: bootstrap resamples (0: none).
      search: the fit's screen and polish, a ``Search`` as ``optimal.fit`` takes it (its grid_size and n_polish);
        n_starts: candidate starts per resample (``optimal.Refit``'s). fit: whether the fit itself is counted
        (False: only the bootstrap of a fit in hand).

    Returns:
      ``CostEstimate``: see the module docstring for the model and its calibrated constants. Raises
      ``OptimalError`` for a count out of range.
    """
    check_count(n_rows, "n_rows", 1, MAX_COST_ROWS)
    check_count(n_resamples, "n_resamples", 0, MAX_RESAMPLES)
    search = checked(None, search, None)[1]
    grid_size, n_polish = search.grid_size, search.n_polish
    check_count(n_starts, "n_starts", 1)
    screens, lanes, seconds = (1, n_polish, FIT_COMPILE_S) if fit else (0, 0, 0.0)
    programs = int(fit)
    probes = 0
    if n_resamples:
        block = default_slots(n_rows)
        polished = -(-n_resamples // block) * block  # whole blocks of the solver's slots
        screens, lanes, programs = screens + 1, lanes + polished, programs + 1
        seconds += BOOTSTRAP_COMPILE_S
        probes = polished * (n_starts - 1)  # one objective evaluation at each other candidate
    screen_cells = float(screens) * grid_size * grid_size * n_rows
    lane_row_iterations = float(lanes) * n_rows * ITERATIONS_PER_LANE + float(probes) * n_rows
    seconds += 1e-9 * (screen_cells * SCREEN_NS_PER_CELL + lane_row_iterations * POLISH_NS_PER_LANE_ROW)
    # one compiled call holds at most LANE_CELLS_PER_CALL lanes x rows (at least one resample's starts)
    call_cells = min(n_resamples * n_starts * n_rows, max(LANE_CELLS_PER_CALL, n_starts * n_rows)) if n_resamples else \
        n_polish * n_rows
    peak = BASE_BYTES + (BOOTSTRAP_BYTES if n_resamples else 0.0) + BYTES_PER_ROW * n_rows + BYTES_PER_LANE_CELL * call_cells
    return CostEstimate(float(seconds), float(peak), screen_cells, lane_row_iterations, programs)
