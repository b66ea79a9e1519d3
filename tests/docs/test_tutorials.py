"""The tutorials run as written (so they cannot rot): every fenced ``python`` block of a page under
docs/tutorials/, in order, in one namespace per page, with the page's working directory a fresh temporary folder.

A page whose first line after the title holds ``<!-- test: integration -->`` is run only with ``-m integration``
(the slow ones); the others run in the default suite. Together they take about a minute on 2 cores."""

import re
from pathlib import Path

import matplotlib
import pytest

from layerwise import experiments, models

TUTORIALS = Path(__file__).resolve().parents[2] / "docs" / "tutorials"
BLOCK = re.compile(r"^```python\n(.*?)^```", flags=re.S | re.M)
PAGES = sorted(TUTORIALS.glob("*.md"))


def _param(page: Path):
    marks = [pytest.mark.integration] if "<!-- test: integration -->" in page.read_text() else []
    return pytest.param(page, id=page.stem, marks=marks)


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
    assert code, f"{page.name} has no python block"
    for index, block in enumerate(code):
        exec(compile(block, f"{page.name} python block {index}", "exec"), namespace)  # noqa: S102
    assert capsys.readouterr().out.strip(), "each tutorial prints its results"


def test_every_tutorial_is_in_the_site_navigation():
    nav = (TUTORIALS.parents[1] / "mkdocs.yml").read_text()
    assert all(f"tutorials/{page.name}" in nav for page in PAGES)
