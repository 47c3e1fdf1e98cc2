"""Creating, changing and switching campaigns on and off.

`data` is shaped like API.md's campaign body (discount {...}, code_config {...}, rules {...}, starts_at,
ends_at, code_valid_days, trigger, draft) plus the back-office's extras (timezone, tags, description,
is_support, support_amount_options, landing_*, leak_guard_*, holdout_percent, split_buckets, split_bucket,
segment slug, max_uses_per_code, weak_codes_confirmed). Every problem is reported at once, by API field
name ("discount.percent", "rules.countries"), in an InvalidInput (400).

Switches (pause, resume, stop/resume issuing, launch) are conditional UPDATEs: doing one twice is a no-op
that answers the campaign as it is and writes no audit entry.
"""

from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.text import slugify

from campaigns.calendar import trigger_problems
from campaigns.codes import CodeConfig, check_code_space, normalise_code
from campaigns.errors import CampaignError
from campaigns.models import DEFAULT_CHARSET, Campaign, CampaignStatus, CampaignType, Code, CodeSource, DiscountType
from campaigns.services.calendar import sync_calendar_schedule
from campaigns.signals import campaign_paused, campaign_resumed
from retention.actors import Actor
from retention.audit import record_audit, snapshot
from retention.errors import InvalidInput
from retention.messaging.services.webhooks import emit_webhook
from retention.models import Segment
from retention.time import is_valid_zone, zone_or_utc

AUDITED_FIELDS = [
    "name", "slug", "type", "discount_type", "percent", "max_amount", "amount", "unit_sku", "unit_quantity",
    "gift_card_balance", "code_length", "code_charset", "code_prefix", "code_postfix", "code_pattern",
    "weak_codes_confirmed", "max_uses_per_code", "public_code", "currency", "min_order_amount", "countries",
    "first_order_only", "assigned_only", "max_redemptions", "max_redemptions_per_customer", "budget",
    "starts_at", "ends_at", "timezone", "code_valid_days", "is_draft", "is_paused", "is_issuing_stopped",
    "trigger", "is_support", "support_amount_options", "landing_enabled", "holdout_percent", "split_buckets",
    "split_bucket", "segment", "leak_guard_factor", "leak_guard_auto_pause",
]


def _unique_slug(name: str) -> str:
    base = slugify(name)[:90] or "campaign"
    slug, number = base, 2
    while Campaign.objects.filter(slug=slug).exists():
        slug, number = f"{base}-{number}", number + 1
    return slug


def _check_codes(campaign: Campaign) -> None:
    """The configuration must allow unique codes (one code per check; bulk generation checks its count)."""
    if campaign.type != CampaignType.UNIQUE:
        return
    try:
        check_code_space(CodeConfig.for_campaign(campaign), 1)
    except CampaignError as error:
        raise InvalidInput(error.message, code="invalid", fields=error.fields) from error


def _sync_public_code(campaign: Campaign, *, creating: bool) -> None:
    """A public campaign's code is a Code row (source PUBLIC) so validation finds it like any other."""
    if campaign.type != CampaignType.PUBLIC:
        return
    code = Code.objects.filter(campaign=campaign, source=CodeSource.PUBLIC).first()
    clash = Code.objects.filter(code=campaign.public_code)
    if code is not None:
        clash = clash.exclude(pk=code.pk)
    if clash.exists():
        raise InvalidInput("This public code is already taken.", fields={"public_code": ["Already in use."]})
    if code is None:
        Code.objects.create(code=campaign.public_code, campaign=campaign, source=CodeSource.PUBLIC,
                            max_uses=campaign.max_redemptions, expires_at=campaign.ends_at)
        return
    if code.code != campaign.public_code and code.uses_count:
        raise InvalidInput("The public code has been used: it cannot be renamed.",
                           fields={"public_code": ["Already used by customers; create a new campaign."]})
    Code.objects.filter(pk=code.pk).update(code=campaign.public_code, max_uses=campaign.max_redemptions,
                                           expires_at=campaign.ends_at)


@transaction.atomic(durable=True)
def create_campaign(*, data: dict, actor: Actor) -> Campaign:
    """Create a campaign from an API-shaped body. Live from creation (or starts_at) unless data["draft"]."""
    campaign = Campaign(created_by=actor.user)
    segments = apply_campaign_data(campaign, data, creating=True)
    if not campaign.slug:
        campaign.slug = _unique_slug(campaign.name)
    elif Campaign.objects.filter(slug=campaign.slug).exists():
        raise InvalidInput("This slug is taken.", fields={"slug": ["Another campaign has this slug."]})
    if campaign.discount_type == DiscountType.GIFT_CARD and "max_uses_per_code" not in (data.get("code_config") or {}) \
            and "max_uses_per_code" not in data:
        campaign.max_uses_per_code = None  # a gift card is used until its balance is spent
    _check_codes(campaign)
    campaign.save()
    if segments is not None:
        campaign.segments.set(segments)
    _sync_public_code(campaign, creating=True)
    sync_calendar_schedule(campaign)
    record_audit(actor=actor, action="campaign.created", target=campaign,
                 after={**snapshot(campaign, AUDITED_FIELDS), "segments": [s.slug for s in segments or []]})
    return campaign


@transaction.atomic(durable=True)
def update_campaign(*, campaign: Campaign, data: dict, actor: Actor) -> Campaign:
    """Change any fields of `campaign` given in `data` (a PATCH). `draft: false` launches a draft; a live
    campaign cannot become a draft again, nor change its type."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    before = {**snapshot(campaign, AUDITED_FIELDS), "segments": list(campaign.segments.values_list("slug", flat=True))}
    if data.get("draft") is True and not campaign.is_draft:
        raise InvalidInput("A live campaign cannot go back to draft; pause it instead.",
                           fields={"draft": ["The campaign is live already."]})
    if "type" in data and data["type"] != campaign.type:
        raise InvalidInput("A campaign's type cannot change.", fields={"type": ["Create a new campaign instead."]})
    segments = apply_campaign_data(campaign, data, creating=False)
    if "slug" in data and Campaign.objects.filter(slug=campaign.slug).exclude(pk=campaign.pk).exists():
        raise InvalidInput("This slug is taken.", fields={"slug": ["Another campaign has this slug."]})
    _check_codes(campaign)
    campaign.save()
    if segments is not None:
        campaign.segments.set(segments)
    _sync_public_code(campaign, creating=False)
    sync_calendar_schedule(campaign)
    after = {**snapshot(campaign, AUDITED_FIELDS), "segments": list(campaign.segments.values_list("slug", flat=True))}
    changed = [name for name in after if after[name] != before.get(name)]
    if changed:
        record_audit(actor=actor, action="campaign.updated", target=campaign,
                     before={name: before.get(name) for name in changed},
                     after={name: after[name] for name in changed})
    return campaign


def _switch(campaign: Campaign, *, condition: Q, values: dict, action: str, actor: Actor,
            note: dict | None = None) -> tuple[Campaign, bool]:
    """Set `values` where `condition` still holds; audit only when a row changed (`note` joins the after)."""
    changed = Campaign.objects.filter(condition, pk=campaign.pk).update(**values, updated_at=timezone.now())
    fresh = Campaign.objects.get(pk=campaign.pk)
    if changed:
        before = {name: not value if isinstance(value, bool) else None for name, value in values.items()}
        record_audit(actor=actor, action=action, target=fresh, before=before,
                     after={**snapshot(fresh, list(values)), **(note or {})})
    return fresh, bool(changed)


def _send_after_commit(signal, campaign: Campaign, actor: Actor) -> None:
    transaction.on_commit(lambda: signal.send(sender=Campaign, campaign=campaign, actor=actor))


def _emit_switch_webhook(event_type: str, campaign: Campaign, actor: Actor, reason: str = "") -> None:
    """API.md's campaign.paused / campaign.resumed, inside the switching transaction (a rollback announces nothing)."""
    data = {"campaign": campaign.slug, "id": campaign.pk, "name": campaign.name, "by": actor.label}
    if reason:
        data["reason"] = reason
    emit_webhook(type=event_type, data=data)


@transaction.atomic(durable=True)
def pause_campaign(*, campaign: Campaign, actor: Actor, reason: str = "") -> Campaign:
    """Pause: codes are refused (`campaign_paused`) and none are issued. Sends `campaign_paused` and the
    campaign.paused webhook once; `reason` (the leak guard's alert, say) goes into the audit entry and webhook."""
    fresh, changed = _switch(campaign, condition=Q(is_paused=False), values={"is_paused": True},
                             action="campaign.paused", actor=actor, note={"reason": reason} if reason else None)
    sync_calendar_schedule(fresh)
    if changed:
        _emit_switch_webhook("campaign.paused", fresh, actor, reason)
        _send_after_commit(campaign_paused, fresh, actor)
    return fresh


@transaction.atomic(durable=True)
def resume_campaign(*, campaign: Campaign, actor: Actor) -> Campaign:
    fresh, changed = _switch(campaign, condition=Q(is_paused=True), values={"is_paused": False},
                             action="campaign.resumed", actor=actor)
    sync_calendar_schedule(fresh)
    if changed:
        _emit_switch_webhook("campaign.resumed", fresh, actor)
        _send_after_commit(campaign_resumed, fresh, actor)
    return fresh


def pause_leaking_campaigns(*, now: datetime | None = None) -> list[Campaign]:
    """The leak guard's automatic stop: pause every active public campaign that opted in
    (`leak_guard_auto_pause`) and whose leak guard raises an alert now (campaigns.reports.leak_alerts).

    Each pause goes through pause_campaign (its own transaction: audited as the "leak guard" system actor
    with the alert as reason, campaign.paused webhook), so running this twice, or beside a marketer's
    click, pauses once. Returns the campaigns it paused.
    """
    from campaigns.queries import status_condition
    from campaigns.reports import leak_alerts

    now = now or timezone.now()
    candidates = list(Campaign.objects.filter(status_condition(CampaignStatus.ACTIVE, now), type=CampaignType.PUBLIC,
                                              leak_guard_auto_pause=True))
    reasons: dict[int, list[str]] = {}
    for alert in leak_alerts(candidates, now=now):
        reasons.setdefault(alert.campaign.pk, []).append(alert.message)
    actor = Actor.system("leak guard")
    paused = []
    for campaign in candidates:
        if campaign.pk in reasons:
            fresh = pause_campaign(campaign=campaign, actor=actor, reason=" ".join(reasons[campaign.pk]))
            paused.append(fresh)
    return paused


@transaction.atomic(durable=True)
def stop_issuing(*, campaign: Campaign, actor: Actor) -> Campaign:
    """No new codes; the codes already given stay valid until they expire."""
    return _switch(campaign, condition=Q(is_issuing_stopped=False), values={"is_issuing_stopped": True},
                   action="campaign.issuing_stopped", actor=actor)[0]


@transaction.atomic(durable=True)
def resume_issuing(*, campaign: Campaign, actor: Actor) -> Campaign:
    return _switch(campaign, condition=Q(is_issuing_stopped=True), values={"is_issuing_stopped": False},
                   action="campaign.issuing_resumed", actor=actor)[0]


@transaction.atomic(durable=True)
def launch_campaign(*, campaign: Campaign, actor: Actor) -> Campaign:
    """Draft -> live (active, or scheduled until starts_at)."""
    fresh = _switch(campaign, condition=Q(is_draft=True), values={"is_draft": False},
                    action="campaign.launched", actor=actor)[0]
    sync_calendar_schedule(fresh)
    return fresh


@transaction.atomic(durable=True)
def pause_all_active_campaigns(*, actor: Actor, now: datetime | None = None) -> int:
    """The emergency stop: pause every live campaign (active or scheduled, not ended) in one UPDATE.

    Scheduled campaigns are included so that none starts during the incident. Returns how many were
    paused; each gets an audit entry and a `campaign_paused` signal after commit.
    """
    now = now or timezone.now()
    live = Q(is_draft=False, is_paused=False) & (Q(ends_at__isnull=True) | Q(ends_at__gt=now))
    campaigns = list(Campaign.objects.select_for_update().filter(live).order_by("pk"))
    if not campaigns:
        return 0
    paused = Campaign.objects.filter(pk__in=[c.pk for c in campaigns]).update(is_paused=True, updated_at=now)
    for campaign in campaigns:
        campaign.is_paused = True
        record_audit(actor=actor, action="campaign.paused", target=campaign, before={"is_paused": False},
                     after={"is_paused": True, "all_paused": True})
        _emit_switch_webhook("campaign.paused", campaign, actor, "Pause all active campaigns")
        _send_after_commit(campaign_paused, campaign, actor)
        sync_calendar_schedule(campaign)
    return paused


# --- Reading an API-shaped body onto a campaign, every problem named by its field ---------------------------

try:  # the import service's list of officially assigned codes, when present
    from retention.services.imports import ISO_COUNTRIES
except ImportError:  # pragma: no cover
    ISO_COUNTRIES = None

TRIGGER_TYPES = {"welcome", "birthday", "anniversary", "win_back"}
FLAGS = ["first_order_only", "assigned_only"]
SKU_LISTS = ["include_skus", "exclude_skus", "include_categories", "exclude_categories"]
EXTRA_TEXT = {"description": 10_000, "landing_title": 200, "landing_text": 10_000, "landing_image_url": 500}
EXTRA_FLAGS = ["is_support", "landing_enabled", "landing_first_time_only", "leak_guard_auto_pause"]


class _Reader:
    """Collects field errors while copying values from `data` onto `campaign`."""

    def __init__(self, campaign: Campaign):
        self.campaign = campaign
        self.errors: dict[str, list[str]] = {}

    def fail(self, field: str, message: str) -> None:
        self.errors.setdefault(field, []).append(message)

    def integer(self, field: str, value, *, minimum: int = 0, maximum: int | None = None, nullable: bool = True):
        if value is None:
            if not nullable:
                self.fail(field, "This field is required.")
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            try:
                value = int(str(value).strip())
            except ValueError:
                self.fail(field, "A whole number.")
                return None
        if value < minimum or (maximum is not None and value > maximum):
            self.fail(field, f"Between {minimum} and {maximum}." if maximum is not None else f"{minimum} or more.")
            return None
        return value

    def text(self, field: str, value, max_length: int) -> str:
        value = "" if value is None else str(value).strip()
        if len(value) > max_length:
            self.fail(field, f"At most {max_length} characters.")
        return value

    def moment(self, field: str, value) -> datetime | None:
        if value in (None, ""):
            return None
        if isinstance(value, str):
            parsed = parse_datetime(value)
            if parsed is None:
                self.fail(field, "An ISO 8601 date and time.")
                return None
            value = parsed
        if not isinstance(value, datetime):
            self.fail(field, "An ISO 8601 date and time.")
            return None
        if timezone.is_naive(value):
            value = timezone.make_aware(value, zone_or_utc(self.campaign.timezone))
        return value

    def strings(self, field: str, value) -> list[str]:
        if value is None:
            return []
        if not isinstance(value, (list, tuple)) or not all(isinstance(item, str) for item in value):
            self.fail(field, "A list of strings.")
            return []
        return [item.strip() for item in value if item.strip()]


def _read_discount(reader: _Reader, discount, creating: bool) -> None:
    campaign = reader.campaign
    if discount is None:
        if creating:
            reader.fail("discount", "This field is required.")
        return
    if not isinstance(discount, dict):
        reader.fail("discount", "An object with a type.")
        return
    kind = discount.get("type", campaign.discount_type if not creating else None)
    if kind not in DiscountType.values:
        reader.fail("discount.type", f"One of {', '.join(DiscountType.values)}.")
        return
    campaign.discount_type = kind
    campaign.percent = campaign.max_amount = campaign.amount = campaign.unit_quantity = None
    campaign.gift_card_balance = None
    campaign.unit_sku = ""
    if kind == DiscountType.PERCENT:
        campaign.percent = reader.integer("discount.percent", discount.get("percent"), minimum=1, maximum=100,
                                          nullable=False)
        campaign.max_amount = reader.integer("discount.max_amount", discount.get("max_amount"))
    elif kind == DiscountType.AMOUNT:
        campaign.amount = reader.integer("discount.amount", discount.get("amount"), minimum=1, nullable=False)
    elif kind == DiscountType.UNIT:
        campaign.unit_sku = reader.text("discount.sku", discount.get("sku"), 100)
        if not campaign.unit_sku:
            reader.fail("discount.sku", "This field is required.")
        campaign.unit_quantity = reader.integer("discount.quantity", discount.get("quantity", 1), minimum=1)
    elif kind == DiscountType.GIFT_CARD:
        campaign.gift_card_balance = reader.integer("discount.balance", discount.get("balance"), minimum=1,
                                                    nullable=False)
    allowed = {"type", *{DiscountType.PERCENT: ["percent", "max_amount"], DiscountType.AMOUNT: ["amount"],
                         DiscountType.UNIT: ["sku", "quantity"], DiscountType.GIFT_CARD: ["balance"]}.get(kind, [])}
    for name in sorted(set(discount) - allowed):
        if discount[name] is not None:
            reader.fail(f"discount.{name}", f"Not a field of a {kind} discount.")


def _read_code_config(reader: _Reader, config: dict, data: dict) -> None:
    campaign = reader.campaign
    if not isinstance(config, dict):
        reader.fail("code_config", "An object.")
        return
    if "length" in config:
        campaign.code_length = reader.integer("code_config.length", config["length"], minimum=4, maximum=64,
                                              nullable=False) or campaign.code_length
    if "charset" in config:
        campaign.code_charset = reader.text("code_config.charset", config["charset"], 100) or DEFAULT_CHARSET
    for name in ("prefix", "postfix"):
        if name in config:
            setattr(campaign, f"code_{name}", reader.text(f"code_config.{name}", config[name], 30).upper())
    if "pattern" in config:
        campaign.code_pattern = reader.text("code_config.pattern", config["pattern"], 60).upper()


def _read_rules(reader: _Reader, rules) -> list | None:
    campaign = reader.campaign
    if not isinstance(rules, dict):
        reader.fail("rules", "An object.")
        return None
    if "currency" in rules:
        currency = reader.text("rules.currency", rules["currency"], 3).upper()
        if currency and not (len(currency) == 3 and currency.isalpha() and currency.isascii()):
            reader.fail("rules.currency", "An ISO 4217 code of three letters.")
        campaign.currency = currency
    if "min_order_amount" in rules:
        campaign.min_order_amount = reader.integer("rules.min_order_amount", rules["min_order_amount"])
    if "countries" in rules:
        countries = [country.upper() for country in reader.strings("rules.countries", rules["countries"])]
        wrong = [c for c in countries if not (len(c) == 2 and c.isalpha() and c.isascii())
                 or (ISO_COUNTRIES is not None and c not in ISO_COUNTRIES)]
        if wrong:
            reader.fail("rules.countries", f"Not ISO 3166-1 alpha-2 codes: {', '.join(wrong)}.")
        campaign.countries = countries
    for name in FLAGS:
        if name in rules:
            setattr(campaign, name, bool(rules[name]))
    for name in SKU_LISTS:
        if name in rules:
            setattr(campaign, name, reader.strings(f"rules.{name}", rules[name]))
    for name in ("max_redemptions", "max_redemptions_per_customer"):
        if name in rules:
            setattr(campaign, name, reader.integer(f"rules.{name}", rules[name], minimum=1))
    if "budget" in rules:
        campaign.budget = reader.integer("rules.budget", rules["budget"])
    if "segments" not in rules:
        return None
    slugs = reader.strings("rules.segments", rules["segments"])
    segments = list(Segment.objects.filter(slug__in=slugs))
    missing = sorted(set(slugs) - {segment.slug for segment in segments})
    if missing:
        reader.fail("rules.segments", f"Unknown segments: {', '.join(missing)}.")
    return segments


def _read_trigger(reader: _Reader, trigger) -> None:
    if trigger is not None and (not isinstance(trigger, dict) or trigger.get("type") not in TRIGGER_TYPES):
        reader.fail("trigger", f"null or an object whose type is one of {', '.join(sorted(TRIGGER_TYPES))}.")
        return
    for field_name, problem in (trigger_problems(trigger) if trigger else {}).items():
        reader.fail(field_name, problem)
    reader.campaign.trigger = trigger


def _read_extras(reader: _Reader, data: dict) -> None:
    campaign = reader.campaign
    if "timezone" in data:
        campaign.timezone = reader.text("timezone", data["timezone"], 64) or "UTC"
        if not is_valid_zone(campaign.timezone):
            reader.fail("timezone", "An IANA time zone, e.g. Europe/Berlin.")
    if "tags" in data:
        campaign.tags = reader.strings("tags", data["tags"])
    for name, max_length in EXTRA_TEXT.items():
        if name in data:
            setattr(campaign, name, reader.text(name, data[name], max_length))
    for name in EXTRA_FLAGS:
        if name in data:
            setattr(campaign, name, bool(data[name]))
    if "support_amount_options" in data:
        options = data["support_amount_options"] or []
        if not isinstance(options, list):
            reader.fail("support_amount_options", "A list of whole numbers.")
        else:
            campaign.support_amount_options = [reader.integer("support_amount_options", option, minimum=1)
                                               for option in options]
    if "leak_guard_factor" in data:
        campaign.leak_guard_factor = reader.integer("leak_guard_factor", data["leak_guard_factor"], minimum=2,
                                                    maximum=1000)
    if "holdout_percent" in data:
        campaign.holdout_percent = reader.integer("holdout_percent", data["holdout_percent"], maximum=90,
                                                  nullable=False) or 0
    for name in ("split_buckets", "split_bucket"):
        if name in data:
            value = reader.integer(name, data[name], minimum=1 if name == "split_buckets" else 0, maximum=100,
                                   nullable=False)
            setattr(campaign, name, value if value is not None else getattr(campaign, name))
    if campaign.split_bucket >= campaign.split_buckets:
        reader.fail("split_bucket", f"Below split_buckets ({campaign.split_buckets}).")
    if "segment" in data:
        slug = data["segment"]
        campaign.segment = Segment.objects.filter(slug=slug).first() if slug else None
        if slug and campaign.segment is None:
            reader.fail("segment", f"Unknown segment {slug}.")


def apply_campaign_data(campaign: Campaign, data: dict, *, creating: bool) -> list | None:
    """Copy the fields present in `data` onto `campaign` (unsaved); returns the rules' segments to set, or
    None when untouched. Raises InvalidInput naming every wrong field."""
    reader = _Reader(campaign)
    if "timezone" in data:  # first: naive times below are read in it
        _read_extras(reader, {"timezone": data["timezone"]})
    if creating or "name" in data:
        campaign.name = reader.text("name", data.get("name"), 200)
        if not campaign.name:
            reader.fail("name", "This field is required.")
    if "slug" in data and data["slug"]:
        campaign.slug = reader.text("slug", data["slug"], 100)
        if slugify(campaign.slug) != campaign.slug:
            reader.fail("slug", "Lower-case letters, digits and hyphens.")
    if creating:
        campaign.type = data.get("type") or CampaignType.UNIQUE
        if campaign.type not in CampaignType.values:
            reader.fail("type", f"One of {', '.join(CampaignType.values)}.")
    if "public_code" in data or creating:
        campaign.public_code = normalise_code(data.get("public_code") or "") if "public_code" in data else ""
    if campaign.type == CampaignType.PUBLIC and not campaign.public_code:
        reader.fail("public_code", "A public campaign needs its code.")
    elif campaign.type == CampaignType.PUBLIC and (len(campaign.public_code) > 64
                                                   or any(ch.isspace() for ch in campaign.public_code)):
        reader.fail("public_code", "At most 64 characters, no spaces.")
    elif campaign.type == CampaignType.UNIQUE and campaign.public_code:
        reader.fail("public_code", "Only a public campaign has a public code.")
    if creating or "discount" in data:
        _read_discount(reader, data.get("discount"), creating)
    if "code_config" in data:
        _read_code_config(reader, data["code_config"], data)
    config = data.get("code_config") if isinstance(data.get("code_config"), dict) else {}
    for name in ("weak_codes_confirmed", "max_uses_per_code"):
        source = config if name in config else data
        if name not in source:
            continue
        if name == "weak_codes_confirmed":
            campaign.weak_codes_confirmed = bool(source[name])
        else:
            campaign.max_uses_per_code = reader.integer("max_uses_per_code", source[name], minimum=1)
    segments = _read_rules(reader, data["rules"]) if "rules" in data else None
    for name in ("starts_at", "ends_at"):
        if name in data:
            setattr(campaign, name, reader.moment(name, data[name]))
    if campaign.starts_at and campaign.ends_at and campaign.ends_at <= campaign.starts_at:
        reader.fail("ends_at", "After starts_at.")
    if "code_valid_days" in data:
        campaign.code_valid_days = reader.integer("code_valid_days", data["code_valid_days"], minimum=1)
    if "trigger" in data:
        _read_trigger(reader, data["trigger"])
    if "draft" in data:
        campaign.is_draft = bool(data["draft"])
    _read_extras(reader, {name: value for name, value in data.items() if name != "timezone"})
    if reader.errors:
        raise InvalidInput("Invalid campaign: " + "; ".join(
            f"{name}: {' '.join(messages)}" for name, messages in reader.errors.items()), fields=reader.errors)
    return segments
