"""Remake the negative corpus: ``python -m lgsp.conformance.negative._generate``.

Every file is written from the valid samples of :mod:`lgsp.testing.samples` with one defect;
signed files are signed afresh with a new test PKI (so their bytes change on each run, their
findings do not). Files of the theme folders that the generator no longer makes are removed.
``manifest.toml`` is not written here: it says what each file must produce, and is kept by
hand (a test fails when it and the folders disagree).
"""

from __future__ import annotations

import sys
from pathlib import Path

from lgsp.conformance.negative import _make_broken, _make_dossiers, _make_hostile, _make_signed

__all__ = ["THEMES", "build", "main"]

#: The folders of the corpus, in the order the manifest lists them.
THEMES = (
    "hostile-xml",
    "signature-wrapping",
    "broken-codes",
    "illegal-transitions",
    "malformed",
)
_HERE = Path(__file__).parent


def build() -> dict[str, bytes]:
    """Every file of the corpus by its path under the corpus folder (``theme/name``)."""
    parts = {
        "hostile-xml": _make_hostile.build(),
        "signature-wrapping": _make_signed.build(),
        "broken-codes": {**_make_broken.build_codes(), **_make_dossiers.build_codes()},
        "illegal-transitions": _make_dossiers.build_transitions(),
        "malformed": {**_make_broken.build_malformed(), **_make_dossiers.build_malformed()},
    }
    return {f"{theme}/{name}": data for theme in THEMES for name, data in parts[theme].items()}


def main(folder: Path = _HERE) -> int:
    """Write the corpus into ``folder`` and drop what is no longer made; returns 0."""
    files = build()
    for relative, data in files.items():
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    removed = [
        old
        for theme in THEMES
        if (folder / theme).is_dir()
        for old in sorted((folder / theme).iterdir())
        if old.is_file() and f"{theme}/{old.name}" not in files
    ]
    for old in removed:
        old.unlink()
    sys.stdout.write(f"{len(files)} files written in {folder}, {len(removed)} removed\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
