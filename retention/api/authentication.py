"""`Authorization: Bearer <api key>`: the key is looked up by its SHA-256, never stored in clear."""

import time

from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.redis import RedisCache
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from redis.exceptions import RedisError
from rest_framework import authentication, exceptions, permissions

from retention.keys import hash_api_key_secret
from retention.models import ApiKey
from retention.queries import api_key_by_secret
from retention.ratelimit import cache_values
from retention.services.api_keys import API_KEYS_CHANGED, LAST_USED_RESOLUTION, note_api_key_used

# Keys found are kept per process: the look-up was ~10% of a redemption's CPU. Every request reads the revoke
# marker that revoke_api_key changes (one Redis GET, cheaper than the query), so a revoke beats the copy; the
# copy also expires after KEPT_SECONDS. Only with a cache all processes share (Redis): with a per-process cache
# a revoke in another process would go unseen.
KEPT_SECONDS = 60
_kept: dict[str, tuple[ApiKey, float, object]] = {}  # key hash -> (key, until, marker when read)


def find_api_key(secret: str) -> ApiKey | None:
    if not isinstance(caches[DEFAULT_CACHE_ALIAS], RedisCache):
        return api_key_by_secret(secret)
    key_hash = hash_api_key_secret(secret)
    try:
        marker = next(iter(cache_values([API_KEYS_CHANGED])), None)
    except RedisError:  # Redis away: the database still answers, as before keys were kept
        return api_key_by_secret(secret)
    kept = _kept.get(key_hash)
    if kept is not None and kept[2] == marker and kept[1] > time.monotonic():
        return kept[0]
    api_key = api_key_by_secret(secret)
    if api_key is None:
        _kept.pop(key_hash, None)
    else:
        _kept[key_hash] = (api_key, time.monotonic() + KEPT_SECONDS, marker)
    return api_key


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, secret = header.partition(" ")
        if scheme != self.keyword or not secret.strip():
            raise exceptions.AuthenticationFailed("Use 'Authorization: Bearer <api key>'.")
        api_key = find_api_key(secret.strip())
        if api_key is None:
            raise exceptions.AuthenticationFailed("Unknown or revoked API key.")
        now = timezone.now()
        if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_RESOLUTION:
            note_api_key_used(api_key=api_key, now=now)
            api_key.last_used_at = now  # the kept copy too, so the next minute's requests skip the write
        return (api_key, api_key)

    def authenticate_header(self, request):
        return self.keyword


class HasApiKey(permissions.BasePermission):
    def has_permission(self, request, view):
        return isinstance(request.auth, ApiKey)


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "retention.api.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "An API key made in Settings → API keys."}
