"""The ``[notifications]`` settings: how this box sends email and SMS."""

import msgspec


class NotificationSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    smtp_host: str = ""  # empty: email is not configured
    smtp_port: int = 25
    smtp_from: str = "receptionist@appliance.local"
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    # An HTTP gateway that sends SMS: POST {"to": ..., "text": ...} with "Authorization: Bearer <token>".
    sms_gateway_url: str = ""
    sms_gateway_token: str = ""
    # Hosts (exact names) or addresses and ranges (CIDR) the SMS gateway may be on although they are loopback or
    # private, e.g. ["192.168.1.30"]. Cloud metadata and link-local addresses are never reachable.
    allow_hosts: list[str] = msgspec.field(default_factory=list)
    attempts: int = 4
    backoff_seconds: float = 1.0  # doubled after each failed attempt
    timeout_seconds: float = 10.0
