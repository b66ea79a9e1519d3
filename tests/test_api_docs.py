"""Every public name is documented: the API index lists each one, and it is the index the code generates."""

from pathlib import Path

from layerwise._api import PUBLIC_MODULES, markdown, public_names, summary

INDEX = Path(__file__).resolve().parents[1] / "docs" / "api.md"


def test_every_public_name_is_in_the_api_index_with_a_docstring():
    page = INDEX.read_text()
    missing = [f"{module}.{name}" for module in PUBLIC_MODULES for name in public_names(module)
               if f"`{name}`" not in page]
    assert not missing, f"undocumented public names (regenerate docs/api.md): {missing}"
    no_docstring = [f"{module}.{name}" for module in PUBLIC_MODULES for name in public_names(module)
                    if not summary(module, name)]
    assert not no_docstring, f"public names without a docstring: {no_docstring}"


def test_the_api_index_is_current():
    assert INDEX.read_text().strip() == markdown().strip(), "run: python -m layerwise._api > docs/api.md"
