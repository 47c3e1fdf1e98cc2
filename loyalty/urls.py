"""Back-office pages of loyalty (/loyalty/...) and the customer portal (/portal/)."""

from django.urls import include, path

from loyalty import views

app_name = "loyalty"

urlpatterns = [
    path("loyalty/", views.home, name="home"),
    path("loyalty/programs/new/", views.program_create, name="program_create"),
    path("loyalty/programs/<int:pk>/edit/", views.program_edit, name="program_edit"),
    path("loyalty/members/", views.members, name="members"),
    path("loyalty/redemptions/", views.redemptions, name="redemptions"),
    path("loyalty/redemptions/<int:pk>/fulfil/", views.fulfil_redemption, name="fulfil_redemption"),
    path("loyalty/customers/<int:customer_id>/adjust/", views.adjust, name="adjust"),
    path("loyalty/adjustments/<int:pk>/<str:decision>/", views.decide_adjustment, name="decide_adjustment"),
    path("portal/", include("loyalty.portal.urls")),
]
