from django import forms

# Shown beside the toggles and stored on each consent record, so a record says what the customer read.
CONSENT_WORDING_VERSION = "portal-2026-11"
CONSENT_WORDING = {
    "email_marketing": "Send me offers and news by email.",
    "sms_marketing": "Send me offers by text message.",
}


class SignInForm(forms.Form):
    email = forms.EmailField(label="Your email address", max_length=254,
                             widget=forms.EmailInput(attrs={"autocomplete": "email", "placeholder": "you@example.com",
                                                            "autofocus": True}))


class ConsentForm(forms.Form):
    email_marketing = forms.BooleanField(required=False, label=CONSENT_WORDING["email_marketing"])
    sms_marketing = forms.BooleanField(required=False, label=CONSENT_WORDING["sms_marketing"])
