"""Emergence experiment: the skill-basis model under the engine vs theory's R_k(t); padded MLP widths; a tiny run."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from layerwise import theory
from layerwise.data import Task
from layerwise.data.sparse_parity import sparse_parity_problem
from layerwise.errors import LayerwiseError
from layerwise.experiments import get_experiment, no_progress
from layerwise.experiments.emergence import EmergenceConfig, _converged_strengths, _one_skill_task
from layerwise.models import MLP, DiagonalLinearNetwork, mlp_init
from layerwise.engine import gradient_flow, train
from layerwise.report.claims import claim_checks

S, ALPHA, R0 = 5.0, 0.6, 1e-4


def _population_task(p):
    """The skill-basis model's population task: E[g g^T] = diag(p), E[y g] = S p, E[y^2] = S^2."""
    return Task.from_statistics(np.diag(p), S * p[None, :], S * S)


def test_skill_basis_flow_matches_theory_sigmoids():
    """Exact flow of f = sum_k a_k b_k g_k from a = b = sqrt(R0): R_k/S = 1/(1 + (S/R0 - 1) e^{-2 p_k S t}),
    relative error < 1e-7 (Dopri8 at rtol 1e-10)."""
    p = np.asarray(theory.skill_frequencies(5, ALPHA))
    model = DiagonalLinearNetwork(dim=5, depth=2)
    times = np.linspace(0.0, 30.0, 61)
    flow = gradient_flow(model, jnp.full((1, 2, 5), np.sqrt(R0)), _population_task(p), times,
                         observables={"u": (lambda m, q, t: m.end_to_end(q)[0], ("skill",))}).history
    expected = np.asarray(theory.skill_strength(times, p, S, R0))
    assert np.max(np.abs(flow.u.values[0] / expected - 1)) < 1e-7
    assert np.all(np.diff(np.argsort(-flow.u.values[0, 20])) != 0)  # distinct stages at t = 10


def test_skill_basis_sgd_on_samples_tracks_population_gd():
    """SGD (batch 2000) on fresh sparse-parity samples in the skill basis follows full-batch GD on the population
    moments at the same lr (only sampling noise differs): max |R_k^SGD - R_k^GD| / S < 0.03. (GD vs the sigmoid is
    the flow test above plus an O(lr) time discretisation.)"""
    problem = sparse_parity_problem(0)
    p = problem.frequencies
    task = problem.online_task(jax.random.PRNGKey(0), 100, features=True)
    model = DiagonalLinearNetwork(dim=5, depth=2)
    observables = {"u": (lambda m, q, t: m.end_to_end(q)[0], ("skill",))}
    kwargs = dict(steps=600, learning_rate=0.05, observables=observables)
    sgd = train(model, jnp.full((1, 2, 5), np.sqrt(R0)), task, batch_size=2000, key=jax.random.PRNGKey(1), **kwargs)
    gd = train(model, jnp.full((1, 2, 5), np.sqrt(R0)), _population_task(p), **kwargs)
    assert np.max(np.abs(sgd.history.u.values - gd.history.u.values)) / S < 0.03


def test_decoupled_one_skill_runs_equal_the_full_model():
    """E[g_k g_l] = delta_kl p_k makes the loss a sum over skills: the n_s one-skill runs (used for the scaling laws)
    are the full model's GD coordinate by coordinate (equal to 1e-12)."""
    p = np.asarray(theory.skill_frequencies(40, ALPHA))
    full = train(DiagonalLinearNetwork(dim=40), jnp.full((1, 2, 40), np.sqrt(R0)), _population_task(p), steps=300,
                 learning_rate=0.1, record_steps=np.array([300]))
    split = train(DiagonalLinearNetwork(dim=1), jnp.full((40, 2, 1), np.sqrt(R0)), _one_skill_task(p, S),
                  steps=300, learning_rate=0.1, task_batched=True, record_steps=np.array([300]))
    np.testing.assert_allclose(np.asarray(split.params)[:, :, 0].T, np.asarray(full.params)[0], rtol=1e-12)
    np.testing.assert_allclose(split.history.loss.values[:, -1].sum(), full.history.loss.values[0, -1], rtol=1e-12)
    # converged limit: a_k b_k = S for every skill with data, R0 (untouched) for a skill never seen.
    strengths = _converged_strengths(np.array([0.5, 0.01, 0.0]), S, R0)
    np.testing.assert_allclose(strengths, [S, S, R0], rtol=1e-9)


def test_zero_padded_hidden_units_train_as_a_narrower_mlp():
    """A width-6 ReLU MLP whose units 2..5 are zero trains exactly as the width-2 MLP (SGD and Adam)."""
    problem = sparse_parity_problem(0)
    narrow, wide = MLP(widths=(37, 2, 1)), MLP(widths=(37, 6, 1))
    (w1, b1), (w2, b2) = mlp_init(jax.random.PRNGKey(0), narrow, 0.3, 0.3, parameterisation="standard")
    padded = ((jnp.zeros((6, 37)).at[:2].set(w1), jnp.zeros(6).at[:2].set(b1)),
              (jnp.zeros((1, 6)).at[:, :2].set(w2), b2))
    task = problem.online_task(jax.random.PRNGKey(1), 50)
    for optimizer in ("sgd", "adam"):
        kwargs = dict(steps=30, optimizer=optimizer, learning_rate=0.01, batch_size=64, key=jax.random.PRNGKey(2),
                      loss="mean_squared_error", record_steps=np.array([30]))
        a = train(narrow, jax.tree_util.tree_map(lambda v: v[None], ((w1, b1), (w2, b2))), task, **kwargs)
        b = train(wide, jax.tree_util.tree_map(lambda v: v[None], padded), task, **kwargs)
        (aw1, ab1), (aw2, _) = a.params
        (bw1, bb1), (bw2, _) = b.params
        np.testing.assert_allclose(np.asarray(bw1[0, :2]), np.asarray(aw1[0]), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(np.asarray(bw2[0, :, :2]), np.asarray(aw2[0]), rtol=1e-10, atol=1e-12)
        assert np.all(np.asarray(bw1[0, 2:]) == 0) and np.all(np.asarray(bb1[0, 2:]) == 0)
        assert np.all(np.asarray(bw2[0, :, 2:]) == 0)
        np.testing.assert_allclose(b.history.loss.values, a.history.loss.values, rtol=1e-10)


def test_config_validation_names_the_field():
    with pytest.raises(LayerwiseError, match="data_sizes"):
        EmergenceConfig(data_sizes=(100, 50, 200))
    with pytest.raises(LayerwiseError, match="fit_skills"):
        EmergenceConfig(scaling_skills=100, fit_skills=(8, 50))
    with pytest.raises(LayerwiseError, match="init"):
        EmergenceConfig(init=-1.0)


TINY = dict(seeds=2, width=64, learning_rate=0.05, batch_size=128, time_steps=1500, gap_inits=(0.03,),
            gap_steps=1200, data_sizes=(300, 1000, 3000), data_seeds=1, data_steps=300, param_widths=(1, 2, 4),
            param_steps=200, eval_size=200, scaling_skills=2000, fit_skills=(5, 30), scaling_data_seeds=2)


@pytest.mark.slow
def test_tiny_run_structure_and_exact_checks():
    experiment = get_experiment("emergence")
    config = experiment.make_config(**TINY)
    assert dataclasses.asdict(config)["width"] == 64
    calls = []
    outcome = experiment.run(config, lambda d: calls.append(d))
    assert len(calls) == experiment.units(config)
    checks = {c.name: c for c in outcome.checks}
    assert claim_checks("emergence") <= set(checks)  # every check a claim relies on exists
    for name in ("skill_basis_stage_gap_slope", "padded_units_stay_zero", "skill_basis_one_shot",
                 "skill_basis_exponent_parameters"):
        assert checks[name].passed, checks[name]
    assert {"mlp_stage_order", "mlp_emergence_times_vs_theory", "mlp_data_emergence_vs_theory",
            "mlp_parameter_emergence_vs_theory", "skill_basis_exponent_time", "mlp_exponents_reported"} <= set(checks)
    ds = outcome.dataset
    assert ds.time_strength_mlp.dims == ("seed", "time_step", "skill")
    assert ds.data_strength_mlp.dims == ("data_seed", "data_size", "skill")
    assert ds.param_strength_mlp.dims == ("seed", "width", "skill")
    assert list(ds.skill.values) == [1, 2, 3, 4, 5] and list(ds.width.values) == [1, 2, 4]
    assert np.all(np.isfinite(ds.time_strength_theory.values)) and "emergence" in outcome.figures
    no_progress("done")
