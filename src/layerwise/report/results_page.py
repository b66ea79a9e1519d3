"""``docs/results.md``: the quick and the full claims tables side by side, from the ``claims.json`` files that
``layerwise reproduce --quick`` and ``layerwise reproduce --full`` write (`layerwise.report.claims_file`).

Without a full file every full column says "not run at full size" and the comparison says "quick only"; a claim
reproduced at quick size but not at full size says so. Run as::

    python -m layerwise.report.results_page QUICK_OUT/claims.json [FULL_OUT/claims.json] [--out docs/results.md]

Example:
    >>> from layerwise.report.claims import judge_all
    >>> from layerwise.report.claims_file import claims_document
    >>> page = results_markdown(claims_document(judge_all({}), "quick", date="2026-01-01"), None)
    >>> "| full | not run at full size |" in page and "Comparison: quick only" in page
    True
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from layerwise.errors import LayerwiseError
from layerwise.report.atomic import write_text_atomically
from layerwise.report.claims_file import read_claims

NOT_FULL = "not run at full size"
COMMAND = "python -m layerwise.report.results_page"


def _cell(value) -> str:
    """``value`` as one Markdown table cell (pipes and line breaks escaped)."""
    if isinstance(value, float):
        value = f"{value:.4g}"
    elif isinstance(value, list):
        value = "[" + ", ".join(_cell(v) for v in value) + "]"
    return str(value).replace("|", "\\|").replace("\n", " ")


def _words(token) -> str:
    return "-" if token is None else str(token).replace("_", " ")


def compare(quick: dict, full: dict | None) -> str:
    """How one claim's full-size verdict compares with its quick one (``full`` None: not run at full size)."""
    if full is None:
        return "quick only"
    if full["verdict"] == quick["verdict"]:
        return "same at both sizes"
    if full["verdict"] == "not_run":
        return "quick only"
    if quick["verdict"] == "reproduced":
        return f"reproduced at quick size, not at full size ({_words(full['verdict'])})"
    return f"quick: {_words(quick['verdict'])}; full: {_words(full['verdict'])}"


def _comparison_scope(quick: dict, full: dict | None) -> str:
    """'quick and full', or, when the full-size run left out claims the quick one decided, for how many it holds."""
    if not full:
        return "quick only"
    full_verdicts = {claim["number"]: claim["verdict"] for claim in full["claims"]}
    quick_run = [claim["number"] for claim in quick["claims"] if claim["verdict"] != "not_run"]
    both = [number for number in quick_run if full_verdicts.get(number, "not_run") != "not_run"]
    return "quick and full" if len(both) == len(quick_run) else (
        f"quick and full for {len(both)} of {len(quick_run)} claims (the full-size run is partial; the rest quick only)")


def _check_cell(result: dict | None) -> str:
    if result is None:
        return NOT_FULL
    if result.get("status") == "not_run":
        return f"not run ({_cell(result.get('note', ''))})"
    interval = f" ± {_cell(result['interval'])}" if result.get("interval") is not None else ""
    return (f"**{_words(result.get('status'))}**: {_cell(result.get('value'))}{interval}; "
            f"{_cell(result.get('expected'))}; {result.get('seeds')} seed(s)")


def _pair(quick, full, key) -> str:
    return f"{_cell(_words(quick.get(key)))} / {_cell(_words(full.get(key))) if full else '-'}"


def _claim_rows(quick: dict, full: dict | None) -> list[str]:
    fulls = {claim["number"]: claim for claim in full["claims"]} if full else {}
    rows = ["| # | claim | evidence | data (quick / full) | seeds (quick / full) | quick | full | comparison |",
            "|---|---|---|---|---|---|---|---|"]
    for claim in quick["claims"]:
        other = fulls.get(claim["number"])
        departures = "".join(f"<br>*departure:* {_cell(d)}" for d in claim.get("departures", []))
        full_verdict = f"**{_words(other['verdict'])}**" if other else NOT_FULL
        rows.append(f"| {claim['number']} | {_cell(claim['claim'])}{departures} | {_words(claim.get('evidence'))} | "
                    f"{_pair(claim, other, 'data')} | {_pair(claim, other, 'seeds')} | "
                    f"**{_words(claim['verdict'])}** | {full_verdict} | {compare(claim, other)} |")
    return rows


def _check_rows(quick: dict, full: dict | None) -> list[str]:
    fulls = {claim["number"]: claim for claim in full["claims"]} if full else {}
    rows = ["| # | deciding check | evidence | quick | full |", "|---|---|---|---|---|"]
    for claim in quick["claims"]:
        other = {r["name"]: r for r in fulls.get(claim["number"], {}).get("check_results", [])}
        for result in claim.get("check_results", []):
            full_cell = _check_cell(other.get(result["name"])) if full else NOT_FULL
            if full and result["name"] not in other:
                full_cell = "not among the full file's checks"
            rows.append(f"| {claim['number']} | `{_cell(result['name'])}` | {_words(result.get('evidence'))} | "
                        f"{_check_cell(result)} | {full_cell} |")
    return rows


def results_markdown(quick: dict, full: dict | None) -> str:
    """The ``docs/results.md`` page for the ``claims.json`` documents ``quick`` and ``full`` (None: not run)."""
    def provenance(document, size):
        if document is None:
            return f"| {size} | {NOT_FULL} | | |"
        commit = (document.get("commit") or "unknown")[:12] + (" (uncommitted changes)" if document.get("dirty")
                                                               else "")
        return f"| {size} | {_cell(commit)} | {_cell(document.get('date'))} | {_cell(document.get('headline', ''))} |"

    lines = ["# Results", "",
             f"Generated by `{COMMAND}` from the `claims.json` files that `layerwise reproduce --quick` and "
             "`layerwise reproduce --full` write; do not edit by hand.", "",
             "| size | commit | date | verdicts by evidence kind |", "|---|---|---|---|",
             provenance(quick, "quick"), provenance(full, "full"), "",
             f"Comparison: {_comparison_scope(quick, full)}.", "",
             "Evidence is the strongest kind among a claim's deciding checks: *closed form* (the theory against exact "
             "gradient flow or an independent computation), *linear simulation* (a linear model trained by GD/SGD), "
             "*nonlinear network*. Seeds: the fewest among the deciding checks that ran (1: deterministic). A claim "
             "is *reproduced* when every deciding check passed, *partly reproduced* when some but not all did (a "
             "check that did not run never counts as a pass); with none passed it is *not reproduced* if any failed, "
             "else *unstable* (the seeds disagree), else *inconclusive* (the 95 % interval reaches across the bound), "
             "else *not run*.", "", "## Claims", "", *_claim_rows(quick, full), "", "## Deciding checks", "",
             *_check_rows(quick, full), ""]
    return "\n".join(lines)


def write_results_page(quick_path, full_path=None, target="docs/results.md") -> Path:
    """Write ``target`` from the claims files at ``quick_path`` and ``full_path`` (None or missing: quick only)."""
    quick = read_claims(quick_path)
    if quick["size"] != "quick":
        raise LayerwiseError(f"{str(quick_path)!r} holds a {quick['size']}-size run; the first file must be quick")
    full = None
    if full_path is not None and Path(full_path).exists():
        full = read_claims(full_path)
        if full["size"] != "full":
            raise LayerwiseError(f"{str(full_path)!r} holds a {full['size']}-size run; the second file must be full")
    return write_text_atomically(target, results_markdown(quick, full))


def main(argv: list[str] | None = None) -> int:
    """``python -m layerwise.report.results_page QUICK [FULL] [--out docs/results.md]``: 0, or 2 with one line."""
    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__.split("\n\n")[0])
    parser.add_argument("quick", help="claims.json of `layerwise reproduce --quick` (a file or its folder)")
    parser.add_argument("full", nargs="?", help="claims.json of `layerwise reproduce --full` (absent: quick only)")
    parser.add_argument("--out", default="docs/results.md", help="the page to write (default docs/results.md)")
    arguments = parser.parse_args(argv)
    try:
        path = write_results_page(arguments.quick, arguments.full, arguments.out)
    except LayerwiseError as error:
        sys.stderr.write(f"error: {error}\n")
        return 2
    except OSError as error:  # the page's folder is missing or not writable
        sys.stderr.write(f"error: cannot write {arguments.out!r} ({error.strerror or error})\n")
        return 2
    sys.stdout.write(f"wrote {path}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
