r"""Experiment ``grokking-toy``: the solvable toy of grokking, where the weight-to-target ratio ``Sigma0 / S`` decides
lazy vs rich (Nam et al. 2025, §7).

``f(x) = (1/Z) sum_i a_i b_i x`` fitted to ``y = S x`` (``E[x^2] = 1``). Under gradient flow every ``u_i = a_i + b_i``
grows by one common factor ``g(t)`` and every ``v_i = a_i - b_i`` shrinks by ``1/g(t)``; at convergence
``g^2 = gamma_+ = (S + sqrt(Sigma0^2 - S0^2 + S^2)) / (Sigma0 + S0)`` with ``Sigma0 = sum_i (a_i^2 + b_i^2)/(2Z)`` and
``S0 = (1/Z) sum_i a_i b_i`` (Nam et al. 2025, §7). With ``S0 = 0``, ``gamma_+ -> 1 + S/Sigma0`` for large ratios (the
features barely move: lazy) and ``-> 2S/Sigma0`` for small ones (rich). Every point is one exact gradient-flow run
(diffrax), over ``Sigma0/S`` by three routes: the weight scale (zero-output mirrored init, and independent units with
``S0 != 0``), target down-scaling, and the NTK parameterisation ``Z = sqrt(p)`` with O(1) weights at growing width
(``Sigma0 ~ sqrt(p)``). Each of ``seeds`` seeds draws its own inits; the scalar checks read the seed mean of their
per-seed values.
"""

from __future__ import annotations

from typing import Annotated

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr
from pydantic import Field

from layerwise import _random, data, theory
from layerwise.compare import compare
from layerwise.engine import gradient_flow
from layerwise.experiments import fields as F
from layerwise.experiments.base import Experiment, Progress
from layerwise.models import DeepLinearNetwork
from layerwise.report.checks import Check, check_below
from layerwise.report.plotting import figure_grid, trajectories
from layerwise.report.style import MODEL_STYLE, mode_colors
from layerwise.seeds import seed_keys, seed_values

ROUTES = ("ntk width", "weight scale", "weight scale, S0 != 0", "target scale")
MIRRORED = "(the zero-output init mirrors pairs)"


@F.config_dataclass
class GrokkingToyConfig:
    """Settings of the ``grokking-toy`` experiment (defaults: the full run)."""

    seed: F.Seed = 0
    """First seed of the toys' Gaussian inits."""
    seeds: F.Count = 1
    """Number of seeds (init draws) run at once; the checks use the mean of their per-seed values."""
    toy_width: F.rule(F.at_least(2), f"even {MIRRORED}", lambda width: width % 2 == 0) = 16
    """Hidden units p of the toy for the weight and target routes (even: the zero-output init mirrors pairs)."""
    toy_ratios: Annotated[tuple[F.PositiveFloat, ...], Field(min_length=2)] = (
        1e-2, 3e-2, 1e-1, 3e-1, 1.0, 3.0, 10.0, 30.0, 100.0)
    """Weight-to-target ratios Sigma0/S of the weight-scale and target-scale sweeps (at least 2; 4 decades)."""
    toy_ntk_widths: F.rule(Annotated[tuple[F.at_least(2), ...], Field(min_length=1)], f"even widths {MIRRORED}",
                           lambda widths: all(width % 2 == 0 for width in widths)) = (4, 64, 1024, 16384)
    """Widths p of the NTK-parameterised toy (Z = sqrt(p), a_i, b_i ~ N(0, 1)): Sigma0 ~ sqrt(p); even."""
    toy_duration: F.PositiveFloat = 40.0
    """Gradient-flow time (S = 1 units); long enough for S(t) = S to 1e-10."""


def _toy_init(key, runs: int, width: int, z: float, sigma0=None, mirrored=True):
    """(a, b) of ``runs`` toys with Gaussian units, rescaled so Sigma0 = ``sigma0`` exactly (if given).

    ``mirrored``: the second half of the units copy the first half's ``a`` and negate its ``b`` (zero initial output,
    S0 = 0, as the authors' code); else every unit is drawn independently (S0 != 0)."""
    # `layerwise._random`: jax.random's draws bit for bit, from one compiled program per size bucket, not per shape.
    key_a, key_b = _random.split(key)
    a = np.array(_random.normal(key_a, (runs, width)))
    b = np.array(_random.normal(key_b, (runs, width)))
    if mirrored:
        a[:, width // 2:], b[:, width // 2:] = a[:, : width // 2], -b[:, : width // 2]
    if sigma0 is not None:
        factor = np.sqrt(np.asarray(sigma0) / (np.sum(a**2 + b**2, axis=1) / (2 * z)))
        a, b = a * factor[:, None], b * factor[:, None]
    return a, b


def _seeded_init(keys, stream: int, *args, **kwargs):
    """`_toy_init` for every seed's key folded with ``stream``: (a, b), each (seeds, runs, width)."""
    a, b = zip(*(_toy_init(jax.random.fold_in(key, stream), *args, **kwargs) for key in keys))
    return np.stack(a), np.stack(b)


OBSERVABLES = {"u_norm": lambda m, p, t: jnp.sum((p[0][:, 0] + p[1][0]) ** 2),  # ||a + b||^2 (W1 (p, 1), W2 (1, p))
               "v_norm": lambda m, p, t: jnp.sum((p[0][:, 0] - p[1][0]) ** 2)}


def _toy_flow(a, b, s, z: float, duration: float) -> dict:
    """Exact gradient flow of the toys ``(a, b)`` (seeds, runs, p) with targets ``s`` (seeds, runs): per run the
    simulated and closed-form ``g(t)^2``, the final ``|u|^2`` growth, ``|v|^2`` shrink and `theory.grokking_gamma`."""
    shape, width = a.shape[:2], a.shape[2]
    a, b, s = a.reshape(-1, width), b.reshape(-1, width), np.asarray(s, dtype=float).reshape(-1)
    model = DeepLinearNetwork((1, width, 1), output_scale=1.0 / z)
    # Population tasks E[x^2] = 1, E[xy] = s, E[y^2] = s^2, one per run, built on the host (no compiled programs).
    tasks = data.Task(np.ones((len(s), 1, 1)), s[:, None, None] * np.ones((1, 1)), s**2)
    times = np.concatenate([[0.0], np.geomspace(1e-3, duration, 40)])
    history = gradient_flow(model, (a[:, :, None], b[:, None, :]), tasks, times,
                            observables=OBSERVABLES, task_batched=True).history
    sigma0, s0 = (np.asarray(v) for v in theory.grokking_statistics(a, b, z))
    growth = history.u_norm.values / history.u_norm.values[:, :1]
    out = {"flow_growth": growth, "flow_gamma": growth[:, -1],
           "theory_growth": np.asarray(theory.grokking_rescaling(times[None, :], sigma0[:, None], s0[:, None],
                                                                 s[:, None], z)) ** 2,
           "flow_v_shrink": history.v_norm.values[:, -1] / history.v_norm.values[:, 0],
           "theory_gamma": np.asarray(theory.grokking_gamma(sigma0, s0, s)), "ratio": sigma0 / s, "s0_ratio": s0 / s}
    return {name: value.reshape(*shape, *value.shape[1:]) for name, value in out.items()} | {"times": times}


def simulate(config: GrokkingToyConfig, progress: Progress) -> xr.Dataset:
    keys, p, seeds = seed_keys(config.seed, config.seeds), config.toy_width, config.seeds
    ratios, duration = np.asarray(config.toy_ratios, dtype=float), config.toy_duration
    parts = []  # (route, width, Z, flow results)
    for j, width in enumerate(config.toy_ntk_widths):  # NTK: O(1) weights, Z = sqrt(p); Sigma0 ~ sqrt(p), S = 1
        a, b = _seeded_init(keys, 100 + j, 1, width, np.sqrt(width))
        parts.append(("ntk width", width, np.sqrt(width), _toy_flow(a, b, np.ones((seeds, 1)), np.sqrt(width),
                                                                    duration)))
    # Z = 1, width p, in one flow: the weight scale (S = 1, Sigma0 = ratio: a zero-output init, and independent units
    # with S0 != 0 for the full formula) and target down-scaling (one init with Sigma0 = 1, S = 1/ratio, at the grid
    # and at the NTK runs' ratios).
    target_ratios = np.concatenate([np.broadcast_to(ratios, (seeds, len(ratios)))]
                                   + [part[3]["ratio"] for part in parts], axis=1)
    count = target_ratios.shape[1]
    inits = [_seeded_init(keys, 1, len(ratios), p, 1.0, ratios),
             _seeded_init(keys, 2, len(ratios), p, 1.0, ratios, mirrored=False),
             tuple(np.repeat(x, count, 1) for x in _seeded_init(keys, 3, 1, p, 1.0, [1.0]))]
    flow = _toy_flow(np.concatenate([a for a, _ in inits], 1), np.concatenate([b for _, b in inits], 1),
                     np.concatenate([np.ones((seeds, 2 * len(ratios))), 1.0 / target_ratios], 1), 1.0, duration)
    bounds = np.cumsum([0, len(ratios), len(ratios), count])
    for route, start, stop in zip(ROUTES[1:], bounds[:-1], bounds[1:]):
        parts.append((route, p, 1.0, {k: v if k == "times" else v[:, start:stop] for k, v in flow.items()}))
    progress("solvable toy: gamma_+ over the weight-to-target ratio")
    runs = [part[3]["ratio"].shape[1] for part in parts]
    joined = {name: np.concatenate([part[3][name] for part in parts], axis=1)
              for name in parts[0][3] if name != "times"}
    per_run = lambda index: np.repeat([part[index] for part in parts], runs)  # noqa: E731
    dims = {"flow_growth": ("seed", "run", "time"), "theory_growth": ("seed", "run", "time")}
    return xr.Dataset(
        {name: (dims.get(name, ("seed", "run")), value) for name, value in joined.items() if "ratio" not in name},
        coords={"seed": seed_values(config.seed, seeds), "run": np.arange(sum(runs)), "time": parts[0][3]["times"],
                "route": ("run", per_run(0).astype(str)), "width": ("run", per_run(1).astype(int)),
                "z": ("run", per_run(2).astype(float)), "init_target_ratio": (("seed", "run"), joined["ratio"]),
                "s0_ratio": (("seed", "run"), joined["s0_ratio"])},
        attrs={"description": "Grokking toy: gamma_+ over the weight-to-target ratio (Nam et al. 2025, §7)"})


def _route(ds: xr.Dataset, route: str) -> xr.Dataset:
    return ds.isel(run=np.flatnonzero(ds.route.values == route))


def _limits_deviation(ratio, gamma) -> float:
    """How far gamma_+ is from its limits, in units of the next term of each expansion (S0 = 0, r = Sigma0/S):
    ``gamma_+ = 1 + 1/r + 1/(2 r^2) + ...`` (lazy, largest r) and ``gamma_+ = (2/r)(1 + r^2/4 + ...)`` (rich,
    smallest r); the max of ``|gamma_+/(1 + 1/r) - 1| / (1/(2 r^2))`` and ``|gamma_+/(2/r) - 1| / (r^2/4)``."""
    big, small = ratio.max(), ratio.min()
    lazy = abs(gamma[np.argmax(ratio)] / (1 + 1 / big) - 1) / (0.5 / big**2)
    rich = abs(gamma[np.argmin(ratio)] / (2 / small) - 1) / (small**2 / 4)
    return max(lazy, rich)


def check(ds: xr.Dataset) -> list[Check]:
    checks = [check_below(
        "gamma_plus_matches_simulation", "the final/initial squared norm of u = a + b under exact gradient flow equals "
        "gamma_+ = (S + sqrt(Sigma0^2 - S0^2 + S^2))/(Sigma0 + S0) for every run of the three sweeps (max relative "
        "error)", float(np.abs(ds.flow_gamma / ds.theory_gamma - 1).max("run").mean("seed")), 1e-6)]
    checks.append(compare(ds.theory_growth.mean("seed"), ds.flow_growth.mean("seed"), rtol=1e-6, time_dim="time",
                          name="rescaling_trajectory_matches_theory").to_check(
        "the whole trajectory g(t)^2 = |u(t)|^2/|u(0)|^2 follows the closed form of theory.grokking_rescaling for "
        "every run (max relative error over runs and times)"))
    checks.append(check_below(
        "flow_conserves_uv_product", "each unit's u_i v_i = a_i^2 - b_i^2 is conserved, so v = a - b shrinks by "
        "exactly the factor u grows: the exact flow (diffrax) keeps |u(T)|^2 |v(T)|^2 / (|u(0)|^2 |v(0)|^2) = 1 "
        "(max deviation)", float(np.abs(ds.flow_gamma * ds.flow_v_shrink - 1).max("run").mean("seed")), 1e-6))
    weight = _route(ds, "weight scale")
    ratio = weight.init_target_ratio.values[0]
    checks.append(check_below(
        "flow_gamma_within_next_order_of_limits", f"S0 = 0: the exact flow's gamma_+ is within the next term of its "
        f"limits, 1 + S/Sigma0 (lazy) at Sigma0/S = {ratio.max():g} (next term (S/Sigma0)^2/2) and 2S/Sigma0 "
        f"(rich) at Sigma0/S = {ratio.min():g} (next term relative (Sigma0/S)^2/4): max |relative deviation| / next "
        "term (<= 1.1; fails if the limit is not approached, as when the extreme ratios are not extreme)",
        float(np.mean([*map(_limits_deviation, weight.init_target_ratio.values, weight.flow_gamma.values)])),
        1.1))
    ntk, target = _route(ds, "ntk width"), _route(ds, "target scale")
    differences = []
    for seed in range(ds.sizes["seed"]):  # the target-scaled run at each NTK run's own Sigma0/S
        gamma, ratios = target.flow_gamma.values[seed], target.init_target_ratio.values[seed]
        matched = np.array([gamma[np.argmin(np.abs(ratios - q))] for q in ntk.init_target_ratio.values[seed]])
        differences.append(np.max(np.abs(ntk.flow_gamma.values[seed] / matched - 1)))
    checks.append(check_below(
        "ntk_flow_matches_target_downscaled_flow", "the exact flow of an NTK-parameterised toy (Z = sqrt(p), O(1) "
        "weights) ends with the same gamma_+ as a separate exact flow of a Z = 1 toy (width toy_width) whose target is "
        "scaled down to the same Sigma0/S (max relative difference)",
        float(np.mean(differences)), 1e-6))
    ntk_gamma = ntk.flow_gamma.mean("seed").values
    checks.append(Check(
        "ntk_width_makes_lazy", "in NTK parameterisation gamma_+ decreases with width towards 1 (lazy): decreasing, "
        "and gamma_+ - 1 <= 0.05 at the largest width", [float(g) for g in ntk_gamma], "decreasing, last <= 1.05",
        bool(np.all(np.diff(ntk_gamma) < 0) and ntk_gamma[-1] <= 1.05)))
    return checks


MARKERS = {"weight scale": "o", "target scale": "s", "ntk width": "D", "weight scale, S0 != 0": "x"}


def plot(ds: xr.Dataset) -> dict:
    figure, axes = figure_grid(1, 2, width=6.8, height=4.6, title="Grokking toy — theory solid, exact gradient flow "
                               "markers (left) and dashed (right)")
    ax = axes[0, 0]
    ratios = np.geomspace(ds.init_target_ratio.values.min() / 2, ds.init_target_ratio.values.max() * 2, 200)
    ax.plot(ratios, theory.grokking_gamma(ratios, 0.0, 1.0), color="k", label="$\\gamma_+$ theory ($\\mathcal{S}_0=0$)",
            **MODEL_STYLE["theory"])
    ax.plot(ratios, 1 + 1 / ratios, color="0.5", lw=0.8, label="lazy limit $1+S/\\Sigma_0$")
    ax.plot(ratios, 2 / ratios, color="0.5", lw=0.8, ls="-.", label="rich limit $2S/\\Sigma_0$")
    for (route, marker), color in zip(MARKERS.items(), mode_colors(len(MARKERS))):
        part = _route(ds, route)
        label = {"ntk width": "NTK $Z=\\sqrt{p}$, $p$ = " + ", ".join(str(int(w)) for w in part.width.values),
                 "weight scale, S0 != 0": "weight scale, $\\mathcal{S}_0\\neq0$ (theory: own $\\mathcal{S}_0$)"}.get(
            route, route)
        ax.plot(part.init_target_ratio.values.ravel(), part.flow_gamma.values.ravel(), marker, color=color, mfc="none",
                ms=8, label=label)
    ax.set(xscale="log", yscale="log", xlabel="weight-to-target ratio $\\Sigma_0/S$",
           ylabel="$\\|u(\\infty)\\|^2/\\|u(0)\\|^2$", title="feature growth $\\gamma_+$ (all seeds)")
    ax.legend(fontsize=7)
    ax = axes[0, 1]
    weight = _route(ds, "weight scale")
    ratios = weight.init_target_ratio.values[0]
    weight = weight.mean("seed")
    rel = float(np.max(np.abs(ds.flow_growth.values / ds.theory_growth.values - 1)))
    trajectories(ax, ds.time.values[1:], weight.theory_growth.values[:, 1:].T, weight.flow_growth.values[:, 1:].T,
                 labels=[f"$\\Sigma_0/S$ = {r:g}" for r in ratios], cmap="viridis")
    ax.set(xscale="log", yscale="log", xlabel="time $t$ (gradient flow, $S$ = 1, $Z$ = 1)",
           ylabel="$g(t)^2 = \\|u(t)\\|^2/\\|u(0)\\|^2$",
           title=f"$g(t)^2$, weight-scale sweep (seed mean); all runs: max rel. error {rel:.1e}")
    ax.legend(fontsize=7, ncol=2)
    return {"grokking_toy": figure}


EXPERIMENT = Experiment(
    name="grokking-toy",
    description="Grokking toy: gamma_+ over the weight-to-target ratio by weight scale, target scale and NTK width",
    config_type=GrokkingToyConfig,
    quick={"toy_ntk_widths": (4, 64, 1024)},
    presets={"test": {"toy_ratios": (0.01, 1.0, 100.0), "toy_ntk_widths": (4,), "seeds": 2}},
    simulate=simulate,
    check=check, renamed_variables={"ratio": "init_target_ratio"},
    plot=plot,
    units=lambda config: 1,
)
