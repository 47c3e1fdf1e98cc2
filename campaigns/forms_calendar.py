"""The trigger section: what a marketer types, turned into API.md's trigger JSON (+ segment, time zone)."""

import zoneinfo

from django import forms

from campaigns.calendar import DEFAULT_SEND_TIME, Trigger
from campaigns.models import Campaign
from retention.models import Segment

TRIGGER_TYPES = [
    ("", "No trigger"), ("welcome", "Welcome"), ("birthday", "Birthday"), ("anniversary", "Anniversary"),
    ("win_back", "Win-back"),
]
# Fields each type uses; the page shows only these (the others are ignored on save).
TYPE_FIELDS = {
    "welcome": ["on"],
    "birthday": ["days_before", "send_time", "timezone"],
    "anniversary": ["attribute", "offset_days", "repeat", "send_time", "timezone"],
    "win_back": ["days_since_last_order", "cooldown_days", "send_time", "timezone"],
}


class TriggerForm(forms.Form):
    type = forms.ChoiceField(choices=TRIGGER_TYPES, required=False, label="Trigger")
    on = forms.ChoiceField(choices=[("signup", "On sign-up"), ("first_order", "On the first order")],
                           required=False, label="Welcome when")
    days_before = forms.IntegerField(min_value=0, max_value=60, required=False, initial=0,
                                     help_text="0: on the birthday itself.")
    attribute = forms.CharField(max_length=120, required=False, initial="signed_up_at",
                                help_text="signed_up_at, or metadata.<key> holding a date (YYYY-MM-DD).")
    offset_days = forms.IntegerField(min_value=0, max_value=3660, required=False, initial=0,
                                     help_text="Days after the date, e.g. 182 for about six months.")
    repeat = forms.ChoiceField(choices=[("yearly", "Every year"), ("once", "Once")], required=False)
    days_since_last_order = forms.IntegerField(min_value=1, max_value=3660, required=False,
                                               label="Days since last order")
    cooldown_days = forms.IntegerField(min_value=1, max_value=3660, required=False,
                                       help_text="Empty: exactly N days after the last order. Set: more than N "
                                                 "days, and not again within this many days.")
    send_time = forms.TimeField(required=False, initial=DEFAULT_SEND_TIME, label="Send at",
                                widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
                                help_text="In each customer's own time zone.")
    timezone = forms.ChoiceField(required=False, label="Fallback time zone",
                                 help_text="For customers without a time zone; empty: the campaign's.")
    segment = forms.ModelChoiceField(queryset=Segment.objects.order_by("name"), required=False,
                                     to_field_name="slug", label="Audience segment", empty_label="Everyone",
                                     help_text="Narrows any trigger; the campaign's rules still apply.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["timezone"].choices = [("", "The campaign's")] + [
            (name, name) for name in sorted(zoneinfo.available_timezones())]

    def clean(self):
        data = super().clean()
        kind = data.get("type")
        if kind == "win_back" and not data.get("days_since_last_order"):
            self.add_error("days_since_last_order", "A win-back needs the number of days.")
        attribute = (data.get("attribute") or "").strip()
        if kind == "anniversary" and attribute != "signed_up_at" and not attribute.startswith("metadata."):
            self.add_error("attribute", "signed_up_at or metadata.<key>.")
        return data

    def to_data(self) -> dict:
        """{"trigger": {...} or None, "segment": slug or None} for update_campaign."""
        data = self.cleaned_data
        kind = data.get("type")
        segment = data["segment"].slug if data.get("segment") else None
        if not kind:
            return {"trigger": None, "segment": segment}
        trigger: dict = {"type": kind}
        for name in TYPE_FIELDS[kind]:
            value = data.get(name)
            if name == "send_time":
                value = (value or DEFAULT_SEND_TIME).strftime("%H:%M")
            if name == "attribute":
                value = (value or "signed_up_at").strip()
            if value in (None, ""):
                if name in ("days_before", "offset_days"):
                    value = 0
                else:
                    continue
            trigger[name] = value
        return {"trigger": trigger, "segment": segment}


def trigger_initial(campaign: Campaign) -> dict:
    trigger = Trigger.of(campaign)
    initial = {"segment": campaign.segment.slug if campaign.segment_id else None}
    if trigger is None:
        return initial
    raw = campaign.trigger
    initial.update(type=trigger.type, on=trigger.on, days_before=trigger.days_before, attribute=trigger.attribute,
                   offset_days=trigger.offset_days, repeat=trigger.repeat,
                   days_since_last_order=raw.get("days_since_last_order"), cooldown_days=trigger.cooldown_days,
                   send_time=trigger.send_time, timezone=trigger.timezone)
    return initial
