"""A/B statistics against hand-computed values, stable splits and hold-outs, the report and its page."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.ab import (
    ab_report,
    holdout_filter,
    in_split,
    is_holdout,
    split_filter,
    split_ids,
    stable_hash,
    two_proportion_z_test,
    wilson_interval,
)
from campaigns.models import RedemptionStatus
from campaigns.tests.factories import CampaignFactory, CodeFactory, RedemptionFactory
from retention.models import Customer, OrderStatus
from retention.tests.factories import CustomerFactory, OrderFactory


def test_wilson_interval_of_28_in_100():
    # p = .28, z² = 3.8415; centre = (.28 + .019208) / 1.038415 = .288143;
    # half width = 1.959964 × √(.002016 + .000096) / 1.038415 = .086746
    low, high = wilson_interval(28, 100)
    assert (round(low, 4), round(high, 4)) == (0.2014, 0.3749)


def test_wilson_interval_edges():
    assert wilson_interval(0, 0) == (0.0, 0.0)
    low, high = wilson_interval(0, 10)
    assert (low, round(high, 4)) == (0.0, 0.2775)


def test_two_proportion_z_test_of_28_vs_35_in_100():
    # pooled p = 63/200 = .315; se = √(.315 × .685 × (1/100 + 1/100)) = .065693; z = .07 / .065693 = 1.0656
    # p = erfc(1.0656 / √2) = .2866: not significant at 95%
    z, p_value = two_proportion_z_test(28, 100, 35, 100)
    assert (round(z, 4), round(p_value, 4)) == (1.0656, 0.2866)


def test_two_proportion_z_test_of_a_clear_difference():
    # 200/1000 vs 260/1000: pooled .23, se = √(.23 × .77 × .002) = .018820, z = .06 / .018820 = 3.1881
    z, p_value = two_proportion_z_test(200, 1000, 260, 1000)
    assert (round(z, 4), round(p_value, 4)) == (3.1881, 0.0014)


def test_two_proportion_z_test_is_undefined_without_variance_or_trials():
    assert two_proportion_z_test(0, 10, 0, 10) is None
    assert two_proportion_z_test(0, 0, 3, 10) is None


def test_stable_hash_is_sha256_and_deterministic():
    # sha256("split:1") starts with e618f4c9
    assert stable_hash(1, "split") == 0xE618F4C9
    assert [in_split(customer_id, 2, 0) for customer_id in range(1, 11)] == [
        False, True, False, True, True, False, False, False, False, False]


def test_split_halves_are_complementary_and_roughly_even():
    ids = range(1, 2001)
    first, second = split_ids(ids, 2, 0), split_ids(ids, 2, 1)
    assert first.isdisjoint(second)
    assert first | second == set(ids)
    assert 900 < len(first) < 1100
    assert all(in_split(customer_id, 1, 0) for customer_id in ids)  # one bucket: everyone


@pytest.mark.django_db
def test_split_and_holdout_in_sql_match_python():
    # given
    customers = CustomerFactory.create_batch(120)
    campaign = CampaignFactory(holdout_percent=20)
    ids = [customer.pk for customer in customers]
    # when
    in_sql = {bucket: set(split_filter(Customer.objects.all(), 3, bucket).values_list("pk", flat=True))
              for bucket in range(3)}
    held_out_sql = set(holdout_filter(Customer.objects.all(), campaign).values_list("pk", flat=True))
    # then
    for bucket in range(3):
        assert in_sql[bucket] == split_ids(ids, 3, bucket)
    assert held_out_sql == {customer_id for customer_id in ids if is_holdout(customer_id, campaign)}
    assert 0 < len(held_out_sql) < 60


@pytest.mark.django_db
def test_holdout_uses_its_own_salt_per_campaign():
    first, second = CampaignFactory(holdout_percent=50), CampaignFactory(holdout_percent=50)
    ids = range(1, 401)
    held_first = {customer_id for customer_id in ids if is_holdout(customer_id, first)}
    held_second = {customer_id for customer_id in ids if is_holdout(customer_id, second)}
    assert held_first != held_second
    assert held_first != split_ids(ids, 2, 0)
    assert not any(is_holdout(customer_id, CampaignFactory(holdout_percent=0)) for customer_id in ids)


def _variant(campaign, issued: int, redeemed: int, order_amount=10000, discount=1500):
    codes = [CodeFactory(campaign=campaign) for _ in range(issued)]
    for code in codes[:redeemed]:
        RedemptionFactory(code=code, order_amount=order_amount, discount_amount=discount)
    return codes


@pytest.mark.django_db
def test_report_of_the_briefs_example():
    # given group A: 28 of 100 redeemed 15%; group B: 35 of 100 redeemed 10%
    a = CampaignFactory(name="15% one month")
    b = CampaignFactory(name="10% three days")
    _variant(a, 100, 28, discount=1500)
    b_codes = _variant(b, 100, 35, discount=1000)
    RedemptionFactory(code=b_codes[40], status=RedemptionStatus.ROLLED_BACK)  # not counted
    # when
    first, second = ab_report([a, b])
    # then
    assert (first.issued, first.redeemed, first.discount_total, first.revenue) == (100, 28, 42000, 280000)
    assert (second.issued, second.redeemed, second.discount_total, second.revenue) == (100, 35, 35000, 350000)
    assert (first.rate, second.rate) == (0.28, 0.35)
    assert (first.cost_per_redemption, second.cost_per_redemption) == (1500, 1000)
    assert first.difference is None and first.p_value is None
    assert round(second.difference, 4) == 0.07
    assert (round(second.z, 4), round(second.p_value, 4), second.is_significant) == (1.0656, 0.2866, False)


@pytest.mark.django_db
def test_uplift_compares_repeat_purchases_of_treated_and_held_out():
    # given a campaign with a 50% hold-out over every customer
    now = timezone.now()
    campaign = CampaignFactory(holdout_percent=50, starts_at=now - timedelta(days=30))
    customers = CustomerFactory.create_batch(40)
    held_out = [customer for customer in customers if is_holdout(customer.pk, campaign)]
    treated = [customer for customer in customers if not is_holdout(customer.pk, campaign)][:10]
    issued_at = now - timedelta(days=20)
    for customer in treated:
        CodeFactory(campaign=campaign, customer=customer, issued_at=issued_at)
    for customer in treated[:4]:  # 4 of 10 buy twice after the code
        OrderFactory.create_batch(2, customer=customer, status=OrderStatus.PAID, created_at=now - timedelta(days=5))
    OrderFactory.create_batch(2, customer=treated[4], status=OrderStatus.PAID,
                              created_at=now - timedelta(days=25))  # before the code: not counted
    OrderFactory(customer=treated[5], status=OrderStatus.PAID, created_at=now - timedelta(days=5))  # once only
    OrderFactory.create_batch(2, customer=treated[6], status=OrderStatus.REFUNDED, created_at=now - timedelta(days=5))
    for customer in held_out[:2]:
        OrderFactory.create_batch(3, customer=customer, status=OrderStatus.PAID, created_at=now - timedelta(days=5))
    # when
    (variant,) = ab_report([campaign])
    # then
    uplift = variant.uplift
    assert (uplift.treated, uplift.treated_repeat) == (10, 4)
    assert (uplift.held_out, uplift.held_out_repeat) == (len(held_out), 2)
    assert uplift.treated_rate == 0.4
    assert round(uplift.difference, 6) == round(0.4 - 2 / len(held_out), 6)


@pytest.mark.django_db
def test_compare_page_for_marketers_only(client, marketer, agent, outsider):
    # given
    a, b = CampaignFactory(name="Variant A"), CampaignFactory(name="Variant B")
    _variant(a, 100, 28)
    _variant(b, 100, 35)
    url = reverse("ab:compare")
    # when
    client.force_login(marketer)
    response = client.get(url, {"campaigns": [a.pk, b.pk], "baseline": a.pk})
    # then
    body = response.content.decode()
    assert response.status_code == 200
    assert "28.0%" in body and "35.0%" in body
    assert "+7.0 pts" in body
    assert "0.287" in body  # p-value
    assert "What “hold-out” means" in body
    for user in (agent, outsider):
        client.force_login(user)
        assert client.get(url).status_code == 403


@pytest.mark.django_db
def test_compare_page_needs_two_campaigns(client, marketer):
    a = CampaignFactory()
    client.force_login(marketer)
    response = client.get(reverse("ab:compare"), {"campaigns": [a.pk]})
    assert "Pick at least two campaigns to compare." in response.content.decode()
    assert response.context["variants"] == []
