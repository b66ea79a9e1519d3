"""``OUT/claims.json``: the verdict on every claim with its evidence, written by ``layerwise reproduce``.

Schema (``format`` 1)::

    {"format": 1, "commit": "<git commit of the package's checkout>" | null, "dirty": bool | null,
     "date": "<UTC, ISO 8601>", "size": "quick" | "full",
     "headline": "<verdicts counted per evidence kind>",
     "counts": {"<evidence kind>": {"<verdict>": int}},
     "claims": [{"number": int, "claim": str, "experiment": str, "verdict": one of VERDICTS, "reason": str,
                 "evidence": one of EVIDENCE_KINDS | null, "data": "synthetic" | "mnist" | "mnist1d" | "digits" |
                 "modular-<p>", "seeds": int | null (null: nothing ran), "size": "quick" | "full" | "mixed" | null,
                 "departures": [str], "checks": [deciding check names],
                 "check_results": [{"experiment", "name", "evidence", "status", "value", "expected", "seeds",
                                    "interval", "note"}]}]}

``commit`` is ``git rev-parse HEAD`` of the checkout the package runs from (`layerwise.report.manifest.git_state`;
null for an installed copy). The verdict rules are those of `layerwise.report.claims`.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path

from layerwise.report.atomic import write_text_atomically
from layerwise.errors import LayerwiseError
from layerwise.report.checks import _jsonable
from layerwise.report.claims import EVIDENCE_KINDS, VERDICTS, headline, verdict_counts

CLAIMS_FILE = "claims.json"
FORMAT = 1
SIZES = ("quick", "full")


def claims_document(verdicts, size: str, *, date: str | None = None) -> dict:
    """The ``claims.json`` object for ``verdicts`` (`layerwise.report.claims.ClaimVerdict`) at ``size``."""
    from layerwise.report.manifest import git_state

    if size not in SIZES:
        raise ValueError(f"size must be one of {', '.join(SIZES)}, got {size!r}")
    commit, dirty = git_state()
    date = date or datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    return {"format": FORMAT, "commit": commit, "dirty": dirty, "date": date, "size": size,
            "headline": headline(verdicts), "counts": verdict_counts(verdicts),
            "claims": [_jsonable(verdict.to_json()) for verdict in verdicts]}


def write_claims(directory, verdicts, size: str) -> Path:
    """Write ``directory/claims.json`` atomically (a staging file renamed into place); returns its path."""
    return write_text_atomically(Path(directory) / CLAIMS_FILE,
                                 json.dumps(claims_document(verdicts, size), indent=1) + "\n")


def read_claims(path) -> dict:
    """The ``claims.json`` at ``path`` (a file, or a folder holding one); a `LayerwiseError` naming the file and what
    is wrong when it cannot be read or does not follow the schema."""
    file = Path(path)
    file = file / CLAIMS_FILE if file.is_dir() else file
    try:
        document = json.loads(file.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise LayerwiseError(f"{str(file)!r} not found") from None
    except OSError as error:
        raise LayerwiseError(f"{str(file)!r} cannot be read ({error.strerror or error})") from None
    except (ValueError, RecursionError) as error:  # not UTF-8, not JSON
        raise LayerwiseError(f"{str(file)!r} is not valid JSON ({error})") from None
    problem = schema_problem(document)
    if problem:
        raise LayerwiseError(f"{str(file)!r} is not a layerwise claims file: {problem}")
    return document


def _claim_problem(claim) -> str | None:
    if not isinstance(claim, dict):
        return "each claim must be an object"
    for key, kind in (("number", int), ("claim", str), ("verdict", str), ("data", str), ("checks", list)):
        if not isinstance(claim.get(key), kind):
            return f"claim key {key!r} is missing or not a {kind.__name__}"
    if claim["verdict"] not in VERDICTS:
        return f"claim {claim['number']}: verdict must be one of {', '.join(VERDICTS)}, got {claim['verdict']!r}"
    if claim.get("evidence") is not None and claim["evidence"] not in EVIDENCE_KINDS:
        return f"claim {claim['number']}: evidence must be one of {', '.join(EVIDENCE_KINDS)} or null"
    seeds = claim.get("seeds")
    if seeds is not None and (not isinstance(seeds, int) or isinstance(seeds, bool) or seeds < 1):
        return f"claim {claim['number']}: seeds must be an integer >= 1 or null"
    return None


def schema_problem(document) -> str | None:
    """What in ``document`` does not follow the ``claims.json`` schema, or None."""
    if not isinstance(document, dict):
        return "a JSON object expected"
    if document.get("size") not in SIZES:
        return f"size must be one of {', '.join(SIZES)}"
    if not isinstance(document.get("date"), str) or not (document.get("commit") is None or
                                                         isinstance(document["commit"], str)):
        return "date must be a string and commit a string or null"
    if not isinstance(document.get("claims"), list):
        return "claims must be a list"
    for claim in document["claims"]:
        if problem := _claim_problem(claim):
            return problem
    return None
