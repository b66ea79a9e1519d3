"""`layerwise reproduce`: report rendering, resume after kill -9 at three points (integration), --only/--force, TOML
configs and their errors."""

import html
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import xarray as xr

from layerwise.cli import main
from layerwise.report.manifest import verify_manifest
from layerwise.report.claims import CLAIMS, VERDICTS

PLUGIN = "tests.plugins.tiny_experiments"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def plugins(monkeypatch):
    monkeypatch.setenv("LAYERWISE_PLUGINS", PLUGIN)
    monkeypatch.syspath_prepend(str(ROOT))
    monkeypatch.setenv("TINY_SLEEP", "0")


def cli(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_report_renders_every_claim_and_figure(plugins, capsys, tmp_path):
    code, out, err = cli(capsys, "reproduce", "--quick", "--only", "alpha,beta", "--out", str(tmp_path))
    assert code == 0, err
    page = (tmp_path / "index.html").read_text()
    rows = re.findall(r"<tr class='(?:%s)'><td>(\d+)</td>" % "|".join(VERDICTS), page)
    assert [int(r) for r in rows] == [claim.number for claim in CLAIMS] and len(rows) == 18
    for name in ("alpha", "beta"):
        summary = json.loads((tmp_path / name / "summary.json").read_text())
        assert summary["quick"] is True and summary["config"]["scale"] == 0.5
        for figure in summary["figures"]:
            assert (tmp_path / name / figure).exists()
            assert f"alt='{figure}'" in page
    assert "experiment 'feedback' was not run" in html.unescape(page)
    claims = json.loads((tmp_path / "claims.json").read_text())
    assert claims["size"] == "quick" and [c["number"] for c in claims["claims"]] == [c.number for c in CLAIMS]
    assert {c["verdict"] for c in claims["claims"]} == {"not_run"}  # the tiny plugins decide no claim
    assert "verdicts by evidence" in out and "not run" in out
    code, out, err = cli(capsys, "show", str(tmp_path))
    assert code == 0 and "claims (quick size, commit" in out and "not run" in out
    assert "verdicts by evidence: nonlinear network (5 claims): 5 not run" in out


def test_finished_experiments_are_skipped_unless_forced(plugins, capsys, tmp_path):
    cli(capsys, "reproduce", "--quick", "--only", "alpha", "--out", str(tmp_path))
    stamp = (tmp_path / "alpha" / "summary.json").stat().st_mtime_ns
    code, out, _ = cli(capsys, "reproduce", "--quick", "--only", "alpha", "--out", str(tmp_path))
    assert code == 0 and "skipped" in out
    assert (tmp_path / "alpha" / "summary.json").stat().st_mtime_ns == stamp
    # A different config (full instead of quick) is a different key: it runs again.
    cli(capsys, "reproduce", "--only", "alpha", "--out", str(tmp_path))
    assert json.loads((tmp_path / "alpha" / "summary.json").read_text())["quick"] is False
    cli(capsys, "reproduce", "--only", "alpha", "--out", str(tmp_path), "--force")
    assert (tmp_path / "alpha" / "summary.json").stat().st_mtime_ns != stamp


def subprocess_environment(**extra) -> dict:
    """The environment for a ``python -m layerwise.cli`` child: the tiny plugin experiments, and the same layerwise
    as this test process imported (the checkout's ``src`` or the installed package)."""
    import layerwise

    path = os.pathsep.join([str(Path(layerwise.__file__).resolve().parents[1]), str(ROOT)])
    return {**os.environ, "LAYERWISE_PLUGINS": PLUGIN, "PYTHONPATH": path, "TINY_SLEEP": "0", **extra}


def wait_for(path: Path, process, seconds: float = 180) -> None:
    deadline = time.time() + seconds
    while not path.exists():
        assert time.time() < deadline and process.poll() is None, f"{path.name} never reached"
        time.sleep(0.05)


def result_contents(out: Path) -> dict:
    """What must not depend on interruptions: each result's files, checks and data (and an intact manifest)."""
    contents = {}
    for name in ("alpha", "beta"):
        assert verify_manifest(out / name) is None
        summary = json.loads((out / name / "summary.json").read_text())
        with xr.open_dataset(out / name / "data.nc") as dataset:
            contents[name] = (sorted(p.name for p in (out / name).iterdir()), summary["checks"], summary["config_key"],
                              dataset.load())
    return contents


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    out = tmp_path_factory.mktemp("uninterrupted")
    command = [sys.executable, "-m", "layerwise.cli", "reproduce", "--quick", "--only", "alpha,beta", "--out", str(out)]
    finished = subprocess.run(command, env=subprocess_environment(), capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    return result_contents(out)


@pytest.mark.integration
@pytest.mark.parametrize("point", ["alpha", "beta", "beta-write"])  # alpha running; beta running; beta half written
def test_resume_after_kill_9(tmp_path, uninterrupted, point):
    """kill -9 at three points of a reproduce, then resume: the same files, checks and data as a run never
    interrupted, and no finished result lost (alpha, finished before the kill, is not run again)."""
    out, marks = tmp_path / "out", tmp_path / "marks"
    marks.mkdir()
    environment = subprocess_environment(TINY_SLEEP="60", TINY_SLEEP_AT=point, TINY_MARKS=str(marks))
    command = [sys.executable, "-m", "layerwise.cli", "reproduce", "--quick", "--only", "alpha,beta", "--out", str(out)]
    process = subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(marks / point, process)
        time.sleep(0.2)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    alpha_finished = point != "alpha"
    assert (out / "alpha" / "summary.json").exists() == alpha_finished
    assert not (out / "beta").exists()
    assert not (out / "index.html").exists() and not (out / "claims.json").exists()
    if point == "beta-write":  # the half-written staging folder is there, and is not a result
        assert [p.name for p in out.glob(".beta.partial-*/*")] == ["data.nc"]
    # A stale staging directory that looks complete must never be read as a result.
    fake = out / ".beta.partial-stale"
    fake.mkdir()
    (fake / "summary.json").write_text(json.dumps({"config_key": "x", "checks": []}))
    alpha_stamp = (out / "alpha" / "summary.json").stat().st_mtime_ns if alpha_finished else None
    environment["TINY_SLEEP"] = "0"
    finished = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    assert ("skipped" in finished.stdout) == alpha_finished
    assert finished.stderr == ""  # nothing damaged to report: a killed run leaves no half result
    if alpha_finished:
        assert (out / "alpha" / "summary.json").stat().st_mtime_ns == alpha_stamp
    assert json.loads((out / "beta" / "summary.json").read_text())["passed"] == 1
    assert sorted(p.name for p in out.iterdir()) == ["alpha", "beta", "claims.json", "index.html"]  # no staging, lock
    resumed = result_contents(out)
    for name in ("alpha", "beta"):
        files, checks, key, data = resumed[name]
        assert (files, checks, key) == uninterrupted[name][:3]
        xr.testing.assert_identical(data, uninterrupted[name][3])


def test_show_prints_summary(plugins, capsys, tmp_path):
    cli(capsys, "reproduce", "--quick", "--only", "alpha", "--out", str(tmp_path))
    code, out, _ = cli(capsys, "show", str(tmp_path / "alpha"))
    assert code == 0 and "alpha_small" in out and "1/1 checks passed" in out
    code, _, err = cli(capsys, "show", str(tmp_path / "nothing"))
    assert code == 2 and err.startswith("error: no results")


def test_toml_config_and_print_config_round_trip(plugins, capsys, tmp_path):
    code, printed, _ = cli(capsys, "run", "alpha", "--print-config", "--set", "scale=1.5", "--set", 'label="x y"')
    assert code == 0 and "scale = 1.5" in printed
    config = tmp_path / "alpha.toml"
    config.write_text(printed)
    code, out, err = cli(capsys, "run", str(config), "--out", str(tmp_path / "out"))
    assert code == 0, err
    summary = json.loads((tmp_path / "out" / "alpha" / "summary.json").read_text())
    assert summary["config"] == {"seed": 0, "scale": 1.5, "label": "x y"}


@pytest.mark.parametrize(
    "content, words",
    [
        ('experiment = "alpha"\ncolour = 3\n', ["unknown config key 'colour'", "allowed: seed, scale, label"]),
        ('experiment = "alpha"\nscale = "big"\n', ["'scale' expects float"]),
        ('experiment = "alpha"\nseed = 1.5\n', ["'seed' expects int"]),
        ('experiment = "alpha"\nscale = -1.0\n', ["scale", "> 0"]),
        ('scale = 1.0\n', ["must set experiment"]),
        ('experiment = "nope"\n', ["unknown experiment 'nope'"]),
        ("experiment = \n", ["not valid TOML"]),
    ],
)
def test_config_file_errors_are_one_line(plugins, capsys, tmp_path, content, words):
    config = tmp_path / "bad.toml"
    config.write_text(content)
    code, _, err = cli(capsys, "run", str(config), "--out", str(tmp_path))
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    for word in words:
        assert word in err


def test_only_and_flag_errors(plugins, capsys, tmp_path):
    code, _, err = cli(capsys, "reproduce", "--only", "alpha,nope", "--out", str(tmp_path))
    assert code == 2 and "nope" in err and "allowed" in err
    code, _, err = cli(capsys, "reproduce", "--quick", "--full", "--out", str(tmp_path))
    assert code == 2 and "exclude" in err
    code, _, _ = cli(capsys, "reproduce", "--only", "beta", "--out", str(tmp_path))
    assert code == 0 and not (tmp_path / "alpha").exists() and (tmp_path / "beta").exists()
