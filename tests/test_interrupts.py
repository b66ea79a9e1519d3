"""Ctrl-C (SIGINT) to a real ``layerwise run``/``reproduce`` process: it exits with status 130 within 5 s, says in one
line what it kept, keeps every finished result, and leaves no staging folder, half result or lock behind."""

import signal
import subprocess
import sys
import time

import pytest

from layerwise.cli import main
from layerwise.report.manifest import verify_manifest
from test_reproduce import plugins, subprocess_environment, wait_for  # noqa: F401  (plugins: a fixture)

LATENCY_LIMIT_S = 5.0


@pytest.mark.integration
@pytest.mark.parametrize("command, point, signals, line", [
    (["run", "beta"], "beta", 1, "interrupted: nothing kept; beta not finished"),
    (["reproduce", "--quick", "--only", "alpha,beta"], "beta", 1, "interrupted: kept alpha; beta not finished"),
    (["reproduce", "--quick", "--only", "alpha,beta"], "beta-write", 1, "interrupted: kept alpha; beta not finished"),
    (["reproduce", "--quick", "--only", "alpha,beta"], "beta", 2, None),  # a second Ctrl-C: out at once
])
def test_ctrl_c_exits_130_promptly_and_keeps_finished_results(tmp_path, capsys, plugins, command, point, signals,
                                                                line):
    out, marks = tmp_path / "out", tmp_path / "marks"
    marks.mkdir()
    environment = subprocess_environment(TINY_SLEEP="60", TINY_SLEEP_AT=point, TINY_MARKS=str(marks))
    # A child inherits an *ignored* SIGINT (earlier integration tests leave this test process with SIGINT set to
    # SIG_IGN by a third-party library), and an ignored Ctrl-C is not what a user's terminal sends. A handled signal
    # is reset to its default at exec, so the child starts as a foreground command does.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        process = subprocess.Popen([sys.executable, "-m", "layerwise.cli", *command, "--out", str(out)],
                                   env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    finally:
        signal.signal(signal.SIGINT, previous)
    try:
        wait_for(marks / point, process)
        time.sleep(0.5)  # well inside the 60 s sleep (standing in for a long compiled JAX call)
        sent = time.perf_counter()
        for _ in range(signals):
            process.send_signal(signal.SIGINT)
            time.sleep(0.05)
        stdout, stderr = process.communicate(timeout=30)
        latency = time.perf_counter() - sent
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    print(f"Ctrl-C latency ({command[0]}, {point}, {signals} signal(s)): {latency:.2f} s", file=sys.__stderr__)
    assert process.returncode == 130, stderr
    assert latency < LATENCY_LIMIT_S
    assert "Traceback" not in stderr
    if line is not None:
        assert stderr.splitlines() == [line]
    kept = ["alpha"] if command[0] == "reproduce" else []
    assert sorted(p.name for p in out.iterdir()) == kept  # no beta, no staging, no report, no lock
    for name in kept:
        assert verify_manifest(out / name) is None
    if command[0] == "reproduce":  # the next run finishes the rest, alpha kept as it was
        stamp = (out / "alpha" / "summary.json").stat().st_mtime_ns
        assert main([*command, "--out", str(out)]) == 0
        assert "alpha: 1/1 checks passed, skipped" in capsys.readouterr().out
        assert (out / "alpha" / "summary.json").stat().st_mtime_ns == stamp
        assert verify_manifest(out / "beta") is None
