"""Errors of the knowledge base, each with a message a user can act on."""

from __future__ import annotations

from core.errors import ApplianceError, InputError


class SourceError(InputError):
    """A source cannot be used: it cannot be fetched, read or understood."""


class RefusedTarget(SourceError):
    """A fetch was refused before connecting: the address is not one the appliance may reach."""


class IngestBusy(ApplianceError):
    """Another ingest for the same tenant is running."""
