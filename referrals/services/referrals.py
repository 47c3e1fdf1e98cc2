"""Registering a referral: the friend signs up with a referrer's code."""

from datetime import datetime

from django.db import IntegrityError, connection, transaction
from django.db.models import Count
from django.utils import timezone

from campaigns.models import CodeSource, DiscountType
from campaigns.services.codes import audit_entry, issue_code, issue_codes
from referrals.errors import ReferralError, ReferralReason
from referrals.models import (
    FraudSignal,
    Referral,
    ReferralCode,
    ReferralProgram,
    ReferralReward,
    RewardRole,
    RewardType,
)
from referrals.services.fraud import BURST_WINDOW, is_self_referral, signals_from
from referrals.services.rewards import month_start
from retention.actors import Actor
from retention.audit import record_audit
from retention.compiled import CompiledFirst, execute_prepared
from retention.models import AuditEntry, Customer, Order

# The code with its program, welcome campaign and referrer, compiled to SQL (and planned) once per connection:
# the ORM's compilation of this three-table select_related cost more than the statement (retention.compiled).
_code_query = CompiledFirst(lambda text: ReferralCode.objects.select_related("program__friend_campaign", "customer")
                            .filter(code=text), prepare=True)


def _find_code(code: str) -> ReferralCode:
    found = _code_query.get((code or "").strip().upper())
    if found is None:
        raise ReferralError(ReferralReason.UNKNOWN_CODE, fields={"referral_code": ["Unknown referral code."]})
    return found


def _facts(program: ReferralProgram, code: ReferralCode, friend: Customer, *, ip_address: str | None,
           device_id: str, now: datetime) -> dict:
    """Every read the refusals and the fraud checks need, in one statement: an order of the friend, an earlier
    referral of the friend, the referrer's rewards this month and the code's other sign-ups (what
    fraud.signals_from reads). Hand-written: the ORM's compilation of these six subqueries cost several
    times PostgreSQL's work. The parts that do not apply read a constant, so the text has one shape."""
    limited = program.max_rewards_per_referrer_per_month is not None
    sql = (
        f"SELECT EXISTS (SELECT 1 FROM {Order._meta.db_table} WHERE customer_id = %s), "  # noqa: S608
        f"EXISTS (SELECT 1 FROM {REFERRALS} WHERE program_id = %s AND friend_id = %s), "
        f"CASE WHEN %s THEN (SELECT COUNT(*) FROM {REWARDS} WHERE program_id = %s AND customer_id = %s "
        "AND role = %s AND is_cancelled = %s AND created_at >= %s) ELSE 0 END, "
        f"CASE WHEN %s THEN EXISTS (SELECT 1 FROM {REFERRALS} WHERE code_id = %s AND device_id = %s) ELSE %s END, "
        f"CASE WHEN %s THEN EXISTS (SELECT 1 FROM {REFERRALS} WHERE code_id = %s AND ip_address = %s) ELSE %s END, "
        f"(SELECT COUNT(*) FROM {REFERRALS} WHERE code_id = %s AND registered_at > %s AND registered_at <= %s)"
    )
    moment = connection.ops.adapt_datetimefield_value  # SQLite stores naive UTC text
    params = [friend.pk, program.pk, friend.pk,
              limited, program.pk, code.customer_id, RewardRole.REFERRER, False, moment(month_start(now)),
              bool(device_id), code.pk, device_id, False,
              bool(ip_address), code.pk, ip_address, False,
              code.pk, moment(now - BURST_WINDOW), moment(now)]
    with connection.cursor() as cursor:
        execute_prepared(cursor, sql, params, types=FACT_TYPES)
        row = cursor.fetchone()
    names = ("has_order", "referred", "rewards_this_month", "fraud_same_device", "fraud_same_ip", "fraud_recent")
    facts = dict(zip(names, row, strict=True))
    for name in ("has_order", "referred", "fraud_same_device", "fraud_same_ip"):
        facts[name] = bool(facts[name])  # SQLite answers 0/1
    return facts


REFERRALS, REWARDS = Referral._meta.db_table, ReferralReward._meta.db_table
# The parameters' types for PostgreSQL's PREPARE (a CASE condition or a NULL IP could not be inferred).
FACT_TYPES = ["bigint", "bigint", "bigint", "boolean", "bigint", "bigint", "varchar", "boolean", "timestamptz",
              "boolean", "bigint", "varchar", "boolean", "boolean", "bigint", "inet", "boolean", "bigint",
              "timestamptz", "timestamptz"]


@transaction.atomic(durable=True)
def register_referral(*, code: str, friend: Customer, actor: Actor, ip_address: str | None = None,
                      device_id: str = "", now: datetime | None = None) -> Referral:
    """Record that `friend` signed up with the referral `code`; the friend's welcome code is issued now.

    Refusals (ReferralError, nothing written), checked in this order: unknown_code, program_inactive,
    self_referral (same customer, normalised email or phone), not_new_customer (an order before),
    already_referred (one referrer per friend and program, held by a unique constraint), limit_reached
    (the referrer's monthly rewards or the program budget are used up). Softer fraud signals are recorded
    and send the referral to review when it converts.
    """
    now = now or timezone.now()
    referral_code = _find_code(code)
    program, referrer = referral_code.program, referral_code.customer
    if not program.is_enabled:
        raise ReferralError(ReferralReason.PROGRAM_INACTIVE)
    if friend.is_erased:
        raise ReferralError(ReferralReason.NOT_ELIGIBLE, "This customer's data was erased.",
                            fields={"customer": ["Erased customer."]})
    why = is_self_referral(referrer, friend)
    if why:
        raise ReferralError(ReferralReason.SELF_REFERRAL, why, fields={"customer": [why]})
    facts = _facts(program, referral_code, friend, ip_address=ip_address, device_id=device_id or "", now=now)
    if friend.orders_count > 0 or friend.first_order_at is not None or facts["has_order"]:
        raise ReferralError(ReferralReason.NOT_NEW_CUSTOMER, fields={"customer": ["The friend has ordered before."]})
    if facts["referred"]:
        raise ReferralError(ReferralReason.ALREADY_REFERRED, fields={"customer": ["Already referred."]})
    if program.budget is not None and program.budget_spent >= program.budget:
        raise ReferralError(ReferralReason.LIMIT_REACHED, "The program's budget is spent.")
    limit = program.max_rewards_per_referrer_per_month
    if limit is not None and facts["rewards_this_month"] >= limit:
        raise ReferralError(ReferralReason.LIMIT_REACHED, "The referrer has reached this month's rewarded referrals.")
    signals = signals_from(facts, referrer=referrer, friend=friend, ip_address=ip_address)
    try:
        # No savepoint: a lost race raises out of the whole transaction, which then rolls back.
        referral = Referral.objects.create(
            program=program, code=referral_code, referrer=referrer, friend=friend, ip_address=ip_address,
            device_id=(device_id or "")[:255], registered_at=now, needs_review=bool(signals))
    except IntegrityError:  # a concurrent registration of the same friend won
        raise ReferralError(ReferralReason.ALREADY_REFERRED, fields={"customer": ["Already referred."]})
    FraudSignal.objects.bulk_create(FraudSignal(referral=referral, kind=kind, detail=detail[:255], created_at=now)
                                    for kind, detail in signals)
    record_audit(actor=actor, action="referral.registered", target=referral,
                 after={"program": program.pk, "code": referral_code.code, "referrer": referrer.source_id,
                        "friend": friend.source_id, "signals": [kind for kind, _detail in signals]})
    # Last: issuing locks the welcome campaign's counter row until commit.
    if program.friend_campaign_id:
        campaign = program.friend_campaign
        welcome = issue_code(campaign=campaign, customer=friend, actor=actor, source=CodeSource.REFERRAL, now=now,
                             note=f"referral {referral.pk}")
        gift_card = campaign.discount_type == DiscountType.GIFT_CARD
        ReferralReward.objects.create(
            referral=referral, program=program, customer=friend, role=RewardRole.FRIEND,
            type=RewardType.GIFT_CARD if gift_card else RewardType.CODE, code=welcome,
            cost=(campaign.gift_card_balance if gift_card else campaign.amount) or 0, created_at=now)
    return referral


# -- many at once -------------------------------------------------------------------------------------------

REGISTER_BATCH = 1000  # referrals per transaction in register_referrals
RACE_RETRIES = 3  # a batch that lost a race on the unique friend constraint runs again, seeing the winner


def register_referrals(*, entries: list[dict], actor: Actor, now: datetime | None = None) -> list:
    """register_referral for many sign-ups (the bulk API, an import): the same checks, rows, welcome codes,
    audit entries and webhooks, with a fixed number of statements per batch of REGISTER_BATCH (one durable
    transaction each), whatever its size. `entries` are dicts with `code`, `friend` (a Customer) and optionally
    `ip_address`, `device_id`. Returns, in the order given, a Referral or the DomainError that refused it.

    Entries are decided in order, as if registered one after another: a later sign-up on the same code sees
    the earlier ones (burst, device, IP) and a friend appearing twice is already_referred the second time.
    A batch that loses a race with a concurrent registration of the same friend (the unique constraint) rolls
    back and runs again: the re-read then refuses that friend as already_referred."""
    now = now or timezone.now()
    results = []
    for start in range(0, len(entries), REGISTER_BATCH):
        chunk = entries[start:start + REGISTER_BATCH]
        for attempt in range(RACE_RETRIES):
            try:
                results.extend(_register_batch(chunk, actor=actor, now=now))
                break
            except IntegrityError:
                if attempt == RACE_RETRIES - 1:
                    raise
    return results


@transaction.atomic(durable=True)
def _register_batch(entries: list[dict], *, actor: Actor, now: datetime) -> list:
    texts = {(entry["code"] or "").strip().upper() for entry in entries}
    codes = {code.code: code for code in ReferralCode.objects.select_related("program__friend_campaign", "customer")
             .filter(code__in=texts)}
    results: list = [None] * len(entries)
    candidates = []  # (index, entry, code) that passed the checks needing no query
    for index, entry in enumerate(entries):
        code, friend = codes.get((entry["code"] or "").strip().upper()), entry["friend"]
        if code is None:
            results[index] = ReferralError(ReferralReason.UNKNOWN_CODE,
                                           fields={"referral_code": ["Unknown referral code."]})
        elif not code.program.is_enabled:
            results[index] = ReferralError(ReferralReason.PROGRAM_INACTIVE)
        elif friend.is_erased:
            results[index] = ReferralError(ReferralReason.NOT_ELIGIBLE, "This customer's data was erased.",
                                           fields={"customer": ["Erased customer."]})
        elif why := is_self_referral(code.customer, friend):
            results[index] = ReferralError(ReferralReason.SELF_REFERRAL, why, fields={"customer": [why]})
        else:
            candidates.append((index, entry, code))
    facts = _batch_facts(candidates, now=now)
    accepted = []  # (index, referral, code, signals)
    for index, entry, code in candidates:
        program, friend = code.program, entry["friend"]
        ip_address, device_id = entry.get("ip_address"), (entry.get("device_id") or "")[:255]
        refusal = None
        if friend.orders_count > 0 or friend.first_order_at is not None or friend.pk in facts.ordered:
            refusal = ReferralError(ReferralReason.NOT_NEW_CUSTOMER,
                                    fields={"customer": ["The friend has ordered before."]})
        elif (program.pk, friend.pk) in facts.referred:
            refusal = ReferralError(ReferralReason.ALREADY_REFERRED, fields={"customer": ["Already referred."]})
        elif program.budget is not None and program.budget_spent >= program.budget:
            refusal = ReferralError(ReferralReason.LIMIT_REACHED, "The program's budget is spent.")
        elif (program.max_rewards_per_referrer_per_month is not None
              and facts.rewards_this_month.get((program.pk, code.customer_id), 0)
              >= program.max_rewards_per_referrer_per_month):
            refusal = ReferralError(ReferralReason.LIMIT_REACHED,
                                    "The referrer has reached this month's rewarded referrals.")
        if refusal is not None:
            results[index] = refusal
            continue
        code_facts = {"fraud_same_device": bool(device_id) and (code.pk, device_id) in facts.devices,
                      "fraud_same_ip": bool(ip_address) and (code.pk, ip_address) in facts.ips,
                      "fraud_recent": facts.recent.get(code.pk, 0)}
        signals = signals_from(code_facts, referrer=code.customer, friend=friend, ip_address=ip_address)
        # What the next sign-ups of this batch see, as if this one had been registered before them.
        facts.referred.add((program.pk, friend.pk))
        facts.recent[code.pk] = facts.recent.get(code.pk, 0) + 1
        if device_id:
            facts.devices.add((code.pk, device_id))
        if ip_address:
            facts.ips.add((code.pk, ip_address))
        referral = Referral(program=program, code=code, referrer=code.customer, friend=friend, ip_address=ip_address,
                            device_id=device_id, registered_at=now, needs_review=bool(signals))
        accepted.append((index, referral, code, signals))
    if not accepted:
        return results
    # A concurrent registration of the same friend makes this raise IntegrityError: the caller runs it again.
    # Inserted in (program, friend) order, so two batches sharing friends wait for each other, never deadlock.
    Referral.objects.bulk_create(sorted((referral for _, referral, _, _ in accepted),
                                        key=lambda referral: (referral.program_id, referral.friend_id)),
                                 batch_size=REGISTER_BATCH)
    FraudSignal.objects.bulk_create(
        [FraudSignal(referral=referral, kind=kind, detail=detail[:255], created_at=now)
         for _, referral, _, signals in accepted for kind, detail in signals], batch_size=REGISTER_BATCH)
    AuditEntry.objects.bulk_create([audit_entry(
        actor=actor, action="referral.registered", target=referral,
        after={"program": code.program_id, "code": code.code, "referrer": code.customer.source_id,
               "friend": referral.friend.source_id, "signals": [kind for kind, _detail in signals]})
        for _, referral, code, signals in accepted], batch_size=REGISTER_BATCH)
    # Last: issuing locks the welcome campaign's counter row until commit, which concurrent batches share.
    _welcome_codes(accepted, actor=actor, now=now)
    for index, referral, _, _ in accepted:
        results[index] = referral
    return results


class _Facts:
    def __init__(self):
        self.ordered: set[int] = set()
        self.referred: set[tuple[int, int]] = set()
        self.rewards_this_month: dict[tuple[int, int], int] = {}
        self.devices: set[tuple[int, str]] = set()
        self.ips: set[tuple[int, str]] = set()
        self.recent: dict[int, int] = {}


def _batch_facts(candidates: list, *, now: datetime) -> _Facts:
    """What _facts reads for one sign-up, for all of them: one query per kind of fact."""
    facts = _Facts()
    if not candidates:
        return facts
    friend_ids = {entry["friend"].pk for _, entry, _ in candidates}
    code_ids = {code.pk for _, _, code in candidates}
    facts.ordered = set(Order.objects.filter(customer_id__in=friend_ids).order_by()
                        .values_list("customer_id", flat=True).distinct())
    facts.referred = set(Referral.objects.filter(friend_id__in=friend_ids, program_id__in={
        code.program_id for _, _, code in candidates}).values_list("program_id", "friend_id"))
    limited = {(code.program_id, code.customer_id) for _, _, code in candidates
               if code.program.max_rewards_per_referrer_per_month is not None}
    if limited:
        counts = (ReferralReward.objects.filter(
            program_id__in={program for program, _ in limited}, customer_id__in={customer for _, customer in limited},
            role=RewardRole.REFERRER, is_cancelled=False, created_at__gte=month_start(now))
            .order_by().values("program_id", "customer_id").annotate(n=Count("pk")))
        facts.rewards_this_month = {(row["program_id"], row["customer_id"]): row["n"] for row in counts}
    devices = {entry.get("device_id") for _, entry, _ in candidates} - {None, ""}
    if devices:
        facts.devices = set(Referral.objects.filter(code_id__in=code_ids, device_id__in=devices)
                            .values_list("code_id", "device_id").distinct())
    ips = {entry.get("ip_address") for _, entry, _ in candidates} - {None, ""}
    if ips:
        facts.ips = set(Referral.objects.filter(code_id__in=code_ids, ip_address__in=ips)
                        .values_list("code_id", "ip_address").distinct())
    facts.recent = dict(Referral.objects.filter(code_id__in=code_ids, registered_at__gt=now - BURST_WINDOW,
                                                registered_at__lte=now)
                        .order_by().values("code_id").annotate(n=Count("pk")).values_list("code_id", "n"))
    return facts


def _welcome_codes(accepted: list, *, actor: Actor, now: datetime) -> None:
    """The friends' welcome codes, one issue_codes call per friend campaign, and their reward rows."""
    by_campaign: dict[int, list] = {}
    for _, referral, code, _ in accepted:
        if code.program.friend_campaign_id:
            by_campaign.setdefault(code.program.friend_campaign_id, []).append((referral, code.program))
    rewards = []
    for group in by_campaign.values():
        campaign = group[0][1].friend_campaign
        welcomes = issue_codes(campaign=campaign, customers=[referral.friend for referral, _ in group], actor=actor,
                               source=CodeSource.REFERRAL, now=now,
                               notes=[f"referral {referral.pk}" for referral, _ in group])
        gift_card = campaign.discount_type == DiscountType.GIFT_CARD
        cost = (campaign.gift_card_balance if gift_card else campaign.amount) or 0
        rewards.extend(ReferralReward(
            referral=referral, program=program, customer=referral.friend, role=RewardRole.FRIEND,
            type=RewardType.GIFT_CARD if gift_card else RewardType.CODE, code=welcome, cost=cost, created_at=now)
            for (referral, program), welcome in zip(group, welcomes, strict=True))
    ReferralReward.objects.bulk_create(rewards, batch_size=REGISTER_BATCH)
