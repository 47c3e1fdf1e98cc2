"""Validate, redeem and roll back codes.

Limits are guarded by the database, never by read-then-save: a redemption takes, in one transaction and
always in this lock order, (1) a new Redemption row (its conditional unique constraint on
(code, order_source_id) makes a retried order collide), (2) the customer's CustomerCampaignUsage row
within max_redemptions_per_customer, then, after the audit entry, (3) the code row: a use within
max_uses, and a gift card's balance, (4) the campaign's counters: for a campaign with a cap or a budget,
the campaign row's redemptions_count and discount_total within max_redemptions and budget; for one with
neither, one of its CampaignCounterShard rows. Each step is a conditional statement whose row count must be
1; a refusal raises CodeRejected and the whole transaction, earlier steps included, rolls back. Rollback
takes the same rows in the same order, so the two cannot deadlock each other.

The code row (hot for a public code) and the counters come last: a row lock is held until COMMIT (an fsync
here), so taking them just before it lets concurrent redemptions queue on them for the shortest time.
Profiled on the shared 2-core machine, a COMMIT took ~12 ms under load, and every redemption of a
campaign queued on its row for that long: about 80 redemptions/s per campaign at best, hence the shards.
A campaign's counters are the row's columns plus its shards (campaigns.queries.redemption_counters); the capped path's
conditional UPDATE adds the shards too, so a cap set on a campaign that ran uncapped counts what it had.
The shard path holds a FOR SHARE lock on the campaign row (PostgreSQL) while it checks that the campaign
is still unpaused, uncapped and unbudgeted: a pause or a new cap (an UPDATE of that row) waits for the
redemptions in flight and every later one sees it, as with the conditional UPDATE before.

On PostgreSQL the writes after the rules are one statement (`_write_in_one_statement`, a data-modifying CTE whose
steps each select from the previous one, so they keep this order and these conditions); SQLite, and tests that
compare the two, take them step by step through the ORM (`_write_step_by_step`). Each ORM statement cost about
1 ms of Python CPU here, which capped the endpoint near 130 redemptions/s on 2 cores.

The rules are checked on the rows as read first (through gift_card_empty), so the reasons keep
RejectReason's order; only a race decided by the UPDATEs can answer customer_limit_reached before
code_used.

Decisions:
- A retried order (the same code and order `source_id` while the first redemption stands) gets the first
  redemption back, unchanged, when the customer is the same; for another customer it is `code_used`.
  Changing a redeemed order's amounts means rolling back and redeeming again.
- A customer `source_id` that names nobody creates nothing: an assigned code answers
  `not_assigned_to_customer`, any other rule needing a customer `customer_required`; a code needing no
  customer is redeemed without one.
- Customer usage is counted for every redemption with a known customer, so a per-customer cap added
  later counts earlier redemptions too (one upsert statement: it costs one round trip, and a per-customer
  row is not hot).
- For an assigned code named with its holder's source_id (a shop's checkout, the common case), the holder
  comes with the code's query instead of a second one.
"""

# ruff: noqa: S608 - the hand-written statements take table names from the models; every value is a parameter.
import functools
import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, F, OuterRef, Q, Sum
from django.db.models.functions import Greatest
from django.utils import timezone

from campaigns.codes import normalise_code
from campaigns.discounts import OrderInput, describe_discount
from campaigns.errors import CodeRejected, RejectReason
from campaigns.models import (
    COUNTER_SHARDS,
    Campaign,
    CampaignCounterShard,
    Code,
    CustomerCampaignUsage,
    DiscountType,
    Redemption,
    RedemptionStatus,
)
from campaigns.queries import shard_sum
from campaigns.rules import RuleContext, first_failing_rule
from campaigns.signals import code_redeemed, redemption_rolled_back
from retention.actors import Actor
from retention.audit import audit_values, record_audit
from retention.compiled import CompiledFirst, execute_prepared
from retention.errors import InvalidInput, NotFound
from retention.messaging.models import WebhookDelivery, WebhookDeliveryStatus, WebhookEvent, WebhookEventType
from retention.messaging.services.webhooks import emit_webhook, enqueue_deliveries_after_commit
from retention.models import ApiKey, AuditEntry, Customer, WebhookEndpoint


@dataclass(frozen=True)
class ValidationResult:
    valid: bool
    code: Code | None = None
    reason: RejectReason | None = None
    discount_amount: int = 0
    discount: dict | None = None

    @property
    def campaign(self) -> Campaign | None:
        return self.code.campaign if self.code is not None else None

    @property
    def message(self) -> str:
        return self.reason.label if self.reason is not None else ""


def _code_query(text: str):
    has_segments = Exists(Campaign.segments.through.objects.filter(campaign_id=OuterRef("campaign_id")))
    return Code.objects.select_related("campaign", "customer").annotate(has_segments=has_segments).filter(code=text)


# Compiled once per connection: compiling this ~100-column select cost more CPU than running it.
_find_code_query = CompiledFirst(_code_query, prepare=True)


def find_code(text: str) -> Code | None:
    """The code with this text (case-insensitive), with its campaign and holder, in one query."""
    normalised = normalise_code(text or "")
    if not normalised:
        return None
    code = _find_code_query.get(normalised)
    if code is not None:
        code.campaign.has_segments = code.has_segments  # read by campaigns.rules, saves a query
    return code


def _find_customer(source_id: str | None) -> Customer | None:
    if not source_id:
        return None
    return Customer.objects.filter(source_id=source_id).first()


def _customer_for(code: Code | None, source_id: str | None) -> Customer | None:
    """The customer named by the shop; an assigned code's holder came with the code, saving a query."""
    if code is None or not source_id:
        return None
    if code.customer is not None and code.customer.source_id == source_id:
        return code.customer
    return _find_customer(source_id)


def _spends_balance(code: Code) -> bool:
    """A gift card pays from the code's balance; a support override turns it into a plain discount."""
    return (code.campaign.discount_type == DiscountType.GIFT_CARD and code.amount_override is None
            and code.percent_override is None)


def validate_code(*, code: str, customer_source_id: str | None = None, order: OrderInput,
                  now: datetime | None = None) -> ValidationResult:
    """Whether `code` would be accepted for `order`, and the discount it would give. Reads only."""
    found = find_code(code)
    context = RuleContext(code=found, order=order, now=now or timezone.now(),
                          customer=_customer_for(found, customer_source_id), customer_source_id=customer_source_id)
    reason = first_failing_rule(context)
    if reason is not None:
        return ValidationResult(valid=False, code=found, reason=reason)
    return ValidationResult(valid=True, code=found, discount_amount=context.discount_amount,
                            discount=describe_discount(found))


def redeem_code(*, code: str, customer_source_id: str | None, order: OrderInput, actor: Actor,
                api_key: ApiKey | None = None, now: datetime | None = None) -> Redemption:
    """Redeem `code` on `order`; raise CodeRejected(reason) when a rule or a limit says no.

    The transaction is `_redeem`; a refused or colliding attempt is looked up again here, after its
    transaction rolled back (PostgreSQL refuses any statement in a failed transaction), to answer a
    retried order with its first redemption.
    """
    if not order.source_id:
        raise InvalidInput("An order needs its source_id.", fields={"order.source_id": ["This field is required."]})
    try:
        return _redeem(code_text=code, customer_source_id=customer_source_id, order=order, actor=actor,
                       api_key=api_key, now=now or timezone.now())
    except (CodeRejected, IntegrityError) as error:
        if isinstance(error, CodeRejected) and error.reason == RejectReason.NOT_FOUND:
            raise
        earlier = (Redemption.objects.select_related("code__campaign", "campaign", "customer")
                   .filter(code__code=normalise_code(code), order_source_id=order.source_id,
                           status=RedemptionStatus.SUCCEEDED).first())
        if earlier is None:
            raise
        if earlier.customer is not None and earlier.customer.source_id != customer_source_id:
            raise CodeRejected(RejectReason.CODE_USED) from error
        return earlier


@transaction.atomic(durable=True)
def _redeem(*, code_text: str, customer_source_id: str | None, order: OrderInput, actor: Actor,
            api_key: ApiKey | None, now: datetime) -> Redemption:
    code = find_code(code_text)
    customer = _customer_for(code, customer_source_id)
    context = RuleContext(code=code, order=order, now=now, customer=customer, customer_source_id=customer_source_id)
    # Rules 15-19 (uses, balance, caps, budget) are decided again by the conditional UPDATEs below; the
    # per-customer cap is decided only there, which saves reading the usage row.
    reason = first_failing_rule(context, last=RejectReason.GIFT_CARD_EMPTY)
    if reason is not None:
        raise CodeRejected(reason)
    if connection.vendor == "postgresql" and ONE_STATEMENT:
        return _write_in_one_statement(code=code, customer=customer, order=order, actor=actor, api_key=api_key,
                                       amount=context.discount_amount, now=now)
    return _write_step_by_step(code=code, customer=customer, order=order, actor=actor, api_key=api_key,
                               amount=context.discount_amount, now=now)


def _write_step_by_step(*, code: Code, customer: Customer | None, order: OrderInput, actor: Actor,
                        api_key: ApiKey | None, amount: int, now: datetime) -> Redemption:
    """The redemption's writes through the ORM, one statement per step (SQLite; the reference for the
    one-statement path below, which must write the same rows)."""
    campaign = code.campaign
    redemption = Redemption.objects.create(
        code=code, campaign=campaign, customer=customer, order_source_id=order.source_id,
        order_amount=order.amount, currency=order.currency, discount_amount=amount, api_key=api_key,
        created_at=now,
    )
    if customer is not None:
        _count_customer_use(campaign, customer)
    record_audit(actor=actor, action="code.redeemed", target=redemption,
                 after={"code": code.code, "campaign": campaign.pk, "order": order.source_id,
                        "discount_amount": amount, "currency": order.currency})
    # Before the hot rows below are locked: the webhook's rows must not lengthen their lock.
    emit_webhook(type="code.redeemed", now=now, data=_webhook_data(redemption))
    _take_code_use(code, amount)
    _count_campaign_use(campaign, amount, shard=redemption.pk % COUNTER_SHARDS)
    transaction.on_commit(lambda: code_redeemed.send(sender=Redemption, redemption=redemption))
    return redemption


# PostgreSQL writes a redemption in one statement (below); False forces the step-by-step ORM path, which tests
# use as the reference for the rows the one statement must write.
ONE_STATEMENT = True


def _write_in_one_statement(*, code: Code, customer: Customer | None, order: OrderInput, actor: Actor,
                            api_key: ApiKey | None, amount: int, now: datetime) -> Redemption:
    """The writes of _write_step_by_step in one round trip: a data-modifying CTE that inserts the redemption,
    its audit entry, the code.redeemed event and its deliveries, then takes the customer's use, the code's use
    and the campaign's counters, each step conditional on the previous one (the same lock order and the same
    conditions as the step-by-step path), and answers which step changed no row. A refusal raises CodeRejected
    and the atomic block rolls the whole statement back; the reason is read from the rows as the step-by-step
    path reads it. An ORM statement cost ~1 ms of CPU here, the whole statement costs less than one."""
    campaign = code.campaign
    cap = campaign.max_redemptions_per_customer
    if customer is not None and cap is not None and cap < 1:
        raise CodeRejected(RejectReason.CUSTOMER_LIMIT_REACHED)
    redemption = Redemption(code=code, campaign=campaign, customer=customer, order_source_id=order.source_id,
                            order_amount=order.amount, currency=order.currency, discount_amount=amount,
                            api_key=api_key, created_at=now)
    # The same values record_audit and emit_webhook would write; the redemption's id is put in by the statement.
    audit = audit_values(actor=actor, action="code.redeemed", target=redemption,
                         after={"code": code.code, "campaign": campaign.pk, "order": order.source_id,
                                "discount_amount": amount, "currency": order.currency})
    uncapped = _is_uncapped(campaign)
    sql = _one_statement_sql(spends=_spends_balance(code), customer=customer is not None,
                             capped_customer=cap is not None, uncapped=uncapped)
    params = {
        "code": code.pk, "campaign": campaign.pk, "customer": customer.pk if customer is not None else None,
        "order": order.source_id, "order_amount": order.amount, "currency": order.currency, "amount": amount,
        "status": RedemptionStatus.SUCCEEDED.value, "api_key": api_key.pk if api_key is not None else None,
        "now": now, "cap": cap,
        "actor_user": audit["actor_user"].pk if audit["actor_user"] is not None else None,
        "actor_api_key": audit["actor_api_key"].pk if audit["actor_api_key"] is not None else None,
        "actor_label": audit["actor_label"], "action": audit["action"], "object_type": audit["object_type"],
        "object_repr": audit["object_repr"], "after": json.dumps(audit["after"]), "audited_at": timezone.now(),
        "event": uuid.uuid4(), "event_type": WebhookEventType.CODE_REDEEMED.value,
        "queued": WebhookDeliveryStatus.QUEUED.value,
        "data": json.dumps(_webhook_data(redemption), cls=DjangoJSONEncoder),
    }
    with connection.cursor() as cursor:
        execute_prepared(cursor, sql, params, _PARAMETER_TYPES)
        redemption.pk, deliveries, customer_counted, code_taken, campaign_counted, _audited = cursor.fetchone()
    if not customer_counted:
        raise CodeRejected(RejectReason.CUSTOMER_LIMIT_REACHED)
    if not code_taken:
        _refuse_code_use(code)
    if not campaign_counted:
        if not uncapped:
            _refuse_campaign_count(campaign)
        # Paused or given a limit since it was read: the campaign row's conditional UPDATE decides, as in
        # _count_campaign_use.
        _count_on_campaign_row(campaign, amount)
    redemption._state.adding = False
    redemption._state.db = connection.alias
    if deliveries:
        enqueue_deliveries_after_commit(deliveries)
    transaction.on_commit(lambda: code_redeemed.send(sender=Redemption, redemption=redemption))
    return redemption


# The statement's parameters as PostgreSQL is to take them (prepared once per connection: execute_prepared).
_PARAMETER_TYPES = {
    "code": "bigint", "campaign": "bigint", "customer": "bigint", "order": "text", "order_amount": "bigint",
    "currency": "text", "amount": "bigint", "status": "text", "api_key": "bigint", "now": "timestamptz",
    "cap": "bigint", "actor_user": "bigint", "actor_api_key": "bigint", "actor_label": "text", "action": "text",
    "object_type": "text", "object_repr": "text", "after": "text", "audited_at": "timestamptz", "event": "uuid",
    "event_type": "text", "queued": "text", "data": "text",
}


@functools.cache
def _one_statement_sql(*, spends: bool, customer: bool, capped_customer: bool, uncapped: bool) -> str:
    """The statement of _write_in_one_statement for one combination of the rows' shapes (cached: 16 at most).

    Each step selects FROM the previous one, so it runs only when that one changed its row, and in this order:
    the redemption, the customer's usage, the code, the campaign's counters (the module's lock order).
    Table names come from the models; every value is a parameter. `%%` is a literal % for the driver."""
    redemptions, audits, events, deliveries = (_table(Redemption), _table(AuditEntry), _table(WebhookEvent),
                                               _table(WebhookDelivery))
    usages, codes, campaigns, shards = (_table(CustomerCampaignUsage), _table(Code), _table(Campaign),
                                        _table(CampaignCounterShard))
    endpoints = _table(WebhookEndpoint)
    steps = [
        f"""redemption AS (
            INSERT INTO {redemptions} (code_id, campaign_id, customer_id, order_source_id, order_amount, currency,
                                       discount_amount, status, api_key_id, created_at, rolled_back_at,
                                       rollback_reason)
            VALUES (%(code)s, %(campaign)s, %(customer)s, %(order)s, %(order_amount)s, %(currency)s, %(amount)s,
                    %(status)s, %(api_key)s, %(now)s, NULL, '')
            RETURNING id)""",
        f"""audit AS (
            INSERT INTO {audits} (actor_user_id, actor_api_key_id, actor_label, action, object_type, object_id,
                                  object_repr, before, after, created_at)
            SELECT %(actor_user)s, %(actor_api_key)s, %(actor_label)s, %(action)s, %(object_type)s, id::text,
                   %(object_repr)s, NULL, %(after)s::jsonb, %(audited_at)s FROM redemption
            RETURNING id)""",
        f"""event AS (
            INSERT INTO {events} (id, type, data, created_at)
            SELECT %(event)s, %(event_type)s, jsonb_set(%(data)s::jsonb, '{{id}}', to_jsonb(id)), %(now)s
            FROM redemption
            RETURNING id)""",
        # Active endpoints subscribed to the type, as retention.messaging.services.webhooks._subscribed
        # decides: no types (an empty or null list) means every type.
        f"""delivery AS (
            INSERT INTO {deliveries} (event_id, endpoint_id, status, attempts, next_attempt_at, response_status,
                                      response_body, last_error, delivered_at, created_at)
            SELECT event.id, endpoint.id, %(queued)s, 0, %(now)s, NULL, '', '', NULL, %(now)s
            FROM event, {endpoints} endpoint
            WHERE endpoint.is_active AND (endpoint.event_types IS NULL
                                          OR endpoint.event_types IN ('null', '[]', '{{}}', '""', 'false', '0')
                                          OR endpoint.event_types ? %(event_type)s)
            RETURNING id)""",
    ]
    before_code = "redemption"
    if customer:
        limit = f" WHERE {usages}.redemptions_count < %(cap)s" if capped_customer else ""
        steps.append(f"""customer_use AS (
            INSERT INTO {usages} (campaign_id, customer_id, redemptions_count)
            SELECT %(campaign)s, %(customer)s, 1 FROM redemption
            ON CONFLICT (campaign_id, customer_id) DO UPDATE
            SET redemptions_count = {usages}.redemptions_count + 1{limit}
            RETURNING 1)""")
        before_code = "customer_use"
    balance = ", balance = balance - %(amount)s" if spends else ""
    enough = " AND balance >= %(amount)s" if spends else ""
    steps.append(f"""code_use AS (
            UPDATE {codes} SET uses_count = uses_count + 1{balance} FROM {before_code}
            WHERE {codes}.id = %(code)s AND NOT is_disabled AND (max_uses IS NULL OR uses_count < max_uses){enough}
            RETURNING 1)""")
    if uncapped:
        # A shard row, holding the campaign row FOR SHARE while it checks it is still unpaused and uncapped.
        steps.append(f"""counted AS (
            INSERT INTO {shards} (campaign_id, shard, redemptions_count, discount_total)
            SELECT campaign.id, redemption.id %% {COUNTER_SHARDS}, 1, %(amount)s
            FROM {campaigns} campaign, code_use, redemption
            WHERE campaign.id = %(campaign)s AND NOT campaign.is_paused AND campaign.max_redemptions IS NULL
              AND campaign.budget IS NULL
            FOR SHARE OF campaign
            ON CONFLICT (campaign_id, shard) DO UPDATE
            SET redemptions_count = {shards}.redemptions_count + excluded.redemptions_count,
                discount_total = {shards}.discount_total + excluded.discount_total
            RETURNING 1)""")
    else:
        # As _count_on_campaign_row: the limits count the shards too.
        shard_total = f"(SELECT COALESCE(SUM(s.{{0}}), 0) FROM {shards} s WHERE s.campaign_id = {campaigns}.id)"
        steps.append(f"""counted AS (
            UPDATE {campaigns} SET redemptions_count = redemptions_count + 1,
                                   discount_total = discount_total + %(amount)s
            FROM code_use
            WHERE {campaigns}.id = %(campaign)s AND NOT is_paused
              AND (max_redemptions IS NULL
                   OR redemptions_count < max_redemptions - {shard_total.format("redemptions_count")})
              AND (budget IS NULL
                   OR discount_total <= budget - %(amount)s - {shard_total.format("discount_total")})
            RETURNING 1)""")
    customer_counted = "EXISTS (SELECT FROM customer_use)" if customer else "true"
    return (f"WITH {', '.join(steps)} "  # noqa: S608
            f"SELECT redemption.id, (SELECT array_agg(id ORDER BY id) FROM delivery), {customer_counted}, "
            "EXISTS (SELECT FROM code_use), EXISTS (SELECT FROM counted), (SELECT count(*) FROM audit) "
            "FROM redemption")


def _webhook_data(redemption: Redemption) -> dict:
    """The body of code.redeemed / redemption.rolled_back (API.md "Webhooks (out)"): the redemption as the API
    answers it, with the order's source_id."""
    return {
        "id": redemption.pk, "code": redemption.code.code, "campaign": redemption.campaign.slug,
        "customer": redemption.customer.source_id if redemption.customer_id else None,
        "order": redemption.order_source_id, "order_amount": redemption.order_amount,
        "discount_amount": redemption.discount_amount, "currency": redemption.currency,
        "status": redemption.status, "created_at": redemption.created_at,
    }


def _take_code_use(code: Code, amount: int) -> None:
    conditions = Q(pk=code.pk, is_disabled=False) & (Q(max_uses__isnull=True) | Q(uses_count__lt=F("max_uses")))
    changes = {"uses_count": F("uses_count") + 1}
    if _spends_balance(code):
        conditions &= Q(balance__gte=amount)
        changes["balance"] = F("balance") - amount
    if Code.objects.filter(conditions).update(**changes) == 1:
        return
    _refuse_code_use(code)


def _refuse_code_use(code: Code) -> None:
    """Raise why the code-use UPDATE changed no row, from the row as it is now."""
    code.refresh_from_db(fields=["is_disabled", "max_uses", "uses_count", "balance"])
    if code.is_disabled:
        raise CodeRejected(RejectReason.CODE_DISABLED)
    if code.max_uses is not None and code.uses_count >= code.max_uses:
        raise CodeRejected(RejectReason.CODE_USED)
    raise CodeRejected(RejectReason.GIFT_CARD_EMPTY)


def _count_customer_use(campaign: Campaign, customer: Customer) -> None:
    cap = campaign.max_redemptions_per_customer
    if cap is not None and cap < 1:
        raise CodeRejected(RejectReason.CUSTOMER_LIMIT_REACHED)
    # One upsert: the first redemption inserts the row with 1; later ones add 1 while under the cap. Two first
    # redemptions of one customer at once: the second INSERT waits for the first, then takes the UPDATE branch.
    table = _table(CustomerCampaignUsage)
    # Table names come from the models; every value is a parameter.
    sql = (f"INSERT INTO {table} (campaign_id, customer_id, redemptions_count) VALUES (%s, %s, 1) "  # noqa: S608
           f"ON CONFLICT (campaign_id, customer_id) DO UPDATE SET redemptions_count = {table}.redemptions_count + 1")
    params = [campaign.pk, customer.pk]
    if cap is not None:
        sql += f" WHERE {table}.redemptions_count < %s"
        params.append(cap)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if cursor.rowcount != 1:
            raise CodeRejected(RejectReason.CUSTOMER_LIMIT_REACHED)


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _is_uncapped(campaign: Campaign) -> bool:
    return campaign.max_redemptions is None and campaign.budget is None


def _add_to_shard(campaign_id: int, shard: int, redemptions: int, amount: int, *, guard: bool) -> bool:
    """Add to one counter shard of the campaign, in one statement. With `guard`, only while the campaign is
    unpaused, uncapped and unbudgeted, holding the campaign row FOR SHARE (PostgreSQL; SQLite runs one writer
    at a time anyway) until COMMIT; return whether it counted."""
    table, campaigns = _table(CampaignCounterShard), _table(Campaign)
    where = "id = %s AND NOT is_paused AND max_redemptions IS NULL AND budget IS NULL" if guard else "id = %s"
    lock = " FOR SHARE" if guard and connection.features.has_select_for_update else ""
    sql = (f"INSERT INTO {table} (campaign_id, shard, redemptions_count, discount_total) "  # noqa: S608
           f"SELECT id, %s, %s, %s FROM {campaigns} WHERE {where}{lock} "
           f"ON CONFLICT (campaign_id, shard) DO UPDATE SET "
           f"redemptions_count = {table}.redemptions_count + excluded.redemptions_count, "
           f"discount_total = {table}.discount_total + excluded.discount_total")
    with connection.cursor() as cursor:
        cursor.execute(sql, [shard, redemptions, amount, campaign_id])
        return cursor.rowcount == 1


def _count_campaign_use(campaign: Campaign, amount: int, *, shard: int) -> None:
    # Uncapped and unbudgeted (as read): a shard row, so redemptions do not queue on the campaign row. If the
    # campaign was paused or given a limit since it was read, the conditional UPDATE below decides.
    if _is_uncapped(campaign) and _add_to_shard(campaign.pk, shard, 1, amount, guard=True):
        return
    _count_on_campaign_row(campaign, amount)


def _count_on_campaign_row(campaign: Campaign, amount: int) -> None:
    # The limits count the shards too: a campaign that ran uncapped keeps what it counted there.
    conditions = (
        Q(pk=campaign.pk, is_paused=False)
        & (Q(max_redemptions__isnull=True)
           | Q(redemptions_count__lt=F("max_redemptions") - shard_sum("redemptions_count")))
        & (Q(budget__isnull=True) | Q(discount_total__lte=F("budget") - amount - shard_sum("discount_total")))
    )
    changes = {"redemptions_count": F("redemptions_count") + 1, "discount_total": F("discount_total") + amount}
    if Campaign.objects.filter(conditions).update(**changes) == 1:
        return
    _refuse_campaign_count(campaign)


def _refuse_campaign_count(campaign: Campaign) -> None:
    """Raise why the campaign's conditional UPDATE changed no row, from the row as it is now."""
    campaign.refresh_from_db(fields=["is_paused", "max_redemptions", "redemptions_count", "budget",
                                     "discount_total"])
    if campaign.is_paused:
        raise CodeRejected(RejectReason.CAMPAIGN_PAUSED)
    shards = CampaignCounterShard.objects.filter(campaign=campaign).aggregate(n=Sum("redemptions_count"))
    if campaign.max_redemptions is not None and \
            campaign.redemptions_count + (shards["n"] or 0) >= campaign.max_redemptions:
        raise CodeRejected(RejectReason.LIMIT_REACHED)
    raise CodeRejected(RejectReason.BUDGET_EXHAUSTED)


@transaction.atomic(durable=True)
def rollback_redemption(*, redemption_id: int, reason: str, actor: Actor, now: datetime | None = None) -> Redemption:
    """Undo a redemption once: give back the code's use and balance, the customer's use and the campaign's
    counters. Rolling back a rolled-back redemption answers it as it is and changes nothing.
    Raise NotFound for an unknown id.
    """
    now = now or timezone.now()
    # The status flip is the claim: of two racing rollbacks only one sees a row count of 1.
    claimed = Redemption.objects.filter(pk=redemption_id, status=RedemptionStatus.SUCCEEDED).update(
        status=RedemptionStatus.ROLLED_BACK, rolled_back_at=now, rollback_reason=reason[:255])
    redemption = (Redemption.objects.select_related("code__campaign", "campaign", "customer")
                  .filter(pk=redemption_id).first())
    if redemption is None:
        raise NotFound("No such redemption.")
    if not claimed:
        return redemption
    amount = redemption.discount_amount
    if redemption.customer_id is not None:
        CustomerCampaignUsage.objects.filter(
            campaign_id=redemption.campaign_id, customer_id=redemption.customer_id, redemptions_count__gt=0,
        ).update(redemptions_count=F("redemptions_count") - 1)
    record_audit(actor=actor, action="redemption.rolled_back", target=redemption,
                 before={"status": RedemptionStatus.SUCCEEDED.value},
                 after={"status": RedemptionStatus.ROLLED_BACK.value, "reason": reason[:255],
                        "discount_amount": amount})
    code_changes = {"uses_count": Greatest(F("uses_count") - 1, 0)}
    if _spends_balance(redemption.code):
        code_changes["balance"] = F("balance") + amount
    Code.objects.filter(pk=redemption.code_id).update(**code_changes)
    # The row was read after the status flip: it says rolled_back.
    emit_webhook(type="redemption.rolled_back", now=now, data={**_webhook_data(redemption), "reason": reason[:255]})
    _uncount_campaign_use(redemption)
    transaction.on_commit(lambda: redemption_rolled_back.send(sender=Redemption, redemption=redemption))
    return redemption


def _uncount_campaign_use(redemption: Redemption) -> None:
    """Take one redemption off the campaign's counters: off the row for a capped or budgeted campaign while
    the row holds it, else off a shard (their sum is what counts; a redemption counted on a shard before a
    cap was set is given back there)."""
    amount = redemption.discount_amount
    if not _is_uncapped(redemption.campaign) and Campaign.objects.filter(
        pk=redemption.campaign_id, redemptions_count__gte=1, discount_total__gte=amount,
    ).update(redemptions_count=F("redemptions_count") - 1, discount_total=F("discount_total") - amount):
        return
    _add_to_shard(redemption.campaign_id, redemption.pk % COUNTER_SHARDS, -1, -amount, guard=False)
