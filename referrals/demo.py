"""The demo referral program that seed_demo adds: codes, referrals, conversions and a few held ones, once.

Everything goes through the services (campaigns' create_campaign, retention's customers and orders, the
referral services), back-dated with their `now` / `created_at` so the dashboard's last 60 days have a shape.
Idempotent: when the demo program exists nothing is added. A fixed seed keeps the data repeatable.
"""

import random
from datetime import datetime, timedelta

from django.utils import timezone

from campaigns.services.campaigns import create_campaign
from loyalty.models import LoyaltyProgram
from referrals.errors import ReferralError
from referrals.models import ReferralProgram, ReferralStatus
from referrals.services.codes import get_or_create_referral_code
from referrals.services.conversions import cancel_for_refund, convert_for_order
from referrals.services.programs import create_program
from referrals.services.referrals import register_referral
from retention.actors import Actor
from retention.models import Customer
from retention.services.customers import upsert_customer
from retention.services.orders import record_order

PROGRAM_NAME = "Demo: bring a friend"
FRIEND_SLUG = "demo-referral-welcome"
THANKS_SLUG = "demo-referral-thanks"
ACTOR = Actor.system("seed_demo")
REFERRERS = 40
REFERRALS = 120
DAYS = 60
FIRST_NAMES = ("Mia", "Noah", "Lina", "Elias", "Emma", "Ben", "Clara", "Paul", "Ida", "Leon", "Nora", "Finn", "Ella",
               "Jonas", "Lea", "Tom", "Maja", "Luis", "Greta", "Karl")
LAST_NAMES = ("Berg", "Vogel", "Brandt", "Kraus", "Lang", "Frank", "Busch", "Roth", "Kuhn", "Sauer", "Haas", "Engel",
              "Jung", "Peters", "Sommer", "Stein")


def seed_demo_referrals(*, now: datetime | None = None, seed: int = 11) -> ReferralProgram | None:
    """Create the demo program with codes, referrals and conversions; return it (None when already there
    or when there are no customers to refer)."""
    if ReferralProgram.objects.filter(name=PROGRAM_NAME).exists():
        return None
    now = now or timezone.now()
    rng = random.Random(seed)
    referrers = list(Customer.objects.filter(erased_at__isnull=True).order_by("pk")[:REFERRERS])
    if not referrers:
        return None
    program = _program(now)
    start = now - timedelta(days=DAYS)
    codes = [get_or_create_referral_code(program=program, customer=customer, actor=ACTOR,
                                         now=start - timedelta(days=1)) for customer in referrers]
    # A few popular referrers bring most friends, as in real programs.
    weights = [8 if index < 5 else 3 if index < 15 else 1 for index in range(len(codes))]
    for number in range(1, REFERRALS + 1):
        registered = start + timedelta(days=DAYS * (number - 1) / REFERRALS, minutes=rng.randint(0, 600))
        code = rng.choices(codes, weights=weights)[0]
        friend = _friend(number, rng, registered)
        # Two friends of the first codes share a device and an IP: the second one is held for review.
        shared = number in (10, 11, 30, 31)
        try:
            register_referral(
                code=codes[0 if number < 20 else 1].code if shared else code.code, friend=friend, actor=ACTOR,
                device_id=f"demo-tablet-{number // 20}" if shared else "",
                ip_address=f"198.51.100.{number // 20}" if shared else None, now=registered)
        except ReferralError:
            continue  # a limit said no: a demo does not need every sign-up to pass
        if not shared and rng.random() > 0.6:
            continue  # not converted (yet)
        ordered = min(registered + timedelta(days=rng.randint(1, 12), hours=rng.randint(0, 8)), now)
        order, _created = record_order(data={
            "source_id": f"demo-referral-order-{number}", "customer": friend.source_id, "currency": "EUR",
            "amount": rng.choice([2900, 3900, 5400, 6900, 8900, 12900]), "status": "paid", "created_at": ordered,
        }, actor=ACTOR)
        convert_for_order(order_id=order.pk, now=ordered)
        if number % 25 == 7 and (now - ordered).days > 3:  # a refund inside the return window
            record_order(data={"source_id": order.source_id, "customer": friend.source_id, "currency": "EUR",
                               "amount": order.amount, "status": "refunded"}, actor=ACTOR)
            cancel_for_refund(order_id=order.pk, now=ordered + timedelta(days=3))
    return program


def _program(now: datetime) -> ReferralProgram:
    starts_at = (now - timedelta(days=DAYS + 10)).isoformat()
    welcome = create_campaign(data={
        "name": "Referral: 10 EUR welcome for friends", "slug": FRIEND_SLUG, "type": "unique",
        "discount": {"type": "amount", "amount": 1000}, "code_valid_days": 30, "starts_at": starts_at,
        "rules": {"currency": "EUR", "assigned_only": True, "min_order_amount": 2500,
                  "max_redemptions_per_customer": 1},
        "tags": ["referral"],
    }, actor=ACTOR)
    thanks = create_campaign(data={
        "name": "Referral: 30 EUR thank-you", "slug": THANKS_SLUG, "type": "unique",
        "discount": {"type": "amount", "amount": 3000}, "code_valid_days": 90, "starts_at": starts_at,
        "rules": {"currency": "EUR", "assigned_only": True}, "tags": ["referral"],
    }, actor=ACTOR)
    loyalty = LoyaltyProgram.objects.filter(is_default=True).first()
    if loyalty is not None:  # points need a loyalty program; without one the referrer gets codes only
        tiers = [{"referrals": 1, "reward": {"points": 500}}, {"referrals": 3, "reward": {"campaign": thanks.slug}},
                 {"referrals": 5, "reward": {"points": 1000}}]
    else:
        tiers = [{"referrals": 1, "reward": {"campaign": thanks.slug}}]
    return create_program(data={
        "name": PROGRAM_NAME, "enabled": True, "friend_campaign": welcome.slug,
        "loyalty_program": loyalty.pk if loyalty else None,
        "conversion": {"min_order_amount": 2500, "within_days": 30},
        "reward_hold_days": 0, "return_window_days": 14, "limits": {"max_rewards_per_referrer_per_month": 10},
        "tiers": tiers,
    }, actor=ACTOR)


def _friend(number: int, rng: random.Random, signed_up: datetime) -> Customer:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    customer, _created = upsert_customer(source_id=f"demo-referred-{number:04d}", data={
        "email": f"{first.lower()}.{last.lower()}.{number}@example.com", "first_name": first, "last_name": last,
        "country": "DE",
    }, actor=ACTOR, now=signed_up)
    return customer


def demo_summary(program: ReferralProgram) -> str:
    referrals = program.referrals.all()
    converted = referrals.filter(status__in=(ReferralStatus.HELD, ReferralStatus.REWARDED)).count()
    held = referrals.filter(status=ReferralStatus.HELD, needs_review=True).count()
    return (f"Added the demo referral program with {program.codes.count()} codes and {referrals.count()} "
            f"referrals ({converted} converted, {held} held for review).")


def on_demo_data_seeded(sender, **kwargs) -> str | None:
    """Receiver of retention.signals.demo_data_seeded."""
    program = seed_demo_referrals()
    return demo_summary(program) if program is not None else None
