from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from retention.actors import Actor
from retention.audit import record_audit
from retention.views.audit import changes

pytestmark = pytest.mark.django_db


def test_filters_by_action_type_actor_and_dates(client, marketer, admin_user):
    # given entries by two people on two days
    with time_machine.travel(timezone.now() - timedelta(days=10)):
        record_audit(actor=Actor.for_user(admin_user), action="segment.created", object_type="retention.segment",
                     object_repr="Old")
    record_audit(actor=Actor.for_user(marketer), action="segment.created", object_type="retention.segment",
                 object_repr="New")
    record_audit(actor=Actor.for_user(marketer), action="api_key.created", object_type="retention.apikey",
                 object_repr="Key")
    client.force_login(marketer)
    # when filtering
    by_action = client.get(reverse("audit:list"), {"action": "segment.created"})
    by_actor = client.get(reverse("audit:list"), {"actor": admin_user.pk})
    by_type = client.get(reverse("audit:list"), {"object_type": "retention.apikey"})
    since = client.get(reverse("audit:list"), {"since": (timezone.now() - timedelta(days=1)).date().isoformat()})
    # then each shows its entries, newest first

    def names(response):
        return [entry.object_repr for entry in response.context["page_obj"]]

    assert names(by_action) == ["New", "Old"]
    assert names(by_actor) == ["Old"]
    assert names(by_type) == ["Key"]
    assert names(since) == ["Key", "New"]


def test_diff_shows_only_changed_fields(client, marketer):
    entry = record_audit(actor=Actor.system(), action="webhook_endpoint.updated",
                         before={"url": "https://a.example", "is_active": True},
                         after={"url": "https://b.example", "is_active": True, "event_types": ["code.issued"]})
    assert changes(entry) == [
        {"field": "url", "old": "https://a.example", "new": "https://b.example", "has_old": True, "has_new": True},
        {"field": "event_types", "old": None, "new": ["code.issued"], "has_old": False, "has_new": True},
    ]
    client.force_login(marketer)
    content = client.get(reverse("audit:list")).content.decode()
    assert "<del>https://a.example</del> → <ins>https://b.example</ins>" in content
    assert "<ins>code.issued</ins>" in content


def test_creation_shows_every_field(client, marketer):
    entry = record_audit(actor=Actor.system(), action="x.created", after={"name": "A", "active": False})
    assert [(row["field"], row["new"]) for row in changes(entry)] == [("name", "A"), ("active", False)]


def test_is_paginated(client, marketer):
    for index in range(51):
        record_audit(actor=Actor.system(), action="x.created", object_repr=str(index))
    client.force_login(marketer)
    response = client.get(reverse("audit:list"), {"page": 2})
    assert [entry.object_repr for entry in response.context["page_obj"]] == ["0"]
