"""The demo referral program that seed_demo adds: through the services, back-dated, once."""

from datetime import timedelta

import pytest
from django.utils import timezone

from loyalty.tests.factories import LoyaltyProgramFactory
from referrals.demo import PROGRAM_NAME, demo_summary, seed_demo_referrals
from referrals.models import FraudSignal, Referral, ReferralCode, ReferralProgram, ReferralReward, RewardRole
from retention.models import Customer, Order

pytestmark = pytest.mark.django_db


def customers(count=50):
    Customer.objects.bulk_create([Customer(source_id=f"demo-{n:07d}", email=f"d{n}@example.com", country="DE",
                                           first_name="Anna") for n in range(count)])


def test_demo_program_with_codes_referrals_conversions_and_held_ones_is_added_once():
    # given customers and a default loyalty program
    customers()
    LoyaltyProgramFactory(name="Club", is_default=True)
    now = timezone.now()
    # when
    program = seed_demo_referrals(now=now)
    again = seed_demo_referrals(now=now)
    # then
    assert again is None and ReferralProgram.objects.filter(name=PROGRAM_NAME).count() == 1
    assert (program.is_default, program.friend_campaign.slug) == (True, "demo-referral-welcome")
    assert [tier.reward_type for tier in program.tiers.all()] == ["points", "code", "points"]
    assert ReferralCode.objects.filter(program=program).count() == 40
    referrals = Referral.objects.filter(program=program)
    assert 110 <= referrals.count() <= 120
    assert referrals.filter(registered_at__lt=now - timedelta(days=50)).exists()
    assert referrals.filter(status="rewarded").count() > 30
    assert referrals.filter(status="cancelled").exists()
    held = referrals.filter(status="held", needs_review=True)
    assert held.count() == 2
    assert set(FraudSignal.objects.filter(referral__in=held).values_list("kind", flat=True)) == {
        "same_device", "same_ip"}
    assert ReferralReward.objects.filter(program=program, role=RewardRole.REFERRER, type="points").exists()
    assert Order.objects.filter(source_id__startswith="demo-referral-order-",
                                created_at__lt=now - timedelta(days=40)).exists()
    assert demo_summary(program).startswith("Added the demo referral program with 40 codes")


def test_without_a_loyalty_program_the_referrer_gets_codes_only():
    customers(45)
    program = seed_demo_referrals()
    assert [tier.reward_type for tier in program.tiers.all()] == ["code"]
    assert not ReferralReward.objects.filter(program=program, type="points").exists()
    assert ReferralReward.objects.filter(program=program, role=RewardRole.REFERRER, type="code").exists()


def test_no_customers_no_demo_program():
    assert seed_demo_referrals() is None
    assert not ReferralProgram.objects.exists()


def test_seed_demo_command_adds_the_demo_program(tmp_path, settings, capsys):
    from django.core.management import call_command

    settings.VAR_DIR = tmp_path
    call_command("seed_demo", customers=60)
    assert "demo referral program" in capsys.readouterr().out
    assert ReferralProgram.objects.filter(name=PROGRAM_NAME).exists()
