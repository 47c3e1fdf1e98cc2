"""Back-office pages: each role, a fixed number of queries, the one-click switch, review decisions."""

import pytest
from django.urls import reverse

from referrals.models import FraudSignal, Referral, ReferralProgram
from referrals.services.conversions import convert_for_order
from referrals.services.referrals import register_referral
from referrals.tests.factories import ReferralCodeFactory
from retention.actors import Actor
from retention.tests.factories import CustomerFactory, OrderFactory, StaticSegmentFactory

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("test")


@pytest.fixture
def busy(anna_code):
    """Five referrals, three converted, one flagged and held."""
    for index in range(5):
        friend = CustomerFactory(email=f"friend{index}@mail.example")
        referral = register_referral(code="ANNA-7KQ2", friend=friend, actor=ACTOR)
        if index == 0:
            Referral.objects.filter(pk=referral.pk).update(needs_review=True)
            FraudSignal.objects.create(referral=referral, kind="same_ip", detail="From 10.0.0.1",
                                       created_at=referral.registered_at)
        if index < 3:
            convert_for_order(order_id=OrderFactory(customer=friend, amount=5000).pk)
    return anna_code.program


def pages(program):
    return [reverse("referrals:home"), reverse("referrals:program_create"),
            reverse("referrals:program_edit", args=[program.pk]), reverse("referrals:referrals", args=[program.pk]),
            reverse("referrals:leaderboard", args=[program.pk])]


def test_marketer_sees_every_page(client, marketer, busy):
    client.force_login(marketer)
    for url in pages(busy):
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize("role", ["agent", "outsider"])
def test_other_roles_are_refused(client, busy, role, request):
    client.force_login(request.getfixturevalue(role))
    for url in pages(busy):
        assert client.get(url).status_code == 403, url


def test_anonymous_is_sent_to_sign_in(client, busy):
    assert client.get(reverse("referrals:home")).status_code == 302


def test_dashboard_shows_figures_and_roi_inputs(client, marketer, busy):
    client.force_login(marketer)
    page = client.get(reverse("referrals:home")).content.decode()
    assert 'data-figure="referrals">5<' in page
    assert 'data-figure="conversions">3<' in page
    assert 'data-figure="rate">60.0 %<' in page
    assert 'data-figure="rewards-points">2<' in page  # the flagged one waits for review
    assert 'data-figure="revenue">0<' in page  # aggregates come from record_order, not factories
    assert "<svg" in page and "ROI = ((LTV" in page


def test_dashboard_and_lists_run_a_fixed_number_of_queries(client, marketer, busy, django_assert_max_num_queries):
    client.force_login(marketer)
    for url in pages(busy)[:1] + pages(busy)[3:]:
        with django_assert_max_num_queries(20):
            client.get(url)


def test_one_click_switch_disables_and_enables(client, marketer, program):
    client.force_login(marketer)
    client.post(reverse("referrals:program_toggle", args=[program.pk]))
    assert ReferralProgram.objects.get().is_enabled is False
    answer = client.post(reverse("referrals:program_toggle", args=[program.pk]), HTTP_HX_REQUEST="true")
    assert ReferralProgram.objects.get().is_enabled is True
    assert "Disable" in answer.content.decode()


def test_held_review_shows_reasons_and_approves(client, marketer, busy):
    client.force_login(marketer)
    page = client.get(reverse("referrals:referrals", args=[busy.pk]) + "?status=held").content.decode()
    assert "Same IP address" in page and "From 10.0.0.1" in page
    held = Referral.objects.get(status="held")
    client.post(reverse("referrals:decide", args=[held.pk, "approve"]), {"note": "ok"})
    held.refresh_from_db()
    assert held.status == "rewarded"


def test_reject_without_reason_changes_nothing(client, marketer, busy):
    client.force_login(marketer)
    held = Referral.objects.get(status="held")
    client.post(reverse("referrals:decide", args=[held.pk, "reject"]), {"note": ""})
    held.refresh_from_db()
    assert held.status == "held"


def test_program_editor_creates_a_program_with_tiers(client, marketer, loyalty_program):
    client.force_login(marketer)
    answer = client.post(reverse("referrals:program_create"), {
        "name": "Friends", "enabled": "on", "link_template": "https://shop.example/?ref={code}",
        "conversion_event": "first_order", "min_order_amount": "2000", "within_days": "30",
        "reward_hold_days": "0", "return_window_days": "14",
        "tiers-TOTAL_FORMS": "2", "tiers-INITIAL_FORMS": "0", "tiers-MIN_NUM_FORMS": "0", "tiers-MAX_NUM_FORMS": "1000",
        "tiers-0-referrals": "1", "tiers-0-kind": "points", "tiers-0-amount": "500",
        "tiers-1-referrals": "", "tiers-1-kind": "points", "tiers-1-amount": "",
    })
    assert answer.status_code == 302
    program = ReferralProgram.objects.get()
    assert (program.name, program.min_order_amount, list(program.tiers.values_list("referrals", "points"))) == (
        "Friends", 2000, [(1, 500)])


def test_program_editor_names_the_bad_field(client, marketer, loyalty_program):
    client.force_login(marketer)
    answer = client.post(reverse("referrals:program_create"), {
        "name": "Friends", "link_template": "https://shop.example/", "conversion_event": "first_order",
        "min_order_amount": "0", "reward_hold_days": "0", "return_window_days": "14",
        "tiers-TOTAL_FORMS": "0", "tiers-INITIAL_FORMS": "0", "tiers-MIN_NUM_FORMS": "0", "tiers-MAX_NUM_FORMS": "1000",
    })
    assert answer.status_code == 200
    assert "Must contain {code}." in answer.content.decode()
    assert ReferralProgram.objects.count() == 0


def test_leaderboard_ranks_by_converted_referrals(client, marketer, busy):
    client.force_login(marketer)
    page = client.get(reverse("referrals:leaderboard", args=[busy.pk]) + "?period=30d").content.decode()
    assert "anna.smith@gmail.com" in page
    assert '<td class="num">3</td>' in page


def test_code_job_creates_codes_for_the_segment(client, marketer, program, django_capture_on_commit_callbacks):
    members = [CustomerFactory(first_name="Zoë") for _ in range(3)]
    segment = StaticSegmentFactory(slug="vip", members=members)
    client.force_login(marketer)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("referrals:code_job_start", args=[program.pk]), {"segment": segment.slug})
    job = program.code_jobs.get()
    assert (job.status, job.created, job.total) == ("done", 3, 3)
    assert sorted(program.codes.values_list("code", flat=True))[0].startswith("ZOE-")


def _grow(program, referrals: int) -> None:
    """More referrers, friends, conversions and flagged referrals: the pages must not run more queries."""
    for index in range(referrals):
        code = ReferralCodeFactory(program=program, customer=CustomerFactory(first_name="Grow"))
        friend = CustomerFactory()
        referral = register_referral(code=code.code, friend=friend, actor=ACTOR)
        FraudSignal.objects.create(referral=referral, kind="same_ip", detail="x", created_at=referral.registered_at)
        if index % 2:
            convert_for_order(order_id=OrderFactory(customer=friend, amount=5000).pk)


def test_pages_run_the_same_number_of_queries_whatever_the_data_size(client, marketer, busy, anna):
    client.force_login(marketer)
    urls = [reverse("referrals:home"), reverse("referrals:referrals", args=[busy.pk]) + "?status=",
            reverse("referrals:leaderboard", args=[busy.pk]), reverse("customers:detail", args=[anna.pk])]

    def counts() -> list[int]:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        result = []
        for url in urls:
            with CaptureQueriesContext(connection) as queries:
                assert client.get(url).status_code == 200
            result.append(len(queries))
        return result

    small = counts()
    _grow(busy, 8)
    assert counts() == small


@pytest.mark.parametrize("role", ["agent", "outsider"])
def test_other_roles_cannot_change_anything(client, busy, role, request):
    held = Referral.objects.get(status="held")
    client.force_login(request.getfixturevalue(role))
    posts = [reverse("referrals:program_toggle", args=[busy.pk]),
             reverse("referrals:decide", args=[held.pk, "approve"]),
             reverse("referrals:code_job_start", args=[busy.pk]), reverse("referrals:program_create")]
    for url in posts:
        assert client.post(url, {"note": "x", "segment": "x", "name": "x"}).status_code == 403, url
    held.refresh_from_db()
    assert (held.status, ReferralProgram.objects.get().is_enabled) == ("held", True)


def test_payouts_are_approved_then_marked_paid_from_the_list(client, marketer, anna_code, program):
    from referrals.models import ReferralReward

    program.tiers.update(reward_type="cash", points=None, cash_amount=2000)
    friend = CustomerFactory()
    register_referral(code="ANNA-7KQ2", friend=friend, actor=ACTOR)
    convert_for_order(order_id=OrderFactory(customer=friend, amount=5000).pk)
    reward = ReferralReward.objects.get(type="cash")
    client.force_login(marketer)
    assert "Approve payout" in client.get(reverse("referrals:referrals", args=[program.pk])).content.decode()
    client.post(reverse("referrals:payout", args=[reward.pk, "approved"]))
    client.post(reverse("referrals:payout", args=[reward.pk, "paid"]))
    reward.refresh_from_db()
    assert reward.payout_status == "paid"


def test_a_running_code_job_is_polled_until_done(client, marketer, program):
    from referrals.models import CodeJob

    job = CodeJob.objects.create(program=program, segment=StaticSegmentFactory(slug="vip"), total=10, created=4,
                                 status="running")
    client.force_login(marketer)
    fragment = client.get(reverse("referrals:code_jobs", args=[program.pk]), HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 2s"' in fragment and 'value="40"' in fragment
    CodeJob.objects.filter(pk=job.pk).update(status="done", created=10)
    fragment = client.get(reverse("referrals:code_jobs", args=[program.pk])).content.decode()
    assert "hx-trigger" not in fragment and 'value="100"' in fragment
