r"""Explorer panel 1, the dynamical feedback principle in a diagonal linear network (Nam et al. 2025, §3.1-3.2).

``f(x) = sum_i x_i prod_l a^(l)_i`` on the diagonal task ``y = sum_i S_i x_i``, ``E[x_i^2] = v_i``. Plotted: the mode
strengths ``u_i(t) / S_i`` and, for contrast, the linear model ``theta_i(t) / S_i`` (`layerwise.theory.linear_mode`).
Which closed form draws ``u_i``:

* balanced (``C = 0``), any depth: `layerwise.theory.saxe_mode` with ``tau = 1 / v_i``;
* depth 2 with imbalance ``C = a^2 - b^2``: `layerwise.theory.imbalanced_mode`;
* depth ``L >= 3`` with ``C != 0``: no closed form is known, so the exact gradient flow of the engine
  (`layerwise.engine.gradient_flow`, diffrax) from layer 1 ``= a``, layers 2..L ``= b`` with ``a^2 - b^2 = C``,
  ``a b^{L-1} = u_0``; the panel says so.

Stage times are the half-times ``u_i = S_i / 2`` (`layerwise.theory.learning_time` where it applies, else read off
the curve by `layerwise.metrics.crossing_time`). "Simulate" trains the same network by GD with `layerwise.engine.train`.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import jax.numpy as jnp
import numpy as np
import scipy.optimize

from layerwise import data, init, metrics, theory
from layerwise.engine import even_record_steps, gradient_flow, train
from layerwise.errors import LayerwiseError
from layerwise.explore.common import Curves, max_gap
from layerwise.models import DiagonalLinearNetwork

WEIGHTS = {"weights": (lambda model, params, task: model.end_to_end(params)[0], ("mode",))}
MAX_DEPTH = 6


@dataclasses.dataclass(frozen=True)
class FeedbackSettings:
    """One position of the panel's controls."""

    depth: int = 2
    init_scale: float = 1e-4
    """u₀, the initial end-to-end weight of every mode."""
    mode_imbalance: float = 0.0
    """C = a² − b² of every mode (the first layer minus the second; docs/glossary.md)."""
    targets: tuple[float, ...] = (4.0, 2.0, 1.0, 0.5)
    variances: tuple[float, ...] = (1.0, 1.0, 1.0, 1.0)
    duration: float = 14.0
    learning_rate: float = 1e-3

    def __post_init__(self):
        if not 1 <= int(self.depth) <= MAX_DEPTH:
            raise LayerwiseError(f"depth must be an integer from 1 to {MAX_DEPTH}, got {self.depth}")
        if len(self.targets) != len(self.variances):
            raise LayerwiseError(f"target strengths ({len(self.targets)}) and input variances "
                                 f"({len(self.variances)}) must have the same number of entries")
        if min(self.variances) <= 0:
            raise LayerwiseError("input variances must all be > 0")
        if self.duration <= 0 or self.learning_rate <= 0:
            raise LayerwiseError("duration and learning rate must be > 0")
        if self.mode_imbalance == 0 and self.init_scale <= 0:
            raise LayerwiseError(f"a balanced init (C = 0) needs u0 > 0 (every layer u0^(1/L)), got u0 = "
                                 f"{self.init_scale:g}")
        if self.depth >= 3 and min(self.targets) <= 0:
            raise LayerwiseError(f"depth {self.depth} needs target strengths S_i > 0")
        if self.depth >= 3 and self.mode_imbalance != 0 and self.init_scale <= 0:
            raise LayerwiseError(f"depth {self.depth} with C != 0 needs u0 > 0, got u0 = {self.init_scale:g}")

    @property
    def uses_ode(self) -> bool:
        """No closed form: imbalance at depth >= 3."""
        return self.depth >= 3 and self.mode_imbalance != 0


def method(settings: FeedbackSettings) -> str:
    """Which solution draws the curves (shown in the page)."""
    if settings.uses_ode:
        return (f"no closed form at depth {settings.depth} with C = {settings.mode_imbalance:g}: the exact ODE "
                "(engine gradient_flow, diffrax) is drawn instead")
    if settings.depth == 1:
        return "depth 1 is the linear model: theory.saxe_mode(depth=1), an exponential"
    if settings.mode_imbalance == 0:
        return f"closed form: theory.saxe_mode(depth={settings.depth}), tau = 1/E[x^2]"
    return "closed form: theory.imbalanced_mode (conserved C = a^2 - b^2)"


def _depth_layers(u0: float, imbalance: float, depth: int) -> tuple[float, float]:
    """``(a, b)`` with ``a^2 - b^2 = C`` and ``a b^{depth-1} = u0`` (``u0 > 0``): a monotone root in ``b``."""
    low = np.sqrt(max(-imbalance, 0.0))
    product = lambda b: np.sqrt(b * b + imbalance) * b ** (depth - 1) - u0  # noqa: E731
    high = max(low, 1.0)
    while product(high) < 0:
        high *= 2.0
    b = scipy.optimize.brentq(product, low, high, xtol=1e-300, rtol=1e-15, maxiter=500)
    return float(np.sqrt(b * b + imbalance)), float(b)


def initial_params(settings: FeedbackSettings):
    """The network's init (depth, modes) for these settings."""
    model = DiagonalLinearNetwork(dim=len(settings.targets), depth=settings.depth)
    if not settings.uses_ode:
        return model, init.balanced_diagonal_init(model, settings.init_scale,
                                                  settings.mode_imbalance if settings.depth == 2 else 0.0)
    a, b = _depth_layers(settings.init_scale, settings.mode_imbalance, settings.depth)
    rows = [jnp.full(model.dim, a)] + [jnp.full(model.dim, b)] * (settings.depth - 1)
    return model, jnp.stack(rows)


def _task(settings: FeedbackSettings):
    return data.diagonal_task(np.asarray(settings.targets), np.asarray(settings.variances))


def mode_strengths(settings: FeedbackSettings, times: np.ndarray) -> np.ndarray:
    """``u_i(t)`` at ``times`` (T,), shape (T, modes): the closed form of the module docstring, or the exact ODE."""
    t = np.asarray(times, dtype=float)[:, None]
    s, var = np.asarray(settings.targets), np.asarray(settings.variances)
    if settings.uses_ode:
        model, params = initial_params(settings)
        flow = gradient_flow(model, params[None], _task(settings), np.asarray(times, dtype=float), rtol=1e-11,
                             atol=1e-13, observables=WEIGHTS)
        return np.asarray(flow.history.weights.values[0])
    if settings.depth == 2 and settings.mode_imbalance != 0:
        return np.asarray(theory.imbalanced_mode(t, s, settings.init_scale, settings.mode_imbalance,
                                                 input_variance=var))
    return np.asarray(theory.saxe_mode(t, s, settings.init_scale, depth=settings.depth, tau=1.0 / var))


def theory_times(settings: FeedbackSettings, points: int = 241) -> np.ndarray:
    """The time grid the panel draws on."""
    return np.linspace(0.0, settings.duration, points)


def stage_times(settings: FeedbackSettings, times: np.ndarray, strengths: np.ndarray) -> np.ndarray:
    """Half-times ``u_i = S_i / 2`` of each mode (NaN where not reached within the window)."""
    s, var = np.asarray(settings.targets), np.asarray(settings.variances)
    if settings.mode_imbalance == 0 and settings.depth >= 2 and settings.init_scale < 0.5 * np.min(s):
        return np.asarray(theory.learning_time(s, settings.init_scale, 0.5, depth=settings.depth, tau=1.0 / var))
    return metrics.crossing_time(times, (strengths / s).T, 0.5)


def theory_curves(settings: FeedbackSettings, points: int = 241) -> tuple[Curves, Curves, np.ndarray]:
    """``(network, linear model, stage times)``: ``u_i/S_i`` and ``theta_i/S_i`` over time, and the half-times."""
    times = theory_times(settings, points)
    s, var = np.asarray(settings.targets), np.asarray(settings.variances)
    strengths = mode_strengths(settings, times)
    labels = [f"S={v:g}, E[x²]={w:g}" for v, w in zip(s, var)]
    network = Curves([times] * len(s), list((strengths / s).T), labels, method(settings))
    linear = np.asarray(theory.linear_mode(times[:, None], s, 0.0, var)) / s
    contrast = Curves([times] * len(s), list(linear.T), [f"linear model, {label}" for label in labels])
    return network, contrast, stage_times(settings, times, strengths)


def simulate(settings: FeedbackSettings, points: int = 121) -> tuple[Curves, float]:
    """GD (``settings.learning_rate``) on the same network, time ``t = lr * step``; returns the curves ``u_i/S_i``
    and ``max |theory - simulation|`` of ``u_i/S_i`` at the recorded times."""
    model, params = initial_params(settings)
    steps = max(1, round(settings.duration / settings.learning_rate))
    record = even_record_steps(steps, points)
    result = train(model, params[None], _task(settings), steps=steps, learning_rate=settings.learning_rate,
                   record_steps=record, observables=WEIGHTS)
    times = settings.learning_rate * record
    s = np.asarray(settings.targets)
    measured = np.asarray(result.history.weights.values[0]) / s
    gap = max_gap(mode_strengths(settings, times) / s, measured)
    return Curves([times] * len(s), list(measured.T), [f"GD, S={v:g}" for v in s]), gap


def view(doc, executor):
    """The panel's Bokeh layout and its controller (sliders for depth, C and duration; text for u0, S_i, E[x_i^2])."""
    from bokeh.layouts import column, row
    from bokeh.models import ColumnDataSource, Slider, TextInput

    from layerwise.explore import ui
    from layerwise.explore.common import parse_float, parse_floats

    defaults = FeedbackSettings()
    depth = Slider(title="depth L", start=1, end=MAX_DEPTH, step=1, value=defaults.depth, name="feedback_depth")
    imbalance = Slider(title="imbalance C = a² − b²", start=-0.5, end=20.0, step=0.1, value=0.0,
                       name="feedback_imbalance")
    duration = Slider(title="duration t", start=1.0, end=40.0, step=0.5, value=defaults.duration,
                      name="feedback_duration")
    u0 = TextInput(title="init u₀ = ∏ layers", value="1e-4", name="feedback_init")
    targets = TextInput(title="target strengths Sᵢ", value="4, 2, 1, 0.5", name="feedback_targets")
    variances = TextInput(title="input variances E[xᵢ²]", value="1, 1, 1, 1", name="feedback_variances")
    plot, sources = ui.line_plot("feedback", "aᵢbᵢ/Sᵢ over time: network solid, GD dashed", "time t = lr × step",
                                 "u / S", width=640)
    linear = ColumnDataSource(ui.empty_lines(), name="feedback_linear")
    plot.multi_line("xs", "ys", source=linear, line_color="color", line_dash="dotted", line_alpha=0.6)
    stages = ColumnDataSource({"x": [], "y": []}, name="feedback_stages")
    plot.scatter("x", "y", source=stages, size=8, marker="diamond", color="black", legend_label="stage times t½")

    def read() -> FeedbackSettings:
        s, v = parse_floats("target strengths", targets.value), parse_floats("input variances", variances.value)
        return FeedbackSettings(int(depth.value), parse_float("init u0", u0.value), float(imbalance.value),
                                tuple(s), tuple(v), float(duration.value))

    def redraw(settings: FeedbackSettings) -> Callable[[], str]:
        network, contrast, half = theory_curves(settings)

        def draw() -> str:
            ui.set_lines(sources["theory"], network)
            ui.set_lines(linear, contrast, ["#7f7f7f"] * len(contrast.xs))
            stages.data = {"x": list(half), "y": [0.5] * len(half)}
            stage = ", ".join(f"{t:.3g}" for t in half)
            return f"{network.note}. Stage times t½ = {stage}. Dotted: the linear model θᵢ/Sᵢ = 1 − exp(−E[xᵢ²] t)."

        return draw

    controller = ui.PanelController(doc, "feedback", read, redraw, simulate,
                                    lambda curves: ui.set_lines(sources["simulation"], curves), executor,
                                    stale=(sources["simulation"],))
    for slider in (imbalance, duration):
        slider.on_change("value", controller.changed)
    depth.on_change("value", controller.changed_shape)
    for box in (u0, targets, variances):
        box.on_change("value", controller.changed_shape)
    doc.add_next_tick_callback(controller.update_in_background)  # page first, curves when computed
    controls = column(depth, imbalance, duration, u0, targets, variances, controller.button, width=260)
    return column(row(controls, plot), controller.note, controller.message, controller.status)
