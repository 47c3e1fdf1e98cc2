"""The program editor: the program's fields and its reward tiers, turned into API.md's data shape."""

from django import forms

from campaigns.models import Campaign
from loyalty.models import LoyaltyProgram
from referrals.models import FIRST_ORDER, ReferralProgram, RewardType
from retention.models import Segment


class ProgramForm(forms.Form):
    name = forms.CharField(max_length=200)
    enabled = forms.BooleanField(required=False, initial=True, label="Enabled")
    link_template = forms.CharField(max_length=500, initial="https://shop.example/?ref={code}",
                                    help_text="Put {code} where the referral code goes.")
    segment = forms.ModelChoiceField(Segment.objects.order_by("name"), required=False, to_field_name="slug",
                                     empty_label="Everyone", label="Who may refer")
    friend_campaign = forms.ModelChoiceField(Campaign.objects.order_by("name"), required=False, to_field_name="slug",
                                             empty_label="No welcome code", label="Friend's welcome code from")
    conversion_event = forms.CharField(max_length=100, initial=FIRST_ORDER, label="Converts on",
                                       help_text="first_order, or an event type such as review_submitted")
    min_order_amount = forms.IntegerField(min_value=0, initial=0, label="Minimum order amount (cents)")
    within_days = forms.IntegerField(min_value=1, required=False, initial=30, label="Within days of referral")
    reward_hold_days = forms.IntegerField(min_value=0, initial=0, label="Hold the reward (days)")
    return_window_days = forms.IntegerField(min_value=0, initial=14, label="Return window (days)")
    max_rewards_per_referrer_per_month = forms.IntegerField(min_value=1, required=False,
                                                            label="Max rewarded referrals per referrer per month")
    budget = forms.IntegerField(min_value=0, required=False, label="Budget (cents)")
    loyalty_program = forms.ModelChoiceField(LoyaltyProgram.objects.order_by("name"), required=False,
                                             empty_label="Default loyalty program", label="Points go to")

    def payload(self) -> dict:
        data = self.cleaned_data
        return {
            "name": data["name"], "enabled": data["enabled"], "link_template": data["link_template"],
            "segment": data["segment"].slug if data["segment"] else None,
            "friend_campaign": data["friend_campaign"].slug if data["friend_campaign"] else None,
            "loyalty_program": data["loyalty_program"].pk if data["loyalty_program"] else None,
            "conversion": {"event": data["conversion_event"], "min_order_amount": data["min_order_amount"],
                           "within_days": data["within_days"]},
            "reward_hold_days": data["reward_hold_days"], "return_window_days": data["return_window_days"],
            "limits": {"max_rewards_per_referrer_per_month": data["max_rewards_per_referrer_per_month"]},
            "budget": data["budget"],
        }

    @classmethod
    def initial_for(cls, program: ReferralProgram) -> dict:
        return {
            "name": program.name, "enabled": program.is_enabled, "link_template": program.link_template,
            "segment": program.segment.slug if program.segment_id else None,
            "friend_campaign": program.friend_campaign.slug if program.friend_campaign_id else None,
            "loyalty_program": program.loyalty_program_id, "conversion_event": program.conversion_event,
            "min_order_amount": program.min_order_amount, "within_days": program.within_days,
            "reward_hold_days": program.reward_hold_days, "return_window_days": program.return_window_days,
            "max_rewards_per_referrer_per_month": program.max_rewards_per_referrer_per_month,
            "budget": program.budget,
        }


TIER_TYPES = [(RewardType.POINTS, "Points"), ("campaign", "Code or gift card (campaign)"),
              (RewardType.CASH, "Cash payout (cents)")]


class TierForm(forms.Form):
    referrals = forms.IntegerField(min_value=1, label="From referral no.")
    kind = forms.ChoiceField(choices=TIER_TYPES, label="Reward", initial=RewardType.POINTS)
    amount = forms.IntegerField(min_value=1, required=False, label="Points or cents")
    campaign = forms.ModelChoiceField(Campaign.objects.order_by("name"), required=False, to_field_name="slug")

    def clean(self):
        data = super().clean()
        if data.get("kind") == "campaign" and not data.get("campaign"):
            self.add_error("campaign", "Choose the campaign whose code is the reward.")
        if data.get("kind") in (RewardType.POINTS, RewardType.CASH) and not data.get("amount"):
            self.add_error("amount", "Enter the points or the cents of the payout.")
        return data

    def row(self) -> dict:
        data = self.cleaned_data
        if data["kind"] == RewardType.POINTS:
            reward = {"points": data["amount"]}
        elif data["kind"] == RewardType.CASH:
            reward = {"cash_amount": data["amount"]}
        else:
            reward = {"campaign": data["campaign"].slug}
        return {"referrals": data["referrals"], "reward": reward}


TierFormSet = forms.formset_factory(TierForm, extra=2, can_delete=True)


def tier_initial(program: ReferralProgram | None) -> list[dict]:
    if program is None:
        return []
    rows = []
    for tier in program.tiers.select_related("campaign"):
        kind = tier.reward_type if tier.reward_type in (RewardType.POINTS, RewardType.CASH) else "campaign"
        rows.append({"referrals": tier.referrals, "kind": kind, "amount": tier.points or tier.cash_amount,
                     "campaign": tier.campaign.slug if tier.campaign_id else None})
    return rows


class DecisionForm(forms.Form):
    note = forms.CharField(max_length=255, required=False)


class InviteForm(forms.Form):
    email = forms.EmailField(max_length=254)
