"""What the rest of the appliance sees of telephony."""

from __future__ import annotations

from typing import Protocol

from sip.status import SipStatus


class Telephony(Protocol):
    async def start(self) -> None:
        """Listen for calls and register with the trunks; a failure is reported by ``status``, not raised."""
        ...

    async def stop(self) -> None:
        """End every call politely, unregister, release the ports."""
        ...

    def status(self) -> SipStatus: ...
