"""Claim verdicts: passing, failing, missing, unstable, inconclusive and partly reproduced claims; evidence kinds,
seeds and data; the claims.json schema; every deciding check declares its evidence."""

import json

import pytest

from layerwise.errors import LayerwiseError
from layerwise.report.claims import (CLAIMS, EVIDENCE, EVIDENCE_KINDS, NOT_RUN, Claim, data_token, evidence_of,
                                     headline, judge, judge_all, verdict_counts, verdict_of, SETTINGS, Setting)
from layerwise.report.claims_file import claims_document, read_claims, schema_problem, write_claims

CLAIM = Claim(99, "a test claim", "exp", ("sigmoid_gd_vs_closed_form", "sigmoid_flow_vs_closed_form",
                                         "other:mlp_stage_order"))


def _check(name, status, seeds=1, interval=None):
    return {"name": name, "claim": "", "value": 0.5, "expected": "<= 1", "passed": status == "passed",
            "seeds": seeds, "interval": interval, "status": status}


def _summaries(gd="passed", flow="passed", mlp="passed", mlp_seeds=3):
    return {"exp": {"quick": True, "checks": [_check("sigmoid_gd_vs_closed_form", gd),
                                              _check("sigmoid_flow_vs_closed_form", flow)]},
            "other": {"quick": True, "checks": [_check("mlp_stage_order", mlp, mlp_seeds, 0.1)]}}


def test_all_passing_checks_reproduce_the_claim_with_the_strongest_evidence_and_fewest_seeds():
    verdict = judge(CLAIM, _summaries())
    assert verdict.verdict == "reproduced" and verdict.reason == "3 check(s) passed"
    assert verdict.evidence == "nonlinear_network"  # the strongest kind among the deciding checks
    assert verdict.seeds == 1  # the fewest: the deterministic checks
    assert verdict.size == "quick" and verdict.data == "synthetic"
    assert [r.status for r in verdict.results] == ["passed"] * 3
    assert [r.name for r in verdict.results] == ["sigmoid_gd_vs_closed_form", "sigmoid_flow_vs_closed_form",
                                                 "other:mlp_stage_order"]


@pytest.mark.parametrize("statuses, expected", [
    (("failed", "failed", "failed"), "not_reproduced"),
    (("passed", "failed", "passed"), "partly_reproduced"),
    (("passed", "passed", "unstable"), "partly_reproduced"),
    (("failed", "unstable", "inconclusive"), "not_reproduced"),
    (("unstable", "inconclusive", "unstable"), "unstable"),
    (("inconclusive", "inconclusive", "inconclusive"), "inconclusive"),
])
def test_verdict_from_check_statuses(statuses, expected):
    verdict = judge(CLAIM, _summaries(*statuses))
    assert verdict.verdict == expected
    for status in set(statuses) - {"passed"}:
        assert status.replace("_", " ") in verdict.reason  # every check that did not pass is named


def test_a_failing_check_is_shown_with_its_value():
    verdict = judge(CLAIM, _summaries(flow="failed"))
    assert verdict.verdict == "partly_reproduced"
    assert verdict.reason == "failed: sigmoid_flow_vs_closed_form"
    failed = verdict.results[1]
    assert (failed.status, failed.value, failed.expected, failed.evidence) == ("failed", 0.5, "<= 1", "closed_form")


def test_a_missing_check_or_experiment_is_never_a_pass():
    summaries = _summaries()
    del summaries["other"]
    verdict = judge(CLAIM, summaries)
    assert verdict.verdict == "partly_reproduced"
    assert verdict.results[2].status == NOT_RUN and "experiment 'other' was not run" in verdict.reason
    assert verdict.evidence == "nonlinear_network"  # declared, whether or not it ran
    summaries["exp"]["checks"] = []
    verdict = judge(CLAIM, summaries)
    assert verdict.verdict == "not_run" and verdict.seeds is None and verdict.size == "quick"
    assert "exp has no check sigmoid_gd_vs_closed_form" in verdict.reason
    assert judge(CLAIM, {}).verdict == "not_run" and judge(CLAIM, {}).size is None
    assert judge(Claim(98, "nothing checks this", "exp", ()), _summaries()).verdict == "not_run"


def test_a_result_that_failed_its_integrity_check_counts_as_not_run():
    verdict = judge(CLAIM, _summaries(), problems={"other": "summary.json was altered"})
    assert verdict.verdict == "partly_reproduced" and "other failed its integrity check" in verdict.reason


def test_seeds_are_the_fewest_among_the_checks_that_ran():
    only_mlp = Claim(97, "nonlinear only", "other", ("mlp_stage_order",))
    assert judge(only_mlp, _summaries(mlp_seeds=5)).seeds == 5
    summaries = _summaries(mlp_seeds=3)
    del summaries["other"]["checks"][0]["seeds"]  # an older summary without seeds: deterministic, 1
    assert judge(only_mlp, summaries).seeds == 1


def test_verdict_rules_on_bare_statuses():
    assert verdict_of([]) == "not_run"
    assert verdict_of(["not_run", "not_run"]) == "not_run"
    assert verdict_of(["passed", "not_run"]) == "partly_reproduced"
    assert verdict_of(["failed", "not_run"]) == "not_reproduced"
    assert verdict_of(["unstable", "not_run"]) == "unstable"
    assert verdict_of(["inconclusive", "not_run"]) == "inconclusive"


def test_a_contradictory_or_unknown_status_is_not_a_pass():
    summaries = _summaries()
    summaries["exp"]["checks"][0]["passed"] = False  # status says passed, passed says no
    summaries["exp"]["checks"][1]["status"] = "great"
    assert [r.status for r in judge(CLAIM, summaries).results][:2] == ["failed", "failed"]
    legacy = {"name": "sigmoid_gd_vs_closed_form", "value": 1, "expected": 1, "passed": True}  # no status key
    assert judge(Claim(96, "", "exp", ("sigmoid_gd_vs_closed_form",)), {"exp": {"checks": [legacy]}}).verdict == \
        "reproduced"


def test_every_deciding_check_declares_its_evidence_and_every_claim_is_judged():
    for claim in CLAIMS:
        for name in claim.checks:
            assert evidence_of(name) in EVIDENCE_KINDS, (claim.number, name)
    assert set(EVIDENCE.values()) <= set(EVIDENCE_KINDS)
    with pytest.raises(KeyError, match="declares no evidence kind"):
        evidence_of("no_such_check")
    verdicts = judge_all({})
    assert [v.claim.number for v in verdicts] == list(range(1, 19))
    assert {v.verdict for v in verdicts} == {"not_run"} and all(v.evidence for v in verdicts)
    # the nonlinear claims: emergence (8), grokking (16-18), and claim 4 through the emergence MLP's stage gap
    assert {v.claim.number for v in verdicts if v.evidence == "nonlinear_network"} == {4, 8, 16, 17, 18}


def test_data_comes_from_what_the_run_recorded_and_a_substitute_is_a_departure():
    fig11 = SETTINGS[16]
    assert data_token(fig11, {"data_source": "MNIST (/data/mnist)"}) == "mnist"
    assert data_token(fig11, {"data_source": "scikit-learn digits (8x8; no MNIST directory given)"}) == "digits"
    assert data_token(fig11, {"data_source": "MNIST-1D (Greydanus 2020)"}) == "mnist1d"
    assert data_token(fig11, {"data_source": "mnist1d"}) == "mnist1d"
    assert data_token(fig11, None) == "mnist"
    assert data_token(SETTINGS[18], {"config": {"modulus": 31}}) == "modular-31"
    assert data_token(Setting(), {"data_source": "MNIST"}) == "synthetic"  # a synthetic claim's data is fixed
    summary = {"quick": False, "data_source": "scikit-learn digits (8x8)", "checks": [_check("fig11a_groks", "passed")]}
    verdict = judge(CLAIMS[15], {"grokking-fig11": summary})
    assert verdict.data == "digits" and verdict.departures[0] == "data: digits instead of mnist"
    assert verdict.size == "full"


def test_headline_counts_verdicts_per_evidence_kind():
    verdicts = [judge(CLAIM, _summaries()), judge(CLAIM, _summaries(flow="failed")),
                judge(Claim(95, "", "exp", ("sigmoid_flow_vs_closed_form",)), _summaries())]
    assert verdict_counts(verdicts) == {"nonlinear_network": {"reproduced": 1, "partly_reproduced": 1},
                                        "closed_form": {"reproduced": 1}}
    assert headline(verdicts, "quick") == ("nonlinear network (2 claims): 1 reproduced, 1 partly reproduced; "
                                           "closed form (1 claim): 1 reproduced (quick size)")


def test_claims_json_schema_round_trip(tmp_path):
    verdicts = judge_all({"grokking-modular": {"quick": True, "config": {"modulus": 31}, "checks": [
        _check(name, "unstable", seeds=3, interval=12.5) for name in CLAIMS[17].checks]}})
    path = write_claims(tmp_path, verdicts, "quick")
    assert path == tmp_path / "claims.json" and not list(tmp_path.glob(".*partial*"))
    document = read_claims(tmp_path)
    assert set(document) >= {"commit", "date", "size", "claims", "headline", "counts"}
    assert document["size"] == "quick" and (document["commit"] is None or len(document["commit"]) == 40)
    assert [c["number"] for c in document["claims"]] == list(range(1, 19))
    for claim in document["claims"]:
        assert set(claim) >= {"number", "claim", "verdict", "evidence", "data", "seeds", "checks"}
        assert all(isinstance(name, str) for name in claim["checks"])
    eighteen = document["claims"][17]
    assert (eighteen["verdict"], eighteen["evidence"], eighteen["data"], eighteen["seeds"]) == (
        "unstable", "nonlinear_network", "modular-31", 3)
    assert eighteen["check_results"][0]["interval"] == 12.5
    assert "data: modular-31 instead of modular-97" in eighteen["departures"]
    assert document["claims"][0]["seeds"] is None and document["claims"][0]["verdict"] == "not_run"
    with pytest.raises(ValueError, match="size must be one of quick, full"):
        claims_document(verdicts, "medium")


@pytest.mark.parametrize("damage, message", [
    (lambda d: d.update(size="huge"), "size must be one of quick, full"),
    (lambda d: d["claims"][0].update(verdict="reproduced!"), "verdict must be one of"),
    (lambda d: d["claims"][0].update(evidence="vibes"), "evidence must be one of"),
    (lambda d: d["claims"][0].update(seeds=True), "seeds must be an integer"),
    (lambda d: d["claims"][0].pop("checks"), "claim key 'checks' is missing"),
])
def test_a_damaged_claims_file_is_named_in_one_line(tmp_path, damage, message):
    document = claims_document(judge_all({}), "full", date="2026-01-01T00:00:00+00:00")
    assert schema_problem(document) is None
    damage(document)
    (tmp_path / "claims.json").write_text(json.dumps(document))
    with pytest.raises(LayerwiseError, match=message):
        read_claims(tmp_path / "claims.json")
    (tmp_path / "claims.json").write_bytes(b"\xff{")
    with pytest.raises(LayerwiseError, match="is not valid JSON"):
        read_claims(tmp_path)


def test_the_report_shows_every_deciding_check_with_its_seeds_and_interval(tmp_path):
    from layerwise.report.html import write_report

    folder = tmp_path / "grokking-modular"
    folder.mkdir()
    summary = {"checks": _checks_modular("unstable"), "passed": 0, "failed": 1, "config": {"seed": 0, "modulus": 31},
               "figures": [], "quick": False, "versions": {}}
    (folder / "summary.json").write_text(json.dumps(summary))
    page = write_report(tmp_path, ["grokking-modular"], {}, {}).read_text()
    row = next(line for line in page.split("<tr ") if line.startswith("class='unstable'><td>18</td>"))
    assert "<td>nonlinear network</td><td>full</td><td>modular-31</td><td>3</td>" in row
    assert "<b>unstable</b>: [3, 1] ± 0.5; upstream &lt; baseline; 3 seeds</span>" in row
    assert "departure: data: modular-31 instead of modular-97" in row
    assert "(full size, 18 claims):</b> nonlinear network (5 claims): 1 unstable, 4 not run;" in page


def _checks_modular(status):
    """Every deciding check of claim 18 (grokking-modular), all with ``status``."""
    return [{"name": name, "claim": "", "value": [3.0, 1.0], "expected": "upstream < baseline",
             "passed": status == "passed", "status": status, "seeds": 3, "interval": 0.5}
            for name in CLAIMS[17].checks]


def test_reproduce_refuses_an_out_folder_holding_a_directory_named_claims_json(tmp_path, capsys):
    from layerwise.cli import main

    (tmp_path / "claims.json").mkdir()
    assert main(["reproduce", "--quick", "--only", "feedback", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "holds a directory named 'claims.json'" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["claims.json"]
