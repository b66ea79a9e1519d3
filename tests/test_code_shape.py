"""The code keeps the shape the architecture asks for: no function in src/ longer than 80 lines of code (its
docstring not counted), one training loop (optimiser steps are taken in the engine only), and experiments readable in
one sitting: the modules that register an experiment are at most 250 lines each and 160 at the median."""

import ast
import statistics
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "layerwise"
EXPERIMENTS = SRC / "experiments"
MEDIAN_LINES, MAX_LINES = 160, 250


def _code_lines(node) -> int:
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) and \
            isinstance(body[0].value.value, str):
        docstring = body[0].end_lineno - body[0].lineno + 1
    else:
        docstring = 0
    return node.end_lineno - node.lineno + 1 - docstring


def test_no_function_is_longer_than_80_lines():
    long = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _code_lines(node) > 80:
                long.append(f"{path.relative_to(SRC)}:{node.lineno} {node.name} ({_code_lines(node)} lines)")
    assert not long, long


def test_the_engine_is_the_only_training_loop():
    outside = [str(path.relative_to(SRC)) for path in sorted(SRC.rglob("*.py"))
               if "apply_updates" in path.read_text() and path.parent.name != "engine"]
    assert not outside, f"optimiser steps (optax.apply_updates) outside layerwise.engine: {outside}"


def registering_modules() -> dict[str, int]:
    """Each module under ``layerwise/experiments`` that declares an experiment (a top-level ``EXPERIMENT`` or
    ``EXPERIMENTS`` assignment), by its path under ``experiments/``, with its number of lines."""
    found = {}
    for path in sorted(EXPERIMENTS.rglob("*.py")):
        text = path.read_text()
        if any(isinstance(node, ast.Assign) and any(getattr(target, "id", None) in ("EXPERIMENT", "EXPERIMENTS")
                                                    for target in node.targets) for node in ast.parse(text).body):
            found[path.relative_to(EXPERIMENTS).as_posix()] = len(text.splitlines())
    return found


def test_every_built_in_experiment_has_a_registering_module():
    import importlib

    from layerwise.experiments import REGISTRY

    declared = set()
    for module_path in registering_modules():
        module = importlib.import_module("layerwise.experiments." + module_path.removesuffix(".py").removesuffix(
            "/__init__").replace("/", "."))
        declared |= {id(e) for e in getattr(module, "EXPERIMENTS", [getattr(module, "EXPERIMENT", None)])}
    built_in = {id(e) for e in REGISTRY.values()  # plugins registered by other tests live elsewhere
                if (e.simulate or e.run).__module__.startswith("layerwise.experiments.")}
    assert built_in and built_in <= declared


def test_registering_modules_meet_the_size_targets():
    sizes = registering_modules()
    assert max(sizes.values()) <= MAX_LINES and statistics.median(sizes.values()) <= MEDIAN_LINES, sizes
