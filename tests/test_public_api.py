"""The curated public API: __all__ is sorted, complete and importable."""

from __future__ import annotations

import importlib
import inspect

import pytest

import lgsp

MODULES = [
    "lgsp",
    "lgsp.clients",
    "lgsp.codes",
    "lgsp.conformance",
    "lgsp.documents",
    "lgsp.dossiers",
    "lgsp.errors",
    "lgsp.findings",
    "lgsp.registry",
    "lgsp.signatures",
    "lgsp.transports",
]


def _isort_key(name: str) -> tuple[int, str]:
    # The order ruff keeps (RUF022): CONSTANTS, then Classes, then functions, each sorted.
    group = 0 if name.isupper() else 1 if name[:1].isupper() else 2
    return group, name


@pytest.mark.parametrize("name", MODULES)
def test_all_is_sorted_and_importable(name: str) -> None:
    module = importlib.import_module(name)
    exported = list(module.__all__)
    assert exported == sorted(exported, key=_isort_key), f"{name}.__all__ is not sorted"
    for item in exported:
        assert hasattr(module, item), f"{name}.__all__ names missing {item}"


def test_lgsp_exports_every_public_error() -> None:
    errors = importlib.import_module("lgsp.errors")
    for item in errors.__all__:
        assert item in lgsp.__all__, f"lgsp does not export {item}"


def test_documents_exports_every_public_model() -> None:
    models = importlib.import_module("lgsp.documents.models")
    documents = importlib.import_module("lgsp.documents")
    public = {
        name
        for name, obj in vars(models).items()
        if inspect.isclass(obj) and obj.__module__ == models.__name__ and not name.startswith("_")
    }
    assert public <= set(documents.__all__), public - set(documents.__all__)


def test_every_error_derives_from_the_root() -> None:
    errors = importlib.import_module("lgsp.errors")
    for item in errors.__all__:
        assert issubclass(getattr(errors, item), lgsp.LgspError)


def test_docs_list_every_rule() -> None:
    from pathlib import Path

    from lgsp.documents import RULES

    page = (Path(__file__).resolve().parents[1] / "docs" / "documents.md").read_text("utf-8")
    for rule in RULES.values():
        row = f"| `{rule.id}` | {rule.strict} | {rule.lenient} |"
        assert row in page, f"docs/documents.md lacks or misstates rule {rule.id}"
