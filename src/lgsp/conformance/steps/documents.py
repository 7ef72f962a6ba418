"""Actions: documents."""

from __future__ import annotations
