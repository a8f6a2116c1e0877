"""Delivery of one message over one channel; each raises DeliveryError with a reason an operator can act on."""

from __future__ import annotations

from email.message import EmailMessage

import aiosmtplib

from core.notify.config import NotificationSettings
from core.outbound.client import OutboundClient, Unreachable


class DeliveryError(Exception):
    def __init__(self, reason: str, retry: bool = True) -> None:
        super().__init__(reason)
        self.retry = retry  # False when trying again cannot help (nothing is configured)


async def send_email(settings: NotificationSettings, to: str, subject: str, body: str) -> None:
    if not settings.smtp_host:
        raise DeliveryError("email is not configured (notifications.smtp_host is empty)", retry=False)
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = settings.smtp_from, to, subject
    message.set_content(body)
    try:
        await aiosmtplib.send(
            message,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username or None,
            password=settings.smtp_password or None,
            start_tls=settings.smtp_starttls,
            timeout=settings.timeout_seconds,
        )
    except (aiosmtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"SMTP {settings.smtp_host}:{settings.smtp_port}: {exc}") from exc


async def send_sms(settings: NotificationSettings, to: str, text: str) -> None:
    if not settings.sms_gateway_url:
        raise DeliveryError("SMS is not configured (notifications.sms_gateway_url is empty)", retry=False)
    headers = {"Authorization": f"Bearer {settings.sms_gateway_token}"} if settings.sms_gateway_token else {}
    client = OutboundClient.allowing(
        settings.allow_hosts, "notifications.allow_hosts", timeout_s=settings.timeout_seconds
    )
    try:
        async with client:
            answer = await client.request(
                "POST", settings.sms_gateway_url, json={"to": to, "text": text}, headers=headers
            )
    except Unreachable as exc:  # what happened is in the log; the notification's row says only this
        raise DeliveryError(f"SMS gateway: {exc}") from None
    if answer.status >= 300:
        raise DeliveryError(f"SMS gateway answered {answer.status}: {answer.body[:200].decode(errors='replace')}")
