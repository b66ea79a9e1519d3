"""The sweep's backends in real processes: local and Ray give bitwise the same sweep.nc, a Ray worker killed
mid-cell is retried, and a driver killed with kill -9 resumes computing only the unfinished cells."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import layerwise as lw
from tests.sweep.tiny_sweep import descent_check, descent_function, raising_function, waiting_function

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def ray_instance():
    """One local Ray instance with 2 CPUs for every Ray test of this module."""
    ray = pytest.importorskip("ray", reason="the ray extra is not installed (pip install '.[ray]')")
    from layerwise.sweeping.ray_backend import connect

    connect(num_cpus=2)
    yield ray
    ray.shutdown()


def test_local_and_ray_give_identical_sweep_nc(ray_instance, tmp_path):
    grid = {"scale": [0.5, 1.0], "learning_rate": [0.1, 0.2]}
    runs = {}
    for backend in ("local", "ray"):
        runs[backend] = lw.sweep(descent_function, grid=grid, seeds=2, check=descent_check, backend=backend,
                                 out=tmp_path / backend, progress=False)
    assert runs["local"].identical(runs["ray"])
    assert runs["local"]["loss"].dims == ("scale", "learning_rate", "seed")
    files = [tmp_path / backend / "descent_function-sweep" / "sweep.nc" for backend in ("local", "ray")]
    assert files[0].read_bytes() == files[1].read_bytes()


def test_killed_ray_worker_is_retried(ray_instance, tmp_path):
    grid = {"x": [1, 2]}
    result = {}
    sweep = threading.Thread(target=lambda: result.update(dataset=lw.sweep(
        waiting_function, grid=grid, config={"folder": str(tmp_path)}, backend="ray", out=tmp_path / "out",
        progress=False)))
    sweep.start()
    attempts = tmp_path / "1.attempts"
    deadline = time.monotonic() + 60
    while not attempts.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)
    victim = int(attempts.read_text().split()[0])
    os.kill(victim, signal.SIGKILL)  # the worker computing cell x=1, mid-task
    (tmp_path / "go").touch()
    sweep.join(timeout=120)
    assert not sweep.is_alive()
    pids = attempts.read_text().split()
    assert len(pids) == 2 and pids[0] != pids[1]  # Ray ran the cell again in another worker
    assert list(result["dataset"]["y"].values) == [1.0, 4.0]  # nothing lost


def test_a_ray_cell_that_raises_fails_alone(ray_instance, tmp_path):
    import json

    merged = lw.sweep(raising_function, grid={"x": [1, 2, 3]}, backend="ray", out=tmp_path, progress=False)
    assert list(merged["y"].values[[0, 2]]) == [1.0, 9.0]
    table = json.loads((tmp_path / "raising_function-sweep" / "sweep.json").read_text())
    assert [cell["status"] for cell in table["cells"]] == ["finished", "failed", "finished"]
    assert table["cells"][1]["error"] == "ArithmeticError: x = 2 is broken"


def _environment(**extra) -> dict:
    environment = dict(os.environ, LAYERWISE_PLUGINS="tests.sweep.tiny_sweep", LAYERWISE_COMPILATION_CACHE="0",
                       PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT)]))
    environment.update(extra)
    return environment


def test_resume_after_driver_kill_9_recomputes_only_unfinished_cells(tmp_path):
    marks, out = tmp_path / "marks", tmp_path / "out"
    marks.mkdir()
    command = [sys.executable, "-m", "layerwise.cli", "sweep", "tiny-seeded", "--grid", "scale=1,2,3", "--seeds", "2",
               "--out", str(out)]
    process = subprocess.Popen(command, env=_environment(TINY_SWEEP_PAUSE_AT="3", TINY_SWEEP_MARKS=str(marks)),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not (marks / "started").exists() and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.05)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    folder = out / "tiny-seeded-sweep"
    finished = sorted(folder.glob("cell-*"))
    assert len(finished) == 2 and not (folder / "sweep.nc").exists()
    stamps = [(cell / "summary.json").stat().st_mtime_ns for cell in finished]
    resumed = subprocess.run(command, env=_environment(), capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert "1 cell(s) ran, 2 finished before, 0 failed" in resumed.stdout
    assert [(cell / "summary.json").stat().st_mtime_ns for cell in finished] == stamps
    assert len(list(folder.glob("cell-*"))) == 3 and lw.load_result(folder).sizes["scale"] == 3
