import pytest
from django.test import Client
from django.urls import reverse

from retention.messaging.models import Delivery, DeliveryStatus, MessageTemplate, WebhookDelivery
from retention.messaging.unsubscribe import make_unsubscribe_token
from retention.models import AuditEntry, ConsentRecord

from .factories import CustomerFactory, DeliveryFactory, WebhookEndpointFactory

pytestmark = pytest.mark.django_db

EDIT_URL = "/messaging/templates/campaign/42/email/"


def _pages():
    endpoint = WebhookEndpointFactory()
    return [
        ("get", reverse("messaging:deliveries")),
        ("get", reverse("messaging:template_edit", args=["campaign", "42", "email"])),
        ("post", reverse("messaging:template_preview", args=["campaign", "42", "email"])),
        ("get", reverse("messaging:webhook_deliveries", args=[endpoint.pk])),
    ]


def test_marketer_opens_every_page(client, marketer):
    # given
    client.force_login(marketer)

    # then
    for method, url in _pages():
        assert getattr(client, method)(url).status_code == 200, url


def test_support_agent_is_refused(client, agent):
    # given
    client.force_login(agent)

    # then
    for method, url in _pages():
        assert getattr(client, method)(url).status_code == 403, url


def test_anonymous_is_sent_to_sign_in(client):
    for method, url in _pages():
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert response.url.startswith("/accounts/login/?next="), url


def test_template_error_is_shown_on_save_and_nothing_is_stored(client, marketer):
    # given
    client.force_login(marketer)

    # when
    response = client.post(EDIT_URL, {"subject": "Hi", "html_body": "<p>ok</p>\n{% if code %}", "text_body": "t"})

    # then
    assert response.status_code == 200
    assert "Line 2: Unclosed tag on line 2: &#x27;if&#x27;" in response.content.decode()
    assert MessageTemplate.objects.count() == 0
    assert AuditEntry.objects.count() == 0


def test_valid_template_is_saved_and_audited(client, marketer):
    # given
    client.force_login(marketer)

    # when
    response = client.post(EDIT_URL, {"subject": "Hi {{ customer.first_name }}", "html_body": "<p>{{ code }}</p>",
                                      "text_body": "{{ code }}"})

    # then
    assert response.status_code == 302
    template = MessageTemplate.objects.get()
    assert (template.owner_type, template.owner_id, template.channel, template.subject) == (
        "campaign", "42", "email", "Hi {{ customer.first_name }}"
    )
    assert AuditEntry.objects.get().action == "message_template.saved"
    assert "Hi {{ customer.first_name }}" in client.get(EDIT_URL).content.decode()


def test_preview_renders_the_sample_customer(client, marketer):
    # given
    client.force_login(marketer)

    # when
    response = client.post(EDIT_URL + "preview/", {"subject": "Hi {{ customer.first_name }}",
                                                   "html_body": "{{ qr_code }}", "text_body": "{{ code }}"},
                           HTTP_HX_REQUEST="true")

    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert '<span data-testid="preview-subject">Hi Ada</span>' in html
    assert "data:image/png;base64," in html
    assert "SAMPLE-7K2Q9" in html
    assert 'class="sidebar"' not in html  # a fragment, not the page
    assert 'srcdoc="&lt;!doctype html&gt;' in html  # the email cannot break out of the attribute


def test_deliveries_filter_by_status_and_customer(client, marketer, django_assert_max_num_queries):
    # given
    client.force_login(marketer)
    wanted = DeliveryFactory(status=DeliveryStatus.SENT, customer=CustomerFactory(email="find.me@example.com"))
    DeliveryFactory(status=DeliveryStatus.QUEUED, customer=wanted.customer)
    DeliveryFactory.create_batch(5, status=DeliveryStatus.SENT)

    # when
    with django_assert_max_num_queries(8):
        response = client.get(reverse("messaging:deliveries"), {"status": "sent", "customer": "find.me"})

    # then
    assert [d.pk for d in response.context["page_obj"]] == [wanted.pk]


def test_send_test_event_button(client, marketer, receiver, django_capture_on_commit_callbacks):
    # given
    client.force_login(marketer)
    endpoint = WebhookEndpointFactory(url=receiver.url)

    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("messaging:webhook_test", args=[endpoint.pk]), follow=True)

    # then
    assert response.status_code == 200
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert delivery.event.type == "webhook.test"
    assert len(receiver.requests) == 1
    assert "webhook.test" in response.content.decode()


def test_send_test_event_needs_post(client, marketer):
    # given
    client.force_login(marketer)
    endpoint = WebhookEndpointFactory()

    # then
    assert client.get(reverse("messaging:webhook_test", args=[endpoint.pk])).status_code == 405


def _token(customer):
    return make_unsubscribe_token(customer_id=customer.pk, consent_channel="email_marketing")


def test_unsubscribe_get_only_shows_a_button():
    # given
    customer = CustomerFactory(consenting=True)

    # when
    response = Client().get(f"/u/{_token(customer)}/")

    # then
    customer.refresh_from_db()
    assert response.status_code == 200
    assert "Unsubscribe?" in response.content.decode()
    assert customer.email_marketing_consent is True
    assert ConsentRecord.objects.filter(customer=customer, granted=False).count() == 0


def test_unsubscribe_post_withdraws_consent():
    # given
    customer = CustomerFactory(consenting=True)
    client = Client(enforce_csrf_checks=True)
    page = client.get(f"/u/{_token(customer)}/")

    # when
    response = client.post(f"/u/{_token(customer)}/", {"csrfmiddlewaretoken": page.context["csrf_token"]})

    # then
    customer.refresh_from_db()
    assert response.status_code == 200
    assert "You are unsubscribed" in response.content.decode()
    assert customer.email_marketing_consent is False
    assert customer.sms_marketing_consent is True
    record = ConsentRecord.objects.get(customer=customer, granted=False)
    assert (record.channel, record.source) == ("email_marketing", "unsubscribe")


def test_confirm_form_without_csrf_token_is_refused():
    # given
    customer = CustomerFactory(consenting=True)

    # when
    response = Client(enforce_csrf_checks=True).post(f"/u/{_token(customer)}/", {})

    # then
    customer.refresh_from_db()
    assert response.status_code == 403
    assert customer.email_marketing_consent is True


def test_one_click_post_from_a_mail_client_needs_no_csrf_token():
    # given
    customer = CustomerFactory(consenting=True)

    # when
    response = Client(enforce_csrf_checks=True).post(
        f"/u/{_token(customer)}/", "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    again = Client(enforce_csrf_checks=True).post(
        f"/u/{_token(customer)}/", "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )

    # then
    customer.refresh_from_db()
    assert (response.status_code, response.content) == (200, b"You are unsubscribed.")
    assert again.status_code == 200
    assert customer.email_marketing_consent is False
    assert ConsentRecord.objects.filter(customer=customer, granted=False).count() == 1


def test_forged_token_is_not_found():
    # given
    customer = CustomerFactory(consenting=True)
    forged = _token(customer)[:-2] + "xx"

    # then
    assert Client().get(f"/u/{forged}/").status_code == 404
    assert Client().post(f"/u/{forged}/", "List-Unsubscribe=One-Click",
                         content_type="application/x-www-form-urlencoded").status_code == 404


def test_messages_panel_lists_the_customers_deliveries():
    # given
    from django.template.loader import render_to_string

    from retention.panels import customer_panels

    delivery = DeliveryFactory(status=DeliveryStatus.SENT, occasion_key="campaign:7:birthday:2026")
    DeliveryFactory()  # someone else's

    # when
    panel = next(p for p in customer_panels() if p.key == "messages")
    context = panel.context(delivery.customer, None)
    html = render_to_string(panel.template_name, context)

    # then
    assert panel.title == "Messages"
    assert context["deliveries"] == [delivery]
    assert "campaign:7:birthday:2026" in html
    assert Delivery.objects.count() == 2
