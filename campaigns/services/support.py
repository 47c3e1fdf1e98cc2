"""The support desk's "sorry" codes, and the transactional mail that carries a code to its holder.

An agent's limits (SupportAgentLimit: value per code, codes per day) are checked here, on the server,
with the agent's limit row locked, so two issues running side by side cannot both take the last code
of the day. Agents without a limit row get the model's defaults (a row is created for them).
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from campaigns.models import Campaign, Code, CodeSource, DiscountType, SupportAgentLimit
from retention.actors import Actor
from retention.audit import record_audit
from retention.emails import email_hash
from retention.errors import DomainError
from retention.models import AuditEntry, Customer, EmailSuppression
from retention.money import format_money
from retention.roles import MARKETING, SUPPORT, has_role

SUPPORT_ISSUED_ACTION = "code.support_issued"


class SupportRefused(DomainError):
    """The desk refuses to issue; `code` says why and the message is shown to the agent as is."""

    status = 422
    code = "support_refused"


def agent_limit(agent) -> SupportAgentLimit:
    """The agent's limits; an unsaved default row when the agent has none (for display only)."""
    try:
        return agent.support_limit
    except SupportAgentLimit.DoesNotExist:
        return SupportAgentLimit(user=agent)


def _day_start(now: datetime) -> datetime:
    # The desk's day is the installation's (settings.TIME_ZONE, UTC by default), not the agent's browser's.
    local = timezone.localtime(now)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def codes_issued_today(agent, now: datetime | None = None) -> int:
    """Support codes `agent` issued since the start of today: counted from the audit trail, which
    every support issue writes in its own transaction (Code has no issuer column)."""
    start = _day_start(now or timezone.now())
    return AuditEntry.objects.filter(
        action=SUPPORT_ISSUED_ACTION, actor_user=agent, created_at__gte=start, created_at__lt=start + timedelta(days=1)
    ).count()


def support_campaigns(now: datetime | None = None) -> list[Campaign]:
    """Campaigns the desk may issue from now: marked for support, live, and still issuing."""
    from campaigns.models import CampaignStatus

    campaigns = Campaign.objects.filter(is_support=True, is_issuing_stopped=False).order_by("name")
    return [campaign for campaign in campaigns if campaign.status_at(now) == CampaignStatus.ACTIVE]


def describe_value(*, campaign: Campaign, amount: int | None = None, percent: int | None = None) -> str:
    """Human text of what a code gives: "15% off", "20.00 EUR off", "Free shipping"."""
    if percent is not None:
        return f"{percent}% off"
    if amount is not None:
        return f"{format_money(amount, campaign.currency or settings.RETENTION['DEFAULT_CURRENCY'])} off"
    if campaign.discount_type == DiscountType.PERCENT and campaign.percent:
        return f"{campaign.percent}% off"
    if campaign.discount_type == DiscountType.AMOUNT and campaign.amount:
        return f"{format_money(campaign.amount, campaign.currency or settings.RETENTION['DEFAULT_CURRENCY'])} off"
    return campaign.get_discount_type_display()


def describe_code(code: Code) -> str:
    text = describe_value(campaign=code.campaign, amount=code.amount_override, percent=code.percent_override)
    return f"{text} on {code.sku_limit}" if code.sku_limit else text


def _check_value(*, campaign: Campaign, limit: SupportAgentLimit, amount: int | None,
                 percent: int | None) -> None:
    options = [int(option) for option in campaign.support_amount_options or []]
    if campaign.discount_type == DiscountType.PERCENT:
        if amount is not None or percent is None:
            raise SupportRefused("Pick a percentage: this campaign gives percent off.", code="value_required")
        value, cap, unit = percent, limit.max_percent, f"{limit.max_percent}%"
    elif campaign.discount_type == DiscountType.AMOUNT:
        if percent is not None or amount is None:
            raise SupportRefused("Pick an amount: this campaign gives an amount off.", code="value_required")
        value, cap, unit = amount, limit.max_amount, format_money(limit.max_amount, campaign.currency or "EUR")
    else:
        if amount is not None or percent is not None:
            raise SupportRefused("This campaign has a fixed reward: no amount to pick.", code="value_not_allowed")
        return
    if value <= 0:
        raise SupportRefused("The value must be positive.", code="value_invalid")
    # No options on the campaign: any value up to the agent's cap.
    if options and value not in options:
        raise SupportRefused("This value is not one of the campaign's support options.", code="value_not_offered")
    if value > cap:
        raise SupportRefused(f"That is above your limit of {unit} per code.", code="above_agent_limit")


@transaction.atomic(durable=True)
def issue_support_code(
    *,
    agent,
    customer: Customer,
    campaign: Campaign,
    amount: int | None = None,
    percent: int | None = None,
    sku: str = "",
    reason: str,
    apply_to_next_order: bool = False,
    now: datetime | None = None,
) -> Code:
    """Issue a "sorry" code of a support campaign to `customer` only, within the agent's limits.

    The value comes from the campaign's `support_amount_options` (minor units for an amount campaign,
    percent for a percent campaign) and may not exceed the agent's per-code cap; the agent's codes of the
    day are counted with the limit row locked. Mailed to the customer after commit (transactional, no
    marketing consent needed), or with `apply_to_next_order` made an automatic discount and not mailed.
    Raises SupportRefused (nothing written) when a rule says no.
    """
    from campaigns.services.codes import issue_code

    now = now or timezone.now()
    reason = (reason or "").strip()
    sku = (sku or "").strip()
    if not has_role(agent, SUPPORT, MARKETING):
        raise SupportRefused("Only support agents and marketing ops may issue support codes.", code="forbidden")
    if not reason:
        raise SupportRefused("Say why the customer gets this code.", code="reason_required")
    if customer.is_erased:
        raise SupportRefused("This customer's data was erased.", code="customer_erased")
    campaign = Campaign.objects.get(pk=campaign.pk)
    if not campaign.is_support:
        raise SupportRefused("This campaign is not open to the support desk.", code="not_support_campaign")
    if campaign.status_at(now) != "active" or campaign.is_issuing_stopped:
        raise SupportRefused(f"This campaign is {campaign.status_at(now)}: it cannot issue codes now.",
                             code="campaign_inactive")

    # Lock the agent's limit row (created with the defaults on first use) so the daily count below is
    # read and acted on by one issue at a time.
    SupportAgentLimit.objects.get_or_create(user=agent)
    limit = SupportAgentLimit.objects.select_for_update().get(user=agent)
    _check_value(campaign=campaign, limit=limit, amount=amount, percent=percent)
    if codes_issued_today(agent, now) >= limit.max_codes_per_day:
        raise SupportRefused(f"You have issued your {limit.max_codes_per_day} codes for today.",
                             code="daily_limit_reached")

    actor = Actor.for_user(agent)
    code = issue_code(
        campaign=campaign, customer=customer, actor=actor, source=CodeSource.SUPPORT, now=now,
        amount_override=amount, percent_override=percent, sku_limit=sku, is_automatic=apply_to_next_order,
        note=reason[:255],
    )
    record_audit(
        actor=actor, action=SUPPORT_ISSUED_ACTION, target=code,
        after={"customer": customer.source_id, "campaign": campaign.slug, "amount": amount, "percent": percent,
               "sku": sku, "automatic": apply_to_next_order, "reason": reason},
    )
    if not apply_to_next_order and customer.email:
        from campaigns.tasks import send_code_email_task

        transaction.on_commit(lambda: send_code_email_task.delay(code.pk, "support_code"))
    return code


# --- Transactional code mail (support desk and landing pages) ---------------------------------------------

def send_code_email(*, code_id: int, template: str) -> bool:
    """Mail code `code_id` to its holder with emails/<template>.txt/.html; False when there is no one to mail.

    Transactional: the customer asked for it (landing page) or is owed it (support), so no marketing
    consent is needed; an erased customer, a suppressed address or none at all gets nothing.
    """
    code = Code.objects.select_related("campaign", "customer", "landing_claim__customer").filter(pk=code_id).first()
    if code is None:
        return False
    # A landing-page code given to a new address is not assigned (see services/landing.py): its claim
    # names the person.
    claim = getattr(code, "landing_claim", None)
    holder = code.customer or (claim.customer if claim else None)
    address = (code.customer.email if code.customer else "") or (claim.email if claim else "")
    if holder is None or holder.is_erased or not address:
        return False
    if EmailSuppression.objects.filter(email_hash=email_hash(address)).exists():
        return False  # "never mailed again" (hard bounce, erasure) holds for transactional mail too
    context = {
        "code": code, "customer": holder, "campaign": code.campaign, "value": describe_code(code),
        "expires_at": code.expires_at,
    }
    subject = render_to_string(f"emails/{template}_subject.txt", context).strip()
    send_mail(
        subject=" ".join(subject.split()),
        message=render_to_string(f"emails/{template}.txt", context),
        html_message=render_to_string(f"emails/{template}.html", context),
        from_email=None,
        recipient_list=[address],
    )
    return True

