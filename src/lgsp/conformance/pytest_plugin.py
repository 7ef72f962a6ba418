"""The pytest plugin of the conformance kit (placeholder: fixtures and options land next)."""
