"""A/B tests: stable random splits, hold-outs, the statistics of a comparison, and the report's queries.

Splits and hold-outs hash the customer's database id with SHA-256 (never Python's `hash()`, which is
salted per process), so a customer lands in the same group on every run, worker and machine. The same
hash is available as an ORM expression, so set-based jobs and reports filter in the database.

Statistics use `math` only: the Wilson score interval for a rate and the pooled two-proportion z-test
for a difference, both at 95% (z = 1.959964).
"""

import hashlib
import math
from dataclasses import dataclass, field

from django.db.models import (
    BigIntegerField,
    CharField,
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import SHA256, Cast, Concat, Mod, StrIndex, Substr

from campaigns.models import Campaign, Code, Redemption, RedemptionStatus
from retention.models import Customer, Order, OrderStatus
from retention.money import round_half_up

Z_95 = 1.959964  # two-sided 95% quantile of the standard normal distribution
SPLIT_SALT = "split"  # shared by every campaign: variants 0 and 1 of a test must get complementary halves
HASH_HEX_DIGITS = 8  # 32 bits of the digest: bias against 100 or a few buckets is below 1e-7
_HEX = "0123456789abcdef"


# --- Stable hashing -------------------------------------------------------------------------------------

def stable_hash(customer_id: int, salt: str) -> int:
    """The first 32 bits of sha256("<salt>:<id>"), as an integer. Same answer everywhere, forever."""
    digest = hashlib.sha256(f"{salt}:{customer_id}".encode()).hexdigest()
    return int(digest[:HASH_HEX_DIGITS], 16)


class _SHA256Hex(SHA256):
    """Hex SHA-256 in SQL. PostgreSQL: the built-in sha256() (11+), not Django's pgcrypto digest()."""

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, template="ENCODE(SHA256(CONVERT_TO(%(expressions)s, 'UTF8')), 'hex')",
                           **extra_context)


def stable_hash_expression(salt: str, field_name: str = "id"):
    """`stable_hash(<field>, salt)` computed by the database (SQLite and PostgreSQL alike).

    SHA256 gives the hex digest; its first eight hex digits are turned into an integer by summing
    (position of the digit in "0123456789abcdef" - 1) * 16^k, which needs only INSTR/STRPOS and SUBSTR.
    """
    digest = _SHA256Hex(Concat(Value(f"{salt}:"), Cast(field_name, output_field=CharField())))
    total = None
    for position in range(HASH_HEX_DIGITS):
        digit = StrIndex(Value(_HEX), Substr(digest, position + 1, 1)) - 1
        # bigint: eight hex digits overflow PostgreSQL's 32-bit signed integer.
        term = Cast(digit, output_field=BigIntegerField()) * Cast(
            Value(16 ** (HASH_HEX_DIGITS - 1 - position)), output_field=BigIntegerField())
        total = term if total is None else total + term
    return total


def split_bucket_of(customer_id: int, buckets: int) -> int:
    return stable_hash(customer_id, SPLIT_SALT) % buckets


def in_split(customer_id: int, buckets: int, bucket: int) -> bool:
    """Whether the customer falls in `bucket` of `buckets` stable random groups (buckets=1: everyone)."""
    if buckets <= 1:
        return True
    return split_bucket_of(customer_id, buckets) == bucket


def split_filter(queryset: QuerySet, buckets: int, bucket: int, field_name: str = "id") -> QuerySet:
    """`queryset` narrowed in SQL to the customers `in_split(id, buckets, bucket)` keeps."""
    if buckets <= 1:
        return queryset
    return queryset.alias(_split_hash=stable_hash_expression(SPLIT_SALT, field_name)).alias(
        _split_bucket=Mod("_split_hash", buckets)
    ).filter(_split_bucket=bucket)


def split_ids(customer_ids, buckets: int, bucket: int) -> set[int]:
    """The ids among `customer_ids` that fall in `bucket` (set-based use without SQL)."""
    return {customer_id for customer_id in customer_ids if in_split(customer_id, buckets, bucket)}


def holdout_salt(campaign: Campaign) -> str:
    # Per campaign, and different from the split's salt, so the hold-out is independent of the halves.
    return f"holdout:{campaign.pk}"


def is_holdout(customer_id: int, campaign: Campaign) -> bool:
    """Whether the customer is held out of `campaign`: part of its audience on purpose given nothing.

    `holdout_percent` % of customers (by a stable hash) are held out; comparing them with those who got
    the offer measures what the offer itself changed.
    """
    if not campaign.holdout_percent:
        return False
    return stable_hash(customer_id, holdout_salt(campaign)) % 100 < campaign.holdout_percent


def holdout_filter(queryset: QuerySet, campaign: Campaign, *, held_out: bool = True,
                   field_name: str = "id") -> QuerySet:
    """`queryset` narrowed in SQL to the customers held out of `campaign` (or, held_out=False, the rest)."""
    if not campaign.holdout_percent:
        return queryset.none() if held_out else queryset
    narrowed = queryset.alias(_holdout_hash=stable_hash_expression(holdout_salt(campaign), field_name)).alias(
        _holdout_slot=Mod("_holdout_hash", 100)
    )
    condition = Q(_holdout_slot__lt=campaign.holdout_percent)
    return narrowed.filter(condition) if held_out else narrowed.exclude(condition)


# --- Statistics ------------------------------------------------------------------------------------------

def wilson_interval(successes: int, trials: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval of successes/trials; (0, 0) without trials."""
    if trials <= 0:
        return (0.0, 0.0)
    rate = successes / trials
    z2 = z * z
    denominator = 1 + z2 / trials
    centre = (rate + z2 / (2 * trials)) / denominator
    half_width = z * math.sqrt(rate * (1 - rate) / trials + z2 / (4 * trials * trials)) / denominator
    return (max(0.0, centre - half_width), min(1.0, centre + half_width))


def two_proportion_z_test(successes_a: int, trials_a: int, successes_b: int,
                          trials_b: int) -> tuple[float, float] | None:
    """(z, two-sided p-value) of rate B minus rate A with the pooled standard error; None if undefined."""
    if trials_a <= 0 or trials_b <= 0:
        return None
    pooled = (successes_a + successes_b) / (trials_a + trials_b)
    variance = pooled * (1 - pooled) * (1 / trials_a + 1 / trials_b)
    if variance <= 0:
        return None  # both rates 0% or both 100%: no evidence of any difference
    z = (successes_b / trials_b - successes_a / trials_a) / math.sqrt(variance)
    return (z, math.erfc(abs(z) / math.sqrt(2)))


# --- The report ------------------------------------------------------------------------------------------

@dataclass
class Variant:
    campaign: Campaign
    issued: int
    redeemed: int  # codes redeemed at least once (succeeded)
    redemptions: int
    discount_total: int
    revenue: int
    rate: float
    interval: tuple[float, float]
    difference: float | None = None  # rate minus the first variant's rate
    z: float | None = None
    p_value: float | None = None
    is_significant: bool | None = None
    cost_per_redemption: int | None = None
    uplift: "Uplift | None" = None

    # Percentages for display (the template language cannot multiply).
    @property
    def rate_percent(self) -> float:
        return self.rate * 100

    @property
    def interval_percent(self) -> tuple[float, float]:
        return (self.interval[0] * 100, self.interval[1] * 100)

    @property
    def difference_points(self) -> float | None:
        return None if self.difference is None else self.difference * 100


@dataclass
class Uplift:
    """Repeat-purchase rate (≥ 2 paid orders after the reference time) of treated vs held-out customers."""

    treated: int
    treated_repeat: int
    held_out: int
    held_out_repeat: int
    treated_rate: float = field(init=False)
    held_out_rate: float | None = field(init=False)
    difference: float | None = field(init=False)

    def __post_init__(self):
        self.treated_rate = self.treated_repeat / self.treated if self.treated else 0.0
        self.held_out_rate = self.held_out_repeat / self.held_out if self.held_out else None
        self.difference = None if self.held_out_rate is None else self.treated_rate - self.held_out_rate

    @property
    def treated_percent(self) -> float:
        return self.treated_rate * 100

    @property
    def held_out_percent(self) -> float | None:
        return None if self.held_out_rate is None else self.held_out_rate * 100

    @property
    def difference_points(self) -> float | None:
        return None if self.difference is None else self.difference * 100


def campaign_uplift(campaign: Campaign) -> Uplift:
    """Repeat purchases of those who got the offer vs those held out of it.

    Treated: holders of a code of the campaign, counted from their first code's issue time.
    Held out: the campaign's audience (its segment, or every customer) in its split bucket and in the
    hold-out, without a code, counted from the campaign's start (or creation).
    """
    from retention.segments import customers_in

    has_code = Exists(Code.objects.filter(campaign=campaign, customer=OuterRef("pk")))
    first_issued = Code.objects.filter(campaign=campaign, customer=OuterRef("customer")).order_by("issued_at")
    paid_after_first_code = (
        Order.objects.filter(customer=OuterRef("pk"), status=OrderStatus.PAID,
                             created_at__gte=Subquery(first_issued.values("issued_at")[:1]))
        .order_by().values("customer").annotate(count=Count("pk")).values("count")
    )
    treated = Customer.objects.filter(has_code)
    treated_repeat = treated.annotate(
        paid_after=Subquery(paid_after_first_code, output_field=IntegerField())
    ).filter(paid_after__gte=2).count()

    held_out_count = held_out_repeat = 0
    if campaign.holdout_percent:
        audience = customers_in(campaign.segment) if campaign.segment_id else Customer.objects.all()
        audience = split_filter(audience.filter(erased_at__isnull=True), campaign.split_buckets,
                                campaign.split_bucket)
        held_out = holdout_filter(audience, campaign).exclude(has_code)
        since = campaign.starts_at or campaign.created_at
        held_out_count = held_out.count()
        held_out_repeat = held_out.annotate(
            paid_after=Count("orders", filter=Q(orders__status=OrderStatus.PAID, orders__created_at__gte=since))
        ).filter(paid_after__gte=2).count()
    return Uplift(treated=treated.count(), treated_repeat=treated_repeat, held_out=held_out_count,
                  held_out_repeat=held_out_repeat)


def ab_report(campaigns: list[Campaign]) -> list[Variant]:
    """One row per campaign in the given order; differences and tests are against the first one."""
    ids = [campaign.pk for campaign in campaigns]
    issued = dict(
        Code.objects.filter(campaign_id__in=ids).order_by().values("campaign_id").annotate(n=Count("pk"))
        .values_list("campaign_id", "n")
    )
    succeeded = Redemption.objects.filter(campaign_id__in=ids, status=RedemptionStatus.SUCCEEDED).order_by()
    totals = {
        row["campaign_id"]: row
        for row in succeeded.values("campaign_id").annotate(
            redeemed=Count("code_id", distinct=True), redemptions=Count("pk"),
            discount=Sum("discount_amount"), revenue=Sum("order_amount"),
        )
    }
    variants = []
    for campaign in campaigns:
        row = totals.get(campaign.pk, {})
        variant_issued = issued.get(campaign.pk, 0)
        redeemed = row.get("redeemed", 0)
        redemptions = row.get("redemptions", 0)
        discount_total = row.get("discount") or 0
        variants.append(Variant(
            campaign=campaign, issued=variant_issued, redeemed=redeemed, redemptions=redemptions,
            discount_total=discount_total, revenue=row.get("revenue") or 0,
            rate=redeemed / variant_issued if variant_issued else 0.0,
            interval=wilson_interval(redeemed, variant_issued),
            cost_per_redemption=round_half_up(discount_total, redemptions) if redemptions else None,
            uplift=campaign_uplift(campaign),
        ))
    if variants:
        base = variants[0]
        for variant in variants[1:]:
            variant.difference = variant.rate - base.rate
            test = two_proportion_z_test(base.redeemed, base.issued, variant.redeemed, variant.issued)
            if test is not None:
                variant.z, variant.p_value = test
                variant.is_significant = variant.p_value < 0.05
    return variants
