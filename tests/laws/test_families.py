"""Law families: every shipped family recovers a known truth, constraints are honoured exactly, the generic path
matches the fast path, and answers downstream (records, bootstrap, allocation) work for each family."""

import dataclasses

import jax

import jax.numpy as jnp
import numpy as np
import pytest

import optimal
from optimal.errors import CoefficientsError, DataError
from optimal.laws import CHINCHILLA, DATA_CONSTRAINED, KAPLAN, custom_family
from optimal.io.records import from_record, to_record

TRUTH = optimal.data.synthetic.DEFAULT_TRUTH


def grid_runs(law, n_range=(5e7, 1.6e10), ratios=(2.0, 200.0), covariate=None, n=8):
    """Noise-free runs on an N x tokens-per-parameter grid (n x n)."""
    ns = np.geomspace(*n_range, n)
    ratio = np.geomspace(*ratios, n)
    nn, rr = (x.ravel() for x in np.meshgrid(ns, ratio))
    d = nn * rr
    return nn, d, np.asarray(law.loss(nn, d))


def test_data_constrained_reproduces_the_authors_test_vectors():
    # Muennighoff et al.'s README (huggingface/datablations, "Parametric Fit") prints these two values
    law = optimal.preset("muennighoff2023")._replace(unique_tokens=25e9)
    assert float(law.loss(6.34e9, 242e9)) == pytest.approx(2.2256440889984477, rel=1e-14)
    assert float(law.loss(8.67e9, 178e9)) == pytest.approx(2.2269634075087867, rel=1e-14)
    # through the family, with U as a per-row covariate
    p = {k: getattr(law, k) for k in DATA_CONSTRAINED.params}
    log_l = DATA_CONSTRAINED.log_loss(p, jnp.log(jnp.array([6.34e9, 8.67e9])), jnp.log(jnp.array([242e9, 178e9])),
                                      {"U": jnp.array([25e9, 25e9])})
    np.testing.assert_allclose(np.exp(log_l), [2.2256440889984477, 2.2269634075087867], rtol=1e-14)


@pytest.mark.parametrize("family, truth", [
    (KAPLAN, optimal.Kaplan(alpha_N=0.076, alpha_D=0.103, N_c=6.4e13, D_c=1.8e13)),
    (CHINCHILLA, TRUTH),
])
@pytest.mark.slow
def test_noise_free_recovery(family, truth):
    n, d, loss = grid_runs(truth)
    result = optimal.fit(n, d, loss, law=family.name if family is KAPLAN else dataclasses.replace(CHINCHILLA, name="g"))
    for name in family.params:  # 1e-6 relative: noise-free data pin every coefficient far below that
        assert result.params[name] == pytest.approx(float(getattr(truth, name)), rel=1e-6), name
    assert result.converged


def dc_runs(noise=0.0, seed=0, n_runs=120):
    """Multi-epoch runs from the Muennighoff preset: N log-uniform 1e8..1e10, U log-uniform 1e8..1e11, epochs
    1..60, so that both repetition terms are active in many rows."""
    rng = np.random.default_rng(seed)
    n = np.exp(rng.uniform(np.log(1e8), np.log(1e10), n_runs))
    u = np.exp(rng.uniform(np.log(1e8), np.log(1e11), n_runs))
    d = u * np.exp(rng.uniform(0.0, np.log(60.0), n_runs))
    law = optimal.preset("muennighoff2023")
    loss = np.asarray(law._replace(unique_tokens=u).loss(n, d)) * np.exp(noise * rng.standard_normal(n_runs))
    return n, d, u, loss


DC_ROWS = 120  # every data-constrained test uses this many rows, so the compiled programs are shared


@pytest.fixture(scope="module")
def dc_fit_and_boot():
    with jax.enable_x64(True):
        n, d, u, loss = dc_runs(noise=0.005, seed=1, n_runs=DC_ROWS)
        result = optimal.fit(n, d, loss, law="data-constrained", covariates={"U": u})
        return result, optimal.bootstrap(result, n_resamples=64, seed=0)


@pytest.mark.slow
def test_data_constrained_noise_free_recovery():
    n, d, u, loss = dc_runs(n_runs=DC_ROWS)
    result = optimal.fit(n, d, loss, law="data-constrained", covariates={"U": u})
    truth = optimal.preset("muennighoff2023")
    for name in DATA_CONSTRAINED.params:
        assert result.params[name] == pytest.approx(float(getattr(truth, name)), rel=1e-6), name
    # and the record keeps the family and its covariate
    back = from_record(to_record(result)).fit
    assert back.family is DATA_CONSTRAINED and np.array_equal(back.covariates["U"], u)
    assert back.params == result.params


@pytest.mark.slow
def test_fixed_parameter_is_held_exactly():
    runs = optimal.synthetic_runs(noise=0.01, seed=3)
    result = optimal.fit(runs.n_params, runs.n_tokens, runs.loss, fix={"E": 1.7})
    assert result.params["E"] == 1.7  # exactly: it never enters the free vector
    assert result.fixed == {"E": 1.7} and result.to_dict()["fixed"] == {"E": 1.7}
    free = optimal.fit(runs.n_params, runs.n_tokens, runs.loss)
    assert result.objective >= free.objective  # a constrained optimum cannot beat the free one
    assert len(result.free) == 4


@pytest.mark.slow
def test_tied_fit_equals_the_reparameterised_law():
    runs = optimal.synthetic_runs(noise=0.01, seed=4)
    tied = optimal.fit(runs.n_params, runs.n_tokens, runs.loss, tie=[("alpha", "beta")])
    assert tied.params["alpha"] == tied.params["beta"]
    family = custom_family(
        "one-exponent", lambda p, n, d, cov: p["E"] + p["A"] / n ** p["x"] + p["B"] / d ** p["x"], ("E", "A", "B", "x"),
        {"E": (0.37, 2.7), "A": (1.0, 7.2e10), "B": (1.0, 7.2e10), "x": (0.01, 2.0)},
        positive=("E", "A", "B"), linear=("E", "A", "B"))
    own = optimal.fit(runs.n_params, runs.n_tokens, runs.loss, law=family)
    assert own.objective == pytest.approx(tied.objective, rel=1e-9)
    assert own.params["x"] == pytest.approx(tied.params["alpha"], rel=1e-6)
    for name in ("E", "A", "B"):
        assert own.params[name] == pytest.approx(tied.params[name], rel=1e-5)


@pytest.mark.slow
def test_shared_parameters_recover_both_groups_truths():
    second = TRUTH._replace(E=2.1, A=300.0)
    n1, d1, l1 = grid_runs(TRUTH)
    n2, d2, l2 = grid_runs(second, n_range=(1e8, 3e10))
    groups = np.array(["a"] * len(n1) + ["b"] * len(n2))
    result = optimal.fit(np.concatenate([n1, n2]), np.concatenate([d1, d2]), np.concatenate([l1, l2]), groups=groups,
                         shared=["alpha", "beta", "B"])
    assert result.group_labels == ("a", "b")
    for label, truth in (("a", TRUTH), ("b", second)):
        for name in CHINCHILLA.params:
            assert result.params[label][name] == pytest.approx(float(getattr(truth, name)), rel=1e-6), (label, name)
    back = from_record(to_record(result)).fit
    assert back.params == result.params and back.shared == ("alpha", "beta", "B")
    view = result.group("b")
    assert view.law.E == pytest.approx(2.1, rel=1e-6) and view.n_rows == len(n2)


def test_groups_without_shared_fit_each_on_its_own():
    runs = optimal.synthetic_runs(noise=0.005, seed=5)
    labels = np.where(np.arange(len(runs.loss)) % 2 == 0, "x", "y")
    results = optimal.fit_groups(runs.n_params, runs.n_tokens, runs.loss, groups=labels)
    assert set(results) == {"x", "y"}
    alone = optimal.fit(runs.n_params[labels == "y"], runs.n_tokens[labels == "y"], runs.loss[labels == "y"])
    assert results["y"].objective == pytest.approx(alone.objective, rel=1e-12)


WITHOUT_SPEED = dict(value_grad_hessian=None, screen=None, screen_edges=None, start_grids={})
# the generic family and runs of the two tests below: one family object and one row count, so that they share the
# generic path's compiled programs
PLAIN = dataclasses.replace(CHINCHILLA, name="plain", **WITHOUT_SPEED)


def test_generic_path_reaches_the_fast_paths_objective():
    # the Chinchilla family stripped of its capabilities (autodiff derivatives, sampled screen) fits the same optimum
    runs = optimal.synthetic_runs(n_runs=60, noise=0.01, seed=6)
    fast = optimal.fit(runs.n_params, runs.n_tokens, runs.loss)
    generic = optimal.fit(runs.n_params, runs.n_tokens, runs.loss, law=PLAIN,
                          search=optimal.Search(starts=fast.starts.theta))
    assert generic.objective == pytest.approx(fast.objective, rel=1e-9)


@pytest.mark.slow
def test_a_custom_family_with_the_capabilities_gets_the_speed():
    # speed is a capability of the family, not a test of which law it is: a family of the user's own that brings
    # Chinchilla's derivatives, screen and start grid takes exactly the Chinchilla fit's path (the same numbers, bit
    # for bit, and "hoffmann" starts), while one without them screens by sampling (other starts, same optimum)
    from optimal.fitting.problem import structure, uses_own_derivatives

    runs = optimal.synthetic_runs(n_runs=60, noise=0.01, seed=6)
    mine = dataclasses.replace(CHINCHILLA, name="mine")
    theirs = optimal.fit(*runs[:3])
    ours = optimal.fit(*runs[:3], law=mine)
    assert uses_own_derivatives(mine, structure(mine))
    np.testing.assert_array_equal(ours.theta, theirs.theta)
    np.testing.assert_array_equal(ours.starts.theta, theirs.starts.theta)
    assert optimal.fit(*runs[:3], law=mine, search=optimal.Search(starts="hoffmann")).n_starts == 4500
    plain = PLAIN
    assert not uses_own_derivatives(plain, structure(plain))
    slow = optimal.fit(*runs[:3], law=plain)
    assert not np.array_equal(slow.starts.theta, theirs.starts.theta)
    assert slow.objective == pytest.approx(theirs.objective, rel=1e-9)
    with pytest.raises(CoefficientsError, match="start grids"):
        optimal.fit(*runs[:3], law=plain, search=optimal.Search(starts="hoffmann"))


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(law="gpt"), CoefficientsError, "unknown law"),
    (dict(fix={"gamma": 1.0}), CoefficientsError, "no parameter 'gamma'"),
    (dict(fix={"E": -1.0}), CoefficientsError, "fixed E"),
    (dict(tie=[("alpha", "E")]), CoefficientsError, "represented differently"),
    (dict(shared=["alpha"]), CoefficientsError, "need groups"),
    (dict(law="data-constrained"), DataError, "needs the per-run covariate U"),
    (dict(covariates={"U": [1.0]}), DataError, "reads no covariate"),
])
def test_bad_constraints_are_named(kwargs, error, match):
    runs = optimal.synthetic_runs(n_runs=40, seed=7)
    with pytest.raises(error, match=match):
        optimal.fit(runs.n_params, runs.n_tokens, runs.loss, **kwargs)


@pytest.mark.slow
def test_bootstrap_and_allocation_for_a_data_constrained_fit(dc_fit_and_boot):
    result, boot = dc_fit_and_boot
    assert boot.n_failed == 0
    params = boot.params()
    assert set(DATA_CONSTRAINED.params) <= set(params)
    truth = optimal.preset("muennighoff2023")
    assert params["rd_star"]["lo"] < truth.rd_star < params["rd_star"]["hi"] or boot.n_resamples < 100
    answer = optimal.recommend(boot, 1e22)
    record = answer.records[0]
    assert record["converged"] and record["intervals"]["N"]["lo"] < record["N"] < record["intervals"]["N"]["hi"]
    assert "U = inf" in answer.source


@pytest.mark.slow
@pytest.mark.parametrize("law", ["kaplan", "data-constrained"])
def test_records_plots_and_solve_for_other_families(tmp_path, law, request):
    from optimal import plot
    from optimal.cli import main

    if law == "kaplan":  # 40 rows as kaplan_record's and test_batch_helpers_name_bad_input's fits: one compiled fit
        runs = optimal.synthetic_runs(n_runs=40, noise=0.01, seed=8)
        result = optimal.fit(runs.n_params, runs.n_tokens, runs.loss, law=law)
        boot = optimal.bootstrap(result, n_resamples=32, seed=1)
    else:
        result, boot = request.getfixturevalue("dc_fit_and_boot")
    path = tmp_path / "fit.json"
    optimal.save_fit(path, result, bootstrap=boot)
    again = optimal.load_bootstrap(path)
    np.testing.assert_array_equal(again.thetas, boot.thetas)
    assert again.params() == boot.params()
    for kind in ("fit", "bootstrap", "surface", "frontier"):
        fig = plot.figure_from_record(path, kind)
        fig.savefig(tmp_path / f"{kind}.png", dpi=40)
        if kind == "fit":
            assert fig.axes[0].get_title().startswith(f"{law} fit")
    assert main(["solve", "--fit", str(path), "--compute", "1e22", "--json"]) == 0


def test_a_users_own_family_recovers_its_truth():
    # a law none of the shipped families has: an irreducible loss plus one power law in N D (compute-like term)
    # and one in D alone; noise-free runs, so every coefficient comes back to 1e-6
    family = custom_family(
        "compute-term", lambda p, n, d, cov: p["E"] + p["A"] / (n * d) ** p["a"] + p["B"] / d ** p["b"],
        ("E", "A", "B", "a", "b"), {"E": (0.5, 3.0), "A": (1.0, 1e8), "B": (1.0, 1e6), "a": (0.05, 0.5), "b": (0.05, 1.0)},
        positive=("E", "A", "B"), linear=("E", "A", "B"))
    truth = {"E": 1.9, "A": 3.0e3, "B": 900.0, "a": 0.2, "b": 0.3}
    n, d = (x.ravel() for x in np.meshgrid(np.geomspace(5e7, 2e10, 8), np.geomspace(1e9, 1e12, 8)))
    loss = np.asarray(family.law_from_values(truth).loss(n, d))
    result = optimal.fit(n, d, loss, law=family)
    for name, value in truth.items():
        assert result.params[name] == pytest.approx(value, rel=1e-6), name
    assert result.to_dict()["law"] == "compute-term"


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(fix={"E": float("nan")}), CoefficientsError, "fixed E must be a positive finite number"),
    (dict(fix={"alpha": True}), CoefficientsError, "fixed alpha must be a finite number"),
    (dict(tie=[("alpha", "alpha")]), CoefficientsError, "two different parameters"),
    (dict(fix={"alpha": 0.3, "beta": 0.4}, tie=[("alpha", "beta")]), CoefficientsError, "fixed at different values"),
    (dict(fix={"E": 1.8, "A": 400.0, "B": 2000.0, "alpha": 0.3, "beta": 0.3}), CoefficientsError, "every parameter is fixed"),
    (dict(law="data-constrained", covariates={"U": ["a"] * 40}), DataError, "covariate U must be numbers"),
    (dict(law="data-constrained", covariates={"U": [1.0] * 3}), DataError, "one value per row"),
    (dict(law="data-constrained", covariates={"U": [-1.0] * 40}), DataError, "must be positive and finite"),
])
def test_more_bad_constraints_are_named(kwargs, error, match):
    runs = optimal.synthetic_runs(n_runs=40, seed=7)
    with pytest.raises(error, match=match):
        optimal.fit(runs.n_params, runs.n_tokens, runs.loss, **kwargs)


@pytest.mark.parametrize("params, options, match", [
    (("E", "E"), {}, "must be distinct"),
    (("E",), {"positive": ("F",)}, "positive names unknown parameters F"),
    (("E", "x"), {}, "start_box needs a range for x"),
    (("E",), {"positive": ("E",), "bounds": {"E": (0.0, 3.0)}}, "not be combined with positive"),
])
def test_a_malformed_family_is_named(params, options, match):
    box = {"E": (1.0, 2.0)}
    with pytest.raises(CoefficientsError, match=match):
        optimal.laws.Family(name="bad", params=params, log_loss=lambda *a: 0.0, law=lambda *a: None, start_box=box,
                            **options)


def test_a_value_outside_a_parameters_domain_is_named():
    with pytest.raises(CoefficientsError, match="parameter A = -1.0 must be positive"):
        CHINCHILLA.to_fitting({"E": 1.8, "A": -1.0, "B": 2.0, "alpha": 0.3, "beta": 0.3})


def test_no_finite_start_is_named():
    family = custom_family("nan-law", lambda p, n, d, cov: p["E"] * jnp.nan + 0.0 * n, ("E",), {"E": (1.0, 2.0)})
    runs = optimal.synthetic_runs(n_runs=40, seed=7)
    with pytest.raises(CoefficientsError, match="gives a finite objective"):
        optimal.fit(runs.n_params, runs.n_tokens, runs.loss, law=family)


@pytest.fixture(scope="module")
def kaplan_record():
    runs = optimal.synthetic_runs(n_runs=40, noise=0.01, seed=9)
    return to_record(optimal.fit(runs.n_params, runs.n_tokens, runs.loss, law="kaplan"))


@pytest.mark.parametrize("edit, match", [
    (lambda r: r.update(law="gpt"), "is not a shipped family"),
    (lambda r: r.update(groups="a"), "field groups: must be a list of texts"),
    (lambda r: r.update(tied=[["alpha_N"]]), "field tied: must be a list of name pairs"),
    (lambda r: r.update(shared=[1]), "field shared: must be a list of texts"),
    (lambda r: r.update(theta=[0.1, 0.1]), "field theta: must hold the 4 fitting-space coefficients"),
    (lambda r: r.update(fixed={"gamma": 1.0}), "no parameter 'gamma'"),
])
@pytest.mark.slow
def test_malformed_family_records_are_named(kaplan_record, edit, match):
    import copy

    record = copy.deepcopy(kaplan_record)
    edit(record)
    with pytest.raises(CoefficientsError, match=match):
        from_record(record)


def test_a_record_of_another_family_than_asked_is_named(kaplan_record):
    with pytest.raises(CoefficientsError, match="the record's law is 'kaplan', not 'chinchilla'"):
        from_record(kaplan_record, family=CHINCHILLA)


@pytest.fixture(scope="module")
def joint_fit_and_boot():
    with jax.enable_x64(True):
        runs = optimal.synthetic_runs(n_runs=60, noise=0.01, seed=12)
        labels = np.where(np.arange(60) % 2, "p", "q")
        result = optimal.fit(runs.n_params, runs.n_tokens, runs.loss, groups=labels, shared=["alpha", "beta"])
        return result, optimal.bootstrap(result, n_resamples=8, seed=0)


@pytest.mark.slow
def test_joint_fits_refuse_one_law_answers(joint_fit_and_boot, tmp_path):
    from optimal import plot

    result, boot = joint_fit_and_boot
    with pytest.raises(optimal.OptimalError, match="one law per group: name one"):
        optimal.recommend(result, 1e22)
    with pytest.raises(optimal.OptimalError, match="'r' is not one"):
        optimal.recommend(result, 1e22, group="r")
    with pytest.raises(optimal.OptimalError, match="use .group\\(label\\) first"):
        optimal.allocate_draws(boot, [1e22])
    with pytest.raises(optimal.OptimalError, match="compare its groups with .group\\(label\\)"):
        optimal.compare(boot, boot)
    with pytest.raises(optimal.PlotError, match="plot one group at a time"):
        plot.data_vs_fit(result)
    path = tmp_path / "joint.json"
    optimal.save_fit(path, result)
    with pytest.raises(optimal.PlotError, match="holds a joint fit of groups p, q"):
        plot.figure_from_record(path, "fit")
    part = boot.group("p")
    with pytest.raises(optimal.OptimalError, match="holds one law, not a joint fit of several groups"):
        optimal.recommend(part, 1e22, group="p")
    assert optimal.recommend(part, 1e22).records[0]["converged"]


def test_batch_helpers_name_bad_input(joint_fit_and_boot):
    from optimal import plot

    result, boot = joint_fit_and_boot
    with pytest.raises(optimal.OptimalError, match="fits must be a non-empty"):
        optimal.bootstrap_groups({}, n_resamples=8)
    runs = optimal.synthetic_runs(n_runs=40, noise=0.01, seed=13)
    other = optimal.fit(runs.n_params, runs.n_tokens, runs.loss, law="kaplan")
    plain = optimal.fit(runs.n_params, runs.n_tokens, runs.loss)
    with pytest.raises(optimal.OptimalError, match="one law with the same constraints"):
        optimal.bootstrap_groups({"a": plain, "b": other}, n_resamples=8)
    with pytest.raises(optimal.OptimalError, match="delta needs at least one value"):
        optimal.sweep(runs.n_params, runs.n_tokens, runs.loss, delta=[])
    with pytest.raises(optimal.PlotError, match="no groups"):
        plot.groups_frontier([])
    few = dataclasses.replace(boot.group("p"), converged=np.zeros(8, bool))
    with pytest.raises(optimal.OptimalError, match="only 0 resamples converged in both"):
        optimal.compare(few, few)
