"""Published hyperparameter laws (``optimal.planning.hparams``): DeepSeek LLM's numbers as the issue checks them, the
extrapolation warning outside the fitted range, the per-draw figures equal to the one-run figures, and bad input."""

import math

import numpy as np
import pytest

from optimal import planning
from optimal.errors import PlanningError, UnknownPresetError
from optimal._util.jsonio import dumps_strict
from optimal._util.results import Result


def test_deepseek_at_1e22_gives_the_issues_numbers():
    """Bi et al. 2024 eq. (1) at C = 1e22: learning rate 5.54e-4 and batch 4.59e6 tokens (issue 22)."""
    h = planning.hyperparameters("deepseek2024", compute=1e22, context=4096)
    assert round(h.learning_rate, 6) == 5.54e-4
    assert round(h.batch_size_tokens / 1e6, 2) == 4.59
    assert h.batch_size_sequences == pytest.approx(h.batch_size_tokens / 4096, rel=1e-15)
    assert h.learning_rate == pytest.approx(0.3118 * 1e22 ** -0.125, rel=1e-12)
    assert h.batch_size_tokens == pytest.approx(0.2920 * 1e22 ** 0.3271, rel=1e-12)


def test_extrapolation_is_warned_outside_the_fitted_range_only():
    """Fitted on 1e17 .. 2e19 FLOPs: 1e22 is an extrapolation (warned), 1e18 is not."""
    outside = planning.hyperparameters(compute=1e22)
    assert [w.code for w in outside.warnings] == ["extrapolation"] and "2e+19" in outside.warnings[0]
    assert planning.hyperparameters(compute=1e18).warnings == ()


def test_result_protocol_and_strict_json():
    h = planning.hyperparameters(compute=1e20, compute_from="the plan's 6 N D")
    assert isinstance(h, Result) and h.ok
    text, places = dumps_strict(h.to_dict())
    assert not places and '"batch_size_tokens"' in text
    assert h.to_dict()["batch_size_sequences"] is None  # no context: not computed, and said in the notes
    assert any("--context" in n for n in h.notes)
    assert "Bi et al. 2024" in h.summary() and "the plan's 6 N D" in h.summary()


def test_figures_of_draws_are_each_draws_own():
    """The vectorised figures (intervals over bootstrap draws) equal the one-run figures draw by draw; a draw with no
    finite compute (an unreachable target loss) gives NaN."""
    h = planning.hyperparameters(compute=1e21, context=2048)
    compute = np.array([1e20, 3e21, 7e22, math.inf])
    found = planning.hyperparameter_figures(h, compute=compute)
    for i, c in enumerate(compute[:3]):
        one = planning.hyperparameters(compute=c, context=2048)
        assert found["learning_rate"][i] == pytest.approx(one.learning_rate, rel=1e-14)
        assert found["batch_size_sequences"][i] == pytest.approx(one.batch_size_sequences, rel=1e-14)
    assert np.isnan(found["learning_rate"][3])


def test_a_law_in_n_and_d_reads_n_and_d():
    """A preset may be a law in N and D (Step Law's form); it needs n_params and n_tokens, not compute."""
    law = planning.HparamLaw("test", "a test law", "nowhere", planning.PowerLaw(2.0, {"N": -0.5, "D": 0.25}),
                             planning.PowerLaw(1.0, {"D": 0.5}), "N parameters, D tokens", {"N": (1e6, 1e9)}, "none")
    h = planning.hyperparameters(law, n_params=1e8, n_tokens=1e10)
    assert h.learning_rate == pytest.approx(2.0 * 1e8 ** -0.5 * 1e10 ** 0.25)
    assert h.batch_size_tokens == pytest.approx(1e5) and h.warnings == ()
    with pytest.raises(PlanningError, match="n_tokens"):
        planning.hyperparameters(law, n_params=1e8)


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(preset="nope", compute=1e20), UnknownPresetError, "deepseek2024"),
    (dict(), PlanningError, "compute"),
    (dict(compute=-1.0), PlanningError, "compute must be a finite number > 0"),
    (dict(compute=1e20, context=0), PlanningError, "context"),
])
def test_bad_input_is_a_named_error(kwargs, error, message):
    with pytest.raises(error, match=message):
        planning.hyperparameters(**kwargs)
