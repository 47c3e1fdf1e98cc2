import json
from datetime import date

from retention.messaging.models import Channel
from retention.messaging.rendering import (
    MessageContext,
    SampleCustomer,
    TemplateProblem,
    compile_template,
    qr_code_image,
    render_message,
    validate_template,
)

CONTEXT = MessageContext(code="BDAY-42", discount_text="15% off", expires_at=date(2026, 5, 31),
                         portal_url="https://shop.example/portal")


def test_syntax_error_is_reported_with_field_and_line():
    # given
    fields = {"subject": "Hi", "html_body": "<p>Hello</p>\n<p>{% if code %}{{ code }}</p>", "text_body": "x"}

    # when
    problems = validate_template(channel=Channel.EMAIL, fields=fields)

    # then
    assert len(problems) == 1
    assert problems[0].field == "html_body"
    assert problems[0].line == 2
    assert "Unclosed tag" in problems[0].message
    assert str(problems[0]).startswith("Line 2: ")


def test_unknown_placeholder_is_a_problem():
    # given
    fields = {"body": "Your code:\n{{ cod }}"}

    # when
    problems = validate_template(channel=Channel.SMS, fields=fields)

    # then
    assert problems == [TemplateProblem("body", 2, "Unknown placeholder {{ cod }}.")]


def test_tag_libraries_cannot_be_loaded():
    # given
    fields = {"body": "{% load static %}{{ code }}"}

    # when
    problems = validate_template(channel=Channel.SMS, fields=fields)

    # then
    assert [problem.field for problem in problems] == ["body"]
    assert "not a registered tag library" in problems[0].message


def test_webhook_body_must_render_to_json():
    # given
    fields = {"json_body": '{"code": "{{ code }}",\n "oops": }'}

    # when
    problems = validate_template(channel=Channel.WEBHOOK, fields=fields)

    # then
    assert len(problems) == 1
    assert problems[0].field == "json_body"
    assert problems[0].line == 2
    assert problems[0].message.startswith("Not valid JSON")


def test_email_without_subject_or_body_is_refused():
    # when
    problems = validate_template(channel=Channel.EMAIL, fields={"subject": "", "html_body": "", "text_body": ""})

    # then
    assert [(problem.field, problem.message) for problem in problems] == [
        ("subject", "An email needs a subject."),
        ("text_body", "An email needs an HTML or a text body."),
    ]


def test_email_renders_every_placeholder_and_the_qr_image():
    # given
    fields = {
        "subject": "Hi {{ customer.first_name }}\n{{ customer.last_name }}",
        "html_body": "<p>{{ customer.first_name }}: {{ code }} {{ discount_text }} until {{ expires_at|date:'Y-m-d' }}"
                     "</p>{{ qr_code }}<a href='{{ portal_url }}'>portal</a>",
        "text_body": "{{ code }} until {{ expires_at|date:'j F Y' }}",
    }

    # when
    payload = render_message(channel=Channel.EMAIL, compiled=compile_template(channel=Channel.EMAIL, fields=fields),
                             customer=SampleCustomer(first_name="Zoë", last_name="<b>"), context=CONTEXT,
                             unsubscribe_url="https://r.example/u/tok/")

    # then
    assert payload["subject"] == "Hi Zoë <b>"
    assert "<p>Zoë: BDAY-42 15% off until 2026-05-31</p>" in payload["html"]
    assert '<img src="data:image/png;base64,' in payload["html"]
    assert 'alt="QR code of BDAY-42"' in payload["html"]
    assert "<a href='https://shop.example/portal'>portal</a>" in payload["html"]
    assert 'href="https://r.example/u/tok/"' in payload["html"]
    assert payload["text"] == "BDAY-42 until 31 May 2026\n\n--\nUnsubscribe: https://r.example/u/tok/"
    assert payload["unsubscribe_url"] == "https://r.example/u/tok/"


def test_html_escapes_customer_values():
    # given
    fields = {"subject": "s", "html_body": "<p>{{ customer.last_name }}</p>", "text_body": ""}

    # when
    payload = render_message(channel=Channel.EMAIL, compiled=compile_template(channel=Channel.EMAIL, fields=fields),
                             customer=SampleCustomer(last_name="<script>"), context=CONTEXT)

    # then
    assert "<p>&lt;script&gt;</p>" in payload["html"]
    assert payload["text"] == ""
    assert "unsubscribe_url" not in payload


def test_webhook_json_escapes_quotes_in_values():
    # given
    fields = {"json_body": '{"title": "Hi {{ customer.first_name }}", "code": "{{ code }}"}'}

    # when
    payload = render_message(channel=Channel.WEBHOOK,
                             compiled=compile_template(channel=Channel.WEBHOOK, fields=fields),
                             customer=SampleCustomer(first_name='Ann "A" \\'), context=CONTEXT)

    # then
    assert payload == {"json": {"title": 'Hi Ann "A" \\', "code": "BDAY-42"}}
    assert json.dumps(payload)


def test_qr_code_image_decodes_to_a_png():
    # when
    image = qr_code_image("ABC123")

    # then
    assert image.startswith('<img src="data:image/png;base64,iVBORw0KGgo')
    assert qr_code_image("") == ""
