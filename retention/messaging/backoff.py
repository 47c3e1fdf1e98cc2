"""Retry timing: exponential back-off with jitter, so failed sends do not retry in lock-step."""

import random
from datetime import timedelta


def retry_delay(*, attempt: int, base_seconds: int, cap_seconds: int) -> timedelta:
    """Delay before try `attempt + 1`: base·2^(attempt-1), capped, scaled by a random factor in [0.5, 1]."""
    ceiling = min(cap_seconds, base_seconds * 2 ** max(attempt - 1, 0))
    return timedelta(seconds=ceiling * random.uniform(0.5, 1.0))
