"""Back-office and public pages of this app."""

urlpatterns: list = []
