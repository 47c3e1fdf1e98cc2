"""Creating and editing referral programs (API and back-office share the same data shape, API.md)."""

from django.db import transaction

from campaigns.models import Campaign
from loyalty.models import LoyaltyProgram
from referrals.models import FIRST_ORDER, ReferralProgram, ReferralTier, RewardType
from referrals.services.rewards import reward_type_of
from retention.actors import Actor
from retention.audit import record_audit
from retention.errors import InvalidInput
from retention.models import Segment

LINK_PLACEHOLDER = "{code}"


def program_data(program: ReferralProgram) -> dict:
    """The program in API.md's shape (also the audit picture)."""
    return {
        "id": program.pk,
        "name": program.name,
        "enabled": program.is_enabled,
        "default": program.is_default,
        "link_template": program.link_template,
        "segment": program.segment.slug if program.segment_id else None,
        "friend_campaign": program.friend_campaign.slug if program.friend_campaign_id else None,
        "conversion": {"event": program.conversion_event, "min_order_amount": program.min_order_amount,
                       "within_days": program.within_days},
        "reward_hold_days": program.reward_hold_days,
        "return_window_days": program.return_window_days,
        "tiers": [_tier_data(tier) for tier in program.tiers.all()],
        "loyalty_program": program.loyalty_program_id,
        "limits": {"max_rewards_per_referrer_per_month": program.max_rewards_per_referrer_per_month},
        "currency": program.currency,
        "budget": program.budget,
        "budget_spent": program.budget_spent,
        "point_value": program.point_value,
    }


def _tier_data(tier: ReferralTier) -> dict:
    if tier.reward_type == RewardType.POINTS:
        reward = {"points": tier.points}
    elif tier.reward_type == RewardType.CASH:
        reward = {"cash_amount": tier.cash_amount}
    else:
        reward = {"campaign": tier.campaign.slug}
    return {"referrals": tier.referrals, "reward": reward, "type": tier.reward_type}


@transaction.atomic(durable=True)
def create_program(*, data: dict, actor: Actor) -> ReferralProgram:
    """A program from API.md's body. Invalid fields: InvalidInput naming each field and why."""
    if not str(data.get("name") or "").strip():
        raise InvalidInput("A name.", fields={"name": ["required"]})
    program = ReferralProgram()
    tiers = _apply(program, data)
    if not ReferralProgram.objects.exists():
        program.is_default = True  # the first program answers when a call names none
    _save(program, tiers, data)
    record_audit(actor=actor, action="referral.program_created", target=program, after=program_data(program))
    return program


@transaction.atomic(durable=True)
def update_program(*, program: ReferralProgram, data: dict, actor: Actor) -> ReferralProgram:
    program = ReferralProgram.objects.select_for_update().get(pk=program.pk)
    before = program_data(program)
    tiers = _apply(program, data)
    _save(program, tiers, data)
    record_audit(actor=actor, action="referral.program_updated", target=program, before=before,
                 after=program_data(program))
    return program


@transaction.atomic(durable=True)
def set_program_enabled(*, program: ReferralProgram, enabled: bool, actor: Actor) -> ReferralProgram:
    """The one-click switch: an off program takes no referrals and converts none."""
    changed = ReferralProgram.objects.filter(pk=program.pk, is_enabled=not enabled).update(is_enabled=enabled)
    program.refresh_from_db()
    if changed:
        record_audit(actor=actor, action="referral.program_" + ("enabled" if enabled else "disabled"),
                     target=program, before={"enabled": not enabled}, after={"enabled": enabled})
    return program


def _save(program: ReferralProgram, tiers: list[ReferralTier] | None, data: dict) -> None:
    if data.get("default") is True:
        ReferralProgram.objects.exclude(pk=program.pk).filter(is_default=True).update(is_default=False)
        program.is_default = True
    program.save()
    if tiers is not None:
        program.tiers.all().delete()
        for tier in tiers:
            tier.program = program
        ReferralTier.objects.bulk_create(tiers)


def _integer(errors: dict, field: str, value, *, minimum: int = 0, optional: bool = True):
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        errors.setdefault(field, []).append(f"A whole number of at least {minimum}.")
        return None
    return value


def _lookup(errors: dict, field: str, model, **lookup):
    found = model.objects.filter(**lookup).first()
    if found is None:
        errors.setdefault(field, []).append(f"Unknown: {next(iter(lookup.values()))!r}.")
    return found


def _apply(program: ReferralProgram, data: dict) -> list[ReferralTier] | None:
    """Set the fields present in `data` on `program`; returns the new tiers (None: unchanged)."""
    errors: dict[str, list[str]] = {}
    if "name" in data:
        program.name = str(data["name"] or "").strip()[:200]
        if not program.name:
            errors["name"] = ["required"]
    if "link_template" in data:
        template = str(data["link_template"] or "")
        if LINK_PLACEHOLDER not in template:
            errors["link_template"] = ["Must contain {code}."]
        program.link_template = template[:500]
    if "enabled" in data:
        program.is_enabled = bool(data["enabled"])
    if "segment" in data:
        program.segment = _lookup(errors, "segment", Segment, slug=data["segment"]) if data["segment"] else None
    if "friend_campaign" in data:
        slug = data["friend_campaign"]
        program.friend_campaign = _lookup(errors, "friend_campaign", Campaign, slug=slug) if slug else None
    if "loyalty_program" in data:
        wanted = data["loyalty_program"]
        program.loyalty_program = _lookup(errors, "loyalty_program", LoyaltyProgram, pk=wanted) if wanted else None
    conversion = data.get("conversion")
    if conversion is not None:
        if not isinstance(conversion, dict):
            errors["conversion"] = ["An object with event, min_order_amount, within_days."]
        else:
            if "event" in conversion:
                program.conversion_event = str(conversion["event"] or FIRST_ORDER)[:100]
            if "min_order_amount" in conversion:
                program.min_order_amount = _integer(errors, "conversion.min_order_amount",
                                                    conversion["min_order_amount"]) or 0
            if "within_days" in conversion:
                program.within_days = _integer(errors, "conversion.within_days", conversion["within_days"],
                                               minimum=1)
    for field in ("reward_hold_days", "return_window_days"):
        if field in data:
            setattr(program, field, _integer(errors, field, data[field], optional=False) or 0)
    if "point_value" in data:
        program.point_value = _integer(errors, "point_value", data["point_value"], optional=False) or 0
    if "budget" in data:
        program.budget = _integer(errors, "budget", data["budget"])
        if program.budget is not None and program.budget < program.budget_spent:
            errors.setdefault("budget", []).append(f"At least what is already spent ({program.budget_spent}).")
    if "currency" in data:
        program.currency = str(data["currency"] or "EUR").upper()[:3]
    limits = data.get("limits")
    if limits is not None:
        if not isinstance(limits, dict):
            errors["limits"] = ["An object with max_rewards_per_referrer_per_month."]
        elif "max_rewards_per_referrer_per_month" in limits:
            program.max_rewards_per_referrer_per_month = _integer(
                errors, "limits.max_rewards_per_referrer_per_month", limits["max_rewards_per_referrer_per_month"],
                minimum=1)
    tiers = _tiers(errors, data["tiers"]) if "tiers" in data else None
    if errors:
        raise InvalidInput("Invalid program: " + "; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()),
                           fields=errors)
    return tiers


def _tiers(errors: dict, rows) -> list[ReferralTier]:
    if not isinstance(rows, list):
        errors["tiers"] = ["A list of {referrals, reward}."]
        return []
    tiers, seen = [], set()
    for index, row in enumerate(rows):
        field = f"tiers.{index}"
        if not isinstance(row, dict) or not isinstance(row.get("reward"), dict):
            errors[field] = ["An object with referrals and reward."]
            continue
        referrals = _integer(errors, f"{field}.referrals", row.get("referrals"), minimum=1, optional=False)
        if referrals in seen:
            errors.setdefault(f"{field}.referrals", []).append("Each tier needs its own number of referrals.")
        seen.add(referrals)
        reward = row["reward"]
        given = [key for key in ("points", "campaign", "cash_amount") if reward.get(key) not in (None, "")]
        if len(given) != 1:
            errors[f"{field}.reward"] = ["Exactly one of points, campaign, cash_amount."]
            continue
        tier = ReferralTier(referrals=referrals or 1)
        if given[0] == "points":
            tier.points = _integer(errors, f"{field}.reward.points", reward["points"], minimum=1)
        elif given[0] == "cash_amount":
            tier.cash_amount = _integer(errors, f"{field}.reward.cash_amount", reward["cash_amount"], minimum=1)
        else:
            tier.campaign = _lookup(errors, f"{field}.reward.campaign", Campaign, slug=reward["campaign"])
        if tier.points or tier.cash_amount or tier.campaign:
            tier.reward_type = reward_type_of(tier)
        tiers.append(tier)
    return tiers
