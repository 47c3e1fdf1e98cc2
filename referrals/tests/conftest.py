import pytest

from campaigns.tests.factories import CampaignFactory
from loyalty.tests.factories import LoyaltyProgramFactory
from referrals.tests.factories import ReferralCodeFactory, ReferralProgramFactory, ReferralTierFactory
from retention.tests.factories import CustomerFactory


@pytest.fixture
def loyalty_program(db):
    return LoyaltyProgramFactory(name="Club", is_default=True)


@pytest.fixture
def program(db, loyalty_program):
    program = ReferralProgramFactory(name="Friends", is_default=True, min_order_amount=2000,
                                     friend_campaign=CampaignFactory(name="Welcome friend", slug="welcome-friend",
                                                                     discount_type="amount", percent=None,
                                                                     amount=1000))
    ReferralTierFactory(program=program, referrals=1, points=500)
    return program


@pytest.fixture
def anna(db):
    return CustomerFactory(source_id="anna", first_name="Anna", email="anna.smith@gmail.com", phone="+49 170 111")


@pytest.fixture
def anna_code(program, anna):
    return ReferralCodeFactory(program=program, customer=anna, code="ANNA-7KQ2")


@pytest.fixture
def ben(db):
    return CustomerFactory(source_id="ben", first_name="Ben", email="ben@example.org", phone="+49 170 222")
