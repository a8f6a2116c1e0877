"""Which number was dialled, and where a transfer goes.

Carriers deliver a DID either as the Request-URI's user (``INVITE sip:+61395550142@box``) or only in the To
header (the Request-URI then names the box's registered contact). Both are tried, the Request-URI first.
"""

from __future__ import annotations

import re

from core.tenants.document import normalise_number

_URI = re.compile(r"<?\s*(?:sips?|tel):(?P<user>[^@;>?\s]+)(?:@[^;>?\s]*)?", re.IGNORECASE)
_PHONE = re.compile(r"^\+?[0-9]{3,20}$")


def user_of(uri: str) -> str:
    """The user part of a SIP or tel URI, or of a name-addr (``"Ann" <sip:ann@host>;tag=1``); "" if none."""
    match = _URI.search(uri)
    if not match:
        return ""
    user = match.group("user")
    # Percent-escapes ("%2B" for "+") and visual separators are common in the wild.
    user = re.sub(r"%([0-9A-Fa-f]{2})", lambda m: chr(int(m.group(1), 16)), user)
    return user


def dialled_numbers(request_uri: str, to_uri: str) -> list[str]:
    """The candidate DIDs, normalised, most specific first, without duplicates or non-numbers. Each number is
    also tried with and without a leading "+", which carriers add or drop as they please."""
    found: list[str] = []
    for uri in (request_uri, to_uri):
        number = normalise_number(user_of(uri))
        if not _PHONE.match(number):
            continue
        for candidate in (number, number[1:] if number.startswith("+") else f"+{number}"):
            if candidate not in found:
                found.append(candidate)
    return found


def transfer_uri(target: str, domain: str) -> str:
    """A SIP URI for the tenant's transfer target: a URI as it is, a number at the trunk's domain."""
    target = target.strip()
    if target.lower().startswith(("sip:", "sips:")):
        return target
    return f"sip:{normalise_number(target)}@{domain}"
