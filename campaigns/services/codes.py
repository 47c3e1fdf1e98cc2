"""Issuing single codes: the one entry point every other part of the product calls."""

from datetime import datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import Value
from django.utils import timezone

from campaigns.codes import CodeConfig, draw_code
from campaigns.errors import CampaignError
from campaigns.models import Campaign, CampaignStatus, CampaignType, Code, CodeSource, DiscountType
from campaigns.signals import code_issued
from retention.actors import Actor
from retention.audit import audit_values, record_audit
from retention.compiled import CompiledFirst
from retention.messaging.services.webhooks import emit_webhook, emit_webhooks
from retention.models import AuditEntry, Customer

ISSUED_ACTION = "code.issued"
COLLISION_RETRIES = 5  # at 60 bits one collision is astronomically rare; five in a row means a full space
INSERT_BATCH = 500  # codes per INSERT statement (SQLite's parameter limit: 15 columns × 500 < 32766)


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
    # The refusals come before the transaction: a caller that catches one keeps a usable transaction
    # without a savepoint (nothing was written).
    campaign = _fresh_campaign(campaign.pk)  # fresh flags: a pause a second ago counts
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

    code = Code(
        campaign=campaign, customer=customer, source=source, issued_at=now,
        expires_at=code_expiry(campaign, now), max_uses=campaign.max_uses_per_code,
        balance=campaign.gift_card_balance if campaign.discount_type == DiscountType.GIFT_CARD else None,
        amount_override=amount_override, percent_override=percent_override, sku_limit=sku_limit or "",
        is_automatic=is_automatic, note=(note or "")[:255],
    )
    # No savepoint (two statements saved on every code): a collision is skipped by ON CONFLICT, not raised.
    with transaction.atomic(savepoint=False):
        full = bool(insert_codes([code], CodeConfig.for_campaign(campaign)))
        if not full:
            record_audit(actor=actor, action=ISSUED_ACTION, target=code, after=_audit_after(code, customer))
            # API.md's code.issued webhook, recorded in this transaction: a rolled-back issue announces nothing.
            emit_webhook(type="code.issued", now=now, data=_webhook_data(code, campaign, customer))
            _count_issued(campaign.pk, 1)  # last: the campaign row stays locked until the caller commits
            transaction.on_commit(lambda: code_issued.send(sender=Code, code=code))
    if full:  # raised outside the block, having written nothing: the caller's transaction stays usable
        raise IntegrityError("Could not draw a free code: the code space is full.")
    return code


def issue_codes(*, campaign: Campaign, customers: list[Customer], actor: Actor, source: str = CodeSource.API,
                now: datetime | None = None, notes: list[str] | None = None) -> list[Code]:
    """issue_code for many customers of one campaign (a bulk referral registration's welcome codes): one code
    each, in the order given, with a fixed number of statements whatever their number. Same refusals (for the
    campaign, or any erased customer: nothing written), same rows, counter, audit entries, code.issued
    webhooks and `code_issued` signals as that many issue_code calls. Not durable, like issue_code."""
    now = now or timezone.now()
    if not customers:
        return []
    campaign = _fresh_campaign(campaign.pk)
    refusal = issuing_refusal(campaign, now)
    if refusal is not None:
        raise refusal
    if any(customer.is_erased for customer in customers):
        raise CampaignError("This customer's data was erased: no new codes.", code="customer_erased",
                            fields={"customer": ["Erased customer."]})
    notes = notes or [""] * len(customers)
    expires_at = code_expiry(campaign, now)
    balance = campaign.gift_card_balance if campaign.discount_type == DiscountType.GIFT_CARD else None
    codes = [Code(campaign=campaign, customer=customer, source=source, issued_at=now, expires_at=expires_at,
                  max_uses=campaign.max_uses_per_code, balance=balance, note=(note or "")[:255])
             for customer, note in zip(customers, notes, strict=True)]
    with transaction.atomic(savepoint=False):
        if insert_codes(codes, CodeConfig.for_campaign(campaign)):
            raise IntegrityError("Could not draw enough free codes: the code space is full.")
        AuditEntry.objects.bulk_create([audit_entry(
            actor=actor, action=ISSUED_ACTION, target=code, after=_audit_after(code, customer))
            for code, customer in zip(codes, customers, strict=True)], batch_size=INSERT_BATCH)
        emit_webhooks(type="code.issued", now=now, items=[_webhook_data(code, campaign, customer)
                                                          for code, customer in zip(codes, customers, strict=True)])
        # Last: the campaign row stays locked until the caller commits, and concurrent batches queue on it.
        _count_issued(campaign.pk, len(codes))
        transaction.on_commit(lambda: [code_issued.send(sender=Code, code=code) for code in codes])
    return codes


def _audit_after(code: Code, customer: Customer | None) -> dict:
    return {"campaign": code.campaign.slug, "customer": customer.source_id if customer else None,
            "source": code.source, "expires_at": code.expires_at.isoformat() if code.expires_at else None}


def _webhook_data(code: Code, campaign: Campaign, customer: Customer | None) -> dict:
    return {"code": code.code, "campaign": campaign.slug, "customer": customer.source_id if customer else None,
            "source": code.source, "expires_at": code.expires_at, "is_automatic": code.is_automatic}


def audit_entry(*, actor: Actor, action: str, target, after: dict, before: dict | None = None) -> AuditEntry:
    """The row record_audit would write, unsaved, for a bulk_create."""
    return AuditEntry(**audit_values(actor=actor, action=action, target=target, before=before, after=after))


def _fresh_campaign(campaign_id: int) -> Campaign:
    campaign = _campaign_query.get(campaign_id)
    if campaign is None:
        raise Campaign.DoesNotExist("Campaign matching query does not exist.")
    return campaign


# The campaign re-read on every issue, compiled and planned once per connection (retention.compiled); the id goes
# in as Value so the sentinel reaches the parameters unchanged.
_campaign_query = CompiledFirst(lambda campaign_id: Campaign.objects.filter(pk=Value(campaign_id)), prepare=True)


def _count_issued(campaign_id: int, count: int) -> None:
    # One hand-written UPDATE: the ORM's compilation of F() + n cost more than the statement.
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {Campaign._meta.db_table} SET codes_issued = codes_issued + %s "  # noqa: S608
                       "WHERE id = %s", [count, campaign_id])


def insert_codes(codes: list[Code], config: CodeConfig) -> list[Code]:
    """INSERT the unsaved `codes` with freshly drawn texts, setting their pk and code. Not durable.

    One INSERT ... ON CONFLICT (code) DO NOTHING RETURNING per INSERT_BATCH codes: a text that is already
    taken is skipped by PostgreSQL (or SQLite) instead of failing the transaction, and only those codes are
    drawn again, up to COLLISION_RETRIES times. Returns the codes still without a row (the space is full)."""
    fields = [field for field in Code._meta.concrete_fields if not field.primary_key]
    table, quote = Code._meta.db_table, connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    waiting = list(codes)
    for _attempt in range(COLLISION_RETRIES):
        texts = dict.fromkeys(draw_code(config) for _ in waiting)
        drawn = {}
        for code, text in zip(waiting, texts, strict=False):  # a repeated draw leaves its code waiting
            code.code = text
            drawn[text] = code
        pending = list(drawn.values())
        for start in range(0, len(pending), INSERT_BATCH):
            chunk = pending[start:start + INSERT_BATCH]
            row = "(" + ", ".join(["%s"] * len(fields)) + ")"
            params = [field.get_db_prep_save(field.pre_save(code, True), connection)
                      for code in chunk for field in fields]
            with connection.cursor() as cursor:
                cursor.execute(f"INSERT INTO {table} ({columns}) VALUES {', '.join([row] * len(chunk))} "  # noqa: S608
                               f"ON CONFLICT ({quote('code')}) DO NOTHING RETURNING id, {quote('code')}", params)
                for pk, text in cursor.fetchall():
                    drawn[text].pk = pk
                    drawn[text]._state.adding = False
        waiting = [code for code in codes if code.pk is None]
        if not waiting:
            break
    return waiting


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
