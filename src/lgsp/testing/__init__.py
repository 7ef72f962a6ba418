"""Helpers for tests of code that uses lgsp: a test PKI made by code, never real keys."""
