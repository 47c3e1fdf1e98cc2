"""The fixed-window counter."""

import time_machine

from retention.ratelimit import hit, is_limited


@time_machine.travel("2026-01-01T00:00:10Z", tick=False)
def test_allows_up_to_the_limit_then_says_when_to_retry():
    # given a limit of 3 a minute
    answers = [hit("test", "1.2.3.4", 3, 60) for _ in range(4)]
    # then the fourth is refused until the window ends 50 s later
    assert answers == [(True, 0), (True, 0), (True, 0), (False, 50)]
    assert is_limited("test", "1.2.3.4", 3, 60) is True


def test_scopes_and_idents_are_counted_apart():
    with time_machine.travel("2026-01-01T00:00:00Z", tick=False):
        assert hit("a", "x", 1, 60) == (True, 0)
        assert hit("b", "x", 1, 60) == (True, 0)
        assert hit("a", "y", 1, 60) == (True, 0)
        assert hit("a", "x", 1, 60) == (False, 60)


def test_new_window_starts_afresh():
    with time_machine.travel("2026-01-01T00:00:59Z", tick=False):
        hit("test", "x", 1, 60)
        assert is_limited("test", "x", 1, 60) is True
    with time_machine.travel("2026-01-01T00:01:00Z", tick=False):
        assert is_limited("test", "x", 1, 60) is False
        assert hit("test", "x", 1, 60) == (True, 0)
