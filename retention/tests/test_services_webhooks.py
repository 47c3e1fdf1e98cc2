import pytest

from retention.actors import Actor
from retention.models import AuditEntry, WebhookEndpoint
from retention.services.webhooks import (
    UnknownEventType,
    create_webhook_endpoint,
    delete_webhook_endpoint,
    rotate_webhook_secret,
    set_webhook_endpoint_active,
    update_webhook_endpoint,
)

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("test")


def _endpoint(**overrides) -> WebhookEndpoint:
    fields = {"url": "https://shop.example/hooks", "description": "Shop", "event_types": ["code.redeemed"]}
    return create_webhook_endpoint(**{**fields, **overrides}, actor=ACTOR)


def test_create_generates_a_secret_and_audits_without_it():
    # when an endpoint is created
    endpoint = _endpoint(event_types=["code.redeemed", "code.issued"])
    # then it is active, with a 64-character secret and its types in the documented order
    assert endpoint.is_active is True
    assert len(endpoint.secret) == 64 and endpoint.secret.startswith("whsec_")
    assert endpoint.event_types == ["code.issued", "code.redeemed"]
    entry = AuditEntry.objects.get()
    assert entry.action == "webhook_endpoint.created"
    assert entry.after == {"url": "https://shop.example/hooks", "description": "Shop",
                           "event_types": ["code.issued", "code.redeemed"], "is_active": True}
    assert endpoint.secret not in str(entry.after)


def test_two_endpoints_get_different_secrets():
    assert _endpoint().secret != _endpoint().secret


def test_unknown_event_type_is_refused_and_nothing_is_written():
    # when an unknown type is asked for
    with pytest.raises(UnknownEventType) as raised:
        _endpoint(event_types=["code.redeemed", "order.shipped"])
    # then nothing is stored
    assert raised.value.event_types == ["order.shipped"]
    assert WebhookEndpoint.objects.count() == 0
    assert AuditEntry.objects.count() == 0


def test_update_records_before_and_after():
    # given an endpoint
    endpoint = _endpoint()
    # when its URL and types change
    update_webhook_endpoint(endpoint=endpoint, url="https://shop.example/v2", description="Shop",
                            event_types=[], actor=ACTOR)
    # then the row and the audit entry show the change
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.event_types) == ("https://shop.example/v2", [])
    entry = AuditEntry.objects.get(action="webhook_endpoint.updated")
    assert entry.before["url"] == "https://shop.example/hooks"
    assert entry.after["url"] == "https://shop.example/v2"
    assert entry.after["event_types"] == []


def test_update_that_changes_nothing_writes_no_audit_entry():
    endpoint = _endpoint()
    update_webhook_endpoint(endpoint=endpoint, url=endpoint.url, description="Shop",
                            event_types=["code.redeemed"], actor=ACTOR)
    assert AuditEntry.objects.filter(action="webhook_endpoint.updated").count() == 0


def test_disable_twice_is_audited_once():
    # given an active endpoint
    endpoint = _endpoint()
    # when it is disabled twice
    set_webhook_endpoint_active(endpoint=endpoint, is_active=False, actor=ACTOR)
    endpoint = set_webhook_endpoint_active(endpoint=endpoint, is_active=False, actor=ACTOR)
    # then it is disabled and the audit log has one entry
    assert endpoint.is_active is False
    assert AuditEntry.objects.filter(action="webhook_endpoint.disabled").count() == 1


def test_rotate_replaces_the_secret():
    endpoint = _endpoint()
    old = endpoint.secret
    endpoint = rotate_webhook_secret(endpoint=endpoint, actor=ACTOR)
    assert endpoint.secret != old
    assert AuditEntry.objects.filter(action="webhook_endpoint.secret_rotated").count() == 1


def test_delete_removes_the_row_and_keeps_an_audit_entry():
    endpoint = _endpoint()
    delete_webhook_endpoint(endpoint=endpoint, actor=ACTOR)
    assert WebhookEndpoint.objects.count() == 0
    entry = AuditEntry.objects.get(action="webhook_endpoint.deleted")
    assert entry.before["url"] == "https://shop.example/hooks"
