"""Back-office forms of the core. They parse and validate input; services do the writing."""

import csv
import io
import re

from django import forms
from django.contrib.auth.password_validation import validate_password
from django.utils.text import slugify

from retention.models import Segment, SegmentKind, SegmentMatch
from retention.segments import field_for
from retention.services.users import ROLE_CHOICES
from retention.services.webhooks import EVENT_TYPES

MAX_MEMBER_LIST_BYTES = 20 * 1024 * 1024


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="Who uses the key, e.g. “Shopify production”.")


class WebhookEndpointForm(forms.Form):
    url = forms.URLField(label="URL", max_length=500, assume_scheme="https",
                         help_text="Receives a signed POST for each event.")
    description = forms.CharField(max_length=200, required=False)
    event_types = forms.MultipleChoiceField(
        choices=[(event_type, event_type) for event_type in EVENT_TYPES],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Leave all unticked to receive every type.",
    )


class UserCreateForm(forms.Form):
    username = forms.CharField(max_length=150)
    email = forms.EmailField(required=False)
    password = forms.CharField(widget=forms.PasswordInput, help_text="At least 8 characters, not a common one.")
    role = forms.ChoiceField(choices=ROLE_CHOICES)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("password"):
            try:
                validate_password(cleaned["password"])
            except forms.ValidationError as error:
                self.add_error("password", error)
        return cleaned


class UserRoleForm(forms.Form):
    role = forms.ChoiceField(choices=ROLE_CHOICES)


class SegmentForm(forms.Form):
    """Name, kind and match of a segment. The rule rows are parsed by `rules_from_post`."""

    name = forms.CharField(max_length=200)
    slug = forms.SlugField(max_length=100, required=False, help_text="Used by the API; made from the name if empty.")
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    kind = forms.ChoiceField(choices=SegmentKind.choices, initial=SegmentKind.DYNAMIC, widget=forms.RadioSelect)
    match = forms.ChoiceField(choices=SegmentMatch.choices, initial=SegmentMatch.ALL)

    def __init__(self, *args, segment: Segment | None = None, **kwargs):
        self.segment = segment
        super().__init__(*args, **kwargs)
        if segment is not None:
            # A segment's kind is fixed once created: its members mean something different per kind.
            self.fields["kind"].disabled = True

    def clean_slug(self) -> str:
        slug = self.cleaned_data["slug"] or slugify(self.data.get("name", ""))[:100]
        if not slug:
            raise forms.ValidationError("Enter a slug of letters, numbers, hyphens or underscores.")
        return slug  # uniqueness is the service's check (InvalidInput on "slug")


METADATA_FIELD = "metadata.<key>"


def rules_from_post(data) -> list[dict]:
    """The builder's rows, typed for the rule engine; rows left completely empty are dropped.

    Rows arrive as parallel lists `rule_field`, `rule_key` (metadata only), `rule_op`, `rule_value`. Values are
    text in the form: numbers and booleans are converted by the field's type, `in`/`not_in` split on commas.
    A value that does not convert is passed on as text, so validate_rules names the problem.
    """
    columns = [data.getlist(name) for name in ("rule_field", "rule_key", "rule_op", "rule_value")]
    rules = []
    for index in range(len(columns[0])):
        field, key, operator, value = (column[index].strip() if index < len(column) else "" for column in columns)
        if not field and not value:
            continue
        if field == METADATA_FIELD:
            field = f"metadata.{key}"
        rules.append({"field": field, "op": operator, "value": typed_value(field, operator, value)})
    return rules


def typed_value(field_name: str, operator: str, text: str):
    field = field_for(field_name)
    if field is None:
        return text
    if operator in ("in", "not_in"):
        return [_typed(field.type, item.strip()) for item in text.split(",") if item.strip()]
    return _typed(field.type, text)


def _typed(kind: str, text: str):
    if kind in ("integer", "days", "any") and re.fullmatch(r"-?\d+", text):
        return int(text)
    if kind in ("boolean", "any") and text.lower() in BOOLEAN_WORDS:
        return BOOLEAN_WORDS[text.lower()]
    return text


BOOLEAN_WORDS = {"true": True, "yes": True, "false": False, "no": False}


def rule_rows(rules: list[dict]) -> list[dict]:
    """Stored rules back as the builder's text rows (the inverse of rules_from_post)."""
    rows = []
    for rule in rules:
        field, value = rule.get("field", ""), rule.get("value", "")
        key = ""
        if isinstance(field, str) and field.startswith("metadata."):
            field, key = METADATA_FIELD, field.removeprefix("metadata.")
        rows.append({"field": field, "key": key, "op": rule.get("op", ""), "value": _as_text(value)})
    return rows


def _as_text(value) -> str:
    if isinstance(value, list):
        return ", ".join(_as_text(item) for item in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


class StaticMembersForm(forms.Form):
    """A list of source_ids or emails, pasted or uploaded (CSV or text, the first column counts)."""

    members_file = forms.FileField(label="Upload a file", required=False,
                                   help_text="CSV or text, one source_id or email per line (first column).")
    members_text = forms.CharField(label="…or paste them", required=False,
                                   widget=forms.Textarea(attrs={"rows": 5, "placeholder": "cus_1001\nana@example.com"}))

    def clean(self) -> dict:
        cleaned = super().clean()
        text = cleaned.get("members_text") or ""
        upload = cleaned.get("members_file")
        if upload:
            if upload.size > MAX_MEMBER_LIST_BYTES:
                raise forms.ValidationError("The file is larger than 20 MB.")
            try:
                text += "\n" + upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                raise forms.ValidationError("The file is not UTF-8 text.")
        cleaned["identifiers"] = parse_member_list(text)
        return cleaned


def parse_member_list(text: str) -> list[str]:
    """The first cell of every non-empty line, without duplicates, in the order given."""
    identifiers: dict[str, None] = {}
    for row in csv.reader(io.StringIO(text)):
        if row and row[0].strip():
            identifiers.setdefault(row[0].strip(), None)
    # A header line is not an identifier.
    for header in ("source_id", "email", "id"):
        identifiers.pop(header, None)
    return list(identifiers)
