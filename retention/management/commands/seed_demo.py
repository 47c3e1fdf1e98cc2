"""Demo data: three users (admin, marketer, support) and realistic customers with consents, tags and orders.

Idempotent: users that exist are kept (their stored logins are printed again) and customers are only
topped up to --customers. Writes in bulk (COPY on PostgreSQL) because a management command is allowed
to, and a million customers must take minutes, not hours. `random` seeded per chunk keeps the data
repeatable; none of it is secret except the passwords, which come from `secrets`.
"""

import functools
import itertools
import multiprocessing
import os
import random
import secrets
import time
import unicodedata
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand
from django.db import connection, connections, transaction
from django.utils import timezone

from retention.models import (
    ConsentChannel,
    ConsentRecord,
    ConsentSource,
    Customer,
    Order,
    OrderItem,
    OrderStatus,
    Tag,
)
from retention.roles import MARKETING, SUPPORT
from retention.signals import demo_data_seeded

SOURCE_PREFIX = "demo-"
CHUNK_SIZE = 10_000
DEMO_USERS = (  # username, role (a group name, or "superuser")
    ("admin", "superuser"),
    ("marketer", MARKETING),
    ("support", SUPPORT),
)

# country, weight, locales, time zones, name pool, phone prefix
COUNTRIES = (
    ("DE", 22, ("de-DE",), ("Europe/Berlin",), "de", "+49"),
    ("FR", 14, ("fr-FR",), ("Europe/Paris",), "fr", "+33"),
    ("GB", 12, ("en-GB",), ("Europe/London",), "en", "+44"),
    ("US", 10, ("en-US", "es-US"),
     ("America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"), "en", "+1"),
    ("ES", 8, ("es-ES", "ca-ES"), ("Europe/Madrid", "Europe/Madrid", "Europe/Madrid", "Atlantic/Canary"), "es", "+34"),
    ("IT", 8, ("it-IT",), ("Europe/Rome",), "it", "+39"),
    ("NL", 7, ("nl-NL",), ("Europe/Amsterdam",), "nl", "+31"),
    ("AT", 6, ("de-AT",), ("Europe/Vienna",), "de", "+43"),
    ("BE", 4, ("nl-BE", "fr-BE"), ("Europe/Brussels",), "nl", "+32"),
    ("CH", 4, ("de-CH", "fr-CH"), ("Europe/Zurich",), "de", "+41"),
    ("PL", 3, ("pl-PL",), ("Europe/Warsaw",), "pl", "+48"),
    ("SE", 2, ("sv-SE",), ("Europe/Stockholm",), "sv", "+46"),
)
NAMES = {
    "de": ("Anna Lena Lukas Jonas Leonie Felix Marie Paul Sophie Maximilian Jürgen Katrin Tobias Julia Stefan Sabine",
           "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Koch Richter Wolf Schröder"),
    "fr": ("Camille Léa Louis Hugo Chloé Gabriel Manon Jules Inès Arthur Élodie Mathis Zoé Théo Céline Nicolas",
           "Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Simon Laurent Lefèvre Garnier"),
    "en": ("Oliver Amelia George Isla Harry Ava Jack Emily Noah Grace Liam Olivia James Sophia Ethan Charlotte",
           "Smith Jones Taylor Brown Williams Wilson Johnson Davies Miller Evans Walker Wright Thompson Clarke"),
    "es": ("Lucía Hugo Martina Mateo Sofía Leo Paula Daniel Julia Pablo Valeria Álvaro Carmen Javier Elena Diego",
           "García Fernández González Rodríguez López Martínez Sánchez Pérez Gómez Martín Jiménez Ruiz Díaz"),
    "it": ("Giulia Leonardo Sofia Francesco Aurora Alessandro Ginevra Lorenzo Alice Mattia Chiara Marco Sara Luca",
           "Rossi Russo Ferrari Esposito Bianchi Romano Colombo Ricci Marino Greco Bruno Gallo Conti Costa"),
    "nl": ("Emma Daan Julia Sem Mila Lucas Tess Levi Sara Finn Noor Milan Anouk Bram Sanne Thijs",
           "de Jong Jansen de Vries van den Berg van Dijk Bakker Visser Smit Meijer de Boer Mulder Bos Vos"),
    "pl": ("Zuzanna Antoni Julia Jan Maja Aleksander Hanna Franciszek Lena Jakub Alicja Szymon Oliwia Piotr",
           "Nowak Kowalski Wiśniewski Wójcik Kowalczyk Kamiński Lewandowski Zieliński Szymański Woźniak"),
    "sv": ("Alice Lucas Maja William Elsa Oscar Astrid Hugo Wilma Liam Saga Elias Ebba Axel Freja Nils",
           "Andersson Johansson Karlsson Nilsson Eriksson Larsson Olsson Persson Svensson Gustafsson Lindberg"),
}
NAME_POOLS = {language: (first.split(), last.replace("de ", "de_").replace("van ", "van_").split())
              for language, (first, last) in NAMES.items()}
EMAIL_DOMAINS = ("example.com", "example.net", "example.org", "mail.example", "shop.example")
CATALOGUE = (  # sku, name, category, unit price in cents
    ("SHOE-RUN-01", "Trail runner", "shoes", 11900), ("SHOE-RUN-02", "Road runner", "shoes", 9900),
    ("SHOE-CAS-01", "Canvas sneaker", "shoes", 5900), ("SHOE-BOOT-01", "Leather boot", "shoes", 15900),
    ("TSHIRT-BASIC", "Basic T-shirt", "apparel", 1900), ("HOODIE-01", "Organic hoodie", "apparel", 5900),
    ("JACKET-RAIN", "Rain jacket", "apparel", 12900), ("JEANS-SLIM", "Slim jeans", "apparel", 7900),
    ("SOCKS-3PK", "Socks, 3 pairs", "accessories", 1200), ("CAP-01", "Cap", "accessories", 2400),
    ("BAG-TOTE", "Tote bag", "accessories", 2900), ("BELT-01", "Leather belt", "accessories", 3900),
    ("TENT-2P", "Two-person tent", "outdoor", 24900), ("BOTTLE-750", "Steel bottle", "outdoor", 2200),
    ("LAMP-HEAD", "Head lamp", "outdoor", 3400), ("MAT-YOGA", "Yoga mat", "sport", 3900),
    ("BALL-FOOT", "Football", "sport", 2500), ("CREAM-FACE", "Face cream", "beauty", 2800),
    ("SOAP-BAR", "Olive soap", "beauty", 600), ("GIFT-25", "Gift card 25", "gift_cards", 2500),
)
TAG_CHANCES = (("newsletter", 0.30), ("vip", 0.04), ("student", 0.05), ("wholesale", 0.02), ("influencer", 0.01))
ORDER_COUNT_WEIGHTS = ((0, 35), (1, 25), (2, 15), (3, 10), (4, 6), (5, 4), (6, 2), (8, 2), (12, 1))


@dataclass
class DemoOrder:
    created_at: datetime
    status: str
    items: list[tuple[str, str, str, int, int]]  # sku, name, category, quantity, unit price
    id: int = 0  # given when the chunk is written

    @property
    def amount(self) -> int:
        return sum(quantity * price for _sku, _name, _category, quantity, price in self.items)


@dataclass
class DemoCustomer:
    id: int
    number: int
    fields: dict
    tags: list[str] = field(default_factory=list)
    consents: list[tuple[str, bool, datetime]] = field(default_factory=list)  # channel, granted, recorded_at
    orders: list[DemoOrder] = field(default_factory=list)


@functools.lru_cache(maxsize=4096)  # names come from small pools
def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.replace("ß", "ss").replace("ł", "l").replace("Ł", "L"))
    return "".join(char for char in folded if char.isascii() and char.isalnum())


def _birthday(rng: random.Random) -> date:
    # Month and day uniform over 366 days, so 29 February appears as often as in life.
    day_of_leap_year = date(2000, 1, 1) + timedelta(days=rng.randrange(366))
    year = rng.randrange(1950, 2007)
    if day_of_leap_year.month == 2 and day_of_leap_year.day == 29:
        year -= year % 4  # a leap year (2000 included; 1900 is not in range)
    return day_of_leap_year.replace(year=year)


def demo_customer(rng: random.Random, *, number: int, customer_id: int, now: datetime) -> DemoCustomer:
    """One customer with tags, consent records and orders; derived order fields match its paid orders."""
    country, _weight, locales, zones, language, phone_prefix = rng.choices(COUNTRIES, cum_weights=COUNTRY_CUM)[0]
    first_names, last_names = NAME_POOLS[language]
    first_name = rng.choice(first_names)
    last_name = rng.choice(last_names).replace("_", " ")
    email = f"{_ascii(first_name)}.{_ascii(last_name)}.{number}@{rng.choice(EMAIL_DOMAINS)}".lower()
    signed_up_at = now - timedelta(seconds=rng.randrange(3 * 365 * 86400))
    birthday = _birthday(rng) if rng.random() < 0.9 else None
    customer = DemoCustomer(id=customer_id, number=number, fields={
        "source_id": f"{SOURCE_PREFIX}{number:08d}",
        "email": email,
        "first_name": first_name,
        "last_name": last_name,
        "phone": f"{phone_prefix} {rng.randrange(100, 999)} {rng.randrange(1000000, 9999999)}"
        if rng.random() < 0.6 else "",
        "birthday": birthday,
        "birthday_month": birthday.month if birthday else None,
        "birthday_day": birthday.day if birthday else None,
        "country": country,
        "locale": rng.choice(locales),
        "timezone": rng.choice(zones),
        "signed_up_at": signed_up_at,
    })
    customer.tags = [name for name, chance in TAG_CHANCES if rng.random() < chance]

    consent_at = min(now, signed_up_at + timedelta(minutes=rng.randrange(1, 60)))
    if rng.random() < 0.85:
        granted = rng.random() < 0.88
        customer.consents.append((ConsentChannel.EMAIL_MARKETING, granted, consent_at))
        if granted and rng.random() < 0.05:  # some unsubscribe later
            withdrawn_at = min(now, consent_at + timedelta(days=rng.randrange(1, 300)))
            customer.consents.append((ConsentChannel.EMAIL_MARKETING, False, withdrawn_at))
    if rng.random() < 0.35:
        customer.consents.append((ConsentChannel.SMS_MARKETING, rng.random() < 0.75, consent_at))

    orders_from = max(signed_up_at, now - timedelta(days=730))
    window = int((now - orders_from).total_seconds())
    count = rng.choices(ORDER_COUNTS, cum_weights=ORDER_CUM)[0] if window > 3600 else 0
    for created_at in sorted(orders_from + timedelta(seconds=rng.randrange(window)) for _ in range(count)):
        roll = rng.random()
        status = OrderStatus.PAID if roll < 0.93 else OrderStatus.REFUNDED if roll < 0.99 else OrderStatus.CANCELLED
        items = []
        for sku, name, category, price in rng.sample(CATALOGUE, rng.choice((1, 1, 1, 2, 2, 3))):
            items.append((sku, name, category, rng.choice((1, 1, 1, 1, 2, 3)), price))
        customer.orders.append(DemoOrder(created_at=created_at, status=status, items=items))
    customer.fields.update(derived_order_fields(customer.orders))
    if customer.fields["orders_count"] >= 3 and rng.random() < 0.5:
        customer.tags.append("returning")
    for channel, column in Customer.CONSENT_FIELDS.items():
        latest = [granted for recorded_channel, granted, _at in customer.consents if recorded_channel == channel]
        customer.fields[column] = bool(latest) and latest[-1]
    return customer


COUNTRY_WEIGHTS = [country[1] for country in COUNTRIES]
ORDER_COUNTS = [count for count, _weight in ORDER_COUNT_WEIGHTS]
ORDER_WEIGHTS = [weight for _count, weight in ORDER_COUNT_WEIGHTS]
# random.choices would add the weights up on every call; the same draws, computed once.
COUNTRY_CUM = list(itertools.accumulate(COUNTRY_WEIGHTS))
ORDER_CUM = list(itertools.accumulate(ORDER_WEIGHTS))


def derived_order_fields(orders: list[DemoOrder]) -> dict:
    """The Customer counters as the order services keep them: over paid orders only."""
    paid = [order for order in orders if order.status == OrderStatus.PAID]
    return {
        "orders_count": len(paid),
        "total_spent": sum(order.amount for order in paid),
        "first_order_at": min((order.created_at for order in paid), default=None),
        "last_order_at": max((order.created_at for order in paid), default=None),
    }


class _BulkWriter:
    """COPY on PostgreSQL (≈5x faster than INSERT for millions of rows), bulk_create elsewhere."""

    def __init__(self):
        self.copy = connection.vendor == "postgresql"
        self.next_ids: dict[str, int] = {}
        self.written = 0

    def reserve_ids(self, model, count: int) -> list[int]:
        if not count:
            return []
        table = model._meta.db_table
        with connection.cursor() as cursor:
            if self.copy:
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, count],
                )
                return [row[0] for row in cursor.fetchall()]
            # SQLite has a single writer, so the next free ids are simply above the largest.
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {connection.ops.quote_name(table)}")  # noqa: S608
            start = max(cursor.fetchone()[0] + 1, self.next_ids.get(table, 0))
            self.next_ids[table] = start + count
            return list(range(start, start + count))

    def write(self, model, columns: list[str], rows: list[tuple]) -> None:
        if not rows:
            return
        if not self.copy:
            model.objects.bulk_create([model(**dict(zip(columns, row, strict=True))) for row in rows], batch_size=1000)
            return
        names = ", ".join(connection.ops.quote_name(model._meta.get_field(name).column) for name in columns)
        with connection.cursor() as cursor, cursor.copy(
            f"COPY {connection.ops.quote_name(model._meta.db_table)} ({names}) FROM STDIN"
        ) as copy:
            for row in rows:
                copy.write_row(row)


CUSTOMER_COLUMNS = [
    "id", "source_id", "email", "first_name", "last_name", "phone", "birthday", "birthday_month", "birthday_day",
    "country", "locale", "timezone", "signed_up_at", "metadata", "email_marketing_consent", "sms_marketing_consent",
    "orders_count", "total_spent", "first_order_at", "last_order_at", "created_at", "updated_at",
]


def write_customers(writer: _BulkWriter, customers: list[DemoCustomer], tag_ids: dict[str, int], now: datetime):
    metadata = "{}" if writer.copy else {}
    writer.write(Customer, CUSTOMER_COLUMNS, [
        (customer.id, *(customer.fields[name] for name in CUSTOMER_COLUMNS[1:13]), metadata,
         *(customer.fields[name] for name in CUSTOMER_COLUMNS[14:20]), now, now)
        for customer in customers
    ])
    writer.write(Customer.tags.through, ["customer_id", "tag_id"], [
        (customer.id, tag_ids[name]) for customer in customers for name in customer.tags
    ])
    writer.write(ConsentRecord, ["customer_id", "channel", "granted", "source", "wording_version", "user_agent",
                                 "recorded_at"], [
        (customer.id, channel, granted, ConsentSource.IMPORT, "demo", "", recorded_at)
        for customer in customers for channel, granted, recorded_at in customer.consents
    ])
    currency = settings.RETENTION["DEFAULT_CURRENCY"]
    writer.write(Order, ["id", "source_id", "customer_id", "amount", "currency", "status", "created_at",
                         "recorded_at", "updated_at"], [
        (order.id, f"demo-order-{order.id}", customer.id, order.amount, currency, order.status, order.created_at,
         order.created_at, now)
        for customer in customers for order in customer.orders
    ])
    writer.write(OrderItem, ["order_id", "sku", "name", "category", "quantity", "unit_price"], [
        (order.id, *item) for customer in customers for order in customer.orders for item in order.items
    ])


def _prepare_bulk_session(writer: _BulkWriter) -> None:
    """On PostgreSQL, a loading session: no wait for each chunk's WAL flush, and no foreign-key triggers when
    allowed (superuser): the rows are generated consistent, and the deferred checks of a chunk's 60,000
    rows cost more at COMMIT than writing them."""
    if not writer.copy:
        return
    with connection.cursor() as cursor:
        # Demo data can be re-created: not waiting for each chunk's WAL flush saves about a second a chunk.
        cursor.execute("SET synchronous_commit TO off")
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        row = cursor.fetchone()
        if row and row[0]:
            cursor.execute("SET session_replication_role TO replica")


def seed_customers(*, count: int, seed: int = 2024, now: datetime | None = None, progress=None,
                   workers: int | None = None) -> int:
    """Add `count` demo customers numbered after the last demo customer; return how many were added.

    On PostgreSQL a large count is written by `workers` processes (default: one per core), each generating
    and COPYing whole chunks over its own connection: generation is CPU-bound Python, so threads would
    share one core. Elsewhere (SQLite: one writer) one process writes while a thread generates the next chunk.
    A large load into a (nearly) empty database builds the secondary indexes once at the end
    (`defer_secondary_indexes`).
    """
    now = now or timezone.now()
    restore_deferred_indexes()  # a large load that crashed left its list of indexes behind
    # Only numbered demo customers count: other apps' demo content may use the prefix too ("demo-referred-…").
    last = (Customer.objects.filter(source_id__regex=rf"^{SOURCE_PREFIX}[0-9]{{8}}$").order_by("-source_id")
            .first())
    number = int(last.source_id.removeprefix(SOURCE_PREFIX)) + 1 if last else 1
    tag_names = [name for name, _chance in TAG_CHANCES] + ["returning"]
    Tag.objects.bulk_create([Tag(name=name) for name in tag_names], ignore_conflicts=True)
    tag_ids = dict(Tag.objects.filter(name__in=tag_names).values_list("name", "id"))
    workers = workers or os.cpu_count() or 1
    # Other processes cannot see an open transaction's rows (a caller's atomic block, a test's): stay in it.
    outside_transaction = connection.vendor == "postgresql" and not connection.in_atomic_block
    deferred = (outside_transaction and count >= DEFER_INDEXES_FROM
                and count >= 4 * Customer.objects.count() and defer_secondary_indexes())
    try:
        if outside_transaction and workers > 1 and count > CHUNK_SIZE:
            return _seed_in_processes(count=count, first_number=number, seed=seed, tag_ids=tag_ids, now=now,
                                      progress=progress, workers=workers)
        writer = _BulkWriter()
        _prepare_bulk_session(writer)
        try:
            return _seed_in_this_process(writer, count=count, number=number, seed=seed, tag_ids=tag_ids, now=now,
                                         progress=progress)
        finally:
            if writer.copy:
                with connection.cursor() as cursor:
                    cursor.execute("RESET session_replication_role")
    finally:
        if deferred:
            restore_deferred_indexes()


# Building an index once over a million rows is several times cheaper than keeping it up to date row by row.
DEFER_INDEXES_FROM = 100_000
DEFERRED_INDEX_MODELS = (Customer, Customer.tags.through, ConsentRecord, Order, OrderItem)


def _deferred_indexes_file():
    return settings.VAR_DIR / "seed_demo-deferred-indexes.sql"


def defer_secondary_indexes() -> bool:
    """Drop the non-unique indexes of the tables seed_demo fills, after writing how to build them again to
    var/ (so a crashed load is repaired by the next run, restore_deferred_indexes). Unique indexes and
    constraints stay: they guard the data. Returns whether any was dropped."""
    tables = [model._meta.db_table for model in DEFERRED_INDEX_MODELS]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = ANY(%s)"
            " AND indexdef NOT LIKE 'CREATE UNIQUE %%'"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = indexname)", [tables],
        )
        indexes = cursor.fetchall()
        if not indexes:
            return False
        path = _deferred_indexes_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(definition.replace("CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ", 1) + ";\n"
                                for _name, definition in indexes))
        for name, _definition in indexes:
            cursor.execute(f"DROP INDEX IF EXISTS {connection.ops.quote_name(name)}")
    return True


def restore_deferred_indexes() -> int:
    """Build the indexes defer_secondary_indexes dropped (idempotent); return how many statements ran."""
    path = _deferred_indexes_file()
    if connection.vendor != "postgresql" or not path.exists():
        return 0
    statements = [line for line in path.read_text().splitlines() if line.strip()]
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem TO '256MB'")
        for statement in statements:
            cursor.execute(statement)
        for model in DEFERRED_INDEX_MODELS:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
        cursor.execute("RESET maintenance_work_mem")
    path.unlink()
    return len(statements)


def _seed_in_this_process(writer: _BulkWriter, *, count: int, number: int, seed: int, tag_ids: dict[str, int],
                          now: datetime, progress) -> int:
    added = 0
    # The next chunk is generated in a thread while this one is written: COPY waits on PostgreSQL
    # without holding the GIL, so generation and index upkeep overlap.
    with ThreadPoolExecutor(max_workers=1) as generator:
        pending = None
        while added < count or pending:
            upcoming = None
            if added < count:
                size = min(CHUNK_SIZE, count - added)
                customer_ids = writer.reserve_ids(Customer, size)  # the database is touched by this thread only
                upcoming = generator.submit(generate_chunk, seed=seed, first_number=number,
                                            customer_ids=customer_ids, now=now)
                number += size
                added += size
            if pending:
                written = _write_chunk(writer, pending.result(), tag_ids, now)
                if progress:
                    progress(written)
            pending = upcoming
    return added


def _seed_in_processes(*, count: int, first_number: int, seed: int, tag_ids: dict[str, int], now: datetime,
                       progress, workers: int) -> int:
    chunks = []
    while sum(size for _first, size in chunks) < count:
        size = min(CHUNK_SIZE, count - sum(size for _first, size in chunks))
        chunks.append((first_number, size))
        first_number += size
    # A forked child must not share the parent's socket: close it here, each child opens its own.
    connections.close_all()
    context = multiprocessing.get_context("fork")
    written = 0
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = [pool.submit(_seed_chunk_in_child, seed=seed, first_number=first, size=size, tag_ids=tag_ids,
                               now=now) for first, size in chunks]
        # A chunk is committed on its own: an interrupted run leaves whole chunks, and the next run tops up.
        for future in as_completed(futures):
            written += future.result()
            if progress:
                progress(written)
    return written


def _seed_chunk_in_child(*, seed: int, first_number: int, size: int, tag_ids: dict[str, int], now: datetime) -> int:
    writer = _BULK_WRITER_OF_THIS_PROCESS.get(os.getpid())
    if writer is None:
        writer = _BULK_WRITER_OF_THIS_PROCESS[os.getpid()] = _BulkWriter()
        _prepare_bulk_session(writer)
    customers = generate_chunk(seed=seed, first_number=first_number,
                               customer_ids=writer.reserve_ids(Customer, size), now=now)
    _write_chunk(writer, customers, tag_ids, now)
    return size


_BULK_WRITER_OF_THIS_PROCESS: dict[int, _BulkWriter] = {}


def generate_chunk(*, seed: int, first_number: int, customer_ids: list[int], now: datetime) -> list[DemoCustomer]:
    rng = random.Random(f"retention-demo:{seed}:{first_number}")  # per chunk: repeatable however it is resumed
    return [
        demo_customer(rng, number=first_number + offset, customer_id=customer_id, now=now)
        for offset, customer_id in enumerate(customer_ids)
    ]


def _write_chunk(writer: _BulkWriter, customers: list[DemoCustomer], tag_ids: dict[str, int], now: datetime) -> int:
    """Write one generated chunk in one transaction; return the number of customers written so far."""
    # Orders get their ids up front so that their items go in the same bulk pass.
    orders = [order for customer in customers for order in customer.orders]
    for order, order_id in zip(orders, writer.reserve_ids(Order, len(orders)), strict=True):
        order.id = order_id
    with transaction.atomic():
        write_customers(writer, customers, tag_ids, now)
    writer.written += len(customers)
    return writer.written


def ensure_demo_users(logins_file) -> tuple[list[str], bool]:
    """Create the missing demo users with random passwords; return (login lines, whether any was created)."""
    stored = logins_file.read_text().splitlines() if logins_file.exists() else []
    created_any = False
    lines = [line for line in stored if line.strip()]
    if not lines:
        lines = ["Demo logins (created by seed_demo; change them before real use):"]
    for username, role in DEMO_USERS:
        if User.objects.filter(username=username).exists():
            if not any(line.split()[:1] == [username] for line in lines[1:]):
                lines.append(f"{username:<10} (already existed; password not known to seed_demo)")
            continue
        password = secrets.token_urlsafe(12)
        if role == "superuser":
            User.objects.create_superuser(username=username, email=f"{username}@example.com", password=password)
        else:
            user = User.objects.create_user(username=username, email=f"{username}@example.com", password=password)
            user.groups.add(Group.objects.get_or_create(name=role)[0])
        lines = [line for line in lines if line.split()[:1] != [username]]
        lines.append(f"{username:<10} {password}   ({role})")
        created_any = True
    if created_any:
        logins_file.parent.mkdir(parents=True, exist_ok=True)
        logins_file.write_text("\n".join(lines) + "\n")
        logins_file.chmod(0o600)
    return lines, created_any


class Command(BaseCommand):
    help = "Create demo users and top the demo customers (with consents, tags and orders) up to --customers."

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=3000, help="total customers wanted (default 3000)")
        parser.add_argument("--seed", type=int, default=2024, help="random seed, for repeatable data")

    def handle(self, *args, customers: int, seed: int, **options):
        lines, _created = ensure_demo_users(settings.VAR_DIR / "demo-logins.txt")
        if restore_deferred_indexes():
            self.stdout.write("Rebuilt the indexes an interrupted large run had deferred.")
        present = Customer.objects.count()
        missing = max(0, customers - present)
        if missing:
            started = time.monotonic()

            def progress(done):
                if missing >= 100_000 and done % 100_000 < CHUNK_SIZE:
                    self.stdout.write(f"  {done:,} / {missing:,} customers ({time.monotonic() - started:.0f} s)")

            seed_customers(count=missing, seed=seed, progress=progress)
            self.stdout.write(self.style.SUCCESS(
                f"Added {missing:,} demo customers in {time.monotonic() - started:.1f} s ({customers:,} in all)."
            ))
        else:
            self.stdout.write(f"{present:,} customers already present; nothing added.")
        # Apps to the right add demo campaigns, programs... through their services (retention never imports them).
        for _receiver, line in demo_data_seeded.send(sender=self.__class__):
            if line:
                self.stdout.write(line)
        self.stdout.write("\n".join(lines))
