"""The A/B comparison page: two or more campaigns side by side, each tested against the first (baseline)."""

from django import forms
from django.shortcuts import render

from campaigns.ab import ab_report
from campaigns.models import Campaign
from retention.roles import MARKETING, role_required


class CompareForm(forms.Form):
    campaigns = forms.ModelMultipleChoiceField(queryset=Campaign.objects.order_by("name"),
                                               widget=forms.CheckboxSelectMultiple, label="Variants")
    baseline = forms.ModelChoiceField(queryset=Campaign.objects.order_by("name"), required=False,
                                      label="Baseline (A)", empty_label="The first in the list")

    def clean(self):
        cleaned = super().clean()
        chosen = list(cleaned.get("campaigns") or [])
        if len(chosen) < 2:
            raise forms.ValidationError("Pick at least two campaigns to compare.")
        baseline = cleaned.get("baseline")
        if baseline is not None:
            if baseline not in chosen:
                raise forms.ValidationError("The baseline must be one of the compared campaigns.")
            chosen = [baseline, *[campaign for campaign in chosen if campaign != baseline]]
        cleaned["ordered"] = chosen
        return cleaned


@role_required(MARKETING)
def compare(request):
    form = CompareForm(request.GET or None)
    variants = ab_report(form.cleaned_data["ordered"]) if form.is_valid() else []
    return render(request, "campaigns/ab_compare.html", {"form": form, "variants": variants, "nav": "campaigns"})
