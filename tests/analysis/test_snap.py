"""N* snapped to a family's shapes: the two rungs around N*, D re-solved at the budget, the loss given up."""

import pytest

import optimal
from optimal.analysis.snap import snap_to_shape
from optimal.errors import PlanningError
from optimal.planning import parameter_count


@pytest.fixture(scope="module")
def law():
    return optimal.preset("epoch2024")


def test_the_snapped_shapes_bracket_n_star_and_spend_the_budget(law):
    s = snap_to_shape(law, 1e22)
    low, high = s.candidates
    assert low["N"] <= s.optimal["N"] < high["N"] and high["shape"].n_layer == low["shape"].n_layer + 1
    for c in s.candidates:
        shape = c["shape"]
        assert shape.d_model % 128 == 0 and shape.d_model // shape.n_heads == 128
        assert c["N"] == parameter_count(shape).total
        assert 6 * c["N"] * c["D"] == pytest.approx(1e22, rel=1e-12)
        assert c["loss"] == pytest.approx(float(law.loss(c["N"], c["D"])), rel=1e-6)
        assert c["loss_given_up"] >= 0  # N* is the optimum at this budget
    assert s.chosen["loss"] == min(c["loss"] for c in s.candidates)
    assert s.loss_given_up == s.chosen["loss"] - s.optimal["loss"] and 0 <= s.compute_given_up < 0.01


def test_family_count_and_json(law):
    s = snap_to_shape(law, 1e23, family="gpt3", count="non_embedding", flops_per_param_token=8)
    assert s.chosen["shape"].tied_embeddings and s.chosen["shape"].norm == "layernorm"
    assert s.chosen["N"] == parameter_count(s.chosen["shape"]).non_embedding
    assert 8 * s.chosen["N"] * s.chosen["D"] == pytest.approx(1e23)
    assert s.to_dict()["chosen"]["shape"]["d_model"] == s.chosen["shape"].d_model and "loss given up" in s.summary()


@pytest.mark.parametrize("kwargs, message", [(dict(family="t5"), "unknown shape family"),
                                             (dict(count="all"), "count must be one of"),
                                             (dict(aspect_ratio=0.5), "aspect_ratio")])
def test_bad_options(law, kwargs, message):
    with pytest.raises(PlanningError, match=message):
        snap_to_shape(law, 1e22, **kwargs)
