"""The package and its docs are self-contained: no file in src/, docs/, benchmarks/ or README.md refers to files
outside the repo.

Users of layerwise do not have the project's private reference notes, so a citation must name the paper (authors,
year, equation/section/figure) or a page of this repository, never one of those notes.
"""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]
SCANNED = [ROOT / "src", ROOT / "docs", ROOT / "benchmarks", ROOT / "README.md"]
FORBIDDEN = re.compile(r"theory\.md|paper\.md|engine\.md|\.\./shared|/shared/reference")

EXCLUDED: list[pathlib.Path] = []

TEXT_SUFFIXES = {".py", ".md", ".j2", ".html", ".txt", ".rst", ".toml", ".cfg", ".json", ".yaml", ".yml"}


def _files():
    for place in SCANNED:
        candidates = [place] if place.is_file() else sorted(p for p in place.rglob("*") if p.is_file())
        for path in candidates:
            if path.suffix not in TEXT_SUFFIXES or any(path.is_relative_to(ex) for ex in EXCLUDED):
                continue
            yield path


def test_no_references_outside_the_repository():
    hits = []
    for path in _files():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if FORBIDDEN.search(line):
                hits.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not hits, "references to files outside the repository:\n" + "\n".join(hits)


def test_the_scan_sees_files():
    scanned = {path.relative_to(ROOT).as_posix() for path in _files()}
    assert "README.md" in scanned
    assert "src/layerwise/__init__.py" in scanned
    assert any(name.startswith("docs/") for name in scanned)
    assert any(name.startswith("src/layerwise/experiments/") for name in scanned)
