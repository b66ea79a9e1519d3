"""The checks of ``emergence``, functions of its Dataset (and the config it records): each MLP panel is judged by
`layerwise.metrics.crossing_errors` over seeds (`check_over_seeds`); the skill-basis model against its closed forms."""

from __future__ import annotations

from typing import TYPE_CHECKING

import warnings

import numpy as np
import xarray as xr

from layerwise import theory
from layerwise.compare import compare
from layerwise.experiments.emergence.mlp import (AUTHORS_C_FACTOR, AUTHORS_D_C, AUTHORS_N_C, AUTHORS_N_FREE, half_times,
                                                 mlp_losses, seed_mean)
from layerwise.experiments.emergence.skill_basis import SKILL_BASIS_DRAWS, scaling_fits
from layerwise.metrics import log_crossing, logistic_fit, loglog_slope
from layerwise.metrics.crossings import crossing_errors, spacing_windows
from layerwise.report.checks import Check, Measurement, check_below, check_over_seeds

OLD_NAMES = {"gap_init": "gap_init_scale"}
"""Dataset names of older data.nc files, read under the glossary's."""

if TYPE_CHECKING:
    from layerwise.experiments.emergence import EmergenceConfig

MIN_SKILLS = 4
"""Skills that must cross within a panel's run (fewer than the run allows: the panel's check fails)."""


def results(ds: xr.Dataset, config: EmergenceConfig) -> list:
    """Every check and measurement of ``emergence`` from its Dataset ``ds`` made with ``config``."""
    return [*_time_results(ds, config), *_data_and_parameter_results(ds, config), *_skill_basis_results(ds, config),
            *_mlp_exponents(ds, config)]


def _window_words(shape) -> str:
    return "[" + ", ".join(f"{v:.2f}" for v in np.exp(spacing_windows(shape))) + "]"


def _allowed(constant: float, shape, limit: float) -> int:
    return int(np.sum(constant * np.asarray(shape, float) * np.exp(spacing_windows(shape)) <= limit))


AUTHORS_WORDS = {"time": f"N_free = {AUTHORS_N_FREE:g} with c = 3.6 S/init^2 - 1", "data": f"D_c = {AUTHORS_D_C:g}",
                 "parameters": f"N_c = {AUTHORS_N_C:g}"}
"""The authors' constant (Nam et al. 2025 Fig. 4 code) that `allowed_skills` places each panel's skills with."""


def allowed_skills(config: EmergenceConfig) -> dict[str, int]:
    """How many skills each MLP panel's run can show crossing, fixed by the config before it runs: those whose whole
    window (`spacing_windows`) ends inside the run (``time_steps``, the largest of ``data_sizes``, of
    ``param_widths``) when placed with the authors' constants (`AUTHORS_WORDS`), not the fitted ones."""
    p = np.asarray(theory.skill_frequencies(config.n_skills, config.alpha)).astype(float)
    S, eta = config.target_scale, config.learning_rate
    time_constant = np.log(AUTHORS_C_FACTOR * S / config.init_scale**2 - 1) * AUTHORS_N_FREE / (4 * eta * S)
    return {"time": _allowed(time_constant, 1 / p, config.time_steps),
            "data": _allowed(0.75 * AUTHORS_D_C, 1 / p, config.data_sizes[-1]),
            "parameters": _allowed(AUTHORS_N_C, np.arange(p.size) + 0.5, config.param_widths[-1])}


def _panel_check(name, what, crossings, shape, limit, minimum, theory_words, room):
    """The check of one MLP panel (`crossing_errors` over seeds, mean <= 1), the seed-mean ratios and the number of
    skills that cross per seed; ``room = (allowed skills, the authors' constant in words)`` (`allowed_skills`)."""
    errors, constants, ratios = crossing_errors(crossings, shape, limit, minimum)
    allowed, authors = room
    room = f"; this run allows {allowed} of {len(shape)} skills ({authors} puts that many windows inside it)"
    if allowed < minimum:
        room += f", fewer than {minimum}: a failure then says the run is too small, not that the theory fails"
    check = check_over_seeds(name, (
        f"the {what} at which the MLP's skill k reaches R_k/S = 1/2 follows {theory_words} with one constant fitted "
        f"(in log) to the skills that cross, per seed: every skill predicted or measured to cross within the run "
        f"(at least {minimum}) is compared, a skill that does only one of the two fails the seed; value = worst "
        f"|ln(measured/predicted)| in units of each skill's window, half the log-gap to its neighbour's prediction "
        f"(factors {_window_words(shape)}, fixed by the theory's spacing){room}"), errors, upper=1.0)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN skills: NaN is the answer
        mean_ratios = np.nanmean(ratios, axis=0)
    crossed = [int(n) for n in np.isfinite(np.atleast_2d(crossings)).sum(-1)]
    return check, constants, [round(float(r), 3) for r in mean_ratios], crossed


def _crossed(panel: str, what: str, crossed: list[int], limit: float, minimum: int) -> Measurement:
    return Measurement(f"mlp_{panel}_skills_crossed", f"per seed, how many skills reach R_k/S = 1/2 within the "
                       f"{what} (up to {limit:g}); the panel's check compares at least {minimum}", crossed)


def _inversions(half_times, minimum: int) -> float:
    """Pairs ``k < l`` (skill ``k`` more frequent) with ``t_k > t_l`` among the finite half-times; NaN if fewer than
    ``minimum`` are finite."""
    finite = half_times[np.isfinite(half_times)]
    if finite.size < minimum:
        return float("nan")
    return float(np.sum(np.triu(finite[:, None] > finite[None, :], 1)))


def _time_results(ds, config: EmergenceConfig) -> list:
    p, steps, S, eta = ds.frequency.values, ds.time_step.values, config.target_scale, config.learning_rate
    strength = ds.nonlinear_time_strength.values  # (seed, step, skill)
    half = half_times(steps, strength)  # (seed, skill)
    n_s, minimum = p.size, min(MIN_SKILLS, p.size)
    results = [check_over_seeds(
        "mlp_stage_order", f"per seed, the number of pairs of skills whose half-times (R_k/S = 1/2) are out of the "
        f"order of p_k (the theory's order), among the skills that cross within the run; a seed where fewer than "
        f"{minimum} of {n_s} skills cross fails", [_inversions(h, minimum) for h in half], upper=0.0)]
    log_c_authors = np.log(AUTHORS_C_FACTOR * S / config.init_scale**2 - 1)
    time_check, constants, ratios, crossed = _panel_check(
        "mlp_emergence_times_vs_theory", "SGD step T", half, 1 / p, float(steps[-1]), minimum,
        "t_k = C/p_k (C = ln(c) N_free/(4 eta S), the authors' calibrated time curve)",
        (allowed_skills(config)["time"], AUTHORS_WORDS["time"]))
    n_free = 4 * eta * S * constants / log_c_authors
    fits = np.array([[logistic_fit(steps, strength[s, :, k]) for k in range(n_s)] for s in range(half.shape[0])])
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN skills: NaN is the answer
        c_factor = np.nanmedian((np.exp(fits[..., 0]) + 1) * config.init_scale**2 / S, axis=1)
        n_free_fit = np.nanmedian(4 * eta * p[None, :] * S / fits[..., 1], axis=1)
    words = f"(width {config.width}, lr {eta:g}, init {config.init_scale:g}; mean over {half.shape[0]} seeds)"
    results += [time_check, _crossed("time", "SGD steps", crossed, float(steps[-1]), minimum), Measurement(
        "mlp_emergence_time_ratios", "seed-mean measured/predicted half-time per skill of the MLP (NaN: never "
        "crossed)", ratios), Measurement(
        "n_free_calibrated", f"N_free from the fitted t_k = C/p_k with the authors' c = 3.6 S/init^2 - 1 {words}; "
        "Nam et al. (2025): 22", seed_mean(n_free)), Measurement(
        "c_factor_refitted", f"the factor in c = factor * S/init^2 - 1, refitted from the MLP's own sigmoids "
        f"ln(S/R_k - 1) = ln c - m_k T (median over skills) {words}; Nam et al. (2025): 3.6",
        seed_mean(c_factor)), Measurement(
        "n_free_refitted", f"N_free = 4 eta p_k S / m_k from the same sigmoid fits {words}; Nam et al. (2025): 22",
        seed_mean(n_free_fit))]
    return results + [_gap_check(ds, config, constants)]


def _gap_check(ds, config: EmergenceConfig, constants) -> Check:
    """Per seed: the fitted slope of the MLP's t_2 - t_1 against ln(1/init) over the theory's, whose 1/m_k =
    C/(p_k ln c) uses that seed's time constant ``C``."""
    p, S, inits = ds.frequency.values, config.target_scale, ds.gap_init_scale.values
    log_inv, gap = np.log(1 / inits), ds.nonlinear_gap_half_time.values  # (init, seed, skill)
    mlp_gap = gap[:, :, 1] - gap[:, :, 0]
    log_c = np.log(AUTHORS_C_FACTOR * S / inits**2 - 1)
    per_unit = np.polyfit(log_inv, log_c, 1)[0] / np.log(AUTHORS_C_FACTOR * S / config.init_scale**2 - 1)
    ratios = [float(np.polyfit(log_inv, mlp_gap[:, s], 1)[0]) / (per_unit * constants[s] * (1 / p[1] - 1 / p[0]))
              if np.all(np.isfinite(mlp_gap[:, s])) else np.nan for s in range(mlp_gap.shape[1])]
    return check_over_seeds(
        "mlp_stage_gap_grows_like_log_init", "MLP: the stage gap t_2 - t_1 grows like ln(1/init) with the slope of "
        "the calibrated theory 2(1/m_2 - 1/m_1), c = 3.6 S/init^2 - 1 (per seed: fitted slope over the theory's, "
        f"inits {', '.join(f'{v:g}' for v in inits)}; within a factor 2)", ratios, lower=0.5, upper=2.0)


def _data_and_parameter_results(ds, config: EmergenceConfig) -> list:
    p = ds.frequency.values
    minimum = min(MIN_SKILLS, p.size)
    sizes, widths = ds.data_size.values, ds.width.values
    data_cross = log_crossing(sizes, np.moveaxis(ds.nonlinear_data_strength.values, -1, -2), 0.5)
    data_check, d_c, data_ratios, data_crossed = _panel_check(
        "mlp_data_emergence_vs_theory", f"training-set size D (after {config.data_steps} SGD steps)", data_cross,
        1 / p, float(sizes[-1]), minimum, "the D_c-shot theory D_k = 0.75 D_c/p_k",
        (allowed_skills(config)["data"], AUTHORS_WORDS["data"]))
    param_cross = log_crossing(widths, np.moveaxis(ds.nonlinear_param_strength.values, -1, -2), 0.5)
    param_check, n_c, param_ratios, param_crossed = _panel_check(
        "mlp_parameter_emergence_vs_theory", f"hidden width N (after {config.param_steps} Adam steps)", param_cross,
        np.arange(p.size) + 0.5, float(widths[-1]), minimum, "the N_c-shot theory N_k = (k - 1/2) N_c",
        (allowed_skills(config)["parameters"], AUTHORS_WORDS["parameters"]))
    seeds = f"mean over {d_c.size} seeds"
    return [data_check, _crossed("data", "training-set sizes", data_crossed, float(sizes[-1]), minimum),
            Measurement("mlp_data_emergence_ratios", "seed-mean measured/predicted D per skill", data_ratios),
            Measurement("d_c_calibrated", f"D_c of the MLP (width {config.width}, lr {config.learning_rate:g}, "
                        f"{config.data_steps} steps; {seeds}); Nam et al. (2025): {AUTHORS_D_C:g}",
                        seed_mean(d_c / 0.75)),
            param_check, _crossed("parameter", "hidden widths", param_crossed, float(widths[-1]), minimum),
            Measurement("mlp_parameter_emergence_ratios", "seed-mean measured/predicted width per skill",
                        param_ratios),
            Measurement("n_c_calibrated", f"N_c of the MLP (Adam lr {config.param_learning_rate:g}, init "
                        f"{config.param_init_scale:g}, {config.param_steps} steps; mean over {n_c.size} seeds); "
                        f"Nam et al. (2025): {AUTHORS_N_C:g}", seed_mean(n_c)),
            Measurement("padded_units_max_weight", "largest |weight| of the zero-padded hidden units after Adam (0: "
                        "each padded run is a true width-N net; the unit test trains padded against narrow nets)",
                        float(ds.nonlinear_padded_leak))]


def _skill_basis_results(ds, config: EmergenceConfig) -> list:
    p, steps, S = ds.frequency.values, ds.time_step.values, config.target_scale
    results = [compare(ds.theory_time_strength.values, ds.linear_time_strength.values.mean(0), rtol=0.0, atol=0.05,
                       times=steps.astype(float), name="skill_basis_sgd_vs_theory").to_check(
        "the skill-basis model trained by SGD on the MLP's samples follows its sigmoid "
        "R_k/S = 1/(1 + c e^{-2 eta' p_k S T}) (max abs error of the seed mean, SGD noise)")]
    log_inv = np.log(1 / ds.gap_init_scale.values)
    sb_gap = ds.flow_gap_half_time.values[:, 1] - ds.flow_gap_half_time.values[:, 0]
    results.append(check_below(
        "skill_basis_stage_gap_slope", "skill-basis model (exact flow): the gap t_2 - t_1 grows like ln(1/init) with "
        "slope (1/p_2 - 1/p_1)/S (relative error of the fitted slope)",
        abs(float(np.polyfit(log_inv, sb_gap, 1)[0]) / ((1 / p[1] - 1 / p[0]) / S) - 1), 0.02))
    seen = (ds.linear_data_count.values > 0).astype(float)
    results.append(check_below(
        "skill_basis_learns_iff_seen_vs_counts", "skill-basis model trained (engine, GD) on each of "
        f"{SKILL_BASIS_DRAWS} nested data sets: R_k/S = 1 if skill k occurs in the data, ~0 if not, against the "
        "skill counts taken in numpy (max abs difference over D, data sets and skills)",
        float(np.max(np.abs(ds.linear_data_strength.values - seen))), 1e-3))
    results.append(Measurement(
        "skill_basis_one_shot_mean_abs_error", f"mean abs difference between the fraction of the {SKILL_BASIS_DRAWS} "
        "data sets holding skill k and 1 - (1 - p_k)^D (Monte Carlo error of the one-shot law)",
        float(np.mean(np.abs(seen.mean(1) - ds.theory_data_one_shot.values)))))
    exponents, fits = theory.scaling_exponents(config.alpha), scaling_fits(ds, config)
    sources = {"time": "GD on the population loss", "data": "trained to convergence on sampled data sets",
               "parameters": "trained on sampled data, loss on held-out samples",
               "compute": "the GD losses' compute frontier"}
    for name, fitted in fits.items():
        results.append(check_below(
            f"skill_basis_exponent_{name}", f"skill-basis model ({config.scaling_skills} skills, {sources[name]}): "
            f"fitted exponent of L vs {name} {fitted:.4f} vs the asymptotic theory {exponents[name]:.4f} (relative "
            "error; 10% required)", abs(fitted / exponents[name] - 1), 0.10))
    return results


def _mlp_exponents(ds, config: EmergenceConfig) -> list:
    """The MLP's fitted loss exponents (5 skills only: no clean power law, so measurements, not checks)."""
    steps, exponents, losses = ds.time_step.values, theory.scaling_exponents(config.alpha), mlp_losses(ds)
    first = seed_mean(half_times(steps, ds.nonlinear_time_strength.values)[:, 0])
    start = np.searchsorted(steps, first) if np.isfinite(first) else steps.size
    fits = {"time": loglog_slope(*(v[start:] for v in losses["time"])) if start < steps.size - 2 else np.nan,
            **{name: loglog_slope(*losses[name]) for name in ("data", "parameters")}}
    return [Measurement(f"mlp_exponent_{name}", f"fitted exponent of the MLP's L = sum_k p_k L_k vs {name} ("
                        f"{ds.sizes['skill']} skills; theory for many skills {exponents[name]:.3f})", float(value))
            for name, value in fits.items()]
