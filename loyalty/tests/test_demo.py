"""The demo loyalty program that seed_demo adds: rules, rewards, members with points, once, and a clean ledger."""

import pytest
from django.core.management import call_command

from loyalty.demo import PROGRAM_NAME, seed_demo_loyalty
from loyalty.models import EntryKind, LedgerEntry, LoyaltyAccount, LoyaltyProgram, Reward

pytestmark = pytest.mark.django_db


def test_seed_demo_adds_the_loyalty_program_with_members_once(tmp_path, settings, capsys):
    # given the demo customers and their orders
    settings.VAR_DIR = tmp_path
    # when
    call_command("seed_demo", customers=300)
    out = capsys.readouterr().out
    entries = LedgerEntry.objects.count()
    assert seed_demo_loyalty() is None  # idempotent
    call_command("seed_demo", customers=300)
    # then
    assert "demo loyalty program" in out
    program = LoyaltyProgram.objects.get(name=PROGRAM_NAME)
    assert program.is_default and program.portal_promotion
    assert (program.points_per_unit, program.pending_days, program.points_expire_after_days) == (1, 14, 365)
    assert list(program.tiers.values_list("name", flat=True)) == ["Bronze", "Silver", "Gold"]
    assert program.earning_rules.count() == 3 and program.milestones.count() == 1
    assert Reward.objects.filter(program=program).count() == 5
    assert Reward.objects.get(program=program, type="code").campaign.slug == "demo-loyalty-reward"
    assert LedgerEntry.objects.count() == entries
    accounts = LoyaltyAccount.objects.filter(program=program)
    assert accounts.filter(points__gt=0).exists()
    assert accounts.filter(tier__name="Silver").exists() or accounts.filter(tier__name="Gold").exists()
    assert LedgerEntry.objects.filter(kind=EntryKind.RELEASE).exists()
    assert LedgerEntry.objects.filter(kind=EntryKind.PENDING).exists()
    call_command("check_loyalty_ledger")
    assert "match their ledger" in capsys.readouterr().out


def test_no_customers_gives_an_empty_program():
    program = seed_demo_loyalty()
    assert program is not None and program.accounts.count() == 0
