import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import optimal
from optimal import Chinchilla, CoefficientsError, UnknownPresetError


def test_chinchilla_matches_direct_formula():
    law = optimal.preset("hoffmann2022")
    n, d = np.array([1e8, 7e10]), np.array([2e9, 1.4e12])
    direct = 1.69 + 406.4 / n**0.34 + 410.7 / d**0.28
    np.testing.assert_allclose(law.loss(n, d), direct, rtol=1e-13)


def test_log_space_holds_far_beyond_float_range_of_the_terms():
    law = optimal.preset()
    # N, D = 1e300: N**alpha alone is fine but D*N overflows; log space never forms it.
    value = law.loss(jnp.array(1e300), jnp.array(1e300))
    assert np.isfinite(value) and abs(float(value) - law.E) < 1e-12
    assert np.isfinite(law.loss(jnp.array(1e16, jnp.float32), jnp.array(1e16, jnp.float32)))


def test_kaplan_matches_direct_formula():
    law = optimal.preset("kaplan2020")
    n, d = 1e9, 2e10
    direct = ((6.4e13 / n) ** (0.076 / 0.103) + 1.8e13 / d) ** 0.103  # Kaplan et al. 2020, Table 2
    assert float(law.loss(n, d)) == pytest.approx(direct, rel=1e-12)


def test_laws_are_pytrees_and_differentiable():
    law = optimal.preset()
    g = jax.grad(lambda p: p.loss(1e9, 2e10))(law)
    assert isinstance(g, Chinchilla)
    assert float(g.E) == pytest.approx(1.0)
    assert float(g.A) == pytest.approx(1e9**-law.alpha, rel=1e-12)


def test_unknown_preset_names_the_choices():
    with pytest.raises(UnknownPresetError, match="epoch2024"):
        optimal.preset("gpt5")


def test_coefficients_round_trip(tmp_path):
    for law in (optimal.preset(), optimal.preset("kaplan2020")):
        path = tmp_path / "c.json"
        path.write_text(json.dumps(optimal.law_to_dict(law)))
        assert optimal.load_coefficients(path) == law


@pytest.mark.parametrize(
    "text, message",
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ('{"E": 1.8, "A": 400}', "missing B, alpha, beta"),
        ('{"E": 1.8, "A": 400, "B": 400, "alpha": -0.3, "beta": 0.3}', "alpha must be a positive"),
        ('{"E": "x", "A": 400, "B": 400, "alpha": 0.3, "beta": 0.3}', "E must be a positive"),
        ('{"form": "cubic"}', "unknown form"),
    ],
)
def test_malformed_coefficients(tmp_path, text, message):
    path = tmp_path / "c.json"
    path.write_text(text)
    with pytest.raises(CoefficientsError, match=message):
        optimal.load_coefficients(path)


def test_missing_coefficients_file():
    with pytest.raises(CoefficientsError, match="cannot read"):
        optimal.load_coefficients("/nonexistent/c.json")


def test_not_a_law():
    with pytest.raises(CoefficientsError, match="log_loss method or be a function"):
        optimal.compute_optimal(42, 1e24)


def test_kaplan_preset_allocation_exponent():
    # On C = 6ND the Kaplan law's optimum is N* ~ C^(alpha_D / (alpha_N + alpha_D)) (set the derivative of
    # (N_c/N)^(alpha_N/alpha_D) + 6 D_c N / C to zero): 0.103 / 0.179 with Table 2's joint fit
    law = optimal.preset("kaplan2020")
    n = optimal.compute_optimal(law, np.array([1e21, 1e25])).n_params
    slope = np.log(n[1] / n[0]) / np.log(1e4)
    assert slope == pytest.approx(0.103 / (0.076 + 0.103), rel=1e-9)
