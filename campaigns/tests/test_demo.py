"""The demo campaigns that seed_demo adds: real codes and redemptions, once."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from campaigns.demo import seed_demo_campaigns
from campaigns.models import Campaign, Code, Redemption
from retention.models import Customer

pytestmark = pytest.mark.django_db


def test_demo_campaigns_have_redemptions_over_the_last_month_and_are_added_once():
    # given
    Customer.objects.bulk_create([Customer(source_id=f"demo-{n}", email=f"d{n}@example.com", country="DE")
                                  for n in range(300)])
    now = timezone.now()
    # when
    created = seed_demo_campaigns(now=now)
    again = seed_demo_campaigns(now=now)
    # then
    assert [campaign.name for campaign in created] == [
        "Spring sale 15%", "Second order: 10 EUR off", "Support: sorry codes", "Black Friday 25%",
        "Birthday treat 20%"]
    assert again == []
    assert Campaign.objects.count() == 5
    spring = Redemption.objects.filter(campaign__slug="demo-spring-sale")
    assert spring.count() > 100
    assert spring.filter(created_at__lt=now - timedelta(days=20)).exists()
    assert Code.objects.filter(campaign=created[1], customer__isnull=False).count() == 240
    assert Redemption.objects.filter(campaign=created[1]).exists()
    assert Code.objects.filter(campaign=created[2], code__startswith="SORRY-").count() == 6
    assert created[3].status == "scheduled"
    assert PeriodicTask.objects.filter(enabled=True, kwargs__contains=str(created[4].pk)).exists()


def test_no_customers_no_demo_campaigns():
    assert seed_demo_campaigns() == []


def test_seed_demo_command_adds_the_demo_campaigns(tmp_path, settings, capsys):
    from django.core.management import call_command

    settings.VAR_DIR = tmp_path
    call_command("seed_demo", customers=300)
    assert "demo campaigns" in capsys.readouterr().out
    assert Campaign.objects.filter(slug="demo-spring-sale").exists()
