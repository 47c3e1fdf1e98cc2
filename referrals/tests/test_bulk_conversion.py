"""convert_for_orders (many orders in one transaction) converts, holds, rewards and refuses exactly what
convert_for_order does order after order, in a fixed number of statements (loyalty's ledger too)."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns.models import Code
from campaigns.tests.factories import CampaignFactory
from loyalty.models import LedgerEntry, LoyaltyAccount
from loyalty.tests.factories import LoyaltyProgramFactory
from referrals.models import QueuedConversion, Referral, ReferralProgram, ReferralReward, RewardRole
from referrals.services.conversions import (
    SCHEDULED_KEY,
    convert_for_order,
    convert_for_orders,
    convert_queued_orders,
)
from referrals.services.referrals import register_referral
from referrals.tests.factories import ReferralCodeFactory, ReferralProgramFactory, ReferralTierFactory
from retention.actors import Actor
from retention.messaging.models import WebhookEvent
from retention.models import AuditEntry
from retention.services.orders import record_order
from retention.tests.factories import CustomerFactory, OrderFactory

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("test")


def world(tag: str) -> tuple[list[int], list[ReferralProgram]]:
    """Two programs, their referrers, registered friends and the friends' orders (ids returned)."""
    tag = tag.upper()
    loyalty = LoyaltyProgramFactory(name=f"Club {tag}")
    main = ReferralProgramFactory(loyalty_program=loyalty, min_order_amount=2000, max_rewards_per_referrer_per_month=3)
    ReferralTierFactory(program=main, referrals=1, points=500)
    ReferralTierFactory(program=main, referrals=3, points=None, reward_type="code",
                        campaign=CampaignFactory(slug=f"thanks-{tag.lower()}", discount_type="amount", percent=None,
                                                 amount=700))
    held = ReferralProgramFactory(loyalty_program=loyalty, reward_hold_days=7)
    ReferralTierFactory(program=held, referrals=1, points=100)
    budgeted = ReferralProgramFactory(loyalty_program=loyalty, budget=150, point_value=20)  # 500 points = 100
    ReferralTierFactory(program=budgeted, referrals=1, points=500)
    anna = CustomerFactory(first_name="Anna", email=f"anna.{tag}@gmail.com")
    carl = CustomerFactory(first_name="Carl", email=f"carl@{tag}-corp.com")
    codes = {program.pk: ReferralCodeFactory(program=program, customer=anna, code=f"A{program.pk}-{tag}")
             for program in (main, held, budgeted)}
    carl_code = ReferralCodeFactory(program=main, customer=carl, code=f"CARL-{tag}")
    order_ids = []

    def friend(program, amount=5000, email=None, code=None, orders=1):
        customer = CustomerFactory(email=email or f"f{len(order_ids)}.{tag}@example.org")
        register_referral(code=(code or codes[program.pk]).code, friend=customer, actor=ACTOR)
        for _ in range(orders):
            order_ids.append(OrderFactory(customer=customer, amount=amount).pk)

    for _ in range(3):
        friend(main)  # points, points, then the tier-3 code
    friend(main, orders=2)  # the second order is not the first: one conversion; over the monthly limit (3)
    friend(main, amount=1000)  # below the minimum: stays pending
    friend(main, email=f"dana@{tag}-corp.com", code=carl_code)  # same company domain: held for review
    friend(held)  # hold period: held
    friend(budgeted)
    friend(budgeted)  # the budget has 150 for two rewards of 100: skipped
    return order_ids, [main, held, budgeted]


def outcome(programs: list[ReferralProgram], converted: list) -> dict:
    referrals = Referral.objects.filter(program__in=programs).order_by("pk")
    referral_ids = [str(pk) for pk in referrals.values_list("pk", flat=True)]
    return {
        "converted": len(converted),
        "referrals": [(r.status, r.skipped_reason, r.needs_review, r.conversion_amount,
                       r.reward_due_at is not None) for r in referrals],
        "rewards": sorted(ReferralReward.objects.filter(program__in=programs, role=RewardRole.REFERRER)
                          .values_list("type", "points", "cost", "code__source")),
        "points": LedgerEntry.objects.filter(source_type="referral", source_id__in=referral_ids).aggregate(
            total=Sum("points"))["total"],
        "balances": sorted(LoyaltyAccount.objects.filter(program=programs[0].loyalty_program)
                           .values_list("points", flat=True)),
        "budget": [ReferralProgram.objects.get(pk=program.pk).budget_spent for program in programs],
        "audits": sorted(AuditEntry.objects.filter(action="referral.converted", object_id__in=referral_ids)
                         .values_list("before", "after__status")),
        "webhooks": sorted(WebhookEvent.objects.filter(type="referral.converted", data__id__in=[
            int(pk) for pk in referral_ids]).values_list("data__status", "data__amount")),
        "codes": Code.objects.filter(campaign__slug__startswith="thanks-", note__startswith="referral ",
                                     campaign__in=[tier.campaign for tier in programs[0].tiers.all()
                                                   if tier.campaign_id]).count(),
    }


def test_a_batch_converts_and_rewards_what_one_order_at_a_time_does():
    # given: the same orders in two identical worlds
    single_orders, single_programs = world("single")
    batch_orders, batch_programs = world("batch")
    # when
    single = [referral for order_id in single_orders for referral in convert_for_order(order_id=order_id)]
    batch = convert_for_orders(order_ids=batch_orders)
    # then
    expected, got = outcome(single_programs, single), outcome(batch_programs, batch)
    assert got == expected
    statuses = [status for status, *_ in got["referrals"]]
    assert statuses.count("rewarded") == 6 and statuses.count("held") == 2 and statuses.count("pending") == 1
    assert {reason for _, reason, *_ in got["referrals"]} == {"", "limit_reached", "budget_exhausted"}
    assert got["codes"] == 1


def test_running_it_twice_converts_nothing_more():
    order_ids, programs = world("twice")
    first = convert_for_orders(order_ids=order_ids)
    assert convert_for_orders(order_ids=order_ids) == []
    assert len(first) == 8
    assert ReferralReward.objects.filter(program__in=programs, role=RewardRole.REFERRER).count() == 4


def test_an_order_converted_singly_first_is_left_alone():
    order_ids, programs = world("mixed")
    convert_for_order(order_id=order_ids[0])
    converted = convert_for_orders(order_ids=order_ids)
    assert len(converted) == 7
    assert Referral.objects.filter(program__in=programs, status="pending").count() == 1


def test_the_statements_do_not_grow_with_the_batch_not_even_the_ledger():
    def statements(count: int, tag: str) -> tuple[int, int]:
        program = ReferralProgramFactory(loyalty_program=LoyaltyProgramFactory())
        ReferralTierFactory(program=program, referrals=1, points=500)
        codes = [ReferralCodeFactory(program=program, code=f"B{n}-{tag}") for n in range(count)]
        order_ids = []
        for code in codes:
            friend = CustomerFactory()
            register_referral(code=code.code, friend=friend, actor=ACTOR)
            order_ids.append(OrderFactory(customer=friend, created_at=timezone.now() - timedelta(minutes=1)).pk)
        with CaptureQueriesContext(connection) as captured:
            assert len(convert_for_orders(order_ids=order_ids)) == count
        ledger = [query for query in captured if "loyalty_ledgerentry" in query["sql"].split(" (")[0]
                  or "loyalty_pointlot" in query["sql"].split(" (")[0]
                  or "UPDATE loyalty_loyaltyaccount" in query["sql"].replace('"', "")]
        assert LedgerEntry.objects.filter(account__program=program.loyalty_program).count() == count
        return len(captured), len(ledger)

    # The referrers' points too: loyalty's credit_many writes the entries, the lots and the balances at once.
    two, twelve = statements(2, "TWO"), statements(12, "TWELVE")
    assert two == twelve and twelve[0] <= 20 and twelve[1] == 3


@pytest.fixture
def no_collector(monkeypatch):
    """The collecting task is not run (as if its countdown had not passed yet)."""
    monkeypatch.setattr("referrals.tasks.convert_queued_orders_task.apply_async", lambda **kwargs: None)
    cache.delete(SCHEDULED_KEY)


def test_a_paid_order_is_queued_then_converted_by_the_collector(anna_code, django_capture_on_commit_callbacks,
                                                                 no_collector):
    # given
    friend = CustomerFactory(source_id="friend-q")
    register_referral(code="ANNA-7KQ2", friend=friend, actor=ACTOR)
    # when: the order is recorded, the collector not run yet
    with django_capture_on_commit_callbacks(execute=True):
        record_order(data={"source_id": "Q-1", "customer": "friend-q", "amount": 5000, "currency": "EUR",
                           "status": "paid", "items": [], "created_at": timezone.now()}, actor=ACTOR)
    # then
    assert QueuedConversion.objects.count() == 1
    assert Referral.objects.get(friend=friend).status == "pending"
    assert convert_queued_orders() == 1
    assert Referral.objects.get(friend=friend).status == "rewarded"
    assert QueuedConversion.objects.count() == 0
    assert convert_queued_orders() == 0


def test_a_queued_order_refunded_before_the_collector_converts_nothing(anna_code, django_capture_on_commit_callbacks,
                                                                       no_collector):
    friend = CustomerFactory(source_id="friend-r")
    register_referral(code="ANNA-7KQ2", friend=friend, actor=ACTOR)
    body = {"source_id": "R-1", "customer": "friend-r", "amount": 5000, "currency": "EUR", "items": [],
            "created_at": timezone.now()}
    with django_capture_on_commit_callbacks(execute=True):
        record_order(data={**body, "status": "paid"}, actor=ACTOR)
    record_order(data={**body, "status": "refunded"}, actor=ACTOR)
    assert convert_queued_orders() == 1
    assert Referral.objects.get(friend=friend).status == "pending"


def test_the_collector_is_scheduled_once_per_window(anna_code, django_capture_on_commit_callbacks, monkeypatch):
    scheduled = []
    monkeypatch.setattr("referrals.tasks.convert_queued_orders_task.apply_async",
                        lambda **kwargs: scheduled.append(kwargs))
    cache.delete(SCHEDULED_KEY)
    for number in range(3):
        friend = CustomerFactory(source_id=f"friend-w{number}")
        with django_capture_on_commit_callbacks(execute=True):
            record_order(data={"source_id": f"W-{number}", "customer": friend.source_id, "amount": 5000,
                               "currency": "EUR", "status": "paid", "items": [], "created_at": timezone.now()},
                         actor=ACTOR)
    assert len(scheduled) == 1
    assert QueuedConversion.objects.count() == 3


def test_a_minutely_beat_job_collects_orders_left_queued():
    from django_celery_beat.models import PeriodicTask

    job = PeriodicTask.objects.get(name="Referrals: convert queued orders")
    assert (job.task, job.interval.every, job.interval.period, job.enabled) == (
        "referrals.convert_queued_orders", 1, "minutes", True)
