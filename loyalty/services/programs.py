"""Creating and editing programs with their rules, tiers, rewards and milestones (API.md body + extras).

`data` keys (all optional on update; a nested list given replaces the program's list):
name, currency, points_per_unit, pending_days, points_expire_after_days, expiry_reminder_days,
tier_basis, signup_bonus, adjustment_approval_threshold, default (bool), is_active, portal_promotion;
tiers [{name, threshold, multiplier_percent, perks}] matched by name;
earning_rules [{event_type, points, max_per_month, once_per_property, is_active}] matched by event_type;
rewards [{id?, name, cost, type, campaign (slug), description, stock, min_tier (tier name), segment (slug),
is_active}] matched by id, else by name (a reward left out is deactivated, never deleted: redemptions
point to it); category_multipliers [{category, multiplier_percent}]; bonus_periods [{name, starts_at,
ends_at, multiplier_percent, skus, categories}]; milestones [{name, kind, threshold, bonus_points,
reward (reward name)}] matched by name. Tiers of existing members are re-evaluated by the daily job.
"""

from django.db import transaction

from campaigns.models import Campaign
from loyalty.models import (
    BonusPeriod,
    CategoryMultiplier,
    EarningRule,
    LoyaltyProgram,
    Milestone,
    Reward,
    Tier,
)
from retention.actors import Actor
from retention.audit import record_audit, snapshot
from retention.errors import InvalidInput
from retention.models import Segment

FIELDS = ["name", "currency", "points_per_unit", "pending_days", "points_expire_after_days", "expiry_reminder_days",
          "tier_basis", "signup_bonus", "adjustment_approval_threshold", "is_active", "portal_promotion"]


@transaction.atomic(durable=True)
def create_program(*, data: dict, actor: Actor) -> LoyaltyProgram:
    """A new program from `data` (module docstring). Unknown campaign/segment/tier names: InvalidInput."""
    program = LoyaltyProgram(name=data["name"])
    _save(program, data)
    record_audit(actor=actor, action="loyalty.program_created", target=program, after=_picture(program))
    return program


@transaction.atomic(durable=True)
def update_program(*, program: LoyaltyProgram, data: dict, actor: Actor) -> LoyaltyProgram:
    """Change the fields and nested lists present in `data`; audited with before and after."""
    program = LoyaltyProgram.objects.select_for_update().get(pk=program.pk)
    before = _picture(program)
    _save(program, data)
    record_audit(actor=actor, action="loyalty.program_updated", target=program, before=before, after=_picture(program))
    return program


def _picture(program: LoyaltyProgram) -> dict:
    picture = snapshot(program, FIELDS + ["is_default"])
    picture["tiers"] = [[tier.name, tier.threshold, tier.multiplier_percent] for tier in program.tiers.all()]
    picture["rewards"] = list(program.rewards.values_list("name", "cost", "type", "is_active"))
    return picture


def _save(program: LoyaltyProgram, data: dict) -> None:
    for field in FIELDS:
        # points_expire_after_days may be set back to None (points never expire); others keep their value.
        if field in data and (data[field] is not None or field == "points_expire_after_days"):
            setattr(program, field, data[field])
    if "default" in data:
        if data["default"]:
            # One default at a time (a partial unique constraint holds it): the others give it up first.
            LoyaltyProgram.objects.filter(is_default=True).exclude(pk=program.pk).update(is_default=False)
        program.is_default = bool(data["default"])
    program.currency = program.currency.upper()
    program.save()
    if data.get("tiers") is not None:
        _save_tiers(program, data["tiers"])
    if data.get("earning_rules") is not None:
        _save_earning_rules(program, data["earning_rules"])
    if data.get("category_multipliers") is not None:
        program.category_multipliers.all().delete()
        CategoryMultiplier.objects.bulk_create(
            CategoryMultiplier(program=program, category=row["category"],
                               multiplier_percent=row.get("multiplier_percent", 100))
            for row in data["category_multipliers"])
    if data.get("bonus_periods") is not None:
        program.bonus_periods.all().delete()
        BonusPeriod.objects.bulk_create(
            BonusPeriod(program=program, name=row["name"], starts_at=row["starts_at"], ends_at=row["ends_at"],
                        multiplier_percent=row.get("multiplier_percent", 200), skus=row.get("skus") or [],
                        categories=row.get("categories") or [])
            for row in data["bonus_periods"])
    if data.get("rewards") is not None:
        _save_rewards(program, data["rewards"])
    if data.get("milestones") is not None:
        _save_milestones(program, data["milestones"])


def _unique(rows: list[dict], key: str, field: str) -> None:
    values = [row[key] for row in rows]
    if len(values) != len(set(values)):
        raise InvalidInput(f"Each {key} once.", fields={field: [f"duplicate {key}"]})


def _save_tiers(program: LoyaltyProgram, rows: list[dict]) -> None:
    _unique(rows, "name", "tiers")
    _unique(rows, "threshold", "tiers")
    program.tiers.exclude(name__in=[row["name"] for row in rows]).delete()
    existing = {tier.name: tier for tier in program.tiers.all()}
    # Thresholds move out of the way first, so swapping two tiers' thresholds breaks no unique constraint.
    for offset, tier in enumerate(existing.values(), start=1):
        Tier.objects.filter(pk=tier.pk).update(threshold=2_000_000_000 + offset)
    for row in rows:
        tier = existing.get(row["name"]) or Tier(program=program, name=row["name"])
        tier.threshold = row["threshold"]
        tier.multiplier_percent = row.get("multiplier_percent", 100)
        tier.perks = row.get("perks", tier.perks)
        tier.save()


def _save_earning_rules(program: LoyaltyProgram, rows: list[dict]) -> None:
    _unique(rows, "event_type", "earning_rules")
    program.earning_rules.exclude(event_type__in=[row["event_type"] for row in rows]).delete()
    for row in rows:
        EarningRule.objects.update_or_create(program=program, event_type=row["event_type"], defaults={
            "points": row["points"], "max_per_month": row.get("max_per_month"),
            "once_per_property": row.get("once_per_property") or "", "is_active": row.get("is_active", True),
        })


def _save_rewards(program: LoyaltyProgram, rows: list[dict]) -> None:
    existing = list(program.rewards.all())
    by_id = {reward.pk: reward for reward in existing}
    by_name = {reward.name: reward for reward in existing}
    tiers = {tier.name: tier for tier in program.tiers.all()}
    kept = set()
    for index, row in enumerate(rows):
        reward = by_id.get(row.get("id")) or by_name.get(row["name"]) or Reward(program=program)
        if row.get("id") and row["id"] not in by_id:
            raise InvalidInput("Unknown reward.", fields={f"rewards.{index}.id": ["not a reward of this program"]})
        reward.name, reward.cost, reward.type = row["name"], row["cost"], row.get("type", reward.type)
        reward.description = row.get("description", reward.description)
        reward.stock = row.get("stock", reward.stock)
        reward.is_active = row.get("is_active", True)
        reward.campaign = _lookup(Campaign, "slug", row.get("campaign"), f"rewards.{index}.campaign")
        reward.segment = _lookup(Segment, "slug", row.get("segment"), f"rewards.{index}.segment")
        if row.get("min_tier"):
            if row["min_tier"] not in tiers:
                raise InvalidInput("Unknown tier.", fields={f"rewards.{index}.min_tier": ["not a tier here"]})
            reward.min_tier = tiers[row["min_tier"]]
        else:
            reward.min_tier = None
        reward.save()
        kept.add(reward.pk)
    program.rewards.exclude(pk__in=kept).update(is_active=False)


def _lookup(model, field: str, value, name: str):
    if not value:
        return None
    found = model.objects.filter(**{field: value}).first()
    if found is None:
        raise InvalidInput(f"Unknown {model._meta.verbose_name}.", fields={name: [f"unknown {field} {value!r}"]})
    return found


def _save_milestones(program: LoyaltyProgram, rows: list[dict]) -> None:
    _unique(rows, "name", "milestones")
    program.milestones.exclude(name__in=[row["name"] for row in rows]).delete()
    rewards = {reward.name: reward for reward in program.rewards.all()}
    for index, row in enumerate(rows):
        reward = None
        if row.get("reward"):
            reward = rewards.get(row["reward"])
            if reward is None:
                raise InvalidInput("Unknown reward.", fields={f"milestones.{index}.reward": ["not a reward here"]})
        Milestone.objects.update_or_create(program=program, name=row["name"], defaults={
            "kind": row["kind"], "threshold": row["threshold"], "bonus_points": row.get("bonus_points", 0),
            "reward": reward,
        })
