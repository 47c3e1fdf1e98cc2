"""This app's part of /api/v1/."""

from django.urls import path

from loyalty.api import views

urlpatterns = [
    path("customers/<str:source_id>/loyalty", views.CustomerLoyaltyView.as_view(), name="api-customer-loyalty"),
    path("customers/<str:source_id>/loyalty/history", views.CustomerLoyaltyHistoryView.as_view(),
         name="api-customer-loyalty-history"),
    path("customers/<str:source_id>/loyalty/rewards/<int:reward_id>/redeem", views.RedeemRewardView.as_view(),
         name="api-customer-loyalty-redeem"),
    path("customers/<str:source_id>/loyalty/adjustments", views.AdjustmentView.as_view(),
         name="api-customer-loyalty-adjustments"),
    path("loyalty/programs", views.ProgramListView.as_view(), name="api-loyalty-programs"),
    path("loyalty/programs/<int:program_id>", views.ProgramDetailView.as_view(), name="api-loyalty-program"),
]
