"""Reads for pages, the API and the portal, each a fixed number of queries."""

from dataclasses import dataclass, field
from datetime import date, datetime

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncMonth
from django.shortcuts import get_object_or_404

from referrals.errors import ReferralError, ReferralReason
from referrals.models import (
    CONVERTED_STATUSES,
    CodeJob,
    Invitation,
    Referral,
    ReferralCode,
    ReferralProgram,
    ReferralReward,
    ReferralStatus,
    RewardRole,
    RewardType,
)
from retention.models import Customer, JobStatus


def default_program() -> ReferralProgram | None:
    return ReferralProgram.objects.order_by("-is_default", "created_at", "pk").first()


def program_for(program_id) -> ReferralProgram:
    """`?program=<id>` or the default program; ReferralError(no_program) when there is none."""
    if program_id not in (None, ""):
        if not str(program_id).isdigit():
            raise ReferralError(ReferralReason.NO_PROGRAM, fields={"program": ["A program id."]})
        return get_object_or_404(ReferralProgram, pk=int(program_id))
    program = default_program()
    if program is None:
        raise ReferralError(ReferralReason.NO_PROGRAM)
    return program


def programs_with_tiers():
    return ReferralProgram.objects.select_related("segment", "friend_campaign").prefetch_related(
        "tiers__campaign")


@dataclass
class ReferrerSummary:
    invited: int
    converted: int
    rewards: list = field(default_factory=list)
    invitations_sent: int = 0


def referrer_summary(program: ReferralProgram, customer: Customer) -> ReferrerSummary:
    counts = Referral.objects.filter(program=program, referrer=customer).aggregate(
        invited=Count("pk"), converted=Count("pk", filter=Q(status__in=CONVERTED_STATUSES)))
    rewards = list(ReferralReward.objects.filter(program=program, customer=customer, role=RewardRole.REFERRER)
                   .select_related("code").order_by("-created_at", "-pk")[:50])
    sent = Invitation.objects.filter(code__program=program, code__customer=customer).count()
    return ReferrerSummary(invited=counts["invited"], converted=counts["converted"], rewards=rewards,
                           invitations_sent=sent)


def reward_data(reward: ReferralReward) -> dict:
    return {"id": reward.pk, "type": reward.type, "points": reward.points,
            "code": reward.code.code if reward.code_id else None, "cash_amount": reward.cash_amount,
            "payout_status": reward.payout_status or None, "cancelled": reward.is_cancelled,
            "created_at": reward.created_at}


def held_referrals(program: ReferralProgram):
    return (Referral.objects.filter(program=program, status=ReferralStatus.HELD)
            .select_related("referrer", "friend", "code").prefetch_related("fraud_signals")
            .order_by("-needs_review", "converted_at", "pk"))


def leaderboard(program: ReferralProgram, *, since: datetime | None = None, limit: int = 50) -> list[dict]:
    """Top referrers by converted referrals (converted since `since`, when given), grouped from the
    referrals themselves (index referral_program_converted), never a scan of all customers."""
    converted = Referral.objects.filter(program=program, status__in=CONVERTED_STATUSES)
    if since is not None:
        converted = converted.filter(converted_at__gte=since)
    rows = (converted.values("referrer_id").annotate(converted=Count("pk")).order_by("-converted", "referrer_id")
            .values("referrer_id", "converted", "referrer__source_id", "referrer__first_name",
                    "referrer__last_name", "referrer__email")[:limit])
    return [{"rank": rank, "pk": row["referrer_id"], "converted": row["converted"],
             "source_id": row["referrer__source_id"], "first_name": row["referrer__first_name"],
             "last_name": row["referrer__last_name"], "email": row["referrer__email"]}
            for rank, row in enumerate(rows, start=1)]


@dataclass
class Dashboard:
    referrals: int
    conversions: int
    referrers: int
    invitations: int
    conversion_rate_percent: float
    rewards_by_type: dict
    total_cost: int
    revenue: int
    spend_by_month: list  # [(date, cost)]
    roi: dict


def dashboard(program: ReferralProgram) -> Dashboard:
    """Figures of the dashboard and the ROI with its inputs, from the program's own data.

    ROI = ((LTV × (1 + k)) − Reward) / Reward with k = invitations per referrer × conversion rate;
    LTV = revenue of converted friends / conversions; Reward = total reward cost / conversions.
    """
    counts = Referral.objects.filter(program=program).aggregate(
        referrals=Count("pk"), conversions=Count("pk", filter=Q(status__in=CONVERTED_STATUSES)),
        referrers=Count("referrer", distinct=True))
    invitations = Invitation.objects.filter(code__program=program).count()
    rewards = ReferralReward.objects.filter(program=program, is_cancelled=False)
    by_type = {row["type"]: row for row in rewards.values("type").annotate(count=Count("pk"), cost=Sum("cost"))}
    rewards_by_type = {kind.value: {"label": kind.label, "count": by_type.get(kind.value, {}).get("count", 0),
                                    "cost": by_type.get(kind.value, {}).get("cost") or 0} for kind in RewardType}
    total_cost = sum(row["cost"] for row in rewards_by_type.values())
    friends = Referral.objects.filter(program=program, status__in=CONVERTED_STATUSES).values("friend_id")
    revenue = Customer.objects.filter(pk__in=friends).aggregate(total=Sum("total_spent"))["total"] or 0
    months = (rewards.annotate(month=TruncMonth("created_at")).values("month").annotate(cost=Sum("cost"))
              .order_by("month"))
    spend = [(row["month"].date() if isinstance(row["month"], datetime) else row["month"], row["cost"] or 0)
             for row in months]
    referrals, conversions, referrers = counts["referrals"], counts["conversions"], counts["referrers"]
    rate = conversions / referrals if referrals else 0.0
    invited = referrals + invitations
    per_user = invited / referrers if referrers else 0.0
    k = per_user * rate
    ltv = revenue / conversions if conversions else 0.0
    reward = total_cost / conversions if conversions else 0.0
    roi = ((ltv * (1 + k)) - reward) / reward if reward else None
    return Dashboard(
        referrals=referrals, conversions=conversions, referrers=referrers, invitations=invitations,
        conversion_rate_percent=round(rate * 100, 1), rewards_by_type=rewards_by_type, total_cost=total_cost,
        revenue=revenue, spend_by_month=spend,
        roi={"ltv": round(ltv), "k": round(k, 3), "invitations_per_user": round(per_user, 2),
             "conversion_rate": round(rate, 3), "reward": round(reward), "roi": None if roi is None else round(roi, 2)},
    )


def month_floor(day: date) -> date:
    return day.replace(day=1)


def code_for(program: ReferralProgram, customer: Customer) -> ReferralCode | None:
    return ReferralCode.objects.filter(program=program, customer=customer).first()


def customer_referral_export(customer: Customer) -> dict:
    """GDPR access: the customer's referral codes, the referrals made and received, and rewards."""
    referral_fields = ("program__name", "code__code", "referrer__source_id", "friend__source_id", "status",
                       "registered_at", "converted_at", "ip_address", "device_id")

    def rows(queryset) -> list[dict]:
        return [{key.replace("__", "_"): value.isoformat() if hasattr(value, "isoformat") else value
                 for key, value in row.items()} for row in queryset.values(*referral_fields)]

    return {
        "codes": [{"program": program, "code": code} for program, code in
                  ReferralCode.objects.filter(customer=customer).values_list("program__name", "code")],
        "referrals_made": rows(Referral.objects.filter(referrer=customer).order_by("pk")),
        "referrals_received": rows(Referral.objects.filter(friend=customer).order_by("pk")),
        "rewards": [{**reward_data(reward), "created_at": reward.created_at.isoformat()} for reward in
                    ReferralReward.objects.filter(customer=customer).select_related("code").order_by("pk")],
    }


def code_jobs(program: ReferralProgram) -> dict:
    """The program's latest bulk code jobs with their progress, and whether one still runs (to poll)."""
    jobs = list(CodeJob.objects.filter(program=program).select_related("segment").order_by("-pk")[:5])
    for job in jobs:
        job.percent = 100 if job.status == JobStatus.DONE else min(99, job.created * 100 // max(job.total, 1))
    return {"jobs": jobs, "jobs_running": any(job.status in (JobStatus.QUEUED, JobStatus.RUNNING) for job in jobs)}
