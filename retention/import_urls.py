"""Customer CSV import pages, mounted under /customers/import/ by backoffice_urls (namespace `customers`)."""

from django.urls import path

from retention import import_views

urlpatterns = [
    path("", import_views.customer_import, name="import"),
    path("<int:pk>/", import_views.customer_import_detail, name="import_detail"),
]
