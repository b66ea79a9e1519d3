"""`layerwise sweep` without Ray: grid parsing, validation before anything runs, merging, resume, the CLI."""

import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import layerwise as lw
from layerwise.cli import main
from layerwise.errors import LayerwiseError
from layerwise.experiments import load_plugins
from layerwise.sweeping.cells import function_target, make_cells, registered_target
from layerwise.sweeping.merge import merge_cells
from layerwise.sweeping import run_spec
from layerwise.sweeping.spec import SweepSpec, parse_grid, parse_grid_value, read_spec

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def tiny(monkeypatch):
    monkeypatch.setenv("LAYERWISE_PLUGINS", "tests.sweep.tiny_sweep")
    monkeypatch.syspath_prepend(str(ROOT))
    load_plugins()


def test_grid_values_are_toml_array_items():
    assert parse_grid_value("1000,4000") == [1000, 4000]
    assert parse_grid_value("[2,3],[2,4]") == [[2, 3], [2, 4]]
    assert parse_grid_value("relu, tanh") == ["relu", "tanh"]
    assert parse_grid(["steps=1,2", "learning_rate=0.005,0.01"]) == {"steps": [1, 2], "learning_rate": [0.005, 0.01]}


@pytest.mark.parametrize("assignments, message", [
    (["steps"], "--grid expects KEY=V1,V2"),
    (["steps="], "--grid expects KEY=V1,V2"),
    (["steps=1", "steps=2"], "given twice"),
    (["steps=1,1"], "repeats a value"),
])
def test_bad_grid_syntax_is_one_line(assignments, message):
    with pytest.raises(LayerwiseError, match=message):
        SweepSpec("x", parse_grid(assignments))


@pytest.mark.parametrize("grid, seeds, message", [
    ({"nope": [1, 2]}, None, "unknown config key 'nope' for grokking-toy; allowed: seed, seeds"),
    ({"toy_width": [8, 1]}, None, "'toy_width'"),
    ({"toy_ratios": [[1.0, "x"]]}, None, "'toy_ratios'"),
    ({"toy_width": [8]}, 0, "seeds must be an integer >= 1"),
])
def test_validation_names_the_field_before_anything_runs(grid, seeds, message, monkeypatch):
    monkeypatch.setattr("layerwise.sweeping.compute.compute_cell", lambda *a, **k: pytest.fail("a cell ran"))
    with pytest.raises(LayerwiseError, match=message):
        run_spec(SweepSpec("grokking-toy", grid, preset="test", seeds=seeds), "/nonexistent/never")


def test_seeds_need_a_seeds_field():
    target = function_target(lambda config: xr.Dataset(), {}, {"x": [1]}, None)
    with pytest.raises(LayerwiseError, match="has no 'seeds' config field"):
        make_cells(target, {"x": [1, 2]}, seeds=3)


def test_precedence_defaults_preset_set_grid():
    cells = make_cells(registered_target("grokking-toy"), {"toy_duration": [5.0, 6.0]}, preset="test",
                       values={"toy_duration": 1.0, "toy_width": 4}, seeds=3)
    assert [(c.config.toy_duration, c.config.toy_width, c.config.seeds, c.config.toy_ntk_widths) for c in cells] == [
        (5.0, 4, 3, (4,)), (6.0, 4, 3, (4,))]  # grid > --set > preset (toy_ntk_widths) > defaults
    assert len({c.key for c in cells}) == 2 and all(c.folder == f"cell-{c.key}" for c in cells)


def test_spec_file(tmp_path):
    spec = tmp_path / "SPEC.toml"
    spec.write_text('experiment = "grokking-toy"\npreset = "test"\nseeds = 2\n[set]\ntoy_width = 4\n'
                    '[grid]\ntoy_duration = [5.0, 6.0]\ntoy_ratios = [[0.1, 1.0], [1.0, 10.0]]\n')
    parsed = read_spec(spec)
    assert parsed == {"experiment": "grokking-toy", "grid": {"toy_duration": [5.0, 6.0], "toy_ratios": [
        [0.1, 1.0], [1.0, 10.0]]}, "values": {"toy_width": 4}, "preset": "test", "seeds": 2}
    assert len(make_cells(registered_target("grokking-toy"), parsed["grid"], preset="test")) == 4
    spec.write_text('experiment = "grokking-toy"\ngrids = 1\n')
    with pytest.raises(LayerwiseError, match="unknown key 'grids'"):
        read_spec(spec)


def _cell_dataset(steps: int, scale: float) -> xr.Dataset:
    return xr.Dataset({"walk": (("seed", "step"), np.full((2, steps), scale)), "end": (("seed",), [scale, -scale]),
                       "scale": scale}, coords={"seed": [0, 1], "step": np.arange(steps)})


def test_merge_prefixes_names_of_grid_fields_and_lists_what_differs():
    target = function_target(lambda c: None, {"steps": 3}, {"scale": [1.0], "steps": [3]}, seeds=2)
    grid = {"scale": [1.0, 2.0], "steps": [3, 4]}
    cells = make_cells(target, grid)
    datasets = {c.key: _cell_dataset(c.config.steps, c.config.scale) for c in cells}
    datasets[cells[-1].key] = None  # a failed cell
    checks = {c.key: {"ok": (np.array([c.config.scale, 0.0]), np.array([True, False]))} for c in cells[:-1]}
    merged = merge_cells(cells, grid, datasets, checks)
    assert merged["cell_scale"].dims == ("scale", "steps") and "scale" not in merged.data_vars
    np.testing.assert_array_equal(merged["cell_scale"].values, [[1.0, 1.0], [2.0, np.nan]])
    assert merged.attrs["not_merged"] == ["walk"]  # its step coordinate differs with steps
    assert merged["check__ok"].dims == ("scale", "steps", "seed")
    np.testing.assert_array_equal(merged["check__ok"].sel(seed=0).values, [[1.0, 1.0], [2.0, np.nan]])
    assert merged["end"].dims == ("scale", "steps", "seed") and list(merged["seed"].values) == [0, 1]


def test_tuple_valued_field_coordinate_is_its_toml_text():
    target = function_target(lambda c: None, {}, {"widths": [(2, 3)]}, seeds=None)
    grid = {"widths": [[2, 3], [2, 4]]}
    cells = make_cells(target, grid)
    merged = merge_cells(cells, grid, {c.key: xr.Dataset({"y": 1.0}) for c in cells}, {})
    assert list(merged["widths"].values) == ["[2, 3]", "[2, 4]"]


def test_function_sweep_writes_cells_merges_and_resumes(tmp_path):
    from tests.sweep.tiny_sweep import check, walk_function

    grid = {"scale": [1.0, 2.0], "steps": [3, 4]}
    first = lw.sweep(walk_function, grid=grid, seeds=2, config={"steps": 3}, check=check, out=tmp_path,
                     progress=False)
    folder = tmp_path / "walk_function-sweep"
    assert first["check__end_within_4_sigma"].dims == ("scale", "steps", "seed")
    assert first.attrs["not_merged"] == "walk"  # netCDF: a one-item list reads back as its item
    cells = sorted(p.name for p in folder.glob("cell-*"))
    assert len(cells) == 4 and all((folder / c / "manifest.json").is_file() for c in cells)
    table = json.loads((folder / "sweep.json").read_text())
    assert table["finished"] == 4 and (folder / "sweep.png").is_file()
    xr.testing.assert_identical(lw.load_result(folder), first)
    stamps = {c: (folder / c / "summary.json").stat().st_mtime_ns for c in cells}
    result = run_spec(SweepSpec("walk_function", grid, seeds=2), tmp_path, progress=False,
                               target=function_target(walk_function, {"steps": 3}, grid, 2, check=check))
    assert result.ran == [] and len(result.skipped) == 4
    assert stamps == {c: (folder / c / "summary.json").stat().st_mtime_ns for c in cells}
    xr.testing.assert_identical(result.dataset, first)


def test_failed_cell_is_recorded_and_redone(tmp_path):
    def fragile(config):
        if config["x"] == 2 and not (tmp_path / "fixed").exists():
            raise ArithmeticError("x = 2 is broken")
        return xr.Dataset({"y": float(config["x"]) ** 2})

    first = lw.sweep(fragile, grid={"x": [1, 2]}, out=tmp_path, progress=False)
    np.testing.assert_array_equal(first["y"].values, [1.0, np.nan])
    table = json.loads((tmp_path / "fragile-sweep" / "sweep.json").read_text())
    assert [c["status"] for c in table["cells"]] == ["finished", "failed"]
    assert table["cells"][1]["error"] == "ArithmeticError: x = 2 is broken"
    (tmp_path / "fixed").touch()
    np.testing.assert_array_equal(lw.sweep(fragile, grid={"x": [1, 2]}, out=tmp_path, progress=False)["y"].values,
                                  [1.0, 4.0])


def test_cli_sweep_and_show(tiny, tmp_path, capsys):
    code = main(["sweep", "tiny-seeded", "--grid", "scale=1,2", "--grid", "steps=3,4", "--seeds", "2",
                 "--preset", "test", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0 and "4 cell(s) ran" in out
    folder = tmp_path / "tiny-seeded-sweep"
    merged = lw.load_result(folder)
    assert merged["cell_scale"].dims == ("scale", "steps") and merged.sizes["seed"] == 2
    assert merged["passed__end_within_4_sigma"].dtype == bool
    cell = next(folder.glob("cell-*"))
    assert main(["check", str(cell)]) == 0  # a cell folder is an ordinary result
    capsys.readouterr()
    assert main(["show", str(folder)]) == 0
    assert "tiny-seeded sweep: 4 finished, 0 failed of 4" in capsys.readouterr().out
    assert main(["sweep", "tiny-seeded", "--grid", "steps=3,x", "--out", str(tmp_path / "bad")]) == 2
    assert not (tmp_path / "bad").exists()
    assert "config key 'steps' expects int" in capsys.readouterr().err


@pytest.mark.slow
def test_a_registered_experiment_sweep_at_its_test_preset(tmp_path, capsys):
    """grokking-toy (test preset), 2 durations x 2 seeds: the seed axis, a cell that `layerwise check` re-checks from
    its data.nc, and the table's seed means with 95 % intervals."""
    code = main(["sweep", "grokking-toy", "--grid", "toy_duration=20.0,40.0", "--seeds", "2", "--preset", "test",
                 "--out", str(tmp_path)])
    assert code == 0, capsys.readouterr().err
    folder = tmp_path / "grokking-toy-sweep"
    merged = lw.load_result(folder)
    assert merged["check__gamma_plus_matches_simulation"].dims == ("toy_duration", "seed")
    assert bool(merged["passed__gamma_plus_matches_simulation"].all())
    assert main(["check", str(next(folder.glob("cell-*")))]) == 0
    row = json.loads((folder / "sweep.json").read_text())["cells"][0]
    entry = row["checks"]["gamma_plus_matches_simulation"]
    assert entry["seeds"] == 2 and entry["passed_seeds"] == 2 and entry["interval"] is not None
