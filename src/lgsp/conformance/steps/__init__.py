"""The actions the suite's steps name (``do = "send"``…), registered on import."""

from lgsp.conformance.steps import documents, dossiers, platform  # noqa: F401
