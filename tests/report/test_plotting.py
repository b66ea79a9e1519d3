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
    plt.close(figure)
