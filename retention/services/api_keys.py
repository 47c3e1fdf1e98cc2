"""Every write of the core. One function per action, one transaction per call, audited inside it."""

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from retention.actors import Actor
from retention.audit import record_audit
from retention.keys import hash_api_key_secret, new_api_key_secret
from retention.models import ApiKey


@transaction.atomic(durable=True)
def create_api_key(*, name: str, actor: Actor) -> tuple[ApiKey, str]:
    """Create a key; the secret is returned once and never stored."""
    secret = new_api_key_secret()
    api_key = ApiKey.objects.create(
        name=name, prefix=secret[:12], key_hash=hash_api_key_secret(secret), created_by=actor.user
    )
    record_audit(actor=actor, action="api_key.created", target=api_key, after={"name": name, "prefix": api_key.prefix})
    return api_key, secret


@transaction.atomic(durable=True)
def revoke_api_key(*, api_key: ApiKey, actor: Actor, now=None) -> ApiKey:
    updated = ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=now or timezone.now())
    api_key.refresh_from_db()
    if updated:
        record_audit(actor=actor, action="api_key.revoked", target=api_key, before={"revoked": False},
                     after={"revoked": True})
    return api_key


LAST_USED_RESOLUTION = timedelta(minutes=1)


def note_api_key_used(*, api_key: ApiKey, now: datetime) -> None:
    """Bookkeeping, not an audited change: at most one write a minute per key, decided by the UPDATE itself
    so that parallel requests do not all write."""
    if api_key.last_used_at is not None and now - api_key.last_used_at <= LAST_USED_RESOLUTION:
        return  # the cheap case on the hot path: no query
    ApiKey.objects.filter(Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION),
                          pk=api_key.pk).update(last_used_at=now)
