"""The demo loyalty program that seed_demo adds: tiers, event rules, rewards, a milestone, points, once.

Everything goes through the services: create_program (audited), campaigns' create_campaign for the code
reward, earn_for_orders (the set-based batch) for the demo customers' paid orders of the last year,
back-dated week by week with its `now` so tiers, pending and spendable points have a shape; then the daily
jobs release the pending points whose window is over (and expire what is due: nothing yet). Idempotent: when the demo
program exists nothing is added.
"""

from datetime import datetime, timedelta

from django.utils import timezone

from campaigns.services.campaigns import create_campaign
from loyalty.models import LoyaltyProgram
from loyalty.services.earning import earn_for_orders
from loyalty.services.expiry import expire_points, release_pending_points
from loyalty.services.programs import create_program
from retention.actors import Actor
from retention.models import Customer, Order, OrderStatus

PROGRAM_NAME = "Demo: Loyalty club"
CAMPAIGN_SLUG = "demo-loyalty-reward"
ACTOR = Actor.system("seed_demo")
BATCH = 500  # orders per earn_for_orders transaction
# Members are the first customers only: `seed_demo --customers 1000000` makes benchmark data, and earning a
# million customers' year of orders would take longer than seeding them.
MEMBERS = 5000


def seed_demo_loyalty(*, now: datetime | None = None) -> LoyaltyProgram | None:
    """Create the demo program and earn the demo customers' paid orders; return it (None when already there)."""
    if LoyaltyProgram.objects.filter(name=PROGRAM_NAME).exists():
        return None
    now = now or timezone.now()
    create_campaign(data={
        "name": "Loyalty reward: 10 EUR off", "slug": CAMPAIGN_SLUG, "type": "unique",
        "discount": {"type": "amount", "amount": 1000},
        "rules": {"currency": "EUR", "assigned_only": True, "min_order_amount": 3000,
                  "max_redemptions_per_customer": 1},
        "code_valid_days": 90, "tags": ["loyalty"],
    }, actor=ACTOR)
    program = create_program(data={
        "name": PROGRAM_NAME, "currency": "EUR", "points_per_unit": 1, "pending_days": 14,
        "points_expire_after_days": 365, "expiry_reminder_days": 30, "signup_bonus": 50,
        # The first program becomes the default one (the portal and referrals use it); never take it over.
        "default": not LoyaltyProgram.objects.filter(is_default=True).exists(),
        "portal_promotion": "Double points on new arrivals this month, and 10 EUR off for 500 points.",
        "tiers": [
            {"name": "Bronze", "threshold": 0, "multiplier_percent": 100, "perks": "Points on every order"},
            {"name": "Silver", "threshold": 500, "multiplier_percent": 125, "perks": "25% more points, birthday gift"},
            {"name": "Gold", "threshold": 1500, "multiplier_percent": 150,
             "perks": "50% more points, free shipping, early access to sales"},
        ],
        "earning_rules": [
            {"event_type": "review_submitted", "points": 50, "once_per_property": "order_id"},
            {"event_type": "newsletter_signup", "points": 100, "max_per_month": 1},
            {"event_type": "social_share", "points": 20, "max_per_month": 3},
        ],
        "rewards": [
            {"name": "Free shipping", "cost": 150, "type": "free_shipping"},
            {"name": "10 EUR off your next order", "cost": 500, "type": "code", "campaign": CAMPAIGN_SLUG},
            {"name": "Plant a tree", "cost": 300, "type": "donation", "description": "We plant one tree for you."},
            {"name": "Early access to the summer sale", "cost": 800, "type": "experience", "min_tier": "Silver"},
            {"name": "Tote bag", "cost": 1200, "type": "product", "stock": 50},
        ],
        "milestones": [
            {"name": "10 orders", "kind": "orders", "threshold": 10, "bonus_points": 200},
        ],
    }, actor=ACTOR)
    _earn_past_orders(now)
    release_pending_points(now=now)
    expire_points(now=now)
    return program


def _earn_past_orders(now: datetime) -> None:
    """The last year's paid orders (older points would have expired), a week at a time in order, each week
    earned as of its last order."""
    members = Customer.objects.filter(erased_at__isnull=True).order_by("pk").values("pk")[:MEMBERS]
    orders = (Order.objects.filter(status=OrderStatus.PAID, customer__in=members,
                                   created_at__gt=now - timedelta(days=365), created_at__lte=now)
              .order_by("created_at", "pk").values_list("pk", "created_at"))
    week, ids, last = None, [], None
    for order_id, created_at in orders.iterator(chunk_size=2000):
        this_week = created_at.isocalendar()[:2]
        if ids and (this_week != week or len(ids) >= BATCH):
            earn_for_orders(order_ids=ids, now=last)
            ids = []
        week, last = this_week, created_at
        ids.append(order_id)
    if ids:
        earn_for_orders(order_ids=ids, now=last)


def on_demo_data_seeded(sender, **kwargs) -> str | None:
    """Receiver of retention.signals.demo_data_seeded."""
    program = seed_demo_loyalty()
    if program is None:
        return None
    members = program.accounts.count()
    return f"Added the demo loyalty program with {members} members earning points from their paid orders."
