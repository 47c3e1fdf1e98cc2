from django.urls import include, path

from retention.views import audit, customers, dashboard, segments, settings

customer_patterns = [
    path("", customers.customer_list, name="list"),
    path("<int:pk>/", customers.customer_detail, name="detail"),
    path("<int:pk>/export/", customers.customer_export, name="export"),
    path("<int:pk>/erase/", customers.customer_erase, name="erase"),
    # The CSV import's pages (customers:import, customers:import_detail) live in its own module.
    path("import/", include("retention.import_urls")),
]

segment_patterns = [
    path("", segments.segment_list, name="list"),
    path("new/", segments.segment_create, name="create"),
    path("preview/", segments.segment_preview, name="preview"),
    path("<int:pk>/count/", segments.segment_count_fragment, name="count"),
    path("<int:pk>/", segments.segment_detail, name="detail"),
    path("<int:pk>/edit/", segments.segment_edit, name="edit"),
    path("<int:pk>/members/", segments.segment_members_upload, name="members"),
    path("<int:pk>/delete/", segments.segment_delete, name="delete"),
]

settings_patterns = [
    path("", settings.settings_home, name="home"),
    path("api-keys/", settings.api_key_create, name="api_key_create"),
    path("api-keys/<int:pk>/revoke/", settings.api_key_revoke, name="api_key_revoke"),
    path("webhooks/new/", settings.webhook_create, name="webhook_create"),
    path("webhooks/<int:pk>/", settings.webhook_detail, name="webhook"),
    path("webhooks/<int:pk>/toggle/", settings.webhook_toggle, name="webhook_toggle"),
    path("webhooks/<int:pk>/rotate/", settings.webhook_rotate, name="webhook_rotate"),
    path("webhooks/<int:pk>/delete/", settings.webhook_delete, name="webhook_delete"),
    path("users/", settings.user_create, name="user_create"),
    path("users/<int:pk>/role/", settings.user_role, name="user_role"),
    path("users/<int:pk>/active/", settings.user_active, name="user_active"),
]

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("customers/", include((customer_patterns, "customers"))),
    path("segments/", include((segment_patterns, "segments"))),
    path("settings/", include((settings_patterns, "settings"))),
    path("audit/", include(([path("", audit.audit_list, name="list")], "audit"))),
]
