"""erase_customer, can_send_marketing and the GDPR export."""

from datetime import UTC, date, datetime

import pytest

from retention.actors import Actor
from retention.emails import email_hash
from retention.models import ConsentRecord, Customer, EmailSuppression, Order
from retention.queries import (
    can_send_marketing,
    export_customer_data,
    marketable_customers,
    register_export_section,
    without_suppressed,
)
from retention.services.customers import upsert_customer
from retention.services.gdpr import erase_customer
from retention.services.orders import record_order
from retention.signals import customer_erased
from retention.tests.factories import (
    CustomerFactory,
    EmailSuppressionFactory,
    EventFactory,
    StaticSegmentFactory,
)

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("test")
NOW = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)


def test_erasure_anonymises_keeps_orders_and_suppresses(django_capture_on_commit_callbacks):
    # given a customer with personal data, consent, and an order
    upsert_customer(source_id="c1", actor=ACTOR, ip_address="10.0.0.9", user_agent="Firefox", data={
        "email": "ana@example.com", "first_name": "Ana", "last_name": "Lopez", "phone": "+49 1",
        "birthday": date(1990, 5, 3), "metadata": {"size": "M"}, "tags": ["vip"],
        "consents": {"email_marketing": True, "sms_marketing": True}})
    record_order(data={"source_id": "o1", "customer": "c1", "amount": 100, "currency": "EUR", "status": "paid"},
                 actor=ACTOR)
    customer = Customer.objects.get()
    assert can_send_marketing(customer, "email_marketing") is True
    seen = []
    customer_erased.connect(lambda sender, customer, **kwargs: seen.append(customer.source_id), weak=False,
                            dispatch_uid="test-erase")
    try:
        # when it is erased
        with django_capture_on_commit_callbacks(execute=True):
            erase_customer(customer=customer, actor=ACTOR, now=NOW)
    finally:
        customer_erased.disconnect(dispatch_uid="test-erase")
    # then personal data is gone, the order stays, the address is suppressed
    customer.refresh_from_db()
    assert (customer.email, customer.first_name, customer.last_name, customer.phone, customer.birthday,
            customer.birthday_month, customer.birthday_day, customer.metadata, customer.erased_at) == (
        "", "", "", "", None, None, None, {}, NOW)
    assert customer.tags.count() == 0
    assert set(ConsentRecord.objects.values_list("ip_address", "user_agent")) == {(None, "")}
    assert Order.objects.filter(customer=customer).count() == 1 and customer.orders_count == 1
    assert EmailSuppression.objects.get().email_hash == email_hash("ana@example.com")
    assert can_send_marketing(customer, "email_marketing") is False
    assert can_send_marketing(customer, "sms_marketing") is False
    assert seen == ["c1"]


def test_can_send_marketing_refuses_suppressed_email():
    # given a consenting customer whose address bounced
    customer = CustomerFactory(email="bounce@example.com", email_marketing_consent=True)
    EmailSuppressionFactory(email_hash=email_hash("bounce@example.com"))
    # when / then
    assert can_send_marketing(customer, "email_marketing") is False
    assert without_suppressed([customer]) == []
    assert list(marketable_customers("email_marketing")) == [customer]


def test_can_send_marketing_needs_consent():
    # given one consenting and one not
    yes = CustomerFactory(email_marketing_consent=True, sms_marketing_consent=True, phone="+1")
    no = CustomerFactory(email_marketing_consent=False)
    # then
    assert (can_send_marketing(yes, "email_marketing"), can_send_marketing(yes, "sms_marketing")) == (True, True)
    assert can_send_marketing(no, "email_marketing") is False


def test_export_holds_profile_consents_orders_events_segments_and_registered_sections():
    # given a customer with data everywhere
    upsert_customer(source_id="c1", actor=ACTOR, data={"email": "ana@example.com", "tags": ["vip"],
                                                       "consents": {"email_marketing": True}})
    record_order(data={"source_id": "o1", "customer": "c1", "amount": 100, "currency": "EUR", "status": "paid",
                       "items": [{"sku": "A", "quantity": 1, "unit_price": 100}]}, actor=ACTOR)
    customer = Customer.objects.get()
    EventFactory(customer=customer, event_id="e1", type="review_submitted")
    StaticSegmentFactory(slug="vips", members=[customer])
    register_export_section("test_section", lambda customer: {"source": customer.source_id})
    # when exported
    data = export_customer_data(customer)
    # then every section is there
    assert data["profile"]["email"] == "ana@example.com" and data["profile"]["tags"] == ["vip"]
    assert [(c["channel"], c["granted"]) for c in data["consents"]] == [("email_marketing", True)]
    assert data["orders"][0]["source_id"] == "o1" and data["orders"][0]["items"][0]["sku"] == "A"
    assert [event["id"] for event in data["events"]] == ["e1"]
    assert data["segments"] == ["vips"]
    assert data["test_section"] == {"source": "c1"}
