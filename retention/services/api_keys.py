"""Every write of the core. One function per action, one transaction per call, audited inside it."""

from django.db import transaction
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
