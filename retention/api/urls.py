from django.urls import path

from retention.api import views

urlpatterns = [
    path("customers/<str:source_id>", views.CustomerView.as_view(), name="api-customer"),
    path("customers/<str:source_id>/export", views.CustomerExportView.as_view(), name="api-customer-export"),
    path("orders", views.OrderCreateView.as_view(), name="api-orders"),
    path("events", views.EventCreateView.as_view(), name="api-events"),
    path("segments", views.SegmentListView.as_view(), name="api-segments"),
    path("segments/<slug:slug>", views.SegmentDetailView.as_view(), name="api-segment"),
    path("segments/<slug:slug>/customers", views.SegmentCustomersView.as_view(), name="api-segment-customers"),
]
