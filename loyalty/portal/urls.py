"""The customer portal (/portal/). No URL names a customer: the session says who is signed in."""

from django.urls import path

from loyalty.portal import views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("sign-in/", views.sign_in, name="sign_in"),
    path("sign-in/<str:token>/", views.open_link, name="open_link"),
    path("sign-out/", views.sign_out, name="sign_out"),
    path("rewards/<int:reward_id>/", views.reward_confirm, name="reward_confirm"),
    path("rewards/<int:reward_id>/redeem/", views.reward_redeem, name="reward_redeem"),
    path("redemptions/<int:redemption_id>/", views.redemption_detail, name="redemption"),
    path("codes/", views.codes, name="codes"),
    path("history/", views.history, name="history"),
    path("preferences/", views.preferences, name="preferences"),
]
