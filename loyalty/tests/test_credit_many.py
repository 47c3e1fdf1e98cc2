"""credit_many: the same entries, lots and balances as credit called one by one, in three statements."""


import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.utils import timezone

from loyalty.models import EntryKind, LedgerEntry, LoyaltyAccount, PointLot
from loyalty.services.ledger import Credit, credit, credit_many, debit
from loyalty.tests.factories import LoyaltyProgramFactory
from retention.tests.concurrency import run_together
from retention.tests.factories import CustomerFactory

ENTRY_FIELDS = ("kind", "points", "pending_points", "balance_after", "pending_after", "source_type", "source_id",
                "description", "actor_label", "created_at")
LOT_FIELDS = ("points", "remaining", "earned_at", "available_at", "expires_at", "is_pending", "is_reminded")
ACCOUNT_FIELDS = ("points", "pending_points", "lifetime_points", "tier_points", "tier_id")


def _accounts(programs, now):
    """Three accounts: one in debt (30 points spent more than earned), one plain, one in a program whose
    points do not expire."""
    in_debt, plain = (LoyaltyAccount.objects.create(program=programs[0], customer=CustomerFactory())
                      for _ in range(2))
    other = LoyaltyAccount.objects.create(program=programs[1], customer=CustomerFactory())
    credit(in_debt, kind=EntryKind.EARN, points=50, source_type="setup", source_id="1", now=now)
    debit(in_debt, kind=EntryKind.SPEND, points=80, source_type="setup", source_id="2", now=now)
    return [LoyaltyAccount.objects.select_related("program").get(pk=account.pk)
            for account in (in_debt, plain, other)]


def _plan(accounts):
    """(account index, kind, points, source id, description, actor): one account credited three times, the
    debt paid by the first two, an adjustment (not earned: lifetime unchanged), a long description."""
    return [(0, EntryKind.EARN, 20, "r1", "Referral of Ben", "system:referrals"),
            (1, EntryKind.EARN, 500, "r2", "Referral of Cleo", "system:referrals"),
            (0, EntryKind.EARN, 50, "r3", "x" * 300, ""),
            (2, EntryKind.ADJUST, 70, "a1", "Goodwill", "marketer@example.com"),
            (0, EntryKind.EARN, 5, "r4", "", "system:referrals")]


def _written(accounts):
    entries = [list(LedgerEntry.objects.filter(account=account).exclude(source_type="setup").order_by("pk")
                    .values_list(*ENTRY_FIELDS)) for account in accounts]
    lots = [list(PointLot.objects.filter(account=account).order_by("pk").values_list(*LOT_FIELDS))
            for account in accounts]
    stored = [LoyaltyAccount.objects.filter(pk=account.pk).values_list(*ACCOUNT_FIELDS).get() for account in accounts]
    in_memory = [tuple(getattr(account, field) for field in ACCOUNT_FIELDS) for account in accounts]
    return entries, lots, stored, in_memory


@pytest.mark.django_db
def test_credit_many_writes_what_credit_one_by_one_writes(django_assert_num_queries):
    # given two identical sets of accounts (debt, plain, another program without expiry) and one plan of credits
    now = timezone.now()
    programs = [LoyaltyProgramFactory(points_expire_after_days=365), LoyaltyProgramFactory()]
    one_by_one, batched = _accounts(programs, now), _accounts(programs, now)
    plan = _plan(one_by_one)
    # when the first set is credited one call at a time and the second with one credit_many
    singles = [credit(one_by_one[index], kind=kind, points=points, source_type="referral", source_id=source_id,
                      now=now, description=description, actor_label=actor)
               for index, kind, points, source_id, description, actor in plan]
    with django_assert_num_queries(3):  # the entries, the lots, the balances
        entries = credit_many([Credit(batched[index], kind, points, "referral", source_id, description, actor)
                               for index, kind, points, source_id, description, actor in plan], now=now)
    # then the same entries, lots and balances (stored and in memory), entries returned with their ids
    assert _written(batched) == _written(one_by_one)
    assert [entry.pk for entry in entries] == list(
        LedgerEntry.objects.filter(source_type="referral", account__in=batched).order_by("pk")
        .values_list("pk", flat=True))
    assert [(entry.points, entry.balance_after) for entry in entries] == [
        (entry.points, entry.balance_after) for entry in singles]
    assert batched[0].points == 45 and batched[0].lifetime_points == 125
    call_command("check_loyalty_ledger")


@pytest.mark.django_db
def test_credit_many_with_nothing_writes_nothing(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert credit_many([], now=timezone.now()) == []


@pytest.mark.django_db
def test_two_objects_of_one_account_both_end_with_its_balances():
    # given one account loaded twice
    program = LoyaltyProgramFactory()
    account = LoyaltyAccount.objects.create(program=program, customer=CustomerFactory())
    first, second = (LoyaltyAccount.objects.select_related("program").get(pk=account.pk) for _ in range(2))
    # when each object is credited once in the same batch
    entries = credit_many([Credit(first, EntryKind.EARN, 10, "referral", "1"),
                           Credit(second, EntryKind.EARN, 15, "referral", "2")], now=timezone.now())
    # then the second credit saw the first, and both objects hold the final balance
    assert [entry.balance_after for entry in entries] == [10, 25]
    assert (first.points, second.points, second.lifetime_points) == (25, 25, 25)
    assert LoyaltyAccount.objects.get(pk=account.pk).points == 25
    call_command("check_loyalty_ledger")


@pytest.mark.django_db
@pytest.mark.parametrize("replay", ["already credited", "twice in the batch"])
def test_a_replayed_source_credits_nothing(replay):
    # given an account credited for referral 1 (or a batch naming referral 1 twice)
    now = timezone.now()
    account = LoyaltyAccount.objects.create(program=LoyaltyProgramFactory(), customer=CustomerFactory())
    account = LoyaltyAccount.objects.select_related("program").get(pk=account.pk)
    batch = [Credit(account, EntryKind.EARN, 10, "referral", "2"), Credit(account, EntryKind.EARN, 10, "referral", "1")]
    if replay == "already credited":
        credit(account, kind=EntryKind.EARN, points=10, source_type="referral", source_id="1", now=now)
    else:
        batch.append(Credit(account, EntryKind.EARN, 10, "referral", "1"))
    # when the batch is credited: the unique (account, kind, source) refuses it, as it refuses credit's replay
    with pytest.raises(IntegrityError), transaction.atomic():
        credit_many(batch, now=now)
    # then nothing of the batch was written
    assert LedgerEntry.objects.filter(source_id="2").count() == 0
    assert LoyaltyAccount.objects.get(pk=account.pk).points == (10 if replay == "already credited" else 0)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_racing_batches_keep_the_balances_and_a_replayed_batch_credits_once():
    # given two accounts
    program = LoyaltyProgramFactory()
    ids = [LoyaltyAccount.objects.create(program=program, customer=CustomerFactory()).pk for _ in range(2)]

    def batch(sources):
        try:
            with transaction.atomic(durable=True):
                # Locked in id order, as the callers do (the lock serialises the balances' read and write).
                accounts = list(LoyaltyAccount.objects.select_for_update(of=("self",)).select_related("program")
                                .filter(pk__in=ids).order_by("pk"))
                credit_many([Credit(account, EntryKind.EARN, 7, "referral", source)
                             for source in sources for account in accounts], now=timezone.now())
        except IntegrityError:
            return "refused"
        return "ok"

    # when four batches run at once: two distinct ones and the same one twice (a replayed message)
    plans = [[f"a{n}" for n in range(20)], [f"b{n}" for n in range(20)]] + [[f"c{n}" for n in range(20)]] * 2
    outcomes = run_together(4, lambda number: batch(plans[number]))
    # then the distinct batches both credited, the replayed one once, and the balances match the ledger
    assert outcomes[:2] == ["ok", "ok"] and sorted(outcomes[2:]) == ["ok", "refused"]
    assert list(LoyaltyAccount.objects.filter(pk__in=ids).values_list("points", flat=True)) == [7 * 60] * 2
    assert LedgerEntry.objects.count() == PointLot.objects.count() == 120
    call_command("check_loyalty_ledger")
