"""The template editor's form: one form per channel, validated by the same function that guards sending."""

from django import forms

from retention.messaging.models import Channel
from retention.messaging.rendering import TEMPLATE_FIELDS, validate_template

WIDGETS = {
    "subject": forms.TextInput(attrs={"placeholder": "Happy birthday, {{ customer.first_name }}!"}),
    "html_body": forms.Textarea(attrs={"rows": 14, "class": "mono"}),
    "text_body": forms.Textarea(attrs={"rows": 8, "class": "mono"}),
    "body": forms.Textarea(attrs={"rows": 4, "class": "mono"}),
    "json_body": forms.Textarea(attrs={"rows": 10, "class": "mono"}),
}
LABELS = {"subject": "Subject", "html_body": "HTML body", "text_body": "Text body", "body": "SMS text",
          "json_body": "JSON body"}


class MessageTemplateForm(forms.Form):
    def __init__(self, *args, channel: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.channel = channel
        for name in TEMPLATE_FIELDS[channel]:
            self.fields[name] = forms.CharField(
                label=LABELS[name], required=False, widget=WIDGETS[name], strip=False,
                max_length=500 if name == "subject" else None,
            )

    def clean(self):
        cleaned = super().clean()
        if not self.errors:
            for problem in validate_template(channel=self.channel, fields=cleaned):
                self.add_error(problem.field, str(problem))
        return cleaned


def channel_or_404(value: str) -> str:
    from django.http import Http404

    if value not in Channel.values:
        raise Http404("Unknown channel.")
    return value
