"""Real threads on PostgreSQL: the account's row lock keeps racing redemptions within the balance."""

import threading

import pytest
from django.db import connection, connections

from loyalty.errors import LoyaltyError
from loyalty.models import LedgerEntry, LoyaltyAccount, RewardRedemption
from loyalty.services.earning import earn_for_order
from loyalty.services.rewards import redeem_reward
from loyalty.tests.factories import LoyaltyProgramFactory, RewardFactory, paid_order
from retention.actors import Actor
from retention.tests.factories import CustomerFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL"),
]


def test_racing_redemptions_never_spend_more_than_the_balance():
    # given 100 points and a 30-point reward; 8 threads each try to redeem it
    program = LoyaltyProgramFactory()
    reward = RewardFactory(program=program, cost=30)
    customer = CustomerFactory()
    earn_for_order(order_id=paid_order(customer, 10000).pk)
    barrier = threading.Barrier(8)
    outcomes = []

    def redeem():
        try:
            barrier.wait()
            redeem_reward(account_or_customer=customer, reward=reward, actor=Actor.system("race"))
            outcomes.append("ok")
        except LoyaltyError as error:
            outcomes.append(error.code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=redeem) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then exactly three fit in 100 points
    assert sorted(outcomes) == ["insufficient_points"] * 5 + ["ok"] * 3
    account = LoyaltyAccount.objects.get()
    assert (account.points, RewardRedemption.objects.count()) == (10, 3)
    assert list(LedgerEntry.objects.order_by("pk").values_list("balance_after", flat=True)) == [100, 70, 40, 10]


def test_database_refuses_update_and_delete_of_entries():
    from django.db import DatabaseError, transaction

    LoyaltyProgramFactory()
    earn_for_order(order_id=paid_order(CustomerFactory(), 1000).pk)
    table = LedgerEntry._meta.db_table
    for statement in (f"UPDATE {table} SET points = 99", f"DELETE FROM {table}"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    assert list(LedgerEntry.objects.values_list("points", flat=True)) == [10]
