"""The marketer's campaign pages: roles, the list's filters and switches, the form, the detail, the calendar."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign, CampaignType, Code, DiscountType, GenerationJob
from campaigns.tests.factories import CampaignFactory, CodeFactory, RedemptionFactory
from retention.models import AuditEntry, JobStatus
from retention.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def campaign(db) -> Campaign:
    return CampaignFactory(name="Winter 15", slug="winter-15", percent=15, max_amount=2000, min_order_amount=5000,
                           countries=["DE", "AT"], first_order_only=True, max_redemptions=500,
                           max_redemptions_per_customer=1, budget=100000)


def _pages(slug: str) -> list[str]:
    return [reverse("campaigns:list"), reverse("campaigns:create"), reverse("campaigns:calendar"),
            reverse("campaigns:dashboard"), reverse("campaigns:detail", args=[slug]),
            reverse("campaigns:edit", args=[slug]), reverse("campaigns:pause_all"),
            reverse("campaigns:codes_csv", args=[slug])]


# Roles -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["marketer", "admin_user"])
def test_marketers_and_superusers_see_every_page(client, request, campaign, who):
    client.force_login(request.getfixturevalue(who))
    for url in _pages(campaign.slug):
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize("who", ["agent", "outsider"])
def test_agents_and_outsiders_are_refused(client, request, campaign, who):
    client.force_login(request.getfixturevalue(who))
    for url in _pages(campaign.slug):
        assert client.get(url).status_code == 403, url
    assert client.post(reverse("campaigns:pause", args=[campaign.slug])).status_code == 403
    assert client.post(reverse("campaigns:pause_all")).status_code == 403
    campaign.refresh_from_db()
    assert campaign.is_paused is False
    assert not AuditEntry.objects.exists()


def test_anonymous_visitors_are_sent_to_sign_in(client, campaign):
    for url in _pages(campaign.slug):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


# List --------------------------------------------------------------------------------------------------

def test_list_filters_by_derived_status(client, marketer):
    # given one campaign of each status
    now = timezone.now()
    CampaignFactory(name="Live one")
    CampaignFactory(name="Paused one", is_paused=True)
    CampaignFactory(name="Draft one", is_draft=True)
    CampaignFactory(name="Later one", starts_at=now + timedelta(days=3))
    CampaignFactory(name="Over one", starts_at=now - timedelta(days=9), ends_at=now - timedelta(days=1))
    client.force_login(marketer)
    expected = {"active": "Live one", "paused": "Paused one", "draft": "Draft one", "scheduled": "Later one",
                "ended": "Over one"}
    for status, name in expected.items():
        # when filtered by status
        response = client.get(reverse("campaigns:list"), {"status": status})
        # then only that campaign is listed
        assert [c.name for c in response.context["page_obj"]] == [name], status


def test_list_filters_by_type_tag_and_dates(client, marketer):
    now = timezone.now()
    CampaignFactory(name="Public", type=CampaignType.PUBLIC, public_code="SPRING", tags=["spring", "insta"])
    CampaignFactory(name="December", starts_at=datetime(2026, 12, 1, tzinfo=UTC),
                    ends_at=datetime(2026, 12, 31, tzinfo=UTC), tags=["xmas"])
    client.force_login(marketer)
    names = lambda **query: [c.name for c in client.get(reverse("campaigns:list"), query).context["page_obj"]]  # noqa: E731
    assert names(type="public") == ["Public"]
    assert names(tag="insta") == ["Public"]
    assert names(tag="ins") == []
    assert names(runs_from="2027-01-05") == ["Public"]
    assert names(runs_until="2026-11-01", runs_from="2026-10-01") == ["Public"]
    assert sorted(names(runs_from="2026-12-10", runs_until="2026-12-12")) == ["December", "Public"]
    assert now  # the open-ended public campaign runs in every range


def test_list_shows_counters_in_a_fixed_number_of_queries(client, marketer, django_assert_max_num_queries):
    for number in range(30):
        CampaignFactory(codes_issued=200, redemptions_count=50, discount_total=12345)
    client.force_login(marketer)
    with django_assert_max_num_queries(8):
        response = client.get(reverse("campaigns:list"))
    body = response.content.decode()
    assert body.count(">25%<") == 30
    assert "123.45 EUR" in body


def test_pause_by_htmx_returns_the_row_and_writes_one_audit_entry(client, marketer, campaign):
    client.force_login(marketer)
    # when the marketer clicks Pause in the list
    response = client.post(reverse("campaigns:pause", args=[campaign.slug]), {"view": "row"}, **HTMX)
    # then the row comes back with the new badge and a confirmation
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith(f'<tr id="campaign-{campaign.pk}"')
    assert '<span class="badge paused">Paused</span>' in body
    assert "Paused “Winter 15”." in body
    assert "<html" not in body
    campaign.refresh_from_db()
    assert campaign.is_paused is True
    assert list(AuditEntry.objects.values_list("action", "object_id")) == [("campaign.paused", str(campaign.pk))]


def test_resume_by_htmx_returns_the_active_row(client, marketer, campaign):
    campaign.is_paused = True
    campaign.save()
    client.force_login(marketer)
    body = client.post(reverse("campaigns:resume", args=[campaign.slug]), {"view": "row"}, **HTMX).content.decode()
    assert '<span class="badge active">Active</span>' in body
    assert "Resumed “Winter 15”." in body
    assert AuditEntry.objects.filter(action="campaign.resumed").count() == 1


def test_stop_issuing_from_the_detail_returns_the_status_panel(client, marketer, campaign):
    client.force_login(marketer)
    body = client.post(reverse("campaigns:stop_issuing", args=[campaign.slug]), {"view": "detail"},
                       **HTMX).content.decode()
    assert body.lstrip().startswith('<div id="status-panel"')
    assert "Not issuing new codes" in body
    assert "Resume issuing" in body
    campaign.refresh_from_db()
    assert campaign.is_issuing_stopped is True


def test_launch_without_javascript_redirects_back_with_a_message(client, marketer):
    draft = CampaignFactory(name="Draft", is_draft=True)
    client.force_login(marketer)
    detail = reverse("campaigns:detail", args=[draft.slug])
    response = client.post(reverse("campaigns:launch", args=[draft.slug]), {"next": detail}, follow=True)
    assert response.redirect_chain == [(detail, 302)]
    assert "Launched “Draft”." in response.content.decode()
    draft.refresh_from_db()
    assert draft.is_draft is False


def test_switches_refuse_get(client, marketer, campaign):
    client.force_login(marketer)
    assert client.get(reverse("campaigns:pause", args=[campaign.slug])).status_code == 405


def test_pause_all_pauses_live_campaigns_after_confirmation(client, marketer):
    live = CampaignFactory(name="Live")
    later = CampaignFactory(name="Later", starts_at=timezone.now() + timedelta(days=2))
    draft = CampaignFactory(name="Draft", is_draft=True)
    client.force_login(marketer)
    # the confirmation page lists what will be paused
    page = client.get(reverse("campaigns:pause_all")).content.decode()
    assert "Pause 2 campaigns" in page
    # when confirmed
    response = client.post(reverse("campaigns:pause_all"), follow=True)
    # then both live campaigns are paused, the draft is not
    assert "Paused 2 campaigns." in response.content.decode()
    assert {c.name for c in Campaign.objects.filter(is_paused=True)} == {"Live", "Later"}
    draft.refresh_from_db()
    assert draft.is_paused is False
    assert AuditEntry.objects.filter(action="campaign.paused").count() == 2
    assert live and later


def test_pause_all_by_htmx_redirects_the_browser(client, marketer):
    CampaignFactory()
    client.force_login(marketer)
    response = client.post(reverse("campaigns:pause_all"), **HTMX)
    assert response.status_code == 204
    assert response["HX-Redirect"] == reverse("campaigns:list")


# Form --------------------------------------------------------------------------------------------------

def _form_data(**changes) -> dict:
    data = {"name": "Second order 15%", "slug": "", "type": "unique", "discount_type": "percent", "percent": "15",
            "max_amount": "20.00", "currency": "eur", "code_length": "12",
            "code_charset": "ABCDEFGHJKLMNPQRSTUVWXYZ23456789",
            "max_uses_per_code": "1", "min_order_amount": "50.00", "countries": "de, at", "max_redemptions": "500",
            "max_redemptions_per_customer": "1", "budget": "1000.00", "timezone": "Europe/Berlin",
            "starts_at": "2026-12-01T00:00", "ends_at": "2026-12-31T23:59", "code_valid_days": "30",
            "is_draft": "on", "holdout_percent": "0"}
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def test_create_converts_major_units_and_local_times(client, marketer):
    client.force_login(marketer)
    response = client.post(reverse("campaigns:create"), _form_data())
    campaign = Campaign.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("campaigns:detail", args=["second-order-15"])
    money = (campaign.percent, campaign.max_amount, campaign.min_order_amount, campaign.budget)
    assert money == (15, 2000, 5000, 100000)
    assert campaign.currency == "EUR"
    assert campaign.countries == ["DE", "AT"]
    assert campaign.starts_at == datetime(2026, 11, 30, 23, 0, tzinfo=UTC)  # midnight in Berlin
    assert campaign.is_draft is True
    assert AuditEntry.objects.filter(action="campaign.created").count() == 1


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"percent": ""}, "percent", "Say how many percent off, from 1 to 100."),
    ({"percent": "150"}, "percent", "Ensure this value is less than or equal to 100."),
    ({"discount_type": "amount"}, "amount", "Say how much the code takes off, e.g. 5.00."),
    ({"max_amount": "abc"}, "max_amount", "Enter a number."),
    ({"countries": "Germany"}, "countries", "Use two-letter country codes (DE, AT): “GERMANY” is not one."),
    ({"ends_at": "2026-11-01T00:00"}, "ends_at", "The end must come after the start."),
    ({"type": "public"}, "public_code", "A public campaign needs the code shoppers will type."),
    ({"currency": ""}, "currency", "Amounts need a currency, e.g. EUR."),
])
def test_form_explains_mistakes_next_to_the_field(client, marketer, changes, field, message):
    client.force_login(marketer)
    response = client.post(reverse("campaigns:create"), _form_data(**changes))
    assert response.status_code == 200
    assert message in response.context["form"].errors[field]
    assert message in response.content.decode().replace("&#x27;", "'").replace("&quot;", '"')
    assert not Campaign.objects.exists()


def test_weak_codes_need_confirmation_from_the_service(client, marketer):
    client.force_login(marketer)
    response = client.post(reverse("campaigns:create"), _form_data(code_length="6"))
    errors = response.context["form"].errors
    assert list(errors) == ["weak_codes_confirmed"]
    assert errors["weak_codes_confirmed"][0].startswith("Confirm codes of 30.0 bits")
    assert not Campaign.objects.exists()
    # confirmed, it is created
    client.post(reverse("campaigns:create"), _form_data(code_length="6", weak_codes_confirmed="on"))
    assert Campaign.objects.get().weak_codes_confirmed is True


def test_service_errors_land_on_the_form_fields(client, marketer, campaign):
    client.force_login(marketer)
    response = client.post(reverse("campaigns:create"), _form_data(slug="winter-15"))
    assert response.context["form"].errors["slug"] == ["Another campaign has this slug."]


def test_edit_shows_major_units_and_saves_changes(client, marketer, campaign):
    client.force_login(marketer)
    page = client.get(reverse("campaigns:edit", args=[campaign.slug])).content.decode()
    assert 'value="20.00"' in page and 'value="1000.00"' in page and 'value="DE, AT"' in page
    data = _form_data(name="Winter 20", slug="winter-15", percent="20", is_draft=None)
    response = client.post(reverse("campaigns:edit", args=[campaign.slug]), data)
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert (campaign.name, campaign.percent) == ("Winter 20", 20)
    assert AuditEntry.objects.filter(action="campaign.updated").count() == 1


# Detail ------------------------------------------------------------------------------------------------

def test_detail_tells_the_rules_in_plain_words(client, marketer, campaign):
    client.force_login(marketer)
    body = client.get(reverse("campaigns:detail", args=[campaign.slug])).content.decode()
    expected = ["15% off, at most 20.00 EUR", "orders from 50.00 EUR", "Germany and Austria", "first order only",
                "500 redemptions in all, 1 per customer", "budget 1,000.00 EUR"]
    for part in expected:
        assert f"<span>{part}</span>" in body


def test_detail_runs_a_fixed_number_of_queries(client, marketer, campaign, django_assert_max_num_queries):
    customer = CustomerFactory()
    for number in range(40):
        code = CodeFactory(campaign=campaign, customer=customer if number % 2 else None)
        RedemptionFactory(code=code, customer=customer)
    GenerationJob.objects.create(campaign=campaign, count=100, generated=100, status=JobStatus.DONE)
    client.force_login(marketer)
    with django_assert_max_num_queries(16):
        response = client.get(reverse("campaigns:detail", args=[campaign.slug]))
    assert response.status_code == 200
    assert len(response.context["redemptions"]) == 20
    assert response.context["counters"].revenue == 40 * 10000
    assert "Download all codes (CSV)" in response.content.decode()


def test_codes_are_searchable_by_htmx(client, marketer, campaign):
    CodeFactory(campaign=campaign, code="FINDME123")
    CodeFactory(campaign=campaign, code="OTHER456")
    client.force_login(marketer)
    response = client.get(reverse("campaigns:detail", args=[campaign.slug]), {"q": "findme", "fragment": "codes"},
                          **HTMX)
    body = response.content.decode()
    assert body.lstrip().startswith('<div class="card" id="codes">')
    assert "FINDME123" in body and "OTHER456" not in body


def test_draft_detail_shows_the_forecast(client, marketer):
    draft = CampaignFactory(is_draft=True)
    client.force_login(marketer)
    response = client.get(reverse("campaigns:detail", args=[draft.slug]))
    assert response.context["forecast"].orders == 0
    assert "would have qualified" in response.content.decode()


def test_generation_starts_and_shows_the_progress_bar(client, marketer, campaign,
                                                       django_capture_on_commit_callbacks):
    client.force_login(marketer)
    # when the marketer asks for 25 codes
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(reverse("campaigns:generate", args=[campaign.slug]), {"count": "25"}, **HTMX)
    # then the panel polls a queued job
    job = GenerationJob.objects.get()
    body = response.content.decode()
    assert job.count == 25 and job.status == JobStatus.QUEUED
    assert 'hx-trigger="every 1s"' in body and "0 of 25 codes" in body
    # and once the task ran (eager Celery), the panel links to the export
    for callback in callbacks:
        callback()
    done = client.get(reverse("campaigns:generation", args=[campaign.slug, job.pk]), **HTMX).content.decode()
    assert Code.objects.filter(campaign=campaign).count() == 25
    assert "every 1s" not in done and "Download all codes (CSV)" in done


def test_generation_progress_polls_while_running(client, marketer, campaign):
    job = GenerationJob.objects.create(campaign=campaign, count=200, generated=50, status=JobStatus.RUNNING)
    client.force_login(marketer)
    body = client.get(reverse("campaigns:generation", args=[campaign.slug, job.pk]), **HTMX).content.decode()
    assert 'hx-trigger="every 1s"' in body
    assert 'aria-valuenow="25"' in body
    assert "50 of 200 codes" in body


def test_generation_refuses_a_bad_count(client, marketer, campaign):
    client.force_login(marketer)
    body = client.post(reverse("campaigns:generate", args=[campaign.slug]), {"count": "0"}, **HTMX).content.decode()
    assert "Ensure this value is greater than or equal to 1." in body
    assert not GenerationJob.objects.exists()


def test_codes_csv_streams_every_code(client, marketer, campaign):
    CodeFactory(campaign=campaign, code="AAA111")
    CodeFactory(campaign=campaign, code="BBB222")
    client.force_login(marketer)
    response = client.get(reverse("campaigns:codes_csv", args=[campaign.slug]))
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[0] == "code,customer,issued_at,expires_at,uses,max_uses,balance,status"
    assert [line.split(",")[0] for line in lines[1:]] == ["AAA111", "BBB222"]


# Calendar ----------------------------------------------------------------------------------------------

def test_calendar_shows_the_month_with_campaign_bars(client, marketer):
    CampaignFactory(name="Advent", slug="advent", starts_at=datetime(2026, 12, 1, tzinfo=UTC),
                    ends_at=datetime(2026, 12, 25, tzinfo=UTC))
    client.force_login(marketer)
    response = client.get(reverse("campaigns:calendar"), {"month": "2026-12"})
    body = response.content.decode()
    assert "<h1>December 2026</h1>" in body
    assert "?month=2026-11" in body and "?month=2027-01" in body
    assert body.count('href="/campaigns/advent/"') == 24 + 0  # 1..24 December (ends at midnight of the 25th)
    assert "▶ Advent" in body


def test_calendar_refuses_a_bad_month(client, marketer):
    client.force_login(marketer)
    assert client.get(reverse("campaigns:calendar"), {"month": "2026-13"}).status_code == 404
    assert client.get(reverse("campaigns:calendar"), {"month": "soon"}).status_code == 404


def test_unknown_discount_type_is_refused(client, marketer):
    client.force_login(marketer)
    response = client.post(reverse("campaigns:create"), _form_data(discount_type="bogus"))
    assert "discount_type" in response.context["form"].errors
    assert DiscountType.PERCENT  # the default stays percent


# Issuing one code from the campaign page -------------------------------------------------------------

def test_marketer_issues_a_code_to_a_customer_by_source_id_or_email(client, marketer):
    campaign = CampaignFactory(slug="winback", code_valid_days=30)
    customer = CustomerFactory(source_id="c-7", email="ana@shop.example")
    client.force_login(marketer)
    page = client.get(reverse("campaigns:detail", args=["winback"])).content.decode()
    assert "Issue a code to a customer" in page
    # when issued by source_id, then by email (any case)
    first = client.post(reverse("campaigns:issue_code", args=["winback"]), {"customer": "c-7"}, follow=True)
    client.post(reverse("campaigns:issue_code", args=["winback"]), {"customer": " Ana@Shop.example "})
    # then two codes assigned to the customer, audited with the marketer, shown on the page
    codes = list(Code.objects.filter(campaign=campaign).order_by("pk"))
    assert [(code.customer_id, code.source) for code in codes] == [(customer.pk, "backoffice")] * 2
    assert f"Issued {codes[0].code} to c-7" in first.content.decode()
    entries = AuditEntry.objects.filter(action="code.issued")
    assert entries.count() == 2 and {entry.actor_user for entry in entries} == {marketer}


def test_issuing_names_the_problem(client, marketer):
    CampaignFactory(slug="paused", is_paused=True)
    CampaignFactory(slug="public", type=CampaignType.PUBLIC, public_code="PUB1")
    CustomerFactory(source_id="c-1")
    client.force_login(marketer)
    unknown = client.post(reverse("campaigns:issue_code", args=["paused"]), {"customer": "nobody"}, follow=True)
    paused = client.post(reverse("campaigns:issue_code", args=["paused"]), {"customer": "c-1"}, follow=True)
    public = client.post(reverse("campaigns:issue_code", args=["public"]), {"customer": "c-1"}, follow=True)
    assert "Customer: nobody" in unknown.content.decode()
    assert "No code issued: This campaign is paused" in paused.content.decode()
    assert "one shared code" in public.content.decode()
    assert Code.objects.exclude(source="public").count() == 0


def test_agent_cannot_issue_from_the_campaign_page(client, agent):
    CampaignFactory(slug="winback")
    CustomerFactory(source_id="c-1")
    client.force_login(agent)
    assert client.post(reverse("campaigns:issue_code", args=["winback"]), {"customer": "c-1"}).status_code == 403
    assert Code.objects.count() == 0


def test_weak_codes_are_flagged_on_the_campaign_page(client, marketer):
    CampaignFactory(slug="sorry", code_pattern="SORRY-####", weak_codes_confirmed=True)
    CampaignFactory(slug="strong")
    client.force_login(marketer)
    weak = client.get(reverse("campaigns:detail", args=["sorry"])).content.decode()
    strong = client.get(reverse("campaigns:detail", args=["strong"])).content.decode()
    assert "Weak codes: 13.3 bits of randomness (under 40)" in weak
    assert "Weak codes" not in strong
