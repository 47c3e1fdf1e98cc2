"""Public landing pages, /c/<slug>/ (namespace `landing`)."""

from django.urls import include, path

from campaigns import views_landing

urlpatterns = [path("c/", include(([path("<slug:slug>/", views_landing.page, name="page")], "landing")))]
