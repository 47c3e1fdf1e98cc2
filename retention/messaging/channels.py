"""The wire: email through Django's backend, SMS and webhooks as HTTP POSTs with urllib.

Each function raises TransientSendError (worth retrying) or PermanentSendError (never will work).
"""

import json
import logging
import smtplib
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.utils.html import strip_tags

from retention.messaging.errors import PermanentSendError, TransientSendError

logger = logging.getLogger(__name__)
RESPONSE_LIMIT = 2000


def timeout_seconds() -> int:
    return settings.RETENTION.get("SEND_TIMEOUT_SECONDS", 10)


@dataclass(frozen=True)
class HttpResponse:
    status: int
    body: str


def post(url: str, *, body: bytes, headers: dict[str, str]) -> HttpResponse:
    """POST `body`; any HTTP status comes back as a response, a network failure as TransientSendError."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise PermanentSendError(f"Only http and https URLs can be called, not {url!r}.")
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 - scheme checked
    try:
        with urllib.request.urlopen(request, timeout=timeout_seconds()) as response:  # noqa: S310
            return HttpResponse(response.status, response.read(RESPONSE_LIMIT).decode("utf-8", "replace"))
    except urllib.error.HTTPError as error:
        return HttpResponse(error.code, error.read(RESPONSE_LIMIT).decode("utf-8", "replace"))
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        raise TransientSendError(f"{type(error).__name__}: {getattr(error, 'reason', error)}")


def send_email(*, to: str, subject: str, html: str, text: str, headers: dict[str, str]) -> None:
    options = {} if getattr(settings, "EMAIL_TIMEOUT", None) else {"timeout": timeout_seconds()}
    message = EmailMultiAlternatives(
        subject=subject, body=text or strip_tags(html), from_email=settings.DEFAULT_FROM_EMAIL, to=[to],
        headers=headers, connection=get_connection(fail_silently=False, **options),
    )
    if html:
        message.attach_alternative(html, "text/html")
    try:
        message.send()
    except smtplib.SMTPRecipientsRefused as error:
        raise PermanentSendError(f"Recipient refused: {error.recipients}")
    except smtplib.SMTPResponseException as error:
        # 5xx is the server's final word; 4xx means "try again later".
        kind = PermanentSendError if 500 <= error.smtp_code < 600 else TransientSendError
        raise kind(f"SMTP {error.smtp_code}: {error.smtp_error!r}")
    except (smtplib.SMTPException, OSError) as error:
        raise TransientSendError(f"{type(error).__name__}: {error}")


def send_sms(*, to: str, text: str) -> None:
    """POST {"to", "text", "from"} as JSON to SMS_PROVIDER_URL; with no URL set, log it (like console email)."""
    url = settings.SMS_PROVIDER_URL
    if not url:
        logger.info("SMS (no provider configured) to %s: %s", to, text)
        return
    headers = {"Content-Type": "application/json"}
    if settings.SMS_PROVIDER_TOKEN:
        headers["Authorization"] = f"Bearer {settings.SMS_PROVIDER_TOKEN}"
    body = json.dumps({"to": to, "text": text, "from": settings.SMS_SENDER}).encode()
    response = post(url, body=body, headers=headers)
    if 200 <= response.status < 300:
        return
    if response.status == 429 or response.status >= 500:
        raise TransientSendError(f"SMS provider answered {response.status}: {response.body[:200]}")
    raise PermanentSendError(f"SMS provider answered {response.status}: {response.body[:200]}")
