"""Back-office pages of referrals (/referrals/...) and the portal's invite action (/portal/referrals/...)."""

from django.urls import path

from referrals import views

app_name = "referrals"

urlpatterns = [
    path("referrals/", views.home, name="home"),
    path("referrals/programs/new/", views.program_create, name="program_create"),
    path("referrals/programs/<int:pk>/edit/", views.program_edit, name="program_edit"),
    path("referrals/programs/<int:pk>/toggle/", views.program_toggle, name="program_toggle"),
    path("referrals/programs/<int:pk>/code-jobs/", views.code_job_start, name="code_job_start"),
    path("referrals/programs/<int:pk>/code-jobs/progress/", views.code_jobs, name="code_jobs"),
    path("referrals/programs/<int:pk>/referrals/", views.referral_list, name="referrals"),
    path("referrals/programs/<int:pk>/leaderboard/", views.leaderboard, name="leaderboard"),
    path("referrals/referrals/<int:pk>/<str:decision>/", views.decide, name="decide"),
    path("referrals/payouts/<int:pk>/<str:status>/", views.payout, name="payout"),
    path("portal/referrals/invite/", views.portal_invite, name="portal_invite"),
]
