"""withdraw_code racing redemptions on PostgreSQL: a code ends either used (and enabled) or withdrawn unused."""

import pytest
from django.db import transaction

from campaigns.models import Code
from campaigns.services.codes import ALREADY_USED, WITHDRAWN, withdraw_code
from campaigns.tests.factories import CodeFactory
from campaigns.tests.test_concurrency import attempt
from retention.actors import Actor
from retention.tests.concurrency import run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
ACTOR = Actor.system("test")


@pytest.mark.parametrize("round_", range(5))
def test_a_withdrawal_and_redemptions_at_once_never_leave_a_used_code_disabled_or_a_withdrawn_one_used(round_):
    code = CodeFactory(max_uses=3)

    def work(number: int) -> list:
        if number == 0:
            with transaction.atomic():
                return [withdraw_code(code=Code.objects.get(pk=code.pk), reason="race", actor=ACTOR)]
        return [attempt(code.code, f"order-{round_}-{number}")]

    outcomes = run_together(4, work, flatten=True)
    code.refresh_from_db()
    redeemed = outcomes.count("succeeded")
    assert code.uses_count == redeemed
    if WITHDRAWN in outcomes:
        assert code.is_disabled and redeemed == 0
        assert set(outcomes) <= {WITHDRAWN, "code_disabled"}
    else:
        assert ALREADY_USED in outcomes and not code.is_disabled and redeemed >= 1
