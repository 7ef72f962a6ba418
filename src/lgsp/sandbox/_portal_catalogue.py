"""The seeded catalogue in the share endpoint's wire names (vn-contracts §4.1): procedures
(``LayThuTuc``, ``LayDanhSachTTHC``), organs (``LayDanhMucCoQuan``), fields of work
(``LayDanhMucLinhVuc``)."""

from __future__ import annotations

from typing import Any

from lgsp.sandbox.config import SandboxConfig

__all__ = ["fields_of_work", "organs", "procedures"]


def procedures(config: SandboxConfig) -> list[dict[str, Any]]:
    """Every seeded procedure: ``MATTHC``, ``TENTTHC``, ``LINHVUCTHUCHIEN``."""
    return [
        {
            "MATTHC": p.code,
            "TENTTHC": p.name,
            "LINHVUCTHUCHIEN": [{"MALINHVUC": p.field_code, "TENLINHVUC": p.field_name}],
        }
        for p in config.procedures
    ]


def organs(config: SandboxConfig) -> list[dict[str, Any]]:
    """The seeded agencies as ``MADONVI``, ``TENDONVI``, ``CAPDONVI``."""
    return [{"MADONVI": a.code, "TENDONVI": a.name, "CAPDONVI": a.level} for a in config.agencies]


def fields_of_work(config: SandboxConfig) -> list[dict[str, Any]]:
    """The fields of the seeded procedures, once each: ``MALINHVUC``, ``TENLINHVUC``,
    ``MANGANH``."""
    fields: dict[str, dict[str, Any]] = {}
    for p in config.procedures:
        fields.setdefault(
            p.field_code,
            {"MALINHVUC": p.field_code, "TENLINHVUC": p.field_name, "MANGANH": p.sector_code},
        )
    return list(fields.values())
