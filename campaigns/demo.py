"""Demo campaigns for `manage.py seed_demo`, so a newcomer's first dashboard has something to show.

Everything goes through the services (codes, redemptions, audit), back-dated with their `now` argument so
that the charts of the last 30 days have a shape. Idempotent: when the first demo campaign exists, nothing
is added; a random generator with a fixed seed keeps the data the same from one machine to the next.
"""

import random
from datetime import datetime, timedelta

from django.utils import timezone

from campaigns.discounts import OrderInput
from campaigns.errors import CodeRejected
from campaigns.models import Campaign, CodeSource
from campaigns.services.campaigns import create_campaign
from campaigns.services.codes import issue_code
from campaigns.services.redemptions import redeem_code
from retention.actors import Actor
from retention.models import Customer

MARKER_SLUG = "demo-spring-sale"
ACTOR = Actor.system("seed_demo")


def _at(rng: random.Random, now: datetime, days_back: int) -> datetime:
    """A moment on a day `days_back` ago, in shop hours, never in the future."""
    moment = now - timedelta(days=days_back, hours=rng.randint(0, 9), minutes=rng.randint(0, 59))
    return min(moment, now)


def _redeem(code: str, customer: Customer, *, rng: random.Random, when: datetime, order_number: int) -> bool:
    order = OrderInput(amount=rng.choice([3900, 5400, 6900, 8900, 12900, 15900]), currency="EUR",
                       source_id=f"demo-order-{order_number}")
    try:
        redeem_code(code=code, customer_source_id=customer.source_id, order=order, actor=ACTOR, now=when)
    except CodeRejected:
        return False  # a rule said no (a cap, the budget): a demo does not need every attempt to pass
    return True


def seed_demo_campaigns(*, now: datetime | None = None, seed: int = 7) -> list[Campaign]:
    """Create the demo campaigns with some codes and redemptions; return them ([] when already there)."""
    if Campaign.objects.filter(slug=MARKER_SLUG).exists():
        return []
    now = now or timezone.now()
    rng = random.Random(seed)
    customers = list(Customer.objects.filter(erased_at__isnull=True).order_by("pk")[:600])
    if not customers:
        return []

    spring = create_campaign(data={
        "name": "Spring sale 15%", "slug": MARKER_SLUG, "type": "public", "public_code": "SPRING15",
        "discount": {"type": "percent", "percent": 15, "max_amount": 2500},
        "rules": {"currency": "EUR", "min_order_amount": 3000, "max_redemptions": 5000, "budget": 600000},
        "starts_at": (now - timedelta(days=45)).isoformat(), "ends_at": (now + timedelta(days=20)).isoformat(),
        "tags": ["seasonal"],
    }, actor=ACTOR)
    second_order = create_campaign(data={
        "name": "Second order: 10 EUR off", "type": "unique",
        "discount": {"type": "amount", "amount": 1000},
        "rules": {"currency": "EUR", "assigned_only": True, "min_order_amount": 4000,
                  "max_redemptions_per_customer": 1},
        "starts_at": (now - timedelta(days=40)).isoformat(), "code_valid_days": 30, "tags": ["lifecycle"],
    }, actor=ACTOR)
    sorry = create_campaign(data={
        "name": "Support: sorry codes", "type": "unique", "discount": {"type": "amount", "amount": 1000},
        "code_config": {"pattern": "SORRY-####-????"}, "weak_codes_confirmed": True,
        "rules": {"currency": "EUR", "assigned_only": True},
        "is_support": True, "support_amount_options": [500, 1000, 2000], "code_valid_days": 60,
        "tags": ["support"],
    }, actor=ACTOR)
    black_friday = create_campaign(data={
        "name": "Black Friday 25%", "type": "public", "public_code": "BLACKFRIDAY25",
        "discount": {"type": "percent", "percent": 25, "max_amount": 5000},
        "rules": {"currency": "EUR", "min_order_amount": 5000, "max_redemptions": 2000, "budget": 2500000},
        "starts_at": (now + timedelta(days=4)).isoformat(), "ends_at": (now + timedelta(days=8)).isoformat(),
        "tags": ["seasonal"],
    }, actor=ACTOR)
    birthday = create_campaign(data={
        "name": "Birthday treat 20%", "type": "unique",
        "discount": {"type": "percent", "percent": 20, "max_amount": 3000},
        "rules": {"currency": "EUR", "assigned_only": True}, "code_valid_days": 14,
        "trigger": {"type": "birthday", "days_before": 0, "send_time": "09:00"}, "timezone": "Europe/Berlin",
        "tags": ["lifecycle"],
    }, actor=ACTOR)

    order_number = 0
    # The public code: a busy month with a weekend rhythm.
    for days_back in range(30, -1, -1):
        weekend = (now - timedelta(days=days_back)).weekday() >= 5
        for _ in range(rng.randint(6, 12) if weekend else rng.randint(2, 7)):
            order_number += 1
            _redeem("SPRING15", rng.choice(customers), rng=rng, when=_at(rng, now, days_back),
                    order_number=order_number)
    # Unique codes handed out over five weeks; about a third come back with an order.
    for index, customer in enumerate(customers[:240]):
        issued_days_back = 35 - index * 35 // 240
        code = issue_code(campaign=second_order, customer=customer, actor=ACTOR, source=CodeSource.API,
                          now=_at(rng, now, issued_days_back))
        if rng.random() < 0.35:
            order_number += 1
            used_days_back = max(0, issued_days_back - rng.randint(1, 10))
            _redeem(code.code, customer, rng=rng, when=_at(rng, now, used_days_back), order_number=order_number)
    for customer in customers[240:246]:
        issue_code(campaign=sorry, customer=customer, actor=ACTOR, source=CodeSource.SUPPORT,
                   note="Parcel arrived late", now=_at(rng, now, rng.randint(0, 20)))
    return [spring, second_order, sorry, black_friday, birthday]


def on_demo_data_seeded(sender, **kwargs) -> str | None:
    """Receiver of retention.signals.demo_data_seeded."""
    created = seed_demo_campaigns()
    return f"Added {len(created)} demo campaigns with codes and redemptions." if created else None
