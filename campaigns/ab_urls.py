"""The A/B comparison, /campaigns/compare/ (namespace `ab`). Mounted before the campaign pages, so that
"compare" is never read as a campaign's slug."""

from django.urls import include, path

from campaigns import views_ab

urlpatterns = [path("campaigns/compare/", include(([path("", views_ab.compare, name="compare")], "ab")))]
