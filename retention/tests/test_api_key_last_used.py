"""An API key's last use is noted at most once a minute, by a conditional UPDATE."""

from datetime import UTC, datetime, timedelta

import pytest

from retention.actors import Actor
from retention.models import ApiKey
from retention.services.api_keys import create_api_key, note_api_key_used

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def test_last_use_is_written_at_most_once_a_minute(django_assert_num_queries):
    api_key, _secret = create_api_key(name="Shop", actor=Actor.system("test"))
    note_api_key_used(api_key=api_key, now=NOW)
    assert ApiKey.objects.get(pk=api_key.pk).last_used_at == NOW
    stale = ApiKey.objects.get(pk=api_key.pk)
    with django_assert_num_queries(0):
        note_api_key_used(api_key=stale, now=NOW + timedelta(seconds=30))
    # a copy read long ago still does not overwrite a recent note
    stale.last_used_at = NOW - timedelta(hours=1)
    note_api_key_used(api_key=stale, now=NOW + timedelta(seconds=30))
    assert ApiKey.objects.get(pk=api_key.pk).last_used_at == NOW
    note_api_key_used(api_key=stale, now=NOW + timedelta(seconds=61))
    assert ApiKey.objects.get(pk=api_key.pk).last_used_at == NOW + timedelta(seconds=61)
