"""Fixtures of the fault suite (defined in faultkit.py, which the tests also import helpers from)."""

from faultkit import hub, tiny_city  # noqa: F401 - pytest fixtures
