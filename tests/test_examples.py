"""The example notebook runs top to bottom and its simulation agrees with the exact solution."""

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "lambda_balanced.ipynb"


def test_example_notebook_runs_and_matches_theory(capsys):
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    namespace: dict = {}
    for cell in cells:
        if cell["cell_type"] == "code":
            exec(compile("".join(cell["source"]), str(NOTEBOOK), "exec"), namespace)  # noqa: S102
    # GD (lr 5e-3) tracks the exact flow to O(lr).
    assert namespace["error"] < 2e-2
    assert "largest |GD - exact flow|" in capsys.readouterr().out
