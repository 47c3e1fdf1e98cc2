"""Issuing single codes: the one entry point every other part of the product calls."""

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from campaigns.codes import CodeConfig, draw_code
from campaigns.errors import CampaignError
from campaigns.models import Campaign, CampaignStatus, CampaignType, Code, CodeSource, DiscountType
from campaigns.signals import code_issued
from retention.actors import Actor
from retention.audit import record_audit
from retention.messaging.services.webhooks import emit_webhook
from retention.models import Customer

ISSUED_ACTION = "code.issued"
COLLISION_RETRIES = 5  # at 60 bits one collision is astronomically rare; five in a row means a full space


def issuing_refusal(campaign: Campaign, now: datetime) -> CampaignError | None:
    """Why `campaign` cannot issue a code at `now`, or None. A scheduled campaign may: its codes wait."""
    status = campaign.status_at(now)
    if status == CampaignStatus.DRAFT:
        return CampaignError("This campaign is a draft: launch it before issuing codes.", code="campaign_draft")
    if status == CampaignStatus.ENDED:
        return CampaignError("This campaign has ended: it issues no more codes.", code="campaign_ended")
    if status == CampaignStatus.PAUSED:
        return CampaignError("This campaign is paused: it issues no codes until resumed.", code="campaign_paused")
    if campaign.is_issuing_stopped:
        return CampaignError("This campaign has stopped issuing codes; codes already given stay valid.",
                             code="issuing_stopped")
    if campaign.type == CampaignType.PUBLIC:
        return CampaignError("A public campaign has one shared code and issues no others.", code="public_campaign")
    return None


def code_expiry(campaign: Campaign, issued_at: datetime) -> datetime | None:
    """issued_at + code_valid_days, or the campaign's end when that comes first (None: no expiry)."""
    candidates = [moment for moment in (
        issued_at + timedelta(days=campaign.code_valid_days) if campaign.code_valid_days else None,
        campaign.ends_at,
    ) if moment is not None]
    return min(candidates) if candidates else None


@transaction.atomic
def issue_code(
    *,
    campaign: Campaign,
    customer: Customer | None = None,
    actor: Actor,
    source: str = CodeSource.API,
    now: datetime | None = None,
    amount_override: int | None = None,
    percent_override: int | None = None,
    sku_limit: str = "",
    is_automatic: bool = False,
    note: str = "",
) -> Code:
    """Issue one new unique code of `campaign`, assigned to `customer` when given.

    NOT durable on purpose: callers (support desk, landing pages, calendar, loyalty, referrals) call it inside
    their own transaction, so their row and the code commit or roll back together; alone it is atomic.
    Refuses (CampaignError, nothing written) a draft, paused, ended or stopped-issuing campaign, a public
    campaign, an erased customer and overrides out of range. The code expires code_valid_days after issue
    or at the campaign's end, whichever is first; a gift card starts with the campaign's balance; max_uses
    is the campaign's max_uses_per_code. Counts codes_issued. Sends `code_issued` after commit.
    """
    now = now or timezone.now()
    campaign = Campaign.objects.get(pk=campaign.pk)  # fresh flags: a pause a second ago counts
    refusal = issuing_refusal(campaign, now)
    if refusal is not None:
        raise refusal
    if customer is not None and customer.is_erased:
        raise CampaignError("This customer's data was erased: no new codes.", code="customer_erased",
                            fields={"customer": ["Erased customer."]})
    if percent_override is not None and not 1 <= percent_override <= 100:
        raise CampaignError("A percent between 1 and 100.", code="invalid",
                            fields={"percent": ["A percent between 1 and 100."]})
    if amount_override is not None and amount_override < 0:
        raise CampaignError("An amount of 0 or more.", code="invalid", fields={"amount": ["0 or more."]})

    config = CodeConfig.for_campaign(campaign)
    code = Code(
        campaign=campaign, customer=customer, source=source, issued_at=now,
        expires_at=code_expiry(campaign, now), max_uses=campaign.max_uses_per_code,
        balance=campaign.gift_card_balance if campaign.discount_type == DiscountType.GIFT_CARD else None,
        amount_override=amount_override, percent_override=percent_override, sku_limit=sku_limit or "",
        is_automatic=is_automatic, note=(note or "")[:255],
    )
    for attempt in range(COLLISION_RETRIES):
        code.code = draw_code(config)
        try:
            with transaction.atomic():  # a savepoint, so a collision leaves the caller's transaction usable
                code.save(force_insert=True)
            break
        except IntegrityError:
            if attempt == COLLISION_RETRIES - 1 or Code.objects.filter(code=code.code).count() == 0:
                raise  # not a collision (or the space is full): a real error
            code.pk = None
    Campaign.objects.filter(pk=campaign.pk).update(codes_issued=F("codes_issued") + 1)
    record_audit(actor=actor, action=ISSUED_ACTION, target=code,
                 after={"campaign": campaign.slug, "customer": customer.source_id if customer else None,
                        "source": source, "expires_at": code.expires_at.isoformat() if code.expires_at else None})
    # API.md's code.issued webhook, recorded in this transaction: a rolled-back issue announces nothing.
    emit_webhook(type="code.issued", now=now, data={
        "code": code.code, "campaign": campaign.slug, "customer": customer.source_id if customer else None,
        "source": source, "expires_at": code.expires_at, "is_automatic": is_automatic,
    })
    transaction.on_commit(lambda: code_issued.send(sender=Code, code=code))
    return code


WITHDRAWN = "withdrawn"  # disabled by this call
ALREADY_WITHDRAWN = "already_withdrawn"  # was disabled before: nothing changed
ALREADY_USED = "already_used"  # redeemed at least once: left as it is, the value was given


@transaction.atomic
def withdraw_code(*, code: Code, reason: str, actor: Actor) -> str:
    """Take back a code nobody has used yet (e.g. the reward of a referral cancelled by a refund).

    NOT durable (like issue_code): the caller's cancellation and the withdrawal commit together. One conditional
    UPDATE disables the code only while uses_count is 0 and it is enabled, so a redemption racing with it either
    lands first (the code counts as used and stays) or finds it disabled (redemption refuses disabled codes).
    Idempotent: a second call answers ALREADY_WITHDRAWN and writes nothing. Returns WITHDRAWN, ALREADY_WITHDRAWN
    or ALREADY_USED; only WITHDRAWN is audited (`code.withdrawn`, with the reason).
    """
    if Code.objects.filter(pk=code.pk, is_disabled=False, uses_count=0).update(is_disabled=True) == 1:
        code.is_disabled = True
        record_audit(actor=actor, action="code.withdrawn", target=code, before={"is_disabled": False},
                     after={"is_disabled": True, "reason": (reason or "")[:255]})
        return WITHDRAWN
    code.refresh_from_db(fields=["is_disabled", "uses_count"])
    return ALREADY_USED if code.uses_count > 0 else ALREADY_WITHDRAWN
