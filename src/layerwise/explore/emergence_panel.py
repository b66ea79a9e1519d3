r"""Explorer panel 4, emergence and scaling laws in the skill-basis model of Nam et al. (2024).

Skills with Zipf frequencies ``p_k ∝ k^{-(alpha+1)}`` (`layerwise.theory.skill_frequencies`), target strength ``S``,
balanced init ``R_0``. Plotted: each skill's ``R_k(t)/S`` (`layerwise.theory.skill_strength`, learning rate 1 in
gradient-flow time ``t = lr * step``), the loss over time, data and parameters (`layerwise.theory.loss_vs_time`,
`loss_vs_data`, `loss_vs_parameters`) and the scaling exponents of `layerwise.theory.scaling_exponents`.
"Simulate" trains the two-layer diagonal network in the skill basis (`layerwise.data.diagonal_task` with input
variances ``p``) by GD.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np

from layerwise import data, init, theory
from layerwise.engine import log_record_steps, train
from layerwise.errors import LayerwiseError
from layerwise.explore.common import Curves, max_gap
from layerwise.models import DiagonalLinearNetwork

WEIGHTS = {"weights": (lambda model, params, task: model.end_to_end(params)[0], ("skill",))}
MAX_SKILLS = 64


@dataclasses.dataclass(frozen=True)
class EmergenceSettings:
    """One position of the panel's controls."""

    alpha: float = 1.0
    n_skills: int = 8
    target: float = 1.0
    log_init: float = -6.0
    log_duration: float = 3.5
    learning_rate: float = 0.02

    def __post_init__(self):
        if not 1 <= int(self.n_skills) <= MAX_SKILLS:
            raise LayerwiseError(f"number of skills must be an integer from 1 to {MAX_SKILLS}, got {self.n_skills}")
        if self.alpha <= 0 or self.target <= 0 or self.learning_rate <= 0:
            raise LayerwiseError("alpha, S and learning rate must all be > 0")
        if 10.0 ** self.log_init >= self.target:
            raise LayerwiseError(f"the initial strength R0 = {10.0 ** self.log_init:g} must be below S = {self.target:g}")

    @property
    def frequencies(self) -> np.ndarray:
        return np.asarray(theory.skill_frequencies(int(self.n_skills), self.alpha))


def theory_curves(settings: EmergenceSettings, points: int = 241) -> tuple[Curves, Curves, dict[str, float]]:
    """``(skill curves R_k/S over log time, losses over time/data/parameters, scaling exponents)``."""
    p, s, r0 = settings.frequencies, settings.target, 10.0 ** settings.log_init
    times = np.geomspace(1e-2, 10.0 ** settings.log_duration, points)
    strengths = np.asarray(theory.skill_strength(times, p, s, r0)) / s
    skills = Curves([times] * p.size, list(strengths.T), [f"skill {k + 1}, p={v:.3g}" for k, v in enumerate(p)],
                    "closed forms: theory.skill_strength, loss_vs_time / loss_vs_data / loss_vs_parameters")
    counts = np.arange(1, p.size + 1)
    data_sizes = np.unique(np.round(np.geomspace(1, 1e5, points)))
    losses = Curves([times, data_sizes, counts.astype(float)],
                    [np.asarray(theory.loss_vs_time(times, p, s, r0)), np.asarray(theory.loss_vs_data(data_sizes, p, s)),
                     np.asarray(theory.loss_vs_parameters(counts, p, s))],
                    ["loss vs time T", "loss vs data D", "loss vs parameters N"])
    return skills, losses, theory.scaling_exponents(settings.alpha)


def simulate(settings: EmergenceSettings, points: int = 121) -> tuple[Curves, float]:
    """GD on the skill-basis diagonal network; the measured ``R_k/S`` and ``max |theory - simulation|`` of them."""
    p, s, r0 = settings.frequencies, settings.target, 10.0 ** settings.log_init
    model = DiagonalLinearNetwork(dim=p.size, depth=2)
    task = data.diagonal_task(np.full(p.size, s), p)
    steps = max(2, round(10.0 ** settings.log_duration / settings.learning_rate))
    record = log_record_steps(steps, points)
    result = train(model, init.balanced_diagonal_init(model, r0)[None], task, steps=steps,
                   learning_rate=settings.learning_rate, record_steps=record, observables=WEIGHTS)
    times = settings.learning_rate * record
    measured = np.asarray(result.history.weights.values[0]) / s
    predicted = np.asarray(theory.skill_strength(times, p, s, r0)) / s
    keep = times > 0  # the panel's time axis is logarithmic
    return (Curves([times[keep]] * p.size, list(measured[keep].T), [f"GD, skill {k + 1}" for k in range(p.size)]),
            max_gap(predicted, measured))


def view(doc, executor):
    """The panel's Bokeh layout: sliders α, number of skills, S, log10 R0, log10 duration; skills and losses."""
    from bokeh.layouts import column, row
    from bokeh.models import Slider

    from layerwise.explore import ui

    defaults = EmergenceSettings()
    alpha = Slider(title="α (pₖ ∝ k^−(α+1))", start=0.1, end=3.0, step=0.05, value=defaults.alpha,
                   name="emergence_alpha")
    skills = Slider(title="number of skills", start=1, end=MAX_SKILLS, step=1, value=defaults.n_skills,
                    name="emergence_skills")
    target = Slider(title="target S", start=0.2, end=3.0, step=0.05, value=defaults.target, name="emergence_target")
    r0 = Slider(title="log₁₀ R₀ (initial strength)", start=-10.0, end=-1.0, step=0.25, value=defaults.log_init,
                name="emergence_log_init")
    duration = Slider(title="log₁₀ duration", start=1.0, end=5.0, step=0.1, value=defaults.log_duration,
                      name="emergence_log_duration")
    curves_plot, sources = ui.line_plot("emergence", "skills Rₖ(t)/S: theory solid, GD dashed", "time t (log)",
                                        "R / S", x_log=True, width=500)
    losses_plot, loss_sources = ui.line_plot("emergence_loss", "loss vs time T, data D, parameters N", "T, D or N",
                                             "loss", x_log=True, y_log=True, simulation=False, width=460)

    def read() -> EmergenceSettings:
        return EmergenceSettings(float(alpha.value), int(skills.value), float(target.value), float(r0.value),
                                 float(duration.value))

    def redraw(settings: EmergenceSettings) -> Callable[[], str]:
        skill_curves, losses, exponents = theory_curves(settings)

        def draw() -> str:
            ui.set_lines(sources["theory"], skill_curves)
            ui.set_lines(loss_sources["theory"], losses, ["#1f77b4", "#d62728", "#2ca02c"])
            powers = ", ".join(f"{name} {value:.3g}" for name, value in exponents.items())
            return f"{skill_curves.note}. Scaling-law exponents (theory.scaling_exponents): {powers}."

        return draw

    controller = ui.PanelController(doc, "emergence", read, redraw, simulate,
                                    lambda curves: ui.set_lines(sources["simulation"], curves), executor,
                                    stale=(sources["simulation"],))
    for slider in (alpha, target, r0, duration):
        slider.on_change("value", controller.changed)
    skills.on_change("value", controller.changed_shape)
    doc.add_next_tick_callback(controller.update_in_background)  # page first, curves when computed
    controls = column(alpha, skills, target, r0, duration, controller.button, width=260)
    return column(row(controls, curves_plot, losses_plot), controller.note, controller.message, controller.status)
