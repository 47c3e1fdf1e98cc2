"""Back-office forms: the program editor (basics plus one inline set per kind of rule) and adjustments.

Messages speak the marketer's language; the service (ENGINE's create_program/update_program) still
checks everything again, and its DomainError lands on the form as a non-field error.
"""

from django import forms
from django.forms import BaseInlineFormSet, inlineformset_factory

from campaigns.models import Campaign
from loyalty.models import (
    BonusPeriod,
    CategoryMultiplier,
    EarningRule,
    LoyaltyProgram,
    Milestone,
    Reward,
    RewardType,
    Tier,
)
from retention.models import Segment

PROGRAM_FIELDS = [
    "name", "currency", "points_per_unit", "pending_days", "points_expire_after_days", "expiry_reminder_days",
    "tier_basis", "signup_bonus", "adjustment_approval_threshold", "is_default", "is_active", "portal_promotion",
]
CODE_REWARDS = {RewardType.CODE, RewardType.GIFT_CARD, RewardType.PRODUCT, RewardType.FREE_SHIPPING}


class ProgramForm(forms.ModelForm):
    class Meta:
        model = LoyaltyProgram
        fields = PROGRAM_FIELDS
        labels = {
            "points_per_unit": "Points per 1.00 spent",
            "pending_days": "Days before points can be spent",
            "points_expire_after_days": "Points expire after (days)",
            "expiry_reminder_days": "Remind customers (days before expiry)",
            "signup_bonus": "Sign-up bonus (points)",
            "adjustment_approval_threshold": "Manual adjustments above this need a second person",
            "is_default": "Default program",
            "is_active": "Active",
            "portal_promotion": "Offer shown in the customer portal",
        }
        help_texts = {
            "points_per_unit": "Per 1.00 of the paid amount, rounded once per order, half up: at 1 point per 1.00 "
                               "an order of 0.50 earns 1 point and 0.49 earns none.",
            "tier_basis": "Rolling: points earned in the last 12 months, re-checked daily (members can move down).",
            "pending_days": "The return window: points of an order wait this long. 0 means at once.",
            "points_expire_after_days": "Leave empty and points never expire.",
            "portal_promotion": "A short message customers see on their rewards page. Leave empty for none.",
        }
        widgets = {"portal_promotion": forms.Textarea(attrs={"rows": 2})}

    def clean_currency(self):
        currency = self.cleaned_data["currency"].strip().upper()
        if len(currency) != 3 or not currency.isalpha():
            raise forms.ValidationError("Use a three-letter currency code, such as EUR or GBP.")
        return currency

    def clean(self):
        cleaned = super().clean()
        expires, reminder = cleaned.get("points_expire_after_days"), cleaned.get("expiry_reminder_days")
        if expires is not None and reminder is not None and reminder >= expires:
            self.add_error("expiry_reminder_days",
                           f"The reminder must come before the points expire (less than {expires} days).")
        if expires is not None and expires == 0:
            self.add_error("points_expire_after_days", "Points must live at least one day. Leave empty for never.")
        return cleaned


class UniqueFieldFormSet(BaseInlineFormSet):
    """Rejects two rows with the same value in `unique_field` with a sentence, not a database error."""

    unique_field = ""
    unique_message = ""

    def clean(self):
        # Before the model formset's own check, whose "Please correct the duplicate data" says less.
        seen = set()
        for form in self.forms:
            if not form.has_changed() and not form.instance.pk or self._should_delete_form(form):
                continue
            value = form.cleaned_data.get(self.unique_field)
            if value in (None, ""):
                continue
            key = value.strip().lower() if isinstance(value, str) else value
            if key in seen:
                form.add_error(self.unique_field, self.unique_message.format(value=value))
            seen.add(key)
        super().clean()


class EarningRuleFormSet(UniqueFieldFormSet):
    unique_field = "event_type"
    unique_message = "There is already a rule for “{value}”: one rule per event."


class CategoryFormSet(UniqueFieldFormSet):
    unique_field = "category"
    unique_message = "“{value}” has a multiplier already."


class TierFormSet(UniqueFieldFormSet):
    unique_field = "threshold"
    unique_message = "Another tier starts at {value} points: each tier needs its own threshold."


class BonusPeriodForm(forms.ModelForm):
    skus = forms.CharField(required=False, label="Only these SKUs", help_text="Comma separated; empty for all.")
    categories = forms.CharField(required=False, label="Only these categories", help_text="Comma separated.")

    class Meta:
        model = BonusPeriod
        fields = ["name", "starts_at", "ends_at", "multiplier_percent", "skus", "categories"]
        labels = {"multiplier_percent": "Multiplier (%)"}
        widgets = {"starts_at": forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
                   "ends_at": forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("skus", "categories"):
            self.initial[name] = ", ".join(getattr(self.instance, name) or [])

    def _split(self, name):
        return [part.strip() for part in (self.cleaned_data.get(name) or "").split(",") if part.strip()]

    def clean_skus(self):
        return self._split("skus")

    def clean_categories(self):
        return self._split("categories")

    def clean(self):
        cleaned = super().clean()
        starts, ends = cleaned.get("starts_at"), cleaned.get("ends_at")
        if starts and ends and ends <= starts:
            self.add_error("ends_at", "The bonus must end after it starts.")
        multiplier = cleaned.get("multiplier_percent")
        if multiplier is not None and multiplier <= 100:
            self.add_error("multiplier_percent", "A bonus gives more than 100 % (200 = double points).")
        return cleaned


def _share_choices(form, choices: dict | None) -> None:
    """Options read once for the whole inline set: otherwise every row's <select> queries its table again.
    Validation still goes through each field's queryset."""
    for name, options in (choices or {}).items():
        form.fields[name].choices = options


def _options(queryset) -> list[tuple]:
    return [("", "---------")] + [(row.pk, str(row)) for row in queryset]


class RewardForm(forms.ModelForm):
    class Meta:
        model = Reward
        fields = ["name", "description", "type", "cost", "campaign", "stock", "min_tier", "segment", "is_active"]
        labels = {"cost": "Cost (points)", "min_tier": "Only from tier", "stock": "Stock",
                  "segment": "Only for segment"}
        help_texts = {"stock": "Empty for unlimited."}
        widgets = {"description": forms.TextInput()}

    def __init__(self, *args, program=None, choices=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["campaign"].queryset = Campaign.objects.order_by("name")
        self.fields["segment"].queryset = Segment.objects.order_by("name")
        # Tiers of this program only; a new program's tiers exist once it is saved.
        self.fields["min_tier"].queryset = Tier.objects.filter(program=program) if program and program.pk \
            else Tier.objects.none()
        _share_choices(self, choices)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("type") in CODE_REWARDS and not cleaned.get("campaign"):
            self.add_error("campaign", "Pick the campaign whose codes this reward gives out.")
        if cleaned.get("cost") == 0:
            self.add_error("cost", "A reward costs at least 1 point.")
        return cleaned


class MilestoneForm(forms.ModelForm):
    class Meta:
        model = Milestone
        fields = ["name", "kind", "threshold", "bonus_points", "reward"]
        labels = {"kind": "Reached by", "bonus_points": "Bonus points"}

    def __init__(self, *args, program=None, choices=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reward"].queryset = Reward.objects.filter(program=program) if program and program.pk \
            else Reward.objects.none()
        _share_choices(self, choices)

    def clean(self):
        cleaned = super().clean()
        if not self.errors and not cleaned.get("bonus_points") and not cleaned.get("reward") \
                and not cleaned.get("DELETE"):
            self.add_error("bonus_points", "Give bonus points, a reward, or both.")
        return cleaned


def _formset(model, *, fields=None, form=forms.ModelForm, formset=BaseInlineFormSet, labels=None, widgets=None):
    return inlineformset_factory(LoyaltyProgram, model, form=form, formset=formset, fields=fields, extra=1,
                                 can_delete=True, labels=labels, widgets=widgets)


# (prefix, heading, formset class, key in the service's data)
INLINES = [
    ("earning_rules", "Points for events", _formset(
        EarningRule, fields=["event_type", "points", "max_per_month", "once_per_property", "is_active"],
        formset=EarningRuleFormSet,
        labels={"event_type": "Event", "max_per_month": "At most per month", "once_per_property": "Once per"})),
    ("category_multipliers", "Category multipliers", _formset(
        CategoryMultiplier, fields=["category", "multiplier_percent"], formset=CategoryFormSet,
        labels={"multiplier_percent": "Multiplier (%)"})),
    ("bonus_periods", "Bonus periods", _formset(BonusPeriod, form=BonusPeriodForm)),
    ("tiers", "Tiers", _formset(Tier, fields=["name", "threshold", "multiplier_percent", "perks"], formset=TierFormSet,
                                labels={"threshold": "From (points)", "multiplier_percent": "Earning (%)"},
                                widgets={"perks": forms.TextInput()})),
    ("rewards", "Rewards", _formset(Reward, form=RewardForm)),
    ("milestones", "Milestones", _formset(Milestone, form=MilestoneForm)),
]


def program_formsets(data=None, *, program: LoyaltyProgram | None = None) -> list[tuple[str, str, object]]:
    instance = program or LoyaltyProgram()
    saved = program is not None and program.pk is not None
    choices = {
        "rewards": {"campaign": _options(Campaign.objects.order_by("name")),
                    "segment": _options(Segment.objects.order_by("name")),
                    "min_tier": _options(Tier.objects.filter(program=program) if saved else [])},
        "milestones": {"reward": _options(Reward.objects.filter(program=program) if saved else [])},
    }
    sets = []
    for prefix, heading, formset_class in INLINES:
        kwargs = {"form_kwargs": {"program": program, "choices": choices[prefix]}} if prefix in choices else {}
        sets.append((prefix, heading, formset_class(data, instance=instance, prefix=prefix, **kwargs)))
    return sets


def rows_of(formset) -> list[dict]:
    """The kept rows of an inline set as plain dicts (with `id` for existing rows) for the service."""
    rows = []
    for form in formset.forms:
        if not form.has_changed() and not form.instance.pk:
            continue  # an untouched extra row
        if formset._should_delete_form(form):
            continue
        row = {name: form.cleaned_data.get(name) for name in form._meta.fields}
        # The service names related rows as the API does: campaigns and segments by slug, tiers and
        # rewards by name.
        for name, attribute in (("campaign", "slug"), ("segment", "slug"), ("min_tier", "name"), ("reward", "name")):
            if name in row:
                row[name] = getattr(row[name], attribute) if row[name] is not None else None
        if form.instance.pk:
            row["id"] = form.instance.pk
        rows.append(row)
    return rows


class AdjustmentForm(forms.Form):
    program = forms.ModelChoiceField(queryset=LoyaltyProgram.objects.all(), empty_label=None)
    points = forms.IntegerField(label="Points (+ or −)", help_text="Negative to take points away.")
    reason = forms.CharField(max_length=255, widget=forms.TextInput(attrs={"placeholder": "Why? (kept in the audit)"}))

    def clean_points(self):
        points = self.cleaned_data["points"]
        if points == 0:
            raise forms.ValidationError("Give a number of points other than 0.")
        return points


