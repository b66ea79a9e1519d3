"""docs/results.md from a quick and a full claims.json: side by side, "not run at full size" / "quick only" without a
full file, and a claim reproduced at quick size but not at full says so."""

import copy

from layerwise.report.claims import CLAIMS, judge_all
from layerwise.report.claims_file import claims_document, write_claims
from layerwise.report.results_page import compare, main, results_markdown


def _checks(status):
    """Every deciding check of claim 18 (grokking-modular), all with ``status``."""
    return [{"name": name, "value": [3.0, 1.0], "expected": "upstream < baseline", "passed": status == "passed",
             "status": status, "seeds": 3, "interval": 0.5} for name in CLAIMS[17].checks]


def _document(size, status, modulus):
    summaries = {"grokking-modular": {"quick": size == "quick", "config": {"modulus": modulus},
                                      "checks": _checks(status)}}
    return claims_document(judge_all(summaries), size, date="2026-01-01T00:00:00+00:00")


def test_quick_only_page_says_so():
    page = results_markdown(_document("quick", "passed", 31), None)
    assert "Comparison: quick only." in page and "| full | not run at full size |" in page
    row = next(line for line in page.splitlines() if line.startswith("| 18 |"))
    assert "| nonlinear network | modular-31 / - | 3 / - | **reproduced** | not run at full size | quick only |" in row
    assert "*departure:* data: modular-31 instead of modular-97" in row
    check = next(line for line in page.splitlines() if line.startswith("| 18 | `modular"))
    assert "**passed**: [3, 1] ± 0.5; upstream < baseline; 3 seed(s) | not run at full size |" in check


def test_a_claim_reproduced_at_quick_size_but_not_at_full_says_so():
    quick, full = _document("quick", "passed", 31), _document("full", "failed", 97)
    page = results_markdown(quick, full)
    assert "Comparison: quick and full." in page
    row = next(line for line in page.splitlines() if line.startswith("| 18 |"))
    assert "modular-31 / modular-97" in row and "**reproduced** | **not reproduced** |" in row
    assert row.endswith("| reproduced at quick size, not at full size (not reproduced) |")
    assert compare(quick["claims"][0], full["claims"][0]) == "same at both sizes"  # not run at both
    other = copy.deepcopy(quick["claims"][17])
    other["verdict"] = "unstable"
    assert compare(other, full["claims"][17]) == "quick: unstable; full: not reproduced"


def test_the_script_writes_the_page_and_names_bad_input_in_one_line(tmp_path, capsys):
    quick, full = tmp_path / "quick", tmp_path / "full"
    quick.mkdir()
    full.mkdir()
    write_claims(quick, judge_all({}), "quick")
    target = tmp_path / "results.md"
    assert main([str(quick / "claims.json"), str(full / "claims.json"), "--out", str(target)]) == 0
    assert "Comparison: quick only." in target.read_text()  # no full file yet
    write_claims(full, judge_all({}), "full")
    assert main([str(quick), str(full), "--out", str(target)]) == 0
    assert "Comparison: quick and full." in target.read_text()
    capsys.readouterr()
    assert main([str(full), "--out", str(target)]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "holds a full-size run; the first file must be quick" in err
    assert main([str(quick), "--out", str(tmp_path / "missing" / "results.md")]) == 2
    assert "cannot write" in capsys.readouterr().err
    assert not list(tmp_path.glob(".*partial"))


def test_a_partial_full_run_says_for_how_many_claims_the_comparison_holds():
    quick, full = _document("quick", "passed", 31), _document("full", "failed", 97)
    full = copy.deepcopy(full)
    full["claims"][17]["verdict"] = "not_run"
    page = results_markdown(quick, full)
    assert "Comparison: quick and full for 0 of 1 claims (the full-size run is partial; the rest quick only)." in page
    row = next(line for line in page.splitlines() if line.startswith("| 18 |"))
    assert row.endswith("| quick only |")
