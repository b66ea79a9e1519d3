"""The tutorials run as written (so they cannot rot): every fenced ``python`` block of a page under
docs/tutorials/ (and docs/contributing/), in order, in one namespace per page, with the page's working directory
a fresh temporary folder.

A page whose first line after the title holds ``<!-- test: integration -->`` is run only with ``-m integration``
(the slow ones); the others run in the default suite. Together they take about a minute on 2 cores."""

import re
from pathlib import Path

import matplotlib
import pytest

from layerwise import experiments, models

DOCS = Path(__file__).resolve().parents[2] / "docs"
BLOCK = re.compile(r"^```python\n(.*?)^```", flags=re.S | re.M)
PAGES = sorted([*DOCS.glob("tutorials/*.md"), *DOCS.glob("contributing/*.md")])


def _param(page: Path):
    marks = [pytest.mark.integration] if "<!-- test: integration -->" in page.read_text() else []
    return pytest.param(page, id=f"{page.parent.name}/{page.stem}", marks=marks)


def blocks(page: Path) -> list[str]:
    return BLOCK.findall(page.read_text())


@pytest.fixture
def registries():
    """A tutorial may register a model or an experiment; the registries are as before afterwards."""
    saved_models, saved_experiments = dict(models.REGISTRY), dict(experiments.REGISTRY)
    yield
    models.REGISTRY.clear(), models.REGISTRY.update(saved_models)
    experiments.REGISTRY.clear(), experiments.REGISTRY.update(saved_experiments)


@pytest.mark.parametrize("page", [_param(page) for page in PAGES])
def test_tutorial_runs(page, tmp_path, monkeypatch, capsys, registries):
    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": f"tutorial_{page.stem.replace('-', '_')}"}
    code = blocks(page)
    if not code:
        pytest.skip(f"{page.name} has no python block")
    for index, block in enumerate(code):
        exec(compile(block, f"{page.name} python block {index}", "exec"), namespace)  # noqa: S102
    assert capsys.readouterr().out.strip(), "each tutorial prints its results"


def test_every_tutorial_is_in_the_site_navigation():
    nav = (DOCS.parent / "mkdocs.yml").read_text()
    assert all(page.relative_to(DOCS).as_posix() in nav for page in PAGES)
    assert all(blocks(page) for page in DOCS.glob("tutorials/*.md")), "a tutorial without code tests nothing"
