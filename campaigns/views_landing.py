"""Public landing pages /c/<slug>/: no login; a code for an email address. Thin: the rules are the service's."""

from django import forms
from django.shortcuts import get_object_or_404, render
from django.views.decorators.cache import never_cache

from campaigns.errors import CampaignError
from campaigns.models import Campaign
from campaigns.services.landing import (
    CONSENT_WORDING,
    RATE_LIMIT_CLAIMS,
    RATE_LIMIT_WINDOW_SECONDS,
    LandingRefused,
    OfferEnded,
    claim_landing_code,
    is_offer_open,
)
from campaigns.services.support import describe_value
from retention.emails import normalise_email
from retention.http import client_ip

TEMPLATE = "campaigns/landing_page.html"


class ClaimForm(forms.Form):
    email = forms.EmailField(label="Your email address", max_length=254,
                             widget=forms.EmailInput(attrs={"autocomplete": "email", "placeholder": "you@example.com"}))
    consent = forms.BooleanField(label=CONSENT_WORDING, required=False)
    # The honeypot: hidden from people by CSS and from assistive tech by aria-hidden; bots fill every field.
    website = forms.CharField(required=False, widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}))


def _context(campaign: Campaign, **extra) -> dict:
    return {
        "campaign": campaign,
        "value": describe_value(campaign=campaign),
        "is_open": is_offer_open(campaign),
        **extra,
    }


@never_cache
def page(request, slug: str):
    campaign = get_object_or_404(Campaign, slug=slug, landing_enabled=True)
    if request.method != "POST":
        return render(request, TEMPLATE, _context(campaign, form=ClaimForm()))
    from retention.ratelimit import hit

    allowed, retry_after = hit("landing_claim", client_ip(request) or "unknown", RATE_LIMIT_CLAIMS,
                               RATE_LIMIT_WINDOW_SECONDS)
    if not allowed:
        response = render(request, "campaigns/landing_rate_limited.html",
                          _context(campaign, retry_minutes=max(1, (int(retry_after) + 59) // 60)), status=429)
        response["Retry-After"] = str(int(retry_after))
        return response
    form = ClaimForm(request.POST)
    if not form.is_valid():
        return render(request, TEMPLATE, _context(campaign, form=form), status=400)
    if form.cleaned_data["website"]:
        # A bot: pretend it worked so it does not retry with another trick; nothing is issued.
        return render(request, TEMPLATE, _context(campaign, form=None, sent_only=True))
    try:
        code = claim_landing_code(
            campaign=campaign, email=form.cleaned_data["email"], consent=form.cleaned_data["consent"],
            ip_address=client_ip(request), user_agent=request.META.get("HTTP_USER_AGENT", "")[:500],
        )
    except (OfferEnded, CampaignError):  # CampaignError: issue_code found it paused or ended a moment ago
        return render(request, TEMPLATE, _context(campaign, form=None, is_open=False))
    except LandingRefused as refusal:
        return render(request, TEMPLATE, _context(campaign, form=form, refusal=refusal.message), status=422)
    if not getattr(code, "is_new_claim", True):
        return render(request, TEMPLATE, _context(campaign, form=None, sent_only=True, again=True))
    return render(request, TEMPLATE, _context(campaign, form=None, code=code,
                                              email=normalise_email(form.cleaned_data["email"])))
