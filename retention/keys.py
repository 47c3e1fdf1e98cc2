"""API key secrets: a recognisable prefix (so scanners can find a leaked key) and 256 random bits."""

import hashlib
import secrets

KEY_PREFIX = "rk_live_"


def new_api_key_secret() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key_secret(secret: str) -> str:
    # The secret is 256 random bits, so a fast hash is enough; a slow KDF would only slow every request.
    return hashlib.sha256(secret.encode()).hexdigest()
