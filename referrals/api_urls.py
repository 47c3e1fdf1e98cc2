"""This app's part of /api/v1/ (API.md "Referrals")."""

from django.urls import path

from referrals import api

urlpatterns = [
    path("customers/<str:source_id>/referral", api.CustomerReferralView.as_view(), name="api-customer-referral"),
    path("referrals", api.ReferralCreateView.as_view(), name="api-referrals"),
    path("referrals/bulk", api.BulkReferralCreateView.as_view(), name="api-referrals-bulk"),
    path("referrals/programs", api.ProgramListView.as_view(), name="api-referral-programs"),
    path("referrals/programs/<int:program_id>", api.ProgramDetailView.as_view(), name="api-referral-program"),
]
