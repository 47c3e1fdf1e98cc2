"""Reads of campaigns and codes for pages, the API and jobs: a fixed number of queries each."""

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import PermissionDenied
from django.db.models import F, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from campaigns.discounts import describe_discount
from campaigns.models import Campaign, CampaignCounterShard, CampaignStatus, Code, GenerationJob
from retention.models import Customer
from retention.roles import MARKETING, SUPPORT, has_role

EXPORT_HEADER = ["code", "customer", "issued_at", "expires_at", "uses", "max_uses", "balance", "status"]


def status_condition(status: str, now: datetime | None = None) -> Q:
    """The SQL twin of Campaign.status_at: campaigns whose derived status is `status` at `now`."""
    now = now or timezone.now()
    ended = Q(ends_at__isnull=False, ends_at__lte=now)
    started = Q(starts_at__isnull=True) | Q(starts_at__lte=now)
    conditions = {
        CampaignStatus.DRAFT: Q(is_draft=True),
        CampaignStatus.ENDED: Q(is_draft=False) & ended,
        CampaignStatus.PAUSED: Q(is_draft=False, is_paused=True) & ~ended,
        CampaignStatus.SCHEDULED: Q(is_draft=False, is_paused=False) & ~ended & ~started,
        CampaignStatus.ACTIVE: Q(is_draft=False, is_paused=False) & ~ended & started,
    }
    return conditions[CampaignStatus(status)]


# Counters ----------------------------------------------------------------------------------------------
# A campaign's redemptions and discount total are its row's columns plus the sum of its counter shards
# (campaigns.models.CampaignCounterShard): uncapped, unbudgeted campaigns count on shards so that their
# redemptions do not queue on the campaign row. Read them through these two functions, never the columns.

@dataclass(frozen=True)
class RedemptionCounters:
    redemptions: int
    discount_total: int


def shard_sum(column: str) -> Coalesce:
    shards = (CampaignCounterShard.objects.filter(campaign=OuterRef("pk")).order_by()
              .values("campaign").annotate(total=Sum(column)).values("total"))
    return Coalesce(Subquery(shards), Value(0))


def with_counters(campaigns: QuerySet[Campaign]) -> QuerySet[Campaign]:
    """`campaigns` annotated with `counted_redemptions` and `counted_discount` (no extra query)."""
    return campaigns.annotate(counted_redemptions=F("redemptions_count") + shard_sum("redemptions_count"),
                              counted_discount=F("discount_total") + shard_sum("discount_total"))


def redemption_counters(campaign: Campaign) -> RedemptionCounters:
    """The campaign's redemptions and discount total: from `with_counters`' annotations when present,
    else in one query."""
    if hasattr(campaign, "counted_redemptions"):
        return RedemptionCounters(redemptions=campaign.counted_redemptions, discount_total=campaign.counted_discount)
    # Not kept on the instance: refresh_from_db would not clear it.
    shards = CampaignCounterShard.objects.filter(campaign=campaign).aggregate(
        redemptions=Sum("redemptions_count"), discount=Sum("discount_total"))
    return RedemptionCounters(redemptions=campaign.redemptions_count + (shards["redemptions"] or 0),
                              discount_total=campaign.discount_total + (shards["discount"] or 0))


def campaign_list(filters: dict | None = None, *, now: datetime | None = None) -> QuerySet[Campaign]:
    """Campaigns, newest first, filtered by `status` and `type` (ignored when empty), with their counters
    (`with_counters`; codes_issued is a column)."""
    filters = filters or {}
    campaigns = with_counters(Campaign.objects.select_related("segment").prefetch_related("segments"))
    if filters.get("status"):
        campaigns = campaigns.filter(status_condition(filters["status"], now))
    if filters.get("type"):
        campaigns = campaigns.filter(type=filters["type"])
    if filters.get("is_support") is not None:
        campaigns = campaigns.filter(is_support=filters["is_support"])
    return campaigns


def campaign_by_slug(slug: str) -> Campaign:
    """One campaign with what its API body shows; Http404 when unknown."""
    campaign = campaign_list().filter(slug=slug).first()
    if campaign is None:
        raise Http404(f"No campaign {slug}.")
    return campaign


def get_campaign_for_user(user, slug: str) -> Campaign:
    """The campaign `slug` if `user` may see it (marketing ops, support agents for support campaigns,
    superusers); Http404 when unknown, PermissionDenied otherwise."""
    campaign = campaign_by_slug(slug)
    if has_role(user, MARKETING) or (campaign.is_support and has_role(user, SUPPORT)):
        return campaign
    raise PermissionDenied


def generation_job(job_id: int) -> GenerationJob:
    job = GenerationJob.objects.select_related("campaign").filter(pk=job_id).first()
    if job is None:
        raise Http404(f"No generation {job_id}.")
    return job


def code_status(code: Code, now: datetime | None = None) -> str:
    """active, used, expired or disabled: what a holder of the code would be told."""
    now = now or timezone.now()
    if code.is_disabled:
        return "disabled"
    if (code.max_uses is not None and code.uses_count >= code.max_uses) or code.balance == 0:
        return "used"
    if (code.expires_at and code.expires_at <= now) or code.campaign.status_at(now) == CampaignStatus.ENDED:
        return "expired"
    return "active"


@dataclass(frozen=True)
class WalletEntry:
    code: str
    campaign: str
    campaign_name: str
    discount: dict
    status: str
    issued_at: datetime
    expires_at: datetime | None
    is_automatic: bool


def _entry(code: Code, now: datetime) -> WalletEntry:
    return WalletEntry(code=code.code, campaign=code.campaign.slug, campaign_name=code.campaign.name,
                       discount=describe_discount(code), status=code_status(code, now), issued_at=code.issued_at,
                       expires_at=code.expires_at, is_automatic=code.is_automatic)


def customer_wallet(customer: Customer, *, now: datetime | None = None) -> list[WalletEntry]:
    """The customer's codes, newest first, with their discount and status: one query."""
    now = now or timezone.now()
    codes = Code.objects.filter(customer=customer).select_related("campaign").order_by("-issued_at", "-id")
    return [_entry(code, now) for code in codes]


def auto_discounts(customer: Customer, *, now: datetime | None = None) -> list[WalletEntry]:
    """Codes to apply to the customer's next order without typing them: automatic, usable now (not
    disabled, used up, expired, or of a paused or ended campaign). One query."""
    now = now or timezone.now()
    codes = (Code.objects.filter(customer=customer, is_automatic=True, is_disabled=False)
             .filter(Q(max_uses__isnull=True) | Q(uses_count__lt=F("max_uses")))
             .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
             .exclude(balance=0)
             .filter(campaign__is_draft=False, campaign__is_paused=False)
             .exclude(campaign__ends_at__lte=now).exclude(campaign__starts_at__gt=now)
             .select_related("campaign").order_by("issued_at", "id"))
    return [_entry(code, now) for code in codes]


def customer_by_source_id(source_id: str) -> Customer:
    customer = Customer.objects.filter(source_id=source_id).first()
    if customer is None:
        raise Http404(f"No customer {source_id}.")
    return customer


class _Echo:
    """A file-like object whose write returns the line, so csv.writer feeds a streaming response."""

    def write(self, value: str) -> str:
        return value


def code_export_lines(campaign: Campaign, *, now: datetime | None = None, chunk_size: int = 5000) -> Iterator[str]:
    """CSV lines of all codes of `campaign` (header first), read in chunks so memory stays flat."""
    now = now or timezone.now()
    ended = campaign.status_at(now) == CampaignStatus.ENDED
    writer = csv.writer(_Echo())
    yield writer.writerow(EXPORT_HEADER)
    rows = (Code.objects.filter(campaign=campaign).order_by("id")
            .values_list("code", "customer__source_id", "issued_at", "expires_at", "uses_count", "max_uses",
                         "balance", "is_disabled"))
    for code, customer, issued_at, expires_at, uses, max_uses, balance, is_disabled in rows.iterator(
            chunk_size=chunk_size):
        if is_disabled:
            status = "disabled"
        elif (max_uses is not None and uses >= max_uses) or balance == 0:
            status = "used"
        elif ended or (expires_at is not None and expires_at <= now):
            status = "expired"
        else:
            status = "active"
        yield writer.writerow([code, customer or "", issued_at.isoformat(),
                               expires_at.isoformat() if expires_at else "", uses,
                               "" if max_uses is None else max_uses, "" if balance is None else balance, status])


def customer_codes_export(customer: Customer) -> dict:
    """The GDPR export's "campaigns" section: the customer's codes and redemptions."""
    from campaigns.models import Redemption

    return {
        "codes": [
            {"code": entry.code, "campaign": entry.campaign, "discount": entry.discount, "status": entry.status,
             "issued_at": entry.issued_at.isoformat(),
             "expires_at": entry.expires_at.isoformat() if entry.expires_at else None}
            for entry in customer_wallet(customer)
        ],
        "redemptions": [
            {"code": redemption.code.code, "campaign": redemption.campaign.slug,
             "order": redemption.order_source_id, "order_amount": redemption.order_amount,
             "currency": redemption.currency, "discount_amount": redemption.discount_amount,
             "status": redemption.status, "created_at": redemption.created_at.isoformat()}
            for redemption in Redemption.objects.filter(customer=customer).select_related("code", "campaign")
            .order_by("created_at", "id")
        ],
    }
