"""The credentials in a tenant document: the CalDAV password and each HTTP tool's signing secret.

They are kept in the encrypted ``secrets`` table under the names below, never in the tenants table; the
document read back holds ``SET`` where one is stored. Where a document is written, a credential's value says
what to do: ``SET`` or ``NOT_SET`` keeps the stored one, ``""`` clears it, anything else replaces it. Over the
API a credential left out keeps the stored one and ``null`` clears it (``incoming``); one shown is ``SET`` or
``NOT_SET``, and only to whoever may write the document (``shown``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from copy import deepcopy
from typing import Any

import msgspec

from core.tenants.document import TenantDocument

SET = "set"
NOT_SET = "not set"
MARKERS = (SET, NOT_SET)

CALDAV_PASSWORD = "caldav:password"


def tool_secret(tool: str) -> str:
    """The name a tool's signing secret is stored under: the tool's name, which is unique in its document."""
    return f"tool:{tool}:secret"


def is_credential(name: str) -> bool:
    """Whether a name in the secrets table is one of a tenant document's credentials (not, say, a webhook's)."""
    return name == CALDAV_PASSWORD or (name.startswith("tool:") and name.endswith(":secret"))


def values(doc: TenantDocument) -> dict[str, str]:
    """Every credential the document has a place for, by name, with the value it holds there."""
    found = {}
    if doc.booking.caldav is not None:
        found[CALDAV_PASSWORD] = doc.booking.caldav.password
    for tool in doc.tools:
        found[tool_secret(tool.name)] = tool.secret
    return found


def with_values(doc: TenantDocument, value_of: Callable[[str, str], str]) -> TenantDocument:
    """The document with each credential replaced by ``value_of(name, value it holds)``."""
    booking = doc.booking
    if booking.caldav is not None:
        caldav = msgspec.structs.replace(booking.caldav, password=value_of(CALDAV_PASSWORD, booking.caldav.password))
        booking = msgspec.structs.replace(booking, caldav=caldav)
    tools = [msgspec.structs.replace(t, secret=value_of(tool_secret(t.name), t.secret)) for t in doc.tools]
    return msgspec.structs.replace(doc, booking=booking, tools=tools)


def without(doc: TenantDocument) -> TenantDocument:
    """The document as the tenants table keeps it: no credential in it."""
    return with_values(doc, lambda _name, _value: "")


def marked(doc: TenantDocument, stored: set[str]) -> TenantDocument:
    """The document with ``SET`` where a credential is stored, and ``""`` where none is."""
    return with_values(doc, lambda name, _value: SET if name in stored else "")


def merged(doc: TenantDocument, stored: Mapping[str, str]) -> TenantDocument:
    """The document with its stored credentials in place, for what uses them (the calendar, the tools)."""
    return with_values(doc, lambda name, _value: stored.get(name, ""))


def _places(raw: Any) -> Iterator[tuple[dict[str, Any], str, str]]:
    """Where a document in JSON or TOML form holds credentials: (the table, its key, the credential's name).
    Anything not shaped like a document is skipped here and refused by ``parse_tenant``."""
    if not isinstance(raw, dict):
        return
    booking = raw.get("booking")
    if isinstance(booking, dict) and isinstance(booking.get("caldav"), dict):
        yield booking["caldav"], "password", CALDAV_PASSWORD
    tools = raw.get("tools")
    if isinstance(tools, list):
        for tool in tools:
            if isinstance(tool, dict) and isinstance(tool.get("name"), str):
                yield tool, "secret", tool_secret(tool["name"])


def incoming(raw: Any) -> Any:
    """A document sent to be saved, with what it says of each credential in the form ``save`` reads: one left
    out is kept (``SET``), one sent as null is cleared (``""``). Returns a copy; the input is not changed."""
    if not isinstance(raw, dict):
        return raw
    copy = deepcopy(raw)
    for table, key, _name in _places(copy):
        if key not in table:
            table[key] = SET
        elif table[key] is None:
            table[key] = ""
    return copy


def shown(doc: TenantDocument, *, may_see: bool) -> dict[str, Any]:
    """The document for an API response: each credential ``SET`` or ``NOT_SET`` for whoever may see that much,
    and left out for everyone else. ``doc`` is as the repository reads it (``SET`` or ``""``), never merged."""
    raw: dict[str, Any] = msgspec.to_builtins(doc)
    for table, key, _name in list(_places(raw)):
        if may_see:
            table[key] = SET if table[key] else NOT_SET
        else:
            del table[key]
    return raw
