"""``layerwise show OUT/NAME-sweep``: a sweep's table (`layerwise.sweeping.table`) as rich tables."""

from __future__ import annotations

import json
from pathlib import Path

from rich.markup import escape
from rich.table import Table

from layerwise.errors import LayerwiseError
from layerwise.sweeping.table import TABLE


def is_sweep_folder(path) -> bool:
    return (Path(path) / TABLE).is_file()


def _number(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else escape(str(value))


def read_table(path) -> dict:
    file = Path(path) / TABLE
    try:
        table = json.loads(file.read_text(encoding="utf-8"))
        table["cells"], table["fields"]  # noqa: B018 — the keys every sweep table has
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise LayerwiseError(f"{str(file)!r} is not a layerwise sweep table ({type(error).__name__})") from None
    return table


def sweep_tables(path) -> list[Table]:
    """The cells (grid point, status, checks passed, wall time) and the checks' seed means ± 95 % intervals."""
    content = read_table(path)
    fields = content["fields"]
    cells = Table(*fields, "status", "checks passed", "wall time (s)", "cell",
                  title=f"{escape(str(content.get('experiment')))} sweep: {content.get('finished', 0)} finished, "
                        f"{content.get('failed', 0)} failed of {len(content['cells'])}")
    names = list(dict.fromkeys(n for row in content["cells"] for n in row.get("checks", {})))
    checks = Table("cell", *map(escape, names), title="checks: seed mean ± 95 % interval")
    for row in content["cells"]:
        status = row.get("status", "missing")
        passed = f"{row['checks_passed']}/{row['checks_total']}" if "checks_passed" in row else "-"
        cells.add_row(*(_number(row["grid"].get(f)) for f in fields),
                      escape(status + (f": {row['error']}" if row.get("error") else "")), passed,
                      _number(row.get("wall_time_s", "-")), escape(row["cell"]))
        values = []
        for name in names:
            entry = row.get("checks", {}).get(name)
            if entry is None:
                values.append("-")
                continue
            half = entry.get("interval")
            values.append(_number(entry["mean"]) + (f" ± {half:.2g}" if isinstance(half, float) else ""))
        checks.add_row(escape(row["cell"]), *values)
    return [cells, checks]
