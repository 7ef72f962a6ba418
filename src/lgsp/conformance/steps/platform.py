"""Actions: platform."""

from __future__ import annotations
