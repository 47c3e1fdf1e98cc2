"""Forms of the support desk. They only parse; limits are the service's to enforce."""

from decimal import Decimal

from django import forms

from campaigns.models import Campaign, DiscountType, SupportAgentLimit
from campaigns.services.support import describe_value

CUSTOM = "custom"


class CustomerSearchForm(forms.Form):
    q = forms.CharField(label="Email or customer id", max_length=254, required=False,
                        widget=forms.TextInput(attrs={"type": "search", "autofocus": True,
                                                      "placeholder": "anna@example.com or the shop's customer id"}))


def offer_choices(campaigns: list[Campaign], limit: SupportAgentLimit) -> list[tuple[str, list]]:
    """Grouped choices "<campaign pk>:<value>": the campaign's options within the agent's caps first."""
    groups = []
    for campaign in campaigns:
        choices = []
        if campaign.discount_type in (DiscountType.PERCENT, DiscountType.AMOUNT):
            is_percent = campaign.discount_type == DiscountType.PERCENT
            cap = limit.max_percent if is_percent else limit.max_amount
            for option in sorted(int(value) for value in campaign.support_amount_options or []):
                if option <= cap:  # options above the cap would be refused: do not offer them
                    value = describe_value(campaign=campaign, percent=option) if is_percent else describe_value(
                        campaign=campaign, amount=option)
                    choices.append((f"{campaign.pk}:{option}", value))
            if not campaign.support_amount_options:
                choices.append((f"{campaign.pk}:{CUSTOM}", "Other value (type it below)"))
        else:
            choices.append((f"{campaign.pk}:", describe_value(campaign=campaign)))
        if choices:
            groups.append((campaign.name, choices))
    return groups


class SupportCodeForm(forms.Form):
    offer = forms.ChoiceField(label="Offer")
    custom_value = forms.DecimalField(label="Other value", required=False, min_value=Decimal("0.01"),
                                      max_digits=9, decimal_places=2,
                                      help_text="In the campaign's currency (e.g. 15 for 15.00 EUR), or percent.")
    sku = forms.CharField(label="Only for product (SKU)", max_length=100, required=False,
                          help_text="Leave empty for the whole order.")
    reason = forms.CharField(label="Reason", max_length=255,
                             widget=forms.TextInput(attrs={"placeholder": "e.g. the parcel arrived two weeks late"}),
                             error_messages={"required": "Say why the customer gets this code."})
    apply_to_next_order = forms.BooleanField(
        label="Apply automatically to the next order (no email)", required=False)

    def __init__(self, *args, campaigns: list[Campaign], limit: SupportAgentLimit, **kwargs):
        super().__init__(*args, **kwargs)
        self.campaigns = {campaign.pk: campaign for campaign in campaigns}
        groups = offer_choices(campaigns, limit)
        self.fields["offer"].choices = [("", "Choose an offer…"), *groups]
        if not any(value.endswith(f":{CUSTOM}") for _name, choices in groups for value, _label in choices):
            del self.fields["custom_value"]  # every campaign has fixed options: nothing to type

    def clean(self):
        cleaned = super().clean()
        offer = cleaned.get("offer")
        if not offer:
            return cleaned
        campaign_pk, _, value = offer.partition(":")
        campaign = self.campaigns.get(int(campaign_pk))
        if campaign is None:
            raise forms.ValidationError("This offer is no longer available.")
        amount = percent = None
        if value == CUSTOM:
            custom = cleaned.get("custom_value") if "custom_value" in self.fields else None
            if custom is None:
                self.add_error("custom_value", "Type the value to give.")
                return cleaned
            value = str(int(custom * 100)) if campaign.discount_type == DiscountType.AMOUNT else str(int(custom))
        if value:
            if campaign.discount_type == DiscountType.PERCENT:
                percent = int(value)
            else:
                amount = int(value)
        cleaned.update(campaign=campaign, amount=amount, percent=percent)
        return cleaned
