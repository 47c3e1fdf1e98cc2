"""Message templates in Django's template language, with a restricted context.

Templates run in their own `Engine`: no loaders (no include/extends of project files), no tag libraries
beyond the built-ins, and a context that holds only the placeholders below, so a marketer's template
cannot reach the database through `customer.orders` and the like.
"""

import json
from dataclasses import dataclass, field
from datetime import date

import segno
from django.template import Context, Engine, TemplateSyntaxError
from django.template.base import VariableNode
from django.template.loader import get_template
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.safestring import SafeString

from retention.messaging.models import Channel

PLACEHOLDERS = (
    "customer", "code", "discount_text", "expires_at", "qr_code", "portal_url", "unsubscribe_url",
)
# Fields of each channel that hold template text.
TEMPLATE_FIELDS = {
    Channel.EMAIL: ("subject", "html_body", "text_body"),
    Channel.SMS: ("body",),
    Channel.WEBHOOK: ("json_body",),
}


@dataclass(frozen=True)
class TemplateProblem:
    field: str
    line: int | None
    message: str

    def __str__(self) -> str:
        return f"Line {self.line}: {self.message}" if self.line else self.message


@dataclass(frozen=True)
class MessageContext:
    """What a caller knows about the message; the customer and links are added by the service."""

    code: str = ""
    discount_text: str = ""
    expires_at: date | None = None
    portal_url: str = ""
    extra: dict = field(default_factory=dict)  # reserved: not exposed to templates today

    @classmethod
    def from_dict(cls, values: dict | None) -> "MessageContext":
        values = dict(values or {})
        return cls(
            code=str(values.pop("code", "") or ""),
            discount_text=str(values.pop("discount_text", "") or ""),
            expires_at=values.pop("expires_at", None),
            portal_url=str(values.pop("portal_url", "") or ""),
            extra=values,
        )


@dataclass(frozen=True)
class SampleCustomer:
    first_name: str = "Ada"
    last_name: str = "Lovelace"


SAMPLE_CONTEXT = MessageContext(
    code="SAMPLE-7K2Q9",
    discount_text="15% off your next order",
    expires_at=date(2026, 12, 31),
    portal_url="https://shop.example/loyalty",
)


class _Engine:
    @cached_property
    def engine(self) -> Engine:
        # debug=True keeps each node's source line, which validation reports. Escaping is decided
        # per field by the Context (HTML: on; subject, text, SMS, JSON: off).
        return Engine(debug=True, loaders=[], libraries={})


_engine = _Engine()


def qr_code_image(code: str) -> SafeString:
    """An <img> of `code` as a QR code, as an inline PNG data URI (mail clients fetch nothing)."""
    if not code:
        return SafeString("")
    qr = segno.make(code, error="m")
    size = qr.symbol_size(scale=4)[0]
    return format_html(
        '<img src="{}" alt="QR code of {}" width="{}" height="{}">', qr.png_data_uri(scale=4), code, size, size
    )


# Drawing a QR code costs milliseconds and its data URI kilobytes: a queued payload holds this marker,
# and the sender draws the image (insert_qr_code) just before the message goes out.
QR_CODE_MARKER = "<!--retention:qr_code-->"


def insert_qr_code(payload: dict) -> str:
    """The payload's HTML with its QR code marker replaced by the image of payload["qr_code"]."""
    html = payload.get("html", "")
    if QR_CODE_MARKER not in html:
        return html
    return html.replace(QR_CODE_MARKER, qr_code_image(payload.get("qr_code", "")))


def _json_string(value: str) -> str:
    # Placeholders sit inside JSON strings: escape quotes, backslashes and control characters.
    return json.dumps(value)[1:-1]


def build_context(
    *, customer, context: MessageContext, channel: str, field_name: str, unsubscribe_url: str = "",
    with_qr_image: bool = True,
):
    names = {"first_name": customer.first_name, "last_name": customer.last_name}
    values = {
        "code": context.code,
        "discount_text": context.discount_text,
        "expires_at": context.expires_at,
        "portal_url": context.portal_url,
        "unsubscribe_url": unsubscribe_url,
        "qr_code": context.code,
    }
    if field_name == "html_body":
        values["qr_code"] = qr_code_image(context.code) if with_qr_image else SafeString(QR_CODE_MARKER)
    if channel == Channel.WEBHOOK:
        names = {key: _json_string(value) for key, value in names.items()}
        values = {key: _json_string(str(value)) if isinstance(value, str) else value for key, value in values.items()}
    return {"customer": names, **values}


def _compile(field_name: str, source: str):
    return _engine.engine.from_string(source)


def _problem_from(field_name: str, error: Exception) -> TemplateProblem:
    debug = getattr(error, "template_debug", None) or {}
    return TemplateProblem(field=field_name, line=debug.get("line"), message=str(error))


def _unknown_placeholders(field_name: str, template) -> list[TemplateProblem]:
    problems = []
    for node in template.nodelist.get_nodes_by_type(VariableNode):
        variable = node.filter_expression.var
        lookups = getattr(variable, "lookups", None)
        if lookups and lookups[0] not in PLACEHOLDERS:
            line = node.token.lineno if getattr(node, "token", None) else None
            problems.append(
                TemplateProblem(field_name, line, f"Unknown placeholder {{{{ {'.'.join(lookups)} }}}}.")
            )
    return problems


def validate_template(*, channel: str, fields: dict[str, str]) -> list[TemplateProblem]:
    """Compile every field of `channel` and render it with a sample customer.

    Returns the problems found, each with its field, line and reason; an empty list means the
    template is safe to send. Unknown placeholders count as problems, so a typo such as {{ cod }}
    is caught on save instead of sending an empty code.
    """
    problems: list[TemplateProblem] = []
    for field_name in TEMPLATE_FIELDS[channel]:
        source = fields.get(field_name, "") or ""
        try:
            template = _compile(field_name, source)
        except TemplateSyntaxError as error:
            problems.append(_problem_from(field_name, error))
            continue
        problems.extend(_unknown_placeholders(field_name, template))
        try:
            rendered = _render_field(channel, field_name, template, SampleCustomer(), SAMPLE_CONTEXT, "https://x/u/t/")
        except Exception as error:  # noqa: BLE001 - any rendering failure is reported, never raised at send time
            problems.append(_problem_from(field_name, error))
            continue
        if field_name == "json_body" and source.strip():
            try:
                json.loads(rendered)
            except ValueError as error:
                problems.append(TemplateProblem(field_name, error.lineno, f"Not valid JSON: {error.msg}."))
    if channel == Channel.EMAIL and not (fields.get("subject") or "").strip():
        problems.append(TemplateProblem("subject", None, "An email needs a subject."))
    has_body = (fields.get("html_body") or "").strip() or (fields.get("text_body") or "").strip()
    if channel == Channel.EMAIL and not has_body:
        problems.append(TemplateProblem("text_body", None, "An email needs an HTML or a text body."))
    if channel == Channel.SMS and not (fields.get("body") or "").strip():
        problems.append(TemplateProblem("body", None, "An SMS needs a body."))
    if channel == Channel.WEBHOOK and not (fields.get("json_body") or "").strip():
        problems.append(TemplateProblem("json_body", None, "A webhook message needs a JSON body."))
    return problems


def _render_field(channel, field_name, template, customer, context, unsubscribe_url, with_qr_image=True) -> str:
    values = build_context(
        customer=customer, context=context, channel=channel, field_name=field_name, unsubscribe_url=unsubscribe_url,
        with_qr_image=with_qr_image,
    )
    return template.render(Context(values, autoescape=field_name == "html_body"))


@dataclass(frozen=True)
class CompiledTemplate:
    """A validated template parsed once, with its email layouts, to render many customers quickly."""

    channel: str
    fields: dict
    uses_qr_code: bool
    layouts: dict


def _uses_placeholder(template, name: str) -> bool:
    return any(
        getattr(node.filter_expression.var, "lookups", [None])[0] == name
        for node in template.nodelist.get_nodes_by_type(VariableNode)
    )


def compile_template(*, channel: str, fields: dict[str, str]) -> CompiledTemplate:
    compiled = {
        name: _compile(name, fields.get(name) or "") if fields.get(name) else None for name in TEMPLATE_FIELDS[channel]
    }
    html = compiled.get("html_body")
    layouts = {}
    if channel == Channel.EMAIL:
        layouts = {"html": get_template("emails/base.html"), "text": get_template("emails/base_text.html")}
    uses_qr_code = bool(html and _uses_placeholder(html, "qr_code"))
    return CompiledTemplate(channel=channel, fields=compiled, uses_qr_code=uses_qr_code, layouts=layouts)


def render_message(
    *, channel: str, compiled: CompiledTemplate, customer, context: MessageContext, unsubscribe_url: str = "",
    defer_qr_code: bool = False, footer_note: str = "",
) -> dict:
    """The payload a Delivery stores: {"subject", "html", "text"} | {"text"} | {"json"}.

    With `defer_qr_code`, the HTML holds QR_CODE_MARKER and the payload the code ("qr_code"), for
    insert_qr_code at send time; otherwise the image is drawn inline (previews).
    """

    def render(field_name: str) -> str:
        template = compiled.fields.get(field_name)
        if template is None:
            return ""
        return _render_field(channel, field_name, template, customer, context, unsubscribe_url, not defer_qr_code)

    if channel == Channel.EMAIL:
        subject = " ".join(render("subject").split())  # one line: no header injection
        # footer_note: why a non-subscriber got this email (shown instead of an unsubscribe link).
        layout = {"subject": subject, "unsubscribe_url": unsubscribe_url, "footer_note": footer_note}
        html, text = render("html_body"), render("text_body")
        # The layouts add the unsubscribe footer, so no marketing email can go out without one.
        payload = {
            "subject": subject,
            "html": compiled.layouts["html"].render({**layout, "body": html}) if html else "",
            "text": compiled.layouts["text"].render({**layout, "body": text}).strip() if text else "",
        }
        if unsubscribe_url:
            payload["unsubscribe_url"] = unsubscribe_url
        if defer_qr_code and compiled.uses_qr_code:
            payload["qr_code"] = context.code
        return payload
    if channel == Channel.SMS:
        return {"text": render("body").strip()}
    return {"json": json.loads(render("json_body"))}


def template_fields(template) -> dict[str, str]:
    return {name: getattr(template, name) for name in TEMPLATE_FIELDS[template.channel]}
