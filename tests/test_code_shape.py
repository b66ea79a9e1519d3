"""The code keeps the shape the architecture asks for: no function in src/ longer than 80 lines of code (its
docstring not counted), and one training loop (optimiser steps are taken in the engine only)."""

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "layerwise"


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
