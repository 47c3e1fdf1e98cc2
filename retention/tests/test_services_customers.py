"""upsert_customer and record_consent."""

from datetime import UTC, date, datetime

import pytest

from retention.actors import Actor
from retention.emails import email_hash
from retention.errors import DomainError
from retention.models import AuditEntry, ConsentRecord, Customer
from retention.services.customers import CustomerErased, record_consent, upsert_customer
from retention.signals import customer_created
from retention.tests.factories import CustomerFactory, EmailSuppressionFactory

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("test")
NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def test_creates_customer_with_normalised_email_birthday_tags_and_consent(django_capture_on_commit_callbacks):
    # given a listener on customer_created
    seen = []

    def listener(sender, customer, **kwargs):
        seen.append(customer.source_id)

    customer_created.connect(listener)
    try:
        # when a new customer is upserted
        with django_capture_on_commit_callbacks(execute=True):
            customer, created = upsert_customer(
                source_id="c1", actor=ACTOR, now=NOW, ip_address="10.0.0.1", user_agent="shop",
                data={"email": " Ana@Example.COM ", "first_name": "Ana", "birthday": date(1990, 2, 28),
                      "country": "de", "tags": ["vip", "newsletter"], "metadata": {"plan": "gold"},
                      "consents": {"email_marketing": True, "sms_marketing": False}},
            )
    finally:
        customer_created.disconnect(listener)
    # then it is stored, with one consent record (sms was already off) and one audit entry
    customer.refresh_from_db()
    assert created is True
    assert (customer.email, customer.country, customer.birthday_month, customer.birthday_day) == (
        "ana@example.com", "DE", 2, 28)
    assert sorted(customer.tags.values_list("name", flat=True)) == ["newsletter", "vip"]
    assert customer.metadata == {"plan": "gold"}
    assert (customer.email_marketing_consent, customer.sms_marketing_consent) == (True, False)
    record = ConsentRecord.objects.get()
    assert (record.channel, record.granted, record.source, record.ip_address, record.recorded_at) == (
        "email_marketing", True, "api", "10.0.0.1", NOW)
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.object_repr) == ("customer.created", "c1")
    assert "ana@example.com" not in str(entry.after)
    assert seen == ["c1"]


def test_update_replaces_tags_and_metadata_and_keeps_absent_fields():
    # given a customer with tags
    customer = CustomerFactory(source_id="c1", first_name="Ana", phone="+491", tags=["vip", "old"],
                               metadata={"a": 1})
    # when it is upserted with new tags and metadata only
    updated, created = upsert_customer(source_id="c1", actor=ACTOR,
                                       data={"tags": ["new"], "metadata": {"b": 2}, "birthday": None})
    # then tags and metadata are replaced and the rest kept
    customer.refresh_from_db()
    assert created is False and updated.pk == customer.pk
    assert list(customer.tags.values_list("name", flat=True)) == ["new"]
    assert (customer.metadata, customer.first_name, customer.phone) == ({"b": 2}, "Ana", "+491")
    assert Customer.objects.count() == 1
    assert AuditEntry.objects.get().action == "customer.updated"


def test_same_consent_again_records_nothing():
    # given a customer who granted email marketing
    upsert_customer(source_id="c1", actor=ACTOR, data={"consents": {"email_marketing": True}})
    # when the same consent comes again and then a withdrawal
    upsert_customer(source_id="c1", actor=ACTOR, data={"consents": {"email_marketing": True}})
    upsert_customer(source_id="c1", actor=ACTOR, data={"consents": {"email_marketing": False}})
    # then exactly two records exist: the grant and the withdrawal
    assert list(ConsentRecord.objects.order_by("id").values_list("granted", flat=True)) == [True, False]
    assert Customer.objects.get().email_marketing_consent is False


def test_suppressed_address_is_not_granted_email_consent():
    # given a suppressed address
    EmailSuppressionFactory(email_hash=email_hash("gone@example.com"))
    # when a customer with it grants consent
    customer, _ = upsert_customer(source_id="c1", actor=ACTOR,
                                  data={"email": "gone@example.com", "consents": {"email_marketing": True}})
    # then nothing is granted
    assert customer.email_marketing_consent is False
    assert ConsentRecord.objects.count() == 0


def test_erased_customer_is_not_filled_again():
    # given an erased customer
    CustomerFactory(source_id="c1", email="", erased_at=NOW)
    # when the shop sends it again
    with pytest.raises(CustomerErased):
        upsert_customer(source_id="c1", actor=ACTOR, data={"email": "ana@example.com"})
    # then nothing changed
    assert Customer.objects.get().email == ""
    assert AuditEntry.objects.count() == 0


def test_record_consent_appends_and_sets_flag():
    # given a customer without sms consent
    customer = CustomerFactory(sms_marketing_consent=False)
    # when sms consent is recorded from the portal
    record = record_consent(customer=customer, channel="sms_marketing", granted=True, source="portal",
                            wording_version="v2", actor=ACTOR, now=NOW)
    # then the record exists and the flag follows
    customer.refresh_from_db()
    assert (record.channel, record.granted, record.wording_version, record.recorded_at) == (
        "sms_marketing", True, "v2", NOW)
    assert customer.sms_marketing_consent is True
    assert AuditEntry.objects.get().action == "customer.consent_recorded"


def test_record_consent_refuses_erased_customer():
    # given an erased customer
    customer = CustomerFactory(erased_at=NOW)
    # when consent is granted
    with pytest.raises(DomainError) as caught:
        record_consent(customer=customer, channel="email_marketing", granted=True, source="api", actor=ACTOR)
    # then it is refused and nothing is stored
    assert caught.value.code == "consent_refused"
    assert ConsentRecord.objects.count() == 0 and AuditEntry.objects.count() == 0
