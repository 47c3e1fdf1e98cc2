"""retention.ratelimit.any_limited: the check of several counters in one cache round trip."""

import socket

import pytest
import time_machine
from django.core.cache import caches
from django.test import override_settings

from retention import ratelimit
from retention.ratelimit import any_limited, hit, is_limited


def _redis_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
        return True
    except OSError:
        return False


@pytest.fixture(params=["locmem", "redis"])
def cache_backend(request, monkeypatch):
    if request.param == "locmem":
        config = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "any-limited"}
    else:
        if not _redis_up():
            pytest.skip("no Redis on 127.0.0.1:6379")
        config = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:6379/9"}
    with override_settings(CACHES={"default": config}):
        cache = caches["default"]
        cache.clear()
        monkeypatch.setattr(ratelimit, "cache", cache)
        yield cache
        cache.clear()


@time_machine.travel("2026-01-01T00:00:10Z", tick=False)
def test_any_limited_is_true_once_one_counter_reached_the_limit(cache_backend):
    # given three idents, one of which has used its 2 failures
    idents = [("s.api_key", "7"), ("s.ip", "1.2.3.4"), ("s.customer", "c1")]
    assert any_limited(idents, 2, 60) is False
    hit("s.ip", "1.2.3.4", 2, 60)
    hit("s.customer", "c1", 2, 60)
    assert any_limited(idents, 2, 60) is False
    hit("s.ip", "1.2.3.4", 2, 60)
    # then the group is limited, as is_limited says of that one, and the others are not
    assert any_limited(idents, 2, 60) is True
    assert is_limited("s.ip", "1.2.3.4", 2, 60) is True
    assert any_limited([idents[0], idents[2]], 2, 60) is False


def test_any_limited_forgets_with_the_window(cache_backend):
    with time_machine.travel("2026-01-01T00:00:59Z", tick=False):
        hit("s", "x", 1, 60)
        assert any_limited([("s", "x"), ("s", "y")], 1, 60) is True
    with time_machine.travel("2026-01-01T00:01:00Z", tick=False):
        assert any_limited([("s", "x"), ("s", "y")], 1, 60) is False


def test_any_limited_with_nothing_to_check(cache_backend):
    assert any_limited([], 1, 60) is False
