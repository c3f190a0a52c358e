"""Learning rate and batch size from published hyperparameter laws, each with its source, units, FLOPs convention
and the range it was fitted on.

A law gives the near-optimal peak learning rate and batch size (tokens per optimiser step) as power laws of the
training compute C (or of N and D). Its coefficients belong to the paper's setting (optimiser, schedule, data,
tokenizer, architecture) and to the paper's own FLOPs convention; outside the range it was fitted on it is an
extrapolation, said as a warning.

Presets (``HPARAM_PRESETS``):

- ``deepseek2024``: DeepSeek LLM (Bi et al. 2024, arXiv 2401.02954, section 3.1, eq. (1)):
  learning rate 0.3118 C^-0.1250 and batch size 0.2920 C^0.3271 tokens, C in FLOPs in their convention
  C = M D (M: non-embedding FLOPs per token, attention included, vocabulary excluded; D: tokens). Fitted on runs
  from 1e17 to 2e19 FLOPs (AdamW, multi-step schedule; near-optimal = within 0.25% of the best generalisation
  error), checked by the authors at 1e20. Coefficients checked against several independent transcriptions of the
  paper's equation (the paper's own text was not in the reference store); at C = 1e22 they give 5.54e-4 and
  4.59e6 tokens (tests/planning/test_hparams.py).

Not shipped (their coefficients could not be read from the papers or the authors' repositories here): Step Law
(Li et al. 2025, arXiv 2503.04715: learning rate from N and D, batch size from D; the authors' repository
step-law/steplaw holds the fitting code but not the coefficients) and Porian et al. 2024 (arXiv 2406.19146).
``HparamLaw`` takes a law in N and D as well, so either can be added when its numbers are verified.

Example (DeepSeek's law at 1e22 FLOPs, 4096-token sequences):
  >>> h = hyperparameters(compute=1e22, context=4096)
  >>> round(h.learning_rate, 7), round(h.batch_size_tokens / 1e6, 2), round(h.batch_size_sequences)
  (0.0005545, 4.59, 1120)
"""

import dataclasses
import math
import numbers

import numpy as np

from ..errors import PlanningError, UnknownPresetError, as_real
from .._util.results import Formula, Issue

VARIABLES = {"C": "training compute (FLOPs)", "N": "parameters", "D": "training tokens"}
ARGUMENTS = {"C": "compute", "N": "n_params", "D": "n_tokens"}  # the keyword that gives each variable


@dataclasses.dataclass(frozen=True)
class PowerLaw:
    """``coefficient x prod(variable ** exponent)`` over ``exponents`` ({"C": b} or {"N": p, "D": q}); the variables
    are those of ``VARIABLES``, in the law's own convention."""

    coefficient: float
    exponents: dict

    def __call__(self, **values):
        """The law at ``values`` (floats or arrays of one shape; only the law's variables are read)."""
        out = self.coefficient
        for name, exponent in self.exponents.items():
            out = out * np.asarray(values[name], dtype=np.float64) ** exponent
        return out

    def text(self):
        return f"{self.coefficient:g} " + " ".join(f"{v}^{e:g}" for v, e in self.exponents.items())

    def to_dict(self):
        return {"coefficient": self.coefficient, "exponents": dict(self.exponents)}


@dataclasses.dataclass(frozen=True)
class HparamLaw:
    """A published hyperparameter law: learning rate and batch size (tokens per step) as ``PowerLaw``s.

    source: the paper and where the numbers are printed. convention: what its C (or N) counts. fitted_range:
    ``{variable: (low, high)}`` of the runs it was fitted on. setting: the training setup the numbers belong to.
    """

    name: str
    title: str
    source: str
    learning_rate: PowerLaw
    batch_size_tokens: PowerLaw
    convention: str
    fitted_range: dict
    setting: str

    @property
    def variables(self) -> tuple:
        return tuple(dict.fromkeys([*self.learning_rate.exponents, *self.batch_size_tokens.exponents]))

    def to_dict(self) -> dict:
        return {"name": self.name, "title": self.title, "source": self.source,
                "learning_rate": self.learning_rate.to_dict(), "batch_size_tokens": self.batch_size_tokens.to_dict(),
                "convention": self.convention, "fitted_range": {k: list(v) for k, v in self.fitted_range.items()},
                "setting": self.setting}


# Bi et al. 2024 (DeepSeek LLM, arXiv 2401.02954), section 3.1, eq. (1); fitted range in the same section and
# Figure 2 (1e17 .. 2e19 FLOPs; validated at 1e20). C = M D with M the non-embedding FLOPs per token (section 3).
DEEPSEEK_2024 = HparamLaw(
    name="deepseek2024",
    title="DeepSeek LLM (Bi et al. 2024)",
    source="Bi et al. 2024, DeepSeek LLM, arXiv 2401.02954, section 3.1, eq. (1)",
    learning_rate=PowerLaw(0.3118, {"C": -0.1250}),
    batch_size_tokens=PowerLaw(0.2920, {"C": 0.3271}),
    convention="C = M D in FLOPs, M = non-embedding FLOPs per token (attention included, vocabulary excluded)",
    fitted_range={"C": (1e17, 2e19)},
    setting="AdamW, multi-step learning-rate schedule, DeepSeek's bilingual data; near-optimal = generalisation "
            "error within 0.25% of the best; validated by the authors at 1e20 FLOPs",
)

HPARAM_PRESETS = {law.name: law for law in (DEEPSEEK_2024,)}
DEFAULT_HPARAM_PRESET = "deepseek2024"


def hparam_law(preset) -> HparamLaw:
    """The ``HparamLaw`` named ``preset`` (a key of ``HPARAM_PRESETS``), or ``preset`` itself when it is one."""
    if isinstance(preset, HparamLaw):
        return preset
    if preset not in HPARAM_PRESETS:
        raise UnknownPresetError(f"unknown hyperparameter preset {preset!r}; known: {', '.join(HPARAM_PRESETS)} "
                                 "(or 'none' on the command line to leave hyperparameters out)")
    return HPARAM_PRESETS[preset]


@dataclasses.dataclass(frozen=True)
class Hyperparameters(Formula):
    """The learning rate and batch size a law gives for one run, with the assumptions that produced them.

    learning_rate: peak learning rate (dimensionless). batch_size_tokens: tokens per optimiser step.
    batch_size_sequences: batch_size_tokens / context (sequences per step; None without a context).
    inputs: ``{variable: value}`` the law was evaluated at (C in FLOPs, N parameters, D tokens).
    compute_from: how C was obtained, in a few words (e.g. "the plan's 6 N D"); conversion: what that means for
    the law's convention, in words ("" when nothing needs saying).
    """

    law: HparamLaw
    learning_rate: float
    batch_size_tokens: float
    batch_size_sequences: float | None
    context: int | None
    inputs: dict
    compute_from: str
    conversion: str = ""

    @property
    def warnings(self) -> tuple:
        """Each input outside the range the law was fitted on ("extrapolation")."""
        found = []
        for name, (low, high) in self.law.fitted_range.items():
            value = self.inputs.get(name)
            if value is not None and not low <= value <= high:
                found.append(Issue("extrapolation", f"{name} = {value:.3g} is outside the range {self.law.title}'s "
                                   f"hyperparameter law was fitted on ({low:.3g} .. {high:.3g}): an extrapolation"))
        return tuple(found)

    @property
    def notes(self) -> tuple:
        """The law's convention, the conversion of C, and the setting its numbers belong to ("assumption")."""
        found = [Issue("assumption", f"{self.law.title}'s C: {self.law.convention}"
                       + (f"; {self.conversion}" if self.conversion else "")) if "C" in self.inputs else None,
                 Issue("assumption", f"the numbers belong to their setting: {self.law.setting}")]
        if self.context is None:
            found.append(Issue("assumption", "no context length given (--context T): batch size in sequences not computed"))
        return tuple(x for x in found if x is not None)

    def to_dict(self) -> dict:
        """Every figure under a name with its unit, beside the law and its inputs."""
        return {"preset": self.law.name, "source": self.law.source, "learning_rate": self.learning_rate,
                "batch_size_tokens": self.batch_size_tokens, "batch_size_sequences": self.batch_size_sequences,
                "context": self.context, "inputs": dict(self.inputs), "compute_from": self.compute_from, "conversion": self.conversion,
                "law": self.law.to_dict(), "warnings": [w.to_dict() for w in self.warnings],
                "notes": [n.to_dict() for n in self.notes], "status": self.status.label}

    def lines(self, intervals=None) -> list:
        """The rows ``optimal plan`` prints (learning rate, batch size, then the notes), with ``intervals``
        ({name: {lo, hi}} and "confidence", or None) beside their figures."""
        def ends(name, spec):
            if not intervals or name not in intervals:
                return ""
            shown = ["unbounded" if v is None else format(v, spec) for v in (intervals[name]["lo"], intervals[name]["hi"])]
            return f"  [{100 * intervals['confidence']:g}%: {shown[0]} .. {shown[1]}]"

        law = self.law
        at = ", ".join(f"{k} = {v:.4g}" + (f" ({self.compute_from})" if k == "C" else "") for k, v in self.inputs.items())
        sequences = "" if self.batch_size_sequences is None else \
            f" = {self.batch_size_sequences:.4g} sequences of {self.context}{ends('batch_size_sequences', '.4g')}"
        return [f"  learning rate  {self.learning_rate:.3g}  = {law.learning_rate.text()} at {at}; {law.source}"
                f"{ends('learning_rate', '.3g')}",
                f"  batch size     {self.batch_size_tokens:.4g} tokens  = {law.batch_size_tokens.text()} tokens"
                f"{ends('batch_size_tokens', '.4g')}{sequences}"] + [f"  note: {n}" for n in self.notes]

    def summary(self) -> str:
        """The learning rate and batch size with their law, source and assumptions."""
        lines = [f"hyperparameters from {self.law.title}:"] + self.lines()
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def _positive(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise PlanningError(f"{name} must be a number, got {value!r}")
    number = as_real(value)  # an int beyond float64: inf, refused below
    if not (math.isfinite(number) and number > 0):
        raise PlanningError(f"{name} must be a finite number > 0, got {value!r:.40}")
    return number


def hyperparameters(preset=DEFAULT_HPARAM_PRESET, *, compute=None, n_params=None, n_tokens=None, context=None,
                    compute_from="given", conversion="") -> Hyperparameters:
    """The learning rate and batch size of a law for one run.

    Args:
      preset: a name in ``HPARAM_PRESETS`` or an ``HparamLaw``.
      compute: training FLOPs C, in the law's convention (``law.convention``); needed by a law in C.
      n_params, n_tokens: N and D, for a law in N and D.
      context: tokens per sequence, for the batch size in sequences (None leaves it out).
      compute_from: how ``compute`` was obtained, in a few words, stated beside the figures (e.g. "the plan's 6 N D").
      conversion: what taking that C for the law's means, in words (a note beside the law's convention).

    Raises:
      UnknownPresetError: an unknown preset. PlanningError: a variable the law needs is missing or not > 0.
    """
    law = hparam_law(preset)
    given = {"C": compute, "N": n_params, "D": n_tokens}
    inputs = {}
    for name in law.variables:
        if given[name] is None:
            raise PlanningError(f"{law.title}'s hyperparameter law needs {VARIABLES[name]} ({ARGUMENTS[name]})")
        inputs[name] = _positive(given[name], ARGUMENTS[name])
    if context is not None:
        if isinstance(context, bool) or not isinstance(context, numbers.Integral) or not 1 <= context <= 2**53:
            raise PlanningError(f"context must be a whole number of tokens >= 1 (at most 2^53), got {context!r:.40}")
        context = int(context)
    lr = float(law.learning_rate(**inputs))
    tokens = float(law.batch_size_tokens(**inputs))
    return Hyperparameters(law, lr, tokens, None if context is None else tokens / context, context, inputs,
                           str(compute_from), str(conversion))


def hyperparameter_figures(hparams, *, compute=None, n_params=None, n_tokens=None) -> dict:
    """The figures of ``hparams`` (a ``Hyperparameters``) for many runs at once, under the same law and context:
    ``{"learning_rate", "batch_size_tokens", "batch_size_sequences"}`` arrays of the inputs' shape (a bootstrap
    draw's compute, N and D each; sequences None without a context). A draw whose input is not finite and > 0
    (a draw that cannot reach a target loss) gives NaN."""
    given = {"C": compute, "N": n_params, "D": n_tokens}
    inputs = {}
    for name in hparams.law.variables:
        values = np.asarray(given[name], dtype=np.float64)
        inputs[name] = np.where(np.isfinite(values) & (values > 0), values, np.nan)
    with np.errstate(invalid="ignore", over="ignore"):
        lr = np.asarray(hparams.law.learning_rate(**inputs), dtype=np.float64)
        tokens = np.asarray(hparams.law.batch_size_tokens(**inputs), dtype=np.float64)
    return {"learning_rate": lr, "batch_size_tokens": tokens,
            "batch_size_sequences": None if hparams.context is None else tokens / hparams.context}
