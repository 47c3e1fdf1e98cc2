"""Settings (superusers only): API keys, webhook endpoints, users and roles."""

from django.contrib import messages
from django.contrib.auth.models import User
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from retention.actors import Actor
from retention.forms import ApiKeyForm, UserCreateForm, UserRoleForm, WebhookEndpointForm
from retention.models import ApiKey, WebhookEndpoint
from retention.roles import ADMIN, role_required
from retention.services import users as user_services
from retention.services import webhooks as webhook_services
from retention.services.api_keys import create_api_key, revoke_api_key

admin_required = role_required(ADMIN)


def _home_context(**overrides) -> dict:
    people = User.objects.order_by("username").prefetch_related("groups")
    for person in people:
        person.role = user_services.role_of(person)
    context = {
        "nav": "settings",
        "api_keys": ApiKey.objects.select_related("created_by"),
        "endpoints": WebhookEndpoint.objects.all(),
        "people": people,
        "role_choices": user_services.ROLE_CHOICES,
        "api_key_form": ApiKeyForm(),
        "user_form": UserCreateForm(),
    }
    context.update(overrides)
    return context


@admin_required
def settings_home(request):
    return render(request, "retention/settings.html", _home_context())


@admin_required
@require_POST
def api_key_create(request):
    form = ApiKeyForm(request.POST)
    if not form.is_valid():
        return render(request, "retention/settings.html", _home_context(api_key_form=form), status=400)
    api_key, secret = create_api_key(name=form.cleaned_data["name"], actor=Actor.for_user(request.user))
    # Rendered, not redirected: the secret must never sit in a session or a URL, and is shown this once.
    return render(request, "retention/api_key_created.html", {"api_key": api_key, "secret": secret, "nav": "settings"})


@admin_required
@require_POST
def api_key_revoke(request, pk: int):
    api_key = revoke_api_key(api_key=get_object_or_404(ApiKey, pk=pk), actor=Actor.for_user(request.user))
    messages.success(request, f"The key {api_key.name} ({api_key.prefix}…) is revoked: it no longer works.")
    return redirect("settings:home")


@admin_required
def webhook_create(request):
    form = WebhookEndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        endpoint = webhook_services.create_webhook_endpoint(**form.cleaned_data, actor=Actor.for_user(request.user))
        messages.success(request, "Endpoint created. Copy its signing secret into the receiving application.")
        return redirect("settings:webhook", pk=endpoint.pk)
    return render(request, "retention/webhook_form.html", {"form": form, "nav": "settings"},
                  status=400 if form.errors else 200)


@admin_required
def webhook_detail(request, pk: int):
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    initial = {"url": endpoint.url, "description": endpoint.description, "event_types": endpoint.event_types}
    form = WebhookEndpointForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        webhook_services.update_webhook_endpoint(endpoint=endpoint, **form.cleaned_data,
                                                 actor=Actor.for_user(request.user))
        messages.success(request, "Endpoint saved.")
        return redirect("settings:webhook", pk=endpoint.pk)
    return render(request, "retention/webhook_form.html", {"form": form, "endpoint": endpoint, "nav": "settings"},
                  status=400 if form.errors else 200)


@admin_required
@require_POST
def webhook_toggle(request, pk: int):
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    endpoint = webhook_services.set_webhook_endpoint_active(
        endpoint=endpoint, is_active=not endpoint.is_active, actor=Actor.for_user(request.user))
    messages.success(request, f"{endpoint.url} is {'enabled' if endpoint.is_active else 'disabled'}.")
    return redirect("settings:webhook", pk=endpoint.pk)


@admin_required
@require_POST
def webhook_rotate(request, pk: int):
    endpoint = webhook_services.rotate_webhook_secret(endpoint=get_object_or_404(WebhookEndpoint, pk=pk),
                                                      actor=Actor.for_user(request.user))
    messages.warning(request, "New secret generated. The old one no longer signs deliveries.")
    return redirect("settings:webhook", pk=endpoint.pk)


@admin_required
def webhook_delete(request, pk: int):
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    if request.method == "POST":
        webhook_services.delete_webhook_endpoint(endpoint=endpoint, actor=Actor.for_user(request.user))
        messages.success(request, f"{endpoint.url} deleted.")
        return redirect("settings:home")
    return render(request, "retention/confirm_delete.html", {
        "nav": "settings", "title": "Delete webhook endpoint", "object_label": endpoint.url,
        "warning": "Deliveries to this URL stop at once. Its history is kept.",
        "cancel_url": reverse("settings:webhook", args=[endpoint.pk]),
    })


@admin_required
@require_POST
def user_create(request):
    form = UserCreateForm(request.POST)
    if form.is_valid():
        try:
            user = user_services.create_user(**form.cleaned_data, actor=Actor.for_user(request.user))
        except user_services.UserChangeRejected as error:
            form.add_error("username" if error.code == "username_taken" else None, error.message)
        else:
            messages.success(request, f"User {user.username} created.")
            return redirect("settings:home")
    return render(request, "retention/settings.html", _home_context(user_form=form), status=400)


@admin_required
@require_POST
def user_role(request, pk: int):
    person = get_object_or_404(User, pk=pk)
    form = UserRoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Pick one of the roles.")
        return redirect("settings:home")
    try:
        user_services.change_user_role(user=person, role=form.cleaned_data["role"], actor=Actor.for_user(request.user))
    except user_services.UserChangeRejected as error:
        messages.error(request, error.message)
    else:
        role_label = dict(user_services.ROLE_CHOICES)[form.cleaned_data["role"]]
        messages.success(request, f"{person.username} is now {role_label}.")
    return redirect("settings:home")


@admin_required
@require_POST
def user_active(request, pk: int):
    person = get_object_or_404(User, pk=pk)
    try:
        person = user_services.set_user_active(user=person, is_active=not person.is_active,
                                               actor=Actor.for_user(request.user))
    except user_services.UserChangeRejected as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"{person.username} {'can sign in again' if person.is_active else 'is deactivated'}.")
    return redirect("settings:home")
