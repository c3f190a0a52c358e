"""Loss surfaces L(N, D): the law forms, the published presets, and reading and writing coefficients."""

from .forms import (DEFAULT_PRESET, PRESETS, Chinchilla, CustomLaw, DataConstrained, Kaplan, as_law, law_from_dict,
                    law_to_dict, load_coefficients, preset)
