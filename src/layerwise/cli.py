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


_VERDICT_STYLE = {"reproduced": "green", "partly_reproduced": "yellow", "not_reproduced": "red", "unstable": "yellow",
                  "inconclusive": "yellow", "not_run": "dim", "passed": "green", "failed": "red"}
"""Rich styles of claim verdicts and check statuses."""


def _claims_table(document: dict) -> Table:
    """The claims of a ``claims.json`` document: verdict, evidence, size, data, seeds and every deciding check."""
    table = Table(title=escape(f"claims ({document.get('size')} size, commit "
                               f"{str(document.get('commit') or 'unknown')[:12]}, {document.get('date')})"))
    for column, width in (("#", None), ("verdict", 12), ("evidence", 11), ("size", None), ("data", None),
                          ("seeds", None)):
        table.add_column(column, max_width=width, no_wrap=width is None)
    table.add_column("deciding checks (status)", overflow="fold", ratio=1)
    for claim in document["claims"]:
        checks = "\n".join(f"{escape(str(result.get('name')))}: [{_VERDICT_STYLE.get(result.get('status'), 'red')}]"
                           f"{escape(str(result.get('status')).replace('_', ' '))}[/]"
                           for result in claim.get("check_results", [])) or "(none)"
        verdict = str(claim["verdict"])
        style = _VERDICT_STYLE.get(verdict, "white")
        table.add_row(str(claim["number"]), f"[{style}]{escape(verdict.replace('_', ' '))}",
                      escape(str(claim.get("evidence") or "none").replace("_", " ")),
                      escape(str(claim.get("size") or "not run")), escape(str(claim["data"])),
                      escape(str(claim.get("seeds") if claim.get("seeds") is not None else "-")), checks)
    return table


def _print_claims(directory: Path) -> None:
    """The claims table and the headline of ``directory/claims.json`` (a warning line when it cannot be read)."""
    from layerwise.report.claims_file import read_claims

    try:
        document = read_claims(directory / "claims.json")
    except LayerwiseError as error:
        _print_error(f"warning: {error}")
        return
    console.print(_claims_table(document))
    console.print(f"verdicts by evidence: {document.get('headline', '')}", markup=False, soft_wrap=True)


@app.command("list")
def list_experiments() -> None:
    """List the registered experiments."""
    table = Table("experiment", "description")
    for name, experiment in _registry().items():  # registration (report) order
        table.add_row(name, experiment.description)
    console.print(table)


@app.command(context_settings={"help_option_names": []})
def run(
    ctx: typer.Context,
    name: Optional[str] = typer.Argument(None, help="Experiment name (see `layerwise list`) or a CONFIG.toml file."),
    quick: bool = typer.Option(False, "--quick", help="Smaller, faster setting (minutes on 2 cores)."),
    preset: Optional[str] = typer.Option(None, "--preset", help="A named setting: full (default), quick, test."),
    out: Path = typer.Option(DEFAULT_OUT, "--out", help="Results directory; writes OUT/NAME/."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Random seed (overrides the config's seed)."),
    assignments: list[str] = typer.Option([], "--set", help="Override a config field: --set key=value (TOML value)."),
    print_config: bool = typer.Option(False, "--print-config", help="Print the config as TOML and exit."),
    strict: bool = typer.Option(False, "--strict", help="Exit with status 1 when any check fails or any run diverged."),
    profile: bool = typer.Option(False, "--profile", help="Print the time spent compiling vs running."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Do not use the persistent compilation cache."),
    no_checkpoint: bool = typer.Option(False, "--no-checkpoint", help="Do not checkpoint long training calls "
                                       "(OUT/.checkpoints/, removed once a result is written)."),
    show_help: bool = typer.Option(False, "--help", "-h", help="Show this message (and NAME's config fields)."),
) -> None:
    """Run one experiment and write data.nc, summary.json and figures to OUT/NAME/."""
    from layerwise.experiments.config import build_config, config_to_toml, parse_assignments, read_config_file

    if show_help:
        console.print(ctx.get_help(), markup=False, highlight=False)
        if name is not None:
            _print_config_fields(name)
        return
    if name is None:
        raise LayerwiseError("missing experiment NAME (see `layerwise list`)")
    _compilation_cache(not no_cache)
    from layerwise.experiments import GROUPS

    registry = _registry()
    values = {}
    if name.endswith(".toml"):
        name, values = read_config_file(name)
    if quick and preset not in (None, "quick"):
        raise LayerwiseError(f"--quick and --preset {preset} exclude each other; choose one")
    values.update(parse_assignments(assignments))
    if seed is not None:
        if seed < 0:
            raise LayerwiseError(f"--seed must be an integer >= 0, got {seed}")
        values["seed"] = seed
    preset = preset or ("quick" if quick else None)
    if name in GROUPS:  # an old name that was split: run its parts, each with the --set keys it has
        configs = _group_configs(name, values, preset)
        if print_config:
            sys.stdout.write("\n".join(config_to_toml(part, config, comments=True) for part, config in configs))
            return
        _check_out(out)
        _run_all(out, [(registry[part], config) for part, config in configs], preset, profile, strict,
                 not no_checkpoint)
        return
    if name not in registry:
        raise LayerwiseError(f"unknown experiment {name!r}; allowed: {', '.join(sorted([*registry, *GROUPS]))}")
    config = build_config(registry[name], values, preset=preset)
    if print_config:
        sys.stdout.write(config_to_toml(name, config, comments=True))
        return
    _check_out(out)
    _run_all(out, [(registry[name], config)], preset, profile, strict, not no_checkpoint)


def _group_configs(group: str, values: dict, preset):
    """Each part's config for ``run GROUP``: the --set keys a part has apply to it; a key no part has is an error."""
    import dataclasses

    from layerwise._deprecation import field_aliases
    from layerwise.experiments import GROUPS
    from layerwise.experiments.config import build_config

    registry = _registry()
    parts = GROUPS[group]
    known = {name for part in parts for name in (*(f.name for f in dataclasses.fields(registry[part].config_type)),
                                                   *field_aliases(registry[part].config_type))}
    unknown = sorted(set(values) - known)
    if unknown:
        raise LayerwiseError(f"unknown config key {unknown[0]!r} for {group} (parts: {', '.join(parts)}); allowed: "
                             f"{', '.join(sorted(known))}")
    configs = []
    for part in parts:
        own = {f.name for f in dataclasses.fields(registry[part].config_type)} | set(
            field_aliases(registry[part].config_type))
        configs.append((part, build_config(registry[part], {k: v for k, v in values.items() if k in own},
                                           preset=preset)))
    return configs


def _run_all(out: Path, jobs, preset, profile: bool, strict: bool, checkpoint: bool = True) -> None:
    """Run ``jobs`` ((experiment, config) pairs) holding the lock on ``out``, with Ctrl-C keeping what finished;
    with ``strict``, exit 1 unless every check passed and every run finished."""
    from layerwise.interrupt import Session

    with Session(out, [experiment.name for experiment, _ in jobs]) as session:
        passed = [_run_and_print(session, experiment, config, out, preset, profile, checkpoint)
                  for experiment, config in jobs]
    if strict and not all(passed):
        raise typer.Exit(1)


def _run_and_print(session, experiment, config, out: Path, preset, profile: bool = False,
                   checkpoint: bool = True) -> bool:
    """Run one experiment in ``session`` with a progress bar and print its checks; whether every check passed and
    every run finished."""
    from layerwise.runner import run_one

    name = experiment.name
    with _progress() as progress:  # locks out; Ctrl-C keeps what finished
        task = progress.add_task("starting", total=experiment.units(config), experiment=name)
        record = session.call(run_one, experiment, config, out, quick=preset == "quick", checkpoint=checkpoint,
                              progress=lambda text: progress.update(task, advance=1, description=text))
        progress.update(task, completed=experiment.units(config), description="done")
    session.keep(name)
    summary = json.loads((record.path / "summary.json").read_text())
    console.print(_checks_table(name, summary["checks"]))
    console.print(f"{record.passed}/{record.total} checks passed in {record.wall_time:.1f} s; results in {record.path}",
                  markup=False)
    _print_record_notes(record, profile)
    return record.passed == record.total and not record.incomplete_runs


def _print_record_notes(record, profile: bool) -> None:
    """The lines a finished experiment owes its user: runs that did not finish, and (``--profile``) timing."""
    if record.incomplete_runs:
        console.print(f"{record.name}: runs did not finish in {len(record.incomplete_runs)} engine call(s): "
                      f"{'; '.join(record.incomplete_runs)}", markup=False, style="bold red", soft_wrap=True)
    if profile and record.timing:
        console.print(_profile_line(record.name, record.timing), markup=False, soft_wrap=True)


def _profile_line(name: str, timing: dict) -> str:
    """The ``--profile`` line of one experiment: wall time split into XLA compilation, tracing and lowering, loading
    from the persistent compilation cache, and the rest (running; Python and I/O included)."""
    compile_s, tracing_s, load_s = (timing.get(key, 0.0) for key in ("compile_s", "tracing_s", "cache_load_s"))
    running = timing["wall_s"] - compile_s - tracing_s - load_s
    return (f"{name}: {timing['wall_s']:.1f} s in all, {compile_s:.1f} s compiling ({timing['compilations']} "
            f"programs), "
            f"{tracing_s:.1f} s tracing/lowering, {load_s:.1f} s loading {timing.get('cache_hits', 0)} programs from "
            f"the compilation cache, {running:.1f} s running")


def _compilation_cache(enabled: bool) -> None:
    """JAX's persistent compilation cache in the user cache dir (``$JAX_COMPILATION_CACHE_DIR`` wins), caching even
    small programs, so a re-run skips most compilation. ``LAYERWISE_COMPILATION_CACHE=0`` turns it off (the test
    suite does, so compilation counts there are not changed by an earlier run's cache)."""
    import os

    if not enabled or os.environ.get("LAYERWISE_COMPILATION_CACHE", "1") == "0":
        return

    import jax

    directory = os.environ.get("JAX_COMPILATION_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "layerwise", "jax")
    jax.config.update("jax_compilation_cache_dir", directory)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


def _print_config_fields(name: str) -> None:
    """The config fields of experiment ``name`` with their defaults and docstrings (for ``run NAME --help``)."""
    import dataclasses

    from layerwise.experiments.config import _toml_value
    from layerwise.experiments.fields import descriptions

    registry = _registry()
    if name not in registry:
        raise LayerwiseError(f"unknown experiment {name!r}; allowed: {', '.join(sorted(registry))}")
    experiment = registry[name]
    config = experiment.make_config()
    docs = descriptions(experiment.config_type)
    table = Table("field (--set KEY=VALUE)", "default", "meaning", title=f"{name}: config fields "
                  f"(presets: {', '.join(experiment.preset_names)})")
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        table.add_row(field.name, escape("(unset)" if value is None else _toml_value(value)),
                      escape(" ".join(docs.get(field.name, "").split())))
    console.print(table)


@app.command()
def reproduce(
    quick: bool = typer.Option(False, "--quick", help="Every experiment's quick setting (about 10 minutes)."),
    full: bool = typer.Option(False, "--full", help="Every experiment's full (paper) setting (the default)."),
    only: Optional[str] = typer.Option(None, "--only", help="Comma-separated experiment names to run."),
    out: Path = typer.Option(DEFAULT_OUT, "--out", help="Results directory; writes OUT/index.html."),
    force: bool = typer.Option(False, "--force", help="Re-run experiments that already finished."),
    strict: bool = typer.Option(False, "--strict", help="Exit with status 1 when any check fails or any run diverged."),
    profile: bool = typer.Option(False, "--profile", help="Print the time spent compiling vs running."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Do not use the persistent compilation cache."),
    no_checkpoint: bool = typer.Option(False, "--no-checkpoint", help="Do not checkpoint long training calls "
                                       "(OUT/.checkpoints/, removed once a result is written)."),
) -> None:
    """Run every experiment (finished ones are skipped) and write the HTML report with a verdict per claim."""
    from layerwise.interrupt import Session
    from layerwise.runner import reproduce as run_all

    if quick and full:
        raise LayerwiseError("--quick and --full exclude each other; choose one")
    _compilation_cache(not no_cache)
    registry = _registry()
    names = list(registry)  # registration order: the report's narrative order (feedback first)
    if only is not None:
        from layerwise.experiments import GROUPS, expand_names

        names = [n.strip() for n in only.split(",") if n.strip()]
        unknown = [n for n in names if n not in registry and n not in GROUPS]
        if unknown or not names:
            raise LayerwiseError(f"--only: unknown experiment {', '.join(unknown) or '(none given)'}; allowed: "
                                 f"{', '.join(sorted([*registry, *GROUPS]))}")
        names = expand_names(names)
    _check_out(out, "index.html", "claims.json")
    # Session: locks out; the experiments run in a worker thread, so Ctrl-C keeps what finished and exits 130.
    with Session(out, names, report="the report") as session, _progress() as progress:
        def progress_factory(name: str, total: int):
            task = progress.add_task("starting", total=total, experiment=name)
            return lambda text: progress.update(task, advance=1, description=text)

        def announce(record) -> None:
            session.keep(record.name)
            state = "skipped (already finished)" if record.skipped else f"{record.wall_time:.1f} s"
            progress.console.print(f"{record.name}: {record.passed}/{record.total} checks passed, {state}")
            _print_record_notes(record, profile)

        records, report = session.call(run_all, out, names, quick=quick, force=force,
                                       progress_factory=progress_factory, on_record=announce,
                                       on_problem=lambda message: _print_error(f"warning: {message}"),
                                       checkpoint=not no_checkpoint)
    table = Table("experiment", "checks passed", "wall time (s)", "status", title="layerwise reproduce")
    for record in records:
        table.add_row(record.name, f"{record.passed}/{record.total}", f"{record.wall_time:.1f}",
                      "skipped (finished before)" if record.skipped else "ran")
    console.print(table)
    _print_claims(out)
    console.print(f"report: {report}; claims: {out / 'claims.json'}", markup=False)
    incomplete = [record.name for record in records if record.incomplete_runs]
    if incomplete:
        console.print(f"runs did not finish in: {', '.join(incomplete)} (see the lines above, or incomplete_runs in "
                      "their summary.json)", markup=False, style="bold red")
    if strict and (incomplete or any(record.passed < record.total for record in records)):
        raise typer.Exit(1)


@app.command()
def show(
    path: Path = typer.Argument(..., help="A results directory OUT/NAME (or OUT for all of them)."),
    strict: bool = typer.Option(False, "--strict", help="Exit with status 1 when a result fails its integrity check "
                                "(manifest.json) or any check failed."),
) -> None:
    """Print the summary of finished results, flagging any that fails its integrity check (manifest.json)."""
    from layerwise.report.manifest import verify_manifest
    from layerwise.report.results import SUMMARY, read_summary

    from layerwise.experiments import GROUPS
    from layerwise.sweeping.show import is_sweep_folder, sweep_tables

    if is_sweep_folder(path):  # a sweep folder: its table (the cell folders are ordinary results)
        for table in sweep_tables(path):
            console.print(table)
        return
    try:
        if not (path / SUMMARY).exists() and path.name in GROUPS:  # an old name that was split: show its parts
            folders = [path.parent / part for part in GROUPS[path.name] if (path.parent / part / SUMMARY).exists()]
        else:
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
    if (path / "claims.json").is_file():
        _print_claims(path)
    if strict and (any(problems) or any(summary["failed"] for summary in summaries)):
        raise typer.Exit(1)


@app.command("check")
def check_results(
    path: Path = typer.Argument(..., help="A finished results directory OUT/NAME."),
    strict: bool = typer.Option(False, "--strict", help="Also exit with status 1 when a check fails."),
) -> None:
    """Recompute the checks from data.nc alone and compare them with summary.json (exit 1 if they differ)."""
    from layerwise.report.recheck import recheck

    result = recheck(path, _registry())
    console.print(_checks_table(result.name, result.checks))
    for line in result.differences:
        console.print(f"differs: {line}", markup=False)
    passed = sum(check["passed"] for check in result.checks)
    console.print(f"{len(result.checks) - len(result.differences)}/{len(result.checks)} check values reproduced from "
                  f"data.nc; {passed}/{len(result.checks)} checks passed", markup=False)
    if result.differences or (strict and passed < len(result.checks)):
        raise typer.Exit(1)


@app.command("plot")
def plot_results(
    path: Path = typer.Argument(..., help="A finished results directory OUT/NAME."),
    out: Optional[Path] = typer.Option(None, "--out", help="Where to write the figures (default OUT/NAME/replot/)."),
) -> None:
    """Redraw the figures from data.nc alone into a new folder (a finished result is never changed)."""
    from layerwise.report.recheck import replot

    target = out if out is not None else path / "replot"
    _check_out(target.parent)
    written = replot(path, _registry(), target)
    console.print(f"{len(written)} figure(s) in {target}: {', '.join(p.name for p in written)}", markup=False)


@app.command("solve")
def solve_command(
    data: str = typer.Argument(..., help="digits, mnist1d, mnist (IDX files in $LAYERWISE_MNIST), FILE.npz (arrays "
                               "x, y) or FILE.csv (one column is the target)."),
    target: Optional[str] = typer.Option(None, "--target", help="CSV: the target column (default: the last one)."),
    task: str = typer.Option("auto", "--task", help="auto, classification or regression (auto: text or <= 100 "
                             "distinct integers are labels)."),
    depth: int = typer.Option(2, "--depth", help="Layers of the linear net."),
    init: str = typer.Option("aligned", "--init", help="aligned (Saxe, exact), lambda-balanced (depth 2) or random."),
    init_scale: float = typer.Option(1e-3, "--init-scale", help="Each mode's initial end-to-end strength u0 > 0."),
    imbalance: float = typer.Option(0.0, "--imbalance", help="λ of --init lambda-balanced: W2ᵀW2 − W1W1ᵀ = λI, "
                                    "the later layer minus the earlier (with --init aligned: the old spelling of "
                                    "--mode-imbalance, warns)."),
    mode_imbalance: float = typer.Option(0.0, "--mode-imbalance", help="C = a² − b² of every mode of --init aligned "
                                         "(depth 2): the first layer minus the second (C = −λ)."),
    width: Optional[int] = typer.Option(None, "--width", help="Hidden width of the linear net (default min(d, m))."),
    learning_rate: float = typer.Option(0.01, "--learning-rate", help="Learning rate of every network."),
    steps: Optional[int] = typer.Option(None, "--steps", help="Steps (default: until the slowest predicted mode "
                                        "reaches 90 %, at most 100,000)."),
    optimizer: str = typer.Option("gd", "--optimizer", help="gd (default), sgd, momentum, adam or adamw."),
    mlp: Optional[str] = typer.Option(None, "--mlp", help="Compare an MLP with these hidden widths, e.g. 256,256."),
    activation: str = typer.Option("relu", "--activation", help="The MLP's activation: relu, tanh, gelu, linear."),
    seeds: int = typer.Option(1, "--seeds", help="Runs per network (vmapped), for a band."),
    seed: int = typer.Option(0, "--seed", help="First seed (split, inits)."),
    center: bool = typer.Option(True, "--center/--no-center", help="Centre inputs and targets."),
    whiten: bool = typer.Option(True, "--whiten/--no-whiten", help="PCA-whiten the inputs."),
    test_fraction: float = typer.Option(0.2, "--test-fraction", help="Held-out fraction in [0, 1)."),
    chunk_rows: int = typer.Option(65_536, "--chunk-rows", help="Rows per chunk when accumulating the statistics."),
    out: Path = typer.Option(DEFAULT_OUT / "solve", "--out", help="Results folder (data.nc, summary.json, "
                             "solve.png, index.html)."),
    strict: bool = typer.Option(False, "--strict", help="Exit with status 1 when any check fails."),
) -> None:
    """Solve the layerwise linear model of your data first, then train it and your network beside the solution."""
    from layerwise.errors import check_choice
    from layerwise.models import MLP
    from layerwise.models.mlp import ACTIVATIONS
    from layerwise.solving import load_data, solve
    from layerwise.solving.data import interpret_target
    from layerwise.solving.prediction import resolve_imbalances
    from layerwise.solving.report import FILES

    _check_out(out, *FILES)
    check_choice("--activation", activation, tuple(ACTIVATIONS))
    imbalance, mode_imbalance = resolve_imbalances(init, imbalance, mode_imbalance, command_line=True)
    hidden = None
    if mlp is not None:
        try:
            hidden = tuple(int(w) for w in mlp.split(","))
        except ValueError:
            hidden = ()
        if not hidden or min(hidden) < 1:
            raise LayerwiseError(f"--mlp must be comma-separated positive hidden widths such as 256,256; got {mlp!r}")
    raw = load_data(data, target=target)
    compare = None
    if hidden is not None:
        outputs = interpret_target(raw.y, task).y.shape[1]
        compare = {"mlp": MLP(widths=(raw.x.shape[1], *hidden, outputs), activation=activation)}
    started = time.perf_counter()
    with console.status("solving, then training the linear net" + (" and the MLP" if compare else "")):
        report = solve(raw.x, raw.y, depth=depth, init=init, init_scale=init_scale, imbalance=imbalance,
                       mode_imbalance=mode_imbalance, width=width, learning_rate=learning_rate, steps=steps,
                       optimizer=optimizer, compare=compare, seeds=seeds, seed=seed, center=center, whiten=whiten,
                       task=task, test_fraction=test_fraction, chunk_rows=chunk_rows, name=raw.name)
        path = report.save(out)
    summary = report.summary_json()
    table = Table("mode", "s", "predicted t½", *(f"{n} t½" for n in summary["networks"]),
                  title=f"{escape(raw.name)}: prediction {summary['prediction']}")
    for mode in summary["modes"]:
        table.add_row(str(mode["index"]), _short(mode["singular_value"]), _short(mode["predicted_half_time"]),
                      *(_short(mode[f"{n}_half_time"]) for n in summary["networks"]))
    console.print(table)
    console.print(_checks_table("solve", summary["checks"]))
    for warning in summary["warnings"]:
        console.print(f"warning: {warning}", markup=False)
    console.print(f"{report.passed}/{len(report.checks)} checks passed in {time.perf_counter() - started:.1f} s; "
                  f"{summary['dropped_directions']} input direction(s) dropped by whitening; results in {path}",
                  markup=False)
    if strict and report.passed < len(report.checks):
        raise typer.Exit(1)


@app.command("sweep")
def sweep_command(
    name: str = typer.Argument(..., help="Experiment name (see `layerwise list`) or a SPEC.toml file."),
    grid: list[str] = typer.Option([], "--grid", help="A sweep field: --grid KEY=V1,V2 (TOML array items)."),
    seeds: Optional[int] = typer.Option(None, "--seeds", help="Sets the config's seeds field (run inside each cell)."),
    quick: bool = typer.Option(False, "--quick", help="The quick preset below --set and --grid."),
    preset: Optional[str] = typer.Option(None, "--preset", help="A named setting: full (default), quick, test."),
    assignments: list[str] = typer.Option([], "--set", help="Override a config field: --set key=value (TOML value)."),
    backend: Optional[str] = typer.Option(None, "--backend", help="local (default) or ray."),
    address: Optional[str] = typer.Option(None, "--address", help="Ray: join the cluster at HOST:PORT."),
    out: Path = typer.Option(DEFAULT_OUT, "--out", help="Results directory; writes OUT/NAME-sweep/."),
    strict: bool = typer.Option(False, "--strict", help="Exit with status 1 when a cell failed."),
) -> None:
    """Run a grid of configs (Cartesian product of --grid) into OUT/NAME-sweep/: one result folder per cell, merged
    into sweep.nc, with sweep.json and sweep.png. Re-running skips finished cells."""
    from layerwise.experiments.config import parse_assignments
    from layerwise.sweeping import SweepSpec, parse_grid, read_spec, run_spec
    from layerwise.sweeping.show import sweep_tables

    if quick and preset not in (None, "quick"):
        raise LayerwiseError(f"--quick and --preset {preset} exclude each other; choose one")
    spec = read_spec(name) if name.endswith(".toml") else {"experiment": name, "grid": {}, "values": {}}
    spec["grid"].update(parse_grid(grid))
    spec["values"].update(parse_assignments(assignments))
    given = {"preset": preset or ("quick" if quick else None), "seeds": seeds, "backend": backend, "address": address}
    spec.update({key: value for key, value in given.items() if value is not None})
    _check_out(out)
    result = run_spec(SweepSpec(**spec), out)
    for table in sweep_tables(result.folder):
        console.print(table)
    console.print(f"{len(result.ran)} cell(s) ran, {len(result.skipped)} finished before, {len(result.failed)} "
                  f"failed; results in {result.folder}", markup=False)
    if strict and result.failed:
        raise typer.Exit(1)


@app.command()
def explore(
    port: int = typer.Option(5006, "--port", help="Port of the local web app (http://127.0.0.1:PORT/)."),
    no_browser: bool = typer.Option(False, "--no-browser", help="Do not open a browser tab."),
) -> None:
    """Start the interactive explorer: the closed forms under sliders, beside the engine (Ctrl-C stops it)."""
    from layerwise.explore.app import serve

    serve(port, open_browser=not no_browser, announce=lambda url: console.print(
        f"layerwise explore on {url} (Ctrl-C to stop)", markup=False))


def _configure_process() -> None:
    """The command line's process-wide settings (a library import changes neither): float64 for the theory checks,
    and matplotlib's file-only Agg backend (no display needed)."""
    import matplotlib

    from layerwise.precision import enable_x64

    enable_x64()
    matplotlib.use("Agg")


def _show_renamed(message, category, filename, lineno, file=None, line=None) -> None:
    """A renamed config key or argument (`layerwise._deprecation`) as one ``warning:`` line on stderr."""
    _print_error(f"warning: {message}")


def main(argv: list[str] | None = None) -> int:
    """Entry point: user mistakes print one line on stderr and exit 2; divergence exits 1; an old (renamed)
    config key prints one ``warning:`` line and is used under its new name."""
    import warnings

    from layerwise._deprecation import RenamedFieldWarning

    _configure_process()
    with warnings.catch_warnings():  # restores the filters and warnings.showwarning afterwards
        warnings.simplefilter("always", RenamedFieldWarning)
        other = warnings.showwarning

        def show(message, category, filename, lineno, file=None, line=None):
            if issubclass(category, RenamedFieldWarning):
                return _show_renamed(message, category, filename, lineno)
            return other(message, category, filename, lineno, file, line)

        warnings.showwarning = show
        return _main(argv)


def _main(argv: list[str] | None) -> int:
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
