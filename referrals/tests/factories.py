"""factory-boy factories of referrals. Counters start at zero; services move them."""

import factory
from django.utils import timezone

from referrals.models import ReferralCode, ReferralProgram, ReferralTier, RewardType
from retention.tests.factories import CustomerFactory


class ReferralProgramFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ReferralProgram

    name = factory.Sequence(lambda n: f"Referral program {n}")
    link_template = "https://shop.example/?ref={code}"
    is_enabled = True
    within_days = 30
    return_window_days = 14


class ReferralTierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ReferralTier

    program = factory.SubFactory(ReferralProgramFactory)
    referrals = 1
    reward_type = RewardType.POINTS
    points = 500


class ReferralCodeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ReferralCode

    program = factory.SubFactory(ReferralProgramFactory)
    customer = factory.SubFactory(CustomerFactory)
    code = factory.Sequence(lambda n: f"ANNA-{n:04d}")
    created_at = factory.LazyFunction(timezone.now)
