"""Published laws with their sources, and coefficients read from and written to JSON."""

import math

from ..errors import CoefficientsError, UnknownPresetError, check_positive
from .chinchilla import Chinchilla
from .data_constrained import DataConstrained
from .kaplan import Kaplan

PRESETS = {
    # Besiroglu, Erdil, Barnett, You (Epoch AI 2024), "Chinchilla Scaling: A replication attempt", eq. 4.
    "epoch2024": Chinchilla(E=1.8172, A=482.01, B=2085.43, alpha=0.3478, beta=0.3658),
    # Hoffmann et al. 2022, "Training Compute-Optimal Large Language Models", eq. 10 (rounded as printed).
    "hoffmann2022": Chinchilla(E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28),
    # Kaplan et al. 2020, "Scaling Laws for Neural Language Models", eq. 1.5 with the joint fit of Table 2
    # ("Fits to L(N, D)"); N counts non-embedding parameters. Not the one-variable fits of eqs. 1.1-1.2
    # (alpha_D = 0.095, N_c = 8.8e13, D_c = 5.4e13), which the joint form does not take.
    "kaplan2020": Kaplan(alpha_N=0.076, alpha_D=0.103, N_c=6.4e13, D_c=1.8e13),
    # Muennighoff et al. 2023, "Scaling Data-Constrained Language Models": the constants of the authors' README
    # (huggingface/datablations, "Parametric Fit"): (a, b, e, alpha, beta, rd*, rn*) with A = e^a, B = e^b,
    # E = e^e; unlimited unique data unless a law is made with ``._replace(unique_tokens=U)``
    "muennighoff2023": DataConstrained(E=math.exp(0.6254804), A=math.exp(6.255414), B=math.exp(7.3049974),
                                       alpha=0.3526596, beta=0.3526596, rd_star=15.387756, rn_star=5.309743),
}
DEFAULT_PRESET = "epoch2024"


def preset(name: str = DEFAULT_PRESET):
    """The published law called ``name`` (one of ``PRESETS``)."""
    try:
        return PRESETS[name]
    except KeyError:
        raise UnknownPresetError(f"unknown preset {name!r}; choose one of {', '.join(sorted(PRESETS))}") from None


def preset_name(law):
    """The name of the preset ``law`` is (same law type, every fitted coefficient equal to what ``preset(name)``
    returns; a data-constrained law's ``unique_tokens`` may differ), else None: so that a preset passed as a law
    keeps what is known about it (the runs it was fitted on)."""
    for name, known in PRESETS.items():
        if type(law) is type(known) and all(_same_number(getattr(law, field), getattr(known, field))
                                            for field in known._fields if field != "unique_tokens"):
            return name
    return None


def _same_number(value, known):
    try:
        return float(value) == known  # concrete scalars only: an array or a tracer is not a preset
    except (TypeError, ValueError):
        return False


_FORMS = {"chinchilla": Chinchilla, "kaplan": Kaplan, "data-constrained": DataConstrained}


def law_from_dict(coefficients: dict):
    """Build a law from ``{"E": .., "A": .., "B": .., "alpha": .., "beta": ..}`` (Chinchilla) or
    ``{"alpha_N": .., "alpha_D": .., "N_c": .., "D_c": ..}`` (Kaplan); an optional ``"form"`` key names it.
    A fit record's ``{"params": {...}}`` works too. Every coefficient must be a positive finite number.
    """
    if not isinstance(coefficients, dict):
        raise CoefficientsError("coefficients must be a JSON object such as {\"E\": 1.8, \"A\": 480, ...}")
    if isinstance(coefficients.get("params"), dict):
        coefficients = coefficients["params"]
    form = coefficients.get("form", coefficients.get("law"))
    if form is None:
        form = "kaplan" if "alpha_N" in coefficients else "data-constrained" if "rd_star" in coefficients else "chinchilla"
    if not isinstance(form, str) or form not in _FORMS:
        raise CoefficientsError(f"unknown form {form!r}; choose one of {', '.join(_FORMS)}")
    cls = _FORMS[form]
    fields = [k for k in cls._fields if k != "unique_tokens"]
    missing = [k for k in fields if k not in coefficients]
    if missing:
        raise CoefficientsError(f"{form} coefficients are missing {', '.join(missing)}")
    values = {key: check_positive(coefficients[key], f"coefficient {key}", CoefficientsError) for key in fields}
    if "unique_tokens" in cls._fields and coefficients.get("unique_tokens") is not None:
        values["unique_tokens"] = check_positive(coefficients["unique_tokens"], "unique_tokens", CoefficientsError)
    return cls(**values)


def law_to_dict(law) -> dict:
    """The inverse of ``law_from_dict`` for Chinchilla and Kaplan laws (plain floats)."""
    form = {cls: name for name, cls in _FORMS.items()}.get(type(law))
    if form is None:
        raise CoefficientsError(f"cannot serialise a {type(law).__name__}")
    return {"form": form, **{k: float(v) for k, v in law._asdict().items()}}


