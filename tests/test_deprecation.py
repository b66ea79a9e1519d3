"""Renamed names keep working for one release and warn (`layerwise._deprecation`): public arguments, a renamed
function, and experiment config fields through ``--set``, TOML files, ``--grid``/sweep specs and Python."""

import inspect
import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from layerwise import data, init, metrics, observables, theory
from layerwise._deprecation import (RenamedArgumentWarning, RenamedFieldWarning, field_aliases, renamed_arguments,
                                    renamed_fields, reordered_arguments, resolve_renamed_fields)
from layerwise.cli import main
from layerwise.errors import LayerwiseError
from layerwise.experiments import get_experiment, load_plugins
from layerwise.experiments.config import build_config, config_to_toml
from layerwise.models import DeepLinearNetwork, DiagonalLinearNetwork, EmbeddingMLP, MLP, embedding_mlp_init, mlp_init
from layerwise.solving.prediction import Modes, imbalanced_layers, passage_times, strengths

ROOT = Path(__file__).resolve().parents[1]
KEY = jax.random.PRNGKey(0)
TWO = DiagonalLinearNetwork(dim=2)
DEEP = DeepLinearNetwork(widths=(3, 4, 2))
NARROW = DeepLinearNetwork(widths=(3, 2, 2))
EMBED = EmbeddingMLP(5, 2, 4, 5, activation="relu")
DEEP_PARAMS = DEEP.init(KEY, 0.5)
DIAGONAL3 = DiagonalLinearNetwork(dim=2, depth=3)
DIAGONAL3_PARAMS = DIAGONAL3.init(KEY, 0.5)
PARITY = data.sparse_parity_problem(jax.random.PRNGKey(0))
MODES = Modes(U=np.eye(2), s=np.array([2.0, 1.0]), V=np.eye(2), groups=np.array([0, 1]), omitted=0)


def test_decorator_passes_the_old_keyword_on_and_names_old_and_new():
    @renamed_arguments(u0="init_scale")
    def mode(t, init_scale=1.0):
        return t * init_scale

    with pytest.warns(DeprecationWarning, match="mode: argument 'u0' is renamed 'init_scale'"):
        assert mode(2.0, u0=3.0) == 6.0
    assert mode(2.0, init_scale=3.0) == 6.0 and mode(2.0, 3.0) == 6.0  # new names and positions: no warning
    assert list(inspect.signature(mode).parameters) == ["t", "init_scale"]
    with pytest.raises(LayerwiseError, match="'u0' is the old name of 'init_scale'; give 'init_scale' only"):
        mode(1.0, u0=1.0, init_scale=2.0)


# (call with the old keyword, the same call with the new one): equal results, and the old one warns
RENAMED_CALLS = {
    "theory.saxe_mode": (lambda: theory.saxe_mode(1.0, s=2.0, u0=0.1),
                         lambda: theory.saxe_mode(1.0, target_strength=2.0, init_scale=0.1)),
    "theory.learning_time": (lambda: theory.learning_time(s=2.0, u0=0.1),
                             lambda: theory.learning_time(target_strength=2.0, init_scale=0.1)),
    "theory.imbalanced_mode": (
        lambda: theory.imbalanced_mode(1.0, s=2.0, u0=0.1, imbalance=0.3, variance=2.0),
        lambda: theory.imbalanced_mode(1.0, target_strength=2.0, init_scale=0.1, mode_imbalance=0.3,
                                       input_variance=2.0)),
    "theory.linear_mode": (lambda: theory.linear_mode(1.0, s=2.0, theta0=0.5, variance=2.0),
                           lambda: theory.linear_mode(1.0, target_strength=2.0, init_scale=0.5, input_variance=2.0)),
    "theory.skill_strength": (lambda: theory.skill_strength(3.0, jnp.array([0.6, 0.4]), S=2.0, R0=1e-3),
                              lambda: theory.skill_strength(3.0, jnp.array([0.6, 0.4]), target_strength=2.0,
                                                            init_scale=1e-3)),
    "theory.loss_vs_data": (lambda: theory.loss_vs_data(3.0, jnp.array([0.6, 0.4]), S=2.0),
                            lambda: theory.loss_vs_data(3.0, jnp.array([0.6, 0.4]), target_strength=2.0)),
    "theory.azulay_solution": (
        lambda: theory.azulay_solution(jnp.array([[1.0, 0.5]]), jnp.array([1.0]), imbalance=jnp.array([0.2, 0.1]),
                                       w0=jnp.array([0.05, 0.0])),
        lambda: theory.azulay_solution(jnp.array([[1.0, 0.5]]), jnp.array([1.0]),
                                       mode_imbalance=jnp.array([0.2, 0.1]), init_scale=jnp.array([0.05, 0.0]))),
    "init.gaussian_init": (lambda: init.gaussian_init(KEY, DEEP, scale=0.1),
                           lambda: init.gaussian_init(KEY, DEEP, init_scale=0.1)),
    "init.balanced_diagonal_init": (lambda: init.balanced_diagonal_init(TWO, mode_strengths=0.1, imbalance=0.2),
                                    lambda: init.balanced_diagonal_init(TWO, init_scale=0.1, mode_imbalance=0.2)),
    "init.lambda_balanced_init": (lambda: init.lambda_balanced_init(KEY, NARROW, singular_values=0.3, imbalance=-0.5),
                                  lambda: init.lambda_balanced_init(KEY, NARROW, init_scale=0.3, imbalance=-0.5)),
    "init.mirrored_init": (lambda: init.mirrored_init(KEY, DEEP, scale=0.1, imbalance=0.5),
                           lambda: init.mirrored_init(KEY, DEEP, init_scale=0.1, scale_difference=0.5)),
    "models.mlp_init": (lambda: mlp_init(KEY, MLP(widths=(3, 4, 2)), weight_scale=0.5),
                        lambda: mlp_init(KEY, MLP(widths=(3, 4, 2)), init_scale=0.5)),
    "models.embedding_mlp_init": (lambda: embedding_mlp_init(KEY, EMBED, weight_scale=0.5, imbalance=2.0),
                                  lambda: embedding_mlp_init(KEY, EMBED, init_scale=0.5, layer_ratio=2.0)),
    "Model.init": (lambda: DEEP.init(KEY, scale=0.2), lambda: DEEP.init(KEY, init_scale=0.2)),
    "data.diagonal_task": (lambda: data.diagonal_task(target_weights=[2.0, 1.0]).cross_covariance,
                           lambda: data.diagonal_task(target_strength=[2.0, 1.0]).cross_covariance),
    "data.teacher_task": (lambda: data.teacher_task(KEY, singular_values=[2.0], in_dim=2, out_dim=2)[1],
                          lambda: data.teacher_task(KEY, target_strength=[2.0], in_dim=2, out_dim=2)[1]),
    "data.sparse_parity_problem": (lambda: data.sparse_parity_problem(seed=jax.random.PRNGKey(3)).skill_bits,
                                   lambda: data.sparse_parity_problem(key=jax.random.PRNGKey(3)).skill_bits),
    "data.one_hot": (lambda: data.one_hot([0, 1], 2, scale=3.0), lambda: data.one_hot([0, 1], 2, target_scale=3.0)),
    "data.modular_addition": (lambda: data.modular_addition(11, 0.5, seed=jax.random.PRNGKey(3)),
                              lambda: data.modular_addition(11, 0.5, key=jax.random.PRNGKey(3))),
    "MultitaskSparseParity.dataset": (lambda: PARITY.dataset(seed=jax.random.PRNGKey(11), size=6),
                                      lambda: PARITY.dataset(key=jax.random.PRNGKey(11), size=6)),
    "solving.passage_times": (
        lambda: passage_times("saxe", MODES, depth=2, u0=np.full((1, 2), 1e-3)),
        lambda: passage_times("saxe", MODES, depth=2, init_scale=np.full((1, 2), 1e-3))),
    "solving.strengths": (
        lambda: strengths("imbalanced", [0.0, 1.0], MODES, depth=2, u0=np.full((1, 2), 1e-3), imbalance=0.5),
        lambda: strengths("imbalanced", [0.0, 1.0], MODES, depth=2, init_scale=np.full((1, 2), 1e-3),
                          mode_imbalance=0.5)),
    "solving.strengths(imbalance=)": (
        lambda: strengths("imbalanced", [0.0, 1.0], MODES, depth=2, init_scale=np.full((1, 2), 1e-3), imbalance=0.5),
        lambda: strengths("imbalanced", [0.0, 1.0], MODES, depth=2, init_scale=np.full((1, 2), 1e-3),
                          mode_imbalance=0.5)),
    "solving.passage_times(imbalance=)": (
        lambda: passage_times("imbalanced", MODES, depth=2, init_scale=np.full((1, 2), 1e-3), imbalance=0.5),
        lambda: passage_times("imbalanced", MODES, depth=2, init_scale=np.full((1, 2), 1e-3), mode_imbalance=0.5)),
    "solving.imbalanced_layers": (lambda: imbalanced_layers(u0=0.2, imbalance=0.5),
                                  lambda: imbalanced_layers(init_scale=0.2, mode_imbalance=0.5)),
    "metrics.skill_strength": (lambda: metrics.skill_strength(jnp.array([1.0, -1.0]), jnp.array([2.0, -2.0])),
                               lambda: metrics.measured_skill_strength(jnp.array([1.0, -1.0]),
                                                                       jnp.array([2.0, -2.0]))),
}


@pytest.mark.parametrize("name", sorted(RENAMED_CALLS))
def test_old_names_still_work_warn_and_give_the_same_result(name):
    old, new = RENAMED_CALLS[name]
    with pytest.warns(RenamedArgumentWarning, match="renamed") as caught:
        before = old()
    assert issubclass(caught[0].category, DeprecationWarning)
    after = new()  # the new names do not warn (the suite turns warnings into errors)
    for got, expected in zip(jax.tree_util.tree_leaves(before), jax.tree_util.tree_leaves(after)):
        np.testing.assert_array_equal(np.asarray(got), np.asarray(expected))


# (call in an older spelling the rename decorator cannot see, the same call today, what the warning says)
OLD_SPELLINGS = {
    "lambda_balanced_init, old order": (lambda: init.lambda_balanced_init(KEY, NARROW, -0.5, 0.3),
                                        lambda: init.lambda_balanced_init(KEY, NARROW, 0.3, imbalance=-0.5),
                                        r"positional order \(key, model, imbalance, init_scale\) is the old one"),
    "lambda_balanced_init, old order by keyword": (
        lambda: init.lambda_balanced_init(KEY, NARROW, -0.5, init_scale=0.3),
        lambda: init.lambda_balanced_init(KEY, NARROW, 0.3, imbalance=-0.5), "positional order"),
    "lambda_balanced_init, old order and old name": (
        lambda: init.lambda_balanced_init(KEY, NARROW, -0.5, singular_values=0.3),
        lambda: init.lambda_balanced_init(KEY, NARROW, 0.3, imbalance=-0.5), "positional order|is renamed"),
    "modular_addition, integer seed": (lambda: data.modular_addition(11, 0.5, 3),
                                       lambda: data.modular_addition(11, 0.5, jax.random.PRNGKey(3)),
                                       r"an integer seed \(jax.random.PRNGKey\(3\) draws the same\) for 'key'"),
    "haar_orthogonal, NumPy Generator": (lambda: data.haar_orthogonal(np.random.default_rng(3), 4),
                                         lambda: data.haar_orthogonal(jax.random.PRNGKey(3), 4),
                                         "haar_orthogonal: a NumPy Generator for 'key' is deprecated"),
    "haar_orthogonal, rng=": (lambda: data.haar_orthogonal(rng=np.random.default_rng(3), dim=4),
                              lambda: data.haar_orthogonal(key=jax.random.PRNGKey(3), dim=4),
                              "'rng' is renamed 'key'|a NumPy Generator"),
    "sparse_parity_problem, integer seed": (lambda: data.sparse_parity_problem(3).skill_bits,
                                            lambda: data.sparse_parity_problem(jax.random.PRNGKey(3)).skill_bits,
                                            "sparse_parity_problem: an integer seed"),
    "dataset, integer seed": (lambda: PARITY.dataset(11, 6), lambda: PARITY.dataset(jax.random.PRNGKey(11), 6),
                              "MultitaskSparseParity.dataset: an integer seed"),
    "dataset_skills, integer seed": (lambda: PARITY.dataset_skills(11, 6),
                                     lambda: PARITY.dataset_skills(jax.random.PRNGKey(11), 6), "an integer seed"),
    "dataset_sampler, integer seed": (lambda: PARITY.dataset_sampler(11, 6)(KEY, 20),
                                      lambda: PARITY.dataset_sampler(jax.random.PRNGKey(11), 6)(KEY, 20),
                                      "an integer seed"),
    "layer_imbalance, deep linear (same sign)": (lambda: metrics.layer_imbalance(DEEP, DEEP_PARAMS),
                                                 lambda: metrics.imbalance_later_minus_earlier(DEEP, DEEP_PARAMS),
                                                 "layer_imbalance is deprecated; use .*imbalance_later_minus_earlier"),
    "layer_imbalance, diagonal (opposite sign)": (
        lambda: metrics.layer_imbalance(DIAGONAL3, DIAGONAL3_PARAMS),
        lambda: -metrics.imbalance_later_minus_earlier(DIAGONAL3, DIAGONAL3_PARAMS), "opposite sign"),
    "LayerImbalance, diagonal (opposite sign)": (
        lambda: observables.LayerImbalance()(DIAGONAL3, DIAGONAL3_PARAMS),
        lambda: -observables.ImbalanceLaterMinusEarlier()(DIAGONAL3, DIAGONAL3_PARAMS), "opposite sign"),
}


@pytest.mark.parametrize("name", sorted(OLD_SPELLINGS))
def test_older_spellings_warn_and_are_bitwise_equal(name):
    old, new, message = OLD_SPELLINGS[name]
    with pytest.warns(RenamedArgumentWarning, match=message):
        before = old()
    after = new()
    for got, expected in zip(jax.tree_util.tree_leaves(before), jax.tree_util.tree_leaves(after), strict=True):
        np.testing.assert_array_equal(np.asarray(got), np.asarray(expected))


def test_reordered_arguments_rebinds_only_calls_the_new_signature_rejects():
    @reordered_arguments("x", "imbalance", "scale")
    def scaled(x, scale=1.0, *, imbalance=0.0):
        return (x, scale, imbalance)

    assert scaled(1, 2.0) == (1, 2.0, 0.0) and scaled(1, 2.0, imbalance=3.0) == (1, 2.0, 3.0)  # no warning
    with pytest.warns(RenamedArgumentWarning, match=r"scaled: positional order \(x, imbalance, scale\)"):
        assert scaled(1, 3.0, 2.0) == (1, 2.0, 3.0)
    with pytest.raises(TypeError):
        scaled(1, 2.0, 3.0, 4.0)  # matches neither order
    assert list(inspect.signature(init.lambda_balanced_init).parameters)[:4] == ["key", "model", "init_scale",
                                                                                "imbalance"]


def test_the_old_init_order_cannot_be_read_as_the_new_one():
    """Every init takes key, model, init scale, then its imbalance; the λ-balanced one's imbalance is keyword-only, so
    an old positional (λ, σ) call never runs as (σ, λ)."""
    parameters = inspect.signature(init.lambda_balanced_init).parameters
    assert parameters["imbalance"].kind is inspect.Parameter.KEYWORD_ONLY
    for function in (init.gaussian_init, init.balanced_aligned_init, init.lambda_balanced_init, init.mirrored_init):
        assert list(inspect.signature(function).parameters)[:3] == ["key", "model", "init_scale"]
    assert list(inspect.signature(init.balanced_diagonal_init).parameters)[:3] == ["model", "init_scale",
                                                                                  "mode_imbalance"]


def test_error_messages_name_the_new_argument():
    with pytest.raises(LayerwiseError, match="init_scale"):
        theory.learning_time(2.0, -1.0)


# ---------------------------------------------------------------------------------------------- config fields
def test_alias_table_is_declared_on_the_config_and_checked():
    config_type = get_experiment("grokking-modular").config_type
    assert field_aliases(config_type)["imbalance"] == "layer_ratio"
    with pytest.raises(ValueError, match="needs 'nothing' to be a field"):
        renamed_fields(old="nothing")(config_type)


def test_build_config_and_make_config_accept_old_names_and_keep_the_new():
    experiment = get_experiment("grokking-modular")
    with pytest.warns(RenamedFieldWarning, match="config key 'imbalance' for grokking-modular is renamed "
                                                  "'layer_ratio'"):
        config = build_config(experiment, {"imbalance": 3.0}, preset="test")
    assert config.layer_ratio == 3.0
    assert "layer_ratio = 3.0" in config_to_toml(experiment.name, config) and "imbalance" not in config_to_toml(
        experiment.name, config)
    with pytest.warns(FutureWarning, match="'weight_scales'"):
        assert get_experiment("grokking-fig11").make_config(weight_scales=(1.0,) * 5).init_scales == (1.0,) * 5
    with pytest.raises(LayerwiseError, match="'imbalance' is the old name of 'layer_ratio'"):
        resolve_renamed_fields(experiment.config_type, {"imbalance": 3.0, "layer_ratio": 2.0})


def test_cli_set_prints_one_warning_line_and_saves_the_new_name(capsys):
    code = main(["run", "grokking-modular", "--preset", "test", "--set", "imbalance=3", "--print-config"])
    captured = capsys.readouterr()
    assert code == 0
    assert captured.err.splitlines() == ["warning: config key 'imbalance' for grokking-modular is renamed "
                                         "'layer_ratio'; the old name works until the next release"]
    assert "\nlayer_ratio = 3.0\n" in captured.out and "\nimbalance" not in captured.out


def test_cli_toml_file_with_an_old_name(tmp_path, capsys):
    path = tmp_path / "old.toml"
    path.write_text('experiment = "lazy-rich-digits"\nbeyond_scales = [0.5, 1.0, 2]\n')
    assert main(["run", str(path), "--preset", "test", "--print-config"]) == 0
    captured = capsys.readouterr()
    assert "warning: config key 'beyond_scales'" in captured.err and "renamed 'beyond_init_scales'" in captured.err
    assert "beyond_init_scales = [0.5, 1.0, 2]" in captured.out


def test_cli_both_names_is_one_error_line(capsys):
    assert main(["run", "grokking-modular", "--set", "imbalance=3", "--set", "layer_ratio=2", "--print-config"]) == 2
    assert capsys.readouterr().err.startswith("error: config key 'imbalance' is the old name of 'layer_ratio'")


@pytest.fixture
def tiny(monkeypatch):
    monkeypatch.setenv("LAYERWISE_PLUGINS", "tests.sweep.tiny_sweep")
    monkeypatch.syspath_prepend(str(ROOT))
    load_plugins()


def test_sweep_grid_and_spec_file_with_an_old_name(tiny, tmp_path, capsys):
    code = main(["sweep", "tiny-seeded", "--grid", "size=1,2", "--preset", "test", "--out", str(tmp_path)])
    captured = capsys.readouterr()
    assert code == 0 and "2 cell(s) ran" in captured.out
    assert "warning: config key 'size' for tiny-seeded is renamed 'scale'" in captured.err
    summary = json.loads((tmp_path / "tiny-seeded-sweep" / "sweep.json").read_text())
    assert "scale" in json.dumps(summary) and '"size"' not in json.dumps(summary)
    spec = tmp_path / "spec.toml"
    spec.write_text('experiment = "tiny-seeded"\npreset = "test"\n[set]\nsize = 3.0\n[grid]\nsteps = [3, 4]\n')
    assert main(["sweep", str(spec), "--out", str(tmp_path / "spec")]) == 0
    assert "config key 'size' for tiny-seeded is renamed 'scale'" in capsys.readouterr().err
    configs = [json.loads(p.read_text())["config"] for p in (tmp_path / "spec").rglob("summary.json")]
    assert configs and all(c["scale"] == 3.0 and "size" not in c for c in configs)


# (experiment, old -> new field names, a value for each that differs from the test preset's)
RENAMED_FIELDS = {
    "emergence": ({"init": "init_scale", "gap_inits": "gap_init_scales", "param_init": "param_init_scale"},
                  {"init": 0.02, "gap_inits": (0.004, 0.05), "param_init": 0.07}),
    "feedback": ({"target_weights": "target_strengths", "init": "init_scale",
                  "stage_gap_inits": "stage_gap_init_scales", "depth_init": "depth_init_scale",
                  "imbalances": "mode_imbalances", "variance_targets": "variance_target_strengths",
                  "variance_imbalance": "variance_mode_imbalance"},
                 {"target_weights": (5.0, 3.0, 2.0, 1.0), "init": 1e-5, "stage_gap_inits": (1e-3, 1e-5),
                  "depth_init": 1e-3, "imbalances": (0.0, 2.0), "variance_targets": (4.0, 1.5),
                  "variance_imbalance": 50.0}),
    "lazy-rich-fig6": ({"scale_a": "init_target_ratio_a", "imbalance_b": "scale_difference_b",
                        "scale_b": "target_divisor_b", "weight_scale_b": "init_scale_b"},
                       {"scale_a": (2.0, 10.0, 3), "imbalance_b": (-0.25, 0.25, 3), "scale_b": (1.0, 5.0, 2),
                        "weight_scale_b": 0.2}),
    "neural-collapse": ({"greedy_init": "greedy_init_scale"}, {"greedy_init": 1e-5}),
    "theory-check": ({"max_lambda": "max_imbalance"}, {"max_lambda": 3.0}),
}


@pytest.mark.parametrize("name", sorted(RENAMED_FIELDS))
def test_old_config_field_names_warn_and_give_the_same_config(name):
    experiment = get_experiment(name)
    table, old_values = RENAMED_FIELDS[name]
    assert field_aliases(experiment.config_type) == table
    new_values = {table[old]: value for old, value in old_values.items()}
    expected = build_config(experiment, new_values, preset="test")  # the new names: no warning
    with pytest.warns(RenamedFieldWarning) as caught:
        config = build_config(experiment, old_values, preset="test")
    assert config == expected
    assert sorted(str(w.message) for w in caught) == sorted(
        f"config key {old!r} for {name} is renamed {new!r}; the old name works until the next release"
        for old, new in table.items())
    saved = config_to_toml(name, config)
    assert all(f"\n{new} = " in saved and f"\n{old} = " not in saved for old, new in table.items())


def test_cli_set_with_an_old_field_of_a_renamed_experiment(capsys):
    assert main(["run", "theory-check", "--preset", "test", "--set", "max_lambda=3", "--print-config"]) == 0
    captured = capsys.readouterr()
    assert captured.err.splitlines() == ["warning: config key 'max_lambda' for theory-check is renamed "
                                         "'max_imbalance'; the old name works until the next release"]
    assert "\nmax_imbalance = 3.0\n" in captured.out and "max_lambda" not in captured.out


def test_a_data_nc_config_written_under_old_names_is_read_with_the_new_ones():
    import xarray as xr

    from layerwise.experiments.base import CONFIG_ATTRIBUTE, dataset_config

    experiment = get_experiment("feedback")
    old_toml = 'experiment = "feedback"\ninit = 1e-5\nimbalances = [0.0, 2.0]\n'
    with pytest.warns(RenamedFieldWarning):
        config = dataset_config(xr.Dataset(attrs={CONFIG_ATTRIBUTE: old_toml}), experiment)
    assert config.init_scale == 1e-5 and config.mode_imbalances == (0.0, 2.0)


def test_a_dataset_under_old_names_is_read_under_the_new_ones_with_one_warning():
    import xarray as xr

    from layerwise._deprecation import renamed_variables

    table = {"init": "init_scale", "imbalance": "mode_imbalance", "absent": "never_written"}
    old = xr.Dataset({"linear_weights": (("init", "imbalance"), np.ones((2, 3)))},
                     coords={"init": [1e-3, 1e-6], "imbalance": [0.0, 1.0, 2.0]})
    with pytest.warns(RenamedFieldWarning) as caught:
        new = renamed_variables(old, table, source="data.nc")
    assert len(caught) == 1 and str(caught[0].message) == (
        "data.nc was written under old names, read as the new ones: 'init' -> 'init_scale', 'imbalance' -> "
        "'mode_imbalance'; the old names are read until the next release")
    assert new.linear_weights.dims == ("init_scale", "mode_imbalance")
    np.testing.assert_array_equal(new.mode_imbalance.values, [0.0, 1.0, 2.0])  # values untouched (C stays C)
    assert renamed_variables(new, table) is new  # new names: no warning, nothing changed
    with pytest.raises(LayerwiseError, match="holds both 'init' and its new name 'init_scale'"):
        renamed_variables(old.assign_coords(init_scale=("init", [1.0, 2.0])), table)


def test_solve_imbalance_with_an_aligned_init_is_reinterpreted_not_flipped():
    from layerwise._deprecation import reinterpreted_argument

    with pytest.warns(RenamedArgumentWarning, match=r"^solve: imbalance with init='aligned' is read as "
                                                    r"mode_imbalance \(its old meaning\); pass mode_imbalance"):
        reinterpreted_argument("solve", "imbalance", "mode_imbalance", "init='aligned'", "λ = -C", stacklevel=2)
