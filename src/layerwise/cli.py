"""The ``layerwise`` command: list, run, reproduce and show experiments."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from layerwise.errors import DivergenceError, LayerwiseError, SolverError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="layerwise: solve the layerwise linear model first. Run experiments that put theory, linear networks and "
    "nonlinear networks side by side, and reproduce the paper's claims.",
)
console = Console()
DEFAULT_OUT = Path("layerwise-results")


def _print_error(message: str) -> None:
    """One unwrapped line on stderr (rich would wrap long messages to the terminal width)."""
    sys.stderr.write(" ".join(message.split()) + "\n")


def _check_out(out: Path, *files: str) -> None:
    """``--out`` must be (or be creatable as) a writable directory with some free space, and ``OUT/FILE`` must not be
    a directory: checked before anything runs."""
    from layerwise.report.results import output_problem

    problem = output_problem(out)
    for file in files:
        if problem is None and (out / file).is_dir():
            problem = f"holds a directory named {file!r} where a file is written"
    if problem is not None:
        raise LayerwiseError(f"--out {str(out)!r} {problem}")


def _registry():
    from layerwise.experiments import REGISTRY, load_plugins

    load_plugins()
    return REGISTRY


def _progress() -> Progress:
    return Progress(TextColumn("[bold]{task.fields[experiment]}"), BarColumn(), TextColumn("{task.description}"),
                    TimeElapsedColumn(), console=console)


def _short(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return "[" + ", ".join(_short(v) for v in value) + "]"
    return str(value)


def _checks_table(name: str, checks: list[dict]) -> Table:
    table = Table("check", "value", "expected", "passed", title=f"{escape(str(name))}: checks")
    for check in checks:  # escaped: names and values read from summary.json are not rich markup
        table.add_row(escape(str(check["name"])), escape(_short(check["value"])), escape(_short(check["expected"])),
                      "[green]yes" if check["passed"] else "[red]NO")
    return table


@app.command("list")
def list_experiments() -> None:
    """List the registered experiments."""
    table = Table("experiment", "description")
    for name, experiment in _registry().items():  # registration (report) order
        table.add_row(name, experiment.description)
    console.print(table)


@app.command()
def run(
    name: str = typer.Argument(..., help="Experiment name (see `layerwise list`) or a CONFIG.toml file."),
    quick: bool = typer.Option(False, "--quick", help="Smaller, faster setting (minutes on 2 cores)."),
    out: Path = typer.Option(DEFAULT_OUT, "--out", help="Results directory; writes OUT/NAME/."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Random seed (overrides the config's seed)."),
    assignments: list[str] = typer.Option([], "--set", help="Override a config field: --set key=value (TOML value)."),
    print_config: bool = typer.Option(False, "--print-config", help="Print the config as TOML and exit."),
    strict: bool = typer.Option(False, "--strict", help="Exit with status 1 when any check fails."),
) -> None:
    """Run one experiment and write data.nc, summary.json and figures to OUT/NAME/."""
    from layerwise.experiments.config import build_config, config_to_toml, parse_assignments, read_config_file
    from layerwise.interrupt import Session
    from layerwise.runner import run_one

    registry = _registry()
    values = {}
    if name.endswith(".toml"):
        name, values = read_config_file(name)
    if name not in registry:
        raise LayerwiseError(f"unknown experiment {name!r}; allowed: {', '.join(sorted(registry))}")
    experiment = registry[name]
    values.update(parse_assignments(assignments))
    if seed is not None:
        if seed < 0:
            raise LayerwiseError(f"--seed must be an integer >= 0, got {seed}")
        values["seed"] = seed
    config = build_config(experiment, values, quick=quick)
    if print_config:
        sys.stdout.write(config_to_toml(name, config))
        return
    _check_out(out)
    with Session(out, [name]) as session, _progress() as progress:  # locks out; Ctrl-C keeps what finished
        task = progress.add_task("starting", total=experiment.units(config), experiment=name)
        record = session.call(run_one, experiment, config, out, quick=quick,
                              progress=lambda text: progress.update(task, advance=1, description=text))
        progress.update(task, completed=experiment.units(config), description="done")
    summary = json.loads((record.path / "summary.json").read_text())
    console.print(_checks_table(name, summary["checks"]))
    console.print(f"{record.passed}/{record.total} checks passed in {record.wall_time:.1f} s; results in {record.path}",
                  markup=False)
    if strict and record.passed < record.total:
        raise typer.Exit(1)


@app.command()
def reproduce(
    quick: bool = typer.Option(False, "--quick", help="Every experiment's quick setting (about 10 minutes)."),
    full: bool = typer.Option(False, "--full", help="Every experiment's full (paper) setting (the default)."),
    only: Optional[str] = typer.Option(None, "--only", help="Comma-separated experiment names to run."),
    out: Path = typer.Option(DEFAULT_OUT, "--out", help="Results directory; writes OUT/index.html."),
    force: bool = typer.Option(False, "--force", help="Re-run experiments that already finished."),
) -> None:
    """Run every experiment (finished ones are skipped) and write the HTML report with a verdict per claim."""
    from layerwise.interrupt import Session
    from layerwise.runner import reproduce as run_all

    if quick and full:
        raise LayerwiseError("--quick and --full exclude each other; choose one")
    registry = _registry()
    names = list(registry)  # registration order: the report's narrative order (feedback first)
    if only is not None:
        names = [n.strip() for n in only.split(",") if n.strip()]
        unknown = [n for n in names if n not in registry]
        if unknown or not names:
            raise LayerwiseError(f"--only: unknown experiment {', '.join(unknown) or '(none given)'}; allowed: "
                                 f"{', '.join(sorted(registry))}")
    _check_out(out, "index.html")
    # Session: locks out; the experiments run in a worker thread, so Ctrl-C keeps what finished and exits 130.
    with Session(out, names, report="the report") as session, _progress() as progress:
        def progress_factory(name: str, total: int):
            task = progress.add_task("starting", total=total, experiment=name)
            return lambda text: progress.update(task, advance=1, description=text)

        def announce(record) -> None:
            session.keep(record.name)
            state = "skipped (already finished)" if record.skipped else f"{record.wall_time:.1f} s"
            progress.console.print(f"{record.name}: {record.passed}/{record.total} checks passed, {state}")

        records, report = session.call(run_all, out, names, quick=quick, force=force,
                                       progress_factory=progress_factory, on_record=announce,
                                       on_problem=lambda message: _print_error(f"warning: {message}"))
    table = Table("experiment", "checks passed", "wall time (s)", "status", title="layerwise reproduce")
    for record in records:
        table.add_row(record.name, f"{record.passed}/{record.total}", f"{record.wall_time:.1f}",
                      "skipped (finished before)" if record.skipped else "ran")
    console.print(table)
    console.print(f"report: {report}", markup=False)


@app.command()
def show(
    path: Path = typer.Argument(..., help="A results directory OUT/NAME (or OUT for all of them)."),
    strict: bool = typer.Option(False, "--strict", help="Exit with status 1 when a result fails its integrity check "
                                "(manifest.json) or any check failed."),
) -> None:
    """Print the summary of finished results, flagging any that fails its integrity check (manifest.json)."""
    from layerwise.report.manifest import verify_manifest
    from layerwise.report.results import SUMMARY, read_summary

    try:
        folders = [path] if (path / SUMMARY).exists() else sorted(p.parent for p in path.glob(f"*/{SUMMARY}"))
    except (OSError, ValueError) as error:  # a name too long, a NUL byte, a folder that cannot be listed
        reason = getattr(error, "strerror", None) or error
        raise LayerwiseError(f"cannot look for results in {str(path)!r} ({reason})") from None
    if not folders:
        raise LayerwiseError(f"no results in {str(path)!r} (expected {SUMMARY} there or in its subdirectories)")
    summaries, problems = [], []
    for folder in folders:  # every file checked before anything is printed
        problem = verify_manifest(folder)
        try:
            summaries.append(read_summary(folder))
        except LayerwiseError as error:
            raise LayerwiseError(f"{error}{f' ({folder}: {problem})' if problem else ''}") from None
        problems.append(problem)
    for folder, summary, problem in zip(folders, summaries, problems):
        if problem is not None:
            _print_error(f"warning: {folder}: {problem}")
        console.print(_checks_table(summary["experiment"], summary["checks"]))
        console.print(f"{summary['passed']}/{summary['passed'] + summary['failed']} checks passed; quick="
                      f"{summary['quick']}; seed={summary['config'].get('seed')}; {summary['wall_time_s']} s; "
                      f"data: {folder / summary['data']}; figures: {', '.join(summary['figures'])}", markup=False)
    if strict and (any(problems) or any(summary["failed"] for summary in summaries)):
        raise typer.Exit(1)


def _configure_process() -> None:
    """The command line's process-wide settings (a library import changes neither): float64 for the theory checks,
    and matplotlib's file-only Agg backend (no display needed)."""
    import matplotlib

    from layerwise.precision import enable_x64

    enable_x64()
    matplotlib.use("Agg")


def main(argv: list[str] | None = None) -> int:
    """Entry point: user mistakes print one line on stderr and exit 2; divergence exits 1."""
    _configure_process()
    try:
        code = app(args=argv, standalone_mode=False)
    except typer.Exit as stop:
        return stop.exit_code
    except typer.Abort:
        _print_error("aborted")
        return 130
    except LayerwiseError as error:
        _print_error(f"error: {error}")
        return 2
    except DivergenceError as error:
        _print_error(f"diverged: {error}")
        return 1
    except SolverError as error:
        _print_error(f"solver: {error}")
        return 1
    except Exception as error:
        # Command-line usage errors (click's UsageError, vendored by recent typer): duck-typed, one line.
        if hasattr(error, "format_message") and getattr(error, "exit_code", None) == 2:
            _print_error(f"error: {error.format_message()}")
            return 2
        raise
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
