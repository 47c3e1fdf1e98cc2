"""Row locks for read-modify-write of balances. Call inside a transaction.

Several accounts (one customer in several programs) are always locked in id order, so two writers
cannot deadlock.
"""

from loyalty.models import LoyaltyAccount


def lock_account(account_id: int) -> LoyaltyAccount:
    """The account row, locked until the transaction ends, with its program and tier."""
    return (LoyaltyAccount.objects.select_for_update(of=("self",)).select_related("program", "tier", "customer")
            .get(pk=account_id))


def lock_accounts(account_ids: list[int]) -> list[LoyaltyAccount]:
    return list(
        LoyaltyAccount.objects.select_for_update(of=("self",)).select_related("program", "tier", "customer")
        .filter(pk__in=account_ids).order_by("pk")
    )
