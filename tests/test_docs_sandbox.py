"""The docs' code that talks to the platform runs, against a sandbox started for it.

Every block of ``docs/*.md`` marked ``<!-- check: sandbox-docs -->`` runs here: the Python
blocks of one page in order, in one namespace that holds ``sandbox_url`` (the base URL of a
sandbox with the demo provisioning, in memory, on a free loopback port, fresh for each page)
and ``work`` (a scratch folder, also the working directory); a TOML block is saved there as
``sandbox.toml`` for the blocks after it; a console block is shown to readers and not run.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from lgsp.sandbox import Sandbox, SandboxConfig

DOCS = Path(__file__).resolve().parents[1] / "docs"
MARK = re.compile(r"<!-- check: sandbox-docs -->\n```(\w+)\n(.*?)```", re.DOTALL)
PAGES = sorted(p for p in DOCS.glob("*.md") if MARK.search(p.read_text("utf-8")))
#: The pages issue 6 asks to show the platform over the wire; each must have a block.
EXPECTED = {"sandbox.md", "documents.md", "dossiers.md", "signatures.md", "registry.md"}


def blocks(page: Path) -> list[tuple[str, str, int]]:
    """(language, code, line of the marker) of each checked block of ``page``."""
    text = page.read_text("utf-8")
    return [
        (m.group(1), m.group(2), text.count("\n", 0, m.start()) + 1) for m in MARK.finditer(text)
    ]


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(SandboxConfig.demo()) as running:
        yield running


def test_every_contract_page_shows_the_platform_over_the_wire() -> None:
    assert {p.name for p in PAGES} >= EXPECTED
    for page in PAGES:
        assert any(lang == "python" for lang, _, _ in blocks(page)), page.name


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_checked_blocks_run(
    page: Path, sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {
        "__name__": f"docs.{page.stem}",
        "sandbox_url": sandbox.url,
        "work": tmp_path,
    }
    for lang, code, line in blocks(page):
        if lang == "toml":
            (tmp_path / "sandbox.toml").write_text(code, encoding="utf-8")
        elif lang == "python":
            # Line numbers in a traceback are those of the page (the fence follows the mark).
            source = "\n" * (line + 1) + code
            exec(compile(source, str(page), "exec"), namespace)  # noqa: S102 - our own docs
        else:
            assert lang == "console", f"{page.name}:{line}: a checked {lang} block"
