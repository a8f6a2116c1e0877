"""The ``[security]`` settings section."""

from __future__ import annotations

import msgspec


class SecuritySettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    # The key that encrypts secrets at rest. Keep it off the disk the database is backed up to where you can
    # (e.g. /etc/appliance/secret.key); a relative path is inside the data directory.
    key_file: str = "secret.key"
