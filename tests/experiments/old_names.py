"""Shared by the experiment tests: a finished result whose ``data.nc`` is rewritten under the Dataset names of an
older release (the experiment's ``renamed_variables``, inverted) is still re-checked to the stored values,
re-plotted and loaded, reading the old names as the new ones with one ``warning:`` line."""

import shutil
from pathlib import Path

import pytest
import xarray as xr

import layerwise as lw
from layerwise._deprecation import RenamedFieldWarning
from layerwise.cli import main
from layerwise.experiments import get_experiment


def assert_an_old_data_nc_still_checks_plots_and_loads(finished: Path, name: str, capsys, tmp_path: Path) -> None:
    table = get_experiment(name).renamed_variables
    with xr.open_dataset(finished / "data.nc", engine="h5netcdf") as opened:
        dataset = opened.load()
    names = set(dataset.variables) | set(dataset.dims)
    assert table and set(table.values()) <= names and not set(table) & names  # written under the new names only
    old = tmp_path / "old"
    shutil.copytree(finished, old)
    dataset.rename({new: previous for previous, new in table.items()}).to_netcdf(old / "data.nc", engine="h5netcdf")

    assert main(["check", str(old)]) == 0  # the values of summary.json, recomputed from the old names
    captured = capsys.readouterr()
    assert "check values reproduced" in captured.out
    warnings = [line for line in captured.err.splitlines() if line.strip()]
    assert len(warnings) == 1 and warnings[0].startswith("warning: ") and "old names" in warnings[0], warnings
    assert all(f"'{previous}' -> '{new}'" in warnings[0] for previous, new in table.items()), warnings[0]

    assert main(["plot", str(old), "--out", str(tmp_path / "replot")]) == 0
    capsys.readouterr()
    assert list((tmp_path / "replot").glob("*.png"))
    with pytest.warns(RenamedFieldWarning, match="written under old names"):
        loaded = lw.load_result(old)
    assert set(table.values()) <= set(loaded.variables) | set(loaded.dims)
