"""Upload a CSV in the browser, watch the job page, and read the bad rows."""

import pytest
from django.contrib.auth import views as auth_views
from django.http import HttpResponse
from django.urls import include, path

from retention import import_urls
from retention.models import Customer

# Only what these pages need (sign-in, dashboard, the import), mounted as PAGES mounts it in backoffice_urls,
# so these tests do not depend on the rest of the URL tree.
urlpatterns = [
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", lambda request: HttpResponse("Dashboard"), name="dashboard"),
    path("customers/import/", include((import_urls.urlpatterns, "customers"))),
]
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.urls(__name__)]


def test_marketer_imports_a_file_and_sees_the_bad_rows(marketer, signed_in_page, live_server, tmp_path):
    # given a file with two good rows and one bad row
    csv_file = tmp_path / "spring.csv"
    csv_file.write_text("source_id,email,country,tags\nc1,ann@example.com,DE,vip\nc2,bob@example,DE,\nc3,,FR,\n")
    page = signed_in_page(marketer)
    # when the marketer uploads it
    page.goto(f"{live_server.url}/customers/import/")
    page.set_input_files("input[type=file]", str(csv_file))
    page.get_by_role("button", name="Import").click()
    # then the job page shows a full progress bar, the counts and the bad row (the eager task ran on commit)
    page.wait_for_selector("[data-status=done]")
    assert page.locator(".progress").get_attribute("aria-valuenow") == "100"
    assert page.locator("#import-created").inner_text() == "2"
    assert page.locator("#import-updated").inner_text() == "0"
    cells = page.locator("#import-errors tbody tr td").all_inner_texts()
    assert cells[:2] == ["3", "email"]
    assert "not a valid email address" in cells[2]
    assert sorted(Customer.objects.values_list("source_id", flat=True)) == ["c1", "c3"]
    # and the upload page lists the import
    page.click("text=All imports")
    assert page.locator("table tbody tr").first.locator("td").first.inner_text() == "spring.csv"
