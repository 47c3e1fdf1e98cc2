import pytest
from django.core.management import CommandError, call_command

from loyalty.models import LoyaltyAccount
from loyalty.services.earning import earn_for_order, reverse_order_points
from loyalty.services.rewards import redeem_reward
from loyalty.tests.factories import LoyaltyProgramFactory, RewardFactory, paid_order, refund
from retention.actors import Actor
from retention.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_clean_ledger_passes_even_with_a_negative_balance(capsys):
    # given earning, spending, a refund leaving -80, and pending points elsewhere
    program = LoyaltyProgramFactory()
    reward = RewardFactory(program=program, cost=80)
    customer = CustomerFactory()
    order = paid_order(customer, 10000)
    earn_for_order(order_id=order.pk)
    redeem_reward(account_or_customer=customer, reward=reward, actor=Actor.system())
    reverse_order_points(order_id=refund(order).pk)
    LoyaltyProgramFactory(pending_days=10)
    earn_for_order(order_id=paid_order(CustomerFactory(), 500).pk)
    # when
    call_command("check_loyalty_ledger")
    # then
    assert "3 loyalty accounts match their ledger." in capsys.readouterr().out


def test_drift_exits_non_zero_and_names_the_account(capsys):
    # given an account whose stored balance was changed behind the ledger's back
    LoyaltyProgramFactory()
    customer = CustomerFactory(source_id="drifter")
    earn_for_order(order_id=paid_order(customer, 1000).pk)
    LoyaltyAccount.objects.filter(customer=customer).update(points=11)
    # when / then
    with pytest.raises(CommandError, match="1 loyalty account"):
        call_command("check_loyalty_ledger")
    assert "customer drifter" in capsys.readouterr().out
