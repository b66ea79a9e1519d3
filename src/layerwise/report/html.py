"""The reproduction report: one self-contained ``index.html`` (figures embedded) with a verdict for every claim."""

from __future__ import annotations

import base64
import html
import json
import platform
from pathlib import Path

from layerwise.report.claims import CLAIMS, judge
from layerwise.report.results import SUMMARY

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1200px; margin: 2em auto; color: #222; line-height: 1.4; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; width: 100%; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.5em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
.reproduced, .pass { background: #e5f5e0; } .notreproduced, .fail { background: #fde0dd; }
.notapplicable { background: #f0f0f0; color: #555; }
img { max-width: 100%; border: 1px solid #ddd; margin: 0.5em 0; }
code { background: #f6f6f6; padding: 0 0.2em; }
"""


def _format(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return "[" + ", ".join(_format(v) for v in value) + "]"
    return str(value)


def _esc(value) -> str:
    return html.escape(_format(value))


def load_summaries(directory, names) -> dict[str, dict]:
    """The summaries of the finished experiments among ``names`` in ``directory``."""
    summaries = {}
    for name in names:
        path = Path(directory) / name / SUMMARY
        if path.exists():
            summaries[name] = json.loads(path.read_text())
    return summaries


def write_report(directory, names, descriptions: dict[str, str], wall_times: dict[str, float]) -> Path:
    """Write ``directory/index.html`` from the finished experiments in ``directory``; returns its path."""
    directory = Path(directory)
    summaries = load_summaries(directory, names)
    checks = {name: {c["name"]: c for c in s["checks"]} for name, s in summaries.items()}
    verdicts = [judge(claim, checks) for claim in CLAIMS]
    counts = {v: sum(x.verdict == v for x in verdicts) for v in ("reproduced", "not reproduced", "not applicable")}
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>layerwise reproduction report</title>"
             f"<style>{_STYLE}</style></head><body>",
             "<h1>layerwise: reproduction of Nam et al. (2025), <i>Solve layerwise linear models first</i></h1>",
             f"<p><b>{counts['reproduced']}</b> claims reproduced, <b>{counts['not reproduced']}</b> not reproduced, "
             f"<b>{counts['not applicable']}</b> not applicable (of {len(CLAIMS)}). Theory is drawn solid, the linear "
             "network's simulation dashed, the nonlinear network dotted.</p>"]
    parts.append("<h2>Claims</h2><table><tr><th>#</th><th>claim</th><th>experiment</th><th>measured (value; "
                 "expected)</th><th>verdict</th></tr>")
    for v in verdicts:
        measured = "<br>".join(f"<code>{_esc(n)}</code>: {_esc(val)}; {_esc(exp)}" for n, val, exp in v.values)
        css = v.verdict.replace(" ", "")
        parts.append(f"<tr class='{css}'><td>{v.claim.number}</td><td>{_esc(v.claim.text)}</td>"
                     f"<td>{_esc(v.claim.experiment)}</td><td>{measured}</td>"
                     f"<td><b>{_esc(v.verdict)}</b><br>{_esc(v.reason)}</td></tr>")
    parts.append("</table>")
    parts.append("<h2>Runs</h2><table><tr><th>experiment</th><th>checks passed</th><th>quick</th><th>seed</th>"
                 "<th>wall time (s)</th><th>data</th></tr>")
    for name in names:
        s = summaries.get(name)
        if s is None:
            parts.append(f"<tr class='notapplicable'><td>{_esc(name)}</td><td colspan=5>not run</td></tr>")
            continue
        wall = wall_times.get(name, s.get("wall_time_s"))
        parts.append(f"<tr><td><a href='#{_esc(name)}'>{_esc(name)}</a></td><td>{s['passed']}/{s['passed'] + s['failed']}"
                     f"</td><td>{_esc(s.get('quick'))}</td><td>{_esc(s['config'].get('seed'))}</td>"
                     f"<td>{_esc(wall)}</td><td>{_esc(s.get('data_source', 'generated'))}</td></tr>")
    parts.append("</table>")
    for name in names:
        s = summaries.get(name)
        if s is None:
            continue
        parts.append(f"<h2 id='{_esc(name)}'>{_esc(name)}</h2><p>{_esc(descriptions.get(name, ''))}</p>")
        for figure in s.get("figures", []):
            encoded = base64.b64encode((directory / name / figure).read_bytes()).decode()
            parts.append(f"<img alt='{_esc(figure)}' src='data:image/png;base64,{encoded}'>")
        parts.append("<h3>Theory vs simulation and other checks</h3><table><tr><th>check</th><th>claim</th>"
                     "<th>value</th><th>expected</th><th>passed</th></tr>")
        for c in s["checks"]:
            css = "pass" if c["passed"] else "fail"
            parts.append(f"<tr class='{css}'><td><code>{_esc(c['name'])}</code></td><td>{_esc(c['claim'])}</td>"
                         f"<td>{_esc(c['value'])}</td><td>{_esc(c['expected'])}</td><td>{_esc(c['passed'])}</td></tr>")
        parts.append("</table>")
        parts.append(f"<details><summary>config</summary><pre>{_esc(json.dumps(s['config'], indent=1))}</pre></details>")
        parts.append(f"<p>Data: <code>{_esc(name)}/data.nc</code> (opens with <code>xarray.open_dataset</code>).</p>")
    any_summary = next(iter(summaries.values()), {})
    parts.append("<h2>Provenance</h2><table>")
    for key, value in {**any_summary.get("versions", {}), "platform": platform.platform()}.items():
        parts.append(f"<tr><th>{_esc(key)}</th><td>{_esc(value)}</td></tr>")
    parts.append("</table></body></html>")
    target = directory / "index.html"
    staging = directory / ".index.html.partial"
    staging.write_text("\n".join(parts))
    staging.replace(target)
    return target
