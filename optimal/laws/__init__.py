"""Loss surfaces L(N, D): one module per law family, the family contract, and the published presets."""

from ..errors import CoefficientsError
from .chinchilla import CHINCHILLA, Chinchilla, chinchilla_log_loss
from .custom import CustomLaw, as_law, custom_family
from .data_constrained import DATA_CONSTRAINED, DataConstrained, data_constrained_log_loss
from .family import Family, sample_starts
from .kaplan import KAPLAN, Kaplan, kaplan_log_loss
from .presets import DEFAULT_PRESET, PRESETS, law_from_dict, law_to_dict, preset
from .moe import FINE_GRAINED_MOE, JOINT_MOE, FineGrainedMoE, JointMoE
from .precision import PRECISION, PTQ, PrecisionLaw, PTQLaw

FAMILIES = {family.name: family for family in (CHINCHILLA, KAPLAN, DATA_CONSTRAINED)}
FAMILIES.update({family.name: family for family in (FINE_GRAINED_MOE, JOINT_MOE, PRECISION, PTQ)})


def family(law="chinchilla") -> Family:
    """The family called ``law`` (one of ``FAMILIES``), or ``law`` itself when it is a ``Family``."""
    if isinstance(law, Family):
        return law
    if isinstance(law, str) and law in FAMILIES:
        return FAMILIES[law]
    raise CoefficientsError(f"unknown law {law!r}; choose one of {', '.join(FAMILIES)} or pass an optimal.Family")
