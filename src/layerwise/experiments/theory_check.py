r"""Experiment ``theory-check``: every closed form of `layerwise.theory` against the engine's exact gradient flow.

Are the closed forms exact on random instances, at every time, and not only on the worked examples they were derived
for? For each closed form with a gradient-flow counterpart, ``instances`` random instances are drawn per seed
(targets, initial scales, imbalances, λ, depths, weight decays, design matrices, and the dimensions of each family),
simulated with `layerwise.engine.gradient_flow` (diffrax Dopri8 at ``rtol``/``atol``, float64) and compared with
`layerwise.compare` on the flow's own save times. The value of each check is the largest relative error over the
instances (of each instance's largest relative error over the trajectory):

========================  ==============================================================  ==========================
solution                  network simulated                                               compared
========================  ==============================================================  ==========================
saxe_mode_depth2          two-layer linear net, balanced init aligned with ``Sigma_yx``   every mode ``u_a(t)``
saxe_mode_deep            balanced diagonal net of depth ``L >= 3``                       every coordinate
imbalanced_mode           two-layer diagonal net, any ``a0, b0 > 0`` and input variances  every coordinate
lambda_balanced_solution  unaligned λ-balanced two-layer net, whitened input               ``W1(t)``, ``W2(t)``
kernel_distance           the same runs: NTK from the closed-form vs the flow's weights   ``K(t)``; ``S(0, t)``
kunin_single_neuron       single neuron ``f = a w^T x``, any ``delta`` (*)                the state ``(w, a)``
grokking_rescaling        the wide scalar toy ``f = (1/Z) sum a_i b_i x``                 ``a + b``, ``a - b``
grokking_gamma            the same runs at the end                                        ``g(T)^2``
ufm_mse_minimizer         MSE-UFM with weight decay (two-layer net, one-hot inputs)       limit ``WW^T, HW^T, HH^T``
woodworth_solution        ``w = u * v`` from ``u = 2 alpha``, ``v = 0`` (``n < d``)       limit ``w``
========================  ==============================================================  ==========================

The closed forms: Saxe, McClelland & Ganguli (2014) (balanced modes, any depth); Kunin et al. (2024) (imbalanced
modes and the single neuron); Fukumizu (1998), Braun et al. (2022) and Dominé et al. (2025) (λ-balanced Riccati
solution, its NTK); Nam et al. (2025, §7) (grokking toy); Tirer & Bruna (2022) and Zhou et al. (2022) (MSE-UFM
minimiser); Woodworth et al. (2020) (the interpolator of ``w = u * v``).

Vector and matrix states are compared in relative Frobenius norm at each time; scalar modes elementwise. The three
limits are compared at the final time, chosen from each instance's convergence rate so that the remaining distance
(``~e^{-rate T}``) is about 1e-14. Compilation dominates the run time, so the instances of one solution share one
shape (drawn once per seed) and run as one vmapped flow, and solutions share compiled flows: the depth-2 Saxe,
λ-balanced, UFM and single-neuron runs use one two-layer shape ``(d, h, m) = (n C, C, C)`` (``n`` samples per class,
``C`` classes; (*) the single neuron is that net with one active hidden unit and output, the others starting at 0,
where their gradients vanish identically, so the flow is exactly the single neuron's), and the imbalanced and
Woodworth runs one diagonal net. Each seed draws its own shapes, so seeds run one after another (padded with NaN to
common sizes in the Dataset); the per-instance errors are computed in `simulate` from the full compared states
(``flow_max_relative_error``) and the checks take their largest value over seeds and instances. The figure shows,
per solution, the instance with the largest error.
"""

from __future__ import annotations

from typing import Annotated, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr
from pydantic import Field

from layerwise import data, init, theory
from layerwise.compare import compare, max_relative_errors
from layerwise.engine import gradient_flow
from layerwise.errors import LayerwiseError
from layerwise.experiments import fields as F
from layerwise.experiments.base import Experiment, Progress, dataset_config
from layerwise.metrics import exponential_times
from layerwise.models import DeepLinearNetwork, DiagonalLinearNetwork
from layerwise.report.checks import Check
from layerwise.report.plotting import error_bars, figure_grid, trajectories
from layerwise.report.style import MODEL_STYLE, mode_colors
from layerwise.seeds import seed_values

SOLUTIONS = ("saxe_mode_depth2", "saxe_mode_deep", "imbalanced_mode", "lambda_balanced_solution", "kernel_distance",
             "kunin_single_neuron", "grokking_rescaling", "grokking_gamma", "ufm_mse_minimizer", "woodworth_solution")
LIMITS = ("grokking_gamma", "ufm_mse_minimizer", "woodworth_solution")
_PLOTTED_COMPONENTS = 6  # lines per trajectory panel at most


@F.config_dataclass
class TheoryCheckConfig:
    """Settings of the ``theory-check`` experiment (defaults: the full run)."""

    seed: F.Seed = 0
    """First seed: seed s draws every instance of its run (dimensions, targets, inits, λ, depths, weight decays,
    designs) from NumPy streams ``default_rng([s, family])``."""
    seeds: F.Count = 1
    """Number of seeds (independent draws of every instance, shapes included; simulated one after another)."""
    instances: F.Count = 16
    """Random instances per closed form and seed (simulated as one vmapped flow)."""
    times: F.at_least(3) = 161
    """Save times per trajectory (the flow is saved, and the closed form evaluated, on the same grid)."""
    tolerance: F.PositiveFloat = 1e-8
    """Largest relative error a closed form may have against the flow (every check)."""
    rtol: F.PositiveFloat = 1e-12
    """Relative tolerance of the Dopri8 step-size controller (at most tolerance / 100: the flow is the reference)."""
    atol: F.PositiveFloat = 1e-18
    """Absolute tolerance of the Dopri8 step-size controller (tiny: weights start as small as 1e-4, and a relative
    error of the flow is what is compared)."""
    max_dim: F.at_least(3) = 5
    """Largest dimension of the diagonal nets (the deep and the two-layer diagonal family each draw theirs in
    [3, max_dim])."""
    max_classes: F.at_least(2) = 4
    """Largest number of classes C of the shared two-layer shape (n C, C, C) (C in [2, max_classes], n in [2, 3])."""
    deep_depths: Annotated[tuple[F.at_least(3), ...], Field(min_length=1)] = (3, 4, 5)
    """Depths L >= 3 of the deep Saxe instances (each depth compiles its own flow)."""
    max_lambda: F.PositiveFloat = 2.0
    """λ of the λ-balanced instances is drawn uniformly in [-max_lambda, max_lambda]."""
    alpha_range: tuple[F.PositiveFloat, F.PositiveFloat] = (0.05, 1.0)
    """Initial scales alpha of the Woodworth instances: log-uniform in [low, high]."""
    grokking_width: F.at_least(2) = 6
    """Hidden units p of the grokking toy."""

    def __post_init__(self):
        if self.alpha_range[0] > self.alpha_range[1]:
            raise LayerwiseError(f"alpha_range must be two numbers 0 < low <= high, got {self.alpha_range!r}")
        if self.rtol > 1e-2 * self.tolerance:
            raise LayerwiseError("rtol must be at most tolerance / 100 (the flow is the reference)")


class Solution(NamedTuple):
    """One closed form against the flow (one seed): per-instance errors and the trajectories shown."""

    name: str
    description: str  # what was simulated and compared (the first part of the check's claim)
    errors: np.ndarray  # (instances,) max relative error of each instance
    times: np.ndarray  # (T,)
    theory: np.ndarray  # (instances, T, K) closed form (limits: the limit, constant in time)
    flow: np.ndarray  # (instances, T, K) gradient flow
    label: str  # y-axis label of the figure panel
    parameter: np.ndarray  # (instances,) the instance parameter named in `parameter_name`
    parameter_name: str


def _first_layer(model, params, task):
    return params[0]


def _second_layer(model, params, task):
    return params[1]


def _end_to_end(model, params, task):
    return model.end_to_end(params)[0]


def _rng(seed: int, family: int) -> np.random.Generator:
    """An independent stream per (seed, family): changing one family's draws never changes another's."""
    return np.random.default_rng([seed, family])


def _keys(rng: np.random.Generator, count: int) -> jax.Array:
    """``count`` PRNG keys drawn from the family's stream (for the `layerwise.init` constructions)."""
    return jax.random.split(jax.random.PRNGKey(int(rng.integers(2**31))), count)


def _flow(config, model, params, tasks, times, observables, weight_decay=0.0):
    return gradient_flow(model, params, tasks, times, observables=observables, weight_decay=weight_decay,
                         rtol=config.rtol, atol=config.atol, task_batched=True).history


def _flat(values) -> np.ndarray:
    """(instances, T, ...) -> (instances, T, K)."""
    values = np.asarray(values)
    return values.reshape(values.shape[0], values.shape[1], -1)


# ------------------------------------------------------------------------- family 1: the shared two-layer shape
class TwoLayerShape(NamedTuple):
    """``(d, h, m) = (n C, C, C)``: a UFM with ``n`` samples per class and ``C`` classes (``h = m = C <= d``, so any
    sign of λ is λ-balanceable)."""

    d: int
    h: int
    m: int
    per_class: int

    @property
    def model(self) -> DeepLinearNetwork:
        return DeepLinearNetwork((self.d, self.h, self.m))


_LAYERS = {"W1": _first_layer, "W2": _second_layer}


def _whitened_tasks(targets) -> data.Task:
    return data.stack_tasks([data.Task.from_statistics(jnp.eye(t.shape[1]), jnp.asarray(t), float(np.sum(t**2)))
                             for t in targets])


def _saxe_depth2(config: TheoryCheckConfig, rng, shape: TwoLayerShape) -> Solution:
    """Balanced init aligned with ``Sigma_yx = U diag(s) V^T`` (`layerwise.init.balanced_aligned_init`:
    ``W1 = R diag(sqrt u0) V^T``, ``W2 = U diag(sqrt u0) R^T``); mode ``a`` is ``u_a = u_a^T W2 W1 v_a``."""
    d, h, m, R = shape.d, shape.h, shape.m, config.instances
    s = np.sort(rng.uniform(0.5, 3.0, size=(R, h)), axis=1)[:, ::-1]
    ratio = 10.0 ** rng.uniform(-4.0, np.log10(0.5), size=(R, h))
    ratio[:, -1] = rng.uniform(1.2, 3.0, size=R)  # one mode starts above its target and decays onto it
    u0 = ratio * s
    lefts = np.stack([data.haar_orthogonal(rng, m)[:, :h] for _ in range(R)])
    rights = np.stack([data.haar_orthogonal(rng, d)[:, :h] for _ in range(R)])
    params = jax.vmap(lambda key, strengths, left, right: init.balanced_aligned_init(
        key, shape.model, strengths, left, right))(_keys(rng, R), jnp.asarray(u0), jnp.asarray(lefts),
                                                    jnp.asarray(rights))
    targets = (lefts * s[:, None, :]) @ np.swapaxes(rights, 1, 2)
    horizon = 1.2 * float(np.max(theory.learning_time(s, u0, np.where(u0 < s, 0.999, 1.001))))
    times = exponential_times(horizon, config.times)
    history = _flow(config, shape.model, params, _whitened_tasks(targets), times, _LAYERS)
    product = np.einsum("rtmh,rthd->rtmd", history["W2"].values, history["W1"].values)
    modes = np.einsum("rma,rtmd,rda->rta", lefts, product, rights)
    predicted = np.asarray(theory.saxe_mode(times[None, :, None], s[:, None, :], u0[:, None, :]))
    return Solution(
        "saxe_mode_depth2",
        f"every mode u_a = u_a^T W2 W1 v_a of a balanced two-layer net {shape.model.widths} aligned with Sigma_yx "
        "(whitened input, u0/s from 1e-4 to 3) follows saxe_mode(depth=2) (max relative error over modes and times)",
        max_relative_errors(predicted, modes, times),
        times, predicted / s[:, None, :], modes / s[:, None, :], "$u_a / s_a$", np.min(u0 / s, axis=1),
        "smallest u0/s")


def _lambda_balanced_runs(config: TheoryCheckConfig, rng, shape: TwoLayerShape) -> list[Solution]:
    """Unaligned λ-balanced inits (Haar singular vectors independent of ``Sigma_yx = U' diag(s) V'^T``): the weights,
    and the NTK distance ``S(0, t)`` on probe inputs from the closed-form weights and from the flow's weights."""
    d, h, m, R = shape.d, shape.h, shape.m, config.instances
    lam = rng.uniform(-config.max_lambda, config.max_lambda, size=R)
    scale = 10.0 ** rng.uniform(np.log10(0.03), 0.0, size=R)
    sigma0 = scale[:, None] * rng.uniform(0.5, 1.5, size=(R, h))
    s = rng.uniform(0.5, 3.0, size=(R, m))
    targets = np.stack([(data.haar_orthogonal(rng, m) * s_i) @ data.haar_orthogonal(rng, d)[:, :m].T for s_i in s])
    # Haar singular vectors independent of the task's: the init is not aligned (`init.lambda_balanced_init`).
    params = jax.vmap(lambda key, imbalance, singular_values: init.lambda_balanced_init(
        key, shape.model, imbalance, singular_values))(_keys(rng, R), jnp.asarray(lam), jnp.asarray(sigma0))
    inits = list(zip(*params))  # per instance (W1, W2)
    horizon = 1.5 * float(np.max(np.log(1e4 * s.max(axis=1) / sigma0.min(axis=1)) / s.min(axis=1)))
    times = exponential_times(horizon, config.times)
    history = _flow(config, shape.model, params, _whitened_tasks(targets), times, _LAYERS)
    predicted = [theory.lambda_balanced_solution(times, w1, w2, t) for (w1, w2), t in zip(inits, targets)]
    w1_theory = np.stack([np.asarray(w1) for w1, _ in predicted])
    w2_theory = np.stack([np.asarray(w2) for _, w2 in predicted])
    w1_flow, w2_flow = history["W1"].values, history["W2"].values
    errors = np.maximum(max_relative_errors(w1_theory, w1_flow, times, norm=True),
                        max_relative_errors(w2_theory, w2_flow, times, norm=True))
    weights = Solution(
        "lambda_balanced_solution",
        f"the weights W1(t), W2(t) (not only W2 W1) of an unaligned λ-balanced two-layer net {shape.model.widths} "
        f"(lambda in [-{config.max_lambda:g}, {config.max_lambda:g}], singular values 0.015..1.5, whitened input) "
        "follow lambda_balanced_solution (max relative Frobenius error of each layer over times)",
        errors, times, _flat(w1_theory)[:, :, :_PLOTTED_COMPONENTS], _flat(w1_flow)[:, :, :_PLOTTED_COMPONENTS],
        "entries of $W_1(t)$", lam, "lambda")

    probes = jnp.asarray(rng.normal(size=(3, d)))
    kernels = [np.asarray(theory.ntk_two_layer(jnp.asarray(w1), jnp.asarray(w2), probes))  # (R, T, 3m, 3m)
               for w1, w2 in ((w1_theory, w2_theory), (w1_flow, w2_flow))]
    distances = [np.asarray(theory.kernel_distance(k[:, :1], k))[:, 1:, None] for k in kernels]  # t > 0
    # S = 1 - cos(K(0), K(t)) cancels against 1 while the kernel has barely moved (weight errors e give errors
    # ~e sqrt(S) in S): S is compared where it reached 1% of its largest value, the kernel matrices at every time.
    errors = max_relative_errors(kernels[0], kernels[1], times, norm=True)
    for i, (theory_i, flow_i) in enumerate(zip(*distances)):
        moved = theory_i[:, 0] >= 1e-2 * np.max(theory_i)
        errors[i] = max(errors[i], compare(theory_i[moved], flow_i[moved], rtol=config.tolerance,
                                           times=times[1:][moved], name="kernel_distance").max_rel_error)
    kernel = Solution(
        "kernel_distance",
        "the NTK of the closed-form weights equals that of the flow's weights, ntk_two_layer on 3 probe inputs "
        "(relative Frobenius error at every time), and so does the kernel distance S(0, t) = kernel_distance(K(0), "
        "K(t)) (relative error where S >= 1% of its largest value; below, S = 1 - cos is dominated by rounding)",
        errors, times[1:], distances[0], distances[1], "$S(0, t)$", lam, "lambda")
    return [weights, kernel]


def _ufm(config: TheoryCheckConfig, rng, shape: TwoLayerShape) -> Solution:
    r"""MSE-UFM with weight decay ``wd`` on both layers, as the two-layer net with inputs ``x_i = sqrt(N) e_i``
    (``Sigma_xx = I``) and one-hot targets: ``H = sqrt(N) W1^T``, ``W = W2``, ``lambda_W = wd``, ``lambda_H = wd/N``.
    From a random init the flow reaches a global minimiser (benign landscape); compared up to the hidden rotation
    through ``W W^T``, ``H W^T`` and ``H H^T`` at the final time."""
    d, h, m, R = shape.d, shape.h, shape.m, config.instances
    classes, per_class, n = m, shape.per_class, shape.d
    labels = np.repeat(np.eye(classes), per_class, axis=0)  # Y (N, C), class-major
    rho = rng.uniform(0.2, 0.85, size=R)
    decay = (1.0 - rho) / np.sqrt(classes)  # rho = 1 - wd sqrt(C)
    scales = 10.0 ** rng.uniform(-1.0, np.log10(0.5), size=R)
    params = (jnp.asarray(scales[:, None, None] * rng.normal(size=(R, h, d))),  # i.i.d. N(0, scale^2) (gaussian_init)
              jnp.asarray(scales[:, None, None] * rng.normal(size=(R, m, h))))
    tasks = data.stack_tasks([data.Task.from_statistics(jnp.eye(n), jnp.asarray(labels.T / np.sqrt(n)), 1.0)] * R)
    # Slowest relaxation at the minimiser: modes 2 rho/sqrt(C), layer imbalance 2 wd, within-class input directions
    # wd + rho/sqrt(C); leaving the init takes ~ sqrt(C) ln(1/scale^2). Run until e^{-rate t} <= 1e-14.
    rate = np.minimum(np.minimum(2.0 * rho / np.sqrt(classes), 2.0 * decay), decay + rho / np.sqrt(classes))
    horizon = float(np.max(np.sqrt(classes) * np.log(1.0 / scales**2) + np.log(1e14) / rate))
    times = exponential_times(horizon, config.times)
    history = _flow(config, shape.model, params, tasks, times, _LAYERS, weight_decay=decay)
    w1_flow, w2_flow = history["W1"].values, history["W2"].values
    minima = [theory.ufm_mse_minimizer(per_class, classes, h, wd, wd / n) for wd in decay]

    def invariants(w, features):  # W W^T (C, C), H W^T (N, C), H H^T (N, N): unchanged by W -> W O, H -> H O
        return [w @ np.swapaxes(w, -1, -2), features @ np.swapaxes(w, -1, -2), features @ np.swapaxes(features, -1, -2)]

    flow_parts = invariants(w2_flow[:, -1:], np.sqrt(n) * np.swapaxes(w1_flow[:, -1:], -1, -2))
    theory_parts = [np.stack(part) for part in zip(*(invariants(np.asarray(mm.W)[None], np.asarray(mm.H)[None])
                                                     for mm in minima))]
    errors = np.max([max_relative_errors(t, f, times[-1:], norm=True)
                     for t, f in zip(theory_parts, flow_parts)], axis=0)
    gram_flow = np.linalg.eigvalsh(w2_flow @ np.swapaxes(w2_flow, -1, -2))  # (R, T, C)
    gram_theory = np.broadcast_to(np.stack([np.linalg.eigvalsh(np.asarray(mm.W @ mm.W.T)) for mm in minima])[:, None],
                                  gram_flow.shape)
    return Solution(
        "ufm_mse_minimizer",
        f"gradient flow with weight decay on the MSE-UFM (C = {classes} classes, n = {per_class} per class, feature "
        f"dim {h}, rho = 1 - wd sqrt(C) in [0.2, 0.85]) ends at the closed-form minimiser: W W^T, H W^T and H H^T at "
        "t = T (max relative Frobenius error)",
        errors, times, gram_theory, gram_flow, "eigenvalues of $W W^\\top$", decay, "weight_decay")


def _kunin(config: TheoryCheckConfig, rng, shape: TwoLayerShape) -> Solution:
    r"""The single neuron ``f = a w^T x`` (``w`` in R^d), simulated as the shared two-layer net with one active hidden
    unit and one active output: ``W1[0] = w``, ``W2[0, 0] = a``, ``Sigma_yx[0] = beta*``, everything else 0. The
    other units' gradients vanish identically, so they stay exactly 0 and the flow is the single neuron's."""
    d, h, m, R = shape.d, shape.h, shape.m, config.instances
    beta_star = rng.normal(size=(R, d))
    log_scale = rng.uniform(-3.0, 0.0, size=R)
    delta = rng.uniform(-3.0, 3.0, size=R)
    beta0 = 10.0 ** log_scale[:, None] * rng.normal(size=(R, d))
    a0 = np.sqrt(0.5 * (delta + np.sqrt(delta**2 + 4.0 * np.sum(beta0**2, axis=1))))  # a0^2 - |w0|^2 = delta
    w0 = beta0 / a0[:, None]  # a0 w0 = beta0
    w1, w2, targets = np.zeros((R, h, d)), np.zeros((R, m, h)), np.zeros((R, m, d))
    w1[:, 0], w2[:, 0, 0], targets[:, 0] = w0, a0, beta_star
    rate = np.sqrt(np.sum(beta_star**2, axis=1) + delta**2 / 4)  # the eigenvalue of F on span{beta*, e_a}
    horizon = float(np.max(2.0 * np.log(1e3 / 10.0**log_scale) / rate + 5.0))
    times = exponential_times(horizon, config.times)
    history = _flow(config, shape.model, (jnp.asarray(w1), jnp.asarray(w2)), _whitened_tasks(targets), times, _LAYERS)
    flow_state = np.concatenate([history["W1"].values[:, :, 0, :], history["W2"].values[:, :, 0, :1]], axis=-1)
    inactive = max(float(np.max(np.abs(history["W1"].values[:, :, 1:]), initial=0.0)),
                   float(np.max(np.abs(history["W2"].values[:, :, 1:]), initial=0.0)),
                   float(np.max(np.abs(history["W2"].values[:, :, 0, 1:]), initial=0.0)))
    theory_state = []
    for w0_i, a0_i, b in zip(w0, a0, beta_star):
        w, a = theory.kunin_single_neuron(times, w0_i, a0_i, b)
        theory_state.append(np.concatenate([np.asarray(w), np.asarray(a)[:, None]], axis=-1))
    theory_state = np.stack(theory_state)
    errors = max_relative_errors(theory_state, flow_state, times, norm=True)
    return Solution(
        "kunin_single_neuron",
        f"the state (w, a) of the single neuron f = a w^T x (d = {d}, delta = a^2 - |w|^2 in [-3, 3], |beta0| from "
        "1e-3 to 1; simulated as the shared two-layer net with its other units at 0, which stay exactly 0: largest "
        f"|inactive weight| {inactive:g}) follows kunin_single_neuron (max relative error of the state over times)",
        np.where(inactive == 0.0, errors, np.inf), times, theory_state[:, :, -_PLOTTED_COMPONENTS:],
        flow_state[:, :, -_PLOTTED_COMPONENTS:], "$w_i(t)$, $a(t)$", delta, "delta")


def _two_layer_family(config: TheoryCheckConfig, seed: int) -> list[Solution]:
    """Saxe depth 2, λ-balanced (+ NTK distance), the UFM limit and the single neuron: one compiled two-layer flow."""
    rng = _rng(seed, 1)
    classes = int(rng.integers(2, config.max_classes + 1))
    per_class = int(rng.integers(2, 4))
    shape = TwoLayerShape(per_class * classes, classes, classes, per_class)
    solutions = [_saxe_depth2(config, rng, shape)]
    solutions += _lambda_balanced_runs(config, rng, shape)
    solutions.append(_ufm(config, rng, shape))
    solutions.append(_kunin(config, rng, shape))
    return solutions


# ----------------------------------------------------------------------------- family 2: deep balanced diagonal
def _deep_family(config: TheoryCheckConfig, seed: int) -> Solution:
    """Balanced diagonal nets of depth L >= 3: every coordinate follows saxe_mode(depth=L)."""
    rng = _rng(seed, 2)
    dim = int(rng.integers(3, config.max_dim + 1))
    R = config.instances
    depths = rng.permutation(np.resize(np.asarray(config.deep_depths), R))
    s = rng.uniform(0.3, 3.0, size=(R, dim))
    ratio = 10.0 ** rng.uniform(-3.0, np.log10(0.5), size=(R, dim))
    ratio[:, -1] = rng.uniform(1.2, 3.0, size=R)
    u0 = ratio * s
    errors, predicted, simulated = np.zeros(R), [None] * R, [None] * R
    fraction = np.where(u0 < s, 0.999, 1.001)  # time to reach 0.1% of the target, from below or above
    horizon = 1.2 * max(float(np.max(theory.learning_time(s[depths == L], u0[depths == L], fraction[depths == L],
                                                          depth=int(L))))
                        for L in np.unique(depths))
    times = exponential_times(horizon, config.times)  # one grid for every depth (the figure and the dataset share it)
    for depth in np.unique(depths):
        depth = int(depth)
        index = np.flatnonzero(depths == depth)
        model = DiagonalLinearNetwork(dim=dim, depth=depth)
        params = jnp.asarray(np.broadcast_to((u0[index] ** (1.0 / depth))[:, None, :], (len(index), depth, dim)))
        tasks = data.stack_tasks([data.diagonal_task(s[i]) for i in index])
        history = _flow(config, model, params, tasks, times, {"W": _end_to_end})
        theory_values = np.asarray(theory.saxe_mode(times[None, :, None], s[index, None, :], u0[index, None, :],
                                                     depth=depth))
        errors[index] = max_relative_errors(theory_values, history["W"].values, times)
        for j, i in enumerate(index):
            predicted[i] = theory_values[j] / s[i]
            simulated[i] = history["W"].values[j] / s[i]
    return Solution(
        "saxe_mode_deep",
        f"every coordinate of a balanced diagonal net of depth L in {list(config.deep_depths)} (dim {dim}, "
        "u0/s from 1e-3 to 3) follows saxe_mode(depth=L) (max relative error over coordinates and times)",
        errors, times, np.stack(predicted), np.stack(simulated), "$u_i / s_i$", depths.astype(float), "depth")


# ------------------------------------------------------------------- family 3: the two-layer diagonal net
def _diagonal_family(config: TheoryCheckConfig, seed: int) -> list[Solution]:
    """Imbalanced modes and the Woodworth limit on one two-layer diagonal net (one compiled flow)."""
    rng = _rng(seed, 3)
    dim = int(rng.integers(3, config.max_dim + 1))
    R = config.instances
    model = DiagonalLinearNetwork(dim=dim, depth=2)
    observables = {"W": _end_to_end}

    s = rng.uniform(0.5, 3.0, size=(R, dim))
    variance = rng.uniform(0.5, 2.0, size=(R, dim))
    log_scale = rng.uniform(-3.0, 0.0, size=(R, 1))
    a0 = 10.0 ** rng.uniform(log_scale - 1.0, log_scale + 1.0, size=(R, dim))
    b0 = 10.0 ** rng.uniform(log_scale - 1.0, log_scale + 1.0, size=(R, dim))
    imbalance, u0 = a0**2 - b0**2, a0 * b0
    tasks = data.stack_tasks([data.diagonal_task(s_i, v_i) for s_i, v_i in zip(s, variance)])
    horizon = 1.2 * float(np.max((np.log(s / u0) + 10.0) / (2.0 * s * variance)))
    times = exponential_times(horizon, config.times)
    history = _flow(config, model, jnp.asarray(np.stack([a0, b0], axis=1)), tasks, times, observables)
    predicted = np.asarray(theory.imbalanced_mode(times[None, :, None], s[:, None], u0[:, None], imbalance[:, None],
                                                  variance[:, None]))
    solutions = [Solution(
        "imbalanced_mode",
        f"every coordinate u_i = a_i b_i of a two-layer diagonal net (dim {dim}, a0, b0 in 1e-4..10 independently, "
        "so C = a0^2 - b0^2 of either sign and size; input variances 0.5..2) follows imbalanced_mode "
        "(max relative error over coordinates and times)",
        max_relative_errors(predicted, history["W"].values, times),
        times, predicted / s[:, None], history["W"].values / s[:, None], "$u_i / s_i$",
        np.max(np.abs(imbalance), axis=1), "largest |C|")]

    # Woodworth: n < dim samples, u(0) = 2 alpha, v(0) = 0; the flow's limit is the closed-form interpolator.
    samples = int(rng.integers(1, dim))
    alpha = np.exp(rng.uniform(*np.log(config.alpha_range), size=R))
    designs = rng.normal(size=(R, samples, dim))
    labels = rng.normal(size=(R, samples))
    limits = np.stack([np.asarray(theory.woodworth_solution(x, y, a)) for x, y, a in zip(designs, labels, alpha)])
    tasks = data.stack_tasks([data.Task.from_statistics(jnp.asarray(x.T @ x / samples),
                                                        jnp.asarray((y @ x / samples)[None]),
                                                        float(y @ y / samples)) for x, y in zip(designs, labels)])
    params = jnp.asarray(np.stack([np.stack([np.full(dim, 2.0 * a), np.zeros(dim)]) for a in alpha]))
    # local rate at the limit: the smallest eigenvalue of X diag(sqrt(4 w^2 + delta^2)) X^T / n (mirror-flow metric);
    # before that, the saddle-to-saddle path takes ~ ln(1/alpha) / |y|-scale
    rates = []
    for x, w, a in zip(designs, limits, alpha):
        metric = np.sqrt(4.0 * w**2 + 16.0 * a**4)
        rates.append(np.linalg.eigvalsh((x * metric) @ x.T / samples)[0])
    horizon = float(np.max(np.log(1e14) / np.asarray(rates) + 20.0 * np.log(2.0 + 1.0 / alpha)))
    times = exponential_times(horizon, config.times)
    history = _flow(config, model, params, tasks, times, observables)
    final = history["W"].values[:, -1:]
    solutions.append(Solution(
        "woodworth_solution",
        f"gradient flow on w = u * v (dim {dim}, {samples} sample(s), u(0) = 2 alpha, v(0) = 0, alpha in "
        f"[{config.alpha_range[0]:g}, {config.alpha_range[1]:g}]) ends at woodworth_solution (relative error of w at "
        "t = T)",
        max_relative_errors(limits[:, None, :], final, times[-1:], norm=True),
        times, np.broadcast_to(limits[:, None, :], history["W"].values.shape), history["W"].values, "$w_i(t)$",
        alpha, "alpha"))
    return solutions


# ---------------------------------------------------------------------------------- family 4: grokking toy
def _grokking_family(config: TheoryCheckConfig, seed: int) -> list[Solution]:
    rng = _rng(seed, 5)
    R, p = config.instances, config.grokking_width
    z = float(rng.choice([1.0, 2.0, 4.0]))
    log_scale = rng.uniform(-2.0, 1.0, size=(R, 1))
    a = 10.0 ** log_scale * rng.normal(size=(R, p))
    b = 10.0 ** log_scale * rng.normal(size=(R, p))
    target = rng.choice([-1.0, 1.0], size=R) * rng.uniform(0.3, 3.0, size=R)
    sigma0, s0 = (np.asarray(v) for v in theory.grokking_statistics(a, b, z))
    root = np.sqrt(target**2 + sigma0**2 - s0**2)
    horizon = float(np.max(z * np.log(1e14) / (2.0 * root)))  # g^2 relaxes at 2R/Z: e^{-2RT/Z} <= 1e-14
    times = exponential_times(horizon, config.times)
    tasks = data.stack_tasks([data.Task.from_statistics(jnp.eye(1), jnp.array([[t]]), t**2) for t in target])
    history = _flow(config, DeepLinearNetwork((1, p, 1), output_scale=1.0 / z), (jnp.asarray(a[:, :, None]),
                    jnp.asarray(b[:, None, :])), tasks, times, {"W1": _first_layer, "W2": _second_layer})
    a_t, b_t = history["W1"].values[:, :, :, 0], history["W2"].values[:, :, 0, :]
    g = np.asarray(theory.grokking_rescaling(times[None, :], sigma0[:, None], s0[:, None], target[:, None], z))
    plus_theory, minus_theory = g[..., None] * (a + b)[:, None, :], (a - b)[:, None, :] / g[..., None]
    errors = np.maximum(max_relative_errors(plus_theory, a_t + b_t, times, norm=True),
                        max_relative_errors(minus_theory, a_t - b_t, times, norm=True))
    k = _PLOTTED_COMPONENTS // 2
    rescaling = Solution(
        "grokking_rescaling",
        f"in the grokking toy f = (1/Z) sum_i a_i b_i x (p = {p}, Z = {z:g}, target |S| in [0.3, 3], weights from "
        "1e-2 to 10 x the target) a + b grows by g(t) and a - b shrinks by 1/g(t) with g = grokking_rescaling (max "
        "relative error of both vectors over times)",
        errors, times, np.concatenate([plus_theory[..., :k], minus_theory[..., :k]], axis=-1),
        np.concatenate([(a_t + b_t)[..., :k], (a_t - b_t)[..., :k]], axis=-1), "$a_i+b_i$, $a_i-b_i$",
        sigma0 / np.abs(target), "Sigma0/|S|")
    gamma = np.asarray(theory.grokking_gamma(sigma0, s0, target))
    measured = np.sum((a_t + b_t) ** 2, axis=-1) / np.sum((a + b) ** 2, axis=-1)[:, None]  # g(t)^2 of the flow
    limit = Solution(
        "grokking_gamma",
        "the flow's final squared rescaling |a+b|^2(T) / |a+b|^2(0) equals grokking_gamma (relative error at t = T)",
        max_relative_errors(gamma[:, None, None], measured[:, -1:, None], times[-1:]),
        times, np.broadcast_to(gamma[:, None, None], measured[..., None].shape), measured[..., None],
        "$g(t)^2 \\to \\gamma_+$", sigma0 / np.abs(target), "Sigma0/|S|")
    return [rescaling, limit]



# ------------------------------------------------------------------------------------------ simulate, check, plot
def simulate(config: TheoryCheckConfig, progress: Progress) -> xr.Dataset:
    per_seed = []
    for seed in seed_values(config.seed, config.seeds):
        found = {}
        for family in (_two_layer_family, _deep_family, _diagonal_family, _grokking_family):
            result = family(config, int(seed))
            for solution in result if isinstance(result, list) else [result]:
                found[solution.name] = solution
                progress(solution.name)
        per_seed.append(_seed_dataset([found[name] for name in SOLUTIONS]))
    # Each seed draws its own dimensions: the component axes are padded with NaN to the largest.
    dataset = xr.concat(per_seed, dim="seed", coords="all", join="outer")
    dataset = dataset.assign_coords(seed=seed_values(config.seed, config.seeds))
    dataset.attrs["description"] = "Every closed form of layerwise.theory vs the engine's exact gradient flow"
    return dataset


def _seed_dataset(solutions: list[Solution]) -> xr.Dataset:
    """One seed's solutions: shown trajectories ``theory_<name>``/``flow_<name>`` (instance, step, component), the
    flow's save times and each instance's error (computed from the full compared states)."""
    variables = {"flow_max_relative_error": (("solution", "instance"), np.stack([s.errors for s in solutions]), {
        "description": "largest relative error of each instance over its trajectory (limits: at the final time), "
                       "from layerwise.compare against the engine's gradient flow"})}
    coords = {"solution": list(SOLUTIONS), "instance": np.arange(len(solutions[0].errors))}
    for s in solutions:
        dims = ("instance", f"{s.name}_step", f"{s.name}_component")
        variables[f"theory_{s.name}"] = (dims, np.ascontiguousarray(s.theory, dtype=float),
                                         {"description": s.description, "label": s.label})
        variables[f"flow_{s.name}"] = (dims, np.ascontiguousarray(s.flow, dtype=float))
        variables[f"flow_{s.name}_time"] = ((f"{s.name}_step",), s.times)
        coords[f"{s.name}_component"] = np.arange(s.flow.shape[-1])
        coords[f"{s.name}_parameter"] = ("instance", np.asarray(s.parameter, dtype=float), {"name": s.parameter_name})
    return xr.Dataset(variables, coords=coords)


def check(ds: xr.Dataset) -> list[Check]:
    config = dataset_config(ds, EXPERIMENT)
    seeds = f"seed {config.seed}" if config.seeds == 1 else f"seeds {config.seed}-{config.seed + config.seeds - 1}"
    checks = []
    for name in SOLUTIONS:
        value = float(np.max(ds.flow_max_relative_error.sel(solution=name).values))  # NaN propagates: fails
        kind = "limit" if name in LIMITS else "trajectory"
        checks.append(Check(
            f"{name}_matches_flow",
            f"{ds[f'theory_{name}'].attrs['description']}; {config.instances} random instances ({seeds}), {kind} "
            f"compared with the engine's gradient flow (Dopri8, rtol {config.rtol:g}, atol {config.atol:g}); value: "
            "the largest relative error over the instances",
            value, f"<= {config.tolerance:g}", bool(value <= config.tolerance)))
    return checks


def plot(ds: xr.Dataset) -> dict:
    config = dataset_config(ds, EXPERIMENT)
    figure, axes = figure_grid(3, 4, width=4.25, height=11.5 / 3, title=(
        f"Every closed form vs the engine's gradient flow (theory solid, flow dashed; seed {config.seed}, "
        f"{config.instances} instances each, Dopri8 rtol {config.rtol:g})"))
    for ax, name in zip(axes.flat, SOLUTIONS):
        _worst_instance_panel(ax, ds, name)
    axes[0, 0].plot([], [], color="0.3", label="closed form", **MODEL_STYLE["theory"])
    axes[0, 0].plot([], [], color="0.3", label="gradient flow", **MODEL_STYLE["linear"])
    axes[0, 0].legend(fontsize=7, loc="lower right")
    for ax in axes[2, 2:]:
        ax.remove()
    ax = figure.add_subplot(axes[0, 0].get_gridspec()[2, 2:])
    error_bars(ax, SOLUTIONS, [ds.flow_max_relative_error.sel(solution=n).values for n in SOLUTIONS],
               config.tolerance)
    ax.set(ylabel="max relative error (dots: instances)",
           title="closed form vs gradient flow: largest relative error per solution")
    ax.legend(fontsize=8)
    return {"theory_check": figure}


def _worst_instance_panel(ax, ds: xr.Dataset, name: str) -> None:
    """The closed form (solid) and the flow (dashed) of the instance with the largest error, on a log time axis."""
    errors = ds.flow_max_relative_error.sel(solution=name).values  # (seed, instance)
    errors = np.where(np.isfinite(errors), errors, np.inf)  # a NaN instance counts as the worst one
    seed, shown = np.unravel_index(int(np.argmax(errors)), errors.shape)
    component = f"{name}_component"
    theory_values = ds[f"theory_{name}"].isel(seed=seed, instance=shown).dropna(component, how="all")  # no padding
    flow_values = ds[f"flow_{name}"].isel(seed=seed, instance=shown).sel({component: theory_values[component]})
    times = ds[f"flow_{name}_time"].values[seed]
    later = times > 0  # log time axis
    count = min(theory_values.shape[-1], _PLOTTED_COMPONENTS)
    trajectories(ax, times[later], theory_values.values[later, :count], flow_values.values[later, :count],
                 colors=mode_colors(theory_values.shape[-1])[:count])
    ax.set_xscale("log")
    kind = " (limit: at the last time)" if name in LIMITS else ""
    ax.set_title(f"{name}{kind}\nmax rel err {float(np.max(errors)):.1e} over {errors.size} instances", fontsize=9)
    ax.set_xlabel("time $t$ (log)", fontsize=8)
    ax.set_ylabel(ds[f"theory_{name}"].attrs["label"], fontsize=8)
    ax.tick_params(labelsize=7)
    parameter = ds[f"{name}_parameter"]
    where = f"{shown}" if ds.sizes["seed"] == 1 else f"seed {int(ds.seed[seed])}, {shown}"
    ax.text(0.02, 0.97, f"worst instance ({where}): {parameter.attrs['name']} = {float(parameter[seed, shown]):.3g}",
            transform=ax.transAxes, fontsize=7, va="top")


EXPERIMENT = Experiment(
    name="theory-check",
    description="Every closed form of layerwise.theory vs the engine's exact gradient flow on random instances",
    config_type=TheoryCheckConfig,
    quick={"instances": 4, "times": 81, "deep_depths": (3,)},
    presets={"test": {"instances": 2, "times": 21, "deep_depths": (3,), "max_dim": 3, "max_classes": 2, "seeds": 2}},
    simulate=simulate,
    check=check,
    plot=plot,
    units=lambda config: len(SOLUTIONS) * config.seeds,
)
