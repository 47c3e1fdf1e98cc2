from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

# Campaigns first: the shops' validations and redemptions are the hottest requests, and URL resolution
# tries patterns in order (no pattern of one app matches another's paths).
api_v1 = [
    path("", include("campaigns.api_urls")),
    path("", include("retention.api.urls")),
    path("", include("loyalty.api_urls")),
    path("", include("referrals.api_urls")),
]

urlpatterns = [
    path("api/v1/", include(api_v1)),
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    path("", include("retention.backoffice_urls")),
    path("", include("retention.messaging.urls")),
    path("", include("campaigns.urls")),
    path("", include("loyalty.urls")),
    path("", include("referrals.urls")),
]
