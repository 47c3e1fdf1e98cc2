"""The marketer's campaign pages (namespace `campaigns`) and the dashboard.

Fixed paths come before `<slug>/` so that "new", "calendar" and "pause-all" are never read as slugs.
The dashboard is mounted at /dashboard/ as `campaigns:dashboard`; "/" (`dashboard`) is retention's until
the lead points it here.
"""

from django.urls import include, path

from campaigns import views

campaign_patterns = [
    path("dashboard/", views.dashboard, name="dashboard"),
    path("campaigns/", views.campaign_list, name="list"),
    path("campaigns/new/", views.campaign_create, name="create"),
    path("campaigns/calendar/", views.campaign_calendar, name="calendar"),
    path("campaigns/pause-all/", views.pause_all, name="pause_all"),
    path("campaigns/<slug:slug>/", views.campaign_detail, name="detail"),
    path("campaigns/<slug:slug>/edit/", views.campaign_edit, name="edit"),
    path("campaigns/<slug:slug>/codes.csv", views.codes_csv, name="codes_csv"),
    path("campaigns/<slug:slug>/generations/", views.generation_start, name="generate"),
    path("campaigns/<slug:slug>/issue/", views.issue_code_to_customer, name="issue_code"),
    path("campaigns/<slug:slug>/generations/<int:pk>/", views.generation_progress, name="generation"),
    *[path(f"campaigns/<slug:slug>/{action}/", views.campaign_switch, {"action": action}, name=action.replace("-", "_"))
      for action in views.SWITCHES],
]

urlpatterns = [
    path("", include("campaigns.ab_urls")),  # before the campaign pages: "compare" is not a slug
    path("", include("campaigns.support_urls")),
    path("", include("campaigns.landing_urls")),
    path("", include("campaigns.calendar_urls")),  # trigger page, preview, runs
    path("", include((campaign_patterns, "campaigns"))),
]
