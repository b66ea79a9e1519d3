"""Family 1 of ``theory-check``: the shared two-layer shape ``(d, h, m) = (n C, C, C)``, one compiled flow for the
depth-2 Saxe modes, the λ-balanced solution and its NTK, the MSE-UFM minimiser and the single neuron."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from layerwise import data, init, theory
from layerwise.compare import compare, max_relative_errors
from layerwise.experiments.theory_check.solution import (
    LAYERS,
    PLOTTED_COMPONENTS,
    Solution,
    family_keys,
    family_orthogonal,
    family_rng,
    flat_components,
    run_flow,
    whitened_tasks,
)
from layerwise.metrics import exponential_times
from layerwise.models import DeepLinearNetwork

if TYPE_CHECKING:
    from layerwise.experiments.theory_check import TheoryCheckConfig


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


def _saxe_depth2(config: TheoryCheckConfig, rng, shape: TwoLayerShape) -> Solution:
    """Balanced init aligned with ``Sigma_yx = U diag(s) V^T`` (`layerwise.init.balanced_aligned_init`:
    ``W1 = R diag(sqrt u0) V^T``, ``W2 = U diag(sqrt u0) R^T``); mode ``a`` is ``u_a = u_a^T W2 W1 v_a``."""
    d, h, m, R = shape.d, shape.h, shape.m, config.instances
    s = np.sort(rng.uniform(0.5, 3.0, size=(R, h)), axis=1)[:, ::-1]
    ratio = 10.0 ** rng.uniform(-4.0, np.log10(0.5), size=(R, h))
    ratio[:, -1] = rng.uniform(1.2, 3.0, size=R)  # one mode starts above its target and decays onto it
    u0 = ratio * s
    lefts = np.stack([family_orthogonal(rng, m)[:, :h] for _ in range(R)])
    rights = np.stack([family_orthogonal(rng, d)[:, :h] for _ in range(R)])
    params = jax.vmap(lambda key, strengths, left, right: init.balanced_aligned_init(
        key, shape.model, strengths, left, right))(family_keys(rng, R), jnp.asarray(u0), jnp.asarray(lefts),
                                                    jnp.asarray(rights))
    targets = (lefts * s[:, None, :]) @ np.swapaxes(rights, 1, 2)
    horizon = 1.2 * float(np.max(theory.learning_time(s, u0, np.where(u0 < s, 0.999, 1.001))))
    times = exponential_times(horizon, config.times)
    history = run_flow(config, shape.model, params, whitened_tasks(targets), times, LAYERS)
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
    lam = rng.uniform(-config.max_imbalance, config.max_imbalance, size=R)
    scale = 10.0 ** rng.uniform(np.log10(0.03), 0.0, size=R)
    sigma0 = scale[:, None] * rng.uniform(0.5, 1.5, size=(R, h))
    s = rng.uniform(0.5, 3.0, size=(R, m))
    targets = np.stack([(family_orthogonal(rng, m) * s_i) @ family_orthogonal(rng, d)[:, :m].T for s_i in s])
    # Haar singular vectors independent of the task's: the init is not aligned (`init.lambda_balanced_init`).
    params = jax.vmap(lambda key, imbalance, singular_values: init.lambda_balanced_init(
        key, shape.model, singular_values, imbalance=imbalance))(family_keys(rng, R), jnp.asarray(lam),
                                                                 jnp.asarray(sigma0))
    inits = list(zip(*params))  # per instance (W1, W2)
    horizon = 1.5 * float(np.max(np.log(1e4 * s.max(axis=1) / sigma0.min(axis=1)) / s.min(axis=1)))
    times = exponential_times(horizon, config.times)
    history = run_flow(config, shape.model, params, whitened_tasks(targets), times, LAYERS)
    predicted = [theory.lambda_balanced_solution(times, w1, w2, t) for (w1, w2), t in zip(inits, targets)]
    w1_theory = np.stack([np.asarray(w1) for w1, _ in predicted])
    w2_theory = np.stack([np.asarray(w2) for _, w2 in predicted])
    w1_flow, w2_flow = history["W1"].values, history["W2"].values
    errors = np.maximum(max_relative_errors(w1_theory, w1_flow, times, norm=True),
                        max_relative_errors(w2_theory, w2_flow, times, norm=True))
    weights = Solution(
        "lambda_balanced_solution",
        f"the weights W1(t), W2(t) (not only W2 W1) of an unaligned λ-balanced two-layer net {shape.model.widths} "
        f"(lambda in [-{config.max_imbalance:g}, {config.max_imbalance:g}], singular values 0.015..1.5, whitened "
        "input) follow lambda_balanced_solution (max relative Frobenius error of each layer over times)",
        errors, times, flat_components(w1_theory)[:, :, :PLOTTED_COMPONENTS],
        flat_components(w1_flow)[:, :, :PLOTTED_COMPONENTS],
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
    history = run_flow(config, shape.model, params, tasks, times, LAYERS, weight_decay=decay)
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
    history = run_flow(config, shape.model, (jnp.asarray(w1), jnp.asarray(w2)), whitened_tasks(targets), times, LAYERS)
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
        np.where(inactive == 0.0, errors, np.inf), times, theory_state[:, :, -PLOTTED_COMPONENTS:],
        flow_state[:, :, -PLOTTED_COMPONENTS:], "$w_i(t)$, $a(t)$", delta, "delta")


def two_layer_family(config: TheoryCheckConfig, seed: int) -> list[Solution]:
    """Saxe depth 2, λ-balanced (+ NTK distance), the UFM limit and the single neuron: one compiled two-layer flow."""
    rng = family_rng(seed, 1)
    classes = int(rng.integers(2, config.max_classes + 1))
    per_class = int(rng.integers(2, 4))
    shape = TwoLayerShape(per_class * classes, classes, classes, per_class)
    solutions = [_saxe_depth2(config, rng, shape)]
    solutions += _lambda_balanced_runs(config, rng, shape)
    solutions.append(_ufm(config, rng, shape))
    solutions.append(_kunin(config, rng, shape))
    return solutions
