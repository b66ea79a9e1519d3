r"""Explorer panel 2, a two-layer linear network from a λ-balanced init: lazy vs rich (Dominé et al. 2025).

Widths ``(d_in, h, d_out)``, whitened input, ``Sigma_yx = diag(s)`` (padded), init ``W_2^T W_2 - W_1 W_1^T = λ I_h``
with every end-to-end singular value ``sigma_0 = r s_1`` (``r`` the weight-to-target ratio) in random directions
(`layerwise.init.lambda_balanced_init`, a fixed key). Plotted, all from `layerwise.theory`:

* the modes ``(W_2 W_1)_aa / s_a`` of `layerwise.theory.lambda_balanced_solution`;
* the kernel distance ``S(K_0, K_t)`` (`layerwise.theory.kernel_distance` of `layerwise.theory.ntk_two_layer` on the
  whitened input ``X = I``): near 0 lazy (the NTK barely moves), near 1 rich;
* a phase diagram of the final ``S(K_0, K_T)`` over λ and ``log10 r``, with the sliders' position marked.

λ must be realisable by the widths (`layerwise.init.lambda_balanced_feasible`); otherwise the page says why.
"""

from __future__ import annotations

import dataclasses
from typing import Callable
import functools

import jax
import jax.numpy as jnp
import numpy as np

from layerwise import data, init, theory
from layerwise.engine import even_record_steps, train
from layerwise.errors import LayerwiseError
from layerwise.explore.common import Curves, max_gap
from layerwise.models import DeepLinearNetwork

PHASE_LAMBDAS = np.linspace(-3.0, 3.0, 13)
PHASE_LOG_RATIOS = np.linspace(-3.0, 1.0, 9)


@dataclasses.dataclass(frozen=True)
class LambdaSettings:
    """One position of the panel's controls."""

    imbalance: float = 0.0
    log_ratio: float = -2.0
    targets: tuple[float, ...] = (3.0, 1.0)
    widths: tuple[int, int, int] = (3, 3, 3)
    duration: float = 6.0
    learning_rate: float = 1e-2

    def __post_init__(self):
        if len(self.widths) != 3 or min(self.widths) < 1 or any(int(w) != w for w in self.widths):
            raise LayerwiseError(f"widths must be three positive integers (d_in, h, d_out), got {self.widths}")
        d, h, m = self.widths
        if len(self.targets) > min(d, m):
            raise LayerwiseError(f"at most min(d_in, d_out) = {min(d, m)} target singular values fit widths "
                                 f"{tuple(self.widths)}, got {len(self.targets)}")
        if min(self.targets) <= 0:
            raise LayerwiseError("target singular values must all be > 0")
        if not bool(init.lambda_balanced_feasible(self.imbalance, self.widths)):
            need = "h <= d_out" if self.imbalance > 0 else "h <= d_in"
            raise LayerwiseError(f"λ = {self.imbalance:g} cannot be realised by widths {tuple(self.widths)}: "
                                 f"λ {'> 0' if self.imbalance > 0 else '< 0'} needs {need}")
        if self.duration <= 0 or self.learning_rate <= 0:
            raise LayerwiseError("duration and learning rate must be > 0")

    @property
    def cross_covariance(self) -> np.ndarray:
        d, _, m = self.widths
        sigma = np.zeros((m, d))
        sigma[np.arange(len(self.targets)), np.arange(len(self.targets))] = self.targets
        return sigma


def initial_weights(settings: LambdaSettings, imbalance=None, log_ratio=None):
    """``(W_1, W_2)`` of the λ-balanced init, in random directions (not aligned with the task; fixed key 0)."""
    model = DeepLinearNetwork(tuple(settings.widths))
    lam = settings.imbalance if imbalance is None else imbalance
    ratio = 10.0 ** (settings.log_ratio if log_ratio is None else log_ratio)
    return init.lambda_balanced_init(jax.random.PRNGKey(0), model, ratio * max(settings.targets), imbalance=lam)


def _modes(W1, W2, count: int) -> np.ndarray:
    """Diagonal of ``W_2 W_1`` (..., count): the task-aligned mode strengths."""
    product = np.asarray(W2 @ W1)
    return np.diagonal(product, axis1=-2, axis2=-1)[..., :count]


def solution(settings: LambdaSettings, times: np.ndarray):
    """``W_1(t), W_2(t)`` of `layerwise.theory.lambda_balanced_solution` (symmetric gauge: no ODE solve)."""
    W1, W2 = initial_weights(settings)
    return theory.lambda_balanced_solution(np.asarray(times, dtype=float), W1, W2, settings.cross_covariance,
                                           hidden_basis="symmetric")


def kernel_distances(W1t, W2t, in_dim: int) -> np.ndarray:
    """``S(K_0, K_t)`` along a trajectory, on the whitened input ``X = I``."""
    kernels = theory.ntk_two_layer(W1t, W2t, jnp.eye(in_dim))
    return np.asarray(theory.kernel_distance(kernels[0], kernels))


def theory_curves(settings: LambdaSettings, points: int = 201) -> tuple[Curves, Curves]:
    """``(modes / s, kernel distance)`` over time."""
    times = np.linspace(0.0, settings.duration, points)
    W1t, W2t = solution(settings, times)
    s = np.asarray(settings.targets)
    modes = _modes(W1t, W2t, len(s)) / s
    note = (f"closed form: theory.lambda_balanced_solution (λ = {settings.imbalance:g}, σ0/s1 = "
            f"{10 ** settings.log_ratio:.3g}); kernel distance by theory.kernel_distance of theory.ntk_two_layer")
    distance = kernel_distances(W1t, W2t, settings.widths[0])
    return (Curves([times] * len(s), list(modes.T), [f"mode s={v:g}" for v in s], note),
            Curves([times], [distance], ["S(K0, Kt)"]))


@functools.lru_cache(maxsize=8)
def phase_diagram(targets: tuple[float, ...], widths: tuple[int, int, int], duration: float) -> np.ndarray:
    """Final kernel distance ``S(K_0, K_T)`` on the grid `PHASE_LOG_RATIOS` x `PHASE_LAMBDAS` (NaN where λ is not
    realisable by the widths), (ratios, lambdas); one vmapped evaluation of the closed form over the grid."""
    base = LambdaSettings(0.0, -2.0, targets, widths, duration)
    feasible = np.asarray(init.lambda_balanced_feasible(PHASE_LAMBDAS, widths))
    lam, log_ratio = np.meshgrid(PHASE_LAMBDAS[feasible], PHASE_LOG_RATIOS)
    sigma = jnp.asarray(base.cross_covariance)

    def final_distance(lam, log_ratio):
        W1, W2 = initial_weights(base, lam, log_ratio)
        W1t, W2t = theory.lambda_balanced_solution(jnp.array([0.0, duration]), W1, W2, sigma,
                                                   hidden_basis="symmetric")
        kernels = theory.ntk_two_layer(W1t, W2t, jnp.eye(widths[0]))
        return theory.kernel_distance(kernels[0], kernels[1])

    grid = np.full((PHASE_LOG_RATIOS.size, PHASE_LAMBDAS.size), np.nan)
    grid[:, feasible] = np.asarray(jax.vmap(final_distance)(lam.ravel(), log_ratio.ravel())).reshape(lam.shape)
    return grid


def simulate(settings: LambdaSettings, points: int = 101) -> tuple[Curves, float]:
    """GD on the same network from the same init; curves of the modes ``/ s`` and ``max |theory - simulation|``."""
    d, _, m = settings.widths
    sigma = jnp.asarray(settings.cross_covariance)
    task = data.Task.from_statistics(jnp.eye(d), sigma, jnp.sum(sigma * sigma))
    W1, W2 = initial_weights(settings)
    steps = max(1, round(settings.duration / settings.learning_rate))
    record = even_record_steps(steps, points)
    observed = {"product": (lambda model, params, task: model.end_to_end(params), ("out", "in"))}
    result = train(DeepLinearNetwork(tuple(settings.widths)), (W1[None], W2[None]), task, steps=steps,
                   learning_rate=settings.learning_rate, record_steps=record, observables=observed)
    times = settings.learning_rate * record
    s = np.asarray(settings.targets)
    product = np.asarray(result.history["product"].values[0])
    measured = np.diagonal(product, axis1=-2, axis2=-1)[:, : len(s)] / s
    W1t, W2t = solution(settings, times)
    gap = max_gap(_modes(W1t, W2t, len(s)) / s, measured)
    return Curves([times] * len(s), list(measured.T), [f"GD, s={v:g}" for v in s]), gap


def view(doc, executor):
    """The panel's Bokeh layout: sliders λ, log10 ratio, duration; text boxes for targets and widths; modes, kernel
    distance and the phase diagram (image, with the sliders' position marked)."""
    from bokeh.layouts import column, row
    from bokeh.models import ColorBar, ColumnDataSource, LinearColorMapper, Slider, TextInput
    from bokeh.plotting import figure

    from layerwise.explore import ui
    from layerwise.explore.common import parse_floats

    defaults = LambdaSettings()
    lam = Slider(title="λ (W₂ᵀW₂ − W₁W₁ᵀ = λI)", start=-3.0, end=3.0, step=0.1, value=defaults.imbalance,
                 name="lambda_imbalance")
    ratio = Slider(title="log₁₀ weight-to-target ratio σ₀/s₁", start=-3.0, end=1.0, step=0.1,
                   value=defaults.log_ratio, name="lambda_log_ratio")
    duration = Slider(title="duration t", start=0.5, end=20.0, step=0.5, value=defaults.duration,
                      name="lambda_duration")
    targets = TextInput(title="target singular values", value="3, 1", name="lambda_targets")
    widths = TextInput(title="widths (d_in, h, d_out)", value="3, 3, 3", name="lambda_widths")
    modes, sources = ui.line_plot("lambda", "modes (W₂W₁)ₐₐ/sₐ: closed form solid, GD dashed", "time t",
                                  "mode / s", width=460, height=330)
    kernel, kernel_sources = ui.line_plot("lambda_kernel", "kernel distance S(K₀, K_t)", "time t", "S",
                                          simulation=False, width=400, height=330)
    phase = figure(title="final S(K₀, K_T): λ × log₁₀ ratio", width=400, height=330, x_axis_label="λ",
                   y_axis_label="log₁₀ σ₀/s₁", x_range=(-3.25, 3.25), y_range=(-3.25, 1.25), tools="",
                   name="lambda_phase_figure")
    mapper = LinearColorMapper(palette="Viridis256", low=0.0, high=1.0, nan_color="#dddddd")
    image = ColumnDataSource({"image": [], "x": [], "y": [], "dw": [], "dh": []}, name="lambda_phase")
    phase.image("image", x="x", y="y", dw="dw", dh="dh", source=image, color_mapper=mapper)
    phase.add_layout(ColorBar(color_mapper=mapper, width=10), "right")
    marker = ColumnDataSource({"x": [defaults.imbalance], "y": [defaults.log_ratio]}, name="lambda_marker")
    phase.scatter("x", "y", source=marker, size=14, marker="x", line_width=3, color="red")

    def read() -> LambdaSettings:
        sizes = parse_floats("widths", widths.value, minimum_count=3)
        return LambdaSettings(float(lam.value), float(ratio.value), tuple(parse_floats("targets", targets.value)),
                              tuple(int(w) for w in sizes) if sizes.size == 3 else tuple(sizes), float(duration.value))

    def redraw(settings: LambdaSettings) -> Callable[[], str]:
        curves, distance = theory_curves(settings)
        grid = phase_diagram(settings.targets, tuple(settings.widths), settings.duration)

        def draw() -> str:
            ui.set_lines(sources["theory"], curves)
            ui.set_lines(kernel_sources["theory"], distance, ["black"])
            step_l, step_r = PHASE_LAMBDAS[1] - PHASE_LAMBDAS[0], PHASE_LOG_RATIOS[1] - PHASE_LOG_RATIOS[0]
            image.data = {"image": [grid], "x": [PHASE_LAMBDAS[0] - step_l / 2],
                          "y": [PHASE_LOG_RATIOS[0] - step_r / 2], "dw": [PHASE_LAMBDAS.size * step_l],
                          "dh": [PHASE_LOG_RATIOS.size * step_r]}
            marker.data = {"x": [settings.imbalance], "y": [settings.log_ratio]}
            return f"{curves.note}. Final kernel distance S(K₀, K_T) = {distance.ys[0][-1]:.3g} (0: lazy, 1: rich)."

        return draw

    controller = ui.PanelController(doc, "lambda", read, redraw, simulate,
                                    lambda curves: ui.set_lines(sources["simulation"], curves), executor,
                                    stale=(sources["simulation"],))
    for slider in (lam, ratio):
        slider.on_change("value", controller.changed)
    duration.on_change("value", controller.changed_shape)  # a new phase diagram
    for box in (targets, widths):
        box.on_change("value", controller.changed_shape)
    doc.add_next_tick_callback(controller.update_in_background)  # page first, curves when computed
    controls = column(lam, ratio, duration, targets, widths, controller.button, width=260)
    return column(row(controls, modes, kernel, phase), controller.note, controller.message, controller.status)
