"""Proves the ledger invariant for every account; exits non-zero on any drift (for cron and CI)."""

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Case, F, IntegerField, OuterRef, Q, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce

from loyalty.models import LedgerEntry, LoyaltyAccount, PointLot
from loyalty.services.ledger import EARNED_KINDS


def _sum(queryset, expression):
    return Coalesce(Subquery(queryset.values("account_id").annotate(total=Sum(expression)).values("total")),
                    Value(0))


def drifted_accounts():
    """Accounts whose stored balances differ from their ledger or lots, with both sides (one query)."""
    entries = LedgerEntry.objects.filter(account_id=OuterRef("pk")).order_by()
    lots = PointLot.objects.filter(account_id=OuterRef("pk")).order_by()
    earned = Case(When(kind__in=EARNED_KINDS, then=F("points") + F("pending_points")), default=Value(0),
                  output_field=IntegerField())
    return (
        LoyaltyAccount.objects.annotate(
            ledger_points=_sum(entries, "points"),
            ledger_pending=_sum(entries, "pending_points"),
            ledger_lifetime=_sum(entries, earned),
            live_lots=_sum(lots.filter(is_pending=False), "remaining"),
            pending_lots=_sum(lots.filter(is_pending=True), "remaining"),
        )
        .filter(~Q(points=F("ledger_points")) | ~Q(pending_points=F("ledger_pending"))
                | ~Q(lifetime_points=F("ledger_lifetime")) | ~Q(pending_points=F("pending_lots"))
                | Q(points__gte=0) & ~Q(points=F("live_lots")) | Q(points__lt=0, live_lots__gt=0))
        .select_related("customer", "program").order_by("pk")
    )


class Command(BaseCommand):
    help = ("Check that every loyalty account's points, pending and lifetime points equal its ledger, and its "
            "lots hold its balance; exit 1 listing the accounts that drifted.")

    def handle(self, *args, **options):
        drifted = list(drifted_accounts())
        for account in drifted:
            self.stdout.write(
                f"account {account.pk} (customer {account.customer.source_id}, program {account.program_id}): "
                f"points {account.points} vs ledger {account.ledger_points}, pending {account.pending_points} vs "
                f"ledger {account.ledger_pending} (lots {account.pending_lots}), lifetime {account.lifetime_points} "
                f"vs ledger {account.ledger_lifetime}, live lots {account.live_lots}"
            )
        if drifted:
            raise CommandError(f"{len(drifted)} loyalty account(s) drifted from their ledger.")
        self.stdout.write(f"{LoyaltyAccount.objects.count()} loyalty accounts match their ledger.")
