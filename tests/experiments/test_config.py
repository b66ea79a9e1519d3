"""Config coercion: TOML values to each field's annotated type, one-line errors, print-config round trips."""

import pytest

from layerwise.errors import LayerwiseError
from layerwise.experiments import REGISTRY
from layerwise.experiments.config import build_config, coerce, config_to_toml, read_config_file
from layerwise.experiments.fields import is_validated


def test_fixed_length_tuples_take_one_type_per_position():
    annotation = tuple[float, float, int]
    assert coerce("grid", [-9, 9, 20], annotation) == (-9.0, 9.0, 20)
    assert isinstance(coerce("grid", [-9, 9, 20], annotation)[2], int)
    with pytest.raises(LayerwiseError, match=r"'grid' expects int, got 2.5"):
        coerce("grid", [-9, 9, 2.5], annotation)
    with pytest.raises(LayerwiseError, match=r"'grid' expects \[float, float, int\]"):
        coerce("grid", [-9, 9], annotation)
    assert coerce("values", [1, 2.5], tuple[float, ...]) == (1.0, 2.5)


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_print_config_reads_back_to_the_same_config(name, tmp_path):
    experiment = REGISTRY[name]
    for quick in (False, True):
        config = build_config(experiment, {}, quick=quick)
        path = tmp_path / f"{name}.toml"
        path.write_text(config_to_toml(name, config))
        read_name, fields = read_config_file(path)
        assert read_name == name
        assert build_config(experiment, fields) == config


def test_a_declared_rule_reads_fields_above_it_and_is_one_standard_line():
    """`fields.rule`: its docstring example runs, and a default broken by another field is reported."""
    import doctest

    import pydantic

    from layerwise.experiments import fields

    assert doctest.testmod(fields, raise_on_error=False).failed == 0

    @fields.config_dataclass
    class Sketch:
        low: fields.Count = 1
        high: fields.rule(fields.Count, lambda low: f"> low ({low})", lambda high, low: high > low,
                          needs=("low",)) = 2

    assert Sketch(low=1, high=5).high == 5
    for values, line in [({"low": 3}, "config key 'high' must be > low (3), got 2"),
                         ({"low": 0}, "config key 'low' must be >= 1, got 0")]:  # a needed field's own error first
        with pytest.raises(pydantic.ValidationError) as error:
            Sketch(**values)
        assert fields.one_line(error.value, "sketch") == line


def test_every_config_declares_its_rules_on_its_fields():
    """Cross-field rules are `fields.rule`s (validated with the fields, broken: the standard ``config key 'NAME' must
    be ...`` line), not hand-written raises in a ``__post_init__`` (each with its own wording)."""
    validated = [experiment.config_type for experiment in REGISTRY.values() if is_validated(experiment.config_type)]
    assert len(validated) >= 9
    assert [config.__name__ for config in validated if "__post_init__" in vars(config)] == []
