"""Figures: each renders to PNG with the axes, labels, scales and series it promises; every error says what to do.

No pixel comparisons: the structure of a figure is what a reader relies on, and it is stable across matplotlib
versions and fonts where pixels are not.
"""

import json
import warnings

import numpy as np
import pytest

import optimal
from optimal import plot
from optimal.errors import CoefficientsError, OptimalError, UnknownPresetError
from optimal.plot import PlotError

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """One small synthetic fit with 16 bootstrap draws, saved with and without its draws."""
    runs = optimal.synthetic_runs(n_runs=60, seed=11)
    result = optimal.fit(runs.n_params, runs.n_tokens, runs.loss)
    boot = optimal.bootstrap(result, n_resamples=16, seed=0)
    folder = tmp_path_factory.mktemp("records")
    with_draws, without_draws = folder / "fit_boot.json", folder / "fit.json"
    optimal.save_fit(with_draws, result, bootstrap=boot)
    optimal.save_fit(without_draws, result)
    return result, boot, with_draws, without_draws


MAX_LEGEND_ENTRIES = 8  # a legend longer than this is a list, not a key: use a colour bar or small multiples
PANELS_FLOOR = 0.35  # the data panels together cover at least this fraction of the figure (squashed: far less)


def rendered(fig, tmp_path, name="figure.png"):
    """Save through ``save_figure`` (the CLI's path), check a PNG came out, and that the figure reads."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = plot.save_figure(fig, tmp_path / name, dpi=50)
    assert [str(w.message) for w in caught] == []  # no NumPy or layout warning reaches the user's stderr
    assert out == tmp_path / name
    assert out.read_bytes()[:8] == PNG_MAGIC
    assert_reads(fig)
    return fig


def data_panels(fig):
    return [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]


def assert_reads(fig):
    """No legend overflows (few entries, inside the figure) and the panels are not squashed by what surrounds them."""
    whole = fig.bbox
    legends = list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    for legend in legends:
        assert len(legend.get_texts()) <= MAX_LEGEND_ENTRIES
        box = legend.get_window_extent()
        assert whole.x0 - 1 <= box.x0 and box.x1 <= whole.x1 + 1 and whole.y0 - 1 <= box.y0 and box.y1 <= whole.y1 + 1
    panels = data_panels(fig)
    areas = [ax.get_position().width * ax.get_position().height for ax in panels]
    assert sum(areas) >= PANELS_FLOOR, areas
    assert min(areas) >= PANELS_FLOOR / len(panels) / 3, areas  # no one panel squeezed to a sliver


def test_surface_structure(fitted, tmp_path):
    result, boot, _, _ = fitted
    fig = rendered(plot.surface(result.law, boot.good), tmp_path)
    ax, bar = fig.axes
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("parameters N", "training tokens D")
    assert (ax.get_xscale(), ax.get_yscale()) == ("log", "log")
    assert bar.get_ylabel() == "loss (nats/token)"
    assert ax.get_xlim() == pytest.approx((1e7, 1e13)) and ax.get_ylim() == pytest.approx((1e8, 1e14))
    assert len(ax.collections) == 2  # filled loss contours, iso-compute lines
    assert len(ax.lines) == 1  # the frontier
    assert len(ax.patches) == 1  # the bootstrap band
    labels = [t.get_text() for t in ax.texts]
    assert labels and all(t.endswith("FLOPs") for t in labels)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("frontier" in t for t in legend) and any("bootstrap interval (16 draws)" in t for t in legend)
    assert "Loss surface" in ax.get_title()


def test_surface_budgets_and_plain_function(tmp_path):
    law = optimal.preset("hoffmann2022")
    fig = rendered(plot.surface(law, budgets=[1e20, 5.76e23], n_range=(1e8, 1e12), d_range=(1e9, 1e13)), tmp_path)
    ax = fig.axes[0]
    assert len(ax.lines) == 2 and len(ax.patches) == 0  # frontier and the marked optima; no band
    assert sorted(t.get_text() for t in ax.texts) == ["1e20 FLOPs", "5.76e23 FLOPs"]
    optima = ax.lines[1].get_xydata()
    expected = optimal.compute_optimal(law, np.array([1e20, 5.76e23]))
    np.testing.assert_allclose(optima[:, 0], expected.n_params, rtol=1e-9)
    # a plain JAX function f(N, D) is a law too
    fn = lambda n, d: law.E + law.A / n**law.alpha + law.B / d**law.beta  # noqa: E731
    rendered(plot.surface(fn), tmp_path, "fn.png")


@pytest.mark.parametrize("by, colour_label", [("tokens", "training tokens D"), ("compute", "training compute C (FLOPs)")])
def test_data_vs_fit_structure(fitted, tmp_path, by, colour_label):
    result = fitted[0]
    fig = rendered(plot.data_vs_fit(result, by=by, n_curves=3), tmp_path)
    top, bottom, bar = fig.axes
    assert top.get_ylabel() == "loss (nats/token)" and bottom.get_xlabel() == "parameters N"
    assert bar.get_ylabel() == colour_label
    assert top.get_xscale() == bottom.get_xscale() == "log"
    assert len(top.collections) == 1 and len(top.collections[0].get_offsets()) == result.n_rows
    assert len(top.lines) == 3  # fitted curves
    assert len(bottom.collections) == 1 and len(bottom.lines) == 1  # residuals and the zero line
    residuals = bottom.collections[0].get_offsets()[:, 1]
    assert np.max(np.abs(residuals)) < 0.1  # 1% noise: residuals are small
    assert f"{result.n_rows} runs" in top.get_title()


def test_bootstrap_pairs_structure(fitted, tmp_path):
    result, boot, _, _ = fitted
    fig = rendered(plot.bootstrap_pairs(boot.good, budgets=(1e22, 5.76e23), truth=result.law), tmp_path)
    m = 5  # alpha, beta, E and two tokens-per-parameter columns
    assert len(fig.axes) == m * (m + 1) // 2
    bottom_row = fig.axes[-m:]
    assert [ax.get_xlabel() for ax in bottom_row][:3] == ["alpha", "beta", "E (nats/token)"]
    assert "tokens per parameter" in bottom_row[3].get_xlabel() and "1e22" in bottom_row[3].get_xlabel()
    diagonal = [fig.axes[i * (i + 1) // 2 + i] for i in range(m)]
    for ax in diagonal:
        assert len(ax.patches) > 0  # histogram bars
        assert len(ax.lines) == 3  # interval ends and the truth
        assert "[" in ax.get_title()
    scatter = fig.axes[1]  # row beta, column alpha
    assert len(scatter.collections) == 1 and len(scatter.collections[0].get_offsets()) == len(boot.good)
    assert len(scatter.lines) == 2  # truth crosshair
    assert [t.get_text() for t in fig.legends[0].get_texts()] == [
        "bootstrap draws (16)", "95% percentile interval", "full-data fit"]


def test_frontier_structure(fitted, tmp_path):
    result, boot, _, _ = fitted
    fig = rendered(plot.frontier(result.law, boot.good, budgets=[5.76e23]), tmp_path)
    left, right = fig.axes
    assert left.get_ylabel() == "parameters N*" and right.get_ylabel() == "training tokens D*"
    for ax in (left, right):
        assert ax.get_xlabel() == "training compute C (FLOPs)"
        assert (ax.get_xscale(), ax.get_yscale()) == ("log", "log")
        assert len(ax.collections) == 1  # bootstrap band
        assert len(ax.lines) == 3 + 1 + 2  # presets, the law, the budget's line and marker
    legend = [t.get_text() for t in left.get_legend().get_texts()]
    assert legend[1:] == ["epoch2024 (Besiroglu et al. 2024)", "hoffmann2022 (Hoffmann et al. 2022)",
                          "kaplan2020 (Kaplan et al. 2020)", "this law"]
    # the law's curve is the allocation the API computes
    curve = left.lines[3].get_xydata()
    expected = optimal.compute_optimal(result.law, curve[:, 0])
    np.testing.assert_allclose(curve[:, 1], expected.n_params, rtol=1e-9)


def test_frontier_presets_only(tmp_path):
    fig = rendered(plot.frontier(presets=("hoffmann2022",)), tmp_path)
    assert [len(ax.lines) for ax in fig.axes] == [1, 1] and not fig.axes[0].collections


@pytest.mark.parametrize("kind, n_axes", [("surface", 2), ("fit", 3), ("bootstrap", 10), ("frontier", 2)])
def test_figure_from_record(fitted, tmp_path, kind, n_axes):
    fig = rendered(plot.figure_from_record(fitted[2], kind), tmp_path)
    assert len(fig.axes) == n_axes
    if kind in ("surface", "frontier"):  # the record's converged draws are shaded
        assert any("bootstrap interval (16 draws)" in t.get_text() for t in fig.axes[0].get_legend().get_texts())


@pytest.mark.parametrize("kind", ["surface", "frontier"])
def test_figure_from_preset(tmp_path, kind):
    fig = rendered(plot.figure_from_record(None, kind, preset="hoffmann2022"), tmp_path)
    if kind == "surface":
        assert "E = 1.69" in fig.axes[0].get_title()
    else:  # the preset is the main (solid) law, the other presets are overlaid
        legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
        assert legend == ["epoch2024 (Besiroglu et al. 2024)", "kaplan2020 (Kaplan et al. 2020)",
                          "hoffmann2022 (Hoffmann et al. 2022)"]
    default = plot.figure_from_record(None, kind)  # neither record nor preset: the default preset
    assert len(default.axes) == 2


def test_record_without_draws(fitted):
    """A record saved without --bootstrap still gives every kind but "bootstrap", with no band."""
    assert len(plot.figure_from_record(fitted[3], "fit").axes) == 3
    surface = plot.figure_from_record(fitted[3], "surface")
    assert not surface.axes[0].patches
    frontier = plot.figure_from_record(fitted[3], "frontier")
    assert not frontier.axes[0].collections
    assert "fit (fit.json)" in [t.get_text() for t in frontier.axes[0].get_legend().get_texts()]


def test_record_uses_only_converged_draws(fitted, tmp_path):
    record = json.loads(fitted[2].read_text())
    record["bootstrap"]["converged"] = [True] * 5 + [False] * (len(record["bootstrap"]["thetas"]) - 5)
    path = tmp_path / "partial.json"
    path.write_text(json.dumps(record))
    fig = plot.figure_from_record(path, "bootstrap")
    assert "bootstrap draws (5)" in [t.get_text() for t in fig.legends[0].get_texts()]


def _edited_record(source, tmp_path, edit):
    record = json.loads(source.read_text())
    edit(record)
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(record))
    return path


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda f, t: plot.figure_from_record(f[2], "histogram"), PlotError,
         "unknown plot kind 'histogram'; choose one of surface, fit, bootstrap, frontier"),
        (lambda f, t: plot.figure_from_record(f[3], "bootstrap"), PlotError,
         "holds no bootstrap draws; save the fit with 'optimal fit RUNS.csv --bootstrap B --save FIT.json'"),
        (lambda f, t: plot.figure_from_record(None, "fit"), PlotError,
         "--kind fit needs a fit record: save one with 'optimal fit RUNS.csv --save FIT.json'"),
        (lambda f, t: plot.figure_from_record(None, "bootstrap", preset="epoch2024"), PlotError,
         "--kind bootstrap needs a fit record: save one with 'optimal fit RUNS.csv --bootstrap B --save FIT.json'"),
        (lambda f, t: plot.figure_from_record(f[2], "surface", preset="epoch2024"), PlotError,
         "give either a fit record or --preset, not both"),
        (lambda f, t: plot.figure_from_record(None, "surface", preset="nope"), UnknownPresetError,
         "unknown preset 'nope'"),
        (lambda f, t: plot.figure_from_record(t / "missing.json", "fit"), CoefficientsError,
         "cannot read fit record"),
        (lambda f, t: plot.figure_from_record(
            _edited_record(f[2], t, lambda r: r["bootstrap"].update(thetas=[[1, 2, 3]])), "bootstrap"),
         CoefficientsError, "the bootstrap draws are malformed"),
        (lambda f, t: plot.figure_from_record(
            _edited_record(f[2], t, lambda r: r["bootstrap"].update(converged=[False] * 16)), "surface"),
         PlotError, "none of its 16 bootstrap draws converged; nothing to plot"),
        (lambda f, t: plot.save_figure(plot.frontier(presets=("epoch2024",)), t / "out.xyz"), PlotError,
         "cannot tell the image format of"),
        (lambda f, t: plot.save_figure(plot.frontier(presets=("epoch2024",)), t / "no" / "out.png"), PlotError,
         "folder"),
        (lambda f, t: plot.frontier(law=None, presets=()), PlotError, "nothing to plot"),
        (lambda f, t: plot.frontier(presets=("epoch2024",), compute_range=(1e24, 1e20)), PlotError,
         "compute_range must be a pair (min, max) with 0 < min < max"),
        (lambda f, t: plot.surface(optimal.preset(), bootstrap_thetas=np.ones((4, 3))), PlotError,
         "bootstrap draws of the chinchilla law must have shape (R, 5)"),
        (lambda f, t: plot.bootstrap_pairs(np.empty((0, 5))), PlotError, "there are no bootstrap draws to plot"),
        (lambda f, t: plot.data_vs_fit(f[0], by="params"), PlotError, "by must be 'tokens' or 'compute'"),
    ],
    ids=["unknown-kind", "no-draws", "fit-without-record", "bootstrap-without-record", "record-and-preset",
         "unknown-preset", "missing-record", "malformed-draws", "no-converged-draws", "bad-suffix", "no-folder",
         "nothing-to-plot", "bad-range", "bad-thetas", "empty-thetas", "bad-by"],
)
def test_errors(fitted, tmp_path, call, error, message):
    with pytest.raises(error) as caught:
        call(fitted, tmp_path)
    assert message in str(caught.value)
    assert isinstance(caught.value, OptimalError)  # the CLI prints it as one line and exits 2


# --- figures of many things: a colour bar or small multiples, never a legend per thing ------------------------


@pytest.mark.slow
def test_groups_frontier_small_multiples(fitted, tmp_path):
    """Eighteen fits (three groups x six settings, as ``fit --by --sweep --plot``) give eighteen panels that read,
    each with its own line and band and the others in grey, the key below the panels, not over the data."""
    result, boot, _, _ = fitted
    groups = [(f"group={g}, delta={d}, drop_smallest={s}", boot if s == 0 else result)
              for g in "abc" for d in (1e-3, 1e-2, 1e-1) for s in (0, 5)]
    fig = rendered(plot.groups_frontier(groups, budgets=[5.76e23]), tmp_path)
    panels = data_panels(fig)
    assert len(panels) == 18 and not any(ax.get_legend() for ax in panels)
    key = fig.legends[0].get_window_extent()
    assert not any(key.overlaps(ax.get_window_extent()) for ax in panels)  # the key lies outside every panel
    first, second = panels[:2]
    assert (first.get_xscale(), first.get_yscale()) == ("log", "log")
    assert len(first.lines) == 17 + 1 + 1 and len(first.collections) == 1  # the others, its own, the budget; band
    assert len(second.collections) == 0  # a fit without draws has no band
    own = first.lines[17].get_xydata()
    expected = optimal.compute_optimal(result.law, own[:, 0]).tokens_per_param
    np.testing.assert_allclose(own[:, 1], expected, rtol=1e-9)
    assert first.get_title().startswith("group=a, delta=0.001") and "at 5.76e23 FLOPs: N* " in first.get_title()
    assert "[" in first.get_title() and "[" not in second.get_title()  # an interval only with draws


def test_groups_frontier_two_groups(fitted, tmp_path):
    result, boot, _, _ = fitted
    fig = rendered(plot.groups_frontier([("a", boot), ("b", result)]), tmp_path)
    assert [ax.get_title() for ax in data_panels(fig)] == ["a", "b"]


ISOFLOP_LAW = optimal.Chinchilla(E=1.8, A=480.0, B=2000.0, alpha=0.30, beta=0.40)


def test_isoflop_figure_many_budgets(tmp_path):
    """Sixty budgets (real runs grouped by k N D gave ~90): one colour bar of log C, no legend entry per budget."""
    from optimal.plot.isoflop import isoflop_figure

    runs = optimal.isoflop_runs(np.geomspace(1e17, 1e22, 60), ISOFLOP_LAW, n_sizes=5, noise=0.002, seed=0)
    found = optimal.isoflop(runs, n_resamples=8, parametric=False)
    fig = rendered(isoflop_figure(found), tmp_path)
    left, right, bar = fig.axes
    assert left.get_legend() is None and len(left.collections) == 60  # one scatter per budget
    assert bar.get_ylabel() == "budget C (FLOPs; 60 budgets)" and bar.get_yscale() == "log"
    assert bar.get_ylim() == pytest.approx((1e17, 1e22))


def test_isoflop_flat_budget_no_warning(tmp_path):
    """A budget whose three sizes have equal losses (colour-quantised losses, as in Epoch's extraction) has a
    parabola of zero curvature: refused as flat, with no NumPy 'invalid value encountered in divide'."""
    from optimal.plot.isoflop import isoflop_figure

    base = optimal.isoflop_runs((1e18, 1e19, 1e20, 1e21), ISOFLOP_LAW, noise=0.002, seed=0)
    n = np.array([1e9, 2e9, 4e9])
    flat = (n, 1e22 / (6 * n), np.full(3, 2.0), np.ones(3))
    runs = optimal.Runs(*(np.r_[a, b] for a, b in zip(base[:4], flat)), None)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        found = optimal.isoflop(runs, n_resamples=8, parametric=False)
    refused = [p for p in found.profiles if p.compute == pytest.approx(1e22)]
    assert len(refused) == 1 and not refused[0].accepted and "curvature" in refused[0].reason
    rendered(isoflop_figure(found), tmp_path)


def test_isoflop_figure_draws_an_extrapolated_vertex_dashed(tmp_path):
    """A vertex accepted outside its sizes: the parabola is drawn solid over the sizes and dashed from the nearer
    edge to the vertex, which sits on that dashed line; a vertex inside gets no dashed line."""
    from optimal.plot.isoflop import isoflop_figure

    runs = optimal.isoflop_runs((1e18, 1e19, 1e20), ISOFLOP_LAW, n_sizes=7, width_decades=1.2, offset_decades=-0.8)
    found = optimal.isoflop(runs, parametric=False)
    beyond = [p for p in found.profiles if p.accepted and p.n_opt > p.n_max]
    assert beyond and [w for w in found.warnings if w.code == "extrapolated"]
    left = rendered(isoflop_figure(found), tmp_path).axes[0]
    dashed = [line for line in left.get_lines() if line.get_linestyle() == "--"]
    assert len(dashed) == len(beyond)
    for line, profile in zip(dashed, beyond):
        x, y = line.get_data()
        assert x[0] == pytest.approx(profile.n_max, rel=1e-12) and x[-1] == pytest.approx(profile.n_opt, rel=1e-12)
        assert y[-1] == pytest.approx(profile.loss_opt, rel=1e-12)
    inside = optimal.isoflop(optimal.isoflop_runs((1e18, 1e19, 1e20), ISOFLOP_LAW), parametric=False)
    assert not [line for line in rendered(isoflop_figure(inside), tmp_path).axes[0].get_lines()
                if line.get_linestyle() == "--"]


def test_validation_figure(tmp_path):
    from optimal.plot.validate import validation_figure

    runs = optimal.synthetic_runs(n_runs=60, seed=11)
    report = optimal.validate(runs.n_params, runs.n_tokens, runs.loss, largest=10)
    fig = rendered(validation_figure(report), tmp_path)
    assert len(data_panels(fig)) == 2


@pytest.mark.parametrize("kind", ["frontier", "bootstrap", "surface"])
def test_figure_from_record_compute(fitted, tmp_path, kind):
    """``compute=`` (``optimal plot --compute``) is the budget marked, in place of Chinchilla's 5.76e23 FLOPs."""
    fig = rendered(plot.figure_from_record(fitted[2], kind, compute=1e25), tmp_path)
    texts = [t.get_text() for ax in fig.axes for t in ax.texts] + [ax.get_xlabel() for ax in fig.axes]
    assert any("1e25" in t for t in texts) and not any("5.76e23" in t for t in texts)
    default = plot.figure_from_record(fitted[2], kind)
    texts = [t.get_text() for ax in default.axes for t in ax.texts] + [ax.get_xlabel() for ax in default.axes]
    assert any("5.76e23" in t for t in texts) == (kind != "surface")  # the surface marks no budget by default


@pytest.mark.parametrize("compute", [0.0, -1e24, float("nan"), "many", [], [[1e24]]])
def test_figure_from_record_bad_compute(fitted, compute):
    with pytest.raises(PlotError, match="compute must be a budget in FLOPs"):
        plot.figure_from_record(fitted[2], "frontier", compute=compute)


@pytest.mark.slow
def test_validation_figure_many_folds(tmp_path):
    """Eight rolling folds: a colour bar of the folds, not eight legend entries over the data."""
    from optimal.plot.validate import validation_figure

    runs = optimal.synthetic_runs(n_runs=60, seed=11)
    report = optimal.validate(runs.n_params, runs.n_tokens, runs.loss, rolling=8)
    fig = rendered(validation_figure(report), tmp_path)
    left, right, bar = fig.axes
    assert bar.get_ylabel().startswith("fold (1 to 8") and len(left.get_legend().get_texts()) == 1
