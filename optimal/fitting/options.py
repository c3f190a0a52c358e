"""A fit's settings as three small objects: what is minimised, where the polish starts, how each start is polished.

* ``Objective(robust="huber", delta=1e-3)``: the robust loss of log-loss residuals and its threshold, summed over
  rows (Hoffmann et al. 2022, App. D.2). A different objective is a different fit.
* ``Search(starts="screen", grid_size=64, n_polish=16, n_samples=4096)``: the starting points (the screen, a named
  start grid of the law family, or explicit ones). Changes which optimum is found, never what "optimum" means.
* ``Solver(max_iter=200, xtol=None)``: the damped Newton polish of every start (``optimal.fitting.solver``).

Each is a frozen (hashable) dataclass that checks every field when it is built, so a bad value is refused once, with
an ``OptimalError`` naming the field, whether it comes from a caller or from a saved fit record (``from_config``).
``to_config`` and ``from_config`` are the one mapping between these objects and a ``FitResult.config`` dict.

Example::

    >>> import optimal
    >>> runs = optimal.synthetic_runs(n_runs=40, seed=0)
    >>> result = optimal.fit(runs.n_params, runs.n_tokens, runs.loss,
    ...                      objective=optimal.Objective(delta=1e-2), search=optimal.Search(n_polish=8),
    ...                      solver=optimal.Solver(max_iter=300))
    >>> result.config["delta"], result.config["n_polish"], result.config["max_iter"]
    (0.01, 8, 300)
"""

import dataclasses

import numpy as np

from .._util.robust import (ASYMMETRIC, DEFAULT_ASYMMETRY, DEFAULT_DELTA, MAX_DELTA, MIN_DELTA, loss_name,
                            parse_loss)
from ..errors import CoefficientsError, OptimalError, check_count, check_positive

MAX_GRID_SIZE = 1024  # the Chinchilla screen holds grid_size^2 x 5 coefficients: 42 MB at 1024
MAX_SAMPLES = 1 << 22  # the sampled screen's points
MAX_ITER = 2**31 - 1  # the solver counts iterations in int32


@dataclasses.dataclass(frozen=True)
class Objective:
    """What a fit minimises: the sum over rows of ``weight x robust(predicted - observed log-loss)``.

    Attributes:
      robust: the loss of each residual: "huber" (Huber 1964; quadratic within ``delta``, linear beyond),
        "squared" (half squared error; ``delta`` is then unused), or "asymmetric-huber:A" (a lower envelope: Huber
        where a run's loss is at or below the law, A x Huber where it is above, 1e-6 <= A <= 1;
        ``optimal._util.robust.asymmetric_huber``); "asymmetric-huber" alone is "asymmetric-huber:0.25", and the
        asymmetry is always written out once built.
      delta: the Huber threshold on log-loss residuals (dimensionless: a residual of 1e-3 is a 0.1% loss error).
        Hoffmann et al. 2022 and Besiroglu et al. 2024 use 1e-3.

    Example::

        >>> Objective(delta=1e-2)
        Objective(robust='huber', delta=0.01)
    """

    robust: str = "huber"
    delta: float = DEFAULT_DELTA

    def __post_init__(self):
        try:
            name, asymmetry = parse_loss(self.robust)
        except ValueError as exc:
            raise OptimalError(f"Objective.robust must be one of huber, squared, {ASYMMETRIC}[:A] (1e-6 <= A <= 1, "
                               f"e.g. {ASYMMETRIC}:{DEFAULT_ASYMMETRY}), not {self.robust!r:.60}: {exc}") from None
        object.__setattr__(self, "robust", loss_name(name, asymmetry))
        object.__setattr__(self, "delta", check_positive(self.delta, "Objective.delta (the Huber threshold)"))
        if self.delta < MIN_DELTA:
            raise OptimalError(f"Objective.delta (the Huber threshold) must be at least {MIN_DELTA:g} (below it the "
                               f"objective underflows and the loss is L1 anyway), got {self.delta:g}")
        if self.delta > MAX_DELTA:
            raise OptimalError(f"Objective.delta (the Huber threshold) must be at most {MAX_DELTA:g} (above it every "
                               f"log-loss residual is inside it: use robust='squared'), got {self.delta:g}")


@dataclasses.dataclass(frozen=True)
class Search:
    """Where the polish starts.

    Attributes:
      starts: "screen" (the default: the law family's own screen where it has one, such as Chinchilla's exponent
        grid, else points sampled from the family's box), the name of one of the family's start grids (Chinchilla:
        "hoffmann", Hoffmann et al.'s 4500 starts), or an array (S, F) of the problem's free vectors (for the
        unconstrained Chinchilla law ``(log E, log A, log B, alpha, beta)``), kept as a tuple of tuples.
      grid_size: the resolution of the family's own screen (Chinchilla: a ``grid_size x grid_size`` grid of
        exponents over (0, 2]), 2 to 1024.
      n_polish: the screened points polished (the best distinct ones), >= 1.
      n_samples: the points the sampled screen draws (problems without the family's own screen), 1 to 2^22.

    Example::

        >>> Search(n_polish=8).n_polish
        8
        >>> Search(starts="hoffmann").starts
        'hoffmann'
    """

    starts: str | tuple = "screen"
    grid_size: int = 64
    n_polish: int = 16
    n_samples: int = 4096

    def __post_init__(self):
        if not isinstance(self.starts, str):
            try:
                theta0 = np.asarray(self.starts, dtype=np.float64)
            except (TypeError, ValueError):
                theta0 = np.zeros((0, 0))
            if theta0.ndim != 2 or theta0.size == 0 or not np.all(np.isfinite(theta0)):
                raise CoefficientsError("Search.starts must be 'screen', the name of a start grid, or a finite array "
                                        f"of shape (S, F) of free vectors, got shape {theta0.shape}")
            object.__setattr__(self, "starts", tuple(tuple(map(float, row)) for row in theta0))
        elif not self.starts:
            raise CoefficientsError("Search.starts must be 'screen', the name of a start grid, or an array (S, F)")
        object.__setattr__(self, "grid_size", check_count(self.grid_size, "Search.grid_size", 2, MAX_GRID_SIZE))
        object.__setattr__(self, "n_polish", check_count(self.n_polish, "Search.n_polish", 1))
        object.__setattr__(self, "n_samples", check_count(self.n_samples, "Search.n_samples", 1, MAX_SAMPLES))


@dataclasses.dataclass(frozen=True)
class Solver:
    """How each start is polished (a damped Newton method, ``optimal.fitting.solver``).

    Attributes:
      max_iter: the iteration budget of each start, 1 to 2^31 - 1; a start that uses it up stops as "max
        iterations" (not converged).
      xtol: the step tolerance, relative to ``1 + |coefficient|`` in the fitting space (log E, log A, ..., alpha);
        None: ``0.01 sqrt(eps)`` of the fit's dtype (1.5e-10 in float64), see ``step_tolerance``.

    Example::

        >>> Solver(max_iter=500).step_tolerance(np.float64)
        1.4901161193847657e-10
    """

    max_iter: int = 200
    xtol: float | None = None

    def __post_init__(self):
        object.__setattr__(self, "max_iter", check_count(self.max_iter, "Solver.max_iter", 1, MAX_ITER))
        if self.xtol is not None:
            object.__setattr__(self, "xtol", check_positive(self.xtol, "Solver.xtol"))

    def step_tolerance(self, dtype) -> float:
        """``xtol``, or its default for ``dtype`` (float64 or float32): ``0.01 sqrt(eps)``."""
        return float(0.01 * np.sqrt(np.finfo(dtype).eps)) if self.xtol is None else float(self.xtol)


def checked(objective, search, solver):
    """``(Objective, Search, Solver)``: each argument as given, or its default for None; an ``OptimalError`` for
    anything else (a dict, say), naming the argument."""
    found = []
    for value, kind, name, example in ((objective, Objective, "objective", "Objective(delta=1e-3)"),
                                       (search, Search, "search", "Search(n_polish=16)"),
                                       (solver, Solver, "solver", "Solver(max_iter=200)")):
        if value is None:
            value = kind()
        if not isinstance(value, kind):
            raise OptimalError(f"{name} must be an optimal.{kind.__name__} (e.g. optimal.{example}), "
                               f"not {type(value).__name__}")
        found.append(value)
    return tuple(found)


def to_config(objective: Objective, search: Search, solver: Solver, dtype) -> dict:
    """The ``FitResult.config`` dict of a fit (the fit record's "config"): every setting, ``xtol`` resolved for
    ``dtype``, in the order records have always had."""
    starts = search.starts
    return {"delta": float(objective.delta), "robust": objective.robust,
            "starts": starts if isinstance(starts, str) else np.asarray(starts).tolist(),
            "grid_size": search.grid_size, "n_polish": search.n_polish, "n_samples": search.n_samples,
            "max_iter": solver.max_iter, "xtol": solver.step_tolerance(dtype), "dtype": np.dtype(dtype).name,
            "reduction": "sum"}


def from_config(config: dict) -> dict:
    """``{"objective", "search", "solver", "dtype"}`` from a ``FitResult.config`` (or a record's "config"), each
    checked as when a caller builds it (``fit(..., **from_config(config))`` refits with the same settings). A record
    written before ``n_samples`` was saved gets its default."""
    return {"objective": Objective(config["robust"], config["delta"]),
            "search": Search(config["starts"], config["grid_size"], config["n_polish"],
                             config.get("n_samples", Search.n_samples)),
            "solver": Solver(config["max_iter"], config["xtol"]), "dtype": config["dtype"]}


# the keyword arguments fit, fit_groups, sweep and validate took before these objects, and where each went
_MOVED = {"robust": "objective=optimal.Objective(robust=...)", "delta": "objective=optimal.Objective(delta=...)",
          "starts": "search=optimal.Search(starts=...)", "grid_size": "search=optimal.Search(grid_size=...)",
          "n_polish": "search=optimal.Search(n_polish=...)", "n_samples": "search=optimal.Search(n_samples=...)",
          "max_iter": "solver=optimal.Solver(max_iter=...)", "xtol": "solver=optimal.Solver(xtol=...)"}


def refuse_unknown(function: str, keywords: dict) -> None:
    """A ``TypeError`` for keyword arguments ``function`` does not take, saying where a former fit setting went."""
    if keywords:
        name = next(iter(keywords))
        hint = f": pass {_MOVED[name]}" if name in _MOVED else ""
        raise TypeError(f"{function}() got an unexpected keyword argument {name!r}{hint}")
