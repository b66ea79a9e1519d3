"""Shared figure pieces, so every experiment draws theory, linear network and nonlinear network the same way:
theory solid, linear-network simulation dashed, nonlinear network dotted, one colour per mode across a figure."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from layerwise.report.style import MODEL_STYLE, mode_colors


def figure_grid(rows: int, cols: int, *, width: float = 5.5, height: float = 4.2, title: str | None = None):
    """A ``rows x cols`` figure with constrained layout; returns ``(figure, axes)`` (axes always 2-D)."""
    figure, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), constrained_layout=True,
                                squeeze=False)
    if title:
        figure.suptitle(title, fontsize=12)
    return figure, axes


def trajectories(ax, times, theory=None, simulation=None, *, labels=None, colors=None, kind: str = "linear",
                 cmap: str = "tab10") -> list:
    """Curves over time: column ``k`` of ``theory`` (T, K) solid and of ``simulation`` (T, K) in the ``kind`` style
    (``linear`` dashed, ``nonlinear`` dotted), the same colour for the same column. ``times`` is (T,) or, for a
    different grid per curve set, a pair ``(theory_times, simulation_times)``. Returns the colours used."""
    theory_times, simulation_times = times if isinstance(times, tuple) else (times, times)
    count = (np.shape(theory) if theory is not None else np.shape(simulation))[-1]
    colors = colors or mode_colors(count, cmap)
    for k in range(count):
        label = None if labels is None else labels[k]
        if theory is not None:
            ax.plot(theory_times, np.asarray(theory)[:, k], color=colors[k], **MODEL_STYLE["theory"],
                    label=label if simulation is None else None)
        if simulation is not None:
            ax.plot(simulation_times, np.asarray(simulation)[:, k], color=colors[k], **MODEL_STYLE[kind], label=label)
    return colors


def seed_bands(ax, x, values, colors, *, alpha: float = 0.12) -> None:
    """Per column ``k`` of ``values`` (seed, X, K), the band mean ± standard deviation over seeds in ``colors[k]``."""
    mean, spread = np.mean(values, axis=0), np.std(values, axis=0)
    for k, color in enumerate(colors):
        ax.fill_between(x, (mean - spread)[:, k], (mean + spread)[:, k], color=color, alpha=alpha)


def error_bars(ax, names, errors, tolerance: float, *, floor: float = 1e-18) -> None:
    """Per item, its largest error as a bar (green within ``tolerance``, red above or NaN) and each of its ``errors``
    (a list of arrays, one per item) as a dot, with ``tolerance`` dashed, on a log axis. Exact agreement (0) is drawn
    at ``floor``; a NaN or infinite error at 1, marked "NaN/inf"."""
    positions = np.arange(len(names))
    worst = np.array([float(np.max(e)) for e in errors])
    passed = worst <= tolerance  # NaN fails
    ax.bar(positions, np.where(np.isfinite(worst), np.maximum(worst, floor), 1.0),
           color=np.where(passed, "tab:green", "tab:red"), alpha=0.6)
    for i, item in enumerate(errors):
        item = np.ravel(item)
        ax.plot(np.full(len(item), i), np.clip(np.nan_to_num(item, nan=1.0, posinf=1.0), floor, None), "k.",
                markersize=3)
        if not np.isfinite(worst[i]):
            ax.text(i, 1.0, "NaN/inf", ha="center", va="bottom", fontsize=7, color="tab:red")
    ax.axhline(tolerance, color="tab:red", linestyle="--", linewidth=1.2, label=f"tolerance {tolerance:g}")
    ax.set_yscale("log")
    ax.set_xticks(positions, list(names), rotation=35, ha="right", fontsize=8)
def heatmap(ax, x, y, values, *, title: str = "", xlabel: str = "", ylabel: str = "", vmin=None, vmax=None,
            cmap: str = "coolwarm", label: str = ""):
    """``values`` (len(y), len(x)) as cells centred on the grid points ``x`` (columns) and ``y`` (rows), with a
    colour bar labelled ``label``; NaN cells are left blank. Returns the mesh."""
    mesh = ax.pcolormesh(x, y, values, shading="nearest", cmap=cmap, vmin=vmin, vmax=vmax)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.figure.colorbar(mesh, ax=ax, label=label, shrink=0.85)
    return mesh


def log_ticks(ax, values, axis: str = "x") -> None:
    """A log-scaled ``axis`` whose ticks are exactly ``values`` (labelled with 2 significant digits), no minor ticks."""
    getattr(ax, f"set_{axis}scale")("log")
    getattr(ax, f"set_{axis}ticks")(values, [f"{v:.2g}" for v in values])
    ax.minorticks_off()
def accuracy_curves(ax, epochs, train_accuracy, test_accuracy, train_epoch=np.nan, test_epoch=np.nan) -> None:
    """Train (C0) and test (C1) accuracy of a nonlinear network (dotted) on a log epoch axis (epoch 0 drawn at 0.5),
    with a vertical line at each finite threshold epoch (e.g. `layerwise.metrics.grokking_epochs`)."""
    epochs = np.maximum(np.asarray(epochs, dtype=float), 0.5)
    ax.plot(epochs, train_accuracy, color="C0", label="train", **MODEL_STYLE["nonlinear"])
    ax.plot(epochs, test_accuracy, color="C1", label="test", **MODEL_STYLE["nonlinear"])
    for value, color in ((train_epoch, "C0"), (test_epoch, "C1")):
        if np.isfinite(value):
            ax.axvline(max(value, 0.5), color=color, lw=0.8, alpha=0.6)
    ax.set(xscale="log", ylim=(0, 1.05))


def delay_bars(ax, labels, delays, highlight=(0,)) -> None:
    """Horizontal bars of delays (top to bottom in ``labels`` order; negative or NaN drawn as 0), the bars at the
    indices ``highlight`` (e.g. the baseline) in red, the others blue."""
    values = np.maximum(np.nan_to_num(np.asarray(delays, dtype=float), nan=0.0), 0)
    ax.barh(np.arange(len(values)), values, color=["C3" if i in highlight else "C0" for i in range(len(values))])
    ax.set_yticks(np.arange(len(values)), labels, fontsize=7)
    ax.invert_yaxis()
