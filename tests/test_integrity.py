"""Result integrity: the manifest catches truncated, altered, missing and foreign results (``show`` flags them,
``reproduce`` runs them again and leaves them out of its report), and one writer per results folder (the lock).

In-process and fast; the tests that kill -9 or interrupt real subprocesses are in ``test_interrupts.py``.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import xarray as xr

import layerwise.report.manifest as manifest
import layerwise.runner as runner
from layerwise.cli import main
from layerwise.report.lock import LOCK, OutputLock
from layerwise.report.manifest import MANIFEST, verify_manifest
from layerwise.report.results import is_finished, read_summary
from test_reproduce import subprocess_environment

PLUGIN = "tests.plugins.tiny_experiments"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def plugins(monkeypatch):
    monkeypatch.setenv("LAYERWISE_PLUGINS", PLUGIN)
    monkeypatch.syspath_prepend(str(ROOT))
    monkeypatch.setenv("TINY_SLEEP", "0")


def cli(capsys, *argv):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _reproduce(capsys, out, only="alpha,beta"):
    return cli(capsys, "reproduce", "--quick", "--only", only, "--out", out)


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _flip_bit(path: Path, where: str) -> None:
    """Flip the lowest bit of one byte: in the value of ``"passed"`` (the JSON stays valid: 1 becomes 0, a silent
    alteration) or in the opening brace (the JSON no longer parses)."""
    data = bytearray(path.read_bytes())
    index = data.index(b'"passed": 1') + len(b'"passed": ') if where == "value" else data.index(b"{")
    data[index] ^= 0x01
    path.write_bytes(bytes(data))


def _stamps(out: Path) -> dict:
    return {name: (out / name / "summary.json").stat().st_mtime_ns for name in ("alpha", "beta")}


def test_manifest_lists_every_file_and_the_source(plugins, capsys, tmp_path):
    code, _, err = _reproduce(capsys, tmp_path)
    assert code == 0, err
    for name in ("alpha", "beta"):
        folder = tmp_path / name
        written = json.loads((folder / MANIFEST).read_text())
        assert sorted(written["files"]) == sorted(p.name for p in folder.iterdir() if p.name != MANIFEST)
        assert written["config_key"] == read_summary(folder)["config_key"]
        assert written["source_hash"] == manifest.source_hash() and len(written["source_hash"]) == 64
        assert written["layerwise_version"] == __import__("layerwise").__version__
        assert {"git_commit", "git_dirty"} <= set(written)
        assert verify_manifest(folder) is None
    # no lock or staging left
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alpha", "beta", "claims.json", "index.html"]


@pytest.mark.parametrize("flip", ["value", "syntax"])
def test_truncated_data_and_flipped_summary_are_flagged_by_show_and_rerun_by_reproduce(plugins, capsys, tmp_path,
                                                                                          flip):
    assert _reproduce(capsys, tmp_path)[0] == 0
    with xr.open_dataset(tmp_path / "alpha" / "data.nc") as dataset:
        original = dataset.load()
    checks = {name: read_summary(tmp_path / name)["checks"] for name in ("alpha", "beta")}
    size = (tmp_path / "alpha" / "data.nc").stat().st_size
    _truncate(tmp_path / "alpha" / "data.nc")
    _flip_bit(tmp_path / "beta" / "summary.json", flip)
    stamps = _stamps(tmp_path)

    code, out, err = cli(capsys, "show", tmp_path / "alpha")
    assert code == 0 and "alpha_small" in out
    assert err.splitlines() == [f"warning: {tmp_path / 'alpha'}: data.nc is truncated ({size // 2} of {size} bytes)"]
    assert cli(capsys, "show", "--strict", tmp_path / "alpha")[0] == 1
    code, out, err = cli(capsys, "show", tmp_path / "beta")
    if flip == "value":  # still a valid summary: shown, and flagged
        assert code == 0 and len(err.splitlines()) == 1
        assert err.startswith(f"warning: {tmp_path / 'beta'}: summary.json was altered")
        assert cli(capsys, "show", "--strict", tmp_path)[0] == 1
    else:  # no longer a summary: the one-line error says why, and what the manifest found
        assert code == 2 and len(err.splitlines()) == 1 and err.startswith("error:")
        assert "summary.json' is not valid JSON" in err and "summary.json was altered" in err

    code, out, err = _reproduce(capsys, tmp_path)
    assert code == 0, err
    assert "skipped" not in out
    problems = err.splitlines()
    assert len(problems) == 2 and all(line.startswith("warning:") and "running it again" in line
                                      for line in problems), err
    assert "alpha: data.nc is truncated" in problems[0] and "beta: summary.json was altered" in problems[1]
    assert all(after != stamps[name] for name, after in _stamps(tmp_path).items())  # both ran again
    for name in ("alpha", "beta"):
        assert verify_manifest(tmp_path / name) is None
        assert read_summary(tmp_path / name)["checks"] == checks[name]
    with xr.open_dataset(tmp_path / "alpha" / "data.nc") as dataset:
        xr.testing.assert_identical(dataset.load(), original)
    code, out, err = cli(capsys, "show", "--strict", tmp_path)
    assert code == 0 and err == ""


@pytest.mark.parametrize("damage", ["no manifest", "file missing", "file added", "manifest damaged"])
def test_incomplete_or_damaged_results_run_again(plugins, capsys, tmp_path, damage):
    assert _reproduce(capsys, tmp_path, "alpha")[0] == 0
    folder = tmp_path / "alpha"
    if damage == "no manifest":
        (folder / MANIFEST).unlink()
        words = "no manifest.json"
    elif damage == "file missing":
        (folder / "alpha_figure.png").unlink()
        words = "alpha_figure.png is missing"
    elif damage == "file added":
        (folder / "notes.txt").write_text("mine\n")
        words = "'notes.txt' not listed in manifest.json"
    else:
        (folder / MANIFEST).write_text("{")
        words = "manifest.json is damaged"
    code, _, err = cli(capsys, "show", folder)
    assert code == 0 and err.splitlines() == [f"warning: {folder}: {verify_manifest(folder)}"] and words in err
    assert not is_finished(tmp_path, "alpha", read_summary(folder)["config_key"])
    code, out, err = _reproduce(capsys, tmp_path, "alpha")
    assert code == 0 and "skipped" not in out
    assert len(err.splitlines()) == 1 and err.startswith(f"warning: {folder}: {words}")
    assert err.rstrip().endswith("; running it again")
    assert verify_manifest(folder) is None
    code, out, err = _reproduce(capsys, tmp_path, "alpha")
    assert code == 0 and "skipped" in out and err == ""


def test_a_result_made_by_other_source_runs_again(plugins, capsys, tmp_path, monkeypatch):
    assert _reproduce(capsys, tmp_path, "alpha")[0] == 0
    key = read_summary(tmp_path / "alpha")["config_key"]
    assert is_finished(tmp_path, "alpha", key)
    monkeypatch.setattr(manifest, "source_hash", lambda: "f" * 64)  # as if layerwise's source had changed
    assert not is_finished(tmp_path, "alpha", key)
    code, out, err = cli(capsys, "show", tmp_path / "alpha")
    assert code == 0 and "made by other layerwise source" in err and len(err.splitlines()) == 1
    code, out, err = _reproduce(capsys, tmp_path, "alpha")
    assert code == 0 and "skipped" not in out
    assert len(err.splitlines()) == 1 and "made by other layerwise source" in err and "running it again" in err
    assert json.loads((tmp_path / "alpha" / MANIFEST).read_text())["source_hash"] == "f" * 64
    code, out, err = _reproduce(capsys, tmp_path, "alpha")
    assert code == 0 and "skipped" in out and err == ""


def test_the_report_leaves_out_a_result_that_fails_its_check(plugins, capsys, tmp_path, monkeypatch):
    real = runner.write_results

    def damaged(*args, **kwargs):  # the result is damaged between being written and the report
        path = real(*args, **kwargs)
        if path.name == "beta":
            _truncate(path / "data.nc")
        return path

    monkeypatch.setattr(runner, "write_results", damaged)
    code, out, err = _reproduce(capsys, tmp_path)
    assert code == 0
    assert len(err.splitlines()) == 1 and err.startswith(f"warning: {tmp_path / 'beta'}: data.nc is truncated (")
    assert err.rstrip().endswith("; left out of the report")
    page = (tmp_path / "index.html").read_text()
    assert "result failed its integrity check: data.nc is truncated" in page
    assert "<a href='#alpha'>" in page and "<a href='#beta'>" not in page


def test_git_commit_is_null_outside_a_checkout(tmp_path, monkeypatch):
    package = tmp_path / "layerwise"
    package.mkdir()
    (package / "__init__.py").write_text("")
    monkeypatch.setattr(manifest, "_package_dir", lambda: package)
    manifest.git_state.cache_clear()
    try:
        assert manifest.git_state() == (None, None)
    finally:
        manifest.git_state.cache_clear()


def test_git_commit_of_a_checkout(monkeypatch):
    package = ROOT / "src" / "layerwise"
    monkeypatch.setattr(manifest, "_package_dir", lambda: package)
    manifest.git_state.cache_clear()
    try:
        commit, dirty = manifest.git_state()
    finally:
        manifest.git_state.cache_clear()
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True)
    if head.returncode != 0:
        pytest.skip("not run from a git checkout")
    assert commit == head.stdout.strip() and isinstance(dirty, bool)


def test_source_hash_covers_code_and_templates(tmp_path, monkeypatch):
    package = tmp_path / "layerwise"
    (package / "report" / "templates").mkdir(parents=True)
    (package / "__pycache__").mkdir()
    (package / "__init__.py").write_text("x = 1\n")
    (package / "report" / "templates" / "page.j2").write_text("<p>\n")
    (package / "__pycache__" / "cache.py").write_text("ignored\n")
    (package / "notes.txt").write_text("ignored\n")
    monkeypatch.setattr(manifest, "_package_dir", lambda: package)
    names = [p.relative_to(package).as_posix() for p in manifest._source_files(package)]
    assert names == ["__init__.py", "report/templates/page.j2"]
    manifest.source_hash.cache_clear()
    try:
        first = manifest.source_hash()
        (package / "report" / "templates" / "page.j2").write_text("<p>!\n")
        assert manifest.source_hash() == first  # computed once per process
        manifest.source_hash.cache_clear()
        assert manifest.source_hash() != first
    finally:
        manifest.source_hash.cache_clear()


# ---------------------------------------------------------------- one writer per folder

HOLDER = ("import sys, time\n"
          "from layerwise.report.lock import OutputLock\n"
          "OutputLock(sys.argv[1]).acquire()\n"
          "print('held', flush=True)\n"
          "time.sleep(120)\n")


@pytest.mark.integration  # a real second process holds the lock
@pytest.mark.parametrize("command", [["run", "alpha"], ["reproduce", "--quick", "--only", "alpha"]])
def test_a_second_writer_is_refused(plugins, capsys, tmp_path, command):
    out = tmp_path / "out"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(out)], stdout=subprocess.PIPE, text=True,
                              env=subprocess_environment())
    try:
        assert holder.stdout.readline() == "held\n"
        code, _, err = cli(capsys, *command, "--out", out)
        assert code == 2 and len(err.splitlines()) == 1 and err.startswith("error:"), err
        assert f"{str(out)!r} is being written by another layerwise process (pid {holder.pid})" in err
        assert not (out / "alpha").exists()
    finally:
        holder.terminate()
        holder.wait()
        holder.stdout.close()
    code, _, err = cli(capsys, *command, "--out", out)  # the holder is gone: the lock is free
    assert code == 0, err
    expected = ["alpha"] if command[0] == "run" else ["alpha", "claims.json", "index.html"]
    assert sorted(p.name for p in out.iterdir()) == expected


def test_a_lock_file_left_by_a_dead_process_does_not_block(plugins, capsys, tmp_path):
    (tmp_path / LOCK).write_text("999999999\n")  # as a kill -9 leaves it: the file, without the lock
    code, _, err = cli(capsys, "run", "alpha", "--out", tmp_path)
    assert code == 0, err
    assert not (tmp_path / LOCK).exists()


def test_lock_in_process(tmp_path):
    with OutputLock(tmp_path) as lock:
        assert lock.held and (tmp_path / LOCK).read_text() == f"{os.getpid()}\n"
        with pytest.raises(Exception, match="being written by another layerwise process"):
            OutputLock(tmp_path).acquire()  # flock locks belong to the open file: a second open is refused too
    assert not lock.held and not (tmp_path / LOCK).exists()
    start = time.perf_counter()
    OutputLock(tmp_path).acquire().release()
    assert time.perf_counter() - start < 1.0
