"""Writing and reading an experiment's results directory, atomically.

Layout of ``OUT/NAME/``: ``data.nc`` (netCDF4 via h5netcdf; opens with plain ``xarray.open_dataset``),
``summary.json`` (top-level ``checks`` list of {name, claim, value, expected, passed}, plus config and provenance),
one PNG per figure, and ``manifest.json`` (see `layerwise.report.manifest`), written last. Everything is written
into a hidden temporary directory beside the target, which is then renamed into place, so an interrupted run never
leaves a directory that looks complete; the manifest tells a complete result from a damaged or foreign one.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import shutil
import stat
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import xarray as xr

from layerwise import interrupt
from layerwise.errors import LayerwiseError
from layerwise.report.checks import Check, _jsonable
from layerwise.report.manifest import verify_manifest, write_manifest

SUMMARY = "summary.json"
DATA = "data.nc"
MIN_FREE_BYTES = 64 * 2**20
"""Free disk space an output directory needs before an experiment starts (results are a few MB; the report more)."""


def _versions() -> dict:
    import importlib.metadata as md

    names = ("layerwise", "jax", "jaxlib", "optax", "diffrax", "equinox", "numpy", "xarray")
    versions = {}
    for name in names:
        try:
            versions[name] = md.version(name)
        except md.PackageNotFoundError:
            versions[name] = None
    versions["python"] = platform.python_version()
    return versions


def _netcdf_safe(dataset: xr.Dataset) -> xr.Dataset:
    """Attributes as netCDF accepts them (numbers and strings; None and bools as strings/ints)."""
    dataset = dataset.copy()
    for target in [dataset, *dataset.variables.values()]:
        target.attrs = {
            key: (int(value) if isinstance(value, bool) else ("" if value is None else value))
            for key, value in target.attrs.items()
        }
    return dataset


def write_png(figure, path, *, dpi: int = 120) -> None:
    """Save ``figure`` as a PNG at ``dpi`` and close it. A figure with a layout engine (the constrained layout of
    `layerwise.report.plotting.figure_grid`) already fits every artist into its canvas, so it is drawn once, at its
    own size; any other is cropped to its artists (``bbox_inches="tight"``, which draws it twice)."""
    tight = None if figure.get_layout_engine() is not None else "tight"
    try:
        figure.savefig(path, dpi=dpi, bbox_inches=tight)
    finally:
        plt.close(figure)


def output_problem(directory) -> str | None:
    """Why results cannot be written to ``directory``, or None: checked before an experiment starts.

    ``directory`` need not exist; it is created from its nearest existing ancestor, which must be a writable
    directory with at least `MIN_FREE_BYTES` free. The problem reads after the path ("is a file, not a directory").
    """
    directory = Path(directory)
    probe = directory
    try:
        if directory.is_symlink() and not directory.exists():
            return "is a broken symbolic link"
        while True:
            try:
                mode = probe.stat().st_mode
                break
            except (FileNotFoundError, NotADirectoryError):  # created later; a file on the way is found going up
                if probe.parent == probe:
                    return "cannot be created (no existing folder above it)"
                probe = probe.parent
    except OSError as error:
        return f"cannot be used ({error.strerror or error})"
    except ValueError as error:  # a NUL byte or a lone surrogate in the name
        return f"is not a valid path ({error})"
    if not stat.S_ISDIR(mode):
        return "is a file, not a directory" if probe == directory else f"cannot be created: {str(probe)!r} is a file"
    if not os.access(probe, os.W_OK | os.X_OK):
        return "is not writable" if probe == directory else f"cannot be created: {str(probe)!r} is not writable"
    free = shutil.disk_usage(probe).free
    if free < MIN_FREE_BYTES:
        return (f"has only {free / 2**20:.1f} MiB of free disk space; results need at least "
                f"{MIN_FREE_BYTES // 2**20} MiB")
    return None


def _umask() -> int:
    mask = os.umask(0o022)  # reading the umask means setting it; put it straight back
    os.umask(mask)
    return mask


def write_results(
    directory, name: str, outcome, config, *, wall_time: float, quick: bool, config_key: str = ""
) -> Path:
    """Write ``outcome`` (an `Outcome`) to ``directory/name`` atomically; returns the final path.

    ``config_key`` (see `layerwise.experiments.config.config_key`) lets a later run recognise a finished result;
    ``manifest.json``, written last, lets it tell an intact result from a damaged or foreign one. After a Ctrl-C
    (`layerwise.interrupt.stop_writing`) nothing is put in place: `layerwise.interrupt.Stopped` is raised instead.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / name
    with interrupt.gate():  # after a Ctrl-C no new staging folder appears
        staging = Path(tempfile.mkdtemp(prefix=f".{name}.partial-", dir=directory))
    try:
        os.chmod(staging, 0o777 & ~_umask())  # mkdtemp makes it 0700; the result folder gets the usual mode
        _netcdf_safe(outcome.dataset).to_netcdf(staging / DATA, engine="h5netcdf")
        figures = []
        for stem, figure in outcome.figures.items():
            write_png(figure, staging / f"{stem}.png")
            figures.append(f"{stem}.png")
        summary = {
            "experiment": name,
            "checks": [check.to_json() for check in outcome.checks],
            "measurements": [m.to_json() for m in getattr(outcome, "measurements", [])],
            "passed": sum(check.passed for check in outcome.checks),
            "failed": sum(not check.passed for check in outcome.checks),
            "config": _jsonable(dataclasses.asdict(config)),
            "config_key": config_key,
            "data_source": str(outcome.dataset.attrs.get("data_source", "generated")),
            "quick": quick,
            "wall_time_s": round(wall_time, 3),
            "incomplete_runs": list(getattr(outcome, "incomplete_runs", [])),
            "timing": dict(getattr(outcome, "timing", {})),
            "figures": figures,
            "data": DATA,
            "versions": _versions(),
            "machine": {"platform": platform.platform(), "processor": platform.machine(), "cpus": os.cpu_count()},
        }
        (staging / SUMMARY).write_text(json.dumps(summary, indent=2) + "\n")
        write_manifest(staging, experiment=name, config_key=config_key)  # the last file written
        old = None
        with interrupt.gate(committing=name):  # after a Ctrl-C nothing is renamed into place
            if target.exists():
                old = Path(tempfile.mkdtemp(prefix=f".{name}.old-", dir=directory))
                os.replace(target, old / name)
            os.replace(staging, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def discard_staging(directory) -> None:
    """Remove the staging directories and files in ``directory`` (they are never read as results), even one that a
    writer is still filling: each folder is first renamed, so no new file can appear in it, then deleted."""
    directory = Path(directory)
    if not directory.is_dir():
        return
    leftovers = [*directory.glob(".*.partial-*"), *directory.glob(".*.old-*"), *directory.glob(".*.partial")]
    for leftover in leftovers:
        try:
            if leftover.is_dir() and not leftover.is_symlink():
                doomed = leftover.with_name(f"{leftover.name}.discard-{os.getpid()}")
                os.rename(leftover, doomed)
                shutil.rmtree(doomed, ignore_errors=True)
            else:
                leftover.unlink()
        except OSError:  # gone already (its writer removed it), or not ours to remove
            pass


def clean_partial(directory) -> None:
    """Remove staging directories left by a run that was killed (they are never read as results)."""
    discard_staging(directory)


def resume_state(directory, name: str, config_key: str) -> tuple[bool, str | None]:
    """``(finished, problem)`` for ``directory/name``: finished when it holds a complete, intact result made by this
    source for the config with ``config_key``; ``problem`` says what is wrong with a result that is there but damaged,
    incomplete or made by other source (None when it is fine, or simply absent or for another config)."""
    folder = Path(directory) / name
    if not folder.is_dir():
        return False, None
    problem = verify_manifest(folder)
    if problem is not None:
        return False, problem
    try:
        return read_summary(folder).get("config_key") == config_key, None
    except LayerwiseError as error:  # the manifest lists a summary that does not read: not ours
        return False, str(error)


def is_finished(directory, name: str, config_key: str) -> bool:
    """Whether ``directory/name`` holds a complete result for the config with ``config_key`` (its manifest intact,
    made by this source)."""
    return resume_state(directory, name, config_key)[0]


_SUMMARY_KEYS = {"experiment": str, "checks": list, "passed": int, "failed": int, "config": dict, "quick": bool,
                 "wall_time_s": (int, float), "figures": list, "data": str}
_CHECK_KEYS = ("name", "value", "expected", "passed")


def read_summary(path) -> dict:
    """The summary of a finished experiment directory; a `LayerwiseError` naming the file if it is unreadable,
    not UTF-8 JSON, or lacks the keys `write_results` writes."""
    file = Path(path) / SUMMARY
    try:
        summary = json.loads(file.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise LayerwiseError(f"{str(file)!r} not found") from None
    except OSError as error:
        raise LayerwiseError(f"{str(file)!r} cannot be read ({error.strerror or error})") from None
    except UnicodeDecodeError as error:
        raise LayerwiseError(f"{str(file)!r} is not UTF-8 text (byte {error.start})") from None
    except (ValueError, RecursionError) as error:  # JSONDecodeError is a ValueError
        raise LayerwiseError(f"{str(file)!r} is not valid JSON ({error})") from None
    if not isinstance(summary, dict):
        raise LayerwiseError(f"{str(file)!r} is not a layerwise summary (a JSON object expected)")
    for key, kind in _SUMMARY_KEYS.items():
        if not isinstance(summary.get(key), kind):
            raise LayerwiseError(f"{str(file)!r} is not a layerwise summary: key {key!r} is missing or not a "
                                 f"{getattr(kind, '__name__', 'number')}")
    if not all(isinstance(figure, str) for figure in summary["figures"]):
        raise LayerwiseError(f"{str(file)!r} is not a layerwise summary: figures must be file names")
    for check in summary["checks"]:
        if not isinstance(check, dict) or any(key not in check for key in _CHECK_KEYS) or not isinstance(
                check["name"], str):
            raise LayerwiseError(f"{str(file)!r} is not a layerwise summary: each check needs "
                                 f"{', '.join(_CHECK_KEYS)} (name a string)")
    return summary


def read_checks(path) -> list[Check]:
    """The checks of a finished experiment directory, as `Check` objects."""
    return [Check(**entry) for entry in read_summary(path)["checks"]]
