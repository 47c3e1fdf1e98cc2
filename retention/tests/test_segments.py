"""The rule engine: every field and op, all/any, time pinned, birthdays across year end and 29 February."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from retention.models import OrderStatus, Segment
from retention.segments import FIELDS, compile_rules, customers_in, is_member, segment_count, validate_rules
from retention.tests.factories import (
    CustomerFactory,
    OrderFactory,
    OrderItemFactory,
    SegmentFactory,
    StaticSegmentFactory,
)

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


def members(rules, match="all", now=NOW) -> set[str]:
    segment = Segment(match=match, rules=rules)
    assert validate_rules(rules) == {}
    return set(customers_in(segment, now).values_list("source_id", flat=True))


def rule(field, op, value):
    return [{"field": field, "op": op, "value": value}]


@pytest.fixture
def people(db):
    de = CustomerFactory(source_id="de", country="DE", locale="de-DE", tags=["vip"], metadata={"plan": "gold",
                         "age": 30}, orders_count=3, total_spent=9000, email_marketing_consent=True)
    fr = CustomerFactory(source_id="fr", country="FR", locale="fr-FR", tags=["new"], metadata={"plan": "free",
                         "age": 20}, orders_count=1, total_spent=1000, sms_marketing_consent=True)
    at = CustomerFactory(source_id="at", country="AT", locale="de-AT", metadata={}, orders_count=0, total_spent=0)
    return de, fr, at


@pytest.mark.parametrize(("rules", "expected"), [
    (rule("country", "eq", "de"), {"de"}),
    (rule("country", "ne", "DE"), {"fr", "at"}),
    (rule("country", "in", ["DE", "AT"]), {"de", "at"}),
    (rule("country", "not_in", ["DE", "AT"]), {"fr"}),
    (rule("locale", "contains", "de-"), {"de", "at"}),
    (rule("locale", "eq", "fr-FR"), {"fr"}),
    (rule("tags", "contains", "vip"), {"de"}),
    (rule("tags", "ne", "vip"), {"fr", "at"}),
    (rule("tags", "in", ["vip", "new"]), {"de", "fr"}),
    (rule("tags", "not_in", ["vip", "new"]), {"at"}),
    (rule("metadata.plan", "eq", "gold"), {"de"}),
    (rule("metadata.plan", "in", ["gold", "free"]), {"de", "fr"}),
    (rule("metadata.plan", "contains", "FRE"), {"fr"}),
    (rule("metadata.age", "gt", 25), {"de"}),
    (rule("metadata.age", "lte", 25), {"fr"}),
    (rule("orders_count", "gte", 1), {"de", "fr"}),
    (rule("orders_count", "lt", 1), {"at"}),
    (rule("orders_count", "eq", 3), {"de"}),
    (rule("orders_count", "not_in", [0, 1]), {"de"}),
    (rule("total_spent", "gt", 1000), {"de"}),
    (rule("total_spent", "lte", 1000), {"fr", "at"}),
    (rule("total_spent", "ne", 0), {"de", "fr"}),
    (rule("email_marketing_consent", "eq", True), {"de"}),
    (rule("sms_marketing_consent", "ne", True), {"de", "at"}),
])
def test_profile_fields(people, rules, expected):
    assert members(rules) == expected


def test_metadata_ne_keeps_customers_without_the_key(people):
    assert members(rule("metadata.plan", "ne", "gold")) == {"fr", "at"}
    assert members(rule("metadata.plan", "not_in", ["gold", "free"])) == {"at"}


def test_all_and_any(people):
    rules = [{"field": "country", "op": "eq", "value": "DE"}, {"field": "tags", "op": "contains", "value": "new"}]
    assert members(rules, "all") == set()
    assert members(rules, "any") == {"de", "fr"}
    assert members([], "all") == {"de", "fr", "at"}
    assert members([], "any") == set()


def test_bought_sku_and_category_count_paid_orders_only(db):
    # given one buyer of SOCK-1 (paid), one whose SOCK-1 order was refunded, one who bought a hat
    paid, refunded, hat = (CustomerFactory(source_id=name) for name in ("paid", "refunded", "hat"))
    OrderItemFactory(order=OrderFactory(customer=paid), sku="SOCK-1", category="socks")
    OrderItemFactory(order=OrderFactory(customer=refunded, status=OrderStatus.REFUNDED), sku="SOCK-1",
                     category="socks")
    OrderItemFactory(order=OrderFactory(customer=hat), sku="HAT-1", category="hats")
    # then
    assert members(rule("bought_sku", "eq", "SOCK-1")) == {"paid"}
    assert members(rule("bought_sku", "ne", "SOCK-1")) == {"refunded", "hat"}
    assert members(rule("bought_sku", "in", ["SOCK-1", "HAT-1"])) == {"paid", "hat"}
    assert members(rule("bought_category", "not_in", ["socks"])) == {"refunded", "hat"}
    assert members(rule("bought_category", "eq", "hats")) == {"hat"}


def test_days_since_fields(db):
    # given orders 10 and 200 days ago and a customer who never ordered
    CustomerFactory(source_id="recent", last_order_at=NOW - timedelta(days=10, hours=1),
                    first_order_at=NOW - timedelta(days=400), signed_up_at=NOW - timedelta(days=500))
    CustomerFactory(source_id="dormant", last_order_at=NOW - timedelta(days=200),
                    first_order_at=NOW - timedelta(days=200), signed_up_at=NOW - timedelta(days=3))
    CustomerFactory(source_id="never", last_order_at=None, first_order_at=None, signed_up_at=None)
    # then whole days count, and "never" matches no time rule
    assert members(rule("days_since_last_order", "gt", 180)) == {"dormant"}
    assert members(rule("days_since_last_order", "eq", 10)) == {"recent"}
    assert members(rule("days_since_last_order", "lte", 10)) == {"recent"}
    assert members(rule("days_since_last_order", "lt", 10)) == set()
    assert members(rule("days_since_last_order", "gte", 10)) == {"recent", "dormant"}
    assert members(rule("days_since_last_order", "ne", 10)) == {"dormant"}
    assert members(rule("days_since_first_order", "gte", 365)) == {"recent"}
    assert members(rule("days_since_signup", "lt", 7)) == {"dormant"}


@time_machine.travel(NOW, tick=False)
def test_time_rules_default_to_now(db):
    CustomerFactory(source_id="dormant", last_order_at=NOW - timedelta(days=200))
    segment = SegmentFactory(rules=rule("days_since_last_order", "gt", 180))
    assert segment_count(segment) == 1


def birthdays(*days: date) -> None:
    for day in days:
        CustomerFactory(source_id=day.isoformat(), birthday=day)


def test_birthday_within_days_across_year_end(db):
    # given birthdays on 30 Dec, 2 Jan and 10 Jan
    birthdays(date(1980, 12, 30), date(1990, 1, 2), date(2000, 1, 10))
    # when it is 29 December
    now = datetime(2026, 12, 29, 8, 0, tzinfo=UTC)
    # then the coming week holds the first two
    assert members(rule("birthday_within_days", "lte", 7), now=now) == {"1980-12-30", "1990-01-02"}
    assert members(rule("birthday_within_days", "eq", 4), now=now) == {"1990-01-02"}
    assert members(rule("birthday_within_days", "lt", 4), now=now) == {"1980-12-30"}


def test_birthday_on_29_february(db):
    birthdays(date(2000, 2, 29), date(1999, 3, 1))
    # in a year without 29 February, it is celebrated on the 28th
    assert members(rule("birthday_within_days", "eq", 0), now=datetime(2027, 2, 28, tzinfo=UTC)) == {"2000-02-29"}
    assert members(rule("birthday_within_days", "eq", 0), now=datetime(2027, 3, 1, tzinfo=UTC)) == {"1999-03-01"}
    # in a leap year, on the 29th only
    assert members(rule("birthday_within_days", "eq", 0), now=datetime(2028, 2, 28, tzinfo=UTC)) == set()
    assert members(rule("birthday_within_days", "eq", 0), now=datetime(2028, 2, 29, tzinfo=UTC)) == {"2000-02-29"}


def test_birthday_window_of_a_whole_year_uses_at_most_13_terms(db):
    birthdays(date(1990, 6, 14), date(1990, 6, 15))
    condition = compile_rules("all", rule("birthday_within_days", "lte", 365), NOW)
    assert len(condition.children) <= 13
    assert members(rule("birthday_within_days", "lte", 365)) == {"1990-06-14", "1990-06-15"}
    assert members(rule("birthday_within_days", "lte", 363)) == {"1990-06-15"}


def test_signup_anniversary_within_days(db):
    CustomerFactory(source_id="anniversary", signed_up_at=datetime(2023, 6, 17, 9, 0, tzinfo=UTC))
    CustomerFactory(source_id="today", signed_up_at=NOW - timedelta(hours=1))
    CustomerFactory(source_id="later", signed_up_at=datetime(2024, 8, 1, tzinfo=UTC))
    assert members(rule("signup_anniversary_within_days", "lte", 3)) == {"anniversary"}
    assert members(rule("signup_anniversary_within_days", "eq", 0)) == set()


def test_erased_customers_are_never_members(db):
    CustomerFactory(source_id="gone", country="DE", erased_at=NOW)
    kept = CustomerFactory(source_id="kept", country="DE")
    segment = SegmentFactory(rules=rule("country", "eq", "DE"))
    assert set(customers_in(segment).values_list("source_id", flat=True)) == {"kept"}
    assert is_member(kept, segment) is True


def test_static_segment(db):
    inside, outside = CustomerFactory(), CustomerFactory()
    segment = StaticSegmentFactory(members=[inside])
    assert (is_member(inside, segment), is_member(outside, segment), segment_count(segment)) == (True, False, 1)


def test_validation_errors_are_keyed_by_position():
    errors = validate_rules([
        {"field": "country", "op": "eq", "value": "DE"},
        {"field": "shoe_size", "op": "eq", "value": 42},
        {"field": "orders_count", "op": "contains", "value": 1},
        {"field": "orders_count", "op": "gt", "value": "many"},
        {"field": "tags", "op": "in", "value": []},
        {"field": "birthday_within_days", "op": "lte", "value": 400},
        {"field": "metadata.bad key", "op": "eq", "value": 1},
        "nonsense",
        {"field": "metadata.contains", "op": "eq", "value": 1},
    ])
    assert set(errors) == {"rules.1.field", "rules.2.op", "rules.3.value", "rules.4.value", "rules.5.value",
                           "rules.6.field", "rules.7", "rules.8.field"}
    assert validate_rules("x") == {"rules": ["must be a list of {field, op, value}"]}


def test_fields_spec_lists_every_field_of_the_contract():
    assert [field.name for field in FIELDS] == [
        "country", "locale", "tags", "metadata.<key>", "orders_count", "total_spent", "days_since_last_order",
        "days_since_first_order", "days_since_signup", "bought_sku", "bought_category", "birthday_within_days",
        "signup_anniversary_within_days", "email_marketing_consent", "sms_marketing_consent"]
