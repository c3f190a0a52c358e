"""The result protocol: what every result of ``optimal`` carries, after optimistix's ``Solution`` and SciPy's
``OptimizeResult``.

Every result has
  - ``status``: a ``Status`` member, which carries its label (the word records and JSON use), whether an answer
    with that status can be used (``Status.ok``) and a sentence that says what happened (``Status.message``);
  - ``ok``: ``status.ok`` (the ``Judged`` mixin supplies it; ``Formula`` all three for results that cannot fail);
  - ``warnings``: a tuple of ``Issue`` (a message with a short ``code``) about what makes the answer less
    trustworthy; ``notes``: a tuple of ``Issue`` about assumptions and context, nothing wrong;
  - ``to_dict()``: the strict-JSON form (field names are a versioned interface: never renamed);
  - ``summary()``: the text a person reads (what the CLI prints).

A result holds numbers. Operations that make new numbers from a result (allocating its draws, predicting new runs)
are functions that take the result, not its methods.
"""

import enum
from typing import Protocol, runtime_checkable


class Status(enum.Enum):
    """Why a computation ended. ``Status.X.label`` is the word records use, ``ok`` whether the answer can be used,
    ``message`` a sentence for people. The solver's stop reasons are members (``Status.from_label``)."""

    SUCCESS = ("success", True, "finished: every part converged")
    STEP_BELOW_XTOL = ("step below xtol", True, "converged: the Newton step fell below the tolerance xtol")
    GRADIENT_AT_FLOOR = ("gradient at rounding floor", True,
                         "converged: the gradient fell to the floor that rounding allows")
    NO_FURTHER_DECREASE = ("no further decrease", True, "converged: no step decreased the objective any further")
    MAX_ITERATIONS = ("max iterations", False, "not converged: the iteration budget ran out (raise max_iter)")
    NON_FINITE = ("non-finite", False, "failed: the objective or a coefficient became non-finite")
    RUNNING = ("running", False, "not finished: the solver was stopped while running")
    SINGULAR_CURVATURE = ("singular curvature", False,
                          "not identified: the objective's curvature is singular at the optimum, so the data cannot "
                          "pin down some combination of the coefficients")
    PARTIAL = ("partial", True, "finished, but some parts did not converge: they are counted in the warnings")
    FAILED = ("failed", False, "failed: no part of the computation converged")

    def __init__(self, label, ok, message):
        self.label = label
        self.ok = ok
        self.message = message

    def __str__(self):
        return self.label

    @classmethod
    def from_label(cls, label: str) -> "Status":
        """The member whose label is ``label`` (a solver stop reason such as "max iterations"); ``ValueError``
        for an unknown one."""
        for member in cls:
            if member.label == label:
                return member
        raise ValueError(f"unknown status {label!r}; known: {', '.join(m.label for m in cls)}")


class Issue(str):
    """A warning or a note: the message (the string itself, so it prints and compares as text) and a short
    machine-readable ``code`` (e.g. "extrapolation", "not-identified", "failed-resamples").

    >>> w = Issue("not-identified", "the runs do not identify E")
    >>> w.code, str(w), w.to_dict()["code"]
    ('not-identified', 'the runs do not identify E', 'not-identified')
    """

    code: str

    def __new__(cls, code: str, message: str):
        issue = super().__new__(cls, message)
        issue.code = str(code)
        return issue

    @property
    def message(self) -> str:
        return str.__str__(self)

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message}

    def __reduce__(self):
        return Issue, (self.code, self.message)


def issues(items, code: str) -> tuple:
    """``items`` as a tuple of ``Issue``: an ``Issue`` stays as it is, a plain string gets ``code``."""
    return tuple(item if isinstance(item, Issue) else Issue(code, item) for item in items)


class Formula:
    """Protocol members for a result computed by formulas of inputs checked when it was built (a shape, a byte count,
    a plan): nothing can fail to converge, so ``status`` is always SUCCESS and ``ok`` True; ``warnings`` is empty
    unless the class says otherwise. The class supplies ``notes``, ``to_dict()`` and ``summary()``."""

    @property
    def status(self) -> Status:
        return Status.SUCCESS

    @property
    def ok(self) -> bool:
        return True

    @property
    def warnings(self) -> tuple:
        return ()


class Judged:
    """Protocol member ``ok`` for a result whose class supplies ``status`` (a ``Status`` that judges its own numbers):
    ``ok`` is ``status.ok``, so the two never disagree."""

    @property
    def ok(self) -> bool:
        return self.status.ok


@runtime_checkable
class Result(Protocol):
    """What every result provides (see the module docstring); ``isinstance(x, Result)`` checks the names."""

    @property
    def status(self) -> Status: ...

    @property
    def ok(self) -> bool: ...

    @property
    def warnings(self) -> tuple: ...

    @property
    def notes(self) -> tuple: ...

    def to_dict(self) -> dict: ...

    def summary(self) -> str: ...


__all__ = ["Formula", "Issue", "Judged", "Result", "Status", "issues"]
