"""The ``layerwise`` command: list and run registered experiments."""

from __future__ import annotations

import dataclasses
import sys
import time
import typing
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from layerwise.errors import DivergenceError, LayerwiseError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="layerwise: solve the layerwise linear model first. Run experiments that put theory, linear networks and "
    "nonlinear networks side by side.",
)
console = Console()


def _print_error(message: str) -> None:
    """One unwrapped line on stderr (rich would wrap long messages to the terminal width)."""
    sys.stderr.write(" ".join(message.split()) + "\n")


def _parse_value(key: str, text: str, annotation):
    """Convert ``text`` to the config field's type; a `LayerwiseError` naming the key and the expected type."""
    origin = typing.get_origin(annotation)
    try:
        if annotation is bool:
            if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError
            return text.lower() in ("true", "1", "yes")
        if annotation in (int, float, str):
            return annotation(text)
        if origin is tuple:
            element = typing.get_args(annotation)[0]
            return tuple(element(part) for part in text.split(",") if part.strip())
        if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
            if text.lower() == "none":
                return None
            inner = [a for a in typing.get_args(annotation) if a is not type(None)][0]
            return _parse_value(key, text, inner)
    except ValueError:
        pass
    else:
        return text
    name = getattr(annotation, "__name__", str(annotation))
    raise LayerwiseError(f"--set {key}: expected {name}, got {text!r}")


def _overrides(experiment, assignments: list[str]) -> dict:
    hints = typing.get_type_hints(experiment.config_type)
    fields = [f.name for f in dataclasses.fields(experiment.config_type)]
    values = {}
    for assignment in assignments:
        key, sep, text = assignment.partition("=")
        key = key.strip()
        if not sep:
            raise LayerwiseError(f"--set expects key=value, got {assignment!r}")
        if key not in fields:
            raise LayerwiseError(f"unknown config key {key!r} for {experiment.name}; allowed: {', '.join(fields)}")
        values[key] = _parse_value(key, text.strip(), hints[key])
    return values


@app.command("list")
def list_experiments() -> None:
    """List the registered experiments."""
    from layerwise.experiments import REGISTRY

    table = Table("experiment", "description")
    for name, experiment in sorted(REGISTRY.items()):
        table.add_row(name, experiment.description)
    console.print(table)


@app.command()
def run(
    name: str = typer.Argument(..., help="Experiment name (see `layerwise list`)."),
    quick: bool = typer.Option(False, "--quick", help="Smaller, faster setting (minutes on 2 cores)."),
    out: Path = typer.Option(Path("layerwise-results"), "--out", help="Results directory; writes OUT/NAME/."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Random seed (overrides the config's seed)."),
    assignments: list[str] = typer.Option([], "--set", help="Override a config field: --set key=value (repeatable)."),
    strict: bool = typer.Option(False, "--strict", help="Exit with status 1 when any check fails."),
) -> None:
    """Run one experiment and write data.nc, summary.json and figures to OUT/NAME/."""
    from layerwise.experiments import get_experiment
    from layerwise.report.results import write_results

    experiment = get_experiment(name)
    overrides = _overrides(experiment, assignments)
    if seed is not None:
        if seed < 0:
            raise LayerwiseError(f"--seed must be an integer >= 0, got {seed}")
        overrides["seed"] = seed
    config = experiment.make_config(quick=quick, **overrides)
    start = time.perf_counter()
    with Progress(
        TextColumn("[bold]{task.fields[experiment]}"), BarColumn(), TextColumn("{task.description}"),
        TimeElapsedColumn(), console=console, transient=False,
    ) as progress:
        task = progress.add_task("starting", total=experiment.units(config), experiment=name)

        def advance(description: str) -> None:
            progress.update(task, advance=1, description=description)

        outcome = experiment.run(config, advance)
        progress.update(task, completed=experiment.units(config), description="done")
    wall = time.perf_counter() - start
    path = write_results(out, name, outcome, config, wall_time=wall, quick=quick)
    table = Table("check", "value", "expected", "passed", title=f"{name}: checks")
    for check in outcome.checks:
        value = check.value if isinstance(check.value, str) else f"{check.value:.4g}" if isinstance(check.value, float) else str(check.value)
        expected = check.expected if isinstance(check.expected, str) else f"{check.expected:.4g}" if isinstance(check.expected, float) else str(check.expected)
        table.add_row(check.name, value, expected, "[green]yes" if check.passed else "[red]NO")
    console.print(table)
    passed = sum(c.passed for c in outcome.checks)
    console.print(f"{passed}/{len(outcome.checks)} checks passed in {wall:.1f} s; results in {path}")
    if strict and passed < len(outcome.checks):
        raise typer.Exit(1)


def main(argv: list[str] | None = None) -> int:
    """Entry point: user mistakes print one line on stderr and exit 2; divergence exits 1."""
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
    except Exception as error:
        # Command-line usage errors (click's UsageError, vendored by recent typer): duck-typed, one line.
        if hasattr(error, "format_message") and getattr(error, "exit_code", None) == 2:
            message = " ".join(error.format_message().split())
            _print_error(f"error: {message}")
            return 2
        raise
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
