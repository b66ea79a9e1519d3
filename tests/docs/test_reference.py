"""Every public name is in the API reference: each name of the public API index (`layerwise._api`) is rendered by a
mkdocstrings ``::: path`` directive on some page under docs/ (as equinox's and optax's docs builds fail on an
undocumented name). A re-export counts as documented where the object it names is (``layerwise.train`` is
``layerwise.engine.train``); a submodule counts when its module has a reference page."""

import importlib
import inspect
import re
from pathlib import Path

import pytest

from layerwise._api import PUBLIC_MODULES, public_names

DOCS = Path(__file__).resolve().parents[2] / "docs"
DIRECTIVE = re.compile(r"^::: *([\w.]+)\s*$", flags=re.M)


def directives() -> list[str]:
    return [path for page in sorted(DOCS.rglob("*.md")) for path in DIRECTIVE.findall(page.read_text())]


def resolve(path: str):
    """The object a dotted path names: the longest importable module prefix, then attributes."""
    parts = path.split(".")
    for split in range(len(parts), 0, -1):
        try:
            value = importlib.import_module(".".join(parts[:split]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[split:]:
            value = getattr(value, attribute)
        return value
    raise ModuleNotFoundError(path)


def _is_definition(value) -> bool:
    return inspect.isfunction(value) or inspect.isclass(value) or inspect.ismodule(value)


def test_every_directive_names_an_object():
    broken = []
    for path in directives():
        try:
            resolve(path)
        except (ModuleNotFoundError, AttributeError):
            broken.append(path)
    assert directives() and not broken, f"reference directives naming nothing: {broken}"


def test_every_public_name_is_rendered_by_a_reference_page():
    paths = set(directives())
    rendered = {id(resolve(path)) for path in paths}
    modules_with_pages = {path for path in paths if inspect.ismodule(resolve(path))}
    missing = []
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in public_names(module_name):
            value = getattr(module, name)
            if inspect.ismodule(value):
                documented = value.__name__ in modules_with_pages or any(
                    p.startswith(value.__name__ + ".") for p in paths)
            elif _is_definition(value):
                documented = id(value) in rendered
            else:  # a constant: only its own path documents it (small ints and tuples are shared objects)
                documented = f"{module_name}.{name}" in paths
            if not documented:
                missing.append(f"{module_name}.{name}")
    assert not missing, ("public names no reference page renders (add a '::: module.name' line to the page of "
                         f"its package under docs/reference/): {missing}")


@pytest.mark.parametrize("path", ["layerwise.theory.saxe_mode", "layerwise.train", "layerwise.models.REGISTRY"])
def test_resolve_finds_functions_reexports_and_constants(path):
    assert resolve(path) is not None
