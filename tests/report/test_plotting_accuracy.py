"""The shared accuracy-curve and delay-bar figure pieces (used by grokking-fig11 and grokking-modular)."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from layerwise.report.plotting import accuracy_curves, delay_bars  # noqa: E402


def test_accuracy_curves_draw_dotted_train_and_test_with_threshold_lines():
    figure, ax = plt.subplots()
    accuracy_curves(ax, [0, 1, 10, 100], [0.1, 0.5, 1.0, 1.0], [0.1, 0.2, 0.4, 0.9], 10.0, np.nan)
    lines = ax.get_lines()
    assert [line.get_label() for line in lines[:2]] == ["train", "test"] and lines[0].get_linestyle() == ":"
    assert lines[0].get_xdata()[0] == 0.5  # epoch 0 drawn at 0.5 on the log axis
    assert len(lines) == 3 and ax.get_xscale() == "log"  # one vertical line: the test epoch is NaN
    plt.close(figure)


def test_delay_bars_clip_negative_and_nan_to_zero_and_highlight_the_first():
    figure, ax = plt.subplots()
    delay_bars(ax, ["a", "b", "c"], [5.0, -3.0, np.nan])
    bars = ax.patches
    assert [bar.get_width() for bar in bars] == [5.0, 0.0, 0.0]
    assert bars[0].get_facecolor() != bars[1].get_facecolor()
    plt.close(figure)
