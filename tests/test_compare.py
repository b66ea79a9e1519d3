"""layerwise.compare: errors, the time of the worst error, pass/fail against a stated tolerance."""

import numpy as np
import pytest
import xarray as xr

from layerwise.compare import Comparison, compare
from layerwise.report.checks import Check


def history(values, times):
    values = np.asarray(values, dtype=float)
    dims = ("run", "time") + tuple(f"x_{i}" for i in range(values.ndim - 2))
    return xr.DataArray(values, dims=dims, coords={"run": np.arange(values.shape[0]), "time": times})


def test_identical_trajectories_pass_with_zero_error():
    times = np.linspace(0.0, 1.0, 5)
    sim = history(np.ones((2, 5, 3)), times)
    result = compare(np.ones((2, 5, 3)), sim, rtol=1e-12)
    assert result.passed and result.max_abs_error == 0.0 and result.max_rel_error == 0.0


def test_errors_and_time_of_largest_error():
    times = np.array([0.0, 0.5, 1.0, 1.5])
    theory = np.full((2, 4), 2.0)
    simulated = theory.copy()
    simulated[1, 2] += 1e-6  # run 1, time 1.0
    simulated[0, 3] += 4e-7
    result = compare(theory, history(simulated, times), rtol=1e-8)
    assert not result.passed
    assert result.max_abs_error == pytest.approx(1e-6)
    assert result.max_rel_error == pytest.approx(5e-7)
    assert result.time_of_max_error == 1.0 and result.where == {"run": 1, "time": 1.0}
    assert compare(theory, history(simulated, times), rtol=1e-6).passed


def test_tolerance_is_atol_plus_rtol_times_theory():
    times = np.array([0.0, 1.0])
    theory = np.array([[0.0, 100.0]])
    simulated = theory + np.array([[1e-9, 1e-7]])
    assert compare(theory, history(simulated, times), rtol=1e-9, atol=1e-9).passed  # 1e-7 <= 1e-9 + 1e-7
    result = compare(theory, history(simulated, times), rtol=1e-9, atol=0.0)
    assert not result.passed and result.max_rel_error == np.inf and result.time_of_max_error == 0.0


def test_norm_dims_measure_matrices_in_relative_frobenius_norm():
    times = np.array([0.0, 1.0])
    theory = np.zeros((1, 2, 2, 2))
    theory[..., 0, 0] = 1e3
    theory[..., 1, 1] = 1e-6  # a tiny entry: elementwise relative error would be huge
    simulated = theory + 1e-9
    elementwise = compare(theory, history(simulated, times), rtol=1e-8)
    normwise = compare(theory, history(simulated, times), rtol=1e-8, norm_dims=("x_0", "x_1"))
    assert not elementwise.passed and normwise.passed
    assert normwise.max_abs_error == pytest.approx(2e-9)
    assert normwise.error_curve.dims == ("time",)


def test_nan_fails_and_grids_must_match():
    times = np.array([0.0, 1.0, 2.0])
    simulated = history([[1.0, np.nan, 1.0]], times)
    result = compare(np.ones((1, 3)), simulated, rtol=1.0)
    assert not result.passed and np.isnan(result.max_abs_error)
    with pytest.raises(ValueError, match="shape"):
        compare(np.ones((1, 4)), simulated, rtol=1e-8)
    shifted = history([[1.0, 1.0, 1.0]], times + 0.1)
    with pytest.raises(ValueError, match="same grid"):
        compare(history([[1.0, 1.0, 1.0]], times), shifted, rtol=1e-8)


def test_plain_arrays_with_times_and_the_report_check():
    result = compare(np.ones(3), np.ones(3) * (1 + 1e-10), rtol=1e-8, times=[0.0, 1.0, 2.0], name="mode")
    assert isinstance(result, Comparison) and result.passed
    check = result.to_check()
    assert isinstance(check, Check) and check.passed and check.name == "mode"
    assert "PASS" in str(result) and check.to_json()["value"] == pytest.approx(1e-10)
    absolute = compare(np.ones(3), np.ones(3) + 0.02, rtol=0.0, atol=0.05, times=[0.0, 1.0, 2.0]).to_check()
    assert absolute.passed and absolute.value == pytest.approx(0.02) and absolute.expected == "err <= 0.05"
    with pytest.raises(ValueError, match="times"):
        compare(np.ones(3), np.ones(3), rtol=1e-8)


def test_max_relative_errors_is_each_runs_compare():
    from layerwise.compare import max_relative_errors

    rng = np.random.default_rng(0)
    theory = rng.normal(size=(3, 4, 2, 2))
    simulation = theory * (1 + 1e-6 * rng.normal(size=theory.shape))
    times = np.arange(4.0)
    for norm in (False, True):
        dims = ("dim_1", "dim_2") if norm else ()
        expected = [compare(t, s, rtol=1e-3, times=times, norm_dims=dims).max_rel_error
                    for t, s in zip(theory, simulation)]
        np.testing.assert_array_equal(max_relative_errors(theory, simulation, times, norm=norm), expected)
    simulation[1, 2, 0, 0] = np.nan
    assert np.isnan(max_relative_errors(theory, simulation, times)[1])
