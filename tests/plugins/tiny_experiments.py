"""Two tiny experiments registered through LAYERWISE_PLUGINS, for the reproduce/resume tests.

``beta`` sleeps ``$TINY_SLEEP`` seconds mid-run, so a test can kill the process while it runs. ``$TINY_SLEEP_AT``
moves the sleep: ``alpha`` (alpha's run), ``beta`` (the default) or ``beta-write`` (while beta's figure is saved, so its
staging folder is half written). When ``$TINY_MARKS`` names a folder, the file ``POINT`` appears there just before the
sleep, for a test to wait on.
"""

import dataclasses
import os
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from layerwise.errors import check_positive
from layerwise.experiments.base import REGISTRY, Experiment, Outcome, register
from layerwise.report.checks import check_below


@dataclasses.dataclass(frozen=True)
class TinyConfig:
    seed: int = 0
    scale: float = 1.0
    label: str = "tiny"

    def __post_init__(self):
        check_positive("scale", self.scale)


def _pause(point: str) -> None:
    if os.environ.get("TINY_SLEEP_AT", "beta") != point:
        return
    if os.environ.get("TINY_MARKS"):
        Path(os.environ["TINY_MARKS"], point).touch()
    time.sleep(float(os.environ.get("TINY_SLEEP", "0")))


class _PausingFigure(Figure):
    """A figure whose saving pauses at the ``NAME-write`` point (the result's staging folder then holds data.nc)."""

    pause_point = ""

    def savefig(self, *args, **kwargs):
        _pause(self.pause_point)
        return super().savefig(*args, **kwargs)


def _run(name):
    def run(config, progress):
        progress("half")
        _pause(name)
        figure = plt.figure(FigureClass=_PausingFigure)
        figure.pause_point = f"{name}-write"
        plt.plot([0, 1], [0, config.scale])
        progress("done")
        dataset = xr.Dataset({"value": (("i",), np.arange(3.0) * config.scale)})
        return Outcome(dataset, [check_below(f"{name}_small", "scale is at most 2", config.scale, 2.0)],
                       {f"{name}_figure": figure})

    return run


for _name in ("alpha", "beta"):
    if _name not in REGISTRY:
        register(Experiment(_name, f"tiny test experiment {_name}", TinyConfig, {"scale": 0.5}, _run(_name),
                            units=lambda config: 2))
