"""Delivery of one message over one channel; each raises DeliveryError with a reason an operator can act on."""

from __future__ import annotations

from email.message import EmailMessage

import aiosmtplib
import httpx

from core.notify.config import NotificationSettings


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
    try:
        async with httpx.AsyncClient(timeout=settings.timeout_seconds) as client:
            response = await client.post(settings.sms_gateway_url, json={"to": to, "text": text}, headers=headers)
    except httpx.HTTPError as exc:
        raise DeliveryError(f"SMS gateway {settings.sms_gateway_url}: {exc!r}") from exc
    if response.status_code >= 300:
        raise DeliveryError(f"SMS gateway answered {response.status_code}: {response.text[:200]}")
