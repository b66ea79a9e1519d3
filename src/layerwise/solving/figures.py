r"""The figure of a `layerwise.solve` report: the data's spectrum and the mode strengths ``u_a(t) / s_a`` of theory
(solid), the linear net (dashed) and each compared network (dotted), one colour per mode (seed mean, band over
seeds)."""

from __future__ import annotations

import numpy as np

from layerwise.report.style import MODEL_STYLE, mode_colors
from layerwise.seeds import interval

MAX_CURVES = 10
"""Modes drawn in the curves panel (the strongest); the spectrum shows all."""


def solve_figure(report):
    """A two- or three-panel matplotlib figure for a `SolveReport` (returns the figure)."""
    import matplotlib.pyplot as plt

    history, modes = report.history, report.modes
    networks = list(history.network.values)
    has_test = "test_loss" in history and np.isfinite(history.test_loss.values).any()
    columns = 3 if has_test else 2
    figure, axes = plt.subplots(1, columns, figsize=(5.2 * columns, 4.0))
    s = modes.singular_value.values
    axes[0].bar(np.arange(s.size), s, color=mode_colors(s.size))
    axes[0].set(xlabel="mode α", ylabel="singular value $s_α$ of $Σ_{yx}$", title="spectrum (whitened basis)"
                if report.summary.get("whitened") else "spectrum")
    colours = mode_colors(min(s.size, MAX_CURVES))
    time = history.time.values
    for network in networks:
        style = _style(network)
        ratio = history.strength.sel(network=network) / history.singular_value
        mean, half = interval(ratio, "seed") if ratio.sizes["seed"] > 1 else (ratio.isel(seed=0), None)
        for a in range(min(s.size, MAX_CURVES)):
            curve = mean.isel(mode=a).values
            axes[1].plot(time, curve, color=colours[a], **style,
                         label=network if a == 0 else None)
            if half is not None and network != "theory":
                band = half.isel(mode=a).values
                axes[1].fill_between(time, curve - band, curve + band, color=colours[a], alpha=0.12, linewidth=0)
    axes[1].set(xlabel="time t = learning rate × step", ylabel="$u_α(t) / s_α$",
                title=f"mode strengths ({report.summary.get('prediction')})")
    axes[1].legend(fontsize=8)
    if has_test:
        for network in networks:
            if network in ("theory", "flow"):
                continue
            values = history.test_loss.sel(network=network).mean("seed").values
            axes[2].plot(time, values, color="black" if network == "linear" else "tab:red", **_style(network),
                         label=network)
        axes[2].set(xlabel="time", ylabel="held-out loss", title="test loss")
        axes[2].legend(fontsize=8)
    figure.tight_layout()
    return figure


def _style(network: str) -> dict:
    if network in ("theory", "flow"):
        return dict(MODEL_STYLE["theory"])
    if network == "linear":
        return dict(MODEL_STYLE["linear"])
    return dict(MODEL_STYLE["nonlinear"])
