r"""`solve`: the layerwise linear model of a data set, solved first, then simulated beside the user's networks.

Order of work: check every argument and the data (a one-line `LayerwiseError` before anything trains), preprocess
(`layerwise.solving.data`), find the modes and the closed form (`layerwise.solving.prediction`), train the linear net
and each compared network with the one engine (`layerwise.solving.simulation`), judge (`layerwise.solving.verdicts`)
and collect a `SolveReport` (`layerwise.solving.report`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from layerwise.data.task import Task
from layerwise.engine import gradient_flow, linear_record_steps
from layerwise.engine.optimizers import OPTIMIZERS
from layerwise.errors import LayerwiseError, check_choice, check_finite, check_positive, check_positive_int
from layerwise.init import lambda_balanced_feasible
from layerwise.models import MLP, DeepLinearNetwork, Model
from layerwise.observables import ModeStrengths
from layerwise.precision import enable_x64
from layerwise.seeds import seed_keys, seed_values
from layerwise.solving import data as data_lib
from layerwise.solving import prediction as pred
from layerwise.solving import simulation as sim
from layerwise.solving import verdicts
from layerwise.solving.data import finite_or_none
from layerwise.solving.report import SolveReport, mean_or_nan

MAX_STEPS = 100_000
"""Default step budget's cap: the run is long enough for the slowest predicted mode to reach 90 %, at most this."""
STEP_MARGIN = 1.2
RECORDS = 400
PROBE_SAMPLES = 16
"""Training samples on which the NTK of the kernel distance is evaluated (λ-balanced init)."""


def _check_arguments(depth, init, init_scale, imbalances, width, learning_rate, steps, optimizer, seeds, seed,
                     records):
    check_positive_int("depth", depth)
    check_choice("init", init, pred.INITS)
    check_positive("init_scale", init_scale)
    for name, value in zip(("imbalance", "mode_imbalance"), imbalances):
        check_finite(name, value)
    if width is not None:
        check_positive_int("width", width)
    check_positive("learning_rate", learning_rate)
    if steps is not None:
        check_positive_int("steps", steps)
    if not isinstance(optimizer, str):
        raise LayerwiseError(f"optimizer must be a name ({', '.join(OPTIMIZERS)}), got {optimizer!r}")
    check_choice("optimizer", optimizer, OPTIMIZERS)
    check_positive_int("seeds", seeds)
    check_positive_int("seed", seed, minimum=0)
    check_positive_int("records", records, minimum=2)


def _compared_networks(compare, prepared) -> dict[str, tuple[Model, Any]]:
    """``name -> (model, params or None)`` with each model's input width matched to the preprocessed inputs."""
    networks = {}
    for name, spec in (compare or {}).items():
        if not isinstance(name, str) or not name.isidentifier() or name in ("theory", "linear", "flow", "predicted"):
            raise LayerwiseError(f"compare: network name {name!r} must be an identifier other than theory, linear, "
                                 "flow, predicted")
        model, params = spec if isinstance(spec, tuple) else (spec, None)
        if not isinstance(model, Model):
            raise LayerwiseError(f"compare[{name!r}] must be a layerwise Model (e.g. MLP(...)) or (model, params)")
        if model.in_dim != prepared.in_dim:
            if isinstance(model, MLP) and model.in_dim == prepared.raw_dim and params is None:
                model = MLP(widths=(prepared.in_dim, *model.widths[1:]), activation=model.activation,
                            output_scale=model.output_scale, bias=model.bias)
            else:
                raise LayerwiseError(f"compare[{name!r}] takes {model.in_dim} inputs; the preprocessed data has "
                                     f"{prepared.in_dim} (after dropping {prepared.dropped_directions} whitened "
                                     "directions)")
        if model.out_dim != prepared.out_dim:
            raise LayerwiseError(f"compare[{name!r}] has {model.out_dim} outputs; the targets have {prepared.out_dim}"
                                 f"{' (one-hot classes)' if prepared.kind == 'classification' else ''}")
        networks[name] = (model, params)
    return networks


def solve(
    x,
    y=None,
    *,
    depth: int = 2,
    init: str = "aligned",
    init_scale: float = 1e-3,
    imbalance: float = 0.0,
    mode_imbalance: float = 0.0,
    width: int | None = None,
    learning_rate: float = 0.01,
    steps: int | None = None,
    optimizer: str = "gd",
    compare: Mapping[str, Any] | None = None,
    seeds: int = 1,
    seed: int = 0,
    center: bool = True,
    whiten: bool = True,
    task: str = "auto",
    test_fraction: float = 0.2,
    chunk_rows: int = data_lib.DEFAULT_CHUNK_ROWS,
    target: str | None = None,
    max_steps: int = MAX_STEPS,
    records: int = RECORDS,
    name: str | None = None,
) -> SolveReport:
    r"""Solve the layerwise linear model of ``(x, y)`` and train it, and each compared network, beside the solution.

    The model: a depth-``L`` linear net ``f(x) = W_L ... W_1 x`` on the centred, PCA-whitened inputs ``x_w``
    (n, d_w) fitting the centred targets ``y`` (n, m) (one-hot for class labels) under
    ``L = 1/(2n) ||X_w W^T - Y||_F^2``. Its modes are the SVD ``Sigma_yx = Y^T X_w / n = U diag(s) V^T``; each
    starts at strength ``u_0 = init_scale`` and follows the closed form picked by ``init`` (see
    `layerwise.solving.prediction`), in gradient-flow time ``t = learning_rate * step``. The linear net and each
    compared network train with `layerwise.engine.train` (full batch, same inputs, same loss, same optimiser),
    recording ``u_a(t) = u_a^T (Yhat^T X_w / n) v_a``.

    Args:
        x: inputs (n, d), or a data source for `layerwise.solving.data.load_data` (``"digits"``, ``"mnist1d"``,
            ``"mnist"``, a ``.npz`` or ``.csv`` path) when ``y`` is None.
        y: targets (n, m) or labels (n,) (text allowed).
        depth: layers ``L >= 1`` of the linear net. init: ``"aligned"``, ``"lambda-balanced"``, ``"random"``.
        init_scale: ``u_0 > 0``, each mode's initial end-to-end strength (each layer ``u_0^{1/L}``).
        imbalance: λ of the ``"lambda-balanced"`` init, ``W_2^T W_2 - W_1 W_1^T = λ I`` (the later layer minus the
            earlier, docs/glossary.md). For one release ``imbalance`` with ``init="aligned"`` keeps its older
            meaning, ``mode_imbalance`` C, and warns (`layerwise.solving.prediction.resolve_imbalances`).
        mode_imbalance: C = ``a^2 - b^2`` of every mode of an ``"aligned"`` depth-2 init (the first layer minus the
            second, as `layerwise.theory.imbalanced_mode`; C = -λ).
        width: hidden width ``H`` of the linear net (default ``min(d_w, m)``).
        learning_rate, optimizer: for every network (``"gd"`` default; others compare order only).
        steps: optimiser steps; default long enough for the slowest predicted mode to reach 90 % (x1.2), at most
            ``max_steps``.
        compare: ``name -> Model`` (e.g. ``MLP((d, 256, 256, m), activation="relu")``; an MLP's input width is set
            to ``d_w``) or ``name -> (model, params)`` with params batched over ``seeds``. Default init: Gaussian
            ``N(0, u_0^{2/L'} / fan_in)`` per layer of an ``L'``-layer network, biases 0.
        seeds: runs per network (vmapped; seeds ``seed .. seed + seeds - 1``), giving a band.
        center, whiten, task, test_fraction, chunk_rows, target: preprocessing (`layerwise.solving.data.prepare`).
        records: about how many record steps.
        name: the data set's name in the report (default: the source's, or ``"arrays"``).
    Returns:
        `SolveReport` (``.modes``, ``.history``, ``.checks``, ``.summary``, ``.save(DIR)``).

    Runs in float64 (inside `layerwise.enable_x64`; the previous setting is restored).
    """
    _check_arguments(depth, init, init_scale, (imbalance, mode_imbalance), width, learning_rate, steps, optimizer,
                     seeds, seed, records)
    check_positive_int("max_steps", max_steps)
    imbalance, mode_imbalance = pred.resolve_imbalances(init, float(imbalance), float(mode_imbalance))
    with enable_x64():
        if y is None:
            raw = data_lib.load_data(x, target=target)
            x, y, name = raw.x, raw.y, name or raw.name
        else:
            if target is not None:
                raise LayerwiseError("target names a CSV column; pass it only with a data file, not with arrays")
            name = name or "arrays"
        prepared = data_lib.prepare(x, y, task=task, center=center, whiten=whiten, test_fraction=test_fraction,
                                    seed=seed, chunk_rows=chunk_rows, name=name)
        return _solve_prepared(prepared, depth=depth, init=init, init_scale=float(init_scale),
                               imbalance=imbalance, mode_imbalance=mode_imbalance, width=width,
                               learning_rate=float(learning_rate),
                               steps=steps, optimizer=optimizer, compare=compare, seeds=seeds, seed=seed,
                               max_steps=max_steps, records=records, chunk_rows=chunk_rows,
                               test_fraction=test_fraction)


def _solve_prepared(prepared, *, depth, init, init_scale, imbalance, mode_imbalance, width, learning_rate, steps,
                    optimizer, compare, seeds, seed, max_steps, records, chunk_rows, test_fraction) -> SolveReport:
    modes = pred.data_modes(prepared.cross_covariance)
    prediction = pred.choose_prediction(init, depth, prepared.whitened, imbalance=imbalance,
                                        mode_imbalance=mode_imbalance)
    widths = pred.hidden_widths(depth, width, modes, prepared.in_dim, prepared.out_dim)
    if init == "lambda-balanced" and not bool(lambda_balanced_feasible(imbalance, widths)):
        raise LayerwiseError(f"imbalance λ = {imbalance:g} is infeasible for widths {widths}: λ > 0 needs --width <= "
                             f"{widths[-1]} (outputs), λ < 0 needs --width <= {widths[0]} (inputs)")
    model = DeepLinearNetwork(widths=widths)
    networks = _compared_networks(compare, prepared)
    keys = seed_keys(seed, seeds)
    params = jax.vmap(lambda k: pred.initial_params(k, model, init, modes, init_scale, imbalance=imbalance,
                                                    mode_imbalance=mode_imbalance))(keys)
    compared_params = {}
    for index, (net, (net_model, net_params)) in enumerate(networks.items()):
        if net_params is None:
            scale = init_scale ** (1.0 / net_model.depth)
            net_keys = jax.vmap(lambda k: jax.random.fold_in(k, index + 1))(keys)
            net_params = jax.vmap(lambda k: net_model.init(k, scale, parameterisation="fan_in"))(net_keys)
        net_model.check_params(net_params, runs=seeds, name=f"compare[{net!r}] params")
        compared_params[net] = net_params

    # ---- the prediction
    measured_u0 = pred.initial_strengths(model, params, modes)  # (runs, k)
    u0 = measured_u0 if prediction == "saxe_approximate" and init == "random" else np.full((seeds, modes.count),
                                                                                               init_scale)
    theory_args = dict(depth=depth, init_scale=u0, mode_imbalance=mode_imbalance, params=params)
    if steps is None:
        if prediction == "lambda_balanced":
            guess = np.nanmax(pred.passage_times("saxe", modes, depth=2,
                                                 init_scale=np.full_like(u0, init_scale / 10))["t90"])
            slowest = np.nanmax(pred.passage_times(prediction, modes, horizon=3 * guess, **theory_args)["t90"])
        else:
            slowest = np.nanmax(pred.passage_times(prediction, modes, **theory_args)["t90"])
        steps = max_steps if not np.isfinite(slowest) else int(min(max_steps, max(100, math.ceil(
            STEP_MARGIN * slowest / learning_rate))))
    record_steps = linear_record_steps(steps, max(1, steps // records))
    times = learning_rate * record_steps
    horizon = float(times[-1])
    predicted = pred.passage_times(prediction, modes, horizon=2 * horizon, **theory_args)
    theory_strength = pred.strengths(prediction, times, modes, **theory_args)  # (runs, T, k)

    # ---- the simulations (the one engine)
    test = (prepared.x_test, prepared.y_test, prepared.labels_test, prepared.target_offset)
    statistics = Task.from_statistics(jnp.asarray(prepared.input_covariance), jnp.asarray(prepared.cross_covariance),
                                      prepared.output_second_moment)
    extra = sim.layer_observables() if prediction == "lambda_balanced" else None
    results = {"linear": sim.simulate(model, params, statistics, modes, steps=steps, learning_rate=learning_rate,
                                      optimizer=optimizer, record_steps=record_steps, test=test, extra=extra,
                                      input_covariance=None if prepared.whitened else prepared.input_covariance)}
    samples = Task.from_samples(jnp.asarray(prepared.x_train), jnp.asarray(prepared.y_train)) if networks else None
    for net, (net_model, _) in networks.items():
        results[net] = sim.simulate(net_model, compared_params[net], samples, modes, steps=steps,
                                    learning_rate=learning_rate, optimizer=optimizer, record_steps=record_steps,
                                    test=test)
    flow = None
    if init == "random":
        right = modes.V if prepared.whitened else prepared.input_covariance @ modes.V
        flow = gradient_flow(model, params, statistics, times, on_divergence="mark",
                             observables={"strength": ModeStrengths(jnp.asarray(modes.U), jnp.asarray(right))})

    return _collect(_Run(prepared=prepared, modes=modes, prediction=prediction, model=model, params=params,
                         networks=networks, results=results, flow=flow, theory_strength=theory_strength,
                         predicted=predicted, times=times, record_steps=record_steps, measured_u0=measured_u0,
                         config=dict(depth=depth, init=init, init_scale=init_scale, imbalance=imbalance,
                                     mode_imbalance=mode_imbalance, width=width, learning_rate=learning_rate, steps=steps, optimizer=optimizer,
                                     seeds=seeds, seed=seed, center=prepared.centred, whiten=prepared.whitened,
                                     task=prepared.kind, test_fraction=test_fraction, chunk_rows=chunk_rows,
                                     max_steps=max_steps)))


@dataclass(frozen=True)
class _Run:
    """What `_solve_prepared` computed and `_collect` reports: the data, modes, closed form and each network's run."""

    prepared: Any
    modes: Any
    prediction: str
    model: DeepLinearNetwork
    params: Any
    networks: dict[str, tuple[Model, Any]]
    results: dict[str, Any]
    flow: Any
    theory_strength: np.ndarray  # (runs, T, k)
    predicted: dict[str, np.ndarray]  # passage times, each (runs, k)
    times: np.ndarray
    record_steps: np.ndarray
    measured_u0: np.ndarray  # (runs, k)
    config: dict


@dataclass(frozen=True)
class _Curves:
    """Every network's curves stacked ``(network, seed, time, ...)``, ``theory`` first (NaN where not recorded)."""

    names: list[str]
    strength: np.ndarray
    group_strength: np.ndarray
    loss: np.ndarray
    test_loss: np.ndarray
    test_accuracy: np.ndarray
    rank: np.ndarray
    status: dict[str, list[str]]
    theory_layers: tuple[np.ndarray, np.ndarray] | None  # λ-balanced closed form's (W_1(t), W_2(t))


@dataclass(frozen=True)
class _Times:
    """The per-mode times Dataset and the per-group half-times (predicted, and each trained network's)."""

    modes_ds: xr.Dataset
    group_times: dict[str, np.ndarray]
    predicted_group: np.ndarray


@dataclass(frozen=True)
class _Verdicts:
    """The checks, the half-time window they used, and the warnings and notes beside them."""

    checks: list
    window: Any
    warnings: list[str]
    notes: list[str]


def _blank(*shape) -> np.ndarray:
    """A NaN array of ``shape``."""
    return np.full(shape, np.nan)


def _collect(run: _Run) -> SolveReport:
    """The `SolveReport`: the history and times Datasets, the verdicts, the measurements and the summary."""
    curves = _stack_curves(run)
    distance = _kernel_distance(run, curves)
    history_ds = _history_dataset(run, curves, distance)
    times = _times_dataset(run, curves, history_ds.seed.values)
    judged = _verdicts(run, times, distance)
    measurements, notes = _measurements(run, curves, distance)
    judged.notes.extend(notes)
    summary = _summary(run, curves, times, judged, measurements)
    return SolveReport(times.modes_ds, history_ds, judged.checks, summary)


def _stack_curves(run: _Run) -> _Curves:
    """`_Curves`: the closed form's curves (row 0) and each trained network's recorded history after it."""
    modes, prepared, theory_strength = run.modes, run.prepared, run.theory_strength
    seeds = theory_strength.shape[0]
    names = ["theory", "linear", *run.networks] + (["flow"] if run.flow is not None else [])
    T = run.times.size
    member = sim.membership(modes)
    strength = _blank(len(names), seeds, T, modes.count)
    group_strength = _blank(len(names), seeds, T, modes.group_count)
    loss, test_loss, test_accuracy = (_blank(len(names), seeds, T) for _ in range(3))
    strength[0] = theory_strength
    group_strength[0] = np.sqrt(np.einsum("rta,ag->rtg", theory_strength**2, member))
    theory_layers = None
    if run.prediction == "lambda_balanced":
        W1_theory, W2_theory = theory_layers = _lambda_layers(run.times, run.params, modes)
        maps = W2_theory @ W1_theory
        target = prepared.cross_covariance
        loss[0] = (0.5 * np.sum(maps**2, axis=(-2, -1)) - np.sum(maps * target, axis=(-2, -1))
                   + 0.5 * prepared.output_second_moment)
    else:
        loss[0] = pred.mode_loss(theory_strength, modes, prepared.output_second_moment)
    status = {}
    for i, name in enumerate(names[1:], start=1):
        history = (run.flow.history if name == "flow" else run.results[name].history)
        strength[i] = history.strength.values
        if "group_strength" in history:
            group_strength[i] = history.group_strength.values
        else:
            group_strength[i] = np.sqrt(np.einsum("rta,ag->rtg", history.strength.values**2, member))
        loss[i] = history.loss.values
        if "test_loss" in history:
            test_loss[i] = history.test_loss.values
        if "test_accuracy" in history:
            test_accuracy[i] = history.test_accuracy.values
        status[name] = [["finished", "diverged", "max_steps"][int(v)] for v in history.status.values]
    rank = sim.learned_rank(strength, modes.s).astype(float)
    rank[np.isnan(strength).all(axis=-1)] = np.nan
    return _Curves(names, strength, group_strength, loss, test_loss, test_accuracy, rank, status, theory_layers)


def _kernel_distance(run: _Run, curves: _Curves) -> np.ndarray | None:
    """The NTK kernel distance from init (network, seed, time) of the theory and linear rows (λ-balanced only)."""
    if curves.theory_layers is None:
        return None
    W1_theory, W2_theory = curves.theory_layers
    seeds = run.theory_strength.shape[0]
    probe = run.prepared.x_train[:PROBE_SAMPLES]
    distance = _blank(len(curves.names), seeds, run.times.size)
    lin = run.results["linear"].history
    for r in range(seeds):
        distance[0, r] = sim.kernel_distance_path(W1_theory[r], W2_theory[r], probe)
        distance[1, r] = sim.kernel_distance_path(lin.W1.values[r], lin.W2.values[r], probe)
    return distance


def _history_dataset(run: _Run, curves: _Curves, distance: np.ndarray | None) -> xr.Dataset:
    """The history Dataset over ``(network, seed, time, mode | group)`` (``SolveReport.history``)."""
    modes = run.modes
    coords = {"network": curves.names, "seed": seed_values(run.config["seed"], run.theory_strength.shape[0]),
              "time": run.times, "step": ("time", run.record_steps), "mode": np.arange(modes.count),
              "group": np.arange(modes.group_count), "singular_value": ("mode", modes.s),
              "mode_group": ("mode", modes.groups), "group_norm": ("group", modes.group_norms())}
    data_vars = {"strength": (("network", "seed", "time", "mode"), curves.strength),
                 "group_strength": (("network", "seed", "time", "group"), curves.group_strength),
                 "loss": (("network", "seed", "time"), curves.loss),
                 "test_loss": (("network", "seed", "time"), curves.test_loss),
                 "test_accuracy": (("network", "seed", "time"), curves.test_accuracy),
                 "rank": (("network", "seed", "time"), curves.rank)}
    if distance is not None:
        data_vars["kernel_distance"] = (("network", "seed", "time"), distance)
    history_ds = xr.Dataset(data_vars, coords=coords,
                            attrs={"prediction": run.prediction, "data": run.prepared.name,
                                   "time_definition": "gradient-flow time t = learning_rate * step"})
    history_ds["strength"].attrs["definition"] = "u_a(t) = u_a^T (Yhat^T X / n) v_a (theory: closed form)"
    return history_ds


def _times_dataset(run: _Run, curves: _Curves, seed_coord) -> _Times:
    """`_Times`: predicted and crossed per-mode times (``SolveReport.modes``) and the per-group half-times."""
    modes, predicted, times = run.modes, run.predicted, run.times
    group_norms = modes.group_norms()
    within_run = predicted["half_time"] <= times[-1]  # (runs, k)
    mode_vars = {"singular_value": ("mode", modes.s), "group": ("mode", modes.groups),
                 "initial_strength": ("mode", run.measured_u0.mean(axis=0)),
                 "predicted_within_run": ("mode", np.all(within_run, axis=0))}
    for key in ("t10", "half_time", "t90"):
        mode_vars[f"predicted_{key}"] = ("mode", mean_or_nan(predicted[key]))
        mode_vars[f"predicted_{key}_seeds"] = (("seed", "mode"), predicted[key])
    group_times = {}
    for i, name in enumerate(curves.names[1:], start=1):
        crossed = sim.crossing_times(times, curves.strength[i], modes.s)
        for key, value in crossed.items():
            mode_vars[f"{name}_{key}"] = ("mode", mean_or_nan(value))
            mode_vars[f"{name}_{key}_seeds"] = (("seed", "mode"), value)
        group_times[name] = mean_or_nan(sim.crossing_times(times, curves.group_strength[i], group_norms)["half_time"])
    predicted_group = mean_or_nan(sim.crossing_times(times, curves.group_strength[0], group_norms)["half_time"])
    modes_ds = xr.Dataset(mode_vars, coords={"mode": np.arange(modes.count), "seed": seed_coord})
    return _Times(modes_ds, group_times, predicted_group)


def _verdicts(run: _Run, times: _Times, distance: np.ndarray | None) -> _Verdicts:
    """`_Verdicts`: the kernel-distance, learning-order, half-time and flow checks, with warnings and notes."""
    modes, networks, config, modes_ds = run.modes, run.networks, run.config, times.modes_ds
    checks, notes, warnings = [], [], []
    if distance is not None:
        checks.append(verdicts.kernel_distance_check(distance[1], distance[0]))
    gd = config["optimizer"] in ("gd", "sgd")
    window = (verdicts.APPROXIMATE_WINDOW if run.prediction == "saxe_approximate"
              else verdicts.exact_window(config["learning_rate"], modes.s[0]))
    for name in ["linear", *networks]:
        checks.append(verdicts.learning_order_check(name, times.group_times[name], modes.s))
    if gd:
        checks.append(verdicts.half_time_check("linear", modes_ds.linear_half_time.values,
                                               modes_ds.predicted_half_time.values,
                                               modes_ds.predicted_within_run.values, window))
        group_within = np.isfinite(times.predicted_group)
        for name in networks:
            checks.append(verdicts.half_time_check(name, times.group_times[name], times.predicted_group,
                                                   group_within, verdicts.COMPARED_WINDOW, kind="factor",
                                                   unit="group"))
        if run.flow is not None:
            checks.append(verdicts.flow_check(modes_ds.linear_half_time.values, modes_ds.flow_half_time.values,
                                              np.isfinite(modes_ds.flow_half_time.values),
                                              verdicts.exact_window(config["learning_rate"], modes.s[0])))
    else:
        notes.append(f"optimizer {config['optimizer']}: the closed forms are gradient-flow laws, so only the learning "
                     "order is compared (no half-time window).")
    gd_error = pred.gd_error(config["learning_rate"], modes)
    if gd and gd_error > pred.GD_WARNING:
        warnings.append(f"expected GD discretisation error eta*s_0/2 = {gd_error:.3g} exceeds "
                        f"{pred.GD_WARNING:.0%}: predicted times are for gradient flow; lower --learning-rate for "
                        "a closer match")
    if run.prediction == "saxe_approximate":
        notes.append("prediction saxe_approximate: the Saxe law from each mode's initial strength; the modes are not "
                     "decoupled, so it is an approximation" + ("; the exact flow of the same network is reported "
                                                              "as flow_half_time" if run.flow is not None else ""))
    if np.any(~modes_ds.predicted_within_run.values):
        warnings.append(f"{int(np.sum(~modes_ds.predicted_within_run.values))} mode(s) are predicted to reach half "
                        "strength only after the run ends (within_run = false); run more --steps to see them")
    if networks:
        notes.append("compared networks train on the samples in memory (the linear net needs only the chunked "
                     "statistics).")
    return _Verdicts(checks, window, warnings, notes)


def _measurements(run: _Run, curves: _Curves, distance: np.ndarray | None) -> tuple[dict, list[str]]:
    """``(measurements, notes)``: the predictions and measurements beside the verdicts, and a note on them."""
    prepared, modes, networks, names = run.prepared, run.modes, run.networks, curves.names
    loss, rank, test_loss, test_accuracy = curves.loss, curves.rank, curves.test_loss, curves.test_accuracy
    measurements, notes = {}, []
    if distance is not None:
        measurements["kernel_distance_final_theory"] = float(np.mean(distance[0, :, -1]))
        measurements["kernel_distance_final_linear"] = float(np.mean(distance[1, :, -1]))
    plateaus = pred.loss_plateaus(modes, prepared.output_second_moment)
    measurements.update({
        "gd_relative_error": pred.gd_error(run.config["learning_rate"], modes),
        "loss_plateaus_predicted": [float(v) for v in plateaus],
        "final_loss_theory": float(np.mean(loss[0, :, -1])),
        "final_loss_linear": float(np.nanmean(loss[1, :, -1])),
        "weight_to_target_ratio": float(np.mean(pred.weight_to_target_ratio(run.model, run.params, modes))),
        "final_rank_predicted": float(np.mean(rank[0, :, -1])),
        "final_rank_linear": float(np.nanmean(rank[1, :, -1])),
    })
    for name in networks:
        measurements[f"final_loss_{name}"] = float(np.nanmean(loss[names.index(name), :, -1]))
        measurements[f"final_rank_{name}"] = float(np.nanmean(rank[names.index(name), :, -1]))
    for name in ["linear", *networks]:
        i = names.index(name)
        if np.isfinite(test_loss[i]).any():
            measurements[f"final_test_loss_{name}"] = float(np.nanmean(test_loss[i, :, -1]))
        if np.isfinite(test_accuracy[i]).any():
            measurements[f"final_test_accuracy_{name}"] = float(np.nanmean(test_accuracy[i, :, -1]))
    if prepared.kind == "classification":
        measurements.update(pred.class_mean_structure(prepared.y_train, prepared.labels_train, prepared.out_dim))
        for name, (net_model, _) in networks.items():
            if isinstance(net_model, MLP) and net_model.depth >= 2 and measurements["missing_classes"] == 0:
                nc = sim.final_neural_collapse(net_model, run.results[name].params, prepared.x_train,
                                               prepared.labels_train, prepared.out_dim)
                for metric, values in nc.items():
                    measurements[f"{name}_{metric}"] = float(np.nanmean(values))
        notes.append("neural-collapse metrics (NC1-NC4, Papyan et al. 2020) on a compared network's last hidden layer "
                     "are measurements beside the predicted class-mean structure (rank C-1, simplex ETF after "
                     "centring), not verdicts.")
    return measurements, notes


def _mode_entries(run: _Run, curves: _Curves, modes_ds: xr.Dataset) -> list[dict]:
    """The summary's ``modes``: one JSON-ready entry per mode, predicted and crossed times."""
    entries = []
    for a in range(run.modes.count):
        entry = {"index": a, "singular_value": float(run.modes.s[a]), "group": int(run.modes.groups[a]),
                 "predicted_half_time": finite_or_none(modes_ds.predicted_half_time[a]),
                 "within_run": bool(modes_ds.predicted_within_run[a]),
                 "predicted_t10": finite_or_none(modes_ds.predicted_t10[a]),
                 "predicted_t90": finite_or_none(modes_ds.predicted_t90[a])}
        for name in curves.names[1:]:
            keys = ("half_time",) if name == "flow" else ("half_time", "t10", "t90")
            for key in keys:
                entry[f"{name}_{key}"] = finite_or_none(modes_ds[f"{name}_{key}"][a])
        entries.append(entry)
    return entries


def _summary(run: _Run, curves: _Curves, times: _Times, judged: _Verdicts, measurements: dict) -> dict:
    """The JSON-ready summary (``summary.json`` without the checks)."""
    prepared, modes, networks = run.prepared, run.modes, run.networks
    group_norms = modes.group_norms()
    return {
        "prediction": run.prediction, "whitened": prepared.whitened,
        "dropped_directions": prepared.dropped_directions, "omitted_modes": modes.omitted,
        "modes": _mode_entries(run, curves, times.modes_ds),
        "groups": [{"index": j, "modes": [int(a) for a in np.flatnonzero(modes.groups == j)],
                    "norm": float(group_norms[j]), "predicted_half_time": finite_or_none(times.predicted_group[j]),
                    **{f"{name}_half_time": finite_or_none(times.group_times[name][j])
                       for name in ["linear", *networks]}}
                   for j in range(modes.group_count)],
        "networks": ["linear", *networks], "status": curves.status,
        "linear_widths": list(run.model.widths),
        "compared": {name: {"widths": list(getattr(m, "widths", ())), "type": type(m).__name__,
                            "activation": getattr(m, "activation", None)} for name, (m, _) in networks.items()},
        "half_time_window": judged.window, "measurements": measurements, "warnings": judged.warnings,
        "notes": judged.notes,
        "data": {"name": prepared.name, "kind": prepared.kind, "n_train": prepared.n_train,
                 "n_test": prepared.n_test, "raw_dim": prepared.raw_dim, "in_dim": prepared.in_dim,
                 "out_dim": prepared.out_dim, "centred": prepared.centred, "classes": list(prepared.classes or [])},
        "config": run.config,
    }


def _lambda_layers(times, params, modes):
    """The λ-balanced closed form's layers ``W_1(t)`` (runs, T, H, d), ``W_2(t)`` (runs, T, m, H)."""
    from layerwise import theory

    W1, W2 = params
    target = jnp.asarray(modes.U * modes.s @ modes.V.T)
    layers = [theory.lambda_balanced_solution(jnp.asarray(times), W1[r], W2[r], target, hidden_basis="symmetric")
              for r in range(W1.shape[0])]
    return np.stack([np.asarray(w1) for w1, _ in layers]), np.stack([np.asarray(w2) for _, w2 in layers])
