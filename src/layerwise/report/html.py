"""The reproduction report: one self-contained ``index.html`` (figures embedded) with a verdict for every claim."""

from __future__ import annotations

import base64
import json
import platform
from pathlib import Path

import jinja2
import markupsafe

from layerwise.report.atomic import write_text_atomically
from layerwise.report.claims import CLAIMS, headline, judge_all
from layerwise.report.results import SUMMARY

TEMPLATE = "index.html.j2"  # in the package's ``templates`` folder (package data)


def _format(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return "[" + ", ".join(_format(v) for v in value) + "]"
    return str(value)


_ENVIRONMENT = jinja2.Environment(loader=jinja2.PackageLoader("layerwise.report", "templates"), autoescape=True,
                                  undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
_ENVIRONMENT.filters["fmt"] = _format


def load_summaries(directory, names, *, skip=()) -> dict[str, dict]:
    """The summaries of the finished experiments among ``names`` in ``directory`` (those in ``skip`` left out)."""
    summaries = {}
    for name in names:
        if name in skip:
            continue
        path = Path(directory) / name / SUMMARY
        if path.exists():
            summaries[name] = json.loads(path.read_text())
    return summaries


def _static_explorer() -> markupsafe.Markup:
    """The server-free explorer (`layerwise.explore.static`): trusted HTML and inlined BokehJS made by layerwise."""
    from layerwise.explore.static import explorer_html
    from layerwise.precision import enable_x64

    with enable_x64():  # the closed forms' accuracy needs float64 whatever the caller's setting
        return markupsafe.Markup(explorer_html())


def write_report(directory, names, descriptions: dict[str, str], wall_times: dict[str, float],
                 problems: dict[str, str] | None = None, *, verdicts=None, size: str | None = None) -> Path:
    """Write ``directory/index.html`` from the finished experiments in ``directory``; returns its path.

    ``problems`` (name -> what is wrong, from `layerwise.report.manifest.verify_manifest`) marks results that failed
    their integrity check: they are shown as such and no claim is judged on them. ``verdicts`` (from
    `layerwise.report.claims.judge_all`; judged here when None) fill the claims table, ``size`` (quick or full; the
    summaries' when None) its headline."""
    directory = Path(directory)
    problems = dict(problems or {})
    summaries = load_summaries(directory, names, skip=problems)
    if verdicts is None:
        verdicts = judge_all(summaries, problems)
    if size is None:
        sizes = {v.size for v in verdicts if v.size is not None}
        size = sizes.pop() if len(sizes) == 1 else ("mixed" if sizes else "no")
    runs = []
    for name in names:
        s = summaries.get(name)
        run = {"name": name, "summary": s, "problem": problems.get(name)}
        if s is not None:
            run.update(wall=wall_times.get(name, s.get("wall_time_s")), description=descriptions.get(name, ""),
                       config_json=json.dumps(s["config"], indent=1),
                       figures=[(figure, base64.b64encode((directory / name / figure).read_bytes()).decode())
                                for figure in s.get("figures", [])])
        runs.append(run)
    any_summary = next(iter(summaries.values()), {})
    provenance = {**any_summary.get("versions", {}), "platform": platform.platform()}
    page = _ENVIRONMENT.get_template(TEMPLATE).render(
        headline=headline(verdicts) or "no claim judged", size=size, n_claims=len(CLAIMS), verdicts=verdicts,
        runs=runs, provenance=provenance, explorer=_static_explorer())
    return write_text_atomically(directory / "index.html", page)  # after a Ctrl-C the report is not put in place
