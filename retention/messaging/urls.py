from django.urls import path

from retention.messaging import views

app_name = "messaging"

urlpatterns = [
    path("messaging/deliveries/", views.delivery_list, name="deliveries"),
    path(
        "messaging/templates/<slug:owner_type>/<str:owner_id>/<slug:channel>/",
        views.template_edit, name="template_edit",
    ),
    path(
        "messaging/templates/<slug:owner_type>/<str:owner_id>/<slug:channel>/preview/",
        views.template_preview, name="template_preview",
    ),
    path("messaging/webhooks/<int:endpoint_id>/", views.webhook_deliveries, name="webhook_deliveries"),
    path("messaging/webhooks/<int:endpoint_id>/test/", views.webhook_test, name="webhook_test"),
    path("u/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
