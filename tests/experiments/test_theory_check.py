"""The theory-check experiment at its `test` preset (every closed form vs the flow on tiny random instances): check
values equal the stored ones, `layerwise check` / `layerwise plot` re-derive them from data.nc alone; its config."""

import json
from pathlib import Path

import numpy as np
import pytest

from layerwise.cli import main
from layerwise.errors import LayerwiseError
from layerwise.experiments import get_experiment, no_progress
from layerwise.experiments.config import build_config
from layerwise.experiments.theory_check import SOLUTIONS
from layerwise.report.claims import claim_checks
from layerwise.runner import run_one

EXPECTED = json.loads((Path(__file__).parent / "expected" / "theory-check.json").read_text())


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    experiment = get_experiment("theory-check")
    config = build_config(experiment, {}, preset="test")
    record = run_one(experiment, config, tmp_path_factory.mktemp("results"), quick=False, progress=no_progress)
    return record.path


def _close(value, expected):
    # Every value is a rounding-level error of the flow against its closed form (~1e-10), which varies with XLA's
    # summation order and the platform: atol 1e-9 (a tenth of the 1e-8 tolerance) as for feedback's flow checks.
    return np.allclose(np.asarray(value, float), np.asarray(expected, float), rtol=1e-6, atol=1e-9)


def test_check_values_equal_the_stored_ones(finished):
    summary = json.loads((finished / "summary.json").read_text())
    checks = {c["name"]: c for c in summary["checks"]}
    assert [c["name"] for c in summary["checks"]] == [f"{name}_matches_flow" for name in SOLUTIONS]
    assert set(checks) == set(EXPECTED)
    assert claim_checks("theory-check") <= set(checks)
    for name, stored in EXPECTED.items():
        assert set(checks[name]) == {"name", "claim", "value", "expected", "passed", "seeds", "interval", "status"}
        assert checks[name]["expected"] == stored["expected"] == "<= 1e-08", name  # the threshold itself
        assert checks[name]["passed"] is stored["passed"] is True, name
        assert _close(checks[name]["value"], stored["value"]), (name, checks[name]["value"], stored["value"])
    assert "2 random instances (seeds 0-1)" in checks["saxe_mode_depth2_matches_flow"]["claim"]


def test_data_nc_holds_both_seeds_and_every_solution(finished):
    import xarray as xr

    with xr.open_dataset(finished / "data.nc") as ds:
        assert ds.attrs["experiment"] == "theory-check" and "seeds = 2" in ds.attrs["config_toml"]
        assert ds.flow_max_relative_error.dims == ("seed", "solution", "instance")
        assert list(ds.solution.values) == list(SOLUTIONS) and ds.sizes == {**ds.sizes, "seed": 2, "instance": 2}
        assert np.all(np.isfinite(ds.flow_max_relative_error)) and np.all(ds.flow_max_relative_error <= 1e-8)
        assert {name.split("_")[0] for name in ds.data_vars} <= {"theory", "flow"}
        for name in SOLUTIONS:
            theory, flow = ds[f"theory_{name}"], ds[f"flow_{name}"]
            assert theory.dims == flow.dims == ("seed", "instance", f"{name}_step", f"{name}_component")
            # Padding (a seed with fewer components) is NaN on both sides alike; nothing else is NaN.
            assert np.array_equal(np.isnan(theory), np.isnan(flow)), name
            assert not np.any(np.all(np.isnan(theory), axis=(0, 1, 2))), name
            assert ds[f"flow_{name}_time"].dims == ("seed", f"{name}_step")


def test_layerwise_check_recomputes_every_value_from_data_nc(finished, capsys):
    assert main(["check", str(finished)]) == 0
    assert "10/10 check values reproduced" in capsys.readouterr().out


def test_layerwise_plot_redraws_into_a_new_folder(finished, tmp_path):
    assert main(["plot", str(finished), "--out", str(tmp_path / "again")]) == 0
    assert (tmp_path / "again" / "theory_check.png").stat().st_size > 10_000


@pytest.mark.parametrize("overrides, words", [
    ({"instances": 0}, "'instances' must be >= 1"), ({"times": 2}, "'times' must be >= 3"),
    ({"deep_depths": (2,)}, "'deep_depths' must be >= 3"), ({"deep_depths": ()}, "'deep_depths' expects a non-empty"),
    ({"max_dim": 2}, "'max_dim' must be >= 3"), ({"tolerance": 0.0}, "'tolerance' must be > 0"),
    ({"seeds": 0}, "'seeds' must be >= 1"),
    ({"alpha_range": (1.0, 0.1)}, "'alpha_range' must be two numbers 0 < low <= high, got \\(1.0, 0.1\\)"),
    ({"rtol": 1e-9}, "'rtol' must be <= tolerance / 100 = 1e-10 \\(the flow is the reference\\), got 1e-09"),
    ({"tolerance": 1e-11}, "'rtol' must be <= tolerance / 100 = 1e-13 .*, got 1e-12"),  # the default broken
])
def test_bad_config_is_one_line_naming_the_field(overrides, words):
    with pytest.raises(LayerwiseError, match="^config key " + words) as error:
        build_config(get_experiment("theory-check"), overrides)
    assert "\n" not in str(error.value)
