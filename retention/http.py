"""Request helpers shared by pages and the API."""

from django.conf import settings


def client_ip(request) -> str | None:
    """The client's address, for rate limits and consent records.

    X-Forwarded-For is whatever the client says, so it is believed only for the hops of proxies this
    deployment runs (settings.TRUSTED_PROXY_COUNT): with one proxy, the last address it appended.
    """
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR") or None
