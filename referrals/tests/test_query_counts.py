"""The queries of registering and converting a referral, pinned: the throughput target (500/s) is paid in
round trips, so a new one must be a decision, not an accident. Counts include the test's savepoint pair."""

import pytest

from referrals.services.conversions import convert_for_order
from referrals.services.referrals import register_referral
from retention.actors import Actor
from retention.tests.factories import CustomerFactory, OrderFactory

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("test")
REGISTER_QUERIES = 13  # code, the facts in one read, the row, the friend's welcome code (campaigns: 6), reward, audit
CONVERT_QUERIES = 17  # order, referrals, claim, lock, counts, tiers, points (loyalty: 5, the account made sure to
# exist before it is locked), reward, audit, webhook (2)


@pytest.fixture
def program_with_loyalty(program, loyalty_program):
    program.loyalty_program = loyalty_program
    program.save()
    return program


def converted_once(friend_email="first@example.org"):
    friend = CustomerFactory(email=friend_email)
    register_referral(code="ANNA-7KQ2", friend=friend, actor=ACTOR)
    convert_for_order(order_id=OrderFactory(customer=friend, amount=5000).pk)


def warmed_up() -> None:
    """One registration first: the hot reads are prepared once per database session (PREPARE), not per call."""
    register_referral(code="ANNA-7KQ2", friend=CustomerFactory(), actor=ACTOR)


def test_registering_a_referral(anna_code, program_with_loyalty, django_assert_num_queries):
    warmed_up()
    friend = CustomerFactory()
    with django_assert_num_queries(REGISTER_QUERIES):
        register_referral(code="ANNA-7KQ2", friend=friend, actor=ACTOR, ip_address="10.0.0.1", device_id="d-1")


def test_registering_with_a_monthly_limit_reads_it_in_the_same_query(anna_code, program_with_loyalty,
                                                                       django_assert_num_queries):
    program_with_loyalty.max_rewards_per_referrer_per_month = 3
    program_with_loyalty.save()
    warmed_up()
    friend = CustomerFactory()
    with django_assert_num_queries(REGISTER_QUERIES):
        register_referral(code="ANNA-7KQ2", friend=friend, actor=ACTOR)


def test_converting_a_referral_whose_referrer_has_a_points_account(anna_code, program_with_loyalty,
                                                                     django_assert_num_queries):
    converted_once()  # the referrer's loyalty account exists from now on, as for most conversions
    friend = CustomerFactory()
    register_referral(code="ANNA-7KQ2", friend=friend, actor=ACTOR)
    order = OrderFactory(customer=friend, amount=5000)
    with django_assert_num_queries(CONVERT_QUERIES):
        assert len(convert_for_order(order_id=order.pk)) == 1


def test_an_order_that_is_not_the_first_costs_one_query(anna_code, program_with_loyalty, django_assert_num_queries):
    friend = CustomerFactory()
    register_referral(code="ANNA-7KQ2", friend=friend, actor=ACTOR)
    OrderFactory(customer=friend, amount=5000)
    later = OrderFactory(customer=friend, amount=5000)
    with django_assert_num_queries(3):  # savepoint, the order with its "earlier order" flag, release
        assert convert_for_order(order_id=later.pk) == []
