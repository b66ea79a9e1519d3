r"""The prediction of the solvable model: the data's modes, the init, and the closed form that fits it.

Modes: the SVD ``Sigma_yx = U diag(s) V^T`` in the (whitened) input basis, ``s_0 >= s_1 >= ...``; modes with
``s <= 1e-10 s_0`` are omitted. A depth-``L`` linear net ``f(x) = W_L ... W_1 x`` with init scale ``u_0`` starts
each layer at ``u_0^{1/L}`` along each mode. Which closed form predicts it (`choose_prediction`):

======================  ======================  ===========================================================
init                    prediction              law (gradient flow, ``t = learning rate x step``)
======================  ======================  ===========================================================
aligned (balanced)      ``saxe``                ``tau u' = L u^{2-2/L} (s - u)``, exact at any scale/depth
aligned, ``C != 0``     ``imbalanced``          ``tau u' = sqrt(C^2 + 4u^2) (s - u)``, depth 2, exact
λ-balanced              ``lambda_balanced``     matrix Riccati solution (Dominé et al. 2025), depth 2, exact
random (Gaussian)       ``saxe_approximate``    the Saxe law from ``u_0,a = |u_a^T W(0) v_a|``, approximate
======================  ======================  ===========================================================

Two imbalances, one name each (docs/glossary.md): ``mode_imbalance`` C = a^2 - b^2 of every mode of the aligned
depth-2 init (the first layer minus the second, the argument of `layerwise.theory.imbalanced_mode`), and
``imbalance`` λ of the λ-balanced init, ``W_2^T W_2 - W_1 W_1^T = λ I`` (the later layer minus the earlier; along a
mode λ = b^2 - a^2 = -C). `resolve_imbalances` keeps the older spelling (``imbalance`` read as C for an aligned
init) for one release, with a warning.

The exact laws need whitened inputs (``Sigma_xx = I``); without whitening the aligned case is labelled
``saxe_approximate`` too. Times are for gradient flow; GD with learning rate ``eta`` lags it by about
``eta s_0 / 2`` (relative) in the escape phase (`gd_error`).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from layerwise import init as lw_init
from layerwise._deprecation import (RenamedArgumentWarning, RenamedFieldWarning, reinterpreted_argument,
                                    renamed_arguments)
from layerwise import theory
from layerwise.data.regression import random_orthogonal
from layerwise.errors import LayerwiseError, check_choice
from layerwise.metrics.timing import crossing_time
from layerwise.models import DeepLinearNetwork

INITS = ("aligned", "lambda-balanced", "random")
PREDICTIONS = ("saxe", "imbalanced", "lambda_balanced", "saxe_approximate")
MODE_RTOL = 1e-10
"""Modes with ``s <= MODE_RTOL * s_0`` are omitted."""
DEGENERACY = 0.10
"""Singular values within 10 % of each other form one near-degenerate group (learning order is not compared there)."""
GD_WARNING = 0.02
"""The report warns when the expected GD discretisation error ``eta s_0 / 2`` exceeds this."""
FRACTIONS = {"t10": 0.1, "half_time": 0.5, "t90": 0.9}


@dataclasses.dataclass(frozen=True)
class Modes:
    r"""The data's modes: ``U`` (m, k), ``s`` (k,) descending, ``V`` (d_w, k) with ``Sigma_yx ≈ U diag(s) V^T``
    (all modes with ``s > 1e-10 s_0``), ``groups`` (k,) near-degenerate group index per mode (0, 1, ...), and
    ``omitted`` (how many singular values were below the threshold)."""

    U: np.ndarray
    s: np.ndarray
    V: np.ndarray
    groups: np.ndarray
    omitted: int

    @property
    def count(self) -> int:
        return self.s.shape[0]

    @property
    def group_count(self) -> int:
        return int(self.groups.max()) + 1

    def group_norms(self) -> np.ndarray:
        r"""``||s_G||_2`` per group (g,): the strength ``||U_G^T Sigma_yx V_G||_F`` of the learned group."""
        return np.sqrt(np.bincount(self.groups, weights=self.s**2))


def data_modes(cross_covariance, *, rtol: float = MODE_RTOL, degeneracy: float = DEGENERACY) -> Modes:
    r"""SVD of ``Sigma_yx`` (m, d_w): the modes with ``s > rtol s_0``, grouped where neighbouring singular values
    differ by at most ``degeneracy`` (relative to the larger: ``s_a / s_{a+1} <= 1 + degeneracy``)."""
    u, s, vt = np.linalg.svd(np.asarray(cross_covariance, np.float64), full_matrices=False)
    if s.size == 0 or not s[0] > 0:
        raise LayerwiseError("the targets carry no linear signal: Sigma_yx = Y^T X / n is zero (nothing to learn)")
    keep = s > rtol * s[0]
    u, s, v = u[:, keep], s[keep], vt[keep].T
    # fix signs: the largest-magnitude entry of each right singular vector positive
    signs = np.sign(v[np.argmax(np.abs(v), axis=0), np.arange(v.shape[1])])
    signs = np.where(signs == 0, 1.0, signs)
    u, v = u * signs, v * signs
    groups = np.concatenate([[0], np.cumsum(s[:-1] / s[1:] > 1 + degeneracy)]).astype(int)
    return Modes(u, s, v, groups, int((~keep).sum()))


def resolve_imbalances(init: str, imbalance: float, mode_imbalance: float, *,
                       command_line: bool = False) -> tuple[float, float]:
    """``(imbalance, mode_imbalance)`` as `choose_prediction` reads them: an ``imbalance`` given with
    ``init="aligned"`` (and no ``mode_imbalance``) is the older spelling of ``mode_imbalance`` C and keeps that
    meaning for one release, with a warning naming ``mode_imbalance`` (``--mode-imbalance`` on the
    ``command_line``, as one ``warning:`` line); both given there is a `LayerwiseError`."""
    old, new, case, other = ("--imbalance", "--mode-imbalance", "--init aligned", "--init lambda-balanced") if (
        command_line) else ("imbalance", "mode_imbalance", "init='aligned'", "init='lambda-balanced'")
    if init != "aligned" or imbalance == 0:
        return imbalance, mode_imbalance
    if mode_imbalance != 0:
        raise LayerwiseError(f"{old} (λ) applies to {other}; with {case} give {new} (C) only")
    reinterpreted_argument("solve", old, new, case, "λ = -C (the later layer minus the earlier)",
                           category=RenamedFieldWarning if command_line else RenamedArgumentWarning, stacklevel=4)
    return 0.0, imbalance


def choose_prediction(init: str, depth: int, whitened: bool, *, imbalance: float = 0.0,
                      mode_imbalance: float = 0.0) -> str:
    """The closed form for an init (see the module table) given its ``imbalance`` λ (λ-balanced) or its
    ``mode_imbalance`` C (aligned, depth 2); a `LayerwiseError` for combinations no law covers."""
    check_choice("init", init, INITS)
    if mode_imbalance != 0 and init != "aligned":
        raise LayerwiseError(f"--mode-imbalance (C) applies to --init aligned (depth 2), not {init}"
                             + ("; λ-balanced takes --imbalance λ" if init == "lambda-balanced" else ""))
    if imbalance != 0 and init != "lambda-balanced":
        raise LayerwiseError(f"--imbalance (λ) applies to --init lambda-balanced, not {init}"
                             + ("; an aligned init takes --mode-imbalance C" if init == "aligned" else ""))
    if init == "aligned":
        if mode_imbalance != 0:
            if depth != 2:
                raise LayerwiseError(f"--mode-imbalance with --init aligned needs --depth 2 (the imbalanced-mode law "
                                     f"is for two layers); got depth {depth}")
            if not whitened:
                raise LayerwiseError("--mode-imbalance needs whitened inputs (the imbalanced-mode law assumes "
                                     "Sigma_xx = I); drop --no-whiten")
            return "imbalanced"
        return "saxe" if whitened else "saxe_approximate"
    if init == "lambda-balanced":
        if depth != 2:
            raise LayerwiseError(f"--init lambda-balanced needs --depth 2, got depth {depth}")
        if not whitened:
            raise LayerwiseError("--init lambda-balanced needs whitened inputs (the λ-balanced solution assumes "
                                 "Sigma_xx = I); drop --no-whiten")
        return "lambda_balanced"
    return "saxe_approximate"


def hidden_widths(depth: int, width: int | None, modes: Modes, in_dim: int, out_dim: int) -> tuple[int, ...]:
    """The linear net's widths ``(d_w, H, ..., H, m)``; ``H`` defaults to ``min(d_w, m)`` (room for every mode)."""
    hidden = min(in_dim, out_dim) if width is None else width
    if depth > 1 and hidden < modes.count:
        raise LayerwiseError(f"--width {hidden} is narrower than the {modes.count} modes of the data; use --width >= "
                             f"{modes.count}")
    return (in_dim, *([hidden] * (depth - 1)), out_dim)


@renamed_arguments(u0="init_scale", imbalance="mode_imbalance")
def imbalanced_layers(init_scale: float, mode_imbalance: float) -> tuple[float, float]:
    r"""Per-mode layer strengths ``(a, b)`` with ``ab = u_0`` (``init_scale``) and ``a^2 - b^2 = C``
    (``mode_imbalance``, the first layer minus the second, as in `layerwise.init.balanced_diagonal_init`):
    ``a^2 = (C + sqrt(C^2 + 4u_0^2)) / 2``, ``b = u_0 / a``."""
    a = np.sqrt((mode_imbalance + np.sqrt(mode_imbalance**2 + 4 * init_scale**2)) / 2)
    return float(a), float(init_scale / a)


def initial_params(key, model: DeepLinearNetwork, init: str, modes: Modes, init_scale: float, *,
                   imbalance: float = 0.0, mode_imbalance: float = 0.0):
    r"""One run's initial weights (the imbalances keyword-only: an older positional call, whose imbalance meant C
    for an aligned init, is refused rather than read with the other sign).

    * ``aligned``: `layerwise.init.balanced_aligned_init` with every mode at ``u_0`` (each layer ``u_0^{1/L}``);
      with a mode imbalance ``C`` (``mode_imbalance``, depth 2) ``W_1 = R diag(a) V^T``, ``W_2 = U diag(b) R^T`` per
      mode (`imbalanced_layers`).
    * ``lambda-balanced``: `layerwise.init.lambda_balanced_init` with imbalance λ and end-to-end singular values
      ``u_0`` (random singular bases, as Dominé et al. 2025): ``W_2^T W_2 - W_1 W_1^T = λ I_H``.
    * ``random``: Gaussian ``N(0, u_0^{2/L} / fan_in)`` per layer (so each layer has gain ``~u_0^{1/L}``).
    """
    U, V = jnp.asarray(modes.U), jnp.asarray(modes.V)
    if init == "aligned" and mode_imbalance == 0:
        return lw_init.balanced_aligned_init(key, model, init_scale, U, V)
    if init == "aligned":
        a, b = imbalanced_layers(init_scale, mode_imbalance)
        hidden = model.widths[1]
        rotation = random_orthogonal(key, hidden)[:, : modes.count]
        return (a * rotation @ V.T, b * U @ rotation.T)
    if init == "lambda-balanced":
        return lw_init.lambda_balanced_init(key, model, init_scale, imbalance=imbalance)
    return lw_init.gaussian_init(key, model, init_scale ** (1.0 / model.depth), parameterisation="fan_in")


def initial_strengths(model: DeepLinearNetwork, params, modes: Modes) -> np.ndarray:
    r"""``|u_a^T W(0) v_a|`` per mode (runs, k) from a batch of params (leading runs axis)."""
    W = jax.vmap(model.end_to_end)(params)
    return np.abs(np.einsum("ma,rmd,da->ra", modes.U, np.asarray(W), modes.V))


@renamed_arguments(u0="init_scale", imbalance="mode_imbalance")
def strengths(prediction: str, times, modes: Modes, *, depth: int, init_scale, mode_imbalance: float = 0.0,
              params=None) -> np.ndarray:
    r"""Predicted mode strengths ``u_a(t)`` on ``times`` (T,), shape (runs, T, k).

    ``init_scale`` (``u0``) is (runs, k) (the initial strengths); ``mode_imbalance`` C (``imbalanced`` only);
    ``params`` (λ-balanced only) the runs' initial
    ``(W_1, W_2)``, whose closed-form trajectory (`layerwise.theory.lambda_balanced_solution`, symmetric gauge: the
    same end-to-end map) is projected on the modes, ``u_a = u_a^T W_2(t) W_1(t) v_a``.
    """
    t = np.asarray(times, np.float64)
    s = modes.s
    u0 = np.asarray(init_scale, np.float64)
    if prediction in ("saxe", "saxe_approximate"):
        return np.asarray(theory.saxe_mode(t[None, :, None], s, u0[:, None, :], depth))
    if prediction == "imbalanced":
        return np.asarray(theory.imbalanced_mode(t[None, :, None], s, u0[:, None, :], mode_imbalance))
    if prediction == "lambda_balanced":
        maps = lambda_balanced_maps(t, params, modes)
        return np.einsum("ma,rtmd,da->rta", modes.U, maps, modes.V)
    raise LayerwiseError(f"unknown prediction {prediction!r}; allowed: {', '.join(PREDICTIONS)}")


def lambda_balanced_maps(times, params, modes: Modes) -> np.ndarray:
    r"""End-to-end maps ``W_2(t) W_1(t)`` (runs, T, m, d_w) of the λ-balanced closed form
    (`layerwise.theory.lambda_balanced_solution`, symmetric gauge) for each run's init ``params = (W_1, W_2)``
    (runs, ...) and ``Sigma_yx = U diag(s) V^T``."""
    W1, W2 = params
    target = jnp.asarray(modes.U * modes.s @ modes.V.T)
    out = []
    for run in range(W1.shape[0]):
        w1, w2 = theory.lambda_balanced_solution(jnp.asarray(times, jnp.float64), W1[run], W2[run], target,
                                                 hidden_basis="symmetric")
        out.append(np.asarray(w2 @ w1))
    return np.stack(out)


@renamed_arguments(u0="init_scale", imbalance="mode_imbalance")
def passage_times(prediction: str, modes: Modes, *, depth: int, init_scale, mode_imbalance: float = 0.0,
                  params=None, horizon: float | None = None) -> dict[str, np.ndarray]:
    r"""Predicted first-passage times of ``u_a = f s_a`` for ``f`` in 0.1, 0.5, 0.9: ``{"t10", "half_time", "t90"}``
    each (runs, k); 0 where ``u_0 >= f s_a``, NaN where never reached. ``init_scale`` (``u0``) is (runs, k), the
    initial strengths.

    ``saxe`` / ``saxe_approximate``: the exact integral `layerwise.theory.learning_time`. ``imbalanced``: bisection
    of the monotone closed form `layerwise.theory.imbalanced_mode` to 1e-12 relative. ``lambda_balanced``: the
    closed form on 4,001 points up to ``horizon`` (a first crossing, linearly interpolated).
    """
    s = modes.s
    u0 = np.asarray(init_scale, np.float64)
    out = {}
    if prediction == "lambda_balanced":
        if horizon is None:
            raise LayerwiseError("passage_times for lambda_balanced needs a horizon")
        grid = np.linspace(0.0, horizon, 4001)
        curves = strengths(prediction, grid, modes, depth=depth, init_scale=u0, params=params) / s  # (runs, T, k)
        for key, fraction in FRACTIONS.items():
            out[key] = crossing_time(grid, np.moveaxis(curves, 1, -1), fraction)
        return out
    for key, fraction in FRACTIONS.items():
        reached = u0 >= fraction * s
        if prediction == "imbalanced":
            times = _bisect_imbalanced(s, u0, mode_imbalance, fraction)
        else:
            safe = np.where(reached, 0.5 * fraction * s, np.maximum(u0, 1e-300))  # u0 = 0: the saddle, never
            times = np.asarray(theory.learning_time(s, safe, fraction, depth)) * np.ones_like(u0)
        out[key] = np.where(reached, 0.0, times)
    return out


def _bisect_imbalanced(s, u0, mode_imbalance, fraction, iterations: int = 200):
    target = fraction * s
    shape = np.broadcast_shapes(np.shape(u0), np.shape(s))
    u0 = np.broadcast_to(u0, shape)
    value = lambda t: np.asarray(theory.imbalanced_mode(t, s, u0, mode_imbalance))  # noqa: E731
    hi = np.ones(shape)
    for _ in range(200):  # grow the bracket until every mode has passed
        below = value(hi) < target
        if not below.any():
            break
        hi = np.where(below, 2 * hi, hi)
    lo = np.zeros(shape)
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        passed = value(mid) >= target
        lo, hi = np.where(passed, lo, mid), np.where(passed, mid, hi)
        if np.all(hi - lo <= 1e-12 * hi):
            break
    return np.where(value(hi) >= target, hi, np.nan)


def gd_error(learning_rate: float, modes: Modes) -> float:
    r"""Expected relative lag of GD behind gradient flow in the escape phase, ``eta s_0 / 2``."""
    return float(learning_rate * modes.s[0] / 2)


def loss_plateaus(modes: Modes, output_second_moment: float) -> np.ndarray:
    r"""The stage-like loss plateaus of whitened, decoupled modes learned one by one:
    ``L_j = 1/2 (tr Sigma_yy - sum_{a < j} s_a^2)`` for ``j = 0..k`` (before any mode, ..., after all), (k + 1,)."""
    return 0.5 * (output_second_moment - np.concatenate([[0.0], np.cumsum(modes.s**2)]))


def mode_loss(strength: np.ndarray, modes: Modes, output_second_moment: float) -> np.ndarray:
    r"""Loss of decoupled modes ``L = 1/2 sum_a (s_a - u_a)^2 + 1/2 (tr Sigma_yy - sum_a s_a^2)`` from strengths
    (..., k) (whitened inputs, an end-to-end map with no weight outside the modes)."""
    return 0.5 * np.sum((modes.s - strength) ** 2, axis=-1) + 0.5 * (output_second_moment - np.sum(modes.s**2))


def weight_to_target_ratio(model: DeepLinearNetwork, params, modes: Modes) -> np.ndarray:
    r"""``||W_L ... W_1(0)||_F / ||Sigma_yx||_F`` per run (runs,): the init's size relative to the target's
    (small: rich, feature-learning regime; of order one or more: lazy)."""
    W = np.asarray(jax.vmap(model.end_to_end)(params))
    return np.linalg.norm(W, axis=(1, 2)) / np.linalg.norm(modes.s)


def class_mean_structure(y_train: np.ndarray, labels: np.ndarray, classes: int) -> dict:
    r"""What the solvable model predicts for class means: the rank of the centred target class means
    ``M~ = M - mean_c M`` (C - 1 when every class occurs) and their distance to a simplex ETF
    (`layerwise.metrics.etf_distance`; 0 for balanced classes, the fixed point the learned outputs approach)."""
    from layerwise.metrics.neural_collapse import class_means, etf_distance

    counts = np.bincount(labels, minlength=classes)
    if np.any(counts == 0):
        return {"class_means_rank": None, "class_means_etf_distance": None, "missing_classes": int((counts == 0).sum())}
    means = np.asarray(class_means(jnp.asarray(y_train), jnp.asarray(labels), classes))
    centred = means - means.mean(axis=0)
    return {"class_means_rank": int(np.linalg.matrix_rank(centred, tol=1e-10 * np.abs(centred).max())),
            "class_means_etf_distance": float(etf_distance(jnp.asarray(centred))), "missing_classes": 0}
