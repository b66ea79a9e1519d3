"""`layerwise solve` on the command line: a small CSV run, and every bad input as one line, exit 2, nothing written."""

import json

import numpy as np
import pytest

from layerwise.cli import main

from .conftest import make_teacher


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def files(tmp_path):
    x, y = make_teacher(n=40)
    np.savez(tmp_path / "good.npz", x=x, y=y)
    np.savez(tmp_path / "shapes.npz", x=x, y=y[:-1])
    bad = x.copy()
    bad[3, 1] = np.nan
    np.savez(tmp_path / "nan.npz", x=bad, y=y)
    np.savez(tmp_path / "one.npz", x=x[:1], y=y[:1])
    rows = ["f1,f2,label"] + [f"{a:.6f},{b:.6f},{'yes' if a > 0 else 'no'}" for a, b in x[:, :2]]
    (tmp_path / "table.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "text.csv").write_text("f1,f2,label\n1,abc,yes\n2,3,no\n3,4,yes\n")
    return tmp_path


def test_csv_with_a_text_target_runs_and_writes_the_folder(capsys, files):
    out = files / "result"
    code, stdout, err = run_cli(capsys, "solve", files / "table.csv", "--target", "label", "--steps", "40",
                                "--mlp", "6", "--out", out)
    assert code == 0, err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["prediction"] == "saxe" and summary["data"]["kind"] == "classification"
    assert summary["data"]["classes"] == ["no", "yes"] and "mlp_half_time" in summary["modes"][0]
    assert "checks passed" in stdout


@pytest.mark.parametrize("argv, words", [
    (["shapes.npz"], ["y must be"]),
    (["nan.npz"], ["NaN or inf"]),
    (["one.npz"], ["at least two samples"]),
    (["table.csv", "--target", "colour"], ["no target column 'colour'"]),
    (["text.csv", "--target", "label"], ["feature column 'f2' is not numeric"]),
    (["good.npz", "--depth", "0"], ["depth", ">= 1"]),
    (["good.npz", "--init-scale", "0"], ["init_scale", "> 0"]),
    (["good.npz", "--init-scale", "-1e-3"], ["init_scale"]),
    (["good.npz", "--init", "lambda-balanced", "--imbalance", "0.5", "--width", "4"], ["infeasible", "--width"]),
    (["good.npz", "--init", "lambda-balanced", "--mode-imbalance", "0.5"], ["--mode-imbalance", "--imbalance λ"]),
    (["good.npz", "--imbalance", "0.5", "--mode-imbalance", "0.5"], ["--mode-imbalance (C) only"]),
    (["good.npz", "--mode-imbalance", "0.5", "--depth", "3"], ["--mode-imbalance", "--depth 2"]),
    (["good.npz", "--mlp", "a,b"], ["--mlp"]),
    (["good.npz", "--init", "orthogonal"], ["init must be one of"]),
    (["good.npz", "--test-fraction", "1.5"], ["test_fraction"]),
    (["no-such-data"], ["neither a built-in data set"]),
])
def test_bad_input_is_one_line_exit_2_and_nothing_written(capsys, files, argv, words):
    out = files / "out"
    argv = [files / argv[0] if argv[0].endswith((".npz", ".csv")) else argv[0], *argv[1:]]
    code, _, err = run_cli(capsys, "solve", *argv, "--out", out)
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), err
    assert all(word in lines[0] for word in words), lines[0]
    assert not out.exists() and not list(files.glob(".out*"))


def test_imbalance_with_init_aligned_keeps_its_old_meaning_and_warns_in_one_line(capsys, files):
    new, old = files / "new", files / "old"
    code, _, err = run_cli(capsys, "solve", files / "good.npz", "--mode-imbalance", "0.3", "--steps", "20",
                           "--out", new)
    assert code == 0 and not err.strip(), err
    code, _, err = run_cli(capsys, "solve", files / "good.npz", "--imbalance", "0.3", "--steps", "20", "--out", old)
    assert code == 0
    assert [line for line in err.splitlines() if line.strip()] == [
        "warning: solve: --imbalance with --init aligned is read as --mode-imbalance (its old meaning); pass "
        "--mode-imbalance instead: from the next release --imbalance means λ = -C (the later layer minus the "
        "earlier) there"]
    summaries = [json.loads((folder / "summary.json").read_text()) for folder in (new, old)]
    assert summaries[1]["prediction"] == "imbalanced"
    assert summaries[1]["config"] == summaries[0]["config"]
    assert summaries[1]["config"]["mode_imbalance"] == 0.3 and summaries[1]["config"]["imbalance"] == 0.0
    assert summaries[1]["modes"] == summaries[0]["modes"]


def test_an_out_that_is_a_file_is_refused_first(capsys, files):
    code, _, err = run_cli(capsys, "solve", files / "good.npz", "--out", files / "table.csv")
    assert code == 2 and "is a file" in err
