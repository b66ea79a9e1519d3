r"""The report of `layerwise.solve`: modes, history, verdicts, and saving them atomically.

``report.save(DIR)`` writes, into a staging folder beside ``DIR`` that is then renamed into place (an interrupted
save never leaves a folder that looks complete):

* ``data.nc``: the history (mode strengths over time for theory, linear net and each compared network) and the
  modes (``mode_`` prefixed variables), netCDF via h5netcdf;
* ``summary.json``: the top-level ``checks`` list ({name, claim, value, expected, passed}), ``prediction``,
  ``whitened``, ``dropped_directions``, one ``modes`` entry per mode, the rest of the measurements, and the
  ``config`` it ran with. The config holds the two imbalances under their glossary names: ``imbalance``, λ of a
  λ-balanced init (``W_2^T W_2 - W_1 W_1^T = λ I``, the later layer minus the earlier; 0 for other inits), and
  ``mode_imbalance``, C = a^2 - b^2 of every mode of an aligned depth-2 init (the first layer minus the second;
  0 otherwise), an older ``imbalance`` given with ``init="aligned"`` recorded as the ``mode_imbalance`` it meant;
* ``solve.png``: spectrum and mode-strength curves (theory solid, linear net dashed, nonlinear net dotted, one
  colour per mode);
* ``index.html``: one self-contained page (the figure embedded as base64 PNG): spectrum, curves, half-time table,
  verdicts.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import xarray as xr

from layerwise.errors import LayerwiseError
from layerwise.report.checks import Check, _jsonable

FILES = ("data.nc", "summary.json", "solve.png", "index.html")


@dataclasses.dataclass
class SolveReport:
    r"""What `layerwise.solve` found.

    Attributes:
        modes: ``xarray.Dataset`` over ``mode`` (k): ``singular_value``, ``group``, ``predicted_half_time`` /
            ``_t10`` / ``_t90``, ``predicted_within_run``, and ``<network>_half_time`` / ``_t10`` / ``_t90`` (mean
            over seeds; NaN if a seed never crossed) with per-seed ``..._seeds`` (seed, mode) for ``linear`` and
            each compared network (``flow_half_time`` for a random init).
        history: ``xarray.Dataset`` with dims ``(network, seed, time, mode | group)``: ``strength``,
            ``group_strength``, ``loss``, ``test_loss``, ``test_accuracy``, ``rank`` (and ``kernel_distance`` for a
            λ-balanced init); ``network`` is ``theory``, ``linear``, each compared network (and ``flow``).
        checks: the verdicts (`layerwise.report.Check`).
        summary: the JSON-ready summary (``summary.json`` without the checks).
    """

    modes: xr.Dataset
    history: xr.Dataset
    checks: list[Check]
    summary: dict

    @property
    def passed(self) -> int:
        return sum(check.passed for check in self.checks)

    def summary_json(self) -> dict:
        """``summary.json``'s content: ``checks`` first, then the summary."""
        return {"checks": [check.to_json() for check in self.checks], "passed": self.passed,
                "failed": len(self.checks) - self.passed, **_jsonable(self.summary)}

    def dataset(self) -> xr.Dataset:
        """History and modes in one Dataset (``data.nc``): the modes' variables prefixed ``modes_``."""
        modes = self.modes.rename({name: f"modes_{name}" for name in self.modes.data_vars})
        merged = xr.merge([self.history, modes], compat="override", combine_attrs="override")
        merged.attrs = {key: value for key, value in self.history.attrs.items()
                        if isinstance(value, (str, int, float))}
        return merged

    def figure(self):
        """The report's figure (matplotlib): the spectrum, and mode strengths ``u_a(t) / s_a`` over time."""
        from layerwise.solving.figures import solve_figure

        return solve_figure(self)

    def html(self, figure_png: bytes) -> str:
        """The self-contained HTML page, with ``figure_png`` embedded."""
        import jinja2

        environment = jinja2.Environment(loader=jinja2.PackageLoader("layerwise.solving", "templates"),
                                         autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True,
                                         lstrip_blocks=True)
        environment.filters["fmt"] = _format
        summary = self.summary_json()
        return environment.get_template("solve.html.j2").render(
            summary=summary, figure=base64.b64encode(figure_png).decode(),
            networks=summary.get("networks", []))

    def save(self, directory) -> Path:
        """Write ``data.nc``, ``summary.json``, ``solve.png`` and ``index.html`` into ``directory`` atomically
        (staging folder + rename; an existing folder is replaced). Returns the folder's path."""
        import matplotlib.pyplot as plt

        from layerwise.report.results import _netcdf_safe, _umask, output_problem

        target = Path(directory)
        problem = output_problem(target)
        if problem is not None:
            raise LayerwiseError(f"--out {str(target)!r} {problem}")
        if target.exists() and not target.is_dir():
            raise LayerwiseError(f"--out {str(target)!r} is a file, not a directory")
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
        try:
            os.chmod(staging, 0o777 & ~_umask())
            _netcdf_safe(self.dataset()).to_netcdf(staging / "data.nc", engine="h5netcdf")
            figure = self.figure()
            buffer = io.BytesIO()
            figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
            plt.close(figure)
            png = buffer.getvalue()
            (staging / "solve.png").write_bytes(png)
            (staging / "summary.json").write_text(json.dumps(self.summary_json(), indent=2) + "\n")
            (staging / "index.html").write_text(self.html(png))
            if target.exists():
                old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
                os.replace(target, old / target.name)
                os.replace(staging, target)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(staging, target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return target


def _format(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_format(v) for v in value) + "]"
    return str(value)


def mean_or_nan(per_seed: np.ndarray) -> np.ndarray:
    """Mean over the seeds axis (0); NaN where any seed is NaN (a time some seed never reached)."""
    per_seed = np.asarray(per_seed, np.float64)
    return np.where(np.isnan(per_seed).any(axis=0), np.nan, np.mean(np.nan_to_num(per_seed), axis=0))
