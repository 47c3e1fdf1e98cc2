"""Every write of the core. One function per action, one transaction per call, audited inside it."""

import logging
import uuid
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from retention.actors import Actor
from retention.audit import record_audit
from retention.keys import hash_api_key_secret, new_api_key_secret
from retention.models import ApiKey

logger = logging.getLogger(__name__)


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
        # retention.api.authentication keeps keys per process and reads this marker on every request, so a revoke
        # beats its copies: changed now, and again after COMMIT (a request between the two may have kept the key
        # as it was before the commit).
        _mark_api_keys_changed()
        transaction.on_commit(_mark_api_keys_changed)
    return api_key


API_KEYS_CHANGED = "api_keys:changed"


def _mark_api_keys_changed() -> None:
    try:
        cache.set(API_KEYS_CHANGED, uuid.uuid4().hex, None)
    except Exception:  # noqa: BLE001 - Redis away: kept copies then expire within KEPT_SECONDS; the revoke stands
        logger.warning("Could not mark API keys changed in the cache.", exc_info=True)


LAST_USED_RESOLUTION = timedelta(minutes=1)


def note_api_key_used(*, api_key: ApiKey, now: datetime) -> None:
    """Bookkeeping, not an audited change: at most one write a minute per key, decided by the UPDATE itself
    so that parallel requests do not all write."""
    if api_key.last_used_at is not None and now - api_key.last_used_at <= LAST_USED_RESOLUTION:
        return  # the cheap case on the hot path: no query
    ApiKey.objects.filter(Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION),
                          pk=api_key.pk).update(last_used_at=now)
