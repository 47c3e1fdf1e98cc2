"""This app's part of /api/v1/."""

from django.urls import path

from campaigns.api import calendar, campaigns
from campaigns.api.redemptions import RedemptionView, RollbackView, ValidationView

urlpatterns: list = [
    # The shops' checkout calls first: URL resolution tries patterns in order.
    path("validations", ValidationView.as_view(), name="api-validations"),
    path("redemptions", RedemptionView.as_view(), name="api-redemptions"),
    path("redemptions/<int:redemption_id>/rollback", RollbackView.as_view(), name="api-redemption-rollback"),
    path("campaigns", campaigns.CampaignListView.as_view(), name="api-campaigns"),
    path("campaigns/<slug:slug>", campaigns.CampaignDetailView.as_view(), name="api-campaign"),
    path("campaigns/<slug:slug>/pause", campaigns.CampaignPauseView.as_view(), name="api-campaign-pause"),
    path("campaigns/<slug:slug>/resume", campaigns.CampaignResumeView.as_view(), name="api-campaign-resume"),
    path("campaigns/<slug:slug>/codes", campaigns.CampaignCodesView.as_view(), name="api-campaign-codes"),
    path("campaigns/<slug:slug>/codes.csv", campaigns.CampaignCodesExportView.as_view(), name="api-campaign-codes-csv"),
    path("campaigns/<slug:slug>/generations", campaigns.CampaignGenerationsView.as_view(),
         name="api-campaign-generations"),
    path("campaigns/<slug:slug>/preview", calendar.CampaignPreviewView.as_view(), name="api-campaign-preview"),
    path("campaigns/<slug:slug>/runs", calendar.CampaignRunsView.as_view(), name="api-campaign-runs"),
    path("generations/<int:job_id>", campaigns.GenerationView.as_view(), name="api-generation"),
    path("customers/<str:source_id>/codes", campaigns.CustomerCodesView.as_view(), name="api-customer-codes"),
    path("customers/<str:source_id>/auto-discounts", campaigns.CustomerAutoDiscountsView.as_view(),
         name="api-customer-auto-discounts"),
]
