import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from retention.models import ApiKey, AuditEntry, WebhookEndpoint
from retention.queries import api_key_by_secret
from retention.roles import MARKETING, SUPPORT
from retention.services.users import role_of

pytestmark = pytest.mark.django_db


def test_api_key_is_shown_once_then_only_its_prefix(client, admin_user):
    client.force_login(admin_user)
    # when an administrator creates a key
    created = client.post(reverse("settings:api_key_create"), {"name": "Shop production"})
    # then the answer shows the full key, which authenticates
    secret = created.context["secret"]
    assert created.status_code == 200
    assert secret in created.content.decode()
    assert api_key_by_secret(secret).name == "Shop production"
    # and the settings page afterwards shows only the prefix
    settings_page = client.get(reverse("settings:home")).content.decode()
    assert secret not in settings_page
    assert f"{secret[:12]}…" in settings_page


def test_api_key_needs_a_name(client, admin_user):
    client.force_login(admin_user)
    response = client.post(reverse("settings:api_key_create"), {"name": ""})
    assert response.status_code == 400
    assert response.context["api_key_form"].errors == {"name": ["This field is required."]}
    assert ApiKey.objects.count() == 0


def test_revoke_takes_effect_at_once(client, admin_user):
    client.force_login(admin_user)
    secret = client.post(reverse("settings:api_key_create"), {"name": "Shop"}).context["secret"]
    api_key = ApiKey.objects.get()
    response = client.post(reverse("settings:api_key_revoke", args=[api_key.pk]))
    assert response["Location"] == reverse("settings:home")
    assert api_key_by_secret(secret) is None
    assert AuditEntry.objects.filter(action="api_key.revoked").count() == 1


def test_marketer_cannot_create_keys(client, marketer):
    client.force_login(marketer)
    assert client.post(reverse("settings:api_key_create"), {"name": "Mine"}).status_code == 403
    assert ApiKey.objects.count() == 0


def test_revoke_needs_post(client, admin_user):
    client.force_login(admin_user)
    api_key = ApiKey.objects.create(name="k", prefix="p", key_hash="h")
    assert client.get(reverse("settings:api_key_revoke", args=[api_key.pk])).status_code == 405


def test_webhook_create_shows_the_secret_on_its_page(client, admin_user):
    client.force_login(admin_user)
    response = client.post(reverse("settings:webhook_create"), {
        "url": "https://shop.example/hooks", "description": "Shop", "event_types": ["code.redeemed"]})
    endpoint = WebhookEndpoint.objects.get()
    assert response["Location"] == reverse("settings:webhook", args=[endpoint.pk])
    page = client.get(response["Location"]).content.decode()
    assert endpoint.secret in page
    assert endpoint.event_types == ["code.redeemed"]


def test_webhook_form_reports_a_bad_url_and_unknown_type(client, admin_user):
    client.force_login(admin_user)
    response = client.post(reverse("settings:webhook_create"), {"url": "not a url", "event_types": ["order.shipped"]})
    assert response.status_code == 400
    assert response.context["form"].errors == {
        "url": ["Enter a valid URL."],
        "event_types": ["Select a valid choice. order.shipped is not one of the available choices."],
    }
    assert WebhookEndpoint.objects.count() == 0


def test_webhook_edit_disable_and_delete(client, admin_user):
    client.force_login(admin_user)
    client.post(reverse("settings:webhook_create"), {"url": "https://shop.example/hooks"})
    endpoint = WebhookEndpoint.objects.get()
    client.post(reverse("settings:webhook", args=[endpoint.pk]), {"url": "https://shop.example/v2"})
    client.post(reverse("settings:webhook_toggle", args=[endpoint.pk]))
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.is_active) == ("https://shop.example/v2", False)
    client.post(reverse("settings:webhook_delete", args=[endpoint.pk]))
    assert WebhookEndpoint.objects.count() == 0
    assert list(AuditEntry.objects.order_by("id").values_list("action", flat=True)) == [
        "webhook_endpoint.created", "webhook_endpoint.updated", "webhook_endpoint.disabled",
        "webhook_endpoint.deleted"]


def test_create_user_with_role(client, admin_user):
    client.force_login(admin_user)
    response = client.post(reverse("settings:user_create"), {
        "username": "dana", "email": "dana@example.com", "password": "a-long-pass-phrase", "role": SUPPORT})
    assert response["Location"] == reverse("settings:home")
    assert role_of(User.objects.get(username="dana")) == SUPPORT


def test_create_user_reports_weak_password_and_taken_name(client, admin_user, marketer):
    client.force_login(admin_user)
    weak = client.post(reverse("settings:user_create"), {"username": "dana", "password": "123", "role": SUPPORT})
    taken = client.post(reverse("settings:user_create"),
                        {"username": "alice", "password": "a-long-pass-phrase", "role": SUPPORT})
    assert weak.status_code == 400
    assert "This password is too short. It must contain at least 8 characters." in weak.context["user_form"].errors[
        "password"]
    assert taken.context["user_form"].errors == {"username": ["A user with this username already exists."]}
    assert not User.objects.filter(username="dana").exists()


def test_change_role_and_deactivate(client, admin_user, agent):
    client.force_login(admin_user)
    client.post(reverse("settings:user_role", args=[agent.pk]), {"role": MARKETING})
    client.post(reverse("settings:user_active", args=[agent.pk]))
    agent.refresh_from_db()
    assert (role_of(agent), agent.is_active) == (MARKETING, False)


def test_admin_cannot_deactivate_themselves(client, admin_user):
    client.force_login(admin_user)
    response = client.post(reverse("settings:user_active", args=[admin_user.pk]), follow=True)
    admin_user.refresh_from_db()
    assert admin_user.is_active is True
    assert [str(message) for message in response.context["messages"]] == ["You cannot deactivate your own account."]
