"""Experiments checkpoint their training calls into ``OUT/.checkpoints/NAME/`` (removed once the result is written):
a run stopped mid-training resumes from its checkpoints with data bitwise equal to a run never interrupted — in
process (a failure standing in for a kill), and (integration) after a real ``kill -9`` at three random points."""

import importlib
import os
import random
import subprocess
import sys
import time

import pytest
import xarray as xr

from layerwise.experiments.base import REGISTRY, no_progress
from layerwise.runner import run_one
from test_reproduce import ROOT, subprocess_environment

TRAINER = "tests.plugins.training_experiment"
train_module = importlib.import_module("layerwise.engine.train")


@pytest.fixture
def trainer(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT))
    experiment = importlib.import_module(TRAINER).EXPERIMENT
    REGISTRY.pop("trainer", None)
    monkeypatch.setitem(REGISTRY, "trainer", experiment)  # registered for this test only
    monkeypatch.setenv("LAYERWISE_CHECKPOINT_SECONDS", "0")
    return experiment


def assert_same_data(path, expected_path):
    with xr.open_dataset(path / "data.nc") as got, xr.open_dataset(expected_path / "data.nc") as expected:
        xr.testing.assert_identical(got.load(), expected.load())
        for name in expected.data_vars:  # bitwise, not to a tolerance
            assert got[name].values.tobytes() == expected[name].values.tobytes(), name


def test_an_experiment_stopped_mid_training_resumes_bitwise_and_its_checkpoints_go(trainer, tmp_path, monkeypatch):
    config = trainer.make_config(steps=60, runs=2)
    run_one(trainer, config, tmp_path / "plain", quick=False, progress=no_progress, checkpoint=False)
    real, calls = train_module._train_compiled, []

    def dies_in_the_second_call(*args, **kwargs):
        calls.extend([1] if kwargs.get("batch_size") else [])
        if len(calls) == 6:  # the SGD call (the second): its carry's shapes, 2 chunks, the fingerprint's 2 traces
            raise RuntimeError("killed")
        return real(*args, **kwargs)

    monkeypatch.setattr(train_module, "_train_compiled", dies_in_the_second_call)
    out = tmp_path / "checkpointed"
    with pytest.raises(RuntimeError, match="killed"):
        run_one(trainer, config, out, quick=False, progress=no_progress)
    assert sorted(p.name for p in (out / ".checkpoints" / "trainer").iterdir()) == [
        "SCOPE", "call-0000.npz", "call-0001.npz"]
    monkeypatch.setattr(train_module, "_train_compiled", real)
    run_one(trainer, config, out, quick=False, progress=no_progress)
    assert_same_data(out / "trainer", tmp_path / "plain" / "trainer")
    assert sorted(p.name for p in out.iterdir()) == ["trainer"]  # the checkpoints are gone with the result written


def _checkpoint_times(folder):
    return {p.name: p.stat().st_mtime_ns for p in folder.glob("call-*.npz")} if folder.is_dir() else {}


def _wait_for_new_checkpoints(folder, count, process, seconds=600):
    """Until ``count`` more checkpoints were saved (a save changes a file's time or adds a file)."""
    deadline, seen = time.time() + seconds, _checkpoint_times(folder)
    while count > 0:
        assert time.time() < deadline and process.poll() is None, "the run ended before the planned kill"
        time.sleep(0.02)
        now = _checkpoint_times(folder)
        if now != seen:
            count, seen = count - 1, now


@pytest.mark.integration
def test_kill_9_at_three_random_points_then_resume_gives_the_uninterrupted_data(tmp_path):
    """kill -9 a ``layerwise run`` three times at random moments of its training (after 1 to 5 more checkpoints, plus
    a random delay), resuming each time; the data equal bitwise those of a run never interrupted; no result lost."""
    environment = subprocess_environment(LAYERWISE_PLUGINS=TRAINER, LAYERWISE_CHECKPOINT_SECONDS="0",
                                         JAX_COMPILATION_CACHE_DIR=str(tmp_path / "jax-cache"),
                                         LAYERWISE_COMPILATION_CACHE="1")

    def command(out, *extra):
        return [sys.executable, "-m", "layerwise.cli", "run", "trainer", "--set", "steps=60000", "--out", str(out),
                *extra]

    plain = subprocess.run(command(tmp_path / "plain", "--no-checkpoint"), env=environment, capture_output=True,
                           text=True, timeout=600)
    assert plain.returncode == 0, plain.stderr
    out = tmp_path / "out"
    folder = out / ".checkpoints" / "trainer"
    seed = int(os.environ.get("LAYERWISE_FAULT_SEED", "18"))
    chance, faults = random.Random(seed), 0
    for _ in range(3):
        process = subprocess.Popen(command(out), env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            _wait_for_new_checkpoints(folder, chance.randint(1, 5), process)
            time.sleep(chance.uniform(0.0, 0.3))
        finally:
            if process.poll() is None:
                process.kill()  # SIGKILL: no handler, no cleanup
                faults += 1
            process.communicate()
        assert not (out / "trainer").exists()
    finished = subprocess.run(command(out), env=environment, capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stderr
    assert "checkpoint" not in finished.stderr  # every checkpoint was whole and of this run: none started over
    assert_same_data(out / "trainer", tmp_path / "plain" / "trainer")
    assert sorted(p.name for p in out.iterdir()) == ["trainer"]
    print(f"faults injected: {faults} (seed {seed}); results lost: 0", file=sys.__stderr__)
    assert faults == 3
