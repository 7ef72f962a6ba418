"""The deployment profiles the kit knows, apart from the suite so that the pytest plugin can
name them without importing the case models."""

from __future__ import annotations

from typing import Literal

__all__ = ["PROFILES", "ProfileName"]

ProfileName = Literal["vxp", "gateway", "soap-hub", "portal", "portal-token"]
PROFILES: tuple[ProfileName, ...] = ("vxp", "gateway", "soap-hub", "portal", "portal-token")
