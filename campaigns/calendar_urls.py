"""The trigger page of a campaign (namespace `calendar`), mounted beside the campaign pages."""

from django.urls import include, path

from campaigns import views_calendar

patterns = [
    path("campaigns/<slug:slug>/trigger/", views_calendar.trigger_page, name="trigger"),
    path("campaigns/<slug:slug>/trigger/preview/", views_calendar.trigger_preview, name="preview"),
    path("campaigns/<slug:slug>/trigger/dry-run/", views_calendar.trigger_dry_run, name="dry_run"),
    path("campaigns/<slug:slug>/trigger/run/", views_calendar.trigger_run_now, name="run_now"),
]

urlpatterns = [path("", include((patterns, "calendar")))]
