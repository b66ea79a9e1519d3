r"""Explorer panel 3, the grokking toy of Nam et al. (2025, §7): the weight-to-target ratio ``Sigma_0 / S``.

``f(x) = (1/Z) sum_{i <= p} a_i b_i x`` fitted to ``y = S x``; a mirrored init (the second half of the units copies
the first half's ``a`` and negates its ``b``) has zero output (``𝒮_0 = 0``) and weight scale ``Sigma_0``. Plotted:
the feature growth ``g(t)^2`` of `layerwise.theory.grokking_rescaling`, its limit ``gamma_+``
(`layerwise.theory.grokking_gamma`), the lazy limit ``gamma_+ -> 1`` (``Sigma_0 / S -> inf``) and the rich one
``gamma_+ -> 2 S / Sigma_0`` (``Sigma_0 / S -> 0``), and ``gamma_+`` over the ratio with the sliders' position
marked. The width ``p`` does not enter the theory, only the simulation, whose ``g^2 = |a + b|^2 / |a(0) + b(0)|^2``.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from layerwise import data, theory
from layerwise.engine import even_record_steps, train
from layerwise.errors import LayerwiseError
from layerwise.explore.common import Curves, max_gap
from layerwise.models import DeepLinearNetwork

RATIOS = np.geomspace(1e-2, 1e2, 161)
GROWTH = {"u_norm": lambda model, params, task: jnp.sum((params[0][:, 0] + params[1][0]) ** 2)}


@dataclasses.dataclass(frozen=True)
class GrokkingSettings:
    """One position of the panel's controls."""

    log_sigma0: float = -1.0
    target: float = 1.0
    z: float = 1.0
    width: int = 16
    duration: float = 20.0
    learning_rate: float = 1e-2

    def __post_init__(self):
        if self.width < 2 or self.width % 2:
            raise LayerwiseError(f"width p must be an even integer >= 2 (mirrored init), got {self.width}")
        if self.target <= 0 or self.z <= 0 or self.duration <= 0 or self.learning_rate <= 0:
            raise LayerwiseError("target S, Z, duration and learning rate must all be > 0")

    @property
    def sigma0(self) -> float:
        return 10.0 ** self.log_sigma0


def theory_curves(settings: GrokkingSettings, points: int = 241) -> tuple[Curves, Curves, dict[str, float]]:
    """``(g(t)^2 with its limits, gamma_+ over Sigma_0/S, numbers)``."""
    times = np.linspace(0.0, settings.duration, points)
    sigma0, s, z = settings.sigma0, settings.target, settings.z
    growth = np.asarray(theory.grokking_rescaling(times, sigma0, 0.0, s, z)) ** 2
    gamma = float(theory.grokking_gamma(sigma0, 0.0, s))
    rich = 2.0 * s / sigma0
    ends = np.array([0.0, settings.duration])
    curves = Curves([times, ends, ends, ends], [growth, np.full(2, gamma), np.ones(2), np.full(2, rich)],
                    ["g(t)²", f"γ₊ = {gamma:.4g}", "lazy limit 1", f"rich limit 2S/Σ₀ = {rich:.4g}"],
                    "closed forms: theory.grokking_rescaling, theory.grokking_gamma (𝒮₀ = 0)")
    over_ratio = np.asarray(theory.grokking_gamma(RATIOS * s, 0.0, s))
    ratio_curves = Curves([RATIOS, RATIOS, RATIOS], [over_ratio, np.ones_like(RATIOS), 2.0 / RATIOS],
                          ["γ₊(Σ₀/S)", "lazy limit 1", "rich limit 2S/Σ₀"])
    return curves, ratio_curves, {"gamma": gamma, "ratio": sigma0 / s}


def mirrored_init(settings: GrokkingSettings) -> tuple[np.ndarray, np.ndarray]:
    """``(a, b)`` (p,): Gaussian units (key 0), mirrored halves, rescaled to ``Sigma_0`` exactly."""
    key_a, key_b = jax.random.split(jax.random.PRNGKey(0))
    half = settings.width // 2
    a = np.asarray(jax.random.normal(key_a, (half,)))
    b = np.asarray(jax.random.normal(key_b, (half,)))
    a, b = np.concatenate([a, a]), np.concatenate([b, -b])
    scale = np.sqrt(settings.sigma0 / (np.sum(a * a + b * b) / (2.0 * settings.z)))
    return a * scale, b * scale


def simulate(settings: GrokkingSettings, points: int = 121) -> tuple[Curves, float]:
    """GD on the width-``p`` toy; the measured ``g(t)^2`` and ``max |theory - simulation|`` of it."""
    a, b = mirrored_init(settings)
    model = DeepLinearNetwork((1, settings.width, 1), output_scale=1.0 / settings.z)
    s = settings.target
    task = data.Task.from_statistics(jnp.ones((1, 1)), s * jnp.ones((1, 1)), s * s)
    steps = max(1, round(settings.duration / settings.learning_rate))
    record = even_record_steps(steps, points)
    params = (jnp.asarray(a)[None, :, None], jnp.asarray(b)[None, None, :])
    result = train(model, params, task, steps=steps, learning_rate=settings.learning_rate, record_steps=record,
                   observables=GROWTH)
    norms = np.asarray(result.history.u_norm.values[0])
    measured = norms / norms[0]
    times = settings.learning_rate * record
    sigma0, s0 = (float(v) for v in theory.grokking_statistics(a, b, settings.z))
    predicted = np.asarray(theory.grokking_rescaling(times, sigma0, s0, s, settings.z)) ** 2
    return Curves([times], [measured], [f"GD, p={settings.width}"]), max_gap(predicted, measured)


def view(doc, executor):
    """The panel's Bokeh layout: sliders log10 Σ₀, S, Z, width p, duration; g(t)² and γ₊ over the ratio."""
    from bokeh.layouts import column, row
    from bokeh.models import ColumnDataSource, Slider

    from layerwise.explore import ui

    defaults = GrokkingSettings()
    sigma0 = Slider(title="log₁₀ Σ₀ (initial weight scale)", start=-2.0, end=2.0, step=0.05,
                    value=defaults.log_sigma0, name="grokking_log_sigma0")
    target = Slider(title="target S", start=0.1, end=3.0, step=0.05, value=defaults.target, name="grokking_target")
    z = Slider(title="Z (f = (1/Z) Σ aᵢbᵢ x)", start=0.5, end=20.0, step=0.5, value=defaults.z, name="grokking_z")
    width = Slider(title="width p (simulation only)", start=2, end=128, step=2, value=defaults.width,
                   name="grokking_width")
    duration = Slider(title="duration t", start=1.0, end=100.0, step=1.0, value=defaults.duration,
                      name="grokking_duration")
    growth, sources = ui.line_plot("grokking", "feature growth g(t)² = |a+b|²/|a₀+b₀|²", "time t", "g²",
                                   width=500, y_log=True)
    over, over_sources = ui.line_plot("grokking_gamma", "γ₊ over the weight-to-target ratio", "Σ₀ / S", "γ₊",
                                      x_log=True, y_log=True, simulation=False, width=460)
    marker = ColumnDataSource({"x": [], "y": []}, name="grokking_marker")
    over.scatter("x", "y", source=marker, size=12, color="red", legend_label="sliders")

    def read() -> GrokkingSettings:
        return GrokkingSettings(float(sigma0.value), float(target.value), float(z.value), int(width.value),
                                float(duration.value))

    def redraw(settings: GrokkingSettings) -> Callable[[], str]:
        curves, ratio_curves, numbers = theory_curves(settings)

        def draw() -> str:
            ui.set_lines(sources["theory"], curves, ["#1f77b4", "black", "#2ca02c", "#d62728"])
            ui.set_lines(over_sources["theory"], ratio_curves, ["black", "#2ca02c", "#d62728"])
            marker.data = {"x": [numbers["ratio"]], "y": [numbers["gamma"]]}
            regime = "rich (features grow)" if numbers["gamma"] > 2 else "lazy (features barely move: grokking-like)"
            return f"{curves.note}. Σ₀/S = {numbers['ratio']:.3g}, γ₊ = {numbers['gamma']:.4g}: {regime}."

        return draw

    controller = ui.PanelController(doc, "grokking", read, redraw, simulate,
                                    lambda curves: ui.set_lines(sources["simulation"], curves, ["#1f77b4"]),
                                    executor, stale=(sources["simulation"],))
    for slider in (sigma0, target, z, duration):
        slider.on_change("value", controller.changed)
    width.on_change("value", controller.changed)  # the theory does not depend on p
    doc.add_next_tick_callback(controller.update_in_background)  # page first, curves when computed
    controls = column(sigma0, target, z, width, duration, controller.button, width=260)
    return column(row(controls, growth, over), controller.note, controller.message, controller.status)
