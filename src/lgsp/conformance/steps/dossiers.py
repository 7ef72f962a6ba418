"""Actions: dossiers."""

from __future__ import annotations
