"""Codes, registration and every refusal and fraud signal of register_referral."""

from datetime import timedelta

import pytest
from django.db import IntegrityError
from django.utils import timezone

from campaigns.models import Code
from referrals.errors import ReferralError
from referrals.models import FraudSignal, Referral, ReferralCode, ReferralReward, RewardRole
from referrals.services.codes import get_or_create_referral_code
from referrals.services.fraud import canonical_email
from referrals.services.referrals import register_referral
from referrals.tests.factories import ReferralCodeFactory
from retention.actors import Actor
from retention.models import AuditEntry
from retention.tests.factories import CustomerFactory, OrderFactory, StaticSegmentFactory

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("test")


def refusal(**kwargs) -> str:
    with pytest.raises(ReferralError) as caught:
        register_referral(actor=ACTOR, **kwargs)
    return caught.value.code


def test_first_ask_creates_a_readable_code_and_the_second_returns_it(program, anna):
    # when
    first = get_or_create_referral_code(program=program, customer=anna, actor=ACTOR)
    second = get_or_create_referral_code(program=program, customer=anna, actor=ACTOR)
    # then
    assert first.pk == second.pk
    assert first.code.startswith("ANNA-") and len(first.code) == 9
    assert AuditEntry.objects.filter(action="referral.code_created").count() == 1


def test_codes_are_unique_by_constraint(program, anna, ben):
    ReferralCodeFactory(program=program, customer=anna, code="ANNA-AAAA")
    with pytest.raises(IntegrityError):
        ReferralCodeFactory(program=program, customer=ben, code="ANNA-AAAA")


def test_only_segment_members_may_refer(program, anna, ben):
    # given
    program.segment = StaticSegmentFactory(members=[anna])
    program.save()
    # when / then
    assert get_or_create_referral_code(program=program, customer=anna, actor=ACTOR).code.startswith("ANNA-")
    with pytest.raises(ReferralError) as caught:
        get_or_create_referral_code(program=program, customer=ben, actor=ACTOR)
    assert caught.value.code == "not_eligible"
    assert not ReferralCode.objects.filter(customer=ben).exists()


def test_register_gives_the_friend_a_welcome_code(anna_code, ben):
    # when
    referral = register_referral(code="anna-7kq2", friend=ben, actor=ACTOR, ip_address="10.0.0.1")
    # then
    assert (referral.status, referral.referrer_id, referral.needs_review) == ("pending", anna_code.customer_id, False)
    reward = ReferralReward.objects.get(referral=referral)
    assert (reward.role, reward.type, reward.cost, reward.customer_id) == (RewardRole.FRIEND, "code", 1000, ben.pk)
    assert Code.objects.get(pk=reward.code_id).customer_id == ben.pk


@pytest.mark.parametrize("email", ["Anna.Smith+promo@gmail.com", "annasmith@googlemail.com", "ANNA.SMITH@GMAIL.COM"])
def test_self_referral_by_normalised_email_is_refused(anna_code, email):
    friend = CustomerFactory(email=email)
    assert refusal(code="ANNA-7KQ2", friend=friend) == "self_referral"
    assert Referral.objects.count() == 0 and AuditEntry.objects.filter(action="referral.registered").count() == 0


def test_self_referral_by_the_same_customer_or_phone_is_refused(anna_code, anna):
    assert refusal(code="ANNA-7KQ2", friend=anna) == "self_referral"
    assert refusal(code="ANNA-7KQ2", friend=CustomerFactory(phone="0049170111")) == "self_referral"


def test_canonical_email_folds_only_gmail_dots():
    assert canonical_email("A.B+x@Gmail.com") == "ab@gmail.com"
    assert canonical_email("a.b+x@company.de") == "a.b+x@company.de"


def test_unknown_code_inactive_program_not_new_and_already_referred(anna_code, program, ben):
    assert refusal(code="NOPE-1234", friend=ben) == "unknown_code"
    program.is_enabled = False
    program.save()
    assert refusal(code="ANNA-7KQ2", friend=ben) == "program_inactive"
    program.is_enabled = True
    program.save()
    OrderFactory(customer=(old := CustomerFactory()))
    assert refusal(code="ANNA-7KQ2", friend=old) == "not_new_customer"
    register_referral(code="ANNA-7KQ2", friend=ben, actor=ACTOR)
    other = ReferralCodeFactory(program=program, code="CARL-2222")
    assert refusal(code=other.code, friend=ben) == "already_referred"
    assert Referral.objects.count() == 1


def test_limit_reached_when_the_budget_is_spent(anna_code, program, ben):
    program.budget, program.budget_spent = 1000, 1000
    program.save()
    assert refusal(code="ANNA-7KQ2", friend=ben) == "limit_reached"


def test_limit_reached_when_the_referrer_had_this_months_rewards(anna_code, program, anna, ben):
    # given one rewarded referral this month and a limit of one
    program.max_rewards_per_referrer_per_month = 1
    program.save()
    first = register_referral(code="ANNA-7KQ2", friend=CustomerFactory(), actor=ACTOR)
    ReferralReward.objects.create(referral=first, program=program, customer=anna, role=RewardRole.REFERRER,
                                  type="points", points=500, created_at=timezone.now())
    # then
    assert refusal(code="ANNA-7KQ2", friend=ben) == "limit_reached"


def test_same_company_domain_is_a_signal_but_public_domains_are_not(program, ben):
    referrer = CustomerFactory(email="boss@acme.io")
    code = ReferralCodeFactory(program=program, customer=referrer, code="BOSS-1111")
    colleague = register_referral(code=code.code, friend=CustomerFactory(email="intern@acme.io"), actor=ACTOR)
    gmail_referrer = ReferralCodeFactory(program=program, customer=CustomerFactory(email="x@gmail.com"), code="X-1")
    stranger = register_referral(code=gmail_referrer.code, friend=CustomerFactory(email="y@gmail.com"), actor=ACTOR)
    assert list(colleague.fraud_signals.values_list("kind", flat=True)) == ["same_domain"]
    assert colleague.needs_review is True
    assert stranger.fraud_signals.count() == 0 and stranger.needs_review is False


def test_same_device_and_same_ip_are_signals(anna_code):
    register_referral(code="ANNA-7KQ2", friend=CustomerFactory(), actor=ACTOR, ip_address="10.0.0.9", device_id="d1")
    second = register_referral(code="ANNA-7KQ2", friend=CustomerFactory(), actor=ACTOR, ip_address="10.0.0.9",
                               device_id="d1")
    third = register_referral(code="ANNA-7KQ2", friend=CustomerFactory(), actor=ACTOR, ip_address="10.0.0.7",
                              device_id="d2")
    assert sorted(second.fraud_signals.values_list("kind", flat=True)) == ["same_device", "same_ip"]
    assert third.fraud_signals.count() == 0


def test_a_burst_of_sign_ups_on_one_code_is_a_signal(anna_code):
    now = timezone.now()
    referrals = [register_referral(code="ANNA-7KQ2", friend=CustomerFactory(), actor=ACTOR,
                                   now=now + timedelta(minutes=minute)) for minute in range(6)]
    flagged = [bool(FraudSignal.objects.filter(referral=r, kind="burst").exists()) for r in referrals]
    assert flagged == [False, False, False, False, True, True]


def test_code_job_run_twice_creates_each_code_once_and_resumes(program, anna):
    from referrals.models import CodeJob
    from referrals.services.codes import run_code_job

    # given a segment of five, one of whom already has a code
    members = [anna] + [CustomerFactory(first_name="Élodie") for _ in range(4)]
    ReferralCodeFactory(program=program, customer=anna, code="ANNA-OLD1")
    job = CodeJob.objects.create(program=program, segment=StaticSegmentFactory(members=members), total=5)
    # when it runs in batches of two, twice
    first = run_code_job(job_id=job.pk, batch_size=2)
    second = run_code_job(job_id=job.pk, batch_size=2)
    # then
    assert (first.status, first.created, second.created) == ("done", 4, 4)
    assert ReferralCode.objects.filter(program=program).count() == 5
    assert ReferralCode.objects.get(customer=anna).code == "ANNA-OLD1"
    assert all(code.startswith("ELODIE-") for code in ReferralCode.objects.exclude(customer=anna)
               .values_list("code", flat=True))
