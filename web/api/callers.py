"""A data-subject request over the API: delete everything a business holds about one caller's number."""

from __future__ import annotations

from litestar import Controller, delete

from web.api.paths import TENANT
from web.auth.policy import Permission
from web.erasure import Erased
from web.scope import TenantScope


class CallerController(Controller):
    path = f"{TENANT}/callers"
    tags = ["settings"]

    @delete("/{number:str}", permission=Permission.CALLERS_ERASE, sync_to_thread=True, status_code=200)
    def forget_caller(self, view: TenantScope, number: str) -> Erased:
        """Delete the calls (with recordings), bookings, leads, messages and notifications of this number, in any
        form it was written in (+61…, 61…, 0…; spaces ignored), and take it out of audit rows about the caller;
        one ``caller.erase`` audit row keeps the counts, not the number. 400: not a phone number; 409: a call
        from it is in progress."""
        return view.forget_caller(number)
