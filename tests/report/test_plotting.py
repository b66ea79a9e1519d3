"""Shared figure pieces (layerwise.report.plotting)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from layerwise.report.plotting import error_bars  # noqa: E402


def test_error_bars_colour_by_tolerance_and_mark_nan():
    figure, ax = plt.subplots()
    error_bars(ax, ["exact", "close", "far", "broken"],
               [np.zeros(3), np.array([1e-12, 1e-10]), np.array([1e-3]), np.array([1e-12, np.nan])], 1e-8)
    bars = ax.patches
    colours = [matplotlib.colors.to_hex(bar.get_facecolor(), keep_alpha=False) for bar in bars]
    green, red = matplotlib.colors.to_hex("tab:green"), matplotlib.colors.to_hex("tab:red")
    assert colours == [green, green, red, red]
    assert [bar.get_height() for bar in bars] == [1e-18, 1e-10, 1e-3, 1.0]  # 0 at the floor, NaN at 1
    assert ax.get_yscale() == "log" and [t.get_text() for t in ax.texts] == ["NaN/inf"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["exact", "close", "far", "broken"]
from layerwise.report.plotting import heatmap, log_ticks  # noqa: E402


def test_heatmap_has_one_cell_per_grid_point_and_a_colour_bar():
    figure, ax = plt.subplots()
    values = np.arange(6.0).reshape(2, 3)
    values[0, 0] = np.nan
    mesh = heatmap(ax, [1.0, 2.0, 4.0], [-1.0, 1.0], values, title="t", xlabel="x", ylabel="y", vmin=0, vmax=5,
                   label="v")
    assert np.size(mesh.get_array()) == 6 and np.isnan(np.ma.filled(mesh.get_array(), np.nan).ravel()[0])
    assert mesh.get_clim() == (0, 5) and ax.get_title() == "t" and len(figure.axes) == 2
    assert figure.axes[1].get_ylabel() == "v"
    plt.close(figure)


def test_log_ticks_are_the_values():
    figure, ax = plt.subplots()
    ax.plot([0.25, 2.0], [0, 1])
    log_ticks(ax, [0.25, 0.5, 2.0])
    assert ax.get_xscale() == "log" and list(ax.get_xticks()) == [0.25, 0.5, 2.0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0.25", "0.5", "2"]
    plt.close(figure)
