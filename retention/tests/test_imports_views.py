"""The import pages: upload, job page with its htmx progress fragment, and who may see them."""

import pytest
from django.contrib.auth import views as auth_views
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpResponse
from django.urls import include, path, reverse

from retention import import_urls
from retention.models import AuditEntry, Customer, CustomerImport, JobStatus

# Only what these pages need (sign-in, dashboard, the import), mounted as PAGES mounts it in backoffice_urls,
# so these tests do not depend on the rest of the URL tree.
urlpatterns = [
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", lambda request: HttpResponse("Dashboard"), name="dashboard"),
    path("customers/import/", include((import_urls.urlpatterns, "customers"))),
]
pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]


def upload(client, content: bytes, name: str = "customers.csv"):
    return client.post(reverse("customers:import"), {"file": SimpleUploadedFile(name, content, "text/csv")})


def test_marketer_uploads_and_is_sent_to_the_job(client, marketer, django_capture_on_commit_callbacks):
    client.force_login(marketer)
    # when a marketer uploads a file (with the byte-order mark spreadsheets add)
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, b"\xef\xbb\xbfsource_id,email\nc1,a@example.com\nc2,bad\n")
    # then the job ran and its page shows the result
    job = CustomerImport.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("customers:import_detail", args=[job.pk])
    assert (job.status, job.created_count, job.created_by) == (JobStatus.DONE, 1, marketer)
    page = client.get(response.url)
    assert page.status_code == 200
    assert b'id="import-created">1<' in page.content
    assert b"not a valid email address" in page.content
    assert b"hx-trigger" not in page.content  # finished: no more polling


def test_wrong_header_shows_the_columns_and_stores_nothing(client, marketer):
    client.force_login(marketer)
    response = upload(client, b"id,mail\n1,a@example.com\n")
    assert response.status_code == 400
    assert "unknown columns: &#x27;id&#x27;, &#x27;mail&#x27;" in response.content.decode()
    assert (CustomerImport.objects.count(), Customer.objects.count()) == (0, 0)


def test_file_that_is_not_utf8_is_refused(client, marketer):
    client.force_login(marketer)
    response = upload(client, "source_id,first_name\nc1,Jürgen\n".encode("utf-16"))
    assert response.status_code == 400
    assert "not UTF-8" in response.content.decode()
    assert CustomerImport.objects.count() == 0


def test_running_job_polls_its_progress_fragment(client, marketer):
    # given a job half-way through
    job = CustomerImport.objects.create(file_name="big.csv", content="", total_rows=200, processed_rows=50,
                                        status=JobStatus.RUNNING)
    client.force_login(marketer)
    # when htmx asks for the fragment
    response = client.get(reverse("customers:import_detail", args=[job.pk]), headers={"HX-Request": "true"})
    # then only the progress section comes back, still polling
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="import-progress"')
    assert 'hx-trigger="every 1s"' in body
    assert 'aria-valuenow="25"' in body and "width: 25%" in body
    assert "<html" not in body


def test_upload_page_lists_recent_imports(client, marketer):
    CustomerImport.objects.create(file_name="spring.csv", content="", status=JobStatus.DONE, created_by=marketer)
    client.force_login(marketer)
    response = client.get(reverse("customers:import"))
    assert response.status_code == 200
    assert b"spring.csv" in response.content


@pytest.mark.parametrize("role", ["agent", "outsider"])
def test_only_marketers_may_import(client, role, request):
    job = CustomerImport.objects.create(file_name="x.csv", content="source_id\nc1\n")
    client.force_login(request.getfixturevalue(role))
    assert client.get(reverse("customers:import")).status_code == 403
    assert client.get(reverse("customers:import_detail", args=[job.pk])).status_code == 403
    assert upload(client, b"source_id\nc1\n").status_code == 403
    assert (CustomerImport.objects.count(), Customer.objects.count(), AuditEntry.objects.count()) == (1, 0, 0)


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get(reverse("customers:import"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_admin_may_import(client, admin_user):
    client.force_login(admin_user)
    assert client.get(reverse("customers:import")).status_code == 200
