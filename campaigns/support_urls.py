"""The support desk's pages, under /support/ (namespace `support`)."""

from django.urls import include, path

from campaigns import views_support

support_patterns = [
    path("", views_support.desk, name="desk"),
    path("customers/<int:pk>/", views_support.customer, name="customer"),
    path("customers/<int:pk>/codes/", views_support.issue, name="issue"),
]

urlpatterns = [path("support/", include((support_patterns, "support")))]
