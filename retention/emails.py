"""Email addresses: one normal form for storage and matching, one hash for suppression."""

import hashlib


def normalise_email(email: str) -> str:
    """Trimmed and lower-cased. (Gmail-style dot and +tag folding is a referral fraud check, not identity.)"""
    return (email or "").strip().lower()


def email_hash(email: str) -> str:
    return hashlib.sha256(normalise_email(email).encode()).hexdigest()
