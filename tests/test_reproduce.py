"""`layerwise reproduce`: report rendering, resume after kill -9, --only/--force, TOML configs and their errors."""

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

from layerwise.cli import main
from layerwise.report.claims import CLAIMS

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
    rows = re.findall(r"<tr class='(?:reproduced|notreproduced|notapplicable)'><td>(\d+)</td>", page)
    assert [int(r) for r in rows] == [claim.number for claim in CLAIMS] and len(rows) == 18
    for name in ("alpha", "beta"):
        summary = json.loads((tmp_path / name / "summary.json").read_text())
        assert summary["quick"] is True and summary["config"]["scale"] == 0.5
        for figure in summary["figures"]:
            assert (tmp_path / name / figure).exists()
            assert f"alt='{figure}'" in page
    assert "experiment 'feedback' was not run" in html.unescape(page)


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


def test_resume_after_kill_9(tmp_path):
    environment = {**os.environ, "LAYERWISE_PLUGINS": PLUGIN, "PYTHONPATH": str(ROOT), "TINY_SLEEP": "60"}
    command = [sys.executable, "-m", "layerwise.cli", "reproduce", "--quick", "--only", "alpha,beta",
               "--out", str(tmp_path)]
    process = subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while not (tmp_path / "alpha" / "summary.json").exists():
            assert time.time() < deadline and process.poll() is None, "alpha never finished"
            time.sleep(0.2)
        time.sleep(1.0)  # beta is now sleeping mid-run
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert not (tmp_path / "beta").exists()
    assert not (tmp_path / "index.html").exists()
    # A stale staging directory that looks complete must never be read as a result.
    fake = tmp_path / ".beta.partial-stale"
    fake.mkdir()
    (fake / "summary.json").write_text(json.dumps({"config_key": "x", "checks": []}))
    alpha_stamp = (tmp_path / "alpha" / "summary.json").stat().st_mtime_ns
    environment["TINY_SLEEP"] = "0"
    finished = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    assert "skipped" in finished.stdout
    assert (tmp_path / "alpha" / "summary.json").stat().st_mtime_ns == alpha_stamp
    assert json.loads((tmp_path / "beta" / "summary.json").read_text())["passed"] == 1
    assert (tmp_path / "index.html").exists()
    assert not list(tmp_path.glob(".*partial*"))


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
