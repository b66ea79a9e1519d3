"""The lazy-rich experiment end to end on a tiny grid, and its config validation."""

import numpy as np
import pytest

from layerwise.errors import LayerwiseError
from layerwise.experiments import get_experiment, no_progress
from layerwise.report.claims import claim_checks

TINY = dict(imbalance_a=(-9.0, 9.0, 6), scale_a=(1.0, 20.0, 3), imbalance_b=(-0.5, 0.5, 4), scale_b=(0.1, 50.0, 3),
            curve_points=8, beyond_models=("relu",), beyond_scales=(0.25, 2.0, 2), beyond_imbalance=(-1.0, 1.0, 3),
            beyond_width=8, beyond_train=100, beyond_probe=4, beyond_steps=100)


def test_lazy_rich_tiny_run():
    experiment = get_experiment("lazy-rich")
    outcome = experiment.run(experiment.make_config(**TINY), no_progress)
    ds = outcome.dataset
    assert ds.fig6a_log_kernel_distance.dims == ("imbalance_a", "scale_a")
    assert ds.fig6a_log_kernel_distance.shape == (6, 3)
    assert ds.fig6b_log_kernel_distance.shape == (4, 3)
    assert ds.digits_relative_weight_change.dims == ("model", "init_scale", "log2_imbalance", "layer")
    assert np.all(np.isfinite(ds.fig6a_log_kernel_distance)) and np.all(ds.fig6a_log_kernel_distance >= -6)
    checks = {c.name: c for c in outcome.checks}
    assert claim_checks("lazy-rich") <= set(checks)  # every check a claim relies on exists
    # GD (lr 0.01, 4,000 steps) vs the exact λ-balanced flow, and the ±λ symmetry: robust even on this grid.
    for name in ("fig6a_closed_form_vs_gd", "fig6a_closed_form_vs_gd_in_time", "fig6a_falls_with_scale",
                 "fig6a_symmetric_in_lambda", "fig6a_lambda_conserved"):
        assert checks[name].passed, checks[name]
    assert {"fig6b_rich_region", "beyond_relu_scale_sets_regime", "beyond_relu_rich_generalises_better"} <= set(checks)
    assert set(outcome.figures) == {"lazy_rich"}


@pytest.mark.parametrize("field, value", [("scale_a", (20.0, 1.0, 40)), ("beyond_width", 7), ("floor", 0.0),
                                          ("beyond_models", ("gelu",)), ("beyond_train", 1797)])
def test_lazy_rich_config_rejects_bad_values(field, value):
    with pytest.raises(LayerwiseError, match=field):
        get_experiment("lazy-rich").make_config(**{field: value})
