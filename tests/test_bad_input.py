"""Bad input at every boundary of the command line: exit status 2, one line on stderr, no traceback, nothing written.

Most tests are property-based (hypothesis): they generate bad arguments, bad ``--set`` values, bad TOML config files
and damaged ``summary.json`` files, and call ``layerwise.cli.main(argv)`` in-process. No generated case may start an
experiment: the ``guard`` fixture makes starting one fail the test. The tests at the end run the tiny plugin
experiments for real (output locations, folder permissions, markup in paths).
"""

import contextlib
import dataclasses
import errno
import io
import json
import math
import os
import shutil
import tomllib
import typing
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import layerwise.report.results as results
import layerwise.runner as runner
from layerwise.cli import main
from layerwise.experiments import REGISTRY, load_plugins

PLUGIN = "tests.plugins.tiny_experiments"
ROOT = Path(__file__).resolve().parents[1]
REAL = sorted(name for name in REGISTRY if name not in ("alpha", "beta"))  # the experiments layerwise ships
FIELDS = {name: typing.get_type_hints(REGISTRY[name].config_type) for name in REAL}
REAL_RUN_ONE = runner.run_one


def fuzz(cases: int):
    """Hypothesis settings: a few milliseconds per case, about 1,100 cases in all; ``LAYERWISE_FUZZ=10`` runs ten
    times as many (to hunt for new bugs)."""
    return settings(max_examples=cases * int(os.environ.get("LAYERWISE_FUZZ", "1")), deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module", autouse=True)
def plugins():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LAYERWISE_PLUGINS", PLUGIN)
        patch.syspath_prepend(str(ROOT))
        patch.setenv("TINY_SLEEP", "0")
        load_plugins()
        yield


def _started(*args, **kwargs):
    raise AssertionError("an experiment started on bad input")


@pytest.fixture(scope="module")
def guard():
    """Any call that would run an experiment fails the test instead."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(runner, "run_one", _started)
        yield


@pytest.fixture
def real_runs(monkeypatch):
    """For the tests that run the tiny experiments for real, after ``guard`` was set up."""
    monkeypatch.setattr(runner, "run_one", REAL_RUN_ONE)


@pytest.fixture(scope="module")
def work(tmp_path_factory, guard):
    """A scratch folder: ``out`` must never appear in it, ``a-file`` is a plain file."""
    root = tmp_path_factory.mktemp("bad-input")
    (root / "a-file").write_text("not a folder\n")
    return root


def invoke(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def one_line_error(argv, work, *, words=()):
    """Run ``argv``; assert exit 2, exactly one non-empty line on stderr, no traceback, no ``out``; return the line."""
    code, _, err = invoke(argv)
    lines = err.splitlines()
    assert code == 2, (argv, code, err)
    assert len(lines) == 1 and lines[0].strip() and lines[0].startswith("error:"), (argv, err)
    assert "Traceback" not in err
    assert not (work / "out").exists(), argv
    for word in words:
        assert word in lines[0], (argv, lines[0], word)
    return lines[0]


# ---------------------------------------------------------------- strategies

ANY_TEXT = st.text(st.characters(), max_size=30)  # any code point: NUL, lone surrogates too
WORD = st.text(st.characters(exclude_categories=("Cs", "Cc", "Zs", "Zl", "Zp")), min_size=1, max_size=20)
unknown_name = ANY_TEXT.filter(lambda s: s not in REGISTRY and not s.startswith("-"))


def _toml_float(x: float) -> str:
    return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf") if math.isinf(x) else repr(x)


def toml_string(text: str) -> str:
    """A TOML basic string for any text (JSON's escapes of astral characters are not valid TOML)."""
    body = "".join(f"\\u{ord(c):04x}" if ord(c) < 0x20 or ord(c) == 0x7F else "\\" + c if c in '"\\' else c
                   for c in text)
    return f'"{body}"'


toml_scalar = st.one_of(
    st.integers().map(str),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats().map(_toml_float),
    st.booleans().map(lambda b: "true" if b else "false"),
    st.text(st.characters(exclude_categories=("Cs",)), max_size=10).map(toml_string),
    ANY_TEXT,  # garbled: read as a bare word (or half a TOML literal)
    st.sampled_from(["none", "None", "[]", "{}", "[1, [2]]", "{a = 1}", "1979-05-27", "07:32:00", "0x10", "1_000",
                     "+inf", "-nan", '"', "[", "=", "1e999", "-1e-999", "9" * 400, "1" * 5000, "[" * 3000, "0", "-0",
                     "-1", "1.5", "'x'", '"""a"""', "[1, 2.5]", '["a", 1]', "true, false"]),
)
toml_value = st.recursive(toml_scalar, lambda items: st.lists(items, max_size=4).map(lambda v: f"[{', '.join(v)}]"),
                          max_leaves=6)
field_of_real = st.sampled_from(REAL).flatmap(lambda n: st.tuples(st.just(n), st.sampled_from(sorted(FIELDS[n]))))


# ---------------------------------------------------------------- arguments

@fuzz(70)
@given(name=unknown_name, extra=st.lists(st.sampled_from(["--quick", "--strict", "--print-config"]), max_size=3))
def test_unknown_experiment(work, name, extra):
    one_line_error(["run", name, *extra, "--out", work / "out", "--print-config"], work)


@fuzz(80)
@given(name=st.sampled_from(REAL), key=ANY_TEXT.filter(lambda s: "=" not in s), value=toml_value)
def test_unknown_set_key(work, name, key, value):
    if key.strip() in FIELDS[name]:
        key += "_x"
    line = one_line_error(["run", name, "--set", f"{key}={value}", "--out", work / "out", "--print-config"], work)
    assert "--set expects key=value" in line or "unknown config key" in line


@fuzz(40)
@given(name=st.sampled_from(REAL),
       assignment=ANY_TEXT.filter(lambda s: "=" not in s or not s.partition("=")[0].strip()))
def test_garbled_set(work, name, assignment):
    one_line_error(["run", name, "--set", assignment, "--out", work / "out", "--print-config"], work,
                   words=["--set expects key=value"])


@fuzz(150)
@given(name_field=field_of_real, value=toml_value)
def test_any_set_value_is_a_config_or_one_line(work, name_field, value):
    """Whatever the value of a real field: a config that reads back as itself (exit 0), or one error line (exit 2)."""
    name, field = name_field
    code, out, err = invoke(["run", name, "--set", f"{field}={value}", "--out", work / "out", "--print-config"])
    assert "Traceback" not in err and not (work / "out").exists()
    if code == 0:  # and the printed config reads back as the same config
        assert err == "" and tomllib.loads(out)["experiment"] == name
        (work / "printed.toml").write_text(out, encoding="utf-8")
        assert invoke(["run", work / "printed.toml", "--out", work / "out", "--print-config"]) == (0, out, "")
    else:
        assert code == 2 and len(err.splitlines()) == 1 and err.startswith("error:"), err


# (experiment, field) that must be > 0 (or >= 2 and so on): a zero or negative value is refused, naming the field.
POSITIVE = [("feedback", "learning_rate"), ("feedback", "duration"), ("feedback", "init_scale"), ("feedback", "n_samples"),
            ("feedback", "depths"), ("feedback", "target_strengths"), ("emergence", "learning_rate"),
            ("emergence", "n_skills"), ("lazy-rich-fig6", "steps"), ("lazy-rich-fig6", "learning_rate"),
            ("neural-collapse", "classes"), ("neural-collapse", "width"), ("grokking-modular", "modulus"),
            ("grokking-fig11", "learning_rate"), ("theory-check", "instances")]


def _non_positive(annotation):
    if annotation is int:
        return st.integers(max_value=0).map(str)
    if annotation is float:
        return st.one_of(st.floats(max_value=0.0), st.just(math.nan)).map(_toml_float)
    # tuple[float, ...] / tuple[int, ...]: one bad entry among good ones
    item = typing.get_args(annotation)[0]
    return st.tuples(_non_positive(item), st.integers(0, 3)).map(lambda t: "[" + ", ".join(["3"] * t[1] + [t[0]])
                                                                       + "]")


@fuzz(70)
@given(data=st.data())
def test_non_positive_numbers_are_refused(work, data):
    name, field = data.draw(st.sampled_from(POSITIVE))
    value = data.draw(_non_positive(FIELDS[name][field]))
    one_line_error(["run", name, "--set", f"{field}={value}", "--out", work / "out", "--print-config"], work,
                   words=[field])


# (experiment, --set value, the line): one cross-field rule declared with `fields.rule` per experiment, broken from
# the command line.
BROKEN_RULES = [
    ("feedback", "init_scale=10.0", "config key 'init_scale' must be below every target strength (< 0.5), got 10.0"),
    ("neural-collapse", "feature_dim=3", "config key 'feature_dim' must be >= classes (4), got 3"),
    ("theory-check", "tolerance=1e-11", "config key 'rtol' must be <= tolerance / 100 = 1e-13 (the flow is the "
                                        "reference), got 1e-12"),
    ("grokking-toy", "toy_ntk_widths=[4, 6, 9]", "config key 'toy_ntk_widths' must be even widths (the zero-output "
                                                 "init mirrors pairs), got (4, 6, 9)"),
    ("lazy-rich-digits", "beyond_train=10", "config key 'beyond_probe' must be <= beyond_train = 10 (the probe "
                                            "samples are training samples), got 20"),
    ("emergence", "n_bits=8", "config key 'n_bits' must be >= n_skills * bits_per_skill = 15 (disjoint skills), "
                              "got 8"),
    ("grokking-fig11", "init_scales=[1.0, 2.0]", "config key 'init_scales' must be one value per panel a-e (5 "
                                                 "values), got (1.0, 2.0)"),
]


@pytest.mark.parametrize("name, assignment, line", BROKEN_RULES, ids=[case[0] for case in BROKEN_RULES])
def test_a_broken_cross_field_rule_is_one_line(work, name, assignment, line):
    error = one_line_error(["run", name, "--set", assignment, "--out", work / "out", "--print-config"], work)
    assert error == f"error: {line}"


@fuzz(30)
@given(name=st.sampled_from(REAL), seed=st.one_of(st.integers(max_value=-1), st.integers(min_value=2**63)))
def test_seed_out_of_range(work, name, seed):
    one_line_error(["run", name, "--seed", seed, "--out", work / "out", "--print-config"], work, words=["seed"])


RUN_FLAGS = [["--quick"], ["--strict"], ["--print-config"], ["--seed", "1"], ["--set", "seed=1"], ["--out", "x"]]
OTHER_FLAGS = [["--only", "feedback"], ["--force"], ["--full"], ["--frobnicate"], ["-q"], ["--no-quick"]]


def _is_int(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


@st.composite
def misplaced(draw):
    """Arguments that are wrong because of where a flag is, which flag it is, or a value missing or extra."""
    name = draw(st.sampled_from(REAL))
    harmless = draw(st.lists(st.sampled_from(RUN_FLAGS[:3]), max_size=2))
    kind = draw(st.integers(0, 7))
    if kind == 0:  # a run flag before the command
        return [*draw(st.sampled_from(RUN_FLAGS)), "run", name, "--print-config"]
    if kind == 1:  # an option that takes a value, last, without one
        return ["run", name, "--print-config", *[f for h in harmless for f in h],
                draw(st.sampled_from(["--out", "--seed", "--set"]))]
    if kind == 2:  # an extra positional argument
        return ["run", name, *[f for h in harmless for f in h], draw(WORD.filter(lambda s: not s.startswith("-"))),
                "--print-config"]
    if kind == 3:  # another command's option
        return ["run", name, *draw(st.sampled_from(OTHER_FLAGS)), "--print-config"]
    if kind == 4:  # --seed that is not an integer (or an option where its value should be)
        value = draw(st.one_of(WORD.filter(lambda s: not _is_int(s)), st.sampled_from(["--quick"])))
        return ["run", name, "--print-config", "--seed", value]
    if kind == 5:  # commands that take no (or one) positional argument
        return [draw(st.sampled_from(["list", "reproduce"])), draw(WORD.filter(lambda s: not s.startswith("-"))),
                "--only", "no-such-experiment"]
    if kind == 6:  # an unknown command, or none with options
        return [draw(WORD.filter(lambda s: s not in ("run", "list", "show", "reproduce") and not s.startswith("-"))),
                name]
    return [draw(st.sampled_from(["run", "show"]))]  # a missing argument


@fuzz(100)
@given(argv=misplaced())
def test_flags_in_wrong_places(work, argv):
    one_line_error(argv, work)


VOCABULARY = st.one_of(st.sampled_from(["--quick", "--strict", "--print-config", "--seed", "--set", "--out", "--",
                                        "-", "--force", "--only", "--full", "-1", "0", "seed=1", "scale=-1", "=",
                                        "x.toml", "run"]), unknown_name)


@fuzz(80)
@given(tokens=st.lists(VOCABULARY, max_size=8))
def test_run_token_soup(work, tokens):
    """``run`` followed by any mix of flags and words but no experiment name: one error line."""
    one_line_error(["run", *tokens], work)


@fuzz(70)
@given(data=st.data())
def test_reproduce_bad_arguments(work, data):
    names = data.draw(st.lists(st.sampled_from(REAL), max_size=3))
    unknown = data.draw(st.lists(ANY_TEXT.filter(lambda s: "," not in s and s.strip() and s.strip() not in REGISTRY),
                                 max_size=2))
    mixed = data.draw(st.permutations(names + unknown))
    flags = data.draw(st.lists(st.sampled_from(["--quick", "--force"]), max_size=2))
    if not unknown and (names or data.draw(st.booleans())):
        flags += ["--quick", "--full"]  # no unknown name: make the flags contradict
    else:
        mixed = mixed or [" "]
    argv = ["reproduce", *flags, "--out", work / "out", "--only", ", ".join(mixed)]
    one_line_error(argv, work)


# ---------------------------------------------------------------- config files

def _toml_table(fields: dict) -> str:
    return "".join(f"{toml_string(key)} = {value}\n" for key, value in fields.items())


def _config_error(work, content: bytes, words=()):
    config = work / "config.toml"
    config.write_bytes(content)
    return one_line_error(["run", config, "--out", work / "out", "--print-config"], work, words=words)


@fuzz(70)
@given(content=st.binary(max_size=200))
def test_config_random_bytes(work, content):
    _config_error(work, content, words=[str(work / "config.toml")])


@fuzz(40)
@given(name=st.sampled_from(REAL), at=st.integers(0, 40), bad=st.sampled_from([b"\xff", b"\xfe", b"\xc0", b"\xc1\xbf",
                                                                              b"\xf8\x88\x80\x80"]),
       encoding=st.sampled_from([None, "latin-1", "cp1252"]))
def test_config_not_utf8(work, name, at, bad, encoding):
    text = f'experiment = "{name}"\n# réglages, ŝtatus: à vérifier\nseed = 1\n'
    if encoding is None:
        raw = text.encode("utf-8")
        content = raw[:at] + bad + raw[at:]
    else:
        content = text.encode(encoding, errors="replace")
    _config_error(work, content, words=[str(work / "config.toml"), "not UTF-8"])


def _wrong_value(annotation):
    """TOML values that are not of the field's type."""
    if annotation is float:
        return st.one_of(st.booleans().map(str).map(str.lower), WORD.map(toml_string), st.just("[1.0]"),
                         st.just("{a = 1}"), st.just("1979-05-27"))
    if annotation is int:
        return st.one_of(st.floats(allow_nan=False, allow_infinity=False).filter(lambda x: x != int(x)).map(repr),
                         st.booleans().map(str).map(str.lower), WORD.map(toml_string), st.just("[1]"),
                         st.just("07:32:00"), st.just(str(2**63)))
    if annotation in (str, str | None):
        return st.one_of(st.integers().map(str), st.just("true"), st.just("[1, 2]"), st.just("{a = 1}"))
    if typing.get_origin(annotation) is typing.Literal:  # a choice: a number, or a word that is not a choice
        allowed = typing.get_args(annotation)
        return st.one_of(st.integers().map(str), WORD.filter(lambda word: word not in allowed).map(toml_string))
    item = typing.get_args(annotation)[0]  # tuples: an entry of the wrong type
    return _wrong_value(item).map(lambda v: f"[{v}]")


@fuzz(80)
@given(data=st.data())
def test_config_wrong_types(work, data):
    name, field = data.draw(field_of_real)
    value = data.draw(_wrong_value(FIELDS[name][field]))
    line = _config_error(work, _toml_table({"experiment": toml_string(name), field: value}).encode())
    assert repr(field) in line


@fuzz(40)
@given(name=st.sampled_from(REAL), key=WORD, value=toml_scalar.filter(
    lambda v: v.strip() and "\n" not in v and not any(0xD800 <= ord(c) <= 0xDFFF for c in v)))  # a TOML string
def test_config_unknown_key(work, name, key, value):
    if key in FIELDS[name] or key == "experiment":
        key += "_x"
    content = _toml_table({"experiment": toml_string(name), key: toml_string(value)}).encode()
    _config_error(work, content, words=["unknown config key", "allowed"])


@fuzz(50)
@given(fields=st.dictionaries(WORD.filter(lambda k: k != "experiment"), st.sampled_from(["1", "1.5", "true", '"x"']),
                              max_size=4),
       experiment=st.sampled_from([None, "1", "true", "[\"feedback\"]", "{name = \"feedback\"}", "1979-05-27"]))
def test_config_without_experiment_name(work, fields, experiment):
    if experiment is not None:
        fields = {"experiment": experiment, **fields}
    _config_error(work, _toml_table(fields).encode(), words=[str(work / "config.toml"), "must set experiment"])


# ---------------------------------------------------------------- show

GOOD_SUMMARY = {"experiment": "alpha", "checks": [{"name": "alpha_small", "claim": "c", "value": 1.0,
                                                   "expected": "<= 2", "passed": True}],
                "passed": 1, "failed": 0, "config": {"seed": 0}, "config_key": "k", "quick": False,
                "wall_time_s": 0.1, "figures": ["alpha_figure.png"], "data": "data.nc"}
json_value = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
                          lambda v: st.lists(v, max_size=3) | st.dictionaries(st.text(max_size=5), v, max_size=3),
                          max_leaves=5)


@st.composite
def damaged_summary(draw) -> bytes:
    kind = draw(st.integers(0, 4))
    if kind == 0:
        return draw(st.binary(max_size=100))
    if kind == 1:  # valid JSON, but not an object
        return json.dumps(draw(json_value.filter(lambda v: not isinstance(v, dict)))).encode()
    summary = json.loads(json.dumps(GOOD_SUMMARY))
    if kind == 2:  # a key missing
        del summary[draw(st.sampled_from(sorted(results._SUMMARY_KEYS)))]
    elif kind == 3:  # a key of the wrong type
        key = draw(st.sampled_from(sorted(results._SUMMARY_KEYS)))
        kind_of = results._SUMMARY_KEYS[key]
        summary[key] = draw(json_value.filter(lambda v: not isinstance(v, kind_of)))
    else:  # a damaged check
        check = summary["checks"][0]
        if draw(st.booleans()):
            del check[draw(st.sampled_from(["name", "value", "expected", "passed"]))]
        else:
            summary["checks"][0] = draw(json_value.filter(lambda v: not isinstance(v, dict)))
    text = json.dumps(summary)
    return text.encode(draw(st.sampled_from(["utf-8", "utf-16"])))


@fuzz(80)
@given(content=damaged_summary())
def test_show_damaged_summary(work, content):
    folder = work / "result"
    folder.mkdir(exist_ok=True)
    (folder / "summary.json").write_bytes(content)
    line = one_line_error(["show", folder], work)
    assert str(folder / "summary.json") in line


@fuzz(40)
@given(path=ANY_TEXT | ANY_TEXT.map(lambda s: s * 20))
def test_show_any_path(work, path):
    """A path with no results in it, too long a name, a NUL or a lone surrogate: one line (or results, if "../"
    happened to lead to some)."""
    code, _, err = invoke(["show", work / "result-free" / path.lstrip("/")])
    assert "Traceback" not in err
    assert code == 0 or (code == 2 and len(err.splitlines()) == 1 and err.startswith("error:")), err


def test_show_checks_every_summary_before_printing(work):
    (work / "many" / "a").mkdir(parents=True)
    (work / "many" / "b").mkdir()
    (work / "many" / "a" / "summary.json").write_text(json.dumps(GOOD_SUMMARY))
    (work / "many" / "b" / "summary.json").write_bytes(b"\xff{")
    code, out, err = invoke(["show", work / "many"])
    assert code == 2 and out == "" and str(work / "many" / "b" / "summary.json") in err
    assert invoke(["show", work / "many" / "a"])[0] == 0


# ---------------------------------------------------------------- config and data files, one at a time

@pytest.mark.parametrize("case", ["directory", "not-utf8", "unreadable", "invalid", "huge-int", "deep", "nul"])
def test_config_file_that_cannot_be_decoded_is_named(tmp_path, monkeypatch, capsys, case):
    config = tmp_path / "bad.toml"
    if case == "directory":
        config.mkdir()
    elif case == "not-utf8":
        config.write_bytes('experiment = "alpha"\nlabel = "café"\n'.encode("latin-1"))
    elif case == "unreadable":  # root reads any file whatever its mode: make the read itself fail
        config.write_text('experiment = "alpha"\n')
        real = Path.read_bytes

        def refuse(self):
            if self == config:
                raise PermissionError(errno.EACCES, "Permission denied", str(self))
            return real(self)

        monkeypatch.setattr(Path, "read_bytes", refuse)
    elif case == "invalid":
        config.write_text('experiment = "alpha"\nscale = \n')
    elif case == "huge-int":
        config.write_text('experiment = "alpha"\nseed = ' + "1" * 5000 + "\n")
    elif case == "deep":
        config.write_text('experiment = "alpha"\nscale = ' + "[" * 5000 + "\n")
    else:
        config = tmp_path / "bad\x00.toml"
    code = main(["run", str(config), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err
    assert f"config file {str(config)!r}" in err
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------- output locations (the tiny experiments run here)

@pytest.fixture
def boom(monkeypatch):
    """alpha fails the test if it starts."""
    monkeypatch.setitem(REGISTRY, "alpha", dataclasses.replace(REGISTRY["alpha"], run=_started))


def _out_case(case, tmp_path, monkeypatch):
    if case == "file":
        out = tmp_path / "results"
        out.write_text("x")
        return out, "is a file"
    if case == "under-file":
        (tmp_path / "results").write_text("x")
        return tmp_path / "results" / "sub" / "dir", "is a file"
    if case == "broken-link":
        out = tmp_path / "results"
        out.symlink_to(tmp_path / "missing")
        return out, "broken symbolic link"
    if case == "not-writable":  # chmod does not stop root: say the folder is not writable where layerwise asks
        real = os.access
        monkeypatch.setattr(os, "access", lambda path, mode, **kw: False if Path(path) == tmp_path else
                            real(path, mode, **kw))
        return tmp_path / "results", "not writable"
    if case == "no-space":
        monkeypatch.setattr(shutil, "disk_usage", lambda path: SimpleNamespace(total=2**30, used=2**30 - 2**20,
                                                                              free=2**20))
        return tmp_path / "results", "free disk space"
    raise AssertionError(case)


@pytest.mark.parametrize("command", ["run", "reproduce"])
@pytest.mark.parametrize("case", ["file", "under-file", "broken-link", "not-writable", "no-space"])
def test_out_is_checked_before_the_experiment_starts(tmp_path, monkeypatch, capsys, boom, command, case):
    out, words = _out_case(case, tmp_path, monkeypatch)
    before = sorted(p.name for p in tmp_path.iterdir())
    argv = ["run", "alpha"] if command == "run" else ["reproduce", "--quick", "--only", "alpha"]
    code = main([*argv, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert err.startswith(f"error: --out {str(out)!r}") and words in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before


@fuzz(40)
@given(parts=st.lists(st.text(st.characters(exclude_categories=("Cs",), exclude_characters="/\x00") | st.just("\udcff"),
                              min_size=1, max_size=8), max_size=3),  # "\udcff": a non-UTF-8 byte in a real argv
       command=st.sampled_from(["run", "reproduce"]))
def test_out_below_a_file(work, parts, command):
    out = Path(work / "a-file", *parts)
    argv = ["run", "alpha"] if command == "run" else ["reproduce", "--quick", "--only", "alpha"]
    one_line_error([*argv, "--out", out], work, words=["error: --out", "is a file"])


def test_report_path_taken_by_a_directory(tmp_path, capsys, boom):
    (tmp_path / "index.html").mkdir()
    code = main(["reproduce", "--quick", "--only", "alpha", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and len(err.splitlines()) == 1 and "'index.html'" in err and err.startswith("error: --out")


def test_results_that_cannot_be_written_are_one_line(tmp_path, monkeypatch, capsys, real_runs):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(runner, "write_results", full)
    code = main(["run", "alpha", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and len(err.splitlines()) == 1 and "No space left on device" in err
    assert str(tmp_path / "out" / "alpha") in err


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_result_folders_honour_the_umask(tmp_path, capsys, real_runs, umask):
    old = os.umask(umask)
    try:
        for _ in range(2):  # written, then replaced by a second run
            assert main(["run", "alpha", "--out", str(tmp_path / "out")]) == 0
            folder = tmp_path / "out" / "alpha"
            assert folder.stat().st_mode & 0o777 == 0o777 & ~umask
            assert (folder / "summary.json").stat().st_mode & 0o777 == 0o666 & ~umask
    finally:
        os.umask(old)
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["alpha"]


def test_rich_markup_in_paths_is_printed_as_is(tmp_path, capsys, real_runs):
    out = tmp_path / "[/x] [bold]"
    assert main(["run", "alpha", "--out", str(out)]) == 0
    assert "".join(str(out / "alpha").split()) in "".join(capsys.readouterr().out.split())
    assert main(["show", str(out / "alpha")]) == 0
    assert "alpha_small" in capsys.readouterr().out


@pytest.mark.parametrize("value, finite, positive, non_negative", [
    (1.5, True, True, True), (3, True, True, True), (0.0, True, False, True), (-2.0, True, False, False),
    (float("nan"), False, False, False), (float("inf"), False, False, False), (-math.inf, False, False, False),
    ("x", False, False, False), (None, False, False, False), (1j, False, False, False),
])
def test_number_checks_accept_exactly_the_finite_numbers_in_their_range(value, finite, positive, non_negative):
    from layerwise.errors import LayerwiseError, check_finite, check_positive

    for check, accepted in ((lambda: check_finite("x", value), finite), (lambda: check_positive("x", value), positive),
                            (lambda: check_positive("x", value, allow_zero=True), non_negative)):
        if accepted:
            check()
        else:
            with pytest.raises(LayerwiseError, match=r"^x must be a finite number"):
                check()
