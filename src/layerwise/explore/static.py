"""The server-free explorer embedded in the reproduction report (``index.html``), for the feedback and λ-balanced
panels.

The closed forms are evaluated once, in Python, by the same functions as the live panels
(`layerwise.explore.feedback.theory_curves`, `layerwise.explore.lambda_panel.theory_curves`) on a grid of slider
positions (at most 3 sliders a panel; `FEEDBACK_GRID`, `LAMBDA_GRID`). The grid travels as float32 arrays inside the
page, and each slider's ``CustomJS`` callback copies the curves of its position into the plotted data source: no
formula is written in JavaScript, no server, no network. BokehJS is inlined (`bokeh.resources.INLINE`, only the
``bokeh`` and ``bokeh-widgets`` bundles), so the page works from ``file://``.
"""

from __future__ import annotations

import functools

import numpy as np

from layerwise.explore import feedback, lambda_panel

FEEDBACK_GRID = {"log_init": np.arange(-8.0, -0.5, 1.0), "imbalance": np.arange(0.0, 10.5, 1.0)}
LAMBDA_GRID = {"imbalance": np.arange(-3.0, 3.01, 0.5), "log_ratio": np.arange(-3.0, 1.01, 0.5)}
POINTS = 151

# Copies the curves of the sliders' position out of the flat grid: curve c of setting k is
# values[(k * per_setting + c) * points : ... + points]; targets[t] receives the next counts[t] curves.
_SELECT = """
let setting = 0;
for (const slider of sliders) {
    const index = Math.round((slider.value - slider.start) / slider.step);
    setting = setting * (Math.round((slider.end - slider.start) / slider.step) + 1) + index;
}
const values = grid.data.values;
let curve = setting * per_setting;
for (let t = 0; t < targets.length; t++) {
    const ys = [];
    for (let c = 0; c < counts[t]; c++, curve++) {
        ys.push(values.slice(curve * points, (curve + 1) * points));
    }
    targets[t].data = {...targets[t].data, ys: ys};
}
"""


def _stack(curve_lists) -> np.ndarray:
    """(settings, curves, points) float32 from a list (over settings) of lists of y arrays."""
    return np.asarray([[np.asarray(y, dtype=float) for y in curves] for curves in curve_lists], dtype=np.float32)


def feedback_grid() -> tuple[np.ndarray, np.ndarray, list]:
    """``(times, curves (settings, modes, points), default settings' Curves)`` of the feedback panel at depth 2."""
    settings = [feedback.FeedbackSettings(init_scale=10.0 ** u0, mode_imbalance=float(c))
                for u0 in FEEDBACK_GRID["log_init"] for c in FEEDBACK_GRID["imbalance"]]
    drawn = [feedback.theory_curves(s, POINTS) for s in settings]
    return drawn[0][0].xs[0], _stack([network.ys for network, _, _ in drawn]), drawn


def lambda_grid() -> tuple[np.ndarray, np.ndarray, list]:
    """``(times, curves (settings, modes + 1, points), drawn)``: the modes, then the kernel distance."""
    settings = [lambda_panel.LambdaSettings(float(lam), float(r))
                for lam in LAMBDA_GRID["imbalance"] for r in LAMBDA_GRID["log_ratio"]]
    drawn = [lambda_panel.theory_curves(s, POINTS) for s in settings]
    return drawn[0][0].xs[0], _stack([modes.ys + distance.ys for modes, distance in drawn]), drawn


def _slider(title: str, values: np.ndarray, value: float, name: str):
    from bokeh.models import Slider

    step = float(values[1] - values[0])
    return Slider(title=title, start=float(values[0]), end=float(values[-1]), step=step, value=value, name=name)


def _wire(sliders, grid_values: np.ndarray, targets, counts) -> None:
    from bokeh.models import ColumnDataSource, CustomJS

    grid = ColumnDataSource({"values": grid_values.reshape(-1)})
    callback = CustomJS(args=dict(sliders=sliders, grid=grid, targets=targets, counts=counts,
                                  per_setting=int(grid_values.shape[1]), points=int(grid_values.shape[2])),
                        code=_SELECT)
    for slider in sliders:
        slider.js_on_change("value", callback)


def _lines(plot, curves, name: str, colors=None, dash="solid", legend_label=None):
    from bokeh.models import ColumnDataSource

    data = curves.source_data()
    if colors is not None:
        data["color"] = colors
    data["ys"] = [np.asarray(y, dtype=np.float32) for y in data["ys"]]
    source = ColumnDataSource(data, name=name)
    legend = {"legend_label": legend_label} if legend_label else {"legend_field": "label"}
    plot.multi_line("xs", "ys", source=source, line_color="color", line_width=2, line_dash=dash, **legend)
    return source


def feedback_block():
    """The static feedback panel: sliders log10 u0 and C (depth 2), curves u_i/S_i and the linear model."""
    from bokeh.layouts import column, row
    from bokeh.plotting import figure

    _, values, drawn = feedback_grid()
    network, contrast, _ = drawn[0]
    plot = figure(title="diagonal net: aᵢbᵢ/Sᵢ (closed form); dotted: linear model", width=620, height=340,
                  x_axis_label="time t", y_axis_label="u / S", name="static_feedback_figure")
    source = _lines(plot, network, "static_feedback_theory")
    _lines(plot, contrast, "static_feedback_linear", ["#7f7f7f"] * len(contrast.xs), "dotted",
           "linear model θᵢ/Sᵢ")
    plot.legend.location = "bottom_right"
    plot.legend.label_text_font_size = "8pt"
    u0 = _slider("log₁₀ u₀", FEEDBACK_GRID["log_init"], -4.0, "static_feedback_log_init")
    c = _slider("imbalance C = a² − b²", FEEDBACK_GRID["imbalance"], 0.0, "static_feedback_imbalance")
    _wire([u0, c], values, [source], [values.shape[1]])
    _select(values, [source], [values.shape[1]], [u0, c], FEEDBACK_GRID)
    return row(column(u0, c, width=260), plot)


def lambda_block():
    """The static λ-balanced panel: sliders λ and log10 σ0/s1; the modes and the kernel distance."""
    from bokeh.layouts import column, row
    from bokeh.plotting import figure

    _, values, drawn = lambda_grid()
    modes, distance = drawn[0]
    mode_plot = figure(title="λ-balanced: modes (W₂W₁)ₐₐ/sₐ", width=420, height=340, x_axis_label="time t",
                       y_axis_label="mode / s", name="static_lambda_figure")
    kernel_plot = figure(title="kernel distance S(K₀, K_t)", width=380, height=340, x_axis_label="time t",
                         y_axis_label="S", name="static_lambda_kernel_figure")
    mode_source = _lines(mode_plot, modes, "static_lambda_theory")
    kernel_source = _lines(kernel_plot, distance, "static_lambda_kernel", ["black"])
    for plot in (mode_plot, kernel_plot):
        plot.legend.location = "bottom_right"
    lam = _slider("λ", LAMBDA_GRID["imbalance"], 0.0, "static_lambda_imbalance")
    ratio = _slider("log₁₀ σ₀/s₁", LAMBDA_GRID["log_ratio"], -2.0, "static_lambda_log_ratio")
    counts = [len(modes.xs), 1]
    _wire([lam, ratio], values, [mode_source, kernel_source], counts)
    _select(values, [mode_source, kernel_source], counts, [lam, ratio], LAMBDA_GRID)
    return row(column(lam, ratio, width=260), mode_plot, kernel_plot)


def _select(values, sources, counts, sliders, grid) -> None:
    """Put the curves of the sliders' initial position into the sources (what the JS callback does later)."""
    setting = 0
    for slider, axis in zip(sliders, grid.values()):
        setting = setting * axis.size + int(np.argmin(np.abs(axis - slider.value)))
    curve = 0
    for source, count in zip(sources, counts):
        source.data = {**source.data, "ys": list(values[setting, curve:curve + count])}
        curve += count


@functools.lru_cache(maxsize=1)
def explorer_html() -> str:
    """The embeddable HTML (inlined BokehJS, the two panels' div and script), for the report template; computed
    once per process (the grid does not depend on any result)."""
    from bokeh.embed import components
    from bokeh.layouts import column
    from bokeh.models import Div
    from bokeh.resources import INLINE

    intro = Div(text="Move a slider: the curves are closed forms of <code>layerwise.theory</code>, precomputed on "
                "the sliders' grid (this page needs no server and no network).", width=1000)
    layout = column(intro, feedback_block(), lambda_block(), name="static_explorer")
    script, div = components(layout)
    page = INLINE.clone(components=["bokeh", "bokeh-widgets"]).render_js() + script + div
    # explicit script types: a bare "<script>" in the report can then only come from unescaped user text (which
    # the report's tests look for)
    return page.replace("<script>", '<script type="text/javascript">')
