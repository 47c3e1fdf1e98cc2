"""Fraud checks on a new referral. Pure reads; the register service records what they find.

Self-referral (same customer, same normalised email, same phone) is refused outright with
`self_referral`. The softer signals (a shared company domain, a device or IP already used by another
friend of the same code, a burst of sign-ups on one code) let the referral in but hold its reward for
a marketer's review.
"""

import re
from datetime import timedelta

from referrals.models import FraudSignalKind
from retention.models import Customer

# Providers that ignore dots in the local part and/or deliver "name+tag" to "name".
DOTLESS_DOMAINS = {"gmail.com", "googlemail.com"}
PLUS_TAG_DOMAINS = DOTLESS_DOMAINS | {"outlook.com", "hotmail.com", "live.com", "icloud.com", "me.com",
                                       "protonmail.com", "proton.me", "fastmail.com", "yahoo.com"}
# Free mail providers: two people sharing one of these domains says nothing.
PUBLIC_DOMAINS = PLUS_TAG_DOMAINS | {
    "yahoo.de", "yahoo.co.uk", "yahoo.fr", "aol.com", "gmx.de", "gmx.net", "gmx.at", "web.de", "t-online.de",
    "mail.ru", "yandex.ru", "hotmail.de", "hotmail.fr", "outlook.de", "live.de", "orange.fr", "free.fr",
    "libero.it", "mail.com", "zoho.com", "example.com",
}
BURST_COUNT = 5  # this many sign-ups on one code ...
BURST_WINDOW = timedelta(hours=1)  # ... within this window is a burst


def canonical_email(email: str) -> str:
    """Case folded; `+tags` dropped and, for Gmail, dots in the local part dropped; googlemail = gmail."""
    email = (email or "").strip().lower()
    local, _, domain = email.rpartition("@")
    if not local:
        return email
    if domain == "googlemail.com":
        domain = "gmail.com"
    if domain in PLUS_TAG_DOMAINS:
        local = local.split("+", 1)[0]
    if domain in DOTLESS_DOMAINS:
        local = local.replace(".", "")
    return f"{local}@{domain}"


def email_domain(email: str) -> str:
    return (email or "").strip().lower().rpartition("@")[2]


def canonical_phone(phone: str) -> str:
    """Digits only, a leading 00 read as +: "+49 170 1234", "0049-170-1234" are the same number."""
    digits = re.sub(r"\D", "", phone or "")
    return digits[2:] if digits.startswith("00") else digits


def is_self_referral(referrer: Customer, friend: Customer) -> str:
    """Why `friend` is `referrer` in disguise ("" when not): same customer, email or phone."""
    if referrer.pk == friend.pk:
        return "The friend is the referrer."
    if referrer.email and canonical_email(referrer.email) == canonical_email(friend.email):
        return "The friend's email is the referrer's (after folding case, dots and +tags)."
    if canonical_phone(referrer.phone) and canonical_phone(referrer.phone) == canonical_phone(friend.phone):
        return "The friend's phone is the referrer's."
    return ""


def identity_signals(referrer: Customer, friend: Customer) -> list[tuple[str, str]]:
    """Signals from the two customers' own data; run again at conversion, as the shop may have changed an
    email or phone since the referral was registered."""
    signals = []
    if referrer.email and canonical_email(referrer.email) == canonical_email(friend.email):
        signals.append((FraudSignalKind.SAME_EMAIL, "Same email after folding case, dots and +tags."))
    if canonical_phone(referrer.phone) and canonical_phone(referrer.phone) == canonical_phone(friend.phone):
        signals.append((FraudSignalKind.SAME_PHONE, "Same phone number."))
    domain = email_domain(friend.email)
    if domain and domain not in PUBLIC_DOMAINS and domain == email_domain(referrer.email):
        signals.append((FraudSignalKind.SAME_DOMAIN, f"Both use @{domain}."))
    return signals


def signals_from(facts: dict, *, referrer: Customer, friend: Customer, ip_address: str | None
                 ) -> list[tuple[str, str]]:
    """[(FraudSignalKind, detail)] from the identities and the code's facts (fraud_same_device, fraud_same_ip,
    fraud_recent: read by the registration services with their other checks)."""
    signals = identity_signals(referrer, friend)
    if facts["fraud_same_device"]:
        signals.append((FraudSignalKind.SAME_DEVICE, "Another friend of this code signed up on this device."))
    if facts["fraud_same_ip"]:
        signals.append((FraudSignalKind.SAME_IP, f"Another friend of this code signed up from {ip_address}."))
    if facts["fraud_recent"] + 1 >= BURST_COUNT:
        signals.append((FraudSignalKind.BURST, f"{facts['fraud_recent'] + 1} sign-ups on this code within an hour."))
    return signals
