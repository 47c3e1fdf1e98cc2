"""seed_demo: users with stored logins, customers whose derived fields match their orders, top-up only."""

import random
from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db.models import Count, F, Max, Min, Q, Sum

from retention.management.commands import seed_demo
from retention.management.commands.seed_demo import demo_customer, derived_order_fields
from retention.models import ConsentRecord, Customer, Order, OrderItem, OrderStatus
from retention.roles import MARKETING, SUPPORT
from retention.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _without_other_apps_demo_content(monkeypatch):
    """These tests are about retention's demo customers: the other apps' receivers add their own."""
    from retention.signals import demo_data_seeded

    monkeypatch.setattr(demo_data_seeded, "receivers", [])
    monkeypatch.setattr(demo_data_seeded, "sender_receivers_cache", {})


@pytest.fixture
def var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    return tmp_path


def test_first_run_creates_users_customers_and_orders(var_dir, capsys):
    # when the command runs on an empty database
    call_command("seed_demo", "--customers", "300")
    # then the three users exist with their roles, and their logins are printed and stored
    output = capsys.readouterr().out
    logins = (var_dir / "demo-logins.txt").read_text()
    assert User.objects.get(username="admin").is_superuser
    assert list(User.objects.get(username="marketer").groups.values_list("name", flat=True)) == [MARKETING]
    assert list(User.objects.get(username="support").groups.values_list("name", flat=True)) == [SUPPORT]
    for line in logins.splitlines()[1:]:
        username, password = line.split()[:2]
        assert User.objects.get(username=username).check_password(password)
        assert line in output
    assert (var_dir / "demo-logins.txt").stat().st_mode & 0o777 == 0o600
    # and 300 customers with orders, items, consents and tags
    assert Customer.objects.count() == 300
    assert Order.objects.count() > 300 and OrderItem.objects.count() > Order.objects.count()
    assert Order.objects.filter(status=OrderStatus.REFUNDED).exists()
    assert ConsentRecord.objects.filter(granted=True).count() > ConsentRecord.objects.filter(granted=False).count()
    assert Customer.objects.filter(tags__name="vip").exists()
    assert set(Customer.objects.values_list("country", flat=True)) >= {"DE", "FR", "GB", "US"}


def test_derived_fields_match_the_paid_orders(var_dir):
    call_command("seed_demo", "--customers", "200")
    paid = Q(orders__status=OrderStatus.PAID)
    mismatched = Customer.objects.annotate(
        paid_count=Count("orders", filter=paid),
        paid_total=Sum("orders__amount", filter=paid, default=0),
        first_paid=Min("orders__created_at", filter=paid),
        last_paid=Max("orders__created_at", filter=paid),
    ).exclude(orders_count=F("paid_count"), total_spent=F("paid_total"))
    assert mismatched.count() == 0
    for customer in Customer.objects.annotate(
        first_paid=Min("orders__created_at", filter=paid), last_paid=Max("orders__created_at", filter=paid),
    ):
        assert (customer.first_order_at, customer.last_order_at) == (customer.first_paid, customer.last_paid)
    # and every order's amount is the sum of its items
    for order in Order.objects.prefetch_related("items")[:100]:
        assert order.amount == sum(item.quantity * item.unit_price for item in order.items.all())


def test_consent_flags_follow_the_latest_record(var_dir):
    call_command("seed_demo", "--customers", "200")
    for customer in Customer.objects.prefetch_related("consent_records"):
        for channel, flag in Customer.CONSENT_FIELDS.items():
            records = sorted((r for r in customer.consent_records.all() if r.channel == channel),
                             key=lambda r: (r.recorded_at, r.id))
            assert getattr(customer, flag) == (records[-1].granted if records else False)


def test_second_run_adds_nothing_and_prints_the_same_logins(var_dir, capsys):
    call_command("seed_demo", "--customers", "50")
    first_output = capsys.readouterr().out
    counts = (User.objects.count(), Customer.objects.count(), Order.objects.count(), ConsentRecord.objects.count())
    # when it runs again
    call_command("seed_demo", "--customers", "50")
    # then nothing is added and the stored logins are printed again
    output = capsys.readouterr().out
    assert (User.objects.count(), Customer.objects.count(), Order.objects.count(),
            ConsentRecord.objects.count()) == counts
    assert "50 customers already present; nothing added." in output
    assert (var_dir / "demo-logins.txt").read_text().strip() in output
    assert first_output.strip().endswith((var_dir / "demo-logins.txt").read_text().strip())


def test_customers_option_tops_up(var_dir, monkeypatch):
    monkeypatch.setattr(seed_demo, "CHUNK_SIZE", 15)  # several chunks, generated while the previous is written
    CustomerFactory(source_id="demo-referred-0001")  # another app's demo customer: not a numbered one
    call_command("seed_demo", "--customers", "41")
    call_command("seed_demo", "--customers", "71")
    assert Customer.objects.count() == 71
    source_ids = sorted(Customer.objects.exclude(source_id="demo-referred-0001").values_list("source_id", flat=True))
    assert source_ids[0] == "demo-00000001" and source_ids[-1] == "demo-00000070"
    assert Order.objects.values("source_id").distinct().count() == Order.objects.count()
    assert Customer.objects.filter(orders_count__gt=0).count() == Order.objects.filter(
        status=OrderStatus.PAID).values("customer").distinct().count()


def test_generation_is_repeatable_and_spreads_birthdays():
    first = [demo_customer(random.Random(5), number=n, customer_id=n, now=NOW).fields for n in range(1, 4)]
    again = [demo_customer(random.Random(5), number=n, customer_id=n, now=NOW).fields for n in range(1, 4)]
    assert first == again
    rng = random.Random(9)
    customers = [demo_customer(rng, number=n, customer_id=n, now=NOW) for n in range(6000)]
    birthdays = [c.fields["birthday"] for c in customers if c.fields["birthday"]]
    assert len({b.month for b in birthdays}) == 12
    assert any((b.month, b.day) == (2, 29) for b in birthdays)
    for customer in customers:
        assert customer.fields["signed_up_at"] <= NOW
        assert all(customer.fields["signed_up_at"] <= order.created_at <= NOW for order in customer.orders)
        assert all(recorded_at <= NOW for _channel, _granted, recorded_at in customer.consents)
        assert customer.fields | derived_order_fields(customer.orders) == customer.fields
    zones = {(c.fields["country"], c.fields["timezone"]) for c in customers}
    assert ("DE", "Europe/Berlin") in zones and ("US", "America/Chicago") in zones
    assert not any(country == "DE" and zone != "Europe/Berlin" for country, zone in zones)


@pytest.mark.postgres
@pytest.mark.forks
@pytest.mark.django_db(transaction=True)
def test_large_counts_on_postgresql_are_written_by_processes_and_top_up(var_dir, monkeypatch):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("the process path is PostgreSQL's")
    monkeypatch.setattr(seed_demo, "CHUNK_SIZE", 60)  # several chunks over two processes
    # when seeded in processes, then topped up
    assert seed_demo.seed_customers(count=250, workers=2, now=NOW) == 250
    assert seed_demo.seed_customers(count=130, workers=2, now=NOW) == 130
    call_command("seed_demo", "--customers", "380")  # nothing missing: nothing added
    # then every customer once, numbered without gaps, with its orders and derived fields consistent
    assert Customer.objects.count() == 380
    source_ids = sorted(Customer.objects.values_list("source_id", flat=True))
    assert source_ids[0] == "demo-00000001" and source_ids[-1] == "demo-00000380"
    assert len(set(source_ids)) == 380
    paid = Q(orders__status=OrderStatus.PAID)
    mismatched = Customer.objects.annotate(
        paid_count=Count("orders", filter=paid), paid_total=Sum("orders__amount", filter=paid, default=0),
    ).exclude(orders_count=F("paid_count"), total_spent=F("paid_total"))
    assert mismatched.count() == 0
    assert OrderItem.objects.filter(order__customer__isnull=True).count() == 0
    assert Customer.objects.filter(tags__name="newsletter").exists()
    # and the parent's connection is usable and not left without foreign-key triggers
    with connection.cursor() as cursor:
        cursor.execute("SHOW session_replication_role")
        assert cursor.fetchone()[0] == "origin"


def _index_names(connection) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename IN ('retention_customer', 'retention_order',"
                       " 'retention_orderitem', 'retention_consentrecord', 'retention_customer_tags')")
        return {row[0] for row in cursor.fetchall()}


@pytest.mark.postgres
@pytest.mark.forks
@pytest.mark.django_db(transaction=True)
def test_a_large_load_builds_secondary_indexes_at_the_end_and_a_crashed_one_is_repaired(var_dir, monkeypatch):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("deferred indexes are PostgreSQL's")
    before = _index_names(connection)
    monkeypatch.setattr(seed_demo, "CHUNK_SIZE", 50)
    monkeypatch.setattr(seed_demo, "DEFER_INDEXES_FROM", 100)
    # when a large load runs: same indexes after it, and the list it kept is gone
    assert seed_demo.seed_customers(count=150, workers=2, now=NOW) == 150
    assert _index_names(connection) == before
    assert not (var_dir / "seed_demo-deferred-indexes.sql").exists()
    # when a load dies half-way, its indexes are built again on the way out
    def crash(**kwargs):
        assert "customer_signed_up" not in _index_names(connection)  # deferred while loading
        raise RuntimeError("killed")

    monkeypatch.setattr(seed_demo, "_seed_in_processes", crash)
    with pytest.raises(RuntimeError):
        seed_demo.seed_customers(count=600, workers=2, now=NOW)
    assert _index_names(connection) == before
    # and if the process itself died (nothing on the way out), the next run repairs it first
    with monkeypatch.context() as died:
        died.setattr(seed_demo, "restore_deferred_indexes", lambda: 0)
        with pytest.raises(RuntimeError):
            seed_demo.seed_customers(count=600, workers=2, now=NOW)
    assert "customer_signed_up" not in _index_names(connection)
    call_command("seed_demo", "--customers", "150")
    assert _index_names(connection) == before
    assert Customer.objects.count() == 150
