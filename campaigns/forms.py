"""The campaign form: what a marketer types, turned into API.md's campaign body for the services."""

import zoneinfo
from datetime import datetime
from decimal import Decimal

from django import forms
from django.utils.text import slugify

from campaigns.models import DEFAULT_CHARSET, DEFAULT_CODE_LENGTH, Campaign, CampaignType, DiscountType
from retention.models import Segment
from retention.time import zone_or_utc

# Service error paths (API names) -> form fields. Unknown paths land in the form's top error list.
ERROR_FIELDS = {
    "discount.type": "discount_type", "discount.percent": "percent", "discount.max_amount": "max_amount",
    "discount.amount": "amount", "discount.sku": "unit_sku", "discount.quantity": "unit_quantity",
    "discount.balance": "gift_card_balance",
    "code_config.length": "code_length", "code_config.charset": "code_charset",
    "code_config.prefix": "code_prefix", "code_config.postfix": "code_postfix",
    "code_config.pattern": "code_pattern",
    "draft": "is_draft", "segment": "audience_segment",
}


class MoneyField(forms.DecimalField):
    """Major units on screen ("5.00"), integer minor units in the cleaned data (500)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", Decimal("0"))
        kwargs.setdefault("required", False)
        super().__init__(max_digits=14, decimal_places=2, **kwargs)
        self.widget.attrs.setdefault("step", "0.01")
        self.widget.attrs.setdefault("inputmode", "decimal")

    def prepare_value(self, value):
        if isinstance(value, int):
            return f"{Decimal(value) / 100:.2f}"
        return value

    def clean(self, value):
        amount = super().clean(value)
        return None if amount is None else int(amount * 100)


class ListField(forms.CharField):
    """A comma- or line-separated list: "DE, AT" -> ["DE", "AT"]."""

    def __init__(self, *, upper: bool = False, **kwargs):
        self.upper = upper
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def prepare_value(self, value):
        return ", ".join(str(item) for item in value) if isinstance(value, list | tuple) else value

    def clean(self, value):
        text = super().clean(value) or ""
        items = [item.strip() for item in text.replace("\n", ",").split(",") if item.strip()]
        return [item.upper() for item in items] if self.upper else items


class MoneyListField(ListField):
    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return ", ".join(f"{Decimal(item) / 100:.2f}" for item in value)
        return value

    def clean(self, value):
        amounts = []
        for item in super().clean(value):
            try:
                amount = Decimal(item)
            except ArithmeticError:
                raise forms.ValidationError(f"“{item}” is not an amount: write it like 5.00.") from None
            if amount <= 0 or amount != amount.quantize(Decimal("0.01")):
                raise forms.ValidationError(f"“{item}” is not an amount: write it like 5.00.")
            amounts.append(int(amount * 100))
        return amounts


def _zone_choices() -> list[tuple[str, str]]:
    return [(name, name.replace("_", " ")) for name in sorted(zoneinfo.available_timezones())]


def _local(widget_type: str = "datetime-local") -> forms.DateTimeInput:
    return forms.DateTimeInput(attrs={"type": widget_type}, format="%Y-%m-%dT%H:%M")


class CampaignForm(forms.Form):
    # Basics
    name = forms.CharField(max_length=200, widget=forms.TextInput(attrs={"autofocus": True}))
    slug = forms.SlugField(max_length=100, required=False,
                           help_text="The campaign's address and API name. Filled in from the name when left empty.")
    type = forms.ChoiceField(choices=CampaignType.choices, initial=CampaignType.UNIQUE, widget=forms.RadioSelect)
    public_code = forms.CharField(max_length=64, required=False,
                                  help_text="The one code everybody types, e.g. SPRING500.")
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    tags = ListField(help_text="Comma-separated, e.g. winter, newsletter.")

    # Discount
    discount_type = forms.ChoiceField(label="Discount", choices=DiscountType.choices, initial=DiscountType.PERCENT)
    percent = forms.IntegerField(label="Percent off", min_value=1, max_value=100, required=False)
    max_amount = MoneyField(label="At most", help_text="Caps a percent discount. Leave empty for no cap.")
    amount = MoneyField(label="Amount off")
    unit_sku = forms.CharField(label="Free product (SKU)", max_length=100, required=False)
    unit_quantity = forms.IntegerField(label="Free units", min_value=1, required=False, initial=1)
    gift_card_balance = MoneyField(label="Gift card balance")
    currency = forms.CharField(max_length=3, min_length=3, required=False, initial="EUR",
                               help_text="Three letters, e.g. EUR. Orders in other currencies are refused.")

    # Codes
    code_length = forms.IntegerField(label="Length", min_value=4, max_value=64, initial=DEFAULT_CODE_LENGTH)
    code_charset = forms.CharField(label="Characters", max_length=100, initial=DEFAULT_CHARSET)
    code_prefix = forms.CharField(label="Prefix", max_length=30, required=False)
    code_postfix = forms.CharField(label="Postfix", max_length=30, required=False)
    code_pattern = forms.CharField(label="Pattern", max_length=60, required=False,
                                   help_text="Optional: # is a digit, ? a letter, e.g. SORRY-####-????. "
                                             "Wins over the length.")
    weak_codes_confirmed = forms.BooleanField(
        label="I accept codes that can be guessed", required=False,
        help_text="Needed for fewer than 40 bits of randomness: a shopper could guess a valid code.")
    max_uses_per_code = forms.IntegerField(label="Uses per code", min_value=1, required=False, initial=1,
                                           help_text="Empty: a code can be used until the campaign's caps stop it.")

    # Rules
    min_order_amount = MoneyField(label="Minimum order")
    countries = ListField(upper=True, help_text="Two-letter codes, e.g. DE, AT. Empty: every country.")
    segments = forms.ModelMultipleChoiceField(queryset=Segment.objects.order_by("name"), required=False,
                                              to_field_name="slug", help_text="Empty: every customer.")
    first_order_only = forms.BooleanField(required=False)
    assigned_only = forms.BooleanField(label="Only for the customer the code was issued to", required=False)
    include_skus = ListField(label="Only these SKUs")
    exclude_skus = ListField(label="Never these SKUs")
    include_categories = ListField(label="Only these categories")
    exclude_categories = ListField(label="Never these categories")
    max_redemptions = forms.IntegerField(label="Redemptions in all", min_value=1, required=False)
    max_redemptions_per_customer = forms.IntegerField(label="Per customer", min_value=1, required=False)
    budget = MoneyField(label="Budget", help_text="The total discount the campaign may give.")

    # Schedule
    timezone = forms.ChoiceField(label="Time zone", choices=_zone_choices, initial="UTC")
    starts_at = forms.DateTimeField(label="Starts", required=False, widget=_local(),
                                    help_text="Empty: as soon as it is launched.")
    ends_at = forms.DateTimeField(label="Ends", required=False, widget=_local(), help_text="Empty: no end.")
    code_valid_days = forms.IntegerField(label="Codes valid for (days)", min_value=1, required=False,
                                         help_text="Counted from when each code is issued.")
    is_draft = forms.BooleanField(label="Save as a draft", required=False, initial=True,
                                  help_text="A draft is not live: launch it from its page.")

    # Audience, support, landing page, leak guard, hold-out
    audience_segment = forms.ModelChoiceField(label="Audience segment", queryset=Segment.objects.order_by("name"),
                                              to_field_name="slug", required=False,
                                              help_text="Narrows the audience of triggers and the landing page.")
    holdout_percent = forms.IntegerField(label="Hold-out (%)", min_value=0, max_value=90, initial=0, required=False,
                                         help_text="Share of the audience kept without an offer, to measure "
                                                   "its effect.")
    is_support = forms.BooleanField(label="Support agents may issue codes of it", required=False)
    support_amount_options = MoneyListField(label="Amounts agents may pick", help_text="e.g. 5.00, 10.00, 20.00")
    landing_enabled = forms.BooleanField(label="Public landing page", required=False)
    landing_title = forms.CharField(label="Title", max_length=200, required=False)
    landing_text = forms.CharField(label="Text", required=False, widget=forms.Textarea(attrs={"rows": 3}))
    landing_image_url = forms.URLField(label="Image address", max_length=500, required=False, assume_scheme="https")
    landing_first_time_only = forms.BooleanField(label="First-time customers only", required=False)
    leak_guard_factor = forms.IntegerField(
        label="Alert above × the usual pace", min_value=2, max_value=100, required=False,
        help_text="Public codes: alert when a day's redemptions exceed this many times the recent daily pace "
                  "(default 3).")
    leak_guard_auto_pause = forms.BooleanField(label="Pause automatically on a leak", required=False)

    def __init__(self, *args, campaign: Campaign | None = None, **kwargs):
        self.campaign = campaign
        if campaign is not None:
            kwargs.setdefault("initial", initial_from_campaign(campaign))
        super().__init__(*args, **kwargs)
        if campaign is not None:
            self.fields["is_draft"].disabled = not campaign.is_draft  # a launched campaign is paused, not drafted
            self.fields["is_draft"].help_text = "" if campaign.is_draft else "Launched: pause it from its page instead."

    # Validation a marketer understands, field by field.
    def clean_currency(self):
        currency = self.cleaned_data["currency"].strip().upper()
        if currency and not currency.isalpha():
            raise forms.ValidationError("Use the three-letter code, e.g. EUR or GBP.")
        return currency

    def clean_countries(self):
        countries = self.cleaned_data["countries"]
        wrong = [country for country in countries if len(country) != 2 or not country.isalpha()]
        if wrong:
            raise forms.ValidationError(f"Use two-letter country codes (DE, AT): “{', '.join(wrong)}” is not one.")
        return countries

    def clean_public_code(self):
        return self.cleaned_data["public_code"].strip().upper()

    def clean(self):
        data = super().clean()
        kind = data.get("discount_type")
        required = {
            DiscountType.PERCENT: ("percent", "Say how many percent off, from 1 to 100."),
            DiscountType.AMOUNT: ("amount", "Say how much the code takes off, e.g. 5.00."),
            DiscountType.UNIT: ("unit_sku", "Name the product (SKU) given for free."),
            DiscountType.GIFT_CARD: ("gift_card_balance", "Say how much each gift card holds, e.g. 25.00."),
        }
        if kind in required:
            name, message = required[kind]
            if data.get(name) in (None, "", 0) and name not in self.errors:
                self.add_error(name, message)
        if data.get("type") == CampaignType.PUBLIC and not data.get("public_code") and "public_code" not in self.errors:
            self.add_error("public_code", "A public campaign needs the code shoppers will type.")
        needs_currency = kind in (DiscountType.AMOUNT, DiscountType.GIFT_CARD) or data.get("min_order_amount") \
            or data.get("budget")
        if needs_currency and not data.get("currency") and "currency" not in self.errors:
            self.add_error("currency", "Amounts need a currency, e.g. EUR.")
        starts, ends = data.get("starts_at"), data.get("ends_at")
        if starts and ends and ends <= starts:
            self.add_error("ends_at", "The end must come after the start.")
        if data.get("is_support") and not data.get("support_amount_options"):
            self.add_error("support_amount_options", "Give agents at least one amount to pick, e.g. 5.00.")
        if data.get("landing_enabled") and not data.get("landing_title"):
            self.add_error("landing_title", "A landing page needs a title.")
        if data.get("name") and not data.get("slug"):
            data["slug"] = slugify(data["name"])[:100]
        return data

    def _aware(self, value: datetime | None) -> str | None:
        """The picked wall-clock time in the campaign's own time zone, as an ISO string."""
        if value is None:
            return None
        zone = zone_or_utc(self.cleaned_data.get("timezone"))
        return value.replace(tzinfo=None).replace(tzinfo=zone).isoformat()

    def to_data(self) -> dict:
        """API.md's campaign body (plus the back-office's own fields) for create_campaign/update_campaign."""
        data = self.cleaned_data
        kind = data["discount_type"]
        discount: dict = {"type": kind}
        if kind == DiscountType.PERCENT:
            discount.update(percent=data["percent"], max_amount=data["max_amount"])
        elif kind == DiscountType.AMOUNT:
            discount["amount"] = data["amount"]
        elif kind == DiscountType.UNIT:
            discount.update(sku=data["unit_sku"], quantity=data["unit_quantity"] or 1)
        elif kind == DiscountType.GIFT_CARD:
            discount["balance"] = data["gift_card_balance"]
        body = {
            "name": data["name"], "slug": data["slug"], "type": data["type"], "description": data["description"],
            "tags": data["tags"], "discount": discount,
            "code_config": {"length": data["code_length"], "charset": data["code_charset"],
                            "prefix": data["code_prefix"], "postfix": data["code_postfix"],
                            "pattern": data["code_pattern"]},
            "weak_codes_confirmed": data["weak_codes_confirmed"],
            "max_uses_per_code": data["max_uses_per_code"],
            "rules": {
                "currency": data["currency"], "min_order_amount": data["min_order_amount"],
                "countries": data["countries"], "segments": [segment.slug for segment in data["segments"]],
                "first_order_only": data["first_order_only"], "assigned_only": data["assigned_only"],
                "include_skus": data["include_skus"], "exclude_skus": data["exclude_skus"],
                "include_categories": data["include_categories"], "exclude_categories": data["exclude_categories"],
                "max_redemptions": data["max_redemptions"],
                "max_redemptions_per_customer": data["max_redemptions_per_customer"], "budget": data["budget"],
            },
            "timezone": data["timezone"], "starts_at": self._aware(data["starts_at"]),
            "ends_at": self._aware(data["ends_at"]), "code_valid_days": data["code_valid_days"],
            "segment": data["audience_segment"].slug if data["audience_segment"] else None,
            "holdout_percent": data["holdout_percent"] or 0,
            "is_support": data["is_support"], "support_amount_options": data["support_amount_options"],
            "landing_enabled": data["landing_enabled"], "landing_title": data["landing_title"],
            "landing_text": data["landing_text"], "landing_image_url": data["landing_image_url"],
            "landing_first_time_only": data["landing_first_time_only"],
            "leak_guard_factor": data["leak_guard_factor"], "leak_guard_auto_pause": data["leak_guard_auto_pause"],
        }
        if data["type"] == CampaignType.PUBLIC:
            body["public_code"] = data["public_code"]
        if not self.fields["is_draft"].disabled:
            body["draft"] = data["is_draft"]
        return body

    def add_service_errors(self, fields: dict, message: str) -> None:
        """Put a CampaignError's field errors (API paths such as "rules.budget") next to the right fields."""
        placed = False
        for path, messages in (fields or {}).items():
            name = ERROR_FIELDS.get(path) or path.rsplit(".", 1)[-1]
            if name not in self.fields:
                continue
            for text in messages if isinstance(messages, list | tuple) else [messages]:
                if name not in self.errors or text not in self.errors[name]:
                    self.add_error(name, text)
            placed = True
        if not placed:
            self.add_error(None, message)


def initial_from_campaign(campaign: Campaign) -> dict:
    zone = zone_or_utc(campaign.timezone)
    initial = {name: getattr(campaign, name) for name in CampaignForm.base_fields
               if hasattr(campaign, name) and name not in ("segments", "starts_at", "ends_at")}
    initial.update(
        segments=[segment.slug for segment in campaign.segments.all()],
        audience_segment=campaign.segment.slug if campaign.segment_id else None,
        starts_at=campaign.starts_at.astimezone(zone).replace(tzinfo=None) if campaign.starts_at else None,
        ends_at=campaign.ends_at.astimezone(zone).replace(tzinfo=None) if campaign.ends_at else None,
    )
    return initial


class GenerationForm(forms.Form):
    count = forms.IntegerField(label="How many codes", min_value=1, max_value=1_000_000, initial=1000)


class IssueCodeForm(forms.Form):
    customer = forms.CharField(label="Customer", max_length=255,
                               help_text="The customer's source_id or email address.")


class CodeSearchForm(forms.Form):
    q = forms.CharField(required=False, label="Search codes",
                        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Code or customer email"}))
