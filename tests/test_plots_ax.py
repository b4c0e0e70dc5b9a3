"""Plot functions draw into ``ax=`` and return it; a posterior predictive group is replaced
with a warning (or refused); bad inputs give one-line structest errors."""

from __future__ import annotations

import re
import warnings

import matplotlib

matplotlib.use("Agg")  # files only in tests

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import structest  # noqa: E402
from structest import checks  # noqa: E402
from structest.errors import OptionError, StructestError  # noqa: E402
from structest.report import plots  # noqa: E402


@pytest.fixture(scope="module")
def ip(fit_at_truth):
    panel, truth = structest.simulate(seed=0)
    fit = fit_at_truth(panel, truth, n_draws=4)
    return checks.with_posterior_predictive(fit, seed=1)


def _table(n: int = 3) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "group": [f"g{i}" for i in range(n)],
            "observed": np.linspace(0.1, 0.3, n),
            "pred_mean": np.full(n, 0.2),
            "lo": np.full(n, 0.15),
            "hi": np.full(n, 0.25),
            "inside": [False, True, False][:n],
        }
    )


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_single_panel_functions_draw_into_the_given_axes(ip) -> None:
    panel = ip.panel
    dva = checks.ppc_dva_bands(ip)
    u = checks.loo_pit_randomized(ip)
    calls = [
        lambda ax: plots.plot_intervals(_table(), title="t", ax=ax),
        lambda ax: plots.plot_preference_histogram(ip.idata, panel, ax=ax),
        lambda ax: plots.plot_dva_bands(ip.idata, panel, dva, ax=ax),
        lambda ax: plots.plot_loo_pit(u, ax=ax),
    ]
    for call in calls:
        fig, ax = plt.subplots()
        got = call(ax)
        assert got is ax and len(fig.axes) >= 1 and fig.axes[0] is ax
        assert ax.has_data() or ax.lines or ax.collections
        assert ax.get_title() != ""
    # ax=None: a new figure, its Axes returned; fig_to_png takes the Axes
    got = plots.plot_intervals(_table())
    assert got.figure is not None and len(got.get_yticklabels()) == 3
    assert plots.fig_to_png(got)[:8] == b"\x89PNG\r\n\x1a\n"
    # red for outside, blue for inside, in the table's order (top to bottom)
    colors = got.collections[0].get_colors()
    assert np.allclose(colors[1][:3], matplotlib.colors.to_rgb(plots._OK))
    assert np.allclose(colors[0][:3], matplotlib.colors.to_rgb(plots._BAD))


def test_multi_panel_functions_return_arrays_of_the_given_axes(ip) -> None:
    panel = ip.panel
    mass = {by: checks.ppc_mass_at_mfn(ip, by=by) for by in ("importer", "industry")}
    fig, axes = plt.subplots(1, 2)
    got = plots.plot_mass_at_mfn(mass, ax=axes)
    assert isinstance(got, np.ndarray) and list(got) == list(axes)
    assert got[0].get_title() == "by importer" and fig._suptitle is None  # caller's figure
    fig, axes = plt.subplots(1, 2)
    got = plots.plot_industry_moments(checks.ppc_industry_moments(ip), ax=list(axes))
    assert list(got) == list(axes) and got[1].get_ylabel().startswith("s.d.")
    n = 1 + len(set(structest.data.describe.regime(panel.df)))
    fig, axes = plt.subplots(2, 2)
    got = plots.plot_preference_ecdf(ip.idata, panel, num_pp_samples=3, ax=axes)
    assert len(got) == n and all(a is b for a, b in zip(got, axes.ravel(), strict=False))
    # new figure: suptitle set, one Axes per panel
    got = plots.plot_mass_at_mfn(mass)
    assert len(got) == 2 and got[0].figure._suptitle is not None
    names = ["g_FVA", "sigma"]
    fig, axes = plt.subplots(2, 2)
    got = plots.plot_trace(ip.idata, names, ax=axes)
    assert got.shape == (2, 2) and got[0, 0] is axes[0, 0]


def test_report_factories_still_render_with_fig_to_png(ip) -> None:
    """report/html.py passes the return value to fig_to_png: Axes and arrays work."""
    for obj in (
        plots.plot_intervals(_table()),
        plots.plot_mass_at_mfn({"importer": _table()}),
        plots.plot_trace(ip.idata, ["sigma"]),
        plt.figure(),
    ):
        assert plots.fig_to_png(obj).startswith(b"\x89PNG")


# ---------------------------------------------------------------- existing PPC group
def test_existing_posterior_predictive_is_replaced_with_a_warning(ip) -> None:
    assert "posterior_predictive" in ip.idata.groups()
    before = ip.idata.posterior_predictive["tariff"].values.copy()
    with pytest.warns(UserWarning, match="existing posterior_predictive group is replaced"):
        again = checks.with_posterior_predictive(ip, seed=2)
    assert again.idata.posterior_predictive["tariff"].shape == before.shape
    assert not np.array_equal(again.idata.posterior_predictive["tariff"].values, before)
    # the input is not changed, and the groups are the same
    np.testing.assert_array_equal(ip.idata.posterior_predictive["tariff"].values, before)
    assert set(again.idata.groups()) == set(ip.idata.groups())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        same = checks.with_posterior_predictive(ip, seed=1, replace=True)
    np.testing.assert_array_equal(same.idata.posterior_predictive["tariff"].values, before)
    with pytest.raises(StructestError, match="already has a posterior_predictive group") as e:
        checks.with_posterior_predictive(ip, replace=False)
    assert "\n" not in str(e.value)


# ---------------------------------------------------------------- bad inputs
def _bad_cases():
    t = _table()
    return [
        ("ax string", lambda ip: plots.plot_intervals(t, ax="left"), OptionError, r"ax: expected a matplotlib Axes or None, got str"),
        ("ax figure", lambda ip: plots.plot_intervals(t, ax=plt.figure()), OptionError, r"got Figure"),
        ("too few axes", lambda ip: plots.plot_industry_moments(t, ax=[plt.subplots()[1]]), OptionError, r"has 2 panels; got 1 Axes"),
        ("axes not Axes", lambda ip: plots.plot_mass_at_mfn({"a": t}, ax=[1, 2]), OptionError, r"sequence of matplotlib Axes"),
        ("table lacks columns", lambda ip: plots.plot_intervals(t.drop(columns=["lo", "inside"])), OptionError, r"no column\(s\) \['lo', 'inside'\]"),
        ("empty tables", lambda ip: plots.plot_mass_at_mfn({}), OptionError, r"non-empty dict"),
        ("tables a list", lambda ip: plots.plot_mass_at_mfn([t]), OptionError, r"non-empty dict"),
        ("pit nan", lambda ip: plots.plot_loo_pit(np.array([0.1, np.nan])), OptionError, r"finite values in \[0, 1\]"),
        ("pit above 1", lambda ip: plots.plot_loo_pit(np.array([0.1, 1.5])), OptionError, r"finite values in \[0, 1\]"),
        ("pit empty", lambda ip: plots.plot_loo_pit(np.array([])), OptionError, r"non-empty"),
        ("png of a string", lambda ip: plots.fig_to_png("fig"), OptionError, r"fig_to_png: expected a matplotlib Figure.*got str"),
        ("png of None", lambda ip: plots.fig_to_png(None), OptionError, r"got NoneType"),
        ("trace ax shape", lambda ip: plots.plot_trace(ip.idata, ["sigma", "g_FVA"], ax=plt.subplots(1, 2)[1]), OptionError, r"needs Axes shaped \(2, 2\), got shape \(2,\)"),
        ("prior none present", lambda ip: plots.plot_prior_posterior(ip.idata, ["nope"]), OptionError, r"none of \['nope'\]"),
        ("replace string", lambda ip: checks.with_posterior_predictive(ip, replace="yes"), OptionError, r"replace: expected True, False or None, got 'yes'"),
        ("max_draws zero", lambda ip: checks.with_posterior_predictive(ip, max_draws=0), OptionError, r"max_draws: expected a positive integer, got 0"),
        ("max_draws float", lambda ip: checks.with_posterior_predictive(ip, max_draws=1.5), OptionError, r"got 1\.5"),
        ("max_draws bool", lambda ip: checks.with_posterior_predictive(ip, max_draws=True), OptionError, r"got True"),
        ("refuse existing", lambda ip: checks.with_posterior_predictive(ip, replace=False), StructestError, r"already has a posterior_predictive group; use it as it is, or pass replace=True"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "call", "exc", "pattern"),
    _bad_cases(),
    ids=lambda v: v if isinstance(v, str) and " " in v else "",
)
def test_bad_inputs(ip, name, call, exc, pattern) -> None:
    with pytest.raises(exc) as err:
        call(ip)
    msg = str(err.value)
    assert re.search(pattern, msg), msg
    assert "\n" not in msg
