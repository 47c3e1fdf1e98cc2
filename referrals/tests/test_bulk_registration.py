"""register_referrals (many sign-ups in one transaction) decides and writes exactly what the same sign-ups
through register_referral one by one would, in a fixed number of statements."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns.models import Campaign, Code, CodeSource
from campaigns.tests.factories import CampaignFactory
from referrals.errors import ReferralError
from referrals.models import FraudSignal, Referral, ReferralReward
from referrals.services.referrals import register_referral, register_referrals
from referrals.tests.factories import ReferralCodeFactory, ReferralProgramFactory
from retention.actors import Actor
from retention.messaging.models import WebhookEvent
from retention.models import AuditEntry
from retention.tests.factories import CustomerFactory, OrderFactory

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("test")


def world(tag: str):
    """A program with a welcome campaign, two referrers' codes and friends; the sign-ups to register."""
    tag = tag.upper()
    campaign = CampaignFactory(slug=f"welcome-{tag.lower()}", discount_type="amount", percent=None, amount=1000)
    program = ReferralProgramFactory(friend_campaign=campaign, max_rewards_per_referrer_per_month=5)
    anna = CustomerFactory(first_name="Anna", email=f"anna.{tag}@gmail.com")
    carl = CustomerFactory(first_name="Carl", email=f"carl@{tag}-corp.com")
    ReferralCodeFactory(program=program, customer=anna, code=f"ANNA-{tag}")
    ReferralCodeFactory(program=program, customer=carl, code=f"CARL-{tag}")
    friends = [CustomerFactory(email=f"friend{n}.{tag}@example.org") for n in range(9)]
    OrderFactory(customer=friends[1])  # ordered before: not new
    earlier = CustomerFactory(email=f"earlier.{tag}@example.org")
    register_referral(code=f"ANNA-{tag}", friend=friends[2], actor=ACTOR)  # already referred
    colleague = CustomerFactory(email=f"dana@{tag}-corp.com")
    entries = [
        {"code": f"anna-{tag.lower()}", "friend": friends[0], "device_id": "dev-1", "ip_address": "10.0.0.1"},
        {"code": f"ANNA-{tag}", "friend": friends[1]},
        {"code": f"ANNA-{tag}", "friend": friends[2]},
        {"code": "NOPE-0000", "friend": friends[3]},
        {"code": f"ANNA-{tag}", "friend": CustomerFactory(email=f"anna.{tag}+x@gmail.com")},  # self-referral
        {"code": f"ANNA-{tag}", "friend": friends[4], "device_id": "dev-1"},  # same device as an earlier entry
        {"code": f"ANNA-{tag}", "friend": friends[5], "ip_address": "10.0.0.1"},  # same IP
        {"code": f"ANNA-{tag}", "friend": friends[6]},
        {"code": f"ANNA-{tag}", "friend": friends[7]},  # the 5th on the code within the hour: a burst
        {"code": f"ANNA-{tag}", "friend": friends[6]},  # twice in one batch: already referred
        {"code": f"CARL-{tag}", "friend": colleague},  # same company domain
        {"code": f"CARL-{tag}", "friend": earlier},
    ]
    return program, campaign, entries


def outcome(program, campaign, results) -> dict:
    """What happened, in a form that does not depend on ids, tags or the way it was registered."""
    referrals = Referral.objects.filter(program=program)
    return {
        "results": [result.code if isinstance(result, ReferralError) else "ok" for result in results],
        "referrals": referrals.count(),
        "review": sorted(referrals.values_list("needs_review", flat=True)),
        "signals": sorted(FraudSignal.objects.filter(referral__program=program).values_list("kind", flat=True)),
        "codes": sorted(Code.objects.filter(campaign=campaign).values_list("source", "max_uses", "note")
                        .filter(note__startswith="referral ").values_list("source", flat=True)),
        "codes_issued": Campaign.objects.get(pk=campaign.pk).codes_issued,
        "rewards": sorted(ReferralReward.objects.filter(program=program).values_list("role", "type", "cost")),
        "audits": AuditEntry.objects.filter(action="referral.registered", object_id__in=[
            str(pk) for pk in referrals.values_list("pk", flat=True)]).count(),
        "code_audits": AuditEntry.objects.filter(action="code.issued", object_id__in=[
            str(pk) for pk in Code.objects.filter(campaign=campaign).values_list("pk", flat=True)]).count(),
        "webhooks": WebhookEvent.objects.filter(type="code.issued", data__campaign=campaign.slug).count(),
    }


def one_by_one(entries: list) -> list:
    results = []
    for entry in entries:
        try:
            results.append(register_referral(actor=ACTOR, **entry))
        except ReferralError as refusal:
            results.append(refusal)
    return results


def test_a_batch_decides_and_writes_what_one_by_one_registration_does():
    # given: the same sign-ups in two identical worlds
    single_program, single_campaign, single_entries = world("single")
    batch_program, batch_campaign, batch_entries = world("batch")
    # when
    single = outcome(single_program, single_campaign, one_by_one(single_entries))
    batch = outcome(batch_program, batch_campaign, register_referrals(entries=batch_entries, actor=ACTOR))
    # then
    assert batch == single
    assert batch["results"] == ["ok", "not_new_customer", "already_referred", "unknown_code", "self_referral",
                                "ok", "ok", "ok", "ok", "already_referred", "ok", "ok"]
    assert set(batch["signals"]) == {"same_device", "same_ip", "burst", "same_domain"}


def test_welcome_codes_carry_the_referral_and_the_friend():
    # given
    program, campaign, entries = world("codes")
    # when
    results = register_referrals(entries=entries, actor=ACTOR)
    # then
    for referral in (result for result in results if isinstance(result, Referral)):
        reward = ReferralReward.objects.get(referral=referral, role="friend")
        assert reward.code.customer_id == referral.friend_id
        assert reward.code.note == f"referral {referral.pk}"
        assert reward.code.source == CodeSource.REFERRAL
        assert reward.code.expires_at is None or reward.code.expires_at > timezone.now() - timedelta(minutes=1)


def test_a_limit_reached_or_a_spent_budget_refuses_like_one_registration():
    program, _campaign, entries = world("budget")
    program.budget, program.budget_spent = 1000, 1000
    program.save()
    results = register_referrals(entries=[entry for entry in entries if entry["code"] != "NOPE-0000"][:1],
                                 actor=ACTOR)
    assert [result.code for result in results] == ["limit_reached"]


def test_the_statements_do_not_grow_with_the_batch():
    def statements(count: int, tag: str) -> int:
        campaign = CampaignFactory(slug=f"w-{tag}", discount_type="amount", percent=None, amount=1000)
        program = ReferralProgramFactory(friend_campaign=campaign)
        code = ReferralCodeFactory(program=program, code=f"BULK-{tag.upper()}")
        entries = [{"code": code.code, "friend": CustomerFactory(), "device_id": f"d{n}", "ip_address": "10.1.1.1"}
                   for n in range(count)]
        with CaptureQueriesContext(connection) as captured:
            results = register_referrals(entries=entries, actor=ACTOR)
        assert all(isinstance(result, Referral) for result in results)
        return len(captured)

    assert statements(3, "three") == statements(40, "forty") <= 20


def test_welcome_codes_drawn_twice_or_taken_are_drawn_again(monkeypatch):
    # given: a code already taken, and draws that repeat it and each other
    from campaigns.tests.factories import CodeFactory

    campaign = CampaignFactory(slug="w-redraw", discount_type="amount", percent=None, amount=1000)
    program = ReferralProgramFactory(friend_campaign=campaign)
    code = ReferralCodeFactory(program=program, code="BULK-REDRAW")
    CodeFactory(code="TAKEN0000000", campaign=campaign)
    draws = iter(["TAKEN0000000", "SAME00000000", "SAME00000000", "FRESH0000001", "FRESH0000002"])
    monkeypatch.setattr("campaigns.services.codes.draw_code", lambda config: next(draws))
    entries = [{"code": code.code, "friend": CustomerFactory()} for _ in range(3)]
    # when
    results = register_referrals(entries=entries, actor=ACTOR)
    # then
    texts = sorted(ReferralReward.objects.filter(referral__in=results).values_list("code__code", flat=True))
    assert texts == ["FRESH0000001", "FRESH0000002", "SAME00000000"]
    assert Campaign.objects.get(pk=campaign.pk).codes_issued == 3
