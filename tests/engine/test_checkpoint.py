"""Checkpoints of `train` calls: chunked execution and a resume mid-way are bitwise equal to one uninterrupted call
(GD, Adam, mini-batch SGD, an optax schedule, vmapped float64 runs, a diverging run); a corrupt, truncated or
mismatched checkpoint is named in one line and the call starts over; files are written atomically."""

import importlib

import jax
import numpy as np
import optax
import pytest
import xarray as xr

from layerwise import data, init
from layerwise.engine import checkpoint as checkpoint_lib
from layerwise.engine import fast_path
from layerwise.engine import train
from layerwise.engine.checkpoint import Checkpointer
from layerwise.errors import LayerwiseError
from layerwise.models import DeepLinearNetwork, MLP

train_module = importlib.import_module("layerwise.engine.train")  # the module (the package exports the function)

DEEP = DeepLinearNetwork(widths=(4, 3, 2))
STEPS = 120
RECORD = list(range(0, STEPS + 1, 6))  # 21 records: 20 segments, chunks of 3 (the last one padded)


@pytest.fixture(scope="module")
def task():
    return data.whitened_regression(jax.random.PRNGKey(0), 40, 4, 2)


def _params(model, runs=3, scale=0.5):
    keys = jax.random.split(jax.random.PRNGKey(1), runs)
    return jax.vmap(lambda k: init.gaussian_init(k, model, scale))(keys)


SETTINGS = {
    "gd": dict(optimizer="gd", learning_rate=np.array([0.05, 0.1, 0.2])),
    "adam": dict(optimizer="adam", learning_rate=0.02, optimizer_options={"b1": np.array([0.8, 0.9, 0.95])}),
    "sgd-batches": dict(optimizer="sgd", learning_rate=0.05, batch_size=16, key=jax.random.PRNGKey(5)),
    "optax-schedule": dict(optimizer=optax.adam(optax.exponential_decay(0.05, 30, 0.5))),
    "diverging": dict(optimizer="gd", learning_rate=np.array([0.05, 0.1, 60.0]), on_divergence="mark"),
    "fast-path": dict(optimizer="gd", learning_rate=np.array([0.05, 0.1, 60.0]), on_divergence="mark",
                      fast_path=True),  # the engine's fast path (layerwise.engine.fast_path), a run diverging
}


def _end_to_end(model, params, task):  # one function object: the compiled programs are reused across tests
    return model.end_to_end(params)


def _train(task, setting, **extra):
    options = dict(SETTINGS[setting])
    return train(DEEP, _params(DEEP), task, options.pop("optimizer"), steps=STEPS, record_steps=RECORD,
                 observables={"W": _end_to_end}, **options, **extra)


def assert_bitwise_equal(result, expected):
    xr.testing.assert_identical(result.history, expected.history)  # every record, coordinate and attribute
    for name in expected.history.data_vars:
        np.testing.assert_array_equal(result.history[name].values, expected.history[name].values, strict=True)
    for got, want in zip(jax.tree_util.tree_leaves(result.params), jax.tree_util.tree_leaves(expected.params)):
        np.testing.assert_array_equal(np.asarray(got), np.asarray(want), strict=True)
    np.testing.assert_array_equal(result.status, expected.status)
    np.testing.assert_array_equal(result.stopped_at, expected.stopped_at)


def _interrupt_after(monkeypatch, chunks: int):
    """Make the engine's compiled call (the generic or the fast path's program) fail after ``chunks`` calls (standing
    in for a kill mid-run)."""
    calls, programs = [], [(train_module, "_train_compiled"), (fast_path, "train_fast_compiled")]
    reals = [getattr(module, name) for module, name in programs]

    def failing(real):
        def call(*args, **kwargs):
            if any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree_util.tree_leaves(args)):
                return real(*args, **kwargs)  # tracing for the fingerprint computes nothing
            if len(calls) == chunks:
                raise RuntimeError("killed")
            calls.append(1)
            return real(*args, **kwargs)
        return call

    for (module, name), real in zip(programs, reals):
        monkeypatch.setattr(module, name, failing(real))
    return lambda: [monkeypatch.setattr(module, name, real) for (module, name), real in zip(programs, reals)]


@pytest.mark.parametrize("setting", [
    "adam", "diverging", "optax-schedule",  # Adam with a per-run b1; GD with a diverging run; an optax schedule
    "fast-path", pytest.param("gd", marks=pytest.mark.slow), pytest.param("sgd-batches", marks=pytest.mark.slow),
])
def test_resume_mid_way_is_bitwise_equal_to_an_uninterrupted_run(task, setting, tmp_path, monkeypatch):
    expected = _train(task, setting)
    assert expected.history.loss.dtype == np.float64  # the suite runs in float64 (conftest)
    with Checkpointer(tmp_path / "a", every_segments=3) as chunked:
        assert_bitwise_equal(_train(task, setting), expected)  # chunked execution alone changes nothing
    assert chunked.saved == 7 and chunked.resumed == 0
    restore = _interrupt_after(monkeypatch, 4)
    with pytest.raises(RuntimeError, match="killed"), Checkpointer(tmp_path / "b", every_segments=3):
        _train(task, setting)
    restore()
    with Checkpointer(tmp_path / "b", every_segments=3) as resumed:
        result = _train(task, setting)
    assert resumed.resumed == 1 and 0 < resumed.saved < 7  # only the chunks after the checkpoint ran again
    assert_bitwise_equal(result, expected)
    if setting in ("diverging", "fast-path"):
        assert list(result.status) == [0, 0, 1]


def test_a_finished_call_is_restored_without_computing(task, tmp_path, monkeypatch):
    with Checkpointer(tmp_path, every_segments=4):
        expected = _train(task, "adam")
    _interrupt_after(monkeypatch, 0)  # any computation would fail
    with Checkpointer(tmp_path, every_segments=4) as again:
        assert_bitwise_equal(_train(task, "adam"), expected)
    assert again.resumed == 1 and again.saved == 0


def test_each_call_has_its_own_checkpoint_and_calls_shorter_than_the_interval_write_nothing(task, tmp_path):
    with Checkpointer(tmp_path / "every", every_segments=5) as checkpoints:
        _train(task, "gd")
        _train(task, "adam", checkpoint=False)  # opted out: no file
        _train(task, "adam")
    assert sorted(p.name for p in checkpoints.directory.iterdir()) == ["SCOPE", "call-0000.npz", "call-0001.npz"]
    with Checkpointer(tmp_path / "seldom", every_segments=5, min_interval_s=3600) as seldom:
        _train(task, "gd")
    assert seldom.saved == 0 and not (tmp_path / "seldom").exists()


def _damage(path, how):
    raw = bytearray(path.read_bytes())
    if how == "truncated":
        path.write_bytes(bytes(raw[: len(raw) // 2]))
    elif how == "bit-flipped":
        raw[len(raw) // 3] ^= 0x10
        path.write_bytes(bytes(raw))
    elif how == "not a checkpoint":
        path.write_text("hello")


@pytest.mark.parametrize("how", ["truncated", "bit-flipped", "not a checkpoint", "other inputs"])
def test_a_damaged_or_foreign_checkpoint_is_named_in_one_line_and_the_call_starts_over(task, tmp_path, how):
    with Checkpointer(tmp_path, every_segments=3):
        _train(task, "gd" if how == "other inputs" else "adam")
    if how != "other inputs":
        _damage(tmp_path / "call-0000.npz", how)
    lines = []
    with Checkpointer(tmp_path, every_segments=3, on_problem=lines.append) as again:
        result = _train(task, "adam")
    assert again.resumed == 0 and len(lines) == 1 and "\n" not in lines[0]
    assert "call-0000.npz" in lines[0] and "starting this training call over" in lines[0]
    reason = {"other inputs": "made for other inputs or code", "bit-flipped": "damaged|does not read"}
    assert any(part in lines[0] for part in reason.get(how, "does not read").split("|"))
    assert_bitwise_equal(result, _train(task, "adam"))


def test_checkpoints_are_written_atomically(task, tmp_path, monkeypatch):
    with Checkpointer(tmp_path, every_segments=5):
        _train(task, "gd")
    path = tmp_path / "call-0000.npz"
    before = path.read_bytes()

    def fails_half_way(file, **arrays):
        file.write(b"half a checkpoint")
        raise OSError("no space left on device")

    monkeypatch.setattr(checkpoint_lib.np, "savez", fails_half_way)
    with pytest.raises(OSError, match="no space"):
        checkpoint_lib.save(path, "fingerprint", {"w": np.ones(3)}, [{"loss": np.ones((1, 2))}], 1)
    assert path.read_bytes() == before  # the previous checkpoint, whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["SCOPE", "call-0000.npz"]  # no temporary file left
    (tmp_path / ".call-0000.npz.x.tmp").write_bytes(b"left by a kill -9")
    with Checkpointer(tmp_path, every_segments=5):
        assert not list(tmp_path.glob(".*.tmp"))


def test_another_scope_empties_the_directory(task, tmp_path):
    with Checkpointer(tmp_path / "c", scope="config-1"):
        _train(task, "gd")
    with Checkpointer(tmp_path / "c", scope="config-2") as other:
        assert not (tmp_path / "c").exists()
        _train(task, "gd")
    assert other.resumed == 0 and (tmp_path / "c" / "SCOPE").read_text() == "config-2"


@pytest.mark.slow
def test_a_nonlinear_model_resumes_bitwise(tmp_path, monkeypatch):
    model = MLP(widths=(3, 8, 1), activation="tanh")
    x = jax.random.normal(jax.random.PRNGKey(3), (32, 3))
    task = data.Task.from_samples(x, np.sin(x[:, :1]))
    run = lambda: train(model, _params(model, 2), task, "adam", steps=60, learning_rate=0.01,  # noqa: E731
                        record_steps=list(range(0, 61, 5)), loss="mean_squared_error")
    expected = run()
    restore = _interrupt_after(monkeypatch, 2)
    with pytest.raises(RuntimeError), Checkpointer(tmp_path, every_segments=2):
        run()
    restore()
    with Checkpointer(tmp_path, every_segments=2) as resumed:
        assert_bitwise_equal(run(), expected)
    assert resumed.resumed == 1


@pytest.mark.parametrize("arguments, message", [
    (dict(every_segments=0), "every_segments"),
    (dict(every_segments=2.5), "every_segments"),
    (dict(min_interval_s=-1.0), "min_interval_s"),
    (dict(min_interval_s=float("nan")), "min_interval_s"),
])
def test_bad_checkpointer_arguments_are_one_line_errors(tmp_path, arguments, message):
    with pytest.raises(LayerwiseError, match=message):
        Checkpointer(tmp_path, **arguments)


def test_checkpoint_argument_must_be_a_checkpointer(task):
    with pytest.raises(LayerwiseError, match="checkpoint must be a layerwise Checkpointer"):
        _train(task, "gd", checkpoint="dir")


def test_an_array_an_observable_closes_over_is_part_of_the_fingerprint(task, tmp_path):
    def observable(values):
        return lambda model, params, task: model.end_to_end(params) @ values

    lines = []
    with Checkpointer(tmp_path, every_segments=5):
        train(DEEP, _params(DEEP), task, steps=STEPS, record_steps=RECORD, observables={"v": observable(np.ones(4))})
    with Checkpointer(tmp_path, every_segments=5, on_problem=lines.append) as again:
        train(DEEP, _params(DEEP), task, steps=STEPS, record_steps=RECORD, observables={"v": observable(np.zeros(4))})
    assert again.resumed == 0 and "fingerprint differs" in lines[0]
