"""optimal.analysis.uncertainty: which bootstrap a fit gets (the strategy ``optimal fit`` used to choose in the CLI),
the parts of its answer, and the one record it saves."""

import numpy as np
import pytest

import optimal
from optimal.analysis.uncertainty import bootstrap_fits, bootstrap_strategy, fit_report
from optimal.errors import OptimalError

R = 6  # resamples: enough to compare draws


@pytest.fixture(scope="module")
def data():
    runs = optimal.synthetic_runs(n_runs=48, seed=3)
    labels = np.array(["a", "b"] * 24)
    clusters = np.arange(48) // 4  # 12 clusters of 4 rows
    return runs, labels, clusters


def test_the_strategy_follows_the_grouping(data):
    runs, labels, clusters = data
    one = optimal.fit(runs.n_params, runs.n_tokens, runs.loss)
    joint = optimal.fit(runs.n_params, runs.n_tokens, runs.loss, groups=labels, shared=("alpha", "beta"))
    own = optimal.fit_groups(runs.n_params, runs.n_tokens, runs.loss, groups=labels)
    assert bootstrap_strategy(one) == "one fit" == bootstrap_strategy(one, clusters)
    assert bootstrap_strategy(joint) == "joint fit"
    assert bootstrap_strategy(own) == "groups' fits"
    assert bootstrap_strategy(own, clusters) == "groups' fits with clusters"
    with pytest.raises(OptimalError, match="needs a FitResult or a GroupFits"):
        bootstrap_strategy({"a": one})


def test_one_fit_gets_the_plain_bootstrap_and_its_allocations(data, tmp_path):
    runs, _, _ = data
    one = optimal.fit(runs.n_params, runs.n_tokens, runs.loss)
    report = fit_report(one, budgets=[1e22], n_resamples=R, seed=1)
    (part,) = report.parts
    direct = optimal.bootstrap(one, n_resamples=R, seed=1)
    assert part.label is None and part.fit is one and report.joint_bootstrap is None
    np.testing.assert_array_equal(part.bootstrap.thetas, direct.thetas)
    assert part.recommendation.records[0]["N"] == optimal.recommend(direct, np.asarray([1e22])).records[0]["N"]
    path = report.save(tmp_path / "fit.json", flops_per_param_token=6)
    record = optimal.load_record(path)
    np.testing.assert_array_equal(record.bootstrap.thetas, direct.thetas)
    assert record.recommendation["allocations"][0]["N"] == part.recommendation.records[0]["N"]
    assert report.to_dict()["fits"][0]["bootstrap"]["n_resamples"] == R


def test_a_joint_fit_gets_one_bootstrap_viewed_by_group(data, tmp_path):
    runs, labels, _ = data
    joint = optimal.fit(runs.n_params, runs.n_tokens, runs.loss, groups=labels, shared=("alpha", "beta"))
    report = fit_report(joint, budgets=[1e22], n_resamples=R, seed=1)
    assert report.joint and [p.label for p in report.parts] == ["a", "b"]
    direct = optimal.bootstrap(joint, n_resamples=R, seed=1)
    np.testing.assert_array_equal(report.joint_bootstrap.thetas, direct.thetas)
    np.testing.assert_array_equal(report.parts[1].bootstrap.thetas, direct.group("b").thetas)
    contents = report.record_contents()
    assert contents["bootstrap"] is report.joint_bootstrap and set(contents["recommendation"]) == {"a", "b"}
    assert optimal.load_record(report.save(tmp_path / "joint.json")).bootstrap is not None


def test_groups_own_fits_get_one_program_or_clusters_per_group(data):
    runs, labels, _ = data
    own = optimal.fit_groups(runs.n_params, runs.n_tokens, runs.loss, groups=labels)
    boots, joint = bootstrap_fits(own, n_resamples=R, seed=2)
    direct = optimal.bootstrap_groups(own, n_resamples=R, seed=2)
    assert joint is None and list(boots) == ["a", "b"]
    np.testing.assert_array_equal(boots["a"].thetas, direct["a"].thetas)
    clusters = np.arange(48) // 2 % 6  # 6 clusters in each group
    boots, _ = bootstrap_fits(own, clusters, labels, n_resamples=R, seed=2)
    # each group is its own cluster bootstrap, with a seed of its own (group_seed: seed + its position), so groups
    # with as many clusters are not redrawn alike
    for position, label in enumerate(["a", "b"]):
        alone = optimal.bootstrap(own[label], groups=clusters[labels == label], n_resamples=R, seed=2 + position)
        np.testing.assert_array_equal(boots[label].thetas, alone.thetas)
    with pytest.raises(OptimalError, match="needs the rows' group labels"):
        bootstrap_fits(own, clusters, None, n_resamples=R)
    with pytest.raises(OptimalError, match="a fit record holds one fit"):
        fit_report(own).record_contents()
